/* Shared by tests/fuzz/fuzz_dezi_*.c (not a target: only fuzz_*.c files
 * are built). A fake Dezi served from memory (the client's fetch function
 * is replaced directly, so no ZR_TESTING hook is needed), test keys made at
 * start-up, and JOSE built around fuzzed bytes: a JWS is assembled by hand
 * (base64url of the raw header and payload bytes, RS256 over them), so the
 * bytes the fuzzer wrote reach the strict JSON parsing behind the signature
 * check unchanged. Inputs are split into sections on the line "@@". */
#ifndef FUZZ_DEZI_FIXTURE_H
#define FUZZ_DEZI_FIXTURE_H

#include "fuzz_common.h"
#include "../../src/dezi/dezi_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <stdio.h>

#define FX_ISS "https://auth.dezi.test"
#define FX_CLIENT_ID "relay-client"
#define FX_JKU FX_ISS "/dezi/jwks.json"
#define FX_JWKS_URI FX_ISS "/jwks"
#define FX_STATUS_URI FX_ISS "/status/v1/verklaring/8539f75d-634c-47db-bb41-28791dfd1f8d"
#define FX_LIST_URL FX_ISS "/revocatiecontrole/v1"
#define FX_VID "8539f75d-634c-47db-bb41-28791dfd1f8d"
#define FX_SUB "uvSx14XfF3EBMetffwiO" /* the id_token's sub the envelope is compared with */
#define FX_MAX_ROUTES 8
#define FX_MAX_SECTIONS 8

typedef struct {
    const char *url;
    long status;       /* 0: transport failure */
    const char *ct;
    char *body;        /* owned */
    size_t len;
} fx_route_t;

typedef struct {
    EVP_PKEY *dezi, *reg, *enc, *evil;
    char *jku_allow[1];
    zr_dezi_config_t cfg;
    fx_route_t routes[FX_MAX_ROUTES];
    size_t nroutes;
} fx_t;

static fx_t FX;

static inline void fx_die(const char *what)
{
    fprintf(stderr, "fuzz_dezi: %s\n", what);
    abort();
}

/* Serves body (taken over, may hold NULs) at url. */
static inline void fx_serve(const char *url, long status, const char *ct, char *body, size_t len)
{
    fx_route_t *r = NULL;
    for (size_t i = 0; i < FX.nroutes; i++)
        if (!strcmp(FX.routes[i].url, url))
            r = &FX.routes[i];
    if (!r) {
        if (FX.nroutes == FX_MAX_ROUTES)
            fx_die("too many routes");
        r = &FX.routes[FX.nroutes++];
        r->url = url;
    } else {
        free(r->body);
    }
    r->status = status;
    r->ct = ct;
    r->body = body;
    r->len = len;
}

static inline int fx_fetch(void *ctx, const zr_dezi_t *d, const zr_dezi_request_t *req, zr_dezi_response_t *resp)
{
    (void)ctx;
    (void)d;
    memset(resp, 0, sizeof(*resp));
    for (size_t i = 0; i < FX.nroutes; i++) {
        fx_route_t *r = &FX.routes[i];
        if (strcmp(r->url, req->url) != 0)
            continue;
        if (!r->status || !r->body)
            return -1;
        /* As zr_dezi_fetch_default: exact bytes plus a NUL. */
        resp->body = malloc(r->len + 1);
        if (!resp->body)
            return -1;
        memcpy(resp->body, r->body, r->len);
        resp->body[r->len] = '\0';
        resp->len = r->len;
        resp->status = r->status;
        resp->content_type = r->ct ? strdup(r->ct) : NULL;
        return 0;
    }
    return -1;
}

static inline char *fx_dumps(json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        fx_die("json_dumps");
    json_decref(j);
    return s;
}

static inline char *fx_jwks(EVP_PKEY *k, const char *kid)
{
    json_t *jwk = zr_crypto_jwk_from_pkey(k, 0);
    if (!jwk)
        fx_die("jwk");
    json_object_set_new(jwk, "kid", json_string(kid));
    json_object_set_new(jwk, "use", json_string("sig"));
    json_object_set_new(jwk, "alg", json_string("RS256"));
    return fx_dumps(json_pack("{s:[o]}", "keys", jwk));
}

