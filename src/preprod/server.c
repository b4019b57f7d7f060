/* The test client's pages (templates/preprod-*.html) and its OIDC callback.
 *   GET  /                  scenario list with status          (ids: scenario-ID, status-ID, open-ID)
 *   GET  /scenario?s=ID     one scenario: steps, login link, result
 *   POST /start   s=ID      a new attempt (state, nonce, PKCE)  -> /scenario?s=ID (login-link)
 *   GET  /callback          the relay's answer (code or error)  -> /scenario?s=ID
 *   POST /check   s=ID      session-expired / artifact-replay: read the relay's trace
 *   POST /logout  s=ID      RP-initiated logout at end_session_endpoint
 *   GET  /logged-out        post_logout_redirect_uri
 *   GET  /report.json       the report as it stands
 * Every change is saved to the state file at once (atomically), and the
 * report rewritten, so a restart loses nothing but an ID token in memory. */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/crypto.h>

#include "zr/diag.h"
#include "zr/http.h"
#include "zr/log.h"
#include "zr/util.h"
#include "zr/xml.h"

typedef struct {
    const zr_config_t *cfg;
    const char *report_dir;
    zr_preprod_rp_t rp;
    zr_preprod_run_t run;
    char **id_tokens;         /* per scenario, memory only (logout needs it) */
    pthread_mutex_t lock;     /* run + id_tokens */
} preprod_t;

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static const char *care_provider(preprod_t *pp)
{
    return pp->run.care_provider;
}

/* Saves the state and rewrites the report; a failure is logged (the tester
 * sees the result on the page either way). Caller holds the lock. */
static void persist(preprod_t *pp)
{
    char err[512] = "";
    if (zr_preprod_state_save(&pp->run, pp->cfg->preprod_test.state_file, err, sizeof(err)) != 0)
        zr_log_error("preprod-test", "cannot save the state: %s", err);
    if (pp->report_dir && zr_preprod_report_write(&pp->run, pp->cfg, pp->report_dir, err, sizeof(err)) != 0)
        zr_log_error("preprod-test", "cannot write the report: %s", err);
}

/* ---- texts (the catalog's preprod.* keys, templates/lang/) ---- */

/* The catalog text preprod.<key> rendered with vars, else key itself. */
static char *text_lookup(const zr_kvlist_t *vars, zr_lang_t lang, const char *key)
{
    char full[96], *text;
    snprintf(full, sizeof(full), "preprod.%s", key);
    text = zr_page_text(lang, full, vars);
    return text ? text : strdup(key);
}

static const char *kind_key(zr_preprod_kind_t kind)
{
    static const char *const keys[] = {"login", "cancel", "loa-too-low", "machtigen", "logout", "session-expired",
                                       "artifact-replay"};
    return keys[kind];
}

/* preprod.status.<name>: "nog niet getest", "akkoord", ... */
static const char *status_label(zr_preprod_status_t st, zr_lang_t lang)
{
    char key[64];
    snprintf(key, sizeof(key), "preprod.status.%s", zr_preprod_status_name(st));
    return zr_lang_text(lang, key);
}

/* The values the scenario texts use. */
static void texts_vars(preprod_t *pp, const zr_preprod_scenario_t *sc, zr_lang_t lang, zr_kvlist_t *vars)
{
    char n[32];
    char *duration = zr_preprod_duration_text(pp->cfg->oidc.session_lifetime_s, lang);
    zr_kv_add(vars, "loa", zr_loa_name(sc ? sc->loa : ZR_LOA_NONE));
    snprintf(n, sizeof(n), "%d", pp->cfg->oidc.session_lifetime_s);
    zr_kv_add(vars, "lifetime", n);
    zr_kv_add(vars, "duration", duration ? duration : n);
    free(duration);
    zr_kv_add(vars, "relay", pp->run.relay);
}

/* ---- pages ---- */

/* Raw HTML for {{{rehearsal_banner}}}: "" unless the TVS is the mock. */
static const char *rehearsal_banner(preprod_t *pp, zr_lang_t lang)
{
    if (!json_is_true(json_object_get(pp->run.setup, "rehearsal")))
        return "";
    return zr_lang_text(lang, "preprod.rehearsal_banner");
}

static int page(zr_http_response_t *resp, zr_lang_t lang, const char *name, zr_kvlist_t *vars)
{
    char *html = zr_page_render(name, lang, vars);
    int rc = html ? zr_http_respond(resp, 200, NULL, html, strlen(html)) : -1;
    free(html);
    return rc;
}

