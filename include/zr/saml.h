/* SAML service provider towards TVS, eID SAML 4.4 / ST-SAML 1.0 (src/saml/).
 * Walk of one login: zr_saml_authn_request_build -> (browser, TVS) ->
 * zr_saml_artifact_parse -> zr_saml_artifact_resolve -> zr_saml_response_validate. */
#ifndef ZR_SAML_H
#define ZR_SAML_H

#include <stddef.h>
#include <time.h>
#include "zr/config.h"
#include "zr/store.h"
#include "zr/subject.h"
#include "zr/xml.h"

#define ZR_SAML_ATTR_SERVICE_UUID "urn:nl-eid-gdi:1.0:ServiceUUID"
#define ZR_SAML_ATTR_INTENDED_AUDIENCE "urn:nl-eid-gdi:1.0:IntendedAudience"
#define ZR_SAML_ATTR_ACTING       "urn:nl-eid-gdi:1.0:ActingSubjectID"
#define ZR_SAML_ATTR_LEGAL        "urn:nl-eid-gdi:1.0:LegalSubjectID"
#define ZR_SAML_ATTR_REPR_TYPE    "urn:nl-eid-gdi:1.1:RepresentationType"
#define ZR_SAML_BINDING_POST      "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define ZR_SAML_BINDING_ARTIFACT  "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"
#define ZR_SAML_BINDING_SOAP      "urn:oasis:names:tc:SAML:2.0:bindings:SOAP"
/* SAML V2.0 Metadata Extensions for Registration and Publication Info. */
#define ZR_SAML_NS_MDRPI          "urn:oasis:names:tc:SAML:metadata:rpi"

/* ---- TVS (RD) metadata, verified ---- */

typedef struct {
    EVP_PKEY *key;
    X509 *cert;
    char *key_name;          /* KeyName as given in the metadata (or SHA-1 of cert) */
    char *key_name_sha256;
} zr_saml_idp_key_t;

typedef struct {
    char *entity_id;
    char *sso_url;           /* SingleSignOnService, HTTP-POST */
    char *artifact_url;      /* ArtifactResolutionService, SOAP */
    int artifact_index;
    char *slo_url;           /* SingleLogoutService, HTTP-POST (may be NULL) */
    zr_saml_idp_key_t *keys; /* use="signing" (or no use) */
    size_t key_count;
    time_t valid_until;      /* the earliest validUntil (always present) */
    time_t created;          /* mdrpi:PublicationInfo creationInstant; 0 when absent */
    time_t loaded_at;
    char *signer_subject;    /* RFC 2253 subject of the certificate that signed the metadata */
    char *signer_sha256;     /* its SHA-256 fingerprint, lower-case hex */
    time_t signer_not_after; /* its notAfter (0: unreadable), for the expiry metric */
    char *signer_pin;        /* which pin it matched ("tvs.metadata_signer_sha256 ..."); NULL: no pin configured */
} zr_saml_idp_t;

/* The bytes of cfg->tvs.metadata as the relay reads them: a file, or an
 * https URL fetched with tvs.tls_ca_file and the TVS timeouts (at most
 * ZR_SAML_MAX_RESPONSE_BYTES). 0, or -1 with err; *data is malloc'ed. */
int zr_saml_idp_metadata_read(const zr_config_t *cfg, char **data, size_t *len, char *err, size_t errlen);
/* Loads TVS metadata from cfg->tvs.metadata (file, or https URL via libcurl)
 * and checks it as zr_saml_idp_parse does; outside development also that
 * the browser endpoints are https. */
zr_saml_idp_t *zr_saml_idp_load(const zr_config_t *cfg, char *err, size_t errlen);
/* The same from a buffer: the signature must verify against tvs->trust_anchors,
 * made by a certificate matching one of the tvs->metadata_signer_* pins
 * (when any is configured) whose keyUsage allows digitalSignature; the
 * entityID must equal tvs->entity_id (when set); validUntil is required and
 * must not have passed. */
zr_saml_idp_t *zr_saml_idp_parse(const char *xml, size_t len, const zr_tvs_config_t *tvs, char *err,
                                 size_t errlen);
/* 0 when next may replace current: a refreshed document never goes back
 * (an earlier validUntil or creationInstant than the loaded one's). */
