/* OpenID Provider: the /authorize checks (pages vs. redirects) and finish. */
#include "test_oidc_fixture.h"
#include "../../src/oidc/oidc_internal.h"

#include <time.h>

#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

typedef struct {
    zr_http_request_t req;
    zr_http_response_t resp;
    zr_oidc_authz_t authz;
    zr_oidc_authz_result_t result;
} run_t;

/* Builds a good request for client, then applies edits: "name=value" sets
 * (replaces), "-name" removes, "+name=value" adds a duplicate. */
static void run_begin(fx_t *fx, run_t *r, const char *method, const zr_client_t *c, const char *const *edits)
{
    zr_kvlist_t base = {0}, *dst;
    memset(r, 0, sizeof(*r));
    fx_req(&r->req, method, "/authorize");
    dst = strcmp(method, "POST") == 0 ? &r->req.form : &r->req.query;
    fx_authorize_params(&base, c, CHALLENGE, "n0nce");
    for (size_t i = 0; i < base.count; i++) {
        int skip = 0;
        for (const char *const *e = edits; e && *e; e++) {
            const char *name = (*e)[0] == '-' || (*e)[0] == '+' ? *e + 1 : *e;
            size_t n = strcspn(name, "=");
            if ((*e)[0] != '+' && strlen(base.items[i].name) == n && strncmp(base.items[i].name, name, n) == 0)
                skip = 1;
        }
        if (!skip)
            zr_kv_add(dst, base.items[i].name, base.items[i].value);
    }
    for (const char *const *e = edits; e && *e; e++) {
        if ((*e)[0] == '-')
            continue;
        const char *name = (*e)[0] == '+' ? *e + 1 : *e;
        size_t n = strcspn(name, "=");
        char *nm = strndup(name, n);
        zr_kv_add(dst, nm, name[n] ? name + n + 1 : "");
        free(nm);
    }
    zr_kv_free(&base);
    zr_http_response_init(&r->resp);
    r->result = zr_oidc_authorize_begin(fx->op, &r->req, &r->resp, &r->authz);
}

static void run_free(run_t *r)
{
    zr_oidc_authz_clear(&r->authz);
    zr_http_response_free(&r->resp);
    fx_req_free(&r->req);
}

/* A page, never a redirect, with the given status. */
static void expect_page(run_t *r, int status)
{
    assert_int_equal(r->result, ZR_OIDC_AUTHZ_RESPONDED);
    assert_int_equal(r->resp.status, status);
    assert_null(fx_header(&r->resp, "Location"));
    assert_null(r->authz.client_id);
}

/* An error redirect to the client with error, description, state and iss. */
static void expect_redirect_error(run_t *r, const char *redirect_uri, const char *error, const char *state)
{
    const char *loc;
    char *v;
    assert_int_equal(r->result, ZR_OIDC_AUTHZ_RESPONDED);
    assert_int_equal(r->resp.status, 302);
    loc = fx_header(&r->resp, "Location");
    assert_non_null(loc);
    assert_int_equal(strncmp(loc, redirect_uri, strlen(redirect_uri)), 0);
    v = fx_url_param(loc, "error");
    assert_string_equal(v, error);
    free(v);
    v = fx_url_param(loc, "error_description");
    assert_non_null(v);
    free(v);
    v = fx_url_param(loc, "iss");
    assert_string_equal(v, FX_ISSUER);
    free(v);
    v = fx_url_param(loc, "state");
    if (state)
        assert_string_equal(v, state);
    else
        assert_null(v);
    free(v);
    assert_null(fx_url_param(loc, "code"));
    assert_null(r->authz.client_id);
}

