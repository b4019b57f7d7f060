/* Symmetric crypto and key handling on top of OpenSSL 3. */
#ifndef ZR_CRYPTO_H
#define ZR_CRYPTO_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <jansson.h>

#define ZR_AES_KEY_LEN 32
#define ZR_GCM_IV_LEN 12
#define ZR_GCM_TAG_LEN 16

/* AES-256-GCM. Sealed format: IV(12) || ciphertext || tag(16). 0 on success.
 * *out is malloc'ed. open fails (-1) on any authentication error. */
int zr_crypto_seal(const uint8_t key[ZR_AES_KEY_LEN], const uint8_t *aad, size_t aad_len,
                   const uint8_t *plain, size_t plain_len, uint8_t **out, size_t *out_len);
int zr_crypto_open(const uint8_t key[ZR_AES_KEY_LEN], const uint8_t *aad, size_t aad_len,
                   const uint8_t *sealed, size_t sealed_len, uint8_t **out, size_t *out_len);

/* HMAC-SHA256 into out[32]. */
int zr_crypto_hmac_sha256(const uint8_t *key, size_t key_len, const uint8_t *data,
                          size_t data_len, uint8_t out[32]);
int zr_crypto_sha256(const uint8_t *data, size_t len, uint8_t out[32]);

/* Loads PEM files. Return NULL and write a reason into err (errlen bytes). */
EVP_PKEY *zr_crypto_load_private_key(const char *path, char *err, size_t errlen);
X509 *zr_crypto_load_certificate(const char *path, char *err, size_t errlen);
/* The same, decoded in library context libctx (NULL: the default one):
 * threads that each use their own context decode in parallel (OpenSSL 3.0
 * serialises decoder set-up within one context). */
X509 *zr_crypto_load_certificate_ex(const char *path, OSSL_LIB_CTX *libctx, char *err, size_t errlen);
/* Loads every certificate of a PEM bundle into a new stack. */
STACK_OF(X509) *zr_crypto_load_certificates(const char *path, char *err, size_t errlen);
/* 1 when the private key belongs to the certificate. */
int zr_crypto_key_matches_cert(EVP_PKEY *key, X509 *cert);

/* KeyName as TVS uses it: lower-case hex SHA-1 of the DER certificate (40
 * chars). SHA-1 is an identifier here, not a security function. */
char *zr_crypto_cert_keyname(X509 *cert);
/* Lower-case hex SHA-256 of the DER certificate (64 chars); TVS also uses
 * this form of KeyName. */
char *zr_crypto_cert_sha256_hex(X509 *cert);
/* Base64 of the DER certificate, no line breaks (for X509Certificate, x5c). */
char *zr_crypto_cert_base64(X509 *cert);

/* Reads a 32-byte secret from a file: raw 32 bytes, or 64 hex chars, or
 * base64 of 32 bytes (whitespace ignored). */
int zr_crypto_load_secret(const char *path, uint8_t out[ZR_AES_KEY_LEN], char *err, size_t errlen);

/* The key as a JWK (RSA, RSA-PSS, EC P-256/384/521); with priv the private
 * members too. NULL for any other key. src/core/jwk.c */
json_t *zr_crypto_jwk_from_pkey(EVP_PKEY *pkey, int priv);
/* RFC 7638 thumbprint (base64url SHA-256) of a public JWK. malloc'ed. */
char *zr_crypto_jwk_thumbprint(const json_t *pub);

#endif
