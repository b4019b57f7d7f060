/* OpenID Provider, professionals through Dezi (issue 4): the login method of
 * an authorization request, the checks before a code, and the ID token and
 * UserInfo claims of a professional. */
#include "test_oidc_fixture.h"

#define CHALLENGE "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
#define TRACEPARENT "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

typedef struct {
    zr_http_request_t req;
    zr_http_response_t resp;
    zr_oidc_authz_t authz;
    zr_oidc_authz_result_t result;
} run_t;

/* A good request for client c plus extra parameters ("name=value"), a
 * traceparent header as sent, and what the HTTP layer kept of it (NULL when
 * it is not a valid W3C traceparent, src/http/server.c). */
static void run_begin_tp(fx_t *fx, run_t *r, const zr_client_t *c, const char *const *extra, const char *header,
                         const char *kept)
{
    memset(r, 0, sizeof(*r));
    fx_req(&r->req, "GET", "/authorize");
    fx_authorize_params(&r->req.query, c, CHALLENGE, "n0nce");
    for (const char *const *e = extra; e && *e; e++) {
        char *name = strndup(*e, strcspn(*e, "="));
        zr_kv_add(&r->req.query, name, *e + strlen(name) + ((*e)[strlen(name)] ? 1 : 0));
        free(name);
    }
    if (header)
        zr_kv_add(&r->req.headers, "traceparent", header);
    r->req.traceparent = kept ? strdup(kept) : NULL;
    zr_http_response_init(&r->resp);
    r->result = zr_oidc_authorize_begin(fx->op, &r->req, &r->resp, &r->authz);
}

/* The same with a valid traceparent (or none). */
static void run_begin(fx_t *fx, run_t *r, const zr_client_t *c, const char *const *extra, const char *traceparent)
{
    run_begin_tp(fx, r, c, extra, traceparent, traceparent);
}

static void run_free(run_t *r)
{
    zr_oidc_authz_clear(&r->authz);
    zr_http_response_free(&r->resp);
    free(r->req.traceparent);
    fx_req_free(&r->req);
}

/* Refused with an error redirect to the client; description when given. */
static void expect_refused(run_t *r, const char *description)
{
    char *v;
    assert_int_equal(r->result, ZR_OIDC_AUTHZ_RESPONDED);
    assert_int_equal(r->resp.status, 302);
    v = fx_url_param(fx_header(&r->resp, "Location"), "error");
    assert_string_equal(v, "invalid_request");
    free(v);
    v = fx_url_param(fx_header(&r->resp, "Location"), "error_description");
    if (description)
        assert_string_equal(v, description);
    free(v);
    assert_null(r->authz.client_id);
}

static void begin_expect_refused(fx_t *fx, int client, const char *const *extra, const char *description)
{
    run_t r;
    run_begin(fx, &r, &fx->clients[client], extra, NULL);
    expect_refused(&r, description);
    run_free(&r);
}

static void begin_expect(fx_t *fx, int client, const char *const *extra, int method, const char *care_provider)
{
    run_t r;
    run_begin(fx, &r, &fx->clients[client], extra, NULL);
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.login_method, method);
    if (care_provider)
        assert_string_equal(r.authz.care_provider, care_provider);
    else
        assert_null(r.authz.care_provider);
    run_free(&r);
}

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NOT_ALLOWED "login method not allowed for this client"

