/* The HTTP listener: libmicrohttpd with an internal epoll thread pool.
 * Everything a client sends is turned into a zr_http_request_t here, so the
 * handlers never see libmicrohttpd and never see an unchecked request:
 * unknown paths, wrong methods, oversized bodies, malformed encodings and
 * missing client certificates are answered before a handler runs. */
#include "zr/http.h"
#include "zr/log.h"
#include "zr/util.h"

#include "http_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_DEFAULT_MAX_BODY (256 * 1024)
#define HTTP_MAX_THREADS 256
#define HTTP_PEM_MAX (1024 * 1024)
/* A chunked body past max_body is read on (and dropped) this far so that
 * the client gets its 413; a client that sends still more is cut. */
#define HTTP_DISCARD_MAX (1024 * 1024)
#define HTTP_CONN_MEMORY (64 * 1024)
/* TLS 1.2 and 1.3 only, forward-secret key exchange only. */
#define HTTP_TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-RSA:%SERVER_PRECEDENCE"


/* ---------------------------------------------------------------- parsing */

/* Path percent-decoding (RFC 3986 §2.1): '+' stays '+', and malformed escapes
 * or control characters make the request a 400 rather than a guess. */
static char *http_path_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;

    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < len ? zr_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? zr_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                goto fail;
            c = (unsigned char)(hi * 16 + lo);
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            goto fail;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    if (o == 0 || out[0] != '/')
        goto fail;
    return out;
fail:
    free(out);
    return NULL;
}

/* The most preferred loaded language by its primary subtag (RFC 9110
 * §12.5.4; "en-US" is en); Dutch unless another loaded one is preferred. */
static zr_lang_t http_lang(const char *al)
{
    int best_q = 0;
    zr_lang_t best = ZR_LANG_NL;

    while (al && *al) {
        const char *end = al + strcspn(al, ",");
        const char *p = al;
        char tag[4] = "";
        size_t taglen;
        zr_lang_t lang;
        int q = 1000;

        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        taglen = strcspn(p, "-;, \t");
        if (p + taglen > end)
            taglen = (size_t)(end - p);
        if (taglen == 2 || taglen == 3) {
            for (size_t i = 0; i < taglen; i++)
                tag[i] = (char)(p[i] | 0x20);
            tag[taglen] = '\0';
        }
        /* q-value: "q=0", "q=0.7", "q=1"; anything unreadable counts as 0 */
        for (const char *s = p; s < end; s++) {
            if (*s != ';')
                continue;
            s++;
            while (s < end && (*s == ' ' || *s == '\t'))
                s++;
            if (s + 1 < end && (s[0] == 'q' || s[0] == 'Q') && s[1] == '=') {
                s += 2;
                q = 0;
                if (s < end && *s == '1') {
                    q = 1000;
                } else if (s < end && *s == '0') {
                    int scale = 100;
                    if (s + 1 < end && s[1] == '.')
                        for (s += 2; s < end && *s >= '0' && *s <= '9' && scale > 0; s++, scale /= 10)
                            q += (*s - '0') * scale;
                }
                break;
            }
        }
        if (tag[0] && q > best_q && zr_lang_from_code(tag, &lang) == 0) {
            best_q = q;
            best = lang;
        }
        al = *end ? end + 1 : end;
    }
    return best;
}

static int is_lower_hex(const char *s, size_t n, int *all_zero)
{
    *all_zero = 1;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
        if (s[i] != '0')
            *all_zero = 0;
    }
    return 1;
}

/* W3C Trace Context §3.2: version-traceid-parentid-flags, lower-case hex,
 * no all-zero ids, version ff invalid; future versions may append fields. */
static int http_traceparent_valid(const char *s)
{
    int zero;
    size_t len = s ? strlen(s) : 0;

    if (len < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return 0;
    if (!is_lower_hex(s, 2, &zero) || strncmp(s, "ff", 2) == 0)
        return 0;
    if (strncmp(s, "00", 2) == 0 ? len != 55 : (len > 55 && s[55] != '-'))
        return 0;
    if (!is_lower_hex(s + 3, 32, &zero) || zero)
        return 0;
    if (!is_lower_hex(s + 36, 16, &zero) || zero)
        return 0;
    return is_lower_hex(s + 53, 2, &zero);
}

/* Cookie header (RFC 6265 §5.4): "a=1; b=2". Values are kept as sent (a
 * quoted value loses its quotes); pairs without '=' are ignored. */
static int http_parse_cookies(zr_kvlist_t *cookies, const char *header)
{
    int rc = -1;
    char *copy = strdup(header), *save = NULL, *pair;

    if (!copy)
        goto end;
    for (pair = strtok_r(copy, ";", &save); pair; pair = strtok_r(NULL, ";", &save)) {
        char *eq = strchr(pair, '='), *name, *value;
        size_t vlen;
        if (!eq)
            continue;
        *eq = '\0';
        name = zr_str_trim(pair);
        value = zr_str_trim(eq + 1);
        vlen = strlen(value);
        if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
            value[vlen - 1] = '\0';
            value++;
        }
        if (!*name)
            continue;
        if (zr_kv_add(cookies, name, value) != 0)
            goto end;
    }
    rc = 0;
end:
    free(copy);
    return rc;
}

