/* Care providers at scale (issue 3): the lookup index, tenant fingerprints,
 * shared portals (care_providers), clients in a provider's own file,
 * pid_file, and the uniqueness check over thousands of providers. Loads use
 * the example configuration against a test PKI made once by make-pki.sh:
 *   DIR/pki/                 the test PKI
 *   DIR/<case>/relay.yaml    the example with this case's changes
 *   DIR/<case>/providers/    care_providers_dir */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../src/config/config_internal.h"
#include "zr/config.h"
#include "config_text.h"
#include "zr/util.h"

static char dir[] = "/tmp/zr-config-scale-XXXXXX";

static int group_setup(void **state)
{
    char cmd[1024];
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s/pki' >/dev/null", ZR_SOURCE_DIR, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* DIR/<name>/relay.yaml: the example, its PKI paths pointing at DIR/pki,
 * `extra_clients` put first in its clients list, `tail` appended. */
static char *write_config(const char *name, const char *extra_clients, const char *tail)
{
    char path[512], pki[300], *example = NULL, *a, *b, *out = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/examples/zorgrelay.yaml", ZR_SOURCE_DIR);
    assert_int_equal(zr_file_read(path, 1 << 20, &example, &len), 0);
    snprintf(pki, sizeof(pki), "%s/pki/", dir);
    a = str_replace_all(example, "../certs-example/out/", pki);
    if (extra_clients) {
        char *head = NULL;
        assert_true(asprintf(&head, "\nclients:\n%s", extra_clients) > 0);
        b = str_replace_all(a, "\nclients:\n", head);
        free(head);
        free(a);
        a = b;
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/%s/providers", dir, name);
    mkdir(path, 0700);
    assert_true(asprintf(&out, "%s/%s/relay.yaml", dir, name) > 0);
    b = NULL;
    assert_true(asprintf(&b, "%s%s", a, tail ? tail : "") > 0);
    write_text(out, b);
    free(b);
    free(a);
    free(example);
    return out;
}

/* DIR/<case>/providers/<id>.yaml: a second care provider (its own OIN and
 * certificate from the test PKI), plus `clients` when given. */
static void write_provider(const char *name, const char *id, const char *clients)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s/providers/%s.yaml", dir, name, id);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f,
            "id: %s\n"
            "entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001\n"
            "oin: \"00000009999999999002\"\n"
            "services:\n"
            "  - loa: substantial\n"
            "    service_uuid: 3b1f6d2e-8a4c-4e0b-9f7d-2c5a1e6b8d90\n"
            "bsn_keys:\n"
            "  - cert: %s/pki/dv2-bsn-1.pem\n"
            "    key: %s/pki/dv2-bsn-1.key\n"
            "%s",
            id, dir, dir, clients ? clients : "");
    fclose(f);
}

/* The 1-based line of the first occurrence of marker in the file (the
 * relay.yaml files start from examples/zorgrelay.yaml: no fixed numbers). */
static int line_in_file(const char *path, const char *marker)
{
    char *text = NULL, *at;
    size_t len = 0;
    int line = 1;
    assert_int_equal(zr_file_read(path, 1 << 20, &text, &len), 0);
    at = strstr(text, marker);
    if (!at)
        fail_msg("'%s' not in %s", marker, path);
    for (const char *c = text; c < at; c++)
        line += *c == '\n';
    free(text);
    return line;
}

static int has_line(const zr_config_errors_t *errs, const char *want)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strstr(errs->lines[i], want))
            return 1;
    fprintf(stderr, "  missing: %s\n", want);
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "  got: %s\n", errs->lines[i]);
    return 0;
}

#define SECRET "client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d\n"

