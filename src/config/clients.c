/* The clients section: the portals (OIDC relying parties) and the care
 * provider each belongs to. Read after care_providers and oidc, whose
 * values the checks here refer to. */
#include "config_internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "zr/json.h"
#include "zr/util.h"

#define ZR_CFG_MAX_JWKS (64 * 1024)

/* Same order as zr_client_auth_t. */
static const char *const auth_names[] = {"client_secret_basic", "private_key_jwt", "none", "tls_client_auth", NULL};
/* Who tells the person that a login was refused (issue 18 §2, zr_client_error_pages_t). */
static const char *const error_pages_names[] = {"relay", "portal", NULL};

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

/* A pairwise sector is a name the operator gives, not a URL the relay
 * fetches: OIDC Core §8.1's sector_identifier_uri lets an OP with dynamic
 * registration check a client's claim to a sector; here the configuration
 * itself is that check. 1-255 printable ASCII characters without spaces, so
 * that a URL (the care provider's own address) fits too. */
#define ZR_CFG_SECTOR_MAX 255

static int sector_identifier_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > ZR_CFG_SECTOR_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* The host as the relay took it from redirect_uris[0] before issue 12:
 * lower case, no port. No '|': the old `sub` input joined host, id type and
 * value with '|', and stays unambiguous only while the host has none. */
static int legacy_host_valid(const char *s)
{
    if (!sector_identifier_valid(s))
        return 0;
    for (; *s; s++)
        if (*s == '|' || (*s >= 'A' && *s <= 'Z') || *s == '/' || *s == '@')
            return 0;
    return 1;
}

/* The JWKS of a private_key_jwt client: public keys only (RFC 7517 §5). */
static int check_jwks(const char *json, char *why, size_t whylen)
{
    static const char *const private_members[] = {"d", "p", "q", "dp", "dq", "qi", "k", NULL};
    zr_json_status_t st;
    json_t *root = zr_json_parse_object(json, strlen(json), 0, &st), *keys, *k;
    size_t i;
    int rc = -1;
    if (!root) {
        snprintf(why, whylen, "is not a JWK Set: %s", zr_json_status_text(st));
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
    yaml_node_t *value_at = zr_cfg_map_get(m, "jwks");
    char why[256], *jwks_value = NULL;
    size_t len = 0;

    zr_cfg_get_str(m, "client_secret", 0, &c->client_secret);
    zr_cfg_get_str(m, "client_secret_sha256", 0, &c->client_secret_sha256);
    zr_cfg_get_path(m, "jwks_file", 0, &c->jwks_file);
    zr_cfg_get_str(m, "jwks", 0, &jwks_value);
    if (c->auth_method != ZR_CLIENT_AUTH_SECRET_BASIC && (secret_at || hash_at)) {
        zr_cfg_path_key(kpath, m->path, secret_at ? "client_secret" : "client_secret_sha256");
        zr_cfg_error(ld, secret_at ? secret_at : hash_at, kpath, "is only used with client_secret_basic");
    }
    if (c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT && (jwks_at || value_at)) {
        zr_cfg_path_key(kpath, m->path, jwks_at ? "jwks_file" : "jwks");
        zr_cfg_error(ld, jwks_at ? jwks_at : value_at, kpath, "is only used with private_key_jwt");
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
    if (c->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT && jwks_value) {
        /* The JWKS by value (RFC 7591 §2 jwks; a registered client's file
         * holds it so that one rename writes the whole client). */
        zr_cfg_path_key(kpath, m->path, "jwks");
        if (c->jwks_file)
            zr_cfg_error(ld, value_at, kpath, "set jwks or jwks_file, not both");
        else if (strlen(jwks_value) > ZR_CFG_MAX_JWKS)
            zr_cfg_error(ld, value_at, kpath, "is larger than 64 KiB");
        else if (check_jwks(jwks_value, why, sizeof(why)) != 0)
            zr_cfg_error(ld, value_at, kpath, "%s", why);
        else {
            c->jwks_json = jwks_value;
            jwks_value = NULL;
        }
        free(jwks_value);
        return;
    }
    free(jwks_value);
    if (c->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT) {
        if (!c->jwks_file) {
            zr_cfg_path_key(kpath, m->path, "jwks_file");
            zr_cfg_error(ld, m->node, kpath, "is required for private_key_jwt (or jwks, the JWK Set itself)");
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

/* 1 when the client's JWKS has a key we can encrypt to with alg: RSA,
 * `use` enc or none, `alg` that one or none (OIDC Core §10.2). */
static int jwks_has_enc_key(const char *json, const char *alg)
{
    json_t *root = json ? zr_json_parse_object(json, strlen(json), 0, NULL) : NULL, *k;
    size_t i;
    int found = 0;
    json_array_foreach(json_object_get(root, "keys"), i, k) {
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *kalg = json_string_value(json_object_get(k, "alg"));
        found |= kty && !strcmp(kty, "RSA") && (!use || !strcmp(use, "enc")) && (!kalg || !strcmp(kalg, alg));
    }
    json_decref(root);
    return found;
}

/* userinfo_/id_token_encrypted_response_alg and _enc (OIDC Registration
 * §2): enc defaults to A256GCM, enc without alg is an error, and the
 * client's jwks_file must hold a key to encrypt to. */
static void read_encryption(zr_cfg_map_t *m, zr_client_t *c, const char *what, int *on, int *alg)
{
    char key_alg[64], key_enc[64], kpath[ZR_CFG_PATH_MAX];
    int e = 0, enc = 0;
    snprintf(key_alg, sizeof(key_alg), "%s_encrypted_response_alg", what);
    snprintf(key_enc, sizeof(key_enc), "%s_encrypted_response_enc", what);
    if (zr_cfg_get_enum(m, key_enc, 0, zr_cfg_jwe_enc_names, &enc) == 1 && !zr_cfg_map_get(m, key_alg)) {
        zr_cfg_path_key(kpath, m->path, key_enc);
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key_enc), kpath, "needs %s (OIDC Registration §2)", key_alg);
    }
    if (zr_cfg_get_enum(m, key_alg, 0, zr_cfg_jwe_alg_names, &e) != 1)
        return;
    *on = 1;
    *alg = e;
    zr_cfg_path_key(kpath, m->path, key_alg);
    if (c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT)
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key_alg), kpath,
                     "needs auth_method private_key_jwt (the client's encryption key comes from its jwks_file)");
    else if (c->jwks_json && !jwks_has_enc_key(c->jwks_json, zr_cfg_jwe_alg_names[e]))
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key_alg), kpath,
                     "%s has no RSA key to encrypt to with %s (use enc or no use; alg %s or none)", c->jwks_file,
                     zr_cfg_jwe_alg_names[e], zr_cfg_jwe_alg_names[e]);
}

