/* Health for load balancers and orchestrators (issue 13 §4,
 * docs/operations.md#health), in two questions with different consequences:
 *   GET /healthz  liveness: "is this process broken in a way only a restart
 *                 fixes?" The HTTP machinery answered, and the SAML machinery
 *                 builds an AuthnRequest. Nothing outside the process counts:
 *                 a Redis or TVS outage must not get every relay restarted.
 *   GET /readyz   readiness: "may this process get logins now?" Redis takes
 *                 a real write, TVS metadata is valid, the pairwise sectors
 *                 are compared, the SAML self-check passes (and, once wired,
 *                 the worker pool and back channel are not saturated).
 * The two costly probes (the Redis write, the signed AuthnRequest) are
 * shared between threads for ZR_RELAY_PROBE_CACHE_MS, and only one thread
 * renews a result while the others answer with the previous one: many
 * pollers cost Redis one write a second, and an answer never waits for more
 * than one probe (bounded by redis.timeout_ms). */
#include "relay_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "zr/log.h"
#include "zr/util.h"

/* A probe that is still running after this long (beyond the store's own
 * bound) is reported as not ready rather than waited for. */
#define PROBE_WAIT_SLACK_MS 1000

static int64_t health_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

zr_relay_probe_action_t zr_relay_probe_decide(int have, int running, int64_t at_ms, int64_t now_ms)
{
    if (have && now_ms - at_ms < ZR_RELAY_PROBE_CACHE_MS)
        return ZR_RELAY_PROBE_USE;
    if (!running)
        return ZR_RELAY_PROBE_RUN;
    /* Someone renews it: the previous answer is at most a probe older. */
    return have ? ZR_RELAY_PROBE_USE : ZR_RELAY_PROBE_WAIT;
}

static void probe_init(zr_relay_probe_t *p)
{
    pthread_condattr_t attr;
    memset(p, 0, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->done, &attr);
    pthread_condattr_destroy(&attr);
}

static void probe_cleanup(zr_relay_probe_t *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->done);
}

void zr_relay_health_init(zr_relay_t *relay)
{
    probe_init(&relay->store_probe);
    probe_init(&relay->saml_probe);
#ifdef ZR_TESTING
    /* Makes the SAML self-check hand the real builder a request without a
     * destination, which it refuses (tests/integration/test_health.sh). */
    relay->saml_selfcheck_broken = getenv("ZR_TEST_BREAK_SAML_SELFCHECK") != NULL;
#endif
}

void zr_relay_health_cleanup(zr_relay_t *relay)
{
    probe_cleanup(&relay->store_probe);
    probe_cleanup(&relay->saml_probe);
}

typedef int (*probe_fn)(zr_relay_t *relay, char *what, size_t whatlen);

/* The shared result of fn (1: ok), renewed at most every
 * ZR_RELAY_PROBE_CACHE_MS by one thread at a time. A change is logged once. */
static int probe_cached(zr_relay_t *relay, zr_relay_probe_t *p, const char *name, probe_fn fn, char *what,
                        size_t whatlen)
{
    int64_t deadline = health_now_ms() + relay->cfg->redis.timeout_ms + PROBE_WAIT_SLACK_MS;
    zr_relay_probe_action_t action;
    char fresh[sizeof(p->what)];
    int ok = 0;

    pthread_mutex_lock(&p->lock);
    while ((action = zr_relay_probe_decide(p->have, p->running, p->at_ms, health_now_ms())) == ZR_RELAY_PROBE_WAIT) {
        struct timespec until = {(time_t)(deadline / 1000), (long)(deadline % 1000) * 1000000L};
        if (pthread_cond_timedwait(&p->done, &p->lock, &until) == ETIMEDOUT)
            break;
    }
    if (action == ZR_RELAY_PROBE_WAIT) {
        snprintf(what, whatlen, "no result yet (the probe is still running)");
        goto end;
    }
    if (action == ZR_RELAY_PROBE_RUN) {
        p->running = 1;
        pthread_mutex_unlock(&p->lock);
        snprintf(fresh, sizeof(fresh), "probe failed");
        ok = fn(relay, fresh, sizeof(fresh));
        pthread_mutex_lock(&p->lock);
        if (!ok && (!p->have || p->ok))
            zr_log_warn("health", "not ready: %s: %s", name, fresh);
        else if (ok && p->have && !p->ok)
            zr_log_info("health", "%s ok again", name);
        p->ok = ok;
        snprintf(p->what, sizeof(p->what), "%s", fresh);
        p->at_ms = health_now_ms();
        p->have = 1;
        p->running = 0;
        pthread_cond_broadcast(&p->done);
    }
    ok = p->ok;
    snprintf(what, whatlen, "%s", p->what);
end:
    pthread_mutex_unlock(&p->lock);
    return ok;
}

