/* The mock Dezi's built-in test professionals. Nobody here exists: every
 * name says TEST / NIET ECHT, Dezi numbers and URAs start with 9000 and the
 * verklaring ids are fixed so that the revocation list can name one. Role
 * codes and names from data/uzi-rolcodes.csv (01.015 is Huisarts). */
#include "mock_dezi_internal.h"

#include <string.h>

const zr_mock_dezi_person_t zr_mock_dezi_people[] = {
    {
        .label_key = "mock-dezi-login.professional.general_practitioner",
        .dezi_nummer = "900000011",
        .voorletters = "T.",
        .voorvoegsel = "van",
        .achternaam = "Testhuisarts NIET ECHT",
        .abonnee_nummer = "90000001",
        .abonnee_naam = "TEST Huisartsenpraktijk NIET ECHT",
        .rol_code = "01.015",
        .rol_naam = "Huisarts",
        .rol_code_bron = ZR_MOCK_DEZI_BRON_BIG,
        .verklaring_id = "9e570001-0000-4000-8000-000000000001",
    },
    {
        .label_key = "mock-dezi-login.professional.pharmacist",
        .dezi_nummer = "900000022",
        .voorletters = "A.P.",
        .achternaam = "Testapotheker NIET ECHT",
        .abonnee_nummer = "90000002",
        .abonnee_naam = "TEST Apotheek NIET ECHT",
        .rol_code = "17.000",
        .rol_naam = "Apotheker",
        .rol_code_bron = ZR_MOCK_DEZI_BRON_BIG,
        .verklaring_id = "9e570001-0000-4000-8000-000000000002",
        /* The status URI under its other name (the v0.7 JWT example). */
        .status_uri_old_name = 1,
    },
    {
        .label_key = "mock-dezi-login.professional.nurse",
        .dezi_nummer = "900000033",
        .voorletters = "V.",
        .voorvoegsel = "de",
        .achternaam = "Testverpleegkundige NIET ECHT",
        .abonnee_nummer = "90000003",
        .abonnee_naam = "TEST Thuiszorg NIET ECHT",
        .rol_code = "30.000",
        .rol_naam = "Verpleegkundige",
        .rol_code_bron = ZR_MOCK_DEZI_BRON_BIG,
        .verklaring_id = "9e570001-0000-4000-8000-000000000003",
    },
    {
        .label_key = "mock-dezi-login.professional.no_role",
        .dezi_nummer = "900000044",
        .voorletters = "M.",
        .achternaam = "Testmedewerker NIET ECHT",
        .abonnee_nummer = "90000001",
        .abonnee_naam = "TEST Huisartsenpraktijk NIET ECHT",
        .rol_code = "00.000",
        .rol_naam = "Medewerker (geen beroepsrol)",
        .rol_code_bron = "http://www.dezi.nl/rol_code_bron/uzi",
        .verklaring_id = "9e570001-0000-4000-8000-000000000004",
    },
    {
        .label_key = "mock-dezi-login.professional.revoked",
        .dezi_nummer = "900000055",
        .voorletters = "I.",
        .achternaam = "Testingetrokken NIET ECHT",
        .abonnee_nummer = "90000001",
        .abonnee_naam = "TEST Huisartsenpraktijk NIET ECHT",
        .rol_code = "01.015",
        .rol_naam = "Huisarts",
        .rol_code_bron = ZR_MOCK_DEZI_BRON_BIG,
        .verklaring_id = "9e570001-0000-4000-8000-000000000005",
        .revoked = 1,
    },
    {
        .label_key = "mock-dezi-login.professional.claims_2024",
        .shape = ZR_MOCK_DEZI_SHAPE_2024,
        .dezi_nummer = "900000066",
        .voorletters = "O.",
        .achternaam = "Testoudformaat NIET ECHT",
        .abonnee_nummer = "90000001",
        .abonnee_naam = "TEST Huisartsenpraktijk NIET ECHT",
        .rol_code = "01.015",
        .rol_naam = "Huisarts",
        .rol_code_bron = ZR_MOCK_DEZI_BRON_BIG,
        .verklaring_id = "9e570001-0000-4000-8000-000000000006",
        .status_uri_old_name = 1,
    },
};

const size_t zr_mock_dezi_people_count = sizeof(zr_mock_dezi_people) / sizeof(zr_mock_dezi_people[0]);

const zr_mock_dezi_person_t *zr_mock_dezi_person_by_verklaring(const char *verklaring_id)
{
    for (size_t i = 0; verklaring_id && i < zr_mock_dezi_people_count; i++)
        if (strcmp(zr_mock_dezi_people[i].verklaring_id, verklaring_id) == 0)
            return &zr_mock_dezi_people[i];
    return NULL;
}
