/* XML Signature: enveloped signatures as ST-SAML wants them (RSA-SHA256,
 * exclusive c14n, KeyInfo/KeyName), made with xmlsec1, and strict
 * verification with libxml2's c14n and OpenSSL.
 *
 * Verification defends against signature wrapping (XSW) on its own: we check
 * the shape of the Signature first (one Reference, URI = "#" + the ID of the
 * very element the caller reads, allowed algorithms only, transforms
 * enveloped-signature then exclusive c14n), refuse any ID value that occurs
 * twice in the document, and digest that element itself, so what was checked
 * is what the caller reads. The key never comes from KeyInfo: only the keys
 * the caller passes, picked by KeyName. */
#include "xml_internal.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/c14n.h>
#include <libxml/valid.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/xmldsig.h>
#include <xmlsec/xmltree.h>
#include <xmlsec/templates.h>
#include <xmlsec/transforms.h>
#include <xmlsec/crypto.h>
#include <xmlsec/openssl/evp.h>

#include "zr/crypto.h"
#include "zr/util.h"

#define ZR_XML_MAX_KEY_TRIES 16
#define ZR_XML_MAX_EMBEDDED_CERTS 8

#define ZR_ALG_EXC_C14N      "http://www.w3.org/2001/10/xml-exc-c14n#"
#define ZR_ALG_EXC_C14N_COMM "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
#define ZR_ALG_ENVELOPED     "http://www.w3.org/2000/09/xmldsig#enveloped-signature"

static const char *const zr_dsig_c14n_algs[] = {ZR_ALG_EXC_C14N, ZR_ALG_EXC_C14N_COMM, NULL};
static const char *const zr_dsig_transform_algs[] = {ZR_ALG_ENVELOPED, ZR_ALG_EXC_C14N,
                                                     ZR_ALG_EXC_C14N_COMM, NULL};
/* ST-SAML §Signing: no SHA-1 anywhere. */
static const char *const zr_dsig_sign_algs[] = {
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384",
    "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512",
    NULL};
static const char *const zr_dsig_digest_algs[] = {
    "http://www.w3.org/2001/04/xmlenc#sha256",
    "http://www.w3.org/2001/04/xmldsig-more#sha384",
    "http://www.w3.org/2001/04/xmlenc#sha512",
    NULL};

/* A key to try, with the names it answers to (NULL: no name). */
typedef struct {
    EVP_PKEY *key;
    const char *name;
    const char *name_sha256;
    X509 *cert;          /* the certificate the key came from, when known */
} zr_dsig_candidate_t;

static int zr_dsig_in(const char *const *list, const char *v)
{
    for (size_t i = 0; v && list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

/* ---- IDs ---- */

static int zr_dsig_is_id_attr(xmlAttrPtr a)
{
    if (!a->ns)
        return xmlStrEqual(a->name, BAD_CAST "ID") || xmlStrEqual(a->name, BAD_CAST "Id");
    return xmlStrEqual(a->ns->href, XML_XML_NAMESPACE) && xmlStrEqual(a->name, BAD_CAST "id");
}

static int zr_dsig_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Registers the attribute as the document's XML ID for its value, replacing
 * a stale registration (e.g. of an element since removed from the tree). */
static int zr_dsig_register_id(xmlDocPtr doc, xmlAttrPtr attr)
{
    xmlChar *value = xmlNodeListGetString(doc, attr->children, 1);
    xmlAttrPtr existing;
    int rc = -1;

    if (!value)
        goto end;
    existing = xmlGetID(doc, value);
    if (existing == attr) {
        rc = 0;
        goto end;
    }
    if (existing)
        xmlRemoveID(doc, existing);
    rc = xmlAddID(NULL, doc, value, attr) ? 0 : -1;
end:
    if (value)
        xmlFree(value);
    return rc;
}

/* Refuses a document in which one ID/Id/xml:id value occurs twice (the
 * classic wrapping move: a forged element reusing the signed element's ID),
 * and registers every "ID" attribute so "#id" references resolve. */
static int zr_dsig_check_ids(xmlDocPtr doc, char *err, size_t errlen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr n = root;
    char **values = NULL;
    size_t count = 0, cap = 0;
    int rc = -1;

    while (n) {
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                if (!zr_dsig_is_id_attr(a))
                    continue;
                if (count == cap) {
                    size_t ncap = cap ? cap * 2 : 32;
                    char **nv = realloc(values, ncap * sizeof(*nv));
                    if (!nv) {
                        zr_xml_fail(err, errlen, "out of memory");
                        goto end;
                    }
                    values = nv;
                    cap = ncap;
                }
                xmlChar *v = xmlNodeListGetString(doc, a->children, 1);
                values[count] = strdup(v ? (const char *)v : "");
                if (v)
                    xmlFree(v);
                if (!values[count]) {
                    zr_xml_fail(err, errlen, "out of memory");
                    goto end;
                }
                count++;
                if (!a->ns && xmlStrEqual(a->name, BAD_CAST "ID") && zr_dsig_register_id(doc, a) != 0) {
                    zr_xml_fail(err, errlen, "cannot register ID");
                    goto end;
                }
            }
        }
        /* Depth-first walk without recursion. */
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n && n != root && !n->next)
            n = n->parent;
        n = (n && n != root) ? n->next : NULL;
    }
    if (count > 1)
        qsort(values, count, sizeof(*values), zr_dsig_cmp_str);
    for (size_t i = 1; i < count; i++) {
        if (strcmp(values[i - 1], values[i]) == 0) {
            zr_xml_fail(err, errlen, "duplicate ID in document (signature wrapping?)");
            goto end;
        }
    }
    rc = 0;
