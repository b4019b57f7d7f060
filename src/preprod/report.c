/* The report of a test run, lined up with DICTU's "Checklist testen" (step
 * 8, "Testen aansluiting", of the TVS connection process): what the run was
 * made with, one line per checklist item with its result, per item what
 * came back (masked), the masked SAML messages themselves, and the tester's
 * sign-off. Markdown and HTML for people (the same text, from one walk
 * below), JSON for machines, the traces as files beside them; all
 * rewritten atomically. A PDF is printed from the HTML on request. */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

static void set_time(json_t *o, const char *key, long long ms)
{
    char at[21];
    if (!ms)
        return;
    zr_time_format_iso8601((time_t)(ms / 1000), at);
    json_object_set_new(o, key, json_string(at));
}

/* The bundled files of a scenario's trace (relative to the report). */
static json_t *trace_files(const zr_preprod_scenario_t *sc)
{
    json_t *files = json_array(), *ev;
    size_t i;
    char name[256];
    if (!sc->trace)
        return files;
    snprintf(name, sizeof(name), "traces/%s.json", sc->id);
    json_array_append_new(files, json_string(name));
    snprintf(name, sizeof(name), "traces/%s.txt", sc->id);
    json_array_append_new(files, json_string(name));
    json_array_foreach(json_object_get(sc->trace, "events"), i, ev) {
        if (!json_is_string(json_object_get(json_object_get(ev, "data"), "xml")))
            continue;
        snprintf(name, sizeof(name), "traces/%s/%02zu-%s.xml", sc->id, i + 1,
                 json_string_value(json_object_get(ev, "kind")) ? json_string_value(json_object_get(ev, "kind")) : "event");
        json_array_append_new(files, json_string(name));
    }
    return files;
}

json_t *zr_preprod_report_json(const zr_preprod_run_t *run, const zr_config_t *cfg)
{
    json_t *doc, *items;
    size_t passed = 0, failed = 0, not_available = 0, open = 0;
    char at[21];
    const zr_tenant_t *t = zr_config_find_tenant(cfg, run->care_provider);

    zr_time_format_iso8601(time(NULL), at);
    doc = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:s, s:b, s:[]}", "report", "zorgrelay preprod-test",
                    "checklist", "DICTU Checklist testen (stap 8: Testen aansluiting)", "generated", at, "relay",
                    run->relay, "care_provider", run->care_provider, "entity_id", t ? t->entity_id : NULL,
                    "client_id", run->client_id, "environment", zr_environment_name(cfg->environment), "rehearsal",
                    json_is_true(json_object_get(run->setup, "rehearsal")), "items");
    if (doc && run->setup)
        json_object_set(doc, "setup", run->setup);
    items = doc ? json_object_get(doc, "items") : NULL;
    for (size_t i = 0; items && i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        json_t *item = json_pack("{s:s, s:s, s:s, s:o?, s:i, s:s?, s:O?, s:o}", "scenario", sc->id, "checklist_item",
                                 sc->checklist, "status", zr_preprod_status_name(sc->status), "reason",
                                 reason_json(&sc->reason), "attempts", sc->attempts, "account",
                                 sc->account[0] ? sc->account : NULL, "result", sc->result, "trace_files",
                                 trace_files(sc));
        if (item) {
            set_time(item, "started", sc->started_ms);
            set_time(item, "finished", sc->finished_ms);
            if (sc->started_ms && sc->finished_ms >= sc->started_ms)
                json_object_set_new(item, "duration_ms", json_integer(sc->finished_ms - sc->started_ms));
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
    if (doc)
        json_object_set_new(doc, "signoff",
                            json_pack("{s:s, s:s, s:s, s:s}", "tester", run->signoff.tester, "organisation",
                                      run->signoff.organisation, "date", run->signoff.date, "remarks",
                                      run->signoff.remarks));
    if (doc) {
        json_object_set_new(doc, "summary",
                            json_pack("{s:I, s:I, s:I, s:I, s:b}", "passed", (json_int_t)passed, "failed",
                                      (json_int_t)failed, "not_available", (json_int_t)not_available, "open",
                                      (json_int_t)open, "complete", failed == 0 && open == 0));
    }
    return doc;
}

/* ---- one text, two renderings: Markdown (md) and HTML (html) ---- */

typedef struct {
    zr_buf_t md;
    zr_buf_t html;
} doc_t;

/* A status cell, bold in both renderings (values never start with it). */
#define BOLD "\x01"

/* Markdown table cells and inline text: no pipes or line breaks from
 * values, and a masked BSN's asterisks are not emphasis. */
static void md_cell(zr_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '*')
            zr_buf_appends(b, "\\*");
        else
            zr_buf_append(b, *s == '|' ? "/" : (*s == '\n' || *s == '\r') ? " " : s, 1);
    }
}

