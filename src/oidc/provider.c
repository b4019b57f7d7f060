/* The OpenID Provider as a whole: set-up, discovery, pairwise subjects, CORS
 * and the small JSON helpers every endpoint uses. */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *zr_oidc_alg_name(zr_sigalg_t alg)
{
    switch (alg) {
    case ZR_SIGALG_RS256: return "RS256";
    case ZR_SIGALG_ES256: return "ES256";
    case ZR_SIGALG_PS256: return "PS256";
    }
    return NULL;
}

const zr_client_t *zr_oidc_find_client(const zr_oidc_t *op, const char *client_id)
{
    return op ? zr_config_find_client(op->cfg, client_id) : NULL;
}

void zr_oidc_wipe_free(char *s)
{
    if (s) {
        OPENSSL_cleanse(s, strlen(s));
        free(s);
    }
}

void zr_oidc_reference(char out[16])
{
    char *t = zr_random_token(9);
    snprintf(out, 16, "%s", t ? t : "-");
    free(t);
}

/* ---- JSON responses ---- */

/* Checked setters: a value jansson cannot hold (a string that is not UTF-8,
 * memory) is an error for the caller, never a silently missing member. */
int zr_oidc_json_set(json_t *o, const char *key, json_t *value)
{
    /* jansson: -1 for a NULL value, and the value is released on failure */
    return json_object_set_new(o, key, value) == 0 ? 0 : -1;
}

int zr_oidc_json_set_str(json_t *o, const char *key, const char *value)
{
    return value ? zr_oidc_json_set(o, key, json_string(value)) : -1;
}

int zr_oidc_json_set_opt(json_t *o, const char *key, const char *value)
{
    return value ? zr_oidc_json_set_str(o, key, value) : 0;
}

static int set_nostore(zr_http_response_t *resp)
{
    /* RFC 6749 §5.1: token responses must not be cached. */
    if (zr_http_set_header(resp, "Cache-Control", "no-store") != 0 ||
        zr_http_set_header(resp, "Pragma", "no-cache") != 0)
        return -1;
    return 0;
}

int zr_oidc_json_nostore(zr_http_response_t *resp, json_t *o)
{
    int rc = -1;
    char *body = json_dumps(o, JSON_COMPACT);
    if (!body)
        goto end;
    if (zr_http_respond_json(resp, 200, body) != 0 || set_nostore(resp) != 0)
        goto end;
    rc = 0;
end:
    zr_oidc_wipe_free(body);
    return rc;
}

int zr_oidc_json_error(zr_http_response_t *resp, int status, const char *error, const char *description)
{
    int rc = -1;
    json_t *o = json_object();
    char *body = NULL;
    if (zr_oidc_json_set_str(o, "error", error) != 0 || zr_oidc_json_set_opt(o, "error_description", description) != 0)
        goto end;
    body = json_dumps(o, JSON_COMPACT);
    if (!body || zr_http_respond_json(resp, status, body) != 0 || set_nostore(resp) != 0)
        goto end;
    rc = 0;
end:
    free(body);
    json_decref(o);
    return rc;
}

/* ---- CORS ---- */

static int client_allows_origin(const zr_client_t *c, const char *origin)
{
    for (size_t i = 0; i < c->allowed_origin_count; i++)
        if (c->allowed_origins[i] && strcmp(c->allowed_origins[i], origin) == 0)
            return 1;
    return 0;
}

void zr_oidc_cors(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                  const zr_client_t *client)
{
    const char *origin = zr_kv_get(&req->headers, "origin");
    int allowed = 0;

    zr_http_set_header(resp, "Vary", "Origin");
    if (!origin || !*origin)
        return;
    if (client) {
        allowed = client_allows_origin(client, origin);
    } else {
        for (size_t i = 0; i < op->cfg->client_count && !allowed; i++)
            allowed = client_allows_origin(&op->cfg->clients[i], origin);
    }
    /* Never "*" (NL GOV §Provider profile): only registered origins. */
    if (allowed)
        zr_http_set_header(resp, "Access-Control-Allow-Origin", origin);
}

int zr_oidc_cors_preflight(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                           const char *methods)
{
    if (zr_http_respond(resp, 204, NULL, "", 0) != 0)
        return -1;
    zr_oidc_cors(op, req, resp, NULL);
    if (zr_kv_get(&resp->headers, "Access-Control-Allow-Origin")) {
        zr_http_set_header(resp, "Access-Control-Allow-Methods", methods);
        zr_http_set_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
        zr_http_set_header(resp, "Access-Control-Max-Age", "600");
    }
    return 0;
}

