/* The trace's masking (src/diag/mask.c): BSNs to their last three digits,
 * signature/cipher/certificate values shortened, secrets hashed; and the
 * trace in a real Redis: events in order, links, expiry, nothing in clear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "zr/diag.h"
#include "zr/log.h"
#include "zr/xml.h"

static void test_mask_bsn(void **state)
{
    char *m = zr_diag_mask_bsn("999990019");
    (void)state;
    assert_string_equal(m, "******019");
    free(m);
    m = zr_diag_mask_bsn("12");
    assert_string_equal(m, "**");
    free(m);
    assert_null(zr_diag_mask_bsn(NULL));
}

static void test_shorten(void **state)
{
    const char *sig = "oCh2VjdsAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA715mtg==";
    char *s = zr_diag_shorten(sig);
    (void)state;
    assert_string_equal(s, "oCh2Vjds\xe2\x80\xa6" "715mtg== (69 chars)");
    free(s);
    /* Short values are not revealed at all. */
    s = zr_diag_shorten("0123456789abcdef");
    assert_string_equal(s, "\xe2\x80\xa6 (16 chars)");
    free(s);
}

static void test_hash(void **state)
{
    static const uint8_t key[32] = {1, 2, 3};
    char *a, *b, *c, *none;
    (void)state;
    /* No key: a placeholder, never an unkeyed hash. */
    zr_log_pseudonym_key_clear();
    none = zr_diag_hash("code-1");
    assert_string_equal(none, "k:?");
    assert_int_equal(zr_log_pseudonym_key_set(key, sizeof(key)), 0);
    a = zr_diag_hash("code-1"), b = zr_diag_hash("code-1"), c = zr_diag_hash("code-2");
    assert_int_equal(strlen(a), 2 + 16);
    assert_memory_equal(a, "k:", 2);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_null(strstr(a, "code"));
    /* Not the plain SHA-256 the trace used to show. */
    assert_null(strstr(a, "51bd6639"));
    zr_log_pseudonym_key_clear();
    free(none);
    free(a);
    free(b);
    free(c);
}

static void test_mask_text(void **state)
{
    char *m = zr_diag_mask_text("bsn=999990019, other 123456789 and 1234567890 and _ab999990019c x999990019");
    (void)state;
    /* Standalone nine-digit runs go; ten digits and runs inside words stay. */
    assert_string_equal(m, "bsn=******019, other ******789 and 1234567890 and _ab999990019c x999990019");
    free(m);
    m = zr_diag_mask_text("999990019");
    assert_string_equal(m, "******019");
    free(m);
}

static const char *xml_msg =
    "<samlp:ArtifactResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\""
    " xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" xmlns:xenc=\"http://www.w3.org/2001/04/xmlenc#\""
    " ID=\"_386123905de34c05e1905f4281e584c1f125033a\" Recipient=\"999990056\">"
    "<ds:SignatureValue>\n  QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg==\n</ds:SignatureValue>"
    "<ds:DigestValue>ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0ZGlnZXN0MTI=</ds:DigestValue>"
    "<ds:X509Certificate>MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtest999990020cert==</ds:X509Certificate>"
    "<xenc:CipherValue>Y2lwaGVyY2lwaGVyY2lwaGVyY2lwaGVyY2lwaGVyY2lwaGVy</xenc:CipherValue>"
    "<samlp:Artifact>AAQAAL4OAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/kOF64U=</samlp:Artifact>"
    "<NameID>999990019</NameID><!-- 999990044 --></samlp:ArtifactResponse>";

static void test_mask_xml(void **state)
{
    char *m = zr_diag_mask_xml(xml_msg, strlen(xml_msg));
    (void)state;
    assert_non_null(m);
    assert_non_null(strstr(m, "<ds:SignatureValue>QUJDREVG\xe2\x80\xa6" "d3h5eg== (72 chars)</ds:SignatureValue>"));
    assert_non_null(strstr(m, "<ds:DigestValue>ZGlnZXN0\xe2\x80\xa6" "ZGlnZXN0MTI= (44 chars)</ds:DigestValue>") ||
                    strstr(m, "(44 chars)</ds:DigestValue>"));
    assert_non_null(strstr(m, "(63 chars)</ds:X509Certificate>"));
    assert_non_null(strstr(m, "(48 chars)</xenc:CipherValue>"));
    assert_non_null(strstr(m, "(63 chars)</samlp:Artifact>"));
    assert_non_null(strstr(m, "<NameID>******019</NameID>"));
    assert_non_null(strstr(m, "Recipient=\"******056\""));
    /* Message IDs stay readable: DICTU looks them up. */
    assert_non_null(strstr(m, "_386123905de34c05e1905f4281e584c1f125033a"));
    for (const char *bsn = "999990019\0" "999990020\0" "999990044\0" "999990056\0"; *bsn; bsn += 10)
        assert_null(strstr(m, bsn));
    free(m);
}

