/* The clients section: the portals (OIDC relying parties) and the care
 * provider each belongs to. Read after care_providers and oidc, whose
 * values the checks here refer to. */
#include "config_internal.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

#define ZR_CFG_MAX_JWKS (64 * 1024)

/* Same order as zr_client_auth_t. */
static const char *const auth_names[] = {"client_secret_basic", "private_key_jwt", "none", NULL};

static int client_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

/* The JWKS of a private_key_jwt client: public keys only (RFC 7517 §5). */
static int check_jwks(const char *json, char *why, size_t whylen)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "k", NULL};
    json_error_t jerr;
    json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &jerr), *keys, *k;
    size_t i;
    int rc = -1;
    if (!root) {
        snprintf(why, whylen, "is not valid JSON (line %d: %s)", jerr.line, jerr.text);
        goto end;
    }
    keys = json_object_get(root, "keys");
    if (!json_is_array(keys) || json_array_size(keys) == 0) {
        snprintf(why, whylen, "must be a JWKS: an object with a non-empty \"keys\" array");
        goto end;
    }
    json_array_foreach(keys, i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        if (!kty || (strcmp(kty, "RSA") && strcmp(kty, "EC"))) {
            snprintf(why, whylen, "keys[%zu] must have \"kty\" RSA or EC", i);
            goto end;
        }
        for (size_t p = 0; private_members[p]; p++)
            if (json_object_get(k, private_members[p])) {
                snprintf(why, whylen, "keys[%zu] holds private key material (\"%s\"); publish public keys only",
                         i, private_members[p]);
                goto end;
            }
    }
    rc = 0;
end:
    json_decref(root);
    return rc;
}

static void read_secret(zr_cfg_map_t *m, zr_client_t *c)
{
    zr_cfg_loader_t *ld = m->ld;
    char kpath[ZR_CFG_PATH_MAX];
    yaml_node_t *secret_at = zr_cfg_map_get(m, "client_secret");
    yaml_node_t *hash_at = zr_cfg_map_get(m, "client_secret_sha256");
    yaml_node_t *jwks_at = zr_cfg_map_get(m, "jwks_file");
    char why[256];
    size_t len = 0;

    zr_cfg_get_str(m, "client_secret", 0, &c->client_secret);
    zr_cfg_get_str(m, "client_secret_sha256", 0, &c->client_secret_sha256);
    zr_cfg_get_path(m, "jwks_file", 0, &c->jwks_file);
    if (c->auth_method != ZR_CLIENT_AUTH_SECRET_BASIC && (secret_at || hash_at)) {
        zr_cfg_path_key(kpath, m->path, secret_at ? "client_secret" : "client_secret_sha256");
        zr_cfg_error(ld, secret_at ? secret_at : hash_at, kpath, "is only used with client_secret_basic");
    }
    if (c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT && jwks_at) {
        zr_cfg_path_key(kpath, m->path, "jwks_file");
        zr_cfg_error(ld, jwks_at, kpath, "is only used with private_key_jwt");
    }
    if (c->auth_method == ZR_CLIENT_AUTH_SECRET_BASIC) {
        if (c->client_secret && c->client_secret_sha256) {
            zr_cfg_path_key(kpath, m->path, "client_secret");
            zr_cfg_error(ld, secret_at, kpath, "set client_secret or client_secret_sha256, not both");
        } else if (!c->client_secret && !c->client_secret_sha256) {
            zr_cfg_error(ld, m->node, m->path, "client_secret_basic needs client_secret or client_secret_sha256");
        } else if (c->client_secret_sha256) {
            zr_cfg_path_key(kpath, m->path, "client_secret_sha256");
            if (!zr_cfg_hex_valid(c->client_secret_sha256, 64))
                zr_cfg_error(ld, hash_at, kpath, "must be 64 hex characters (the SHA-256 of the secret)");
            for (char *p = c->client_secret_sha256; *p; p++)
                *p = (char)tolower((unsigned char)*p);
        } else if (ld->env == ZR_ENV_PRODUCTION && strlen(c->client_secret) < 32) {
            zr_cfg_path_key(kpath, m->path, "client_secret");
            zr_cfg_error(ld, secret_at, kpath, "must be at least 32 characters in production");
        }
    }
    if (c->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT) {
        if (!c->jwks_file) {
            zr_cfg_path_key(kpath, m->path, "jwks_file");
            zr_cfg_error(ld, m->node, kpath, "is required for private_key_jwt");
            return;
        }
        zr_cfg_path_key(kpath, m->path, "jwks_file");
        if (zr_file_read(c->jwks_file, ZR_CFG_MAX_JWKS, &c->jwks_json, &len) != 0)
            zr_cfg_error(ld, jwks_at, kpath, "cannot read %s (missing, or larger than 64 KiB)", c->jwks_file);
        else if (strlen(c->jwks_json) != len)
            zr_cfg_error(ld, jwks_at, kpath, "%s holds a NUL byte", c->jwks_file);
        else if (check_jwks(c->jwks_json, why, sizeof(why)) != 0)
            zr_cfg_error(ld, jwks_at, kpath, "%s %s", c->jwks_file, why);
    }
}

