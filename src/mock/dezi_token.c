/* The back channel of the mock Dezi: the token endpoint (§4.2.3-4.2.4),
 * userinfo (§4.3) and the two revocation services (§6.2, §6.3). */
#include "mock_dezi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

/* RFC 6749 §5.2 error answer. */
static int token_error(zr_http_response_t *resp, int status, const char *error, const char *description)
{
    json_t *o = json_object();
    char *text = NULL;
    int rc = -1;
    if (!o)
        return -1;
    json_object_set_new(o, "error", json_string(error));
    json_object_set_new(o, "error_description", json_string(description));
    text = json_dumps(o, JSON_COMPACT);
    if (text && zr_http_respond_json(resp, status, text) == 0 &&
        (status != 401 || zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"mock-dezi\"") == 0))
        rc = 0;
    zr_log_warn("token_refused", "error=%s reason=\"%s\"", error, description);
    free(text);
    json_decref(o);
    return rc;
}

/* RFC 7636 §4.1: 43-128 unreserved characters; S256 compared in constant time. */
static int pkce_matches(const char *verifier, const char *challenge)
{
    uint8_t h[32];
    char *computed = NULL;
    size_t n = verifier ? strlen(verifier) : 0;
    int ok = 0;

    if (n < 43 || n > 128)
        return 0;
    for (const char *p = verifier; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
              *p == '.' || *p == '_' || *p == '~'))
            return 0;
    if (zr_crypto_sha256((const uint8_t *)verifier, n, h) == 0 && (computed = zr_base64url_encode(h, sizeof(h))))
        ok = zr_secure_equal(computed, strlen(computed), challenge, strlen(challenge));
    free(computed);
    return ok;
}

/* POST /token */
/* The caller's W3C trace id (its traceparent, validated by the HTTP layer),
 * so that a relay's login can be followed into this mock's log. */
static const char *trace_id_of(const zr_http_request_t *req, char out[33])
{
    snprintf(out, 33, "%.32s", req->traceparent ? req->traceparent + 3 : "-");
    return out;
}

int zr_mock_dezi_handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    static const char *const single[] = {"grant_type", "code", "redirect_uri", "client_id", "code_verifier",
                                         "client_assertion", "client_assertion_type"};
    zr_mock_dezi_t *d = ctx;
    const zr_kvlist_t *f = &req->form;
    const char *grant_type = zr_kv_get(f, "grant_type"), *code = zr_kv_get(f, "code");
    const char *redirect_uri = zr_kv_get(f, "redirect_uri"), *client_id = zr_kv_get(f, "client_id");
    const char *verifier = zr_kv_get(f, "code_verifier"), *assertion = zr_kv_get(f, "client_assertion");
    const char *assertion_type = zr_kv_get(f, "client_assertion_type");
    zr_mock_dezi_grant_t *g = NULL;
    json_t *o = NULL;
    char *access_token = NULL, *id_token = NULL, *text = NULL;
    char err[256] = "", mask_c[16], mask_t[16], trace_id[33];
    int rc = -1;

    for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++)
        if (zr_kv_count(f, single[i]) > 1) {
            rc = token_error(resp, 400, "invalid_request", "a parameter is given more than once");
            goto end;
        }
    if (zr_kv_get(&req->headers, "authorization")) {
        rc = token_error(resp, 400, "invalid_request", "the mock takes no client secret: public client or "
                                                       "private_key_jwt");
        goto end;
    }
    if (!grant_type || strcmp(grant_type, "authorization_code") != 0) {
        rc = token_error(resp, 400, "unsupported_grant_type", "only authorization_code");
        goto end;
    }
    /* §4.2.3: client_id is required (a public client names itself). */
    if (!client_id || strcmp(client_id, d->client_id) != 0) {
        rc = token_error(resp, 401, "invalid_client", "unknown client_id");
        goto end;
    }
    if (assertion || assertion_type) {
        if (!assertion || !assertion_type ||
            strcmp(assertion_type, "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0 ||
            zr_mock_dezi_client_assertion_check(d, assertion, client_id, err, sizeof(err)) != 0) {
            rc = token_error(resp, 401, "invalid_client", err[0] ? err : "client_assertion_type must be jwt-bearer");
            goto end;
        }
    }
    if (!code || !redirect_uri || !verifier) {
        rc = token_error(resp, 400, "invalid_request", "code, redirect_uri and code_verifier are required");
        goto end;
    }
    /* Single use: taken now, so a failed attempt burns it too. */
    g = zr_mock_table_take(d->codes, code);
    if (!g) {
        rc = token_error(resp, 400, "invalid_grant", "code unknown, expired (60 s) or already used");
        goto end;
    }
    if (strcmp(g->client_id, client_id) != 0 || strcmp(g->redirect_uri, redirect_uri) != 0) {
        rc = token_error(resp, 400, "invalid_grant", "code was issued to another client_id or redirect_uri");
        goto end;
    }
    if (!pkce_matches(verifier, g->code_challenge)) {
        rc = token_error(resp, 400, "invalid_grant", "code_verifier does not match the code_challenge");
        goto end;
    }
    access_token = zr_random_token(32);
    id_token = access_token ? zr_mock_dezi_id_token(d, g, access_token) : NULL;
    o = json_object();
    if (!id_token || !o)
        goto end;
    json_object_set_new(o, "access_token", json_string(access_token));
    json_object_set_new(o, "token_type", json_string("Bearer"));
    json_object_set_new(o, "expires_in", json_integer(ZR_MOCK_DEZI_TOKEN_TTL_S));
    json_object_set_new(o, "scope", json_string("openid"));
    json_object_set_new(o, "id_token", json_string(id_token));
    text = json_dumps(o, JSON_COMPACT);
    g->expires = zr_time_now() + ZR_MOCK_DEZI_TOKEN_TTL_S;
    if (!text || zr_mock_table_put(d->tokens, access_token, g) != 0)
        goto end;
    g = NULL;
    zr_log_info("token_issued", "code=%s access_token=%s trace=%s", zr_log_mask(code, mask_c),
                zr_log_mask(access_token, mask_t), trace_id_of(req, trace_id));
    rc = zr_http_respond_json(resp, 200, text);
end:
    zr_mock_dezi_grant_free(g);
    json_decref(o);
    if (text)
        OPENSSL_cleanse(text, strlen(text));
    free(text);
    free(access_token);
    free(id_token);
    return rc;
}

