/* Unit tests for src/authz/trace.c: W3C trace context level 1 parsing and
 * formatting (version 00, lowercase hex, all-zero ids and version ff
 * rejected, future versions read by their 00 prefix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "zr/authz.h"

#define TRACE "4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT "00f067aa0ba902b7"

static int is_hex(const char *s, size_t n)
{
    if (strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", s[i]))
            return 0;
    return 1;
}

/* 1 when begin continued the trace TRACE as a child of PARENT. */
static int continued(const char *traceparent, zr_trace_t *t)
{
    zr_trace_begin(traceparent, t);
    assert_true(is_hex(t->trace_id, 32));
    assert_true(is_hex(t->span_id, 16));
    return !strcmp(t->trace_id, TRACE) && !strcmp(t->parent_span_id, PARENT);
}

static void test_new_trace(void **state)
{
    zr_trace_t a, b;
    zr_trace_begin(NULL, &a);
    zr_trace_begin(NULL, &b);
    assert_true(is_hex(a.trace_id, 32));
    assert_true(is_hex(a.span_id, 16));
    assert_string_equal(a.parent_span_id, "");
    assert_int_equal(a.flags, 1);
    assert_string_not_equal(a.trace_id, "00000000000000000000000000000000");
    /* random: two traces never share ids */
    assert_string_not_equal(a.trace_id, b.trace_id);
    assert_string_not_equal(a.span_id, b.span_id);
}

static void test_continue_valid(void **state)
{
    zr_trace_t t;
    assert_true(continued("00-" TRACE "-" PARENT "-01", &t));
    assert_int_equal(t.flags, 1);
    assert_string_not_equal(t.span_id, PARENT); /* our own span */
    assert_true(continued("00-" TRACE "-" PARENT "-00", &t));
    assert_int_equal(t.flags, 0);
    /* only "sampled" is defined in level 1; other bits are not passed on */
    assert_true(continued("00-" TRACE "-" PARENT "-03", &t));
    assert_int_equal(t.flags, 1);
    assert_true(continued("00-" TRACE "-" PARENT "-fe", &t));
    assert_int_equal(t.flags, 0);
}

static void test_reject_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "garbage",
        "00-" TRACE "-" PARENT "-0",                        /* short */
        "00-" TRACE "-" PARENT "-01-",                      /* version 00 is exactly 55 chars */
        "00-" TRACE "-" PARENT "-01 ",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" PARENT "-01", /* upper case */
        "00-" TRACE "-00F067AA0BA902B7-01",
        "00-" TRACE "-" PARENT "-0A",
        "ff-" TRACE "-" PARENT "-01",                       /* version ff is invalid */
        "0g-" TRACE "-" PARENT "-01",
        "00-00000000000000000000000000000000-" PARENT "-01", /* all-zero trace id */
        "00-" TRACE "-0000000000000000-01",                 /* all-zero parent id */
        "00_" TRACE "-" PARENT "-01",
        "00-" TRACE "_" PARENT "-01",
        "00-" TRACE "-" PARENT "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-" PARENT "-01x", /* 31 hex */
        "00-4bf92f3577b34da6a3ce929d0e0e473g-" PARENT "-01",
        "01-" TRACE "-" PARENT "-01x",                      /* future version: '-' must follow */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zr_trace_t t;
        if (continued(bad[i], &t))
            fail_msg("accepted: \"%s\"", bad[i]);
        /* a fresh trace instead */
        assert_string_equal(t.parent_span_id, "");
        assert_int_equal(t.flags, 1);
    }
}

static void test_future_version(void **state)
{
    zr_trace_t t;
    assert_true(continued("01-" TRACE "-" PARENT "-01", &t));
    assert_true(continued("cc-" TRACE "-" PARENT "-01-what-the-future-will-be-like", &t));
    char out[64];
    zr_trace_format(&t, out, sizeof(out));
    assert_int_equal(strncmp(out, "00-", 3), 0); /* we speak version 00 */
}

static void test_format_roundtrip(void **state)
{
    zr_trace_t t, child;
    char out[56], again[56];
    zr_trace_begin("00-" TRACE "-" PARENT "-01", &t);
    zr_trace_format(&t, out, sizeof(out));
    assert_int_equal(strlen(out), 55);
    assert_int_equal(strncmp(out, "00-" TRACE "-", 36), 0);
    assert_int_equal(strncmp(out + 36, t.span_id, 16), 0);
    assert_string_equal(out + 52, "-01");
    /* the next hop continues our span */
    zr_trace_begin(out, &child);
    assert_string_equal(child.trace_id, TRACE);
    assert_string_equal(child.parent_span_id, t.span_id);
    zr_trace_format(&child, again, sizeof(again));
    assert_int_equal(strncmp(again, out, 36), 0);

    t.flags = 0;
    zr_trace_format(&t, out, sizeof(out));
    assert_string_equal(out + 52, "-00");
    /* too small a buffer: empty, never truncated */
    char small[55];
    memset(small, 'x', sizeof(small));
    zr_trace_format(&t, small, sizeof(small));
    assert_string_equal(small, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_trace),
        cmocka_unit_test(test_continue_valid),
        cmocka_unit_test(test_reject_malformed),
        cmocka_unit_test(test_future_version),
        cmocka_unit_test(test_format_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
