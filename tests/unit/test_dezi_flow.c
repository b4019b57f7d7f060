/* Dezi login flow: the authorization request, the token exchange and the
 * id_token, and revocation (status service, signed list, fail closed). */
#ifndef ZR_TESTING
/* The Dezi client is tested through its fetch hook, which only a
 * -DZR_TEST_HOOKS=ON build has (make check does). */
#include <stdio.h>
int main(void)
{
    puts("skipped: needs a build with -DZR_TEST_HOOKS=ON");
    return 77;
}
#else
#include <curl/curl.h>
#include "test_dezi_fixture.h"
#include "zr/crypto.h"

#define ERRLEN 256
#define NONCE "n-0S6_WzA2Mj"
#define VERIFIER "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

static char *id_token(EVP_PKEY *key, const char *aud, const char *nonce)
{
    time_t now = zr_time_now();
    json_t *c = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "iss", ISS, "sub", SUB, "aud", aud,
                          "iat", (json_int_t)now, "exp", (json_int_t)now + 300, "nonce", nonce);
    return sign_jws(key, "RS256", "dezi-1", NULL, c);
}

/* Token endpoint answering with this id_token, userinfo with a good JWE. */
static void serve_login(EVP_PKEY *idkey, const char *aud, const char *nonce)
{
    ui_t u;
    char *idt = id_token(idkey, aud, nonce);
    json_t *t = json_pack("{s:s, s:s, s:i, s:s, s:s}", "access_token", "at-13492ad8", "token_type", "Bearer",
                          "expires_in", 3600, "scope", "openid", "id_token", idt);
    fx_serve(FX, ISS "/token", 200, "application/json", dumps(t));
    json_decref(t);
    free(idt);
    ui_default(&u);
    fx_serve(FX, ISS "/userinfo", 200, "application/jwt", ui_build(&u));
}

static zr_dezi_status_t finish(zr_dezi_professional_t *p, char *err)
{
    memset(p, 0, sizeof(*p));
    return zr_dezi_finish(FX->d, "c6b9fd37-code", "https://relay.test/dezi/callback", VERIFIER, NONCE, p, err, ERRLEN);
}

static const char *query_param(const char *url, const char *name, char *out, size_t outlen)
{
    char key[64];
    snprintf(key, sizeof(key), "%s=", name);
    const char *q = strchr(url, '?');
    for (const char *s = q; s && *s; s = strchr(s + 1, '&')) {
        if (!strncmp(s + 1, key, strlen(key))) {
            const char *v = s + 1 + strlen(key);
            size_t n = strcspn(v, "&");
            char *dec = zr_url_decode(v, n);
            snprintf(out, outlen, "%s", dec);
            free(dec);
            return out;
        }
    }
    return NULL;
}

static void test_authorize_begin_pkce_state_nonce(void **state)
{
    zr_dezi_authz_t a;
    char err[ERRLEN] = "", v[256];
    uint8_t h[32];
    (void)state;
    assert_int_equal(zr_dezi_authorize_begin(FX->d, "https://relay.test/dezi/callback", &a, err, sizeof(err)),
                     ZR_DEZI_OK);
    assert_true(!strncmp(a.url, ISS "/authorize?", strlen(ISS "/authorize?")));
    assert_true(strlen(a.code_verifier) >= 43);
    assert_string_equal(query_param(a.url, "response_type", v, sizeof(v)), "code");
    assert_string_equal(query_param(a.url, "scope", v, sizeof(v)), "openid");
    assert_string_equal(query_param(a.url, "client_id", v, sizeof(v)), CLIENT_ID);
    assert_string_equal(query_param(a.url, "redirect_uri", v, sizeof(v)), "https://relay.test/dezi/callback");
    assert_string_equal(query_param(a.url, "state", v, sizeof(v)), a.state);
    assert_string_equal(query_param(a.url, "nonce", v, sizeof(v)), a.nonce);
    assert_string_equal(query_param(a.url, "code_challenge_method", v, sizeof(v)), "S256");
    zr_crypto_sha256((const uint8_t *)a.code_verifier, strlen(a.code_verifier), h);
    char *want = zr_base64url_encode(h, 32);
    assert_string_equal(query_param(a.url, "code_challenge", v, sizeof(v)), want);
    assert_null(strstr(a.url, a.code_verifier));
    free(want);
    zr_dezi_authz_t b;
    assert_int_equal(zr_dezi_authorize_begin(FX->d, "https://relay.test/dezi/callback", &b, err, sizeof(err)),
                     ZR_DEZI_OK);
    assert_string_not_equal(a.state, b.state);
    assert_string_not_equal(a.nonce, b.nonce);
    zr_dezi_authz_clear(&a);
    zr_dezi_authz_clear(&b);
    /* Discovery is cached. */
    assert_int_equal(fx_hits(FX, ISS "/.well-known/openid-configuration"), 1);
}

