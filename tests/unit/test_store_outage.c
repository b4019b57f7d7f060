/* Unit tests for src/store when Redis misbehaves: stopped, restarted, hung,
 * absent at start, or accepting and dropping connections. Every failing call
 * must return ZR_STORE_UNAVAILABLE within about timeout_ms, the store must
 * heal by itself, reconnects must be throttled, and the log must carry one
 * line when Redis goes away and one when it answers again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "log_capture.h"
#include "zr/store.h"
#include "zr/util.h"

#define TIMEOUT_MS 300
/* Bounds that only end a broken run (a call or a recovery that never
 * ends): how quickly calls fail and the store heals depends on the
 * machine's load and is printed, never asserted (deterministic on a busy
 * machine); what is asserted is that they fail, heal, and log as they
 * should. */
#define HANG_MS 15000

static zr_test_redis_t redis;
static zr_test_redis_t later; /* test_absent_at_start */

static zr_store_t *test_open(int port)
{
    zr_redis_config_t cfg;
    char err[256] = "";
    zr_store_t *s;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = port;
    cfg.timeout_ms = TIMEOUT_MS;
    cfg.prefix = "zrtest:";
    for (int i = 0; i < 32; i++)
        cfg.encryption_key[i] = (uint8_t)(0xa0 + i);
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    return zr_test_redis_start(&redis);
}

