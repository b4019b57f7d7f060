/* `zorgrelay selftest` (src/selftest/, issue 5 §2): can this installation
 * work? Configuration, every certificate and key, our SP metadata, TVS
 * metadata, the clock against TVS, DNS + TLS + mutual TLS to the artifact
 * resolution endpoint (no artifact is spent), Redis (latency, eviction,
 * persistence), Dezi and AuthZEN discovery. Each finding is one item with a
 * status and, for warn/FAIL, what to do about it. */
#ifndef ZR_SELFTEST_H
#define ZR_SELFTEST_H

#include <stdio.h>
#include <time.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "zr/config.h"

/* Ordered by severity (the report's overall status is the worst). */
typedef enum {
    ZR_SELFTEST_OK = 0,
    ZR_SELFTEST_SKIP,          /* not applicable or could not be measured; never fails the run */
    ZR_SELFTEST_WARN,          /* works, but needs attention soon; exit status stays 0 */
    ZR_SELFTEST_FAIL           /* this installation cannot work (or not for everyone); exit 1 */
} zr_selftest_status_t;

typedef struct {
    zr_selftest_status_t status;
    char *check;               /* "certificates", "redis-eviction", ... */
    char *finding;             /* one line */
    char *advice;              /* what to do (warn/FAIL), or NULL */
} zr_selftest_item_t;

typedef struct {
    zr_selftest_item_t *items;
    size_t count;
    size_t counts[4];          /* by zr_selftest_status_t */
} zr_selftest_report_t;

/* What a run may use; every field optional. */
typedef struct {
    const char *schema_dir;    /* SAML XSDs; NULL: ZR_SCHEMA_DIR (CMake, from ZR_DATA_DIR) */
    int warn_days;             /* certificates expiring within this many days warn; 0: 30 */
    int redis_pings;           /* PINGs for the latency median; 0: 10 */
    time_t now;                /* 0: zr_time_now() (tests pass a fixed time) */
    int peak_logins_per_s;     /* the sustained login rate Redis must hold (all relays on it); 0: 10 */
} zr_selftest_opts_t;

/* The expected peak of sustained logins per second that redis-maxmemory
 * judges against when --peak-logins is not given. */
#define ZR_SELFTEST_PEAK_LOGINS_DEFAULT 10

