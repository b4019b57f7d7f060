/* zr_xml_encrypt_to_encrypted_id / zr_xml_decrypt_encrypted_id: the shape of
 * the official example, CBC and GCM, several recipients, key rollover,
 * xmlenc11#rsa-oaep with SHA-256, and every refusal. */
#include "test_xml_fixture.h"

#include <openssl/rsa.h>

#include "zr/util.h"

#define DV1 "urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:0000"
#define DV2 "urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:0000"
#define BSN "123456782"

typedef struct {
    tx_key_t k1, k2, other;
} fx_t;

static fx_t fx;

static int setup(void **state)
{
    if (zr_xml_init() != 0)
        return -1;
    tx_key_make(&fx.k1, "dv enc 1", NULL, NULL, 0);
    tx_key_make(&fx.k2, "dv enc 2", NULL, NULL, 0);
    tx_key_make(&fx.other, "other", NULL, NULL, 0);
    return 0;
}

static int teardown(void **state)
{
    tx_key_free(&fx.k1);
    tx_key_free(&fx.k2);
    tx_key_free(&fx.other);
    zr_xml_shutdown();
    return 0;
}

/* An attribute statement with the NameID declared on itself (as the mock
 * TVS builds it), encrypted to the recipients; returned reparsed. */
static xmlDocPtr encrypted_doc(const zr_xml_encrypt_recipient_t *r, size_t n, int gcm)
{
    const char *xml =
        "<saml2:Assertion xmlns:saml2=\"" ZR_NS_SAML "\"><saml2:AttributeStatement>"
        "<saml2:Attribute Name=\"urn:nl-eid-gdi:1.0:ActingSubjectID\"><saml2:AttributeValue>"
        "<saml2:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:persistent\""
        " NameQualifier=\"urn:nl-eid-gdi:1.0:id:legacy-BSN\">" BSN "</saml2:NameID>"
        "</saml2:AttributeValue></saml2:Attribute></saml2:AttributeStatement></saml2:Assertion>";
    char err[256] = "";
    xmlDocPtr doc = tx_parse(xml), back;
    xmlNodePtr nid = tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "NameID");
    if (zr_xml_encrypt_to_encrypted_id(doc, nid, r, n, gcm, err, sizeof(err)) != 0)
        fail_msg("encrypt: %s", err);
    back = tx_reparse(doc);
    xmlFreeDoc(doc);
    return back;
}

static xmlNodePtr eid_of(xmlDocPtr doc)
{
    return tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "EncryptedID");
}

static zr_xml_encrypt_recipient_t rcpt(const char *who, const tx_key_t *k)
{
    zr_xml_encrypt_recipient_t r = {who, k->cert, k->name};
    return r;
}

static zr_xml_decrypt_key_t dkey(const tx_key_t *k)
{
    zr_xml_decrypt_key_t d = {k->key, k->name, k->name_sha256};
    return d;
}

static void expect_plain(xmlNodePtr eid, const char *who, const zr_xml_decrypt_key_t *keys, size_t n)
{
    char err[256] = "";
    char *plain = NULL;
    if (zr_xml_decrypt_encrypted_id(eid, who, keys, n, &plain, err, sizeof(err)) != 0)
        fail_msg("decrypt: %s", err);
    assert_non_null(plain);
    assert_non_null(strstr(plain, ">" BSN "</saml2:NameID>"));
    assert_non_null(strstr(plain, "xmlns:saml2=\"" ZR_NS_SAML "\""));
    assert_non_null(strstr(plain, "NameQualifier=\"urn:nl-eid-gdi:1.0:id:legacy-BSN\""));
    free(plain);
}

