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
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>

#include "zr/util.h"

/* Plain C casts instead of the LASSO_*() macros: those call into gobject,
 * which lasso.pc does not put on the link line (only Requires.private). */
#define ZR_LASSO_NODE(p) ((LassoNode *)(p))

/* lasso_init() is deliberately not called. It would initialise xmlsec a
 * second time (after zr_xml_init) and replace the process-wide libxml2
 * structured error handler and the xmlsec error callback that src/xml owns.
 * The node classes used here need none of it: GLib registers their types on
 * first use, and lasso_node_export_to_xml only serialises. */

xmlDocPtr zr_saml_sign_lasso_xml(const zr_config_t *cfg, const char *lasso_xml,
                                 const char *const *drop, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    xmlDocPtr result = NULL;
    xmlNodePtr root;
    char why[256] = "";

    if (!cfg->saml_signing.key || !cfg->saml_signing.key_name) {
        snprintf(err, errlen, "no SAML signing key configured");
        goto end;
    }
    doc = zr_xml_parse(lasso_xml, strlen(lasso_xml), 0, why, sizeof(why));
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        snprintf(err, errlen, "lasso produced unparsable XML: %s", why);
        goto end;
    }
    for (size_t i = 0; drop && drop[i]; i++) {
        xmlAttrPtr a = xmlHasProp(root, (const xmlChar *)drop[i]);
        if (a)
            xmlRemoveProp(a);
    }
    if (zr_xml_sign(doc, root, cfg->saml_signing.key, cfg->saml_signing.key_name, NULL, why,
                    sizeof(why)) != 0) {
        snprintf(err, errlen, "signing failed: %s", why);
        goto end;
    }
    result = doc;
    doc = NULL;
end:
    if (doc)
        xmlFreeDoc(doc);
    return result;
}

int zr_saml_authn_request_build(const zr_config_t *cfg, const zr_tenant_t *t,
                                const zr_tenant_service_t *service, const zr_saml_idp_t *idp,
                                int force_authn, zr_saml_authn_request_t *out,
                                char *err, size_t errlen)
{
    LassoSamlp2AuthnRequest *req = NULL;
    char *lasso_xml = NULL;
    xmlDocPtr doc = NULL;
    char *xml = NULL;
    char *id = NULL;
    char *b64 = NULL;
    size_t xml_len = 0;
    char instant[21];
    int rc = -1;
    /* lasso always writes IsPassive (and ForceAuthn, even when false); the
     * ST-SAML message has no IsPassive and ForceAuthn only when "true". */
    const char *drop_forced[] = {"IsPassive", NULL};
    const char *drop_plain[] = {"IsPassive", "ForceAuthn", NULL};

    memset(out, 0, sizeof(*out));
    if (!idp || !idp->sso_url || !t || !t->entity_id || !service) {
        snprintf(err, errlen, "AuthnRequest: TVS SSO endpoint, care provider or service missing");
        goto end;
    }
    /* lasso writes an index only when >= 0; both are required here. */
    if (t->assertion_consumer_service_index < 0 || service->attribute_consuming_service_index < 0) {
        snprintf(err, errlen, "AuthnRequest: negative ACS or AttributeConsumingService index");
        goto end;
    }
    id = zr_random_saml_id();
    if (!id) {
        snprintf(err, errlen, "no randomness for the request ID");
        goto end;
    }
    zr_time_format_iso8601(zr_time_now(), instant);

    req = (LassoSamlp2AuthnRequest *)lasso_samlp2_authn_request_new();
    if (!req) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* lasso frees these with g_free, which is free() since GLib 2.46. */
    req->parent.ID = strdup(id);
    req->parent.Version = strdup("2.0");
    req->parent.IssueInstant = strdup(instant);
    req->parent.Destination = strdup(idp->sso_url);
    req->parent.Issuer = (LassoSaml2NameID *)lasso_saml2_name_id_new_with_string(t->entity_id);
    req->AssertionConsumerServiceIndex = t->assertion_consumer_service_index;
    req->AttributeConsumingServiceIndex = service->attribute_consuming_service_index;
    req->ForceAuthn = force_authn ? TRUE : FALSE;
    /* Deliberately unset (ST-SAML §AuthnRequest): NameIDPolicy,
     * RequestedAuthnContext, Conditions, AssertionConsumerServiceURL,
     * ProtocolBinding. The LoA is registered per ServiceUUID at TVS. */
    if (!req->parent.ID || !req->parent.Version || !req->parent.IssueInstant ||
        !req->parent.Destination || !req->parent.Issuer) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    lasso_xml = lasso_node_export_to_xml(ZR_LASSO_NODE(req));
    if (!lasso_xml) {
        snprintf(err, errlen, "lasso could not export the AuthnRequest");
        goto end;
    }
    doc = zr_saml_sign_lasso_xml(cfg, lasso_xml, force_authn ? drop_forced : drop_plain, err, errlen);
    if (!doc)
        goto end;
    xml = zr_xml_dump(doc, xmlDocGetRootElement(doc), &xml_len);
    b64 = xml ? zr_base64_encode((const uint8_t *)xml, xml_len) : NULL;
    if (!b64) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    out->id = id;
    out->xml = xml;
    out->saml_request_b64 = b64;
    id = xml = b64 = NULL;
    rc = 0;
end:
    if (req)
        lasso_node_destroy(ZR_LASSO_NODE(req));
    free(lasso_xml);
    if (doc)
        xmlFreeDoc(doc);
    free(xml);
    free(id);
    free(b64);
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