/* RFC 6750 §3 */
static int bearer_error(zr_http_response_t *resp, const char *error, const char *description)
{
    zr_buf_t h;
    int rc = -1;
    zr_buf_init(&h);
    if (zr_buf_printf(&h, "Bearer error=\"%s\", error_description=\"%s\"", error, description) == 0 &&
        zr_http_respond_json(resp, 401, "{\"error\":\"invalid_token\"}") == 0 &&
        zr_http_set_header(resp, "WWW-Authenticate", h.data) == 0)
        rc = 0;
    zr_buf_free(&h);
    return rc;
}

/* GET /userinfo: application/jwt, a JWE to the relay's registered key. */
int zr_mock_dezi_handle_userinfo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_dezi_t *d = ctx;
    const char *auth = zr_kv_get(&req->headers, "authorization");
    zr_mock_dezi_grant_t *g = NULL;
    char *token = NULL, *jwe = NULL;
    char mask[16], trace_id[33];
    size_t person;
    int rc = -1;

    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !auth[7]) {
        rc = bearer_error(resp, "invalid_request", "Bearer access token required");
        goto end;
    }
    token = strdup(auth + 7);
    if (!token)
        goto end;
    /* Taken and put back: the table has no plain lookup, and a token may
     * be used more than once until it expires. */
    g = zr_mock_table_take(d->tokens, token);
    if (!g || g->expires <= zr_time_now()) {
        rc = bearer_error(resp, "invalid_token", "access token unknown or expired");
        goto end;
    }
    person = g->person;
    jwe = zr_mock_dezi_userinfo(d, g);
    if (!jwe)
        goto end;
    if (zr_mock_table_put(d->tokens, token, g) == 0)
        g = NULL;
    zr_log_info("userinfo", "access_token=%s professional=%zu trace=%s", zr_log_mask(token, mask), person,
                trace_id_of(req, trace_id));
    rc = zr_http_respond(resp, 200, "application/jwt", jwe, strlen(jwe));
end:
    zr_mock_dezi_grant_free(g);
    if (token)
        OPENSSL_cleanse(token, strlen(token));
    free(token);
    free(jwe);
    return rc;
}

/* GET /status/v1/verklaring/{id} (§6.2.3); unknown ids get the problem
 * answer of §6.2.4. */
int zr_mock_dezi_handle_status(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const char *id = strrchr(req->path, '/') + 1;
    const zr_mock_dezi_person_t *p = zr_mock_dezi_person_by_verklaring(id);
    json_t *o = json_object();
    char *text = NULL;
    int rc = -1;

    if (!o)
        goto end;
    if (p) {
        json_object_set_new(o, "verklaringId", json_string(p->verklaring_id));
        json_object_set_new(o, "status", json_string(p->revoked ? "ingetrokken" : "actief"));
    } else {
        json_object_set_new(o, "type", json_string("about:blank"));
        json_object_set_new(o, "title", json_string("Resource is not found"));
        json_object_set_new(o, "status", json_integer(404));
        json_object_set_new(o, "method", json_string("GET"));
    }
    text = json_dumps(o, JSON_COMPACT);
    if (text)
        rc = zr_http_respond_json(resp, p ? 200 : 404, text);
end:
    free(text);
    json_decref(o);
    return rc;
}

/* GET /revocatiecontrole/v1 (§6.3.4): signed afresh on every call. */
int zr_mock_dezi_handle_revocation_list(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    char *jwt = zr_mock_dezi_revocation_list(ctx);
    int rc = -1;
    if (jwt)
        rc = zr_http_respond(resp, 200, "application/jose;charset=utf-8", jwt, strlen(jwt));
    free(jwt);
    return rc;
}
