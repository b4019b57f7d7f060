/* Our cluster (LC) metadata, issue 3 §2: one signed EntitiesDescriptor with
 * the LC's EntityDescriptor and one per care provider holding only its BSN
 * encryption certificates (ST-SAML examples/saml_metadata_lc_for_rd.xml),
 * checked element by element, against the OASIS metadata schema and with
 * zr_xml_verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/xmlschemas.h>

#include "saml_sp_fixture.h"
#include "zr/xml.h"

#define FX_LC_ENTITY  "urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
#define FX_DV2_ENTITY "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001"
#define FX_ACS_URL    "https://login.example.test/saml/acs"

/* The fixture's configuration (one care provider with two BSN keys) made a
 * cluster with a second care provider holding one BSN key. */
static zr_config_t *cluster_config(const char *name)
{
    zr_config_t *cfg = fx_config_new(2);
    zr_tenant_t *grown = realloc(cfg->tenants, 2 * sizeof(zr_tenant_t));
    assert_non_null(grown);
    cfg->tenants = grown;
    cfg->tenant_count = 2;
    zr_tenant_t *t = &cfg->tenants[1];
    memset(t, 0, sizeof(*t));
    t->id = strdup("zorgaanbieder-twee");
    t->name = strdup("Zorgaanbieder Twee");
    t->entity_id = strdup(FX_DV2_ENTITY);
    t->oin = strdup("00000009999999999002");
    t->services = calloc(1, sizeof(zr_tenant_service_t));
    t->service_count = 1;
    t->services[0].min_loa = ZR_LOA_SUBSTANTIAL;
    t->services[0].service_uuid = strdup("3b1f6d2e-8a4c-4e0b-9f7d-2c5a1e6b8d90");
    EVP_PKEY *k = fx_rsa_key();
    t->bsn_keys[0].key = k;
    t->bsn_keys[0].cert = fx_cert(k, "dv2 bsn 1", NULL, NULL, 0, NULL);
    t->bsn_keys[0].key_name = zr_crypto_cert_keyname(t->bsn_keys[0].cert);
    t->bsn_keys[0].key_name_sha256 = zr_crypto_cert_sha256_hex(t->bsn_keys[0].cert);
    t->bsn_key_count = 1;
    cfg->cluster.enabled = 1;
    cfg->cluster.entity_id = strdup(FX_LC_ENTITY);
    cfg->cluster.oin = strdup("00000009999999999100");
    cfg->cluster.name = name ? strdup(name) : NULL;
    return cfg;
}

static void cluster_config_free(zr_config_t *cfg)
{
    free(cfg->cluster.entity_id);
    free(cfg->cluster.oin);
    free(cfg->cluster.name);
    fx_config_free(cfg);
}

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    char *v = zr_xml_attr(n, name);
    if (!want) {
        if (v)
            fail_msg("attribute %s must be absent, is '%s'", name, v);
        return;
    }
    if (!v)
        fail_msg("attribute %s missing", name);
    assert_string_equal(v, want);
    free(v);
}

static void check_key_descriptor(xmlNodePtr kd, const char *use, X509 *cert)
{
    assert_non_null(kd);
    assert_attr(kd, "use", use);
    xmlNodePtr ki = zr_xml_child(kd, ZR_NS_DS, "KeyInfo");
    assert_non_null(ki);
    char *name = zr_xml_text(zr_xml_child(ki, ZR_NS_DS, "KeyName"));
    char *want_name = zr_crypto_cert_keyname(cert);
    assert_string_equal(name, want_name);
    char *b64 = zr_xml_text(zr_xml_child(zr_xml_child(ki, ZR_NS_DS, "X509Data"), ZR_NS_DS, "X509Certificate"));
    char *want_b64 = zr_crypto_cert_base64(cert);
    assert_string_equal(b64, want_b64);
    free(name);
    free(want_name);
    free(b64);
    free(want_b64);
}

/* ST-SAML: every SP is an SPSSODescriptor with signed requests and
 * assertions, and (LC and each DV alike) the same Artifact ACS. */
