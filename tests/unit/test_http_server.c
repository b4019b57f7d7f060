/* Unit tests for src/http/server.c: a real listener on 127.0.0.1:0, spoken
 * to over raw sockets (the http concern does not link libcurl). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/util.h"

/* ---- handlers ---- */

static int echo_calls;

static void echo_list(zr_buf_t *b, const char *label, const zr_kvlist_t *l)
{
    for (size_t i = 0; i < l->count; i++)
        zr_buf_printf(b, "%s:%s=%s\n", label, l->items[i].name, l->items[i].value);
}

static int handle_echo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_buf_t b;
    zr_buf_init(&b);
    __atomic_add_fetch(&echo_calls, 1, __ATOMIC_SEQ_CST);
    zr_buf_printf(&b, "method=%s\npath=%s\nlang=%s\nremote=%s\nctx=%s\ntraceparent=%s\nbody_len=%zu\n",
                  req->method, req->path, req->lang == ZR_LANG_EN ? "en" : "nl", req->remote_addr,
                  (const char *)ctx, req->traceparent ? req->traceparent : "-", req->body_len);
    zr_buf_printf(&b, "count_a=%zu\n", zr_kv_count(&req->query, "a"));
    echo_list(&b, "q", &req->query);
    echo_list(&b, "f", &req->form);
    echo_list(&b, "c", &req->cookies);
    zr_buf_printf(&b, "ua=%s\n", zr_kv_get(&req->headers, "user-agent") ? zr_kv_get(&req->headers, "user-agent") : "-");
    zr_http_respond(resp, 200, "text/plain; charset=utf-8", b.data, b.len);
    zr_http_set_cookie(resp, "sid", "abc123", 600, 1, 1);
    zr_http_set_cookie(resp, "pref", "x", 0, 0, 0);
    zr_buf_free(&b);
    return 0;
}

static int handle_fail(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_http_respond(resp, 200, "text/plain", "should not be seen", 18);
    return -1;
}

static int handle_json(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_http_respond_json(resp, 200, "{\"ok\":true}");
    if (zr_kv_get(&req->query, "cache"))
        zr_http_set_header(resp, "Cache-Control", "public, max-age=60");
    return 0;
}

static int handle_redirect(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    return zr_http_redirect(resp, 302, "https://rp.example/cb?code=x");
}

static int handle_autopost(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_kvlist_t f = {0};
    int rc = zr_kv_add(&f, "SAMLRequest", "<x>") || zr_page_autopost(resp, req->lang, "https://tvs.example/sso", &f);
    zr_kv_free(&f);
    return rc;
}

static char ctx_marker[] = "ctx-ok";

static const zr_http_route_t routes[] = {
    {"GET", "/echo", handle_echo},
    {"POST", "/echo", handle_echo},
    {"POST", "/only-post", handle_echo},
    {"PUT", "/only-post", handle_echo},
    {"GET", "/fail", handle_fail},
    {NULL, "/json", handle_json},
    {"GET", "/redirect", handle_redirect},
    {"GET", "/autopost", handle_autopost},
};

static zr_http_server_t *start_hsts(size_t max_body, int hsts)
{
    char err[256] = "";
    zr_http_server_config_t cfg = {
        .hsts = hsts,
        .listen = "127.0.0.1:0",
        .max_body_bytes = max_body,
        .threads = 2,
        .routes = routes,
        .route_count = sizeof(routes) / sizeof(routes[0]),
        .ctx = ctx_marker,
        .component = "test",
    };
    zr_http_server_t *s = zr_http_server_start(&cfg, err, sizeof(err));
    if (!s)
        fprintf(stderr, "start failed: %s\n", err);
    assert_non_null(s);
    assert_true(zr_http_server_port(s) > 0);
    return s;
}

static zr_http_server_t *start(size_t max_body) { return start_hsts(max_body, 0); }

/* ---- a tiny raw HTTP client ---- */

typedef struct {
    char *raw;
    size_t len;
    int status;
    const char *body;
} reply_t;

static int connect_to(int port)
{
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    return fd;
}

