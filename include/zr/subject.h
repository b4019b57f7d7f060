/* The authenticated subject as the relay hands it on (to the OpenID Provider
 * now, to the authorization layer later). Built from a validated SAML
 * assertion; the BSNs in it are the most sensitive data the relay holds:
 * zr_subject_clear() wipes them. */
#ifndef ZR_SUBJECT_H
#define ZR_SUBJECT_H

#include <stddef.h>
#include <time.h>
#include "zr/tenant.h"

#define ZR_ID_LEGACY_BSN "urn:nl-eid-gdi:1.0:id:legacy-BSN"

typedef struct {
    char *id_type;   /* NameQualifier, e.g. urn:nl-eid-gdi:1.0:id:legacy-BSN */
    char *value;     /* the BSN (9 digits, 11-proof checked) */
} zr_subject_id_t;

/* Who logged in: a patient through TVS, or a healthcare professional
 * through Dezi (issue 4). */
typedef enum { ZR_SUBJECT_PATIENT = 0, ZR_SUBJECT_PROFESSIONAL = 1 } zr_subject_kind_t;

/* A professional (from a validated Dezi verklaring, src/dezi/): the care
 * identity is dezi_nummer + ura + rol_code. roles are the portal's own roles
 * the client's role_rules mapped rol_code (and URA) to. */
typedef struct {
    char *dezi_nummer;
    char *initials;          /* voorletters */
    char *surname_prefix;    /* voorvoegsel, may be NULL */
    char *surname;           /* achternaam */
    char *ura;               /* abonnee_nummer */
    char *organisation_name; /* abonnee_naam */
    char *rol_code;
    char *rol_naam;
    char *rol_code_bron;
    char *verklaring_id;
    char **roles;
    size_t role_count;
} zr_subject_professional_t;

typedef struct {
    zr_subject_kind_t kind;          /* patient unless set */
    zr_subject_professional_t pro;   /* kind == ZR_SUBJECT_PROFESSIONAL; acting/legal then unused */
    zr_subject_id_t acting;          /* ActingSubjectID: who logged in (always) */
    int has_legal;                   /* representation: the patient represented */
    zr_subject_id_t legal;           /* LegalSubjectID */
    char *representation_type;       /* urn:nl-eid-gdi:1.1:RT:... or NULL */
    zr_loa_t loa;                    /* AuthnContextClassRef reached */
    char *authenticating_authority;  /* first AuthenticatingAuthority, may be NULL */
    time_t auth_time;                /* AuthnInstant */
    char *name_id;                   /* transient NameID (logout only) */
    char *session_index;             /* AuthnStatement@SessionIndex */
    char *tenant_id;                 /* the care provider the login was for */
} zr_subject_t;

/* Frees the strings, wiping BSN values first. Leaves s zeroed. */
void zr_subject_clear(zr_subject_t *s);

/* 11-proof ("elfproef") for a 9-digit BSN. 1 when valid. */
int zr_bsn_is_valid(const char *bsn);

/* Serialises to / from JSON (for the session store; the store encrypts).
 * to_json: NULL when a field cannot be written (not UTF-8), never a record
 * without it. */
char *zr_subject_to_json(const zr_subject_t *s);
int zr_subject_from_json(const char *json, zr_subject_t *out);

#endif
