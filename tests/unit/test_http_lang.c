/* Unit tests for the page catalogs (issue 18 §5, src/http/lang.c): the
 * hardened parser (FILE:LINE for every refusal), the check of every catalog
 * against nl.txt, and choosing among all loaded languages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/http.h"
#include "zr/lang.h"

static char dir[64];

static void put(const char *name, const char *text)
{
    char path[256];
    FILE *f;
    snprintf(path, sizeof(path), "%s/lang/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void drop(const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "%s/lang/%s", dir, name);
    unlink(path);
}

/* parse text; 0, or -1 with err containing want */
static void expect_refused(const char *text, const char *want)
{
    zr_lang_catalog_t *c = NULL;
    char err[512] = "";
    assert_int_equal(zr_lang_catalog_parse("x.txt", text, strlen(text), &c, err, sizeof(err)), -1);
    assert_null(c);
    if (!strstr(err, want))
        fail_msg("refusal '%s' does not say '%s'", err, want);
}

static void test_parse(void **state)
{
    zr_lang_catalog_t *c = NULL;
    char err[512] = "";
    const char *text = "\xef\xbb\xbf# comment\n\n  b.key = two words  \r\na = {{x}} <b>y</b>\nempty =\nk-2_.z = caf\xc3\xa9";
    char big[ZR_LANG_MAX_LINE + 16];

    (void)state;
    assert_int_equal(zr_lang_catalog_parse("x.txt", text, strlen(text), &c, err, sizeof(err)), 0);
    assert_int_equal(zr_lang_catalog_size(c), 4);
    /* sorted, trimmed, with their lines */
    assert_string_equal(zr_lang_catalog_key(c, 0), "a");
    assert_string_equal(zr_lang_catalog_value(c, 0), "{{x}} <b>y</b>");
    assert_int_equal(zr_lang_catalog_line(c, 0), 4);
    assert_string_equal(zr_lang_catalog_get(c, "b.key"), "two words");
    assert_string_equal(zr_lang_catalog_get(c, "empty"), "");
    assert_string_equal(zr_lang_catalog_get(c, "k-2_.z"), "caf\xc3\xa9");
    assert_null(zr_lang_catalog_get(c, "nothere"));
    zr_lang_catalog_free(c);

    expect_refused("a = 1\nb = 2\na = 3\n", "x.txt:3: key 'a' given twice (also on line 1)");
    expect_refused("a = 1\nno equals sign\n", "x.txt:2: expected 'key = value'");
    expect_refused("A = 1\n", "x.txt:1: key 'A': only a-z 0-9 _ . - allowed");
    expect_refused("a b = 1\n", "x.txt:1: key 'a b'");
    expect_refused(".a = 1\n", "x.txt:1: key empty");
    expect_refused(" = 1\n", "x.txt:1: key empty");
    expect_refused("a = caf\xc3\n", "x.txt:1: not valid UTF-8");
    expect_refused("a = \xc0\xaf\n", "x.txt:1: not valid UTF-8");          /* overlong '/' */
    expect_refused("a = \xed\xa0\x80\n", "x.txt:1: not valid UTF-8");      /* a surrogate */
    expect_refused("a = \xf4\x90\x80\x80\n", "x.txt:1: not valid UTF-8");  /* past U+10FFFF */
    expect_refused("a = 1\nb = x\x01y\n", "x.txt:2: not valid UTF-8 text (or a control character)");
    memset(big, 'a', sizeof(big) - 1);
    big[0] = 'k';
    big[1] = '=';
    big[sizeof(big) - 1] = '\0';
    expect_refused(big, "x.txt:1: line longer than");
    /* an embedded NUL is a control character, not the end of the file */
    assert_int_equal(zr_lang_catalog_parse("x.txt", "a = 1\0b", 7, &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "x.txt:1:"));
}