static int handle_index(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_kvlist_t vars = {0};
    zr_buf_t rows;
    zr_kvlist_t texts = {0};
    char *title, *reason;
    int rc;

    zr_buf_init(&rows);
    pthread_mutex_lock(&pp->lock);
    texts_vars(pp, NULL, req->lang, &texts);
    for (size_t i = 0; i < pp->run.count; i++) {
        const zr_preprod_scenario_t *sc = &pp->run.items[i];
        char key[64];
        snprintf(key, sizeof(key), "%s.title", kind_key(sc->kind));
        title = text_lookup(&texts, req->lang, key);
        zr_buf_printf(&rows, "<tr id=\"scenario-%s\"><td>%zu</td><td><a id=\"open-%s\" href=\"/scenario?s=%s\">",
                      sc->id, i + 1, sc->id, sc->id);
        zr_buf_append_html(&rows, title ? title : sc->id);
        if (sc->kind == ZR_PREPROD_LOGIN || sc->kind == ZR_PREPROD_LOA_TOO_LOW) {
            zr_buf_appends(&rows, " (");
            zr_buf_append_html(&rows, zr_loa_name(sc->loa));
            zr_buf_appends(&rows, ")");
        }
        /* DICTU's checklist item, quoted in its own (Dutch) words. */
        zr_buf_appends(&rows, "</a><br><small lang=\"nl\">");
        zr_buf_append_html(&rows, sc->checklist);
        zr_buf_printf(&rows, "</small></td><td><span id=\"status-%s\" class=\"status status-%s\" data-status=\"%s\">",
                      sc->id, zr_preprod_status_name(sc->status), zr_preprod_status_name(sc->status));
        zr_buf_append_html(&rows, status_label(sc->status, req->lang));
        zr_buf_appends(&rows, "</span></td><td>");
        reason = zr_preprod_reason_text(&sc->reason, req->lang, 1);
        zr_buf_appends(&rows, reason ? reason : "");
        zr_buf_appends(&rows, "</td></tr>\n");
        free(title);
        free(reason);
    }
    zr_kv_add(&vars, "title", zr_lang_text(req->lang, "preprod-index.title"));
    zr_kv_add(&vars, "relay", pp->run.relay);
    zr_kv_add(&vars, "care_provider", care_provider(pp));
    zr_kv_add(&vars, "client_id", pp->run.client_id);
    zr_kv_add(&vars, "rows", rows.data ? rows.data : "");
    zr_kv_add(&vars, "signoff_tester", pp->run.signoff.tester);
    zr_kv_add(&vars, "signoff_organisation", pp->run.signoff.organisation);
    zr_kv_add(&vars, "signoff_date", pp->run.signoff.date);
    zr_kv_add(&vars, "signoff_remarks", pp->run.signoff.remarks);
    zr_kv_add(&vars, "rehearsal_banner", rehearsal_banner(pp, req->lang));
    pthread_mutex_unlock(&pp->lock);
    rc = page(resp, req->lang, "preprod-index", &vars);
    zr_kv_free(&vars);
    zr_buf_free(&rows);
    zr_kv_free(&texts);
    return rc;
}

static void result_html(zr_buf_t *b, json_t *result)
{
    const char *key;
    json_t *value;
    if (!json_is_object(result))
        return;
    zr_buf_appends(b, "<dl id=\"scenario-result\">");
    json_object_foreach(result, key, value) {
        char *text = json_is_string(value) ? strdup(json_string_value(value))
                                           : json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        zr_buf_appends(b, "<dt>");
        zr_buf_append_html(b, key);
        zr_buf_printf(b, "</dt><dd id=\"result-%s\">", key);
        if (strcmp(key, "trace_url") == 0 && text) {
            zr_buf_appends(b, "<a id=\"trace-link\" href=\"");
            zr_buf_append_html(b, text);
            zr_buf_appends(b, "\">");
            zr_buf_append_html(b, text);
            zr_buf_appends(b, "</a>");
        } else {
            zr_buf_appends(b, "<code>");
            zr_buf_append_html(b, text ? text : "");
            zr_buf_appends(b, "</code>");
        }
        zr_buf_appends(b, "</dd>");
        free(text);
    }
    zr_buf_appends(b, "</dl>");
}

static void button(zr_buf_t *b, const char *action, const char *id, const char *scenario, const char *label)
{
    zr_buf_printf(b, "<form method=\"post\" action=\"%s\"><input type=\"hidden\" name=\"s\" value=\"%s\">"
                     "<button type=\"submit\" class=\"button\" id=\"%s\">",
                  action, scenario, id);
    zr_buf_append_html(b, label);
    zr_buf_appends(b, "</button></form>\n");
}

