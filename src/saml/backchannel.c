/* The back channel to TVS: SOAP over mutual TLS with libcurl
 * (ST-SAML §DV→RD ArtifactResolve, reference/tvs-saml.md step 3).
 * One easy handle per thread, kept for connection reuse; TLS >= 1.2, our
 * client certificate, TVS's CA pinned, https only, no redirects, capped
 * answers, and never a second attempt once a request may have reached TVS:
 * the artifact is spent the moment TVS reads it. */
#include "sp_internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "zr/log.h"
#include "zr/util.h"

#define SOAP_ACTION "SOAPAction: \"http://www.oasis-open.org/committees/security\""

/* One thread's handle; linked so that zr_saml_backchannel_free can release
 * the handles of threads that are still alive. */
typedef struct handle {
    CURL *curl;
    struct zr_saml_backchannel *bc;
    struct handle *next;
    char *last_sent; /* for zr_saml_backchannel_last_sent (the trace) */
} handle_t;

struct zr_saml_backchannel {
    pthread_key_t key;
    pthread_mutex_t lock;
    handle_t *handles;
    struct curl_slist *headers;
    char *cert_file;
    char *key_file;
    char *ca_file;
    long connect_timeout_ms;
    long timeout_ms;
    /* the circuit breaker (zr_saml_backchannel_state); under lock */
    zr_saml_breaker_state_t breaker;
    int failures;               /* transport failures in a row */
    int breaker_failures;       /* that many open it */
    long breaker_cooldown_ms;
    struct timespec opened_at;  /* CLOCK_MONOTONIC */
};

/* What one transfer says about the endpoint's health. */
typedef enum { BREAKER_ANSWERED, BREAKER_FAILED, BREAKER_NOTHING_LEARNED } breaker_outcome_t;

/* Settings shared by the back channel and the metadata fetch. */
static int set_common(CURL *c, const char *ca_file, long connect_timeout_ms, long timeout_ms)
{
    int ok = 1;
    ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    /* Pinned: only the configured CA file, never the system store. */
    ok &= curl_easy_setopt(c, CURLOPT_CAINFO, ca_file) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_CAPATH, NULL) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, connect_timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, zr_capped_buf_write) == CURLE_OK;
    /* No proxy from the environment: the pinned mTLS peer is TVS itself. */
    ok &= curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
    return ok ? 0 : -1;
}

/* Where a failed transfer got to: only once request bytes left us can TVS
 * have consumed the artifact. */
typedef struct {
    int tcp_connected;
    int tls_done;
    int sent;
} progress_t;

static progress_t transfer_progress(CURL *c)
{
    curl_off_t connect_us = 0, appconnect_us = 0;
    long request_size = 0;
    progress_t p;
    curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us);
    curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &appconnect_us);
    curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &request_size);
    p.tcp_connected = connect_us > 0;
    p.tls_done = appconnect_us > 0;
    p.sent = request_size > 0;
    return p;
}

/* Classifies a failed transfer into ZR_SAML_ERR_* with a specific message. */
static int describe_failure(CURLcode cc, const char *detail, progress_t p, const zr_capped_buf_t *sink,
                            long connect_timeout_ms, long timeout_ms, char *err, size_t errlen)
{
    const char *why = detail && *detail ? detail : curl_easy_strerror(cc);
    int sent = p.sent;
    if (sink->too_large) {
        snprintf(err, errlen, "TVS answer larger than %zu bytes, refused", sink->max);
        return ZR_SAML_ERR_TOO_LARGE;
    }
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        snprintf(err, errlen, "cannot connect to TVS: %s", why);
        return ZR_SAML_ERR_UNAVAILABLE;
    case CURLE_OPERATION_TIMEDOUT:
        if (!p.tcp_connected) {
            snprintf(err, errlen, "cannot connect to TVS: timeout after %ld ms", connect_timeout_ms);
            return ZR_SAML_ERR_UNAVAILABLE;
        }
        if (!sent) {
            snprintf(err, errlen, "timeout after %ld ms before the request was sent: %s", timeout_ms, why);
            return ZR_SAML_ERR_UNAVAILABLE;
        }
        snprintf(err, errlen, "timeout after %ld ms waiting for TVS (not retried): %s", timeout_ms, why);
        return ZR_SAML_ERR_TIMEOUT;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_CLIENTCERT:
        snprintf(err, errlen, "TLS handshake with TVS failed: %s", why);
        return ZR_SAML_ERR_TLS;
    default:
        /* Connected but the handshake never completed; or, with TLS 1.3, the
         * server refused our client certificate only after the client
         * considered the handshake done, which shows up as an alert. */
        if ((p.tcp_connected && !p.tls_done) ||
            ((cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR) && (strstr(why, "alert") || strstr(why, "SSL")))) {
            snprintf(err, errlen, "TLS handshake with TVS failed: %s", why);
            return ZR_SAML_ERR_TLS;
        }
        if (p.tls_done && !sent && (cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR)) {
            snprintf(err, errlen, "TLS handshake with TVS failed: connection closed before the request "
                     "(client certificate refused?): %s", why);
            return ZR_SAML_ERR_TLS;
        }
        snprintf(err, errlen, "back channel to TVS failed%s: %s", sent ? " after sending (not retried)" : "",
                 why);
        return sent ? ZR_SAML_ERR_TRANSPORT : ZR_SAML_ERR_UNAVAILABLE;
    }
}

