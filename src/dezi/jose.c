/* JOSE for Dezi on cjose + jansson: RS256 signatures only (spec v0.7 §3.4,
 * §5.3: id_token, envelope, verklaring and list are RS256), JWE only as
 * RSA-OAEP + A256CBC-HS512 (§4.3.6). Headers and payloads are parsed here
 * with duplicate keys refused, before cjose sees them. */
#include "dezi_internal.h"
#include "zr/json.h"
#include "zr/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Every JSON text Dezi sends goes through the one hardened parser. */
json_t *zr_dezi_json_parse(const char *text, size_t len)
{
    return zr_json_parse_object(text, len, ZR_DEZI_MAX_RESPONSE, NULL);
}

int zr_dezi_jose_dots(const char *compact, size_t len)
{
    int n = 0;
    for (size_t i = 0; i < len; i++)
        if (compact[i] == '.')
            n++;
    return n;
}

json_t *zr_dezi_jose_header(const char *compact)
{
    return zr_json_jose_header(compact);
}

cjose_jwk_t *zr_dezi_cjose_jwk(json_t *jwk)
{
    cjose_err cerr;
    cjose_jwk_t *out = NULL;
    char *text = jwk ? json_dumps(jwk, JSON_COMPACT) : NULL;
    if (text) {
        out = cjose_jwk_import(text, strlen(text), &cerr);
        OPENSSL_cleanse(text, strlen(text));
    }
    free(text);
    return out;
}

json_t *zr_dezi_jws_verify(const char *compact, cjose_jwk_t *key, const char **why)
{
    cjose_err cerr;
    cjose_jws_t *jws = NULL;
    json_t *hdr = NULL, *claims = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0, len;
    zr_json_status_t st;
    const char *reason = "signature invalid";

    if (!compact || !key)
        goto end;
    len = strlen(compact);
    if (len > ZR_DEZI_MAX_RESPONSE || zr_dezi_jose_dots(compact, len) != 2) {
        reason = "not a compact JWS";
        goto end;
    }
    /* The header decides the algorithm, so pin it before cjose does: never
     * none, never HMAC with a public key as secret. */
    hdr = zr_dezi_jose_header(compact);
    if (!hdr) {
        reason = "JWS header is not a strict JSON object";
        goto end;
    }
    if (!json_is_string(json_object_get(hdr, "alg")) ||
        strcmp(json_string_value(json_object_get(hdr, "alg")), "RS256") != 0) {
        reason = "not signed with RS256";
        goto end;
    }
    if (cjose_jwk_get_kty(key, &cerr) != CJOSE_JWK_KTY_RSA)
        goto end;
    jws = cjose_jws_import(compact, len, &cerr);
    if (!jws || !cjose_jws_verify(jws, key, &cerr))
        goto end;
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr))
        goto end;
    /* The signature is good; a payload we refuse deserves its own reason. */
    claims = zr_json_parse_object((const char *)plain, plain_len, ZR_DEZI_MAX_RESPONSE, &st);
    if (!claims)
        reason = st == ZR_JSON_DUPLICATE_KEY ? "payload has a duplicate key"
                 : st == ZR_JSON_TOO_DEEP    ? "payload nested too deeply"
                                             : "payload is not a JSON object";
end:
    if (why)
        *why = claims ? NULL : reason;
    json_decref(hdr);
    cjose_jws_release(jws);
    return claims;
}

char *zr_dezi_jws_sign(EVP_PKEY *key, const char *kid, json_t *claims)
{
    cjose_err cerr;
    cjose_header_t *hdr = NULL;
    cjose_jwk_t *jwk = NULL;
    cjose_jws_t *jws = NULL;
    json_t *j = NULL;
    char *payload = NULL, *out = NULL;
    const char *compact = NULL;
    const char *alg = EVP_PKEY_is_a(key, "EC") ? CJOSE_HDR_ALG_ES256 : CJOSE_HDR_ALG_RS256;

    j = zr_crypto_jwk_from_pkey(key, 1);
    jwk = zr_dezi_cjose_jwk(j);
    payload = json_dumps(claims, JSON_COMPACT);
    hdr = cjose_header_new(&cerr);
    if (!jwk || !payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, alg, &cerr) ||
        !cjose_header_set(hdr, "typ", "JWT", &cerr) || (kid && !cjose_header_set(hdr, CJOSE_HDR_KID, kid, &cerr)))
        goto end;
    jws = cjose_jws_sign(jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    if (!jws || !cjose_jws_export(jws, &compact, &cerr))
        goto end;
    out = strdup(compact);
end:
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    cjose_jwk_release(jwk);
    json_decref(j);
    free(payload);
    return out;
}

/* NumericDate; the revocation list writes them as strings of digits
 * (spec v0.7 §6.3.4), so both are read. */
int zr_dezi_claim_time(json_t *claims, const char *name, time_t *out)
{
    json_t *v = json_object_get(claims, name);
    if (json_is_integer(v)) {
        *out = (time_t)json_integer_value(v);
        return *out > 0 ? 0 : -1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *endp = NULL;
        long long n;
        if (!*s || strlen(s) > 15)
            return -1;
        for (const char *p = s; *p; p++)
            if (!isdigit((unsigned char)*p))
                return -1;
        n = strtoll(s, &endp, 10);
        *out = (time_t)n;
        return n > 0 ? 0 : -1;
    }
    return -1;
}

int zr_dezi_aud_contains(json_t *claims, const char *client_id)
{
    json_t *aud = json_object_get(claims, "aud"), *v;
    size_t i;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), client_id) == 0;
    if (json_is_array(aud))
        json_array_foreach(aud, i, v) if (json_is_string(v) && !strcmp(json_string_value(v), client_id)) return 1;
    return 0;
}

int zr_dezi_iss_matches(const char *iss, const char *issuer)
{
    const char *host;
    size_t hlen;
    if (!iss || !issuer)
        return 0;
    if (!strcmp(iss, issuer))
        return 1;
    host = strstr(issuer, "://");
    if (!host)
        return 0;
    host += 3;
    hlen = strcspn(host, "/");
    return strlen(iss) == hlen && !strncmp(iss, host, hlen) && host[hlen] == '\0';
}
