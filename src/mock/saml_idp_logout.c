/* The IdP side of ST-SAML logout, as TVS plays it, for the mock TVS and the
 * tests: the checks TVS makes on a LogoutRequest and the signed
 * LogoutResponse it answers with (examples/logout_response.xml). Sessions
 * are reported to an observer when an ArtifactResponse opens one, so the
 * mock can tell a known session from an unknown one. */
#include "zr/saml_idp.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#include "saml_idp_internal.h"

#define STATUS_PREFIX ZR_SAML_IDP_STATUS_PREFIX
#define LOGOUT_REQUEST_MAX_BYTES (64 * 1024)

/* ---- the session observer ---- */

static pthread_mutex_t observer_lock = PTHREAD_MUTEX_INITIALIZER;
static zr_saml_idp_session_fn observer_fn;
static void *observer_ctx;

void zr_saml_idp_set_session_observer(zr_saml_idp_session_fn fn, void *ctx)
{
    pthread_mutex_lock(&observer_lock);
    observer_fn = fn;
    observer_ctx = ctx;
    pthread_mutex_unlock(&observer_lock);
}

void zr_saml_idp_session_opened(const char *requester, const char *care_provider, const char *name_id,
                                const char *session_index)
{
    pthread_mutex_lock(&observer_lock);
    if (observer_fn)
        observer_fn(observer_ctx, requester, care_provider, name_id, session_index);
    pthread_mutex_unlock(&observer_lock);
}

/* ---- LogoutRequest checks ---- */

#define refuse zr_saml_idp_refuse

/* The checks TVS makes on every request (idp.c), in the same order as for an
 * AuthnRequest: the Issuer is a care provider of a direct connection or the
 * LC, and the relay's signing key (KeyName, SHA-1 or SHA-256 form) as TVS
 * knows it from the DV's (or LC's) metadata. */
zr_saml_idp_check_t zr_saml_idp_logout_request_verify(const zr_config_t *cfg, const char *saml_request_b64,
                                                      zr_saml_idp_logout_t *out, char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, name_id;
    char *slo = NULL;
    char why[256] = "";
    zr_saml_idp_check_t rc;

    memset(out, 0, sizeof(*out));
    if (!cfg || !saml_request_b64) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_INTERNAL, "no configuration or request");
        goto end;
    }
    if (strlen(saml_request_b64) > LOGOUT_REQUEST_MAX_BYTES * 4 / 3 + 4 ||
        zr_base64_decode(saml_request_b64, &raw, &raw_len) != 0) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_ENCODING, "SAMLRequest is not base64 or too large");
        goto end;
    }
    doc = zr_xml_parse((const char *)raw, raw_len, LOGOUT_REQUEST_MAX_BYTES, why, sizeof(why));
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root || !zr_xml_is(root, ZR_NS_SAMLP, "LogoutRequest")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_XML, "SAMLRequest is not a samlp:LogoutRequest%s%s",
                    why[0] ? ": " : "", why);
        goto end;
    }
    if ((rc = zr_saml_idp_check_version_id(root, "LogoutRequest", &out->id, err, errlen)) != ZR_SAML_IDP_OK ||
        (rc = zr_saml_idp_check_issuer(cfg, root, "LogoutRequest", &out->issuer, &out->tenant, err, errlen)) !=
            ZR_SAML_IDP_OK ||
        (rc = zr_saml_idp_verify_relay_signature(cfg, doc, root, "LogoutRequest", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    slo = zr_saml_idp_slo_url(cfg);
    if (!slo || !zr_saml_idp_attr_equals(root, "Destination", slo)) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_DESTINATION, "LogoutRequest: Destination is not %s",
                    slo ? slo : "our SingleLogoutService");
        goto end;
    }
    if ((rc = zr_saml_idp_check_issue_instant(cfg, root, "LogoutRequest", err, errlen)) != ZR_SAML_IDP_OK)
        goto end;
    name_id = zr_xml_child(root, ZR_NS_SAML, "NameID");
    if (!name_id || zr_xml_count_children(root, ZR_NS_SAML, "NameID") != 1 ||
        zr_xml_child(root, ZR_NS_SAML, "BaseID") || zr_xml_child(root, ZR_NS_SAML, "EncryptedID")) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_UNSUPPORTED, "LogoutRequest: exactly one plain NameID required");
        goto end;
    }
    if (zr_xml_count_children(root, ZR_NS_SAMLP, "SessionIndex") > 1) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_UNSUPPORTED, "LogoutRequest: more than one SessionIndex");
        goto end;
    }
    out->name_id = zr_xml_text(name_id);
    if (zr_xml_child(root, ZR_NS_SAMLP, "SessionIndex"))
        out->session_index = zr_xml_text(zr_xml_child(root, ZR_NS_SAMLP, "SessionIndex"));
    if (!out->name_id || !*out->name_id) {
        rc = refuse(err, errlen, ZR_SAML_IDP_ERR_UNSUPPORTED, "LogoutRequest: NameID is empty");
        goto end;
    }
    rc = ZR_SAML_IDP_OK;
