/* The relay: one login walks through here, forward.
 *   /authorize  -> zr_oidc_authorize_begin -> AuthnRequest (auto-POST to TVS)
 *   /saml/acs   -> artifact -> zr_saml_artifact_resolve (mTLS) ->
 *                  zr_saml_response_validate -> zr_oidc_authorize_finish (code)
 * Everything a login needs between the two steps lives in Redis (ns "login"),
 * so any relay process can finish a login another one began. */
#include "zr/relay.h"
#include "relay_internal.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "zr/crypto.h"
#include "zr/diag.h"
#include "zr/http.h"
#include "zr/audit.h"
#include "zr/log.h"
#include "zr/oidc.h"
#include "zr/saml.h"
#include "zr/store.h"
#include "zr/util.h"
#include "zr/xml.h"

#define LOGIN_NS "login"
#define LOGIN_COOKIE_PREFIX "zr_login_"

/* ---- the pending login, as kept in Redis while the patient is at TVS ---- */

typedef struct {
    zr_oidc_authz_t authz;
    char *tenant_id;
    char *tenant_fingerprint; /* the care provider as configured when the login began */
    char *service_uuid;
    char *authn_request_id;
    char *browser_hash;  /* SHA-256 of the browser-binding cookie value */
    zr_loa_t min_loa;
} pending_login_t;

static void pending_clear(pending_login_t *p)
{
    zr_oidc_authz_clear(&p->authz);
    free(p->tenant_id);
    free(p->tenant_fingerprint);
    free(p->service_uuid);
    free(p->authn_request_id);
    free(p->browser_hash);
    memset(p, 0, sizeof(*p));
}

static char *pending_to_json(const pending_login_t *p)
{
    char *authz_json = zr_oidc_authz_to_json(&p->authz), *out = NULL;
    json_t *authz = authz_json ? json_loads(authz_json, 0, NULL) : NULL;
    json_t *o = json_object();
    if (authz) {
        json_object_set_new(o, "authz", authz);
        json_object_set_new(o, "tenant", json_string(p->tenant_id));
        if (p->tenant_fingerprint)
            json_object_set_new(o, "tenant_fp", json_string(p->tenant_fingerprint));
        json_object_set_new(o, "service_uuid", json_string(p->service_uuid));
        json_object_set_new(o, "authn_request_id", json_string(p->authn_request_id));
        json_object_set_new(o, "browser", json_string(p->browser_hash));
        json_object_set_new(o, "min_loa", json_integer(p->min_loa));
        out = json_dumps(o, JSON_COMPACT);
    }
    json_decref(o);
    free(authz_json);
    return out;
}

static char *json_str_dup(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v ? strdup(v) : NULL;
}

static int pending_from_json(const char *json, pending_login_t *p)
{
    json_t *o = json_loads(json, 0, NULL);
    char *authz = NULL;
    int rc = -1;
    memset(p, 0, sizeof(*p));
    if (!o)
        goto end;
    authz = json_dumps(json_object_get(o, "authz"), JSON_COMPACT);
    if (!authz || zr_oidc_authz_from_json(authz, &p->authz) != 0)
        goto end;
    p->tenant_id = json_str_dup(o, "tenant");
    p->tenant_fingerprint = json_str_dup(o, "tenant_fp");
    p->service_uuid = json_str_dup(o, "service_uuid");
    p->authn_request_id = json_str_dup(o, "authn_request_id");
    p->browser_hash = json_str_dup(o, "browser");
    p->min_loa = (zr_loa_t)json_integer_value(json_object_get(o, "min_loa"));
    rc = (p->tenant_id && p->service_uuid && p->authn_request_id && p->browser_hash) ? 0 : -1;
end:
    if (rc != 0)
        pending_clear(p);
    free(authz);
    json_decref(o);
    return rc;
}

char *zr_relay_sha256_hex(const char *s)
{
    uint8_t md[32];
    zr_crypto_sha256((const uint8_t *)s, strlen(s), md);
    return zr_hex_encode(md, sizeof(md));
}

int zr_relay_https(const zr_config_t *cfg)
{
    return strncmp(cfg->public_base_url, "https://", 8) == 0;
}

/* The cookie that binds a login to the browser that started it. Its name
 * carries a short hash of the RelayState so parallel logins in one browser
 * (two tabs) do not overwrite each other. On https the name has the __Host-
 * prefix (RFC 6265bis §4.1.3.2): a browser keeps such a cookie only when it
 * is Secure, for Path=/ and without Domain, so no other host under the same
 * domain can plant or shadow it. Setting and reading both use this name. */
void zr_relay_cookie_name(const zr_config_t *cfg, const char *prefix, const char *key,
                          char out[ZR_RELAY_COOKIE_NAME_MAX])
{
    char *h = zr_relay_sha256_hex(key);
    snprintf(out, ZR_RELAY_COOKIE_NAME_MAX, "%s%s%.12s", zr_relay_https(cfg) ? "__Host-" : "", prefix,
             h ? h : "x");
    free(h);
}

int zr_relay_browser_matches(const zr_http_request_t *req, const char *cookie_name, const char *want_hash)
{
    const char *cookie = zr_kv_get(&req->cookies, cookie_name);
    char *hash = cookie ? zr_relay_sha256_hex(cookie) : NULL;
    int ok = hash && want_hash && zr_secure_equal(hash, strlen(hash), want_hash, strlen(want_hash));
    free(hash);
    return ok;
}

/* The first half of spending a pending login: read it without taking it. */
int zr_relay_pending_read(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                          zr_http_response_t *resp, const char *event, const char *label, const char *ns,
                          const char *cookie_prefix, const char *key, const char *ref, char **json, size_t *len)
{
    char mask[16];
    zr_store_status_t st = zr_store_get(relay->store, ns, key, json, len);

    if (st == ZR_STORE_NOT_FOUND) {
        zr_log_warn(event, "no pending %s for %s=%s (expired or used) ref=%s", ns, label, zr_log_mask(key, mask),
                    ref);
        /* Still refused; the trail only says why, on the page. */
        zr_relay_page_gone(relay, cfg, req, resp, ns, cookie_prefix, key, ref);
        return -1;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error(event, "store %s ref=%s", zr_store_status_name(st), ref);
        zr_page_error(resp, 503, req->lang, "store_unavailable", ref);
        return -1;
    }
    return 0;
}

