/* Loading and checking the keys and certificates a configuration names.
 * Everything is checked at load so that a running relay never meets a key
 * that does not fit its certificate or an expired certificate. */
#include "config_internal.h"

#include <limits.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

/* The largest private key file we read (RSA 16384 in PEM is ~13 KiB). */
#define ZR_CFG_MAX_KEY_FILE (64 * 1024)

struct zr_cfg_key_cache {
    OSSL_DECODER_CTX *decoder; /* DER PrivateKeyInfo (PKCS #8) holding RSA: BSN and SAML keys */
    EVP_PKEY *decoded;         /* where the decoder puts its result */
};

struct zr_cfg_key_cache *zr_cfg_key_cache_new(void)
{
    struct zr_cfg_key_cache *kc = calloc(1, sizeof(*kc));
    if (!kc)
        return NULL;
    kc->decoder = OSSL_DECODER_CTX_new_for_pkey(&kc->decoded, "DER", "PrivateKeyInfo", "RSA", EVP_PKEY_KEYPAIR,
                                                NULL, NULL);
    if (!kc->decoder || OSSL_DECODER_CTX_get_num_decoders(kc->decoder) == 0) {
        zr_cfg_key_cache_free(kc);
        kc = NULL;
    }
    ERR_clear_error();
    return kc;
}

void zr_cfg_key_cache_free(struct zr_cfg_key_cache *kc)
{
    if (!kc)
        return;
    OSSL_DECODER_CTX_free(kc->decoder);
    EVP_PKEY_free(kc->decoded);
    free(kc);
}

/* The fast path handles the common file, one unencrypted "PRIVATE KEY"
 * block; anything else (PKCS #1, SEC1, several blocks) and every failure go
 * the general way, which also words the error. */
EVP_PKEY *zr_cfg_load_private_key(zr_cfg_loader_t *ld, const char *path, char *err, size_t errlen)
{
    struct zr_cfg_key_cache *kc = ld ? ld->keys : NULL;
    char *text = NULL, *name = NULL, *header = NULL;
    unsigned char *der = NULL;
    const unsigned char *p;
    size_t text_len = 0, left;
    long der_len = 0;
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;

    if (!kc || zr_file_read(path, ZR_CFG_MAX_KEY_FILE, &text, &text_len) != 0)
        goto end;
    if (!(bio = BIO_new_mem_buf(text, (int)text_len)) || !PEM_read_bio(bio, &name, &header, &der, &der_len))
        goto end;
    if (strcmp(name, "PRIVATE KEY") != 0 || (header && *header) || der_len <= 0)
        goto end;
    p = der;
    left = (size_t)der_len;
    EVP_PKEY_free(kc->decoded);
    kc->decoded = NULL;
    if (OSSL_DECODER_from_data(kc->decoder, &p, &left) == 1 && left == 0) {
        key = kc->decoded;
        kc->decoded = NULL;
    }
end:
    ERR_clear_error();
    BIO_free(bio);
    if (text)
        OPENSSL_cleanse(text, text_len);
    free(text);
    OPENSSL_free(name);
    OPENSSL_free(header);
    if (der)
        OPENSSL_clear_free(der, (size_t)der_len);
    return key ? key : zr_crypto_load_private_key(path, err, errlen);
}

static void asn1_date(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%d %H:%M:%S UTC", &tm);
    else
        snprintf(out, 32, "(unreadable date)");
}

int zr_cfg_check_cert_time(const zr_cfg_map_t *m, const char *key, X509 *cert, const char *what)
{
    char kpath[ZR_CFG_PATH_MAX], date[32];
    time_t now = zr_time_now();
    yaml_node_t *at = zr_cfg_map_get(m, key);
    zr_cfg_path_key(kpath, m->path, key);
    if (X509_cmp_time(X509_get0_notAfter(cert), &now) <= 0) {
        asn1_date(X509_get0_notAfter(cert), date);
        zr_cfg_error(m->ld, at, kpath, "certificate %s expired on %s", what, date);
        return -1;
    }
    if (X509_cmp_time(X509_get0_notBefore(cert), &now) > 0) {
        asn1_date(X509_get0_notBefore(cert), date);
        zr_cfg_error(m->ld, at, kpath, "certificate %s is not valid before %s", what, date);
        return -1;
    }
    return 0;
}

/* What is wrong with a key's strength, or NULL when nothing: RSA >= 2048
 * bits, EC on P-256, P-384 or P-521 (nothing weaker, nothing exotic). */
