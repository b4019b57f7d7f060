/* Logout towards TVS (issue 5): the LogoutRequest we build (shape of
 * examples/logout_request.xml, checked by the IdP side as TVS would), the
 * IdP's LogoutResponse (shape of examples/logout_response.xml) and our
 * validation of it, one test per refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "saml_sp_fixture.h"
#include "zr/saml_idp.h"
#include "zr/xml.h"

#define FX_MOCK_BASE "https://tvs.example.test"
#define FX_LC_ENTITY "urn:nl-eid-gdi:1.0:LC:00000009999999999002:entities:9000"
#define FX_NAMEID "45e376c5-78a7-4cdc-a27d-a7dd5056e786"
#define TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"

typedef struct {
    zr_config_t *cfg;
    zr_saml_idp_t *idp;
    EVP_PKEY *other_key; /* a key TVS's metadata does not list */
    X509 *other_cert;
} fx_t;

static int setup(void **state)
{
    fx_t *f = calloc(1, sizeof(*f));
    EVP_PKEY *k;
    f->cfg = fx_config_new(1);
    /* The mock TVS in the same configuration: its signing key is TVS's. */
    f->cfg->mock_tvs.entity_id = strdup(FX_RD_ENTITY);
    f->cfg->mock_tvs.public_base_url = strdup(FX_MOCK_BASE);
    k = fx_rsa_key();
    fx_keypair(&f->cfg->mock_tvs.signing, k, fx_cert(k, "tvs signing", NULL, NULL, 0, NULL));
    f->idp = fx_idp_new(NULL);
    f->idp->slo_url = strdup(FX_MOCK_BASE ZR_SAML_IDP_PATH_SLO);
    f->idp->keys = calloc(1, sizeof(zr_saml_idp_key_t));
    f->idp->key_count = 1;
    EVP_PKEY_up_ref(k);
    f->idp->keys[0].key = k;
    f->idp->keys[0].cert = X509_dup(f->cfg->mock_tvs.signing.cert);
    f->idp->keys[0].key_name = zr_crypto_cert_keyname(f->idp->keys[0].cert);
    f->idp->keys[0].key_name_sha256 = zr_crypto_cert_sha256_hex(f->idp->keys[0].cert);
    f->other_key = fx_rsa_key();
    f->other_cert = fx_cert(f->other_key, "not tvs", NULL, NULL, 0, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx_t *f = *state;
    free(f->cfg->mock_tvs.entity_id);
    free(f->cfg->mock_tvs.public_base_url);
    fx_keypair_clear(&f->cfg->mock_tvs.signing);
    free(f->cfg->cluster.entity_id);
    fx_config_free(f->cfg);
    zr_saml_idp_free(f->idp);
    EVP_PKEY_free(f->other_key);
    X509_free(f->other_cert);
    free(f);
    return 0;
}

static zr_saml_session_t fx_session(void)
{
    zr_saml_session_t s = {0};
    s.name_id = strdup(FX_NAMEID);
    s.format = strdup(TRANSIENT);
    s.name_qualifier = strdup(FX_RD_ENTITY);
    s.sp_name_qualifier = strdup(FX_DV_ENTITY);
    s.session_index = strdup(FX_NAMEID);
    return s;
}

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    char *v = zr_xml_attr(n, name);
    if (!want) {
        assert_null(v);
        return;
    }
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

/* The names of n's element children, "ns-prefix:local" with the namespace
 * reduced to a short tag, joined by spaces. */
static void child_names(xmlNodePtr n, char *out, size_t len)
{
    out[0] = '\0';
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        const char *ns = c->ns ? (const char *)c->ns->href : "";
        const char *tag = !strcmp(ns, ZR_NS_SAML) ? "saml" : !strcmp(ns, ZR_NS_SAMLP) ? "samlp"
                          : !strcmp(ns, ZR_NS_DS) ? "ds" : "?";
        snprintf(out + strlen(out), len - strlen(out), "%s%s:%s", out[0] ? " " : "", tag, (const char *)c->name);
    }
}

/* Algorithm of the first descendant element named name. */
static char *algorithm_of(xmlNodePtr n, const char *name)
{
    for (xmlNodePtr c = n ? n->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (!strcmp((const char *)c->name, name))
            return zr_xml_attr(c, "Algorithm");
        char *a = algorithm_of(c, name);
        if (a)
            return a;
    }
    return NULL;
}

