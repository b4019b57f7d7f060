/* Internals of src/store: the connection pool (pool.c) that store.c runs its
 * commands through. Nothing here knows about keys or sealing. */
#ifndef ZR_STORE_INTERNAL_H
#define ZR_STORE_INTERNAL_H

#include <hiredis/hiredis.h>
#include <pthread.h>
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

typedef struct {
    char *host;
    int port;
    char *unix_socket;
    char *password;
    int db;
    int timeout_ms;            /* bound for one whole store call */
    char *target;              /* "host:port" or "unix:path", for log lines */
    int sigpipe_ignored;       /* process ignores SIGPIPE: no per-call masking needed */

    pthread_mutex_t lock;
    pthread_cond_t returned;   /* a connection came back or a slot freed */
    redisContext *idle[ZR_STORE_POOL_MAX];
    size_t idle_count;
    size_t open_count;         /* idle + in use */
    int down;                  /* last attempt failed; see ZR_STORE_RETRY_MS */
    int64_t down_since_ms;     /* monotonic */
    int64_t next_attempt_ms;   /* monotonic: earliest next probe while down */
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
    uint8_t name_key[32];
    uint8_t value_key[32];
};

/* store.c: the Redis key for (ns, name), malloc'ed; NULL on a bad argument. */
char *zr_store_key(const zr_store_t *s, const char *ns, const char *name);
/* store.c: logs an unexpected reply to op on key (the key only as a short
 * reference, the reply only by its first word). */
void zr_store_log_error_reply(const zr_store_t *s, const char *op, const char *key, const redisReply *r);

/* The first word of an error reply ("WRONGPASS", "NOAUTH", ...) for a log
 * line: enough for an operator, and nothing the server might have echoed. */
void zr_store_pool_error_code(const redisReply *r, char *out, size_t outlen);

#endif