static void test_login_method(void **state)
{
    fx_t *fx = *state;

    /* a patients' client (login_methods unset in a hand-made client) */
    begin_expect(fx, FX_PORTAL, NULL, ZR_LOGIN_PATIENT, "zh");
    begin_expect(fx, FX_PORTAL, P("login_method=patient"), ZR_LOGIN_PATIENT, "zh");
    begin_expect_refused(fx, FX_PORTAL, P("login_method=professional"), NOT_ALLOWED);
    begin_expect_refused(fx, FX_PORTAL, P("login_hint=professional"), NOT_ALLOWED);
    /* an unknown method is an error; any other login_hint is ignored */
    begin_expect_refused(fx, FX_PORTAL, P("login_method=doctor"), NULL);
    begin_expect_refused(fx, FX_PORTAL, P("login_method="), NULL);
    begin_expect_refused(fx, FX_PORTAL, P("login_method=Patient"), NULL);
    begin_expect(fx, FX_PORTAL, P("login_hint=jan@example.nl"), ZR_LOGIN_PATIENT, "zh");
    begin_expect_refused(fx, FX_PORTAL, P("login_method=patient", "login_method=patient"), NULL);

    /* professionals only: no care provider, ever */
    begin_expect(fx, FX_DOCS, NULL, ZR_LOGIN_PROFESSIONAL, NULL);
    begin_expect(fx, FX_DOCS, P("login_hint=professional"), ZR_LOGIN_PROFESSIONAL, NULL);
    begin_expect(fx, FX_DOCS, P("care_provider=zh"), ZR_LOGIN_PROFESSIONAL, NULL);
    begin_expect_refused(fx, FX_DOCS, P("login_method=patient"), NOT_ALLOWED);
    begin_expect_refused(fx, FX_DOCS, P("login_hint=patient"), NOT_ALLOWED);

    /* both: the request may choose; without a choice 0 (the chooser) */
    begin_expect(fx, FX_BOTH, NULL, 0, "zh");
    begin_expect(fx, FX_BOTH, P("login_hint=someone"), 0, "zh");
    begin_expect(fx, FX_BOTH, P("login_method=patient"), ZR_LOGIN_PATIENT, "zh");
    begin_expect(fx, FX_BOTH, P("login_method=professional"), ZR_LOGIN_PROFESSIONAL, NULL);
    begin_expect(fx, FX_BOTH, P("login_hint=professional"), ZR_LOGIN_PROFESSIONAL, NULL);
    begin_expect(fx, FX_BOTH, P("login_method=professional", "login_hint=professional"), ZR_LOGIN_PROFESSIONAL,
                 NULL);
    begin_expect_refused(fx, FX_BOTH, P("login_method=patient", "login_hint=professional"),
                         "login_method and login_hint disagree");
    /* a care provider not on the list is still an error when a patient may log in */
    begin_expect_refused(fx, FX_BOTH, P("care_provider=elsewhere"), NULL);
}

/* LoA: patients' requests are held to the care provider's TVS services;
 * professionals' requests to dezi.min_loa, raised by acr_values. */
static void test_login_method_loa(void **state)
{
    fx_t *fx = *state;
    run_t r;

    /* zh has no TVS service for high */
    run_begin(fx, &r, &fx->clients[FX_DOCS], P("acr_values=http://eidas.europa.eu/LoA/high"), NULL);
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_int_equal(r.authz.min_loa, ZR_LOA_HIGH);
    run_free(&r);
    run_begin(fx, &r, &fx->clients[FX_DOCS], NULL, NULL);
    assert_int_equal(r.authz.min_loa, ZR_LOA_HIGH); /* dezi.min_loa, not the client's patient minimum */
    run_free(&r);
    run_begin(fx, &r, &fx->clients[FX_BOTH],
              P("login_method=professional", "acr_values=http://eidas.europa.eu/LoA/high"), NULL);
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    run_free(&r);
    begin_expect_refused(fx, FX_BOTH, P("acr_values=http://eidas.europa.eu/LoA/high"),
                         "the requested level of assurance is not available");
    begin_expect_refused(fx, FX_BOTH, P("login_method=patient", "acr_values=http://eidas.europa.eu/LoA/high"),
                         "the requested level of assurance is not available");
    run_begin(fx, &r, &fx->clients[FX_BOTH], NULL, NULL);
    assert_int_equal(r.authz.min_loa, ZR_LOA_SUBSTANTIAL); /* the client's, for patients */
    run_free(&r);
}

