/* What the parts of the HTTP listener share, private to src/http/: the
 * server and per-request state (server.c), the back-channel lane (lane.c)
 * and the connection limits (limits.c, http_limits.h). */
#ifndef ZR_HTTP_INTERNAL_H
#define ZR_HTTP_INTERNAL_H

#include <microhttpd.h>
#include <openssl/x509.h>
#include <time.h>

#include "zr/http.h"
#include "zr/util.h"

#include "http_limits.h"

typedef struct http_lane http_lane_t;

struct zr_http_server {
    struct MHD_Daemon *daemon;
    zr_http_route_t *routes;
    size_t route_count;
    size_t lane_first;          /* routes[lane_first..] run on the lane */
    http_lane_t *lane;          /* NULL without lane routes */
    void *ctx;
    char component[32];
    int quiet_access_log;      /* zr_http_server_config_t.quiet_access_log */
    size_t max_body;
    int tls;
    int mtls;
    int cert_optional;          /* RFC 8705: ask for a client certificate, do not require one */
    X509_STORE *client_store;   /* with cert_optional: the CAs a client certificate must chain to */
    char *cert_header;          /* with cert_optional: a trusted proxy's forwarded certificate, or NULL */
    zr_net_cidr_t *trusted;     /* trusted proxies (for cert_header) */
    size_t trusted_count;
    int hsts;
    int port;
    char *cert_pem;
    char *key_pem;
    char *ca_pem;
    http_limits_t *limits;      /* caps, deadlines, drain (limits.c) */
    unsigned workers_busy;      /* handlers running on the worker threads (atomic) */
};

/* Per-request state, created by the URI callback (which sees the raw request
 * target including the query) and freed when libmicrohttpd is done. */
typedef struct http_conn {
    zr_http_server_t *server;
    struct timespec start;
    char *uri;                  /* raw request target */
    char *path;                 /* decoded path, NULL when malformed */
    char log_path[128];         /* printable path for the access log */
    char method[16];
    char ref[16];               /* support reference, shown on error pages */
    const zr_http_route_t *route;
    X509 *client_cert;          /* verified client certificate (mTLS listeners) */
    int client_cert_invalid;    /* a trusted proxy's forwarded certificate did not parse or verify */
    zr_buf_t body;
    int started;
    int queued;
    int status;
    http_limits_req_t limits;   /* its share of the limits (limits.c) */
    int uri_too_long;           /* over limits.max_uri_bytes: 414 */
    int body_too_large;         /* a chunked body grew past max_body: 413 once it is in */
    size_t discarded;
    /* back-channel lane: the request built on the worker, the handler's
     * answer filled in by the lane thread, and the connection to resume */
    int lane_state;             /* HTTP_LANE_* */
    int lane_failed;            /* handler failed: 500 */
    zr_http_request_t lane_req;
    zr_http_response_t lane_resp;
    struct MHD_Connection *lane_conn;
    struct http_conn *lane_next;
} http_conn_t;

enum { HTTP_LANE_NONE = 0, HTTP_LANE_WAITING, HTTP_LANE_DONE, HTTP_LANE_REFUSED };

/* server.c: sends resp (security headers added; close adds Connection:
 * close) / an error page or JSON; runs the route's handler. */
enum MHD_Result http_send(http_conn_t *hc, struct MHD_Connection *conn, zr_http_response_t *resp, int close);
enum MHD_Result http_send_error(http_conn_t *hc, struct MHD_Connection *conn, int status, zr_lang_t lang,
                                const char *code, const char *allow, int close);
int http_handler_run(http_conn_t *hc, const zr_http_request_t *req, zr_http_response_t *resp);

/* lane.c: the back-channel lane. Submit a complete request of a lane route
 * (the connection is suspended, or answered 503 when the lane is full);
 * answer it on the worker once it was resumed; start (main thread, signals
 * blocked), stop (before MHD_stop_daemon: every suspended connection is
 * resumed), free. */
enum MHD_Result http_lane_submit(http_conn_t *hc, struct MHD_Connection *conn);
enum MHD_Result http_lane_answer(http_conn_t *hc, struct MHD_Connection *conn);
int http_lane_start(zr_http_server_t *s, const zr_http_server_config_t *cfg, char *err, size_t errlen);
void http_lane_stop(zr_http_server_t *s);
void http_lane_free(http_lane_t *lane);

/* The page template directory (pages.c), malloc'ed; and dropping the loaded
 * catalogs when it changes (lang.c), so they are read from the new one. */
char *http_page_template_dir(void);
void http_lang_forget(void);

#endif
