/* The back channel to Dezi over libcurl: TLS 1.3 only (spec v0.7 §3.1
 * "TLS 1.3 of hoger"), no redirects followed, answers capped in size. */
#include "dezi_internal.h"
#include "zr/util.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
/* Per thread: the relay handles one login per thread at a time. */
static __thread char current_traceparent[64];

void zr_dezi_set_traceparent(const char *traceparent)
{
    snprintf(current_traceparent, sizeof(current_traceparent), "%s",
             traceparent && strlen(traceparent) < sizeof(current_traceparent) ? traceparent : "");
}
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void zr_dezi_response_free(zr_dezi_response_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    memset(resp, 0, sizeof(*resp));
}

static int host_is_loopback(const char *host, size_t len)
{
    return (len == 9 && !strncasecmp(host, "localhost", 9)) || (len == 9 && !strncmp(host, "127.0.0.1", 9)) ||
           (len == 5 && !strncmp(host, "[::1]", 5));
}

int zr_dezi_url_allowed(const char *url)
{
    const char *host, *end;
    if (!url)
        return 0;
    if (!strncmp(url, "https://", 8))
        return url[8] != '\0';
    if (strncmp(url, "http://", 7) != 0)
        return 0;
    /* Plain HTTP only to this machine: the mock Dezi in development. */
    host = url + 7;
    end = host + strcspn(host, "/?#");
    if (*host == '[') {
        const char *rb = memchr(host, ']', (size_t)(end - host));
        if (!rb)
            return 0;
        return host_is_loopback(host, (size_t)(rb - host + 1));
    }
    {
        const char *colon = memchr(host, ':', (size_t)(end - host));
        return host_is_loopback(host, (size_t)((colon ? colon : end) - host));
    }
}

int zr_dezi_fetch_default(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    CURL *c = NULL;
    struct curl_slist *hdrs = NULL;
    zr_capped_buf_t sink = {.max = ZR_DEZI_MAX_RESPONSE};
    char line[4096];
    char *ct = NULL;
    long timeout = d->cfg->timeout_ms > 0 ? d->cfg->timeout_ms : 5000;
    int rc = -1;

    (void)ctx;
    zr_buf_init(&sink.buf);
    pthread_once(&curl_once, curl_init_once);
    c = curl_easy_init();
    if (!c)
        goto end;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_3);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (d->cfg->tls_ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, d->cfg->tls_ca_file);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)ZR_DEZI_MAX_RESPONSE);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, zr_capped_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "zorgrelay");
    if (req->accept) {
        snprintf(line, sizeof(line), "Accept: %s", req->accept);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->bearer) {
        if (snprintf(line, sizeof(line), "Authorization: Bearer %s", req->bearer) >= (int)sizeof(line))
            goto end;
        hdrs = curl_slist_append(hdrs, line);
    }
    if (current_traceparent[0]) {
        snprintf(line, sizeof(line), "traceparent: %s", current_traceparent);
        hdrs = curl_slist_append(hdrs, line);
    }
    if (req->form) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->form);
    }
    if (hdrs)
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    if (curl_easy_perform(c) != CURLE_OK)
        goto end;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        resp->content_type = strdup(ct);
    if (zr_buf_append(&sink.buf, "", 0) != 0)
        goto end;
    resp->len = sink.buf.len;
    resp->body = zr_buf_steal(&sink.buf);
    if (!resp->body)
        resp->body = strdup("");
    rc = resp->body ? 0 : -1;
end:
    OPENSSL_cleanse(line, sizeof(line));
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    zr_buf_free(&sink.buf);
    if (rc != 0)
        zr_dezi_response_free(resp);
    return rc;
}

int zr_dezi_http(const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (!zr_dezi_url_allowed(req->url))
        return -1;
    if (d->fetch(d->fetch_ctx, d, req, resp) != 0)
        return -1;
    /* Same limit whoever fetched it. */
    if (!resp->body || resp->len > ZR_DEZI_MAX_RESPONSE) {
        zr_dezi_response_free(resp);
        return -1;
    }
    return 0;
}
