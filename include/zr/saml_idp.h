/* The identity-provider side of ST-SAML 1.0 as TVS (the RD) plays it
 * (src/mock/saml_idp.c, a test double: it lives with the mock TVS so that
 * src/saml/ holds production code only): its signed metadata, its checks of
 * an AuthnRequest and an ArtifactResolve, and the ArtifactResponse it
 * answers with, shaped like the official example messages. Used by the mock
 * TVS (src/mock/) and by tests; the relay itself never plays the IdP. */
#ifndef ZR_SAML_IDP_H
#define ZR_SAML_IDP_H

#include <stddef.h>
#include <time.h>
#include "zr/config.h"

/* Endpoint paths, as TVS publishes them (examples/saml_metadata_rd_for_dv.xml). */
#define ZR_SAML_IDP_PATH_SSO     "/kvs/rd/request_authentication"
#define ZR_SAML_IDP_PATH_SLO     "/kvs/rd/request_logout"
#define ZR_SAML_IDP_PATH_RESOLVE "/kvs/rd/resolve_artifact"

/* The AD (DigiD) and BVD (mandates) the mock pretends to have asked;
 * indexes 9000-9999 are test entities (ST-SAML §EntityID). */
#define ZR_SAML_IDP_MOCK_AD  "urn:nl-eid-gdi:1.0:AD:00000009999999999000:entities:9000"
#define ZR_SAML_IDP_MOCK_BVD "urn:nl-eid-gdi:1.0:BVD:00000009999999999000:entities:9001"

#define ZR_SAML_IDP_CANCEL_MESSAGE "Authentication cancelled"

/* Which check a request failed (each has its own message in err too). */
typedef enum {
    ZR_SAML_IDP_OK = 0,
    ZR_SAML_IDP_ERR_INTERNAL,      /* out of memory, nothing configured */
    ZR_SAML_IDP_ERR_ENCODING,      /* SAMLRequest not base64 */
    ZR_SAML_IDP_ERR_XML,           /* not parseable, wrong root, Version, ID, SOAP shape */
    ZR_SAML_IDP_ERR_ISSUER,        /* Issuer missing or not a configured care provider */
    ZR_SAML_IDP_ERR_SIGNATURE,     /* unsigned, tampered, wrong key */
    ZR_SAML_IDP_ERR_DESTINATION,   /* Destination is not our endpoint */
    ZR_SAML_IDP_ERR_ISSUE_INSTANT, /* missing, in the future or too old */
    ZR_SAML_IDP_ERR_ACS_INDEX,     /* AssertionConsumerServiceIndex missing or wrong */
    ZR_SAML_IDP_ERR_ACS_URL,       /* AssertionConsumerServiceURL / ProtocolBinding sent */
    ZR_SAML_IDP_ERR_AUTHN_CONTEXT, /* RequestedAuthnContext sent */
    ZR_SAML_IDP_ERR_SERVICE,       /* AttributeConsumingServiceIndex missing or unknown */
    ZR_SAML_IDP_ERR_UNSUPPORTED,   /* NameIDPolicy, Conditions, Subject */
    ZR_SAML_IDP_ERR_ARTIFACT,      /* ArtifactResolve: Artifact missing or malformed */
    /* Cluster shape (issue 3). */
    ZR_SAML_IDP_ERR_EXTENSIONS,    /* samlp:Extensions missing (LC), malformed, an attribute missing,
                                      repeated or unknown, IdpAssertion sent */
    ZR_SAML_IDP_ERR_AUDIENCE,      /* IntendedAudience not a care provider registered with the LC,
                                      or (direct) not the Issuer itself */
    ZR_SAML_IDP_ERR_SERVICE_CHOICE /* both (or neither) Extensions and AttributeConsumingServiceIndex */
} zr_saml_idp_check_t;

const char *zr_saml_idp_check_name(zr_saml_idp_check_t c);

