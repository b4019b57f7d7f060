/* The pages people see: templates/<name>.html with {{key}} (HTML
 * escaped), {{{key}}} (raw, only for HTML we rendered from templates
 * ourselves), {{@key}} (the text of key in the page language's catalog,
 * templates/lang/<code>.txt, lang.c), {{>name}} (another template, e.g. the
 * shared layout) and {{=key text}} (a default for key, so that a page can
 * give the shared layout its title). Hand-written on purpose: a template
 * engine library would be a larger attack surface than these 200 lines, and
 * the pages only need substitution. */
#include "zr/http.h"
#include "zr/lang.h"
#include "zr/log.h"
#include "zr/util.h"

#include "http_internal.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#ifndef ZR_TEMPLATE_DIR
#define ZR_TEMPLATE_DIR "templates"
#endif

#define PAGE_MAX_TEMPLATE_BYTES (256 * 1024)
#define PAGE_MAX_DEPTH 4

typedef struct page_cached {
    char *path;
    char *text;
    struct page_cached *next;
} page_cached_t;

/* Templates are read once and kept: the lock guards the list and the
 * directory; callers get their own copy so nothing is shared after return. */
static pthread_mutex_t page_lock = PTHREAD_MUTEX_INITIALIZER;
static char *page_dir;
static page_cached_t *page_cache;
/* The request whose handler runs on this thread (zr_page_request_bind):
 * the language switch links to its address. */
static __thread const zr_http_request_t *page_request;

static void page_cache_clear_locked(void)
{
    while (page_cache) {
        page_cached_t *next = page_cache->next;
        free(page_cache->path);
        free(page_cache->text);
        free(page_cache);
        page_cache = next;
    }
}

void zr_page_set_template_dir(const char *dir)
{
    pthread_mutex_lock(&page_lock);
    zr_release(page_dir);
    page_dir = zr_strdup(dir);
    page_cache_clear_locked();
    pthread_mutex_unlock(&page_lock);
    http_lang_forget();
}

static const char *page_dir_locked(void)
{
    const char *dir = page_dir ? page_dir : getenv("ZR_TEMPLATES");
    return dir && *dir ? dir : ZR_TEMPLATE_DIR;
}

char *http_page_template_dir(void)
{
    char *dir;
    pthread_mutex_lock(&page_lock);
    dir = zr_strdup(page_dir_locked());
    pthread_mutex_unlock(&page_lock);
    return dir;
}

/* Template names come from our code, but are still kept to a safe alphabet
 * so that no name can walk out of the template directory. */
static int page_name_valid(const char *name)
{
    if (!name || !*name || strlen(name) > 64)
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return 0;
    return 1;
}

/* Returns a malloc'ed copy of templates/<file>, or NULL when it is missing. */
static char *page_load(const char *file)
{
    char *copy = NULL, *text = NULL, path[4096];
    size_t len = 0;
    const char *dir;
    page_cached_t *c;

    pthread_mutex_lock(&page_lock);
    dir = page_dir_locked();
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, file) >= sizeof(path))
        goto end;
    for (c = page_cache; c; c = c->next) {
        if (strcmp(c->path, path) == 0) {
            copy = strdup(c->text);
            goto end;
        }
    }
    if (zr_file_read(path, PAGE_MAX_TEMPLATE_BYTES, &text, &len) != 0)
        goto end;
    c = calloc(1, sizeof(*c));
    if (!c)
        goto end;
    c->path = strdup(path);
    c->text = text;
    if (!c->path) {
        free(c);
        goto end;
    }
    text = NULL;
    c->next = page_cache;
    page_cache = c;
    copy = strdup(c->text);
end:
    pthread_mutex_unlock(&page_lock);
    free(text);
    return copy;
}

/* templates/<name>.html: one template for every language. */
static char *page_load_template(const char *name)
{
    char file[128];

    if (!page_name_valid(name))
        return NULL;
    snprintf(file, sizeof(file), "%s.html", name);
    return page_load(file);
}

