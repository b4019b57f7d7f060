/* The self-test's judgement of one certificate and key
 * (zr_selftest_cert_judge): validity window, pairing, strength, key usage,
 * OIN. Certificates are made here with OpenSSL, self-signed, with exactly
 * the property under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "zr/selftest.h"

#define OIN "00000009999999999001"
#define DAY 86400

static EVP_PKEY *key2048, *other2048, *key1024;
static time_t now = 1800000000; /* 2027-01-15 */

static int group_setup(void **state)
{
    key2048 = EVP_RSA_gen(2048);
    other2048 = EVP_RSA_gen(2048);
    key1024 = EVP_RSA_gen(1024);
    return key2048 && other2048 && key1024 ? 0 : -1;
}

static int group_teardown(void **state)
{
    EVP_PKEY_free(key2048);
    EVP_PKEY_free(other2048);
    EVP_PKEY_free(key1024);
    return 0;
}

static void add_ext(X509 *cert, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* A self-signed certificate for key, valid [now + from, now + to] (seconds);
 * subject CN plus serialNumber (or organizationIdentifier) when oin_field is
 * set; keyUsage / extendedKeyUsage when given. */
static X509 *make_cert(EVP_PKEY *key, long from, long to, const char *oin_field, const char *oin, const char *ku,
                       const char *eku)
{
    X509 *cert = X509_new();
    X509_NAME *name = X509_NAME_new();
    assert_non_null(cert);
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    assert_non_null(X509_time_adj_ex(X509_getm_notBefore(cert), 0, from, &now));
    assert_non_null(X509_time_adj_ex(X509_getm_notAfter(cert), 0, to, &now));
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"selftest TEST", -1, -1, 0);
    if (oin_field)
        X509_NAME_add_entry_by_txt(name, oin_field, MBSTRING_ASC, (const unsigned char *)oin, -1, -1, 0);
    X509_set_subject_name(cert, name);
    X509_set_issuer_name(cert, name);
    X509_NAME_free(name);
    X509_set_pubkey(cert, key);
    if (ku)
        add_ext(cert, NID_key_usage, ku);
    if (eku)
        add_ext(cert, NID_ext_key_usage, eku);
    assert_true(X509_sign(cert, key, EVP_sha256()) > 0);
    return cert;
}

static X509 *signing_cert(EVP_PKEY *key, long from, long to)
{
    return make_cert(key, from, to, "serialNumber", OIN, "critical,digitalSignature,nonRepudiation", NULL);
}

typedef struct {
    zr_selftest_status_t st;
    char finding[1024];
    char advice[256];
} result_t;

static result_t judge(X509 *cert, EVP_PKEY *key, zr_selftest_key_use_t use, int want_oin, const char *expect,
                      int production)
{
    result_t r;
    zr_selftest_cert_t c = {.name = "t", .cert = cert, .key = key, .use = use, .want_oin = want_oin,
                            .expect_oin = expect};
    r.st = zr_selftest_cert_judge(&c, now, 30, production, r.finding, sizeof(r.finding), r.advice, sizeof(r.advice));
    return r;
}

static void test_good_signing_certificate(void **state)
{
    X509 *cert = signing_cert(key2048, -DAY, 365L * DAY);
    result_t r = judge(cert, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, OIN, 1);
    assert_int_equal(r.st, ZR_SELFTEST_OK);
    assert_non_null(strstr(r.finding, "CN=selftest TEST, OIN " OIN ", RSA 2048"));
    assert_non_null(strstr(r.finding, "(365 days)"));
    assert_string_equal(r.advice, "");
    X509_free(cert);
}

static void test_expired_fails(void **state)
{
    X509 *cert = signing_cert(key2048, -400L * DAY, -DAY);
    result_t r = judge(cert, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "certificate expired on 2027-01-14"));
    assert_non_null(strstr(r.advice, "renew"));
    X509_free(cert);
}

static void test_not_yet_valid_fails(void **state)
{
    X509 *cert = signing_cert(key2048, 2L * DAY, 400L * DAY);
    result_t r = judge(cert, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "not valid before 2027-01-17"));
    X509_free(cert);
}

static void test_expiry_window_warns(void **state)
{
    X509 *soon = signing_cert(key2048, -DAY, 10L * DAY);
    X509 *later = signing_cert(key2048, -DAY, 31L * DAY);
    result_t r = judge(soon, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_WARN);
    assert_non_null(strstr(r.finding, "expires on 2027-01-25 (in 10 days)"));
    assert_non_null(strstr(r.advice, "successor"));
    /* 31 days left with a 30-day window: fine. */
    assert_int_equal(judge(later, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0).st, ZR_SELFTEST_OK);
    X509_free(soon);
    X509_free(later);
}

static void test_key_not_matching_fails(void **state)
{
    X509 *cert = signing_cert(key2048, -DAY, 365L * DAY);
    result_t r = judge(cert, other2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "the private key does not belong to the certificate"));
    assert_non_null(strstr(r.advice, "point key:"));
    X509_free(cert);
}

