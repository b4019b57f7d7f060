/* zr_xml_sign / zr_xml_verify / zr_xml_verify_with_anchors: round trips, and
 * every refusal the verifier promises (tampering, wrong or unknown key, weak
 * algorithms, extra References, signature wrapping, duplicate IDs, embedded
 * certificates, trust anchors). */
#include "test_xml_fixture.h"

#include <ctype.h>
#include <pthread.h>

#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/templates.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>

#include "zr/util.h"

typedef struct {
    tx_key_t a, b;           /* two self-signed signing keys */
    tx_key_t ca, leaf, ca2;  /* CA, leaf issued by it, unrelated CA */
    tx_key_t self_leaf;      /* self-signed key named like the leaf */
} fx_t;

static fx_t fx;

static int setup(void **state)
{
    if (zr_xml_init() != 0)
        return -1;
    tx_key_make(&fx.a, "key A", NULL, NULL, 0);
    tx_key_make(&fx.b, "key B", NULL, NULL, 0);
    tx_key_make(&fx.ca, "test CA", NULL, NULL, 1);
    tx_key_make(&fx.leaf, "leaf", fx.ca.cert, fx.ca.key, 0);
    tx_key_make(&fx.ca2, "other CA", NULL, NULL, 1);
    tx_key_make(&fx.self_leaf, "leaf", NULL, NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    tx_key_free(&fx.a);
    tx_key_free(&fx.b);
    tx_key_free(&fx.ca);
    tx_key_free(&fx.leaf);
    tx_key_free(&fx.ca2);
    tx_key_free(&fx.self_leaf);
    zr_xml_shutdown();
    return 0;
}

#define MSG                                                                                  \
    "<samlp:Response xmlns:samlp=\"" ZR_NS_SAMLP "\" xmlns:saml=\"" ZR_NS_SAML "\""         \
    " ID=\"_resp\" Version=\"2.0\">\n"                                                       \
    "  <saml:Issuer>urn:issuer</saml:Issuer>\n"                                              \
    "  <samlp:Status><samlp:StatusCode Value=\"ok\"/></samlp:Status>\n"                      \
    "  <saml:Assertion ID=\"_a1\" Version=\"2.0\">\n"                                        \
    "    <saml:Issuer>urn:issuer</saml:Issuer>\n"                                            \
    "    <saml:Subject><saml:NameID>alice</saml:NameID></saml:Subject>\n"                    \
    "  </saml:Assertion>\n"                                                                  \
    "</samlp:Response>\n"

static xmlNodePtr assertion_of(xmlDocPtr doc)
{
    return zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SAML, "Assertion");
}

/* Signs the Assertion of MSG and returns the document as a receiver parses it. */
static xmlDocPtr signed_msg(const tx_key_t *k, const char *key_name, X509 *cert)
{
    char err[256] = "";
    xmlDocPtr doc = tx_parse(MSG), out;
    if (zr_xml_sign(doc, assertion_of(doc), k->key, key_name, cert, err, sizeof(err)) != 0)
        fail_msg("sign: %s", err);
    out = tx_reparse(doc);
    xmlFreeDoc(doc);
    return out;
}

static zr_xml_verify_key_t vkey(const tx_key_t *k)
{
    zr_xml_verify_key_t v = {k->key, k->name, k->name_sha256};
    return v;
}

static void expect_ok(xmlDocPtr doc, xmlNodePtr node, const zr_xml_verify_key_t *keys, size_t n)
{
    char err[256] = "";
    if (zr_xml_verify(doc, node, keys, n, err, sizeof(err)) != 0)
        fail_msg("verify failed: %s", err);
}

