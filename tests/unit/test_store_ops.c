/* Unit tests for src/store against a real redis-server: put/get/take/claim/del
 * semantics, TTLs, argument checks, concurrency (take and claim are single-use
 * across threads, the pool never opens more than its maximum), and the unix
 * socket / AUTH / SELECT connection path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "log_capture.h"
#include "zr/store.h"
#include "zr/util.h"

static zr_test_redis_t redis;

/* A second server for the unix socket / AUTH / SELECT test. */
typedef struct {
    pid_t pid;
    char dir[64];
    char sock[128];
} unix_redis_t;
static unix_redis_t unix_redis;

static zr_redis_config_t test_cfg(int port)
{
    zr_redis_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = port;
    /* generous: these tests are about results, not timing (valgrind is slow);
     * test_store_outage covers the timeouts */
    cfg.timeout_ms = 5000;
    cfg.prefix = "zrtest:";
    for (int i = 0; i < 32; i++)
        cfg.encryption_key[i] = (uint8_t)(i + 1);
    return cfg;
}

static zr_store_t *test_open(void)
{
    zr_redis_config_t cfg = test_cfg(redis.port);
    char err[256] = "";
    zr_store_t *s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static redisContext *raw_connect(void)
{
    redisContext *c = redisConnect("127.0.0.1", redis.port);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    return c;
}

static long long raw_integer(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    long long v;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    v = r->integer;
    freeReplyObject(r);
    return v;
}

static void raw_flush(void)
{
    redisContext *c = raw_connect();
    redisReply *r = redisCommand(c, "FLUSHALL");
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
}

static int setup(void **state)
{
    return zr_test_redis_start(&redis);
}

static void unix_redis_stop(unix_redis_t *u);

static int teardown(void **state)
{
    unix_redis_stop(&unix_redis); /* when its test failed half-way */
    zr_test_redis_destroy(&redis);
    return 0;
}

static void test_put_get_overwrite(void **state)
{
    zr_store_t *s = test_open();
    const char bin[] = {'a', 0, (char)0xff, '\n', 'z'};
    char *v = NULL;
    size_t len = 0;
    raw_flush();
    assert_int_equal(zr_store_get(s, "login", "n1", &v, &len), ZR_STORE_NOT_FOUND);
    assert_null(v);
    assert_int_equal(zr_store_put(s, "login", "n1", "first", 5, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "n1", &v, &len), ZR_STORE_OK);
    assert_int_equal(len, 5);
    assert_string_equal(v, "first");
    zr_release(v);
    /* overwrite */
    assert_int_equal(zr_store_put(s, "login", "n1", "second!", 7, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "n1", &v, &len), ZR_STORE_OK);
    assert_string_equal(v, "second!");
    zr_release(v);
    /* get does not consume */
    assert_int_equal(zr_store_get(s, "login", "n1", &v, &len), ZR_STORE_OK);
    zr_release(v);
    /* binary-safe, embedded NUL */
    assert_int_equal(zr_store_put(s, "login", "bin", bin, sizeof(bin), 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "bin", &v, &len), ZR_STORE_OK);
    assert_int_equal(len, sizeof(bin));
    assert_memory_equal(v, bin, sizeof(bin));
    assert_int_equal(v[len], '\0');
    zr_release(v);
    /* empty value */
    assert_int_equal(zr_store_put(s, "login", "empty", NULL, 0, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "empty", &v, &len), ZR_STORE_OK);
    assert_int_equal(len, 0);
    assert_string_equal(v, "");
    zr_release(v);
    /* namespaces are separate */
    assert_int_equal(zr_store_get(s, "code", "n1", &v, &len), ZR_STORE_NOT_FOUND);
    zr_store_close(s);
}

static void test_take_single_use(void **state)
{
    zr_store_t *s = test_open();
    char *v = NULL;
    size_t len = 0;
    raw_flush();
    assert_int_equal(zr_store_put(s, "code", "c1", "{\"sub\":\"x\"}", 11, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_take(s, "code", "c1", &v, &len), ZR_STORE_OK);
    assert_string_equal(v, "{\"sub\":\"x\"}");
    assert_int_equal(len, 11);
    zr_release(v);
    assert_int_equal(zr_store_take(s, "code", "c1", &v, &len), ZR_STORE_NOT_FOUND);
    assert_null(v);
    assert_int_equal(len, 0);
    assert_int_equal(zr_store_get(s, "code", "c1", &v, &len), ZR_STORE_NOT_FOUND);
    assert_int_equal(zr_store_take(s, "code", "never-stored", &v, NULL), ZR_STORE_NOT_FOUND);
    zr_store_close(s);
}

static void test_claim_and_del(void **state)
{
    zr_store_t *s = test_open();
    redisContext *c;
    char *v = NULL;
    raw_flush();
    assert_int_equal(zr_store_claim(s, "saml-id", "_abc", 60), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "saml-id", "_abc", 60), ZR_STORE_EXISTS);
    assert_int_equal(zr_store_claim(s, "saml-id", "_abc", 60), ZR_STORE_EXISTS);
    /* another namespace, another name: independent */
    assert_int_equal(zr_store_claim(s, "artifact", "_abc", 60), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "saml-id", "_abd", 60), ZR_STORE_OK);
    /* a claim does not overwrite a stored value */
    assert_int_equal(zr_store_put(s, "login", "p", "keep", 4, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "login", "p", 60), ZR_STORE_EXISTS);
    assert_int_equal(zr_store_get(s, "login", "p", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "keep");
    zr_release(v);
    /* del: gone afterwards, idempotent */
    assert_int_equal(zr_store_del(s, "login", "p"), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "p", &v, NULL), ZR_STORE_NOT_FOUND);
    assert_int_equal(zr_store_del(s, "login", "p"), ZR_STORE_OK);
    assert_int_equal(zr_store_del(s, "saml-id", "_abc"), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "saml-id", "_abc", 60), ZR_STORE_OK);
    c = raw_connect();
    assert_int_equal(raw_integer(c, "DBSIZE"), 3);
    redisFree(c);
    zr_store_close(s);
}