/* The signed RD metadata of cfg->mock_tvs (malloc'ed XML, *len its length). */
char *zr_saml_idp_metadata_build(const zr_config_t *cfg, size_t *len, char *err, size_t errlen);

/* SSO and artifact resolution URLs of cfg->mock_tvs (malloc'ed). */
char *zr_saml_idp_sso_url(const zr_config_t *cfg);
char *zr_saml_idp_resolve_url(const zr_config_t *cfg);

/* The Extensions attributes of an AuthnRequest (ST-SAML §DV->RD AuthnRequest). */
#define ZR_SAML_IDP_ATTR_INTENDED_AUDIENCE "urn:nl-eid-gdi:1.0:IntendedAudience"
#define ZR_SAML_IDP_ATTR_IDP_ASSERTION     "urn:nl-eid-gdi:1.0:IdpAssertion"

/* zr_saml_idp_request_t.bsn_key: 0 or 1 name one configured key; these two
 * name a policy. ALL wraps the key once per certificate, as ST-SAML
 * §EncryptedID prescribes during a rollover. */
#define ZR_SAML_IDP_BSN_KEY_NEWEST (-1)
#define ZR_SAML_IDP_BSN_KEY_ALL    (-2)

/* What a verified AuthnRequest asks for. tenant and service point into cfg. */
typedef struct {
    char *request_id;                    /* AuthnRequest@ID, for InResponseTo */
    const zr_tenant_t *tenant;           /* the care provider (Issuer) */
    const zr_tenant_service_t *service;  /* by AttributeConsumingServiceIndex */
    int force_authn;
    time_t authn_instant;                /* when the user authenticated (0 = at build time) */
    /* Cluster shape (issue 3). */
    char *requester;                     /* AuthnRequest Issuer: the LC (cluster) or the care provider;
                                            the ArtifactResolve must come from the same entity */
    int bsn_key;                         /* which of the tenant's BSN keys the EncryptedID is made for:
                                            -1 = the newest (last configured) */
} zr_saml_idp_request_t;

/* Verifies a SAMLRequest (HTTP-POST binding, base64) as TVS does
 * (ST-SAML §DV->RD AuthnRequest): signature with the relay's signing key,
 * Issuer, Destination, freshness, ACS index (no URL), service index, no
 * RequestedAuthnContext. Fills *out on ZR_SAML_IDP_OK.
 * Issuer = a care provider (direct), or with cfg->cluster.enabled the LC
 * (then every care provider is registered through it and may not ask
 * itself): samlp:Extensions with one IntendedAudience (the care provider,
 * out->tenant) and one ServiceUUID (one of its services), no
 * AttributeConsumingServiceIndex, AssertionConsumerServiceIndex
 * ZR_SAML_CLUSTER_ACS_INDEX. A direct care provider may use Extensions too
 * (IntendedAudience = itself). out->requester = the Issuer, out->bsn_key =
 * ZR_SAML_IDP_BSN_KEY_NEWEST. */
zr_saml_idp_check_t zr_saml_idp_authn_request_verify(const zr_config_t *cfg, const char *saml_request_b64,
                                                     zr_saml_idp_request_t *out, char *err, size_t errlen);
void zr_saml_idp_request_clear(zr_saml_idp_request_t *r);

/* A verified ArtifactResolve. */
typedef struct {
    char *id;        /* ArtifactResolve@ID, for InResponseTo */
    char *issuer;    /* the entityID that asked: a care provider, or the LC in a cluster */
    char *artifact;  /* the SAMLart value */
} zr_saml_idp_resolve_t;

/* Verifies a SOAP ArtifactResolve: envelope shape, Issuer (a care provider,
 * or the LC in a cluster), signature with the relay's signing key,
 * Destination, freshness, a type 0x0004 artifact of ours. The caller checks
 * that issuer is the requester of the artifact's AuthnRequest. */
