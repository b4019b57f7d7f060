/* The AuthnRequest we send to TVS over the HTTP-POST binding
 * (ST-SAML §DV→RD AuthnRequest Message), plus the lasso plumbing every
 * outbound message shares: lasso builds the message, xmlsec (through
 * zr_xml_sign) signs it, because lasso's own signing embeds the certificate
 * and ST-SAML wants KeyInfo/KeyName with exclusive c14n. */
#include "sp_internal.h"

#include <stdlib.h>
#include <string.h>

#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/samlp2_artifact_resolve.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_logout_request.h>

#include "zr/util.h"

/* Plain C casts instead of the LASSO_*() macros: those call into gobject,
 * which lasso.pc does not put on the link line (only Requires.private). */
#define ZR_LASSO_NODE(p) ((LassoNode *)(p))

/* lasso_init() is deliberately not called. It would initialise xmlsec a
 * second time (after zr_xml_init) and replace the process-wide libxml2
 * structured error handler and the xmlsec error callback that src/xml owns.
 * The node classes used here need none of it: GLib registers their types on
 * first use, and lasso_node_get_xmlNode only builds a libxml2 tree. */

/* lasso's node classes register their GLib types on first use, and that
 * is not thread-safe: two HTTP workers building the first AuthnRequest at
 * once could leave a fresh process answering every later one with 500
 * (issue 13 §1). So every message the relay builds with lasso is built once
 * here, on the main thread before the server starts, down to the libxml2
 * tree the real builders take: each class and its parents are registered
 * and initialised before any worker exists. */
int zr_saml_init(char *err, size_t errlen)
{
    LassoNode *messages[3] = {lasso_samlp2_authn_request_new(), lasso_samlp2_artifact_resolve_new(),
                              lasso_samlp2_logout_request_new()};
    LassoSaml2NameID *subject = NULL;
    xmlNodePtr tree;
    char *id = NULL;
    int rc = -1;

    snprintf(err, errlen, "lasso could not build its messages at start-up");
    for (size_t i = 0; i < 3; i++) {
        if (!messages[i] || zr_saml_request_header((LassoSamlp2RequestAbstract *)messages[i], "https://tvs.invalid/",
                                                   "urn:zorgrelay:start-up", &id, err, errlen) != 0)
            goto end;
        free(id);
        id = NULL;
    }
    subject = (LassoSaml2NameID *)lasso_saml2_name_id_new_with_string((char *)"start-up");
    if (!subject)
        goto end;
    ((LassoSamlp2LogoutRequest *)messages[2])->NameID = subject;
    subject = NULL;
    for (size_t i = 0; i < 3; i++) {
        if (!(tree = lasso_node_get_xmlNode(messages[i], FALSE)))
            goto end;
        xmlFreeNode(tree);
    }
    rc = 0;
end:
    for (size_t i = 0; i < 3; i++)
        if (messages[i])
            lasso_node_destroy(messages[i]);
    free(id);
    return rc;
}

int zr_saml_sign_root(const zr_config_t *cfg, xmlDocPtr doc, char *err, size_t errlen)
{
    char why[256] = "";

    if (!cfg->saml_signing.key || !cfg->saml_signing.key_name) {
        snprintf(err, errlen, "no SAML signing key configured");
        return -1;
    }
    if (zr_xml_sign(doc, xmlDocGetRootElement(doc), cfg->saml_signing.key,
                    cfg->saml_signing.key_name, NULL, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "signing failed: %s", why);
        return -1;
    }
    return 0;
}

