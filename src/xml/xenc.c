/* XML Encryption of the BSN: saml:EncryptedID with one xenc:EncryptedData and
 * one xenc:EncryptedKey per recipient (ST-SAML §EncryptedID, shape of
 * examples/artifact_response.xml).
 *
 * Hand-written on OpenSSL EVP instead of xmlsec's EncCtx, because:
 * - xmlsec 1.2.37 knows only xmlenc#rsa-oaep-mgf1p (with a SHA-1 digest);
 *   xmlenc11#rsa-oaep with a SHA-256 digest and an MGF1 choice, which TVS
 *   may use, arrived in xmlsec 1.3;
 * - EncCtx finds the key by resolving KeyInfo through a keys manager and
 *   would try every EncryptedKey it can reach; we must pick exactly the one
 *   for our Recipient and KeyName and never try keys meant for others;
 * - EncCtx decrypts into the document; we want the plaintext as a string
 *   that goes through the hardened parser, and every buffer wiped;
 * - TVS (Java) pads CBC per XML Encryption (random bytes, last byte = pad
 *   length), which a PKCS#7 check would refuse.
 * The CBC data is not authenticated; it is only ever decrypted after the
 * assertion that carries it passed signature verification. */
#include "xml_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "zr/util.h"

#define ZR_XENC_ELEMENT        ZR_NS_XENC "Element"
#define ZR_XENC_ENCRYPTED_KEY  ZR_NS_XENC "EncryptedKey"
#define ZR_XENC_AES128_CBC     ZR_NS_XENC "aes128-cbc"
#define ZR_XENC_AES256_CBC     ZR_NS_XENC "aes256-cbc"
#define ZR_XENC_AES128_GCM     ZR_NS_XENC11 "aes128-gcm"
#define ZR_XENC_AES256_GCM     ZR_NS_XENC11 "aes256-gcm"
#define ZR_XENC_RSA_OAEP_MGF1P ZR_NS_XENC "rsa-oaep-mgf1p"
#define ZR_XENC11_RSA_OAEP     ZR_NS_XENC11 "rsa-oaep"
#define ZR_DS_SHA1             ZR_NS_DS "sha1"

#define ZR_XENC_MAX_CIPHER (64 * 1024)

typedef struct {
    const char *uri;
    int gcm;
    size_t key_len;
} zr_xenc_data_alg_t;

static const zr_xenc_data_alg_t zr_xenc_data_algs[] = {
    {ZR_XENC_AES128_CBC, 0, 16},
    {ZR_XENC_AES256_CBC, 0, 32},
    {ZR_XENC_AES128_GCM, 1, 16},
    {ZR_XENC_AES256_GCM, 1, 32},
};

/* Digest URIs for OAEP (SHA-1 is allowed here: it is OAEP's hash, not a
 * signature digest). */
