/* The token endpoint: authorization_code grant only (RFC 6749 §4.1.3, OIDC
 * Core §3.1.3.2, RFC 7636 §4.6). A code is taken from the store atomically,
 * so it can be redeemed once; a second attempt finds the "used" record and
 * revokes the access token the first one got (RFC 6749 §4.1.2). */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const token_params[] = {
    "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_assertion", "client_assertion_type",
};

/* RFC 7636 §4.1: 43..128 unreserved characters. */
static int verifier_syntax_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 43 || n > 128)
        return 0;
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-' ||
              *v == '.' || *v == '_' || *v == '~'))
            return 0;
    return 1;
}

static int pkce_ok(const char *verifier, const char *challenge)
{
    uint8_t h[32];
    char *computed = NULL;
    int ok = 0;
    if (zr_crypto_sha256((const uint8_t *)verifier, strlen(verifier), h) == 0 &&
        (computed = zr_base64url_encode(h, sizeof(h))))
        ok = zr_secure_equal(computed, strlen(computed), challenge, strlen(challenge));
    free(computed);
    return ok;
}

static int error_reply(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp, int status,
                       const char *error, const char *description, int basic)
{
    if (zr_oidc_json_error(resp, status, error, description) != 0)
        return -1;
    /* RFC 6749 §5.2: a 401 names the scheme the client can use. */
    if (status == 401)
        zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"zorgrelay\"");
    zr_oidc_cors(op, req, resp, NULL);
    return 0;
}

/* A replayed code: refuse, and revoke what its first redemption issued. */
static void revoke_after_replay(zr_oidc_t *op, const char *code, const zr_client_t *client)
{
    char *access_token = NULL, mask[16];
    size_t len = 0;
    if (zr_store_take(op->store, ZR_OIDC_NS_CODE_USED, code, &access_token, &len) == ZR_STORE_OK) {
        zr_store_del(op->store, ZR_OIDC_NS_ACCESS_TOKEN, access_token);
        zr_log_warn("token", "client=%s code=%s used twice: its access token is revoked", client->client_id,
                    zr_log_mask(code, mask));
    }
    zr_oidc_wipe_free(access_token);
}

/* What an access token stands for; iat and exp are for introspection
 * (RFC 7662 §2.2), the store's TTL enforces exp as well. */
