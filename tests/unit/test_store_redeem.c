/* Unit tests for zr_store_redeem_begin/commit against a real redis-server
 * (issue 13 §5): one commit per item, all or nothing; a pending attempt makes
 * the next one BUSY; an attempt past its deadline is taken over and can never
 * commit; a commit Redis runs after it was frozen is a no-op; a closed or
 * deleted item refuses the commit; the mark holds nothing about the item.
 * No timing assertions: deadlines are either far away (60 s budgets) or
 * already passed, which the tests wait for as an event (a takeover). */
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
#include "zr/store.h"
#include "zr/util.h"

static zr_test_redis_t redis;

static zr_store_t *test_open(int timeout_ms)
{
    zr_redis_config_t cfg;
    char err[256] = "";
    zr_store_t *s;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = redis.port;
    cfg.timeout_ms = timeout_ms;
    cfg.prefix = "zrtest:";
    for (int i = 0; i < 32; i++)
        cfg.encryption_key[i] = (uint8_t)(0x30 + i);
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    return s;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    (void)state;
    return zr_test_redis_start(&redis);
}

static int teardown(void **state)
{
    (void)state;
    if (redis.pid > 0)
        kill(redis.pid, SIGCONT); /* a failed freeze test must not hang teardown */
    zr_test_redis_destroy(&redis);
    return 0;
}

/* The item (as the code record) and the redemption of it. */
static zr_store_redeem_t item(const char *name, int budget_ms)
{
    return (zr_store_redeem_t){"item", "item-mark", "item-closed", name, 600, budget_ms};
}

static void put_item(zr_store_t *s, const char *name)
{
    assert_int_equal(zr_store_put(s, "item", name, "record", 6, 600), ZR_STORE_OK);
}

static int has(zr_store_t *s, const char *ns, const char *name)
{
    char *v = NULL;
    zr_store_status_t st = zr_store_get(s, ns, name, &v, NULL);
    free(v);
    assert_true(st == ZR_STORE_OK || st == ZR_STORE_NOT_FOUND);
    return st == ZR_STORE_OK;
}

/* Commits two values under name ("grant" and a token named token). */
static zr_store_status_t commit(zr_store_t *s, const zr_store_redeem_t *r, const zr_store_attempt_t *a,
                                const char *token)
{
    zr_store_write_t w[2] = {{"item-grant", r->name, "grant", 5, 600, ZR_STORE_INVALID},
                             {"item-token", token, "token-record", 12, 300, ZR_STORE_INVALID}};
    zr_store_status_t st = zr_store_redeem_commit(s, r, a, w, 2);
    assert_int_equal(w[0].status, st);
    assert_int_equal(w[1].status, st);
    return st;
}

/* Polls Redis until the store gets an answer again. */
static void wait_until_answers(zr_store_t *s)
{
    while (zr_store_ping(s) != ZR_STORE_OK)
        sleep_ms(10);
}