end:
    for (size_t i = 0; i < count; i++)
        free(values[i]);
    free(values);
    return rc;
}

/* ---- shape of the Signature ---- */

static xmlNodePtr zr_dsig_next_element(xmlNodePtr n)
{
    while (n && n->type != XML_ELEMENT_NODE)
        n = n->next;
    return n;
}

static int zr_dsig_check_alg(xmlNodePtr method, const char *const *allowed, const char *what,
                             char *err, size_t errlen)
{
    char *alg = zr_xml_attr(method, "Algorithm");
    int rc = 0;
    if (!alg)
        rc = zr_xml_fail(err, errlen, "%s without Algorithm", what);
    else if (!zr_dsig_in(allowed, alg))
        rc = zr_xml_fail(err, errlen, "unsupported %s %s", what, alg);
    free(alg);
    return rc;
}

static int zr_dsig_check_reference(xmlNodePtr ref, const char *id, char *err, size_t errlen)
{
    char *uri = zr_xml_attr(ref, "URI");
    xmlNodePtr c = zr_dsig_next_element(ref->children);
    int rc = -1;

    if (!uri || uri[0] != '#' || strcmp(uri + 1, id) != 0) {
        zr_xml_fail(err, errlen, "Reference URI does not point at the signed element");
        goto end;
    }
    if (zr_xml_is(c, ZR_NS_DS, "Transforms")) {
        for (xmlNodePtr t = zr_dsig_next_element(c->children); t;
             t = zr_dsig_next_element(t->next)) {
            if (!zr_xml_is(t, ZR_NS_DS, "Transform")) {
                zr_xml_fail(err, errlen, "unexpected element in Transforms");
                goto end;
            }
            if (zr_dsig_check_alg(t, zr_dsig_transform_algs, "transform", err, errlen) != 0)
                goto end;
        }
        c = zr_dsig_next_element(c->next);
    }
    if (!zr_xml_is(c, ZR_NS_DS, "DigestMethod")) {
        zr_xml_fail(err, errlen, "Reference without DigestMethod");
        goto end;
    }
    if (zr_dsig_check_alg(c, zr_dsig_digest_algs, "digest algorithm", err, errlen) != 0)
        goto end;
    c = zr_dsig_next_element(c->next);
    if (!zr_xml_is(c, ZR_NS_DS, "DigestValue") || zr_dsig_next_element(c->next)) {
        zr_xml_fail(err, errlen, "malformed Reference");
        goto end;
    }
    rc = 0;
end:
    free(uri);
    return rc;
}

/* Exactly one ds:Signature child of node holding SignedInfo, SignatureValue
 * and optionally KeyInfo (no Object, so no Manifest); SignedInfo with allowed
 * algorithms and exactly one Reference to "#" + id. */
static int zr_dsig_check_shape(xmlNodePtr node, const char *id, xmlNodePtr *sig_out, char *err,
                               size_t errlen)
{
    size_t n = zr_xml_count_children(node, ZR_NS_DS, "Signature");
    xmlNodePtr sig, si, c;
    size_t refs;

    if (n == 0)
        return zr_xml_fail(err, errlen, "element is not signed (no ds:Signature child)");
    if (n > 1)
        return zr_xml_fail(err, errlen, "more than one ds:Signature on the element");
    sig = zr_xml_child(node, ZR_NS_DS, "Signature");
    si = zr_dsig_next_element(sig->children);
    if (!zr_xml_is(si, ZR_NS_DS, "SignedInfo"))
        return zr_xml_fail(err, errlen, "Signature without SignedInfo");
    c = zr_dsig_next_element(si->next);
    if (!zr_xml_is(c, ZR_NS_DS, "SignatureValue"))
        return zr_xml_fail(err, errlen, "Signature without SignatureValue");
    c = zr_dsig_next_element(c->next);
    if (zr_xml_is(c, ZR_NS_DS, "KeyInfo"))
        c = zr_dsig_next_element(c->next);
    if (c)
        return zr_xml_fail(err, errlen, "unexpected element %s in Signature", (const char *)c->name);

    c = zr_dsig_next_element(si->children);
    if (!zr_xml_is(c, ZR_NS_DS, "CanonicalizationMethod"))
        return zr_xml_fail(err, errlen, "SignedInfo without CanonicalizationMethod");
    if (zr_dsig_check_alg(c, zr_dsig_c14n_algs, "canonicalization", err, errlen) != 0)
        return -1;
    c = zr_dsig_next_element(c->next);
    if (!zr_xml_is(c, ZR_NS_DS, "SignatureMethod"))
        return zr_xml_fail(err, errlen, "SignedInfo without SignatureMethod");
    if (zr_dsig_check_alg(c, zr_dsig_sign_algs, "signature algorithm", err, errlen) != 0)
        return -1;
    refs = 0;
    for (c = zr_dsig_next_element(c->next); c; c = zr_dsig_next_element(c->next)) {
        if (!zr_xml_is(c, ZR_NS_DS, "Reference"))
            return zr_xml_fail(err, errlen, "unexpected element %s in SignedInfo", (const char *)c->name);
        refs++;
    }
    if (refs != 1)
        return zr_xml_fail(err, errlen, "exactly one Reference required (found %zu)", refs);
    if (zr_dsig_check_reference(zr_xml_child(si, ZR_NS_DS, "Reference"), id, err, errlen) != 0)
        return -1;
    *sig_out = sig;
    return 0;
}

