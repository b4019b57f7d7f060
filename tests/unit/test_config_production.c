/* Unit tests for what `environment: production` refuses (issue 5 §1,
 * docs/configuration.md#environments): each refusal is exactly one error
 * line, "FILE:LINE: KEY: message", at the line of the offending value; the
 * same settings load in development or preprod where they are allowed.
 *
 * Every variant starts from tests/data/config/valid_production.yaml, which
 * loads without error, so a variant's single error is its own. The test PKI
 * is the build directory's (certs-example/make-pki.sh, made once); weak keys
 * and files with loose modes are made here in a temporary directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "../../src/config/config_internal.h"
#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"
#include "log_capture.h"
#include "config_text.h"

/* Paths here are /tmp/... and the build directory: short. gcc cannot know
 * that and would flag every snprintf of one path into another buffer. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

static char dir[256];  /* temporary: configurations, weak keys, loose files */
static char pki[1024]; /* the shared test PKI (never modified here) */
static char *base;     /* valid_production.yaml with absolute paths */

/* ---- set-up ----------------------------------------------------------------- */

static int run(const char *cmd)
{
    return system(cmd) == 0 ? 0 : -1;
}

static int setup(void **state)
{
    char cmd[4096], cwd[512];
    const char *data = getenv("ZR_TEST_DATA");
    snprintf(dir, sizeof(dir), "/tmp/zr-test-production-XXXXXX");
    if (!data || !mkdtemp(dir) || !getcwd(cwd, sizeof(cwd)))
        return -1;
    /* ctest runs unit tests in the build directory: share its PKI with the
     * integration tests (make-pki.sh is idempotent and locks). */
    snprintf(pki, sizeof(pki), "%s/test-pki", cwd);
    snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s' >/dev/null", ZR_SOURCE_DIR, pki);
    if (run(cmd) != 0)
        return -1;
    /* Weak material: RSA 1024 (key + self-signed certificate, no keyUsage so
     * it could be a BSN certificate) and EC P-224. */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && umask 077 && "
             "openssl req -x509 -newkey rsa:1024 -nodes -keyout rsa1024.key -out rsa1024.pem -days 30 "
             "-subj /CN=weak -addext keyUsage=digitalSignature,keyEncipherment >/dev/null 2>&1 && "
             "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-224 -nodes -keyout ec224.key "
             "-out ec224.pem -days 30 -subj /CN=weak-ec >/dev/null 2>&1 && mkdir providers",
             dir);
    if (run(cmd) != 0)
        return -1;
    base = config_text_base("valid_production.yaml", pki, dir);
    return base ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[512];
    free(base);
    base = NULL;
    if (strncmp(dir, "/tmp/zr-test-production-", 24) != 0)
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return run(cmd);
}

/* ---- variants ---------------------------------------------------------------- */

/* "DIR/NAME" (static buffer: one at a time). */
static const char *in_dir(const char *name)
{
    static char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    return p;
}

static const char *in_pki(const char *name)
{
    static char p[1024];
    snprintf(p, sizeof(p), "%s/%s", pki, name);
    return p;
}

/* A copy of a PKI file in DIR with the given mode. */
static const char *copy_with_mode(const char *pki_name, const char *copy_name, mode_t mode)
{
    static char out[1024];
    char *data = NULL;
    size_t len = 0;
    FILE *f;
    assert_int_equal(zr_file_read(in_pki(pki_name), 1 << 20, &data, &len), 0);
    snprintf(out, sizeof(out), "%s/%s", dir, copy_name);
    unlink(out); /* an earlier copy may be read-only */
    f = fopen(out, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
    free(data);
    assert_int_equal(chmod(out, mode), 0);
    return out;
}

/* Builds NAME.yaml from the base: environment set to env, then each
 * {from, to} pair replaced (every from must occur), then tail appended.
 * The pairs end with NULL. Returns the text (caller frees). */
static char *variant(const char *name, const char *env, const char *tail, ...)
{
    char envline[64], *text, *next;
    const char *from, *to;
    va_list ap;
    snprintf(envline, sizeof(envline), "environment: %s", env);
    text = str_replace_all(base, "environment: production", envline);
    va_start(ap, tail);
    while ((from = va_arg(ap, const char *)) != NULL) {
        to = va_arg(ap, const char *);
        if (!strstr(text, from))
            fail_msg("variant %s: '%s' is not in the base configuration", name, from);
        next = str_replace_all(text, from, to);
        free(text);
        text = next;
    }
    va_end(ap);
    if (tail) {
        next = NULL;
        assert_true(asprintf(&next, "%s%s", text, tail) > 0);
        free(text);
        text = next;
    }
    write_text(in_dir(name), text);
    return text;
}

/* Loads DIR/NAME and asserts it fails with exactly one error:
 * "FILE:LINE: KEY: TEXT..." with LINE that of marker in the file's text
 * (FILE: DIR/NAME, or err_file when the error is in another file). */
static void expect_one_in(const char *name, const char *text, const char *err_file, const char *marker,
                          const char *key, const char *msg)
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
    assert_true(asprintf(&want, "%s:%d: %s: %s", err_file ? err_file : in_dir(name), line_of(text, marker), key,
                         msg) > 0);
    if (strncmp(errs.lines[0], want, strlen(want)) != 0) {
        fprintf(stderr, "  want: %s\n", want);
        print_errors(&errs);
        fail();
    }
    free(want);
    zr_config_errors_free(&errs);
}

static void expect_one(const char *name, const char *text, const char *marker, const char *key, const char *msg)
{
    expect_one_in(name, text, NULL, marker, key, msg);
}

/* Loads DIR/NAME, which must load without error; returns it. */
static zr_config_t *expect_ok(const char *name)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = zr_config_load(in_dir(name), &errs);
    if (!cfg) {
        fprintf(stderr, "%s: expected to load\n", name);
        print_errors(&errs);
    }
    assert_non_null(cfg);
    assert_int_equal(errs.count, 0);
    return cfg;
}

static void expect_ok_free(const char *name)
{
    zr_config_free(expect_ok(name));
}

/* ---- tests ------------------------------------------------------------------- */

/* The base is clean: every variant's one error is its own. */
static void test_base_loads(void **state)
{
    zr_config_t *cfg;
    free(variant("base.yaml", "production", NULL, NULL));
    cfg = expect_ok("base.yaml");
    assert_int_equal(cfg->environment, ZR_ENV_PRODUCTION);
    assert_string_equal(cfg->redis.password, "test-redis-password");
    zr_config_free(cfg);
}

/* Issue 17 §3: NL GOV §Discovery allows private_key_jwt and tls_client_auth;
 * another method in production only as a documented deviation. */
