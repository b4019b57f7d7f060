/* GET /metrics on a listener of its own (issue 16 §2, docs/operations.md
 * #metrics): the counters and histograms src/metrics keeps, and the gauges
 * read here at scrape time from the relay's state: generation, load of the
 * workers and the back-channel lane, connections, TVS metadata validity and
 * the expiry of every certificate the relay holds. Nothing here names a
 * person: labels are fixed words, and care provider ids (configuration
 * names) only with metrics.per_care_provider. */
#include "relay_internal.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zr/log.h"
#include "zr/util.h"

/* The HTTPS certificate of the relay's own listener: a start-only setting,
 * read once on the main thread (the HTTP server keeps no X509 of it). */
static time_t metrics_tls_not_after;

time_t zr_relay_cert_not_after(const X509 *cert)
{
    struct tm tm;
    if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
        return 0;
    return timegm(&tm);
}

static time_t pem_file_not_after(const char *path)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    X509 *cert = f ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
    time_t t = zr_relay_cert_not_after(cert);
    X509_free(cert);
    if (f)
        fclose(f);
    return t;
}

static void min_time(time_t *acc, time_t t)
{
    if (t && (!*acc || t < *acc))
        *acc = t;
}

static void gauge(zr_metrics_text_t *t, const char *name, const char *help, double v)
{
    zr_metrics_text_family(t, name, "gauge", help);
    zr_metrics_text_sample(t, name, NULL, v);
}

static void cert_sample(zr_metrics_text_t *t, const char *which, time_t not_after, time_t now)
{
    const char *l[] = {"certificate", which, NULL};
    if (not_after)
        zr_metrics_text_sample(t, "zorgrelay_certificate_expiry_seconds", l, (double)(not_after - now));
}

/* Every certificate the relay holds: its own (SAML signing, the TLS client
 * certificate towards TVS, the HTTPS listener's, the OIDC signing keys'),
 * TVS's (the metadata signer, the signing keys in the metadata) and the care
 * providers' BSN encryption keys: the earliest, or one series per provider. */
static void render_certificates(zr_relay_t *relay, const zr_config_t *cfg, zr_metrics_text_t *t)
{
    time_t now = zr_time_now(), oidc = 0, bsn = 0, valid_until, signer, tvs_keys;

    zr_relay_idp_expiry(relay, &valid_until, &signer, &tvs_keys);
    zr_metrics_text_family(t, "zorgrelay_tvs_metadata_valid_until_timestamp_seconds", "gauge",
                           "validUntil of the TVS metadata in use (unix time); absent when none is loaded.");
    if (valid_until)
        zr_metrics_text_sample(t, "zorgrelay_tvs_metadata_valid_until_timestamp_seconds", NULL, (double)valid_until);

    for (size_t i = 0; i < cfg->oidc.key_count; i++)
        min_time(&oidc, zr_relay_cert_not_after(cfg->oidc.keys[i].cert));
    for (size_t i = 0; i < cfg->tenant_count; i++)
        for (size_t k = 0; k < cfg->tenants[i].bsn_key_count; k++)
            min_time(&bsn, zr_relay_cert_not_after(cfg->tenants[i].bsn_keys[k].cert));
    zr_metrics_text_family(t, "zorgrelay_certificate_expiry_seconds", "gauge",
                           "Seconds until the certificate expires (negative: expired); the earliest of each kind.");
    cert_sample(t, "saml_signing", zr_relay_cert_not_after(cfg->saml_signing.cert), now);
    cert_sample(t, "saml_tls_client", zr_relay_cert_not_after(cfg->saml_tls_client.cert), now);
    cert_sample(t, "tls_server", metrics_tls_not_after, now);
    cert_sample(t, "oidc_signing", oidc, now);
    cert_sample(t, "tvs_metadata_signer", signer, now);
    cert_sample(t, "tvs_signing", tvs_keys, now);
    cert_sample(t, "bsn_encryption", bsn, now);

    if (!cfg->metrics.per_care_provider)
        return;
    zr_metrics_text_family(t, "zorgrelay_care_provider_bsn_key_expiry_seconds", "gauge",
                           "Seconds until the care provider's BSN encryption certificate expires (the earliest of "
                           "its keys).");
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        time_t at = 0;
        const char *l[] = {"care_provider", cfg->tenants[i].id, NULL};
        for (size_t k = 0; k < cfg->tenants[i].bsn_key_count; k++)
            min_time(&at, zr_relay_cert_not_after(cfg->tenants[i].bsn_keys[k].cert));
        if (at)
            zr_metrics_text_sample(t, "zorgrelay_care_provider_bsn_key_expiry_seconds", l, (double)(at - now));
    }
}

static void render_load(zr_relay_t *relay, zr_metrics_text_t *t)
{
    zr_http_server_t *server = __atomic_load_n(&relay->server, __ATOMIC_ACQUIRE);
    zr_http_load_t load;
    zr_http_lane_load_t lane;

    if (!server)
        return;
    zr_http_server_load(server, &load);
    gauge(t, "zorgrelay_http_workers", "HTTP worker threads.", load.threads);
    gauge(t, "zorgrelay_http_workers_busy", "HTTP worker threads running a handler now.", load.busy);
    gauge(t, "zorgrelay_http_requests_in_flight", "Requests from a complete head to the answer sent, lane included.",
          load.in_flight);
    gauge(t, "zorgrelay_http_connections_open", "Open connections admitted by the limits.", load.connections);
    gauge(t, "zorgrelay_http_connections_max", "limits.max_connections as in force.", load.max_connections);
    if (zr_http_server_lane_load(server, &lane) != 0)
        return;
    gauge(t, "zorgrelay_backchannel_threads", "Back-channel lane threads (tvs.backchannel_concurrency).",
          (double)lane.threads);
    gauge(t, "zorgrelay_backchannel_busy", "Back-channel lane threads running a handler now.", (double)lane.busy);
    gauge(t, "zorgrelay_backchannel_queued", "Requests waiting for a back-channel lane thread.", (double)lane.queued);
    gauge(t, "zorgrelay_backchannel_queue_capacity", "How many may wait (tvs.backchannel_queue).",
          (double)lane.queue_max);
    zr_metrics_text_family(t, "zorgrelay_backchannel_refused_total", "counter",
                           "Requests answered 503 because the back-channel lane and its queue were full.");
    zr_metrics_text_sample(t, "zorgrelay_backchannel_refused_total", NULL, (double)lane.refused);
}