static xmlNodePtr check_sp_descriptor(xmlNodePtr ed, const char *entity_id)
{
    assert_true(zr_xml_is(ed, ZR_NS_MD, "EntityDescriptor"));
    assert_attr(ed, "entityID", entity_id);
    /* Inner descriptors: no signature and no validity of their own. */
    assert_attr(ed, "validUntil", NULL);
    assert_attr(ed, "cacheDuration", NULL);
    assert_null(zr_xml_child(ed, ZR_NS_DS, "Signature"));
    assert_int_equal(zr_xml_count_children(ed, ZR_NS_MD, "SPSSODescriptor"), 1);
    xmlNodePtr sso = zr_xml_child(ed, ZR_NS_MD, "SPSSODescriptor");
    assert_attr(sso, "AuthnRequestsSigned", "true");
    assert_attr(sso, "WantAssertionsSigned", "true");
    assert_attr(sso, "protocolSupportEnumeration", "urn:oasis:names:tc:SAML:2.0:protocol");
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "AssertionConsumerService"), 1);
    xmlNodePtr acs = zr_xml_child(sso, ZR_NS_MD, "AssertionConsumerService");
    assert_attr(acs, "Binding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact");
    assert_attr(acs, "Location", FX_ACS_URL);
    assert_attr(acs, "index", "0");
    assert_attr(acs, "isDefault", "true");
    /* ServiceUUIDs travel in the cluster's AuthnRequest, not here. */
    assert_null(zr_xml_child(sso, ZR_NS_MD, "AttributeConsumingService"));
    /* Logout (issue 5): only the LC, which sends the LogoutRequest, has a
     * SingleLogoutService (examples/saml_metadata_lc_for_rd.xml), checked
     * by the caller. */
    return sso;
}

/* The LC's SingleLogoutService (HTTP-POST), before the ACS (schema order). */
static void check_slo(xmlNodePtr sso, int present)
{
    xmlNodePtr slo = zr_xml_child(sso, ZR_NS_MD, "SingleLogoutService");
    if (!present) {
        assert_null(slo);
        return;
    }
    assert_non_null(slo);
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "SingleLogoutService"), 1);
    assert_attr(slo, "Binding", "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST");
    assert_attr(slo, "Location", "https://login.example.test/saml/slo");
    assert_true(zr_xml_is(xmlNextElementSibling(slo), ZR_NS_MD, "AssertionConsumerService"));
}

/* Every ds:X509Certificate under n, each of which must decode to a
 * certificate; their number. */
static size_t count_certificates(xmlNodePtr n)
{
    size_t count = 0;
    if (zr_xml_is(n, ZR_NS_DS, "X509Certificate")) {
        char *b64 = zr_xml_text(n);
        uint8_t *der = NULL;
        size_t der_len = 0;
        assert_int_equal(zr_base64_decode(b64, &der, &der_len), 0);
        const unsigned char *p = der;
        X509 *c = d2i_X509(NULL, &p, (long)der_len);
        assert_non_null(c);
        assert_true(p == der + der_len); /* nothing appended to it */
        X509_free(c);
        free(der);
        free(b64);
        return 1;
    }
    for (xmlNodePtr c = xmlFirstElementChild(n); c; c = xmlNextElementSibling(c))
        count += count_certificates(c);
    return count;
}

