/* The pool of Redis connections behind the session store.
 *
 * Connections are made lazily, at most ZR_STORE_POOL_MAX, and shared by all
 * threads under one mutex. A connection that failed in any way is closed,
 * never reused; the next call makes a new one, so the store heals itself when
 * Redis comes back. Every call has one deadline (timeout_ms) that bounds the
 * wait for a free connection, the connect, AUTH/SELECT and the command, so a
 * dead or hung Redis costs a request at most about timeout_ms. While Redis is
 * down, one caller probes it every ZR_STORE_RETRY_MS and all others fail at
 * once. Only the transitions are logged (down, answers again).
 * With Redis Sentinel (sentinel.c) the address is the master's: a failed
 * connection, or a READONLY or LOADING answer (a demoted master, a replica
 * still syncing), closes the connection and sends the next prober to the
 * sentinels, so a failover is followed once per outage, not once per call. */
#include "store_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zr/log.h"
#include "zr/metrics.h"
#include "zr/util.h"

static int64_t pool_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* What is left of a deadline, as a socket timeout; never zero, because a
 * zero timeval means "block forever" to setsockopt. */
static struct timeval pool_remaining(int64_t deadline_ms)
{
    int64_t left = deadline_ms - pool_now_ms();
    struct timeval tv;
    if (left < 1)
        left = 1;
    tv.tv_sec = (time_t)(left / 1000);
    tv.tv_usec = (suseconds_t)((left % 1000) * 1000);
    return tv;
}

int64_t zr_store_pool_now_ms(void)
{
    return pool_now_ms();
}

struct timeval zr_store_pool_remaining(int64_t deadline_ms)
{
    return pool_remaining(deadline_ms);
}

/* The pool's connections, and one to a sentinel while the master is looked
 * for (sentinel.c). */
unsigned zr_store_max_connections(void) { return ZR_STORE_POOL_MAX + 1; }

int zr_store_pool_init(zr_store_pool_t *pool, const zr_redis_config_t *cfg, char *err, size_t errlen)
{
    pthread_condattr_t attr;
    zr_buf_t target;
    int rc = -1;
    memset(pool, 0, sizeof(*pool));
    zr_buf_init(&target);
    if (zr_store_sentinel_init(pool, cfg, err, errlen) != 0)
        goto end;
    /* With sentinels no address is known until they name the master. */
    pool->host = pool->sentinel_count ? NULL : zr_strdup(cfg->host && *cfg->host ? cfg->host : "127.0.0.1");
    pool->port = cfg->port > 0 ? cfg->port : 6379;
    pool->unix_socket = cfg->unix_socket && *cfg->unix_socket ? zr_strdup(cfg->unix_socket) : NULL;
    pool->password = cfg->password && *cfg->password ? zr_strdup(cfg->password) : NULL;
    pool->db = cfg->db;
    pool->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 500;
    {
        /* Servers (relay, mock) ignore SIGPIPE process-wide; then masking it
         * around every command only costs three syscalls per call. */
        struct sigaction sa;
        pool->sigpipe_ignored = sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_IGN;
    }
    if (pool->sentinel_count) /* until the sentinels name it */
        zr_buf_printf(&target, "master '%s' (sentinels)", pool->sentinel_master);
    else if (pool->unix_socket)
        zr_buf_printf(&target, "unix:%s", pool->unix_socket);
    else
        zr_buf_printf(&target, "%s:%d", pool->host, pool->port);
    pool->target = zr_buf_steal(&target);
    if ((!pool->host && !pool->sentinel_count) || !pool->target ||
        (cfg->unix_socket && *cfg->unix_socket && !pool->unix_socket) ||
        (cfg->password && *cfg->password && !pool->password)) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (pool->db < 0) {
        snprintf(err, errlen, "redis db must not be negative");
        goto end;
    }
    /* The condition variable waits on a deadline from CLOCK_MONOTONIC, so a
     * wall-clock step cannot stretch or cut a wait. */
    if (pthread_condattr_init(&attr) != 0) {
        snprintf(err, errlen, "cannot initialise condition variable");
        goto end;
    }
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&pool->returned, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_init(&pool->lock, NULL);
    rc = 0;
end:
    if (rc != 0) {
        zr_store_sentinel_cleanup(pool);
        zr_release(pool->host);
        zr_release(pool->unix_socket);
        zr_release(pool->password);
        zr_release(pool->target);
    }
    return rc;
}

