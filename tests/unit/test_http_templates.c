/* Unit tests for the page templates (issue 5 §6): template defaults
 * ({{=key text}}), lists rendered per row, and every page in templates/
 * built on the one shared, self-contained layout in Dutch and English. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/util.h"

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_file(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    unlink(path);
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static void test_defaults(void **state)
{
    zr_kvlist_t vars = {0};
    char *html;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/zr-tpl-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    /* the page sets the title, the layout only a fallback; the newline
     * after a definition is dropped, the value is escaped where used */
    write_file("page.html", "{{=title Page <1>}}\n{{>top}}body");
    write_file("top.html", "{{=title Fallback}}{{=brand  Brand  }}\n<title>{{title}}</title>[{{brand}}]{{{title}}}|");
    write_file("bad.html", "{{=../x y}}");
    write_file("open.html", "{{=title never closed");
    zr_page_set_template_dir(tmpdir);

    html = zr_page_render("page", ZR_LANG_NL, NULL);
    assert_non_null(html);
    assert_string_equal(html, "<title>Page &lt;1&gt;</title>[Brand]Page <1>|body");
    free(html);
    /* the caller's value wins over every definition */
    zr_kv_add(&vars, "title", "Caller");
    html = zr_page_render("page", ZR_LANG_NL, &vars);
    assert_string_equal(html, "<title>Caller</title>[Brand]Caller|body");
    free(html);
    /* a layout on its own uses its fallback */
    html = zr_page_render("top", ZR_LANG_EN, NULL);
    assert_string_equal(html, "<title>Fallback</title>[Brand]Fallback|");
    free(html);
    /* definitions are per render: nothing leaks into the next page */
    html = zr_page_render("top", ZR_LANG_NL, NULL);
    assert_string_equal(html, "<title>Fallback</title>[Brand]Fallback|");
    free(html);
    /* a bad key or an unterminated definition fails the page */
    assert_null(zr_page_render("bad", ZR_LANG_NL, NULL));
    assert_null(zr_page_render("open", ZR_LANG_NL, NULL));

    remove_file("page.html");
    remove_file("top.html");
    remove_file("bad.html");
    remove_file("open.html");
    rmdir(tmpdir);
    zr_page_set_template_dir(NULL);
    zr_kv_free(&vars);
}

static void test_render_each(void **state)
{
    zr_kvlist_t rows[3] = {{0}};
    char *html;

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/zr-tpl-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("row.html", "{{=label none}}<li lang=\"{{lang}}\">{{label}}</li>");
    zr_page_set_template_dir(tmpdir);

    zr_kv_add(&rows[0], "label", "a<b");
    /* rows[1] has no label: its own default, not the previous row's value */
    zr_kv_add(&rows[2], "label", "c");
    html = zr_page_render_each("row", ZR_LANG_NL, rows, 3);
    assert_non_null(html);
    assert_string_equal(html, "<li lang=\"nl\">a&lt;b</li><li lang=\"nl\">none</li><li lang=\"nl\">c</li>");
    free(html);
    html = zr_page_render_each("row", ZR_LANG_EN, rows, 1);
    assert_string_equal(html, "<li lang=\"en\">a&lt;b</li>");
    free(html);
    html = zr_page_render_each("row", ZR_LANG_NL, NULL, 0);
    assert_non_null(html);
    assert_string_equal(html, "");
    free(html);
    assert_null(zr_page_render_each("missing", ZR_LANG_NL, rows, 3));

    remove_file("row.html");
    rmdir(tmpdir);
    zr_page_set_template_dir(NULL);
    for (int i = 0; i < 3; i++)
        zr_kv_free(&rows[i]);
}

/* Every template in templates/ is either a page on the shared layout (in
 * every language of templates/lang/) or a fragment (a list row, the style) without page
 * structure of its own. Pages others add are checked here too. */
