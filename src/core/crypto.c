/* AES-256-GCM sealing, HMAC and PEM loading on OpenSSL 3. */
#include "zr/crypto.h"
#include "zr/util.h"

#include <ctype.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zr_crypto_seal(const uint8_t key[ZR_AES_KEY_LEN], const uint8_t *aad, size_t aad_len,
                   const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    uint8_t *buf = malloc(ZR_GCM_IV_LEN + plain_len + ZR_GCM_TAG_LEN);
    int len = 0, rc = -1;
    if (!ctx || !buf)
        goto end;
    if (zr_random_bytes(buf, ZR_GCM_IV_LEN) != 0)
        goto end;
    if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, buf) != 1)
        goto end;
    if (aad_len && EVP_EncryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
        goto end;
    if (EVP_EncryptUpdate(ctx, buf + ZR_GCM_IV_LEN, &len, plain, (int)plain_len) != 1)
        goto end;
    if (EVP_EncryptFinal_ex(ctx, buf + ZR_GCM_IV_LEN + len, &len) != 1)
        goto end;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, ZR_GCM_TAG_LEN,
                            buf + ZR_GCM_IV_LEN + plain_len) != 1)
        goto end;
    *out = buf;
    *out_len = ZR_GCM_IV_LEN + plain_len + ZR_GCM_TAG_LEN;
    buf = NULL;
    rc = 0;
end:
    free(buf);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int zr_crypto_open(const uint8_t key[ZR_AES_KEY_LEN], const uint8_t *aad, size_t aad_len,
                   const uint8_t *sealed, size_t sealed_len, uint8_t **out, size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t *buf = NULL;
    int len = 0, rc = -1;
    if (sealed_len < ZR_GCM_IV_LEN + ZR_GCM_TAG_LEN)
        return -1;
    size_t clen = sealed_len - ZR_GCM_IV_LEN - ZR_GCM_TAG_LEN;
    ctx = EVP_CIPHER_CTX_new();
    buf = malloc(clen + 1);
    if (!ctx || !buf)
        goto end;
    if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, sealed) != 1)
        goto end;
    if (aad_len && EVP_DecryptUpdate(ctx, NULL, &len, aad, (int)aad_len) != 1)
        goto end;
    if (EVP_DecryptUpdate(ctx, buf, &len, sealed + ZR_GCM_IV_LEN, (int)clen) != 1)
        goto end;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, ZR_GCM_TAG_LEN,
                            (void *)(sealed + ZR_GCM_IV_LEN + clen)) != 1)
        goto end;
    if (EVP_DecryptFinal_ex(ctx, buf + len, &len) != 1)
        goto end;
    buf[clen] = '\0';
    *out = buf;
    *out_len = clen;
    buf = NULL;
    rc = 0;
end:
    if (buf)
        OPENSSL_cleanse(buf, clen);
    free(buf);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int zr_crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
                          size_t data_len, uint8_t out[32])
{
    unsigned int len = 32;
    return HMAC(EVP_sha256(), key, (int)key_len, data, data_len, out, &len) ? 0 : -1;
}

int zr_crypto_sha256(const uint8_t *data, size_t len, uint8_t out[32])
{
    return SHA256(data, len, out) ? 0 : -1;
}

static void openssl_reason(const char *what, const char *path, char *err, size_t errlen)
{
    unsigned long e = ERR_get_error();
    char reason[256] = "";
    if (e)
        ERR_error_string_n(e, reason, sizeof(reason));
    ERR_clear_error();
    snprintf(err, errlen, "%s %s: %s", what, path, e ? reason : "no PEM object found");
}

EVP_PKEY *zr_crypto_load_private_key(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *key = NULL;
    if (!f) {
        snprintf(err, errlen, "cannot open private key %s", path);
        return NULL;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key)
        openssl_reason("cannot read private key", path, err, errlen);
    return key;
}