static void test_traceparent(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t back;
    char long_tp[140], *json;
    run_t r;

    run_begin(fx, &r, &fx->clients[FX_BOTH], NULL, TRACEPARENT);
    assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
    assert_string_equal(r.authz.traceparent, TRACEPARENT);
    /* kept across the login, with the method */
    json = zr_oidc_authz_to_json(&r.authz);
    assert_int_equal(zr_oidc_authz_from_json(json, &back), 0);
    assert_string_equal(back.traceparent, TRACEPARENT);
    assert_int_equal(back.login_method, 0);
    free(json);
    zr_oidc_authz_clear(&back);
    run_free(&r);

    run_begin(fx, &r, &fx->clients[FX_DOCS], NULL, NULL);
    assert_null(r.authz.traceparent);
    json = zr_oidc_authz_to_json(&r.authz);
    assert_int_equal(zr_oidc_authz_from_json(json, &back), 0);
    assert_null(back.traceparent);
    assert_int_equal(back.login_method, ZR_LOGIN_PROFESSIONAL);
    assert_null(back.care_provider);
    free(json);
    zr_oidc_authz_clear(&back);
    run_free(&r);

    /* A header the HTTP layer did not keep (malformed: too long, upper-case
     * hex, all-zero ids, ...) is never taken from the raw headers: the
     * login goes on, and the relay starts its own trace. */
    memset(long_tp, 'a', 128);
    long_tp[128] = '\0';
    {
        const char *bad[] = {long_tp, "00-abc\n-01", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                             "00-00000000000000000000000000000000-00f067aa0ba902b7-01"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            run_begin_tp(fx, &r, &fx->clients[FX_BOTH], NULL, bad[i], NULL);
            assert_int_equal(r.result, ZR_OIDC_AUTHZ_OK);
            assert_null(r.authz.traceparent);
            run_free(&r);
        }
    }

    /* a stored record with a login method we never write is refused */
    assert_int_equal(zr_oidc_authz_from_json("{\"client_id\":\"docs\",\"redirect_uri\":\"https://docs.example.nl/cb\","
                                             "\"scope\":\"openid\",\"code_challenge\":\"" CHALLENGE "\","
                                             "\"min_loa\":4,\"login_method\":3}",
                                             &back),
                     -1);
    assert_int_equal(zr_oidc_authz_from_json("{\"client_id\":\"docs\",\"redirect_uri\":\"https://docs.example.nl/cb\","
                                             "\"scope\":\"openid\",\"code_challenge\":\"" CHALLENGE "\","
                                             "\"min_loa\":4,\"login_method\":\"professional\"}",
                                             &back),
                     -1);
}

/* ---- finish ---- */

static void authz_for(zr_oidc_authz_t *a, const zr_client_t *c, int method, zr_loa_t min_loa)
{
    memset(a, 0, sizeof(*a));
    a->client_id = strdup(c->client_id);
    a->redirect_uri = strdup(c->redirect_uris[0]);
    a->scope = strdup("openid");
    a->code_challenge = strdup(CHALLENGE);
    a->state = strdup("st");
    a->login_method = method;
    a->min_loa = min_loa;
}

/* finish -> "code" or the error it redirected with. */
static char *finish_outcome(fx_t *fx, const zr_oidc_authz_t *a, const zr_subject_t *s)
{
    zr_http_response_t resp;
    char *v;
    /* about the rules, not the page: the refusal goes back at once */
    for (size_t i = 0; i < FX_CLIENTS; i++)
        fx->clients[i].error_pages = ZR_ERROR_PAGES_PORTAL;
    zr_http_response_init(&resp);
    zr_oidc_authorize_finish(fx->op, a, s, &resp);
    assert_int_equal(resp.status, 302);
    v = fx_url_param(fx_header(&resp, "Location"), "code");
    if (v) {
        free(v);
        v = strdup("code");
    } else {
        v = fx_url_param(fx_header(&resp, "Location"), "error");
    }
    zr_http_response_free(&resp);
    return v;
}

static void expect_finish(fx_t *fx, const zr_oidc_authz_t *a, const zr_subject_t *s, const char *outcome)
{
    char *v = finish_outcome(fx, a, s);
    assert_string_equal(v, outcome);
    free(v);
}