static void test_shared_portal_and_provider_clients(void **state)
{
    zr_config_errors_t errs = {0};
    char *path = write_config("shared",
                              "  - client_id: shared-portal\n"
                              "    care_providers: [twee, zorgaanbieder-demo, twee-bis]\n"
                              "    " SECRET "    redirect_uris: [https://portal.example.nl/cb]\n"
                              "    min_loa: substantial\n",
                              "care_providers_dir: providers\npid_file: run/relay.pid\n");
    zr_config_t *cfg;
    const zr_client_t *c;
    const zr_tenant_t *t;
    char want[512];
    write_provider("shared", "twee", "clients:\n  - client_id: twee-portal\n    " SECRET
                                     "    redirect_uris: [https://twee.example.nl/cb]\n    min_loa: substantial\n");
    cfg = zr_config_load(path, &errs);
    /* twee-bis is not configured: FILE:LINE of the list entry. */
    assert_null(cfg);
    snprintf(want, sizeof(want), "%s/shared/relay.yaml:%d: clients[0].care_providers[2]: unknown care provider 'twee-bis'",
             dir, line_in_file(path, "care_providers: [twee, zorgaanbieder-demo, twee-bis]"));
    assert_true(has_line(&errs, want));
    assert_int_equal(errs.count, 1);
    zr_config_errors_free(&errs);
    free(path);

    path = write_config("shared",
                        "  - client_id: shared-portal\n"
                        "    care_providers: [twee, zorgaanbieder-demo, twee]\n"
                        "    " SECRET "    redirect_uris: [https://portal.example.nl/cb]\n"
                        "    min_loa: substantial\n",
                        "care_providers_dir: providers\npid_file: run/relay.pid\n");
    cfg = zr_config_load(path, &errs);
    assert_null(cfg);
    assert_true(has_line(&errs, "clients[0].care_providers[2]: 'twee' is listed twice"));
    zr_config_errors_free(&errs);
    free(path);

    path = write_config("shared",
                        "  - client_id: shared-portal\n"
                        "    care_provider: zorgaanbieder-demo\n"
                        "    care_providers: [twee, zorgaanbieder-demo]\n"
                        "    " SECRET "    redirect_uris: [https://portal.example.nl/cb]\n"
                        "    min_loa: substantial\n",
                        "care_providers_dir: providers\npid_file: run/relay.pid\n");
    cfg = zr_config_load(path, &errs);
    assert_non_null(cfg);
    /* pid_file: relative to the configuration's directory. */
    snprintf(want, sizeof(want), "%s/shared/run/relay.pid", dir);
    assert_string_equal(cfg->pid_file, want);
    /* The default first, no duplicates. */
    assert_non_null(c = zr_config_find_client(cfg, "shared-portal"));
    assert_int_equal(c->care_provider_count, 2);
    assert_string_equal(c->care_providers[0], "zorgaanbieder-demo");
    assert_string_equal(c->care_providers[1], "twee");
    assert_true(zr_client_allows_tenant(c, "twee"));
    assert_false(zr_client_allows_tenant(c, "drie"));
    /* A provider file's client belongs to that provider. */
    assert_non_null(c = zr_config_find_client(cfg, "twee-portal"));
    assert_string_equal(c->care_provider, "twee");
    assert_int_equal(c->care_provider_count, 1);
    assert_false(zr_client_allows_tenant(c, "zorgaanbieder-demo"));
    /* The example's clients: one provider each. */
    assert_non_null(c = zr_config_find_client(cfg, "demo-portal"));
    assert_int_equal(c->care_provider_count, 1);
    assert_int_equal(cfg->client_count, 4);
    assert_non_null(t = zr_config_find_tenant_by_entity_id(cfg, "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001"));
    assert_string_equal(t->id, "twee");
    assert_ptr_equal(zr_config_find_tenant(cfg, "twee"), t);
    assert_null(zr_config_find_tenant_by_entity_id(cfg, "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9002"));
    assert_int_equal(strlen(t->fingerprint), 64);
    assert_int_equal(strlen(cfg->tenants[0].fingerprint), 64);
    assert_string_not_equal(t->fingerprint, cfg->tenants[0].fingerprint);
    zr_config_free(cfg);
    free(path);
}