static inline char *fx_strdup(const char *s)
{
    char *d = strdup(s);
    if (!d)
        fx_die("strdup");
    return d;
}

/* Keys (1024 bits: the fuzzer signs on every input, and no check here
 * depends on the key size) and the fake Dezi's fixed documents. */
static inline void fx_init(int with_decryption)
{
    zr_log_set_level(ZR_LOG_ERROR);
    FX.dezi = EVP_RSA_gen(1024);
    FX.reg = EVP_RSA_gen(1024);
    FX.enc = EVP_RSA_gen(1024);
    FX.evil = EVP_RSA_gen(1024);
    if (!FX.dezi || !FX.reg || !FX.enc || !FX.evil)
        fx_die("key generation");
    FX.jku_allow[0] = (char *)FX_JKU;
    FX.cfg.enabled = 1;
    FX.cfg.issuer = (char *)FX_ISS;
    FX.cfg.client_id = (char *)FX_CLIENT_ID;
    FX.cfg.auth_method = ZR_CLIENT_AUTH_NONE;
    FX.cfg.decryption_key = with_decryption ? FX.enc : NULL;
    FX.cfg.jku_allow = FX.jku_allow;
    FX.cfg.jku_allow_count = 1;
    FX.cfg.min_loa = ZR_LOA_HIGH;
    FX.cfg.timeout_ms = 1000;
    FX.cfg.key_cache_s = 3600;
    {
        char *doc = fx_dumps(json_pack("{s:s, s:s, s:s, s:s, s:s}", "issuer", FX_ISS, "authorization_endpoint",
                                       FX_ISS "/authorize", "token_endpoint", FX_ISS "/token", "userinfo_endpoint",
                                       FX_ISS "/userinfo", "jwks_uri", FX_JWKS_URI));
        fx_serve(FX_ISS "/.well-known/openid-configuration", 200, "application/json", doc, strlen(doc));
    }
    {
        char *k = fx_jwks(FX.dezi, "dezi-1");
        fx_serve(FX_JWKS_URI, 200, "application/json", k, strlen(k));
        k = fx_jwks(FX.reg, "reg-1");
        fx_serve(FX_JKU, 200, "application/json", k, strlen(k));
    }
}

/* A client with the fake Dezi behind it (every fetch from memory), in
 * development so that a plain signed userinfo is reached too. */
static inline zr_dezi_t *fx_client(void)
{
    char err[256] = "";
    zr_dezi_t *d = zr_dezi_new(&FX.cfg, ZR_ENV_DEVELOPMENT, err, sizeof(err));
    if (!d)
        fx_die(err);
    d->fetch = fx_fetch;
    d->fetch_ctx = NULL;
    d->refetch_min_s = 0;
    return d;
}

/* "{{NOW}}", "{{EXP}}" (in an hour), "{{PAST}}" (two hours ago) as
 * NumericDates, "{{VID}}", and "{{VER}}" (extra, may be NULL) in the given
 * bytes. Returns a malloc'ed copy, *outlen its length. */
static inline char *fx_fill(const char *in, size_t len, const char *ver, size_t *outlen)
{
    zr_buf_t b;
    time_t now = zr_time_now();
    size_t i = 0;
    zr_buf_init(&b);
    while (i < len) {
        const char *p = i + 1 < len ? memmem(in + i, len - i, "{{", 2) : NULL;
        size_t upto = p ? (size_t)(p - in) : len;
        const char *rest;
        size_t restlen;
        int ok = 0;
        if (upto > i && zr_buf_append(&b, in + i, upto - i) != 0)
            fx_die("oom");
        i = upto;
        if (!p)
            break;
        rest = in + i;
        restlen = len - i;
#define FX_TAG(tag, ...)                                                                                             \
    if (!ok && restlen >= sizeof(tag) - 1 && !memcmp(rest, tag, sizeof(tag) - 1)) {                                \
        if (zr_buf_printf(&b, __VA_ARGS__) != 0)                                                                     \
            fx_die("oom");                                                                                           \
        i += sizeof(tag) - 1;                                                                                        \
        ok = 1;                                                                                                      \
    }
        FX_TAG("{{NOW}}", "%lld", (long long)now)
        FX_TAG("{{EXP}}", "%lld", (long long)now + 3600)
        FX_TAG("{{PAST}}", "%lld", (long long)now - 7200)
        FX_TAG("{{VID}}", "%s", FX_VID)
        FX_TAG("{{SUB}}", "%s", FX_SUB)
        FX_TAG("{{VER}}", "%s", ver ? ver : "")
#undef FX_TAG
        if (!ok) {
            if (zr_buf_append(&b, "{{", 2) != 0)
                fx_die("oom");
            i += 2;
        }
    }
    if (zr_buf_append(&b, "", 0) != 0)
        fx_die("oom");
    *outlen = b.len;
    return b.data ? zr_buf_steal(&b) : fx_strdup("");
}

