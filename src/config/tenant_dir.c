/* care_providers_dir: one YAML file per care provider, so that onboarding a
 * provider is adding a file, not editing a shared one (issue 3). A `former/`
 * directory inside it (or former_care_providers_dir) keeps removed providers
 * for the aansluitbestand; they never take part in a login. */
#include "config_internal.h"

#include <dirent.h>
#include <openssl/provider.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
    size_t n = 0, cap = 0;
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
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            if (!(grown = realloc(names, cap * sizeof(*names))))
                goto end;
            names = grown;
        }
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

/* What loading one provider file produced, kept apart so that files can be
 * read on several threads and merged in name order afterwards. */
typedef struct {
    zr_config_errors_t errs;
    size_t error_count;
    zr_config_t clients; /* its portals (clients + origins only) */
} file_result_t;

static size_t load_tenant_file(zr_cfg_loader_t *parent, struct zr_cfg_key_cache *keys, OSSL_LIB_CTX *libctx,
                               const char *parent_dir, const char *path, int flags, zr_tenant_t *t, zr_tenant_origin_t *o,
                               file_result_t *res)
{
    zr_cfg_loader_t ld;
    size_t n;
    memset(&ld, 0, sizeof(ld));
    ld.file = path;
    ld.errs = &res->errs;
    ld.env = parent->env;
    ld.lenient_keys = (flags & ZR_TENANT_LOAD_LENIENT) != 0;
    ld.keys = keys;
    ld.libctx = libctx;
    ld.reuse = parent->reuse;
    ld.dir = zr_strdup(parent_dir);
    /* Former providers' clients never log in: they are read, not kept. */
    ld.cfg = (flags & ZR_TENANT_LOAD_LENIENT) || !parent->cfg ? NULL : &res->clients;
    o->file = strdup(path);
    o->line = 1;
    if (zr_cfg_parse(&ld, path) == 0)
        zr_cfg_read_tenant(&ld, yaml_document_get_root_node(&ld.doc), "", t, o);
    n = ld.error_count;
    res->error_count = n;
    zr_cfg_loader_free(&ld);
    return n;
}

/* Loading 10,000 files is mostly OpenSSL decoding certificates and keys,
 * libyaml and file I/O: spread over the cores. The results land in their
 * own slots and are merged in name order, so errors and clients come out
 * exactly as a single thread would produce them. */
typedef struct {
    zr_cfg_loader_t *parent;
    int flags;
    char **files;
    size_t count;
    zr_tenant_set_t *out;
    file_result_t *res;
    pthread_mutex_t lock;
    size_t next;
    const char *abs_dir; /* the directory, resolved once for all its files */
} dir_job_t;

typedef struct {
    dir_job_t *job;
    OSSL_LIB_CTX *libctx; /* NULL for the calling thread: the default context */
} dir_worker_t;

/* OpenSSL 3.0 builds a decoder for the public key of every certificate it
 * reads, under the library context's lock: threads sharing a context take
 * turns. Each extra worker decodes in a context of its own, created once per
 * process and kept for its lifetime, since the certificates (and their keys)
 * refer to it as long as they live. */
#define ZR_CFG_MAX_WORKERS 7
static OSSL_LIB_CTX *worker_ctx[ZR_CFG_MAX_WORKERS];
static pthread_mutex_t worker_ctx_lock = PTHREAD_MUTEX_INITIALIZER;

static OSSL_LIB_CTX *worker_libctx(size_t i)
{
    OSSL_LIB_CTX *lc;
    pthread_mutex_lock(&worker_ctx_lock);
    if (!worker_ctx[i] && (worker_ctx[i] = OSSL_LIB_CTX_new()) != NULL &&
        !OSSL_PROVIDER_load(worker_ctx[i], "default")) {
        OSSL_LIB_CTX_free(worker_ctx[i]);
        worker_ctx[i] = NULL;
    }
    lc = worker_ctx[i]; /* NULL: the default context, correct but slower */
    pthread_mutex_unlock(&worker_ctx_lock);
    return lc;
}