static void expect_refused(xmlNodePtr eid, const char *who, const zr_xml_decrypt_key_t *keys,
                           size_t n, const char *want)
{
    char err[256] = "";
    char *plain = (char *)"x";
    if (zr_xml_decrypt_encrypted_id(eid, who, keys, n, &plain, err, sizeof(err)) == 0) {
        free(plain);
        fail_msg("decrypted; expected: %s", want);
    }
    assert_null(plain);
    if (want && !strstr(err, want))
        fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static char *attr(xmlNodePtr n, const char *name)
{
    char *v = zr_xml_attr(n, name);
    assert_non_null(v);
    return v;
}

/* ---- shape ---- */

static void test_shape_like_official_example(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    xmlNodePtr eid = eid_of(doc);
    xmlNodePtr ed = zr_xml_child(eid, ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ek = zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey");
    xmlNodePtr rm = zr_xml_child(zr_xml_child(ed, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "RetrievalMethod");
    xmlNodePtr ekm = zr_xml_child(ek, ZR_NS_XENC, "EncryptionMethod");
    xmlNodePtr dr = zr_xml_child(zr_xml_child(ek, ZR_NS_XENC, "ReferenceList"), ZR_NS_XENC, "DataReference");
    char *ed_id = attr(ed, "Id"), *ek_id = attr(ek, "Id"), *v;
    char ref[64];

    assert_non_null(eid);
    assert_null(tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "NameID")); /* plaintext gone */
    v = attr(ed, "Type");
    assert_string_equal(v, ZR_NS_XENC "Element");
    free(v);
    v = attr(zr_xml_child(ed, ZR_NS_XENC, "EncryptionMethod"), "Algorithm");
    assert_string_equal(v, ZR_NS_XENC "aes256-cbc");
    free(v);
    snprintf(ref, sizeof(ref), "#%s", ek_id);
    v = attr(rm, "URI");
    assert_string_equal(v, ref);
    free(v);
    v = attr(rm, "Type");
    assert_string_equal(v, ZR_NS_XENC "EncryptedKey");
    free(v);
    assert_non_null(zr_xml_child(zr_xml_child(ed, ZR_NS_XENC, "CipherData"), ZR_NS_XENC, "CipherValue"));
    v = attr(ek, "Recipient");
    assert_string_equal(v, DV1);
    free(v);
    v = attr(ekm, "Algorithm");
    assert_string_equal(v, ZR_NS_XENC "rsa-oaep-mgf1p");
    free(v);
    v = attr(zr_xml_child(ekm, ZR_NS_DS, "DigestMethod"), "Algorithm");
    assert_string_equal(v, ZR_NS_DS "sha1");
    free(v);
    v = zr_xml_text(zr_xml_child(zr_xml_child(ek, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "KeyName"));
    assert_string_equal(v, fx.k1.name);
    free(v);
    snprintf(ref, sizeof(ref), "#%s", ed_id);
    v = attr(dr, "URI");
    assert_string_equal(v, ref);
    free(v);
    /* No plaintext BSN anywhere in the serialised document. */
    char *dump = zr_xml_dump(doc, NULL, NULL);
    assert_null(strstr(dump, BSN));
    free(dump);
    free(ed_id);
    free(ek_id);
    xmlFreeDoc(doc);
}

/* ---- round trips ---- */

static void test_roundtrip_cbc_and_gcm(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    for (int gcm = 0; gcm < 2; gcm++) {
        xmlDocPtr doc = encrypted_doc(&r, 1, gcm);
        char *alg = attr(zr_xml_child(tx_find(xmlDocGetRootElement(doc), ZR_NS_XENC, "EncryptedData"),
                                      ZR_NS_XENC, "EncryptionMethod"), "Algorithm");
        assert_string_equal(alg, gcm ? ZR_NS_XENC11 "aes256-gcm" : ZR_NS_XENC "aes256-cbc");
        free(alg);
        expect_plain(eid_of(doc), DV1, &k, 1);
        xmlFreeDoc(doc);
    }
}

static void test_two_recipients(void **state)
{
    zr_xml_encrypt_recipient_t r[2] = {rcpt(DV1, &fx.k1), rcpt(DV2, &fx.k2)};
    zr_xml_decrypt_key_t k1 = dkey(&fx.k1), k2 = dkey(&fx.k2);
    xmlDocPtr doc = encrypted_doc(r, 2, 0);
    xmlNodePtr eid = eid_of(doc);
    assert_int_equal(zr_xml_count_children(eid, ZR_NS_XENC, "EncryptedKey"), 2);
    expect_plain(eid, DV1, &k1, 1);
    expect_plain(eid, DV2, &k2, 1); /* tied by DataReference; RetrievalMethod names DV1's */
    /* DV2's key under DV1's entityID: DV1's EncryptedKey names k1, not k2. */
    expect_refused(eid, DV1, &k2, 1, "unknown KeyName");
    xmlFreeDoc(doc);
}

/* Key rollover: TVS wraps the key for both of the DV's certificates. */
static void test_rollover_either_key(void **state)
{
    zr_xml_encrypt_recipient_t r[2] = {rcpt(DV1, &fx.k1), rcpt(DV1, &fx.k2)};
    zr_xml_decrypt_key_t k1 = dkey(&fx.k1), k2 = dkey(&fx.k2);
    zr_xml_decrypt_key_t both[2] = {k2, k1};
    xmlDocPtr doc = encrypted_doc(r, 2, 1);
    expect_plain(eid_of(doc), DV1, &k1, 1);
    expect_plain(eid_of(doc), DV1, &k2, 1);
    expect_plain(eid_of(doc), DV1, both, 2);
    xmlFreeDoc(doc);
}

/* ---- refusals ---- */

static void test_recipient_mismatch(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    expect_refused(eid_of(doc), DV2, &k, 1, "no EncryptedKey for recipient");
    xmlFreeDoc(doc);
}

static void test_unknown_keyname(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.other);
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    expect_refused(eid_of(doc), DV1, &k, 1, "unknown KeyName");
    /* The right name on the wrong key: the unwrap fails, nothing leaks. */
    k.key_name = fx.k1.name;
    expect_refused(eid_of(doc), DV1, &k, 1, "key decryption failed");
    xmlFreeDoc(doc);
}

static void set_cipher_value(xmlNodePtr enc, const uint8_t *data, size_t len)
{
    char *b64 = zr_base64_encode(data, len);
    xmlNodePtr cv = zr_xml_child(zr_xml_child(enc, ZR_NS_XENC, "CipherData"), ZR_NS_XENC, "CipherValue");
    assert_non_null(cv);
    xmlNodeSetContent(cv, BAD_CAST b64);
    free(b64);
}

static void get_cipher_value(xmlNodePtr enc, uint8_t **data, size_t *len)
{
    char *b64 = zr_xml_text(zr_xml_child(zr_xml_child(enc, ZR_NS_XENC, "CipherData"), ZR_NS_XENC, "CipherValue"));
    assert_int_equal(zr_base64_decode(b64, data, len), 0);
    free(b64);
}

static void test_corrupted_cipher_values(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    for (int gcm = 0; gcm < 2; gcm++) {
        xmlDocPtr doc = encrypted_doc(&r, 1, gcm);
        xmlNodePtr ed = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedData");
        xmlNodePtr ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
        uint8_t *data = NULL;
        size_t len = 0;

        get_cipher_value(ed, &data, &len);
        data[len - 1] ^= 0x01; /* GCM: the tag; CBC: the padding length byte */
        set_cipher_value(ed, data, len);
        expect_refused(eid_of(doc), DV1, &k, 1, gcm ? "data decryption failed" : NULL);
        set_cipher_value(ed, data, len - 1); /* truncated */
        expect_refused(eid_of(doc), DV1, &k, 1, "data decryption failed");
        free(data);

        get_cipher_value(ek, &data, &len);
        data[len / 2] ^= 0x40;
        set_cipher_value(ek, data, len);
        expect_refused(eid_of(doc), DV1, &k, 1, "key decryption failed");
        free(data);
        xmlFreeDoc(doc);
    }
}

static void test_unsupported_algorithms(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    xmlNodePtr ed = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
    xmlNodePtr ekm = zr_xml_child(ek, ZR_NS_XENC, "EncryptionMethod");

    xmlSetProp(ekm, BAD_CAST "Algorithm", BAD_CAST ZR_NS_XENC "rsa-1_5");
    expect_refused(eid_of(doc), DV1, &k, 1, "unsupported algorithm " ZR_NS_XENC "rsa-1_5");
    xmlSetProp(ekm, BAD_CAST "Algorithm", BAD_CAST ZR_NS_XENC "rsa-oaep-mgf1p");
    xmlSetProp(zr_xml_child(ekm, ZR_NS_DS, "DigestMethod"), BAD_CAST "Algorithm", BAD_CAST "urn:md5");
    expect_refused(eid_of(doc), DV1, &k, 1, "unsupported algorithm urn:md5");
    xmlSetProp(zr_xml_child(ekm, ZR_NS_DS, "DigestMethod"), BAD_CAST "Algorithm", BAD_CAST ZR_NS_DS "sha1");
    expect_plain(eid_of(doc), DV1, &k, 1);
    xmlSetProp(zr_xml_child(ed, ZR_NS_XENC, "EncryptionMethod"), BAD_CAST "Algorithm",
               BAD_CAST ZR_NS_XENC "tripledes-cbc");
    expect_refused(eid_of(doc), DV1, &k, 1, "unsupported algorithm " ZR_NS_XENC "tripledes-cbc");
    xmlFreeDoc(doc);
}

/* The chosen EncryptedKey must belong to the EncryptedData. */
static void test_untied_key_refused(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    xmlNodePtr ed = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
    xmlNodePtr rm = zr_xml_child(zr_xml_child(ed, ZR_NS_DS, "KeyInfo"), ZR_NS_DS, "RetrievalMethod");
    xmlNodePtr rl = zr_xml_child(ek, ZR_NS_XENC, "ReferenceList");

    xmlSetProp(rm, BAD_CAST "URI", BAD_CAST "#_elsewhere");
    expect_plain(eid_of(doc), DV1, &k, 1); /* DataReference still ties them */
    xmlUnlinkNode(rl);
    xmlFreeNode(rl);
    expect_refused(eid_of(doc), DV1, &k, 1, "does not refer to the EncryptedData");
    xmlFreeDoc(doc);
}

/* Also accepted: the EncryptedKey inside EncryptedData/ds:KeyInfo. */
static void test_key_inside_keyinfo(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 1);
    xmlNodePtr ed = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
    xmlNodePtr ki = zr_xml_child(ed, ZR_NS_DS, "KeyInfo");
    xmlNodePtr rm = zr_xml_child(ki, ZR_NS_DS, "RetrievalMethod");
    xmlNodePtr rl = zr_xml_child(ek, ZR_NS_XENC, "ReferenceList");

    xmlUnlinkNode(rm);
    xmlFreeNode(rm);
    xmlUnlinkNode(rl);
    xmlFreeNode(rl);
    xmlUnlinkNode(ek);
    xmlAddChild(ki, ek);
    xmlDocPtr back = tx_reparse(doc);
    expect_plain(eid_of(back), DV1, &k, 1);
    xmlFreeDoc(back);
    xmlFreeDoc(doc);
}

/* Re-wraps the AES key of ek with xmlenc11#rsa-oaep: OAEP digest SHA-256 and
 * MGF1 with mgf_md (NULL: leave MGF out, i.e. the MGF1-SHA1 default). */
static void rewrap_xmlenc11(xmlNodePtr ek, EVP_PKEY *priv, X509 *cert, const char *mgf_uri,
                            const EVP_MD *mgf_md)
{
    uint8_t *wrapped = NULL, aes[512], out[512];
    size_t wrapped_len = 0, aes_len = sizeof(aes), out_len = sizeof(out);
    EVP_PKEY_CTX *c;
    xmlNodePtr em = zr_xml_child(ek, ZR_NS_XENC, "EncryptionMethod");
    xmlNodePtr dm = zr_xml_child(em, ZR_NS_DS, "DigestMethod");

    get_cipher_value(ek, &wrapped, &wrapped_len);
    c = EVP_PKEY_CTX_new(priv, NULL);
    assert_true(EVP_PKEY_decrypt_init(c) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha1()) > 0);
    assert_true(EVP_PKEY_decrypt(c, aes, &aes_len, wrapped, wrapped_len) > 0);
    EVP_PKEY_CTX_free(c);
    free(wrapped);

    c = EVP_PKEY_CTX_new(X509_get0_pubkey(cert), NULL);
    assert_true(EVP_PKEY_encrypt_init(c) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_oaep_md(c, EVP_sha256()) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_mgf1_md(c, mgf_md ? mgf_md : EVP_sha1()) > 0);
    assert_true(EVP_PKEY_encrypt(c, out, &out_len, aes, aes_len) > 0);
    EVP_PKEY_CTX_free(c);
    set_cipher_value(ek, out, out_len);

    xmlSetProp(em, BAD_CAST "Algorithm", BAD_CAST ZR_NS_XENC11 "rsa-oaep");
    xmlSetProp(dm, BAD_CAST "Algorithm", BAD_CAST "http://www.w3.org/2001/04/xmlenc#sha256");
    if (mgf_uri) {
        xmlNodePtr mgf = xmlNewChild(em, NULL, BAD_CAST "MGF", NULL);
        xmlSetNs(mgf, xmlNewNs(mgf, BAD_CAST ZR_NS_XENC11, BAD_CAST "xenc11"));
        xmlNewProp(mgf, BAD_CAST "Algorithm", BAD_CAST mgf_uri);
    }
}

