/* Unit tests for src/mock/saml_idp.c, the TVS side the mock plays: RD metadata,
 * AuthnRequest and ArtifactResolve checks, and the ArtifactResponse, compared
 * with the official ST-SAML example shapes and checked with the relay's own
 * parsers where they exist (zr_saml_idp_parse, zr_saml_artifact_parse,
 * zr_saml_authn_request_build, zr_saml_artifact_resolve_build). The
 * cluster shape (issue 3): the LC as Issuer with Extensions naming the care
 * provider, both Audiences and the EncryptedID for the care provider only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "saml_sp_fixture.h"
#include "redis_fixture.h"

#include "../../src/saml/sp_internal.h"
#include "zr/saml_idp.h"
#include "zr/xml.h"

#define ACTING_BSN "999990019"
#define LEGAL_BSN  "999990056"
#define MOCK_PUBLIC "http://localhost:8081"
#define MOCK_ARTIFACT "https://localhost:8444"
#define RT_GEZAG "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"
#define LC_ENTITY  "urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
#define DV2_ENTITY "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001"
#define DV2_UUID   "3b1f6d2e-8a4c-4e0b-9f7d-2c5a1e6b8d90"
#define DV_UNKNOWN "urn:nl-eid-gdi:1.0:DV:00000009999999999666:entities:9000"
#define STATUS(s) "urn:oasis:names:tc:SAML:2.0:status:" s

typedef struct {
    zr_config_t *cfg;       /* care provider 0 with two BSN keys, care provider 1 (DV2) with one */
    EVP_PKEY *ca_key;
    X509 *ca;
    EVP_PKEY *other_key;    /* a key nobody trusts */
    char *mock_sha256;      /* KeyName TVS uses in messages */
    zr_test_redis_t redis;  /* for the relay's replay cache */
} fixture_t;

static fixture_t fx;

static int group_setup(void **state)
{
    EVP_PKEY *k;
    if (zr_xml_init() != 0)
        return -1;
    fx.cfg = fx_config_new(2);
    if (!fx.cfg)
        return -1;
    /* A second care provider, as in test_saml_cluster_metadata.c; the LC is
     * named always and enabled by the cluster tests only. */
    zr_tenant_t *grown = realloc(fx.cfg->tenants, 2 * sizeof(zr_tenant_t));
    if (!grown)
        return -1;
    fx.cfg->tenants = grown;
    fx.cfg->tenant_count = 2;
    zr_tenant_t *t = &fx.cfg->tenants[1];
    memset(t, 0, sizeof(*t));
    t->id = strdup("zorgaanbieder-twee");
    t->name = strdup("Zorgaanbieder Twee");
    t->entity_id = strdup(DV2_ENTITY);
    t->oin = strdup("00000009999999999002");
    t->services = calloc(1, sizeof(zr_tenant_service_t));
    t->service_count = 1;
    t->services[0].min_loa = ZR_LOA_SUBSTANTIAL;
    t->services[0].service_uuid = strdup(DV2_UUID);
    k = fx_rsa_key();
    t->bsn_keys[0].key = k;
    t->bsn_keys[0].cert = fx_cert(k, "dv2 bsn 1", NULL, NULL, 0, NULL);
    t->bsn_keys[0].key_name = zr_crypto_cert_keyname(t->bsn_keys[0].cert);
    t->bsn_keys[0].key_name_sha256 = zr_crypto_cert_sha256_hex(t->bsn_keys[0].cert);
    t->bsn_key_count = 1;
    fx.cfg->cluster.entity_id = strdup(LC_ENTITY);
    fx.cfg->cluster.oin = strdup("00000009999999999100");
    fx.ca_key = fx_rsa_key();
    fx.ca = fx_cert(fx.ca_key, "zorgrelay test CA", NULL, NULL, 1, NULL);
    fx.other_key = fx_rsa_key();
    zr_mock_tvs_config_t *m = &fx.cfg->mock_tvs;
    fx.cfg->has_mock_tvs = 1;
    m->entity_id = strdup(FX_RD_ENTITY);
    m->public_base_url = strdup(MOCK_PUBLIC);
    m->artifact_base_url = strdup(MOCK_ARTIFACT "/");
    m->metadata_valid_days = 7;
    k = fx_rsa_key();
    fx_keypair(&m->signing, k, fx_cert(k, "mock tvs signing", fx.ca, fx.ca_key, 0, NULL));
    fx.mock_sha256 = zr_crypto_cert_sha256_hex(m->signing.cert);
    if (zr_test_redis_start(&fx.redis) != 0)
        return -1;
    fx.cfg->redis.host = strdup("127.0.0.1");
    fx.cfg->redis.port = fx.redis.port;
    fx.cfg->redis.timeout_ms = 500;
    fx.cfg->redis.prefix = strdup("zr-idp-test:");
    zr_random_bytes(fx.cfg->redis.encryption_key, sizeof(fx.cfg->redis.encryption_key));
    return fx.cfg && fx.ca && fx.other_key && fx.mock_sha256 ? 0 : -1;
}

static int group_teardown(void **state)
{
    zr_mock_tvs_config_t *m = &fx.cfg->mock_tvs;
    zr_test_redis_destroy(&fx.redis);
    free(fx.cfg->redis.host);
    free(fx.cfg->redis.prefix);
    free(m->entity_id);
    free(m->public_base_url);
    free(m->artifact_base_url);
    fx_keypair_clear(&m->signing);
    free(fx.cfg->cluster.entity_id);
    free(fx.cfg->cluster.oin);
    fx_config_free(fx.cfg);
    EVP_PKEY_free(fx.ca_key);
    X509_free(fx.ca);
    EVP_PKEY_free(fx.other_key);
    free(fx.mock_sha256);
    zr_xml_shutdown();
    return 0;
}

static xmlDocPtr parse(const char *xml)
{
    char why[256] = "";
    xmlDocPtr doc = zr_xml_parse(xml, strlen(xml), 0, why, sizeof(why));
    if (!doc)
        fail_msg("not parseable: %s", why);
    return doc;
}

/* Walks a path of (namespace, local name) steps from node; NULL when absent. */
static xmlNodePtr path(xmlNodePtr node, const char *const *steps)
{
    for (size_t i = 0; node && steps[i]; i += 2)
        node = zr_xml_child(node, steps[i], steps[i + 1]);
    return node;
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})
#define S ZR_NS_SAML
#define SP ZR_NS_SAMLP

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    assert_non_null(n);
    char *v = zr_xml_attr(n, name);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void assert_text(xmlNodePtr n, const char *want)
{
    assert_non_null(n);
    char *v = zr_xml_text(n);
    assert_string_equal(v, want);
    free(v);
}

/* Local names of the element children of n, joined with spaces. */
static char *child_names(xmlNodePtr n)
{
    zr_buf_t b;
    zr_buf_init(&b);
    for (xmlNodePtr c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE)
            zr_buf_printf(&b, "%s%s", b.len ? " " : "", (const char *)c->name);
    return zr_buf_steal(&b);
}

static void assert_children(xmlNodePtr n, const char *want)
{
    assert_non_null(n);
    char *names = child_names(n);
    assert_string_equal(names, want);
    free(names);
}

/* Verifies the enveloped signature of node with the mock's signing key, named
 * as TVS names it. */
static int verify_mock(xmlDocPtr doc, xmlNodePtr node)
{
    char why[256] = "";
    zr_xml_verify_key_t k = {X509_get0_pubkey(fx.cfg->mock_tvs.signing.cert), fx.cfg->mock_tvs.signing.key_name,
                             fx.mock_sha256};
    int rc = zr_xml_verify(doc, node, &k, 1, why, sizeof(why));
    if (rc != 0)
        print_message("verify: %s\n", why);
    return rc;
}

/* ------------------------------------------------------------ metadata */

