/* The string catalogs of the pages, templates/lang/<code>.txt (issue 18 §5,
 * include/zr/lang.h). Hand-written like the template engine: "key = value"
 * lines need no library, and the parser is small enough to harden and fuzz
 * (tests/fuzz/fuzz_lang_catalog.c). Loaded once at start on the main thread
 * and never changed while pages are served. */
#include "zr/lang.h"
#include "zr/log.h"
#include "zr/util.h"

#include "http_internal.h"

#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    char *key;
    char *value;
    int line;
} lang_entry_t;

struct zr_lang_catalog {
    lang_entry_t *entries; /* sorted by key */
    size_t count;
};

typedef struct {
    size_t count;
    char *codes[ZR_LANG_MAX];
    zr_lang_catalog_t *catalogs[ZR_LANG_MAX];
} lang_set_t;

static pthread_mutex_t lang_lock = PTHREAD_MUTEX_INITIALIZER;
static lang_set_t *lang_loaded;
static int lang_tried;

static void lang_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void lang_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- one catalog ---- */

void zr_lang_catalog_free(zr_lang_catalog_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        free(c->entries[i].key);
        free(c->entries[i].value);
    }
    free(c->entries);
    free(c);
}

static int lang_key_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
}

/* Valid UTF-8 (no overlong forms, no surrogates, at most U+10FFFF) and no
 * control character but tab: a catalog is text a browser will show. */
static int lang_text_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        unsigned cp;
        size_t more;
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            more = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            more = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            more = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + more >= n)
            return 0;
        for (size_t k = 1; k <= more; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += more + 1;
    }
    return 1;
}

static int lang_entry_cmp(const void *a, const void *b)
{
    return strcmp(((const lang_entry_t *)a)->key, ((const lang_entry_t *)b)->key);
}

static char *lang_strndup_trim(const char *s, size_t n)
{
    char *out;
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    out = malloc(n + 1);
    if (out) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
    return out;
}