/* The certificate's DN is printed in RFC 4514 form (no space after a
 * separating comma); one written otherwise would never match. */
static int subject_dn_form_ok(const char *dn)
{
    if (!strchr(dn, '='))
        return 0;
    for (size_t i = 0; dn[i]; i++) {
        if (dn[i] == '\\' && dn[i + 1]) {
            i++; /* an escaped character, e.g. "\," inside a value */
            continue;
        }
        if (dn[i] == ',' && (dn[i + 1] == ' ' || dn[i + 1] == '\0'))
            return 0;
    }
    return 1;
}

/* tls_client_auth (RFC 8705 §2.1.2): exactly one subject key, and the
 * CAs of oidc.mtls to chain to. */
static void read_tls_client_auth(zr_cfg_map_t *m, zr_client_t *c, const zr_config_t *cfg)
{
    static const char *const subject_keys[] = {"tls_client_auth_subject_dn", "tls_client_auth_san_dns",
                                               "tls_client_auth_san_uri", "tls_client_auth_san_email"};
    char **values[] = {&c->tls_client_auth_subject_dn, &c->tls_client_auth_san_dns, &c->tls_client_auth_san_uri,
                       &c->tls_client_auth_san_email};
    zr_cfg_loader_t *ld = m->ld;
    char kpath[ZR_CFG_PATH_MAX];
    const char *first = NULL;

    for (size_t i = 0; i < sizeof(subject_keys) / sizeof(subject_keys[0]); i++) {
        yaml_node_t *at = zr_cfg_map_get(m, subject_keys[i]);
        if (!at)
            continue;
        zr_cfg_path_key(kpath, m->path, subject_keys[i]);
        if (c->auth_method != ZR_CLIENT_AUTH_TLS_CLIENT_AUTH) {
            zr_cfg_error(ld, at, kpath, "is only used with tls_client_auth");
            continue;
        }
        if (first) {
            zr_cfg_error(ld, at, kpath, "set one of the tls_client_auth_* keys, not %s and %s too (RFC 8705 §2.1.2)",
                         first, subject_keys[i]);
            continue;
        }
        if (zr_cfg_get_str(m, subject_keys[i], 0, values[i]) == 1 && !**values[i])
            zr_cfg_error(ld, at, kpath, "must not be empty");
        else if (*values[i] && i == 0 && !subject_dn_form_ok(*values[i]))
            zr_cfg_error(ld, at, kpath,
                         "write the DN as `openssl x509 -noout -subject -nameopt RFC2253` prints it, without a "
                         "space after a separating comma (it is compared exactly)");
        first = subject_keys[i];
    }
    if (c->auth_method != ZR_CLIENT_AUTH_TLS_CLIENT_AUTH)
        return;
    zr_cfg_path_key(kpath, m->path, "auth_method");
    if (!first)
        zr_cfg_error(ld, zr_cfg_map_get(m, "auth_method"), kpath,
                     "tls_client_auth needs one of tls_client_auth_subject_dn, tls_client_auth_san_dns, "
                     "tls_client_auth_san_uri, tls_client_auth_san_email");
    if (!cfg->oidc.mtls_ca_file)
        zr_cfg_error(ld, zr_cfg_map_get(m, "auth_method"), kpath,
                     "tls_client_auth needs oidc.mtls.ca_file (the CAs its certificate must chain to)");
}