/* The second half: only the browser that began the login may spend it.
 * Checked before anything is taken: the key (a RelayState, Dezi's state)
 * travels in URLs, and whoever saw one must not be able to end that
 * person's login by presenting it. Then GETDEL, which is atomic: of two
 * requests from that browser exactly one goes on. The value taken is the
 * one the caller read: it is written once, under a fresh random key. */
int zr_relay_pending_spend(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                           zr_http_response_t *resp, const char *event, const char *label, const char *ns,
                           const char *cookie_prefix, const char *key, const char *browser_hash, const char *ref,
                           const char *taken_code, const char *client_id, const char *care_provider)
{
    char cookie_name[ZR_RELAY_COOKIE_NAME_MAX], mask[16], *taken = NULL;
    size_t taken_len = 0;
    zr_store_status_t st;
    int rc = -1;

    zr_relay_cookie_name(cfg, cookie_prefix, key, cookie_name);
    if (!zr_relay_browser_matches(req, cookie_name, browser_hash)) {
        zr_log_warn(event, "%s=%s came back in another browser (binding cookie %s) ref=%s", label,
                    zr_log_mask(key, mask), zr_kv_get(&req->cookies, cookie_name) ? "differs" : "missing", ref);
        zr_relay_page_error(resp, 400, req->lang, "browser_mismatch", ref, cfg, client_id, care_provider);
        goto end;
    }
    st = zr_store_take(relay->store, ns, key, &taken, &taken_len);
    if (st == ZR_STORE_NOT_FOUND) {
        zr_log_warn(event, "%s=%s already being finished by another request ref=%s", label, zr_log_mask(key, mask),
                    ref);
        zr_relay_page_error(resp, 400, req->lang, taken_code, ref, cfg, client_id, care_provider);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error(event, "store %s ref=%s", zr_store_status_name(st), ref);
        zr_relay_page_error(resp, 503, req->lang, "store_unavailable", ref, cfg, client_id, care_provider);
        goto end;
    }
    /* Not a secret any more: it tells a reload in this browser from the
     * same request sent from elsewhere (zr_relay_page_gone). */
    zr_http_set_cookie(resp, cookie_name, zr_relay_spent_cookie_value(), zr_relay_trail_ttl(cfg),
                       zr_relay_https(cfg), 0);
    rc = 0;
end:
    if (taken)
        OPENSSL_cleanse(taken, taken_len);
    free(taken);
    return rc;
}

/* A support reference for a page or a description: random, short, logged
 * next to the reason so an operator can find the line a user quotes. */
void zr_relay_reference(char out[16])
{
    char *t = zr_random_token(9);
    snprintf(out, 16, "%s", t ? t : "-");
    free(t);
}

const zr_http_request_t *zr_relay_login_request(const zr_http_request_t *req, zr_lang_t lang,
                                                zr_http_request_t *copy)
{
    *copy = *req;
    copy->lang = lang;
    return copy;
}

/* ---- /authorize ---- */

/* The login's trace (W3C Trace Context): the portal's traceparent when it
 * sent a valid one (the HTTP layer drops any other), else one the relay
 * starts here. It is kept with the pending login, so the chooser, Dezi, the
 * ACS, the PDP and the decision log all continue this one trace. 0 on
 * success. */
static int login_trace_start(zr_oidc_authz_t *authz)
{
    zr_trace_t trace;
    char tp[64];

    if (authz->traceparent)
        return 0;
    zr_trace_begin(NULL, &trace);
    zr_trace_format(&trace, tp, sizeof(tp));
    authz->traceparent = strdup(tp);
    return authz->traceparent ? 0 : -1;
}

/* A client another relay process registered (RFC 7591) is in the shared
 * oidc.registration_dir before this process reloads: a request naming a
 * client_id this process does not know, whose file is there, or one whose
 * file was replaced since (an update, RFC 7592), reloads here first. A
 * reload that was refused (a broken file: its lines are in the log) is not
 * retried for ZR_RELAY_PICKUP_RETRY_S, so that requests cannot make the
 * process reload over and over. */
#define ZR_RELAY_PICKUP_RETRY_S 5
#define ZR_RELAY_BASE64URL "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
static void registration_pickup(zr_relay_t *relay, const zr_http_request_t *req)
{
    const char *id = zr_kv_get(&req->query, "client_id");
    zr_relay_gen_t *gen;
    char *path = NULL;
    long long now = (long long)time(NULL), refused;
    const zr_client_t *c;
    char stamp[64];
    int changed;

    if (!id)
        id = zr_kv_get(&req->form, "client_id");
    /* Only names the registration endpoint gives out: dcr- and base64url. */
    if (!id || strncmp(id, "dcr-", 4) != 0 || strlen(id) > 64 || strspn(id + 4, ZR_RELAY_BASE64URL) != strlen(id + 4))
        return;
    gen = zr_relay_gen_get(relay);
    c = zr_config_find_client(gen->cfg, id);
    /* Updated by another process (RFC 7592): its file was replaced. */
    changed = c && c->registration_file && zr_config_registration_stamp(c->registration_file, stamp) == 0 &&
              strcmp(stamp, c->registration_stamp) != 0;
    if ((!c || changed) && gen->cfg->oidc.registration_dir &&
        asprintf(&path, "%s/%s.yaml", gen->cfg->oidc.registration_dir, id) < 0)
        path = NULL;
    zr_relay_gen_put(relay, gen);
    refused = __atomic_load_n(&relay->pickup_refused_at, __ATOMIC_ACQUIRE);
    if (path && access(path, F_OK) == 0 && (refused == 0 || now - refused >= ZR_RELAY_PICKUP_RETRY_S)) {
        zr_log_info("reload", "client %s was %s by another relay process: reloading", id,
                    changed ? "updated" : "registered");
        if (zr_relay_reload(relay) != 0)
            __atomic_store_n(&relay->pickup_refused_at, now, __ATOMIC_RELEASE);
    }
    free(path);
}

