/* Shared between the two halves of response validation (src/saml/response*.c):
 * response.c walks envelope -> ArtifactResponse -> Response -> Assertion and
 * its signatures, times and audience; response_identity.c reads the identity
 * out of the one verified Assertion (ServiceUUID, LoA, BSN decryption). */
#ifndef ZR_SAML_RESPONSE_INTERNAL_H
#define ZR_SAML_RESPONSE_INTERNAL_H

#include <stdarg.h>
#include <time.h>
#include "zr/saml.h"

typedef struct {
    const zr_config_t *cfg;
    const zr_saml_expect_t *expect;
    time_t now;
    int skew;
} zr_saml_response_ctx_t;

/* Writes a formatted reason into err and returns st (for `return fail(...)`). */
zr_saml_status_t zr_saml_response_fail(char *err, size_t errlen, zr_saml_status_t st,
                                       const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Checklist steps 8-10 on the verified Assertion node: ServiceUUID, LoA and
 * AuthnStatement, transient NameID, ActingSubjectID / LegalSubjectID
 * decryption and RepresentationType. Reads only the Assertion's own children
 * (never saml:Advice). Fills out (caller clears it on failure). */
zr_saml_status_t zr_saml_response_read_identity(const zr_saml_response_ctx_t *ctx,
                                                xmlNodePtr assertion, zr_subject_t *out,
                                                char *err, size_t errlen);

/* The checks every message from TVS gets (defined in response.c; `what`
 * names the element in err), shared with the LogoutResponse (logout.c):
 * Version 2.0 and an ID; exactly one Issuer naming TVS, Format absent or
 * entity; IssueInstant within [now - max_age - skew, now + skew]; a
 * signature by one of TVS's metadata keys over exactly node. */
int zr_saml_attr_equals(xmlNodePtr node, const char *name, const char *want);
zr_saml_status_t zr_saml_response_check_version_id(xmlNodePtr node, const char *what, char *err,
                                                   size_t errlen);
zr_saml_status_t zr_saml_response_check_issuer(xmlNodePtr node, const char *what, const zr_saml_idp_t *idp,
                                               char *err, size_t errlen);
zr_saml_status_t zr_saml_response_check_issue_instant(const zr_saml_response_ctx_t *c, xmlNodePtr node,
                                                      const char *what, int max_age, char *err,
                                                      size_t errlen);
zr_saml_status_t zr_saml_response_verify_signature(xmlDocPtr doc, xmlNodePtr node, const char *what,
                                                   const zr_xml_verify_key_t *keys, size_t key_count,
                                                   char *err, size_t errlen);
/* TVS's metadata signing keys as zr_xml_verify takes them (calloc'ed, at
 * least one slot; the keys themselves stay idp's). NULL: out of memory. */
zr_xml_verify_key_t *zr_saml_response_verify_keys(const zr_saml_idp_t *idp);
/* Keeps a status code or message from TVS fit for an error line: printable
 * ASCII, short, long digit runs masked. */
void zr_saml_response_sanitise(const char *in, char *out, size_t outlen);

/* Overwrites every text node under node (decrypted BSNs may sit in the tree)
 * except strings owned by the document's dictionary, which are shared. */
void zr_saml_response_wipe_tree(xmlDocPtr doc, xmlNodePtr node);

#endif