static void test_commit_once(void **state)
{
    zr_store_t *s = test_open(5000);
    zr_store_redeem_t r = item("code-1", 0);
    zr_store_attempt_t a, b;
    char *v = NULL;
    (void)state;

    put_item(s, "code-1");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    assert_int_equal(strlen(a.id), 22);
    assert_int_equal(commit(s, &r, &a, "token-1"), ZR_STORE_OK);
    /* the values are stored (sealed, readable through the store), the item is gone */
    assert_int_equal(zr_store_get(s, "item-token", "token-1", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, "token-record");
    free(v);
    assert_true(has(s, "item-grant", "code-1"));
    assert_false(has(s, "item", "code-1"));
    /* closed: no new attempt, and the same one cannot commit twice */
    assert_int_equal(zr_store_redeem_begin(s, &r, &b), ZR_STORE_EXISTS);
    assert_int_equal(commit(s, &r, &a, "token-2"), ZR_STORE_EXISTS);
    assert_false(has(s, "item-token", "token-2"));
    zr_store_close(s);
}

/* A second attempt while the first may still commit is BUSY and changes
 * nothing: the first commits. */
static void test_busy_while_pending(void **state)
{
    zr_store_t *s = test_open(120000); /* a 60 s deadline: far away */
    zr_store_redeem_t r = item("code-2", 0);
    zr_store_attempt_t a, b;
    (void)state;

    put_item(s, "code-2");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    assert_int_equal(zr_store_redeem_begin(s, &r, &b), ZR_STORE_BUSY);
    assert_int_equal(commit(s, &r, &b, "token-b"), ZR_STORE_NOT_FOUND); /* the mark is a's */
    assert_false(has(s, "item-token", "token-b"));
    assert_true(has(s, "item", "code-2"));
    assert_int_equal(commit(s, &r, &a, "token-a"), ZR_STORE_OK);
    assert_true(has(s, "item-token", "token-a"));
    zr_store_close(s);
}

/* A replay closes the item (zr_store_claim on closed_ns) while an attempt is
 * pending: its commit writes nothing and leaves the item for it to expire. */
static void test_closed_by_replay(void **state)
{
    zr_store_t *s = test_open(120000);
    zr_store_redeem_t r = item("code-3", 0);
    zr_store_attempt_t a;
    (void)state;

    put_item(s, "code-3");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "item-closed", "code-3", 600), ZR_STORE_OK);
    assert_int_equal(commit(s, &r, &a, "token-3"), ZR_STORE_EXISTS);
    assert_false(has(s, "item-token", "token-3"));
    assert_false(has(s, "item-grant", "code-3"));
    zr_store_close(s);
}

/* An item deleted (burnt) or expired after the mark: nothing is written. */
static void test_item_gone(void **state)
{
    zr_store_t *s = test_open(120000);
    zr_store_redeem_t r = item("code-4", 0);
    zr_store_attempt_t a, b;
    (void)state;

    put_item(s, "code-4");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    assert_int_equal(zr_store_del(s, "item", "code-4"), ZR_STORE_OK);
    assert_int_equal(commit(s, &r, &a, "token-4"), ZR_STORE_NOT_FOUND);
    assert_false(has(s, "item-token", "token-4"));
    assert_false(has(s, "item-grant", "code-4"));
    /* never redeemed, not closed: a later attempt is only BUSY, and its
     * commit finds no item either */
    assert_int_equal(zr_store_redeem_begin(s, &r, &b), ZR_STORE_BUSY);
    zr_store_close(s);
}

/* An attempt past its deadline (by Redis's clock) is taken over by the next,
 * and can never commit after that. The takeover is awaited, not timed. */
static void test_takeover_after_deadline(void **state)
{
    zr_store_t *s = test_open(5000);
    zr_store_redeem_t short_one = item("code-5", 1), r = item("code-5", 0);
    zr_store_attempt_t a, b;
    zr_store_status_t st;
    int busy = 0;
    (void)state;

    put_item(s, "code-5");
    assert_int_equal(zr_store_redeem_begin(s, &short_one, &a), ZR_STORE_OK);
    while ((st = zr_store_redeem_begin(s, &r, &b)) == ZR_STORE_BUSY) {
        busy++;
        sleep_ms(1);
    }
    assert_int_equal(st, ZR_STORE_OK);
    assert_true(b.deadline_ms > a.deadline_ms);
    assert_int_equal(commit(s, &r, &a, "token-5a"), ZR_STORE_LATE);
    assert_false(has(s, "item-token", "token-5a"));
    assert_true(has(s, "item", "code-5"));
    assert_int_equal(commit(s, &r, &b, "token-5b"), ZR_STORE_OK);
    assert_true(has(s, "item-token", "token-5b"));
    (void)busy;
    zr_store_close(s);
}

