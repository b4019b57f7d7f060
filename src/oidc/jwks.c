/* Keys as JWKs: our signing keys (published at jwks_uri, imported into cjose
 * for signing) and the public keys of private_key_jwt clients. */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* base64url of a big number; pad > 0 left-pads to that many bytes (EC
 * coordinates must be exactly the field size, RFC 7518 §6.2.1.2). */
static int set_bn(json_t *jwk, const char *name, EVP_PKEY *pkey, const char *param, int pad)
{
    BIGNUM *bn = NULL;
    uint8_t *buf = NULL;
    char *b64 = NULL;
    int rc = -1, len;

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
    zr_oidc_wipe_free(b64);
    BN_clear_free(bn);
    return rc;
}

json_t *zr_oidc_jwk_from_pkey(EVP_PKEY *pkey, int priv)
{
    json_t *jwk = json_object();
    char group[64] = "";
    int ok = 0;

    if (!pkey)
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

/* Imports a jansson JWK into cjose via its JSON text, wiping the text. */
static cjose_jwk_t *jwk_import(json_t *jwk)
{
    cjose_err cerr;
    cjose_jwk_t *out = NULL;
    char *text = json_dumps(jwk, JSON_COMPACT);
    if (text)
        out = cjose_jwk_import(text, strlen(text), &cerr);
    zr_oidc_wipe_free(text);
    return out;
}

/* RFC 7638: SHA-256 over the required members, sorted, no whitespace. */
static char *thumbprint(json_t *pub)
{
    static const char *const members[] = {"crv", "e", "kty", "n", "x", "y"};
    json_t *req = json_object();
    char *text = NULL, *out = NULL;
    uint8_t h[32];

    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (json_object_get(pub, members[i]))
            json_object_set(req, members[i], json_object_get(pub, members[i]));
    text = json_dumps(req, JSON_COMPACT | JSON_SORT_KEYS);
    if (text && zr_crypto_sha256((const uint8_t *)text, strlen(text), h) == 0)
        out = zr_base64url_encode(h, sizeof(h));
    free(text);
    json_decref(req);
    return out;
}

static int key_matches_alg(EVP_PKEY *pkey, zr_sigalg_t alg)
{
    if (alg == ZR_SIGALG_ES256)
        return EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_bits(pkey) == 256;
    return (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) && EVP_PKEY_get_bits(pkey) >= 2048;
}

int zr_oidc_jwks_build(zr_oidc_t *op, char *err, size_t errlen)
{
    const zr_oidc_config_t *oc = &op->cfg->oidc;
    json_t *set = json_object(), *keys = json_array(), *pub = NULL, *priv = NULL;
    int rc = -1;

    json_object_set(set, "keys", keys);
    op->signers = calloc(oc->key_count, sizeof(*op->signers));
    if (!op->signers)
        goto end;
    for (size_t i = 0; i < oc->key_count; i++) {
        const zr_oidc_key_t *k = &oc->keys[i];
        zr_oidc_signer_t *s = &op->signers[op->signer_count];
        cjose_err cerr;

        if (!k->key || !zr_oidc_alg_name(k->alg) || !key_matches_alg(k->key, k->alg)) {
            snprintf(err, errlen, "oidc: signing key %zu (%s) does not fit its alg", i + 1,
                     k->key_file ? k->key_file : "?");
            goto end;
        }
        s->cfg = k;
        op->signer_count++; /* from here on zr_oidc_free releases it */
        pub = zr_oidc_jwk_from_pkey(k->key, 0);
        priv = zr_oidc_jwk_from_pkey(k->key, 1);
        if (!pub || !priv) {
            snprintf(err, errlen, "oidc: signing key %s cannot be expressed as a JWK", k->key_file ? k->key_file : "?");
            goto end;
        }
        s->kid = k->kid ? strdup(k->kid) : thumbprint(pub);
        if (!s->kid)
            goto end;
        json_object_set_new(pub, "kid", json_string(s->kid));
        json_object_set_new(pub, "use", json_string("sig"));
        json_object_set_new(pub, "alg", json_string(zr_oidc_alg_name(k->alg)));
        if (k->cert) {
            char *der = zr_crypto_cert_base64(k->cert);
            json_t *x5c = json_array();
            json_array_append_new(x5c, json_string(der ? der : ""));
            json_object_set_new(pub, "x5c", x5c);
            free(der);
            if (!der)
                goto end;
        }
        s->alg = zr_oidc_alg_name(k->alg);
        s->jwk = jwk_import(priv);
        if (!s->jwk || !cjose_jwk_set_kid(s->jwk, s->kid, strlen(s->kid), &cerr)) {
            snprintf(err, errlen, "oidc: cjose cannot import signing key %s", k->key_file ? k->key_file : "?");
            goto end;
        }
        json_array_append_new(keys, pub);
        pub = NULL;
        json_decref(priv);
        priv = NULL;
    }
    op->jwks_json = json_dumps(set, JSON_COMPACT);
    if (!op->jwks_json)
        goto end;
    rc = 0;
end:
    json_decref(pub);
    json_decref(priv); /* jansson does not wipe: the private JWK was short-lived */
    json_decref(keys);
    json_decref(set);
    return rc;
}

const zr_oidc_signer_t *zr_oidc_signer_for(const zr_oidc_t *op, zr_sigalg_t alg)
{
    for (size_t i = 0; i < op->signer_count; i++)
        if (op->signers[i].cfg->alg == alg)
            return &op->signers[i];
    return NULL;
}

int zr_oidc_handle_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    if (req->method && strcmp(req->method, "OPTIONS") == 0)
        return zr_oidc_cors_preflight(op, req, resp, "GET, OPTIONS");
    if (zr_http_respond(resp, 200, "application/jwk-set+json", op->jwks_json, strlen(op->jwks_json)) != 0)
        return -1;
    zr_http_set_header(resp, "Cache-Control", "public, max-age=300");
    zr_oidc_cors(op, req, resp, NULL);
    return 0;
}

