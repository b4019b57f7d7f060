/* The batch checks of `tenants validate` (src/tenant/check.c) and the
 * care provider directory loader they build on, against certificates made by
 * certs-example/make-pki.sh in a temporary directory:
 *   DIR/pki        a fresh test PKI (its own CA)
 *   DIR/expired    leaves of the same CA, expired (NOT_BEFORE/NOT_AFTER)
 *   DIR/soon       leaves of the same CA, valid 30 days (DAYS=30)
 *   DIR/weak.*     a self-signed RSA 1024 encryption certificate (openssl) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/crypto.h"
#include "zr/tenant_check.h"

#define OIN_DV "00000009999999999001"
#define ENTITY_DV "urn:nl-eid-gdi:1.0:DV:" OIN_DV ":entities:9000"

static char tmp[] = "/tmp/zr-tenant-check-XXXXXX";

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    return system(cmd);
}

static int group_setup(void **state)
{
    const char *pki = ZR_SOURCE_DIR "/certs-example/make-pki.sh";
    if (!mkdtemp(tmp))
        return -1;
    if (run("bash '%s' '%s/pki' >/dev/null 2>&1", pki, tmp) != 0)
        return -1;
    /* Same CA, other validity; both runs in parallel. */
    if (run("mkdir -p '%s/expired' '%s/soon' && cp '%s/pki/ca.pem' '%s/pki/ca.key' '%s/expired/' && "
            "cp '%s/pki/ca.pem' '%s/pki/ca.key' '%s/soon/' && "
            "{ NOT_BEFORE=20200101000000Z NOT_AFTER=20210101000000Z bash '%s' '%s/expired' >/dev/null 2>&1 & "
            "DAYS=30 bash '%s' '%s/soon' >/dev/null 2>&1; wait; }",
            tmp, tmp, tmp, tmp, tmp, tmp, tmp, tmp, pki, tmp, pki, tmp) != 0)
        return -1;
    if (run("openssl req -x509 -newkey rsa:1024 -nodes -days 30 -keyout '%s/weak.key' -out '%s/weak.pem' "
            "-subj '/serialNumber=" OIN_DV "/CN=weak TEST' -addext keyUsage=critical,keyEncipherment "
            ">/dev/null 2>&1",
            tmp, tmp) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    run("rm -rf '%s'", tmp);
    return 0;
}

/* A tenant with one BSN key from DIR/<cert>.pem and DIR/<key>.key. */
static void tenant_make(zr_tenant_t *t, const char *entity_id, const char *cert, const char *key)
{
    char path[512], err[256];
    memset(t, 0, sizeof(*t));
    t->entity_id = (char *)entity_id;
    snprintf(path, sizeof(path), "%s/%s.pem", tmp, cert);
    t->bsn_keys[0].cert = zr_crypto_load_certificate(path, err, sizeof(err));
    snprintf(path, sizeof(path), "%s/%s.key", tmp, key);
    t->bsn_keys[0].key = zr_crypto_load_private_key(path, err, sizeof(err));
    assert_non_null(t->bsn_keys[0].cert);
    assert_non_null(t->bsn_keys[0].key);
    t->bsn_key_count = 1;
}

static void tenant_drop(zr_tenant_t *t)
{
    X509_free(t->bsn_keys[0].cert);
    EVP_PKEY_free(t->bsn_keys[0].key);
}

static size_t lines_with(const zr_tenant_report_t *r, zr_tenant_severity_t sev, const char *needle)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        if (r->severity[i] == sev && strstr(r->lines[i], needle))
            n++;
    return n;
}

static zr_tenant_report_t check_one(const char *entity_id, const char *cert, const char *key,
                                    const zr_tenant_check_opts_t *opts)
{
    zr_tenant_t t;
    zr_tenant_origin_t o = {.file = "dv.yaml", .bsn_key_line = {12, 0}};
    zr_tenant_report_t r = {0};
    tenant_make(&t, entity_id, cert, key);
    zr_tenant_check_key(&t, 0, &o, opts, &r);
    tenant_drop(&t);
    return r;
}

static void test_good_key_is_clean(void **state)
{
    char ca_path[512], err[256];
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r;
    snprintf(ca_path, sizeof(ca_path), "%s/pki/ca.pem", tmp);
    assert_non_null(opts.ca = zr_crypto_load_certificates(ca_path, err, sizeof(err)));
    r = check_one(ENTITY_DV, "pki/dv-bsn-1", "pki/dv-bsn-1", &opts);
    assert_int_equal(r.count, 0);
    assert_int_equal(r.errors, 0);
    zr_tenant_report_free(&r);
    sk_X509_pop_free(opts.ca, X509_free);
}