static xmlDocPtr load_example(const char *file)
{
    char path[512], *data = NULL, err[256];
    size_t len = 0;
    const char *shared = getenv("ZR_SHARED");
    snprintf(path, sizeof(path), "%s/specs/st-saml/examples/%s", shared ? shared : ZR_SOURCE_DIR "/tests/data/shared", file);
    assert_int_equal(zr_file_read(path, 1 << 20, &data, &len), 0);
    xmlDocPtr doc = zr_xml_parse(data, len, 0, err, sizeof(err));
    free(data);
    assert_non_null(doc);
    return doc;
}

/* Same signature algorithms, transforms and KeyInfo as the example. */
static void assert_same_signature_shape(xmlNodePtr ours, xmlNodePtr example)
{
    xmlNodePtr s1 = zr_xml_child(ours, ZR_NS_DS, "Signature"), s2 = zr_xml_child(example, ZR_NS_DS, "Signature");
    const char *names[] = {"CanonicalizationMethod", "SignatureMethod", "DigestMethod"};
    char a[256], b[256];
    assert_non_null(s1);
    assert_non_null(s2);
    for (size_t i = 0; i < 3; i++) {
        char *x = algorithm_of(s1, names[i]), *y = algorithm_of(s2, names[i]);
        assert_non_null(x);
        assert_non_null(y);
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
    xmlNodePtr t1 = zr_xml_child(zr_xml_child(zr_xml_child(zr_xml_child(s1, ZR_NS_DS, "SignedInfo"), ZR_NS_DS,
                                                           "Reference"), ZR_NS_DS, "Transforms"), ZR_NS_DS, "Transform");
    xmlNodePtr t2 = zr_xml_child(zr_xml_child(zr_xml_child(zr_xml_child(s2, ZR_NS_DS, "SignedInfo"), ZR_NS_DS,
                                                           "Reference"), ZR_NS_DS, "Transforms"), ZR_NS_DS, "Transform");
    for (; t1 || t2; t1 = zr_xml_next(t1, ZR_NS_DS, "Transform"), t2 = zr_xml_next(t2, ZR_NS_DS, "Transform")) {
        assert_non_null(t1);
        assert_non_null(t2);
        char *x = zr_xml_attr(t1, "Algorithm"), *y = zr_xml_attr(t2, "Algorithm");
        assert_string_equal(x, y);
        free(x);
        free(y);
    }
    child_names(zr_xml_child(s1, ZR_NS_DS, "KeyInfo"), a, sizeof(a));
    child_names(zr_xml_child(s2, ZR_NS_DS, "KeyInfo"), b, sizeof(b));
    assert_string_equal(a, b); /* KeyName only, no certificate */
}

/* ---- LogoutRequest ---- */

static void test_request_shape(void **state)
{
    fx_t *f = *state;
    zr_saml_session_t s = fx_session();
    zr_saml_logout_request_t lr;
    char err[512] = "", names[256], *ref = NULL;
    xmlDocPtr doc, example = load_example("logout_request.xml");

    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    doc = zr_xml_parse(lr.xml, strlen(lr.xml), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr root = xmlDocGetRootElement(doc), ex = xmlDocGetRootElement(example);
    assert_true(zr_xml_is(root, ZR_NS_SAMLP, "LogoutRequest"));
    /* The example's attributes, no more (no Reason, NotOnOrAfter, Consent). */
    for (xmlAttrPtr a = root->properties; a; a = a->next)
        assert_non_null(xmlHasProp(ex, a->name));
    for (xmlAttrPtr a = ex->properties; a; a = a->next)
        assert_non_null(xmlHasProp(root, a->name));
    assert_attr(root, "ID", lr.id);
    assert_attr(root, "Version", "2.0");
    assert_attr(root, "Destination", FX_MOCK_BASE ZR_SAML_IDP_PATH_SLO);
    /* Issuer, Signature right after it, then NameID and SessionIndex:
     * the example's elements, in schema order (the example lists
     * SessionIndex first and in the saml namespace, which the SAML
     * protocol schema does not allow). */
    child_names(root, names, sizeof(names));
    assert_string_equal(names, "saml:Issuer ds:Signature saml:NameID samlp:SessionIndex");
    child_names(ex, names, sizeof(names));
    assert_string_equal(names, "saml:Issuer ds:Signature saml:SessionIndex saml:NameID");
    char *issuer = zr_xml_text(zr_xml_child(root, ZR_NS_SAML, "Issuer"));
    assert_string_equal(issuer, FX_DV_ENTITY);
    free(issuer);
    /* The NameID exactly as the Assertion had it. */
    xmlNodePtr nid = zr_xml_child(root, ZR_NS_SAML, "NameID");
    char *v = zr_xml_text(nid);
    assert_string_equal(v, FX_NAMEID);
    free(v);
    assert_attr(nid, "Format", TRANSIENT);
    assert_attr(nid, "NameQualifier", FX_RD_ENTITY);
    assert_attr(nid, "SPNameQualifier", FX_DV_ENTITY);
    v = zr_xml_text(zr_xml_child(root, ZR_NS_SAMLP, "SessionIndex"));
    assert_string_equal(v, FX_NAMEID);
    free(v);
    assert_same_signature_shape(root, ex);
    /* Reference to the root's own ID. */
    xmlNodePtr refn = zr_xml_child(zr_xml_child(zr_xml_child(root, ZR_NS_DS, "Signature"), ZR_NS_DS, "SignedInfo"),
                                   ZR_NS_DS, "Reference");
    ref = zr_xml_attr(refn, "URI");
    assert_non_null(ref);
    assert_string_equal(ref + 1, lr.id);
    assert_int_equal(ref[0], '#');
    free(ref);
    /* The base64 form is the same document. */
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    assert_int_equal(zr_base64_decode(lr.saml_request_b64, &raw, &raw_len), 0);
    assert_int_equal(raw_len, strlen(lr.xml));
    assert_memory_equal(raw, lr.xml, raw_len);
    free(raw);

    /* And TVS (the IdP side) accepts it: signature, Issuer, Destination. */
    zr_saml_idp_logout_t out;
    assert_int_equal(zr_saml_idp_logout_request_verify(f->cfg, lr.saml_request_b64, &out, err, sizeof(err)),
                     ZR_SAML_IDP_OK);
    assert_string_equal(out.id, lr.id);
    assert_string_equal(out.issuer, FX_DV_ENTITY);
    assert_ptr_equal(out.tenant, &f->cfg->tenants[0]);
    assert_string_equal(out.name_id, FX_NAMEID);
    assert_string_equal(out.session_index, FX_NAMEID);
    zr_saml_idp_logout_clear(&out);

    xmlFreeDoc(doc);
    xmlFreeDoc(example);
    zr_saml_logout_request_free(&lr);
    zr_saml_session_clear(&s);
}

/* Without qualifiers (as in the official example) none are invented. */
static void test_request_plain_name_id(void **state)
{
    fx_t *f = *state;
    zr_saml_session_t s = {0};
    zr_saml_logout_request_t lr;
    char err[512] = "";
    s.name_id = strdup(FX_NAMEID);
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    xmlDocPtr doc = zr_xml_parse(lr.xml, strlen(lr.xml), 0, err, sizeof(err));
    xmlNodePtr root = xmlDocGetRootElement(doc), nid = zr_xml_child(root, ZR_NS_SAML, "NameID");
    assert_attr(nid, "Format", NULL);
    assert_attr(nid, "NameQualifier", NULL);
    assert_attr(nid, "SPNameQualifier", NULL);
    assert_null(zr_xml_child(root, ZR_NS_SAMLP, "SessionIndex"));
    xmlFreeDoc(doc);
    zr_saml_logout_request_free(&lr);
    zr_saml_session_clear(&s);
}

/* Cluster: the LC sends it (as it sent the AuthnRequest). */
static void test_request_cluster_issuer(void **state)
{
    fx_t *f = *state;
    zr_saml_session_t s = fx_session();
    zr_saml_logout_request_t lr;
    zr_saml_idp_logout_t out;
    char err[512] = "";
    f->cfg->cluster.enabled = 1;
    f->cfg->cluster.entity_id = strdup(FX_LC_ENTITY);
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    assert_non_null(strstr(lr.xml, FX_LC_ENTITY));
    assert_int_equal(zr_saml_idp_logout_request_verify(f->cfg, lr.saml_request_b64, &out, err, sizeof(err)),
                     ZR_SAML_IDP_OK);
    assert_string_equal(out.issuer, FX_LC_ENTITY);
    assert_null(out.tenant);
    zr_saml_idp_logout_clear(&out);
    zr_saml_logout_request_free(&lr);
    zr_saml_session_clear(&s);
    f->cfg->cluster.enabled = 0;
}

static void test_request_refusals(void **state)
{
    fx_t *f = *state;
    zr_saml_session_t s = fx_session();
    zr_saml_logout_request_t lr;
    zr_saml_idp_logout_t out;
    char err[512] = "";
    char *slo = f->idp->slo_url;

    /* No SingleLogoutService in TVS's metadata: nothing is built. */
    f->idp->slo_url = NULL;
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SingleLogoutService"));
    /* A Destination TVS does not have: refused by the IdP side. */
    f->idp->slo_url = strdup("https://elsewhere.example.test/kvs/rd/request_logout");
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_logout_request_verify(f->cfg, lr.saml_request_b64, &out, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_DESTINATION);
    zr_saml_logout_request_free(&lr);
    free(f->idp->slo_url);
    f->idp->slo_url = slo;
    /* Signed by a key TVS does not know for us. */
    EVP_PKEY *mine = f->cfg->saml_signing.key;
    char *mine_name = f->cfg->saml_signing.key_name;
    f->cfg->saml_signing.key = f->other_key;
    f->cfg->saml_signing.key_name = zr_crypto_cert_keyname(f->other_cert);
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    free(f->cfg->saml_signing.key_name);
    f->cfg->saml_signing.key = mine;
    f->cfg->saml_signing.key_name = mine_name;
    assert_int_equal(zr_saml_idp_logout_request_verify(f->cfg, lr.saml_request_b64, &out, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_SIGNATURE);
    zr_saml_logout_request_free(&lr);
    /* Not base64. */
    assert_int_equal(zr_saml_idp_logout_request_verify(f->cfg, "%%%", &out, err, sizeof(err)), ZR_SAML_IDP_ERR_ENCODING);
    zr_saml_session_clear(&s);
}

/* ---- LogoutResponse ---- */

#define SLO_URL "https://login.example.test/saml/slo"
#define REQ_ID "_4565109c3326bc3ab8c680d8efeaba7e22b7e304"

static char *response_b64(fx_t *f, const char *in_response_to, const char *destination, int success)
{
    char err[256] = "";
    size_t len = 0;
    char *xml = zr_saml_idp_logout_response_build(f->cfg, in_response_to, destination, success, &len, err, sizeof(err));
    assert_non_null(xml);
    char *b64 = zr_base64_encode((const uint8_t *)xml, len);
    free(xml);
    return b64;
}

static zr_saml_status_t validate(fx_t *f, const char *b64, char *err, size_t errlen)
{
    return zr_saml_logout_response_validate(f->cfg, f->idp, NULL, b64, REQ_ID, err, errlen);
}

static void test_response_shape_and_success(void **state)
{
    fx_t *f = *state;
    char err[512] = "", names[256], *url = zr_saml_slo_url(f->cfg);
    size_t len = 0;
    assert_string_equal(url, SLO_URL);
    char *xml = zr_saml_idp_logout_response_build(f->cfg, REQ_ID, url, 1, &len, err, sizeof(err));
    xmlDocPtr doc = zr_xml_parse(xml, len, 0, err, sizeof(err)), example = load_example("logout_response.xml");
    xmlNodePtr root = xmlDocGetRootElement(doc), ex = xmlDocGetRootElement(example);
    child_names(root, names, sizeof(names));
    assert_string_equal(names, "saml:Issuer ds:Signature samlp:Status");
    child_names(ex, names, sizeof(names));
    assert_string_equal(names, "saml:Issuer ds:Signature samlp:Status");
    for (xmlAttrPtr a = ex->properties; a; a = a->next)
        assert_non_null(xmlHasProp(root, a->name));
    assert_same_signature_shape(root, ex);
    xmlFreeDoc(doc);
    xmlFreeDoc(example);
    free(xml);

    char *b64 = response_b64(f, REQ_ID, url, 1);
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_OK);
    free(b64);
    free(url);
}

static void test_response_status_not_success(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    char *b64 = response_b64(f, REQ_ID, SLO_URL, 0);
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_STATUS_ERROR);
    assert_non_null(strstr(err, "Responder"));
    assert_non_null(strstr(err, "UnknownPrincipal"));
    free(b64);
}

static void test_response_wrong_in_response_to(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    char *b64 = response_b64(f, "_someoneelse", SLO_URL, 1);
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "InResponseTo"));
    free(b64);
}