static const EVP_MD *zr_xenc_digest(const char *uri)
{
    if (!uri || strcmp(uri, ZR_DS_SHA1) == 0)
        return EVP_sha1();
    if (strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#sha224") == 0)
        return EVP_sha224();
    if (strcmp(uri, "http://www.w3.org/2001/04/xmlenc#sha256") == 0)
        return EVP_sha256();
    if (strcmp(uri, "http://www.w3.org/2001/04/xmldsig-more#sha384") == 0)
        return EVP_sha384();
    if (strcmp(uri, "http://www.w3.org/2001/04/xmlenc#sha512") == 0)
        return EVP_sha512();
    return NULL;
}

/* xenc11:MGF Algorithm (XML Encryption 1.1 §5.5.2); default MGF1 with SHA-1. */
static const EVP_MD *zr_xenc_mgf(const char *uri)
{
    if (!uri || strcmp(uri, ZR_NS_XENC11 "mgf1sha1") == 0)
        return EVP_sha1();
    if (strcmp(uri, ZR_NS_XENC11 "mgf1sha224") == 0)
        return EVP_sha224();
    if (strcmp(uri, ZR_NS_XENC11 "mgf1sha256") == 0)
        return EVP_sha256();
    if (strcmp(uri, ZR_NS_XENC11 "mgf1sha384") == 0)
        return EVP_sha384();
    if (strcmp(uri, ZR_NS_XENC11 "mgf1sha512") == 0)
        return EVP_sha512();
    return NULL;
}

/* Decoded xenc:CipherData/CipherValue of an EncryptedData or EncryptedKey. */
static int zr_xenc_cipher_value(xmlNodePtr enc, uint8_t **out, size_t *out_len, char *err,
                                size_t errlen)
{
    xmlNodePtr cd = zr_xml_child(enc, ZR_NS_XENC, "CipherData");
    xmlNodePtr cv = zr_xml_child(cd, ZR_NS_XENC, "CipherValue");
    char *b64 = NULL;
    int rc = -1;

    *out = NULL;
    if (!cd || zr_xml_count_children(enc, ZR_NS_XENC, "CipherData") != 1) {
        zr_xml_fail(err, errlen, "%s without CipherData", (const char *)enc->name);
        goto end;
    }
    if (zr_xml_child(cd, ZR_NS_XENC, "CipherReference")) {
        zr_xml_fail(err, errlen, "unsupported algorithm CipherReference");
        goto end;
    }
    if (!cv || zr_xml_count_children(cd, ZR_NS_XENC, "CipherValue") != 1) {
        zr_xml_fail(err, errlen, "%s without CipherValue", (const char *)enc->name);
        goto end;
    }
    b64 = zr_xml_text(cv);
    if (!b64 || strlen(b64) > ZR_XENC_MAX_CIPHER || zr_base64_decode(b64, out, out_len) != 0) {
        zr_xml_fail(err, errlen, "%s: CipherValue is not base64", (const char *)enc->name);
        goto end;
    }
    rc = 0;
end:
    free(b64);
    return rc;
}

/* ---- decryption ---- */

/* The KeyName of an EncryptedKey names one of keys[]? Returns its index. */
static int zr_xenc_key_index(xmlNodePtr ek, const zr_xml_decrypt_key_t *keys, size_t key_count)
{
    xmlNodePtr ki = zr_xml_child(ek, ZR_NS_DS, "KeyInfo");
    int found = -1;
    for (xmlNodePtr kn = zr_xml_child(ki, ZR_NS_DS, "KeyName"); kn && found < 0;
         kn = zr_xml_next(kn, ZR_NS_DS, "KeyName")) {
        char *text = zr_xml_text(kn);
        for (size_t i = 0; i < key_count && found < 0; i++)
            if (keys[i].key && (zr_xml_keyname_matches(text, keys[i].key_name) ||
                                zr_xml_keyname_matches(text, keys[i].key_name_sha256)))
                found = (int)i;
        free(text);
    }
    return found;
}

static int zr_xenc_ref_is(const char *uri, xmlNodePtr target, const char *id_attr)
{
    char *id = zr_xml_attr(target, id_attr);
    int eq = uri && id && *id && uri[0] == '#' && strcmp(uri + 1, id) == 0;
    free(id);
    return eq;
}

/* The EncryptedKey belongs to this EncryptedData: it sits in its KeyInfo, or
 * the data's RetrievalMethod names it, or its ReferenceList names the data
 * (the second and further recipients: RetrievalMethod names the first). */
static int zr_xenc_tied(xmlNodePtr ed, xmlNodePtr ek)
{
    xmlNodePtr ki = zr_xml_child(ed, ZR_NS_DS, "KeyInfo");
    xmlNodePtr rl = zr_xml_child(ek, ZR_NS_XENC, "ReferenceList");
    int tied = ek->parent == ki;

    for (xmlNodePtr rm = zr_xml_child(ki, ZR_NS_DS, "RetrievalMethod"); rm && !tied;
         rm = zr_xml_next(rm, ZR_NS_DS, "RetrievalMethod")) {
        char *type = zr_xml_attr(rm, "Type");
        char *uri = zr_xml_attr(rm, "URI");
        tied = (!type || strcmp(type, ZR_XENC_ENCRYPTED_KEY) == 0) && zr_xenc_ref_is(uri, ek, "Id");
        free(type);
        free(uri);
    }
    for (xmlNodePtr dr = zr_xml_child(rl, ZR_NS_XENC, "DataReference"); dr && !tied;
         dr = zr_xml_next(dr, ZR_NS_XENC, "DataReference")) {
        char *uri = zr_xml_attr(dr, "URI");
        tied = zr_xenc_ref_is(uri, ed, "Id");
        free(uri);
    }
    return tied;
}

/* RSA-OAEP unwrap of the EncryptedKey into key[expect_len]. */
static int zr_xenc_unwrap(xmlNodePtr ek, EVP_PKEY *pkey, uint8_t *key, size_t expect_len,
                          char *err, size_t errlen)
{
    xmlNodePtr em = zr_xml_child(ek, ZR_NS_XENC, "EncryptionMethod");
    xmlNodePtr dm = zr_xml_child(em, ZR_NS_DS, "DigestMethod");
    xmlNodePtr mgf = zr_xml_child(em, ZR_NS_XENC11, "MGF");
    xmlNodePtr params = zr_xml_child(em, ZR_NS_XENC, "OAEPparams");
    char *alg = zr_xml_attr(em, "Algorithm");
    char *dm_alg = dm ? zr_xml_attr(dm, "Algorithm") : NULL;
    char *mgf_alg = mgf ? zr_xml_attr(mgf, "Algorithm") : NULL;
    char *label_b64 = NULL;
    uint8_t *label = NULL, *wrapped = NULL, *out = NULL;
    size_t label_len = 0, wrapped_len = 0, out_len = 0;
    const EVP_MD *md, *mgf_md;
    EVP_PKEY_CTX *pctx = NULL;
    int rc = -1;

    if (!alg) {
        zr_xml_fail(err, errlen, "EncryptedKey without EncryptionMethod");
        goto end;
    }
    if (strcmp(alg, ZR_XENC_RSA_OAEP_MGF1P) == 0) {
        /* mgf1p: MGF1 with SHA-1 by definition, no MGF element */
        if (mgf) {
            zr_xml_fail(err, errlen, "unsupported algorithm MGF with %s", alg);
            goto end;
        }
    } else if (strcmp(alg, ZR_XENC11_RSA_OAEP) != 0) {
        zr_xml_fail(err, errlen, "unsupported algorithm %s", alg);
        goto end;
    }
    md = zr_xenc_digest(dm_alg);
    if (!md) {
        zr_xml_fail(err, errlen, "unsupported algorithm %s", dm_alg);
        goto end;
    }
    mgf_md = zr_xenc_mgf(mgf_alg);
    if (!mgf_md) {
        zr_xml_fail(err, errlen, "unsupported algorithm %s", mgf_alg);
        goto end;
    }
    if (params) {
        label_b64 = zr_xml_text(params);
        if (!label_b64 || zr_base64_decode(label_b64, &label, &label_len) != 0) {
            zr_xml_fail(err, errlen, "OAEPparams is not base64");
            goto end;
        }
    }
    if (zr_xenc_cipher_value(ek, &wrapped, &wrapped_len, err, errlen) != 0)
        goto end;
    pctx = EVP_PKEY_CTX_new(pkey, NULL);
    if (!pctx || EVP_PKEY_decrypt_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, md) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, mgf_md) <= 0) {
        zr_xml_fail(err, errlen, "key decryption failed: key is not an RSA private key");
        goto end;
    }
    if (label_len > 0) {
        /* set0 takes ownership of an OPENSSL_malloc'ed copy */
        uint8_t *l = OPENSSL_memdup(label, label_len);
        if (!l || EVP_PKEY_CTX_set0_rsa_oaep_label(pctx, l, (int)label_len) <= 0) {
            OPENSSL_free(l);
            zr_xml_fail(err, errlen, "key decryption failed");
            goto end;
        }
    }
    if (EVP_PKEY_decrypt(pctx, NULL, &out_len, wrapped, wrapped_len) <= 0 ||
        !(out = OPENSSL_malloc(out_len)) ||
        EVP_PKEY_decrypt(pctx, out, &out_len, wrapped, wrapped_len) <= 0) {
        zr_xml_fail(err, errlen, "key decryption failed");
        goto end;
    }
    if (out_len != expect_len) {
        zr_xml_fail(err, errlen, "key decryption failed: wrong key length for the data algorithm");
        goto end;
    }
    memcpy(key, out, expect_len);
    rc = 0;