static void doc_heading(doc_t *d, int level, const char *text)
{
    zr_buf_appends(&d->md, "\n");
    for (int i = 0; i < level; i++)
        zr_buf_appends(&d->md, "#");
    zr_buf_appends(&d->md, " ");
    md_cell(&d->md, text);
    zr_buf_appends(&d->md, "\n\n");
    zr_buf_printf(&d->html, "<h%d>", level);
    zr_buf_append_html(&d->html, text);
    zr_buf_printf(&d->html, "</h%d>\n", level);
}

static void doc_para(doc_t *d, const char *text)
{
    md_cell(&d->md, text);
    zr_buf_appends(&d->md, "\n\n");
    zr_buf_appends(&d->html, "<p>");
    zr_buf_append_html(&d->html, text);
    zr_buf_appends(&d->html, "</p>\n");
}

/* The rehearsal mark: at the top and before every section of the Markdown
 * (and the HTML; its printed pages carry it in their margin too). */
static void doc_rehearsal(doc_t *d, const char *why)
{
    zr_buf_appends(&d->md, "> **REPETITIE tegen de mock-TVS: geen bewijs voor DICTU** (");
    md_cell(&d->md, why);
    zr_buf_appends(&d->md, ")\n\n");
    zr_buf_appends(&d->html, "<p class=\"rehearsal-note\"><strong>REPETITIE tegen de mock-TVS: geen bewijs voor "
                             "DICTU</strong> (");
    zr_buf_append_html(&d->html, why);
    zr_buf_appends(&d->html, ")</p>\n");
}

static void doc_table_begin(doc_t *d, const char *const *heads, size_t n)
{
    zr_buf_appends(&d->md, "|");
    zr_buf_appends(&d->html, n == 2 ? "<table class=\"pairs\"><thead><tr>" : "<table class=\"results\"><thead><tr>");
    for (size_t i = 0; i < n; i++) {
        zr_buf_appends(&d->md, " ");
        md_cell(&d->md, heads[i]);
        zr_buf_appends(&d->md, " |");
        zr_buf_appends(&d->html, "<th>");
        zr_buf_append_html(&d->html, heads[i]);
        zr_buf_appends(&d->html, "</th>");
    }
    zr_buf_appends(&d->md, "\n|");
    for (size_t i = 0; i < n; i++)
        zr_buf_appends(&d->md, "---|");
    zr_buf_appends(&d->md, "\n");
    zr_buf_appends(&d->html, "</tr></thead><tbody>\n");
}

/* One row; a cell starting with BOLD is bold (a status). */
static void doc_row(doc_t *d, const char *const *cells, size_t n)
{
    zr_buf_appends(&d->md, "|");
    zr_buf_appends(&d->html, "<tr>");
    for (size_t i = 0; i < n; i++) {
        const char *c = cells[i] ? cells[i] : "-";
        int bold = c[0] == BOLD[0];
        zr_buf_appends(&d->md, bold ? " **" : " ");
        md_cell(&d->md, bold ? c + 1 : c);
        zr_buf_appends(&d->md, bold ? "** |" : " |");
        zr_buf_appends(&d->html, i == 0 && n == 2 ? "<th scope=\"row\">" : "<td>");
        if (bold) {
            zr_buf_appends(&d->html, "<strong>");
            zr_buf_append_html(&d->html, c + 1);
            zr_buf_appends(&d->html, "</strong>");
        } else {
            zr_buf_append_html(&d->html, c);
        }
        zr_buf_appends(&d->html, i == 0 && n == 2 ? "</th>" : "</td>");
    }
    zr_buf_appends(&d->md, "\n");
    zr_buf_appends(&d->html, "</tr>\n");
}

static void doc_pair(doc_t *d, const char *label, const char *value)
{
    const char *cells[2] = {label, value && *value ? value : "-"};
    doc_row(d, cells, 2);
}

static void doc_table_end(doc_t *d)
{
    zr_buf_appends(&d->md, "\n");
    zr_buf_appends(&d->html, "</tbody></table>\n");
}

/* A value as a reader says it: text as it is, lists with commas, objects as
 * "name: value; ...", yes/no; never JSON. */