static void test_xmlenc11_rsa_oaep_sha256(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);

    /* SHA-256 digest with MGF1-SHA256, after a round trip through text. */
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    xmlNodePtr ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
    rewrap_xmlenc11(ek, fx.k1.key, fx.k1.cert, ZR_NS_XENC11 "mgf1sha256", EVP_sha256());
    xmlDocPtr back = tx_reparse(doc);
    expect_plain(eid_of(back), DV1, &k, 1);
    xmlFreeDoc(back);
    /* Claiming MGF1-SHA1 for a key wrapped with MGF1-SHA256 fails. */
    xmlSetProp(zr_xml_child(zr_xml_child(ek, ZR_NS_XENC, "EncryptionMethod"), ZR_NS_XENC11, "MGF"),
               BAD_CAST "Algorithm", BAD_CAST ZR_NS_XENC11 "mgf1sha1");
    expect_refused(eid_of(doc), DV1, &k, 1, "key decryption failed");
    xmlFreeDoc(doc);

    /* SHA-256 digest, MGF absent = MGF1-SHA1. */
    doc = encrypted_doc(&r, 1, 1);
    ek = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedKey");
    rewrap_xmlenc11(ek, fx.k1.key, fx.k1.cert, NULL, NULL);
    expect_plain(eid_of(doc), DV1, &k, 1);
    xmlFreeDoc(doc);
}

