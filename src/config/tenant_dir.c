/* care_providers_dir: one YAML file per care provider, so that onboarding a
 * provider is adding a file, not editing a shared one (issue 3). A `former/`
 * directory inside it (or former_care_providers_dir) keeps removed providers
 * for the aansluitbestand; they never take part in a login. */
#include "config_internal.h"

#include <dirent.h>
#include <openssl/provider.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* --- Which files of a directory are care providers ----------------------
 * A provider file that is silently passed over is a care provider that
 * silently does not log in: every file is loaded, refused with a reason, or
 * named in a warning. */

typedef enum {
    NAME_PROVIDER, /* *.yaml, *.yml */
    NAME_CASE,     /* *.YAML, *.Yml, ...: meant as one, refused */
    NAME_COPY,     /* a.yaml~, a.yaml.bak, #a.yaml#: a copy of one */
    NAME_OTHER
} name_kind_t;

static int ends_with(const char *s, size_t len, const char *ext, int nocase)
{
    size_t n = strlen(ext);
    if (len <= n)
        return 0;
    return nocase ? !strcasecmp(s + len - n, ext) : !strcmp(s + len - n, ext);
}

static name_kind_t name_kind(const char *name)
{
    size_t len = strlen(name);
    if (ends_with(name, len, ".yaml", 0) || ends_with(name, len, ".yml", 0))
        return NAME_PROVIDER;
    if (ends_with(name, len, ".yaml", 1) || ends_with(name, len, ".yml", 1))
        return NAME_CASE;
    if (strcasestr(name, ".yaml") || strcasestr(name, ".yml"))
        return NAME_COPY;
    return NAME_OTHER;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int note_cmp(const void *a, const void *b)
{
    return strcmp(((const zr_tenant_dir_note_t *)a)->file, ((const zr_tenant_dir_note_t *)b)->file);
}

/* Appends a note on `full` (copied); -1 when out of memory. */
static int scan_note(zr_tenant_dir_scan_t *s, size_t *cap, const char *full, int refused, char *message)
{
    zr_tenant_dir_note_t *grown;
    char *file = NULL;
    int rc = -1;
    if (!message || !(file = strdup(full)))
        goto end;
    if (s->note_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        if (!(grown = realloc(s->notes, ncap * sizeof(*grown))))
            goto end;
        s->notes = grown;
        *cap = ncap;
    }
    s->notes[s->note_count++] = (zr_tenant_dir_note_t){file, message, refused};
    file = message = NULL;
    rc = 0;
end:
    free(file);
    free(message);
    return rc;
}

static char *message(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *message(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0)
        out = NULL;
    va_end(ap);
    return out;
}

/* Why the provider-named entry `full` (lstat: lst) cannot be loaded, as a
 * malloc'ed message in *why; *why stays NULL when it loads. -1 when out of
 * memory. A link may point anywhere inside the directory (a versioned file
 * in a subdirectory): its relative paths resolve against the directory, as
 * for any file in it. A link out of the directory is refused: its author
 * expected its relative paths to resolve next to the target. */
static int refusal(const char *real_dir, const char *full, const struct stat *lst, char **why)
{
    struct stat st;
    char *target = NULL, link[PATH_MAX];
    ssize_t n;
    int refused = 1;
    *why = NULL;
    if (S_ISLNK(lst->st_mode)) {
        size_t rl = real_dir ? strlen(real_dir) : 0;
        if (!(target = realpath(full, NULL))) {
            int err = errno;
            n = readlink(full, link, sizeof(link) - 1);
            link[n > 0 ? n : 0] = '\0';
            *why = err == ENOENT ? message("a symbolic link to %s, which does not exist", n > 0 ? link : "?")
                                 : message("a symbolic link to %s, which cannot be followed (%s)", n > 0 ? link : "?",
                                           strerror(err));
            goto end;
        }
        /* real_dir "/" holds everything */
        if (!real_dir || (rl > 1 && (strncmp(target, real_dir, rl) != 0 || target[rl] != '/'))) {
            *why = message("a symbolic link to %s, which is outside the directory; copy or move the file into the "
                           "directory (relative paths resolve against the directory, not against the target's)",
                           target);
            goto end;
        }
    }
    if (stat(full, &st) != 0)
        *why = message("cannot be read (%s)", strerror(errno));
    else if (S_ISDIR(st.st_mode))
        *why = message("a directory, not a care provider file");
    else if (!S_ISREG(st.st_mode))
        *why = message("not a regular file");
    else if (st.st_size > ZR_CFG_MAX_FILE)
        *why = message("%lld bytes; a care provider file is at most 1 MiB (%d bytes)", (long long)st.st_size,
                       ZR_CFG_MAX_FILE);
    else
        refused = 0;
end:
    free(target);
    return refused && !*why ? -1 : 0;
}

int zr_config_tenant_dir_scan(const char *dir, zr_tenant_dir_scan_t *out)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char *full = NULL, *real_dir = NULL, *why = NULL, **grown;
    size_t file_cap = 0, note_cap = 0;
    int rc = -1, saved = 0;
    memset(out, 0, sizeof(*out));
    if (!d)
        return -1;
    real_dir = realpath(dir, NULL);
    while ((e = readdir(d)) != NULL) {
        struct stat lst, st;
        name_kind_t kind;
        if (e->d_name[0] == '.') /* hidden: editor swap files, .git */
            continue;
        zr_release(full);
        /* "providers/" as typed gives "providers/a.yaml" */
        if (asprintf(&full, "%s%s%s", dir, *dir && dir[strlen(dir) - 1] == '/' ? "" : "/", e->d_name) < 0) {
            full = NULL;
            goto end;
        }
        if (lstat(full, &lst) != 0) /* gone since readdir */
            continue;
        kind = name_kind(e->d_name);
        if (kind != NAME_PROVIDER) {
            /* former/, keys/: directories are not provider files */
            if (stat(full, &st) == 0 && S_ISDIR(st.st_mode))
                continue;
            if (scan_note(out, &note_cap, full, kind == NAME_CASE,
                          kind == NAME_CASE ? message("care provider files end in .yaml or .yml, in lower case; "
                                                      "rename it or move it out of the directory")
                          : kind == NAME_COPY ? message("not loaded: care provider files end in .yaml or .yml "
                                                        "(a backup or editor copy? move it out of the directory)")
                                              : message("not loaded: not a care provider file (*.yaml, *.yml)")) != 0)
                goto end;
            continue;
        }
        if (refusal(real_dir, full, &lst, &why) != 0)
            goto end;
        if (why) {
            int failed = scan_note(out, &note_cap, full, 1, why);
            why = NULL; /* scan_note took it */
            if (failed)
                goto end;
            continue;
        }
        if (out->count == file_cap) {
            file_cap = file_cap ? file_cap * 2 : 64;
            if (!(grown = realloc(out->files, file_cap * sizeof(*grown))))
                goto end;
            out->files = grown;
        }
        out->files[out->count++] = full;
        full = NULL;
    }
    if (out->count)
        qsort(out->files, out->count, sizeof(*out->files), name_cmp);
    if (out->note_count)
        qsort(out->notes, out->note_count, sizeof(*out->notes), note_cmp);
    rc = 0;
end:
    if (rc != 0) {
        saved = errno ? errno : ENOMEM;
        zr_config_tenant_dir_scan_free(out);
    }
    free(why);
    free(full);
    free(real_dir);
    closedir(d);
    if (rc != 0)
        errno = saved;
    return rc;
}