static void test_finish_public_client(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    serve_login(K_DEZI, CLIENT_ID, NONCE);
    assert_int_equal(finish(&p, err), ZR_DEZI_OK);
    assert_string_equal(p.dezi_nummer, "123456789");
    assert_string_equal(p.rol_code, "01.015");
    route_t *tr = fx_route(FX, ISS "/token");
    assert_non_null(strstr(tr->last_form, "grant_type=authorization_code"));
    assert_non_null(strstr(tr->last_form, "code_verifier=" VERIFIER));
    assert_non_null(strstr(tr->last_form, "client_id=" CLIENT_ID));
    assert_null(strstr(tr->last_form, "client_assertion"));
    assert_string_equal(fx_route(FX, ISS "/userinfo")->last_bearer, "at-13492ad8");
    assert_int_equal(fx_hits(FX, STATUS_URI), 1);
    zr_dezi_professional_clear(&p);
}

static void test_finish_private_key_jwt(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "", *form, *a, *end;
    (void)state;
    FX->cfg.auth_method = ZR_CLIENT_AUTH_PRIVATE_KEY_JWT;
    FX->cfg.client_key = K_CLIENT;
    FX->cfg.client_key_kid = (char *)"client-1";
    serve_login(K_DEZI, CLIENT_ID, NONCE);
    assert_int_equal(finish(&p, err), ZR_DEZI_OK);
    zr_dezi_professional_clear(&p);
    form = fx_route(FX, ISS "/token")->last_form;
    assert_non_null(strstr(form, "client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"));
    a = strstr(form, "client_assertion=");
    assert_non_null(a);
    a = strdup(a + strlen("client_assertion="));
    if ((end = strchr(a, '&')))
        *end = '\0';
    json_t *pub = zr_crypto_jwk_from_pkey(K_CLIENT, 0);
    cjose_jwk_t *k = zr_dezi_cjose_jwk(pub);
    json_t *c = zr_dezi_jws_verify(a, k, NULL);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "iss")), CLIENT_ID);
    assert_string_equal(json_string_value(json_object_get(c, "sub")), CLIENT_ID);
    assert_string_equal(json_string_value(json_object_get(c, "aud")), ISS "/token");
    assert_non_null(json_string_value(json_object_get(c, "jti")));
    time_t exp = 0;
    assert_int_equal(zr_dezi_claim_time(c, "exp", &exp), 0);
    assert_true(exp > zr_time_now() && exp <= zr_time_now() + 300);
    json_decref(c);
    /* A good signature over a payload the hardened parser refuses says so,
     * rather than "signature invalid". */
    const char *why = NULL;
    cjose_err cerr;
    json_t *priv = zr_crypto_jwk_from_pkey(K_CLIENT, 1);
    cjose_jwk_t *sk = zr_dezi_cjose_jwk(priv);
    cjose_header_t *h = cjose_header_new(&cerr);
    cjose_header_set(h, CJOSE_HDR_ALG, CJOSE_HDR_ALG_RS256, &cerr);
    static const char dup[] = "{\"iss\":\"a\",\"iss\":\"b\"}";
    cjose_jws_t *jws = cjose_jws_sign(sk, h, (const uint8_t *)dup, sizeof(dup) - 1, &cerr);
    const char *ser = NULL;
    assert_true(jws && cjose_jws_export(jws, &ser, &cerr));
    assert_null(zr_dezi_jws_verify(ser, k, &why));
    assert_string_equal(why, "payload has a duplicate key");
    char *bad = strdup(a);
    bad[strlen(bad) - 3] = bad[strlen(bad) - 3] == 'A' ? 'B' : 'A';
    assert_null(zr_dezi_jws_verify(bad, k, &why));
    assert_string_equal(why, "signature invalid");
    free(bad);
    cjose_jws_release(jws);
    cjose_header_release(h);
    cjose_jwk_release(sk);
    json_decref(priv);
    json_decref(pub);
    cjose_jwk_release(k);
    free(a);
}