/* ---- verification with one key ----
 *
 * libxml2 canonicalises and OpenSSL checks, for exactly the shape
 * zr_dsig_check_shape admits. Not xmlsec: its enveloped-signature node set
 * costs a linear search per node (O(n^2) on a 15 KB assertion, the largest
 * share of a login's XML work), where "inside the signed element and not
 * inside its Signature" is a walk up a few parents. */

#define ZR_NS_EXC_C14N ZR_ALG_EXC_C14N
#define ZR_DSIG_MAX_PREFIXES 32

/* The node set of the Reference: the signed element's subtree without
 * comments (a bare-name "#id" URI drops them), minus the enveloped Signature. */
typedef struct {
    xmlNodePtr apex;
    xmlNodePtr excluded;
    int comments;
} zr_dsig_subset_t;

static int zr_dsig_subset_has(void *user, xmlNodePtr node, xmlNodePtr parent)
{
    const zr_dsig_subset_t *set = user;
    xmlNodePtr n = node;

    if (!n)
        return 0;
    if (n->type == XML_COMMENT_NODE && !set->comments)
        return 0;
    /* Namespace and attribute nodes belong to the element they come with. */
    if (n->type == XML_NAMESPACE_DECL || n->type == XML_ATTRIBUTE_NODE)
        n = parent;
    for (; n; n = n->parent) {
        if (n == set->excluded)
            return 0;
        if (n == set->apex)
            return 1;
    }
    return 0;
}

/* PrefixList of an ec:InclusiveNamespaces child of method (at most one;
 * no other element may be there). *prefixes NULL-terminated, or NULL. */