end:
    if (out)
        OPENSSL_clear_free(out, out_len);
    EVP_PKEY_CTX_free(pctx);
    free(wrapped);
    free(label);
    free(label_b64);
    free(mgf_alg);
    free(dm_alg);
    free(alg);
    return rc;
}

/* AES-CBC (IV = first 16 bytes, XML Encryption padding) or AES-GCM (IV 12,
 * tag 16 at the end). *plain is malloc'ed with a NUL after plain_len bytes. */
static int zr_xenc_decrypt_data(const zr_xenc_data_alg_t *alg, const uint8_t *key,
                                const uint8_t *in, size_t in_len, char **plain,
                                size_t *plain_len, char *err, size_t errlen)
{
    const size_t iv_len = alg->gcm ? 12 : 16, tag_len = alg->gcm ? 16 : 0;
    const EVP_CIPHER *cipher = alg->gcm ? (alg->key_len == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm())
                                        : (alg->key_len == 16 ? EVP_aes_128_cbc() : EVP_aes_256_cbc());
    EVP_CIPHER_CTX *ctx = NULL;
    uint8_t *out = NULL;
    size_t ct_len = 0, total = 0;
    int n = 0, rc = -1;

    *plain = NULL;
    if (in_len < iv_len + tag_len + (alg->gcm ? 1 : 16) ||
        (!alg->gcm && (in_len - iv_len) % 16 != 0)) {
        zr_xml_fail(err, errlen, "data decryption failed: bad ciphertext length");
        goto end;
    }
    ct_len = in_len - iv_len - tag_len;
    out = malloc(ct_len + 17);
    ctx = EVP_CIPHER_CTX_new();
    if (!out || !ctx || EVP_DecryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
        (alg->gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, (int)iv_len, NULL) != 1) ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, in) != 1) {
        zr_xml_fail(err, errlen, "data decryption failed");
        goto end;
    }
    EVP_CIPHER_CTX_set_padding(ctx, 0);
    if (EVP_DecryptUpdate(ctx, out, &n, in + iv_len, (int)ct_len) != 1) {
        zr_xml_fail(err, errlen, "data decryption failed");
        goto end;
    }
    total = (size_t)n;
    if (alg->gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, (int)tag_len,
                                        (void *)(in + in_len - tag_len)) != 1) {
        zr_xml_fail(err, errlen, "data decryption failed");
        goto end;
    }
    if (EVP_DecryptFinal_ex(ctx, out + total, &n) != 1) {
        zr_xml_fail(err, errlen, "data decryption failed");
        goto end;
    }
    total += (size_t)n;
    if (!alg->gcm) {
        /* XML Encryption §5.2: last byte = number of padding bytes (1..16);
         * the other padding bytes are arbitrary. */
        size_t pad = total ? out[total - 1] : 0;
        if (pad < 1 || pad > 16 || pad > total) {
            zr_xml_fail(err, errlen, "data decryption failed: bad padding");
            goto end;
        }
        OPENSSL_cleanse(out + total - pad, pad);
        total -= pad;
    }
    out[total] = '\0';
    *plain = (char *)out;
    *plain_len = total;
    out = NULL;
    rc = 0;
