/* Internal to the identity-provider side the mock TVS plays (saml_idp.c,
 * saml_idp_logout.c): the checks TVS makes on every request the relay sends
 * it (AuthnRequest, ArtifactResolve, LogoutRequest), and how the mock TVS
 * signs and writes what it answers. Defined in saml_idp.c; not a public
 * contract. */
#ifndef ZR_SAML_IDP_INTERNAL_H
#define ZR_SAML_IDP_INTERNAL_H

#include <stddef.h>
#include <libxml/tree.h>
#include "zr/saml_idp.h"

#define ZR_SAML_IDP_STATUS_PREFIX "urn:oasis:names:tc:SAML:2.0:status:"

/* Writes a formatted reason into err and returns c (for `return refuse(...)`). */
zr_saml_idp_check_t zr_saml_idp_refuse(char *err, size_t errlen, zr_saml_idp_check_t c, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 1 when the (trimmed) attribute equals want. */
int zr_saml_idp_attr_equals(xmlNodePtr node, const char *name, const char *want);

/* The checks common to every request (`what` names it in err): Version 2.0
 * and an ID (*id_out, malloc'ed, on success); the one Issuer, a care provider
 * of a direct connection or the LC (*issuer_out, *tenant_out: NULL for the
 * LC); the relay's signature; IssueInstant not in the future nor too old. */
zr_saml_idp_check_t zr_saml_idp_check_version_id(xmlNodePtr node, const char *what, char **id_out, char *err,
                                                 size_t errlen);
zr_saml_idp_check_t zr_saml_idp_check_issuer(const zr_config_t *cfg, xmlNodePtr node, const char *what,
                                             char **issuer_out, const zr_tenant_t **tenant_out, char *err,
                                             size_t errlen);
zr_saml_idp_check_t zr_saml_idp_verify_relay_signature(const zr_config_t *cfg, xmlDocPtr doc, xmlNodePtr node,
                                                       const char *what, char *err, size_t errlen);
zr_saml_idp_check_t zr_saml_idp_check_issue_instant(const zr_config_t *cfg, xmlNodePtr node, const char *what,
                                                    char *err, size_t errlen);

/* Signs nodes[0..count) in that order (innermost first: an enveloping
 * signature covers the inner ones) with the mock TVS key, named by its
 * SHA-256 form as TVS does in messages, and serialises doc. Returns the XML
 * (malloc'ed, *len its length) or NULL with err ("signing the <what> ..."). */
char *zr_saml_idp_sign_and_dump(const zr_config_t *cfg, xmlDocPtr doc, xmlNodePtr *nodes, size_t count,
                                const char *what, size_t *len, char *err, size_t errlen);

/* idp_logout.c: tells the session observer (if any) that an
 * ArtifactResponse opened a session. */
void zr_saml_idp_session_opened(const char *requester, const char *care_provider, const char *name_id,
                                const char *session_index);

#endif
