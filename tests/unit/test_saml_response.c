/* Unit tests for zr_saml_response_validate (src/saml/response*.c): the
 * processing checklist of reference/tvs-saml.md and the security list of
 * the issue. Responses are built from tests/data/saml/response/ (shaped
 * like the ST-SAML example), NameIDs encrypted for the test tenant, the
 * Assertion and ArtifactResponse signed with a test "TVS" key made here; the
 * replay cache is a real redis-server (redis_fixture.h). The golden tests
 * re-sign the three official ST-SAML example responses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "test_keys.h"
#include "zr/crypto.h"
#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#define TVS_ENTITY    "urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000"
#define DV_ENTITY     "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000"
#define OTHER_DV      "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000"
#define LC_ENTITY     "urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
#define SERVICE_UUID  "7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50"
#define LOA_BASIC     "http://eID.logius.nl/LoA/basic"
#define LOA_SUBST     "http://eidas.europa.eu/LoA/substantial"
#define ACTING_BSN    "999999047"
#define LEGAL_BSN     "999999035"
#define ADVICE_BSN    "111222333"
#define RT_CHILD      "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"
#define PERSISTENT    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"

/* ---- fixture: keys, TVS, tenant, config, Redis ---- */

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    char *key_name;        /* SHA-1 hex */
    char *key_name_sha256; /* SHA-256 hex */
} test_key_t;

static struct {
    test_key_t tvs, tvs_unknown, bsn1, bsn2, bsn_other;
    zr_saml_idp_key_t idp_key;
    zr_saml_idp_t idp;
    zr_tenant_t tenant;
    zr_tenant_t tenant_b;  /* a second care provider of the same cluster (OTHER_DV) */
    zr_config_t cfg;
    zr_test_redis_t redis;
    char *acs_url;
    int store_seq;
} G;

static int make_key(test_key_t *k, const char *cn)
{
    X509_NAME *name;
    k->key = zr_test_rsa_key();
    k->cert = X509_new();
    if (!k->key || !k->cert)
        return -1;
    X509_set_version(k->cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(k->cert), (long)(zr_time_now() & 0xffffff));
    X509_gmtime_adj(X509_getm_notBefore(k->cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(k->cert), 86400);
    X509_set_pubkey(k->cert, k->key);
    name = X509_get_subject_name(k->cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(k->cert, name);
    if (!X509_sign(k->cert, k->key, EVP_sha256()))
        return -1;
    k->key_name = zr_crypto_cert_keyname(k->cert);
    k->key_name_sha256 = zr_crypto_cert_sha256_hex(k->cert);
    return k->key_name && k->key_name_sha256 ? 0 : -1;
}

static void free_key(test_key_t *k)
{
    EVP_PKEY_free(k->key);
    X509_free(k->cert);
    free(k->key_name);
    free(k->key_name_sha256);
}

static void tenant_set_keys(zr_tenant_t *t, const test_key_t *a, const test_key_t *b)
{
    memset(t->bsn_keys, 0, sizeof(t->bsn_keys));
    t->bsn_key_count = 0;
    const test_key_t *ks[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!ks[i])
            continue;
        zr_tenant_key_t *tk = &t->bsn_keys[t->bsn_key_count++];
        tk->key = ks[i]->key;
        tk->cert = ks[i]->cert;
        tk->key_name = ks[i]->key_name;
        tk->key_name_sha256 = ks[i]->key_name_sha256;
    }
}

static int group_setup(void **state)
{
    if (zr_xml_init() != 0)
        return -1;
    if (make_key(&G.tvs, "test TVS signing") || make_key(&G.tvs_unknown, "unknown signer") ||
        make_key(&G.bsn1, "DV BSN 1") || make_key(&G.bsn2, "DV BSN 2 (rollover)") ||
        make_key(&G.bsn_other, "another DV BSN"))
        return -1;
    G.idp_key.key = G.tvs.key;
    G.idp_key.cert = G.tvs.cert;
    G.idp_key.key_name = G.tvs.key_name;
    G.idp_key.key_name_sha256 = G.tvs.key_name_sha256;
    G.idp.entity_id = TVS_ENTITY;
    G.idp.keys = &G.idp_key;
    G.idp.key_count = 1;
    G.tenant.id = "zorg-test";
    G.tenant.entity_id = DV_ENTITY;
    tenant_set_keys(&G.tenant, &G.bsn1, NULL);
    G.tenant_b.id = "zorg-test-b";
    G.tenant_b.entity_id = OTHER_DV;
    tenant_set_keys(&G.tenant_b, &G.bsn_other, NULL);
    G.cfg.public_base_url = "https://relay.example.nl";
    G.cfg.tvs.clock_skew_s = 60;
    G.cfg.redis.host = "127.0.0.1";
    G.cfg.redis.timeout_ms = 300;
    zr_random_bytes(G.cfg.redis.encryption_key, sizeof(G.cfg.redis.encryption_key));
    if (zr_test_redis_start(&G.redis) != 0)
        return -1;
    G.cfg.redis.port = G.redis.port;
    G.acs_url = zr_saml_acs_url(&G.cfg);
    return G.acs_url ? 0 : -1;
}

static int group_teardown(void **state)
{
    zr_test_redis_destroy(&G.redis);
    free(G.acs_url);
    free_key(&G.tvs);
    free_key(&G.tvs_unknown);
    free_key(&G.bsn1);
    free_key(&G.bsn2);
    free_key(&G.bsn_other);
    zr_xml_shutdown();
    return 0;
}

/* ---- per test: what the relay expects, a store with its own key prefix ---- */

typedef struct {
    zr_saml_expect_t expect;
    char artifact[64], resolve_id[64], authn_request_id[64];
    zr_store_t *store;
    char prefix[32];
    zr_redis_config_t redis;
} test_t;

static void random_id(char *out, size_t len)
{
    char *id = zr_random_saml_id();
    assert_non_null(id);
    snprintf(out, len, "%s", id);
    free(id);
}

static test_t *test_begin(void)
{
    test_t *t = calloc(1, sizeof(*t));
    char err[256] = "";
    assert_non_null(t);
    char *art = zr_random_token(44);
    snprintf(t->artifact, sizeof(t->artifact), "%s", art);
    free(art);
    random_id(t->resolve_id, sizeof(t->resolve_id));
    random_id(t->authn_request_id, sizeof(t->authn_request_id));
    t->expect.artifact = t->artifact;
    t->expect.resolve_id = t->resolve_id;
    t->expect.authn_request_id = t->authn_request_id;
    t->expect.service_uuid = SERVICE_UUID;
    t->expect.min_loa = ZR_LOA_SUBSTANTIAL;
    t->expect.tenant = &G.tenant;
    /* A prefix per test keeps the replay caches of tests apart. */
    snprintf(t->prefix, sizeof(t->prefix), "zrtest%d:", ++G.store_seq);
    t->redis = G.cfg.redis;
    t->redis.prefix = t->prefix;
    t->store = zr_store_open(&t->redis, err, sizeof(err));
    assert_non_null(t->store);
    return t;
}

static void test_done(test_t *t)
{
    zr_store_close(t->store);
    free(t);
}

/* A fresh artifact for the same login (to replay a response under it). */
static void test_new_artifact(test_t *t)
{
    char *art = zr_random_token(44);
    snprintf(t->artifact, sizeof(t->artifact), "%s", art);
    free(art);
}

/* ---- building a response ---- */

typedef struct {
    xmlDocPtr doc;
    xmlNodePtr ar, resp, assertion;
} nodes_t;

typedef void (*hook_t)(nodes_t *n);

typedef struct {
    const char *template_name;      /* "template.xml" (default) or "status.xml" */
    char ar_id[64], resp_id[64], assertion_id[64], advice_id[64];
    const char *ar_in_response_to, *destination, *resp_in_response_to, *recipient,
        *scd_in_response_to, *audience, *service_uuid, *loa, *issuer, *acting_type,
        *acting_bsn, *assertion_version, *status_xml;
    long ar_issue_offset, issue_offset, scd_noa_offset, not_before_offset, noa_offset;
    int legal;                      /* add LegalSubjectID + RepresentationType */
    const char *legal_bsn;
    /* encryption of the subject NameIDs */
    int plain_subjects;             /* leave the NameIDs unencrypted */
    const char *enc_recipient;
    const test_key_t *enc_key, *enc_key2; /* enc_key2: second EncryptedKey (rollover) */
    const char *enc_recipient2;     /* Recipient for enc_key2 (default enc_recipient) */
    /* When restrictions[0] is set: the AudienceRestrictions, one per entry,
     * each a '|'-separated list of Audience values (replaces the template's). */
    const char *restrictions[3];
    /* signing */
    int no_assertion_signature;
    const test_key_t *sign_key;
    hook_t before_sign, between_sign, after_sign;
} build_t;

static void build_defaults(build_t *b, const test_t *t)
{
    memset(b, 0, sizeof(*b));
    b->template_name = "template.xml";
    random_id(b->ar_id, sizeof(b->ar_id));
    random_id(b->resp_id, sizeof(b->resp_id));
    random_id(b->assertion_id, sizeof(b->assertion_id));
    random_id(b->advice_id, sizeof(b->advice_id));
    b->ar_in_response_to = t->resolve_id;
    b->destination = G.acs_url;
    b->resp_in_response_to = t->authn_request_id;
    b->recipient = G.acs_url;
    b->scd_in_response_to = t->authn_request_id;
    b->audience = DV_ENTITY;
    b->service_uuid = SERVICE_UUID;
    b->loa = LOA_SUBST;
    b->issuer = TVS_ENTITY;
    b->acting_type = ZR_ID_LEGACY_BSN;
    b->acting_bsn = ACTING_BSN;
    b->legal_bsn = LEGAL_BSN;
    b->assertion_version = "2.0";
    b->ar_issue_offset = 0;
    b->issue_offset = -5;
    b->scd_noa_offset = 120;
    b->not_before_offset = -120;
    b->noa_offset = 120;
    b->enc_recipient = DV_ENTITY;
    b->enc_key = &G.bsn1;
    b->sign_key = &G.tvs;
}

static char *replace_all(char *s, const char *from, const char *to)
{
    zr_buf_t out;
    const char *p = s, *hit;
    zr_buf_init(&out);
    while ((hit = strstr(p, from))) {
        zr_buf_append(&out, p, (size_t)(hit - p));
        zr_buf_appends(&out, to);
        p = hit + strlen(from);
    }
    zr_buf_appends(&out, p);
    free(s);
    return zr_buf_steal(&out);
}

static char *time_at(long offset, char buf[21])
{
    zr_time_format_iso8601(zr_time_now() + offset, buf);
    return buf;
}

static char *read_data_file(const char *dir_env, const char *sub, const char *name)
{
    char path[512], *data = NULL;
    size_t len;
    const char *dir = getenv(dir_env);
    assert_non_null(dir);
    snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
    if (zr_file_read(path, 1 << 20, &data, &len) != 0)
        fail_msg("cannot read %s", path);
    return data;
}

static xmlNodePtr find_attribute(xmlNodePtr assertion, const char *name)
{
    xmlNodePtr stmt = zr_xml_child(assertion, ZR_NS_SAML, "AttributeStatement");
    for (xmlNodePtr a = stmt ? zr_xml_child(stmt, ZR_NS_SAML, "Attribute") : NULL; a;
         a = zr_xml_next(a, ZR_NS_SAML, "Attribute")) {
        char *n = zr_xml_attr(a, "Name");
        int eq = n && strcmp(n, name) == 0;
        free(n);
        if (eq)
            return a;
    }
    return NULL;
}

static void encrypt_subject(xmlDocPtr doc, xmlNodePtr assertion, const char *attr_name,
                            const build_t *b)
{
    xmlNodePtr attr = find_attribute(assertion, attr_name);
    xmlNodePtr value = attr ? zr_xml_child(attr, ZR_NS_SAML, "AttributeValue") : NULL;
    xmlNodePtr name_id = value ? zr_xml_child(value, ZR_NS_SAML, "NameID") : NULL;
    zr_xml_encrypt_recipient_t r[2];
    size_t n = 0;
    char err[256] = "";
    if (!name_id)
        return;
    r[n].recipient = b->enc_recipient;
    r[n].cert = b->enc_key->cert;
    r[n++].key_name = b->enc_key->key_name;
    if (b->enc_key2) {
        r[n].recipient = b->enc_recipient2 ? b->enc_recipient2 : b->enc_recipient;
        r[n].cert = b->enc_key2->cert;
        r[n++].key_name = b->enc_key2->key_name;
    }
    if (zr_xml_encrypt_to_encrypted_id(doc, name_id, r, n, 0, err, sizeof(err)) != 0)
        fail_msg("encrypt %s: %s", attr_name, err);
}

/* Replaces the Conditions' AudienceRestrictions by b->restrictions. */
static void set_restrictions(xmlNodePtr assertion, const build_t *b)
{
    xmlNodePtr cond = zr_xml_child(assertion, ZR_NS_SAML, "Conditions");
    xmlNodePtr r;
    assert_non_null(cond);
    xmlNsPtr ns = cond->ns;
    while ((r = zr_xml_child(cond, ZR_NS_SAML, "AudienceRestriction"))) {
        xmlUnlinkNode(r);
        xmlFreeNode(r);
    }
    for (size_t i = 0; i < 3 && b->restrictions[i]; i++) {
        char *list = strdup(b->restrictions[i]), *save = NULL;
        r = xmlNewChild(cond, ns, BAD_CAST "AudienceRestriction", NULL);
        for (char *a = strtok_r(list, "|", &save); a; a = strtok_r(NULL, "|", &save))
            xmlNewTextChild(r, ns, BAD_CAST "Audience", BAD_CAST a);
        free(list);
    }
}

static void sign_node(xmlDocPtr doc, xmlNodePtr node, const test_key_t *k, const char *key_name)
{
    char err[256] = "";
    if (zr_xml_sign(doc, node, k->key, key_name ? key_name : k->key_name, NULL, err,
                    sizeof(err)) != 0)
        fail_msg("sign: %s", err);
}

static xmlNodePtr body_child(xmlDocPtr doc)
{
    xmlNodePtr body = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SOAP, "Body");
    for (xmlNodePtr n = body ? body->children : NULL; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE)
            return n;
    return NULL;
}

