/* The care providers' ledger (include/zr/tenant_ledger.h): DICTU's
 * aansluitbestand must list every current and former provider, and a
 * provider directory only knows the current ones. */
#include "zr/tenant_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/json.h"
#include "zr/util.h"

/* A ledger bigger than this is not ours (10,000 providers with a year of
 * weekly changes are ~40 MB). */
#define ZR_LEDGER_MAX_BYTES (256L * 1024 * 1024)
/* One record is ~600 bytes; a line longer than this is not one. */
#define ZR_LEDGER_MAX_LINE (64 * 1024)

#ifdef ZR_TESTING
static void (*test_hook)(void *);
static void *test_hook_ctx;

void zr_tenant_ledger_set_test_hook(void (*hook)(void *), void *ctx)
{
    test_hook = hook;
    test_hook_ctx = ctx;
}
#endif

void zr_tenant_ledger_time(time_t t, char out[32])
{
    struct tm tm;
    if (gmtime_r(&t, &tm))
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, 32, "?");
}

static void asn1_iso(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, 32, "?");
}

static int set_str(json_t *o, const char *key, const char *value)
{
    return value ? json_object_set_new(o, key, json_string(value)) : 0;
}

json_t *zr_tenant_ledger_record(const zr_tenant_t *t)
{
    json_t *r = json_object(), *services = json_array(), *certs = json_array(), *out = NULL;
    char date[32];
    int rc = 0;
    if (!r || !services || !certs || !t->id)
        goto end;
    rc |= set_str(r, "id", t->id);
    rc |= set_str(r, "name", t->name);
    rc |= set_str(r, "entity_id", t->entity_id);
    rc |= set_str(r, "oin", t->oin);
    rc |= set_str(r, "ura", t->ura);
    for (size_t i = 0; t->services && i < t->service_count; i++) {
        json_t *s = json_object();
        rc |= s ? 0 : -1;
        rc |= json_object_set_new(s, "loa", json_string(zr_loa_name(t->services[i].min_loa)));
        rc |= set_str(s, "service_uuid", t->services[i].service_uuid);
        rc |= json_array_append_new(services, s);
    }
    rc |= json_object_set(r, "services", services);
    for (size_t k = 0; k < t->bsn_key_count && k < 2; k++) {
        const zr_tenant_key_t *key = &t->bsn_keys[k];
        json_t *c;
        if (!key->cert || !key->key_name_sha256)
            continue; /* unreadable (a former provider's): the caller falls back */
        c = json_object();
        rc |= c ? 0 : -1;
        rc |= set_str(c, "sha256", key->key_name_sha256);
        asn1_iso(X509_get0_notBefore(key->cert), date);
        rc |= set_str(c, "not_before", date);
        asn1_iso(X509_get0_notAfter(key->cert), date);
        rc |= set_str(c, "not_after", date);
        rc |= json_array_append_new(certs, c);
    }
    rc |= json_object_set(r, "certificates", certs);
    rc |= set_str(r, "kvk", t->kvk);
    rc |= set_str(r, "contact", t->contact);
    rc |= set_str(r, "akkoordverklaring", t->akkoordverklaring);
    if (rc == 0) {
        out = r;
        r = NULL;
    }
end:
    json_decref(r);
    json_decref(services);
    json_decref(certs);
    return out;
}

/* ---- fold ---------------------------------------------------------------- */