/* ---- pairwise subject ---- */

/* One field of the pairwise input: its length (4 bytes, big endian), then
 * its bytes, so that no two lists of fields give the same input. */
static int pairwise_field(zr_buf_t *b, const char *s)
{
    size_t n = strlen(s);
    unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
                            (unsigned char)n};
    if (n > 0xffffffffu)
        return -1;
    return zr_buf_append(b, len, sizeof(len)) == 0 && zr_buf_append(b, s, n) == 0 ? 0 : -1;
}

/* OIDC Core §8.1. The label keeps these inputs apart from the other keys
 * derived from the same secret (the decision log's, src/config/dezi.c). The
 * legacy format (a legacy_sector_host, docs/operations.md) joins with '|':
 * unambiguous only because the host (checked at load) and our id types hold
 * no '|', which is why new sectors, free strings, never use it. */
char *zr_oidc_pairwise_sub(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_id_t *id)
{
    zr_buf_t b;
    const char *sector, *id_type;
    char *sub = NULL;
    uint8_t mac[32];
    int legacy = 0, rc;

    zr_buf_init(&b);
    if (!op || !client || !id || !id->value || !(sector = zr_client_sector(client, &legacy)))
        goto end;
    id_type = id->id_type ? id->id_type : "";
    if (legacy) {
        if (strchr(sector, '|') || strchr(id_type, '|'))
            goto end;
        rc = zr_buf_printf(&b, "%s|%s|%s", sector, id_type, id->value);
    } else {
        rc = pairwise_field(&b, ZR_OIDC_PAIRWISE_LABEL) | pairwise_field(&b, sector) | pairwise_field(&b, id_type) |
             pairwise_field(&b, id->value);
    }
    if (rc != 0)
        goto end;
    if (zr_crypto_hmac_sha256(op->cfg->oidc.pairwise_secret, sizeof(op->cfg->oidc.pairwise_secret),
                              (const uint8_t *)b.data, b.len, mac) != 0)
        goto end;
    sub = zr_base64url_encode(mac, sizeof(mac));
end:
    OPENSSL_cleanse(mac, sizeof(mac));
    if (b.data)
        OPENSSL_cleanse(b.data, b.len);
    zr_buf_free(&b);
    return sub;
}

/* ---- the authorization request, remembered while the patient is at TVS ---- */

void zr_oidc_authz_clear(zr_oidc_authz_t *a)
{
    if (!a)
        return;
    free(a->client_id);
    free(a->redirect_uri);
    free(a->state);
    free(a->nonce);
    free(a->scope);
    free(a->code_challenge);
    free(a->care_provider);
    free(a->traceparent);
    free(a->sid);
    free(a->claims);
    memset(a, 0, sizeof(*a));
}

/* NULL when any member cannot be written: a state or nonce that went
 * missing here would be missing from the redirect and the ID token. */
char *zr_oidc_authz_to_json(const zr_oidc_authz_t *a)
{
    json_t *o;
    char *out = NULL;
    if (!a || !a->client_id || !a->redirect_uri)
        return NULL;
    o = json_object();
    if (zr_oidc_json_set_str(o, "client_id", a->client_id) != 0 ||
        zr_oidc_json_set_str(o, "redirect_uri", a->redirect_uri) != 0 ||
        zr_oidc_json_set_opt(o, "state", a->state) != 0 || zr_oidc_json_set_opt(o, "nonce", a->nonce) != 0 ||
        zr_oidc_json_set_opt(o, "scope", a->scope) != 0 ||
        zr_oidc_json_set_opt(o, "code_challenge", a->code_challenge) != 0 ||
        zr_oidc_json_set_opt(o, "care_provider", a->care_provider) != 0 ||
        zr_oidc_json_set_opt(o, "traceparent", a->traceparent) != 0 || zr_oidc_json_set_opt(o, "sid", a->sid) != 0 ||
        zr_oidc_json_set_opt(o, "claims", a->claims) != 0 ||
        (a->lang != ZR_LANG_NL && zr_oidc_json_set_str(o, "lang", zr_lang_code(a->lang)) != 0) ||
        zr_oidc_json_set_str(o, "error_lang", zr_lang_code(a->error_lang)) != 0 ||
        zr_oidc_json_set(o, "login_method", json_integer(a->login_method)) != 0 ||
        zr_oidc_json_set(o, "min_loa", json_integer(a->min_loa)) != 0 ||
        zr_oidc_json_set(o, "force_authn", json_boolean(a->force_authn)) != 0)
        goto end;
    out = json_dumps(o, JSON_COMPACT);
end:
    json_decref(o);
    return out;
}

