/* The trace as a page (templates/trace.html, words in templates/lang/), as a JSON export, and
 * the lookup with which a portal finds the trace of its own login.
 * Stable element ids for browser tests: trace-id, trace-client, trace-created,
 * trace-json, trace-events, event-N (N from 1), event-N-kind. */
#include "zr/diag.h"
#include "diag_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "zr/log.h"
#include "zr/util.h"

/* The steps a trace records; each has a title in the catalog,
 * trace.kind.<kind> (templates/lang/). */
static const char *const kinds[] = {
    "oidc.authorization_request",
    "saml.authn_request",
    "saml.artifact",
    "saml.artifact_resolve",
    "saml.artifact_response",
    "saml.validation",
    "dezi.authorization_request",
    "dezi.callback",
    "dezi.validation",
    "oidc.authorization_response",
    "oidc.token",
    "logout.LogoutRequest",
    "logout.LogoutResponse",
    NULL,
};

static const char *kind_title(const char *kind, zr_lang_t lang)
{
    char key[96];
    for (size_t i = 0; kind && kinds[i]; i++) {
        if (strcmp(kind, kinds[i]) == 0) {
            /* catalog keys are lower case: logout.LogoutRequest -> logout.logoutrequest */
            size_t n = (size_t)snprintf(key, sizeof(key), "trace.kind.%s", kinds[i]);
            for (size_t k = 0; k < n && k < sizeof(key); k++)
                if (key[k] >= 'A' && key[k] <= 'Z')
                    key[k] = (char)(key[k] - 'A' + 'a');
            return zr_lang_text(lang, key);
        }
    }
    return kind ? kind : "";
}

static int not_found(zr_http_response_t *resp, zr_lang_t lang)
{
    char ref[16];
    char *t = zr_random_token(9);
    snprintf(ref, sizeof(ref), "%s", t ? t : "-");
    free(t);
    return zr_page_error(resp, 404, lang, "not_found", ref);
}

static void summary_row(zr_buf_t *b, const char *id, const char *label, const char *value)
{
    zr_buf_appends(b, "<dt>");
    zr_buf_append_html(b, label);
    zr_buf_printf(b, "</dt><dd id=\"%s\">", id);
    zr_buf_append_html(b, value && *value ? value : "-");
    zr_buf_appends(b, "</dd>\n");
}

/* What a reader wants first (issue 18 §4): how the login ended and when,
 * before the messages. Read from the events as recorded: the validation's
 * result (SAML or Dezi), what the browser was sent, whether the code was
 * exchanged, a logout; the first and last step and the time between. */
static char *summary_html(json_t *doc, zr_lang_t lang)
{
    json_t *events = json_object_get(doc, "events"), *ev, *last = NULL;
    const char *validation = NULL, *reason = NULL, *answer_kind = NULL, *answer = NULL, *token = NULL;
    int logout = 0;
    char line[512], steps[32];
    size_t i;
    zr_buf_t b;

    json_array_foreach(events, i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        json_t *data = json_object_get(ev, "data");
        last = ev;
        if (!kind)
            continue;
        if (strcmp(kind, "saml.validation") == 0 || strcmp(kind, "dezi.validation") == 0) {
            validation = json_string_value(json_object_get(data, "result"));
            reason = json_string_value(json_object_get(data, "reason"));
        } else if (strcmp(kind, "oidc.authorization_response") == 0) {
            if (json_object_get(data, "code")) {
                answer_kind = "code";
                answer = NULL;
            } else if (json_object_get(data, "error")) {
                answer_kind = "error";
                answer = json_string_value(json_object_get(data, "error"));
            } else {
                answer_kind = "page";
                answer = json_string_value(json_object_get(data, "page"));
            }
        } else if (strcmp(kind, "oidc.token") == 0) {
            json_t *a = json_object_get(data, "answer");
            token = json_object_get(a, "error") ? json_string_value(json_object_get(a, "error")) : "ok";
        } else if (strncmp(kind, "logout.", 7) == 0) {
            logout = 1;
        }
    }
    zr_buf_init(&b);
    zr_buf_appends(&b, "<h2>");
    zr_buf_append_html(&b, zr_lang_text(lang, "trace.summary.heading"));
    zr_buf_appends(&b, "</h2>\n<dl id=\"trace-summary\">\n");
    if (!answer_kind)
        snprintf(line, sizeof(line), "%s", zr_lang_text(lang, "trace.summary.unfinished"));
    else if (strcmp(answer_kind, "code") == 0)
        snprintf(line, sizeof(line), "%s%s", zr_lang_text(lang, "trace.summary.code"),
                 !token                     ? ""
                 : strcmp(token, "ok") == 0 ? zr_lang_text(lang, "trace.summary.exchanged")
                                            : zr_lang_text(lang, "trace.summary.exchange_refused"));
    else if (strcmp(answer_kind, "error") == 0)
        snprintf(line, sizeof(line), "%s %s", zr_lang_text(lang, "trace.summary.error"), answer ? answer : "-");
    else
        snprintf(line, sizeof(line), "%s %s", zr_lang_text(lang, "trace.summary.page"), answer ? answer : "-");
    if (logout)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s", zr_lang_text(lang, "trace.summary.logged_out"));
    summary_row(&b, "trace-outcome", zr_lang_text(lang, "trace.summary.outcome"), line);
    snprintf(line, sizeof(line), "%s%s%s", validation ? validation : "-", reason ? ": " : "", reason ? reason : "");
    summary_row(&b, "trace-validation", zr_lang_text(lang, "trace.summary.validation"), line);
    summary_row(&b, "trace-started", zr_lang_text(lang, "trace.summary.first"), json_string_value(json_object_get(doc, "created")));
    summary_row(&b, "trace-last", zr_lang_text(lang, "trace.summary.last"), json_string_value(json_object_get(last, "at")));
    snprintf(line, sizeof(line), "%lld ms", last ? (long long)json_integer_value(json_object_get(last, "offset_ms")) : 0LL);
    summary_row(&b, "trace-duration", zr_lang_text(lang, "trace.summary.duration"), line);
    snprintf(steps, sizeof(steps), "%zu", json_array_size(events));
    summary_row(&b, "trace-steps", zr_lang_text(lang, "trace.summary.steps"), steps);
    zr_buf_appends(&b, "</dl>\n");
    return zr_buf_steal(&b);
}