static void *load_worker(void *arg)
{
    dir_job_t *job = ((dir_worker_t *)arg)->job;
    OSSL_LIB_CTX *libctx = ((dir_worker_t *)arg)->libctx;
    /* The key decoder context is not shared between threads. */
    struct zr_cfg_key_cache *keys = zr_cfg_key_cache_new();
    for (;;) {
        size_t i;
        pthread_mutex_lock(&job->lock);
        i = job->next++;
        pthread_mutex_unlock(&job->lock);
        if (i >= job->count)
            break;
        load_tenant_file(job->parent, keys, libctx, job->abs_dir, job->files[i], job->flags, &job->out->tenants[i], &job->out->origins[i],
                         &job->res[i]);
    }
    zr_cfg_key_cache_free(keys);
    return NULL;
}

/* Worker threads besides the caller: one per further core, at most 7, none
 * for a handful of files. */
static size_t extra_workers(size_t files)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t n = cores > 1 ? (size_t)cores - 1 : 0;
    if (n > ZR_CFG_MAX_WORKERS)
        n = ZR_CFG_MAX_WORKERS;
    if (files < 64)
        n = 0;
    return n;
}

size_t zr_cfg_load_tenant_dir(zr_cfg_loader_t *parent, const char *dir, int flags, zr_tenant_set_t *out)
{
    char **files = NULL;
    file_result_t *res = NULL;
    size_t count = 0, errors = 0;
    memset(out, 0, sizeof(*out));
    if (list_yaml(dir, &files, &count) != 0) {
        zr_cfg_error_line(parent->errs, "%s: cannot read the care providers directory (%s)", dir, strerror(errno));
        errors++;
        goto end;
    }
    if (!count)
        goto end;
    out->tenants = calloc(count, sizeof(*out->tenants));
    out->origins = calloc(count, sizeof(*out->origins));
    if (!out->tenants || !out->origins) {
        zr_cfg_error_line(parent->errs, "%s: out of memory", dir);
        errors++;
        goto end;
    }
    res = calloc(count, sizeof(*res));
    if (!res) {
        zr_cfg_error_line(parent->errs, "%s: out of memory", dir);
        errors++;
        goto end;
    }
    out->count = count;
    {
        char *abs_dir = realpath(dir, NULL);
        dir_job_t job = {parent, flags, files, count, out, res, PTHREAD_MUTEX_INITIALIZER, 0, abs_dir};
        dir_worker_t workers[ZR_CFG_MAX_WORKERS + 1];
        size_t want = extra_workers(count), started = 0;
        pthread_t threads[ZR_CFG_MAX_WORKERS];
        for (size_t i = 0; i <= want; i++)
            workers[i] = (dir_worker_t){&job, i ? worker_libctx(i - 1) : NULL};
        while (started < want && pthread_create(&threads[started], NULL, load_worker, &workers[started + 1]) == 0)
            started++;
        load_worker(&workers[0]);
        for (size_t i = 0; i < started; i++)
            pthread_join(threads[i], NULL);
        pthread_mutex_destroy(&job.lock);
        free(abs_dir);
        /* The workers' malloc arenas keep the decoders' garbage; give it back. */
        if (started)
            malloc_trim(0);
    }
    for (size_t i = 0; i < count; i++) {
        for (size_t e = 0; e < res[i].errs.count; e++) {
            zr_cfg_error_line(parent->errs, "%s", res[i].errs.lines[e]);
        }
        errors += res[i].error_count;
        if (parent->cfg && res[i].clients.client_count && zr_cfg_clients_move(parent->cfg, &res[i].clients) != 0) {
            zr_cfg_error_line(parent->errs, "%s: out of memory", files[i]);
            errors++;
        }
    }
end:
    for (size_t i = 0; res && i < count; i++) {
        zr_config_errors_free(&res[i].errs);
        zr_cfg_free_clients(&res[i].clients);
        zr_cfg_index_free(res[i].clients.index);
    }
    free(res);
    for (size_t i = 0; files && i < count; i++)
        free(files[i]);
    free(files);
    return errors;
}