/* zr_store_write_all: puts and claims in one round trip, each with its own
 * status; a replayed claim does not stop the writes after it. */
static void test_write_all(void **state)
{
    zr_store_t *s = test_open();
    char *v = NULL;
    raw_flush();
    zr_store_write_t ops[3] = {{"saml-response", "_r1", NULL, 0, 60, ZR_STORE_INVALID},
                               {"saml-assertion", "_a1", NULL, 0, 60, ZR_STORE_INVALID},
                               {"code-used", "c1", "token-1", 7, 60, ZR_STORE_INVALID}};
    assert_int_equal(zr_store_write_all(s, ops, 3), ZR_STORE_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(ops[i].status, ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "code-used", "c1", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "token-1");
    zr_release(v);
    /* the same Response again, a new Assertion ID: EXISTS for the first only */
    zr_store_write_t again[2] = {{"saml-response", "_r1", NULL, 0, 60, ZR_STORE_INVALID},
                                 {"saml-assertion", "_a2", NULL, 0, 60, ZR_STORE_INVALID}};
    assert_int_equal(zr_store_write_all(s, again, 2), ZR_STORE_EXISTS);
    assert_int_equal(again[0].status, ZR_STORE_EXISTS);
    assert_int_equal(again[1].status, ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "saml-assertion", "_a2", 60), ZR_STORE_EXISTS);
    /* refused before anything is sent: none, too many, a bad namespace, ttl 0 */
    zr_store_write_t many[9];
    for (int i = 0; i < 9; i++)
        many[i] = (zr_store_write_t){"x", "y", NULL, 0, 60, ZR_STORE_OK};
    assert_int_equal(zr_store_write_all(s, many, 0), ZR_STORE_INVALID);
    assert_int_equal(zr_store_write_all(s, many, 9), ZR_STORE_INVALID);
    zr_store_write_t bad[2] = {{"ok", "n", "v", 1, 60, ZR_STORE_OK}, {"bad ns", "n", "v", 1, 60, ZR_STORE_OK}};
    assert_int_equal(zr_store_write_all(s, bad, 2), ZR_STORE_INVALID);
    assert_int_equal(bad[0].status, ZR_STORE_INVALID);
    assert_int_equal(zr_store_get(s, "ok", "n", &v, NULL), ZR_STORE_NOT_FOUND);
    bad[1].ns = "ok2";
    bad[1].ttl_s = 0;
    assert_int_equal(zr_store_write_all(s, bad, 2), ZR_STORE_INVALID);
    assert_int_equal(zr_store_get(s, "ok", "n", &v, NULL), ZR_STORE_NOT_FOUND);
    zr_store_close(s);
}