static int zr_dsig_prefix_list(xmlNodePtr method, xmlChar ***prefixes, char **list_out,
                               char *err, size_t errlen)
{
    xmlNodePtr c = zr_dsig_next_element(method->children);
    xmlChar **v = NULL;
    char *list = NULL, *save = NULL;
    size_t n = 0;

    *prefixes = NULL;
    *list_out = NULL;
    if (!c)
        return 0;
    if (!zr_xml_is(c, ZR_NS_EXC_C14N, "InclusiveNamespaces") || zr_dsig_next_element(c->next))
        return zr_xml_fail(err, errlen, "unexpected element %s in a canonicalization method",
                           (const char *)c->name);
    list = zr_xml_attr(c, "PrefixList");
    if (!list)
        return 0;
    v = calloc(ZR_DSIG_MAX_PREFIXES + 1, sizeof(*v));
    if (!v) {
        free(list);
        return zr_xml_fail(err, errlen, "out of memory");
    }
    for (char *t = strtok_r(list, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
        if (n == ZR_DSIG_MAX_PREFIXES) {
            free(v);
            free(list);
            return zr_xml_fail(err, errlen, "InclusiveNamespaces PrefixList too long");
        }
        v[n++] = BAD_CAST t;
    }
    *prefixes = v;
    *list_out = list; /* owns the strings v points into */
    return 0;
}

/* Feeds canonical bytes to a digest or verify context. */
static int zr_dsig_c14n_write(void *ctx, const char *buf, int len)
{
    return EVP_DigestUpdate(ctx, buf, (size_t)len) == 1 ? len : -1;
}

/* Exclusive c14n of the node set into md_ctx (initialised by the caller). */
static int zr_dsig_c14n_into(xmlDocPtr doc, zr_dsig_subset_t *set, xmlNodePtr method,
                             EVP_MD_CTX *md_ctx, char *err, size_t errlen)
{
    xmlOutputBufferPtr out = NULL;
    xmlChar **prefixes = NULL;
    char *alg = zr_xml_attr(method, "Algorithm");
    char *list = NULL;
    int rc = -1;

    if (zr_dsig_prefix_list(method, &prefixes, &list, err, errlen) != 0)
        goto end;
    out = xmlOutputBufferCreateIO(zr_dsig_c14n_write, NULL, md_ctx, NULL);
    if (!out) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    /* Comments survive only where the node set has them (SignedInfo with a
     * #WithComments method); a bare-name Reference never does. */
    int with_comments = alg && strcmp(alg, ZR_ALG_EXC_C14N_COMM) == 0 && set->comments;
    if (xmlC14NExecute(doc, zr_dsig_subset_has, set, XML_C14N_EXCLUSIVE_1_0, prefixes, with_comments,
                       out) < 0) {
        zr_xml_fail(err, errlen, "canonicalization failed");
        goto end;
    }
    rc = 0;
end:
    if (out && xmlOutputBufferClose(out) < 0 && rc == 0)
        rc = zr_xml_fail(err, errlen, "canonicalization failed");
    free(prefixes);
    free(list);
    free(alg);
    return rc;
}

static const EVP_MD *zr_dsig_md(const char *alg)
{
    if (!alg)
        return NULL;
    if (strstr(alg, "sha256"))
        return EVP_sha256();
    if (strstr(alg, "sha384"))
        return EVP_sha384();
    if (strstr(alg, "sha512"))
        return EVP_sha512();
    return NULL;
}

/* The Reference's transforms as check_shape admitted them, reduced to what
 * we canonicalise: [enveloped-signature,] exclusive c14n. */
static int zr_dsig_reference_plan(xmlNodePtr ref, int *enveloped, xmlNodePtr *c14n, char *err,
                                  size_t errlen)
{
    xmlNodePtr ts = zr_xml_child(ref, ZR_NS_DS, "Transforms");
    size_t i = 0;

    *enveloped = 0;
    *c14n = NULL;
    for (xmlNodePtr t = ts ? zr_dsig_next_element(ts->children) : NULL; t; t = zr_dsig_next_element(t->next), i++) {
        char *alg = zr_xml_attr(t, "Algorithm");
        int is_env = alg && strcmp(alg, ZR_ALG_ENVELOPED) == 0;
        free(alg);
        if (is_env && i == 0 && !*c14n && !zr_dsig_next_element(t->children))
            *enveloped = 1;
        else if (!is_env && !*c14n)
            *c14n = t;
        else
            return zr_xml_fail(err, errlen, "unsupported transform sequence (want enveloped-signature, "
                               "then exclusive c14n)");
    }
    if (!*c14n)
        return zr_xml_fail(err, errlen, "unsupported transform sequence (want enveloped-signature, "
                           "then exclusive c14n)");
    return 0;
}

/* 0 when the digest of the signed element matches DigestValue, 1 when it
 * does not, -1 on a processing error. */
static int zr_dsig_check_digest(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr sig, char *err,
                                size_t errlen)
{
    xmlNodePtr si = zr_xml_child(sig, ZR_NS_DS, "SignedInfo");
    xmlNodePtr ref = zr_xml_child(si, ZR_NS_DS, "Reference");
    xmlNodePtr c14n = NULL;
    EVP_MD_CTX *md_ctx = NULL;
    char *alg = zr_xml_attr(zr_xml_child(ref, ZR_NS_DS, "DigestMethod"), "Algorithm");
    char *b64 = zr_xml_text(zr_xml_child(ref, ZR_NS_DS, "DigestValue"));
    uint8_t *want = NULL, got[EVP_MAX_MD_SIZE];
    size_t want_len = 0;
    unsigned int got_len = 0;
    const EVP_MD *md = zr_dsig_md(alg);
    zr_dsig_subset_t set = {node, NULL, 0};
    int enveloped = 0, rc = -1;

    if (zr_dsig_reference_plan(ref, &enveloped, &c14n, err, errlen) != 0)
        goto end;
    if (enveloped)
        set.excluded = sig;
    if (!md || !b64 || zr_base64_decode(b64, &want, &want_len) != 0) {
        zr_xml_fail(err, errlen, "malformed Reference");
        goto end;
    }
    md_ctx = EVP_MD_CTX_new();
    if (!md_ctx || EVP_DigestInit_ex(md_ctx, md, NULL) != 1) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    if (zr_dsig_c14n_into(doc, &set, c14n, md_ctx, err, errlen) != 0)
        goto end;
    if (EVP_DigestFinal_ex(md_ctx, got, &got_len) != 1) {
        zr_xml_fail(err, errlen, "digest failed");
        goto end;
    }
    if (want_len != got_len || CRYPTO_memcmp(want, got, got_len) != 0) {
        zr_xml_fail(err, errlen, "digest mismatch: signed content was changed");
        rc = 1;
        goto end;
    }
    rc = 0;
end:
    EVP_MD_CTX_free(md_ctx);
    free(want);
    free(b64);
    free(alg);
    return rc;
}

/* XML-DSig ECDSA values are r || s; OpenSSL wants DER. */
static int zr_dsig_ecdsa_der(EVP_PKEY *pkey, const uint8_t *raw, size_t len, uint8_t **der,
                             size_t *der_len)
{
    ECDSA_SIG *es = NULL;
    BIGNUM *r = NULL, *s = NULL;
    int half = (EVP_PKEY_get_bits(pkey) + 7) / 8, n, rc = -1;
    unsigned char *p = NULL;

    if (half <= 0 || len != (size_t)half * 2)
        goto end;
    es = ECDSA_SIG_new();
    r = BN_bin2bn(raw, half, NULL);
    s = BN_bin2bn(raw + half, half, NULL);
    if (!es || !r || !s || ECDSA_SIG_set0(es, r, s) != 1)
        goto end;
    r = s = NULL;
    n = i2d_ECDSA_SIG(es, &p);
    if (n <= 0)
        goto end;
    *der = p;
    *der_len = (size_t)n;
    rc = 0;
end:
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(es);
    return rc;
}

/* 0 valid, 1 invalid for this key (err says why), -1 processing error. */
static int zr_dsig_check_signature(xmlDocPtr doc, xmlNodePtr sig, EVP_PKEY *pkey, char *err,
                                   size_t errlen)
{
    xmlNodePtr si = zr_xml_child(sig, ZR_NS_DS, "SignedInfo");
    xmlNodePtr method = zr_xml_child(si, ZR_NS_DS, "CanonicalizationMethod");
    char *alg = zr_xml_attr(zr_xml_child(si, ZR_NS_DS, "SignatureMethod"), "Algorithm");
    char *b64 = zr_xml_text(zr_xml_child(sig, ZR_NS_DS, "SignatureValue"));
    const EVP_MD *md = zr_dsig_md(alg);
    int ecdsa = alg && strstr(alg, "#ecdsa-") != NULL;
    int want_type = ecdsa ? EVP_PKEY_EC : EVP_PKEY_RSA;
    uint8_t *value = NULL, *der = NULL;
    size_t value_len = 0, der_len = 0;
    EVP_MD_CTX *md_ctx = NULL;
    zr_dsig_subset_t set = {si, NULL, 1};
    int rc = -1;

    if (!md || !b64 || zr_base64_decode(b64, &value, &value_len) != 0 || value_len == 0) {
        zr_xml_fail(err, errlen, "malformed SignatureValue");
        goto end;
    }
    if (EVP_PKEY_get_base_id(pkey) != want_type) {
        zr_xml_fail(err, errlen, "signature could not be processed (malformed, or key does not fit the algorithm)");
        rc = 1;
        goto end;
    }
    if (ecdsa && zr_dsig_ecdsa_der(pkey, value, value_len, &der, &der_len) != 0) {
        zr_xml_fail(err, errlen, "signature value invalid");
        rc = 1;
        goto end;
    }
    md_ctx = EVP_MD_CTX_new();
    if (!md_ctx || EVP_DigestVerifyInit(md_ctx, NULL, md, NULL, pkey) != 1) {
        zr_xml_fail(err, errlen, "signature could not be processed (malformed, or key does not fit the algorithm)");
        rc = 1;
        goto end;
    }
    if (zr_dsig_c14n_into(doc, &set, method, md_ctx, err, errlen) != 0)
        goto end;
    if (EVP_DigestVerifyFinal(md_ctx, ecdsa ? der : value, ecdsa ? der_len : value_len) != 1) {
        zr_xml_fail(err, errlen, "signature value invalid");
        rc = 1;
        goto end;
    }
    rc = 0;
end:
    ERR_clear_error();
    EVP_MD_CTX_free(md_ctx);
    OPENSSL_free(der);
    free(value);
    free(b64);
    free(alg);
    return rc;
}

/* 0 valid, 1 cryptographically invalid (err says why), -1 processing error.
 * *digest_ok caches the key-independent Reference check across keys. */
static int zr_dsig_verify_one(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr sig, const char *id,
                              EVP_PKEY *pkey, int *digest_ok, char *err, size_t errlen)
{
    xmlAttrPtr id_attr;
    int rc;

    /* The element we digest is the one the caller reads: its (unique,
     * registered) ID resolves to node itself. */
    id_attr = xmlGetID(doc, BAD_CAST id);
    if (!id_attr || id_attr->parent != node)
        return zr_xml_fail(err, errlen, "verified Reference is not the signed element");
    if (!*digest_ok) {
        rc = zr_dsig_check_digest(doc, node, sig, err, errlen);
        if (rc != 0)
            return rc < 0 ? -1 : 1;
        *digest_ok = 1;
    }
    return zr_dsig_check_signature(doc, sig, pkey, err, errlen);
}

/* Common path of both verify functions. With use_names, KeyInfo/KeyName
 * selects among candidates; otherwise every candidate is tried. *matched
 * (when given) is the index of the candidate whose key verified. */
static int zr_dsig_verify(xmlDocPtr doc, xmlNodePtr node, const zr_dsig_candidate_t *cand,
                          size_t cand_count, int use_names, size_t *matched, char *err, size_t errlen)
{
    char *id = NULL;
    xmlNodePtr sig = NULL, ki, kn;
    int named = 0, tried = 0, digest_ok = 0, rc = -1;
    char last[256] = "";

    if (!doc || !node || node->type != XML_ELEMENT_NODE || node->doc != doc) {
        zr_xml_fail(err, errlen, "no element to verify");
        goto end;
    }
    id = zr_xml_attr(node, "ID");
    if (!id || !*id || strlen(id) > 200) {
        zr_xml_fail(err, errlen, "signed element has no usable ID attribute");
        goto end;
    }
    if (zr_dsig_check_ids(doc, err, errlen) != 0)
        goto end;
    if (zr_dsig_check_shape(node, id, &sig, err, errlen) != 0)
        goto end;
    ki = zr_xml_child(sig, ZR_NS_DS, "KeyInfo");
    named = use_names && ki && zr_xml_child(ki, ZR_NS_DS, "KeyName");

    for (size_t i = 0; i < cand_count && tried < ZR_XML_MAX_KEY_TRIES; i++) {
        if (!cand[i].key)
            continue;
        if (named) {
            int match = 0;
            for (kn = zr_xml_child(ki, ZR_NS_DS, "KeyName"); kn && !match;
                 kn = zr_xml_next(kn, ZR_NS_DS, "KeyName")) {
                char *text = zr_xml_text(kn);
                match = zr_xml_keyname_matches(text, cand[i].name) ||
                        zr_xml_keyname_matches(text, cand[i].name_sha256);
                free(text);
            }
            if (!match)
                continue;
        }
        tried++;
        int r = zr_dsig_verify_one(doc, node, sig, id, cand[i].key, &digest_ok, last, sizeof(last));
        if (r == 0) {
            if (matched)
                *matched = i;
            rc = 0;
            goto end;
        }
        if (r < 0) { /* not a wrong-key outcome: stop */
            zr_xml_fail(err, errlen, "%s", last);
            goto end;
        }
    }
    if (tried == 0)
        zr_xml_fail(err, errlen, named ? "unknown KeyName" : "no verification key");
    else
        zr_xml_fail(err, errlen, "%s", last);
end:
    free(id);
    return rc;
}

int zr_xml_verify(xmlDocPtr doc, xmlNodePtr node, const zr_xml_verify_key_t *keys,
                  size_t key_count, char *err, size_t errlen)
{
    zr_dsig_candidate_t *cand = NULL;
    int rc = -1;

    if (!keys || key_count == 0) {
        zr_xml_fail(err, errlen, "no verification key");
        goto end;
    }
    cand = calloc(key_count, sizeof(*cand));
    if (!cand) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < key_count; i++) {
        cand[i].key = keys[i].key;
        cand[i].name = keys[i].key_name;
        cand[i].name_sha256 = keys[i].key_name_sha256;
    }
    rc = zr_dsig_verify(doc, node, cand, key_count, 1, NULL, err, errlen);
end:
    free(cand);
    return rc;
}

