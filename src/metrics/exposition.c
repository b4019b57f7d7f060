/* The Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/). Written by
 * hand: it is a few lines of escaping, and the C client libraries
 * (prometheus-client-c) bring their own registry, locks and HTTP server,
 * none of which fits the relay's lock-free counters and its own listener. */
#include "zr/metrics.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void zr_metrics_text_init(zr_metrics_text_t *t)
{
    memset(t, 0, sizeof(*t));
}

void zr_metrics_text_free(zr_metrics_text_t *t)
{
    free(t->data);
    memset(t, 0, sizeof(*t));
}

static int text_reserve(zr_metrics_text_t *t, size_t more)
{
    size_t cap = t->cap ? t->cap : 4096;
    char *p;
    if (t->failed)
        return -1;
    while (cap < t->len + more + 1)
        cap *= 2;
    if (cap == t->cap)
        return 0;
    if (!(p = realloc(t->data, cap))) {
        t->failed = 1;
        return -1;
    }
    t->data = p;
    t->cap = cap;
    return 0;
}

static void text_put(zr_metrics_text_t *t, const char *s, size_t n)
{
    if (text_reserve(t, n) != 0)
        return;
    memcpy(t->data + t->len, s, n);
    t->len += n;
    t->data[t->len] = '\0';
}

static void text_puts(zr_metrics_text_t *t, const char *s)
{
    text_put(t, s, strlen(s));
}

/* HELP text escapes backslash and newline; a label value also the double
 * quote (format 0.0.4). */
static void text_escaped(zr_metrics_text_t *t, const char *s, int quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            text_puts(t, "\\\\");
        else if (*s == '\n')
            text_puts(t, "\\n");
        else if (*s == '"' && quote)
            text_puts(t, "\\\"");
        else
            text_put(t, s, 1);
    }
}

void zr_metrics_text_label_value(zr_metrics_text_t *t, const char *v)
{
    text_escaped(t, v ? v : "", 1);
}

void zr_metrics_text_family(zr_metrics_text_t *t, const char *name, const char *type, const char *help)
{
    text_puts(t, "# HELP ");
    text_puts(t, name);
    text_puts(t, " ");
    text_escaped(t, help, 0);
    text_puts(t, "\n# TYPE ");
    text_puts(t, name);
    text_puts(t, " ");
    text_puts(t, type);
    text_puts(t, "\n");
}

void zr_metrics_text_sample(zr_metrics_text_t *t, const char *name, const char *const *labels, double value)
{
    char num[64];

    text_puts(t, name);
    if (labels && labels[0]) {
        text_puts(t, "{");
        for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
            if (i)
                text_puts(t, ",");
            text_puts(t, labels[i]);
            text_puts(t, "=\"");
            zr_metrics_text_label_value(t, labels[i + 1]);
            text_puts(t, "\"");
        }
        text_puts(t, "}");
    }
    if (isnan(value))
        snprintf(num, sizeof(num), "NaN");
    else if (isinf(value))
        snprintf(num, sizeof(num), value > 0 ? "+Inf" : "-Inf");
    else if (value == floor(value) && fabs(value) < 9007199254740992.0) /* 2^53: exact as an integer */
        snprintf(num, sizeof(num), "%.0f", value);
    else
        snprintf(num, sizeof(num), "%.17g", value);
    text_puts(t, " ");
    text_puts(t, num);
    text_puts(t, "\n");
}
