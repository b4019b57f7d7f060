/* Shared fixture for the OpenID Provider tests: a hand-built configuration
 * (keys generated here with OpenSSL / cjose, no config loader), a private
 * Redis, and helpers to build requests and read responses. Header-only. */
#ifndef ZR_TEST_OIDC_FIXTURE_H
#define ZR_TEST_OIDC_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <cjose/cjose.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis_fixture.h"
#include "zr/crypto.h"
#include "zr/oidc.h"
#include "zr/store.h"
#include "zr/subject.h"
#include "zr/util.h"

#define FX_ISSUER "https://login.example.nl"
#define FX_TOKEN_URL FX_ISSUER "/token"
#define FX_BSN "999990019"
#define FX_ACTING_BSN "999990044"
#define FX_LEGAL_BSN "999990056"
#define FX_RT "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"

/* Professionals (issue 4): DOCS logs in professionals only (no care
 * provider), BOTH lets the person choose. */
#define FX_DEZI_NUMMER "900000012"
#define FX_DOCS_SECRET "docs-secret"
#define FX_BOTH_SECRET "both-secret"

enum { FX_PORTAL = 0, FX_PGO, FX_APP, FX_PORTAL2, FX_DOCS, FX_BOTH, FX_CLIENTS };

typedef struct {
    zr_test_redis_t redis;
    zr_config_t cfg;
    zr_oidc_key_t keys[2];
    zr_client_t clients[FX_CLIENTS];
    zr_tenant_t tenant;
    zr_tenant_service_t services[2];
    zr_store_t *store;
    zr_oidc_t *op;
    cjose_jwk_t *pgo_key;      /* private key of the private_key_jwt client */
    char *pgo_jwks;
} fx_t;

static char *fx_uris_portal[] = {"https://portal.example.nl/cb"};
static char *fx_uris_pgo[] = {"https://pgo.example.org/cb?tenant=1"};
static char *fx_uris_app[] = {"http://127.0.0.1:8001/cb"};
static char *fx_uris_portal2[] = {"https://other-portal.example.com/callback"};
static char *fx_uris_docs[] = {"https://docs.example.nl/cb"};
static char *fx_uris_both[] = {"https://both.example.nl/cb"};
static char *fx_origins_portal[] = {"https://portal.example.nl"};

static EVP_PKEY *fx_gen_key(const char *type)
{
    if (strcmp(type, "RSA") == 0)
        return EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static X509 *fx_self_signed(EVP_PKEY *key)
{
    X509 *x = X509_new();
    X509_NAME *n;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, key);
    n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"oidc test", -1, -1, 0);
    X509_set_issuer_name(x, n);
    X509_sign(x, key, EVP_sha256());
    return x;
}

static inline void fx_client(zr_client_t *c, const char *id, zr_client_auth_t m, char **uris, int bsn, zr_sigalg_t alg)
{
    memset(c, 0, sizeof(*c));
    c->client_id = (char *)id;
    c->name = (char *)id;
    c->auth_method = m;
    c->redirect_uris = uris;
    c->redirect_uri_count = 1;
    c->bsn_entitled = bsn;
    c->care_provider = (char *)"zh";
    c->min_loa = ZR_LOA_SUBSTANTIAL;
    c->id_token_alg = alg;
}

