/* OpenID Provider: code -> token -> userinfo, client authentication, the ID
 * token's claims, and the BSN only where a client is entitled to it. */
#include "test_oidc_fixture.h"
#include "zr/crypto.h"
#include "zr/jwe.h"

#define ASSERTION_TYPE "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef struct {
    zr_http_response_t resp;
    json_t *body;
} reply_t;

static void call_token(fx_t *fx, zr_http_request_t *req, reply_t *r)
{
    zr_http_response_init(&r->resp);
    assert_int_equal(zr_oidc_handle_token(fx->op, req, &r->resp), 0);
    r->body = fx_json(&r->resp);
    assert_non_null(r->body);
    /* RFC 6749 §5.1: never cached, success or error */
    assert_string_equal(fx_header(&r->resp, "Cache-Control"), "no-store");
    assert_string_equal(fx_header(&r->resp, "Pragma"), "no-cache");
}

static void call_userinfo(fx_t *fx, const char *access_token, reply_t *r)
{
    zr_http_request_t req;
    char hdr[4200]; /* a JWT access token (ZR_OIDC_ACCESS_TOKEN_MAX) */
    fx_req(&req, "GET", "/userinfo");
    if (access_token) {
        snprintf(hdr, sizeof(hdr), "Bearer %s", access_token);
        zr_kv_add(&req.headers, "authorization", hdr);
    }
    zr_http_response_init(&r->resp);
    assert_int_equal(zr_oidc_handle_userinfo(fx->op, &req, &r->resp), 0);
    r->body = fx_json(&r->resp);
    fx_req_free(&req);
}

static void reply_free(reply_t *r)
{
    json_decref(r->body);
    zr_http_response_free(&r->resp);
    memset(r, 0, sizeof(*r));
}

static const char *jstr(json_t *o, const char *k) { return json_string_value(json_object_get(o, k)); }

static void expect_error(reply_t *r, int status, const char *error)
{
    assert_int_equal(r->resp.status, status);
    assert_string_equal(jstr(r->body, "error"), error);
    assert_null(json_object_get(r->body, "access_token"));
}

/* The portal's secret contains ':' and '%': URL-encoded in Basic (§2.3.1). */
#define PORTAL_SECRET_ENC "s3cret%3Awith%25chars"

static void token_for_portal(fx_t *fx, const char *code, const char *verifier, reply_t *r)
{
    zr_http_request_t req;
    fx_token_req(&req, code, fx->clients[FX_PORTAL].redirect_uris[0], verifier);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    call_token(fx, &req, r);
    fx_req_free(&req);
}

/* Redeems code for the portal; its access token (caller frees). */
static char *portal_access_token(fx_t *fx, const char *code, const char *verifier)
{
    reply_t t;
    char *token;
    token_for_portal(fx, code, verifier, &t);
    assert_int_equal(t.resp.status, 200);
    token = strdup(jstr(t.body, "access_token"));
    assert_non_null(token);
    reply_free(&t);
    return token;
}

static void token_for_pgo(fx_t *fx, const char *code, const char *verifier, const char *assertion, reply_t *r)
{
    zr_http_request_t req;
    fx_token_req(&req, code, fx->clients[FX_PGO].redirect_uris[0], verifier);
    zr_kv_add(&req.form, "client_assertion_type", ASSERTION_TYPE);
    zr_kv_add(&req.form, "client_assertion", assertion);
    call_token(fx, &req, r);
    fx_req_free(&req);
}

