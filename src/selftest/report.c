/* The self-test report: items in the order the checks ran, printed for a
 * person (one line each, advice under problems) or as JSON for scripts. */
#include "zr/selftest.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[] = {"ok", "skip", "warn", "FAIL"};

const char *zr_selftest_status_name(zr_selftest_status_t st)
{
    return st <= ZR_SELFTEST_FAIL ? status_names[st] : "?";
}

void zr_selftest_add(zr_selftest_report_t *r, zr_selftest_status_t st, const char *check, const char *advice,
                     const char *fmt, ...)
{
    zr_selftest_item_t *items, *it;
    char *finding = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&finding, fmt, ap) < 0)
        finding = NULL;
    va_end(ap);
    /* Counted even when memory runs out, so that a lost FAIL still fails. */
    r->counts[st <= ZR_SELFTEST_FAIL ? st : ZR_SELFTEST_FAIL]++;
    if (!finding || !(items = realloc(r->items, (r->count + 1) * sizeof(*items)))) {
        free(finding);
        return;
    }
    r->items = items;
    it = &r->items[r->count++];
    it->status = st;
    it->check = strdup(check);
    it->finding = finding;
    it->advice = advice && st >= ZR_SELFTEST_WARN ? strdup(advice) : NULL;
}

void zr_selftest_report_free(zr_selftest_report_t *r)
{
    for (size_t i = 0; r && i < r->count; i++) {
        free(r->items[i].check);
        free(r->items[i].finding);
        free(r->items[i].advice);
    }
    if (r) {
        free(r->items);
        memset(r, 0, sizeof(*r));
    }
}

int zr_selftest_exit_status(const zr_selftest_report_t *r)
{
    return r->counts[ZR_SELFTEST_FAIL] ? 1 : 0;
}

void zr_selftest_print_text(const zr_selftest_report_t *r, FILE *out)
{
    for (size_t i = 0; i < r->count; i++) {
        const zr_selftest_item_t *it = &r->items[i];
        fprintf(out, "%-4s  %s: %s\n", zr_selftest_status_name(it->status), it->check, it->finding);
        if (it->advice)
            fprintf(out, "      -> %s\n", it->advice);
    }
    fprintf(out, "\n%s: %zu ok, %zu warning(s), %zu failure(s)%s\n",
            r->counts[ZR_SELFTEST_FAIL] ? "FAILED" : r->counts[ZR_SELFTEST_WARN] ? "OK with warnings" : "OK",
            r->counts[ZR_SELFTEST_OK], r->counts[ZR_SELFTEST_WARN], r->counts[ZR_SELFTEST_FAIL],
            r->counts[ZR_SELFTEST_SKIP] ? ", some checks skipped" : "");
}

void zr_selftest_print_json(const zr_selftest_report_t *r, FILE *out)
{
    json_t *root = json_object(), *checks = json_array(), *counts = json_object();
    char *text = NULL;
    const char *overall = r->counts[ZR_SELFTEST_FAIL] ? "fail" : r->counts[ZR_SELFTEST_WARN] ? "warn" : "ok";
    if (!root || !checks || !counts)
        goto end;
    for (size_t i = 0; i < r->count; i++) {
        const zr_selftest_item_t *it = &r->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s}", "check", it->check ? it->check : "", "status",
                              it->status == ZR_SELFTEST_FAIL ? "fail" : zr_selftest_status_name(it->status),
                              "finding", it->finding ? it->finding : "");
        if (o && it->advice)
            json_object_set_new(o, "advice", json_string(it->advice));
        if (o)
            json_array_append_new(checks, o);
    }
    for (int s = ZR_SELFTEST_OK; s <= ZR_SELFTEST_FAIL; s++)
        json_object_set_new(counts, s == ZR_SELFTEST_FAIL ? "fail" : status_names[s],
                            json_integer((json_int_t)r->counts[s]));
    json_object_set_new(root, "status", json_string(overall));
    json_object_set_new(root, "exit_status", json_integer(zr_selftest_exit_status(r)));
    json_object_set(root, "counts", counts);
    json_object_set(root, "checks", checks);
    text = json_dumps(root, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
end:
    /* Always something a script can parse. */
    fprintf(out, "%s\n", text ? text : "{\"status\":\"fail\",\"exit_status\":1,\"checks\":[]}");
    free(text);
    json_decref(root);
    json_decref(checks);
    json_decref(counts);
}