/* The plaintext must be one well-formed element. */
static void test_plaintext_must_be_xml(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    /* CBC: flipping IV byte 0 flips plaintext byte 0, so '<' becomes 'x'
     * while padding and key stay valid; only the XML check can refuse it. */
    xmlDocPtr doc = encrypted_doc(&r, 1, 0);
    xmlNodePtr ed = zr_xml_child(eid_of(doc), ZR_NS_XENC, "EncryptedData");
    uint8_t *data = NULL;
    size_t len = 0;
    get_cipher_value(ed, &data, &len);
    data[0] ^= '<' ^ 'x';
    set_cipher_value(ed, data, len);
    expect_refused(eid_of(doc), DV1, &k, 1, "decrypted data is not one XML element");
    free(data);
    xmlFreeDoc(doc);
}

/* Unwraps the AES key of a GCM EncryptedID (test holds the private key) and
 * replaces the ciphertext by an encryption of `plain`. */
static void set_plaintext_gcm(xmlNodePtr eid, EVP_PKEY *priv, const char *plain)
{
    xmlNodePtr ed = zr_xml_child(eid, ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ek = zr_xml_child(eid, ZR_NS_XENC, "EncryptedKey");
    uint8_t *wrapped = NULL, aes[512], buf[1024];
    size_t wrapped_len = 0, aes_len = sizeof(aes), n = strlen(plain);
    EVP_PKEY_CTX *c;
    EVP_CIPHER_CTX *cc;
    int len = 0;

    assert_true(n + 28 < sizeof(buf));
    get_cipher_value(ek, &wrapped, &wrapped_len);
    c = EVP_PKEY_CTX_new(priv, NULL);
    assert_true(EVP_PKEY_decrypt_init(c) > 0);
    assert_true(EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_OAEP_PADDING) > 0);
    assert_true(EVP_PKEY_decrypt(c, aes, &aes_len, wrapped, wrapped_len) > 0);
    assert_int_equal(aes_len, 32);
    EVP_PKEY_CTX_free(c);
    free(wrapped);
    memset(buf, 7, 12); /* IV */
    cc = EVP_CIPHER_CTX_new();
    assert_int_equal(EVP_EncryptInit_ex(cc, EVP_aes_256_gcm(), NULL, aes, buf), 1);
    assert_int_equal(EVP_EncryptUpdate(cc, buf + 12, &len, (const uint8_t *)plain, (int)n), 1);
    assert_int_equal(EVP_EncryptFinal_ex(cc, buf + 12 + len, &len), 1);
    assert_int_equal(EVP_CIPHER_CTX_ctrl(cc, EVP_CTRL_GCM_GET_TAG, 16, buf + 12 + n), 1);
    EVP_CIPHER_CTX_free(cc);
    set_cipher_value(ed, buf, 12 + n + 16);
}

