/* Shared by the files of src/preprod/ only. */
#ifndef ZR_PREPROD_INTERNAL_H
#define ZR_PREPROD_INTERNAL_H

#include <pthread.h>
#include <jansson.h>
#include "zr/config.h"
#include "zr/preprod.h"

/* PATH.tmp (0600), fsync, rename over PATH. 0 on success. */
int zr_preprod_write_atomic(const char *path, const char *text, char *err, size_t errlen);

/* report.c: DIR/traces/<scenario>.json (the trace as the relay exported
 * it, masked there), .txt (readable) and <scenario>/NN-<kind>.xml (each
 * message). 0 on success. */
int zr_preprod_traces_write(const zr_preprod_run_t *run, const char *dir, char *err, size_t errlen);

/* reason.c: a number of seconds as people say it, exactly ("2 minuten",
 * "1 minuut en 30 seconden", "5 seconds"). Malloc'ed. */
char *zr_preprod_duration_text(int seconds, zr_lang_t lang);

/* ---- rp.c: the test client's OpenID Connect side (libcurl + cjose) ---- */

typedef struct {
    char issuer[256];
    char relay_base[256];           /* the relay's public_base_url (trace endpoints) */
    char authorization_endpoint[512];
    char token_endpoint[512];
    char jwks_uri[512];
    char end_session_endpoint[512]; /* "" when discovery has none */
    char client_id[128];
    char *client_secret;
    char redirect_uri[300];
    char post_logout_redirect_uri[300];
    char ca_file[1024];
    int discovered;
    pthread_mutex_t lock;           /* discovery and the JWKS */
    json_t *jwks;
} zr_preprod_rp_t;

int zr_preprod_rp_init(zr_preprod_rp_t *rp, const zr_config_t *cfg, char *err, size_t errlen);
void zr_preprod_rp_cleanup(zr_preprod_rp_t *rp);
/* Fetches discovery (once successfully). 0 on success. */
int zr_preprod_rp_discover(zr_preprod_rp_t *rp, char *err, size_t errlen);
/* A new attempt: fresh state, nonce and PKCE verifier into sc. 0 on success. */
int zr_preprod_rp_new_attempt(zr_preprod_scenario_t *sc);
/* The authorization URL (malloc'ed) of sc's attempt, asking for sc->loa
 * (acr_values) and care_provider. */
char *zr_preprod_rp_authorize_url(zr_preprod_rp_t *rp, const zr_preprod_scenario_t *sc, const char *care_provider);
/* How long to wait before token request attempt + 1 after an answer with
 * HTTP status and OAuth error, or -1: no retry. Only a 503
 * temporarily_unavailable (the relay's store missed its deadline; the code
 * stays redeemable) is retried, a few times, the pause doubling. */
long zr_preprod_rp_retry_pause_ms(long status, const char *error, int attempt);
/* Redeems code (PKCE verifier, client_secret_basic) and checks the ID
 * token (signature against the relay's JWKS, iss, aud, exp, nonce).
 * *claims and *id_token on success (malloc'ed / owned). 0 on success;
 * otherwise err holds the OAuth error or the failed check. A 503
 * temporarily_unavailable is retried a few times; *tries (may be NULL)
 * says how many token requests it took. */
int zr_preprod_rp_redeem(zr_preprod_rp_t *rp, const char *code, const char *verifier, const char *nonce,
                         json_t **claims, char **id_token, int *tries, char *err, size_t errlen);
/* The trace of the login started with state (POST /trace/lookup, then
 * GET /trace.json). *trace_id (ZR_DIAG_ID_LEN + 1 bytes) and the trace. */
json_t *zr_preprod_rp_trace(zr_preprod_rp_t *rp, const char *state, char *trace_id);
/* The trace with this id (GET /trace.json), or NULL. */
json_t *zr_preprod_rp_trace_get(zr_preprod_rp_t *rp, const char *trace_id);
/* RP-Initiated Logout 1.0 §2: end_session_endpoint with id_token_hint,
 * post_logout_redirect_uri and state. malloc'ed; NULL without the endpoint. */
char *zr_preprod_rp_logout_url(zr_preprod_rp_t *rp, const char *id_token, const char *state);

#endif
