/* Validation of TVS's ArtifactResponse: the processing checklist of
 * reference/tvs-saml.md (ST-SAML §DV<-RD ArtifactResponse, §AuthN Response),
 * in order, fail closed. This file walks the envelope, the signatures, the
 * status, the subject confirmation, the conditions and the replay cache;
 * response_identity.c reads the identity from the verified Assertion.
 *
 * Decisions worth knowing:
 * - Artifact, Response ID and Assertion ID are claimed last (checklist step
 *   11), together in one Redis round trip, only for an answer that passed
 *   every other check. A refused answer leaves its artifact unclaimed; it
 *   cannot come back usefully: TVS resolves an artifact once, and the
 *   pending login it belonged to was taken when it first arrived.
 * - A non-success status is only reported after the ArtifactResponse passed
 *   its signature, InResponseTo, Issuer and IssueInstant checks, and (when
 *   the status sits in the Response) the Response passed Version, ID,
 *   Destination, InResponseTo and Issuer: a cancel meant for another login
 *   is INVALID, not CANCELLED.
 * - *subject is output only: zeroed on entry, filled only on ZR_SAML_OK
 *   (built aside and moved in at the end, so never half-made).
 * - Besides zr_xml_verify's own anti-wrapping rules, every ID / Id value
 *   must occur once in the whole document (the "same ID twice" wrapping
 *   variant), checked before any signature. */
#include "response_internal.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

#define ZR_SAML_STATUS_SUCCESS  "urn:oasis:names:tc:SAML:2.0:status:Success"
#define ZR_SAML_STATUS_AUTHN_FAILED "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
#define ZR_SAML_STATUS_NO_AUTHN_CONTEXT "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
#define ZR_SAML_CANCEL_MESSAGE  "Authentication cancelled"
#define ZR_SAML_CM_BEARER       "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define ZR_SAML_NAMEID_ENTITY   "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"
/* Artifacts live at most 15 minutes at TVS (ST-SAML §Artifact Binding):
 * the replay cache must remember them (and the IDs) at least that long. */
#define ZR_SAML_REPLAY_TTL_S    (15 * 60)

zr_saml_status_t zr_saml_response_fail(char *err, size_t errlen, zr_saml_status_t st,
                                       const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}
#define fail zr_saml_response_fail

void zr_saml_response_wipe_tree(xmlDocPtr doc, xmlNodePtr node)
{
    for (xmlNodePtr n = node; n; n = n->next) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content &&
            !(doc && doc->dict && xmlDictOwns(doc->dict, n->content)))
            OPENSSL_cleanse(n->content, strlen((const char *)n->content));
        if (n->type == XML_ELEMENT_NODE)
            zr_saml_response_wipe_tree(doc, n->children);
    }
}

static void doc_free_wiped(xmlDocPtr doc)
{
    if (!doc)
        return;
    zr_saml_response_wipe_tree(doc, doc->children);
    xmlFreeDoc(doc);
}

/* 1 when the trimmed text of element equals want exactly. */
static int text_equals(xmlNodePtr element, const char *want)
{
    char *t = element ? zr_xml_text(element) : NULL;
    int eq = t && want && strcmp(t, want) == 0;
    free(t);
    return eq;
}

/* 1 when the (trimmed) attribute equals want exactly. */
int zr_saml_attr_equals(xmlNodePtr node, const char *name, const char *want)
{
    char *v = zr_xml_attr(node, name);
    int eq = v && want && strcmp(zr_str_trim(v), want) == 0;
    free(v);
    return eq;
}
#define attr_equals zr_saml_attr_equals

/* Reads an xs:dateTime attribute. 0 ok, -1 missing or malformed. */
static int attr_time(xmlNodePtr node, const char *name, time_t *out)
{
    char *v = zr_xml_attr(node, name);
    int rc = v ? zr_time_parse_iso8601(v, out) : -1;
    free(v);
    return rc;
}

