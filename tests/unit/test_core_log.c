/* The log pseudonyms (zr_log_mask, src/core/log.c, issue 12 §1): keyed,
 * so a BSN in a log line cannot be found back by hashing all ~10^8
 * candidates; without a key a placeholder, never a plain hash. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "zr/log.h"
#include "zr/util.h"

#include "log_capture.h"

static const char *const bsns[] = {"999990019", "999990020", "999990044", "999990056", "900212640", NULL};

/* The first 8 characters of MD5, SHA-1 and SHA-256 of value, in hex and in
 * base64url: what an attacker would look for. */
static size_t plain_hash_prefixes(const char *value, char needles[6][9])
{
    const EVP_MD *mds[] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
    size_t n = 0;
    for (size_t i = 0; i < 3; i++) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char *hex, *b64;
        assert_int_equal(EVP_Digest(value, strlen(value), md, &len, mds[i], NULL), 1);
        hex = zr_hex_encode(md, len);
        b64 = zr_base64url_encode(md, len);
        assert_non_null(hex);
        assert_non_null(b64);
        snprintf(needles[n++], 9, "%.8s", hex);
        snprintf(needles[n++], 9, "%.8s", b64);
        free(hex);
        free(b64);
    }
    return n;
}

static void test_no_key_placeholder(void **state)
{
    char out[16];
    (void)state;
    zr_log_pseudonym_key_clear();
    assert_string_equal(zr_log_mask("999990019", out), "k:?");
    assert_string_equal(zr_log_mask("", out), "-");
    assert_string_equal(zr_log_mask(NULL, out), "-");
}

static void test_keyed_not_a_plain_hash(void **state)
{
    uint8_t key[32];
    char out[16], needles[6][9];
    (void)state;
    memset(key, 0x5a, sizeof(key));
    assert_int_equal(zr_log_pseudonym_key_set(key, sizeof(key)), 0);
    for (size_t b = 0; bsns[b]; b++) {
        size_t n = plain_hash_prefixes(bsns[b], needles);
        zr_log_mask(bsns[b], out);
        assert_null(strstr(out, bsns[b]));
        for (size_t i = 0; i < n; i++) {
            if (strstr(out, needles[i]))
                fail_msg("pseudonym %s of test BSN %zu holds the plain hash prefix %s", out, b, needles[i]);
        }
        assert_int_equal(strlen(out), 2 + 12);
        assert_memory_equal(out, "k:", 2);
    }
    zr_log_pseudonym_key_clear();
}

static void test_stable_per_key(void **state)
{
    uint8_t k1[32], k2[32];
    char a[16], b[16], c[16], d[16];
    (void)state;
    memset(k1, 1, sizeof(k1));
    memset(k2, 2, sizeof(k2));
    assert_int_equal(zr_log_pseudonym_key_set(k1, sizeof(k1)), 0);
    zr_log_mask("999990019", a);
    zr_log_mask("999990019", b);
    zr_log_mask("999990044", c);
    assert_string_equal(a, b);  /* one person, one pseudonym: lines can be followed */
    assert_string_not_equal(a, c);
    assert_int_equal(zr_log_pseudonym_key_set(k2, sizeof(k2)), 0);
    zr_log_mask("999990019", d);
    assert_string_not_equal(a, d); /* another key, another pseudonym */
    zr_log_pseudonym_key_clear();
}

static void test_key_rules(void **state)
{
    uint8_t key[65] = {0};
    char a[16], b[16];
    (void)state;
    assert_int_equal(zr_log_pseudonym_key_set(NULL, 32), -1);
    assert_int_equal(zr_log_pseudonym_key_set(key, 15), -1);
    assert_int_equal(zr_log_pseudonym_key_set(key, 65), -1);
    /* Two random keys (tools without a configured one) differ. */
    assert_int_equal(zr_log_pseudonym_key_random(), 0);
    zr_log_mask("999990019", a);
    assert_int_equal(zr_log_pseudonym_key_random(), 0);
    zr_log_mask("999990019", b);
    assert_string_not_equal(a, b);
    zr_log_pseudonym_key_clear();
    assert_string_equal(zr_log_mask("999990019", a), "k:?");
}

/* A value from outside (an entityID in TVS metadata, a header) may carry
 * control characters: none reaches the operator's terminal or SIEM, and one
 * event stays one line. */
static void test_line_has_no_control_characters(void **state)
{
    char path[64], *log;
    int saved;
    (void)state;
    saved = capture_begin(path);
    zr_log_warn("test", "entity=%s end", "a\nforged 1\r2\x1b[31m3\t4\x7f" "5");
    log = capture_end(path, saved);
    assert_non_null(strstr(log, "entity=a forged 1 2 [31m3 4 5 end\n"));
    /* one line: its only newline is the last character */
    assert_string_equal(strchr(log, '\n'), "\n");
    for (const char *p = log; *p && *p != '\n'; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_key_placeholder),
        cmocka_unit_test(test_keyed_not_a_plain_hash),
        cmocka_unit_test(test_stable_per_key),
        cmocka_unit_test(test_key_rules),
        cmocka_unit_test(test_line_has_no_control_characters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
