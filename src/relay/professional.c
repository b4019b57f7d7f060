/* Professionals through Dezi, and the authorization check every login
 * passes before a code is issued (issue 4). One login walks:
 *   /authorize (login_method 0)  -> chooser page -> POST /login/choose
 *   /authorize (professional)    -> Dezi /authorize (PKCE, state, nonce)
 *   /dezi/callback               -> zr_dezi_finish (token, id_token, userinfo
 *                                   JWE, envelope, verklaring, revocation)
 *                                -> role mapping -> PDP -> code to the portal
 * The pending login lives in Redis like a patient's, bound to the browser by
 * a cookie; the Dezi state is single use. */
#include "relay_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zr/diag.h"
#include "zr/audit.h"
#include "zr/log.h"
#include "zr/roles.h"
#include "zr/util.h"

#define CHOOSE_NS "choose"
#define DEZI_NS "dezi-login"
#define CHOOSE_COOKIE_PREFIX "zr_choose_"
#define DEZI_COOKIE_PREFIX "zr_dezi_"

/* Stores {authz, browser hash, extra...} under key in ns and sets the
 * browser-binding cookie. 0 on success; otherwise resp holds a page. */
static int pending_put(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                       zr_http_response_t *resp, const char *ns, const char *cookie_prefix, const char *key,
                       const zr_oidc_authz_t *authz, json_t *extra, const char *ref)
{
    char *authz_json = zr_oidc_authz_to_json(authz), *secret = zr_random_token(32), *hash = NULL, *json = NULL;
    char cookie_name[ZR_RELAY_COOKIE_NAME_MAX], trail_ns[80], *trail = NULL;
    json_t *o = json_object();
    zr_store_status_t st;
    int rc = -1;

    hash = secret ? zr_relay_sha256_hex(secret) : NULL;
    if (!authz_json || !hash || !o) {
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref, cfg, authz->client_id, authz->care_provider);
        goto end;
    }
    json_object_set_new(o, "authz", json_loads(authz_json, 0, NULL));
    json_object_set_new(o, "browser", json_string(hash));
    if (extra)
        json_object_update(o, extra);
    json = json_dumps(o, JSON_COMPACT);
    /* The pending login and its trail (way.c) in one round trip. */
    trail = zr_relay_trail_json(authz->client_id, authz->care_provider, authz->lang, ZR_RELAY_TRAIL_BEGUN);
    snprintf(trail_ns, sizeof(trail_ns), "%s-trail", ns);
    if (json && trail) {
        zr_store_write_t ops[2] = {
            {ns, key, json, strlen(json), cfg->oidc.session_lifetime_s, ZR_STORE_INVALID},
            {trail_ns, key, trail, strlen(trail), zr_relay_trail_ttl(cfg), ZR_STORE_INVALID}};
        st = zr_store_write_all(relay->store, ops, 2);
    } else {
        st = ZR_STORE_INVALID;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("authorize", "store %s: login not started ref=%s", zr_store_status_name(st), ref);
        zr_relay_page_error(resp, 503, req->lang, "store_unavailable", ref,
                            cfg, authz->client_id, authz->care_provider);
        goto end;
    }
    zr_relay_cookie_name(cfg, cookie_prefix, key, cookie_name);
    zr_http_set_cookie(resp, cookie_name, secret, cfg->oidc.session_lifetime_s, zr_relay_https(cfg), 0);
    rc = 0;
end:
    if (json)
        OPENSSL_cleanse(json, strlen(json));
    free(json);
    free(trail);
    free(authz_json);
    zr_release(secret);
    free(hash);
    json_decref(o);
    return rc;
}

/* Reads the pending login, checks the browser binding, then takes it
 * (single use; zr_relay_pending_spend says why in that order). Returns the
 * JSON object (caller decrefs), or NULL with resp holding a page. */