static int handle_authorize(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen;
    zr_oidc_authz_t authz = {0};
    zr_http_request_t login_req;
    char ref[16];
    int64_t start = zr_metrics_now_ns();

    registration_pickup(relay, req);
    gen = zr_relay_gen_get(relay);

    if (zr_oidc_authorize_begin(gen->oidc, req, resp, &authz) != ZR_OIDC_AUTHZ_OK)
        goto end; /* resp holds the page or the error redirect */
    req = zr_relay_login_request(req, authz.lang, &login_req);
    if (login_trace_start(&authz) != 0) {
        zr_relay_reference(ref);
        zr_log_error("authorize", "out of memory ref=%s", ref);
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref,
                            gen->cfg, authz.client_id, authz.care_provider);
        goto end;
    }
    /* Professionals go to Dezi; a client that serves both lets the person
     * choose first (src/relay/professional.c). */
    if (authz.login_method != ZR_LOGIN_PATIENT)
        zr_relay_begin_method(relay, gen, req, resp, &authz);
    else
        zr_relay_begin_patient(relay, gen, req, resp, &authz, 0);
end:
    zr_metrics_observe_since(ZR_METRICS_PHASE_AUTHORIZE, start);
    zr_oidc_authz_clear(&authz);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* A login that cannot start: after the chooser like any refusal after the
 * person acted, straight from /authorize at once (issue 18 §2). */
static void start_refused(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal, int chosen,
                          zr_http_response_t *resp)
{
    if (chosen)
        zr_oidc_authorize_refuse(op, authz, refusal, NULL, resp);
    else
        zr_oidc_authorize_refuse_at_once(op, authz, refusal, resp);
}

void zr_relay_begin_patient(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                            zr_http_response_t *resp, zr_oidc_authz_t *authz_in, int chosen)
{
    const zr_config_t *cfg = gen->cfg;
    zr_oidc_authz_t authz = *authz_in;
    pending_login_t pending = {0};
    zr_saml_authn_request_t authn = {0};
    zr_saml_idp_t *idp = NULL;
    zr_kvlist_t fields = {0};
    char *relay_state = NULL, *browser_secret = NULL, *pending_json = NULL, *trail_json = NULL;
    char err[512] = "", ref[16], cookie_name[ZR_RELAY_COOKIE_NAME_MAX], mask[16];
    const zr_client_t *client;
    const zr_tenant_t *tenant;
    const zr_tenant_service_t *service;
    zr_store_status_t st;
    zr_trace_t trace;

    memset(authz_in, 0, sizeof(*authz_in)); /* ownership moves here */
    zr_relay_reference(ref);
    zr_trace_begin(authz.traceparent, &trace);

    /* The care provider was chosen (and checked against the client) by
     * zr_oidc_authorize_begin; checked again under the configuration in use,
     * for a login that waited on the chooser across a reload. */
    client = zr_config_find_client(cfg, authz.client_id);
    if (!client || !authz.care_provider ||
        !((client->care_provider && !strcmp(client->care_provider, authz.care_provider)) ||
          zr_client_allows_tenant(client, authz.care_provider))) {
        zr_log_warn("authorize", "client=%s care provider no longer one of this client's trace=%s ref=%s",
                    authz.client_id, trace.trace_id, ref);
        start_refused(gen->oidc, &authz, ZR_REFUSAL_CARE_PROVIDER_NOT_ALLOWED, chosen, resp);
        goto end;
    }
    tenant = zr_config_find_tenant(cfg, authz.care_provider);
    /* Checked there too; here so that no pending login is ever written for
     * a quarantined care provider, whatever path led here. */
    if (tenant && tenant->quarantined) {
        zr_log_warn("authorize", "client=%s care provider %s is quarantined: login refused trace=%s ref=%s",
                    authz.client_id, tenant->id, trace.trace_id, ref);
        start_refused(gen->oidc, &authz, ZR_REFUSAL_CARE_PROVIDER_QUARANTINED, chosen, resp);
        goto end;
    }
    service = tenant ? zr_tenant_service_for_loa(tenant, authz.min_loa) : NULL;
    if (!service) {
        zr_log_warn("authorize", "client=%s no service at care provider for loa=%s trace=%s ref=%s",
                    authz.client_id, zr_loa_name(authz.min_loa), trace.trace_id, ref);
        start_refused(gen->oidc, &authz, ZR_REFUSAL_LOA_NOT_OFFERED, chosen, resp);
        goto end;
    }
    idp = zr_relay_idp_get(relay, err, sizeof(err));
    if (!idp) {
        zr_log_error("authorize", "TVS metadata unusable: %s ref=%s", err, ref);
        start_refused(gen->oidc, &authz, ZR_REFUSAL_TVS_METADATA_UNUSABLE, chosen, resp);
        goto end;
    }
    if (zr_saml_authn_request_build(cfg, tenant, service, idp, authz.force_authn, &authn, err, sizeof(err)) != 0) {
        zr_log_error("authorize", "cannot build AuthnRequest: %s ref=%s", err, ref);
        zr_relay_page_error(resp, 500, req->lang, "internal_error", ref, cfg, authz.client_id, authz.care_provider);
        goto end;
    }

    /* RelayState: 32 random bytes, 43 characters (ST-SAML: at most 80). */
    relay_state = zr_random_token(32);
    browser_secret = zr_random_token(32);
    if (!relay_state || !browser_secret)
        goto fail;
    pending.authz = authz;
    memset(&authz, 0, sizeof(authz)); /* ownership moves into pending */
    pending.tenant_id = strdup(tenant->id);
    pending.tenant_fingerprint = zr_strdup(tenant->fingerprint);
    pending.service_uuid = strdup(service->service_uuid);
    pending.authn_request_id = strdup(authn.id);
    pending.browser_hash = zr_relay_sha256_hex(browser_secret);
    pending.min_loa = pending.authz.min_loa;
    pending_json = pending_to_json(&pending);
    if (!pending_json)
        goto fail;
    /* The pending login and its trail (way.c) in one round trip. */
    trail_json = zr_relay_trail_json(pending.authz.client_id, tenant->id, pending.authz.lang, ZR_RELAY_TRAIL_BEGUN);
    if (!trail_json)
        goto fail;
    {
        zr_store_write_t ops[2] = {
            {LOGIN_NS, relay_state, pending_json, strlen(pending_json), cfg->oidc.session_lifetime_s,
             ZR_STORE_INVALID},
            {LOGIN_NS "-trail", relay_state, trail_json, strlen(trail_json), zr_relay_trail_ttl(cfg),
             ZR_STORE_INVALID}};
        st = zr_store_write_all(relay->store, ops, 2);
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("authorize", "store %s: login not started ref=%s", zr_store_status_name(st), ref);
        zr_relay_page_error(resp, 503, req->lang, "store_unavailable", ref, cfg, pending.authz.client_id,
                            pending.tenant_id);
        goto end;
    }
    zr_relay_cookie_name(cfg, LOGIN_COOKIE_PREFIX, relay_state, cookie_name);
    zr_http_set_cookie(resp, cookie_name, browser_secret, cfg->oidc.session_lifetime_s, zr_relay_https(cfg), 0);
    zr_kv_add(&fields, "SAMLRequest", authn.saml_request_b64);
    zr_kv_add(&fields, "RelayState", relay_state);
    {
        zr_page_way_t way;
        zr_relay_page_way(cfg, pending.authz.client_id, tenant->id, &way);
        zr_page_autopost_way(resp, req->lang, idp->sso_url, &fields, &way);
    }
    zr_metrics_login_started(ZR_METRICS_PATIENT, tenant->id);
    zr_diag_authorize(relay->store, cfg, req, &pending.authz, relay_state, authn.xml);
    zr_log_info("authorize", "client=%s tenant=%s loa=%s request=%s login=%s trace=%s", pending.authz.client_id,
                tenant->id, zr_loa_name(pending.min_loa), authn.id, zr_log_mask(relay_state, mask), trace.trace_id);
    goto end;
fail:
    zr_log_error("authorize", "out of memory or randomness ref=%s", ref);
    zr_relay_page_error(resp, 500, req->lang, "internal_error", ref, cfg,
                        pending.authz.client_id ? pending.authz.client_id : authz.client_id,
                        tenant ? tenant->id : NULL);
end:
    zr_kv_free(&fields);
    if (pending_json)
        OPENSSL_cleanse(pending_json, strlen(pending_json));
    free(pending_json);
    free(trail_json);
    free(relay_state);
    free(browser_secret);
    pending_clear(&pending);
    zr_oidc_authz_clear(&authz);
    zr_saml_authn_request_free(&authn);
    zr_relay_idp_put(relay, idp);
}

