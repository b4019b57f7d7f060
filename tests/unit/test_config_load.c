/* Unit tests for zr_config_load(): the shipped example and tests/data/config
 * against a test PKI made once per run by certs-example/make-pki.sh. Each
 * broken configuration must give exactly its error, at its line. */
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
#include <unistd.h>
#include <jansson.h>

#include "../../src/config/config_internal.h"
#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/util.h"
#include "config_text.h"

/* Layout made in a temporary directory, mirroring the repository so the
 * relative paths in the files work unchanged:
 *   DIR/certs-example/out/   the test PKI
 *   DIR/examples/zorgrelay.yaml
 *   DIR/config/              copies of tests/data/config (.yaml, .json) */
static char dir[256];

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
    snprintf(dir, sizeof(dir), "/tmp/zr-test-config-XXXXXX");
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
    if (strncmp(dir, "/tmp/zr-test-config-", 20) != 0)
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

static void write_file(const char *rel, const char *text)
{
    char *p = path_in(rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

/* Loads and returns the errors; asserts the load failed iff errors exist. */
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

/* True when some line is "DIR/REL:LINE: " followed by text (a prefix) and,
 * when given, also contains `contains` (for messages naming a file path). */
static int has_error_with(const zr_config_errors_t *errs, const char *rel, int line, const char *text,
                          const char *contains)
{
    char *want = NULL;
    int found = 0;
    if (asprintf(&want, "%s/%s:%d: %s", dir, rel, line, text) < 0)
        return 0;
    for (size_t i = 0; i < errs->count && !found; i++)
        found = strncmp(errs->lines[i], want, strlen(want)) == 0 && (!contains || strstr(errs->lines[i], contains));
    if (!found)
        fprintf(stderr, "  missing: %s ... %s\n", want, contains ? contains : "");
    free(want);
    return found;
}

static int has_error(const zr_config_errors_t *errs, const char *rel, int line, const char *text)
{
    return has_error_with(errs, rel, line, text, NULL);
}

static void test_example_loads(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = load("examples/zorgrelay.yaml", &errs);
    const zr_tenant_t *t;
    const zr_client_t *c;
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    assert_int_equal(cfg->environment, ZR_ENV_DEVELOPMENT);
    assert_string_equal(cfg->listen, "127.0.0.1:8080");
    assert_string_equal(cfg->public_base_url, "http://localhost:8080");
    assert_int_equal(cfg->max_body_bytes, 256 * 1024);
    assert_true(cfg->threads >= 2);
    assert_string_equal(cfg->redis.host, "127.0.0.1");
    assert_int_equal(cfg->redis.port, 6390);
    assert_int_equal(cfg->redis.timeout_ms, 500);
    assert_string_equal(cfg->redis.prefix, "zr:");
    /* relative paths resolve against the file's directory */
    assert_non_null(strstr(cfg->tvs.metadata, "/examples/../run/mock-tvs-metadata.xml"));
    assert_true(cfg->tvs.metadata[0] == '/');
    assert_int_equal(sk_X509_num(cfg->tvs.trust_anchors), 1);
    assert_string_equal(cfg->tvs.entity_id, "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000");
    assert_int_equal(cfg->tvs.clock_skew_s, 60);
    assert_non_null(cfg->saml_signing.key);
    assert_int_equal(strlen(cfg->saml_signing.key_name), 40);
    assert_non_null(cfg->saml_tls_client.cert);
    assert_int_equal(cfg->sp_metadata_valid_days, 30);

    assert_int_equal(cfg->tenant_count, 1);
    t = zr_config_find_tenant(cfg, "zorgaanbieder-demo");
    assert_ptr_equal(t, &cfg->tenants[0]);
    assert_null(zr_config_find_tenant(cfg, "zorgaanbieder"));
    assert_string_equal(t->oin, "00000009999999999001");
    assert_int_equal(t->service_count, 3);
    assert_string_equal(zr_tenant_service_for_loa(t, ZR_LOA_SUBSTANTIAL)->service_uuid,
                        "7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50");
    assert_int_equal(zr_tenant_service_for_loa(t, ZR_LOA_HIGH)->attribute_consuming_service_index, 1);
    assert_string_equal(zr_tenant_service_for_loa(t, ZR_LOA_BASIC)->name, "Patientportaal (basis)");
    assert_int_equal(t->bsn_key_count, 1);
    assert_int_equal(strlen(t->bsn_keys[0].key_name_sha256), 64);
    {
        char upper[65];
        strcpy(upper, t->bsn_keys[0].key_name_sha256);
        for (char *p = upper; *p; p++)
            *p = (char)(*p >= 'a' && *p <= 'f' ? *p - 32 : *p);
        assert_ptr_equal(zr_tenant_find_bsn_key(t, upper), &t->bsn_keys[0]);
        assert_ptr_equal(zr_tenant_find_bsn_key(t, t->bsn_keys[0].key_name), &t->bsn_keys[0]);
    }

    assert_string_equal(cfg->oidc.issuer, "http://localhost:8080"); /* default */
    assert_int_equal(cfg->oidc.key_count, 2);
    assert_int_equal(cfg->oidc.keys[0].alg, ZR_SIGALG_RS256);
    assert_non_null(cfg->oidc.keys[0].cert);
    assert_int_equal(cfg->oidc.keys[1].alg, ZR_SIGALG_ES256);
    assert_int_equal(strlen(cfg->oidc.keys[1].kid), 43);
    assert_int_equal(cfg->oidc.code_lifetime_s, 60);
    assert_int_equal(cfg->oidc.session_lifetime_s, 900);

    assert_int_equal(cfg->client_count, 2);
    c = zr_config_find_client(cfg, "demo-portal");
    assert_non_null(c);
    assert_int_equal(c->auth_method, ZR_CLIENT_AUTH_SECRET_BASIC);
    assert_string_equal(c->client_secret_sha256, "17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d");
    assert_null(c->client_secret);
    assert_int_equal(c->redirect_uri_count, 1);
    assert_string_equal(c->redirect_uris[0], "http://localhost:8000/callback");
    assert_int_equal(c->allowed_origin_count, 1);
    assert_true(c->bsn_entitled);
    assert_int_equal(c->min_loa, ZR_LOA_SUBSTANTIAL);
    c = zr_config_find_client(cfg, "demo-pgo");
    assert_int_equal(c->auth_method, ZR_CLIENT_AUTH_PRIVATE_KEY_JWT);
    assert_non_null(strstr(c->jwks_json, "\"P-256\""));
    assert_false(c->bsn_entitled);
    assert_int_equal(c->id_token_alg, ZR_SIGALG_ES256);
    assert_null(zr_config_find_client(cfg, "demo"));

    assert_true(cfg->has_mock_tvs);
    assert_int_equal(cfg->mock_tvs.identity_count, 7);
    assert_string_equal(cfg->mock_tvs.identities[0].id_type, "urn:nl-eid-gdi:1.0:id:legacy-BSN");
    assert_string_equal(cfg->mock_tvs.identities[3].legal_bsn, "999990056");
    assert_int_equal(cfg->mock_tvs.identities[4].outcome, ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT);
    assert_int_equal(cfg->mock_tvs.identities[6].outcome, ZR_MOCK_OUTCOME_CANCEL);
    assert_int_equal(cfg->mock_tvs.identities[1].loa, ZR_LOA_HIGH);
    assert_int_equal(cfg->mock_tvs.metadata_valid_days, 7);
    assert_non_null(cfg->mock_tvs.tls.key);
    assert_string_equal(zr_environment_name(cfg->environment), "development");
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

/* The kid default is the RFC 7638 thumbprint: the same value make-pki.sh
 * computes independently (Python) for the PGO client's JWKS. */
static void test_thumbprint_matches_independent(void **state)
{
    char err[256];
    char *keyfile = path_in("certs-example/out/pgo-client.key"), *jwksfile = path_in("certs-example/out/pgo-client.jwks.json");
    EVP_PKEY *key = zr_crypto_load_private_key(keyfile, err, sizeof(err));
    json_t *jwks = json_load_file(jwksfile, 0, NULL);
    char *kid;
    assert_non_null(key);
    assert_non_null(jwks);
    kid = zr_cfg_jwk_thumbprint(key);
    assert_non_null(kid);
    assert_string_equal(kid, json_string_value(json_object_get(json_array_get(json_object_get(jwks, "keys"), 0), "kid")));
    free(kid);
    json_decref(jwks);
    EVP_PKEY_free(key);
    free(keyfile);
    free(jwksfile);
}

static void test_valid_configs(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = load("config/valid.yaml", &errs);
    assert_non_null(cfg);
    /* defaults */
    assert_int_equal(cfg->log_level, 1);
    assert_int_equal(cfg->clients[0].id_token_alg, ZR_SIGALG_RS256);
    assert_string_equal(cfg->clients[0].name, "demo-portal");
    assert_int_equal(cfg->oidc.keys[0].alg, ZR_SIGALG_RS256);
    assert_int_equal(cfg->oidc.id_token_lifetime_s, 300);
    assert_int_equal(cfg->mock_tvs.identities[1].outcome, ZR_MOCK_OUTCOME_CANCEL);
    assert_null(cfg->mock_tvs.identities[1].acting_bsn);
    zr_config_free(cfg);
    cfg = load("config/valid_production.yaml", &errs);
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    assert_int_equal(cfg->environment, ZR_ENV_PRODUCTION);
    assert_false(cfg->has_mock_tvs);
    assert_string_equal(cfg->oidc.issuer, "https://login.example.nl");
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

typedef struct {
    const char *file;
    int line;
    const char *text;     /* prefix of the message after "FILE:LINE: " */
    const char *contains; /* and, after a file path in it, this */
} broken_t;

static const broken_t broken[] = {
    {"unknown_key", 7, "redis.hots: unknown key (did you mean 'host'?)", NULL},
    {"bad_entity_id", 25, "care_providers[0].entity_id: must look like urn:nl-eid-gdi:1.0:DV:<OIN, 20 digits>", NULL},
    {"oin_mismatch", 25,
     "care_providers[0].entity_id: the OIN in the entity ID (00000009999999999002) differs from oin "
     "(00000009999999999001)", NULL},
    {"key_mismatch", 18, "saml.signing.key: the private key does not belong to the certificate ",
     "/config/../certs-example/out/relay-signing.pem"},
    {"missing_file", 35, "care_providers[0].bsn_keys[0].cert: cannot open certificate ",
     "/config/../certs-example/out/dv-bsn-9.pem"},
    {"unknown_care_provider", 51,
     "clients[1].care_provider: unknown care provider 'zorgaanbieder-west' (no care_providers entry has this id)", NULL},
    {"bad_redirect_uri", 55,
     "clients[1].redirect_uris[0]: must be an absolute https URL (or http on localhost in development)", NULL},
    {"production_http_redirect", 57, "clients[1].redirect_uris[0]: http is refused in production: must be an https URL", NULL},
    {"code_lifetime", 42, "oidc.code_lifetime: must be between 1 and 60", NULL},
    /* issue 17 §2: signed UserInfo needs a signing key of that alg */
    {"userinfo_alg_without_key", 50, "clients[0].userinfo_signed_response_alg: no oidc.signing_keys entry has alg ES256",
     NULL},
    /* issue 17 §1/§2: encryption keys and encrypted responses */
    {"enc_alg_without_enc_key", 57, "clients[1].userinfo_encrypted_response_alg: ",
     "pgo-client.jwks.json has no RSA key to encrypt to with RSA-OAEP (use enc or no use; alg RSA-OAEP or none)"},
    {"enc_without_alg", 57,
     "clients[1].id_token_encrypted_response_enc: needs id_token_encrypted_response_alg (OIDC Registration §2)", NULL},
    {"enc_weaker_than_a256gcm", 57,
     "clients[1].userinfo_encrypted_response_enc: 'A128CBC-HS256' is not one of: A256GCM", NULL},
    {"enc_without_private_key_jwt", 50,
     "clients[0].id_token_encrypted_response_alg: needs auth_method private_key_jwt (the client's encryption key "
     "comes from its jwks_file)", NULL},
    {"encryption_key_not_rsa", 43, "oidc.encryption_keys[0].key: ", "oidc-es256.key is not an RSA key"},
    {"duplicate_client_id", 50, "clients[1].client_id: duplicate client_id 'demo-portal' (also clients[0])", NULL},
    /* issue 18 §2: who shows a refused login */
    {"error_pages_unknown", 50, "clients[0].error_pages: 'portaal' is not one of: relay, portal", NULL},
    {"loa_without_service", 56,
     "clients[1].min_loa: care provider 'zorgaanbieder-demo' has no service with LoA high or higher", NULL},
    {"bad_bsn", 72, "mock_tvs.identities[0].acting_bsn: not a valid BSN (9 digits passing the 11-proof)", NULL},
    {"bsn_key_usage", 35, "care_providers[0].bsn_keys[0].cert: certificate ",
     "relay-signing.pem does not allow keyEncipherment (keyUsage)"},
    {"jwks_private", 53, "clients[1].jwks_file: ",
     "private.jwks.json keys[0] holds private key material (\"d\"); publish public keys only"},
    {"signed_request_object_without_keys", 50,
     "clients[0].require_signed_request_object: needs auth_method private_key_jwt (request objects are verified "
     "with its jwks_file)", NULL},
    {"alg_mismatch", 41, "oidc.signing_keys[0].alg: ES256 needs an EC P-256 key", NULL},
    {"syntax_error", 72, "YAML syntax error: did not find expected key (while parsing a block mapping that starts at line 23)", NULL},
};

static void test_broken_configs(void **state)
{
    for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
        zr_config_errors_t errs = {0};
        char rel[128];
        zr_config_t *cfg;
        snprintf(rel, sizeof(rel), "config/%s.yaml", broken[i].file);
        cfg = load(rel, &errs);
        assert_null(cfg);
        if (errs.count != 1 || !has_error_with(&errs, rel, broken[i].line, broken[i].text, broken[i].contains)) {
            fprintf(stderr, "%s:\n", rel);
            print_errors(&errs);
            fail();
        }
        zr_config_errors_free(&errs);
    }
}

/* Issue 17 §1: oidc.encryption_keys, RSA-OAEP-256 unless the entry says
 * otherwise, the kid configured or the key's thumbprint. */
static void test_encryption_keys(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = load("config/encryption_keys.yaml", &errs);
    (void)state;
    assert_non_null(cfg);
    assert_int_equal(cfg->oidc.enc_key_count, 2);
    assert_string_equal(cfg->oidc.enc_keys[0].kid, "enc-1");
    assert_int_equal(cfg->oidc.enc_keys[0].alg, 1); /* RSA-OAEP-256 */
    assert_int_equal(cfg->oidc.enc_keys[1].alg, 0); /* RSA-OAEP */
    assert_int_equal(strlen(cfg->oidc.enc_keys[1].kid), 43);
    assert_non_null(cfg->oidc.enc_keys[1].key);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

/* Every mistake is reported, not just the first. */
static void test_all_errors_collected(void **state)
{
    zr_config_errors_t errs = {0};
    assert_null(load("config/many_errors.yaml", &errs));
    assert_int_equal(errs.count, 4);
    assert_true(has_error(&errs, "config/many_errors.yaml", 4, "listen: must be HOST:PORT"));
    assert_true(has_error(&errs, "config/many_errors.yaml", 31,
                          "care_providers[0].services[1].loa: LoA substantial already has a service"));
    assert_true(has_error(&errs, "config/many_errors.yaml", 32,
                          "care_providers[0].services[1].service_uuid: must be a UUID"));
    assert_true(has_error(&errs, "config/many_errors.yaml", 45,
                          "clients[0].auth_method: 'client_secret_post' is not one of: client_secret_basic, "
                          "private_key_jwt, none, tls_client_auth"));
    zr_config_errors_free(&errs);

    assert_null(load("config/production_refusals.yaml", &errs));
    assert_int_equal(errs.count, 6);
    /* issue 17 §3: NL GOV allows private_key_jwt and tls_client_auth only */
    assert_true(has_error(&errs, "config/production_refusals.yaml", 45,
                          "clients[0].auth_method: client_secret_basic is refused in production (NL GOV profile: "
                          "private_key_jwt or tls_client_auth); to run it as a documented deviation set "
                          "auth_method_deviation: \"<reason>\""));
    assert_true(has_error(&errs, "config/production_refusals.yaml", 5,
                          "public_base_url: http is refused in production"));
    /* issue 12 §2: any certificate under the anchor could sign TVS metadata. */
    assert_true(has_error(&errs, "config/production_refusals.yaml", 12,
                          "tvs.trust_anchor: a trust anchor without a pinned metadata signer is refused in "
                          "production"));
    assert_true(has_error(&errs, "config/production_refusals.yaml", 14,
                          "tvs.entity_id: entity index 9000 is reserved for test and refused in production"));
    assert_true(has_error(&errs, "config/production_refusals.yaml", 25,
                          "care_providers[0].entity_id: entity index 9000 is reserved for test"));
    assert_true(has_error(&errs, "config/production_refusals.yaml", 59,
                          "mock_tvs: the mock TVS is refused in production"));
    zr_config_errors_free(&errs);
}

/* Small files written here: the structure of the document itself. */
static void test_document_shape(void **state)
{
    zr_config_errors_t errs = {0};
    char *p = path_in("config/does-not-exist.yaml");
    assert_null(zr_config_load(p, &errs));
    assert_int_equal(errs.count, 1);
    assert_non_null(strstr(errs.lines[0], "cannot read the configuration file (No such file or directory)"));
    zr_config_errors_free(&errs);
    /* errs may be NULL */
    assert_null(zr_config_load(p, NULL));
    free(p);

    write_file("config/empty.yaml", "# nothing\n");
    assert_null(load("config/empty.yaml", &errs));
    assert_true(has_error(&errs, "config/empty.yaml", 1, "the configuration is empty"));
    zr_config_errors_free(&errs);

    write_file("config/list.yaml", "- a\n- b\n");
    assert_null(load("config/list.yaml", &errs));
    assert_int_equal(errs.count, 1);
    assert_true(has_error(&errs, "config/list.yaml", 1, "must be a mapping"));
    zr_config_errors_free(&errs);

    write_file("config/two.yaml", "environment: development\n---\nenvironment: production\n");
    assert_null(load("config/two.yaml", &errs));
    assert_true(has_error(&errs, "config/two.yaml", 3, "only one YAML document is allowed"));
    zr_config_errors_free(&errs);

    /* required sections, a duplicate key, an unknown top-level key, a bad enum */
    write_file("config/bare.yaml", "environment: staging\nlisten: 127.0.0.1:8080\nlisten: 127.0.0.1:8081\n"
                                   "publik_base_url: https://x.nl\nthreads: many\n");
    assert_null(load("config/bare.yaml", &errs));
    assert_true(has_error(&errs, "config/bare.yaml", 1,
                          "environment: 'staging' is not one of: development, preprod, production"));
    assert_true(has_error(&errs, "config/bare.yaml", 3, "listen: duplicate key (first at line 2)"));
    assert_true(has_error(&errs, "config/bare.yaml", 4,
                          "publik_base_url: unknown key (did you mean 'public_base_url'?)"));
    assert_true(has_error(&errs, "config/bare.yaml", 5, "threads: must be a whole number"));
    assert_true(has_error(&errs, "config/bare.yaml", 1, "public_base_url: is required"));
    assert_true(has_error(&errs, "config/bare.yaml", 1, "redis: is required"));
    assert_true(has_error(&errs, "config/bare.yaml", 1, "care_providers: is required"));
    assert_true(has_error(&errs, "config/bare.yaml", 1, "clients: is required"));
    zr_config_errors_free(&errs);
}

/* A YAML syntax error is reported where it is to be fixed: libyaml notices
 * an unclosed quote at the end of the file and a key without ':' on the
 * next line; a bad indentation where it is, not where the mapping began. */
static void test_yaml_error_lines(void **state)
{
    zr_config_errors_t errs = {0};
    write_file("config/quote.yaml", "environment: development\nlisten: 127.0.0.1:8080\npublic_base_url: \"https://x.nl\n"
                                    "redis:\n  host: 127.0.0.1\n");
    assert_null(load("config/quote.yaml", &errs));
    assert_int_equal(errs.count, 1);
    assert_true(has_error(&errs, "config/quote.yaml", 3,
                          "YAML syntax error: unclosed quote: found unexpected end of stream at line 6 (while "
                          "scanning a quoted scalar that starts here)"));
    zr_config_errors_free(&errs);

    write_file("config/single.yaml", "a: 1\nb: 2\nc: 'abc\nd: 4\n");
    assert_null(load("config/single.yaml", &errs));
    assert_true(has_error(&errs, "config/single.yaml", 3, "YAML syntax error: unclosed quote: "));
    zr_config_errors_free(&errs);

    write_file("config/keyless.yaml", "environment: development\nlisten\nredis: {}\n");
    assert_null(load("config/keyless.yaml", &errs));
    assert_true(has_error(&errs, "config/keyless.yaml", 2,
                          "YAML syntax error: could not find expected ':' at line 3 (while scanning a simple key "
                          "that starts here)"));
    zr_config_errors_free(&errs);

    write_file("config/indent.yaml", "redis:\n  host: a\n  port: 1\n port: 2\n");
    assert_null(load("config/indent.yaml", &errs));
    assert_true(has_error(&errs, "config/indent.yaml", 4,
                          "YAML syntax error: did not find expected key (while parsing a block mapping that starts "
                          "at line 1)"));
    zr_config_errors_free(&errs);

    /* Not UTF-8 (a name saved in Latin-1), a control character: the line
     * of the byte, not line 1. */
    write_file("config/latin1.yaml", "a: 1\nb: 2\nname: Caf\xe9\nd: 4\n");
    assert_null(load("config/latin1.yaml", &errs));
    assert_true(has_error(&errs, "config/latin1.yaml", 3,
                          "YAML syntax error: invalid trailing UTF-8 octet; the file must be UTF-8 (saved as Latin-1 or "
                          "Windows-1252?)"));
    zr_config_errors_free(&errs);
    write_file("config/control.yaml", "a: 1\nb: 2\nc: \x01\n");
    assert_null(load("config/control.yaml", &errs));
    assert_true(has_error(&errs, "config/control.yaml", 3,
                          "YAML syntax error: control characters are not allowed"));
    zr_config_errors_free(&errs);

    /* A problem inside a quoted value on its own line: that line. */
    write_file("config/escape.yaml", "a: 1\nb: \"x\\qy\"\n");
    assert_null(load("config/escape.yaml", &errs));
    assert_true(has_error(&errs, "config/escape.yaml", 2, "YAML syntax error: found unknown escape character"));
    zr_config_errors_free(&errs);
}

/* config/valid.yaml with `tail` appended. */
static zr_config_t *load_with_tail(const char *tail, int *first_line, zr_config_errors_t *errs)
{
    char *yaml = NULL, *p = path_in("config/valid.yaml"), *out = NULL;
    size_t len = 0;
    zr_config_t *cfg;

    assert_int_equal(zr_file_read(p, 1 << 20, &yaml, &len), 0);
    *first_line = 1;
    for (size_t i = 0; i < len; i++)
        *first_line += yaml[i] == '\n';
    assert_true(asprintf(&out, "%s%s%s", yaml, len && yaml[len - 1] != '\n' ? "\n" : "", tail) > 0);
    if (len && yaml[len - 1] != '\n')
        (*first_line)++;
    write_file("config/limits.yaml", out);
    cfg = load("config/limits.yaml", errs);
    free(out);
    free(yaml);
    free(p);
    return cfg;
}

/* limits: (issue 13 §3): defaults, values, and FILE:LINE errors. */
static void test_limits(void **state)
{
    zr_config_errors_t errs = {0};
    char text[46];
    int l;
    zr_config_t *cfg = load_with_tail("", &l, &errs);

    assert_non_null(cfg);
    assert_int_equal(cfg->limits.max_connections, 4096);
    assert_int_equal(cfg->limits.max_connections_set, 0);
    assert_int_equal(cfg->limits.max_connections_per_ip, 256);
    assert_int_equal(cfg->limits.header_timeout_s, 10);
    assert_int_equal(cfg->limits.body_timeout_s, 30);
    assert_int_equal(cfg->limits.idle_timeout_s, 30);
    assert_int_equal(cfg->limits.max_uri_bytes, 8192);
    assert_int_equal(cfg->limits.drain_timeout_s, 30);
    assert_int_equal(cfg->limits.trusted_proxy_count, 0);
    zr_config_free(cfg);

    cfg = load_with_tail("limits:\n  max_connections: 100\n  max_connections_per_ip: 7\n"
                         "  trusted_proxies: [10.0.0.5, 2001:db8::/32]\n  header_timeout_s: 3\n"
                         "  drain_timeout_s: 0\n", &l, &errs);
    assert_non_null(cfg);
    assert_int_equal(cfg->limits.max_connections, 100);
    assert_int_equal(cfg->limits.max_connections_set, 1);
    assert_int_equal(cfg->limits.max_connections_per_ip, 7);
    assert_int_equal(cfg->limits.header_timeout_s, 3);
    assert_int_equal(cfg->limits.drain_timeout_s, 0);
    assert_int_equal(cfg->limits.trusted_proxy_count, 2);
    assert_string_equal(zr_net_addr_format(&cfg->limits.trusted_proxies[0].addr, text), "10.0.0.5");
    assert_int_equal(cfg->limits.trusted_proxies[1].prefix, 32);
    zr_config_free(cfg);

    assert_null(load_with_tail("limits:\n  max_conections: 100\n  max_connections: 8\n"
                               "  trusted_proxies:\n    - 10.0.0.1/8\n    - proxy.example.nl\n    - 10.0.0.5\n"
                               "    - 10.0.0.5\n  header_timeout_s: 0\n",
                               &l, &errs));
    assert_true(has_error(&errs, "config/limits.yaml", l + 1, "limits.max_conections: unknown key"));
    assert_true(has_error(&errs, "config/limits.yaml", l + 2, "limits.max_connections: must be between 16 and"));
    assert_true(has_error(&errs, "config/limits.yaml", l + 4,
                          "limits.trusted_proxies[0]: '10.0.0.1/8' is not an IP address or a CIDR range"));
    assert_true(has_error(&errs, "config/limits.yaml", l + 5,
                          "limits.trusted_proxies[1]: 'proxy.example.nl' is not an IP address"));
    assert_true(has_error(&errs, "config/limits.yaml", l + 7, "limits.trusted_proxies[3]: '10.0.0.5' is listed twice"));
    assert_true(has_error(&errs, "config/limits.yaml", l + 8, "limits.header_timeout_s: must be between 1 and 300"));
    zr_config_errors_free(&errs);
}

/* config/valid.yaml with the OIDC signing certificate file replaced by one
 * holding the given files' PEM, one after the other. */
static zr_config_t *load_with_oidc_cert(const char *const *pems, size_t n, zr_config_errors_t *errs)
{
    char *yaml = NULL, *p = path_in("config/valid.yaml"), *from, *bundle = path_in("certs-example/out/oidc-bundle.pem");
    const char *needle = "cert: ../certs-example/out/oidc-rs256.pem";
    size_t len = 0;
    FILE *f = fopen(bundle, "w");
    zr_config_t *cfg;

    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        char *pem = NULL, *pp = path_in(pems[i]);
        size_t pl = 0;
        assert_int_equal(zr_file_read(pp, 1 << 20, &pem, &pl), 0);
        fwrite(pem, 1, pl, f);
        free(pem);
        free(pp);
    }
    fclose(f);
    assert_int_equal(zr_file_read(p, 1 << 20, &yaml, &len), 0);
    from = strstr(yaml, needle);
    assert_non_null(from);
    {
        char *out = NULL;
        assert_true(asprintf(&out, "%.*scert: ../certs-example/out/oidc-bundle.pem%s", (int)(from - yaml), yaml,
                             from + strlen(needle)) > 0);
        write_file("config/oidc_chain.yaml", out);
        free(out);
    }
    cfg = load("config/oidc_chain.yaml", errs);
    free(yaml);
    free(p);
    free(bundle);
    return cfg;
}

/* A certificate file with the chain after the key's own certificate
 * (PKIoverheid): kept in order for x5c (RFC 7517 §4.7); out of order it is
 * a configuration error. */
static void test_oidc_cert_chain(void **state)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    X509 *ca;
    char err[256];
    char *ca_path = path_in("certs-example/out/ca.pem");
    (void)state;

    cfg = load_with_oidc_cert((const char *const[]){"certs-example/out/oidc-rs256.pem", "certs-example/out/ca.pem"}, 2,
                              &errs);
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    assert_non_null(cfg->oidc.keys[0].chain);
    assert_int_equal(sk_X509_num(cfg->oidc.keys[0].chain), 1);
    ca = zr_crypto_load_certificate(ca_path, err, sizeof(err));
    assert_non_null(ca);
    assert_int_equal(X509_cmp(sk_X509_value(cfg->oidc.keys[0].chain, 0), ca), 0);
    assert_int_equal(cfg->oidc.keys[0].chain_to_root, 1); /* the test CA is a root */
    X509_free(ca);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);

    /* only the key's own certificate: no chain */
    cfg = load_with_oidc_cert((const char *const[]){"certs-example/out/oidc-rs256.pem"}, 1, &errs);
    assert_non_null(cfg);
    assert_null(cfg->oidc.keys[0].chain);
    assert_int_equal(cfg->oidc.keys[0].chain_to_root, 0); /* allowed outside production */
    zr_config_free(cfg);
    zr_config_errors_free(&errs);

    /* a second certificate that did not issue the first */
    cfg = load_with_oidc_cert(
        (const char *const[]){"certs-example/out/oidc-rs256.pem", "certs-example/out/tvs-signing.pem"}, 2, &errs);
    assert_null(cfg);
    assert_true(has_error_with(&errs, "config/oidc_chain.yaml", 40, "oidc.signing_keys[0]: cert: certificate 2 in ",
                               "did not issue (and sign) the one before it (x5c must be in chain order"));
    zr_config_errors_free(&errs);
    free(ca_path);
}

#ifdef ZR_TESTING
/* Three years on, every certificate of the test PKI has expired. */
static void test_expired_certificates(void **state)
{
    zr_config_errors_t errs = {0};
    size_t expired = 0;
    setenv("ZR_TEST_TIME_OFFSET", "94608000", 1);
    assert_null(load("config/valid.yaml", &errs));
    unsetenv("ZR_TEST_TIME_OFFSET");
    for (size_t i = 0; i < errs.count; i++)
        expired += strstr(errs.lines[i], ": certificate ") && strstr(errs.lines[i], " expired on ");
    /* saml signing + tls client, BSN key, OIDC cert, mock signing + tls */
    assert_int_equal(expired, 6);
    assert_int_equal(errs.count, 6);
    assert_true(has_error(&errs, "config/valid.yaml", 17, "saml.signing.cert: certificate "));
    zr_config_errors_free(&errs);
}
#endif

/* Registered clients (issue 17 §4, src/config/registered.c): a file per
 * client in oidc.registration_dir, read by the clients' own reader with
 * FILE:LINE errors; only one care provider; named after its client_id. */
static void write_registered(const char *name, const char *client_id, const char *extra)
{
    char *jwks = NULL, *jp = path_in("certs-example/out/pgo-client.jwks.json"), *text = NULL, rel[256];
    size_t len = 0;
    assert_int_equal(zr_file_read(jp, 65536, &jwks, &len), 0);
    for (char *c = jwks; *c; c++)
        if (*c == '\n')
            *c = ' ';
    assert_true(asprintf(&text,
                         "registration:\n"
                         "  care_provider: zorgaanbieder-demo\n"
                         "  client_id_issued_at: 1765040400\n"
                         "  access_token_hmac: \"%064d\"\n"
                         "client:\n"
                         "  client_id: %s\n"
                         "  care_provider: zorgaanbieder-demo\n"
                         "  auth_method: private_key_jwt\n"
                         "  jwks: '%s'\n"
                         "  redirect_uris:\n"
                         "    - https://pgo.example.nl/callback\n"
                         "  min_loa: substantial\n"
                         "%s",
                         0, client_id, jwks, extra) > 0);
    snprintf(rel, sizeof(rel), "config/reg/%s", name);
    write_file(rel, text);
    free(text);
    free(jwks);
    free(jp);
}

static void test_registered_clients(void **state)
{
    zr_config_errors_t errs = {0};
    char *yaml = NULL, *p = path_in("config/valid.yaml"), *out = NULL, *reg = path_in("config/reg");
    const zr_client_t *c;
    zr_config_t *cfg;
    size_t len = 0;

    assert_int_equal(zr_file_read(p, 1 << 20, &yaml, &len), 0);
    assert_non_null(strstr(yaml, "\noidc:\n"));
    assert_true(asprintf(&out, "%.*s\noidc:\n  registration_dir: reg\n%s", (int)(strstr(yaml, "\noidc:\n") - yaml),
                         yaml, strstr(yaml, "\noidc:\n") + 7) > 0);
    write_file("config/registered.yaml", out);
    mkdir(reg, 0700);

    /* A good one (and the relay's own temporary file beside it, skipped). */
    write_registered("dcr-good.yaml", "dcr-good", "");
    write_file("config/reg/.dcr-good.abc.pending", "not: [yaml");
    cfg = load("config/registered.yaml", &errs);
    if (!cfg)
        print_errors(&errs);
    assert_non_null(cfg);
    assert_non_null(c = zr_config_find_client(cfg, "dcr-good"));
    assert_non_null(c->registration_file);
    assert_string_equal(c->care_provider, "zorgaanbieder-demo");
    assert_false(c->bsn_entitled);
    assert_int_equal(c->auth_method, ZR_CLIENT_AUTH_PRIVATE_KEY_JWT);
    assert_non_null(strstr(c->jwks_json, "\"keys\""));
    assert_int_equal(c->client_id_issued_at, 1765040400);
    /* Gone from the directory: no longer served, before any reload. */
    assert_int_equal(unlink(c->registration_file), 0);
    assert_null(zr_config_find_client(cfg, "dcr-good"));
    zr_config_free(cfg);

    /* Each mistake with its file and line. */
    write_registered("dcr-shared.yaml", "dcr-shared", "  care_providers: [zorgaanbieder-demo]\n");
    write_registered("dcr-other.yaml", "dcr-misnamed", "");
    write_registered("dcr-both.yaml", "dcr-both", "  jwks_file: ../../certs-example/out/pgo-client.jwks.json\n");
    write_registered("dcr-fragment.yaml", "dcr-fragment", "  post_logout_redirect_uris: ['https://pgo.example.nl/#x']\n");
    assert_null(load("config/registered.yaml", &errs));
    assert_true(has_error(&errs, "config/reg/dcr-shared.yaml", 13,
                          "client.care_providers: a registered client belongs to one care provider"));
    assert_true(has_error(&errs, "config/reg/dcr-other.yaml", 6,
                          "client.client_id: 'dcr-misnamed' must be the file's name without .yaml"));
    assert_true(has_error(&errs, "config/reg/dcr-both.yaml", 9, "client.jwks: set jwks or jwks_file, not both"));
    assert_true(has_error(&errs, "config/reg/dcr-fragment.yaml", 13,
                          "client.post_logout_redirect_uris[0]: must not contain a fragment (#)"));
    assert_int_equal(errs.count, 4);
    zr_config_errors_free(&errs);

    /* What /register writes is judged as the configuration would be: in
     * production an http redirect URI is refused, even on loopback. */
    cfg = load("config/valid_production.yaml", &errs);
    assert_non_null(cfg);
    write_registered("dcr-candidate.yaml", "dcr-candidate", "  home_page: https://pgo.example.nl/\n");
    {
        char *cand = path_in("config/reg/dcr-candidate.yaml"), *http = NULL, *text = NULL;
        size_t n = 0;
        assert_int_equal(zr_config_registered_check(cfg, cand, &errs, NULL), 0);
        assert_int_equal(zr_file_read(cand, 1 << 16, &text, &n), 0);
        assert_non_null(strstr(text, "https://pgo.example.nl/callback"));
        assert_true(asprintf(&http, "%.*shttp://127.0.0.1:8001/callback%s", (int)(strstr(text, "https://pgo") - text),
                             text, strstr(text, "https://pgo") + strlen("https://pgo.example.nl/callback")) > 0);
        write_file("config/reg/dcr-candidate.yaml", http);
        assert_int_equal(zr_config_registered_check(cfg, cand, &errs, NULL), -1);
        assert_true(has_error(&errs, "config/reg/dcr-candidate.yaml", 11,
                              "client.redirect_uris[0]: http is refused in production: must be an https URL"));
        free(cand);
        free(http);
        free(text);
    }
    zr_config_errors_free(&errs);
    zr_config_free(cfg);
    {
        char *cand = path_in("config/reg/dcr-candidate.yaml");
        unlink(cand);
        free(cand);
    }
    free(yaml);
    free(out);
    free(p);
    free(reg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_loads),
        cmocka_unit_test(test_thumbprint_matches_independent),
        cmocka_unit_test(test_valid_configs),
        cmocka_unit_test(test_broken_configs),
        cmocka_unit_test(test_encryption_keys),
        cmocka_unit_test(test_all_errors_collected),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_yaml_error_lines),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_oidc_cert_chain),
        cmocka_unit_test(test_registered_clients),
#ifdef ZR_TESTING
        cmocka_unit_test(test_expired_certificates),
#endif
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
