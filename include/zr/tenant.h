/* A care provider (DV, "dienstverlener") the relay acts for. First-class
 * object: every login belongs to exactly one tenant, and only that tenant's
 * keys decrypt its BSNs. */
#ifndef ZR_TENANT_H
#define ZR_TENANT_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Levels of assurance, ordered (ST-SAML §Levels of assurance). */
typedef enum {
    ZR_LOA_NONE = 0,
    ZR_LOA_BASIC,        /* http://eID.logius.nl/LoA/basic */
    ZR_LOA_LOW,          /* http://eidas.europa.eu/LoA/low (DigiD midden) */
    ZR_LOA_SUBSTANTIAL,  /* http://eidas.europa.eu/LoA/substantial */
    ZR_LOA_HIGH          /* http://eidas.europa.eu/LoA/high */
} zr_loa_t;

/* Parses a LoA URI (trimmed, scheme and host case-insensitive) or a short
 * name ("basic", "low", "midden", "substantial", "substantieel", "high",
 * "hoog"). Returns ZR_LOA_NONE when unknown. */
zr_loa_t zr_loa_parse(const char *s);
const char *zr_loa_uri(zr_loa_t loa);
const char *zr_loa_name(zr_loa_t loa);

/* A service registered at TVS: one ServiceUUID per minimum LoA. */
typedef struct {
    zr_loa_t min_loa;
    char *service_uuid;
    int attribute_consuming_service_index; /* direct connection: index in our metadata */
    char *name;                            /* ServiceName in our metadata */
} zr_tenant_service_t;

/* A BSN decryption key (PKIoverheid encryption certificate + private key). */
typedef struct {
    char *cert_file;
    char *key_file;
    X509 *cert;
    EVP_PKEY *key;
    char *key_name;       /* SHA-1 hex of the certificate */
    char *key_name_sha256;/* SHA-256 hex: TVS may use either as KeyName */
} zr_tenant_key_t;

/* Where a person gets help (issue 18 §1), per care provider or client (the
 * client's wins): shown on the relay's pages wherever they say "neem contact
 * op met de helpdesk". Every field optional, at least one set. */
typedef struct {
    char *name;           /* e.g. "Servicedesk Ziekenhuis Oost" */
    char *phone;          /* as written for people: "088 123 45 67" */
    char *phone_uri;      /* the same number as a tel: URI (RFC 3966), made when loaded */
    char *url;            /* https (http on loopback in development) */
} zr_helpdesk_t;

/* A logo the relay serves from its own origin (issue 18 §3): a local PNG
 * or SVG file read and checked when loaded (size cap, type by its magic
 * bytes), never a URL a browser fetches elsewhere. */
typedef struct {
    char *file;           /* as configured */
    char *alt;            /* the text alternative (WCAG 1.1.1) */
    char *data;           /* the file's bytes */
    size_t len;
    const char *type;     /* "image/png" or "image/svg+xml" */
    char *src;            /* the page's <img src>: /logo?...&v=<hash>, a new address per content */
} zr_logo_t;
#define ZR_LOGO_MAX_BYTES (100 * 1024) /* a header logo is a few KiB; the cap bounds memory per provider */

typedef struct zr_tenant {
    char *id;             /* short configuration name, e.g. "ziekenhuis-oost" */
    char *name;           /* display name */
    char *entity_id;      /* urn:nl-eid-gdi:1.0:DV:<OIN>:entities:<nnnn> */
    char *oin;            /* 20 digits */
    char *ura;            /* optional */
    /* Entitled to process the BSN (Wbsn-z: a care provider, so a URA) and
     * lets its PDP receive it (authzen.patient_id: bsn). Default 0. */
    int bsn_for_authorization;
    zr_tenant_service_t *services;
    size_t service_count;
    zr_tenant_key_t bsn_keys[2]; /* one, or two during rollover */
    size_t bsn_key_count;
    int assertion_consumer_service_index; /* default 0 */
    /* Kept by the vendor for DICTU's aansluitbestand (tenants export), never
     * used for a login; optional. */
    char *kvk;               /* KvK number, 8 digits */
    char *contact;           /* free text, one line */
    char *akkoordverklaring; /* date signed, YYYY-MM-DD */
    zr_helpdesk_t helpdesk;  /* optional; all NULL when not configured */
    zr_logo_t logo;          /* optional (`logo: {file, alt}`); all NULL when not configured */
    /* Hex SHA-256 over everything that shapes a login (id, entityID, OIN,
     * services, BSN key certificates), set when loaded: a login in flight
     * across a reload finds the tenant it started with again. */
    char *fingerprint;
    /* Quarantine (care_providers_on_error: quarantine, docs/operations.md):
     * the provider's own material is unusable, so it is loaded to be named
     * (lookups find it, /healthz, selftest and the export show it) but never
     * used for a login. The reasons are the loader's "FILE:LINE: key:
     * message" lines (they may name files: not for public pages). */
    int quarantined;
    char **quarantine_reasons;
    size_t quarantine_reason_count;
} zr_tenant_t;

/* A short reason for a quarantined provider without paths or values
 * ("BSN certificate expired", "YAML syntax error", ...; "+N more" when it
 * has several), fit for /healthz and the export. "" when not quarantined. */
const char *zr_tenant_quarantine_summary(const zr_tenant_t *t, char *buf, size_t len);

/* The service with the lowest min_loa >= wanted; NULL when none. */
const zr_tenant_service_t *zr_tenant_service_for_loa(const zr_tenant_t *t, zr_loa_t wanted);
/* The decryption key whose KeyName (SHA-1 or SHA-256 form) equals key_name. */
const zr_tenant_key_t *zr_tenant_find_bsn_key(const zr_tenant_t *t, const char *key_name);

#endif
