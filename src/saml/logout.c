/* Logout towards TVS (ST-SAML §Logout, reference/tvs-saml.md §Logout):
 * the LogoutRequest we send by HTTP-POST and the LogoutResponse TVS posts
 * back to our SingleLogoutService. TVS never starts a logout itself, so
 * there is no inbound LogoutRequest here.
 *
 * Shapes: examples/logout_request.xml and logout_response.xml. One
 * deliberate difference: the example puts SessionIndex before NameID,
 * which the SAML schema (core §3.7.1: BaseID|NameID|EncryptedID, then
 * SessionIndex*) does not allow; lasso writes the schema order. */
#include "response_internal.h"
#include "sp_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/samlp2_logout_request.h>

#include "zr/util.h"

#define ZR_LASSO_NODE(p) ((LassoNode *)(p))
#define STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
/* How old a LogoutResponse may be (before clock skew): it comes straight
 * back through the browser, so a few minutes is generous. */
#define LOGOUT_RESPONSE_MAX_AGE_S 300
#define LOGOUT_RESPONSE_MAX_BYTES (64 * 1024)

char *zr_saml_slo_url(const zr_config_t *cfg)
{
    zr_buf_t b;
    const char *base = cfg && cfg->public_base_url ? cfg->public_base_url : "";
    size_t n = strlen(base);
    zr_buf_init(&b);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (zr_buf_append(&b, base, n) != 0 || zr_buf_appends(&b, ZR_SAML_SLO_PATH) != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* ---- LogoutRequest ---- */

int zr_saml_logout_request_build(const zr_config_t *cfg, const zr_tenant_t *t, const zr_saml_idp_t *idp,
                                 const zr_saml_session_t *session, zr_saml_logout_request_t *out,
                                 char *err, size_t errlen)
{
    LassoSamlp2LogoutRequest *req = NULL;
    LassoSaml2NameID *name_id = NULL;
    char *id = NULL;
    xmlDocPtr doc = NULL;
    int rc = -1;
    int cluster = cfg && cfg->cluster.enabled;
    const char *issuer;

    memset(out, 0, sizeof(*out));
    if (!cfg || !t || !t->entity_id || !session || !session->name_id || !*session->name_id) {
        snprintf(err, errlen, "LogoutRequest: care provider or NameID missing");
        goto end;
    }
    if (!idp || !idp->slo_url) {
        snprintf(err, errlen, "LogoutRequest: TVS metadata has no SingleLogoutService (HTTP-POST)");
        goto end;
    }
    /* The entity that sent the AuthnRequest: the LC in a cluster (ST-SAML
     * §DV->RD: the LC takes the role of the DV), else the care provider. */
    issuer = cluster ? cfg->cluster.entity_id : t->entity_id;
    if (!issuer || !*issuer) {
        snprintf(err, errlen, "LogoutRequest: cluster connection without an LC entityID");
        goto end;
    }
    req = (LassoSamlp2LogoutRequest *)lasso_samlp2_logout_request_new();
    name_id = (LassoSaml2NameID *)lasso_saml2_name_id_new_with_string(session->name_id);
    if (!req || !name_id) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (zr_saml_request_header(&req->parent, idp->slo_url, issuer, &id, err, errlen) != 0)
        goto end;
    /* lasso frees these with g_free, which is free() since GLib 2.46. The
     * NameID exactly as the Assertion had it (SAML core §3.7.3.1). */
    name_id->Format = zr_strdup(session->format);
    name_id->NameQualifier = zr_strdup(session->name_qualifier);
    name_id->SPNameQualifier = zr_strdup(session->sp_name_qualifier);
    req->NameID = name_id;
    name_id = NULL;
    req->SessionIndex = zr_strdup(session->session_index);
    if ((session->format && !req->NameID->Format) ||
        (session->name_qualifier && !req->NameID->NameQualifier) ||
        (session->sp_name_qualifier && !req->NameID->SPNameQualifier) ||
        (session->session_index && !req->SessionIndex)) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    doc = zr_saml_request_parse(ZR_LASSO_NODE(req), "LogoutRequest", NULL, err, errlen);
    if (!doc ||
        zr_saml_request_encode(cfg, doc, &id, &out->id, &out->xml, &out->saml_request_b64, err, errlen) != 0)
        goto end;
    rc = 0;
end:
    if (name_id)
        lasso_node_destroy(ZR_LASSO_NODE(name_id));
    if (req)
        lasso_node_destroy(ZR_LASSO_NODE(req));
    if (doc)
        xmlFreeDoc(doc);
    free(id);
    return rc;
}

void zr_saml_logout_request_free(zr_saml_logout_request_t *r)
{
    if (!r)
        return;
    zr_release(r->id);
    zr_release(r->xml);
    zr_release(r->saml_request_b64);
}

/* ---- LogoutResponse ---- */

/* The checks of response.c serve here too: Version and ID, Issuer,
 * IssueInstant and signature are judged as for TVS's other messages. */
#define fail zr_saml_response_fail

/* Number of elements in the tree carrying an ID / Id attribute equal to id:
 * more than one is the "same ID twice" signature-wrapping variant. */
static size_t count_id(xmlNodePtr node, const char *id)
{
    size_t n = 0;
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttrPtr a = node->properties; a; a = a->next) {
            if (!a->ns && (xmlStrcmp(a->name, (const xmlChar *)"ID") == 0 ||
                           xmlStrcmp(a->name, (const xmlChar *)"Id") == 0)) {
                xmlChar *v = xmlNodeGetContent((xmlNodePtr)a);
                n += v && xmlStrcmp(v, (const xmlChar *)id) == 0;
                xmlFree(v);
            }
        }
        n += count_id(node->children, id);
    }
    return n;
}