static void test_rsa_1024_fails(void **state)
{
    X509 *cert = signing_cert(key1024, -DAY, 365L * DAY);
    result_t r = judge(cert, key1024, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "RSA key of 1024 bits"));
    /* A bare key is judged too (Dezi, OIDC keys without a certificate). */
    r = judge(NULL, key1024, ZR_SELFTEST_USE_JOSE, 0, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    r = judge(NULL, key2048, ZR_SELFTEST_USE_JOSE, 0, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_OK);
    assert_string_equal(r.finding, "RSA 2048 key (no certificate)");
    X509_free(cert);
}

static void test_key_usage(void **state)
{
    X509 *enc = make_cert(key2048, -DAY, 365L * DAY, "serialNumber", OIN, "critical,keyEncipherment", NULL);
    X509 *server = make_cert(key2048, -DAY, 365L * DAY, "serialNumber", OIN, "critical,digitalSignature",
                             "serverAuth");
    X509 *client = make_cert(key2048, -DAY, 365L * DAY, "serialNumber", OIN, "critical,digitalSignature",
                             "clientAuth");
    X509 *none = make_cert(key2048, -DAY, 365L * DAY, "serialNumber", OIN, NULL, NULL);
    result_t r = judge(enc, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "keyUsage lacks digitalSignature (needed for SAML signing)"));
    r = judge(server, key2048, ZR_SELFTEST_USE_TLS_CLIENT, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "lacks clientAuth"));
    assert_int_equal(judge(client, key2048, ZR_SELFTEST_USE_TLS_CLIENT, 1, NULL, 0).st, ZR_SELFTEST_OK);
    assert_int_equal(judge(client, key2048, ZR_SELFTEST_USE_TLS_SERVER, 0, NULL, 0).st, ZR_SELFTEST_FAIL);
    assert_int_equal(judge(server, key2048, ZR_SELFTEST_USE_TLS_SERVER, 0, NULL, 0).st, ZR_SELFTEST_OK);
    /* No keyUsage extension allows every use (RFC 5280 §4.2.1.3). */
    assert_int_equal(judge(none, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0).st, ZR_SELFTEST_OK);
    X509_free(enc);
    X509_free(server);
    X509_free(client);
    X509_free(none);
}

static void test_oin(void **state)
{
    X509 *no_oin = make_cert(key2048, -DAY, 365L * DAY, NULL, NULL, "critical,digitalSignature", NULL);
    X509 *org_id = make_cert(key2048, -DAY, 365L * DAY, "organizationIdentifier", "OINNL-" OIN,
                             "critical,digitalSignature", NULL);
    X509 *other = make_cert(key2048, -DAY, 365L * DAY, "serialNumber", "00000009999999999002",
                            "critical,digitalSignature", NULL);
    char oin[21];
    result_t r = judge(no_oin, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 0);
    assert_int_equal(r.st, ZR_SELFTEST_WARN);
    assert_non_null(strstr(r.finding, "no 20-digit OIN"));
    /* PKIoverheid certificates always carry it: in production a missing OIN fails. */
    assert_int_equal(judge(no_oin, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 1).st, ZR_SELFTEST_FAIL);
    /* Not asked for: not judged. */
    assert_int_equal(judge(no_oin, key2048, ZR_SELFTEST_USE_JOSE, 0, NULL, 1).st, ZR_SELFTEST_OK);
    assert_int_equal(zr_selftest_cert_oin(org_id, oin), 0);
    assert_string_equal(oin, OIN);
    assert_int_equal(zr_selftest_cert_oin(no_oin, oin), -1);
    assert_int_equal(judge(org_id, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, OIN, 1).st, ZR_SELFTEST_OK);
    r = judge(other, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, OIN, 0);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "for OIN 00000009999999999002, the configuration's OIN is " OIN));
    X509_free(no_oin);
    X509_free(org_id);
    X509_free(other);
}

static void test_problems_are_joined_worst_wins(void **state)
{
    /* Expiring soon (warn) and no OIN in production (FAIL). */
    X509 *cert = make_cert(key2048, -DAY, 5L * DAY, NULL, NULL, "critical,digitalSignature", NULL);
    result_t r = judge(cert, key2048, ZR_SELFTEST_USE_SAML_SIGNING, 1, NULL, 1);
    assert_int_equal(r.st, ZR_SELFTEST_FAIL);
    assert_non_null(strstr(r.finding, "expires on"));
    assert_non_null(strstr(r.finding, "; no 20-digit OIN"));
    assert_non_null(strstr(r.advice, "OIN"));
    X509_free(cert);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_signing_certificate),
        cmocka_unit_test(test_expired_fails),
        cmocka_unit_test(test_not_yet_valid_fails),
        cmocka_unit_test(test_expiry_window_warns),
        cmocka_unit_test(test_key_not_matching_fails),
        cmocka_unit_test(test_rsa_1024_fails),
        cmocka_unit_test(test_key_usage),
        cmocka_unit_test(test_oin),
        cmocka_unit_test(test_problems_are_joined_worst_wins),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
