/* Unit tests for the professionals' configuration (issue 4): `dezi:`,
 * `decision_log:`, `mock_dezi:` and the per-client login_methods,
 * role_rules, allow_unmapped_roles, authzen and introspection. Broken files
 * are the valid test base (tests/data/config/valid*.yaml up to `clients:`)
 * plus a tail written here; every error is checked at its exact line,
 * found by a marker on that line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/util.h"

/* DIR/certs-example/out (test PKI), DIR/examples/zorgrelay.yaml,
 * DIR/config/ (copies of tests/data/config). */
static char dir[256];

#define SECRET "17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d"
#define PKI "../certs-example/out/"

/* A valid dezi section for development. */
#define DEZI_DEV                                                                                                   \
    "dezi:\n"                                                                                                      \
    "  issuer: http://localhost:8082\n"                                                                            \
    "  client_id: zorgrelay-test\n"                                                                                \
    "  decryption_key: " PKI "dezi-decrypt.key\n"                                                                  \
    "  jku_allow:\n"                                                                                               \
    "    - http://localhost:8082/dezi/jwks.json\n"

/* A patients' client, valid in both environments' bases. */
#define CLIENT_PATIENT                                                                                             \
    "clients:\n"                                                                                                   \
    "  - client_id: p\n"                                                                                           \
    "    care_provider: zorgaanbieder-demo\n"                                                                      \
    "    client_secret_sha256: " SECRET "\n"                                                                       \
    "    redirect_uris: [https://portal.example.nl/callback]\n"                                                   \
    "    min_loa: substantial\n"

static int copy_file(const char *from, const char *to)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f;
    int rc = -1;
    if (zr_file_read(from, 1 << 20, &data, &len) != 0)
        return -1;
    if ((f = fopen(to, "wb")) != NULL) {
        rc = fwrite(data, 1, len, f) == len ? 0 : -1;
        fclose(f);
    }
    free(data);
    return rc;
}