static void locate(nodes_t *n)
{
    n->ar = body_child(n->doc);
    n->resp = n->ar ? zr_xml_child(n->ar, ZR_NS_SAMLP, "Response") : NULL;
    n->assertion = n->resp ? zr_xml_child(n->resp, ZR_NS_SAML, "Assertion") : NULL;
}

static char *dump_doc(xmlDocPtr doc, size_t *len)
{
    char *out = zr_xml_dump(doc, NULL, len);
    assert_non_null(out);
    return out;
}

/* Renders the template, encrypts, signs (with hooks in between), returns the SOAP text. */
static char *build(const build_t *b, size_t *len)
{
    char t1[21], t2[21], t3[21], t4[21], t5[21], err[256] = "";
    char extra[1024] = "";
    char *xml = read_data_file("ZR_TEST_DATA", "saml/response", b->template_name);
    nodes_t n;
    char *out;
    if (b->legal)
        snprintf(extra, sizeof(extra),
                 "<saml2:Attribute Name=\"" ZR_SAML_ATTR_REPR_TYPE "\">"
                 "<saml2:AttributeValue>" RT_CHILD "</saml2:AttributeValue></saml2:Attribute>"
                 "<saml2:Attribute Name=\"" ZR_SAML_ATTR_LEGAL "\"><saml2:AttributeValue>"
                 "<saml2:NameID Format=\"" PERSISTENT "\" NameQualifier=\"" ZR_ID_LEGACY_BSN
                 "\">%s</saml2:NameID></saml2:AttributeValue></saml2:Attribute>",
                 b->legal_bsn);
    xml = replace_all(xml, "{{AR_ID}}", b->ar_id);
    xml = replace_all(xml, "{{AR_IN_RESPONSE_TO}}", b->ar_in_response_to);
    xml = replace_all(xml, "{{AR_ISSUE_INSTANT}}", time_at(b->ar_issue_offset, t1));
    xml = replace_all(xml, "{{ISSUE_INSTANT}}", time_at(b->issue_offset, t2));
    xml = replace_all(xml, "{{ISSUER}}", b->issuer);
    xml = replace_all(xml, "{{DESTINATION}}", b->destination);
    xml = replace_all(xml, "{{RESPONSE_ID}}", b->resp_id);
    xml = replace_all(xml, "{{RESPONSE_IN_RESPONSE_TO}}", b->resp_in_response_to);
    xml = replace_all(xml, "{{ASSERTION_ID}}", b->assertion_id);
    xml = replace_all(xml, "{{ASSERTION_VERSION}}", b->assertion_version);
    xml = replace_all(xml, "{{ADVICE_ID}}", b->advice_id);
    xml = replace_all(xml, "{{TRANSIENT_ID}}", "6cdd6d85-a822-45cf-98f2-87792ab4c930");
    xml = replace_all(xml, "{{SCD_IN_RESPONSE_TO}}", b->scd_in_response_to);
    xml = replace_all(xml, "{{SCD_NOT_ON_OR_AFTER}}", time_at(b->scd_noa_offset, t3));
    xml = replace_all(xml, "{{RECIPIENT}}", b->recipient);
    xml = replace_all(xml, "{{NOT_BEFORE}}", time_at(b->not_before_offset, t4));
    xml = replace_all(xml, "{{NOT_ON_OR_AFTER}}", time_at(b->noa_offset, t5));
    xml = replace_all(xml, "{{AUDIENCE}}", b->audience);
    xml = replace_all(xml, "{{LOA}}", b->loa);
    xml = replace_all(xml, "{{SERVICE_UUID}}", b->service_uuid);
    xml = replace_all(xml, "{{EXTRA_ATTRIBUTES}}", extra);
    xml = replace_all(xml, "{{ACTING_TYPE}}", b->acting_type);
    xml = replace_all(xml, "{{ACTING_BSN}}", b->acting_bsn);
    xml = replace_all(xml, "{{STATUS}}", b->status_xml ? b->status_xml : "");
    n.doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    if (!n.doc)
        fail_msg("template: %s", err);
    free(xml);
    locate(&n);
    assert_non_null(n.ar);
    if (n.assertion && b->restrictions[0])
        set_restrictions(n.assertion, b);
    if (n.assertion && !b->plain_subjects) {
        encrypt_subject(n.doc, n.assertion, ZR_SAML_ATTR_ACTING, b);
        encrypt_subject(n.doc, n.assertion, ZR_SAML_ATTR_LEGAL, b);
    }
    if (b->before_sign)
        b->before_sign(&n);
    if (n.assertion && !b->no_assertion_signature)
        sign_node(n.doc, n.assertion, b->sign_key, NULL);
    if (b->between_sign)
        b->between_sign(&n);
    sign_node(n.doc, n.ar, b->sign_key, NULL);
    if (b->after_sign)
        b->after_sign(&n);
    out = dump_doc(n.doc, len);
    xmlFreeDoc(n.doc);
    return out;
}

