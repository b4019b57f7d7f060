/* The relay's own series: lock-free counters and histograms.
 *
 * Every series is an atomic in static storage, so an update is one relaxed
 * atomic add and never allocates. The per-care-provider table is the only
 * thing that changes shape: it is built on the main thread (start, reload)
 * and published with one atomic pointer store; a table it replaces is kept
 * until zr_metrics_shutdown, because a worker may still be reading it: a
 * reload that adds care providers keeps one pointer per provider (80 KB at
 * 10,000), one that adds none keeps nothing. */
#include "zr/metrics.h"

#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 1 ms to 30 s: Redis answers in about a millisecond, TVS's back channel
 * and the PDP in tens to hundreds, and their timeouts are seconds. */
const double zr_metrics_bucket_bounds[ZR_METRICS_BUCKETS] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,    1,     2.5,  5,     10,  30};

typedef struct {
    atomic_uint_fast64_t buckets[ZR_METRICS_BUCKETS + 1]; /* not cumulative; the last is above every bound */
    atomic_uint_fast64_t sum_ns;
} metrics_histogram_t;

/* A care provider's own series: patients only, since a professional's login
 * names no care provider (8 series a provider with its BSN key's expiry). */
typedef struct {
    char *id;
    atomic_uint_fast64_t started;
    atomic_uint_fast64_t finished[ZR_METRICS_RESULTS];
} metrics_provider_t;

typedef struct metrics_table {
    metrics_provider_t **slots; /* sorted by id */
    size_t count;
    struct metrics_table *replaced; /* the tables before this one, freed at shutdown */
} metrics_table_t;

static atomic_int metrics_on;
static int metrics_per_provider;
static atomic_uint_fast64_t metrics_started[ZR_METRICS_KINDS];
static atomic_uint_fast64_t metrics_finished[ZR_METRICS_KINDS][ZR_METRICS_RESULTS];
static atomic_uint_fast64_t metrics_counters[ZR_METRICS_COUNTERS];
static atomic_int_fast64_t metrics_gauges[ZR_METRICS_GAUGES];
static metrics_histogram_t metrics_phases[ZR_METRICS_PHASES];
static _Atomic(metrics_table_t *) metrics_table;

static const char *const kind_names[ZR_METRICS_KINDS] = {"patient", "professional"};
static const char *const result_names[ZR_METRICS_RESULTS] = {"ok",          "cancelled", "denied",
                                                             "unavailable", "refused",   "error"};
static const char *const phase_names[ZR_METRICS_PHASES] = {"authorize", "tvs_artifact_resolution",
                                                           "response_validation", "redis", "dezi", "pdp",
                                                           "token"};

const char *zr_metrics_kind_name(zr_metrics_kind_t k)
{
    return (unsigned)k < ZR_METRICS_KINDS ? kind_names[k] : "unknown";
}

const char *zr_metrics_result_name(zr_metrics_result_t r)
{
    return (unsigned)r < ZR_METRICS_RESULTS ? result_names[r] : "unknown";
}

const char *zr_metrics_phase_name(zr_metrics_phase_t p)
{
    return (unsigned)p < ZR_METRICS_PHASES ? phase_names[p] : "unknown";
}

static int provider_cmp(const void *a, const void *b)
{
    const metrics_provider_t *const *x = a, *const *y = b;
    return strcmp((*x)->id, (*y)->id);
}

