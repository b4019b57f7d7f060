/* The audit stream (issue 16 §3, src/audit/audit.c): one JSON line per
 * event with who (a keyed pseudonym, never a BSN nor its plain hash), for
 * whom, where and when; a file of its own, 0600, reopened for rotation;
 * no key, no record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "zr/audit.h"
#include "zr/util.h"

#include "log_capture.h"

static const struct timespec when = {1796569816, 7000000}; /* 2026-12-06T15:10:16.007Z */
static uint8_t key[32];

static int setup(void **state)
{
    char err[256];
    (void)state;
    memset(key, 0x42, sizeof(key));
    assert_int_equal(zr_audit_open(NULL, key, 1, err, sizeof(err)), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zr_audit_close();
    return 0;
}

/* "hmac-sha256:" + base64url(HMAC-SHA256(key, value)), computed apart. */
static char *expected_pseudonym(const char *value)
{
    uint8_t mac[32];
    unsigned int len = sizeof(mac);
    char *b64, *out;
    assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), (const uint8_t *)value, strlen(value), mac, &len));
    b64 = zr_base64url_encode(mac, len);
    out = malloc(strlen(b64) + 13);
    sprintf(out, "hmac-sha256:%s", b64);
    free(b64);
    return out;
}

/* Neither the value nor any plain digest of it (hex, base64url) in text. */
static void assert_not_shown(const char *text, const char *value)
{
    const EVP_MD *mds[] = {EVP_md5(), EVP_sha1(), EVP_sha256()};
    if (strstr(text, value))
        fail_msg("%s in clear in %s", value, text);
    for (size_t i = 0; i < 3; i++) {
        uint8_t md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        char *hex, *b64;
        assert_int_equal(EVP_Digest(value, strlen(value), md, &len, mds[i], NULL), 1);
        hex = zr_hex_encode(md, len);
        b64 = zr_base64url_encode(md, len);
        if (strstr(text, hex) || strstr(text, b64))
            fail_msg("a plain digest of %s in %s", value, text);
        free(hex);
        free(b64);
    }
}

static json_t *render(const zr_audit_record_t *r, char **line)
{
    zr_buf_t b;
    json_error_t e;
    json_t *j;
    zr_buf_init(&b);
    assert_int_equal(zr_audit_render(&b, r, &when), 0);
    assert_ptr_equal(strchr(b.data, '\n'), b.data + b.len - 1);
    j = json_loads(b.data, JSON_REJECT_DUPLICATES, &e);
    if (!j)
        fail_msg("not JSON (%s): %s", e.text, b.data);
    *line = zr_buf_steal(&b);
    return j;
}

static const char *str(json_t *j, const char *k)
{
    json_t *v = json_object_get(j, k);
    if (!json_is_string(v))
        fail_msg("%s missing or not a string", k);
    return json_string_value(v);
}

static void test_patient_with_representation(void **state)
{
    zr_subject_t s = {0};
    char *line, *acting, *legal;
    json_t *j;
    (void)state;
    s.kind = ZR_SUBJECT_PATIENT;
    s.acting.value = "999990019";
    s.has_legal = 1;
    s.legal.value = "999990044";
    s.representation_type = "urn:nl-eid-gdi:1.1:RT:0001";
    s.loa = ZR_LOA_SUBSTANTIAL;
    j = render(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s, .client = "portal-a",
                                    .sub = "pairwise-sub-1", .care_provider = "zorg-a", .trace = "4bf92f3577b34da6a3ce929d0e0e4736",
                                    .login = "k:0a1b2c3d4e5f"},
               &line);
    acting = expected_pseudonym("999990019");
    legal = expected_pseudonym("999990044");
    assert_string_equal(str(j, "ts"), "2026-12-06T15:10:16.007Z");
    assert_string_equal(str(j, "event"), "login");
    assert_string_equal(str(j, "outcome"), "ok");
    assert_string_equal(str(j, "kind"), "patient");
    assert_string_equal(str(j, "person"), acting);
    assert_true(json_is_true(json_object_get(j, "representation")));
    assert_string_equal(str(j, "represented"), legal);
    assert_string_equal(str(j, "representation_type"), "urn:nl-eid-gdi:1.1:RT:0001");
    assert_string_equal(str(j, "loa"), "substantial");
    assert_string_equal(str(j, "client"), "portal-a");
    assert_string_equal(str(j, "sub"), "pairwise-sub-1");
    assert_string_equal(str(j, "care_provider"), "zorg-a");
    assert_string_equal(str(j, "trace"), "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_string_equal(str(j, "login"), "k:0a1b2c3d4e5f");
    assert_non_null(json_object_get(j, "host"));
    assert_not_shown(line, "999990019");
    assert_not_shown(line, "999990044");
    free(acting);
    free(legal);
    free(line);
    json_decref(j);
}