/* ---- the probes ---- */

/* Redis must take a write, not only answer PING (OOM, a read-only replica,
 * MISCONF): every login writes. */
static int probe_store(zr_relay_t *relay, char *what, size_t whatlen)
{
    return zr_store_probe_write(relay->store, what, whatlen) == ZR_STORE_OK;
}

/* One AuthnRequest built and signed in memory through the code /authorize
 * uses, with the current configuration and signing key: catches lasso,
 * libxml2 or xmlsec in a broken state (issue 13 §1: a relay that answered
 * every /authorize with 500 while its health said ok). Sent nowhere, stored
 * nowhere. The destination is a placeholder: TVS's metadata has its own
 * check. */
static int probe_saml(zr_relay_t *relay, char *what, size_t whatlen)
{
    static char placeholder_sso[] = "https://tvs.invalid/readiness";
    static char synthetic_entity[] = "urn:zorgrelay:readiness";
    static char synthetic_uuid[] = "00000000-0000-0000-0000-000000000000";
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const zr_config_t *cfg = gen->cfg;
    const zr_tenant_t *tenant = NULL;
    const zr_tenant_service_t *service;
    zr_tenant_t synthetic_tenant;
    zr_tenant_service_t synthetic_service;
    zr_saml_idp_t idp;
    zr_saml_authn_request_t authn;
    char err[256] = "";
    int ok = 0;

    memset(&idp, 0, sizeof(idp));
    memset(&authn, 0, sizeof(authn));
    idp.sso_url = placeholder_sso;
#ifdef ZR_TESTING
    if (relay->saml_selfcheck_broken)
        idp.sso_url = NULL;
#endif
    /* A quarantined provider's keys may be missing: the first that serves. */
    for (size_t i = 0; i < cfg->tenant_count && !tenant; i++)
        if (!cfg->tenants[i].quarantined && cfg->tenants[i].service_count)
            tenant = &cfg->tenants[i];
    if (tenant) {
        service = &tenant->services[0];
    } else {
        /* No care provider yet (a cluster before its first): the machinery
         * is the same for any. */
        memset(&synthetic_tenant, 0, sizeof(synthetic_tenant));
        memset(&synthetic_service, 0, sizeof(synthetic_service));
        synthetic_tenant.entity_id = synthetic_entity;
        synthetic_service.service_uuid = synthetic_uuid;
        tenant = &synthetic_tenant;
        service = &synthetic_service;
    }
    if (zr_saml_authn_request_build(cfg, tenant, service, &idp, 0, &authn, err, sizeof(err)) != 0) {
        snprintf(what, whatlen, "cannot build an AuthnRequest: %s", err);
        goto end;
    }
    if (!authn.xml || !strstr(authn.xml, "SignatureValue") || !authn.saml_request_b64 || !*authn.saml_request_b64) {
        snprintf(what, whatlen, "the AuthnRequest came out unsigned or empty");
        goto end;
    }
    snprintf(what, whatlen, "ok");
    ok = 1;
end:
    zr_saml_authn_request_free(&authn);
    zr_relay_gen_put(relay, gen);
    return ok;
}

/* ---- readiness checks ---- */

static int ready_store(zr_relay_t *relay, char *what, size_t whatlen)
{
    return probe_cached(relay, &relay->store_probe, "store", probe_store, what, whatlen);
}

static int ready_tvs_metadata(zr_relay_t *relay, char *what, size_t whatlen)
{
    char err[256] = "";
    zr_saml_idp_t *idp = zr_relay_idp_get(relay, err, sizeof(err));
    snprintf(what, whatlen, "%s", idp ? "ok" : err);
    zr_relay_idp_put(relay, idp);
    return idp != NULL;
}

/* A readiness poll is the first request after Redis comes back: the
 * comparison happens here rather than on a patient's login. Not while the
 * store probe fails (the comparison would only fail too). */
