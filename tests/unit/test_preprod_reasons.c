/* The reasons of the guided test run (src/preprod/reason.c): every code
 * zr_preprod_evaluate or the test client records has a text in Dutch and in
 * English (templates/lang/<code>.txt, "preprod.reason.<code>" keys),
 * every placeholder of a text is a parameter of its code and the other way
 * round, and rendering fills them (HTML-escaped for the pages, plain for
 * the report). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/preprod.h"
#include "../../src/preprod/preprod_internal.h"

static const char *const langs[] = {"nl", "en"};

static char *read_texts(const char *lang)
{
    char path[1024], *text = calloc(1, 65536);
    FILE *fp;
    size_t n;
    snprintf(path, sizeof(path), "%s/templates/lang/%s.txt", ZR_SOURCE_DIR, lang);
    fp = fopen(path, "r");
    assert_non_null(fp);
    n = fread(text, 1, 65535, fp);
    fclose(fp);
    text[n] = '\0';
    return text;
}

/* The raw value of "preprod.reason.CODE = ..." in the catalog, or NULL. */
static char *raw_line(const char *texts, const char *code)
{
    char key[64];
    const char *p, *end;
    snprintf(key, sizeof(key), "preprod.reason.%s = ", code);
    for (p = texts; p && *p; p = end ? end + 1 : NULL) {
        end = strchr(p, '\n');
        if (strncmp(p, key, strlen(key)) == 0)
            return strndup(p + strlen(key), end ? (size_t)(end - p) - strlen(key) : strlen(p + strlen(key)));
    }
    return NULL;
}

static const zr_preprod_reason_def_t *find_def(const char *code)
{
    size_t n;
    const zr_preprod_reason_def_t *defs = zr_preprod_reason_defs(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(defs[i].code, code) == 0)
            return &defs[i];
    return NULL;
}

static int def_has_param(const zr_preprod_reason_def_t *def, const char *name)
{
    for (size_t i = 0; def->params[i]; i++)
        if (strcmp(def->params[i], name) == 0)
            return 1;
    return 0;
}

static size_t def_param_count(const zr_preprod_reason_def_t *def)
{
    size_t n = 0;
    while (def->params[n])
        n++;
    return n;
}

static void test_every_code_has_both_texts(void **state)
{
    size_t n;
    const zr_preprod_reason_def_t *defs = zr_preprod_reason_defs(&n);
    char *texts[2], *line[2];
    (void)state;

    assert_true(n >= 30);
    for (int l = 0; l < 2; l++)
        texts[l] = read_texts(langs[l]);
    for (size_t i = 0; i < n; i++) {
        for (int l = 0; l < 2; l++) {
            const char *p;
            line[l] = raw_line(texts[l], defs[i].code);
            if (!line[l] || !*line[l])
                fail_msg("reason.%s has no %s text", defs[i].code, langs[l]);
            /* every placeholder names a parameter of the code ... */
            for (p = strstr(line[l], "{{"); p; p = strstr(p + 2, "{{")) {
                char name[64];
                const char *close = strstr(p, "}}");
                assert_non_null(close);
                assert_true(p[2] != '{' && (size_t)(close - p - 2) < sizeof(name));
                snprintf(name, sizeof(name), "%.*s", (int)(close - p - 2), p + 2);
                if (!def_has_param(&defs[i], name))
                    fail_msg("reason.%s (%s): {{%s}} is not one of its parameters", defs[i].code, langs[l], name);
            }
            /* ... and every parameter is shown */
            for (size_t k = 0; defs[i].params[k]; k++) {
                char ph[80];
                snprintf(ph, sizeof(ph), "{{%s}}", defs[i].params[k]);
                if (!strstr(line[l], ph))
                    fail_msg("reason.%s (%s) does not show %s", defs[i].code, langs[l], ph);
            }
        }
        /* translated, not copied */
        if (strcmp(line[0], line[1]) == 0)
            fail_msg("reason.%s: the Dutch text is the English one", defs[i].code);
        free(line[0]);
        free(line[1]);
    }
    /* and no text for a code that does not exist */
    for (int l = 0; l < 2; l++) {
        for (const char *p = strstr(texts[l], "\nreason."); p; p = strstr(p + 1, "\nreason.")) {
            char code[64];
            size_t len = strcspn(p + 8, "=\n");
            snprintf(code, sizeof(code), "%.*s", (int)len, p + 8);
            if (!find_def(code))
                fail_msg("%s text for unknown reason code %s", langs[l], code);
        }
        free(texts[l]);
    }
}

