/* The browser side of the mock Dezi: discovery and key sets (§4.1, §3.4),
 * the authentication request (§4.2.1) with its test professional picker,
 * and the answer with a code (§4.2.2) or error=access_denied. */
#include "mock_dezi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/log.h"
#include "zr/util.h"

void zr_mock_dezi_grant_free(void *p)
{
    zr_mock_dezi_grant_t *g = p;
    if (!g)
        return;
    free(g->client_id);
    free(g->redirect_uri);
    free(g->state);
    free(g->nonce);
    free(g->code_challenge);
    free(g);
}

int zr_mock_dezi_handle_discovery(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const zr_mock_dezi_t *d = ctx;
    return zr_http_respond_json(resp, 200, d->discovery_json);
}

int zr_mock_dezi_handle_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const zr_mock_dezi_t *d = ctx;
    return zr_http_respond_json(resp, 200, d->jwks_json);
}

int zr_mock_dezi_handle_register_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const zr_mock_dezi_t *d = ctx;
    return zr_http_respond_json(resp, 200, d->register_jwks_json);
}

/* A request the mock cannot answer to the client (unknown client or
 * redirect_uri, OAuth §4.1.2.1): a page naming the check, nothing more. */
static int show_refusal(zr_http_response_t *resp, zr_lang_t lang, int status, const char *check,
                        const char *reason_key, const char *message)
{
    zr_kvlist_t vars = {0};
    char *html = NULL;
    /* A fixed reason is the catalog's, in the page's language; a message a
     * check made stays English, marked so (WCAG 3.1.2, language of parts). */
    const char *marked = reason_key || lang == ZR_LANG_EN ? "" : " lang=\"en\"";
    int rc = -1;
    if (reason_key)
        message = zr_lang_text(lang, reason_key);
    if (zr_kv_add(&vars, "check", check) != 0 || zr_kv_add(&vars, "message", message ? message : "") != 0 ||
        zr_kv_add(&vars, "message_lang", marked) != 0)
        goto end;
    html = zr_page_render("mock-dezi-error", lang, &vars);
    if (!html)
        goto end;
    rc = zr_http_respond(resp, status, "text/html; charset=utf-8", html, strlen(html));
end:
    zr_kv_free(&vars);
    free(html);
    return rc;
}

/* redirect_uri?error=...&state=... or ?code=...&state=... */
static int redirect_to_client(zr_http_response_t *resp, const char *redirect_uri, const char *name,
                              const char *value, const char *description, const char *state)
{
    zr_buf_t url;
    char *v = zr_url_encode(value), *desc = description ? zr_url_encode(description) : NULL;
    char *st = state ? zr_url_encode(state) : NULL;
    int rc = -1;

    zr_buf_init(&url);
    if (!v || (description && !desc) || (state && !st))
        goto end;
    if (zr_buf_printf(&url, "%s%s%s=%s", redirect_uri, strchr(redirect_uri, '?') ? "&" : "?", name, v) != 0 ||
        (desc && zr_buf_printf(&url, "&error_description=%s", desc) != 0) ||
        (st && zr_buf_printf(&url, "&state=%s", st) != 0))
        goto end;
    rc = zr_http_redirect(resp, 302, url.data);
end:
    zr_buf_free(&url);
    free(v);
    free(desc);
    free(st);
    return rc;
}

/* The relay's callback exactly, optionally with a query of its own. */
static int redirect_uri_allowed(const zr_mock_dezi_t *d, const char *uri)
{
    size_t n = strlen(d->redirect_uri);
    return strncmp(uri, d->redirect_uri, n) == 0 && (uri[n] == '\0' || uri[n] == '?') && !strchr(uri, '#');
}

/* RFC 7636 §4.2: S256 challenge = base64url of a SHA-256, 43 chars. */
static int challenge_well_formed(const char *c)
{
    if (strlen(c) != 43)
        return 0;
    for (const char *p = c; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '_'))
            return 0;
    return 1;
}

/* One button per test professional (templates/mock-dezi-professional; the
 * cancel button is in mock-dezi-login). Labels and role data only; nothing
 * here identifies a real person. */