static void say_value(zr_buf_t *b, json_t *v)
{
    const char *key;
    json_t *x;
    size_t i;
    if (json_is_string(v)) {
        zr_buf_appends(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        zr_buf_printf(b, "%lld", (long long)json_integer_value(v));
    } else if (json_is_boolean(v)) {
        zr_buf_appends(b, json_is_true(v) ? "ja" : "nee");
    } else if (json_is_array(v)) {
        if (!json_array_size(v))
            zr_buf_appends(b, "(geen)");
        json_array_foreach(v, i, x) {
            if (i)
                zr_buf_appends(b, ", ");
            say_value(b, x);
        }
    } else if (json_is_object(v)) {
        int first = 1;
        json_object_foreach(v, key, x) {
            zr_buf_printf(b, "%s%s: ", first ? "" : "; ", key);
            if (json_is_object(x))
                zr_buf_appends(b, "(");
            say_value(b, x);
            if (json_is_object(x))
                zr_buf_appends(b, ")");
            first = 0;
        }
    } else {
        zr_buf_appends(b, "-");
    }
}

/* The Dutch label of a result key; NULL: not shown in the text (the JSON
 * has everything). */
static const char *result_label(const char *key)
{
    static const char *const labels[][2] = {
        {"loa", "Behaald niveau"},
        {"acr", "acr (ID-token)"},
        {"saml_loa", "Niveau in de assertion (SAML)"},
        {"bsn", "BSN (gemaskeerd)"},
        {"acting_bsn", "ActingSubjectID (gemaskeerd)"},
        {"legal_bsn", "LegalSubjectID (gemaskeerd)"},
        {"subject_types", "Soorten subject (TVS)"},
        {"sub_id_type", "sub_id_type (ID-token)"},
        {"represents", "Vertegenwoordigt"},
        {"representation_type", "Soort vertegenwoordiging"},
        {"oauth_error", "OAuth-fout"},
        {"oauth_error_description", "Toelichting bij de fout"},
        {"token_ok", "Geldig ID-token"},
        {"token_error", "Fout bij het inwisselen van de code"},
        {"token_requests", "Tokenverzoeken"},
        {"saml_result", "SAML-resultaat"},
        {"saml_status_codes", "SAML-statuscodes"},
        {"saml_status_messages", "SAML-statusmeldingen"},
        {"saml_message_ids", "SAML-bericht-ID's"},
        {"relay_page", "Foutpagina van de relay"},
        {"replay_answer", "Antwoord op het hergebruikte artifact"},
        {"code_replay_answer", "Code een tweede keer ingewisseld"},
        {"end_session_endpoint", "end_session_endpoint"},
        {"logout_trace", "Uitloggen in de trace"},
        {"login_ms", "Tijd tot het antwoord (ms)"},
        {"token_ms", "Tijd van de tokenuitwisseling (ms)"},
        {"logout_ms", "Tijd van het uitloggen (ms)"},
        {"trace_id", "Trace-id"},
        {"trace_events", "Stappen in de trace"},
        {NULL, NULL},
    };
    for (size_t i = 0; labels[i][0]; i++)
        if (strcmp(labels[i][0], key) == 0)
            return labels[i][1];
    return NULL;
}

static void doc_result(doc_t *d, json_t *result)
{
    const char *key;
    json_t *value;
    zr_buf_t v;
    json_object_foreach(result, key, value) {
        const char *label = result_label(key);
        if (!label)
            continue;
        zr_buf_init(&v);
        say_value(&v, value);
        doc_pair(d, label, v.data);
        zr_buf_free(&v);
    }
}

/* "ID _abc, antwoord op _def, status urn:...:Success" of a logout message. */
static void doc_logout(doc_t *d, const zr_preprod_scenario_t *sc)
{
    json_t *msgs = json_object_get(sc->result, "logout_messages");
    static const char *const kinds[] = {"LogoutRequest", "LogoutResponse"};
    for (size_t i = 0; i < 2; i++) {
        json_t *m = json_object_get(msgs, kinds[i]);
        zr_buf_t v;
        zr_buf_init(&v);
        if (!m) {
            zr_buf_appends(&v, "niet in de trace (de relay stuurde TVS geen SAML-logout)");
        } else {
            zr_buf_printf(&v, "ID %s", json_string_value(json_object_get(m, "id")) ? json_string_value(json_object_get(m, "id")) : "-");
            if (json_object_get(m, "in_response_to"))
                zr_buf_printf(&v, ", antwoord op %s", json_string_value(json_object_get(m, "in_response_to")));
            if (json_object_get(m, "status")) {
                zr_buf_appends(&v, ", status ");
                say_value(&v, json_object_get(m, "status"));
            }
        }
        doc_pair(d, kinds[i], v.data);
        zr_buf_free(&v);
    }
}

static void doc_setup(doc_t *d, const zr_preprod_run_t *run, const zr_config_t *cfg, json_t *doc)
{
    json_t *s = run->setup, *meta = json_object_get(json_object_get(s, "tvs"), "metadata"), *c;
    json_t *cp = json_object_get(s, "care_provider");
    size_t i;
    char line[1024];
    static const char *const heads[] = {"Gegeven", "Waarde"};

    doc_heading(d, 2, "Testopzet");
    doc_table_begin(d, heads, 2);
    doc_pair(d, "zorgrelay-versie", json_string_value(json_object_get(s, "zorgrelay_version")));
    doc_pair(d, "Omgeving", zr_environment_name(cfg->environment));
    doc_pair(d, "Repetitie tegen de mock-TVS", json_is_true(json_object_get(s, "rehearsal")) ? BOLD "JA" : "nee");
    doc_pair(d, "Zorgaanbieder", json_string_value(json_object_get(cp, "name")));
    doc_pair(d, "OIN zorgaanbieder", json_string_value(json_object_get(cp, "oin")));
    doc_pair(d, "EntityID zorgaanbieder", json_string_value(json_object_get(doc, "entity_id")));
    doc_pair(d, "EntityID TVS", json_string_value(json_object_get(json_object_get(s, "tvs"), "entity_id")));
    doc_pair(d, "TVS-metadata (bron)", json_string_value(json_object_get(meta, "source")));
    doc_pair(d, "TVS-metadata entityID", json_string_value(json_object_get(meta, "entity_id")));
    doc_pair(d, "TVS-metadata validUntil", json_string_value(json_object_get(meta, "valid_until")));
    doc_pair(d, "TVS-metadata SHA-256", json_string_value(json_object_get(meta, "sha256")));
    if (json_object_get(meta, "error"))
        doc_pair(d, "TVS-metadata niet te lezen", json_string_value(json_object_get(meta, "error")));
    doc_pair(d, "Relay (issuer)", run->relay);
    doc_pair(d, "Testclient", run->client_id);
    json_array_foreach(json_object_get(s, "certificates"), i, c) {
        const char *use = json_string_value(json_object_get(c, "use"));
        const char *label = !use ? "Certificaat"
                            : strcmp(use, "saml_signing") == 0 ? "Certificaat SAML-ondertekening"
                            : strcmp(use, "tls_client") == 0   ? "Certificaat TLS-client (artifact)"
                                                               : "Certificaat BSN-ontsleuteling";
        snprintf(line, sizeof(line), "%s; SHA-256 %s; geldig tot %s",
                 json_string_value(json_object_get(c, "subject")) ? json_string_value(json_object_get(c, "subject")) : "-",
                 json_string_value(json_object_get(c, "sha256")) ? json_string_value(json_object_get(c, "sha256")) : "-",
                 json_string_value(json_object_get(c, "not_after")) ? json_string_value(json_object_get(c, "not_after")) : "-");
        doc_pair(d, label, line);
    }
    doc_table_end(d);
}

static void doc_scenario(doc_t *d, const zr_preprod_run_t *run, size_t i, json_t *item, const char *rehearsal)
{
    const zr_preprod_scenario_t *sc = &run->items[i];
    char title[400], n[64], *reason = zr_preprod_reason_text(&sc->reason, ZR_LANG_NL, 0);
    json_t *f;
    size_t k;
    static const char *const heads[] = {"Gegeven", "Waarde"};

    snprintf(title, sizeof(title), "%zu. %s (%s): %s", i + 1, sc->checklist, sc->id, status_dutch(sc->status));
    doc_heading(d, 3, title);
    if (rehearsal)
        doc_rehearsal(d, rehearsal);
    doc_table_begin(d, heads, 2);
    doc_pair(d, "Toelichting", reason);
    doc_pair(d, "Begonnen", json_string_value(json_object_get(item, "started")));
    if (json_object_get(item, "duration_ms")) {
        long long ms = json_integer_value(json_object_get(item, "duration_ms"));
        snprintf(n, sizeof(n), "%lld,%03lld s", ms / 1000, ms % 1000);
        doc_pair(d, "Duur", n);
    } else {
        doc_pair(d, "Duur", "-");
    }
    snprintf(n, sizeof(n), "%d", sc->attempts);
    doc_pair(d, "Pogingen", n);
    doc_pair(d, "Testaccount", sc->account[0] ? sc->account : "(niet ingevuld door de tester)");
    if (sc->kind == ZR_PREPROD_LOGOUT)
        doc_logout(d, sc);
    doc_result(d, sc->result);
    doc_table_end(d);
    if (json_array_size(json_object_get(item, "trace_files"))) {
        zr_buf_appends(&d->md, "Gemaskeerde berichten bij dit rapport:\n\n");
        zr_buf_appends(&d->html, "<p>Gemaskeerde berichten bij dit rapport:</p><ul class=\"files\">\n");
        json_array_foreach(json_object_get(item, "trace_files"), k, f) {
            zr_buf_printf(&d->md, "- [%s](%s)\n", json_string_value(f), json_string_value(f));
            zr_buf_appends(&d->html, "<li><a href=\"");
            zr_buf_append_html(&d->html, json_string_value(f));
            zr_buf_appends(&d->html, "\">");
            zr_buf_append_html(&d->html, json_string_value(f));
            zr_buf_appends(&d->html, "</a></li>\n");
        }
        zr_buf_appends(&d->md, "\n");
        zr_buf_appends(&d->html, "</ul>\n");
    }
    free(reason);
}

/* Why the run is a rehearsal (setup.c's rehearsal_reason), in Dutch. */
static const char *rehearsal_text(const char *code)
{
    if (code && strcmp(code, "mock_metadata") == 0)
        return "de TVS-metadata is die van de mock-TVS van deze configuratie";
    if (code && strcmp(code, "mock_entity_id") == 0)
        return "tvs.entity_id is dat van de mock-TVS van deze configuratie";
    if (code && strcmp(code, "mock_metadata_file") == 0)
        return "tvs.metadata is het bestand dat de mock-TVS schrijft";
    return "mock-TVS";
}

/* A macro, so that the format is a literal the compiler checks. */
#define REPORT_HTML_HEAD \
    "<!DOCTYPE html>\n<html lang=\"nl\">\n<head>\n<meta charset=\"utf-8\">\n" \
    "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>%s</title>\n<style>\n" \
    "body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10.5pt;line-height:1.4;margin:1.5em;color:#111}\n" \
    "h1{font-size:16pt}h2{font-size:13pt;margin-top:1.6em}h3{font-size:11.5pt;margin-top:1.4em;break-after:avoid}\n" \
    "table{border-collapse:collapse;width:100%%;margin:.5em 0;table-layout:fixed}\n" \
    "th,td{border:1px solid #999;padding:3px 6px;text-align:left;vertical-align:top;overflow-wrap:anywhere}\n" \
    "th[scope=row]{width:30%%;background:#f2f2f2;font-weight:normal}thead th{background:#e6e6e6}\n" \
    "tr{break-inside:avoid}ul.files{font-family:monospace;font-size:9pt}\n" \
    "table.results th:nth-child(1){width:2.2em}table.results th:nth-child(2){width:34%%}" \
    "table.results th:nth-child(3){width:17%%}table.results th:nth-child(4){width:13%%}\n" \
    ".rehearsal{border:3px solid #b00;color:#b00;font-weight:bold;padding:.4em;text-align:center;margin-bottom:1em}\n" \
    ".rehearsal-note{color:#b00}\n" \
    "@page{margin:1.8cm 1.4cm}@media print{body{margin:0}}\n%s" \
    "</style>\n</head>\n<body class=\"%s\">\n"

/* A rehearsal's mark in the top margin of every printed page (a CSS page
 * margin box: Chromium prints it on each page of the PDF). */
static const char *const rehearsal_page_css =
    "@page{@top-center{content:\"REPETITIE tegen de mock-TVS: geen bewijs voor DICTU\";color:#b00;"
    "font-weight:bold;font-size:11pt;font-family:'DejaVu Sans',Arial,sans-serif}}\n";

int zr_preprod_report_write(const zr_preprod_run_t *run, const zr_config_t *cfg, const char *dir, char *err,
                            size_t errlen)
{
    json_t *doc = zr_preprod_report_json(run, cfg), *summary, *items;
    char *json_text = NULL, path[4200], line[1024];
    const char *rehearsal = NULL;
    doc_t d;
    int rc = -1;
    static const char *const heads[] = {"#", "Checklist-item", "Scenario", "Resultaat", "Toelichting"};

    zr_buf_init(&d.md);
    zr_buf_init(&d.html);
    if (!doc)
        goto end;
    summary = json_object_get(doc, "summary");
    items = json_object_get(doc, "items");
    if (json_is_true(json_object_get(doc, "rehearsal")))
        rehearsal = rehearsal_text(json_string_value(json_object_get(run->setup, "rehearsal_reason")));

    zr_buf_printf(&d.html, REPORT_HTML_HEAD,
                  rehearsal ? "REPETITIE (mock-TVS) - TVS-aansluiting: resultaten Checklist testen"
                            : "TVS-aansluiting: resultaten Checklist testen",
                  rehearsal ? rehearsal_page_css : "", rehearsal ? "is-rehearsal" : "");
    if (rehearsal) {
        zr_buf_appends(&d.html, "<div class=\"rehearsal\" id=\"rehearsal\">REPETITIE tegen de mock-TVS: geen bewijs "
                                "voor DICTU (");
        zr_buf_append_html(&d.html, rehearsal);
        zr_buf_appends(&d.html, ")</div>\n");
    }
    zr_buf_appends(&d.md, rehearsal ? "# REPETITIE (mock-TVS) - TVS-aansluiting: resultaten Checklist testen\n\n"
                                    : "# TVS-aansluiting: resultaten Checklist testen\n\n");
    zr_buf_appends(&d.html, rehearsal ? "<h1>REPETITIE (mock-TVS) - TVS-aansluiting: resultaten Checklist testen</h1>\n"
                                      : "<h1>TVS-aansluiting: resultaten Checklist testen</h1>\n");
    if (rehearsal)
        doc_rehearsal(&d, rehearsal);
    snprintf(line, sizeof(line), "Stap 8 Testen aansluiting (pre-productie). Gemaakt door zorgrelay preprod-test op %s.",
             json_string_value(json_object_get(doc, "generated")));
    doc_para(&d, line);
    if (run->setup)
        doc_setup(&d, run, cfg, doc);

    doc_heading(&d, 2, "Resultaten");
    snprintf(line, sizeof(line), "Akkoord: %lld, niet akkoord: %lld, niet beschikbaar: %lld, nog open: %lld.",
             (long long)json_integer_value(json_object_get(summary, "passed")),
             (long long)json_integer_value(json_object_get(summary, "failed")),
             (long long)json_integer_value(json_object_get(summary, "not_available")),
             (long long)json_integer_value(json_object_get(summary, "open")));
    doc_para(&d, line);
    doc_table_begin(&d, heads, 5);
    /* Dutch, DICTU's language (docs/preprod.md §5); the JSON has both. */
    for (size_t i = 0; i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        char *reason = zr_preprod_reason_text(&sc->reason, ZR_LANG_NL, 0), num[24], status[40];
        const char *cells[5] = {num, sc->checklist, sc->id, status, reason};
        snprintf(num, sizeof(num), "%zu", i + 1);
        snprintf(status, sizeof(status), BOLD "%s", status_dutch(sc->status));
        doc_row(&d, cells, 5);
        free(reason);
    }
    doc_table_end(&d);

    doc_heading(&d, 2, "Details per scenario");
    doc_para(&d, "BSN's zijn gemaskeerd tot de laatste drie cijfers. De SAML- en OIDC-berichten van elke inlog staan "
                 "gemaskeerd bij dit rapport (map traces/): per scenario de trace als JSON, een leesbaar overzicht "
                 "(.txt) en elk SAML-bericht als XML.");
    for (size_t i = 0; i < run->count; i++)
        doc_scenario(&d, run, i, json_array_get(items, i), rehearsal);

    doc_heading(&d, 2, "Toegang voor DICTU");
    doc_para(&d, "DICTU doorloopt de checklist ook zelf en vraagt daarvoor de inloggegevens van de testomgeving, "
                 "samen met deze resultaten (stap 8, Testen aansluiting).");
    {
        static const char *const h2[] = {"Gegeven", "Waarde"};
        doc_table_begin(&d, h2, 2);
        doc_pair(&d, "Testclient", cfg->preprod_test.public_base_url[0] ? cfg->preprod_test.public_base_url : "-");
        doc_pair(&d, "Inloggegevens", "(zelf invullen: zorgrelay schrijft geen wachtwoorden in dit rapport)");
        doc_table_end(&d);

        doc_heading(&d, 2, "Ondertekening");
        if (rehearsal)
            doc_rehearsal(&d, rehearsal);
        doc_table_begin(&d, h2, 2);
        doc_pair(&d, "Tester", run->signoff.tester[0] ? run->signoff.tester : "(niet ingevuld)");
        doc_pair(&d, "Organisatie", run->signoff.organisation[0] ? run->signoff.organisation : "(niet ingevuld)");
        doc_pair(&d, "Datum", run->signoff.date[0] ? run->signoff.date : "(niet ingevuld)");
        doc_pair(&d, "Opmerkingen", run->signoff.remarks[0] ? run->signoff.remarks : "-");
        doc_pair(&d, "Handtekening", " ");
        doc_table_end(&d);
    }
    zr_buf_appends(&d.html, "</body>\n</html>\n");

    json_text = json_dumps(doc, JSON_INDENT(2));
    if (!json_text || !d.md.data || !d.html.data)
        goto end;
    if (zr_preprod_traces_write(run, dir, err, errlen) != 0)
        goto end;
    snprintf(path, sizeof(path), "%s/preprod-report.json", dir);
    if (zr_preprod_write_atomic(path, json_text, err, errlen) != 0)
        goto end;
    snprintf(path, sizeof(path), "%s/preprod-report.html", dir);
    if (zr_preprod_write_atomic(path, d.html.data, err, errlen) != 0)
        goto end;
    snprintf(path, sizeof(path), "%s/preprod-report.md", dir);
    if (zr_preprod_write_atomic(path, d.md.data, err, errlen) != 0)
        goto end;
    rc = 0;
end:
    zr_buf_free(&d.md);
    zr_buf_free(&d.html);
    free(json_text);
    json_decref(doc);
    return rc;
}

/* ---- the bundle: each scenario's trace, as the relay exported it ---- */

/* The trace as a reader goes through it: one block per step, the data
 * indented (the XML is in the .xml files beside it). */
static char *trace_text(const zr_preprod_scenario_t *sc)
{
    zr_buf_t b;
    json_t *ev;
    size_t i;
    zr_buf_init(&b);
    zr_buf_printf(&b, "Trace %s of scenario %s (%s)\nclient %s, started %s\n",
                  json_string_value(json_object_get(sc->trace, "trace_id")) ? json_string_value(json_object_get(sc->trace, "trace_id")) : "-",
                  sc->id, sc->checklist,
                  json_string_value(json_object_get(sc->trace, "client_id")) ? json_string_value(json_object_get(sc->trace, "client_id")) : "-",
                  json_string_value(json_object_get(sc->trace, "created")) ? json_string_value(json_object_get(sc->trace, "created")) : "-");
    zr_buf_appends(&b, "BSNs masked to their last three digits; signatures, cipher values and certificates shortened; "
                       "codes and tokens as keyed pseudonyms (k:...).\n");
    json_array_foreach(json_object_get(sc->trace, "events"), i, ev) {
        const char *kind = json_string_value(json_object_get(ev, "kind"));
        json_t *rest = json_is_object(json_object_get(ev, "data")) ? json_deep_copy(json_object_get(ev, "data")) : NULL;
        char *text;
        zr_buf_printf(&b, "\n%02zu. %s  at %s (+%lld ms)\n", i + 1, kind ? kind : "-",
                      json_string_value(json_object_get(ev, "at")) ? json_string_value(json_object_get(ev, "at")) : "-",
                      (long long)json_integer_value(json_object_get(ev, "offset_ms")));
        if (rest && json_object_get(rest, "xml")) {
            json_object_del(rest, "xml");
            zr_buf_printf(&b, "    message: %s/%02zu-%s.xml\n", sc->id, i + 1, kind ? kind : "event");
        }
        if (rest && json_object_size(rest) && (text = json_dumps(rest, JSON_INDENT(4) | JSON_SORT_KEYS)) != NULL) {
            zr_buf_appends(&b, "    ");
            for (const char *p = text; *p; p++) {
                if (*p == '\n')
                    zr_buf_appends(&b, "\n    ");
                else
                    zr_buf_append(&b, p, 1);
            }
            zr_buf_appends(&b, "\n");
            free(text);
        }
        json_decref(rest);
    }
    return zr_buf_steal(&b);
}

/* Empties DIR/traces/<id>/ of the .xml files of an earlier attempt. */
static void clear_messages(const char *msgdir)
{
    DIR *dp = opendir(msgdir);
    struct dirent *e;
    char path[4600];
    if (!dp)
        return;
    while ((e = readdir(dp)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".xml") == 0) {
            snprintf(path, sizeof(path), "%s/%s", msgdir, e->d_name);
            unlink(path);
        }
    }
    closedir(dp);
}

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    return -1;
}