static void test_finish_professional(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t docs, both_open, both_patient, both_pro, portal;
    zr_subject_t pro, patient;
    char *saved;

    fx_pro_subject(&pro, FX_DEZI_NUMMER, 1);
    fx_subject(&patient, FX_BSN, NULL);
    authz_for(&docs, &fx->clients[FX_DOCS], ZR_LOGIN_PROFESSIONAL, ZR_LOA_HIGH);
    authz_for(&both_open, &fx->clients[FX_BOTH], 0, ZR_LOA_SUBSTANTIAL);
    authz_for(&both_patient, &fx->clients[FX_BOTH], ZR_LOGIN_PATIENT, ZR_LOA_SUBSTANTIAL);
    authz_for(&both_pro, &fx->clients[FX_BOTH], ZR_LOGIN_PROFESSIONAL, ZR_LOA_HIGH);
    authz_for(&portal, &fx->clients[FX_PORTAL], ZR_LOGIN_PATIENT, ZR_LOA_SUBSTANTIAL);

    expect_finish(fx, &docs, &pro, "code");
    expect_finish(fx, &both_open, &pro, "code");   /* the patient minimum does not apply */
    expect_finish(fx, &both_open, &patient, "code");
    expect_finish(fx, &both_pro, &pro, "code");
    expect_finish(fx, &both_patient, &patient, "code");
    /* the kind must be one the client and the request allow */
    expect_finish(fx, &portal, &pro, "access_denied");
    expect_finish(fx, &both_patient, &pro, "access_denied");
    expect_finish(fx, &both_pro, &patient, "access_denied");
    expect_finish(fx, &docs, &patient, "access_denied");
    /* professionals are held to dezi.min_loa (high here) */
    pro.loa = ZR_LOA_SUBSTANTIAL;
    expect_finish(fx, &docs, &pro, "access_denied");
    expect_finish(fx, &both_open, &pro, "access_denied");
    fx->cfg.dezi.min_loa = ZR_LOA_SUBSTANTIAL;
    expect_finish(fx, &both_open, &pro, "code");
    expect_finish(fx, &docs, &pro, "access_denied"); /* the request asked for high */
    fx->cfg.dezi.min_loa = ZR_LOA_HIGH;
    pro.loa = ZR_LOA_HIGH;
    /* who logged in must be known: the Dezi number, not a BSN */
    saved = pro.pro.dezi_nummer;
    pro.pro.dezi_nummer = NULL;
    pro.acting.value = strdup(FX_BSN);
    expect_finish(fx, &docs, &pro, "access_denied");
    pro.pro.dezi_nummer = saved;
    /* no Dezi configured: no professional gets a code */
    fx->cfg.dezi.enabled = 0;
    expect_finish(fx, &docs, &pro, "access_denied");
    fx->cfg.dezi.enabled = 1;
    expect_finish(fx, &docs, &pro, "code");

    zr_subject_clear(&pro);
    zr_subject_clear(&patient);
    zr_oidc_authz_clear(&docs);
    zr_oidc_authz_clear(&both_open);
    zr_oidc_authz_clear(&both_patient);
    zr_oidc_authz_clear(&both_pro);
    zr_oidc_authz_clear(&portal);
}

/* Issue 18 §2: a professional below the level gets Dezi's page (a means
 * of a higher level), never the DigiD text meant for patients, whatever
 * the request left open; the portal gets loa_too_low. */
static void test_professional_loa_page(void **state)
{
    fx_t *fx = *state;
    zr_oidc_authz_t open, docs;
    zr_subject_t pro;
    zr_oidc_authz_t *cases[] = {&open, &docs};

    fx_pro_subject(&pro, FX_DEZI_NUMMER, 1);
    pro.loa = ZR_LOA_SUBSTANTIAL; /* dezi.min_loa is high */
    authz_for(&open, &fx->clients[FX_BOTH], 0, ZR_LOA_SUBSTANTIAL);
    authz_for(&docs, &fx->clients[FX_DOCS], ZR_LOGIN_PROFESSIONAL, ZR_LOA_HIGH);
    for (size_t i = 0; i < 2; i++)
        for (int l = 0; l < 2; l++) {
            zr_http_response_t resp;
            fx->clients[FX_BOTH].error_pages = fx->clients[FX_DOCS].error_pages = ZR_ERROR_PAGES_RELAY;
            cases[i]->lang = l ? ZR_LANG_EN : ZR_LANG_NL;
            zr_http_response_init(&resp);
            zr_oidc_authorize_finish(fx->op, cases[i], &pro, &resp);
            assert_int_equal(resp.status, 403);
            assert_non_null(strstr(resp.body, l ? ">A higher level of assurance is needed</h1>"
                                                : ">Hoger betrouwbaarheidsniveau nodig</h1>"));
            assert_null(strstr(resp.body, "DigiD app"));
            zr_http_response_free(&resp);
        }
    zr_subject_clear(&pro);
    zr_oidc_authz_clear(&open);
    zr_oidc_authz_clear(&docs);
}

/* ---- ID token and UserInfo ---- */

