/* The identity in TVS's (verified) Assertion: ServiceUUID, level of
 * assurance, session data and the BSN(s) in EncryptedID (ST-SAML
 * §AttributeStatement - DV, §EncryptedID, §NameID after decrypting).
 * Everything is read from the Assertion node's own children; saml:Advice
 * (the DigiD/BVD evidence) is never looked at. */
#include "response_internal.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zr/util.h"

#define fail zr_saml_response_fail

#define ZR_NAMEID_PERSISTENT "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define ZR_ID_BSNK_BSN       "urn:nl-eid-gdi:1.0:id:BSN"
#define ZR_ID_BSNK_PSEUDONYM "urn:nl-eid-gdi:1.0:id:Pseudonym"
#define ZR_NS_WRAP           "urn:zorgrelay:decrypted"
/* A decrypted NameID is a few hundred bytes; anything large is not one. */
#define ZR_NAMEID_MAX_BYTES  4096

static void wipe_free(char **p)
{
    if (*p) {
        OPENSSL_cleanse(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

/* The Attribute with this Name in the statement; *count how many there are. */
static xmlNodePtr find_attribute(xmlNodePtr stmt, const char *name, size_t *count)
{
    xmlNodePtr found = NULL;
    *count = 0;
    for (xmlNodePtr a = zr_xml_child(stmt, ZR_NS_SAML, "Attribute"); a;
         a = zr_xml_next(a, ZR_NS_SAML, "Attribute")) {
        char *n = zr_xml_attr(a, "Name");
        if (n && strcmp(zr_str_trim(n), name) == 0) {
            if (!found)
                found = a;
            (*count)++;
        }
        free(n);
    }
    return found;
}

/* The single element child of node, or NULL when it has none or several. */
static xmlNodePtr only_element_child(xmlNodePtr node)
{
    xmlNodePtr only = NULL;
    for (xmlNodePtr n = node->children; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (only)
            return NULL;
        only = n;
    }
    return only;
}

/* Step 8: ServiceUUID (plain, one value) = the one we asked for. UUIDs
 * compare case-insensitively (RFC 4122 §3). */
static zr_saml_status_t check_service_uuid(const zr_saml_response_ctx_t *c, xmlNodePtr stmt,
                                           char *err, size_t errlen)
{
    size_t count;
    xmlNodePtr attr = find_attribute(stmt, ZR_SAML_ATTR_SERVICE_UUID, &count);
    xmlNodePtr value = attr ? zr_xml_child(attr, ZR_NS_SAML, "AttributeValue") : NULL;
    char *uuid = NULL;
    zr_saml_status_t st = ZR_SAML_OK;
    if (count != 1 || !value || zr_xml_count_children(attr, ZR_NS_SAML, "AttributeValue") != 1)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "AttributeStatement: exactly one ServiceUUID value required");
    uuid = zr_xml_text(value);
    if (!uuid || strcasecmp(uuid, c->expect->service_uuid) != 0)
        st = fail(err, errlen, ZR_SAML_INVALID, "ServiceUUID is not the one requested");
    free(uuid);
    return st;
}

/* Step 9: AuthnStatement -> LoA (>= the service minimum), AuthnInstant,
 * SessionIndex, first AuthenticatingAuthority. */
static zr_saml_status_t read_authn_statement(const zr_saml_response_ctx_t *c,
                                             xmlNodePtr assertion, zr_subject_t *out, char *err,
                                             size_t errlen)
{
    xmlNodePtr stmt = zr_xml_child(assertion, ZR_NS_SAML, "AuthnStatement");
    xmlNodePtr ctx = stmt ? zr_xml_child(stmt, ZR_NS_SAML, "AuthnContext") : NULL;
    xmlNodePtr ref = ctx ? zr_xml_child(ctx, ZR_NS_SAML, "AuthnContextClassRef") : NULL;
    xmlNodePtr auth = ctx ? zr_xml_child(ctx, ZR_NS_SAML, "AuthenticatingAuthority") : NULL;
    char *loa_uri = NULL, *instant = NULL;
    zr_saml_status_t st = ZR_SAML_INVALID;
    time_t t;

    if (!stmt || zr_xml_count_children(assertion, ZR_NS_SAML, "AuthnStatement") != 1) {
        fail(err, errlen, st, "Assertion: exactly one AuthnStatement required");
        goto end;
    }
    if (!ref || zr_xml_count_children(ctx, ZR_NS_SAML, "AuthnContextClassRef") != 1) {
        fail(err, errlen, st, "AuthnStatement: exactly one AuthnContextClassRef required");
        goto end;
    }
    loa_uri = zr_xml_text(ref);
    out->loa = zr_loa_parse(loa_uri);
    if (out->loa == ZR_LOA_NONE) {
        fail(err, errlen, st, "AuthnContextClassRef: unknown level of assurance");
        goto end;
    }
    if (out->loa < c->expect->min_loa) {
        st = fail(err, errlen, ZR_SAML_LOA_TOO_LOW,
                  "level of assurance %s is below the service minimum %s", zr_loa_name(out->loa),
                  zr_loa_name(c->expect->min_loa));
        goto end;
    }
    instant = zr_xml_attr(stmt, "AuthnInstant");
    if (!instant || zr_time_parse_iso8601(instant, &t) != 0) {
        fail(err, errlen, st, "AuthnStatement: AuthnInstant missing or malformed");
        goto end;
    }
    if (t > c->now + c->skew) {
        fail(err, errlen, st, "AuthnStatement: AuthnInstant is in the future");
        goto end;
    }
    out->auth_time = t;
    out->session_index = zr_xml_attr(stmt, "SessionIndex");
    if (out->session_index)
        zr_str_trim(out->session_index);
    if (auth)
        out->authenticating_authority = zr_xml_text(auth);
    st = ZR_SAML_OK;
end:
    free(loa_uri);
    free(instant);
    return st;
}

/* Parses the decrypted plaintext <saml:NameID Format="persistent"
 * NameQualifier="TYPE">VALUE</saml:NameID> and checks TYPE and VALUE. The
 * plaintext is an element serialised out of its context, so it may use a
 * prefix declared only in the assertion: it is parsed inside a wrapper that
 * declares the usual SAML prefixes (its own declarations still win). */
static zr_saml_status_t parse_decrypted_name_id(const char *plain, const char *what,
                                                zr_subject_id_t *out, char *err, size_t errlen)
{
    zr_buf_t b;
    xmlDocPtr doc = NULL;
    xmlNodePtr name_id;
    char *format = NULL, *qualifier = NULL, *value = NULL;
    char why[256] = "";
    zr_saml_status_t st = ZR_SAML_BSN_INVALID;

    zr_buf_init(&b);
    /* An XML declaration cannot sit inside the wrapper. */
    if (strncmp(plain, "<?xml", 5) == 0) {
        const char *end_decl = strstr(plain, "?>");
        plain = end_decl ? end_decl + 2 : plain;
    }
    if (zr_buf_appends(&b, "<zrw:w xmlns:zrw=\"" ZR_NS_WRAP "\" xmlns:saml2=\"" ZR_NS_SAML
                           "\" xmlns:saml=\"" ZR_NS_SAML "\">") != 0 ||
        zr_buf_appends(&b, plain) != 0 || zr_buf_appends(&b, "</zrw:w>") != 0) {
        fail(err, errlen, st, "%s: out of memory", what);
        goto end;
    }
    doc = zr_xml_parse(b.data, b.len, ZR_NAMEID_MAX_BYTES, why, sizeof(why));
    if (!doc) {
        fail(err, errlen, st, "%s: decrypted content is not a NameID (%s)", what, why);
        goto end;
    }
    name_id = only_element_child(xmlDocGetRootElement(doc));
    if (!name_id || !zr_xml_is(name_id, ZR_NS_SAML, "NameID")) {
        fail(err, errlen, st, "%s: decrypted content is not a saml:NameID", what);
        goto end;
    }
    format = zr_xml_attr(name_id, "Format");
    if (!format || strcmp(zr_str_trim(format), ZR_NAMEID_PERSISTENT) != 0) {
        fail(err, errlen, st, "%s: NameID Format is not persistent", what);
        goto end;
    }
    qualifier = zr_xml_attr(name_id, "NameQualifier");
    if (qualifier)
        zr_str_trim(qualifier);
    if (qualifier && (strcmp(qualifier, ZR_ID_BSNK_BSN) == 0 ||
                      strcmp(qualifier, ZR_ID_BSNK_PSEUDONYM) == 0)) {
        fail(err, errlen, st, "%s: polymorphic identifier (BSNk) not supported for this care "
             "provider", what);
        goto end;
    }
    if (!qualifier || strcmp(qualifier, ZR_ID_LEGACY_BSN) != 0) {
        fail(err, errlen, st, "%s: unsupported identifier type (NameQualifier)", what);
        goto end;
    }
    value = zr_xml_text(name_id);
    if (!value || !zr_bsn_is_valid(value)) {
        fail(err, errlen, st, "%s: the legacy-BSN is not 9 digits passing the 11-proof", what);
        goto end;
    }
    out->id_type = qualifier;
    out->value = value;
    qualifier = value = NULL;
    st = ZR_SAML_OK;
end:
    wipe_free(&value);
    free(format);
    free(qualifier);
    OPENSSL_cleanse(why, sizeof(why));
    if (doc) {
        zr_saml_response_wipe_tree(doc, doc->children);
        xmlFreeDoc(doc);
    }
    zr_buf_free(&b);
    return st;
}

/* 1 when the EncryptedID carries an xenc:EncryptedKey for recipient, in
 * either place zr_xml_decrypt_encrypted_id looks (beside EncryptedData, as
 * TVS puts it, or inside its KeyInfo). Recipient compares exactly, as there. */
static int encrypted_id_is_for(xmlNodePtr enc, const char *recipient)
{
    xmlNodePtr ed = zr_xml_child(enc, ZR_NS_XENC, "EncryptedData");
    xmlNodePtr ki = ed ? zr_xml_child(ed, ZR_NS_DS, "KeyInfo") : NULL;
    xmlNodePtr lists[2] = {enc, ki};
    for (size_t l = 0; l < 2; l++) {
        for (xmlNodePtr ek = lists[l] ? zr_xml_child(lists[l], ZR_NS_XENC, "EncryptedKey") : NULL;
             ek; ek = zr_xml_next(ek, ZR_NS_XENC, "EncryptedKey")) {
            char *r = zr_xml_attr(ek, "Recipient");
            int eq = r && strcmp(r, recipient) == 0;
            free(r);
            if (eq)
                return 1;
        }
    }
    return 0;
}

/* Step 10 for one subject attribute: 1..n AttributeValues, each exactly one
 * saml:EncryptedID (ST-SAML §AttributeStatement: values "for one or more
 * Recipients"). Only the one whose EncryptedKey names this tenant's entityID
 * as Recipient is decrypted, with this tenant's BSN key(s) only; values for
 * other recipients are ignored, never tried (§Multiple recipients). None for
 * this tenant is a refusal of its own: the assertion was made for another
 * care provider. */
static zr_saml_status_t decrypt_subject_id(const zr_saml_response_ctx_t *c, xmlNodePtr attr,
                                           const char *what, zr_subject_id_t *out, char *err,
                                           size_t errlen)
{
    const zr_tenant_t *t = c->expect->tenant;
    zr_xml_decrypt_key_t keys[2];
    size_t key_count = t->bsn_key_count < 2 ? t->bsn_key_count : 2;
    xmlNodePtr ours = NULL;
    size_t values = 0, ours_count = 0;
    char *plain = NULL;
    char why[256] = "";
    zr_saml_status_t st = ZR_SAML_INVALID;

    for (xmlNodePtr value = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue"); value;
         value = zr_xml_next(value, ZR_NS_SAML, "AttributeValue")) {
        xmlNodePtr enc = only_element_child(value);
        values++;
        if (enc && zr_xml_is(enc, ZR_NS_SAML, "NameID")) {
            fail(err, errlen, st, "%s: plain NameID refused (TVS always encrypts)", what);
            goto end;
        }
        if (!enc || !zr_xml_is(enc, ZR_NS_SAML, "EncryptedID")) {
            fail(err, errlen, st, "%s: AttributeValue must hold exactly one saml:EncryptedID",
                 what);
            goto end;
        }
        if (encrypted_id_is_for(enc, t->entity_id)) {
            ours = enc;
            ours_count++;
        }
    }
    if (values == 0) {
        fail(err, errlen, st, "%s: no AttributeValue", what);
        goto end;
    }
    if (ours_count == 0) {
        fail(err, errlen, st,
             "%s: no EncryptedID for this care provider (no EncryptedKey Recipient names its "
             "entityID)", what);
        goto end;
    }
    if (ours_count > 1) {
        fail(err, errlen, st, "%s: more than one EncryptedID for this care provider", what);
        goto end;
    }
    for (size_t i = 0; i < key_count; i++) {
        keys[i].key = t->bsn_keys[i].key;
        keys[i].key_name = t->bsn_keys[i].key_name;
        keys[i].key_name_sha256 = t->bsn_keys[i].key_name_sha256;
    }
    if (key_count == 0 ||
        zr_xml_decrypt_encrypted_id(ours, t->entity_id, keys, key_count, &plain, why,
                                    sizeof(why)) != 0 || !plain) {
        st = fail(err, errlen, ZR_SAML_BSN_INVALID, "%s: decryption failed: %s", what,
                  key_count == 0 ? "care provider has no BSN key" : why);
        goto end;
    }
    st = parse_decrypted_name_id(plain, what, out, err, errlen);
end:
    wipe_free(&plain);
    OPENSSL_cleanse(why, sizeof(why));
    return st;
}

/* RepresentationType (plain, ST-SAML §Attribute types in case of legal
 * representation): 1..n values; several are joined with one space. */
static zr_saml_status_t read_representation_type(xmlNodePtr attr, zr_subject_t *out, char *err,
                                                 size_t errlen)
{
    zr_buf_t b;
    zr_saml_status_t st = ZR_SAML_INVALID;
    zr_buf_init(&b);
    for (xmlNodePtr v = zr_xml_child(attr, ZR_NS_SAML, "AttributeValue"); v;
         v = zr_xml_next(v, ZR_NS_SAML, "AttributeValue")) {
        char *text = zr_xml_text(v);
        int bad = !text || !*text || strchr(text, ' ') || only_element_child(v);
        if (!bad && ((b.len && zr_buf_appends(&b, " ") != 0) || zr_buf_appends(&b, text) != 0))
            bad = 1;
        free(text);
        if (bad) {
            fail(err, errlen, st, "RepresentationType: malformed AttributeValue");
            goto end;
        }
    }
    if (!b.len) {
        fail(err, errlen, st, "RepresentationType: no AttributeValue");
        goto end;
    }
    out->representation_type = zr_buf_steal(&b);
    st = ZR_SAML_OK;
end:
    zr_buf_free(&b);
    return st;
}

zr_saml_status_t zr_saml_response_read_identity(const zr_saml_response_ctx_t *c,
                                                xmlNodePtr assertion, zr_subject_t *out,
                                                char *err, size_t errlen)
{
    xmlNodePtr stmt = zr_xml_child(assertion, ZR_NS_SAML, "AttributeStatement");
    xmlNodePtr subject = zr_xml_child(assertion, ZR_NS_SAML, "Subject");
    xmlNodePtr name_id = subject ? zr_xml_child(subject, ZR_NS_SAML, "NameID") : NULL;
    xmlNodePtr acting, legal, rt;
    size_t acting_n, legal_n, rt_n;
    zr_saml_status_t st;

    /* Only a Success assertion has one (ST-SAML §AuthN Response - Assertion). */
    if (!stmt || zr_xml_count_children(assertion, ZR_NS_SAML, "AttributeStatement") != 1)
        return fail(err, errlen, ZR_SAML_INVALID,
                    "Assertion: exactly one AttributeStatement required");
    if ((st = check_service_uuid(c, stmt, err, errlen)) != ZR_SAML_OK ||
        (st = read_authn_statement(c, assertion, out, err, errlen)) != ZR_SAML_OK)
        return st;

    /* The transient NameID, kept for logout only. */
    if (!name_id || zr_xml_count_children(subject, ZR_NS_SAML, "NameID") != 1)
        return fail(err, errlen, ZR_SAML_INVALID, "Subject: exactly one NameID required");
    out->name_id = zr_xml_text(name_id);
    if (!out->name_id || !*out->name_id)
        return fail(err, errlen, ZR_SAML_INVALID, "Subject: NameID is empty");

    acting = find_attribute(stmt, ZR_SAML_ATTR_ACTING, &acting_n);
    legal = find_attribute(stmt, ZR_SAML_ATTR_LEGAL, &legal_n);
    rt = find_attribute(stmt, ZR_SAML_ATTR_REPR_TYPE, &rt_n);
    if (acting_n != 1)
        return fail(err, errlen, ZR_SAML_INVALID, acting_n ? "more than one ActingSubjectID"
                    : legal_n ? "LegalSubjectID without ActingSubjectID" : "no ActingSubjectID");
    if (legal_n > 1)
        return fail(err, errlen, ZR_SAML_INVALID, "more than one LegalSubjectID");
    if (rt_n > 1)
        return fail(err, errlen, ZR_SAML_INVALID, "more than one RepresentationType");
    /* A representation type without the represented person means nothing. */
    if (rt_n && !legal_n)
        return fail(err, errlen, ZR_SAML_INVALID, "RepresentationType without LegalSubjectID");

    if ((st = decrypt_subject_id(c, acting, "ActingSubjectID", &out->acting, err, errlen)) !=
        ZR_SAML_OK)
        return st;
    if (legal) {
        if ((st = decrypt_subject_id(c, legal, "LegalSubjectID", &out->legal, err, errlen)) !=
            ZR_SAML_OK)
            return st;
        out->has_legal = 1;
    }
    if (rt && (st = read_representation_type(rt, out, err, errlen)) != ZR_SAML_OK)
        return st;
    return ZR_SAML_OK;
}