static void test_names_any_string(void **state)
{
    zr_store_t *s = test_open();
    char *big = malloc(10001), *v = NULL;
    const char *names[] = {"", "a:b", "with\nnewline", "\xc4\xb3sbeer \xe2\x82\xac", "*", "a b\tc", NULL};
    char val[32];
    raw_flush();
    memset(big, 'x', 10000);
    big[10000] = '\0';
    names[6] = big;
    for (int i = 0; i < 7; i++) {
        snprintf(val, sizeof(val), "value-%d", i);
        assert_int_equal(zr_store_put(s, "n", names[i], val, strlen(val), 60), ZR_STORE_OK);
    }
    /* (ns, name) pairs that a naive concatenation would confuse */
    assert_int_equal(zr_store_put(s, "n1", "x", "A", 1, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_put(s, "n", "1x", "B", 1, 60), ZR_STORE_OK);
    for (int i = 0; i < 7; i++) {
        snprintf(val, sizeof(val), "value-%d", i);
        assert_int_equal(zr_store_get(s, "n", names[i], &v, NULL), ZR_STORE_OK);
        assert_string_equal(v, val);
        zr_release(v);
    }
    assert_int_equal(zr_store_get(s, "n1", "x", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "A");
    zr_release(v);
    assert_int_equal(zr_store_get(s, "n", "1x", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "B");
    zr_release(v);
    free(big);
    zr_store_close(s);
}

static void test_invalid_arguments(void **state)
{
    zr_store_t *s = test_open();
    zr_redis_config_t cfg = test_cfg(redis.port);
    redisContext *c;
    char err[256] = "", *v = NULL, path[64];
    char long_ns[66];
    int saved;
    raw_flush();
    memset(long_ns, 'a', 65);
    long_ns[65] = '\0';
    saved = capture_begin(path);
    assert_int_equal(zr_store_put(s, "login", "t", "v", 1, 0), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "login", "t", "v", 1, -5), ZR_STORE_INVALID);
    assert_int_equal(zr_store_claim(s, "login", "t", 0), ZR_STORE_INVALID);
    /* no expiry is for values only: a claim without one would block its name for ever */
    assert_int_equal(zr_store_claim(s, "login", "t", ZR_STORE_TTL_NONE), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "login", "t", "v", 1, ZR_STORE_TTL_NONE - 1), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, NULL, "t", "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "", "t", "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "a:b", "t", "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "a b", "t", "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, long_ns, "t", "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "login", NULL, "v", 1, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_put(s, "login", "t", NULL, 3, 60), ZR_STORE_INVALID);
    assert_int_equal(zr_store_get(s, "login", NULL, &v, NULL), ZR_STORE_INVALID);
    assert_int_equal(zr_store_get(s, "login", "t", NULL, NULL), ZR_STORE_INVALID);
    assert_int_equal(zr_store_take(s, "bad ns", "t", &v, NULL), ZR_STORE_INVALID);
    assert_int_equal(zr_store_del(s, "login", NULL), ZR_STORE_INVALID);
    free(capture_end(path, saved));
    assert_string_equal(zr_store_status_name(ZR_STORE_INVALID), "invalid");
    assert_string_equal(zr_store_status_name(ZR_STORE_UNAVAILABLE), "unavailable");
    assert_string_equal(zr_store_status_name(ZR_STORE_CORRUPT), "corrupt");
    assert_string_equal(zr_store_status_name(ZR_STORE_EXISTS), "exists");
    assert_string_equal(zr_store_status_name(ZR_STORE_NOT_FOUND), "not_found");
    assert_string_equal(zr_store_status_name(ZR_STORE_OK), "ok");
    /* nothing reached Redis */
    c = raw_connect();
    assert_int_equal(raw_integer(c, "DBSIZE"), 0);
    redisFree(c);
    zr_store_close(s);
    /* an all-zero key (forgotten key file) is refused */
    memset(cfg.encryption_key, 0, sizeof(cfg.encryption_key));
    assert_null(zr_store_open(&cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "encryption key"));
    zr_store_close(NULL);
}

/* The key of the single item in Redis whose name starts with pattern. */
static char *raw_single_key(redisContext *c, const char *pattern)
{
    redisReply *r = redisCommand(c, "KEYS %s", pattern);
    char *key;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    key = strdup(r->element[0]->str);
    freeReplyObject(r);
    return key;
}

/* The readiness probe writes for real: a Redis that answers PING but
 * refuses writes (maxmemory with noeviction, a read-only replica) fails it,
 * naming Redis's refusal; the key it writes expires and holds no plaintext. */
static void raw_ok(redisContext *c, const char *cmd)
{
    redisReply *r = redisCommand(c, cmd);
    assert_non_null(r);
    assert_int_not_equal(r->type, REDIS_REPLY_ERROR);
    freeReplyObject(r);
}

static void test_probe_write(void **state)
{
    zr_store_t *s = test_open();
    redisContext *c = raw_connect();
    redisReply *r;
    char why[128];
    (void)state;
    raw_flush();
    assert_int_equal(zr_store_probe_write(s, why, sizeof(why)), ZR_STORE_OK);
    assert_string_equal(why, "ok");
    r = redisCommand(c, "KEYS zrtest:" ZR_STORE_PROBE_NS ":*");
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "TTL %s", r->element[0]->str);
        long long ttl = raw_integer(c, cmd);
        assert_true(ttl > 0 && ttl <= ZR_STORE_PROBE_TTL_S);
    }
    freeReplyObject(r);

    raw_ok(c, "CONFIG SET maxmemory-policy noeviction");
    raw_ok(c, "CONFIG SET maxmemory 1");
    assert_int_equal(zr_store_ping(s), ZR_STORE_OK); /* PING alone would say all is well */
    assert_int_equal(zr_store_probe_write(s, why, sizeof(why)), ZR_STORE_UNAVAILABLE);
    assert_string_equal(why, "redis refuses writes: OOM");
    raw_ok(c, "CONFIG SET maxmemory 0");
    assert_int_equal(zr_store_probe_write(s, why, sizeof(why)), ZR_STORE_OK);

    {
        /* A replica of a master that is not there: read-only at once. */
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "REPLICAOF 127.0.0.1 %d", zr_test_free_port());
        raw_ok(c, cmd);
    }
    assert_int_equal(zr_store_probe_write(s, why, sizeof(why)), ZR_STORE_UNAVAILABLE);
    assert_string_equal(why, "redis refuses writes: READONLY");
    raw_ok(c, "REPLICAOF NO ONE");
    {
        /* The pool dropped the node that said it is no master and probes it
         * again after ZR_STORE_RETRY_MS: wait for that event. */
        zr_store_status_t st = ZR_STORE_UNAVAILABLE;
        for (int i = 0; i < 400 && (st = zr_store_probe_write(s, why, sizeof(why))) != ZR_STORE_OK; i++)
            usleep(25 * 1000);
        assert_int_equal(st, ZR_STORE_OK);
    }
    redisFree(c);
    zr_store_close(s);
}

