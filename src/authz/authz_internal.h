/* Private to src/authz. */
#ifndef ZR_AUTHZ_INTERNAL_H
#define ZR_AUTHZ_INTERNAL_H

#include "zr/authz.h"

/* zr_authz_log_record with the reason of an error (attributes.error; never
 * personal data: the PDP client writes only status codes and transport
 * errors there). error NULL when there is none. */
void zr_authz_log_record_err(const zr_trace_t *trace, const char *pdp, json_t *request, json_t *response,
                             zr_authz_decision_t decision, const char *error);

#endif
