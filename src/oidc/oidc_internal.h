/* State and helpers shared by the OpenID Provider's files (src/oidc/ only).
 * A zr_oidc_t is read-only after zr_oidc_new(), so handlers on any thread
 * share it without locks; all per-login state lives in the store. */
#ifndef ZR_OIDC_INTERNAL_H
#define ZR_OIDC_INTERNAL_H

#include <cjose/cjose.h>
#include <jansson.h>
#include "zr/jwe.h"
#include "zr/oidc.h"

/* Store namespaces. */
#define ZR_OIDC_NS_CODE "code"
#define ZR_OIDC_NS_CODE_USED "code-used"     /* claimed (SET NX) before tokens are minted */
#define ZR_OIDC_NS_CODE_GRANT "code-grant"   /* {client_id, jti} of the redemption's access token */
#define ZR_OIDC_NS_CODE_CLOSED "code-closed" /* claimed by the redemption once its tokens are
                                                stored, or first by a racing replay */
#define ZR_OIDC_NS_ACCESS_TOKEN "access-token" /* keyed by the JWT access token's jti */
/* A JWT access token presented longer than this is refused unread (an
 * RS256/PS256 token with 4096-bit keys and a long scope is some 1.2 kB). */
#define ZR_OIDC_ACCESS_TOKEN_MAX 4096
#define ZR_OIDC_NS_CLIENT_ASSERTION "client-assertion"
#define ZR_OIDC_NS_PAR "par"                 /* pushed authorization requests (par.c) */
#define ZR_OIDC_NS_REQUEST_OBJECT "request-object" /* jti replay cache (request_object.c) */

/* RFC 9126 §2.2: a pushed request lives this long (seconds). */
#define ZR_OIDC_PAR_LIFETIME_S 60

/* `sub` is a pairwise pseudonym (OIDC Core §8.1), never the BSN itself, so
 * its sub_id_type says so (NL GOV §ID Tokens: the type of the identifier
 * *in `sub`*). The BSN, when a client may have it, travels in `bsn`. */
#define ZR_OIDC_SUB_ID_TYPE "urn:nl-eid-gdi:1.0:id:pseudonym"
/* A professional's pairwise sub is computed over this identifier type and
 * the Dezi number, so it never equals a patient's over the same digits. */
#define ZR_OIDC_ID_UZI_PERSON "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"
/* The first field of every pairwise `sub` input (docs/claims.md). */
#define ZR_OIDC_PAIRWISE_LABEL "zorgrelay pairwise sub v2"

#define ZR_OIDC_JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
/* A client assertion may live at most this long (exp - now). */
#define ZR_OIDC_ASSERTION_MAX_S 3600 /* Authlib and others default to exp = iat + 1 h */
#define ZR_OIDC_CLOCK_SKEW_S 30

/* One of our signing keys, ready for cjose. */
typedef struct {
    const zr_oidc_key_t *cfg;
    char *kid;                 /* configured, or the RFC 7638 thumbprint */
    cjose_jwk_t *jwk;          /* private, for signing */
    const char *alg;           /* "RS256", "ES256", "PS256" */
} zr_oidc_signer_t;

/* The public keys of a private_key_jwt client. */
typedef struct {
    const zr_client_t *client;
    cjose_jwk_t **keys;
    char **kids;               /* kid per key, may be NULL */
    size_t count;
    /* Its keys to encrypt to (issue 17 §2), for the alg of
     * userinfo_/id_token_encrypted_response_alg; NULL when not asked. */
    EVP_PKEY *userinfo_enc_key, *id_token_enc_key;
    char *userinfo_enc_kid, *id_token_enc_kid; /* may be NULL */
} zr_oidc_client_keys_t;

struct zr_oidc {
    const zr_config_t *cfg;
    zr_store_t *store;
    const char *issuer;
    char *authorization_endpoint;
    char *token_endpoint;
    char *userinfo_endpoint;
    char *jwks_uri;
    char *introspection_endpoint;
    char *end_session_endpoint;   /* issue 5: RP-Initiated Logout */
    char *par_endpoint;           /* issue 17 §1: RFC 9126 */
    char *registration_endpoint;  /* issue 17 §4: RFC 7591 (NULL without oidc.registration_dir) */
    zr_oidc_signer_t *signers;
    size_t signer_count;
    zr_oidc_client_keys_t *client_keys;
    size_t client_keys_count;
    zr_oidc_client_keys_t **client_keys_by_client; /* parallel to cfg->clients, NULL when none */
    char *jwks_json;           /* published JWK Set */
    char *discovery_json;
#ifdef ZR_TESTING
    void (*redeem_hook)(void *ctx, zr_oidc_redeem_stage_t stage); /* token.c: around the mark */
    void *redeem_hook_ctx;
#endif
};

