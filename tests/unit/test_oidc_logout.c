/* Logout on the OpenID Provider side (issue 5): sid in the ID token, the
 * id_token_hint check (ours only; expired accepted), the Logout Token's
 * contents (Back-Channel Logout 1.0 §2.4) and discovery. Needs Redis
 * (the code is redeemed through the real token endpoint). */
#include "test_oidc_fixture.h"

#define FX_SID "c2lkLWZvci10aGUtdGVzdA"

/* A login of a patient at the portal with sid set by "the relay"; returns
 * the ID token (malloc'ed). */
static char *login_with_sid(fx_t *fx, const char *sid)
{
    zr_http_request_t req;
    zr_http_response_t resp;
    zr_oidc_authz_t authz;
    zr_subject_t subject;
    fx_reply_t r = {0};
    char *verifier = NULL, *challenge = NULL, *code, *id_token;
    const zr_client_t *c = &fx->clients[FX_PORTAL];

    fx_pkce(&verifier, &challenge);
    fx_req(&req, "GET", "/authorize");
    fx_authorize_params(&req.query, c, challenge, "n-0S6_WzA2Mj");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_begin(fx->op, &req, &resp, &authz), ZR_OIDC_AUTHZ_OK);
    zr_http_response_free(&resp);
    zr_http_response_init(&resp);
    authz.sid = sid ? strdup(sid) : NULL;
    /* it survives the trip through the store */
    char *json = zr_oidc_authz_to_json(&authz);
    zr_oidc_authz_t back;
    assert_int_equal(zr_oidc_authz_from_json(json, &back), 0);
    free(json);
    if (sid)
        assert_string_equal(back.sid, sid);
    fx_subject(&subject, FX_ACTING_BSN, NULL);
    assert_int_equal(zr_oidc_authorize_finish(fx->op, &back, &subject, &resp), 0);
    code = fx_url_param(fx_header(&resp, "Location"), "code");
    assert_non_null(code);
    fx_redeem_basic(fx, c, "s3cret%3Awith%25chars", code, verifier, &r); /* form-encoded, RFC 6749 §2.3.1 */
    id_token = strdup(fx_jstr(r.body, "id_token"));
    fx_reply_free(&r);
    free(code);
    free(verifier);
    free(challenge);
    zr_subject_clear(&subject);
    zr_oidc_authz_clear(&authz);
    zr_oidc_authz_clear(&back);
    zr_http_response_free(&resp);
    fx_req_free(&req);
    return id_token;
}

static void test_id_token_sid(void **state)
{
    fx_t *fx = *state;
    char *t = login_with_sid(fx, FX_SID);
    json_t *claims = fx_verify_with_jwks(fx, t, NULL, 0);
    assert_string_equal(fx_jstr(claims, "sid"), FX_SID);
    json_decref(claims);
    free(t);
    /* No logout session: no sid claim. */
    t = login_with_sid(fx, NULL);
    claims = fx_verify_with_jwks(fx, t, NULL, 0);
    assert_null(json_object_get(claims, "sid"));
    json_decref(claims);
    free(t);
}

static void test_hint_ok_and_expired(void **state)
{
    fx_t *fx = *state;
    char err[256] = "";
    zr_oidc_hint_t h;
    zr_subject_t subject;
    char *t = login_with_sid(fx, FX_SID), *sub;

    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, t, &h, err, sizeof(err)), 0);
    assert_ptr_equal(h.client, &fx->clients[FX_PORTAL]);
    assert_string_equal(h.sid, FX_SID);
    fx_subject(&subject, FX_ACTING_BSN, NULL);
    sub = zr_oidc_subject_sub(fx->op, h.client, &subject);
    assert_string_equal(h.sub, sub); /* what the relay keeps per client */
    free(sub);
    zr_subject_clear(&subject);
    zr_oidc_hint_clear(&h);
#ifdef ZR_TESTING
    /* A day later (long expired): still accepted, RP-Initiated Logout §2. */
    setenv("ZR_TEST_TIME_OFFSET", "86400", 1);
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, t, &h, err, sizeof(err)), 0);
    unsetenv("ZR_TEST_TIME_OFFSET");
    zr_oidc_hint_clear(&h);
#endif
    free(t);
}

/* A JWT with our kid and alg but signed by another key, or with claims
 * changed after signing, or not ours at all: refused. */
static void test_hint_refused(void **state)
{
    fx_t *fx = *state;
    char err[256] = "";
    zr_oidc_hint_t h;
    cjose_err cerr;
    char *t = login_with_sid(fx, FX_SID);

    /* 1. Tampered payload (one character of the signature part changed). */
    char *bad = strdup(t);
    bad[strlen(bad) - 5] = bad[strlen(bad) - 5] == 'A' ? 'B' : 'A';
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, bad, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not signed by this relay"));
    free(bad);

    /* 2. Signed by someone else under our kid. */
    cjose_jwk_t *other = cjose_jwk_create_RSA_random(2048, NULL, 0, &cerr);
    cjose_header_t *hdr = cjose_header_new(&cerr);
    cjose_header_set(hdr, CJOSE_HDR_ALG, "RS256", &cerr);
    cjose_header_set(hdr, CJOSE_HDR_KID, "rsa-1", &cerr);
    const char *payload = "{\"iss\":\"" FX_ISSUER "\",\"aud\":\"portal\",\"sub\":\"x\",\"sid\":\"" FX_SID "\"}";
    cjose_jws_t *jws = cjose_jws_sign(other, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    const char *compact = NULL;
    assert_true(cjose_jws_export(jws, &compact, &cerr));
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, compact, &h, err, sizeof(err)), -1);
    cjose_jws_release(jws);
    cjose_header_release(hdr);
    cjose_jwk_release(other);

    /* 3. Not a JWS; empty. */
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, "abc.def", &h, err, sizeof(err)), -1);
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, "", &h, err, sizeof(err)), -1);

    /* 4. Our own Logout Token is no ID token. */
    char *lt = zr_oidc_logout_token(fx->op, &fx->clients[FX_PORTAL], "sub-1", FX_SID);
    assert_non_null(lt);
    assert_int_equal(zr_oidc_id_token_hint_verify(fx->op, lt, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "logout token"));
    free(lt);
    free(t);
}