static char *professional_buttons(zr_lang_t lang)
{
    size_t count = zr_mock_dezi_people_count;
    zr_kvlist_t *rows = calloc(count ? count : 1, sizeof(*rows));
    char *html = NULL, index[24];

    if (!rows)
        goto end;
    for (size_t i = 0; i < count; i++) {
        const zr_mock_dezi_person_t *p = &zr_mock_dezi_people[i];
        zr_buf_t name;
        int ok;

        zr_buf_init(&name);
        ok = zr_buf_printf(&name, "%s %s%s%s", p->voorletters, p->voorvoegsel ? p->voorvoegsel : "",
                           p->voorvoegsel ? " " : "", p->achternaam) == 0;
        snprintf(index, sizeof(index), "%zu", i);
        ok = ok && zr_kv_add(&rows[i], "index", index) == 0 &&
             zr_kv_add(&rows[i], "label", zr_lang_text(lang, p->label_key)) == 0 &&
             zr_kv_add(&rows[i], "name", name.data) == 0 && zr_kv_add(&rows[i], "rol_code", p->rol_code) == 0 &&
             zr_kv_add(&rows[i], "rol_naam", p->rol_naam) == 0 &&
             zr_kv_add(&rows[i], "ura", p->abonnee_nummer) == 0 &&
             zr_kv_add(&rows[i], "organisation", p->abonnee_naam) == 0;
        zr_buf_free(&name);
        if (!ok)
            goto end;
    }
    html = zr_page_render_each("mock-dezi-professional", lang, rows, count);
end:
    for (size_t i = 0; rows && i < count; i++)
        zr_kv_free(&rows[i]);
    free(rows);
    return html;
}

/* GET /authorize (§4.2.1) */
int zr_mock_dezi_handle_authorize(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_dezi_t *d = ctx;
    static const char *const single[] = {"client_id", "redirect_uri", "response_type", "scope", "state",
                                         "code_challenge", "code_challenge_method", "nonce"};
    const zr_kvlist_t *q = &req->query;
    const char *client_id = zr_kv_get(q, "client_id"), *redirect_uri = zr_kv_get(q, "redirect_uri");
    const char *response_type = zr_kv_get(q, "response_type"), *scope = zr_kv_get(q, "scope");
    const char *state = zr_kv_get(q, "state"), *challenge = zr_kv_get(q, "code_challenge");
    const char *method = zr_kv_get(q, "code_challenge_method"), *nonce = zr_kv_get(q, "nonce");
    zr_mock_dezi_grant_t *g = NULL;
    zr_kvlist_t vars = {0};
    char *handle = NULL, *buttons = NULL, *html = NULL;
    char mask[16];
    int rc = -1;

    for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
        if (zr_kv_count(q, single[i]) > 1) {
            rc = show_refusal(resp, req->lang, 400, "invalid_request", "mock-dezi-error.reason.duplicate_parameter", NULL);
            goto end;
        }
    /* Unknown client or redirect_uri: never redirect (RFC 6749 §4.1.2.1). */
    if (!client_id || strcmp(client_id, d->client_id) != 0) {
        zr_log_warn("authorize_refused", "check=client_id");
        rc = show_refusal(resp, req->lang, 400, "client_id", "mock-dezi-error.reason.unknown_client", NULL);
        goto end;
    }
    if (!redirect_uri || !redirect_uri_allowed(d, redirect_uri)) {
        zr_log_warn("authorize_refused", "check=redirect_uri");
        rc = show_refusal(resp, req->lang, 400, "redirect_uri", "mock-dezi-error.reason.redirect_uri", NULL);
        goto end;
    }
    if (!response_type || strcmp(response_type, "code") != 0) {
        rc = redirect_to_client(resp, redirect_uri, "error", "unsupported_response_type",
                                "only the authorization code flow (response_type=code)", state);
        goto end;
    }
    if (!scope || strcmp(scope, "openid") != 0) {
        rc = redirect_to_client(resp, redirect_uri, "error", "invalid_scope", "only scope openid is allowed", state);
        goto end;
    }
    if (!state || !*state) {
        rc = redirect_to_client(resp, redirect_uri, "error", "invalid_request", "state is required", NULL);
        goto end;
    }
    if (!challenge || !method || strcmp(method, "S256") != 0 || !challenge_well_formed(challenge)) {
        rc = redirect_to_client(resp, redirect_uri, "error", "invalid_request",
                                "PKCE is required: code_challenge with code_challenge_method S256", state);
        goto end;
    }
    g = calloc(1, sizeof(*g));
    handle = zr_random_token(32);
    if (!g || !handle || !(g->client_id = strdup(client_id)) || !(g->redirect_uri = strdup(redirect_uri)) ||
        !(g->state = strdup(state)) || !(g->code_challenge = strdup(challenge)) ||
        (nonce && !(g->nonce = strdup(nonce))))
        goto end;
    buttons = professional_buttons(req->lang);
    if (!buttons || zr_kv_add(&vars, "handle", handle) != 0 || zr_kv_add(&vars, "professionals", buttons) != 0 ||
        zr_kv_add(&vars, "client_id", client_id) != 0)
        goto end;
    if (zr_mock_table_put(d->pending, handle, g) != 0) {
        rc = show_refusal(resp, req->lang, 503, "busy", "mock-dezi-error.reason.busy", NULL);
        goto end;
    }
    g = NULL;
    zr_log_info("authorize", "handle=%s nonce=%s", zr_log_mask(handle, mask), nonce ? "yes" : "no");
    html = zr_page_render("mock-dezi-login", req->lang, &vars);
    if (!html || zr_http_respond(resp, 200, "text/html; charset=utf-8", html, strlen(html)) != 0 ||
        zr_http_set_header(resp, "Content-Security-Policy", d->page_csp) != 0)
        goto end;
    rc = 0;
end:
    zr_mock_dezi_grant_free(g);
    zr_kv_free(&vars);
    free(handle);
    free(buttons);
    free(html);
    return rc;
}