/* ---- /saml/acs: the HTTP-Artifact binding (GET; POST accepted too) ---- */

/* Maps a failed validation to what the portal is told (issue 18 §2: its
 * reason, error and texts in src/oidc/authorize.c) */
static zr_oidc_refusal_t status_to_refusal(zr_saml_status_t st)
{
    switch (st) {
    case ZR_SAML_CANCELLED:
        return ZR_REFUSAL_SAML_CANCELLED;
    case ZR_SAML_AUTHN_FAILED:
        return ZR_REFUSAL_SAML_AUTHN_FAILED;
    case ZR_SAML_NO_AUTHN_CONTEXT:
    case ZR_SAML_LOA_TOO_LOW:
        return ZR_REFUSAL_SAML_LOA_TOO_LOW;
    case ZR_SAML_UNAVAILABLE:
        return ZR_REFUSAL_TVS_UNREACHABLE;
    default:
        return ZR_REFUSAL_TVS_ANSWER_REFUSED;
    }
}

/* The metrics' result of a TVS answer that was not a login. */
static zr_metrics_result_t acs_result(zr_saml_status_t st)
{
    switch (st) {
    case ZR_SAML_CANCELLED:
        return ZR_METRICS_CANCELLED;
    case ZR_SAML_AUTHN_FAILED:
    case ZR_SAML_NO_AUTHN_CONTEXT:
    case ZR_SAML_LOA_TOO_LOW:
        return ZR_METRICS_DENIED;
    case ZR_SAML_UNAVAILABLE:
        return ZR_METRICS_UNAVAILABLE;
    default:
        return ZR_METRICS_REFUSED;
    }
}