/* ---- running and checking ---- */

static zr_saml_status_t validate(test_t *t, const char *soap, size_t len, zr_subject_t *s,
                                 char *err, size_t errlen)
{
    /* Garbage in the subject: the validator must overwrite it (it is output only). */
    memset(s, 0xa5, sizeof(*s));
    return zr_saml_response_validate(&G.cfg, &G.idp, t->store, soap, len, &t->expect, s, err,
                                     errlen);
}

static zr_saml_status_t build_and_validate(test_t *t, const build_t *b, zr_subject_t *s,
                                           char *err, size_t errlen)
{
    size_t len;
    char *soap = build(b, &len);
    zr_saml_status_t st = validate(t, soap, len, s, err, errlen);
    free(soap);
    return st;
}

static void assert_subject_empty(const zr_subject_t *s)
{
    zr_subject_t zero;
    memset(&zero, 0, sizeof(zero));
    assert_memory_equal(s, &zero, sizeof(zero));
}

/* The refusal is the expected status, err names the check, no BSN leaks into
 * err and nothing of a subject is left behind. */
#define assert_refused(st, want, err, substr, s)                                              \
    do {                                                                                     \
        if ((st) != (want) || !strstr((err), (substr)))                                      \
            fail_msg("got %d \"%s\", want %d with \"%s\"", (int)(st), (err), (int)(want),     \
                     (substr));                                                              \
        assert_null(strstr((err), ACTING_BSN));                                              \
        assert_null(strstr((err), LEGAL_BSN));                                               \
        assert_null(strstr((err), "CipherValue"));                                           \
        assert_subject_empty(s);                                                             \
    } while (0)

#define assert_ok(st, err)                                                                    \
    do {                                                                                     \
        if ((st) != ZR_SAML_OK)                                                              \
            fail_msg("validation failed: %d \"%s\"", (int)(st), (err));                      \
    } while (0)

/* Builds with b, validates under a fresh login, and checks the refusal. */
static void refuse(test_t *t, const build_t *b, zr_saml_status_t want, const char *substr)
{
    zr_subject_t s;
    char err[512] = "";
    zr_saml_status_t st = build_and_validate(t, b, &s, err, sizeof(err));
    assert_refused(st, want, err, substr, &s);
}

/* ---- valid logins ---- */

static void test_valid_plain_login(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "";
    build_defaults(&b, t);
    b.loa = "  http://eidas.europa.eu/LoA/high  ";
    zr_saml_status_t st = build_and_validate(t, &b, &s, err, sizeof(err));
    assert_ok(st, err);
    assert_string_equal(s.acting.value, ACTING_BSN);
    assert_string_equal(s.acting.id_type, ZR_ID_LEGACY_BSN);
    assert_int_equal(s.has_legal, 0);
    assert_null(s.legal.value);
    assert_null(s.representation_type);
    assert_int_equal(s.loa, ZR_LOA_HIGH); /* higher than the minimum is fine */
    assert_string_equal(s.session_index, "6cdd6d85-a822-45cf-98f2-87792ab4c930");
    assert_string_equal(s.name_id, "6cdd6d85-a822-45cf-98f2-87792ab4c930");
    assert_string_equal(s.authenticating_authority,
                        "urn:nl-eid-gdi:1.0:AD:00000009999999999777:entities:9000");
    assert_string_equal(s.tenant_id, "zorg-test");
    assert_true(s.auth_time > zr_time_now() - 30 && s.auth_time <= zr_time_now());
    zr_subject_clear(&s);
    test_done(t);
}

static void test_valid_representation(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "";
    build_defaults(&b, t);
    b.legal = 1;
    zr_saml_status_t st = build_and_validate(t, &b, &s, err, sizeof(err));
    assert_ok(st, err);
    assert_string_equal(s.acting.value, ACTING_BSN);
    assert_int_equal(s.has_legal, 1);
    assert_string_equal(s.legal.value, LEGAL_BSN);
    assert_string_equal(s.legal.id_type, ZR_ID_LEGACY_BSN);
    assert_string_equal(s.representation_type, RT_CHILD);
    assert_int_equal(s.loa, ZR_LOA_SUBSTANTIAL);
    zr_subject_clear(&s);
    test_done(t);
}

/* Key rollover: the tenant holds the old and the new key; TVS may wrap the
 * data key for either or for both. */
static void test_valid_rollover(void **state)
{
    const test_key_t *cases[3][2] = {{&G.bsn1, NULL}, {&G.bsn2, NULL}, {&G.bsn2, &G.bsn1}};
    tenant_set_keys(&G.tenant, &G.bsn1, &G.bsn2);
    for (int i = 0; i < 3; i++) {
        test_t *t = test_begin();
        build_t b;
        zr_subject_t s;
        char err[512] = "";
        build_defaults(&b, t);
        b.enc_key = cases[i][0];
        b.enc_key2 = cases[i][1];
        zr_saml_status_t st = build_and_validate(t, &b, &s, err, sizeof(err));
        assert_ok(st, err);
        assert_string_equal(s.acting.value, ACTING_BSN);
        zr_subject_clear(&s);
        test_done(t);
    }
    /* ...and with only the old key configured, the new one is not ours. */
    tenant_set_keys(&G.tenant, &G.bsn1, NULL);
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.enc_key = &G.bsn2;
    refuse(t, &b, ZR_SAML_BSN_INVALID, "ActingSubjectID: decryption failed");
    test_done(t);
}

/* ---- statuses ---- */

#define ST_RESPONDER "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Responder\">"
#define ST_SUB(code) "<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:" code "\"/>"
#define ST_END "</saml2p:StatusCode>"
#define ST_MSG(m) "<saml2p:StatusMessage>" m "</saml2p:StatusMessage>"

static void status_case(const char *status_xml, zr_saml_status_t want, const char *substr)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.template_name = "status.xml";
    b.status_xml = status_xml;
    refuse(t, &b, want, substr);
    test_done(t);
}

static void test_status_cancel(void **state)
{
    status_case(ST_RESPONDER ST_SUB("AuthnFailed") ST_END ST_MSG("Authentication cancelled"),
                ZR_SAML_CANCELLED, "AuthnFailed");
}