static char *access_token_record(const zr_oidc_authz_t *authz, json_t *subject, time_t iat, int lifetime)
{
    json_t *o = json_object();
    char *out;
    json_object_set_new(o, "client_id", json_string(authz->client_id));
    json_object_set_new(o, "scope", json_string(authz->scope));
    json_object_set_new(o, "iat", json_integer((json_int_t)iat));
    json_object_set_new(o, "exp", json_integer((json_int_t)iat + lifetime));
    json_object_set(o, "subject", subject);
    out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

int zr_oidc_handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    zr_oidc_client_auth_result_t auth;
    const zr_client_t *c;
    const char *ct, *grant, *code, *redirect_uri, *verifier;
    char *record = NULL, *subject_json = NULL, *authz_json = NULL, *access_token = NULL, *at_record = NULL;
    char *id_token = NULL, mask[16], mask2[16];
    size_t len = 0;
    json_t *rec = NULL, *reply = NULL;
    json_error_t jerr;
    zr_oidc_authz_t authz = {0};
    zr_subject_t subject = {0};
    zr_store_status_t st;
    int rc = 0, at_lifetime = op->cfg->oidc.access_token_lifetime_s;

    if (req->method && strcmp(req->method, "OPTIONS") == 0)
        return zr_oidc_cors_preflight(op, req, resp, "POST, OPTIONS");
    ct = zr_kv_get(&req->headers, "content-type");
    if (!req->method || strcmp(req->method, "POST") != 0 || !ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "POST application/x-www-form-urlencoded only", 0);
        goto end;
    }
    for (size_t i = 0; i < sizeof(token_params) / sizeof(token_params[0]); i++)
        if (zr_kv_count(&req->form, token_params[i]) > 1) {
            rc = error_reply(op, req, resp, 400, "invalid_request", "a parameter is given more than once", 0);
            goto end;
        }

    zr_oidc_client_authenticate(op, req, &auth);
    if (!auth.client) {
        zr_log_warn("token", "client authentication refused: %s (%s)", auth.error,
                    auth.description ? auth.description : "-");
        rc = error_reply(op, req, resp, auth.status, auth.error, auth.description, auth.basic);
        goto end;
    }
    c = auth.client;

    grant = zr_kv_get(&req->form, "grant_type");
    code = zr_kv_get(&req->form, "code");
    redirect_uri = zr_kv_get(&req->form, "redirect_uri");
    verifier = zr_kv_get(&req->form, "code_verifier");
    if (!grant) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "grant_type missing", 0);
        goto end;
    }
    if (strcmp(grant, "authorization_code") != 0) {
        rc = error_reply(op, req, resp, 400, "unsupported_grant_type", "only authorization_code is supported", 0);
        goto end;
    }
    if (!code || !*code || !redirect_uri || !verifier) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "code, redirect_uri and code_verifier are required",
                         0);
        goto end;
    }
    if (!verifier_syntax_ok(verifier)) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "code_verifier must be 43-128 unreserved characters",
                         0);
        goto end;
    }

    st = zr_store_take(op->store, ZR_OIDC_NS_CODE, code, &record, &len);
    if (st == ZR_STORE_NOT_FOUND) {
        revoke_after_replay(op, code, c);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid, expired or already used", 0);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("token", "store %s: code not redeemed", zr_store_status_name(st));
        rc = error_reply(op, req, resp, st == ZR_STORE_UNAVAILABLE ? 503 : 400,
                         st == ZR_STORE_UNAVAILABLE ? "temporarily_unavailable" : "invalid_grant", NULL, 0);
        goto end;
    }
    rec = json_loads(record, JSON_REJECT_DUPLICATES, &jerr);
    authz_json = rec ? json_dumps(json_object_get(rec, "authz"), JSON_COMPACT) : NULL;
    subject_json = rec ? json_dumps(json_object_get(rec, "subject"), JSON_COMPACT) : NULL;
    if (!authz_json || !subject_json || zr_oidc_authz_from_json(authz_json, &authz) != 0 ||
        zr_subject_from_json(subject_json, &subject) != 0 || !json_is_integer(json_object_get(rec, "exp"))) {
        zr_log_error("token", "code record unreadable");
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid", 0);
        goto end;
    }
    /* The store's TTL expires it too; this guards a clock-skewed Redis. */
    if (json_integer_value(json_object_get(rec, "exp")) < (json_int_t)zr_time_now()) {
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code expired", 0);
        goto end;
    }
    if (strcmp(authz.client_id, c->client_id) != 0) {
        zr_log_warn("token", "client=%s redeemed a code issued to client=%s", c->client_id, authz.client_id);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code was not issued to this client", 0);
        goto end;
    }
    if (strcmp(authz.redirect_uri, redirect_uri) != 0) {
        rc = error_reply(op, req, resp, 400, "invalid_grant", "redirect_uri differs from the authorization request",
                         0);
        goto end;
    }
    if (!pkce_ok(verifier, authz.code_challenge)) {
        zr_log_warn("token", "client=%s PKCE verification failed", c->client_id);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code_verifier does not match the code_challenge", 0);
        goto end;
    }

    access_token = zr_random_token(32);
    at_record = access_token ? access_token_record(&authz, json_object_get(rec, "subject"), zr_time_now(), at_lifetime) : NULL;
    id_token = zr_oidc_id_token(op, c, &authz, &subject);
    if (!access_token || !at_record || !id_token) {
        rc = error_reply(op, req, resp, 500, "server_error", NULL, 0);
        goto end;
    }
    /* Remember the redemption first, so a replay racing us can revoke. */
    {
        /* One round trip; Redis runs them in this order. */
        zr_store_write_t w[2] = {
            {ZR_OIDC_NS_CODE_USED, code, access_token, strlen(access_token),
             at_lifetime > op->cfg->oidc.code_lifetime_s ? at_lifetime : op->cfg->oidc.code_lifetime_s,
             ZR_STORE_INVALID},
            {ZR_OIDC_NS_ACCESS_TOKEN, access_token, at_record, strlen(at_record), at_lifetime, ZR_STORE_INVALID}};
        st = zr_store_write_all(op->store, w, 2);
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("token", "store %s: no tokens issued", zr_store_status_name(st));
        rc = error_reply(op, req, resp, 503, "temporarily_unavailable", NULL, 0);
        goto end;
    }
    reply = json_object();
    json_object_set_new(reply, "access_token", json_string(access_token));
    json_object_set_new(reply, "token_type", json_string("Bearer"));
    json_object_set_new(reply, "expires_in", json_integer(at_lifetime));
    json_object_set_new(reply, "id_token", json_string(id_token));
    json_object_set_new(reply, "scope", json_string(authz.scope));
    rc = zr_oidc_json_nostore(resp, reply);
    zr_oidc_cors(op, req, resp, c);
    zr_log_info("token", "client=%s code=%s redeemed token=%s", c->client_id, zr_log_mask(code, mask),
                zr_log_mask(access_token, mask2));
end:
    zr_oidc_wipe_free(record);
    zr_oidc_wipe_free(authz_json);
    zr_oidc_wipe_free(subject_json);
    zr_oidc_wipe_free(access_token);
    zr_oidc_wipe_free(at_record);
    zr_oidc_wipe_free(id_token);
    json_decref(rec);
    json_decref(reply);
    zr_oidc_authz_clear(&authz);
    zr_subject_clear(&subject);
    return rc;
}