static void handle_destroy(void *p)
{
    handle_t *h = p;
    if (!h)
        return;
    pthread_mutex_lock(&h->bc->lock);
    for (handle_t **pp = &h->bc->handles; *pp; pp = &(*pp)->next) {
        if (*pp == h) {
            *pp = h->next;
            break;
        }
    }
    pthread_mutex_unlock(&h->bc->lock);
    curl_easy_cleanup(h->curl);
    free(h->last_sent);
    free(h);
}

zr_saml_backchannel_t *zr_saml_backchannel_new(const zr_config_t *cfg, char *err, size_t errlen)
{
    zr_saml_backchannel_t *bc = NULL;
    zr_saml_backchannel_t *result = NULL;
    int have_key = 0, have_lock = 0;

    if (!cfg->saml_tls_client.cert_file || !cfg->saml_tls_client.key_file) {
        snprintf(err, errlen, "no TLS client certificate configured for the TVS back channel");
        goto end;
    }
    if (!cfg->tvs.tls_ca_file) {
        snprintf(err, errlen, "no CA configured for the TVS back channel (tvs.tls_ca)");
        goto end;
    }
    bc = calloc(1, sizeof(*bc));
    if (!bc) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (pthread_key_create(&bc->key, handle_destroy) != 0) {
        snprintf(err, errlen, "pthread_key_create failed");
        goto end;
    }
    have_key = 1;
    if (pthread_mutex_init(&bc->lock, NULL) != 0) {
        snprintf(err, errlen, "pthread_mutex_init failed");
        goto end;
    }
    have_lock = 1;
    bc->cert_file = strdup(cfg->saml_tls_client.cert_file);
    bc->key_file = strdup(cfg->saml_tls_client.key_file);
    bc->ca_file = strdup(cfg->tvs.tls_ca_file);
    bc->connect_timeout_ms = cfg->tvs.connect_timeout_ms > 0 ? cfg->tvs.connect_timeout_ms : 3000;
    bc->timeout_ms = cfg->tvs.timeout_ms > 0 ? cfg->tvs.timeout_ms : 10000;
    bc->breaker_failures = cfg->tvs.breaker_failures > 0 ? cfg->tvs.breaker_failures : 5;
    bc->breaker_cooldown_ms = 1000L * (cfg->tvs.breaker_cooldown_s > 0 ? cfg->tvs.breaker_cooldown_s : 10);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: text/xml; charset=utf-8");
    if (h)
        bc->headers = h;
    h = h ? curl_slist_append(bc->headers, SOAP_ACTION) : NULL;
    h = h ? curl_slist_append(bc->headers, "Accept: text/xml") : NULL;
    h = h ? curl_slist_append(bc->headers, "Expect:") : NULL; /* no 100-continue round trip */
    if (!h || !bc->cert_file || !bc->key_file || !bc->ca_file) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    result = bc;
    bc = NULL;
end:
    if (bc) {
        if (have_key)
            pthread_key_delete(bc->key);
        if (have_lock)
            pthread_mutex_destroy(&bc->lock);
        curl_slist_free_all(bc->headers);
        free(bc->cert_file);
        free(bc->key_file);
        free(bc->ca_file);
        free(bc);
    }
    return result;
}

