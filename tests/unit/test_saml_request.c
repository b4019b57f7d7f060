/* The AuthnRequest we send to TVS (ST-SAML §DV→RD AuthnRequest Message,
 * examples/authn_request.xml): required attributes present, forbidden
 * elements absent, signature valid with KeyInfo/KeyName only. The cluster
 * (LC) shape (examples/authn_request_extensions.xml) is also checked
 * against the OASIS protocol schema and with the xmlsec1 command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>
#include <sys/wait.h>
#include <libxml/xmlschemas.h>

#include "saml_sp_fixture.h"
#include "zr/xml.h"

#define REQ_LC_ENTITY "urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
#define REQ_ATTR_INTENDED_AUDIENCE "urn:nl-eid-gdi:1.0:IntendedAudience"

typedef struct {
    zr_config_t *cfg;
    zr_saml_idp_t *idp;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof(*f));
    if (zr_xml_init() != 0)
        return -1;
    f->cfg = fx_config_new(1);
    f->idp = fx_idp_new(NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    fx_config_free(f->cfg);
    zr_saml_idp_free(f->idp);
    free(f);
    zr_xml_shutdown();
    return 0;
}

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    char *v = zr_xml_attr(n, name);
    if (!want) {
        if (v)
            fail_msg("attribute %s must be absent, is \"%s\"", name, v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* Verifies the enveloped signature of node with the key, -1 when invalid. */
static int verify_with(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name)
{
    char err[256];
    zr_xml_verify_key_t k = {.key = key, .key_name = key_name, .key_name_sha256 = NULL};
    return zr_xml_verify(doc, node, &k, 1, err, sizeof(err));
}

static char *sha1_hex_of_cert(X509 *cert)
{
    unsigned char md[20];
    unsigned int n = 0;
    X509_digest(cert, EVP_sha1(), md, &n);
    return zr_hex_encode(md, n);
}