static void test_id_token_bad_signature(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    serve_login(K_EVIL, CLIENT_ID, NONCE);
    assert_int_equal(finish(&p, err), ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "id_token: signature invalid"));
    assert_int_equal(fx_hits(FX, ISS "/userinfo"), 0);
    assert_null(p.dezi_nummer);
}

static void test_id_token_audience_wrong(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    serve_login(K_DEZI, "another-client", NONCE);
    assert_int_equal(finish(&p, err), ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "id_token: audience"));
}

static void test_id_token_nonce_wrong(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    serve_login(K_DEZI, CLIENT_ID, "another-nonce");
    assert_int_equal(finish(&p, err), ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "id_token: nonce"));
    assert_null(strstr(err, "another-nonce"));
}

static void test_token_endpoint_errors(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, ISS "/token", 400, "application/json", strdup("{\"error\":\"invalid_grant\"}"));
    assert_int_equal(finish(&p, err), ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "invalid_grant"));
    assert_null(strstr(err, "c6b9fd37"));
    fx_serve(FX, ISS "/token", 400, "application/json", strdup("{\"error\":\"access_denied\"}"));
    assert_int_equal(finish(&p, err), ZR_DEZI_DENIED);
    fx_serve(FX, ISS "/token", 0, NULL, NULL);
    assert_int_equal(finish(&p, err), ZR_DEZI_UNAVAILABLE);
}

/* --- revocation -------------------------------------------------------- */

static zr_dezi_professional_t pro(void)
{
    zr_dezi_professional_t p;
    memset(&p, 0, sizeof(p));
    p.verklaring_id = (char *)VID;
    return p;
}

static void test_status_actief_passes(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_OK);
    assert_int_equal(fx_hits(FX, LIST_URL), 0);
}

static void test_status_revoked(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 200, "application/json",
             strdup("{\"verklaringId\":\"" VID "\",\"status\":\"ingetrokken\"}"));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_REVOKED);
    assert_non_null(strstr(err, "revoked"));
    /* revoked also through a full login */
    serve_login(K_DEZI, CLIENT_ID, NONCE);
    zr_dezi_professional_t q;
    assert_int_equal(finish(&q, err), ZR_DEZI_REVOKED);
    assert_null(q.dezi_nummer);
}

static void test_status_down_list_used(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 503, "application/json", strdup("{}"));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_OK);
    assert_int_equal(fx_hits(FX, LIST_URL), 1);
    /* On the list: revoked. */
    fx_serve(FX, LIST_URL, 200, "application/jose", revocation_list(VID, 3600));
    fx_renew(FX, FX->env);
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_REVOKED);
    /* No status URI in the verklaring: the list alone. */
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, NULL, err, sizeof(err)), ZR_DEZI_REVOKED);
}