static int get_opt(json_t *o, const char *k, char **out, int required)
{
    json_t *v = json_object_get(o, k);
    if (!v || json_is_null(v))
        return required ? -1 : 0;
    if (!json_is_string(v))
        return -1;
    *out = strdup(json_string_value(v));
    return *out ? 0 : -1;
}

int zr_oidc_authz_from_json(const char *json, zr_oidc_authz_t *out)
{
    json_error_t jerr;
    json_t *o = NULL, *loa, *method;
    int rc = -1;

    if (!out)
        return -1;
    memset(out, 0, sizeof(*out));
    if (!json || !(o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(o))
        goto end;
    if (get_opt(o, "client_id", &out->client_id, 1) != 0 || get_opt(o, "redirect_uri", &out->redirect_uri, 1) != 0 ||
        get_opt(o, "state", &out->state, 0) != 0 || get_opt(o, "nonce", &out->nonce, 0) != 0 ||
        get_opt(o, "scope", &out->scope, 1) != 0 || get_opt(o, "code_challenge", &out->code_challenge, 1) != 0 ||
        get_opt(o, "care_provider", &out->care_provider, 0) != 0 ||
        get_opt(o, "traceparent", &out->traceparent, 0) != 0 || get_opt(o, "sid", &out->sid, 0) != 0 ||
        get_opt(o, "claims", &out->claims, 0) != 0)
        goto end;
    /* Absent in records from before issue 4: 0, no method chosen. */
    method = json_object_get(o, "login_method");
    if (method && !(json_is_integer(method) && (json_integer_value(method) == 0 ||
                                                json_integer_value(method) == ZR_LOGIN_PATIENT ||
                                                json_integer_value(method) == ZR_LOGIN_PROFESSIONAL)))
        goto end;
    out->login_method = (int)json_integer_value(method);
    loa = json_object_get(o, "min_loa");
    if (!json_is_integer(loa) || json_integer_value(loa) < ZR_LOA_NONE || json_integer_value(loa) > ZR_LOA_HIGH)
        goto end;
    out->min_loa = (zr_loa_t)json_integer_value(loa);
    out->force_authn = json_is_true(json_object_get(o, "force_authn"));
    /* The language's code. Absent or no longer loaded: Dutch, the default
     * (and records from before). */
    if (zr_lang_from_code(json_string_value(json_object_get(o, "lang")), &out->lang) != 0)
        out->lang = ZR_LANG_NL;
    /* Absent: English, as every error_description was before issue 18. */
    if (zr_lang_from_code(json_string_value(json_object_get(o, "error_lang")), &out->error_lang) != 0)
        out->error_lang = ZR_LANG_EN;
    rc = 0;
end:
    if (rc != 0)
        zr_oidc_authz_clear(out);
    json_decref(o);
    return rc;
}

/* ---- discovery (OpenID Connect Discovery 1.0 §3, RFC 8414) ---- */

static json_t *string_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) != 0) {
            json_decref(a);
            a = NULL;
        }
    return a;
}

#define ARRAY(...) string_array((const char *const[]){__VA_ARGS__}, \
                                sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* NL GOV §Discovery: private_key_jwt and tls_client_auth (with oidc.mtls);
 * client_secret_basic and none only while some client is configured with
 * it (in production a documented deviation). public: none too. */
static json_t *auth_methods(const zr_oidc_t *op, int public)
{
    json_t *a = json_array();
    int used[4] = {0};

    for (size_t i = 0; i < op->cfg->client_count; i++)
        if ((size_t)op->cfg->clients[i].auth_method < sizeof(used) / sizeof(used[0]))
            used[op->cfg->clients[i].auth_method] = 1;
    if (json_array_append_new(a, json_string("private_key_jwt")) != 0 ||
        (op->cfg->oidc.mtls_ca_file && json_array_append_new(a, json_string("tls_client_auth")) != 0) ||
        (used[ZR_CLIENT_AUTH_SECRET_BASIC] && json_array_append_new(a, json_string("client_secret_basic")) != 0) ||
        (public && used[ZR_CLIENT_AUTH_NONE] && json_array_append_new(a, json_string("none")) != 0)) {
        json_decref(a);
        a = NULL;
    }
    return a;
}