static int handle_scenario(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_scenario_t *sc;
    zr_kvlist_t vars = {0};
    zr_buf_t steps, actions, result;
    zr_kvlist_t texts = {0};
    char *title = NULL, *list = NULL, *url = NULL, *reason = NULL, key[64], ref[16] = "-";
    int rc = 0;

    zr_buf_init(&steps);
    zr_buf_init(&actions);
    zr_buf_init(&result);
    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find(&pp->run, zr_kv_get(&req->query, "s"));
    if (!sc) {
        pthread_mutex_unlock(&pp->lock);
        return zr_page_error(resp, 404, req->lang, "not_found", ref);
    }
    texts_vars(pp, sc, req->lang, &texts);
    snprintf(key, sizeof(key), "%s.title", kind_key(sc->kind));
    title = text_lookup(&texts, req->lang, key);
    snprintf(key, sizeof(key), "%s.steps", kind_key(sc->kind));
    list = text_lookup(&texts, req->lang, key);
    zr_buf_appends(&steps, "<ol id=\"scenario-steps\">");
    for (char *s = list, *next; s && *s; s = next) {
        next = strstr(s, " | ");
        if (next) {
            *next = '\0';
            next += 3;
        }
        zr_buf_appends(&steps, "<li>");
        zr_buf_append_html(&steps, s);
        zr_buf_appends(&steps, "</li>");
    }
    zr_buf_appends(&steps, "</ol>");

    button(&actions, "/start", "start-button", sc->id,
           zr_lang_text(req->lang, sc->attempts ? "preprod-scenario.start_again" : "preprod-scenario.start"));
    if (sc->status == ZR_PREPROD_WAITING && sc->verifier[0] &&
        (url = zr_preprod_rp_authorize_url(&pp->rp, sc, care_provider(pp))) != NULL) {
        zr_buf_appends(&actions, "<p><a class=\"button\" id=\"login-link\" href=\"");
        zr_buf_append_html(&actions, url);
        zr_buf_appends(&actions, "\">");
        zr_buf_append_html(&actions, zr_lang_text(req->lang, "preprod-scenario.log_in"));
        zr_buf_appends(&actions, "</a></p>\n");
    }
    if (sc->status == ZR_PREPROD_WAITING && sc->kind == ZR_PREPROD_LOGOUT && pp->id_tokens[sc - pp->run.items])
        button(&actions, "/logout", "logout-button", sc->id, zr_lang_text(req->lang, "preprod-scenario.log_out"));
    if (sc->status == ZR_PREPROD_WAITING && (sc->kind == ZR_PREPROD_EXPIRED || sc->kind == ZR_PREPROD_REPLAY))
        button(&actions, "/check", "check-button", sc->id,
               zr_lang_text(req->lang, "preprod-scenario.check"));
    result_html(&result, sc->result);

    zr_kv_add(&vars, "title", title);
    zr_kv_add(&vars, "scenario", sc->id);
    zr_kv_add(&vars, "checklist", sc->checklist);
    zr_kv_add(&vars, "status", zr_preprod_status_name(sc->status));
    zr_kv_add(&vars, "status_label", status_label(sc->status, req->lang));
    reason = zr_preprod_reason_text(&sc->reason, req->lang, 1);
    zr_kv_add(&vars, "reason", reason ? reason : ""); /* HTML: {{{reason}}} */
    zr_kv_add(&vars, "loa", zr_loa_name(sc->loa));
    zr_kv_add(&vars, "steps", steps.data ? steps.data : "");
    zr_kv_add(&vars, "actions", actions.data ? actions.data : "");
    zr_kv_add(&vars, "result", result.data ? result.data : "");
    zr_kv_add(&vars, "account", sc->account);
    zr_kv_add(&vars, "rehearsal_banner", rehearsal_banner(pp, req->lang));
    pthread_mutex_unlock(&pp->lock);
    rc = page(resp, req->lang, "preprod-scenario", &vars);
    if (rc == 0 && pp->rp.end_session_endpoint[0]) {
        /* The logout button's POST redirects on to the relay's
         * end_session_endpoint: Chromium checks form-action on that too. */
        const char *targets[] = {pp->rp.end_session_endpoint};
        char *csp = zr_page_form_csp(targets, 1);
        if (csp)
            zr_http_set_header(resp, "Content-Security-Policy", csp);
        free(csp);
    }
    zr_kv_free(&vars);
    zr_buf_free(&steps);
    zr_buf_free(&actions);
    zr_buf_free(&result);
    zr_kv_free(&texts);
    free(title);
    free(list);
    free(url);
    free(reason);
    return rc;
}

static int back_to(zr_http_response_t *resp, const zr_preprod_scenario_t *sc)
{
    char url[128];
    snprintf(url, sizeof(url), "/scenario?s=%s", sc->id);
    return zr_http_redirect(resp, 303, url);
}

/* A step (start, check, logout) for a scenario that is not there or does not
 * wait for it: releases pp->lock and goes back to the scenario's page (404
 * when there is none). */
static int step_refused(preprod_t *pp, const zr_http_request_t *req, zr_http_response_t *resp,
                        const zr_preprod_scenario_t *sc)
{
    pthread_mutex_unlock(&pp->lock);
    return sc ? back_to(resp, sc) : zr_page_error(resp, 404, req->lang, "not_found", "-");
}