int zr_preprod_traces_write(const zr_preprod_run_t *run, const char *dir, char *err, size_t errlen)
{
    char path[4600], tdir[4300], msgdir[4400];
    snprintf(tdir, sizeof(tdir), "%s/traces", dir);
    if (make_dir(tdir, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < run->count; i++) {
        const zr_preprod_scenario_t *sc = &run->items[i];
        char *text = NULL;
        json_t *ev;
        size_t k;
        int rc = 0;
        snprintf(msgdir, sizeof(msgdir), "%s/%s", tdir, sc->id);
        if (!sc->trace) {
            /* Started again, or never run: no files of an earlier attempt. */
            clear_messages(msgdir);
            rmdir(msgdir);
            snprintf(path, sizeof(path), "%s/%s.json", tdir, sc->id);
            unlink(path);
            snprintf(path, sizeof(path), "%s/%s.txt", tdir, sc->id);
            unlink(path);
            continue;
        }
        if (make_dir(msgdir, err, errlen) != 0)
            return -1;
        clear_messages(msgdir);
        snprintf(path, sizeof(path), "%s/%s.json", tdir, sc->id);
        text = json_dumps(sc->trace, JSON_INDENT(2));
        rc = text ? zr_preprod_write_atomic(path, text, err, errlen) : -1;
        free(text);
        snprintf(path, sizeof(path), "%s/%s.txt", tdir, sc->id);
        text = rc == 0 ? trace_text(sc) : NULL;
        rc = text ? zr_preprod_write_atomic(path, text, err, errlen) : -1;
        free(text);
        json_array_foreach(json_object_get(sc->trace, "events"), k, ev) {
            const char *xml = json_string_value(json_object_get(json_object_get(ev, "data"), "xml"));
            const char *kind = json_string_value(json_object_get(ev, "kind"));
            if (rc != 0 || !xml)
                continue;
            snprintf(path, sizeof(path), "%s/%02zu-%s.xml", msgdir, k + 1, kind ? kind : "event");
            rc = zr_preprod_write_atomic(path, xml, err, errlen);
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- the PDF: Chromium prints the HTML report ---- */

int zr_preprod_report_pdf(const char *dir, const char *chromium, char *err, size_t errlen)
{
    char html[4200], pdf[4200], url[4300], out_arg[4300], profile[] = "/tmp/zorgrelay-pdf-XXXXXX", head[5] = "";
    char *real = realpath(dir, NULL);
    int status = 0, rc = -1, waited = 0, have_profile = 0;
    pid_t pid = -1, done = 0;
    FILE *f;

    if (!real) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(html, sizeof(html), "%s/preprod-report.html", real);
    snprintf(pdf, sizeof(pdf), "%s/preprod-report.pdf", real);
    snprintf(url, sizeof(url), "file://%s", html);
    snprintf(out_arg, sizeof(out_arg), "--print-to-pdf=%s", pdf);
    if (access(html, R_OK) != 0) {
        snprintf(err, errlen, "%s: %s", html, strerror(errno));
        goto end;
    }
    /* A profile of its own: nothing of the user's browser is read or kept. */
    if (!mkdtemp(profile)) {
        snprintf(err, errlen, "cannot make a temporary profile: %s", strerror(errno));
        goto end;
    }
    have_profile = 1;
    unlink(pdf);
    pid = fork();
    if (pid == 0) {
        char profile_arg[64];
        snprintf(profile_arg, sizeof(profile_arg), "--user-data-dir=%s", profile);
        /* Chromium's sandbox needs user namespaces, which root in a
         * container lacks; the page is our own file, no scripts. */
        if (geteuid() == 0)
            execl(chromium, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--no-pdf-header-footer", profile_arg, out_arg, url, (char *)NULL);
        else
            execl(chromium, chromium, "--headless", "--disable-gpu", "--no-first-run", "--no-pdf-header-footer",
                  profile_arg, out_arg, url, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto end;
    }
    /* Chromium may hang on a broken display setup: at most two minutes. */
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && waited < 1200) {
        usleep(100 * 1000);
        waited++;
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        snprintf(err, errlen, "%s did not finish printing within 120 s", chromium);
        goto end;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        snprintf(err, errlen, "%s failed (exit %d)%s", chromium, WIFEXITED(status) ? WEXITSTATUS(status) : -1,
                 WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ": cannot run it" : "");
        goto end;
    }
    f = fopen(pdf, "rb");
    if (!f || fread(head, 1, 4, f) != 4 || memcmp(head, "%PDF", 4) != 0) {
        snprintf(err, errlen, "%s wrote no PDF to %s", chromium, pdf);
        if (f)
            fclose(f);
        goto end;
    }
    fclose(f);
    rc = 0;
end:
    if (have_profile) {
        pid_t rm = fork(); /* Chromium fills its profile with many files: rm -r it */
        if (rm == 0) {
            execlp("rm", "rm", "-rf", "--", profile, (char *)NULL);
            _exit(127);
        }
        if (rm > 0)
            waitpid(rm, NULL, 0);
    }
    free(real);
    return rc;
}
