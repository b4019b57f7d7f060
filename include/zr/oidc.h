/* OpenID Provider towards portals and PGOs, NL GOV profile (src/oidc/).
 * The browser-facing /authorize is split in two halves around the SAML
 * login: zr_oidc_authorize_begin validates the request and returns what must
 * be remembered; zr_oidc_authorize_finish issues the code (or an error) once
 * the subject is known. */
#ifndef ZR_OIDC_H
#define ZR_OIDC_H

#include <stddef.h>
#include <jansson.h>
#include "zr/config.h"
#include "zr/http.h"
#include "zr/store.h"
#include "zr/subject.h"

typedef struct zr_oidc zr_oidc_t;

zr_oidc_t *zr_oidc_new(const zr_config_t *cfg, zr_store_t *store, char *err, size_t errlen);
void zr_oidc_free(zr_oidc_t *op);

/* A validated authorization request (everything needed after the login). */
typedef struct {
    char *client_id;
    char *redirect_uri;
    char *state;              /* may be NULL */
    char *nonce;              /* may be NULL */
    char *scope;
    char *code_challenge;     /* S256 */
    zr_loa_t min_loa;         /* max(client minimum, acr_values) */
    int force_authn;          /* prompt=login */
    char *care_provider;      /* the care provider (tenant id) the login is for: the
                                 client's default, or the `care_provider` parameter of
                                 a shared portal, checked against the client's list;
                                 NULL for a professional login */
    int login_method;         /* ZR_LOGIN_PATIENT or ZR_LOGIN_PROFESSIONAL; 0 when the
                                 client allows both and the request chose neither
                                 (the relay then shows the chooser) */
    char *traceparent;        /* the login's W3C trace: the portal's traceparent when the
                                 HTTP layer found it valid; otherwise NULL here and the
                                 relay starts one at /authorize (src/relay/relay.c) */
    char *sid;                /* issue 5: the relay's logout session, set by the relay
                                 before zr_oidc_authorize_finish; the ID token's `sid` */
    char *claims;             /* the `claims` parameter (OIDC Core §5.5), validated and
                                 normalised (src/oidc/claims_request.c); NULL: none */
    zr_lang_t lang;           /* the login's language, chosen at /authorize (ui_locales,
                                 else Accept-Language): every page of the login uses it */
    zr_lang_t error_lang;     /* issue 18 §2: the language of error_description, from
                                 ui_locales only (English without it, as before):
                                 a portal's logs do not change with the browser */
} zr_oidc_authz_t;

/* Preselecting the login method (issue 4): login_method=patient|professional,
 * or login_hint with the same values. */
#define ZR_OIDC_PARAM_LOGIN_METHOD "login_method"
/* min_loa by login_method (docs/claims.md): patient or 0 -> the client's
 * min_loa raised by acr_values (TVS services checked); professional ->
 * dezi.min_loa raised by acr_values (no TVS check, care_provider NULL).
 * finish holds a professional to dezi.min_loa (and to min_loa when the
 * request chose professional), never to the patient minimum. */

typedef enum {
    ZR_OIDC_AUTHZ_OK = 0,     /* proceed to the login */
    ZR_OIDC_AUTHZ_RESPONDED   /* resp holds an error page or an error redirect */
} zr_oidc_authz_result_t;

/* The authorization parameter with which a portal shared by several care
 * providers names the one this login is for (a tenant id). */
#define ZR_OIDC_PARAM_CARE_PROVIDER "care_provider"

/* Validates GET/POST /authorize (client, exact redirect_uri, response_type
 * code only, PKCE S256, scope openid, duplicate parameters, request objects
 * not supported -> request_not_supported, ...). Client errors become a page;
 * other errors a redirect with error, error_description, state and iss. */
zr_oidc_authz_result_t zr_oidc_authorize_begin(zr_oidc_t *op, const zr_http_request_t *req,
                                               zr_http_response_t *resp, zr_oidc_authz_t *out);
