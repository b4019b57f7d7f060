/* Dezi userinfo: the JWE, the envelope and the verklaring, each check
 * failing on its own with its own error (reference/dezi.md §Checks). */
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
#include "log_capture.h"

#define ERRLEN 256

static void expect_fail(ui_t *u, zr_dezi_status_t want, const char *msg)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    memset(&p, 0, sizeof(p));
    zr_dezi_status_t st = ui_validate(u, &p, NULL, err, sizeof(err));
    if (st != want || !strstr(err, msg))
        fail_msg("status %s err '%s', wanted %s '%s'", zr_dezi_status_name(st), err, zr_dezi_status_name(want), msg);
    assert_null(p.dezi_nummer);
}

static void test_v1_passes_and_fills_every_field(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "", *suri = NULL;
    (void)state;
    ui_default(&u);
    assert_int_equal(ui_validate(&u, &p, &suri, err, sizeof(err)), ZR_DEZI_OK);
    assert_string_equal(p.dezi_nummer, "123456789");
    assert_string_equal(p.voorletters, "A.B.");
    assert_null(p.voorvoegsel);
    assert_string_equal(p.achternaam, "Zorgmedewerker");
    assert_string_equal(p.ura, "87654321");
    assert_string_equal(p.organisation_name, "Zorgaanbieder");
    assert_string_equal(p.rol_code, "01.015");
    assert_string_equal(p.rol_naam, "Huisarts");
    assert_string_equal(p.rol_code_bron, "http://www.dezi.nl/rol_code_bron/big");
    assert_string_equal(p.verklaring_id, VID);
    assert_string_equal(p.json_schema, ZR_DEZI_SCHEMA_V1);
    assert_int_equal(p.loa, ZR_LOA_HIGH);
    assert_true(p.verklaring_exp > zr_time_now());
    assert_string_equal(suri, STATUS_URI);
    /* The serialisation for the store round-trips. */
    char *js = zr_dezi_professional_to_json(&p);
    zr_dezi_professional_t q;
    assert_int_equal(zr_dezi_professional_from_json(js, &q), 0);
    assert_string_equal(q.rol_code, "01.015");
    assert_string_equal(q.ura, "87654321");
    assert_null(q.voorvoegsel);
    assert_int_equal(q.loa, ZR_LOA_HIGH);
    assert_int_equal(q.verklaring_exp, p.verklaring_exp);
    zr_dezi_professional_clear(&q);
    assert_int_equal(zr_dezi_professional_from_json("{\"loa\":4}", &q), -1);
    free(js);
    zr_dezi_professional_clear(&p);
    free(suri);
}

static void test_revocatie_controle_uri_and_alt_schema(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "", *suri = NULL;
    (void)state;
    ui_default(&u);
    json_object_del(u.ver, "status_uri");
    json_object_set_new(u.ver, "revocatie_controle_uri", json_string(ISS "/revocatie-status/v1/verklaring/x"));
    json_object_set_new(u.ver, "json_schema", json_string(ZR_DEZI_SCHEMA_V1_ALT));
    assert_int_equal(ui_validate(&u, &p, &suri, err, sizeof(err)), ZR_DEZI_OK);
    assert_string_equal(suri, ISS "/revocatie-status/v1/verklaring/x");
    zr_dezi_professional_clear(&p);
    free(suri);
}

static void test_2024_shape_passes(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    ui_default(&u);
    const char *drop[] = {"abonnee_nummer", "abonnee_naam", "rol_code", "rol_naam", "rol_code_bron"};
    for (size_t i = 0; i < 5; i++)
        json_object_del(u.ver, drop[i]);
    json_object_set_new(u.ver, "json_schema", json_string(ZR_DEZI_SCHEMA_2024));
    json_object_set_new(u.ver, "relations",
                        json_pack("[{s:s, s:s, s:[{s:s, s:s, s:s}]}]", "ura", "00000010", "entity_name",
                                  "Ziekenhuis De Plataan", "roles", "code", "01.022", "name", "Klinisch geriater",
                                  "role_registry", "http://www.dezi.nl/rol_bron/big"));
    assert_int_equal(ui_validate(&u, &p, NULL, err, sizeof(err)), ZR_DEZI_OK);
    assert_string_equal(p.ura, "00000010");
    assert_string_equal(p.organisation_name, "Ziekenhuis De Plataan");
    assert_string_equal(p.rol_code, "01.022");
    assert_string_equal(p.rol_naam, "Klinisch geriater");
    assert_string_equal(p.rol_code_bron, "http://www.dezi.nl/rol_bron/big");
    assert_string_equal(p.json_schema, ZR_DEZI_SCHEMA_2024);
    zr_dezi_professional_clear(&p);
}

