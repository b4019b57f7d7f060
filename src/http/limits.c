/* Connection limits of the HTTP listener (issue 13 §3, docs/operations.md
 * #connection-limits).
 *
 * libmicrohttpd's own connection timeout is an idle timeout: every byte
 * resets it, so a client that trickles its request head one byte at a time
 * keeps a connection (a file descriptor, a share of a worker) for ever. Here
 * every connection gets a deadline for its request head and one for its
 * body, kept in a list that one sweeper thread walks; an overdue socket is
 * shutdown(2) (never closed: the file descriptor stays libmicrohttpd's,
 * which sees end-of-file in its own thread and closes and cleans up as for
 * any client that hung up). The list entry is removed, under the same
 * lock, by libmicrohttpd's "closed" notification, which comes before it
 * closes the descriptor: a shutdown can never hit a reused number.
 *
 * Admission is decided when libmicrohttpd reports a new connection: over
 * the cap, or over the per-address cap for a peer that is not a trusted
 * proxy, the socket is shut down at once (no request was read, so nothing
 * is lost). Behind a trusted proxy the client is known only from the
 * request's X-Forwarded-For, so there the per-address cap counts the
 * client's requests in flight and answers 429.
 *
 * Each kind of refusal or cut-off is logged once per episode: the first one
 * with the limit and its configuration key, then counted until none came
 * for LIMITS_EPISODE_QUIET_MS, when one line gives the total. */
#include "http_limits.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "zr/log.h"
#include "zr/metrics.h"
#include "zr/util.h"

#define LIMITS_DEFAULT_MAX_CONNECTIONS 4096
#define LIMITS_DEFAULT_PER_IP 256
#define LIMITS_DEFAULT_HEADER_TIMEOUT_S 10
#define LIMITS_DEFAULT_BODY_TIMEOUT_S 30
#define LIMITS_DEFAULT_IDLE_TIMEOUT_S 30
#define LIMITS_DEFAULT_MAX_URI 8192
#define LIMITS_EPISODE_QUIET_MS 60000
/* The sweeper looks at least this often (a deadline is at least 1 s away
 * when it is set, so a cut-off comes at most this late). */
#define LIMITS_SWEEP_MS 500
#define LIMITS_IP_BUCKETS 1024
#define LIMITS_RETRY_AFTER "1"

enum { PHASE_HEAD = 0, PHASE_BODY, PHASE_BUSY };
enum { EP_CAP = 0, EP_PER_IP, EP_CLIENT, EP_HEAD, EP_BODY, EP_KINDS };

static const struct {
    const char *key;
    const char *what;
} episode_kinds[EP_KINDS] = {
    {"limits.max_connections", "connections refused"},
    {"limits.max_connections_per_ip", "connections refused"},
    {"limits.max_connections_per_ip", "requests refused with 429"},
    {"limits.header_timeout_s", "connections cut"},
    {"limits.body_timeout_s", "connections cut"},
};

typedef struct {
    int active;
    unsigned long count;
    int64_t last_ms;
} episode_t;

typedef struct ip_count {
    struct ip_count *next;
    zr_net_addr_t addr;
    unsigned n;
} ip_count_t;

struct http_limits_conn {
    http_limits_conn_t *prev, *next;
    int fd;
    zr_net_addr_t peer;
    int trusted;               /* the peer is a trusted proxy */
    int counted;               /* admitted: counted in connections (and per address unless trusted) */
    int phase;
    int64_t deadline_ms;       /* 0: none */
    int cut;                   /* shut down by us */
};

struct http_limits {
    pthread_mutex_t lock;
    pthread_cond_t wake;       /* the sweeper: stop */
    pthread_cond_t idle;       /* the drain: no request in flight */
    pthread_t sweeper;
    int sweeper_running;
    int stopping;
    int draining;
    unsigned max_connections, per_ip, threads;
    int header_ms, body_ms, idle_s;
    size_t max_uri;
    zr_net_cidr_t *trusted;
    size_t trusted_count;
    unsigned connections;
    unsigned in_flight;
    int count_refusals;        /* zorgrelay_http_refusals_total counts this listener's */
    http_limits_conn_t *head;
    ip_count_t *ips[LIMITS_IP_BUCKETS];
    episode_t episodes[EP_KINDS];
};