static int setup(void **state)
{
    char cmd[1024], from[1024], to[1024];
    const char *data = getenv("ZR_TEST_DATA");
    DIR *d;
    struct dirent *e;
    snprintf(dir, sizeof(dir), "/tmp/zr-test-cfgdezi-XXXXXX");
    if (!data || !mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s/certs-example/out' >/dev/null", ZR_SOURCE_DIR,
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(to, sizeof(to), "%s/config", dir);
    mkdir(to, 0700);
    snprintf(to, sizeof(to), "%s/examples", dir);
    mkdir(to, 0700);
    snprintf(from, sizeof(from), "%s/examples/zorgrelay.yaml", ZR_SOURCE_DIR);
    snprintf(to, sizeof(to), "%s/examples/zorgrelay.yaml", dir);
    if (copy_file(from, to) != 0)
        return -1;
    snprintf(from, sizeof(from), "%s/config", data);
    if (!(d = opendir(from)))
        return -1;
    while ((e = readdir(d)) != NULL) {
        if (!strstr(e->d_name, ".yaml") && !strstr(e->d_name, ".json"))
            continue;
        snprintf(from, sizeof(from), "%s/config/%s", data, e->d_name);
        snprintf(to, sizeof(to), "%s/config/%s", dir, e->d_name);
        if (copy_file(from, to) != 0) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

static int teardown(void **state)
{
    char cmd[512];
    if (strncmp(dir, "/tmp/zr-test-cfgdezi-", 21) != 0)
        return 0;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static char *path_in(const char *rel)
{
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, rel) < 0)
        return NULL;
    return p;
}

/* Writes config/NAME: the base (valid.yaml or valid_production.yaml up to
 * its `clients:` line) followed by tail. Returns "config/NAME" (static). */
static const char *compose(const char *name, int production, const char *tail)
{
    static char rel[128];
    char *base_path = path_in(production ? "config/valid_production.yaml" : "config/valid.yaml"), *data = NULL, *cut;
    char *out;
    size_t len = 0;
    FILE *f;
    assert_int_equal(zr_file_read(base_path, 1 << 20, &data, &len), 0);
    cut = strstr(data, "\nclients:\n");
    assert_non_null(cut);
    cut[1] = '\0';
    snprintf(rel, sizeof(rel), "config/%s", name);
    out = path_in(rel);
    f = fopen(out, "w");
    assert_non_null(f);
    fputs(data, f);
    fputs(tail, f);
    fclose(f);
    free(out);
    free(data);
    free(base_path);
    return rel;
}

/* The line of the first occurrence of `marker` in DIR/REL (1-based). */
static int line_of(const char *rel, const char *marker)
{
    char *p = path_in(rel), *data = NULL, *at;
    size_t len = 0;
    int line = 1;
    assert_int_equal(zr_file_read(p, 1 << 20, &data, &len), 0);
    at = strstr(data, marker);
    assert_non_null(at);
    for (char *c = data; c < at; c++)
        line += *c == '\n';
    free(data);
    free(p);
    return line;
}

static zr_config_t *load(const char *rel, zr_config_errors_t *errs)
{
    char *p = path_in(rel);
    zr_config_t *cfg = zr_config_load(p, errs);
    free(p);
    if (cfg)
        assert_int_equal(errs->count, 0);
    else
        assert_true(errs->count > 0);
    return cfg;
}

static void print_errors(const zr_config_errors_t *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "  got: %s\n", errs->lines[i]);
}

/* True when some error is exactly "DIR/REL:LINE: TEXT..." (TEXT a prefix). */
static int has_error(const zr_config_errors_t *errs, const char *rel, int line, const char *text)
{
    char *want = NULL;
    int found = 0;
    if (asprintf(&want, "%s/%s:%d: %s", dir, rel, line, text) < 0)
        return 0;
    for (size_t i = 0; i < errs->count && !found; i++)
        found = strncmp(errs->lines[i], want, strlen(want)) == 0;
    if (!found) {
        fprintf(stderr, "  missing: %s\n", want);
        print_errors(errs);
    }
    free(want);
    return found;
}

/* Loads a composed file that must fail with exactly `count` errors. */
static void expect_errors(const char *rel, size_t count, zr_config_errors_t *errs)
{
    assert_null(load(rel, errs));
    if (errs->count != count)
        print_errors(errs);
    assert_int_equal(errs->count, count);
}

static void test_example_has_professionals(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = load("examples/zorgrelay.yaml", &errs);
    const zr_client_t *c;
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    assert_true(cfg->dezi.enabled);
    assert_string_equal(cfg->dezi.issuer, "http://localhost:8082");
    assert_int_equal(cfg->dezi.auth_method, ZR_CLIENT_AUTH_NONE);
    assert_null(cfg->dezi.client_key);
    assert_non_null(cfg->dezi.decryption_key);
    assert_int_equal(cfg->dezi.jku_allow_count, 1);
    assert_non_null(strstr(cfg->decision_log.file, "/examples/../run/decision-log.jsonl"));
    assert_true(cfg->has_mock_dezi);
    assert_string_equal(cfg->mock_dezi.listen, "127.0.0.1:8082");
    /* the mock expects the relay's client_id by default */
    assert_string_equal(cfg->mock_dezi.expected_client_id, cfg->dezi.client_id);
    assert_non_null(cfg->mock_dezi.register_key.key);
    assert_non_null(cfg->mock_dezi.register_key.cert);
    c = zr_config_find_client(cfg, "demo-portal");
    assert_int_equal(c->login_methods, ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL);
    assert_int_equal(c->role_rule_count, 3);
    assert_string_equal(c->role_rules[0].rol_code, "01.015");
    assert_string_equal(c->role_rules[2].ura, "12345678");
    assert_true(c->introspection);
    assert_false(c->authzen.enabled);
    /* a client that says nothing: patients, as before issue 4 */
    c = zr_config_find_client(cfg, "demo-pgo");
    assert_int_equal(c->login_methods, ZR_LOGIN_PATIENT);
    assert_int_equal(c->role_rule_count, 0);
    assert_false(c->introspection);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static void test_valid_every_key(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = load("config/dezi_valid.yaml", &errs);
    const zr_dezi_config_t *d;
    const zr_client_t *c;
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    d = &cfg->dezi;
    assert_true(d->enabled);
    assert_string_equal(d->client_id, "zorgrelay-test");
    assert_int_equal(d->auth_method, ZR_CLIENT_AUTH_PRIVATE_KEY_JWT);
    assert_non_null(d->client_key);
    assert_int_equal(EVP_PKEY_get_base_id(d->client_key), EVP_PKEY_RSA);
    assert_string_equal(d->client_key_kid, "zorgrelay-test-1");
    assert_true(d->client_key_file[0] == '/');
    assert_non_null(strstr(d->decryption_key_file, "/config/../certs-example/out/dezi-decrypt.key"));
    assert_int_equal(EVP_PKEY_get_bits(d->decryption_key), 2048);
    assert_int_equal(d->jku_allow_count, 2);
    assert_string_equal(d->jku_allow[1], "https://auth.dezi.nl/dezi/jwks.json");
    assert_non_null(strstr(d->tls_ca_file, "/certs-example/out/ca.pem"));
    assert_int_equal(d->min_loa, ZR_LOA_SUBSTANTIAL);
    assert_true(d->revocation_fail_open); /* allowed outside production */
    assert_int_equal(d->timeout_ms, 3000);
    assert_int_equal(d->key_cache_s, 600);
    assert_true(cfg->decision_log.file[0] == '/');

    c = zr_config_find_client(cfg, "patients-only");
    assert_int_equal(c->login_methods, ZR_LOGIN_PATIENT);
    assert_false(c->allow_unmapped_roles);
    assert_false(c->authzen.enabled);

    c = zr_config_find_client(cfg, "both");
    assert_int_equal(c->login_methods, ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL);
    assert_int_equal(c->role_rule_count, 4);
    assert_string_equal(c->role_rules[0].ura, "12345678");
    assert_int_equal(c->role_rules[0].role_count, 2);
    assert_string_equal(c->role_rules[0].roles[1], "arts");
    assert_null(c->role_rules[1].ura);
    assert_string_equal(c->role_rules[3].rol_code, "*");
    assert_string_equal(c->role_rules[3].roles[0], "urn:example:role:medewerker");
    assert_true(c->allow_unmapped_roles);
    assert_true(c->authzen.enabled);
    assert_string_equal(c->authzen.pdp, "http://127.0.0.1:9000/pdp");
    assert_int_equal(c->authzen.timeout_ms, 500);
    assert_true(c->authzen.fail_open);
    assert_null(c->authzen.tls_ca_file);
    assert_string_equal(c->authzen.processing_activity_id, "https://register.example.nl/verwerkingen/42");
    assert_true(c->introspection);
    assert_int_equal(c->care_provider_count, 1);

    /* professionals only: no care provider, no min_loa needed */
    c = zr_config_find_client(cfg, "professionals-only");
    assert_int_equal(c->login_methods, ZR_LOGIN_PROFESSIONAL);
    assert_null(c->care_provider);
    assert_int_equal(c->care_provider_count, 0);
    assert_int_equal(c->min_loa, ZR_LOA_NONE);
    assert_int_equal(c->authzen.timeout_ms, 2000); /* default */
    assert_false(c->authzen.fail_open);
    assert_non_null(c->authzen.tls_ca_file);

    assert_true(cfg->has_mock_dezi);
    assert_non_null(cfg->mock_dezi.signing.key);
    assert_null(cfg->mock_dezi.signing.cert); /* optional */
    assert_null(cfg->mock_dezi.signing.key_name);
    assert_non_null(cfg->mock_dezi.register_key.cert);
    assert_int_equal(strlen(cfg->mock_dezi.register_key.key_name), 40);
    assert_string_equal(cfg->mock_dezi.expected_client_id, "zorgrelay-test");
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static void test_dezi_defaults_and_absent(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("dezi_defaults.yaml", 0, DEZI_DEV CLIENT_PATIENT);
    zr_config_t *cfg = load(rel, &errs);
    assert_non_null(cfg);
    assert_true(cfg->dezi.enabled);
    assert_int_equal(cfg->dezi.auth_method, ZR_CLIENT_AUTH_NONE);
    assert_int_equal(cfg->dezi.min_loa, ZR_LOA_HIGH);
    assert_false(cfg->dezi.revocation_fail_open);
    assert_int_equal(cfg->dezi.timeout_ms, 5000);
    assert_int_equal(cfg->dezi.key_cache_s, 3600);
    assert_null(cfg->dezi.tls_ca_file);
    assert_null(cfg->decision_log.file);
    assert_false(cfg->has_mock_dezi);
    zr_config_free(cfg);

    /* no dezi section at all: disabled, nothing loaded */
    rel = compose("dezi_absent.yaml", 0, CLIENT_PATIENT);
    cfg = load(rel, &errs);
    assert_non_null(cfg);
    assert_false(cfg->dezi.enabled);
    assert_null(cfg->dezi.decryption_key);
    assert_int_equal(cfg->clients[0].login_methods, ZR_LOGIN_PATIENT);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static void test_dezi_errors(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("dezi_errors.yaml", 0,
                              "dezi:\n"
                              "  issuer: http://dezi.example.nl\n"
                              "  auth_method: client_secret_basic\n"
                              "  decryption_key: " PKI "oidc-es256.key\n"
                              "  jku_allow:\n"
                              "    - https://auth.dezi.nl/jwks.json#frag\n"
                              "    - ftp://auth.dezi.nl/jwks.json\n"
                              "  tls_ca: " PKI "no-such-ca.pem\n"
                              "  min_loa: medium\n"
                              "  revocation_fail_open: maybe\n"
                              "  timeout_ms: 50\n"
                              "  key_cache_seconds: 10\n"
                              "  jku_alow: []\n" CLIENT_PATIENT);
    int top = line_of(rel, "dezi:");
    expect_errors(rel, 12, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "jku_alow"), "dezi.jku_alow: unknown key (did you mean 'jku_allow'?)"));
    assert_true(has_error(&errs, rel, line_of(rel, "http://dezi."),
                          "dezi.issuer: must be https (http only for localhost outside production)"));
    assert_true(has_error(&errs, rel, top + 1, "dezi.client_id: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "client_secret_basic"),
                          "dezi.auth_method: 'client_secret_basic' is not one of: none, private_key_jwt"));
    assert_true(has_error(&errs, rel, line_of(rel, "oidc-es256"),
                          "dezi.decryption_key: must be an RSA key (Dezi encrypts userinfo with RSA-OAEP)"));
    assert_true(has_error(&errs, rel, line_of(rel, "#frag"), "dezi.jku_allow[0]: must not have a query or fragment"));
    assert_true(has_error(&errs, rel, line_of(rel, "ftp:"), "dezi.jku_allow[1]: must be an absolute https URL"));
    assert_true(has_error(&errs, rel, line_of(rel, "no-such-ca"), "dezi.tls_ca: "));
    assert_true(has_error(&errs, rel, line_of(rel, "medium"), "dezi.min_loa: 'medium' is not a level of assurance"));
    assert_true(has_error(&errs, rel, line_of(rel, "maybe"), "dezi.revocation_fail_open: must be true or false"));
    assert_true(has_error(&errs, rel, line_of(rel, "timeout_ms: 50"), "dezi.timeout_ms: must be between 100 and 60000"));
    assert_true(has_error(&errs, rel, line_of(rel, "key_cache_seconds"),
                          "dezi.key_cache_seconds: must be between 60 and 86400"));
    zr_config_errors_free(&errs);

    /* required keys, and a dezi that is not a mapping */
    rel = compose("dezi_required.yaml", 0, "dezi:\n  client_id: x\n" CLIENT_PATIENT);
    expect_errors(rel, 3, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "client_id: x"), "dezi.issuer: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "client_id: x"), "dezi.decryption_key: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "client_id: x"), "dezi.jku_allow: is required"));
    zr_config_errors_free(&errs);
    rel = compose("dezi_scalar.yaml", 0, "dezi: yes\n" CLIENT_PATIENT);
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "dezi: yes"), "dezi: must be a mapping"));
    zr_config_errors_free(&errs);

    /* jku_allow: empty, repeated; client_id with a space; bad https */
    rel = compose("dezi_jku.yaml", 0,
                  "dezi:\n"
                  "  issuer: https://auth.dezi.nl?x=1\n"
                  "  client_id: \"my client\"\n"
                  "  decryption_key: " PKI "dezi-decrypt.key\n"
                  "  jku_allow: []\n" CLIENT_PATIENT);
    expect_errors(rel, 3, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "?x=1"), "dezi.issuer: must not have a query or fragment"));
    assert_true(has_error(&errs, rel, line_of(rel, "my client"), "dezi.client_id: must be 1-128 printable"));
    assert_true(has_error(&errs, rel, line_of(rel, "jku_allow: []"), "dezi.jku_allow: must not be empty"));
    zr_config_errors_free(&errs);
    rel = compose("dezi_jku_twice.yaml", 0,
                  "dezi:\n"
                  "  issuer: https://auth.dezi.nl/\n" /* a trailing slash is the issuer's own business */
                  "  client_id: c\n"
                  "  decryption_key: " PKI "dezi-decrypt.key\n"
                  "  jku_allow:\n"
                  "    - https://auth.dezi.nl/dezi/jwks.json\n"
                  "    - https://auth.dezi.nl/dezi/jwks.json\n" CLIENT_PATIENT);
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "jku_allow:\n") + 2,
                          "dezi.jku_allow[1]: 'https://auth.dezi.nl/dezi/jwks.json' is listed twice"));
    zr_config_errors_free(&errs);
}