/* The events as HTML (escaped here; the template takes it raw). */
static char *events_html(json_t *events, zr_lang_t lang)
{
    zr_buf_t b;
    size_t i;
    json_t *ev;
    zr_buf_init(&b);
    json_array_foreach(events, i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        json_t *data = json_object_get(ev, "data");
        json_t *rest = json_is_object(data) ? json_deep_copy(data) : NULL;
        const char *xml = json_string_value(json_object_get(data, "xml"));
        char *text;
        zr_buf_printf(&b, "<li id=\"event-%zu\"><h3><span id=\"event-%zu-kind\">", i + 1, i + 1);
        zr_buf_append_html(&b, kind_title(kind, lang));
        zr_buf_appends(&b, "</span> <small><code>");
        zr_buf_append_html(&b, kind ? kind : "");
        zr_buf_appends(&b, "</code></small></h3><p><time>");
        zr_buf_append_html(&b, json_string_value(json_object_get(ev, "at")));
        zr_buf_printf(&b, "</time> (+%lld ms)</p>", (long long)json_integer_value(json_object_get(ev, "offset_ms")));
        if (rest)
            json_object_del(rest, "xml");
        if (rest && json_object_size(rest)) {
            text = json_dumps(rest, JSON_INDENT(2) | JSON_SORT_KEYS);
            zr_buf_appends(&b, "<pre class=\"json\">");
            zr_buf_append_html(&b, text ? text : "");
            zr_buf_appends(&b, "</pre>");
            free(text);
        }
        if (xml) {
            zr_buf_appends(&b, "<pre class=\"xml\">");
            zr_buf_append_html(&b, xml);
            zr_buf_appends(&b, "</pre>");
        }
        zr_buf_appends(&b, "</li>\n");
        json_decref(rest);
    }
    return zr_buf_steal(&b);
}

/* The test client's address when the trace is one of its logins (a way
 * back to the scenario list), else "". */
static void back_link(const zr_config_t *cfg, json_t *doc, zr_lang_t lang, zr_buf_t *b)
{
    const char *client = json_string_value(json_object_get(doc, "client_id"));
    if (!cfg->preprod_test.enabled || !client || strcmp(client, cfg->preprod_test.client_id) != 0 ||
        !cfg->preprod_test.public_base_url[0])
        return;
    zr_buf_appends(b, "<p><a id=\"trace-back\" href=\"");
    zr_buf_append_html(b, cfg->preprod_test.public_base_url);
    zr_buf_appends(b, "/\">");
    zr_buf_append_html(b, zr_lang_text(lang, "trace.back"));
    zr_buf_appends(b, "</a></p>");
}