static int64_t limits_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timespec limits_abstime(int64_t ms)
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000};
    return ts;
}

/* ---------------------------------------------------------------- per address */

static size_t ip_bucket(const zr_net_addr_t *a)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < sizeof(a->b); i++)
        h = (h ^ a->b[i]) * 16777619u;
    return h % LIMITS_IP_BUCKETS;
}

/* The count of an address, created at 0 when absent; NULL when out of memory. */
static ip_count_t *ip_get(http_limits_t *l, const zr_net_addr_t *a)
{
    size_t b = ip_bucket(a);
    ip_count_t *e;

    for (e = l->ips[b]; e; e = e->next)
        if (memcmp(&e->addr, a, sizeof(*a)) == 0)
            return e;
    if (!(e = calloc(1, sizeof(*e))))
        return NULL;
    e->addr = *a;
    e->next = l->ips[b];
    l->ips[b] = e;
    return e;
}

static void ip_release(http_limits_t *l, const zr_net_addr_t *a)
{
    ip_count_t **p = &l->ips[ip_bucket(a)];

    for (; *p; p = &(*p)->next) {
        if (memcmp(&(*p)->addr, a, sizeof(*a)) != 0)
            continue;
        if ((*p)->n > 0)
            (*p)->n--;
        if ((*p)->n == 0) {
            ip_count_t *dead = *p;
            *p = dead->next;
            free(dead);
        }
        return;
    }
}

/* ---------------------------------------------------------------- episodes */

/* Called with the lock held. detail names the peer or client. */
static void episode_event(http_limits_t *l, int kind, unsigned limit, const char *detail)
{
    static const zr_metrics_counter_t counters[EP_KINDS] = {
        ZR_METRICS_REFUSED_MAX_CONNECTIONS, ZR_METRICS_REFUSED_PER_IP, ZR_METRICS_REFUSED_PER_CLIENT,
        ZR_METRICS_CUT_HEADER_TIMEOUT, ZR_METRICS_CUT_BODY_TIMEOUT};
    episode_t *ep = &l->episodes[kind];

    if (l->count_refusals)
        zr_metrics_count(counters[kind]);
    ep->count++;
    ep->last_ms = limits_now_ms();
    if (ep->active)
        return;
    ep->active = 1;
    switch (kind) {
    case EP_CAP:
        zr_log_warn("limits", "connection refused: %s (%u) reached, %s; further ones are counted, not logged, "
                    "until none for %d s", episode_kinds[kind].key, limit, detail, LIMITS_EPISODE_QUIET_MS / 1000);
        break;
    case EP_PER_IP:
        zr_log_warn("limits", "connection refused: %s (%u) reached by %s; further ones are counted, not logged, "
                    "until none for %d s", episode_kinds[kind].key, limit, detail, LIMITS_EPISODE_QUIET_MS / 1000);
        break;
    case EP_CLIENT:
        zr_log_warn("limits", "request refused with 429: %s (%u requests in flight) reached by %s; further ones "
                    "are counted, not logged, until none for %d s", episode_kinds[kind].key, limit, detail,
                    LIMITS_EPISODE_QUIET_MS / 1000);
        break;
    default:
        zr_log_warn("limits", "connection cut: the request %s was not complete within %s (%u s), %s; further "
                    "ones are counted, not logged, until none for %d s", kind == EP_HEAD ? "head" : "body",
                    episode_kinds[kind].key, limit, detail, LIMITS_EPISODE_QUIET_MS / 1000);
        break;
    }
}

