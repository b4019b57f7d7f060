/* OpenID Provider: discovery, JWKS, CORS, pairwise subjects, set-up checks. */
#include "test_oidc_fixture.h"

#include <openssl/x509v3.h>

static int has_string(json_t *arr, const char *s)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
            return 1;
    }
    return 0;
}

static void test_discovery(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *d;

    fx_req(&req, "GET", "/.well-known/openid-configuration");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_discovery(fx->op, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    assert_string_equal(resp.content_type, "application/json");
    assert_non_null(strstr(fx_header(&resp, "Cache-Control"), "max-age=300"));
    d = fx_json(&resp);
    assert_non_null(d);
    assert_string_equal(json_string_value(json_object_get(d, "issuer")), FX_ISSUER);
    assert_string_equal(json_string_value(json_object_get(d, "authorization_endpoint")), FX_ISSUER "/authorize");
    assert_string_equal(json_string_value(json_object_get(d, "token_endpoint")), FX_TOKEN_URL);
    assert_string_equal(json_string_value(json_object_get(d, "userinfo_endpoint")), FX_ISSUER "/userinfo");
    assert_string_equal(json_string_value(json_object_get(d, "jwks_uri")), FX_ISSUER "/jwks");
    assert_int_equal(json_array_size(json_object_get(d, "response_types_supported")), 1);
    assert_true(has_string(json_object_get(d, "response_types_supported"), "code"));
    assert_true(has_string(json_object_get(d, "response_modes_supported"), "query"));
    assert_true(has_string(json_object_get(d, "grant_types_supported"), "authorization_code"));
    assert_int_equal(json_array_size(json_object_get(d, "grant_types_supported")), 1);
    assert_true(has_string(json_object_get(d, "subject_types_supported"), "pairwise"));
    assert_false(has_string(json_object_get(d, "subject_types_supported"), "public"));
    assert_true(has_string(json_object_get(d, "id_token_signing_alg_values_supported"), "RS256"));
    assert_true(has_string(json_object_get(d, "id_token_signing_alg_values_supported"), "ES256"));
    assert_false(has_string(json_object_get(d, "id_token_signing_alg_values_supported"), "none"));
    assert_true(has_string(json_object_get(d, "token_endpoint_auth_methods_supported"), "private_key_jwt"));
    assert_true(has_string(json_object_get(d, "token_endpoint_auth_methods_supported"), "client_secret_basic"));
    assert_true(has_string(json_object_get(d, "token_endpoint_auth_methods_supported"), "none"));
    assert_false(has_string(json_object_get(d, "token_endpoint_auth_methods_supported"), "client_secret_post"));
    assert_true(has_string(json_object_get(d, "token_endpoint_auth_signing_alg_values_supported"), "ES256"));
    assert_true(has_string(json_object_get(d, "code_challenge_methods_supported"), "S256"));
    assert_false(has_string(json_object_get(d, "code_challenge_methods_supported"), "plain"));
    assert_true(has_string(json_object_get(d, "scopes_supported"), "openid"));
    for (const char *const *c = (const char *const[]){"sub", "acr", "auth_time", "nonce", "bsn", "represents",
                                                       "sub_id_type", NULL};
         *c; c++)
        assert_true(has_string(json_object_get(d, "claims_supported"), *c));
    assert_int_equal(json_array_size(json_object_get(d, "acr_values_supported")), 4);
    assert_true(has_string(json_object_get(d, "acr_values_supported"), "http://eidas.europa.eu/LoA/substantial"));
    assert_true(has_string(json_object_get(d, "acr_values_supported"), "http://eidas.europa.eu/LoA/high"));
    assert_true(json_is_false(json_object_get(d, "request_parameter_supported")));
    assert_true(json_is_false(json_object_get(d, "request_uri_parameter_supported")));
    assert_true(json_is_false(json_object_get(d, "claims_parameter_supported")));
    assert_true(json_is_true(json_object_get(d, "authorization_response_iss_parameter_supported")));
    json_decref(d);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

static void test_jwks(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *set, *k;
    size_t i;
    int rsa = 0, ec = 0;

    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_jwks(fx->op, &req, &resp), 0);
    assert_int_equal(resp.status, 200);
    set = fx_json(&resp);
    assert_int_equal(json_array_size(json_object_get(set, "keys")), 2);
    json_array_foreach(json_object_get(set, "keys"), i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
        assert_non_null(json_string_value(json_object_get(k, "kid")));
        /* no private parts, ever */
        assert_null(json_object_get(k, "d"));
        assert_null(json_object_get(k, "p"));
        if (strcmp(kty, "RSA") == 0) {
            rsa = 1;
            assert_string_equal(json_string_value(json_object_get(k, "kid")), "rsa-1");
            assert_string_equal(json_string_value(json_object_get(k, "alg")), "RS256");
            assert_string_equal(json_string_value(json_object_get(k, "e")), "AQAB");
            assert_int_equal(strlen(json_string_value(json_object_get(k, "n"))), 342); /* 2048 bits */
            assert_int_equal(json_array_size(json_object_get(k, "x5c")), 1);
        } else {
            ec = 1;
            assert_string_equal(kty, "EC");
            assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
            assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
            assert_int_equal(strlen(json_string_value(json_object_get(k, "x"))), 43);
            assert_int_equal(strlen(json_string_value(json_object_get(k, "y"))), 43);
            /* RFC 7638 thumbprint when no kid is configured */
            assert_int_equal(strlen(json_string_value(json_object_get(k, "kid"))), 43);
            assert_null(json_object_get(k, "x5c"));
        }
    }
    assert_true(rsa && ec);
    json_decref(set);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

/* The x5c certificate is the one configured, and its key is the JWK's. */
static void test_jwks_x5c_matches_cert(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *set, *k;
    char *want = zr_crypto_cert_base64(fx->keys[0].cert);

    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    zr_oidc_handle_jwks(fx->op, &req, &resp);
    set = fx_json(&resp);
    k = json_array_get(json_object_get(set, "keys"), 0);
    assert_string_equal(json_string_value(json_array_get(json_object_get(k, "x5c"), 0)), want);
    free(want);
    json_decref(set);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

static void test_cors(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;

    /* a registered origin is echoed, never "*" */
    fx_req(&req, "GET", "/jwks");
    zr_kv_add(&req.headers, "origin", "https://portal.example.nl");
    zr_http_response_init(&resp);
    zr_oidc_handle_jwks(fx->op, &req, &resp);
    assert_string_equal(fx_header(&resp, "Access-Control-Allow-Origin"), "https://portal.example.nl");
    assert_string_equal(fx_header(&resp, "Vary"), "Origin");
    zr_http_response_free(&resp);
    fx_req_free(&req);

    /* an unknown origin gets nothing */
    fx_req(&req, "GET", "/.well-known/openid-configuration");
    zr_kv_add(&req.headers, "origin", "https://evil.example");
    zr_http_response_init(&resp);
    zr_oidc_handle_discovery(fx->op, &req, &resp);
    assert_null(fx_header(&resp, "Access-Control-Allow-Origin"));
    assert_string_equal(fx_header(&resp, "Vary"), "Origin");
    zr_http_response_free(&resp);
    fx_req_free(&req);

    /* preflight */
    fx_req(&req, "OPTIONS", "/token");
    zr_kv_add(&req.headers, "origin", "https://portal.example.nl");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_token(fx->op, &req, &resp), 0);
    assert_int_equal(resp.status, 204);
    assert_string_equal(fx_header(&resp, "Access-Control-Allow-Origin"), "https://portal.example.nl");
    assert_non_null(strstr(fx_header(&resp, "Access-Control-Allow-Methods"), "POST"));
    assert_non_null(strstr(fx_header(&resp, "Access-Control-Allow-Headers"), "Authorization"));
    zr_http_response_free(&resp);
    fx_req_free(&req);

    fx_req(&req, "OPTIONS", "/userinfo");
    zr_kv_add(&req.headers, "origin", "https://evil.example");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_userinfo(fx->op, &req, &resp), 0);
    assert_int_equal(resp.status, 204);
    assert_null(fx_header(&resp, "Access-Control-Allow-Origin"));
    assert_null(fx_header(&resp, "Access-Control-Allow-Methods"));
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

static void test_pairwise(void **state)
{
    fx_t *fx = *state;
    zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    zr_subject_id_t other = {(char *)ZR_ID_LEGACY_BSN, (char *)"999990020"};
    zr_client_t copy = fx->clients[FX_PORTAL];
    char *other_uri[] = {"https://PORTAL.example.nl:8443/another-path"};
    char *a = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    char *a2 = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    char *b = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL2], &id);
    char *c = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &other);
    char *same_sector;

    copy.redirect_uris = other_uri;
    same_sector = zr_oidc_pairwise_sub(fx->op, &copy, &id);
    assert_non_null(a);
    assert_int_equal(strlen(a), 43);
    assert_null(strstr(a, FX_BSN));
    assert_string_equal(a, a2);       /* stable */
    assert_string_not_equal(a, b);    /* another sector */
    assert_string_not_equal(a, c);    /* another person */
    assert_string_equal(a, same_sector); /* the sector is the host only */
    free(a);
    free(a2);
    free(b);
    free(c);
    free(same_sector);
}

