/* zr_http_client_cert_parse: the client certificate a TLS terminator
 * forwards in a header (RFC 8705 behind a proxy; nginx's
 * $ssl_client_escaped_cert). An accepted value is one certificate: written
 * back as escaped PEM it parses to the same certificate, its x5t#S256 is
 * 43 base64url characters, and a store without CAs never verifies it. */
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/http.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

/* PEM of cert, every byte percent-escaped (the strictest a proxy may do). */
static char *escaped_pem(X509 *cert)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *mem = NULL, *out = NULL;
    long n;
    if (!bio || PEM_write_bio_X509(bio, cert) != 1 || (n = BIO_get_mem_data(bio, &mem)) <= 0 ||
        !(out = malloc((size_t)n * 3 + 1)))
        abort();
    for (long i = 0; i < n; i++)
        snprintf(out + 3 * i, 4, "%%%02X", (unsigned char)mem[i]);
    BIO_free(bio);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = zr_fuzz_cstr(data, size), *again_text = NULL, *thumb = NULL;
    X509 *cert = zr_http_client_cert_parse(text, strlen(text)), *again = NULL;
    X509_STORE *empty = NULL;

    if (!cert)
        goto end;
    again_text = escaped_pem(cert);
    if (!(again = zr_http_client_cert_parse(again_text, strlen(again_text))) || X509_cmp(cert, again) != 0)
        abort();
    if (!(thumb = zr_http_client_cert_thumbprint(cert)) || strlen(thumb) != 43)
        abort();
    if (!(empty = X509_STORE_new()) || zr_http_client_cert_verify(empty, cert, NULL))
        abort();
end:
    X509_STORE_free(empty);
    X509_free(again);
    X509_free(cert);
    free(thumb);
    free(again_text);
    free(text);
    return 0;
}