static void test_dezi_client_key(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    /* private_key_jwt without its key */
    const char *rel = compose("dezi_pkjwt_nokey.yaml", 0,
                              "dezi:\n"
                              "  issuer: https://auth.dezi.nl\n"
                              "  client_id: c\n"
                              "  auth_method: private_key_jwt\n"
                              "  client_key_kid: \"k 1\"\n"
                              "  decryption_key: " PKI "dezi-decrypt.key\n"
                              "  jku_allow: [https://auth.dezi.nl/dezi/jwks.json]\n" CLIENT_PATIENT);
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "issuer: https"),
                          "dezi.client_key: is required for auth_method private_key_jwt"));
    assert_true(has_error(&errs, rel, line_of(rel, "k 1"), "dezi.client_key_kid: must be 1-128 printable"));
    zr_config_errors_free(&errs);

    /* a client key without private_key_jwt would be silently unused */
    rel = compose("dezi_none_key.yaml", 0,
                  "dezi:\n"
                  "  issuer: https://auth.dezi.nl\n"
                  "  client_id: c\n"
                  "  client_key: " PKI "dezi-client.key\n"
                  "  decryption_key: " PKI "dezi-decrypt.key\n"
                  "  jku_allow: [https://auth.dezi.nl/dezi/jwks.json]\n" CLIENT_PATIENT);
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "client_key:"),
                          "dezi.client_key: is only used with auth_method private_key_jwt"));
    zr_config_errors_free(&errs);

    /* not a key; an EC P-256 key is fine (ES256) */
    rel = compose("dezi_bad_key.yaml", 0,
                  "dezi:\n"
                  "  issuer: https://auth.dezi.nl\n"
                  "  client_id: c\n"
                  "  auth_method: private_key_jwt\n"
                  "  client_key: " PKI "dezi-client.pem\n"
                  "  decryption_key: " PKI "missing.key\n"
                  "  jku_allow: [https://auth.dezi.nl/dezi/jwks.json]\n" CLIENT_PATIENT);
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "dezi-client.pem"), "dezi.client_key: "));
    assert_true(has_error(&errs, rel, line_of(rel, "missing.key"), "dezi.decryption_key: "));
    zr_config_errors_free(&errs);
    rel = compose("dezi_ec_key.yaml", 0,
                  "dezi:\n"
                  "  issuer: https://auth.dezi.nl\n"
                  "  client_id: c\n"
                  "  auth_method: private_key_jwt\n"
                  "  client_key: " PKI "pgo-client.key\n"
                  "  decryption_key: " PKI "dezi-decrypt.key\n"
                  "  jku_allow: [https://auth.dezi.nl/dezi/jwks.json]\n" CLIENT_PATIENT);
    cfg = load(rel, &errs);
    assert_non_null(cfg);
    assert_int_equal(EVP_PKEY_get_base_id(cfg->dezi.client_key), EVP_PKEY_EC);
    assert_null(cfg->dezi.client_key_kid);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static void test_production_refusals(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = "config/dezi_production.yaml";
    expect_errors(rel, 7, &errs);
    /* issue 17 §3: no auth_method is client_secret_basic, refused in production */
    assert_true(has_error(&errs, rel, 51, "clients[0].auth_method: client_secret_basic is refused in production"));
    assert_true(has_error(&errs, rel, 43, "dezi.issuer: must be https (http only for localhost outside production)"));
    assert_true(has_error(&errs, rel, 48, "dezi.jku_allow[1]: must be https (http only for localhost outside production)"));
    assert_true(has_error(&errs, rel, 49, "dezi.revocation_fail_open: is refused in production"));
    assert_true(has_error(&errs, rel, 60, "clients[0].authzen.pdp: must be https (http only for localhost outside production)"));
    assert_true(has_error(&errs, rel, 62, "mock_dezi: the mock Dezi is refused in production"));
    /* issue 15 §2: what the PDP learns about a patient is chosen, never defaulted */
    assert_true(has_error(&errs, rel, 60, "clients[0].authzen.patient_id: is required in production: choose "
                                          "pairwise_sub, care_provider_pseudonym or bsn"));
    zr_config_errors_free(&errs);

    /* preprod: http on loopback is allowed (a rehearsal against the mocks,
     * issue 18 §4); only the mock's own keys are still missing */
    {
        char *p = path_in("config/dezi_production.yaml"), *data = NULL, *env, *out;
        size_t len = 0;
        FILE *f;
        assert_int_equal(zr_file_read(p, 1 << 20, &data, &len), 0);
        env = strstr(data, "environment: production");
        assert_non_null(env);
        memcpy(env, "environment: preprod   ", 23); /* same length, same lines */
        out = path_in("config/dezi_preprod.yaml");
        f = fopen(out, "w");
        assert_non_null(f);
        fputs(data, f);
        fclose(f);
        free(out);
        free(data);
        free(p);
    }
    rel = "config/dezi_preprod.yaml";
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, 63, "mock_dezi.signing: is required")); /* the mock runs in preprod */
    assert_true(has_error(&errs, rel, 63, "mock_dezi.register: is required"));
    zr_config_errors_free(&errs);
}

