/* JOSE for the mock Dezi (cjose + jansson): its keys as JWKs, compact JWS
 * and JWE, pairwise subjects, and the check of a private_key_jwt client
 * assertion. Keys become JWKs through zr_crypto_jwk_from_pkey (src/core). */
#include "mock_dezi_internal.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/json.h"
#include "zr/util.h"

static cjose_jwk_t *jwk_import(json_t *jwk)
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

int zr_mock_dezi_key_load(zr_mock_dezi_key_t *k, EVP_PKEY *pkey, int priv)
{
    json_t *full = NULL;
    cjose_err cerr;
    int rc = -1;

    memset(k, 0, sizeof(*k));
    /* The mock signs RS256 and encrypts RSA-OAEP only (spec §3.4, §4.3.6). */
    if (!pkey || !EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_get_bits(pkey) < 2048)
        goto end;
    k->public_jwk = zr_crypto_jwk_from_pkey(pkey, 0);
    full = priv ? zr_crypto_jwk_from_pkey(pkey, 1) : NULL;
    if (!k->public_jwk || (priv && !full))
        goto end;
    k->kid = zr_crypto_jwk_thumbprint(k->public_jwk);
    k->jwk = jwk_import(priv ? full : k->public_jwk);
    if (!k->kid || !k->jwk || !cjose_jwk_set_kid(k->jwk, k->kid, strlen(k->kid), &cerr))
        goto end;
    json_object_set_new(k->public_jwk, "kid", json_string(k->kid));
    rc = 0;
end:
    json_decref(full);
    if (rc != 0)
        zr_mock_dezi_key_clear(k);
    return rc;
}

void zr_mock_dezi_key_clear(zr_mock_dezi_key_t *k)
{
    cjose_jwk_release(k->jwk);
    free(k->kid);
    json_decref(k->public_jwk);
    memset(k, 0, sizeof(*k));
}

char *zr_mock_dezi_jwks(const zr_mock_dezi_key_t *const *keys, size_t count)
{
    json_t *set = json_object(), *arr = json_array();
    char *out = NULL;

    if (!set || !arr)
        goto end;
    for (size_t i = 0; i < count; i++) {
        json_t *pub = json_deep_copy(keys[i]->public_jwk);
        if (!pub)
            goto end;
        json_object_set_new(pub, "use", json_string("sig"));
        json_object_set_new(pub, "alg", json_string("RS256"));
        json_array_append_new(arr, pub);
    }
    if (json_object_set(set, "keys", arr) != 0)
        goto end;
    out = json_dumps(set, JSON_COMPACT);
end:
    json_decref(arr);
    json_decref(set);
    return out;
}

char *zr_mock_dezi_sign(const zr_mock_dezi_key_t *k, const char *jku, json_t *claims)
{
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    const char *compact = NULL;
    char *payload = json_dumps(claims, JSON_COMPACT), *out = NULL;

    hdr = cjose_header_new(&cerr);
    if (!payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &cerr) ||
        !cjose_header_set(hdr, "typ", "JWT", &cerr) || !cjose_header_set(hdr, CJOSE_HDR_KID, k->kid, &cerr) ||
        (jku && !cjose_header_set(hdr, "jku", jku, &cerr)))
        goto end;
    jws = cjose_jws_sign(k->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    if (!jws || !cjose_jws_export(jws, &compact, &cerr))
        goto end;
    out = strdup(compact);
end:
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    free(payload);
    return out;
}

char *zr_mock_dezi_encrypt(const zr_mock_dezi_key_t *k, const char *jwt)
{
    cjose_header_t *hdr = NULL;
    cjose_jwe_t *jwe = NULL;
    cjose_err cerr;
    char *exported = NULL, *out = NULL;

    hdr = cjose_header_new(&cerr);
    /* Header as in §4.3.6: alg, enc, kid of the recipient's key, typ, cty. */
    if (!hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RSA_OAEP, &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_ENC, CJOSE_HDR_ENC_A256CBC_HS512, &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, k->kid, &cerr) || !cjose_header_set(hdr, "typ", "JWT", &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_CTY, "JWT", &cerr))
        goto end;
    jwe = cjose_jwe_encrypt(k->jwk, hdr, (const uint8_t *)jwt, strlen(jwt), &cerr);
    exported = jwe ? cjose_jwe_export(jwe, &cerr) : NULL;
    if (exported)
        out = strdup(exported);