static void test_key_must_belong_to_cert(void **state)
{
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r = check_one(ENTITY_DV, "pki/dv-bsn-1", "pki/dv-bsn-2", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "dv.yaml:12: bsn_keys[0]: the private key"), 1);
    zr_tenant_report_free(&r);
}

static void test_key_usage_must_allow_encipherment(void **state)
{
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    /* The relay's signing certificate: keyUsage digitalSignature only. */
    zr_tenant_report_t r = check_one(ENTITY_DV, "pki/relay-signing", "pki/relay-signing", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "does not allow keyEncipherment"), 1);
    zr_tenant_report_free(&r);
}

static void test_oin_must_match_entity_id(void **state)
{
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r =
        check_one("urn:nl-eid-gdi:1.0:DV:00000009999999999777:entities:0001", "pki/dv-bsn-1", "pki/dv-bsn-1", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR,
                                "the certificate is for OIN " OIN_DV ", the entity ID for OIN 00000009999999999777"),
                     1);
    zr_tenant_report_free(&r);
}

static void test_rsa_must_be_2048(void **state)
{
    zr_tenant_check_opts_t opts = {.warn_days = 10};
    zr_tenant_report_t r = check_one(ENTITY_DV, "weak", "weak", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "RSA key of 1024 bits"), 1);
    zr_tenant_report_free(&r);
}

static void test_chain_to_ca(void **state)
{
    char path[512], err[256];
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r;
    /* Not the issuer: a leaf of the same PKI. */
    snprintf(path, sizeof(path), "%s/pki/tvs-signing.pem", tmp);
    assert_non_null(opts.ca = zr_crypto_load_certificates(path, err, sizeof(err)));
    r = check_one(ENTITY_DV, "pki/dv-bsn-1", "pki/dv-bsn-1", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "does not chain to the CA"), 1);
    zr_tenant_report_free(&r);
    sk_X509_pop_free(opts.ca, X509_free);
    /* The self-signed weak certificate against the real CA. */
    snprintf(path, sizeof(path), "%s/pki/ca.pem", tmp);
    assert_non_null(opts.ca = zr_crypto_load_certificates(path, err, sizeof(err)));
    r = check_one(ENTITY_DV, "weak", "weak", &opts);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "does not chain to the CA"), 1);
    zr_tenant_report_free(&r);
    /* An expired leaf still chains: its date is reported on its own line. */
    r = check_one(ENTITY_DV, "expired/dv-bsn-1", "expired/dv-bsn-1", &opts);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "the certificate expired on 2021-01-01"), 1);
    zr_tenant_report_free(&r);
    sk_X509_pop_free(opts.ca, X509_free);
}

static void test_expiry_warning_window(void **state)
{
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r = check_one(ENTITY_DV, "soon/dv-bsn-1", "soon/dv-bsn-1", &opts);
    assert_int_equal(r.errors, 0);
    assert_int_equal(r.warnings, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_WARNING, "dv.yaml:12: bsn_keys[0]: warning: the certificate expires on"), 1);
    zr_tenant_report_free(&r);
    opts.warn_days = 20; /* 30 days left: outside the window */
    r = check_one(ENTITY_DV, "soon/dv-bsn-1", "soon/dv-bsn-1", &opts);
    assert_int_equal(r.count, 0);
    zr_tenant_report_free(&r);
}

/* A private key file open to group or others: what the relay would refuse
 * in production is an error here too, a warning in preprod, fine in
 * development; 0600 passes everywhere. */