static void test_status_authn_failed(void **state)
{
    status_case(ST_RESPONDER ST_SUB("AuthnFailed") ST_END ST_MSG("Wrong password 123456789"),
                ZR_SAML_AUTHN_FAILED, "status:AuthnFailed: \"Wrong password #########\"");
}

static void test_status_no_authn_context(void **state)
{
    status_case(ST_RESPONDER ST_SUB("NoAuthnContext") ST_END, ZR_SAML_NO_AUTHN_CONTEXT,
                "status:NoAuthnContext");
}

static void test_status_request_denied(void **state)
{
    status_case("<saml2p:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Requester\">"
                ST_SUB("RequestDenied") ST_END ST_MSG("Signature invalid"),
                ZR_SAML_STATUS_ERROR,
                "urn:oasis:names:tc:SAML:2.0:status:Requester / "
                "urn:oasis:names:tc:SAML:2.0:status:RequestDenied");
}

static void set_ar_status_denied(nodes_t *n)
{
    xmlNodePtr status = zr_xml_child(n->ar, ZR_NS_SAMLP, "Status");
    xmlNodePtr code = zr_xml_child(status, ZR_NS_SAMLP, "StatusCode");
    xmlSetProp(code, BAD_CAST "Value", BAD_CAST "urn:oasis:names:tc:SAML:2.0:status:Requester");
    xmlNodePtr sub = xmlNewChild(code, code->ns, BAD_CAST "StatusCode", NULL);
    xmlSetProp(sub, BAD_CAST "Value", BAD_CAST "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported");
    xmlUnlinkNode(n->resp);
    xmlFreeNode(n->resp);
    n->resp = n->assertion = NULL;
}

/* Non-success on the ArtifactResponse itself (no Response inside). */
static void test_status_on_artifact_response(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.before_sign = set_ar_status_denied;
    refuse(t, &b, ZR_SAML_STATUS_ERROR, "ArtifactResponse: TVS status");
    test_done(t);
}

/* A cancel meant for another login is not a cancel of ours. */
static void test_status_for_other_request(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.template_name = "status.xml";
    b.status_xml = ST_RESPONDER ST_SUB("AuthnFailed") ST_END ST_MSG("Authentication cancelled");
    b.resp_in_response_to = "_someone_elses_request";
    refuse(t, &b, ZR_SAML_INVALID, "Response: InResponseTo");
    test_done(t);
}

static void drop_response(nodes_t *n)
{
    xmlUnlinkNode(n->resp);
    xmlFreeNode(n->resp);
    n->resp = n->assertion = NULL;
}

static void test_success_without_response(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.before_sign = drop_response;
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse has no Response");
    test_done(t);
}

/* A second (assertion-less, so no duplicate IDs) Response after the first. */
static void add_second_response(nodes_t *n)
{
    xmlNodePtr copy = xmlCopyNode(n->resp, 1);
    xmlNodePtr a = zr_xml_child(copy, ZR_NS_SAML, "Assertion");
    char id[64];
    random_id(id, sizeof(id));
    xmlSetProp(copy, BAD_CAST "ID", BAD_CAST id);
    xmlUnlinkNode(a);
    xmlFreeNode(a);
    xmlAddNextSibling(n->resp, copy);
}

static void test_two_responses(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = add_second_response;
    refuse(t, &b, ZR_SAML_INVALID, "more than one Response");
    test_done(t);
}

/* ---- signatures and wrapping ---- */

static void tamper_destination(nodes_t *n)
{
    xmlSetProp(n->resp, BAD_CAST "IssueInstant", BAD_CAST "2030-01-01T00:00:00Z");
}

static void test_tampered_artifact_response(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.after_sign = tamper_destination;
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse signature");
    test_done(t);
}

static xmlNodePtr authn_class_ref(xmlNodePtr assertion)
{
    xmlNodePtr st = zr_xml_child(assertion, ZR_NS_SAML, "AuthnStatement");
    xmlNodePtr ctx = zr_xml_child(st, ZR_NS_SAML, "AuthnContext");
    return zr_xml_child(ctx, ZR_NS_SAML, "AuthnContextClassRef");
}

/* After TVS signed the assertion, raise the LoA (then "TVS" signs the outer
 * message again, so only the assertion signature can catch it). */
static void tamper_assertion(nodes_t *n)
{
    xmlNodeSetContent(authn_class_ref(n->assertion), BAD_CAST "http://eidas.europa.eu/LoA/high");
}

static void test_tampered_assertion(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = tamper_assertion;
    refuse(t, &b, ZR_SAML_INVALID, "Assertion signature");
    test_done(t);
}

static void remove_signature(xmlNodePtr node)
{
    xmlNodePtr sig = zr_xml_child(node, ZR_NS_DS, "Signature");
    if (sig) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
}

static xmlNodePtr advice_of(xmlNodePtr assertion)
{
    return zr_xml_child(assertion, ZR_NS_SAML, "Advice");
}

/* The attacker's copy: same content, but an empty Advice and the
 * ActingSubjectID replaced by another (validly encrypted) BSN. It is
 * returned unlinked. */
static xmlNodePtr evil_copy(nodes_t *n)
{
    xmlNodePtr evil = xmlCopyNode(n->assertion, 1);
    xmlNodePtr advice = zr_xml_child(evil, ZR_NS_SAML, "Advice"), c;
    zr_xml_encrypt_recipient_t r = {DV_ENTITY, G.bsn1.cert, G.bsn1.key_name};
    char err[256] = "";
    while ((c = advice->children)) {
        xmlUnlinkNode(c);
        xmlFreeNode(c);
    }
    /* In the document while encrypting (xmlsec works on attached nodes). */
    xmlAddNextSibling(n->assertion, evil);
    xmlNodePtr attr = find_attribute(evil, ZR_SAML_ATTR_ACTING);
    xmlNodePtr value = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue");
    xmlNodePtr old = zr_xml_child(value, ZR_NS_SAML, "EncryptedID");
    xmlNodePtr nid = xmlNewDocNode(n->doc, xmlSearchNsByHref(n->doc, value, BAD_CAST ZR_NS_SAML),
                                   BAD_CAST "NameID", BAD_CAST ADVICE_BSN);
    xmlSetProp(nid, BAD_CAST "Format", BAD_CAST PERSISTENT);
    xmlSetProp(nid, BAD_CAST "NameQualifier", BAD_CAST ZR_ID_LEGACY_BSN);
    xmlReplaceNode(old, nid);
    xmlFreeNode(old);
    if (zr_xml_encrypt_to_encrypted_id(n->doc, nid, &r, 1, 0, err, sizeof(err)) != 0)
        fail_msg("evil encrypt: %s", err);
    xmlUnlinkNode(evil);
    return evil;
}

/* XSW: the signed assertion is moved into the Advice of an unsigned evil
 * assertion (new ID) that takes its place where identity is read. */
static void wrap_into_advice_unsigned(nodes_t *n)
{
    xmlNodePtr evil = evil_copy(n);
    char id[64];
    random_id(id, sizeof(id));
    xmlSetProp(evil, BAD_CAST "ID", BAD_CAST id);
    remove_signature(evil);
    xmlReplaceNode(n->assertion, evil);
    xmlAddChild(advice_of(evil), n->assertion);
    n->assertion = evil;
}

static void test_wrapping_signed_into_advice(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = wrap_into_advice_unsigned;
    refuse(t, &b, ZR_SAML_INVALID, "Assertion signature");
    test_done(t);
}

/* The classic: the evil assertion carries the same ID and a copy of the
 * original Signature; the original hides in its Advice. */
static void wrap_same_id_in_advice(nodes_t *n)
{
    xmlNodePtr evil = evil_copy(n);
    xmlReplaceNode(n->assertion, evil);
    xmlAddChild(advice_of(evil), n->assertion);
    n->assertion = evil;
}

static void test_wrapping_same_id_twice(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = wrap_same_id_in_advice;
    refuse(t, &b, ZR_SAML_INVALID, "an XML ID appears more than once");
    test_done(t);
}

/* Same, with the original parked in an (unsigned) SOAP Header. */
static void wrap_same_id_in_header(nodes_t *n)
{
    xmlNodePtr env = xmlDocGetRootElement(n->doc);
    xmlNodePtr header = xmlNewDocNode(n->doc, env->ns, BAD_CAST "Header", NULL);
    xmlNodePtr evil = evil_copy(n);
    xmlAddPrevSibling(zr_xml_child(env, ZR_NS_SOAP, "Body"), header);
    xmlReplaceNode(n->assertion, evil);
    xmlAddChild(header, n->assertion);
    n->assertion = evil;
}