static enum MHD_Result http_collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    zr_kvlist_t *headers = cls;
    char name[256];
    size_t i;

    (void)kind;
    if (!key)
        return MHD_YES;
    for (i = 0; key[i] && i + 1 < sizeof(name); i++)
        name[i] = (key[i] >= 'A' && key[i] <= 'Z') ? (char)(key[i] | 0x20) : key[i];
    name[i] = '\0';
    return zr_kv_add(headers, name, value) == 0 ? MHD_YES : MHD_NO;
}

static int http_is_form(const char *content_type)
{
    static const char form[] = "application/x-www-form-urlencoded";
    size_t n = sizeof(form) - 1;

    if (!content_type)
        return 0;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    return strncasecmp(content_type, form, n) == 0 &&
           (content_type[n] == '\0' || content_type[n] == ';' || content_type[n] == ' ' || content_type[n] == '\t');
}

/* ---------------------------------------------------------------- responses */

static int http_has_header(const zr_http_response_t *r, const char *name)
{
    for (size_t i = 0; i < r->headers.count; i++)
        if (strcasecmp(r->headers.items[i].name, name) == 0)
            return 1;
    return 0;
}

/* Security headers every response carries; a handler's own CSP (the
 * autopost page's nonce) or Cache-Control wins over the default. HSTS (RFC
 * 6797) here, so that no page, redirect, JSON answer or the server's own
 * error pages can leave it out. */
static void http_add_security_headers(const zr_http_server_t *s, zr_http_response_t *r)
{
    static const struct {
        const char *name;
        const char *value;
    } defaults[] = {
        {"X-Content-Type-Options", "nosniff"},
        {"Referrer-Policy", "no-referrer"},
        {"X-Frame-Options", "DENY"},
        {"Content-Security-Policy", "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"},
        /* Nothing this server says may be cached by a browser or proxy unless
         * the handler decided otherwise (metadata may be). */
        {"Cache-Control", "no-store"},
    };
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
        if (!http_has_header(r, defaults[i].name))
            zr_http_set_header(r, defaults[i].name, defaults[i].value);
    if (s->hsts && !http_has_header(r, "Strict-Transport-Security"))
        zr_http_set_header(r, "Strict-Transport-Security", ZR_HTTP_HSTS);
}

enum MHD_Result http_send(http_conn_t *hc, struct MHD_Connection *conn, zr_http_response_t *resp, int close)
{
    enum MHD_Result ret = MHD_NO;
    struct MHD_Response *mr = NULL;
    size_t len = resp->body ? resp->body_len : 0;

    http_add_security_headers(hc->server, resp);
    if (http_limits_response(hc->server->limits, resp, &close) != 0)
        goto end;
    /* MUST_FREE: libmicrohttpd takes the body and free()s it. */
    mr = MHD_create_response_from_buffer(len, resp->body ? resp->body : (void *)"",
                                         resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!mr)
        goto end;
    resp->body = NULL;
    resp->body_len = 0;
    if (MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE,
                                resp->content_type ? resp->content_type : "text/html; charset=utf-8") != MHD_YES)
        goto end;
    for (size_t i = 0; i < resp->headers.count; i++)
        if (MHD_add_response_header(mr, resp->headers.items[i].name, resp->headers.items[i].value) != MHD_YES)
            goto end;
    /* The client is still sending a body we will not read: end the connection
     * so it cannot keep a worker busy. */
    if (close && MHD_add_response_header(mr, MHD_HTTP_HEADER_CONNECTION, "close") != MHD_YES)
        goto end;
    ret = MHD_queue_response(conn, (unsigned int)resp->status, mr);
    if (ret == MHD_YES) {
        hc->queued = 1;
        hc->status = resp->status;
    }
end:
    if (mr)
        MHD_destroy_response(mr);
    return ret;
}

enum MHD_Result http_send_error(http_conn_t *hc, struct MHD_Connection *conn, int status, zr_lang_t lang,
                                const char *code, const char *allow, int close)
{
    enum MHD_Result ret = MHD_NO;
    zr_http_response_t resp;

    zr_http_response_init(&resp);
    if (zr_page_error(&resp, status, lang, code, hc->ref) != 0)
        goto end;
    if (allow && zr_http_set_header(&resp, "Allow", allow) != 0)
        goto end;
    ret = http_send(hc, conn, &resp, close);
end:
    zr_http_response_free(&resp);
    return ret;
}

/* ---------------------------------------------------------------- requests */