static json_t *pending_take(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                            zr_http_response_t *resp, const char *ns, const char *cookie_prefix, const char *key,
                            zr_oidc_authz_t *authz, const char *ref)
{
    char *json = NULL, *authz_json = NULL, label[48];
    size_t len = 0;
    json_t *o = NULL;

    snprintf(label, sizeof(label), "%s key", ns);
    if (zr_relay_pending_read(relay, cfg, req, resp, "login", label, ns, cookie_prefix, key, ref, &json, &len) != 0)
        goto fail;
    o = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    authz_json = o ? json_dumps(json_object_get(o, "authz"), JSON_COMPACT) : NULL;
    if (!authz_json || zr_oidc_authz_from_json(authz_json, authz) != 0) {
        zr_log_error("login", "pending %s unreadable ref=%s", ns, ref);
        zr_page_error(resp, 500, req->lang, "internal_error", ref);
        goto fail;
    }
    if (zr_relay_pending_spend(relay, cfg, req, resp, "login", label, ns, cookie_prefix, key,
                               json_string_value(json_object_get(o, "browser")), ref,
                               !strcmp(ns, CHOOSE_NS) ? "choice_already_made" : "login_already_done",
                               authz->client_id, authz->care_provider) != 0)
        goto fail;
    goto end;
fail:
    zr_oidc_authz_clear(authz);
    json_decref(o);
    o = NULL;
end:
    if (json)
        OPENSSL_cleanse(json, len);
    free(json);
    free(authz_json);
    return o;
}

/* ---- the chooser ---- */

static void show_chooser(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                         zr_http_response_t *resp, const zr_oidc_authz_t *authz, const char *ref)
{
    char *handle = zr_random_token(32), *page = NULL;
    zr_kvlist_t vars = {0};
    const zr_client_t *client = zr_config_find_client(gen->cfg, authz->client_id);
    zr_page_way_t way;
    zr_trace_t trace;

    zr_trace_begin(authz->traceparent, &trace);
    if (!handle) {
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref,
                            gen->cfg, authz->client_id, authz->care_provider);
        goto end;
    }
    if (pending_put(relay, gen->cfg, req, resp, CHOOSE_NS, CHOOSE_COOKIE_PREFIX, handle, authz, NULL, ref) != 0)
        goto end;
    zr_kv_add(&vars, "handle", handle);
    zr_kv_add(&vars, "client_name", client && client->name ? client->name : authz->client_id);
    zr_relay_page_way(gen->cfg, authz->client_id, authz->care_provider, &way);
    /* Logius' checklist (C2): the name of the BSN-entitled organisation,
     * the care provider, stands with the DigiD button. */
    zr_kv_add(&vars, "provider_name",
              way.provider_name ? way.provider_name : client && client->name ? client->name : authz->client_id);
    /* The DigiD logo only as the operator got it from Logius; decorative
     * (alt=""), the button's text names DigiD. */
    if (gen->cfg->pages.digid_logo.src) {
        zr_kvlist_t logo = {0};
        char *img = NULL;
        if (zr_kv_add(&logo, "src", gen->cfg->pages.digid_logo.src) == 0)
            img = zr_page_render("digid-logo", req->lang, &logo);
        zr_kv_add(&vars, "digid_logo", img ? img : "");
        zr_kv_free(&logo);
        free(img);
    }
    page = zr_page_provider_var(&vars, req->lang, &way) == 0 ? zr_page_render("login-choice", req->lang, &vars) : NULL;
    if (!page) {
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref,
                            gen->cfg, authz->client_id, authz->care_provider);
        goto end;
    }
    zr_http_respond(resp, 200, "text/html; charset=utf-8", page, strlen(page));
    zr_http_set_header(resp, "Cache-Control", "no-store");
    {
        /* The choice redirects on to Dezi, or with an error to the portal:
         * Chromium checks form-action on those redirects too. */
        const char *targets[] = {gen->cfg->dezi.issuer, authz->redirect_uri};
        char *csp = zr_page_form_csp(targets, 2);
        if (csp)
            zr_http_set_header(resp, "Content-Security-Policy", csp);
        free(csp);
    }
    zr_log_info("authorize", "client=%s login method chooser shown trace=%s", authz->client_id, trace.trace_id);
end:
    zr_kv_free(&vars);
    zr_release(handle);
    free(page);
}

/* ---- to Dezi ---- */

/* chosen: the person pressed the chooser's button; a refusal is then the
 * relay's page (issue 18 §2), else the portal is told at once. */