/* Version="2.0" and a non-empty ID (SAML core §1.3.4, ST-SAML tables). */
zr_saml_status_t zr_saml_response_check_version_id(xmlNodePtr node, const char *what, char *err,
                                                   size_t errlen)
{
    char *id = zr_xml_attr(node, "ID");
    zr_saml_status_t st = ZR_SAML_OK;
    if (!attr_equals(node, "Version", "2.0"))
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: Version is not 2.0", what);
    else if (!id || !*id)
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: ID missing", what);
    free(id);
    return st;
}
#define check_version_id zr_saml_response_check_version_id

/* Exactly one saml:Issuer child naming TVS (whitespace trimmed: the official
 * examples wrap it in newlines), Format absent or entity. */
zr_saml_status_t zr_saml_response_check_issuer(xmlNodePtr node, const char *what, const zr_saml_idp_t *idp,
                                               char *err, size_t errlen)
{
    xmlNodePtr issuer = zr_xml_child(node, ZR_NS_SAML, "Issuer");
    char *format = issuer ? zr_xml_attr(issuer, "Format") : NULL;
    zr_saml_status_t st = ZR_SAML_OK;
    if (!issuer || zr_xml_count_children(node, ZR_NS_SAML, "Issuer") != 1)
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: exactly one Issuer required", what);
    else if (format && strcmp(zr_str_trim(format), ZR_SAML_NAMEID_ENTITY) != 0)
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: Issuer Format is not entity", what);
    else if (!text_equals(issuer, idp->entity_id))
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: Issuer is not the TVS entityID", what);
    free(format);
    return st;
}
#define check_issuer zr_saml_response_check_issuer

/* IssueInstant present and within [now - max_age - skew, now + skew]. */
zr_saml_status_t zr_saml_response_check_issue_instant(const zr_saml_response_ctx_t *c, xmlNodePtr node,
                                                      const char *what, int max_age, char *err,
                                                      size_t errlen)
{
    time_t t;
    if (attr_time(node, "IssueInstant", &t) != 0)
        return fail(err, errlen, ZR_SAML_INVALID, "%s: IssueInstant missing or malformed", what);
    if (t > c->now + c->skew)
        return fail(err, errlen, ZR_SAML_INVALID, "%s: IssueInstant is in the future", what);
    if (t < c->now - max_age - c->skew)
        return fail(err, errlen, ZR_SAML_INVALID, "%s: IssueInstant is too old", what);
    return ZR_SAML_OK;
}
#define check_issue_instant zr_saml_response_check_issue_instant

/* Collects the values of every ID / Id attribute in the subtree. */
static int collect_ids(xmlNodePtr node, char ***ids, size_t *n, size_t *cap)
{
    for (; node; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        for (xmlAttrPtr a = node->properties; a; a = a->next) {
            if (a->ns || (!xmlStrEqual(a->name, BAD_CAST "ID") && !xmlStrEqual(a->name, BAD_CAST "Id")))
                continue;
            if (*n == *cap) {
                size_t ncap = *cap ? *cap * 2 : 32;
                char **p = realloc(*ids, ncap * sizeof(*p));
                if (!p)
                    return -1;
                *ids = p;
                *cap = ncap;
            }
            xmlChar *v = xmlNodeListGetString(node->doc, a->children, 1);
            if (!v)
                return -1;
            (*ids)[(*n)++] = (char *)v;
        }
        if (collect_ids(node->children, ids, n, cap) != 0)
            return -1;
    }
    return 0;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* XML IDs are unique in a valid document (ST-SAML: RD even renames the IDs
 * it copies into Advice). A second element with a signed element's ID is
 * the "same ID twice" signature-wrapping move: refuse any duplicate before
 * a signature is looked at. */
static zr_saml_status_t check_unique_ids(xmlDocPtr doc, char *err, size_t errlen)
{
    char **ids = NULL;
    size_t n = 0, cap = 0;
    zr_saml_status_t st = ZR_SAML_OK;
    if (collect_ids(xmlDocGetRootElement(doc), &ids, &n, &cap) != 0) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: out of memory");
        goto end;
    }
    if (n > 1)
        qsort(ids, n, sizeof(*ids), compare_strings);
    for (size_t i = 1; i < n; i++) {
        if (strcmp(ids[i - 1], ids[i]) == 0) {
            st = fail(err, errlen, ZR_SAML_INVALID,
                      "SOAP: an XML ID appears more than once (signature wrapping)");
            goto end;
        }
    }
end:
    for (size_t i = 0; i < n; i++)
        xmlFree(ids[i]);
    free(ids);
    return st;
}