static zr_lang_t http_conn_lang(struct MHD_Connection *conn)
{
    return http_lang(MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
}

/* mTLS: the peer's certificate must verify against client_ca_file. Returns
 * the certificate as an OpenSSL X509 (caller frees), NULL when there is none
 * or it does not verify. */
static X509 *http_client_cert(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    gnutls_session_t session;
    const gnutls_datum_t *peers;
    unsigned int status = 0, n = 0;
    const unsigned char *der;

    if (!info || !info->tls_session)
        return NULL;
    session = (gnutls_session_t)info->tls_session;
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509)
        return NULL;
    /* Checks the chain against the trust list (MHD_OPTION_HTTPS_MEM_TRUST),
     * signatures and validity period. */
    if (gnutls_certificate_verify_peers2(session, &status) != GNUTLS_E_SUCCESS || status != 0)
        return NULL;
    peers = gnutls_certificate_get_peers(session, &n);
    if (!peers || n == 0 || peers[0].size > 65536)
        return NULL;
    der = peers[0].data;
    return d2i_X509(NULL, &der, (long)peers[0].size);
}

/* RFC 8705 on a listener that asks for, but does not require, a client
 * certificate: from a trusted proxy with cert_header the header alone
 * counts (the TLS peer is the proxy); else the certificate of the TLS
 * handshake. Either must chain to client_store. NULL: none (or one that
 * does not verify); *invalid: a forwarded header that did not parse or
 * verify, which the token endpoint refuses rather than ignores. */
static X509 *http_client_cert_optional(zr_http_server_t *s, struct MHD_Connection *conn, int *invalid)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    zr_net_addr_t peer;
    const char *header;
    const gnutls_datum_t *peers;
    unsigned int n = 0;
    STACK_OF(X509) *chain = NULL;
    X509 *cert = NULL, *out = NULL;
    const unsigned char *der;

    *invalid = 0;
    if (s->cert_header && info && info->client_addr && zr_net_addr_from_sockaddr(info->client_addr, &peer) == 0 &&
        zr_net_cidr_list_match(s->trusted, s->trusted_count, &peer)) {
        header = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, s->cert_header);
        if (!header || !*header)
            goto end;
        cert = zr_http_client_cert_parse(header, strlen(header));
        if (!cert || !zr_http_client_cert_verify(s->client_store, cert, NULL)) {
            *invalid = 1;
            goto end;
        }
        out = cert;
        cert = NULL;
        goto end;
    }
    info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!s->tls || !info || !info->tls_session ||
        gnutls_certificate_type_get((gnutls_session_t)info->tls_session) != GNUTLS_CRT_X509)
        goto end;
    peers = gnutls_certificate_get_peers((gnutls_session_t)info->tls_session, &n);
    if (!peers || n == 0 || n > 10 || !(chain = sk_X509_new_null()))
        goto end;
    for (unsigned int i = 0; i < n; i++) {
        X509 *x;
        der = peers[i].data;
        if (peers[i].size > 65536 || !(x = d2i_X509(NULL, &der, (long)peers[i].size)))
            goto end;
        if (i == 0)
            cert = x;
        else if (!sk_X509_push(chain, x)) {
            X509_free(x);
            goto end;
        }
    }
    /* the intermediates the client sent help build the chain; only the
     * configured CAs are trusted */
    if (zr_http_client_cert_verify(s->client_store, cert, chain)) {
        out = cert;
        cert = NULL;
    }
end:
    sk_X509_pop_free(chain, X509_free);
    X509_free(cert);
    return out;
}

static void http_request_free(zr_http_request_t *req)
{
    zr_kv_free(&req->query);
    zr_kv_free(&req->form);
    zr_kv_free(&req->headers);
    zr_kv_free(&req->cookies);
    X509_free(req->client_cert);
    free(req->traceparent);
    free((char *)req->remote_addr);
    memset(req, 0, sizeof(*req));
}

static char *http_remote_addr(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char addr[INET6_ADDRSTRLEN] = "-";

    if (info && info->client_addr) {
        const struct sockaddr *sa = info->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, addr, sizeof(addr));
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, addr, sizeof(addr));
    }
    return strdup(addr);
}

/* The whole request is in: turns it into req (everything a handler may
 * read, owned by req or hc, none of it libmicrohttpd's). 0, or the status
 * to answer instead (400 malformed, 500). */
