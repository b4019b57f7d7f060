/* Shared by the files of src/diag/ only. */
#ifndef ZR_DIAG_INTERNAL_H
#define ZR_DIAG_INTERNAL_H

#include "zr/http.h"

/* Where the links to a trace id live (store namespaces). */
#define ZR_DIAG_NS_STATE "diag-state"   /* client_id "|" state of the authorization request */

/* The name under which (client_id, state) leads to a trace. malloc'ed. */
char *zr_diag_state_key(const char *client_id, const char *state);
/* client_secret_basic (RFC 6749 §2.3.1): the client_id (malloc'ed) and,
 * when secret is not NULL, the secret; NULL when there is no Basic header. */
char *zr_diag_basic_auth(const zr_http_request_t *req, char **secret);

#endif
