/* The back channel to Dezi over libcurl: TLS 1.3 only (spec v0.7 §3.1
 * "TLS 1.3 of hoger"), no redirects followed, answers capped in size. */
#include "dezi_internal.h"
#include "zr/util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Per thread: the relay handles one login per thread at a time. */
static __thread char current_traceparent[64];

void zr_dezi_set_traceparent(const char *traceparent)
{
    snprintf(current_traceparent, sizeof(current_traceparent), "%s",
             traceparent && strlen(traceparent) < sizeof(current_traceparent) ? traceparent : "");
}

void zr_dezi_response_free(zr_dezi_response_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    memset(resp, 0, sizeof(*resp));
}

/* The names and addresses of this machine, as libcurl gives the host back
 * (IPv4 shorthand already expanded, IPv6 in brackets and compressed).
 * "localhost." is not among them: a trailing dot makes it a DNS name. */
static int host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;
    char v6[INET6_ADDRSTRLEN + 2];
    size_t len = strlen(host);

    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (len > 2 && len < sizeof(v6) && host[0] == '[' && host[len - 1] == ']') {
        memcpy(v6, host + 1, len - 2);
        v6[len - 2] = '\0';
        return inet_pton(AF_INET6, v6, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
    }
    return 0;
}

int zr_dezi_url_check(const char *url, zr_environment_t env, char *why, size_t whylen)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *user = NULL, *password = NULL, *options = NULL, *zone = NULL,
         *fragment = NULL;
    const char *reason = NULL;

    if (!u) {
        reason = "out of memory";
        goto end;
    }
    /* libcurl's own parser: the host judged here is the host it connects
     * to, so "http://localhost:80@evil.example/" is evil.example. */
    if (!url || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host) {
        reason = "not an absolute URL";
        goto end;
    }
    /* Credentials in a URL end up in logs and Referers, and "user@" is the
     * classic way to make one host read as another: never. */
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_OPTIONS, &options, 0) == CURLUE_OK) {
        reason = "has a userinfo part (user:password@)";
        goto end;
    }
    if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK) {
        reason = "has an IPv6 zone id";
        goto end;
    }
    /* RFC 6749 §3.1, §3.2: endpoint URIs carry no fragment. */
    if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK) {
        reason = "has a fragment";
        goto end;
    }
    if (!strcmp(scheme, "https"))
        goto end;
    if (strcmp(scheme, "http") != 0) {
        reason = "is not https";
        goto end;
    }
    /* Plain HTTP only to this machine, and never in production: the mock
     * (in preprod: a rehearsal against the mocks, issue 18 §4). */
    if (env == ZR_ENV_PRODUCTION)
        reason = "is http: https is required in production";
    else if (!host_is_loopback(host))
        reason = "is http to another machine: http only to localhost outside production";
end:
    if (reason && why && whylen)
        snprintf(why, whylen, "%s", reason);
    curl_free(scheme);
    curl_free(host);
    curl_free(user);
    curl_free(password);
    curl_free(options);
    curl_free(zone);
    curl_free(fragment);
    curl_url_cleanup(u);
    return reason ? -1 : 0;
}

int zr_dezi_fetch_default(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    CURL *c = NULL;
    CURLU *u = NULL;
    struct curl_slist *hdrs = NULL;
    zr_capped_buf_t sink = {.max = ZR_DEZI_MAX_RESPONSE};
    char line[4096];
    char *ct = NULL;
    long timeout = d->cfg->timeout_ms > 0 ? d->cfg->timeout_ms : 5000;
    int rc = -1;

    (void)ctx;
    zr_buf_init(&sink.buf);
    c = curl_easy_init();
    if (!c)
        goto end;
    /* The URL as zr_dezi_url_check judged it, parsed by the same code. */
    if (!(u = curl_url()) || curl_url_set(u, CURLUPART_URL, req->url, 0) != CURLUE_OK)
        goto end;
    curl_easy_setopt(c, CURLOPT_CURLU, u);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, d->env == ZR_ENV_DEVELOPMENT ? "https,http" : "https");
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
    curl_url_cleanup(u);
    zr_buf_free(&sink.buf);
    if (rc != 0)
        zr_dezi_response_free(resp);
    return rc;
}

int zr_dezi_http(const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    if (zr_dezi_url_check(req->url, d->env, NULL, 0) != 0)
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