static inline int fx_setup(void **state)
{
    fx_t *fx = calloc(1, sizeof(*fx));
    zr_config_t *cfg = &fx->cfg;
    cjose_err cerr;
    char err[256] = "";
    char *pub;

    if (zr_test_redis_start(&fx->redis) != 0)
        return -1;
    cfg->public_base_url = (char *)FX_ISSUER;
    cfg->redis.host = (char *)"127.0.0.1";
    cfg->redis.port = fx->redis.port;
    /* The /token commit must come within half of this after the code's
     * mark (src/store/redeem.c); valgrind runs 20-50 times slower, so
     * scripts/valgrind-unit raises it (ZR_TEST_STORE_TIMEOUT_MS). */
    cfg->redis.timeout_ms = getenv("ZR_TEST_STORE_TIMEOUT_MS") ? atoi(getenv("ZR_TEST_STORE_TIMEOUT_MS")) : 500;
    cfg->redis.prefix = (char *)"zrtest:";
    memset(cfg->redis.encryption_key, 0x42, sizeof(cfg->redis.encryption_key));

    fx->keys[0].key = fx_gen_key("RSA");
    fx->keys[0].cert = fx_self_signed(fx->keys[0].key);
    fx->keys[0].alg = ZR_SIGALG_RS256;
    fx->keys[0].kid = (char *)"rsa-1";
    fx->keys[1].key = fx_gen_key("EC");
    fx->keys[1].alg = ZR_SIGALG_ES256;
    fx->keys[1].kid = NULL; /* the RFC 7638 thumbprint is used */
    cfg->oidc.issuer = (char *)FX_ISSUER;
    cfg->oidc.keys = fx->keys;
    cfg->oidc.key_count = 2;
    memset(cfg->oidc.pairwise_secret, 0x17, sizeof(cfg->oidc.pairwise_secret));
    cfg->oidc.id_token_lifetime_s = 300;
    cfg->oidc.access_token_lifetime_s = 300;
    cfg->oidc.code_lifetime_s = 60;
    cfg->oidc.session_lifetime_s = 900;

    fx->services[0].min_loa = ZR_LOA_SUBSTANTIAL;
    fx->services[0].service_uuid = (char *)"7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50";
    fx->services[1].min_loa = ZR_LOA_HIGH;
    fx->services[1].service_uuid = (char *)"0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d";
    fx->tenant.id = (char *)"zh";
    fx->tenant.services = fx->services;
    fx->tenant.service_count = 1; /* only substantial; tests may add high */
    cfg->tenants = &fx->tenant;
    cfg->tenant_count = 1;

    /* The private_key_jwt client's key pair, made with cjose (independent of
     * the code under test). */
    fx->pgo_key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
    cjose_jwk_set_kid(fx->pgo_key, "pgo-1", 5, &cerr);
    pub = cjose_jwk_to_json(fx->pgo_key, false, &cerr);
    fx->pgo_jwks = malloc(strlen(pub) + 32);
    sprintf(fx->pgo_jwks, "{\"keys\":[%s]}", pub);
    free(pub);

    fx_client(&fx->clients[FX_PORTAL], "portal", ZR_CLIENT_AUTH_SECRET_BASIC, fx_uris_portal, 1, ZR_SIGALG_RS256);
    fx->clients[FX_PORTAL].client_secret = (char *)"s3cret:with%chars";
    fx->clients[FX_PORTAL].allowed_origins = fx_origins_portal;
    fx->clients[FX_PORTAL].allowed_origin_count = 1;
    fx_client(&fx->clients[FX_PGO], "pgo", ZR_CLIENT_AUTH_PRIVATE_KEY_JWT, fx_uris_pgo, 0, ZR_SIGALG_ES256);
    fx->clients[FX_PGO].jwks_json = fx->pgo_jwks;
    fx_client(&fx->clients[FX_APP], "app", ZR_CLIENT_AUTH_NONE, fx_uris_app, 0, ZR_SIGALG_RS256);
    fx_client(&fx->clients[FX_PORTAL2], "portal2", ZR_CLIENT_AUTH_SECRET_BASIC, fx_uris_portal2, 1,
              ZR_SIGALG_RS256);
    fx_client(&fx->clients[FX_DOCS], "docs", ZR_CLIENT_AUTH_SECRET_BASIC, fx_uris_docs, 0, ZR_SIGALG_RS256);
    fx->clients[FX_DOCS].client_secret = (char *)FX_DOCS_SECRET;
    fx->clients[FX_DOCS].login_methods = ZR_LOGIN_PROFESSIONAL;
    fx->clients[FX_DOCS].care_provider = NULL; /* professionals only: none needed */
    fx->clients[FX_DOCS].introspection = 1;
    fx_client(&fx->clients[FX_BOTH], "both", ZR_CLIENT_AUTH_SECRET_BASIC, fx_uris_both, 1, ZR_SIGALG_RS256);
    fx->clients[FX_BOTH].client_secret = (char *)FX_BOTH_SECRET;
    fx->clients[FX_BOTH].login_methods = ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL;
    fx->clients[FX_BOTH].introspection = 1;
    fx->clients[FX_PGO].introspection = 1; /* not entitled to the BSN */
    cfg->clients = fx->clients;
    cfg->client_count = FX_CLIENTS;
    cfg->dezi.enabled = 1;
    cfg->dezi.min_loa = ZR_LOA_HIGH;
    { /* portal2 is registered with the SHA-256 of "other-secret" */
        static char hexbuf[65];
        uint8_t h[32];
        char *hex;
        zr_crypto_sha256((const uint8_t *)"other-secret", 12, h);
        hex = zr_hex_encode(h, 32);
        for (int i = 0; i < 64; i++) /* upper case on purpose: files may have it */
            hexbuf[i] = (char)((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
        hexbuf[64] = '\0';
        free(hex);
        fx->clients[FX_PORTAL2].client_secret_sha256 = hexbuf;
    }

    fx->store = zr_store_open(&cfg->redis, err, sizeof(err));
    if (!fx->store) {
        fprintf(stderr, "store: %s\n", err);
        return -1;
    }
    fx->op = zr_oidc_new(cfg, fx->store, err, sizeof(err));
    if (!fx->op) {
        fprintf(stderr, "oidc: %s\n", err);
        return -1;
    }
    *state = fx;
    return 0;
}

static inline int fx_teardown(void **state)
{
    fx_t *fx = *state;
    if (!fx)
        return 0;
    zr_oidc_free(fx->op);
    zr_store_close(fx->store);
    if (fx->redis.pid > 0)
        kill(fx->redis.pid, SIGCONT); /* a failed freeze test must not hang teardown */
    zr_test_redis_destroy(&fx->redis);
    EVP_PKEY_free(fx->keys[0].key);
    X509_free(fx->keys[0].cert);
    EVP_PKEY_free(fx->keys[1].key);
    cjose_jwk_release(fx->pgo_key);
    free(fx->pgo_jwks);
    free(fx);
    return 0;
}

/* ---- requests and responses ---- */

static inline void fx_req(zr_http_request_t *r, const char *method, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->method = method;
    r->path = path;
}

static inline void fx_req_free(zr_http_request_t *r)
{
    zr_kv_free(&r->query);
    zr_kv_free(&r->form);
    zr_kv_free(&r->headers);
    zr_kv_free(&r->cookies);
}

static inline const char *fx_header(const zr_http_response_t *resp, const char *name)
{
    return zr_kv_get(&resp->headers, name);
}

/* Value of a query parameter in a URL (malloc'ed) or NULL. */
static inline char *fx_url_param(const char *url, const char *name)
{
    zr_kvlist_t l = {0};
    const char *q = url ? strchr(url, '?') : NULL;
    char *out = NULL;
    if (q && zr_kv_parse_form(&l, q + 1, strlen(q + 1)) == 0)
        out = zr_strdup(zr_kv_get(&l, name));
    zr_kv_free(&l);
    return out;
}

static inline json_t *fx_json(const zr_http_response_t *resp)
{
    json_error_t jerr;
    return json_loads(resp->body ? resp->body : "", 0, &jerr);
}

/* A PKCE pair: verifier (43 chars) and its S256 challenge. */
static inline void fx_pkce(char **verifier, char **challenge)
{
    uint8_t h[32];
    *verifier = zr_random_token(32);
    zr_crypto_sha256((const uint8_t *)*verifier, strlen(*verifier), h);
    *challenge = zr_base64url_encode(h, 32);
}

/* The nonce of a request whose test does not choose one: the NL GOV
 * profile requires one in every authorization request. */
#define FX_NONCE "fx-n0nce"

/* Adds the parameters of a good authorization request for client c (nonce
 * NULL: FX_NONCE). */
static inline void fx_authorize_params(zr_kvlist_t *p, const zr_client_t *c, const char *challenge, const char *nonce)
{
    zr_kv_add(p, "client_id", c->client_id);
    zr_kv_add(p, "redirect_uri", c->redirect_uris[0]);
    zr_kv_add(p, "response_type", "code");
    zr_kv_add(p, "scope", "openid profile");
    zr_kv_add(p, "state", "st&te=1");
    zr_kv_add(p, "nonce", nonce ? nonce : FX_NONCE);
    zr_kv_add(p, "code_challenge", challenge);
    zr_kv_add(p, "code_challenge_method", "S256");
}

static inline void fx_subject(zr_subject_t *s, const char *acting, const char *legal)
{
    memset(s, 0, sizeof(*s));
    s->acting.id_type = strdup(ZR_ID_LEGACY_BSN);
    s->acting.value = strdup(acting);
    if (legal) {
        s->has_legal = 1;
        s->legal.id_type = strdup(ZR_ID_LEGACY_BSN);
        s->legal.value = strdup(legal);
        s->representation_type = strdup(FX_RT);
    }
    s->loa = ZR_LOA_SUBSTANTIAL;
    s->auth_time = zr_time_now() - 5;
    s->tenant_id = strdup("zh");
}

/* A professional as src/dezi and the role mapping hand it over. */
static inline void fx_pro_subject(zr_subject_t *s, const char *dezi_nummer, int with_roles)
{
    memset(s, 0, sizeof(*s));
    s->kind = ZR_SUBJECT_PROFESSIONAL;
    s->pro.dezi_nummer = strdup(dezi_nummer);
    s->pro.initials = strdup("J.H.");
    s->pro.surname_prefix = strdup("van der");
    s->pro.surname = strdup("Berg");
    s->pro.ura = strdup("87654321");
    s->pro.organisation_name = strdup("Huisartsenpraktijk De Linde");
    s->pro.rol_code = strdup("01.015");
    s->pro.rol_naam = strdup("Huisarts");
    s->pro.rol_code_bron = strdup("http://www.dezi.nl/rol_code_bron/big");
    s->pro.verklaring_id = strdup("8a0e2a4c-1d3b-4f5e-9c7a-6b5d4e3f2a10");
    if (with_roles) {
        s->pro.roles = calloc(2, sizeof(char *));
        s->pro.roles[0] = strdup("arts");
        s->pro.roles[1] = strdup("voorschrijver");
        s->pro.role_count = 2;
    }
    s->loa = ZR_LOA_HIGH;
    s->auth_time = zr_time_now() - 5;
}

/* begin (with an optional extra parameter "name=value") -> finish with the
 * given subject for client c; returns the code (malloc'ed). */
static inline char *fx_login_subject(fx_t *fx, const zr_client_t *c, const char *challenge, const char *nonce,
                                     const char *extra, const zr_subject_t *subject)
{
    zr_http_request_t req;
    zr_http_response_t resp;
    zr_oidc_authz_t authz, back;
    char *json, *code;

    fx_req(&req, "GET", "/authorize");
    fx_authorize_params(&req.query, c, challenge, nonce);
    if (extra) {
        char *name = strndup(extra, strcspn(extra, "="));
        zr_kv_add(&req.query, name, extra + strlen(name) + (extra[strlen(name)] ? 1 : 0));
        free(name);
    }
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_begin(fx->op, &req, &resp, &authz), ZR_OIDC_AUTHZ_OK);
    /* what the relay does while the person is at TVS or Dezi */
    json = zr_oidc_authz_to_json(&authz);
    assert_non_null(json);
    assert_int_equal(zr_oidc_authz_from_json(json, &back), 0);
    free(json);
    zr_http_response_free(&resp);
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_finish(fx->op, &back, subject, &resp), 0);
    assert_int_equal(resp.status, 302);
    code = fx_url_param(fx_header(&resp, "Location"), "code");
    assert_non_null(code);
    zr_oidc_authz_clear(&authz);
    zr_oidc_authz_clear(&back);
    zr_http_response_free(&resp);
    fx_req_free(&req);
    return code;
}

