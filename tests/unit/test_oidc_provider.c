/* OpenID Provider: discovery, JWKS, CORS, pairwise subjects, set-up checks. */
#include "test_oidc_fixture.h"
#include "log_capture.h"

#include <openssl/hmac.h>
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
    /* NL GOV §Caching: at least a week unless the operator sets less */
    assert_string_equal(fx_header(&resp, "Cache-Control"), "public, max-age=604800");
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
    /* issue 17 §2: encryption to the client's key, nothing weaker than
     * RSA-OAEP and A256GCM; request objects only with oidc.encryption_keys */
    for (const char *const *w = (const char *const[]){"userinfo", "id_token", NULL}; *w; w++) {
        char name[64];
        snprintf(name, sizeof(name), "%s_encryption_alg_values_supported", *w);
        assert_true(has_string(json_object_get(d, name), "RSA-OAEP"));
        assert_true(has_string(json_object_get(d, name), "RSA-OAEP-256"));
        assert_false(has_string(json_object_get(d, name), "RSA1_5"));
        assert_int_equal(json_array_size(json_object_get(d, name)), 2);
        snprintf(name, sizeof(name), "%s_encryption_enc_values_supported", *w);
        assert_true(has_string(json_object_get(d, name), "A256GCM"));
        assert_int_equal(json_array_size(json_object_get(d, name)), 1);
    }
    assert_null(json_object_get(d, "request_object_encryption_alg_values_supported"));
    assert_null(json_object_get(d, "request_object_encryption_enc_values_supported"));
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
    /* signed request objects (RFC 9101): never none or HS* */
    assert_true(json_is_true(json_object_get(d, "request_parameter_supported")));
    assert_int_equal(json_array_size(json_object_get(d, "request_object_signing_alg_values_supported")), 3);
    /* only the request_uri values of our PAR endpoint (RFC 9126) */
    assert_true(json_is_true(json_object_get(d, "request_uri_parameter_supported")));
    assert_true(json_is_true(json_object_get(d, "require_request_uri_registration")));
    assert_true(json_is_false(json_object_get(d, "require_pushed_authorization_requests")));
    assert_non_null(json_string_value(json_object_get(d, "pushed_authorization_request_endpoint")));
    assert_true(json_is_true(json_object_get(d, "claims_parameter_supported")));
    assert_true(json_is_true(json_object_get(d, "authorization_response_iss_parameter_supported")));
    json_decref(d);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

/* Issue 17 §3 (NL GOV §Discovery: private_key_jwt and/or tls_client_auth):
 * client_secret_basic and none are listed only while a client uses them,
 * tls_client_auth and certificate-bound tokens only with oidc.mtls. */
static void test_discovery_auth_methods(void **state)
{
    fx_t *fx = *state;
    zr_config_t cfg = fx->cfg;
    zr_oidc_t *op;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *d, *m;
    char err[256];

    cfg.clients = &fx->clients[FX_PGO]; /* private_key_jwt only */
    cfg.client_count = 1;
    for (int mtls = 0; mtls < 2; mtls++) {
        cfg.oidc.mtls_ca_file = mtls ? (char *)"/etc/zorgrelay/portal-ca.pem" : NULL;
        op = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
        assert_non_null(op);
        fx_req(&req, "GET", "/.well-known/openid-configuration");
        zr_http_response_init(&resp);
        assert_int_equal(zr_oidc_handle_discovery(op, &req, &resp), 0);
        d = fx_json(&resp);
        assert_non_null(d);
        m = json_object_get(d, "token_endpoint_auth_methods_supported");
        assert_int_equal(json_array_size(m), mtls ? 2 : 1);
        assert_true(has_string(m, "private_key_jwt"));
        assert_int_equal(has_string(m, "tls_client_auth"), mtls);
        assert_false(has_string(m, "client_secret_basic"));
        assert_false(has_string(m, "none"));
        m = json_object_get(d, "introspection_endpoint_auth_methods_supported");
        assert_int_equal(json_array_size(m), mtls ? 2 : 1);
        assert_int_equal(json_is_true(json_object_get(d, "tls_client_certificate_bound_access_tokens")), mtls);
        assert_null(json_object_get(d, "mtls_endpoint_aliases")); /* the same endpoints */
        json_decref(d);
        zr_http_response_free(&resp);
        fx_req_free(&req);
        zr_oidc_free(op);
    }
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
    /* NL GOV §Caching: the JWKS as discovery, a week by default ... */
    assert_string_equal(fx_header(&resp, "Cache-Control"), "public, max-age=604800");
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
    char *a = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    char *a2 = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    char *b = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL2], &id);
    char *c = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &other);

    assert_non_null(a);
    assert_int_equal(strlen(a), 43);
    assert_null(strstr(a, FX_BSN));
    assert_string_equal(a, a2);       /* stable */
    assert_string_not_equal(a, b);    /* another client */
    assert_string_not_equal(a, c);    /* another person */
    free(a);
    free(a2);
    free(b);
    free(c);
}

