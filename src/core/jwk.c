/* Keys as JSON Web Keys (RFC 7517/7518) and their RFC 7638 thumbprints: one
 * conversion for the OpenID Provider, the Dezi client and the mock Dezi. */
#include "zr/crypto.h"
#include "zr/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

/* base64url of a big number; pad > 0 left-pads to that many bytes (EC
 * coordinates must be exactly the field size, RFC 7518 §6.2.1.2). */
static int set_bn(json_t *jwk, const char *name, EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    uint8_t *buf = NULL;
    char *b64 = NULL;
    int rc = -1, len = 0;

    if (EVP_PKEY_get_bn_param(pkey, param, &bn) != 1)
        goto end;
    len = pad > 0 ? pad : BN_num_bytes(bn);
    buf = malloc((size_t)(len > 0 ? len : 1));
    if (!buf || BN_bn2binpad(bn, buf, len) != len)
        goto end;
    b64 = zr_base64url_encode(buf, (size_t)len);
    if (!b64 || json_object_set_new(jwk, name, json_string(b64)) != 0)
        goto end;
    rc = 0;
end:
    if (buf)
        OPENSSL_cleanse(buf, (size_t)(len > 0 ? len : 1));
    free(buf);
    if (b64)
        OPENSSL_cleanse(b64, strlen(b64));
    free(b64);
    BN_clear_free(bn);
    return rc;
}

json_t *zr_crypto_jwk_from_pkey(EVP_PKEY *pkey, int priv)
{
    json_t *jwk = json_object();
    char group[64] = "";
    int ok = 0;

    if (!pkey || !jwk)
        goto end;
    if (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) {
        json_object_set_new(jwk, "kty", json_string("RSA"));
        if (set_bn(jwk, "n", pkey, OSSL_PKEY_PARAM_RSA_N, 0) != 0 ||
            set_bn(jwk, "e", pkey, OSSL_PKEY_PARAM_RSA_E, 0) != 0)
            goto end;
        if (priv && (set_bn(jwk, "d", pkey, OSSL_PKEY_PARAM_RSA_D, 0) != 0 ||
                     set_bn(jwk, "p", pkey, OSSL_PKEY_PARAM_RSA_FACTOR1, 0) != 0 ||
                     set_bn(jwk, "q", pkey, OSSL_PKEY_PARAM_RSA_FACTOR2, 0) != 0 ||
                     set_bn(jwk, "dp", pkey, OSSL_PKEY_PARAM_RSA_EXPONENT1, 0) != 0 ||
                     set_bn(jwk, "dq", pkey, OSSL_PKEY_PARAM_RSA_EXPONENT2, 0) != 0 ||
                     set_bn(jwk, "qi", pkey, OSSL_PKEY_PARAM_RSA_COEFFICIENT1, 0) != 0))
            goto end;
        ok = 1;
    } else if (EVP_PKEY_is_a(pkey, "EC")) {
        const char *crv = NULL;
        int size = 0;
        if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) != 1)
            goto end;
        if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
            crv = "P-256", size = 32;
        else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
            crv = "P-384", size = 48;
        else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
            crv = "P-521", size = 66;
        else
            goto end;
        json_object_set_new(jwk, "kty", json_string("EC"));
        json_object_set_new(jwk, "crv", json_string(crv));
        if (set_bn(jwk, "x", pkey, OSSL_PKEY_PARAM_EC_PUB_X, size) != 0 ||
            set_bn(jwk, "y", pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size) != 0)
            goto end;
        if (priv && set_bn(jwk, "d", pkey, OSSL_PKEY_PARAM_PRIV_KEY, size) != 0)
            goto end;
        ok = 1;
    }
end:
    if (!ok) {
        json_decref(jwk);
        jwk = NULL;
    }
    return jwk;
}

/* RFC 7638: SHA-256 over the required members, sorted, no whitespace. */
char *zr_crypto_jwk_thumbprint(const json_t *pub)
{
    static const char *const members[] = {"crv", "e", "kty", "n", "x", "y"};
    json_t *req = json_object();
    char *text = NULL, *out = NULL;
    uint8_t h[32];

    for (size_t i = 0; req && i < sizeof(members) / sizeof(members[0]); i++)
        if (json_object_get(pub, members[i]))
            json_object_set(req, members[i], json_object_get(pub, members[i]));
    text = req ? json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    if (text && zr_crypto_sha256((const uint8_t *)text, strlen(text), h) == 0)
        out = zr_base64url_encode(h, sizeof(h));
    free(text);
    json_decref(req);
    return out;
}