/* begin -> finish for client c with a patient; returns the code (malloc'ed). */
static inline char *fx_login(fx_t *fx, const zr_client_t *c, const char *challenge, const char *nonce, const char *acting,
                      const char *legal)
{
    zr_subject_t subject;
    char *code;
    fx_subject(&subject, acting, legal);
    code = fx_login_subject(fx, c, challenge, nonce, NULL, &subject);
    zr_subject_clear(&subject);
    return code;
}

static inline void fx_basic(zr_http_request_t *req, const char *id, const char *secret)
{
    char raw[256], hdr[400];
    char *b64;
    snprintf(raw, sizeof(raw), "%s:%s", id, secret);
    b64 = zr_base64_encode((const uint8_t *)raw, strlen(raw));
    snprintf(hdr, sizeof(hdr), "Basic %s", b64);
    free(b64);
    zr_kv_add(&req->headers, "authorization", hdr);
}

/* A client assertion signed with the PGO's key (claims adjustable). */
static inline char *fx_assertion(fx_t *fx, const char *aud, long exp_in, const char *jti)
{
    cjose_err cerr;
    cjose_header_t *h = cjose_header_new(&cerr);
    json_t *claims = json_object();
    char *payload, *out;
    const char *compact;
    cjose_jws_t *jws;
    time_t now = zr_time_now();

    cjose_header_set(h, CJOSE_HDR_ALG, "ES256", &cerr);
    cjose_header_set(h, CJOSE_HDR_KID, "pgo-1", &cerr);
    json_object_set_new(claims, "iss", json_string("pgo"));
    json_object_set_new(claims, "sub", json_string("pgo"));
    json_object_set_new(claims, "aud", json_string(aud));
    json_object_set_new(claims, "iat", json_integer(now));
    json_object_set_new(claims, "exp", json_integer(now + exp_in));
    json_object_set_new(claims, "jti", json_string(jti));
    payload = json_dumps(claims, JSON_COMPACT);
    jws = cjose_jws_sign(fx->pgo_key, h, (const uint8_t *)payload, strlen(payload), &cerr);
    assert_non_null(jws);
    assert_true(cjose_jws_export(jws, &compact, &cerr));
    out = strdup(compact);
    cjose_jws_release(jws);
    cjose_header_release(h);
    json_decref(claims);
    free(payload);
    return out;
}

