/* Private to src/dezi: the client's state, its caches, and the JOSE and
 * HTTP helpers the steps of one login share. */
#ifndef ZR_DEZI_INTERNAL_H
#define ZR_DEZI_INTERNAL_H

#include <jansson.h>
#include <pthread.h>
#include <cjose/cjose.h>
#include "zr/crypto.h"
#include "zr/dezi.h"

/* Limits on what Dezi may send us (untrusted input). */
#define ZR_DEZI_MAX_RESPONSE (256u * 1024u)
#define ZR_DEZI_CLOCK_SKEW_S 60
/* An unknown kid refetches a key set at most this often, so a stream of
 * forged kids cannot turn us into a load generator against Dezi. */
#define ZR_DEZI_REFETCH_MIN_S 10
/* Discovery is re-read at most this often. */
#define ZR_DEZI_DISCOVERY_TTL_S 3600

/* One HTTP exchange. form: POST body (application/x-www-form-urlencoded),
 * NULL for GET. */
typedef struct {
    const char *method;
    const char *url;
    const char *form;
    const char *bearer;
    const char *accept;
} zr_dezi_request_t;

typedef struct {
    long status;
    char *body;           /* NUL-terminated, malloc'ed */
    size_t len;
    char *content_type;   /* malloc'ed or NULL */
} zr_dezi_response_t;

/* Returns 0 when an HTTP answer arrived (any status), -1 on transport
 * failure. Tests replace it (zr_dezi_set_fetch_hook) to serve answers from
 * memory. */
typedef int (*zr_dezi_fetch_fn)(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req,
                                zr_dezi_response_t *resp);

/* A JWKS fetched from one URL: the RSA signing keys by kid. */
typedef struct {
    char *url;
    json_t *keys;         /* the "keys" array as fetched */
    time_t fetched_at;    /* 0: never */
} zr_dezi_keyset_t;

struct zr_dezi {
    const zr_dezi_config_t *cfg;   /* borrowed: lives as long as the zr_config_t */
    pthread_mutex_t lock;          /* guards everything below except decrypt_jwk */
    /* discovery */
    time_t discovery_at;
    char *authorization_endpoint;
    char *token_endpoint;
    char *userinfo_endpoint;
    char *jwks_uri;
    /* key sets */
    zr_dezi_keyset_t dezi_keys;
    zr_dezi_keyset_t *jku_sets;    /* one per cfg->jku_allow entry */
    /* the signed revocation list, under list_lock */
    pthread_mutex_t list_lock;
    json_t *revoked;               /* object: verklaring_id -> true */
    time_t list_refresh_at;        /* ververs_tijdstip */
    time_t list_exp;
    time_t list_nbf;
    /* read-only after zr_dezi_new */
    zr_environment_t env;          /* http, unencrypted userinfo: development only */
    cjose_jwk_t *decrypt_jwk;
    int refetch_min_s;
    zr_dezi_fetch_fn fetch;
    void *fetch_ctx;
};

/* fetch.c */
int zr_dezi_http(const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp);
void zr_dezi_response_free(zr_dezi_response_t *resp);
/* Every URL the client fetches or takes from Dezi (issuer, jku_allow,
 * discovery endpoints, status URI), judged by libcurl's own parser:
 * https; http only to a loopback host and only in development (the mock);
 * never a userinfo part (user:password@), a zone id or a fragment.
 * 0 allowed; -1 with why (optional) saying what is wrong. */
int zr_dezi_url_check(const char *url, zr_environment_t env, char *why, size_t whylen);
int zr_dezi_fetch_default(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp);

/* jose.c */
json_t *zr_dezi_json_parse(const char *text, size_t len);
/* Decodes and strictly parses the protected header of a compact JWS/JWE. */
json_t *zr_dezi_jose_header(const char *compact);
/* Number of '.' in a compact serialisation (2: JWS, 4: JWE). */
int zr_dezi_jose_dots(const char *compact, size_t len);
cjose_jwk_t *zr_dezi_cjose_jwk(json_t *jwk);
/* Verifies a compact JWS (RS256 only) with key and parses its payload
 * strictly. Returns the payload, or NULL with *why (optional) naming what
 * failed: the signature, or a payload the hardened JSON parser refused. */
json_t *zr_dezi_jws_verify(const char *compact, cjose_jwk_t *key, const char **why);
/* Signs claims (RS256 for RSA keys, ES256 for P-256). */
char *zr_dezi_jws_sign(EVP_PKEY *key, const char *kid, json_t *claims);
int zr_dezi_claim_time(json_t *claims, const char *name, time_t *out);
int zr_dezi_aud_contains(json_t *claims, const char *client_id);
/* iss equal to the issuer URL, or (as in spec §4.3.6) to its host. */
int zr_dezi_iss_matches(const char *iss, const char *issuer);

/* keys.c */
int zr_dezi_discovery_load(zr_dezi_t *d, char *err, size_t errlen);
/* Copies of the endpoints (caller frees), after discovery. */
char *zr_dezi_endpoint(zr_dezi_t *d, const char *which);
/* Finds kid in Dezi's JWKS (jku NULL) or in the allow-listed jku set. One
 * refetch for an unknown kid. Returns a new cjose key or NULL with status
 * INVALID (unknown kid, jku not allowed) or UNAVAILABLE (fetch failed). */
cjose_jwk_t *zr_dezi_key_find(zr_dezi_t *d, const char *jku, const char *kid, zr_dezi_status_t *st, char *err,
                              size_t errlen);
int zr_dezi_jku_allowed(const zr_dezi_t *d, const char *jku);

/* userinfo.c: after zr_dezi_userinfo_validate_ex; verklaring on success. */

#ifdef ZR_TESTING
void zr_dezi_set_fetch_hook(zr_dezi_t *d, zr_dezi_fetch_fn fn, void *ctx);
void zr_dezi_set_refetch_min(zr_dezi_t *d, int seconds);
#endif

#endif
