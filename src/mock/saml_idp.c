/* The identity-provider side of ST-SAML 1.0, played the way TVS (the RD)
 * plays it, for the mock TVS and the tests: RD metadata, the checks TVS
 * makes on an AuthnRequest and an ArtifactResolve, and the ArtifactResponse
 * it answers with, shaped exactly like examples/artifact_response*.xml.
 *
 * Built with the libxml2 tree API rather than lasso: lasso's IdP profile
 * would write its own shape (signed Response, embedded certificates,
 * EncryptedAssertion) while the point here is the ST-SAML shape, element by
 * element. Signing and encryption go through zr_xml (xmlsec1). */
#include "zr/saml_idp.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "zr/crypto.h"
#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#include "saml_idp_internal.h"

#define SAML_PROTOCOL        "urn:oasis:names:tc:SAML:2.0:protocol"
#define STATUS_PREFIX        ZR_SAML_IDP_STATUS_PREFIX
#define NAMEID_TRANSIENT     "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define NAMEID_PERSISTENT    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define CM_BEARER            "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define ARTIFACT_LEN         44
/* Assertion lifetime around "now" (ST-SAML §SubjectConfirmation: ~2 minutes). */
#define ASSERTION_WINDOW_S   120
/* How old an AuthnRequest or ArtifactResolve may be, before clock skew. */
#define REQUEST_MAX_AGE_S    300
#define DEFAULT_SKEW_S       60

/* ------------------------------------------------------------ small helpers */

const char *zr_saml_idp_check_name(zr_saml_idp_check_t c)
{
    switch (c) {
    case ZR_SAML_IDP_OK: return "ok";
    case ZR_SAML_IDP_ERR_INTERNAL: return "internal";
    case ZR_SAML_IDP_ERR_ENCODING: return "encoding";
    case ZR_SAML_IDP_ERR_XML: return "xml";
    case ZR_SAML_IDP_ERR_ISSUER: return "issuer";
    case ZR_SAML_IDP_ERR_SIGNATURE: return "signature";
    case ZR_SAML_IDP_ERR_DESTINATION: return "destination";
    case ZR_SAML_IDP_ERR_ISSUE_INSTANT: return "issue_instant";
    case ZR_SAML_IDP_ERR_ACS_INDEX: return "acs_index";
    case ZR_SAML_IDP_ERR_ACS_URL: return "acs_url";
    case ZR_SAML_IDP_ERR_AUTHN_CONTEXT: return "authn_context";
    case ZR_SAML_IDP_ERR_SERVICE: return "service";
    case ZR_SAML_IDP_ERR_UNSUPPORTED: return "unsupported";
    case ZR_SAML_IDP_ERR_ARTIFACT: return "artifact";
    case ZR_SAML_IDP_ERR_EXTENSIONS: return "extensions";
    case ZR_SAML_IDP_ERR_AUDIENCE: return "intended_audience";
    case ZR_SAML_IDP_ERR_SERVICE_CHOICE: return "service_choice";
    }
    return "unknown";
}

zr_saml_idp_check_t zr_saml_idp_refuse(char *err, size_t errlen, zr_saml_idp_check_t c, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return c;
}
#define refuse zr_saml_idp_refuse

/* base + path, without a doubled slash. */
static char *url_join(const char *base, const char *path)
{
    zr_buf_t b;
    size_t n = base ? strlen(base) : 0;
    zr_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if ((n && zr_buf_append(&b, base, n) != 0) || zr_buf_appends(&b, path) != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

char *zr_saml_idp_sso_url(const zr_config_t *cfg)
{
    return url_join(cfg->mock_tvs.public_base_url, ZR_SAML_IDP_PATH_SSO);
}

char *zr_saml_idp_resolve_url(const zr_config_t *cfg)
{
    return url_join(cfg->mock_tvs.artifact_base_url, ZR_SAML_IDP_PATH_RESOLVE);
}

char *zr_saml_idp_slo_url(const zr_config_t *cfg)
{
    return url_join(cfg ? cfg->mock_tvs.public_base_url : NULL, ZR_SAML_IDP_PATH_SLO);
}

int zr_saml_idp_attr_equals(xmlNodePtr node, const char *name, const char *want)
{
    char *v = zr_xml_attr(node, name);
    int eq = v && want && strcmp(zr_str_trim(v), want) == 0;
    free(v);
    return eq;
}
#define attr_equals zr_saml_idp_attr_equals

static int has_attr(xmlNodePtr node, const char *name)
{
    return xmlHasProp(node, (const xmlChar *)name) != NULL;
}

/* A strict non-negative decimal attribute (0..65535, the artifact/metadata
 * index range); -1 when absent or malformed. */
static int attr_index(xmlNodePtr node, const char *name)
{
    char *v = zr_xml_attr(node, name);
    long n = -1;
    if (v && *zr_str_trim(v) && strlen(v) <= 5) {
        char *end = NULL;
        n = strtol(v, &end, 10);
        if (*end || v[0] < '0' || v[0] > '9' || n > 65535)
            n = -1;
    }
    free(v);
    return (int)n;
}

static int clock_skew(const zr_config_t *cfg)
{
    return cfg->tvs.clock_skew_s > 0 ? cfg->tvs.clock_skew_s : DEFAULT_SKEW_S;
}

/* Who sent a request: node's one saml:Issuer (trimmed) must be a care
 * provider of a direct connection or, with cfg->cluster.enabled, the LC
 * (ST-SAML §DV->RD: the LC takes the role of the DV towards the RD). In a
 * cluster every care provider is registered through the LC, whose metadata
 * gives the care provider no signing key of its own, so a care provider
 * cannot be the Issuer there. *issuer_out gets the text, *tenant_out the
 * care provider (NULL for the LC). The Issuer text is never echoed: it is
 * the sender's, and err reaches logs and pages. */
zr_saml_idp_check_t zr_saml_idp_check_issuer(const zr_config_t *cfg, xmlNodePtr node, const char *what,
                                             char **issuer_out, const zr_tenant_t **tenant_out, char *err,
                                             size_t errlen)
{
    xmlNodePtr issuer = zr_xml_child(node, ZR_NS_SAML, "Issuer");
    const zr_tenant_t *t = NULL;
    char *text = NULL;
    int cluster = cfg->cluster.enabled && cfg->cluster.entity_id && *cfg->cluster.entity_id;
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_ISSUER;

    *tenant_out = NULL;
    if (!issuer || zr_xml_count_children(node, ZR_NS_SAML, "Issuer") != 1) {
        refuse(err, errlen, rc, "%s: exactly one Issuer required", what);
        goto end;
    }
    text = zr_xml_text(issuer);
    if (!text) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "out of memory");
        goto end;
    }
    if (cluster && strcmp(text, cfg->cluster.entity_id) == 0) {
        rc = ZR_SAML_IDP_OK;
        goto end;
    }
    t = *text ? zr_config_find_tenant_by_entity_id(cfg, text) : NULL;
    if (t && cluster) {
        refuse(err, errlen, rc, "%s: Issuer is care provider %s, registered through the cluster: only the LC %s "
                                "may send requests",
               what, t->id ? t->id : "?", cfg->cluster.entity_id);
        goto end;
    }
    if (!t) {
        refuse(err, errlen, rc, "%s: Issuer is not a registered care provider%s", what, cluster ? " nor the LC" : "");
        goto end;
    }
    *tenant_out = t;
    rc = ZR_SAML_IDP_OK;
end:
    if (rc == ZR_SAML_IDP_OK && issuer_out) {
        *issuer_out = text;
        text = NULL;
    }
    free(text);
    return rc;
}

