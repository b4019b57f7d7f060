/* The artifact TVS sends to our ACS and its resolution over the back
 * channel (SAML 2.0 Bindings §3.6.4, ST-SAML §DV→RD ArtifactResolve).
 * One function parses, one builds the signed SOAP ArtifactResolve, one sends
 * it exactly once. */
#include "sp_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/samlp2_artifact_resolve.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "zr/log.h"
#include "zr/util.h"

#define ARTIFACT_LEN 44          /* TypeCode(2) EndpointIndex(2) SourceID(20) MessageHandle(20) */
#define ARTIFACT_MAX_B64 128     /* a 44-byte artifact is 60 base64 characters */

int zr_saml_artifact_parse(const char *samlart, const zr_saml_idp_t *idp, int *endpoint_index,
                           char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    uint8_t source_id[20];
    unsigned int md_len = 0;
    int rc = -1;

    if (!samlart || !*samlart) {
        snprintf(err, errlen, "SAMLart missing");
        goto end;
    }
    if (strlen(samlart) > ARTIFACT_MAX_B64) {
        snprintf(err, errlen, "SAMLart too long (%zu characters)", strlen(samlart));
        goto end;
    }
    if (zr_base64_decode(samlart, &raw, &raw_len) != 0) {
        snprintf(err, errlen, "SAMLart is not base64");
        goto end;
    }
    if (raw_len != ARTIFACT_LEN) {
        snprintf(err, errlen, "SAMLart has %zu bytes, a type 0x0004 artifact has 44", raw_len);
        goto end;
    }
    if (raw[0] != 0x00 || raw[1] != 0x04) {
        snprintf(err, errlen, "SAMLart has TypeCode 0x%02x%02x, expected 0x0004", raw[0], raw[1]);
        goto end;
    }
    if (!idp || !idp->entity_id) {
        snprintf(err, errlen, "no TVS metadata to check the artifact's SourceID");
        goto end;
    }
    /* SourceID = SHA-1 of the issuer's entityID (Bindings §3.6.4); SHA-1 is
     * an identifier here, not a security function. */
    if (EVP_Digest(idp->entity_id, strlen(idp->entity_id), source_id, &md_len, EVP_sha1(), NULL) != 1 ||
        md_len != sizeof(source_id)) {
        snprintf(err, errlen, "SHA-1 unavailable");
        goto end;
    }
    if (CRYPTO_memcmp(raw + 4, source_id, sizeof(source_id)) != 0) {
        snprintf(err, errlen, "SAMLart SourceID is not SHA-1 of the TVS entityID %s", idp->entity_id);
        goto end;
    }
    if (endpoint_index)
        *endpoint_index = (raw[2] << 8) | raw[3];
    rc = 0;
end:
    free(raw);
    return rc;
}

