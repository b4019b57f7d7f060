/* `zorgrelay mock-dezi`: a stand-in for Dezi (CIBG's OpenID provider for
 * healthcare professionals) for tests and the demo, after the
 * Koppelvlakspecificatie Dezi v0.7. One plain-HTTP listener on loopback
 * serves what Dezi serves on auth.dezi.nl: discovery, keys, authorize,
 * token, userinfo and the revocation services. Never in production. */
#include "zr/mock.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_dezi_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

/* Everything the mock needs from the configuration. */
static int settings_complete(const zr_config_t *cfg, char *err, size_t errlen)
{
    const zr_mock_dezi_config_t *md = &cfg->mock_dezi;
    if (cfg->environment == ZR_ENV_PRODUCTION) {
        snprintf(err, errlen, "refusing to run: `environment` is production; the mock Dezi only runs with "
                              "environment development or preprod");
        return 0;
    }
    if (!cfg->has_mock_dezi) {
        snprintf(err, errlen, "refusing to run: the configuration has no `mock_dezi` section");
        return 0;
    }
    if (!md->listen || !md->public_base_url || !md->signing.key || !md->register_key.key) {
        snprintf(err, errlen, "mock_dezi needs listen, public_base_url, signing and register_key");
        return 0;
    }
    if (!md->expected_client_id && !cfg->dezi.client_id) {
        snprintf(err, errlen, "mock_dezi needs expected_client_id or dezi.client_id");
        return 0;
    }
    if (!cfg->dezi.decryption_key) {
        snprintf(err, errlen, "mock_dezi encrypts userinfo to dezi.decryption_key, which is not set");
        return 0;
    }
    if (!cfg->public_base_url) {
        snprintf(err, errlen, "mock_dezi needs the relay's public_base_url (its redirect_uri)");
        return 0;
    }
    return 1;
}