void zr_store_pool_cleanup(zr_store_pool_t *pool)
{
    for (size_t i = 0; i < pool->idle_count; i++)
        redisFree(pool->idle[i]);
    pool->idle_count = 0;
    pool->open_count = 0;
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->returned);
    zr_release(pool->host);
    zr_release(pool->unix_socket);
    if (pool->password) {
        memset(pool->password, 0, strlen(pool->password));
        zr_release(pool->password);
    }
    zr_release(pool->target);
    zr_store_sentinel_cleanup(pool);
}

/* Closes every idle connection: after one of them proved stale (Redis went
 * away or restarted), the others were opened to the same dead server. */
static void pool_flush_idle_locked(zr_store_pool_t *pool)
{
    for (size_t i = 0; i < pool->idle_count; i++)
        redisFree(pool->idle[i]);
    pool->open_count -= pool->idle_count;
    pool->idle_count = 0;
}

static void pool_mark_down_locked(zr_store_pool_t *pool, const char *why)
{
    int64_t now = pool_now_ms();
    if (!pool->down) {
        pool->down = 1;
        pool->down_since_ms = now;
        zr_metrics_gauge_set(ZR_METRICS_REDIS_UP, 0);
        zr_log_warn("store", "redis=%s unavailable (%s); store calls fail until it answers",
                    pool->target, why);
    }
    pool->next_attempt_ms = now + ZR_STORE_RETRY_MS;
    pool->rediscover = pool->sentinel_count > 0; /* the master may have moved */
    pool_flush_idle_locked(pool);
    pthread_cond_broadcast(&pool->returned);
}

static void pool_mark_up_locked(zr_store_pool_t *pool)
{
    if (pool->down) {
        pool->down = 0;
        zr_metrics_gauge_set(ZR_METRICS_REDIS_UP, 1);
        zr_metrics_count(ZR_METRICS_REDIS_RECONNECTS);
        zr_log_info("store", "redis=%s answers again after %lld ms", pool->target,
                    (long long)(pool_now_ms() - pool->down_since_ms));
    }
}

/* Copies the first word of a Redis error reply ("WRONGPASS", "NOAUTH", ...):
 * enough for an operator, and nothing the server might have echoed. */
void zr_store_pool_error_code(const redisReply *r, char *out, size_t outlen)
{
    size_t n = 0;
    if (r && r->type == REDIS_REPLY_ERROR && r->str)
        while (n < r->len && n + 1 < outlen && r->str[n] > ' ' && r->str[n] < 127)
            n++;
    if (n == 0)
        snprintf(out, outlen, "unexpected reply");
    else
        snprintf(out, outlen, "%.*s", (int)n, r->str);
}

/* Sends a setup command (AUTH, SELECT) and expects +OK. */
static int pool_setup_command(redisContext *c, const char *what, int argc, const char **argv,
                              const size_t *argvlen, char *why, size_t whylen)
{
    redisReply *r = redisCommandArgv(c, argc, argv, argvlen);
    char code[32];
    int rc = -1;
    if (!r) {
        snprintf(why, whylen, "%s: %s", what, c->errstr);
        goto end;
    }
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        zr_store_pool_error_code(r, code, sizeof(code));
        snprintf(why, whylen, "%s rejected: %s", what, code);
        goto end;
    }
    rc = 0;
end:
    if (r)
        freeReplyObject(r);
    return rc;
}

/* Makes a fresh connection usable: whole-budget timeout, keepalive,
 * AUTH, SELECT. 0, or -1 with the reason in why. Never logs the password. */
static int pool_setup(zr_store_pool_t *pool, redisContext *c, char *why, size_t whylen)
{
    char dbbuf[16];
    if (redisSetTimeout(c, (struct timeval){pool->timeout_ms / 1000, (pool->timeout_ms % 1000) * 1000}) != REDIS_OK) {
        snprintf(why, whylen, "cannot set timeout: %s", c->errstr);
        return -1;
    }
    if (!pool->unix_socket || pool->sentinel_count)
        redisEnableKeepAlive(c);
    if (pool->password) {
        const char *argv[2] = {"AUTH", pool->password};
        size_t argvlen[2] = {4, strlen(pool->password)};
        if (pool_setup_command(c, "AUTH", 2, argv, argvlen, why, whylen) != 0)
            return -1;
    }
    if (pool->db > 0) {
        const char *argv[2] = {"SELECT", dbbuf};
        size_t argvlen[2] = {6, 0};
        snprintf(dbbuf, sizeof(dbbuf), "%d", pool->db);
        argvlen[1] = strlen(dbbuf);
        if (pool_setup_command(c, "SELECT", 2, argv, argvlen, why, whylen) != 0)
            return -1;
    }
    return 0;
}