static void test_begin_ok(void **state)
{
    fx_t *fx = *state;
    run_t r;
    run_begin(fx, &r, "GET", &fx->clients[FX_PORTAL], NULL);
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_string_equal(r.authz.client_id, "portal");
    assert_string_equal(r.authz.redirect_uri, "https://portal.example.nl/cb");
    assert_string_equal(r.authz.state, "st&te=1");
    assert_string_equal(r.authz.nonce, "n0nce");
    assert_string_equal(r.authz.scope, "openid");
    assert_string_equal(r.authz.code_challenge, CHALLENGE);
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL);
    assert_int_equal(r.authz.force_authn, 0);
    run_free(&r);

    /* POST form works the same */
    run_begin(fx, &r, "POST", &fx->clients[FX_PGO], (const char *const[]){"prompt=login", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_string_equal(r.authz.nonce, "n0nce");
    assert_int_equal(r.authz.force_authn, 1);
    run_free(&r);

    /* any max_age asks TVS for a fresh authentication (the relay keeps no
     * session, TVS may): auth_time is then within it */
    run_begin(fx, &r, "GET", &fx->clients[FX_PORTAL], (const char *const[]){"max_age=600", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.force_authn, 1);
    run_free(&r);
    run_begin(fx, &r, "GET", &fx->clients[FX_PORTAL], (const char *const[]){"max_age=0", NULL});
    assert_int_equal(r.authz.force_authn, 1);
    run_free(&r);

    /* loopback redirect URI: the port may vary (RFC 8252 §7.3) */
    run_begin(fx, &r, "GET", &fx->clients[FX_APP],
              (const char *const[]){"redirect_uri=http://127.0.0.1:51234/cb", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    run_free(&r);
}

static void test_client_errors_are_pages(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_PORTAL];
    run_t r;

    run_begin(fx, &r, "GET", c, (const char *const[]){"-client_id", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"client_id=nobody", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"+client_id=portal", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"-redirect_uri", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"redirect_uri=https://evil.example/cb", NULL});
    expect_page(&r, 400);
    run_free(&r);
    /* not exactly registered: prefix, extra query, case, trailing slash */
    run_begin(fx, &r, "GET", c, (const char *const[]){"redirect_uri=https://portal.example.nl/cb/x", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"redirect_uri=https://portal.example.nl/cb?a=1", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"redirect_uri=https://PORTAL.example.nl/cb", NULL});
    expect_page(&r, 400);
    run_free(&r);
    /* another client's URI */
    run_begin(fx, &r, "GET", c, (const char *const[]){"redirect_uri=https://other-portal.example.com/callback", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c, (const char *const[]){"+redirect_uri=https://portal.example.nl/cb", NULL});
    expect_page(&r, 400);
    run_free(&r);
    /* a request_uri not made by our PAR endpoint (RFC 9126): never
     * fetched, a page (its redirect_uri would come from the pushed request) */
    run_begin(fx, &r, "GET", c, (const char *const[]){"request_uri=https://portal.example.nl/req", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"request_uri=urn:ietf:params:oauth:request_uri:unknownunknownunknown", NULL});
    expect_page(&r, 400);
    run_free(&r);
    /* an unsigned request object (RFC 9101, request_object.c): a page, its
     * redirect_uri is not to be trusted */
    run_begin(fx, &r, "GET", c, (const char *const[]){"request=eyJhbGciOiJub25lIn0.e30.", NULL});
    expect_page(&r, 400);
    run_free(&r);
    /* "localhost" is not a loopback IP literal: no port freedom */
    run_begin(fx, &r, "GET", &fx->clients[FX_APP],
              (const char *const[]){"redirect_uri=http://localhost:8001/cb", NULL});
    expect_page(&r, 400);
    run_free(&r);
    run_begin(fx, &r, "GET", &fx->clients[FX_APP],
              (const char *const[]){"redirect_uri=http://127.0.0.1:8001/other", NULL});
    expect_page(&r, 400);
    run_free(&r);
}

/* Requests refused back to the portal (RFC 6749 §4.1.2.1), and their
 * zr_reason where a portal can act on it (issue 18 §2). */
static const struct {
    const char *edits[4];
    const char *error;
    const char *reason;
} redirect_cases[] = {
    {{"response_type=token", NULL}, "unsupported_response_type", NULL},
    {{"response_type=code id_token", NULL}, "unsupported_response_type", NULL},
    {{"-response_type", NULL}, "invalid_request", NULL},
    {{"scope=profile email", NULL}, "invalid_scope", NULL},
    {{"-scope", NULL}, "invalid_scope", NULL},
    {{"scope=openidx", NULL}, "invalid_scope", NULL},
    {{"-code_challenge", NULL}, "invalid_request", NULL},
    {{"-code_challenge_method", NULL}, "invalid_request", NULL},
    {{"code_challenge_method=plain", NULL}, "invalid_request", NULL},
    {{"code_challenge=tooshort", NULL}, "invalid_request", NULL},
    {{"code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw+cM", NULL}, "invalid_request", NULL},
    {{"code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cMx", NULL}, "invalid_request", NULL},
    {{"prompt=none", NULL}, "login_required", "prompt_none_not_possible"},
    {{"prompt=none login", NULL}, "invalid_request", NULL},
    {{"response_mode=fragment", NULL}, "invalid_request", NULL},
    {{"response_mode=form_post", NULL}, "invalid_request", NULL},
    {{"+scope=openid", NULL}, "invalid_request", NULL},
    {{"+nonce=again", NULL}, "invalid_request", NULL},
    {{"+code_challenge=" CHALLENGE, NULL}, "invalid_request", NULL},
    {{"nonce=", NULL}, "invalid_request", NULL},
    /* NL GOV §Authentication Request: nonce REQUIRED */
    {{"-nonce", NULL}, "invalid_request", NULL},
    /* bytes outside printable ASCII: refused, never dropped later */
    {{"nonce=n\x01nce", NULL}, "invalid_request", NULL},
    {{"nonce=\xff\xfe", NULL}, "invalid_request", NULL},
    {{"nonce=caf\xc3\xa9", NULL}, "invalid_request", NULL},
    {{"nonce=n\x7f", NULL}, "invalid_request", NULL},
    /* max_age: a non-negative number of seconds */
    {{"max_age=-1", NULL}, "invalid_request", NULL},
    {{"max_age=", NULL}, "invalid_request", NULL},
    {{"max_age=10m", NULL}, "invalid_request", NULL},
    {{"max_age=12345678901", NULL}, "invalid_request", NULL},
    /* the care provider has no service for high */
    {{"acr_values=http://eidas.europa.eu/LoA/high", NULL}, "invalid_request", "loa_not_offered"},
    {{"login_method=professional", NULL}, "invalid_request", "login_method_not_allowed"},
    {{"login_method=both", NULL}, "invalid_request", NULL},
    {{"care_provider=elsewhere", NULL}, "invalid_request", "care_provider_not_allowed"},
    {{"prompt=none", "max_age=0", NULL}, "login_required", "prompt_none_not_possible"},
    /* a description of the claims parser's own: the generic text of its error */
    {{"claims=[1]", NULL}, "invalid_request", NULL},
};

/* Issue 18 §2: each refusal back to the portal has its error_description
 * in the language of ui_locales (Dutch with nl: a text of its own for
 * every case, RFC 6749 §4.1.2.1 safe), English without ui_locales (as
 * before), and the zr_reason of its case, or none. */
static void test_redirect_errors_language(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_PORTAL];
    run_t r;

    for (size_t i = 0; i < sizeof(redirect_cases) / sizeof(redirect_cases[0]); i++) {
        char *text[3], *reason[3];
        for (int l = 0; l < 3; l++) {
            const char *edits[6] = {0};
            size_t n = 0;
            while (n < 4 && redirect_cases[i].edits[n]) {
                edits[n] = redirect_cases[i].edits[n];
                n++;
            }
            edits[n] = l == 0 ? "ui_locales=nl-NL de" : l == 1 ? "ui_locales=en" : NULL;
            run_begin(fx, &r, "GET", c, edits);
            assert_int_equal(r.resp.status, 302);
            text[l] = fx_url_param(fx_header(&r.resp, "Location"), "error_description");
            reason[l] = fx_url_param(fx_header(&r.resp, "Location"), "zr_reason");
            run_free(&r);
            assert_non_null(text[l]);
            for (const char *p = text[l]; *p; p++)
                assert_true(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
            if (redirect_cases[i].reason)
                assert_string_equal(reason[l], redirect_cases[i].reason);
            else
                assert_null(reason[l]);
        }
        if (strcmp(text[0], text[1]) == 0)
            fail_msg("case %zu (%s): no Dutch error_description: '%s'", i, redirect_cases[i].edits[0], text[0]);
        assert_string_equal(text[1], text[2]);
        for (int l = 0; l < 3; l++) {
            free(text[l]);
            free(reason[l]);
        }
    }
}

static void test_redirect_errors(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_PORTAL];
    const char *uri = c->redirect_uris[0];
    run_t r;

    for (size_t i = 0; i < sizeof(redirect_cases) / sizeof(redirect_cases[0]); i++) {
        run_begin(fx, &r, "GET", c, redirect_cases[i].edits);
        expect_redirect_error(&r, uri, redirect_cases[i].error, "st&te=1");
        run_free(&r);
    }
    /* without state: none is invented */
    run_begin(fx, &r, "GET", c, (const char *const[]){"-state", "response_type=token", NULL});
    expect_redirect_error(&r, uri, "unsupported_response_type", NULL);
    run_free(&r);
    /* a state that is not printable ASCII (%FF%FE, a control character,
     * DEL) or too long is refused, and not echoed */
    for (const char *const *st = (const char *const[]){"state=\xff\xfe", "state=a\nb", "state=a\x7f", NULL}; *st;
         st++) {
        run_begin(fx, &r, "GET", c, (const char *const[]){*st, NULL});
        expect_redirect_error(&r, uri, "invalid_request", NULL);
        run_free(&r);
    }
    {
        char long_state[1100] = "state=", long_nonce[600] = "nonce=";
        memset(long_state + 6, 's', 1025);
        memset(long_nonce + 6, 'n', 513);
        run_begin(fx, &r, "GET", c, (const char *const[]){long_state, NULL});
        expect_redirect_error(&r, uri, "invalid_request", NULL);
        run_free(&r);
        run_begin(fx, &r, "GET", c, (const char *const[]){long_nonce, NULL});
        expect_redirect_error(&r, uri, "invalid_request", "st&te=1");
        run_free(&r);
        /* the limits themselves pass */
        long_state[6 + 1024] = '\0';
        long_nonce[6 + 512] = '\0';
        run_begin(fx, &r, "GET", c, (const char *const[]){long_state, long_nonce, NULL});
        assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
        run_free(&r);
    }
    /* a duplicated state is not echoed */
    run_begin(fx, &r, "GET", c, (const char *const[]){"+state=other", NULL});
    expect_redirect_error(&r, uri, "invalid_request", NULL);
    run_free(&r);
    /* the redirect URI's own query is kept: '&' separator */
    run_begin(fx, &r, "GET", &fx->clients[FX_PGO], (const char *const[]){"response_type=token", NULL});
    expect_redirect_error(&r, "https://pgo.example.org/cb?tenant=1&error=", "unsupported_response_type",
                          "st&te=1");
    run_free(&r);
}

static void test_acr_values(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_PORTAL];
    run_t r;

    fx->tenant.service_count = 2; /* substantial and high */
    run_begin(fx, &r, "GET", c, (const char *const[]){"acr_values=http://eidas.europa.eu/LoA/high", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_HIGH);
    run_free(&r);
    /* never lower than the client's agreement */
    run_begin(fx, &r, "GET", c, (const char *const[]){"acr_values=http://eID.logius.nl/LoA/basic", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL);
    run_free(&r);
    /* unknown values are ignored */
    run_begin(fx, &r, "GET", c, (const char *const[]){"acr_values=urn:example:unknown high", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL);
    run_free(&r);
    /* a list: any one of them satisfies, so the weakest counts */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"acr_values=http://eidas.europa.eu/LoA/high http://eidas.europa.eu/LoA/substantial",
                                    NULL});
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL);
    run_free(&r);
    fx->tenant.service_count = 1;
}

/* The claims parameter (OIDC Core §5.5): validated by the hardened parser,
 * kept normalised with the login, acr counted like acr_values. */
static void test_claims_request(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_PORTAL];
    const char *uri = c->redirect_uris[0];
    run_t r;
    json_t *claims;
    char big[6000];
    static const char *const bad[] = {
        "claims=not json",
        "claims=[]",
        "claims=",
        "claims={\"id_token\":[]}",
        "claims={\"userinfo\":\"bsn\"}",
        "claims={\"userinfo\":{\"bsn\":1}}",
        "claims={\"userinfo\":{\"bsn\":{\"essential\":\"yes\"}}}",
        "claims={\"userinfo\":{\"bsn\":{\"values\":\"999990019\"}}}",
        "claims={\"userinfo\":{\"bsn\":{\"value\":\"1\",\"values\":[\"1\"]}}}",
        "claims={\"id_token\":{\"bsn\":null,\"bsn\":null}}",
        "claims={\"id_token\":{\"sub\":{\"value\":5}}}",
        "claims={\"id_token\":{\"acr\":{\"essential\":true,\"values\":[\"urn:example:unknown\"]}}}",
        "claims={\"id_token\":{}} trailing",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        run_begin(fx, &r, "GET", c, (const char *const[]){bad[i], NULL});
        expect_redirect_error(&r, uri, "invalid_request", "st&te=1");
        run_free(&r);
    }
    /* over the size limit */
    snprintf(big, sizeof(big), "claims={\"userinfo\":{\"x\":{\"value\":\"%05000d\"}}}", 0);
    run_begin(fx, &r, "GET", c, (const char *const[]){big, NULL});
    expect_redirect_error(&r, uri, "invalid_request", "st&te=1");
    run_free(&r);

    /* good: unknown top-level members and claim names are ignored (§5.5),
     * what is kept is the two targets */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"claims={\"userinfo\":{\"bsn\":{\"essential\":true},\"nickname\":null},"
                                    "\"other\":1}",
                                    NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_string_equal(r.authz.claims, "{\"userinfo\":{\"bsn\":{\"essential\":true},\"nickname\":null}}");
    run_free(&r);
    /* values the relay does not act on are not kept (no BSN parked in Redis) */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"claims={\"userinfo\":{\"bsn\":{\"value\":\"999990019\",\"essential\":false}},"
                                    "\"id_token\":{\"bsn\":{\"values\":[\"999990019\"]},\"sub\":{\"value\":\"s1\"}}}",
                                    NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_string_equal(r.authz.claims, "{\"id_token\":{\"bsn\":{},\"sub\":{\"value\":\"s1\"}},"
                                        "\"userinfo\":{\"bsn\":{\"essential\":false}}}");
    run_free(&r);
    /* without it: none kept, no filter later */
    run_begin(fx, &r, "GET", c, NULL);
    assert_null(r.authz.claims);
    run_free(&r);
    /* a voluntary unknown acr is ignored */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"claims={\"id_token\":{\"acr\":{\"values\":[\"urn:example:x\"]}}}", NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL);
    run_free(&r);
    /* acr in claims raises the minimum like acr_values; a level the care
     * provider has no service for is refused as with acr_values */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"claims={\"id_token\":{\"acr\":{\"essential\":true,"
                                    "\"value\":\"http://eidas.europa.eu/LoA/high\"}}}",
                                    NULL});
    expect_redirect_error(&r, uri, "invalid_request", "st&te=1");
    run_free(&r);
    fx->tenant.service_count = 2; /* substantial and high */
    run_begin(fx, &r, "GET", c,
              (const char *const[]){"claims={\"id_token\":{\"acr\":{\"essential\":true,"
                                    "\"value\":\"http://eidas.europa.eu/LoA/high\"}}}",
                                    NULL});
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_HIGH);
    /* it travels with the login */
    {
        char *json = zr_oidc_authz_to_json(&r.authz);
        zr_oidc_authz_t back;
        assert_int_equal(zr_oidc_authz_from_json(json, &back), 0);
        assert_string_equal(back.claims, r.authz.claims);
        zr_oidc_authz_clear(&back);
        free(json);
    }
    run_free(&r);
    fx->tenant.service_count = 1;

    /* the filter: sub and sub_id_type always, else only what is asked */
    claims = json_pack("{s:s, s:s, s:s, s:{s:s}}", "sub", "s", "sub_id_type", "t", "bsn", "999990019", "represents",
                       "sub", "r");
    assert_int_equal(zr_oidc_claims_request_filter("{\"userinfo\":{\"bsn\":null}}", "id_token", claims), 0);
    assert_int_equal(json_object_size(claims), 2);
    assert_null(json_object_get(claims, "bsn"));
    json_object_set_new(claims, "bsn", json_string("999990019"));
    json_object_set_new(claims, "represents", json_object());
    assert_int_equal(zr_oidc_claims_request_filter("{\"userinfo\":{\"bsn\":null}}", "userinfo", claims), 0);
    assert_int_equal(json_object_size(claims), 3);
    assert_string_equal(json_string_value(json_object_get(claims, "bsn")), "999990019");
    assert_int_equal(zr_oidc_claims_request_filter(NULL, "userinfo", claims), 0);
    assert_int_equal(json_object_size(claims), 3);
    json_decref(claims);
}