static void check_page(const char *name, zr_lang_t lang)
{
    zr_kvlist_t vars = {0};
    char *html;
    const char *code = zr_lang_code(lang);
    char expect[64];

    /* values a caller could pass: they must come out escaped */
    zr_kv_add(&vars, "handle", "h\"<x>");
    zr_kv_add(&vars, "check", "<check>");
    html = zr_page_render(name, lang, &vars);
    if (!html)
        fail_msg("%s.%s does not render", name, code);
    snprintf(expect, sizeof(expect), "<html lang=\"%s\">", code);
    if (!strstr(html, "<!DOCTYPE html>") || !strstr(html, expect))
        fail_msg("%s.%s: no doctype or lang=\"%s\"", name, code, code);
    if (count_of(html, "<main") != 1 || count_of(html, "</main>") != 1)
        fail_msg("%s.%s: not exactly one <main>", name, code);
    if (count_of(html, "<h1") != 1)
        fail_msg("%s.%s: not exactly one <h1>", name, code);
    if (strstr(html, "<title></title>"))
        fail_msg("%s.%s: empty <title>", name, code);
    if (!strstr(html, "class=\"skip\" href=\"#inhoud\"") || !strstr(html, "<main id=\"inhoud\""))
        fail_msg("%s.%s: no skip link to the main content", name, code);
    if (strstr(html, "{{") || strstr(html, "}}"))
        fail_msg("%s.%s: a placeholder is left", name, code);
    if (strstr(html, "<x>") || strstr(html, "<check>"))
        fail_msg("%s.%s: a value is not escaped", name, code);
    /* no external resources: no style sheets, fonts, images or scripts from
     * elsewhere, not even from this server (CSP default-src 'none'); the one
     * <link> is the empty inline icon, so the browser does not ask this
     * server for /favicon.ico either */
    if (count_of(html, "<link") != 1 || !strstr(html, "<link rel=\"icon\" href=\"data:,\">"))
        fail_msg("%s.%s: not exactly the inline icon as <link>", name, code);
    if (strstr(html, "src=") || strstr(html, "@import") || strstr(html, "url("))
        fail_msg("%s.%s: loads an external resource", name, code);
    if (count_of(html, "<style>") != 1 || !strstr(html, "outline:"))
        fail_msg("%s.%s: not the shared style (with visible focus)", name, code);
    free(html);
    zr_kv_free(&vars);
}

static void test_every_page_uses_the_layout(void **state)
{
    char dir[512], path[1024];
    DIR *d;
    struct dirent *e;
    int pages = 0;

    snprintf(dir, sizeof(dir), "%s/templates", ZR_SOURCE_DIR);
    zr_page_set_template_dir(dir);
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char name[128], *text = NULL;
        size_t len = strlen(e->d_name), tlen;

        if (len < 6 || strcmp(e->d_name + len - 5, ".html") != 0 || len - 5 >= sizeof(name))
            continue;
        /* one template per page (issue 18 §5): no per-language copies */
        if (strstr(e->d_name, ".nl.") || strstr(e->d_name, ".en."))
            fail_msg("%s: a per-language copy; one template per page, words in templates/lang/", e->d_name);
        memcpy(name, e->d_name, len - 5);
        name[len - 5] = '\0';
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(zr_file_read(path, 1 << 20, &text, &tlen), 0);
        if (strncmp(name, "layout-", 7) == 0) {
            free(text);
            continue;
        }
        if (strstr(text, "{{>layout-top}}")) {
            if (!strstr(text, "{{>layout-bottom}}"))
                fail_msg("%s: layout-top without layout-bottom", name);
            for (size_t l = 0; l < zr_lang_count(); l++)
                check_page(name, (zr_lang_t)l);
            pages++;
        } else if (strstr(text, "<html") || strstr(text, "<body") || strstr(text, "<h1") ||
                   strstr(text, "<style") || strstr(text, "<head")) {
            fail_msg("%s: a page that does not use the shared layout ({{>layout-top}} ... {{>layout-bottom}})",
                     name);
        }
        free(text);
    }
    closedir(d);
    /* at least: error, autopost, login-choice, mock-login, mock-error,
     * mock-dezi-login, mock-dezi-error */
    assert_true(pages >= 7);
    zr_page_set_template_dir(NULL);
}