/* ---- client keys (private_key_jwt) ---- */

static int client_keys_load_one(zr_oidc_client_keys_t *ck, const zr_client_t *c, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *set = NULL, *keys;
    int rc = -1;
    size_t i;
    json_t *k;

    ck->client = c;
    if (!c->jwks_json || !(set = json_loads(c->jwks_json, JSON_REJECT_DUPLICATES, &jerr)) ||
        !json_is_array(keys = json_object_get(set, "keys"))) {
        snprintf(err, errlen, "oidc: client %s: private_key_jwt needs a JWK Set (jwks_file)", c->client_id);
        goto end;
    }
    ck->keys = calloc(json_array_size(keys) + 1, sizeof(*ck->keys));
    ck->kids = calloc(json_array_size(keys) + 1, sizeof(*ck->kids));
    if (!ck->keys || !ck->kids)
        goto end;
    json_array_foreach(keys, i, k) {
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *kid = json_string_value(json_object_get(k, "kid"));
        cjose_jwk_t *jwk;
        /* Encryption keys and private parts have no business here. */
        if ((use && strcmp(use, "sig") != 0) || json_object_get(k, "d"))
            continue;
        jwk = jwk_import(k);
        if (!jwk || cjose_jwk_get_kty(jwk, NULL) == CJOSE_JWK_KTY_OCT) {
            zr_log_warn("oidc", "client=%s key %zu in JWKS not usable, skipped", c->client_id, i);
            if (jwk)
                cjose_jwk_release(jwk);
            continue;
        }
        ck->keys[ck->count] = jwk;
        ck->kids[ck->count] = kid ? strdup(kid) : NULL;
        ck->count++;
    }
    if (ck->count == 0) {
        snprintf(err, errlen, "oidc: client %s: no usable signature key in its JWKS", c->client_id);
        goto end;
    }
    rc = 0;
end:
    json_decref(set);
    return rc;
}

int zr_oidc_client_keys_load(zr_oidc_t *op, char *err, size_t errlen)
{
    const zr_config_t *cfg = op->cfg;
    op->client_keys = calloc(cfg->client_count + 1, sizeof(*op->client_keys));
    op->client_keys_by_client = calloc(cfg->client_count + 1, sizeof(*op->client_keys_by_client));
    if (!op->client_keys || !op->client_keys_by_client)
        return -1;
    for (size_t i = 0; i < cfg->client_count; i++) {
        if (cfg->clients[i].auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT)
            continue;
        zr_oidc_client_keys_t *ck = &op->client_keys[op->client_keys_count++];
        op->client_keys_by_client[i] = ck;
        if (client_keys_load_one(ck, &cfg->clients[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

void zr_oidc_client_keys_free(zr_oidc_t *op)
{
    if (!op->client_keys)
        return;
    for (size_t i = 0; i < op->client_keys_count; i++) {
        zr_oidc_client_keys_t *ck = &op->client_keys[i];
        for (size_t j = 0; j < ck->count; j++) {
            cjose_jwk_release(ck->keys[j]);
            free(ck->kids[j]);
        }
        free(ck->keys);
        free(ck->kids);
    }
    free(op->client_keys);
    free(op->client_keys_by_client);
    op->client_keys = NULL;
    op->client_keys_by_client = NULL;
    op->client_keys_count = 0;
}

const zr_oidc_client_keys_t *zr_oidc_client_keys(const zr_oidc_t *op, const zr_client_t *client)
{
    /* By the client's position in cfg->clients: constant time with 10,000 clients. */
    const zr_client_t *base = op->cfg->clients;
    if (!client || !base || client < base || client >= base + op->cfg->client_count)
        return NULL;
    return op->client_keys_by_client[client - base];
}