int zr_saml_idp_check_successor(const zr_saml_idp_t *current, const zr_saml_idp_t *next, char *err,
                                size_t errlen);
void zr_saml_idp_free(zr_saml_idp_t *idp);

/* ---- our SP metadata (direct DV shape, ST-SAML §Metadata) ---- */

/* Signed EntityDescriptor for tenant t: signing + TLS client certs
 * (use="signing"), BSN encryption certs (use="encryption"), Artifact ACS,
 * one AttributeConsumingService per service. Returns malloc'ed XML. */
char *zr_saml_sp_metadata_build(const zr_config_t *cfg, const zr_tenant_t *t, char *err, size_t errlen);
/* Our ACS URL: public_base_url + "/saml/acs". malloc'ed. */
char *zr_saml_acs_url(const zr_config_t *cfg);

/* ---- our cluster metadata (LC shape, issue 3) ---- */

/* The index of the one ACS the cluster (LC) and each of its care providers
 * publish; a cluster AuthnRequest names it (examples/saml_metadata_lc_for_rd.xml). */
#define ZR_SAML_CLUSTER_ACS_INDEX 0
/* Signed EntitiesDescriptor (ID, validUntil = now + saml.metadata_valid_days,
 * Name = cluster.name when set) for cfg->cluster: the LC's EntityDescriptor
 * (signing + TLS client certs use="signing", Artifact ACS), then one
 * EntityDescriptor per current care provider under its own entityID with
 * only its BSN encryption certificate(s) and a copy of the LC's ACS; inner
 * descriptors have no signature or validUntil of their own. Signed with
 * saml.signing. Returns malloc'ed XML, NULL (reason in err) otherwise. */
char *zr_saml_cluster_metadata_build(const zr_config_t *cfg, char *err, size_t errlen);

/* ---- AuthnRequest (HTTP-POST binding) ---- */

typedef struct {
    char *id;                /* the request ID, for InResponseTo checks */
    char *xml;               /* signed AuthnRequest */
    char *saml_request_b64;  /* base64 for the SAMLRequest form field */
} zr_saml_authn_request_t;

/* Builds each message the relay makes with lasso once, so that lasso's
 * lazily registered GLib types exist before any worker thread does. Call
 * on the main thread, after zr_xml_init, before serving. */
int zr_saml_init(char *err, size_t errlen);

/* Direct connection: Issuer = the care provider, its
 * AssertionConsumerServiceIndex and the service's
 * AttributeConsumingServiceIndex. Cluster (cfg->cluster.enabled, issue 3):
 * Issuer = the LC, AssertionConsumerServiceIndex = ZR_SAML_CLUSTER_ACS_INDEX,
 * no AttributeConsumingServiceIndex, and samlp:Extensions (after the
 * signature, examples/authn_request_extensions.xml) with the attributes
 * urn:nl-eid-gdi:1.0:ServiceUUID = service->service_uuid and
 * urn:nl-eid-gdi:1.0:IntendedAudience = t->entity_id. */
int zr_saml_authn_request_build(const zr_config_t *cfg, const zr_tenant_t *t,
                                const zr_tenant_service_t *service, const zr_saml_idp_t *idp,
                                int force_authn, zr_saml_authn_request_t *out,
                                char *err, size_t errlen);
void zr_saml_authn_request_free(zr_saml_authn_request_t *r);

/* ---- Artifact ---- */

/* SAML 2.0 artifact type 0x0004: TypeCode(2) EndpointIndex(2) SourceID(20)
 * MessageHandle(20). Checks the type, the length and that SourceID is the
 * SHA-1 of idp->entity_id. 0 when acceptable. */
int zr_saml_artifact_parse(const char *samlart, const zr_saml_idp_t *idp, int *endpoint_index,
                           char *err, size_t errlen);

/* The back channel: a reusable libcurl handle per thread with our TLS client
 * certificate, TVS CA pinned, TLS >= 1.2, timeouts. */
typedef struct zr_saml_backchannel zr_saml_backchannel_t;
zr_saml_backchannel_t *zr_saml_backchannel_new(const zr_config_t *cfg, char *err, size_t errlen);
void zr_saml_backchannel_free(zr_saml_backchannel_t *bc);

