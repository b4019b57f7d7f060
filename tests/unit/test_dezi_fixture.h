/* Shared by test_dezi_*.c: RSA keys made in the test, a fake Dezi served
 * from memory through the fetch hook, and builders for real signed and
 * encrypted tokens (id_token, envelope, verklaring, revocation list). */
#ifndef TEST_DEZI_FIXTURE_H
#define TEST_DEZI_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/dezi/dezi_internal.h"
#include "test_keys.h"
#include "zr/util.h"

#define ISS "https://auth.dezi.test"
#define CLIENT_ID "relay-client"
#define JKU ISS "/dezi/jwks.json"
#define JWKS_URI ISS "/jwks"
#define STATUS_URI ISS "/status/v1/verklaring/8539f75d-634c-47db-bb41-28791dfd1f8d"
#define LIST_URL ISS "/revocatiecontrole/v1"
#define VID "8539f75d-634c-47db-bb41-28791dfd1f8d"
/* The pairwise sub of this login's id_token; the envelope names it too. */
#define SUB "uvSx14XfF3EBMetffwiO"

typedef struct {
    char url[256];
    long status;       /* 0: transport failure */
    char ct[64];
    char *body;
    int hits;
    char *last_form;   /* POST body of the last hit */
    char *last_bearer;
} route_t;

typedef struct {
    EVP_PKEY *dezi, *reg, *enc, *evil, *client;
    zr_dezi_config_t cfg;
    zr_environment_t env;
    char *jku_allow[1];
    zr_dezi_t *d;
    route_t routes[16];
    size_t nroutes;
} fx_t;

static fx_t *FX;
static EVP_PKEY *K_DEZI, *K_REG, *K_ENC, *K_EVIL, *K_CLIENT;

static inline route_t *fx_route(fx_t *fx, const char *url)
{
    for (size_t i = 0; i < fx->nroutes; i++)
        if (!strcmp(fx->routes[i].url, url))
            return &fx->routes[i];
    assert_true(fx->nroutes < 16);
    route_t *r = &fx->routes[fx->nroutes++];
    memset(r, 0, sizeof(*r));
    snprintf(r->url, sizeof(r->url), "%s", url);
    return r;
}

/* Serves body (taken over) at url; status 0 makes the fetch fail. */
static inline void fx_serve(fx_t *fx, const char *url, long status, const char *ct, char *body)
{
    route_t *r = fx_route(fx, url);
    free(r->body);
    r->body = body;
    r->status = status;
    snprintf(r->ct, sizeof(r->ct), "%s", ct ? ct : "");
}

static inline int fx_hits(fx_t *fx, const char *url) { return fx_route(fx, url)->hits; }

static inline int fx_fetch(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    fx_t *fx = ctx;
    (void)d;
    for (size_t i = 0; i < fx->nroutes; i++) {
        route_t *r = &fx->routes[i];
        if (strcmp(r->url, req->url) != 0)
            continue;
        r->hits++;
        free(r->last_form);
        r->last_form = req->form ? strdup(req->form) : NULL;
        free(r->last_bearer);
        r->last_bearer = req->bearer ? strdup(req->bearer) : NULL;
        if (!r->status || !r->body)
            return -1;
        resp->status = r->status;
        resp->body = strdup(r->body);
        resp->len = strlen(r->body);
        resp->content_type = r->ct[0] ? strdup(r->ct) : NULL;
        return 0;
    }
    return -1;
}

static inline char *dumps(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    assert_non_null(s);
    return s;
}

/* {"keys":[...]} with the public halves of the given keys. */
static inline char *jwks_of(EVP_PKEY *k1, const char *kid1, EVP_PKEY *k2, const char *kid2)
{
    json_t *set = json_object(), *keys = json_array();
    EVP_PKEY *ks[2] = {k1, k2};
    const char *kids[2] = {kid1, kid2};
    char *out;
    for (int i = 0; i < 2; i++) {
        if (!ks[i])
            continue;
        json_t *j = zr_crypto_jwk_from_pkey(ks[i], 0);
        assert_non_null(j);
        json_object_set_new(j, "kid", json_string(kids[i]));
        json_object_set_new(j, "use", json_string("sig"));
        json_object_set_new(j, "alg", json_string("RS256"));
        json_array_append_new(keys, j);
    }
    json_object_set_new(set, "keys", keys);
    out = dumps(set);
    json_decref(set);
    return out;
}