static json_t *strings(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

#define STRINGS(...) strings((const char *const[]){__VA_ARGS__}, \
                             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* §4.1, with the mock's own URLs. */
static char *discovery(const zr_mock_dezi_t *d)
{
    json_t *o = json_object();
    char *out = NULL;
    zr_buf_t b;
    static const struct {
        const char *name, *path;
    } endpoints[] = {
        {"authorization_endpoint", ZR_MOCK_DEZI_PATH_AUTHORIZE},
        {"token_endpoint", ZR_MOCK_DEZI_PATH_TOKEN},
        {"userinfo_endpoint", ZR_MOCK_DEZI_PATH_USERINFO},
        {"jwks_uri", ZR_MOCK_DEZI_PATH_JWKS},
    };

    zr_buf_init(&b);
    if (!o)
        goto end;
    json_object_set_new(o, "issuer", json_string(d->issuer));
    for (size_t i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
        b.len = 0;
        if (zr_buf_printf(&b, "%s%s", d->issuer, endpoints[i].path) != 0)
            goto end;
        json_object_set_new(o, endpoints[i].name, json_string(b.data));
    }
    json_object_set_new(o, "response_types_supported", STRINGS("code"));
    json_object_set_new(o, "response_modes_supported", STRINGS("query"));
    json_object_set_new(o, "subject_types_supported", STRINGS("pairwise"));
    json_object_set_new(o, "id_token_signing_alg_values_supported", STRINGS("RS256"));
    json_object_set_new(o, "userinfo_signing_alg_values_supported", STRINGS("RS256"));
    json_object_set_new(o, "userinfo_encryption_alg_values_supported", STRINGS("RSA-OAEP"));
    json_object_set_new(o, "userinfo_encryption_enc_values_supported", STRINGS("A256CBC-HS512"));
    json_object_set_new(o, "scopes_supported", STRINGS("openid"));
    json_object_set_new(o, "grant_types_supported", STRINGS("authorization_code"));
    /* v0.7 names "none" only; private_key_jwt is the 2024 way, kept. */
    json_object_set_new(o, "token_endpoint_auth_methods_supported", STRINGS("none", "private_key_jwt"));
    json_object_set_new(o, "token_endpoint_auth_signing_alg_values_supported", STRINGS("RS256", "PS256", "ES256"));
    json_object_set_new(o, "code_challenge_methods_supported", STRINGS("S256"));
    json_object_set_new(o, "request_parameter_supported", json_false());
    json_object_set_new(o, "request_uri_parameter_supported", json_false());
    json_object_set_new(o, "claims_parameter_supported", json_false());
    json_object_set_new(o, "frontchannel_logout_supported", json_false());
    json_object_set_new(o, "backchannel_logout_supported", json_false());
    out = json_dumps(o, JSON_COMPACT);
end:
    zr_buf_free(&b);
    json_decref(o);
    return out;
}

/* The chooser's form posts here; the answer redirects to the relay, and
 * the relay's to a portal: Chromium checks form-action on each redirect. */
static char *page_csp(const zr_config_t *cfg)
{
    size_t n = 1, count = 1;
    const char **targets;
    char *csp;

    for (size_t i = 0; i < cfg->client_count; i++)
        n += cfg->clients[i].redirect_uri_count;
    targets = calloc(n, sizeof(*targets));
    if (!targets)
        return NULL;
    targets[0] = cfg->public_base_url;
    for (size_t i = 0; i < cfg->client_count; i++)
        for (size_t j = 0; j < cfg->clients[i].redirect_uri_count; j++)
            targets[count++] = cfg->clients[i].redirect_uris[j];
    csp = zr_page_form_csp(targets, count);
    free(targets);
    return csp;
}

static void mock_free(zr_mock_dezi_t *d)
{
    zr_mock_table_free(d->pending);
    zr_mock_table_free(d->codes);
    zr_mock_table_free(d->tokens);
    zr_mock_dezi_key_clear(&d->signing);
    zr_mock_dezi_key_clear(&d->reg);
    zr_mock_dezi_key_clear(&d->recipient);
    cjose_jwk_release(d->client_jwk);
    free(d->redirect_uri);
    free(d->token_endpoint);
    free(d->discovery_json);
    free(d->jwks_json);
    free(d->register_jwks_json);
    free(d->page_csp);
    memset(d, 0, sizeof(*d));
}

static int mock_init(zr_mock_dezi_t *d, const zr_config_t *cfg, char *err, size_t errlen)
{
    const zr_mock_dezi_config_t *md = &cfg->mock_dezi;
    const zr_mock_dezi_key_t *signing_set[1], *register_set[1];
    zr_buf_t seed;
    int rc = -1;

    zr_buf_init(&seed);
    memset(d, 0, sizeof(*d));
    d->cfg = cfg;
    d->issuer = md->public_base_url;
    d->client_id = md->expected_client_id ? md->expected_client_id : cfg->dezi.client_id;
    if (zr_mock_dezi_key_load(&d->signing, md->signing.key, 1) != 0 ||
        zr_mock_dezi_key_load(&d->reg, md->register_key.key, 1) != 0) {
        snprintf(err, errlen, "mock_dezi: signing and register_key must be RSA keys of at least 2048 bits");
        goto end;
    }
    if (zr_mock_dezi_key_load(&d->recipient, cfg->dezi.decryption_key, 0) != 0) {
        snprintf(err, errlen, "dezi.decryption_key must be an RSA key of at least 2048 bits (RSA-OAEP)");
        goto end;
    }
    if (cfg->dezi.client_key && !(d->client_jwk = zr_mock_dezi_public_jwk(cfg->dezi.client_key))) {
        snprintf(err, errlen, "dezi.client_key must be RSA or EC P-256");
        goto end;
    }
    signing_set[0] = &d->signing;
    register_set[0] = &d->reg;
    if (zr_buf_printf(&seed, "zorgrelay mock-dezi pairwise|%s|%s", d->issuer, d->signing.kid) != 0 ||
        zr_crypto_sha256((const uint8_t *)seed.data, seed.len, d->pairwise_key) != 0)
        goto oom;
    seed.len = 0;
    if (zr_buf_printf(&seed, "%s/dezi/callback", cfg->public_base_url) != 0 ||
        !(d->redirect_uri = zr_buf_steal(&seed)))
        goto oom;
    if (zr_buf_printf(&seed, "%s%s", d->issuer, ZR_MOCK_DEZI_PATH_TOKEN) != 0 ||
        !(d->token_endpoint = zr_buf_steal(&seed)))
        goto oom;
    d->discovery_json = discovery(d);
    d->jwks_json = zr_mock_dezi_jwks(signing_set, 1);
    d->register_jwks_json = zr_mock_dezi_jwks(register_set, 1);
    d->page_csp = page_csp(cfg);
    d->pending = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_DEZI_PAGE_TTL_S, zr_mock_dezi_grant_free);
    d->codes = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_DEZI_CODE_TTL_S, zr_mock_dezi_grant_free);
    d->tokens = zr_mock_table_new(ZR_MOCK_MAX_ENTRIES, ZR_MOCK_DEZI_TOKEN_TTL_S, zr_mock_dezi_grant_free);
    if (!d->discovery_json || !d->jwks_json || !d->register_jwks_json || !d->page_csp || !d->pending || !d->codes ||
        !d->tokens)
        goto oom;
    rc = 0;
    goto end;
oom:
    snprintf(err, errlen, "out of memory");
