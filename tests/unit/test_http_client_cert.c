/* Unit tests for src/http/client_cert.c: the forwarded client certificate
 * parser (RFC 8705 behind a TLS terminator), the CA check and the x5t#S256
 * thumbprint. Certificates are made here with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/util.h"

typedef struct {
    EVP_PKEY *ca_key, *other_ca_key, *leaf_key;
    X509 *ca, *other_ca, *leaf, *server_leaf, *expired;
    char ca_file[64];
} fx_t;

static void add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    assert_non_null(e);
    assert_int_equal(X509_add_ext(x, e, -1), 1);
    X509_EXTENSION_free(e);
}

/* A certificate for key named cn, signed by issuer (NULL: self-signed CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, const char *eku,
                       long from_s, long to_s)
{
    X509 *x = X509_new();
    static long serial = 1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), from_s);
    X509_gmtime_adj(X509_getm_notAfter(x), to_s);
    X509_set_pubkey(x, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(issuer ? issuer : x));
    if (!issuer) {
        add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
        add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_ext(x, issuer, NID_basic_constraints, "CA:FALSE");
        add_ext(x, issuer, NID_ext_key_usage, eku);
        add_ext(x, issuer, NID_subject_alt_name, "DNS:portal.test");
    }
    assert_true(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()) > 0);
    return x;
}

static int setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    FILE *f;
    int fd;
    fx->ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx->other_ca_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx->leaf_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    fx->ca = make_cert(fx->ca_key, "portal CA", NULL, NULL, NULL, 0, 3600);
    fx->other_ca = make_cert(fx->other_ca_key, "other CA", NULL, NULL, NULL, 0, 3600);
    fx->leaf = make_cert(fx->leaf_key, "portal", fx->ca, fx->ca_key, "clientAuth", 0, 3600);
    fx->server_leaf = make_cert(fx->leaf_key, "portal", fx->ca, fx->ca_key, "serverAuth", 0, 3600);
    fx->expired = make_cert(fx->leaf_key, "portal", fx->ca, fx->ca_key, "clientAuth", -7200, -3600);
    snprintf(fx->ca_file, sizeof(fx->ca_file), "/tmp/zr-test-client-ca-XXXXXX");
    fd = mkstemp(fx->ca_file);
    f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f || PEM_write_X509(f, fx->ca) != 1)
        return -1;
    fclose(f);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fx_t *fx = *state;
    unlink(fx->ca_file);
    X509_free(fx->ca);
    X509_free(fx->other_ca);
    X509_free(fx->leaf);
    X509_free(fx->server_leaf);
    X509_free(fx->expired);
    EVP_PKEY_free(fx->ca_key);
    EVP_PKEY_free(fx->other_ca_key);
    EVP_PKEY_free(fx->leaf_key);
    free(fx);
    return 0;
}

/* The certificate's PEM (malloc'ed). */
static char *pem_of(X509 *x)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *mem = NULL, *out;
    long n;
    assert_int_equal(PEM_write_bio_X509(b, x), 1);
    n = BIO_get_mem_data(b, &mem);
    out = strndup(mem, (size_t)n);
    BIO_free(b);
    return out;
}

/* Percent-escapes every character not in keep (NULL: as nginx's
 * $ssl_client_escaped_cert: all but unreserved). */
static char *escape(const char *s, const char *keep)
{
    char *out = malloc(strlen(s) * 3 + 1), *o = out;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '.' || c == '_' || c == '~' || (keep && strchr(keep, c));
        if (plain)
            *o++ = (char)c;
        else
            o += sprintf(o, "%%%02X", c);
    }
    *o = '\0';
    return out;
}

static void assert_parses_to(const char *value, X509 *want)
{
    X509 *got = zr_http_client_cert_parse(value, strlen(value));
    assert_non_null(got);
    assert_int_equal(X509_cmp(got, want), 0);
    X509_free(got);
}

static void assert_refused(const char *value)
{
    X509 *got = zr_http_client_cert_parse(value, strlen(value));
    if (got)
        fail_msg("accepted: %.80s", value);
}

static void test_parse_accepts(void **state)
{
    fx_t *fx = *state;
    char *pem = pem_of(fx->leaf), *esc;

    esc = escape(pem, NULL); /* nginx: '+', '/', '=' escaped too */
    assert_parses_to(esc, fx->leaf);
    free(esc);
    esc = escape(pem, "+/="); /* a proxy that leaves base64 alone: '+' is not a space */
    assert_parses_to(esc, fx->leaf);
    free(esc);
    assert_parses_to(pem, fx->leaf); /* not escaped at all (the parser is given the value as is) */
    free(pem);
}