static void test_metadata_signed_and_shaped(void **state)
{
    char err[256] = "", why[256] = "";
    size_t len = 0;
    char *xml = zr_saml_idp_metadata_build(fx.cfg, &len, err, sizeof(err));
    assert_non_null(xml);
    assert_int_equal(len, strlen(xml));
    xmlDocPtr doc = parse(xml);
    xmlNodePtr ed = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(ed, ZR_NS_MD, "EntityDescriptor"));
    assert_attr(ed, "entityID", FX_RD_ENTITY);
    char *until = zr_xml_attr(ed, "validUntil");
    time_t t = 0;
    assert_int_equal(zr_time_parse_iso8601(until, &t), 0);
    assert_true(llabs((long long)(t - (zr_time_now() + 7 * 86400))) < 60);
    free(until);
    /* examples/saml_metadata_rd_for_dv.xml */
    assert_children(ed, "Signature Extensions IDPSSODescriptor");
    xmlNodePtr idp = zr_xml_child(ed, ZR_NS_MD, "IDPSSODescriptor");
    assert_attr(idp, "WantAuthnRequestsSigned", "true");
    assert_children(idp, "KeyDescriptor ArtifactResolutionService SingleLogoutService SingleSignOnService");
    xmlNodePtr kd = zr_xml_child(idp, ZR_NS_MD, "KeyDescriptor");
    assert_attr(kd, "use", "signing");
    assert_text(path(kd, P(ZR_NS_DS, "KeyInfo", ZR_NS_DS, "KeyName")), fx.cfg->mock_tvs.signing.key_name);
    char *b64 = zr_crypto_cert_base64(fx.cfg->mock_tvs.signing.cert);
    assert_text(path(kd, P(ZR_NS_DS, "KeyInfo", ZR_NS_DS, "X509Data", ZR_NS_DS, "X509Certificate")), b64);
    free(b64);
    xmlNodePtr ars = zr_xml_child(idp, ZR_NS_MD, "ArtifactResolutionService");
    assert_attr(ars, "Binding", ZR_SAML_BINDING_SOAP);
    assert_attr(ars, "Location", MOCK_ARTIFACT "/kvs/rd/resolve_artifact");
    assert_attr(ars, "index", "0");
    assert_attr(zr_xml_child(idp, ZR_NS_MD, "SingleLogoutService"), "Location", MOCK_PUBLIC "/kvs/rd/request_logout");
    assert_attr(zr_xml_child(idp, ZR_NS_MD, "SingleSignOnService"), "Binding", ZR_SAML_BINDING_POST);
    assert_attr(zr_xml_child(idp, ZR_NS_MD, "SingleSignOnService"), "Location",
                MOCK_PUBLIC "/kvs/rd/request_authentication");

    /* Signed by a key whose certificate chains to the test CA, and to no
     * other anchor. */
    STACK_OF(X509) *anchors = sk_X509_new_null();
    sk_X509_push(anchors, fx.ca);
    assert_int_equal(zr_xml_verify_with_anchors(doc, ed, anchors, NULL, why, sizeof(why)), 0);
    xmlFreeDoc(doc);
    X509 *stranger = fx_cert(fx.other_key, "stranger CA", NULL, NULL, 1, NULL);
    STACK_OF(X509) *wrong = sk_X509_new_null();
    sk_X509_push(wrong, stranger);
    doc = parse(xml);
    assert_int_not_equal(zr_xml_verify_with_anchors(doc, xmlDocGetRootElement(doc), wrong, NULL, why, sizeof(why)), 0);
    xmlFreeDoc(doc);

    /* The relay's own metadata loader accepts it and finds our endpoints. */
    zr_tvs_config_t trusted = {.trust_anchors = anchors}, untrusted = {.trust_anchors = wrong};
    zr_saml_idp_t *parsed = zr_saml_idp_parse(xml, len, &trusted, err, sizeof(err));
    if (!parsed)
        fail_msg("zr_saml_idp_parse: %s", err);
    assert_string_equal(parsed->entity_id, FX_RD_ENTITY);
    assert_string_equal(parsed->sso_url, MOCK_PUBLIC "/kvs/rd/request_authentication");
    assert_string_equal(parsed->artifact_url, MOCK_ARTIFACT "/kvs/rd/resolve_artifact");
    assert_int_equal(parsed->key_count, 1);
    zr_saml_idp_free(parsed);
    assert_null(zr_saml_idp_parse(xml, len, &untrusted, err, sizeof(err)));

    sk_X509_free(anchors);
    sk_X509_pop_free(wrong, X509_free);
    free(xml);
}

/* ------------------------------------------------------------ AuthnRequest */

typedef struct {
    const char *destination;  /* NULL: ours */
    const char *issuer;       /* NULL: the care provider */
    int service_index;
    long age_s;               /* IssueInstant = now - age_s */
    const char *extra_attrs;  /* e.g. AssertionConsumerServiceURL="..." */
    const char *extra_xml;    /* after the Issuer (so after the Signature once signed) */
    int no_acs_index;
    int acs_index;            /* AssertionConsumerServiceIndex */
    int no_service_index;     /* no AttributeConsumingServiceIndex (cluster shape) */
    int unsigned_;
    EVP_PKEY *key;            /* NULL: the relay's signing key */
    const char *tamper_from, *tamper_to;
} req_opts_t;

/* An AuthnRequest shaped like examples/authn_request.xml (or, with
 * extra_xml holding samlp:Extensions, authn_request_extensions.xml), signed
 * with zr_xml_sign, base64-encoded as in the HTTP-POST binding. */
static char *make_request(const req_opts_t *o, char **id_out)
{
    char instant[21], why[256] = "";
    char *id = zr_random_saml_id();
    zr_buf_t x;
    zr_buf_init(&x);
    zr_time_format_iso8601(zr_time_now() - o->age_s, instant);
    zr_buf_appends(&x, "<samlp:AuthnRequest xmlns:samlp=\"" ZR_NS_SAMLP "\" xmlns:saml=\"" ZR_NS_SAML "\" "
                       "xmlns:ds=\"" ZR_NS_DS "\" ");
    if (!o->no_acs_index)
        zr_buf_printf(&x, "AssertionConsumerServiceIndex=\"%d\" ", o->acs_index);
    if (!o->no_service_index)
        zr_buf_printf(&x, "AttributeConsumingServiceIndex=\"%d\" ", o->service_index);
    zr_buf_printf(&x, "Destination=\"%s\" ID=\"%s\" IssueInstant=\"%s\" Version=\"2.0\" %s>"
                      "<saml:Issuer>%s</saml:Issuer>%s</samlp:AuthnRequest>",
                  o->destination ? o->destination : MOCK_PUBLIC "/kvs/rd/request_authentication", id, instant,
                  o->extra_attrs ? o->extra_attrs : "", o->issuer ? o->issuer : FX_DV_ENTITY,
                  o->extra_xml ? o->extra_xml : "");
    xmlDocPtr doc = parse(x.data);
    zr_buf_free(&x);
    if (!o->unsigned_) {
        EVP_PKEY *key = o->key ? o->key : fx.cfg->saml_signing.key;
        assert_int_equal(zr_xml_sign(doc, xmlDocGetRootElement(doc), key, fx.cfg->saml_signing.key_name, NULL, why,
                                     sizeof(why)),
                         0);
    }
    size_t len = 0;
    char *out = zr_xml_dump(doc, xmlDocGetRootElement(doc), &len);
    xmlFreeDoc(doc);
    if (o->tamper_from) {
        char *at = strstr(out, o->tamper_from);
        assert_non_null(at);
        assert_int_equal(strlen(o->tamper_from), strlen(o->tamper_to));
        memcpy(at, o->tamper_to, strlen(o->tamper_to));
    }
    char *b64 = zr_base64_encode((const uint8_t *)out, strlen(out));
    free(out);
    if (id_out)
        *id_out = id;
    else
        free(id);
    return b64;
}

static zr_saml_idp_check_t check_request(const req_opts_t *o, char *err, size_t errlen)
{
    zr_saml_idp_request_t r;
    char *b64 = make_request(o, NULL);
    zr_saml_idp_check_t c = zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, errlen);
    if (c == ZR_SAML_IDP_OK)
        zr_saml_idp_request_clear(&r);
    assert_null(r.request_id);
    free(b64);
    return c;
}

static void test_authn_request_accepted(void **state)
{
    req_opts_t o = {.service_index = 1, .extra_attrs = "ForceAuthn=\"true\""};
    zr_saml_idp_request_t r;
    char err[256] = "", *id = NULL;
    char *b64 = make_request(&o, &id);
    assert_int_equal(zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, sizeof(err)), ZR_SAML_IDP_OK);
    assert_string_equal(r.request_id, id);
    assert_ptr_equal(r.tenant, &fx.cfg->tenants[0]);
    assert_ptr_equal(r.service, &fx.cfg->tenants[0].services[1]);
    assert_string_equal(r.service->service_uuid, FX_UUID_2);
    assert_int_equal(r.service->min_loa, ZR_LOA_HIGH);
    assert_true(r.force_authn);
    zr_saml_idp_request_clear(&r);
    free(b64);
    free(id);
}

