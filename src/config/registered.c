/* Dynamically registered clients (RFC 7591/7592, issue 17 §4): one YAML file
 * per client in oidc.registration_dir, written whole (temporary file,
 * rename) by the relay that registered it, read at every start and reload
 * exactly like a client of the configuration (same reader, FILE:LINE
 * errors). The directory, like care_providers_dir, is what every relay
 * process of a cluster shares and what a backup of the configuration
 * holds. The operator's initial access tokens live under tokens/ as files
 * named by the token's keyed hash, never the token itself. */
#include "config_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zr/crypto.h"
#include "zr/json.h"
#include "zr/util.h"

#define ZR_REG_TOKEN_MAX 256

static int is_client_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 5 && !strcmp(name + n - 5, ".yaml");
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int same_dir(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Reads one client file into cfg; check_name: its name must be
 * CLIENT_ID.yaml (the management URI finds the file by it). */
static void load_file(zr_cfg_loader_t *parent, zr_config_t *cfg, const char *path, int check_name)
{
    static const char *const root_keys[] = {"registration", "client", NULL};
    static const char *const reg_keys[] = {"care_provider", "client_id_issued_at", "access_token_hmac", NULL};
    zr_cfg_loader_t ld;
    zr_cfg_map_t root, reg;
    yaml_node_t *node;
    zr_client_t *c;
    const zr_cfg_client_origin_t *o;
    char *owner = NULL, *hmac = NULL, stamp[64];
    const char *base = strrchr(path, '/');
    long issued = 0;
    size_t index;

    memset(&ld, 0, sizeof(ld));
    ld.file = path;
    ld.errs = parent->errs;
    ld.env = parent->env;
    ld.flags = parent->flags;
    ld.keys = parent->keys;
    ld.cfg = cfg;
    /* Stamped before it is read: a write in between shows as a change
     * (one reload too many), never as the file already loaded. */
    if (zr_config_registration_stamp(path, stamp) != 0)
        stamp[0] = '\0';
    if (zr_cfg_parse(&ld, path) != 0)
        goto end;
    if (zr_cfg_map_open(&ld, yaml_document_get_root_node(&ld.doc), "", root_keys, &root) != 0)
        goto end;
    if (!(node = zr_cfg_map_get(&root, "registration"))) {
        zr_cfg_required(&root, "registration");
        goto end;
    }
    if (zr_cfg_map_open(&ld, node, "registration", reg_keys, &reg) != 0)
        goto end;
    zr_cfg_get_str(&reg, "care_provider", 1, &owner);
    zr_cfg_get_int(&reg, "client_id_issued_at", 1, 0, 253402300799L, &issued);
    if (zr_cfg_get_str(&reg, "access_token_hmac", 1, &hmac) == 1 && !zr_cfg_hex_valid(hmac, 64))
        zr_cfg_error(&ld, zr_cfg_map_get(&reg, "access_token_hmac"), "registration.access_token_hmac",
                     "must be 64 hex characters (the keyed hash of the registration access token)");
    if (!(node = zr_cfg_map_get(&root, "client"))) {
        zr_cfg_required(&root, "client");
        goto end;
    }
    if (!owner)
        goto end;
    index = cfg->client_count;
    if (!(c = zr_cfg_read_registered_client(&ld, node, "client", cfg, owner)))
        goto end;
    o = cfg->index ? &cfg->index->client_origins[index] : NULL;
    /* A registered client belongs to the one care provider of its token. */
    if (o && o->listed_count) {
        ld.error_count++;
        zr_cfg_error_line(ld.errs, "%s:%d: client.care_providers: a registered client belongs to one care provider "
                                   "(registration.care_provider)",
                          path, o->care_provider_lines ? o->care_provider_lines[0] : o->line);
    }
    if (check_name && c->client_id &&
        (strncmp(base ? base + 1 : path, c->client_id, strlen(c->client_id)) ||
         strcmp((base ? base + 1 : path) + strlen(c->client_id), ".yaml"))) {
        ld.error_count++;
        zr_cfg_error_line(ld.errs, "%s:%d: client.client_id: '%s' must be the file's name without .yaml (the "
                                   "registration URI finds it so)",
                          path, o ? o->client_id_line : 1, c->client_id);
    }
    memcpy(c->registration_stamp, stamp, sizeof(stamp));
    c->registration_file = strdup(path);
    c->registration_token_hmac = hmac;
    hmac = NULL;
    c->client_id_issued_at = issued;
    if (!c->registration_file)
        zr_cfg_error(&ld, NULL, "client", "out of memory");
end:
    parent->error_count += ld.error_count;
    zr_cfg_loader_free(&ld);
    free(owner);
    free(hmac);
}

void zr_cfg_read_registered_clients(zr_cfg_loader_t *ld, zr_config_t *cfg)
{
    const char *dir = cfg->oidc.registration_dir;
    DIR *d = NULL;
    struct dirent *e;
    char **names = NULL, *path = NULL;
    size_t count = 0, cap = 0;
    struct stat st;

    if (!dir || (ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR))
        return;
    /* Its files are clients, not care providers: never the same directory. */
    if (cfg->care_providers_dir && same_dir(dir, cfg->care_providers_dir)) {
        zr_cfg_error(ld, NULL, "oidc.registration_dir", "%s is care_providers_dir: give registered clients a "
                                                        "directory of their own", dir);
        return;
    }
    if (!(d = opendir(dir))) {
        zr_cfg_error(ld, NULL, "oidc.registration_dir", "cannot open %s: %s", dir, strerror(errno));
        goto end;
    }
    while ((e = readdir(d)) != NULL) {
        if (!is_client_file(e->d_name))
            continue;
        if (count == cap) {
            char **grown = realloc(names, (cap = cap ? cap * 2 : 16) * sizeof(*names));
            if (!grown)
                goto oom;
            names = grown;
        }
        if (!(names[count] = strdup(e->d_name)))
            goto oom;
        count++;
    }
    if (count) /* qsort(NULL, 0, ...) is undefined */
        qsort(names, count, sizeof(*names), name_cmp);
    for (size_t i = 0; i < count; i++) {
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
            path = NULL;
            goto oom;
        }
        /* Only regular files the relay wrote; a link could point anywhere. */
        if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            ld->error_count++;
            zr_cfg_error_line(ld->errs, "%s: not a regular file (a registered client is written by the relay)",
                              path);
        } else
            load_file(ld, cfg, path, 1);
        zr_release(path);
    }
    goto end;