static int handle_page(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                       zr_http_response_t *resp, int as_json)
{
    const char *id = zr_kv_get(&req->query, "id");
    char *text = zr_diag_trace_export(store, id), *events = NULL, *html = NULL, *link = NULL, *summary = NULL;
    zr_buf_t back;
    zr_kvlist_t vars = {0};
    json_t *doc = NULL;
    int rc = 0;

    zr_buf_init(&back);
    if (!text) {
        rc = not_found(resp, req->lang);
        goto end;
    }
    if (as_json) {
        char disposition[80];
        zr_http_respond(resp, 200, "application/json", text, strlen(text));
        snprintf(disposition, sizeof(disposition), "attachment; filename=\"trace-%.8s.json\"", id);
        zr_http_set_header(resp, "Content-Disposition", disposition);
        goto end;
    }
    doc = json_loads(text, 0, NULL);
    events = doc ? events_html(json_object_get(doc, "events"), req->lang) : NULL;
    summary = doc ? summary_html(doc, req->lang) : NULL;
    link = zr_url_encode(id);
    if (!events || !link || !summary)
        goto fail;
    back_link(cfg, doc, req->lang, &back);
    zr_kv_add(&vars, "title", zr_lang_text(req->lang, "trace.title"));
    zr_kv_add(&vars, "trace_id", id); /* the full id: it is in the address bar anyway */
    zr_kv_add(&vars, "summary", summary);
    zr_kv_add(&vars, "back", back.data ? back.data : "");
    zr_kv_add(&vars, "client_id", json_string_value(json_object_get(doc, "client_id")));
    zr_kv_add(&vars, "created", json_string_value(json_object_get(doc, "created")));
    zr_kv_add(&vars, "json_url", "/trace.json?id=");
    zr_kv_add(&vars, "id_param", link);
    zr_kv_add(&vars, "events", events);
    html = zr_page_render("trace", req->lang, &vars);
    if (!html)
        goto fail;
    zr_http_respond(resp, 200, NULL, html, strlen(html));
    goto end;
fail:
    rc = not_found(resp, req->lang);
end:
    zr_kv_free(&vars);
    zr_buf_free(&back);
    json_decref(doc);
    free(text);
    free(summary);
    free(events);
    free(html);
    free(link);
    return rc;
}

/* The client's secret as configured (clear or SHA-256 hex), compared in
 * constant time. */
static int client_secret_ok(const zr_client_t *c, const char *secret)
{
    uint8_t md[32];
    char *hex;
    int ok = 0;
    if (!c || !secret || c->auth_method != ZR_CLIENT_AUTH_SECRET_BASIC)
        return 0;
    if (c->client_secret)
        return zr_secure_equal(c->client_secret, strlen(c->client_secret), secret, strlen(secret));
    if (!c->client_secret_sha256)
        return 0;
    SHA256((const unsigned char *)secret, strlen(secret), md);
    hex = zr_hex_encode(md, sizeof(md));
    ok = hex && strlen(c->client_secret_sha256) == 64 &&
         zr_secure_equal(hex, 64, c->client_secret_sha256, 64);
    free(hex);
    return ok;
}

static int handle_lookup(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                         zr_http_response_t *resp)
{
    char *secret = NULL, *client_id = zr_diag_basic_auth(req, &secret), *key = NULL, *body = NULL;
    const char *state = zr_kv_get(&req->form, "state");
    char id[ZR_DIAG_ID_LEN + 1];
    json_t *o = NULL;

    if (!client_id || !client_secret_ok(zr_config_find_client(cfg, client_id), secret)) {
        zr_http_respond_json(resp, 401, "{\"error\":\"invalid_client\"}");
        zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"trace\"");
        goto end;
    }
    if (!state || zr_kv_count(&req->form, "state") != 1 || !(key = zr_diag_state_key(client_id, state)) ||
        zr_diag_find(store, ZR_DIAG_NS_STATE, key, id) != 0) {
        zr_http_respond_json(resp, 404, "{\"error\":\"not_found\"}");
        goto end;
    }
    o = json_pack("{s:s}", "trace_id", id);
    body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    zr_http_respond_json(resp, 200, body ? body : "{}");
end:
    if (secret)
        memset(secret, 0, strlen(secret));
    free(secret);
    free(client_id);
    free(key);
    free(body);
    json_decref(o);
    return 0;
}

int zr_diag_handle(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                   zr_http_response_t *resp)
{
    if (!zr_diag_enabled(cfg))
        return not_found(resp, req->lang);
    if (strcmp(req->path, "/trace") == 0 && strcmp(req->method, "GET") == 0)
        return handle_page(store, cfg, req, resp, 0);
    if (strcmp(req->path, "/trace.json") == 0 && strcmp(req->method, "GET") == 0)
        return handle_page(store, cfg, req, resp, 1);
    if (strcmp(req->path, "/trace/lookup") == 0 && strcmp(req->method, "POST") == 0)
        return handle_lookup(store, cfg, req, resp);
    return not_found(resp, req->lang);
}
