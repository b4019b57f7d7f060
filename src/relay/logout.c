/* Logout (issue 5, docs/logout.md), forward through the relay:
 *   login done   -> zr_relay_logout_session_prepare: the logout session, kept
 *                   in the store (ns "logout-session", key = sid) in the code's
 *                   round trip (zr_oidc_authorize_issue), sid in the ID token
 *   GET/POST /logout (RP-Initiated Logout 1.0) -> id_token_hint verified ->
 *                   session taken -> Logout Tokens to back-channel clients
 *                   (Back-Channel Logout 1.0) -> for a patient a signed
 *                   LogoutRequest auto-POSTed to TVS (pending under RelayState,
 *                   ns "logout-pending"); for a professional straight on
 *   POST /saml/slo  -> LogoutResponse validated -> back to the portal's
 *                   post_logout_redirect_uri (with state) or the logged-out page.
 * The relay keeps no browser session of its own: what is logged out is the
 * session the id_token_hint names. */
#include "relay_internal.h"
#include "zr/diag.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "zr/audit.h"
#include "zr/json.h"
#include "zr/log.h"
#include "zr/util.h"

#define SESSION_NS "logout-session"
#define PENDING_NS "logout-pending"
/* oidc.logout_session_lifetime unset: a working day. */
#define DEFAULT_SESSION_LIFETIME_S (8 * 3600)
#define MAX_STATE_LEN 2048

static int session_lifetime(const zr_config_t *cfg)
{
    return cfg->oidc.logout_session_lifetime_s > 0 ? cfg->oidc.logout_session_lifetime_s
                                                   : DEFAULT_SESSION_LIFETIME_S;
}