void zr_config_tenant_dir_scan_free(zr_tenant_dir_scan_t *scan)
{
    if (!scan)
        return;
    for (size_t i = 0; i < scan->count; i++)
        free(scan->files[i]);
    free(scan->files);
    for (size_t i = 0; i < scan->note_count; i++) {
        free(scan->notes[i].file);
        free(scan->notes[i].message);
    }
    free(scan->notes);
    memset(scan, 0, sizeof(*scan));
}

/* The relay's log names the files a load passed over (validate lists them
 * one a line): at most ten names, then how many more. */
static void log_not_loaded(const char *dir, const zr_tenant_dir_scan_t *scan)
{
    char names[1024];
    size_t shown = 0, warned = 0, len = 0;
    names[0] = '\0';
    for (size_t i = 0; i < scan->note_count; i++) {
        const char *base;
        if (scan->notes[i].refused)
            continue;
        warned++;
        if (shown == 10)
            continue;
        base = strrchr(scan->notes[i].file, '/');
        base = base ? base + 1 : scan->notes[i].file;
        if (len < sizeof(names)) {
            int n = snprintf(names + len, sizeof(names) - len, "%s%s", shown ? ", " : "", base);
            len += n > 0 ? (size_t)n : 0;
        }
        shown++;
    }
    if (warned > shown)
        zr_log_warn("config", "care_providers_dir=%s: %zu file(s) not loaded (care provider files end in .yaml or "
                              ".yml): %s and %zu more",
                    dir, warned, names, warned - shown);
    else if (warned)
        zr_log_warn("config", "care_providers_dir=%s: %zu file(s) not loaded (care provider files end in .yaml or "
                              ".yml): %s",
                    dir, warned, names);
}