static int ready_sectors(zr_relay_t *relay, char *what, size_t whatlen)
{
    int store_ok, ready;
    pthread_mutex_lock(&relay->store_probe.lock);
    store_ok = relay->store_probe.have && relay->store_probe.ok;
    pthread_mutex_unlock(&relay->store_probe.lock);
    ready = store_ok ? zr_relay_sectors_ready(relay) == ZR_RELAY_SECTORS_OK
                     : __atomic_load_n(&relay->sectors, __ATOMIC_ACQUIRE) == ZR_RELAY_SECTORS_OK;
    pthread_mutex_lock(&relay->sector_lock);
    snprintf(what, whatlen, "%s", relay->sectors_status);
    pthread_mutex_unlock(&relay->sector_lock);
    return ready;
}

static int ready_saml(zr_relay_t *relay, char *what, size_t whatlen)
{
    return probe_cached(relay, &relay->saml_probe, "saml", probe_saml, what, whatlen);
}

/* The back-channel lane (ACS, Dezi callback): not ready while it is full,
 * i.e. the next login coming back from TVS or Dezi would be answered 503
 * at once; another process may have room. The TVS circuit breaker is shown
 * but does not make the process unready: TVS being down is the same for
 * every relay process, and taking them all out of rotation would also stop
 * /token and /userinfo for the codes and tokens portals already hold. */
static int ready_backchannel(zr_relay_t *relay, char *what, size_t whatlen)
{
    zr_http_server_t *server = __atomic_load_n(&relay->server, __ATOMIC_ACQUIRE);
    zr_http_lane_load_t load;
    int ready = 1;

    if (!server || zr_http_server_lane_load(server, &load) != 0)
        snprintf(what, whatlen, "ok (no lane yet)");
    else {
        ready = !(load.busy >= load.threads && load.queued >= load.queue_max);
        snprintf(what, whatlen, "%s: %zu of %zu lane threads busy, %zu of %zu waiting", ready ? "ok" : "full",
                 load.busy, load.threads, load.queued, load.queue_max);
    }
    return ready;
}

/* The lane's counters and TVS's circuit breaker, for the operator
 * (docs/operations.md, the back-channel lane): informative. */
static json_t *readyz_lane(zr_relay_t *relay)
{
    zr_http_server_t *server = __atomic_load_n(&relay->server, __ATOMIC_ACQUIRE);
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    zr_http_lane_load_t load;
    json_t *o = json_object();

    json_object_set_new(o, "breaker",
                        json_string(zr_saml_breaker_state_name(zr_saml_backchannel_state(gen->backchannel))));
    if (server && zr_http_server_lane_load(server, &load) == 0) {
        json_object_set_new(o, "busy", json_integer((json_int_t)load.busy));
        json_object_set_new(o, "queued", json_integer((json_int_t)load.queued));
        json_object_set_new(o, "threads", json_integer((json_int_t)load.threads));
        json_object_set_new(o, "queue", json_integer((json_int_t)load.queue_max));
        json_object_set_new(o, "refused", json_integer((json_int_t)load.refused));
    }
    zr_relay_gen_put(relay, gen);
    return o;
}

/* The HTTP worker pool: not ready while every other worker is running a
 * handler at this moment (this check itself runs on one). A worker stuck in
 * a handler does not accept new connections, so a new one still reaches a
 * free worker while there is one; when none is free, this check is not
 * answered at all, which a load balancer also counts as not ready. A single
 * sample: a load balancer's "fall" count (2-3 failures in a row) keeps a
 * moment's peak from taking the process out. Requests parked on the
 * back-channel lane hold no worker. */
static int ready_workers(zr_relay_t *relay, char *what, size_t whatlen)
{
    zr_http_server_t *server = __atomic_load_n(&relay->server, __ATOMIC_ACQUIRE);
    zr_http_load_t load;
    unsigned others;
    int ready = 1;

    zr_http_server_load(server, &load);
    if (!server || load.threads == 0) {
        snprintf(what, whatlen, "ok (not serving yet)");
        goto end;
    }
    others = load.busy > 0 ? load.busy - 1 : 0;
    ready = load.threads < 2 || others < load.threads - 1;
    snprintf(what, whatlen, "%s: %u of %u workers busy, %u requests in flight (%u on the lane)",
             ready ? "ok" : "saturated", load.busy, load.threads, load.in_flight, load.on_lane);
end:
    return ready;
}

/* What /readyz asks, in this order (ready_sectors reads the store's
 * result); each names its member of the answer and returns 1 when ready.
 * The worker and lane checks read counters: cheap, so not cached like the
 * store and SAML probes. */