oom:
    zr_cfg_error(ld, NULL, "oidc.registration_dir", "out of memory");
end:
    if (d)
        closedir(d);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(path);
}

int zr_config_registration_stamp(const char *file, char out[64])
{
    struct stat st;
    if (stat(file, &st) != 0)
        return -1;
    snprintf(out, 64, "%llu:%lld:%lld.%09ld", (unsigned long long)st.st_ino, (long long)st.st_size,
             (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
    return 0;
}

int zr_config_registered_check(const zr_config_t *cfg, const char *file, zr_config_errors_t *errs, int *bsn_entitled)
{
    zr_config_t scratch;
    zr_cfg_loader_t ld;
    char why[256];
    memset(&scratch, 0, sizeof(scratch));
    memset(&ld, 0, sizeof(ld));
    /* The signing keys are only read (id_token_alg, userinfo alg). */
    scratch.environment = cfg->environment;
    scratch.oidc.keys = cfg->oidc.keys;
    scratch.oidc.key_count = cfg->oidc.key_count;
    ld.file = file;
    ld.errs = errs;
    ld.env = cfg->environment;
    ld.cfg = &scratch;
    load_file(&ld, &scratch, file, 0);
    for (size_t i = 0; i < scratch.client_count; i++) {
        const zr_client_t *c = &scratch.clients[i];
        const zr_tenant_t *t = c->care_provider ? zr_config_find_tenant(cfg, c->care_provider) : NULL;
        if (bsn_entitled)
            *bsn_entitled = c->bsn_entitled;
        if (c->care_provider && (!t || t->quarantined)) {
            ld.error_count++;
            zr_cfg_error_line(errs, "%s:1: client.care_provider: care provider '%s' %s", file, c->care_provider,
                              t ? "is quarantined" : "is not configured");
        } else if (t && c->min_loa != ZR_LOA_NONE && !zr_tenant_service_for_loa(t, c->min_loa)) {
            ld.error_count++;
            zr_cfg_error_line(errs, "%s:1: client.min_loa: care provider '%s' has no service with LoA %s or higher",
                              file, t->id, zr_loa_name(c->min_loa));
        }
        if (c->jwks_json && zr_cfg_check_jwks_strength(c->jwks_json, why, sizeof(why)) != 0) {
            ld.error_count++;
            zr_cfg_error_line(errs, "%s:1: client.jwks: %s", file, why);
        }
    }
    scratch.oidc.keys = NULL;
    scratch.oidc.key_count = 0;
    zr_cfg_client_origins_free(scratch.index, scratch.client_count);
    zr_cfg_index_free(scratch.index);
    zr_cfg_free_clients(&scratch);
    return ld.error_count ? -1 : 0;
}

int zr_config_registration_hash(const zr_config_t *cfg, const char *token, char out[65])
{
    uint8_t mac[32];
    if (zr_crypto_hmac_sha256(cfg->oidc.registration_key, sizeof(cfg->oidc.registration_key), (const uint8_t *)token,
                              strlen(token), mac) != 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", mac[i]);
    return 0;
}

int zr_config_write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err, size_t errlen)
{
    char *tmp = NULL, *final = NULL;
    int fd = -1, dfd = -1, rc = -1;
    if (asprintf(&tmp, "%s/.%s.XXXXXX", dir, name) < 0 || asprintf(&final, "%s/%s", dir, name) < 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if ((fd = mkstemp(tmp)) < 0) {
        snprintf(err, errlen, "cannot create a file in %s: %s", dir, strerror(errno));
        zr_release(tmp);
        goto end;
    }
    if (fchmod(fd, 0640) != 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    if (close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    fd = -1;
    if (rename(tmp, final) != 0) {
        snprintf(err, errlen, "cannot rename to %s: %s", final, strerror(errno));
        goto end;
    }
    zr_release(tmp);
    /* The rename itself survives a crash only once the directory is synced. */
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0)
        fsync(dfd);
    rc = 0;
end:
    if (fd >= 0)
        close(fd);
    if (dfd >= 0)
        close(dfd);
    if (tmp)
        unlink(tmp);
    free(tmp);
    free(final);
    return rc;
}

/* DIR/tokens/HASH.json for a token; NULL when out of memory or malformed. */
static char *token_path(const zr_config_t *cfg, const char *token, const char *suffix)
{
    char hash[65], *path = NULL;
    size_t n = strlen(token);
    if (n == 0 || n > ZR_REG_TOKEN_MAX || zr_config_registration_hash(cfg, token, hash) != 0)
        return NULL;
    if (asprintf(&path, "%s/tokens/%s.json%s", cfg->oidc.registration_dir, hash, suffix) < 0)
        return NULL;
    return path;
}

int zr_config_registration_token_create(const zr_config_t *cfg, const char *care_provider, long ttl_s,
                                        char **token_out, long long *expires_at, char *err, size_t errlen)
{
    uint8_t raw[32];
    char *token = NULL, *dir = NULL, *json = NULL, hash[65], name[80];
    json_t *rec = NULL;
    long long now = (long long)time(NULL);
    int rc = -1;

    *token_out = NULL;
    if (!cfg->oidc.registration_dir) {
        snprintf(err, errlen, "oidc.registration_dir is not set: registration is off");
        goto end;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1 || !(token = zr_base64url_encode(raw, sizeof(raw))) ||
        zr_config_registration_hash(cfg, token, hash) != 0) {
        snprintf(err, errlen, "cannot make a random token");
        goto end;
    }
    if (asprintf(&dir, "%s/tokens", cfg->oidc.registration_dir) < 0) {
        dir = NULL;
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto end;
    }
    *expires_at = now + ttl_s;
    rec = json_pack("{s:s, s:I, s:I}", "care_provider", care_provider, "created_at", (json_int_t)now, "expires_at",
                    (json_int_t)*expires_at);
    if (!rec || !(json = json_dumps(rec, JSON_COMPACT))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    snprintf(name, sizeof(name), "%s.json", hash);
    if (zr_config_write_atomic(dir, name, json, strlen(json), err, errlen) != 0)
        goto end;
    *token_out = token;
    token = NULL;
    rc = 0;
end:
    OPENSSL_cleanse(raw, sizeof(raw));
    if (token)
        OPENSSL_cleanse(token, strlen(token));
    free(token);
    free(dir);
    free(json);
    json_decref(rec);
    return rc;
}

int zr_config_registration_token_read(const zr_config_t *cfg, const char *token, char **care_provider)
{
    char *path = NULL, *text = NULL;
    size_t len = 0;
    json_t *rec = NULL;
    json_int_t expires;
    const char *owner;
    int rc = 1;

    *care_provider = NULL;
    if (!cfg->oidc.registration_dir || !(path = token_path(cfg, token, "")))
        goto end;
    if (zr_file_read(path, 4096, &text, &len) != 0)
        goto end; /* unknown or already used */
    if (!(rec = zr_json_parse_object(text, len, 0, NULL)) || !json_is_integer(json_object_get(rec, "expires_at")) ||
        !(owner = json_string_value(json_object_get(rec, "care_provider")))) {
        rc = -1;
        goto end;
    }
    expires = json_integer_value(json_object_get(rec, "expires_at"));
    if (expires <= (json_int_t)time(NULL)) {
        unlink(path); /* expired: gone for good */
        goto end;
    }
    if (!(*care_provider = strdup(owner))) {
        rc = -1;
        goto end;
    }
    rc = 0;
end:
    free(path);
    free(text);
    json_decref(rec);
    return rc;
}

int zr_config_registration_token_claim(const zr_config_t *cfg, const char *token)
{
    char *path = token_path(cfg, token, ""), *used = token_path(cfg, token, ".used");
    int rc = -1;
    /* rename is atomic: of two registrations with one token, one wins. */
    if (path && used)
        rc = rename(path, used) == 0 ? 0 : 1;
    free(path);
    free(used);
    return rc;
}

void zr_config_registration_token_settle(const zr_config_t *cfg, const char *token, int used)
{
    char *path = token_path(cfg, token, ""), *claimed = token_path(cfg, token, ".used");
    if (path && claimed && (used ? unlink(claimed) : rename(claimed, path)) != 0)
        unlink(claimed); /* never usable twice */
    free(path);
    free(claimed);
}
