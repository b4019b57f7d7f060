/* care_providers_dir: one YAML file per care provider, so that onboarding a
 * provider is adding a file, not editing a shared one (issue 3). A `former/`
 * directory inside it (or former_care_providers_dir) keeps removed providers
 * for the aansluitbestand; they never take part in a login. */
#include "config_internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "zr/crypto.h"
#include "zr/util.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Regular files named *.yaml directly in dir, sorted, as "dir/name". */
static int list_yaml(const char *dir, char ***out, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL, **grown, *full = NULL;
    size_t n = 0;
    int rc = -1;
    if (!d)
        goto end;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        struct stat st;
        if (e->d_name[0] == '.' || len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0)
            continue;
        if (asprintf(&full, "%s/%s", dir, e->d_name) < 0) {
            full = NULL;
            goto end;
        }
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            zr_release(full);
            continue;
        }
        if (!(grown = realloc(names, (n + 1) * sizeof(*names))))
            goto end;
        names = grown;
        names[n++] = full;
        full = NULL;
    }
    if (n)
        qsort(names, n, sizeof(*names), name_cmp);
    *out = names;
    *count = n;
    names = NULL;
    rc = 0;
end:
    free(full);
    for (size_t i = 0; names && i < n; i++)
        free(names[i]);
    free(names);
    if (d)
        closedir(d);
    return rc;
}

static size_t load_tenant_file(const char *path, zr_environment_t env, int flags, zr_tenant_t *t,
                               zr_tenant_origin_t *o, zr_config_errors_t *errs)
{
    zr_cfg_loader_t ld;
    size_t n;
    memset(&ld, 0, sizeof(ld));
    ld.file = path;
    ld.errs = errs;
    ld.env = env;
    ld.lenient_keys = (flags & ZR_TENANT_LOAD_LENIENT) != 0;
    o->file = strdup(path);
    o->line = 1;
    if (zr_cfg_parse(&ld, path) == 0)
        zr_cfg_read_tenant(&ld, yaml_document_get_root_node(&ld.doc), "", t, o);
    n = ld.error_count;
    zr_cfg_loader_free(&ld);
    return n;
}

size_t zr_config_load_tenant_dir(const char *dir, zr_environment_t env, int flags, zr_tenant_set_t *out,
                                 zr_config_errors_t *errs)
{
    char **files = NULL;
    size_t count = 0, errors = 0;
    memset(out, 0, sizeof(*out));
    if (list_yaml(dir, &files, &count) != 0) {
        zr_cfg_error_line(errs, "%s: cannot read the care providers directory (%s)", dir, strerror(errno));
        errors++;
        goto end;
    }
    if (!count)
        goto end;
    out->tenants = calloc(count, sizeof(*out->tenants));
    out->origins = calloc(count, sizeof(*out->origins));
    if (!out->tenants || !out->origins) {
        zr_cfg_error_line(errs, "%s: out of memory", dir);
        errors++;
        goto end;
    }
    for (size_t i = 0; i < count; i++) {
        out->count = i + 1;
        errors += load_tenant_file(files[i], env, flags, &out->tenants[i], &out->origins[i], errs);
    }
end:
    for (size_t i = 0; files && i < count; i++)
        free(files[i]);
    free(files);
    return errors;
}

void zr_config_tenant_set_free(zr_tenant_set_t *set)
{
    if (!set)
        return;
    zr_cfg_tenants_free(set->tenants, set->origins, set->count);
    memset(set, 0, sizeof(*set));
}

static void dup_error(zr_config_errors_t *errs, const zr_tenant_origin_t *o, int line, const char *key,
                      const zr_tenant_origin_t *other, int other_line, const char *what, const char *value)
{
    zr_cfg_error_line(errs, "%s:%d: %s: %s %s is also used by %s:%d", o->file ? o->file : "?", line, key, what,
                      value, other->file ? other->file : "?", other_line);
}

static int same_cert(const zr_tenant_t *a, const zr_tenant_t *b, size_t *ka, size_t *kb)
{
    for (size_t i = 0; i < a->bsn_key_count && i < 2; i++)
        for (size_t j = 0; j < b->bsn_key_count && j < 2; j++)
            if (a->bsn_keys[i].key_name_sha256 && b->bsn_keys[j].key_name_sha256 &&
                !strcmp(a->bsn_keys[i].key_name_sha256, b->bsn_keys[j].key_name_sha256)) {
                *ka = i;
                *kb = j;
                return 1;
            }
    return 0;
}