static void expect_fail(xmlDocPtr doc, xmlNodePtr node, const zr_xml_verify_key_t *keys, size_t n,
                        const char *want)
{
    char err[256] = "";
    if (zr_xml_verify(doc, node, keys, n, err, sizeof(err)) == 0)
        fail_msg("verify accepted; expected: %s", want);
    if (!strstr(err, want))
        fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

/* A signature made directly with xmlsec, for shapes zr_xml_sign never makes
 * (and, in the canonicalisation tests, to cross-check our verifier). */
typedef struct {
    xmlSecTransformId c14n;     /* SignedInfo's CanonicalizationMethod */
    xmlSecTransformId sig_alg;
    const char *prefix_list;    /* InclusiveNamespaces on the Reference's c14n, or NULL */
    const char *si_prefix_list; /* ... on the CanonicalizationMethod, or NULL */
    xmlSecTransformId digest;   /* NULL: SHA-256 */
    const char *extra_uri;      /* a second Reference, or NULL */
} variant_t;

static void sign_variant(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name,
                         const variant_t *v)
{
    char uri[128];
    char *id = zr_xml_attr(node, "ID");
    xmlSecTransformId digest = v->digest ? v->digest : xmlSecTransformSha256Id;
    xmlNodePtr sig, ref, ki, t;
    xmlSecDSigCtxPtr ctx;

    assert_non_null(id);
    xmlAddID(NULL, doc, BAD_CAST id, xmlHasProp(node, BAD_CAST "ID"));
    snprintf(uri, sizeof(uri), "#%s", id);
    sig = xmlSecTmplSignatureCreateNsPref(doc, v->c14n, v->sig_alg, NULL, BAD_CAST "ds");
    assert_non_null(sig);
    xmlAddChild(node, sig);
    if (v->si_prefix_list)
        assert_int_equal(xmlSecTmplTransformAddC14NInclNamespaces(
                             xmlSecTmplSignatureGetC14NMethodNode(sig), BAD_CAST v->si_prefix_list), 0);
    ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST uri, NULL);
    assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId));
    t = xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId);
    assert_non_null(t);
    if (v->prefix_list)
        assert_int_equal(xmlSecTmplTransformAddC14NInclNamespaces(t, BAD_CAST v->prefix_list), 0);
    if (v->extra_uri) {
        ref = xmlSecTmplSignatureAddReference(sig, digest, NULL, BAD_CAST v->extra_uri, NULL);
        assert_non_null(xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId));
    }
    ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
    assert_non_null(xmlSecTmplKeyInfoAddKeyName(ki, BAD_CAST key_name));
    ctx = xmlSecDSigCtxCreate(NULL);
    assert_non_null(ctx);
    EVP_PKEY_up_ref(key);
    ctx->signKey = xmlSecKeyCreate();
    assert_int_equal(xmlSecKeySetValue(ctx->signKey, xmlSecOpenSSLEvpKeyAdopt(key)), 0);
    assert_int_equal(xmlSecKeySetName(ctx->signKey, BAD_CAST key_name), 0);
    assert_int_equal(xmlSecDSigCtxSign(ctx, sig), 0);
    xmlSecDSigCtxDestroy(ctx);
    free(id);
}

static void sign_custom(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name,
                        xmlSecTransformId sig_alg, xmlSecTransformId digest,
                        const char *extra_uri)
{
    variant_t v = {xmlSecTransformExclC14NId, sig_alg, NULL, NULL, digest, extra_uri};
    sign_variant(doc, node, key, key_name, &v);
}

/* ---- round trips ---- */