static void expect_professional_claims(json_t *c)
{
    assert_string_equal(fx_jstr(c, "dezi_nummer"), FX_DEZI_NUMMER);
    assert_string_equal(fx_jstr(c, "ura"), "87654321");
    assert_string_equal(fx_jstr(c, "organization_name"), "Huisartsenpraktijk De Linde");
    assert_string_equal(fx_jstr(c, "rol_code"), "01.015");
    assert_string_equal(fx_jstr(c, "rol_naam"), "Huisarts");
    assert_string_equal(fx_jstr(c, "rol_code_bron"), "http://www.dezi.nl/rol_code_bron/big");
    assert_int_equal(json_array_size(json_object_get(c, "roles")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "roles"), 0)), "arts");
    assert_string_equal(json_string_value(json_array_get(json_object_get(c, "roles"), 1)), "voorschrijver");
    assert_string_equal(fx_jstr(c, "initials"), "J.H.");
    assert_string_equal(fx_jstr(c, "surname_prefix"), "van der");
    assert_string_equal(fx_jstr(c, "family_name"), "Berg");
    assert_string_equal(fx_jstr(c, "name"), "J.H. van der Berg");
    assert_string_equal(fx_jstr(c, "verklaring_id"), "8a0e2a4c-1d3b-4f5e-9c7a-6b5d4e3f2a10");
    assert_string_equal(fx_jstr(c, "sub_id_type"), "urn:nl-eid-gdi:1.0:id:pseudonym");
    assert_string_equal(fx_jstr(c, "acr"), "http://eidas.europa.eu/LoA/high");
    assert_null(json_object_get(c, "bsn"));
    assert_null(json_object_get(c, "represents"));
}

static void test_professional_id_token_and_userinfo(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_DOCS];
    const zr_subject_id_t uzi = {(char *)"http://fhir.nl/fhir/NamingSystem/uzi-nr-pers", (char *)FX_DEZI_NUMMER};
    zr_subject_t pro;
    char *verifier, *challenge, *code, *sub, alg[16];
    fx_reply_t t, u;
    json_t *idt;

    fx_pro_subject(&pro, FX_DEZI_NUMMER, 1);
    fx_pkce(&verifier, &challenge);
    code = fx_login_subject(fx, c, challenge, "n-pro", NULL, &pro);
    fx_redeem_basic(fx, c, FX_DOCS_SECRET, code, verifier, &t);

    /* verified with the published keys (cjose), independent of the signer */
    idt = fx_verify_with_jwks(fx, fx_jstr(t.body, "id_token"), alg, sizeof(alg));
    assert_string_equal(alg, "RS256");
    assert_string_equal(fx_jstr(idt, "iss"), FX_ISSUER);
    assert_string_equal(fx_jstr(idt, "aud"), "docs");
    assert_string_equal(fx_jstr(idt, "nonce"), "n-pro");
    expect_professional_claims(idt);
    sub = zr_oidc_pairwise_sub(fx->op, c, &uzi);
    assert_string_equal(fx_jstr(idt, "sub"), sub);
    assert_null(strstr(fx_jstr(idt, "sub"), FX_DEZI_NUMMER));

    fx_call_userinfo(fx, fx_jstr(t.body, "access_token"), &u);
    assert_int_equal(u.resp.status, 200);
    assert_string_equal(fx_jstr(u.body, "sub"), sub);
    expect_professional_claims(u.body);
    fx_reply_free(&u);

    free(sub);
    json_decref(idt);
    fx_reply_free(&t);
    free(code);
    free(verifier);
    free(challenge);
    zr_subject_clear(&pro);
}

/* Same digits, one a BSN and one a Dezi number: two different people, two
 * different subs at the same client. Optional claims are left out. */
static void test_professional_sub_differs_from_patient(void **state)
{
    fx_t *fx = *state;
    const zr_client_t *c = &fx->clients[FX_BOTH];
    zr_subject_t pro;
    char *verifier, *challenge, *code1, *code2;
    fx_reply_t t1, t2;
    json_t *pat_idt, *pro_idt;

    fx_pro_subject(&pro, FX_BSN, 0);
    free(pro.pro.surname_prefix);
    pro.pro.surname_prefix = NULL;
    fx_pkce(&verifier, &challenge);
    code1 = fx_login(fx, c, challenge, NULL, FX_BSN, NULL);
    fx_redeem_basic(fx, c, FX_BOTH_SECRET, code1, verifier, &t1);
    code2 = fx_login_subject(fx, c, challenge, NULL, "login_method=professional", &pro);
    fx_redeem_basic(fx, c, FX_BOTH_SECRET, code2, verifier, &t2);
    pat_idt = fx_verify_with_jwks(fx, fx_jstr(t1.body, "id_token"), NULL, 0);
    pro_idt = fx_verify_with_jwks(fx, fx_jstr(t2.body, "id_token"), NULL, 0);

    assert_string_equal(fx_jstr(pat_idt, "bsn"), FX_BSN); /* this client is entitled */
    assert_string_not_equal(fx_jstr(pat_idt, "sub"), fx_jstr(pro_idt, "sub"));
    assert_null(json_object_get(pro_idt, "bsn"));          /* never for a professional */
    assert_string_equal(fx_jstr(pro_idt, "dezi_nummer"), FX_BSN);
    assert_null(json_object_get(pro_idt, "surname_prefix"));
    assert_string_equal(fx_jstr(pro_idt, "name"), "J.H. Berg");
    /* unmapped role allowed by the client: an empty list, not absent */
    assert_true(json_is_array(json_object_get(pro_idt, "roles")));
    assert_int_equal(json_array_size(json_object_get(pro_idt, "roles")), 0);
    assert_null(json_object_get(pat_idt, "dezi_nummer"));

    json_decref(pat_idt);
    json_decref(pro_idt);
    fx_reply_free(&t1);
    fx_reply_free(&t2);
    free(code1);
    free(code2);
    free(verifier);
    free(challenge);
    zr_subject_clear(&pro);
}