static void test_provider_file_client_errors(void **state)
{
    zr_config_errors_t errs = {0};
    /* refuse: every error of the file refuses the configuration, as before quarantine */
    char *path = write_config("dupes", NULL, "care_providers_dir: providers\ncare_providers_on_error: refuse\n");
    char want[768];
    const zr_tenant_t *twee;
    zr_config_t *cfg;
    /* demo-portal is also the example's first client; twee may not give its
     * portal to another provider; high is out of reach at twee. */
    write_provider("dupes", "twee",
                   "clients:\n"
                   "  - client_id: demo-portal\n    " SECRET "    redirect_uris: [https://twee.example.nl/cb]\n"
                   "    min_loa: substantial\n"
                   "  - client_id: twee-other\n    care_provider: zorgaanbieder-demo\n    " SECRET
                   "    redirect_uris: [https://twee.example.nl/cb]\n    min_loa: substantial\n"
                   "  - client_id: twee-high\n    " SECRET "    redirect_uris: [https://twee.example.nl/cb]\n"
                   "    min_loa: high\n");
    cfg = zr_config_load(path, &errs);
    assert_null(cfg);
    snprintf(want, sizeof(want), "%s/dupes/providers/twee.yaml:11: clients[0].client_id: duplicate client_id 'demo-portal' (also %s/dupes/relay.yaml:%d)",
             dir, dir, line_in_file(path, "- client_id: demo-portal"));
    assert_true(has_line(&errs, want));
    snprintf(want, sizeof(want), "%s/dupes/providers/twee.yaml:16: clients[1].care_provider: 'zorgaanbieder-demo' is another care provider",
             dir);
    assert_true(has_line(&errs, want));
    snprintf(want, sizeof(want), "%s/dupes/providers/twee.yaml:23: clients[2].min_loa: care provider 'twee' has no service with LoA high",
             dir);
    assert_true(has_line(&errs, want));
    assert_int_equal(errs.count, 3);
    zr_config_errors_free(&errs);
    free(path);

    /* quarantine (the default): twee's own errors quarantine twee and drop
     * the portals its file declared, but a client_id another file uses is
     * never one provider's problem: still refused, for that line alone. */
    path = write_config("dupes-q", NULL, "care_providers_dir: providers\n");
    write_provider("dupes-q", "twee",
                   "clients:\n"
                   "  - client_id: demo-portal\n    " SECRET "    redirect_uris: [https://twee.example.nl/cb]\n"
                   "    min_loa: substantial\n"
                   "  - client_id: twee-other\n    care_provider: zorgaanbieder-demo\n    " SECRET
                   "    redirect_uris: [https://twee.example.nl/cb]\n    min_loa: substantial\n");
    assert_null(zr_config_load(path, &errs));
    snprintf(want, sizeof(want), "%s/dupes-q/providers/twee.yaml:11: clients[0].client_id: duplicate client_id 'demo-portal' (also %s/dupes-q/relay.yaml:%d)",
             dir, dir, line_in_file(path, "- client_id: demo-portal"));
    assert_true(has_line(&errs, want));
    assert_int_equal(errs.count, 1);
    zr_config_errors_free(&errs);
    /* Without the duplicate: twee is quarantined with its file's lines as
     * reasons, its portals are gone, the others serve. */
    write_provider("dupes-q", "twee",
                   "clients:\n"
                   "  - client_id: twee-other\n    care_provider: zorgaanbieder-demo\n    " SECRET
                   "    redirect_uris: [https://twee.example.nl/cb]\n    min_loa: substantial\n");
    assert_non_null(cfg = zr_config_load(path, &errs));
    assert_int_equal(errs.count, 0);
    assert_int_equal(cfg->quarantined_count, 1);
    assert_non_null(twee = zr_config_find_tenant(cfg, "twee"));
    assert_true(twee->quarantined);
    assert_int_equal(twee->quarantine_reason_count, 1);
    snprintf(want, sizeof(want), "%s/dupes-q/providers/twee.yaml:12: clients[0].care_provider: 'zorgaanbieder-demo' is another care provider",
             dir);
    assert_memory_equal(twee->quarantine_reasons[0], want, strlen(want));
    assert_null(zr_config_find_client(cfg, "twee-other"));
    assert_false(zr_config_find_tenant(cfg, "zorgaanbieder-demo")->quarantined);
    zr_config_free(cfg);
    free(path);

    /* Neither key: the client belongs nowhere. */
    path = write_config("neither", "  - client_id: lost\n    " SECRET "    redirect_uris: [https://x.example.nl/cb]\n"
                                   "    min_loa: substantial\n", NULL);
    assert_null(zr_config_load(path, &errs));
    snprintf(want, sizeof(want), "neither/relay.yaml:%d: clients[0]: care_provider or care_providers is required",
             line_in_file(path, "- client_id: lost"));
    assert_true(has_line(&errs, want));
    assert_int_equal(errs.count, 1);
    zr_config_errors_free(&errs);
    free(path);
}

