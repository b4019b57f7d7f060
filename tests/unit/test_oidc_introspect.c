/* OpenID Provider: token introspection (RFC 7662) for the portal's resource
 * servers: who may ask, about which tokens, and what the answer holds. */
#include "test_oidc_fixture.h"

#include <unistd.h>

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct {
    char *verifier, *challenge, *code;
    fx_reply_t token;
} login_t;

/* A professional's access token for docs. */
static void login_professional(fx_t *fx, login_t *l)
{
    zr_subject_t pro;
    memset(l, 0, sizeof(*l));
    fx_pro_subject(&pro, FX_DEZI_NUMMER, 1);
    fx_pkce(&l->verifier, &l->challenge);
    l->code = fx_login_subject(fx, &fx->clients[FX_DOCS], l->challenge, NULL, NULL, &pro);
    fx_redeem_basic(fx, &fx->clients[FX_DOCS], FX_DOCS_SECRET, l->code, l->verifier, &l->token);
    zr_subject_clear(&pro);
}

static void login_free(login_t *l)
{
    free(l->verifier);
    free(l->challenge);
    free(l->code);
    fx_reply_free(&l->token);
}

static const char *access_token(login_t *l) { return fx_jstr(l->token.body, "access_token"); }

/* Introspects token as a client_secret_basic client. */
static void introspect_basic(fx_t *fx, const char *id, const char *secret, const char *token, fx_reply_t *r)
{
    zr_http_request_t req;
    fx_introspect_req(&req, token);
    fx_basic(&req, id, secret);
    fx_call_introspect(fx, &req, r);
    fx_req_free(&req);
}

static void expect_inactive(fx_reply_t *r)
{
    assert_int_equal(r->resp.status, 200);
    /* §2.2: nothing but active=false about a token the caller may not know */
    assert_int_equal(json_object_size(r->body), 1);
    assert_true(json_is_false(json_object_get(r->body, "active")));
}

static void test_own_token_active(void **state)
{
    fx_t *fx = *state;
    login_t l;
    fx_reply_t r;
    json_t *idt, *b;

    login_professional(fx, &l);
    idt = fx_verify_with_jwks(fx, fx_jstr(l.token.body, "id_token"), NULL, 0);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
    b = r.body;
    assert_int_equal(r.resp.status, 200);
    assert_string_equal(r.resp.content_type, "application/json");
    assert_true(json_is_true(json_object_get(b, "active")));
    assert_string_equal(fx_jstr(b, "client_id"), "docs");
    assert_string_equal(fx_jstr(b, "token_type"), "Bearer");
    assert_string_equal(fx_jstr(b, "scope"), "openid");
    assert_string_equal(fx_jstr(b, "iss"), FX_ISSUER);
    assert_true(json_is_integer(json_object_get(b, "iat")));
    assert_int_equal(json_integer_value(json_object_get(b, "exp")) - json_integer_value(json_object_get(b, "iat")),
                     300);
    assert_true(json_integer_value(json_object_get(b, "exp")) > (json_int_t)zr_time_now());
    assert_string_equal(fx_jstr(b, "sub"), fx_jstr(idt, "sub")); /* the same pairwise sub */
    assert_string_equal(fx_jstr(b, "acr"), "http://eidas.europa.eu/LoA/high");
    assert_string_equal(fx_jstr(b, "subject_type"), "professional");
    assert_string_equal(fx_jstr(b, "dezi_nummer"), FX_DEZI_NUMMER);
    assert_string_equal(fx_jstr(b, "ura"), "87654321");
    assert_string_equal(fx_jstr(b, "rol_code"), "01.015");
    assert_int_equal(json_array_size(json_object_get(b, "roles")), 2);
    assert_string_equal(fx_jstr(b, "name"), "J.H. van der Berg");
    assert_null(json_object_get(b, "bsn"));
    fx_reply_free(&r);

    /* token_type_hint is only a hint (§2.1): the access token is found anyway */
    {
        zr_http_request_t req;
        fx_introspect_req(&req, access_token(&l));
        zr_kv_add(&req.form, "token_type_hint", "refresh_token");
        fx_basic(&req, "docs", FX_DOCS_SECRET);
        fx_call_introspect(fx, &req, &r);
        fx_req_free(&req);
        assert_true(json_is_true(json_object_get(r.body, "active")));
        fx_reply_free(&r);
    }
    json_decref(idt);
    login_free(&l);
}

