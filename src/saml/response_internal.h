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

/* Overwrites every text node under node (decrypted BSNs may sit in the tree)
 * except strings owned by the document's dictionary, which are shared. */
void zr_saml_response_wipe_tree(xmlDocPtr doc, xmlNodePtr node);

#endif