static void test_decision_log(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("decision_log_bad.yaml", 0, "decision_log:\n  path: x.jsonl\n" CLIENT_PATIENT);
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "path: x"), "decision_log.path: unknown key"));
    assert_true(has_error(&errs, rel, line_of(rel, "path: x"), "decision_log.file: is required"));
    zr_config_errors_free(&errs);
    rel = compose("decision_log_list.yaml", 0, "decision_log: [a]\n" CLIENT_PATIENT);
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "decision_log:"), "decision_log: must be a mapping"));
    zr_config_errors_free(&errs);
    rel = compose("decision_log_nokey.yaml", 0,
                  "decision_log:\n  subject_key_file: ../certs-example/out/nothing-here.key\n  file: x.jsonl\n"
                  CLIENT_PATIENT);
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "subject_key_file:"), "decision_log.subject_key_file: "));
    zr_config_errors_free(&errs);
}

/* Every process and every restart hashes a BSN alike: the subject key is
 * derived from the pairwise secret (never equal to it), or configured. */
static void test_decision_log_subject_key(void **state)
{
    static const char label[] = "zorgrelay decision-log subject key v1";
    zr_config_errors_t errs = {0};
    uint8_t want[32], zero[32] = {0};
    const char *rel = compose("decision_log_derived.yaml", 0, "decision_log:\n  file: x.jsonl\n" CLIENT_PATIENT);
    zr_config_t *a = load(rel, &errs), *b = load(rel, &errs);
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a->decision_log.subject_key, b->decision_log.subject_key, 32);
    assert_memory_not_equal(a->decision_log.subject_key, zero, 32);
    assert_memory_not_equal(a->decision_log.subject_key, a->oidc.pairwise_secret, 32);
    assert_int_equal(zr_crypto_hmac_sha256(a->oidc.pairwise_secret, 32, (const uint8_t *)label, sizeof(label) - 1,
                                           want), 0);
    assert_memory_equal(a->decision_log.subject_key, want, 32);
    zr_config_free(b);
    /* a configured key wins (here: the store key file, any 32-byte secret) */
    rel = compose("decision_log_keyed.yaml", 0,
                  "decision_log:\n  file: x.jsonl\n  subject_key_file: ../certs-example/out/store.key\n"
                  CLIENT_PATIENT);
    b = load(rel, &errs);
    assert_non_null(b);
    assert_memory_equal(b->decision_log.subject_key, b->redis.encryption_key, 32);
    assert_memory_not_equal(b->decision_log.subject_key, a->decision_log.subject_key, 32);
    zr_config_free(a);
    zr_config_free(b);
}