end:
    if (exported)
        cjose_get_dealloc()(exported);
    cjose_jwe_release(jwe);
    cjose_header_release(hdr);
    return out;
}

char *zr_mock_dezi_uuid(void)
{
    uint8_t b[16];
    char *out = malloc(37);
    if (!out || zr_random_bytes(b, sizeof(b)) != 0) {
        free(out);
        return NULL;
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

char *zr_mock_dezi_pairwise_sub(const zr_mock_dezi_t *d, const char *client_id, const char *dezi_nummer)
{
    zr_buf_t in;
    uint8_t mac[32];
    char *out = NULL;
    zr_buf_init(&in);
    if (zr_buf_printf(&in, "%s|%s", client_id, dezi_nummer) == 0 &&
        zr_crypto_hmac_sha256(d->pairwise_key, sizeof(d->pairwise_key), (const uint8_t *)in.data, in.len, mac) == 0)
        out = zr_base64url_encode(mac, sizeof(mac));
    zr_buf_free(&in);
    return out;
}

/* aud may be a string or an array of strings (RFC 7523 §3). */
static int audience_names(json_t *aud, const char *want)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    json_array_foreach(aud, i, v)
        if (json_is_string(v) && strcmp(json_string_value(v), want) == 0)
            return 1;
    return 0;
}

int zr_mock_dezi_client_assertion_check(const zr_mock_dezi_t *d, const char *assertion, const char *client_id,
                                        char *err, size_t errlen)
{
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    json_t *claims = NULL, *exp;
    const char *alg, *iss, *sub;
    int rc = -1;

    jws = cjose_jws_import(assertion, strlen(assertion), &cerr);
    if (!jws) {
        snprintf(err, errlen, "client_assertion is not a compact JWS");
        goto end;
    }
    alg = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &cerr);
    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "PS256") != 0 && strcmp(alg, "ES256") != 0)) {
        snprintf(err, errlen, "client_assertion alg must be RS256, PS256 or ES256");
        goto end;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr) ||
        !(claims = zr_json_parse_object((const char *)plain, plain_len, 0, NULL))) {
        snprintf(err, errlen, "client_assertion claims are not a JSON object");
        goto end;
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    sub = json_string_value(json_object_get(claims, "sub"));
    exp = json_object_get(claims, "exp");
    if (!iss || !sub || strcmp(iss, client_id) != 0 || strcmp(sub, client_id) != 0) {
        snprintf(err, errlen, "client_assertion iss and sub must both be the client_id");
        goto end;
    }
    if (!audience_names(json_object_get(claims, "aud"), d->token_endpoint) &&
        !audience_names(json_object_get(claims, "aud"), d->issuer)) {
        snprintf(err, errlen, "client_assertion aud must name the token endpoint");
        goto end;
    }
    if (!json_is_integer(exp) || json_integer_value(exp) <= (json_int_t)zr_time_now() ||
        !json_is_string(json_object_get(claims, "jti"))) {
        snprintf(err, errlen, "client_assertion needs a jti and an exp in the future");
        goto end;
    }
    /* Without the relay's public key (dezi.client_key unset) the mock can
     * only check the form; with it, the signature too. */
    if (d->client_jwk && !cjose_jws_verify(jws, d->client_jwk, &cerr)) {
        snprintf(err, errlen, "client_assertion signature does not verify with dezi.client_key");
        goto end;
    }
    rc = 0;
end:
    json_decref(claims);
    cjose_jws_release(jws);
    return rc;
}

cjose_jwk_t *zr_mock_dezi_public_jwk(EVP_PKEY *pkey)
{
    json_t *pub = zr_crypto_jwk_from_pkey(pkey, 0);
    cjose_jwk_t *out = jwk_import(pub);
    json_decref(pub);
    return out;
}