/* Call when no other thread uses bc any more (shutdown). */
void zr_saml_backchannel_free(zr_saml_backchannel_t *bc)
{
    if (!bc)
        return;
    pthread_setspecific(bc->key, NULL);
    pthread_key_delete(bc->key);
    pthread_mutex_lock(&bc->lock);
    handle_t *h = bc->handles;
    bc->handles = NULL;
    pthread_mutex_unlock(&bc->lock);
    while (h) {
        handle_t *next = h->next;
        curl_easy_cleanup(h->curl);
        free(h->last_sent);
        free(h);
        h = next;
    }
    pthread_mutex_destroy(&bc->lock);
    curl_slist_free_all(bc->headers);
    free(bc->cert_file);
    free(bc->key_file);
    free(bc->ca_file);
    free(bc);
}

/* ---- circuit breaker ---- */

const char *zr_saml_breaker_state_name(zr_saml_breaker_state_t state)
{
    switch (state) {
    case ZR_SAML_BREAKER_OPEN:
        return "open";
    case ZR_SAML_BREAKER_HALF_OPEN:
        return "half_open";
    default:
        return "closed";
    }
}

zr_saml_breaker_state_t zr_saml_backchannel_state(zr_saml_backchannel_t *bc)
{
    zr_saml_breaker_state_t state;
    if (!bc)
        return ZR_SAML_BREAKER_CLOSED;
    pthread_mutex_lock(&bc->lock);
    state = bc->breaker;
    pthread_mutex_unlock(&bc->lock);
    return state;
}

#ifdef ZR_TESTING
void zr_saml_backchannel_breaker_expire(zr_saml_backchannel_t *bc)
{
    pthread_mutex_lock(&bc->lock);
    bc->opened_at.tv_sec -= bc->breaker_cooldown_ms / 1000 + 1;
    pthread_mutex_unlock(&bc->lock);
}
#endif

static long breaker_ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - t->tv_sec) * 1000 + (now.tv_nsec - t->tv_nsec) / 1000000;
}