/* base64url(HMAC-SHA256(0x17 x 32, input)) with OpenSSL alone: the
 * fixture's pairwise secret, independent of the code under test. */
static char *expected_sub(const unsigned char *input, size_t len)
{
    unsigned char key[32], mac[32], b64[64];
    unsigned int mac_len = 0;
    char *out;
    int n;
    memset(key, 0x17, sizeof(key));
    assert_non_null(HMAC(EVP_sha256(), key, sizeof(key), input, len, mac, &mac_len));
    assert_int_equal(mac_len, 32);
    n = EVP_EncodeBlock(b64, mac, 32);
    while (n > 0 && b64[n - 1] == '=')
        n--;
    out = strndup((const char *)b64, (size_t)n);
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

/* The documented input (docs/claims.md): each field as a 4-byte big-endian
 * length and its bytes: label, sector, id type, value. */
static size_t documented_input(unsigned char *out, const char *sector, const char *id_type, const char *value)
{
    const char *fields[] = {"zorgrelay pairwise sub v2", sector, id_type, value};
    size_t at = 0;
    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(fields[i]);
        out[at++] = (unsigned char)(n >> 24);
        out[at++] = (unsigned char)(n >> 16);
        out[at++] = (unsigned char)(n >> 8);
        out[at++] = (unsigned char)n;
        memcpy(out + at, fields[i], n);
        at += n;
    }
    return at;
}

/* Each client is a sector of its own: two portals a vendor hosts on one
 * domain (even with the same redirect URI) get different subs. */
static void test_pairwise_own_sector_by_default(void **state)
{
    fx_t *fx = *state;
    zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    zr_client_t same_host = fx->clients[FX_PORTAL];
    unsigned char input[512];
    char *a, *b, *want;

    same_host.client_id = (char *)"portal-dermatologie"; /* also https://portal.example.nl/cb */
    a = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    b = zr_oidc_pairwise_sub(fx->op, &same_host, &id);
    assert_non_null(a);
    assert_non_null(b);
    assert_string_not_equal(a, b);
    /* ... because the sector is the client_id */
    want = expected_sub(input, documented_input(input, "portal", ZR_ID_LEGACY_BSN, FX_BSN));
    assert_string_equal(a, want);
    free(want);
    free(a);
    free(b);
}

/* Clients that name one sector_identifier see one sub; naming another
 * client's client_id joins that client's own sector. */
static void test_pairwise_shared_sector(void **state)
{
    fx_t *fx = *state;
    zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    zr_client_t web = fx->clients[FX_PORTAL], app = fx->clients[FX_APP], joins_portal = fx->clients[FX_PGO];
    unsigned char input[512];
    char *w, *a, *p, *j, *own, *want;

    web.client_id = (char *)"ziekenhuis-web";
    web.sector_identifier = (char *)"https://ziekenhuis.example.nl";
    app.sector_identifier = (char *)"https://ziekenhuis.example.nl"; /* another host, another auth method */
    joins_portal.sector_identifier = (char *)"portal";
    w = zr_oidc_pairwise_sub(fx->op, &web, &id);
    a = zr_oidc_pairwise_sub(fx->op, &app, &id);
    p = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    j = zr_oidc_pairwise_sub(fx->op, &joins_portal, &id);
    own = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_APP], &id);
    assert_string_equal(w, a);
    assert_string_not_equal(w, p);
    assert_string_equal(j, p);
    assert_string_not_equal(a, own); /* app without the key: its own sector */
    want = expected_sub(input, documented_input(input, "https://ziekenhuis.example.nl", ZR_ID_LEGACY_BSN, FX_BSN));
    assert_string_equal(w, want);
    free(want);
    free(w);
    free(a);
    free(p);
    free(j);
    free(own);
}