static void start_dezi(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                       zr_http_response_t *resp, const zr_oidc_authz_t *authz, const char *ref, int chosen)
{
    zr_dezi_authz_t dz = {0};
    char err[512] = "", *callback = NULL, mask[16];
    json_t *extra = NULL;
    zr_trace_t trace;

    zr_trace_begin(authz->traceparent, &trace);
    if (!gen->dezi) {
        zr_log_error("authorize", "client=%s professional login without a dezi: section ref=%s", authz->client_id,
                     ref);
        if (chosen)
            zr_oidc_authorize_refuse(gen->oidc, authz, ZR_REFUSAL_DEZI_NOT_CONFIGURED, NULL, resp);
        else
            zr_oidc_authorize_refuse_at_once(gen->oidc, authz, ZR_REFUSAL_DEZI_NOT_CONFIGURED, resp);
        goto end;
    }
    if (asprintf(&callback, "%s/dezi/callback", gen->cfg->public_base_url) < 0) {
        callback = NULL;
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref,
                            gen->cfg, authz->client_id, authz->care_provider);
        goto end;
    }
    if (zr_dezi_authorize_begin(gen->dezi, callback, &dz, err, sizeof(err)) != ZR_DEZI_OK) {
        zr_log_error("authorize", "client=%s Dezi unusable: %s trace=%s ref=%s", authz->client_id, err,
                     trace.trace_id, ref);
        if (chosen)
            zr_oidc_authorize_refuse(gen->oidc, authz, ZR_REFUSAL_DEZI_START_UNUSABLE, NULL, resp);
        else
            zr_oidc_authorize_refuse_at_once(gen->oidc, authz, ZR_REFUSAL_DEZI_START_UNUSABLE, resp);
        goto end;
    }
    extra = json_pack("{s:s, s:s}", "nonce", dz.nonce, "verifier", dz.code_verifier);
    if (!extra || pending_put(relay, gen->cfg, req, resp, DEZI_NS, DEZI_COOKIE_PREFIX, dz.state, authz, extra,
                              ref) != 0)
        goto end;
    zr_http_redirect(resp, 302, dz.url);
    zr_metrics_login_started(ZR_METRICS_PROFESSIONAL, NULL);
    zr_diag_dezi_authorize(relay->store, gen->cfg, req, authz, dz.state, dz.url);
    zr_log_info("authorize", "client=%s professional login to Dezi login=%s trace=%s", authz->client_id,
                zr_log_mask(dz.state, mask), trace.trace_id);
end:
    if (extra) {
        json_object_clear(extra);
        json_decref(extra);
    }
    free(callback);
    zr_dezi_authz_clear(&dz);
}

void zr_relay_begin_method(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                           zr_http_response_t *resp, zr_oidc_authz_t *authz)
{
    char ref[16];
    zr_relay_reference(ref);
    if (authz->login_method == ZR_LOGIN_PROFESSIONAL)
        start_dezi(relay, gen, req, resp, authz, ref, 0);
    else
        show_chooser(relay, gen, req, resp, authz, ref);
}

int zr_relay_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const char *handle = zr_kv_get(&req->form, "handle"), *method = zr_kv_get(&req->form, "method");
    const char *lang_code = zr_kv_get(&req->form, ZR_LANG_PARAM);
    zr_oidc_authz_t authz = {0};
    zr_http_request_t login_req;
    json_t *pending = NULL;
    const zr_client_t *client;
    zr_lang_t switch_to = ZR_LANG_NL;
    /* The language switch sends the form with lang instead of a method. */
    int switching = !method && lang_code && zr_kv_count(&req->form, ZR_LANG_PARAM) == 1 &&
                    zr_lang_from_code(lang_code, &switch_to) == 0;
    char ref[16];

    zr_relay_reference(ref);
    if (!handle || (!method && !switching) || zr_kv_count(&req->form, "handle") != 1 ||
        (method && zr_kv_count(&req->form, "method") != 1) || strlen(handle) > 64) {
        zr_page_error(resp, 400, req->lang, "bad_request", ref);
        goto end;
    }
    pending = pending_take(relay, gen->cfg, req, resp, CHOOSE_NS, CHOOSE_COOKIE_PREFIX, handle, &authz, ref);
    if (!pending)
        goto end;
    req = zr_relay_login_request(req, authz.lang, &login_req);
    /* A second POST of this form (a double click, the back button) finds
     * the choice made (way.c). */
    zr_relay_trail_put(relay, gen->cfg, CHOOSE_NS, handle, authz.client_id, authz.care_provider, authz.lang,
                       ZR_RELAY_TRAIL_CHOSEN, ref);
    /* Issue 18 §2: the same chooser in the language asked for, under a
     * fresh handle (this one is spent); the login goes on in it. */
    if (switching) {
        authz.lang = switch_to;
        login_req.lang = switch_to; /* req is &login_req since above */
        zr_log_info("authorize", "client=%s chooser: language %s ref=%s", authz.client_id, zr_lang_code(switch_to),
                    ref);
        show_chooser(relay, gen, req, resp, &authz, ref);
        goto end;
    }
    client = zr_config_find_client(gen->cfg, authz.client_id);
    /* Issue 18 §1: "Annuleren" goes back to the portal as a refusal (RFC
     * 6749 §4.1.2.1), through the same single-use, browser-bound handle as
     * the choices, with state and iss as every answer to the portal. */
    if (!strcmp(method, "cancel")) {
        zr_log_info("authorize", "client=%s chooser: the person cancelled ref=%s", authz.client_id, ref);
        zr_oidc_authorize_refuse_at_once(gen->oidc, &authz, ZR_REFUSAL_CHOOSER_CANCELLED, resp);
        goto end;
    }
    authz.login_method = !strcmp(method, "professional") ? ZR_LOGIN_PROFESSIONAL
                         : !strcmp(method, "patient")    ? ZR_LOGIN_PATIENT
                                                         : 0;
    if (!client || !authz.login_method || !(client->login_methods & authz.login_method)) {
        zr_log_warn("authorize", "client=%s chooser: method not offered ref=%s", authz.client_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_METHOD_NOT_ALLOWED, NULL, resp);
        goto end;
    }
    /* Patients go on with the pending login's own authz, in this request:
     * it holds the portal's trace (a redirect back to /authorize would lose
     * it, the browser does not send it), and the chooser's handle is spent. */
    if (authz.login_method == ZR_LOGIN_PROFESSIONAL)
        start_dezi(relay, gen, req, resp, &authz, ref, 1);
    else
        zr_relay_begin_patient(relay, gen, req, resp, &authz, 1);
