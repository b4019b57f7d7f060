/* The YAML side of the configuration: libyaml's document API gives a node
 * tree that keeps line numbers, so every error can say FILE:LINE: key.path.
 * Getters here only read and type-check; meaning lives in config.c. */
#include "config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zr/util.h"

void zr_cfg_error_line(zr_config_errors_t *errs, const char *fmt, ...)
{
    va_list ap;
    char *line = NULL;
    char **grown;
    va_start(ap, fmt);
    if (vasprintf(&line, fmt, ap) < 0)
        line = NULL;
    va_end(ap);
    if (!line || !errs)
        goto end;
    grown = realloc(errs->lines, (errs->count + 1) * sizeof(*grown));
    if (!grown)
        goto end;
    errs->lines = grown;
    errs->lines[errs->count++] = line;
    line = NULL;
end:
    free(line);
}

void zr_cfg_error(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    ld->error_count++;
    if (path && *path)
        zr_cfg_error_line(ld->errs, "%s:%d: %s: %s", ld->file, zr_cfg_line(at), path, msg ? msg : "?");
    else
        zr_cfg_error_line(ld->errs, "%s:%d: %s", ld->file, zr_cfg_line(at), msg ? msg : "?");
    free(msg);
}

int zr_cfg_line(const yaml_node_t *n)
{
    return n ? (int)n->start_mark.line + 1 : 1;
}

static char *dir_of(const char *path)
{
    char *copy = strdup(path), *slash, *abs = NULL;
    if (!copy)
        return NULL;
    slash = strrchr(copy, '/');
    if (!slash)
        strcpy(copy, ".");
    else if (slash == copy)
        slash[1] = '\0';
    else
        *slash = '\0';
    abs = realpath(copy, NULL);
    if (!abs)
        abs = copy;
    else
        free(copy);
    return abs;
}

/* libyaml names two places: where it gave up (problem_mark) and the token
 * it was inside (context_mark). An unclosed quote or a key without ':' is
 * noticed lines later, at the end of the file or the next line, so the line
 * to fix is the context's; inside a block mapping or a plain scalar the
 * problem's line is (the context is where the mapping began, often line 1). */
static void report_syntax_error(zr_cfg_loader_t *ld, const char *path, const yaml_parser_t *p, const char *data,
                                size_t len)
{
    const char *problem = p->problem ? p->problem : "?";
    int problem_line = (int)p->problem_mark.line + 1, context_line = (int)p->context_mark.line + 1;
    int unclosed = p->context && !strcmp(p->context, "while scanning a quoted scalar") &&
                   strstr(problem, "end of stream") != NULL;
    int keyless = p->context && !strcmp(p->context, "while scanning a simple key");
    if (p->error == YAML_READER_ERROR) {
        /* The reader (encoding, control characters) gives a byte offset
         * only; its mark stays at line 1. */
        int line = 1;
        for (size_t i = 0; i < p->problem_offset && i < len; i++)
            line += data[i] == '\n';
        zr_cfg_error_line(ld->errs, "%s:%d: YAML syntax error: %s%s", path, line, problem,
                          strstr(problem, "UTF-8") ? "; the file must be UTF-8 (saved as Latin-1 or Windows-1252?)"
                                                   : "");
    } else if ((unclosed || keyless) && context_line != problem_line)
        zr_cfg_error_line(ld->errs, "%s:%d: YAML syntax error: %s%s at line %d (%s that starts here)", path,
                          context_line, unclosed ? "unclosed quote: " : "", problem, problem_line, p->context);
    else if (p->context)
        zr_cfg_error_line(ld->errs, "%s:%d: YAML syntax error: %s%s (%s that starts at line %d)", path, problem_line,
                          unclosed ? "unclosed quote: " : "", problem, p->context, context_line);
    else
        zr_cfg_error_line(ld->errs, "%s:%d: YAML syntax error: %s", path, problem_line, problem);
}