/* Lookups on a hand-made configuration scan; with the index they hash. */
static void test_index_and_fallback(void **state)
{
    zr_tenant_t tenants[3] = {{.id = "a", .entity_id = "urn:a"}, {.id = "b", .entity_id = "urn:b"}, {.id = "c"}};
    zr_client_t clients[2] = {{.client_id = "p1", .care_provider = "a"}, {.client_id = "p2"}};
    zr_config_t cfg = {.tenants = tenants, .tenant_count = 3, .clients = clients, .client_count = 2};
    for (int pass = 0; pass < 2; pass++) {
        assert_ptr_equal(zr_config_find_tenant(&cfg, "b"), &tenants[1]);
        assert_ptr_equal(zr_config_find_tenant(&cfg, "c"), &tenants[2]);
        assert_null(zr_config_find_tenant(&cfg, "d"));
        assert_null(zr_config_find_tenant(&cfg, NULL));
        assert_ptr_equal(zr_config_find_tenant_by_entity_id(&cfg, "urn:a"), &tenants[0]);
        assert_null(zr_config_find_tenant_by_entity_id(&cfg, "urn:c"));
        assert_ptr_equal(zr_config_find_client(&cfg, "p2"), &clients[1]);
        assert_null(zr_config_find_client(&cfg, "p3"));
        if (pass == 0) {
            int found;
            assert_int_equal(zr_cfg_index_tenants(&cfg), 0);
            *zr_cfg_hash_slot(&cfg.index->client_by_id, "p1", &found) = 0;
            *zr_cfg_hash_slot(&cfg.index->client_by_id, "p2", &found) = 1;
            assert_int_equal(cfg.index->tenant_by_id.count, 3);
        }
    }
    /* A hand-made client that only names its default. */
    assert_true(zr_client_allows_tenant(&clients[0], "a"));
    assert_false(zr_client_allows_tenant(&clients[0], "b"));
    assert_false(zr_client_allows_tenant(&clients[1], "a"));
    zr_cfg_index_free(cfg.index);
}

static void test_hash_grows(void **state)
{
    zr_cfg_hash_t h;
    char keys[5000][16];
    int found;
    assert_int_equal(zr_cfg_hash_init(&h, 4, 1), 0);
    for (size_t i = 0; i < 5000; i++) {
        snprintf(keys[i], sizeof(keys[i]), "Key-%zu", i);
        *zr_cfg_hash_slot(&h, keys[i], &found) = i;
        assert_false(found);
    }
    assert_int_equal(h.count, 5000);
    assert_int_equal(*zr_cfg_hash_get(&h, "KEY-4321"), 4321); /* case-insensitive table */
    assert_null(zr_cfg_hash_get(&h, "key-5000"));
    zr_cfg_hash_slot(&h, "key-7", &found);
    assert_true(found);
    zr_cfg_hash_free(&h);
}