/* A request of the "pgo" client, as /authorize would have kept it. */
static void pgo_authz(zr_oidc_authz_t *a, const char *state)
{
    a->client_id = strdup("pgo");
    a->redirect_uri = strdup("https://pgo.example.org/cb?tenant=1");
    a->scope = strdup("openid");
    a->code_challenge = strdup(CHALLENGE);
    a->state = strdup(state);
    a->min_loa = ZR_LOA_SUBSTANTIAL;
}

/* Issue 18 §2: every refusal has a reason, an OAuth error and both texts
 * (Dutch from templates/oauth.nl: a missing key would send English), each
 * within RFC 6749 §4.1.2.1's error_description characters. */
static void test_refusal_texts(void **state)
{
    (void)state;
    for (int r = 0; r < ZR_REFUSAL_COUNT; r++) {
        char *texts[] = {zr_oidc_refusal_description(r, ZR_LANG_EN), zr_oidc_refusal_description(r, ZR_LANG_NL)};
        assert_non_null(zr_oidc_refusal_reason(r));
        assert_non_null(zr_oidc_refusal_error(r));
        for (int i = 0; i < 2; i++) {
            assert_non_null(texts[i]);
            for (const char *p = texts[i]; *p; p++)
                assert_true(*p >= 0x20 && *p <= 0x7e && *p != '"' && *p != '\\');
        }
        assert_string_not_equal(texts[0], texts[1]);
        free(texts[0]);
        free(texts[1]);
    }
    assert_null(zr_oidc_refusal_reason(ZR_REFUSAL_COUNT));
    assert_null(zr_oidc_refusal_description(ZR_REFUSAL_COUNT, ZR_LANG_NL));
}

