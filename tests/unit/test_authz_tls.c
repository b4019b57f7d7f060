/* The PDP over real TLS: a loopback HTTPS PDP with a certificate from a
 * test CA made here. The pinned CA is trusted, nothing else is, and TLS
 * below 1.2 is refused. */
#include <setjmp.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "zr/authz.h"

static char dir[64];
static struct {
    int fd, port;
    SSL_CTX *ctx;
    pthread_t thread;
    volatile int stop;
    int handled; /* requests answered over TLS */
} srv = {.fd = -1};

static int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
    return system(full);
}

#define KEYGEN "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static void serve_one(int c)
{
    SSL *ssl = SSL_new(srv.ctx);
    char buf[16384] = "";
    size_t len = 0;
    SSL_set_fd(ssl, c);
    if (SSL_accept(ssl) == 1) {
        /* read the head and (small) body; answer permit */
        while (len < sizeof(buf) - 1) {
            int n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len));
            if (n <= 0)
                break;
            len += (size_t)n;
            buf[len] = '\0';
            char *end = strstr(buf, "\r\n\r\n");
            char *cl = strcasestr(buf, "Content-Length:");
            if (end && (!cl || strlen(end + 4) >= (size_t)atol(cl + 15)))
                break;
        }
        const char *body = !strncmp(buf, "GET", 3) ? "nope" : "{\"decision\":true}";
        char out[256];
        int n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                                          "Connection: close\r\n\r\n%s",
                         !strncmp(buf, "GET", 3) ? "404 X" : "200 OK",
                         !strncmp(buf, "GET", 3) ? "text/plain" : "application/json", strlen(body), body);
        SSL_write(ssl, out, n);
        __atomic_add_fetch(&srv.handled, 1, __ATOMIC_SEQ_CST);
        SSL_shutdown(ssl);
    }
    SSL_free(ssl);
    ERR_clear_error();
}

static void *serve(void *arg)
{
    while (!srv.stop) {
        struct pollfd pfd = {.fd = srv.fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) != 1)
            continue;
        int c = accept(srv.fd, NULL, NULL);
        if (c >= 0) {
            serve_one(c);
            close(c);
        }
    }
    return NULL;
}

static int start(int max_version)
{
    char cert[128], key[128];
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    srv.ctx = SSL_CTX_new(TLS_server_method());
    if (!srv.ctx || SSL_CTX_use_certificate_file(srv.ctx, cert, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_use_PrivateKey_file(srv.ctx, key, SSL_FILETYPE_PEM) != 1)
        return -1;
    if (max_version) {
        /* an old server: offer TLS 1.1 at most (and allow it at all) */
        SSL_CTX_set_min_proto_version(srv.ctx, TLS1_VERSION);
        SSL_CTX_set_max_proto_version(srv.ctx, max_version);
        SSL_CTX_set_cipher_list(srv.ctx, "DEFAULT:@SECLEVEL=0");
    }
    srv.stop = 0;
    srv.handled = 0;
    srv.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (srv.fd < 0 || bind(srv.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(srv.fd, 8) != 0 ||
        getsockname(srv.fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    return pthread_create(&srv.thread, NULL, serve, NULL);
}

static void stop(void)
{
    srv.stop = 1;
    pthread_join(srv.thread, NULL);
    close(srv.fd);
    SSL_CTX_free(srv.ctx);
    srv.ctx = NULL;
}

static int group_setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/zr-authz-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (run("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext") ||
        run(KEYGEN " -x509 -days 2 -subj /CN=zr-test-ca -keyout ca.key -out ca.pem "
                   "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign") ||
        run(KEYGEN " -subj /CN=localhost -keyout server.key -out server.csr && openssl x509 -req -days 2 "
                   "-in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -extfile server.ext -out server.pem"))
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    run("rm -f ca.* server.*");
    rmdir(dir);
    zr_authz_log_close();
    return 0;
}

static zr_authz_decision_t evaluate(const char *ca, char *err, size_t errlen)
{
    char url[64], ca_path[128];
    zr_trace_t trace;
    snprintf(url, sizeof(url), "https://localhost:%d", srv.port);
    snprintf(ca_path, sizeof(ca_path), "%s/%s", dir, ca ? ca : "");
    /* Generous: no test here is about the timeout, and under valgrind on a
     * busy host two TLS handshakes (server and client both instrumented)
     * have taken more than 2 s. */
    zr_authzen_client_t cfg = {.enabled = 1, .pdp = url, .timeout_ms = 30000, .tls_ca_file = ca ? ca_path : NULL};
    zr_authz_pdp_t *p = zr_authz_pdp_new(&cfg, err, errlen);
    assert_non_null(p);
    json_t *subject = json_pack("{s:s, s:s}", "type", ZR_AUTHZ_TYPE_UZI, "id", "900000123");
    zr_trace_begin(NULL, &trace);
    zr_authz_decision_t d = zr_authz_evaluate(p, &trace, subject, "portal", NULL, err, errlen);
    json_decref(subject);
    zr_authz_pdp_free(p);
    return d;
}

static void test_pinned_ca(void **state)
{
    char err[256] = "";
    assert_int_equal(start(0), 0);
    zr_authz_decision_t d = evaluate("ca.pem", err, sizeof(err));
    stop();
    if (d != ZR_AUTHZ_PERMIT)
        fail_msg("decision %d: %s", d, err);
    assert_int_equal(srv.handled, 2); /* discovery (404) and the evaluation */
}

static void test_untrusted_certificate(void **state)
{
    char err[256] = "";
    assert_int_equal(start(0), 0);
    /* the system store does not know our test CA */
    assert_int_equal(evaluate(NULL, err, sizeof(err)), ZR_AUTHZ_ERROR);
    stop();
    assert_int_equal(srv.handled, 0);
    assert_true(err[0] != '\0');
}

static void test_old_tls_refused(void **state)
{
    char err[256] = "";
    assert_int_equal(start(TLS1_1_VERSION), 0);
    assert_int_equal(evaluate("ca.pem", err, sizeof(err)), ZR_AUTHZ_ERROR);
    stop();
    assert_int_equal(srv.handled, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_ca),
        cmocka_unit_test(test_untrusted_certificate),
        cmocka_unit_test(test_old_tls_refused),
    };
    /* as main() does (src/main.c): libcurl's global state before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    /* the test server may answer a client that gave up (a slow run) */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