/* Redis frozen (SIGSTOP) with the commit in its socket: the store answers
 * UNAVAILABLE, and when Redis resumes and runs the commit, the script finds
 * its deadline passed and writes nothing; the next attempt takes over. The
 * same for a mark sent to a frozen Redis. */
static void test_frozen_commit_is_a_no_op(void **state)
{
    zr_store_t *s = test_open(300);
    zr_store_redeem_t r = item("code-6", 0);
    zr_store_attempt_t a, b, c;
    (void)state;

    put_item(s, "code-6");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    kill(redis.pid, SIGSTOP);
    assert_int_equal(commit(s, &r, &a, "token-6a"), ZR_STORE_UNAVAILABLE);
    kill(redis.pid, SIGCONT);
    wait_until_answers(s);
    assert_false(has(s, "item-token", "token-6a"));
    assert_false(has(s, "item-grant", "code-6"));
    assert_true(has(s, "item", "code-6"));

    /* the mark itself sent to a frozen Redis, run when it resumes */
    kill(redis.pid, SIGSTOP);
    assert_int_equal(zr_store_redeem_begin(s, &r, &b), ZR_STORE_UNAVAILABLE);
    kill(redis.pid, SIGCONT);
    wait_until_answers(s);

    assert_int_equal(zr_store_redeem_begin(s, &r, &c), ZR_STORE_OK);
    assert_int_equal(commit(s, &r, &c, "token-6c"), ZR_STORE_OK);
    assert_true(has(s, "item-token", "token-6c"));
    assert_false(has(s, "item", "code-6"));
    zr_store_close(s);
}

/* A quick failure (nothing listens: refused at once) is reported no sooner
 * than a timeout would be, timeout_ms after the mark was sent: by then the
 * attempt's deadline has passed and a retry can take over. A lower bound the
 * store enforces (it waits), not a measurement. */
static void test_quick_failure_held_back(void **state)
{
    zr_test_redis_t dead = {0};
    zr_redis_config_t cfg;
    zr_store_redeem_t r = item("code-9", 0);
    zr_store_attempt_t a;
    struct timespec now;
    char err[256] = "";
    zr_store_t *s;
    (void)state;

    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = dead.port = zr_test_free_port();
    cfg.timeout_ms = 300;
    cfg.prefix = "zrtest:";
    memset(cfg.encryption_key, 0x5a, sizeof(cfg.encryption_key));
    s = zr_store_open(&cfg, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_UNAVAILABLE);
    clock_gettime(CLOCK_REALTIME, &now);
    assert_true((long long)now.tv_sec * 1000 + now.tv_nsec / 1000000 >= a.sent_ms + 300);
    assert_true(a.deadline_ms <= a.sent_ms + 150);
    zr_store_close(s);
}

typedef struct {
    zr_store_t *s;
    zr_store_status_t st;
    zr_store_attempt_t a;
} racer_t;

static void *race_begin(void *arg)
{
    racer_t *rc = arg;
    zr_store_redeem_t r = item("code-7", 0);
    rc->st = zr_store_redeem_begin(rc->s, &r, &rc->a);
    return NULL;
}