static void test_sign_verify_roundtrip(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    xmlNodePtr as = assertion_of(doc);
    xmlNodePtr sig = zr_xml_child(as, ZR_NS_DS, "Signature");
    zr_xml_verify_key_t keys[2] = {vkey(&fx.b), vkey(&fx.a)};
    char *kn;

    /* Placement (SAML schema order): right after saml:Issuer. */
    assert_non_null(sig);
    xmlNodePtr prev = sig->prev;
    while (prev && prev->type != XML_ELEMENT_NODE)
        prev = prev->prev;
    assert_true(zr_xml_is(prev, ZR_NS_SAML, "Issuer"));
    /* KeyInfo holds the KeyName and nothing else. */
    kn = zr_xml_text(zr_xml_child(zr_xml_child(sig, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "KeyName"));
    assert_string_equal(kn, fx.a.name);
    free(kn);
    assert_null(zr_xml_child(zr_xml_child(sig, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "X509Data"));
    expect_ok(doc, as, keys, 2);
    /* The unsigned Response is not thereby signed. */
    expect_fail(doc, xmlDocGetRootElement(doc), keys, 2, "not signed");
    xmlFreeDoc(doc);
}

static void test_sign_root_without_issuer(void **state)
{
    char err[256] = "";
    xmlDocPtr doc = tx_parse("<r xmlns=\"urn:x\" ID=\"_r\">\n <c>x</c>\n</r>"), back;
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr first;

    assert_int_equal(zr_xml_sign(doc, xmlDocGetRootElement(doc), fx.a.key, fx.a.name, NULL, err,
                                 sizeof(err)), 0);
    back = tx_reparse(doc);
    first = xmlDocGetRootElement(back)->children;
    assert_true(zr_xml_is(first, ZR_NS_DS, "Signature")); /* first child */
    expect_ok(back, xmlDocGetRootElement(back), &k, 1);
    /* Signing twice is refused. */
    assert_int_not_equal(zr_xml_sign(doc, xmlDocGetRootElement(doc), fx.a.key, fx.a.name, NULL,
                                     err, sizeof(err)), 0);
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}

/* The official examples write KeyName with whitespace, in either case. */
static void test_keyname_sha256_case_and_whitespace(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    xmlNodePtr sig = zr_xml_child(assertion_of(doc), ZR_NS_DS, "Signature");
    xmlNodePtr kn = zr_xml_child(zr_xml_child(sig, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "KeyName");
    zr_xml_verify_key_t k = vkey(&fx.a);
    char text[100];

    snprintf(text, sizeof(text), "\n   %s\n   ", fx.a.name_sha256);
    for (char *p = text; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    xmlNodeSetContent(kn, BAD_CAST text);
    expect_ok(doc, assertion_of(doc), &k, 1);
    xmlFreeDoc(doc);
}

static void test_no_keyname_tries_each_key(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, NULL, NULL);
    zr_xml_verify_key_t both[2] = {vkey(&fx.b), vkey(&fx.a)};
    zr_xml_verify_key_t only_b = vkey(&fx.b);
    expect_ok(doc, assertion_of(doc), both, 2);
    expect_fail(doc, assertion_of(doc), &only_b, 1, "signature value invalid");
    xmlFreeDoc(doc);
}

static void test_sign_with_certificate(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, fx.a.cert);
    xmlNodePtr sig = zr_xml_child(assertion_of(doc), ZR_NS_DS, "Signature");
    xmlNodePtr xd = zr_xml_child(zr_xml_child(sig, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "X509Data");
    char *b64 = zr_xml_text(zr_xml_child(xd, ZR_NS_DS, "X509Certificate"));
    char *want = zr_crypto_cert_base64(fx.a.cert);
    zr_xml_verify_key_t k = vkey(&fx.a);
    assert_string_equal(b64, want);
    expect_ok(doc, assertion_of(doc), &k, 1);
    free(b64);
    free(want);
    xmlFreeDoc(doc);
}

/* ---- tampering and keys ---- */

static void test_tampered_content(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr nid = tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "NameID");
    xmlNodeSetContent(nid, BAD_CAST "mallory");
    expect_fail(doc, assertion_of(doc), &k, 1, "digest mismatch");
    xmlFreeDoc(doc);
}

static void test_tampered_signature_value(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr sv = tx_find(xmlDocGetRootElement(doc), ZR_NS_DS, "SignatureValue");
    char *v = zr_xml_text(sv);
    v[10] = v[10] == 'A' ? 'B' : 'A';
    xmlNodeSetContent(sv, BAD_CAST v);
    expect_fail(doc, assertion_of(doc), &k, 1, "signature value invalid");
    free(v);
    xmlFreeDoc(doc);
}

static void test_wrong_key(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    /* B's key under A's name: the name matches, the key does not. */
    zr_xml_verify_key_t k = {fx.b.key, fx.a.name, NULL};
    expect_fail(doc, assertion_of(doc), &k, 1, "signature value invalid");
    xmlFreeDoc(doc);
}

static void test_unknown_keyname(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.b);
    expect_fail(doc, assertion_of(doc), &k, 1, "unknown KeyName");
    xmlFreeDoc(doc);
}

/* ---- algorithms and shape ---- */

static void test_sha1_signature_refused(void **state)
{
    xmlDocPtr doc = tx_parse(MSG);
    zr_xml_verify_key_t k = vkey(&fx.a);
    sign_custom(doc, assertion_of(doc), fx.a.key, fx.a.name, xmlSecTransformRsaSha1Id,
                xmlSecTransformSha256Id, NULL);
    expect_fail(doc, assertion_of(doc), &k, 1, "unsupported signature algorithm");
    xmlFreeDoc(doc);
}

static void test_sha1_digest_refused(void **state)
{
    xmlDocPtr doc = tx_parse(MSG);
    zr_xml_verify_key_t k = vkey(&fx.a);
    sign_custom(doc, assertion_of(doc), fx.a.key, fx.a.name, xmlSecTransformRsaSha256Id,
                xmlSecTransformSha1Id, NULL);
    expect_fail(doc, assertion_of(doc), &k, 1, "unsupported digest algorithm");
    xmlFreeDoc(doc);
}

/* sign_custom itself makes verifiable signatures (so the refusals above are
 * about the algorithm, not a broken helper). */
static void test_custom_sha512_accepted(void **state)
{
    xmlDocPtr doc = tx_parse(MSG);
    zr_xml_verify_key_t k = vkey(&fx.a);
    sign_custom(doc, assertion_of(doc), fx.a.key, fx.a.name, xmlSecTransformRsaSha512Id,
                xmlSecTransformSha512Id, NULL);
    expect_ok(doc, assertion_of(doc), &k, 1);
    xmlFreeDoc(doc);
}

static void test_two_references_refused(void **state)
{
    xmlDocPtr doc = tx_parse(MSG);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlAddID(NULL, doc, BAD_CAST "_resp", xmlHasProp(resp, BAD_CAST "ID"));
    sign_custom(doc, assertion_of(doc), fx.a.key, fx.a.name, xmlSecTransformRsaSha256Id,
                xmlSecTransformSha256Id, "#_resp");
    expect_fail(doc, assertion_of(doc), &k, 1, "exactly one Reference");
    xmlFreeDoc(doc);
}

static void test_unexpected_transform_refused(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr t = tx_find(xmlDocGetRootElement(doc), ZR_NS_DS, "Transform");
    xmlSetProp(t, BAD_CAST "Algorithm", BAD_CAST "http://www.w3.org/TR/1999/REC-xslt-19991116");
    expect_fail(doc, assertion_of(doc), &k, 1, "unsupported transform");
    xmlFreeDoc(doc);
}

/* ---- canonicalisation: what xmlsec signs, zr_xml_verify must accept ----
 * zr_xml_verify canonicalises with libxml2 itself (not through xmlsec's node
 * sets); each variant below is signed by xmlsec, so any difference in the
 * canonical form shows up as a digest or signature mismatch. */

/* A SOAP-wrapped response as TVS sends it: namespaces declared on ancestors
 * of the signed element, one of them the default namespace, an unused one,
 * comments and whitespace inside and around, xml:lang, attributes in another
 * namespace, characters that c14n escapes. */
#define WRAPPED                                                                                   \
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"                                                \
    "<!-- before the root -->\n"                                                                  \
    "<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\""                     \
    " xmlns:samlp=\"" ZR_NS_SAMLP "\" xmlns:saml=\"" ZR_NS_SAML "\""                              \
    " xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:unused=\"urn:unused\""                  \
    " xmlns=\"urn:default\"><soap:Body>\n"                                                        \
    "  <samlp:ArtifactResponse ID=\"_ar\" Version=\"2.0\" xml:lang=\"nl\">\n"                     \
    "    <saml:Assertion ID=\"_a1\" Version=\"2.0\" xmlns:xsi=\"http://www.w3.org/2001/"          \
    "XMLSchema-instance\">\n"                                                                     \
    "      <!-- a comment inside -->\n"                                                           \
    "      <saml:Issuer>urn:issuer &amp; &lt;more&gt; \"q\" &#xD;</saml:Issuer>\n"                 \
    "      <Plain b=\"2\" a=\"1\" xsi:type=\"xs:string\">default ns &#x20AC;</Plain>\n"           \
    "      <saml:AttributeValue xsi:type=\"xs:string\">  spaced\t</saml:AttributeValue>\n"        \
    "    </saml:Assertion>\n"                                                                     \
    "  </samlp:ArtifactResponse>\n"                                                               \
    "</soap:Body></soap:Envelope>\n"

static xmlNodePtr wrapped_assertion(xmlDocPtr doc)
{
    return tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "Assertion");
}