end:
    json_decref(pending);
    zr_oidc_authz_clear(&authz);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* ---- back from Dezi ---- */

static zr_oidc_refusal_t dezi_status_to_refusal(zr_dezi_status_t st)
{
    switch (st) {
    case ZR_DEZI_DENIED:
        return ZR_REFUSAL_DEZI_CANCELLED;
    case ZR_DEZI_LOA_TOO_LOW:
        return ZR_REFUSAL_DEZI_LOA_TOO_LOW;
    case ZR_DEZI_REVOKED:
        return ZR_REFUSAL_DEZI_REVOKED;
    case ZR_DEZI_UNAVAILABLE:
        return ZR_REFUSAL_DEZI_UNREACHABLE;
    default:
        return ZR_REFUSAL_DEZI_ANSWER_REFUSED;
    }
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The subject the portal and the PDP get: the professional plus the
 * portal's own roles. */
static int professional_subject(const zr_dezi_professional_t *p, const char *const *roles, size_t role_count,
                                zr_subject_t *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = ZR_SUBJECT_PROFESSIONAL;
    s->loa = p->loa;
    s->auth_time = zr_time_now();
    s->pro.dezi_nummer = dup_or_null(p->dezi_nummer);
    s->pro.initials = dup_or_null(p->voorletters);
    s->pro.surname_prefix = dup_or_null(p->voorvoegsel);
    s->pro.surname = dup_or_null(p->achternaam);
    s->pro.ura = dup_or_null(p->ura);
    s->pro.organisation_name = dup_or_null(p->organisation_name);
    s->pro.rol_code = dup_or_null(p->rol_code);
    s->pro.rol_naam = dup_or_null(p->rol_naam);
    s->pro.rol_code_bron = dup_or_null(p->rol_code_bron);
    s->pro.verklaring_id = dup_or_null(p->verklaring_id);
    if (role_count && !(s->pro.roles = calloc(role_count, sizeof(char *))))
        return -1;
    for (size_t i = 0; i < role_count; i++)
        if (!(s->pro.roles[s->pro.role_count++] = strdup(roles[i])))
            return -1;
    return s->pro.dezi_nummer && s->pro.rol_code ? 0 : -1;
}

int zr_relay_handle_dezi_callback(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const char *state = zr_kv_get(&req->query, "state"), *code = zr_kv_get(&req->query, "code");
    const char *dezi_error = zr_kv_get(&req->query, "error");
    const char *const *roles = NULL;
    zr_oidc_authz_t authz = {0};
    zr_http_request_t login_req;
    zr_dezi_professional_t pro = {0};
    zr_subject_t subject = {0};
    json_t *pending = NULL;
    const zr_client_t *client;
    zr_relay_logout_session_t logout_session;
    char err[512] = "", ref[16], mask[16], ura_mask[16], sid_mask[16], *callback = NULL, *sub = NULL;
    size_t role_count;
    zr_dezi_status_t st;
    zr_trace_t trace;
    int issued, check;
    int64_t dezi_start;
    /* How the login ended, once its pending state was taken (before that
     * nothing was finished: an expired or replayed callback). */
    int finished = 0;
    zr_metrics_result_t result = ZR_METRICS_ERROR;

    zr_relay_reference(ref);
    zr_diag_dezi_callback(relay->store, gen->cfg, req);
    if (!state || zr_kv_count(&req->query, "state") != 1 || strlen(state) > 128 ||
        (!code && !dezi_error) || zr_kv_count(&req->query, "code") > 1) {
        zr_log_warn("dezi", "callback without a usable state/code ref=%s", ref);
        zr_page_error(resp, 400, req->lang, "bad_request", ref);
        goto end;
    }
    pending = pending_take(relay, gen->cfg, req, resp, DEZI_NS, DEZI_COOKIE_PREFIX, state, &authz, ref);
    if (!pending)
        goto end;
    req = zr_relay_login_request(req, authz.lang, &login_req);
    /* The login's trace, kept with the pending login: Dezi's back channel
     * and the log lines below continue it, as the PDP call does. */
    finished = 1;
    zr_trace_begin(authz.traceparent, &trace);
    /* The portal under the configuration in use: one removed by a reload
     * while its professional was at Dezi gets no code (it could never be
     * redeemed at /token) and Dezi's code is not spent for it. */
    client = zr_config_find_client(gen->cfg, authz.client_id);
    if (dezi_error) {
        zr_log_info("dezi", "login=%s client=%s trace=%s Dezi answered error ref=%s", zr_log_mask(state, mask),
                    authz.client_id, trace.trace_id, ref);
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "dezi_error",
                                            .kind = "professional", .client = authz.client_id,
                                            .trace = trace.trace_id, .login = mask, .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_DEZI_CANCELLED, NULL, resp);
        result = ZR_METRICS_CANCELLED;
        goto end;
    }
    if (!client) {
        zr_log_warn("dezi", "login=%s client=%s no longer configured trace=%s ref=%s", zr_log_mask(state, mask),
                    authz.client_id, trace.trace_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_CLIENT_REMOVED, NULL, resp);
        goto end;
    }
    if (!gen->dezi || asprintf(&callback, "%s/dezi/callback", gen->cfg->public_base_url) < 0) {
        callback = NULL;
        zr_log_error("dezi", "login=%s Dezi no longer configured ref=%s", zr_log_mask(state, mask), ref);
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_DEZI_UNUSABLE, NULL, resp);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    {
        char tp[64];
        zr_trace_format(&trace, tp, sizeof(tp));
        zr_dezi_set_traceparent(tp);
    }
    dezi_start = zr_metrics_now_ns();
    st = zr_dezi_finish(gen->dezi, code, callback, json_string_value(json_object_get(pending, "verifier")),
                        json_string_value(json_object_get(pending, "nonce")), &pro, err, sizeof(err));
    zr_dezi_set_traceparent(NULL);
    zr_metrics_observe_since(ZR_METRICS_PHASE_DEZI, dezi_start);
    zr_diag_dezi_result(relay->store, gen->cfg, state, st, zr_dezi_status_name(st), err, &pro);
    if (st != ZR_DEZI_OK) {
        zr_log(st == ZR_DEZI_DENIED ? ZR_LOG_INFO : ZR_LOG_WARN, "dezi",
               "login=%s client=%s trace=%s result=%s: %s ref=%s", zr_log_mask(state, mask), authz.client_id,
               trace.trace_id, zr_dezi_status_name(st), err, ref);
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = zr_dezi_status_name(st),
                                            .kind = "professional", .client = authz.client_id,
                                            .trace = trace.trace_id, .login = mask, .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, &authz, dezi_status_to_refusal(st), NULL, resp);
        result = st == ZR_DEZI_UNAVAILABLE                                        ? ZR_METRICS_UNAVAILABLE
                 : st == ZR_DEZI_DENIED || st == ZR_DEZI_LOA_TOO_LOW || st == ZR_DEZI_REVOKED ? ZR_METRICS_DENIED
                                                                                  : ZR_METRICS_REFUSED;
        goto end;
    }
    role_count = zr_roles_map(client, pro.rol_code, pro.ura, &roles);
    if (role_count == 0 && !client->allow_unmapped_roles) {
        /* A clear page for the person; the portal learns nothing it could misuse.
         * The URA only as a keyed pseudonym, never in clear (issue 12 §1). */
        zr_log_warn("dezi", "login=%s client=%s trace=%s rol_code=%s ura=%s maps to no role of this portal ref=%s",
                    zr_log_mask(state, mask), authz.client_id, trace.trace_id, pro.rol_code,
                    zr_log_mask(pro.ura, ura_mask), ref);
        /* Who was refused: the professional as the audit knows them. */
        if (professional_subject(&pro, NULL, 0, &subject) == 0)
            zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "role_not_allowed",
                                                .subject = &subject, .client = authz.client_id,
                                                .trace = trace.trace_id, .login = mask, .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_ROLE_NOT_ALLOWED, NULL, resp);
        result = ZR_METRICS_DENIED;
        goto end;
    }
    if (professional_subject(&pro, roles, role_count, &subject) != 0) {
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref,
                            gen->cfg, authz.client_id, authz.care_provider);
        goto end;
    }
    if ((check = zr_relay_authorization_check(relay, gen, &authz, &subject, NULL, NULL, resp)) != 0) {
        result = zr_relay_authorization_result(check);
        goto end;
    }
    /* The logout session (logout.c), stored with the code. */
    authz.sid = zr_relay_logout_session_prepare(gen, authz.client_id, &subject, NULL, NULL, &logout_session);
    /* The audit record before the code (fail closed, as at the ACS). */
    zr_log_mask(state, mask);
    sub = zr_oidc_subject_sub(gen->oidc, client, &subject);
    if (zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &subject, .sub = sub,
                                            .client = authz.client_id,
                                            .trace = trace.trace_id, .login = mask,
                                            .session = authz.sid ? zr_log_mask(authz.sid, sid_mask) : NULL}) != 0) {
        zr_log_error("dezi", "login=%s client=%s trace=%s audit record not written: login refused ref=%s", mask,
                     authz.client_id, trace.trace_id, ref);
        zr_relay_logout_session_done(&logout_session, authz.client_id);
        zr_oidc_authorize_refuse(gen->oidc, &authz, ZR_REFUSAL_AUDIT_UNAVAILABLE, NULL, resp);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    issued = zr_oidc_authorize_issue(gen->oidc, &authz, &subject, &logout_session.write, logout_session.count,
                                     resp);
    zr_relay_logout_session_done(&logout_session, authz.client_id);
    if (issued) {
        zr_log_info("dezi", "login=%s client=%s trace=%s rol_code=%s roles=%zu loa=%s result=ok", mask,
                    authz.client_id, trace.trace_id, pro.rol_code, role_count, zr_loa_name(pro.loa));
        result = ZR_METRICS_OK;
    } else {
        result = ZR_METRICS_UNAVAILABLE; /* the code could not be stored (Redis) */
        /* the audit record above said it would be: say it was not */
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "not_issued",
                                            .subject = &subject, .client = authz.client_id,
                                            .trace = trace.trace_id, .login = mask, .ref = ref});
    }
