/* The self-test's pure judgements: TVS's Date header against our clock,
 * Redis's eviction / maxmemory / persistence settings, the latency median,
 * and the report (exit status, text and JSON forms). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/selftest.h"

/* Tue, 24 Nov 2026 00:22:55 GMT */
#define T0 1795479775.0

static void test_date_offset_parses_http_dates(void **state)
{
    double off = 0;
    assert_int_equal(zr_selftest_date_offset("Tue, 24 Nov 2026 00:22:55 GMT", T0 + 0.5, &off), 0);
    assert_true(off > -0.01 && off < 0.01);
    /* TVS 600 s ahead of us: positive offset. */
    assert_int_equal(zr_selftest_date_offset("Tue, 24 Nov 2026 00:32:55 GMT", T0 + 0.5, &off), 0);
    assert_true(off > 599.9 && off < 600.1);
    /* Obsolete forms a server may still send (RFC 7231 §7.1.1.1). */
    assert_int_equal(zr_selftest_date_offset("Tuesday, 24-Nov-26 00:22:55 GMT", T0 + 30.5, &off), 0);
    assert_true(off > -30.1 && off < -29.9);
    assert_int_equal(zr_selftest_date_offset("Tue Nov 24 00:22:55 2026", T0 + 0.5, &off), 0);
    assert_true(off > -0.01 && off < 0.01);
}

static void test_date_offset_refuses_garbage(void **state)
{
    double off = 0;
    assert_int_equal(zr_selftest_date_offset(NULL, T0, &off), -1);
    assert_int_equal(zr_selftest_date_offset("", T0, &off), -1);
    assert_int_equal(zr_selftest_date_offset("yesterday-ish", T0, &off), -1);
}

static void test_clock_judge(void **state)
{
    assert_int_equal(zr_selftest_clock_judge(0.0, 60), ZR_SELFTEST_OK);
    assert_int_equal(zr_selftest_clock_judge(-5.0, 60), ZR_SELFTEST_OK);
    assert_int_equal(zr_selftest_clock_judge(5.5, 60), ZR_SELFTEST_WARN);
    assert_int_equal(zr_selftest_clock_judge(-59.0, 60), ZR_SELFTEST_WARN);
    assert_int_equal(zr_selftest_clock_judge(60.5, 60), ZR_SELFTEST_FAIL);
    assert_int_equal(zr_selftest_clock_judge(-600.0, 60), ZR_SELFTEST_FAIL);
    assert_int_equal(zr_selftest_clock_judge(100.0, 120), ZR_SELFTEST_WARN);
    /* Unset skew: the relay's default of 60 s. */
    assert_int_equal(zr_selftest_clock_judge(61.0, 0), ZR_SELFTEST_FAIL);
}

static void test_redis_policy(void **state)
{
    char f[256];
    assert_int_equal(zr_selftest_redis_policy_judge("noeviction", f, sizeof(f)), ZR_SELFTEST_OK);
    assert_int_equal(zr_selftest_redis_policy_judge("volatile-lru", f, sizeof(f)), ZR_SELFTEST_WARN);
    assert_non_null(strstr(f, "volatile-lru"));
    assert_int_equal(zr_selftest_redis_policy_judge("volatile-ttl", f, sizeof(f)), ZR_SELFTEST_WARN);
    assert_int_equal(zr_selftest_redis_policy_judge("allkeys-lru", f, sizeof(f)), ZR_SELFTEST_FAIL);
    assert_string_equal(f, "maxmemory-policy allkeys-lru evicts live logins, codes, the replay cache and the recorded "
                           "pairwise sectors");
    assert_int_equal(zr_selftest_redis_policy_judge("allkeys-random", f, sizeof(f)), ZR_SELFTEST_FAIL);
    assert_int_equal(zr_selftest_redis_policy_judge("allkeys-lfu", f, sizeof(f)), ZR_SELFTEST_FAIL);
    /* CONFIG disabled (managed Redis): unknown, said so. */
    assert_int_equal(zr_selftest_redis_policy_judge(NULL, f, sizeof(f)), ZR_SELFTEST_WARN);
    assert_non_null(strstr(f, "CONFIG is disabled"));
    assert_int_equal(zr_selftest_redis_policy_judge("something-new", f, sizeof(f)), ZR_SELFTEST_WARN);
}

