/* Unit tests for the clients' pairwise sectors (issue 12 §4, OIDC Core
 * §8.1, docs/claims.md): sector_identifier and legacy_sector_host are read
 * and judged with their line, oidc.allow_sector_change names configured
 * clients, and zr_config_sector_changes finds what a reload would change.
 *
 * Every variant starts from tests/data/config/valid.yaml, which loads
 * without error, so a variant's single error is its own. The test PKI is the
 * build directory's (certs-example/make-pki.sh, made once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/config/config_internal.h"
#include "zr/config.h"
#include "zr/util.h"
#include "config_text.h"

/* Paths here are /tmp/... and the build directory: short. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static char dir[256];
static char *base; /* valid.yaml with absolute paths */

#define PORTAL "  - client_id: demo-portal\n"
#define PGO "  - client_id: demo-pgo\n"
#define SECRET_LINE "  pairwise_secret_file: "

static int setup(void **state)
{
    char cmd[2048], pki[1024], cwd[512];
    const char *data = getenv("ZR_TEST_DATA");
    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/zr-test-sector-XXXXXX");
    if (!data || !mkdtemp(dir) || !getcwd(cwd, sizeof(cwd)))
        return -1;
    snprintf(pki, sizeof(pki), "%s/test-pki", cwd);
    snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s' >/dev/null", ZR_SOURCE_DIR, pki);
    if (system(cmd) != 0)
        return -1;
    base = config_text_base("valid.yaml", pki, dir);
    return base ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    (void)state;
    free(base);
    base = NULL;
    if (strncmp(dir, "/tmp/zr-test-sector-", 20) != 0)
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *in_dir(const char *name)
{
    static char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

/* Writes NAME from the base with each {from, to} pair replaced (every from
 * must occur; NULL ends the pairs). Returns the text (caller frees). */
static char *variant(const char *name, ...)
{
    char *text = strdup(base), *next;
    const char *from, *to;
    va_list ap;
    FILE *f;
    va_start(ap, name);
    while ((from = va_arg(ap, const char *)) != NULL) {
        to = va_arg(ap, const char *);
        if (!strstr(text, from))
            fail_msg("variant %s: '%s' is not in the base configuration", name, from);
        next = str_replace_all(text, from, to);
        free(text);
        text = next;
    }
    va_end(ap);
    assert_non_null(f = fopen(in_dir(name), "w"));
    fputs(text, f);
    fclose(f);
    return text;
}

static zr_config_t *expect_ok(const char *name)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = zr_config_load(in_dir(name), &errs);
    if (!cfg) {
        fprintf(stderr, "%s: expected to load\n", name);
        print_errors(&errs);
    }
    assert_non_null(cfg);
    zr_config_errors_free(&errs);
    return cfg;
}

/* NAME fails with exactly one error "DIR/NAME:LINE: KEY: MSG..." where LINE
 * is that of marker in text. */
static void expect_one(const char *name, const char *text, const char *marker, const char *key, const char *msg)
{
    zr_config_errors_t errs = {0};
    char *want = NULL;
    zr_config_t *cfg = zr_config_load(in_dir(name), &errs);
    if (cfg || errs.count != 1) {
        fprintf(stderr, "%s: expected exactly one error (%s: %s)\n", name, key, msg);
        print_errors(&errs);
    }
    assert_null(cfg);
    assert_int_equal(errs.count, 1);
    assert_true(asprintf(&want, "%s:%d: %s: %s", in_dir(name), line_of(text, marker), key, msg) > 0);
    if (strncmp(errs.lines[0], want, strlen(want)) != 0) {
        fprintf(stderr, "  want: %s\n", want);
        print_errors(&errs);
        fail();
    }
    free(want);
    zr_config_errors_free(&errs);
}

/* "FILE:LINE" of marker in the variant NAME. */
static char *origin_of(const char *name, const char *text, const char *marker)
{
    char *s = NULL;
    assert_true(asprintf(&s, "%s:%d", in_dir(name), line_of(text, marker)) > 0);
    return s;
}

/* ---- tests ------------------------------------------------------------------- */

/* Without the keys a client is its own sector, named by its client_id; a
 * sector_identifier (a URL fits) is shared by the clients naming it. */
static void test_sectors_read(void **state)
{
    char *text, *want;
    zr_config_t *cfg;
    int legacy = -1;
    (void)state;

    text = variant("default.yaml", NULL);
    cfg = expect_ok("default.yaml");
    assert_string_equal(zr_client_sector(&cfg->clients[0], &legacy), "demo-portal");
    assert_int_equal(legacy, 0);
    assert_string_equal(zr_client_sector_key(&cfg->clients[0]), "client_id");
    assert_false(zr_client_same_sector(&cfg->clients[0], &cfg->clients[1]));
    want = origin_of("default.yaml", text, PORTAL);
    assert_string_equal(cfg->clients[0].sector_origin, want);
    free(want);
    zr_config_free(cfg);
    free(text);

    text = variant("shared.yaml", PORTAL, PORTAL "    sector_identifier: https://ziekenhuis.example.nl/sector\n", PGO,
                   PGO "    sector_identifier: https://ziekenhuis.example.nl/sector\n", NULL);
    cfg = expect_ok("shared.yaml");
    assert_string_equal(zr_client_sector(&cfg->clients[0], &legacy), "https://ziekenhuis.example.nl/sector");
    assert_int_equal(legacy, 0);
    assert_string_equal(zr_client_sector_key(&cfg->clients[1]), "sector_identifier");
    assert_true(zr_client_same_sector(&cfg->clients[0], &cfg->clients[1]));
    want = origin_of("shared.yaml", text, "    sector_identifier: https://ziekenhuis.example.nl/sector");
    assert_string_equal(cfg->clients[0].sector_origin, want);
    free(want);
    zr_config_free(cfg);
    free(text);

    /* the longest name allowed, and a legacy host */
    {
        char line[400];
        memset(line, 0, sizeof(line));
        strcpy(line, PORTAL "    sector_identifier: ");
        memset(line + strlen(line), 's', 255);
        strcat(line, "\n");
        free(variant("long.yaml", PORTAL, line, NULL));
        zr_config_free(expect_ok("long.yaml"));
    }
    free(variant("legacy.yaml", PGO, PGO "    legacy_sector_host: pgo.example.org\n", NULL));
    cfg = expect_ok("legacy.yaml");
    assert_string_equal(zr_client_sector(&cfg->clients[1], &legacy), "pgo.example.org");
    assert_int_equal(legacy, 1);
    assert_string_equal(zr_client_sector_key(&cfg->clients[1]), "legacy_sector_host");
    zr_config_free(cfg);
}

typedef struct {
    const char *name;
    const char *insert; /* after the demo-portal client_id line */
    const char *marker; /* the line the error is at */
    const char *key;
    const char *msg;
} bad_sector_t;

static void test_sectors_refused(void **state)
{
    static const char rule[] = "must be 1-255 printable ASCII characters without spaces";
    static const char legacy_rule[] = "must be the host of the former redirect_uris[0] as the relay used it";
    char too_long[400];
    const bad_sector_t bad[] = {
        {"empty.yaml", "    sector_identifier: \"\"\n", "    sector_identifier", "clients[0].sector_identifier", rule},
        {"space.yaml", "    sector_identifier: zorg portaal\n", "    sector_identifier", "clients[0].sector_identifier",
         rule},
        {"utf8.yaml", "    sector_identifier: \"zorg\\u00e9\"\n", "    sector_identifier",
         "clients[0].sector_identifier", rule},
        {"tab.yaml", "    sector_identifier: \"a\\tb\"\n", "    sector_identifier", "clients[0].sector_identifier", rule},
        {"long.yaml", too_long, "    sector_identifier", "clients[0].sector_identifier", rule},
        {"null.yaml", "    sector_identifier:\n", "sector_identifier:", "clients[0].sector_identifier",
         "must not be empty (leave the key out instead)"},
        {"upper.yaml", "    legacy_sector_host: Portal.example.nl\n", "    legacy_sector_host",
         "clients[0].legacy_sector_host", legacy_rule},
        {"bar.yaml", "    legacy_sector_host: portal|x\n", "    legacy_sector_host", "clients[0].legacy_sector_host",
         legacy_rule},
        {"url.yaml", "    legacy_sector_host: https://portal.example.nl/\n", "    legacy_sector_host",
         "clients[0].legacy_sector_host", legacy_rule},
        {"both.yaml", "    sector_identifier: a\n    legacy_sector_host: portal.example.nl\n", "    legacy_sector_host",
         "clients[0].legacy_sector_host", "set sector_identifier or legacy_sector_host, not both"},
    };
    (void)state;
    memset(too_long, 0, sizeof(too_long));
    strcpy(too_long, "    sector_identifier: ");
    memset(too_long + strlen(too_long), 's', 256);
    strcat(too_long, "\n");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char *insert = NULL, *text;
        assert_true(asprintf(&insert, PORTAL "%s", bad[i].insert) > 0);
        text = variant(bad[i].name, PORTAL, insert, NULL);
        expect_one(bad[i].name, text, bad[i].marker, bad[i].key, bad[i].msg);
        free(text);
        free(insert);
    }
}

