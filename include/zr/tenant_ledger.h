/* The care providers' ledger (issue 14 §3): an append-only history of who
 * was a current care provider when, so that DICTU's aansluitbestand
 * (`tenants export`) lists every current and former provider even after a
 * provider's file is deleted. One JSON object per line:
 *
 *   {"at":"2026-12-06T12:00:00Z","event":"added","id":"oost","provider":{...},"by":"host pid 123"}
 *
 * events: added, changed, left, returned; provider: what the export shows
 * (zr_tenant_ledger_record). The relay appends the differences after every
 * successful start and reload, under an exclusive flock, so that the relay
 * processes of a cluster sharing the file record each event once. Nothing
 * in it is secret. */
#ifndef ZR_TENANT_LEDGER_H
#define ZR_TENANT_LEDGER_H

#include <stddef.h>
#include <time.h>
#include <jansson.h>

#include "zr/tenant.h"

/* One care provider as the ledger knows it (the fold of its lines). */
typedef struct {
    char *id;
    json_t *provider;     /* the last record (owned) */
    int current;          /* 1: added/returned/changed last; 0: left */
    char added_at[32];    /* the latest added or returned, ISO 8601 UTC ("" when unknown) */
    char changed_at[32];  /* the latest change, "" when none */
    char left_at[32];     /* "" while current */
} zr_tenant_ledger_entry_t;

typedef struct {
    zr_tenant_ledger_entry_t *entries; /* in order of first appearance */
    size_t count, cap;
    json_t *index;        /* id -> position in entries */
    size_t lines;         /* records read */
    size_t skipped;       /* lines that did not read as a record (warned) */
} zr_tenant_ledger_t;

typedef struct {
    size_t added, changed, left, returned;
} zr_tenant_ledger_counts_t;

/* Where a skipped line is reported ("PATH:LINE: ..."). */
typedef void (*zr_tenant_ledger_warn_fn)(void *ctx, const char *message);

/* The record of a loaded care provider: id, name, entity_id, oin, ura,
 * services [{loa, service_uuid}], certificates [{sha256, not_before,
 * not_after}] (those that were read), kvk, contact, akkoordverklaring.
 * Unset optional fields are left out, so equal providers give equal
 * records. NULL when out of memory. */
json_t *zr_tenant_ledger_record(const zr_tenant_t *t);

/* Folds the text of a ledger (pure): every line that is not a whole record
 * (a torn last line after a crash, an edited line) is skipped with a
 * warning naming `name` and the line. -1 only when out of memory. */
int zr_tenant_ledger_fold(const char *text, size_t len, const char *name, zr_tenant_ledger_t *out,
                          zr_tenant_ledger_warn_fn warn, void *ctx);
const zr_tenant_ledger_entry_t *zr_tenant_ledger_find(const zr_tenant_ledger_t *l, const char *id);
void zr_tenant_ledger_free(zr_tenant_ledger_t *l);

/* The lines to append so that the ledger's current providers are exactly
 * `records` (each with an "id"), dated `at` (ISO 8601): added, returned,
 * changed for records, left for current entries that are not among them.
 * Appended to *lines (malloc'ed, each ending in '\n'; untouched when
 * nothing differs). `by` (optional) names the writer. A record
 * {"id": ..., "quarantined": true} stands for a quarantined provider: no
 * event either way, the ledger keeps its last good record. -1 when out of
 * memory. */
int zr_tenant_ledger_diff(const zr_tenant_ledger_t *l, json_t *const *records, size_t count, const char *at,
                          const char *by, char **lines, zr_tenant_ledger_counts_t *counts);

/* Reads the ledger file (under a shared flock). A missing file is an empty
 * ledger with *missing set. -1 with err on any other failure. */
int zr_tenant_ledger_read(const char *path, zr_tenant_ledger_t *out, int *missing, zr_tenant_ledger_warn_fn warn,
                          void *ctx, char *err, size_t errlen);

/* Brings the ledger file up to date with the current care providers: opens
 * (creates) it, takes an exclusive flock, folds what is there, appends
 * the differences with one write() and fsyncs (and its directory when
 * created). Idempotent: a second call with the same providers, from this
 * process or another, appends nothing. -1 with err when it cannot. */
int zr_tenant_ledger_update(const char *path, const zr_tenant_t *tenants, size_t count, time_t now,
                            zr_tenant_ledger_counts_t *counts, zr_tenant_ledger_warn_fn warn, void *ctx, char *err,
                            size_t errlen);

/* ISO 8601 UTC of t ("2026-12-06T12:00:00Z"). */
void zr_tenant_ledger_time(time_t t, char out[32]);

#ifdef ZR_TESTING
/* Called by zr_tenant_ledger_update with the lock held, after the fold and
 * before the append (tests: a second writer must wait here). */
void zr_tenant_ledger_set_test_hook(void (*hook)(void *), void *ctx);
#endif

#endif