/* A token of another client is as inactive as an unknown one. */
static void test_foreign_token_inactive(void **state)
{
    fx_t *fx = *state;
    login_t l;
    fx_reply_t r;

    login_professional(fx, &l);
    introspect_basic(fx, "both", FX_BOTH_SECRET, access_token(&l), &r);
    expect_inactive(&r);
    fx_reply_free(&r);
    /* and it stays active for its own client */
    introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
    assert_true(json_is_true(json_object_get(r.body, "active")));
    fx_reply_free(&r);
    login_free(&l);
}

static void test_caller_refused(void **state)
{
    fx_t *fx = *state;
    login_t l;
    fx_reply_t r;
    zr_http_request_t req;

    login_professional(fx, &l);
    /* authenticated, but not registered for introspection: 403 */
    introspect_basic(fx, "portal", "s3cret%3Awith%25chars", access_token(&l), &r);
    assert_int_equal(r.resp.status, 403);
    assert_string_equal(fx_jstr(r.body, "error"), "unauthorized_client");
    assert_null(json_object_get(r.body, "active"));
    fx_reply_free(&r);
    /* wrong secret: 401 invalid_client with a challenge */
    introspect_basic(fx, "docs", "wrong", access_token(&l), &r);
    assert_int_equal(r.resp.status, 401);
    assert_string_equal(fx_jstr(r.body, "error"), "invalid_client");
    assert_non_null(fx_header(&r.resp, "WWW-Authenticate"));
    assert_null(json_object_get(r.body, "active"));
    fx_reply_free(&r);
    /* no credentials at all */
    fx_introspect_req(&req, access_token(&l));
    fx_call_introspect(fx, &req, &r);
    fx_req_free(&req);
    assert_int_equal(r.resp.status, 401);
    fx_reply_free(&r);
    /* a public client (client_id only) proves nothing, even when flagged */
    fx->clients[FX_APP].introspection = 1;
    fx_introspect_req(&req, access_token(&l));
    zr_kv_add(&req.form, "client_id", "app");
    fx_call_introspect(fx, &req, &r);
    fx_req_free(&req);
    fx->clients[FX_APP].introspection = 0;
    assert_int_equal(r.resp.status, 401);
    assert_string_equal(fx_jstr(r.body, "error"), "invalid_client");
    fx_reply_free(&r);
    /* missing token; GET; duplicated token */
    introspect_basic(fx, "docs", FX_DOCS_SECRET, NULL, &r);
    assert_int_equal(r.resp.status, 400);
    assert_string_equal(fx_jstr(r.body, "error"), "invalid_request");
    fx_reply_free(&r);
    fx_introspect_req(&req, access_token(&l));
    req.method = "GET";
    fx_basic(&req, "docs", FX_DOCS_SECRET);
    fx_call_introspect(fx, &req, &r);
    fx_req_free(&req);
    assert_int_equal(r.resp.status, 400);
    fx_reply_free(&r);
    fx_introspect_req(&req, access_token(&l));
    zr_kv_add(&req.form, "token", "other");
    fx_basic(&req, "docs", FX_DOCS_SECRET);
    fx_call_introspect(fx, &req, &r);
    fx_req_free(&req);
    assert_int_equal(r.resp.status, 400);
    fx_reply_free(&r);
    login_free(&l);
}