/* A compact JWS over the exact header and payload bytes, RS256 with key. */
static inline char *fx_jws(EVP_PKEY *key, const char *hdr, size_t hlen, const char *payload, size_t plen)
{
    char *h64 = zr_base64url_encode((const uint8_t *)hdr, hlen);
    char *p64 = zr_base64url_encode((const uint8_t *)payload, plen), *s64 = NULL, *out = NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t sig[1024];
    size_t siglen = sizeof(sig);
    zr_buf_t b;
    zr_buf_init(&b);
    if (!h64 || !p64 || !md || zr_buf_printf(&b, "%s.%s", h64, p64) != 0 ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, sig, &siglen, (const uint8_t *)b.data, b.len) != 1 ||
        !(s64 = zr_base64url_encode(sig, siglen)) || zr_buf_printf(&b, ".%s", s64) != 0)
        fx_die("signing");
    out = zr_buf_steal(&b);
    EVP_MD_CTX_free(md);
    free(h64);
    free(p64);
    free(s64);
    return out;
}

/* RSA-OAEP + A256CBC-HS512 to FX.enc, header as given when cjose takes it. */
static inline char *fx_jwe(const char *hdr_json, const char *plain)
{
    cjose_err cerr;
    json_t *hdr = NULL, *jwk = zr_crypto_jwk_from_pkey(FX.enc, 0);
    cjose_jwk_t *ck = zr_dezi_cjose_jwk(jwk);
    cjose_jwe_t *jwe = NULL;
    char *out = NULL;
    if (hdr_json && *hdr_json)
        hdr = json_loads(hdr_json, 0, NULL);
    if (hdr && json_is_object(hdr))
        jwe = cjose_jwe_encrypt(ck, (cjose_header_t *)hdr, (const uint8_t *)plain, strlen(plain), &cerr);
    if (!jwe) {
        json_decref(hdr);
        hdr = json_pack("{s:s, s:s, s:s, s:s}", "alg", "RSA-OAEP", "enc", "A256CBC-HS512", "typ", "JWT", "cty",
                        "JWT");
        jwe = cjose_jwe_encrypt(ck, (cjose_header_t *)hdr, (const uint8_t *)plain, strlen(plain), &cerr);
    }
    if (!jwe || !(out = cjose_jwe_export(jwe, &cerr)))
        fx_die("encryption");
    cjose_jwe_release(jwe);
    cjose_jwk_release(ck);
    json_decref(jwk);
    json_decref(hdr);
    return out;
}

/* Splits data on the line "@@" into at most FX_MAX_SECTIONS sections
 * (pointers into data, not NUL-terminated). Returns the count. */
static inline size_t fx_split(const uint8_t *data, size_t size, const char **sec, size_t *len)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i + 4 <= size && n + 1 < FX_MAX_SECTIONS; i++) {
        if (!memcmp(data + i, "\n@@\n", 4)) {
            sec[n] = (const char *)data + start;
            len[n++] = i - start;
            start = i + 4;
            i += 3;
        }
    }
    sec[n] = (const char *)data + start;
    len[n++] = size - start;
    for (size_t k = n; k < FX_MAX_SECTIONS; k++) {
        sec[k] = "";
        len[k] = 0;
    }
    return n;
}

#endif