end:
    if (out) {
        OPENSSL_cleanse(out, ct_len + 17);
        free(out);
    }
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

/* Declared below (encryption side); also used to make a plaintext standalone. */
static int zr_xenc_serialise(xmlNodePtr node, char **out, size_t *out_len);

/* XML Encryption §4.4: an Element plaintext belongs in the context of the
 * EncryptedData, so it may use prefixes declared only there. Parses it inside
 * a wrapper declaring the namespaces in scope at ctx_node, and returns the
 * element serialised standalone (its namespaces declared on itself). */
static char *zr_xenc_parse_in_context(xmlNodePtr ctx_node, const char *pt, size_t pt_len,
                                      size_t *out_len, char *why, size_t whylen)
{
    xmlNsPtr *list = xmlGetNsList(ctx_node->doc, ctx_node);
    zr_buf_t open;
    char *wrapped = NULL, *out = NULL;
    size_t wrapped_len = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr only = NULL;

    zr_buf_init(&open);
    if (zr_buf_appends(&open, "<context") != 0)
        goto end;
    for (size_t i = 0; list && list[i]; i++) {
        if (zr_buf_printf(&open, " xmlns%s%s=\"", list[i]->prefix ? ":" : "",
                          list[i]->prefix ? (const char *)list[i]->prefix : "") != 0 ||
            zr_buf_append_html(&open, (const char *)list[i]->href) != 0 ||
            zr_buf_appends(&open, "\"") != 0)
            goto end;
    }
    if (zr_buf_appends(&open, ">") != 0)
        goto end;
    wrapped_len = open.len + pt_len + 10;
    wrapped = malloc(wrapped_len + 1);
    if (!wrapped)
        goto end;
    memcpy(wrapped, open.data, open.len);
    memcpy(wrapped + open.len, pt, pt_len);
    memcpy(wrapped + open.len + pt_len, "</context>", 11);
    doc = zr_xml_parse(wrapped, wrapped_len, 0, why, whylen);
    if (!doc)
        goto end;
    for (xmlNodePtr c = xmlDocGetRootElement(doc)->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && !only) {
            only = c;
        } else if (c->type != XML_TEXT_NODE || !xmlIsBlankNode(c)) {
            only = NULL;
            break;
        }
    }
    if (!only || zr_xenc_serialise(only, &out, out_len) != 0) {
        zr_xml_fail(why, whylen, "not exactly one element");
        goto end;
    }