static void test_flow_client_secret_basic(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, alg[16], *at_text;
    reply_t t, u;
    json_t *idt, *at;
    zr_http_request_t req;
    const zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};
    char *sub;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, "n-123", FX_BSN, NULL);

    fx_token_req(&req, code, fx->clients[FX_PORTAL].redirect_uris[0], verifier);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    zr_kv_add(&req.headers, "origin", "https://portal.example.nl");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    assert_int_equal(t.resp.status, 200);
    assert_string_equal(fx_header(&t.resp, "Access-Control-Allow-Origin"), "https://portal.example.nl");
    assert_string_equal(jstr(t.body, "token_type"), "Bearer");
    assert_int_equal(json_integer_value(json_object_get(t.body, "expires_in")), 300);
    assert_string_equal(jstr(t.body, "scope"), "openid");

    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), alg, sizeof(alg));
    assert_string_equal(alg, "RS256");
    assert_string_equal(jstr(idt, "iss"), FX_ISSUER);
    assert_string_equal(jstr(idt, "aud"), "portal");
    assert_string_equal(jstr(idt, "nonce"), "n-123");
    assert_string_equal(jstr(idt, "acr"), "http://eidas.europa.eu/LoA/substantial");
    assert_string_equal(jstr(idt, "bsn"), FX_BSN);
    assert_null(json_object_get(idt, "amr"));
    assert_null(json_object_get(idt, "represents"));
    assert_true(json_integer_value(json_object_get(idt, "exp")) - json_integer_value(json_object_get(idt, "iat")) <=
                300);
    assert_true(json_integer_value(json_object_get(idt, "exp")) > (json_int_t)zr_time_now());
    assert_true(json_integer_value(json_object_get(idt, "auth_time")) <= (json_int_t)zr_time_now());
    assert_non_null(jstr(idt, "jti"));
    sub = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    assert_string_equal(jstr(idt, "sub"), sub);
    assert_string_not_equal(jstr(idt, "sub"), FX_BSN);

    /* RFC 9068: a JWT access token, signed with the client's id_token_alg
     * key, carrying the pairwise sub and never the BSN */
    at = fx_verify_typed(fx, jstr(t.body, "access_token"), "at+jwt", alg, sizeof(alg));
    assert_string_equal(alg, "RS256");
    assert_string_equal(jstr(at, "iss"), FX_ISSUER);
    assert_string_equal(jstr(at, "sub"), sub);
    assert_string_equal(jstr(at, "aud"), "portal");
    assert_string_equal(jstr(at, "client_id"), "portal");
    assert_string_equal(jstr(at, "scope"), "openid");
    assert_string_equal(jstr(at, "acr"), "http://eidas.europa.eu/LoA/substantial");
    assert_int_equal(json_integer_value(json_object_get(at, "exp")) - json_integer_value(json_object_get(at, "iat")),
                     300);
    assert_true(strlen(jstr(at, "jti")) >= 16);
    assert_string_not_equal(jstr(at, "jti"), jstr(idt, "jti"));
    at_text = json_dumps(at, JSON_COMPACT);
    assert_null(strstr(at_text, FX_BSN));
    assert_null(json_object_get(at, "bsn"));
    free(at_text);
    json_decref(at);

    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_string_equal(u.resp.content_type, "application/json");
    assert_string_equal(fx_header(&u.resp, "Cache-Control"), "no-store");
    assert_string_equal(jstr(u.body, "sub"), sub);
    assert_string_equal(jstr(u.body, "bsn"), FX_BSN);
    assert_string_equal(jstr(u.body, "acr"), "http://eidas.europa.eu/LoA/substantial");
    reply_free(&u);

    free(sub);
    json_decref(idt);
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_flow_private_key_jwt(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *assertion, alg[16], *portal_sub, *payload;
    reply_t t, u;
    json_t *idt;
    const zr_subject_id_t id = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_BSN};

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, "nonce-pgo", FX_BSN, NULL);
    assertion = fx_assertion(fx, FX_TOKEN_URL, 120, "jti-flow-1");
    token_for_pgo(fx, code, verifier, assertion, &t);
    assert_int_equal(t.resp.status, 200);
    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), alg, sizeof(alg));
    assert_string_equal(alg, "ES256");
    assert_string_equal(jstr(idt, "aud"), "pgo");
    assert_string_equal(jstr(idt, "nonce"), "nonce-pgo");
    /* pairwise: another sector, another sub for the same person */
    portal_sub = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &id);
    assert_string_not_equal(jstr(idt, "sub"), portal_sub);
    /* not entitled: no BSN anywhere */
    assert_null(json_object_get(idt, "bsn"));
    payload = json_dumps(idt, JSON_COMPACT);
    assert_null(strstr(payload, FX_BSN));
    assert_null(strstr(t.resp.body, FX_BSN));
    free(payload);

    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_string_equal(jstr(u.body, "sub"), jstr(idt, "sub"));
    assert_null(json_object_get(u.body, "bsn"));
    assert_null(strstr(u.resp.body, FX_BSN));
    reply_free(&u);

    free(portal_sub);
    json_decref(idt);
    reply_free(&t);
    free(assertion);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_flow_public_client(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code;
    zr_http_request_t req;
    reply_t t;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_APP], challenge, NULL, FX_BSN, NULL);
    fx_token_req(&req, code, fx->clients[FX_APP].redirect_uris[0], verifier);
    zr_kv_add(&req.form, "client_id", "app");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    assert_int_equal(t.resp.status, 200);
    assert_non_null(jstr(t.body, "id_token"));
    reply_free(&t);

    /* "none" is only for clients registered so */
    fx_token_req(&req, "whatever", fx->clients[FX_PORTAL].redirect_uris[0], verifier);
    zr_kv_add(&req.form, "client_id", "portal");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_pkce_mismatch(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *other, *other_challenge;
    reply_t t;

    fx_pkce(&verifier, &challenge);
    fx_pkce(&other, &other_challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, other, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    /* the code is burnt: the right verifier no longer helps */
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);

    /* verifier syntax: too short, bad characters */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, "short", &t);
    expect_error(&t, 400, "invalid_request");
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
    free(other);
    free(other_challenge);
}

static void test_code_reuse_revokes(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *first_token;
    reply_t t, u;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    first_token = portal_access_token(fx, code, verifier);
    call_userinfo(fx, first_token, &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);

    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    /* RFC 6749 §4.1.2: what the first use issued is revoked */
    call_userinfo(fx, first_token, &u);
    expect_error(&u, 401, "invalid_token");
    assert_non_null(strstr(fx_header(&u.resp, "WWW-Authenticate"), "error=\"invalid_token\""));
    reply_free(&u);
    free(first_token);
    free(code);
    free(verifier);
    free(challenge);
}

/* A code replayed by another (correctly authenticated) client is refused,
 * and does not revoke what the rightful client got: otherwise any client
 * that learns a code could log that client's user out. */