/* A message should never carry a BSN, but it is not ours to trust. */
void zr_saml_response_sanitise(const char *in, char *out, size_t outlen)
{
    size_t o = 0, digits = 0;
    for (; in && *in && o + 1 < outlen && o < 120; in++) {
        char ch = (*in >= 0x20 && *in < 0x7f) ? *in : ' ';
        digits = (ch >= '0' && ch <= '9') ? digits + 1 : 0;
        out[o++] = ch;
        if (digits >= 5)  /* mask every digit of a run once it is 5 long */
            for (size_t k = 0; k < digits; k++)
                out[o - 1 - k] = '#';
    }
    out[o] = '\0';
}

/* Maps a samlp:Status (ST-SAML §Error messages). ZR_SAML_OK for Success.
 * Cancel is AuthnFailed with StatusMessage exactly "Authentication
 * cancelled"; the codes go into err. */
static zr_saml_status_t map_status(xmlNodePtr parent, const char *what, char *err, size_t errlen)
{
    xmlNodePtr status = zr_xml_child(parent, ZR_NS_SAMLP, "Status");
    xmlNodePtr code = status ? zr_xml_child(status, ZR_NS_SAMLP, "StatusCode") : NULL;
    xmlNodePtr sub = code ? zr_xml_child(code, ZR_NS_SAMLP, "StatusCode") : NULL;
    xmlNodePtr msg_node = status ? zr_xml_child(status, ZR_NS_SAMLP, "StatusMessage") : NULL;
    char *top = code ? zr_xml_attr(code, "Value") : NULL;
    char *second = sub ? zr_xml_attr(sub, "Value") : NULL;
    char *msg = msg_node ? zr_xml_text(msg_node) : NULL;
    char clean[128] = "";
    zr_saml_status_t st;

    if (!status || zr_xml_count_children(parent, ZR_NS_SAMLP, "Status") != 1 || !top) {
        st = fail(err, errlen, ZR_SAML_INVALID, "%s: Status/StatusCode missing", what);
        goto end;
    }
    zr_str_trim(top);
    if (second)
        zr_str_trim(second);
    if (strcmp(top, ZR_SAML_STATUS_SUCCESS) == 0) {
        st = ZR_SAML_OK;
        goto end;
    }
    if (second && strcmp(second, ZR_SAML_STATUS_AUTHN_FAILED) == 0)
        st = msg && strcmp(msg, ZR_SAML_CANCEL_MESSAGE) == 0 ? ZR_SAML_CANCELLED
                                                             : ZR_SAML_AUTHN_FAILED;
    else if (second && strcmp(second, ZR_SAML_STATUS_NO_AUTHN_CONTEXT) == 0)
        st = ZR_SAML_NO_AUTHN_CONTEXT;
    else
        st = ZR_SAML_STATUS_ERROR;
    zr_saml_response_sanitise(msg, clean, sizeof(clean));
    fail(err, errlen, st, "%s: TVS status %.100s%s%.100s%s%s%s", what, top, second ? " / " : "",
         second ? second : "", clean[0] ? ": \"" : "", clean, clean[0] ? "\"" : "");
end:
    free(top);
    free(second);
    free(msg);
    return st;
}

/* Step 1: the envelope holds exactly one Body with exactly one element, the
 * samlp:ArtifactResponse. */
static zr_saml_status_t find_artifact_response(xmlDocPtr doc, xmlNodePtr *out, char *err,
                                               size_t errlen)
{
    xmlNodePtr env = xmlDocGetRootElement(doc), body, only = NULL;
    size_t elements = 0;
    if (!zr_xml_is(env, ZR_NS_SOAP, "Envelope"))
        return fail(err, errlen, ZR_SAML_INVALID, "SOAP: root is not soap:Envelope");
    if (zr_xml_count_children(env, ZR_NS_SOAP, "Body") != 1)
        return fail(err, errlen, ZR_SAML_INVALID, "SOAP: exactly one Body required");
    body = zr_xml_child(env, ZR_NS_SOAP, "Body");
    for (xmlNodePtr n = body->children; n; n = n->next) {
        if (n->type == XML_ELEMENT_NODE) {
            elements++;
            only = n;
        }
    }
    if (elements != 1 || !zr_xml_is(only, ZR_NS_SAMLP, "ArtifactResponse"))
        return fail(err, errlen, ZR_SAML_INVALID,
                    "SOAP: Body must hold exactly one samlp:ArtifactResponse");
    *out = only;
    return ZR_SAML_OK;
}