static int handle_start(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_scenario_t *sc;
    char err[256] = "";
    int rc;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find(&pp->run, zr_kv_get(&req->form, "s"));
    if (!sc)
        return step_refused(pp, req, resp, sc);
    free(pp->id_tokens[sc - pp->run.items]);
    pp->id_tokens[sc - pp->run.items] = NULL;
    json_decref(sc->result);
    sc->result = NULL;
    json_decref(sc->trace); /* the bundle holds the last attempt's trace only */
    sc->trace = NULL;
    sc->attempts++;
    sc->finished_ms = 0;
    if (zr_preprod_rp_discover(&pp->rp, err, sizeof(err)) != 0) {
        sc->status = ZR_PREPROD_WAITING;
        zr_preprod_reason_set(&sc->reason, "discovery_failed", "error", err, NULL);
        sc->verifier[0] = '\0';
    } else if (sc->kind == ZR_PREPROD_LOGOUT && !pp->rp.end_session_endpoint[0]) {
        sc->status = ZR_PREPROD_NOT_AVAILABLE;
        zr_preprod_reason_set(&sc->reason, "no_end_session", NULL);
    } else if (zr_preprod_rp_new_attempt(sc) != 0) {
        zr_preprod_reason_set(&sc->reason, "no_randomness", NULL);
    } else {
        sc->status = ZR_PREPROD_WAITING;
        sc->started_ms = now_ms();
        zr_preprod_reason_set(&sc->reason, "waiting_login", NULL);
    }
    zr_log_info("preprod-test", "scenario=%s attempt=%d started", sc->id, sc->attempts);
    persist(pp);
    rc = back_to(resp, sc);
    pthread_mutex_unlock(&pp->lock);
    return rc;
}

/* ---- reading the relay's trace ---- */

/* The ID, InResponseTo and status of a LogoutRequest or LogoutResponse in
 * the trace (the masked XML: IDs and status codes are not masked). */
static json_t *logout_message(const char *xml)
{
    char err[256];
    xmlDocPtr doc = xml ? zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err)) : NULL;
    xmlNodePtr n = doc ? xmlDocGetRootElement(doc) : NULL, status, code;
    json_t *o = NULL;
    char *v;

    if (n && zr_xml_is(n, ZR_NS_SOAP, "Envelope")) {
        n = zr_xml_child(n, ZR_NS_SOAP, "Body");
        for (n = n ? n->children : NULL; n && n->type != XML_ELEMENT_NODE; n = n->next)
            ;
    }
    if (!n)
        goto end;
    o = json_object();
    if ((v = zr_xml_attr(n, "ID")) != NULL)
        json_object_set_new(o, "id", json_string(v));
    free(v);
    if ((v = zr_xml_attr(n, "InResponseTo")) != NULL)
        json_object_set_new(o, "in_response_to", json_string(v));
    free(v);
    if ((v = zr_xml_attr(n, "IssueInstant")) != NULL)
        json_object_set_new(o, "issue_instant", json_string(v));
    free(v);
    status = zr_xml_child(n, ZR_NS_SAMLP, "Status");
    for (code = status ? zr_xml_child(status, ZR_NS_SAMLP, "StatusCode") : NULL; code;
         code = zr_xml_child(code, ZR_NS_SAMLP, "StatusCode")) {
        if (!json_object_get(o, "status"))
            json_object_set_new(o, "status", json_array());
        if ((v = zr_xml_attr(code, "Value")) != NULL)
            json_array_append_new(json_object_get(o, "status"), json_string(v));
        free(v);
    }
end:
    if (doc)
        xmlFreeDoc(doc);
    return o;
}

/* Reads the relay's trace of sc's login (by the known trace id, else by
 * the state of sc's authorization request), keeps it for the report's
 * bundle, and puts what it says into sc->result and obs. */
