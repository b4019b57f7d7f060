/* One diagnostic HTTP(S) request. Unlike the relay's back channel this one
 * wants to know everything about the connection, not only the answer. */
#include "probe.h"

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    zr_selftest_probe_t *p;
    CURL *curl;
    double started;
    int saw_headers;
    size_t max_body;
} ctx_t;

double zr_selftest_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* zr_time_now may be shifted in test builds; keep its shift. */
    return (double)(zr_time_now() - ts.tv_sec) + (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The TLS session is only reachable while the transfer runs: read it with
 * the first header. */
static void capture_tls(ctx_t *c)
{
    const struct curl_tlssessioninfo *info = NULL;
    SSL *ssl;
    if (curl_easy_getinfo(c->curl, CURLINFO_TLS_SSL_PTR, &info) != CURLE_OK || !info ||
        info->backend != CURLSSLBACKEND_OPENSSL || !(ssl = info->internals))
        return;
    snprintf(c->p->tls_version, sizeof(c->p->tls_version), "%s", SSL_get_version(ssl));
    snprintf(c->p->cipher, sizeof(c->p->cipher), "%s", SSL_get_cipher_name(ssl));
    if (!c->p->peer)
        c->p->peer = SSL_get1_peer_certificate(ssl);
}

/* A connect-only transfer leaves no TLS session to read afterwards, but
 * libcurl keeps the chain it saw (CURLOPT_CERTINFO), PEM included. */
static void peer_from_certinfo(CURL *curl, zr_selftest_probe_t *p)
{
    struct curl_certinfo *ci = NULL;
    BIO *bio = NULL;
    if (curl_easy_getinfo(curl, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci || ci->num_of_certs < 1)
        goto end;
    for (struct curl_slist *f = ci->certinfo[0]; f && !p->peer; f = f->next) {
        if (strncmp(f->data, "Cert:", 5) != 0)
            continue;
        BIO_free(bio);
        if ((bio = BIO_new_mem_buf(f->data + 5, -1)) != NULL)
            p->peer = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    }
end:
    BIO_free(bio);
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    ctx_t *c = userdata;
    size_t n = size * nmemb;
    curl_off_t pre_us = 0;
    if (!c->saw_headers) {
        c->saw_headers = 1;
        capture_tls(c);
        /* The server wrote its Date between our request and this moment. */
        curl_easy_getinfo(c->curl, CURLINFO_PRETRANSFER_TIME_T, &pre_us);
        c->p->local_mid = (c->started + (double)pre_us / 1e6 + zr_selftest_now()) / 2;
    }
    if (n > 5 && strncasecmp(data, "Date:", 5) == 0) {
        size_t len = n - 5 < sizeof(c->p->date) - 1 ? n - 5 : sizeof(c->p->date) - 1;
        memcpy(c->p->date, data + 5, len);
        c->p->date[len] = '\0';
        zr_str_trim(c->p->date);
    }
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    ctx_t *c = userdata;
    size_t n = size * nmemb;
    if (n > c->max_body - c->p->body_len) {
        c->p->truncated = 1;
        return 0; /* enough read: stop the transfer */
    }
    memcpy(c->p->body + c->p->body_len, data, n);
    c->p->body_len += n;
    c->p->body[c->p->body_len] = '\0';
    return n;
}

int zr_selftest_probe_run(const zr_selftest_probe_opts_t *o, zr_selftest_probe_t *p)
{
    struct curl_slist *headers = NULL;
    ctx_t c = {.p = p};
    curl_off_t connect_us = 0, app_us = 0;
    int ok = 1;

    memset(p, 0, sizeof(*p));
    p->cc = CURLE_FAILED_INIT;
    if (!(c.curl = curl_easy_init())) {
        snprintf(p->error, sizeof(p->error), "libcurl could not start");
        goto end;
    }
    c.max_body = o->max_body ? o->max_body : 64 * 1024;
    if (!(p->body = calloc(1, c.max_body + 1))) {
        snprintf(p->error, sizeof(p->error), "out of memory");
        goto end;
    }
    ok &= curl_easy_setopt(c.curl, CURLOPT_URL, o->url) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_PROXY, "") == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    /* A peek only names the certificate the server shows; it sends nothing
     * and its connection is closed at once, so not verifying is harmless. */
    ok &= curl_easy_setopt(c.curl, CURLOPT_SSL_VERIFYPEER, o->peek ? 0L : 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_SSL_VERIFYHOST, o->peek ? 0L : 2L) == CURLE_OK;
    if (o->peek) {
        ok &= curl_easy_setopt(c.curl, CURLOPT_CONNECT_ONLY, 1L) == CURLE_OK;
        ok &= curl_easy_setopt(c.curl, CURLOPT_CERTINFO, 1L) == CURLE_OK;
    }
    if (o->ca_file && !o->peek) {
        ok &= curl_easy_setopt(c.curl, CURLOPT_CAINFO, o->ca_file) == CURLE_OK;
        ok &= curl_easy_setopt(c.curl, CURLOPT_CAPATH, NULL) == CURLE_OK;
    }
    if (o->cert_file && o->key_file && !o->peek) {
        ok &= curl_easy_setopt(c.curl, CURLOPT_SSLCERT, o->cert_file) == CURLE_OK;
        ok &= curl_easy_setopt(c.curl, CURLOPT_SSLKEY, o->key_file) == CURLE_OK;
    }
    ok &= curl_easy_setopt(c.curl, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms > 0 ? o->connect_timeout_ms : 3000L) ==
          CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_TIMEOUT_MS, o->timeout_ms > 0 ? o->timeout_ms : 10000L) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_HEADERDATA, &c) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_WRITEDATA, &c) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_ERRORBUFFER, p->error) == CURLE_OK;
    ok &= curl_easy_setopt(c.curl, CURLOPT_USERAGENT, "zorgrelay-selftest/" ZR_VERSION) == CURLE_OK;
    if (o->soap_post) {
        /* An empty SOAP request names no artifact, so none can be spent;
         * TVS answers it with a fault, which proves it accepted us. */
        headers = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
        headers = headers ? curl_slist_append(headers, "SOAPAction: \"http://www.oasis-open.org/committees/security\"")
                          : NULL;
        ok &= headers != NULL;
        ok &= curl_easy_setopt(c.curl, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
        ok &= curl_easy_setopt(c.curl, CURLOPT_POSTFIELDS, "") == CURLE_OK;
        ok &= curl_easy_setopt(c.curl, CURLOPT_POSTFIELDSIZE, 0L) == CURLE_OK;
    } else if (o->head) {
        ok &= curl_easy_setopt(c.curl, CURLOPT_NOBODY, 1L) == CURLE_OK;
    }
    if (!ok) {
        snprintf(p->error, sizeof(p->error), "libcurl option not supported");
        goto end;
    }
    c.started = zr_selftest_now();
    p->cc = curl_easy_perform(c.curl);
    curl_easy_getinfo(c.curl, CURLINFO_RESPONSE_CODE, &p->status);
    curl_easy_getinfo(c.curl, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(c.curl, CURLINFO_APPCONNECT_TIME_T, &app_us);
    /* libcurl reports no connect time when the TLS handshake fails, but a
     * handshake error means the TCP connection was there. */
    p->tcp_connected = connect_us > 0 || p->cc == CURLE_PEER_FAILED_VERIFICATION || p->cc == CURLE_SSL_CONNECT_ERROR;
    p->tls_done = app_us > 0 || (p->tcp_connected && strncmp(o->url, "http://", 7) == 0);
    if (o->peek && p->cc == CURLE_OK)
        peer_from_certinfo(c.curl, p);
    /* Cut short on purpose: the answer itself arrived. */
    if (p->cc == CURLE_WRITE_ERROR && p->truncated)
        p->cc = CURLE_OK;
    if (p->cc == CURLE_OK)
        p->error[0] = '\0';
    else if (!p->error[0])
        snprintf(p->error, sizeof(p->error), "%s", curl_easy_strerror(p->cc));
end:
    curl_slist_free_all(headers);
    if (c.curl)
        curl_easy_cleanup(c.curl);
    return p->cc == CURLE_OK && (p->status > 0 || o->peek) ? 0 : -1;
}

void zr_selftest_probe_clear(zr_selftest_probe_t *p)
{
    X509_free(p->peer);
    free(p->body);
    memset(p, 0, sizeof(*p));
}