/* X509Certificates in the Signature's KeyInfo (untrusted input). */
static STACK_OF(X509) *zr_dsig_embedded_certs(xmlNodePtr node)
{
    STACK_OF(X509) *certs = sk_X509_new_null();
    xmlNodePtr sig = zr_xml_child(node, ZR_NS_DS, "Signature");
    xmlNodePtr ki = zr_xml_child(sig, ZR_NS_DS, "KeyInfo");

    if (!certs)
        return NULL;
    for (xmlNodePtr xd = zr_xml_child(ki, ZR_NS_DS, "X509Data"); xd;
         xd = zr_xml_next(xd, ZR_NS_DS, "X509Data")) {
        for (xmlNodePtr c = zr_xml_child(xd, ZR_NS_DS, "X509Certificate"); c;
             c = zr_xml_next(c, ZR_NS_DS, "X509Certificate")) {
            char *b64 = zr_xml_text(c);
            uint8_t *der = NULL;
            size_t der_len = 0;
            if (sk_X509_num(certs) < ZR_XML_MAX_EMBEDDED_CERTS && b64 &&
                zr_base64_decode(b64, &der, &der_len) == 0 && der_len < 64 * 1024) {
                const unsigned char *p = der;
                X509 *x = d2i_X509(NULL, &p, (long)der_len);
                if (x && (p != der + der_len || sk_X509_push(certs, x) <= 0))
                    X509_free(x);
            }
            free(der);
            free(b64);
        }
    }
    return certs;
}

