/* log_format: json (issue 16 §3, src/core/log.c): every line one JSON
 * object with stable keys, the key=value pairs of the message as members
 * whose keys come from the code's format (never from a value), valid JSON
 * whatever a value holds; and the "<N>" priority journald reads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/log.h"
#include "zr/util.h"

#include "log_capture.h"

static const struct timespec when = {1796569816, 123456789}; /* 2026-12-06T15:10:16.123Z */

static int setup(void **state)
{
    (void)state;
    zr_log_set_component("relay");
    zr_log_set_journal(0);
    zr_log_set_format(ZR_LOG_FORMAT_JSON);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zr_log_set_journal(0);
    zr_log_set_format(ZR_LOG_FORMAT_TEXT);
    return 0;
}

/* The rendered line: exactly one, ending in its only newline. */
static char *render(zr_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static char *render(zr_log_level_t level, const char *event, const char *fmt, ...)
{
    zr_buf_t b;
    va_list ap;
    zr_buf_init(&b);
    va_start(ap, fmt);
    assert_int_equal(zr_log_vrender(&b, level, &when, event, fmt, ap), 0);
    va_end(ap);
    assert_non_null(b.data);
    assert_ptr_equal(strchr(b.data, '\n'), b.data + b.len - 1);
    return zr_buf_steal(&b);
}

/* line parsed strictly (one object, no duplicate keys); fails the test
 * with the line otherwise. */
static json_t *parse(const char *line)
{
    json_error_t e;
    json_t *j = json_loads(line, JSON_REJECT_DUPLICATES, &e);
    if (!j || !json_is_object(j))
        fail_msg("not one JSON object (%s): %s", e.text, line);
    return j;
}

static const char *member(json_t *j, const char *key)
{
    json_t *v = json_object_get(j, key);
    if (!json_is_string(v))
        fail_msg("member %s missing or not a string in %s", key, json_dumps(j, 0));
    return json_string_value(v);
}

static void test_text_unchanged(void **state)
{
    char *line;
    (void)state;
    zr_log_set_format(ZR_LOG_FORMAT_TEXT);
    line = render(ZR_LOG_WARN, "acs", "login=%s client=%s result=%s: %s ref=%s", "k:0a1b2c3d4e5f", "portal-a",
                  "cancelled", "the user cancelled", "R1");
    assert_string_equal(line, "2026-12-06T15:10:16.123Z warn relay acs login=k:0a1b2c3d4e5f client=portal-a "
                              "result=cancelled: the user cancelled ref=R1\n");
    free(line);
}

/* The lines of a login: every key the brief names as a member. */
static void test_fields(void **state)
{
    char *line;
    json_t *j;
    (void)state;
    line = render(ZR_LOG_INFO, "acs",
                  "login=%s client=%s tenant=%s trace=%s loa=%s representation=%s subject=%s result=ok",
                  "k:0a1b2c3d4e5f", "portal-a", "zorg-a", "4bf92f3577b34da6a3ce929d0e0e4736", "substantial", "yes",
                  "k:ffeeddccbbaa");
    j = parse(line);
    assert_string_equal(member(j, "ts"), "2026-12-06T15:10:16.123Z");
    assert_string_equal(member(j, "level"), "info");
    assert_string_equal(member(j, "component"), "relay");
    assert_string_equal(member(j, "event"), "acs");
    assert_string_equal(member(j, "message"),
                        "login=k:0a1b2c3d4e5f client=portal-a tenant=zorg-a trace=4bf92f3577b34da6a3ce929d0e0e4736 "
                        "loa=substantial representation=yes subject=k:ffeeddccbbaa result=ok");
    assert_string_equal(member(j, "login"), "k:0a1b2c3d4e5f");
    assert_string_equal(member(j, "client"), "portal-a");
    assert_string_equal(member(j, "tenant"), "zorg-a");
    assert_string_equal(member(j, "trace"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(member(j, "loa"), "substantial");
    assert_string_equal(member(j, "representation"), "yes");
    assert_string_equal(member(j, "subject"), "k:ffeeddccbbaa");
    assert_string_equal(member(j, "result"), "ok");
    assert_int_equal(json_object_size(j), 5 + 8);
    json_decref(j);
    free(line);

    /* A value ends before ": " (free text follows); a quoted value runs to
     * its closing quote; text before a key is not a field. */
    line = render(ZR_LOG_WARN, "acs", "login=%s client=%s trace=%s result=%s: %s ref=%s", "k:1", "p", "t",
                  "authn_failed", "status Responder (x=1)", "R2");
    j = parse(line);
    assert_string_equal(member(j, "result"), "authn_failed");
    assert_string_equal(member(j, "ref"), "R2");
    assert_null(json_object_get(j, "x")); /* inside a value, from outside */
    json_decref(j);
    free(line);
    line = render(ZR_LOG_ERROR, "authz.evaluate", "pdp=%s result=error reason=\"%s\" ref=%s", "https://pdp",
                  "timed out after 2 s", "R3");
    j = parse(line);
    assert_string_equal(member(j, "reason"), "timed out after 2 s");
    assert_string_equal(member(j, "result"), "error");
    assert_string_equal(member(j, "pdp"), "https://pdp");
    json_decref(j);
    free(line);
    line = render(ZR_LOG_INFO, "acs", "client %s or its redirect URI no longer configured ref=%s", "portal", "R4");
    j = parse(line);
    assert_string_equal(member(j, "ref"), "R4");
    assert_int_equal(json_object_size(j), 6);
    json_decref(j);
    free(line);
}

/* A value from outside cannot make or overwrite a field: fields come from
 * the format. */
static void test_value_cannot_forge_fields(void **state)
{
    char *line;
    json_t *j;
    (void)state;
    line = render(ZR_LOG_WARN, "token", "client=%s refused ref=%s", "evil ref=FORGED trace=abc level=debug", "R5");
    j = parse(line);
    assert_string_equal(member(j, "client"), "evil ref=FORGED trace=abc level=debug");
    assert_string_equal(member(j, "ref"), "R5");
    assert_string_equal(member(j, "level"), "warn");
    assert_null(json_object_get(j, "trace"));
    json_decref(j);
    free(line);
    /* a key given as an argument is not a field either */
    line = render(ZR_LOG_WARN, "acs", "%s=%s came back ref=%s", "login", "k:1", "R6");
    j = parse(line);
    assert_null(json_object_get(j, "login"));
    assert_string_equal(member(j, "ref"), "R6");
    json_decref(j);
    free(line);
}

/* Names of the line itself are not shadowed; a key twice keeps the first. */
static void test_reserved_and_repeated_keys(void **state)
{
    char *line;
    json_t *j;
    (void)state;
    line = render(ZR_LOG_INFO, "http", "method=%s path=%s status=%d component=%s ref=%s level=%s message=%s",
                  "GET", "/authorize", 302, "oidc", "R7", "x", "y");
    j = parse(line);
    assert_string_equal(member(j, "component"), "relay");
    assert_string_equal(member(j, "field_component"), "oidc");
    assert_string_equal(member(j, "level"), "info");
    assert_string_equal(member(j, "field_level"), "x");
    assert_string_equal(member(j, "field_message"), "y");
    assert_string_equal(member(j, "status"), "302");
    json_decref(j);
    free(line);
    line = render(ZR_LOG_INFO, "x", "ref=%s then ref=%s", "first", "second");
    j = parse(line); /* JSON_REJECT_DUPLICATES */
    assert_string_equal(member(j, "ref"), "first");
    json_decref(j);
    free(line);
}

/* Valid JSON whatever a value holds: quotes, backslashes, control
 * characters (still blanked: one event one line), bytes that are not
 * UTF-8; UTF-8 kept as it is. */
static void test_escaping(void **state)
{
    char *line;
    json_t *j;
    (void)state;
    line = render(ZR_LOG_WARN, "metadata", "entity=%s reason=\"%s\" end",
                  "a\"b\\c\nforged 1\r2\x1b[31m3\t4\x7f" "5",
                  "bad \xff\xfe overlong \xc0\xaf surrogate \xed\xa0\x80 cut \xe2\x82 caf\xc3\xa9 \xf0\x9f\x98\x80");
    for (const char *p = line; *p != '\n'; p++)
        assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
    j = parse(line);
    assert_string_equal(member(j, "entity"), "a\"b\\c forged 1 2 [31m3 4 5");
    assert_string_equal(member(j, "reason"), "bad \xef\xbf\xbd\xef\xbf\xbd overlong \xef\xbf\xbd\xef\xbf\xbd "
                                             "surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd cut \xef\xbf\xbd"
                                             "\xef\xbf\xbd caf\xc3\xa9 \xf0\x9f\x98\x80");
    json_decref(j);
    free(line);
}

/* The walk renders every conversion the code uses as printf does. */
static void test_conversions_as_printf(void **state)
{
    char *line, expect[256];
    json_t *j;
    (void)state;
    line = render(ZR_LOG_INFO, "x", "a=%d b=%zu c=%ld d=%lld e=%lu f=%u g=%03o h=%.*s i=%% j=%5s k=%-3d| l=%x",
                  -7, (size_t)42, -123456789L, 9000000000LL, 77UL, 8u, 0600u, 3, "abcdef", "r", -1, 255);
    snprintf(expect, sizeof(expect), "a=%d b=%zu c=%ld d=%lld e=%lu f=%u g=%03o h=%.*s i=%% j=%5s k=%-3d| l=%x",
             -7, (size_t)42, -123456789L, 9000000000LL, 77UL, 8u, 0600u, 3, "abcdef", "r", -1, 255);
    j = parse(line);
    assert_string_equal(member(j, "message"), expect);
    assert_string_equal(member(j, "a"), "-7");
    assert_string_equal(member(j, "d"), "9000000000");
    assert_string_equal(member(j, "g"), "600");
    assert_string_equal(member(j, "h"), "abc");
    assert_string_equal(member(j, "j"), "    r");
    assert_string_equal(member(j, "k"), "-1 |");
    assert_string_equal(member(j, "l"), "ff");
    json_decref(j);
    free(line);
}

/* A message longer than the log keeps is cut, and still parses. */
static void test_long_message(void **state)
{
    char *big = malloc(5000), *line;
    json_t *j;
    (void)state;
    memset(big, '"', 4999);
    big[4999] = '\0';
    line = render(ZR_LOG_INFO, "x", "a=%s ref=%s", big, "R8");
    j = parse(line);
    assert_int_equal(strlen(member(j, "message")), 2047);
    assert_null(json_object_get(j, "a"));   /* its value cut short: left out */
    assert_null(json_object_get(j, "ref")); /* cut off with the rest */
    json_decref(j);
    free(line);
    /* A value that ends just inside, and one cut inside its last characters
     * (found by fuzz_log_json: "ref":"R" for R8). */
    big[2039] = '\0';
    line = render(ZR_LOG_INFO, "x", "a=%s ref=%s", big, "R8");
    j = parse(line);
    assert_int_equal(strlen(member(j, "message")), 2047);
    assert_int_equal(strlen(member(j, "a")), 2039);
    assert_null(json_object_get(j, "ref"));
    json_decref(j);
    free(line);
    big[2038] = '\0';
    line = render(ZR_LOG_INFO, "x", "a=%s ref=%s", big, "R8");
    j = parse(line);
    assert_string_equal(member(j, "ref"), "R8"); /* just fits: whole */
    json_decref(j);
    free(line);
    free(big);
}

/* Every level, in both formats, with and without journald's priority. */
static void test_levels_and_journal_prefix(void **state)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    static const char *const prefixes[] = {"<7>", "<6>", "<4>", "<3>"};
    (void)state;
    for (int journal = 0; journal < 2; journal++) {
        zr_log_set_journal(journal);
        for (int format = 0; format < 2; format++) {
            zr_log_set_format((zr_log_format_t)format);
            for (int l = ZR_LOG_DEBUG; l <= ZR_LOG_ERROR; l++) {
                char *line = render((zr_log_level_t)l, "ev", "ref=%s", "R9"), *body = line;
                if (journal) {
                    assert_memory_equal(line, prefixes[l], 3);
                    body += 3;
                } else {
                    assert_true(line[0] != '<');
                }
                if (format == ZR_LOG_FORMAT_JSON) {
                    json_t *j = parse(body);
                    assert_string_equal(member(j, "level"), names[l]);
                    assert_string_equal(member(j, "ref"), "R9");
                    json_decref(j);
                } else {
                    char expect[128];
                    snprintf(expect, sizeof(expect), "2026-12-06T15:10:16.123Z %s relay ev ref=R9\n", names[l]);
                    assert_string_equal(body, expect);
                }
                free(line);
            }
        }
    }
    zr_log_set_journal(0);
    zr_log_set_format(ZR_LOG_FORMAT_JSON);
}

/* JOURNAL_STREAM names the stream systemd connected: only that one. */
static void test_journal_stream_match(void **state)
{
    char path[] = "/tmp/zr-journal-XXXXXX", value[64];
    struct stat st;
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    assert_int_equal(zr_log_journal_matches(value, fd), 1);
    snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino + 1);
    assert_int_equal(zr_log_journal_matches(value, fd), 0);
    snprintf(value, sizeof(value), "%llu:%llux", (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
    assert_int_equal(zr_log_journal_matches(value, fd), 0);
    assert_int_equal(zr_log_journal_matches("", fd), 0);
    assert_int_equal(zr_log_journal_matches("garbage", fd), 0);
    assert_int_equal(zr_log_journal_matches(NULL, fd), 0);
    close(fd);
    unlink(path);
}

static void test_format_names(void **state)
{
    zr_log_format_t f;
    (void)state;
    assert_int_equal(zr_log_format_parse("text", &f), 0);
    assert_int_equal(f, ZR_LOG_FORMAT_TEXT);
    assert_int_equal(zr_log_format_parse("json", &f), 0);
    assert_int_equal(f, ZR_LOG_FORMAT_JSON);
    assert_int_equal(zr_log_format_parse("JSON", &f), -1);
    assert_int_equal(zr_log_format_parse("", &f), -1);
    assert_int_equal(zr_log_format_parse(NULL, &f), -1);
}

/* zr_log itself writes the JSON line to stderr. */
static void test_zr_log_writes_json(void **state)
{
    char path[64], *log;
    int saved;
    json_t *j;
    (void)state;
    saved = capture_begin(path);
    zr_log_error("store", "redis=%s unavailable (%s); store calls fail until it answers", "127.0.0.1:6379",
                 "Connection refused");
    log = capture_end(path, saved);
    j = parse(log);
    assert_string_equal(member(j, "level"), "error");
    assert_string_equal(member(j, "event"), "store");
    assert_string_equal(member(j, "redis"), "127.0.0.1:6379");
    json_decref(j);
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_text_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_cannot_forge_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reserved_and_repeated_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
        cmocka_unit_test_setup_teardown(test_conversions_as_printf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_levels_and_journal_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_journal_stream_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zr_log_writes_json, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