static void test_cluster_metadata_shape(void **state)
{
    zr_config_t *cfg = cluster_config("Leverancier & Co <TEST>");
    char err[512] = "";
    char *xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    if (!xml)
        fail_msg("build failed: %s", err);
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    assert_non_null(doc);

    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(root, ZR_NS_MD, "EntitiesDescriptor"));
    char *id = zr_xml_attr(root, "ID");
    assert_non_null(id);
    assert_true(id[0] == '_' && strlen(id) >= 33);
    free(id);
    assert_attr(root, "Name", "Leverancier & Co <TEST>");
    char *vu = zr_xml_attr(root, "validUntil");
    time_t until = 0;
    assert_int_equal(zr_time_parse_iso8601(vu, &until), 0);
    assert_true(until > zr_time_now() + 29 * 86400 && until <= zr_time_now() + 30 * 86400);
    free(vu);
    /* Signature first, then exactly LC + two care providers, in that order. */
    assert_true(zr_xml_is(xmlFirstElementChild(root), ZR_NS_DS, "Signature"));
    assert_int_equal(zr_xml_count_children(root, ZR_NS_DS, "Signature"), 1);
    assert_int_equal(zr_xml_count_children(root, ZR_NS_MD, "EntityDescriptor"), 3);
    assert_int_equal(xmlChildElementCount(root), 4);

    /* The LC: signing and TLS client certificates, use="signing". */
    xmlNodePtr ed = zr_xml_child(root, ZR_NS_MD, "EntityDescriptor");
    xmlNodePtr sso = check_sp_descriptor(ed, FX_LC_ENTITY);
    check_slo(sso, 1);
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 2);
    xmlNodePtr kd = zr_xml_child(sso, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "signing", cfg->saml_signing.cert);
    check_key_descriptor(zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor"), "signing", cfg->saml_tls_client.cert);

    /* Care provider 1: its two BSN certificates, nothing else. */
    ed = zr_xml_next(ed, ZR_NS_MD, "EntityDescriptor");
    sso = check_sp_descriptor(ed, FX_DV_ENTITY);
    check_slo(sso, 0);
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 2);
    kd = zr_xml_child(sso, ZR_NS_MD, "KeyDescriptor");
    check_key_descriptor(kd, "encryption", cfg->tenants[0].bsn_keys[0].cert);
    check_key_descriptor(zr_xml_next(kd, ZR_NS_MD, "KeyDescriptor"), "encryption",
                         cfg->tenants[0].bsn_keys[1].cert);

    /* Care provider 2: its one BSN certificate only. */
    ed = zr_xml_next(ed, ZR_NS_MD, "EntityDescriptor");
    sso = check_sp_descriptor(ed, FX_DV2_ENTITY);
    check_slo(sso, 0);
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 1);
    check_key_descriptor(zr_xml_child(sso, ZR_NS_MD, "KeyDescriptor"), "encryption",
                         cfg->tenants[1].bsn_keys[0].cert);

    /* No private key material: the only base64 is certificates, the digest
     * and the signature value. */
    assert_null(strstr(xml, "PRIVATE"));
    assert_int_equal(count_certificates(root), 1 + 2 + 2 + 1); /* signature KeyInfo, LC, DV1, DV2 */

    xmlFreeDoc(doc);
    free(xml);
    cluster_config_free(cfg);
}

