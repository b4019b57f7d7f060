/* Token introspection (RFC 7662): a portal's resource servers ask "who is
 * this?" about an access token. The caller authenticates exactly like at the
 * token endpoint and must be registered with `introspection: true`; it only
 * learns about tokens issued to itself (a foreign token is as inactive as an
 * unknown one, §2.2). The answer carries the same subject claims as the
 * UserInfo response for that client (docs/claims.md). */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const introspect_params[] = {
    "token", "token_type_hint", "client_id", "client_assertion", "client_assertion_type",
};

static int error_reply(zr_http_response_t *resp, int status, const char *error, const char *description)
{
    if (zr_oidc_json_error(resp, status, error, description) != 0)
        return -1;
    /* RFC 7662 §2.3 -> RFC 6749 §5.2: a 401 names the scheme to use. */
    if (status == 401)
        zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"zorgrelay\"");
    return 0;
}

/* §2.2: for a token the caller may not know about, nothing but this. */
static int inactive_reply(zr_http_response_t *resp)
{
    json_t *o = json_object();
    int rc = -1;
    if (zr_oidc_json_set(o, "active", json_false()) == 0)
        rc = zr_oidc_json_nostore(resp, o);
    json_decref(o);
    return rc;
}

/* The answer for an active token of client c (record: the access token's
 * store record, already checked). NULL on error. */
static json_t *active_answer(const zr_oidc_t *op, const zr_client_t *c, json_t *record, const zr_subject_t *subject)
{
    json_t *o = json_object();
    json_t *scope = json_object_get(record, "scope");
    if (zr_oidc_json_set(o, "active", json_true()) != 0 || zr_oidc_subject_claims(op, c, subject, o) != 0)
        goto fail;
    /* Set after the subject claims, so these can never be overwritten. */
    if (zr_oidc_json_set_str(o, "client_id", c->client_id) != 0 ||
        zr_oidc_json_set_str(o, "token_type", "Bearer") != 0 ||
        (json_is_string(scope) && json_object_set(o, "scope", scope) != 0) ||
        json_object_set(o, "exp", json_object_get(record, "exp")) != 0 ||
        json_object_set(o, "iat", json_object_get(record, "iat")) != 0 ||
        zr_oidc_json_set_str(o, "iss", op->issuer) != 0 ||
        zr_oidc_json_set_opt(o, "acr", zr_loa_uri(subject->loa)) != 0 ||
        zr_oidc_json_set_str(o, "subject_type",
                             subject->kind == ZR_SUBJECT_PROFESSIONAL ? "professional" : "patient") != 0 ||
        /* RFC 8705 §3.2: the resource server checks the binding itself */
        (json_object_get(record, "cnf") && json_object_set(o, "cnf", json_object_get(record, "cnf")) != 0))
        goto fail;
    return o;
fail:
    json_decref(o);
    return NULL;
}

int zr_oidc_handle_introspect(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    zr_oidc_client_auth_result_t auth;
    const zr_client_t *c;
    const char *ct, *token, *owner;
    char *subject_json = NULL, mask[16];
    json_t *rec = NULL, *answer = NULL, *exp;
    zr_subject_t subject = {0};
    zr_store_status_t st;
    int rc = 0;

    ct = zr_kv_get(&req->headers, "content-type");
    if (!req->method || strcmp(req->method, "POST") != 0 || !ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        rc = error_reply(resp, 400, "invalid_request", "POST application/x-www-form-urlencoded only");
        goto end;
    }
    for (size_t i = 0; i < sizeof(introspect_params) / sizeof(introspect_params[0]); i++)
        if (zr_kv_count(&req->form, introspect_params[i]) > 1) {
            rc = error_reply(resp, 400, "invalid_request", "a parameter is given more than once");
            goto end;
        }

    zr_oidc_client_authenticate(op, req, &auth);
    if (!auth.client) {
        zr_log_warn("introspect", "client authentication refused: %s (%s)", auth.error,
                    auth.description ? auth.description : "-");
        rc = error_reply(resp, auth.status, auth.error, auth.description);
        goto end;
    }
    c = auth.client;
    /* RFC 7662 §2.1: the caller must be authenticated; a public client's
     * client_id proves nothing (the loader refuses this combination too). */
    if (c->auth_method == ZR_CLIENT_AUTH_NONE) {
        zr_log_warn("introspect", "client=%s refused: public clients cannot introspect", c->client_id);
        rc = error_reply(resp, 401, "invalid_client", "introspection needs client authentication");
        goto end;
    }
    /* Authenticated but not registered for introspection: 403, so that the
     * caller does not take it for a credential problem. */
    if (!c->introspection) {
        zr_log_warn("introspect", "client=%s refused: not registered for introspection", c->client_id);
        rc = error_reply(resp, 403, "unauthorized_client", "this client may not use introspection");
        goto end;
    }
    token = zr_kv_get(&req->form, "token");
    if (!token) {
        rc = error_reply(resp, 400, "invalid_request", "token is required");
        goto end;
    }
    /* token_type_hint is only a hint (§2.1): access tokens are all we issue. */
    if (!*token || strlen(token) > ZR_OIDC_ACCESS_TOKEN_MAX) {
        rc = inactive_reply(resp);
        goto end;
    }
    /* a forged, altered or expired JWT, and one whose record is gone
     * (revoked), are all inactive */
    st = zr_oidc_access_token_record(op, token, &rec);
    if (st == ZR_STORE_UNAVAILABLE) {
        zr_log_error("introspect", "store unavailable");
        rc = error_reply(resp, 503, "temporarily_unavailable", NULL);
        goto end;
    }
    owner = json_string_value(json_object_get(rec, "client_id"));
    exp = json_object_get(rec, "exp");
    if (!owner || !json_is_integer(exp) || !json_is_integer(json_object_get(rec, "iat")) ||
        json_integer_value(exp) <= (json_int_t)zr_time_now()) {
        rc = inactive_reply(resp);
        goto end;
    }
    if (strcmp(owner, c->client_id) != 0) {
        zr_log_warn("introspect", "client=%s asked about token=%s of another client", c->client_id,
                    zr_log_mask(token, mask));
        rc = inactive_reply(resp);
        goto end;
    }
    subject_json = json_dumps(json_object_get(rec, "subject"), JSON_COMPACT);
    if (!subject_json || zr_subject_from_json(subject_json, &subject) != 0) {
        rc = inactive_reply(resp);
        goto end;
    }
    answer = active_answer(op, c, rec, &subject);
    if (!answer) {
        rc = error_reply(resp, 500, "server_error", NULL);
        goto end;
    }
    rc = zr_oidc_json_nostore(resp, answer);
    zr_log_info("introspect", "client=%s token=%s active", c->client_id, zr_log_mask(token, mask));
end:
    zr_oidc_wipe_free(subject_json);
    zr_subject_clear(&subject);
    json_decref(rec);
    json_decref(answer);
    return rc;
}