/* A JWS over claims (taken over) with header {alg, kid, jku?, typ}. */
static inline char *sign_jws(EVP_PKEY *key, const char *alg, const char *kid, const char *jku, json_t *claims)
{
    cjose_err cerr;
    json_t *hdr = json_object(), *jwk = zr_crypto_jwk_from_pkey(key, 1);
    cjose_jwk_t *ck = zr_dezi_cjose_jwk(jwk);
    cjose_jws_t *jws;
    const char *compact = NULL;
    char *payload = dumps(claims), *out;
    assert_non_null(ck);
    json_object_set_new(hdr, "alg", json_string(alg));
    if (kid)
        json_object_set_new(hdr, "kid", json_string(kid));
    if (jku)
        json_object_set_new(hdr, "jku", json_string(jku));
    json_object_set_new(hdr, "typ", json_string("JWT"));
    jws = cjose_jws_sign(ck, (cjose_header_t *)hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    assert_non_null(jws);
    assert_true(cjose_jws_export(jws, &compact, &cerr));
    out = strdup(compact);
    cjose_jws_release(jws);
    cjose_jwk_release(ck);
    json_decref(jwk);
    json_decref(hdr);
    json_decref(claims);
    free(payload);
    return out;
}

static inline char *encrypt_jwe(EVP_PKEY *to, const char *alg, const char *enc, const char *plain)
{
    cjose_err cerr;
    json_t *hdr = json_object(), *jwk = zr_crypto_jwk_from_pkey(to, 0);
    cjose_jwk_t *ck = zr_dezi_cjose_jwk(jwk);
    cjose_jwe_t *jwe;
    char *out;
    json_object_set_new(hdr, "alg", json_string(alg));
    json_object_set_new(hdr, "enc", json_string(enc));
    json_object_set_new(hdr, "typ", json_string("JWT"));
    json_object_set_new(hdr, "cty", json_string("JWT"));
    jwe = cjose_jwe_encrypt(ck, (cjose_header_t *)hdr, (const uint8_t *)plain, strlen(plain), &cerr);
    assert_non_null(jwe);
    out = cjose_jwe_export(jwe, &cerr);
    assert_non_null(out);
    cjose_jwe_release(jwe);
    cjose_jwk_release(ck);
    json_decref(jwk);
    json_decref(hdr);
    return out;
}

/* The v0.7 verklaring of spec §5.3.1, valid now. */
static inline json_t *verklaring_v1(void)
{
    time_t now = zr_time_now();
    return json_pack("{s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:n, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "jti",
                     "61b1fafc-4ec7-4489-a280-8d0a50a3d5a9", "iss", "abonnee.dezi.nl", "exp", (json_int_t)now + 3600,
                     "nbf", (json_int_t)now - 60, "json_schema", ZR_DEZI_SCHEMA_V1, "loa_dezi",
                     "http://eidas.europe.eu/LoA/high", "verklaring_id", VID, "dezi_nummer", "123456789",
                     "voorletters", "A.B.", "voorvoegsel", "achternaam", "Zorgmedewerker", "abonnee_nummer",
                     "87654321", "abonnee_naam", "Zorgaanbieder", "rol_code", "01.015", "rol_naam", "Huisarts",
                     "rol_code_bron", "http://www.dezi.nl/rol_code_bron/big", "status_uri", STATUS_URI);
}

static inline json_t *envelope(void)
{
    time_t now = zr_time_now();
    return json_pack("{s:s, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "jti", "f459a82a-b754-4e66-a09d-f49e32b09287",
                     "iat", (json_int_t)now, "exp", (json_int_t)now + 300, "iss", "auth.dezi.test", "aud", CLIENT_ID,
                     "sub", SUB, "loa_authn", "http://eidas.europa.eu/LoA/high", "json_schema",
                     "https://www.dezi.nl/json_schemas/v1/userinfo.json", "verklaring_id", VID);
}

/* What one userinfo answer is built from; tests change parts of it. */
typedef struct {
    json_t *ver;          /* verklaring claims */
    EVP_PKEY *ver_key;
    const char *ver_kid;
    const char *jku;
    json_t *env;          /* envelope claims (verklaring added) */
    EVP_PKEY *env_key;
    const char *env_kid;
    const char *env_jku;  /* a jku on the envelope (refused) */
    int plain;            /* no JWE */
    const char *jwe_alg, *jwe_enc;
} ui_t;

static inline void ui_default(ui_t *u)
{
    memset(u, 0, sizeof(*u));
    u->ver = verklaring_v1();
    u->ver_key = K_REG;
    u->ver_kid = "reg-1";
    u->jku = JKU;
    u->env = envelope();
    u->env_key = K_DEZI;
    u->env_kid = "dezi-1";
    u->jwe_alg = "RSA-OAEP";
    u->jwe_enc = "A256CBC-HS512";
}

static inline char *ui_build(ui_t *u)
{
    char *ver = sign_jws(u->ver_key, "RS256", u->ver_kid, u->jku, u->ver), *env, *out;
    json_object_set_new(u->env, "verklaring", json_string(ver));
    free(ver);
    env = sign_jws(u->env_key, "RS256", u->env_kid, u->env_jku, u->env);
    u->ver = u->env = NULL;
    if (u->plain)
        return env;
    out = encrypt_jwe(K_ENC, u->jwe_alg, u->jwe_enc, env);
    free(env);
    return out;
}

static inline zr_dezi_status_t ui_validate(ui_t *u, zr_dezi_professional_t *p, char **suri, char *err, size_t errlen)
{
    char *body = ui_build(u);
    zr_dezi_status_t st = zr_dezi_userinfo_validate_ex(FX->d, body, strlen(body), "application/jwt", SUB, p, suri,
                                                       err, errlen);
    free(body);
    return st;
}

static inline char *discovery_doc(void)
{
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "issuer", ISS, "authorization_endpoint", ISS "/authorize",
                          "token_endpoint", ISS "/token", "userinfo_endpoint", ISS "/userinfo", "jwks_uri", JWKS_URI);
    char *s = dumps(j);
    json_decref(j);
    return s;
}