static void warnf(zr_tenant_ledger_warn_fn warn, void *ctx, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void warnf(zr_tenant_ledger_warn_fn warn, void *ctx, const char *fmt, ...)
{
    va_list ap;
    char msg[512];
    if (!warn)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    warn(ctx, msg);
}

static zr_tenant_ledger_entry_t *entry_for(zr_tenant_ledger_t *l, const char *id)
{
    json_t *at = json_object_get(l->index, id);
    zr_tenant_ledger_entry_t *e;
    if (at)
        return &l->entries[json_integer_value(at)];
    if (l->count == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        zr_tenant_ledger_entry_t *grown = realloc(l->entries, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        l->entries = grown;
        l->cap = cap;
    }
    e = &l->entries[l->count];
    memset(e, 0, sizeof(*e));
    if (!(e->id = strdup(id)) || json_object_set_new(l->index, id, json_integer((json_int_t)l->count)) != 0) {
        free(e->id);
        return NULL;
    }
    l->count++;
    return e;
}

typedef enum { EV_ADDED, EV_CHANGED, EV_LEFT, EV_RETURNED, EV_UNKNOWN } event_t;

static event_t event_of(const char *s)
{
    static const char *const names[] = {"added", "changed", "left", "returned"};
    for (int i = 0; s && i < 4; i++)
        if (!strcmp(s, names[i]))
            return (event_t)i;
    return EV_UNKNOWN;
}

/* One line; 1 when it was a record, 0 when skipped (warned), -1 out of memory. */
static int fold_line(zr_tenant_ledger_t *l, const char *line, size_t len, const char *why_torn)
{
    /* The project's one parser of JSON from outside: size and depth bound. */
    json_t *o = why_torn ? NULL : zr_json_parse_object(line, len, ZR_LEDGER_MAX_LINE, NULL);
    json_t *provider = json_object_get(o, "provider");
    const char *at = json_string_value(json_object_get(o, "at"));
    const char *id = json_string_value(json_object_get(o, "id"));
    event_t ev = event_of(json_string_value(json_object_get(o, "event")));
    zr_tenant_ledger_entry_t *e;
    int rc = 0;
    if (!o || !at || strlen(at) >= sizeof(e->added_at) || !id || !*id || ev == EV_UNKNOWN ||
        !json_is_object(provider) || !json_equal(json_object_get(provider, "id"), json_object_get(o, "id")))
        goto end;
    if (!(e = entry_for(l, id))) {
        rc = -1;
        goto end;
    }
    json_decref(e->provider);
    e->provider = json_incref(provider);
    switch (ev) {
    case EV_ADDED:
    case EV_RETURNED:
        e->current = 1;
        snprintf(e->added_at, sizeof(e->added_at), "%s", at);
        e->left_at[0] = '\0';
        break;
    case EV_CHANGED:
        e->current = 1;
        snprintf(e->changed_at, sizeof(e->changed_at), "%s", at);
        break;
    default:
        e->current = 0;
        snprintf(e->left_at, sizeof(e->left_at), "%s", at);
        break;
    }
    rc = 1;
end:
    json_decref(o);
    return rc;
}

int zr_tenant_ledger_fold(const char *text, size_t len, const char *name, zr_tenant_ledger_t *out,
                          zr_tenant_ledger_warn_fn warn, void *ctx)
{
    size_t pos = 0, lineno = 0;
    if (!out->index && !(out->index = json_object()))
        return -1;
    while (pos < len) {
        const char *start = text + pos, *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        int rc;
        lineno++;
        pos += n + (nl ? 1 : 0);
        if (n == 0)
            continue; /* the separator written after a torn line */
        /* A line without its newline was cut short: never trust it, even
         * when what is there happens to parse. */
        rc = fold_line(out, start, n, nl ? NULL : "torn");
        if (rc < 0)
            return -1;
        if (rc == 0) {
            out->skipped++;
            if (!nl)
                warnf(warn, ctx, "%s:%zu: skipped an incomplete last line (a write cut short, e.g. by a crash)", name,
                      lineno);
            else
                warnf(warn, ctx, "%s:%zu: skipped a line that is not a ledger record", name, lineno);
        } else {
            out->lines++;
        }
    }
    return 0;
}

const zr_tenant_ledger_entry_t *zr_tenant_ledger_find(const zr_tenant_ledger_t *l, const char *id)
{
    json_t *at = l->index && id ? json_object_get(l->index, id) : NULL;
    return at ? &l->entries[json_integer_value(at)] : NULL;
}

void zr_tenant_ledger_free(zr_tenant_ledger_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->entries[i].id);
        json_decref(l->entries[i].provider);
    }
    free(l->entries);
    json_decref(l->index);
    memset(l, 0, sizeof(*l));
}

/* ---- diff ---------------------------------------------------------------- */