size_t zr_config_load_tenant_dir(const char *dir, zr_environment_t env, int flags, zr_tenant_set_t *out,
                                 zr_config_errors_t *errs)
{
    zr_cfg_loader_t ld;
    size_t errors;
    memset(&ld, 0, sizeof(ld));
    ld.file = dir;
    ld.errs = errs;
    ld.env = env;
    ld.keys = zr_cfg_key_cache_new();
    errors = zr_cfg_load_tenant_dir(&ld, dir, flags, out);
    zr_cfg_key_cache_free(ld.keys);
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

/* Every earlier (tenant, sub-index) holding a value: a hash table from the
 * value to the newest occurrence, each occurrence linking to the one before. */
typedef struct {
    size_t tenant, sub, next;
} occurrence_t;

typedef struct {
    zr_cfg_hash_t head;
    occurrence_t *occ;
    size_t count, cap;
} occurrences_t;

static int occurrences_add(occurrences_t *o, const char *value, size_t tenant, size_t sub)
{
    size_t *slot;
    int found;
    if (!value)
        return 0;
    if (o->count == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        occurrence_t *grown = realloc(o->occ, cap * sizeof(*grown));
        if (!grown)
            return -1;
        o->occ = grown;
        o->cap = cap;
    }
    if (!(slot = zr_cfg_hash_slot(&o->head, value, &found)))
        return -1;
    o->occ[o->count] = (occurrence_t){tenant, sub, found ? *slot : SIZE_MAX};
    *slot = o->count++;
    return 0;
}

typedef enum { DUP_ID = 0, DUP_ENTITY, DUP_OIN, DUP_SERVICE, DUP_CERT } dup_kind_t;

/* One duplicate of tenant i: earlier tenant j, what, and which of i's
 * (a) and j's (b) services or keys. */
typedef struct {
    size_t j, a, b;
    dup_kind_t kind;
} dup_t;

typedef struct {
    dup_t *v;
    size_t count, cap;
} dups_t;

static int dups_add(dups_t *d, size_t j, dup_kind_t kind, size_t a, size_t b)
{
    if (d->count == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        dup_t *grown = realloc(d->v, cap * sizeof(*grown));
        if (!grown)
            return -1;
        d->v = grown;
        d->cap = cap;
    }
    d->v[d->count++] = (dup_t){j, a, b, kind};
    return 0;
}

static int collect(const occurrences_t *o, const char *value, dup_kind_t kind, size_t a, dups_t *d)
{
    const size_t *at = value ? zr_cfg_hash_get(&o->head, value) : NULL;
    for (size_t k = at ? *at : SIZE_MAX; k != SIZE_MAX; k = o->occ[k].next)
        if (dups_add(d, o->occ[k].tenant, kind, a, o->occ[k].sub) != 0)
            return -1;
    return 0;
}

/* The order the pairwise comparison used to report in: by earlier tenant,
 * then id, entity ID, OIN, services (a, b), certificate. */
static int dup_cmp(const void *x, const void *y)
{
    const dup_t *p = x, *q = y;
    if (p->j != q->j)
        return p->j < q->j ? -1 : 1;
    if (p->kind != q->kind)
        return p->kind < q->kind ? -1 : 1;
    if (p->a != q->a)
        return p->a < q->a ? -1 : 1;
    return p->b < q->b ? -1 : p->b > q->b;
}

static size_t report_dups(const zr_tenant_t *tenants, const zr_tenant_origin_t *origins, size_t i, dups_t *d,
                          zr_config_errors_t *errs)
{
    static const zr_tenant_origin_t unknown = {0};
    const zr_tenant_t *t = &tenants[i];
    const zr_tenant_origin_t *o = origins ? &origins[i] : &unknown;
    size_t errors = 0, cert_j = SIZE_MAX;
    char key[64];
    if (d->count > 1)
        qsort(d->v, d->count, sizeof(*d->v), dup_cmp);
    for (size_t k = 0; k < d->count; k++) {
        const dup_t *x = &d->v[k];
        const zr_tenant_origin_t *p = origins ? &origins[x->j] : &unknown;
        switch (x->kind) {
        case DUP_ID:
            dup_error(errs, o, o->id_line, "id", p, p->id_line, "care provider id", t->id);
            break;
        case DUP_ENTITY:
            dup_error(errs, o, o->entity_id_line, "entity_id", p, p->entity_id_line, "entity ID", t->entity_id);
            break;
        case DUP_OIN:
            dup_error(errs, o, o->oin_line, "oin", p, p->oin_line, "OIN", t->oin);
            break;
        case DUP_SERVICE:
            snprintf(key, sizeof(key), "services[%zu].service_uuid", x->a);
            dup_error(errs, o, o->services_line, key, p, p->services_line, "ServiceUUID",
                      t->services[x->a].service_uuid);
            break;
        case DUP_CERT:
            /* One line per pair of providers: the first matching keys. */
            if (cert_j == x->j)
                continue;
            cert_j = x->j;
            snprintf(key, sizeof(key), "bsn_keys[%zu].cert", x->a);
            dup_error(errs, o, o->bsn_key_line[x->a], key, p, p->bsn_key_line[x->b], "certificate with SHA-256",
                      t->bsn_keys[x->a].key_name_sha256);
            break;
        }
        errors++;
    }
    d->count = 0;
    return errors;
}

size_t zr_config_check_tenants_unique(const zr_tenant_t *tenants, const zr_tenant_origin_t *origins, size_t count,
                                      size_t first, zr_config_errors_t *errs)
{
    occurrences_t ids = {0}, entities = {0}, oins = {0}, uuids = {0}, certs = {0};
    dups_t found = {0};
    size_t errors = 0;
    int rc = 0;
    /* Hash tables, not pairs: 10,000 providers are 50 million pairs. */
    if (zr_cfg_hash_init(&ids.head, count, 0) != 0 || zr_cfg_hash_init(&entities.head, count, 0) != 0 ||
        zr_cfg_hash_init(&oins.head, count, 0) != 0 || zr_cfg_hash_init(&uuids.head, count * 2, 1) != 0 ||
        zr_cfg_hash_init(&certs.head, count, 1) != 0) {
        rc = -1;
        goto end;
    }
    for (size_t i = 0; i < count && rc == 0; i++) {
        const zr_tenant_t *t = &tenants[i];
        size_t nkeys = t->bsn_key_count < 2 ? t->bsn_key_count : 2;
        if (i >= first) {
            rc |= collect(&ids, t->id, DUP_ID, 0, &found);
            rc |= collect(&entities, t->entity_id, DUP_ENTITY, 0, &found);
            rc |= collect(&oins, t->oin, DUP_OIN, 0, &found);
            for (size_t a = 0; a < t->service_count; a++)
                rc |= collect(&uuids, t->services[a].service_uuid, DUP_SERVICE, a, &found);
            for (size_t a = 0; a < nkeys; a++)
                rc |= collect(&certs, t->bsn_keys[a].key_name_sha256, DUP_CERT, a, &found);
            errors += report_dups(tenants, origins, i, &found, errs);
        }
        rc |= occurrences_add(&ids, t->id, i, 0);
        rc |= occurrences_add(&entities, t->entity_id, i, 0);
        rc |= occurrences_add(&oins, t->oin, i, 0);
        for (size_t a = 0; a < t->service_count; a++)
            rc |= occurrences_add(&uuids, t->services[a].service_uuid, i, a);
        for (size_t a = 0; a < nkeys; a++)
            rc |= occurrences_add(&certs, t->bsn_keys[a].key_name_sha256, i, a);
    }
end:
    if (rc != 0) {
        zr_cfg_error_line(errs, "care providers: out of memory while checking uniqueness");
        errors++;
    }
    free(found.v);
    occurrences_t *all[] = {&ids, &entities, &oins, &uuids, &certs};
    for (size_t k = 0; k < sizeof(all) / sizeof(all[0]); k++) {
        zr_cfg_hash_free(&all[k]->head);
        free(all[k]->occ);
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
        ld->error_count += zr_cfg_load_tenant_dir(ld, cfg->care_providers_dir, 0, &set);
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
    ld->error_count += zr_cfg_load_tenant_dir(ld, former, ZR_TENANT_LOAD_LENIENT, &set);
    if (append_set(&cfg->former_tenants, &cfg->former_tenant_origins, &cfg->former_tenant_count, &set) != 0)
        zr_cfg_error(ld, NULL, "former_care_providers_dir", "out of memory");
end:
    zr_config_tenant_set_free(&set);
    free(former);
}