void zr_oidc_authz_clear(zr_oidc_authz_t *a);
char *zr_oidc_authz_to_json(const zr_oidc_authz_t *a);
int zr_oidc_authz_from_json(const char *json, zr_oidc_authz_t *out);

/* Issues a single-use code bound to the request and the subject, and writes
 * the redirect to the client into resp. Store failure -> 503 page. */
int zr_oidc_authorize_finish(zr_oidc_t *op, const zr_oidc_authz_t *authz, const zr_subject_t *subject,
                             zr_http_response_t *resp);
/* The same, and the writes extra[0..extra_count) (at most 4; the relay's
 * logout session) are stored in the code's round trip, only when a code is
 * issued. Each one's status is set (ZR_STORE_INVALID: not attempted); one
 * that fails does not stop the code. Returns 1 when the code was issued and
 * resp redirects with it, 0 when resp holds an error. */
int zr_oidc_authorize_issue(zr_oidc_t *op, const zr_oidc_authz_t *authz, const zr_subject_t *subject,
                            zr_store_write_t *extra, size_t extra_count, zr_http_response_t *resp);
/* 1 when the care provider is configured but quarantined (issue 14 §1):
 * every login for it is refused as temporarily_unavailable. */
int zr_oidc_tenant_quarantined(const zr_config_t *cfg, const char *tenant_id);
/* Redirects to the client with an OAuth error (state and iss included). */
int zr_oidc_authorize_error(zr_oidc_t *op, const zr_oidc_authz_t *authz, const char *error,
                            const char *description, zr_http_response_t *resp);

/* Issue 18 §2 (docs/pages.md, docs/claims.md): a login refused after the
 * person acted at TVS or Dezi, or by the portal's rules afterwards. Each
 * case has a stable reason (zr_reason), an OAuth error, an error_description
 * in English and Dutch (authz->error_lang) and a page. With the client's
 * error_pages: relay (the default) the person sees the relay's page in the
 * login's language with one button that posts a single-use handle to
 * /authorize/return, which sends exactly that redirect; with portal the
 * redirect goes at once. description, when not NULL, replaces the English
 * text (a PDP's own reason). */
typedef enum {
    ZR_REFUSAL_SAML_CANCELLED,
    ZR_REFUSAL_SAML_AUTHN_FAILED,
    ZR_REFUSAL_SAML_LOA_TOO_LOW,
    ZR_REFUSAL_TVS_UNREACHABLE,
    ZR_REFUSAL_TVS_UNUSABLE,
    ZR_REFUSAL_TVS_ANSWER_REFUSED,
    ZR_REFUSAL_CLIENT_REMOVED,
    ZR_REFUSAL_AUDIT_UNAVAILABLE,
    ZR_REFUSAL_DEZI_CANCELLED,
    ZR_REFUSAL_DEZI_LOA_TOO_LOW,
    ZR_REFUSAL_DEZI_REVOKED,
    ZR_REFUSAL_DEZI_UNREACHABLE,
    ZR_REFUSAL_DEZI_UNUSABLE,
    ZR_REFUSAL_DEZI_ANSWER_REFUSED,
    ZR_REFUSAL_ROLE_NOT_ALLOWED,
    ZR_REFUSAL_POLICY_DENIED,
    ZR_REFUSAL_POLICY_UNAVAILABLE,
    ZR_REFUSAL_POLICY_ERROR,
    ZR_REFUSAL_LOA_TOO_LOW,
    ZR_REFUSAL_PRO_LOA_TOO_LOW, /* the relay's own check, for a professional (Dezi's page) */
    ZR_REFUSAL_NOT_ALLOWED,
    ZR_REFUSAL_WRONG_PERSON,
    /* Starting the login (issue 18 §2): after the chooser a refusal like
     * the others; straight from /authorize (the person has not acted yet)
     * at once, with the same reason and texts. */
    ZR_REFUSAL_CHOOSER_CANCELLED,        /* "Annuleren" on the chooser: always at once */
    ZR_REFUSAL_METHOD_NOT_ALLOWED,       /* a reload took the chosen method away */
    ZR_REFUSAL_CARE_PROVIDER_NOT_ALLOWED,
    ZR_REFUSAL_CARE_PROVIDER_QUARANTINED,
    ZR_REFUSAL_LOA_NOT_OFFERED,          /* no TVS service at the care provider for the level */
    ZR_REFUSAL_TVS_METADATA_UNUSABLE,    /* TVS metadata not loaded or expired */
    ZR_REFUSAL_DEZI_NOT_CONFIGURED,
    ZR_REFUSAL_DEZI_START_UNUSABLE,      /* Dezi's discovery or PAR failed */
    ZR_REFUSAL_COUNT
} zr_oidc_refusal_t;
int zr_oidc_authorize_refuse(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal,
                             const char *description, zr_http_response_t *resp);