static int handle_acs(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay), *login_gen = NULL;
    const zr_config_t *cfg = gen->cfg;
    const zr_tenant_t *tenant = NULL;
    const zr_kvlist_t *params = strcmp(req->method, "POST") == 0 ? &req->form : &req->query;
    const char *samlart = zr_kv_get(params, "SAMLart");
    const char *relay_state = zr_kv_get(params, "RelayState");
    pending_login_t pending = {0};
    zr_subject_t subject = {0};
    zr_saml_session_t saml_session = {0};
    zr_relay_logout_session_t logout_session;
    zr_saml_idp_t *idp = NULL;
    zr_http_request_t login_req;
    char *pending_json = NULL, *resolve_id = NULL, *soap = NULL, *sub = NULL;
    size_t pending_len = 0, soap_len = 0;
    char err[512] = "", ref[16], mask[16], subject_mask[16], sid_mask[16];
    zr_saml_status_t status;
    zr_trace_t trace;
    int endpoint_index = 0, issued, check;
    int64_t phase_start;
    /* How the login ended, counted once its pending login was spent (before
     * that nothing was finished: an expired, replayed or foreign request). */
    int finished = 0;
    zr_metrics_result_t result = ZR_METRICS_ERROR;

    zr_relay_reference(ref);
    if (!samlart || !relay_state || zr_kv_count(params, "SAMLart") != 1 || zr_kv_count(params, "RelayState") != 1 ||
        strlen(relay_state) > 80) {
        zr_log_warn("acs", "missing or repeated SAMLart/RelayState ref=%s", ref);
        zr_page_error(resp, 400, req->lang, "bad_request", ref);
        goto end;
    }
    zr_diag_acs_begin(relay->store, cfg, relay_state, samlart);
    /* The pending login, read but not yet spent. */
    if (zr_relay_pending_read(relay, cfg, req, resp, "acs", "login", LOGIN_NS, LOGIN_COOKIE_PREFIX, relay_state,
                              ref, &pending_json, &pending_len) != 0)
        goto end;
    if (pending_from_json(pending_json, &pending) != 0) {
        zr_log_error("acs", "pending login unreadable ref=%s", ref);
        zr_page_error(resp, 500, req->lang, "internal_error", ref);
        goto end;
    }
    /* The login's trace (W3C traceparent, kept with the login since
     * /authorize) on every line below, so each can be found by it. */
    zr_trace_begin(pending.authz.traceparent, &trace);
    /* Spent (single use) only by the browser that began it, and only once. */
    if (zr_relay_pending_spend(relay, cfg, req, resp, "acs", "login", LOGIN_NS, LOGIN_COOKIE_PREFIX, relay_state,
                               pending.browser_hash, ref, "login_already_done", pending.authz.client_id,
                               pending.tenant_id) != 0)
        goto end;
    /* The browser that began the login: its pages in the login's language. */
    req = zr_relay_login_request(req, pending.authz.lang, &login_req);
    finished = 1;
    /* The portal under the configuration in use: one removed by a reload
     * while its person was at TVS gets no code (it could never be redeemed
     * at /token), and no BSN is fetched for it. */
    if (!zr_config_find_client(cfg, pending.authz.client_id)) {
        zr_log_warn("acs", "login=%s client=%s no longer configured; the artifact is not resolved trace=%s ref=%s",
                    zr_log_mask(relay_state, mask), pending.authz.client_id, trace.trace_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, ZR_REFUSAL_CLIENT_REMOVED, NULL, resp);
        goto end;
    }

    /* The care provider as it was when the login began: the current
     * configuration, or a retired one kept since a reload. Failing that (it
     * changed and this process never knew the old one), its current
     * configuration: the response checks below still decide. */
    /* A reload quarantined the care provider while its person was at TVS:
     * its keys are no longer trusted, so the artifact is not resolved (no
     * BSN fetched). The person gets a page; the portal's next attempt gets
     * temporarily_unavailable at /authorize. */
    if (zr_oidc_tenant_quarantined(cfg, pending.tenant_id)) {
        zr_log_warn("acs", "login=%s client=%s care provider %s was quarantined during the login; the artifact is "
                           "not resolved trace=%s ref=%s",
                    zr_log_mask(relay_state, mask), pending.authz.client_id, pending.tenant_id, trace.trace_id, ref);
        zr_relay_page_error(resp, 503, req->lang, "care_provider_unavailable", ref, cfg, pending.authz.client_id,
                            pending.tenant_id);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    login_gen = zr_relay_gen_find_tenant(relay, pending.tenant_id, pending.tenant_fingerprint, &tenant);
    if (!login_gen && (login_gen = zr_relay_gen_find_tenant(relay, pending.tenant_id, NULL, &tenant)) != NULL)
        zr_log_warn("acs", "login=%s care provider %s changed during the login; continuing with its current "
                           "configuration trace=%s ref=%s",
                    zr_log_mask(relay_state, mask), pending.tenant_id, trace.trace_id, ref);
    idp = zr_relay_idp_get(relay, err, sizeof(err));
    if (!tenant || !idp) {
        zr_log_error("acs", "login=%s cannot continue: %s trace=%s ref=%s", zr_log_mask(relay_state, mask),
                     tenant ? err : "care provider no longer configured", trace.trace_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, ZR_REFUSAL_TVS_UNUSABLE, NULL, resp);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    if (zr_saml_artifact_parse(samlart, idp, &endpoint_index, err, sizeof(err)) != 0) {
        zr_log_warn("acs", "login=%s artifact refused: %s trace=%s ref=%s", zr_log_mask(relay_state, mask), err,
                    trace.trace_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, ZR_REFUSAL_TVS_ANSWER_REFUSED, NULL, resp);
        result = ZR_METRICS_REFUSED;
        goto end;
    }
    phase_start = zr_metrics_now_ns();
    check = zr_saml_artifact_resolve(login_gen->backchannel, login_gen->cfg, idp, tenant, samlart, &resolve_id, &soap,
                                     &soap_len, err, sizeof(err));
    zr_metrics_observe_since(ZR_METRICS_PHASE_TVS_RESOLVE, phase_start);
    if (check != 0) {
        zr_log_error("acs", "login=%s artifact resolution failed: %s trace=%s ref=%s",
                     zr_log_mask(relay_state, mask), err, trace.trace_id, ref);
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, ZR_REFUSAL_TVS_UNREACHABLE, NULL, resp);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    zr_saml_expect_t expect = {
        .artifact = samlart,
        .resolve_id = resolve_id,
        .authn_request_id = pending.authn_request_id,
        .service_uuid = pending.service_uuid,
        .min_loa = pending.min_loa,
        .tenant = tenant,
    };
    phase_start = zr_metrics_now_ns();
    status = zr_saml_response_validate_session(login_gen->cfg, idp, relay->store, soap, soap_len, &expect, &subject,
                                               &saml_session, err, sizeof(err));
    zr_metrics_observe_since(ZR_METRICS_PHASE_RESPONSE_VALIDATE, phase_start);
    zr_diag_acs_result(relay->store, cfg, relay_state, login_gen->backchannel, soap, soap_len, status, err, &subject);
    if (status != ZR_SAML_OK) {
        zr_log(status == ZR_SAML_CANCELLED ? ZR_LOG_INFO : ZR_LOG_WARN, "acs",
               "login=%s client=%s tenant=%s trace=%s result=%s: %s ref=%s", zr_log_mask(relay_state, mask),
               pending.authz.client_id, tenant->id, trace.trace_id, zr_saml_status_name(status), err, ref);
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = zr_saml_status_name(status),
                                            .kind = "patient", .client = pending.authz.client_id,
                                            .care_provider = tenant->id, .trace = trace.trace_id,
                                            .login = mask, .ref = ref});
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, status_to_refusal(status), NULL, resp);
        result = acs_result(status);
        goto end;
    }
    if ((check = zr_relay_authorization_check(relay, gen, &pending.authz, &subject, tenant, pending.service_uuid,
                                              resp)) != 0) {
        result = zr_relay_authorization_result(check);
        goto end; /* denied: resp holds the answer to the portal */
    }
    /* The logout session (logout.c), stored with the code: its sid goes
     * into the ID token. */
    pending.authz.sid = zr_relay_logout_session_prepare(gen, pending.authz.client_id, &subject, tenant,
                                                        &saml_session, &logout_session);
    /* The audit record before the code: with audit_log.on_failure: refuse,
     * a login the care provider's NEN 7513 record would not show does not
     * happen (fail closed). */
    zr_log_mask(relay_state, mask);
    sub = zr_oidc_subject_sub(gen->oidc, zr_config_find_client(cfg, pending.authz.client_id), &subject);
    if (zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &subject, .sub = sub,
                                            .client = pending.authz.client_id, .care_provider = tenant->id,
                                            .trace = trace.trace_id, .login = mask,
                                            .session = pending.authz.sid ? zr_log_mask(pending.authz.sid, sid_mask)
                                                                         : NULL}) != 0) {
        zr_log_error("acs", "login=%s client=%s tenant=%s trace=%s audit record not written: login refused ref=%s",
                     mask, pending.authz.client_id, tenant->id, trace.trace_id, ref);
        zr_relay_logout_session_done(&logout_session, pending.authz.client_id);
        zr_oidc_authorize_refuse(gen->oidc, &pending.authz, ZR_REFUSAL_AUDIT_UNAVAILABLE, NULL, resp);
        result = ZR_METRICS_UNAVAILABLE;
        goto end;
    }
    issued = zr_oidc_authorize_issue(gen->oidc, &pending.authz, &subject, &logout_session.write,
                                     logout_session.count, resp);
    zr_relay_logout_session_done(&logout_session, pending.authz.client_id);
    if (issued) {
        zr_log_info("acs", "login=%s client=%s tenant=%s trace=%s loa=%s representation=%s subject=%s result=ok",
                    mask, pending.authz.client_id, tenant->id, trace.trace_id, zr_loa_name(subject.loa),
                    subject.has_legal ? "yes" : "no", zr_log_mask(subject.acting.value, subject_mask));
        result = ZR_METRICS_OK;
    } else {
        result = ZR_METRICS_UNAVAILABLE; /* the code could not be stored (Redis) */
        /* the audit record said it would be: say it was not */
        zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "not_issued",
                                            .subject = &subject, .client = pending.authz.client_id,
                                            .care_provider = tenant->id, .trace = trace.trace_id, .login = mask,
                                            .ref = ref});
    }