static void test_unknown_and_expired_inactive(void **state)
{
    fx_t *fx = *state;
    fx_reply_t r;
    char record[512], big[5000], jti[64], token[4096];
    time_t now = zr_time_now();

    introspect_basic(fx, "docs", FX_DOCS_SECRET, "no-such-token", &r);
    expect_inactive(&r);
    fx_reply_free(&r);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, "", &r);
    expect_inactive(&r);
    fx_reply_free(&r);
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    introspect_basic(fx, "docs", FX_DOCS_SECRET, big, &r);
    expect_inactive(&r);
    fx_reply_free(&r);

    /* A signed token whose record (keyed by its jti) says: past its exp,
     * though still in the store (a clock-skewed Redis) */
    {
        login_t l;
        json_t *at;
        login_professional(fx, &l);
        at = fx_verify_typed(fx, access_token(&l), "at+jwt", NULL, 0);
        snprintf(jti, sizeof(jti), "%s", fx_jstr(at, "jti"));
        snprintf(token, sizeof(token), "%s", access_token(&l));
        json_decref(at);
        login_free(&l);
    }
    snprintf(record, sizeof(record),
             "{\"client_id\":\"docs\",\"scope\":\"openid\",\"iat\":%lld,\"exp\":%lld,"
             "\"subject\":{\"kind\":\"professional\",\"pro\":{\"dezi_nummer\":\"" FX_DEZI_NUMMER "\"},\"loa\":4}}",
             (long long)now - 400, (long long)now - 100);
    assert_int_equal(zr_store_put(fx->store, "access-token", jti, record, strlen(record), 60), ZR_STORE_OK);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, token, &r);
    expect_inactive(&r);
    fx_reply_free(&r);
    /* the same record within its lifetime is active: the check above is exp's */
    snprintf(record, sizeof(record),
             "{\"client_id\":\"docs\",\"scope\":\"openid\",\"iat\":%lld,\"exp\":%lld,"
             "\"subject\":{\"kind\":\"professional\",\"pro\":{\"dezi_nummer\":\"" FX_DEZI_NUMMER "\"},\"loa\":4}}",
             (long long)now - 10, (long long)now + 100);
    assert_int_equal(zr_store_put(fx->store, "access-token", jti, record, strlen(record), 60), ZR_STORE_OK);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, token, &r);
    assert_true(json_is_true(json_object_get(r.body, "active")));
    assert_string_equal(fx_jstr(r.body, "dezi_nummer"), FX_DEZI_NUMMER);
    assert_null(json_object_get(r.body, "name")); /* nothing known, nothing invented */
    fx_reply_free(&r);

    /* expired by the store's TTL */
    {
        /* 5 s: the login and the first look must fit in it under valgrind on
         * a loaded machine too; then wait until it has surely passed. */
        login_t l;
        int saved = fx->cfg.oidc.access_token_lifetime_s;
        time_t start = zr_time_now();
        fx->cfg.oidc.access_token_lifetime_s = 5;
        login_professional(fx, &l);
        fx->cfg.oidc.access_token_lifetime_s = saved;
        introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
        assert_true(json_is_true(json_object_get(r.body, "active")));
        fx_reply_free(&r);
        while (zr_time_now() < start + 7)
            sleep(1);
        introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
        expect_inactive(&r);
        fx_reply_free(&r);
        login_free(&l);
    }
}

/* The BSN only for a client entitled to it, like at UserInfo. */
static void test_bsn_by_entitlement(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *assertion;
    fx_reply_t t, r;
    zr_http_request_t req;

    /* both: entitled */
    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_BOTH], challenge, NULL, FX_BSN, NULL);
    fx_redeem_basic(fx, &fx->clients[FX_BOTH], FX_BOTH_SECRET, code, verifier, &t);
    introspect_basic(fx, "both", FX_BOTH_SECRET, fx_jstr(t.body, "access_token"), &r);
    assert_true(json_is_true(json_object_get(r.body, "active")));
    assert_string_equal(fx_jstr(r.body, "subject_type"), "patient");
    assert_string_equal(fx_jstr(r.body, "bsn"), FX_BSN);
    assert_string_equal(fx_jstr(r.body, "acr"), "http://eidas.europa.eu/LoA/substantial");
    assert_null(json_object_get(r.body, "dezi_nummer"));
    fx_reply_free(&r);
    fx_reply_free(&t);
    free(code);

    /* pgo: not entitled; private_key_jwt with aud = the introspection endpoint */
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, NULL, FX_BSN, FX_LEGAL_BSN);
    fx_token_req(&req, code, fx->clients[FX_PGO].redirect_uris[0], verifier);
    assertion = fx_assertion(fx, FX_TOKEN_URL, 60, "jti-intro-1");
    zr_kv_add(&req.form, "client_assertion_type", ASSERTION_TYPE);
    zr_kv_add(&req.form, "client_assertion", assertion);
    free(assertion);
    zr_http_response_init(&t.resp);
    assert_int_equal(zr_oidc_handle_token(fx->op, &req, &t.resp), 0);
    t.body = fx_json(&t.resp);
    assert_int_equal(t.resp.status, 200);
    fx_req_free(&req);

    fx_introspect_req(&req, fx_jstr(t.body, "access_token"));
    assertion = fx_assertion(fx, FX_ISSUER "/introspect", 60, "jti-intro-2");
    zr_kv_add(&req.form, "client_assertion_type", ASSERTION_TYPE);
    zr_kv_add(&req.form, "client_assertion", assertion);
    free(assertion);
    fx_call_introspect(fx, &req, &r);
    fx_req_free(&req);
    assert_int_equal(r.resp.status, 200);
    assert_true(json_is_true(json_object_get(r.body, "active")));
    assert_string_equal(fx_jstr(r.body, "client_id"), "pgo");
    assert_string_equal(fx_jstr(r.body, "subject_type"), "patient");
    assert_non_null(fx_jstr(r.body, "sub"));
    assert_null(json_object_get(r.body, "bsn"));
    assert_non_null(json_object_get(r.body, "represents"));
    assert_null(json_object_get(json_object_get(r.body, "represents"), "bsn"));
    assert_null(strstr(r.resp.body, FX_BSN));
    assert_null(strstr(r.resp.body, FX_LEGAL_BSN));
    fx_reply_free(&r);
    fx_reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