static void test_ttl(void **state)
{
    zr_store_t *s = test_open();
    redisContext *c = raw_connect();
    redisReply *r;
    char *key, *v = NULL;
    struct timespec wait = {1, 200 * 1000 * 1000};
    raw_flush();
    assert_int_equal(zr_store_put(s, "long", "x", "v", 1, 60), ZR_STORE_OK);
    key = raw_single_key(c, "zrtest:long:*");
    r = redisCommand(c, "TTL %s", key);
    assert_non_null(r);
    assert_true(r->integer >= 59 && r->integer <= 60);
    freeReplyObject(r);
    free(key);
    assert_int_equal(zr_store_claim(s, "longclaim", "x", 90), ZR_STORE_OK);
    key = raw_single_key(c, "zrtest:longclaim:*");
    r = redisCommand(c, "TTL %s", key);
    assert_non_null(r);
    assert_true(r->integer >= 89 && r->integer <= 90);
    freeReplyObject(r);
    free(key);
    /* ZR_STORE_TTL_NONE: kept (TTL -1), sealed like every value, and read back */
    assert_int_equal(zr_store_put(s, "kept", "x", "sector", 6, ZR_STORE_TTL_NONE), ZR_STORE_OK);
    key = raw_single_key(c, "zrtest:kept:*");
    r = redisCommand(c, "TTL %s", key);
    assert_non_null(r);
    assert_int_equal(r->integer, -1);
    freeReplyObject(r);
    free(key);
    assert_int_equal(zr_store_get(s, "kept", "x", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "sector");
    free(v);
    v = NULL;

    assert_int_equal(zr_store_put(s, "short", "x", "v", 1, 1), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "short", "y", 1), ZR_STORE_OK);
    nanosleep(&wait, NULL);
    assert_int_equal(zr_store_get(s, "short", "x", &v, NULL), ZR_STORE_NOT_FOUND);
    assert_int_equal(zr_store_take(s, "short", "x", &v, NULL), ZR_STORE_NOT_FOUND);
    assert_int_equal(zr_store_claim(s, "short", "y", 1), ZR_STORE_OK);
    /* the long ones are still there */
    assert_int_equal(zr_store_get(s, "long", "x", &v, NULL), ZR_STORE_OK);
    zr_release(v);
    assert_int_equal(zr_store_claim(s, "longclaim", "x", 90), ZR_STORE_EXISTS);
    redisFree(c);
    zr_store_close(s);
}

