/* Test fixture for the outbound SAML tests (test_saml_metadata.c,
 * test_saml_request.c, test_saml_artifact.c): RSA keys and certificates made
 * with OpenSSL on the fly, and a zr_config_t filled by hand so the tests do
 * not depend on the configuration loader. */
#ifndef ZR_SAML_SP_FIXTURE_H
#define ZR_SAML_SP_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test_keys.h"
#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/saml.h"
#include "zr/util.h"

#define FX_DV_ENTITY "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000"
#define FX_RD_ENTITY "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000"
#define FX_UUID_1 "7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50"
#define FX_UUID_2 "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d"

/* The next of 16 pre-made RSA 2048 keys (tests/data/saml/sp/test-key-NN.pem):
 * generating keys would make the tests slow, above all under valgrind. Calls
 * within one test program return distinct keys until the pool wraps. */
static inline EVP_PKEY *fx_rsa_key(void) { return zr_test_rsa_key(); }

/* A certificate for key, signed by issuer (self-signed when issuer_key is
 * NULL). is_ca adds basicConstraints CA:TRUE; san (e.g.
 * "DNS:localhost,IP:127.0.0.1") adds subjectAltName. */
static inline X509 *fx_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int is_ca,
                     const char *san)
{
    static long serial = 1000;
    X509 *c = X509_new();
    X509V3_CTX ctx;
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400L * 30);
    X509_set_pubkey(c, key);
    X509_NAME *name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"zorgrelay test", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509V3_set_ctx(&ctx, issuer ? issuer : c, c, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints,
                                              is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    if (is_ca) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_key_identifier, "hash");
    X509_add_ext(c, ext, -1);
    X509_EXTENSION_free(ext);
    if (san) {
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
        X509_add_ext(c, ext, -1);
        X509_EXTENSION_free(ext);
    }
    X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256());
    return c;
}

static inline void fx_write_cert(const char *path, X509 *cert)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    PEM_write_X509(f, cert);
    fclose(f);
}

static inline void fx_write_key(const char *path, EVP_PKEY *key)
{
    FILE *f = fopen(path, "w");
    if (!f)
        abort();
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static inline int fx_write_file(const char *path, const char *data)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs(data, f);
    return fclose(f);
}

/* Fills a keypair; takes ownership of key and cert. */
static inline void fx_keypair(zr_keypair_t *kp, EVP_PKEY *key, X509 *cert)
{
    memset(kp, 0, sizeof(*kp));
    kp->key = key;
    kp->cert = cert;
    kp->key_name = zr_crypto_cert_keyname(cert);
}

static inline void fx_keypair_clear(zr_keypair_t *kp)
{
    EVP_PKEY_free(kp->key);
    X509_free(kp->cert);
    free(kp->key_name);
    free(kp->cert_file);
    free(kp->key_file);
    memset(kp, 0, sizeof(*kp));
}

/* A configuration with one care provider (two services, bsn_keys BSN keys),
 * a signing key and a separate TLS client key. */