#ifdef ZR_TESTING
/* token.c: the redeem hook of a test relay binary (ZR_TEST_REDEEM_STOP_FILE,
 * ctx its path): a file "mark PID" or "commit PID" makes the first /token to
 * reach that stage remove it and stop PID (SIGSTOP: a frozen Redis). */
void zr_oidc_redeem_stop_hook(void *ctx, zr_oidc_redeem_stage_t stage);
#endif

/* provider.c */
const zr_client_t *zr_oidc_find_client(const zr_oidc_t *op, const char *client_id);
const char *zr_oidc_alg_name(zr_sigalg_t alg);
/* CORS (no wildcard): echoes Origin when client lists it (client NULL: any
 * client), always sets Vary: Origin. */
void zr_oidc_cors(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                  const zr_client_t *client);
/* OPTIONS preflight: 204 with the CORS headers. */
int zr_oidc_cors_preflight(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                           const char *methods);
/* Checked jansson setters (0 or -1; value released on failure): _str needs
 * a value, _opt skips a NULL one. A string that is not UTF-8 is -1. */
int zr_oidc_json_set(json_t *o, const char *key, json_t *value);
int zr_oidc_json_set_str(json_t *o, const char *key, const char *value);
int zr_oidc_json_set_opt(json_t *o, const char *key, const char *value);
/* {error, error_description} with no-store headers. */
int zr_oidc_json_error(zr_http_response_t *resp, int status, const char *error, const char *description);
/* Serialises o (compact) as a 200 JSON response with no-store headers. */
int zr_oidc_json_nostore(zr_http_response_t *resp, json_t *o);
/* Frees a string after wiping it (codes, tokens, subject JSON). */
void zr_oidc_wipe_free(char *s);
/* A short random reference for a page and the log line that explains it. */
void zr_oidc_reference(char out[16]);

/* jwks.c */
/* Cache-Control of discovery and /jwks: public, max-age=oidc.metadata_max_age
 * (NL GOV §Caching). */
void zr_oidc_set_metadata_cache(const zr_oidc_t *op, zr_http_response_t *resp);
/* Builds the JWK of key (private parts too when priv). NULL on error. */
int zr_oidc_jwks_build(zr_oidc_t *op, char *err, size_t errlen);
int zr_oidc_client_keys_load(zr_oidc_t *op, char *err, size_t errlen);
void zr_oidc_client_keys_free(zr_oidc_t *op);
const zr_oidc_client_keys_t *zr_oidc_client_keys(const zr_oidc_t *op, const zr_client_t *client);

/* client_auth.c */
typedef struct {
    const zr_client_t *client; /* authenticated client, or NULL */
    int status;                /* HTTP status when client is NULL */
    const char *error;         /* OAuth error code when client is NULL */
    const char *description;
    int basic;                 /* HTTP Basic was used (401 + WWW-Authenticate) */
    int certificate;           /* tls_client_auth: req->client_cert authenticated the client */
} zr_oidc_client_auth_result_t;

void zr_oidc_client_authenticate(zr_oidc_t *op, const zr_http_request_t *req,
                                 zr_oidc_client_auth_result_t *out);
/* 1 when cert carries c's registered tls_client_auth subject (RFC 8705
 * §2.1.2: subject DN, or a SAN entry of the registered type). */
int zr_oidc_client_cert_matches(const zr_client_t *c, X509 *cert);
/* jws verifies with one of c's registered keys (only the key named kid when
 * kid is given: no key confusion). */
int zr_oidc_client_jws_verify(const zr_oidc_t *op, const zr_client_t *c, cjose_jws_t *jws, const char *kid);

/* jwks.c */
/* claims (a signed JWT when typ_jwt, else JSON) encrypted to client c's key
 * for UserInfo or the ID token (issue 17 §2). malloc'ed compact JWE or NULL. */
char *zr_oidc_encrypt_for_client(const zr_oidc_t *op, const zr_client_t *c, int id_token, const char *plain,
                                 int nested_jwt);