static void test_wrapping_same_id_in_soap_header(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = wrap_same_id_in_header;
    refuse(t, &b, ZR_SAML_INVALID, "an XML ID appears more than once");
    test_done(t);
}

/* The only TVS assertion sits in an Advice directly under the Response. */
static void assertion_only_in_advice(nodes_t *n)
{
    xmlNodePtr advice = xmlNewDocNode(n->doc, NULL, BAD_CAST "Advice", NULL);
    xmlSetNs(advice, xmlNewNs(advice, BAD_CAST ZR_NS_SAML, BAD_CAST "saml2"));
    xmlReplaceNode(n->assertion, advice);
    xmlAddChild(advice, n->assertion);
}

static void test_assertion_only_in_advice(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = assertion_only_in_advice;
    refuse(t, &b, ZR_SAML_INVALID, "Response: no assertion");
    test_done(t);
}

/* Two properly signed assertions: the second with the attacker's BSN. */
static void second_signed_assertion(nodes_t *n)
{
    xmlNodePtr evil = evil_copy(n);
    char id[64];
    random_id(id, sizeof(id));
    xmlSetProp(evil, BAD_CAST "ID", BAD_CAST id);
    remove_signature(evil);
    xmlAddNextSibling(n->assertion, evil);
    sign_node(n->doc, evil, &G.tvs, NULL);
}

static void test_two_assertions(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = second_signed_assertion;
    refuse(t, &b, ZR_SAML_INVALID, "more than one assertion");
    test_done(t);
}

static void test_unsigned_assertion(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.no_assertion_signature = 1;
    refuse(t, &b, ZR_SAML_INVALID, "Assertion signature");
    test_done(t);
}

static void test_unknown_signing_key(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.sign_key = &G.tvs_unknown;
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse signature");
    test_done(t);
}

/* Outer message by TVS, assertion by someone else. */
static void resign_assertion_unknown(nodes_t *n)
{
    remove_signature(n->assertion);
    sign_node(n->doc, n->assertion, &G.tvs_unknown, NULL);
}

static void test_assertion_signed_by_unknown_key(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.between_sign = resign_assertion_unknown;
    refuse(t, &b, ZR_SAML_INVALID, "Assertion signature");
    test_done(t);
}

/* ---- addressing and time ---- */

static void test_wrong_artifact_response_in_response_to(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.ar_in_response_to = "_not_our_artifact_resolve";
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse: InResponseTo");
    test_done(t);
}

static void test_wrong_issuer(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.issuer = "urn:nl-eid-gdi:1.0:RD:00000009999999999666:entities:9000";
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse: Issuer is not the TVS entityID");
    test_done(t);
}

static void test_wrong_destination(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.destination = "https://evil.example.nl/saml/acs";
    refuse(t, &b, ZR_SAML_INVALID, "Response: Destination");
    test_done(t);
}

static void test_wrong_response_in_response_to(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.resp_in_response_to = "_another_authn_request";
    refuse(t, &b, ZR_SAML_INVALID, "Response: InResponseTo");
    test_done(t);
}

static void test_wrong_audience(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.audience = OTHER_DV;
    refuse(t, &b, ZR_SAML_INVALID, "Audience does not name the care provider (our entityID)");
    test_done(t);
}

static void test_wrong_recipient(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.recipient = "https://evil.example.nl/saml/acs";
    refuse(t, &b, ZR_SAML_INVALID, "SubjectConfirmationData: Recipient");
    test_done(t);
}

static void test_wrong_subject_confirmation_in_response_to(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.scd_in_response_to = "_another_authn_request";
    refuse(t, &b, ZR_SAML_INVALID, "SubjectConfirmationData: InResponseTo");
    test_done(t);
}

static void test_expired_subject_confirmation(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.scd_noa_offset = -61; /* beyond the 60 s skew */
    refuse(t, &b, ZR_SAML_INVALID, "SubjectConfirmationData: expired");
    test_done(t);
    /* within the skew it still passes */
    t = test_begin();
    build_defaults(&b, t);
    b.scd_noa_offset = -50;
    zr_subject_t s;
    char err[512] = "";
    zr_saml_status_t st = build_and_validate(t, &b, &s, err, sizeof(err));
    assert_ok(st, err);
    zr_subject_clear(&s);
    test_done(t);
}

static void test_expired_conditions(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.noa_offset = -61;
    refuse(t, &b, ZR_SAML_INVALID, "Conditions: expired");
    test_done(t);
}

static void test_not_yet_valid(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.not_before_offset = 300;
    refuse(t, &b, ZR_SAML_INVALID, "Conditions: not yet valid");
    test_done(t);
}

static void test_stale_artifact_response(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.ar_issue_offset = -600;
    refuse(t, &b, ZR_SAML_INVALID, "ArtifactResponse: IssueInstant is too old");
    test_done(t);
}

/* ---- content ---- */

static void test_service_uuid_mismatch(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.service_uuid = "0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
    refuse(t, &b, ZR_SAML_INVALID, "ServiceUUID is not the one requested");
    test_done(t);
}

static void test_loa_too_low(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.loa = LOA_BASIC;
    refuse(t, &b, ZR_SAML_LOA_TOO_LOW, "below the service minimum");
    test_done(t);
}

static void test_version_and_id(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.assertion_version = "1.1";
    refuse(t, &b, ZR_SAML_INVALID, "Assertion: Version is not 2.0");
    test_done(t);
}

static void test_plain_name_id_refused(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.plain_subjects = 1;
    refuse(t, &b, ZR_SAML_INVALID, "ActingSubjectID: plain NameID refused");
    test_done(t);
}

static void drop_acting(nodes_t *n)
{
    xmlNodePtr acting = find_attribute(n->assertion, ZR_SAML_ATTR_ACTING);
    xmlUnlinkNode(acting);
    xmlFreeNode(acting);
}

static void test_legal_without_acting(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.legal = 1;
    b.before_sign = drop_acting;
    refuse(t, &b, ZR_SAML_INVALID, "LegalSubjectID without ActingSubjectID");
    test_done(t);
}

/* ---- replay ---- */

static void test_replayed_artifact(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "";
    build_defaults(&b, t);
    assert_ok(build_and_validate(t, &b, &s, err, sizeof(err)), err);
    zr_subject_clear(&s);
    build_defaults(&b, t); /* a brand-new response, same artifact */
    refuse(t, &b, ZR_SAML_REPLAY, "artifact");
    test_done(t);
}

static void test_replayed_response_id(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "";
    size_t len;
    build_defaults(&b, t);
    char *soap = build(&b, &len);
    assert_ok(validate(t, soap, len, &s, err, sizeof(err)), err);
    zr_subject_clear(&s);
    test_new_artifact(t);
    zr_saml_status_t st = validate(t, soap, len, &s, err, sizeof(err));
    assert_refused(st, ZR_SAML_REPLAY, err, "Response ID", &s);
    free(soap);
    test_done(t);
}

static void test_replayed_assertion_id(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "", assertion_id[64];
    build_defaults(&b, t);
    assert_ok(build_and_validate(t, &b, &s, err, sizeof(err)), err);
    zr_subject_clear(&s);
    memcpy(assertion_id, b.assertion_id, sizeof(assertion_id));
    test_new_artifact(t);
    build_defaults(&b, t); /* new ArtifactResponse and Response IDs ... */
    memcpy(b.assertion_id, assertion_id, sizeof(assertion_id)); /* ... old assertion */
    refuse(t, &b, ZR_SAML_REPLAY, "Assertion ID");
    test_done(t);
}

/* ---- BSN decryption ---- */

static void test_encrypted_for_other_recipient(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.enc_recipient = OTHER_DV; /* our certificate even: still not ours to try */
    refuse(t, &b, ZR_SAML_INVALID, "ActingSubjectID: no EncryptedID for this care provider");
    test_done(t);
}

static void test_unknown_decryption_key_name(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.enc_key = &G.bsn_other;
    refuse(t, &b, ZR_SAML_BSN_INVALID, "ActingSubjectID: decryption failed");
    test_done(t);
}

static xmlNodePtr acting_cipher_value(xmlNodePtr assertion, const char *parent)
{
    xmlNodePtr attr = find_attribute(assertion, ZR_SAML_ATTR_ACTING);
    xmlNodePtr enc = zr_xml_child(zr_xml_child(attr, ZR_NS_SAML, "AttributeValue"), ZR_NS_SAML,
                                  "EncryptedID");
    xmlNodePtr p = zr_xml_child(enc, ZR_NS_XENC, parent);
    return zr_xml_child(zr_xml_child(p, ZR_NS_XENC, "CipherData"), ZR_NS_XENC, "CipherValue");
}