/* NL GOV §Discovery: token_endpoint_auth_methods_supported is
 * private_key_jwt and/or tls_client_auth. In production another method
 * is a documented deviation or nothing. */
static void check_production_auth_method(zr_cfg_map_t *m, zr_client_t *c)
{
    zr_cfg_loader_t *ld = m->ld;
    yaml_node_t *dev_at = zr_cfg_map_get(m, "auth_method_deviation");
    char kpath[ZR_CFG_PATH_MAX];
    int strong = c->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT || c->auth_method == ZR_CLIENT_AUTH_TLS_CLIENT_AUTH;

    if (zr_cfg_get_str(m, "auth_method_deviation", 0, &c->auth_method_deviation) == 1) {
        zr_cfg_path_key(kpath, m->path, "auth_method_deviation");
        if (strong)
            zr_cfg_error(ld, dev_at, kpath, "is only used with client_secret_basic or none (%s is no deviation)",
                         auth_names[c->auth_method]);
        else if (!*c->auth_method_deviation)
            zr_cfg_error(ld, dev_at, kpath, "must give the reason of the deviation");
    }
    /* an empty reason has its own error above */
    if (ld->env != ZR_ENV_PRODUCTION || strong || dev_at)
        return;
    zr_cfg_path_key(kpath, m->path, "auth_method");
    zr_cfg_error(ld, zr_cfg_map_get(m, "auth_method") ? zr_cfg_map_get(m, "auth_method") : m->node, kpath,
                 "%s is refused in production (NL GOV profile: private_key_jwt or tls_client_auth); to run it as a "
                 "documented deviation set auth_method_deviation: \"<reason>\"", auth_names[c->auth_method]);
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

static int line_of(const zr_cfg_map_t *m, const char *key)
{
    yaml_node_t *v = zr_cfg_map_get(m, key);
    return zr_cfg_line(v ? v : m->node);
}

/* sector_identifier or legacy_sector_host: NULL when absent, reported when
 * present and empty (`key:` would otherwise quietly mean "own sector"). */
static char *read_sector_key(zr_cfg_map_t *m, const char *key, int (*valid)(const char *), const char *rule)
{
    char kpath[ZR_CFG_PATH_MAX], *v = NULL;
    yaml_node_t *at = zr_cfg_map_get(m, key);
    zr_cfg_path_key(kpath, m->path, key);
    if (!at) {
        if (zr_cfg_map_key(m, key))
            zr_cfg_error(m->ld, zr_cfg_map_key(m, key), kpath, "must not be empty (leave the key out instead)");
        return NULL;
    }
    if (zr_cfg_get_str(m, key, 0, &v) == 1 && !valid(v)) {
        zr_cfg_error(m->ld, at, kpath, "must be %s", rule);
        zr_release(v);
    }
    return v;
}

/* Which sector the client has, and where the file says so. */
static void read_sector(zr_cfg_map_t *m, zr_client_t *c)
{
    const char *key = "client_id";
    char kpath[ZR_CFG_PATH_MAX];
    c->sector_identifier = read_sector_key(m, "sector_identifier", sector_identifier_valid,
                                           "1-255 printable ASCII characters without spaces");
    c->legacy_sector_host = read_sector_key(m, "legacy_sector_host", legacy_host_valid,
                                            "the host of the former redirect_uris[0] as the relay used it: lower "
                                            "case, no scheme, port, path or '|' (1-255 characters)");
    if (zr_cfg_map_get(m, "sector_identifier") && zr_cfg_map_get(m, "legacy_sector_host")) {
        zr_cfg_path_key(kpath, m->path, "legacy_sector_host");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "legacy_sector_host"), kpath,
                     "set sector_identifier or legacy_sector_host, not both");
    }
    if (zr_cfg_map_get(m, "legacy_sector_host"))
        key = "legacy_sector_host";
    else if (zr_cfg_map_get(m, "sector_identifier"))
        key = "sector_identifier";
    if (asprintf(&c->sector_origin, "%s:%d", m->ld->file, line_of(m, key)) < 0)
        c->sector_origin = NULL;
}

/* A new zeroed client at the end of cfg->clients, with its origin record;
 * both arrays grow together (the capacity lives in the index). */
static zr_client_t *client_append(zr_config_t *cfg, zr_cfg_client_origin_t **origin)
{
    struct zr_config_index *ix = cfg->index;
    if (!ix && !(ix = cfg->index = calloc(1, sizeof(*ix))))
        return NULL;
    if (cfg->client_count == ix->client_origin_cap) {
        size_t cap = ix->client_origin_cap ? ix->client_origin_cap * 2 : 8;
        zr_client_t *clients = realloc(cfg->clients, cap * sizeof(*clients));
        zr_cfg_client_origin_t *origins;
        if (!clients)
            return NULL;
        cfg->clients = clients;
        if (!(origins = realloc(ix->client_origins, cap * sizeof(*origins))))
            return NULL;
        memset(origins + ix->client_origin_cap, 0, (cap - ix->client_origin_cap) * sizeof(*origins));
        ix->client_origins = origins;
        ix->client_origin_cap = cap;
    }
    memset(&cfg->clients[cfg->client_count], 0, sizeof(zr_client_t));
    *origin = &ix->client_origins[cfg->client_count];
    return &cfg->clients[cfg->client_count++];
}