/* What the relay really sends (lasso + zr_xml_sign) passes TVS's checks. */
static void test_relay_authn_request_accepted(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    zr_saml_authn_request_t ar;
    zr_saml_idp_request_t r;
    char err[256] = "";
    free(idp->sso_url);
    idp->sso_url = zr_saml_idp_sso_url(fx.cfg);
    if (zr_saml_authn_request_build(fx.cfg, &fx.cfg->tenants[0], &fx.cfg->tenants[0].services[0], idp, 0, &ar, err,
                                    sizeof(err)) != 0)
        fail_msg("relay AuthnRequest: %s", err);
    if (zr_saml_idp_authn_request_verify(fx.cfg, ar.saml_request_b64, &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_string_equal(r.request_id, ar.id);
    assert_string_equal(r.service->service_uuid, FX_UUID_1);
    assert_false(r.force_authn);
    zr_saml_idp_request_clear(&r);
    zr_saml_authn_request_free(&ar);
    zr_saml_idp_free(idp);
}

static void test_authn_request_refused(void **state)
{
    char err[256];
    struct {
        req_opts_t o;
        zr_saml_idp_check_t want;
        const char *in_err;
    } cases[] = {
        {{.unsigned_ = 1}, ZR_SAML_IDP_ERR_SIGNATURE, "not signed"},
        {{.tamper_from = "AttributeConsumingServiceIndex=\"0\"", .tamper_to = "AttributeConsumingServiceIndex=\"1\""},
         ZR_SAML_IDP_ERR_SIGNATURE, "signature invalid"},
        {{.key = fx.other_key}, ZR_SAML_IDP_ERR_SIGNATURE, "signature invalid"},
        {{.destination = "https://evil.example/kvs/rd/request_authentication"}, ZR_SAML_IDP_ERR_DESTINATION,
         "Destination"},
        {{.extra_xml = "<samlp:RequestedAuthnContext><saml:AuthnContextClassRef>http://eidas.europa.eu/LoA/high"
                       "</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>"},
         ZR_SAML_IDP_ERR_AUTHN_CONTEXT, "RequestedAuthnContext"},
        {{.extra_attrs = "AssertionConsumerServiceURL=\"https://evil.example/acs\""}, ZR_SAML_IDP_ERR_ACS_URL,
         "AssertionConsumerServiceURL"},
        {{.no_acs_index = 1}, ZR_SAML_IDP_ERR_ACS_INDEX, "AssertionConsumerServiceIndex missing"},
        {{.service_index = 7}, ZR_SAML_IDP_ERR_SERVICE, "AttributeConsumingServiceIndex 7"},
        {{.issuer = "urn:nl-eid-gdi:1.0:DV:00000009999999999999:entities:9000"}, ZR_SAML_IDP_ERR_ISSUER, "Issuer"},
        {{.age_s = 3600}, ZR_SAML_IDP_ERR_ISSUE_INSTANT, "older"},
        {{.age_s = -3600}, ZR_SAML_IDP_ERR_ISSUE_INSTANT, "future"},
        {{.extra_xml = "<samlp:Extensions/>"}, ZR_SAML_IDP_ERR_SERVICE_CHOICE, "only one of Extensions"},
        {{.issuer = LC_ENTITY}, ZR_SAML_IDP_ERR_ISSUER, "not a registered care provider"}, /* no cluster */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = '\0';
        zr_saml_idp_check_t got = check_request(&cases[i].o, err, sizeof(err));
        if (got != cases[i].want || !strstr(err, cases[i].in_err))
            fail_msg("case %zu: got %s (%s), want %s with \"%s\"", i, zr_saml_idp_check_name(got), err,
                     zr_saml_idp_check_name(cases[i].want), cases[i].in_err);
    }
    /* The sanity case passes, so the refusals above are about their change. */
    req_opts_t ok = {0};
    assert_int_equal(check_request(&ok, err, sizeof(err)), ZR_SAML_IDP_OK);

    zr_saml_idp_request_t r;
    assert_int_equal(zr_saml_idp_authn_request_verify(fx.cfg, "not*base64", &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_ENCODING);
    const char *other = "<samlp:LogoutRequest xmlns:samlp=\"" ZR_NS_SAMLP "\"/>";
    char *b64 = zr_base64_encode((const uint8_t *)other, strlen(other));
    assert_int_equal(zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, sizeof(err)), ZR_SAML_IDP_ERR_XML);
    free(b64);
}

/* ------------------------------------------------------------ cluster AuthnRequest */

static int cluster_on(void **state)
{
    fx.cfg->cluster.enabled = 1;
    return 0;
}

static int cluster_off(void **state)
{
    fx.cfg->cluster.enabled = 0;
    return 0;
}

#define ATTR_XML(name, value) \
    "<saml:Attribute Name=\"" name "\"><saml:AttributeValue>" value "</saml:AttributeValue></saml:Attribute>"
#define EXT(inner) "<samlp:Extensions>" inner "</samlp:Extensions>"
#define AUDIENCE(v) ATTR_XML("urn:nl-eid-gdi:1.0:IntendedAudience", v)
#define SERVICE(v) ATTR_XML("urn:nl-eid-gdi:1.0:ServiceUUID", v)
/* examples/authn_request_extensions.xml: ServiceUUID first. */
#define EXT_DV2 EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY))

/* The LC's request for DV2, as the relay sends it in a cluster. */
static req_opts_t cluster_request(void)
{
    req_opts_t o = {.issuer = LC_ENTITY, .no_service_index = 1, .extra_xml = EXT_DV2};
    return o;
}

static void test_cluster_authn_request_accepted(void **state)
{
    req_opts_t o = cluster_request();
    zr_saml_idp_request_t r;
    char err[256] = "", *id = NULL;
    char *b64 = make_request(&o, &id);
    if (zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_string_equal(r.request_id, id);
    assert_ptr_equal(r.tenant, &fx.cfg->tenants[1]);
    assert_ptr_equal(r.service, &fx.cfg->tenants[1].services[0]);
    assert_string_equal(r.requester, LC_ENTITY);
    assert_int_equal(r.bsn_key, ZR_SAML_IDP_BSN_KEY_NEWEST);
    zr_saml_idp_request_clear(&r);
    assert_null(r.requester);
    free(b64);
    free(id);

    /* The attributes in the other order, the care provider with two keys. */
    o.extra_xml = EXT(AUDIENCE(FX_DV_ENTITY) SERVICE(FX_UUID_2));
    b64 = make_request(&o, NULL);
    assert_int_equal(zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, sizeof(err)), ZR_SAML_IDP_OK);
    assert_ptr_equal(r.tenant, &fx.cfg->tenants[0]);
    assert_ptr_equal(r.service, &fx.cfg->tenants[0].services[1]);
    zr_saml_idp_request_clear(&r);
    free(b64);
}

/* What the relay really sends as the LC (samlsp's builder) passes. */
static void test_relay_cluster_authn_request_accepted(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    zr_saml_authn_request_t ar;
    zr_saml_idp_request_t r;
    char err[256] = "";
    free(idp->sso_url);
    idp->sso_url = zr_saml_idp_sso_url(fx.cfg);
    if (zr_saml_authn_request_build(fx.cfg, &fx.cfg->tenants[1], &fx.cfg->tenants[1].services[0], idp, 1, &ar, err,
                                    sizeof(err)) != 0)
        fail_msg("relay cluster AuthnRequest: %s", err);
    if (zr_saml_idp_authn_request_verify(fx.cfg, ar.saml_request_b64, &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_string_equal(r.request_id, ar.id);
    assert_string_equal(r.requester, LC_ENTITY);
    assert_ptr_equal(r.tenant, &fx.cfg->tenants[1]);
    assert_string_equal(r.service->service_uuid, DV2_UUID);
    assert_true(r.force_authn);
    zr_saml_idp_request_clear(&r);
    zr_saml_authn_request_free(&ar);
    zr_saml_idp_free(idp);
}

static void test_cluster_authn_request_refused(void **state)
{
    char err[256];
    zr_tenant_t former = {.id = "vertrokken", .entity_id = DV_UNKNOWN};
    struct {
        req_opts_t o;             /* what differs from cluster_request() */
        zr_saml_idp_check_t want;
        const char *in_err;
        int with_service_index;   /* AttributeConsumingServiceIndex as well */
    } cases[] = {
        /* ST-SAML processing rule 2: the DV must be registered with the LC */
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE("urn:nl-eid-gdi:1.0:DV:00000009999999999777:entities:9000"))},
         ZR_SAML_IDP_ERR_AUDIENCE, "not a care provider registered with the LC", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV_UNKNOWN))}, ZR_SAML_IDP_ERR_AUDIENCE,
         "a former care provider", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(LC_ENTITY))}, ZR_SAML_IDP_ERR_AUDIENCE, "not a care provider", 0},
        /* ... for the requested ServiceUUID (rule 1) */
        {{.extra_xml = EXT(SERVICE(FX_UUID_1) AUDIENCE(DV2_ENTITY))}, ZR_SAML_IDP_ERR_SERVICE,
         "registered for care provider zorgaanbieder-test, not for zorgaanbieder-twee", 0},
        {{.extra_xml = EXT(SERVICE("00000000-0000-4000-8000-000000000000") AUDIENCE(DV2_ENTITY))},
         ZR_SAML_IDP_ERR_SERVICE, "names no registered service of care provider zorgaanbieder-twee", 0},
        /* only one of Extensions and AttributeConsumingServiceIndex */
        {{0}, ZR_SAML_IDP_ERR_SERVICE_CHOICE, "only one of Extensions", 1},
        {{.extra_xml = ""}, ZR_SAML_IDP_ERR_EXTENSIONS, "must name the care provider and service in samlp:Extensions", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID))}, ZR_SAML_IDP_ERR_EXTENSIONS, "IntendedAudience attribute is missing", 0},
        {{.extra_xml = EXT(AUDIENCE(DV2_ENTITY))}, ZR_SAML_IDP_ERR_EXTENSIONS, "ServiceUUID attribute is missing", 0},
        {{.extra_xml = EXT("")}, ZR_SAML_IDP_ERR_EXTENSIONS, "IntendedAudience attribute is missing", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY) ATTR_XML("urn:nl-eid-gdi:1.0:IdpAssertion", "x"))},
         ZR_SAML_IDP_ERR_EXTENSIONS, "IdpAssertion attribute MUST NOT be used", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY) AUDIENCE(FX_DV_ENTITY))}, ZR_SAML_IDP_ERR_EXTENSIONS,
         "IntendedAudience given more than once", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) "<saml:Attribute Name=\"urn:nl-eid-gdi:1.0:IntendedAudience\">"
                           "<saml:AttributeValue>" DV2_ENTITY "</saml:AttributeValue><saml:AttributeValue>" FX_DV_ENTITY
                           "</saml:AttributeValue></saml:Attribute>")},
         ZR_SAML_IDP_ERR_EXTENSIONS, "IntendedAudience needs exactly one non-empty AttributeValue", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(""))}, ZR_SAML_IDP_ERR_EXTENSIONS, "exactly one non-empty", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY) ATTR_XML("urn:example:other", "x"))},
         ZR_SAML_IDP_ERR_EXTENSIONS, "unknown attribute", 0},
        {{.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY) "<saml:Issuer>x</saml:Issuer>")},
         ZR_SAML_IDP_ERR_EXTENSIONS, "only hold saml:Attribute elements", 0},
        {{.extra_xml = EXT_DV2 EXT_DV2}, ZR_SAML_IDP_ERR_EXTENSIONS, "more than one Extensions", 0},
        /* the LC's one ACS */
        {{.acs_index = 1}, ZR_SAML_IDP_ERR_ACS_INDEX, "not in the LC's metadata", 0},
        /* in a cluster the care providers do not sign requests themselves */
        {{.issuer = FX_DV_ENTITY}, ZR_SAML_IDP_ERR_ISSUER, "only the LC", 0},
        {{.issuer = DV_UNKNOWN}, ZR_SAML_IDP_ERR_ISSUER, "nor the LC", 0},
        /* signed by the LC's key, always */
        {{.key = fx.other_key}, ZR_SAML_IDP_ERR_SIGNATURE, "signature invalid", 0},
        {{.tamper_from = DV2_UUID, .tamper_to = "3b1f6d2e-8a4c-4e0b-9f7d-2c5a1e6b8d91"}, ZR_SAML_IDP_ERR_SIGNATURE,
         "signature invalid", 0},
    };
    fx.cfg->former_tenants = &former;
    fx.cfg->former_tenant_count = 1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        req_opts_t o = cluster_request();
        const req_opts_t *c = &cases[i].o;
        if (c->extra_xml)
            o.extra_xml = c->extra_xml;
        if (c->issuer)
            o.issuer = c->issuer;
        o.acs_index = c->acs_index;
        o.key = c->key;
        o.tamper_from = c->tamper_from;
        o.tamper_to = c->tamper_to;
        o.no_service_index = !cases[i].with_service_index;
        err[0] = '\0';
        zr_saml_idp_check_t got = check_request(&o, err, sizeof(err));
        if (got != cases[i].want || !strstr(err, cases[i].in_err))
            fail_msg("case %zu: got %s (%s), want %s with \"%s\"", i, zr_saml_idp_check_name(got), err,
                     zr_saml_idp_check_name(cases[i].want), cases[i].in_err);
    }
    fx.cfg->former_tenants = NULL;
    fx.cfg->former_tenant_count = 0;
    /* The sanity case passes, so the refusals above are about their change. */
    req_opts_t ok = cluster_request();
    assert_int_equal(check_request(&ok, err, sizeof(err)), ZR_SAML_IDP_OK);
}