static void test_response_wrong_destination(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    char *b64 = response_b64(f, REQ_ID, "https://other.example.test/saml/slo", 1);
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "Destination"));
    free(b64);
}

static void test_response_wrong_issuer(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    char *rd = f->cfg->mock_tvs.entity_id;
    f->cfg->mock_tvs.entity_id = (char *)"urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9999";
    char *b64 = response_b64(f, REQ_ID, SLO_URL, 1);
    f->cfg->mock_tvs.entity_id = rd;
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "Issuer"));
    free(b64);
}

static void test_response_bad_signature(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    size_t len = 0;
    /* 1. Signed by a key that is not in TVS's metadata. */
    zr_keypair_t tvs = f->cfg->mock_tvs.signing;
    f->cfg->mock_tvs.signing.key = f->other_key;
    f->cfg->mock_tvs.signing.cert = f->other_cert;
    char *b64 = response_b64(f, REQ_ID, SLO_URL, 1);
    f->cfg->mock_tvs.signing = tvs;
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "signature"));
    free(b64);
    /* 2. Signed by TVS, then changed. */
    char *xml = zr_saml_idp_logout_response_build(f->cfg, REQ_ID, SLO_URL, 0, &len, err, sizeof(err));
    char *p = strstr(xml, "UnknownPrincipal");
    assert_non_null(p);
    p[15] = 'X'; /* one character of the signed content */
    b64 = zr_base64_encode((const uint8_t *)xml, strlen(xml));
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "signature"));
    free(b64);
    free(xml);
    /* 3. Not signed at all. */
    xml = zr_saml_idp_logout_response_build(f->cfg, REQ_ID, SLO_URL, 1, &len, err, sizeof(err));
    char *sig = strstr(xml, "<ds:Signature"), *sig_end = strstr(xml, "</ds:Signature>");
    assert_non_null(sig);
    assert_non_null(sig_end);
    memmove(sig, sig_end + strlen("</ds:Signature>"), strlen(sig_end + strlen("</ds:Signature>")) + 1);
    b64 = zr_base64_encode((const uint8_t *)xml, strlen(xml));
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "not signed"));
    free(b64);
    free(xml);
}