static void test_replay_by_other_client_does_not_revoke(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *first_token;
    zr_http_request_t req;
    reply_t t, u;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    first_token = portal_access_token(fx, code, verifier);

    fx_token_req(&req, code, fx->clients[FX_PORTAL].redirect_uris[0], verifier);
    fx_basic(&req, "portal2", "other-secret");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    call_userinfo(fx, first_token, &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);

    /* the rightful client's replay still revokes */
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    call_userinfo(fx, first_token, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(first_token);
    free(code);
    free(verifier);
    free(challenge);
}

#ifdef ZR_TESTING
/* A replay that arrives after the code is marked used and before the first
 * redemption's tokens are stored (the token endpoint's test hook runs it at
 * exactly that point). */
typedef struct {
    fx_t *fx;
    const char *code, *verifier, *client_id, *secret;
    reply_t reply;
    int ran;
} racer_t;

static void race_replay(void *ctx, zr_oidc_redeem_stage_t stage)
{
    racer_t *r = ctx;
    zr_http_request_t req;
    if (stage != ZR_OIDC_REDEEM_AFTER_MARK || r->ran++)
        return;
    fx_token_req(&req, r->code, r->fx->clients[FX_PORTAL].redirect_uris[0], r->verifier);
    fx_basic(&req, r->client_id, r->secret);
    call_token(r->fx, &req, &r->reply);
    fx_req_free(&req);
}

static void test_racing_replay(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code;
    racer_t racer;
    reply_t t, u;

    fx_pkce(&verifier, &challenge);
    /* by the client it was issued to: both redemptions end without tokens */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    racer = (racer_t){fx, code, verifier, "portal", PORTAL_SECRET_ENC, {{0}, NULL}, 0};
    zr_oidc_set_redeem_hook(fx->op, race_replay, &racer);
    token_for_portal(fx, code, verifier, &t);
    zr_oidc_set_redeem_hook(fx->op, NULL, NULL);
    assert_int_equal(racer.ran, 1);
    expect_error(&racer.reply, 400, "invalid_grant");
    expect_error(&t, 400, "invalid_grant");
    reply_free(&racer.reply);
    reply_free(&t);
    /* and the code stays spent */
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);

    /* by another client: refused, and the rightful redemption goes on */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    racer = (racer_t){fx, code, verifier, "portal2", "other-secret", {{0}, NULL}, 0};
    zr_oidc_set_redeem_hook(fx->op, race_replay, &racer);
    token_for_portal(fx, code, verifier, &t);
    zr_oidc_set_redeem_hook(fx->op, NULL, NULL);
    assert_int_equal(racer.ran, 1);
    expect_error(&racer.reply, 400, "invalid_grant");
    assert_int_equal(t.resp.status, 200);
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);
    reply_free(&racer.reply);
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

/* Redis frozen (SIGSTOP) at one stage of a redemption, as a hung or busy
 * Redis would be: the store call times out, and Redis runs it when it
 * resumes. Waits until Redis is stopped, and later until it answers again. */
typedef struct {
    pid_t pid;
    zr_oidc_redeem_stage_t at;
    int fired;
} freezer_t;

static void freeze_redis(void *ctx, zr_oidc_redeem_stage_t stage)
{
    freezer_t *f = ctx;
    char path[64], st = 0;
    FILE *fp;
    if (stage != f->at || f->fired++)
        return;
    kill(f->pid, SIGSTOP);
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)f->pid);
    while (st != 'T' && st != 't') {
        fp = fopen(path, "r");
        assert_non_null(fp);
        assert_int_equal(fscanf(fp, "%*d (%*[^)]) %c", &st), 1);
        fclose(fp);
    }
}

static void thaw_redis(fx_t *fx)
{
    struct timespec ts = {0, 10 * 1000 * 1000};
    kill(fx->redis.pid, SIGCONT);
    while (zr_store_ping(fx->store) != ZR_STORE_OK)
        nanosleep(&ts, NULL);
}

/* One redemption that meets a frozen Redis at stage (or, with no stage, a
 * Redis frozen before the request): 503; after Redis resumes (and has run
 * what it held), the same request gets the tokens, and a second retry is a
 * replay: invalid_grant, and the token is revoked. */
static void redeem_across_freeze(fx_t *fx, int stage)
{
    char *verifier, *challenge, *code;
    freezer_t f = {fx->redis.pid, (zr_oidc_redeem_stage_t)stage, 0};
    reply_t t, u;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    if (stage < 0)
        kill(fx->redis.pid, SIGSTOP);
    else
        zr_oidc_set_redeem_hook(fx->op, freeze_redis, &f);
    token_for_portal(fx, code, verifier, &t);
    zr_oidc_set_redeem_hook(fx->op, NULL, NULL);
    assert_int_equal(f.fired, stage < 0 ? 0 : 1);
    expect_error(&t, 503, "temporarily_unavailable");
    reply_free(&t);
    thaw_redis(fx);

    token_for_portal(fx, code, verifier, &t);
    assert_int_equal(t.resp.status, 200);
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);

    {
        reply_t again;
        token_for_portal(fx, code, verifier, &again);
        expect_error(&again, 400, "invalid_grant");
        reply_free(&again);
    }
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_redis_frozen_before_token(void **state) { redeem_across_freeze(*state, -1); }
static void test_redis_frozen_at_mark(void **state) { redeem_across_freeze(*state, ZR_OIDC_REDEEM_BEFORE_MARK); }
static void test_redis_frozen_before_commit(void **state) { redeem_across_freeze(*state, ZR_OIDC_REDEEM_AFTER_MARK); }