static void test_fingerprint(void **state)
{
    zr_tenant_service_t services[2] = {{.min_loa = ZR_LOA_SUBSTANTIAL, .service_uuid = "u1"},
                                       {.min_loa = ZR_LOA_HIGH, .service_uuid = "u2", .attribute_consuming_service_index = 1}};
    zr_tenant_t t = {.id = "ab", .entity_id = "c", .oin = "1", .services = services, .service_count = 2, .bsn_key_count = 1};
    char *f1, *f2;
    t.bsn_keys[0].key_name_sha256 = "aa";
    f1 = zr_cfg_tenant_fingerprint(&t);
    f2 = zr_cfg_tenant_fingerprint(&t);
    assert_non_null(f1);
    assert_int_equal(strlen(f1), 64);
    assert_string_equal(f1, f2);
    free(f2);
#define CHANGED(stmt, undo)                         \
    do {                                            \
        stmt;                                       \
        f2 = zr_cfg_tenant_fingerprint(&t);         \
        assert_string_not_equal(f1, f2);            \
        free(f2);                                   \
        undo;                                       \
    } while (0)
    CHANGED(t.bsn_keys[0].key_name_sha256 = "ab", t.bsn_keys[0].key_name_sha256 = "aa");
    CHANGED(t.bsn_key_count = 2, t.bsn_key_count = 1); /* rollover key added (unset digest) */
    CHANGED(services[1].service_uuid = "u3", services[1].service_uuid = "u2");
    CHANGED(services[1].min_loa = ZR_LOA_LOW, services[1].min_loa = ZR_LOA_HIGH);
    CHANGED(services[1].attribute_consuming_service_index = 2, services[1].attribute_consuming_service_index = 1);
    CHANGED(t.service_count = 1, t.service_count = 2);
    CHANGED(t.oin = NULL, t.oin = "1");
    /* Separators: "ab"+"c" is not "a"+"bc". */
    CHANGED((t.id = "a", t.entity_id = "bc"), (t.id = "ab", t.entity_id = "c"));
    f2 = zr_cfg_tenant_fingerprint(&t);
    assert_string_equal(f1, f2); /* every change undone */
    free(f2);
    free(f1);
}

/* 2,000 providers, hashed (pairwise would be 2 million comparisons); the
 * lines are those of the pairwise check, in its order. */
static void test_uniqueness_at_scale(void **state)
{
    enum { N = 2000 };
    zr_tenant_t *t = calloc(N, sizeof(*t));
    zr_tenant_origin_t *o = calloc(N, sizeof(*o));
    zr_tenant_service_t *s = calloc(N, sizeof(*s));
    char (*strings)[5][80] = calloc(N, sizeof(*strings));
    zr_config_errors_t errs = {0};
    assert_non_null(t);
    assert_non_null(o);
    assert_non_null(s);
    assert_non_null(strings);
    for (size_t i = 0; i < N; i++) {
        snprintf(strings[i][0], 80, "dv-%zu", i);
        snprintf(strings[i][1], 80, "urn:nl-eid-gdi:1.0:DV:000000099999990%05zu:entities:9000", i);
        snprintf(strings[i][2], 80, "000000099999990%05zu", i);
        snprintf(strings[i][3], 80, "9e5a0000-0000-4000-8000-%012zx", i);
        snprintf(strings[i][4], 80, "%064zx", i);
        t[i].id = strings[i][0];
        t[i].entity_id = strings[i][1];
        t[i].oin = strings[i][2];
        s[i].service_uuid = strings[i][3];
        t[i].services = &s[i];
        t[i].service_count = 1;
        t[i].bsn_keys[0].key_name_sha256 = strings[i][4];
        t[i].bsn_key_count = 1;
        o[i] = (zr_tenant_origin_t){.file = strings[i][0], .id_line = 1, .entity_id_line = 2, .oin_line = 3,
                                    .services_line = 4, .bsn_key_line = {5, 0}};
    }
    assert_int_equal(zr_config_check_tenants_unique(t, o, N, 0, &errs), 0);
    /* 500 and 1999 repeat the id of 10, 1999 also its OIN and (in upper
     * case) the ServiceUUID of 500; 1500 repeats the certificate of 7. */
    t[500].id = t[10].id;
    t[1999].id = t[10].id;
    t[1999].oin = t[10].oin;
    strcpy(strings[1999][3], "9E5A0000-0000-4000-8000-0000000001F4"); /* 500 */
    t[1500].bsn_keys[0].key_name_sha256 = strings[7][4];
    assert_int_equal(zr_config_check_tenants_unique(t, o, N, 0, &errs), 6);
    assert_int_equal(errs.count, 6);
    assert_string_equal(errs.lines[0], "dv-500:1: id: care provider id dv-10 is also used by dv-10:1");
    assert_string_equal(errs.lines[1], "dv-1500:5: bsn_keys[0].cert: certificate with SHA-256 "
                                       "0000000000000000000000000000000000000000000000000000000000000007 is also used by dv-7:5");
    /* By earlier provider, then id, entity ID, OIN, services, certificate. */
    assert_string_equal(errs.lines[2], "dv-1999:1: id: care provider id dv-10 is also used by dv-10:1");
    assert_string_equal(errs.lines[3], "dv-1999:3: oin: OIN 00000009999999000010 is also used by dv-10:3");
    assert_string_equal(errs.lines[4], "dv-1999:1: id: care provider id dv-10 is also used by dv-500:1");
    assert_string_equal(errs.lines[5], "dv-1999:4: services[0].service_uuid: ServiceUUID "
                                       "9E5A0000-0000-4000-8000-0000000001F4 is also used by dv-500:4");
    zr_config_errors_free(&errs);
    /* Only providers from `first` on are judged (earlier ones were). */
    assert_int_equal(zr_config_check_tenants_unique(t, o, N, 1600, &errs), 4);
    zr_config_errors_free(&errs);
    free(strings);
    free(s);
    free(o);
    free(t);
}

