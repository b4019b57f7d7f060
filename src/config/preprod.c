/* The pre-production kit's sections (issue 5 §3, §4; docs/preprod.md):
 *   trace:        {enabled: true, lifetime_s: 86400}   per-login SAML/OIDC trace
 *   preprod_test: {listen, public_base_url, client_id, client_secret_file,
 *                  state_file, care_provider, relay_ca}  the guided test run's client
 * Both exist for DICTU's pre-production phase and are refused in production:
 * a trace holds (masked) login details, the test client logs anyone in. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

#define PREPROD_DEFAULT_CLIENT_ID "zorgrelay-preprod-test"
#define TRACE_DEFAULT_LIFETIME_S 86400

/* Copies value into a fixed field; reports a value that does not fit. */
static void copy_field(zr_cfg_map_t *m, const char *key, const char *value, char *out, size_t outlen)
{
    char path[ZR_CFG_PATH_MAX];
    if (!value)
        return;
    if (strlen(value) >= outlen) {
        zr_cfg_path_key(path, m->path, key);
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), path, "longer than %zu characters", outlen - 1);
        return;
    }
    memcpy(out, value, strlen(value) + 1);
}

static void read_str(zr_cfg_map_t *m, const char *key, int required, int is_path, char *out, size_t outlen)
{
    char *v = NULL;
    int rc = is_path ? zr_cfg_get_path(m, key, required, &v) : zr_cfg_get_str(m, key, required, &v);
    if (rc == 1)
        copy_field(m, key, v, out, outlen);
    free(v);
}

void zr_cfg_read_trace(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"enabled", "lifetime_s", NULL};
    zr_trace_config_t *t = &cfg->trace;
    yaml_node_t *v = zr_cfg_map_get(root, "trace");
    zr_cfg_map_t m;
    long n;

    t->lifetime_s = TRACE_DEFAULT_LIFETIME_S;
    if (!v || zr_cfg_map_open(root->ld, v, "trace", keys, &m) != 0)
        return;
    zr_cfg_get_bool(&m, "enabled", &t->enabled);
    if (zr_cfg_get_int(&m, "lifetime_s", 0, 60, 7 * 86400, &n) == 1)
        t->lifetime_s = (int)n;
    /* A trace shows who logged in (masked) and every message: a test tool. */
    if (t->enabled && cfg->environment == ZR_ENV_PRODUCTION)
        zr_cfg_error(root->ld, zr_cfg_map_key(&m, "enabled"), "trace.enabled",
                     "tracing is refused in production (development and preprod only)");
}

/* The test client must be an ordinary client of this relay that the test
 * run can use: secret, its callback registered, patients allowed. */
static void check_test_client(zr_cfg_map_t *m, zr_config_t *cfg)
{
    zr_preprod_test_config_t *p = &cfg->preprod_test;
    const zr_client_t *c = zr_config_find_client(cfg, p->client_id);
    yaml_node_t *at = zr_cfg_map_get(m, "client_id") ? zr_cfg_map_get(m, "client_id") : m->node;
    char redirect[300];
    int found = 0;

    if (!c) {
        zr_cfg_error(m->ld, at, "preprod_test.client_id",
                     "no client '%s' in clients: add the test client's entry (docs/preprod.md)", p->client_id);
        return;
    }
    if (c->auth_method != ZR_CLIENT_AUTH_SECRET_BASIC)
        zr_cfg_error(m->ld, at, "preprod_test.client_id", "client '%s' must use auth_method: client_secret_basic",
                     p->client_id);
    if (!(c->login_methods & ZR_LOGIN_PATIENT))
        zr_cfg_error(m->ld, at, "preprod_test.client_id", "client '%s' must allow patient logins", p->client_id);
    snprintf(redirect, sizeof(redirect), "%s/callback", p->public_base_url);
    for (size_t i = 0; i < c->redirect_uri_count; i++)
        found |= strcmp(c->redirect_uris[i], redirect) == 0;
    if (!found)
        zr_cfg_error(m->ld, at, "preprod_test.client_id", "client '%s' must have redirect_uris: [%s]", p->client_id,
                     redirect);
    if (p->care_provider[0] && !zr_client_allows_tenant(c, p->care_provider))
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "care_provider"), "preprod_test.care_provider",
                     "client '%s' does not log in for care provider '%s'", p->client_id, p->care_provider);
    if (!p->care_provider[0] && !c->care_provider)
        zr_cfg_error(m->ld, m->node, "preprod_test.care_provider",
                     "is required: client '%s' has no default care_provider", p->client_id);
}

void zr_cfg_read_preprod_test(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"listen", "public_base_url", "client_id", "client_secret_file",
                                       "state_file", "care_provider", "relay_ca", NULL};
    zr_preprod_test_config_t *p = &cfg->preprod_test;
    yaml_node_t *v = zr_cfg_map_get(root, "preprod_test");
    size_t errors_before = root->ld->error_count;
    zr_cfg_map_t m;
    char *url = NULL;

    if (!v)
        return;
    if (cfg->environment == ZR_ENV_PRODUCTION) {
        zr_cfg_error(root->ld, zr_cfg_map_key(root, "preprod_test"), "preprod_test",
                     "the pre-production test client is refused in production");
        return;
    }
    if (zr_cfg_map_open(root->ld, v, "preprod_test", keys, &m) != 0)
        return;
    p->enabled = 1;
    read_str(&m, "listen", 1, 0, p->listen, sizeof(p->listen));
    if (p->listen[0] && !zr_cfg_listen_valid(p->listen))
        zr_cfg_error(root->ld, zr_cfg_map_get(&m, "listen"), "preprod_test.listen", "must be HOST:PORT");
    if (zr_cfg_get_str(&m, "public_base_url", 1, &url) == 1 &&
        zr_cfg_check_base_url(root->ld, zr_cfg_map_get(&m, "public_base_url"), "preprod_test.public_base_url", url,
                              NULL) == 0)
        copy_field(&m, "public_base_url", url, p->public_base_url, sizeof(p->public_base_url));
    free(url);
    snprintf(p->client_id, sizeof(p->client_id), "%s", PREPROD_DEFAULT_CLIENT_ID);
    read_str(&m, "client_id", 0, 0, p->client_id, sizeof(p->client_id));
    read_str(&m, "client_secret_file", 1, 1, p->client_secret_file, sizeof(p->client_secret_file));
    if (p->client_secret_file[0]) /* a secret: warned about in preprod when others can read it */
        zr_cfg_check_file_mode(&m, "client_secret_file", p->client_secret_file);
    read_str(&m, "state_file", 1, 1, p->state_file, sizeof(p->state_file));
    read_str(&m, "care_provider", 0, 0, p->care_provider, sizeof(p->care_provider));
    read_str(&m, "relay_ca", 0, 1, p->relay_ca_file, sizeof(p->relay_ca_file));
    if (root->ld->error_count == errors_before && p->public_base_url[0])
        check_test_client(&m, cfg);
}