end:
    if (finished) {
        zr_metrics_login_finished(ZR_METRICS_PROFESSIONAL, result, NULL);
        /* How it ended, for a page if this callback comes back (way.c). */
        zr_relay_trail_put(relay, gen->cfg, DEZI_NS, state, authz.client_id, authz.care_provider, authz.lang,
                           result == ZR_METRICS_OK ? ZR_RELAY_TRAIL_ISSUED : ZR_RELAY_TRAIL_REFUSED, ref);
    }
    zr_diag_dezi_end(relay->store, gen->cfg, req, resp);
    free(sub);
    free(callback);
    zr_subject_clear(&subject);
    zr_dezi_professional_clear(&pro);
    json_decref(pending);
    zr_oidc_authz_clear(&authz);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* ---- the authorization layer ---- */

zr_metrics_result_t zr_relay_authorization_result(int check)
{
    return check == ZR_RELAY_AUTHZ_DENIED        ? ZR_METRICS_DENIED
           : check == ZR_RELAY_AUTHZ_UNAVAILABLE ? ZR_METRICS_UNAVAILABLE
                                                 : ZR_METRICS_ERROR;
}

/* One person of a patient login as the client's authzen.patient_id names
 * them (docs/authorization.md): the portal's pairwise `sub` (the ID
 * token's `sub` / `represents.sub`), the care provider's keyed pseudonym,
 * or the BSN (only for an entitled care provider). *id is malloc'ed;
 * -1 when the person cannot be named so. */