static void read_reply(int fd, reply_t *r)
{
    zr_buf_t b;
    char chunk[4096];
    ssize_t n;
    zr_buf_init(&b);
    while ((n = recv(fd, chunk, sizeof(chunk), 0)) > 0)
        zr_buf_append(&b, chunk, (size_t)n);
    r->len = b.len;
    r->raw = zr_buf_steal(&b);
    r->status = 0;
    sscanf(r->raw, "HTTP/1.%*c %d", &r->status);
    r->body = strstr(r->raw, "\r\n\r\n");
    r->body = r->body ? r->body + 4 : "";
}

static void send_raw(int port, const char *req, size_t len, reply_t *r)
{
    int fd = connect_to(port);
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    read_reply(fd, r);
    close(fd);
}

/* For garbage: the server sees end of input and must not wait for more. */
static void send_raw_eof(int port, const char *req, size_t len, reply_t *r)
{
    int fd = connect_to(port);
    /* libmicrohttpd waits for more input on a half-closed connection (until
     * its idle timeout): do not wait that long, only check it survives */
    struct timeval tv = {0, 300000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    assert_int_equal(send(fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
    shutdown(fd, SHUT_WR);
    read_reply(fd, r);
    close(fd);
}

static void request(int port, const char *method, const char *target, const char *extra_headers, const char *body,
                    reply_t *r)
{
    zr_buf_t b;
    zr_buf_init(&b);
    zr_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s", method, target,
                  extra_headers ? extra_headers : "");
    if (body)
        zr_buf_printf(&b, "Content-Length: %zu\r\n\r\n%s", strlen(body), body);
    else
        zr_buf_appends(&b, "\r\n");
    send_raw(port, b.data, b.len, r);
    zr_buf_free(&b);
}

/* Value of header name in the reply's head (first occurrence), or NULL. */
static char *header(const reply_t *r, const char *name, char *out, size_t outlen)
{
    const char *p = r->raw;
    size_t nlen = strlen(name);
    while ((p = strstr(p, "\r\n")) != NULL && p < r->body - 2) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
            const char *v = p + nlen + 1, *e;
            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(out, outlen, "%.*s", (int)(e - v), v);
            return out;
        }
    }
    return NULL;
}

static size_t count_header(const reply_t *r, const char *name)
{
    size_t n = 0, nlen = strlen(name);
    const char *p = r->raw;
    while ((p = strstr(p, "\r\n")) != NULL && p < r->body - 2) {
        p += 2;
        if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':')
            n++;
    }
    return n;
}

static void reply_free(reply_t *r) { zr_release(r->raw); }

/* ---- tests ---- */

static void test_routing_and_query(void **state)
{
    zr_http_server_t *s = start(0);
    int port = zr_http_server_port(s);
    reply_t r;
    char h[512];

    request(port, "GET", "/echo?a=1&b=x%20y&a=2&empty", "User-Agent: unit\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "method=GET\npath=/echo\n"));
    assert_non_null(strstr(r.body, "ctx=ctx-ok\n"));
    assert_non_null(strstr(r.body, "remote=127.0.0.1\n"));
    /* duplicates are kept, in order, so OAuth can refuse them */
    assert_non_null(strstr(r.body, "count_a=2\nq:a=1\nq:b=x y\nq:a=2\nq:empty=\n"));
    assert_non_null(strstr(r.body, "ua=unit\n"));
    assert_string_equal(header(&r, "Content-Type", h, sizeof(h)), "text/plain; charset=utf-8");
    assert_int_equal(count_header(&r, "Set-Cookie"), 2);
    assert_non_null(strstr(r.raw, "Set-Cookie: sid=abc123; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=600\r\n"));
    assert_non_null(strstr(r.raw, "Set-Cookie: pref=x; Path=/; HttpOnly; SameSite=Lax; Max-Age=0\r\n"));
    reply_free(&r);

    request(port, "GET", "/nowhere", NULL, NULL, &r);
    assert_int_equal(r.status, 404);
    assert_non_null(strstr(r.body, "not_found"));
    assert_non_null(strstr(r.body, "<html lang=\"nl\""));
    reply_free(&r);

    request(port, "GET", "/only-post", NULL, NULL, &r);
    assert_int_equal(r.status, 405);
    assert_string_equal(header(&r, "Allow", h, sizeof(h)), "POST, PUT");
    assert_non_null(strstr(r.body, "method_not_allowed"));
    reply_free(&r);

    /* a route without a method takes any */
    request(port, "DELETE", "/json", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);

    /* the path is percent-decoded before routing; a bad escape is a 400 */
    request(port, "GET", "/%65cho", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "path=/echo\n"));
    reply_free(&r);
    request(port, "GET", "/echo%00x", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);

    /* a 404 without a body keeps the connection; with a body pending the
     * early answer closes it (the second request is never read) */
    {
        const char *two = "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"
                          "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        send_raw(port, two, strlen(two), &r);
        assert_int_equal(r.status, 404);
        assert_non_null(strstr(r.raw, "HTTP/1.1 200"));
        reply_free(&r);
    }
    {
        const char *hdr = "POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n";
        send_raw(port, hdr, strlen(hdr), &r);
        assert_int_equal(r.status, 404);
        assert_non_null(strstr(r.raw, "Connection: close"));
        reply_free(&r);
    }

    zr_http_server_stop(s);
}