/* ---- concurrency ---- */

#define RACE_THREADS 16
#define RACE_ROUNDS 20

typedef struct {
    zr_store_t *store;
    pthread_barrier_t *start;
    int take;             /* 1: take, 0: claim */
    const char *name;
    zr_store_status_t result;
    char *value;
} race_arg_t;

static void *race_thread(void *p)
{
    race_arg_t *a = p;
    pthread_barrier_wait(a->start);
    if (a->take)
        a->result = zr_store_take(a->store, "race", a->name, &a->value, NULL);
    else
        a->result = zr_store_claim(a->store, "race", a->name, 60);
    return NULL;
}

static void race(int take)
{
    zr_store_t *s = test_open();
    pthread_barrier_t start;
    pthread_t th[RACE_THREADS];
    race_arg_t args[RACE_THREADS];
    char name[32];
    raw_flush();
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int winners = 0, losers = 0;
        snprintf(name, sizeof(name), "item-%d", round);
        if (take)
            assert_int_equal(zr_store_put(s, "race", name, "the-code-value", 14, 60), ZR_STORE_OK);
        pthread_barrier_init(&start, NULL, RACE_THREADS);
        for (int i = 0; i < RACE_THREADS; i++) {
            args[i] = (race_arg_t){s, &start, take, name, ZR_STORE_UNAVAILABLE, NULL};
            assert_int_equal(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
        }
        for (int i = 0; i < RACE_THREADS; i++)
            pthread_join(th[i], NULL);
        for (int i = 0; i < RACE_THREADS; i++) {
            if (args[i].result == ZR_STORE_OK) {
                winners++;
                if (take)
                    assert_string_equal(args[i].value, "the-code-value");
            } else if (args[i].result == (take ? ZR_STORE_NOT_FOUND : ZR_STORE_EXISTS)) {
                losers++;
            }
            free(args[i].value);
        }
        pthread_barrier_destroy(&start);
        assert_int_equal(winners, 1);
        assert_int_equal(losers, RACE_THREADS - 1);
    }
    zr_store_close(s);
}

