/* A language kept in Redis across a restart (issue 18 §5): a trail's or a
 * pending logout's is the language's code; a pending logout written by a
 * relay before the catalogs held 0 or 1, and still reads after a restart
 * into this version. Also the trail's own round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/relay/relay_internal.h"

static void expect_read(const char *json, int rc, zr_lang_t want)
{
    json_t *o = json_loads(json, JSON_DECODE_ANY, NULL);
    zr_lang_t got = (zr_lang_t)7;
    assert_non_null(o);
    assert_int_equal(zr_relay_lang_read(o, &got), rc);
    if (rc == 0)
        assert_int_equal(got, want);
    json_decref(o);
}

static void test_lang_read(void **state)
{
    (void)state;
    expect_read("\"nl\"", 0, ZR_LANG_NL);
    expect_read("\"en\"", 0, ZR_LANG_EN);
    /* before issue 18 §5: zr_lang_t as an integer */
    expect_read("0", 0, ZR_LANG_NL);
    expect_read("1", 0, ZR_LANG_EN);
    /* nothing else is guessed */
    expect_read("2", -1, ZR_LANG_NL);
    expect_read("\"xx\"", -1, ZR_LANG_NL);
    expect_read("true", -1, ZR_LANG_NL);
    expect_read("null", -1, ZR_LANG_NL);
}

static void test_trail_keeps_the_code(void **state)
{
    char *json = zr_relay_trail_json("portal", "cp", ZR_LANG_EN, ZR_RELAY_TRAIL_BEGUN);
    (void)state;
    assert_non_null(json);
    assert_non_null(strstr(json, "\"lang\": \"en\"") ? json : strstr(json, "\"lang\":\"en\""));
    free(json);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lang_read),
        cmocka_unit_test(test_trail_keeps_the_code),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