/* The real error and autopost pages: the shared layout around them. */
static void test_error_and_autopost_layout(void **state)
{
    zr_http_response_t r;
    zr_kvlist_t f = {0};

    zr_http_response_init(&r);
    assert_int_equal(zr_page_error(&r, 400, ZR_LANG_EN, "unknown_client", "ref1"), 0);
    assert_non_null(strstr(r.body, "<title>Unknown website or app</title>"));
    assert_non_null(strstr(r.body, "Skip to content"));
    assert_non_null(strstr(r.body, "<main id=\"inhoud\""));
    zr_http_response_free(&r);

    zr_kv_add(&f, "SAMLRequest", "x\"y");
    assert_int_equal(zr_page_autopost(&r, ZR_LANG_NL, "/saml/acs", &f), 0);
    assert_non_null(strstr(r.body, "<title>Even geduld</title>"));
    assert_non_null(strstr(r.body, "<input type=\"hidden\" name=\"SAMLRequest\" value=\"x&quot;y\">"));
    /* the script sits inside the page, before the layout closes it */
    assert_true(strstr(r.body, "<script nonce=") < strstr(r.body, "</main>"));
    zr_http_response_free(&r);
    /* no fields: still a page with a button */
    assert_int_equal(zr_page_autopost(&r, ZR_LANG_EN, "/saml/acs", NULL), 0);
    assert_non_null(strstr(r.body, ">Continue</button>"));
    assert_null(strstr(r.body, "<input"));
    zr_http_response_free(&r);
    zr_kv_free(&f);
}

/* form-action for a form whose answer redirects on: 'self' plus each
 * target's origin once; anything that is not an http(s) origin left out. */
static void test_form_csp(void **state)
{
    const char *targets[] = {"http://localhost:8082/authorize", "https://portal.example:8443/cb?x=1",
                             "http://localhost:8082/other", "javascript:alert(1)", "/local",
                             "https://a.example; script-src *", NULL};
    char *csp = zr_page_form_csp(targets, 7);
    zr_http_response_t r;
    zr_kvlist_t f = {0};
    const char *then[] = {"http://portal.example/cb", "ftp://x/"};

    assert_non_null(csp);
    assert_string_equal(csp, "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                             "form-action 'self' http://localhost:8082 https://portal.example:8443; "
                             "frame-ancestors 'none'; base-uri 'none'");
    free(csp);
    csp = zr_page_form_csp(NULL, 0);
    assert_non_null(strstr(csp, "form-action 'self'; "));
    free(csp);
    {
        /* a fleet: 10,000 portals on origins of their own; the header stays
         * small, naming the schemes (issue 14 §5) */
        static char urls[10000][48];
        static const char *fleet[10001];
        for (int i = 0; i < 10000; i++) {
            snprintf(urls[i], sizeof(urls[i]), "https://portal-%d.example/cb", i);
            fleet[i] = urls[i];
        }
        fleet[10000] = "http://localhost:8082/saml/acs";
        csp = zr_page_form_csp(fleet, 10001);
        assert_non_null(csp);
        assert_string_equal(csp, "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                                 "form-action 'self' https: http:; frame-ancestors 'none'; base-uri 'none'");
        free(csp);
        /* at the limit the list stays */
        csp = zr_page_form_csp(fleet, ZR_PAGE_FORM_CSP_MAX_ORIGINS);
        assert_non_null(strstr(csp, "https://portal-31.example; "));
        assert_null(strstr(csp, "https: "));
        free(csp);
    }

    zr_http_response_init(&r);
    zr_kv_add(&f, "SAMLResponse", "x");
    assert_int_equal(zr_page_autopost_via(&r, ZR_LANG_NL, "http://relay.example/saml/slo", &f, then, 2), 0);
    assert_non_null(strstr(zr_kv_get(&r.headers, "Content-Security-Policy"),
                           "form-action http://relay.example http://portal.example; frame-ancestors 'none'"));
    zr_http_response_free(&r);
    zr_kv_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_render_each),
        cmocka_unit_test(test_every_page_uses_the_layout),
        cmocka_unit_test(test_error_and_autopost_layout),
        cmocka_unit_test(test_form_csp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
