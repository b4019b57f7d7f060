/* Logout at the mock TVS (issue 5, ST-SAML §Logout): the
 * SingleLogoutService (HTTP-POST binding). It checks the relay's
 * LogoutRequest as TVS does (src/mock/saml_idp_logout.c), ends the session the
 * NameID and SessionIndex name when it opened it, and answers the relay's
 * SingleLogoutService with a signed LogoutResponse by auto-POST: Success,
 * or Responder / UnknownPrincipal for a session it does not know (never
 * opened, already ended, or opened for another requester). */
#include "mock_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "zr/log.h"
#include "zr/saml.h"
#include "zr/util.h"

/* Sessions can be logged out for a working day. */
#define SESSION_TTL_S (8 * 3600)

typedef struct {
    char *requester;   /* who may log it out: the AuthnRequest's Issuer */
    char *name_id;
} session_t;

static void session_free(void *p)
{
    session_t *s = p;
    if (!s)
        return;
    free(s->requester);
    free(s->name_id);
    free(s);
}

/* The observer src/saml calls when an ArtifactResponse opens a session. */
static void session_opened(void *ctx, const char *requester, const char *care_provider, const char *name_id,
                           const char *session_index)
{
    zr_mock_table_t *table = ctx;
    session_t *s = calloc(1, sizeof(*s));
    (void)care_provider;
    if (!s || !session_index || !(s->requester = zr_strdup(requester)) || !(s->name_id = zr_strdup(name_id)) ||
        zr_mock_table_put(table, session_index, s) != 0) {
        zr_log_warn("session", "a session could not be remembered: it cannot be logged out");
        session_free(s);
    }
}

int zr_mock_logout_init(zr_mock_tvs_t *m)
{
    m->sessions = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, SESSION_TTL_S, session_free);
    if (!m->sessions)
        return -1;
    zr_saml_idp_set_session_observer(session_opened, m->sessions);
    return 0;
}

void zr_mock_logout_cleanup(zr_mock_tvs_t *m)
{
    zr_saml_idp_set_session_observer(NULL, NULL);
    zr_mock_table_free(m->sessions);
    m->sessions = NULL;
}

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
    html = zr_page_render("mock-error", lang, &vars);
    if (!html)
        goto end;
    rc = zr_http_respond(resp, status, "text/html; charset=utf-8", html, strlen(html));
end:
    zr_kv_free(&vars);
    free(html);
    return rc;
}

/* The relay answers our LogoutResponse with a redirect to a portal's
 * post_logout_redirect_uri; Chromium checks the autopost form's
 * form-action on that redirect too, so the page lists every such address. */
static int autopost_to_relay(zr_http_response_t *resp, const zr_config_t *cfg, zr_lang_t lang, const char *slo,
                             const zr_kvlist_t *fields)
{
    size_t n = 0, count = 0;
    const char **then;
    int rc;

    for (size_t i = 0; i < cfg->client_count; i++)
        n += cfg->clients[i].post_logout_redirect_uri_count;
    then = calloc(n ? n : 1, sizeof(*then));
    if (!then)
        return -1;
    for (size_t i = 0; i < cfg->client_count; i++)
        for (size_t j = 0; j < cfg->clients[i].post_logout_redirect_uri_count; j++)
            then[count++] = cfg->clients[i].post_logout_redirect_uris[j];
    rc = zr_page_autopost_via(resp, lang, slo, fields, then, count);
    free(then);
    return rc;
}

/* POST /kvs/rd/request_logout */
int zr_mock_handle_logout(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_tvs_t *m = ctx;
    const zr_config_t *cfg = zr_mock_current(m)->cfg;
    const char *saml_request = zr_kv_get(&req->form, "SAMLRequest");
    const char *relay_state = zr_kv_get(&req->form, "RelayState");
    zr_saml_idp_logout_t lr = {0};
    zr_kvlist_t fields = {0};
    session_t *s = NULL;
    char *xml = NULL, *b64 = NULL, *slo = NULL, err[512] = "", mask[16];
    size_t len = 0;
    zr_saml_idp_check_t check;
    int known, rc = -1;

    if (!saml_request || zr_kv_count(&req->form, "SAMLRequest") != 1 || zr_kv_count(&req->form, "RelayState") > 1 ||
        (relay_state && strlen(relay_state) > ZR_MOCK_RELAY_STATE_MAX)) {
        rc = show_refusal(resp, req->lang, 400, "form", "mock-error.reason.logout_form", NULL);
        goto end;
    }
    check = zr_saml_idp_logout_request_verify(cfg, saml_request, &lr, err, sizeof(err));
    if (check != ZR_SAML_IDP_OK) {
        zr_log_warn("logout_refused", "check=%s reason=\"%s\"", zr_saml_idp_check_name(check), err);
        rc = show_refusal(resp, req->lang, 400, zr_saml_idp_check_name(check), NULL, err);
        goto end;
    }
    /* The session the request names: opened by us, for this requester,
     * with this NameID. Taken out: a second logout finds nothing. */
    s = lr.session_index ? zr_mock_table_take(m->sessions, lr.session_index) : NULL;
    known = s && s->requester && strcmp(s->requester, lr.issuer) == 0 && strcmp(s->name_id, lr.name_id) == 0;
    slo = zr_saml_slo_url(cfg);
    xml = slo ? zr_saml_idp_logout_response_build(cfg, lr.id, slo, known, &len, err, sizeof(err)) : NULL;
    b64 = xml ? zr_base64_encode((const uint8_t *)xml, len) : NULL;
    if (!b64) {
        zr_log_error("logout_failed", "building the LogoutResponse: %s", err[0] ? err : "out of memory");
        rc = show_refusal(resp, req->lang, 500, "internal", "mock-error.reason.logout_response", NULL);
        goto end;
    }
    zr_log_info("logout", "request=%s issuer=%s session=%s result=%s", lr.id, lr.issuer,
                lr.session_index ? zr_log_mask(lr.session_index, mask) : "-", known ? "Success" : "UnknownPrincipal");
    if (zr_kv_add(&fields, "SAMLResponse", b64) != 0 ||
        (relay_state && zr_kv_add(&fields, "RelayState", relay_state) != 0))
        goto end;
    rc = autopost_to_relay(resp, cfg, req->lang, slo, &fields);
end:
    session_free(s);
    zr_saml_idp_logout_clear(&lr);
    zr_kv_free(&fields);
    free(xml);
    free(b64);
    free(slo);
    return rc;
}
