/* Our SAML metadata for TVS, direct DV shape (ST-SAML §DV→RD Metadata,
 * examples/saml_metadata_dv_for_rd.xml). Built with libxml2: lasso has no
 * node classes for writing SAML 2.0 metadata. */
#include "sp_internal.h"

#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/util.h"

#define ZR_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define ZR_NS_XS  "http://www.w3.org/2001/XMLSchema"
#define SAML_PROTOCOL "urn:oasis:names:tc:SAML:2.0:protocol"

typedef struct {
    xmlNsPtr md, ds, saml;
} ns_t;

char *zr_saml_acs_url(const zr_config_t *cfg)
{
    zr_buf_t b;
    const char *base = cfg->public_base_url ? cfg->public_base_url : "";
    size_t n = strlen(base);
    zr_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (zr_buf_append(&b, base, n) != 0 || zr_buf_appends(&b, "/saml/acs") != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* <md:KeyDescriptor use=…><ds:KeyInfo><ds:KeyName/><ds:X509Data>
 * <ds:X509Certificate/></ds:X509Data></ds:KeyInfo></md:KeyDescriptor> */
static int add_key_descriptor(xmlNodePtr sso, const ns_t *ns, const char *use, X509 *cert)
{
    char *key_name = zr_crypto_cert_keyname(cert);
    char *b64 = zr_crypto_cert_base64(cert);
    int rc = -1;
    if (!key_name || !b64)
        goto end;
    xmlNodePtr kd = xmlNewChild(sso, ns->md, (const xmlChar *)"KeyDescriptor", NULL);
    xmlNodePtr ki = kd ? xmlNewChild(kd, ns->ds, (const xmlChar *)"KeyInfo", NULL) : NULL;
    xmlNodePtr xd = ki && xmlNewTextChild(ki, ns->ds, (const xmlChar *)"KeyName", (const xmlChar *)key_name)
                        ? xmlNewChild(ki, ns->ds, (const xmlChar *)"X509Data", NULL)
                        : NULL;
    if (!xd || !xmlNewTextChild(xd, ns->ds, (const xmlChar *)"X509Certificate", (const xmlChar *)b64) ||
        !xmlNewProp(kd, (const xmlChar *)"use", (const xmlChar *)use))
        goto end;
    rc = 0;
end:
    free(key_name);
    free(b64);
    return rc;
}

/* <md:SPSSODescriptor> as TVS wants it for every SP (ST-SAML §Metadata). */
static xmlNodePtr add_sp_descriptor(xmlNodePtr ed, const ns_t *ns)
{
    xmlNodePtr sso = xmlNewChild(ed, ns->md, (const xmlChar *)"SPSSODescriptor", NULL);
    if (!sso || !xmlNewProp(sso, (const xmlChar *)"AuthnRequestsSigned", (const xmlChar *)"true") ||
        !xmlNewProp(sso, (const xmlChar *)"WantAssertionsSigned", (const xmlChar *)"true") ||
        !xmlNewProp(sso, (const xmlChar *)"protocolSupportEnumeration", (const xmlChar *)SAML_PROTOCOL))
        return NULL;
    return sso;
}

/* <md:AssertionConsumerService> with the HTTP-Artifact binding, the default. */
static int add_artifact_acs(xmlNodePtr sso, const ns_t *ns, const char *url, int index)
{
    char idx[16];
    snprintf(idx, sizeof(idx), "%d", index);
    xmlNodePtr acs = xmlNewChild(sso, ns->md, (const xmlChar *)"AssertionConsumerService", NULL);
    if (!acs || !xmlNewProp(acs, (const xmlChar *)"Binding", (const xmlChar *)ZR_SAML_BINDING_ARTIFACT) ||
        !xmlNewProp(acs, (const xmlChar *)"Location", (const xmlChar *)url) ||
        !xmlNewProp(acs, (const xmlChar *)"index", (const xmlChar *)idx) ||
        !xmlNewProp(acs, (const xmlChar *)"isDefault", (const xmlChar *)"true"))
        return -1;
    return 0;
}

/* <md:SingleLogoutService> (HTTP-POST): where TVS posts the LogoutResponse
 * (ST-SAML §Metadata: present when logout is used). Schema order: after the
 * KeyDescriptors, before the AssertionConsumerService. */
static int add_slo(xmlNodePtr sso, const ns_t *ns, const zr_config_t *cfg)
{
    char *url = zr_saml_slo_url(cfg);
    xmlNodePtr slo = url ? xmlNewChild(sso, ns->md, (const xmlChar *)"SingleLogoutService", NULL) : NULL;
    int rc = (slo && xmlNewProp(slo, (const xmlChar *)"Binding", (const xmlChar *)ZR_SAML_BINDING_POST) &&
              xmlNewProp(slo, (const xmlChar *)"Location", (const xmlChar *)url)) ? 0 : -1;
    free(url);
    return rc;
}

static int add_service(xmlNodePtr sso, const ns_t *ns, const zr_tenant_service_t *s, int is_default)
{
    char idx[16];
    char fallback[64];
    const char *name = s->name;
    snprintf(idx, sizeof(idx), "%d", s->attribute_consuming_service_index);
    if (!name || !*name) {
        snprintf(fallback, sizeof(fallback), "Dienst %d", s->attribute_consuming_service_index);
        name = fallback;
    }
    xmlNodePtr acs = xmlNewChild(sso, ns->md, (const xmlChar *)"AttributeConsumingService", NULL);
    if (!acs || !xmlNewProp(acs, (const xmlChar *)"index", (const xmlChar *)idx))
        return -1;
    /* isDefault at most once (ST-SAML §DV Metadata); we always send the index. */
    if (is_default && !xmlNewProp(acs, (const xmlChar *)"isDefault", (const xmlChar *)"true"))
        return -1;
    xmlNodePtr sn = xmlNewTextChild(acs, ns->md, (const xmlChar *)"ServiceName", (const xmlChar *)name);
    if (!sn)
        return -1;
    xmlNodeSetLang(sn, (const xmlChar *)"nl");
    xmlNodePtr ra = xmlNewChild(acs, ns->md, (const xmlChar *)"RequestedAttribute", NULL);
    if (!ra || !xmlNewProp(ra, (const xmlChar *)"Name", (const xmlChar *)ZR_SAML_ATTR_SERVICE_UUID))
        return -1;
    xmlNodePtr av = xmlNewTextChild(ra, ns->saml, (const xmlChar *)"AttributeValue",
                                    (const xmlChar *)s->service_uuid);
    xmlNsPtr xsi = xmlSearchNsByHref(sso->doc, sso, (const xmlChar *)ZR_NS_XSI);
    if (!av || !xsi || !xmlNewNsProp(av, xsi, (const xmlChar *)"type", (const xmlChar *)"xs:string"))
        return -1;
    return 0;
}

/* Signs node (enveloped, with our SAML signing key: KeyName and the
 * certificate) and serialises the whole document. Returns malloc'ed XML. */
static char *metadata_sign_dump(const zr_config_t *cfg, xmlDocPtr doc, xmlNodePtr node, const char *what,
                                char *err, size_t errlen)
{
    char why[256] = "";
    size_t len = 0;
    char *xml;
    if (zr_xml_sign(doc, node, cfg->saml_signing.key, cfg->saml_signing.key_name, cfg->saml_signing.cert, why,
                    sizeof(why)) != 0) {
        snprintf(err, errlen, "signing %s failed: %s", what, why);
        return NULL;
    }
    xml = zr_xml_dump(doc, NULL, &len);
    if (!xml)
        snprintf(err, errlen, "out of memory");
    return xml;
}

char *zr_saml_sp_metadata_build(const zr_config_t *cfg, const zr_tenant_t *t, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    char *id = NULL;
    char *acs_url = NULL;
    char *result = NULL;
    char until[21];
    ns_t ns;

    if (!t || !t->entity_id || t->service_count == 0 || t->bsn_key_count == 0) {
        snprintf(err, errlen, "care provider needs an entity_id, at least one service and one BSN key");
        goto end;
    }
    if (!cfg->saml_signing.key || !cfg->saml_signing.cert || !cfg->saml_signing.key_name ||
        !cfg->saml_tls_client.cert) {
        snprintf(err, errlen, "SAML signing key/certificate or TLS client certificate missing");
        goto end;
    }
    for (size_t i = 0; i < t->service_count; i++) {
        if (!t->services[i].service_uuid || t->services[i].attribute_consuming_service_index < 0) {
            snprintf(err, errlen, "service %zu of %s has no ServiceUUID or index", i, t->id ? t->id : "?");
            goto end;
        }
    }
    id = zr_random_saml_id();
    acs_url = zr_saml_acs_url(cfg);
    if (!id || !acs_url) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    int days = cfg->sp_metadata_valid_days > 0 ? cfg->sp_metadata_valid_days : 30;
    zr_time_format_iso8601(zr_time_now() + (time_t)days * 86400, until);

    doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr ed = doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"EntityDescriptor", NULL) : NULL;
    if (!ed) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlDocSetRootElement(doc, ed);
    ns.md = xmlNewNs(ed, (const xmlChar *)ZR_NS_MD, (const xmlChar *)"md");
    ns.saml = xmlNewNs(ed, (const xmlChar *)ZR_NS_SAML, (const xmlChar *)"saml");
    ns.ds = xmlNewNs(ed, (const xmlChar *)ZR_NS_DS, (const xmlChar *)"ds");
    xmlNsPtr xsi = xmlNewNs(ed, (const xmlChar *)ZR_NS_XSI, (const xmlChar *)"xsi");
    xmlNsPtr xs = xmlNewNs(ed, (const xmlChar *)ZR_NS_XS, (const xmlChar *)"xs");
    if (!ns.md || !ns.saml || !ns.ds || !xsi || !xs) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlSetNs(ed, ns.md);
    xmlNodePtr sso = NULL;
    if (!xmlNewProp(ed, (const xmlChar *)"ID", (const xmlChar *)id) ||
        !xmlNewProp(ed, (const xmlChar *)"entityID", (const xmlChar *)t->entity_id) ||
        !xmlNewProp(ed, (const xmlChar *)"validUntil", (const xmlChar *)until) ||
        !(sso = add_sp_descriptor(ed, &ns))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* Signing and TLS client certificates, both use="signing"; one
     * descriptor when they are the same certificate (ST-SAML §DV Metadata). */
    int rc = add_key_descriptor(sso, &ns, "signing", cfg->saml_signing.cert);
    if (rc == 0 && X509_cmp(cfg->saml_signing.cert, cfg->saml_tls_client.cert) != 0)
        rc = add_key_descriptor(sso, &ns, "signing", cfg->saml_tls_client.cert);
    for (size_t i = 0; rc == 0 && i < t->bsn_key_count && i < 2; i++) {
        if (!t->bsn_keys[i].cert) {
            snprintf(err, errlen, "BSN key %zu of %s has no certificate", i, t->id ? t->id : "?");
            goto end;
        }
        rc = add_key_descriptor(sso, &ns, "encryption", t->bsn_keys[i].cert);
    }
    if (rc != 0) {
        snprintf(err, errlen, "could not write a KeyDescriptor");
        goto end;
    }
    if (add_slo(sso, &ns, cfg) != 0 ||
        add_artifact_acs(sso, &ns, acs_url, t->assertion_consumer_service_index) != 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < t->service_count; i++) {
        if (add_service(sso, &ns, &t->services[i], i == 0) != 0) {
            snprintf(err, errlen, "could not write AttributeConsumingService %zu", i);
            goto end;
        }
    }
    /* Enveloped signature as the first child of EntityDescriptor, KeyName
     * plus the certificate so TVS can check it against PKIoverheid. */
    result = metadata_sign_dump(cfg, doc, ed, "our metadata", err, errlen);
end:
    if (doc)
        xmlFreeDoc(doc);
    free(id);
    free(acs_url);
    return result;
}

/* One care provider inside the cluster metadata: its own entityID, only its
 * BSN encryption certificate(s), and a copy of the LC's ACS. No signature or
 * validity of its own, no AttributeConsumingService: the ServiceUUID travels
 * in the AuthnRequest Extensions for a cluster (ST-SAML §LC metadata,
 * examples/saml_metadata_lc_for_rd.xml). */
static int add_cluster_member(xmlNodePtr root, const ns_t *ns, const zr_tenant_t *t, const char *acs_url,
                              char *err, size_t errlen)
{
    char *id = NULL;
    xmlNodePtr ed = NULL, sso = NULL;
    int rc = -1;
    if (!t->entity_id || t->bsn_key_count == 0) {
        snprintf(err, errlen, "care provider %s needs an entity_id and at least one BSN key", t->id ? t->id : "?");
        goto end;
    }
    if (!(id = zr_random_saml_id()) || !(ed = xmlNewChild(root, ns->md, (const xmlChar *)"EntityDescriptor", NULL)) ||
        !xmlNewProp(ed, (const xmlChar *)"ID", (const xmlChar *)id) ||
        !xmlNewProp(ed, (const xmlChar *)"entityID", (const xmlChar *)t->entity_id) ||
        !(sso = add_sp_descriptor(ed, ns))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < t->bsn_key_count && i < 2; i++) {
        if (!t->bsn_keys[i].cert) {
            snprintf(err, errlen, "BSN key %zu of %s has no certificate", i, t->id ? t->id : "?");
            goto end;
        }
        if (add_key_descriptor(sso, ns, "encryption", t->bsn_keys[i].cert) != 0) {
            snprintf(err, errlen, "could not write a KeyDescriptor for %s", t->id ? t->id : "?");
            goto end;
        }
    }
    if (add_artifact_acs(sso, ns, acs_url, ZR_SAML_CLUSTER_ACS_INDEX) != 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    rc = 0;
end:
    free(id);
    return rc;
}

char *zr_saml_cluster_metadata_build(const zr_config_t *cfg, char *err, size_t errlen)
{
    xmlDocPtr doc = NULL;
    char *id = NULL;
    char *lc_id = NULL;
    char *acs_url = NULL;
    char *result = NULL;
    char until[21];
    ns_t ns;

    if (!cfg->cluster.enabled || !cfg->cluster.entity_id) {
        snprintf(err, errlen, "no cluster configured");
        goto end;
    }
    if (!cfg->saml_signing.key || !cfg->saml_signing.cert || !cfg->saml_signing.key_name ||
        !cfg->saml_tls_client.cert) {
        snprintf(err, errlen, "SAML signing key/certificate or TLS client certificate missing");
        goto end;
    }
    id = zr_random_saml_id();
    lc_id = zr_random_saml_id();
    acs_url = zr_saml_acs_url(cfg);
    if (!id || !lc_id || !acs_url) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    int days = cfg->sp_metadata_valid_days > 0 ? cfg->sp_metadata_valid_days : 30;
    zr_time_format_iso8601(zr_time_now() + (time_t)days * 86400, until);

    /* The signed EntitiesDescriptor carries the only ID-referenced
     * signature and the only validUntil of the whole file. */
    doc = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr root = doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"EntitiesDescriptor", NULL) : NULL;
    if (!root) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlDocSetRootElement(doc, root);
    ns.md = xmlNewNs(root, (const xmlChar *)ZR_NS_MD, (const xmlChar *)"md");
    ns.ds = xmlNewNs(root, (const xmlChar *)ZR_NS_DS, (const xmlChar *)"ds");
    ns.saml = NULL;
    if (!ns.md || !ns.ds) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlSetNs(root, ns.md);
    if (!xmlNewProp(root, (const xmlChar *)"ID", (const xmlChar *)id) ||
        !xmlNewProp(root, (const xmlChar *)"validUntil", (const xmlChar *)until) ||
        (cfg->cluster.name && *cfg->cluster.name &&
         !xmlNewProp(root, (const xmlChar *)"Name", (const xmlChar *)cfg->cluster.name))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }

    /* The LC: the vendor's signing and TLS client certificates, both
     * use="signing" (one descriptor when they are the same), and the ACS. */
    xmlNodePtr ed = xmlNewChild(root, ns.md, (const xmlChar *)"EntityDescriptor", NULL);
    xmlNodePtr sso = NULL;
    if (!ed || !xmlNewProp(ed, (const xmlChar *)"ID", (const xmlChar *)lc_id) ||
        !xmlNewProp(ed, (const xmlChar *)"entityID", (const xmlChar *)cfg->cluster.entity_id) ||
        !(sso = add_sp_descriptor(ed, &ns))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    int rc = add_key_descriptor(sso, &ns, "signing", cfg->saml_signing.cert);
    if (rc == 0 && X509_cmp(cfg->saml_signing.cert, cfg->saml_tls_client.cert) != 0)
        rc = add_key_descriptor(sso, &ns, "signing", cfg->saml_tls_client.cert);
    /* The LC's descriptor only (examples/saml_metadata_lc_for_rd.xml): the
     * LC sends the LogoutRequest, so TVS answers the LC. */
    if (rc != 0 || add_slo(sso, &ns, cfg) != 0 ||
        add_artifact_acs(sso, &ns, acs_url, ZR_SAML_CLUSTER_ACS_INDEX) != 0) {
        snprintf(err, errlen, "could not write the cluster's SPSSODescriptor");
        goto end;
    }
    /* Current care providers only; former ones are no longer registered.
     * Quarantined ones are left out too: their certificate is what is
     * unusable (expired, mismatched, missing), and publishing it would only
     * have TVS encrypt BSNs nobody can decrypt (docs/operations.md,
     * "Quarantine": `zorgrelay metadata` refuses rather than leave one out). */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        if (cfg->tenants[i].quarantined)
            continue;
        if (add_cluster_member(root, &ns, &cfg->tenants[i], acs_url, err, errlen) != 0)
            goto end;
    }
    result = metadata_sign_dump(cfg, doc, root, "the cluster metadata", err, errlen);
end:
    if (doc)
        xmlFreeDoc(doc);
    free(id);
    free(lc_id);
    free(acs_url);
    return result;
}
