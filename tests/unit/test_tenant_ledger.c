/* The care providers' ledger (src/tenant/ledger.c): the record of a
 * provider, the fold of the lines, the diff that appends only what changed
 * (added, changed, left, returned), torn and foreign lines skipped with a
 * warning, and the file: idempotent updates, an append after a torn line,
 * and a second writer that waits for the first (flock) instead of writing
 * the same events again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zr/crypto.h"
#include "zr/tenant_ledger.h"

static char tmp[] = "/tmp/zr-tenant-ledger-XXXXXX";

typedef struct {
    char lines[8][512];
    size_t count;
} warnings_t;

static void collect_warning(void *ctx, const char *msg)
{
    warnings_t *w = ctx;
    if (w->count < 8)
        snprintf(w->lines[w->count++], sizeof(w->lines[0]), "%s", msg);
}

static int group_setup(void **state)
{
    char cmd[1024];
    (void)state;
    if (!mkdtemp(tmp))
        return -1;
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout '%s/bsn.key' -out '%s/bsn.pem' "
             "-subj '/serialNumber=00000009999999999001/CN=ledger TEST' >/dev/null 2>&1",
             tmp, tmp);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[256];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* A provider as the loader would give it (strings borrowed). */
static zr_tenant_service_t services[2] = {
    {ZR_LOA_SUBSTANTIAL, "11111111-1111-4111-8111-111111111111", 0, "a"},
    {ZR_LOA_HIGH, "22222222-2222-4222-8222-222222222222", 1, "a"},
};

static zr_tenant_t provider(const char *id, const char *name)
{
    zr_tenant_t t;
    memset(&t, 0, sizeof(t));
    t.id = (char *)id;
    t.name = (char *)name;
    t.entity_id = "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000";
    t.oin = "00000009999999999001";
    t.services = services;
    t.service_count = 1;
    return t;
}

static json_t *record_of(const char *id, const char *name)
{
    zr_tenant_t t = provider(id, name);
    json_t *r = zr_tenant_ledger_record(&t);
    assert_non_null(r);
    return r;
}

static size_t count_lines(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static void test_record_has_what_the_export_shows(void **state)
{
    char path[512], err[256], *sha;
    zr_tenant_t t = provider("oost", "Ziekenhuis Oost");
    json_t *r, *c;
    (void)state;
    snprintf(path, sizeof(path), "%s/bsn.pem", tmp);
    t.bsn_keys[0].cert = zr_crypto_load_certificate(path, err, sizeof(err));
    assert_non_null(t.bsn_keys[0].cert);
    sha = zr_crypto_cert_sha256_hex(t.bsn_keys[0].cert);
    t.bsn_keys[0].key_name_sha256 = sha;
    t.bsn_key_count = 1;
    t.service_count = 2;
    t.kvk = "12345678";
    t.akkoordverklaring = "2026-11-02";
    r = zr_tenant_ledger_record(&t);
    assert_non_null(r);
    assert_string_equal(json_string_value(json_object_get(r, "id")), "oost");
    assert_string_equal(json_string_value(json_object_get(r, "name")), "Ziekenhuis Oost");
    assert_string_equal(json_string_value(json_object_get(r, "oin")), "00000009999999999001");
    assert_int_equal(json_array_size(json_object_get(r, "services")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "services"), 1), "loa")),
                        "high");
    c = json_array_get(json_object_get(r, "certificates"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "sha256")), sha);
    assert_int_equal(strlen(json_string_value(json_object_get(c, "not_after"))), 20); /* 2026-12-06T12:00:00Z */
    assert_string_equal(json_string_value(json_object_get(r, "kvk")), "12345678");
    assert_string_equal(json_string_value(json_object_get(r, "akkoordverklaring")), "2026-11-02");
    /* Unset optional fields are absent, so equal providers compare equal. */
    assert_null(json_object_get(r, "ura"));
    assert_null(json_object_get(r, "contact"));
    /* A certificate that could not be read is left out, not guessed. */
    X509_free(t.bsn_keys[0].cert);
    t.bsn_keys[0].cert = NULL;
    json_decref(r);
    r = zr_tenant_ledger_record(&t);
    assert_int_equal(json_array_size(json_object_get(r, "certificates")), 0);
    json_decref(r);
    free(sha);
}