static void test_2024_two_roles_refused(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "json_schema", json_string(ZR_DEZI_SCHEMA_2024));
    json_object_set_new(u.ver, "relations",
                        json_pack("[{s:s, s:[s, s]}]", "ura", "00000010", "roles", "01.022", "01.015"));
    expect_fail(&u, ZR_DEZI_INVALID, "exactly one role");
}

static void test_v1_shape_with_2024_schema_refused(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "json_schema", json_string(ZR_DEZI_SCHEMA_2024));
    expect_fail(&u, ZR_DEZI_INVALID, "relations");
}

static void test_envelope_bad_signature(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.env_key = K_EVIL;
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: signature invalid");
}

static void test_verklaring_bad_signature(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.ver_key = K_DEZI; /* a Dezi key, but not the register's seal */
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: signature invalid");
}

static void test_verklaring_tampered_after_signing(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    /* Swap the verklaring's payload for one naming another URA, keeping
     * the signature: the envelope is re-signed, so only layer 3 catches it. */
    json_t *ver = verklaring_v1();
    char *good = sign_jws(K_REG, "RS256", "reg-1", JKU, ver);
    json_t *other = verklaring_v1();
    json_object_set_new(other, "abonnee_nummer", json_string("99999999"));
    char *evil = sign_jws(K_EVIL, "RS256", "reg-1", JKU, other);
    char *d1 = strchr(good, '.'), *s1 = strrchr(good, '.'), *d2 = strchr(evil, '.'), *s2 = strrchr(evil, '.');
    char forged[8192];
    snprintf(forged, sizeof(forged), "%.*s%.*s%s", (int)(d1 - good), good, (int)(s2 - d2), d2, s1);
    ui_default(&u);
    json_object_set_new(u.env, "verklaring", json_string(forged));
    char *env = sign_jws(K_DEZI, "RS256", "dezi-1", NULL, u.env);
    char *body = encrypt_jwe(K_ENC, "RSA-OAEP", "A256CBC-HS512", env);
    json_decref(u.ver);
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, body, strlen(body), "application/jwt", SUB, &p, err, sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "verklaring: signature invalid"));
    free(good);
    free(evil);
    free(env);
    free(body);
}

static void test_jku_not_allow_listed(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.jku = "https://evil.example/jwks.json";
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: jku not allow-listed");
    assert_int_equal(fx_hits(FX, "https://evil.example/jwks.json"), 0);
}

static void test_verklaring_without_jku(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.jku = NULL;
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: no jku");
}

static void test_unknown_kid_after_one_refetch(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    ui_default(&u);
    assert_int_equal(ui_validate(&u, &p, NULL, err, sizeof(err)), ZR_DEZI_OK);
    zr_dezi_professional_clear(&p);
    assert_int_equal(fx_hits(FX, JKU), 1);
    ui_default(&u);
    u.ver_kid = "reg-unknown";
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: unknown kid");
    assert_int_equal(fx_hits(FX, JKU), 2); /* exactly one refetch */
    ui_default(&u);
    u.env_kid = "dezi-unknown";
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: unknown kid");
    assert_int_equal(fx_hits(FX, JWKS_URI), 2);
}

static void test_key_rotation_found_by_refetch(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    ui_default(&u);
    assert_int_equal(ui_validate(&u, &p, NULL, err, sizeof(err)), ZR_DEZI_OK);
    zr_dezi_professional_clear(&p);
    /* The register rotates to a new seal; no restart needed. */
    fx_serve(FX, JKU, 200, "application/json", jwks_of(K_REG, "reg-1", K_EVIL, "reg-2"));
    ui_default(&u);
    u.ver_key = K_EVIL;
    u.ver_kid = "reg-2";
    assert_int_equal(ui_validate(&u, &p, NULL, err, sizeof(err)), ZR_DEZI_OK);
    zr_dezi_professional_clear(&p);
    assert_int_equal(fx_hits(FX, JKU), 2);
}