/* WRAPPED with its Assertion signed by xmlsec as v says, serialised and
 * parsed again (the caller frees it). */
static xmlDocPtr signed_wrapped(const variant_t *v, EVP_PKEY *key, const char *name)
{
    xmlDocPtr doc = tx_parse(WRAPPED), re;
    sign_variant(doc, wrapped_assertion(doc), key, name, v);
    re = tx_reparse(doc);
    xmlFreeDoc(doc);
    return re;
}

static void expect_variant(const variant_t *v, const tx_key_t *k, const char *want_fail)
{
    xmlDocPtr re = signed_wrapped(v, k->key, k->name);
    zr_xml_verify_key_t key = vkey(k);
    if (want_fail)
        expect_fail(re, wrapped_assertion(re), &key, 1, want_fail);
    else
        expect_ok(re, wrapped_assertion(re), &key, 1);
    xmlFreeDoc(re);
}

static void test_c14n_wrapped_element(void **state)
{
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL, NULL, NULL, NULL};
    expect_variant(&v, &fx.a, NULL);
}

static void test_c14n_inclusive_prefixes(void **state)
{
    /* As in the ST-SAML examples: ec:InclusiveNamespaces PrefixList="ds saml samlp xs",
     * which pulls ancestors' declarations into the canonical form. */
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, "ds saml samlp xs", NULL, NULL, NULL};
    expect_variant(&v, &fx.a, NULL);
    variant_t d = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, "#default unused xsi", "ds #default", NULL, NULL};
    expect_variant(&d, &fx.a, NULL);
}