/* ST-SAML §AttributeConsumingServiceIndex and Extensions: a direct DV may
 * name its service in Extensions too, but only for itself. */
static void test_direct_extensions(void **state)
{
    char err[256] = "";
    zr_saml_idp_request_t r;
    req_opts_t o = {.no_service_index = 1, .extra_xml = EXT(SERVICE(FX_UUID_2) AUDIENCE(FX_DV_ENTITY))};
    char *b64 = make_request(&o, NULL);
    if (zr_saml_idp_authn_request_verify(fx.cfg, b64, &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_ptr_equal(r.tenant, &fx.cfg->tenants[0]);
    assert_ptr_equal(r.service, &fx.cfg->tenants[0].services[1]);
    assert_string_equal(r.requester, FX_DV_ENTITY);
    zr_saml_idp_request_clear(&r);
    free(b64);

    o.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(DV2_ENTITY));
    assert_int_equal(check_request(&o, err, sizeof(err)), ZR_SAML_IDP_ERR_AUDIENCE);
    assert_non_null(strstr(err, "IntendedAudience is not the Issuer"));
    o.extra_xml = EXT(SERVICE(DV2_UUID) AUDIENCE(FX_DV_ENTITY));
    assert_int_equal(check_request(&o, err, sizeof(err)), ZR_SAML_IDP_ERR_SERVICE);
    assert_non_null(strstr(err, "registered for care provider zorgaanbieder-twee"));
    /* neither way */
    o.extra_xml = NULL;
    assert_int_equal(check_request(&o, err, sizeof(err)), ZR_SAML_IDP_ERR_SERVICE);
}

/* ------------------------------------------------------------ artifacts */

static void test_artifact_new_parses(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    char err[256] = "";
    int index = -1;
    char *a = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);
    char *b = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);
    assert_non_null(a);
    assert_string_not_equal(a, b);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), 0);
    assert_int_equal(index, 0);
    free(a);
    free(b);
    /* Another SourceID is not TVS's. */
    a = zr_saml_idp_artifact_new("urn:nl-eid-gdi:1.0:RD:00000009999999999999:entities:9000", 0);
    assert_int_not_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), 0);
    free(a);
    zr_saml_idp_free(idp);
}

/* The relay's real ArtifactResolve passes; Destination and artifact are checked. */
static void test_artifact_resolve_verify(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(MOCK_ARTIFACT "/kvs/rd/resolve_artifact");
    zr_saml_idp_resolve_t r;
    char err[256] = "", *id = NULL, *soap = NULL;
    char *art = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);

    if (zr_saml_artifact_resolve_build(fx.cfg, idp, &fx.cfg->tenants[0], art, &id, &soap, err, sizeof(err)) != 0)
        fail_msg("build: %s", err);
    if (zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_string_equal(r.id, id);
    assert_string_equal(r.artifact, art);
    assert_string_equal(r.issuer, FX_DV_ENTITY);
    zr_saml_idp_resolve_clear(&r);
    /* tampered after signing */
    char *at = strstr(soap, art);
    assert_non_null(at);
    at[5] = at[5] == 'A' ? 'B' : 'A';
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_SIGNATURE);
    free(id);
    free(soap);

    /* sent to another endpoint */
    free(idp->artifact_url);
    idp->artifact_url = strdup("https://elsewhere.example/kvs/rd/resolve_artifact");
    assert_int_equal(zr_saml_artifact_resolve_build(fx.cfg, idp, &fx.cfg->tenants[0], art, &id, &soap, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_DESTINATION);
    free(id);
    free(soap);
    free(art);

    /* an artifact that is not ours */
    free(idp->artifact_url);
    idp->artifact_url = strdup(MOCK_ARTIFACT "/kvs/rd/resolve_artifact");
    art = fx_artifact("urn:nl-eid-gdi:1.0:RD:00000009999999999999:entities:9000", 4, 0, 44);
    assert_int_equal(zr_saml_artifact_resolve_build(fx.cfg, idp, &fx.cfg->tenants[0], art, &id, &soap, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_ARTIFACT);
    free(id);
    free(soap);
    free(art);
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, "<a/>", 4, &r, err, sizeof(err)), ZR_SAML_IDP_ERR_XML);
    zr_saml_idp_free(idp);
}