static int teardown(void **state)
{
    if (redis.pid > 0)
        kill(redis.pid, SIGCONT); /* a failed hang test must not hang teardown */
    zr_test_redis_destroy(&redis);
    zr_test_redis_destroy(&later);
    return 0;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

/* One store call of each kind in turn; returns its status. */
static zr_store_status_t some_call(zr_store_t *s, int i)
{
    char *v = NULL;
    zr_store_status_t st;
    switch (i % 6) {
    case 0: st = zr_store_put(s, "login", "x", "v", 1, 60); break;
    case 1: st = zr_store_get(s, "login", "x", &v, NULL); break;
    case 2: st = zr_store_take(s, "login", "x", &v, NULL); break;
    case 3: st = zr_store_claim(s, "seen", "x", 60); break;
    case 4: st = zr_store_del(s, "login", "x"); break;
    default: st = zr_store_ping(s); break;
    }
    free(v);
    return st;
}

/* Calls for about ms milliseconds; each must fail, and quickly. */
static void expect_unavailable_for(zr_store_t *s, int ms, int pause_ms, int64_t *slowest)
{
    int64_t end = now_ms() + ms;
    for (int i = 0; now_ms() < end; i++) {
        int64_t t0 = now_ms(), dt;
        assert_int_equal(some_call(s, i), ZR_STORE_UNAVAILABLE);
        dt = now_ms() - t0;
        if (dt > *slowest)
            *slowest = dt;
        assert_true(dt < HANG_MS);
        sleep_ms(pause_ms);
    }
}

/* Polls ping until Redis answers; returns how long that took. */
static int64_t wait_until_ok(zr_store_t *s)
{
    int64_t t0 = now_ms();
    while (zr_store_ping(s) != ZR_STORE_OK) {
        assert_true(now_ms() - t0 < HANG_MS);
        sleep_ms(10);
    }
    return now_ms() - t0;
}

static void test_stopped_then_restarted(void **state)
{
    zr_store_t *s = test_open(redis.port);
    char path[64], *log, *v = NULL;
    int64_t slowest = 0;
    int saved;
    for (int i = 0; i < 12; i++)
        assert_true(some_call(s, i) >= 0);
    saved = capture_begin(path);
    zr_test_redis_stop(&redis);
    /* many calls over several retry periods */
    expect_unavailable_for(s, 800, 15, &slowest);
    assert_int_equal(zr_test_redis_start(&redis), 0); /* same port */
    /* heals by itself (idle: within one retry period plus a connect) */
    printf("# healed after %lld ms\n", (long long)wait_until_ok(s));
    assert_int_equal(zr_store_put(s, "login", "after", "back", 4, 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "login", "after", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "back");
    free(v);
    log = capture_end(path, saved);
    /* one line down, one line up; not one per request */
    assert_int_equal(count(log, " store redis="), 2);
    assert_int_equal(count(log, "unavailable ("), 1);
    assert_int_equal(count(log, "answers again"), 1);
    free(log);
    zr_store_close(s);
}

static void *busy_thread(void *p)
{
    zr_store_t *s = p;
    for (int i = 0; i < 30; i++)
        if (some_call(s, i) < 0)
            return (void *)1;
    return NULL;
}

/* Pooled connections all go stale when Redis restarts; the next call must
 * not fail for that (it retries once on a fresh connection). */
static void test_restart_between_calls(void **state)
{
    zr_store_t *s = test_open(redis.port);
    pthread_t th[6];
    char path[64], *log, *v = NULL;
    int saved;
    void *rc;
    wait_until_ok(s);
    for (int i = 0; i < 6; i++)
        assert_int_equal(pthread_create(&th[i], NULL, busy_thread, s), 0);
    for (int i = 0; i < 6; i++) {
        pthread_join(th[i], &rc);
        assert_null(rc);
    }
    saved = capture_begin(path);
    zr_test_redis_stop(&redis);
    assert_int_equal(zr_test_redis_start(&redis), 0);
    for (int round = 0; round < 3; round++) {
        assert_int_equal(zr_store_put(s, "login", "r", "again", 5, 60), ZR_STORE_OK);
        assert_int_equal(zr_store_take(s, "login", "r", &v, NULL), ZR_STORE_OK);
        assert_string_equal(v, "again");
        zr_release(v);
        if (round == 0) { /* and once more */
            zr_test_redis_stop(&redis);
            assert_int_equal(zr_test_redis_start(&redis), 0);
        }
    }
    log = capture_end(path, saved);
    assert_int_equal(count(log, "unavailable ("), 0);
    free(log);
    zr_store_close(s);
}

/* SIGSTOP: connections are accepted by the kernel but nothing answers. The
 * deadline, not the connect, is what bounds each call here. */
static void test_hung_redis_is_bounded(void **state)
{
    zr_store_t *s = test_open(redis.port);
    char path[64], *log;
    int64_t slowest = 0;
    int saved;
    wait_until_ok(s);
    saved = capture_begin(path);
    assert_int_equal(kill(redis.pid, SIGSTOP), 0);
    {
        int64_t end = now_ms() + 900;
        for (int i = 0; now_ms() < end; i++) {
            char *v = NULL;
            int64_t t0 = now_ms(), dt;
            /* only reads: a write sent to a hung Redis runs when it wakes */
            assert_int_equal(i % 2 ? zr_store_ping(s) : zr_store_get(s, "login", "h", &v, NULL),
                             ZR_STORE_UNAVAILABLE);
            dt = now_ms() - t0;
            if (dt > slowest)
                slowest = dt;
            assert_true(dt < HANG_MS);
            sleep_ms(10);
        }
    }
    /* the timeout really was hit (the calls did wait for an answer) */
    assert_true(slowest >= TIMEOUT_MS - 20);
    assert_int_equal(kill(redis.pid, SIGCONT), 0);
    printf("# slowest call while hung: %lld ms; healed after %lld ms\n", (long long)slowest,
           (long long)wait_until_ok(s));
    log = capture_end(path, saved);
    assert_int_equal(count(log, "unavailable ("), 1);
    assert_non_null(strstr(log, "no answer within 300 ms"));
    assert_int_equal(count(log, "answers again"), 1);
    free(log);
    zr_store_close(s);
}

/* The relay may start before Redis: open does not connect. */
static void test_absent_at_start(void **state)
{
    zr_store_t *s;
    char path[64], *log;
    int64_t t0;
    int saved;
    memset(&later, 0, sizeof(later));
    later.port = zr_test_free_port();
    snprintf(later.dir, sizeof(later.dir), "/tmp/zr-redis-XXXXXX");
    assert_non_null(mkdtemp(later.dir));
    saved = capture_begin(path);
    t0 = now_ms();
    s = test_open(later.port);
    printf("# opened without Redis in %lld ms\n", (long long)(now_ms() - t0));
    assert_int_equal(zr_store_ping(s), ZR_STORE_UNAVAILABLE);
    assert_int_equal(zr_test_redis_start(&later), 0);
    wait_until_ok(s);
    assert_int_equal(zr_store_claim(s, "seen", "first", 60), ZR_STORE_OK);
    zr_store_close(s);
    zr_test_redis_destroy(&later);
    log = capture_end(path, saved);
    assert_int_equal(count(log, "unavailable ("), 1);
    assert_int_equal(count(log, "answers again"), 1);
    free(log);
}

/* A "Redis" that accepts and hangs up at once: counts connection attempts. */
typedef struct {
    int fd;
    int port;
    atomic_int stop;
    atomic_int accepted;
} dropper_t;

static void *dropper_thread(void *p)
{
    dropper_t *d = p;
    while (!atomic_load(&d->stop)) {
        struct pollfd pfd = {d->fd, POLLIN, 0};
        if (poll(&pfd, 1, 20) == 1) {
            int c = accept(d->fd, NULL, NULL);
            if (c >= 0) {
                atomic_fetch_add(&d->accepted, 1);
                close(c);
            }
        }
    }
    return NULL;
}

static void test_reconnects_are_throttled(void **state)
{
    dropper_t d;
    pthread_t th;
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    zr_store_t *s;
    int64_t slowest = 0, start;
    char path[64], *log;
    int saved, one = 1;
    memset(&d, 0, sizeof(d));
    memset(&a, 0, sizeof(a));
    d.fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(d.fd >= 0);
    setsockopt(d.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(d.fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(d.fd, 64), 0);
    assert_int_equal(getsockname(d.fd, (struct sockaddr *)&a, &alen), 0);
    d.port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&th, NULL, dropper_thread, &d), 0);

    saved = capture_begin(path);
    s = test_open(d.port);
    start = now_ms();
    expect_unavailable_for(s, 1000, 2, &slowest);
    /* hundreds of calls, but at most one attempt per 250 ms (plus the first) */
    {
        int64_t elapsed = now_ms() - start;
        int accepted;
        atomic_store(&d.stop, 1);
        pthread_join(th, NULL);
        accepted = atomic_load(&d.accepted);
        assert_true(accepted >= 2);
        assert_true(accepted <= 2 + elapsed / 250);
    }
    zr_store_close(s);
    log = capture_end(path, saved);
    assert_int_equal(count(log, "unavailable ("), 1);
    assert_int_equal(count(log, "answers again"), 0);
    free(log);
    close(d.fd);
}

/* A master demoted under the relay (REPLICAOF after a failover): the
 * READONLY answer drops the connection and marks Redis unavailable once,
 * like an outage (with sentinels the next probe asks them), instead of
 * writing to it call after call; when it is a master again the store heals. */
static void test_demoted_master(void **state)
{
    char cmd[160], path[64], *log;
    zr_store_t *s;
    int saved;
    (void)state;
    s = test_open(redis.port);
    assert_int_equal(zr_store_put(s, "login", "x", "v", 1, 60), ZR_STORE_OK);
    saved = capture_begin(path);
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d replicaof 127.0.0.1 %d >/dev/null", redis.port, zr_test_free_port());
    assert_int_equal(system(cmd), 0);
    assert_int_equal(zr_store_put(s, "login", "x", "v", 1, 60), ZR_STORE_UNAVAILABLE);
    assert_int_equal(zr_store_claim(s, "seen", "x", 60), ZR_STORE_UNAVAILABLE);
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d replicaof no one >/dev/null", redis.port);
    assert_int_equal(system(cmd), 0);
    wait_until_ok(s);
    assert_int_equal(zr_store_put(s, "login", "x", "v", 1, 60), ZR_STORE_OK);
    zr_store_close(s);
    log = capture_end(path, saved);
    assert_int_equal(count(log, "unavailable (READONLY: this node is no master now)"), 1);
    assert_int_equal(count(log, "answers again"), 1);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopped_then_restarted),
        cmocka_unit_test(test_restart_between_calls),
        cmocka_unit_test(test_hung_redis_is_bounded),
        cmocka_unit_test(test_absent_at_start),
        cmocka_unit_test(test_reconnects_are_throttled),
        cmocka_unit_test(test_demoted_master),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
