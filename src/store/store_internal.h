/* Internals of src/store: the connection pool (pool.c) that store.c runs its
 * commands through. Nothing here knows about keys or sealing. */
#ifndef ZR_STORE_INTERNAL_H
#define ZR_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "zr/config.h"
#include "zr/store.h"

/* At most this many connections to Redis per process; a caller that finds
 * them all busy waits (within its own deadline) for one to come back. */
#define ZR_STORE_POOL_MAX 16
/* While Redis is down, one caller probes it at most this often; every other
 * call fails at once instead of hammering a dead server. */
#define ZR_STORE_RETRY_MS 250
/* A command gets its own shorter socket timeout only when the call has
 * already used more than this much of its budget. */
#define ZR_STORE_TIMEOUT_SLACK_MS 50

/* A sentinel's address, parsed from "host:port" (IPv6 without brackets). */
typedef struct {
    char *host;
    int port;
} zr_store_sentinel_t;

typedef struct {
    char *host;                /* with sentinels: the master they named last (under lock) */
    int port;
    char *unix_socket;
    char *password;
    int db;
    int timeout_ms;            /* bound for one whole store call */
    char *target;              /* "host:port" or "unix:path", for log lines */
    int sigpipe_ignored;       /* process ignores SIGPIPE: no per-call masking needed */

    /* Redis Sentinel (sentinel.c). With sentinels, host/port/target change
     * on a failover, always under lock. */
    zr_store_sentinel_t *sentinels;
    size_t sentinel_count;
    size_t sentinel_first;     /* the one that answered last is asked first */
    char *sentinel_master;
    char *sentinel_password;
    int loopback_only;         /* refuse a master that is not on this host */
    int rediscover;            /* ask the sentinels before the next connect */
    int discovering;           /* a caller is asking them now */

    pthread_mutex_t lock;
    pthread_cond_t returned;   /* a connection came back or a slot freed */
    redisContext *idle[ZR_STORE_POOL_MAX];
    size_t idle_count;
    size_t open_count;         /* idle + in use */
    int down;                  /* last attempt failed; see ZR_STORE_RETRY_MS */
    int64_t down_since_ms;     /* monotonic */
    int64_t next_attempt_ms;   /* monotonic: earliest next probe while down */
    /* The last call's "this node takes no writes" answer (READONLY, LOADING,
     * MASTERDOWN: a static string), NULL after a call that went through;
     * atomic, read by zr_store_probe_write to say why (readiness). */
    const char *refused_code;
} zr_store_pool_t;

int zr_store_pool_init(zr_store_pool_t *pool, const zr_redis_config_t *cfg, char *err, size_t errlen);
void zr_store_pool_cleanup(zr_store_pool_t *pool);

/* Runs one command (binary-safe argv) within timeout_ms. ZR_STORE_OK with
 * *reply set (caller frees with freeReplyObject; it may be an error reply),
 * or ZR_STORE_UNAVAILABLE when Redis did not answer in time. */
zr_store_status_t zr_store_pool_command(zr_store_pool_t *pool, int argc, const char **argv,
                                        const size_t *argvlen, redisReply **reply);

/* One command of a pipeline (binary-safe argv). */
typedef struct {
    int argc;
    const char **argv;
    const size_t *argvlen;
} zr_store_cmd_t;

/* Runs n commands in one round trip, in order, within timeout_ms. ZR_STORE_OK
 * with every replies[i] set (caller frees each), or ZR_STORE_UNAVAILABLE with
 * none set (some commands may then have run: never resend them). */
zr_store_status_t zr_store_pool_pipeline(zr_store_pool_t *pool, size_t n, const zr_store_cmd_t *cmds,
                                         redisReply **replies);

struct zr_store {
    zr_store_pool_t pool;
    char *prefix;
    int wait_replicas;    /* zr_store_write_all_replicated: WAIT for at least this many */
    int wait_timeout_ms;
    /* The replicas the master last reported online (ROLE, read in every
     * replicated round trip): WAIT asks for all of them, so that whichever
     * one the sentinels promote holds what was acknowledged. */
    atomic_int replicas_online;
    uint8_t name_key[32];
    uint8_t value_key[32];
};

/* store.c: the Redis key for (ns, name), malloc'ed; NULL on a bad argument. */
char *zr_store_key(const zr_store_t *s, const char *ns, const char *name);
/* store.c: logs an unexpected reply to op on key (the key only as a short
 * reference, the reply only by its first word). */
void zr_store_log_error_reply(const zr_store_t *s, const char *op, const char *key, const redisReply *r);
/* Sentinel discovery (sentinel.c), run by the one caller that makes a new
 * connection after a failure: asks the sentinels in turn for the master,
 * connects to it (AUTH, SELECT via setup) and checks with ROLE that it is
 * one, all before deadline_ms. The new connection, or NULL with why set;
 * *host (malloc'ed) and *port say where it is. */
typedef int (*zr_store_setup_fn)(zr_store_pool_t *pool, redisContext *c, char *why, size_t whylen);
redisContext *zr_store_sentinel_connect(zr_store_pool_t *pool, int64_t deadline_ms, zr_store_setup_fn setup,
                                        char **host, int *port, char *why, size_t whylen);
int zr_store_sentinel_init(zr_store_pool_t *pool, const zr_redis_config_t *cfg, char *err, size_t errlen);
void zr_store_sentinel_cleanup(zr_store_pool_t *pool);
/* Checks with ROLE that c is a master: 0, or -1 with why set. */
int zr_store_role_is_master(redisContext *c, char *why, size_t whylen);
/* What is left of a deadline as a socket timeout (never zero). */
struct timeval zr_store_pool_remaining(int64_t deadline_ms);
int64_t zr_store_pool_now_ms(void);

/* As zr_store_pool_pipeline, with WAIT for the configured replicas after
 * the commands, in the same round trip and on the same connection (WAIT
 * counts the replicas that have every write this connection made).
 * ZR_STORE_OK with replies[0..n-1] set and *unreplicated = 1 when fewer
 * replicas than asked acknowledged them in time: the writes took place on
 * the master but must not be relied on. Without wait_replicas a plain
 * pipeline. For any write whose result is handed to a portal. */
zr_store_status_t zr_store_pipeline_replicated(zr_store_t *s, size_t n, const zr_store_cmd_t *cmds,
                                               redisReply **replies, int *unreplicated);

/* The first word of an error reply ("WRONGPASS", "NOAUTH", ...) for a log
 * line: enough for an operator, and nothing the server might have echoed. */
void zr_store_pool_error_code(const redisReply *r, char *out, size_t outlen);

#endif