static void test_key_file_mode(void **state)
{
    static const zr_environment_t envs[] = {ZR_ENV_DEVELOPMENT, ZR_ENV_PREPROD, ZR_ENV_PRODUCTION};
    char path[512];
    zr_tenant_t t;
    zr_tenant_origin_t o = {.file = "dv.yaml", .bsn_key_line = {12, 0}};
    snprintf(path, sizeof(path), "%s/loose.key", tmp);
    assert_int_equal(run("cp '%s/pki/dv-bsn-1.key' '%s' && chmod 0640 '%s'", tmp, path, path), 0);
    tenant_make(&t, ENTITY_DV, "pki/dv-bsn-1", "pki/dv-bsn-1");
    t.bsn_keys[0].key_file = path;
    for (size_t i = 0; i < sizeof(envs) / sizeof(envs[0]); i++) {
        zr_tenant_check_opts_t opts = {.environment = envs[i], .warn_days = 60};
        zr_tenant_report_t r = {0};
        zr_tenant_check_key(&t, 0, &o, &opts, &r);
        assert_int_equal(r.errors, envs[i] == ZR_ENV_PRODUCTION ? 1 : 0);
        assert_int_equal(r.warnings, envs[i] == ZR_ENV_PREPROD ? 1 : 0);
        if (envs[i] == ZR_ENV_PRODUCTION)
            assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "dv.yaml:12: bsn_keys[0].key: "), 1);
        if (envs[i] != ZR_ENV_DEVELOPMENT)
            assert_int_equal(lines_with(&r, envs[i] == ZR_ENV_PRODUCTION ? ZR_TENANT_ERROR : ZR_TENANT_WARNING,
                                        "is open to group or others (mode 0640)"), 1);
        zr_tenant_report_free(&r);
    }
    assert_int_equal(chmod(path, 0600), 0);
    {
        zr_tenant_check_opts_t opts = {.environment = ZR_ENV_PRODUCTION, .warn_days = 60};
        zr_tenant_report_t r = {0};
        zr_tenant_check_key(&t, 0, &o, &opts, &r);
        assert_int_equal(r.count, 0);
        zr_tenant_report_free(&r);
    }
    tenant_drop(&t);
}

static void test_test_index_only_outside_production(void **state)
{
    zr_tenant_t t = {.entity_id = ENTITY_DV};
    zr_tenant_origin_t o = {.file = "dv.yaml", .entity_id_line = 3};
    zr_tenant_check_opts_t opts = {.environment = ZR_ENV_PREPROD, .warn_days = 60};
    zr_tenant_report_t r = {0};
    zr_tenant_check_entity(&t, &o, &opts, &r);
    assert_int_equal(r.count, 0);
    opts.environment = ZR_ENV_PRODUCTION;
    zr_tenant_check_entity(&t, &o, &opts, &r);
    assert_int_equal(r.errors, 1);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, "dv.yaml:3: entity_id: entity index 9000 is reserved"), 1);
    zr_tenant_report_free(&r);
    t.entity_id = "urn:nl-eid-gdi:1.0:DV:" OIN_DV ":entities:0001";
    zr_tenant_check_entity(&t, &o, &opts, &r);
    assert_int_equal(r.count, 0);
}

static int strcmp_ptr(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void write_tenant(const char *dir, const char *name, const char *id, const char *oin, int index,
                         const char *uuid, const char *cert)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f,
            "# a care provider\n"
            "id: %s\n"
            "entity_id: urn:nl-eid-gdi:1.0:DV:%s:entities:%04d\n"
            "oin: \"%s\"\n"
            "services:\n"
            "  - loa: substantial\n"
            "    service_uuid: %s\n"
            "bsn_keys:\n"
            "  - cert: %s/%s.pem\n"
            "    key: %s/%s.key\n",
            id, oin, index, oin, uuid, tmp, cert, tmp, cert);
    fclose(f);
}

static void test_directory_duplicates_name_both_files(void **state)
{
    char dir[256], want[1400];
    zr_config_errors_t errs = {0};
    zr_tenant_set_t set = {0};
    zr_tenant_check_opts_t opts = {.warn_days = 10};
    zr_tenant_report_t r = {0};
    snprintf(dir, sizeof(dir), "%s/batch", tmp);
    assert_int_equal(run("mkdir -p '%s/former'", dir), 0);
    write_tenant(dir, "a.yaml", "a", OIN_DV, 1, "11111111-1111-4111-8111-111111111111", "pki/dv-bsn-1");
    /* Same OIN, entity and certificate; other id and ServiceUUID. */
    write_tenant(dir, "b.yaml", "b", OIN_DV, 1, "22222222-2222-4222-8222-222222222222", "pki/dv-bsn-1");
    write_tenant(dir, "c.yaml.bak", "c", OIN_DV, 2, "33333333-3333-4333-8333-333333333333", "pki/dv-bsn-2");
    write_tenant(dir, "former/old.yaml", "old", OIN_DV, 1, "11111111-1111-4111-8111-111111111111", "pki/dv-bsn-1");

    assert_int_equal(zr_config_load_tenant_dir(dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_LENIENT, &set, &errs), 0);
    assert_int_equal(set.count, 2); /* not *.yaml.bak, not former/ */
    assert_string_equal(set.tenants[0].id, "a");
    assert_int_equal(set.origins[1].entity_id_line, 3);
    assert_int_equal(set.origins[1].bsn_key_line[0], 9);
    zr_tenant_check_batch(&set, dir, &opts, &r);
    assert_int_equal(r.errors, 3);
    snprintf(want, sizeof(want), "%s/b.yaml:3: entity_id: entity ID urn:nl-eid-gdi:1.0:DV:%s:entities:0001 is also used by %s/a.yaml:3",
             dir, OIN_DV, dir);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, want), 1);
    snprintf(want, sizeof(want), "%s/b.yaml:4: oin: OIN %s is also used by %s/a.yaml:4", dir, OIN_DV, dir);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, want), 1);
    snprintf(want, sizeof(want), "%s/b.yaml:9: bsn_keys[0].cert: certificate with SHA-256", dir);
    assert_int_equal(lines_with(&r, ZR_TENANT_ERROR, want), 1);
    zr_tenant_report_free(&r);
    zr_config_tenant_set_free(&set);
    zr_config_errors_free(&errs);
}