static int discovery_build(zr_oidc_t *op)
{
    json_t *o = json_object(), *algs = json_array(), *acrs = json_array();
    int rc = -1, bad = 0;

    bad |= zr_oidc_json_set(o, "issuer", json_string(op->issuer));
    bad |= zr_oidc_json_set(o, "authorization_endpoint", json_string(op->authorization_endpoint));
    bad |= zr_oidc_json_set(o, "token_endpoint", json_string(op->token_endpoint));
    bad |= zr_oidc_json_set(o, "userinfo_endpoint", json_string(op->userinfo_endpoint));
    bad |= zr_oidc_json_set(o, "jwks_uri", json_string(op->jwks_uri));
    /* RFC 8414 §2: introspection by authenticated clients only (RFC 7662 §2.1). */
    bad |= zr_oidc_json_set(o, "introspection_endpoint", json_string(op->introspection_endpoint));
    bad |= zr_oidc_json_set(o, "introspection_endpoint_auth_methods_supported", auth_methods(op, 0));
    bad |= zr_oidc_json_set(o, "scopes_supported", ARRAY("openid"));
    bad |= zr_oidc_json_set(o, "response_types_supported", ARRAY("code"));
    bad |= zr_oidc_json_set(o, "response_modes_supported", ARRAY("query"));
    bad |= zr_oidc_json_set(o, "grant_types_supported", ARRAY("authorization_code"));
    bad |= zr_oidc_json_set(o, "subject_types_supported", ARRAY("pairwise"));
    bad |= zr_oidc_json_set(o, "sub_id_types_supported", ARRAY(ZR_OIDC_SUB_ID_TYPE));
    for (size_t i = 0; i < op->signer_count; i++) {
        int seen = 0;
        for (size_t j = 0; j < i; j++)
            seen |= strcmp(op->signers[j].alg, op->signers[i].alg) == 0;
        if (!seen)
            bad |= json_array_append_new(algs, json_string(op->signers[i].alg));
    }
    /* the same keys sign UserInfo for a client that registered an alg */
    bad |= zr_oidc_json_set(o, "userinfo_signing_alg_values_supported", json_deep_copy(algs));
    bad |= zr_oidc_json_set(o, "id_token_signing_alg_values_supported", algs);
    /* Issue 17 §2 (jwe.c): to the client's key; NL GOV §Algorithms, nothing
     * weaker than RSA-OAEP and A256GCM. */
    bad |= zr_oidc_json_set(o, "userinfo_encryption_alg_values_supported", ARRAY("RSA-OAEP", "RSA-OAEP-256"));
    bad |= zr_oidc_json_set(o, "userinfo_encryption_enc_values_supported", ARRAY("A256GCM"));
    bad |= zr_oidc_json_set(o, "id_token_encryption_alg_values_supported", ARRAY("RSA-OAEP", "RSA-OAEP-256"));
    bad |= zr_oidc_json_set(o, "id_token_encryption_enc_values_supported", ARRAY("A256GCM"));
    bad |= zr_oidc_json_set(o, "token_endpoint_auth_methods_supported", auth_methods(op, 1));
    /* RFC 8705 §3.3: on the same endpoints (no mtls_endpoint_aliases) */
    if (op->cfg->oidc.mtls_ca_file)
        bad |= zr_oidc_json_set(o, "tls_client_certificate_bound_access_tokens", json_true());
    bad |= zr_oidc_json_set(o, "token_endpoint_auth_signing_alg_values_supported",
                        ARRAY("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"));
    bad |= zr_oidc_json_set(o, "code_challenge_methods_supported", ARRAY("S256"));
    bad |= zr_oidc_json_set(o, "claims_supported",
                        ARRAY("iss", "aud", "exp", "iat", "nbf", "jti", "sub", "sub_id_type", "acr", "auth_time",
                              "nonce", "sid", "bsn", "represents", "dezi_nummer", "ura", "organization_name", "rol_code",
                              "rol_naam", "rol_code_bron", "roles", "initials", "surname_prefix", "family_name",
                              "name", "verklaring_id"));
    for (zr_loa_t l = ZR_LOA_BASIC; l <= ZR_LOA_HIGH; l++)
        bad |= json_array_append_new(acrs, json_string(zr_loa_uri(l)));
    bad |= zr_oidc_json_set(o, "acr_values_supported", acrs);
    bad |= zr_oidc_json_set(o, "prompt_values_supported", ARRAY("none", "login"));
    bad |= zr_oidc_json_set(o, "ui_locales_supported", ARRAY("nl", "en"));
    /* RFC 9101 (issue 17 §1, request_object.c): signed by the client's
     * registered key, never none or HS*. */
    bad |= zr_oidc_json_set(o, "request_parameter_supported", json_true());
    bad |= zr_oidc_json_set(o, "request_object_signing_alg_values_supported", ARRAY("RS256", "PS256", "ES256"));
    /* Issue 17 §1: encrypted to one of oidc.encryption_keys, when there are any. */
    if (op->cfg->oidc.enc_key_count > 0) {
        bad |= zr_oidc_json_set(o, "request_object_encryption_alg_values_supported",
                                ARRAY("RSA-OAEP", "RSA-OAEP-256"));
        bad |= zr_oidc_json_set(o, "request_object_encryption_enc_values_supported", ARRAY("A256GCM"));
    }
    /* request_uri: only the URNs of our PAR endpoint (RFC 9126); other
     * values are never fetched, so none is "registered" (docs/par.md). */
    bad |= zr_oidc_json_set(o, "request_uri_parameter_supported", json_true());
    bad |= zr_oidc_json_set(o, "require_request_uri_registration", json_true());
    bad |= zr_oidc_json_set(o, "pushed_authorization_request_endpoint", json_string(op->par_endpoint));
    /* RFC 7591 (issue 17 §4): only with an initial access token. */
    if (op->registration_endpoint)
        bad |= zr_oidc_json_set(o, "registration_endpoint", json_string(op->registration_endpoint));
    /* Per client (require_pushed_authorization_requests), not for all. */
    bad |= zr_oidc_json_set(o, "require_pushed_authorization_requests", json_false());
    bad |= zr_oidc_json_set(o, "claims_parameter_supported", json_true());
    bad |= zr_oidc_json_set(o, "authorization_response_iss_parameter_supported", json_true());
    /* Logout (issue 5): RP-Initiated Logout 1.0 §2.1, Back-Channel Logout 1.0 §2.1. */
    bad |= zr_oidc_json_set(o, "end_session_endpoint", json_string(op->end_session_endpoint));
    bad |= zr_oidc_json_set(o, "backchannel_logout_supported", json_true());
    bad |= zr_oidc_json_set(o, "backchannel_logout_session_supported", json_true());
    if (!bad)
        op->discovery_json = json_dumps(o, JSON_COMPACT | JSON_INDENT(0));
    rc = op->discovery_json ? 0 : -1;
    json_decref(o);
    return rc;
}

