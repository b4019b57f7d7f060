/* Unit tests for src/core/json.c: the one hardened parser of untrusted JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "zr/json.h"
#include "zr/util.h"

static zr_json_status_t status_of(const char *text, size_t max)
{
    zr_json_status_t st = ZR_JSON_OK;
    json_t *v = zr_json_parse_object(text, text ? strlen(text) : 0, max, &st);
    assert_true((v != NULL) == (st == ZR_JSON_OK));
    json_decref(v);
    return st;
}

static void test_accepts_plain_objects(void **state)
{
    assert_int_equal(status_of("{}", 0), ZR_JSON_OK);
    assert_int_equal(status_of(" {\"a\": [1, {\"b\": null}], \"c\": \"\\u00e9\"} \n", 0), ZR_JSON_OK);
}

static void test_refusals_are_specific(void **state)
{
    assert_int_equal(status_of(NULL, 0), ZR_JSON_EMPTY);
    assert_int_equal(status_of("", 0), ZR_JSON_EMPTY);
    assert_int_equal(status_of("{\"a\":1,\"a\":2}", 0), ZR_JSON_DUPLICATE_KEY);
    assert_int_equal(status_of("{\"o\":{\"a\":1,\"a\":1}}", 0), ZR_JSON_DUPLICATE_KEY);
    assert_int_equal(status_of("[1,2]", 0), ZR_JSON_NOT_OBJECT);
    assert_int_equal(status_of("\"str\"", 0), ZR_JSON_NOT_OBJECT);
    assert_int_equal(status_of("{\"a\":1} {\"b\":2}", 0), ZR_JSON_SYNTAX); /* text after the value */
    assert_int_equal(status_of("{\"a\":\"x\\u0000y\"}", 0), ZR_JSON_SYNTAX);  /* NUL inside a string */
    assert_int_equal(status_of("{\"a\":01}", 0), ZR_JSON_SYNTAX);
    assert_int_equal(status_of("{'a':1}", 0), ZR_JSON_SYNTAX);
    assert_int_equal(status_of("{\"a\":1}", 6), ZR_JSON_TOO_LARGE);
    assert_int_equal(status_of("{\"a\":1}", 7), ZR_JSON_OK);
    assert_string_equal(zr_json_status_text(ZR_JSON_DUPLICATE_KEY), "duplicate key");
}

static void test_depth_limit(void **state)
{
    zr_buf_t b;
    zr_buf_init(&b);
    /* ZR_JSON_MAX_DEPTH levels below the top object pass, one more does not */
    for (int depth = ZR_JSON_MAX_DEPTH; depth <= ZR_JSON_MAX_DEPTH + 1; depth++) {
        b.len = 0;
        zr_buf_appends(&b, "{\"x\":");
        for (int i = 1; i < depth; i++)
            zr_buf_appends(&b, "[");
        zr_buf_appends(&b, "1");
        for (int i = 1; i < depth; i++)
            zr_buf_appends(&b, "]");
        zr_buf_appends(&b, "}");
        assert_int_equal(status_of(b.data, 0), depth == ZR_JSON_MAX_DEPTH ? ZR_JSON_OK : ZR_JSON_TOO_DEEP);
    }
    /* far beyond jansson's own limit: refused without exhausting the stack */
    b.len = 0;
    zr_buf_appends(&b, "{\"x\":");
    for (int i = 0; i < 100000; i++)
        zr_buf_appends(&b, "[");
    assert_int_not_equal(status_of(b.data, 1 << 20), ZR_JSON_OK);
    zr_buf_free(&b);
}

static char *compact_with_header(const char *header)
{
    char *h = zr_base64url_encode((const uint8_t *)header, strlen(header)), *out = NULL;
    assert_non_null(h);
    assert_true(asprintf(&out, "%s.e30.c2ln", h) > 0);
    free(h);
    return out;
}

static void test_jose_header(void **state)
{
    char *c = compact_with_header("{\"alg\":\"RS256\",\"kid\":\"k1\"}");
    json_t *h = zr_json_jose_header(c);
    assert_non_null(h);
    assert_string_equal(json_string_value(json_object_get(h, "kid")), "k1");
    json_decref(h);
    free(c);
    /* a duplicate alg could make the JOSE library check one and use another */
    c = compact_with_header("{\"alg\":\"RS256\",\"alg\":\"none\"}");
    assert_null(zr_json_jose_header(c));
    free(c);
    c = compact_with_header("{\"alg\":\"RS256\",\"crit\":[\"exp\"],\"exp\":1}");
    assert_null(zr_json_jose_header(c));
    free(c);
    assert_null(zr_json_jose_header("no-dot-here"));
    assert_null(zr_json_jose_header(".e30.c2ln"));
    assert_null(zr_json_jose_header(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_plain_objects),
        cmocka_unit_test(test_refusals_are_specific),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_jose_header),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