static void test_professional(void **state)
{
    zr_subject_t s = {0};
    char *line, *person;
    json_t *j;
    (void)state;
    s.kind = ZR_SUBJECT_PROFESSIONAL;
    s.pro.dezi_nummer = "900012345";
    s.pro.ura = "87654321";
    s.pro.rol_code = "01.015";
    s.loa = ZR_LOA_HIGH;
    j = render(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "denied", .subject = &s,
                                    .client = "portal-b", .trace = "00000000000000000000000000000001",
                                    .ref = "R1"},
               &line);
    person = expected_pseudonym("900012345");
    assert_string_equal(str(j, "event"), "login_refused");
    assert_string_equal(str(j, "outcome"), "denied");
    assert_string_equal(str(j, "kind"), "professional");
    assert_string_equal(str(j, "person"), person);
    assert_string_equal(str(j, "role_code"), "01.015");
    assert_memory_equal(str(j, "organisation"), "hmac-sha256:", 12);
    assert_true(json_is_false(json_object_get(j, "representation")));
    assert_null(json_object_get(j, "represented"));
    assert_null(json_object_get(j, "care_provider"));
    assert_string_equal(str(j, "ref"), "R1");
    assert_string_equal(str(j, "loa"), "high");
    assert_not_shown(line, "900012345");
    assert_not_shown(line, "87654321");
    free(person);
    free(line);
    json_decref(j);
}

/* A refusal before anyone is known, and a logout with the pseudonym kept
 * since the login. */
static void test_without_subject(void **state)
{
    char *line;
    json_t *j;
    (void)state;
    j = render(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN_REFUSED, .outcome = "cancelled", .kind = "patient",
                                    .client = "portal-a", .care_provider = "zorg-a", .ref = "R2"},
               &line);
    assert_string_equal(str(j, "outcome"), "cancelled");
    assert_null(json_object_get(j, "person"));
    json_decref(j);
    free(line);
    j = render(&(zr_audit_record_t){.event = ZR_AUDIT_LOGOUT, .kind = "patient", .person = "hmac-sha256:abc",
                                    .client = "portal-a"},
               &line);
    assert_string_equal(str(j, "event"), "logout");
    assert_string_equal(str(j, "person"), "hmac-sha256:abc");
    json_decref(j);
    free(line);
}

/* Fail closed: without the key, no record (never a plain hash). */
static void test_no_key_no_record(void **state)
{
    zr_subject_t s = {0};
    char out[ZR_AUDIT_PSEUDONYM_MAX];
    zr_buf_t b;
    (void)state;
    s.acting.value = "999990019";
    zr_audit_close();
    assert_int_equal(zr_audit_pseudonym("999990019", out), -1);
    zr_buf_init(&b);
    assert_int_equal(zr_audit_render(&b, &(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s}, &when), -1);
    assert_true(b.len == 0 || !strstr(b.data, "999990019"));
    zr_buf_free(&b);
}

/* The last guard: a record showing an identifier of its subject as a value
 * of its own is not written; the same digits inside a longer token (a
 * pseudonym, a trace id, a sub can hold them by chance) do not refuse it. */