/* Catalog keys: [a-z0-9_.-], as lang.c accepts them. */
static int page_key_valid(const char *key)
{
    if (!key || !*key || strlen(key) > ZR_LANG_MAX_KEY)
        return 0;
    for (const char *p = key; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
            return 0;
    return 1;
}

/* The caller's value, else the template's default ({{=key text}}), else
 * the language's code for lang, else "". */
static const char *page_var(const zr_kvlist_t *vars, const zr_kvlist_t *defaults, const char *key, zr_lang_t lang)
{
    const char *v = zr_kv_get(vars, key);
    if (!v)
        v = zr_kv_get(defaults, key);
    if (!v && strcmp(key, "lang") == 0)
        v = zr_lang_code(lang);
    return v ? v : "";
}

/* {{=key text}}: key gets text unless the caller or an earlier template set
 * it first, so a page template can set the layout's title before
 * {{>layout-top}}, and the layout its own fallbacks after that. */
static int page_define(zr_kvlist_t *defaults, const zr_kvlist_t *vars, char *definition, zr_lang_t lang)
{
    char *value = definition + strcspn(definition, " \t");

    if (*value)
        *value++ = '\0';
    if (!page_name_valid(definition))
        return -1;
    if (zr_kv_get(vars, definition) || zr_kv_get(defaults, definition))
        return 0;
    value = zr_str_trim(value);
    /* {{=title @key}}: the catalog's text, as plain text */
    if (value[0] == '@')
        return page_key_valid(value + 1) ? zr_kv_add(defaults, definition, zr_lang_text(lang, value + 1)) : -1;
    return zr_kv_add(defaults, definition, value);
}

void zr_page_request_bind(const zr_http_request_t *req)
{
    page_request = req;
}

int zr_page_lang_link_safe(const zr_kvlist_t *query)
{
    /* Single-use or secret values a link must never repeat (the address
     * bar, history and logs keep it). */
    static const char *const unsafe[] = {"SAMLart", "SAMLRequest", "SAMLResponse", "RelayState", "code",
                                         "handle", "token", "access_token", "id_token", "id_token_hint",
                                         "logout_token", "request", "request_uri", NULL};
    for (size_t i = 0; query && i < query->count; i++)
        for (size_t j = 0; unsafe[j]; j++)
            if (strcmp(query->items[i].name, unsafe[j]) == 0)
                return 0;
    return 1;
}

/* The current address with lang=code instead of any lang it had. */
static char *page_lang_href(const zr_http_request_t *req, const char *code)
{
    zr_buf_t b;
    char sep = '?', *href = NULL;

    zr_buf_init(&b);
    if (zr_buf_appends(&b, req->path) != 0)
        goto end;
    for (size_t i = 0; i < req->query.count; i++) {
        char *k, *v;
        int rc;
        if (strcmp(req->query.items[i].name, ZR_LANG_PARAM) == 0)
            continue;
        k = zr_url_encode(req->query.items[i].name);
        v = zr_url_encode(req->query.items[i].value ? req->query.items[i].value : "");
        rc = k && v ? zr_buf_printf(&b, "%c%s=%s", sep, k, v) : -1;
        free(k);
        free(v);
        if (rc != 0)
            goto end;
        sep = '&';
    }
    if (zr_buf_printf(&b, "%c%s=%s", sep, ZR_LANG_PARAM, code) != 0)
        goto end;
    href = zr_buf_steal(&b);
end:
    zr_buf_free(&b);
    return href;
}

/* base (an address of ours with a query) with lang=code added. */
static char *page_lang_href_from(const char *base, const char *code)
{
    char *href = NULL;
    if (asprintf(&href, "%s%c%s=%s", base, strchr(base, '?') ? '&' : '?', ZR_LANG_PARAM, code) < 0)
        href = NULL;
    return href;
}

/* The language switch (docs/pages.md): one entry per other language,
 * rendered in that language (its own name, lang, hreflang), in the nav
 * of the page's language. "" when the page can offer none; hint then says
 * how to change the language in the browser. NULL on error. */
static char *page_lang_switch(zr_lang_t lang, const zr_kvlist_t *vars, const zr_kvlist_t *defaults, int hint)
{
    const char *form = zr_kv_get(vars, "lang_form"), *base = zr_kv_get(vars, "lang_href");
    const zr_http_request_t *req = page_request;
    int link;
    zr_buf_t items;
    char *html = NULL;

    /* In this order: the page's form, its own address, where it is made
     * again (lang_href). */
    if (!form)
        form = zr_kv_get(defaults, "lang_form");
    link = !form && req && (!strcmp(req->method, "GET") || !strcmp(req->method, "HEAD")) &&
           zr_page_lang_link_safe(&req->query);
    if (form || link)
        base = NULL;
    /* {{=lang_switch off}}: a page that must not be made again (a hop
     * that sends a message on) offers only the hint. */
    if (zr_kv_get(defaults, "lang_switch"))
        form = NULL, link = 0, base = NULL;
    zr_buf_init(&items);
    if (zr_buf_appends(&items, "") != 0)
        goto end;
    if (hint && (form || link || base)) {
        html = zr_buf_steal(&items);
        goto end;
    }
    for (size_t i = 0; i < zr_lang_count(); i++) {
        zr_kvlist_t row = {0};
        char *href = NULL, *item = NULL;
        int rc = -1;
        if ((zr_lang_t)i == lang)
            continue;
        if (hint)
            item = zr_page_render("lang-hint", (zr_lang_t)i, NULL);
        else if (form)
            item = zr_kv_add(&row, "form", form) == 0 ? zr_page_render("lang-switch-button", (zr_lang_t)i, &row)
                                                        : NULL;
        else if (link || base)
            item = (href = link ? page_lang_href(req, zr_lang_code((zr_lang_t)i))
                                : page_lang_href_from(base, zr_lang_code((zr_lang_t)i))) &&
                           zr_kv_add(&row, "href", href) == 0
                       ? zr_page_render("lang-switch-link", (zr_lang_t)i, &row)
                       : NULL;
        else
            item = strdup("");
        if (item)
            rc = zr_buf_appends(&items, item);
        zr_kv_free(&row);
        free(href);
        free(item);
        if (rc != 0)
            goto end;
    }
    if (hint || !items.len) {
        html = zr_buf_steal(&items);
    } else {
        zr_kvlist_t nav = {0};
        if (zr_kv_add(&nav, "items", items.data) == 0)
            html = zr_page_render("lang-switch", lang, &nav);
        zr_kv_free(&nav);
    }
end:
    zr_buf_free(&items);
    return html;
}

static int page_render_into(zr_buf_t *out, const char *name, zr_lang_t lang, const zr_kvlist_t *vars,
                            zr_kvlist_t *defaults, int depth);

/* Renders text (the template name, or the catalog key when catalog is set:
 * a catalog text has {{var}} and {{{var}}} only, nothing that includes more). */
static int page_render_text(zr_buf_t *out, const char *name, const char *text, int catalog, zr_lang_t lang,
                            const zr_kvlist_t *vars, zr_kvlist_t *defaults, int depth)
{
    char key[512];
    const char *p = text, *open;

    while ((open = strstr(p, "{{")) != NULL) {
        int raw = open[2] == '{';
        int partial = !raw && open[2] == '>';
        int define = !raw && open[2] == '=';
        int word = !raw && open[2] == '@';
        const char *kstart = open + (raw || partial || define || word ? 3 : 2);
        const char *close = strstr(kstart, raw ? "}}}" : "}}");
        size_t klen;

        if (zr_buf_append(out, p, (size_t)(open - p)) != 0)
            return -1;
        if ((define || word) && (!close || (size_t)(close - kstart) >= sizeof(key))) {
            zr_log_error("template", "template %s: unterminated or too long definition", name);
            return -1;
        }
        if (!close || (klen = (size_t)(close - kstart)) >= sizeof(key)) {
            /* not a placeholder: copy the braces literally */
            if (zr_buf_append(out, open, 2) != 0)
                return -1;
            p = open + 2;
            continue;
        }
        memcpy(key, kstart, klen);
        key[klen] = '\0';
        zr_str_trim(key);
        if (catalog && (partial || define || word)) {
            zr_log_error("template", "catalog text %s: only {{var}} may be used in it", name);
            return -1;
        }
        if (partial) {
            if (page_render_into(out, key, lang, vars, defaults, depth + 1) != 0)
                return -1;
        } else if (define) {
            if (page_define(defaults, vars, key, lang) != 0) {
                zr_log_error("template", "template %s: bad definition", name);
                return -1;
            }
        } else if (word) {
            if (!page_key_valid(key) ||
                page_render_text(out, key, zr_lang_text(lang, key), 1, lang, vars, defaults, depth + 1) != 0) {
                zr_log_error("template", "template %s: bad catalog key", name);
                return -1;
            }
        } else if (raw && (!strcmp(key, "lang_switch") || !strcmp(key, "lang_hint")) && !zr_kv_get(vars, key)) {
            char *html = page_lang_switch(lang, vars, defaults, !strcmp(key, "lang_hint"));
            int arc = html ? zr_buf_appends(out, html) : -1;
            free(html);
            if (arc != 0)
                return -1;
        } else if (raw) {
            if (zr_buf_appends(out, page_var(vars, defaults, key, lang)) != 0)
                return -1;
        } else if (zr_buf_append_html(out, page_var(vars, defaults, key, lang)) != 0) {
            return -1;
        }
        p = close + (raw ? 3 : 2);
        /* a definition on a line of its own leaves no empty line behind */
        if (define && *p == '\n')
            p++;
    }
    return zr_buf_appends(out, p);
}

static int page_render_into(zr_buf_t *out, const char *name, zr_lang_t lang, const zr_kvlist_t *vars,
                            zr_kvlist_t *defaults, int depth)
{
    int rc = -1;
    char *text = NULL;

    if (depth > PAGE_MAX_DEPTH)
        goto end;
    text = page_load_template(name);
    if (!text) {
        zr_log_error("template", "template %s not found", name);
        goto end;
    }
    rc = page_render_text(out, name, text, 0, lang, vars, defaults, depth);
end:
    free(text);
    return rc;
}

char *zr_page_render(const char *name, zr_lang_t lang, const zr_kvlist_t *vars)
{
    zr_buf_t out;
    zr_kvlist_t defaults = {0};
    char *html = NULL;

    zr_buf_init(&out);
    if (page_render_into(&out, name, lang, vars, &defaults, 0) == 0)
        html = zr_buf_steal(&out);
    zr_buf_free(&out);
    zr_kv_free(&defaults);
    return html;
}

char *zr_page_text(zr_lang_t lang, const char *key, const zr_kvlist_t *vars)
{
    zr_buf_t out;
    zr_kvlist_t defaults = {0};
    char *html = NULL;

    zr_buf_init(&out);
    if (!page_key_valid(key) || !zr_lang_has(lang, key))
        goto end;
    if (page_render_text(&out, key, zr_lang_text(lang, key), 1, lang, vars, &defaults, 0) == 0)
        html = zr_buf_steal(&out);
end:
    zr_buf_free(&out);
    zr_kv_free(&defaults);
    return html;
}

char *zr_page_render_each(const char *name, zr_lang_t lang, const zr_kvlist_t *rows, size_t count)
{
    zr_buf_t out;
    char *html = NULL;

    zr_buf_init(&out);
    for (size_t i = 0; i < count; i++) {
        zr_kvlist_t defaults = {0};
        int rc = page_render_into(&out, name, lang, &rows[i], &defaults, 0);
        zr_kv_free(&defaults);
        if (rc != 0)
            goto end;
    }
    /* an empty list is an empty string, not a failure */
    if (zr_buf_appends(&out, "") != 0)
        goto end;
    html = zr_buf_steal(&out);
end:
    zr_buf_free(&out);
    return html;
}

/* The catalog's errors.<code>.title and errors.<code>.text, or NULL for
 * a code the catalog does not know. */
static void page_error_text(const char *code, zr_lang_t lang, const char **title, const char **explanation)
{
    char key[160];

    *title = *explanation = NULL;
    if (!code || !page_key_valid(code) || strlen(code) > 64)
        return;
    snprintf(key, sizeof(key), "errors.%s.title", code);
    if (!zr_lang_has(lang, key))
        return;
    *title = zr_lang_text(lang, key);
    snprintf(key, sizeof(key), "errors.%s.text", code);
    *explanation = zr_lang_text(lang, key);
}

char *zr_page_file_text(const char *name, zr_lang_t lang, const char *key)
{
    char file[128], *text = NULL, *line, *save = NULL, *value = NULL;
    size_t klen = key ? strlen(key) : 0;

    if (!page_name_valid(name) || !klen)
        goto end;
    snprintf(file, sizeof(file), "%s.%s", name, zr_lang_code(lang));
    text = page_load(file);
    if (!text)
        goto end;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || strncmp(line, key, klen) != 0 || line[klen] != '=')
            continue;
        value = strdup(zr_str_trim(line + klen + 1));
        break;
    }