end:
    if (doc) {
        zr_xml_wipe_tree((xmlNodePtr)doc);
        xmlFreeDoc(doc);
    }
    if (wrapped) {
        OPENSSL_cleanse(wrapped, wrapped_len + 1);
        free(wrapped);
    }
    zr_buf_free(&open);
    if (list)
        xmlFree(list);
    return out;
}

int zr_xml_decrypt_encrypted_id(xmlNodePtr encrypted_id, const char *recipient,
                                const zr_xml_decrypt_key_t *keys, size_t key_count,
                                char **plain, char *err, size_t errlen)
{
    xmlNodePtr ed, ki, chosen = NULL;
    xmlNodePtr candidates[2] = {NULL, NULL}; /* sibling list, KeyInfo list */
    const zr_xenc_data_alg_t *alg = NULL;
    char *type = NULL, *alg_uri = NULL, *pt = NULL;
    uint8_t key[32];
    uint8_t *ct = NULL;
    size_t ct_len = 0, pt_len = 0;
    int key_index = -1, for_us = 0, rc = -1;
    xmlDocPtr check = NULL;
    char why[200];

    if (plain)
        *plain = NULL;
    if (!plain || !recipient || !*recipient || !keys || key_count == 0) {
        zr_xml_fail(err, errlen, "no recipient or no decryption key");
        goto end;
    }
    if (!zr_xml_is(encrypted_id, ZR_NS_SAML, "EncryptedID")) {
        zr_xml_fail(err, errlen, "not a saml:EncryptedID");
        goto end;
    }
    if (zr_xml_count_children(encrypted_id, ZR_NS_XENC, "EncryptedData") != 1) {
        zr_xml_fail(err, errlen, "EncryptedID must hold exactly one EncryptedData");
        goto end;
    }
    ed = zr_xml_child(encrypted_id, ZR_NS_XENC, "EncryptedData");
    type = zr_xml_attr(ed, "Type");
    if (type && strcmp(type, ZR_XENC_ELEMENT) != 0) {
        zr_xml_fail(err, errlen, "unsupported algorithm %s (EncryptedData Type)", type);
        goto end;
    }
    alg_uri = zr_xml_attr(zr_xml_child(ed, ZR_NS_XENC, "EncryptionMethod"), "Algorithm");
    for (size_t i = 0; alg_uri && i < sizeof(zr_xenc_data_algs) / sizeof(zr_xenc_data_algs[0]); i++)
        if (strcmp(alg_uri, zr_xenc_data_algs[i].uri) == 0)
            alg = &zr_xenc_data_algs[i];
    if (!alg) {
        zr_xml_fail(err, errlen, "unsupported algorithm %s", alg_uri ? alg_uri : "(none)");
        goto end;
    }

    /* EncryptedKeys: siblings of EncryptedData (TVS) or inside its KeyInfo.
     * Only ours (Recipient) are looked at, and of those only one whose
     * KeyName we hold is ever used. */
    ki = zr_xml_child(ed, ZR_NS_DS, "KeyInfo");
    candidates[0] = encrypted_id->children;
    candidates[1] = ki ? ki->children : NULL;
    for (size_t l = 0; l < 2 && !chosen; l++) {
        for (xmlNodePtr ek = candidates[l]; ek && !chosen; ek = ek->next) {
            if (!zr_xml_is(ek, ZR_NS_XENC, "EncryptedKey") ||
                !zr_xml_attr_equals(ek, "Recipient", recipient))
                continue;
            for_us = 1;
            key_index = zr_xenc_key_index(ek, keys, key_count);
            if (key_index >= 0)
                chosen = ek;
        }
    }
    if (!for_us) {
        zr_xml_fail(err, errlen, "no EncryptedKey for recipient");
        goto end;
    }
    if (!chosen) {
        zr_xml_fail(err, errlen, "unknown KeyName");
        goto end;
    }
    if (!zr_xenc_tied(ed, chosen)) {
        zr_xml_fail(err, errlen, "EncryptedKey does not refer to the EncryptedData");
        goto end;
    }
    if (zr_xenc_unwrap(chosen, keys[key_index].key, key, alg->key_len, err, errlen) != 0)
        goto end;
    if (zr_xenc_cipher_value(ed, &ct, &ct_len, err, errlen) != 0)
        goto end;
    if (zr_xenc_decrypt_data(alg, key, ct, ct_len, &pt, &pt_len, err, errlen) != 0)
        goto end;
    /* One well-formed element, through the same hardened parser. */
    if (strlen(pt) != pt_len) {
        zr_xml_fail(err, errlen, "decrypted data is not XML");
        goto end;
    }
    check = zr_xml_parse(pt, pt_len, 0, why, sizeof(why));
    if (!check) {
        char ctx_why[200];
        size_t std_len = 0;
        char *standalone = zr_xenc_parse_in_context(encrypted_id, pt, pt_len, &std_len, ctx_why,
                                                    sizeof(ctx_why));
        if (!standalone) {
            zr_xml_fail(err, errlen, "decrypted data is not one XML element: %s", why);
            goto end;
        }
        OPENSSL_cleanse(pt, pt_len);
        free(pt);
        pt = standalone;
        pt_len = std_len;
    }
    *plain = pt;
    pt = NULL;
    rc = 0;
end:
    OPENSSL_cleanse(key, sizeof(key));
    if (check) {
        zr_xml_wipe_tree((xmlNodePtr)check);
        xmlFreeDoc(check);
    }
    if (pt) {
        OPENSSL_cleanse(pt, pt_len);
        free(pt);
    }
    free(ct);
    free(alg_uri);
    free(type);
    return rc;
}

