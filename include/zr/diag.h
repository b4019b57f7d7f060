/* Per-login trace of the SAML and OIDC messages, for diagnosis in
 * development and pre-production (issue 5 §4, src/diag/, docs/preprod.md).
 *
 * With `trace: {enabled: true}` every login gets a trace: a list of
 * timestamped events (patients: the authorization request, the AuthnRequest,
 * the artifact, ArtifactResolve, ArtifactResponse, the validation result,
 * what the browser was sent, the token exchange; professionals: the
 * authorization request, the one to Dezi, Dezi's callback, the outcome of
 * the Dezi checks, what the browser was sent, the token exchange), masked
 * before they are stored:
 * BSNs (any run of exactly nine digits) become ******123; SignatureValue,
 * CipherValue, X509Certificate, DigestValue and the artifact are shortened to
 * first/last 8 characters + length; codes, tokens, state, nonce and cookies
 * appear only as short SHA-256 hashes. Traces live in the store (sealed
 * values, hashed keys) for trace.lifetime_s.
 *
 * A trace is read with its 128-bit random id (32 hex characters), which is
 * never logged in full: GET /trace?id=ID (page), GET /trace.json?id=ID
 * (export). The id travels in the query because the access log writes paths
 * only. The client a login was for learns the id with POST /trace/lookup
 * (client_secret_basic, form `state` = the state of its authorization
 * request): only the portal that started a login can find its trace.
 *
 * Every recording function is a no-op when tracing is off (or in
 * production) and never changes what the login does: a failure to record is
 * logged and ignored. */
#ifndef ZR_DIAG_H
#define ZR_DIAG_H

#include <stddef.h>
#include <jansson.h>
#include "zr/config.h"
#include "zr/dezi.h"
#include "zr/http.h"
#include "zr/oidc.h"
#include "zr/saml.h"
#include "zr/store.h"
#include "zr/subject.h"

#define ZR_DIAG_ID_LEN 32 /* hex characters of a trace id (128 bits) */

/* 1 when traces are recorded: trace.enabled and not production. */
int zr_diag_enabled(const zr_config_t *cfg);

/* ---- masking (mask.c): pure functions, malloc'ed results ---- */

/* "******123" for a BSN (or any value: all but the last three characters
 * hidden). NULL for NULL. */
char *zr_diag_mask_bsn(const char *bsn);
/* "first8…last8 (N chars)"; values of at most 24 characters become
 * "… (N chars)" so that nothing short is revealed. */
char *zr_diag_shorten(const char *value);
/* "k:" + the first 16 hex of the keyed log pseudonym (zr_log_pseudonym):
 * the same value is recognisable across events and log lines, and a
 * guessable one (a portal's state, a nonce) cannot be found by trying
 * (codes, tokens, state, nonce). "k:?" without a key. */
char *zr_diag_hash(const char *value);
/* Every run of exactly nine digits masked like a BSN. */
char *zr_diag_mask_text(const char *text);
/* An XML message, indented, with every text and attribute value masked
 * (zr_diag_mask_text), and the contents of SignatureValue, CipherValue,
 * X509Certificate, DigestValue and Artifact shortened. Input that does not
 * parse comes back as zr_diag_mask_text of it. */
char *zr_diag_mask_xml(const char *xml, size_t len);

/* ---- the trace (trace.c) ---- */

/* Starts a trace: *id_out is a fresh id (ZR_DIAG_ID_LEN + 1 bytes). 0 on success. */
int zr_diag_trace_new(zr_store_t *store, const zr_config_t *cfg, const char *client_id, char *id_out);
/* Appends an event {kind, at, ms, data} (data is taken over, masked already).
 * 0 on success. */
int zr_diag_trace_add(zr_store_t *store, const zr_config_t *cfg, const char *id, const char *kind, json_t *data);
/* The whole trace as JSON text (malloc'ed), or NULL when unknown/expired. */
char *zr_diag_trace_export(zr_store_t *store, const char *id);
/* Remembers `key` (a relay state, code, id token: hashed by the store) in
 * namespace ns as leading to trace `id`; and finds it again. */
