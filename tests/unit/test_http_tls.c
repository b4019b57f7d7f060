/* Unit tests for HTTPS and mutual TLS in src/http/server.c: a CA, a server
 * and client certificates are made with the openssl command line in a temp
 * dir; the client side is OpenSSL's SSL API. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/util.h"

static char dir[64];
static int handler_calls;

static int handle_whoami(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    char cn[128] = "none", body[256];
    __atomic_add_fetch(&handler_calls, 1, __ATOMIC_SEQ_CST);
    if (req->client_cert)
        X509_NAME_get_text_by_NID(X509_get_subject_name(req->client_cert), NID_commonName, cn, sizeof(cn));
    snprintf(body, sizeof(body), "tls=%d cn=%s", req->tls, cn);
    return zr_http_respond(resp, 200, "text/plain", body, strlen(body));
}

static const zr_http_route_t routes[] = {{"GET", "/whoami", handle_whoami}};

static int run(const char *cmd)
{
    char full[2048];
    snprintf(full, sizeof(full), "cd %s && (%s) >/dev/null 2>&1", dir, cmd);
    return system(full);
}

#define KEYGEN "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

static int group_setup(void **state)
{
    snprintf(dir, sizeof(dir), "/tmp/zr-tls-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (run("printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign,cRLSign\\n' > ca.ext && "
            "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n' > server.ext && "
            "printf 'extendedKeyUsage=clientAuth\\n' > client.ext") != 0 ||
        run(KEYGEN " -x509 -days 2 -subj /CN=zr-test-ca -keyout ca.key -out ca.pem "
                   "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign") != 0 ||
        run(KEYGEN " -subj /CN=localhost -keyout server.key -out server.csr && openssl x509 -req -days 2 "
                   "-in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -extfile server.ext -out server.pem") != 0 ||
        run(KEYGEN " -subj /CN=relay-client -keyout client.key -out client.csr && openssl x509 -req -days 2 "
                   "-in client.csr -CA ca.pem -CAkey ca.key -set_serial 3 -extfile client.ext -out client.pem") != 0 ||
        /* same name, but issued by nobody we trust */
        run(KEYGEN " -x509 -days 2 -subj /CN=relay-client -keyout rogue.key -out rogue.pem") != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    run("rm -f ca.* server.* client.* rogue.*");
    rmdir(dir);
    return 0;
}

static zr_http_server_t *start(int mtls)
{
    char cert[128], key[128], ca[128], err[256] = "";
    snprintf(cert, sizeof(cert), "%s/server.pem", dir);
    snprintf(key, sizeof(key), "%s/server.key", dir);
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    zr_http_server_config_t cfg = {
        .listen = "127.0.0.1:0",
        .tls_cert_file = cert,
        .tls_key_file = key,
        .client_ca_file = mtls ? ca : NULL,
        .threads = 2,
        .routes = routes,
        .route_count = 1,
        .component = "tls-test",
    };
    zr_http_server_t *s = zr_http_server_start(&cfg, err, sizeof(err));
    if (!s)
        fail_msg("start: %s", err);
    return s;
}

/* GET /whoami over TLS. Returns the HTTP status, or -1 when the handshake
 * (or the request) fails. body gets the response body. */
static int tls_get(int port, const char *client, int version, char *body, size_t bodylen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = NULL;
    int fd = -1, status = -1, n;
    struct sockaddr_in sa;
    struct timeval tv = {5, 0};
    char path[128], buf[16384];
    size_t len = 0;
    const char *req = "GET /whoami HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

    body[0] = '\0';
    assert_non_null(ctx);
    snprintf(path, sizeof(path), "%s/ca.pem", dir);
    assert_int_equal(SSL_CTX_load_verify_locations(ctx, path, NULL), 1);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (version) {
        SSL_CTX_set_security_level(ctx, 0);
        SSL_CTX_set_min_proto_version(ctx, version);
        SSL_CTX_set_max_proto_version(ctx, version);
    }
    if (client) {
        snprintf(path, sizeof(path), "%s/%s.pem", dir, client);
        assert_int_equal(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM), 1);
        snprintf(path, sizeof(path), "%s/%s.key", dir, client);
        assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM), 1);
    }
    fd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ssl = SSL_new(ctx);
    SSL_set_fd(ssl, fd);
    SSL_set_tlsext_host_name(ssl, "localhost");
    SSL_set1_host(ssl, "localhost");
    if (SSL_connect(ssl) != 1)
        goto end;
    if (SSL_write(ssl, req, (int)strlen(req)) != (int)strlen(req))
        goto end;
    while (len + 1 < sizeof(buf) && (n = SSL_read(ssl, buf + len, (int)(sizeof(buf) - 1 - len))) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    if (sscanf(buf, "HTTP/1.%*c %d", &status) != 1)
        status = -1;
    {
        const char *b = strstr(buf, "\r\n\r\n");
        snprintf(body, bodylen, "%s", b ? b + 4 : "");
    }
end:
    ERR_clear_error();
    SSL_free(ssl);
    if (fd >= 0)
        close(fd);
    SSL_CTX_free(ctx);
    return status;
}

static void test_https_without_client_ca(void **state)
{
    zr_http_server_t *s = start(0);
    char body[16384]; /* an error page with its inline style: over 8 KiB */
    assert_int_equal(tls_get(zr_http_server_port(s), NULL, 0, body, sizeof(body)), 200);
    assert_string_equal(body, "tls=1 cn=none");
    assert_int_equal(tls_get(zr_http_server_port(s), NULL, TLS1_2_VERSION, body, sizeof(body)), 200);
    /* TLS 1.1 and older are refused */
    assert_int_equal(tls_get(zr_http_server_port(s), NULL, TLS1_1_VERSION, body, sizeof(body)), -1);
    assert_int_equal(tls_get(zr_http_server_port(s), NULL, TLS1_VERSION, body, sizeof(body)), -1);
    zr_http_server_stop(s);
}

static void test_mutual_tls(void **state)
{
    zr_http_server_t *s = start(1);
    int port = zr_http_server_port(s);
    char body[16384]; /* an error page with its inline style: over 8 KiB */

    handler_calls = 0;
    /* no certificate: a 403 page, without reaching the handler */
    assert_int_equal(tls_get(port, NULL, 0, body, sizeof(body)), 403);
    assert_int_equal(tls_get(port, NULL, TLS1_2_VERSION, body, sizeof(body)), 403);
    assert_non_null(strstr(body, "forbidden"));
    /* a certificate from another issuer: refused too */
    assert_int_equal(tls_get(port, "rogue", 0, body, sizeof(body)), 403);
    assert_int_equal(tls_get(port, "rogue", TLS1_2_VERSION, body, sizeof(body)), 403);
    assert_int_equal(handler_calls, 0);

    /* the CA-issued certificate reaches the handler, as an X509 */
    assert_int_equal(tls_get(port, "client", 0, body, sizeof(body)), 200);
    assert_string_equal(body, "tls=1 cn=relay-client");
    assert_int_equal(tls_get(port, "client", TLS1_2_VERSION, body, sizeof(body)), 200);
    assert_string_equal(body, "tls=1 cn=relay-client");
    assert_int_equal(handler_calls, 2);
    zr_http_server_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_without_client_ca),
        cmocka_unit_test(test_mutual_tls),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