/* The relay signs with cfg->saml_signing; TVS knows that key from the DV's
 * metadata by KeyName (SHA-1 or SHA-256 form). */
zr_saml_idp_check_t zr_saml_idp_verify_relay_signature(const zr_config_t *cfg, xmlDocPtr doc, xmlNodePtr node,
                                                       const char *what, char *err, size_t errlen)
{
    zr_xml_verify_key_t key;
    char *sha1 = NULL, *sha256 = NULL;
    char why[256] = "";
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_SIGNATURE;

    if (!cfg->saml_signing.cert) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "no relay signing certificate configured");
        goto end;
    }
    sha1 = zr_crypto_cert_keyname(cfg->saml_signing.cert);
    sha256 = zr_crypto_cert_sha256_hex(cfg->saml_signing.cert);
    if (!sha1 || !sha256) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "out of memory");
        goto end;
    }
    key.key = X509_get0_pubkey(cfg->saml_signing.cert);
    key.key_name = sha1;
    key.key_name_sha256 = sha256;
    if (!zr_xml_child(node, ZR_NS_DS, "Signature")) {
        refuse(err, errlen, rc, "%s is not signed", what);
        goto end;
    }
    if (zr_xml_verify(doc, node, &key, 1, why, sizeof(why)) != 0) {
        refuse(err, errlen, rc, "%s signature invalid: %s", what, why[0] ? why : "verification failed");
        goto end;
    }
    rc = ZR_SAML_IDP_OK;
end:
    free(sha1);
    free(sha256);
    return rc;
}

/* Version 2.0 and an ID (SAML core §3.2.1). */
zr_saml_idp_check_t zr_saml_idp_check_version_id(xmlNodePtr node, const char *what, char **id_out, char *err,
                                                 size_t errlen)
{
    char *id = zr_xml_attr(node, "ID");
    zr_saml_idp_check_t rc = ZR_SAML_IDP_OK;
    if (!attr_equals(node, "Version", "2.0"))
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_XML, "%s: Version is not 2.0", what);
    else if (!id || !*zr_str_trim(id) || strlen(id) > 256)
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_XML, "%s: ID missing", what);
    if (rc == ZR_SAML_IDP_OK && id_out) {
        *id_out = id;
        id = NULL;
    }
    free(id);
    return rc;
}

zr_saml_idp_check_t zr_saml_idp_check_issue_instant(const zr_config_t *cfg, xmlNodePtr node, const char *what,
                                                    char *err, size_t errlen)
{
    char *v = zr_xml_attr(node, "IssueInstant");
    time_t t = 0, now = zr_time_now();
    int skew = clock_skew(cfg);
    zr_saml_idp_check_t rc = ZR_SAML_IDP_OK;
    if (!v || zr_time_parse_iso8601(zr_str_trim(v), &t) != 0)
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ISSUE_INSTANT, "%s: IssueInstant missing or malformed", what);
    else if (t > now + skew)
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ISSUE_INSTANT, "%s: IssueInstant is in the future", what);
    else if (t < now - REQUEST_MAX_AGE_S - skew)
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ISSUE_INSTANT, "%s: IssueInstant is older than %d seconds",
                    what, REQUEST_MAX_AGE_S);
    free(v);
    return rc;
}

/* ------------------------------------------------------------ XML building */

/* A builder that remembers the first failure, so that a message can be
 * written as a straight sequence of elements with one check at the end. */
typedef struct {
    xmlDocPtr doc;
    int failed;
} bld_t;

static xmlNodePtr el(bld_t *b, xmlNodePtr parent, xmlNsPtr ns, const char *name, const char *text)
{
    xmlNodePtr n = NULL;
    if (!b->failed && parent)
        n = text ? xmlNewTextChild(parent, ns, (const xmlChar *)name, (const xmlChar *)text)
                 : xmlNewChild(parent, ns, (const xmlChar *)name, NULL);
    if (!n)
        b->failed = 1;
    return n;
}

static void at(bld_t *b, xmlNodePtr n, const char *name, const char *value)
{
    if (b->failed || !n || !value || !xmlNewProp(n, (const xmlChar *)name, (const xmlChar *)value))
        b->failed = 1;
}

static xmlNsPtr ns_decl(bld_t *b, xmlNodePtr n, const char *href, const char *prefix)
{
    xmlNsPtr ns = (!b->failed && n) ? xmlNewNs(n, (const xmlChar *)href, (const xmlChar *)prefix) : NULL;
    if (!ns)
        b->failed = 1;
    return ns;
}

/* New document whose root element is name in namespace href/prefix. */
static xmlNodePtr new_root(bld_t *b, const char *href, const char *prefix, const char *name, xmlNsPtr *ns)
{
    xmlNodePtr root;
    b->failed = 0;
    b->doc = xmlNewDoc((const xmlChar *)"1.0");
    root = b->doc ? xmlNewDocNode(b->doc, NULL, (const xmlChar *)name, NULL) : NULL;
    if (!root) {
        b->failed = 1;
        return NULL;
    }
    xmlDocSetRootElement(b->doc, root);
    *ns = ns_decl(b, root, href, prefix);
    if (*ns)
        xmlSetNs(root, *ns);
    return root;
}

char *zr_saml_idp_sign_and_dump(const zr_config_t *cfg, xmlDocPtr doc, xmlNodePtr *nodes, size_t count,
                                const char *what, size_t *len, char *err, size_t errlen)
{
    const zr_keypair_t *sk = &cfg->mock_tvs.signing;
    char *key_name = NULL, *xml = NULL;
    char why[256] = "";
    size_t n = 0;

    /* TVS names its key by the SHA-256 form in messages (the examples). */
    key_name = sk->cert ? zr_crypto_cert_sha256_hex(sk->cert) : NULL;
    if (!key_name) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < count; i++) {
        if (zr_xml_sign(doc, nodes[i], sk->key, key_name, NULL, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "signing the %s failed: %s", what, why);
            goto end;
        }
    }
    xml = zr_xml_dump(doc, NULL, &n);
    if (!xml)
        snprintf(err, errlen, "out of memory");
    else if (len)
        *len = n;