static void episodes_end(http_limits_t *l, int64_t now)
{
    for (int k = 0; k < EP_KINDS; k++) {
        episode_t *ep = &l->episodes[k];
        if (!ep->active || now - ep->last_ms < LIMITS_EPISODE_QUIET_MS)
            continue;
        zr_log_info("limits", "%s: episode over, %lu %s in it", episode_kinds[k].key, ep->count,
                    episode_kinds[k].what);
        ep->active = 0;
        ep->count = 0;
    }
}

/* ---------------------------------------------------------------- connections */

static void conn_link(http_limits_t *l, http_limits_conn_t *c)
{
    c->prev = NULL;
    c->next = l->head;
    if (l->head)
        l->head->prev = c;
    l->head = c;
}

static void conn_unlink(http_limits_t *l, http_limits_conn_t *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else if (l->head == c)
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* With the lock held: libmicrohttpd sees end-of-file and closes it. */
static void conn_cut(http_limits_conn_t *c)
{
    if (c->cut || c->fd < 0)
        return;
    c->cut = 1;
    c->deadline_ms = 0;
    shutdown(c->fd, SHUT_RDWR);
}

static void conn_admit(http_limits_t *l, http_limits_conn_t *c)
{
    char peer[46];
    ip_count_t *ipc = NULL;

    zr_net_addr_format(&c->peer, peer);
    if (l->draining) {
        conn_cut(c); /* accepted just before the listener closed */
        return;
    }
    if (l->connections >= l->max_connections) {
        char detail[64];
        snprintf(detail, sizeof(detail), "peer=%s", peer);
        episode_event(l, EP_CAP, l->max_connections, detail);
        conn_cut(c);
        return;
    }
    if (!c->trusted) {
        if (!(ipc = ip_get(l, &c->peer))) {
            conn_cut(c);
            return;
        }
        if (ipc->n >= l->per_ip) {
            char detail[64];
            snprintf(detail, sizeof(detail), "peer=%s", peer);
            episode_event(l, EP_PER_IP, l->per_ip, detail);
            conn_cut(c);
            return;
        }
        ipc->n++;
    }
    l->connections++;
    c->counted = 1;
    c->phase = PHASE_HEAD;
    c->deadline_ms = limits_now_ms() + l->header_ms;
    conn_link(l, c);
}

void http_limits_notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                                   enum MHD_ConnectionNotificationCode code)
{
    http_limits_t *l = cls;
    http_limits_conn_t *c = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *addr = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

        c = calloc(1, sizeof(*c));
        *socket_context = c;
        if (!c) {
            /* cannot be counted: not served either */
            if (fd)
                shutdown(fd->connect_fd, SHUT_RDWR);
            return;
        }
        c->fd = fd ? fd->connect_fd : -1;
        if (!addr || zr_net_addr_from_sockaddr(addr->client_addr, &c->peer) != 0)
            memset(&c->peer, 0, sizeof(c->peer));
        c->trusted = zr_net_cidr_list_match(l->trusted, l->trusted_count, &c->peer);
        pthread_mutex_lock(&l->lock);
        conn_admit(l, c);
        pthread_mutex_unlock(&l->lock);
        return;
    }
    if (code != MHD_CONNECTION_NOTIFY_CLOSED || !c)
        return;
    /* Before libmicrohttpd closes the descriptor: after this, the sweeper
     * cannot reach it. */
    pthread_mutex_lock(&l->lock);
    if (c->counted) {
        conn_unlink(l, c);
        l->connections--;
        if (!c->trusted)
            ip_release(l, &c->peer);
    }
    pthread_mutex_unlock(&l->lock);
    free(c);
    *socket_context = NULL;
}

/* ---------------------------------------------------------------- requests */

static enum MHD_Result limits_collect_xff(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    zr_buf_t *b = cls;

    (void)kind;
    if (key && value && strcasecmp(key, "X-Forwarded-For") == 0)
        zr_buf_printf(b, "%s%s", b->len ? "," : "", value);
    return MHD_YES;
}