int zr_lang_catalog_parse(const char *file, const char *text, size_t len, zr_lang_catalog_t **out, char *err,
                          size_t errlen)
{
    int rc = -1, lineno = 0;
    zr_lang_catalog_t *c = NULL;
    size_t cap = 0, pos = 0;
    const char *name = file ? file : "catalog";

    *out = NULL;
    if (len > ZR_LANG_MAX_FILE_BYTES) {
        lang_err(err, errlen, "%s: larger than %d bytes", name, ZR_LANG_MAX_FILE_BYTES);
        goto end;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        goto oom;
    /* a UTF-8 byte order mark is allowed once, at the start */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0)
        pos = 3;
    while (pos < len) {
        const char *line = text + pos, *nl = memchr(line, '\n', len - pos), *eq;
        size_t n = nl ? (size_t)(nl - line) : len - pos, klen;
        lang_entry_t *e;

        lineno++;
        pos += n + (nl ? 1 : 0);
        if (n && line[n - 1] == '\r')
            n--;
        if (n > ZR_LANG_MAX_LINE) {
            lang_err(err, errlen, "%s:%d: line longer than %d bytes", name, lineno, ZR_LANG_MAX_LINE);
            goto end;
        }
        if (!lang_text_valid((const unsigned char *)line, n)) {
            lang_err(err, errlen, "%s:%d: not valid UTF-8 text (or a control character)", name, lineno);
            goto end;
        }
        while (n && (*line == ' ' || *line == '\t')) {
            line++;
            n--;
        }
        if (!n || line[0] == '#')
            continue;
        eq = memchr(line, '=', n);
        if (!eq) {
            lang_err(err, errlen, "%s:%d: expected 'key = value'", name, lineno);
            goto end;
        }
        klen = (size_t)(eq - line);
        while (klen && (line[klen - 1] == ' ' || line[klen - 1] == '\t'))
            klen--;
        if (!klen || klen > ZR_LANG_MAX_KEY || line[0] == '.' || line[klen - 1] == '.') {
            lang_err(err, errlen, "%s:%d: key empty, longer than %d or beginning or ending with '.'", name,
                     lineno, ZR_LANG_MAX_KEY);
            goto end;
        }
        for (size_t i = 0; i < klen; i++) {
            if (!lang_key_char(line[i])) {
                lang_err(err, errlen, "%s:%d: key '%.*s': only a-z 0-9 _ . - allowed", name, lineno, (int)klen,
                         line);
                goto end;
            }
        }
        if (c->count == ZR_LANG_MAX_KEYS) {
            lang_err(err, errlen, "%s:%d: more than %d keys", name, lineno, ZR_LANG_MAX_KEYS);
            goto end;
        }
        if (c->count == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            lang_entry_t *grown = realloc(c->entries, ncap * sizeof(*grown));
            if (!grown)
                goto oom;
            c->entries = grown;
            cap = ncap;
        }
        e = &c->entries[c->count];
        e->key = lang_strndup_trim(line, klen);
        e->value = e->key ? lang_strndup_trim(eq + 1, n - (size_t)(eq + 1 - line)) : NULL;
        e->line = lineno;
        if (!e->key || !e->value) {
            free(e->key);
            free(e->value);
            goto oom;
        }
        c->count++;
    }
    if (c->count)
        qsort(c->entries, c->count, sizeof(*c->entries), lang_entry_cmp);
    for (size_t i = 1; i < c->count; i++) {
        if (strcmp(c->entries[i - 1].key, c->entries[i].key) == 0) {
            const lang_entry_t *a = &c->entries[i - 1], *b = &c->entries[i];
            lang_err(err, errlen, "%s:%d: key '%s' given twice (also on line %d)", name,
                     a->line > b->line ? a->line : b->line, a->key, a->line > b->line ? b->line : a->line);
            goto end;
        }
    }
    *out = c;
    c = NULL;
    rc = 0;
    goto end;
oom:
    lang_err(err, errlen, "%s: out of memory", name);
end:
    zr_lang_catalog_free(c);
    return rc;
}

size_t zr_lang_catalog_size(const zr_lang_catalog_t *c)
{
    return c ? c->count : 0;
}

const char *zr_lang_catalog_key(const zr_lang_catalog_t *c, size_t i)
{
    return c && i < c->count ? c->entries[i].key : NULL;
}

const char *zr_lang_catalog_value(const zr_lang_catalog_t *c, size_t i)
{
    return c && i < c->count ? c->entries[i].value : NULL;
}

int zr_lang_catalog_line(const zr_lang_catalog_t *c, size_t i)
{
    return c && i < c->count ? c->entries[i].line : 0;
}

static const lang_entry_t *lang_catalog_find(const zr_lang_catalog_t *c, const char *key)
{
    lang_entry_t probe = {.key = (char *)key};
    if (!c || !key || !c->count)
        return NULL;
    return bsearch(&probe, c->entries, c->count, sizeof(*c->entries), lang_entry_cmp);
}

const char *zr_lang_catalog_get(const zr_lang_catalog_t *c, const char *key)
{
    const lang_entry_t *e = lang_catalog_find(c, key);
    return e ? e->value : NULL;
}

/* ---- the set of languages ---- */

static void lang_set_free(lang_set_t *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->count; i++) {
        free(s->codes[i]);
        zr_lang_catalog_free(s->catalogs[i]);
    }
    free(s);
}

/* A catalog's code is its file name: a primary language subtag (BCP 47),
 * two or three lower-case letters. */
static int lang_code_valid(const char *code, size_t n)
{
    if (n < 2 || n > 3)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (code[i] < 'a' || code[i] > 'z')
            return 0;
    return 1;
}