/* A wrong verifier after a 503 still burns the code (no second try). */
static void test_burn_after_frozen_commit(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *other, *other_challenge, *code;
    freezer_t f = {fx->redis.pid, ZR_OIDC_REDEEM_AFTER_MARK, 0};
    reply_t t;

    fx_pkce(&verifier, &challenge);
    fx_pkce(&other, &other_challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    zr_oidc_set_redeem_hook(fx->op, freeze_redis, &f);
    token_for_portal(fx, code, verifier, &t);
    zr_oidc_set_redeem_hook(fx->op, NULL, NULL);
    expect_error(&t, 503, "temporarily_unavailable");
    reply_free(&t);
    thaw_redis(fx);
    token_for_portal(fx, code, other, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
    free(other);
    free(other_challenge);
}
#else
static void test_racing_replay(void **state)
{
    (void)state;
    skip(); /* needs -DZR_TEST_HOOKS=ON (make check has it) */
}
static void test_redis_frozen_before_token(void **state) { test_racing_replay(state); }
static void test_redis_frozen_at_mark(void **state) { test_racing_replay(state); }
static void test_redis_frozen_before_commit(void **state) { test_racing_replay(state); }
static void test_burn_after_frozen_commit(void **state) { test_racing_replay(state); }
#endif

/* /userinfo goes by the token's own exp, also while Redis still has it. */
static void test_userinfo_token_expired(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *token;
    reply_t u;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token = portal_access_token(fx, code, verifier);
    /* Well inside the 300 s: under valgrind on a busy host seconds pass
     * between issuing the token and this call. */
    setenv("ZR_TEST_TIME_OFFSET", "240", 1);
    call_userinfo(fx, token, &u);
    unsetenv("ZR_TEST_TIME_OFFSET"); /* before any assertion: a failure must not shift the next test's clock */
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);
    setenv("ZR_TEST_TIME_OFFSET", "301", 1); /* lifetime 300 s; the store's TTL has not run out */
    call_userinfo(fx, token, &u);
    unsetenv("ZR_TEST_TIME_OFFSET");
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(token);
    free(code);
    free(verifier);
    free(challenge);
}

/* A configuration without the client (what a reload that removed it gives
 * the relay): its codes and tokens are refused at once. */
static void test_client_removed(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *token, err[256] = "";
    zr_config_t cfg = fx->cfg;
    zr_oidc_t *current = fx->op, *after;
    reply_t t, u;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token = portal_access_token(fx, code, verifier);
    free(code);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);

    cfg.clients = &fx->clients[FX_PORTAL + 1]; /* portal is the first */
    cfg.client_count = FX_CLIENTS - 1;
    after = zr_oidc_new(&cfg, fx->store, err, sizeof(err));
    assert_non_null(after);
    fx->op = after;
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    call_userinfo(fx, token, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    fx->op = current;
    zr_oidc_free(after);
    free(token);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_wrong_redirect_uri_and_client(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code;
    zr_http_request_t req;
    reply_t t;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    fx_token_req(&req, code, "https://portal.example.nl/other", verifier);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);

    /* issued to portal, redeemed by portal2 (correctly authenticated) */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    fx_token_req(&req, code, fx->clients[FX_PORTAL].redirect_uris[0], verifier);
    fx_basic(&req, "portal2", "other-secret");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_expired_code(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code;
    reply_t t;
    struct timespec ts = {1, 300 * 1000 * 1000};

    fx_pkce(&verifier, &challenge);
    /* past its exp (clock moved on; the record is still in Redis) */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    setenv("ZR_TEST_TIME_OFFSET", "120", 1);
    token_for_portal(fx, code, verifier, &t);
    unsetenv("ZR_TEST_TIME_OFFSET");
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);

    /* the store's TTL: a one-second code, redeemed after it */
    fx->cfg.oidc.code_lifetime_s = 1;
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    fx->cfg.oidc.code_lifetime_s = 60;
    nanosleep(&ts, NULL);
    token_for_portal(fx, code, verifier, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_client_secret_errors(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code;
    zr_http_request_t req;
    reply_t t;
    static const char *const bad[][2] = {
        {"portal", "wrong"},
        {"portal", "s3cret:with%chars"}, /* not URL-encoded: '%ch' is malformed */
        {"nobody", "x"},
        {"pgo", "x"},         /* registered for private_key_jwt */
        {"portal2", "OTHER-SECRET"},
    };

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL2], challenge, NULL, FX_BSN, NULL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fx_token_req(&req, code, fx->clients[FX_PORTAL2].redirect_uris[0], verifier);
        fx_basic(&req, bad[i][0], bad[i][1]);
        call_token(fx, &req, &t);
        fx_req_free(&req);
        expect_error(&t, 401, "invalid_client");
        assert_non_null(strstr(fx_header(&t.resp, "WWW-Authenticate"), "Basic"));
        /* never an echo of what was sent */
        assert_null(strstr(t.resp.body, bad[i][1]));
        reply_free(&t);
    }
    /* no credentials at all for a confidential client */
    fx_token_req(&req, code, fx->clients[FX_PORTAL2].redirect_uris[0], verifier);
    zr_kv_add(&req.form, "client_id", "portal2");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    /* client_secret_post is not offered */
    fx_token_req(&req, code, fx->clients[FX_PORTAL2].redirect_uris[0], verifier);
    zr_kv_add(&req.form, "client_id", "portal2");
    zr_kv_add(&req.form, "client_secret", "other-secret");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);

    /* the failed attempts did not consume the code: the hashed secret works */
    fx_token_req(&req, code, fx->clients[FX_PORTAL2].redirect_uris[0], verifier);
    fx_basic(&req, "portal2", "other-secret");
    call_token(fx, &req, &t);
    fx_req_free(&req);
    assert_int_equal(t.resp.status, 200);
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_assertion_errors(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *a;
    reply_t t;
    cjose_err cerr;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, NULL, FX_BSN, NULL);

    a = fx_assertion(fx, "https://someone-else.example/token", 120, "jti-aud");
    token_for_pgo(fx, code, verifier, a, &t);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    free(a);

    a = fx_assertion(fx, FX_TOKEN_URL, -120, "jti-expired");
    token_for_pgo(fx, code, verifier, a, &t);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    free(a);

    a = fx_assertion(fx, FX_TOKEN_URL, 7200, "jti-too-long");
    token_for_pgo(fx, code, verifier, a, &t);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    free(a);

    /* alg none, however well-formed */
    {
        const char *none = "eyJhbGciOiJub25lIiwia2lkIjoicGdvLTEifQ."
                           "eyJpc3MiOiJwZ28iLCJzdWIiOiJwZ28iLCJhdWQiOiJodHRwczovL2xvZ2luLmV4YW1wbGUubmwvdG9rZW4ifQ.";
        token_for_pgo(fx, code, verifier, none, &t);
        expect_error(&t, 401, "invalid_client");
        reply_free(&t);
    }

    /* signed by a key the client did not register */
    {
        cjose_jwk_t *real = fx->pgo_key;
        fx->pgo_key = cjose_jwk_create_EC_random(CJOSE_JWK_EC_P_256, &cerr);
        cjose_jwk_set_kid(fx->pgo_key, "pgo-1", 5, &cerr);
        a = fx_assertion(fx, FX_TOKEN_URL, 120, "jti-wrong-key");
        cjose_jwk_release(fx->pgo_key);
        fx->pgo_key = real;
        token_for_pgo(fx, code, verifier, a, &t);
        expect_error(&t, 401, "invalid_client");
        reply_free(&t);
        free(a);
    }

    /* the issuer as aud is accepted too; a replayed jti is not */
    a = fx_assertion(fx, FX_ISSUER, 120, "jti-replay");
    token_for_pgo(fx, code, verifier, a, &t);
    assert_int_equal(t.resp.status, 200);
    reply_free(&t);
    free(code);
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, NULL, FX_BSN, NULL);
    token_for_pgo(fx, code, verifier, a, &t);
    expect_error(&t, 401, "invalid_client");
    reply_free(&t);
    free(a);

    /* wrong assertion type */
    {
        zr_http_request_t req;
        a = fx_assertion(fx, FX_TOKEN_URL, 120, "jti-type");
        fx_token_req(&req, code, fx->clients[FX_PGO].redirect_uris[0], verifier);
        zr_kv_add(&req.form, "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer");
        zr_kv_add(&req.form, "client_assertion", a);
        call_token(fx, &req, &t);
        fx_req_free(&req);
        expect_error(&t, 400, "invalid_client");
        reply_free(&t);
        free(a);
    }
    free(code);
    free(verifier);
    free(challenge);
}