static int http_request_build(http_conn_t *hc, struct MHD_Connection *conn, zr_http_request_t *req)
{
    const char *query, *ct, *tp;

    memset(req, 0, sizeof(*req));
    req->method = hc->method;
    req->path = hc->path;
    req->lang = http_conn_lang(conn);
    req->tls = hc->server->tls;
    req->remote_addr = http_remote_addr(conn);
    if (!req->remote_addr ||
        MHD_get_connection_values(conn, MHD_HEADER_KIND, http_collect_header, &req->headers) < 0)
        return 500;
    for (size_t i = 0; i < req->headers.count; i++)
        if (strcmp(req->headers.items[i].name, "cookie") == 0 &&
            http_parse_cookies(&req->cookies, req->headers.items[i].value) != 0)
            return 500;
    query = strchr(hc->uri, '?');
    if (query && zr_kv_parse_form(&req->query, query + 1, strlen(query + 1)) != 0)
        return 400;
    req->body = hc->body.data;
    req->body_len = hc->body.len;
    ct = zr_kv_get(&req->headers, "content-type");
    if (http_is_form(ct) && zr_kv_parse_form(&req->form, hc->body.data, hc->body.len) != 0)
        return 400;
    /* The person's choice (a switch's parameter, then the preference
     * cookie it left) over the browser's Accept-Language. */
    {
        zr_lang_t chosen;
        const char *code = zr_kv_get(&req->form, ZR_LANG_PARAM);
        if (!code)
            code = zr_kv_get(&req->query, ZR_LANG_PARAM);
        if (code && zr_lang_from_code(code, &chosen) == 0)
            req->lang_switched = 1;
        else
            code = zr_kv_get(&req->cookies, ZR_LANG_COOKIE);
        if (code && zr_lang_from_code(code, &chosen) == 0)
            req->lang = chosen;
    }
    tp = zr_kv_get(&req->headers, "traceparent");
    if (tp && http_traceparent_valid(tp) && !(req->traceparent = strndup(tp, 55)))
        return 500;
    /* verified in http_precheck; freed with the request, after the handler */
    req->client_cert = hc->client_cert;
    req->client_cert_invalid = hc->client_cert_invalid;
    hc->client_cert = NULL;
    return 0;
}

/* Runs the route's handler; any thread (a worker or a lane thread).
 * 0, or -1 when the handler failed (the answer is then a 500). */
int http_handler_run(http_conn_t *hc, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const char *code = zr_kv_get(&req->form, ZR_LANG_PARAM);
    zr_lang_t chosen;
    int hrc;

    zr_page_request_bind(req);
    hrc = hc->route->handler(hc->server->ctx, req, resp);
    zr_page_request_bind(NULL);
    if (!code)
        code = zr_kv_get(&req->query, ZR_LANG_PARAM);
    /* A switch was used: the choice sticks for the rest of the visit (a
     * preference, not a secret; the browser session only). */
    if (hrc == 0 && code && zr_lang_from_code(code, &chosen) == 0 &&
        zr_http_set_cookie(resp, ZR_LANG_COOKIE, zr_lang_code(chosen), -1,
                           hc->server->tls || hc->server->hsts, 0) != 0)
        hrc = -1;
    if (hrc != 0 || resp->status < 100 || resp->status > 599) {
        zr_log_error("http", "handler failed rc=%d status=%d path=%s ref=%s", hrc, resp->status, hc->log_path,
                     hc->ref);
        return -1;
    }
    return 0;
}

static int http_lane_route(const http_conn_t *hc)
{
    const zr_http_server_t *s = hc->server;
    return s->lane && hc->route >= s->routes + s->lane_first;
}


/* The whole request is in: build the request, run the handler (here, or on
 * the lane for a lane route), answer. */
static enum MHD_Result http_dispatch(http_conn_t *hc, struct MHD_Connection *conn)
{
    zr_http_request_t req;
    zr_http_response_t resp;
    enum MHD_Result ret = MHD_NO;
    int status;

    zr_http_response_init(&resp);
    status = http_request_build(hc, conn, &req);
    if (status != 0) {
        ret = http_send_error(hc, conn, status, req.lang, status == 400 ? "bad_request" : "internal_error", NULL, 0);
        goto end;
    }
    if (http_lane_route(hc)) {
        hc->lane_req = req; /* the lane owns it now */
        memset(&req, 0, sizeof(req));
        ret = http_lane_submit(hc, conn);
        goto end;
    }
    __atomic_add_fetch(&hc->server->workers_busy, 1, __ATOMIC_RELAXED);
    status = http_handler_run(hc, &req, &resp);
    __atomic_sub_fetch(&hc->server->workers_busy, 1, __ATOMIC_RELAXED);
    if (status != 0) {
        zr_http_response_free(&resp);
        ret = http_send_error(hc, conn, 500, req.lang, "internal_error", NULL, 0);
        goto end;
    }
    ret = http_send(hc, conn, &resp, 0);
end:
    zr_http_response_free(&resp);
    http_request_free(&req);
    return ret;
}