end:
    if (finished) {
        zr_metrics_login_finished(ZR_METRICS_PATIENT, result, pending.tenant_id);
        /* How it ended, for a page if this answer comes back (way.c). */
        zr_relay_trail_put(relay, cfg, LOGIN_NS, relay_state, pending.authz.client_id, pending.tenant_id,
                           pending.authz.lang, result == ZR_METRICS_OK ? ZR_RELAY_TRAIL_ISSUED : ZR_RELAY_TRAIL_REFUSED,
                           ref);
    }
    zr_diag_acs_end(relay->store, cfg, relay_state, resp);
    free(sub);
    zr_subject_clear(&subject);
    zr_saml_session_clear(&saml_session);
    if (pending_json)
        OPENSSL_cleanse(pending_json, pending_len);
    free(pending_json);
    free(resolve_id);
    if (soap)
        OPENSSL_cleanse(soap, soap_len);
    free(soap);
    pending_clear(&pending);
    zr_relay_idp_put(relay, idp);
    zr_relay_gen_put(relay, login_gen);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* ---- /saml/metadata (/healthz and /readyz: health.c) ---- */

static int handle_metadata(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const zr_config_t *cfg = gen->cfg;
    char err[512] = "", ref[16];
    const zr_tenant_t *tenant = cfg->tenant_count ? &cfg->tenants[0] : NULL;
    const char *id = zr_kv_get(&req->query, "care_provider");
    char *xml = NULL;

    zr_relay_reference(ref);
    /* A cluster connection publishes one EntitiesDescriptor for the LC and all
     * its care providers; a direct one the care provider's own descriptor. */
    if (cfg->cluster.enabled) {
        if (id) {
            zr_page_error(resp, 404, req->lang, "not_found", ref);
            goto end;
        }
        xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    } else {
        if (id)
            tenant = zr_config_find_tenant(cfg, id);
        if (!tenant) {
            zr_page_error(resp, 404, req->lang, "not_found", ref);
            goto end;
        }
        if (tenant->quarantined) {
            zr_log_warn("metadata", "care provider %s is quarantined: no metadata ref=%s", tenant->id, ref);
            zr_page_error(resp, 503, req->lang, "care_provider_unavailable", ref);
            goto end;
        }
        xml = zr_saml_sp_metadata_build(cfg, tenant, err, sizeof(err));
    }
    if (!xml) {
        zr_log_error("metadata", "cannot build SP metadata: %s ref=%s", err, ref);
        zr_page_error(resp, 500, req->lang, "internal_error", ref);
        goto end;
    }
    zr_http_respond(resp, 200, "application/samlmetadata+xml", xml, strlen(xml));
    zr_http_set_header(resp, "Cache-Control", "public, max-age=3600");
end:
    free(xml);
    zr_relay_gen_put(relay, gen);
    return 0;
}

/* The login traces of development and pre-production (src/diag/, issue 5 §4),
 * for the clients of the configuration in use: the startup one loses its
 * clients once a reload replaced it (issue 14 §2). */
static int handle_trace(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    int rc = zr_diag_handle(relay->store, gen->cfg, req, resp);
    zr_relay_gen_put(relay, gen);
    return rc;
}

/* Every handler that logs someone in or gives out a `sub` waits for the
 * pairwise sectors to be compared with the cluster's record (a relay that
 * started while Redis was down): until then the answer is a 503, as for
 * Redis itself. A page for the browser's endpoints, JSON for the portal's. */
static int sectors_gate(zr_relay_t *relay, const zr_http_request_t *req, zr_http_response_t *resp, int json)
{
    char ref[16];
    if (zr_relay_sectors_ready(relay) == ZR_RELAY_SECTORS_OK)
        return 0;
    zr_relay_reference(ref);
    zr_log_warn("sectors", "%s %s: 503, the pairwise sectors are not compared with Redis's record yet ref=%s",
                req->method, req->path, ref);
    if (json)
        zr_http_respond_json(resp, 503, "{\"error\":\"temporarily_unavailable\"}");
    else
        zr_page_error(resp, 503, req->lang, "store_unavailable", ref);
    return -1;
}

#define SECTORS_GATED(name, fn, json)                                                                      \
    static int name(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)                     \
    {                                                                                                      \
        if (sectors_gate(ctx, req, resp, json) != 0)                                                       \
            return 0;                                                                                      \
        return fn(ctx, req, resp);                                                                         \
    }
SECTORS_GATED(gated_authorize, handle_authorize, 0)
SECTORS_GATED(gated_acs, handle_acs, 0)
SECTORS_GATED(gated_choose, zr_relay_handle_choose, 0)
SECTORS_GATED(gated_dezi_callback, zr_relay_handle_dezi_callback, 0)
SECTORS_GATED(gated_logout, zr_relay_handle_logout, 0)
SECTORS_GATED(gated_saml_slo, zr_relay_handle_saml_slo, 0)

/* The routes that wait on TVS's artifact endpoint or on Dezi (and the PDP)
 * while the person's browser waits: they run on the back-channel lane, so a
 * slow upstream never holds the threads that serve everything else. */