/* Builds and signs an ArtifactResolve (SOAP) issued by the care provider
 * the login was started for (tenant), or by the LC in a cluster
 * connection (the entity that sent the AuthnRequest), POSTs it once (never retried
 * once sent), returns the SOAP response body. *resolve_id is the ID of our
 * ArtifactResolve (for InResponseTo). ZR_SAML_ERR_* on failure. */
#define ZR_SAML_ERR_INTERNAL    (-1) /* could not build or sign the request: nothing sent */
#define ZR_SAML_ERR_ARTIFACT    (-2) /* the artifact itself is unacceptable: nothing sent */
#define ZR_SAML_ERR_UNAVAILABLE (-3) /* TVS not reachable; the request certainly was not sent */
#define ZR_SAML_ERR_TLS         (-4) /* TLS handshake failed (certificate, CA, protocol) */
#define ZR_SAML_ERR_TIMEOUT     (-5) /* timed out after sending: the artifact may be spent */
#define ZR_SAML_ERR_HTTP        (-6) /* TVS answered, but not HTTP 200 */
#define ZR_SAML_ERR_TOO_LARGE   (-7) /* answer larger than 1 MiB */
#define ZR_SAML_ERR_TRANSPORT   (-8) /* other failure after the request may have been sent */
int zr_saml_artifact_resolve(zr_saml_backchannel_t *bc, const zr_config_t *cfg,
                             const zr_saml_idp_t *idp, const zr_tenant_t *tenant, const char *samlart,
                             char **resolve_id, char **soap_response, size_t *soap_len,
                             char *err, size_t errlen);

/* The artifact endpoint's circuit breaker (issue 13 §2). After
 * tvs.breaker_failures transport failures in a row (no connection, TLS
 * failure, timeout, HTTP 5xx; never a SAML-level refusal, which is TVS
 * answering) it opens: for tvs.breaker_cooldown_seconds no request is
 * sent and a resolution fails at once with ZR_SAML_ERR_UNAVAILABLE. Then
 * one request probes (half-open) while the others still fail at once; its
 * success closes the breaker, its failure opens it again. Only the
 * transitions are logged, with the endpoint's host. */
typedef enum {
    ZR_SAML_BREAKER_CLOSED = 0,
    ZR_SAML_BREAKER_OPEN,
    ZR_SAML_BREAKER_HALF_OPEN,
} zr_saml_breaker_state_t;
zr_saml_breaker_state_t zr_saml_backchannel_state(zr_saml_backchannel_t *bc);
const char *zr_saml_breaker_state_name(zr_saml_breaker_state_t state); /* "closed", "open", "half_open" */
#ifdef ZR_TESTING
/* Ends an open breaker's cool-down now, so that a test waits on no clock. */
void zr_saml_backchannel_breaker_expire(zr_saml_backchannel_t *bc);
#endif

/* The SOAP message this thread last POSTed on bc (the signed
 * ArtifactResolve), for the diagnostic trace (issue 5 §4, src/diag/);
 * malloc'ed copy, NULL when this thread sent none. */
char *zr_saml_backchannel_last_sent(zr_saml_backchannel_t *bc);

/* ---- Response validation ---- */

typedef enum {
    ZR_SAML_OK = 0,
    ZR_SAML_CANCELLED,        /* AuthnFailed + "Authentication cancelled" */
    ZR_SAML_AUTHN_FAILED,     /* AuthnFailed otherwise */
    ZR_SAML_NO_AUTHN_CONTEXT, /* NoAuthnContext: LoA not reachable for the user */
    ZR_SAML_LOA_TOO_LOW,      /* assertion LoA below the service minimum */
    ZR_SAML_STATUS_ERROR,     /* other non-success status (RequestDenied, ...) */
    ZR_SAML_INVALID,          /* any validation failure: signature, time, audience, ... */
    ZR_SAML_REPLAY,           /* artifact / Response ID / Assertion ID seen before */
    ZR_SAML_BSN_INVALID,      /* decryption failed, wrong type, 11-proof */
    ZR_SAML_UNAVAILABLE       /* TVS or Redis unreachable */
} zr_saml_status_t;

const char *zr_saml_status_name(zr_saml_status_t st);

/* What the response must match: everything we know from the login. */
typedef struct {
    const char *artifact;           /* for the replay cache */
    const char *resolve_id;         /* our ArtifactResolve ID */
    const char *authn_request_id;   /* our AuthnRequest ID */
    const char *service_uuid;       /* requested ServiceUUID */
    zr_loa_t min_loa;
    const zr_tenant_t *tenant;      /* audience + BSN decryption keys */
} zr_saml_expect_t;