/* ---- encryption (mock TVS) ---- */

/* The element serialised on its own: namespaces declared on ancestors are
 * re-declared on it, so the plaintext parses without context. */
static int zr_xenc_serialise(xmlNodePtr node, char **out, size_t *out_len)
{
    xmlDocPtr tmp = xmlNewDoc(BAD_CAST "1.0");
    xmlNodePtr copy = tmp ? xmlDocCopyNode(node, tmp, 1) : NULL;
    xmlBufferPtr buf = NULL;
    int rc = -1;

    *out = NULL;
    if (!copy)
        goto end;
    xmlDocSetRootElement(tmp, copy);
    buf = xmlBufferCreate();
    if (!buf || xmlNodeDump(buf, tmp, copy, 0, 0) < 0)
        goto end;
    *out_len = (size_t)xmlBufferLength(buf);
    *out = malloc(*out_len + 1);
    if (!*out)
        goto end;
    memcpy(*out, xmlBufferContent(buf), *out_len);
    (*out)[*out_len] = '\0';
    rc = 0;
end:
    if (buf) {
        OPENSSL_cleanse((void *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
        xmlBufferFree(buf);
    }
    if (tmp) {
        zr_xml_wipe_tree((xmlNodePtr)tmp);
        xmlFreeDoc(tmp);
    }
    return rc;
}

static int zr_xenc_encrypt_data(int gcm, const uint8_t key[32], const char *plain,
                                size_t plain_len, char **b64)
{
    const size_t iv_len = gcm ? 12 : 16;
    size_t cap = iv_len + plain_len + 16 + 16, total;
    uint8_t *buf = malloc(cap);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int n = 0, rc = -1;

    *b64 = NULL;
    if (!buf || !ctx || zr_random_bytes(buf, iv_len) != 0 ||
        EVP_EncryptInit_ex(ctx, gcm ? EVP_aes_256_gcm() : EVP_aes_256_cbc(), NULL, key, buf) != 1 ||
        EVP_EncryptUpdate(ctx, buf + iv_len, &n, (const uint8_t *)plain, (int)plain_len) != 1)
        goto end;
    total = iv_len + (size_t)n;
    /* CBC: PKCS#7 padding is one valid form of XML Encryption padding. */
    if (EVP_EncryptFinal_ex(ctx, buf + total, &n) != 1)
        goto end;
    total += (size_t)n;
    if (gcm) {
        if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, buf + total) != 1)
            goto end;
        total += 16;
    }
    *b64 = zr_base64_encode(buf, total);
    rc = *b64 ? 0 : -1;
end:
    EVP_CIPHER_CTX_free(ctx);
    if (buf) {
        OPENSSL_cleanse(buf, cap);
        free(buf);
    }
    return rc;
}