int zr_oidc_handle_discovery(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    if (req->method && strcmp(req->method, "OPTIONS") == 0)
        return zr_oidc_cors_preflight(op, req, resp, "GET, OPTIONS");
    if (zr_http_respond_json(resp, 200, op->discovery_json) != 0)
        return -1;
    /* Public and stable (NL GOV §Caching: a week by default). */
    zr_oidc_set_metadata_cache(op, resp);
    zr_oidc_cors(op, req, resp, NULL);
    return 0;
}

/* ---- life cycle ---- */

static char *endpoint(const char *base, const char *path)
{
    zr_buf_t b;
    size_t n = strlen(base);
    zr_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (zr_buf_append(&b, base, n) != 0 || zr_buf_appends(&b, path) != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

zr_oidc_t *zr_oidc_new(const zr_config_t *cfg, zr_store_t *store, char *err, size_t errlen)
{
    zr_oidc_t *op = NULL;
    const char *base;

    if (!cfg || !store) {
        snprintf(err, errlen, "oidc: no configuration or store");
        goto fail;
    }
    op = calloc(1, sizeof(*op));
    if (!op)
        goto oom;
    op->cfg = cfg;
    op->store = store;
    op->issuer = cfg->oidc.issuer ? cfg->oidc.issuer : cfg->public_base_url;
    /* The endpoints live on this relay; the issuer may be spelled differently. */
    base = cfg->public_base_url ? cfg->public_base_url : op->issuer;
    if (!op->issuer || !base) {
        snprintf(err, errlen, "oidc: no issuer and no public_base_url");
        goto fail;
    }
    if (cfg->oidc.key_count == 0) {
        snprintf(err, errlen, "oidc: no signing key configured");
        goto fail;
    }
    if (cfg->oidc.code_lifetime_s <= 0 || cfg->oidc.code_lifetime_s > 60 || cfg->oidc.id_token_lifetime_s <= 0 ||
        cfg->oidc.id_token_lifetime_s > 300 || cfg->oidc.access_token_lifetime_s <= 0) {
        snprintf(err, errlen, "oidc: lifetimes out of range (code <= 60 s, id_token <= 300 s)");
        goto fail;
    }
    op->authorization_endpoint = endpoint(base, "/authorize");
    op->token_endpoint = endpoint(base, "/token");
    op->userinfo_endpoint = endpoint(base, "/userinfo");
    op->jwks_uri = endpoint(base, "/jwks");
    op->introspection_endpoint = endpoint(base, "/introspect");
    op->end_session_endpoint = endpoint(base, ZR_OIDC_LOGOUT_PATH);
    op->par_endpoint = endpoint(base, "/par");
    if (cfg->oidc.registration_dir && !(op->registration_endpoint = endpoint(base, "/register")))
        goto oom;
    if (!op->par_endpoint || !op->authorization_endpoint || !op->token_endpoint || !op->userinfo_endpoint || !op->jwks_uri ||
        !op->introspection_endpoint || !op->end_session_endpoint)
        goto oom;
    if (zr_oidc_jwks_build(op, err, errlen) != 0 || zr_oidc_client_keys_load(op, err, errlen) != 0)
        goto fail;
    /* Fail at start-up rather than at the first login of a client. */
    for (size_t i = 0; i < cfg->client_count; i++) {
        const zr_client_t *c = &cfg->clients[i];
        if (!zr_oidc_signer_for(op, c->id_token_alg)) {
            snprintf(err, errlen, "oidc: client %s wants id_token_alg %s but no signing key has it", c->client_id,
                     zr_oidc_alg_name(c->id_token_alg) ? zr_oidc_alg_name(c->id_token_alg) : "?");
            goto fail;
        }
        if (c->userinfo_signed && !zr_oidc_signer_for(op, c->userinfo_alg)) {
            snprintf(err, errlen, "oidc: client %s wants userinfo_signed_response_alg %s but no signing key has it",
                     c->client_id, zr_oidc_alg_name(c->userinfo_alg) ? zr_oidc_alg_name(c->userinfo_alg) : "?");
            goto fail;
        }
        if (!zr_client_sector(c, NULL)) {
            snprintf(err, errlen, "oidc: client %s has no pairwise sector", c->client_id ? c->client_id : "?");
            goto fail;
        }
    }
    if (zr_oidc_texts_check(err, errlen) != 0)
        goto fail;
    if (discovery_build(op) != 0)
        goto oom;
#ifdef ZR_TESTING
    if (getenv("ZR_TEST_REDEEM_STOP_FILE"))
        zr_oidc_set_redeem_hook(op, zr_oidc_redeem_stop_hook, getenv("ZR_TEST_REDEEM_STOP_FILE"));
#endif
    return op;
oom:
    snprintf(err, errlen, "oidc: out of memory");
fail:
    zr_oidc_free(op);
    return NULL;
}

void zr_oidc_free(zr_oidc_t *op)
{
    if (!op)
        return;
    for (size_t i = 0; i < op->signer_count; i++) {
        if (op->signers[i].jwk)
            cjose_jwk_release(op->signers[i].jwk);
        free(op->signers[i].kid);
    }
    free(op->signers);
    zr_oidc_client_keys_free(op);
    free(op->authorization_endpoint);
    free(op->token_endpoint);
    free(op->userinfo_endpoint);
    free(op->jwks_uri);
    free(op->introspection_endpoint);
    free(op->end_session_endpoint);
    free(op->par_endpoint);
    free(op->registration_endpoint);
    free(op->jwks_json);
    free(op->discovery_json);
    free(op);
}
