/* zr_saml_logout_response_validate: the LogoutResponse TVS posts back to
 * /saml/slo (HTTP-POST binding). The fixture mirrors fuzz_saml_response:
 * TVS's key is made here, so no input can carry a valid signature, and the
 * replay cache is a Redis that is not there (fail closed). The seed is the
 * ST-SAML example message, with its InResponseTo as the pending request. */
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

#define EXAMPLE_TVS        "urn:nl-eid-gdi:1.0:TD:00000004183317817000:entities:9000"
#define EXAMPLE_REQUEST_ID "_4565109c3326bc3ab8c680d8efeaba7e22b7e304"

static struct {
    EVP_PKEY *tvs_key;
    X509 *tvs_cert;
    char *tvs_key_name;
    zr_saml_idp_key_t idp_key;
    zr_saml_idp_t idp;
    zr_config_t cfg;
    zr_store_t *store;
} F;

static X509 *self_signed(EVP_PKEY *key)
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
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"fuzz TVS", -1, -1, 0);
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
    X509_free(F.tvs_cert);
    free(F.tvs_key_name);
    zr_xml_shutdown();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256] = "";
    (void)argc;
    (void)argv;
    zr_log_set_level(ZR_LOG_ERROR);
    if (zr_xml_init() != 0 || !(F.tvs_key = EVP_RSA_gen(2048)) || !(F.tvs_cert = self_signed(F.tvs_key)) ||
        !(F.tvs_key_name = zr_crypto_cert_keyname(F.tvs_cert)))
        goto fail;
    atexit(teardown);
    F.idp_key.key = F.tvs_key;
    F.idp_key.cert = F.tvs_cert;
    F.idp_key.key_name = F.tvs_key_name;
    F.idp.entity_id = EXAMPLE_TVS;
    F.idp.keys = &F.idp_key;
    F.idp.key_count = 1;
    F.cfg.public_base_url = "https://relay.example.nl";
    F.cfg.tvs.clock_skew_s = 60;
    F.cfg.redis.host = "127.0.0.1";
    F.cfg.redis.port = 1; /* nothing listens: the replay step fails closed */
    F.cfg.redis.timeout_ms = 100;
    F.cfg.redis.prefix = "zr-fuzz:";
    if (zr_random_bytes(F.cfg.redis.encryption_key, sizeof(F.cfg.redis.encryption_key)) != 0 ||
        !(F.store = zr_store_open(&F.cfg.redis, err, sizeof(err))))
        goto fail;
    return 0;
fail:
    fprintf(stderr, "fuzz_saml_logout_response: setup failed: %s\n", err);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512], *b64 = zr_base64_encode(data, size);
    zr_saml_status_t st;
    if (!b64)
        return 0;
    st = zr_saml_logout_response_validate(&F.cfg, &F.idp, F.store, b64, EXAMPLE_REQUEST_ID, err, sizeof(err));
    /* No input is signed by a key made a moment ago in this process: OK (or
     * a status error, which is only reported after the signature) would be
     * a forgery. */
    if (st == ZR_SAML_OK || st == ZR_SAML_STATUS_ERROR || st == ZR_SAML_REPLAY) {
        fprintf(stderr, "fuzz_saml_logout_response: accepted (%s): %s\n", zr_saml_status_name(st), err);
        abort();
    }
    free(b64);
    return 0;
}
