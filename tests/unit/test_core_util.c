/* Unit tests for src/core: encodings, time parsing, sealing, the 11-proof. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/subject.h"
#include "zr/util.h"

static void test_base64_roundtrip(void **state)
{
    const uint8_t data[] = "any carnal pleas\xff\x00";
    char *enc = zr_base64_encode(data, sizeof(data));
    uint8_t *dec = NULL;
    size_t len = 0;
    assert_int_equal(zr_base64_decode(enc, &dec, &len), 0);
    assert_int_equal(len, sizeof(data));
    assert_memory_equal(dec, data, len);
    free(enc);
    free(dec);
    /* whitespace inside (XML line wrapping) is ignored, garbage is not */
    assert_int_equal(zr_base64_decode("YW55\n IGNh", &dec, &len), 0);
    assert_int_equal(len, 6);
    free(dec);
    assert_int_equal(zr_base64_decode("YW5*", &dec, &len), -1);
    char *u = zr_base64url_encode((const uint8_t *)"\xfb\xff", 2);
    assert_string_equal(u, "-_8");
    free(u);
}

static void test_url_decode(void **state)
{
    char *s = zr_url_decode("a%20b+c", 7);
    assert_string_equal(s, "a b c");
    free(s);
    assert_null(zr_url_decode("a%2", 3));
    assert_null(zr_url_decode("a%00b", 5));
    assert_null(zr_url_decode("%zz", 3));
}

static void test_time_parse(void **state)
{
    time_t t;
    assert_int_equal(zr_time_parse_iso8601("2021-10-06T08:09:50.226Z", &t), 0);
    assert_int_equal(t, 1633507790);
    assert_int_equal(zr_time_parse_iso8601(" 2021-10-06T08:09:50Z ", &t), 0);
    assert_int_equal(zr_time_parse_iso8601("2021-10-06T08:09:50+02:00", &t), -1);
    assert_int_equal(zr_time_parse_iso8601("2021-13-06T08:09:50Z", &t), -1);
    assert_int_equal(zr_time_parse_iso8601("yesterday", &t), -1);
    char out[21];
    zr_time_format_iso8601(1633507790, out);
    assert_string_equal(out, "2021-10-06T08:09:50Z");
}

static void test_seal_open(void **state)
{
    uint8_t key[32] = {1, 2, 3};
    uint8_t *sealed = NULL, *plain = NULL;
    size_t slen = 0, plen = 0;
    assert_int_equal(zr_crypto_seal(key, (const uint8_t *)"aad", 3, (const uint8_t *)"secret", 6, &sealed, &slen), 0);
    assert_int_equal(slen, 6 + 12 + 16);
    assert_int_equal(zr_crypto_open(key, (const uint8_t *)"aad", 3, sealed, slen, &plain, &plen), 0);
    assert_int_equal(plen, 6);
    assert_memory_equal(plain, "secret", 6);
    free(plain);
    /* another AAD (value moved to another key) or a flipped bit fails */
    assert_int_equal(zr_crypto_open(key, (const uint8_t *)"aaX", 3, sealed, slen, &plain, &plen), -1);
    sealed[14] ^= 1;
    assert_int_equal(zr_crypto_open(key, (const uint8_t *)"aad", 3, sealed, slen, &plain, &plen), -1);
    free(sealed);
}

static void test_bsn_elfproef(void **state)
{
    assert_true(zr_bsn_is_valid("111222333"));
    assert_true(zr_bsn_is_valid("123456782"));
    assert_false(zr_bsn_is_valid("123456789"));
    assert_false(zr_bsn_is_valid("000000000"));
    assert_false(zr_bsn_is_valid("12345678"));
    assert_false(zr_bsn_is_valid("12345678a"));
    assert_false(zr_bsn_is_valid(NULL));
}

static void test_saml_id(void **state)
{
    char *a = zr_random_saml_id(), *b = zr_random_saml_id();
    assert_int_equal(strlen(a), 41);
    assert_int_equal(a[0], '_');
    assert_string_not_equal(a, b);
    free(a);
    free(b);
}

static void test_subject_json(void **state)
{
    zr_subject_t s = {0}, back;
    s.acting.id_type = strdup(ZR_ID_LEGACY_BSN);
    s.acting.value = strdup("111222333");
    s.has_legal = 1;
    s.legal.id_type = strdup(ZR_ID_LEGACY_BSN);
    s.legal.value = strdup("123456782");
    s.loa = ZR_LOA_SUBSTANTIAL;
    char *json = zr_subject_to_json(&s);
    assert_int_equal(zr_subject_from_json(json, &back), 0);
    assert_string_equal(back.legal.value, "123456782");
    assert_int_equal(back.loa, ZR_LOA_SUBSTANTIAL);
    free(json);
    zr_subject_clear(&s);
    zr_subject_clear(&back);
    assert_null(s.acting.value);
}

/* The capped libcurl sink: exactly max bytes pass, one more stops the
 * transfer (a short count) and says so; chunks accumulate. */
static void test_capped_buf(void **state)
{
    zr_capped_buf_t c = {.max = 8};
    zr_buf_init(&c.buf);
    assert_int_equal(zr_capped_buf_write("abcde", 1, 5, &c), 5);
    assert_int_equal(zr_capped_buf_write("fgh", 1, 3, &c), 3);
    assert_int_equal(c.buf.len, 8);
    assert_int_equal(c.too_large, 0);
    assert_int_equal(zr_capped_buf_write("i", 1, 1, &c), 0);
    assert_int_equal(c.too_large, 1);
    assert_int_equal(c.buf.len, 8);
    assert_memory_equal(c.buf.data, "abcdefgh", 8);
    zr_buf_free(&c.buf);
    zr_capped_buf_t huge = {.max = 4};
    zr_buf_init(&huge.buf);
    assert_int_equal(zr_capped_buf_write("x", 1, (size_t)-1, &huge), 0); /* no overflow in the check */
    assert_int_equal(huge.too_large, 1);
    zr_buf_free(&huge.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base64_roundtrip), cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_time_parse),       cmocka_unit_test(test_seal_open),
        cmocka_unit_test(test_bsn_elfproef),     cmocka_unit_test(test_saml_id),
        cmocka_unit_test(test_subject_json),     cmocka_unit_test(test_capped_buf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