zr_saml_status_t zr_saml_response_verify_signature(xmlDocPtr doc, xmlNodePtr node, const char *what,
                                                   const zr_xml_verify_key_t *keys, size_t key_count,
                                                   char *err, size_t errlen)
{
    char why[256] = "";
    if (zr_xml_verify(doc, node, keys, key_count, why, sizeof(why)) != 0)
        return fail(err, errlen, ZR_SAML_INVALID, "%s signature: %s", what,
                    why[0] ? why : "invalid");
    return ZR_SAML_OK;
}
#define verify_signature zr_saml_response_verify_signature

zr_xml_verify_key_t *zr_saml_response_verify_keys(const zr_saml_idp_t *idp)
{
    zr_xml_verify_key_t *keys = calloc(idp->key_count ? idp->key_count : 1, sizeof(*keys));
    for (size_t i = 0; keys && i < idp->key_count; i++) {
        keys[i].key = idp->keys[i].key;
        keys[i].key_name = idp->keys[i].key_name;
        keys[i].key_name_sha256 = idp->keys[i].key_name_sha256;
    }
    return keys;
}

/* Step 11: the artifact, the Response ID and the Assertion ID in one round
 * trip; any of them seen before is a replay. */
static zr_saml_status_t claim_ids(zr_store_t *store, const char *artifact, const char *resp_id,
                                  const char *assertion_id, int ttl, char *err, size_t errlen)
{
    static const char *const what[3] = {"artifact", "Response ID", "Assertion ID"};
    zr_store_write_t ops[3] = {{"saml-artifact", artifact, NULL, 0, ttl, ZR_STORE_INVALID},
                               {"saml-response", resp_id, NULL, 0, ttl, ZR_STORE_INVALID},
                               {"saml-assertion", assertion_id, NULL, 0, ttl, ZR_STORE_INVALID}};
    zr_store_status_t s = zr_store_write_all(store, ops, 3);
    if (s == ZR_STORE_OK)
        return ZR_SAML_OK;
    if (s == ZR_STORE_EXISTS) {
        size_t i = 0;
        while (i < 2 && ops[i].status != ZR_STORE_EXISTS)
            i++;
        return fail(err, errlen, ZR_SAML_REPLAY, "replay: %s was used before", what[i]);
    }
    return fail(err, errlen, ZR_SAML_UNAVAILABLE, "replay cache unavailable (%s)", zr_store_status_name(s));
}

/* Step 4, first half: the Response envelope of the assertion. */
static zr_saml_status_t check_response(const zr_saml_response_ctx_t *c, const zr_saml_idp_t *idp,
                                       xmlNodePtr resp, const char *acs_url,
                                       const zr_xml_verify_key_t *keys, size_t key_count,
                                       char *err, size_t errlen)
{
    zr_saml_status_t st;
    if ((st = check_version_id(resp, "Response", err, errlen)) != ZR_SAML_OK)
        return st;
    if (!attr_equals(resp, "Destination", acs_url))
        return fail(err, errlen, ZR_SAML_INVALID, "Response: Destination is not our ACS URL");
    if (!attr_equals(resp, "InResponseTo", c->expect->authn_request_id))
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Response: InResponseTo is not our AuthnRequest ID");
    if ((st = check_issuer(resp, "Response", idp, err, errlen)) != ZR_SAML_OK)
        return st;
    /* The Response was made when the user finished at TVS; the artifact that
     * points at it lives at most 15 minutes. */
    if ((st = check_issue_instant(c, resp, "Response", ZR_SAML_REPLAY_TTL_S, err, errlen)) !=
        ZR_SAML_OK)
        return st;
    /* Normally unsigned (ST-SAML: SHOULD NOT); when signed it must verify. */
    if (zr_xml_child(resp, ZR_NS_DS, "Signature"))
        return verify_signature(resp->doc, resp, "Response", keys, key_count, err, errlen);
    return ZR_SAML_OK;
}