static void test_refetch_rate_limited(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    zr_dezi_set_refetch_min(FX->d, ZR_DEZI_REFETCH_MIN_S);
    ui_default(&u);
    assert_int_equal(ui_validate(&u, &p, NULL, err, sizeof(err)), ZR_DEZI_OK);
    zr_dezi_professional_clear(&p);
    for (int i = 0; i < 3; i++) {
        ui_default(&u);
        u.ver_kid = "forged";
        expect_fail(&u, ZR_DEZI_INVALID, "unknown kid");
    }
    assert_int_equal(fx_hits(FX, JKU), 1);
}

static void test_jku_unreachable_is_unavailable(void **state)
{
    ui_t u;
    (void)state;
    fx_serve(FX, JKU, 0, NULL, NULL);
    ui_default(&u);
    expect_fail(&u, ZR_DEZI_UNAVAILABLE, "register key set (jku) unavailable");
}

static void test_envelope_expired(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.env, "exp", json_integer(zr_time_now() - 3600));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: expired");
}

static void test_verklaring_expired(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "exp", json_integer(zr_time_now() - 3600));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: expired");
}

static void test_verklaring_nbf_in_future(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "nbf", json_integer(zr_time_now() + 3600));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: not yet valid");
}

static void test_unknown_json_schema(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "json_schema", json_string("https://www.dezi.nl/json_schemas/v9/verklaring.json"));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: unknown json_schema");
}

static void test_verklaring_id_mismatch(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.env, "verklaring_id", json_string("00000000-0000-0000-0000-000000000000"));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring_id differs");
}

static void test_envelope_audience_wrong(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.env, "aud", json_string("another-client"));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: audience");
}

static void test_envelope_issuer_wrong(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.env, "iss", json_string("auth.dezi.evil"));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: wrong issuer");
}

static void test_loa_too_low(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "loa_dezi", json_string("http://eidas.europa.eu/LoA/substantial"));
    expect_fail(&u, ZR_DEZI_LOA_TOO_LOW, "below dezi.min_loa");
    ui_default(&u);
    json_object_set_new(u.env, "loa_authn", json_string("http://eidas.europa.eu/LoA/substantial"));
    expect_fail(&u, ZR_DEZI_LOA_TOO_LOW, "below dezi.min_loa");
}

static void test_jwe_wrong_alg(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.jwe_alg = "RSA1_5";
    expect_fail(&u, ZR_DEZI_INVALID, "JWE alg/enc not RSA-OAEP/A256CBC-HS512");
}

static void test_jwe_wrong_enc(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.jwe_enc = "A256GCM";
    expect_fail(&u, ZR_DEZI_INVALID, "JWE alg/enc not RSA-OAEP/A256CBC-HS512");
}

static void test_jwe_for_another_key(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    ui_default(&u);
    char *ver = sign_jws(K_REG, "RS256", "reg-1", JKU, u.ver);
    json_object_set_new(u.env, "verklaring", json_string(ver));
    char *env = sign_jws(K_DEZI, "RS256", "dezi-1", NULL, u.env);
    char *body = encrypt_jwe(K_EVIL, "RSA-OAEP", "A256CBC-HS512", env);
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, body, strlen(body), "application/jwt", SUB, &p, err, sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "does not decrypt"));
    free(ver);
    free(env);
    free(body);
}

/* Validates u, expecting OK, and returns what was logged meanwhile. */
static char *validate_ok_logged(ui_t *u)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "", path[64];
    int saved = capture_begin(path);
    zr_dezi_status_t st = ui_validate(u, &p, NULL, err, sizeof(err));
    char *log = capture_end(path, saved);
    if (st != ZR_DEZI_OK)
        fail_msg("status %s err '%s'", zr_dezi_status_name(st), err);
    assert_string_equal(p.dezi_nummer, "123456789");
    zr_dezi_professional_clear(&p);
    return log;
}