static void test_take_concurrent_single_use(void **state) { race(1); }
static void test_claim_concurrent_single_use(void **state) { race(0); }

typedef struct {
    zr_store_t *store;
    int id;
    int ops;
    int failures;
} smoke_arg_t;

/* Five store calls per iteration, each checked. */
static void *smoke_thread(void *p)
{
    smoke_arg_t *a = p;
    char name[48], val[48], *v = NULL;
    size_t len = 0;
    for (int i = 0; i < a->ops / 5; i++) {
        snprintf(name, sizeof(name), "t%d-i%d", a->id, i);
        snprintf(val, sizeof(val), "value %d/%d", a->id, i);
        if (zr_store_put(a->store, "smoke", name, val, strlen(val), 30) != ZR_STORE_OK)
            a->failures++;
        if (zr_store_get(a->store, "smoke", name, &v, &len) != ZR_STORE_OK || strcmp(v, val) != 0 ||
            len != strlen(val))
            a->failures++;
        zr_release(v);
        if (zr_store_claim(a->store, "smoke-seen", name, 30) != ZR_STORE_OK)
            a->failures++;
        if (zr_store_take(a->store, "smoke", name, &v, &len) != ZR_STORE_OK || strcmp(v, val) != 0)
            a->failures++;
        zr_release(v);
        if (zr_store_claim(a->store, "smoke-seen", name, 30) != ZR_STORE_EXISTS)
            a->failures++;
    }
    return NULL;
}

static void smoke(int threads, int ops)
{
    zr_store_t *s = test_open();
    pthread_t *th = calloc((size_t)threads, sizeof(*th));
    smoke_arg_t *args = calloc((size_t)threads, sizeof(*args));
    redisContext *c;
    redisReply *r;
    raw_flush();
    for (int i = 0; i < threads; i++) {
        args[i] = (smoke_arg_t){s, i, ops, 0};
        assert_int_equal(pthread_create(&th[i], NULL, smoke_thread, &args[i]), 0);
    }
    int failures = 0;
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        failures += args[i].failures;
    }
    assert_int_equal(failures, 0);
    c = raw_connect();
    /* every value was taken; one claim marker per item remains */
    assert_int_equal(raw_integer(c, "DBSIZE"), (long long)threads * (ops / 5));
    /* the pool never opened more than its maximum (16) plus this connection */
    r = redisCommand(c, "CLIENT LIST");
    assert_non_null(r);
    {
        int clients = 0;
        for (const char *p = r->str; (p = strstr(p, "id=")) != NULL; p += 3)
            clients++;
        assert_true(clients >= 2 && clients <= 17);
    }
    freeReplyObject(r);
    redisFree(c);
    free(th);
    free(args);
    zr_store_close(s);
}

static void test_concurrency_smoke(void **state) { smoke(8, 500); }
/* More threads than connections: callers wait for a free one. */
static void test_concurrency_pool_exhausted(void **state) { smoke(40, 100); }

/* ---- unix socket, AUTH, SELECT ---- */