typedef struct {
    const char *name;
    int (*check)(zr_relay_t *relay, char *what, size_t whatlen);
} ready_check_t;

static const ready_check_t ready_checks[] = {
    {"store", ready_store},
    {"tvs_metadata", ready_tvs_metadata},
    {"pairwise_sectors", ready_sectors},
    {"saml", ready_saml},
    {"workers", ready_workers},
    {"backchannel", ready_backchannel},
};

static void respond(zr_http_response_t *resp, int ok, json_t *o)
{
    char *body = json_dumps(o, JSON_COMPACT);
    if (body)
        zr_http_respond_json(resp, ok ? 200 : 503, body);
    else
        zr_http_respond_json(resp, 503, "{\"status\":\"unavailable\"}");
    /* A cached "ok" in front of a relay that went down would be a lie. */
    zr_http_set_header(resp, "Cache-Control", "no-store");
    free(body);
}

int zr_relay_handle_readyz(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    json_t *o = json_object(), *failing = json_array();
    char what[sizeof(relay->sectors_status)];
    int ok = 1;
    (void)req;
    for (size_t i = 0; i < sizeof(ready_checks) / sizeof(ready_checks[0]); i++) {
        what[0] = '\0';
        if (!ready_checks[i].check(relay, what, sizeof(what))) {
            ok = 0;
            json_array_append_new(failing, json_string(ready_checks[i].name));
        }
        json_object_set_new(o, ready_checks[i].name, json_string(what));
    }
    json_object_set_new(o, "lane", readyz_lane(relay));
    json_object_set_new(o, "status", json_string(ok ? "ok" : "unavailable"));
    json_object_set_new(o, "failing", failing);
    respond(resp, ok, o);
    json_decref(o);
    return 0;
}

/* The quarantined care providers (issue 14 §1): id and a short reason.
 * /healthz may be public: the reason names a kind of problem, never a file,
 * a path or a value (the full lines are in the log). Liveness is not
 * affected: a restart fixes none of them. */
static json_t *healthz_quarantined(const zr_config_t *cfg)
{
    json_t *list = json_array();
    char summary[128];
    for (size_t i = 0; list && i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        json_t *item;
        if (!t->quarantined)
            continue;
        item = json_object();
        json_object_set_new(item, "id", json_string(t->id ? t->id : "?"));
        json_object_set_new(item, "reason", json_string(zr_tenant_quarantine_summary(t, summary, sizeof(summary))));
        json_array_append_new(list, item);
    }
    return list;
}

int zr_relay_handle_healthz(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    json_t *o = json_object(), *conf = json_object();
    char what[sizeof(relay->saml_probe.what)];
    int ok;
    (void)req;
    /* Answering at all proves the HTTP machinery; the SAML machinery is the
     * one in-process part known to break for good (issue 13 §1). */
    ok = probe_cached(relay, &relay->saml_probe, "saml", probe_saml, what, sizeof(what));
    json_object_set_new(o, "status", json_string(ok ? "ok" : "failing"));
    json_object_set_new(o, "saml", json_string(what));
    /* What `zorgrelay reload` waits for: which configuration is in use and
     * how the last reload went. */
    pthread_mutex_lock(&relay->gen_lock);
    json_object_set_new(conf, "generation", json_integer((json_int_t)relay->gen->serial));
    json_object_set_new(conf, "care_providers", json_integer((json_int_t)relay->gen->cfg->tenant_count));
    json_object_set_new(conf, "reloads", json_integer((json_int_t)(relay->reloads_ok + relay->reloads_refused)));
    json_object_set_new(conf, "last_reload", json_string(relay->reload_status));
    json_object_set_new(conf, "quarantined", healthz_quarantined(relay->gen->cfg));
    json_object_set_new(conf, "ledger", json_string(relay->ledger_status));
    /* What earlier reloads still hold (issue 14 §2): generations kept for
     * logins in flight, and their care providers. */
    {
        size_t retired = 0, providers = 0;
        for (const zr_relay_gen_t *g = relay->retired_gens; g; g = g->next) {
            retired++;
            providers += g->cfg->tenant_count;
        }
        json_object_set_new(conf, "retired_generations", json_integer((json_int_t)retired));
        json_object_set_new(conf, "retired_care_providers", json_integer((json_int_t)providers));
    }
    pthread_mutex_unlock(&relay->gen_lock);
    json_object_set_new(o, "config", conf);
    respond(resp, ok, o);
    json_decref(o);
    return 0;
}