static void test_response_expired(void **state)
{
#ifdef ZR_TESTING
    fx_t *f = *state;
    char err[512] = "";
    /* Made 10 minutes ago (the window is 5 minutes + 60 s skew). */
    setenv("ZR_TEST_TIME_OFFSET", "-600", 1);
    char *b64 = response_b64(f, REQ_ID, SLO_URL, 1);
    unsetenv("ZR_TEST_TIME_OFFSET");
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "too old"));
    free(b64);
    /* And one from the future. */
    setenv("ZR_TEST_TIME_OFFSET", "600", 1);
    b64 = response_b64(f, REQ_ID, SLO_URL, 1);
    unsetenv("ZR_TEST_TIME_OFFSET");
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "future"));
    free(b64);
#else
    (void)state;
    skip();
#endif
}

static void test_response_garbage(void **state)
{
    fx_t *f = *state;
    char err[512] = "";
    char *b64 = zr_base64_encode((const uint8_t *)"<!DOCTYPE x [<!ENTITY e 'x'>]><x/>", 34);
    assert_int_equal(validate(f, "not base64 !!", err, sizeof(err)), ZR_SAML_INVALID);
    assert_int_equal(validate(f, b64, err, sizeof(err)), ZR_SAML_INVALID);
    free(b64);
    /* A LogoutRequest is no LogoutResponse. */
    zr_saml_session_t s = fx_session();
    zr_saml_logout_request_t lr;
    assert_int_equal(zr_saml_logout_request_build(f->cfg, &f->cfg->tenants[0], f->idp, &s, &lr, err, sizeof(err)), 0);
    assert_int_equal(validate(f, lr.saml_request_b64, err, sizeof(err)), ZR_SAML_INVALID);
    assert_non_null(strstr(err, "LogoutResponse"));
    zr_saml_logout_request_free(&lr);
    zr_saml_session_clear(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request_shape),
        cmocka_unit_test(test_request_plain_name_id),
        cmocka_unit_test(test_request_cluster_issuer),
        cmocka_unit_test(test_request_refusals),
        cmocka_unit_test(test_response_shape_and_success),
        cmocka_unit_test(test_response_status_not_success),
        cmocka_unit_test(test_response_wrong_in_response_to),
        cmocka_unit_test(test_response_wrong_destination),
        cmocka_unit_test(test_response_wrong_issuer),
        cmocka_unit_test(test_response_bad_signature),
        cmocka_unit_test(test_response_expired),
        cmocka_unit_test(test_response_garbage),
    };
    if (zr_xml_init() != 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    zr_xml_shutdown();
    return rc;
}