/* DIR/<case>/providers/<id>.yaml with the given text. */
static void write_provider_text(const char *name, const char *id, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s/providers/%s.yaml", dir, name, id);
    write_text(path, text);
}

/* In a file: the first occurrence of from replaced by to (from must occur). */
static void edit_file(const char *path, const char *from, const char *to)
{
    char *text = NULL, *edited;
    size_t len = 0;
    assert_int_equal(zr_file_read(path, 1 << 20, &text, &len), 0);
    if (!strstr(text, from))
        fail_msg("'%s' not in %s", from, path);
    edited = str_replace_all(text, from, to);
    write_text(path, edited);
    free(edited);
    free(text);
}

static const zr_tenant_t *quarantined(const zr_config_t *cfg, const char *id, const char *reason, const char *summary)
{
    const zr_tenant_t *t = zr_config_find_tenant(cfg, id);
    char buf[128];
    int found = 0;
    if (!t || !t->quarantined)
        fail_msg("%s is not quarantined", id);
    for (size_t i = 0; i < t->quarantine_reason_count; i++)
        found |= strstr(t->quarantine_reasons[i], reason) != NULL;
    if (!found)
        fail_msg("%s: no reason with '%s' (first: %s)", id, reason,
                 t->quarantine_reason_count ? t->quarantine_reasons[0] : "none");
    assert_string_equal(zr_tenant_quarantine_summary(t, buf, sizeof(buf)), summary);
    return t;
}

/* Issue 14 §1: a provider whose own material is unusable is quarantined,
 * not the whole configuration refused; care_providers_on_error: refuse
 * keeps the old behaviour; every provider quarantined is refused. */
