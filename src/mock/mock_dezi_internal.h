/* Internals of the mock Dezi (src/mock/dezi_*.c): the state one
 * `zorgrelay mock-dezi` process keeps, its built-in test professionals, the
 * JOSE helpers and the handlers (Koppelvlakspecificatie Dezi v0.7 ch. 4-6).
 * Reuses the mock TVS's in-memory table (mock_internal.h). */
#ifndef ZR_MOCK_DEZI_INTERNAL_H
#define ZR_MOCK_DEZI_INTERNAL_H

#include <cjose/cjose.h>
#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "mock_internal.h"
#include "zr/config.h"
#include "zr/dezi.h"
#include "zr/http.h"

/* Which claim shape a test professional's verklaring has. */
typedef enum {
    ZR_MOCK_DEZI_SHAPE_V07 = 0, /* flat claims, one role (v0.7 §5.1) */
    ZR_MOCK_DEZI_SHAPE_2024     /* relations[] of {ura, entity_name, roles[]} */
} zr_mock_dezi_shape_t;

/* A built-in test professional (dezi_people.c). All names and numbers are
 * obviously fake: "TEST" / "NIET ECHT" in every name, numbers from 9000... */
typedef struct {
    const char *label_key;      /* the button's label in the catalog (templates/lang/) */
    zr_mock_dezi_shape_t shape;
    const char *dezi_nummer;
    const char *voorletters;
    const char *voorvoegsel;     /* NULL -> JSON null */
    const char *achternaam;
    const char *abonnee_nummer;  /* URA */
    const char *abonnee_naam;
    const char *rol_code;
    const char *rol_naam;
    const char *rol_code_bron;
    const char *verklaring_id;   /* fixed, so the revocation list can name it */
    int revoked;                 /* on the list and status "ingetrokken" */
    int status_uri_old_name;     /* revocatie_controle_uri instead of status_uri */
} zr_mock_dezi_person_t;

extern const zr_mock_dezi_person_t zr_mock_dezi_people[];
extern const size_t zr_mock_dezi_people_count;
/* The person with this verklaring_id, or NULL. */
const zr_mock_dezi_person_t *zr_mock_dezi_person_by_verklaring(const char *verklaring_id);

/* Claim values the mock writes. */
#define ZR_MOCK_DEZI_LOA_HIGH "http://eidas.europa.eu/LoA/high"
/* The schema URLs the relay's client reads (include/zr/dezi.h): one truth. */
#define ZR_MOCK_DEZI_SCHEMA_VERKLARING ZR_DEZI_SCHEMA_V1_ALT
#define ZR_MOCK_DEZI_SCHEMA_VERKLARING_2024 ZR_DEZI_SCHEMA_2024
#define ZR_MOCK_DEZI_SCHEMA_USERINFO "https://www.dezi.nl/json_schemas/v1/userinfo.json"
#define ZR_MOCK_DEZI_BRON_BIG "http://www.dezi.nl/rol_code_bron/big"

/* Paths (the discovery document names the full URLs). */
#define ZR_MOCK_DEZI_PATH_DISCOVERY "/.well-known/openid-configuration"
#define ZR_MOCK_DEZI_PATH_JWKS "/jwks"
#define ZR_MOCK_DEZI_PATH_REGISTER_JWKS "/dezi/jwks.json"
#define ZR_MOCK_DEZI_PATH_AUTHORIZE "/authorize"
#define ZR_MOCK_DEZI_PATH_CHOOSE "/authorize/choose"
#define ZR_MOCK_DEZI_PATH_TOKEN "/token"
#define ZR_MOCK_DEZI_PATH_USERINFO "/userinfo"
#define ZR_MOCK_DEZI_PATH_STATUS "/status/v1/verklaring/"            /* + verklaring_id (§6.2.1) */
#define ZR_MOCK_DEZI_PATH_STATUS_OLD "/revocatie-status/v1/verklaring/" /* the v0.7 JWT example's URI */
#define ZR_MOCK_DEZI_PATH_REVOCATION_LIST "/revocatiecontrole/v1"      /* §6.3.2 */

/* Lifetimes: a code at most 60 s, the person has 15 minutes on the page;
 * access token as in the spec's example answer (§4.2.4). */
#define ZR_MOCK_DEZI_CODE_TTL_S 60
#define ZR_MOCK_DEZI_PAGE_TTL_S (15 * 60)
#define ZR_MOCK_DEZI_TOKEN_TTL_S 3600
#define ZR_MOCK_DEZI_ENVELOPE_TTL_S 300