/* Reordering (or adding) redirect URIs changes no sub. */
static void test_pairwise_redirect_order(void **state)
{
    fx_t *fx = *state;
    zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    char *forward[] = {"https://portal.example.nl/cb", "https://app.example.com/cb"};
    char *backward[] = {"https://app.example.com/cb", "https://portal.example.nl/cb"};
    zr_client_t a = fx->clients[FX_PORTAL], b = fx->clients[FX_PORTAL];
    char *sa, *sb;

    a.redirect_uris = forward;
    a.redirect_uri_count = 2;
    b.redirect_uris = backward;
    b.redirect_uri_count = 2;
    sa = zr_oidc_pairwise_sub(fx->op, &a, &id);
    sb = zr_oidc_pairwise_sub(fx->op, &b, &id);
    assert_non_null(sa);
    assert_string_equal(sa, sb);
    free(sa);
    free(sb);
}

/* No two (sector, id type, value) share an input: with '|' between them,
 * sector "x|T|1" with value "23" and sector "x" with value "1|T|23" would
 * (T the id type), as would "a" + "bc" and "ab" + "c" without separator. */
static void test_pairwise_input_unambiguous(void **state)
{
    fx_t *fx = *state;
    zr_client_t s1 = fx->clients[FX_PORTAL], s2 = fx->clients[FX_PORTAL], s3 = fx->clients[FX_PORTAL],
                s4 = fx->clients[FX_PORTAL];
    zr_subject_id_t v1 = {(char *)ZR_ID_LEGACY_BSN, (char *)"23"};
    zr_subject_id_t v2 = {(char *)ZR_ID_LEGACY_BSN, (char *)"1|" ZR_ID_LEGACY_BSN "|23"};
    zr_subject_id_t bc = {(char *)"", (char *)"bc"}, c = {(char *)"", (char *)"c"};
    unsigned char input[512];
    char *x1, *x2, *x3, *x4, *want;

    s1.sector_identifier = (char *)"x|" ZR_ID_LEGACY_BSN "|1";
    s2.sector_identifier = (char *)"x";
    s3.sector_identifier = (char *)"a";
    s4.sector_identifier = (char *)"ab";
    x1 = zr_oidc_pairwise_sub(fx->op, &s1, &v1);
    x2 = zr_oidc_pairwise_sub(fx->op, &s2, &v2);
    x3 = zr_oidc_pairwise_sub(fx->op, &s3, &bc);
    x4 = zr_oidc_pairwise_sub(fx->op, &s4, &c);
    assert_non_null(x1);
    assert_non_null(x3);
    assert_string_not_equal(x1, x2);
    assert_string_not_equal(x3, x4);
    /* and the input is the documented one */
    want = expected_sub(input, documented_input(input, "a", "", "bc"));
    assert_string_equal(x3, want);
    free(want);
    free(x1);
    free(x2);
    free(x3);
    free(x4);
}

/* Upgrading: legacy_sector_host gives exactly the sub of before issue 12,
 * HMAC over host "|" id type "|" value, also after the portal moved to
 * another host; and never the sub of a sector_identifier with that name. */
