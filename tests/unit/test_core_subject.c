/* The subject as it is stored between the login and the tokens: patients as
 * before issue 4, professionals with every field of the verklaring. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "zr/subject.h"

static void professional(zr_subject_t *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = ZR_SUBJECT_PROFESSIONAL;
    s->pro.dezi_nummer = strdup("900000012");
    s->pro.initials = strdup("J.H.");
    s->pro.surname = strdup("Berg");
    s->pro.ura = strdup("87654321");
    s->pro.organisation_name = strdup("Praktijk");
    s->pro.rol_code = strdup("01.015");
    s->pro.rol_naam = strdup("Huisarts");
    s->pro.rol_code_bron = strdup("http://www.dezi.nl/rol_code_bron/big");
    s->pro.verklaring_id = strdup("v-1");
    s->pro.roles = calloc(2, sizeof(char *));
    s->pro.roles[0] = strdup("arts");
    s->pro.roles[1] = strdup("voorschrijver");
    s->pro.role_count = 2;
    s->loa = ZR_LOA_HIGH;
    s->auth_time = 1700000000;
}

static void test_professional_round_trip(void **state)
{
    zr_subject_t s, back;
    char *json;
    (void)state;

    professional(&s);
    json = zr_subject_to_json(&s);
    assert_non_null(json);
    assert_null(strstr(json, "\"acting\""));
    assert_int_equal(zr_subject_from_json(json, &back), 0);
    assert_int_equal(back.kind, ZR_SUBJECT_PROFESSIONAL);
    assert_string_equal(back.pro.dezi_nummer, "900000012");
    assert_string_equal(back.pro.initials, "J.H.");
    assert_null(back.pro.surname_prefix);
    assert_string_equal(back.pro.surname, "Berg");
    assert_string_equal(back.pro.ura, "87654321");
    assert_string_equal(back.pro.organisation_name, "Praktijk");
    assert_string_equal(back.pro.rol_code, "01.015");
    assert_string_equal(back.pro.rol_naam, "Huisarts");
    assert_string_equal(back.pro.rol_code_bron, "http://www.dezi.nl/rol_code_bron/big");
    assert_string_equal(back.pro.verklaring_id, "v-1");
    assert_int_equal(back.pro.role_count, 2);
    assert_string_equal(back.pro.roles[0], "arts");
    assert_string_equal(back.pro.roles[1], "voorschrijver");
    assert_int_equal(back.loa, ZR_LOA_HIGH);
    assert_int_equal(back.auth_time, 1700000000);
    assert_null(back.acting.value);
    free(json);

    /* no roles (allow_unmapped_roles): none after the round trip either */
    zr_subject_clear(&back);
    for (size_t i = 0; i < s.pro.role_count; i++)
        free(s.pro.roles[i]);
    free(s.pro.roles);
    s.pro.roles = NULL;
    s.pro.role_count = 0;
    json = zr_subject_to_json(&s);
    assert_int_equal(zr_subject_from_json(json, &back), 0);
    assert_int_equal(back.pro.role_count, 0);
    assert_null(back.pro.roles);
    free(json);
    zr_subject_clear(&back);

    /* clear leaves it zeroed: a patient again, nothing left */
    zr_subject_clear(&s);
    assert_int_equal(s.kind, ZR_SUBJECT_PATIENT);
    assert_null(s.pro.dezi_nummer);
    assert_null(s.pro.roles);
    assert_int_equal(s.pro.role_count, 0);
}

static void test_patient_unchanged(void **state)
{
    zr_subject_t s = {0}, back;
    char *json;
    (void)state;

    s.acting.id_type = strdup(ZR_ID_LEGACY_BSN);
    s.acting.value = strdup("999990019");
    s.loa = ZR_LOA_SUBSTANTIAL;
    json = zr_subject_to_json(&s);
    /* a patient's record has no kind: readable by a relay from before issue 4 */
    assert_null(strstr(json, "kind"));
    assert_null(strstr(json, "\"pro\""));
    assert_int_equal(zr_subject_from_json(json, &back), 0);
    assert_int_equal(back.kind, ZR_SUBJECT_PATIENT);
    assert_string_equal(back.acting.value, "999990019");
    free(json);
    zr_subject_clear(&back);
    zr_subject_clear(&s);
}

/* A field that is not UTF-8 (jansson cannot hold it): no record, never a
 * record without that field (the ID token would silently lack the claim). */
static void test_to_json_refuses_unwritable(void **state)
{
    zr_subject_t s = {0};
    (void)state;

    professional(&s);
    free(s.pro.surname);
    s.pro.surname = strdup("B\xe9rg"); /* Latin-1, not UTF-8 */
    assert_null(zr_subject_to_json(&s));
    free(s.pro.surname);
    s.pro.surname = strdup("Berg");
    free(s.pro.roles[1]);
    s.pro.roles[1] = strdup("\xff");
    assert_null(zr_subject_to_json(&s));
    zr_subject_clear(&s);

    memset(&s, 0, sizeof(s));
    s.acting.id_type = strdup(ZR_ID_LEGACY_BSN);
    s.acting.value = strdup("999990019");
    s.representation_type = strdup("urn:\x80");
    assert_null(zr_subject_to_json(&s));
    zr_subject_clear(&s);
}

static void test_from_json_refuses(void **state)
{
    zr_subject_t s;
    (void)state;
    static const char *const bad[] = {
        /* who logged in is unknown */
        "{\"kind\":\"professional\",\"pro\":{\"ura\":\"1\"},\"acting\":\"999990019\"}",
        "{\"kind\":\"professional\",\"acting\":\"999990019\"}",
        "{\"loa\":3}",
        /* a kind we never write */
        "{\"kind\":\"robot\",\"acting\":\"999990019\"}",
        "{\"kind\":1,\"acting\":\"999990019\"}",
        "{\"kind\":\"professional\",\"pro\":[]}",
        /* roles must be a list of strings */
        "{\"kind\":\"professional\",\"pro\":{\"dezi_nummer\":\"9\",\"roles\":\"arts\"}}",
        "{\"kind\":\"professional\",\"pro\":{\"dezi_nummer\":\"9\",\"roles\":[\"arts\",7]}}",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(zr_subject_from_json(bad[i], &s), -1);
        assert_null(s.pro.dezi_nummer);
        assert_null(s.pro.roles);
        assert_null(s.acting.value);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_professional_round_trip),
        cmocka_unit_test(test_patient_unchanged),
        cmocka_unit_test(test_from_json_refuses),
        cmocka_unit_test(test_to_json_refuses_unwritable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
