/* XML Signature on xmlsec1: enveloped signatures as ST-SAML wants them
 * (RSA-SHA256, exclusive c14n, KeyInfo/KeyName) and strict verification.
 *
 * Verification defends against signature wrapping (XSW) on its own, because
 * xmlsec only answers "some Reference digests match": we check the shape of
 * the Signature before xmlsec sees it (one Reference, URI = "#" + the ID of
 * the very element the caller reads, allowed algorithms only), refuse any ID
 * value that occurs twice in the document, and after xmlsec re-resolve the ID
 * to make sure the digested element is that element. The key never comes from
 * KeyInfo: xmlsec gets no keys manager, only the key we picked by KeyName. */
#include "xml_internal.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/valid.h>
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
} zr_dsig_candidate_t;

static int zr_dsig_in(const char *const *list, const char *v)
{
    for (size_t i = 0; v && list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

/* An xmlsec key holding a reference to pkey (public or private). */
static xmlSecKeyPtr zr_dsig_key_new(EVP_PKEY *pkey, const char *name)
{
    xmlSecKeyPtr key = NULL;
    xmlSecKeyDataPtr data = NULL;

    if (!pkey || EVP_PKEY_up_ref(pkey) != 1)
        return NULL;
    data = xmlSecOpenSSLEvpKeyAdopt(pkey);
    if (!data) {
        EVP_PKEY_free(pkey);
        goto fail;
    }
    key = xmlSecKeyCreate();
    if (!key || xmlSecKeySetValue(key, data) < 0)
        goto fail;
    data = NULL;
    if (name && xmlSecKeySetName(key, BAD_CAST name) < 0)
        goto fail;
    return key;
fail:
    if (data)
        xmlSecKeyDataDestroy(data);
    if (key)
        xmlSecKeyDestroy(key);
    return NULL;
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

/* ---- xmlsec verification with one key ---- */

static int zr_dsig_enable(xmlSecDSigCtxPtr ctx)
{
    /* Defence in depth: the same allow-list as zr_dsig_check_shape, enforced
     * by xmlsec while it reads the Signature. */
    int bad = 0;
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NId);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformExclC14NWithCommentsId);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha256Id);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha384Id);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformRsaSha512Id);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha256Id);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha384Id);
    bad |= xmlSecDSigCtxEnableSignatureTransform(ctx, xmlSecTransformEcdsaSha512Id);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformEnvelopedId);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NId);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformExclC14NWithCommentsId);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha256Id);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha384Id);
    bad |= xmlSecDSigCtxEnableReferenceTransform(ctx, xmlSecTransformSha512Id);
    return bad ? -1 : 0;
}

/* 0 valid, 1 cryptographically invalid (err says why), -1 processing error. */
static int zr_dsig_verify_one(xmlDocPtr doc, xmlNodePtr node, xmlNodePtr sig, const char *id,
                              EVP_PKEY *pkey, char *err, size_t errlen)
{
    xmlSecDSigCtxPtr ctx = NULL;
    xmlSecDSigReferenceCtxPtr ref;
    xmlAttrPtr id_attr;
    char uri[256];
    int rc = -1;

    ctx = xmlSecDSigCtxCreate(NULL); /* no keys manager: KeyInfo is never a key source */
    if (!ctx) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    ctx->flags = XMLSEC_DSIG_FLAGS_STORE_SIGNEDINFO_REFERENCES | XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
    ctx->enabledReferenceUris = xmlSecTransformUriTypeSameDocument;
    ctx->keyInfoReadCtx.maxRetrievalMethodLevel = 0;
    ctx->keyInfoReadCtx.retrievalMethodCtx.enabledUris = xmlSecTransformUriTypeSameDocument;
    if (zr_dsig_enable(ctx) != 0) {
        zr_xml_fail(err, errlen, "cannot restrict signature algorithms");
        goto end;
    }
    ctx->signKey = zr_dsig_key_new(pkey, NULL);
    if (!ctx->signKey) {
        zr_xml_fail(err, errlen, "unusable verification key");
        goto end;
    }
    if (xmlSecDSigCtxVerify(ctx, sig) < 0) {
        zr_xml_fail(err, errlen, "signature could not be processed (malformed, or key does not fit the algorithm)");
        rc = 1;
        goto end;
    }
    if (xmlSecPtrListGetSize(&ctx->signedInfoReferences) != 1) {
        zr_xml_fail(err, errlen, "exactly one Reference required");
        goto end;
    }
    ref = (xmlSecDSigReferenceCtxPtr)xmlSecPtrListGetItem(&ctx->signedInfoReferences, 0);
    if (ctx->status != xmlSecDSigStatusSucceeded) {
        if (ref && ref->status != xmlSecDSigStatusSucceeded)
            zr_xml_fail(err, errlen, "digest mismatch: signed content was changed");
        else
            zr_xml_fail(err, errlen, "signature value invalid");
        rc = 1;
        goto end;
    }
    /* The element xmlsec digested is the one the caller reads: same URI, and
     * the (unique, registered) ID still resolves to node itself. */
    snprintf(uri, sizeof(uri), "#%s", id);
    if (!ref || ref->status != xmlSecDSigStatusSucceeded || !ref->uri ||
        strcmp((const char *)ref->uri, uri) != 0) {
        zr_xml_fail(err, errlen, "verified Reference is not the signed element");
        goto end;
    }
    id_attr = xmlGetID(doc, BAD_CAST id);
    if (!id_attr || id_attr->parent != node) {
        zr_xml_fail(err, errlen, "verified Reference is not the signed element");
        goto end;
    }
    rc = 0;
end:
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    return rc;
}