/* In a cluster the LC resolves: the relay's ArtifactResolve then names the
 * LC as Issuer, which TVS accepts only with the cluster configured. */
static void test_cluster_artifact_resolve_verify(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(MOCK_ARTIFACT "/kvs/rd/resolve_artifact");
    zr_saml_idp_resolve_t r;
    char err[256] = "", *id = NULL, *soap = NULL;
    char *art = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);

    if (zr_saml_artifact_resolve_build(fx.cfg, idp, &fx.cfg->tenants[1], art, &id, &soap, err, sizeof(err)) != 0)
        fail_msg("build: %s", err);
    assert_non_null(strstr(soap, LC_ENTITY));
    if (zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)) != ZR_SAML_IDP_OK)
        fail_msg("refused: %s", err);
    assert_string_equal(r.id, id);
    assert_string_equal(r.artifact, art);
    assert_string_equal(r.issuer, LC_ENTITY);
    zr_saml_idp_resolve_clear(&r);
    /* the same message to a TVS that knows no cluster */
    fx.cfg->cluster.enabled = 0;
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_ISSUER);
    assert_null(r.issuer);
    fx.cfg->cluster.enabled = 1;
    free(id);
    free(soap);
    /* a care provider of the cluster resolving by itself */
    fx.cfg->cluster.enabled = 0;
    assert_int_equal(zr_saml_artifact_resolve_build(fx.cfg, idp, &fx.cfg->tenants[1], art, &id, &soap, err,
                                                    sizeof(err)),
                     0);
    fx.cfg->cluster.enabled = 1;
    assert_int_equal(zr_saml_idp_artifact_resolve_verify(fx.cfg, soap, strlen(soap), &r, err, sizeof(err)),
                     ZR_SAML_IDP_ERR_ISSUER);
    assert_non_null(strstr(err, "only the LC"));
    free(id);
    free(soap);
    free(art);
    zr_saml_idp_free(idp);
}

/* ------------------------------------------------------------ ArtifactResponse */

static zr_saml_idp_request_t login(size_t service)
{
    zr_saml_idp_request_t r = {0};
    r.request_id = strdup("_a658d2c5c7426b11dfbdb1e30d4b0cbdf6586c9b");
    r.tenant = &fx.cfg->tenants[0];
    r.service = &fx.cfg->tenants[0].services[service];
    r.requester = strdup(FX_DV_ENTITY);
    r.bsn_key = ZR_SAML_IDP_BSN_KEY_NEWEST;
    return r;
}

static char *build(const zr_saml_idp_request_t *r, const zr_mock_identity_t *id)
{
    char err[256] = "";
    size_t len = 0;
    char *xml = zr_saml_idp_artifact_response_build(fx.cfg, r, id, "_resolve0123", &len, err, sizeof(err));
    if (!xml)
        fail_msg("build: %s", err);
    assert_int_equal(len, strlen(xml));
    return xml;
}

static xmlNodePtr artifact_response(xmlDocPtr doc)
{
    xmlNodePtr env = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(env, ZR_NS_SOAP, "Envelope"));
    xmlNodePtr ar = path(env, P(ZR_NS_SOAP, "Body", SP, "ArtifactResponse"));
    assert_non_null(ar);
    assert_attr(ar, "InResponseTo", "_resolve0123");
    assert_attr(ar, "Version", "2.0");
    assert_text(zr_xml_child(ar, S, "Issuer"), FX_RD_ENTITY);
    assert_attr(path(ar, P(SP, "Status", SP, "StatusCode")), "Value", STATUS("Success"));
    assert_int_equal(verify_mock(doc, ar), 0);
    return ar;
}

/* Decrypts the EncryptedID in the attribute's value with the given BSN keys. */
static char *decrypt_attribute(xmlNodePtr stmt, const char *name, const size_t *keys, size_t nkeys)
{
    zr_tenant_t *t = &fx.cfg->tenants[0];
    zr_xml_decrypt_key_t dk[2];
    char err[256] = "", *plain = NULL;
    for (xmlNodePtr a = zr_xml_child(stmt, S, "Attribute"); a; a = zr_xml_next(a, S, "Attribute")) {
        char *n = zr_xml_attr(a, "Name");
        int hit = n && strcmp(n, name) == 0;
        free(n);
        if (!hit)
            continue;
        xmlNodePtr eid = path(a, P(S, "AttributeValue", S, "EncryptedID"));
        assert_non_null(eid);
        for (size_t i = 0; i < nkeys; i++) {
            dk[i].key = t->bsn_keys[keys[i]].key;
            dk[i].key_name = t->bsn_keys[keys[i]].key_name;
            dk[i].key_name_sha256 = t->bsn_keys[keys[i]].key_name_sha256;
        }
        if (zr_xml_decrypt_encrypted_id(eid, FX_DV_ENTITY, dk, nkeys, &plain, err, sizeof(err)) != 0)
            fail_msg("decrypt %s: %s", name, err);
        return plain;
    }
    fail_msg("no attribute %s", name);
    return NULL;
}

/* The decrypted value is <NameID Format=persistent NameQualifier=legacy-BSN>bsn</NameID>. */
static void assert_bsn_nameid(char *plain, const char *bsn)
{
    xmlDocPtr d = parse(plain);
    xmlNodePtr n = xmlDocGetRootElement(d);
    assert_true(zr_xml_is(n, S, "NameID"));
    assert_attr(n, "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent");
    assert_attr(n, "NameQualifier", ZR_ID_LEGACY_BSN);
    assert_text(n, bsn);
    xmlFreeDoc(d);
    free(plain);
}

/* 1 when BSN key `key` of t (alone) decrypts the EncryptedID for t. */
static int decrypts(xmlNodePtr eid, const zr_tenant_t *t, size_t key)
{
    zr_xml_decrypt_key_t dk = {t->bsn_keys[key].key, t->bsn_keys[key].key_name, t->bsn_keys[key].key_name_sha256};
    char err[256] = "", *plain = NULL;
    int ok = zr_xml_decrypt_encrypted_id(eid, t->entity_id, &dk, 1, &plain, err, sizeof(err)) == 0;
    if (ok) {
        assert_non_null(strstr(plain, ACTING_BSN));
        free(plain);
    }
    assert_true(ok || plain == NULL);
    return ok;
}

/* The EncryptedID of the ActingSubjectID in an ArtifactResponse. */
static xmlNodePtr acting_encrypted_id(xmlNodePtr ar)
{
    xmlNodePtr stmt = path(ar, P(SP, "Response", S, "Assertion", S, "AttributeStatement"));
    assert_non_null(stmt);
    for (xmlNodePtr a = zr_xml_child(stmt, S, "Attribute"); a; a = zr_xml_next(a, S, "Attribute")) {
        char *n = zr_xml_attr(a, "Name");
        int hit = n && strcmp(n, ZR_SAML_ATTR_ACTING) == 0;
        free(n);
        if (hit)
            return path(a, P(S, "AttributeValue", S, "EncryptedID"));
    }
    fail_msg("no ActingSubjectID");
    return NULL;
}

