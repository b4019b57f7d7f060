/* The UserInfo endpoint (OIDC Core §5.3): the same subject claims as the ID
 * token, for a bearer access token in the Authorization header (RFC 6750
 * §2.1; tokens in URLs or forms end up in logs, so those are not read). */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int bearer_error(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                        const char *error, const char *description)
{
    zr_buf_t b;
    int rc = -1;

    zr_buf_init(&b);
    if (zr_oidc_json_error(resp, 401, error ? error : "invalid_request", description) != 0)
        goto end;
    /* RFC 6750 §3: no error attribute when no token was presented at all. */
    if (error ? zr_buf_printf(&b, "Bearer realm=\"zorgrelay\", error=\"%s\"", error) != 0
              : zr_buf_appends(&b, "Bearer realm=\"zorgrelay\"") != 0)
        goto end;
    zr_http_set_header(resp, "WWW-Authenticate", b.data);
    zr_oidc_cors(op, req, resp, NULL);
    rc = 0;
end:
    zr_buf_free(&b);
    return rc;
}

/* OIDC Core §5.3.2: for a client registered with
 * userinfo_signed_response_alg, the claims as a JWT signed with that alg,
 * with iss and aud; with userinfo_encrypted_response_alg (issue 17 §2)
 * that JWT (or, unsigned, the claims) encrypted to the client's key, a
 * nested JWT signed then encrypted. Both as application/jwt. */
static int jwt_reply(const zr_oidc_t *op, const zr_client_t *c, json_t *claims, zr_http_response_t *resp)
{
    char *jwt = NULL, *payload = NULL, *jwe = NULL;
    const char *body;
    int rc = -1;
    if (zr_oidc_json_set_str(claims, "iss", op->issuer) != 0 || zr_oidc_json_set_str(claims, "aud", c->client_id) != 0)
        goto end;
    if (c->userinfo_signed && !(jwt = zr_oidc_jws_sign(zr_oidc_signer_for(op, c->userinfo_alg), "JWT", claims)))
        goto end;
    if (!jwt && !(payload = json_dumps(claims, JSON_COMPACT)))
        goto end;
    if (c->userinfo_encrypted && !(jwe = zr_oidc_encrypt_for_client(op, c, 0, jwt ? jwt : payload, jwt != NULL)))
        goto end;
    body = jwe ? jwe : jwt;
    if (!body)
        goto end;
    if (zr_http_respond(resp, 200, "application/jwt", body, strlen(body)) != 0 ||
        zr_http_set_header(resp, "Cache-Control", "no-store") != 0 ||
        zr_http_set_header(resp, "Pragma", "no-cache") != 0)
        goto end;
    rc = 0;
end:
    zr_oidc_wipe_free(jwt);
    zr_oidc_wipe_free(payload);
    zr_oidc_wipe_free(jwe);
    return rc;
}

int zr_oidc_handle_userinfo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    const char *authz = zr_kv_get(&req->headers, "authorization"), *token;
    char *subject_json = NULL;
    json_t *rec = NULL, *claims = NULL, *exp;
    zr_subject_t subject = {0};
    const zr_client_t *c = NULL;
    zr_store_status_t st;
    int rc = 0;

    if (req->method && strcmp(req->method, "OPTIONS") == 0)
        return zr_oidc_cors_preflight(op, req, resp, "GET, POST, OPTIONS");
    if (!authz || strncasecmp(authz, "Bearer ", 7) != 0) {
        rc = bearer_error(op, req, resp, NULL, "a bearer access token in the Authorization header is required");
        goto end;
    }
    token = authz + 7;
    while (*token == ' ')
        token++;
    /* our signature, typ, iss and exp first; then the record its jti names
     * (gone when revoked) */
    st = zr_oidc_access_token_record(op, token, &rec);
    if (st == ZR_STORE_UNAVAILABLE) {
        zr_log_error("userinfo", "store unavailable");
        rc = zr_oidc_json_error(resp, 503, "temporarily_unavailable", NULL);
        goto end;
    }
    exp = json_object_get(rec, "exp");
    /* The token's own exp decides, not only the store's TTL (a Redis whose
     * clock or TTL disagrees keeps it longer); and the client must still be
     * in this configuration (a reload that removed it ends its tokens). */
    if (rec && (!json_is_integer(exp) || json_integer_value(exp) <= (json_int_t)zr_time_now())) {
        rc = bearer_error(op, req, resp, "invalid_token", "access token invalid or expired");
        goto end;
    }
    /* RFC 8705 §3: a certificate-bound token only over a connection with
     * that certificate (stolen, it is of no use without the key) */
    if (rec && !zr_oidc_access_token_cert_ok(rec, req->client_cert)) {
        zr_log_warn("userinfo", "client=%s certificate-bound access token presented without its certificate",
                    json_string_value(json_object_get(rec, "client_id")) ? json_string_value(json_object_get(rec, "client_id")) : "-");
        rc = bearer_error(op, req, resp, "invalid_token", "the access token is bound to another client certificate");
        goto end;
    }
    c = rec ? zr_oidc_find_client(op, json_string_value(json_object_get(rec, "client_id"))) : NULL;
    subject_json = c ? json_dumps(json_object_get(rec, "subject"), JSON_COMPACT) : NULL;
    if (!subject_json || zr_subject_from_json(subject_json, &subject) != 0) {
        rc = bearer_error(op, req, resp, "invalid_token", "access token invalid or expired");
        goto end;
    }
    claims = json_object();
    if (zr_oidc_subject_claims(op, c, &subject, claims) != 0 ||
        zr_oidc_claims_request_filter(json_string_value(json_object_get(rec, "claims")), "userinfo", claims) != 0 ||
        zr_oidc_json_set_opt(claims, "acr", zr_loa_uri(subject.loa)) != 0 ||
        (c->userinfo_signed || c->userinfo_encrypted ? jwt_reply(op, c, claims, resp) : zr_oidc_json_nostore(resp, claims)) != 0) {
        zr_log_error("userinfo", "client=%s claims cannot be written", c->client_id);
        rc = zr_oidc_json_error(resp, 500, "server_error", NULL);
        goto end;
    }
    zr_oidc_cors(op, req, resp, c);
end:
    zr_oidc_wipe_free(subject_json);
    zr_subject_clear(&subject);
    json_decref(rec);
    json_decref(claims);
    return rc;
}