/* What loading one provider file produced, kept apart so that files can be
 * read on several threads and merged in name order afterwards. */
typedef struct {
    zr_config_errors_t errs;
    size_t error_count;
    zr_config_t clients; /* its portals (clients + origins only) */
    size_t client_errors; /* of error_count, in its clients section */
} file_result_t;

static size_t load_tenant_file(zr_cfg_loader_t *parent, struct zr_cfg_key_cache *keys, OSSL_LIB_CTX *libctx,
                               const char *parent_dir, const char *fallback_dir, const char *path, int flags,
                               zr_tenant_t *t, zr_tenant_origin_t *o, file_result_t *res)
{
    zr_cfg_loader_t ld;
    size_t n;
    memset(&ld, 0, sizeof(ld));
    ld.file = path;
    ld.errs = &res->errs;
    ld.env = parent->env;
    ld.lenient_keys = (flags & (ZR_TENANT_LOAD_LENIENT | ZR_TENANT_LOAD_FORMER)) != 0;
    ld.former = (flags & ZR_TENANT_LOAD_FORMER) != 0;
    ld.fallback_dir = fallback_dir;
    ld.keys = keys;
    ld.libctx = libctx;
    ld.reuse = parent->reuse;
    ld.dir = zr_strdup(parent_dir);
    ld.quarantine = parent->quarantine && !(flags & ZR_TENANT_LOAD_LENIENT);
    /* Former providers' clients never log in: they are read, not kept. */
    ld.cfg = (flags & (ZR_TENANT_LOAD_LENIENT | ZR_TENANT_LOAD_FORMER)) || !parent->cfg ? NULL : &res->clients;
    o->file = strdup(path);
    o->line = 1;
    if (zr_cfg_parse(&ld, path) == 0)
        zr_cfg_read_tenant(&ld, yaml_document_get_root_node(&ld.doc), "", t, o);
    n = ld.error_count;
    res->error_count = n;
    res->client_errors = ld.client_errors;
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
    const char *fallback_dir; /* former providers: the providers directory (zr_cfg_resolve_path) */
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
        load_tenant_file(job->parent, keys, libctx, job->abs_dir, job->fallback_dir, job->files[i], job->flags,
                         &job->out->tenants[i], &job->out->origins[i], &job->res[i]);
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

static size_t load_dir(zr_cfg_loader_t *parent, const char *dir, const char *fallback_dir, int flags,
                       zr_tenant_set_t *out)
{
    zr_tenant_dir_scan_t scan = {0};
    char **files;
    file_result_t *res = NULL;
    size_t count = 0, errors = 0, refused = 0;
    int quarantine;
    memset(out, 0, sizeof(*out));
    if (zr_config_tenant_dir_scan(dir, &scan) != 0) {
        zr_cfg_error_line(parent->errs, "%s: cannot read the care providers directory (%s)", dir, strerror(errno));
        errors++;
        goto end;
    }
    /* A file meant as a provider that cannot be read at all (a link out of
     * the directory or to nothing, a .YAML name, above 1 MiB) is that
     * provider's problem too: with quarantine it is one, known by its
     * file's name, after the ones that load. */
    quarantine = parent->quarantine && !(flags & ZR_TENANT_LOAD_LENIENT);
    for (size_t i = 0; i < scan.note_count; i++)
        if (scan.notes[i].refused) {
            if (quarantine) {
                refused++;
                continue;
            }
            zr_cfg_error_line(parent->errs, "%s: %s", scan.notes[i].file, scan.notes[i].message);
            errors++;
        }
    if (flags & ZR_TENANT_LOAD_LOG_SKIPPED)
        log_not_loaded(dir, &scan);
    files = scan.files;
    count = scan.count;
    if (!count && !refused)
        goto end;
    out->tenants = calloc(count + refused, sizeof(*out->tenants));
    out->origins = calloc(count + refused, sizeof(*out->origins));
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
    for (size_t i = 0; refused && i < scan.note_count; i++) {
        zr_config_errors_t why = {0};
        zr_tenant_t *t = &out->tenants[out->count];
        zr_tenant_origin_t *o = &out->origins[out->count];
        if (!scan.notes[i].refused)
            continue;
        out->count++;
        zr_cfg_error_line(&why, "%s: %s", scan.notes[i].file, scan.notes[i].message);
        o->file = strdup(scan.notes[i].file);
        o->line = 1;
        if (!o->file || zr_cfg_quarantine_tenant(t, scan.notes[i].file, &why) != 0) {
            zr_cfg_error_line(parent->errs, "%s: out of memory", scan.notes[i].file);
            errors++;
        }
        zr_config_errors_free(&why);
    }
    if (!count)
        goto end;
    {
        char *abs_dir = realpath(dir, NULL);
        dir_job_t job = {parent, flags, files, count, out, res, PTHREAD_MUTEX_INITIALIZER, 0, abs_dir, fallback_dir};
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
        /* Quarantine (issue 14 §1): a defect in this file is this provider's
         * alone. Its portals stay only when they read cleanly (they name it
         * and are told it is unavailable); a file that did not parse has none. */
        if (parent->quarantine && !(flags & ZR_TENANT_LOAD_LENIENT) && res[i].error_count) {
            if (zr_cfg_quarantine_tenant(&out->tenants[i], files[i], &res[i].errs) != 0) {
                zr_cfg_error_line(parent->errs, "%s: out of memory", files[i]);
                errors++;
            }
            if (res[i].client_errors)
                zr_cfg_quarantine_drop_clients(parent, &res[i].clients);
        } else {
            for (size_t e = 0; e < res[i].errs.count; e++)
                zr_cfg_error_line(parent->errs, "%s", res[i].errs.lines[e]);
            errors += res[i].error_count;
        }
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
    zr_config_tenant_dir_scan_free(&scan);
    return errors;
}

size_t zr_cfg_load_tenant_dir(zr_cfg_loader_t *parent, const char *dir, int flags, zr_tenant_set_t *out)
{
    return load_dir(parent, dir, NULL, flags, out);
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

typedef enum { DUP_ID = 0, DUP_ENTITY, DUP_OIN, DUP_URA, DUP_SERVICE, DUP_CERT } dup_kind_t;

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
 * then id, entity ID, OIN, URA, services (a, b), certificate. */
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
        case DUP_URA:
            dup_error(errs, o, o->ura_line, "ura", p, p->ura_line, "URA", t->ura);
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
    occurrences_t ids = {0}, entities = {0}, oins = {0}, uras = {0}, uuids = {0}, certs = {0};
    dups_t found = {0};
    size_t errors = 0;
    int rc = 0;
    /* Hash tables, not pairs: 10,000 providers are 50 million pairs. */
    if (zr_cfg_hash_init(&ids.head, count, 0) != 0 || zr_cfg_hash_init(&entities.head, count, 0) != 0 ||
        zr_cfg_hash_init(&oins.head, count, 0) != 0 || zr_cfg_hash_init(&uras.head, count, 0) != 0 ||
        zr_cfg_hash_init(&uuids.head, count * 2, 1) != 0 ||
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
            rc |= collect(&uras, t->ura, DUP_URA, 0, &found);
            for (size_t a = 0; a < t->service_count; a++)
                rc |= collect(&uuids, t->services[a].service_uuid, DUP_SERVICE, a, &found);
            for (size_t a = 0; a < nkeys; a++)
                rc |= collect(&certs, t->bsn_keys[a].key_name_sha256, DUP_CERT, a, &found);
            errors += report_dups(tenants, origins, i, &found, errs);
        }
        rc |= occurrences_add(&ids, t->id, i, 0);
        rc |= occurrences_add(&entities, t->entity_id, i, 0);
        rc |= occurrences_add(&oins, t->oin, i, 0);
        rc |= occurrences_add(&uras, t->ura, i, 0);
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
    occurrences_t *all[] = {&ids, &entities, &oins, &uras, &uuids, &certs};
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

/* care_providers_ledger: next to the directory by default, not in it: a
 * deploy that rewrites the directory (rsync --delete, a checkout, a new
 * release's symlink) must not take the history with it. */
static void read_ledger_path(zr_cfg_map_t *root, zr_config_t *cfg, int has_dir)
{
    size_t n;
    if (zr_cfg_get_path(root, "care_providers_ledger", 0, &cfg->care_providers_ledger) == 1) {
        n = strlen(cfg->care_providers_ledger);
        if ((n >= 5 && !strcmp(cfg->care_providers_ledger + n - 5, ".yaml")) ||
            (n >= 4 && !strcmp(cfg->care_providers_ledger + n - 4, ".yml")) || is_dir(cfg->care_providers_ledger))
            zr_cfg_error(root->ld, zr_cfg_map_get(root, "care_providers_ledger"), "care_providers_ledger",
                         "%s: must be a file of its own, not a directory or a *.yaml/*.yml file",
                         cfg->care_providers_ledger);
        return;
    }
    if (!has_dir)
        return;
    n = strlen(cfg->care_providers_dir);
    while (n > 1 && cfg->care_providers_dir[n - 1] == '/')
        n--;
    if (asprintf(&cfg->care_providers_ledger, "%.*s.ledger", (int)n, cfg->care_providers_dir) < 0) {
        cfg->care_providers_ledger = NULL;
        zr_cfg_error(root->ld, NULL, "care_providers_ledger", "out of memory");
    }
}

void zr_cfg_read_tenant_dirs(zr_cfg_map_t *root, zr_config_t *cfg, size_t inline_count)
{
    zr_cfg_loader_t *ld = root->ld;
    zr_tenant_set_t set = {0};
    char *former = NULL, *fallback = NULL;
    int has_dir = zr_cfg_get_path(root, "care_providers_dir", 0, &cfg->care_providers_dir) == 1;
    int has_former = zr_cfg_get_path(root, "former_care_providers_dir", 0, &cfg->former_care_providers_dir) == 1;

    read_ledger_path(root, cfg, has_dir);

    if (has_dir && !(ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR)) {
        if (!is_dir(cfg->care_providers_dir)) {
            zr_cfg_error(ld, zr_cfg_map_get(root, "care_providers_dir"), "care_providers_dir", "%s is not a directory",
                         cfg->care_providers_dir);
            goto end;
        }
        ld->error_count += zr_cfg_load_tenant_dir(ld, cfg->care_providers_dir, ZR_TENANT_LOAD_LOG_SKIPPED, &set);
        if (append_set(&cfg->tenants, &cfg->tenant_origins, &cfg->tenant_count, &set) != 0) {
            zr_cfg_error(ld, NULL, "care_providers_dir", "out of memory");
            goto end;
        }
        if (cfg->tenant_count == 0)
            zr_cfg_error(ld, zr_cfg_map_get(root, "care_providers_dir"), "care_providers_dir",
                         "holds no care provider (*.yaml, *.yml) and care_providers is empty");
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
    /* A file moved there from care_providers_dir keeps its relative paths. */
    if (has_dir)
        fallback = realpath(cfg->care_providers_dir, NULL);
    ld->error_count += load_dir(ld, former, fallback, ZR_TENANT_LOAD_LENIENT | ZR_TENANT_LOAD_FORMER | ZR_TENANT_LOAD_LOG_SKIPPED,
                               &set);
    if (append_set(&cfg->former_tenants, &cfg->former_tenant_origins, &cfg->former_tenant_count, &set) != 0)
        zr_cfg_error(ld, NULL, "former_care_providers_dir", "out of memory");
end:
    zr_config_tenant_set_free(&set);
    free(former);
    free(fallback);
}