static void test_authz_json(void **state)
{
    zr_oidc_authz_t a = {0}, b;
    char *json;
    a.client_id = strdup("portal");
    a.redirect_uri = strdup("https://portal.example.nl/cb");
    a.scope = strdup("openid");
    a.code_challenge = strdup("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    a.nonce = strdup("n-0S6_WzA2Mj");
    a.min_loa = ZR_LOA_HIGH;
    a.force_authn = 1;
    json = zr_oidc_authz_to_json(&a);
    assert_int_equal(zr_oidc_authz_from_json(json, &b), 0);
    assert_string_equal(b.client_id, "portal");
    assert_string_equal(b.nonce, "n-0S6_WzA2Mj");
    assert_null(b.state);
    assert_int_equal(b.min_loa, ZR_LOA_HIGH);
    assert_int_equal(b.force_authn, 1);
    free(json);
    zr_oidc_authz_clear(&b);
    /* missing required members / garbage */
    assert_int_equal(zr_oidc_authz_from_json("{\"client_id\":\"x\"}", &b), -1);
    assert_null(b.client_id);
    assert_int_equal(zr_oidc_authz_from_json("not json", &b), -1);
    /* a nonce or state jansson cannot hold: no record at all, rather than
     * one without it (the ID token would lack the nonce) */
    free(a.nonce);
    a.nonce = strdup("\xff\xfe");
    assert_null(zr_oidc_authz_to_json(&a));
    free(a.nonce);
    a.nonce = strdup("n-0S6_WzA2Mj");
    a.state = strdup("st\x80te");
    assert_null(zr_oidc_authz_to_json(&a));
    zr_oidc_authz_clear(&a);
}

/* A certificate signed by issuer_key with the given subject and public key. */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int ca)
{
    X509 *x = X509_new();
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    ASN1_INTEGER_set(X509_get_serialNumber(x), ca ? 2 : 3);
    X509_set_version(x, 2);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, pub);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : X509_get_subject_name(x));
    X509V3_set_ctx(&ctx, issuer ? issuer : x, x, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    X509_sign(x, issuer_key, EVP_sha256());
    return x;
}