/* rsa-oaep-mgf1p with SHA-1, as in every official example. */
static char *zr_xenc_wrap_key(X509 *cert, const uint8_t key[32])
{
    EVP_PKEY *pub = X509_get0_pubkey(cert);
    EVP_PKEY_CTX *pctx = pub ? EVP_PKEY_CTX_new(pub, NULL) : NULL;
    uint8_t *out = NULL;
    size_t out_len = 0;
    char *b64 = NULL;

    if (!pctx || EVP_PKEY_encrypt_init(pctx) <= 0 ||
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
        EVP_PKEY_CTX_set_rsa_oaep_md(pctx, EVP_sha1()) <= 0 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha1()) <= 0 ||
        EVP_PKEY_encrypt(pctx, NULL, &out_len, key, 32) <= 0 ||
        !(out = malloc(out_len)) || EVP_PKEY_encrypt(pctx, out, &out_len, key, 32) <= 0)
        goto end;
    b64 = zr_base64_encode(out, out_len);
end:
    free(out);
    EVP_PKEY_CTX_free(pctx);
    return b64;
}

/* xmlNewChild that reports failure through *failed. */
static xmlNodePtr zr_xenc_el(xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text,
                             int *failed)
{
    xmlNodePtr n = parent ? xmlNewChild(parent, ns, BAD_CAST name, NULL) : NULL;
    if (n && text)
        xmlNodeAddContent(n, BAD_CAST text);
    if (!n)
        *failed = 1;
    return n;
}

static void zr_xenc_at(xmlNodePtr node, const char *name, const char *value, int *failed)
{
    if (!node || !value || !xmlNewProp(node, BAD_CAST name, BAD_CAST value))
        *failed = 1;
}

/* <xenc:EncryptedKey Id Recipient> for one recipient (example shape). */
static void zr_xenc_add_key(xmlNodePtr eid, const zr_xml_encrypt_recipient_t *r, const char *key_id,
                            const char *data_ref, const char *wrapped, int *failed)
{
    xmlNodePtr ek = zr_xenc_el(eid, NULL, "EncryptedKey", NULL, failed);
    xmlNsPtr xenc = ek ? xmlNewNs(ek, BAD_CAST ZR_NS_XENC, BAD_CAST "xenc") : NULL;
    xmlNodePtr em, dm, ki, cd, rl, dr;
    xmlNsPtr ds;

    if (!xenc) {
        *failed = 1;
        return;
    }
    xmlSetNs(ek, xenc);
    zr_xenc_at(ek, "Id", key_id, failed);
    zr_xenc_at(ek, "Recipient", r->recipient, failed);
    em = zr_xenc_el(ek, xenc, "EncryptionMethod", NULL, failed);
    zr_xenc_at(em, "Algorithm", ZR_XENC_RSA_OAEP_MGF1P, failed);
    dm = zr_xenc_el(em, NULL, "DigestMethod", NULL, failed);
    ds = dm ? xmlNewNs(dm, BAD_CAST ZR_NS_DS, BAD_CAST "ds") : NULL;
    if (ds)
        xmlSetNs(dm, ds);
    zr_xenc_at(dm, "Algorithm", ZR_DS_SHA1, failed);
    ki = zr_xenc_el(ek, NULL, "KeyInfo", NULL, failed);
    ds = ki ? xmlNewNs(ki, BAD_CAST ZR_NS_DS, BAD_CAST "ds") : NULL;
    if (ds)
        xmlSetNs(ki, ds);
    zr_xenc_el(ki, ds, "KeyName", r->key_name, failed);
    cd = zr_xenc_el(ek, xenc, "CipherData", NULL, failed);
    zr_xenc_el(cd, xenc, "CipherValue", wrapped, failed);
    rl = zr_xenc_el(ek, xenc, "ReferenceList", NULL, failed);
    dr = zr_xenc_el(rl, xenc, "DataReference", NULL, failed);
    zr_xenc_at(dr, "URI", data_ref, failed);
    if (!ds)
        *failed = 1;
}