int zr_cfg_parse(zr_cfg_loader_t *ld, const char *path)
{
    yaml_parser_t parser;
    yaml_document_t extra;
    char *data = NULL;
    size_t len = 0;
    int parser_ready = 0, rc = -1;

    errno = 0;
    if (zr_file_read(path, ZR_CFG_MAX_FILE, &data, &len) != 0) {
        ld->error_count++;
        zr_cfg_error_line(ld->errs, "%s: cannot read the configuration file (%s)", path,
                          errno ? strerror(errno) : "larger than 1 MiB");
        goto end;
    }
    if (!ld->dir) /* preset by a caller that knows it (a whole directory of files) */
        ld->dir = dir_of(path);
    if (!ld->dir || !yaml_parser_initialize(&parser))
        goto end;
    parser_ready = 1;
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &ld->doc)) {
        ld->error_count++;
        report_syntax_error(ld, path, &parser, data, len);
        goto end;
    }
    ld->have_doc = 1;
    if (!yaml_document_get_root_node(&ld->doc)) {
        ld->error_count++;
        zr_cfg_error_line(ld->errs, "%s:1: the configuration is empty", path);
        goto end;
    }
    /* A second document would be silently ignored: refuse it. */
    if (yaml_parser_load(&parser, &extra)) {
        int more = yaml_document_get_root_node(&extra) != NULL;
        int line = more ? (int)yaml_document_get_root_node(&extra)->start_mark.line + 1 : 0;
        yaml_document_delete(&extra);
        if (more) {
            ld->error_count++;
            zr_cfg_error_line(ld->errs, "%s:%d: only one YAML document is allowed", path, line);
            goto end;
        }
    }
    rc = 0;
end:
    if (parser_ready)
        yaml_parser_delete(&parser);
    free(data);
    return rc;
}

void zr_cfg_loader_free(zr_cfg_loader_t *ld)
{
    if (ld->have_doc)
        yaml_document_delete(&ld->doc);
    ld->have_doc = 0;
    zr_release(ld->dir);
    zr_cfg_quarantine_dropped_free(ld);
}

yaml_node_t *zr_cfg_node(zr_cfg_loader_t *ld, int index)
{
    return yaml_document_get_node(&ld->doc, index);
}

int zr_cfg_is_null(const yaml_node_t *n)
{
    const char *v;
    if (!n)
        return 1;
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)n->data.scalar.value;
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL");
}

/* Paths are short in any real file; a pathological one is cut, not overrun. */
void zr_cfg_path_key(char out[ZR_CFG_PATH_MAX], const char *parent, const char *key)
{
    int n;
    if (parent && *parent)
        n = snprintf(out, ZR_CFG_PATH_MAX, "%s.%s", parent, key);
    else
        n = snprintf(out, ZR_CFG_PATH_MAX, "%s", key);
    if (n < 0)
        out[0] = '\0';
}

void zr_cfg_path_index(char out[ZR_CFG_PATH_MAX], const char *parent, size_t i)
{
    if (snprintf(out, ZR_CFG_PATH_MAX, "%s[%zu]", parent, i) < 0)
        out[0] = '\0';
}

const char *zr_cfg_scalar(zr_cfg_loader_t *ld, const yaml_node_t *n, const char *path)
{
    if (!n || n->type != YAML_SCALAR_NODE) {
        zr_cfg_error(ld, n, path, "must be a single value, not a %s",
                     n && n->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
        return NULL;
    }
    return (const char *)n->data.scalar.value;
}

static const char *closest(const char *word, const char *const *allowed)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1, limit = strlen(word) / 3 + 1;
    for (size_t i = 0; allowed[i]; i++) {
        size_t d = zr_cfg_distance(word, allowed[i]);
        if (d < best_d) {
            best_d = d;
            best = allowed[i];
        }
    }
    return best && best_d <= (limit < 3 ? limit : 3) ? best : NULL;
}