static int patient_person(const zr_relay_gen_t *gen, const zr_client_t *client, const zr_tenant_t *tenant,
                          const zr_subject_id_t *person, const char **type, char **id)
{
    int is_bsn = person->value && zr_bsn_is_valid(person->value) &&
                 (!person->id_type || !strcmp(person->id_type, ZR_ID_LEGACY_BSN));
    *id = NULL;
    switch (client->authzen.patient_id) {
    case ZR_AUTHZ_PATIENT_ID_BSN:
        /* Checked at load; checked again here, fail closed. */
        if (!tenant || !tenant->bsn_for_authorization || !is_bsn)
            return -1;
        *type = ZR_AUTHZ_TYPE_BSN;
        *id = strdup(person->value);
        break;
    case ZR_AUTHZ_PATIENT_ID_CARE_PROVIDER_PSEUDONYM:
        if (!tenant || !is_bsn)
            return -1;
        *type = ZR_AUTHZ_TYPE_CARE_PROVIDER_PSEUDONYM;
        *id = zr_authz_care_provider_pseudonym(gen->cfg->oidc.pairwise_secret, tenant->id, person->value);
        break;
    case ZR_AUTHZ_PATIENT_ID_PAIRWISE_SUB:
    default:
        *type = ZR_AUTHZ_TYPE_PAIRWISE_SUB;
        *id = zr_oidc_pairwise_sub(gen->oidc, client, person);
        break;
    }
    return *id ? 0 : -1;
}