static const zr_http_route_t lane_routes[] = {
    {"GET", "/saml/acs", gated_acs},
    {"POST", "/saml/acs", gated_acs},
    {"GET", "/dezi/callback", gated_dezi_callback},
};

static const zr_http_route_t relay_routes[] = {
    {"GET", "/authorize", gated_authorize},
    {"POST", "/authorize", gated_authorize},
    {"GET", "/saml/metadata", handle_metadata},
    {"GET", "/healthz", zr_relay_handle_healthz},    /* liveness: health.c */
    {"GET", "/readyz", zr_relay_handle_readyz},      /* readiness: health.c */
    {"GET", "/logo", zr_relay_handle_logo},          /* the pages' logos: logo.c */
    {"POST", "/login/choose", gated_choose},
    {"GET", "/logout", gated_logout},       /* logout.c (issue 5) */
    {"POST", "/logout", gated_logout},
    {"POST", "/saml/slo", gated_saml_slo},
    {"GET", "/error", zr_relay_handle_error_page}, /* an error page again, in another language: way.c */
    {"GET", "/trace", handle_trace},
    {"GET", "/trace.json", handle_trace},
    {"POST", "/trace/lookup", handle_trace},
};

/* The OIDC endpoints take the zr_oidc_t as ctx; these trampolines pass
 * the current generation's. */
#define OIDC_TRAMPOLINE(name, fn)                                                                          \
    static int name(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)                     \
    {                                                                                                      \
        zr_relay_gen_t *gen = zr_relay_gen_get(ctx);                                                       \
        int rc = fn(gen->oidc, req, resp);                                                                 \
        zr_relay_gen_put(ctx, gen);                                                                        \
        return rc;                                                                                         \
    }
OIDC_TRAMPOLINE(handle_discovery, zr_oidc_handle_discovery)
OIDC_TRAMPOLINE(handle_jwks, zr_oidc_handle_jwks)
OIDC_TRAMPOLINE(handle_introspect, zr_oidc_handle_introspect)
OIDC_TRAMPOLINE(handle_authorize_return, zr_oidc_handle_authorize_return)

/* /token and /userinfo (and /introspect) only ever use the current
 * configuration: a client a reload removed is refused at once, also for
 * the codes and tokens it got before (issue 12 §4). */
static int handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    int64_t start = zr_metrics_now_ns();
    int rc = zr_oidc_handle_token(gen->oidc, req, resp);
    if (strcmp(req->method, "POST") == 0)
        zr_metrics_observe_since(ZR_METRICS_PHASE_TOKEN, start);
    zr_diag_token(relay->store, gen->cfg, req, resp);
    zr_relay_gen_put(relay, gen);
    return rc;
}
OIDC_TRAMPOLINE(handle_userinfo, zr_oidc_handle_userinfo)
static int handle_par(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_gen_t *gen;
    int rc;
    registration_pickup(ctx, req);
    gen = zr_relay_gen_get(ctx);
    rc = zr_oidc_handle_par(gen->oidc, req, resp);
    zr_relay_gen_put(ctx, gen);
    return rc;
}
SECTORS_GATED(gated_token, handle_token, 1)
SECTORS_GATED(gated_userinfo, handle_userinfo, 1)
SECTORS_GATED(gated_introspect, handle_introspect, 1)
SECTORS_GATED(gated_par, handle_par, 1)

/* Dynamic registration (issue 17 §4): the written client file takes
 * effect through this process's own reload, the one SIGHUP runs. */
static int registration_apply(void *ctx, const char *client_id, int present, char **info)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen;
    const zr_client_t *c;
    int rc = -1;
    zr_relay_reload(relay);
    gen = zr_relay_gen_get(relay);
    c = zr_config_find_client(gen->cfg, client_id);
    if (present && c)
        rc = info && !(*info = zr_oidc_registered_info(gen->oidc, c)) ? -1 : 0;
    else if (!present && !c)
        rc = 0;
    zr_relay_gen_put(relay, gen);
    return rc;
}

static int handle_register(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_gen_t *gen;
    zr_oidc_registrar_t r = {registration_apply, ctx};
    int rc;
    registration_pickup(ctx, req);
    gen = zr_relay_gen_get(ctx);
    rc = zr_oidc_handle_register(gen->oidc, req, resp, &r);
    zr_relay_gen_put(ctx, gen);
    return rc;
}
SECTORS_GATED(gated_register, handle_register, 1)

static const zr_http_route_t oidc_routes[] = {
    {"GET", "/.well-known/openid-configuration", handle_discovery},
    {"GET", "/.well-known/oauth-authorization-server", handle_discovery},
    {"OPTIONS", "/.well-known/openid-configuration", handle_discovery},
    {"GET", "/jwks", handle_jwks},
    {"POST", "/authorize/return", handle_authorize_return}, /* issue 18 §2: a refusal page's button */
    {"OPTIONS", "/jwks", handle_jwks},
    {"POST", "/token", gated_token},
    {"POST", "/introspect", gated_introspect},
    {"POST", "/par", gated_par},             /* RFC 9126 (issue 17 §1) */
    {"POST", "/register", gated_register},   /* RFC 7591 (issue 17 §4) */
    {"GET", "/register", gated_register},    /* RFC 7592 */
    {"PUT", "/register", gated_register},
    {"DELETE", "/register", gated_register},
    {"OPTIONS", "/token", handle_token},
    {"GET", "/userinfo", gated_userinfo},
    {"POST", "/userinfo", gated_userinfo},
    {"OPTIONS", "/userinfo", handle_userinfo},
};

/* Open files (issue 13 §3): what the process keeps open besides its
 * connections: the Redis pool, per worker its epoll and wake-up descriptors
 * and one back-channel connection (TVS, Dezi, a PDP), and the listener,
 * logs, metadata, templates and libcurl's resolver with room to spare.
 * An explicit limits.max_connections that does not fit refuses the start;
 * the default is lowered to fit, with a warning (docs/operations.md). */