/* Each code rendered with markup-laden parameters: no placeholder left,
 * every value there, escaped on the page, as is in the report. */
static void test_placeholders_filled(void **state)
{
    size_t n;
    const zr_preprod_reason_def_t *defs = zr_preprod_reason_defs(&n);
    (void)state;

    for (size_t i = 0; i < n; i++) {
        zr_preprod_reason_t r = {0};
        char key[64];
        zr_preprod_reason_set(&r, defs[i].code, NULL);
        for (size_t k = 0; defs[i].params[k]; k++) {
            char value[96];
            snprintf(value, sizeof(value), "<v-%s&'x'>", defs[i].params[k]);
            zr_preprod_reason_param(&r, defs[i].params[k], value);
        }
        snprintf(key, sizeof(key), "reason.%s", defs[i].code);
        for (int l = 0; l < 2; l++) {
            char *html = zr_preprod_reason_text(&r, l == 0 ? ZR_LANG_NL : ZR_LANG_EN, 1);
            char *plain = zr_preprod_reason_text(&r, l == 0 ? ZR_LANG_NL : ZR_LANG_EN, 0);
            assert_non_null(html);
            assert_non_null(plain);
            assert_null(strstr(html, "{{"));
            assert_null(strstr(html, key));
            assert_string_not_equal(html, defs[i].code); /* the text, not the fallback */
            assert_null(strchr(html, '<')); /* parameters are escaped */
            for (size_t k = 0; defs[i].params[k]; k++) {
                char esc[128], raw[96];
                snprintf(esc, sizeof(esc), "&lt;v-%s&amp;&#39;x&#39;&gt;", defs[i].params[k]);
                snprintf(raw, sizeof(raw), "<v-%s&'x'>", defs[i].params[k]);
                if (!strstr(html, esc) || !strstr(plain, raw))
                    fail_msg("reason.%s (%s): %s not filled: %s", defs[i].code, langs[l], defs[i].params[k], html);
            }
            free(html);
            free(plain);
        }
        zr_preprod_reason_clear(&r);
    }
}

/* What zr_preprod_evaluate records: defined codes with exactly their
 * parameters, for every branch. */