static zr_saml_status_t check_status(xmlNodePtr root, char *err, size_t errlen)
{
    xmlNodePtr status = zr_xml_child(root, ZR_NS_SAMLP, "Status");
    xmlNodePtr code = status ? zr_xml_child(status, ZR_NS_SAMLP, "StatusCode") : NULL;
    xmlNodePtr sub = code ? zr_xml_child(code, ZR_NS_SAMLP, "StatusCode") : NULL;
    char *top = code ? zr_xml_attr(code, "Value") : NULL;
    char *second = sub ? zr_xml_attr(sub, "Value") : NULL;
    char a[128] = "", b[128] = "";
    zr_saml_status_t st;

    if (!status || zr_xml_count_children(root, ZR_NS_SAMLP, "Status") != 1 || !top) {
        st = fail(err, errlen, ZR_SAML_INVALID, "LogoutResponse: Status/StatusCode missing");
        goto end;
    }
    if (strcmp(zr_str_trim(top), STATUS_SUCCESS) == 0) {
        st = ZR_SAML_OK;
        goto end;
    }
    zr_saml_response_sanitise(top, a, sizeof(a));
    zr_saml_response_sanitise(second ? zr_str_trim(second) : NULL, b, sizeof(b));
    st = fail(err, errlen, ZR_SAML_STATUS_ERROR, "LogoutResponse: TVS status %s%s%s", a, b[0] ? " / " : "", b);
end:
    free(top);
    free(second);
    return st;
}