static void test_load_and_pick(void **state)
{
    char path[128], err[512] = "";
    zr_lang_t l = ZR_LANG_NL;
    char *html;

    (void)state;
    snprintf(dir, sizeof(dir), "/tmp/zr-lang-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/lang", dir);
    assert_int_equal(mkdir(path, 0700), 0);
    put("nl.txt", "lang.name = Nederlands\np.word = woord\np.hi = Dag {{name}}\n");
    put("en.txt", "lang.name = English\np.word = word\np.hi = Hello {{name}}\n");
    put("de.txt", "lang.name = Deutsch\np.word = Wort\np.hi = Hallo {{name}}\n");
    put("README", "not a catalog: ignored\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), 0);
    assert_int_equal(zr_lang_count(), 3);
    /* nl and en keep their numbers, the others follow */
    assert_string_equal(zr_lang_code(ZR_LANG_NL), "nl");
    assert_string_equal(zr_lang_code(ZR_LANG_EN), "en");
    assert_string_equal(zr_lang_code((zr_lang_t)2), "de");
    assert_string_equal(zr_lang_code((zr_lang_t)99), "nl");
    assert_int_equal(zr_lang_from_code("DE", &l), 0);
    assert_int_equal(l, 2);
    assert_int_equal(zr_lang_from_code("fr", &l), -1);
    assert_int_equal(zr_lang_from_code(NULL, &l), -1);
    assert_string_equal(zr_lang_text((zr_lang_t)2, "p.word"), "Wort");
    assert_string_equal(zr_lang_text(ZR_LANG_EN, "lang.name"), "English");
    assert_string_equal(zr_lang_text(ZR_LANG_EN, "p.none"), "");
    assert_int_equal(zr_lang_has(ZR_LANG_EN, "p.word"), 1);
    assert_int_equal(zr_lang_has(ZR_LANG_EN, "p.none"), 0);
    {
        zr_kvlist_t vars = {0};
        zr_kv_add(&vars, "name", "<Jan>");
        html = zr_page_text((zr_lang_t)2, "p.hi", &vars);
        assert_string_equal(html, "Hallo &lt;Jan&gt;");
        free(html);
        zr_kv_free(&vars);
    }
    /* ui_locales: the first loaded language by its primary subtag */
    assert_int_equal(zr_http_lang_pick("fr de-AT en", ZR_LANG_NL), 2);
    assert_int_equal(zr_http_lang_pick("fr-CA en-GB de", ZR_LANG_NL), ZR_LANG_EN);
    assert_int_equal(zr_http_lang_pick("deu fr", ZR_LANG_EN), ZR_LANG_EN);
    assert_int_equal(zr_http_lang_pick("x-de", ZR_LANG_EN), ZR_LANG_EN);

    /* a catalog that lacks a key nl.txt has: refused with both files */
    put("de.txt", "lang.name = Deutsch\np.word = Wort\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/lang/de.txt: key 'p.hi' missing ("));
    assert_non_null(strstr(err, "/lang/nl.txt:3 has it)"));
    /* what was loaded stays */
    assert_int_equal(zr_lang_count(), 3);
    /* one key too many: its line */
    put("de.txt", "lang.name = Deutsch\np.word = Wort\np.hi = Hallo\n\np.extra = mehr\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/lang/de.txt:5: key 'p.extra' is not in nl.txt"));
    /* a parse error names the file and line */
    put("de.txt", "lang.name = Deutsch\np.word = Wort\np.word = Wort\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/lang/de.txt:3: key 'p.word' given twice"));
    drop("de.txt");
    /* no lang.name */
    put("en.txt", "p.word = word\np.hi = Hello\nlang.nam = English\n");
    put("nl.txt", "p.word = woord\np.hi = Dag\nlang.nam = Nederlands\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nl.txt:1: no 'lang.name'"));
    /* a file name that is no language code */
    put("nl.txt", "lang.name = Nederlands\n");
    put("en.txt", "lang.name = English\n");
    put("en-GB.txt", "lang.name = British\n");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "en-GB.txt: a catalog is named <code>.txt"));
    drop("en-GB.txt");
    /* nl.txt and en.txt are required */
    drop("en.txt");
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "nl.txt and en.txt are required"));

    drop("nl.txt");
    drop("README");
    rmdir(path);
    rmdir(dir);
    zr_page_set_template_dir(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_load_and_pick),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
