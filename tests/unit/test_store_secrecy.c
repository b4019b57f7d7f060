/* Unit tests for src/store: what Redis (and whoever reads its dump) learns.
 * Key names are "prefix + ns + : + 64 hex" and never hold the name; values
 * are sealed and bound to their key, so a value copied or renamed to another
 * key, tampered with, or read with another encryption key does not open. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "log_capture.h"
#include "zr/store.h"
#include "zr/util.h"

/* Recognisable secrets: a test BSN (passes the 11-proof, test range) and a
 * token-like name, as the relay would store them. */
#define TEST_BSN "999990019"
#define TEST_TOKEN "Qm9ndXNUb2tlbi1kMmY0YTljMy1jb2RlLXZhbHVl"
#define TEST_VALUE "{\"bsn\":\"" TEST_BSN "\",\"loa\":\"substantial\"}"

static zr_test_redis_t redis;

static zr_redis_config_t test_cfg(uint8_t key_seed)
{
    zr_redis_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.host = "127.0.0.1";
    cfg.port = redis.port;
    cfg.timeout_ms = 500;
    cfg.prefix = "zrtest:";
    for (int i = 0; i < 32; i++)
        cfg.encryption_key[i] = (uint8_t)(i + key_seed);
    return cfg;
}

static zr_store_t *test_open(uint8_t key_seed)
{
    zr_redis_config_t cfg = test_cfg(key_seed);
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

static void raw_ok(redisContext *c, redisReply *r)
{
    assert_non_null(r);
    if (r->type == REDIS_REPLY_ERROR)
        fail_msg("redis: %s", r->str);
    freeReplyObject(r);
}

/* SAVE, once a background save (the one redis-cli --rdb started) is done. */
static void raw_save(redisContext *c)
{
    for (int i = 0; i < 200; i++) {
        redisReply *r = redisCommand(c, "SAVE");
        int busy;
        assert_non_null(r);
        busy = r->type == REDIS_REPLY_ERROR && strstr(r->str, "in progress") != NULL;
        if (!busy) {
            raw_ok(c, r);
            return;
        }
        freeReplyObject(r);
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fail_msg("SAVE kept failing");
}

static void raw_flush(void)
{
    redisContext *c = raw_connect();
    raw_ok(c, redisCommand(c, "FLUSHALL"));
    redisFree(c);
}

/* All keys matching pattern, NULL-terminated. */
static char **raw_keys(redisContext *c, const char *pattern, size_t *count)
{
    redisReply *r = redisCommand(c, "KEYS %s", pattern);
    char **keys;
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    keys = calloc(r->elements + 1, sizeof(char *));
    for (size_t i = 0; i < r->elements; i++)
        keys[i] = strdup(r->element[i]->str);
    *count = r->elements;
    freeReplyObject(r);
    return keys;
}

static void free_keys(char **keys)
{
    for (size_t i = 0; keys[i]; i++)
        free(keys[i]);
    free(keys);
}

static int setup(void **state)
{
    return zr_test_redis_start(&redis);
}

static int teardown(void **state)
{
    zr_test_redis_destroy(&redis);
    return 0;
}

static void test_key_format(void **state)
{
    zr_store_t *s = test_open(1), *s2 = test_open(1);
    redisContext *c = raw_connect();
    size_t n = 0;
    char **keys;
    const char *hex;
    raw_flush();
    assert_int_equal(zr_store_put(s, "code", TEST_TOKEN, "v", 1, 60), ZR_STORE_OK);
    keys = raw_keys(c, "*", &n);
    assert_int_equal(n, 1);
    /* zrtest:code:<64 lower-case hex> */
    assert_int_equal(strncmp(keys[0], "zrtest:code:", 12), 0);
    hex = keys[0] + 12;
    assert_int_equal(strlen(hex), 64);
    for (const char *p = hex; *p; p++)
        assert_true((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'));
    assert_null(strstr(keys[0], TEST_TOKEN));
    free_keys(keys);
    /* deterministic: another store with the same key finds it */
    assert_int_equal(zr_store_claim(s2, "code", TEST_TOKEN, 60), ZR_STORE_EXISTS);
    redisFree(c);
    zr_store_close(s);
    zr_store_close(s2);
}

/* Moves the value of (ns_from, from) onto the Redis key of (ns_to, to) using
 * command ("COPY %s %s REPLACE" or "RENAME %s %s"), then reads (ns_to, to). */
static void check_moved_value_fails(const char *command, const char *ns_from, const char *from,
                                    const char *ns_to, const char *to)
{
    zr_store_t *s = test_open(1);
    redisContext *c = raw_connect();
    char **before, **after, *src = NULL, *dst = NULL, *v = NULL, *log, path[64];
    size_t nb = 0, na = 0;
    int saved;
    raw_flush();
    assert_int_equal(zr_store_put(s, ns_from, from, TEST_VALUE, strlen(TEST_VALUE), 60), ZR_STORE_OK);
    before = raw_keys(c, "*", &nb);
    assert_int_equal(nb, 1);
    src = before[0];
    assert_int_equal(zr_store_put(s, ns_to, to, "the victim's own value", 22, 60), ZR_STORE_OK);
    after = raw_keys(c, "*", &na);
    assert_int_equal(na, 2);
    dst = strcmp(after[0], src) == 0 ? after[1] : after[0];
    raw_ok(c, redisCommand(c, command, src, dst));

    saved = capture_begin(path);
    assert_int_equal(zr_store_get(s, ns_to, to, &v, NULL), ZR_STORE_CORRUPT);
    assert_null(v);
    assert_int_equal(zr_store_take(s, ns_to, to, &v, NULL), ZR_STORE_CORRUPT);
    assert_null(v);
    log = capture_end(path, saved);
    /* one line per failure, naming the namespace but no content */
    assert_non_null(strstr(log, "failed authentication"));
    assert_non_null(strstr(log, ns_to));
    assert_null(strstr(log, TEST_BSN));
    assert_null(strstr(log, TEST_TOKEN));
    assert_null(strstr(log, from));
    assert_null(strstr(log, to));
    free(log);
    free_keys(before);
    free_keys(after);
    redisFree(c);
    zr_store_close(s);
}

static void test_copied_value_is_corrupt(void **state)
{
    check_moved_value_fails("COPY %s %s REPLACE", "code", "code-of-alice", "code", "code-of-mallory");
}

static void test_renamed_value_is_corrupt(void **state)
{
    /* across namespaces: a pending login cannot be replayed as a code */
    check_moved_value_fails("RENAME %s %s", "login", "state-alice", "code", "code-bob");
}

static void test_tampered_and_foreign_values(void **state)
{
    zr_store_t *s = test_open(1), *other = test_open(7);
    redisContext *c = raw_connect();
    redisReply *r;
    char **keys, *v = NULL, *sealed, path[64];
    size_t n = 0, len;
    int saved;
    raw_flush();
    assert_int_equal(zr_store_put(s, "login", "t1", TEST_VALUE, strlen(TEST_VALUE), 60), ZR_STORE_OK);
    keys = raw_keys(c, "*", &n);
    assert_int_equal(n, 1);
    r = redisCommand(c, "GET %s", keys[0]);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    /* IV(12) || ciphertext || tag(16): the plaintext is not there */
    assert_int_equal(r->len, 12 + strlen(TEST_VALUE) + 16);
    len = r->len;
    sealed = malloc(len);
    memcpy(sealed, r->str, len);
    freeReplyObject(r);

    saved = capture_begin(path);
    /* one flipped bit in the ciphertext */
    sealed[20] ^= 0x01;
    raw_ok(c, redisCommand(c, "SET %s %b", keys[0], sealed, len));
    assert_int_equal(zr_store_get(s, "login", "t1", &v, NULL), ZR_STORE_CORRUPT);
    sealed[20] ^= 0x01;
    /* truncated; too short; a claim marker read as a value */
    raw_ok(c, redisCommand(c, "SET %s %b", keys[0], sealed, len - 1));
    assert_int_equal(zr_store_get(s, "login", "t1", &v, NULL), ZR_STORE_CORRUPT);
    raw_ok(c, redisCommand(c, "SET %s 1", keys[0]));
    assert_int_equal(zr_store_get(s, "login", "t1", &v, NULL), ZR_STORE_CORRUPT);
    assert_int_equal(zr_store_claim(s, "seen", "t1", 60), ZR_STORE_OK);
    assert_int_equal(zr_store_get(s, "seen", "t1", &v, NULL), ZR_STORE_CORRUPT);
    /* the untouched value opens again: the test data was right */
    raw_ok(c, redisCommand(c, "SET %s %b", keys[0], sealed, len));
    assert_int_equal(zr_store_get(s, "login", "t1", &v, NULL), ZR_STORE_OK);
    assert_string_equal(v, TEST_VALUE);
    zr_release(v);
    free(capture_end(path, saved));

    /* another encryption key: other key names, so simply not found */
    assert_int_equal(zr_store_get(other, "login", "t1", &v, NULL), ZR_STORE_NOT_FOUND);
    assert_int_equal(zr_store_put(other, "login", "t1", "x", 1, 60), ZR_STORE_OK);
    free_keys(keys);
    keys = raw_keys(c, "zrtest:login:*", &n);
    assert_int_equal(n, 2);
    free_keys(keys);
    free(sealed);
    redisFree(c);
    zr_store_close(s);
    zr_store_close(other);
}

static int contains(const char *hay, size_t len, const char *needle)
{
    return memmem(hay, len, needle, strlen(needle)) != NULL;
}

/* Everything Redis holds, as SCAN + GET would show it to an operator. */
static void scan_everything(redisContext *c, zr_buf_t *all)
{
    char cursor[32] = "0";
    do {
        redisReply *r = redisCommand(c, "SCAN %s COUNT 100", cursor);
        assert_non_null(r);
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        for (size_t i = 0; i < r->element[1]->elements; i++) {
            const redisReply *k = r->element[1]->element[i];
            redisReply *v = redisCommand(c, "GET %b", k->str, k->len);
            zr_buf_append(all, k->str, k->len);
            zr_buf_append(all, "\n", 1);
            assert_non_null(v);
            assert_int_equal(v->type, REDIS_REPLY_STRING);
            zr_buf_append(all, v->str, v->len);
            zr_buf_append(all, "\n", 1);
            freeReplyObject(v);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
}

static void test_dump_holds_no_secrets(void **state)
{
    zr_store_t *s = test_open(1);
    redisContext *c = raw_connect();
    zr_buf_t all;
    char path[128], cmd[256], *dump = NULL;
    size_t dump_len = 0;
    raw_flush();
    zr_buf_init(&all);
    /* as the relay would: a code with the BSN, a session under a token, the
     * BSN itself, a replay marker for the token */
    assert_int_equal(zr_store_put(s, "code", TEST_TOKEN, TEST_VALUE, strlen(TEST_VALUE), 60), ZR_STORE_OK);
    assert_int_equal(zr_store_put(s, "login", TEST_TOKEN "-login", TEST_BSN, strlen(TEST_BSN), 60),
                     ZR_STORE_OK);
    assert_int_equal(zr_store_put(s, "subject", TEST_BSN, TEST_BSN, strlen(TEST_BSN), 60), ZR_STORE_OK);
    assert_int_equal(zr_store_claim(s, "seen", TEST_TOKEN, 60), ZR_STORE_OK);
    /* Control: plaintext stored directly must be found by the same checks,
     * so the checks below cannot pass by not looking. Not integers: Redis
     * would store those in binary. */
    raw_ok(c, redisCommand(c, "SET control:ctlname-%s ctlvalue-%s", TEST_TOKEN, TEST_BSN));

    scan_everything(c, &all);
    assert_true(contains(all.data, all.len, "ctlname-" TEST_TOKEN));
    assert_true(contains(all.data, all.len, "ctlvalue-" TEST_BSN));
    raw_ok(c, redisCommand(c, "DEL control:ctlname-%s", TEST_TOKEN));
    zr_buf_free(&all);
    zr_buf_init(&all);
    scan_everything(c, &all);
    assert_true(contains(all.data, all.len, "zrtest:code:"));
    assert_false(contains(all.data, all.len, TEST_BSN));
    assert_false(contains(all.data, all.len, TEST_TOKEN));
    assert_false(contains(all.data, all.len, "substantial"));
    zr_buf_free(&all);

    /* The dump files: SAVE into the server's dir, and a replica-style dump
     * via redis-cli --rdb. Uncompressed, so a match could not hide in LZF. */
    raw_ok(c, redisCommand(c, "CONFIG SET rdbcompression no"));
    raw_ok(c, redisCommand(c, "CONFIG SET repl-diskless-sync-delay 0"));
    raw_save(c);
    snprintf(path, sizeof(path), "%s/dump.rdb", redis.dir);
    assert_int_equal(zr_file_read(path, 16 << 20, &dump, &dump_len), 0);
    assert_true(contains(dump, dump_len, "zrtest:code:"));
    assert_false(contains(dump, dump_len, TEST_BSN));
    assert_false(contains(dump, dump_len, TEST_TOKEN));
    zr_release(dump);

    snprintf(path, sizeof(path), "%s/cli.rdb", redis.dir);
    snprintf(cmd, sizeof(cmd), "redis-cli -p %d --rdb %s >/dev/null 2>&1", redis.port, path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(zr_file_read(path, 16 << 20, &dump, &dump_len), 0);
    assert_true(contains(dump, dump_len, "zrtest:subject:"));
    assert_false(contains(dump, dump_len, TEST_BSN));
    assert_false(contains(dump, dump_len, TEST_TOKEN));
    zr_release(dump);

    /* Control for the dump: the same plaintext written directly is seen. */
    raw_ok(c, redisCommand(c, "SET control:ctlname-%s ctlvalue-%s", TEST_TOKEN, TEST_BSN));
    raw_save(c);
    snprintf(path, sizeof(path), "%s/dump.rdb", redis.dir);
    assert_int_equal(zr_file_read(path, 16 << 20, &dump, &dump_len), 0);
    assert_true(contains(dump, dump_len, TEST_BSN));
    assert_true(contains(dump, dump_len, TEST_TOKEN));
    zr_release(dump);
    redisFree(c);
    zr_store_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_copied_value_is_corrupt),
        cmocka_unit_test(test_renamed_value_is_corrupt),
        cmocka_unit_test(test_tampered_and_foreign_values),
        cmocka_unit_test(test_dump_holds_no_secrets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
