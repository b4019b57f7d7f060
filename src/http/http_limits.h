/* Connection limits of the HTTP listener (issue 13 §3), private to
 * src/http/: server.c calls these from libmicrohttpd's callbacks. */
#ifndef ZR_HTTP_LIMITS_H
#define ZR_HTTP_LIMITS_H

#include <microhttpd.h>
#include <stddef.h>

#include "zr/http.h"

typedef struct http_limits http_limits_t;
typedef struct http_limits_conn http_limits_conn_t;

/* One request's share of the limits (in http_conn_t). */
typedef struct {
    http_limits_conn_t *conn;  /* the connection it came on (NULL: untracked) */
    int active;                /* counted in flight */
    int client_counted;        /* counted for `client` (behind a trusted proxy) */
    zr_net_addr_t client;
} http_limits_req_t;

/* From the server's configuration (0 = defaults); NULL when out of memory. */
http_limits_t *http_limits_new(const zr_http_server_config_t *cfg, unsigned threads);
/* The deadline sweeper: start with the signals blocked (its thread
 * inherits the mask). */
int http_limits_start(http_limits_t *l);
/* Stops the sweeper; call before MHD_stop_daemon, free after it. */
void http_limits_stop(http_limits_t *l);
void http_limits_free(http_limits_t *l);

/* libmicrohttpd's connection limit: high enough never to refuse before our
 * own cap does (it divides its limit among the worker threads). */
unsigned http_limits_mhd_connection_limit(const http_limits_t *l);
unsigned http_limits_idle_timeout(const http_limits_t *l);
int http_limits_uri_too_long(const http_limits_t *l, size_t len);

/* MHD_OPTION_NOTIFY_CONNECTION: admission (cap, per-IP cap) and the
 * deadline of the first request head. */
void http_limits_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code);

/* The request head is in: counted in flight, the head deadline ends and
 * the body's begins (body_pending). Returns 429 when the client behind a
 * trusted proxy has max_connections_per_ip requests in flight, else 0. */
int http_limits_request_begin(http_limits_t *l, http_limits_req_t *r, struct MHD_Connection *conn,
                              int body_pending);
/* The body is in: no deadline while the handler works. */
void http_limits_body_done(http_limits_t *l, http_limits_req_t *r);
/* The answer is sent (or the request aborted): the next head's deadline
 * starts; while draining, the connection is closed instead. */
void http_limits_request_end(http_limits_t *l, http_limits_req_t *r);

/* For every answer: Retry-After on a 503 or 429 that has none; while
 * draining, *close = 1. */
int http_limits_response(http_limits_t *l, zr_http_response_t *resp, int *close);

/* libmicrohttpd's own log: a failed accept (no file descriptors left) is a
 * warning, at most once a minute, never silent. 1 when it was one. */
int http_limits_mhd_message(const char *msg);

/* See zr_http_server_drain (after the listener stopped accepting). */
unsigned http_limits_drain(http_limits_t *l, int timeout_s);
void http_limits_load(http_limits_t *l, unsigned *in_flight, unsigned *threads, unsigned *connections,
                      unsigned *max_connections);

#endif