int zr_cfg_clients_move(zr_config_t *dst, zr_config_t *src)
{
    int rc = 0;
    for (size_t i = 0; src->index && i < src->client_count; i++) {
        zr_cfg_client_origin_t *o = NULL;
        zr_client_t *c = client_append(dst, &o);
        if (!c) {
            rc = -1; /* what is left stays in src and is freed with it */
            memmove(src->clients, src->clients + i, (src->client_count - i) * sizeof(*c));
            memmove(src->index->client_origins, src->index->client_origins + i,
                    (src->client_count - i) * sizeof(*o));
            src->client_count -= i;
            return rc;
        }
        *c = src->clients[i];
        *o = src->index->client_origins[i];
        memset(&src->index->client_origins[i], 0, sizeof(*o));
    }
    free(src->clients);
    src->clients = NULL;
    src->client_count = 0;
    return rc;
}

/* Reads the values of one client. References to care providers are only
 * recorded here (with their lines): a client in one provider's file may
 * name a provider whose file comes later. zr_cfg_resolve_clients judges them. */
static void read_client(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_config_t *cfg,
                        zr_client_t *c, zr_cfg_client_origin_t *o, const char *owner_id)
{
    static const char *const keys[] = {"client_id", "name", "care_provider", "care_providers", "auth_method",
                                       "client_secret", "client_secret_sha256", "jwks_file", "jwks", "redirect_uris",
                                       "post_logout_redirect_uris", "allowed_origins", "min_loa",
                                       "bsn_entitled", "id_token_alg", "userinfo_signed_response_alg",
                                       "userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc",
                                       "id_token_encrypted_response_alg", "id_token_encrypted_response_enc",
                                       "login_methods", "role_rules",
                                       "allow_unmapped_roles", "authzen", "introspection",
                                       "backchannel_logout_uri", "backchannel_logout_session_required",
                                       "sector_identifier", "legacy_sector_host",
                                       "home_page", "initiate_login_uri", "helpdesk", "error_pages",
                                       "require_pushed_authorization_requests", "require_signed_request_object",
                                       "tls_client_auth_subject_dn", "tls_client_auth_san_dns",
                                       "tls_client_auth_san_uri", "tls_client_auth_san_email",
                                       "auth_method_deviation", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX], *loa = NULL;
    yaml_node_t *seq = NULL;
    int e, patient;
    c->id_token_alg = ZR_SIGALG_RS256;
    c->auth_method = ZR_CLIENT_AUTH_SECRET_BASIC;
    o->file = strdup(ld->file);
    snprintf(o->path, sizeof(o->path), "%s", path);
    o->line = zr_cfg_line(node);
    o->owner_id = owner_id ? strdup(owner_id) : NULL;
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    o->client_id_line = line_of(&m, "client_id");
    o->care_provider_line = line_of(&m, "care_provider");
    o->min_loa_line = line_of(&m, "min_loa");
    /* Who logs in decides what else is needed: care providers and a LoA
     * serve patients (TVS); professionals need Dezi and role rules. */
    if (zr_cfg_get_enum(&m, "auth_method", 0, auth_names, &e) == 1)
        c->auth_method = (zr_client_auth_t)e;
    if (zr_cfg_get_enum(&m, "error_pages", 0, error_pages_names, &e) == 1)
        c->error_pages = (zr_client_error_pages_t)e;
    zr_cfg_read_client_professional(&m, c, o);
    patient = (c->login_methods & ZR_LOGIN_PATIENT) != 0;
    if (zr_cfg_get_str(&m, "client_id", 1, &c->client_id) == 1 && !client_id_valid(c->client_id)) {
        zr_cfg_path_key(kpath, path, "client_id");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "client_id"), kpath, "must be 1-128 printable characters without spaces");
    }
    read_sector(&m, c);
    zr_cfg_get_str(&m, "name", 0, &c->name);
    if (!c->name && c->client_id)
        c->name = strdup(c->client_id);
    zr_cfg_get_str(&m, "care_provider", 0, &c->care_provider);
    if (owner_id && c->care_provider && strcmp(c->care_provider, owner_id) != 0) {
        zr_cfg_path_key(kpath, path, "care_provider");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "care_provider"), kpath,
                     "'%s' is another care provider; a client in this file belongs to '%s' (list others under "
                     "care_providers)", c->care_provider, owner_id);
        zr_release(c->care_provider);
    }
    if (owner_id && !c->care_provider)
        c->care_provider = strdup(owner_id);
    if (zr_cfg_get_strv(&m, "care_providers", 0, &o->listed, &o->listed_count, NULL, NULL) >= 0 && o->listed_count &&
        zr_cfg_get_seq(&m, "care_providers", 0, &seq) == 1 &&
        (o->care_provider_lines = calloc(o->listed_count, sizeof(int))) != NULL) {
        /* Items that were refused are not in `listed`: match them by value. */
        size_t k = 0;
        for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top && k < o->listed_count; it++) {
            yaml_node_t *item = zr_cfg_node(ld, *it);
            if (item && item->type == YAML_SCALAR_NODE && !strcmp((const char *)item->data.scalar.value, o->listed[k]))
                o->care_provider_lines[k++] = zr_cfg_line(item);
        }
    }
    if (!c->care_provider && !zr_cfg_map_get(&m, "care_providers")) {
        if (patient)
            zr_cfg_error(ld, m.node, path, "care_provider or care_providers is required");
    } else if (zr_cfg_map_get(&m, "care_providers") && !o->listed_count) {
        zr_cfg_path_key(kpath, path, "care_providers");
        if (!seq || seq->data.sequence.items.top == seq->data.sequence.items.start)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "care_providers"), kpath, "must list at least one care provider id");
    }
    for (size_t i = 0; i < o->listed_count; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(o->listed[i], o->listed[j])) {
                zr_cfg_path_key(kpath, path, "care_providers");
                zr_cfg_path_index(ipath, kpath, i);
                zr_cfg_error(ld, seq, ipath, "'%s' is listed twice", o->listed[i]);
                break;
            }
    read_secret(&m, c);
    read_tls_client_auth(&m, c, cfg);
    check_production_auth_method(&m, c);
    if (zr_cfg_get_strv(&m, "redirect_uris", 1, &c->redirect_uris, &c->redirect_uri_count,
                        zr_cfg_check_redirect_uri, NULL) >= 0)
        check_uri_list_unique(&m, "redirect_uris", c->redirect_uris, c->redirect_uri_count);
    zr_cfg_get_strv(&m, "post_logout_redirect_uris", 0, &c->post_logout_redirect_uris,
                    &c->post_logout_redirect_uri_count, zr_cfg_check_redirect_uri, NULL);
    zr_cfg_get_strv(&m, "allowed_origins", 0, &c->allowed_origins, &c->allowed_origin_count,
                    zr_cfg_check_origin, NULL);
    /* OIDC Back-Channel Logout 1.0 §2.2: where the relay POSTs Logout
     * Tokens; the same URL rules as a redirect URI (https, no fragment). */
    if (zr_cfg_get_str(&m, "backchannel_logout_uri", 0, &c->backchannel_logout_uri) == 1) {
        zr_cfg_path_key(kpath, path, "backchannel_logout_uri");
        if (zr_cfg_check_redirect_uri(ld, zr_cfg_map_get(&m, "backchannel_logout_uri"), kpath,
                                      c->backchannel_logout_uri, NULL) != 0)
            zr_release(c->backchannel_logout_uri);
    }
    zr_cfg_get_bool(&m, "backchannel_logout_session_required", &c->backchannel_logout_session_required);
    /* Issue 18 §1: every page of the relay leads back to the portal. */
    zr_cfg_path_key(kpath, path, "home_page");
    if (zr_cfg_get_str(&m, "home_page", 0, &c->home_page) == 1) {
        if (zr_cfg_check_page_url(ld, zr_cfg_map_get(&m, "home_page"), kpath, c->home_page, NULL) != 0)
            zr_release(c->home_page);
    } else if (ld->env != ZR_ENV_DEVELOPMENT && !zr_cfg_map_key(&m, "home_page")) {
        zr_cfg_error(ld, m.node, kpath, "is required outside development: the portal's public home page, "
                                        "where the relay's pages send a person back to");
    } else if (zr_cfg_map_key(&m, "home_page")) {
        zr_cfg_error(ld, zr_cfg_map_key(&m, "home_page"), kpath, "must not be empty");
    }
    if (zr_cfg_get_str(&m, "initiate_login_uri", 0, &c->initiate_login_uri) == 1) {
        zr_cfg_path_key(kpath, path, "initiate_login_uri");
        if (zr_cfg_check_page_url(ld, zr_cfg_map_get(&m, "initiate_login_uri"), kpath, c->initiate_login_uri,
                                  NULL) != 0)
            zr_release(c->initiate_login_uri);
    }
    zr_cfg_read_helpdesk(&m, &c->helpdesk);
    zr_cfg_get_bool(&m, "bsn_entitled", &c->bsn_entitled);
    zr_cfg_get_bool(&m, "require_pushed_authorization_requests", &c->require_pushed_authorization_requests);
    zr_cfg_get_bool(&m, "require_signed_request_object", &c->require_signed_request_object);
    if (c->require_signed_request_object && c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT) {
        /* A request object is verified with the client's jwks_file. */
        zr_cfg_path_key(kpath, path, "require_signed_request_object");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "require_signed_request_object"), kpath,
                     "needs auth_method private_key_jwt (request objects are verified with its jwks_file)");
    }
    if (!patient && c->bsn_entitled) {
        zr_cfg_path_key(kpath, path, "bsn_entitled");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "bsn_entitled"), kpath,
                     "is only used when login_methods lists patient (professionals have no BSN here)");
    }
    if (!patient && zr_cfg_map_get(&m, "min_loa")) {
        zr_cfg_path_key(kpath, path, "min_loa");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "min_loa"), kpath,
                     "is only used when login_methods lists patient (professionals are held to dezi.min_loa)");
    } else if (zr_cfg_get_str(&m, "min_loa", patient, &loa) == 1) {
        zr_cfg_path_key(kpath, path, "min_loa");
        if ((c->min_loa = zr_loa_parse(loa)) == ZR_LOA_NONE)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "min_loa"), kpath,
                         "'%s' is not a level of assurance (basic, low, substantial, high, or its URI)", loa);
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
    if (zr_cfg_get_enum(&m, "userinfo_signed_response_alg", 0, zr_cfg_sigalg_names, &e) == 1) {
        int found = 0;
        c->userinfo_signed = 1;
        c->userinfo_alg = (zr_sigalg_t)e;
        for (size_t i = 0; i < cfg->oidc.key_count; i++)
            found |= cfg->oidc.keys[i].key && cfg->oidc.keys[i].alg == c->userinfo_alg;
        if (!found && cfg->oidc.key_count) {
            zr_cfg_path_key(kpath, path, "userinfo_signed_response_alg");
            zr_cfg_error(ld, zr_cfg_map_get(&m, "userinfo_signed_response_alg"), kpath,
                         "no oidc.signing_keys entry has alg %s", zr_cfg_sigalg_names[e]);
        }
    }
    read_encryption(&m, c, "userinfo", &c->userinfo_encrypted, &c->userinfo_enc_alg);
    read_encryption(&m, c, "id_token", &c->id_token_encrypted, &c->id_token_enc_alg);
}