end:
    free(text);
    return value;
}

int zr_page_error_known(const char *code)
{
    const char *title = NULL, *explanation = NULL;
    page_error_text(code, ZR_LANG_NL, &title, &explanation);
    return title != NULL;
}

zr_lang_t zr_http_lang_pick(const char *ui_locales, zr_lang_t fallback)
{
    const char *p = ui_locales;
    while (p && *p) {
        size_t n = strcspn(p, " ");
        size_t primary = strcspn(p, " -");
        char code[4];
        zr_lang_t lang;
        if (primary >= 2 && primary <= 3 && primary <= n) {
            memcpy(code, p, primary);
            code[primary] = '\0';
            if (zr_lang_from_code(code, &lang) == 0)
                return lang;
        }
        p += n;
        p += strspn(p, " ");
    }
    return fallback;
}

zr_lang_t zr_http_lang_of(const zr_http_request_t *req, const char *ui_locales)
{
    return req->lang_switched ? req->lang : zr_http_lang_pick(ui_locales, req->lang);
}

/* The error codes after which starting the login over is the sensible
 * next step: the login itself was in order, but this attempt cannot go on.
 * Not for a refusal that a new attempt would meet again (unknown client,
 * unregistered address, a role without access) nor for logout. */
static int page_relogin_makes_sense(const char *code)
{
    static const char *const codes[] = {"session_expired", "session_not_found", "browser_mismatch", "saml_replay",
                                        "saml_invalid", "bsn_invalid", "tvs_unavailable", "tvs_error",
                                        "store_unavailable", "internal_error", "bad_request", "authn_failed",
                                        "choice_already_made", "care_provider_unavailable", NULL};
    for (size_t i = 0; codes[i]; i++)
        if (strcmp(codes[i], code) == 0)
            return 1;
    return 0;
}

