/* Unit tests for src/metrics: the text exposition format 0.0.4 (escaping,
 * numbers, histograms), the lock-free counters under parallel updates, and
 * the per-care-provider table across a reload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/metrics.h"

/* The value of the sample line that starts with `series ` in text, or -1. */
static double sample_value(const char *text, const char *series)
{
    size_t n = strlen(series);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    }
    return -1;
}

static int occurrences(const char *text, const char *s)
{
    int n = 0;
    for (const char *p = strstr(text, s); p; p = strstr(p + 1, s))
        n++;
    return n;
}

static void test_escaping(void **state)
{
    zr_metrics_text_t t;
    const char *labels[] = {"a", "back\\slash \"quoted\"\nnext", "b", "", NULL};

    zr_metrics_text_init(&t);
    zr_metrics_text_family(&t, "x_total", "counter", "Help with \\ and\na newline, \"quotes\" kept.");
    zr_metrics_text_sample(&t, "x_total", labels, 3);
    zr_metrics_text_sample(&t, "x_total", NULL, 0.25);
    assert_false(t.failed);
    assert_string_equal(t.data, "# HELP x_total Help with \\\\ and\\na newline, \"quotes\" kept.\n"
                                "# TYPE x_total counter\n"
                                "x_total{a=\"back\\\\slash \\\"quoted\\\"\\nnext\",b=\"\"} 3\n"
                                "x_total 0.25\n");
    zr_metrics_text_free(&t);
}

static void test_numbers(void **state)
{
    zr_metrics_text_t t;
    zr_metrics_text_init(&t);
    zr_metrics_text_sample(&t, "a", NULL, 1.0 / 0.0);
    zr_metrics_text_sample(&t, "b", NULL, -1.0 / 0.0);
    zr_metrics_text_sample(&t, "c", NULL, 0.0 / 0.0);
    zr_metrics_text_sample(&t, "d", NULL, 1765000000);
    zr_metrics_text_sample(&t, "e", NULL, -86400.5);
    zr_metrics_text_sample(&t, "f", NULL, 18446744073709551615.0);
    assert_string_equal(t.data, "a +Inf\nb -Inf\nc NaN\nd 1765000000\ne -86400.5\nf 1.8446744073709552e+19\n");
    zr_metrics_text_free(&t);
}

static void test_disabled_is_noop(void **state)
{
    zr_metrics_text_t t;
    zr_metrics_shutdown();
    zr_metrics_count(ZR_METRICS_REDIS_ERRORS);
    zr_metrics_login_started(ZR_METRICS_PATIENT, NULL);
    zr_metrics_observe(ZR_METRICS_PHASE_REDIS, 0.1);
    assert_int_equal(zr_metrics_init(0, NULL, 0), 0);
    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    assert_true(sample_value(t.data, "zorgrelay_redis_errors_total") == 0);
    assert_true(sample_value(t.data, "zorgrelay_logins_started_total{kind=\"patient\"}") == 0);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_count{phase=\"redis\"}") == 0);
    assert_null(strstr(t.data, "care_provider"));
    zr_metrics_text_free(&t);
    zr_metrics_shutdown();
}

static void test_histogram(void **state)
{
    zr_metrics_text_t t;
    assert_int_equal(zr_metrics_init(0, NULL, 0), 0);
    zr_metrics_observe(ZR_METRICS_PHASE_PDP, 0.001);  /* on a bound: le is inclusive */
    zr_metrics_observe(ZR_METRICS_PHASE_PDP, 0.02);
    zr_metrics_observe(ZR_METRICS_PHASE_PDP, 0.02);
    zr_metrics_observe(ZR_METRICS_PHASE_PDP, 100);    /* above every bound */
    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"pdp\",le=\"0.001\"}") == 1);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"pdp\",le=\"0.01\"}") == 1);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"pdp\",le=\"0.025\"}") == 3);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"pdp\",le=\"30\"}") == 3);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"pdp\",le=\"+Inf\"}") == 4);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_count{phase=\"pdp\"}") == 4);
    double sum = sample_value(t.data, "zorgrelay_phase_duration_seconds_sum{phase=\"pdp\"}");
    assert_true(sum > 100.0409 && sum < 100.0411);
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_count{phase=\"token\"}") == 0);
    /* one HELP and TYPE per family, before its samples */
    assert_non_null(strstr(t.data, "# TYPE zorgrelay_phase_duration_seconds histogram\n"
                                   "zorgrelay_phase_duration_seconds_bucket{phase=\"authorize\",le=\"0.001\"} 0\n"));
    zr_metrics_text_free(&t);
    zr_metrics_shutdown();
}