/* A signed revocation list (§6.3.4: times as strings of digits). */
static inline char *revocation_list(const char *revoked_id, long refresh_in)
{
    time_t now = zr_time_now();
    char exp[32], nbf[32], ref[32];
    snprintf(exp, sizeof(exp), "%lld", (long long)now + 86400);
    snprintf(nbf, sizeof(nbf), "%lld", (long long)now - 10);
    snprintf(ref, sizeof(ref), "%lld", (long long)now + refresh_in);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}]}", "jti", "0fd64a21", "iss", ISS, "exp", exp,
                          "nbf", nbf, "ververs_tijdstip", ref, "revocaties", "verklaringId",
                          revoked_id ? revoked_id : "05a266b3-719e-4390-9080-b48e74fe1f60", "revocatieTijdstip",
                          "2025-12-22T14:54:20+01:00");
    return sign_jws(K_REG, "RS256", "reg-1", JKU, c);
}

static inline int fx_group_setup(void **state)
{
    (void)state;
    K_DEZI = zr_test_rsa_key();
    K_REG = zr_test_rsa_key();
    K_ENC = zr_test_rsa_key();
    K_EVIL = zr_test_rsa_key();
    K_CLIENT = zr_test_rsa_key();
    return K_DEZI && K_REG && K_ENC && K_EVIL && K_CLIENT ? 0 : -1;
}

static inline int fx_group_teardown(void **state)
{
    (void)state;
    EVP_PKEY_free(K_DEZI);
    EVP_PKEY_free(K_REG);
    EVP_PKEY_free(K_ENC);
    EVP_PKEY_free(K_EVIL);
    EVP_PKEY_free(K_CLIENT);
    return 0;
}

static inline int fx_setup(void **state)
{
    char err[256] = "";
    fx_t *fx = calloc(1, sizeof(*fx));
    fx->jku_allow[0] = (char *)JKU;
    fx->cfg.enabled = 1;
    fx->cfg.issuer = (char *)ISS;
    fx->cfg.client_id = (char *)CLIENT_ID;
    fx->cfg.auth_method = ZR_CLIENT_AUTH_NONE;
    fx->cfg.decryption_key = K_ENC;
    fx->cfg.jku_allow = fx->jku_allow;
    fx->cfg.jku_allow_count = 1;
    fx->cfg.min_loa = ZR_LOA_HIGH;
    fx->cfg.timeout_ms = 1000;
    fx->cfg.key_cache_s = 3600;
    fx->env = ZR_ENV_DEVELOPMENT;
    fx->d = zr_dezi_new(&fx->cfg, fx->env, err, sizeof(err));
    assert_non_null(fx->d);
    zr_dezi_set_fetch_hook(fx->d, fx_fetch, fx);
    zr_dezi_set_refetch_min(fx->d, 0);
    fx_serve(fx, ISS "/.well-known/openid-configuration", 200, "application/json", discovery_doc());
    fx_serve(fx, JWKS_URI, 200, "application/json", jwks_of(K_DEZI, "dezi-1", NULL, NULL));
    fx_serve(fx, JKU, 200, "application/json", jwks_of(K_REG, "reg-1", NULL, NULL));
    fx_serve(fx, STATUS_URI, 200, "application/json",
             strdup("{\"verklaringId\":\"" VID "\",\"status\":\"actief\"}"));
    fx_serve(fx, LIST_URL, 200, "application/jose;charset=utf-8", revocation_list(NULL, 3600));
    FX = fx;
    *state = fx;
    return 0;
}

/* A fresh client for env (caches empty), on the same routes. */
static inline void fx_renew(fx_t *fx, zr_environment_t env)
{
    char err[256] = "";
    zr_dezi_free(fx->d);
    fx->env = env;
    fx->d = zr_dezi_new(&fx->cfg, env, err, sizeof(err));
    if (!fx->d)
        fail_msg("zr_dezi_new: %s", err);
    zr_dezi_set_fetch_hook(fx->d, fx_fetch, fx);
    zr_dezi_set_refetch_min(fx->d, 0);
}

static inline int fx_teardown(void **state)
{
    fx_t *fx = *state;
    zr_dezi_free(fx->d);
    for (size_t i = 0; i < fx->nroutes; i++) {
        free(fx->routes[i].body);
        free(fx->routes[i].last_form);
        free(fx->routes[i].last_bearer);
    }
    free(fx);
    FX = NULL;
    unsetenv("ZR_TEST_TIME_OFFSET");
    return 0;
}

#endif