/* Appends an item (printf-style finding; advice may be NULL). */
void zr_selftest_add(zr_selftest_report_t *r, zr_selftest_status_t st, const char *check, const char *advice,
                     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void zr_selftest_report_free(zr_selftest_report_t *r);
const char *zr_selftest_status_name(zr_selftest_status_t st); /* "ok", "skip", "warn", "FAIL" */
/* 0 when nothing failed, 1 otherwise (warnings alone: 0). */
int zr_selftest_exit_status(const zr_selftest_report_t *r);

/* Runs every check for the configuration file at path. The configuration
 * check comes first; when it fails, its errors are the report. */
void zr_selftest_run(const char *config_path, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);

/* The parts, each appending its items (used by zr_selftest_run and tests). */
void zr_selftest_certificates(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);
void zr_selftest_sp_metadata(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);
void zr_selftest_tvs(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);
void zr_selftest_redis(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);
void zr_selftest_discovery(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);
/* care-providers-ledger: readable, appendable, lines that are not records
 * (nothing when the configuration has no ledger). */
void zr_selftest_ledger(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r);

/* Human report: "ok|warn|FAIL  check: finding" per item, advice indented
 * under warn/FAIL, then a summary line. */
void zr_selftest_print_text(const zr_selftest_report_t *r, FILE *out);
/* {"status": "ok|warn|fail", "exit_status": N, "counts": {...},
 *  "checks": [{"check", "status", "finding", "advice"}]}, one line. */
void zr_selftest_print_json(const zr_selftest_report_t *r, FILE *out);

/* ---- pure judgements (unit-tested) ---- */

/* What a key is for: decides the keyUsage / extendedKeyUsage it needs. */
typedef enum {
    ZR_SELFTEST_USE_SAML_SIGNING = 0, /* digitalSignature */
    ZR_SELFTEST_USE_TLS_CLIENT,       /* digitalSignature, EKU clientAuth when EKU present */
    ZR_SELFTEST_USE_TLS_SERVER,       /* EKU serverAuth when EKU present */
    ZR_SELFTEST_USE_JOSE              /* OIDC / Dezi JWS or JWE keys: no usage demands */
} zr_selftest_key_use_t;

typedef struct {
    const char *name;          /* configuration key, e.g. "saml.signing" */
    X509 *cert;                /* may be NULL (a bare key) */
    EVP_PKEY *key;             /* may be NULL (a certificate without its key here) */
    zr_selftest_key_use_t use;
    int want_oin;              /* PKIoverheid: the subject must carry an OIN */
    const char *expect_oin;    /* and it must be this one (NULL: any) */
} zr_selftest_cert_t;

/* Judges one certificate/key: validity window (FAIL expired or not yet
 * valid, warn within warn_days), key matches certificate, RSA >= 2048 (or
 * EC P-256+), key usage, OIN. Writes the finding (problems joined by "; ",
 * or a description when fine) and advice for the worst problem. */
zr_selftest_status_t zr_selftest_cert_judge(const zr_selftest_cert_t *c, time_t now, int warn_days, int production,
                                            char *finding, size_t flen, char *advice, size_t alen);
/* The 20-digit OIN of a certificate subject: serialNumber (PKIoverheid G3,
 * via zr_tenant_cert_oin), else organizationIdentifier (20 digits after an
 * optional "XXXNL-" semantics prefix). 0 when found. */
int zr_selftest_cert_oin(X509 *cert, char oin[21]);

/* Clock offset from an HTTP Date header (RFC 7231 IMF-fixdate, also the
 * obsolete forms; curl_getdate) against our time at the moment the answer
 * was made (local_mid, seconds, may be fractional). -1 when unreadable. */
int zr_selftest_date_offset(const char *date_header, double local_mid, double *offset_s);
/* ok within 5 s, warn up to skew_s, FAIL beyond (tvs.clock_skew_s). */
zr_selftest_status_t zr_selftest_clock_judge(double offset_s, int skew_s);

/* Redis settings that would lose sessions. policy: CONFIG GET
 * maxmemory-policy (NULL: CONFIG refused). noeviction and volatile-* are
 * fine (relay keys all have TTLs; volatile-* evicts them only when memory
 * runs out, so it warns), allkeys-* FAIL (evicts live logins). */
zr_selftest_status_t zr_selftest_redis_policy_judge(const char *policy, char *finding, size_t flen);
/* Bytes of Redis (as used_memory, and so maxmemory, counts them) that one
 * login per second, sustained, keeps: each key a finished login leaves, its
 * size measured with bench/redis-memory, times the TTL it gets from these
 * lifetimes (seconds; 0: the defaults; session_s is oidc.session_lifetime,
 * for the login trails). About 19 MB with the defaults, 91 % of it the
 * logout sessions (8 h). */
double zr_selftest_redis_need_per_login_rate(int logout_session_s, int access_token_s, int code_s, int clock_skew_s,
                                             int session_s);
/* maxmemory in bytes (0 = no limit) against need (bytes per sustained login
 * per second, above) and the expected peak rate: the finding names the
 * sustained rate maxmemory holds; below peak_rate warns, with advice (the
 * maxmemory the peak needs). */
zr_selftest_status_t zr_selftest_redis_maxmemory_judge(long long maxmemory, double need, int peak_rate, char *finding,
                                                       size_t flen, char *advice, size_t alen);
/* The INFO persistence text. No persistence is ok (decided so; the finding
 * says what a restart voids). A failed last RDB save or AOF write warns:
 * with stop-writes-on-bgsave-error Redis then refuses writes. */
zr_selftest_status_t zr_selftest_redis_persistence_judge(const char *info, char *finding, size_t flen);
/* Redis's clock (TIME) against ours: offset_ms = Redis - us at the middle of
 * a round trip of rtt_ms. The /token commit relies on them agreeing within
 * half of redis.timeout_ms (src/store/redeem.c): beyond it (offset plus half
 * the round trip, the uncertainty) FAIL, beyond a quarter of it WARN. */
zr_selftest_status_t zr_selftest_redis_clock_judge(double offset_ms, double rtt_ms, int timeout_ms, char *finding,
                                                   size_t flen);
/* Median of n values (sorts a copy); 0 for n == 0. */
double zr_selftest_median(const double *values, size_t n);

#endif