static void check_signature_shape(xmlNodePtr sig, const char *id, X509 *cert)
{
    xmlNodePtr si = zr_xml_child(sig, ZR_NS_DS, "SignedInfo");
    assert_non_null(si);
    assert_attr(zr_xml_child(si, ZR_NS_DS, "CanonicalizationMethod"), "Algorithm",
                "http://www.w3.org/2001/10/xml-exc-c14n#");
    assert_attr(zr_xml_child(si, ZR_NS_DS, "SignatureMethod"), "Algorithm",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    assert_int_equal(zr_xml_count_children(si, ZR_NS_DS, "Reference"), 1);
    xmlNodePtr ref = zr_xml_child(si, ZR_NS_DS, "Reference");
    char uri[64];
    snprintf(uri, sizeof(uri), "#%s", id);
    assert_attr(ref, "URI", uri);
    assert_attr(zr_xml_child(ref, ZR_NS_DS, "DigestMethod"), "Algorithm", "http://www.w3.org/2001/04/xmlenc#sha256");
    /* KeyInfo: KeyName only, equal to the SHA-1 of our signing certificate. */
    xmlNodePtr ki = zr_xml_child(sig, ZR_NS_DS, "KeyInfo");
    assert_non_null(ki);
    assert_null(zr_xml_child(ki, ZR_NS_DS, "X509Data"));
    xmlNodePtr kn = zr_xml_child(ki, ZR_NS_DS, "KeyName");
    assert_non_null(kn);
    char *name = zr_xml_text(kn);
    char *want = sha1_hex_of_cert(cert);
    assert_string_equal(name, want);
    assert_int_equal(strlen(name), 40);
    free(name);
    free(want);
}

static int is_saml_id(const char *id)
{
    if (!id || strlen(id) != 41 || id[0] != '_')
        return 0;
    for (size_t i = 1; i < 41; i++)
        if (!isxdigit((unsigned char)id[i]) || isupper((unsigned char)id[i]))
            return 0;
    return 1;
}

static void test_authn_request_shape_and_signature(void **state)
{
    fixture_t *f = *state;
    zr_tenant_t *t = &f->cfg->tenants[0];
    zr_saml_authn_request_t r;
    char err[256] = "";
    time_t now = zr_time_now();

    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[1], f->idp, 0, &r, err, sizeof(err)), 0);
    assert_true(is_saml_id(r.id));

    /* The form field is base64 of exactly the signed XML. */
    uint8_t *dec = NULL;
    size_t dec_len = 0;
    assert_int_equal(zr_base64_decode(r.saml_request_b64, &dec, &dec_len), 0);
    assert_int_equal(dec_len, strlen(r.xml));
    assert_memory_equal(dec, r.xml, dec_len);
    free(dec);

    xmlDocPtr doc = zr_xml_parse(r.xml, strlen(r.xml), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(root, ZR_NS_SAMLP, "AuthnRequest"));
    assert_attr(root, "ID", r.id);
    assert_attr(root, "Version", "2.0");
    assert_attr(root, "Destination", f->idp->sso_url);
    assert_attr(root, "AssertionConsumerServiceIndex", "0");
    assert_attr(root, "AttributeConsumingServiceIndex", "1");
    assert_attr(root, "ForceAuthn", NULL);
    assert_attr(root, "IsPassive", NULL);
    assert_attr(root, "AssertionConsumerServiceURL", NULL);
    assert_attr(root, "ProtocolBinding", NULL);
    assert_attr(root, "ProviderName", NULL);
    char *instant = zr_xml_attr(root, "IssueInstant");
    time_t it = 0;
    assert_int_equal(zr_time_parse_iso8601(instant, &it), 0);
    assert_true(it >= now - 1 && it <= now + 5);
    free(instant);

    /* Exactly Issuer then Signature: nothing ST-SAML forbids. */
    xmlNodePtr issuer = xmlFirstElementChild(root);
    assert_true(zr_xml_is(issuer, ZR_NS_SAML, "Issuer"));
    char *issuer_text = zr_xml_text(issuer);
    assert_string_equal(issuer_text, FX_DV_ENTITY);
    free(issuer_text);
    assert_attr(issuer, "Format", NULL);
    xmlNodePtr sig = xmlNextElementSibling(issuer);
    assert_true(zr_xml_is(sig, ZR_NS_DS, "Signature"));
    assert_null(xmlNextElementSibling(sig));
    assert_int_equal(xmlChildElementCount(root), 2);
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "Extensions"));
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "NameIDPolicy"));
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "RequestedAuthnContext"));
    assert_null(zr_xml_child(root, ZR_NS_SAML, "Conditions"));
    check_signature_shape(sig, r.id, f->cfg->saml_signing.cert);

    /* Valid with our signing key; invalid with another key. */
    assert_int_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    assert_int_not_equal(verify_with(doc, root, f->cfg->saml_tls_client.key, f->cfg->saml_signing.key_name), 0);
    /* ... and invalid once anything signed changes. */
    xmlSetProp(root, (const xmlChar *)"AttributeConsumingServiceIndex", (const xmlChar *)"0");
    assert_int_not_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&r);
    assert_null(r.xml);
}

static void test_authn_request_force_authn_and_fresh_ids(void **state)
{
    fixture_t *f = *state;
    zr_tenant_t *t = &f->cfg->tenants[0];
    zr_saml_authn_request_t a, b;
    char err[256] = "";

    t->assertion_consumer_service_index = 3;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 1, &a, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 1, &b, err, sizeof(err)), 0);
    t->assertion_consumer_service_index = 0;
    assert_string_not_equal(a.id, b.id);

    xmlDocPtr doc = zr_xml_parse(a.xml, strlen(a.xml), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_attr(root, "ForceAuthn", "true");
    assert_attr(root, "IsPassive", NULL);
    assert_attr(root, "AssertionConsumerServiceIndex", "3");
    assert_attr(root, "AttributeConsumingServiceIndex", "0");
    assert_int_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&a);
    zr_saml_authn_request_free(&b);
}