static void test_client_auth_methods(void **state)
{
    static const char secret[] =
        "    auth_method: client_secret_basic\n"
        "    client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d\n"
        "    auth_method_deviation: \"TEST: the portal's OIDC library has no private_key_jwt yet; migration planned\"\n";
    static const char bare[] =
        "    auth_method: client_secret_basic\n"
        "    client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d\n";
    char *t, mtls[2048], client[1024];
    zr_config_t *cfg;

    (void)state;
    t = variant("basic.yaml", "production", NULL, secret, bare, NULL);
    expect_one("basic.yaml", t, "auth_method: client_secret_basic", "clients[0].auth_method",
               "client_secret_basic is refused in production (NL GOV profile: private_key_jwt or tls_client_auth); "
               "to run it as a documented deviation set auth_method_deviation: \"<reason>\"");
    free(t);
    free(variant("basic-preprod.yaml", "preprod", NULL, secret, bare, NULL));
    expect_ok_free("basic-preprod.yaml");
    t = variant("none.yaml", "production", NULL, secret, "    auth_method: none\n", NULL);
    expect_one("none.yaml", t, "auth_method: none", "clients[0].auth_method", "none is refused in production");
    free(t);
    t = variant("empty-reason.yaml", "production", NULL, secret,
                "    auth_method: none\n    auth_method_deviation: \"\"\n", NULL);
    expect_one("empty-reason.yaml", t, "auth_method_deviation: \"\"", "clients[0].auth_method_deviation",
               "must give the reason of the deviation");
    free(t);
    t = variant("strong-reason.yaml", "production", NULL, "    jwks_file:",
                "    auth_method_deviation: none needed\n    jwks_file:", NULL);
    expect_one("strong-reason.yaml", t, "auth_method_deviation: none needed", "clients[1].auth_method_deviation",
               "is only used with client_secret_basic or none (private_key_jwt is no deviation)");
    free(t);
    /* the deviation is kept for the start-up warning */
    cfg = expect_ok("base.yaml");
    assert_string_equal(cfg->clients[0].auth_method_deviation,
                        "TEST: the portal's OIDC library has no private_key_jwt yet; migration planned");
    zr_config_free(cfg);

    /* tls_client_auth is fine in production, with oidc.mtls */
    snprintf(mtls, sizeof(mtls), "\noidc:\n  mtls:\n    ca_file: %s\n    forwarded_cert_header: X-SSL-Client-Cert\n",
             in_pki("ca.pem"));
    snprintf(client, sizeof(client), "    auth_method: tls_client_auth\n"
                                     "    tls_client_auth_subject_dn: CN=portal,O=Demo\n");
    free(variant("tls.yaml", "production", "limits:\n  trusted_proxies: [10.0.0.1/32]\n", secret, client, "\noidc:\n",
                 mtls, NULL));
    cfg = expect_ok("tls.yaml");
    assert_int_equal(cfg->clients[0].auth_method, ZR_CLIENT_AUTH_TLS_CLIENT_AUTH);
    assert_string_equal(cfg->clients[0].tls_client_auth_subject_dn, "CN=portal,O=Demo");
    assert_string_equal(cfg->oidc.mtls_forwarded_cert_header, "X-SSL-Client-Cert");
    zr_config_free(cfg);
    /* a DN as people write it ("CN=portal, O=Demo") never matches the certificate's RFC 4514 form */
    snprintf(mtls, sizeof(mtls), "\noidc:\n  mtls:\n    ca_file: %s\n    forwarded_cert_header: X-SSL-Client-Cert\n",
             in_pki("ca.pem"));
    t = variant("dn-spaces.yaml", "production", "limits:\n  trusted_proxies: [10.0.0.1/32]\n", secret,
                "    auth_method: tls_client_auth\n    tls_client_auth_subject_dn: CN=portal, O=Demo\n", "\noidc:\n",
                mtls, NULL);
    expect_one("dn-spaces.yaml", t, "tls_client_auth_subject_dn: CN=portal, O=Demo",
               "clients[0].tls_client_auth_subject_dn", "write the DN as `openssl x509");
    free(t);
    free(variant("dn-escaped.yaml", "production", "limits:\n  trusted_proxies: [10.0.0.1/32]\n", secret,
                 "    auth_method: tls_client_auth\n    tls_client_auth_subject_dn: \"CN=portal,O=Demo\\\\, Inc\"\n",
                 "\noidc:\n", mtls, NULL));
    cfg = expect_ok("dn-escaped.yaml");
    assert_string_equal(cfg->clients[0].tls_client_auth_subject_dn, "CN=portal,O=Demo\\, Inc");
    zr_config_free(cfg);
    /* oidc.mtls with neither tls: nor a forwarded header serves nobody */
    snprintf(mtls, sizeof(mtls), "\noidc:\n  mtls:\n    ca_file: %s\n", in_pki("ca.pem"));
    t = variant("mtls-nowhere.yaml", "production", NULL, secret, client, "\noidc:\n", mtls, NULL);
    /* at the section's first key: libyaml's mark of a mapping */
    expect_one("mtls-nowhere.yaml", t, "    ca_file: ", "oidc.mtls", "needs tls: (the relay ends TLS");
    free(t);
}

static void test_log_level_debug(void **state)
{
    zr_config_t *cfg;
    char *t = variant("debug.yaml", "production", "log_level: debug\n", NULL);
    expect_one("debug.yaml", t, "log_level: debug", "log_level", "debug is refused in production");
    free(t);
    /* info still is fine; debug is for development and preprod (tracing) */
    free(variant("info.yaml", "production", "log_level: info\n", NULL));
    expect_ok_free("info.yaml");
    free(variant("debug-preprod.yaml", "preprod", "log_level: debug\n", NULL));
    cfg = expect_ok("debug-preprod.yaml");
    assert_int_equal(cfg->log_level, ZR_LOG_DEBUG);
    zr_config_free(cfg);
    free(variant("debug-dev.yaml", "development", "log_level: debug\n", NULL));
    expect_ok_free("debug-dev.yaml");
}

/* log_format and audit_log (issue 16 §3): known values only, each error
 * FILE:LINE: key: message; the audit key of its own. */
static void test_log_format_and_audit_log(void **state)
{
    zr_config_t *cfg;
    char *t;
    (void)state;
    t = variant("format-xml.yaml", "production", "log_format: xml\n", NULL);
    expect_one("format-xml.yaml", t, "log_format: xml", "log_format", "'xml' is not one of: text, json");
    free(t);
    cfg = expect_ok("base.yaml");
    assert_int_equal(cfg->log_format, ZR_LOG_FORMAT_TEXT);
    assert_null(cfg->audit_log.file);
    zr_config_free(cfg);
    free(variant("format-json.yaml", "production", "log_format: json\naudit_log:\n  file: audit.jsonl\n", NULL));
    cfg = expect_ok("format-json.yaml");
    assert_int_equal(cfg->log_format, ZR_LOG_FORMAT_JSON);
    assert_non_null(strstr(cfg->audit_log.file, "audit.jsonl"));
    /* derived, and not the decision log's nor the log pseudonyms' key */
    assert_memory_not_equal(cfg->audit_log.subject_key, cfg->decision_log.subject_key, 32);
    assert_memory_not_equal(cfg->audit_log.subject_key, cfg->log_pseudonym_key, 32);
    assert_int_equal(cfg->audit_log.refuse, 1); /* fail closed unless chosen otherwise */
    zr_config_free(cfg);
    free(variant("audit-continue.yaml", "production", "audit_log:\n  file: a.jsonl\n  on_failure: continue\n", NULL));
    cfg = expect_ok("audit-continue.yaml");
    assert_int_equal(cfg->audit_log.refuse, 0);
    zr_config_free(cfg);
    t = variant("audit-maybe.yaml", "production", "audit_log:\n  file: a.jsonl\n  on_failure: maybe\n", NULL);
    expect_one("audit-maybe.yaml", t, "on_failure: maybe", "audit_log.on_failure",
               "'maybe' is not one of: continue, refuse");
    free(t);
    t = variant("audit-key.yaml", "production", "audit_log:\n  file: audit.jsonl\n  subject_kee: x\n", NULL);
    expect_one("audit-key.yaml", t, "subject_kee", "audit_log.subject_kee", "unknown key");
    free(t);
    t = variant("audit-nofile.yaml", "production", "audit_log: {}\n", NULL);
    expect_one("audit-nofile.yaml", t, "audit_log: {}", "audit_log.file", "is required");
    free(t);
}

static void test_redis_password(void **state)
{
    char *t = variant("nopass.yaml", "production", NULL, "  password: test-redis-password\n", "", NULL);
    expect_one("nopass.yaml", t, "redis:", "redis.password", "is required in production");
    free(t);
    t = variant("emptypass.yaml", "production", NULL, "password: test-redis-password", "password: \"\"", NULL);
    expect_one("emptypass.yaml", t, "password: \"\"", "redis.password", "is required in production");
    free(t);
    free(variant("nopass-preprod.yaml", "preprod", NULL, "  password: test-redis-password\n", "", NULL));
    expect_ok_free("nopass-preprod.yaml");
    free(variant("nopass-dev.yaml", "development", NULL, "  password: test-redis-password\n", "", NULL));
    expect_ok_free("nopass-dev.yaml");
}

/* redis.sentinels (issue 13 §6): the sentinels name the master, so no
 * host/port with them; the master's name is required; in production the
 * sentinels are on this host and ask for a password; WAIT fits in the
 * store call's deadline; wait_replicas defaults to 1 with sentinels. */