static void test_diff_adds_then_nothing(void **state)
{
    zr_tenant_ledger_t l = {0};
    zr_tenant_ledger_counts_t n;
    json_t *recs[2] = {record_of("a", "A"), record_of("b", "B")};
    char *lines = NULL, *again = NULL;
    (void)state;
    assert_int_equal(zr_tenant_ledger_fold("", 0, "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, recs, 2, "2026-01-01T10:00:00Z", "test", &lines, &n), 0);
    assert_int_equal(n.added, 2);
    assert_int_equal(count_lines(lines, "\n"), 2);
    assert_non_null(strstr(lines, "{\"at\":\"2026-01-01T10:00:00Z\",\"event\":\"added\",\"id\":\"a\",\"provider\":{"));
    zr_tenant_ledger_free(&l);
    /* Its own output folded back: nothing left to say. */
    assert_int_equal(zr_tenant_ledger_fold(lines, strlen(lines), "L", &l, NULL, NULL), 0);
    assert_int_equal(l.count, 2);
    assert_true(zr_tenant_ledger_find(&l, "b")->current);
    assert_string_equal(zr_tenant_ledger_find(&l, "b")->added_at, "2026-01-01T10:00:00Z");
    assert_int_equal(zr_tenant_ledger_diff(&l, recs, 2, "2026-01-02T10:00:00Z", NULL, &again, &n), 0);
    assert_null(again);
    assert_int_equal(n.added + n.changed + n.left + n.returned, 0);
    zr_tenant_ledger_free(&l);
    free(lines);
    json_decref(recs[0]);
    json_decref(recs[1]);
}

static void test_changed_left_returned(void **state)
{
    zr_tenant_ledger_t l = {0};
    zr_tenant_ledger_counts_t n;
    json_t *first[2] = {record_of("a", "A"), record_of("b", "B")};
    json_t *second[1] = {record_of("a", "A renamed")};
    json_t *third[2] = {record_of("a", "A renamed"), record_of("b", "B")};
    const zr_tenant_ledger_entry_t *a, *b;
    char *text = NULL;
    (void)state;
    assert_int_equal(zr_tenant_ledger_fold("", 0, "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, first, 2, "2026-01-01T00:00:00Z", NULL, &text, &n), 0);
    zr_tenant_ledger_free(&l);

    assert_int_equal(zr_tenant_ledger_fold(text, strlen(text), "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, second, 1, "2026-02-01T00:00:00Z", NULL, &text, &n), 0);
    assert_int_equal(n.changed, 1);
    assert_int_equal(n.left, 1);
    assert_int_equal(n.added + n.returned, 0);
    assert_non_null(strstr(text, "\"event\":\"left\",\"id\":\"b\",\"provider\":{\"id\":\"b\",\"name\":\"B\""));
    zr_tenant_ledger_free(&l);

    assert_int_equal(zr_tenant_ledger_fold(text, strlen(text), "L", &l, NULL, NULL), 0);
    b = zr_tenant_ledger_find(&l, "b");
    assert_false(b->current);
    assert_string_equal(b->left_at, "2026-02-01T00:00:00Z");
    /* What left is remembered as it was: the export shows it from here. */
    assert_string_equal(json_string_value(json_object_get(b->provider, "name")), "B");
    assert_int_equal(zr_tenant_ledger_diff(&l, third, 2, "2026-03-01T00:00:00Z", NULL, &text, &n), 0);
    assert_int_equal(n.returned, 1);
    assert_int_equal(n.added + n.changed + n.left, 0);
    zr_tenant_ledger_free(&l);

    assert_int_equal(zr_tenant_ledger_fold(text, strlen(text), "L", &l, NULL, NULL), 0);
    assert_int_equal(l.lines, 5);
    a = zr_tenant_ledger_find(&l, "a");
    b = zr_tenant_ledger_find(&l, "b");
    assert_true(a->current && b->current);
    assert_string_equal(a->added_at, "2026-01-01T00:00:00Z");
    assert_string_equal(a->changed_at, "2026-02-01T00:00:00Z");
    assert_string_equal(json_string_value(json_object_get(a->provider, "name")), "A renamed");
    assert_string_equal(b->added_at, "2026-03-01T00:00:00Z");
    assert_string_equal(b->left_at, "");
    zr_tenant_ledger_free(&l);
    free(text);
    json_decref(first[0]);
    json_decref(first[1]);
    json_decref(second[0]);
    json_decref(third[0]);
    json_decref(third[1]);
}

/* A quarantined provider (issue 14 §1) is neither changed nor left while it
 * is quarantined, and one quarantined from the start is not added. */
static void test_quarantined_makes_no_event(void **state)
{
    zr_tenant_ledger_t l = {0};
    zr_tenant_ledger_counts_t n;
    json_t *first[1] = {record_of("a", "A")};
    json_t *held[2] = {json_pack("{s:s, s:b}", "id", "a", "quarantined", 1),
                       json_pack("{s:s, s:b}", "id", "new", "quarantined", 1)};
    char *text = NULL, *more = NULL;
    (void)state;
    assert_int_equal(zr_tenant_ledger_fold("", 0, "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, first, 1, "2026-01-01T00:00:00Z", NULL, &text, &n), 0);
    zr_tenant_ledger_free(&l);
    assert_int_equal(zr_tenant_ledger_fold(text, strlen(text), "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, held, 2, "2026-02-01T00:00:00Z", NULL, &more, &n), 0);
    assert_null(more);
    assert_int_equal(n.added + n.changed + n.left + n.returned, 0);
    /* Its last good record stays what the export shows. */
    assert_true(zr_tenant_ledger_find(&l, "a")->current);
    assert_string_equal(json_string_value(json_object_get(zr_tenant_ledger_find(&l, "a")->provider, "name")), "A");
    assert_null(zr_tenant_ledger_find(&l, "new"));
    zr_tenant_ledger_free(&l);
    free(text);
    json_decref(first[0]);
    json_decref(held[0]);
    json_decref(held[1]);
}

static void test_torn_and_foreign_lines_are_skipped(void **state)
{
    zr_tenant_ledger_t l = {0};
    zr_tenant_ledger_counts_t n;
    warnings_t w = {0};
    json_t *recs[2] = {record_of("a", "A"), record_of("b", "B")};
    char *text = NULL, *broken = NULL;
    (void)state;
    assert_int_equal(zr_tenant_ledger_fold("", 0, "L", &l, NULL, NULL), 0);
    assert_int_equal(zr_tenant_ledger_diff(&l, recs, 2, "2026-01-01T00:00:00Z", NULL, &text, &n), 0);
    zr_tenant_ledger_free(&l);
    /* A line someone typed in the middle, and the second record cut short
     * (a crash during the write). */
    {
        const char *second = strchr(text, '\n') + 1;
        assert_true(asprintf(&broken, "%.*s# edited by hand\n%.*s", (int)(second - text), text,
                             (int)(strlen(second) / 2), second) > 0);
    }
    assert_int_equal(zr_tenant_ledger_fold(broken, strlen(broken), "LEDGER", &l, collect_warning, &w), 0);
    assert_int_equal(l.lines, 1);
    assert_int_equal(l.skipped, 2);
    assert_int_equal(w.count, 2);
    assert_string_equal(w.lines[0], "LEDGER:2: skipped a line that is not a ledger record");
    assert_string_equal(w.lines[1], "LEDGER:3: skipped an incomplete last line (a write cut short, e.g. by a crash)");
    assert_non_null(zr_tenant_ledger_find(&l, "a"));
    assert_null(zr_tenant_ledger_find(&l, "b"));
    zr_tenant_ledger_free(&l);
    /* A whole record without its newline is torn all the same. */
    text[strlen(text) - 1] = '\0';
    memset(&w, 0, sizeof(w));
    assert_int_equal(zr_tenant_ledger_fold(text, strlen(text), "L", &l, collect_warning, &w), 0);
    assert_int_equal(l.lines, 1);
    assert_int_equal(w.count, 1);
    zr_tenant_ledger_free(&l);
    free(text);
    free(broken);
    json_decref(recs[0]);
    json_decref(recs[1]);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf = calloc(1, 1 << 20);
    assert_non_null(f);
    assert_non_null(buf);
    assert_true(fread(buf, 1, (1 << 20) - 1, f) < (1 << 20) - 1);
    fclose(f);
    return buf;
}

static void test_update_file_is_idempotent(void **state)
{
    zr_tenant_t ts[2] = {provider("a", "A"), provider("b", "B")};
    zr_tenant_ledger_counts_t n;
    zr_tenant_ledger_t l = {0};
    char path[512], err[256], *text;
    int missing = 0;
    (void)state;
    snprintf(path, sizeof(path), "%s/idempotent.ledger", tmp);
    assert_int_equal(zr_tenant_ledger_read(path, &l, &missing, NULL, NULL, err, sizeof(err)), 0);
    assert_true(missing);
    zr_tenant_ledger_free(&l);
    assert_int_equal(zr_tenant_ledger_update(path, ts, 2, 1767261600, &n, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(n.added, 2);
    assert_int_equal(zr_tenant_ledger_update(path, ts, 2, 1767265200, &n, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(n.added + n.changed + n.left + n.returned, 0);
    /* b's file deleted: one left line, once. */
    assert_int_equal(zr_tenant_ledger_update(path, ts, 1, 1767268800, &n, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(n.left, 1);
    assert_int_equal(zr_tenant_ledger_update(path, ts, 1, 1767272400, &n, NULL, NULL, err, sizeof(err)), 0);
    assert_int_equal(n.left, 0);
    text = slurp(path);
    assert_int_equal(count_lines(text, "\n"), 3);
    assert_int_equal(count_lines(text, "\"event\":\"left\""), 1);
    assert_non_null(strstr(text, "{\"at\":\"2026-01-01T12:00:00Z\",\"event\":\"left\",\"id\":\"b\""));
    free(text);
    assert_int_equal(zr_tenant_ledger_read(path, &l, &missing, NULL, NULL, err, sizeof(err)), 0);
    assert_false(missing);
    assert_string_equal(zr_tenant_ledger_find(&l, "b")->left_at, "2026-01-01T12:00:00Z");
    zr_tenant_ledger_free(&l);
}

static void test_update_after_a_torn_line(void **state)
{
    zr_tenant_t ts[2] = {provider("a", "A"), provider("b", "B")};
    zr_tenant_ledger_counts_t n;
    zr_tenant_ledger_t l = {0};
    warnings_t w = {0};
    char path[512], err[256];
    int missing, fd;
    (void)state;
    snprintf(path, sizeof(path), "%s/torn.ledger", tmp);
    assert_int_equal(zr_tenant_ledger_update(path, ts, 1, 1767261600, &n, NULL, NULL, err, sizeof(err)), 0);
    fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    {
        const char *fragment = "{\"at\":\"2026-01-01T11:00:00Z\",\"ev";
        assert_int_equal(write(fd, fragment, strlen(fragment)), (ssize_t)strlen(fragment));
    }
    close(fd);
    /* b is added after the fragment: on a line of its own, readable. */
    assert_int_equal(zr_tenant_ledger_update(path, ts, 2, 1767265200, &n, collect_warning, &w, err, sizeof(err)), 0);
    assert_int_equal(n.added, 1);
    assert_int_equal(w.count, 1);
    memset(&w, 0, sizeof(w));
    assert_int_equal(zr_tenant_ledger_read(path, &l, &missing, collect_warning, &w, err, sizeof(err)), 0);
    assert_int_equal(l.lines, 2);
    assert_int_equal(l.skipped, 1);
    assert_true(zr_tenant_ledger_find(&l, "b")->current);
    assert_non_null(strstr(w.lines[0], "torn.ledger:2: skipped a line that is not a ledger record"));
    zr_tenant_ledger_free(&l);
}

static void test_update_unwritable_says_why(void **state)
{
    zr_tenant_t ts[1] = {provider("a", "A")};
    zr_tenant_ledger_counts_t n;
    char path[512], err[512] = "";
    (void)state;
    snprintf(path, sizeof(path), "%s/no-such-dir/x.ledger", tmp);
    assert_int_equal(zr_tenant_ledger_update(path, ts, 1, 1767261600, &n, NULL, NULL, err, sizeof(err)), -1);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "No such file or directory"));
}

#ifdef ZR_TESTING
/* The first writer stops inside its locked window (after the fold, before
 * the append) until the test lets it go. */
typedef struct {
    int tell, wait; /* pipe ends */
} window_t;

static void in_window(void *ctx)
{
    window_t *w = ctx;
    char c = 'x';
    if (write(w->tell, &c, 1) != 1)
        _exit(3);
    if (w->wait >= 0 && read(w->wait, &c, 1) != 1)
        _exit(4);
}

static pid_t writer(const char *path, size_t count, window_t *w)
{
    pid_t pid = fork();
    if (pid == 0) {
        zr_tenant_t ts[2] = {provider("a", "A"), provider("b", "B")};
        zr_tenant_ledger_counts_t n;
        char err[256];
        /* Only its own pipe ends: when the test fails and exits, the read
         * in the window sees EOF and the writer ends too. */
        for (int fd = 3; fd < 1024; fd++)
            if (fd != w->tell && fd != w->wait)
                close(fd);
        zr_tenant_ledger_set_test_hook(in_window, w);
        _exit(zr_tenant_ledger_update(path, ts, count, 1767261600, &n, NULL, NULL, err, sizeof(err)) == 0 ? 0 : 1);
    }
    return pid;
}

/* 1 when /proc/locks shows a process waiting for a lock on inode ino. */
static int lock_waiter(unsigned long ino)
{
    FILE *f = fopen("/proc/locks", "r");
    char line[256], want[64];
    int found = 0;
    if (!f)
        return -1;
    snprintf(want, sizeof(want), ":%lu ", ino);
    while (!found && fgets(line, sizeof(line), f))
        found = strstr(line, "->") && strstr(line, want);
    fclose(f);
    return found;
}

static void test_second_writer_waits_and_writes_nothing(void **state)
{
    int tell1[2], go1[2], tell2[2], status, waiting = 0, early = 0;
    window_t w1, w2;
    char path[512], c, *text;
    struct stat st;
    pid_t p1, p2;
    (void)state;
    snprintf(path, sizeof(path), "%s/shared.ledger", tmp);
    assert_int_equal(pipe(tell1), 0);
    assert_int_equal(pipe(go1), 0);
    assert_int_equal(pipe(tell2), 0);
    w1 = (window_t){tell1[1], go1[0]};
    w2 = (window_t){tell2[1], -1};
    p1 = writer(path, 2, &w1);
    assert_int_equal(read(tell1[0], &c, 1), 1); /* the first holds the lock, nothing written yet */
    assert_int_equal(stat(path, &st), 0);
    if (lock_waiter((unsigned long)st.st_ino) < 0) {
        kill(p1, SIGKILL);
        waitpid(p1, &status, 0);
        skip();
    }
    p2 = writer(path, 2, &w2);
    /* Until the second is seen waiting for the lock (an event, polled), or
     * (the failure) reaches its window while the first is still in its own. */
    for (int i = 0; i < 3000 && !waiting && !early; i++) {
        struct pollfd pfd = {tell2[0], POLLIN, 0};
        early = poll(&pfd, 1, 10) == 1;
        waiting = lock_waiter((unsigned long)st.st_ino) == 1;
    }
    assert_false(early);
    assert_true(waiting);
    assert_int_equal(write(go1[1], "g", 1), 1);
    assert_int_equal(waitpid(p1, &status, 0), p1);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(waitpid(p2, &status, 0), p2);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    text = slurp(path);
    assert_int_equal(count_lines(text, "\"event\":\"added\""), 2);
    assert_int_equal(count_lines(text, "\n"), 2);
    free(text);
    close(tell1[0]);
    close(tell1[1]);
    close(go1[0]);
    close(go1[1]);
    close(tell2[0]);
    close(tell2[1]);
}

/* Many writers at once, some with one provider less: every event once. */
static void test_many_writers_no_duplicates(void **state)
{
    char path[512], *text;
    pid_t pids[8];
    int status;
    (void)state;
    snprintf(path, sizeof(path), "%s/many.ledger", tmp);
    for (int i = 0; i < 8; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            zr_tenant_t ts[2] = {provider("a", "A"), provider("b", "B")};
            zr_tenant_ledger_counts_t n;
            char err[256];
            _exit(zr_tenant_ledger_update(path, ts, 2, 1767261600, &n, NULL, NULL, err, sizeof(err)) == 0 ? 0 : 1);
        }
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    text = slurp(path);
    assert_int_equal(count_lines(text, "\n"), 2);
    free(text);
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_has_what_the_export_shows),
        cmocka_unit_test(test_diff_adds_then_nothing),
        cmocka_unit_test(test_changed_left_returned),
        cmocka_unit_test(test_quarantined_makes_no_event),
        cmocka_unit_test(test_torn_and_foreign_lines_are_skipped),
        cmocka_unit_test(test_update_file_is_idempotent),
        cmocka_unit_test(test_update_after_a_torn_line),
        cmocka_unit_test(test_update_unwritable_says_why),
#ifdef ZR_TESTING
        cmocka_unit_test(test_second_writer_waits_and_writes_nothing),
        cmocka_unit_test(test_many_writers_no_duplicates),
#endif
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