static void test_authn_request_refuses_incomplete_input(void **state)
{
    fixture_t *f = *state;
    zr_tenant_t *t = &f->cfg->tenants[0];
    zr_saml_authn_request_t r;
    char err[256] = "";

    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], NULL, 0, &r, err, sizeof(err)), -1);
    assert_null(r.xml);
    t->services[0].attribute_consuming_service_index = -1;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), -1);
    t->services[0].attribute_consuming_service_index = 0;
    EVP_PKEY *key = f->cfg->saml_signing.key;
    f->cfg->saml_signing.key = NULL;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "signing"));
    f->cfg->saml_signing.key = key;
}

/* ---- cluster connection (LC acting for a care provider, issue 3) ---- */

static void cluster_on(zr_config_t *cfg)
{
    cfg->cluster.enabled = 1;
    cfg->cluster.entity_id = strdup(REQ_LC_ENTITY);
}

static void cluster_off(zr_config_t *cfg)
{
    cfg->cluster.enabled = 0;
    zr_release(cfg->cluster.entity_id);
}

/* The text of the one AttributeValue of the saml:Attribute `attr` named `name`. */
static void assert_extension_attribute(xmlNodePtr attr, const char *name, const char *value)
{
    assert_true(zr_xml_is(attr, ZR_NS_SAML, "Attribute"));
    assert_attr(attr, "Name", name);
    assert_int_equal(xmlChildElementCount(attr), 1);
    xmlNodePtr v = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue");
    assert_non_null(v);
    char *text = zr_xml_text(v);
    assert_string_equal(text, value);
    free(text);
}

static xmlDocPtr build_cluster_request(fixture_t *f, size_t service, int force_authn,
                                       zr_saml_authn_request_t *r)
{
    zr_tenant_t *t = &f->cfg->tenants[0];
    char err[256] = "";
    cluster_on(f->cfg);
    int rc = zr_saml_authn_request_build(f->cfg, t, &t->services[service], f->idp, force_authn, r,
                                         err, sizeof(err));
    cluster_off(f->cfg);
    if (rc != 0)
        fail_msg("cluster AuthnRequest: %s", err);
    xmlDocPtr doc = zr_xml_parse(r->xml, strlen(r->xml), 0, err, sizeof(err));
    assert_non_null(doc);
    return doc;
}

static void test_cluster_authn_request_shape(void **state)
{
    fixture_t *f = *state;
    zr_saml_authn_request_t r;
    char index[16];

    xmlDocPtr doc = build_cluster_request(f, 1, 0, &r);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(root, ZR_NS_SAMLP, "AuthnRequest"));
    assert_attr(root, "ID", r.id);
    assert_attr(root, "Destination", f->idp->sso_url);
    snprintf(index, sizeof(index), "%d", ZR_SAML_CLUSTER_ACS_INDEX);
    assert_attr(root, "AssertionConsumerServiceIndex", index);
    /* The service is named in Extensions, never by index as well. */
    assert_attr(root, "AttributeConsumingServiceIndex", NULL);
    assert_attr(root, "AssertionConsumerServiceURL", NULL);
    assert_attr(root, "ForceAuthn", NULL);
    assert_attr(root, "IsPassive", NULL);

    /* Issuer (the LC), Signature, Extensions: schema order, nothing else. */
    assert_int_equal(xmlChildElementCount(root), 3);
    xmlNodePtr issuer = xmlFirstElementChild(root);
    assert_true(zr_xml_is(issuer, ZR_NS_SAML, "Issuer"));
    char *issuer_text = zr_xml_text(issuer);
    assert_string_equal(issuer_text, REQ_LC_ENTITY);
    free(issuer_text);
    xmlNodePtr sig = xmlNextElementSibling(issuer);
    assert_true(zr_xml_is(sig, ZR_NS_DS, "Signature"));
    check_signature_shape(sig, r.id, f->cfg->saml_signing.cert);
    xmlNodePtr ext = xmlNextElementSibling(sig);
    assert_true(zr_xml_is(ext, ZR_NS_SAMLP, "Extensions"));

    /* ServiceUUID then IntendedAudience, as in the official example. */
    assert_int_equal(xmlChildElementCount(ext), 2);
    xmlNodePtr a1 = xmlFirstElementChild(ext);
    assert_extension_attribute(a1, ZR_SAML_ATTR_SERVICE_UUID, FX_UUID_2);
    assert_extension_attribute(xmlNextElementSibling(a1), REQ_ATTR_INTENDED_AUDIENCE, FX_DV_ENTITY);
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "NameIDPolicy"));
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "RequestedAuthnContext"));

    /* Signed with the LC's key, and the Extensions are under the signature:
     * naming another care provider breaks it. */
    assert_int_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    xmlNodePtr audience_value = zr_xml_child(xmlNextElementSibling(a1), ZR_NS_SAML, "AttributeValue");
    xmlNodeSetContent(audience_value, (const xmlChar *)"urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000");
    assert_int_not_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&r);

    /* ForceAuthn still works, and the other service's UUID is the one named. */
    doc = build_cluster_request(f, 0, 1, &r);
    root = xmlDocGetRootElement(doc);
    assert_attr(root, "ForceAuthn", "true");
    ext = zr_xml_child(root, ZR_NS_SAMLP, "Extensions");
    assert_extension_attribute(xmlFirstElementChild(ext), ZR_SAML_ATTR_SERVICE_UUID, FX_UUID_1);
    assert_int_equal(verify_with(doc, root, f->cfg->saml_signing.key, f->cfg->saml_signing.key_name), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&r);
}