zr_saml_idp_check_t zr_saml_idp_artifact_resolve_verify(const zr_config_t *cfg, const char *soap, size_t len,
                                                        zr_saml_idp_resolve_t *out, char *err, size_t errlen);
void zr_saml_idp_resolve_clear(zr_saml_idp_resolve_t *r);

/* A new artifact (SAML Bindings §3.6.4): type 0x0004, endpoint_index,
 * SourceID = SHA-1(entity_id), 20 random bytes. Base64, malloc'ed. */
char *zr_saml_idp_artifact_new(const char *entity_id, int endpoint_index);

/* The SOAP ArtifactResponse for an ArtifactResolve with ID resolve_id, shaped
 * like examples/artifact_response*.xml and signed (ArtifactResponse and
 * Assertion) with the mock's key. With req == NULL (unknown or spent
 * artifact) it has Status Success and no Response (SAML core §3.5.2).
 * Otherwise the identity's outcome decides: an Assertion for success, else a
 * Response with the nested status codes and no Assertion. The Audience is
 * the care provider, plus req->requester when that is another entity (the
 * LC of a cluster request); each EncryptedID has Recipient = the care
 * provider and an EncryptedKey for the BSN key(s) req->bsn_key names.
 * malloc'ed. */
char *zr_saml_idp_artifact_response_build(const zr_config_t *cfg, const zr_saml_idp_request_t *req,
                                          const zr_mock_identity_t *identity, const char *resolve_id,
                                          size_t *len, char *err, size_t errlen);

/* A SOAP 1.1 Fault (faultcode soap11:Client or soap11:Server). malloc'ed. */
char *zr_saml_idp_soap_fault(int client_fault, const char *reason, size_t *len);

/* ---- Logout (issue 5, ST-SAML §Logout) ---- */

/* Told about every session an ArtifactResponse with an Assertion opens:
 * requester = the AuthnRequest's Issuer (care provider or LC),
 * care_provider = its entityID, name_id = the transient NameID (which is
 * also the SessionIndex). The mock keeps them so a LogoutRequest can be
 * matched. One observer per process; NULL fn removes it. */
typedef void (*zr_saml_idp_session_fn)(void *ctx, const char *requester, const char *care_provider,
                                       const char *name_id, const char *session_index);
void zr_saml_idp_set_session_observer(zr_saml_idp_session_fn fn, void *ctx);

/* SingleLogoutService URL of cfg->mock_tvs (malloc'ed). */
char *zr_saml_idp_slo_url(const zr_config_t *cfg);

/* A verified LogoutRequest. */
typedef struct {
    char *id;                  /* LogoutRequest@ID, for InResponseTo */
    char *issuer;              /* a care provider, or the LC in a cluster */
    const zr_tenant_t *tenant; /* the care provider (NULL for the LC) */
    char *name_id;
    char *session_index;       /* NULL when none was sent */
} zr_saml_idp_logout_t;

/* Verifies a SAMLRequest (HTTP-POST binding, base64) holding a
 * LogoutRequest as TVS does: root, Version, ID, Issuer (care provider or
 * LC), the relay's signature, Destination = our SLO, IssueInstant, exactly
 * one NameID (no BaseID/EncryptedID), at most one SessionIndex. */
zr_saml_idp_check_t zr_saml_idp_logout_request_verify(const zr_config_t *cfg, const char *saml_request_b64,
                                                      zr_saml_idp_logout_t *out, char *err, size_t errlen);
void zr_saml_idp_logout_clear(zr_saml_idp_logout_t *l);

/* A signed LogoutResponse (examples/logout_response.xml) to destination
 * (the relay's SingleLogoutService), InResponseTo = request_id. success 0
 * gives status Responder / UnknownPrincipal (the session is not known).
 * malloc'ed XML, *len its length. */
char *zr_saml_idp_logout_response_build(const zr_config_t *cfg, const char *request_id, const char *destination,
                                        int success, size_t *len, char *err, size_t errlen);

#endif