/* Issue 18 §3: a care provider's logo file is read with its file; a former
 * provider's never is (its logo is shown nowhere, and the file may have
 * left with it). */
static void test_logo_of_current_and_former_provider(void **state)
{
    char dir[256];
    zr_config_errors_t errs = {0};
    zr_tenant_set_t set = {0};
    (void)state;
    snprintf(dir, sizeof(dir), "%s/logos", tmp);
    assert_int_equal(run("mkdir -p '%s'", dir), 0);
    write_tenant(dir, "gone.yaml", "gone", OIN_DV, 1, "11111111-1111-4111-8111-111111111111", "pki/dv-bsn-1");
    assert_int_equal(run("printf 'logo:\\n  file: no-such-logo.svg\\n  alt: Gone\\n' >> '%s/gone.yaml'", dir), 0);
    assert_int_equal(zr_config_load_tenant_dir(dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_FORMER, &set, &errs), 0);
    assert_int_equal(errs.count, 0);
    assert_int_equal(set.count, 1);
    assert_null(set.tenants[0].logo.data);
    zr_config_tenant_set_free(&set);
    zr_config_errors_free(&errs);
    zr_config_load_tenant_dir(dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_LENIENT, &set, &errs);
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.lines[0], "gone.yaml:12: logo.file: cannot read"));
    zr_config_tenant_set_free(&set);
    zr_config_errors_free(&errs);
}

static void test_directory_file_errors_name_file_and_line(void **state)
{
    char dir[256], want[1400];
    zr_config_errors_t errs = {0};
    zr_tenant_set_t set = {0};
    snprintf(dir, sizeof(dir), "%s/broken", tmp);
    assert_int_equal(run("mkdir -p '%s'", dir), 0);
    write_tenant(dir, "x.yaml", "x", "123", 1, "not-a-uuid", "pki/dv-bsn-1");
    assert_true(zr_config_load_tenant_dir(dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_LENIENT, &set, &errs) >= 2);
    snprintf(want, sizeof(want), "%s/x.yaml:4: oin: must be the 20-digit OIN", dir);
    {
        size_t hits = 0;
        for (size_t i = 0; i < errs.count; i++)
            hits += strstr(errs.lines[i], want) != NULL;
        assert_int_equal(hits, 1);
        snprintf(want, sizeof(want), "%s/x.yaml:7: services[0].service_uuid: must be a UUID", dir);
        hits = 0;
        for (size_t i = 0; i < errs.count; i++)
            hits += strstr(errs.lines[i], want) != NULL;
        assert_int_equal(hits, 1);
    }
    zr_config_tenant_set_free(&set);
    zr_config_errors_free(&errs);
}

static void test_batch_above_150_is_flagged(void **state)
{
    zr_tenant_set_t set = {0};
    zr_tenant_check_opts_t opts = {.warn_days = 60};
    zr_tenant_report_t r = {0};
    set.count = ZR_TENANT_BATCH_MAX;
    assert_non_null(set.tenants = calloc(ZR_TENANT_BATCH_MAX + 1, sizeof(*set.tenants)));
    zr_tenant_check_batch(&set, "batch", &opts, &r);
    assert_int_equal(r.count, 0);
    set.count = ZR_TENANT_BATCH_MAX + 1;
    zr_tenant_check_batch(&set, "batch", &opts, &r);
    assert_int_equal(r.errors, 0);
    assert_int_equal(lines_with(&r, ZR_TENANT_WARNING, "batch: warning: 151 care providers"), 1);
    zr_tenant_report_free(&r);
    free(set.tenants);
}