static void unix_redis_start(unix_redis_t *u)
{
    snprintf(u->dir, sizeof(u->dir), "/tmp/zr-redis-unix-XXXXXX");
    assert_non_null(mkdtemp(u->dir));
    snprintf(u->sock, sizeof(u->sock), "%s/redis.sock", u->dir);
    u->pid = fork();
    if (u->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", u->sock,
               "--unixsocketperm", "700", "--requirepass", "s3cret-redis-pw", "--save", "",
               "--appendonly", "no", "--dir", u->dir, (char *)NULL);
        _exit(127);
    }
    /* The socket file appears before Redis listens on it: wait for a PING. */
    for (int i = 0; i < 200; i++) {
        redisContext *c = redisConnectUnix(u->sock);
        redisReply *r = c && !c->err ? redisCommand(c, "PING") : NULL;
        int up = r != NULL;
        if (r)
            freeReplyObject(r);
        if (c)
            redisFree(c);
        if (up)
            return;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("unix-socket redis-server did not start");
}

static void unix_redis_stop(unix_redis_t *u)
{
    char cmd[128];
    if (u->pid <= 0)
        return;
    kill(u->pid, SIGTERM);
    waitpid(u->pid, NULL, 0);
    u->pid = 0;
    snprintf(cmd, sizeof(cmd), "rm -rf %s", u->dir);
    if (system(cmd) != 0) { /* best effort */ }
}

static long long unix_dbsize(const char *sock, int db)
{
    redisContext *c = redisConnectUnix(sock);
    redisReply *r;
    long long n;
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    r = redisCommand(c, "AUTH s3cret-redis-pw");
    freeReplyObject(r);
    r = redisCommand(c, "SELECT %d", db);
    freeReplyObject(r);
    r = redisCommand(c, "DBSIZE");
    assert_non_null(r);
    n = r->integer;
    freeReplyObject(r);
    redisFree(c);
    return n;
}

static void test_unix_socket_auth_db(void **state)
{
    unix_redis_t *u = &unix_redis;
    zr_redis_config_t cfg = test_cfg(1); /* port must be ignored */
    zr_store_t *s;
    char err[256], *v = NULL, *log, path[64];
    int saved;
    unix_redis_start(u);
    cfg.unix_socket = u->sock;
    cfg.password = "s3cret-redis-pw";
    cfg.db = 3;
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(zr_store_ping(s), ZR_STORE_OK);
    assert_int_equal(zr_store_put(s, "login", "u1", "via-unix", 8, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "u1", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "via-unix");
    zr_release(v);
    zr_store_close(s);
    assert_int_equal(unix_dbsize(u->sock, 3), 1);
    assert_int_equal(unix_dbsize(u->sock, 0), 0);

    /* wrong or missing password: unavailable, and the password is never logged */
    saved = capture_begin(path);
    cfg.password = "wrong-redis-pw";
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(zr_store_put(s, "login", "u2", "x", 1, 60), ZR_STORE_UNAVAILABLE);
    zr_store_close(s);
    cfg.password = NULL;
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(zr_store_get(s, "login", "u1", &v, NULL), ZR_STORE_UNAVAILABLE);
    zr_store_close(s);
    log = capture_end(path, saved);
    assert_non_null(strstr(log, "AUTH rejected: WRONGPASS"));
    assert_non_null(strstr(log, "NOAUTH"));
    assert_null(strstr(log, "wrong-redis-pw"));
    assert_null(strstr(log, "s3cret"));
    free(log);
    unix_redis_stop(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_overwrite),
        cmocka_unit_test(test_take_single_use),
        cmocka_unit_test(test_claim_and_del),
        cmocka_unit_test(test_write_all),
        cmocka_unit_test(test_names_any_string),
        cmocka_unit_test(test_invalid_arguments),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_probe_write),
        cmocka_unit_test(test_take_concurrent_single_use),
        cmocka_unit_test(test_claim_concurrent_single_use),
        cmocka_unit_test(test_concurrency_smoke),
        cmocka_unit_test(test_concurrency_pool_exhausted),
        cmocka_unit_test(test_unix_socket_auth_db),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