static const char *key_strength_problem(EVP_PKEY *pkey, int flags, char *why, size_t whylen)
{
    char group[64] = "";
    size_t glen = 0;
    const char *problem = NULL;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(pkey) < 2048) {
            snprintf(why, whylen, "RSA key of %d bits; at least 2048 are required", EVP_PKEY_get_bits(pkey));
            problem = why;
        }
    } else if (flags & ZR_CFG_KEY_RSA_ONLY) {
        problem = "must be an RSA key (eID SAML requires RSA >= 2048)";
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC &&
               EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1) {
        if (strcmp(group, "prime256v1") && strcmp(group, "secp384r1") && strcmp(group, "secp521r1")) {
            snprintf(why, whylen, "EC key on curve %s; use P-256, P-384 or P-521", group);
            problem = why;
        }
    } else {
        problem = "unsupported key type (use RSA >= 2048 or EC P-256/P-384/P-521)";
    }
    ERR_clear_error();
    return problem;
}

int zr_cfg_check_key_strength(const zr_cfg_map_t *m, const char *key, EVP_PKEY *pkey, int flags)
{
    char kpath[ZR_CFG_PATH_MAX], why[128];
    const char *problem = key_strength_problem(pkey, flags, why, sizeof(why));
    if (!problem)
        return 0;
    zr_cfg_path_key(kpath, m->path, key);
    zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "%s", problem);
    return -1;
}

int zr_cfg_check_certs_strength(const zr_cfg_map_t *m, const char *key, STACK_OF(X509) *certs)
{
    char kpath[ZR_CFG_PATH_MAX], why[128];
    int rc = 0;
    for (int i = 0; certs && i < sk_X509_num(certs) && rc == 0; i++) {
        EVP_PKEY *pub = X509_get0_pubkey(sk_X509_value(certs, i));
        const char *problem = pub ? key_strength_problem(pub, 0, why, sizeof(why)) : "certificate without a usable public key";
        if (!problem)
            continue;
        zr_cfg_path_key(kpath, m->path, key);
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "certificate %d of the file: %s", i + 1, problem);
        rc = -1;
    }
    ERR_clear_error();
    return rc;
}

int zr_config_key_file_mode(const char *file, zr_environment_t env, char *why, size_t whylen)
{
    struct stat st;
    unsigned mode;
    if (!file || env == ZR_ENV_DEVELOPMENT || stat(file, &st) != 0 || !(st.st_mode & 077))
        return 0;
    mode = (unsigned)(st.st_mode & 07777);
    if (env == ZR_ENV_PRODUCTION) {
        snprintf(why, whylen, "%s is open to group or others (mode %04o), refused in production: chmod 600 %s", file,
                 mode, file);
        return -1;
    }
    snprintf(why, whylen, "%s is open to group or others (mode %04o); production refuses it: chmod 600 %s", file,
             mode, file);
    return 1;
}

int zr_cfg_check_file_mode(const zr_cfg_map_t *m, const char *key, const char *file)
{
    char kpath[ZR_CFG_PATH_MAX], why[2 * PATH_MAX + 128]; /* two paths: never truncated */
    int rc = zr_config_key_file_mode(file, m->ld->env, why, sizeof(why));
    if (rc == 0)
        return 0;
    zr_cfg_path_key(kpath, m->path, key);
    if (rc < 0) {
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "%s", why);
        return -1;
    }
    zr_log_warn("config", "%s: %s", kpath, why);
    return 0;
}

/* The bit length of a big-endian unsigned integer (leading zeros skipped). */
static int be_bits(const uint8_t *b, size_t len)
{
    size_t i = 0;
    int bits;
    while (i < len && b[i] == 0)
        i++;
    if (i == len)
        return 0;
    bits = (int)((len - i - 1) * 8);
    for (uint8_t top = b[i]; top; top >>= 1)
        bits++;
    return bits;
}

int zr_cfg_check_jwks_strength(const char *json, char *why, size_t whylen)
{
    json_t *root = json_loads(json, 0, NULL), *k;
    uint8_t *n = NULL;
    size_t i, nlen = 0;
    int rc = -1;
    if (!root || !json_is_array(json_object_get(root, "keys"))) {
        snprintf(why, whylen, "must be a JWKS: an object with a \"keys\" array");
        goto end;
    }
    json_array_foreach(json_object_get(root, "keys"), i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (kty && !strcmp(kty, "RSA")) {
            const char *n64 = json_string_value(json_object_get(k, "n"));
            int bits;
            if (!n64 || zr_base64url_decode(n64, &n, &nlen) != 0) {
                snprintf(why, whylen, "keys[%zu] has no readable \"n\" (RSA modulus)", i);
                goto end;
            }
            bits = be_bits(n, nlen);
            zr_release(n);
            if (bits < 2048) {
                snprintf(why, whylen, "keys[%zu] is an RSA key of %d bits; at least 2048 are required", i, bits);
                goto end;
            }
        } else if (kty && !strcmp(kty, "EC")) {
            const char *crv = json_string_value(json_object_get(k, "crv"));
            if (!crv || (strcmp(crv, "P-256") && strcmp(crv, "P-384") && strcmp(crv, "P-521"))) {
                snprintf(why, whylen, "keys[%zu] is an EC key on curve %s; use P-256, P-384 or P-521", i,
                         crv ? crv : "(none)");
                goto end;
            }
        }
    }
    rc = 0;
end:
    free(n);
    json_decref(root);
    return rc;
}