/* The AuthZEN subject of any login: a professional, or a patient with, in a
 * representation (any RepresentationType, or none), the represented person
 * named like the acting one. NULL when it cannot be described. */
static json_t *authorization_subject(const zr_relay_gen_t *gen, const zr_client_t *client,
                                     const zr_subject_t *subject, const zr_tenant_t *tenant, const char *service_uuid)
{
    zr_authz_patient_ids_t ids = {.service_uuid = service_uuid};
    char *acting = NULL, *legal = NULL;
    json_t *subj = NULL;

    if (subject->kind == ZR_SUBJECT_PROFESSIONAL)
        return zr_authz_subject_professional_from_subject(subject);
    if (subject->kind != ZR_SUBJECT_PATIENT ||
        patient_person(gen, client, tenant, &subject->acting, &ids.acting.type, &acting) != 0)
        goto end;
    if (subject->has_legal && patient_person(gen, client, tenant, &subject->legal, &ids.legal.type, &legal) != 0)
        goto end;
    ids.acting.id = acting;
    ids.legal.id = legal;
    subj = zr_authz_subject_patient(subject, &ids);
end:
    if (acting)
        OPENSSL_cleanse(acting, strlen(acting)); /* may be a BSN */
    if (legal)
        OPENSSL_cleanse(legal, strlen(legal));
    free(acting);
    free(legal);
    return subj;
}

/* Keeps the roles the PDP permitted (per_role), in their order. */
static void keep_permitted_roles(zr_subject_t *subject, const int *permitted)
{
    size_t kept = 0;
    for (size_t i = 0; i < subject->pro.role_count; i++) {
        if (permitted[i])
            subject->pro.roles[kept++] = subject->pro.roles[i];
        else
            free(subject->pro.roles[i]);
    }
    for (size_t i = kept; i < subject->pro.role_count; i++)
        subject->pro.roles[i] = NULL;
    subject->pro.role_count = kept;
}