static void test_redis_maxmemory(void **state)
{
    char f[512], a[512];
    /* The defaults (8 h logout sessions, 5 min tokens, 60 s skew): about
     * 19 MB per sustained login per second, 91 % of it logout sessions. */
    double need = zr_selftest_redis_need_per_login_rate(0, 0, 0, 60, 0);
    assert_true(need > 17.0e6 && need < 19.5e6);
    assert_true(zr_selftest_redis_need_per_login_rate(8 * 3600, 300, 60, 60, 900) == need);
    /* The logout session's lifetime is what counts: 24 h is three times. */
    assert_true(zr_selftest_redis_need_per_login_rate(24 * 3600, 300, 60, 60, 900) > 2.8 * need);
    assert_true(zr_selftest_redis_need_per_login_rate(3600, 300, 60, 60, 900) < need / 4);
    /* The login trail (issue 18 §1, 264 B + 80 for twice the session
     * lifetime): about 0.6 MB with the defaults. */
    assert_true(need - zr_selftest_redis_need_per_login_rate(0, 0, 0, 60, 1) > 0.5e6);

    assert_int_equal(zr_selftest_redis_maxmemory_judge(0, need, 0, f, sizeof(f), a, sizeof(a)), ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "plan 19."));
    /* 1 GiB holds 56 logins per second: above the default peak of 10. */
    assert_int_equal(zr_selftest_redis_maxmemory_judge(1024LL * 1024 * 1024, need, 0, f, sizeof(f), a, sizeof(a)),
                     ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "maxmemory 1024 MiB holds a sustained 56."));
    assert_non_null(strstr(f, "expected peak 10 per second"));
    /* ... but not the 100 an operator says to expect. */
    assert_int_equal(zr_selftest_redis_maxmemory_judge(1024LL * 1024 * 1024, need, 100, f, sizeof(f), a, sizeof(a)),
                     ZR_SELFTEST_WARN);
    assert_non_null(strstr(a, "at least 18"));
    /* 64 MiB: about 3.6 a second, below the default peak. */
    assert_int_equal(zr_selftest_redis_maxmemory_judge(64LL * 1024 * 1024, need, 0, f, sizeof(f), a, sizeof(a)),
                     ZR_SELFTEST_WARN);
    assert_non_null(strstr(f, "holds a sustained 3."));
    assert_non_null(strstr(a, "oidc.logout_session_lifetime"));
    assert_int_equal(zr_selftest_redis_maxmemory_judge(1024 * 1024, need, 1, f, sizeof(f), a, sizeof(a)),
                     ZR_SELFTEST_WARN);
    assert_int_equal(zr_selftest_redis_maxmemory_judge(1000, need, 1, f, sizeof(f), a, sizeof(a)), ZR_SELFTEST_WARN);
    assert_non_null(strstr(f, "maxmemory 1000 bytes holds a sustained 0.0 logins"));
}

static void test_redis_persistence(void **state)
{
    char f[512];
    static const char none[] = "# Persistence\r\nloading:0\r\nrdb_changes_since_last_save:3\r\nrdb_saves:0\r\n"
                               "rdb_last_bgsave_status:ok\r\naof_enabled:0\r\naof_last_write_status:ok\r\n";
    static const char aof[] = "# Persistence\r\nrdb_saves:0\r\nrdb_last_bgsave_status:ok\r\naof_enabled:1\r\n"
                              "aof_last_write_status:ok\r\n";
    static const char rdb[] = "# Persistence\r\nrdb_saves:12\r\nrdb_last_bgsave_status:ok\r\naof_enabled:0\r\n";
    static const char failed[] = "# Persistence\r\nrdb_saves:4\r\nrdb_last_bgsave_status:err\r\naof_enabled:0\r\n";
    /* No persistence is acceptable (it says what a restart voids). */
    assert_int_equal(zr_selftest_redis_persistence_judge(none, f, sizeof(f)), ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "no persistence"));
    assert_int_equal(zr_selftest_redis_persistence_judge(aof, f, sizeof(f)), ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "persistence on (AOF)"));
    assert_int_equal(zr_selftest_redis_persistence_judge(rdb, f, sizeof(f)), ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "persistence on (RDB)"));
    assert_int_equal(zr_selftest_redis_persistence_judge(failed, f, sizeof(f)), ZR_SELFTEST_WARN);
    assert_non_null(strstr(f, "RDB save failed"));
    assert_int_equal(zr_selftest_redis_persistence_judge(NULL, f, sizeof(f)), ZR_SELFTEST_SKIP);
    assert_int_equal(zr_selftest_redis_persistence_judge("# Persistence\r\n", f, sizeof(f)), ZR_SELFTEST_SKIP);
}