static void flip_first_char(xmlNodePtr cv)
{
    assert_non_null(cv);
    char *v = zr_xml_text(cv);
    v[0] = v[0] == 'A' ? 'B' : 'A';
    xmlNodeSetContent(cv, BAD_CAST v);
    free(v);
}

/* First bytes of EncryptedData = the CBC IV: the decrypted NameID starts
 * with a garbled byte instead of '<'. */
static void corrupt_data_cipher(nodes_t *n)
{
    flip_first_char(acting_cipher_value(n->assertion, "EncryptedData"));
}

static void corrupt_key_cipher(nodes_t *n)
{
    flip_first_char(acting_cipher_value(n->assertion, "EncryptedKey"));
}

static void test_corrupted_cipher_value(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.before_sign = corrupt_data_cipher;
    refuse(t, &b, ZR_SAML_BSN_INVALID, "ActingSubjectID: ");
    test_done(t);
    t = test_begin();
    build_defaults(&b, t);
    b.before_sign = corrupt_key_cipher;
    refuse(t, &b, ZR_SAML_BSN_INVALID, "ActingSubjectID: decryption failed");
    test_done(t);
}

static void test_bsn_fails_11_proof(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.acting_bsn = "123456789";
    refuse(t, &b, ZR_SAML_BSN_INVALID, "11-proof");
    test_done(t);
    t = test_begin();
    build_defaults(&b, t);
    b.acting_bsn = "99999904"; /* 8 digits */
    refuse(t, &b, ZR_SAML_BSN_INVALID, "11-proof");
    test_done(t);
}

static void test_polymorphic_refused(void **state)
{
    const char *types[] = {"urn:nl-eid-gdi:1.0:id:BSN", "urn:nl-eid-gdi:1.0:id:Pseudonym"};
    for (int i = 0; i < 2; i++) {
        test_t *t = test_begin();
        build_t b;
        build_defaults(&b, t);
        b.acting_type = types[i];
        b.acting_bsn = "AAAAAAAAAAAAAAAAAAAA"; /* stands in for a BSNk value */
        refuse(t, &b, ZR_SAML_BSN_INVALID,
               "polymorphic identifier (BSNk) not supported for this care provider");
        test_done(t);
    }
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    b.acting_type = "urn:nl-eid-gdi:1.0:id:KvKnr";
    refuse(t, &b, ZR_SAML_BSN_INVALID, "unsupported identifier type");
    test_done(t);
}

/* ---- hostile input and infrastructure ---- */

static void test_doctype_refused(void **state)
{
    test_t *t = test_begin();
    build_t b;
    zr_subject_t s;
    char err[512] = "";
    size_t len;
    build_defaults(&b, t);
    char *soap = build(&b, &len);
    char *body = strstr(soap, "<soap11:Envelope");
    assert_non_null(body);
    zr_buf_t evil;
    zr_buf_init(&evil);
    zr_buf_appends(&evil, "<?xml version=\"1.0\"?>\n<!DOCTYPE soap11:Envelope [\n"
                          "  <!ENTITY bsn \"" ADVICE_BSN "\">\n]>\n");
    zr_buf_appends(&evil, body);
    zr_saml_status_t st = validate(t, evil.data, evil.len, &s, err, sizeof(err));
    assert_refused(st, ZR_SAML_INVALID, err, "SOAP: ", &s);
    zr_buf_free(&evil);
    free(soap);
    test_done(t);
}

static void test_redis_down(void **state)
{
    test_t *t = test_begin();
    build_t b;
    build_defaults(&b, t);
    zr_test_redis_stop(&G.redis);
    refuse(t, &b, ZR_SAML_UNAVAILABLE, "replay cache unavailable");
    assert_int_equal(zr_test_redis_start(&G.redis), 0);
    test_done(t);
}

/* ---- golden: the official ST-SAML example responses ---- */

#define EXAMPLE_TVS     "urn:nl-eid-gdi:1.0:TD:00000004183317817000:entities:9000"
#define EXAMPLE_DV      "urn:nl-eid-gdi:1.0:DV:00000009999999999004:entities:0000"
#define EXAMPLE_UUID    "375b1cb114b7-12e9-3534-16cc-4d8997b0"
#define EXAMPLE_KEYNAME "356b4241808341cc9ff6295a43b01d00daab27406ddcd3f708a0a3761a057abb"

typedef struct {
    const char *file;
    const char *acting_bsn, *legal_bsn; /* what we encrypt into the EncryptedIDs */
    const char *resolve_id, *authn_request_id, *session_index, *rt;
    const char *authn_instant;
} golden_t;

/* Replaces the example's EncryptedID (placeholder ciphertext) under attribute
 * name by a real one for the test tenant key, keeping its Recipient. */
static void golden_encrypt(xmlDocPtr doc, xmlNodePtr assertion, const char *name, const char *bsn)
{
    xmlNodePtr attr = find_attribute(assertion, name);
    xmlNodePtr value = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue");
    xmlNodePtr old = zr_xml_child(value, ZR_NS_SAML, "EncryptedID");
    xmlNodePtr ek = zr_xml_child(old, ZR_NS_XENC, "EncryptedKey");
    char *recipient = zr_xml_attr(ek, "Recipient");
    xmlNodePtr nid = xmlNewDocNode(doc, xmlSearchNsByHref(doc, value, BAD_CAST ZR_NS_SAML),
                                   BAD_CAST "NameID", BAD_CAST bsn);
    char err[256] = "";
    assert_non_null(recipient);
    assert_string_equal(recipient, EXAMPLE_DV);
    zr_xml_encrypt_recipient_t r = {recipient, G.bsn1.cert, G.bsn1.key_name};
    xmlSetProp(nid, BAD_CAST "Format", BAD_CAST PERSISTENT);
    xmlSetProp(nid, BAD_CAST "NameQualifier", BAD_CAST ZR_ID_LEGACY_BSN);
    xmlReplaceNode(old, nid);
    xmlFreeNode(old);
    if (zr_xml_encrypt_to_encrypted_id(doc, nid, &r, 1, 0, err, sizeof(err)) != 0)
        fail_msg("golden encrypt: %s", err);
    free(recipient);
}

