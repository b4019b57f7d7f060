/* Checks on a batch of care providers before it goes to DICTU and before it
 * goes live (`zorgrelay tenants validate`, issue 3 §3): the BSN encryption
 * certificates, entity indexes, uniqueness across files, batch size. Each
 * problem is one line "FILE:LINE: KEY: message" ("...: KEY: warning: ..."
 * for warnings), like the configuration loader's errors. */
#ifndef ZR_TENANT_CHECK_H
#define ZR_TENANT_CHECK_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "zr/config.h"
#include "zr/tenant.h"

/* DICTU onboards providers in batches of 100-150 (TVS factsheet). */
#define ZR_TENANT_BATCH_MAX 150
#define ZR_TENANT_WARN_DAYS_DEFAULT 60

typedef enum { ZR_TENANT_ERROR = 0, ZR_TENANT_WARNING } zr_tenant_severity_t;

typedef struct {
    char **lines;
    zr_tenant_severity_t *severity; /* parallel to lines */
    size_t *file_index;             /* parallel to lines once grouped; SIZE_MAX: no file */
    size_t count;
    size_t errors;
    size_t warnings;
} zr_tenant_report_t;

typedef struct {
    zr_environment_t environment;  /* production refuses test entity indexes */
    int warn_days;                 /* warn when a certificate expires this soon */
    STACK_OF(X509) *ca;            /* chain to one of these; NULL: no chain check */
    time_t now;                    /* 0: zr_time_now() */
    /* The care providers the configuration already has (tenants validate
     * --config: inline, care_providers_dir), configured_count sets of them:
     * the batch must not repeat their ids, entity IDs, OINs, ServiceUUIDs or
     * certificates. */
    const zr_tenant_set_t *configured;
    size_t configured_count;
} zr_tenant_check_opts_t;

/* Appends one line (printf-style message) at FILE:LINE, KEY. */
void zr_tenant_report_add(zr_tenant_report_t *r, zr_tenant_severity_t sev, const char *file, int line,
                          const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));
void zr_tenant_report_free(zr_tenant_report_t *r);
/* Orders the lines by file, so that each file's lines come together: a
 * line belongs to the longest of `files` (sorted by strcmp) it starts with,
 * followed by ':'; within a file by line number, else as added. Lines of no
 * file (the directory, the batch) come last. Sets r->file_index. -1 when
 * out of memory (the report is left as it was). */
int zr_tenant_report_group(zr_tenant_report_t *r, char *const *files, size_t count);

/* One BSN decryption key of t: key belongs to the certificate, RSA >= 2048,
 * keyUsage allows keyEncipherment, the subject serialNumber is the OIN of
 * the entity ID, chains to opts->ca, valid now and not expiring within
 * opts->warn_days (warning). */
void zr_tenant_check_key(const zr_tenant_t *t, size_t index, const zr_tenant_origin_t *origin,
                         const zr_tenant_check_opts_t *opts, zr_tenant_report_t *r);
/* eID SAML: entity indexes 9000-9999 are test registrations; refused in
 * production. */
void zr_tenant_check_entity(const zr_tenant_t *t, const zr_tenant_origin_t *origin,
                            const zr_tenant_check_opts_t *opts, zr_tenant_report_t *r);
/* Everything above for every tenant, plus uniqueness across the set (and
 * against opts->configured) and the batch size (warning above
 * ZR_TENANT_BATCH_MAX, named after `where`). */
void zr_tenant_check_batch(const zr_tenant_set_t *set, const char *where, const zr_tenant_check_opts_t *opts,
                           zr_tenant_report_t *r);

/* The 20-digit OIN in a certificate's subject serialNumber (PKIoverheid puts
 * it there); 0 when found. */
int zr_tenant_cert_oin(X509 *cert, char oin[21]);
/* The same from the subject organizationIdentifier (ETSI EN 319 412-1:
 * "<3 letters><2 letters>-<OIN>", e.g. NTRNL-, or the bare 20 digits), where
 * other certificate types carry it; 0 when found. */
int zr_tenant_cert_organization_oin(X509 *cert, char oin[21]);
/* A certificate date (notBefore, notAfter) as report lines show it:
 * YYYY-MM-DD, or "(unreadable date)". */
void zr_tenant_cert_date(const ASN1_TIME *t, char out[32]);
/* The OIN and entity index of urn:nl-eid-gdi:1.0:DV|LC:<OIN>:entities:<nnnn>;
 * 0 when it has that form. */
int zr_tenant_entity_id_parse(const char *entity_id, char oin[21], int *index);

#endif