static void test_c14n_with_comments_method(void **state)
{
    variant_t v = {xmlSecTransformExclC14NWithCommentsId, xmlSecTransformRsaSha256Id, NULL, NULL, NULL, NULL};
    expect_variant(&v, &fx.a, NULL);
}

static void test_c14n_comments_not_signed(void **state)
{
    /* A bare-name "#id" Reference drops comments: adding one changes nothing,
     * changing whitespace in text does. */
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL, NULL, NULL, NULL};
    xmlDocPtr re = signed_wrapped(&v, fx.a.key, fx.a.name);
    zr_xml_verify_key_t key = vkey(&fx.a);
    xmlAddChild(wrapped_assertion(re), xmlNewComment(BAD_CAST "added later"));
    expect_ok(re, wrapped_assertion(re), &key, 1);
    xmlNodeSetContent(tx_find(wrapped_assertion(re), "urn:default", "Plain"), BAD_CAST "default ns  ");
    expect_fail(re, wrapped_assertion(re), &key, 1, "digest mismatch");
    xmlFreeDoc(re);
}

static void test_c14n_prefix_list_tampered(void **state)
{
    /* The PrefixList is signed (it is in SignedInfo): changing it breaks the
     * signature, not just the digest. */
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, "xs", NULL, NULL, NULL};
    xmlDocPtr re = signed_wrapped(&v, fx.a.key, fx.a.name);
    zr_xml_verify_key_t key = vkey(&fx.a);
    xmlSetProp(tx_find(xmlDocGetRootElement(re), "http://www.w3.org/2001/10/xml-exc-c14n#", "InclusiveNamespaces"),
               BAD_CAST "PrefixList", BAD_CAST "xs unused");
    expect_fail(re, wrapped_assertion(re), &key, 1, "digest mismatch");
    xmlFreeDoc(re);
}

static void test_c14n_transform_order_refused(void **state)
{
    /* c14n first, enveloped-signature after it: refused for its shape */
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformRsaSha256Id, NULL, NULL, NULL, NULL};
    xmlDocPtr re = signed_wrapped(&v, fx.a.key, fx.a.name);
    zr_xml_verify_key_t key = vkey(&fx.a);
    xmlNodePtr env = tx_find(xmlDocGetRootElement(re), ZR_NS_DS, "Transform");
    xmlNodePtr ts = env->parent;
    xmlUnlinkNode(env);
    xmlAddChild(ts, env);
    expect_fail(re, wrapped_assertion(re), &key, 1, "unsupported transform sequence");
    xmlFreeDoc(re);
}

static void test_ecdsa_signature(void **state)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    tx_key_t k = {0};
    assert_non_null(ec);
    k.key = ec;
    k.name = "ec key";
    k.name_sha256 = "ec key";
    variant_t v = {xmlSecTransformExclC14NId, xmlSecTransformEcdsaSha256Id, NULL, NULL, NULL, NULL};
    expect_variant(&v, &k, NULL);
    /* an RSA key cannot verify an ECDSA signature, and says so */
    xmlDocPtr re = signed_wrapped(&v, ec, "ec key");
    zr_xml_verify_key_t rsa = vkey(&fx.a);
    rsa.key_name = "ec key";
    expect_fail(re, wrapped_assertion(re), &rsa, 1, "key does not fit the algorithm");
    xmlFreeDoc(re);
    EVP_PKEY_free(ec);
}

/* The other direction: what zr_xml_sign makes, xmlsec verifies (RSA and
 * ECDSA, a SOAP-wrapped element with inherited namespaces). */
static void xmlsec_verifies(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key)
{
    xmlSecDSigCtxPtr ctx = xmlSecDSigCtxCreate(NULL);
    xmlNodePtr sig = zr_xml_child(node, ZR_NS_DS, "Signature");
    char *id = zr_xml_attr(node, "ID");
    assert_non_null(ctx);
    assert_non_null(sig);
    xmlAddID(NULL, doc, BAD_CAST id, xmlHasProp(node, BAD_CAST "ID"));
    EVP_PKEY_up_ref(key);
    ctx->signKey = xmlSecKeyCreate();
    assert_int_equal(xmlSecKeySetValue(ctx->signKey, xmlSecOpenSSLEvpKeyAdopt(key)), 0);
    assert_int_equal(xmlSecDSigCtxVerify(ctx, sig), 0);
    assert_int_equal(ctx->status, xmlSecDSigStatusSucceeded);
    xmlSecDSigCtxDestroy(ctx);
    free(id);
}

