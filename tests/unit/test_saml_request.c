/* The AuthnRequest we send to TVS (ST-SAML §DV→RD AuthnRequest Message,
 * examples/authn_request.xml): required attributes present, forbidden
 * elements absent, signature valid with KeyInfo/KeyName only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ctype.h>

#include "saml_sp_fixture.h"
#include "zr/xml.h"

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
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
