/* The one place untrusted XML is parsed, plus XML signature and encryption
 * on top of xmlsec1 (src/xml/). Hardened: no DTD (a document with a DOCTYPE
 * is refused), no entity expansion, no network, size and depth limits. */
#ifndef ZR_XML_H
#define ZR_XML_H

#include <stddef.h>
#include <libxml/tree.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#define ZR_XML_MAX_BYTES (512 * 1024)

#define ZR_NS_SAML   "urn:oasis:names:tc:SAML:2.0:assertion"
#define ZR_NS_SAMLP  "urn:oasis:names:tc:SAML:2.0:protocol"
#define ZR_NS_MD     "urn:oasis:names:tc:SAML:2.0:metadata"
#define ZR_NS_DS     "http://www.w3.org/2000/09/xmldsig#"
#define ZR_NS_XENC   "http://www.w3.org/2001/04/xmlenc#"
#define ZR_NS_XENC11 "http://www.w3.org/2009/xmlenc11#"
#define ZR_NS_SOAP   "http://schemas.xmlsoap.org/soap/envelope/"

/* Call once per process before any other function here (initialises libxml2
 * and xmlsec with OpenSSL). Returns 0 on success. */
int zr_xml_init(void);
void zr_xml_shutdown(void);

/* Parses untrusted XML. Refuses (NULL + reason in err): more than max_bytes,
 * any DOCTYPE/DTD, entity declarations or references, XInclude, depth > 64,
 * not well-formed. max_bytes 0 means ZR_XML_MAX_BYTES. */
xmlDocPtr zr_xml_parse(const char *data, size_t len, size_t max_bytes, char *err, size_t errlen);

/* First element child of parent with namespace ns and local name (NULL if none). */
xmlNodePtr zr_xml_child(xmlNodePtr parent, const char *ns, const char *name);
/* Number of element children with that ns/name. */
size_t zr_xml_count_children(xmlNodePtr parent, const char *ns, const char *name);
/* Next element sibling after node with the same ns/name. */
xmlNodePtr zr_xml_next(xmlNodePtr node, const char *ns, const char *name);
/* 1 when node is an element with that ns/name. */
int zr_xml_is(xmlNodePtr node, const char *ns, const char *name);
/* Attribute value (no namespace), malloc'ed, or NULL. */
char *zr_xml_attr(xmlNodePtr node, const char *name);
/* Text content, whitespace-trimmed, malloc'ed (never NULL for an element). */
char *zr_xml_text(xmlNodePtr node);
/* Serialises a node (or whole doc when node is NULL) to a malloc'ed string. */
char *zr_xml_dump(xmlDocPtr doc, xmlNodePtr node, size_t *len);

/* ---- XML Signature (xmldsig on xmlsec1) ---- */

/* Adds an enveloped signature as the child of `node` right after its
 * saml:Issuer (or first child when there is none) and signs it:
 * RSA-SHA256, SHA-256 digest, exclusive c14n, Reference URI="#<ID attr>",
 * KeyInfo/KeyName = key_name (and X509Certificate when cert is not NULL).
 * The node's "ID" attribute is registered as an XML ID. 0 on success. */
int zr_xml_sign(xmlDocPtr doc, xmlNodePtr node, EVP_PKEY *key, const char *key_name,
                X509 *cert, char *err, size_t errlen);

/* A verification key: the public key plus the names it may be referred to by. */
typedef struct {
    EVP_PKEY *key;       /* public key (borrowed) */
    const char *key_name;/* SHA-1 hex KeyName */
    const char *key_name_sha256;
} zr_xml_verify_key_t;

/* Verifies the enveloped signature that is a direct child of `node`:
 * exactly one ds:Signature child; exactly one Reference whose URI is
 * "#" + node's ID attribute (the node itself: no wrapping); transforms only
 * enveloped-signature and exclusive c14n; RSA-SHA256/384/512 (or
 * ECDSA-SHA256+) and digest SHA-256+ (no SHA-1); key chosen by KeyInfo/KeyName
 * among keys[] (an embedded certificate is never trusted; when KeyName is
 * absent every key is tried). Returns 0 when valid, -1 otherwise with a
 * specific reason in err. Registers ID attributes as it goes. */
int zr_xml_verify(xmlDocPtr doc, xmlNodePtr node, const zr_xml_verify_key_t *keys,
                  size_t key_count, char *err, size_t errlen);

/* Like zr_xml_verify but with trust anchors: the signature key must be the
 * public key of one of anchors, or of an X509Certificate in the signature's
 * KeyInfo that chains to one of anchors (used for metadata). *signer (when
 * given) gets the certificate that signed (a reference the caller frees):
 * any certificate the anchors issued passes here, so the caller decides
 * whether it is the one it expects. */
int zr_xml_verify_with_anchors(xmlDocPtr doc, xmlNodePtr node, STACK_OF(X509) *anchors, X509 **signer,
                               char *err, size_t errlen);

/* ---- XML Encryption (BSN EncryptedID) ---- */

/* A decryption key a recipient holds. */
typedef struct {
    EVP_PKEY *key;              /* RSA private key (borrowed) */
    const char *key_name;       /* SHA-1 hex KeyName */
    const char *key_name_sha256;/* SHA-256 hex KeyName */
} zr_xml_decrypt_key_t;

/* Decrypts a saml:EncryptedID element (ST-SAML §EncryptedID): picks the
 * xenc:EncryptedKey whose Recipient equals `recipient` and whose KeyName names
 * one of keys[] (others are ignored, never tried); checks that EncryptedData
 * refers to that EncryptedKey; key transport rsa-oaep-mgf1p (SHA-1) or
 * xmlenc11#rsa-oaep (SHA-256 digest, MGF1 SHA-1/256); data aes256-cbc,
 * aes128-cbc, aes256-gcm or aes128-gcm. On success *plain is the decrypted
 * XML (the NameID element) as a malloc'ed string. Returns 0, or -1 with a
 * specific reason (no key for us, unknown KeyName, bad ciphertext, ...). */
int zr_xml_decrypt_encrypted_id(xmlNodePtr encrypted_id, const char *recipient,
                                const zr_xml_decrypt_key_t *keys, size_t key_count,
                                char **plain, char *err, size_t errlen);

/* One recipient of an encryption (used by the mock TVS). */
typedef struct {
    const char *recipient;      /* entityID written to EncryptedKey@Recipient */
    X509 *cert;                 /* its encryption certificate */
    const char *key_name;       /* KeyName written into EncryptedKey */
} zr_xml_encrypt_recipient_t;

/* Replaces the element `plain_node` (e.g. a saml:NameID inside an
 * AttributeValue) by <saml:EncryptedID> holding EncryptedData (aes256-cbc,
 * or aes256-gcm when gcm is set) and one EncryptedKey (rsa-oaep-mgf1p) per
 * recipient, shaped like the ST-SAML example messages. 0 on success.
 * On success plain_node is unlinked and freed (its text wiped first). */
int zr_xml_encrypt_to_encrypted_id(xmlDocPtr doc, xmlNodePtr plain_node,
                                   const zr_xml_encrypt_recipient_t *recipients,
                                   size_t recipient_count, int gcm, char *err, size_t errlen);

#endif