static void test_artifact_response_success(void **state)
{
    zr_saml_idp_request_t r = login(0);
    zr_mock_identity_t id = {.label = "Patient", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_SUBSTANTIAL};
    char *acs = zr_saml_acs_url(fx.cfg);
    char *xml = build(&r, &id);
    assert_null(strstr(xml, ACTING_BSN));  /* the BSN only travels encrypted */
    xmlDocPtr doc = parse(xml);
    xmlNodePtr ar = artifact_response(doc);

    /* examples/artifact_response.xml, element by element */
    assert_children(ar, "Issuer Signature Status Response");
    xmlNodePtr resp = zr_xml_child(ar, SP, "Response");
    assert_attr(resp, "Destination", acs);
    assert_attr(resp, "InResponseTo", r.request_id);
    assert_children(resp, "Issuer Status Assertion");  /* unsigned Response */
    assert_attr(path(resp, P(SP, "Status", SP, "StatusCode")), "Value", STATUS("Success"));
    xmlNodePtr as = zr_xml_child(resp, S, "Assertion");
    assert_children(as, "Issuer Signature Subject Conditions Advice AuthnStatement AttributeStatement");
    assert_int_equal(verify_mock(doc, as), 0);
    assert_text(zr_xml_child(as, S, "Issuer"), FX_RD_ENTITY);
    assert_text(path(as, P(ZR_NS_DS, "Signature", ZR_NS_DS, "KeyInfo", ZR_NS_DS, "KeyName")), fx.mock_sha256);

    xmlNodePtr subj = zr_xml_child(as, S, "Subject");
    assert_children(subj, "NameID SubjectConfirmation");
    assert_attr(zr_xml_child(subj, S, "NameID"), "Format", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient");
    xmlNodePtr sc = zr_xml_child(subj, S, "SubjectConfirmation");
    assert_attr(sc, "Method", "urn:oasis:names:tc:SAML:2.0:cm:bearer");
    xmlNodePtr scd = zr_xml_child(sc, S, "SubjectConfirmationData");
    assert_attr(scd, "Recipient", acs);
    assert_attr(scd, "InResponseTo", r.request_id);
    char *v = zr_xml_attr(scd, "NotOnOrAfter");
    time_t t = 0;
    assert_int_equal(zr_time_parse_iso8601(v, &t), 0);
    assert_true(t > zr_time_now() + 60 && t <= zr_time_now() + 121);
    free(v);

    xmlNodePtr cond = zr_xml_child(as, S, "Conditions");
    v = zr_xml_attr(cond, "NotBefore");
    assert_int_equal(zr_time_parse_iso8601(v, &t), 0);
    assert_true(t < zr_time_now() - 60);
    free(v);
    assert_children(zr_xml_child(cond, S, "AudienceRestriction"), "Audience");
    assert_text(path(cond, P(S, "AudienceRestriction", S, "Audience")), FX_DV_ENTITY);

    /* Advice: a signed stand-in DigiD assertion (evidence only) */
    xmlNodePtr inner = path(as, P(S, "Advice", S, "Assertion"));
    assert_non_null(inner);
    assert_children(inner, "Issuer Signature Subject Conditions AuthnStatement AttributeStatement");
    assert_text(zr_xml_child(inner, S, "Issuer"), ZR_SAML_IDP_MOCK_AD);
    assert_int_equal(verify_mock(doc, inner), 0);

    xmlNodePtr actx = path(as, P(S, "AuthnStatement", S, "AuthnContext"));
    assert_text(zr_xml_child(actx, S, "AuthnContextClassRef"), zr_loa_uri(ZR_LOA_SUBSTANTIAL));
    assert_text(zr_xml_child(actx, S, "AuthenticatingAuthority"), ZR_SAML_IDP_MOCK_AD);
    assert_int_equal(zr_xml_count_children(actx, S, "AuthenticatingAuthority"), 1);

    xmlNodePtr stmt = zr_xml_child(as, S, "AttributeStatement");
    assert_children(stmt, "Attribute Attribute");
    assert_attr(zr_xml_child(stmt, S, "Attribute"), "Name", ZR_SAML_ATTR_SERVICE_UUID);
    assert_text(path(stmt, P(S, "Attribute", S, "AttributeValue")), FX_UUID_1);
    /* By default one EncryptedKey, for the newest BSN key (the last one). */
    xmlNodePtr acting = zr_xml_next(zr_xml_child(stmt, S, "Attribute"), S, "Attribute");
    assert_attr(acting, "Name", ZR_SAML_ATTR_ACTING);
    xmlNodePtr eid = path(acting, P(S, "AttributeValue", S, "EncryptedID"));
    assert_int_equal(zr_xml_count_children(eid, ZR_NS_XENC, "EncryptedData"), 1);
    assert_int_equal(zr_xml_count_children(eid, ZR_NS_XENC, "EncryptedKey"), 1);
    xmlNodePtr ek = zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey");
    assert_attr(ek, "Recipient", FX_DV_ENTITY);
    assert_text(path(ek, P(ZR_NS_DS, "KeyInfo", ZR_NS_DS, "KeyName")), fx.cfg->tenants[0].bsn_keys[1].key_name);
    size_t k1[] = {1};
    assert_bsn_nameid(decrypt_attribute(stmt, ZR_SAML_ATTR_ACTING, k1, 1), ACTING_BSN);
    assert_false(decrypts(eid, &fx.cfg->tenants[0], 0));
    /* Tampering inside the signed assertion breaks both enclosing signatures. */
    xmlNodeSetContent(path(stmt, P(S, "Attribute", S, "AttributeValue")), (const xmlChar *)FX_UUID_2);
    assert_int_not_equal(verify_mock(doc, as), 0);
    xmlFreeDoc(doc);
    free(xml);
    free(acs);
    zr_saml_idp_request_clear(&r);
}

static void test_artifact_response_single_key(void **state)
{
    zr_tenant_t *t = &fx.cfg->tenants[0];
    zr_saml_idp_request_t r = login(1);
    zr_mock_identity_t id = {.label = "Patient", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_HIGH};
    t->bsn_key_count = 1;
    char *xml = build(&r, &id);
    t->bsn_key_count = 2;
    xmlDocPtr doc = parse(xml);
    xmlNodePtr as = path(artifact_response(doc), P(SP, "Response", S, "Assertion"));
    xmlNodePtr stmt = zr_xml_child(as, S, "AttributeStatement");
    assert_text(path(as, P(S, "AuthnStatement", S, "AuthnContext", S, "AuthnContextClassRef")),
                zr_loa_uri(ZR_LOA_HIGH));
    assert_text(path(stmt, P(S, "Attribute", S, "AttributeValue")), FX_UUID_2);
    xmlNodePtr eid = path(zr_xml_next(zr_xml_child(stmt, S, "Attribute"), S, "Attribute"),
                          P(S, "AttributeValue", S, "EncryptedID"));
    assert_int_equal(zr_xml_count_children(eid, ZR_NS_XENC, "EncryptedKey"), 1);
    size_t k0[] = {0};
    assert_bsn_nameid(decrypt_attribute(stmt, ZR_SAML_ATTR_ACTING, k0, 1), ACTING_BSN);
    /* the second key was not a recipient: it cannot decrypt */
    zr_xml_decrypt_key_t dk = {t->bsn_keys[1].key, t->bsn_keys[1].key_name, t->bsn_keys[1].key_name_sha256};
    char err[256] = "", *plain = NULL;
    assert_int_not_equal(zr_xml_decrypt_encrypted_id(eid, FX_DV_ENTITY, &dk, 1, &plain, err, sizeof(err)), 0);
    assert_null(plain);
    xmlFreeDoc(doc);
    free(xml);
    zr_saml_idp_request_clear(&r);
}

static zr_saml_idp_request_t cluster_login(size_t tenant, int bsn_key)
{
    zr_saml_idp_request_t r = {0};
    r.request_id = strdup("_c1a5e2c5c7426b11dfbdb1e30d4b0cbdf6586c9b");
    r.tenant = &fx.cfg->tenants[tenant];
    r.service = &fx.cfg->tenants[tenant].services[0];
    r.requester = strdup(LC_ENTITY);
    r.bsn_key = bsn_key;
    return r;
}

/* ST-SAML §Audience restriction: the care provider and the LC, in one
 * AudienceRestriction; the EncryptedID is for the care provider only (the
 * LC is no Recipient), wrapped for the BSN key the tester chose. */
static void test_cluster_artifact_response(void **state)
{
    const zr_tenant_t *t = &fx.cfg->tenants[0];
    struct {
        int choice;
        int keys;          /* EncryptedKeys */
        int by0, by1;      /* which key decrypts */
    } cases[] = {
        {0, 1, 1, 0},
        {1, 1, 0, 1},
        {ZR_SAML_IDP_BSN_KEY_NEWEST, 1, 0, 1},
        {ZR_SAML_IDP_BSN_KEY_ALL, 2, 1, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_saml_idp_request_t r = cluster_login(0, cases[i].choice);
        zr_mock_identity_t id = {.label = "Patient", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_SUBSTANTIAL};
        char *xml = build(&r, &id);
        assert_null(strstr(xml, ACTING_BSN));
        xmlDocPtr doc = parse(xml);
        xmlNodePtr ar = artifact_response(doc);
        xmlNodePtr as = path(ar, P(SP, "Response", S, "Assertion"));
        assert_int_equal(verify_mock(doc, as), 0);
        xmlNodePtr cond = zr_xml_child(as, S, "Conditions");
        assert_children(cond, "AudienceRestriction");
        xmlNodePtr ares = zr_xml_child(cond, S, "AudienceRestriction");
        assert_children(ares, "Audience Audience");
        assert_text(zr_xml_child(ares, S, "Audience"), FX_DV_ENTITY);
        assert_text(zr_xml_next(zr_xml_child(ares, S, "Audience"), S, "Audience"), LC_ENTITY);
        /* the SubjectConfirmation as for a direct connection: the relay's ACS */
        char *acs = zr_saml_acs_url(fx.cfg);
        assert_attr(path(as, P(S, "Subject", S, "SubjectConfirmation", S, "SubjectConfirmationData")), "Recipient", acs);
        free(acs);
        xmlNodePtr eid = acting_encrypted_id(ar);
        assert_int_equal(zr_xml_count_children(eid, ZR_NS_XENC, "EncryptedKey"), cases[i].keys);
        for (xmlNodePtr ek = zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey"); ek; ek = zr_xml_next(ek, ZR_NS_XENC, "EncryptedKey"))
            assert_attr(ek, "Recipient", FX_DV_ENTITY);
        xmlNodePtr first = zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey");
        assert_text(path(first, P(ZR_NS_DS, "KeyInfo", ZR_NS_DS, "KeyName")),
                    t->bsn_keys[cases[i].by0 ? 0 : 1].key_name);
        if (decrypts(eid, t, 0) != cases[i].by0 || decrypts(eid, t, 1) != cases[i].by1)
            fail_msg("case %zu: decryptable by key 1: %d, key 2: %d", i, decrypts(eid, t, 0), decrypts(eid, t, 1));
        /* the LC holds no key: nothing is addressed to it */
        zr_xml_decrypt_key_t lc = {fx.cfg->saml_signing.key, fx.cfg->saml_signing.key_name, NULL};
        char err[256] = "", *plain = NULL;
        assert_int_not_equal(zr_xml_decrypt_encrypted_id(eid, LC_ENTITY, &lc, 1, &plain, err, sizeof(err)), 0);
        assert_null(plain);
        xmlFreeDoc(doc);
        free(xml);
        zr_saml_idp_request_clear(&r);
    }

    /* DV2 (one key): for DV2 only; care provider 0's keys cannot open it. */
    zr_saml_idp_request_t r = cluster_login(1, ZR_SAML_IDP_BSN_KEY_NEWEST);
    zr_mock_identity_t id = {.label = "Patient", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_SUBSTANTIAL};
    char *xml = build(&r, &id);
    xmlDocPtr doc = parse(xml);
    xmlNodePtr ar = artifact_response(doc);
    assert_text(path(ar, P(SP, "Response", S, "Assertion", S, "Conditions", S, "AudienceRestriction", S, "Audience")),
                DV2_ENTITY);
    xmlNodePtr eid = acting_encrypted_id(ar);
    assert_attr(zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey"), "Recipient", DV2_ENTITY);
    assert_true(decrypts(eid, &fx.cfg->tenants[1], 0));
    assert_false(decrypts(eid, t, 0));
    assert_false(decrypts(eid, t, 1));
    xmlFreeDoc(doc);
    free(xml);
    /* a key DV2 does not have */
    char err[256] = "";
    r.bsn_key = 1;
    assert_null(zr_saml_idp_artifact_response_build(fx.cfg, &r, &id, "_resolve0123", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "no BSN encryption certificate 2"));
    zr_saml_idp_request_clear(&r);
}

/* examples/artifact_response_with_legal_representation.xml */
static void test_artifact_response_representation(void **state)
{
    zr_saml_idp_request_t r = login(0);
    zr_mock_identity_t id = {.label = "Ouder", .acting_bsn = ACTING_BSN, .legal_bsn = LEGAL_BSN,
                             .representation_type = RT_GEZAG, .loa = ZR_LOA_SUBSTANTIAL};
    char *xml = build(&r, &id);
    assert_null(strstr(xml, LEGAL_BSN));
    xmlDocPtr doc = parse(xml);
    xmlNodePtr as = path(artifact_response(doc), P(SP, "Response", S, "Assertion"));
    xmlNodePtr stmt = zr_xml_child(as, S, "AttributeStatement");
    assert_children(stmt, "Attribute Attribute Attribute Attribute");
    const char *order[] = {ZR_SAML_ATTR_SERVICE_UUID, ZR_SAML_ATTR_REPR_TYPE, ZR_SAML_ATTR_ACTING, ZR_SAML_ATTR_LEGAL};
    xmlNodePtr a = zr_xml_child(stmt, S, "Attribute");
    for (size_t i = 0; i < 4; i++, a = zr_xml_next(a, S, "Attribute"))
        assert_attr(a, "Name", order[i]);
    assert_text(path(zr_xml_next(zr_xml_child(stmt, S, "Attribute"), S, "Attribute"), P(S, "AttributeValue")),
                RT_GEZAG);
    assert_int_equal(zr_xml_count_children(path(as, P(S, "AuthnStatement", S, "AuthnContext")), S,
                                           "AuthenticatingAuthority"),
                     2);
    size_t k1[] = {1};
    assert_bsn_nameid(decrypt_attribute(stmt, ZR_SAML_ATTR_ACTING, k1, 1), ACTING_BSN);
    assert_bsn_nameid(decrypt_attribute(stmt, ZR_SAML_ATTR_LEGAL, k1, 1), LEGAL_BSN);
    xmlFreeDoc(doc);
    free(xml);
    zr_saml_idp_request_clear(&r);
}

static void test_artifact_response_statuses(void **state)
{
    struct {
        zr_mock_outcome_t outcome;
        const char *top, *second, *message;
    } cases[] = {
        {ZR_MOCK_OUTCOME_CANCEL, STATUS("Responder"), STATUS("AuthnFailed"), "Authentication cancelled"},
        {ZR_MOCK_OUTCOME_AUTHN_FAILED, STATUS("Responder"), STATUS("AuthnFailed"), NULL},
        {ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT, STATUS("Responder"), STATUS("NoAuthnContext"), NULL},
        {ZR_MOCK_OUTCOME_REQUEST_DENIED, STATUS("Requester"), STATUS("RequestDenied"), NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_saml_idp_request_t r = login(0);
        zr_mock_identity_t id = {.label = "x", .outcome = cases[i].outcome};
        char *xml = build(&r, &id);
        xmlDocPtr doc = parse(xml);
        xmlNodePtr resp = zr_xml_child(artifact_response(doc), SP, "Response");
        assert_attr(resp, "InResponseTo", r.request_id);
        assert_children(resp, "Issuer Status");  /* no assertion */
        xmlNodePtr code = path(resp, P(SP, "Status", SP, "StatusCode"));
        assert_attr(code, "Value", cases[i].top);
        assert_attr(zr_xml_child(code, SP, "StatusCode"), "Value", cases[i].second);
        xmlNodePtr msg = path(resp, P(SP, "Status", SP, "StatusMessage"));
        char *text = msg ? zr_xml_text(msg) : NULL;
        if (cases[i].message)
            assert_string_equal(text, cases[i].message);
        else  /* only cancel carries the cancel phrase */
            assert_true(!text || strcmp(text, "Authentication cancelled") != 0);
        free(text);
        xmlFreeDoc(doc);
        free(xml);
        zr_saml_idp_request_clear(&r);
    }
}

/* SAML core §3.5.2: an unknown (or spent) artifact gets Success without a Response. */
static void test_artifact_response_unknown_artifact(void **state)
{
    char *xml = build(NULL, NULL);
    xmlDocPtr doc = parse(xml);
    xmlNodePtr ar = artifact_response(doc);
    assert_children(ar, "Issuer Signature Status");
    xmlFreeDoc(doc);
    free(xml);
}

/* The relay's own validator (the processing checklist) accepts what the mock
 * answers, and maps every outcome the way the login flow needs. */
static zr_saml_status_t relay_validate(zr_saml_idp_t *idp, zr_store_t *store, const zr_mock_identity_t *id,
                                       int known, zr_subject_t *subject)
{
    zr_saml_idp_request_t r = login(0);
    zr_saml_expect_t ex = {0};
    char err[256] = "";
    char *art = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);
    char *xml = build(known ? &r : NULL, known ? id : NULL);
    ex.artifact = art;
    ex.resolve_id = "_resolve0123";
    ex.authn_request_id = r.request_id;
    ex.service_uuid = FX_UUID_1;
    ex.min_loa = ZR_LOA_SUBSTANTIAL;
    ex.tenant = &fx.cfg->tenants[0];
    zr_saml_status_t st = zr_saml_response_validate(fx.cfg, idp, store, xml, strlen(xml), &ex, subject, err,
                                                    sizeof(err));
    if (st != ZR_SAML_OK)
        print_message("relay says %s: %s\n", zr_saml_status_name(st), err);
    assert_null(strstr(err, ACTING_BSN));
    free(art);
    free(xml);
    zr_saml_idp_request_clear(&r);
    return st;
}

static void test_relay_validates_mock_responses(void **state)
{
    char err[256] = "";
    size_t len = 0;
    char *md = zr_saml_idp_metadata_build(fx.cfg, &len, err, sizeof(err));
    STACK_OF(X509) *anchors = sk_X509_new_null();
    sk_X509_push(anchors, fx.ca);
    zr_tvs_config_t trusted = {.trust_anchors = anchors};
    zr_saml_idp_t *idp = zr_saml_idp_parse(md, len, &trusted, err, sizeof(err));
    assert_non_null(idp);
    zr_store_t *store = zr_store_open(&fx.cfg->redis, err, sizeof(err));
    assert_non_null(store);
    zr_subject_t s;

    zr_mock_identity_t ok = {.label = "p", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_HIGH};
    assert_int_equal(relay_validate(idp, store, &ok, 1, &s), ZR_SAML_OK);
    assert_string_equal(s.acting.value, ACTING_BSN);
    assert_string_equal(s.acting.id_type, ZR_ID_LEGACY_BSN);
    assert_int_equal(s.loa, ZR_LOA_HIGH);
    assert_false(s.has_legal);
    assert_string_equal(s.authenticating_authority, ZR_SAML_IDP_MOCK_AD);
    zr_subject_clear(&s);

    zr_mock_identity_t repr = {.label = "o", .acting_bsn = ACTING_BSN, .legal_bsn = LEGAL_BSN,
                               .representation_type = RT_GEZAG, .loa = ZR_LOA_SUBSTANTIAL};
    assert_int_equal(relay_validate(idp, store, &repr, 1, &s), ZR_SAML_OK);
    assert_true(s.has_legal);
    assert_string_equal(s.legal.value, LEGAL_BSN);
    assert_string_equal(s.representation_type, RT_GEZAG);
    zr_subject_clear(&s);

    struct {
        zr_mock_identity_t id;
        int known;
        zr_saml_status_t want;
    } cases[] = {
        {{.label = "b", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_BASIC}, 1, ZR_SAML_LOA_TOO_LOW},
        {{.label = "c", .outcome = ZR_MOCK_OUTCOME_CANCEL}, 1, ZR_SAML_CANCELLED},
        {{.label = "f", .outcome = ZR_MOCK_OUTCOME_AUTHN_FAILED}, 1, ZR_SAML_AUTHN_FAILED},
        {{.label = "n", .outcome = ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT}, 1, ZR_SAML_NO_AUTHN_CONTEXT},
        {{.label = "d", .outcome = ZR_MOCK_OUTCOME_REQUEST_DENIED}, 1, ZR_SAML_STATUS_ERROR},
        {{.label = "u"}, 0, ZR_SAML_INVALID},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_saml_status_t st = relay_validate(idp, store, &cases[i].id, cases[i].known, &s);
        if (st != cases[i].want)
            fail_msg("case %zu: %s, want %s", i, zr_saml_status_name(st), zr_saml_status_name(cases[i].want));
        zr_subject_clear(&s);
    }
    zr_store_close(store);
    zr_saml_idp_free(idp);
    sk_X509_free(anchors);
    free(md);
}

/* The relay as the LC (samlsp's validator) accepts the mock's cluster
 * answer for the care provider it asked for, with whichever BSN key TVS
 * used, and refuses it for the other care provider. */
static void test_relay_validates_cluster_response(void **state)
{
    char err[256] = "";
    size_t len = 0;
    char *md = zr_saml_idp_metadata_build(fx.cfg, &len, err, sizeof(err));
    STACK_OF(X509) *anchors = sk_X509_new_null();
    sk_X509_push(anchors, fx.ca);
    zr_tvs_config_t trusted = {.trust_anchors = anchors};
    zr_saml_idp_t *idp = zr_saml_idp_parse(md, len, &trusted, err, sizeof(err));
    assert_non_null(idp);
    zr_store_t *store = zr_store_open(&fx.cfg->redis, err, sizeof(err));
    assert_non_null(store);
    zr_mock_identity_t ok = {.label = "p", .acting_bsn = ACTING_BSN, .loa = ZR_LOA_SUBSTANTIAL};
    struct {
        size_t tenant, expect_tenant;
        int key;
        zr_saml_status_t want;
    } cases[] = {
        {0, 0, 0, ZR_SAML_OK},
        {0, 0, 1, ZR_SAML_OK},
        {1, 1, ZR_SAML_IDP_BSN_KEY_NEWEST, ZR_SAML_OK},
        {1, 0, ZR_SAML_IDP_BSN_KEY_NEWEST, ZR_SAML_INVALID}, /* Audience is DV2, the login was for DV1 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_saml_idp_request_t r = cluster_login(cases[i].tenant, cases[i].key);
        zr_saml_expect_t ex = {0};
        zr_subject_t subj;
        char *art = zr_saml_idp_artifact_new(FX_RD_ENTITY, 0);
        char *xml = build(&r, &ok);
        ex.artifact = art;
        ex.resolve_id = "_resolve0123";
        ex.authn_request_id = r.request_id;
        ex.tenant = &fx.cfg->tenants[cases[i].expect_tenant];
        ex.service_uuid = ex.tenant->services[0].service_uuid;
        ex.min_loa = ZR_LOA_SUBSTANTIAL;
        err[0] = '\0';
        zr_saml_status_t st = zr_saml_response_validate(fx.cfg, idp, store, xml, strlen(xml), &ex, &subj, err,
                                                        sizeof(err));
        if (st != cases[i].want)
            fail_msg("case %zu: relay says %s (%s), want %s", i, zr_saml_status_name(st), err,
                     zr_saml_status_name(cases[i].want));
        if (st == ZR_SAML_OK)
            assert_string_equal(subj.acting.value, ACTING_BSN);
        else
            print_message("relay says %s: %s\n", zr_saml_status_name(st), err);
        zr_subject_clear(&subj);
        assert_null(strstr(err, ACTING_BSN));
        free(art);
        free(xml);
        zr_saml_idp_request_clear(&r);
    }
    zr_store_close(store);
    zr_saml_idp_free(idp);
    sk_X509_free(anchors);
    free(md);
}

static void test_soap_fault(void **state)
{
    size_t len = 0;
    char *xml = zr_saml_idp_soap_fault(1, "bad <thing> & more", &len);
    xmlDocPtr doc = parse(xml);
    xmlNodePtr f = path(xmlDocGetRootElement(doc), P(ZR_NS_SOAP, "Body", ZR_NS_SOAP, "Fault"));
    assert_children(f, "faultcode faultstring");
    xmlNodePtr code = f->children;
    while (code->type != XML_ELEMENT_NODE)
        code = code->next;
    assert_null(code->ns);  /* SOAP 1.1 §4.4: unqualified */
    assert_text(code, "soap11:Client");
    xmlNodePtr str = code->next;
    while (str->type != XML_ELEMENT_NODE)
        str = str->next;
    assert_text(str, "bad <thing> & more");
    xmlFreeDoc(doc);
    free(xml);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_metadata_signed_and_shaped),
        cmocka_unit_test(test_authn_request_accepted),
        cmocka_unit_test(test_relay_authn_request_accepted),
        cmocka_unit_test(test_authn_request_refused),
        cmocka_unit_test_setup_teardown(test_cluster_authn_request_accepted, cluster_on, cluster_off),
        cmocka_unit_test_setup_teardown(test_relay_cluster_authn_request_accepted, cluster_on, cluster_off),
        cmocka_unit_test_setup_teardown(test_cluster_authn_request_refused, cluster_on, cluster_off),
        cmocka_unit_test(test_direct_extensions),
        cmocka_unit_test(test_artifact_new_parses),
        cmocka_unit_test(test_artifact_resolve_verify),
        cmocka_unit_test_setup_teardown(test_cluster_artifact_resolve_verify, cluster_on, cluster_off),
        cmocka_unit_test(test_artifact_response_success),
        cmocka_unit_test(test_artifact_response_single_key),
        cmocka_unit_test(test_artifact_response_representation),
        cmocka_unit_test_setup_teardown(test_cluster_artifact_response, cluster_on, cluster_off),
        cmocka_unit_test(test_artifact_response_statuses),
        cmocka_unit_test(test_artifact_response_unknown_artifact),
        cmocka_unit_test(test_relay_validates_mock_responses),
        cmocka_unit_test_setup_teardown(test_relay_validates_cluster_response, cluster_on, cluster_off),
        cmocka_unit_test(test_soap_fault),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
