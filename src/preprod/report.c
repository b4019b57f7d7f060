/* The report of a test run, lined up with DICTU's "Checklist testen" (step
 * 8, "Testen aansluiting", of the TVS connection process): one line per
 * checklist item with its result, and per item what came back (masked).
 * Markdown for people, JSON for machines; both rewritten atomically. */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zr/util.h"

static const char *status_dutch(zr_preprod_status_t st)
{
    switch (st) {
    case ZR_PREPROD_PASSED:
        return "akkoord";
    case ZR_PREPROD_FAILED:
        return "niet akkoord";
    case ZR_PREPROD_NOT_AVAILABLE:
        return "niet beschikbaar";
    case ZR_PREPROD_WAITING:
        return "bezig";
    default:
        return "nog niet getest";
    }
}

/* The reason for machines and both readers: code, parameters, the Dutch
 * and the English text (plain). A code-less reason (an older state file)
 * has code null and its text in both. */
static json_t *reason_json(const zr_preprod_reason_t *r)
{
    char *nl = zr_preprod_reason_text(r, ZR_LANG_NL, 0), *en = zr_preprod_reason_text(r, ZR_LANG_EN, 0);
    json_t *o = json_pack("{s:s?, s:O?, s:s?, s:s?}", "code", r->code[0] ? r->code : NULL, "params", r->params,
                          "nl", nl, "en", en);
    if (o && !r->params)
        json_object_set_new(o, "params", json_object());
    free(nl);
    free(en);
    return o;
}

json_t *zr_preprod_report_json(const zr_preprod_run_t *run, const zr_config_t *cfg)
{
    json_t *doc, *items;
    size_t passed = 0, failed = 0, not_available = 0, open = 0;
    char at[21];
    const zr_tenant_t *t = zr_config_find_tenant(cfg, run->care_provider);

    zr_time_format_iso8601(time(NULL), at);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:[]}", "report", "zorgrelay preprod-test",
                    "checklist", "DICTU Checklist testen (stap 8: Testen aansluiting)", "generated", at, "relay",
                    run->relay, "care_provider", run->care_provider, "entity_id", t ? t->entity_id : NULL,
                    "client_id", run->client_id, "environment", zr_environment_name(cfg->environment), "items");
    items = doc ? json_object_get(doc, "items") : NULL;
    for (size_t i = 0; items && i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        json_t *item = json_pack("{s:s, s:s, s:s, s:o?, s:i, s:O?}", "scenario", sc->id, "checklist_item",
                                 sc->checklist, "status", zr_preprod_status_name(sc->status), "reason",
                                 reason_json(&sc->reason), "attempts", sc->attempts, "result", sc->result);
        if (item && sc->finished_ms) {
            zr_time_format_iso8601((time_t)(sc->finished_ms / 1000), at);
            json_object_set_new(item, "finished", json_string(at));
        }
        json_array_append_new(items, item);
        passed += sc->status == ZR_PREPROD_PASSED;
        failed += sc->status == ZR_PREPROD_FAILED;
        not_available += sc->status == ZR_PREPROD_NOT_AVAILABLE;
        open += sc->status == ZR_PREPROD_OPEN || sc->status == ZR_PREPROD_WAITING;
    }
    /* DICTU runs the checklist itself too and asks for access to the test
     * environment with the results (step 8): where, never a password. */
    if (doc)
        json_object_set_new(doc, "dictu_access",
                            json_pack("{s:s, s:s}", "test_client_url", cfg->preprod_test.public_base_url,
                                      "credentials", "to be filled in by the tester; never written by zorgrelay"));
    if (doc) {
        json_object_set_new(doc, "summary",
                            json_pack("{s:I, s:I, s:I, s:I, s:b}", "passed", (json_int_t)passed, "failed",
                                      (json_int_t)failed, "not_available", (json_int_t)not_available, "open",
                                      (json_int_t)open, "complete", failed == 0 && open == 0));
    }
    return doc;
}

/* Markdown table cells: no pipes or line breaks from values. */
static void md_cell(zr_buf_t *b, const char *s)
{
    for (; s && *s; s++)
        zr_buf_append(b, *s == '|' ? "/" : (*s == '\n' || *s == '\r') ? " " : s, 1);
}