int zr_saml_artifact_resolve_build(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                   const zr_tenant_t *tenant, const char *samlart, char **id_out, char **soap_out,
                                   char *err, size_t errlen)
{
    LassoSamlp2ArtifactResolve *req = NULL;
    xmlDocPtr doc = NULL;
    xmlDocPtr soap = NULL;
    char *id = NULL;
    char *issuer; /* borrowed; lasso wants it non-const */
    char instant[21];
    int rc = -1;

    *id_out = NULL;
    *soap_out = NULL;
    if (!idp || !idp->artifact_url) {
        snprintf(err, errlen, "no ArtifactResolutionService in the TVS metadata");
        goto end;
    }
    /* The Issuer is the entity the artifact was sent to, the one that sent
     * the AuthnRequest: the care provider's entityID for a direct
     * connection, the LC's in a cluster. TVS hands the message only to that
     * entity. A cluster login still belongs to one care provider. */
    if (!tenant || !tenant->entity_id) {
        snprintf(err, errlen, "no care provider configured to issue the ArtifactResolve");
        goto end;
    }
    if (cfg->cluster.enabled && (!cfg->cluster.entity_id || !*cfg->cluster.entity_id)) {
        snprintf(err, errlen, "cluster connection without an LC entityID to issue the ArtifactResolve");
        goto end;
    }
    issuer = cfg->cluster.enabled ? cfg->cluster.entity_id : tenant->entity_id;
    id = zr_random_saml_id();
    if (!id) {
        snprintf(err, errlen, "no randomness for the request ID");
        goto end;
    }
    zr_time_format_iso8601(zr_time_now(), instant);

    req = (LassoSamlp2ArtifactResolve *)lasso_samlp2_artifact_resolve_new();
    if (!req) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* lasso frees these with g_free, which is free() since GLib 2.46. */
    req->parent.ID = strdup(id);
    req->parent.Version = strdup("2.0");
    req->parent.IssueInstant = strdup(instant);
    req->parent.Destination = strdup(idp->artifact_url);
    req->parent.Issuer = (LassoSaml2NameID *)lasso_saml2_name_id_new_with_string(issuer);
    req->Artifact = strdup(samlart);
    if (!req->parent.ID || !req->parent.Version || !req->parent.IssueInstant ||
        !req->parent.Destination || !req->parent.Issuer || !req->Artifact) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    doc = zr_saml_request_parse((LassoNode *)req, "ArtifactResolve", NULL, err, errlen);
    if (!doc || zr_saml_sign_root(cfg, doc, err, errlen) != 0)
        goto end;

    /* SOAP 1.1 envelope (SAML Bindings §3.2). The signature covers only the
     * ArtifactResolve (exclusive c14n), so wrapping after signing keeps it. */
    soap = xmlNewDoc((const xmlChar *)"1.0");
    xmlNodePtr env = soap ? xmlNewDocNode(soap, NULL, (const xmlChar *)"Envelope", NULL) : NULL;
    xmlNsPtr ns = env ? xmlNewNs(env, (const xmlChar *)ZR_NS_SOAP, (const xmlChar *)"soapenv") : NULL;
    xmlNodePtr body = ns ? xmlNewChild(env, ns, (const xmlChar *)"Body", NULL) : NULL;
    if (!body) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlSetNs(env, ns);
    xmlDocSetRootElement(soap, env);
    xmlNodePtr resolve = xmlDocCopyNode(xmlDocGetRootElement(doc), soap, 1);
    if (!resolve || !xmlAddChild(body, resolve)) {
        xmlFreeNode(resolve);
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    size_t soap_len = 0;
    *soap_out = zr_xml_dump(soap, NULL, &soap_len);
    if (!*soap_out) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    *id_out = id;
    id = NULL;
    rc = 0;
end:
    if (req)
        lasso_node_destroy((LassoNode *)req);
    if (doc)
        xmlFreeDoc(doc);
    if (soap)
        xmlFreeDoc(soap);
    free(id);
    return rc;
}

int zr_saml_artifact_resolve(zr_saml_backchannel_t *bc, const zr_config_t *cfg,
                             const zr_saml_idp_t *idp, const zr_tenant_t *tenant, const char *samlart,
                             char **resolve_id, char **soap_response, size_t *soap_len,
                             char *err, size_t errlen)
{
    char *id = NULL;
    char *request = NULL;
    char *response = NULL;
    size_t response_len = 0;
    int endpoint_index = -1;
    char mask[16];
    int rc = ZR_SAML_ERR_INTERNAL;

    *resolve_id = NULL;
    *soap_response = NULL;
    *soap_len = 0;
    if (!bc) {
        snprintf(err, errlen, "no back channel");
        goto end;
    }
    if (zr_saml_artifact_parse(samlart, idp, &endpoint_index, err, errlen) != 0) {
        rc = ZR_SAML_ERR_ARTIFACT;
        goto end;
    }
    /* The EndpointIndex names the ArtifactResolutionService that holds the
     * message; sending it elsewhere cannot succeed. */
    if (endpoint_index != idp->artifact_index) {
        snprintf(err, errlen, "artifact names ArtifactResolutionService index %d, metadata offers %d",
                 endpoint_index, idp->artifact_index);
        rc = ZR_SAML_ERR_ARTIFACT;
        goto end;
    }
    if (zr_saml_artifact_resolve_build(cfg, idp, tenant, samlart, &id, &request, err, errlen) != 0)
        goto end;
    rc = zr_saml_backchannel_post(bc, idp->artifact_url, request, strlen(request), &response,
                                  &response_len, err, errlen);
    zr_log(rc == 0 ? ZR_LOG_DEBUG : ZR_LOG_WARN, "saml.artifact_resolve", "resolve_id=%s artifact=%s rc=%d bytes=%zu",
           id, zr_log_mask(samlart, mask), rc, response_len);
    if (rc != 0)
        goto end;
    *resolve_id = id;
    *soap_response = response;
    *soap_len = response_len;
    id = NULL;
    response = NULL;
end:
    free(id);
    free(request);
    free(response);
    return rc;
}
