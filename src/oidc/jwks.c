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

static int key_matches_alg(EVP_PKEY *pkey, zr_sigalg_t alg)
{
    if (alg == ZR_SIGALG_ES256)
        return EVP_PKEY_is_a(pkey, "EC") && EVP_PKEY_get_bits(pkey) == 256;
    return (EVP_PKEY_is_a(pkey, "RSA") || EVP_PKEY_is_a(pkey, "RSA-PSS")) && EVP_PKEY_get_bits(pkey) >= 2048;
}

/* RFC 7517 §4.7: base64 DER, the key's own certificate first, then the
 * chain its file holds (PKIoverheid intermediates). NULL on error. */
static json_t *x5c_of(const zr_oidc_key_t *k)
{
    json_t *x5c = json_array();
    int n = k->chain ? sk_X509_num(k->chain) : 0;

    for (int i = -1; x5c && i < n; i++) {
        char *der = zr_crypto_cert_base64(i < 0 ? k->cert : sk_X509_value(k->chain, i));
        if (!der || json_array_append_new(x5c, json_string(der)) != 0) {
            json_decref(x5c);
            x5c = NULL;
        }
        free(der);
    }
    return x5c;
}

int zr_oidc_jwks_build(zr_oidc_t *op, char *err, size_t errlen)
{
    const zr_oidc_config_t *oc = &op->cfg->oidc;
    json_t *set = json_object(), *keys = json_array(), *pub = NULL, *priv = NULL;
    int rc = -1;

    if (json_object_set(set, "keys", keys) != 0)
        goto end;
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
        pub = zr_crypto_jwk_from_pkey(k->key, 0);
        priv = zr_crypto_jwk_from_pkey(k->key, 1);
        if (!pub || !priv) {
            snprintf(err, errlen, "oidc: signing key %s cannot be expressed as a JWK", k->key_file ? k->key_file : "?");
            goto end;
        }
        s->kid = k->kid ? strdup(k->kid) : zr_crypto_jwk_thumbprint(pub);
        if (!s->kid)
            goto end;
        if (zr_oidc_json_set_str(pub, "kid", s->kid) != 0 || zr_oidc_json_set_str(pub, "use", "sig") != 0 ||
            zr_oidc_json_set_str(pub, "alg", zr_oidc_alg_name(k->alg)) != 0 ||
            (k->cert && zr_oidc_json_set(pub, "x5c", x5c_of(k)) != 0)) {
            snprintf(err, errlen, "oidc: signing key %s: its JWK cannot be written", k->key_file ? k->key_file : "?");
            goto end;
        }
        /* Production refuses this (src/config/oidc.c); elsewhere a test PKI may. */
        if (k->cert && !k->chain_to_root)
            zr_log_warn("oidc", "signing key kid=%s: x5c does not reach a root certificate (%s holds no whole "
                                "chain; NL GOV §Public keys, production refuses it)",
                        s->kid, k->cert_file ? k->cert_file : "its cert");
        s->alg = zr_oidc_alg_name(k->alg);
        s->jwk = jwk_import(priv);
        if (!s->jwk || !cjose_jwk_set_kid(s->jwk, s->kid, strlen(s->kid), &cerr)) {
            snprintf(err, errlen, "oidc: cjose cannot import signing key %s", k->key_file ? k->key_file : "?");
            goto end;
        }
        if (json_array_append_new(keys, pub) != 0) {
            pub = NULL;
            goto end;
        }
        pub = NULL;
        json_decref(priv);
        priv = NULL;
    }
    /* Issue 17 §1: our encryption keys, use enc (OIDC Core §10.2.1: all of
     * them, so that clients may encrypt to a new one before the old goes). */
    for (size_t i = 0; i < oc->enc_key_count; i++) {
        const zr_oidc_enc_key_t *k = &oc->enc_keys[i];
        if (!k->key || !EVP_PKEY_is_a(k->key, "RSA") || EVP_PKEY_get_bits(k->key) < 2048 || !k->kid ||
            !(pub = zr_crypto_jwk_from_pkey(k->key, 0)) || zr_oidc_json_set_str(pub, "kid", k->kid) != 0 ||
            zr_oidc_json_set_str(pub, "use", "enc") != 0 ||
            zr_oidc_json_set_str(pub, "alg", zr_jwe_alg_names[k->alg]) != 0 || json_array_append_new(keys, pub) != 0) {
            pub = NULL;
            snprintf(err, errlen, "oidc: encryption key %s cannot be published", k->key_file ? k->key_file : "?");
            goto end;
        }
        pub = NULL;
    }
    if (oc->enc_key_count == 0 && op->cfg->environment == ZR_ENV_PRODUCTION)
        zr_log_warn("oidc", "no oidc.encryption_keys: encrypted request objects are refused (NL GOV §Request "
                            "Objects: OpenID Providers MUST accept them; docs/configuration.md#oidc)");
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
    zr_oidc_set_metadata_cache(op, resp);
    zr_oidc_cors(op, req, resp, NULL);
    return 0;
}