static int handle_metrics(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const zr_config_t *cfg = gen->cfg;
    zr_metrics_text_t t;
    int rc = -1;

    zr_metrics_text_init(&t);
    zr_metrics_render(&t);
    gauge(&t, "zorgrelay_config_generation", "The configuration generation in use: 1 at start, +1 per reload.",
          (double)gen->serial);
    zr_metrics_text_family(&t, "zorgrelay_care_providers", "gauge", "Care providers in the configuration in use.");
    {
        const char *active[] = {"state", "active", NULL}, *quarantined[] = {"state", "quarantined", NULL};
        zr_metrics_text_sample(&t, "zorgrelay_care_providers", active,
                               (double)(cfg->tenant_count - cfg->quarantined_count));
        zr_metrics_text_sample(&t, "zorgrelay_care_providers", quarantined, (double)cfg->quarantined_count);
    }
    render_load(relay, &t);
    /* Only the current generation's: a retired one's back channel serves
     * logins begun before a reload, and TVS is the same. */
    if (gen->backchannel) {
        zr_saml_breaker_state_t now = zr_saml_backchannel_state(gen->backchannel);
        zr_metrics_text_family(&t, "zorgrelay_tvs_breaker_state", "gauge",
                               "The TVS artifact endpoint's circuit breaker: 1 for its current state.");
        for (int st = ZR_SAML_BREAKER_CLOSED; st <= ZR_SAML_BREAKER_HALF_OPEN; st++) {
            const char *l[] = {"state", zr_saml_breaker_state_name((zr_saml_breaker_state_t)st), NULL};
            zr_metrics_text_sample(&t, "zorgrelay_tvs_breaker_state", l, st == (int)now);
        }
    }
    render_certificates(relay, cfg, &t);
    if (t.failed) {
        zr_log_error("metrics", "out of memory rendering /metrics");
        goto end;
    }
    rc = zr_http_respond(resp, 200, ZR_METRICS_CONTENT_TYPE, t.data, t.len);
end:
    zr_metrics_text_free(&t);
    zr_relay_gen_put(relay, gen);
    return rc;
}

static const zr_http_route_t metrics_routes[] = {
    {"GET", "/metrics", handle_metrics},
};

int zr_relay_metrics_init(const zr_config_t *cfg)
{
    const char **ids = calloc(cfg->tenant_count + 1, sizeof(*ids));
    int rc = -1;
    if (!ids)
        goto end;
    for (size_t i = 0; i < cfg->tenant_count; i++)
        ids[i] = cfg->tenants[i].id;
    /* The counters run also without a listener: they cost one atomic add
     * each, and a later restart with metrics: shows nothing stale. */
    rc = zr_metrics_init(cfg->metrics.per_care_provider, ids, cfg->tenant_count);
end:
    free(ids);
    return rc;
}

int zr_relay_metrics_start(zr_relay_t *relay, char *err, size_t errlen)
{
    const zr_config_t *cfg = relay->cfg;

    metrics_tls_not_after = pem_file_not_after(cfg->tls_cert_file);
    if (!cfg->metrics.enabled)
        return 0;
    zr_http_server_config_t hc = {
        .listen = cfg->metrics.listen,
        .threads = 1,
        .routes = metrics_routes,
        .route_count = sizeof(metrics_routes) / sizeof(metrics_routes[0]),
        .ctx = relay,
        .component = "metrics",
        /* Prometheus asks every 15 s or so: only what went wrong is worth a
         * line at info. */
        .quiet_access_log = 1,
        /* A scraper or two: a small cap keeps the port from costing the
         * relay file descriptors. */
        .max_connections = 16,
        .max_connections_per_ip = 16,
    };
    relay->metrics_server = zr_http_server_start(&hc, err, errlen);
    if (!relay->metrics_server)
        return -1;
    zr_log_info("startup", "metrics on http://%s/metrics%s", cfg->metrics.listen,
                cfg->metrics.per_care_provider ? " (per care provider)" : "");
    return 0;
}

void zr_relay_metrics_reloaded(const zr_config_t *cfg)
{
    const char **ids = NULL;
    if (!cfg->metrics.per_care_provider)
        goto end;
    if (!(ids = calloc(cfg->tenant_count + 1, sizeof(*ids))))
        goto fail;
    for (size_t i = 0; i < cfg->tenant_count; i++)
        ids[i] = cfg->tenants[i].id;
    if (zr_metrics_care_providers_add(ids, cfg->tenant_count) == 0)
        goto end;
fail:
    zr_log_error("metrics", "out of memory: care providers added by this reload have no series yet");
end:
    free(ids);
}

void zr_relay_metrics_stop(zr_relay_t *relay)
{
    zr_http_server_stop(relay->metrics_server);
    relay->metrics_server = NULL;
}