static int http_body_pending(struct MHD_Connection *conn)
{
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    return (cl && strtoull(cl, NULL, 10) > 0) ||
           MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

/* Route, client certificate and announced size: refuses what it can without
 * a handler. Returns 1 when a response was queued (or must be). */
static int http_precheck(http_conn_t *hc, struct MHD_Connection *conn, enum MHD_Result *ret)
{
    zr_http_server_t *s = hc->server;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    zr_lang_t lang = http_conn_lang(conn);
    /* an early answer while a body is on its way ends the connection */
    int pending = http_body_pending(conn);
    int path_known = 0;
    zr_buf_t allow;

    if (!hc->path) {
        *ret = http_send_error(hc, conn, 400, lang, "bad_request", NULL, pending);
        return 1;
    }
    zr_buf_init(&allow);
    for (size_t i = 0; i < s->route_count && !hc->route; i++) {
        const zr_http_route_t *r = &s->routes[i];
        if (strcmp(r->path, hc->path) != 0)
            continue;
        path_known = 1;
        if (!r->method || strcmp(r->method, hc->method) == 0)
            hc->route = r;
        else
            zr_buf_printf(&allow, "%s%s", allow.len ? ", " : "", r->method);
    }
    if (!hc->route) {
        *ret = path_known ? http_send_error(hc, conn, 405, lang, "method_not_allowed", allow.data, pending)
                          : http_send_error(hc, conn, 404, lang, "not_found", NULL, pending);
        zr_buf_free(&allow);
        return 1;
    }
    zr_buf_free(&allow);
    /* mTLS: no verified client certificate, no handler and no body read */
    if (s->cert_optional)
        hc->client_cert = http_client_cert_optional(s, conn, &hc->client_cert_invalid);
    else if (s->mtls && !(hc->client_cert = http_client_cert(conn))) {
        *ret = http_send_error(hc, conn, 403, lang, "forbidden", NULL, pending);
        return 1;
    }
    if (cl && strtoull(cl, NULL, 10) > s->max_body) {
        *ret = http_send_error(hc, conn, 413, lang, "body_too_large", NULL, 1);
        return 1;
    }
    return 0;
}

/* The head is in (limits.c): counted in flight; 414 for a request target
 * over limits.max_uri_bytes, 429 for a client over its cap behind a trusted
 * proxy. Returns 1 when answered. */
static int http_admit(http_conn_t *hc, struct MHD_Connection *conn, enum MHD_Result *ret)
{
    int pending = http_body_pending(conn);
    int status = http_limits_request_begin(hc->server->limits, &hc->limits, conn, pending);

    if (hc->uri_too_long) {
        *ret = http_send_error(hc, conn, 414, http_conn_lang(conn), "uri_too_long", NULL, 1);
        return 1;
    }
    if (status == 429) {
        *ret = http_send_error(hc, conn, 429, http_conn_lang(conn), "too_many_requests", NULL, pending);
        return 1;
    }
    return 0;
}

/* A chunked body grew past max_body: libmicrohttpd cannot answer in the
 * middle of a body, so the rest is read and dropped (up to
 * HTTP_DISCARD_MAX, within limits.body_timeout_s) and the 413 goes out
 * once it is in. */
static enum MHD_Result http_discard_body(http_conn_t *hc, size_t *upload_data_size)
{
    if (!hc->body_too_large) {
        hc->body_too_large = 1;
        zr_buf_free(&hc->body);
    }
    hc->discarded += *upload_data_size;
    *upload_data_size = 0;
    if (hc->discarded > HTTP_DISCARD_MAX) {
        zr_log_warn("http", "path=%s ref=%s body over max_body_bytes still coming after %zu bytes: connection cut",
                    hc->log_path, hc->ref, hc->discarded);
        hc->status = 413;
        return MHD_NO;
    }
    return MHD_YES;
}

static enum MHD_Result http_access(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                   const char *version, const char *upload_data, size_t *upload_data_size,
                                   void **con_cls)
{
    http_conn_t *hc = *con_cls;
    enum MHD_Result ret = MHD_YES;

    (void)cls;
    (void)url;
    (void)version;
    if (!hc)
        return MHD_NO; /* the URI callback could not allocate: drop */
    if (__atomic_load_n(&hc->lane_state, __ATOMIC_ACQUIRE) != HTTP_LANE_NONE)
        return http_lane_answer(hc, conn);
    if (hc->queued) {
        /* answered early; swallow whatever is still coming */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!hc->started) {
        hc->started = 1;
        snprintf(hc->method, sizeof(hc->method), "%s", method ? method : "-");
        if (http_admit(hc, conn, &ret))
            return ret;
        /* With a body on its way, refuse before reading it (libmicrohttpd
         * then closes the connection). Without one, the checks wait for the
         * final call, where an answer keeps the connection alive. */
        if (http_body_pending(conn) && http_precheck(hc, conn, &ret))
            return ret;
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (hc->body_too_large || hc->body.len + *upload_data_size > hc->server->max_body)
            return http_discard_body(hc, upload_data_size);
        if (zr_buf_append(&hc->body, upload_data, *upload_data_size) != 0)
            return MHD_NO;
        *upload_data_size = 0;
        return MHD_YES;
    }
    http_limits_body_done(hc->server->limits, &hc->limits);
    if (hc->body_too_large)
        return http_send_error(hc, conn, 413, http_conn_lang(conn), "body_too_large", NULL, 1);
    if (!hc->route && http_precheck(hc, conn, &ret))
        return ret;
    return http_dispatch(hc, conn);
}

static void *http_uri_start(void *cls, const char *uri, struct MHD_Connection *conn)
{
    http_conn_t *hc = calloc(1, sizeof(*hc));
    size_t pathlen, o = 0;

    (void)conn;
    if (!hc)
        return NULL;
    hc->server = cls;
    clock_gettime(CLOCK_MONOTONIC, &hc->start);
    zr_buf_init(&hc->body);
    zr_http_response_init(&hc->lane_resp);
    hc->uri = strdup(uri ? uri : "");
    if (!hc->uri) {
        free(hc);
        return NULL;
    }
    hc->uri_too_long = http_limits_uri_too_long(hc->server->limits, strlen(hc->uri));
    pathlen = strcspn(hc->uri, "?");
    hc->path = http_path_decode(hc->uri, pathlen);
    /* The log gets the path only: the query can hold codes and tokens. */
    for (size_t i = 0; i < pathlen && o + 1 < sizeof(hc->log_path); i++) {
        unsigned char c = (unsigned char)hc->uri[i];
        hc->log_path[o++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    hc->log_path[o] = '\0';
    {
        char *ref = zr_random_token(6);
        snprintf(hc->ref, sizeof(hc->ref), "%s", ref ? ref : "-");
        free(ref);
    }
    return hc;
}

static void http_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                           enum MHD_RequestTerminationCode toe)
{
    http_conn_t *hc = *con_cls;
    struct timespec now;
    long ms;

    (void)cls;
    (void)conn;
    if (!hc)
        return;
    clock_gettime(CLOCK_MONOTONIC, &now);
    ms = (now.tv_sec - hc->start.tv_sec) * 1000 + (now.tv_nsec - hc->start.tv_nsec) / 1000000;
    zr_log(hc->server->quiet_access_log && hc->status == 200 && toe == MHD_REQUEST_TERMINATED_COMPLETED_OK
               ? ZR_LOG_DEBUG
               : ZR_LOG_INFO,
           "http", "method=%s path=%s status=%d ms=%ld component=%s ref=%s%s", hc->method[0] ? hc->method : "-",
           hc->log_path, hc->status, ms, hc->server->component, hc->ref,
           toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
    http_limits_request_end(hc->server->limits, &hc->limits);
    zr_buf_free(&hc->body);
    X509_free(hc->client_cert);
    http_request_free(&hc->lane_req);
    zr_http_response_free(&hc->lane_resp);
    free(hc->uri);
    free(hc->path);
    free(hc);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void http_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];

    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (http_limits_mhd_message(msg))
        return;
    zr_log_debug("http_server", "%s", msg);
}

/* ---------------------------------------------------------------- lifecycle */

/* "127.0.0.1:8080", "[::1]:8080", ":8080" (all IPv4 addresses), "localhost:8080". */
static int http_parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen, char *err,
                             size_t errlen)
{
    int rc = -1;
    char host[256] = "", port[8] = "";
    const char *colon;
    struct addrinfo hints, *res = NULL;
    char *endp;
    long p;

    if (!listen || !*listen) {
        snprintf(err, errlen, "no listen address");
        goto end;
    }
    if (listen[0] == '[') {
        const char *close = strchr(listen, ']');
        if (!close || close[1] != ':' || (size_t)(close - listen - 1) >= sizeof(host)) {
            snprintf(err, errlen, "bad listen address %s", listen);
            goto end;
        }
        memcpy(host, listen + 1, (size_t)(close - listen - 1));
        host[close - listen - 1] = '\0';
        colon = close + 1;
    } else {
        colon = strrchr(listen, ':');
        if (!colon || (size_t)(colon - listen) >= sizeof(host)) {
            snprintf(err, errlen, "bad listen address %s (want host:port)", listen);
            goto end;
        }
        memcpy(host, listen, (size_t)(colon - listen));
        host[colon - listen] = '\0';
    }
    p = strtol(colon + 1, &endp, 10);
    if (!colon[1] || *endp || p < 0 || p > 65535) {
        snprintf(err, errlen, "bad port in listen address %s", listen);
        goto end;
    }
    snprintf(port, sizeof(port), "%ld", p);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    if (getaddrinfo(host[0] ? host : "0.0.0.0", port, &hints, &res) != 0 || !res ||
        res->ai_addrlen > sizeof(*ss)) {
        snprintf(err, errlen, "cannot resolve listen address %s", listen);
        goto end;
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *sslen = res->ai_addrlen;
    rc = 0;
end:
    if (res)
        freeaddrinfo(res);
    return rc;
}

static void http_server_free(zr_http_server_t *s)
{
    if (!s)
        return;
    http_lane_free(s->lane);
    free(s->routes);
    http_limits_free(s->limits);
    if (s->key_pem) {
        OPENSSL_cleanse(s->key_pem, strlen(s->key_pem));
        free(s->key_pem);
    }
    free(s->cert_pem);
    free(s->ca_pem);
    X509_STORE_free(s->client_store);
    free(s->cert_header);
    free(s->trusted);
    free(s);
}

static int http_read_pem(const char *path, char **out, const char *what, char *err, size_t errlen)
{
    size_t len = 0;
    if (zr_file_read(path, HTTP_PEM_MAX, out, &len) != 0) {
        snprintf(err, errlen, "cannot read %s %s", what, path);
        return -1;
    }
    return 0;
}

/* The server and its routes: cfg->routes, then cfg->lane_routes (from
 * lane_first on), each checked. */
static int http_routes_copy(zr_http_server_t **out, const zr_http_server_config_t *cfg, char *err, size_t errlen)
{
    zr_http_server_t *s;
    size_t lane_count = cfg->lane_routes ? cfg->lane_route_count : 0;

    for (size_t i = 0; i < cfg->route_count + lane_count; i++) {
        const zr_http_route_t *r = i < cfg->route_count ? &cfg->routes[i] : &cfg->lane_routes[i - cfg->route_count];
        if (!r->path || !r->handler) {
            snprintf(err, errlen, "route %zu has no path or handler", i);
            return -1;
        }
    }
    s = *out = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    s->routes = calloc(cfg->route_count + lane_count, sizeof(*s->routes));
    if (!s->routes)
        return -1;
    memcpy(s->routes, cfg->routes, cfg->route_count * sizeof(*s->routes));
    if (lane_count)
        memcpy(s->routes + cfg->route_count, cfg->lane_routes, lane_count * sizeof(*s->routes));
    s->lane_first = cfg->route_count;
    s->route_count = cfg->route_count + lane_count;
    return 0;
}

zr_http_server_t *zr_http_server_start(const zr_http_server_config_t *cfg, char *err, size_t errlen)
{
    zr_http_server_t *s = NULL;
    struct sockaddr_storage ss;
    socklen_t sslen = 0;
    /* ITC: MHD_quiesce_daemon for the drain */
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    unsigned int threads;
    const union MHD_DaemonInfo *info;
    sigset_t block, old;
    long cores;
    int masked = 0;
    char dummy[1];

    if (!err || !errlen) {
        err = dummy;
        errlen = sizeof(dummy);
    }
    err[0] = '\0';
    if (!cfg || !cfg->routes || !cfg->route_count) {
        snprintf(err, errlen, "no routes");
        goto fail;
    }
    if (http_routes_copy(&s, cfg, err, errlen) != 0)
        goto fail;
    s->ctx = cfg->ctx;
    snprintf(s->component, sizeof(s->component), "%s", cfg->component ? cfg->component : "http");
    s->quiet_access_log = cfg->quiet_access_log;
    s->max_body = cfg->max_body_bytes ? cfg->max_body_bytes : HTTP_DEFAULT_MAX_BODY;
    s->hsts = cfg->hsts;
    cores = sysconf(_SC_NPROCESSORS_ONLN);
    threads = cfg->threads > 0 ? (unsigned int)cfg->threads : (unsigned int)(cores > 0 ? 2 * cores : 2);
    if (threads > HTTP_MAX_THREADS)
        threads = HTTP_MAX_THREADS;
    if (!(s->limits = http_limits_new(cfg, threads)))
        goto fail;

    if (http_parse_listen(cfg->listen, &ss, &sslen, err, errlen) != 0)
        goto fail;
    if (ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;

    if ((cfg->tls_cert_file != NULL) != (cfg->tls_key_file != NULL)) {
        snprintf(err, errlen, "tls_cert_file and tls_key_file go together");
        goto fail;
    }
    if (cfg->client_ca_file && !cfg->tls_cert_file && !(cfg->client_cert_optional && cfg->client_cert_header)) {
        snprintf(err, errlen, "client_ca_file needs tls_cert_file and tls_key_file");
        goto fail;
    }
    if (cfg->tls_cert_file) {
        if (http_read_pem(cfg->tls_cert_file, &s->cert_pem, "TLS certificate", err, errlen) != 0 ||
            http_read_pem(cfg->tls_key_file, &s->key_pem, "TLS key", err, errlen) != 0)
            goto fail;
        s->tls = 1;
        flags |= MHD_USE_TLS;
    }
    if (cfg->client_ca_file) {
        if (http_read_pem(cfg->client_ca_file, &s->ca_pem, "client CA", err, errlen) != 0)
            goto fail;
        s->mtls = 1;
    }
    if (cfg->client_cert_optional && cfg->client_ca_file) {
        s->cert_optional = 1;
        if (!(s->client_store = zr_http_client_ca_load(cfg->client_ca_file))) {
            snprintf(err, errlen, "cannot load the client CA %s", cfg->client_ca_file);
            goto fail;
        }
        if (cfg->client_cert_header && !(s->cert_header = strdup(cfg->client_cert_header)))
            goto fail;
        for (char *p = s->cert_header; p && *p; p++)
            *p = (char)tolower((unsigned char)*p);
        if (cfg->trusted_proxy_count) {
            if (!(s->trusted = calloc(cfg->trusted_proxy_count, sizeof(*s->trusted))))
                goto fail;
            memcpy(s->trusted, cfg->trusted_proxies, cfg->trusted_proxy_count * sizeof(*s->trusted));
            s->trusted_count = cfg->trusted_proxy_count;
        }
    }

    /* The server's threads inherit this mask: SIGINT/SIGTERM/SIGHUP stay for
     * the thread that calls zr_http_wait_for_signal, and SIGPIPE from a
     * client that hung up can never end the process. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    sigaddset(&block, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &block, &old) == 0)
        masked = 1;
    if (http_lane_start(s, cfg, err, errlen) != 0) {
        if (masked)
            pthread_sigmask(SIG_SETMASK, &old, NULL);
        goto fail;
    }
    if (s->lane)
        flags |= MHD_ALLOW_SUSPEND_RESUME;
    {
        struct MHD_OptionItem opts[20];
        size_t n = 0;
#define HTTP_OPT(o, v, p) opts[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)}
        HTTP_OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
        if (threads > 1)
            HTTP_OPT(MHD_OPTION_THREAD_POOL_SIZE, threads, NULL);
        HTTP_OPT(MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)http_uri_start, s);
        HTTP_OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_completed, s);
        HTTP_OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)http_mhd_log, s);
        /* limits.c: caps, deadlines; libmicrohttpd's own timeout is the idle one */
        HTTP_OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_limits_notify_connection, s->limits);
        HTTP_OPT(MHD_OPTION_CONNECTION_TIMEOUT, http_limits_idle_timeout(s->limits), NULL);
        HTTP_OPT(MHD_OPTION_CONNECTION_LIMIT, http_limits_mhd_connection_limit(s->limits), NULL);
        /* Room for a request head of up to ~64 KiB and the answer to it:
         * with the default 32 KiB a target near that size left no room to
         * say 414 and the connection was dropped unanswered. Pages are
         * touched only as a request uses them. */
        HTTP_OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, HTTP_CONN_MEMORY, NULL);
        /* stricter request parsing: fewer ways to smuggle a request */
        HTTP_OPT(MHD_OPTION_STRICT_FOR_CLIENT, 1, NULL);
        if (s->tls) {
            HTTP_OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert_pem);
            HTTP_OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, s->key_pem);
            HTTP_OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTP_TLS_PRIORITIES);
        }
        /* makes libmicrohttpd ask for a client certificate; whether one was
         * given and verifies is checked per request (http_client_cert) */
        if (s->mtls && s->tls)
            HTTP_OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, s->ca_pem);
        HTTP_OPT(MHD_OPTION_END, 0, NULL);