X509 *zr_crypto_load_certificate_ex(const char *path, OSSL_LIB_CTX *libctx, char *err, size_t errlen)
{
    char *pem = NULL;
    size_t len = 0;
    BIO *bio;
    X509 *cert = NULL, *read;
    if (zr_file_read(path, 1024 * 1024, &pem, &len) != 0) {
        snprintf(err, errlen, "cannot open certificate %s", path);
        return NULL;
    }
    bio = BIO_new_mem_buf(pem, (int)len);
    cert = bio ? X509_new_ex(libctx, NULL) : NULL;
    read = cert ? PEM_read_bio_X509(bio, &cert, NULL, NULL) : NULL;
    BIO_free(bio);
    free(pem);
    if (!read) {
        X509_free(cert);
        cert = NULL;
        openssl_reason("cannot read certificate", path, err, errlen);
    }
    return cert;
}

X509 *zr_crypto_load_certificate(const char *path, char *err, size_t errlen)
{
    return zr_crypto_load_certificate_ex(path, NULL, err, errlen);
}

STACK_OF(X509) *zr_crypto_load_certificates(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    STACK_OF(X509) *certs = NULL;
    X509 *cert;
    if (!f) {
        snprintf(err, errlen, "cannot open certificate bundle %s", path);
        return NULL;
    }
    certs = sk_X509_new_null();
    while (certs && (cert = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
        sk_X509_push(certs, cert);
    ERR_clear_error();
    fclose(f);
    if (certs && sk_X509_num(certs) == 0) {
        sk_X509_free(certs);
        certs = NULL;
        snprintf(err, errlen, "no certificate in %s", path);
    }
    return certs;
}

int zr_crypto_key_matches_cert(EVP_PKEY *key, X509 *cert)
{
    int rc = X509_check_private_key(cert, key) == 1;
    ERR_clear_error();
    return rc;
}

static char *cert_digest_hex(X509 *cert, const EVP_MD *md)
{
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (X509_digest(cert, md, buf, &len) != 1)
        return NULL;
    return zr_hex_encode(buf, len);
}

char *zr_crypto_cert_keyname(X509 *cert) { return cert_digest_hex(cert, EVP_sha1()); }
char *zr_crypto_cert_sha256_hex(X509 *cert) { return cert_digest_hex(cert, EVP_sha256()); }

char *zr_crypto_cert_base64(X509 *cert)
{
    unsigned char *der = NULL;
    int len = i2d_X509(cert, &der);
    char *out = NULL;
    if (len > 0)
        out = zr_base64_encode(der, (size_t)len);
    OPENSSL_free(der);
    return out;
}

int zr_crypto_load_secret(const char *path, uint8_t out[ZR_AES_KEY_LEN], char *err, size_t errlen)
{
    char *data = NULL, *clean = NULL;
    size_t len = 0, n = 0;
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    int rc = -1;
    if (zr_file_read(path, 4096, &data, &len) != 0) {
        snprintf(err, errlen, "cannot read secret file %s", path);
        return -1;
    }
    if (len == ZR_AES_KEY_LEN) {
        memcpy(out, data, ZR_AES_KEY_LEN);
        rc = 0;
        goto end;
    }
    clean = malloc(len + 1);
    for (size_t i = 0; clean && i < len; i++)
        if (!isspace((unsigned char)data[i]))
            clean[n++] = data[i];
    if (!clean)
        goto end;
    clean[n] = '\0';
    if (n == 64) {
        int ok = 1;
        for (size_t i = 0; i < 32 && ok; i++) {
            unsigned int v;
            ok = sscanf(clean + 2 * i, "%2x", &v) == 1 && isxdigit((unsigned char)clean[2 * i]) &&
                 isxdigit((unsigned char)clean[2 * i + 1]);
            out[i] = (uint8_t)v;
        }
        if (ok) {
            rc = 0;
            goto end;
        }
    }
    if (zr_base64_decode(clean, &dec, &dec_len) == 0 && dec_len == ZR_AES_KEY_LEN) {
        memcpy(out, dec, ZR_AES_KEY_LEN);
        rc = 0;
        goto end;
    }
    snprintf(err, errlen, "secret file %s must hold 32 bytes (raw, 64 hex characters or base64)", path);
end:
    if (dec)
        OPENSSL_cleanse(dec, dec_len);
    free(dec);
    if (clean)
        OPENSSL_cleanse(clean, n);
    free(clean);
    if (data)
        OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}