/* libxml2's schema errors, printed so a failure says what is wrong. */
static void schema_error(void *ctx, xmlErrorPtr e)
{
    (void)ctx;
    if (e && e->message)
        fprintf(stderr, "schema: line %d: %s", e->line, e->message);
}

/* Validates a document against the shipped OASIS protocol schema (its
 * imports are local files, loaded with libxml2's no-network loader). */
static int schema_valid(xmlDocPtr doc)
{
    char path[1024];
    int rc = -1;
    snprintf(path, sizeof(path), "%s/metadata/schemas/saml-schema-protocol-2.0.xsd", ZR_SOURCE_DIR);
    xmlExternalEntityLoader saved = xmlGetExternalEntityLoader();
    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
    xmlSchemaParserCtxtPtr pctx = xmlSchemaNewParserCtxt(path);
    xmlSchemaPtr schema = pctx ? xmlSchemaParse(pctx) : NULL;
    xmlSetExternalEntityLoader(saved);
    xmlSchemaValidCtxtPtr vctx = schema ? xmlSchemaNewValidCtxt(schema) : NULL;
    if (!vctx)
        goto end;
    xmlSchemaSetValidStructuredErrors(vctx, schema_error, NULL);
    rc = xmlSchemaValidateDoc(vctx, doc);
end:
    if (vctx)
        xmlSchemaFreeValidCtxt(vctx);
    if (schema)
        xmlSchemaFree(schema);
    if (pctx)
        xmlSchemaFreeParserCtxt(pctx);
    return rc;
}

static void test_authn_request_schema_valid(void **state)
{
    fixture_t *f = *state;
    zr_tenant_t *t = &f->cfg->tenants[0];
    zr_saml_authn_request_t r;
    char err[256] = "";

    xmlDocPtr doc = build_cluster_request(f, 0, 1, &r);
    assert_int_equal(schema_valid(doc), 0);
    /* The check can fail: Extensions before the Signature breaks the
     * schema's sequence (Issuer, Signature, Extensions). */
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr ext = zr_xml_child(root, ZR_NS_SAMLP, "Extensions");
    xmlUnlinkNode(ext);
    xmlAddNextSibling(zr_xml_child(root, ZR_NS_SAML, "Issuer"), ext);
    fprintf(stderr, "(a schema error about Extensions is expected next)\n");
    assert_int_not_equal(schema_valid(doc), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&r);

    /* The direct shape is schema-valid too. */
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), 0);
    doc = zr_xml_parse(r.xml, strlen(r.xml), 0, err, sizeof(err));
    assert_non_null(doc);
    assert_int_equal(schema_valid(doc), 0);
    xmlFreeDoc(doc);
    zr_saml_authn_request_free(&r);
}

/* Runs the xmlsec1 command line on a request; its exit status. The key is
 * registered under the KeyName the signature names. */
