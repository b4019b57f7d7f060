/* Internal to src/selftest: one HTTP(S) request with libcurl that records
 * how far it got (TCP, TLS, answer), the TLS parameters, the server
 * certificate and the Date header. */
#ifndef ZR_SELFTEST_PROBE_H
#define ZR_SELFTEST_PROBE_H

#include <curl/curl.h>
#include <openssl/x509.h>

#include "zr/util.h"

typedef struct {
    const char *url;
    const char *ca_file;       /* pinned CA; NULL: the system store */
    const char *cert_file;     /* client certificate (mutual TLS), optional */
    const char *key_file;
    int soap_post;             /* POST an empty SOAP body instead of GET */
    int head;                  /* HEAD instead of GET */
    int peek;                  /* only connect and read the server certificate, unverified
                                  and without a client certificate (diagnosis of a failed
                                  handshake); nothing is sent */
    long connect_timeout_ms;
    long timeout_ms;
    size_t max_body;           /* bytes kept; more is cut off (not an error) */
} zr_selftest_probe_opts_t;

typedef struct {
    CURLcode cc;
    char error[CURL_ERROR_SIZE];
    long status;               /* HTTP status, 0 when no answer */
    int tcp_connected;
    int tls_done;
    char date[80];             /* Date header, "" when none */
    double local_mid;          /* our time (epoch s) between request sent and answer received */
    char tls_version[32];
    char cipher[80];
    X509 *peer;                /* server certificate (owned), NULL when none */
    char *body;                /* NUL-terminated, at most max_body bytes */
    size_t body_len;
    int truncated;             /* the answer was longer; the rest was not read */
} zr_selftest_probe_t;

/* Runs the request once; always fills p (free with _clear). 0 when an HTTP
 * answer arrived (any status), or for a peek when the TLS session was made. */
int zr_selftest_probe_run(const zr_selftest_probe_opts_t *o, zr_selftest_probe_t *p);
void zr_selftest_probe_clear(zr_selftest_probe_t *p);
/* Our clock as the relay sees it (zr_time_now, which tests may shift), with
 * sub-second precision. */
double zr_selftest_now(void);

#endif