int zr_cfg_load_keypair(const zr_cfg_map_t *m, int flags, char **cert_file, char **key_file,
                        X509 **cert, EVP_PKEY **key)
{
    char kpath[ZR_CFG_PATH_MAX], err[512];
    int rc = 0;
    if (zr_cfg_get_path(m, "cert", 1, cert_file) != 1)
        rc = -1;
    if (zr_cfg_get_path(m, "key", 1, key_file) != 1)
        rc = -1;
    if (rc)
        return -1;
    if (!(*cert = zr_crypto_load_certificate_ex(*cert_file, m->ld->libctx, err, sizeof(err)))) {
        zr_cfg_path_key(kpath, m->path, "cert");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "cert"), kpath, "%s", err);
        rc = -1;
    }
    if (!(*key = zr_cfg_load_private_key(m->ld, *key_file, err, sizeof(err)))) {
        zr_cfg_path_key(kpath, m->path, "key");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "key"), kpath, "%s", err);
        rc = -1;
    }
    if (rc)
        return -1;
    if (zr_cfg_check_file_mode(m, "key", *key_file) != 0)
        rc = -1;
    if (!zr_crypto_key_matches_cert(*key, *cert)) {
        zr_cfg_path_key(kpath, m->path, "key");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "key"), kpath,
                     "the private key does not belong to the certificate %s", *cert_file);
        return -1;
    }
    if (zr_cfg_check_key_strength(m, "key", *key, flags) != 0)
        rc = -1;
    if (zr_cfg_check_cert_time(m, "cert", *cert, *cert_file) != 0)
        rc = -1;
    /* TVS wraps the AES key with RSA-OAEP: the certificate must allow key
     * encipherment (a certificate without keyUsage allows everything). */
    if ((flags & ZR_CFG_KEY_ENCIPHER) && !(X509_get_key_usage(*cert) & KU_KEY_ENCIPHERMENT)) {
        zr_cfg_path_key(kpath, m->path, "cert");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "cert"), kpath,
                     "certificate %s does not allow keyEncipherment (keyUsage); it cannot be a BSN "
                     "encryption certificate", *cert_file);
        rc = -1;
    }
    return rc;
}

static char *bn_b64url(const BIGNUM *bn, int pad)
{
    int len = pad ? pad : BN_num_bytes(bn);
    uint8_t *buf = malloc((size_t)len ? (size_t)len : 1);
    char *out = NULL;
    if (!buf)
        return NULL;
    if (BN_bn2binpad(bn, buf, len) == len)
        out = zr_base64url_encode(buf, (size_t)len);
    free(buf);
    return out;
}

char *zr_cfg_jwk_thumbprint(EVP_PKEY *pkey)
{
    BIGNUM *a = NULL, *b = NULL;
    char *sa = NULL, *sb = NULL, *json = NULL, *out = NULL;
    uint8_t digest[32];
    int n = -1;
    if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA) {
        if (!EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &a) ||
            !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &b))
            goto end;
        sa = bn_b64url(a, 0);
        sb = bn_b64url(b, 0);
        if (sa && sb) /* RFC 7638 §3.2: required members, sorted, no whitespace */
            n = asprintf(&json, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", sa, sb);
    } else if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_EC) {
        char group[64] = "";
        size_t glen = 0;
        const char *crv = NULL;
        int size = 0;
        if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) != 1)
            goto end;
        if (!strcmp(group, "prime256v1"))
            crv = "P-256", size = 32;
        else if (!strcmp(group, "secp384r1"))
            crv = "P-384", size = 48;
        else if (!strcmp(group, "secp521r1"))
            crv = "P-521", size = 66;
        if (!crv || !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, &a) ||
            !EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, &b))
            goto end;
        sa = bn_b64url(a, size);
        sb = bn_b64url(b, size);
        if (sa && sb)
            n = asprintf(&json, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", crv, sa, sb);
    }
    if (n < 0) {
        json = NULL;
        goto end;
    }
    if (zr_crypto_sha256((const uint8_t *)json, strlen(json), digest) == 0)
        out = zr_base64url_encode(digest, sizeof(digest));
end:
    ERR_clear_error();
    BN_free(a);
    BN_free(b);
    free(sa);
    free(sb);
    free(json);
    return out;
}
