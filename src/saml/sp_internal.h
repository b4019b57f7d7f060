/* Internal to the outbound (service provider) half of src/saml/: what the
 * files authn_request.c, artifact.c, backchannel.c and idp_metadata.c share.
 * Not a public contract; tests may include it to reach the builders. */
#ifndef ZR_SAML_SP_INTERNAL_H
#define ZR_SAML_SP_INTERNAL_H

#include <stddef.h>
#include <libxml/tree.h>
#include "zr/saml.h"

/* Most bytes we accept from TVS on the back channel or as metadata. */
#define ZR_SAML_MAX_RESPONSE_BYTES (1024 * 1024)

/* Signs the root of a message we send: enveloped, exclusive c14n,
 * RSA-SHA256, KeyInfo/KeyName only (ST-SAML §Signature). Returns 0 on
 * success. */
int zr_saml_sign_root(const zr_config_t *cfg, xmlDocPtr doc, char *err, size_t errlen);

/* What building a request we send by HTTP-POST (AuthnRequest,
 * LogoutRequest) shares, in authn_request.c. zr_saml_request_header sets
 * the header every request carries (SAML core §3.2.1): a fresh ID (*id,
 * malloc'ed), Version 2.0, IssueInstant now, Destination and Issuer.
 * zr_saml_request_parse takes the lasso node's libxml2 tree into a new
 * document (`what` names it in err), without the attributes lasso always
 * writes but ST-SAML messages do not carry (each name in `drop`,
 * NULL-terminated); a message that gains elements lasso cannot write (the
 * cluster AuthnRequest's Extensions) gets them there, before signing.
 * zr_saml_request_encode signs
 * the root (zr_saml_sign_root) and fills the caller's request: *out_xml the
 * signed XML, *out_b64 its base64 for the SAMLRequest field (malloc'ed),
 * *out_id the ID, taken over from *id. Each returns 0 (doc: non-NULL) on
 * success. */
struct _LassoNode;
struct _LassoSamlp2RequestAbstract;
int zr_saml_request_header(struct _LassoSamlp2RequestAbstract *req, const char *destination,
                           const char *issuer, char **id, char *err, size_t errlen);
xmlDocPtr zr_saml_request_parse(struct _LassoNode *req, const char *what, const char *const *drop,
                                char *err, size_t errlen);
int zr_saml_request_encode(const zr_config_t *cfg, xmlDocPtr doc, char **id, char **out_id, char **out_xml,
                           char **out_b64, char *err, size_t errlen);

/* Builds the signed ArtifactResolve for samlart inside a SOAP 1.1 envelope,
 * shaped like examples/artifact_resolve_request.xml. *id and *soap are
 * malloc'ed. 0 on success. */
int zr_saml_artifact_resolve_build(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                   const zr_tenant_t *tenant, const char *samlart, char **id, char **soap,
                                   char *err, size_t errlen);

/* POSTs one SOAP message over the back channel; never retried. Returns 0 or
 * ZR_SAML_ERR_*; *resp (malloc'ed, NUL-terminated) on 0. */
int zr_saml_backchannel_post(zr_saml_backchannel_t *bc, const char *url, const char *body,
                             size_t body_len, char **resp, size_t *resp_len,
                             char *err, size_t errlen);

/* GET of an https URL (TVS metadata): CA pinned to ca_file, no client
 * certificate, no redirects, at most max bytes. 0 on success. */
int zr_saml_https_get(const char *url, const char *ca_file, long connect_timeout_ms,
                      long timeout_ms, size_t max, char **out, size_t *out_len,
                      char *err, size_t errlen);

#endif