int zr_cfg_map_open(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path,
                    const char *const *allowed, zr_cfg_map_t *m)
{
    memset(m, 0, sizeof(*m));
    m->ld = ld;
    snprintf(m->path, sizeof(m->path), "%s", path);
    if (!node || node->type != YAML_MAPPING_NODE) {
        zr_cfg_error(ld, node, path, "must be a mapping (key: value lines)");
        return -1;
    }
    m->node = node;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = zr_cfg_node(ld, p->key);
        const char *name;
        char kpath[ZR_CFG_PATH_MAX];
        int known = 0;
        if (!k || k->type != YAML_SCALAR_NODE) {
            zr_cfg_error(ld, k, path, "keys must be plain names");
            continue;
        }
        name = (const char *)k->data.scalar.value;
        zr_cfg_path_key(kpath, path, name);
        for (size_t i = 0; allowed[i] && !known; i++)
            known = !strcmp(name, allowed[i]);
        if (!known) {
            const char *hint = closest(name, allowed);
            if (hint)
                zr_cfg_error(ld, k, kpath, "unknown key (did you mean '%s'?)", hint);
            else
                zr_cfg_error(ld, k, kpath, "unknown key");
            continue;
        }
        for (yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
            yaml_node_t *k2 = zr_cfg_node(ld, q->key);
            if (k2 && k2->type == YAML_SCALAR_NODE && !strcmp((const char *)k2->data.scalar.value, name)) {
                zr_cfg_error(ld, k, kpath, "duplicate key (first at line %d)", zr_cfg_line(k2));
                break;
            }
        }
    }
    return 0;
}

yaml_node_t *zr_cfg_map_key(const zr_cfg_map_t *m, const char *key)
{
    if (!m->node)
        return NULL;
    for (yaml_node_pair_t *p = m->node->data.mapping.pairs.start; p < m->node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = zr_cfg_node(m->ld, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return k;
    }
    return NULL;
}

yaml_node_t *zr_cfg_map_get(const zr_cfg_map_t *m, const char *key)
{
    if (!m->node)
        return NULL;
    for (yaml_node_pair_t *p = m->node->data.mapping.pairs.start; p < m->node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = zr_cfg_node(m->ld, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key)) {
            yaml_node_t *v = zr_cfg_node(m->ld, p->value);
            return zr_cfg_is_null(v) ? NULL : v;
        }
    }
    return NULL;
}

void zr_cfg_required(const zr_cfg_map_t *m, const char *key)
{
    char kpath[ZR_CFG_PATH_MAX];
    zr_cfg_path_key(kpath, m->path, key);
    if (m->node)
        zr_cfg_error(m->ld, m->node, kpath, "is required");
}

int zr_cfg_get_str(const zr_cfg_map_t *m, const char *key, int required, char **out)
{
    yaml_node_t *v = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX];
    const char *s;
    if (!v) {
        if (required)
            zr_cfg_required(m, key);
        return 0;
    }
    zr_cfg_path_key(kpath, m->path, key);
    s = zr_cfg_scalar(m->ld, v, kpath);
    if (!s)
        return -1;
    free(*out);
    *out = strdup(s);
    return *out ? 1 : -1;
}

int zr_cfg_get_int(const zr_cfg_map_t *m, const char *key, int required, long min, long max, long *out)
{
    yaml_node_t *v = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX];
    const char *s;
    char *endp = NULL;
    long n;
    if (!v) {
        if (required)
            zr_cfg_required(m, key);
        return 0;
    }
    zr_cfg_path_key(kpath, m->path, key);
    if (!(s = zr_cfg_scalar(m->ld, v, kpath)))
        return -1;
    errno = 0;
    n = strtol(s, &endp, 10);
    if (!*s || *endp || errno) {
        zr_cfg_error(m->ld, v, kpath, "must be a whole number");
        return -1;
    }
    if (n < min || n > max) {
        zr_cfg_error(m->ld, v, kpath, "must be between %ld and %ld", min, max);
        return -1;
    }
    *out = n;
    return 1;
}

int zr_cfg_get_bool(const zr_cfg_map_t *m, const char *key, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    yaml_node_t *v = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX];
    const char *s;
    if (!v)
        return 0;
    zr_cfg_path_key(kpath, m->path, key);
    if (!(s = zr_cfg_scalar(m->ld, v, kpath)))
        return -1;
    for (size_t i = 0; yes[i]; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = 1;
            return 1;
        }
        if (!strcasecmp(s, no[i])) {
            *out = 0;
            return 1;
        }
    }
    zr_cfg_error(m->ld, v, kpath, "must be true or false");
    return -1;
}