static metrics_provider_t *table_find(const metrics_table_t *t, const char *id)
{
    size_t lo = 0, hi = t ? t->count : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, t->slots[mid]->id);
        if (c == 0)
            return t->slots[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static void table_free(metrics_table_t *t, int with_slots)
{
    while (t) {
        metrics_table_t *next = t->replaced;
        if (with_slots) {
            for (size_t i = 0; i < t->count; i++) {
                free(t->slots[i]->id);
                free(t->slots[i]);
            }
        }
        free(t->slots);
        free(t);
        t = next;
        with_slots = 0; /* older tables share the slots of the newest */
    }
}

int zr_metrics_care_providers_add(const char *const *ids, size_t count)
{
    metrics_table_t *old = atomic_load_explicit(&metrics_table, memory_order_acquire), *t = NULL;
    size_t old_count = old ? old->count : 0, kept;
    int rc = -1;

    if (!metrics_per_provider)
        return 0;
    if (!(t = calloc(1, sizeof(*t))) || !(t->slots = calloc(old_count + count + 1, sizeof(*t->slots))))
        goto end;
    for (size_t i = 0; i < old_count; i++)
        t->slots[t->count++] = old->slots[i];
    for (size_t i = 0; i < count; i++) {
        metrics_provider_t *p;
        if (!ids[i] || table_find(old, ids[i]))
            continue;
        if (!(p = calloc(1, sizeof(*p))) || !(p->id = strdup(ids[i]))) {
            free(p);
            goto end;
        }
        t->slots[t->count++] = p;
    }
    if (old && t->count == old_count) { /* nothing new: the table in use stays */
        rc = 0;
        goto end;
    }
    qsort(t->slots, t->count, sizeof(*t->slots), provider_cmp);
    /* An id given twice: one slot (both copies are new, the old ones were
     * skipped above). */
    kept = t->count ? 1 : 0;
    for (size_t i = 1; i < t->count; i++) {
        if (strcmp(t->slots[i]->id, t->slots[kept - 1]->id) != 0) {
            t->slots[kept++] = t->slots[i];
            continue;
        }
        free(t->slots[i]->id);
        free(t->slots[i]);
    }
    t->count = kept;
    t->replaced = old;
    atomic_store_explicit(&metrics_table, t, memory_order_release);
    t = NULL;
    rc = 0;
end:
    if (t) {
        for (size_t i = old_count; i < t->count; i++) {
            free(t->slots[i]->id);
            free(t->slots[i]);
        }
        free(t->slots);
        free(t);
    }
    return rc;
}

int zr_metrics_init(int per_care_provider, const char *const *ids, size_t count)
{
    zr_metrics_shutdown();
    metrics_per_provider = per_care_provider;
    if (zr_metrics_care_providers_add(ids, count) != 0)
        return -1;
    atomic_store_explicit(&metrics_gauges[ZR_METRICS_REDIS_UP], 1, memory_order_relaxed);
    atomic_store_explicit(&metrics_on, 1, memory_order_release);
    return 0;
}

void zr_metrics_shutdown(void)
{
    atomic_store_explicit(&metrics_on, 0, memory_order_release);
    table_free(atomic_exchange(&metrics_table, NULL), 1);
    metrics_per_provider = 0;
    for (size_t k = 0; k < ZR_METRICS_KINDS; k++) {
        atomic_store(&metrics_started[k], 0);
        for (size_t r = 0; r < ZR_METRICS_RESULTS; r++)
            atomic_store(&metrics_finished[k][r], 0);
    }
    for (size_t i = 0; i < ZR_METRICS_COUNTERS; i++)
        atomic_store(&metrics_counters[i], 0);
    for (size_t i = 0; i < ZR_METRICS_GAUGES; i++)
        atomic_store(&metrics_gauges[i], 0);
    for (size_t p = 0; p < ZR_METRICS_PHASES; p++) {
        for (size_t b = 0; b <= ZR_METRICS_BUCKETS; b++)
            atomic_store(&metrics_phases[p].buckets[b], 0);
        atomic_store(&metrics_phases[p].sum_ns, 0);
    }
}

int zr_metrics_enabled(void)
{
    return atomic_load_explicit(&metrics_on, memory_order_acquire);
}

static metrics_provider_t *provider_slot(const char *id)
{
    if (!metrics_per_provider || !id)
        return NULL;
    return table_find(atomic_load_explicit(&metrics_table, memory_order_acquire), id);
}

void zr_metrics_login_started(zr_metrics_kind_t kind, const char *care_provider)
{
    metrics_provider_t *p;
    if (!zr_metrics_enabled() || (unsigned)kind >= ZR_METRICS_KINDS)
        return;
    atomic_fetch_add_explicit(&metrics_started[kind], 1, memory_order_relaxed);
    if (kind == ZR_METRICS_PATIENT && (p = provider_slot(care_provider)) != NULL)
        atomic_fetch_add_explicit(&p->started, 1, memory_order_relaxed);
}

void zr_metrics_login_finished(zr_metrics_kind_t kind, zr_metrics_result_t result, const char *care_provider)
{
    metrics_provider_t *p;
    if (!zr_metrics_enabled() || (unsigned)kind >= ZR_METRICS_KINDS || (unsigned)result >= ZR_METRICS_RESULTS)
        return;
    atomic_fetch_add_explicit(&metrics_finished[kind][result], 1, memory_order_relaxed);
    if (kind == ZR_METRICS_PATIENT && (p = provider_slot(care_provider)) != NULL)
        atomic_fetch_add_explicit(&p->finished[result], 1, memory_order_relaxed);
}

void zr_metrics_count(zr_metrics_counter_t c)
{
    if (zr_metrics_enabled() && (unsigned)c < ZR_METRICS_COUNTERS)
        atomic_fetch_add_explicit(&metrics_counters[c], 1, memory_order_relaxed);
}

void zr_metrics_gauge_set(zr_metrics_gauge_t g, int64_t v)
{
    if (zr_metrics_enabled() && (unsigned)g < ZR_METRICS_GAUGES)
        atomic_store_explicit(&metrics_gauges[g], v, memory_order_relaxed);
}

int64_t zr_metrics_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void zr_metrics_observe(zr_metrics_phase_t phase, double seconds)
{
    metrics_histogram_t *h;
    size_t b = 0;
    if (!zr_metrics_enabled() || (unsigned)phase >= ZR_METRICS_PHASES)
        return;
    if (!(seconds >= 0)) /* negative or NaN: a clock that went wrong */
        seconds = 0;
    h = &metrics_phases[phase];
    while (b < ZR_METRICS_BUCKETS && seconds > zr_metrics_bucket_bounds[b])
        b++;
    atomic_fetch_add_explicit(&h->buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, (uint_fast64_t)(seconds * 1e9), memory_order_relaxed);
}

void zr_metrics_observe_since(zr_metrics_phase_t phase, int64_t start_ns)
{
    if (zr_metrics_enabled())
        zr_metrics_observe(phase, (double)(zr_metrics_now_ns() - start_ns) / 1e9);
}

/* ---- rendering ---- */

static double load(atomic_uint_fast64_t *a)
{
    return (double)atomic_load_explicit(a, memory_order_relaxed);
}

static void render_logins(zr_metrics_text_t *t)
{
    zr_metrics_text_family(t, "zorgrelay_logins_started_total", "counter",
                           "Logins that went to TVS (patient) or Dezi (professional).");
    for (size_t k = 0; k < ZR_METRICS_KINDS; k++) {
        const char *l[] = {"kind", kind_names[k], NULL};
        zr_metrics_text_sample(t, "zorgrelay_logins_started_total", l, load(&metrics_started[k]));
    }
    zr_metrics_text_family(t, "zorgrelay_logins_finished_total", "counter",
                           "Logins that came back from TVS or Dezi, by how they ended.");
    for (size_t k = 0; k < ZR_METRICS_KINDS; k++)
        for (size_t r = 0; r < ZR_METRICS_RESULTS; r++) {
            const char *l[] = {"kind", kind_names[k], "result", result_names[r], NULL};
            zr_metrics_text_sample(t, "zorgrelay_logins_finished_total", l, load(&metrics_finished[k][r]));
        }
}

static void render_providers(zr_metrics_text_t *t)
{
    metrics_table_t *tab = atomic_load_explicit(&metrics_table, memory_order_acquire);
    if (!metrics_per_provider)
        return;
    zr_metrics_text_family(t, "zorgrelay_care_provider_logins_started_total", "counter",
                           "Patient logins started, per care provider (metrics.per_care_provider).");
    for (size_t i = 0; tab && i < tab->count; i++) {
        const char *l[] = {"care_provider", tab->slots[i]->id, "kind", kind_names[ZR_METRICS_PATIENT], NULL};
        zr_metrics_text_sample(t, "zorgrelay_care_provider_logins_started_total", l, load(&tab->slots[i]->started));
    }
    zr_metrics_text_family(t, "zorgrelay_care_provider_logins_finished_total", "counter",
                           "Patient logins finished, per care provider (metrics.per_care_provider).");
    for (size_t i = 0; tab && i < tab->count; i++)
        for (size_t r = 0; r < ZR_METRICS_RESULTS; r++) {
            const char *l[] = {"care_provider", tab->slots[i]->id, "kind", kind_names[ZR_METRICS_PATIENT], "result",
                               result_names[r], NULL};
            zr_metrics_text_sample(t, "zorgrelay_care_provider_logins_finished_total", l,
                                   load(&tab->slots[i]->finished[r]));
        }
}

static void render_phases(zr_metrics_text_t *t)
{
    zr_metrics_text_family(t, "zorgrelay_phase_duration_seconds", "histogram",
                           "Time spent per phase of a login, and per Redis call.");
    for (size_t p = 0; p < ZR_METRICS_PHASES; p++) {
        uint_fast64_t cumulative = 0;
        char le[32];
        /* One snapshot of the buckets, so that _count equals the +Inf bucket. */
        for (size_t b = 0; b <= ZR_METRICS_BUCKETS; b++) {
            const char *l[] = {"phase", phase_names[p], "le", le, NULL};
            cumulative += atomic_load_explicit(&metrics_phases[p].buckets[b], memory_order_relaxed);
            if (b < ZR_METRICS_BUCKETS)
                snprintf(le, sizeof(le), "%g", zr_metrics_bucket_bounds[b]);
            else
                snprintf(le, sizeof(le), "+Inf");
            zr_metrics_text_sample(t, "zorgrelay_phase_duration_seconds_bucket", l, (double)cumulative);
        }
        const char *l[] = {"phase", phase_names[p], NULL};
        zr_metrics_text_sample(t, "zorgrelay_phase_duration_seconds_sum", l, load(&metrics_phases[p].sum_ns) / 1e9);
        zr_metrics_text_sample(t, "zorgrelay_phase_duration_seconds_count", l, (double)cumulative);
    }
}

static void render_counter(zr_metrics_text_t *t, const char *name, const char *help, zr_metrics_counter_t c)
{
    zr_metrics_text_family(t, name, "counter", help);
    zr_metrics_text_sample(t, name, NULL, load(&metrics_counters[c]));
}

void zr_metrics_render(zr_metrics_text_t *t)
{
    static const struct {
        zr_metrics_counter_t c;
        const char *limit;
    } refusals[] = {
        {ZR_METRICS_REFUSED_MAX_CONNECTIONS, "max_connections"},
        {ZR_METRICS_REFUSED_PER_IP, "max_connections_per_ip"},
        {ZR_METRICS_REFUSED_PER_CLIENT, "max_connections_per_ip_429"},
        {ZR_METRICS_CUT_HEADER_TIMEOUT, "header_timeout_s"},
        {ZR_METRICS_CUT_BODY_TIMEOUT, "body_timeout_s"},
    };
    const char *info[] = {"version", ZR_VERSION, NULL};

    zr_metrics_text_family(t, "zorgrelay_build_info", "gauge", "The relay's version; always 1.");
    zr_metrics_text_sample(t, "zorgrelay_build_info", info, 1);
    render_logins(t);
    render_providers(t);
    render_phases(t);
    render_counter(t, "zorgrelay_redis_errors_total", "Store calls that failed (Redis unavailable, timeout, not the master).",
                   ZR_METRICS_REDIS_ERRORS);
    render_counter(t, "zorgrelay_redis_reconnects_total", "Times Redis answered again after it was marked down.",
                   ZR_METRICS_REDIS_RECONNECTS);
    render_counter(t, "zorgrelay_redis_connections_opened_total", "Connections opened to Redis.",
                   ZR_METRICS_REDIS_CONNECTIONS);
    zr_metrics_text_family(t, "zorgrelay_redis_up", "gauge",
                           "1 while the store's last call reached Redis, 0 while it is marked down.");
    zr_metrics_text_sample(t, "zorgrelay_redis_up", NULL,
                           (double)atomic_load_explicit(&metrics_gauges[ZR_METRICS_REDIS_UP], memory_order_relaxed));
    zr_metrics_text_family(t, "zorgrelay_reloads_total", "counter", "Configuration reloads, by outcome.");
    {
        const char *ok[] = {"result", "ok", NULL}, *refused[] = {"result", "refused", NULL};
        zr_metrics_text_sample(t, "zorgrelay_reloads_total", ok, load(&metrics_counters[ZR_METRICS_RELOADS_OK]));
        zr_metrics_text_sample(t, "zorgrelay_reloads_total", refused,
                               load(&metrics_counters[ZR_METRICS_RELOADS_REFUSED]));
    }
    zr_metrics_text_family(t, "zorgrelay_http_refusals_total", "counter",
                           "Connections refused or cut and requests refused, by the limits.* key that did it.");
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        const char *l[] = {"limit", refusals[i].limit, NULL};
        zr_metrics_text_sample(t, "zorgrelay_http_refusals_total", l, load(&metrics_counters[refusals[i].c]));
    }
}
