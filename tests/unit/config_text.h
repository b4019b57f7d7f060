/* Test helpers for the configuration tests that build variants of a YAML
 * text and check "FILE:LINE: KEY: message" errors. Include after <cmocka.h>
 * and zr/config.h. */
#ifndef ZR_TEST_CONFIG_TEXT_H
#define ZR_TEST_CONFIG_TEXT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

/* text with every occurrence of from replaced by to (caller frees). */
static inline char *str_replace_all(const char *text, const char *from, const char *to)
{
    zr_buf_t b;
    const char *p = text, *hit;
    char *out;
    zr_buf_init(&b);
    while ((hit = strstr(p, from)) != NULL) {
        zr_buf_append(&b, p, (size_t)(hit - p));
        zr_buf_appends(&b, to);
        p = hit + strlen(from);
    }
    zr_buf_appends(&b, p);
    out = strdup(b.data ? b.data : "");
    zr_buf_free(&b);
    return out;
}

/* Writes text to path; fails the test when it cannot. */
static inline void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The 1-based line of marker in text; fails the test when it is not there. */
static inline int line_of(const char *text, const char *marker)
{
    const char *at = strstr(text, marker);
    int line = 1;
    if (!at)
        fail_msg("marker '%s' not found", marker);
    for (const char *c = text; c < at; c++)
        line += *c == '\n';
    return line;
}

static inline void print_errors(const zr_config_errors_t *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        fprintf(stderr, "  got: %s\n", errs->lines[i]);
}

/* The configuration tests/data/config/<name> (ZR_TEST_DATA) with its
 * relative paths made absolute: the test PKI for ../certs-example/out/ and
 * run_dir for ../run/. NULL when it cannot be read (caller frees). */
static inline char *config_text_base(const char *name, const char *pki, const char *run_dir)
{
    char path[4096], *text = NULL, *t1, *out;
    const char *data = getenv("ZR_TEST_DATA");
    size_t len = 0;
    snprintf(path, sizeof(path), "%s/config/%s", data ? data : ".", name);
    if (!data || zr_file_read(path, 1 << 20, &text, &len) != 0)
        return NULL;
    snprintf(path, sizeof(path), "%s/", pki);
    t1 = str_replace_all(text, "../certs-example/out/", path);
    snprintf(path, sizeof(path), "%s/", run_dir);
    out = str_replace_all(t1, "../run/", path);
    free(t1);
    free(text);
    return out;
}

#endif