/* A new, ready connection (authenticated, database selected; with
 * sentinels, to a node that says it is the master), or NULL with the reason
 * in why. host/port: where to connect (a copy made under the lock); with
 * discover, the sentinels are asked first. */
static redisContext *pool_connect(zr_store_pool_t *pool, int64_t deadline_ms, int discover, const char *host,
                                  int port, char *why, size_t whylen)
{
    redisContext *c = NULL;
    char *found_host = NULL;
    int found_port = 0;
    if (discover) {
        c = zr_store_sentinel_connect(pool, deadline_ms, pool_setup, &found_host, &found_port, why, whylen);
        if (!c)
            goto end;
        zr_metrics_count(ZR_METRICS_REDIS_CONNECTIONS);
        pthread_mutex_lock(&pool->lock);
        if (!pool->host || strcmp(pool->host, found_host) != 0 || pool->port != found_port) {
            zr_buf_t target;
            zr_buf_init(&target);
            if (zr_buf_printf(&target, "%s:%d", found_host, found_port) == 0) {
                if (pool->host)
                    zr_log_warn("store", "redis master '%s' now at %s (was %s)", pool->sentinel_master, target.data,
                                pool->target);
                else
                    zr_log_info("store", "redis master '%s' now at %s (named by the sentinels)",
                                pool->sentinel_master, target.data);
                zr_release(pool->target);
                pool->target = zr_buf_steal(&target);
                zr_release(pool->host);
                pool->host = found_host;
                found_host = NULL;
                pool->port = found_port;
            }
            zr_buf_free(&target);
        }
        pool->rediscover = 0;
        pthread_mutex_unlock(&pool->lock);
        goto end;
    }
    if (pool->unix_socket && !pool->sentinel_count)
        c = redisConnectUnixWithTimeout(pool->unix_socket, pool_remaining(deadline_ms));
    else
        c = redisConnectWithTimeout(host, port, pool_remaining(deadline_ms));
    if (!c) {
        snprintf(why, whylen, "out of memory");
        goto end;
    }
    if (c->err) {
        snprintf(why, whylen, "connect: %s", c->errstr);
        goto fail;
    }
    if (pool_setup(pool, c, why, whylen) != 0)
        goto fail;
    /* A master the sentinels named before may have been demoted since. */
    if (pool->sentinel_count && zr_store_role_is_master(c, why, whylen) != 0)
        goto fail;
    zr_metrics_count(ZR_METRICS_REDIS_CONNECTIONS);
    goto end;
fail:
    redisFree(c);
    c = NULL;
end:
    free(found_host);
    return c;
}

/* Takes an idle connection or makes a new one. *reused tells the caller the
 * connection may have gone stale while it sat in the pool. */