end:
    free(key_name);
    return xml;
}

/* ------------------------------------------------------------ metadata */

char *zr_saml_idp_metadata_build(const zr_config_t *cfg, size_t *len, char *err, size_t errlen)
{
    const zr_mock_tvs_config_t *m = &cfg->mock_tvs;
    bld_t b = {0};
    xmlNsPtr md = NULL, ds;
    char *id = NULL, *key_name = NULL, *cert_b64 = NULL, *sso = NULL, *resolve = NULL, *slo = NULL;
    char *xml = NULL;
    char until[21], created[21], why[256] = "";
    time_t now = zr_time_now();
    size_t n = 0;

    if (!m->entity_id || !m->signing.key || !m->signing.cert) {
        snprintf(err, errlen, "mock_tvs: entity_id and signing key/certificate are required");
        goto end;
    }
    id = zr_random_saml_id();
    key_name = zr_crypto_cert_keyname(m->signing.cert);
    cert_b64 = zr_crypto_cert_base64(m->signing.cert);
    sso = zr_saml_idp_sso_url(cfg);
    resolve = zr_saml_idp_resolve_url(cfg);
    slo = zr_saml_idp_slo_url(cfg);
    if (!id || !key_name || !cert_b64 || !sso || !resolve || !slo) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    zr_time_format_iso8601(now + (time_t)(m->metadata_valid_days > 0 ? m->metadata_valid_days : 7) * 86400, until);
    zr_time_format_iso8601(now, created);

    /* examples/saml_metadata_rd_for_dv.xml */
    xmlNodePtr ed = new_root(&b, ZR_NS_MD, "md", "EntityDescriptor", &md);
    ds = ns_decl(&b, ed, ZR_NS_DS, "ds");
    at(&b, ed, "ID", id);
    at(&b, ed, "entityID", m->entity_id);
    at(&b, ed, "validUntil", until);
    /* When this document was made: the relay never goes back to an older
     * one (SAML V2.0 Metadata Extensions for Registration and Publication
     * Info §2.2). */
    xmlNodePtr pi = el(&b, el(&b, ed, md, "Extensions", NULL), NULL, "PublicationInfo", NULL);
    xmlNsPtr rpi = ns_decl(&b, pi, ZR_SAML_NS_MDRPI, "mdrpi");
    if (rpi)
        xmlSetNs(pi, rpi);
    at(&b, pi, "publisher", m->entity_id);
    at(&b, pi, "creationInstant", created);
    xmlNodePtr idp = el(&b, ed, md, "IDPSSODescriptor", NULL);
    at(&b, idp, "WantAuthnRequestsSigned", "true");
    at(&b, idp, "protocolSupportEnumeration", SAML_PROTOCOL);
    xmlNodePtr kd = el(&b, idp, md, "KeyDescriptor", NULL);
    at(&b, kd, "use", "signing");
    xmlNodePtr ki = el(&b, kd, ds, "KeyInfo", NULL);
    el(&b, ki, ds, "KeyName", key_name);
    el(&b, el(&b, ki, ds, "X509Data", NULL), ds, "X509Certificate", cert_b64);
    xmlNodePtr ars = el(&b, idp, md, "ArtifactResolutionService", NULL);
    at(&b, ars, "Binding", ZR_SAML_BINDING_SOAP);
    at(&b, ars, "Location", resolve);
    at(&b, ars, "index", "0");
    xmlNodePtr slo_el = el(&b, idp, md, "SingleLogoutService", NULL);
    at(&b, slo_el, "Binding", ZR_SAML_BINDING_POST);
    at(&b, slo_el, "Location", slo);
    xmlNodePtr sso_el = el(&b, idp, md, "SingleSignOnService", NULL);
    at(&b, sso_el, "Binding", ZR_SAML_BINDING_POST);
    at(&b, sso_el, "Location", sso);
    if (b.failed) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* KeyName and the certificate: the relay checks the signature against its
     * trust anchor (the CA that issued this certificate). */
    if (zr_xml_sign(b.doc, ed, m->signing.key, key_name, m->signing.cert, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "signing the mock TVS metadata failed: %s", why);
        goto end;
    }
    xml = zr_xml_dump(b.doc, NULL, &n);
    if (!xml)
        snprintf(err, errlen, "out of memory");
    else if (len)
        *len = n;
end:
    if (b.doc)
        xmlFreeDoc(b.doc);
    free(id);
    free(key_name);
    free(cert_b64);
    free(sso);
    free(resolve);
    free(slo);
    return xml;
}

/* ------------------------------------------------------------ AuthnRequest */

void zr_saml_idp_request_clear(zr_saml_idp_request_t *r)
{
    if (!r)
        return;
    free(r->request_id);
    free(r->requester);
    memset(r, 0, sizeof(*r));
}

/* What samlp:Extensions names (ST-SAML §DV->RD AuthnRequest, Extensions). */
typedef struct {
    char *audience;      /* IntendedAudience: the care provider's entityID */
    char *service_uuid;  /* ServiceUUID */
} extensions_t;

static void extensions_clear(extensions_t *x)
{
    free(x->audience);
    free(x->service_uuid);
    memset(x, 0, sizeof(*x));
}

/* The one AttributeValue of an Extensions attribute, trimmed; NULL when
 * there is not exactly one or it is empty. */
static char *single_value(xmlNodePtr attr)
{
    xmlNodePtr v = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue");
    char *text;
    if (!v || zr_xml_count_children(attr, ZR_NS_SAML, "AttributeValue") != 1)
        return NULL;
    text = zr_xml_text(v);
    if (text && !*text) {
        free(text);
        text = NULL;
    }
    return text;
}

/* Exactly one IntendedAudience and one ServiceUUID attribute, each with one
 * value; IdpAssertion is for RD->AD only, anything else is refused too (the
 * mock checks the shape the relay sends, strictly). */