static void test_guard(void **state)
{
    zr_subject_t s = {0};
    zr_buf_t b;
    (void)state;
    s.kind = ZR_SUBJECT_PROFESSIONAL;
    s.pro.dezi_nummer = "900012345";
    s.pro.ura = "87654321";
    zr_buf_init(&b);
    assert_int_equal(zr_audit_render(&b, &(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s,
                                                              .client = "87654321"}, &when), -1);
    assert_int_equal(zr_audit_render(&b, &(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s,
                                                              .care_provider = "x 900012345 y"}, &when), -1);
    assert_int_equal(b.len, 0);
    assert_int_equal(zr_audit_render(&b, &(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s,
                                                              .sub = "Ab87654321_x", .trace = "0900012345f"}, &when), 0);
    zr_buf_free(&b);
}

/* The file: created 0600, one line per record, and after a rename a
 * reopen (a reload) writes to the new file. */
static void test_file_and_rotation(void **state)
{
    char dir[] = "/tmp/zr-audit-XXXXXX", path[128], rotated[160], err[256], *text = NULL;
    zr_subject_t s = {0};
    struct stat st;
    size_t len = 0;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(rotated, sizeof(rotated), "%s.1", path);
    s.acting.value = "999990019";
    assert_int_equal(zr_audit_open(path, key, 1, err, sizeof(err)), 0);
    assert_int_equal(zr_audit_enabled(), 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s, .client = "a"}), 0);
    assert_int_equal(zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_TOKEN, .subject = &s, .client = "a"}), 0);
    assert_int_equal(rename(path, rotated), 0);
    assert_int_equal(zr_audit_open(path, key, 1, err, sizeof(err)), 0);
    zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGOUT, .kind = "patient", .client = "a"});
    assert_int_equal(zr_file_read(rotated, 1 << 16, &text, &len), 0);
    assert_non_null(strstr(text, "\"event\":\"login\""));
    assert_non_null(strstr(text, "\"event\":\"token_issued\""));
    assert_null(strstr(text, "\"event\":\"logout\""));
    assert_null(strstr(text, "999990019"));
    assert_ptr_equal(strchr(strchr(text, '\n') + 1, '\n'), text + len - 1); /* two lines */
    free(text);
    assert_int_equal(zr_file_read(path, 1 << 16, &text, &len), 0);
    assert_non_null(strstr(text, "\"event\":\"logout\""));
    assert_ptr_equal(strchr(text, '\n'), text + len - 1);
    free(text);
    /* A file that cannot be opened: a clear error naming the key. */
    assert_int_equal(zr_audit_open("/nonexistent-dir/audit.log", key, 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "audit_log.file: cannot open /nonexistent-dir/audit.log"));
    unlink(path);
    unlink(rotated);
    rmdir(dir);
}

/* A record that cannot be written (a full disk: /dev/full): -1 when the
 * stream refuses then (audit_log.on_failure: refuse), so the caller stops
 * the login; 0 when it continues; an operator log error either way. */
static void test_write_failure(void **state)
{
    zr_subject_t s = {0};
    char err[256], path[64], *log;
    int saved;
    (void)state;
    s.acting.value = "999990019";
    for (int refuse = 0; refuse < 2; refuse++) {
        assert_int_equal(zr_audit_open("/dev/full", key, refuse, err, sizeof(err)), 0);
        saved = capture_begin(path);
        int rc = zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s, .client = "a",
                                                     .trace = "0af7651916cd43dd8448eb211c80319c"});
        log = capture_end(path, saved);
        assert_int_equal(rc, refuse ? -1 : 0);
        assert_non_null(strstr(log, "audit.write_failed event=login trace=0af7651916cd43dd8448eb211c80319c"));
        assert_null(strstr(log, "999990019"));
        free(log);
    }
    /* no stream: nothing to refuse */
    assert_int_equal(zr_audit_open(NULL, key, 1, err, sizeof(err)), 0);
    assert_int_equal(zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_LOGIN, .subject = &s}), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_patient_with_representation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_professional, setup, teardown),
        cmocka_unit_test_setup_teardown(test_without_subject, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_key_no_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_and_rotation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_failure, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