static void test_token_request_errors(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    reply_t t;
    const char *v43 = "0123456789012345678901234567890123456789012";

    fx_token_req(&req, "c", fx->clients[FX_PORTAL].redirect_uris[0], v43);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    zr_kv_free(&req.form);
    zr_kv_add(&req.form, "grant_type", "refresh_token");
    zr_kv_add(&req.form, "refresh_token", "x");
    call_token(fx, &req, &t);
    expect_error(&t, 400, "unsupported_grant_type");
    reply_free(&t);
    fx_req_free(&req);

    fx_token_req(&req, "c", fx->clients[FX_PORTAL].redirect_uris[0], NULL);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    call_token(fx, &req, &t);
    expect_error(&t, 400, "invalid_request");
    reply_free(&t);
    fx_req_free(&req);

    fx_token_req(&req, "c", fx->clients[FX_PORTAL].redirect_uris[0], v43);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    zr_kv_add(&req.form, "code", "d");
    call_token(fx, &req, &t);
    expect_error(&t, 400, "invalid_request");
    reply_free(&t);
    fx_req_free(&req);

    /* unknown code */
    fx_token_req(&req, "no-such-code", fx->clients[FX_PORTAL].redirect_uris[0], v43);
    fx_basic(&req, "portal", PORTAL_SECRET_ENC);
    call_token(fx, &req, &t);
    expect_error(&t, 400, "invalid_grant");
    reply_free(&t);
    fx_req_free(&req);

    /* not a form POST */
    fx_token_req(&req, "c", fx->clients[FX_PORTAL].redirect_uris[0], v43);
    zr_kv_free(&req.headers);
    zr_kv_add(&req.headers, "content-type", "application/json");
    call_token(fx, &req, &t);
    expect_error(&t, 400, "invalid_request");
    reply_free(&t);
    fx_req_free(&req);
}