static zr_saml_idp_check_t parse_extensions(xmlNodePtr ext, extensions_t *out, char *err, size_t errlen)
{
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_EXTENSIONS;
    char *name = NULL;
    const char *nm;

    for (xmlNodePtr n = ext->children; n; n = n->next) {
        char **slot = NULL;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!zr_xml_is(n, ZR_NS_SAML, "Attribute")) {
            refuse(err, errlen, rc, "AuthnRequest: Extensions may only hold saml:Attribute elements, not %.64s",
                   (const char *)n->name);
            goto end;
        }
        free(name);
        name = zr_xml_attr(n, "Name");
        nm = name ? zr_str_trim(name) : "";
        if (strcmp(nm, ZR_SAML_IDP_ATTR_INTENDED_AUDIENCE) == 0)
            slot = &out->audience;
        else if (strcmp(nm, ZR_SAML_ATTR_SERVICE_UUID) == 0)
            slot = &out->service_uuid;
        else if (strcmp(nm, ZR_SAML_IDP_ATTR_IDP_ASSERTION) == 0) {
            refuse(err, errlen, rc, "AuthnRequest: Extensions: the IdpAssertion attribute MUST NOT be used from "
                                    "a DV or LC");
            goto end;
        } else {
            refuse(err, errlen, rc, "AuthnRequest: Extensions: unknown attribute (only IntendedAudience and "
                                    "ServiceUUID)");
            goto end;
        }
        if (*slot) {
            refuse(err, errlen, rc, "AuthnRequest: Extensions: %s given more than once", nm);
            goto end;
        }
        *slot = single_value(n);
        if (!*slot) {
            refuse(err, errlen, rc, "AuthnRequest: Extensions: %s needs exactly one non-empty AttributeValue", nm);
            goto end;
        }
    }
    if (!out->audience)
        refuse(err, errlen, rc, "AuthnRequest: Extensions: the IntendedAudience attribute is missing");
    else if (!out->service_uuid)
        refuse(err, errlen, rc, "AuthnRequest: Extensions: the ServiceUUID attribute is missing");
    else
        rc = ZR_SAML_IDP_OK;
end:
    free(name);
    return rc;
}

/* The service of t with this ServiceUUID; NULL when none. */
static const zr_tenant_service_t *service_by_uuid(const zr_tenant_t *t, const char *uuid)
{
    for (size_t i = 0; i < t->service_count; i++)
        if (t->services[i].service_uuid && strcmp(t->services[i].service_uuid, uuid) == 0)
            return &t->services[i];
    return NULL;
}

/* Only on the refusal path (it scans): the care provider that did register
 * uuid, to say why exactly the request is refused. */
static const zr_tenant_t *service_owner(const zr_config_t *cfg, const char *uuid)
{
    for (size_t i = 0; i < cfg->tenant_count; i++)
        if (service_by_uuid(&cfg->tenants[i], uuid))
            return &cfg->tenants[i];
    return NULL;
}

static int is_former_tenant(const zr_config_t *cfg, const char *entity_id)
{
    for (size_t i = 0; i < cfg->former_tenant_count; i++)
        if (cfg->former_tenants[i].entity_id && strcmp(cfg->former_tenants[i].entity_id, entity_id) == 0)
            return 1;
    return 0;
}

/* ST-SAML §DV->RD AuthnRequest processing rules 1 and 2: the care provider
 * named by IntendedAudience is registered (with the LC, when an LC sends)
 * for the ServiceUUID. issuer_tenant is the direct sender, NULL for the LC. */
static zr_saml_idp_check_t check_extensions(const zr_config_t *cfg, const extensions_t *x,
                                            const zr_tenant_t *issuer_tenant, zr_saml_idp_request_t *out,
                                            char *err, size_t errlen)
{
    const zr_tenant_t *t, *owner;
    if (issuer_tenant) {
        /* A direct DV may name only itself. */
        if (strcmp(x->audience, issuer_tenant->entity_id) != 0)
            return refuse(err, errlen, ZR_SAML_IDP_ERR_AUDIENCE,
                          "AuthnRequest: IntendedAudience is not the Issuer; a care provider with a direct "
                          "connection can only ask for itself");
        t = issuer_tenant;
    } else {
        t = zr_config_find_tenant_by_entity_id(cfg, x->audience);
        if (!t)
            return refuse(err, errlen, ZR_SAML_IDP_ERR_AUDIENCE,
                          "AuthnRequest: IntendedAudience is %s registered with the LC %s",
                          is_former_tenant(cfg, x->audience) ? "a former care provider, no longer"
                                                             : "not a care provider",
                          cfg->cluster.entity_id);
    }
    out->service = service_by_uuid(t, x->service_uuid);
    if (!out->service) {
        owner = service_owner(cfg, x->service_uuid);
        if (owner)
            return refuse(err, errlen, ZR_SAML_IDP_ERR_SERVICE,
                          "AuthnRequest: ServiceUUID is registered for care provider %s, not for %s",
                          owner->id ? owner->id : "?", t->id ? t->id : "?");
        return refuse(err, errlen, ZR_SAML_IDP_ERR_SERVICE,
                      "AuthnRequest: ServiceUUID names no registered service of care provider %s",
                      t->id ? t->id : "?");
    }
    out->tenant = t;
    return ZR_SAML_IDP_OK;
}