static void test_plain_jwt_accepted_with_warning_outside_production(void **state)
{
    ui_t u;
    char *log;
    (void)state;
    /* reference/dezi.md: acceptance answered a signed JWT, not a JWE. */
    ui_default(&u);
    u.plain = 1;
    log = validate_ok_logged(&u);
    assert_non_null(strstr(log, "dezi_userinfo_unencrypted"));
    free(log);
    fx_renew(FX, ZR_ENV_PREPROD);
    ui_default(&u);
    u.plain = 1;
    log = validate_ok_logged(&u);
    assert_non_null(strstr(log, "dezi_userinfo_unencrypted"));
    free(log);
    /* ... still with its signature checked. */
    ui_default(&u);
    u.plain = 1;
    u.env_key = K_EVIL;
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: signature invalid");
    /* An encrypted answer says nothing. */
    ui_default(&u);
    log = validate_ok_logged(&u);
    assert_null(strstr(log, "dezi_userinfo_unencrypted"));
    free(log);
}

/* Spec v0.7 §4.3.2: Dezi encrypts userinfo to our registered key. */
static void test_plain_jwt_refused_in_production(void **state)
{
    ui_t u;
    char *log;
    (void)state;
    fx_renew(FX, ZR_ENV_PRODUCTION);
    ui_default(&u);
    u.plain = 1;
    expect_fail(&u, ZR_DEZI_INVALID, "userinfo: not encrypted");
    ui_default(&u);
    log = validate_ok_logged(&u);
    free(log);
}

/* Spec v0.7 §3.4: the envelope is signed with the id_token's key, from
 * Dezi's jwks_uri. A jku on it would let another key set vouch for it. */
static void test_envelope_jku_refused(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.env_jku = JKU; /* allow-listed for the verklaring */
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: jku/x5u in the header refused");
    ui_default(&u);
    u.env_jku = "https://evil.example/jwks.json";
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: jku/x5u in the header refused");
    assert_int_equal(fx_hits(FX, "https://evil.example/jwks.json"), 0);
}

/* The reported attack: the register's key (or any allow-listed set's)
 * signing the envelope. The verklaring's signer is not the envelope's. */
static void test_envelope_signed_by_register_key_refused(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    u.env_key = K_REG;
    u.env_kid = "reg-1";
    u.env_jku = JKU;
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: jku/x5u in the header refused");
    ui_default(&u);
    u.env_key = K_REG;
    u.env_kid = "reg-1";
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: unknown kid in dezi jwks");
    ui_default(&u);
    u.env_key = K_REG;
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: signature invalid");
}

/* OIDC Core §5.3.2: userinfo about another subject is not used. */
static void test_envelope_sub_differs(void **state)
{
    ui_t u;
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    ui_default(&u);
    json_object_set_new(u.env, "sub", json_string("another-login-sub"));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: sub differs from the id_token's sub");
    ui_default(&u);
    json_object_set_new(u.env, "sub", json_integer(42));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: sub differs");
    ui_default(&u);
    json_object_set_new(u.env, "sub", json_null());
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: sub differs");
    /* A prefix is not the subject. */
    ui_default(&u);
    json_object_set_new(u.env, "sub", json_string(SUB "x"));
    expect_fail(&u, ZR_DEZI_INVALID, "envelope: sub differs");
    /* Without the id_token's sub there is nothing to compare with. */
    ui_default(&u);
    char *body = ui_build(&u);
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, body, strlen(body), "application/jwt", NULL, &p, err,
                                               sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "no id_token sub"));
    free(body);
}

/* Spec v0.7 §4.3.5 lists no sub in the envelope: let through, but said. */
static void test_envelope_without_sub_warned(void **state)
{
    ui_t u;
    char *log;
    (void)state;
    ui_default(&u);
    json_object_del(u.env, "sub");
    log = validate_ok_logged(&u);
    assert_non_null(strstr(log, "dezi_userinfo_no_sub"));
    assert_null(strstr(log, SUB));
    free(log);
    ui_default(&u);
    log = validate_ok_logged(&u);
    assert_null(strstr(log, "dezi_userinfo_no_sub"));
    free(log);
}

static void test_status_uri_judged_like_every_url(void **state)
{
    ui_t u;
    (void)state;
    ui_default(&u);
    json_object_set_new(u.ver, "status_uri", json_string("http://localhost:80@evil.example/status"));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: status URI has a userinfo part");
    ui_default(&u);
    json_object_set_new(u.ver, "status_uri", json_string("http://auth.dezi.test/status"));
    expect_fail(&u, ZR_DEZI_INVALID, "verklaring: status URI is http to another machine");
}