/* A URA names one care organisation: two providers with one URA is a
 * mistake, named at both; providers without a URA never collide. */
static void test_ura_unique(void **state)
{
    zr_tenant_t t[3];
    zr_tenant_origin_t o[3];
    zr_config_errors_t errs = {0};
    memset(t, 0, sizeof(t));
    memset(o, 0, sizeof(o));
    t[0] = (zr_tenant_t){.id = "a", .ura = "12345678"};
    t[1] = (zr_tenant_t){.id = "b"};
    t[2] = (zr_tenant_t){.id = "c", .ura = "12345678"};
    o[0] = (zr_tenant_origin_t){.file = "a.yaml", .ura_line = 5};
    o[1] = (zr_tenant_origin_t){.file = "b.yaml", .ura_line = 1};
    o[2] = (zr_tenant_origin_t){.file = "c.yaml", .ura_line = 6};
    assert_int_equal(zr_config_check_tenants_unique(t, o, 3, 0, &errs), 1);
    assert_int_equal(errs.count, 1);
    assert_string_equal(errs.lines[0], "c.yaml:6: ura: URA 12345678 is also used by a.yaml:5");
    zr_config_errors_free(&errs);
    t[2].ura = "87654321";
    assert_int_equal(zr_config_check_tenants_unique(t, o, 3, 0, &errs), 0);
    zr_config_errors_free(&errs);
}

static const zr_tenant_dir_note_t *note_of(const zr_tenant_dir_scan_t *s, const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    for (size_t i = 0; i < s->note_count; i++)
        if (!strcmp(s->notes[i].file, path))
            return &s->notes[i];
    return NULL;
}

/* Every file of a directory is loaded, refused or named. */
static void test_directory_scan(void **state)
{
    char dir[256], other[256], path[512];
    zr_tenant_dir_scan_t s;
    const zr_tenant_dir_note_t *n;
    snprintf(dir, sizeof(dir), "%s/scan", tmp);
    snprintf(other, sizeof(other), "%s/scan-outside", tmp);
    assert_int_equal(run("mkdir -p '%s/versions' '%s/former' '%s' && cd '%s' && touch a.yaml b.yml C.YAML d.Yml "
                         "a.yaml~ a.yaml.bak '#a.yaml#' notes.txt .a.yaml.swp versions/v2.yaml '%s/x.yaml' && "
                         "ln -s versions/v2.yaml in.yaml && ln -s '%s/x.yaml' out.yaml && ln -s nowhere.yaml "
                         "dangling.yaml && ln -s versions/v2.yaml link.txt && mkdir dir.yaml && "
                         "head -c 1048577 /dev/zero >big.yaml && head -c 1048576 /dev/zero >max.yaml",
                         dir, dir, other, dir, other, other),
                     0);
    assert_int_equal(zr_config_tenant_dir_scan(dir, &s), 0);
    assert_int_equal(s.count, 4);
    snprintf(path, sizeof(path), "%s/a.yaml", dir);
    assert_string_equal(s.files[0], path);
    snprintf(path, sizeof(path), "%s/b.yml", dir);
    assert_string_equal(s.files[1], path);
    snprintf(path, sizeof(path), "%s/in.yaml", dir); /* a link inside the directory */
    assert_string_equal(s.files[2], path);
    snprintf(path, sizeof(path), "%s/max.yaml", dir); /* exactly 1 MiB */
    assert_string_equal(s.files[3], path);

    assert_non_null(n = note_of(&s, dir, "C.YAML"));
    assert_true(n->refused);
    assert_non_null(strstr(n->message, "in lower case"));
    assert_non_null(n = note_of(&s, dir, "d.Yml"));
    assert_true(n->refused);
    assert_non_null(n = note_of(&s, dir, "out.yaml"));
    assert_true(n->refused);
    snprintf(path, sizeof(path), "a symbolic link to %s/x.yaml, which is outside the directory", other);
    assert_non_null(strstr(n->message, path));
    assert_non_null(n = note_of(&s, dir, "dangling.yaml"));
    assert_true(n->refused);
    assert_string_equal(n->message, "a symbolic link to nowhere.yaml, which does not exist");
    assert_non_null(n = note_of(&s, dir, "dir.yaml"));
    assert_true(n->refused);
    assert_non_null(n = note_of(&s, dir, "big.yaml"));
    assert_true(n->refused);
    assert_string_equal(n->message, "1048577 bytes; a care provider file is at most 1 MiB (1048576 bytes)");
    for (size_t i = 0; i < 4; i++) {
        static const char *const copies[] = {"a.yaml~", "a.yaml.bak", "#a.yaml#", "notes.txt"};
        assert_non_null(n = note_of(&s, dir, copies[i]));
        assert_false(n->refused);
    }
    assert_non_null(n = note_of(&s, dir, "link.txt"));
    assert_false(n->refused);
    /* hidden files and subdirectories pass in silence */
    assert_null(note_of(&s, dir, ".a.yaml.swp"));
    assert_null(note_of(&s, dir, "versions"));
    assert_null(note_of(&s, dir, "former"));
    assert_int_equal(s.note_count, 11);
    for (size_t i = 1; i < s.note_count; i++)
        assert_true(strcmp(s.notes[i - 1].file, s.notes[i].file) < 0);
    zr_config_tenant_dir_scan_free(&s);
    assert_int_equal(zr_config_tenant_dir_scan("/nonexistent-zr-dir", &s), -1);
}