zr_saml_idp_check_t zr_saml_idp_authn_request_verify(const zr_config_t *cfg, const char *saml_request_b64,
                                                     zr_saml_idp_request_t *out, char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, ext;
    char *id = NULL, *sso = NULL, *requester = NULL;
    char why[256] = "";
    const zr_tenant_t *t = NULL;
    extensions_t x = {0};
    int acs_index, service_index, want_acs;
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_INTERNAL;

    memset(out, 0, sizeof(*out));
    if (!saml_request_b64 || !*saml_request_b64) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ENCODING, "SAMLRequest missing");
        goto end;
    }
    if (strlen(saml_request_b64) > (ZR_XML_MAX_BYTES / 3 + 1) * 4 + 4096) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ENCODING, "SAMLRequest too large");
        goto end;
    }
    if (zr_base64_decode(saml_request_b64, &raw, &raw_len) != 0) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ENCODING, "SAMLRequest is not base64");
        goto end;
    }
    doc = zr_xml_parse((const char *)raw, raw_len, 0, why, sizeof(why));
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_XML, "SAMLRequest is not acceptable XML: %s",
                    why[0] ? why : "no root element");
        goto end;
    }
    if (!zr_xml_is(root, ZR_NS_SAMLP, "AuthnRequest")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_XML, "SAMLRequest is not a samlp:AuthnRequest");
        goto end;
    }
    if ((rc = zr_saml_idp_check_version_id(root, "AuthnRequest", &id, err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    /* The Issuer picks the DV (or LC) metadata, and so the key (ST-SAML §Issuer);
     * t stays NULL for the LC. */
    if ((rc = zr_saml_idp_check_issuer(cfg, root, "AuthnRequest", &requester, &t, err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    if ((rc = zr_saml_idp_verify_relay_signature(cfg, doc, root, "AuthnRequest", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    sso = zr_saml_idp_sso_url(cfg);
    if (!sso) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "out of memory");
        goto end;
    }
    if (!attr_equals(root, "Destination", sso)) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_DESTINATION, "AuthnRequest: Destination is not %s", sso);
        goto end;
    }
    if ((rc = zr_saml_idp_check_issue_instant(cfg, root, "AuthnRequest", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    /* The ACS comes from the DV (or LC) metadata by index, never from the request. */
    if (has_attr(root, "AssertionConsumerServiceURL") || has_attr(root, "ProtocolBinding")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ACS_URL,
                    "AuthnRequest: AssertionConsumerServiceURL/ProtocolBinding must not be sent");
        goto end;
    }
    acs_index = attr_index(root, "AssertionConsumerServiceIndex");
    if (acs_index < 0) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ACS_INDEX, "AuthnRequest: AssertionConsumerServiceIndex missing");
        goto end;
    }
    want_acs = t ? t->assertion_consumer_service_index : ZR_SAML_CLUSTER_ACS_INDEX;
    if (acs_index != want_acs) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ACS_INDEX,
                    "AuthnRequest: AssertionConsumerServiceIndex %d is not in the %s metadata", acs_index,
                    t ? "care provider's" : "LC's");
        goto end;
    }
    /* The LoA is registered per ServiceUUID (ST-SAML §AuthnRequest). */
    if (zr_xml_child(root, ZR_NS_SAMLP, "RequestedAuthnContext")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_AUTHN_CONTEXT, "AuthnRequest: RequestedAuthnContext is not allowed");
        goto end;
    }
    if (zr_xml_child(root, ZR_NS_SAMLP, "NameIDPolicy") || zr_xml_child(root, ZR_NS_SAML, "Conditions") ||
        zr_xml_child(root, ZR_NS_SAML, "Subject")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_UNSUPPORTED,
                    "AuthnRequest: NameIDPolicy, Conditions and Subject are not allowed");
        goto end;
    }
    /* The service is named in exactly one way: Extensions (the LC always,
     * a DV may) or AttributeConsumingServiceIndex (a DV only). */
    ext = zr_xml_child(root, ZR_NS_SAMLP, "Extensions");
    if (ext && zr_xml_count_children(root, ZR_NS_SAMLP, "Extensions") != 1) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_EXTENSIONS, "AuthnRequest: more than one Extensions element");
        goto end;
    }
    if (ext && has_attr(root, "AttributeConsumingServiceIndex")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_SERVICE_CHOICE,
                    "AuthnRequest: only one of Extensions and AttributeConsumingServiceIndex may be present");
        goto end;
    }
    if (!t && !ext) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_EXTENSIONS,
                    "AuthnRequest: a request from the LC must name the care provider and service in "
                    "samlp:Extensions (IntendedAudience, ServiceUUID)");
        goto end;
    }
    if (ext) {
        if ((rc = parse_extensions(ext, &x, err, errlen)) != ZR_SAML_IDP_OK ||
            (rc = check_extensions(cfg, &x, t, out, err, errlen)) != ZR_SAML_IDP_OK)
            goto end;
    } else {
        service_index = attr_index(root, "AttributeConsumingServiceIndex");
        if (service_index < 0) {
            rc = refuse(err, errlen, ZR_SAML_IDP_ERR_SERVICE,
                        "AuthnRequest: AttributeConsumingServiceIndex (or Extensions) missing");
            goto end;
        }
        for (size_t i = 0; i < t->service_count && !out->service; i++)
            if (t->services[i].attribute_consuming_service_index == service_index && t->services[i].service_uuid)
                out->service = &t->services[i];
        if (!out->service) {
            rc = refuse(err, errlen, ZR_SAML_IDP_ERR_SERVICE,
                        "AuthnRequest: AttributeConsumingServiceIndex %d names no service of the care provider",
                        service_index);
            goto end;
        }
        out->tenant = t;
    }
    out->force_authn = attr_equals(root, "ForceAuthn", "true") || attr_equals(root, "ForceAuthn", "1");
    out->request_id = id;
    id = NULL;
    out->requester = requester;
    requester = NULL;
    out->bsn_key = ZR_SAML_IDP_BSN_KEY_NEWEST;
    rc = ZR_SAML_IDP_OK;
end:
    if (rc != ZR_SAML_IDP_OK)
        memset(out, 0, sizeof(*out));
    if (doc)
        xmlFreeDoc(doc);
    extensions_clear(&x);
    free(raw);
    free(id);
    free(sso);
    free(requester);
    return rc;
}

/* ------------------------------------------------------------ artifacts */

void zr_saml_idp_resolve_clear(zr_saml_idp_resolve_t *r)
{
    if (!r)
        return;
    free(r->id);
    free(r->issuer);
    free(r->artifact);
    memset(r, 0, sizeof(*r));
}

static int source_id(const char *entity_id, uint8_t out[20])
{
    unsigned int n = 0;
    /* SHA-1 as an identifier (SAML Bindings §3.6.4), not for security. */
    return EVP_Digest(entity_id, strlen(entity_id), out, &n, EVP_sha1(), NULL) == 1 && n == 20 ? 0 : -1;
}

char *zr_saml_idp_artifact_new(const char *entity_id, int endpoint_index)
{
    uint8_t a[ARTIFACT_LEN];
    if (!entity_id || endpoint_index < 0 || endpoint_index > 65535)
        return NULL;
    a[0] = 0x00;
    a[1] = 0x04;
    a[2] = (uint8_t)(endpoint_index >> 8);
    a[3] = (uint8_t)(endpoint_index & 0xff);
    if (source_id(entity_id, a + 4) != 0 || zr_random_bytes(a + 24, 20) != 0)
        return NULL;
    return zr_base64_encode(a, sizeof(a));
}

/* The artifact must be one of ours: type 0x0004, our SourceID. */
static zr_saml_idp_check_t check_artifact(const zr_config_t *cfg, const char *art, char *err, size_t errlen)
{
    uint8_t *raw = NULL, sid[20];
    size_t n = 0;
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_ARTIFACT;
    if (!*art || strlen(art) > 128 || zr_base64_decode(art, &raw, &n) != 0)
        refuse(err, errlen, rc, "ArtifactResolve: Artifact is not base64");
    else if (n != ARTIFACT_LEN || raw[0] != 0x00 || raw[1] != 0x04)
        refuse(err, errlen, rc, "ArtifactResolve: Artifact is not a type 0x0004 artifact");
    else if (source_id(cfg->mock_tvs.entity_id, sid) != 0 || CRYPTO_memcmp(raw + 4, sid, sizeof(sid)) != 0)
        refuse(err, errlen, rc, "ArtifactResolve: Artifact SourceID is not ours");
    else
        rc = ZR_SAML_IDP_OK;
    free(raw);
    return rc;
}