static void test_evaluate_records_defined_codes(void **state)
{
    static const struct {
        zr_preprod_kind_t kind;
        zr_loa_t loa;
        zr_preprod_observation_t o;
        const char *code;
    } cases[] = {
        {ZR_PREPROD_LOGIN, ZR_LOA_BASIC, {.oauth_error = "access_denied"}, "login_refused"},
        {ZR_PREPROD_LOGIN, ZR_LOA_BASIC, {.token_error = "ID token signature invalid"}, "token_invalid"},
        {ZR_PREPROD_LOGIN, ZR_LOA_HIGH, {.token_ok = 1, .acr = "http://eidas.europa.eu/LoA/substantial"},
         "loa_below"},
        {ZR_PREPROD_LOGIN, ZR_LOA_BASIC, {.token_ok = 1, .acr = "http://eidas.europa.eu/LoA/substantial"},
         "loa_reached"},
        {ZR_PREPROD_CANCEL, ZR_LOA_NONE, {.token_ok = 1}, "cancel_logged_in"},
        {ZR_PREPROD_CANCEL, ZR_LOA_NONE, {0}, "cancel_unexpected"},
        {ZR_PREPROD_CANCEL, ZR_LOA_NONE, {.oauth_error = "access_denied", .saml_result = "authn_failed"},
         "cancel_not_tvs_cancel"},
        {ZR_PREPROD_CANCEL, ZR_LOA_NONE, {.oauth_error = "access_denied"}, "cancel_passed"},
        {ZR_PREPROD_CANCEL, ZR_LOA_NONE, {.oauth_error = "access_denied", .saml_result = "cancelled"},
         "cancel_passed_tvs"},
        {ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, {.token_ok = 1}, "loa_logged_in"},
        {ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, {.oauth_error = "server_error"}, "loa_unexpected"},
        {ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, {.oauth_error = "access_denied"}, "loa_refused"},
        {ZR_PREPROD_LOA_TOO_LOW, ZR_LOA_HIGH, {.oauth_error = "access_denied", .saml_result = "no_authn_context"},
         "loa_refused_saml"},
        {ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE, {.oauth_error = "access_denied"}, "machtigen_failed"},
        {ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE, {.token_ok = 1}, "machtigen_no_representation"},
        {ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE,
         {.token_ok = 1, .has_represents = 1, .representation_type = "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"},
         "machtigen_passed"},
        {ZR_PREPROD_LOGOUT, ZR_LOA_NONE, {.logged_out = 1}, "logout_passed"},
        {ZR_PREPROD_LOGOUT, ZR_LOA_NONE, {0}, "logout_login_failed"},
        {ZR_PREPROD_LOGOUT, ZR_LOA_NONE, {.token_ok = 1}, "logout_now"},
        {ZR_PREPROD_EXPIRED, ZR_LOA_NONE, {.token_ok = 1, .elapsed_ms = 905000, .session_lifetime_s = 900},
         "expired_accepted"},
        {ZR_PREPROD_EXPIRED, ZR_LOA_NONE, {.page_error = "session_expired", .elapsed_ms = 6000,
                                           .session_lifetime_s = 4},
         "expired_refused"},
        {ZR_PREPROD_EXPIRED, ZR_LOA_NONE, {.oauth_error = "access_denied"}, "expired_unexpected"},
        {ZR_PREPROD_EXPIRED, ZR_LOA_NONE, {0}, "expired_waiting"},
        {ZR_PREPROD_REPLAY, ZR_LOA_NONE, {.artifact_repeated = 1}, "replay_accepted"},
        {ZR_PREPROD_REPLAY, ZR_LOA_NONE, {.artifact_repeated = 1, .repeat_refused = 1}, "replay_refused"},
        {ZR_PREPROD_REPLAY, ZR_LOA_NONE, {.artifact_repeated = 1, .repeat_refused = 1, .code_replay_refused = 1},
         "replay_refused_code"},
        {ZR_PREPROD_REPLAY, ZR_LOA_NONE, {0}, "replay_first_failed"},
        {ZR_PREPROD_REPLAY, ZR_LOA_NONE, {.token_ok = 1}, "replay_now"},
        {(zr_preprod_kind_t)99, ZR_LOA_NONE, {0}, "unknown_scenario"},
    };
    (void)state;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zr_preprod_scenario_t sc;
        const zr_preprod_reason_def_t *def;
        const char *name;
        json_t *value;
        memset(&sc, 0, sizeof(sc));
        sc.kind = cases[i].kind;
        sc.loa = cases[i].loa;
        zr_preprod_evaluate(&sc, &cases[i].o, &sc.reason);
        if (strcmp(sc.reason.code, cases[i].code) != 0)
            fail_msg("case %zu: %s, expected %s", i, sc.reason.code, cases[i].code);
        def = find_def(sc.reason.code);
        assert_non_null(def);
        assert_int_equal(json_object_size(sc.reason.params), def_param_count(def));
        json_object_foreach(sc.reason.params, name, value) {
            assert_true(def_has_param(def, name));
            assert_true(json_is_string(value) && json_string_length(value) > 0);
        }
        zr_preprod_reason_clear(&sc.reason);
    }
}