/* One row of a list rendered from templates/<name> with key=value pairs
 * (NULL-terminated), appended to out. 0 on success. */
static int page_append_row(zr_buf_t *out, const char *name, zr_lang_t lang, ...)
{
    zr_kvlist_t vars = {0};
    const char *k, *v;
    char *html = NULL;
    int rc = -1;
    va_list ap;

    va_start(ap, lang);
    while ((k = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        if (zr_kv_add(&vars, k, v ? v : "") != 0) {
            va_end(ap);
            goto end;
        }
    }
    va_end(ap);
    html = zr_page_render(name, lang, &vars);
    if (!html || zr_buf_appends(out, html) != 0)
        goto end;
    rc = 0;
end:
    zr_kv_free(&vars);
    free(html);
    return rc;
}

char *zr_page_way_render(zr_lang_t lang, const zr_page_way_t *way)
{
    zr_buf_t items, out;
    char *html = NULL;
    int links = 0;

    zr_buf_init(&items);
    zr_buf_init(&out);
    if (zr_buf_appends(&items, "") != 0)
        goto end;
    if (way && way->return_handle) {
        if (page_append_row(&out, "way-return", lang, "handle", way->return_handle, "portal_name",
                            way->portal_name ? way->portal_name : "", NULL) != 0)
            goto end;
        html = zr_buf_steal(&out);
        goto end;
    }
    if (way && way->home_page) {
        if (page_append_row(&items, "way-back", lang, "href", way->home_page, "portal_name",
                            way->portal_name ? way->portal_name : way->home_page, NULL) != 0)
            goto end;
        links++;
    }
    if (way && way->login_uri) {
        if (page_append_row(&items, "way-login", lang, "href", way->login_uri, NULL) != 0)
            goto end;
        links++;
    }
    /* Nothing known: a sentence, never a dead link. */
    if (!links ? page_append_row(&out, "way-none", lang, NULL) != 0
               : page_append_row(&out, "way-list", lang, "items", items.data, NULL) != 0)
        goto end;
    html = zr_buf_steal(&out);
end:
    zr_buf_free(&items);
    zr_buf_free(&out);
    return html;
}

char *zr_page_helpdesk_render(zr_lang_t lang, const zr_page_way_t *way)
{
    zr_buf_t items, out;
    char *html = NULL;

    zr_buf_init(&items);
    zr_buf_init(&out);
    if (zr_buf_appends(&items, "") != 0 || zr_buf_appends(&out, "") != 0)
        goto end;
    if (way && way->helpdesk_name && page_append_row(&items, "helpdesk-name", lang, "name", way->helpdesk_name,
                                                     NULL) != 0)
        goto end;
    if (way && way->helpdesk_phone && way->helpdesk_phone_uri &&
        page_append_row(&items, "helpdesk-phone", lang, "phone", way->helpdesk_phone, "phone_uri",
                        way->helpdesk_phone_uri, NULL) != 0)
        goto end;
    if (way && way->helpdesk_url && page_append_row(&items, "helpdesk-url", lang, "url", way->helpdesk_url, NULL) != 0)
        goto end;
    if (items.len && page_append_row(&out, "helpdesk", lang, "items", items.data, NULL) != 0)
        goto end;
    html = zr_buf_steal(&out);
end:
    zr_buf_free(&items);
    zr_buf_free(&out);
    return html;
}

char *zr_page_provider_render(zr_lang_t lang, const zr_page_way_t *way)
{
    zr_buf_t logo, out;
    char *html = NULL;

    zr_buf_init(&logo);
    zr_buf_init(&out);
    if (zr_buf_appends(&logo, "") != 0 || zr_buf_appends(&out, "") != 0)
        goto end;
    if (way && way->provider_name && way->logo_src && way->logo_alt &&
        page_append_row(&logo, "layout-logo", lang, "src", way->logo_src, "alt", way->logo_alt, NULL) != 0)
        goto end;
    if (way && way->provider_name &&
        page_append_row(&out, "layout-provider", lang, "name", way->provider_name, "logo", logo.data, NULL) != 0)
        goto end;
    html = zr_buf_steal(&out);
end:
    zr_buf_free(&logo);
    zr_buf_free(&out);
    return html;
}

int zr_page_provider_var(zr_kvlist_t *vars, zr_lang_t lang, const zr_page_way_t *way)
{
    char *html = zr_page_provider_render(lang, way);
    int rc = html ? zr_kv_add(vars, "provider", html) : -1;
    free(html);
    return rc;
}

int zr_page_error(zr_http_response_t *r, int status, zr_lang_t lang, const char *error_code, const char *reference)
{
    return zr_page_error_way(r, status, lang, error_code, reference, NULL);
}

int zr_page_error_way(zr_http_response_t *r, int status, zr_lang_t lang, const char *error_code,
                      const char *reference, const zr_page_way_t *way_in)
{
    int rc = -1;
    zr_kvlist_t vars = {0};
    const char *title = NULL, *explanation = NULL;
    char *html = NULL, st[8];
    const char *code = error_code && *error_code ? error_code : "internal_error";
    char *ways = NULL, *helpdesk = NULL;
    zr_page_way_t way = {0};
    zr_buf_t fallback;

    zr_buf_init(&fallback);
    if (way_in)
        way = *way_in;
    if (!page_relogin_makes_sense(code))
        way.login_uri = NULL;
    page_error_text(code, lang, &title, &explanation);
    snprintf(st, sizeof(st), "%d", status);
    if (!title) {
        title = zr_lang_text(lang, "error.fallback_title");
        explanation = zr_lang_text(lang, "error.fallback_text");
    }
    /* No catalog at all (templates missing): the one fixed text in C, in
     * both languages, so a person still reads what happened. */
    if (!*title) {
        title = "Er ging iets mis / Something went wrong";
        explanation = "Probeer het later opnieuw. / Please try again later.";
    }
    if (zr_kv_add(&vars, "title", title) != 0 || zr_kv_add(&vars, "explanation", explanation) != 0 ||
        zr_kv_add(&vars, "code", code) != 0 || zr_kv_add(&vars, "reference", reference ? reference : "-") != 0 ||
        zr_kv_add(&vars, "status", st) != 0)
        goto end;
    /* A refusal page's switch posts its one form again (way-return);
     * another page that cannot be repeated links to where it can be made
     * again, when the caller knows such an address. */
    if (way.return_handle ? zr_kv_add(&vars, "lang_form", "way-return-form") != 0
                          : way.lang_href && zr_kv_add(&vars, "lang_href", way.lang_href) != 0)
        goto end;
    ways = zr_page_way_render(lang, &way);
    helpdesk = zr_page_helpdesk_render(lang, &way);
    if (ways && helpdesk && zr_kv_add(&vars, "way_forward", ways) == 0 && zr_kv_add(&vars, "helpdesk", helpdesk) == 0 &&
        zr_page_provider_var(&vars, lang, &way) == 0)
        html = zr_page_render("error", lang, &vars);
    if (!html) {
        /* Without templates a person still gets a readable, escaped page. */
        if (zr_buf_printf(&fallback, "<!DOCTYPE html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                          "<link rel=\"icon\" href=\"data:,\"><title>",
                          zr_lang_code(lang)) != 0 ||
            zr_buf_append_html(&fallback, zr_kv_get(&vars, "title")) != 0 ||
            zr_buf_appends(&fallback, "</title></head><body><h1>") != 0 ||
            zr_buf_append_html(&fallback, zr_kv_get(&vars, "title")) != 0 ||
            zr_buf_appends(&fallback, "</h1><p>") != 0 ||
            zr_buf_append_html(&fallback, zr_kv_get(&vars, "explanation")) != 0 ||
            zr_buf_appends(&fallback, "</p><p>") != 0 || zr_buf_append_html(&fallback, code) != 0 ||
            zr_buf_appends(&fallback, " / ") != 0 ||
            zr_buf_append_html(&fallback, zr_kv_get(&vars, "reference")) != 0 || zr_buf_appends(&fallback, "</p>") != 0)
            goto end;
        if (way.home_page && (zr_buf_appends(&fallback, "<p><a href=\"") != 0 ||
                              zr_buf_append_html(&fallback, way.home_page) != 0 ||
                              zr_buf_appends(&fallback, "\">") != 0 ||
                              zr_buf_append_html(&fallback, way.portal_name ? way.portal_name : way.home_page) != 0 ||
                              zr_buf_appends(&fallback, "</a></p>") != 0))
            goto end;
        if (zr_buf_appends(&fallback, "</body></html>\n") != 0)
            goto end;
        html = zr_buf_steal(&fallback);
    }
    rc = zr_http_respond(r, status, "text/html; charset=utf-8", html, strlen(html));
end:
    zr_buf_free(&fallback);
    zr_kv_free(&vars);
    free(ways);
    free(helpdesk);
    free(html);
    return rc;
}

/* The CSP form-action source for action: its origin ("https://host:port"),
 * or 'self' for a path on this server. -1 for anything else. */
static int page_action_origin(const char *action, char *out, size_t outlen)
{
    const char *host, *end;
    size_t schemelen;

    for (const char *p = action; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return -1;
    if (action[0] == '/' && action[1] != '/' && action[1] != '\\') {
        snprintf(out, outlen, "'self'");
        return 0;
    }
    if (strncmp(action, "https://", 8) == 0)
        schemelen = 8;
    else if (strncmp(action, "http://", 7) == 0)
        schemelen = 7;
    else
        return -1;
    host = action + schemelen;
    end = host + strcspn(host, "/?#");
    if (end == host || (size_t)(end - action) >= outlen)
        return -1;
    /* host[:port] or [v6]:port only; no userinfo, nothing that could end the
     * CSP directive. */
    for (const char *p = host; p < end; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr(".-:[]", *p)))
            return -1;
    memcpy(out, action, (size_t)(end - action));
    out[end - action] = '\0';
    return 0;
}

char *zr_page_form_csp(const char *const *targets, size_t count)
{
    zr_buf_t csp, seen, list;
    char origin[512], *out = NULL;
    size_t distinct = 0;
    int http = 0, https = 0;

    zr_buf_init(&csp);
    zr_buf_init(&seen);
    zr_buf_init(&list);
    if (zr_buf_appends(&csp, "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                             "form-action 'self'") != 0 ||
        zr_buf_appends(&seen, " ") != 0)
        goto end;
    for (size_t i = 0; targets && i < count; i++) {
        char key[520];
        /* Anything that is not an http(s) origin is left out: that only
         * narrows what the form may reach. */
        if (!targets[i] || page_action_origin(targets[i], origin, sizeof(origin)) != 0 ||
            strcmp(origin, "'self'") == 0)
            continue;
        if (strncmp(origin, "https:", 6) == 0)
            https = 1;
        else
            http = 1;
        if (distinct > ZR_PAGE_FORM_CSP_MAX_ORIGINS)
            continue; /* the list is given up for the schemes below */
        snprintf(key, sizeof(key), " %s ", origin);
        if (strstr(seen.data, key))
            continue;
        distinct++;
        if (zr_buf_appends(&seen, origin) != 0 || zr_buf_appends(&seen, " ") != 0 ||
            zr_buf_appends(&list, " ") != 0 || zr_buf_appends(&list, origin) != 0)
            goto end;
    }
    /* A chain to more origins than a header should carry (the mock TVS in
     * front of a fleet of portals) names their schemes instead: a header of
     * kilobytes makes servers and proxies drop the answer. */
    if (distinct > ZR_PAGE_FORM_CSP_MAX_ORIGINS) {
        if ((https && zr_buf_appends(&csp, " https:") != 0) || (http && zr_buf_appends(&csp, " http:") != 0))
            goto end;
    } else if (distinct && zr_buf_appends(&csp, list.data) != 0) {
        goto end;
    }
    if (zr_buf_appends(&csp, "; frame-ancestors 'none'; base-uri 'none'") != 0)
        goto end;
    out = zr_buf_steal(&csp);
end:
    zr_buf_free(&csp);
    zr_buf_free(&seen);
    zr_buf_free(&list);
    return out;
}

static int page_autopost(zr_http_response_t *r, zr_lang_t lang, const char *action, const zr_kvlist_t *fields,
                         const char *const *then, size_t then_count, const zr_page_way_t *way);

int zr_page_autopost(zr_http_response_t *r, zr_lang_t lang, const char *action, const zr_kvlist_t *fields)
{
    return page_autopost(r, lang, action, fields, NULL, 0, NULL);
}

int zr_page_autopost_way(zr_http_response_t *r, zr_lang_t lang, const char *action, const zr_kvlist_t *fields,
                         const zr_page_way_t *way)
{
    return page_autopost(r, lang, action, fields, NULL, 0, way);
}

int zr_page_autopost_via(zr_http_response_t *r, zr_lang_t lang, const char *action, const zr_kvlist_t *fields,
                         const char *const *then, size_t then_count)
{
    return page_autopost(r, lang, action, fields, then, then_count, NULL);
}

static int page_autopost(zr_http_response_t *r, zr_lang_t lang, const char *action, const zr_kvlist_t *fields,
                         const char *const *then, size_t then_count, const zr_page_way_t *way)
{
    int rc = -1;
    char origin[512], *nonce = NULL, *html = NULL, *inputs = NULL;
    size_t count = fields ? fields->count : 0;
    zr_kvlist_t *rows = NULL;
    zr_buf_t csp;
    zr_kvlist_t vars = {0};

    zr_buf_init(&csp);
    if (!r || !action || page_action_origin(action, origin, sizeof(origin)) != 0)
        goto end;
    /* One hidden input per field (templates/autopost-field), escaped there. */
    rows = calloc(count ? count : 1, sizeof(*rows));
    if (!rows)
        goto end;
    for (size_t i = 0; i < count; i++)
        if (zr_kv_add(&rows[i], "name", fields->items[i].name) != 0 ||
            zr_kv_add(&rows[i], "value", fields->items[i].value) != 0)
            goto end;
    inputs = zr_page_render_each("autopost-field", lang, rows, count);
    /* A fresh nonce per response allows exactly our one inline script. */
    nonce = zr_random_token(18);
    if (!inputs || !nonce)
        goto end;
    if (zr_kv_add(&vars, "action", action) != 0 || zr_kv_add(&vars, "nonce", nonce) != 0 ||
        zr_kv_add(&vars, "fields", inputs) != 0 || (way && zr_page_provider_var(&vars, lang, way) != 0))
        goto end;
    html = zr_page_render("autopost", lang, &vars);
    if (!html)
        goto end;
    if (zr_buf_printf(&csp,
                      "default-src 'none'; script-src 'nonce-%s'; style-src 'self' 'unsafe-inline'; "
                      "img-src 'self' data:; form-action %s",
                      nonce, origin) != 0)
        goto end;
    /* where the answer to the POST redirects on to (checked by Chromium) */
    for (size_t i = 0; then && i < then_count; i++) {
        char next[512];
        if (then[i] && page_action_origin(then[i], next, sizeof(next)) == 0 && strcmp(next, origin) != 0 &&
            (zr_buf_appends(&csp, " ") != 0 || zr_buf_appends(&csp, next) != 0))
            goto end;
    }
    if (zr_buf_appends(&csp, "; frame-ancestors 'none'; base-uri 'none'") != 0)
        goto end;
    if (zr_http_respond(r, 200, "text/html; charset=utf-8", html, strlen(html)) != 0 ||
        zr_http_set_header(r, "Content-Security-Policy", csp.data) != 0)
        goto end;
    rc = 0;
end:
    for (size_t i = 0; rows && i < count; i++)
        zr_kv_free(&rows[i]);
    free(rows);
    free(inputs);
    zr_buf_free(&csp);
    zr_kv_free(&vars);
    free(nonce);
    free(html);
    return rc;
}