static void test_discovery_professional_claims(void **state)
{
    fx_t *fx = *state;
    zr_http_request_t req;
    zr_http_response_t resp;
    json_t *d, *claims;
    size_t i;
    json_t *v;
    static const char *const names[] = {"dezi_nummer", "ura", "organization_name", "rol_code", "rol_naam",
                                        "rol_code_bron", "roles", "initials", "surname_prefix", "family_name",
                                        "name", "verklaring_id"};

    fx_req(&req, "GET", "/.well-known/openid-configuration");
    zr_http_response_init(&resp);
    assert_int_equal(zr_oidc_handle_discovery(fx->op, &req, &resp), 0);
    d = fx_json(&resp);
    claims = json_object_get(d, "claims_supported");
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        int found = 0;
        json_array_foreach(claims, i, v) found |= strcmp(json_string_value(v), names[n]) == 0;
        assert_true(found);
    }
    json_decref(d);
    zr_http_response_free(&resp);
    fx_req_free(&req);
}

/* Issue 14 §1: a quarantined care provider. Its patients' logins are
 * refused as temporarily_unavailable; professionals (no care provider) and
 * the chooser of a client that offers both still go on, even when the
 * provider's services could not be read. */
static void test_quarantined_care_provider(void **state)
{
    fx_t *fx = *state;
    size_t services = fx->tenant.service_count;
    run_t r;
    char *v;

    fx->tenant.quarantined = 1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1)
            fx->tenant.service_count = 0; /* a file that could not be read */
        run_begin(fx, &r, &fx->clients[FX_PORTAL], NULL, NULL);
        assert_int_equal(r.result, ZR_OIDC_AUTHZ_RESPONDED);
        assert_int_equal(r.resp.status, 302);
        v = fx_url_param(fx_header(&r.resp, "Location"), "error");
        assert_string_equal(v, "temporarily_unavailable");
        free(v);
        v = fx_url_param(fx_header(&r.resp, "Location"), "error_description");
        assert_non_null(strstr(v, "this care provider cannot be logged in to right now"));
        free(v);
        assert_null(fx_url_param(fx_header(&r.resp, "Location"), "code"));
        assert_null(r.authz.client_id);
        run_free(&r);
        run_begin(fx, &r, &fx->clients[FX_BOTH], P("login_method=patient"), NULL);
        v = fx_url_param(fx_header(&r.resp, "Location"), "error");
        assert_string_equal(v, "temporarily_unavailable");
        free(v);
        run_free(&r);
        begin_expect(fx, FX_BOTH, NULL, 0, "zh");
        begin_expect(fx, FX_BOTH, P("login_method=professional"), ZR_LOGIN_PROFESSIONAL, NULL);
        begin_expect(fx, FX_DOCS, NULL, ZR_LOGIN_PROFESSIONAL, NULL);
    }
    assert_true(zr_oidc_tenant_quarantined(&fx->cfg, "zh"));
    assert_false(zr_oidc_tenant_quarantined(&fx->cfg, "elsewhere"));
    fx->tenant.service_count = services;
    fx->tenant.quarantined = 0;
    begin_expect(fx, FX_PORTAL, NULL, ZR_LOGIN_PATIENT, "zh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_method),
        cmocka_unit_test(test_login_method_loa),
        cmocka_unit_test(test_traceparent),
        cmocka_unit_test(test_finish_professional),
        cmocka_unit_test(test_professional_loa_page),
        cmocka_unit_test(test_professional_id_token_and_userinfo),
        cmocka_unit_test(test_professional_sub_differs_from_patient),
        cmocka_unit_test(test_discovery_professional_claims),
        cmocka_unit_test(test_quarantined_care_provider),
    };
    return cmocka_run_group_tests(tests, fx_setup, fx_teardown);
}