static inline zr_config_t *fx_config_new(size_t bsn_keys)
{
    zr_config_t *cfg = calloc(1, sizeof(*cfg));
    EVP_PKEY *k;
    cfg->environment = ZR_ENV_DEVELOPMENT;
    cfg->public_base_url = strdup("https://login.example.test");
    cfg->sp_metadata_valid_days = 30;
    k = fx_rsa_key();
    fx_keypair(&cfg->saml_signing, k, fx_cert(k, "relay signing", NULL, NULL, 0, NULL));
    k = fx_rsa_key();
    fx_keypair(&cfg->saml_tls_client, k, fx_cert(k, "relay tls client", NULL, NULL, 0, NULL));
    cfg->tvs.connect_timeout_ms = 2000;
    cfg->tvs.timeout_ms = 5000;
    cfg->tvs.clock_skew_s = 60;

    cfg->tenants = calloc(1, sizeof(zr_tenant_t));
    cfg->tenant_count = 1;
    zr_tenant_t *t = &cfg->tenants[0];
    t->id = strdup("zorgaanbieder-test");
    t->name = strdup("Zorgaanbieder Test");
    t->entity_id = strdup(FX_DV_ENTITY);
    t->oin = strdup("00000009999999999001");
    t->assertion_consumer_service_index = 0;
    t->services = calloc(2, sizeof(zr_tenant_service_t));
    t->service_count = 2;
    t->services[0].min_loa = ZR_LOA_SUBSTANTIAL;
    t->services[0].service_uuid = strdup(FX_UUID_1);
    t->services[0].attribute_consuming_service_index = 0;
    t->services[0].name = strdup("Patientportaal (substantieel)");
    t->services[1].min_loa = ZR_LOA_HIGH;
    t->services[1].service_uuid = strdup(FX_UUID_2);
    t->services[1].attribute_consuming_service_index = 1;
    t->services[1].name = strdup("Patientportaal (hoog) & <meer>");
    for (size_t i = 0; i < bsn_keys && i < 2; i++) {
        k = fx_rsa_key();
        t->bsn_keys[i].key = k;
        t->bsn_keys[i].cert = fx_cert(k, i ? "dv bsn 2" : "dv bsn 1", NULL, NULL, 0, NULL);
        t->bsn_keys[i].key_name = zr_crypto_cert_keyname(t->bsn_keys[i].cert);
        t->bsn_keys[i].key_name_sha256 = zr_crypto_cert_sha256_hex(t->bsn_keys[i].cert);
    }
    t->bsn_key_count = bsn_keys;
    return cfg;
}

static inline void fx_config_free(zr_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        zr_tenant_t *t = &cfg->tenants[i];
        free(t->id);
        free(t->name);
        free(t->entity_id);
        free(t->oin);
        for (size_t j = 0; j < t->service_count; j++) {
            free(t->services[j].service_uuid);
            free(t->services[j].name);
        }
        free(t->services);
        for (size_t j = 0; j < t->bsn_key_count; j++) {
            EVP_PKEY_free(t->bsn_keys[j].key);
            X509_free(t->bsn_keys[j].cert);
            free(t->bsn_keys[j].key_name);
            free(t->bsn_keys[j].key_name_sha256);
        }
    }
    free(cfg->tenants);
    fx_keypair_clear(&cfg->saml_signing);
    fx_keypair_clear(&cfg->saml_tls_client);
    free(cfg->public_base_url);
    free(cfg->tvs.metadata);
    free(cfg->tvs.tls_ca_file);
    free(cfg->tvs.entity_id);
    if (cfg->tvs.trust_anchors)
        sk_X509_pop_free(cfg->tvs.trust_anchors, X509_free);
    free(cfg);
}

/* A TVS description made by hand (what zr_saml_idp_parse would return). */
static inline zr_saml_idp_t *fx_idp_new(const char *artifact_url)
{
    zr_saml_idp_t *idp = calloc(1, sizeof(*idp));
    idp->entity_id = strdup(FX_RD_ENTITY);
    idp->sso_url = strdup("https://tvs.example.test/kvs/rd/request_authentication");
    idp->artifact_url = strdup(artifact_url ? artifact_url : "https://artifact.tvs.example.test/kvs/rd/resolve_artifact");
    idp->artifact_index = 0;
    return idp;
}

/* A type 0x0004 artifact for entity_id with the given endpoint index. */
static inline char *fx_artifact(const char *entity_id, int type, int index, size_t len)
{
    uint8_t raw[64] = {0};
    unsigned int md_len = 0;
    raw[0] = (uint8_t)(type >> 8);
    raw[1] = (uint8_t)type;
    raw[2] = (uint8_t)(index >> 8);
    raw[3] = (uint8_t)index;
    EVP_Digest(entity_id, strlen(entity_id), raw + 4, &md_len, EVP_sha1(), NULL);
    zr_random_bytes(raw + 24, 20);
    return zr_base64_encode(raw, len);
}

/* A fresh private directory for files a test writes. */
static inline char *fx_tmpdir(void)
{
    char tmpl[] = "/tmp/zr-samlsp-XXXXXX";
    char *d = mkdtemp(tmpl);
    return d ? strdup(d) : NULL;
}

static inline void fx_rmdir(char *dir)
{
    char cmd[512];
    if (!dir)
        return;
    if (strncmp(dir, "/tmp/zr-samlsp-", 15) == 0) {
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", dir);
    }
    free(dir);
}

#endif