static void set_opt(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

static char *dup_opt(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? strdup(v) : NULL;
}

/* Wipes and frees a serialised session or pending record (it holds the
 * NameID and pairwise subjects, never a BSN). */
static void wipe_free(char *s, size_t len)
{
    if (s)
        OPENSSL_cleanse(s, len);
    free(s);
}

/* ---- the logout session ---- */

char *zr_relay_logout_session_prepare(zr_relay_gen_t *gen, const char *client_id, const zr_subject_t *subject,
                                      const zr_tenant_t *tenant, const zr_saml_session_t *saml,
                                      zr_relay_logout_session_t *ls)
{
    const zr_client_t *client = gen && client_id ? zr_config_find_client(gen->cfg, client_id) : NULL;
    json_t *o = json_object(), *clients = json_object(), *s = NULL;
    char *sid = NULL, *sub = NULL;

    memset(ls, 0, sizeof(*ls));
    ls->write.status = ZR_STORE_INVALID;
    if (!client || !subject || !o || !clients)
        goto end;
    sub = zr_oidc_subject_sub(gen->oidc, client, subject);
    sid = zr_random_token(32);
    if (!sub || !sid)
        goto fail;
    ls->professional = subject->kind == ZR_SUBJECT_PROFESSIONAL;
    json_object_set_new(o, "kind", json_string(ls->professional ? "professional" : "patient"));
    set_opt(o, "tenant", tenant ? tenant->id : NULL);
    /* Who, for the audit record of the logout: the audit pseudonym (keyed),
     * never the identifier itself. */
    if (zr_audit_enabled()) {
        char person[ZR_AUDIT_PSEUDONYM_MAX];
        if (zr_audit_pseudonym(ls->professional ? subject->pro.dezi_nummer : subject->acting.value, person) == 0)
            set_opt(o, "audit_person", person);
    }
    /* Per client the sub it knows (a Logout Token must carry that one). */
    json_object_set_new(clients, client->client_id, json_string(sub));
    json_object_set(o, "clients", clients);
    json_object_set_new(o, "iat", json_integer((json_int_t)zr_time_now()));
    if (saml && saml->name_id) {
        s = json_object();
        set_opt(s, "name_id", saml->name_id);
        set_opt(s, "format", saml->format);
        set_opt(s, "name_qualifier", saml->name_qualifier);
        set_opt(s, "sp_name_qualifier", saml->sp_name_qualifier);
        set_opt(s, "session_index", saml->session_index);
        json_object_set(o, "saml", s);
        ls->saml = 1;
    }
    if (!(ls->record = json_dumps(o, JSON_COMPACT)))
        goto fail;
    ls->write = (zr_store_write_t){SESSION_NS, sid, ls->record, strlen(ls->record), session_lifetime(gen->cfg),
                                   ZR_STORE_INVALID};
    ls->count = 1;
    goto end;
fail:
    zr_log_warn("logout_session", "client=%s not kept (out of memory): this login cannot be logged out at TVS",
                client->client_id);
    zr_release(sid);
end:
    free(sub);
    json_decref(s);
    json_decref(clients);
    json_decref(o);
    return sid;
}

void zr_relay_logout_session_done(zr_relay_logout_session_t *ls, const char *client_id)
{
    char mask[16];
    if (ls->count && ls->write.status == ZR_STORE_OK)
        zr_log_info("logout_session", "client=%s sid=%s kind=%s saml=%s", client_id,
                    zr_log_mask(ls->write.name, mask), ls->professional ? "professional" : "patient",
                    ls->saml ? "yes" : "no");
    else if (ls->count && ls->write.status != ZR_STORE_INVALID)
        zr_log_warn("logout_session", "client=%s not kept (%s): this login cannot be logged out at TVS",
                    client_id, zr_store_status_name(ls->write.status));
    if (ls->record)
        wipe_free(ls->record, strlen(ls->record));
    memset(ls, 0, sizeof(*ls));
}

/* ---- helpers for the pages ---- */

static int uri_registered(const zr_client_t *c, const char *uri)
{
    for (size_t i = 0; c && uri && i < c->post_logout_redirect_uri_count; i++)
        if (c->post_logout_redirect_uris[i] && strcmp(c->post_logout_redirect_uris[i], uri) == 0)
            return 1;
    return 0;
}

/* The end of every logout: back to the portal (RP-Initiated Logout 1.0 §3,
 * state passed back) or, without a registered address, our page. */
static void finish(zr_http_response_t *resp, zr_lang_t lang, const zr_config_t *cfg, const zr_client_t *client,
                   const char *redirect_uri, const char *state, const char *ref)
{
    zr_kvlist_t vars = {0};
    zr_buf_t url;
    char *enc = NULL, *page = NULL, *ways = NULL;
    const char *client_name = client ? client->name : NULL;
    zr_page_way_t way;

    zr_buf_init(&url);
    if (redirect_uri) {
        enc = state ? zr_url_encode(state) : NULL;
        if (zr_buf_appends(&url, redirect_uri) != 0 ||
            (state && (!enc || zr_buf_printf(&url, "%cstate=%s", strchr(redirect_uri, '?') ? '&' : '?', enc) != 0))) {
            zr_page_error(resp, 500, lang, "internal_error", ref);
            goto end;
        }
        zr_http_redirect(resp, 303, url.data);
        goto end;
    }
    /* Issue 18 §2: the language switch of a page that answered a POST or
     * an id_token_hint: /logout with the client alone makes it again and
     * ends nothing (there is no hint). */
    enc = client ? zr_url_encode(client->client_id) : NULL;
    if (zr_buf_printf(&url, "/logout%s%s", enc ? "?client_id=" : "", enc ? enc : "") == 0)
        zr_kv_add(&vars, "lang_href", url.data);
    zr_kv_add(&vars, "client_name", client_name ? client_name : zr_lang_text(lang, "logout-done.the_website"));
    /* Issue 18 §1: back to the portal, or log in again; the page already
     * says what to do when the portal is not known. */
    zr_relay_page_way(cfg, client ? client->client_id : NULL, NULL, &way);
    ways = way.home_page || way.login_uri ? zr_page_way_render(lang, &way) : strdup("");
    if (ways)
        zr_kv_add(&vars, "way_forward", ways);
    page = ways && zr_page_provider_var(&vars, lang, &way) == 0 ? zr_page_render("logout-done", lang, &vars) : NULL;
    if (!page) {
        zr_page_error(resp, 500, lang, "internal_error", ref);
        goto end;
    }
    zr_http_respond(resp, 200, "text/html; charset=utf-8", page, strlen(page));
end:
    zr_kv_free(&vars);
    zr_buf_free(&url);
    free(enc);
    free(ways);
    free(page);
}

/* ---- back-channel logout ---- */

/* Every client of the session with a backchannel_logout_uri gets one
 * Logout Token, once (Back-Channel Logout 1.0 §2.5; no retry storm: a
 * failure is logged, never the token). */
static void notify_backchannel(zr_relay_gen_t *gen, json_t *session, const char *sid)
{
    json_t *clients = json_object_get(session, "clients"), *sub;
    const char *client_id;
    char err[256], mask[16];

    json_object_foreach(clients, client_id, sub) {
        const zr_client_t *c = zr_config_find_client(gen->cfg, client_id);
        char *token;
        if (!c || !c->backchannel_logout_uri || !json_is_string(sub))
            continue;
        token = zr_oidc_logout_token(gen->oidc, c, json_string_value(sub), sid);
        err[0] = '\0';
        if (!token)
            zr_log_error("backchannel_logout", "client=%s sid=%s cannot build a logout token", client_id,
                         zr_log_mask(sid, mask));
        else if (zr_oidc_backchannel_logout_send(gen->oidc, c, token, err, sizeof(err)) != 0)
            zr_log_warn("backchannel_logout", "client=%s sid=%s not delivered: %s", client_id,
                        zr_log_mask(sid, mask), err);
        else
            zr_log_info("backchannel_logout", "client=%s sid=%s delivered", client_id, zr_log_mask(sid, mask));
        if (token)
            wipe_free(token, strlen(token));
    }
}

/* ---- the SAML half: LogoutRequest to TVS ---- */

/* 0 when resp holds the auto-POST to TVS; -1 when TVS cannot be asked
 * (logged) and the caller finishes locally. */
static int start_saml_logout(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                             zr_http_response_t *resp, json_t *session, const char *client_id,
                             const char *redirect_uri, const char *state, zr_lang_t lang, const char *ref)
{
    json_t *s = json_object_get(session, "saml"), *p = json_object();
    const char *tenant_id = json_string_value(json_object_get(session, "tenant"));
    const zr_tenant_t *tenant = NULL;
    zr_relay_gen_t *tgen = NULL;
    zr_saml_idp_t *idp = NULL;
    zr_saml_session_t sess = {0};
    zr_saml_logout_request_t lr = {0};
    zr_kvlist_t fields = {0};
    zr_page_way_t way;
    char *relay_state = NULL, *json = NULL, err[512] = "", mask[16];
    zr_store_status_t st;
    int rc = -1;

    if (!s || !tenant_id)
        goto end;
    /* The care provider as configured now (a reload may have changed it;
     * its entityID is what TVS knows). */
    tgen = zr_relay_gen_find_tenant(relay, tenant_id, NULL, &tenant);
    idp = zr_relay_idp_get(relay, err, sizeof(err));
    if (!tenant || !idp) {
        zr_log_error("logout", "TVS not asked: %s ref=%s", tenant ? err : "care provider no longer configured", ref);
        goto end;
    }
    sess.name_id = dup_opt(s, "name_id");
    sess.format = dup_opt(s, "format");
    sess.name_qualifier = dup_opt(s, "name_qualifier");
    sess.sp_name_qualifier = dup_opt(s, "sp_name_qualifier");
    sess.session_index = dup_opt(s, "session_index");
    if (zr_saml_logout_request_build(tgen->cfg, tenant, idp, &sess, &lr, err, sizeof(err)) != 0) {
        zr_log_error("logout", "TVS not asked: LogoutRequest: %s ref=%s", err, ref);
        goto end;
    }
    relay_state = zr_random_token(32);
    if (!relay_state || !p)
        goto end;
    json_object_set_new(p, "request_id", json_string(lr.id));
    set_opt(p, "client_id", client_id);
    set_opt(p, "redirect_uri", redirect_uri);
    set_opt(p, "state", state);
    json_object_set_new(p, "lang", json_string(zr_lang_code(lang)));
    json = json_dumps(p, JSON_COMPACT);
    st = json ? zr_store_put(relay->store, PENDING_NS, relay_state, json, strlen(json), gen->cfg->oidc.session_lifetime_s)
              : ZR_STORE_INVALID;
    if (st != ZR_STORE_OK) {
        zr_log_error("logout", "TVS not asked: store %s ref=%s", zr_store_status_name(st), ref);
        goto end;
    }
    {
        const zr_kvlist_t *params = strcmp(req->method, "POST") == 0 ? &req->form : &req->query;
        zr_diag_logout(relay->store, gen->cfg, zr_kv_get(params, "id_token_hint"), relay_state, "LogoutRequest",
                       lr.xml);
    }
    zr_kv_add(&fields, "SAMLRequest", lr.saml_request_b64);
    zr_kv_add(&fields, "RelayState", relay_state);
    zr_relay_page_way(gen->cfg, client_id, tenant_id, &way);
    if (zr_page_autopost_way(resp, lang, idp->slo_url, &fields, &way) != 0) {
        zr_log_error("logout", "TVS not asked: SingleLogoutService URL unusable ref=%s", ref);
        zr_http_response_free(resp);
        zr_http_response_init(resp);
        goto end;
    }
    zr_log_info("logout", "client=%s tenant=%s request=%s logout=%s to TVS", client_id ? client_id : "-", tenant_id,
                lr.id, zr_log_mask(relay_state, mask));
    rc = 0;
end:
    zr_kv_free(&fields);
    zr_saml_logout_request_free(&lr);
    zr_saml_session_clear(&sess);
    free(relay_state);
    if (json)
        wipe_free(json, strlen(json));
    json_decref(p);
    zr_relay_idp_put(relay, idp);
    zr_relay_gen_put(relay, tgen);
    return rc;
}

/* ---- GET/POST /logout ---- */

static const char *const logout_params[] = {"id_token_hint", "client_id", "post_logout_redirect_uri", "state",
                                            "ui_locales", "logout_hint", NULL};

/* Takes the session `sid` out of the store when it belongs to this client
 * and subject. NULL when there is none (expired, already logged out, or not
 * this client's: all harmless). */
static json_t *session_take(zr_relay_t *relay, const zr_oidc_hint_t *hint, const char *ref)
{
    char *json = NULL, mask[16];
    size_t len = 0;
    json_t *o = NULL;
    const char *sub;
    zr_store_status_t st;

    if (!hint->sid)
        return NULL;
    st = zr_store_get(relay->store, SESSION_NS, hint->sid, &json, &len);
    if (st != ZR_STORE_OK) {
        if (st != ZR_STORE_NOT_FOUND)
            zr_log_error("logout", "store %s ref=%s", zr_store_status_name(st), ref);
        goto end;
    }
    o = zr_json_parse_object(json, len, 0, NULL);
    sub = o ? json_string_value(json_object_get(json_object_get(o, "clients"), hint->client->client_id)) : NULL;
    /* The hint must be for this very session: same client, same subject. */
    if (!sub || strcmp(sub, hint->sub) != 0) {
        zr_log_warn("logout", "client=%s sid=%s: the hint does not match the session; nothing ended ref=%s",
                    hint->client->client_id, zr_log_mask(hint->sid, mask), ref);
        json_decref(o);
        o = NULL;
        goto end;
    }
    /* Single use: whoever deletes it first ends it. */
    wipe_free(json, len);
    json = NULL;
    if (zr_store_take(relay->store, SESSION_NS, hint->sid, &json, &len) != ZR_STORE_OK) {
        json_decref(o);
        o = NULL;
    }
end:
    if (json)
        wipe_free(json, len);
    return o;
}

int zr_relay_handle_logout(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const zr_kvlist_t *params = strcmp(req->method, "POST") == 0 ? &req->form : &req->query;
    const char *hint_s = zr_kv_get(params, "id_token_hint");
    const char *client_id = zr_kv_get(params, "client_id");
    const char *redirect = zr_kv_get(params, "post_logout_redirect_uri");
    const char *state = zr_kv_get(params, "state");
    zr_lang_t lang = zr_http_lang_of(req, zr_kv_get(params, "ui_locales"));
    const zr_client_t *client = NULL;
    zr_oidc_hint_t hint = {0};
    json_t *session = NULL;
    const char *kind;
    char err[256] = "", ref[16], mask[16];

    zr_relay_reference(ref);
    for (size_t i = 0; logout_params[i]; i++) {
        if (zr_kv_count(params, logout_params[i]) > 1) {
            zr_log_warn("logout", "parameter %s repeated ref=%s", logout_params[i], ref);
            zr_page_error(resp, 400, lang, "logout_invalid", ref);
            goto end;
        }
    }
    if (state && strlen(state) > MAX_STATE_LEN) {
        zr_page_error(resp, 400, lang, "logout_invalid", ref);
        goto end;
    }
    if (hint_s) {
        if (zr_oidc_id_token_hint_verify(gen->oidc, hint_s, &hint, err, sizeof(err)) != 0) {
            zr_log_warn("logout", "id_token_hint refused: %s ref=%s", err, ref);
            zr_page_error(resp, 400, lang, "logout_invalid", ref);
            goto end;
        }
        client = hint.client;
        /* §2: client_id, when sent too, must be the hint's audience. */
        if (client_id && strcmp(client_id, client->client_id) != 0) {
            zr_log_warn("logout", "client_id %s is not the hint's audience %s ref=%s", client_id,
                        client->client_id, ref);
            zr_page_error(resp, 400, lang, "logout_invalid", ref);
            goto end;
        }
    } else if (client_id && !(client = zr_config_find_client(gen->cfg, client_id))) {
        zr_log_warn("logout", "unknown client_id ref=%s", ref);
        zr_page_error(resp, 400, lang, "unknown_client", ref);
        goto end;
    }
    /* §3: only an exactly registered address of the identified client; the
     * whole request is refused otherwise (nothing ended, no redirect). */
    if (redirect && !uri_registered(client, redirect)) {
        zr_log_warn("logout", "client=%s post_logout_redirect_uri not registered ref=%s",
                    client ? client->client_id : "-", ref);
        zr_relay_page_error(resp, 400, lang, "logout_redirect_unregistered", ref, gen->cfg,
                            client ? client->client_id : NULL, NULL);
        goto end;
    }
    if (!redirect)
        state = NULL; /* nowhere to pass it back to */

    session = hint_s ? session_take(relay, &hint, ref) : NULL;
    if (!session) {
        /* Nothing (left) to end: already logged out, expired, or no hint.
         * Harmless: say so, or go back to the portal. */
        zr_log_info("logout", "client=%s sid=%s no session to end ref=%s", client ? client->client_id : "-",
                    hint.sid ? zr_log_mask(hint.sid, mask) : "-", ref);
        finish(resp, lang, gen->cfg, client, redirect, state, ref);
        goto end;
    }
    kind = json_string_value(json_object_get(session, "kind"));
    zr_log_info("logout", "client=%s sid=%s kind=%s session ended ref=%s", client->client_id,
                zr_log_mask(hint.sid, mask), kind ? kind : "?", ref);
    zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGOUT, .kind = kind,
                                        .person = json_string_value(json_object_get(session, "audit_person")),
                                        .client = client->client_id,
                                        .sub = json_string_value(
                                            json_object_get(json_object_get(session, "clients"), client->client_id)),
                                        .care_provider = json_string_value(json_object_get(session, "tenant")),
                                        .session = mask, .ref = ref});
    notify_backchannel(gen, session, hint.sid);
    /* A patient's session at TVS ends too (ST-SAML §Logout). */
    if (json_object_get(session, "saml") &&
        start_saml_logout(relay, gen, req, resp, session, client->client_id, redirect, state, lang, ref) == 0)
        goto end;
    finish(resp, lang, gen->cfg, client, redirect, state, ref);