zr_saml_status_t zr_saml_logout_response_validate(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                                  zr_store_t *store, const char *saml_response_b64,
                                                  const char *request_id, char *err, size_t errlen)
{
    zr_saml_status_t st = ZR_SAML_INVALID;
    zr_saml_response_ctx_t c = {0};
    zr_xml_verify_key_t *keys = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    xmlDocPtr doc = NULL;
    xmlNodePtr root;
    char *slo_url = NULL, *id = NULL;
    char why[256] = "";

    if (err && errlen)
        err[0] = '\0';
    if (!cfg || !idp || !idp->entity_id || !saml_response_b64 || !request_id) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: incomplete validation input");
        goto end;
    }
    c.cfg = cfg;
    c.now = zr_time_now();
    c.skew = cfg->tvs.clock_skew_s > 0 ? cfg->tvs.clock_skew_s : 0;
    if (strlen(saml_response_b64) > LOGOUT_RESPONSE_MAX_BYTES * 4 / 3 + 4 ||
        zr_base64_decode(saml_response_b64, &raw, &raw_len) != 0) {
        st = fail(err, errlen, ZR_SAML_INVALID, "SAMLResponse: not base64 or too large");
        goto end;
    }
    doc = zr_xml_parse((const char *)raw, raw_len, LOGOUT_RESPONSE_MAX_BYTES, why, sizeof(why));
    root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (!root) {
        st = fail(err, errlen, ZR_SAML_INVALID, "SAMLResponse: %s", why[0] ? why : "not parseable");
        goto end;
    }
    if (!zr_xml_is(root, ZR_NS_SAMLP, "LogoutResponse")) {
        st = fail(err, errlen, ZR_SAML_INVALID, "SAMLResponse: root is not samlp:LogoutResponse");
        goto end;
    }
    if ((st = zr_saml_response_check_version_id(root, "LogoutResponse", err, errlen)) != ZR_SAML_OK)
        goto end;
    id = zr_xml_attr(root, "ID");
    if (!id || count_id(root, id) != 1) {
        st = fail(err, errlen, ZR_SAML_INVALID, "LogoutResponse: its ID occurs more than once");
        goto end;
    }

    /* Signature first: nothing unsigned is believed (HTTP-POST binding
     * §3.5.5.2, ST-SAML: TVS signs every message). */
    keys = zr_saml_response_verify_keys(idp);
    if (!keys) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: out of memory");
        goto end;
    }
    if (!zr_xml_child(root, ZR_NS_DS, "Signature")) {
        st = fail(err, errlen, ZR_SAML_INVALID, "LogoutResponse is not signed");
        goto end;
    }
    if ((st = zr_saml_response_verify_signature(doc, root, "LogoutResponse", keys, idp->key_count, err,
                                                errlen)) != ZR_SAML_OK)
        goto end;

    /* Ours, from TVS, for us, fresh. */
    if (!zr_saml_attr_equals(root, "InResponseTo", request_id)) {
        st = fail(err, errlen, ZR_SAML_INVALID, "LogoutResponse: InResponseTo is not our LogoutRequest ID");
        goto end;
    }
    slo_url = zr_saml_slo_url(cfg);
    if (!slo_url || !zr_saml_attr_equals(root, "Destination", slo_url)) {
        st = fail(err, errlen, ZR_SAML_INVALID, "LogoutResponse: Destination is not our SingleLogoutService");
        goto end;
    }
    if ((st = zr_saml_response_check_issuer(root, "LogoutResponse", idp, err, errlen)) != ZR_SAML_OK ||
        (st = zr_saml_response_check_issue_instant(&c, root, "LogoutResponse", LOGOUT_RESPONSE_MAX_AGE_S, err,
                                                   errlen)) != ZR_SAML_OK)
        goto end;
    if (store) {
        zr_store_status_t cs = zr_store_claim(store, "saml-logout-response", id,
                                              LOGOUT_RESPONSE_MAX_AGE_S + 2 * c.skew + 60);
        if (cs == ZR_STORE_EXISTS) {
            st = fail(err, errlen, ZR_SAML_REPLAY, "LogoutResponse: ID seen before");
            goto end;
        }
        if (cs != ZR_STORE_OK) {
            st = fail(err, errlen, ZR_SAML_UNAVAILABLE, "store %s", zr_store_status_name(cs));
            goto end;
        }
    }
    st = check_status(root, err, errlen);
end:
    free(keys);
    if (raw)
        OPENSSL_cleanse(raw, raw_len);
    free(raw);
    if (doc)
        xmlFreeDoc(doc);
    free(slo_url);
    free(id);
    return st;
}