static void test_representation(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *a, *payload;
    reply_t t, u;
    json_t *idt, *rep;
    const zr_subject_id_t legal = {(char *)ZR_ID_LEGACY_BSN, (char *)FX_LEGAL_BSN};
    char *legal_sub;

    fx_pkce(&verifier, &challenge);
    /* entitled client: both BSNs, each in its place */
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_ACTING_BSN, FX_LEGAL_BSN);
    token_for_portal(fx, code, verifier, &t);
    assert_int_equal(t.resp.status, 200);
    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), NULL, 0);
    assert_string_equal(jstr(idt, "bsn"), FX_ACTING_BSN);
    rep = json_object_get(idt, "represents");
    assert_true(json_is_object(rep));
    legal_sub = zr_oidc_pairwise_sub(fx->op, &fx->clients[FX_PORTAL], &legal);
    assert_string_equal(jstr(rep, "sub"), legal_sub);
    assert_string_not_equal(jstr(rep, "sub"), jstr(idt, "sub"));
    assert_string_equal(jstr(rep, "iss"), FX_ISSUER);
    assert_non_null(jstr(rep, "sub_id_type"));
    assert_string_equal(jstr(rep, "representation_type"), FX_RT);
    assert_string_equal(jstr(rep, "bsn"), FX_LEGAL_BSN);
    assert_null(json_object_get(rep, "exp"));
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_string_equal(jstr(json_object_get(u.body, "represents"), "bsn"), FX_LEGAL_BSN);
    reply_free(&u);
    free(legal_sub);
    json_decref(idt);
    reply_free(&t);
    free(code);

    /* not entitled: represents without any BSN */
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, NULL, FX_ACTING_BSN, FX_LEGAL_BSN);
    a = fx_assertion(fx, FX_TOKEN_URL, 120, "jti-rep");
    token_for_pgo(fx, code, verifier, a, &t);
    assert_int_equal(t.resp.status, 200);
    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), NULL, 0);
    rep = json_object_get(idt, "represents");
    assert_true(json_is_object(rep));
    assert_null(json_object_get(rep, "bsn"));
    assert_null(json_object_get(idt, "bsn"));
    payload = json_dumps(idt, JSON_COMPACT);
    assert_null(strstr(payload, FX_ACTING_BSN));
    assert_null(strstr(payload, FX_LEGAL_BSN));
    free(payload);
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_true(json_is_object(json_object_get(u.body, "represents")));
    assert_null(strstr(u.resp.body, FX_ACTING_BSN));
    assert_null(strstr(u.resp.body, FX_LEGAL_BSN));
    reply_free(&u);
    json_decref(idt);
    reply_free(&t);
    free(a);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_jti_unique(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *jti1;
    reply_t t;
    json_t *idt;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, verifier, &t);
    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), NULL, 0);
    jti1 = strdup(jstr(idt, "jti"));
    json_decref(idt);
    reply_free(&t);
    free(code);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, verifier, &t);
    idt = fx_verify_with_jwks(fx, jstr(t.body, "id_token"), NULL, 0);
    assert_true(strlen(jti1) >= 16);
    assert_string_not_equal(jti1, jstr(idt, "jti"));
    json_decref(idt);
    reply_free(&t);
    free(jti1);
    free(code);
    free(verifier);
    free(challenge);
}

/* token with its payload replaced by claims (the signature kept), or with
 * header instead of its own when header is not NULL. malloc'ed. */
static char *jwt_altered(const char *token, const char *header, json_t *claims)
{
    const char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    char *h = NULL, *p = NULL, *payload = json_dumps(claims, JSON_COMPACT), *out;
    assert_non_null(dot2);
    h = header ? zr_base64url_encode((const uint8_t *)header, strlen(header)) : strndup(token, dot1 - token);
    p = zr_base64url_encode((const uint8_t *)payload, strlen(payload));
    out = malloc(strlen(h) + strlen(p) + strlen(dot2) + 2);
    sprintf(out, "%s.%s%s", h, p, dot2);
    free(h);
    free(p);
    free(payload);
    return out;
}

/* Issue 17 §2: a JWT access token is ours only with our signature, typ
 * at+jwt, and a live record under its jti; anything else is invalid_token. */