static void test_logout_token(void **state)
{
    fx_t *fx = *state;
    cjose_err cerr;
    json_error_t jerr;
    uint8_t *plain;
    size_t plain_len;
    const zr_client_t *pgo = &fx->clients[FX_PGO];
    time_t now = zr_time_now();
    char *lt = zr_oidc_logout_token(fx->op, pgo, "pairwise-sub", FX_SID);
    assert_non_null(lt);

    cjose_jws_t *jws = cjose_jws_import(lt, strlen(lt), &cerr);
    assert_non_null(jws);
    cjose_header_t *hdr = cjose_jws_get_protected(jws);
    assert_string_equal(cjose_header_get(hdr, "typ", &cerr), "logout+jwt");
    /* The client's id_token_alg (pgo: ES256), a key from /jwks. */
    assert_string_equal(cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr), "ES256");
    assert_true(cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr));
    json_t *c = json_loadb((const char *)plain, plain_len, 0, &jerr);
    assert_non_null(c);
    assert_string_equal(fx_jstr(c, "iss"), FX_ISSUER);
    assert_string_equal(fx_jstr(c, "aud"), "pgo");
    assert_string_equal(fx_jstr(c, "sub"), "pairwise-sub");
    assert_string_equal(fx_jstr(c, "sid"), FX_SID);
    assert_non_null(fx_jstr(c, "jti"));
    assert_true(json_integer_value(json_object_get(c, "iat")) >= now - 5);
    assert_true(json_integer_value(json_object_get(c, "exp")) > json_integer_value(json_object_get(c, "iat")));
    assert_true(json_integer_value(json_object_get(c, "exp")) <= now + 300);
    json_t *events = json_object_get(c, "events");
    assert_true(json_is_object(events));
    assert_int_equal(json_object_size(events), 1);
    assert_true(json_is_object(json_object_get(events, ZR_OIDC_BACKCHANNEL_EVENT)));
    assert_int_equal(json_object_size(json_object_get(events, ZR_OIDC_BACKCHANNEL_EVENT)), 0);
    /* §2.4: a Logout Token MUST NOT contain a nonce. */
    assert_null(json_object_get(c, "nonce"));
    json_decref(c);
    cjose_jws_release(jws);

    /* Signature: with the published key of that kid (fx_verify_with_jwks
     * insists on typ JWT, so by hand). */
    zr_http_request_t req;
    zr_http_response_t resp;
    fx_req(&req, "GET", "/jwks");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_jwks(fx->op, &req, &resp), 0);
    json_t *jwks = fx_json(&resp), *k;
    size_t i;
    int verified = 0;
    jws = cjose_jws_import(lt, strlen(lt), &cerr);
    const char *kid = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_KID, &cerr);
    json_array_foreach(json_object_get(jwks, "keys"), i, k) {
        if (strcmp(json_string_value(json_object_get(k, "kid")), kid) != 0)
            continue;
        char *text = json_dumps(k, JSON_COMPACT);
        cjose_jwk_t *jwk = cjose_jwk_import(text, strlen(text), &cerr);
        verified = cjose_jws_verify(jws, jwk, &cerr);
        cjose_jwk_release(jwk);
        free(text);
    }
    assert_true(verified);
    cjose_jws_release(jws);
    json_decref(jwks);
    zr_http_response_free(&resp);
    fx_req_free(&req);

    /* Neither sub nor sid: nothing is made. */
    assert_null(zr_oidc_logout_token(fx->op, pgo, NULL, FX_SID));
    assert_null(zr_oidc_logout_token(fx->op, pgo, "s", NULL));
    free(lt);
}

static void test_discovery_logout(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    fx_req(&req, "GET", "/.well-known/openid-configuration");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_discovery(fx->op, &req, &resp), 0);
    json_t *d = fx_json(&resp);
    assert_string_equal(fx_jstr(d, "end_session_endpoint"), FX_ISSUER "/logout");
    assert_true(json_is_true(json_object_get(d, "backchannel_logout_supported")));
    assert_true(json_is_true(json_object_get(d, "backchannel_logout_session_supported")));
    json_decref(d);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

/* A client that registered nothing: nothing is sent (and no crash). */
static void test_backchannel_send_refusals(void **state)
{
    fx_t *fx = *state;
    char err[256] = "";
    assert_int_equal(zr_oidc_backchannel_logout_send(fx->op, &fx->clients[FX_PORTAL], "x.y.z", err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no back-channel"));
    /* Nobody listening: a transport error, quickly. */
    zr_client_t c = fx->clients[FX_PORTAL];
    c.backchannel_logout_uri = (char *)"http://127.0.0.1:9/bc";
    assert_int_equal(zr_oidc_backchannel_logout_send(fx->op, &c, "x.y.z", err, sizeof(err)), -1);
    assert_null(strstr(err, "x.y.z"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_id_token_sid),
        cmocka_unit_test(test_hint_ok_and_expired),
        cmocka_unit_test(test_hint_refused),
        cmocka_unit_test(test_logout_token),
        cmocka_unit_test(test_discovery_logout),
        cmocka_unit_test(test_backchannel_send_refusals),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