/* 1 when cert chains (now, as zr_time_now sees it) to one of store's anchors. */
static int zr_dsig_chains(X509_STORE *store, X509 *cert, STACK_OF(X509) *untrusted)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;
    if (ctx && X509_STORE_CTX_init(ctx, store, cert, untrusted) == 1) {
        X509_STORE_CTX_set_time(ctx, 0, zr_time_now());
        ok = X509_verify_cert(ctx) == 1;
    }
    X509_STORE_CTX_free(ctx);
    return ok;
}

int zr_xml_verify_with_anchors(xmlDocPtr doc, xmlNodePtr node, STACK_OF(X509) *anchors, X509 **signer,
                               char *err, size_t errlen)
{
    STACK_OF(X509) *embedded = NULL;
    X509_STORE *store = NULL;
    zr_dsig_candidate_t *cand = NULL;
    size_t n = 0, matched = 0, anchor_count = anchors ? (size_t)sk_X509_num(anchors) : 0;
    int rc = -1;

    if (signer)
        *signer = NULL;
    if (anchor_count == 0) {
        zr_xml_fail(err, errlen, "no trust anchor");
        goto end;
    }
    embedded = zr_dsig_embedded_certs(node);
    store = X509_STORE_new();
    if (!embedded || !store) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    /* An anchor may be an intermediate (PKIoverheid's issuing CAs are) or
     * the signer itself: trust it as given, without a self-signed root
     * above it. That makes every certificate the anchor issued a possible
     * signer, so this check alone never decides who may sign: the caller
     * gets the signer back and matches it against its pins (TVS metadata:
     * tvs.metadata_signer_*, required in production). Only configured
     * anchors sit in this store; embedded certificates stay untrusted. */
    X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    for (size_t i = 0; i < anchor_count; i++)
        if (X509_STORE_add_cert(store, sk_X509_value(anchors, (int)i)) != 1) {
            zr_xml_fail(err, errlen, "cannot use trust anchor");
            goto end;
        }
    cand = calloc(anchor_count + (size_t)sk_X509_num(embedded), sizeof(*cand));
    if (!cand) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    /* Embedded certificates count only when they chain to an anchor. */
    for (int i = 0; i < sk_X509_num(embedded); i++) {
        X509 *x = sk_X509_value(embedded, i);
        if (zr_dsig_chains(store, x, embedded)) {
            cand[n].cert = x;
            cand[n++].key = X509_get0_pubkey(x);
        }
    }
    for (size_t i = 0; i < anchor_count; i++) {
        cand[n].cert = sk_X509_value(anchors, (int)i);
        cand[n].key = X509_get0_pubkey(cand[n].cert);
        n++;
    }
    rc = zr_dsig_verify(doc, node, cand, n, 0, &matched, err, errlen);
    if (rc == 0 && signer) {
        if (X509_up_ref(cand[matched].cert) != 1) {
            zr_xml_fail(err, errlen, "out of memory");
            rc = -1;
            goto end;
        }
        *signer = cand[matched].cert;
    }
end:
    free(cand);
    X509_STORE_free(store);
    sk_X509_pop_free(embedded, X509_free);
    return rc;
}