/* oidc.allow_sector_change: client ids, each configured, each once. */
static void test_allow_list_refused(void **state)
{
    char *text;
    zr_config_t *cfg;
    (void)state;
    text = variant("allow-unknown.yaml", SECRET_LINE, "  allow_sector_change: [demo-portal, nobody]\n" SECRET_LINE,
                   NULL);
    expect_one("allow-unknown.yaml", text, "allow_sector_change", "oidc.allow_sector_change[1]",
               "'nobody' is not a configured client_id");
    free(text);
    text = variant("allow-twice.yaml", SECRET_LINE, "  allow_sector_change: [demo-portal, demo-portal]\n" SECRET_LINE,
                   NULL);
    expect_one("allow-twice.yaml", text, "allow_sector_change", "oidc.allow_sector_change[1]",
               "'demo-portal' is listed twice");
    free(text);
    text = variant("allow-bad.yaml", SECRET_LINE, "  allow_sector_change: [\"demo portal\"]\n" SECRET_LINE, NULL);
    expect_one("allow-bad.yaml", text, "allow_sector_change", "oidc.allow_sector_change[0]", "must be a client_id");
    free(text);
    free(variant("allow-ok.yaml", SECRET_LINE, "  allow_sector_change: [demo-pgo]\n" SECRET_LINE, NULL));
    cfg = expect_ok("allow-ok.yaml");
    assert_true(zr_config_allows_sector_change(cfg, "demo-pgo"));
    assert_false(zr_config_allows_sector_change(cfg, "demo-portal"));
    zr_config_free(cfg);
}

