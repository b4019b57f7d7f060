/* What a reload keeps of a configuration it replaced (issue 14 §2):
 * zr_config_load_reusing shares unchanged BSN certificates and keys with the
 * configuration in use, zr_config_retain_tenants trims a replaced one to the
 * providers a login in flight may still need, and zr_config_sectors_copy
 * keeps what the sector check reads of the clients. Loads use the example
 * configuration against a test PKI made once by make-pki.sh:
 *   DIR/pki/                 the test PKI
 *   DIR/relay.yaml           the example with care_providers_dir
 *   DIR/providers/           twee and drie, each with a portal */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/config.h"
#include "config_text.h"
#include "zr/util.h"

static char dir[] = "/tmp/zr-config-retain-XXXXXX";

static int group_setup(void **state)
{
    char cmd[1024];
    (void)state;
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "bash '%s/certs-example/make-pki.sh' '%s/pki' >/dev/null && mkdir '%s/providers'",
             ZR_SOURCE_DIR, dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    char cmd[512];
    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* DIR/relay.yaml: the example with the test PKI and care_providers_dir;
 * with rollover, the inline provider lists its second BSN key too. */
static char *write_config(int rollover)
{
    char path[512], pki[300], *example = NULL, *a, *b, *out = NULL;
    size_t len;
    snprintf(path, sizeof(path), "%s/examples/zorgrelay.yaml", ZR_SOURCE_DIR);
    assert_int_equal(zr_file_read(path, 1 << 20, &example, &len), 0);
    snprintf(pki, sizeof(pki), "%s/pki/", dir);
    a = str_replace_all(example, "../certs-example/out/", pki);
    if (rollover) {
        b = str_replace_all(a, "      # - cert: ", "      - cert: ");
        free(a);
        a = str_replace_all(b, "      #   key: ", "        key: ");
        free(b);
    }
    assert_true(asprintf(&out, "%s/relay.yaml", dir) > 0);
    b = NULL;
    assert_true(asprintf(&b, "%s\ncare_providers_dir: providers\n", a) > 0);
    write_text(out, b);
    free(b);
    free(a);
    free(example);
    return out;
}

/* DIR/providers/<id>.yaml with its portal <id>-portal. */
static void write_provider(const char *id, const char *oin, const char *uuid, const char *key)
{
    char path[512];
    FILE *f;
    snprintf(path, sizeof(path), "%s/providers/%s.yaml", dir, id);
    assert_non_null(f = fopen(path, "w"));
    fprintf(f,
            "id: %s\n"
            "entity_id: urn:nl-eid-gdi:1.0:DV:%s:entities:9001\n"
            "oin: \"%s\"\n"
            "services:\n"
            "  - loa: substantial\n"
            "    service_uuid: %s\n"
            "bsn_keys:\n"
            "  - cert: %s/pki/%s.pem\n"
            "    key: %s/pki/%s.key\n"
            "clients:\n"
            "  - client_id: %s-portal\n"
            "    client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d\n"
            "    redirect_uris: [https://%s.example.nl/cb]\n"
            "    min_loa: substantial\n",
            id, oin, oin, uuid, dir, key, dir, key, id, id);
    fclose(f);
}

static zr_config_t *load(const zr_config_t *reuse)
{
    zr_config_errors_t errs = {0};
    char *path = write_config(reuse != NULL);
    zr_config_t *cfg = zr_config_load_reusing(path, 0, reuse, &errs);
    for (size_t i = 0; i < errs.count; i++)
        fprintf(stderr, "  %s\n", errs.lines[i]);
    assert_non_null(cfg);
    zr_config_errors_free(&errs);
    free(path);
    return cfg;
}

static const zr_tenant_t *tenant(const zr_config_t *cfg, const char *id)
{
    const zr_tenant_t *t = zr_config_find_tenant(cfg, id);
    if (!t)
        fail_msg("no care provider %s", id);
    return t;
}

/* Generation 1, then generation 2 loaded reusing it: drie gets a new
 * ServiceUUID (its key stays), the inline provider a second key. */
static void load_two(zr_config_t **first, zr_config_t **second)
{
    write_provider("twee", "00000009999999999002", "22222222-2222-4222-8222-222222222222", "dv2-bsn-1");
    write_provider("drie", "00000009999999999003", "33333333-3333-4333-8333-333333333333", "dv3-bsn-1");
    *first = load(NULL);
    write_provider("drie", "00000009999999999003", "33333333-3333-4333-8333-000000000003", "dv3-bsn-1");
    *second = load(*first);
}

static void test_reload_shares_unchanged_keys(void **state)
{
    zr_config_t *first, *second;
    const zr_tenant_t *demo1, *demo2;
    (void)state;
    load_two(&first, &second);
    assert_int_equal(second->tenant_count, 3);
    /* The same certificate and key: one object, held by both. */
    assert_ptr_equal(tenant(second, "twee")->bsn_keys[0].cert, tenant(first, "twee")->bsn_keys[0].cert);
    assert_ptr_equal(tenant(second, "twee")->bsn_keys[0].key, tenant(first, "twee")->bsn_keys[0].key);
    assert_ptr_equal(tenant(second, "drie")->bsn_keys[0].key, tenant(first, "drie")->bsn_keys[0].key);
    demo1 = tenant(first, "zorgaanbieder-demo");
    demo2 = tenant(second, "zorgaanbieder-demo");
    assert_int_equal(demo2->bsn_key_count, 2);
    assert_ptr_equal(demo2->bsn_keys[0].cert, demo1->bsn_keys[0].cert);
    /* A key the first did not have is its own. */
    assert_ptr_not_equal(demo2->bsn_keys[1].cert, demo1->bsn_keys[0].cert);
    assert_ptr_not_equal(demo2->bsn_keys[1].key, demo1->bsn_keys[0].key);
    /* What makes a login differ still does. */
    assert_string_equal(tenant(second, "twee")->fingerprint, tenant(first, "twee")->fingerprint);
    assert_string_not_equal(tenant(second, "drie")->fingerprint, tenant(first, "drie")->fingerprint);
    /* Either may go first: the other keeps the shared objects. */
    zr_config_free(first);
    assert_int_equal(EVP_PKEY_get_bits(tenant(second, "twee")->bsn_keys[0].key), 2048);
    assert_non_null(X509_get_subject_name(tenant(second, "twee")->bsn_keys[0].cert));
    zr_config_free(second);
}

static void test_retain_keeps_only_what_changed(void **state)
{
    zr_config_t *first, *second, *rest = NULL;
    unsigned char keep[8] = {0};
    const zr_tenant_t *drie;
    char *drie_fp;
    (void)state;
    load_two(&first, &second);
    assert_true(first->tenant_count <= sizeof(keep));
    /* What relay_state.c keeps: the providers the new one changed. */
    for (size_t i = 0; i < first->tenant_count; i++) {
        const zr_tenant_t *now = zr_config_find_tenant(second, first->tenants[i].id);
        keep[i] = !now || strcmp(now->fingerprint, first->tenants[i].fingerprint) != 0;
    }
    drie_fp = strdup(tenant(first, "drie")->fingerprint);
    assert_int_equal(zr_config_retain_tenants(first, keep, 0, &rest), 0);
    assert_non_null(rest);
    /* Kept: drie as it was (and the inline provider, which gained a key),
     * found by id and by entityID. */
    assert_int_equal(first->tenant_count, 2);
    assert_int_equal(tenant(first, "zorgaanbieder-demo")->bsn_key_count, 1);
    drie = tenant(first, "drie");
    assert_string_equal(drie->fingerprint, drie_fp);
    assert_ptr_equal(zr_config_find_tenant_by_entity_id(first, drie->entity_id), drie);
    assert_string_equal(drie->services[0].service_uuid, "33333333-3333-4333-8333-333333333333");
    /* Gone: the unchanged one, the clients. The settings stay. */
    assert_null(zr_config_find_tenant(first, "twee"));
    assert_null(zr_config_find_tenant_by_entity_id(first, tenant(second, "twee")->entity_id));
    assert_int_equal(first->client_count, 0);
    assert_null(zr_config_find_client(first, "twee-portal"));
    assert_non_null(first->saml_signing.key);
    assert_non_null(first->public_base_url);
    /* rest holds the others; freeing it leaves the shared keys to second. */
    assert_int_equal(rest->tenant_count, 1);
    assert_true(rest->client_count >= 2);
    zr_config_free(rest);
    assert_int_equal(EVP_PKEY_get_bits(tenant(second, "twee")->bsn_keys[0].key), 2048);
    assert_int_equal(EVP_PKEY_get_bits(drie->bsn_keys[0].key), 2048);

    /* Trimmed again to nothing, keeping the clients this time. */
    memset(keep, 0, sizeof(keep));
    assert_int_equal(zr_config_retain_tenants(first, keep, 1, &rest), 0);
    assert_int_equal(first->tenant_count, 0);
    assert_null(zr_config_find_tenant(first, "drie"));
    assert_int_equal(rest->tenant_count, 2);
    zr_config_free(rest);
    assert_int_equal(zr_config_retain_tenants(second, keep, 1, &rest), 0);
    assert_non_null(zr_config_find_client(second, "twee-portal"));
    assert_null(zr_config_find_tenant(second, "twee"));
    zr_config_free(rest);
    free(drie_fp);
    zr_config_free(first);
    zr_config_free(second);
}

static void test_sectors_copy(void **state)
{
    zr_config_t *first, *second, *copy;
    zr_sector_change_t *changes = NULL;
    size_t count = 0;
    const zr_client_t *c;
    (void)state;
    load_two(&first, &second);
    assert_non_null(copy = zr_config_sectors_copy(first));
    assert_int_equal(copy->client_count, first->client_count);
    assert_non_null(c = zr_config_find_client(copy, "drie-portal"));
    assert_string_equal(zr_client_sector(c, NULL), "drie-portal");
    assert_string_equal(zr_client_sector_key(c), "client_id");
    zr_config_free(first);
    /* As the started configuration of the reload check: a client the
     * running one lacks is compared with it. */
    assert_int_equal(zr_config_sector_changes(NULL, copy, second, &changes, &count), 0);
    assert_int_equal(count, 0);
    free(changes);
    zr_config_free(copy);
    zr_config_free(second);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reload_shares_unchanged_keys),
        cmocka_unit_test(test_retain_keeps_only_what_changed),
        cmocka_unit_test(test_sectors_copy),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
