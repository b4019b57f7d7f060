/* Private to src/authz. */
#ifndef ZR_AUTHZ_INTERNAL_H
#define ZR_AUTHZ_INTERNAL_H

#include "zr/authz.h"

/* ADL §event_name: the AuthZEN API a record is of. */
#define ZR_ADL_ACCESS_EVALUATION  "adl.access_evaluation"   /* one decision */
#define ZR_ADL_ACCESS_EVALUATIONS "adl.access_evaluations"  /* a batch call */

/* One record. Only decision is required; every pointer may be NULL. */
typedef struct {
    const zr_trace_t *trace;     /* trace_id, span_id, parent_span_id (NULL: a new root span) */
    const char *pdp;             /* the PDP's base URL: attributes.adl.core.configuration.pdp */
    const char *client;          /* zorgrelay.oidc.client_id (NULL: request.resource.id) */
    json_t *request;             /* body.adl.core.request, as sent (BSNs hashed in the record) */
    json_t *response;            /* body.adl.core.response, the PDP's answer */
    zr_authz_decision_t decision; /* zorgrelay.authz.decision; status Error only for ZR_AUTHZ_ERROR */
    const char *error;           /* zorgrelay.authz.error: why an Error (never personal data) */
    const char *outcome;         /* zorgrelay.authz.outcome, one of ZR_AUTHZ_OUTCOME_* */
    const char *event_name;      /* ZR_ADL_* (NULL: ZR_ADL_ACCESS_EVALUATION) */
    const char *request_id;      /* zorgrelay.authz.request_id: the call's X-Request-ID */
} zr_authz_log_entry_t;

/* Writes one record: trace_id, span_id, parent_span_id (when the trace has
 * an upstream caller), event_name, timestamp (ms), status Ok/Error (a deny
 * is Ok), attributes (adl.core.configuration and the zorgrelay.* keys
 * above), resource (service.name, service.version, host.name), body
 * {adl.core.request, adl.core.response}. No body when nothing was sent. A
 * BSN never appears in clear: every BSN the request names is replaced by
 * its keyed hash wherever it occurs in the record; a record that would
 * still show one, or that is too long for a stderr log line, keeps only the
 * response's decisions (zorgrelay.adl.body_omitted says why). */
void zr_authz_log_write(const zr_authz_log_entry_t *e);

/* The PDP's two answers, read strictly (pdp.c; separate from the HTTP so
 * tests/fuzz/fuzz_authz_pdp.c can feed them). The evaluation answer: only
 * 200 + application/json + an object with a boolean "decision" decides;
 * *answer is the parsed object (or NULL; caller frees), *reason (reason
 * may be NULL) the user-facing reason, why the cause of an ERROR. */
zr_authz_decision_t zr_authz_answer_read(long status, const char *content_type, const char *body, size_t len,
                                         json_t **answer, char **reason, char *why, size_t whylen);
/* The discovery answer: the evaluation endpoint to use (malloc'ed; on the
 * origin of base, else base + the default path; NULL only when out of
 * memory); *cacheable when the answer may be cached. */
char *zr_authz_discovery_read(const char *base, long status, const char *content_type, const char *body, size_t len,
                              int *cacheable);
/* The same for the Access Evaluations endpoint (access_evaluations_endpoint,
 * default {pdp}/access/v1/evaluations). */
char *zr_authz_discovery_read_batch(const char *base, long status, const char *content_type, const char *body,
                                    size_t len, int *cacheable);
/* The Access Evaluations answer to count evaluations (execute_all): only
 * 200 + application/json + an `evaluations` array of exactly count objects
 * with a boolean `decision` each decides. permitted[i] is 1 for each
 * permitted evaluation (all 0 on an ERROR); PERMIT when any is permitted,
 * DENY when none (reason: the first denial's). */
zr_authz_decision_t zr_authz_answers_read(long status, const char *content_type, const char *body, size_t len,
                                          size_t count, json_t **answer, int *permitted, char **reason, char *why,
                                          size_t whylen);

#endif