end:
    json_decref(session);
    zr_oidc_hint_clear(&hint);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* ---- POST /saml/slo: TVS's LogoutResponse ---- */

/* The SAML trace (development and pre-production) shows the LogoutResponse
 * as it came, before it is judged: a refused one is what a tester needs. */
static void trace_logout_response(zr_relay_t *relay, const zr_config_t *cfg, const char *relay_state,
                                  const char *saml_response)
{
    uint8_t *xml = NULL;
    size_t len = 0;
    char *text = NULL;
    if (!zr_diag_enabled(cfg) || zr_base64_decode(saml_response, &xml, &len) != 0)
        goto end;
    text = strndup((const char *)xml, len);
    zr_diag_logout(relay->store, cfg, NULL, relay_state, "LogoutResponse", text);
end:
    free(text);
    free(xml);
}

int zr_relay_handle_saml_slo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const char *saml_response = zr_kv_get(&req->form, "SAMLResponse");
    const char *relay_state = zr_kv_get(&req->form, "RelayState");
    const zr_client_t *client = NULL;
    zr_saml_idp_t *idp = NULL;
    json_t *p = NULL;
    char *json = NULL, err[512] = "", ref[16], mask[16];
    size_t len = 0;
    zr_lang_t lang = req->lang;
    zr_saml_status_t st;
    zr_store_status_t ss;
    const char *request_id, *client_id;

    zr_relay_reference(ref);
    /* TVS never starts a logout (reference/tvs-saml.md §Logout). */
    if (zr_kv_get(&req->form, "SAMLRequest") || !saml_response || !relay_state ||
        zr_kv_count(&req->form, "SAMLResponse") != 1 || zr_kv_count(&req->form, "RelayState") != 1 ||
        strlen(relay_state) > 80) {
        zr_log_warn("slo", "not a LogoutResponse with one RelayState ref=%s", ref);
        zr_page_error(resp, 400, lang, "logout_invalid", ref);
        goto end;
    }
    ss = zr_store_take(relay->store, PENDING_NS, relay_state, &json, &len);
    if (ss == ZR_STORE_NOT_FOUND) {
        zr_log_warn("slo", "no pending logout for logout=%s (expired or used) ref=%s",
                    zr_log_mask(relay_state, mask), ref);
        zr_page_error(resp, 400, lang, "logout_expired", ref);
        goto end;
    }
    if (ss != ZR_STORE_OK) {
        zr_log_error("slo", "store %s ref=%s", zr_store_status_name(ss), ref);
        zr_page_error(resp, 503, lang, "store_unavailable", ref);
        goto end;
    }
    trace_logout_response(relay, gen->cfg, relay_state, saml_response);
    p = zr_json_parse_object(json, len, 0, NULL);
    request_id = p ? json_string_value(json_object_get(p, "request_id")) : NULL;
    if (!request_id) {
        zr_log_error("slo", "pending logout unreadable ref=%s", ref);
        zr_page_error(resp, 500, lang, "internal_error", ref);
        goto end;
    }
    /* The language's code; a logout pending from before a restart into
     * this version holds 0 (Dutch) or 1 (English). */
    if (json_object_get(p, "lang") && zr_relay_lang_read(json_object_get(p, "lang"), &lang) != 0)
        lang = ZR_LANG_NL;
    idp = zr_relay_idp_get(relay, err, sizeof(err));
    if (!idp) {
        zr_log_error("slo", "TVS metadata unusable: %s ref=%s", err, ref);
        zr_relay_page_error(resp, 503, lang, "tvs_unavailable", ref, gen->cfg,
                            json_string_value(json_object_get(p, "client_id")), NULL);
        goto end;
    }
    st = zr_saml_logout_response_validate(gen->cfg, idp, relay->store, saml_response, request_id, err, sizeof(err));
    if (st != ZR_SAML_OK) {
        zr_log_warn("slo", "logout=%s request=%s result=%s: %s ref=%s", zr_log_mask(relay_state, mask), request_id,
                    zr_saml_status_name(st), err, ref);
        zr_relay_page_error(resp, st == ZR_SAML_STATUS_ERROR ? 502 : st == ZR_SAML_UNAVAILABLE ? 503 : 400, lang,
                            st == ZR_SAML_STATUS_ERROR ? "logout_failed" : "logout_response_invalid", ref, gen->cfg,
                            json_string_value(json_object_get(p, "client_id")), NULL);
        goto end;
    }
    client_id = json_string_value(json_object_get(p, "client_id"));
    client = client_id ? zr_config_find_client(gen->cfg, client_id) : NULL;
    zr_log_info("slo", "logout=%s request=%s client=%s result=ok", zr_log_mask(relay_state, mask), request_id,
                client_id ? client_id : "-");
    /* The address was checked against the client's registration at /logout;
     * a reload since then that removed it ends here on our page. */
    {
        const char *redirect = json_string_value(json_object_get(p, "redirect_uri"));
        if (redirect && !uri_registered(client, redirect))
            redirect = NULL;
        finish(resp, lang, gen->cfg, client, redirect,
               redirect ? json_string_value(json_object_get(p, "state")) : NULL, ref);
    }
end:
    json_decref(p);
    if (json)
        wipe_free(json, len);
    zr_relay_idp_put(relay, idp);
    zr_relay_gen_put(relay, gen);
    return 0;
}