/* Issue 18 §2: the LoA page says what this login needs, per level the
 * portal asked for, in the login's language. */
static void test_loa_pages(void **state)
{
    fx_t *fx = *state;
    static const struct {
        zr_loa_t required, reached;
        zr_lang_t lang;
        const char *title;
    } cases[] = {
        {ZR_LOA_SUBSTANTIAL, ZR_LOA_LOW, ZR_LANG_NL, "Voor deze dienst is de DigiD app met ID-check nodig"},
        {ZR_LOA_SUBSTANTIAL, ZR_LOA_BASIC, ZR_LANG_EN, "This service needs the DigiD app with ID check"},
        {ZR_LOA_HIGH, ZR_LOA_SUBSTANTIAL, ZR_LANG_NL, "Voor deze dienst is DigiD Hoog nodig"},
        {ZR_LOA_HIGH, ZR_LOA_SUBSTANTIAL, ZR_LANG_EN, "This service needs DigiD High"},
        {ZR_LOA_LOW, ZR_LOA_BASIC, ZR_LANG_NL, "Voor deze dienst is DigiD met sms-controle of de DigiD app nodig"},
        {ZR_LOA_LOW, ZR_LOA_BASIC, ZR_LANG_EN, "This service needs DigiD with SMS verification or the DigiD app"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_oidc_authz_t a = {0};
        zr_subject_t s;
        zr_http_response_t resp;
        char h1[256];
        pgo_authz(&a, "st");
        fx_subject(&s, FX_BSN, NULL);
        a.min_loa = cases[i].required;
        a.lang = a.error_lang = cases[i].lang;
        s.loa = cases[i].reached;
        zr_http_response_init(&resp);
        zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
        assert_int_equal(resp.status, 403);
        snprintf(h1, sizeof(h1), ">%s</h1>", cases[i].title);
        if (!strstr(resp.body, h1))
            fail_msg("case %zu: no title '%s'", i, cases[i].title);
        zr_http_response_free(&resp);
        zr_subject_clear(&s);
        zr_oidc_authz_clear(&a);
    }
}

static void test_finish(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t a = {0};
    zr_subject_t s;
    zr_http_response_t resp;
    const char *loc;
    char *v;

    pgo_authz(&a, "a b");
    fx_subject(&s, FX_BSN, NULL);

    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_finish(fx->op, &a, &s, &resp), 0);
    assert_int_equal(resp.status, 302);
    loc = fx_header(&resp, "Location");
    assert_int_equal(strncmp(loc, "https://pgo.example.org/cb?tenant=1&code=", 41), 0);
    assert_string_equal(fx_header(&resp, "Cache-Control"), "no-store");
    assert_null(strstr(loc, FX_BSN));
    v = fx_url_param(loc, "code");
    assert_int_equal(strlen(v), 43);
    free(v);
    v = fx_url_param(loc, "state");
    assert_string_equal(v, "a b");
    free(v);
    v = fx_url_param(loc, "iss");
    assert_string_equal(v, FX_ISSUER);
    free(v);
    zr_http_response_free(&resp);

    /* two codes are never the same */
    {
        char *c1, *c2;
        zr_http_response_init(&resp);
        zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
        c1 = fx_url_param(fx_header(&resp, "Location"), "code");
        zr_http_response_free(&resp);
        zr_http_response_init(&resp);
        zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
        c2 = fx_url_param(fx_header(&resp, "Location"), "code");
        assert_string_not_equal(c1, c2);
        free(c1);
        free(c2);
        zr_http_response_free(&resp);
    }

    /* a level below the request's minimum never becomes a code; issue 18
     * §2: the relay's page, in the login's language, with one button whose
     * single-use handle delivers exactly the error, once */
    s.loa = ZR_LOA_LOW;
    a.lang = ZR_LANG_NL;
    a.error_lang = ZR_LANG_NL;
    zr_http_response_init(&resp);
    zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
    assert_int_equal(resp.status, 403);
    assert_null(fx_header(&resp, "Location"));
    assert_non_null(strstr(resp.body, "Voor deze dienst is de DigiD app met ID-check nodig"));
    assert_non_null(strstr(resp.body, "action=\"/authorize/return\""));
    assert_null(strstr(resp.body, "code="));
    assert_non_null(strstr(fx_header(&resp, "Content-Security-Policy"), "https://pgo.example.org"));
    {
        const char *h = strstr(resp.body, "name=\"handle\" value=\"");
        char handle[128];
        size_t n;
        zr_http_request_t rq = {.method = "POST", .path = "/authorize/return", .lang = ZR_LANG_EN};
        zr_http_response_t back;
        assert_non_null(h);
        h += strlen("name=\"handle\" value=\"");
        n = strcspn(h, "\"");
        assert_true(n > 20 && n < sizeof(handle));
        memcpy(handle, h, n);
        handle[n] = '\0';
        zr_kv_add(&rq.form, "handle", handle);
        zr_http_response_init(&back);
        assert_int_equal(zr_oidc_handle_authorize_return(fx->op, &rq, &back), 0);
        assert_int_equal(back.status, 302);
        loc = fx_header(&back, "Location");
        assert_int_equal(strncmp(loc, "https://pgo.example.org/cb?tenant=1&error=access_denied&", 56), 0);
        v = fx_url_param(loc, "error_description");
        assert_string_equal(v, "het bereikte betrouwbaarheidsniveau is te laag");
        free(v);
        v = fx_url_param(loc, "zr_reason");
        assert_string_equal(v, "loa_too_low");
        free(v);
        v = fx_url_param(loc, "state");
        assert_string_equal(v, "a b");
        free(v);
        v = fx_url_param(loc, "iss");
        assert_string_equal(v, FX_ISSUER);
        free(v);
        assert_null(fx_url_param(loc, "code"));
        zr_http_response_free(&back);
        /* works once */
        zr_http_response_init(&back);
        zr_oidc_handle_authorize_return(fx->op, &rq, &back);
        assert_int_equal(back.status, 400);
        assert_null(fx_header(&back, "Location"));
        assert_non_null(strstr(back.body, "return_used"));
        zr_http_response_free(&back);
        zr_kv_free(&rq.form);
    }
    zr_http_response_free(&resp);
    /* error_pages: portal: the redirect at once, in English by default */
    fx->clients[FX_PGO].error_pages = ZR_ERROR_PAGES_PORTAL;
    a.error_lang = ZR_LANG_EN;
    zr_http_response_init(&resp);
    zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
    assert_int_equal(resp.status, 302);
    v = fx_url_param(fx_header(&resp, "Location"), "error");
    assert_string_equal(v, "access_denied");
    free(v);
    v = fx_url_param(fx_header(&resp, "Location"), "error_description");
    assert_string_equal(v, "the level of assurance reached is too low");
    free(v);
    v = fx_url_param(fx_header(&resp, "Location"), "zr_reason");
    assert_string_equal(v, "loa_too_low");
    free(v);
    assert_null(fx_url_param(fx_header(&resp, "Location"), "code"));
    zr_http_response_free(&resp);
    fx->clients[FX_PGO].error_pages = ZR_ERROR_PAGES_RELAY;
    s.loa = ZR_LOA_SUBSTANTIAL;

    /* error(): state and iss included */
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_error(fx->op, &a, "access_denied", "cancelled", &resp), 0);
    loc = fx_header(&resp, "Location");
    v = fx_url_param(loc, "error");
    assert_string_equal(v, "access_denied");
    free(v);
    v = fx_url_param(loc, "error_description");
    assert_string_equal(v, "cancelled");
    free(v);
    v = fx_url_param(loc, "state");
    assert_string_equal(v, "a b");
    free(v);
    v = fx_url_param(loc, "iss");
    assert_string_equal(v, FX_ISSUER);
    free(v);
    zr_http_response_free(&resp);

    /* store down: 503 page, no redirect */
    zr_test_redis_stop(&fx->redis);
    zr_http_response_init(&resp);
    assert_int_not_equal(zr_oidc_authorize_finish(fx->op, &a, &s, &resp), 0);
    assert_int_equal(resp.status, 503);
    assert_null(fx_header(&resp, "Location"));
    zr_http_response_free(&resp);
    assert_int_equal(zr_test_redis_start(&fx->redis), 0);

    zr_subject_clear(&s);
    zr_oidc_authz_clear(&a);
}