static zr_store_status_t pool_acquire(zr_store_pool_t *pool, int64_t deadline_ms, redisContext **out,
                                      int *reused)
{
    zr_store_status_t st = ZR_STORE_UNAVAILABLE;
    int make_new = 0, discover = 0, port = 0;
    char why[256], host[256] = "";
    *out = NULL;
    *reused = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        int64_t now = pool_now_ms();
        if (pool->idle_count > 0) {
            *out = pool->idle[--pool->idle_count];
            *reused = 1;
            st = ZR_STORE_OK;
            break;
        }
        if (pool->down && now < pool->next_attempt_ms)
            break; /* fail fast: someone probed Redis moments ago */
        /* Before the first master is known, wait for the caller asking. */
        if (pool->open_count < ZR_STORE_POOL_MAX && !(!pool->host && pool->discovering)) {
            pool->open_count++;
            if (pool->down) /* this caller is the probe; the others keep failing fast */
                pool->next_attempt_ms = now + ZR_STORE_RETRY_MS;
            make_new = 1;
            /* One caller asks the sentinels; others meanwhile connect to
             * the master known so far, which ROLE checks. */
            discover = pool->sentinel_count && (pool->rediscover || !pool->host) && !pool->discovering;
            if (discover)
                pool->discovering = 1;
            snprintf(host, sizeof(host), "%s", pool->host ? pool->host : "");
            port = pool->port;
            break;
        }
        if (now >= deadline_ms)
            break; /* every connection busy for our whole budget */
        struct timespec ts = {(time_t)(deadline_ms / 1000), (long)(deadline_ms % 1000) * 1000000L};
        pthread_cond_timedwait(&pool->returned, &pool->lock, &ts);
    }
    pthread_mutex_unlock(&pool->lock);
    if (!make_new)
        return st;
    *out = pool_connect(pool, deadline_ms, discover, host, port, why, sizeof(why));
    if (discover) {
        pthread_mutex_lock(&pool->lock);
        pool->discovering = 0;
        pthread_cond_broadcast(&pool->returned);
        pthread_mutex_unlock(&pool->lock);
    }
    if (*out)
        return ZR_STORE_OK;
    pthread_mutex_lock(&pool->lock);
    pool->open_count--;
    pool_mark_down_locked(pool, why);
    pthread_mutex_unlock(&pool->lock);
    return ZR_STORE_UNAVAILABLE;
}

/* Back into the pool. answered: it just carried a reply, so Redis is up (a
 * connect alone proves nothing: a hung Redis still accepts). */
static void pool_release(zr_store_pool_t *pool, redisContext *c, int answered)
{
    pthread_mutex_lock(&pool->lock);
    if (answered)
        pool_mark_up_locked(pool);
    pool->idle[pool->idle_count++] = c;
    pthread_cond_signal(&pool->returned);
    pthread_mutex_unlock(&pool->lock);
}

static void pool_free_reply(redisReply **r)
{
    if (*r)
        freeReplyObject(*r);
    *r = NULL;
}

/* A failed connection is closed, never reused. */
static void pool_discard(zr_store_pool_t *pool, redisContext *c, int mark_down, const char *why)
{
    pthread_mutex_lock(&pool->lock);
    pool->open_count--;
    pool->rediscover = pool->sentinel_count > 0; /* a dead master, or one demoted */
    if (mark_down)
        pool_mark_down_locked(pool, why);
    else
        pool_flush_idle_locked(pool);
    pthread_cond_broadcast(&pool->returned);
    pthread_mutex_unlock(&pool->lock);
    redisFree(c);
}

/* hiredis writes with write(2): a socket whose peer is gone raises SIGPIPE,
 * which by default ends the process. Block it in this thread for the call and
 * swallow one we caused; the process-wide disposition is not ours to change. */
static void pool_sigpipe_block(sigset_t *old, int *was_pending)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    *was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

static void pool_sigpipe_restore(const sigset_t *old, int was_pending)
{
    sigset_t pipe_set, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigemptyset(&pending);
    if (!was_pending && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* An error reply that says this node takes no writes now: a master that
 * was demoted (READONLY), a replica still loading its data (LOADING), a
 * replica that lost its master (MASTERDOWN). The connection is dropped and
 * the master looked for again. NULL when none is. */
static const char *pool_not_master(size_t n, redisReply **replies)
{
    static const char *const codes[] = {"READONLY", "LOADING", "MASTERDOWN"};
    for (size_t i = 0; i < n; i++) {
        const redisReply *r = replies[i];
        if (!r || r->type != REDIS_REPLY_ERROR || !r->str)
            continue;
        for (size_t j = 0; j < sizeof(codes) / sizeof(codes[0]); j++) {
            size_t len = strlen(codes[j]);
            if (r->len >= len && !strncmp(r->str, codes[j], len) && (r->len == len || r->str[len] == ' '))
                return codes[j];
        }
    }
    return NULL;
}

/* Sends every command, then reads every reply: one round trip. 0 when all
 * replies came, else the index of the first missing one (1-based) so the
 * caller knows whether anything may have run. */
static size_t pool_run(redisContext *c, size_t n, const zr_store_cmd_t *cmds, redisReply **replies)
{
    for (size_t i = 0; i < n; i++)
        if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) != REDIS_OK)
            return 1; /* nothing sent yet: appending only fills our buffer */
    for (size_t i = 0; i < n; i++) {
        void *r = NULL;
        if (redisGetReply(c, &r) != REDIS_OK || !r)
            return i + 1;
        replies[i] = r;
    }
    return 0;
}