static int lang_code_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    /* nl first, en second: ZR_LANG_NL and ZR_LANG_EN keep their numbers */
    int rx = strcmp(x, "nl") == 0 ? 0 : strcmp(x, "en") == 0 ? 1 : 2;
    int ry = strcmp(y, "nl") == 0 ? 0 : strcmp(y, "en") == 0 ? 1 : 2;
    return rx != ry ? rx - ry : strcmp(x, y);
}

/* Every catalog has exactly nl's keys: a language is complete or refused. */
static int lang_set_check(const lang_set_t *s, const char *dir, char *err, size_t errlen)
{
    const zr_lang_catalog_t *ref = s->catalogs[0];

    for (size_t l = 0; l < s->count; l++) {
        const zr_lang_catalog_t *c = s->catalogs[l];
        if (!zr_lang_catalog_get(c, "lang.name")) {
            lang_err(err, errlen, "%s/lang/%s.txt:1: no 'lang.name' (the language's own name)", dir, s->codes[l]);
            return -1;
        }
        if (l == 0)
            continue;
        for (size_t i = 0; i < ref->count; i++) {
            if (!lang_catalog_find(c, ref->entries[i].key)) {
                lang_err(err, errlen, "%s/lang/%s.txt: key '%s' missing (%s/lang/nl.txt:%d has it)", dir,
                         s->codes[l], ref->entries[i].key, dir, ref->entries[i].line);
                return -1;
            }
        }
        for (size_t i = 0; i < c->count; i++) {
            if (!lang_catalog_find(ref, c->entries[i].key)) {
                lang_err(err, errlen, "%s/lang/%s.txt:%d: key '%s' is not in nl.txt (the reference)", dir,
                         s->codes[l], c->entries[i].line, c->entries[i].key);
                return -1;
            }
        }
    }
    return 0;
}

static int lang_set_read(const char *dir, lang_set_t **out, char *err, size_t errlen)
{
    int rc = -1;
    char path[4096], *text = NULL, *codes[ZR_LANG_MAX];
    size_t ncodes = 0, len = 0;
    DIR *d = NULL;
    struct dirent *de;
    lang_set_t *s = NULL;

    *out = NULL;
    snprintf(path, sizeof(path), "%s/lang", dir);
    d = opendir(path);
    if (!d) {
        lang_err(err, errlen, "%s: cannot open the language catalogs (templates/lang)", path);
        goto end;
    }
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
            continue;
        if (!lang_code_valid(de->d_name, n - 4)) {
            lang_err(err, errlen, "%s/%s: a catalog is named <code>.txt, code two or three letters a-z", path,
                     de->d_name);
            goto end;
        }
        if (ncodes == ZR_LANG_MAX) {
            lang_err(err, errlen, "%s: more than %d catalogs", path, ZR_LANG_MAX);
            goto end;
        }
        codes[ncodes] = lang_strndup_trim(de->d_name, n - 4);
        if (!codes[ncodes])
            goto end;
        ncodes++;
    }
    qsort(codes, ncodes, sizeof(*codes), lang_code_cmp);
    if (ncodes < 2 || strcmp(codes[0], "nl") != 0 || strcmp(codes[1], "en") != 0) {
        lang_err(err, errlen, "%s: nl.txt and en.txt are required", path);
        goto end;
    }
    s = calloc(1, sizeof(*s));
    if (!s)
        goto end;
    for (size_t i = 0; i < ncodes; i++) {
        char file[4200];
        snprintf(file, sizeof(file), "%s/%s.txt", path, codes[i]);
        s->codes[i] = codes[i];
        codes[i] = NULL;
        s->count++;
        if (zr_file_read(file, ZR_LANG_MAX_FILE_BYTES + 1, &text, &len) != 0) {
            lang_err(err, errlen, "%s: cannot read", file);
            goto end;
        }
        if (zr_lang_catalog_parse(file, text, len, &s->catalogs[i], err, errlen) != 0)
            goto end;
        zr_release(text);
    }
    if (lang_set_check(s, dir, err, errlen) != 0)
        goto end;
    *out = s;
    s = NULL;
    rc = 0;