int zr_saml_request_header(LassoSamlp2RequestAbstract *req, const char *destination, const char *issuer,
                           char **id, char *err, size_t errlen)
{
    char instant[21];

    *id = zr_random_saml_id();
    if (!*id) {
        snprintf(err, errlen, "no randomness for the request ID");
        return -1;
    }
    zr_time_format_iso8601(zr_time_now(), instant);
    /* lasso frees these with g_free, which is free() since GLib 2.46. */
    req->ID = strdup(*id);
    req->Version = strdup("2.0");
    req->IssueInstant = strdup(instant);
    req->Destination = strdup(destination);
    req->Issuer = (LassoSaml2NameID *)lasso_saml2_name_id_new_with_string((char *)issuer);
    if (!req->ID || !req->Version || !req->IssueInstant || !req->Destination || !req->Issuer) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

xmlDocPtr zr_saml_request_parse(LassoNode *req, const char *what, const char *const *drop, char *err,
                                size_t errlen)
{
    /* The tree lasso_node_export_to_xml would serialise, taken as it is:
     * no text round trip through the parser for our own message. */
    xmlNodePtr root = lasso_node_get_xmlNode(req, FALSE);
    xmlDocPtr doc = root ? xmlNewDoc((const xmlChar *)"1.0") : NULL;

    if (!doc) {
        snprintf(err, errlen, "lasso could not build the %s", what);
        if (root)
            xmlFreeNode(root);
        return NULL;
    }
    xmlDocSetRootElement(doc, root);
    for (size_t i = 0; drop && drop[i]; i++) {
        xmlAttrPtr a = xmlHasProp(root, (const xmlChar *)drop[i]);
        if (a)
            xmlRemoveProp(a);
    }
    return doc;
}

int zr_saml_request_encode(const zr_config_t *cfg, xmlDocPtr doc, char **id, char **out_id, char **out_xml,
                           char **out_b64, char *err, size_t errlen)
{
    char *xml = NULL, *b64 = NULL;
    size_t xml_len = 0;
    int rc = -1;

    if (zr_saml_sign_root(cfg, doc, err, errlen) != 0)
        goto end;
    xml = zr_xml_dump(doc, xmlDocGetRootElement(doc), &xml_len);
    b64 = xml ? zr_base64_encode((const uint8_t *)xml, xml_len) : NULL;
    if (!b64) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    *out_id = *id;
    *out_xml = xml;
    *out_b64 = b64;
    *id = xml = b64 = NULL;
    rc = 0;
end:
    free(xml);
    free(b64);
    return rc;
}

/* The namespace on root for href, declared there when lasso did not. */
static xmlNsPtr ns_on_root(xmlNodePtr root, const char *href, const char *prefix)
{
    xmlNsPtr ns = xmlSearchNsByHref(root->doc, root, (const xmlChar *)href);
    return ns ? ns : xmlNewNs(root, (const xmlChar *)href, (const xmlChar *)prefix);
}

/* <saml:Attribute Name="name"><saml:AttributeValue>value</...></...> */
static int add_extension_attribute(xmlNodePtr ext, xmlNsPtr saml, const char *name,
                                   const char *value)
{
    xmlNodePtr attr = xmlNewChild(ext, saml, (const xmlChar *)"Attribute", NULL);
    xmlNodePtr v = attr ? xmlNewChild(attr, saml, (const xmlChar *)"AttributeValue", NULL) : NULL;
    if (!v || !xmlSetProp(attr, (const xmlChar *)"Name", (const xmlChar *)name))
        return -1;
    /* xmlNodeAddContent escapes; xmlNewChild's content argument would not. */
    xmlNodeAddContent(v, (const xmlChar *)value);
    return 0;
}

/* Cluster connection (ST-SAML §DV→RD AuthnRequest, Extensions;
 * examples/authn_request_extensions.xml): the LC names the care provider
 * and the service in samlp:Extensions instead of an
 * AttributeConsumingServiceIndex. Added right after Issuer, before signing:
 * zr_xml_sign puts the Signature between the two, which is the schema order
 * (Issuer, Signature, Extensions) and keeps Extensions under the signature. */
static int add_cluster_extensions(xmlDocPtr doc, const char *service_uuid,
                                  const char *care_provider, char *err, size_t errlen)
{
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr issuer = zr_xml_child(root, ZR_NS_SAML, "Issuer");
    xmlNsPtr samlp = ns_on_root(root, ZR_NS_SAMLP, "samlp");
    xmlNsPtr saml = ns_on_root(root, ZR_NS_SAML, "saml");
    xmlNodePtr ext = samlp && saml ? xmlNewDocNode(doc, samlp, (const xmlChar *)"Extensions", NULL)
                                   : NULL;
    int rc = -1;

    if (!issuer) {
        snprintf(err, errlen, "AuthnRequest: lasso wrote no Issuer");
        goto end;
    }
    if (!ext || add_extension_attribute(ext, saml, ZR_SAML_ATTR_SERVICE_UUID, service_uuid) != 0 ||
        add_extension_attribute(ext, saml, ZR_SAML_ATTR_INTENDED_AUDIENCE, care_provider) != 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (!xmlAddNextSibling(issuer, ext)) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    ext = NULL;
    rc = 0;
end:
    if (ext)
        xmlFreeNode(ext);
    return rc;
}

int zr_saml_authn_request_build(const zr_config_t *cfg, const zr_tenant_t *t,
                                const zr_tenant_service_t *service, const zr_saml_idp_t *idp,
                                int force_authn, zr_saml_authn_request_t *out,
                                char *err, size_t errlen)
{
    LassoSamlp2AuthnRequest *req = NULL;
    xmlDocPtr doc = NULL;
    char *id = NULL;
    int rc = -1;
    int cluster = cfg && cfg->cluster.enabled;
    /* lasso always writes IsPassive (and ForceAuthn, even when false); the
     * ST-SAML message has no IsPassive and ForceAuthn only when "true". */
    const char *drop_forced[] = {"IsPassive", NULL};
    const char *drop_plain[] = {"IsPassive", "ForceAuthn", NULL};

    memset(out, 0, sizeof(*out));
    if (!cfg || !idp || !idp->sso_url || !t || !t->entity_id || !*t->entity_id || !service) {
        snprintf(err, errlen, "AuthnRequest: TVS SSO endpoint, care provider or service missing");
        goto end;
    }
    if (cluster) {
        /* The LC sends the request; the care provider and the service are
         * named in Extensions, so both must be there to name. */
        if (!cfg->cluster.entity_id || !*cfg->cluster.entity_id) {
            snprintf(err, errlen, "AuthnRequest: cluster connection without an LC entityID");
            goto end;
        }
        if (!service->service_uuid || !*service->service_uuid) {
            snprintf(err, errlen, "AuthnRequest: service has no ServiceUUID");
            goto end;
        }
    } else if (t->assertion_consumer_service_index < 0 ||
               service->attribute_consuming_service_index < 0) {
        /* lasso writes an index only when >= 0; both are required here. */
        snprintf(err, errlen, "AuthnRequest: negative ACS or AttributeConsumingService index");
        goto end;
    }
    req = (LassoSamlp2AuthnRequest *)lasso_samlp2_authn_request_new();
    if (!req) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* Issuer: the entity TVS answers to, the care provider itself (direct)
     * or the LC acting for it (cluster, ST-SAML §DV→RD: the LC takes the
     * role of the DV towards RD). */
    if (zr_saml_request_header(&req->parent, idp->sso_url, cluster ? cfg->cluster.entity_id : t->entity_id, &id,
                               err, errlen) != 0)
        goto end;
    if (cluster) {
        /* The one ACS the LC publishes for itself and each care provider;
         * no AttributeConsumingServiceIndex (lasso omits a negative one):
         * the service goes in Extensions. */
        req->AssertionConsumerServiceIndex = ZR_SAML_CLUSTER_ACS_INDEX;
        req->AttributeConsumingServiceIndex = -1;
    } else {
        req->AssertionConsumerServiceIndex = t->assertion_consumer_service_index;
        req->AttributeConsumingServiceIndex = service->attribute_consuming_service_index;
    }
    req->ForceAuthn = force_authn ? TRUE : FALSE;
    /* Deliberately unset (ST-SAML §AuthnRequest): NameIDPolicy,
     * RequestedAuthnContext, Conditions, AssertionConsumerServiceURL,
     * ProtocolBinding. The LoA is registered per ServiceUUID at TVS. */
    doc = zr_saml_request_parse(ZR_LASSO_NODE(req), "AuthnRequest", force_authn ? drop_forced : drop_plain, err,
                                errlen);
    if (!doc)
        goto end;
    if (cluster && add_cluster_extensions(doc, service->service_uuid, t->entity_id, err, errlen) != 0)
        goto end;
    if (zr_saml_request_encode(cfg, doc, &id, &out->id, &out->xml, &out->saml_request_b64, err, errlen) != 0)
        goto end;
    rc = 0;
end:
    if (req)
        lasso_node_destroy(ZR_LASSO_NODE(req));
    if (doc)
        xmlFreeDoc(doc);
    free(id);
    return rc;
}

void zr_saml_authn_request_free(zr_saml_authn_request_t *r)
{
    if (!r)
        return;
    zr_release(r->id);
    zr_release(r->xml);
    zr_release(r->saml_request_b64);
}