static void trace_summary(preprod_t *pp, zr_preprod_scenario_t *sc, zr_preprod_observation_t *obs)
{
    char id[ZR_DIAG_ID_LEN + 1], url[512];
    const char *known = json_string_value(json_object_get(sc->result, "trace_id"));
    json_t *trace = NULL, *ev, *logout = NULL, *messages = NULL;
    size_t i;
    int after_repeat = 0;

    if (known && strlen(known) == ZR_DIAG_ID_LEN) {
        snprintf(id, sizeof(id), "%s", known);
        trace = zr_preprod_rp_trace_get(&pp->rp, id);
    } else {
        trace = zr_preprod_rp_trace(&pp->rp, sc->state, id);
    }
    if (!trace)
        return;
    json_decref(sc->trace);
    sc->trace = json_incref(trace);
    snprintf(url, sizeof(url), "%s/trace?id=%s", pp->rp.relay_base, id);
    json_object_set_new(sc->result, "trace_id", json_string(id));
    json_object_set_new(sc->result, "trace_url", json_string(url));
    json_array_foreach(json_object_get(trace, "events"), i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        json_t *data = json_object_get(ev, "data");
        if (!kind)
            continue;
        if (strcmp(kind, "saml.validation") == 0 && !after_repeat) {
            json_t *subject = json_object_get(data, "subject"), *types = json_array();
            json_object_set(sc->result, "saml_result", json_object_get(data, "result"));
            json_object_set(sc->result, "saml_status_codes", json_object_get(data, "status_codes"));
            json_object_set(sc->result, "saml_status_messages", json_object_get(data, "status_messages"));
            json_object_set(sc->result, "saml_message_ids", json_object_get(data, "message_ids"));
            if (json_object_get(data, "loa"))
                json_object_set(sc->result, "saml_loa", json_object_get(data, "loa"));
            if (json_object_get(subject, "acting")) {
                json_array_append(types, json_object_get(json_object_get(subject, "acting"), "type"));
                json_object_set(sc->result, "acting_bsn", json_object_get(json_object_get(subject, "acting"), "value"));
            }
            if (json_object_get(subject, "legal")) {
                json_array_append(types, json_object_get(json_object_get(subject, "legal"), "type"));
                json_object_set(sc->result, "legal_bsn", json_object_get(json_object_get(subject, "legal"), "value"));
            }
            if (json_object_get(subject, "representation_type"))
                json_object_set(sc->result, "representation_type", json_object_get(subject, "representation_type"));
            if (json_array_size(types))
                json_object_set(sc->result, "subject_types", types);
            json_decref(types);
        } else if (strcmp(kind, "saml.artifact") == 0 && json_is_true(json_object_get(data, "repeat"))) {
            after_repeat = 1;
            obs->artifact_repeated = 1;
        } else if (strcmp(kind, "oidc.authorization_response") == 0) {
            const char *pg = json_string_value(json_object_get(data, "page"));
            if (after_repeat)
                obs->repeat_refused = !json_object_get(data, "code");
            if (pg) {
                json_object_set_new(sc->result, after_repeat ? "replay_answer" : "relay_page", json_string(pg));
            }
        } else if (strncmp(kind, "logout.", 7) == 0) {
            json_t *m = logout_message(json_string_value(json_object_get(data, "xml")));
            if (!logout)
                logout = json_array();
            json_array_append_new(logout, json_string(kind));
            if (m && !messages)
                messages = json_object();
            if (m)
                json_object_set_new(messages, kind + 7, m);
        }
    }
    if (logout)
        json_object_set_new(sc->result, "logout_trace", logout);
    if (messages)
        json_object_set_new(sc->result, "logout_messages", messages);
    json_object_set_new(sc->result, "trace_events", json_integer((json_int_t)json_array_size(json_object_get(trace, "events"))));
    json_decref(trace);
}

/* Points obs at what sc->result holds. */
static void observation_from_result(const zr_preprod_scenario_t *sc, zr_preprod_observation_t *obs)
{
    json_t *r = sc->result;
    obs->oauth_error = json_string_value(json_object_get(r, "oauth_error"));
    obs->oauth_error_description = json_string_value(json_object_get(r, "oauth_error_description"));
    obs->token_ok = json_is_true(json_object_get(r, "token_ok"));
    obs->token_error = json_string_value(json_object_get(r, "token_error"));
    obs->acr = json_string_value(json_object_get(r, "acr"));
    obs->has_represents = json_object_get(r, "represents") != NULL;
    obs->representation_type = json_string_value(json_object_get(r, "representation_type"));
    obs->saml_result = json_string_value(json_object_get(r, "saml_result"));
    obs->page_error = json_string_value(json_object_get(r, "relay_page"));
    obs->code_replay_refused = json_is_true(json_object_get(r, "code_replay_refused"));
}

static void judge(preprod_t *pp, zr_preprod_scenario_t *sc, zr_preprod_observation_t *obs)
{
    zr_preprod_status_t st = zr_preprod_evaluate(sc, obs, &sc->reason);
    sc->status = st;
    if (st != ZR_PREPROD_WAITING) {
        sc->finished_ms = now_ms();
        /* The attempt is over: its secrets go; the state stays for the trace. */
        OPENSSL_cleanse(sc->verifier, sizeof(sc->verifier));
        OPENSSL_cleanse(sc->nonce, sizeof(sc->nonce));
    }
    zr_log_info("preprod-test", "scenario=%s result=%s", sc->id, zr_preprod_status_name(st));
    persist(pp);
}

/* Judges sc on what its result holds now (obs may carry more, such as the
 * trace's part or the return from the logout). */
static void judge_result(preprod_t *pp, zr_preprod_scenario_t *sc, zr_preprod_observation_t *obs)
{
    observation_from_result(sc, obs);
    obs->elapsed_ms = now_ms() - sc->started_ms;
    obs->session_lifetime_s = pp->cfg->oidc.session_lifetime_s;
    judge(pp, sc, obs);
}

