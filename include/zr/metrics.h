/* Prometheus metrics (src/metrics/, issue 16 §2, docs/operations.md#metrics).
 *
 * A fixed set of counters and histograms that any thread updates without a
 * lock (C11 atomics, relaxed: a scrape needs no ordering between series),
 * and the text exposition format 0.0.4 to render them and the gauges the
 * caller reads at scrape time. zr_metrics_init runs once on the main thread
 * before any worker starts; until then (and in tools that never call it,
 * such as check-config or the unit tests of other concerns) every update is
 * a no-op. No label ever carries personal data: the label values are fixed
 * names, and care provider ids (configuration names) only with
 * per_care_provider. */
#ifndef ZR_METRICS_H
#define ZR_METRICS_H

#include <stddef.h>
#include <stdint.h>

typedef enum { ZR_METRICS_PATIENT = 0, ZR_METRICS_PROFESSIONAL, ZR_METRICS_KINDS } zr_metrics_kind_t;

/* How a login ended (the `result` label). */
typedef enum {
    ZR_METRICS_OK = 0,          /* a code went to the portal */
    ZR_METRICS_CANCELLED,       /* the person cancelled (DigiD, Dezi) */
    ZR_METRICS_DENIED,          /* authentication failed, LoA not reached, the PDP denied */
    ZR_METRICS_UNAVAILABLE,     /* TVS, Dezi, the PDP or Redis could not be used */
    ZR_METRICS_REFUSED,         /* the upstream's answer failed a check */
    ZR_METRICS_ERROR,           /* anything else: the relay's own error, a client gone */
    ZR_METRICS_RESULTS
} zr_metrics_result_t;

/* Latency histograms (zorgrelay_phase_duration_seconds{phase}). */
typedef enum {
    ZR_METRICS_PHASE_AUTHORIZE = 0,   /* the /authorize handler */
    ZR_METRICS_PHASE_TVS_RESOLVE,     /* ArtifactResolve round trip to TVS */
    ZR_METRICS_PHASE_RESPONSE_VALIDATE,
    ZR_METRICS_PHASE_REDIS,           /* one store call (command or pipeline) */
    ZR_METRICS_PHASE_DEZI,            /* Dezi's token and userinfo calls */
    ZR_METRICS_PHASE_PDP,             /* the authorization check at the client's PDP */
    ZR_METRICS_PHASE_TOKEN,           /* the /token handler */
    ZR_METRICS_PHASES
} zr_metrics_phase_t;

/* Plain counters. */
typedef enum {
    ZR_METRICS_REDIS_ERRORS = 0,      /* store calls that failed (unavailable, timeout, not master) */
    ZR_METRICS_REDIS_RECONNECTS,      /* Redis answered again after being marked down */
    ZR_METRICS_REDIS_CONNECTIONS,     /* connections opened to Redis */
    ZR_METRICS_RELOADS_OK,
    ZR_METRICS_RELOADS_REFUSED,
    /* zorgrelay_http_refusals_total{limit}: one per limits.c episode kind */
    ZR_METRICS_REFUSED_MAX_CONNECTIONS,
    ZR_METRICS_REFUSED_PER_IP,
    ZR_METRICS_REFUSED_PER_CLIENT,    /* 429 behind a trusted proxy */
    ZR_METRICS_CUT_HEADER_TIMEOUT,
    ZR_METRICS_CUT_BODY_TIMEOUT,
    ZR_METRICS_COUNTERS
} zr_metrics_counter_t;

/* Gauges the module keeps (others are read by the caller at scrape time). */
typedef enum { ZR_METRICS_REDIS_UP = 0, ZR_METRICS_GAUGES } zr_metrics_gauge_t;

#define ZR_METRICS_BUCKETS 14 /* finite upper bounds; +Inf is the count */

/* Once, on the main thread, before the first request. care provider ids
 * (copied) get series of their own when per_care_provider; 0 on success. */
int zr_metrics_init(int per_care_provider, const char *const *care_providers, size_t count);
/* After a reload (main thread): providers not known yet get series; those
 * of removed providers stay (a counter never goes back). */
int zr_metrics_care_providers_add(const char *const *care_providers, size_t count);
/* At exit (main thread, after every worker stopped). */
void zr_metrics_shutdown(void);
int zr_metrics_enabled(void);

/* Any thread, no lock. care_provider may be NULL (professional logins). */
void zr_metrics_login_started(zr_metrics_kind_t kind, const char *care_provider);
void zr_metrics_login_finished(zr_metrics_kind_t kind, zr_metrics_result_t result, const char *care_provider);
void zr_metrics_count(zr_metrics_counter_t c);
void zr_metrics_gauge_set(zr_metrics_gauge_t g, int64_t v);
/* Monotonic clock in nanoseconds, for zr_metrics_observe_since. */
int64_t zr_metrics_now_ns(void);
void zr_metrics_observe(zr_metrics_phase_t phase, double seconds);
void zr_metrics_observe_since(zr_metrics_phase_t phase, int64_t start_ns);

const char *zr_metrics_kind_name(zr_metrics_kind_t k);
const char *zr_metrics_result_name(zr_metrics_result_t r);
const char *zr_metrics_phase_name(zr_metrics_phase_t p);
/* The histogram bucket upper bounds, in seconds. */
extern const double zr_metrics_bucket_bounds[ZR_METRICS_BUCKETS];

/* ---- the text exposition format 0.0.4 ---- */
/* https://prometheus.io/docs/instrumenting/exposition_formats/ */
#define ZR_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

typedef struct {
    char *data;
    size_t len, cap;
    int failed;                /* out of memory: the text is incomplete */
} zr_metrics_text_t;

void zr_metrics_text_init(zr_metrics_text_t *t);
void zr_metrics_text_free(zr_metrics_text_t *t);
/* # HELP and # TYPE lines (type: counter, gauge, histogram, untyped);
 * help is escaped (\\ and \n). */
void zr_metrics_text_family(zr_metrics_text_t *t, const char *name, const char *type, const char *help);
/* One sample: name{labels} value. labels: NULL-terminated name, value
 * pairs (values escaped: \\, \" and \n), or NULL. A value that is an
 * integer is written without a fraction; NaN and infinities as Prometheus
 * spells them. */
void zr_metrics_text_sample(zr_metrics_text_t *t, const char *name, const char *const *labels, double value);
/* Appends every series this module keeps (counters, histograms, build
 * info); the caller adds its scrape-time gauges. */
void zr_metrics_render(zr_metrics_text_t *t);
/* Escapes a label value (exposition format): appended to t. */
void zr_metrics_text_label_value(zr_metrics_text_t *t, const char *v);

#endif