static void test_parse_refuses(void **state)
{
    fx_t *fx = *state;
    char *pem = pem_of(fx->leaf), *other = pem_of(fx->ca), *text = NULL, *esc, *big;
    const char *end;
    uint8_t *der = NULL;
    int n;
    unsigned char *p;

    assert_refused("");
    assert_refused("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n");
    assert_refused("-----BEGIN%20CERTIFICATE-----%0Anot-base64!%0A-----END%20CERTIFICATE-----");
    assert_refused("-----BEGIN CERTIFICATE-----%G1-----END CERTIFICATE-----"); /* bad escape */
    assert_refused("-----BEGIN CERTIFICATE-----\nMIIB%\n-----END CERTIFICATE-----"); /* cut escape */
    /* two certificates: a chain is not what a header carries */
    assert_true(asprintf(&text, "%s%s", pem, other) > 0);
    assert_refused(text);
    free(text);
    /* text after the END line, or before the BEGIN line */
    assert_true(asprintf(&text, "%sX", pem) > 0);
    assert_refused(text);
    free(text);
    assert_true(asprintf(&text, "junk\n%s", pem) > 0);
    assert_refused(text);
    free(text);
    /* a PEM header line (RFC 1421 Proc-Type): OpenSSL's reader would skip it */
    end = strchr(pem, '\n');
    assert_true(asprintf(&text, "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n%s", end + 1) > 0);
    assert_refused(text);
    free(text);
    /* another PEM type */
    assert_refused("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----");
    /* a NUL in the middle (escaped) */
    esc = escape(pem, NULL);
    assert_true(asprintf(&text, "%.32s%%00%s", esc, esc + 32) > 0); /* after "...-----%0A" */
    assert_refused(text);
    free(text);
    free(esc);
    /* DER with bytes after the certificate */
    n = i2d_X509(fx->leaf, NULL);
    der = malloc((size_t)n + 2);
    p = der;
    i2d_X509(fx->leaf, &p);
    der[n] = 0x05;
    der[n + 1] = 0x00;
    {
        char *b64 = zr_base64_encode(der, (size_t)n + 2);
        assert_true(asprintf(&text, "-----BEGIN CERTIFICATE-----\n%s\n-----END CERTIFICATE-----\n", b64) > 0);
        assert_refused(text);
        free(text);
        free(b64);
    }
    free(der);
    /* over 24 KiB */
    big = malloc(30000);
    memset(big, ' ', 29999);
    big[29999] = '\0';
    memcpy(big + 29999 - strlen(pem), pem, strlen(pem));
    assert_refused(big);
    free(big);
    free(pem);
    free(other);
}

static void test_verify(void **state)
{
    fx_t *fx = *state;
    X509_STORE *store = zr_http_client_ca_load(fx->ca_file), *other = X509_STORE_new();

    assert_non_null(store);
    assert_int_equal(X509_STORE_add_cert(other, fx->other_ca), 1);
    assert_true(zr_http_client_cert_verify(store, fx->leaf, NULL));
    assert_false(zr_http_client_cert_verify(other, fx->leaf, NULL));        /* another CA */
    assert_false(zr_http_client_cert_verify(store, fx->server_leaf, NULL)); /* no clientAuth */
    assert_false(zr_http_client_cert_verify(store, fx->expired, NULL));     /* expired */
    assert_false(zr_http_client_cert_verify(NULL, fx->leaf, NULL));
    assert_false(zr_http_client_cert_verify(store, NULL, NULL));
    assert_null(zr_http_client_ca_load("/nonexistent/ca.pem"));
    X509_STORE_free(store);
    X509_STORE_free(other);
}

/* RFC 8705 §3.1, computed independently: base64url(SHA-256(DER)). */
static void test_thumbprint(void **state)
{
    fx_t *fx = *state;
    unsigned char *der = NULL, h[32];
    unsigned int hlen = 0;
    int n = i2d_X509(fx->leaf, &der);
    char *want, *got = zr_http_client_cert_thumbprint(fx->leaf);

    assert_true(n > 0);
    assert_int_equal(EVP_Digest(der, (size_t)n, h, &hlen, EVP_sha256(), NULL), 1);
    want = zr_base64url_encode(h, hlen);
    assert_non_null(got);
    assert_string_equal(got, want);
    assert_int_equal(strlen(got), 43);
    assert_null(zr_http_client_cert_thumbprint(NULL));
    free(got);
    free(want);
    OPENSSL_free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_accepts),
        cmocka_unit_test(test_parse_refuses),
        cmocka_unit_test(test_verify),
        cmocka_unit_test(test_thumbprint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