/* request_object.c */
/* A signed request object of client c (RFC 9101) verified and read into
 * out (its parameters, client_id first). -1 with why (for the client and
 * the caller's log line) and the HTTP status (400, 503). */
int zr_oidc_request_object_read(zr_oidc_t *op, const zr_client_t *c, const char *jwt, zr_kvlist_t *out,
                                const char **why, int *status);

/* authorize.c */
/* The checks /authorize makes, on a pushed request's parameters p (client_id
 * the authenticated client's; signed_object: they came from a verified
 * request object). 0, or -1 with the OAuth error. */
int zr_oidc_authorize_check(zr_oidc_t *op, const zr_kvlist_t *p, int signed_object, const char **error,
                            const char **description);

/* par.c */
/* The pushed parameters named by query's request_uri (and client_id), taken
 * from the store (single use) into out. -1 (logged with ref) when the
 * request_uri is not ours, unknown, used, expired or another client's. */
int zr_oidc_par_take(zr_oidc_t *op, const zr_kvlist_t *query, zr_kvlist_t *out, int *signed_object, char ref[16]);

/* idtoken.c */
/* Adds sub and sub_id_type; for a patient bsn/represents (bsn only for an
 * entitled client), for a professional the Dezi claims (docs/claims.md). */
int zr_oidc_subject_claims(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_t *subject,
                           json_t *claims);
/* Signed compact ID token (malloc'ed) or NULL. */
char *zr_oidc_id_token(const zr_oidc_t *op, const zr_client_t *client, const zr_oidc_authz_t *authz,
                       const zr_subject_t *subject);
const zr_oidc_signer_t *zr_oidc_signer_for(const zr_oidc_t *op, zr_sigalg_t alg);

/* claims_request.c: the `claims` parameter (OIDC Core §5.5). */
typedef struct {
    char *json;       /* normalised request, kept with the login (zr_oidc_authz_t.claims) */
    char *acr_values; /* id_token acr value/values, space-separated, or NULL */
    int acr_essential;
    char *sub;        /* id_token sub value: only this person may log in, or NULL */
} zr_oidc_claims_request_t;
/* 0, or -1 with *why a description for the client (invalid_request). */
int zr_oidc_claims_request_parse(const char *text, zr_oidc_claims_request_t *out, const char **why);
void zr_oidc_claims_request_clear(zr_oidc_claims_request_t *r);
/* Keeps in claims only sub, sub_id_type and what request (normalised JSON,
 * NULL: no filter) asks for under target ("id_token", "userinfo"). */
int zr_oidc_claims_request_filter(const char *request, const char *target, json_t *claims);
/* access_token.c */
/* claims signed as a compact JWS with header typ (malloc'ed) or NULL. */
char *zr_oidc_jws_sign(const zr_oidc_signer_t *signer, const char *typ, json_t *claims);
/* The RFC 9068 access token for this login (malloc'ed), signed with the
 * client's id_token_alg key; *jti_out (malloc'ed) names its store record.
 * x5t (RFC 8705 §3.1, or NULL) binds it to a client certificate: cnf. */
char *zr_oidc_access_token(const zr_oidc_t *op, const zr_client_t *client, const zr_oidc_authz_t *authz,
                           const zr_subject_t *subject, time_t iat, int lifetime, const char *x5t,
                           char **jti_out);
/* RFC 8705 §3: the access token record's cnf is {"x5t#S256": ...}; 1 when
 * record is not bound, or bound to cert; 0 otherwise (cert NULL: none). */
int zr_oidc_access_token_cert_ok(json_t *record, X509 *cert);
/* Its claims when token is one of ours: our key by kid and alg, typ
 * at+jwt, our iss, a jti and a client_id, exp not passed. Else NULL. */
json_t *zr_oidc_access_token_verify(const zr_oidc_t *op, const char *token);
/* The store record of a valid access token (*record, OK), NOT_FOUND for
 * a token that is not valid, revoked or expired, or the store's error. */
zr_store_status_t zr_oidc_access_token_record(const zr_oidc_t *op, const char *token, json_t **record);

/* Start-up check (issue 18 §2): templates/oauth.<lang> has an RFC 6749
 * safe error_description for every refusal, so a missing text is found
 * when the relay starts, not by a portal. 0, or -1 with err. */
int zr_oidc_texts_check(char *err, size_t errlen);

#endif