/* Step 4, second half: exactly one Assertion as a direct child of the
 * Response, signed by TVS over exactly that node. */
static zr_saml_status_t select_assertion(const zr_saml_response_ctx_t *c, const zr_saml_idp_t *idp,
                                         xmlDocPtr doc, xmlNodePtr resp,
                                         const zr_xml_verify_key_t *keys, size_t key_count,
                                         xmlNodePtr *out, char *err, size_t errlen)
{
    xmlNodePtr a;
    size_t n;
    zr_saml_status_t st;
    if (zr_xml_child(resp, ZR_NS_SAML, "EncryptedAssertion"))
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Response: EncryptedAssertion is not used by TVS");
    n = zr_xml_count_children(resp, ZR_NS_SAML, "Assertion");
    if (n == 0)
        return fail(err, errlen, ZR_SAML_INVALID, "Response: no assertion");
    if (n > 1)
        return fail(err, errlen, ZR_SAML_INVALID, "Response: more than one assertion");
    a = zr_xml_child(resp, ZR_NS_SAML, "Assertion");
    if ((st = check_version_id(a, "Assertion", err, errlen)) != ZR_SAML_OK)
        return st;
    if ((st = verify_signature(doc, a, "Assertion", keys, key_count, err, errlen)) != ZR_SAML_OK)
        return st;
    if ((st = check_issuer(a, "Assertion", idp, err, errlen)) != ZR_SAML_OK)
        return st;
    if ((st = check_issue_instant(c, a, "Assertion", ZR_SAML_REPLAY_TTL_S, err, errlen)) !=
        ZR_SAML_OK)
        return st;
    *out = a;
    return ZR_SAML_OK;
}

/* Step 5: one bearer SubjectConfirmation for our ACS and our AuthnRequest,
 * not expired (SAML profiles §4.1.4.2, ST-SAML §SubjectConfirmation). */
static zr_saml_status_t check_subject_confirmation(const zr_saml_response_ctx_t *c,
                                                   xmlNodePtr assertion, const char *acs_url,
                                                   char *err, size_t errlen)
{
    xmlNodePtr subject = zr_xml_child(assertion, ZR_NS_SAML, "Subject");
    xmlNodePtr sc = subject ? zr_xml_child(subject, ZR_NS_SAML, "SubjectConfirmation") : NULL;
    xmlNodePtr data = sc ? zr_xml_child(sc, ZR_NS_SAML, "SubjectConfirmationData") : NULL;
    time_t t;
    if (!subject || zr_xml_count_children(assertion, ZR_NS_SAML, "Subject") != 1)
        return fail(err, errlen, ZR_SAML_INVALID, "Assertion: exactly one Subject required");
    if (!sc || zr_xml_count_children(subject, ZR_NS_SAML, "SubjectConfirmation") != 1)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Subject: exactly one SubjectConfirmation required");
    if (!attr_equals(sc, "Method", ZR_SAML_CM_BEARER))
        return fail(err, errlen, ZR_SAML_INVALID, "SubjectConfirmation: Method is not bearer");
    if (!data || zr_xml_count_children(sc, ZR_NS_SAML, "SubjectConfirmationData") != 1)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "SubjectConfirmation: exactly one SubjectConfirmationData required");
    if (!attr_equals(data, "Recipient", acs_url))
        return fail(err, errlen, ZR_SAML_INVALID,
                    "SubjectConfirmationData: Recipient is not our ACS URL");
    if (!attr_equals(data, "InResponseTo", c->expect->authn_request_id))
        return fail(err, errlen, ZR_SAML_INVALID,
                    "SubjectConfirmationData: InResponseTo is not our AuthnRequest ID");
    if (attr_time(data, "NotOnOrAfter", &t) != 0)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "SubjectConfirmationData: NotOnOrAfter missing or malformed");
    if (t <= c->now - c->skew)
        return fail(err, errlen, ZR_SAML_INVALID, "SubjectConfirmationData: expired (NotOnOrAfter)");
    /* ST-SAML says NotBefore is not used here; honour it when sent anyway. */
    if (xmlHasProp(data, BAD_CAST "NotBefore")) {
        if (attr_time(data, "NotBefore", &t) != 0 || t > c->now + c->skew)
            return fail(err, errlen, ZR_SAML_INVALID,
                        "SubjectConfirmationData: not yet valid (NotBefore)");
    }
    return ZR_SAML_OK;
}