static void md_result(zr_buf_t *b, json_t *result)
{
    const char *key;
    json_t *value;
    if (!json_is_object(result))
        return;
    json_object_foreach(result, key, value) {
        char *text = json_is_string(value) ? strdup(json_string_value(value))
                                           : json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        zr_buf_printf(b, "- %s: `", key);
        md_cell(b, text);
        zr_buf_appends(b, "`\n");
        free(text);
    }
}

int zr_preprod_report_write(const zr_preprod_run_t *run, const zr_config_t *cfg, const char *dir, char *err,
                            size_t errlen)
{
    json_t *doc = zr_preprod_report_json(run, cfg), *summary;
    char *json_text = NULL, path[4200];
    zr_buf_t md;
    int rc = -1;

    zr_buf_init(&md);
    if (!doc)
        goto end;
    summary = json_object_get(doc, "summary");
    zr_buf_printf(&md, "# TVS-aansluiting: resultaten Checklist testen\n\n");
    zr_buf_printf(&md, "Stap 8 *Testen aansluiting* (pre-productie). Gemaakt door `zorgrelay preprod-test` op %s.\n\n",
                  json_string_value(json_object_get(doc, "generated")));
    zr_buf_printf(&md, "| | |\n|---|---|\n| Zorgaanbieder | %s |\n| EntityID | %s |\n| Relay (issuer) | %s |\n"
                       "| Testclient | %s |\n| Omgeving | %s |\n\n",
                  run->care_provider, json_string_value(json_object_get(doc, "entity_id")) ? json_string_value(json_object_get(doc, "entity_id")) : "-", run->relay,
                  run->client_id, zr_environment_name(cfg->environment));
    zr_buf_printf(&md, "Akkoord: %lld, niet akkoord: %lld, niet beschikbaar: %lld, nog open: %lld.\n\n",
                  (long long)json_integer_value(json_object_get(summary, "passed")),
                  (long long)json_integer_value(json_object_get(summary, "failed")),
                  (long long)json_integer_value(json_object_get(summary, "not_available")),
                  (long long)json_integer_value(json_object_get(summary, "open")));
    zr_buf_appends(&md, "| # | Checklist-item | Scenario | Resultaat | Toelichting |\n|---|---|---|---|---|\n");
    /* Dutch, DICTU's language (docs/preprod.md §5); the JSON has both. */
    for (size_t i = 0; i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        char *reason = zr_preprod_reason_text(&sc->reason, ZR_LANG_NL, 0);
        zr_buf_printf(&md, "| %zu | ", i + 1);
        md_cell(&md, sc->checklist);
        zr_buf_printf(&md, " | `%s` | **%s** | ", sc->id, status_dutch(sc->status));
        md_cell(&md, reason);
        zr_buf_appends(&md, " |\n");
        free(reason);
    }
    zr_buf_appends(&md, "\n## Details per scenario\n\nBSN's zijn gemaskeerd tot de laatste drie cijfers. "
                        "De trace-id opent de volledige (gemaskeerde) SAML-berichten in de relay: "
                        "`/trace?id=...` of `/trace.json?id=...`.\n");
    for (size_t i = 0; i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        zr_buf_printf(&md, "\n### %zu. %s (`%s`): %s\n\n", i + 1, sc->checklist, sc->id, status_dutch(sc->status));
        md_result(&md, sc->result);
    }
    zr_buf_printf(&md, "\n## Toegang voor DICTU\n\n"
                       "DICTU doorloopt de checklist ook zelf en vraagt daarvoor de inloggegevens van de "
                       "testomgeving, samen met deze resultaten (stap 8, *Testen aansluiting*).\n\n"
                       "| | |\n|---|---|\n| Testclient | %s |\n"
                       "| Inloggegevens | *(zelf invullen: zorgrelay schrijft geen wachtwoorden in dit rapport)* |\n",
                  cfg->preprod_test.public_base_url[0] ? cfg->preprod_test.public_base_url : "-");
    json_text = json_dumps(doc, JSON_INDENT(2));
    if (!json_text || !md.data)
        goto end;
    snprintf(path, sizeof(path), "%s/preprod-report.json", dir);
    if (zr_preprod_write_atomic(path, json_text, err, errlen) != 0)
        goto end;
    snprintf(path, sizeof(path), "%s/preprod-report.md", dir);
    if (zr_preprod_write_atomic(path, md.data, err, errlen) != 0)
        goto end;
    rc = 0;
end:
    zr_buf_free(&md);
    free(json_text);
    json_decref(doc);
    return rc;
}