#undef HTTP_OPT
        s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_access, s, MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
    }
    /* the sweeper inherits the blocked signals too */
    if (s->daemon && http_limits_start(s->limits) != 0) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    if (masked)
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (!s->daemon) {
        snprintf(err, errlen, "cannot start HTTP%s server on %s", s->tls ? "S" : "", cfg->listen);
        goto fail;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : -1;
    return s;
fail:
    if (s)
        http_lane_stop(s);
    http_server_free(s);
    return NULL;
}

int zr_http_server_port(const zr_http_server_t *s) { return s ? s->port : -1; }

/* Quiesce: the workers stop watching the listening socket; closing it
 * makes the kernel refuse new connections instead of queueing them. */
unsigned zr_http_server_drain(zr_http_server_t *s, int timeout_s)
{
    MHD_socket listen_fd;

    if (!s || !s->daemon)
        return 0;
    listen_fd = MHD_quiesce_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    return http_limits_drain(s->limits, timeout_s);
}

void zr_http_server_load(zr_http_server_t *s, zr_http_load_t *out)
{
    zr_http_lane_load_t lane;
    memset(out, 0, sizeof(*out));
    if (!s)
        return;
    if (s->limits)
        http_limits_load(s->limits, &out->in_flight, &out->threads, &out->connections, &out->max_connections);
    out->busy = __atomic_load_n(&s->workers_busy, __ATOMIC_RELAXED);
    if (zr_http_server_lane_load(s, &lane) == 0)
        out->on_lane = (unsigned)(lane.busy + lane.queued);
}

void zr_http_server_stop(zr_http_server_t *s)
{
    if (!s)
        return;
    /* the sweeper first: no cut-off while the workers stop */
    http_limits_stop(s->limits);
    /* first: libmicrohttpd must not stop with a connection suspended */
    http_lane_stop(s);
    if (s->daemon)
        MHD_stop_daemon(s->daemon);
    http_server_free(s);
}

void zr_http_block_signals(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
}

int zr_http_wait_for_signal(void)
{
    sigset_t set;
    int sig = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    /* Blocked here (and in the server's threads since zr_http_server_start),
     * so the signal waits for sigwait instead of ending the process. */
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    while (sigwait(&set, &sig) != 0)
        ;
    return sig;
}