static void check_uri_list_unique(zr_cfg_map_t *m, const char *key, char **v, size_t n)
{
    yaml_node_t *seq = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    zr_cfg_path_key(kpath, m->path, key);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (v[i] && v[j] && !strcmp(v[i], v[j])) {
                zr_cfg_path_index(ipath, kpath, i);
                zr_cfg_error(m->ld, seq, ipath, "listed twice");
            }
}

static void read_client(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_config_t *cfg,
                        zr_client_t *c)
{
    static const char *const keys[] = {"client_id", "name", "care_provider", "auth_method", "client_secret",
                                       "client_secret_sha256", "jwks_file", "redirect_uris",
                                       "post_logout_redirect_uris", "allowed_origins", "min_loa",
                                       "bsn_entitled", "id_token_alg", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], *loa = NULL;
    const zr_tenant_t *t = NULL;
    int e;
    c->id_token_alg = ZR_SIGALG_RS256;
    c->auth_method = ZR_CLIENT_AUTH_SECRET_BASIC;
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    if (zr_cfg_get_str(&m, "client_id", 1, &c->client_id) == 1 && !client_id_valid(c->client_id)) {
        zr_cfg_path_key(kpath, path, "client_id");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "client_id"), kpath, "must be 1-128 printable characters without spaces");
    }
    zr_cfg_get_str(&m, "name", 0, &c->name);
    if (!c->name && c->client_id)
        c->name = strdup(c->client_id);
    /* Without the care providers directory (tenants validate) its ids are unknown. */
    if (zr_cfg_get_str(&m, "care_provider", 1, &c->care_provider) == 1 &&
        !(t = zr_config_find_tenant(cfg, c->care_provider)) &&
        !((ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR) && cfg->care_providers_dir)) {
        zr_cfg_path_key(kpath, path, "care_provider");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "care_provider"), kpath,
                     "unknown care provider '%s' (no care_providers entry has this id)", c->care_provider);
    }
    if (zr_cfg_get_enum(&m, "auth_method", 0, auth_names, &e) == 1)
        c->auth_method = (zr_client_auth_t)e;
    read_secret(&m, c);
    if (zr_cfg_get_strv(&m, "redirect_uris", 1, &c->redirect_uris, &c->redirect_uri_count,
                        zr_cfg_check_redirect_uri, NULL) >= 0)
        check_uri_list_unique(&m, "redirect_uris", c->redirect_uris, c->redirect_uri_count);
    zr_cfg_get_strv(&m, "post_logout_redirect_uris", 0, &c->post_logout_redirect_uris,
                    &c->post_logout_redirect_uri_count, zr_cfg_check_redirect_uri, NULL);
    zr_cfg_get_strv(&m, "allowed_origins", 0, &c->allowed_origins, &c->allowed_origin_count,
                    zr_cfg_check_origin, NULL);
    zr_cfg_get_bool(&m, "bsn_entitled", &c->bsn_entitled);
    if (zr_cfg_get_str(&m, "min_loa", 1, &loa) == 1) {
        zr_cfg_path_key(kpath, path, "min_loa");
        if ((c->min_loa = zr_loa_parse(loa)) == ZR_LOA_NONE)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "min_loa"), kpath,
                         "'%s' is not a level of assurance (basic, low, substantial, high, or its URI)", loa);
        else if (t && !zr_tenant_service_for_loa(t, c->min_loa))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "min_loa"), kpath,
                         "care provider '%s' has no service with LoA %s or higher", t->id, zr_loa_name(c->min_loa));
    }
    free(loa);
    if (zr_cfg_get_enum(&m, "id_token_alg", 0, zr_cfg_sigalg_names, &e) == 1) {
        int found = 0;
        c->id_token_alg = (zr_sigalg_t)e;
        for (size_t i = 0; i < cfg->oidc.key_count; i++)
            found |= cfg->oidc.keys[i].key && cfg->oidc.keys[i].alg == c->id_token_alg;
        if (!found && cfg->oidc.key_count) {
            zr_cfg_path_key(kpath, path, "id_token_alg");
            zr_cfg_error(ld, zr_cfg_map_get(&m, "id_token_alg"), kpath, "no oidc.signing_keys entry has alg %s",
                         zr_cfg_sigalg_names[e]);
        }
    }
}