/* The ID token's claims as the report keeps them: BSNs masked. */
static void record_claims(zr_preprod_scenario_t *sc, json_t *claims)
{
    json_t *rep = json_object_get(claims, "represents");
    char *m;
    json_object_set(sc->result, "acr", json_object_get(claims, "acr"));
    if (json_is_string(json_object_get(claims, "acr")))
        json_object_set_new(sc->result, "loa", json_string(zr_loa_name(zr_loa_parse(json_string_value(
                                                   json_object_get(claims, "acr"))))));
    json_object_set(sc->result, "sub_id_type", json_object_get(claims, "sub_id_type"));
    if ((m = zr_diag_mask_bsn(json_string_value(json_object_get(claims, "bsn")))) != NULL)
        json_object_set_new(sc->result, "bsn", json_string(m));
    free(m);
    if (json_is_object(rep)) {
        json_t *r = json_object();
        json_object_set(r, "representation_type", json_object_get(rep, "representation_type"));
        json_object_set(r, "sub_id_type", json_object_get(rep, "sub_id_type"));
        if ((m = zr_diag_mask_bsn(json_string_value(json_object_get(rep, "bsn")))) != NULL)
            json_object_set_new(r, "bsn", json_string(m));
        free(m);
        json_object_set_new(sc->result, "represents", r);
        json_object_set(sc->result, "representation_type", json_object_get(rep, "representation_type"));
    }
}

static int handle_callback(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    const char *state = zr_kv_get(&req->query, "state"), *code = zr_kv_get(&req->query, "code");
    const char *error = zr_kv_get(&req->query, "error"), *iss = zr_kv_get(&req->query, "iss");
    zr_preprod_observation_t obs = {0};
    zr_preprod_scenario_t *sc;
    json_t *claims = NULL;
    char *id_token = NULL, err[256] = "", ref[16] = "-";
    long long t0 = now_ms();
    int rc, token_tries = 0;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find_state(&pp->run, state);
    if (!sc) {
        pthread_mutex_unlock(&pp->lock);
        return zr_page_error(resp, 400, req->lang, "invalid_request", ref);
    }
    if (sc->status != ZR_PREPROD_WAITING || !sc->verifier[0]) {
        rc = back_to(resp, sc); /* answered already (a reload of this page) */
        pthread_mutex_unlock(&pp->lock);
        return rc;
    }
    json_decref(sc->result);
    sc->result = json_object();
    json_object_set_new(sc->result, "login_ms", json_integer(t0 - sc->started_ms));
    if (iss && strcmp(iss, pp->rp.issuer) != 0) {
        /* RFC 9207: an answer naming another issuer is not ours. */
        json_object_set_new(sc->result, "oauth_error", json_string("iss_mismatch"));
    } else if (error || !code) {
        json_object_set_new(sc->result, "oauth_error", json_string(error ? error : "no_code"));
        if (zr_kv_get(&req->query, "error_description"))
            json_object_set_new(sc->result, "oauth_error_description",
                                json_string(zr_kv_get(&req->query, "error_description")));
    } else if (zr_preprod_rp_redeem(&pp->rp, code, sc->verifier, sc->nonce, &claims, &id_token, &token_tries, err,
                                    sizeof(err)) != 0) {
        json_object_set_new(sc->result, "token_ok", json_false());
        json_object_set_new(sc->result, "token_error", json_string(err));
        json_object_set_new(sc->result, "token_requests", json_integer(token_tries));
    } else {
        json_object_set_new(sc->result, "token_ok", json_true());
        json_object_set_new(sc->result, "token_requests", json_integer(token_tries));
        json_object_set_new(sc->result, "token_ms", json_integer(now_ms() - t0));
        record_claims(sc, claims);
        /* A code is single use (RFC 6749 §4.1.2): the replay scenario shows it. */
        if (sc->kind == ZR_PREPROD_REPLAY) {
            json_t *c2 = NULL;
            char *t2 = NULL;
            err[0] = '\0';
            zr_preprod_rp_redeem(&pp->rp, code, sc->verifier, sc->nonce, &c2, &t2, NULL, err, sizeof(err));
            json_object_set_new(sc->result, "code_replay_answer", json_string(t2 ? "accepted" : err));
            json_object_set_new(sc->result, "code_replay_refused", json_boolean(!t2 && strcmp(err, "invalid_grant") == 0));
            json_decref(c2);
            free(t2);
        }
        free(pp->id_tokens[sc - pp->run.items]);
        pp->id_tokens[sc - pp->run.items] = id_token;
        id_token = NULL;
    }
    trace_summary(pp, sc, &obs);
    judge_result(pp, sc, &obs);
    rc = back_to(resp, sc);
    pthread_mutex_unlock(&pp->lock);
    json_decref(claims);
    free(id_token);
    return rc;
}

static int handle_check(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_observation_t obs = {0};
    zr_preprod_scenario_t *sc;
    int rc;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find(&pp->run, zr_kv_get(&req->form, "s"));
    if (!sc || sc->status != ZR_PREPROD_WAITING || !sc->state[0])
        return step_refused(pp, req, resp, sc);
    if (!sc->result)
        sc->result = json_object();
    trace_summary(pp, sc, &obs);
    if (!json_object_get(sc->result, "trace_id")) {
        sc->status = ZR_PREPROD_NOT_AVAILABLE;
        zr_preprod_reason_set(&sc->reason, "trace_unreadable", NULL);
        persist(pp);
    } else {
        judge_result(pp, sc, &obs);
    }
    rc = back_to(resp, sc);
    pthread_mutex_unlock(&pp->lock);
    return rc;
}