/* 1 when one of the restriction's Audience elements is entity_id. */
static int restriction_names(xmlNodePtr restriction, const char *entity_id)
{
    for (xmlNodePtr a = zr_xml_child(restriction, ZR_NS_SAML, "Audience"); a;
         a = zr_xml_next(a, ZR_NS_SAML, "Audience"))
        if (text_equals(a, entity_id))
            return 1;
    return 0;
}

/* Step 6 (ST-SAML §Audience restriction - DV; SAML core §2.5.1.4:
 * restrictions are ANDed, the audiences within one ORed). Every
 * AudienceRestriction must name an entity we are: the care provider, or in
 * a cluster also the LC that processes the assertion for it. In a cluster
 * both must appear somewhere: the LC because we receive it as the LC, the
 * care provider because the login is for that one and no other (TVS lists
 * the DV it encrypted for; an assertion for another DV of the same cluster
 * names that DV instead). */
static zr_saml_status_t check_audience(const zr_saml_response_ctx_t *c, xmlNodePtr cond,
                                       char *err, size_t errlen)
{
    const char *dv = c->expect->tenant->entity_id;
    const char *lc = c->cfg->cluster.enabled ? c->cfg->cluster.entity_id : NULL;
    size_t restrictions = 0;
    int dv_seen = 0, lc_seen = 0;

    if (c->cfg->cluster.enabled && (!lc || !*lc))
        return fail(err, errlen, ZR_SAML_INVALID, "internal: cluster connection without an LC entityID");
    for (xmlNodePtr r = zr_xml_child(cond, ZR_NS_SAML, "AudienceRestriction"); r;
         r = zr_xml_next(r, ZR_NS_SAML, "AudienceRestriction")) {
        int has_dv = restriction_names(r, dv);
        int has_lc = lc && restriction_names(r, lc);
        restrictions++;
        if (!lc && !has_dv)
            return fail(err, errlen, ZR_SAML_INVALID,
                        "Conditions: Audience does not name the care provider (our entityID)");
        if (lc && !has_dv && !has_lc)
            return fail(err, errlen, ZR_SAML_INVALID,
                        "Conditions: an AudienceRestriction names neither the care provider nor "
                        "the cluster (LC) entityID");
        dv_seen |= has_dv;
        lc_seen |= has_lc;
    }
    if (restrictions == 0)
        return fail(err, errlen, ZR_SAML_INVALID, "Conditions: AudienceRestriction missing");
    if (lc && !dv_seen)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Conditions: Audience does not name the care provider of this login");
    if (lc && !lc_seen)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Conditions: Audience does not name the cluster (LC) entityID");
    return ZR_SAML_OK;
}

/* Steps 6 and 7: the audience, and the Conditions window holds. */
static zr_saml_status_t check_conditions(const zr_saml_response_ctx_t *c, xmlNodePtr assertion,
                                         char *err, size_t errlen)
{
    xmlNodePtr cond = zr_xml_child(assertion, ZR_NS_SAML, "Conditions");
    zr_saml_status_t st;
    time_t t;
    if (!cond || zr_xml_count_children(assertion, ZR_NS_SAML, "Conditions") != 1)
        return fail(err, errlen, ZR_SAML_INVALID, "Assertion: exactly one Conditions required");
    if ((st = check_audience(c, cond, err, errlen)) != ZR_SAML_OK)
        return st;
    if (attr_time(cond, "NotBefore", &t) != 0)
        return fail(err, errlen, ZR_SAML_INVALID, "Conditions: NotBefore missing or malformed");
    if (t > c->now + c->skew)
        return fail(err, errlen, ZR_SAML_INVALID, "Conditions: not yet valid (NotBefore)");
    if (attr_time(cond, "NotOnOrAfter", &t) != 0)
        return fail(err, errlen, ZR_SAML_INVALID, "Conditions: NotOnOrAfter missing or malformed");
    if (t <= c->now - c->skew)
        return fail(err, errlen, ZR_SAML_INVALID, "Conditions: expired (NotOnOrAfter)");
    return ZR_SAML_OK;
}