static void test_xmlsec_verifies_our_signatures(void **state)
{
    EVP_PKEY *ec = EVP_EC_gen("P-256");
    EVP_PKEY *keys[2] = {fx.a.key, ec};
    char err[256] = "";
    assert_non_null(ec);
    for (int i = 0; i < 2; i++) {
        xmlDocPtr doc = tx_parse(WRAPPED), re;
        if (zr_xml_sign(doc, wrapped_assertion(doc), keys[i], "k", fx.a.cert, err, sizeof(err)) != 0)
            fail_msg("sign: %s", err);
        re = tx_reparse(doc);
        xmlsec_verifies(re, wrapped_assertion(re), keys[i]);
        xmlFreeDoc(re);
        xmlFreeDoc(doc);
    }
    EVP_PKEY_free(ec);
}

/* ---- wrapping ---- */

/* XSW: the signed Assertion is moved away (into an Extensions element) and an
 * evil Assertion with the same ID and the copied Signature takes its place. */
static void test_wrapping_same_id_refused(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr good = assertion_of(doc);
    xmlNodePtr evil = xmlCopyNode(good, 1);
    xmlNodePtr ext = xmlNewChild(resp, resp->ns, BAD_CAST "Extensions", NULL);

    xmlNodeSetContent(tx_find(evil, ZR_NS_SAML, "NameID"), BAD_CAST "mallory");
    xmlReplaceNode(good, evil);
    xmlAddChild(ext, good);
    /* The evil one is what a careless caller would read. */
    expect_fail(doc, assertion_of(doc), &k, 1, "duplicate ID");
    /* Also after a round trip (fresh ID table). */
    xmlDocPtr back = tx_reparse(doc);
    expect_fail(back, assertion_of(back), &k, 1, "duplicate ID");
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}

/* XSW: the evil element carries a copy of the Signature whose Reference still
 * names the genuine (moved) element under its own ID. */
static void test_wrapping_reference_elsewhere_refused(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr resp = xmlDocGetRootElement(doc);
    xmlNodePtr good = assertion_of(doc);
    xmlNodePtr evil = xmlCopyNode(good, 1);
    xmlNodePtr ext = xmlNewChild(resp, resp->ns, BAD_CAST "Extensions", NULL);

    xmlSetProp(evil, BAD_CAST "ID", BAD_CAST "_evil");
    xmlNodeSetContent(tx_find(evil, ZR_NS_SAML, "NameID"), BAD_CAST "mallory");
    xmlReplaceNode(good, evil);
    xmlAddChild(ext, good);
    xmlDocPtr back = tx_reparse(doc);
    expect_fail(back, assertion_of(back), &k, 1, "Reference URI does not point at the signed element");
    /* The genuine one, where it now is, still verifies. */
    expect_ok(back, tx_find(zr_xml_child(xmlDocGetRootElement(back), ZR_NS_SAMLP, "Extensions"),
                            ZR_NS_SAML, "Assertion"), &k, 1);
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}

static void test_duplicate_ids_refused(void **state)
{
    const char *attrs[] = {"ID", "Id"};
    for (size_t i = 0; i < 2; i++) {
        xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
        zr_xml_verify_key_t k = vkey(&fx.a);
        xmlNodePtr status = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SAMLP, "Status");
        xmlNodePtr x = xmlNewChild(status, NULL, BAD_CAST "x", NULL);
        xmlNewProp(x, BAD_CAST attrs[i], BAD_CAST "_a1");
        xmlDocPtr back = tx_reparse(doc);
        expect_fail(back, assertion_of(back), &k, 1, "duplicate ID");
        xmlFreeDoc(back);
        xmlFreeDoc(doc);
    }
    /* xml:id counts too. */
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr status = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SAMLP, "Status");
    xmlSetProp(status, BAD_CAST "xml:id", BAD_CAST "_a1");
    xmlDocPtr back = tx_reparse(doc);
    expect_fail(back, assertion_of(back), &k, 1, "duplicate ID");
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}

static void test_signature_not_direct_child_refused(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr as = assertion_of(doc);
    xmlNodePtr sig = zr_xml_child(as, ZR_NS_DS, "Signature");
    xmlNodePtr holder = xmlNewChild(as, as->ns, BAD_CAST "Extensions", NULL);
    xmlUnlinkNode(sig);
    xmlAddChild(holder, sig);
    expect_fail(doc, as, &k, 1, "not signed");
    xmlFreeDoc(doc);
}