int zr_diag_link(zr_store_t *store, const zr_config_t *cfg, const char *ns, const char *key, const char *id);
int zr_diag_find(zr_store_t *store, const char *ns, const char *key, char *id_out);

/* ---- recording hooks (hooks.c), each called once from src/relay ---- */

/* /authorize, after the AuthnRequest went out: starts the trace, records the
 * authorization request (minus secrets; as validated in authz when the
 * relay's chooser came in between) and the AuthnRequest. */
void zr_diag_authorize(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                       const zr_oidc_authz_t *authz, const char *relay_state, const char *authn_request_xml);
/* /saml/acs on arrival: the artifact (shortened). Also records a second
 * arrival of the same login's artifact (a replay). */
void zr_diag_acs_begin(zr_store_t *store, const zr_config_t *cfg, const char *relay_state, const char *samlart);
/* /saml/acs after validation: the ArtifactResolve this thread sent (bc),
 * the ArtifactResponse, and the result (status, LoA, subject types, message
 * IDs, SAML status codes). */
void zr_diag_acs_result(zr_store_t *store, const zr_config_t *cfg, const char *relay_state,
                        zr_saml_backchannel_t *bc, const char *soap, size_t soap_len, zr_saml_status_t status,
                        const char *err, const zr_subject_t *subject);
/* /saml/acs when answering: what the browser was sent (redirect with a code
 * or an OAuth error, or an error page). */
void zr_diag_acs_end(zr_store_t *store, const zr_config_t *cfg, const char *relay_state,
                     const zr_http_response_t *resp);
/* /token after answering: the exchange, codes and tokens as hashes only;
 * the ID token's claims with BSNs masked. */
void zr_diag_token(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                   const zr_http_response_t *resp);
/* Logout (issue 5 §5): `what` ("end_session", "LogoutRequest",
 * "LogoutResponse", ...) and the message (may be NULL), recorded in the
 * trace of the login whose ID token is id_token_hint. When relay_state is
 * given too, it is linked to that trace, so that the LogoutResponse, which
 * comes back with the RelayState only, is found with id_token_hint NULL. */
void zr_diag_logout(zr_store_t *store, const zr_config_t *cfg, const char *id_token_hint, const char *relay_state,
                    const char *what, const char *xml);

/* ---- professional logins (Dezi), each called once from
 * src/relay/professional.c; the token exchange is zr_diag_token as for
 * patients. Never recorded: the Dezi number in clear (masked like a BSN),
 * names, codes and tokens (hashes only). ---- */

/* Before the redirect to Dezi: starts the trace, records the portal's
 * authorization request (from authz, because after the relay's chooser
 * the request is the chooser's POST) and the authorization request to Dezi
 * (dezi_url with state, nonce and code_challenge hashed). The trace is
 * found again by dezi_state, and by the portal's state (/trace/lookup). */
void zr_diag_dezi_authorize(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                            const zr_oidc_authz_t *authz, const char *dezi_state, const char *dezi_url);
/* /dezi/callback on arrival: state and code as hashes, Dezi's error. */
void zr_diag_dezi_callback(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req);
/* After zr_dezi_finish: the outcome of Dezi's checks (status, reason, LoA,
 * role code, verklaring_id shortened, revocation result, the Dezi number
 * masked). status_name: zr_dezi_status_name(status). */
void zr_diag_dezi_result(zr_store_t *store, const zr_config_t *cfg, const char *dezi_state, zr_dezi_status_t status,
                         const char *status_name, const char *err, const zr_dezi_professional_t *pro);
/* /dezi/callback when answering: what the browser was sent (the code to
 * the portal, linked for zr_diag_token; an OAuth error; or a page). */
void zr_diag_dezi_end(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                      const zr_http_response_t *resp);

/* ---- endpoints (page.c) ---- */

/* GET /trace, GET /trace.json, POST /trace/lookup (dispatch on req->path).
 * 404 for everything while tracing is off. */
int zr_diag_handle(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                   zr_http_response_t *resp);

#endif
