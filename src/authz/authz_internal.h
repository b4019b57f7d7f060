/* Private to src/authz. */
#ifndef ZR_AUTHZ_INTERNAL_H
#define ZR_AUTHZ_INTERNAL_H

#include "zr/authz.h"

/* zr_authz_log_record with the reason of an error (attributes.error; never
 * personal data: the PDP client writes only status codes and transport
 * errors there). error NULL when there is none. */
void zr_authz_log_record_err(const zr_trace_t *trace, const char *pdp, json_t *request, json_t *response,
                             zr_authz_decision_t decision, const char *error);

/* The same with the client named (taken from request.resource.id when
 * client is NULL) and what the relay did (attributes.outcome, one of
 * ZR_AUTHZ_OUTCOME_*; NULL leaves it out). request and response may be
 * NULL: a record for a login the PDP was never asked about. */
void zr_authz_log_write(const zr_trace_t *trace, const char *pdp, const char *client, json_t *request,
                        json_t *response, zr_authz_decision_t decision, const char *error, const char *outcome);

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