static int append_event(zr_buf_t *b, const char *at, const char *event, const char *id, json_t *provider,
                        const char *by)
{
    json_t *o = json_object();
    char *line = NULL;
    int rc = -1;
    /* Keys in this order: a person reads the ledger too. */
    if (!o || json_object_set_new(o, "at", json_string(at)) != 0 ||
        json_object_set_new(o, "event", json_string(event)) != 0 || json_object_set_new(o, "id", json_string(id)) != 0 ||
        json_object_set(o, "provider", provider) != 0 || (by && json_object_set_new(o, "by", json_string(by)) != 0))
        goto end;
    /* Compact, one line: a provider's text never holds a raw newline
     * (jansson escapes it). */
    if (!(line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto end;
    rc = zr_buf_printf(b, "%s\n", line);
end:
    free(line);
    json_decref(o);
    return rc;
}

int zr_tenant_ledger_diff(const zr_tenant_ledger_t *l, json_t *const *records, size_t count, const char *at,
                          const char *by, char **lines, zr_tenant_ledger_counts_t *counts)
{
    zr_buf_t b;
    json_t *seen = json_object();
    int rc = -1;
    zr_buf_init(&b);
    memset(counts, 0, sizeof(*counts));
    if (!seen)
        goto end;
    for (size_t i = 0; i < count; i++) {
        const char *id = json_string_value(json_object_get(records[i], "id"));
        const zr_tenant_ledger_entry_t *e = zr_tenant_ledger_find(l, id);
        if (!id || json_object_set_new(seen, id, json_true()) != 0)
            goto end;
        /* A quarantined provider (issue 14 §1) is still connected at TVS,
         * but what its file says now is not to be trusted: the ledger keeps
         * its last good record, and records one only once it loads. */
        if (json_is_true(json_object_get(records[i], "quarantined")))
            continue;
        if (!e) {
            if (append_event(&b, at, "added", id, records[i], by) != 0)
                goto end;
            counts->added++;
        } else if (!e->current) {
            if (append_event(&b, at, "returned", id, records[i], by) != 0)
                goto end;
            counts->returned++;
        } else if (!json_equal(e->provider, records[i])) {
            if (append_event(&b, at, "changed", id, records[i], by) != 0)
                goto end;
            counts->changed++;
        }
    }
    for (size_t i = 0; i < l->count; i++) {
        const zr_tenant_ledger_entry_t *e = &l->entries[i];
        if (!e->current || json_object_get(seen, e->id))
            continue;
        if (append_event(&b, at, "left", e->id, e->provider, by) != 0)
            goto end;
        counts->left++;
    }
    if (b.len) {
        char *old = *lines, *joined = NULL;
        if (asprintf(&joined, "%s%s", old ? old : "", b.data) < 0)
            goto end;
        free(old);
        *lines = joined;
    }
    rc = 0;
end:
    json_decref(seen);
    zr_buf_free(&b);
    return rc;
}

/* ---- the file ------------------------------------------------------------ */

/* The whole file from the start (our fd may be O_APPEND). */
static int read_all(int fd, const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    struct stat st;
    char *buf = NULL;
    size_t have = 0;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot stat %s: %s", path, strerror(errno));
        goto end;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        goto end;
    }
    if (st.st_size > ZR_LEDGER_MAX_BYTES) {
        snprintf(err, errlen, "%s is larger than %ld bytes; not a ledger", path, ZR_LEDGER_MAX_BYTES);
        goto end;
    }
    if (!(buf = malloc((size_t)st.st_size + 1))) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto end;
    }
    while (have < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + have, (size_t)st.st_size - have, (off_t)have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto end;
        }
        if (n == 0)
            break;
        have += (size_t)n;
    }
    buf[have] = '\0';
    *text = buf;
    *len = have;
    buf = NULL;
    rc = 0;
end:
    free(buf);
    return rc;
}