static void test_redis_sentinels(void **state)
{
    static const char fixed[] = "  port: 6390\n";
    static const char with[] = "  sentinels: [127.0.0.1:26379, \"[::1]:26380\", localhost:26381]\n"
                               "  sentinel_master: zrmaster\n  sentinel_password: test-sentinel-password\n";
    char *t;
    zr_config_t *cfg;
    (void)state;
    free(variant("sentinels.yaml", "production", NULL, fixed, with, NULL));
    cfg = expect_ok("sentinels.yaml");
    assert_int_equal(cfg->redis.sentinel_count, 3);
    assert_string_equal(cfg->redis.sentinels[1], "[::1]:26380");
    assert_string_equal(cfg->redis.sentinel_master, "zrmaster");
    assert_string_equal(cfg->redis.sentinel_password, "test-sentinel-password");
    assert_int_equal(cfg->redis.wait_replicas, 1);
    assert_int_equal(cfg->redis.wait_timeout_ms, 100);
    assert_int_equal(cfg->redis.loopback_only, 1);
    zr_config_free(cfg);

    /* without sentinels no WAIT by default */
    free(variant("no-sentinels.yaml", "production", NULL, NULL));
    cfg = expect_ok("no-sentinels.yaml");
    assert_int_equal(cfg->redis.wait_replicas, 0);
    zr_config_free(cfg);

    t = variant("sentinels-host.yaml", "production", NULL, fixed, "  host: 127.0.0.1\n" "  sentinels: [127.0.0.1:26379]\n"
                "  sentinel_master: m\n  sentinel_password: test-sentinel-password\n", NULL);
    expect_one("sentinels-host.yaml", t, "host:", "redis.host", "not with redis.sentinels: the sentinels name the master");
    free(t);
    t = variant("sentinels-noname.yaml", "production", NULL, fixed,
                "  sentinels: [127.0.0.1:26379]\n  sentinel_password: test-sentinel-password\n", NULL);
    expect_one("sentinels-noname.yaml", t, "redis:", "redis.sentinel_master", "is required with redis.sentinels");
    free(t);
    t = variant("sentinels-remote.yaml", "production", NULL, fixed,
                "  sentinels: [127.0.0.1:26379, 10.0.0.7:26379]\n  sentinel_master: m\n"
                "  sentinel_password: test-sentinel-password\n", NULL);
    expect_one("sentinels-remote.yaml", t, "sentinels:", "redis.sentinels[1]",
               "'10.0.0.7:26379' is not a loopback address");
    free(t);
    t = variant("sentinels-nopass.yaml", "production", NULL, fixed,
                "  sentinels: [127.0.0.1:26379]\n  sentinel_master: m\n", NULL);
    expect_one("sentinels-nopass.yaml", t, "sentinels:", "redis.sentinel_password", "is required in production");
    free(t);
    t = variant("sentinels-bad.yaml", "development", NULL, fixed,
                "  sentinels: [127.0.0.1]\n  sentinel_master: m\n", NULL);
    expect_one("sentinels-bad.yaml", t, "sentinels:", "redis.sentinels[0]", "'127.0.0.1' is not HOST:PORT");
    free(t);
    t = variant("sentinel-master-alone.yaml", "development", NULL, fixed, "  sentinel_master: m\n", NULL);
    expect_one("sentinel-master-alone.yaml", t, "sentinel_master:", "redis.sentinel_master",
               "is only used with redis.sentinels");
    free(t);
    t = variant("wait-timeout.yaml", "development", NULL, fixed,
                "  port: 6390\n  timeout_ms: 200\n  wait_replicas: 1\n  wait_timeout_ms: 200\n", NULL);
    expect_one("wait-timeout.yaml", t, "wait_timeout_ms:", "redis.wait_timeout_ms",
               "200 must be below redis.timeout_ms (200)");
    free(t);
    /* a short timeout_ms without WAIT is not judged against its default */
    free(variant("short-timeout.yaml", "development", NULL, fixed, "  port: 6390\n  timeout_ms: 50\n", NULL));
    cfg = expect_ok("short-timeout.yaml");
    assert_int_equal(cfg->redis.wait_replicas, 0);
    zr_config_free(cfg);
}

/* redis.password_file: the password from a file of its own (one line, the
 * final newline not part of it), with the key files' mode check; password
 * and password_file together, an empty or multi-line file are errors. */