zr_client_t *zr_cfg_read_registered_client(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path,
                                           zr_config_t *cfg, const char *owner_id)
{
    zr_cfg_client_origin_t *o = NULL;
    zr_client_t *c = client_append(cfg, &o);
    if (!c) {
        zr_cfg_error(ld, node, path, "out of memory");
        return NULL;
    }
    read_client(ld, node, path, cfg, c, o, owner_id);
    return c;
}

static void read_client_list(zr_cfg_loader_t *ld, yaml_node_t *seq, zr_config_t *cfg, const char *owner_id)
{
    char ipath[ZR_CFG_PATH_MAX];
    size_t i = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
        zr_cfg_client_origin_t *o = NULL;
        zr_client_t *c = client_append(cfg, &o);
        zr_cfg_path_index(ipath, "clients", i);
        if (!c) {
            zr_cfg_error(ld, seq, "clients", "out of memory");
            return;
        }
        read_client(ld, zr_cfg_node(ld, *it), ipath, cfg, c, o, owner_id);
    }
}

void zr_cfg_read_owned_clients(zr_cfg_loader_t *ld, yaml_node_t *seq, const char *owner_id)
{
    zr_config_t scratch;
    if (seq->data.sequence.items.top == seq->data.sequence.items.start) {
        zr_cfg_error(ld, seq, "clients", "must list at least one client (or be left out)");
        return;
    }
    if (ld->cfg) {
        read_client_list(ld, seq, ld->cfg, owner_id);
        return;
    }
    /* `tenants validate` and former providers: judged, then dropped. */
    memset(&scratch, 0, sizeof(scratch));
    read_client_list(ld, seq, &scratch, owner_id);
    zr_cfg_index_free(scratch.index);
    zr_cfg_free_clients(&scratch);
}