static void test_list_badly_signed_not_used(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 0, NULL, NULL);
    json_t *c = json_pack("{s:s, s:i, s:i, s:i, s:[]}", "iss", ISS, "exp", 4102444800, "nbf", 1, "ververs_tijdstip",
                          4102444800, "revocaties");
    fx_serve(FX, LIST_URL, 200, "application/jose", sign_jws(K_EVIL, "RS256", "reg-1", JKU, c));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_UNAVAILABLE);
    assert_non_null(strstr(err, "revocation list: signature invalid"));
}

static void test_both_down_fail_closed(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 0, NULL, NULL);
    fx_serve(FX, LIST_URL, 503, "text/plain", strdup("down"));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_UNAVAILABLE);
    assert_non_null(strstr(err, "revocation status unavailable"));
}

static void test_both_down_fail_open(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    FX->cfg.revocation_fail_open = 1;
    fx_serve(FX, STATUS_URI, 0, NULL, NULL);
    fx_serve(FX, LIST_URL, 0, NULL, NULL);
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_OK);
}

static void test_list_cached_until_ververs_tijdstip(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 0, NULL, NULL);
    fx_serve(FX, LIST_URL, 200, "application/jose", revocation_list(NULL, 100));
    for (int i = 0; i < 3; i++)
        assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_OK);
    assert_int_equal(fx_hits(FX, LIST_URL), 1);
    /* Past ververs_tijdstip: fetched again, and the new list names it. */
    setenv("ZR_TEST_TIME_OFFSET", "200", 1);
    fx_serve(FX, LIST_URL, 200, "application/jose", revocation_list(VID, 3600));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_REVOKED);
    assert_int_equal(fx_hits(FX, LIST_URL), 2);
    /* A stale list is not used when the refresh fails: fail closed. */
    setenv("ZR_TEST_TIME_OFFSET", "4000", 1);
    fx_serve(FX, LIST_URL, 0, NULL, NULL);
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_UNAVAILABLE);
}

static void test_status_404_is_revoked(void **state)
{
    zr_dezi_professional_t p = pro();
    char err[ERRLEN] = "";
    (void)state;
    fx_serve(FX, STATUS_URI, 404, "application/problem+json", strdup("{\"status\":404}"));
    assert_int_equal(zr_dezi_revocation_check(FX->d, &p, STATUS_URI, err, sizeof(err)), ZR_DEZI_REVOKED);
}

/* Every URL is judged by libcurl's parser, the one that then connects. */
static void url_ok(const char *url, zr_environment_t env)
{
    char why[128] = "";
    if (zr_dezi_url_check(url, env, why, sizeof(why)) != 0)
        fail_msg("%s refused in %s: %s", url, zr_environment_name(env), why);
}

static void url_refused(const char *url, zr_environment_t env, const char *reason)
{
    char why[128] = "";
    if (zr_dezi_url_check(url, env, why, sizeof(why)) == 0)
        fail_msg("%s allowed in %s", url, zr_environment_name(env));
    if (!strstr(why, reason))
        fail_msg("%s refused with '%s', wanted '%s'", url, why, reason);
}