char *zr_cfg_resolve_path(const zr_cfg_loader_t *ld, const char *p)
{
    char *out = NULL;
    char *alt = NULL;
    if (p[0] == '/' || !ld->dir)
        return strdup(p);
    if (asprintf(&out, "%s/%s", ld->dir, p) < 0)
        return NULL;
    /* A file moved into former/ keeps the relative paths it had in the
     * providers directory (docs/onboarding.md tells vendors to move it). */
    if (ld->fallback_dir && access(out, F_OK) != 0 && asprintf(&alt, "%s/%s", ld->fallback_dir, p) >= 0) {
        if (access(alt, F_OK) == 0) {
            free(out);
            out = alt;
        } else {
            free(alt);
        }
    }
    return out;
}

int zr_cfg_get_path(const zr_cfg_map_t *m, const char *key, int required, char **out)
{
    char *raw = NULL;
    int rc = zr_cfg_get_str(m, key, required, &raw);
    if (rc == 1) {
        free(*out);
        *out = zr_cfg_resolve_path(m->ld, raw);
        if (!*out)
            rc = -1;
    }
    free(raw);
    return rc;
}

int zr_cfg_get_seq(const zr_cfg_map_t *m, const char *key, int required, yaml_node_t **out)
{
    yaml_node_t *v = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX];
    if (!v) {
        if (required)
            zr_cfg_required(m, key);
        return 0;
    }
    zr_cfg_path_key(kpath, m->path, key);
    if (v->type != YAML_SEQUENCE_NODE) {
        zr_cfg_error(m->ld, v, kpath, "must be a list");
        return -1;
    }
    *out = v;
    return 1;
}

int zr_cfg_get_strv(const zr_cfg_map_t *m, const char *key, int required, char ***out, size_t *count,
                    zr_cfg_item_check_fn check, void *ctx)
{
    yaml_node_t *seq = NULL;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    int rc = zr_cfg_get_seq(m, key, required, &seq);
    size_t n, i = 0;
    if (rc != 1)
        return rc;
    zr_cfg_path_key(kpath, m->path, key);
    n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0) {
        if (required)
            zr_cfg_error(m->ld, seq, kpath, "must not be empty");
        return required ? -1 : 0;
    }
    *out = calloc(n, sizeof(char *));
    if (!*out)
        return -1;
    *count = 0;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
        yaml_node_t *item = zr_cfg_node(m->ld, *it);
        const char *s;
        zr_cfg_path_index(ipath, kpath, i);
        if (zr_cfg_is_null(item)) {
            zr_cfg_error(m->ld, item, ipath, "must not be empty");
            rc = -1;
            continue;
        }
        if (!(s = zr_cfg_scalar(m->ld, item, ipath))) {
            rc = -1;
            continue;
        }
        if (check && check(m->ld, item, ipath, s, ctx) != 0) {
            rc = -1;
            continue;
        }
        (*out)[(*count)++] = strdup(s);
    }
    return rc;
}

void zr_cfg_check_seq_unique(const zr_cfg_map_t *m, const char *key)
{
    yaml_node_t *seq = zr_cfg_map_get(m, key);
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    if (!seq || seq->type != YAML_SEQUENCE_NODE)
        return;
    zr_cfg_path_key(kpath, m->path, key);
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++) {
        yaml_node_t *item = zr_cfg_node(m->ld, *it);
        if (!item || item->type != YAML_SCALAR_NODE || zr_cfg_is_null(item))
            continue;
        for (yaml_node_item_t *jt = seq->data.sequence.items.start; jt < it; jt++) {
            yaml_node_t *prev = zr_cfg_node(m->ld, *jt);
            if (prev && prev->type == YAML_SCALAR_NODE &&
                !strcmp((const char *)prev->data.scalar.value, (const char *)item->data.scalar.value)) {
                zr_cfg_path_index(ipath, kpath, (size_t)(it - seq->data.sequence.items.start));
                zr_cfg_error(m->ld, item, ipath, "'%s' is listed twice", (const char *)item->data.scalar.value);
                break;
            }
        }
    }
}

void zr_cfg_free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}
