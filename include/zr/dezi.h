/* Dezi upstream: the relay as OpenID client of Dezi for healthcare
 * professionals (src/dezi/, reference/dezi.md, specs/dezi/ v0.7).
 * Walk of one login: zr_dezi_authorize_begin (URL to send the browser to)
 * -> Dezi -> our callback with code+state -> zr_dezi_finish (token, id_token,
 * userinfo JWE, envelope, verklaring via allow-listed jku, revocation). */
#ifndef ZR_DEZI_H
#define ZR_DEZI_H

#include <stddef.h>
#include <time.h>
#include "zr/config.h"

/* The professional, after every check. The care identity is the triple
 * dezi_nummer + ura + rol_code. All strings malloc'ed. */
typedef struct {
    char *dezi_nummer;
    char *voorletters;
    char *voorvoegsel;        /* may be NULL */
    char *achternaam;
    char *ura;                /* abonnee_nummer: the care organisation */
    char *organisation_name;  /* abonnee_naam */
    char *rol_code;           /* NN.SSS */
    char *rol_naam;
    char *rol_code_bron;      /* e.g. http://www.dezi.nl/rol_code_bron/big */
    char *verklaring_id;
    char *json_schema;        /* which claim shape was read (2024 or v0.7) */
    zr_loa_t loa;             /* the lower of loa_dezi and loa_authn */
    time_t verklaring_exp;
} zr_dezi_professional_t;

void zr_dezi_professional_clear(zr_dezi_professional_t *p);
/* Serialisation for the store (pending logins, codes); 0 on success. */
char *zr_dezi_professional_to_json(const zr_dezi_professional_t *p);
int zr_dezi_professional_from_json(const char *json, zr_dezi_professional_t *out);

typedef enum {
    ZR_DEZI_OK = 0,
    ZR_DEZI_DENIED,       /* Dezi answered error=access_denied etc. (user cancelled, no consent) */
    ZR_DEZI_INVALID,      /* any check failed: signature, issuer, audience, nonce, schema, jku, ... */
    ZR_DEZI_LOA_TOO_LOW,  /* loa_dezi / loa_authn below dezi.min_loa */
    ZR_DEZI_REVOKED,      /* status "ingetrokken" (or on the signed list) */
    ZR_DEZI_UNAVAILABLE   /* Dezi, its keys or its revocation services unreachable (fail closed) */
} zr_dezi_status_t;
const char *zr_dezi_status_name(zr_dezi_status_t st);

/* Long-lived and thread-safe: discovery document, Dezi's JWKS, register
 * keys per allow-listed jku, the signed revocation list; each cached and
 * refreshed (keys at most dezi.key_cache_s; an unknown kid triggers one
 * refetch, so key rotation needs no restart; the list before its
 * ververs_tijdstip). Nothing is fetched in zr_dezi_new. */
typedef struct zr_dezi zr_dezi_t;
/* env: outside development every URL must be https; production refuses
 * userinfo that is not encrypted. */
zr_dezi_t *zr_dezi_new(const zr_dezi_config_t *cfg, zr_environment_t env, char *err, size_t errlen);
void zr_dezi_free(zr_dezi_t *d);

/* W3C trace context for the Dezi calls this thread makes next (a
 * "traceparent" header on each); NULL clears it. */
void zr_dezi_set_traceparent(const char *traceparent);

/* What the relay keeps (in its store) while the professional is at Dezi. */
typedef struct {
    char *state;              /* random, 32 bytes base64url */
    char *nonce;              /* random */
    char *code_verifier;      /* PKCE, 43+ chars */
    char *url;                /* Dezi's authorization endpoint with every parameter */
} zr_dezi_authz_t;
void zr_dezi_authz_clear(zr_dezi_authz_t *a);

/* Builds the authorization request (code flow, scope openid, PKCE S256,
 * state, nonce; endpoint from discovery) for our redirect_uri. */
zr_dezi_status_t zr_dezi_authorize_begin(zr_dezi_t *d, const char *redirect_uri, zr_dezi_authz_t *out, char *err,
                                         size_t errlen);

/* Finishes at our callback: exchanges the code (PKCE verifier; public client
 * or private_key_jwt), validates the id_token (RS256, iss, aud, exp, iat,
 * nonce), fetches userinfo, and runs zr_dezi_userinfo_validate and
 * zr_dezi_revocation_check. *out filled only on ZR_DEZI_OK. err never holds
 * a token or personal data. */
zr_dezi_status_t zr_dezi_finish(zr_dezi_t *d, const char *code, const char *redirect_uri, const char *code_verifier,
                                const char *nonce, zr_dezi_professional_t *out, char *err, size_t errlen);

/* The userinfo answer (body + Content-Type): a JWE (RSA-OAEP, A256CBC-HS512)
 * decrypted with dezi.decryption_key, or outside production a plain signed
 * JWT (with a warning); the envelope signed by Dezi's own keys (its JWKS,
 * never a jku), iss, aud (our client_id), exp, and its sub equal to
 * id_token_sub, the sub of this login's id_token (OIDC Core §5.3.2); the
 * verklaring signed by a register key found by jku (allow-listed only) +
 * kid; nbf/exp; a known json_schema (2024 relations[] or v0.7 flat claims);
 * verklaring_id equal to the envelope's; LoA. */
zr_dezi_status_t zr_dezi_userinfo_validate(zr_dezi_t *d, const char *body, size_t len, const char *content_type,
                                           const char *id_token_sub, zr_dezi_professional_t *out, char *err,
                                           size_t errlen);

/* Revocation: GET the verklaring's status URI (status_uri or
 * revocatie_controle_uri; "actief" passes), falling back to the signed
 * revocation list (GET /revocatiecontrole/v1 at the issuer, cached). */
zr_dezi_status_t zr_dezi_revocation_check(zr_dezi_t *d, const zr_dezi_professional_t *p, const char *status_uri,
                                          char *err, size_t errlen);

/* Added by src/dezi: the same as zr_dezi_userinfo_validate, and hands out
 * the verklaring's status URI (status_uri or revocatie_controle_uri;
 * *status_uri NULL when it names none) for zr_dezi_revocation_check. */
zr_dezi_status_t zr_dezi_userinfo_validate_ex(zr_dezi_t *d, const char *body, size_t len, const char *content_type,
                                              const char *id_token_sub, zr_dezi_professional_t *out,
                                              char **status_uri, char *err, size_t errlen);

/* The verklaring shapes we read, selected by its json_schema (spec v0.7
 * §5.3 writes both URLs below; the 2024 shape carries relations[]). */
#define ZR_DEZI_SCHEMA_V1 "https://www.dezi.nl/json_schemas/v1/verklaring.json"
#define ZR_DEZI_SCHEMA_V1_ALT "https://www.dezi.nl/json_schemas/verklaring_v1.json"
#define ZR_DEZI_SCHEMA_2024 "https://www.dezi.nl/json_schemas/2024/verklaring.json"

#endif