/* Every X-Forwarded-For header, joined in order (RFC 9110 §5.3); NULL when none. */
static char *limits_forwarded_for(struct MHD_Connection *conn)
{
    zr_buf_t b;

    zr_buf_init(&b);
    MHD_get_connection_values(conn, MHD_HEADER_KIND, limits_collect_xff, &b);
    return zr_buf_steal(&b);
}

int http_limits_request_begin(http_limits_t *l, http_limits_req_t *r, struct MHD_Connection *conn,
                              int body_pending)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    http_limits_conn_t *c = info ? info->socket_context : NULL;
    char *xff = NULL;
    int status = 0;

    if (c && c->trusted)
        xff = limits_forwarded_for(conn);
    pthread_mutex_lock(&l->lock);
    r->conn = c;
    r->active = 1;
    l->in_flight++;
    if (c && !c->cut) {
        c->phase = body_pending ? PHASE_BODY : PHASE_BUSY;
        c->deadline_ms = body_pending ? limits_now_ms() + l->body_ms : 0;
    }
    if (c && c->trusted) {
        ip_count_t *ipc;
        zr_net_forwarded_client(xff, l->trusted, l->trusted_count, &c->peer, &r->client);
        ipc = ip_get(l, &r->client);
        if (ipc && ipc->n < l->per_ip) {
            ipc->n++;
            r->client_counted = 1;
        } else {
            char client[46], peer[46], detail[128];
            snprintf(detail, sizeof(detail), "client=%s (X-Forwarded-For from the trusted proxy %s)",
                     zr_net_addr_format(&r->client, client), zr_net_addr_format(&c->peer, peer));
            episode_event(l, EP_CLIENT, l->per_ip, detail);
            if (ipc && ipc->n == 0)
                ip_release(l, &r->client);
            status = 429;
        }
    }
    pthread_mutex_unlock(&l->lock);
    free(xff);
    return status;
}

void http_limits_body_done(http_limits_t *l, http_limits_req_t *r)
{
    pthread_mutex_lock(&l->lock);
    if (r->conn && r->conn->phase == PHASE_BODY) {
        r->conn->phase = PHASE_BUSY;
        r->conn->deadline_ms = 0;
    }
    pthread_mutex_unlock(&l->lock);
}

void http_limits_request_end(http_limits_t *l, http_limits_req_t *r)
{
    pthread_mutex_lock(&l->lock);
    if (r->client_counted)
        ip_release(l, &r->client);
    if (r->conn && !r->conn->cut) {
        r->conn->phase = PHASE_HEAD;
        r->conn->deadline_ms = limits_now_ms() + l->header_ms;
        /* no next request while draining (the answer is out) */
        if (l->draining)
            conn_cut(r->conn);
    }
    if (r->active && l->in_flight > 0 && --l->in_flight == 0)
        pthread_cond_broadcast(&l->idle);
    memset(r, 0, sizeof(*r));
    pthread_mutex_unlock(&l->lock);
}

int http_limits_uri_too_long(const http_limits_t *l, size_t len) { return len > l->max_uri; }

int http_limits_response(http_limits_t *l, zr_http_response_t *resp, int *close)
{
    int has_retry = 0;

    if (resp->status == 503 || resp->status == 429) {
        for (size_t i = 0; i < resp->headers.count && !has_retry; i++)
            has_retry = strcasecmp(resp->headers.items[i].name, "Retry-After") == 0;
        /* RFC 9110 §10.2.3: when to try again (Redis outages last
         * fractions of a second; a load balancer may pick another relay) */
        if (!has_retry && zr_http_set_header(resp, "Retry-After", LIMITS_RETRY_AFTER) != 0)
            return -1;
    }
    if (__atomic_load_n(&l->draining, __ATOMIC_ACQUIRE))
        *close = 1;
    return 0;
}

