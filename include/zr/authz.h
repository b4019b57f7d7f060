/* Handing the authenticated subject to the authorization layer (src/authz/,
 * reference/authorization-handoff.md): W3C trace context, the AuthZEN
 * access evaluation (the relay as policy enforcement point), the subject
 * model, and the Authorization Decision Log. */
#ifndef ZR_AUTHZ_H
#define ZR_AUTHZ_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>
#include "zr/config.h"
#include "zr/dezi.h"
#include "zr/subject.h"

/* ---- W3C trace context (traceparent: 00-<32 hex>-<16 hex>-<2 hex>) ---- */
typedef struct {
    char trace_id[33];
    char span_id[17];         /* this hop's span */
    char parent_span_id[17];  /* the caller's span, "" when we started the trace */
    uint8_t flags;
} zr_trace_t;

/* Accepts a valid incoming traceparent (version 00; not all-zero ids) and
 * starts a child span of it; otherwise (NULL, malformed) starts a new trace.
 * Never fails. */
void zr_trace_begin(const char *traceparent, zr_trace_t *out);
/* "00-trace-span-flags" of this hop, for outgoing calls; out >= 56 bytes. */
void zr_trace_format(const zr_trace_t *t, char *out, size_t outlen);

/* ---- subject model (JSON, AuthZEN "subject"; docs/authorization.md) ---- */
/* One person as the PDP is told: a type URI and an id of that type. */
typedef struct {
    const char *type;
    const char *id;
} zr_authz_person_t;
/* How a patient login names its persons (the relay computes them per
 * authzen.patient_id), and what it knows beside them. */
typedef struct {
    zr_authz_person_t acting;      /* who logged in; required */
    zr_authz_person_t legal;       /* the represented patient; required when s->has_legal */
    const char *service_uuid;      /* the ServiceUUID the AuthnRequest asked for */
} zr_authz_patient_ids_t;
/* {type, id, properties: {loa, auth_time, service_uuid, representation:
 * {type, represented: {type, id}}}}: the subject is the acting person, the
 * represented patient sits beside it. NULL when a person cannot be named
 * (missing id, a BSN-typed id that is not a BSN). */
json_t *zr_authz_subject_patient(const zr_subject_t *s, const zr_authz_patient_ids_t *ids);
/* Professional via Dezi: type uzi-nr-pers URI, id dezi_nummer, properties
 * ura, rol_code, rol_code_bron, loa, verklaring_id, mapped roles. */
json_t *zr_authz_subject_professional(const zr_dezi_professional_t *p, const char *const *roles, size_t role_count);
/* The same from a professional subject (zr_subject_t.kind professional, its
 * mapped roles included). NULL for a patient. */
json_t *zr_authz_subject_professional_from_subject(const zr_subject_t *s);

/* ---- AuthZEN access evaluation ---- */
typedef enum {
    ZR_AUTHZ_PERMIT = 0,
    ZR_AUTHZ_DENY,            /* 200 with decision false */
    ZR_AUTHZ_ERROR            /* transport, status, malformed answer, timeout */
} zr_authz_decision_t;

typedef struct zr_authz_pdp zr_authz_pdp_t;
/* One per configured PDP; thread-safe; discovery
 * (/.well-known/authzen-configuration) fetched lazily and cached, falling
 * back to {pdp}/access/v1/evaluation when the PDP publishes none. */
zr_authz_pdp_t *zr_authz_pdp_new(const zr_authzen_client_t *cfg, char *err, size_t errlen);
void zr_authz_pdp_free(zr_authz_pdp_t *p);
/* 1 when this PDP's errors let the login through (authzen.fail_open). */
int zr_authz_pdp_fail_open(const zr_authz_pdp_t *p);

/* What the relay did with a login, in the record's zorgrelay.authz.outcome. */
#define ZR_AUTHZ_OUTCOME_ALLOWED   "allowed"
#define ZR_AUTHZ_OUTCOME_REFUSED   "refused"
#define ZR_AUTHZ_OUTCOME_FAIL_OPEN "allowed by fail_open"
/* The decision log record of a login the relay could not describe to the
 * PDP (its own error; the PDP is not asked and the login is refused, also
 * with fail_open): status Error, outcome refused, no body. why is never
 * personal data. */
void zr_authz_record_undescribable(const zr_authz_pdp_t *p, const zr_trace_t *trace, const char *client_id,
                                   const char *why);

/* One login put to the PDP. */
typedef struct {
    const zr_trace_t *trace;
    json_t *subject;            /* borrowed */
    json_t *resource;           /* borrowed; NULL: the portal named by client_id only */
    const char *client_id;
    const char *const *roles;   /* a professional's mapped roles; with authzen.evaluations
                                 * per_role one evaluation each (Access Evaluations API) */
    size_t role_count;
} zr_authz_request_t;
/* POST {subject, action {name: "login", properties}, resource, context
 * {time, traceparent}} with a fresh X-Request-ID (logged; an answer naming
 * another id is an ERROR). With per_role and roles (and permitted, an array
 * of role_count): one call to the evaluations endpoint, an evaluation per
 * role (action.properties.role), permitted[i] set per role, PERMIT when any
 * role is permitted. reason (malloc'ed or NULL): the PDP's user-facing
 * reason, never one naming a BSN. One decision log record per call. */