end:
    for (size_t i = 0; i < ncodes; i++)
        free(codes[i]);
    free(text);
    lang_set_free(s);
    if (d)
        closedir(d);
    return rc;
}

int zr_lang_load(const char *template_dir, char *err, size_t errlen)
{
    lang_set_t *s = NULL;
    char *dir = template_dir ? zr_strdup(template_dir) : http_page_template_dir();
    int rc = -1;

    if (!dir) {
        lang_err(err, errlen, "out of memory");
        goto end;
    }
    if (lang_set_read(dir, &s, err, errlen) != 0)
        goto end;
    pthread_mutex_lock(&lang_lock);
    /* start-up only (or a test): no page is being rendered from the old set */
    lang_set_free(lang_loaded);
    __atomic_store_n(&lang_loaded, s, __ATOMIC_RELEASE);
    lang_tried = 1;
    pthread_mutex_unlock(&lang_lock);
    rc = 0;
end:
    free(dir);
    return rc;
}

void http_lang_forget(void)
{
    pthread_mutex_lock(&lang_lock);
    lang_set_free(lang_loaded);
    __atomic_store_n(&lang_loaded, NULL, __ATOMIC_RELEASE);
    lang_tried = 0;
    pthread_mutex_unlock(&lang_lock);
}

/* The loaded set; a process that did not load at start (a unit test) loads
 * once on first use, and a failure is logged once. */
static const lang_set_t *lang_set(void)
{
    /* Loaded at start and never changed while serving: every word of every
     * page is looked up here, so the common case takes no lock. */
    const lang_set_t *s = __atomic_load_n(&lang_loaded, __ATOMIC_ACQUIRE);

    if (s)
        goto end;
    pthread_mutex_lock(&lang_lock);
    if (!lang_loaded && !lang_tried) {
        char err[512] = "", *dir = http_page_template_dir();
        lang_set_t *read = NULL;
        lang_tried = 1;
        if (!dir || lang_set_read(dir, &read, err, sizeof(err)) != 0)
            zr_log_error("lang", "%s", err[0] ? err : "out of memory");
        else
            __atomic_store_n(&lang_loaded, read, __ATOMIC_RELEASE);
        free(dir);
    }
    s = lang_loaded;
    pthread_mutex_unlock(&lang_lock);
end:
    return s;
}

size_t zr_lang_count(void)
{
    const lang_set_t *s = lang_set();
    return s ? s->count : 2;
}

const char *zr_lang_code(zr_lang_t lang)
{
    const lang_set_t *s = lang_set();
    if (s && (size_t)lang < s->count)
        return s->codes[lang];
    return lang == ZR_LANG_EN ? "en" : "nl";
}

int zr_lang_from_code(const char *code, zr_lang_t *out)
{
    const lang_set_t *s = lang_set();
    size_t n = s ? s->count : 2;

    if (!code)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const char *known = s ? s->codes[i] : i == 0 ? "nl" : "en";
        if (strcasecmp(code, known) == 0) {
            *out = (zr_lang_t)i;
            return 0;
        }
    }
    return -1;
}

const char *zr_lang_text(zr_lang_t lang, const char *key)
{
    const lang_set_t *s = lang_set();
    const char *v = NULL;

    if (s && (size_t)lang < s->count)
        v = zr_lang_catalog_get(s->catalogs[lang], key);
    if (!v && s)
        v = zr_lang_catalog_get(s->catalogs[ZR_LANG_NL], key);
    if (!v)
        zr_log_error("lang", "no text for key %s", key ? key : "(null)");
    return v ? v : "";
}

int zr_lang_has(zr_lang_t lang, const char *key)
{
    const lang_set_t *s = lang_set();
    return s && (size_t)lang < s->count && zr_lang_catalog_get(s->catalogs[lang], key) != NULL;
}