/* The log pseudonym key (issue 12 §1): derived from the pairwise secret
 * with a label of its own, so equal in every process of one configuration,
 * and neither the pairwise secret nor the decision log's subject key. */
static void test_log_pseudonym_key(void **state)
{
    static const char label[] = "zorgrelay log pseudonym key v1";
    zr_config_errors_t errs = {0};
    uint8_t want[32];
    const char *rel = compose("log_pseudonym_key.yaml", 0, "decision_log:\n  file: x.jsonl\n" CLIENT_PATIENT);
    zr_config_t *a = load(rel, &errs), *b = load(rel, &errs);
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_memory_equal(a->log_pseudonym_key, b->log_pseudonym_key, 32);
    assert_memory_not_equal(a->log_pseudonym_key, a->oidc.pairwise_secret, 32);
    assert_memory_not_equal(a->log_pseudonym_key, a->decision_log.subject_key, 32);
    assert_int_equal(zr_crypto_hmac_sha256(a->oidc.pairwise_secret, 32, (const uint8_t *)label, sizeof(label) - 1,
                                           want), 0);
    assert_memory_equal(a->log_pseudonym_key, want, 32);
    zr_config_free(a);
    zr_config_free(b);
}

static void test_mock_dezi_errors(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    /* without dezi: nothing to encrypt userinfo to */
    const char *rel = compose("mock_dezi_alone.yaml", 0,
                              CLIENT_PATIENT "mock_dezi:\n"
                                             "  listen: 127.0.0.1:8082\n"
                                             "  public_base_url: http://localhost:8082\n"
                                             "  signing: {key: " PKI "mock-dezi-signing.key}\n"
                                             "  register: {key: " PKI "mock-dezi-register.key}\n");
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "mock_dezi:"),
                          "mock_dezi: needs a dezi: section (the mock encrypts userinfo to dezi.decryption_key)"));
    zr_config_errors_free(&errs);

    rel = compose("mock_dezi_bad.yaml", 0,
                  DEZI_DEV CLIENT_PATIENT "mock_dezi:\n"
                                          "  listen: localhost\n"
                                          "  public_base_url: http://localhost:8082/\n"
                                          "  register:\n"
                                          "    key: " PKI "pgo-client.key\n"
                                          "  expected_client_id: \"a b\"\n"
                                          "  issuer: x\n");
    expect_errors(rel, 6, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "issuer: x"), "mock_dezi.issuer: unknown key"));
    assert_true(has_error(&errs, rel, line_of(rel, "listen: localhost"), "mock_dezi.listen: must be HOST:PORT"));
    assert_true(has_error(&errs, rel, line_of(rel, "localhost:8082/\n"), "mock_dezi.public_base_url: must not end in a slash"));
    assert_true(has_error(&errs, rel, line_of(rel, "listen: localhost"), "mock_dezi.signing: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "pgo-client.key"),
                          "mock_dezi.register.key: must be an RSA key (Dezi signs with RS256)"));
    assert_true(has_error(&errs, rel, line_of(rel, "a b"), "mock_dezi.expected_client_id: must be 1-128 printable"));
    zr_config_errors_free(&errs);

    /* a certificate that is not the key's */
    rel = compose("mock_dezi_mismatch.yaml", 0,
                  DEZI_DEV CLIENT_PATIENT "mock_dezi:\n"
                                          "  listen: 127.0.0.1:8082\n"
                                          "  public_base_url: http://localhost:8082\n"
                                          "  signing:\n"
                                          "    key: " PKI "mock-dezi-signing.key\n"
                                          "    cert: " PKI "mock-dezi-register.pem\n"
                                          "  register: {key: " PKI "mock-dezi-register.key}\n"
                                          "  expected_client_id: other-client\n");
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "mock-dezi-signing.key"),
                          "mock_dezi.signing.key: the private key does not belong to the certificate"));
    zr_config_errors_free(&errs);

    rel = compose("mock_dezi_ok.yaml", 0,
                  DEZI_DEV CLIENT_PATIENT "mock_dezi:\n"
                                          "  listen: 127.0.0.1:8082\n"
                                          "  public_base_url: http://localhost:8082\n"
                                          "  signing: {key: " PKI "mock-dezi-signing.key}\n"
                                          "  register: {key: " PKI "mock-dezi-register.key}\n"
                                          "  expected_client_id: other-client\n");
    cfg = load(rel, &errs);
    assert_non_null(cfg);
    assert_string_equal(cfg->mock_dezi.expected_client_id, "other-client");
    assert_string_equal(cfg->mock_dezi.public_base_url, "http://localhost:8082");
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static void test_login_methods(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("login_methods_bad.yaml", 0,
                              DEZI_DEV "clients:\n"
                                       "  - client_id: a\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/a]\n"
                                       "    min_loa: substantial\n"
                                       "    login_methods: [patient, doctor, patient]\n"
                                       "  - client_id: b\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/b]\n"
                                       "    min_loa: substantial\n"
                                       "    login_methods: []\n"
                                       "  - client_id: c\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/c]\n"
                                       "    min_loa: substantial\n"
                                       "    login_methods: professional\n");
    expect_errors(rel, 4, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "doctor"),
                          "clients[0].login_methods[1]: 'doctor' is not one of: patient, professional"));
    assert_true(has_error(&errs, rel, line_of(rel, "doctor"), "clients[0].login_methods[2]: 'patient' is listed twice"));
    assert_true(has_error(&errs, rel, line_of(rel, "login_methods: []"),
                          "clients[1].login_methods: must list at least one of: patient, professional"));
    assert_true(has_error(&errs, rel, line_of(rel, "login_methods: professional"),
                          "clients[2].login_methods: must be a list"));
    zr_config_errors_free(&errs);

    /* professionals without a dezi section; patients without care provider */
    rel = compose("login_methods_nodezi.yaml", 0,
                  "clients:\n"
                  "  - client_id: a\n"
                  "    client_secret_sha256: " SECRET "\n"
                  "    redirect_uris: [http://localhost:8000/a]\n"
                  "    login_methods: [professional, patient]\n"
                  "    allow_unmapped_roles: true\n"
                  "    min_loa: substantial\n");
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "login_methods:"),
                          "clients[0].login_methods: professional needs a dezi: section (Dezi is not configured)"));
    assert_true(has_error(&errs, rel, line_of(rel, "- client_id: a") , "clients[0]: care_provider or care_providers is required"));
    zr_config_errors_free(&errs);

    /* professional only: LoA and BSN are patients' keys */
    rel = compose("login_methods_pro_only.yaml", 0,
                  DEZI_DEV "clients:\n"
                           "  - client_id: a\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/a]\n"
                           "    login_methods: [professional]\n"
                           "    allow_unmapped_roles: yes\n"
                           "    min_loa: high\n"
                           "    bsn_entitled: true\n");
    expect_errors(rel, 2, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "min_loa: high"),
                          "clients[0].min_loa: is only used when login_methods lists patient"));
    assert_true(has_error(&errs, rel, line_of(rel, "bsn_entitled"),
                          "clients[0].bsn_entitled: is only used when login_methods lists patient"));
    zr_config_errors_free(&errs);
}

