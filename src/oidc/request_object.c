/* Signed request objects (JAR, RFC 9101; OIDC Core §6.1; NL GOV §Request
 * Objects), at /authorize and at the PAR endpoint, read in this one place.
 * A request object is a JWS signed with a key of the client's registered
 * JWKS (private_key_jwt clients: jwks_file), RS256, PS256 or ES256 only
 * (never none or HS*: a shared secret is no client key); iss is the client,
 * aud our issuer, exp required (at most ZR_OIDC_ASSERTION_MAX_S ahead so
 * that the replay record can expire), nbf/iat not in the future, jti
 * single use. Only its claims count as the request's parameters (RFC 9101
 * §6.3). The header and the claims go through the hardened JSON parser
 * (src/core/json.c) before cjose sees them, as for client assertions.
 * Issue 17 §1: a request object may come encrypted to one of the relay's
 * oidc.encryption_keys (NL GOV §Request Objects: MUST accept), a nested
 * JWT (RFC 9101 §4: sign, then encrypt); its inner JWT must be signed and
 * is read exactly as an unencrypted one. */
#include "oidc_internal.h"
#include "zr/json.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_REQUEST_OBJECT_LEN 16384
#define MAX_REQUEST_PARAMS 64
#define MAX_JTI_LEN 256

static int request_alg_allowed(const char *alg)
{
    static const char *const ok[] = {"RS256", "PS256", "ES256"};
    for (size_t i = 0; alg && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(alg, ok[i]) == 0)
            return 1;
    return 0;
}

/* The JWT's own claims, not parameters of the request. */
static int is_jwt_claim(const char *name)
{
    static const char *const jwt[] = {"iss", "aud", "exp", "nbf", "iat", "jti", "sub"};
    for (size_t i = 0; i < sizeof(jwt) / sizeof(jwt[0]); i++)
        if (strcmp(name, jwt[i]) == 0)
            return 1;
    return 0;
}

int zr_oidc_request_object_params(json_t *claims, const char *client_id, zr_kvlist_t *out, const char **why)
{
    const char *name;
    json_t *v;
    char num[32];
    size_t n = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    if (!json_is_object(claims) || !client_id) {
        *why = "request object claims are not an object";
        goto end;
    }
    if (zr_kv_add(out, "client_id", client_id) != 0)
        goto oom;
    json_object_foreach(claims, name, v) {
        if (is_jwt_claim(name))
            continue;
        if (++n > MAX_REQUEST_PARAMS) {
            *why = "request object has too many parameters";
            goto end;
        }
        /* RFC 9101 §4: no request or request_uri inside. */
        if (strcmp(name, "request") == 0 || strcmp(name, "request_uri") == 0) {
            *why = "request object must not contain request or request_uri";
            goto end;
        }
        if (strcmp(name, "client_id") == 0) {
            /* RFC 9101 §5: the same client as outside. */
            if (!json_is_string(v) || strcmp(json_string_value(v), client_id) != 0) {
                *why = "request object client_id is not the request's client_id";
                goto end;
            }
            continue;
        }
        if (json_is_string(v)) {
            if (zr_kv_add(out, name, json_string_value(v)) != 0)
                goto oom;
        } else if (json_is_integer(v)) { /* max_age */
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            if (zr_kv_add(out, name, num) != 0)
                goto oom;
        } else {
            /* The claims parameter (issue 17 §5) is not supported yet. */
            *why = "request object parameters must be strings (or an integer max_age)";
            goto end;
        }
    }
    rc = 0;
    goto end;
oom:
    *why = "out of memory";
end:
    if (rc != 0)
        zr_kv_free(out);
    return rc;
}

/* The signed JWT inside an encrypted request object (malloc'ed), or NULL
 * with why. The JWE's kid picks the key (rollover: all are published);
 * without a kid each configured key is tried (the tag decides). */
static char *request_object_decrypt(const zr_oidc_t *op, const char *compact, const char **why)
{
    const zr_oidc_config_t *oc = &op->cfg->oidc;
    zr_jwe_t jwe = {0};
    uint8_t *plain = NULL;
    size_t plain_len = 0, i;
    char *out = NULL;

    if (oc->enc_key_count == 0) {
        *why = "encrypted request objects need oidc.encryption_keys (none configured)";
        goto end;
    }
    if (zr_jwe_parse(compact, &jwe, why) != 0)
        goto end;
    for (i = 0; i < oc->enc_key_count; i++) {
        if (jwe.kid && strcmp(jwe.kid, oc->enc_keys[i].kid) != 0)
            continue;
        if (zr_jwe_decrypt(&jwe, oc->enc_keys[i].key, &plain, &plain_len, why) == 0 || jwe.kid)
            break;
    }
    if (!plain) {
        *why = jwe.kid && i == oc->enc_key_count ? "encrypted request object names an unknown kid"
                                                : "encrypted request object cannot be decrypted";
        goto end;
    }
    /* RFC 7519 §5.2: a nested JWT says cty JWT; openid-client names the
     * request object's media type (RFC 9101 §10.2) instead. */
    if (jwe.cty && strcasecmp(jwe.cty, "JWT") != 0 && strcasecmp(jwe.cty, "oauth-authz-req+jwt") != 0) {
        *why = "encrypted request object cty is not JWT";
        goto end;
    }
    if (strlen((char *)plain) != plain_len) {
        *why = "encrypted request object holds a NUL byte";
        goto end;
    }
    out = (char *)plain;
    plain = NULL;
end:
    zr_oidc_wipe_free((char *)plain);
    zr_jwe_clear(&jwe);
    return out;
}