static void test_two_signatures_refused(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlNodePtr as = assertion_of(doc);
    xmlAddChild(as, xmlCopyNode(zr_xml_child(as, ZR_NS_DS, "Signature"), 1));
    expect_fail(doc, as, &k, 1, "more than one ds:Signature");
    xmlFreeDoc(doc);
}

/* KeyInfo is never a key source: B signs, embeds its certificate and claims
 * A's KeyName (or none); only A is trusted. */
static void test_embedded_certificate_not_trusted(void **state)
{
    zr_xml_verify_key_t k = vkey(&fx.a);
    xmlDocPtr doc = signed_msg(&fx.b, fx.a.name, fx.b.cert);
    expect_fail(doc, assertion_of(doc), &k, 1, "signature value invalid");
    xmlFreeDoc(doc);
    doc = signed_msg(&fx.b, NULL, fx.b.cert);
    expect_fail(doc, assertion_of(doc), &k, 1, "signature value invalid");
    xmlFreeDoc(doc);
}

/* ---- trust anchors (metadata) ---- */

static int verify_anchors(xmlDocPtr doc, X509 *anchor, char *err, size_t errlen)
{
    STACK_OF(X509) *anchors = sk_X509_new_null();
    int rc;
    sk_X509_push(anchors, anchor);
    rc = zr_xml_verify_with_anchors(doc, assertion_of(doc), anchors, NULL, err, errlen);
    sk_X509_free(anchors);
    return rc;
}