static int handle_logout(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_scenario_t *sc;
    char *url = NULL, *state = NULL;
    int rc;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find(&pp->run, zr_kv_get(&req->form, "s"));
    if (!sc || sc->kind != ZR_PREPROD_LOGOUT || sc->status != ZR_PREPROD_WAITING)
        return step_refused(pp, req, resp, sc);
    state = zr_random_token(32);
    url = state ? zr_preprod_rp_logout_url(&pp->rp, pp->id_tokens[sc - pp->run.items], state) : NULL;
    if (!url) {
        zr_preprod_reason_set(&sc->reason, "logout_needs_login", NULL);
        persist(pp);
        rc = back_to(resp, sc);
    } else {
        /* The logout's own state: /logged-out finds the scenario by it. */
        snprintf(sc->state, sizeof(sc->state), "%s", state);
        json_object_set_new(sc->result, "end_session_endpoint", json_string(pp->rp.end_session_endpoint));
        sc->started_ms = now_ms();
        persist(pp);
        rc = zr_http_redirect(resp, 303, url);
    }
    pthread_mutex_unlock(&pp->lock);
    free(state);
    free(url);
    return rc;
}

static int handle_logged_out(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_observation_t obs = {0};
    zr_preprod_scenario_t *sc;
    char ref[16] = "-";
    int rc;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find_state(&pp->run, zr_kv_get(&req->query, "state"));
    if (!sc || sc->kind != ZR_PREPROD_LOGOUT || sc->status != ZR_PREPROD_WAITING) {
        pthread_mutex_unlock(&pp->lock);
        return zr_page_error(resp, 400, req->lang, "invalid_request", ref);
    }
    json_object_set_new(sc->result, "logout_ms", json_integer(now_ms() - sc->started_ms));
    free(pp->id_tokens[sc - pp->run.items]);
    pp->id_tokens[sc - pp->run.items] = NULL;
    trace_summary(pp, sc, &obs); /* now with the LogoutRequest and LogoutResponse */
    obs.logged_out = 1;
    judge_result(pp, sc, &obs);
    rc = back_to(resp, sc);
    pthread_mutex_unlock(&pp->lock);
    return rc;
}

/* Copies a form field a tester typed (control characters become spaces). */
static void copy_field(char *out, size_t outlen, const char *value)
{
    snprintf(out, outlen, "%s", value ? value : "");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    zr_str_trim(out);
}

/* POST /account s=ID account=...: the test account the tester used (the
 * identity chosen at TVS); zorgrelay cannot know it, so it never guesses. */
static int handle_account(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_scenario_t *sc;
    int rc;

    pthread_mutex_lock(&pp->lock);
    sc = zr_preprod_run_find(&pp->run, zr_kv_get(&req->form, "s"));
    if (!sc || zr_kv_count(&req->form, "account") != 1)
        return step_refused(pp, req, resp, sc);
    copy_field(sc->account, sizeof(sc->account), zr_kv_get(&req->form, "account"));
    persist(pp);
    rc = back_to(resp, sc);
    pthread_mutex_unlock(&pp->lock);
    return rc;
}

/* POST /signoff: the tester's name, organisation, date and remarks for the
 * report's sign-off block. */
static int handle_signoff(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    zr_preprod_signoff_t *so = &pp->run.signoff;
    pthread_mutex_lock(&pp->lock);
    copy_field(so->tester, sizeof(so->tester), zr_kv_get(&req->form, "tester"));
    copy_field(so->organisation, sizeof(so->organisation), zr_kv_get(&req->form, "organisation"));
    copy_field(so->date, sizeof(so->date), zr_kv_get(&req->form, "date"));
    copy_field(so->remarks, sizeof(so->remarks), zr_kv_get(&req->form, "remarks"));
    persist(pp);
    pthread_mutex_unlock(&pp->lock);
    return zr_http_redirect(resp, 303, "/#signoff");
}

static int handle_report(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    preprod_t *pp = ctx;
    json_t *doc;
    char *text;
    int rc;
    (void)req;
    pthread_mutex_lock(&pp->lock);
    doc = zr_preprod_report_json(&pp->run, pp->cfg);
    pthread_mutex_unlock(&pp->lock);
    text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
    rc = text ? zr_http_respond_json(resp, 200, text) : -1;
    free(text);
    json_decref(doc);
    return rc;
}

static const zr_http_route_t preprod_routes[] = {
    {"GET", "/", handle_index},
    {"GET", "/scenario", handle_scenario},
    {"POST", "/start", handle_start},
    {"GET", "/callback", handle_callback},
    {"POST", "/check", handle_check},
    {"POST", "/logout", handle_logout},
    {"GET", "/logged-out", handle_logged_out},
    {"GET", "/report.json", handle_report},
    {"POST", "/account", handle_account},
    {"POST", "/signoff", handle_signoff},
};