/* A signing key as cjose holds it, with its kid (RFC 7638 thumbprint). */
typedef struct {
    cjose_jwk_t *jwk;
    char *kid;
    json_t *public_jwk;  /* for the published set */
} zr_mock_dezi_key_t;

/* An authorization in flight: the checked request, then the choice. */
typedef struct {
    char *client_id;
    char *redirect_uri;
    char *state;
    char *nonce;           /* NULL when the client sent none (optional, §4.2.1) */
    char *code_challenge;
    size_t person;         /* index into zr_mock_dezi_people, once chosen */
    time_t auth_time;
    time_t expires;        /* access token */
} zr_mock_dezi_grant_t;

void zr_mock_dezi_grant_free(void *grant);

typedef struct {
    const zr_config_t *cfg;
    const char *issuer;          /* mock_dezi.public_base_url */
    const char *client_id;       /* the one client the mock knows */
    char *redirect_uri;          /* the relay's public_base_url + /dezi/callback */
    char *token_endpoint;
    zr_mock_dezi_key_t signing;  /* id_token, userinfo envelope */
    zr_mock_dezi_key_t reg;      /* the register's seal: verklaring, revocation list */
    zr_mock_dezi_key_t recipient;/* public half of dezi.decryption_key: userinfo JWE */
    cjose_jwk_t *client_jwk;     /* public half of dezi.client_key, when set */
    char *discovery_json;
    char *jwks_json;
    char *register_jwks_json;
    char *page_csp;              /* the chooser's form posts here, redirects to the relay */
    uint8_t pairwise_key[32];
    zr_mock_table_t *pending;    /* page handle -> grant */
    zr_mock_table_t *codes;      /* code -> grant */
    zr_mock_table_t *tokens;     /* access token -> grant */
} zr_mock_dezi_t;

/* ---- JOSE (dezi_jose.c) ---- */
/* Loads pkey as a cjose key (private when priv) with a thumbprint kid. */
int zr_mock_dezi_key_load(zr_mock_dezi_key_t *k, EVP_PKEY *pkey, int priv);
void zr_mock_dezi_key_clear(zr_mock_dezi_key_t *k);
/* The relay's client key (RSA or EC P-256) as a public cjose key. */
cjose_jwk_t *zr_mock_dezi_public_jwk(EVP_PKEY *pkey);
/* {"keys": [...]} of the given keys' public halves (use=sig, alg=RS256). */
char *zr_mock_dezi_jwks(const zr_mock_dezi_key_t *const *keys, size_t count);
/* Compact JWS (RS256, typ JWT, kid, and jku when not NULL) over claims. */
char *zr_mock_dezi_sign(const zr_mock_dezi_key_t *k, const char *jku, json_t *claims);
/* Compact JWE (RSA-OAEP, A256CBC-HS512, typ/cty JWT, kid) of a nested JWT. */
char *zr_mock_dezi_encrypt(const zr_mock_dezi_key_t *k, const char *jwt);
/* Random UUID (version 4), lower case. */
char *zr_mock_dezi_uuid(void);
/* Pairwise sub: HMAC-SHA256(key, client_id "|" dezi_nummer) base64url. */
char *zr_mock_dezi_pairwise_sub(const zr_mock_dezi_t *d, const char *client_id, const char *dezi_nummer);
/* private_key_jwt (RFC 7523): header/claims well-formed, iss = sub =
 * client_id, aud names the token endpoint, exp in the future; signature
 * checked when client_jwk is set. 0 when accepted, else err says why. */
int zr_mock_dezi_client_assertion_check(const zr_mock_dezi_t *d, const char *assertion, const char *client_id,
                                        char *err, size_t errlen);

/* ---- Claims (dezi_claims.c) ---- */
char *zr_mock_dezi_id_token(const zr_mock_dezi_t *d, const zr_mock_dezi_grant_t *g, const char *access_token);
/* The userinfo answer: JWE of the signed envelope holding the verklaring. */
char *zr_mock_dezi_userinfo(const zr_mock_dezi_t *d, const zr_mock_dezi_grant_t *g);
/* The signed revocation list (§6.3.4). */
char *zr_mock_dezi_revocation_list(const zr_mock_dezi_t *d);

/* ---- Handlers ---- */
int zr_mock_dezi_handle_discovery(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_register_jwks(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_authorize(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_userinfo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_status(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_dezi_handle_revocation_list(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

#endif