static int aud_is_issuer(const zr_oidc_t *op, json_t *aud)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), op->issuer) == 0;
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), op->issuer) == 0)
            return 1;
    }
    return 0;
}

static int time_claim_future(json_t *claims, const char *name, time_t now)
{
    json_t *t = json_object_get(claims, name);
    return t && (!json_is_number(t) || (time_t)json_number_value(t) > now + ZR_OIDC_CLOCK_SKEW_S);
}

int zr_oidc_request_object_read(zr_oidc_t *op, const zr_client_t *c, const char *jwt, zr_kvlist_t *out,
                                const char **why, int *status)
{
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    json_t *hdr = NULL, *claims = NULL, *exp;
    uint8_t *plain = NULL;
    size_t plain_len = 0, dots = 0;
    char *inner = NULL;
    const char *alg, *kid, *iss, *jti;
    char *jti_name = NULL;
    time_t now = zr_time_now();
    zr_store_status_t st;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *status = 400;
    for (const char *p = jwt; *p; p++)
        dots += *p == '.';
    /* An encrypted one carries a signed one of up to the limit, base64url
     * again (4/3) with its header, key and tag. */
    if (strlen(jwt) > (dots == 4 ? 2 * MAX_REQUEST_OBJECT_LEN : MAX_REQUEST_OBJECT_LEN)) {
        *why = "request object too large";
        goto end;
    }
    if (c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT || !zr_oidc_client_keys(op, c)) {
        *why = "request objects need a client registered with its keys (private_key_jwt)";
        goto end;
    }
    if (dots == 4) {
        if (!(inner = request_object_decrypt(op, jwt, why)))
            goto end;
        jwt = inner;
        dots = 0;
        for (const char *p = jwt; *p; p++)
            dots += *p == '.';
        /* Encrypted but not signed proves nothing about the client: anyone
         * can encrypt to our public key (OIDC Core §6.1, RFC 9101 §4). */
        if (dots != 2 || strlen(jwt) > MAX_REQUEST_OBJECT_LEN) {
            *why = "encrypted request object does not hold a signed JWT";
            goto end;
        }
    }
    if (dots != 2 || !(hdr = zr_json_jose_header(jwt)) || !(jws = cjose_jws_import(jwt, strlen(jwt), &cerr))) {
        *why = "request object is not a signed JWT";
        goto end;
    }
    alg = json_string_value(json_object_get(hdr, "alg"));
    kid = json_string_value(json_object_get(hdr, "kid"));
    if (!request_alg_allowed(alg)) {
        *why = "request object algorithm not allowed (RS256, PS256 or ES256)";
        goto end;
    }
    if (!zr_oidc_client_jws_verify(op, c, jws, kid)) {
        *why = "request object signature not valid with the client's registered keys";
        goto end;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr) ||
        !(claims = zr_json_parse_object((const char *)plain, plain_len, MAX_REQUEST_OBJECT_LEN, NULL))) {
        *why = "request object claims unreadable";
        goto end;
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    jti = json_string_value(json_object_get(claims, "jti"));
    exp = json_object_get(claims, "exp");
    if (!iss || strcmp(iss, c->client_id) != 0) {
        *why = "request object iss must be the client_id";
        goto end;
    }
    if (!aud_is_issuer(op, json_object_get(claims, "aud"))) {
        *why = "request object aud must be the issuer";
        goto end;
    }
    if (!json_is_number(exp)) {
        *why = "request object has no exp";
        goto end;
    }
    if ((time_t)json_number_value(exp) <= now - ZR_OIDC_CLOCK_SKEW_S) {
        *why = "request object expired";
        goto end;
    }
    if ((time_t)json_number_value(exp) > now + ZR_OIDC_ASSERTION_MAX_S + ZR_OIDC_CLOCK_SKEW_S) {
        *why = "request object lives too long (exp at most 60 minutes ahead)";
        goto end;
    }
    if (time_claim_future(claims, "nbf", now) || time_claim_future(claims, "iat", now)) {
        *why = "request object not yet valid";
        goto end;
    }
    if (!jti || !*jti || strlen(jti) > MAX_JTI_LEN) {
        *why = "request object needs a jti";
        goto end;
    }
    if (zr_oidc_request_object_params(claims, c->client_id, out, why) != 0)
        goto end;
    /* Single use, remembered until it would have expired anyway. */
    if (!(jti_name = malloc(strlen(c->client_id) + strlen(jti) + 2))) {
        *why = "out of memory", *status = 500;
        goto end;
    }
    sprintf(jti_name, "%s|%s", c->client_id, jti);
    st = zr_store_claim(op->store, ZR_OIDC_NS_REQUEST_OBJECT, jti_name,
                        (int)((time_t)json_number_value(exp) - now) + 2 * ZR_OIDC_CLOCK_SKEW_S);
    if (st == ZR_STORE_EXISTS) {
        *why = "request object already used (jti)";
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("authorize", "store %s: cannot check request object replay", zr_store_status_name(st));
        *why = "try again later", *status = 503;
        goto end;
    }
    rc = 0;
end:
    if (rc != 0)
        zr_kv_free(out);
    free(jti_name);
    zr_oidc_wipe_free(inner);
    json_decref(claims);
    json_decref(hdr);
    cjose_jws_release(jws);
    return rc;
}