/* Common path of both verify functions. With use_names, KeyInfo/KeyName
 * selects among candidates; otherwise every candidate is tried. */
static int zr_dsig_verify(xmlDocPtr doc, xmlNodePtr node, const zr_dsig_candidate_t *cand,
                          size_t cand_count, int use_names, char *err, size_t errlen)
{
    char *id = NULL;
    xmlNodePtr sig = NULL, ki, kn;
    int named = 0, tried = 0, rc = -1;
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
        int r = zr_dsig_verify_one(doc, node, sig, id, cand[i].key, last, sizeof(last));
        if (r == 0) {
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
    rc = zr_dsig_verify(doc, node, cand, key_count, 1, err, errlen);
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

int zr_xml_verify_with_anchors(xmlDocPtr doc, xmlNodePtr node, STACK_OF(X509) *anchors,
                               char *err, size_t errlen)
{
    STACK_OF(X509) *embedded = NULL;
    X509_STORE *store = NULL;
    zr_dsig_candidate_t *cand = NULL;
    size_t n = 0, anchor_count = anchors ? (size_t)sk_X509_num(anchors) : 0;
    int rc = -1;

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
    /* An anchor may be an intermediate or the signer itself: trust it as
     * given, without requiring a self-signed root above it. */
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
        if (zr_dsig_chains(store, x, embedded))
            cand[n++].key = X509_get0_pubkey(x);
    }
    for (size_t i = 0; i < anchor_count; i++)
        cand[n++].key = X509_get0_pubkey(sk_X509_value(anchors, (int)i));
    rc = zr_dsig_verify(doc, node, cand, n, 0, err, errlen);
end:
    free(cand);
    X509_STORE_free(store);
    sk_X509_pop_free(embedded, X509_free);
    return rc;
}

/* ---- signing ---- */

int zr_xml_sign(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name, X509 *cert,
                char *err, size_t errlen)
{
    xmlSecDSigCtxPtr ctx = NULL;
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
    ctx = xmlSecDSigCtxCreate(NULL);
    if (!ctx) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    ctx->signKey = zr_dsig_key_new(key, key_name);
    if (!ctx->signKey) {
        zr_xml_fail(err, errlen, "unusable signing key");
        goto end;
    }
    if (xmlSecDSigCtxSign(ctx, sig) < 0 || ctx->status != xmlSecDSigStatusSucceeded) {
        zr_xml_fail(err, errlen, "xmlsec signing failed");
        goto end;
    }
    rc = 0;
end:
    if (rc != 0 && sig) {
        xmlUnlinkNode(sig);
        xmlFreeNode(sig);
    }
    if (ctx)
        xmlSecDSigCtxDestroy(ctx);
    free(cert_b64);
    free(uri);
    free(id);
    return rc;
}