/* What a reload compares: a new sector is a change (allowed only when
 * listed); new redirect URIs, or naming the sector the client already had,
 * are not. */
static void test_sector_changes(void **state)
{
    zr_config_t *running, *next, empty;
    zr_sector_change_t *changes = NULL;
    size_t count = 99;
    (void)state;
    free(variant("running.yaml", NULL));
    running = expect_ok("running.yaml");

    free(variant("vendor.yaml", PORTAL, PORTAL "    sector_identifier: vendor\n", NULL));
    next = expect_ok("vendor.yaml");
    assert_int_equal(zr_config_sector_changes(running, NULL, next, &changes, &count), 0);
    assert_int_equal(count, 1);
    assert_string_equal(changes[0].before->client_id, "demo-portal");
    assert_ptr_equal(changes[0].before, &running->clients[0]);
    assert_ptr_equal(changes[0].after, &next->clients[0]);
    assert_false(changes[0].allowed);
    free(changes);
    /* the process's startup configuration stands in for a client the running one lacks */
    memset(&empty, 0, sizeof(empty));
    assert_int_equal(zr_config_sector_changes(&empty, running, next, &changes, &count), 0);
    assert_int_equal(count, 1);
    free(changes);
    assert_int_equal(zr_config_sector_changes(&empty, NULL, next, &changes, &count), 0);
    assert_int_equal(count, 0);
    assert_null(changes);
    zr_config_free(next);

    free(variant("vendor-allowed.yaml", PORTAL, PORTAL "    sector_identifier: vendor\n", SECRET_LINE,
                 "  allow_sector_change: [demo-portal]\n" SECRET_LINE, NULL));
    next = expect_ok("vendor-allowed.yaml");
    assert_int_equal(zr_config_sector_changes(running, NULL, next, &changes, &count), 0);
    assert_int_equal(count, 1);
    assert_true(changes[0].allowed);
    free(changes);
    zr_config_free(next);

    free(variant("legacy.yaml", PORTAL, PORTAL "    legacy_sector_host: demo-portal\n", NULL));
    next = expect_ok("legacy.yaml");
    assert_int_equal(zr_config_sector_changes(running, NULL, next, &changes, &count), 0);
    assert_int_equal(count, 1); /* same name, other format: other subs */
    free(changes);
    zr_config_free(next);

    free(variant("same.yaml", PORTAL, PORTAL "    sector_identifier: demo-portal\n", "      - http://localhost:8000/callback\n",
                 "      - http://127.0.0.1:9000/first\n      - http://localhost:8000/callback\n", NULL));
    next = expect_ok("same.yaml");
    assert_int_equal(zr_config_sector_changes(running, NULL, next, &changes, &count), 0);
    assert_int_equal(count, 0);
    zr_config_free(next);
    zr_config_free(running);
}