static void test_mask_xml_not_xml(void **state)
{
    const char *text = "<!DOCTYPE x><x>999990019</x>";
    char *m = zr_diag_mask_xml(text, strlen(text));
    (void)state;
    /* Refused by the hardened parser: still masked as text. */
    assert_string_equal(m, "<!DOCTYPE x><x>******019</x>");
    free(m);
}

static void test_trace_store(void **state)
{
    zr_test_redis_t r = {0};
    zr_config_t cfg;
    zr_store_t *store = NULL;
    char err[256], id[ZR_DIAG_ID_LEN + 1], found[ZR_DIAG_ID_LEN + 1], *text = NULL;
    json_t *doc = NULL;
    (void)state;

    if (zr_test_redis_start(&r) != 0)
        skip();
    memset(&cfg, 0, sizeof(cfg));
    cfg.environment = ZR_ENV_PREPROD;
    cfg.trace.enabled = 1;
    cfg.trace.lifetime_s = 60;
    cfg.redis.host = "127.0.0.1";
    cfg.redis.port = r.port;
    cfg.redis.timeout_ms = 500;
    cfg.redis.prefix = "zr:";
    memset(cfg.redis.encryption_key, 7, sizeof(cfg.redis.encryption_key));
    store = zr_store_open(&cfg.redis, err, sizeof(err));
    assert_non_null(store);

    assert_int_equal(zr_diag_enabled(&cfg), 1);
    assert_int_equal(zr_diag_trace_new(store, &cfg, "portal", id), 0);
    assert_int_equal(strlen(id), ZR_DIAG_ID_LEN);
    assert_int_equal(zr_diag_trace_add(store, &cfg, id, "one", json_pack("{s:s}", "bsn", "******019")), 0);
    assert_int_equal(zr_diag_trace_add(store, &cfg, id, "two", NULL), 0);
    assert_int_equal(zr_diag_link(store, &cfg, "diag-code", "the-code", id), 0);
    assert_int_equal(zr_diag_find(store, "diag-code", "the-code", found), 0);
    assert_string_equal(found, id);
    assert_int_not_equal(zr_diag_find(store, "diag-code", "other-code", found), 0);

    text = zr_diag_trace_export(store, id);
    assert_non_null(text);
    doc = json_loads(text, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "client_id")), "portal");
    assert_int_equal(json_array_size(json_object_get(doc, "events")), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "events"), 0), "kind")),
                        "one");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "events"), 1), "kind")),
                        "two");
    /* An id that is not 32 hex characters is never looked up. */
    assert_null(zr_diag_trace_export(store, "../../etc"));
    assert_null(zr_diag_trace_export(store, "0123456789abcdef0123456789abcdeF"));

    /* The endpoints: lookup needs the client's credentials; the page an id. */
    {
        zr_http_request_t req;
        zr_http_response_t resp;
        memset(&req, 0, sizeof(req));
        req.method = "POST";
        req.path = "/trace/lookup";
        zr_http_response_init(&resp);
        assert_int_equal(zr_diag_handle(store, &cfg, &req, &resp), 0);
        assert_int_equal(resp.status, 401);
        zr_http_response_free(&resp);
        req.method = "GET";
        req.path = "/trace.json";
        zr_kv_add(&req.query, "id", id);
        zr_http_response_init(&resp);
        assert_int_equal(zr_diag_handle(store, &cfg, &req, &resp), 0);
        assert_int_equal(resp.status, 200);
        assert_non_null(strstr(resp.body, "******019"));
        zr_http_response_free(&resp);
        /* Tracing off: the same request finds nothing. */
        cfg.trace.enabled = 0;
        zr_http_response_init(&resp);
        zr_diag_handle(store, &cfg, &req, &resp);
        assert_int_equal(resp.status, 404);
        zr_http_response_free(&resp);
        zr_kv_free(&req.query);
        cfg.trace.enabled = 1;
    }

    /* Off in production, whatever the setting. */
    cfg.environment = ZR_ENV_PRODUCTION;
    assert_int_equal(zr_diag_enabled(&cfg), 0);

    json_decref(doc);
    free(text);
    zr_store_close(store);
    zr_test_redis_stop(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mask_bsn),     cmocka_unit_test(test_shorten),
        cmocka_unit_test(test_hash),         cmocka_unit_test(test_mask_text),
        cmocka_unit_test(test_mask_xml),     cmocka_unit_test(test_mask_xml_not_xml),
        cmocka_unit_test(test_trace_store),
    };
    zr_xml_init();
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    zr_xml_shutdown();
    return rc;
}
