/* JWE compact serialization (RFC 7516/7518) for the OpenID Provider:
 * request objects encrypted to the relay (issue 17 §1), UserInfo and ID
 * tokens encrypted to a client (issue 17 §2). src/oidc/jwe.c.
 *
 * Only what NL GOV §Algorithms allows: key management RSA-OAEP and
 * RSA-OAEP-256 (never RSA1_5, dir or key wrap), content encryption A256GCM
 * only (nothing weaker than A256GCM; A128CBC-HS256 is refused). */
#ifndef ZR_JWE_H
#define ZR_JWE_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>

typedef enum { ZR_JWE_RSA_OAEP = 0, ZR_JWE_RSA_OAEP_256 } zr_jwe_alg_t;

/* Same order as zr_jwe_alg_t, NULL-terminated (discovery, configuration). */
extern const char *const zr_jwe_alg_names[];
/* The content encryption algorithms offered: "A256GCM". */
extern const char *const zr_jwe_enc_names[];

/* The longest compact JWE zr_jwe_parse reads. */
#define ZR_JWE_MAX_LEN 65536

/* A parsed compact JWE, not yet decrypted. */
typedef struct {
    zr_jwe_alg_t alg;
    char *kid;            /* NULL when the header has none */
    char *cty;            /* NULL when the header has none */
    char *protected_b64;  /* the first segment: the AAD (RFC 7516 §5.1 step 14) */
    uint8_t *ek, *iv, *ct, *tag;
    size_t ek_len, iv_len, ct_len, tag_len;
} zr_jwe_t;

/* Splits and checks compact (five segments, base64url only, at most
 * ZR_JWE_MAX_LEN); the header through the hardened JSON parser, alg and
 * enc from the allow-lists, no `zip`, no `crit`. 0, or -1 with *why (a
 * fixed English text, no input echoed). */
int zr_jwe_parse(const char *compact, zr_jwe_t *out, const char **why);
/* Decrypts jwe with the RSA private key. On any failure (wrong key,
 * tampered key, IV, ciphertext, tag or header) -1 with one *why: the CEK
 * decryption failure is not told apart from a bad tag (RFC 7516 §11.5).
 * *plain is malloc'ed, NUL-terminated (not counted in *plain_len). */
int zr_jwe_decrypt(const zr_jwe_t *jwe, EVP_PKEY *key, uint8_t **plain, size_t *plain_len, const char **why);
void zr_jwe_clear(zr_jwe_t *jwe);

/* plain encrypted to the RSA public key pub with alg and A256GCM; the
 * header carries kid and cty when given ("JWT" for a nested JWT). Compact
 * JWE, malloc'ed, or NULL (also for an empty plain: its ciphertext segment
 * would be empty, which zr_jwe_parse refuses). */
char *zr_jwe_encrypt(EVP_PKEY *pub, zr_jwe_alg_t alg, const char *kid, const char *cty, const uint8_t *plain,
                     size_t plain_len);

/* The RSA public key of a JWK (kty RSA, n, e), or NULL. */
EVP_PKEY *zr_jwe_rsa_public_from_jwk(const json_t *jwk);

#endif