static int lock_fd(int fd, int how, const char *path, char *err, size_t errlen)
{
    while (flock(fd, how) != 0) {
        if (errno == EINTR)
            continue;
        snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int zr_tenant_ledger_read(const char *path, zr_tenant_ledger_t *out, int *missing, zr_tenant_ledger_warn_fn warn,
                          void *ctx, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    memset(out, 0, sizeof(*out));
    *missing = 0;
    if (fd < 0 && errno == ENOENT) {
        *missing = 1;
        rc = (out->index = json_object()) ? 0 : -1;
        if (rc)
            snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto end;
    }
    /* Shared: a writer's append is never seen half done. */
    if (lock_fd(fd, LOCK_SH, path, err, errlen) != 0 || read_all(fd, path, &text, &len, err, errlen) != 0)
        goto end;
    if (zr_tenant_ledger_fold(text, len, path, out, warn, ctx) != 0) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto end;
    }
    rc = 0;
end:
    if (fd >= 0)
        close(fd);
    free(text);
    return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A new file's name must survive a crash too. */
static int fsync_dir_of(const char *path)
{
    char *copy = strdup(path);
    int fd = -1, rc = -1;
    if (!copy)
        return -1;
    fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0 && fsync(fd) == 0)
        rc = 0;
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int zr_tenant_ledger_update(const char *path, const zr_tenant_t *tenants, size_t count, time_t now,
                            zr_tenant_ledger_counts_t *counts, zr_tenant_ledger_warn_fn warn, void *ctx, char *err,
                            size_t errlen)
{
    zr_tenant_ledger_t l = {0};
    json_t **records = calloc(count ? count : 1, sizeof(*records));
    char *text = NULL, *lines = NULL, *out = NULL, at[32], by[320], host[256] = "?";
    size_t len = 0;
    struct stat st;
    int created = stat(path, &st) != 0 && errno == ENOENT;
    int fd = -1, rc = -1;

    memset(counts, 0, sizeof(*counts));
    if (!records) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < count; i++)
        if (!(records[i] = tenants[i].quarantined ? json_pack("{s:s?, s:b}", "id", tenants[i].id, "quarantined", 1)
                                                  : zr_tenant_ledger_record(&tenants[i])) ||
            !json_object_get(records[i], "id")) {
            snprintf(err, errlen, "out of memory (or a care provider without an id)");
            goto end;
        }
    /* 0644: nothing in it is secret, and the operator reads it. */
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s for appending: %s", path, strerror(errno));
        goto end;
    }
    /* Every relay process of a cluster may share the file: the fold, the
     * diff and the append are one step under the lock, so each event is
     * written once whoever comes first. */
    if (lock_fd(fd, LOCK_EX, path, err, errlen) != 0 || read_all(fd, path, &text, &len, err, errlen) != 0)
        goto end;
    if (zr_tenant_ledger_fold(text, len, path, &l, warn, ctx) != 0) {
        snprintf(err, errlen, "out of memory reading %s", path);
        goto end;
    }
    zr_tenant_ledger_time(now, at);
    gethostname(host, sizeof(host) - 1);
    snprintf(by, sizeof(by), "%s pid %ld", host, (long)getpid());
    if (zr_tenant_ledger_diff(&l, records, count, at, by, &lines, counts) != 0) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
#ifdef ZR_TESTING
    if (test_hook)
        test_hook(test_hook_ctx);
#endif
    if (lines) {
        /* After a torn last line, ours starts on a line of its own; the
         * fragment stays (append-only) and is skipped on reading. */
        if (asprintf(&out, "%s%s", len && text[len - 1] != '\n' ? "\n" : "", lines) < 0) {
            out = NULL;
            snprintf(err, errlen, "out of memory");
            goto end;
        }
        /* One write(): a reader or a crash sees whole lines or a torn last one. */
        if (write_all(fd, out, strlen(out)) != 0 || fsync(fd) != 0) {
            snprintf(err, errlen, "cannot append to %s: %s", path, strerror(errno));
            goto end;
        }
    }
    if (created && fsync_dir_of(path) != 0) {
        snprintf(err, errlen, "cannot sync the directory of %s: %s", path, strerror(errno));
        goto end;
    }
    rc = 0;
end:
    if (fd >= 0)
        close(fd); /* releases the lock */
    for (size_t i = 0; records && i < count; i++)
        json_decref(records[i]);
    free(records);
    free(text);
    free(lines);
    free(out);
    zr_tenant_ledger_free(&l);
    return rc;
}