#define RELAY_FILES_PER_THREAD 4
#define RELAY_FILES_OTHER 64
static int relay_fit_open_files(const zr_config_t *cfg, int *max_connections)
{
    char msg[768];
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 2;
    unsigned lane = cfg->tvs.backchannel_concurrency > 0 ? (unsigned)cfg->tvs.backchannel_concurrency : 32;
    /* each lane thread may hold a kept-alive TLS connection to TVS and one to Dezi */
    /* the metrics listener: its connection cap (metrics.c) and its one thread */
    unsigned metrics = cfg->metrics.enabled ? 16 + RELAY_FILES_PER_THREAD : 0;
    unsigned reserve =
        zr_store_max_connections() + RELAY_FILES_PER_THREAD * threads + 2 * lane + RELAY_FILES_OTHER + metrics;
    int rc = zr_http_fd_limit_fit(max_connections, cfg->limits.max_connections_set, reserve, msg, sizeof(msg));

    if (rc < 0)
        zr_log_error("startup", "refusing to start: %s", msg);
    else if (rc > 0)
        zr_log_warn("startup", "%s", msg);
    else
        zr_log_info("startup", "%s", msg);
    return rc < 0 ? -1 : 0;
}

int zr_relay_serve(zr_config_t *cfg)
{
    zr_relay_t relay;
    zr_http_server_t *server = NULL;
    zr_http_route_t routes[sizeof(relay_routes) / sizeof(relay_routes[0]) + sizeof(oidc_routes) / sizeof(oidc_routes[0])];
    size_t n = 0;
    char err[512] = "";
    int rc = 1, sig, max_connections = cfg->limits.max_connections;

    /* Before any thread starts, so that all inherit it: the signals wait
     * for zr_http_wait_for_signal. */
    zr_http_block_signals();
    if (relay_fit_open_files(cfg, &max_connections) != 0)
        return 1;
    if (zr_relay_metrics_init(cfg) != 0) {
        zr_log_error("startup", "metrics: out of memory");
        return 1;
    }
    if (zr_relay_init(&relay, cfg, err, sizeof(err)) != 0) {
        zr_log_error("startup", "%s", err);
        zr_relay_cleanup(&relay);
        zr_metrics_shutdown();
        return 1;
    }
    /* Before the relay listens, so that no request goes uncounted. */
    if (zr_relay_metrics_start(&relay, err, sizeof(err)) != 0) {
        zr_log_error("startup", "cannot serve metrics on %s: %s", cfg->metrics.listen, err);
        goto end;
    }
    /* NL GOV: private_key_jwt or tls_client_auth; anything else runs as a
     * documented deviation, said once per client at every start */
    for (size_t i = 0; i < cfg->client_count; i++)
        if (cfg->clients[i].auth_method_deviation)
            zr_log_warn("startup", "deviation: client=%s auth_method=%s (NL GOV profile: private_key_jwt or "
                        "tls_client_auth): %s", cfg->clients[i].client_id,
                        cfg->clients[i].auth_method == ZR_CLIENT_AUTH_NONE ? "none" : "client_secret_basic",
                        cfg->clients[i].auth_method_deviation);
    for (size_t i = 0; i < sizeof(relay_routes) / sizeof(relay_routes[0]); i++)
        routes[n++] = relay_routes[i];
    for (size_t i = 0; i < sizeof(oidc_routes) / sizeof(oidc_routes[0]); i++)
        routes[n++] = oidc_routes[i];

    zr_http_server_config_t hc = {
        .listen = cfg->listen,
        .tls_cert_file = cfg->tls_cert_file,
        .tls_key_file = cfg->tls_key_file,
        /* RFC 8705 (oidc.mtls): client certificates asked for, never required */
        .client_ca_file = cfg->oidc.mtls_ca_file,
        .client_cert_optional = 1,
        .client_cert_header = cfg->oidc.mtls_forwarded_cert_header,
        .max_body_bytes = cfg->max_body_bytes,
        .threads = cfg->threads,
        .routes = routes,
        .route_count = n,
        .ctx = &relay,
        .component = "relay",
        .hsts = zr_relay_https(cfg),
        .max_connections = max_connections,
        .max_connections_per_ip = cfg->limits.max_connections_per_ip,
        .trusted_proxies = cfg->limits.trusted_proxies,
        .trusted_proxy_count = cfg->limits.trusted_proxy_count,
        .header_timeout_s = cfg->limits.header_timeout_s,
        .body_timeout_s = cfg->limits.body_timeout_s,
        .idle_timeout_s = cfg->limits.idle_timeout_s,
        .max_uri_bytes = cfg->limits.max_uri_bytes,
        .lane_routes = lane_routes,
        .lane_route_count = sizeof(lane_routes) / sizeof(lane_routes[0]),
        .lane_threads = cfg->tvs.backchannel_concurrency,
        .lane_queue = cfg->tvs.backchannel_queue > 0 ? cfg->tvs.backchannel_queue : -1,
        .count_refusals = 1,
    };
    server = zr_http_server_start(&hc, err, sizeof(err));
    if (!server) {
        zr_log_error("startup", "cannot listen on %s: %s", cfg->listen, err);
        goto end;
    }
    __atomic_store_n(&relay.server, server, __ATOMIC_RELEASE);
    zr_log_info("startup", "relay listening on %s as %s (environment %s, %zu care providers, %zu quarantined, %zu "
                           "clients)",
                cfg->listen, cfg->public_base_url, zr_environment_name(cfg->environment), cfg->tenant_count,
                cfg->quarantined_count, cfg->client_count);
    zr_config_log_quarantined(cfg, "startup");
    /* SIGHUP: reload the care providers and clients; a bad set changes nothing. */
    while ((sig = zr_http_wait_for_signal()) == SIGHUP)
        zr_relay_reload(&relay);
    zr_log_info("shutdown", "signal %d, stopping", sig);
    /* Requests in flight finish (a /token answer is never cut off after
     * its code was taken), bounded by limits.drain_timeout_s. */
    zr_http_server_drain(server, cfg->limits.drain_timeout_s);
    /* Stopped by zr_relay_sectors_ready: as a refused start, not a clean stop. */
    pthread_mutex_lock(&relay.sector_lock);
    rc = relay.sectors == ZR_RELAY_SECTORS_REFUSED;
    pthread_mutex_unlock(&relay.sector_lock);
end:
    /* The scrapes first: they read the server's load. */
    zr_relay_metrics_stop(&relay);
    zr_http_server_stop(server);
    __atomic_store_n(&relay.server, NULL, __ATOMIC_RELEASE);
    zr_relay_cleanup(&relay);
    zr_metrics_shutdown();
    return rc;
}