static void test_access_token_forgery(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, *token, *bad, hdr[256];
    const char *kid;
    reply_t t, u;
    json_t *at, *copy;
    cjose_err cerr;
    cjose_jws_t *jws;

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, verifier, &t);
    assert_int_equal(t.resp.status, 200);
    token = strdup(jstr(t.body, "access_token"));
    at = fx_verify_typed(fx, token, "at+jwt", NULL, 0);
    call_userinfo(fx, token, &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);

    /* a claim changed, the signature kept: scope, client_id, exp, sub */
    {
        const char *field[] = {"scope", "client_id", "sub", "jti"};
        const char *value[] = {"openid profile", "portal2", "someone-else", "another-jti"};
        for (size_t i = 0; i < 4; i++) {
            copy = json_deep_copy(at);
            json_object_set_new(copy, field[i], json_string(value[i]));
            bad = jwt_altered(token, NULL, copy);
            call_userinfo(fx, bad, &u);
            expect_error(&u, 401, "invalid_token");
            reply_free(&u);
            free(bad);
            json_decref(copy);
        }
        copy = json_deep_copy(at);
        json_object_set_new(copy, "exp", json_integer(json_integer_value(json_object_get(at, "exp")) + 3600));
        bad = jwt_altered(token, NULL, copy);
        call_userinfo(fx, bad, &u);
        expect_error(&u, 401, "invalid_token");
        reply_free(&u);
        free(bad);
        json_decref(copy);
    }
    /* the same claims unsigned (alg none), or claiming another alg for our kid */
    jws = cjose_jws_import(token, strlen(token), &cerr);
    kid = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_KID, &cerr);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"none\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid);
    bad = jwt_altered(token, hdr, at);
    bad[strrchr(bad, '.') - bad + 1] = '\0';
    call_userinfo(fx, bad, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(bad);
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"HS256\",\"kid\":\"%s\",\"typ\":\"at+jwt\"}", kid);
    bad = jwt_altered(token, hdr, at);
    call_userinfo(fx, bad, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(bad);
    /* typ JWT instead of at+jwt: the signature no longer matches either,
     * and the ID token (typ JWT, signed by us) is no access token */
    snprintf(hdr, sizeof(hdr), "{\"alg\":\"RS256\",\"kid\":\"%s\",\"typ\":\"JWT\"}", kid);
    bad = jwt_altered(token, hdr, at);
    call_userinfo(fx, bad, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(bad);
    cjose_jws_release(jws);
    call_userinfo(fx, jstr(t.body, "id_token"), &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    /* a JWT far over the size limit is refused unread */
    bad = calloc(1, 5000);
    memset(bad, 'e', 4999);
    call_userinfo(fx, bad, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);
    free(bad);
    /* the token itself still works: nothing above touched its record */
    call_userinfo(fx, token, &u);
    assert_int_equal(u.resp.status, 200);
    reply_free(&u);
    /* its record gone (revoked): refused though the signature is good */
    assert_int_equal(zr_store_del(fx->store, "access-token", jstr(at, "jti")), ZR_STORE_OK);
    call_userinfo(fx, token, &u);
    expect_error(&u, 401, "invalid_token");
    reply_free(&u);

    json_decref(at);
    free(token);
    reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
}

/* Issue 17 §2: userinfo_signed_response_alg -> application/jwt, signed with
 * that alg, iss and aud set (OIDC Core §5.3.2); the same claims. */
static void test_userinfo_signed(void **state)
{
    fx_t *fx = *state;
    char *verifier, *challenge, *code, alg[16];
    reply_t t, u;
    json_t *claims;

    fx->clients[FX_PORTAL].userinfo_signed = 1;
    fx->clients[FX_PORTAL].userinfo_alg = ZR_SIGALG_ES256;
    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PORTAL], challenge, NULL, FX_BSN, NULL);
    token_for_portal(fx, code, verifier, &t);
    assert_int_equal(t.resp.status, 200);
    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_string_equal(u.resp.content_type, "application/jwt");
    assert_string_equal(fx_header(&u.resp, "Cache-Control"), "no-store");
    assert_null(u.body); /* not JSON */
    claims = fx_verify_typed(fx, u.resp.body, "JWT", alg, sizeof(alg));
    assert_string_equal(alg, "ES256");
    assert_string_equal(jstr(claims, "iss"), FX_ISSUER);
    assert_string_equal(jstr(claims, "aud"), "portal");
    assert_string_equal(jstr(claims, "bsn"), FX_BSN);
    assert_non_null(jstr(claims, "sub"));
    assert_string_equal(jstr(claims, "acr"), "http://eidas.europa.eu/LoA/substantial");
    json_decref(claims);
    reply_free(&u);
    reply_free(&t);
    fx->clients[FX_PORTAL].userinfo_signed = 0;
    free(code);
    free(verifier);
    free(challenge);
}

/* The plaintext of compact JWE c under key, with its header's alg, cty. */
static char *open_jwe(const char *c, EVP_PKEY *key, int *alg, const char **cty_out, char *cty, size_t ctylen)
{
    zr_jwe_t jwe;
    const char *why;
    uint8_t *plain = NULL;
    size_t len = 0;
    assert_int_equal(zr_jwe_parse(c, &jwe, &why), 0);
    assert_string_equal(jwe.kid, "pgo-enc");
    assert_int_equal(zr_jwe_decrypt(&jwe, key, &plain, &len, &why), 0);
    *alg = (int)jwe.alg;
    snprintf(cty, ctylen, "%s", jwe.cty ? jwe.cty : "");
    *cty_out = jwe.cty ? cty : NULL;
    zr_jwe_clear(&jwe);
    return (char *)plain;
}

/* Issue 17 §2: a client with id_token_encrypted_response_alg gets its ID
 * token signed then encrypted to its jwks_file key; with
 * userinfo_encrypted_response_alg and no signing alg, the UserInfo claims
 * (iss, aud too) encrypted as JSON, application/jwt. */