zr_store_status_t zr_store_pool_pipeline(zr_store_pool_t *pool, size_t n, const zr_store_cmd_t *cmds,
                                         redisReply **replies)
{
    int64_t start_ns = zr_metrics_now_ns(), deadline_ms = pool_now_ms() + pool->timeout_ms;
    zr_store_status_t st = ZR_STORE_UNAVAILABLE;
    sigset_t old_mask;
    int was_pending = 0;
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    if (!pool->sigpipe_ignored)
        pool_sigpipe_block(&old_mask, &was_pending);
    /* Two rounds at most: the second only when a pooled connection turned out
     * to be closed by the server (Redis restarted while it sat idle) before
     * the first reply. No command reached a live server then, so sending them
     * again cannot run one twice. */
    for (int round = 0; round < 2; round++) {
        redisContext *c = NULL;
        int reused = 0, saved_errno, stale;
        size_t missing;
        const char *not_master;
        char why[160];
        if (pool_acquire(pool, deadline_ms, &c, &reused) != ZR_STORE_OK)
            goto end;
        if (pool_now_ms() >= deadline_ms) {
            pool_release(pool, c, 0); /* healthy, but our budget went to waiting */
            goto end;
        }
        /* A connection's timeout is the whole budget; lower it (and put it
         * back after) only when this call already spent part of its budget
         * waiting, which saves two setsockopt calls on every fast command. */
        int64_t left_ms = deadline_ms - pool_now_ms();
        int lowered = left_ms < pool->timeout_ms - ZR_STORE_TIMEOUT_SLACK_MS;
        if (lowered)
            redisSetTimeout(c, pool_remaining(deadline_ms));
        errno = 0;
        missing = pool_run(c, n, cmds, replies);
        saved_errno = errno;
        if (!missing && lowered)
            redisSetTimeout(c, (struct timeval){pool->timeout_ms / 1000, (pool->timeout_ms % 1000) * 1000});
        if (!missing && (not_master = pool_not_master(n, replies)) != NULL) {
            /* Nothing was written (the node refused); the store call fails
             * like one during an outage, and the next prober finds the
             * master. */
            for (size_t i = 0; i < n; i++)
                pool_free_reply(&replies[i]);
            __atomic_store_n(&pool->refused_code, not_master, __ATOMIC_RELEASE);
            snprintf(why, sizeof(why), "%s: this node is no master now", not_master);
            pool_discard(pool, c, 1, why);
            goto end;
        }
        if (!missing) {
            __atomic_store_n(&pool->refused_code, NULL, __ATOMIC_RELEASE);
            pool_release(pool, c, 1);
            st = ZR_STORE_OK;
            goto end;
        }
        for (size_t i = 0; i < n; i++) {
            if (replies[i])
                freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        stale = reused && round == 0 && missing == 1 &&
                (c->err == REDIS_ERR_EOF ||
                 (c->err == REDIS_ERR_IO && (saved_errno == ECONNRESET || saved_errno == EPIPE)));
        if (c->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
            snprintf(why, sizeof(why), "no answer within %d ms", pool->timeout_ms);
        else
            snprintf(why, sizeof(why), "%s", c->err ? c->errstr : "no reply");
        if (stale && pool_now_ms() < deadline_ms) {
            pool_discard(pool, c, 0, why);
            continue;
        }
        pool_discard(pool, c, 1, why);
        goto end;
    }
end:
    if (!pool->sigpipe_ignored)
        pool_sigpipe_restore(&old_mask, was_pending);
    if (st != ZR_STORE_OK)
        zr_metrics_count(ZR_METRICS_REDIS_ERRORS);
    zr_metrics_observe_since(ZR_METRICS_PHASE_REDIS, start_ns);
    return st;
}

zr_store_status_t zr_store_pool_command(zr_store_pool_t *pool, int argc, const char **argv,
                                        const size_t *argvlen, redisReply **reply)
{
    zr_store_cmd_t cmd = {argc, argv, argvlen};
    return zr_store_pool_pipeline(pool, 1, &cmd, reply);
}
