/* Why a scenario passed or failed, in the page's language: a reason is a
 * code plus parameters (kept in the state file and the JSON report); its
 * texts are the catalog's "preprod.reason.<code>" keys (templates/lang/)
 * (issue 5 §6: every page a person sees in Dutch by default, English by
 * Accept-Language, from templates/). */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

#define REASON_VALUE_MAX 200

/* Every code zr_preprod_evaluate and the test client's server record, with
 * the parameters its texts use (tests/unit/test_preprod_reasons.c checks
 * both languages against this table). */
static const zr_preprod_reason_def_t reason_defs[] = {
    {"login_refused", {"error", "description", NULL}},
    {"token_invalid", {"error", NULL}},
    {"loa_below", {"reached", "requested", NULL}},
    {"loa_reached", {"reached", "requested", NULL}},
    {"cancel_logged_in", {NULL}},
    {"cancel_unexpected", {"got", NULL}},
    {"cancel_not_tvs_cancel", {"saml_result", NULL}},
    {"cancel_passed", {NULL}},
    {"cancel_passed_tvs", {NULL}},
    {"loa_logged_in", {"requested", NULL}},
    {"loa_unexpected", {"got", "saml_result", NULL}},
    {"loa_refused", {NULL}},
    {"loa_refused_saml", {"saml_result", NULL}},
    {"machtigen_failed", {"error", NULL}},
    {"machtigen_no_representation", {NULL}},
    {"machtigen_passed", {"representation_type", NULL}},
    {"logout_passed", {NULL}},
    {"logout_login_failed", {"error", NULL}},
    {"logout_now", {NULL}},
    {"expired_accepted", {"elapsed", "lifetime", NULL}},
    {"expired_refused", {"elapsed", "lifetime", NULL}},
    {"expired_unexpected", {"got", NULL}},
    {"expired_waiting", {NULL}},
    {"replay_accepted", {NULL}},
    {"replay_refused", {NULL}},
    {"replay_refused_code", {NULL}},
    {"replay_first_failed", {"error", NULL}},
    {"replay_now", {NULL}},
    {"unknown_scenario", {NULL}},
    /* src/preprod/server.c */
    {"discovery_failed", {"error", NULL}},
    {"no_end_session", {NULL}},
    {"no_randomness", {NULL}},
    {"waiting_login", {NULL}},
    {"trace_unreadable", {NULL}},
    {"logout_needs_login", {NULL}},
};

const zr_preprod_reason_def_t *zr_preprod_reason_defs(size_t *count)
{
    *count = sizeof(reason_defs) / sizeof(reason_defs[0]);
    return reason_defs;
}

void zr_preprod_reason_clear(zr_preprod_reason_t *r)
{
    json_decref(r->params);
    memset(r, 0, sizeof(*r));
}

/* A parameter as the state file and the texts can hold it: one line, at
 * most REASON_VALUE_MAX bytes, cut at a UTF-8 character boundary. */
static json_t *reason_value(const char *v)
{
    char buf[REASON_VALUE_MAX + 1];
    size_t n = 0;
    json_t *s;
    if (!v)
        v = "-";
    for (; v[n] && n < REASON_VALUE_MAX; n++)
        buf[n] = ((unsigned char)v[n] < 0x20 || v[n] == 0x7f) ? ' ' : v[n];
    /* v[n] continues a character: leave out that character's start too */
    while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
        n--;
    buf[n] = '\0';
    s = json_stringn(buf, n);
    return s ? s : json_string("?"); /* not UTF-8 */
}

void zr_preprod_reason_param(zr_preprod_reason_t *r, const char *name, const char *value)
{
    if (!r->params)
        r->params = json_object();
    json_object_set_new(r->params, name, reason_value(value));
}

void zr_preprod_reason_set(zr_preprod_reason_t *r, const char *code, ...)
{
    va_list ap;
    const char *name;
    zr_preprod_reason_clear(r);
    snprintf(r->code, sizeof(r->code), "%s", code);
    va_start(ap, code);
    while ((name = va_arg(ap, const char *)) != NULL)
        zr_preprod_reason_param(r, name, va_arg(ap, const char *));
    va_end(ap);
}

/* Undoes zr_buf_append_html (and the same entities written in a text):
 * the report is Markdown and JSON, not HTML. In place. */
static void html_unescape(char *s)
{
    static const struct {
        const char *entity;
        char c;
    } entities[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    char *out = s;
    while (*s) {
        size_t i, n = sizeof(entities) / sizeof(entities[0]);
        for (i = 0; *s == '&' && i < n; i++)
            if (strncmp(s, entities[i].entity, strlen(entities[i].entity)) == 0)
                break;
        if (*s == '&' && i < n) {
            *out++ = entities[i].c;
            s += strlen(entities[i].entity);
        } else {
            *out++ = *s++;
        }
    }
    *out = '\0';
}

char *zr_preprod_reason_text(const zr_preprod_reason_t *r, zr_lang_t lang, int html)
{
    zr_kvlist_t vars = {0};
    zr_buf_t b;
    const char *name;
    json_t *value;
    char key[80], *text = NULL;

    zr_buf_init(&b);
    if (r->code[0]) {
        json_object_foreach(r->params, name, value)
            zr_kv_add(&vars, name, json_string_value(value));
        snprintf(key, sizeof(key), "preprod.reason.%s", r->code);
        text = zr_page_text(lang, key, &vars);
    }
    if (!text) {
        /* no code, or a code this version has no text for (a newer state file) */
        const char *plain = r->text[0] || !r->code[0] ? r->text : r->code;
        if (html)
            zr_buf_append_html(&b, plain);
        else
            zr_buf_appends(&b, plain);
        text = zr_buf_steal(&b);
    } else if (!html) {
        html_unescape(text);
    }
    zr_buf_free(&b);
    zr_kv_free(&vars);
    return text;
}

/* "2 minuten", "1 minute and 1 second": the catalog's preprod.duration.*
 * words (one and many), joined by preprod.duration.and. */
char *zr_preprod_duration_text(int seconds, zr_lang_t lang)
{
    int m = seconds / 60, s = seconds % 60;
    zr_buf_t b;
    zr_buf_init(&b);
    if (m)
        zr_buf_printf(&b, "%d %s", m,
                      zr_lang_text(lang, m == 1 ? "preprod.duration.minute" : "preprod.duration.minutes"));
    if (m && s)
        zr_buf_printf(&b, " %s ", zr_lang_text(lang, "preprod.duration.and"));
    if (s || !m)
        zr_buf_printf(&b, "%d %s", s,
                      zr_lang_text(lang, s == 1 ? "preprod.duration.second" : "preprod.duration.seconds"));
    return zr_buf_steal(&b);
}