end:
    zr_buf_free(&seed);
    return rc;
}

static const zr_http_route_t fixed_routes[] = {
    {"GET", ZR_MOCK_DEZI_PATH_DISCOVERY, zr_mock_dezi_handle_discovery},
    {"GET", ZR_MOCK_DEZI_PATH_JWKS, zr_mock_dezi_handle_jwks},
    {"GET", ZR_MOCK_DEZI_PATH_REGISTER_JWKS, zr_mock_dezi_handle_register_jwks},
    {"GET", ZR_MOCK_DEZI_PATH_AUTHORIZE, zr_mock_dezi_handle_authorize},
    {"POST", ZR_MOCK_DEZI_PATH_CHOOSE, zr_mock_dezi_handle_choose},
    {"POST", ZR_MOCK_DEZI_PATH_TOKEN, zr_mock_dezi_handle_token},
    {"GET", ZR_MOCK_DEZI_PATH_USERINFO, zr_mock_dezi_handle_userinfo},
    {"GET", ZR_MOCK_DEZI_PATH_REVOCATION_LIST, zr_mock_dezi_handle_revocation_list},
};

/* The HTTP server matches paths exactly, so every built-in verklaring gets
 * its status route under both names of the status URI; any other id is a
 * 404. paths[] keeps the strings alive while the server runs. */
static zr_http_route_t *build_routes(char **paths, size_t *count)
{
    size_t nfixed = sizeof(fixed_routes) / sizeof(fixed_routes[0]), n = nfixed;
    zr_http_route_t *r = calloc(nfixed + 2 * zr_mock_dezi_people_count, sizeof(*r));
    if (!r)
        return NULL;
    memcpy(r, fixed_routes, sizeof(fixed_routes));
    for (size_t i = 0; i < zr_mock_dezi_people_count; i++)
        for (int old = 0; old < 2; old++) {
            zr_buf_t b;
            zr_buf_init(&b);
            if (zr_buf_printf(&b, "%s%s", old ? ZR_MOCK_DEZI_PATH_STATUS_OLD : ZR_MOCK_DEZI_PATH_STATUS,
                              zr_mock_dezi_people[i].verklaring_id) != 0) {
                zr_buf_free(&b);
                free(r);
                return NULL;
            }
            paths[2 * i + (size_t)old] = zr_buf_steal(&b);
            r[n++] = (zr_http_route_t){"GET", paths[2 * i + (size_t)old], zr_mock_dezi_handle_status};
        }
    *count = n;
    return r;
}

int zr_mock_dezi_serve(const zr_config_t *cfg)
{
    zr_mock_dezi_t d;
    zr_http_server_t *server = NULL;
    zr_http_route_t *routes = NULL;
    char **paths = NULL;
    char err[512] = "";
    size_t route_count = 0;
    int rc = 1, sig;

    memset(&d, 0, sizeof(d));
    if (!settings_complete(cfg, err, sizeof(err)) || mock_init(&d, cfg, err, sizeof(err)) != 0) {
        zr_log_error("startup", "%s", err);
        goto end;
    }
    paths = calloc(2 * zr_mock_dezi_people_count, sizeof(*paths));
    routes = paths ? build_routes(paths, &route_count) : NULL;
    if (!routes) {
        zr_log_error("startup", "out of memory");
        goto end;
    }
    zr_http_server_config_t sc = {
        .listen = cfg->mock_dezi.listen,
        .max_body_bytes = cfg->max_body_bytes,
        .threads = 2,
        .routes = routes,
        .route_count = route_count,
        .ctx = &d,
        .component = "mock-dezi",
    };
    server = zr_http_server_start(&sc, err, sizeof(err));
    if (!server) {
        zr_log_error("startup", "cannot listen on %s: %s", cfg->mock_dezi.listen, err);
        goto end;
    }
    zr_log_warn("startup", "MOCK DEZI - TESTOMGEVING, geen echte Dezi: issuer %s on %s, client_id %s, "
                           "%zu test professionals, environment %s",
                d.issuer, cfg->mock_dezi.listen, d.client_id, zr_mock_dezi_people_count,
                zr_environment_name(cfg->environment));
    while ((sig = zr_http_wait_for_signal()) == SIGHUP)
        zr_log_info("reload", "SIGHUP ignored: the mock Dezi has no reload; restart it to apply changes");
    zr_log_info("shutdown", "signal %d, stopping", sig);
    rc = 0;
end:
    /* The listener first: no handler runs once it is stopped. */
    zr_http_server_stop(server);
    mock_free(&d);
    free(routes);
    for (size_t i = 0; paths && i < 2 * zr_mock_dezi_people_count; i++)
        free(paths[i]);
    free(paths);
    return rc;
}