static void test_anchor_direct_key(void **state)
{
    char err[256] = "";
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    if (verify_anchors(doc, fx.a.cert, err, sizeof(err)) != 0)
        fail_msg("anchor A: %s", err);
    assert_int_not_equal(verify_anchors(doc, fx.b.cert, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
}

static void test_anchor_chained_certificate(void **state)
{
    char err[256] = "";
    xmlDocPtr doc = signed_msg(&fx.leaf, fx.leaf.name, fx.leaf.cert);
    if (verify_anchors(doc, fx.ca.cert, err, sizeof(err)) != 0)
        fail_msg("leaf under CA: %s", err);
    /* An unrelated CA does not vouch for the leaf. */
    assert_int_not_equal(verify_anchors(doc, fx.ca2.cert, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
    /* A self-signed look-alike of the leaf does not chain to the CA. */
    doc = signed_msg(&fx.self_leaf, fx.self_leaf.name, fx.self_leaf.cert);
    assert_int_not_equal(verify_anchors(doc, fx.ca.cert, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
}

static void test_anchor_still_refuses_wrapping(void **state)
{
    char err[256] = "";
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    xmlNodePtr status = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SAMLP, "Status");
    xmlNewProp(xmlNewChild(status, NULL, BAD_CAST "x", NULL), BAD_CAST "ID", BAD_CAST "_a1");
    assert_int_not_equal(verify_anchors(doc, fx.a.cert, err, sizeof(err)), 0);
    assert_non_null(strstr(err, "duplicate ID"));
    xmlFreeDoc(doc);
}

/* ---- the official example: KeyName lookup as TVS writes it ---- */

static void test_example_keyname_lookup(void **state)
{
    const char *shared = getenv("ZR_SHARED");
    char path[1024], err[256] = "";
    char *data = NULL;
    size_t len = 0;
    xmlDocPtr doc;
    xmlNodePtr ar, advice_assertion;
    zr_xml_verify_key_t k = {fx.a.key, NULL, NULL};

    snprintf(path, sizeof(path), "%s/specs/st-saml/examples/artifact_response.xml",
             shared ? shared : ZR_SOURCE_DIR "/tests/data/shared");
    assert_int_equal(zr_file_read(path, ZR_XML_MAX_BYTES, &data, &len), 0);
    doc = zr_xml_parse(data, len, 0, err, sizeof(err));
    assert_non_null(doc);
    ar = tx_find(xmlDocGetRootElement(doc), ZR_NS_SAMLP, "ArtifactResponse");
    advice_assertion = tx_find(tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "Advice"),
                               ZR_NS_SAML, "Assertion");
    assert_non_null(ar);
    assert_non_null(advice_assertion);
    expect_fail(doc, ar, &k, 1, "unknown KeyName");
    /* Named (upper case) as the example names it: found, then the "..."
     * placeholders fail the crypto, not the lookup. */
    k.key_name_sha256 = "356B4241808341CC9FF6295A43B01D00DAAB27406DDCD3F708A0A3761A057ABB";
    assert_int_not_equal(zr_xml_verify(doc, ar, &k, 1, err, sizeof(err)), 0);
    assert_null(strstr(err, "unknown KeyName"));
    /* KeyName with a trailing newline and indentation inside. */
    k.key_name_sha256 = "24b1a2189f8af57114df0b93120f88b1d9cd38a0f06780377f6f8ace82fb0b18";
    assert_int_not_equal(zr_xml_verify(doc, advice_assertion, &k, 1, err, sizeof(err)), 0);
    assert_null(strstr(err, "unknown KeyName"));
    k.key_name_sha256 = "24b1a2189f8af57114df0b93120f88b1d9cd38a0f06780377f6f8ace82fb0b19";
    expect_fail(doc, advice_assertion, &k, 1, "unknown KeyName");
    xmlFreeDoc(doc);
    free(data);
}

/* Worker threads sign and verify at the same time with shared keys (the
 * relay's HTTP workers do); every result must still be right. */
typedef struct {
    char *xml;
    int failures;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    zr_xml_verify_key_t keys[2] = {vkey(&fx.b), vkey(&fx.a)};
    for (int i = 0; i < 20; i++) {
        char err[256] = "";
        xmlDocPtr doc = zr_xml_parse(w->xml, strlen(w->xml), 0, err, sizeof(err));
        xmlDocPtr fresh = zr_xml_parse(MSG, strlen(MSG), 0, err, sizeof(err));
        if (!doc || !fresh || zr_xml_verify(doc, assertion_of(doc), keys, 2, err, sizeof(err)) != 0 ||
            zr_xml_sign(fresh, assertion_of(fresh), fx.b.key, fx.b.name, NULL, err, sizeof(err)) != 0 ||
            zr_xml_verify(fresh, assertion_of(fresh), keys, 2, err, sizeof(err)) != 0)
            w->failures++;
        /* and a refusal, concurrently */
        xmlNodeSetContent(tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "NameID"), BAD_CAST "x");
        if (zr_xml_verify(doc, assertion_of(doc), keys, 2, err, sizeof(err)) == 0)
            w->failures++;
        xmlFreeDoc(doc);
        xmlFreeDoc(fresh);
    }
    return NULL;
}

static void test_concurrent_use(void **state)
{
    xmlDocPtr doc = signed_msg(&fx.a, fx.a.name, NULL);
    worker_t w[4];
    pthread_t t[4];
    char *xml = zr_xml_dump(doc, NULL, NULL);
    for (int i = 0; i < 4; i++) {
        w[i].xml = xml;
        w[i].failures = 0;
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    free(xml);
    xmlFreeDoc(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_verify_roundtrip),
        cmocka_unit_test(test_sign_root_without_issuer),
        cmocka_unit_test(test_keyname_sha256_case_and_whitespace),
        cmocka_unit_test(test_no_keyname_tries_each_key),
        cmocka_unit_test(test_sign_with_certificate),
        cmocka_unit_test(test_tampered_content),
        cmocka_unit_test(test_tampered_signature_value),
        cmocka_unit_test(test_wrong_key),
        cmocka_unit_test(test_unknown_keyname),
        cmocka_unit_test(test_sha1_signature_refused),
        cmocka_unit_test(test_sha1_digest_refused),
        cmocka_unit_test(test_custom_sha512_accepted),
        cmocka_unit_test(test_two_references_refused),
        cmocka_unit_test(test_unexpected_transform_refused),
        cmocka_unit_test(test_c14n_wrapped_element),
        cmocka_unit_test(test_c14n_inclusive_prefixes),
        cmocka_unit_test(test_c14n_with_comments_method),
        cmocka_unit_test(test_c14n_comments_not_signed),
        cmocka_unit_test(test_c14n_prefix_list_tampered),
        cmocka_unit_test(test_c14n_transform_order_refused),
        cmocka_unit_test(test_ecdsa_signature),
        cmocka_unit_test(test_xmlsec_verifies_our_signatures),
        cmocka_unit_test(test_wrapping_same_id_refused),
        cmocka_unit_test(test_wrapping_reference_elsewhere_refused),
        cmocka_unit_test(test_duplicate_ids_refused),
        cmocka_unit_test(test_signature_not_direct_child_refused),
        cmocka_unit_test(test_two_signatures_refused),
        cmocka_unit_test(test_embedded_certificate_not_trusted),
        cmocka_unit_test(test_anchor_direct_key),
        cmocka_unit_test(test_anchor_chained_certificate),
        cmocka_unit_test(test_anchor_still_refuses_wrapping),
        cmocka_unit_test(test_example_keyname_lookup),
        cmocka_unit_test(test_concurrent_use),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