/* Issue 17 §2: a JWT access token stays revocable: its code replayed by its
 * client deletes the record under its jti, and introspection says inactive
 * though the token's signature and exp are still good. */
static void test_revoked_by_replay_inactive(void **state)
{
    fx_t *fx = *state;
    fx_reply_t r, again;
    login_t l;
    json_t *at;

    login_professional(fx, &l);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
    assert_true(json_is_true(json_object_get(r.body, "active")));
    fx_reply_free(&r);
    {
        zr_http_request_t req;
        fx_token_req(&req, l.code, fx->clients[FX_DOCS].redirect_uris[0], l.verifier);
        fx_basic(&req, "docs", FX_DOCS_SECRET);
        zr_http_response_init(&again.resp);
        assert_int_equal(zr_oidc_handle_token(fx->op, &req, &again.resp), 0);
        again.body = fx_json(&again.resp);
        fx_req_free(&req);
    }
    assert_int_equal(again.resp.status, 400);
    assert_string_equal(fx_jstr(again.body, "error"), "invalid_grant");
    fx_reply_free(&again);
    /* the JWT itself is as good as before: signed, typ at+jwt, exp ahead */
    at = fx_verify_typed(fx, access_token(&l), "at+jwt", NULL, 0);
    assert_true(json_integer_value(json_object_get(at, "exp")) > (json_int_t)zr_time_now());
    json_decref(at);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
    expect_inactive(&r);
    fx_reply_free(&r);
    login_free(&l);
}

static void test_store_down(void **state)
{
    fx_t *fx = *state;
    fx_reply_t r;
    login_t l;
    login_professional(fx, &l); /* a valid JWT: its record must be looked up */
    zr_test_redis_stop(&fx->redis);
    introspect_basic(fx, "docs", FX_DOCS_SECRET, access_token(&l), &r);
    login_free(&l);
    assert_int_equal(r.resp.status, 503);
    assert_null(json_object_get(r.body, "active"));
    fx_reply_free(&r);
    assert_int_equal(zr_test_redis_start(&fx->redis), 0);
}

static void test_discovery(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *d, *methods;

    fx_req(&req, "GET", "/.well-known/openid-configuration");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_discovery(fx->op, &req, &resp), 0);
    d = fx_json(&resp);
    assert_string_equal(fx_jstr(d, "introspection_endpoint"), FX_ISSUER "/introspect");
    methods = json_object_get(d, "introspection_endpoint_auth_methods_supported");
    assert_int_equal(json_array_size(methods), 2);
    assert_string_equal(json_string_value(json_array_get(methods, 0)), "private_key_jwt");
    assert_string_equal(json_string_value(json_array_get(methods, 1)), "client_secret_basic");
    json_decref(d);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_own_token_active),
        cmocka_unit_test(test_foreign_token_inactive),
        cmocka_unit_test(test_caller_refused),
        cmocka_unit_test(test_unknown_and_expired_inactive),
        cmocka_unit_test(test_bsn_by_entitlement),
        cmocka_unit_test(test_revoked_by_replay_inactive),
        cmocka_unit_test(test_store_down),
        cmocka_unit_test(test_discovery),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
