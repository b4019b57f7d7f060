/* JWE compact serialization (RFC 7516, algorithms RFC 7518 §4.3 and §5.3),
 * hand-written on OpenSSL EVP because cjose 0.6.2 has no RSA-OAEP-256
 * (NL GOV §Algorithms: SHOULD) and imports any header it is given. One
 * place parses an encrypted object a client sends (request objects) and
 * one encrypts what the relay sends a client (UserInfo, ID tokens). */
#include "zr/jwe.h"
#include "zr/json.h"
#include "zr/util.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <stdlib.h>
#include <string.h>

const char *const zr_jwe_alg_names[] = {"RSA-OAEP", "RSA-OAEP-256", NULL};
const char *const zr_jwe_enc_names[] = {"A256GCM", NULL};

#define CEK_LEN 32 /* A256GCM */
#define IV_LEN 12
#define TAG_LEN 16
#define HEADER_MAX 1024

static int b64url_only(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int decode_segment(const char *s, size_t n, uint8_t **out, size_t *out_len)
{
    char *seg = strndup(s, n);
    int rc = seg ? zr_base64url_decode(seg, out, out_len) : -1;
    free(seg);
    return rc;
}

static int name_index(const char *const *names, const char *v)
{
    for (int i = 0; v && names[i]; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    return -1;
}

static int header_read(zr_jwe_t *out, const uint8_t *raw, size_t len, const char **why)
{
    json_t *h = zr_json_parse_object((const char *)raw, len, HEADER_MAX, NULL);
    const char *kid, *cty;
    json_t *v;
    int alg, rc = -1;

    if (!h) {
        *why = "JWE header is not a JSON object";
        goto end;
    }
    /* We understand no extension (RFC 7516 §4.1.13), and a compressed
     * plaintext leaks through its length (and is a decompression bomb). */
    if (json_object_get(h, "crit") || json_object_get(h, "zip")) {
        *why = "JWE header has crit or zip";
        goto end;
    }
    if ((alg = name_index(zr_jwe_alg_names, json_string_value(json_object_get(h, "alg")))) < 0) {
        *why = "JWE alg not allowed (RSA-OAEP or RSA-OAEP-256)";
        goto end;
    }
    if (name_index(zr_jwe_enc_names, json_string_value(json_object_get(h, "enc"))) < 0) {
        *why = "JWE enc not allowed (A256GCM)";
        goto end;
    }
    out->alg = (zr_jwe_alg_t)alg;
    v = json_object_get(h, "kid");
    if (v && (!(kid = json_string_value(v)) || !(out->kid = strdup(kid)))) {
        *why = "JWE kid is not a string";
        goto end;
    }
    v = json_object_get(h, "cty");
    if (v && (!(cty = json_string_value(v)) || !(out->cty = strdup(cty)))) {
        *why = "JWE cty is not a string";
        goto end;
    }
    rc = 0;
end:
    json_decref(h);
    return rc;
}

int zr_jwe_parse(const char *compact, zr_jwe_t *out, const char **why)
{
    const char *seg[5];
    size_t len[5], n, i = 0;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *why = "not a compact JWE";
    if (!compact || (n = strnlen(compact, ZR_JWE_MAX_LEN + 1)) > ZR_JWE_MAX_LEN) {
        *why = "JWE too large";
        goto end;
    }
    seg[0] = compact;
    for (const char *p = compact;; p++) {
        if (*p == '.' || *p == '\0') {
            if (i >= 5)
                goto end;
            len[i] = (size_t)(p - seg[i]);
            if (!b64url_only(seg[i], len[i]))
                goto end;
            i++;
            if (*p == '\0')
                break;
            seg[i < 5 ? i : 4] = p + 1;
        }
    }
    if (i != 5 || len[0] == 0 || len[1] == 0 || len[2] == 0 || len[3] == 0 || len[4] == 0)
        goto end;
    if (decode_segment(seg[0], len[0], &raw, &raw_len) != 0 || header_read(out, raw, raw_len, why) != 0)
        goto end;
    *why = "JWE segments unreadable";
    if (!(out->protected_b64 = strndup(seg[0], len[0])) ||
        decode_segment(seg[1], len[1], &out->ek, &out->ek_len) != 0 ||
        decode_segment(seg[2], len[2], &out->iv, &out->iv_len) != 0 ||
        decode_segment(seg[3], len[3], &out->ct, &out->ct_len) != 0 ||
        decode_segment(seg[4], len[4], &out->tag, &out->tag_len) != 0)
        goto end;
    if (out->iv_len != IV_LEN || out->tag_len != TAG_LEN) {
        *why = "JWE IV or tag has the wrong length for A256GCM";
        goto end;
    }
    *why = NULL;
    rc = 0;
end:
    free(raw);
    if (rc != 0)
        zr_jwe_clear(out);
    return rc;
}

void zr_jwe_clear(zr_jwe_t *jwe)
{
    free(jwe->kid);
    free(jwe->cty);
    free(jwe->protected_b64);
    free(jwe->ek);
    free(jwe->iv);
    free(jwe->ct);
    free(jwe->tag);
    memset(jwe, 0, sizeof(*jwe));
}

/* RFC 7518 §4.3: OAEP with SHA-1 and MGF1-SHA-1, or both SHA-256. */
static int oaep_setup(EVP_PKEY_CTX *ctx, zr_jwe_alg_t alg)
{
    const EVP_MD *md = alg == ZR_JWE_RSA_OAEP_256 ? EVP_sha256() : EVP_sha1();
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_oaep_md(ctx, md) > 0 && EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) > 0;
}

static int rsa_key_ok(EVP_PKEY *key)
{
    return key && EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_get_bits(key) >= 2048;
}

int zr_jwe_decrypt(const zr_jwe_t *jwe, EVP_PKEY *key, uint8_t **plain, size_t *plain_len, const char **why)
{
    EVP_PKEY_CTX *pctx = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    uint8_t cek[CEK_LEN], *buf = NULL, *out = NULL;
    size_t buf_len = 0;
    int len = 0, fin = 0, rc = -1, cek_ok = 0;

    *plain = NULL;
    *plain_len = 0;
    *why = "JWE cannot be decrypted";
    if (!jwe || !jwe->protected_b64 || !rsa_key_ok(key) || jwe->ct_len > ZR_JWE_MAX_LEN)
        goto end;
    /* RFC 7516 §11.5: a CEK that does not decrypt (or has the wrong
     * length) becomes a random one, so that only the tag check fails and
     * the answer says nothing about the RSA step (Bleichenbacher, Manger). */
    if (zr_random_bytes(cek, sizeof(cek)) != 0)
        goto end;
    if ((pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) && EVP_PKEY_decrypt_init(pctx) > 0 &&
        oaep_setup(pctx, jwe->alg) && EVP_PKEY_decrypt(pctx, NULL, &buf_len, jwe->ek, jwe->ek_len) > 0 &&
        (buf = malloc(buf_len)) && EVP_PKEY_decrypt(pctx, buf, &buf_len, jwe->ek, jwe->ek_len) > 0)
        cek_ok = buf_len == CEK_LEN;
    if (cek_ok)
        memcpy(cek, buf, CEK_LEN);
    ERR_clear_error();
    if (!(out = malloc(jwe->ct_len + 1)) || !(cctx = EVP_CIPHER_CTX_new()) ||
        EVP_DecryptInit_ex(cctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(cctx, NULL, NULL, cek, jwe->iv) != 1 ||
        EVP_DecryptUpdate(cctx, NULL, &len, (const uint8_t *)jwe->protected_b64, (int)strlen(jwe->protected_b64)) !=
            1 ||
        EVP_DecryptUpdate(cctx, out, &len, jwe->ct, (int)jwe->ct_len) != 1 ||
        EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, jwe->tag) != 1)
        goto end;
    /* OpenSSL compares the GCM tag in constant time (CRYPTO_memcmp). */
    if (EVP_DecryptFinal_ex(cctx, out + len, &fin) != 1 || !cek_ok)
        goto end;
    *plain_len = (size_t)len + (size_t)fin;
    out[*plain_len] = '\0';
    *plain = out;
    out = NULL;
    *why = NULL;
    rc = 0;
end:
    ERR_clear_error();
    OPENSSL_cleanse(cek, sizeof(cek));
    if (buf)
        OPENSSL_clear_free(buf, buf_len);
    if (out)
        OPENSSL_clear_free(out, jwe->ct_len + 1);
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_CTX_free(pctx);
    return rc;
}

char *zr_jwe_encrypt(EVP_PKEY *pub, zr_jwe_alg_t alg, const char *kid, const char *cty, const uint8_t *plain,
                     size_t plain_len)
{
    json_t *h = json_object();
    EVP_PKEY_CTX *pctx = NULL;
    EVP_CIPHER_CTX *cctx = NULL;
    uint8_t cek[CEK_LEN], iv[IV_LEN], tag[TAG_LEN], *ek = NULL, *ct = NULL;
    size_t ek_len = 0;
    char *hjson = NULL, *h64 = NULL, *ek64 = NULL, *iv64 = NULL, *ct64 = NULL, *tag64 = NULL, *out = NULL;
    int len = 0, fin = 0;
    zr_buf_t b;

    zr_buf_init(&b);
    if (!h || !rsa_key_ok(pub) || plain_len == 0 || plain_len > ZR_JWE_MAX_LEN || (alg != ZR_JWE_RSA_OAEP && alg != ZR_JWE_RSA_OAEP_256))
        goto end;
    if (json_object_set_new(h, "alg", json_string(zr_jwe_alg_names[alg])) != 0 ||
        json_object_set_new(h, "enc", json_string(zr_jwe_enc_names[0])) != 0 ||
        (kid && json_object_set_new(h, "kid", json_string(kid)) != 0) ||
        (cty && json_object_set_new(h, "cty", json_string(cty)) != 0) ||
        !(hjson = json_dumps(h, JSON_COMPACT)) || !(h64 = zr_base64url_encode((uint8_t *)hjson, strlen(hjson))))
        goto end;
    if (zr_random_bytes(cek, sizeof(cek)) != 0 || zr_random_bytes(iv, sizeof(iv)) != 0)
        goto end;
    if (!(pctx = EVP_PKEY_CTX_new_from_pkey(NULL, pub, NULL)) || EVP_PKEY_encrypt_init(pctx) <= 0 ||
        !oaep_setup(pctx, alg) || EVP_PKEY_encrypt(pctx, NULL, &ek_len, cek, sizeof(cek)) <= 0 ||
        !(ek = malloc(ek_len)) || EVP_PKEY_encrypt(pctx, ek, &ek_len, cek, sizeof(cek)) <= 0)
        goto end;
    if (!(ct = malloc(plain_len + 1)) || !(cctx = EVP_CIPHER_CTX_new()) ||
        EVP_EncryptInit_ex(cctx, EVP_aes_256_gcm(), NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_SET_IVLEN, IV_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(cctx, NULL, NULL, cek, iv) != 1 ||
        EVP_EncryptUpdate(cctx, NULL, &len, (const uint8_t *)h64, (int)strlen(h64)) != 1 ||
        EVP_EncryptUpdate(cctx, ct, &len, plain, (int)plain_len) != 1 || EVP_EncryptFinal_ex(cctx, ct + len, &fin) != 1 ||
        EVP_CIPHER_CTX_ctrl(cctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
        goto end;
    if (!(ek64 = zr_base64url_encode(ek, ek_len)) || !(iv64 = zr_base64url_encode(iv, sizeof(iv))) ||
        !(ct64 = zr_base64url_encode(ct, (size_t)len + (size_t)fin)) || !(tag64 = zr_base64url_encode(tag, sizeof(tag))))
        goto end;
    if (zr_buf_printf(&b, "%s.%s.%s.%s.%s", h64, ek64, iv64, ct64, tag64) != 0)
        goto end;
    out = b.data;
    b.data = NULL;
end:
    ERR_clear_error();
    OPENSSL_cleanse(cek, sizeof(cek));
    if (ct)
        OPENSSL_clear_free(ct, plain_len + 1);
    zr_buf_free(&b);
    free(hjson);
    free(h64);
    free(ek);
    free(ek64);
    free(iv64);
    free(ct64);
    free(tag64);
    EVP_CIPHER_CTX_free(cctx);
    EVP_PKEY_CTX_free(pctx);
    json_decref(h);
    return out;
}

EVP_PKEY *zr_jwe_rsa_public_from_jwk(const json_t *jwk)
{
    const char *kty = json_string_value(json_object_get(jwk, "kty"));
    const char *n64 = json_string_value(json_object_get(jwk, "n"));
    const char *e64 = json_string_value(json_object_get(jwk, "e"));
    uint8_t *n = NULL, *e = NULL;
    size_t n_len = 0, e_len = 0;
    BIGNUM *bn = NULL, *be = NULL;
    OSSL_PARAM_BLD *bld = NULL;
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    EVP_PKEY *key = NULL;

    if (!kty || strcmp(kty, "RSA") != 0 || !n64 || !e64 || zr_base64url_decode(n64, &n, &n_len) != 0 ||
        zr_base64url_decode(e64, &e, &e_len) != 0 || n_len == 0 || e_len == 0)
        goto end;
    if (!(bn = BN_bin2bn(n, (int)n_len, NULL)) || !(be = BN_bin2bn(e, (int)e_len, NULL)) ||
        !(bld = OSSL_PARAM_BLD_new()) || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) || !(params = OSSL_PARAM_BLD_to_param(bld)) ||
        !(ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) || EVP_PKEY_fromdata_init(ctx) <= 0 ||
        EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params) <= 0)
        goto end;
end:
    ERR_clear_error();
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(bn);
    BN_free(be);
    free(n);
    free(e);
    return key;
}