int zr_preprod_serve(const zr_config_t *cfg, const char *report_dir)
{
    preprod_t pp;
    zr_http_server_t *server = NULL;
    char err[512] = "";
    int rc = 1, loaded, sig;

    memset(&pp, 0, sizeof(pp));
    pp.cfg = cfg;
    pp.report_dir = report_dir;
    pthread_mutex_init(&pp.lock, NULL);
    zr_http_block_signals();
    if (zr_preprod_rp_init(&pp.rp, cfg, err, sizeof(err)) != 0) {
        zr_log_error("preprod-test", "%s", err);
        goto end;
    }
    if (zr_preprod_run_init(&pp.run, cfg) != 0 || !(pp.id_tokens = calloc(pp.run.count, sizeof(char *)))) {
        zr_log_error("preprod-test", "no care provider to test (preprod_test.care_provider)");
        goto end;
    }
    loaded = zr_preprod_state_load(&pp.run, cfg->preprod_test.state_file, err, sizeof(err));
    if (loaded < 0) {
        zr_log_error("preprod-test", "%s", err);
        goto end;
    }
    if (loaded == 1)
        pp.run.created_ms = now_ms();
    pp.run.setup = zr_preprod_setup_collect(cfg, pp.run.care_provider);
    if (json_is_true(json_object_get(pp.run.setup, "rehearsal")))
        zr_log_warn("preprod-test", "REHEARSAL: %s; the report says so on every page and is no evidence for DICTU",
                    json_string_value(json_object_get(pp.run.setup, "rehearsal_reason")));
    zr_log_info("preprod-test", "%s %s (%zu scenarios)", loaded == 0 ? "continuing the run in" : "new run in",
                cfg->preprod_test.state_file, pp.run.count);
    if (zr_preprod_rp_discover(&pp.rp, err, sizeof(err)) != 0)
        zr_log_warn("preprod-test", "relay discovery not readable yet (tried again at each start): %s", err);
    persist(&pp);

    zr_http_server_config_t hc = {
        .listen = cfg->preprod_test.listen,
        .max_body_bytes = 64 * 1024,
        .threads = 2,
        .routes = preprod_routes,
        .route_count = sizeof(preprod_routes) / sizeof(preprod_routes[0]),
        .ctx = &pp,
        .component = "preprod-test",
        /* Plain HTTP here; an https public URL means TLS ends in front of it. */
        .hsts = strncmp(cfg->preprod_test.public_base_url, "https://", 8) == 0,
    };
    server = zr_http_server_start(&hc, err, sizeof(err));
    if (!server) {
        zr_log_error("preprod-test", "cannot listen on %s: %s", cfg->preprod_test.listen, err);
        goto end;
    }
    zr_log_info("preprod-test", "test client ready: open %s/ in the browser you test with",
                cfg->preprod_test.public_base_url);
    while ((sig = zr_http_wait_for_signal()) == SIGHUP)
        ;
    zr_log_info("preprod-test", "signal %d, stopping (results are in %s)", sig, cfg->preprod_test.state_file);
    rc = 0;
end:
    zr_http_server_stop(server);
    if (pp.run.items) {
        pthread_mutex_lock(&pp.lock);
        if (rc == 0)
            persist(&pp);
        pthread_mutex_unlock(&pp.lock);
    }
    for (size_t i = 0; pp.id_tokens && i < pp.run.count; i++)
        free(pp.id_tokens[i]);
    free(pp.id_tokens);
    zr_preprod_run_free(&pp.run);
    zr_preprod_rp_cleanup(&pp.rp);
    pthread_mutex_destroy(&pp.lock);
    return rc;
}

int zr_preprod_report_only(const zr_config_t *cfg, const char *report_dir, const char *chromium)
{
    zr_preprod_run_t run;
    char err[512] = "";
    int rc = 1, loaded;

    memset(&run, 0, sizeof(run));
    if (zr_preprod_run_init(&run, cfg) != 0) {
        zr_log_error("preprod-test", "no care provider to test (preprod_test.care_provider)");
        goto end;
    }
    loaded = zr_preprod_state_load(&run, cfg->preprod_test.state_file, err, sizeof(err));
    if (loaded != 0) {
        zr_log_error("preprod-test", "%s", loaded == 1 ? "no results yet: the state file does not exist" : err);
        goto end;
    }
    run.setup = zr_preprod_setup_collect(cfg, run.care_provider);
    if (zr_preprod_report_write(&run, cfg, report_dir, err, sizeof(err)) != 0) {
        zr_log_error("preprod-test", "cannot write the report: %s", err);
        goto end;
    }
    if (chromium && zr_preprod_report_pdf(report_dir, chromium, err, sizeof(err)) != 0) {
        zr_log_error("preprod-test", "cannot print the PDF: %s", err);
        goto end;
    }
    zr_log_info("preprod-test", "report written in %s%s", report_dir, chromium ? " (with preprod-report.pdf)" : "");
    rc = 0;
end:
    zr_preprod_run_free(&run);
    return rc;
}
