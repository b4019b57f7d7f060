/* Unit tests for the sharing of health probe results (src/relay/health.c):
 * who uses a result, who renews it, who waits. The probes themselves and the
 * endpoints are tested against the real binary (integration/test_health). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../src/relay/relay_internal.h"

static void test_probe_decide(void **state)
{
    const int64_t t = 100000, cache = ZR_RELAY_PROBE_CACHE_MS;
    (void)state;
    /* No result yet: the first thread probes, the others wait for it. */
    assert_int_equal(zr_relay_probe_decide(0, 0, 0, t), ZR_RELAY_PROBE_RUN);
    assert_int_equal(zr_relay_probe_decide(0, 1, 0, t), ZR_RELAY_PROBE_WAIT);
    /* A fresh result is used by everyone: pollers cost nothing. */
    assert_int_equal(zr_relay_probe_decide(1, 0, t, t), ZR_RELAY_PROBE_USE);
    assert_int_equal(zr_relay_probe_decide(1, 0, t, t + cache - 1), ZR_RELAY_PROBE_USE);
    /* Stale: one thread renews it; meanwhile the others answer at once with
     * the previous result rather than queue behind a slow Redis. */
    assert_int_equal(zr_relay_probe_decide(1, 0, t, t + cache), ZR_RELAY_PROBE_RUN);
    assert_int_equal(zr_relay_probe_decide(1, 1, t, t + cache), ZR_RELAY_PROBE_USE);
    assert_int_equal(zr_relay_probe_decide(1, 1, t, t + 60 * cache), ZR_RELAY_PROBE_USE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_probe_decide),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