static void test_quarantine(void **state)
{
    zr_config_errors_t errs = {0};
    char *path, want[768];
    const zr_tenant_t *t;
    zr_config_t *cfg;
    (void)state;

    /* twee: a key that belongs to another certificate; drie: a YAML
     * syntax error (known by its file name); the inline provider serves. */
    path = write_config("quar", NULL, "care_providers_dir: providers\n");
    write_provider("quar", "twee", NULL);
    snprintf(want, sizeof(want), "%s/quar/providers/twee.yaml", dir);
    edit_file(want, "dv2-bsn-1.key", "dv3-bsn-1.key");
    write_provider_text("quar", "drie", "id: drie\nname: \"unclosed\noin: \"1\"\n");
    cfg = zr_config_load(path, &errs);
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "%s\n", errs.lines[i]);
    assert_non_null(cfg);
    assert_int_equal(errs.count, 0);
    assert_int_equal(cfg->quarantined_count, 2);
    t = quarantined(cfg, "twee", "bsn_keys[0].key: the private key does not belong to the certificate",
                    "private key does not match the certificate");
    snprintf(want, sizeof(want), "%s/quar/providers/twee.yaml:9: ", dir);
    assert_memory_equal(t->quarantine_reasons[0], want, strlen(want));
    /* Its certificate is named (export, duplicates), its keys decrypt nothing. */
    assert_non_null(t->bsn_keys[0].key_name);
    assert_null(zr_tenant_find_bsn_key(t, t->bsn_keys[0].key_name));
    quarantined(cfg, "drie", "YAML syntax error", "YAML syntax error in its file");
    assert_false(zr_config_find_tenant(cfg, "zorgaanbieder-demo")->quarantined);
    assert_non_null(zr_tenant_find_bsn_key(&cfg->tenants[0], cfg->tenants[0].bsn_keys[0].key_name));
    zr_config_free(cfg);
    free(path);

    /* refuse: the same files refuse the configuration, each error listed. */
    path = write_config("quar-refuse", NULL, "care_providers_dir: providers\ncare_providers_on_error: refuse\n");
    write_provider("quar-refuse", "twee", NULL);
    snprintf(want, sizeof(want), "%s/quar-refuse/providers/twee.yaml", dir);
    edit_file(want, "dv2-bsn-1.key", "dv3-bsn-1.key");
    write_provider_text("quar-refuse", "drie", "id: drie\nname: \"unclosed\noin: \"1\"\n");
    assert_null(zr_config_load(path, &errs));
    assert_true(has_line(&errs, "drie.yaml:"));
    assert_true(has_line(&errs, "YAML syntax error"));
    assert_true(has_line(&errs, "twee.yaml:9: bsn_keys[0].key: the private key does not belong to the certificate"));
    assert_int_equal(errs.count, 2);
    zr_config_errors_free(&errs);
    free(path);

    /* An inline entry: its key file is its own problem... */
    path = write_config("quar-inline", NULL, "care_providers_dir: providers\n");
    write_provider("quar-inline", "twee", NULL);
    edit_file(path, "pki/dv-bsn-1.key", "pki/no-such.key");
    assert_non_null(cfg = zr_config_load(path, &errs));
    assert_int_equal(errs.count, 0);
    t = quarantined(cfg, "zorgaanbieder-demo", "care_providers[0].bsn_keys[0].key: cannot open private key",
                    "private key missing or unreadable");
    assert_false(zr_config_find_tenant(cfg, "twee")->quarantined);
    assert_int_equal(cfg->quarantined_count, 1);
    zr_config_free(cfg);
    /* ...the rest of the main file is not: a bad OIN there refuses. */
    edit_file(path, "oin: \"00000009999999999001\"", "oin: \"123\"");
    assert_null(zr_config_load(path, &errs));
    assert_true(has_line(&errs, "care_providers[0].oin: must be the 20-digit OIN"));
    zr_config_errors_free(&errs);
    edit_file(path, "oin: \"123\"", "oin: \"00000009999999999001\"");

    /* Every provider quarantined: nothing could be served, refused. */
    snprintf(want, sizeof(want), "%s/quar-inline/providers/twee.yaml", dir);
    edit_file(want, "dv2-bsn-1.key", "dv3-bsn-1.key");
    assert_null(zr_config_load(path, &errs));
    assert_true(has_line(&errs, "cannot open private key"));
    assert_true(has_line(&errs, "twee.yaml:9: bsn_keys[0].key: the private key does not belong"));
    assert_true(has_line(&errs, "every care provider (2) is quarantined, nothing could be served"));
    assert_int_equal(errs.count, 3);
    zr_config_errors_free(&errs);
    free(path);

    /* Duplicates across providers are never one provider's: twee2 has
     * twee's entity ID and is broken besides; still refused. */
    path = write_config("quar-dup", NULL, "care_providers_dir: providers\n");
    write_provider("quar-dup", "twee", NULL);
    write_provider("quar-dup", "twee2", NULL);
    snprintf(want, sizeof(want), "%s/quar-dup/providers/twee2.yaml", dir);
    edit_file(want, "dv2-bsn-1.key", "dv3-bsn-1.key");
    assert_null(zr_config_load(path, &errs));
    assert_true(has_line(&errs, "twee2.yaml:2: entity_id: entity ID urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001 is also used by"));
    zr_config_errors_free(&errs);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_index_and_fallback),
        cmocka_unit_test(test_hash_grows),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_uniqueness_at_scale),
        cmocka_unit_test(test_shared_portal_and_provider_clients),
        cmocka_unit_test(test_provider_file_client_errors),
        cmocka_unit_test(test_quarantine),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