/* ---- signing ---- */

/* ---- signing ---- */

/* XML-DSig wants ECDSA values as r || s, each as long as the group order. */
static int zr_dsig_ecdsa_raw(EVP_PKEY *pkey, const uint8_t *der, size_t der_len, uint8_t *raw,
                             size_t *raw_len)
{
    const unsigned char *p = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
    int half = (EVP_PKEY_get_bits(pkey) + 7) / 8, rc = -1;

    if (!es || half <= 0 || (size_t)half * 2 > *raw_len)
        goto end;
    if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, half) != half ||
        BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + half, half) != half)
        goto end;
    *raw_len = (size_t)half * 2;
    rc = 0;
end:
    ECDSA_SIG_free(es);
    return rc;
}

/* Fills DigestValue and SignatureValue of the template sig (one Reference to
 * node: enveloped-signature, exclusive c14n, SHA-256), canonicalising exactly
 * as zr_dsig_check_digest and zr_dsig_check_signature do. */
static int zr_dsig_fill(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr sig, EVP_PKEY *key, char *err,
                        size_t errlen)
{
    xmlNodePtr si = zr_xml_child(sig, ZR_NS_DS, "SignedInfo");
    xmlNodePtr ref = zr_xml_child(si, ZR_NS_DS, "Reference");
    xmlNodePtr ts = zr_xml_child(ref, ZR_NS_DS, "Transforms");
    xmlNodePtr c14n = ts ? zr_xml_next(zr_xml_child(ts, ZR_NS_DS, "Transform"), ZR_NS_DS, "Transform") : NULL;
    xmlNodePtr dv = zr_xml_child(ref, ZR_NS_DS, "DigestValue");
    xmlNodePtr sv = zr_xml_child(sig, ZR_NS_DS, "SignatureValue");
    zr_dsig_subset_t ref_set = {node, sig, 0}, si_set = {si, NULL, 1};
    EVP_MD_CTX *md_ctx = EVP_MD_CTX_new();
    uint8_t digest[EVP_MAX_MD_SIZE], *value = NULL, raw[2 * 66];
    unsigned int digest_len = 0;
    size_t value_len = 0, raw_len = sizeof(raw);
    char *b64 = NULL;
    int ec = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC, rc = -1;

    if (!md_ctx || !c14n || !dv || !sv) {
        zr_xml_fail(err, errlen, "cannot build Signature template");
        goto end;
    }
    if (EVP_DigestInit_ex(md_ctx, EVP_sha256(), NULL) != 1 ||
        zr_dsig_c14n_into(doc, &ref_set, c14n, md_ctx, err, errlen) != 0 ||
        EVP_DigestFinal_ex(md_ctx, digest, &digest_len) != 1 || !(b64 = zr_base64_encode(digest, digest_len))) {
        zr_xml_fail(err, errlen, "cannot digest the element to sign");
        goto end;
    }
    xmlNodeSetContent(dv, BAD_CAST b64);
    free(b64);
    b64 = NULL;
    EVP_MD_CTX_reset(md_ctx);
    if (EVP_DigestSignInit(md_ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        zr_dsig_c14n_into(doc, &si_set, zr_xml_child(si, ZR_NS_DS, "CanonicalizationMethod"), md_ctx, err,
                          errlen) != 0 ||
        EVP_DigestSignFinal(md_ctx, NULL, &value_len) != 1 || !(value = malloc(value_len)) ||
        EVP_DigestSignFinal(md_ctx, value, &value_len) != 1) {
        zr_xml_fail(err, errlen, "signing failed");
        goto end;
    }
    if (ec && zr_dsig_ecdsa_raw(key, value, value_len, raw, &raw_len) != 0) {
        zr_xml_fail(err, errlen, "signing failed");
        goto end;
    }
    b64 = ec ? zr_base64_encode(raw, raw_len) : zr_base64_encode(value, value_len);
    if (!b64) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    xmlNodeSetContent(sv, BAD_CAST b64);
    rc = 0;
end:
    ERR_clear_error();
    EVP_MD_CTX_free(md_ctx);
    free(value);
    free(b64);
    return rc;
}

int zr_xml_sign(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name, X509 *cert,
                char *err, size_t errlen)
{
    xmlNodePtr sig = NULL, ref, ki, issuer;
    xmlAttrPtr id_attr;
    char *id = NULL, *uri = NULL, *cert_b64 = NULL;
    xmlSecTransformId sign_alg;
    int rc = -1;

    if (!doc || !node || node->type != XML_ELEMENT_NODE || !key) {
        zr_xml_fail(err, errlen, "nothing to sign or no key");
        goto end;
    }
    id = zr_xml_attr(node, "ID");
    id_attr = xmlHasProp(node, BAD_CAST "ID");
    if (!id || !*id || !id_attr || id_attr->ns) {
        zr_xml_fail(err, errlen, "element to sign has no ID attribute");
        goto end;
    }
    if (zr_xml_child(node, ZR_NS_DS, "Signature")) {
        zr_xml_fail(err, errlen, "element is already signed");
        goto end;
    }
    if (zr_dsig_register_id(doc, id_attr) != 0) {
        zr_xml_fail(err, errlen, "cannot register ID");
        goto end;
    }
    switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
        sign_alg = xmlSecTransformRsaSha256Id;
        break;
    case EVP_PKEY_EC:
        sign_alg = xmlSecTransformEcdsaSha256Id;
        break;
    default:
        zr_xml_fail(err, errlen, "unsupported signing key type");
        goto end;
    }
    sig = xmlSecTmplSignatureCreateNsPref(doc, xmlSecTransformExclC14NId, sign_alg, NULL,
                                          BAD_CAST "ds");
    if (!sig) {
        zr_xml_fail(err, errlen, "cannot build Signature template");
        goto end;
    }
    /* SAML schema order: the Signature follows Issuer, else comes first. */
    issuer = zr_xml_child(node, ZR_NS_SAML, "Issuer");
    if (issuer)
        xmlAddNextSibling(issuer, sig);
    else if (node->children)
        xmlAddPrevSibling(node->children, sig);
    else
        xmlAddChild(node, sig);

    uri = malloc(strlen(id) + 2);
    if (!uri) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    snprintf(uri, strlen(id) + 2, "#%s", id);
    ref = xmlSecTmplSignatureAddReference(sig, xmlSecTransformSha256Id, NULL, BAD_CAST uri, NULL);
    if (!ref || !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformEnvelopedId) ||
        !xmlSecTmplReferenceAddTransform(ref, xmlSecTransformExclC14NId)) {
        zr_xml_fail(err, errlen, "cannot build Reference");
        goto end;
    }
    if (key_name || cert) {
        ki = xmlSecTmplSignatureEnsureKeyInfo(sig, NULL);
        if (!ki || (key_name && !xmlSecTmplKeyInfoAddKeyName(ki, BAD_CAST key_name))) {
            zr_xml_fail(err, errlen, "cannot build KeyInfo");
            goto end;
        }
        if (cert) {
            /* Written by us: the xmlsec key carries no X509 data, so xmlsec
             * leaves this element as it is. */
            xmlNodePtr xd = xmlSecTmplKeyInfoAddX509Data(ki);
            xmlNodePtr xc = xd ? xmlSecTmplX509DataAddCertificate(xd) : NULL;
            cert_b64 = zr_crypto_cert_base64(cert);
            if (!xc || !cert_b64) {
                zr_xml_fail(err, errlen, "cannot add X509Certificate");
                goto end;
            }
            xmlNodeSetContent(xc, BAD_CAST cert_b64);
        }
    }
    if (zr_dsig_fill(doc, node, sig, key, err, errlen) != 0)
        goto end;
    rc = 0;
end:
    if (rc != 0 && sig) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
    free(cert_b64);
    free(uri);
    free(id);
    return rc;
}