/* The logout data of the verified Assertion: its Subject/NameID with the
 * attributes as TVS sent them (a LogoutRequest must repeat them, SAML core
 * §3.7.3.1) and the SessionIndex read_identity already took. */
static zr_saml_status_t read_session(xmlNodePtr assertion, const zr_subject_t *made, zr_saml_session_t *out,
                                     char *err, size_t errlen)
{
    xmlNodePtr subject = zr_xml_child(assertion, ZR_NS_SAML, "Subject");
    xmlNodePtr name_id = subject ? zr_xml_child(subject, ZR_NS_SAML, "NameID") : NULL;
    if (!name_id || !made->name_id)
        return fail(err, errlen, ZR_SAML_INVALID, "Subject: NameID missing");
    out->name_id = strdup(made->name_id);
    out->format = zr_xml_attr(name_id, "Format");
    out->name_qualifier = zr_xml_attr(name_id, "NameQualifier");
    out->sp_name_qualifier = zr_xml_attr(name_id, "SPNameQualifier");
    out->session_index = zr_strdup(made->session_index);
    if (!out->name_id || (made->session_index && !out->session_index))
        return fail(err, errlen, ZR_SAML_INVALID, "internal: out of memory");
    return ZR_SAML_OK;
}

void zr_saml_session_clear(zr_saml_session_t *s)
{
    if (!s)
        return;
    free(s->name_id);
    free(s->format);
    free(s->name_qualifier);
    free(s->sp_name_qualifier);
    free(s->session_index);
    memset(s, 0, sizeof(*s));
}

zr_saml_status_t zr_saml_response_validate(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                           zr_store_t *store, const char *soap, size_t soap_len,
                                           const zr_saml_expect_t *expect, zr_subject_t *subject,
                                           char *err, size_t errlen)
{
    return zr_saml_response_validate_session(cfg, idp, store, soap, soap_len, expect, subject, NULL, err,
                                             errlen);
}