zr_authz_decision_t zr_authz_evaluate_request(zr_authz_pdp_t *p, const zr_authz_request_t *rq, int *permitted,
                                              char **reason, char *err, size_t errlen);

/* POST evaluation {subject, action {name: "login", properties}, resource
 * {type: portal URI, id: client_id}, context {time, traceparent}}. reason
 * (malloc'ed or NULL) is the PDP's user-facing reason from context.reason
 * (reason_user / reason_admin shapes both read). Writes one decision log
 * record (zr_authz_log_*) per call, its outcome included (an error is
 * "allowed by fail_open" when the PDP is configured so). */
zr_authz_decision_t zr_authz_evaluate(zr_authz_pdp_t *p, const zr_trace_t *trace, json_t *subject,
                                      const char *client_id, char **reason, char *err, size_t errlen);

/* ---- Authorization Decision Log: one JSON line per PDP call ---- */
/* Logius Authorization Decision Log (ADL) 1.0, docs/authorization.md#the-decision-log. */
/* Opens the sink (file appended, line-buffered, 0600; NULL file -> stderr
 * log lines) and takes cfg->subject_key for the BSN hashes. Process-wide;
 * safe to call again (reopens, e.g. on SIGHUP). */
int zr_authz_log_open(const zr_decision_log_config_t *cfg, char *err, size_t errlen);
void zr_authz_log_close(void);

/* The records (src/authz/authz_internal.h, zr_authz_log_write): trace_id,
 * span_id, parent_span_id (when the trace has an upstream caller),
 * event_name (adl.access_evaluation, or adl.access_evaluations for a batch
 * call), timestamp (ms), status Ok/Error (a deny is Ok), attributes
 * (adl.core.configuration {pdp} and the namespaced zorgrelay.authz.decision,
 * .outcome, .error, .request_id, zorgrelay.oidc.client_id,
 * zorgrelay.adl.body_omitted), resource (service.name, service.version,
 * host.name), body {adl.core.request, adl.core.response}. A BSN never
 * appears in clear: replaced by its keyed hash (zr_authz_log_set_subject_key)
 * wherever it occurs. Written by zr_authz_evaluate and
 * zr_authz_record_undescribable. */

/* ---- additions (src/authz) ---- */
/* Subject and code system URIs (NL Gov profile: types SHOULD be URIs). */
#define ZR_AUTHZ_TYPE_BSN       "http://fhir.nl/fhir/NamingSystem/bsn"
#define ZR_AUTHZ_TYPE_UZI       "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
#define ZR_AUTHZ_SYSTEM_URA     "http://fhir.nl/fhir/NamingSystem/ura"
#define ZR_AUTHZ_SYSTEM_ROLCODE "urn:oid:2.16.840.1.113883.2.4.15.111"

/* Types (docs/authorization.md#types): the pairwise `sub` has the ID
 * token's sub_id_type (OIDC NL GOV); what only the relay makes has a URN
 * of its own, in the form of the eID URNs the programme uses. */
#define ZR_AUTHZ_TYPE_PAIRWISE_SUB           "urn:nl-eid-gdi:1.0:id:pseudonym"
#define ZR_AUTHZ_TYPE_CARE_PROVIDER_PSEUDONYM "urn:nl-zorgrelay:1.0:id:care-provider-pseudonym"
#define ZR_AUTHZ_RESOURCE_PORTAL             "urn:nl-zorgrelay:1.0:resource:oidc-client"

/* The resource of a login: {type: portal URI, id: client_id, properties:
 * {name, care_provider: {id, name, entity_id, oin, ura}}} (care_provider
 * when the login is for one). NULL when out of memory. */
json_t *zr_authz_resource_portal(const zr_client_t *client, const zr_tenant_t *tenant);

/* The care provider's pseudonym of a patient: base64url(HMAC-SHA256(K,
 * BSN)) with K = zr_authz_care_provider_key: the same at every portal of
 * that care provider, different at every other. K is derived from the
 * pairwise secret: HMAC-SHA256(secret, F(label) F(care provider id)), F =
 * 4-byte big-endian length + bytes. `zorgrelay tenants pseudonym-key`
 * gives K to the care provider, whose PDP can then compute the pseudonym
 * of each of its own patients from its records. */
#define ZR_AUTHZ_CARE_PROVIDER_KEY_LABEL "zorgrelay care provider pseudonym key v1"
int zr_authz_care_provider_key(const uint8_t secret[32], const char *care_provider_id, uint8_t key[32]);
char *zr_authz_care_provider_pseudonym(const uint8_t secret[32], const char *care_provider_id, const char *bsn);

/* The key of the keyed hash that replaces BSNs in decision log records
 * (zr_authz_log_open sets the configured one). Without either call, a random
 * per-process key is used (hashes then correlate records of one process). */
void zr_authz_log_set_subject_key(const uint8_t key[32]);

#endif