/* zr_oidc_authorize_issue: the caller's writes (the relay's logout session)
 * are stored with the code, and only when a code is issued. */
/* A subject field that cannot be written makes finish an error page (500),
 * never a code whose ID token would lack that claim. */
static void test_finish_unwritable_subject(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t a = {0};
    zr_subject_t s;
    zr_http_response_t resp;

    a.client_id = strdup("docs");
    a.redirect_uri = strdup("https://docs.example.nl/cb");
    a.scope = strdup("openid");
    a.code_challenge = strdup(CHALLENGE);
    a.state = strdup("s");
    a.nonce = strdup("n");
    a.login_method = ZR_LOGIN_PROFESSIONAL;
    a.min_loa = ZR_LOA_HIGH;
    fx_pro_subject(&s, FX_DEZI_NUMMER, 1);
    free(s.pro.surname);
    s.pro.surname = strdup("B\xe9rg"); /* Latin-1 from a careless source */
    zr_http_response_init(&resp);
    zr_oidc_authorize_finish(fx->op, &a, &s, &resp);
    assert_int_equal(resp.status, 500);
    assert_null(fx_header(&resp, "Location"));
    zr_http_response_free(&resp);

    /* the same with a good name: a code */
    free(s.pro.surname);
    s.pro.surname = strdup("Berg");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_finish(fx->op, &a, &s, &resp), 0);
    assert_int_equal(resp.status, 302);
    zr_http_response_free(&resp);
    zr_subject_clear(&s);
    zr_oidc_authz_clear(&a);
}

