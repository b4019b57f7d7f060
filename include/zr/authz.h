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

/* ---- subject model (JSON, AuthZEN "subject") ---- */
/* Patient via TVS: type bsn URI (or pseudonym), id, properties (loa,
 * service_uuid, care provider entityID/URA, representation with the acting
 * person and the represented patient kept apart). With bsn_allowed = 0 the
 * BSN is replaced by the pairwise pseudonym given in pseudonym. */
json_t *zr_authz_subject_patient(const zr_subject_t *s, const char *tenant_entity_id, const char *pseudonym,
                                 int bsn_allowed);
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

/* POST evaluation {subject, action {name: "login", properties}, resource
 * {type: "client", id: client_id}, context {time, traceparent}}. reason
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
#define ZR_AUTHZ_TYPE_PSEUDONYM "urn:nl-eid-gdi:1.0:id:pseudonym"
#define ZR_AUTHZ_TYPE_UZI       "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
#define ZR_AUTHZ_SYSTEM_URA     "http://fhir.nl/fhir/NamingSystem/ura"
#define ZR_AUTHZ_SYSTEM_ROLCODE "urn:oid:2.16.840.1.113883.2.4.15.111"

/* What a patient login knows beyond the subject; every field optional. */
typedef struct {
    const char *tenant_entity_id;  /* the care provider's (DV) entityID */
    const char *tenant_ura;        /* its URA, when configured */
    const char *service_uuid;      /* the ServiceUUID the AuthnRequest asked for */
    const char *legal_pseudonym;   /* bsn_allowed = 0 and representation: the
                                    * represented patient's pairwise pseudonym */
} zr_authz_patient_context_t;
/* As zr_authz_subject_patient, with every property. Shape:
 * {type, id, properties: {loa, auth_time, service_uuid, care_provider:
 * {entity_id, ura}, representation: {type, represented: {type, id}}}}; the
 * subject is the acting person, the represented patient sits beside it.
 * NULL when an id cannot be given (no BSN allowed and no pseudonym). */
json_t *zr_authz_subject_patient_ex(const zr_subject_t *s, const zr_authz_patient_context_t *ctx,
                                    const char *pseudonym, int bsn_allowed);

/* The key of the keyed hash that replaces BSNs in decision log records
 * (zr_authz_log_open sets the configured one). Without either call, a random
 * per-process key is used (hashes then correlate records of one process). */
void zr_authz_log_set_subject_key(const uint8_t key[32]);

#endif