zr_saml_status_t zr_saml_response_validate_session(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                                   zr_store_t *store, const char *soap, size_t soap_len,
                                                   const zr_saml_expect_t *expect, zr_subject_t *subject,
                                                   zr_saml_session_t *session, char *err, size_t errlen)
{
    zr_saml_session_t sess;
    zr_saml_status_t st = ZR_SAML_INVALID;
    zr_saml_response_ctx_t c;
    zr_subject_t made;
    zr_xml_verify_key_t *keys = NULL;
    xmlDocPtr doc = NULL;
    xmlNodePtr ar = NULL, resp = NULL, assertion = NULL;
    char *acs_url = NULL, *resp_id = NULL, *assertion_id = NULL;
    char why[256] = "";
    int ttl;

    memset(&made, 0, sizeof(made));
    memset(&sess, 0, sizeof(sess));
    if (session)
        memset(session, 0, sizeof(*session));
    if (subject)
        memset(subject, 0, sizeof(*subject));
    if (err && errlen)
        err[0] = '\0';
    if (!cfg || !idp || !store || !soap || !expect || !subject || !expect->tenant ||
        !expect->tenant->entity_id || !expect->artifact || !expect->resolve_id ||
        !expect->authn_request_id || !expect->service_uuid || !idp->entity_id) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: incomplete validation input");
        goto end;
    }
    c.cfg = cfg;
    c.expect = expect;
    c.now = zr_time_now();
    c.skew = cfg->tvs.clock_skew_s > 0 ? cfg->tvs.clock_skew_s : 0;
    ttl = ZR_SAML_REPLAY_TTL_S + c.skew;
    acs_url = zr_saml_acs_url(cfg);
    keys = zr_saml_response_verify_keys(idp);
    if (!acs_url || !keys) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: out of memory");
        goto end;
    }

    /* 1. Envelope, ArtifactResponse, its signature (KeyName -> TVS metadata key). */
    doc = zr_xml_parse(soap, soap_len, 0, why, sizeof(why));
    if (!doc) {
        st = fail(err, errlen, ZR_SAML_INVALID, "SOAP: %s", why[0] ? why : "not parseable");
        goto end;
    }
    if ((st = find_artifact_response(doc, &ar, err, errlen)) != ZR_SAML_OK ||
        (st = check_unique_ids(doc, err, errlen)) != ZR_SAML_OK ||
        (st = check_version_id(ar, "ArtifactResponse", err, errlen)) != ZR_SAML_OK ||
        (st = verify_signature(doc, ar, "ArtifactResponse", keys, idp->key_count, err, errlen)) !=
            ZR_SAML_OK)
        goto end;

    /* 2. Ours, from TVS, fresh. */
    if (!attr_equals(ar, "InResponseTo", expect->resolve_id)) {
        st = fail(err, errlen, ZR_SAML_INVALID,
                  "ArtifactResponse: InResponseTo is not our ArtifactResolve ID");
        goto end;
    }
    if ((st = check_issuer(ar, "ArtifactResponse", idp, err, errlen)) != ZR_SAML_OK ||
        (st = check_issue_instant(&c, ar, "ArtifactResponse", 0, err, errlen)) != ZR_SAML_OK)
        goto end;

    /* 3. Status of the ArtifactResponse, then of the Response. */
    if ((st = map_status(ar, "ArtifactResponse", err, errlen)) != ZR_SAML_OK)
        goto end;
    switch (zr_xml_count_children(ar, ZR_NS_SAMLP, "Response")) {
    case 0:
        /* SAML bindings §3.6.6: Success without a message = nothing to give. */
        st = fail(err, errlen, ZR_SAML_INVALID, "ArtifactResponse has no Response");
        goto end;
    case 1:
        break;
    default:
        st = fail(err, errlen, ZR_SAML_INVALID, "ArtifactResponse has more than one Response");
        goto end;
    }
    resp = zr_xml_child(ar, ZR_NS_SAMLP, "Response");
    if ((st = check_response(&c, idp, resp, acs_url, keys, idp->key_count, err, errlen)) !=
            ZR_SAML_OK ||
        (st = map_status(resp, "Response", err, errlen)) != ZR_SAML_OK)
        goto end;

    /* 4-7. The one signed Assertion, its confirmation and conditions. */
    if ((st = select_assertion(&c, idp, doc, resp, keys, idp->key_count, &assertion, err,
                               errlen)) != ZR_SAML_OK ||
        (st = check_subject_confirmation(&c, assertion, acs_url, err, errlen)) != ZR_SAML_OK ||
        (st = check_conditions(&c, assertion, err, errlen)) != ZR_SAML_OK)
        goto end;

    /* 8-10. ServiceUUID, LoA, BSN(s): from the verified node's own children only. */
    if ((st = zr_saml_response_read_identity(&c, assertion, &made, err, errlen)) != ZR_SAML_OK)
        goto end;
    if (session && (st = read_session(assertion, &made, &sess, err, errlen)) != ZR_SAML_OK)
        goto end;

    /* 11. Each artifact, Response and Assertion is accepted once. */
    resp_id = zr_xml_attr(resp, "ID");
    assertion_id = zr_xml_attr(assertion, "ID");
    if ((st = claim_ids(store, expect->artifact, resp_id, assertion_id, ttl, err, errlen)) != ZR_SAML_OK)
        goto end;

    /* 12. The login belongs to this care provider. */
    made.tenant_id = zr_strdup(expect->tenant->id);
    if (expect->tenant->id && !made.tenant_id) {
        st = fail(err, errlen, ZR_SAML_INVALID, "internal: out of memory");
        goto end;
    }
    *subject = made;
    memset(&made, 0, sizeof(made));
    if (session) {
        *session = sess;
        memset(&sess, 0, sizeof(sess));
    }
    st = ZR_SAML_OK;
end:
    zr_subject_clear(&made);
    zr_saml_session_clear(&sess);
    OPENSSL_cleanse(why, sizeof(why));
    free(acs_url);
    free(keys);
    free(resp_id);
    free(assertion_id);
    doc_free_wiped(doc);
    return st;
}