void zr_cfg_read_clients(zr_cfg_map_t *root, zr_config_t *cfg)
{
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *seq = NULL;
    /* With care_providers_dir the portals may all live in the providers' files. */
    int has_dir = zr_cfg_map_get(root, "care_providers_dir") != NULL;
    if (zr_cfg_get_seq(root, "clients", !has_dir, &seq) != 1)
        return;
    if (seq->data.sequence.items.top == seq->data.sequence.items.start) {
        if (!has_dir)
            zr_cfg_error(ld, seq, "clients", "must list at least one client");
        return;
    }
    read_client_list(ld, seq, cfg, NULL);
}

/* "FILE:LINE: clients[i].KEY: message" for a client judged after loading. */
static void client_error(zr_cfg_loader_t *ld, const zr_cfg_client_origin_t *o, int line, const char *key,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void client_error(zr_cfg_loader_t *ld, const zr_cfg_client_origin_t *o, int line, const char *key,
                         const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    ld->error_count++;
    zr_cfg_error_line(ld->errs, "%s:%d: %s%s%s: %s", o->file ? o->file : ld->file, line, o->path, *key ? "." : "",
                      key, msg ? msg : "out of memory");
    free(msg);
}

/* Every care provider the client may log in for: the default first, then
 * the list; each one known and offering min_loa. */
static void resolve_care_providers(zr_cfg_loader_t *ld, zr_config_t *cfg, zr_client_t *c,
                                   const zr_cfg_client_origin_t *o)
{
    /* tenants validate --config does not read care_providers_dir: its ids are unknown. */
    int unknown_ok = (ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR) && cfg->care_providers_dir;
    size_t total = (c->care_provider ? 1 : 0) + o->listed_count;
    char key[64];
    if (!total || !(c->care_providers = calloc(total, sizeof(char *))))
        return;
    for (size_t k = 0; k < total; k++) {
        const char *id = c->care_provider && k == 0 ? c->care_provider : o->listed[k - (c->care_provider ? 1 : 0)];
        int line = c->care_provider && k == 0 ? o->care_provider_line
                                              : o->care_provider_lines ? o->care_provider_lines[k - (c->care_provider ? 1 : 0)] : o->line;
        const zr_tenant_t *t;
        int seen = 0;
        if (c->care_provider && k == 0)
            snprintf(key, sizeof(key), "care_provider");
        else
            snprintf(key, sizeof(key), "care_providers[%zu]", k - (c->care_provider ? 1 : 0));
        for (size_t j = 0; j < c->care_provider_count && !seen; j++)
            seen = !strcmp(c->care_providers[j], id);
        if (seen)
            continue; /* the default listed again, or a repeat (reported) */
        if (!(c->care_providers[c->care_provider_count] = strdup(id)))
            return;
        c->care_provider_count++;
        if (!(t = zr_config_find_tenant(cfg, id))) {
            if (!unknown_ok && !(o->owner_id && !strcmp(id, o->owner_id)))
                client_error(ld, o, line, key, "unknown care provider '%s' (no care_providers entry has this id)", id);
            continue;
        }
        /* A quarantined provider's services may be half read: its logins are refused anyway. */
        if (c->min_loa != ZR_LOA_NONE && !t->quarantined && !zr_tenant_service_for_loa(t, c->min_loa))
            client_error(ld, o, o->min_loa_line, "min_loa", "care provider '%s' has no service with LoA %s or higher",
                         t->id, zr_loa_name(c->min_loa));
        /* The care provider's entitlement, not the portal's (bsn_entitled
         * is about what the portal may see). */
        if (c->authzen.enabled && c->authzen.patient_id == ZR_AUTHZ_PATIENT_ID_BSN && !t->bsn_for_authorization)
            client_error(ld, o, o->patient_id_line, "authzen.patient_id",
                         "bsn needs care provider '%s' to be entitled: set bsn_for_authorization: true in its entry "
                         "(the portal's bsn_entitled does not count)", t->id);
    }
}

void zr_cfg_resolve_clients(zr_cfg_loader_t *ld, zr_config_t *cfg)
{
    struct zr_config_index *ix = cfg->index;
    if (!cfg->client_count) {
        /* Only possible with care_providers_dir (the list is required otherwise). */
        if (cfg->care_providers_dir && !(ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR))
            zr_cfg_error(ld, NULL, "clients", "no client: list them under clients or in the care provider files");
        return;
    }
    if (!ix || !ix->client_by_id.cap) {
        zr_cfg_error(ld, NULL, "clients", "out of memory");
        return;
    }
    for (size_t i = 0; i < cfg->client_count; i++) {
        zr_client_t *c = &cfg->clients[i];
        const zr_cfg_client_origin_t *o = &ix->client_origins[i];
        size_t *slot;
        int found;
        resolve_care_providers(ld, cfg, c, o);
        if ((c->login_methods & ZR_LOGIN_PROFESSIONAL) && !cfg->dezi.enabled)
            client_error(ld, o, o->login_methods_line ? o->login_methods_line : o->line, "login_methods",
                         "professional needs a dezi: section (Dezi is not configured)");
        if (!c->client_id || !(slot = zr_cfg_hash_slot(&ix->client_by_id, c->client_id, &found)))
            continue;
        if (!found) {
            *slot = i;
            continue;
        }
        /* client_id is the portal's identity at the token endpoint: it must
         * be unique across the configuration and every provider file. */
        {
            const zr_cfg_client_origin_t *first = &ix->client_origins[*slot];
            if (first->file && o->file && !strcmp(first->file, o->file))
                client_error(ld, o, o->client_id_line, "client_id", "duplicate client_id '%s' (also %s)",
                             c->client_id, first->path);
            else
                client_error(ld, o, o->client_id_line, "client_id", "duplicate client_id '%s' (also %s:%d)",
                             c->client_id, first->file ? first->file : "?", first->client_id_line);
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
        free(c->tls_client_auth_subject_dn);
        free(c->tls_client_auth_san_dns);
        free(c->tls_client_auth_san_uri);
        free(c->tls_client_auth_san_email);
        free(c->auth_method_deviation);
        free(c->jwks_json);
        zr_cfg_free_strv(c->redirect_uris, c->redirect_uri_count);
        zr_cfg_free_strv(c->post_logout_redirect_uris, c->post_logout_redirect_uri_count);
        zr_cfg_free_strv(c->allowed_origins, c->allowed_origin_count);
        free(c->backchannel_logout_uri);
        free(c->home_page);
        free(c->initiate_login_uri);
        zr_cfg_helpdesk_free(&c->helpdesk);
        free(c->sector_identifier);
        free(c->legacy_sector_host);
        free(c->sector_origin);
        free(c->registration_file);
        free(c->registration_token_hmac);
        free(c->care_provider);
        zr_cfg_free_strv(c->care_providers, c->care_provider_count);
        zr_cfg_free_client_professional(c);
        OPENSSL_cleanse(c, sizeof(*c));
    }
    zr_release(cfg->clients);
    cfg->client_count = 0;
}

const char *zr_client_sector(const zr_client_t *c, int *legacy)
{
    if (legacy)
        *legacy = c->legacy_sector_host != NULL;
    if (c->legacy_sector_host)
        return c->legacy_sector_host;
    return c->sector_identifier ? c->sector_identifier : c->client_id;
}

const char *zr_client_sector_key(const zr_client_t *c)
{
    return c->legacy_sector_host ? "legacy_sector_host" : c->sector_identifier ? "sector_identifier" : "client_id";
}

/* A sector_identifier equal to a client_id is that client's sector: the
 * names share one space, so an app can join the sector its portal has had
 * by default (docs/claims.md). */
int zr_client_same_sector(const zr_client_t *a, const zr_client_t *b)
{
    int legacy_a, legacy_b;
    const char *sa = zr_client_sector(a, &legacy_a), *sb = zr_client_sector(b, &legacy_b);
    return legacy_a == legacy_b && sa && sb && !strcmp(sa, sb);
}

/* Appends one change; -1 (and everything released) when out of memory. */
static int sector_change_add(zr_sector_change_t **changes, size_t *count, size_t *cap, zr_sector_change_t ch)
{
    if (*count == *cap) {
        zr_sector_change_t *grown = realloc(*changes, (*cap ? *cap * 2 : 4) * sizeof(*grown));
        if (!grown) {
            zr_release(*changes);
            *count = 0;
            return -1;
        }
        *changes = grown;
        *cap = *cap ? *cap * 2 : 4;
    }
    (*changes)[(*count)++] = ch;
    return 0;
}

int zr_config_sector_changes(const zr_config_t *running, const zr_config_t *started, const zr_config_t *next,
                             zr_sector_change_t **changes, size_t *count)
{
    size_t cap = 0;
    *changes = NULL;
    *count = 0;
    for (size_t i = 0; next && i < next->client_count; i++) {
        const zr_client_t *c = &next->clients[i], *before = zr_config_find_client(running, c->client_id);
        if (!before)
            before = zr_config_find_client(started, c->client_id);
        if (!before || zr_client_same_sector(before, c))
            continue;
        if (sector_change_add(changes, count, &cap,
                              (zr_sector_change_t){.before = before,
                                                   .before_sector = zr_client_sector(before, NULL),
                                                   .before_key = zr_client_sector_key(before),
                                                   .after = c,
                                                   .allowed = zr_config_allows_sector_change(next, c->client_id)}) != 0)
            return -1;
    }
    return 0;
}

char *zr_client_sector_record(const zr_client_t *c)
{
    char *record = NULL;
    if (asprintf(&record, "%s %s", zr_client_sector_key(c), zr_client_sector(c, NULL)) < 0)
        record = NULL;
    return record;
}

int zr_config_sector_record_changes(const zr_config_t *cfg, char *const *records, zr_sector_change_t **changes,
                                    size_t *count)
{
    static const char *const keys[] = {"legacy_sector_host", "sector_identifier", "client_id"};
    size_t cap = 0;
    *changes = NULL;
    *count = 0;
    for (size_t i = 0; cfg && records && i < cfg->client_count; i++) {
        const zr_client_t *c = &cfg->clients[i];
        const char *key = "unreadable record", *sector = "?";
        int legacy;
        if (!records[i])
            continue;
        for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
            size_t n = strlen(keys[k]);
            if (!strncmp(records[i], keys[k], n) && records[i][n] == ' ') {
                key = keys[k];
                sector = records[i] + n + 1;
            }
        }
        /* Same test as zr_client_same_sector: the sector and its format. */
        if (strcmp(key, "unreadable record") != 0 && !strcmp(sector, zr_client_sector(c, &legacy)) &&
            legacy == !strcmp(key, "legacy_sector_host"))
            continue;
        if (sector_change_add(changes, count, &cap,
                              (zr_sector_change_t){.before_sector = sector,
                                                   .before_key = key,
                                                   .recorded = 1,
                                                   .after = c,
                                                   .allowed = zr_config_allows_sector_change(cfg, c->client_id)}) != 0)
            return -1;
    }
    return 0;
}