zr_saml_idp_check_t zr_saml_idp_artifact_resolve_verify(const zr_config_t *cfg, const char *soap, size_t len,
                                                        zr_saml_idp_resolve_t *out, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlNodePtr env, body, ar = NULL, art;
    const zr_tenant_t *issuer_tenant = NULL;
    char *resolve_url = NULL;
    char why[256] = "";
    size_t elements = 0;
    zr_saml_idp_check_t rc = ZR_SAML_IDP_ERR_XML;

    memset(out, 0, sizeof(*out));
    if (!soap || !cfg->mock_tvs.entity_id) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "no request or no mock_tvs entity_id");
        goto end;
    }
    doc = zr_xml_parse(soap, len, 0, why, sizeof(why));
    env = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!env) {
        refuse(err, errlen, rc, "SOAP request is not acceptable XML: %s", why[0] ? why : "no root element");
        goto end;
    }
    if (!zr_xml_is(env, ZR_NS_SOAP, "Envelope") || zr_xml_count_children(env, ZR_NS_SOAP, "Body") != 1) {
        refuse(err, errlen, rc, "SOAP: expected an Envelope with one Body");
        goto end;
    }
    body = zr_xml_child(env, ZR_NS_SOAP, "Body");
    for (xmlNodePtr n = body->children; n; n = n->next)
        if (n->type == XML_ELEMENT_NODE && ++elements == 1)
            ar = n;
    if (elements != 1 || !zr_xml_is(ar, ZR_NS_SAMLP, "ArtifactResolve")) {
        refuse(err, errlen, rc, "SOAP: Body must hold exactly one samlp:ArtifactResolve");
        goto end;
    }
    if ((rc = zr_saml_idp_check_version_id(ar, "ArtifactResolve", &out->id, err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    if ((rc = zr_saml_idp_check_issuer(cfg, ar, "ArtifactResolve", &out->issuer, &issuer_tenant, err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    if ((rc = zr_saml_idp_verify_relay_signature(cfg, doc, ar, "ArtifactResolve", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    resolve_url = zr_saml_idp_resolve_url(cfg);
    if (!resolve_url) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "out of memory");
        goto end;
    }
    if (!attr_equals(ar, "Destination", resolve_url)) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_DESTINATION, "ArtifactResolve: Destination is not %s", resolve_url);
        goto end;
    }
    if ((rc = zr_saml_idp_check_issue_instant(cfg, ar, "ArtifactResolve", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    art = zr_xml_child(ar, ZR_NS_SAMLP, "Artifact");
    if (!art || zr_xml_count_children(ar, ZR_NS_SAMLP, "Artifact") != 1) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ARTIFACT, "ArtifactResolve: exactly one Artifact required");
        goto end;
    }
    out->artifact = zr_xml_text(art);
    if (!out->artifact) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "out of memory");
        goto end;
    }
    rc = check_artifact(cfg, out->artifact, err, errlen);
end:
    if (rc != ZR_SAML_IDP_OK)
        zr_saml_idp_resolve_clear(out);
    if (doc)
        xmlFreeDoc(doc);
    free(resolve_url);
    return rc;
}

/* ------------------------------------------------------------ ArtifactResponse */

/* Everything one response is made of. */
typedef struct {
    const zr_config_t *cfg;
    const zr_saml_idp_request_t *req;
    const zr_mock_identity_t *identity;
    bld_t b;
    xmlNsPtr samlp, saml;
    char now_s[21], authn_s[21], not_before_s[21], not_after_s[21];
    char *acs_url;
    char *name_id;       /* transient NameID = SessionIndex, as in the examples */
    const char *loa_uri;
    xmlNodePtr signed_nodes[4]; /* in signing order: innermost first */
    size_t signed_count;
} resp_ctx_t;

/* A random UUID (version 4) for the transient NameID. */
static char *random_uuid(void)
{
    uint8_t u[16];
    char *s = malloc(37);
    if (!s || zr_random_bytes(u, sizeof(u)) != 0) {
        free(s);
        return NULL;
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40);
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    snprintf(s, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
             u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
    return s;
}

/* Adds ID, IssueInstant and Version, and the Issuer (the RD). */
static void add_header(resp_ctx_t *c, xmlNodePtr n, const char *issuer)
{
    char *id = zr_random_saml_id();
    if (!id)
        c->b.failed = 1;
    at(&c->b, n, "ID", id);
    at(&c->b, n, "IssueInstant", c->now_s);
    at(&c->b, n, "Version", "2.0");
    el(&c->b, n, c->saml, "Issuer", issuer);
    free(id);
}

/* <samlp:Status><StatusCode top><StatusCode second/></StatusCode>
 * <StatusMessage/></samlp:Status> (ST-SAML §Error messages). */
static void add_status(resp_ctx_t *c, xmlNodePtr parent, const char *top, const char *second, const char *message)
{
    char v[96];
    xmlNodePtr st = el(&c->b, parent, c->samlp, "Status", NULL);
    xmlNodePtr code = el(&c->b, st, c->samlp, "StatusCode", NULL);
    snprintf(v, sizeof(v), STATUS_PREFIX "%s", top);
    at(&c->b, code, "Value", v);
    if (second) {
        snprintf(v, sizeof(v), STATUS_PREFIX "%s", second);
        at(&c->b, el(&c->b, code, c->samlp, "StatusCode", NULL), "Value", v);
    }
    if (message)
        el(&c->b, st, c->samlp, "StatusMessage", message);
}

/* <saml:Attribute Name=name><saml:AttributeValue>value</...></...> */
static void add_plain_attribute(resp_ctx_t *c, xmlNodePtr stmt, const char *name, const char *value)
{
    xmlNodePtr a = el(&c->b, stmt, c->saml, "Attribute", NULL);
    at(&c->b, a, "Name", name);
    el(&c->b, a, c->saml, "AttributeValue", value);
}

/* Which of t's BSN keys the content key is wrapped for: [*from, *to).
 * ST-SAML §EncryptedID wraps it for every certificate in the metadata
 * (ALL); the mock defaults to the newest only, and lets a tester pick one,
 * to show that the relay decrypts with whichever key TVS used during a
 * rollover. -1 when t has no such key. */
static int bsn_key_range(const zr_tenant_t *t, int choice, size_t *from, size_t *to)
{
    size_t n = t->bsn_key_count < 2 ? t->bsn_key_count : 2;
    if (n == 0)
        return -1;
    if (choice == ZR_SAML_IDP_BSN_KEY_ALL) {
        *from = 0;
        *to = n;
    } else if (choice == ZR_SAML_IDP_BSN_KEY_NEWEST) {
        *from = n - 1;
        *to = n;
    } else if (choice >= 0 && (size_t)choice < n) {
        *from = (size_t)choice;
        *to = *from + 1;
    } else {
        return -1;
    }
    return 0;
}

/* An attribute whose value is the EncryptedID of
 * <saml:NameID Format=persistent NameQualifier=id_type>bsn</saml:NameID>
 * for the care provider (Recipient, never the LC), wrapped for the BSN
 * key(s) req->bsn_key names. */
static int add_encrypted_attribute(resp_ctx_t *c, xmlNodePtr stmt, const char *name, const char *bsn, char *err,
                                   size_t errlen)
{
    const zr_tenant_t *t = c->req->tenant;
    const char *id_type = c->identity->id_type && *c->identity->id_type ? c->identity->id_type : ZR_ID_LEGACY_BSN;
    zr_xml_encrypt_recipient_t rcpt[2];
    char *names[2] = {NULL, NULL};
    size_t n = 0, from = 0, to = 0;
    char why[256] = "";
    int rc = -1;

    xmlNodePtr a = el(&c->b, stmt, c->saml, "Attribute", NULL);
    at(&c->b, a, "Name", name);
    xmlNodePtr v = el(&c->b, a, c->saml, "AttributeValue", NULL);
    xmlNodePtr nameid = el(&c->b, v, NULL, "NameID", bsn);
    /* Declared on the NameID itself so the encrypted plaintext stands alone. */
    xmlNsPtr own = ns_decl(&c->b, nameid, ZR_NS_SAML, "saml2");
    if (own)
        xmlSetNs(nameid, own);
    at(&c->b, nameid, "Format", NAMEID_PERSISTENT);
    at(&c->b, nameid, "NameQualifier", id_type);
    if (c->b.failed) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (bsn_key_range(t, c->req->bsn_key, &from, &to) != 0) {
        snprintf(err, errlen, "care provider %s has no BSN encryption certificate %d", t->id ? t->id : "?",
                 c->req->bsn_key + 1);
        goto end;
    }
    for (size_t i = from; i < to; i++) {
        if (!t->bsn_keys[i].cert) {
            snprintf(err, errlen, "care provider %s: BSN key %zu has no certificate", t->id ? t->id : "?", i + 1);
            goto end;
        }
        rcpt[n].recipient = t->entity_id;
        rcpt[n].cert = t->bsn_keys[i].cert;
        rcpt[n].key_name = t->bsn_keys[i].key_name;
        if (!rcpt[n].key_name && !(rcpt[n].key_name = names[n] = zr_crypto_cert_keyname(rcpt[n].cert))) {
            snprintf(err, errlen, "out of memory");
            goto end;
        }
        n++;
    }
    if (zr_xml_encrypt_to_encrypted_id(c->b.doc, nameid, rcpt, n, 0, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "encrypting %s failed: %s", name, why);
        goto end;
    }
    rc = 0;
end:
    free(names[0]);
    free(names[1]);
    return rc;
}

/* One Assertion (examples/artifact_response.xml). The outer one (the RD's)
 * carries Advice with the stand-in DigiD assertion, the AuthenticatingAuthority
 * list and every attribute; the inner one only what DigiD itself states. */
static int add_assertion(resp_ctx_t *c, xmlNodePtr parent, int outer, char *err, size_t errlen)
{
    const zr_mock_identity_t *idn = c->identity;
    const char *issuer = outer ? c->cfg->mock_tvs.entity_id : ZR_SAML_IDP_MOCK_AD;
    int legal = outer && idn->legal_bsn && *idn->legal_bsn;

    xmlNodePtr as = el(&c->b, parent, c->saml, "Assertion", NULL);
    add_header(c, as, issuer);

    xmlNodePtr subj = el(&c->b, as, c->saml, "Subject", NULL);
    at(&c->b, el(&c->b, subj, c->saml, "NameID", c->name_id), "Format", NAMEID_TRANSIENT);
    xmlNodePtr sc = el(&c->b, subj, c->saml, "SubjectConfirmation", NULL);
    at(&c->b, sc, "Method", CM_BEARER);
    xmlNodePtr scd = el(&c->b, sc, c->saml, "SubjectConfirmationData", NULL);
    at(&c->b, scd, "InResponseTo", c->req->request_id);
    at(&c->b, scd, "NotOnOrAfter", c->not_after_s);
    at(&c->b, scd, "Recipient", c->acs_url);

    xmlNodePtr cond = el(&c->b, as, c->saml, "Conditions", NULL);
    at(&c->b, cond, "NotBefore", c->not_before_s);
    at(&c->b, cond, "NotOnOrAfter", c->not_after_s);
    /* ST-SAML §Audience restriction: every party that processes the
     * assertion, in one restriction: the care provider and, in a cluster,
     * the LC that asked for it (it is no Recipient of an EncryptedID). */
    xmlNodePtr ares = el(&c->b, cond, c->saml, "AudienceRestriction", NULL);
    el(&c->b, ares, c->saml, "Audience", c->req->tenant->entity_id);
    if (c->req->requester && strcmp(c->req->requester, c->req->tenant->entity_id) != 0)
        el(&c->b, ares, c->saml, "Audience", c->req->requester);

    if (outer) {
        xmlNodePtr advice = el(&c->b, as, c->saml, "Advice", NULL);
        if (c->b.failed || add_assertion(c, advice, 0, err, errlen) != 0)
            goto fail;
    }

    xmlNodePtr authn = el(&c->b, as, c->saml, "AuthnStatement", NULL);
    at(&c->b, authn, "AuthnInstant", c->authn_s);
    at(&c->b, authn, "SessionIndex", c->name_id);
    xmlNodePtr actx = el(&c->b, authn, c->saml, "AuthnContext", NULL);
    el(&c->b, actx, c->saml, "AuthnContextClassRef", c->loa_uri);
    if (outer) {
        el(&c->b, actx, c->saml, "AuthenticatingAuthority", ZR_SAML_IDP_MOCK_AD);
        if (legal)
            el(&c->b, actx, c->saml, "AuthenticatingAuthority", ZR_SAML_IDP_MOCK_BVD);
    }

    /* Attribute order of examples/artifact_response_with_legal_representation.xml. */
    xmlNodePtr stmt = el(&c->b, as, c->saml, "AttributeStatement", NULL);
    add_plain_attribute(c, stmt, ZR_SAML_ATTR_SERVICE_UUID, c->req->service->service_uuid);
    if (outer && idn->representation_type && *idn->representation_type)
        add_plain_attribute(c, stmt, ZR_SAML_ATTR_REPR_TYPE, idn->representation_type);
    if (c->b.failed || add_encrypted_attribute(c, stmt, ZR_SAML_ATTR_ACTING, idn->acting_bsn, err, errlen) != 0)
        goto fail;
    if (legal && add_encrypted_attribute(c, stmt, ZR_SAML_ATTR_LEGAL, idn->legal_bsn, err, errlen) != 0)
        goto fail;
    if (c->b.failed)
        goto oom;
    /* The inner assertion is added (and so signed) before the outer one. */
    c->signed_nodes[c->signed_count++] = as;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
fail:
    c->b.failed = 1;
    return -1;
}

/* The Response inside the ArtifactResponse: the outcome of the login. */
static int add_response(resp_ctx_t *c, xmlNodePtr ar, char *err, size_t errlen)
{
    xmlNodePtr resp = el(&c->b, ar, c->samlp, "Response", NULL);
    at(&c->b, resp, "Destination", c->acs_url);
    at(&c->b, resp, "InResponseTo", c->req->request_id);
    add_header(c, resp, c->cfg->mock_tvs.entity_id);
    /* Top level Responder for what happened at the user's side, Requester
     * when TVS refuses the requester (ST-SAML §Error messages). */
    switch (c->identity->outcome) {
    case ZR_MOCK_OUTCOME_SUCCESS:
        add_status(c, resp, "Success", NULL, NULL);
        if (c->b.failed)
            break;
        return add_assertion(c, resp, 1, err, errlen);
    case ZR_MOCK_OUTCOME_CANCEL:
        add_status(c, resp, "Responder", "AuthnFailed", ZR_SAML_IDP_CANCEL_MESSAGE);
        break;
    case ZR_MOCK_OUTCOME_AUTHN_FAILED:
        add_status(c, resp, "Responder", "AuthnFailed", "Authentication failed");
        break;
    case ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT:
        add_status(c, resp, "Responder", "NoAuthnContext", "Level of assurance not reachable");
        break;
    case ZR_MOCK_OUTCOME_REQUEST_DENIED:
        add_status(c, resp, "Requester", "RequestDenied", "Request denied");
        break;
    default:
        snprintf(err, errlen, "unknown mock outcome %d", (int)c->identity->outcome);
        return -1;
    }
    if (c->b.failed) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

char *zr_saml_idp_artifact_response_build(const zr_config_t *cfg, const zr_saml_idp_request_t *req,
                                          const zr_mock_identity_t *identity, const char *resolve_id,
                                          size_t *len, char *err, size_t errlen)
{
    const zr_keypair_t *sk = &cfg->mock_tvs.signing;
    resp_ctx_t c;
    xmlNsPtr soap = NULL;
    char *xml = NULL;
    time_t now = zr_time_now();

    memset(&c, 0, sizeof(c));
    c.cfg = cfg;
    c.req = req;
    c.identity = identity;
    if (!resolve_id || !cfg->mock_tvs.entity_id || !sk->key || !sk->cert) {
        snprintf(err, errlen, "ArtifactResponse: resolve ID, mock entity_id or signing key missing");
        goto end;
    }
    if (req && (!identity || !req->request_id || !req->tenant || !req->tenant->entity_id || !req->service ||
                !req->service->service_uuid)) {
        snprintf(err, errlen, "ArtifactResponse: incomplete login context");
        goto end;
    }
    if (req && identity->outcome == ZR_MOCK_OUTCOME_SUCCESS && (!identity->acting_bsn || !*identity->acting_bsn)) {
        snprintf(err, errlen, "identity \"%s\" has no acting BSN", identity->label ? identity->label : "?");
        goto end;
    }
    c.acs_url = zr_saml_acs_url(cfg);
    c.name_id = random_uuid();
    if (!c.acs_url || !c.name_id) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    zr_time_format_iso8601(now, c.now_s);
    zr_time_format_iso8601(req && req->authn_instant ? req->authn_instant : now, c.authn_s);
    zr_time_format_iso8601(now - ASSERTION_WINDOW_S, c.not_before_s);
    zr_time_format_iso8601(now + ASSERTION_WINDOW_S, c.not_after_s);
    if (identity) {
        zr_loa_t loa = identity->loa != ZR_LOA_NONE ? identity->loa : req ? req->service->min_loa : ZR_LOA_NONE;
        c.loa_uri = zr_loa_uri(loa != ZR_LOA_NONE ? loa : ZR_LOA_SUBSTANTIAL);
    }

    /* SOAP Envelope > Body > ArtifactResponse (SAML Bindings §3.2.3.3). */
    xmlNodePtr env = new_root(&c.b, ZR_NS_SOAP, "soap11", "Envelope", &soap);
    xmlNodePtr body = el(&c.b, env, soap, "Body", NULL);
    xmlNodePtr ar = el(&c.b, body, NULL, "ArtifactResponse", NULL);
    c.samlp = ns_decl(&c.b, ar, ZR_NS_SAMLP, "saml2p");
    c.saml = ns_decl(&c.b, ar, ZR_NS_SAML, "saml2");
    if (c.samlp)
        xmlSetNs(ar, c.samlp);
    at(&c.b, ar, "InResponseTo", resolve_id);
    add_header(&c, ar, cfg->mock_tvs.entity_id);
    /* Success also for an unknown artifact: then simply no Response. */
    add_status(&c, ar, "Success", NULL, NULL);
    if (c.b.failed) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (req && add_response(&c, ar, err, errlen) != 0)
        goto end;
    c.signed_nodes[c.signed_count++] = ar;
    xml = zr_saml_idp_sign_and_dump(cfg, c.b.doc, c.signed_nodes, c.signed_count, "ArtifactResponse", len, err,
                                    errlen);
    /* A session TVS can later log out (idp_logout.c). */
    if (xml && req && identity->outcome == ZR_MOCK_OUTCOME_SUCCESS)
        zr_saml_idp_session_opened(req->requester ? req->requester : req->tenant->entity_id,
                                   req->tenant->entity_id, c.name_id, c.name_id);
end:
    if (c.b.doc)
        xmlFreeDoc(c.b.doc);
    free(c.acs_url);
    free(c.name_id);
    return xml;
}

/* ------------------------------------------------------------ SOAP fault */

char *zr_saml_idp_soap_fault(int client_fault, const char *reason, size_t *len)
{
    bld_t b = {0};
    xmlNsPtr soap = NULL;
    char *xml = NULL;
    size_t n = 0;

    /* SOAP 1.1 §4.4: faultcode and faultstring are unqualified. */
    xmlNodePtr env = new_root(&b, ZR_NS_SOAP, "soap11", "Envelope", &soap);
    xmlNodePtr fault = el(&b, el(&b, env, soap, "Body", NULL), soap, "Fault", NULL);
    xmlNodePtr code = el(&b, fault, NULL, "faultcode", client_fault ? "soap11:Client" : "soap11:Server");
    xmlNodePtr text = el(&b, fault, NULL, "faultstring", reason && *reason ? reason : "error");
    /* libxml2 gives a child without ns its parent's namespace: undo that. */
    if (code && text) {
        xmlSetNs(code, NULL);
        xmlSetNs(text, NULL);
    }
    if (!b.failed)
        xml = zr_xml_dump(b.doc, NULL, &n);
    if (xml && len)
        *len = n;
    if (b.doc)
        xmlFreeDoc(b.doc);
    return xml;
}