/* Audience (step 6): every AudienceRestriction names the care provider (or,
 * in a cluster, the LC), and in a cluster the LC and the care provider both
 * appear. The BSN is decrypted only from an EncryptedID whose Recipient is
 * expect->tenant, with that tenant's keys only.
 * Runs the processing checklist of reference/tvs-saml.md in order, fail
 * closed. On ZR_SAML_OK *subject is filled (caller clears it). On any other
 * status, err says exactly which check failed (never containing a BSN) and
 * status_detail the SAML status codes when TVS sent a non-success. */
zr_saml_status_t zr_saml_response_validate(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                           zr_store_t *store, const char *soap, size_t soap_len,
                                           const zr_saml_expect_t *expect, zr_subject_t *subject,
                                           char *err, size_t errlen);

/* ---- Logout (issue 5, ST-SAML §Logout, docs/logout.md) ----
 * Only the portal starts a logout: a signed LogoutRequest (HTTP-POST) to
 * TVS's SingleLogoutService with the transient NameID and SessionIndex of
 * the Assertion, and a signed LogoutResponse back (HTTP-POST) to ours. */

/* Our SingleLogoutService: public_base_url + "/saml/slo". malloc'ed. */
#define ZR_SAML_SLO_PATH "/saml/slo"
char *zr_saml_slo_url(const zr_config_t *cfg);

/* What a logout at TVS needs from the login's Assertion: Subject/NameID
 * (value and its attributes as received) and AuthnStatement@SessionIndex. */
typedef struct {
    char *name_id;
    char *format;             /* NULL when absent */
    char *name_qualifier;     /* NULL when absent */
    char *sp_name_qualifier;  /* NULL when absent */
    char *session_index;      /* NULL when TVS sent none */
} zr_saml_session_t;
void zr_saml_session_clear(zr_saml_session_t *s);

/* zr_saml_response_validate, and on ZR_SAML_OK also the logout data of the
 * Assertion in *session (caller clears it; zeroed otherwise). */
zr_saml_status_t zr_saml_response_validate_session(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                                   zr_store_t *store, const char *soap, size_t soap_len,
                                                   const zr_saml_expect_t *expect, zr_subject_t *subject,
                                                   zr_saml_session_t *session, char *err, size_t errlen);

typedef struct {
    char *id;                 /* the request ID, for InResponseTo */
    char *xml;                /* signed LogoutRequest */
    char *saml_request_b64;   /* base64 for the SAMLRequest form field */
} zr_saml_logout_request_t;

/* examples/logout_request.xml: Destination = idp->slo_url, Issuer = the
 * care provider (direct) or the LC (cluster), the NameID as received
 * (Format, NameQualifier, SPNameQualifier), SessionIndex; signed like the
 * AuthnRequest (RSA-SHA256, exclusive c14n, KeyName). NameID comes before
 * SessionIndex (SAML core §3.7.1 schema order). 0 on success. */
int zr_saml_logout_request_build(const zr_config_t *cfg, const zr_tenant_t *t, const zr_saml_idp_t *idp,
                                 const zr_saml_session_t *session, zr_saml_logout_request_t *out,
                                 char *err, size_t errlen);
void zr_saml_logout_request_free(zr_saml_logout_request_t *r);

/* Validates a SAMLResponse form field (HTTP-POST binding, base64) holding a
 * LogoutResponse, parsed only by zr_xml_parse: root samlp:LogoutResponse,
 * Version, unique IDs, signature by a key of TVS's metadata on the root,
 * InResponseTo = request_id, Destination = our SLO URL, Issuer = TVS,
 * IssueInstant within 5 minutes (+ clock skew). ZR_SAML_OK for Success,
 * ZR_SAML_STATUS_ERROR for any other status (codes in err), ZR_SAML_INVALID
 * for everything else (err says which check). With store, the response ID
 * is accepted once (ZR_SAML_REPLAY). */
zr_saml_status_t zr_saml_logout_response_validate(const zr_config_t *cfg, const zr_saml_idp_t *idp,
                                                  zr_store_t *store, const char *saml_response_b64,
                                                  const char *request_id, char *err, size_t errlen);

#endif