static void test_role_rules(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("role_rules_bad.yaml", 0,
                              DEZI_DEV "clients:\n"
                                       "  - client_id: a\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/a]\n"
                                       "    login_methods: [professional]\n"
                                       "    role_rules:\n"
                                       "      - rol_code: \"1.015\"\n"
                                       "        roles: [arts]\n"
                                       "      - rol_code: \"01.0155\"\n"
                                       "        roles: [arts]\n"
                                       "      - rol_code: \"01.*.*\"\n"
                                       "        roles: [arts]\n"
                                       "      - rol_code: \"01.015\"\n"
                                       "        ura: \"1234\"\n"
                                       "        roles: []\n"
                                       "      - rol_code: \"02.000\"\n"
                                       "        roles: [\"tand arts\", tandarts, tandarts]\n"
                                       "      - rol_code: \"03.000\"\n"
                                       "        role: [x]\n"
                                       "      - roles: [x]\n"
                                       "      - just-a-string\n");
    expect_errors(rel, 11, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "\"1.015\""),
                          "clients[0].role_rules[0].rol_code: '1.015' must be a role code NN.SSS (e.g. 01.015) or a "
                          "prefix ending in '*' (e.g. 01.*, *)"));
    assert_true(has_error(&errs, rel, line_of(rel, "01.0155"), "clients[0].role_rules[1].rol_code: '01.0155' must be"));
    assert_true(has_error(&errs, rel, line_of(rel, "01.*.*"), "clients[0].role_rules[2].rol_code: '01.*.*' must be"));
    assert_true(has_error(&errs, rel, line_of(rel, "\"1234\""), "clients[0].role_rules[3].ura: must be 8 digits"));
    assert_true(has_error(&errs, rel, line_of(rel, "roles: []"), "clients[0].role_rules[3].roles: must not be empty"));
    assert_true(has_error(&errs, rel, line_of(rel, "tand arts"),
                          "clients[0].role_rules[4].roles[0]: 'tand arts' is not a role name"));
    assert_true(has_error(&errs, rel, line_of(rel, "tand arts"),
                          "clients[0].role_rules[4].roles[2]: 'tandarts' is listed twice"));
    assert_true(has_error(&errs, rel, line_of(rel, "role: [x]"), "clients[0].role_rules[5].role: unknown key"));
    assert_true(has_error(&errs, rel, line_of(rel, "\"03.000\""), "clients[0].role_rules[5].roles: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "- roles: [x]"), "clients[0].role_rules[6].rol_code: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "just-a-string"), "clients[0].role_rules[7]: must be a mapping"));
    zr_config_errors_free(&errs);

    /* Rules that can never match (first match wins) */
    rel = compose("role_rules_shadowed.yaml", 0,
                  DEZI_DEV "clients:\n"
                           "  - client_id: a\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/a]\n"
                           "    login_methods: [professional]\n"
                           "    role_rules:\n"
                           "      - rol_code: \"01.015\"\n" /* [0] */
                           "        ura: \"11111111\"\n"
                           "        roles: [a]\n"
                           "      - rol_code: \"01*\"\n" /* [1] fine: wider than [0] */
                           "        roles: [b]\n"
                           "      - rol_code: \"01.0*\"\n" /* [2] shadowed by [1] */
                           "        roles: [c]\n"
                           "      - rol_code: \"01.015\"\n" /* [3] shadowed by [1] */
                           "        ura: \"22222222\"\n"
                           "        roles: [d]\n"
                           "      - rol_code: \"*\"\n" /* [4] fine */
                           "        ura: \"33333333\"\n"
                           "        roles: [e]\n"
                           "      - rol_code: \"30.000\"\n" /* [5] shadowed by [4] */
                           "        ura: \"33333333\"\n"
                           "        roles: [f]\n"
                           "      - rol_code: \"30.000\"\n" /* [6] fine: any URA */
                           "        roles: [g]\n"
                           "      - rol_code: \"30.000\"\n" /* [7] shadowed by [6] */
                           "        roles: [h]\n");
    expect_errors(rel, 4, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "\"01.0*\""),
                          "clients[0].role_rules[2]: never matches: role_rules[1] comes first"));
    assert_true(has_error(&errs, rel, line_of(rel, "\"22222222\"") - 1,
                          "clients[0].role_rules[3]: never matches: role_rules[1] comes first"));
    assert_true(has_error(&errs, rel, line_of(rel, "roles: [f]") - 2,
                          "clients[0].role_rules[5]: never matches: role_rules[4] comes first"));
    assert_true(has_error(&errs, rel, line_of(rel, "roles: [h]") - 1,
                          "clients[0].role_rules[7]: never matches: role_rules[6] comes first"));
    zr_config_errors_free(&errs);

    /* role keys on a patients' client; a professional client with no way in */
    rel = compose("role_rules_patient.yaml", 0,
                  DEZI_DEV "clients:\n"
                           "  - client_id: a\n"
                           "    care_provider: zorgaanbieder-demo\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/a]\n"
                           "    min_loa: substantial\n"
                           "    role_rules:\n"
                           "      - {rol_code: \"*\", roles: [x]}\n"
                           "  - client_id: b\n"
                           "    care_provider: zorgaanbieder-demo\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/b]\n"
                           "    min_loa: substantial\n"
                           "    allow_unmapped_roles: true\n"
                           "  - client_id: c\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/c]\n"
                           "    login_methods: [professional]\n"
                           "  - client_id: d\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/d]\n"
                           "    login_methods: [professional]\n"
                           "    role_rules: []\n");
    expect_errors(rel, 4, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "role_rules:\n"),
                          "clients[0].role_rules: is only used when login_methods lists professional"));
    assert_true(has_error(&errs, rel, line_of(rel, "allow_unmapped_roles"),
                          "clients[1].allow_unmapped_roles: is only used when login_methods lists professional"));
    assert_true(has_error(&errs, rel, line_of(rel, "8000/c]") + 1,
                          "clients[2].role_rules: is required for professionals (or set allow_unmapped_roles: true)"));
    assert_true(has_error(&errs, rel, line_of(rel, "role_rules: []"),
                          "clients[3].role_rules: must list at least one rule (or be left out)"));
    zr_config_errors_free(&errs);
}