static int xmlsec1_verify(const char *dir, const char *xml, X509 *cert, const char *key_name)
{
    char file[600], pem[600], cmd[2048];
    snprintf(file, sizeof(file), "%s/request.xml", dir);
    snprintf(pem, sizeof(pem), "%s/signing.pem", dir);
    if (fx_write_file(file, xml) != 0)
        return -1;
    fx_write_cert(pem, cert);
    snprintf(cmd, sizeof(cmd),
             "xmlsec1 --verify --pubkey-cert-pem:%s '%s' --id-attr:ID "
             "urn:oasis:names:tc:SAML:2.0:protocol:AuthnRequest '%s' >/dev/null 2>&1",
             key_name, pem, file);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cluster_authn_request_xmlsec1(void **state)
{
    fixture_t *f = *state;
    zr_saml_authn_request_t r;
    char *dir = fx_tmpdir();
    assert_non_null(dir);

    xmlDocPtr doc = build_cluster_request(f, 1, 0, &r);
    xmlFreeDoc(doc);
    const zr_keypair_t *k = &f->cfg->saml_signing;
    assert_int_equal(xmlsec1_verify(dir, r.xml, k->cert, k->key_name), 0);
    /* Another key under the same name: refused. */
    assert_int_not_equal(xmlsec1_verify(dir, r.xml, f->cfg->saml_tls_client.cert, k->key_name), 0);
    /* Another care provider in IntendedAudience: refused. */
    char *tampered = strdup(r.xml);
    char *hit = strstr(tampered, FX_DV_ENTITY);
    assert_non_null(hit);
    hit[strlen("urn:nl-eid-gdi:1.0:DV:0000000999999999900")] = '2';
    assert_int_not_equal(xmlsec1_verify(dir, tampered, k->cert, k->key_name), 0);
    free(tampered);
    zr_saml_authn_request_free(&r);
    fx_rmdir(dir);
}

static void test_cluster_authn_request_refuses_incomplete_input(void **state)
{
    fixture_t *f = *state;
    zr_tenant_t *t = &f->cfg->tenants[0];
    zr_saml_authn_request_t r;
    char err[256] = "";

    /* Cluster without the LC's entityID: nobody to issue it. */
    f->cfg->cluster.enabled = 1;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "LC entityID"));
    assert_null(r.xml);
    f->cfg->cluster.enabled = 0;

    /* A service without a ServiceUUID cannot be named in Extensions. */
    cluster_on(f->cfg);
    char *uuid = t->services[0].service_uuid;
    t->services[0].service_uuid = NULL;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "ServiceUUID"));
    t->services[0].service_uuid = uuid;

    /* The direct connection's indexes play no part in a cluster request. */
    t->services[0].attribute_consuming_service_index = -1;
    t->assertion_consumer_service_index = -1;
    assert_int_equal(zr_saml_authn_request_build(f->cfg, t, &t->services[0], f->idp, 0, &r, err, sizeof(err)), 0);
    t->services[0].attribute_consuming_service_index = 0;
    t->assertion_consumer_service_index = 0;
    cluster_off(f->cfg);
    assert_non_null(strstr(r.xml, "AssertionConsumerServiceIndex=\"0\""));
    assert_null(strstr(r.xml, "AttributeConsumingServiceIndex"));
    zr_saml_authn_request_free(&r);
}

static void test_status_names(void **state)
{
    assert_string_equal(zr_saml_status_name(ZR_SAML_OK), "ok");
    assert_string_equal(zr_saml_status_name(ZR_SAML_CANCELLED), "cancelled");
    assert_string_equal(zr_saml_status_name(ZR_SAML_UNAVAILABLE), "unavailable");
    assert_string_equal(zr_saml_status_name((zr_saml_status_t)99), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authn_request_shape_and_signature),
        cmocka_unit_test(test_authn_request_force_authn_and_fresh_ids),
        cmocka_unit_test(test_authn_request_refuses_incomplete_input),
        cmocka_unit_test(test_cluster_authn_request_shape),
        cmocka_unit_test(test_authn_request_schema_valid),
        cmocka_unit_test(test_cluster_authn_request_xmlsec1),
        cmocka_unit_test(test_cluster_authn_request_refuses_incomplete_input),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