static void test_url_check_https_and_loopback_http(void **state)
{
    (void)state;
    url_ok("https://auth.dezi.nl/token", ZR_ENV_PRODUCTION);
    url_ok("HTTPS://auth.dezi.nl/token", ZR_ENV_PRODUCTION); /* the scheme is case-insensitive */
    url_ok("https://auth.dezi.nl/authorize?x=1", ZR_ENV_PRODUCTION);
    url_ok("http://localhost:8082/token", ZR_ENV_DEVELOPMENT);
    url_ok("HTTP://LocalHost:8082/token", ZR_ENV_DEVELOPMENT);
    url_ok("http://127.0.0.1:8082/token", ZR_ENV_DEVELOPMENT);
    url_ok("http://[::1]:8082/token", ZR_ENV_DEVELOPMENT);
    url_ok("http://[0:0:0:0:0:0:0:1]:8082/token", ZR_ENV_DEVELOPMENT); /* ::1 written out */
    url_refused("http://auth.dezi.nl/token", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("HTTP://AUTH.DEZI.NL/token", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("http://localhost.evil.nl/token", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("http://127.0.0.1.evil.nl/", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("ftp://auth.dezi.nl/", ZR_ENV_DEVELOPMENT, "not https");
    url_refused("auth.dezi.nl/token", ZR_ENV_DEVELOPMENT, "not an absolute URL");
    url_refused(NULL, ZR_ENV_DEVELOPMENT, "not an absolute URL");
}

static void test_url_check_userinfo_in_authority(void **state)
{
    (void)state;
    /* The host is evil.example; "localhost:80" is a user name and password. */
    url_refused("http://localhost:80@evil.example/", ZR_ENV_DEVELOPMENT, "userinfo part");
    url_refused("http://127.0.0.1@evil.example/token", ZR_ENV_DEVELOPMENT, "userinfo part");
    url_refused("http://[::1]@evil.example/token", ZR_ENV_DEVELOPMENT, "userinfo part");
    url_refused("https://user:pass@auth.dezi.nl/token", ZR_ENV_PRODUCTION, "userinfo part");
    url_refused("https://user@auth.dezi.nl/token", ZR_ENV_PRODUCTION, "userinfo part");
    url_refused("https://@auth.dezi.nl/token", ZR_ENV_PRODUCTION, "userinfo part");
    url_refused("https://auth.dezi.nl;x=y@evil.example/", ZR_ENV_PRODUCTION, "userinfo part");
    url_refused("https://auth.dezi.nl\\@evil.example/", ZR_ENV_PRODUCTION, "userinfo part");
}

static void test_url_check_trailing_dot_zone_fragment(void **state)
{
    (void)state;
    /* "localhost." is a DNS name, not this machine. */
    url_refused("http://localhost./token", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("http://localhost.:8082/token", ZR_ENV_DEVELOPMENT, "http only to localhost");
    url_refused("http://[::1%25lo]:8082/token", ZR_ENV_DEVELOPMENT, "zone id");
    url_refused("https://auth.dezi.nl/token#x", ZR_ENV_PRODUCTION, "fragment");
}

static void test_url_check_http_only_in_development(void **state)
{
    (void)state;
    /* preprod: loopback http for a rehearsal against the mocks, nothing else */
    url_ok("http://localhost:8082/token", ZR_ENV_PREPROD);
    url_refused("http://dezi.example:8082/token", ZR_ENV_PREPROD, "http only to localhost outside production");
    url_refused("http://127.0.0.1:8082/token", ZR_ENV_PRODUCTION, "https is required in production");
    url_refused("http://[::1]:8082/token", ZR_ENV_PRODUCTION, "https is required in production");
    url_ok("https://localhost:8443/token", ZR_ENV_PRODUCTION);
}

/* zr_dezi_new judges the issuer and jku_allow with the same function. */
static void test_new_refuses_http_issuer_outside_development(void **state)
{
    zr_dezi_config_t cfg = FX->cfg;
    char err[ERRLEN] = "";
    char *jku[1] = {(char *)"http://localhost:8082/dezi/jwks.json"};
    zr_dezi_t *d;
    (void)state;
    cfg.issuer = (char *)"http://localhost:8082";
    cfg.jku_allow = jku;
    d = zr_dezi_new(&cfg, ZR_ENV_DEVELOPMENT, err, sizeof(err));
    assert_non_null(d);
    zr_dezi_free(d);
    assert_null(zr_dezi_new(&cfg, ZR_ENV_PRODUCTION, err, sizeof(err)));
    assert_non_null(strstr(err, "dezi: issuer is http: https is required in production"));
    d = zr_dezi_new(&cfg, ZR_ENV_PREPROD, err, sizeof(err)); /* loopback: a rehearsal with the mock */
    assert_non_null(d);
    zr_dezi_free(d);
    cfg.issuer = (char *)ISS;
    assert_null(zr_dezi_new(&cfg, ZR_ENV_PRODUCTION, err, sizeof(err)));
    assert_non_null(strstr(err, "dezi: jku_allow entry 1 is http"));
    jku[0] = (char *)"http://localhost:80@evil.example/jwks.json";
    assert_null(zr_dezi_new(&cfg, ZR_ENV_DEVELOPMENT, err, sizeof(err)));
    assert_non_null(strstr(err, "dezi: jku_allow entry 1 has a userinfo part"));
}

/* Discovery endpoints pass the same judge; one bad endpoint changes none. */
static void test_discovery_endpoint_with_userinfo_refused(void **state)
{
    zr_dezi_authz_t a;
    char err[ERRLEN] = "";
    (void)state;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "issuer", ISS, "authorization_endpoint", ISS "/authorize",
                          "token_endpoint", "http://localhost:80@evil.example/token", "userinfo_endpoint",
                          ISS "/userinfo", "jwks_uri", JWKS_URI);
    fx_serve(FX, ISS "/.well-known/openid-configuration", 200, "application/json", dumps(j));
    json_decref(j);
    assert_int_equal(zr_dezi_authorize_begin(FX->d, "https://relay.test/dezi/callback", &a, err, sizeof(err)),
                     ZR_DEZI_UNAVAILABLE);
    assert_non_null(strstr(err, "dezi discovery: token_endpoint has a userinfo part"));
    char *ep = zr_dezi_endpoint(FX->d, "authorization");
    assert_null(ep);
    /* In production an http jwks_uri on this machine is refused too. */
    j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "issuer", ISS, "authorization_endpoint", ISS "/authorize",
                  "token_endpoint", ISS "/token", "userinfo_endpoint", ISS "/userinfo", "jwks_uri",
                  "http://127.0.0.1:8082/jwks");
    fx_serve(FX, ISS "/.well-known/openid-configuration", 200, "application/json", dumps(j));
    json_decref(j);
    fx_renew(FX, ZR_ENV_PRODUCTION);
    assert_int_equal(zr_dezi_authorize_begin(FX->d, "https://relay.test/dezi/callback", &a, err, sizeof(err)),
                     ZR_DEZI_UNAVAILABLE);
    assert_non_null(strstr(err, "dezi discovery: jwks_uri is http: https is required in production"));
}

/* OIDC Core §5.3.2: the userinfo of another subject is not used. */
static void test_finish_userinfo_sub_differs(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    ui_t u;
    (void)state;
    serve_login(K_DEZI, CLIENT_ID, NONCE);
    ui_default(&u);
    json_object_set_new(u.env, "sub", json_string("another-login-sub"));
    fx_serve(FX, ISS "/userinfo", 200, "application/jwt", ui_build(&u));
    assert_int_equal(finish(&p, err), ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "envelope: sub differs from the id_token's sub"));
    assert_null(strstr(err, "another-login-sub"));
    assert_null(p.dezi_nummer);
    assert_int_equal(fx_hits(FX, STATUS_URI), 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_authorize_begin_pkce_state_nonce),
        T(test_finish_public_client),
        T(test_finish_private_key_jwt),
        T(test_id_token_bad_signature),
        T(test_id_token_audience_wrong),
        T(test_id_token_nonce_wrong),
        T(test_token_endpoint_errors),
        T(test_status_actief_passes),
        T(test_status_revoked),
        T(test_status_down_list_used),
        T(test_list_badly_signed_not_used),
        T(test_both_down_fail_closed),
        T(test_both_down_fail_open),
        T(test_list_cached_until_ververs_tijdstip),
        T(test_status_404_is_revoked),
        T(test_url_check_https_and_loopback_http),
        T(test_url_check_userinfo_in_authority),
        T(test_url_check_trailing_dot_zone_fragment),
        T(test_url_check_http_only_in_development),
        T(test_new_refuses_http_issuer_outside_development),
        T(test_discovery_endpoint_with_userinfo_refused),
        T(test_finish_userinfo_sub_differs),
    };
    /* as main() does (src/main.c): libcurl's global state before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
#endif /* ZR_TESTING */