static void test_issue_with_extra_writes(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t a = {0};
    zr_subject_t s;
    zr_http_response_t resp;
    zr_store_write_t w = {"test-extra", "sid-1", "{\"x\":1}", 7, 60, ZR_STORE_OK};
    char *v = NULL, *code;
    size_t len;

    pgo_authz(&a, "s");
    fx_subject(&s, FX_BSN, NULL);

    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_issue(fx->op, &a, &s, &w, 1, &resp), 1);
    assert_int_equal(resp.status, 302);
    assert_int_equal(w.status, ZR_STORE_OK);
    assert_int_equal(zr_store_get(fx->store, "test-extra", "sid-1", &v, &len), ZR_STORE_OK);
    assert_string_equal(v, "{\"x\":1}");
    free(v);
    code = fx_url_param(fx_header(&resp, "Location"), "code");
    assert_int_equal(zr_store_get(fx->store, "code", code, &v, &len), ZR_STORE_OK); /* ZR_OIDC_NS_CODE */
    free(v);
    free(code);
    zr_http_response_free(&resp);

    /* refused (level too low): no code, and the extra write not attempted */
    s.loa = ZR_LOA_LOW;
    w.name = "sid-2";
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_issue(fx->op, &a, &s, &w, 1, &resp), 0);
    assert_int_equal(w.status, ZR_STORE_INVALID);
    assert_int_equal(zr_store_get(fx->store, "test-extra", "sid-2", &v, &len), ZR_STORE_NOT_FOUND);
    zr_http_response_free(&resp);
    s.loa = ZR_LOA_SUBSTANTIAL;

    /* store down: 503, no code, the write's status says so */
    zr_test_redis_stop(&fx->redis);
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_authorize_issue(fx->op, &a, &s, &w, 1, &resp), 0);
    assert_int_equal(resp.status, 503);
    assert_int_equal(w.status, ZR_STORE_UNAVAILABLE);
    zr_http_response_free(&resp);
    assert_int_equal(zr_test_redis_start(&fx->redis), 0);
    /* the store reconnects after a pause; wait for it (at most 5 s) */
    for (int i = 0; zr_store_ping(fx->store) != ZR_STORE_OK; i++) {
        struct timespec pause = {0, 20 * 1000 * 1000};
        assert_true(i < 250);
        nanosleep(&pause, NULL);
    }

    zr_subject_clear(&s);
    zr_oidc_authz_clear(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_begin_ok),
        cmocka_unit_test(test_client_errors_are_pages),
        cmocka_unit_test(test_redirect_errors),
        cmocka_unit_test(test_redirect_errors_language),
        cmocka_unit_test(test_acr_values),
        cmocka_unit_test(test_claims_request),
        cmocka_unit_test(test_issue_with_extra_writes),
        cmocka_unit_test(test_finish_unwritable_subject),
        cmocka_unit_test(test_refusal_texts),
        cmocka_unit_test(test_loa_pages),
        cmocka_unit_test(test_finish), /* last: it stops Redis */
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
