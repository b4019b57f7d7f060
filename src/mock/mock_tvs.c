/* `zorgrelay mock-tvs`: a stand-in for TVS for demos and end-to-end tests.
 * Two listeners, as at TVS: the browser side (plain HTTP on loopback) and
 * the artifact resolution side (mutual TLS). Never in production. */
#include "zr/mock.h"

#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mock_internal.h"
#include "zr/log.h"
#include "zr/saml.h"
#include "zr/util.h"

/* mkdir -p of the directory part of path. */
static int make_parent_dirs(const char *path, char *err, size_t errlen)
{
    char *dir = strdup(path);
    char *slash;
    int rc = -1;
    if (!dir) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    slash = strrchr(dir, '/');
    if (!slash || slash == dir) {
        rc = 0;
        goto end;
    }
    *slash = '\0';
    for (char *p = dir + 1; ; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
            snprintf(err, errlen, "cannot create directory %s: %s", dir, strerror(errno));
            goto end;
        }
        *p = saved;
        if (saved == '\0')
            break;
    }
    rc = 0;
end:
    free(dir);
    return rc;
}

/* Written to a temporary file and renamed, so that a relay starting at the
 * same moment never reads half a document. */
static int write_file_atomically(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
    zr_buf_t tmp;
    FILE *f = NULL;
    int rc = -1;
    zr_buf_init(&tmp);
    if (make_parent_dirs(path, err, errlen) != 0)
        goto end;
    if (zr_buf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid()) != 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    f = fopen(tmp.data, "w");
    if (!f) {
        snprintf(err, errlen, "cannot write %s: %s", tmp.data, strerror(errno));
        goto end;
    }
    if (fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        f = NULL;
        snprintf(err, errlen, "cannot write %s: %s", tmp.data, strerror(errno));
        unlink(tmp.data);
        goto end;
    }
    f = NULL;
    if (rename(tmp.data, path) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", path, strerror(errno));
        unlink(tmp.data);
        goto end;
    }
    rc = 0;
end:
    if (f)
        fclose(f);
    zr_buf_free(&tmp);
    return rc;
}

/* The mock refuses production outright, and needs its own section. */
static int mock_allowed(const zr_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->environment == ZR_ENV_PRODUCTION) {
        snprintf(err, errlen, "refusing to run: `environment` is production; the mock TVS only runs with "
                              "environment development or preprod");
        return 0;
    }
    if (!cfg->has_mock_tvs) {
        snprintf(err, errlen, "refusing to run: the configuration has no `mock_tvs` section");
        return 0;
    }
    if (!cfg->mock_tvs.entity_id || !cfg->mock_tvs.signing.key || !cfg->mock_tvs.signing.cert) {
        snprintf(err, errlen, "mock_tvs: entity_id and signing key/certificate are required");
        return 0;
    }
    return 1;
}

int zr_mock_tvs_write_metadata(const zr_config_t *cfg, const char *path, char *err, size_t errlen)
{
    char *xml = NULL;
    size_t len = 0;
    int rc = -1;
    if (!path || !*path) {
        snprintf(err, errlen, "no path for the metadata");
        goto end;
    }
    if (!mock_allowed(cfg, err, errlen))
        goto end;
    xml = zr_saml_idp_metadata_build(cfg, &len, err, errlen);
    if (!xml)
        goto end;
    rc = write_file_atomically(path, xml, len, err, errlen);
end:
    free(xml);
    return rc;
}

/* CSP for the identity picker: its form posts here, and the answer
 * redirects on to the relay's ACS and from there to a portal; Chromium
 * checks form-action on each of those redirects, so it lists them all. */
static char *login_page_csp(const zr_config_t *cfg, const char *acs_url)
{
    size_t n = 1, count = 1;
    const char **targets;
    char *csp;

    for (size_t i = 0; i < cfg->client_count; i++)
        n += cfg->clients[i].redirect_uri_count + cfg->clients[i].post_logout_redirect_uri_count;
    targets = calloc(n, sizeof(*targets));
    if (!targets)
        return NULL;
    targets[0] = acs_url;
    for (size_t i = 0; i < cfg->client_count; i++) {
        for (size_t j = 0; j < cfg->clients[i].redirect_uri_count; j++)
            targets[count++] = cfg->clients[i].redirect_uris[j];
        for (size_t j = 0; j < cfg->clients[i].post_logout_redirect_uri_count; j++)
            targets[count++] = cfg->clients[i].post_logout_redirect_uris[j];
    }
    csp = zr_page_form_csp(targets, count);
    free(targets);
    return csp;
}

