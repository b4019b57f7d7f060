/* `zorgrelay mock-tvs`: a stand-in for TVS for demos and end-to-end tests.
 * Two listeners, as at TVS: the browser side (plain HTTP on loopback) and
 * the artifact resolution side (mutual TLS). Never in production. */
#include "zr/mock.h"

#include <errno.h>
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
 * redirects on to the relay's ACS, which form-action must allow too. */
static char *login_page_csp(const char *acs_url)
{
    zr_buf_t b;
    const char *host = strstr(acs_url, "://");
    size_t origin_len = host ? (size_t)(host + 3 - acs_url) + strcspn(host + 3, "/?#") : 0;
    zr_buf_init(&b);
    if (zr_buf_appends(&b, "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'") != 0 ||
        (origin_len && (zr_buf_appends(&b, " ") != 0 || zr_buf_append(&b, acs_url, origin_len) != 0)) ||
        zr_buf_appends(&b, "; frame-ancestors 'none'; base-uri 'none'") != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

static const zr_http_route_t browser_routes[] = {
    {"POST", ZR_SAML_IDP_PATH_SSO, zr_mock_handle_sso},
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
    zr_http_server_t *browser = NULL, *artifact = NULL;
    char err[512] = "";
    int rc = 1, sig;

    memset(&m, 0, sizeof(m));
    m.cfg = cfg;
    if (!mock_allowed(cfg, err, sizeof(err))) {
        zr_log_error("startup", "%s", err);
        goto end;
    }
    if (mt->identity_count == 0 || !mt->listen || !mt->artifact_listen || !mt->tls.cert_file ||
        !mt->tls.key_file || !mt->client_ca_file || !cfg->saml_tls_client.cert) {
        zr_log_error("startup", "mock_tvs needs identities, listen, artifact_listen, tls, client_ca and the "
                                "relay's saml.tls_client certificate");
        goto end;
    }
    m.metadata = zr_saml_idp_metadata_build(cfg, &m.metadata_len, err, sizeof(err));
    m.acs_url = zr_saml_acs_url(cfg);
    m.form_action_csp = m.acs_url ? login_page_csp(m.acs_url) : NULL;
    m.pending = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_TTL_S, zr_mock_login_free);
    m.artifacts = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_TTL_S, zr_mock_login_free);
    if (!m.metadata) {
        zr_log_error("startup", "mock TVS metadata: %s", err);
        goto end;
    }
    if (!m.acs_url || !m.form_action_csp || !m.pending || !m.artifacts) {
        zr_log_error("startup", "out of memory");
        goto end;
    }
    if (mt->metadata_out) {
        if (write_file_atomically(mt->metadata_out, m.metadata, m.metadata_len, err, sizeof(err)) != 0) {
            zr_log_error("startup", "mock TVS metadata: %s", err);
            goto end;
        }
        zr_log_info("startup", "signed metadata written to %s", mt->metadata_out);
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
                           "%zu test identities, environment %s",
                mt->entity_id, mt->listen, mt->artifact_listen, mt->identity_count,
                zr_environment_name(cfg->environment));
    while ((sig = zr_http_wait_for_signal()) == SIGHUP)
        zr_log_info("reload", "SIGHUP ignored: the mock TVS reads its configuration at start only");
    zr_log_info("shutdown", "signal %d, stopping", sig);
    rc = 0;
end:
    zr_http_server_stop(artifact);
    zr_http_server_stop(browser);
    zr_mock_table_free(m.pending);
    zr_mock_table_free(m.artifacts);
    free(m.metadata);
    free(m.acs_url);
    free(m.form_action_csp);
    return rc;
}