int zr_relay_authorization_check(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_oidc_authz_t *authz,
                                 zr_subject_t *subject, const zr_tenant_t *tenant, const char *service_uuid,
                                 zr_http_response_t *resp)
{
    const zr_client_t *client = zr_config_find_client(gen->cfg, authz->client_id);
    zr_authz_pdp_t *pdp;
    zr_authz_request_t rq = {0};
    zr_trace_t trace;
    json_t *subj = NULL, *resource = NULL;
    char *reason = NULL, err[512] = "", ref[16];
    int *permitted = NULL;
    zr_authz_decision_t d;
    int rc = 0;
    int64_t pdp_start;

    if (!client || !gen->pdps || !(pdp = gen->pdps[client - gen->cfg->clients]))
        return 0;
    zr_relay_reference(ref);
    zr_trace_begin(authz->traceparent, &trace);
    subj = authorization_subject(gen, client, subject, tenant, service_uuid);
    resource = zr_authz_resource_portal(client, tenant);
    if (subject->kind == ZR_SUBJECT_PROFESSIONAL && subject->pro.role_count) {
        /* Every role permitted unless the PDP is asked per role. */
        if ((permitted = calloc(subject->pro.role_count, sizeof(*permitted))) == NULL) {
            json_decref(subj);
            subj = NULL;
        }
        for (size_t i = 0; permitted && i < subject->pro.role_count; i++)
            permitted[i] = 1;
        rq.roles = (const char *const *)subject->pro.roles;
        rq.role_count = subject->pro.role_count;
    }
#ifdef ZR_TESTING
    if (relay->authz_subject_broken) {
        json_decref(subj);
        subj = NULL;
    }
#else
    (void)relay;
#endif
    /* The relay's own failure, not the PDP's: fail_open (for an unreachable
     * PDP) does not apply, and the PDP is not asked about a login it could
     * not be told about. Refused, with its decision log record. */
    if (!subj || !resource) {
        zr_log_error("authz", "client=%s trace=%s kind=%s representation=%s relay error: cannot describe the "
                              "subject to the PDP; login refused (fail_open does not apply) ref=%s",
                     client->client_id, trace.trace_id,
                     subject->kind == ZR_SUBJECT_PROFESSIONAL ? "professional" : "patient",
                     subject->has_legal ? "yes" : "no", ref);
        zr_authz_record_undescribable(pdp, &trace, client->client_id, "relay: cannot describe the subject");
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "relay_error",
                                            .subject = subject, .client = client->client_id,
                                            .care_provider = tenant ? tenant->id : NULL, .trace = trace.trace_id,
                                            .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, authz, ZR_REFUSAL_POLICY_ERROR, NULL, resp);
        rc = ZR_RELAY_AUTHZ_ERROR;
        goto end;
    }
    rq.trace = &trace;
    rq.subject = subj;
    rq.resource = resource;
    rq.client_id = client->client_id;
    pdp_start = zr_metrics_now_ns();
    d = zr_authz_evaluate_request(pdp, &rq, permitted, &reason, err, sizeof(err));
    zr_metrics_observe_since(ZR_METRICS_PHASE_PDP, pdp_start);
    if (d == ZR_AUTHZ_PERMIT) {
        size_t before = subject->pro.role_count;
        if (permitted)
            keep_permitted_roles(subject, permitted);
        if (subject->pro.role_count != before)
            zr_log_info("authz", "client=%s trace=%s roles permitted=%zu of %zu ref=%s", client->client_id,
                        trace.trace_id, subject->pro.role_count, before, ref);
        goto end;
    }
    if (d == ZR_AUTHZ_DENY) {
        zr_log_info("authz", "client=%s trace=%s denied by the PDP ref=%s", client->client_id, trace.trace_id, ref);
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "denied", .subject = subject,
                                            .client = client->client_id,
                                            .care_provider = tenant ? tenant->id : NULL, .trace = trace.trace_id,
                                            .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, authz, ZR_REFUSAL_POLICY_DENIED, reason, resp);
        rc = ZR_RELAY_AUTHZ_DENIED;
        goto end;
    }
    if (zr_authz_pdp_fail_open(pdp)) {
        zr_log_warn("authz", "client=%s trace=%s PDP error (%s); fail_open: login allowed ref=%s", client->client_id,
                    trace.trace_id, err, ref);
        goto end;
    }
    zr_log_error("authz", "client=%s trace=%s PDP error (%s); login refused (fail closed) ref=%s", client->client_id,
                 trace.trace_id, err, ref);
    zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "pdp_error", .subject = subject,
                                        .client = client->client_id, .care_provider = tenant ? tenant->id : NULL,
                                        .trace = trace.trace_id, .ref = ref});
    zr_oidc_authorize_refuse(gen->oidc, authz, ZR_REFUSAL_POLICY_UNAVAILABLE, NULL, resp);
    rc = ZR_RELAY_AUTHZ_UNAVAILABLE;
end:
    json_decref(subj);
    json_decref(resource);
    free(permitted);
    free(reason);
    return rc;
}