/* What a start compares: the record each relay keeps in Redis
 * ("<key> <sector>") against the configuration. The same sector under
 * another key of the same format is no change (client_id demo-portal =
 * sector_identifier demo-portal); the legacy format is; a record that does
 * not read is a change (fail closed); a missing record is none. */
static void test_sector_record_changes(void **state)
{
    zr_config_t *cfg, *legacy;
    zr_sector_change_t *changes = NULL;
    size_t count = 99;
    char *records[2] = {NULL, NULL}, *rec;
    (void)state;
    free(variant("record.yaml", NULL));
    cfg = expect_ok("record.yaml");
    assert_int_equal(cfg->client_count, 2);
    assert_string_equal(cfg->clients[0].client_id, "demo-portal");

    rec = zr_client_sector_record(&cfg->clients[0]);
    assert_string_equal(rec, "client_id demo-portal");
    records[0] = rec;
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 0);
    assert_null(changes);
    /* no records at all: nothing to compare */
    assert_int_equal(zr_config_sector_record_changes(cfg, NULL, &changes, &count), 0);
    assert_int_equal(count, 0);

    records[0] = "sector_identifier demo-portal";
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 0);

    records[0] = "sector_identifier vendor with spaces";
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 1);
    assert_null(changes[0].before);
    assert_true(changes[0].recorded);
    assert_string_equal(changes[0].before_sector, "vendor with spaces");
    assert_string_equal(changes[0].before_key, "sector_identifier");
    assert_ptr_equal(changes[0].after, &cfg->clients[0]);
    assert_false(changes[0].allowed);
    free(changes);

    records[0] = "legacy_sector_host demo-portal";
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 1); /* same name, other format: other subs */
    assert_string_equal(changes[0].before_key, "legacy_sector_host");
    free(changes);

    records[0] = rec;
    records[1] = "";                     /* failed authentication: read as unreadable */
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 1);
    assert_ptr_equal(changes[0].after, &cfg->clients[1]);
    assert_string_equal(changes[0].before_key, "unreadable record");
    free(changes);
    records[1] = "client_iddemo-pgo";    /* no separator */
    assert_int_equal(zr_config_sector_record_changes(cfg, records, &changes, &count), 0);
    assert_int_equal(count, 1);
    free(changes);
    records[0] = records[1] = NULL;
    free(rec);
    zr_config_free(cfg);

    /* a legacy client's record, and its change allowed */
    free(variant("record-legacy.yaml", PGO, PGO "    legacy_sector_host: pgo.example.org\n", SECRET_LINE,
                 "  allow_sector_change: [demo-pgo]\n" SECRET_LINE, NULL));
    legacy = expect_ok("record-legacy.yaml");
    rec = zr_client_sector_record(&legacy->clients[1]);
    assert_string_equal(rec, "legacy_sector_host pgo.example.org");
    records[1] = rec;
    assert_int_equal(zr_config_sector_record_changes(legacy, records, &changes, &count), 0);
    assert_int_equal(count, 0);
    records[1] = "client_id demo-pgo";
    assert_int_equal(zr_config_sector_record_changes(legacy, records, &changes, &count), 0);
    assert_int_equal(count, 1);
    assert_true(changes[0].allowed);
    assert_string_equal(changes[0].before_sector, "demo-pgo");
    free(changes);
    free(rec);
    zr_config_free(legacy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sectors_read),
        cmocka_unit_test(test_sectors_refused),
        cmocka_unit_test(test_allow_list_refused),
        cmocka_unit_test(test_sector_changes),
        cmocka_unit_test(test_sector_record_changes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