/* Many attempts at once (any number of relay processes): exactly one mark. */
static void test_concurrent_begin(void **state)
{
    enum { N = 12 };
    zr_store_t *s = test_open(120000);
    pthread_t t[N];
    racer_t rc[N];
    int ok = 0, busy = 0;
    (void)state;

    put_item(s, "code-7");
    for (int i = 0; i < N; i++) {
        rc[i] = (racer_t){s, ZR_STORE_INVALID, {{0}, 0, 0}};
        assert_int_equal(pthread_create(&t[i], NULL, race_begin, &rc[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        ok += rc[i].st == ZR_STORE_OK;
        busy += rc[i].st == ZR_STORE_BUSY;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(busy, N - 1);
    zr_store_close(s);
}

/* What Redis holds: hashed keys; the mark is "<22 base64url> <digits>"
 * (nothing about the item); the stored values are sealed. */
static void test_nothing_in_clear(void **state)
{
    zr_store_t *s = test_open(5000);
    zr_store_redeem_t r = item("the-code-SECRET", 0);
    zr_store_attempt_t a;
    redisContext *c;
    redisReply *keys;
    int marks = 0;
    (void)state;

    put_item(s, "the-code-SECRET");
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    c = redisConnect("127.0.0.1", redis.port);
    assert_non_null(c);
    keys = redisCommand(c, "KEYS zrtest:item-mark:*");
    assert_non_null(keys);
    assert_int_equal(keys->type, REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *v = redisCommand(c, "GET %s", keys->element[i]->str);
        const char *p = v->str;
        size_t n = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");
        assert_null(strstr(keys->element[i]->str, "SECRET"));
        if (strncmp(p, a.id, strlen(a.id)) == 0) {
            marks++;
            assert_int_equal(n, 22);
            assert_int_equal(p[22], ' ');
            assert_int_equal(strspn(p + 23, "0123456789"), strlen(p + 23));
        }
        freeReplyObject(v);
    }
    freeReplyObject(keys);
    assert_int_equal(marks, 1);
    assert_int_equal(commit(s, &r, &a, "token-SECRET"), ZR_STORE_OK);
    keys = redisCommand(c, "KEYS *SECRET*");
    assert_int_equal(keys->elements, 0);
    freeReplyObject(keys);
    keys = redisCommand(c, "KEYS zrtest:*");
    for (size_t i = 0; i < keys->elements; i++) {
        redisReply *v = redisCommand(c, "GET %s", keys->element[i]->str);
        if (v->type == REDIS_REPLY_STRING)
            for (size_t j = 0; j + 6 <= v->len; j++)
                assert_false(memcmp(v->str + j, "record", 6) == 0);
        freeReplyObject(v);
    }
    freeReplyObject(keys);
    redisFree(c);
    zr_store_close(s);
}

static void test_invalid_arguments(void **state)
{
    zr_store_t *s = test_open(5000);
    zr_store_redeem_t r = item("code-8", 0), no_ttl = item("code-8", 0);
    zr_store_attempt_t a, none;
    zr_store_write_t no_value = {"item-token", "t", NULL, 0, 60, ZR_STORE_INVALID};
    (void)state;

    no_ttl.ttl_s = 0;
    memset(&none, 0, sizeof(none));
    assert_int_equal(zr_store_redeem_begin(s, &no_ttl, &a), ZR_STORE_INVALID);
    assert_int_equal(zr_store_redeem_begin(s, NULL, &a), ZR_STORE_INVALID);
    assert_int_equal(zr_store_redeem_begin(s, &r, NULL), ZR_STORE_INVALID);
    assert_int_equal(zr_store_redeem_commit(s, &r, &none, &no_value, 1), ZR_STORE_INVALID);
    assert_int_equal(zr_store_redeem_begin(s, &r, &a), ZR_STORE_OK);
    assert_int_equal(zr_store_redeem_commit(s, &r, &a, &no_value, 1), ZR_STORE_INVALID);
    assert_int_equal(no_value.status, ZR_STORE_INVALID);
    assert_int_equal(zr_store_redeem_commit(s, &r, &a, NULL, 0), ZR_STORE_INVALID);
    zr_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_commit_once),
        cmocka_unit_test(test_busy_while_pending),
        cmocka_unit_test(test_closed_by_replay),
        cmocka_unit_test(test_item_gone),
        cmocka_unit_test(test_takeover_after_deadline),
        cmocka_unit_test(test_frozen_commit_is_a_no_op),
        cmocka_unit_test(test_quick_failure_held_back),
        cmocka_unit_test(test_concurrent_begin),
        cmocka_unit_test(test_nothing_in_clear),
        cmocka_unit_test(test_invalid_arguments),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