static void test_redis_password_file(void **state)
{
    char line[1200], path[1024], *t;
    zr_config_t *cfg;
    snprintf(path, sizeof(path), "%s", in_dir("redis.pass"));
    write_text(path, "test-redis-password\n");
    chmod(path, 0600);
    snprintf(line, sizeof(line), "  password_file: %s\n", path);
    free(variant("passfile.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL));
    cfg = expect_ok("passfile.yaml");
    assert_string_equal(cfg->redis.password, "test-redis-password");
    zr_config_free(cfg);

    /* open to others: refused in production like a key file */
    chmod(path, 0644);
    t = variant("passfile-loose.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL);
    expect_one("passfile-loose.yaml", t, "password_file:", "redis.password_file", "");
    free(t);
    chmod(path, 0600);

    /* both */
    snprintf(line, sizeof(line), "  password: test-redis-password\n  password_file: %s\n", path);
    t = variant("passfile-both.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL);
    expect_one("passfile-both.yaml", t, "password_file:", "redis.password_file",
               "give the password once: password or password_file, not both");
    free(t);

    /* empty, two lines, missing */
    snprintf(line, sizeof(line), "  password_file: %s\n", path);
    write_text(path, "\n");
    t = variant("passfile-empty.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL);
    expect_one("passfile-empty.yaml", t, "password_file:", "redis.password_file", "");
    free(t);
    write_text(path, "first-secret\nsecond-secret\n");
    t = variant("passfile-lines.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL);
    expect_one("passfile-lines.yaml", t, "password_file:", "redis.password_file", "");
    free(t);
    /* the error names the file, never what is in it */
    {
        zr_config_errors_t errs = {0};
        assert_null(zr_config_load(in_dir("passfile-lines.yaml"), &errs));
        for (size_t i = 0; i < errs.count; i++)
            assert_null(strstr(errs.lines[i], "secret"));
        zr_config_errors_free(&errs);
    }
    snprintf(line, sizeof(line), "  password_file: %s\n", in_dir("no-such.pass"));
    t = variant("passfile-missing.yaml", "production", NULL, "  password: test-redis-password\n", line, NULL);
    expect_one("passfile-missing.yaml", t, "password_file:", "redis.password_file", "cannot read");
    free(t);
}

static void test_redis_remote(void **state)
{
    static const char *const remote[] = {"redis.internal.example.nl", "10.1.2.3", "128.0.0.1", "::2", "[fe80::1]",
                                         "localhost.example.nl"};
    static const char *const loopback[] = {"127.0.0.1", "127.9.8.7", "localhost", "LocalHost", "::1", "[::1]"};
    char line[128], want[256];
    for (size_t i = 0; i < sizeof(remote) / sizeof(remote[0]); i++) {
        char *t;
        snprintf(line, sizeof(line), "  host: \"%s\"\n  port: 6390\n", remote[i]);
        t = variant("remote.yaml", "production", NULL, "  port: 6390\n", line, NULL);
        snprintf(want, sizeof(want), "'%s' is not a loopback address and the relay cannot speak TLS to Redis: "
                                     "refused in production; use redis.unix_socket, or a local TLS tunnel",
                 remote[i]);
        expect_one("remote.yaml", t, "  host: ", "redis.host", want);
        free(t);
    }
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        snprintf(line, sizeof(line), "  host: \"%s\"\n  port: 6390\n", loopback[i]);
        free(variant("loopback.yaml", "production", NULL, "  port: 6390\n", line, NULL));
        expect_ok_free("loopback.yaml");
    }
    /* a unix socket wins over host, so host does not matter then */
    free(variant("socket.yaml", "production", NULL, "  port: 6390\n",
                 "  host: redis.internal.example.nl\n  unix_socket: /run/redis/redis.sock\n", NULL));
    expect_ok_free("socket.yaml");
    free(variant("remote-preprod.yaml", "preprod", NULL, "  port: 6390\n", "  host: 10.1.2.3\n  port: 6390\n", NULL));
    expect_ok_free("remote-preprod.yaml");
}

static void test_http_base_url(void **state)
{
    char *t = variant("http-base.yaml", "production", NULL, "public_base_url: https://", "public_base_url: http://",
                      NULL);
    expect_one("http-base.yaml", t, "public_base_url:", "public_base_url", "http is refused in production");
    free(t);
    free(variant("http-base-preprod.yaml", "preprod", NULL, "public_base_url: https://", "public_base_url: http://",
                 NULL));
    expect_ok_free("http-base-preprod.yaml");
}

/* '*' is refused in every environment: redirect URIs and origins are
 * compared exactly. */
static void test_wildcards_everywhere(void **state)
{
    static const char *const envs[] = {"development", "preprod", "production"};
    static const char *const redirects[] = {"https://*.example.nl/callback", "https://portal.example.nl/*",
                                            "https://portal.example.nl/cb*", "https://*/callback"};
    static const char *const cb = "      - https://portal.example.nl/callback\n";
    char line[256];
    for (size_t e = 0; e < 3; e++) {
        for (size_t i = 0; i < sizeof(redirects) / sizeof(redirects[0]); i++) {
            char *t;
            snprintf(line, sizeof(line), "      - %s\n", redirects[i]);
            t = variant("wild.yaml", envs[e], NULL, cb, line, NULL);
            expect_one("wild.yaml", t, redirects[i], "clients[0].redirect_uris[0]",
                       "'*' is not a wildcard: redirect URIs are compared exactly");
            free(t);
        }
        {
            char *t = variant("wild-logout.yaml", envs[e], NULL, cb,
                              "      - https://portal.example.nl/callback\n    post_logout_redirect_uris:\n"
                              "      - https://portal.example.nl/loggedout\n      - https://portal.example.nl/*\n",
                              NULL);
            expect_one("wild-logout.yaml", t, "https://portal.example.nl/*", "clients[0].post_logout_redirect_uris[1]",
                       "'*' is not a wildcard: redirect URIs are compared exactly");
            free(t);
            t = variant("wild-origin.yaml", envs[e], NULL, cb,
                        "      - https://portal.example.nl/callback\n    allowed_origins:\n      - https://*.example.nl\n",
                        NULL);
            expect_one("wild-origin.yaml", t, "https://*.example.nl", "clients[0].allowed_origins[0]",
                       "'*' is not a wildcard: origins are compared exactly");
            free(t);
        }
    }
}

static void test_http_redirects_and_origins(void **state)
{
    static const char *const cb = "      - https://portal.example.nl/callback\n";
    char *t = variant("http-redirect.yaml", "production", NULL, cb, "      - http://localhost:8000/callback\n", NULL);
    expect_one("http-redirect.yaml", t, "http://localhost:8000", "clients[0].redirect_uris[0]",
               "http is refused in production: must be an https URL");
    free(t);
    t = variant("http-logout.yaml", "production", NULL, cb,
                "      - https://portal.example.nl/callback\n    post_logout_redirect_uris:\n"
                "      - http://localhost:8000/loggedout\n",
                NULL);
    expect_one("http-logout.yaml", t, "http://localhost:8000", "clients[0].post_logout_redirect_uris[0]",
               "http is refused in production: must be an https URL");
    free(t);
    t = variant("http-origin.yaml", "production", NULL, cb,
                "      - https://portal.example.nl/callback\n    allowed_origins:\n      - http://localhost:3000\n", NULL);
    expect_one("http-origin.yaml", t, "http://localhost:3000", "clients[0].allowed_origins[0]",
               "http is refused in production: must be an https origin");
    free(t);
    /* development and preprod: http on loopback only */
    for (int e = 0; e < 2; e++) {
        const char *env = e ? "preprod" : "development";
        free(variant("http-dev.yaml", env, NULL, cb,
                     "      - http://localhost:8000/callback\n    post_logout_redirect_uris:\n"
                     "      - http://127.0.0.1:8000/loggedout\n    allowed_origins:\n      - http://localhost:3000\n",
                     NULL));
        expect_ok_free("http-dev.yaml");
        t = variant("http-remote.yaml", env, NULL, cb, "      - http://portal.example.nl/callback\n", NULL);
        expect_one("http-remote.yaml", t, "http://portal.example.nl", "clients[0].redirect_uris[0]",
                   "must be an absolute https URL (or http on localhost in development)");
        free(t);
    }
}

static const char provider_file[] =
    "id: ziekenhuis-test\n"
    "entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:%s\n"
    "oin: \"00000009999999999002\"\n"
    "services:\n"
    "  - loa: substantial\n"
    "    service_uuid: 0b8a2c5e-7f3d-4a6b-9c1e-2d3f4a5b6c7d\n"
    "bsn_keys:\n"
    "  - cert: %s/dv2-bsn-1.pem\n"
    "    key: %s/dv2-bsn-1.key\n";

static void write_provider(const char *index)
{
    char *text = NULL;
    assert_true(asprintf(&text, provider_file, index, pki, pki) > 0);
    write_text(in_dir("providers/ziekenhuis-test.yaml"), text);
    free(text);
}

/* eID SAML: entity indexes 9000-9999 are test registrations, wherever an
 * entityID is configured: TVS, a care provider inline or in its own file,
 * the cluster (LC). */
static void test_entity_indexes(void **state)
{
    static const char *const msg9 = "entity index 9";
    char *t, *ptext = NULL, tail[512];
    const char *lc[] = {"relay-signing.", "lc-signing.", "relay-tls-client.", "lc-tls-client.", NULL};

    t = variant("tvs-index.yaml", "production", NULL, "RD:00000009999999999000:entities:0000",
                "RD:00000009999999999000:entities:9000", NULL);
    expect_one("tvs-index.yaml", t, "RD:00000009999999999000:entities:9000", "tvs.entity_id", msg9);
    free(t);
    t = variant("dv-index.yaml", "production", NULL, "DV:00000009999999999001:entities:0001",
                "DV:00000009999999999001:entities:9001", NULL);
    expect_one("dv-index.yaml", t, "entities:9001", "care_providers[0].entity_id",
               "entity index 9001 is reserved for test and refused in production");
    free(t);

    /* refuse: as before quarantine (the file's entity ID is its own problem
     * under the default, test_quarantine_entity_index) */
    snprintf(tail, sizeof(tail), "care_providers_dir: %s/providers\ncare_providers_on_error: refuse\n", dir);
    write_provider("9002");
    t = variant("dir-index.yaml", "production", tail, NULL);
    free(t);
    assert_true(asprintf(&ptext, provider_file, "9002", pki, pki) > 0);
    {
        char pfile[1024];
        snprintf(pfile, sizeof(pfile), "%s", in_dir("providers/ziekenhuis-test.yaml"));
        expect_one_in("dir-index.yaml", ptext, pfile, "entity_id:", "entity_id",
                      "entity index 9002 is reserved for test and refused in production");
    }
    free(ptext);
    /* quarantine (the default): that provider alone is out */
    {
        char qtail[512];
        zr_config_errors_t errs = {0};
        zr_config_t *cfg;
        const zr_tenant_t *qt;
        snprintf(qtail, sizeof(qtail), "care_providers_dir: %s/providers\n", dir);
        free(variant("dir-index-q.yaml", "production", qtail, NULL));
        cfg = zr_config_load(in_dir("dir-index-q.yaml"), &errs);
        print_errors(&errs);
        assert_non_null(cfg);
        assert_int_equal(cfg->quarantined_count, 1);
        assert_non_null(qt = zr_config_find_tenant(cfg, "ziekenhuis-test"));
        assert_true(qt->quarantined);
        assert_int_equal(qt->quarantine_reason_count, 1);
        assert_non_null(strstr(qt->quarantine_reasons[0], "entity index 9002 is reserved for test"));
        assert_false(cfg->tenants[0].quarantined);
        zr_config_free(cfg);
        zr_config_errors_free(&errs);
    }
    write_provider("0002");
    free(variant("dir-ok.yaml", "production", tail, NULL));
    expect_ok_free("dir-ok.yaml");

    /* the cluster (LC), with the LC's own certificates */
    t = variant("lc-index.yaml", "production",
                "cluster:\n  entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9100\n"
                "  oin: \"00000009999999999100\"\n",
                lc[0], lc[1], lc[2], lc[3], NULL);
    expect_one("lc-index.yaml", t, "LC:00000009999999999100:entities:9100", "cluster.entity_id",
               "entity index 9100 is reserved for test and refused in production");
    free(t);
    free(variant("lc-ok.yaml", "production",
                 "cluster:\n  entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:0100\n"
                 "  oin: \"00000009999999999100\"\n",
                 lc[0], lc[1], lc[2], lc[3], NULL));
    expect_ok_free("lc-ok.yaml");

    /* preprod is where test registrations live: all of them load */
    write_provider("9002");
    free(variant("indexes-preprod.yaml", "preprod",
                 "care_providers_dir: providers\n"
                 "cluster:\n  entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9100\n"
                 "  oin: \"00000009999999999100\"\n",
                 "RD:00000009999999999000:entities:0000", "RD:00000009999999999000:entities:9000",
                 "DV:00000009999999999001:entities:0001", "DV:00000009999999999001:entities:9001", lc[0], lc[1],
                 lc[2], lc[3], NULL));
    expect_ok_free("indexes-preprod.yaml");
}

static void test_mock_sections(void **state)
{
    char *t = variant("mock-tvs.yaml", "production", "mock_tvs:\n  listen: 127.0.0.1:8081\n", NULL);
    expect_one("mock-tvs.yaml", t, "mock_tvs:", "mock_tvs", "the mock TVS is refused in production");
    free(t);
    t = variant("mock-dezi.yaml", "production", "mock_dezi:\n  listen: 127.0.0.1:8082\n", NULL);
    expect_one("mock-dezi.yaml", t, "mock_dezi:", "mock_dezi", "the mock Dezi is refused in production");
    free(t);
}

/* A production Dezi section around the given keys. */
static char *dezi_tail(const char *client_key, const char *decryption_key)
{
    char *out = NULL;
    assert_true(asprintf(&out,
                         "dezi:\n  issuer: https://auth.dezi.nl\n  client_id: zorgrelay-test\n"
                         "  auth_method: private_key_jwt\n  client_key: %s\n  decryption_key: %s\n"
                         "  jku_allow:\n    - https://auth.dezi.nl/dezi/jwks.json\n",
                         client_key, decryption_key) > 0);
    return out;
}

/* NL GOV §Public keys: x5c carries the whole chain up to the root. The
 * base's OIDC certificate file holds the leaf and the test CA (a root);
 * production refuses the leaf alone, other environments load it (the relay
 * warns at start). oidc.metadata_max_age: a week unless set, 60 s to 30 days. */
static void test_oidc_chain_to_root(void **state)
{
    char chain[1024], leaf[1024];
    zr_config_t *cfg;
    char *t;
    (void)state;

    cfg = expect_ok("base.yaml");
    assert_int_equal(cfg->oidc.keys[0].chain_to_root, 1);
    assert_int_equal(sk_X509_num(cfg->oidc.keys[0].chain), 1);
    assert_int_equal(cfg->oidc.metadata_max_age_s, 604800);
    zr_config_free(cfg);

    snprintf(chain, sizeof(chain), "%s", in_pki("oidc-rs256-chain.pem"));
    snprintf(leaf, sizeof(leaf), "%s", in_pki("oidc-rs256.pem"));
    t = variant("oidc-leaf.yaml", "production", NULL, chain, leaf, NULL);
    {
        char msg[2048];
        snprintf(msg, sizeof(msg), "cert: %s ends at ", leaf);
        expect_one("oidc-leaf.yaml", t, leaf, "oidc.signing_keys[0]", msg);
    }
    free(t);
    free(variant("oidc-leaf-dev.yaml", "development", NULL, chain, leaf, NULL));
    cfg = expect_ok("oidc-leaf-dev.yaml");
    assert_int_equal(cfg->oidc.keys[0].chain_to_root, 0);
    assert_null(cfg->oidc.keys[0].chain);
    zr_config_free(cfg);

    t = variant("max-age-low.yaml", "production", NULL, "  pairwise_secret_file:",
                "  metadata_max_age: 59\n  pairwise_secret_file:", NULL);
    expect_one("max-age-low.yaml", t, "metadata_max_age: 59", "oidc.metadata_max_age", "must be between 60 and 2592000");
    free(t);
    free(variant("max-age.yaml", "production", NULL, "  pairwise_secret_file:",
                 "  metadata_max_age: 3600\n  pairwise_secret_file:", NULL));
    cfg = expect_ok("max-age.yaml");
    assert_int_equal(cfg->oidc.metadata_max_age_s, 3600);
    zr_config_free(cfg);
}

/* RSA < 2048 and EC below P-256 are refused for every key the
 * configuration loads, in every environment. */
static void test_weak_keys(void **state)
{
    static const char *const envs[] = {"production", "development"};
    char weak_key[1024], weak_pem[1024], ec_key[1024], ec_pem[1024], tail[2048], jwks_path[1024];
    char *t, *dz;
    snprintf(weak_key, sizeof(weak_key), "%s/rsa1024.key", dir);
    snprintf(weak_pem, sizeof(weak_pem), "%s/rsa1024.pem", dir);
    snprintf(ec_key, sizeof(ec_key), "%s/ec224.key", dir);
    snprintf(ec_pem, sizeof(ec_pem), "%s/ec224.pem", dir);

    /* The client's JWKS: the public half of the weak key. */
    {
        char err[256];
        EVP_PKEY *k = zr_crypto_load_private_key(weak_key, err, sizeof(err));
        json_t *jwk, *set;
        assert_non_null(k);
        jwk = zr_crypto_jwk_from_pkey(k, 0);
        assert_non_null(jwk);
        set = json_pack("{s:[o]}", "keys", jwk);
        snprintf(jwks_path, sizeof(jwks_path), "%s/weak.jwks.json", dir);
        assert_int_equal(json_dump_file(set, jwks_path, 0), 0);
        json_decref(set);
        EVP_PKEY_free(k);
    }

    for (size_t e = 0; e < 2; e++) {
        const char *env = envs[e];
        char pair_from[1024], pair_to[1024], pem_from[1024];
        /* tls (served HTTPS) */
        snprintf(tail, sizeof(tail), "tls:\n  cert: %s\n  key: %s\n", weak_pem, weak_key);
        t = variant("weak-tls.yaml", env, tail, NULL);
        expect_one("weak-tls.yaml", t, weak_key, "tls.key", "RSA key of 1024 bits; at least 2048 are required");
        free(t);
        snprintf(tail, sizeof(tail), "tls:\n  cert: %s\n  key: %s\n", ec_pem, ec_key);
        t = variant("weak-tls-ec.yaml", env, tail, NULL);
        expect_one("weak-tls-ec.yaml", t, ec_key, "tls.key", "EC key on curve secp224r1; use P-256, P-384 or P-521");
        free(t);
        /* saml.signing, saml.tls_client, a care provider's BSN key */
        static const struct {
            const char *name, *key;
        } pairs[] = {{"relay-signing", "saml.signing.key"},
                     {"relay-tls-client", "saml.tls_client.key"},
                     {"dv-bsn-1", "care_providers[0].bsn_keys[0].key"}};
        for (size_t i = 0; i < 3; i++) {
            snprintf(pair_from, sizeof(pair_from), "%s.key", in_pki(pairs[i].name));
            snprintf(pem_from, sizeof(pem_from), "%s.pem", in_pki(pairs[i].name));
            snprintf(pair_to, sizeof(pair_to), "%s", weak_key);
            t = variant("weak-pair.yaml", env, NULL, pair_from, pair_to, pem_from, weak_pem, NULL);
            expect_one("weak-pair.yaml", t, weak_key, pairs[i].key, "RSA key of 1024 bits; at least 2048 are required");
            free(t);
        }
        /* OIDC signing key: RSA 1024, EC P-224 */
        snprintf(pair_from, sizeof(pair_from), "%s", in_pki("oidc-rs256.key"));
        snprintf(pem_from, sizeof(pem_from), "%s", in_pki("oidc-rs256-chain.pem"));
        t = variant("weak-oidc.yaml", env, NULL, pair_from, weak_key, pem_from, weak_pem, NULL);
        expect_one("weak-oidc.yaml", t, weak_key, "oidc.signing_keys[0].key",
                   "RSA key of 1024 bits; at least 2048 are required");
        free(t);
        snprintf(pair_to, sizeof(pair_to), "%s\n      alg: ES256", ec_key);
        t = variant("weak-oidc-ec.yaml", env, NULL, "      cert: ", "      # cert: ", pair_from, pair_to, NULL);
        expect_one("weak-oidc-ec.yaml", t, ec_key, "oidc.signing_keys[0].key", "EC key on curve secp224r1");
        free(t);
        /* Dezi: the decryption key and the client key */
        {
            char good_dec[1024], good_client[1024];
            snprintf(good_dec, sizeof(good_dec), "%s", in_pki("dezi-decrypt.key"));
            snprintf(good_client, sizeof(good_client), "%s", in_pki("dezi-client.key"));
            dz = dezi_tail(good_client, weak_key);
            t = variant("weak-dezi.yaml", env, dz, NULL);
            expect_one("weak-dezi.yaml", t, "decryption_key:", "dezi.decryption_key", "RSA key of 1024 bits");
            free(t);
            free(dz);
            dz = dezi_tail(weak_key, good_dec);
            t = variant("weak-dezi-client.yaml", env, dz, NULL);
            expect_one("weak-dezi-client.yaml", t, "client_key:", "dezi.client_key", "RSA key of 1024 bits");
            free(t);
            free(dz);
            dz = dezi_tail(good_client, good_dec);
            free(variant("dezi-ok.yaml", env, dz, NULL));
            free(dz);
            expect_ok_free("dezi-ok.yaml");
        }
        /* a private_key_jwt client's JWKS, reported at the client's entry */
        snprintf(pair_from, sizeof(pair_from), "jwks_file: %s", in_pki("pgo-client.jwks.json"));
        snprintf(pair_to, sizeof(pair_to), "jwks_file: %s", jwks_path);
        t = variant("weak-jwks.yaml", env, NULL, pair_from, pair_to, NULL);
        {
            char want[1200];
            snprintf(want, sizeof(want), "%s keys[0] is an RSA key of 1024 bits; at least 2048 are required",
                     jwks_path);
            expect_one("weak-jwks.yaml", t, "  - client_id: demo-pgo", "clients[1].jwks_file", want);
        }
        free(t);
        /* TVS's trust anchor verifies its metadata signature */
        snprintf(pair_from, sizeof(pair_from), "trust_anchor: %s", in_pki("ca.pem"));
        snprintf(pair_to, sizeof(pair_to), "trust_anchor: %s", weak_pem);
        t = variant("weak-anchor.yaml", env, NULL, pair_from, pair_to, NULL);
        expect_one("weak-anchor.yaml", t, "trust_anchor:", "tvs.trust_anchor",
                   "certificate 1 of the file: RSA key of 1024 bits");
        free(t);
        /* the CAs the TLS connections to TVS and Dezi trust */
        snprintf(pair_from, sizeof(pair_from), "tls_ca: %s", in_pki("ca.pem"));
        snprintf(pair_to, sizeof(pair_to), "tls_ca: %s", weak_pem);
        t = variant("weak-tls-ca.yaml", env, NULL, pair_from, pair_to, NULL);
        expect_one("weak-tls-ca.yaml", t, "tls_ca:", "tvs.tls_ca", "certificate 1 of the file: RSA key of 1024 bits");
        free(t);
        {
            char *dzt = NULL;
            dz = dezi_tail(in_pki("dezi-client.key"), in_pki("dezi-decrypt.key"));
            assert_true(asprintf(&dzt, "%s  tls_ca: %s\n", dz, weak_pem) > 0);
            t = variant("weak-dezi-ca.yaml", env, dzt, NULL);
            expect_one("weak-dezi-ca.yaml", t, weak_pem, "dezi.tls_ca",
                       "certificate 1 of the file: RSA key of 1024 bits");
            free(t);
            free(dzt);
            free(dz);
        }
        /* and the CAs a client's https PDP is trusted by (clients is the
         * base's last section: the tail adds a client) */
        snprintf(tail, sizeof(tail),
                 "  - client_id: pdp-portal\n    care_provider: zorgaanbieder-demo\n"
                 "    client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d\n"
                 "    auth_method_deviation: TEST\n"
                 "    redirect_uris: [https://pdp-portal.example.nl/cb]\n    min_loa: substantial\n"
                 "    home_page: https://pdp-portal.example.nl/\n"
                 "    authzen:\n      pdp: https://pdp.example.nl\n      patient_id: pairwise_sub\n      tls_ca: %s\n",
                 weak_pem);
        t = variant("weak-pdp-ca.yaml", env, tail, NULL);
        expect_one("weak-pdp-ca.yaml", t, weak_pem, "clients[2].authzen.tls_ca",
                   "certificate 1 of the file: RSA key of 1024 bits");
        free(t);
    }
}

/* Issue 18 §1: the way forward from the relay's pages. A client's home_page
 * is required outside development and https there; initiate_login_uri and
 * the helpdesk's url follow the same rule; a helpdesk holds at least one
 * field and its phone becomes a tel: URI. */
static void test_home_page_and_helpdesk(void **state)
{
    static const char *const home = "    home_page: https://portal.example.nl/\n";
    char *t;
    zr_config_t *cfg;
    (void)state;
    for (int e = 0; e < 2; e++) {
        const char *env = e ? "preprod" : "production";
        t = variant("no-home.yaml", env, NULL, home, "", NULL);
        expect_one("no-home.yaml", t, "  - client_id: demo-portal", "clients[0].home_page",
                   "is required outside development");
        free(t);
        t = variant("http-home.yaml", env, NULL, home, "    home_page: http://portal.example.nl/\n", NULL);
        expect_one("http-home.yaml", t, "http://portal.example.nl/", "clients[0].home_page",
                   e ? "http is refused outside development (but on loopback): must be an https URL"
                     : "http is refused in production: must be an https URL");
        free(t);
        /* loopback http: a rehearsal on one machine in preprod, never in production */
        t = variant("loopback-home.yaml", env, NULL, home, "    home_page: http://127.0.0.1:8000/\n", NULL);
        if (e) {
            free(t);
            zr_config_free(expect_ok("loopback-home.yaml"));
        } else {
            expect_one("loopback-home.yaml", t, "http://127.0.0.1:8000/", "clients[0].home_page",
                       "http is refused in production: must be an https URL");
            free(t);
        }
        t = variant("bad-login-uri.yaml", env, NULL, home, "    home_page: https://portal.example.nl/\n"
                    "    initiate_login_uri: javascript:alert(1)\n", NULL);
        expect_one("bad-login-uri.yaml", t, "javascript:", "clients[0].initiate_login_uri",
                   "must be an absolute https URL (http only in development");
        free(t);
    }
    /* development: optional, and http is fine */
    free(variant("dev-home.yaml", "development", NULL, home, "", NULL));
    cfg = expect_ok("dev-home.yaml");
    assert_null(cfg->clients[0].home_page);
    assert_non_null(cfg->clients[1].home_page);
    zr_config_free(cfg);
    free(variant("dev-http-home.yaml", "development", NULL, home,
                 "    home_page: http://localhost:8000/\n    initiate_login_uri: http://localhost:8000/login\n"
                 "    helpdesk:\n      url: http://localhost:8000/help\n", NULL));
    cfg = expect_ok("dev-http-home.yaml");
    assert_string_equal(cfg->clients[0].home_page, "http://localhost:8000/");
    assert_string_equal(cfg->clients[0].initiate_login_uri, "http://localhost:8000/login");
    assert_string_equal(cfg->clients[0].helpdesk.url, "http://localhost:8000/help");
    zr_config_free(cfg);
    /* helpdesks: a client's and a care provider's, read whole */
    free(variant("helpdesks.yaml", "production", NULL, home,
                 "    home_page: https://portal.example.nl/\n    initiate_login_uri: https://portal.example.nl/login\n"
                 "    helpdesk:\n      phone: \"+31 (0)88-123 45 67\"\n",
                 "    name: Zorgaanbieder Demo (TEST)\n",
                 "    name: Zorgaanbieder Demo (TEST)\n    helpdesk:\n      name: Servicedesk Demo\n"
                 "      phone: 088 123 45 67\n      url: https://zorgaanbieder.example.nl/hulp\n", NULL));
    cfg = expect_ok("helpdesks.yaml");
    assert_string_equal(cfg->clients[0].initiate_login_uri, "https://portal.example.nl/login");
    assert_null(cfg->clients[0].helpdesk.name);
    assert_string_equal(cfg->clients[0].helpdesk.phone, "+31 (0)88-123 45 67");
    assert_string_equal(cfg->clients[0].helpdesk.phone_uri, "tel:+31881234567");
    assert_null(cfg->clients[1].helpdesk.phone);
    assert_string_equal(cfg->tenants[0].helpdesk.name, "Servicedesk Demo");
    assert_string_equal(cfg->tenants[0].helpdesk.phone_uri, "tel:0881234567");
    assert_string_equal(cfg->tenants[0].helpdesk.url, "https://zorgaanbieder.example.nl/hulp");
    zr_config_free(cfg);
    t = variant("empty-helpdesk.yaml", "production", NULL, home,
                "    home_page: https://portal.example.nl/\n    helpdesk: {}\n", NULL);
    expect_one("empty-helpdesk.yaml", t, "helpdesk: {}", "clients[0].helpdesk",
               "must hold at least one of name, phone, url");
    free(t);
    t = variant("bad-phone.yaml", "production", NULL, home,
                "    home_page: https://portal.example.nl/\n    helpdesk:\n      phone: bel ons\n", NULL);
    expect_one("bad-phone.yaml", t, "phone: bel ons", "clients[0].helpdesk.phone", "must be a phone number");
    free(t);
    t = variant("http-helpdesk.yaml", "preprod", NULL, "    name: Zorgaanbieder Demo (TEST)\n",
                "    name: Zorgaanbieder Demo (TEST)\n    helpdesk:\n      url: http://hulp.example.nl/\n", NULL);
    expect_one("http-helpdesk.yaml", t, "url: http://hulp", "care_providers[0].helpdesk.url",
               "http is refused outside development");
    free(t);
    t = variant("unknown-helpdesk-key.yaml", "production", NULL, "    name: Zorgaanbieder Demo (TEST)\n",
                "    name: Zorgaanbieder Demo (TEST)\n    helpdesk:\n      name: Servicedesk\n"
                "      email: hulp@example.nl\n", NULL);
    expect_one("unknown-helpdesk-key.yaml", t, "email:", "care_providers[0].helpdesk.email", "");
    free(t);
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Issue 18 §3: a care provider's logo is a local PNG or SVG, checked when
 * loaded (its first bytes, a size cap, no script in an SVG), with an
 * alternative text; the pages get an address on the relay itself that
 * changes with the content. */
static void test_care_provider_logo(void **state)
{
    static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D',
                                        'R', 0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89};
    static const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" "
                              "height=\"10\"><rect width=\"10\" height=\"10\"/></svg>\n";
    static const char *const name = "    name: Zorgaanbieder Demo (TEST)\n";
    char *t, *big, line[1024], want[1024];
    zr_config_t *cfg;
    (void)state;

    write_bytes(in_dir("logo.png"), png, sizeof(png));
    write_bytes(in_dir("logo.svg"), svg, strlen(svg));
    write_text(in_dir("script.svg"), "<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\n");
    write_text(in_dir("logo.gif"), "GIF89a\x01\x00\x01\x00\x00\x00\x00;");
    big = calloc(1, ZR_LOGO_MAX_BYTES + 2);
    assert_non_null(big);
    memcpy(big, png, sizeof(png));
    write_bytes(in_dir("big.png"), big, ZR_LOGO_MAX_BYTES + 1);
    free(big);

    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      alt: Logo van Zorgaanbieder Demo\n", name,
             in_dir("logo.png"));
    free(variant("logo-png.yaml", "production", NULL, name, line, NULL));
    cfg = expect_ok("logo-png.yaml");
    assert_string_equal(cfg->tenants[0].logo.type, "image/png");
    assert_int_equal(cfg->tenants[0].logo.len, sizeof(png));
    assert_string_equal(cfg->tenants[0].logo.alt, "Logo van Zorgaanbieder Demo");
    assert_non_null(strstr(cfg->tenants[0].logo.src, "/logo?cp="));
    assert_non_null(strstr(cfg->tenants[0].logo.src, "&v="));
    /* the other providers have none */
    for (size_t i = 1; i < cfg->tenant_count; i++)
        assert_null(cfg->tenants[i].logo.data);
    {
        char *png_src = strdup(cfg->tenants[0].logo.src);
        zr_config_free(cfg);
        snprintf(line, sizeof(line), "%s    logo: {file: %s, alt: Zorgaanbieder Demo}\n", name, in_dir("logo.svg"));
        free(variant("logo-svg.yaml", "production", NULL, name, line, NULL));
        cfg = expect_ok("logo-svg.yaml");
        assert_string_equal(cfg->tenants[0].logo.type, "image/svg+xml");
        /* another content, another address */
        assert_string_not_equal(cfg->tenants[0].logo.src, png_src);
        free(png_src);
        zr_config_free(cfg);
    }

    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      alt: Demo\n", name, in_dir("logo.gif"));
    t = variant("logo-gif.yaml", "production", NULL, name, line, NULL);
    snprintf(want, sizeof(want), "%s: must be a PNG or an SVG file", in_dir("logo.gif"));
    expect_one("logo-gif.yaml", t, "logo.gif", "care_providers[0].logo.file", want);
    free(t);
    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      alt: Demo\n", name, in_dir("script.svg"));
    t = variant("logo-script.yaml", "production", NULL, name, line, NULL);
    snprintf(want, sizeof(want), "%s: an SVG logo must not contain script", in_dir("script.svg"));
    expect_one("logo-script.yaml", t, "script.svg", "care_providers[0].logo.file", want);
    free(t);
    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      alt: Demo\n", name, in_dir("big.png"));
    t = variant("logo-big.yaml", "production", NULL, name, line, NULL);
    expect_one("logo-big.yaml", t, "big.png", "care_providers[0].logo.file", "cannot read");
    free(t);
    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n", name, in_dir("logo.png"));
    t = variant("logo-no-alt.yaml", "production", NULL, name, line, NULL);
    snprintf(want, sizeof(want), "%s", in_dir("logo.png"));
    expect_one("logo-no-alt.yaml", t, want, "care_providers[0].logo.alt", "is required");
    free(t);
    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      alt: \"  \"\n", name, in_dir("logo.png"));
    t = variant("logo-empty-alt.yaml", "production", NULL, name, line, NULL);
    expect_one("logo-empty-alt.yaml", t, "alt: \"  \"", "care_providers[0].logo.alt", "must be 1-200 characters");
    free(t);
    /* pages.digid_logo_file: the operator's copy of Logius' logo, checked alike */
    snprintf(line, sizeof(line), "pages:\n  digid_logo_file: %s\n", in_dir("logo.svg"));
    free(variant("digid-logo.yaml", "production", line, NULL));
    cfg = expect_ok("digid-logo.yaml");
    assert_string_equal(cfg->pages.digid_logo.type, "image/svg+xml");
    assert_non_null(strstr(cfg->pages.digid_logo.src, "/logo?of=digid&v="));
    zr_config_free(cfg);
    snprintf(line, sizeof(line), "pages:\n  digid_logo_file: %s\n", in_dir("logo.gif"));
    t = variant("digid-logo-gif.yaml", "production", line, NULL);
    snprintf(want, sizeof(want), "%s: must be a PNG or an SVG file", in_dir("logo.gif"));
    expect_one("digid-logo-gif.yaml", t, "digid_logo_file:", "pages.digid_logo_file", want);
    free(t);
    /* an address for the browser to fetch is not a key: the relay serves the file itself */
    snprintf(line, sizeof(line), "%s    logo:\n      file: %s\n      url: https://example.nl/logo.png\n      alt: Demo\n",
             name, in_dir("logo.png"));
    t = variant("logo-url.yaml", "production", NULL, name, line, NULL);
    expect_one("logo-url.yaml", t, "url: https://example.nl/logo", "care_providers[0].logo.url", "unknown key");
    free(t);
}

static void test_jwks_strength_parser(void **state)
{
    char why[256];
    /* 2048-bit modulus with a leading zero byte written out: still 2048 */
    char n2048[400], n2047[400], json[1024];
    uint8_t mod[257];
    char *b64;
    memset(mod, 0xff, sizeof(mod));
    mod[0] = 0;
    b64 = zr_base64url_encode(mod, sizeof(mod));
    snprintf(n2048, sizeof(n2048), "%s", b64);
    free(b64);
    mod[1] = 0x7f; /* 2047 bits */
    b64 = zr_base64url_encode(mod, sizeof(mod));
    snprintf(n2047, sizeof(n2047), "%s", b64);
    free(b64);
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\"%s\"}]}", n2048);
    assert_int_equal(zr_cfg_check_jwks_strength(json, why, sizeof(why)), 0);
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\"},{\"kty\":\"RSA\",\"n\":\"%s\"}]}",
             n2047);
    assert_int_equal(zr_cfg_check_jwks_strength(json, why, sizeof(why)), -1);
    assert_string_equal(why, "keys[1] is an RSA key of 2047 bits; at least 2048 are required");
    assert_int_equal(zr_cfg_check_jwks_strength("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-192\"}]}", why, sizeof(why)),
                     -1);
    assert_string_equal(why, "keys[0] is an EC key on curve P-192; use P-256, P-384 or P-521");
    assert_int_equal(zr_cfg_check_jwks_strength("{\"keys\":[{\"kty\":\"RSA\"}]}", why, sizeof(why)), -1);
    assert_int_equal(zr_cfg_check_jwks_strength("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-384\"}]}", why, sizeof(why)),
                     0);
}

/* Private key and secret files: production refuses mode & 077 with a
 * chmod line; preprod loads and warns; development says nothing. */
static void test_file_modes(void **state)
{
    static const struct {
        const char *pki_name; /* in the base as PKI/pki_name */
        mode_t mode;
        const char *key;
    } files[] = {
        {"relay-signing.key", 0644, "saml.signing.key"},
        {"relay-tls-client.key", 0640, "saml.tls_client.key"},
        {"dv-bsn-1.key", 0620, "care_providers[0].bsn_keys[0].key"},
        {"oidc-rs256.key", 0604, "oidc.signing_keys[0].key"},
        {"store.key", 0644, "redis.encryption_key_file"},
        {"pairwise.key", 0660, "oidc.pairwise_secret_file"},
    };
    char from[1024], to[1024], want[2048], logpath[64];
    const size_t n = sizeof(files) / sizeof(files[0]);
    for (size_t i = 0; i < n; i++) {
        char copy[64], *t;
        snprintf(copy, sizeof(copy), "loose-%zu", i);
        snprintf(to, sizeof(to), "%s", copy_with_mode(files[i].pki_name, copy, files[i].mode));
        snprintf(from, sizeof(from), "%s", in_pki(files[i].pki_name));
        t = variant("loose.yaml", "production", NULL, from, to, NULL);
        snprintf(want, sizeof(want), "%s is open to group or others (mode %04o), refused in production: chmod 600 %s", to,
                 (unsigned)files[i].mode, to);
        expect_one("loose.yaml", t, to, files[i].key, want);
        free(t);
        /* the owner alone may read it: accepted (0400 as well as 0600) */
        chmod(to, 0400);
        free(variant("tight.yaml", "production", NULL, from, to, NULL));
        expect_ok_free("tight.yaml");
    }
    /* the server TLS key, the Dezi keys and the decision log's subject key */
    {
        char tls_key[1024], dec[1024], client[1024], subject[1024], tail[4096], *t, *dz;
        snprintf(tls_key, sizeof(tls_key), "%s", copy_with_mode("relay-tls-server.key", "loose-tls.key", 0644));
        snprintf(tail, sizeof(tail), "tls:\n  cert: %s\n  key: %s\n", in_pki("relay-tls-server.pem"), tls_key);
        t = variant("loose-tls.yaml", "production", tail, NULL);
        snprintf(want, sizeof(want), "%s is open to group or others (mode 0644)", tls_key);
        expect_one("loose-tls.yaml", t, tls_key, "tls.key", want);
        free(t);
        snprintf(dec, sizeof(dec), "%s", copy_with_mode("dezi-decrypt.key", "loose-dezi-dec.key", 0644));
        snprintf(client, sizeof(client), "%s", in_pki("dezi-client.key"));
        dz = dezi_tail(client, dec);
        t = variant("loose-dezi.yaml", "production", dz, NULL);
        snprintf(want, sizeof(want), "%s is open to group or others (mode 0644)", dec);
        expect_one("loose-dezi.yaml", t, "decryption_key:", "dezi.decryption_key", want);
        free(t);
        free(dz);
        snprintf(dec, sizeof(dec), "%s", in_pki("dezi-decrypt.key"));
        snprintf(client, sizeof(client), "%s", copy_with_mode("dezi-client.key", "loose-dezi-client.key", 0604));
        dz = dezi_tail(client, dec);
        t = variant("loose-dezi-client.yaml", "production", dz, NULL);
        snprintf(want, sizeof(want), "%s is open to group or others (mode 0604)", client);
        expect_one("loose-dezi-client.yaml", t, "client_key:", "dezi.client_key", want);
        free(t);
        free(dz);
        snprintf(subject, sizeof(subject), "%s", copy_with_mode("store.key", "loose-subject.key", 0644));
        snprintf(tail, sizeof(tail), "decision_log:\n  file: %s/decisions.jsonl\n  subject_key_file: %s\n", dir,
                 subject);
        t = variant("loose-subject.yaml", "production", tail, NULL);
        snprintf(want, sizeof(want), "%s is open to group or others (mode 0644)", subject);
        expect_one("loose-subject.yaml", t, "subject_key_file:", "decision_log.subject_key_file", want);
        free(t);
    }
    /* preprod: loads, one warning per file; development: silent */
    for (int e = 0; e < 2; e++) {
        char *log, *p;
        int saved, count = 0;
        zr_config_t *cfg;
        zr_config_errors_t errs = {0};
        char *text = strdup(base);
        for (size_t i = 0; i < n; i++) {
            char copy[64], *next;
            snprintf(copy, sizeof(copy), "loose-%zu", i);
            snprintf(to, sizeof(to), "%s", copy_with_mode(files[i].pki_name, copy, files[i].mode));
            snprintf(from, sizeof(from), "%s", in_pki(files[i].pki_name));
            next = str_replace_all(text, from, to);
            free(text);
            text = next;
        }
        {
            char *next = str_replace_all(text, "environment: production", e ? "environment: development"
                                                                             : "environment: preprod");
            free(text);
            text = next;
        }
        write_text(in_dir("loose-all.yaml"), text);
        free(text);
        saved = capture_begin(logpath);
        cfg = zr_config_load(in_dir("loose-all.yaml"), &errs);
        log = capture_end(logpath, saved);
        if (!cfg)
            print_errors(&errs);
        assert_non_null(cfg);
        zr_config_free(cfg);
        zr_config_errors_free(&errs);
        for (p = log; (p = strstr(p, "chmod 600 ")) != NULL; p++)
            count++;
        if (count != (e ? 0 : (int)n))
            fprintf(stderr, "log:\n%s\n", log);
        assert_int_equal(count, e ? 0 : (int)n);
        if (!e)
            assert_non_null(strstr(log, "saml.signing.key: "));
        free(log);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_loads),
        cmocka_unit_test(test_client_auth_methods),
        cmocka_unit_test(test_log_level_debug),
        cmocka_unit_test(test_log_format_and_audit_log),
        cmocka_unit_test(test_redis_password),
        cmocka_unit_test(test_redis_password_file),
        cmocka_unit_test(test_redis_sentinels),
        cmocka_unit_test(test_redis_remote),
        cmocka_unit_test(test_http_base_url),
        cmocka_unit_test(test_wildcards_everywhere),
        cmocka_unit_test(test_http_redirects_and_origins),
        cmocka_unit_test(test_entity_indexes),
        cmocka_unit_test(test_mock_sections),
        cmocka_unit_test(test_oidc_chain_to_root),
        cmocka_unit_test(test_weak_keys),
        cmocka_unit_test(test_home_page_and_helpdesk),
        cmocka_unit_test(test_care_provider_logo),
        cmocka_unit_test(test_jwks_strength_parser),
        cmocka_unit_test(test_file_modes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
