/* zr_saml_response_validate: the SOAP ArtifactResponse TVS returns on the
 * back channel, run through the whole processing checklist with a fixed
 * configuration. The TVS keys are made here, so no input can carry a valid
 * signature: the fuzzer explores everything up to and including signature
 * verification (SOAP envelope, ID uniqueness, Version/ID, KeyInfo/KeyName
 * selection, reference and transform checks, xmlsec). The store is a Redis
 * that is not there (127.0.0.1:1): should an input ever get past the
 * ArtifactResponse signature, the replay step fails closed (UNAVAILABLE).
 *
 * Identifiers are those of the ST-SAML example messages (seeds), so the
 * seeds get as far as the signature check itself (the SHA-256 KeyName of
 * the examples' TVS key names our key, and the RSA verification fails). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fuzz_common.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/saml.h"
#include "zr/util.h"

#define EXAMPLE_TVS     "urn:nl-eid-gdi:1.0:TD:00000004183317817000:entities:9000"
#define EXAMPLE_DV      "urn:nl-eid-gdi:1.0:DV:00000009999999999004:entities:0000"
#define EXAMPLE_UUID    "375b1cb114b7-12e9-3534-16cc-4d8997b0"
#define EXAMPLE_KEYNAME "356b4241808341cc9ff6295a43b01d00daab27406ddcd3f708a0a3761a057abb"

static struct {
    EVP_PKEY *tvs_key, *bsn_key;
    X509 *tvs_cert, *bsn_cert;
    char *tvs_key_name, *bsn_key_name, *bsn_key_name_sha256;
    zr_saml_idp_key_t idp_key;
    zr_saml_idp_t idp;
    zr_tenant_t tenant;
    zr_config_t cfg;
    zr_store_t *store;
    zr_saml_expect_t expect;
} F;

static X509 *self_signed(EVP_PKEY *key, const char *cn)
{
    X509 *c = X509_new();
    X509_NAME *name;
    if (!c)
        return NULL;
    X509_set_version(c, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(c), 1);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 86400);
    X509_set_pubkey(c, key);
    name = X509_get_subject_name(c);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(c, name);
    if (!X509_sign(c, key, EVP_sha256())) {
        X509_free(c);
        return NULL;
    }
    return c;
}

static void teardown(void)
{
    zr_store_close(F.store);
    EVP_PKEY_free(F.tvs_key);
    EVP_PKEY_free(F.bsn_key);
    X509_free(F.tvs_cert);
    X509_free(F.bsn_cert);
    free(F.tvs_key_name);
    free(F.bsn_key_name);
    free(F.bsn_key_name_sha256);
    zr_xml_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256] = "";
    (void)argc;
    (void)argv;
    zr_log_set_level(ZR_LOG_ERROR);
    if (zr_xml_init() != 0)
        goto fail;
    F.tvs_key = EVP_RSA_gen(2048);
    F.bsn_key = EVP_RSA_gen(2048);
    if (!F.tvs_key || !F.bsn_key || !(F.tvs_cert = self_signed(F.tvs_key, "fuzz TVS")) ||
        !(F.bsn_cert = self_signed(F.bsn_key, "fuzz DV BSN")) ||
        !(F.tvs_key_name = zr_crypto_cert_keyname(F.tvs_cert)) ||
        !(F.bsn_key_name = zr_crypto_cert_keyname(F.bsn_cert)) ||
        !(F.bsn_key_name_sha256 = zr_crypto_cert_sha256_hex(F.bsn_cert)))
        goto fail;
    atexit(teardown);

    /* TVS as its verified metadata would describe it. */
    F.idp_key.key = F.tvs_key;
    F.idp_key.cert = F.tvs_cert;
    F.idp_key.key_name = F.tvs_key_name;
    F.idp_key.key_name_sha256 = EXAMPLE_KEYNAME;
    F.idp.entity_id = EXAMPLE_TVS;
    F.idp.keys = &F.idp_key;
    F.idp.key_count = 1;

    F.tenant.id = "fuzz-tenant";
    F.tenant.entity_id = EXAMPLE_DV;
    F.tenant.bsn_keys[0].key = F.bsn_key;
    F.tenant.bsn_keys[0].cert = F.bsn_cert;
    F.tenant.bsn_keys[0].key_name = F.bsn_key_name;
    F.tenant.bsn_keys[0].key_name_sha256 = F.bsn_key_name_sha256;
    F.tenant.bsn_key_count = 1;

    F.cfg.public_base_url = "https://relay.example.nl";
    F.cfg.tvs.clock_skew_s = 60;
    /* Nothing listens on port 1: every store call fails fast, closed. */
    F.cfg.redis.host = "127.0.0.1";
    F.cfg.redis.port = 1;
    F.cfg.redis.timeout_ms = 100;
    F.cfg.redis.prefix = "zr-fuzz:";
    if (zr_random_bytes(F.cfg.redis.encryption_key, sizeof(F.cfg.redis.encryption_key)) != 0 ||
        !(F.store = zr_store_open(&F.cfg.redis, err, sizeof(err))))
        goto fail;

    /* The login of artifact_response.xml. Nothing before the replay step
     * looks at these, but validate refuses to run without them. */
    F.expect.artifact = "AAQAAMFbLinlXaCM+FIxiDwGOLAy2T71gbQO7H5w9AkFpiVsbGt+2Y8sp4E=";
    F.expect.resolve_id = "_8ecc43a04fc541f850fb66eb7259232b2d55627a";
    F.expect.authn_request_id = "_e1234e91b14755343ff8c69c046cc4abfd37c116";
    F.expect.service_uuid = EXAMPLE_UUID;
    F.expect.min_loa = ZR_LOA_BASIC;
    F.expect.tenant = &F.tenant;
    return 0;
fail:
    fprintf(stderr, "fuzz_saml_response: setup failed: %s\n", err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    zr_subject_t subject;
    zr_saml_status_t st = zr_saml_response_validate(&F.cfg, &F.idp, F.store, (const char *)data, size,
                                                    &F.expect, &subject, err, sizeof(err));
    /* No input can be signed by a key made in this process a moment ago, and
     * the replay cache is unreachable: acceptance would be a forgery. */
    if (st == ZR_SAML_OK || st == ZR_SAML_REPLAY) {
        fprintf(stderr, "fuzz_saml_response: accepted (%s): %s\n", zr_saml_status_name(st), err);
        abort();
    }
    if (subject.acting.value || subject.name_id || subject.tenant_id)
        abort(); /* a refusal hands out no subject */
    zr_subject_clear(&subject);
    return 0;
}