#define THREADS 8
#define ROUNDS 100000
static void *hammer(void *arg)
{
    for (int i = 0; i < ROUNDS; i++) {
        zr_metrics_login_started(ZR_METRICS_PATIENT, "zh-b");
        zr_metrics_login_finished(ZR_METRICS_PATIENT, ZR_METRICS_DENIED, "zh-b");
        /* a professional's login names no care provider: no series of its own */
        zr_metrics_login_finished(ZR_METRICS_PROFESSIONAL, ZR_METRICS_OK, "zh-b");
        zr_metrics_observe(ZR_METRICS_PHASE_REDIS, 0.003);
        zr_metrics_count(ZR_METRICS_REDIS_RECONNECTS);
    }
    return arg;
}

/* Parallel updates lose nothing (atomics, no lock). */
static void test_parallel(void **state)
{
    const char *ids[] = {"zh-b", "zh-a"};
    pthread_t th[THREADS];
    zr_metrics_text_t t;

    assert_int_equal(zr_metrics_init(1, ids, 2), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, hammer, NULL), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(th[i], NULL);
    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    assert_true(sample_value(t.data, "zorgrelay_logins_started_total{kind=\"patient\"}") == THREADS * ROUNDS);
    assert_true(sample_value(t.data, "zorgrelay_logins_finished_total{kind=\"patient\",result=\"denied\"}") ==
                THREADS * ROUNDS);
    assert_true(sample_value(t.data, "zorgrelay_logins_finished_total{kind=\"professional\",result=\"ok\"}") ==
                THREADS * ROUNDS);
    assert_true(sample_value(t.data, "zorgrelay_care_provider_logins_finished_total{care_provider=\"zh-b\","
                                     "kind=\"patient\",result=\"denied\"}") == THREADS * ROUNDS);
    assert_true(sample_value(t.data, "zorgrelay_care_provider_logins_finished_total{care_provider=\"zh-a\","
                                     "kind=\"patient\",result=\"denied\"}") == 0);
    assert_true(sample_value(t.data, "zorgrelay_care_provider_logins_started_total{care_provider=\"zh-b\","
                                     "kind=\"patient\"}") == THREADS * ROUNDS);
    assert_null(strstr(t.data, "care_provider=\"zh-b\",kind=\"professional\""));
    assert_true(sample_value(t.data, "zorgrelay_phase_duration_seconds_bucket{phase=\"redis\",le=\"0.005\"}") ==
                THREADS * ROUNDS);
    assert_true(sample_value(t.data, "zorgrelay_redis_reconnects_total") == THREADS * ROUNDS);
    zr_metrics_text_free(&t);
    zr_metrics_shutdown();
}

/* A reload adds providers and keeps the counts of those it removed; an
 * unknown provider (not configured) gets no series of its own. */
static void test_provider_reload(void **state)
{
    const char *first[] = {"zh-a"}, *second[] = {"zh-c", "zh-c"};
    zr_metrics_text_t t;

    assert_int_equal(zr_metrics_init(1, first, 1), 0);
    zr_metrics_login_started(ZR_METRICS_PATIENT, "zh-a");
    zr_metrics_login_started(ZR_METRICS_PATIENT, "zh-x");
    assert_int_equal(zr_metrics_care_providers_add(second, 2), 0);
    zr_metrics_login_started(ZR_METRICS_PATIENT, "zh-c");
    zr_metrics_login_started(ZR_METRICS_PATIENT, "zh-a");
    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    assert_true(sample_value(t.data, "zorgrelay_logins_started_total{kind=\"patient\"}") == 4);
    assert_true(
        sample_value(t.data, "zorgrelay_care_provider_logins_started_total{care_provider=\"zh-a\",kind=\"patient\"}") ==
        2);
    assert_true(
        sample_value(t.data, "zorgrelay_care_provider_logins_started_total{care_provider=\"zh-c\",kind=\"patient\"}") ==
        1);
    assert_null(strstr(t.data, "zh-x"));
    /* a reload that adds nothing keeps the table (and the counts) */
    assert_int_equal(zr_metrics_care_providers_add(first, 1), 0);
    zr_metrics_text_free(&t);
    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    assert_true(
        sample_value(t.data, "zorgrelay_care_provider_logins_started_total{care_provider=\"zh-a\",kind=\"patient\"}") ==
        2);
    /* "zh-c" twice in one reload: one series */
    assert_int_equal(occurrences(t.data, "started_total{care_provider=\"zh-c\",kind=\"patient\"}"), 1);
    zr_metrics_text_free(&t);
    zr_metrics_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),       cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_disabled_is_noop), cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_parallel),       cmocka_unit_test(test_provider_reload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