static void test_cluster_metadata_signature(void **state)
{
    zr_config_t *cfg = cluster_config(NULL);
    char err[512] = "";
    char *xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    if (!xml)
        fail_msg("build failed: %s", err);
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_attr(root, "Name", NULL);
    zr_xml_verify_key_t k = {.key = cfg->saml_signing.key, .key_name = cfg->saml_signing.key_name};
    if (zr_xml_verify(doc, root, &k, 1, err, sizeof(err)) != 0)
        fail_msg("signature refused: %s", err);
    xmlFreeDoc(doc);

    /* Another key does not verify it. */
    doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    zr_xml_verify_key_t other = {.key = cfg->saml_tls_client.key, .key_name = cfg->saml_signing.key_name};
    assert_int_not_equal(zr_xml_verify(doc, xmlDocGetRootElement(doc), &other, 1, err, sizeof(err)), 0);
    xmlFreeDoc(doc);

    /* A care provider's entityID swapped after signing (a DV's BSNs sent
     * to an entity of the attacker's choosing) breaks the signature. */
    char *at = strstr(xml, FX_DV2_ENTITY);
    assert_non_null(at);
    memcpy(at + strlen("urn:nl-eid-gdi:1.0:DV:"), "66666666666666666666", 20);
    doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    assert_non_null(doc);
    assert_int_not_equal(zr_xml_verify(doc, xmlDocGetRootElement(doc), &k, 1, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
    free(xml);
    cluster_config_free(cfg);
}

/* libxml2's schema errors, printed so a failure says what is wrong. */
static void schema_error(void *ctx, xmlErrorPtr e)
{
    if (e && e->message)
        fprintf(stderr, "schema: line %d: %s", e->line, e->message);
}

/* Validates against the shipped OASIS schema. zr_xml_init refuses every
 * external entity; the schema's own imports are local files, loaded with
 * libxml2's no-network loader just for this. */
static int schema_valid(const char *xml)
{
    char path[1024];
    char err[256];
    int rc = -1;
    snprintf(path, sizeof(path), "%s/metadata/schemas/saml-schema-metadata-2.0.xsd", ZR_SOURCE_DIR);
    xmlExternalEntityLoader saved = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(path);
    xmlSchemaPtr schema = pctx ? xmlSchemaParse(pctx) : NULL;
    xmlSetExternalEntityLoader(saved);
    xmlSchemaValidCtxtPtr vctx = schema ? xmlSchemaNewValidCtxt(schema) : NULL;
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    if (!vctx || !doc)
        goto end;
    xmlSchemaSetValidStructuredErrors(vctx, schema_error, NULL);
    rc = xmlSchemaValidateDoc(vctx, doc);
end:
    if (doc)
        xmlFreeDoc(doc);
    if (vctx)
        xmlSchemaFreeValidCtxt(vctx);
    if (schema)
        xmlSchemaFree(schema);
    if (pctx)
        xmlSchemaFreeParserCtxt(pctx);
    return rc;
}

static void test_cluster_metadata_schema(void **state)
{
    zr_config_t *cfg = cluster_config("Leverancier Test");
    char err[512] = "";
    char *xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    if (!xml)
        fail_msg("build failed: %s", err);
    assert_int_equal(schema_valid(xml), 0);
    /* The check can fail: an EntitiesDescriptor without entities is not valid. */
    assert_int_not_equal(schema_valid("<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>"),
                         0);
    free(xml);

    /* A cluster without care providers yet: LC only, still valid. */
    size_t n = cfg->tenant_count;
    cfg->tenant_count = 0;
    xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    cfg->tenant_count = n;
    if (!xml)
        fail_msg("build failed: %s", err);
    assert_int_equal(schema_valid(xml), 0);
    free(xml);
    cluster_config_free(cfg);
}

static void test_cluster_metadata_refused(void **state)
{
    zr_config_t *cfg = cluster_config(NULL);
    char err[512] = "";

    /* A care provider TVS could not encrypt to: refused, named. */
    size_t n = cfg->tenants[1].bsn_key_count;
    cfg->tenants[1].bsn_key_count = 0;
    assert_null(zr_saml_cluster_metadata_build(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "zorgaanbieder-twee"));
    cfg->tenants[1].bsn_key_count = n;

    /* No signing key: nothing unsigned leaves. */
    EVP_PKEY *key = cfg->saml_signing.key;
    cfg->saml_signing.key = NULL;
    assert_null(zr_saml_cluster_metadata_build(cfg, err, sizeof(err)));
    cfg->saml_signing.key = key;

    /* Not a cluster. */
    cfg->cluster.enabled = 0;
    assert_null(zr_saml_cluster_metadata_build(cfg, err, sizeof(err)));
    assert_non_null(strstr(err, "no cluster"));
    cfg->cluster.enabled = 1;

    /* The same certificate for signing and TLS: one signing descriptor. */
    X509_free(cfg->saml_tls_client.cert);
    cfg->saml_tls_client.cert = X509_dup(cfg->saml_signing.cert);
    char *xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    assert_non_null(xml);
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    xmlNodePtr sso = zr_xml_child(zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_MD, "EntityDescriptor"), ZR_NS_MD,
                                  "SPSSODescriptor");
    assert_int_equal(zr_xml_count_children(sso, ZR_NS_MD, "KeyDescriptor"), 1);
    xmlFreeDoc(doc);
    free(xml);
    cluster_config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cluster_metadata_shape),
        cmocka_unit_test(test_cluster_metadata_signature),
        cmocka_unit_test(test_cluster_metadata_schema),
        cmocka_unit_test(test_cluster_metadata_refused),
    };
    int failed;
    if (zr_xml_init() != 0)
        return 1;
    failed = cmocka_run_group_tests_name("cluster_metadata", tests, NULL, NULL);
    zr_xml_shutdown();
    return failed;
}