/* POST /token; auth: "basic:<id>:<secret>" style handled by caller via hdrs. */
static inline void fx_token_req(zr_http_request_t *req, const char *code, const char *redirect_uri, const char *verifier)
{
    fx_req(req, "POST", "/token");
    zr_kv_add(&req->headers, "content-type", "application/x-www-form-urlencoded");
    zr_kv_add(&req->form, "grant_type", "authorization_code");
    if (code)
        zr_kv_add(&req->form, "code", code);
    if (redirect_uri)
        zr_kv_add(&req->form, "redirect_uri", redirect_uri);
    if (verifier)
        zr_kv_add(&req->form, "code_verifier", verifier);
}

/* Claims of a compact JWS after verifying it with the published JWKS. */
/* Verifies compact against the published JWKS, its header typ being typ;
 * returns the claims. */
static inline json_t *fx_verify_typed(fx_t *fx, const char *compact, const char *typ, char *alg_out, size_t alg_len)
{
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *jwks, *k, *claims = NULL;
    json_error_t jerr;
    cjose_err cerr;
    cjose_jws_t *jws;
    cjose_header_t *hdr;
    const char *kid;
    uint8_t *plain;
    size_t plain_len, i;
    int verified = 0;

    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_jwks(fx->op, &req, &resp), 0);
    jwks = fx_json(&resp);
    assert_non_null(jwks);
    jws = cjose_jws_import(compact, strlen(compact), &cerr);
    assert_non_null(jws);
    hdr = cjose_jws_get_protected(jws);
    kid = cjose_header_get(hdr, CJOSE_HDR_KID, &cerr);
    assert_non_null(kid);
    assert_string_equal(cjose_header_get(hdr, "typ", &cerr), typ);
    if (alg_out)
        snprintf(alg_out, alg_len, "%s", cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr));
    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) != 0)
            continue;
        char *text = json_dumps(k, JSON_COMPACT);
        cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &cerr);
        free(text);
        assert_non_null(jwk);
        verified = cjose_jws_verify(jws, jwk, &cerr);
        cjose_jwk_release(jwk);
    }
    assert_true(verified);
    assert_true(cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr));
    claims = json_loadb((const char *)plain, plain_len, 0, &jerr);
    cjose_jws_release(jws);
    json_decref(jwks);
    zr_http_response_free(&resp);
    fx_req_free(&req);
    return claims;
}