/* POST /authorize/choose: a test professional, or cancel. */
int zr_mock_dezi_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_dezi_t *d = ctx;
    const char *handle = zr_kv_get(&req->form, "handle"), *choice = zr_kv_get(&req->form, "professional");
    zr_mock_dezi_grant_t *g = NULL, *issued;
    char *code = NULL, *end_ptr = NULL;
    char mask_h[16], mask_c[16];
    unsigned long idx = 0;
    int rc = -1, cancel;

    if (!handle || zr_kv_count(&req->form, "handle") != 1 || !choice ||
        zr_kv_count(&req->form, "professional") != 1) {
        rc = show_refusal(resp, req->lang, 400, "form", "mock-dezi-error.reason.form", NULL);
        goto end;
    }
    cancel = strcmp(choice, "cancel") == 0;
    if (!cancel) {
        idx = strtoul(choice, &end_ptr, 10);
        if (choice[0] < '0' || choice[0] > '9' || *end_ptr || idx >= zr_mock_dezi_people_count) {
            rc = show_refusal(resp, req->lang, 400, "professional", "mock-dezi-error.reason.no_professional", NULL);
            goto end;
        }
    }
    /* Single use: a second submit of the same page finds nothing. */
    g = zr_mock_table_take(d->pending, handle);
    if (!g) {
        rc = show_refusal(resp, req->lang, 400, "expired",
                          "mock-dezi-error.reason.expired", NULL);
        goto end;
    }
    if (cancel) {
        zr_log_info("authorize_cancelled", "handle=%s", zr_log_mask(handle, mask_h));
        rc = redirect_to_client(resp, g->redirect_uri, "error", "access_denied", "cancelled by the user", g->state);
        goto end;
    }
    g->person = (size_t)idx;
    g->auth_time = zr_time_now();
    code = zr_random_token(32);
    if (!code)
        goto end;
    zr_log_info("code_issued", "handle=%s professional=%lu code=%s", zr_log_mask(handle, mask_h), idx,
                zr_log_mask(code, mask_c));
    if (zr_mock_table_put(d->codes, code, g) != 0) {
        rc = show_refusal(resp, req->lang, 503, "busy", "mock-dezi-error.reason.codes_outstanding", NULL);
        goto end;
    }
    /* The table owns g now; nobody can take it before the code is out. */
    issued = g;
    g = NULL;
    rc = redirect_to_client(resp, issued->redirect_uri, "code", code, NULL, issued->state);
end:
    zr_mock_dezi_grant_free(g);
    free(code);
    return rc;
}