static void golden_run(const golden_t *g)
{
    char *xml = read_data_file("ZR_SHARED", "specs/st-saml/examples", g->file);
    char err[512] = "", offset[32];
    nodes_t n;
    zr_subject_t s;
    zr_tenant_t tenant = G.tenant;
    zr_saml_idp_key_t idp_key = G.idp_key;
    zr_saml_idp_t idp = G.idp;
    size_t len;
    time_t when;
    test_t *t = test_begin();

    n.doc = zr_xml_parse(xml, strlen(xml), 0, err, sizeof(err));
    if (!n.doc)
        fail_msg("%s: %s", g->file, err);
    free(xml);
    locate(&n);
    assert_non_null(n.assertion);
    /* The examples' "..." signatures go; the same two elements are signed for real. */
    remove_signature(n.ar);
    remove_signature(n.assertion);
    golden_encrypt(n.doc, n.assertion, ZR_SAML_ATTR_ACTING, g->acting_bsn);
    if (g->legal_bsn)
        golden_encrypt(n.doc, n.assertion, ZR_SAML_ATTR_LEGAL, g->legal_bsn);
    /* Deviations from the examples, each because the example cannot hold:
     * - our ACS URL is public_base_url + "/saml/acs", the examples say
     *   "http://sp.example.com" (or "sp.example.com"): Destination and
     *   Recipient are set to ours;
     * - artifact_response_with_legal_representation.xml dates its
     *   ArtifactResponse 2025-05-05 but everything inside 2021-10-06: the
     *   ArtifactResponse IssueInstant is set to the Response's. */
    xmlSetProp(n.resp, BAD_CAST "Destination", BAD_CAST G.acs_url);
    xmlNodePtr scd = zr_xml_child(
        zr_xml_child(zr_xml_child(n.assertion, ZR_NS_SAML, "Subject"), ZR_NS_SAML,
                     "SubjectConfirmation"),
        ZR_NS_SAML, "SubjectConfirmationData");
    xmlSetProp(scd, BAD_CAST "Recipient", BAD_CAST G.acs_url);
    char *resp_instant = zr_xml_attr(n.resp, "IssueInstant");
    xmlSetProp(n.ar, BAD_CAST "IssueInstant", BAD_CAST resp_instant);
    assert_int_equal(zr_time_parse_iso8601(resp_instant, &when), 0);
    free(resp_instant);
    /* TVS's KeyName in the examples is the SHA-256 form: our test key answers to it. */
    sign_node(n.doc, n.assertion, &G.tvs, EXAMPLE_KEYNAME);
    sign_node(n.doc, n.ar, &G.tvs, EXAMPLE_KEYNAME);
    char *soap = dump_doc(n.doc, &len);
    xmlFreeDoc(n.doc);

    tenant.entity_id = EXAMPLE_DV;
    idp_key.key_name_sha256 = EXAMPLE_KEYNAME;
    idp.entity_id = EXAMPLE_TVS;
    idp.keys = &idp_key;
    t->expect.tenant = &tenant;
    t->expect.resolve_id = g->resolve_id;
    t->expect.authn_request_id = g->authn_request_id;
    t->expect.service_uuid = EXAMPLE_UUID;
    t->expect.min_loa = ZR_LOA_BASIC;
    /* The example's clock: one second after its Response was issued. */
    snprintf(offset, sizeof(offset), "%ld", (long)(when + 1 - time(NULL)));
    setenv("ZR_TEST_TIME_OFFSET", offset, 1);
    memset(&s, 0, sizeof(s));
    zr_saml_status_t st = zr_saml_response_validate(&G.cfg, &idp, t->store, soap, len,
                                                    &t->expect, &s, err, sizeof(err));
    unsetenv("ZR_TEST_TIME_OFFSET");
    if (st != ZR_SAML_OK)
        fail_msg("%s: %d \"%s\"", g->file, (int)st, err);
    assert_string_equal(s.acting.value, g->acting_bsn);
    assert_int_equal(s.has_legal, g->legal_bsn != NULL);
    if (g->legal_bsn)
        assert_string_equal(s.legal.value, g->legal_bsn);
    if (g->rt)
        assert_string_equal(s.representation_type, g->rt);
    else
        assert_null(s.representation_type); /* the BVD example has it only in Advice */
    assert_int_equal(s.loa, ZR_LOA_BASIC);
    assert_string_equal(s.session_index, g->session_index);
    assert_string_equal(s.name_id, g->session_index);
    assert_string_equal(s.authenticating_authority,
                        "urn:nl-eid-gdi:1.0:AD:0000000273813120000:entities:0000");
    assert_int_equal(zr_time_parse_iso8601(g->authn_instant, &when), 0);
    assert_int_equal(s.auth_time, when);
    zr_subject_clear(&s);
    /* And the example is one-time: the same message under a new artifact is a replay. */
    test_new_artifact(t);
    setenv("ZR_TEST_TIME_OFFSET", offset, 1);
    st = zr_saml_response_validate(&G.cfg, &idp, t->store, soap, len, &t->expect, &s, err,
                                   sizeof(err));
    unsetenv("ZR_TEST_TIME_OFFSET");
    assert_refused(st, ZR_SAML_REPLAY, err, "Response ID", &s);
    free(soap);
    test_done(t);
}

static void test_golden_artifact_response(void **state)
{
    golden_t g = {"artifact_response.xml", ACTING_BSN, NULL,
                  "_8ecc43a04fc541f850fb66eb7259232b2d55627a",
                  "_e1234e91b14755343ff8c69c046cc4abfd37c116",
                  "6cdd6d85-a822-45cf-98f2-87792ab4c930", NULL, "2021-10-06T08:09:50.236Z"};
    golden_run(&g);
}

static void test_golden_legal_representation(void **state)
{
    golden_t g = {"artifact_response_with_legal_representation.xml", ACTING_BSN, LEGAL_BSN,
                  "_1ea090efda5655760b6a0c9dfa8884b66d475222",
                  "_a658d2c5c7426b11dfbdb1e30d4b0cbdf6586c9b",
                  "45e376c5-78a7-4cdc-a27d-a7dd5056e786", RT_CHILD, "2021-10-06T08:10:51.018Z"};
    golden_run(&g);
}

static void test_golden_bvd(void **state)
{
    golden_t g = {"artifact_response_with_bvd.xml", ACTING_BSN, LEGAL_BSN,
                  "_1ea090efda5655760b6a0c9dfa8884b66d475222",
                  "_a658d2c5c7426b11dfbdb1e30d4b0cbdf6586c9b",
                  "45e376c5-78a7-4cdc-a27d-a7dd5056e786", NULL, "2021-10-06T08:10:51.018Z"};
    golden_run(&g);
}

/* ---- direct connection: audience rules unchanged ---- */

static void test_direct_audience_rules(void **state)
{
    /* Accepted: the DV in every restriction (with others beside it). */
    const char *ok[][3] = {{DV_ENTITY "|" OTHER_DV, NULL}, {DV_ENTITY, OTHER_DV "|" DV_ENTITY}};
    for (size_t i = 0; i < 2; i++) {
        test_t *t = test_begin();
        build_t b;
        zr_subject_t s;
        char err[512] = "";
        build_defaults(&b, t);
        memcpy(b.restrictions, ok[i], sizeof(ok[i]));
        assert_ok(build_and_validate(t, &b, &s, err, sizeof(err)), err);
        zr_subject_clear(&s);
        test_done(t);
    }
    /* Refused: one restriction without the DV; an LC means nothing when
     * the relay is no cluster. */
    const char *bad[][3] = {{DV_ENTITY, OTHER_DV, NULL}, {LC_ENTITY, NULL}};
    for (size_t i = 0; i < 2; i++) {
        test_t *t = test_begin();
        build_t b;
        build_defaults(&b, t);
        memcpy(b.restrictions, bad[i], sizeof(bad[i]));
        refuse(t, &b, ZR_SAML_INVALID, "Audience does not name the care provider (our entityID)");
        test_done(t);
    }
}

/* ---- cluster connection (the relay is the LC acting for DV A or B) ---- */

static int cluster_setup(void **state)
{
    G.cfg.cluster.enabled = 1;
    G.cfg.cluster.entity_id = LC_ENTITY;
    return 0;
}

static int cluster_teardown(void **state)
{
    G.cfg.cluster.enabled = 0;
    G.cfg.cluster.entity_id = NULL;
    tenant_set_keys(&G.tenant, &G.bsn1, NULL);
    tenant_set_keys(&G.tenant_b, &G.bsn_other, NULL);
    return 0;
}

/* A login for care provider `tenant` in the cluster: TVS names the LC and
 * the DV as audience and encrypts for the DV's key. */
static test_t *cluster_begin(build_t *b, const zr_tenant_t *tenant)
{
    test_t *t = test_begin();
    t->expect.tenant = tenant;
    build_defaults(b, t);
    b->restrictions[0] = tenant == &G.tenant ? LC_ENTITY "|" DV_ENTITY : LC_ENTITY "|" OTHER_DV;
    b->enc_recipient = tenant->entity_id;
    b->enc_key = tenant == &G.tenant ? &G.bsn1 : &G.bsn_other;
    return t;
}

static void accept_cluster(test_t *t, const build_t *b, const char *tenant_id)
{
    zr_subject_t s;
    char err[512] = "";
    zr_saml_status_t st = build_and_validate(t, b, &s, err, sizeof(err));
    assert_ok(st, err);
    assert_string_equal(s.acting.value, ACTING_BSN);
    assert_string_equal(s.tenant_id, tenant_id);
    zr_subject_clear(&s);
    test_done(t);
}

static void test_cluster_valid_login(void **state)
{
    build_t b;
    /* One restriction naming LC and DV (TVS's shape), either order. */
    accept_cluster(cluster_begin(&b, &G.tenant), &b, "zorg-test");
    test_t *t = cluster_begin(&b, &G.tenant);
    b.restrictions[0] = DV_ENTITY "|" LC_ENTITY;
    accept_cluster(t, &b, "zorg-test");
    /* Two restrictions, one each: every restriction names an entity we are. */
    t = cluster_begin(&b, &G.tenant);
    b.restrictions[0] = LC_ENTITY;
    b.restrictions[1] = DV_ENTITY;
    accept_cluster(t, &b, "zorg-test");
    /* The second care provider of the cluster, with its own key. */
    accept_cluster(cluster_begin(&b, &G.tenant_b), &b, "zorg-test-b");
}

static void test_cluster_audience_only_dv(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant);
    b.restrictions[0] = DV_ENTITY;
    refuse(t, &b, ZR_SAML_INVALID, "Conditions: Audience does not name the cluster (LC) entityID");
    test_done(t);
}