static void test_handler_failure_is_500(void **state)
{
    zr_http_server_t *s = start(0);
    reply_t r;
    request(zr_http_server_port(s), "GET", "/fail", NULL, NULL, &r);
    assert_int_equal(r.status, 500);
    assert_null(strstr(r.body, "should not be seen"));
    assert_non_null(strstr(r.body, "internal_error"));
    reply_free(&r);
    zr_http_server_stop(s);
}

static void test_form_and_cookies(void **state)
{
    zr_http_server_t *s = start(0);
    int port = zr_http_server_port(s);
    reply_t r;

    request(port, "POST", "/echo?a=q",
            "Content-Type: application/x-www-form-urlencoded; charset=UTF-8\r\n"
            "Cookie: sid=abc; theme=\"dark\";broken; other = v2\r\n",
            "SAMLart=AAQ%2Bx%3D&RelayState=r+s&x=", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "method=POST\n"));
    assert_non_null(strstr(r.body, "f:SAMLart=AAQ+x=\nf:RelayState=r s\nf:x=\n"));
    assert_non_null(strstr(r.body, "c:sid=abc\nc:theme=dark\nc:other=v2\n"));
    assert_non_null(strstr(r.body, "q:a=q\n"));
    reply_free(&r);

    /* other content types: raw body only, no form */
    request(port, "POST", "/echo", "Content-Type: application/json\r\n", "{\"a\":1}", &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "body_len=7\n"));
    assert_null(strstr(r.body, "f:"));
    reply_free(&r);

    /* malformed percent-encoding, in the body or the query, is a 400 page */
    echo_calls = 0;
    request(port, "POST", "/echo", "Content-Type: application/x-www-form-urlencoded\r\n", "a=%zz", &r);
    assert_int_equal(r.status, 400);
    assert_non_null(strstr(r.body, "bad_request"));
    reply_free(&r);
    request(port, "POST", "/echo", "Content-Type: application/x-www-form-urlencoded\r\n", "a=x%00y", &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    request(port, "GET", "/echo?a=%2", NULL, NULL, &r);
    assert_int_equal(r.status, 400);
    reply_free(&r);
    assert_int_equal(echo_calls, 0);
    zr_http_server_stop(s);
}