int http_limits_mhd_message(const char *msg)
{
    static int64_t last_ms;
    int64_t now = limits_now_ms(), before;

    if (!strstr(msg, "accepting connection") && !strstr(msg, "resource limit"))
        return 0;
    before = __atomic_load_n(&last_ms, __ATOMIC_RELAXED);
    if ((before == 0 || now - before >= LIMITS_EPISODE_QUIET_MS) &&
        __atomic_compare_exchange_n(&last_ms, &before, now, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        zr_log_warn("limits", "cannot accept connections: %.*s (the open-file limit? see limits.max_connections "
                    "and LimitNOFILE); at most one such line a minute",
                    (int)strcspn(msg, "\n"), msg);
    return 1;
}

/* ---------------------------------------------------------------- sweeper */

static void *limits_sweeper(void *arg)
{
    http_limits_t *l = arg;

    pthread_mutex_lock(&l->lock);
    while (!l->stopping) {
        int64_t now = limits_now_ms(), next = now + LIMITS_SWEEP_MS;
        struct timespec until;

        for (http_limits_conn_t *c = l->head; c; c = c->next) {
            char peer[64];
            if (!c->deadline_ms || c->cut)
                continue;
            if (c->deadline_ms > now) {
                if (c->deadline_ms < next)
                    next = c->deadline_ms;
                continue;
            }
            snprintf(peer, sizeof(peer), "peer=%s", zr_net_addr_format(&c->peer, (char[46]){0}));
            if (c->phase == PHASE_BODY)
                episode_event(l, EP_BODY, (unsigned)(l->body_ms / 1000), peer);
            else
                episode_event(l, EP_HEAD, (unsigned)(l->header_ms / 1000), peer);
            conn_cut(c);
        }
        episodes_end(l, now);
        until = limits_abstime(next);
        pthread_cond_timedwait(&l->wake, &l->lock, &until);
    }
    pthread_mutex_unlock(&l->lock);
    return NULL;
}

/* ---------------------------------------------------------------- lifecycle */

http_limits_t *http_limits_new(const zr_http_server_config_t *cfg, unsigned threads)
{
    http_limits_t *l = calloc(1, sizeof(*l));
    pthread_condattr_t ca;
    int ca_ok = 0;

    if (!l)
        return NULL;
    l->max_connections = cfg->max_connections > 0 ? (unsigned)cfg->max_connections : LIMITS_DEFAULT_MAX_CONNECTIONS;
    l->per_ip = cfg->max_connections_per_ip > 0 ? (unsigned)cfg->max_connections_per_ip : LIMITS_DEFAULT_PER_IP;
    l->header_ms = 1000 * (cfg->header_timeout_s > 0 ? cfg->header_timeout_s : LIMITS_DEFAULT_HEADER_TIMEOUT_S);
    l->body_ms = 1000 * (cfg->body_timeout_s > 0 ? cfg->body_timeout_s : LIMITS_DEFAULT_BODY_TIMEOUT_S);
    l->idle_s = cfg->idle_timeout_s > 0 ? cfg->idle_timeout_s : LIMITS_DEFAULT_IDLE_TIMEOUT_S;
    l->max_uri = cfg->max_uri_bytes > 0 ? (size_t)cfg->max_uri_bytes : LIMITS_DEFAULT_MAX_URI;
    l->threads = threads;
    l->count_refusals = cfg->count_refusals;
    if (cfg->trusted_proxy_count) {
        if (!(l->trusted = calloc(cfg->trusted_proxy_count, sizeof(*l->trusted))))
            goto fail;
        memcpy(l->trusted, cfg->trusted_proxies, cfg->trusted_proxy_count * sizeof(*l->trusted));
        l->trusted_count = cfg->trusted_proxy_count;
    }
    /* Deadlines and the drain bound on the monotonic clock. */
    if (pthread_condattr_init(&ca) != 0)
        goto fail;
    ca_ok = 1;
    if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 || pthread_mutex_init(&l->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&l->wake, &ca) != 0)
        goto fail_lock;
    if (pthread_cond_init(&l->idle, &ca) != 0)
        goto fail_wake;
    pthread_condattr_destroy(&ca);
    return l;
fail_wake:
    pthread_cond_destroy(&l->wake);
fail_lock:
    pthread_mutex_destroy(&l->lock);
fail:
    if (ca_ok)
        pthread_condattr_destroy(&ca);
    free(l->trusted);
    free(l);
    return NULL;
}

int http_limits_start(http_limits_t *l)
{
    if (pthread_create(&l->sweeper, NULL, limits_sweeper, l) != 0)
        return -1;
    l->sweeper_running = 1;
    return 0;
}

void http_limits_stop(http_limits_t *l)
{
    if (!l || !l->sweeper_running)
        return;
    pthread_mutex_lock(&l->lock);
    l->stopping = 1;
    pthread_cond_broadcast(&l->wake);
    pthread_mutex_unlock(&l->lock);
    pthread_join(l->sweeper, NULL);
    l->sweeper_running = 0;
}

void http_limits_free(http_limits_t *l)
{
    if (!l)
        return;
    http_limits_stop(l);
    for (size_t b = 0; b < LIMITS_IP_BUCKETS; b++)
        while (l->ips[b]) {
            ip_count_t *e = l->ips[b];
            l->ips[b] = e->next;
            free(e);
        }
    pthread_cond_destroy(&l->idle);
    pthread_cond_destroy(&l->wake);
    pthread_mutex_destroy(&l->lock);
    free(l->trusted);
    free(l);
}

unsigned http_limits_mhd_connection_limit(const http_limits_t *l)
{
    uint64_t n = (uint64_t)l->max_connections * (l->threads ? l->threads : 1) + l->threads;
    return n > 4000000u ? 4000000u : (unsigned)n;
}

unsigned http_limits_idle_timeout(const http_limits_t *l) { return (unsigned)l->idle_s; }

unsigned http_limits_drain(http_limits_t *l, int timeout_s)
{
    int64_t start = limits_now_ms(), until_ms = start + (int64_t)(timeout_s > 0 ? timeout_s : 0) * 1000;
    struct timespec until = limits_abstime(until_ms);
    unsigned in_flight, open, idle = 0, left;

    pthread_mutex_lock(&l->lock);
    __atomic_store_n(&l->draining, 1, __ATOMIC_RELEASE);
    in_flight = l->in_flight;
    open = l->connections;
    /* Waiting for a request head: nothing of theirs was read or is running. */
    for (http_limits_conn_t *c = l->head; c; c = c->next)
        if (c->phase == PHASE_HEAD && !c->cut) {
            conn_cut(c);
            idle++;
        }
    zr_log_info("shutdown", "drain: no longer accepting connections; %u requests in flight, %u connections open "
                "(%u closed while waiting for a request); waiting up to %d s (limits.drain_timeout_s)",
                in_flight, open, idle, timeout_s);
    while (l->in_flight > 0 && pthread_cond_timedwait(&l->idle, &l->lock, &until) != ETIMEDOUT)
        ;
    left = l->in_flight;
    pthread_mutex_unlock(&l->lock);
    if (left == 0)
        zr_log_info("shutdown", "drain: done after %lld ms, every request in flight (%u) answered",
                    (long long)(limits_now_ms() - start), in_flight);
    else
        zr_log_warn("shutdown", "drain: %u requests still in flight after limits.drain_timeout_s (%d s); "
                    "they are cut off", left, timeout_s);
    return left;
}

void http_limits_load(http_limits_t *l, unsigned *in_flight, unsigned *threads, unsigned *connections,
                      unsigned *max_connections)
{
    pthread_mutex_lock(&l->lock);
    if (connections)
        *connections = l->connections;
    if (max_connections)
        *max_connections = l->max_connections;
    if (in_flight)
        *in_flight = l->in_flight;
    if (threads)
        *threads = l->threads;
    pthread_mutex_unlock(&l->lock);
}