static void test_pairwise_legacy_host(void **state)
{
    fx_t *fx = *state;
    zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    char *moved_uri[] = {"https://portaal.nieuw.example.nl/cb"};
    zr_client_t moved = fx->clients[FX_PORTAL], named = fx->clients[FX_PORTAL], bad = fx->clients[FX_PORTAL];
    const char *old_input = "portal.example.nl|" ZR_ID_LEGACY_BSN "|" FX_BSN;
    char *sub, *want, *other;

    moved.redirect_uris = moved_uri;
    moved.legacy_sector_host = (char *)"portal.example.nl";
    named.sector_identifier = (char *)"portal.example.nl";
    sub = zr_oidc_pairwise_sub(fx->op, &moved, &id);
    want = expected_sub((const unsigned char *)old_input, strlen(old_input));
    other = zr_oidc_pairwise_sub(fx->op, &named, &id);
    assert_non_null(sub);
    assert_string_equal(sub, want);
    assert_string_not_equal(sub, other);
    /* a '|' in the host would make the old format ambiguous: no sub at all */
    bad.legacy_sector_host = (char *)"portal|x";
    assert_null(zr_oidc_pairwise_sub(fx->op, &bad, &id));
    free(sub);
    free(want);
    free(other);
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
    /* no language stored: Dutch pages, English error_description (records
     * from before issue 18) */
    assert_int_equal(b.lang, ZR_LANG_NL);
    free(json);
    zr_oidc_authz_clear(&b);
    /* the language is kept as its code and read back by it */
    a.lang = ZR_LANG_EN;
    a.error_lang = ZR_LANG_NL;
    json = zr_oidc_authz_to_json(&a);
    assert_non_null(strstr(json, "\"en\""));
    assert_int_equal(zr_oidc_authz_from_json(json, &b), 0);
    assert_int_equal(b.lang, ZR_LANG_EN);
    assert_int_equal(b.error_lang, ZR_LANG_NL);
    zr_oidc_authz_clear(&b);
    /* a code no catalog has any more (a language removed across a
     * restart): Dutch pages, English error_description */
    {
        char *p = strstr(json, "\"lang\"");
        assert_non_null(p);
        p = strstr(p + 6, "\"en\"");
        assert_non_null(p);
        memcpy(p + 1, "xx", 2);
        p = strstr(json, "\"error_lang\"");
        assert_non_null(p);
        p = strstr(p + 12, "\"nl\"");
        assert_non_null(p);
        memcpy(p + 1, "zz", 2);
    }
    assert_int_equal(zr_oidc_authz_from_json(json, &b), 0);
    assert_int_equal(b.lang, ZR_LANG_NL);
    assert_int_equal(b.error_lang, ZR_LANG_EN);
    free(json);
    zr_oidc_authz_clear(&b);
    a.lang = ZR_LANG_NL;
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
    cfg.oidc.metadata_max_age_s = 3600; /* oidc.metadata_max_age */
    {
        /* a chain that does not reach a root (as the loader marks it):
         * published as it is, with a warning (production refuses it) */
        char path[64], *logged;
        int saved = capture_begin(path);
        op = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
        logged = capture_end(path, saved);
        assert_non_null(strstr(logged, "x5c does not reach a root certificate"));
        free(logged);
        zr_oidc_free(op);
        keys[0].chain_to_root = 1;
        saved = capture_begin(path);
        op = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
        logged = capture_end(path, saved);
        assert_null(strstr(logged, "x5c does not reach a root certificate"));
        free(logged);
    }
    assert_non_null(op);
    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_jwks(op, &req, &resp), 0);
    assert_string_equal(fx_header(&resp, "Cache-Control"), "public, max-age=3600");
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
        cmocka_unit_test(test_discovery_auth_methods),
        cmocka_unit_test(test_jwks),
        cmocka_unit_test(test_jwks_x5c_matches_cert),
        cmocka_unit_test(test_cors),
        cmocka_unit_test(test_pairwise),
        cmocka_unit_test(test_pairwise_own_sector_by_default),
        cmocka_unit_test(test_pairwise_shared_sector),
        cmocka_unit_test(test_pairwise_redirect_order),
        cmocka_unit_test(test_pairwise_input_unambiguous),
        cmocka_unit_test(test_pairwise_legacy_host),
        cmocka_unit_test(test_authz_json),
        cmocka_unit_test(test_jwks_x5c_chain),
        cmocka_unit_test(test_new_refuses_missing_alg),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