end:
    if (rc != ZR_SAML_IDP_OK)
        zr_saml_idp_logout_clear(out);
    free(raw);
    free(slo);
    if (doc)
        xmlFreeDoc(doc);
    return rc;
}

void zr_saml_idp_logout_clear(zr_saml_idp_logout_t *l)
{
    if (!l)
        return;
    free(l->id);
    free(l->issuer);
    free(l->name_id);
    free(l->session_index);
    memset(l, 0, sizeof(*l));
}

/* ---- LogoutResponse ---- */

char *zr_saml_idp_logout_response_build(const zr_config_t *cfg, const char *request_id, const char *destination,
                                        int success, size_t *len, char *err, size_t errlen)
{
    const zr_keypair_t *sk = &cfg->mock_tvs.signing;
    xmlDocPtr doc = NULL;
    xmlNodePtr root, status, code;
    xmlNsPtr samlp, saml;
    char *id = NULL, *xml = NULL;
    char now[21];
    int ok;

    if (!request_id || !destination || !cfg->mock_tvs.entity_id || !sk->key || !sk->cert) {
        snprintf(err, errlen, "LogoutResponse: request ID, destination, entity_id or signing key missing");
        goto end;
    }
    id = zr_random_saml_id();
    zr_time_format_iso8601(zr_time_now(), now);
    doc = xmlNewDoc((const xmlChar *)"1.0");
    root = doc ? xmlNewDocNode(doc, NULL, (const xmlChar *)"LogoutResponse", NULL) : NULL;
    if (!id || !root) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlDocSetRootElement(doc, root);
    samlp = xmlNewNs(root, (const xmlChar *)ZR_NS_SAMLP, (const xmlChar *)"samlp");
    saml = xmlNewNs(root, (const xmlChar *)ZR_NS_SAML, (const xmlChar *)"saml");
    xmlSetNs(root, samlp);
    ok = samlp && saml && xmlNewProp(root, (const xmlChar *)"ID", (const xmlChar *)id) &&
         xmlNewProp(root, (const xmlChar *)"Version", (const xmlChar *)"2.0") &&
         xmlNewProp(root, (const xmlChar *)"IssueInstant", (const xmlChar *)now) &&
         xmlNewProp(root, (const xmlChar *)"Destination", (const xmlChar *)destination) &&
         xmlNewProp(root, (const xmlChar *)"InResponseTo", (const xmlChar *)request_id) &&
         xmlNewTextChild(root, saml, (const xmlChar *)"Issuer", (const xmlChar *)cfg->mock_tvs.entity_id);
    status = ok ? xmlNewChild(root, samlp, (const xmlChar *)"Status", NULL) : NULL;
    code = status ? xmlNewChild(status, samlp, (const xmlChar *)"StatusCode", NULL) : NULL;
    ok = code && xmlNewProp(code, (const xmlChar *)"Value",
                            (const xmlChar *)(success ? STATUS_PREFIX "Success" : STATUS_PREFIX "Responder"));
    if (ok && !success) {
        xmlNodePtr sub = xmlNewChild(code, samlp, (const xmlChar *)"StatusCode", NULL);
        ok = sub && xmlNewProp(sub, (const xmlChar *)"Value", (const xmlChar *)STATUS_PREFIX "UnknownPrincipal");
    }
    if (!ok) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    /* zr_xml_sign puts the Signature right after Issuer (the example's place). */
    xml = zr_saml_idp_sign_and_dump(cfg, doc, &root, 1, "LogoutResponse", len, err, errlen);
end:
    if (doc)
        xmlFreeDoc(doc);
    free(id);
    return xml;
}
