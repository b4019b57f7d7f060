/* Test keys and certificates for the test_xml_* suites, made with OpenSSL at
 * run time (no files): RSA 2048 keys, self-signed or CA-issued certificates. */
#ifndef TEST_XML_FIXTURE_H
#define TEST_XML_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "test_keys.h"
#include "zr/crypto.h"
#include "zr/xml.h"

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    char *name;        /* SHA-1 KeyName */
    char *name_sha256; /* SHA-256 KeyName */
} tx_key_t;

static inline EVP_PKEY *tx_rsa(void)
{
    EVP_PKEY *k = zr_test_rsa_key();
    assert_non_null(k);
    return k;
}

static inline void tx_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(ext);
    assert_int_equal(X509_add_ext(cert, ext, -1), 1);
    X509_EXTENSION_free(ext);
}

/* Certificate for key, issued by (issuer, issuer_key) or self-signed when
 * issuer is NULL. ca adds basicConstraints CA:TRUE. */
static inline X509 *tx_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    X509 *c = X509_new();
    X509_NAME *name = X509_NAME_new();
    static long serial = 1;
    assert_non_null(c);
    assert_int_equal(X509_set_version(c, 2), 1);
    ASN1_INTEGER_set(X509_get_serialNumber(c), serial++);
    X509_gmtime_adj(X509_getm_notBefore(c), -3600);
    X509_gmtime_adj(X509_getm_notAfter(c), 365L * 24 * 3600);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_subject_name(c, name);
    X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
    X509_NAME_free(name);
    assert_int_equal(X509_set_pubkey(c, key), 1);
    if (ca) {
        tx_ext(c, issuer ? issuer : c, NID_basic_constraints, "critical,CA:TRUE");
        tx_ext(c, issuer ? issuer : c, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    }
    assert_true(X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return c;
}

static inline void tx_key_make(tx_key_t *k, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    k->key = tx_rsa();
    k->cert = tx_cert(k->key, cn, issuer, issuer_key, ca);
    k->name = zr_crypto_cert_keyname(k->cert);
    k->name_sha256 = zr_crypto_cert_sha256_hex(k->cert);
    assert_non_null(k->name);
    assert_non_null(k->name_sha256);
}

static inline void tx_key_free(tx_key_t *k)
{
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    free(k->name);
    free(k->name_sha256);
    memset(k, 0, sizeof(*k));
}

static inline xmlDocPtr tx_parse(const char *xml)
{
    char err[256] = "";
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    if (!doc)
        fail_msg("parse: %s", err);
    return doc;
}

/* Serialise and parse again: what a receiver sees. */
static inline xmlDocPtr tx_reparse(xmlDocPtr doc)
{
    size_t len = 0;
    char *s = zr_xml_dump(doc, NULL, &len);
    xmlDocPtr out;
    assert_non_null(s);
    out = tx_parse(s);
    free(s);
    return out;
}

/* First element in document order with that ns/name. */
static inline xmlNodePtr tx_find(xmlNodePtr n, const char *ns, const char *name)
{
    for (; n; n = n->next) {
        if (zr_xml_is(n, ns, name))
            return n;
        if (n->type == XML_ELEMENT_NODE) {
            xmlNodePtr f = tx_find(n->children, ns, name);
            if (f)
                return f;
        }
    }
    return NULL;
}

#endif