void zr_cfg_read_clients(zr_cfg_map_t *root, zr_config_t *cfg)
{
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *seq = NULL;
    char ipath[ZR_CFG_PATH_MAX], kpath[ZR_CFG_PATH_MAX];
    size_t count;
    if (zr_cfg_get_seq(root, "clients", 1, &seq) != 1)
        return;
    count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count == 0) {
        zr_cfg_error(ld, seq, "clients", "must list at least one client");
        return;
    }
    if (!(cfg->clients = calloc(count, sizeof(*cfg->clients))))
        return;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
        zr_client_t *c = &cfg->clients[i];
        zr_cfg_path_index(ipath, "clients", i);
        cfg->client_count = i + 1;
        read_client(ld, item, ipath, cfg, c);
        for (size_t j = 0; j < i && c->client_id; j++)
            if (cfg->clients[j].client_id && !strcmp(c->client_id, cfg->clients[j].client_id)) {
                zr_cfg_map_t m = {.ld = ld, .node = item->type == YAML_MAPPING_NODE ? item : NULL};
                zr_cfg_path_key(kpath, ipath, "client_id");
                zr_cfg_error(ld, zr_cfg_map_get(&m, "client_id"), kpath, "duplicate client_id '%s' (also clients[%zu])",
                             c->client_id, j);
            }
    }
}

void zr_cfg_free_clients(zr_config_t *cfg)
{
    for (size_t i = 0; cfg->clients && i < cfg->client_count; i++) {
        zr_client_t *c = &cfg->clients[i];
        free(c->client_id);
        free(c->name);
        if (c->client_secret)
            OPENSSL_cleanse(c->client_secret, strlen(c->client_secret));
        free(c->client_secret);
        free(c->client_secret_sha256);
        free(c->jwks_file);
        free(c->jwks_json);
        zr_cfg_free_strv(c->redirect_uris, c->redirect_uri_count);
        zr_cfg_free_strv(c->post_logout_redirect_uris, c->post_logout_redirect_uri_count);
        zr_cfg_free_strv(c->allowed_origins, c->allowed_origin_count);
        free(c->care_provider);
        OPENSSL_cleanse(c, sizeof(*c));
    }
    zr_release(cfg->clients);
    cfg->client_count = 0;
}