static void test_plaintext_forms(void **state)
{
    zr_xml_encrypt_recipient_t r = rcpt(DV1, &fx.k1);
    zr_xml_decrypt_key_t k = dkey(&fx.k1);
    xmlDocPtr doc = encrypted_doc(&r, 1, 1);
    xmlNodePtr eid = eid_of(doc);
    char err[256] = "";
    char *plain = NULL;

    /* Sanity: the helper's own ciphertext of a standalone element decrypts. */
    set_plaintext_gcm(eid, fx.k1.key, "<saml2:NameID xmlns:saml2=\"" ZR_NS_SAML "\">" BSN "</saml2:NameID>");
    assert_int_equal(zr_xml_decrypt_encrypted_id(eid, DV1, &k, 1, &plain, err, sizeof(err)), 0);
    free(plain);
    /* A prefix declared only around the EncryptedID (XML Encryption §4.4):
     * resolved in context, returned standalone. */
    set_plaintext_gcm(eid, fx.k1.key, "<saml2:NameID NameQualifier=\"q\">" BSN "</saml2:NameID>");
    if (zr_xml_decrypt_encrypted_id(eid, DV1, &k, 1, &plain, err, sizeof(err)) != 0)
        fail_msg("in-context plaintext: %s", err);
    assert_non_null(strstr(plain, "xmlns:saml2=\"" ZR_NS_SAML "\""));
    assert_non_null(strstr(plain, ">" BSN "<"));
    xmlDocPtr alone = tx_parse(plain);
    xmlFreeDoc(alone);
    free(plain);
    /* Refused: unknown prefix, no element, two elements, a DOCTYPE. */
    set_plaintext_gcm(eid, fx.k1.key, "<foo:NameID>" BSN "</foo:NameID>");
    expect_refused(eid, DV1, &k, 1, "decrypted data is not one XML element");
    set_plaintext_gcm(eid, fx.k1.key, BSN);
    expect_refused(eid, DV1, &k, 1, "decrypted data is not one XML element");
    set_plaintext_gcm(eid, fx.k1.key, "<a>1</a><a>2</a>");
    expect_refused(eid, DV1, &k, 1, "decrypted data is not one XML element");
    set_plaintext_gcm(eid, fx.k1.key, "<!DOCTYPE a [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><a>&e;</a>");
    expect_refused(eid, DV1, &k, 1, "DOCTYPE not allowed");
    xmlFreeDoc(doc);
}