int zr_xml_encrypt_to_encrypted_id(xmlDocPtr doc, xmlNodePtr plain_node,
                                   const zr_xml_encrypt_recipient_t *recipients,
                                   size_t recipient_count, int gcm, char *err, size_t errlen)
{
    uint8_t key[32];
    char *plain = NULL, *data_b64 = NULL, *data_id = NULL, *data_ref = NULL;
    char **key_ids = NULL;
    size_t plain_len = 0;
    xmlNodePtr eid = NULL, ed, em, ki, rm, cd;
    xmlNsPtr saml, xenc, ds;
    int failed = 0, rc = -1;

    if (!doc || !plain_node || plain_node->type != XML_ELEMENT_NODE || !plain_node->parent ||
        plain_node->doc != doc || !recipients || recipient_count == 0) {
        zr_xml_fail(err, errlen, "nothing to encrypt or no recipient");
        goto end;
    }
    for (size_t i = 0; i < recipient_count; i++)
        if (!recipients[i].recipient || !recipients[i].cert || !recipients[i].key_name) {
            zr_xml_fail(err, errlen, "recipient %zu lacks entityID, certificate or KeyName", i);
            goto end;
        }
    if (zr_random_bytes(key, sizeof(key)) != 0 ||
        zr_xenc_serialise(plain_node, &plain, &plain_len) != 0 ||
        zr_xenc_encrypt_data(gcm, key, plain, plain_len, &data_b64) != 0) {
        zr_xml_fail(err, errlen, "data encryption failed");
        goto end;
    }
    key_ids = calloc(recipient_count, sizeof(*key_ids));
    data_id = zr_random_saml_id();
    if (!key_ids || !data_id) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < recipient_count; i++) {
        key_ids[i] = malloc(48);
        char *id = zr_random_saml_id();
        if (!key_ids[i] || !id) {
            free(id);
            zr_xml_fail(err, errlen, "out of memory");
            goto end;
        }
        snprintf(key_ids[i], 48, "#%s", id);
        free(id);
    }
    data_ref = malloc(strlen(data_id) + 2);
    if (!data_ref) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    snprintf(data_ref, strlen(data_id) + 2, "#%s", data_id);

    eid = xmlNewDocNode(doc, NULL, BAD_CAST "EncryptedID", NULL);
    if (!eid) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    saml = xmlSearchNsByHref(doc, plain_node->parent, BAD_CAST ZR_NS_SAML);
    if (!saml)
        saml = xmlNewNs(eid, BAD_CAST ZR_NS_SAML, BAD_CAST "saml2");
    xmlSetNs(eid, saml);

    ed = zr_xenc_el(eid, NULL, "EncryptedData", NULL, &failed);
    xenc = ed ? xmlNewNs(ed, BAD_CAST ZR_NS_XENC, BAD_CAST "xenc") : NULL;
    if (!saml || !xenc) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    xmlSetNs(ed, xenc);
    zr_xenc_at(ed, "Id", data_id, &failed);
    zr_xenc_at(ed, "Type", ZR_XENC_ELEMENT, &failed);
    em = zr_xenc_el(ed, xenc, "EncryptionMethod", NULL, &failed);
    zr_xenc_at(em, "Algorithm", gcm ? ZR_XENC_AES256_GCM : ZR_XENC_AES256_CBC, &failed);
    ki = zr_xenc_el(ed, NULL, "KeyInfo", NULL, &failed);
    ds = ki ? xmlNewNs(ki, BAD_CAST ZR_NS_DS, BAD_CAST "ds") : NULL;
    if (ds)
        xmlSetNs(ki, ds);
    rm = zr_xenc_el(ki, ds, "RetrievalMethod", NULL, &failed);
    zr_xenc_at(rm, "Type", ZR_XENC_ENCRYPTED_KEY, &failed);
    zr_xenc_at(rm, "URI", key_ids[0], &failed); /* the first recipient's key */
    cd = zr_xenc_el(ed, xenc, "CipherData", NULL, &failed);
    zr_xenc_el(cd, xenc, "CipherValue", data_b64, &failed);

    for (size_t i = 0; i < recipient_count && !failed; i++) {
        char *wrapped = zr_xenc_wrap_key(recipients[i].cert, key);
        if (!wrapped) {
            zr_xml_fail(err, errlen, "key encryption failed for recipient %zu", i);
            goto end;
        }
        zr_xenc_add_key(eid, &recipients[i], key_ids[i] + 1, data_ref, wrapped, &failed);
        free(wrapped);
    }
    if (failed) {
        zr_xml_fail(err, errlen, "cannot build EncryptedID");
        goto end;
    }
    /* The plaintext element leaves the document for good. */
    xmlReplaceNode(plain_node, eid);
    eid = NULL;
    zr_xml_wipe_tree(plain_node);
    xmlFreeNode(plain_node);
    rc = 0;
end:
    OPENSSL_cleanse(key, sizeof(key));
    if (eid)
        xmlFreeNode(eid);
    if (plain) {
        OPENSSL_cleanse(plain, plain_len + 1);
        free(plain);
    }
    for (size_t i = 0; key_ids && i < recipient_count; i++)
        free(key_ids[i]);
    free(key_ids);
    free(data_ref);
    free(data_id);
    free(data_b64);
    return rc;
}