static void test_rendered_languages(void **state)
{
    zr_preprod_scenario_t sc;
    zr_preprod_observation_t o = {.token_ok = 1, .acr = "http://eidas.europa.eu/LoA/high"};
    char *nl, *en;
    (void)state;

    memset(&sc, 0, sizeof(sc));
    sc.kind = ZR_PREPROD_LOGIN;
    sc.loa = ZR_LOA_SUBSTANTIAL;
    assert_int_equal(zr_preprod_evaluate(&sc, &o, &sc.reason), ZR_PREPROD_PASSED);
    nl = zr_preprod_reason_text(&sc.reason, ZR_LANG_NL, 1);
    en = zr_preprod_reason_text(&sc.reason, ZR_LANG_EN, 1);
    assert_string_equal(nl, "Ingelogd op niveau high (gevraagd: substantial)");
    assert_string_equal(en, "logged in at high (requested substantial)");
    free(nl);
    free(en);

    /* A parameter is one line (the texts are lines) and at most 200 bytes,
     * cut between UTF-8 characters. */
    {
        char long_value[400] = "a"; /* then 150 two-byte characters: byte 200 is inside one */
        const char *v;
        for (size_t i = 0; i < 150; i++)
            strcat(long_value, "\xc3\xab"); /* ë */
        zr_preprod_reason_set(&sc.reason, "token_invalid", "error", long_value, NULL);
        v = json_string_value(json_object_get(sc.reason.params, "error")); /* "?" had it been cut mid-character */
        assert_non_null(v);
        assert_int_equal(strlen(v), 199);
        zr_preprod_reason_set(&sc.reason, "token_invalid", "error", "line one\nreason.x=y", NULL);
        nl = zr_preprod_reason_text(&sc.reason, ZR_LANG_NL, 0);
        assert_string_equal(nl, "Geen geldig ID-token ontvangen: line one reason.x=y");
        free(nl);
    }

    /* A code without text (a newer state file): its code-less text, else the code. */
    zr_preprod_reason_set(&sc.reason, "no_such_code", NULL);
    en = zr_preprod_reason_text(&sc.reason, ZR_LANG_EN, 1);
    assert_string_equal(en, "no_such_code");
    free(en);
    zr_preprod_reason_clear(&sc.reason);
    en = zr_preprod_reason_text(&sc.reason, ZR_LANG_EN, 1);
    assert_string_equal(en, ""); /* not started: no reason */
    free(en);
}

/* The tester's client retries only what the relay says is worth a retry:
 * a 503 temporarily_unavailable (the code stays redeemable), a few times,
 * the pause doubling; nothing else (a second try of an invalid_grant would
 * look like a replay to the relay). */
static void test_token_retry_pause(void **state)
{
    (void)state;
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, "temporarily_unavailable", 1), 250);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, "temporarily_unavailable", 2), 500);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, "temporarily_unavailable", 3), 1000);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, "temporarily_unavailable", 4), -1);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, "server_error", 1), -1);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(503, NULL, 1), -1);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(400, "invalid_grant", 1), -1);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(500, "temporarily_unavailable", 1), -1);
    assert_int_equal(zr_preprod_rp_retry_pause_ms(200, NULL, 1), -1);
}

/* The expired-session wait, said exactly (issue 18 §4: it said "a little
 * over 3 minutes" for 120 s). */
static void expect_duration(int seconds, zr_lang_t lang, const char *want)
{
    char *got = zr_preprod_duration_text(seconds, lang);
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_duration_text(void **state)
{
    (void)state;
    expect_duration(120, ZR_LANG_NL, "2 minuten");
    expect_duration(900, ZR_LANG_NL, "15 minuten");
    expect_duration(90, ZR_LANG_NL, "1 minuut en 30 seconden");
    expect_duration(61, ZR_LANG_EN, "1 minute and 1 second");
    expect_duration(4, ZR_LANG_NL, "4 seconden");
    expect_duration(60, ZR_LANG_EN, "1 minute");
    expect_duration(0, ZR_LANG_EN, "0 seconds");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_retry_pause),
        cmocka_unit_test(test_duration_text),
        cmocka_unit_test(test_every_code_has_both_texts),
        cmocka_unit_test(test_placeholders_filled),
        cmocka_unit_test(test_evaluate_records_defined_codes),
        cmocka_unit_test(test_rendered_languages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
