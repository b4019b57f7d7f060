/* TLS client certificates of OAuth clients (RFC 8705): the one place where
 * a certificate forwarded by a TLS terminator in a header is parsed, where
 * a presented certificate is checked against the configured CAs, and where
 * its x5t#S256 thumbprint is made. The header comes from a proxy we trust,
 * but the certificate in it was the client's: parsed strictly. */
#include "zr/crypto.h"
#include "zr/http.h"
#include "zr/util.h"

#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

/* A certificate of a PKIoverheid chain is some 2 kB; its escaped PEM three
 * times that. Bigger is not a certificate we want to parse. */
#define CLIENT_CERT_MAX_ESCAPED 24576
#define PEM_BEGIN "-----BEGIN CERTIFICATE-----"
#define PEM_END "-----END CERTIFICATE-----"

/* Percent-decoding (RFC 3986 §2.1) as nginx's $ssl_client_escaped_cert
 * needs it: '+' stays '+' (base64), unlike zr_url_decode's form decoding. */
static char *client_cert_unescape(const char *s, size_t len, size_t *out_len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    int hi, lo;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '%') {
            out[o++] = s[i];
            continue;
        }
        hi = i + 1 < len ? zr_hex_digit(s[i + 1]) : -1;
        lo = i + 2 < len ? zr_hex_digit(s[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
            free(out);
            return NULL;
        }
        out[o++] = (char)(hi * 16 + lo);
        i += 2;
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int client_cert_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

X509 *zr_http_client_cert_parse(const char *value, size_t len)
{
    char *pem = NULL, *body = NULL;
    uint8_t *der = NULL;
    size_t pem_len = 0, der_len = 0, start, end, body_len;
    const unsigned char *p;
    X509 *cert = NULL, *out = NULL;

    if (!value || len == 0 || len > CLIENT_CERT_MAX_ESCAPED || !(pem = client_cert_unescape(value, len, &pem_len)))
        goto end;
    /* exactly one PEM certificate: BEGIN line, base64, END line, and
     * whitespace around it; no PEM headers, no second block, no NUL */
    for (start = 0; start < pem_len && client_cert_space(pem[start]); start++)
        ;
    for (end = pem_len; end > start && client_cert_space(pem[end - 1]); end--)
        ;
    if (end - start < sizeof(PEM_BEGIN) - 1 + sizeof(PEM_END) - 1 ||
        memcmp(pem + start, PEM_BEGIN, sizeof(PEM_BEGIN) - 1) != 0 ||
        memcmp(pem + end - (sizeof(PEM_END) - 1), PEM_END, sizeof(PEM_END) - 1) != 0)
        goto end;
    start += sizeof(PEM_BEGIN) - 1;
    end -= sizeof(PEM_END) - 1;
    body_len = end - start;
    for (size_t i = start; i < end; i++) {
        char c = pem[i];
        if (!client_cert_space(c) && !(c >= 'A' && c <= 'Z') && !(c >= 'a' && c <= 'z') &&
            !(c >= '0' && c <= '9') && c != '+' && c != '/' && c != '=')
            goto end;
    }
    if (!(body = strndup(pem + start, body_len)) || zr_base64_decode(body, &der, &der_len) != 0 || der_len == 0)
        goto end;
    p = der;
    /* the DER must be one certificate and nothing after it */
    if (!(cert = d2i_X509(NULL, &p, (long)der_len)) || p != der + der_len)
        goto end;
    out = cert;
    cert = NULL;
end:
    X509_free(cert);
    free(der);
    free(body);
    free(pem);
    return out;
}

int zr_http_client_cert_verify(X509_STORE *store, X509 *cert, STACK_OF(X509) *chain)
{
    X509_STORE_CTX *ctx = NULL;
    int ok = 0;

    if (!store || !cert || !(ctx = X509_STORE_CTX_new()) || X509_STORE_CTX_init(ctx, store, cert, chain) != 1)
        goto end;
    /* a TLS client certificate: its extended key usage (when it has one)
     * must allow clientAuth */
    if (X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1)
        goto end;
    ok = X509_verify_cert(ctx) == 1;
end:
    X509_STORE_CTX_free(ctx);
    return ok;
}

X509_STORE *zr_http_client_ca_load(const char *path)
{
    X509_STORE *store = X509_STORE_new();
    if (store && X509_STORE_load_locations(store, path, NULL) != 1) {
        X509_STORE_free(store);
        store = NULL;
    }
    return store;
}

char *zr_http_client_cert_thumbprint(X509 *cert)
{
    unsigned char *der = NULL;
    uint8_t h[32];
    char *out = NULL;
    int n;

    if (!cert || (n = i2d_X509(cert, &der)) <= 0)
        goto end;
    if (zr_crypto_sha256(der, (size_t)n, h) == 0)
        out = zr_base64url_encode(h, sizeof(h));
end:
    OPENSSL_free(der);
    return out;
}