/* Serving needs more than the metadata does. */
static int serve_settings_complete(const zr_config_t *cfg, char *err, size_t errlen)
{
    const zr_mock_tvs_config_t *mt = &cfg->mock_tvs;
    if (!mock_allowed(cfg, err, errlen))
        return 0;
    if (mt->identity_count == 0 || !mt->listen || !mt->artifact_listen || !mt->tls.cert_file ||
        !mt->tls.key_file || !mt->client_ca_file || !cfg->saml_tls_client.cert) {
        snprintf(err, errlen, "mock_tvs needs identities, listen, artifact_listen, tls, client_ca and the relay's "
                              "saml.tls_client certificate");
        return 0;
    }
    return 1;
}

static int same_string(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_cert(X509 *a, X509 *b)
{
    return (!a && !b) || (a && b && X509_cmp(a, b) == 0);
}

/* The signed metadata depends only on these: the mock's own entity, keys
 * and endpoints. */
static int same_metadata_inputs(const zr_mock_tvs_config_t *a, const zr_mock_tvs_config_t *b)
{
    return same_string(a->entity_id, b->entity_id) && same_string(a->public_base_url, b->public_base_url) &&
           same_string(a->artifact_base_url, b->artifact_base_url) && same_cert(a->signing.cert, b->signing.cert) &&
           a->metadata_valid_days == b->metadata_valid_days;
}

static void gen_free(zr_mock_gen_t *g)
{
    if (!g)
        return;
    free(g->metadata);
    free(g->acs_url);
    free(g->form_action_csp);
    if (g->owned)
        zr_config_free(g->owned);
    free(g);
}

/* A generation for cfg. The metadata is copied from prev when nothing it
 * depends on changed (same ID and validUntil: the relay sees no change),
 * else signed anew and, with metadata_out, written. NULL with err set. */
static zr_mock_gen_t *gen_new(const zr_config_t *cfg, const zr_mock_gen_t *prev, char *err, size_t errlen)
{
    zr_mock_gen_t *g = calloc(1, sizeof(*g));
    const char *out = cfg->mock_tvs.metadata_out;
    int rebuilt = 0;
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    if (prev && same_metadata_inputs(&prev->cfg->mock_tvs, &cfg->mock_tvs)) {
        g->metadata = malloc(prev->metadata_len + 1);
        if (g->metadata) {
            memcpy(g->metadata, prev->metadata, prev->metadata_len + 1);
            g->metadata_len = prev->metadata_len;
        }
    } else {
        g->metadata = zr_saml_idp_metadata_build(cfg, &g->metadata_len, err, errlen);
        rebuilt = 1;
        if (!g->metadata)
            goto fail;
    }
    g->acs_url = zr_saml_acs_url(cfg);
    g->form_action_csp = g->acs_url ? login_page_csp(cfg, g->acs_url) : NULL;
    if (!g->metadata || !g->acs_url || !g->form_action_csp) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    /* Written at start, and again when it changed or goes elsewhere now. */
    if (out && (rebuilt || !same_string(out, prev->cfg->mock_tvs.metadata_out))) {
        if (write_file_atomically(out, g->metadata, g->metadata_len, err, errlen) != 0)
            goto fail;
        zr_log_info(prev ? "reload" : "startup", "signed metadata written to %s", out);
    }
    return g;
fail:
    g->cfg = NULL;
    gen_free(g);
    return NULL;
}

/* What a reload cannot change: the listeners keep their sockets and TLS
 * settings until a restart. */
static void warn_restart_needed(const zr_mock_tvs_config_t *old, const zr_mock_tvs_config_t *now)
{
    if (!same_string(old->listen, now->listen) || !same_string(old->artifact_listen, now->artifact_listen) ||
        !same_string(old->tls.cert_file, now->tls.cert_file) || !same_string(old->tls.key_file, now->tls.key_file) ||
        !same_string(old->client_ca_file, now->client_ca_file))
        zr_log_warn("reload", "mock_tvs listen, artifact_listen, tls and client_ca take effect at the next start "
                              "only; still serving %s and %s", old->listen, old->artifact_listen);
}

/* SIGHUP: load the configuration file again; on any error keep the running
 * one. New requests use the new one at once; logins in flight finish with
 * the one they started with (every generation is kept until exit). */
static void reload(zr_mock_tvs_t *m)
{
    zr_mock_gen_t *cur = atomic_load_explicit(&m->current, memory_order_acquire);
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_mock_gen_t *g = NULL;
    char err[512] = "";

    if (!cur->cfg->file) {
        zr_log_error("reload", "refused: the running configuration has no file name; keeping it");
        goto end;
    }
    cfg = zr_config_load(cur->cfg->file, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            zr_log_error("reload", "%s", errs.lines[i]);
        zr_log_error("reload", "refused: %zu configuration error%s in %s; keeping the running configuration",
                     errs.count, errs.count == 1 ? "" : "s", cur->cfg->file);
        goto end;
    }
    if (!serve_settings_complete(cfg, err, sizeof(err)) || !(g = gen_new(cfg, cur, err, sizeof(err)))) {
        zr_log_error("reload", "refused: %s; keeping the running configuration", err);
        goto end;
    }
    warn_restart_needed(&cur->cfg->mock_tvs, &cfg->mock_tvs);
    g->owned = cfg;
    cfg = NULL;
    g->older = cur;
    atomic_store_explicit(&m->current, g, memory_order_release);
    zr_log_set_level((zr_log_level_t)g->cfg->log_level);
    zr_log_info("reload", "%zu care providers, %zu test identities%s", g->cfg->tenant_count,
                g->cfg->mock_tvs.identity_count, g->cfg->cluster.enabled ? ", cluster" : "");
end:
    if (cfg)
        zr_config_free(cfg);
    zr_config_errors_free(&errs);
}

static const zr_http_route_t browser_routes[] = {
    {"POST", ZR_SAML_IDP_PATH_SSO, zr_mock_handle_sso},
    {"POST", ZR_SAML_IDP_PATH_SLO, zr_mock_handle_logout}, /* logout.c (issue 5) */
    {"POST", "/kvs/rd/choose", zr_mock_handle_choose},
    {"GET", "/metadata", zr_mock_handle_metadata},
};

static const zr_http_route_t artifact_routes[] = {
    {"POST", ZR_SAML_IDP_PATH_RESOLVE, zr_mock_handle_resolve},
};

int zr_mock_tvs_serve(const zr_config_t *cfg)
{
    const zr_mock_tvs_config_t *mt = &cfg->mock_tvs;
    zr_mock_tvs_t m;
    zr_mock_gen_t *gen = NULL;
    zr_http_server_t *browser = NULL, *artifact = NULL;
    char err[512] = "";
    int rc = 1, sig;

    memset(&m, 0, sizeof(m));
    atomic_init(&m.current, NULL);
    if (!serve_settings_complete(cfg, err, sizeof(err))) {
        zr_log_error("startup", "%s", err);
        goto end;
    }
    gen = gen_new(cfg, NULL, err, sizeof(err));
    m.pending = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_TTL_S, zr_mock_login_free);
    m.artifacts = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_TTL_S, zr_mock_login_free);
    if (!gen) {
        zr_log_error("startup", "mock TVS metadata: %s", err);
        goto end;
    }
    atomic_store(&m.current, gen);
    if (!m.pending || !m.artifacts || zr_mock_logout_init(&m) != 0) {
        zr_log_error("startup", "out of memory");
        goto end;
    }

    zr_http_server_config_t bc = {
        .listen = mt->listen,
        .max_body_bytes = cfg->max_body_bytes,
        .threads = 2,
        .routes = browser_routes,
        .route_count = sizeof(browser_routes) / sizeof(browser_routes[0]),
        .ctx = &m,
        .component = "mock-tvs",
    };
    browser = zr_http_server_start(&bc, err, sizeof(err));
    if (!browser) {
        zr_log_error("startup", "cannot listen on %s: %s", mt->listen, err);
        goto end;
    }
    /* Mutual TLS: the http module requires a client certificate issued by
     * client_ca; the handler then checks it is the relay's. */
    zr_http_server_config_t ac = {
        .listen = mt->artifact_listen,
        .tls_cert_file = mt->tls.cert_file,
        .tls_key_file = mt->tls.key_file,
        .client_ca_file = mt->client_ca_file,
        .max_body_bytes = cfg->max_body_bytes,
        .threads = 2,
        .routes = artifact_routes,
        .route_count = sizeof(artifact_routes) / sizeof(artifact_routes[0]),
        .ctx = &m,
        .component = "mock-tvs",
    };
    artifact = zr_http_server_start(&ac, err, sizeof(err));
    if (!artifact) {
        zr_log_error("startup", "cannot listen on %s: %s", mt->artifact_listen, err);
        goto end;
    }
    zr_log_warn("startup", "MOCK TVS - TESTOMGEVING, geen echte DigiD: %s on %s (browser) and %s (artifact, mTLS), "
                           "%zu test identities, %zu care providers%s, environment %s",
                mt->entity_id, mt->listen, mt->artifact_listen, mt->identity_count, cfg->tenant_count,
                cfg->cluster.enabled ? " (cluster)" : "", zr_environment_name(cfg->environment));
    while ((sig = zr_http_wait_for_signal()) == SIGHUP)
        reload(&m);
    zr_log_info("shutdown", "signal %d, stopping", sig);
    rc = 0;
end:
    /* Listeners first: no handler runs once they are stopped. */
    zr_http_server_stop(artifact);
    zr_http_server_stop(browser);
    zr_mock_table_free(m.pending);
    zr_mock_table_free(m.artifacts);
    zr_mock_logout_cleanup(&m);
    for (zr_mock_gen_t *g = atomic_load(&m.current), *older; g; g = older) {
        older = g->older;
        gen_free(g);
    }
    if (!atomic_load(&m.current))
        gen_free(gen);
    return rc;
}
