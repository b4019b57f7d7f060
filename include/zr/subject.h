/* The authenticated subject as the relay hands it on (to the OpenID Provider
 * now, to the authorization layer later). Built from a validated SAML
 * assertion; the BSNs in it are the most sensitive data the relay holds:
 * zr_subject_clear() wipes them. */
#ifndef ZR_SUBJECT_H
#define ZR_SUBJECT_H

#include <time.h>
#include "zr/tenant.h"

#define ZR_ID_LEGACY_BSN "urn:nl-eid-gdi:1.0:id:legacy-BSN"

typedef struct {
    char *id_type;   /* NameQualifier, e.g. urn:nl-eid-gdi:1.0:id:legacy-BSN */
    char *value;     /* the BSN (9 digits, 11-proof checked) */
} zr_subject_id_t;

typedef struct {
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

/* Serialises to / from JSON (for the session store; the store encrypts). */
char *zr_subject_to_json(const zr_subject_t *s);
int zr_subject_from_json(const char *json, zr_subject_t *out);

#endif