/* NL GOV §Caching: valid for at least a week (the default). A new key is
 * published that long before it signs (docs/operations.md): a portal that
 * cached the old set still refetches on an unknown kid, but need not. */
void zr_oidc_set_metadata_cache(const zr_oidc_t *op, zr_http_response_t *resp)
{
    char value[64];
    int max_age = op->cfg->oidc.metadata_max_age_s > 0 ? op->cfg->oidc.metadata_max_age_s : 604800;
    snprintf(value, sizeof(value), "public, max-age=%d", max_age);
    zr_http_set_header(resp, "Cache-Control", value);
}

/* ---- client keys (private_key_jwt) ---- */

/* The first RSA key of the client's set to encrypt to with alg: use enc
 * or none, alg that one or none (OIDC Core §10.2). */
static int client_enc_key_find(json_t *keys, const char *alg, EVP_PKEY **key, char **kid)
{
    size_t i;
    json_t *k;
    int rc = -1;
    json_array_foreach(keys, i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *kalg = json_string_value(json_object_get(k, "alg"));
        const char *id = json_string_value(json_object_get(k, "kid"));
        if (!kty || strcmp(kty, "RSA") != 0 || (use && strcmp(use, "enc") != 0) || (kalg && strcmp(kalg, alg) != 0))
            continue;
        if ((*key = zr_jwe_rsa_public_from_jwk(k)) && EVP_PKEY_get_bits(*key) >= 2048 && (!id || (*kid = strdup(id))))
            rc = 0;
        break;
    }
    if (rc != 0) {
        EVP_PKEY_free(*key);
        *key = NULL;
    }
    return rc;
}

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
    if ((c->userinfo_encrypted &&
         client_enc_key_find(keys, zr_jwe_alg_names[c->userinfo_enc_alg], &ck->userinfo_enc_key,
                             &ck->userinfo_enc_kid) != 0) ||
        (c->id_token_encrypted && client_enc_key_find(keys, zr_jwe_alg_names[c->id_token_enc_alg],
                                                      &ck->id_token_enc_key, &ck->id_token_enc_kid) != 0)) {
        snprintf(err, errlen, "oidc: client %s: no usable RSA encryption key in its JWKS", c->client_id);
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
        EVP_PKEY_free(ck->userinfo_enc_key);
        EVP_PKEY_free(ck->id_token_enc_key);
        free(ck->userinfo_enc_kid);
        free(ck->id_token_enc_kid);
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

char *zr_oidc_encrypt_for_client(const zr_oidc_t *op, const zr_client_t *c, int id_token, const char *plain,
                                 int nested_jwt)
{
    const zr_oidc_client_keys_t *ck = zr_oidc_client_keys(op, c);
    EVP_PKEY *key = !ck ? NULL : id_token ? ck->id_token_enc_key : ck->userinfo_enc_key;
    const char *kid = !ck ? NULL : id_token ? ck->id_token_enc_kid : ck->userinfo_enc_kid;
    int alg = id_token ? c->id_token_enc_alg : c->userinfo_enc_alg;
    if (!key || !plain)
        return NULL;
    /* OIDC Core §16.14: a nested JWT says so in cty. */
    return zr_jwe_encrypt(key, (zr_jwe_alg_t)alg, kid, nested_jwt ? "JWT" : NULL, (const uint8_t *)plain,
                          strlen(plain));
}