/* `tenants validate` prints a file's lines together, in line order; a line
 * of no file comes last; a file name may hold ':'. */
static void test_report_grouped_by_file(void **state)
{
    char *files[] = {"d/a.yaml", "d/b:c.yaml", "d/b.yaml"};
    zr_tenant_report_t r = {0};
    qsort(files, 3, sizeof(*files), strcmp_ptr);
    zr_tenant_report_add(&r, ZR_TENANT_ERROR, NULL, -1, NULL, "d/b.yaml:9: x: late");
    zr_tenant_report_add(&r, ZR_TENANT_ERROR, "d", 0, NULL, "batch-wide");
    zr_tenant_report_add(&r, ZR_TENANT_WARNING, "d/b:c.yaml", 0, NULL, "colon");
    zr_tenant_report_add(&r, ZR_TENANT_ERROR, "d/b.yaml", 4, "y", "early");
    zr_tenant_report_add(&r, ZR_TENANT_ERROR, "d/a.yaml", 12, "z", "first file");
    zr_tenant_report_add(&r, ZR_TENANT_ERROR, "d/b.yaml", 4, "y", "early, second");
    assert_int_equal(zr_tenant_report_group(&r, files, 3), 0);
    assert_int_equal(r.count, 6);
    assert_string_equal(r.lines[0], "d/a.yaml:12: z: first file");
    assert_string_equal(r.lines[1], "d/b.yaml:4: y: early");
    assert_string_equal(r.lines[2], "d/b.yaml:4: y: early, second");
    assert_string_equal(r.lines[3], "d/b.yaml:9: x: late");
    assert_string_equal(r.lines[4], "d/b:c.yaml: warning: colon");
    assert_int_equal(r.severity[4], ZR_TENANT_WARNING);
    assert_string_equal(r.lines[5], "d: batch-wide");
    assert_string_equal(files[r.file_index[0]], "d/a.yaml");
    assert_string_equal(files[r.file_index[3]], "d/b.yaml");
    assert_string_equal(files[r.file_index[4]], "d/b:c.yaml");
    assert_int_equal(r.file_index[5], SIZE_MAX);
    assert_int_equal(r.errors, 5);
    assert_int_equal(r.warnings, 1);
    zr_tenant_report_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_key_is_clean),
        cmocka_unit_test(test_key_must_belong_to_cert),
        cmocka_unit_test(test_key_usage_must_allow_encipherment),
        cmocka_unit_test(test_oin_must_match_entity_id),
        cmocka_unit_test(test_rsa_must_be_2048),
        cmocka_unit_test(test_chain_to_ca),
        cmocka_unit_test(test_expiry_warning_window),
        cmocka_unit_test(test_key_file_mode),
        cmocka_unit_test(test_test_index_only_outside_production),
        cmocka_unit_test(test_directory_duplicates_name_both_files),
        cmocka_unit_test(test_logo_of_current_and_former_provider),
        cmocka_unit_test(test_directory_file_errors_name_file_and_line),
        cmocka_unit_test(test_batch_above_150_is_flagged),
        cmocka_unit_test(test_ura_unique),
        cmocka_unit_test(test_directory_scan),
        cmocka_unit_test(test_report_grouped_by_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