static inline json_t *fx_verify_with_jwks(fx_t *fx, const char *compact, char *alg_out, size_t alg_len)
{
    return fx_verify_typed(fx, compact, "JWT", alg_out, alg_len);
}

/* ---- token, userinfo and introspection calls (issue 4 tests) ---- */

typedef struct {
    zr_http_response_t resp;
    json_t *body;
} fx_reply_t;

static inline void fx_reply_free(fx_reply_t *r)
{
    json_decref(r->body);
    zr_http_response_free(&r->resp);
    memset(r, 0, sizeof(*r));
}

static inline const char *fx_jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

/* Redeems code for a client_secret_basic client; the reply must be 200. */
static inline void fx_redeem_basic(fx_t *fx, const zr_client_t *c, const char *secret, const char *code,
                                   const char *verifier, fx_reply_t *r)
{
    zr_http_request_t req;
    fx_token_req(&req, code, c->redirect_uris[0], verifier);
    fx_basic(&req, c->client_id, secret);
    zr_http_response_init(&r->resp);
    assert_int_equal(zr_oidc_handle_token(fx->op, &req, &r->resp), 0);
    r->body = fx_json(&r->resp);
    assert_int_equal(r->resp.status, 200);
    fx_req_free(&req);
}

static inline void fx_call_userinfo(fx_t *fx, const char *access_token, fx_reply_t *r)
{
    zr_http_request_t req;
    char hdr[4200]; /* a JWT access token (ZR_OIDC_ACCESS_TOKEN_MAX) */
    fx_req(&req, "GET", "/userinfo");
    snprintf(hdr, sizeof(hdr), "Bearer %s", access_token);
    zr_kv_add(&req.headers, "authorization", hdr);
    zr_http_response_init(&r->resp);
    assert_int_equal(zr_oidc_handle_userinfo(fx->op, &req, &r->resp), 0);
    r->body = fx_json(&r->resp);
    fx_req_free(&req);
}

/* POST /introspect; the caller adds credentials to req (fx_basic or an
 * assertion) before, this adds token (when not NULL) and calls. */
static inline void fx_introspect_req(zr_http_request_t *req, const char *token)
{
    fx_req(req, "POST", "/introspect");
    zr_kv_add(&req->headers, "content-type", "application/x-www-form-urlencoded");
    if (token)
        zr_kv_add(&req->form, "token", token);
}

static inline void fx_call_introspect(fx_t *fx, zr_http_request_t *req, fx_reply_t *r)
{
    zr_http_response_init(&r->resp);
    assert_int_equal(zr_oidc_handle_introspect(fx->op, req, &r->resp), 0);
    r->body = fx_json(&r->resp);
    assert_non_null(r->body);
    /* RFC 7662 §2.2 + RFC 6749 §5.1: never cached, answer or error */
    assert_string_equal(fx_header(&r->resp, "Cache-Control"), "no-store");
}

#endif