static void test_redis_clock(void **state)
{
    char f[256];
    (void)state;
    /* the default redis.timeout_ms 500: a margin of 250 ms */
    assert_int_equal(zr_selftest_redis_clock_judge(3.0, 0.4, 500, f, sizeof(f)), ZR_SELFTEST_OK);
    assert_non_null(strstr(f, "+3.0 ms"));
    assert_int_equal(zr_selftest_redis_clock_judge(-80.0, 1.0, 500, f, sizeof(f)), ZR_SELFTEST_WARN);
    assert_int_equal(zr_selftest_redis_clock_judge(249.0, 0.2, 500, f, sizeof(f)), ZR_SELFTEST_WARN);
    /* the round trip's uncertainty counts: 240 + 30/2 > 250 */
    assert_int_equal(zr_selftest_redis_clock_judge(240.0, 30.0, 500, f, sizeof(f)), ZR_SELFTEST_FAIL);
    assert_int_equal(zr_selftest_redis_clock_judge(-900.0, 0.2, 500, f, sizeof(f)), ZR_SELFTEST_FAIL);
    assert_non_null(strstr(f, "codes would not be redeemed"));
}

static void test_median(void **state)
{
    const double odd[] = {5.0, 1.0, 100.0, 2.0, 3.0};
    const double even[] = {4.0, 1.0, 3.0, 2.0};
    assert_true(zr_selftest_median(odd, 5) == 3.0);
    assert_true(zr_selftest_median(even, 4) == 2.5);
    assert_true(zr_selftest_median(odd, 0) == 0.0);
}

static char *capture(const zr_selftest_report_t *r, int json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    if (json)
        zr_selftest_print_json(r, f);
    else
        zr_selftest_print_text(r, f);
    fclose(f);
    return buf;
}

static void test_report_exit_status_and_forms(void **state)
{
    zr_selftest_report_t r = {0};
    char *text, *js;
    json_t *doc;
    zr_selftest_add(&r, ZR_SELFTEST_OK, "redis", "never shown", "reachable, %d PINGs", 10);
    zr_selftest_add(&r, ZR_SELFTEST_WARN, "clock", "use NTP", "6.0 s behind");
    zr_selftest_add(&r, ZR_SELFTEST_SKIP, "tvs-mtls", NULL, "not tried");
    /* Warnings alone keep exit status 0. */
    assert_int_equal(zr_selftest_exit_status(&r), 0);
    zr_selftest_add(&r, ZR_SELFTEST_FAIL, "tvs-tls", "open the firewall", "cannot connect");
    assert_int_equal(zr_selftest_exit_status(&r), 1);
    assert_null(r.items[0].advice); /* ok items carry no advice */

    text = capture(&r, 0);
    assert_non_null(strstr(text, "ok    redis: reachable, 10 PINGs\n"));
    assert_non_null(strstr(text, "warn  clock: 6.0 s behind\n      -> use NTP\n"));
    assert_non_null(strstr(text, "skip  tvs-mtls: not tried\n"));
    assert_non_null(strstr(text, "FAIL  tvs-tls: cannot connect\n      -> open the firewall\n"));
    assert_non_null(strstr(text, "FAILED: 1 ok, 1 warning(s), 1 failure(s)"));
    assert_null(strstr(text, "never shown"));

    js = capture(&r, 1);
    doc = json_loads(js, 0, NULL);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "fail");
    assert_int_equal(json_integer_value(json_object_get(doc, "exit_status")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "counts"), "warn")), 1);
    assert_int_equal(json_array_size(json_object_get(doc, "checks")), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "checks"), 3), "status")),
                        "fail");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "checks"), 3), "advice")),
                        "open the firewall");
    json_decref(doc);
    free(text);
    free(js);
    zr_selftest_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_date_offset_parses_http_dates),
        cmocka_unit_test(test_date_offset_refuses_garbage),
        cmocka_unit_test(test_clock_judge),
        cmocka_unit_test(test_redis_policy),
        cmocka_unit_test(test_redis_maxmemory),
        cmocka_unit_test(test_redis_persistence),
        cmocka_unit_test(test_redis_clock),
        cmocka_unit_test(test_median),
        cmocka_unit_test(test_report_exit_status_and_forms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