static void test_json_content_type_refused(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    const char *body = "{\"dezi_nummer\":\"123456789\"}";
    (void)state;
    assert_int_equal(
        zr_dezi_userinfo_validate(FX->d, body, strlen(body), "application/json", SUB, &p, err, sizeof(err)),
        ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "content type"));
    assert_null(strstr(err, "123456789"));
}

static void test_alg_none_and_hs256_refused(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    /* {"alg":"none","kid":"dezi-1"} . {"iss":"auth.dezi.test"} . */
    const char *none = "eyJhbGciOiJub25lIiwia2lkIjoiZGV6aS0xIn0.eyJpc3MiOiJhdXRoLmRlemkudGVzdCJ9.";
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, none, strlen(none), "application/jwt", SUB, &p, err, sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "envelope: algorithm not RS256"));
    /* The public key's n used as an HMAC secret would need HS256. */
    const char *hs = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImRlemktMSJ9.eyJpc3MiOiJhdXRoLmRlemkudGVzdCJ9.AAAA";
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, hs, strlen(hs), "application/jwt", SUB, &p, err, sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "envelope: algorithm not RS256"));
}

static void test_duplicate_claims_refused(void **state)
{
    zr_dezi_professional_t p;
    char err[ERRLEN] = "";
    (void)state;
    json_t *hdr = json_pack("{s:s}", "alg", "RS256");
    (void)hdr;
    json_decref(hdr);
    /* {"alg":"RS256","alg":"none"} as a header. */
    char *h = zr_base64url_encode((const uint8_t *)"{\"alg\":\"RS256\",\"alg\":\"none\"}", 28);
    char jws[256];
    snprintf(jws, sizeof(jws), "%s.e30.AAAA", h);
    assert_int_equal(zr_dezi_userinfo_validate(FX->d, jws, strlen(jws), "application/jwt", SUB, &p, err, sizeof(err)),
                     ZR_DEZI_INVALID);
    assert_non_null(strstr(err, "envelope: not a JWS"));
    free(h);
}

static void test_discovery_down_is_unavailable(void **state)
{
    ui_t u;
    (void)state;
    fx_serve(FX, ISS "/.well-known/openid-configuration", 503, "text/plain", strdup("busy"));
    ui_default(&u);
    expect_fail(&u, ZR_DEZI_UNAVAILABLE, "discovery unavailable");
}

#define T(f) cmocka_unit_test_setup_teardown(f, fx_setup, fx_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_v1_passes_and_fills_every_field),
        T(test_revocatie_controle_uri_and_alt_schema),
        T(test_2024_shape_passes),
        T(test_2024_two_roles_refused),
        T(test_v1_shape_with_2024_schema_refused),
        T(test_envelope_bad_signature),
        T(test_verklaring_bad_signature),
        T(test_verklaring_tampered_after_signing),
        T(test_jku_not_allow_listed),
        T(test_verklaring_without_jku),
        T(test_unknown_kid_after_one_refetch),
        T(test_key_rotation_found_by_refetch),
        T(test_refetch_rate_limited),
        T(test_jku_unreachable_is_unavailable),
        T(test_envelope_expired),
        T(test_verklaring_expired),
        T(test_verklaring_nbf_in_future),
        T(test_unknown_json_schema),
        T(test_verklaring_id_mismatch),
        T(test_envelope_audience_wrong),
        T(test_envelope_issuer_wrong),
        T(test_loa_too_low),
        T(test_jwe_wrong_alg),
        T(test_jwe_wrong_enc),
        T(test_jwe_for_another_key),
        T(test_plain_jwt_accepted_with_warning_outside_production),
        T(test_plain_jwt_refused_in_production),
        T(test_envelope_jku_refused),
        T(test_envelope_signed_by_register_key_refused),
        T(test_envelope_sub_differs),
        T(test_envelope_without_sub_warned),
        T(test_status_uri_judged_like_every_url),
        T(test_json_content_type_refused),
        T(test_alg_none_and_hs256_refused),
        T(test_duplicate_claims_refused),
        T(test_discovery_down_is_unavailable),
    };
    /* as main() does (src/main.c): libcurl's global state before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, fx_group_setup, fx_group_teardown);
}
#endif /* ZR_TESTING */