static void test_authzen_and_introspection(void **state)
{
    zr_config_errors_t errs = {0};
    const char *rel = compose("authzen_bad.yaml", 0,
                              DEZI_DEV "clients:\n"
                                       "  - client_id: a\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/a]\n"
                                       "    min_loa: substantial\n"
                                       "    authzen:\n"
                                       "      timeout_ms: 50\n"
                                       "      fail_open: sometimes\n"
                                       "      processing_activity_id: \"two words\"\n"
                                       "      policy: x\n"
                                       "  - client_id: b\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/b]\n"
                                       "    min_loa: substantial\n"
                                       "    authzen:\n"
                                       "      pdp: http://localhost:9000/\n"
                                       "      timeout_ms: 30001\n"
                                       "  - client_id: c\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/c]\n"
                                       "    min_loa: substantial\n"
                                       "    authzen:\n"
                                       "      pdp: http://pdp.example.nl\n"
                                       "  - client_id: d\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/d]\n"
                                       "    min_loa: substantial\n"
                                       "    authzen:\n"
                                       "      pdp: http://127.0.0.1:9000\n"
                                       "      tls_ca: " PKI "ca.pem\n"
                                       "  - client_id: e\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    auth_method: none\n"
                                       "    redirect_uris: [http://localhost:8000/e]\n"
                                       "    min_loa: substantial\n"
                                       "    introspection: true\n"
                                       "  - client_id: f\n"
                                       "    care_provider: zorgaanbieder-demo\n"
                                       "    client_secret_sha256: " SECRET "\n"
                                       "    redirect_uris: [http://localhost:8000/f]\n"
                                       "    min_loa: substantial\n"
                                       "    introspection: 1\n");
    expect_errors(rel, 11, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "policy: x"), "clients[0].authzen.policy: unknown key"));
    assert_true(has_error(&errs, rel, line_of(rel, "timeout_ms: 50"), "clients[0].authzen.pdp: is required"));
    assert_true(has_error(&errs, rel, line_of(rel, "timeout_ms: 50"),
                          "clients[0].authzen.timeout_ms: must be between 100 and 30000"));
    assert_true(has_error(&errs, rel, line_of(rel, "sometimes"), "clients[0].authzen.fail_open: must be true or false"));
    assert_true(has_error(&errs, rel, line_of(rel, "two words"),
                          "clients[0].authzen.processing_activity_id: must be 1-256 printable"));
    assert_true(has_error(&errs, rel, line_of(rel, "9000/"), "clients[1].authzen.pdp: must not end in a slash"));
    assert_true(has_error(&errs, rel, line_of(rel, "30001"),
                          "clients[1].authzen.timeout_ms: must be between 100 and 30000"));
    assert_true(has_error(&errs, rel, line_of(rel, "pdp.example.nl\n"),
                          "clients[2].authzen.pdp: must be https (http only for localhost outside production)"));
    assert_true(has_error(&errs, rel, line_of(rel, "      tls_ca:"), "clients[3].authzen.tls_ca: is only used with an https pdp"));
    assert_true(has_error(&errs, rel, line_of(rel, "introspection: true"),
                          "clients[4].introspection: needs an authenticated client: not with auth_method none"));
    assert_true(has_error(&errs, rel, line_of(rel, "introspection: 1"), "clients[5].introspection: must be true or false"));
    zr_config_errors_free(&errs);

    /* issue 15 §2: the patient's identifier and per-role evaluations */
    rel = compose("authzen_ids.yaml", 0,
                  DEZI_DEV "clients:\n"
                           "  - client_id: g\n"
                           "    care_provider: zorgaanbieder-demo\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/g]\n"
                           "    min_loa: substantial\n"
                           "    bsn_entitled: true\n"
                           "    authzen:\n"
                           "      pdp: https://pdp.example.nl\n"
                           "      patient_id: bsn\n"
                           "  - client_id: h\n"
                           "    care_provider: zorgaanbieder-demo\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/h]\n"
                           "    min_loa: substantial\n"
                           "    authzen:\n"
                           "      pdp: http://localhost:9000\n"
                           "      patient_id: bsn # over http\n"
                           "  - client_id: i\n"
                           "    care_provider: zorgaanbieder-demo\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/i]\n"
                           "    min_loa: substantial\n"
                           "    authzen:\n"
                           "      pdp: https://pdp.example.nl\n"
                           "      patient_id: sofinummer\n"
                           "      evaluations: per_role\n"
                           "  - client_id: k\n"
                           "    client_secret_sha256: " SECRET "\n"
                           "    redirect_uris: [http://localhost:8000/k]\n"
                           "    login_methods: [professional]\n"
                           "    allow_unmapped_roles: true\n"
                           "    authzen:\n"
                           "      pdp: https://pdp.example.nl\n"
                           "      patient_id: pairwise_sub # no patients here\n"
                           "      evaluations: per_role\n");
    expect_errors(rel, 6, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "patient_id: bsn\n"),
                          "clients[0].authzen.patient_id: bsn needs care provider 'zorgaanbieder-demo' to be entitled: "
                          "set bsn_for_authorization: true in its entry (the portal's bsn_entitled does not count)"));
    assert_true(has_error(&errs, rel, line_of(rel, "bsn # over http"),
                          "clients[1].authzen.patient_id: bsn is sent only over TLS: the pdp must be an https URL"));
    assert_true(has_error(&errs, rel, line_of(rel, "bsn # over http"),
                          "clients[1].authzen.patient_id: bsn needs care provider 'zorgaanbieder-demo' to be entitled"));
    assert_true(has_error(&errs, rel, line_of(rel, "sofinummer"),
                          "clients[2].authzen.patient_id: 'sofinummer' is not one of: pairwise_sub, care_provider_pseudonym, bsn"));
    assert_true(has_error(&errs, rel, line_of(rel, "evaluations: per_role\n  - client_id: k"),
                          "clients[2].authzen.evaluations: per_role is only used when login_methods lists professional"));
    assert_true(has_error(&errs, rel, line_of(rel, "no patients here"),
                          "clients[3].authzen.patient_id: is only used when login_methods lists patient"));
    zr_config_errors_free(&errs);

    rel = compose("authzen_scalar.yaml", 0,
                  CLIENT_PATIENT "    authzen: https://pdp.example.nl\n");
    expect_errors(rel, 1, &errs);
    assert_true(has_error(&errs, rel, line_of(rel, "authzen:"), "clients[0].authzen: must be a mapping"));
    zr_config_errors_free(&errs);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_has_professionals),
        cmocka_unit_test(test_valid_every_key),
        cmocka_unit_test(test_dezi_defaults_and_absent),
        cmocka_unit_test(test_dezi_errors),
        cmocka_unit_test(test_dezi_client_key),
        cmocka_unit_test(test_production_refusals),
        cmocka_unit_test(test_decision_log),
        cmocka_unit_test(test_decision_log_subject_key),
        cmocka_unit_test(test_log_pseudonym_key),
        cmocka_unit_test(test_mock_dezi_errors),
        cmocka_unit_test(test_login_methods),
        cmocka_unit_test(test_role_rules),
        cmocka_unit_test(test_authzen_and_introspection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
