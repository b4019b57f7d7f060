/* Unit tests for src/authz/subject.c: the AuthZEN subject shapes for a
 * patient (plain, pseudonymous, with representation) and a professional. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "zr/authz.h"

#define ACTING_BSN "999993653"
#define LEGAL_BSN "999991772"
#define DV "urn:nl-eid-gdi:1.0:DV:00000001234567890000:entities:9001"
#define RT "urn:nl-eid-gdi:1.1:RT:ParentalAuthority"

static zr_subject_t patient(int with_legal)
{
    zr_subject_t s;
    memset(&s, 0, sizeof(s));
    s.acting.id_type = ZR_ID_LEGACY_BSN;
    s.acting.value = ACTING_BSN;
    s.loa = ZR_LOA_SUBSTANTIAL;
    s.auth_time = 1700000000;
    if (with_legal) {
        s.has_legal = 1;
        s.legal.id_type = ZR_ID_LEGACY_BSN;
        s.legal.value = LEGAL_BSN;
        s.representation_type = RT;
    }
    return s;
}

static const char *str_at(json_t *j, const char *path)
{
    /* "a.b.c" lookup */
    char buf[128], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *k = strtok_r(buf, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
        j = json_object_get(j, k);
    return json_string_value(j);
}

static int contains(json_t *j, const char *needle)
{
    char *text = json_dumps(j, 0);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

static void test_patient_plain(void **state)
{
    zr_subject_t s = patient(0);
    zr_authz_patient_ids_t ids = {.acting = {ZR_AUTHZ_TYPE_BSN, ACTING_BSN}};
    json_t *j = zr_authz_subject_patient(&s, &ids);
    assert_non_null(j);
    assert_string_equal(str_at(j, "type"), "http://fhir.nl/fhir/NamingSystem/bsn");
    assert_string_equal(str_at(j, "id"), ACTING_BSN);
    assert_string_equal(str_at(j, "properties.loa"), "http://eidas.europa.eu/LoA/substantial");
    assert_null(json_object_get(json_object_get(j, "properties"), "care_provider")); /* the resource's now */
    json_decref(j);
    (void)state;
}

static void test_patient_pseudonym(void **state)
{
    zr_subject_t s = patient(0);
    zr_authz_patient_ids_t ids = {.acting = {ZR_AUTHZ_TYPE_PAIRWISE_SUB, "pseudo-acting"}};
    json_t *j = zr_authz_subject_patient(&s, &ids);
    assert_non_null(j);
    assert_string_equal(str_at(j, "type"), "urn:nl-eid-gdi:1.0:id:pseudonym");
    assert_string_equal(str_at(j, "id"), "pseudo-acting");
    assert_false(contains(j, ACTING_BSN));
    json_decref(j);
    /* no id: nothing to send (fail closed) */
    ids.acting.id = NULL;
    assert_null(zr_authz_subject_patient(&s, &ids));
    ids.acting.id = "";
    assert_null(zr_authz_subject_patient(&s, &ids));
    /* a BSN-typed id that is no BSN (a pseudonym by mistake) */
    ids.acting.type = ZR_AUTHZ_TYPE_BSN;
    ids.acting.id = "pseudo-acting";
    assert_null(zr_authz_subject_patient(&s, &ids));
    (void)state;
}

static void test_patient_representation(void **state)
{
    zr_subject_t s = patient(1);
    zr_authz_patient_ids_t ids = {.acting = {ZR_AUTHZ_TYPE_BSN, ACTING_BSN},
                                  .legal = {ZR_AUTHZ_TYPE_BSN, LEGAL_BSN},
                                  .service_uuid = "0a0b0c0d-0000-4000-8000-000000000001"};
    json_t *j = zr_authz_subject_patient(&s, &ids);
    assert_non_null(j);
    /* the acting person is the subject ... */
    assert_string_equal(str_at(j, "type"), "http://fhir.nl/fhir/NamingSystem/bsn");
    assert_string_equal(str_at(j, "id"), ACTING_BSN);
    /* ... and the represented patient sits beside, never merged into it */
    assert_string_equal(str_at(j, "properties.representation.type"), RT);
    assert_string_equal(str_at(j, "properties.representation.represented.type"),
                        "http://fhir.nl/fhir/NamingSystem/bsn");
    assert_string_equal(str_at(j, "properties.representation.represented.id"), LEGAL_BSN);
    assert_string_equal(str_at(j, "properties.service_uuid"), ids.service_uuid);
    json_decref(j);

    /* pseudonymous: both persons get their own pseudonym */
    ids.acting = (zr_authz_person_t){ZR_AUTHZ_TYPE_CARE_PROVIDER_PSEUDONYM, "pseudo-acting"};
    ids.legal = (zr_authz_person_t){ZR_AUTHZ_TYPE_CARE_PROVIDER_PSEUDONYM, "pseudo-legal"};
    j = zr_authz_subject_patient(&s, &ids);
    assert_non_null(j);
    assert_string_equal(str_at(j, "id"), "pseudo-acting");
    assert_string_equal(str_at(j, "properties.representation.represented.type"),
                        "urn:nl-zorgrelay:1.0:id:care-provider-pseudonym");
    assert_string_equal(str_at(j, "properties.representation.represented.id"), "pseudo-legal");
    assert_false(contains(j, ACTING_BSN));
    assert_false(contains(j, LEGAL_BSN));
    json_decref(j);
    /* the represented patient cannot be named: no subject at all */
    ids.legal.id = NULL;
    assert_null(zr_authz_subject_patient(&s, &ids));
    (void)state;
}

static zr_dezi_professional_t professional(void)
{
    zr_dezi_professional_t p;
    memset(&p, 0, sizeof(p));
    p.dezi_nummer = "900000123";
    p.voorletters = "J.";
    p.achternaam = "Jansen";
    p.ura = "12345678";
    p.organisation_name = "Huisartsenpraktijk Oost";
    p.rol_code = "01.015";
    p.rol_naam = "Huisarts";
    p.rol_code_bron = "http://www.dezi.nl/rol_code_bron/big";
    p.verklaring_id = "7b2a7c1e-1111-4222-8333-944445555666";
    p.loa = ZR_LOA_HIGH;
    return p;
}

static void test_professional(void **state)
{
    zr_dezi_professional_t p = professional();
    const char *const roles[] = {"arts", "huisarts"};
    json_t *j = zr_authz_subject_professional(&p, roles, 2);
    assert_non_null(j);
    assert_string_equal(str_at(j, "type"), "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers");
    assert_string_equal(str_at(j, "id"), "900000123");
    assert_string_equal(str_at(j, "properties.ura"), "12345678");
    assert_string_equal(str_at(j, "properties.organization.system"), "http://fhir.nl/fhir/NamingSystem/ura");
    assert_string_equal(str_at(j, "properties.organization.value"), "12345678");
    assert_string_equal(str_at(j, "properties.rol_code"), "01.015");
    assert_string_equal(str_at(j, "properties.rol.system"), "urn:oid:2.16.840.1.113883.2.4.15.111");
    assert_string_equal(str_at(j, "properties.rol.code"), "01.015");
    assert_string_equal(str_at(j, "properties.rol.display"), "Huisarts");
    assert_string_equal(str_at(j, "properties.rol_code_bron"), "http://www.dezi.nl/rol_code_bron/big");
    assert_string_equal(str_at(j, "properties.loa"), "http://eidas.europa.eu/LoA/high");
    assert_string_equal(str_at(j, "properties.verklaring_id"), p.verklaring_id);
    json_t *r = json_object_get(json_object_get(j, "properties"), "roles");
    assert_int_equal(json_array_size(r), 2);
    assert_string_equal(json_string_value(json_array_get(r, 0)), "arts");
    assert_string_equal(json_string_value(json_array_get(r, 1)), "huisarts");
    /* data minimisation: the name is not for the PDP */
    assert_false(contains(j, "Jansen"));
    json_decref(j);

    /* no roles mapped: an empty list, not a missing one */
    j = zr_authz_subject_professional(&p, NULL, 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "properties"), "roles")), 0);
    json_decref(j);

    /* the care identity is dezi_nummer + ura + rol_code: all required */
    p.ura = NULL;
    assert_null(zr_authz_subject_professional(&p, roles, 2));
    p = professional();
    p.rol_code = "";
    assert_null(zr_authz_subject_professional(&p, roles, 2));
    p = professional();
    p.dezi_nummer = NULL;
    assert_null(zr_authz_subject_professional(&p, roles, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_patient_plain),
        cmocka_unit_test(test_patient_pseudonym),
        cmocka_unit_test(test_patient_representation),
        cmocka_unit_test(test_professional),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