static void test_body_too_large(void **state)
{
    zr_http_server_t *s = start(64);
    int port = zr_http_server_port(s);
    reply_t r;
    char body[80];
    int fd;

    echo_calls = 0;
    memset(body, 'a', sizeof(body) - 1);
    body[sizeof(body) - 1] = '\0';
    body[1] = '=';
    request(port, "POST", "/echo", "Content-Type: application/x-www-form-urlencoded\r\n", body, &r);
    assert_int_equal(r.status, 413);
    assert_non_null(strstr(r.body, "body_too_large"));
    reply_free(&r);

    /* announced but never sent: answered at once and the connection closed,
     * so the client cannot hold a worker (read_reply would time out) */
    fd = connect_to(port);
    {
        const char *hdr = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n\r\n";
        assert_int_equal(send(fd, hdr, strlen(hdr), MSG_NOSIGNAL), (ssize_t)strlen(hdr));
    }
    read_reply(fd, &r);
    close(fd);
    assert_int_equal(r.status, 413);
    reply_free(&r);

    /* chunked, growing past the limit: refused (413 or dropped) */
    {
        const char *req = "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "28\r\n0123456789012345678901234567890123456789\r\n"
                          "28\r\n0123456789012345678901234567890123456789\r\n0\r\n\r\n";
        send_raw(port, req, strlen(req), &r);
        assert_true(r.status == 413 || r.status == 0);
        reply_free(&r);
    }
    /* exactly at the limit is fine */
    body[64] = '\0';
    request(port, "POST", "/echo", "Content-Type: application/x-www-form-urlencoded\r\n", body, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "body_len=64\n"));
    reply_free(&r);
    assert_int_equal(echo_calls, 1);
    zr_http_server_stop(s);
}

static void test_security_headers(void **state)
{
    zr_http_server_t *s = start(0);
    int port = zr_http_server_port(s);
    reply_t r;
    char h[512];

    const char *paths[] = {"/echo", "/nowhere", "/json", "/fail"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        request(port, "GET", paths[i], NULL, NULL, &r);
        assert_string_equal(header(&r, "X-Content-Type-Options", h, sizeof(h)), "nosniff");
        assert_string_equal(header(&r, "Referrer-Policy", h, sizeof(h)), "no-referrer");
        assert_string_equal(header(&r, "X-Frame-Options", h, sizeof(h)), "DENY");
        assert_non_null(header(&r, "Content-Security-Policy", h, sizeof(h)));
        assert_non_null(strstr(h, "default-src 'none'"));
        assert_non_null(strstr(h, "frame-ancestors 'none'"));
        assert_null(strstr(h, "script-src"));
        assert_string_equal(header(&r, "Cache-Control", h, sizeof(h)), "no-store");
        assert_int_equal(count_header(&r, "Content-Security-Policy"), 1);
        reply_free(&r);
    }
    request(port, "GET", "/json", NULL, NULL, &r);
    assert_string_equal(header(&r, "Content-Type", h, sizeof(h)), "application/json");
    assert_string_equal(r.body, "{\"ok\":true}");
    reply_free(&r);
    /* a handler's own Cache-Control wins, and is not doubled */
    request(port, "GET", "/json?cache=1", NULL, NULL, &r);
    assert_string_equal(header(&r, "Cache-Control", h, sizeof(h)), "public, max-age=60");
    assert_int_equal(count_header(&r, "Cache-Control"), 1);
    reply_free(&r);
    /* the autopost page keeps its own CSP: the nonce in the header is the
     * one on the page's only script */
    request(port, "GET", "/autopost", "Accept-Language: en\r\n", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(count_header(&r, "Content-Security-Policy"), 1);
    header(&r, "Content-Security-Policy", h, sizeof(h));
    assert_non_null(strstr(h, "form-action https://tvs.example;"));
    {
        char want[128];
        const char *n = strstr(h, "'nonce-");
        assert_non_null(n);
        snprintf(want, sizeof(want), "<script nonce=\"%.*s\">", (int)strcspn(n + 7, "'"), n + 7);
        assert_non_null(strstr(r.body, want));
        assert_ptr_equal(strstr(r.body, "<script"), strstr(r.body, want));
    }
    assert_non_null(strstr(r.body, "value=\"&lt;x&gt;\""));
    assert_non_null(strstr(r.body, ">Continue</button>"));
    assert_string_equal(header(&r, "X-Frame-Options", h, sizeof(h)), "DENY");
    reply_free(&r);

    request(port, "GET", "/redirect", NULL, NULL, &r);
    assert_int_equal(r.status, 302);
    assert_string_equal(header(&r, "Location", h, sizeof(h)), "https://rp.example/cb?code=x");
    assert_string_equal(header(&r, "Cache-Control", h, sizeof(h)), "no-store");
    reply_free(&r);
    zr_http_server_stop(s);
}

/* HSTS (RFC 6797) on every kind of answer when the public URL is https:
 * handler pages, JSON, redirects, and the server's own 400/404/405/413/500
 * pages; never on a plain-http (development) server. */
static void test_hsts(void **state)
{
    static const struct {
        const char *method, *target, *body;
        int status;
    } cases[] = {
        {"GET", "/echo", NULL, 200},           {"GET", "/json", NULL, 200},
        {"GET", "/redirect", NULL, 302},       {"GET", "/autopost", NULL, 200},
        {"GET", "/nowhere", NULL, 404},        {"GET", "/only-post", NULL, 405},
        {"GET", "/fail", NULL, 500},           {"GET", "/echo?a=%2", NULL, 400},
        {"POST", "/echo", "0123456789012345678901234567890123456789012345678901234567890123456789", 413},
    };
    for (int hsts = 0; hsts <= 1; hsts++) {
        zr_http_server_t *s = start_hsts(64, hsts);
        int port = zr_http_server_port(s);
        reply_t r;
        char h[128];
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            request(port, cases[i].method, cases[i].target, NULL, cases[i].body, &r);
            assert_int_equal(r.status, cases[i].status);
            if (hsts) {
                assert_non_null(header(&r, "Strict-Transport-Security", h, sizeof(h)));
                assert_string_equal(h, "max-age=31536000");
                assert_int_equal(count_header(&r, "Strict-Transport-Security"), 1);
            } else {
                assert_int_equal(count_header(&r, "Strict-Transport-Security"), 0);
            }
            reply_free(&r);
        }
        zr_http_server_stop(s);
    }
}