size_t zr_config_check_tenants_unique(const zr_tenant_t *tenants, const zr_tenant_origin_t *origins, size_t count,
                                      size_t first, zr_config_errors_t *errs)
{
    static const zr_tenant_origin_t unknown = {0};
    size_t errors = 0;
    for (size_t i = first; i < count; i++) {
        const zr_tenant_t *t = &tenants[i];
        const zr_tenant_origin_t *o = origins ? &origins[i] : &unknown;
        for (size_t j = 0; j < i; j++) {
            const zr_tenant_t *u = &tenants[j];
            const zr_tenant_origin_t *p = origins ? &origins[j] : &unknown;
            size_t ka = 0, kb = 0;
            char key[64];
            if (t->id && u->id && !strcmp(t->id, u->id)) {
                dup_error(errs, o, o->id_line, "id", p, p->id_line, "care provider id", t->id);
                errors++;
            }
            if (t->entity_id && u->entity_id && !strcmp(t->entity_id, u->entity_id)) {
                dup_error(errs, o, o->entity_id_line, "entity_id", p, p->entity_id_line, "entity ID", t->entity_id);
                errors++;
            }
            if (t->oin && u->oin && !strcmp(t->oin, u->oin)) {
                dup_error(errs, o, o->oin_line, "oin", p, p->oin_line, "OIN", t->oin);
                errors++;
            }
            for (size_t a = 0; a < t->service_count; a++)
                for (size_t b = 0; b < u->service_count; b++)
                    if (t->services[a].service_uuid && u->services[b].service_uuid &&
                        !strcasecmp(t->services[a].service_uuid, u->services[b].service_uuid)) {
                        snprintf(key, sizeof(key), "services[%zu].service_uuid", a);
                        dup_error(errs, o, o->services_line, key, p, p->services_line, "ServiceUUID",
                                  t->services[a].service_uuid);
                        errors++;
                    }
            if (same_cert(t, u, &ka, &kb)) {
                snprintf(key, sizeof(key), "bsn_keys[%zu].cert", ka);
                dup_error(errs, o, o->bsn_key_line[ka], key, p, p->bsn_key_line[kb],
                          "certificate with SHA-256", t->bsn_keys[ka].key_name_sha256);
                errors++;
            }
        }
    }
    return errors;
}

/* Moves a set's tenants behind the ones already in (tenants, origins). */
static int append_set(zr_tenant_t **tenants, zr_tenant_origin_t **origins, size_t *count, zr_tenant_set_t *set)
{
    zr_tenant_t *t;
    zr_tenant_origin_t *o;
    if (!set->count)
        return 0;
    if (!(t = realloc(*tenants, (*count + set->count) * sizeof(*t))))
        return -1;
    *tenants = t;
    if (!(o = realloc(*origins, (*count + set->count) * sizeof(*o))))
        return -1;
    *origins = o;
    memcpy(t + *count, set->tenants, set->count * sizeof(*t));
    memcpy(o + *count, set->origins, set->count * sizeof(*o));
    *count += set->count;
    free(set->tenants);
    free(set->origins);
    memset(set, 0, sizeof(*set));
    return 0;
}

void zr_cfg_read_tenant_dirs(zr_cfg_map_t *root, zr_config_t *cfg, size_t inline_count)
{
    zr_cfg_loader_t *ld = root->ld;
    zr_tenant_set_t set = {0};
    char *former = NULL;
    int has_dir = zr_cfg_get_path(root, "care_providers_dir", 0, &cfg->care_providers_dir) == 1;
    int has_former = zr_cfg_get_path(root, "former_care_providers_dir", 0, &cfg->former_care_providers_dir) == 1;

    if (has_dir && !(ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR)) {
        if (!is_dir(cfg->care_providers_dir)) {
            zr_cfg_error(ld, zr_cfg_map_get(root, "care_providers_dir"), "care_providers_dir", "%s is not a directory",
                         cfg->care_providers_dir);
            goto end;
        }
        ld->error_count += zr_config_load_tenant_dir(cfg->care_providers_dir, ld->env, 0, &set, ld->errs);
        if (append_set(&cfg->tenants, &cfg->tenant_origins, &cfg->tenant_count, &set) != 0) {
            zr_cfg_error(ld, NULL, "care_providers_dir", "out of memory");
            goto end;
        }
        if (cfg->tenant_count == 0)
            zr_cfg_error(ld, zr_cfg_map_get(root, "care_providers_dir"), "care_providers_dir",
                         "holds no care provider (*.yaml) and care_providers is empty");
        ld->error_count +=
            zr_config_check_tenants_unique(cfg->tenants, cfg->tenant_origins, cfg->tenant_count, inline_count, ld->errs);
    }
    if (ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR)
        goto end;
    /* Former providers only feed the export: their keys may well be expired. */
    if (has_former) {
        if (!is_dir(cfg->former_care_providers_dir)) {
            zr_cfg_error(ld, zr_cfg_map_get(root, "former_care_providers_dir"), "former_care_providers_dir",
                         "%s is not a directory", cfg->former_care_providers_dir);
            goto end;
        }
        former = strdup(cfg->former_care_providers_dir);
    } else if (has_dir) {
        if (asprintf(&former, "%s/former", cfg->care_providers_dir) < 0)
            former = NULL;
        else if (!is_dir(former))
            zr_release(former);
    }
    if (!former)
        goto end;
    ld->error_count += zr_config_load_tenant_dir(former, ld->env, ZR_TENANT_LOAD_LENIENT, &set, ld->errs);
    if (append_set(&cfg->former_tenants, &cfg->former_tenant_origins, &cfg->former_tenant_count, &set) != 0)
        zr_cfg_error(ld, NULL, "former_care_providers_dir", "out of memory");
end:
    zr_config_tenant_set_free(&set);
    free(former);
}