/* RFC 7517 §4.7: the whole chain the key's certificate file holds (a
 * PKIoverheid leaf and its intermediate), leaf first, base64 DER. */
static void test_jwks_x5c_chain(void **state)
{
    fx_t *fx = *state;
    EVP_PKEY *ca_key = fx_gen_key("EC");
    X509 *ca = make_cert(ca_key, "Staat der Nederlanden TEST", NULL, ca_key, 1);
    X509 *leaf = make_cert(fx->keys[0].key, "zorgrelay signing", ca, ca_key, 0);
    zr_oidc_key_t keys[2] = {fx->keys[0], fx->keys[1]};
    zr_config_t cfg = fx->cfg;
    zr_oidc_t *op;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *set, *x5c;
    char err[256] = "", *want_leaf = zr_crypto_cert_base64(leaf), *want_ca = zr_crypto_cert_base64(ca);

    keys[0].cert = leaf;
    keys[0].chain = sk_X509_new_null();
    sk_X509_push(keys[0].chain, ca);
    cfg.oidc.keys = keys;
    op = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
    assert_non_null(op);
    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_jwks(op, &req, &resp), 0);
    set = fx_json(&resp);
    x5c = json_object_get(json_array_get(json_object_get(set, "keys"), 0), "x5c");
    assert_int_equal(json_array_size(x5c), 2);
    assert_string_equal(json_string_value(json_array_get(x5c, 0)), want_leaf);
    assert_string_equal(json_string_value(json_array_get(x5c, 1)), want_ca);
    /* a key without a certificate has no x5c */
    assert_null(json_object_get(json_array_get(json_object_get(set, "keys"), 1), "x5c"));
    json_decref(set);
    zr_http_response_free(&resp);
    fx_req_free(&req);
    zr_oidc_free(op);
    sk_X509_pop_free(keys[0].chain, X509_free);
    X509_free(leaf);
    EVP_PKEY_free(ca_key);
    free(want_leaf);
    free(want_ca);
}

/* A client asking for an algorithm no key has is a start-up error. */
static void test_new_refuses_missing_alg(void **state)
{
    fx_t *fx = *state;
    zr_config_t cfg = fx->cfg;
    char err[256] = "";
    zr_oidc_t *op;

    cfg.oidc.key_count = 1; /* RSA only; pgo wants ES256 */
    op = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
    assert_null(op);
    assert_non_null(strstr(err, "pgo"));
    cfg = fx->cfg;
    cfg.oidc.code_lifetime_s = 600;
    assert_null(zr_oidc_new(&cfg, fx->store, err, sizeof(err)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_jwks),
        cmocka_unit_test(test_jwks_x5c_matches_cert),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_pairwise),
        cmocka_unit_test(test_authz_json),
        cmocka_unit_test(test_jwks_x5c_chain),
        cmocka_unit_test(test_new_refuses_missing_alg),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