/* The endpoint's host[:port] for the log: never the path or query. */
static void breaker_host(const char *url, char *out, size_t outlen)
{
    const char *h = strncmp(url, "https://", 8) == 0 ? url + 8 : url;
    size_t n = strcspn(h, "/?#");
    const char *at = memchr(h, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    snprintf(out, outlen, "%.*s", (int)(n < 200 ? n : 200), h);
}

/* 0: send (*probe set when this request is the half-open probe); -1: the
 * breaker is open, err says why and nothing may be sent. */
static int breaker_admit(zr_saml_backchannel_t *bc, int *probe, char *err, size_t errlen)
{
    int rc = 0;
    long wait_s = 0;

    *probe = 0;
    pthread_mutex_lock(&bc->lock);
    if (bc->breaker == ZR_SAML_BREAKER_OPEN) {
        long since = breaker_ms_since(&bc->opened_at);
        if (since >= bc->breaker_cooldown_ms) {
            bc->breaker = ZR_SAML_BREAKER_HALF_OPEN;
            *probe = 1;
        } else {
            wait_s = (bc->breaker_cooldown_ms - since + 999) / 1000;
            rc = -1;
        }
    } else if (bc->breaker == ZR_SAML_BREAKER_HALF_OPEN) {
        rc = -1; /* one probe at a time */
    }
    pthread_mutex_unlock(&bc->lock);
    if (rc != 0) {
        if (wait_s)
            snprintf(err, errlen, "TVS artifact endpoint failing (circuit breaker open, next try in %ld s): not "
                     "sent", wait_s);
        else
            snprintf(err, errlen, "TVS artifact endpoint failing (circuit breaker open, a probe is under way): "
                     "not sent");
    }
    return rc;
}

static void breaker_record(zr_saml_backchannel_t *bc, const char *url, int probe, breaker_outcome_t outcome,
                           const char *why)
{
    enum { NONE, OPENED, REOPENED, CLOSED } change = NONE;
    int failures;
    char host[256];

    pthread_mutex_lock(&bc->lock);
    if (outcome == BREAKER_ANSWERED) {
        /* the probe, or any request sent before the breaker opened */
        bc->failures = 0;
        if (bc->breaker != ZR_SAML_BREAKER_CLOSED) {
            bc->breaker = ZR_SAML_BREAKER_CLOSED;
            change = CLOSED;
        }
    } else if (outcome == BREAKER_FAILED) {
        bc->failures++;
        if (probe) {
            bc->breaker = ZR_SAML_BREAKER_OPEN;
            clock_gettime(CLOCK_MONOTONIC, &bc->opened_at);
            change = REOPENED;
        } else if (bc->breaker == ZR_SAML_BREAKER_CLOSED && bc->failures >= bc->breaker_failures) {
            bc->breaker = ZR_SAML_BREAKER_OPEN;
            clock_gettime(CLOCK_MONOTONIC, &bc->opened_at);
            change = OPENED;
        }
    } else if (probe) {
        /* the probe never reached TVS: the next request probes instead */
        bc->breaker = ZR_SAML_BREAKER_OPEN;
    }
    failures = bc->failures;
    pthread_mutex_unlock(&bc->lock);
    if (change == NONE)
        return;
    breaker_host(url, host, sizeof(host));
    if (change == OPENED)
        zr_log_error("tvs_breaker", "artifact endpoint host=%s circuit opened after %d failures in a row; "
                     "logins fail at once for %ld s (last: %s)", host, failures, bc->breaker_cooldown_ms / 1000, why);
    else if (change == REOPENED)
        zr_log_warn("tvs_breaker", "artifact endpoint host=%s probe failed, circuit open again for %ld s (%s)", host,
                    bc->breaker_cooldown_ms / 1000, why);
    else
        zr_log_info("tvs_breaker", "artifact endpoint host=%s circuit closed: TVS answers again", host);
}

/* This thread's handle, created with the fixed settings on first use. */
static CURL *thread_handle(zr_saml_backchannel_t *bc, char *err, size_t errlen)
{
    handle_t *h = pthread_getspecific(bc->key);
    if (h)
        return h->curl;
    h = calloc(1, sizeof(*h));
    if (!h || !(h->curl = curl_easy_init())) {
        free(h);
        snprintf(err, errlen, "curl_easy_init failed");
        return NULL;
    }
    CURL *c = h->curl;
    int ok = set_common(c, bc->ca_file, bc->connect_timeout_ms, bc->timeout_ms) == 0;
    ok &= curl_easy_setopt(c, CURLOPT_SSLCERT, bc->cert_file) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSLKEY, bc->key_file) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_HTTPHEADER, bc->headers) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_POST, 1L) == CURLE_OK;
    /* libcurl silently re-sends a request once when a reused connection
     * turns out dead before any answer byte. Idle connections are only
     * reused while young, far below usual server keep-alive limits, so that
     * case stays one where TVS closed the connection before reading. */
    ok &= curl_easy_setopt(c, CURLOPT_MAXAGE_CONN, 30L) == CURLE_OK;
    if (!ok || pthread_setspecific(bc->key, h) != 0) {
        curl_easy_cleanup(c);
        free(h);
        snprintf(err, errlen, "curl option not supported");
        return NULL;
    }
    h->bc = bc;
    pthread_mutex_lock(&bc->lock);
    h->next = bc->handles;
    bc->handles = h;
    pthread_mutex_unlock(&bc->lock);
    return c;
}

/* Keeps a copy of what this thread sends: the trace shows the signed
 * ArtifactResolve exactly as it went out. */
static void remember_sent(zr_saml_backchannel_t *bc, const char *body, size_t body_len)
{
    handle_t *h = pthread_getspecific(bc->key);
    if (!h)
        return;
    free(h->last_sent);
    h->last_sent = strndup(body, body_len);
}

char *zr_saml_backchannel_last_sent(zr_saml_backchannel_t *bc)
{
    handle_t *h = bc ? pthread_getspecific(bc->key) : NULL;
    return h && h->last_sent ? strdup(h->last_sent) : NULL;
}