static void test_encrypted_answers(void **state)
{
    fx_t *fx = *state;
    EVP_PKEY *key = fx_gen_key("RSA");
    json_t *set = json_loads(fx->pgo_jwks, 0, NULL), *enc = zr_crypto_jwk_from_pkey(key, 0), *idt, *ui;
    char *jwks, *old_jwks = fx->clients[FX_PGO].jwks_json, *verifier, *challenge, *code, *assertion, *inner, alg[16],
         cty[32], err[256];
    const char *cty_p;
    int jalg;
    reply_t t, u;

    json_object_set_new(enc, "kid", json_string("pgo-enc"));
    json_object_set_new(enc, "use", json_string("enc"));
    json_array_append_new(json_object_get(set, "keys"), enc);
    jwks = json_dumps(set, JSON_COMPACT);
    fx->clients[FX_PGO].jwks_json = jwks;
    fx->clients[FX_PGO].id_token_encrypted = 1;
    fx->clients[FX_PGO].id_token_enc_alg = ZR_JWE_RSA_OAEP_256;
    fx->clients[FX_PGO].userinfo_encrypted = 1;
    fx->clients[FX_PGO].userinfo_enc_alg = ZR_JWE_RSA_OAEP;
    zr_oidc_free(fx->op);
    fx->op = zr_oidc_new(&fx->cfg, fx->store, err, sizeof(err));
    assert_non_null(fx->op);

    fx_pkce(&verifier, &challenge);
    code = fx_login(fx, &fx->clients[FX_PGO], challenge, "nonce-enc", FX_BSN, NULL);
    assertion = fx_assertion(fx, FX_TOKEN_URL, 120, "jti-enc-1");
    token_for_pgo(fx, code, verifier, assertion, &t);
    assert_int_equal(t.resp.status, 200);
    inner = open_jwe(jstr(t.body, "id_token"), key, &jalg, &cty_p, cty, sizeof(cty));
    assert_int_equal(jalg, ZR_JWE_RSA_OAEP_256);
    assert_string_equal(cty_p, "JWT");
    idt = fx_verify_with_jwks(fx, inner, alg, sizeof(alg));
    assert_string_equal(alg, "ES256");
    assert_string_equal(jstr(idt, "aud"), "pgo");
    assert_string_equal(jstr(idt, "nonce"), "nonce-enc");
    free(inner);

    call_userinfo(fx, jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_string_equal(u.resp.content_type, "application/jwt");
    assert_null(u.body); /* not JSON */
    inner = open_jwe(u.resp.body, key, &jalg, &cty_p, cty, sizeof(cty));
    assert_int_equal(jalg, ZR_JWE_RSA_OAEP);
    assert_null(cty_p); /* JSON inside, not a nested JWT */
    ui = json_loads(inner, 0, NULL);
    assert_non_null(ui);
    assert_string_equal(jstr(ui, "sub"), jstr(idt, "sub"));
    assert_string_equal(jstr(ui, "iss"), FX_ISSUER);
    assert_string_equal(jstr(ui, "aud"), "pgo");
    free(inner);
    json_decref(ui);
    json_decref(idt);
    reply_free(&u);
    reply_free(&t);

    fx->clients[FX_PGO].jwks_json = old_jwks;
    fx->clients[FX_PGO].id_token_encrypted = 0;
    fx->clients[FX_PGO].userinfo_encrypted = 0;
    zr_oidc_free(fx->op);
    fx->op = zr_oidc_new(&fx->cfg, fx->store, err, sizeof(err));
    assert_non_null(fx->op);
    free(jwks);
    json_decref(set);
    EVP_PKEY_free(key);
    free(assertion);
    free(code);
    free(verifier);
    free(challenge);
}

static void test_userinfo_errors(void **state)
{
    fx_t *fx = *state;
    reply_t u;

    call_userinfo(fx, NULL, &u);
    assert_int_equal(u.resp.status, 401);
    assert_string_equal(fx_header(&u.resp, "WWW-Authenticate"), "Bearer realm=\"zorgrelay\"");
    reply_free(&u);
    call_userinfo(fx, "not-a-token", &u);
    expect_error(&u, 401, "invalid_token");
    assert_non_null(strstr(fx_header(&u.resp, "WWW-Authenticate"), "Bearer"));
    reply_free(&u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_client_secret_basic),
        cmocka_unit_test(test_flow_private_key_jwt),
        cmocka_unit_test(test_flow_public_client),
        cmocka_unit_test(test_pkce_mismatch),
        cmocka_unit_test(test_code_reuse_revokes),
        cmocka_unit_test(test_replay_by_other_client_does_not_revoke),
        cmocka_unit_test(test_racing_replay),
        cmocka_unit_test(test_redis_frozen_before_token),
        cmocka_unit_test(test_redis_frozen_at_mark),
        cmocka_unit_test(test_redis_frozen_before_commit),
        cmocka_unit_test(test_burn_after_frozen_commit),
        cmocka_unit_test(test_userinfo_token_expired),
        cmocka_unit_test(test_client_removed),
        cmocka_unit_test(test_wrong_redirect_uri_and_client),
        cmocka_unit_test(test_expired_code),
        cmocka_unit_test(test_client_secret_errors),
        cmocka_unit_test(test_assertion_errors),
        cmocka_unit_test(test_token_request_errors),
        cmocka_unit_test(test_representation),
        cmocka_unit_test(test_jti_unique),
        cmocka_unit_test(test_userinfo_errors),
        cmocka_unit_test(test_access_token_forgery),
        cmocka_unit_test(test_userinfo_signed),
        cmocka_unit_test(test_encrypted_answers),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