/* The same redirect at once, whatever error_pages says: a refusal before
 * the person acted (the portal is told, docs/pages.md) or the chooser's
 * "Annuleren". */
int zr_oidc_authorize_refuse_at_once(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal,
                                     zr_http_response_t *resp);
/* The refusal's stable reason and OAuth error (NULL for an unknown
 * refusal), and its error_description in lang (English in C, other
 * languages from templates/oauth.<lang>; malloc'ed, NULL when unknown). */
const char *zr_oidc_refusal_reason(zr_oidc_refusal_t refusal);
const char *zr_oidc_refusal_error(zr_oidc_refusal_t refusal);
char *zr_oidc_refusal_description(zr_oidc_refusal_t refusal, zr_lang_t lang);
/* POST /authorize/return: the refusal page's button (ctx is the zr_oidc_t). */
int zr_oidc_handle_authorize_return(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

/* Endpoint handlers (ctx is the zr_oidc_t). */
int zr_oidc_handle_discovery(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_oidc_handle_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_oidc_handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* The parameters of a request object's claims (RFC 9101 §6.3), after its
 * signature and JWT claims were checked (src/oidc/request_object.c): every
 * claim but iss/aud/exp/nbf/iat/jti/sub, strings (an integer as decimal),
 * client_id first and only client_id's own; no request or request_uri
 * inside. 0, or -1 with why and out empty. Public for its fuzz target. */
int zr_oidc_request_object_params(json_t *claims, const char *client_id, zr_kvlist_t *out, const char **why);
/* Pushed authorization requests (RFC 9126), POST /par. */
int zr_oidc_handle_par(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* Dynamic client registration (registration.c; RFC 7591 at POST /register,
 * RFC 7592 at GET/PUT/DELETE /register?client_id=ID). apply makes the
 * client files as they now are take effect in this process (a reload) and
 * says whether client_id is then served as `present` asks: 0, and with
 * info the client's metadata as served (malloc'ed JSON); -1 otherwise. */
typedef struct {
    int (*apply)(void *ctx, const char *client_id, int present, char **info);
    void *ctx;
} zr_oidc_registrar_t;
int zr_oidc_handle_register(zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                            const zr_oidc_registrar_t *r);
/* The client file /register writes for metadata md, with a fixed token
 * hash and time (the checks and the writer of a registration, for the fuzz
 * target): malloc'ed YAML, or NULL and *error the RFC 7591 §3.2.2 code. */
char *zr_oidc_registration_yaml(json_t *md, const char *client_id, const char *care_provider, const char **error);
/* A registered client's metadata as RFC 7592 §3 shows them (malloc'ed JSON). */
char *zr_oidc_registered_info(const zr_oidc_t *op, const zr_client_t *c);
int zr_oidc_handle_userinfo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* POST /introspect (RFC 7662): callers authenticate like at /token and must
 * have introspection: true; they learn about their own tokens only. */
int zr_oidc_handle_introspect(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

#ifdef ZR_TESTING
/* Called by the token endpoint just before a code is marked for a redemption,
 * again after, before its tokens are minted and committed, and once the
 * commit took the code, before the answer is built: lets a test replay the
 * code, freeze Redis, or hold the request (a drain) at exactly that moment.
 * Holding after the mark for longer than half of redis.timeout_ms makes the
 * commit late by design; hold after the commit instead. */
typedef enum {
    ZR_OIDC_REDEEM_BEFORE_MARK,
    ZR_OIDC_REDEEM_AFTER_MARK,
    ZR_OIDC_REDEEM_AFTER_COMMIT
} zr_oidc_redeem_stage_t;
void zr_oidc_set_redeem_hook(zr_oidc_t *op, void (*fn)(void *ctx, zr_oidc_redeem_stage_t stage), void *ctx);
#endif

/* A client removed by a reload ends at once at /token and /userinfo: the
 * relay routes both to the current configuration only. */

/* Pairwise subject (OIDC Core §8.1, docs/claims.md): base64url(HMAC-SHA256(
 * pairwise_secret, F(label) F(sector) F(id_type) F(id_value))) where F(s) is
 * the 4-byte big-endian length of s, then s, and the sector is
 * zr_client_sector(): the client's sector_identifier, else its client_id. A
 * client with legacy_sector_host gets the format of before issue 12:
 * HMAC over host "|" id_type "|" id_value. */
char *zr_oidc_pairwise_sub(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_id_t *id);

/* ---- The sector each client is served under, kept in Redis ----
 * src/oidc/sector_record.c. Every relay process records, per client_id,
 * zr_client_sector_record() under the store namespace "client-sector",
 * without expiry (ZR_STORE_TTL_NONE): a start or a reload compares its
 * configuration with it (zr_config_sector_record_changes), so a restart
 * cannot change a `sub` silently where a reload could not. */
#define ZR_OIDC_SECTOR_NS "client-sector"
/* records[i] (malloc'ed, NULL when none) for cfg->clients[i]. A record that
 * fails authentication is read as "" (unreadable: a change, fail closed);
 * ZR_STORE_UNAVAILABLE when Redis is, and then *records is NULL. */
zr_store_status_t zr_oidc_sector_records_read(zr_store_t *store, const zr_config_t *cfg, char ***records);
void zr_oidc_sector_records_free(char **records, size_t count);
/* Records every client of cfg as served under its configured sector. */
zr_store_status_t zr_oidc_sector_records_write(zr_store_t *store, const zr_config_t *cfg);

/* ---- Logout (issue 5, docs/logout.md) ---- */

/* The `sub` this client gets for subject (what its ID token says).
 * malloc'ed, NULL on error. */
char *zr_oidc_subject_sub(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_t *subject);

/* RP-Initiated Logout 1.0 §2: /logout on this relay. */
#define ZR_OIDC_LOGOUT_PATH "/logout"

/* A verified id_token_hint (RP-Initiated Logout 1.0 §2): signed by one of
 * our keys (kid and alg match), iss = our issuer, aud (or azp) a known
 * client. An expired hint is accepted (§2: the OP SHOULD accept it). */
typedef struct {
    const zr_client_t *client; /* the audience */
    char *sub;
    char *sid;                 /* NULL when the token had none */
} zr_oidc_hint_t;
int zr_oidc_id_token_hint_verify(const zr_oidc_t *op, const char *hint, zr_oidc_hint_t *out, char *err,
                                 size_t errlen);
void zr_oidc_hint_clear(zr_oidc_hint_t *h);

/* A Logout Token (Back-Channel Logout 1.0 §2.4): typ logout+jwt, iss, aud,
 * iat, exp (+2 min), jti, sub, sid, events, no nonce; signed with the key
 * of the client's id_token_alg. malloc'ed compact JWS. */
#define ZR_OIDC_BACKCHANNEL_EVENT "http://schemas.openid.net/event/backchannel-logout"
char *zr_oidc_logout_token(const zr_oidc_t *op, const zr_client_t *client, const char *sub, const char *sid);

/* POSTs logout_token to client->backchannel_logout_uri (§2.5) once: short
 * timeouts, no redirects, TLS verified. 0 when the client answered 200 or
 * 204; else -1 with a reason in err (never the token). */
int zr_oidc_backchannel_logout_send(const zr_oidc_t *op, const zr_client_t *client, const char *logout_token,
                                    char *err, size_t errlen);

#endif