int zr_saml_backchannel_post(zr_saml_backchannel_t *bc, const char *url, const char *body,
                             size_t body_len, char **resp, size_t *resp_len,
                             char *err, size_t errlen)
{
    char detail[CURL_ERROR_SIZE] = "";
    zr_capped_buf_t sink = {.max = ZR_SAML_MAX_RESPONSE_BYTES};
    long status = 0;
    int rc = ZR_SAML_ERR_INTERNAL;
    int probe = 0;
    breaker_outcome_t outcome;
    CURL *c;

    zr_buf_init(&sink.buf);
    *resp = NULL;
    *resp_len = 0;
    if (!url || strncmp(url, "https://", 8) != 0) {
        snprintf(err, errlen, "TVS back channel URL is not https");
        goto end;
    }
    c = thread_handle(bc, err, errlen);
    if (!c)
        goto end;
    remember_sent(bc, body, body_len);
    if (curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail) != CURLE_OK) {
        snprintf(err, errlen, "curl option not supported");
        goto end;
    }
    /* While TVS is known to be down, nothing is sent (the artifact stays
     * unspent) and the person's portal hears so at once. */
    if (breaker_admit(bc, &probe, err, errlen) != 0) {
        rc = ZR_SAML_ERR_UNAVAILABLE;
        goto end;
    }
    /* Exactly one perform: no retry loop here, whatever happens. */
    CURLcode cc = curl_easy_perform(c);
    progress_t progress = transfer_progress(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, NULL);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
    if (cc != CURLE_OK) {
        rc = describe_failure(cc, detail, progress, &sink, bc->connect_timeout_ms, bc->timeout_ms, err, errlen);
        outcome = rc == ZR_SAML_ERR_TOO_LARGE ? BREAKER_ANSWERED : BREAKER_FAILED;
        breaker_record(bc, url, probe, outcome, err);
        goto end;
    }
    if (status != 200) {
        snprintf(err, errlen, "TVS answered HTTP %ld", status);
        rc = ZR_SAML_ERR_HTTP;
    }
    /* TVS answered: only its own failure (5xx) counts against it */
    breaker_record(bc, url, probe, status >= 500 ? BREAKER_FAILED : BREAKER_ANSWERED, err);
    if (rc == ZR_SAML_ERR_HTTP)
        goto end;
    if (sink.buf.len == 0) {
        snprintf(err, errlen, "TVS answered HTTP 200 with an empty body");
        rc = ZR_SAML_ERR_HTTP;
        goto end;
    }
    *resp_len = sink.buf.len;
    *resp = zr_buf_steal(&sink.buf);
    rc = 0;
end:
    zr_buf_free(&sink.buf);
    return rc;
}

int zr_saml_https_get(const char *url, const char *ca_file, long connect_timeout_ms,
                      long timeout_ms, size_t max, char **out, size_t *out_len,
                      char *err, size_t errlen)
{
    char detail[CURL_ERROR_SIZE] = "";
    zr_capped_buf_t sink = {.max = max};
    CURL *c = NULL;
    long status = 0;
    int rc = -1;

    zr_buf_init(&sink.buf);
    *out = NULL;
    *out_len = 0;
    if (!url || strncmp(url, "https://", 8) != 0 || !ca_file) {
        snprintf(err, errlen, "metadata URL must be https with a pinned CA (tvs.tls_ca)");
        goto end;
    }
    c = curl_easy_init();
    if (!c || set_common(c, ca_file, connect_timeout_ms > 0 ? connect_timeout_ms : 3000,
                         timeout_ms > 0 ? timeout_ms : 10000) != 0 ||
        curl_easy_setopt(c, CURLOPT_URL, url) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink) != CURLE_OK ||
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail) != CURLE_OK) {
        snprintf(err, errlen, "curl setup failed");
        goto end;
    }
    CURLcode cc = curl_easy_perform(c);
    progress_t progress = transfer_progress(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        char why[512];
        describe_failure(cc, detail, progress, &sink, connect_timeout_ms, timeout_ms, why, sizeof(why));
        snprintf(err, errlen, "fetching TVS metadata: %s", why);
        goto end;
    }
    if (status != 200) {
        snprintf(err, errlen, "fetching TVS metadata: HTTP %ld", status);
        goto end;
    }
    *out_len = sink.buf.len;
    *out = zr_buf_steal(&sink.buf);
    if (!*out) {
        snprintf(err, errlen, "fetching TVS metadata: empty answer");
        goto end;
    }
    rc = 0;
end:
    if (c)
        curl_easy_cleanup(c);
    zr_buf_free(&sink.buf);
    return rc;
}