static void test_lang_and_traceparent(void **state)
{
    zr_http_server_t *s = start(0);
    int port = zr_http_server_port(s);
    reply_t r;
    static const struct {
        const char *al;
        const char *lang;
    } cases[] = {
        {NULL, "nl"},
        {"en-GB,en;q=0.9,nl;q=0.8", "en"},
        {"nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7", "nl"},
        {"de-DE,de;q=0.9,en;q=0.5", "en"},
        {"fr", "nl"},
        {"en;q=0.3, nl;q=0.7", "nl"},
        {"nl;q=0.2, EN;q=0.8", "en"},
        {"en;q=0", "nl"},
        {"*", "nl"},
        {";;,,q=,en-;q=abc", "nl"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char hdr[128] = "", want[16];
        if (cases[i].al)
            snprintf(hdr, sizeof(hdr), "Accept-Language: %s\r\n", cases[i].al);
        request(port, "GET", "/echo", hdr, NULL, &r);
        snprintf(want, sizeof(want), "lang=%s\n", cases[i].lang);
        if (!strstr(r.body, want))
            fail_msg("Accept-Language %s: want %s", cases[i].al ? cases[i].al : "(none)", cases[i].lang);
        reply_free(&r);
    }
    /* the English error page */
    request(port, "GET", "/nowhere", "Accept-Language: en\r\n", NULL, &r);
    assert_non_null(strstr(r.body, "<html lang=\"en\""));
    assert_non_null(strstr(r.body, "Page not found"));
    reply_free(&r);

    request(port, "GET", "/echo", "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n", NULL,
            &r);
    assert_non_null(strstr(r.body, "traceparent=00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n"));
    reply_free(&r);
    const char *bad[] = {
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", /* upper case */
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", /* zero trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", /* zero parent */
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", /* version ff */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* v00 with extra */
        "garbage",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char hdr[160];
        snprintf(hdr, sizeof(hdr), "traceparent: %s\r\n", bad[i]);
        request(port, "GET", "/echo", hdr, NULL, &r);
        if (!strstr(r.body, "traceparent=-\n"))
            fail_msg("traceparent accepted: %s", bad[i]);
        reply_free(&r);
    }
    zr_http_server_stop(s);
}

/* The access log has method, path, status, duration, component, and never
 * the query string, cookies or body. */
static void test_access_log(void **state)
{
    char path[] = "/tmp/zr-http-log-XXXXXX";
    int logfd = mkstemp(path);
    int saved = dup(STDERR_FILENO);
    char *log = NULL;
    size_t loglen = 0;
    reply_t r;
    zr_http_server_t *s;

    assert_true(logfd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(logfd, STDERR_FILENO);
    s = start(0);
    request(zr_http_server_port(s), "GET", "/echo?code=SECRETCODE123&state=s", "Cookie: sid=COOKIESECRET\r\n", NULL,
            &r);
    reply_free(&r);
    request(zr_http_server_port(s), "POST", "/echo?x=QUERYSECRET2",
            "Content-Type: application/x-www-form-urlencoded\r\nAuthorization: Basic QVVUSFNFQ1JFVA==\r\n",
            "code=BODYSECRET", &r);
    reply_free(&r);
    request(zr_http_server_port(s), "GET", "/nowhere?code=QUERYSECRET3", NULL, NULL, &r);
    reply_free(&r);
    zr_http_server_stop(s); /* every completion is logged by now */
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    assert_int_equal(zr_file_read(path, 1 << 20, &log, &loglen), 0);
    close(logfd);
    unlink(path);

    assert_non_null(strstr(log, "method=GET path=/echo status=200 ms="));
    assert_non_null(strstr(log, "method=POST path=/echo status=200 ms="));
    assert_non_null(strstr(log, "method=GET path=/nowhere status=404 ms="));
    assert_non_null(strstr(log, "component=test"));
    assert_null(strstr(log, "SECRET"));
    assert_null(strstr(log, "QVVUSFNFQ1JFVA"));
    assert_null(strstr(log, "?"));
    free(log);
}

/* Garbage must never crash the server; it keeps answering afterwards. */
static void test_garbage_requests(void **state)
{
    zr_http_server_t *s = start(0);
    int port = zr_http_server_port(s);
    reply_t r;
    const char *garbage[] = {
        "\r\n\r\n",
        "GET\r\n\r\n",
        "GET /echo HTTP/9.9\r\n\r\n",
        "GET /echo HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "GET /echo?%%%%&&&==&%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        /* (libmicrohttpd 0.9.75's own cookie parser reads uninitialised pool
         * memory on a pair with an empty name such as "=" or ";": harmless,
         * but valgrind reports it, so such cookies are left out here) */
        "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nCookie: a=\"b;c=\"\"; d=e f;;x\r\nAccept-Language: ;q=1.5,,,\r\n\r\n",
        "\x16\x03\x01\x00\x05hello",
    };
    for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        send_raw_eof(port, garbage[i], strlen(garbage[i]), &r);
        reply_free(&r);
    }
    request(port, "GET", "/echo", NULL, NULL, &r);
    assert_int_equal(r.status, 200);
    reply_free(&r);
    zr_http_server_stop(s);
}

static void test_start_errors(void **state)
{
    char err[256];
    zr_http_server_config_t cfg = {.listen = "nonsense", .routes = routes, .route_count = 1};
    assert_null(zr_http_server_start(&cfg, err, sizeof(err)));
    assert_true(strlen(err) > 0);
    cfg.listen = "127.0.0.1:99999";
    assert_null(zr_http_server_start(&cfg, err, sizeof(err)));
    cfg.listen = "127.0.0.1:0";
    cfg.tls_cert_file = "/nonexistent/cert.pem";
    cfg.tls_key_file = "/nonexistent/key.pem";
    assert_null(zr_http_server_start(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "cert"));
    cfg.tls_cert_file = cfg.tls_key_file = NULL;
    cfg.client_ca_file = "/nonexistent/ca.pem";
    assert_null(zr_http_server_start(&cfg, err, sizeof(err)));
    /* IPv6 loopback and ":port" forms parse */
    cfg.client_ca_file = NULL;
    cfg.listen = ":0";
    zr_http_server_t *s = zr_http_server_start(&cfg, err, sizeof(err));
    assert_non_null(s);
    zr_http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routing_and_query),
        cmocka_unit_test(test_handler_failure_is_500),
        cmocka_unit_test(test_form_and_cookies),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_security_headers),
        cmocka_unit_test(test_hsts),
        cmocka_unit_test(test_lang_and_traceparent),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_garbage_requests),
        cmocka_unit_test(test_start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