static void test_cluster_audience_only_lc(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant);
    b.restrictions[0] = LC_ENTITY;
    refuse(t, &b, ZR_SAML_INVALID,
           "Conditions: Audience does not name the care provider of this login");
    test_done(t);
}

static void test_cluster_audience_other_dv(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant);
    b.restrictions[0] = LC_ENTITY "|" OTHER_DV;
    refuse(t, &b, ZR_SAML_INVALID,
           "Conditions: Audience does not name the care provider of this login");
    test_done(t);
}

/* Restrictions are ANDed: one naming neither the DV nor the LC refuses
 * the assertion even when another names both. */
static void test_cluster_audience_restriction_for_others(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant);
    b.restrictions[1] = OTHER_DV;
    refuse(t, &b, ZR_SAML_INVALID,
           "Conditions: an AudienceRestriction names neither the care provider nor the cluster "
           "(LC) entityID");
    test_done(t);
}

/* A genuine response for DV A (Audience A + LC, EncryptedID for A with A's
 * key) fed into a login that was started for DV B of the same cluster. */
static void test_cluster_response_for_other_dv(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant); /* built for A ... */
    t->expect.tenant = &G.tenant_b;           /* ... validated for B */
    refuse(t, &b, ZR_SAML_INVALID,
           "Conditions: Audience does not name the care provider of this login");
    test_done(t);
}

/* Audience B + LC, but the only EncryptedID is for A (A's key): B's login
 * must not take it, and A's key is never used for B. */
static void test_cluster_encrypted_id_only_for_other_dv(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant_b);
    b.enc_recipient = DV_ENTITY;
    b.enc_key = &G.bsn1;
    refuse(t, &b, ZR_SAML_INVALID,
           "ActingSubjectID: no EncryptedID for this care provider");
    test_done(t);
}

/* One EncryptedID wrapped for A and for B (TVS may name several
 * recipients): B decrypts through its own EncryptedKey with its own key. */
static void test_cluster_shared_encrypted_id(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant_b);
    b.enc_recipient = DV_ENTITY;
    b.enc_key = &G.bsn1;
    b.enc_recipient2 = OTHER_DV;
    b.enc_key2 = &G.bsn_other;
    accept_cluster(t, &b, "zorg-test-b");
}

/* B's EncryptedKey names a key B does not hold (A's): refused, never
 * decrypted with A's key although the relay has it. */
static void test_cluster_encrypted_id_wrong_key_for_recipient(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant_b);
    b.enc_key = &G.bsn1; /* Recipient B, wrapped for A's certificate */
    refuse(t, &b, ZR_SAML_BSN_INVALID, "ActingSubjectID: decryption failed: unknown KeyName");
    test_done(t);
}

/* Two AttributeValues: an EncryptedID for A and one for B. B takes its own. */
static void add_value_for_a(nodes_t *n)
{
    xmlNodePtr attr = find_attribute(n->assertion, ZR_SAML_ATTR_ACTING);
    xmlNsPtr ns = attr->ns;
    xmlNodePtr value = xmlNewChild(attr, ns, BAD_CAST "AttributeValue", NULL);
    xmlNodePtr nid = xmlNewTextChild(value, ns, BAD_CAST "NameID", BAD_CAST "999998456");
    zr_xml_encrypt_recipient_t r = {DV_ENTITY, G.bsn1.cert, G.bsn1.key_name};
    char err[256] = "";
    xmlSetProp(nid, BAD_CAST "Format", BAD_CAST PERSISTENT);
    xmlSetProp(nid, BAD_CAST "NameQualifier", BAD_CAST ZR_ID_LEGACY_BSN);
    if (zr_xml_encrypt_to_encrypted_id(n->doc, nid, &r, 1, 0, err, sizeof(err)) != 0)
        fail_msg("encrypt for A: %s", err);
}

static void test_cluster_values_for_several_dvs(void **state)
{
    build_t b;
    test_t *t = cluster_begin(&b, &G.tenant_b);
    b.before_sign = add_value_for_a;
    accept_cluster(t, &b, "zorg-test-b");
    /* Two EncryptedIDs both for B: which one is the person? Refused. */
    t = cluster_begin(&b, &G.tenant);
    b.before_sign = add_value_for_a;
    refuse(t, &b, ZR_SAML_INVALID, "ActingSubjectID: more than one EncryptedID for this care provider");
    test_done(t);
}

/* Key rollover in a cluster: the DV holds two keys; TVS wraps for either
 * or both. */
static void test_cluster_rollover(void **state)
{
    const test_key_t *cases[3][2] = {{&G.bsn1, NULL}, {&G.bsn2, NULL}, {&G.bsn2, &G.bsn1}};
    tenant_set_keys(&G.tenant, &G.bsn1, &G.bsn2);
    for (int i = 0; i < 3; i++) {
        build_t b;
        test_t *t = cluster_begin(&b, &G.tenant);
        b.enc_key = cases[i][0];
        b.enc_key2 = cases[i][1];
        accept_cluster(t, &b, "zorg-test");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_plain_login),
        cmocka_unit_test(test_valid_representation),
        cmocka_unit_test(test_valid_rollover),
        cmocka_unit_test(test_status_cancel),
        cmocka_unit_test(test_status_authn_failed),
        cmocka_unit_test(test_status_no_authn_context),
        cmocka_unit_test(test_status_request_denied),
        cmocka_unit_test(test_status_on_artifact_response),
        cmocka_unit_test(test_status_for_other_request),
        cmocka_unit_test(test_success_without_response),
        cmocka_unit_test(test_two_responses),
        cmocka_unit_test(test_tampered_artifact_response),
        cmocka_unit_test(test_tampered_assertion),
        cmocka_unit_test(test_wrapping_signed_into_advice),
        cmocka_unit_test(test_wrapping_same_id_twice),
        cmocka_unit_test(test_wrapping_same_id_in_soap_header),
        cmocka_unit_test(test_assertion_only_in_advice),
        cmocka_unit_test(test_two_assertions),
        cmocka_unit_test(test_unsigned_assertion),
        cmocka_unit_test(test_unknown_signing_key),
        cmocka_unit_test(test_assertion_signed_by_unknown_key),
        cmocka_unit_test(test_wrong_artifact_response_in_response_to),
        cmocka_unit_test(test_wrong_issuer),
        cmocka_unit_test(test_wrong_destination),
        cmocka_unit_test(test_wrong_response_in_response_to),
        cmocka_unit_test(test_wrong_audience),
        cmocka_unit_test(test_direct_audience_rules),
        cmocka_unit_test_setup_teardown(test_cluster_valid_login, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_audience_only_dv, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_audience_only_lc, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_audience_other_dv, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_audience_restriction_for_others, cluster_setup,
                                        cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_response_for_other_dv, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_encrypted_id_only_for_other_dv, cluster_setup,
                                        cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_shared_encrypted_id, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_encrypted_id_wrong_key_for_recipient, cluster_setup,
                                        cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_values_for_several_dvs, cluster_setup, cluster_teardown),
        cmocka_unit_test_setup_teardown(test_cluster_rollover, cluster_setup, cluster_teardown),
        cmocka_unit_test(test_wrong_recipient),
        cmocka_unit_test(test_wrong_subject_confirmation_in_response_to),
        cmocka_unit_test(test_expired_subject_confirmation),
        cmocka_unit_test(test_expired_conditions),
        cmocka_unit_test(test_not_yet_valid),
        cmocka_unit_test(test_stale_artifact_response),
        cmocka_unit_test(test_service_uuid_mismatch),
        cmocka_unit_test(test_loa_too_low),
        cmocka_unit_test(test_version_and_id),
        cmocka_unit_test(test_plain_name_id_refused),
        cmocka_unit_test(test_legal_without_acting),
        cmocka_unit_test(test_replayed_artifact),
        cmocka_unit_test(test_replayed_response_id),
        cmocka_unit_test(test_replayed_assertion_id),
        cmocka_unit_test(test_encrypted_for_other_recipient),
        cmocka_unit_test(test_unknown_decryption_key_name),
        cmocka_unit_test(test_corrupted_cipher_value),
        cmocka_unit_test(test_bsn_fails_11_proof),
        cmocka_unit_test(test_polymorphic_refused),
        cmocka_unit_test(test_doctype_refused),
        cmocka_unit_test(test_golden_artifact_response),
        cmocka_unit_test(test_golden_legal_representation),
        cmocka_unit_test(test_golden_bvd),
        cmocka_unit_test(test_redis_down),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