/* The official example's EncryptedID: the recipient and KeyName rules apply
 * to the real shape. */
static void test_official_example_selection(void **state)
{
    const char *shared = getenv("ZR_SHARED");
    char path[1024], err[256] = "";
    char *data = NULL;
    size_t len = 0;
    xmlDocPtr doc;
    xmlNodePtr eid;
    zr_xml_decrypt_key_t k = {fx.k1.key, NULL, NULL};

    snprintf(path, sizeof(path), "%s/specs/st-saml/examples/artifact_response.xml",
             shared ? shared : ZR_SOURCE_DIR "/tests/data/shared");
    assert_int_equal(zr_file_read(path, ZR_XML_MAX_BYTES, &data, &len), 0);
    doc = zr_xml_parse(data, len, 0, err, sizeof(err));
    assert_non_null(doc);
    eid = tx_find(xmlDocGetRootElement(doc), ZR_NS_SAML, "EncryptedID");
    assert_non_null(eid);
    k.key_name = "1d0bc832d839df789eca8bae611c3ad7ec5c5074";
    expect_refused(eid, "urn:nl-eid-gdi:1.0:DV:00000009999999999999:entities:0000", &k, 1,
                   "no EncryptedKey for recipient");
    k.key_name = "0000000000000000000000000000000000000000";
    expect_refused(eid, "urn:nl-eid-gdi:1.0:DV:00000009999999999004:entities:0000", &k, 1,
                   "unknown KeyName");
    /* Our (test) key under the example's KeyName: selected, unwrap fails. */
    k.key_name = "1D0BC832D839DF789ECA8BAE611C3AD7EC5C5074";
    expect_refused(eid, "urn:nl-eid-gdi:1.0:DV:00000009999999999004:entities:0000", &k, 1,
                   "key decryption failed");
    xmlFreeDoc(doc);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_like_official_example),
        cmocka_unit_test(test_roundtrip_cbc_and_gcm),
        cmocka_unit_test(test_two_recipients),
        cmocka_unit_test(test_rollover_either_key),
        cmocka_unit_test(test_recipient_mismatch),
        cmocka_unit_test(test_unknown_keyname),
        cmocka_unit_test(test_corrupted_cipher_values),
        cmocka_unit_test(test_unsupported_algorithms),
        cmocka_unit_test(test_untied_key_refused),
        cmocka_unit_test(test_key_inside_keyinfo),
        cmocka_unit_test(test_xmlenc11_rsa_oaep_sha256),
        cmocka_unit_test(test_plaintext_must_be_xml),
        cmocka_unit_test(test_plaintext_forms),
        cmocka_unit_test(test_official_example_selection),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
