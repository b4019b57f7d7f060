/* Unit tests for src/http: name/value lists, response helpers, templates,
 * error pages and the autopost page. */
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
#include "zr/util.h"

static void test_kv(void **state)
{
    zr_kvlist_t l = {0};
    assert_int_equal(zr_kv_parse_form(&l, "a=1&b=x+y%21&a=2&&flag&=v&c=", 27), 0);
    assert_int_equal(l.count, 6);
    assert_string_equal(zr_kv_get(&l, "a"), "1");
    assert_int_equal(zr_kv_count(&l, "a"), 2);
    assert_string_equal(zr_kv_get(&l, "b"), "x y!");
    assert_string_equal(zr_kv_get(&l, "flag"), "");
    assert_string_equal(zr_kv_get(&l, ""), "v");
    assert_string_equal(zr_kv_get(&l, "c"), "");
    assert_null(zr_kv_get(&l, "A")); /* case-sensitive */
    assert_int_equal(zr_kv_count(&l, "nope"), 0);
    zr_kv_free(&l);
    assert_int_equal(l.count, 0);

    /* only len bytes are read */
    assert_int_equal(zr_kv_parse_form(&l, "a=1&b=2", 3), 0);
    assert_int_equal(l.count, 1);
    zr_kv_free(&l);
    assert_int_equal(zr_kv_parse_form(&l, "", 0), 0);
    assert_int_equal(l.count, 0);

    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=1&b=%00", "%GG=1"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(zr_kv_parse_form(&l, bad[i], strlen(bad[i])), -1);
        zr_kv_free(&l);
    }
    assert_int_equal(zr_kv_add(&l, "n", NULL), 0);
    assert_string_equal(zr_kv_get(&l, "n"), "");
    zr_kv_free(&l);
}

static void test_response_helpers(void **state)
{
    zr_http_response_t r;
    zr_http_response_init(&r);
    assert_int_equal(r.status, 200);

    assert_int_equal(zr_http_set_header(&r, "X-Test", "ok"), 0);
    /* header injection and bad names are refused */
    assert_int_equal(zr_http_set_header(&r, "X-Test", "a\r\nSet-Cookie: evil=1"), -1);
    assert_int_equal(zr_http_set_header(&r, "X Test", "a"), -1);
    assert_int_equal(zr_http_set_header(&r, "X-Test:", "a"), -1);
    assert_int_equal(r.headers.count, 1);

    assert_int_equal(zr_http_respond(&r, 201, "text/plain", "a\0b", 3), 0);
    assert_int_equal(r.status, 201);
    assert_int_equal(r.body_len, 3);
    assert_memory_equal(r.body, "a\0b", 3);
    assert_string_equal(r.content_type, "text/plain");
    assert_int_equal(zr_http_respond(&r, 99, NULL, "", 0), -1);
    assert_int_equal(zr_http_respond_json(&r, 400, "{\"error\":\"invalid_request\"}"), 0);
    assert_string_equal(r.content_type, "application/json");
    assert_string_equal(r.body, "{\"error\":\"invalid_request\"}");
    zr_http_response_free(&r);

    assert_int_equal(zr_http_redirect(&r, 303, "https://rp.example/cb?code=a&state=b"), 0);
    assert_int_equal(r.status, 303);
    assert_string_equal(zr_kv_get(&r.headers, "Location"), "https://rp.example/cb?code=a&state=b");
    assert_string_equal(zr_kv_get(&r.headers, "Cache-Control"), "no-store");
    zr_http_response_free(&r);
    assert_int_equal(zr_http_redirect(&r, 302, "https://x/\r\nSet-Cookie: a=b"), -1);
    assert_int_equal(zr_http_redirect(&r, 302, "https://x/a b"), -1);
    assert_int_equal(zr_http_redirect(&r, 200, "https://x/"), -1);
    zr_http_response_free(&r);

    assert_int_equal(zr_http_set_cookie(&r, "zr_b", "tok-_9", 900, 1, 1), 0);
    assert_string_equal(r.headers.items[0].value, "zr_b=tok-_9; Path=/; HttpOnly; SameSite=None; Secure; Max-Age=900");
    assert_int_equal(zr_http_set_cookie(&r, "zr_b", "", 0, 0, 0), 0);
    assert_string_equal(r.headers.items[1].value, "zr_b=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    assert_int_equal(zr_http_set_cookie(&r, "s", "v", -1, 1, 0), 0);
    assert_string_equal(r.headers.items[2].value, "s=v; Path=/; HttpOnly; SameSite=Lax; Secure");
    /* values that could add attributes or split the header are refused */
    assert_int_equal(zr_http_set_cookie(&r, "a", "x; Domain=evil", 1, 1, 0), -1);
    assert_int_equal(zr_http_set_cookie(&r, "a", "x,y", 1, 1, 0), -1);
    assert_int_equal(zr_http_set_cookie(&r, "a", "x y", 1, 1, 0), -1);
    assert_int_equal(zr_http_set_cookie(&r, "a", "x\ty", 1, 1, 0), -1);
    assert_int_equal(zr_http_set_cookie(&r, "a=b", "x", 1, 1, 0), -1);
    /* SameSite=None needs Secure */
    assert_int_equal(zr_http_set_cookie(&r, "a", "x", 1, 0, 1), -1);
    /* so do the prefixed names (RFC 6265bis §4.1.3): a browser would drop
     * them and the login would fail later, far from the cause */
    assert_int_equal(zr_http_set_cookie(&r, "__Host-zr_b", "x", 1, 0, 0), -1);
    assert_int_equal(zr_http_set_cookie(&r, "__Secure-zr_b", "x", 1, 0, 0), -1);
    assert_int_equal(r.headers.count, 3);
    /* __Host-: Secure, Path=/ and no Domain (§4.1.3.2) */
    assert_int_equal(zr_http_set_cookie(&r, "__Host-zr_b", "x", 60, 1, 0), 0);
    assert_string_equal(r.headers.items[3].value, "__Host-zr_b=x; Path=/; HttpOnly; SameSite=Lax; Secure; Max-Age=60");
    assert_int_equal(r.headers.count, 4);
    zr_http_response_free(&r);
}

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

static void test_render(void **state)
{
    zr_kvlist_t vars = {0};
    char *html, path[128], err[512];

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/zr-tpl-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    snprintf(path, sizeof(path), "%s/lang", tmpdir);
    assert_int_equal(mkdir(path, 0700), 0);
    write_file("t.html", "<p lang=\"{{lang}}\">{{x}}|{{{x}}}|{{ missing }}|{{>part}}|{{@t.word}}|{{ notclosed</p>");
    write_file("part.html", "[{{y}}]");
    write_file("only.html", "{{=title @t.title}}only {{lang}} {{title}}");
    write_file("loop.html", "{{>loop}}");
    write_file("badkey.html", "{{@T.word}}");
    write_file("lang/nl.txt", "# test\nlang.name = Nederlands\nt.word = woord <b>{{x}}</b>\nt.title = Titel & co\n");
    write_file("lang/en.txt", "lang.name = English\nt.word = word\nt.title = Title\n");
    zr_page_set_template_dir(tmpdir);
    assert_int_equal(zr_lang_load(NULL, err, sizeof(err)), 0);
    assert_int_equal(zr_lang_count(), 2);

    zr_kv_add(&vars, "x", "<script>alert('x')</script>&\"");
    zr_kv_add(&vars, "y", "{{x}}");
    html = zr_page_render("t", ZR_LANG_NL, &vars);
    assert_non_null(html);
    /* a catalog text is template text: its {{x}} is substituted, escaped */
    assert_string_equal(html, "<p lang=\"nl\">&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;|"
                              "<script>alert('x')</script>&\"||[{{x}}]|woord <b>&lt;script&gt;alert(&#39;x&#39;)"
                              "&lt;/script&gt;&amp;&quot;</b>|{{ notclosed</p>");
    free(html);
    html = zr_page_render("only", ZR_LANG_EN, NULL);
    assert_string_equal(html, "only en Title");
    free(html);
    /* {{=title @key}} is plain text, escaped where used */
    html = zr_page_render("only", ZR_LANG_NL, NULL);
    assert_string_equal(html, "only nl Titel &amp; co");
    free(html);
    html = zr_page_text(ZR_LANG_EN, "t.word", NULL);
    assert_string_equal(html, "word");
    free(html);
    assert_null(zr_page_text(ZR_LANG_EN, "t.nothere", NULL));
    /* missing templates, unsafe names and keys, endless partials give NULL */
    assert_null(zr_page_render("nothere", ZR_LANG_NL, NULL));
    assert_null(zr_page_render("../t", ZR_LANG_NL, NULL));
    assert_null(zr_page_render("T", ZR_LANG_NL, NULL));
    assert_null(zr_page_render("loop", ZR_LANG_NL, NULL));
    assert_null(zr_page_render("badkey", ZR_LANG_NL, NULL));

    /* templates are cached after the first load... */
    write_file("only.html", "changed");
    html = zr_page_render("only", ZR_LANG_NL, NULL);
    assert_string_equal(html, "only nl Titel &amp; co");
    free(html);
    /* ...until the directory is set again */
    zr_page_set_template_dir(tmpdir);
    html = zr_page_render("only", ZR_LANG_NL, NULL);
    assert_string_equal(html, "changed");
    free(html);

    /* without a set directory, ZR_TEMPLATES is used */
    zr_page_set_template_dir(NULL);
    setenv("ZR_TEMPLATES", tmpdir, 1);
    html = zr_page_render("only", ZR_LANG_NL, NULL);
    assert_string_equal(html, "changed");
    free(html);
    unsetenv("ZR_TEMPLATES");
    assert_null(zr_page_render("only", ZR_LANG_NL, NULL));

    remove_file("t.html");
    remove_file("part.html");
    remove_file("only.html");
    remove_file("loop.html");
    remove_file("badkey.html");
    remove_file("lang/nl.txt");
    remove_file("lang/en.txt");
    rmdir(path);
    rmdir(tmpdir);
    zr_page_set_template_dir(NULL);
    zr_kv_free(&vars);
}

/* zr_page_file_text: key=text lines (templates/oauth.<lang>), the whole
 * key only, comments skipped, nothing when the language has no file. */
static void test_text(void **state)
{
    char *v;
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/zr-tpl-XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("texts.nl", "# a comment=no\ncancelled_x=not this\ncancelled= de gebruiker brak af \nempty=\n");
    zr_page_set_template_dir(tmpdir);
    v = zr_page_file_text("texts", ZR_LANG_NL, "cancelled");
    assert_string_equal(v, "de gebruiker brak af");
    free(v);
    assert_null(zr_page_file_text("texts", ZR_LANG_EN, "cancelled")); /* no texts.en: no fallback */
    v = zr_page_file_text("texts", ZR_LANG_NL, "empty");
    assert_string_equal(v, "");
    free(v);
    assert_null(zr_page_file_text("texts", ZR_LANG_NL, "cancel"));
    assert_null(zr_page_file_text("texts", ZR_LANG_NL, "# a comment"));
    assert_null(zr_page_file_text("texts", ZR_LANG_NL, ""));
    assert_null(zr_page_file_text("nothere", ZR_LANG_NL, "cancelled"));
    assert_null(zr_page_file_text("../texts", ZR_LANG_NL, "cancelled"));
    remove_file("texts.nl");
    rmdir(tmpdir);
    zr_page_set_template_dir(NULL);
}

/* Every code the relay uses has a text in both languages. */
static void test_error_texts_complete(void **state)
{
    static const char *codes[] = {
        "invalid_request", "unknown_client", "invalid_redirect_uri", "session_expired", "session_not_found",
        "browser_mismatch", "store_unavailable", "tvs_unavailable", "backchannel_busy", "saml_invalid",
        "saml_replay", "bsn_invalid",
        "loa_too_low", "authn_failed", "tvs_error", "internal_error", "not_found", "method_not_allowed",
        "body_too_large", "bad_request", "forbidden", "care_provider_unavailable",
        "loa_too_low_substantial", "loa_too_low_high", "loa_not_offered",
    };
    char dir[512], err[512];
    snprintf(dir, sizeof(dir), "%s/templates", ZR_SOURCE_DIR);
    assert_int_equal(zr_lang_load(dir, err, sizeof(err)), 0);
    for (int lang = 0; lang < 2; lang++) {
        for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
            char key[96];
            snprintf(key, sizeof(key), "errors.%s.title", codes[i]);
            if (!zr_lang_has((zr_lang_t)lang, key) || !*zr_lang_text((zr_lang_t)lang, key))
                fail_msg("%s.txt lacks %s", lang ? "en" : "nl", key);
            snprintf(key, sizeof(key), "errors.%s.text", codes[i]);
            if (!zr_lang_has((zr_lang_t)lang, key) || !*zr_lang_text((zr_lang_t)lang, key))
                fail_msg("%s.txt lacks %s", lang ? "en" : "nl", key);
        }
    }
}

static void test_error_page(void **state)
{
    zr_http_response_t r;
    zr_http_response_init(&r);
    assert_int_equal(zr_page_error(&r, 400, ZR_LANG_NL, "session_expired", "ref<1>"), 0);
    assert_int_equal(r.status, 400);
    assert_string_equal(r.content_type, "text/html; charset=utf-8");
    assert_non_null(strstr(r.body, "<!DOCTYPE html>"));
    assert_non_null(strstr(r.body, "<html lang=\"nl\">"));
    assert_non_null(strstr(r.body, "<title>Uw inlogsessie is verlopen</title>"));
    assert_non_null(strstr(r.body, "Begin opnieuw met inloggen"));
    /* nothing known about the portal: a sentence, no link (issue 18 §1) */
    assert_non_null(strstr(r.body, "class=\"way-none\""));
    assert_null(strstr(r.body, "class=\"ways\""));
    assert_non_null(strstr(r.body, "<code>session_expired</code>"));
    assert_non_null(strstr(r.body, "<code>ref&lt;1&gt;</code>"));
    assert_null(strstr(r.body, "{{"));
    /* self-contained: no external resources */
    assert_null(strstr(r.body, "src=\"http"));
    assert_null(strstr(r.body, "href=\"http"));
    zr_http_response_free(&r);

    assert_int_equal(zr_page_error(&r, 503, ZR_LANG_EN, "tvs_unavailable", "abc"), 0);
    assert_int_equal(r.status, 503);
    assert_non_null(strstr(r.body, "<html lang=\"en\">"));
    assert_non_null(strstr(r.body, "Login service unreachable"));
    zr_http_response_free(&r);

    /* unknown codes: generic text, the code still shown (escaped) */
    assert_int_equal(zr_page_error(&r, 500, ZR_LANG_NL, "weird<code>", NULL), 0);
    assert_non_null(strstr(r.body, "Er ging iets mis"));
    assert_non_null(strstr(r.body, "weird&lt;code&gt;"));
    zr_http_response_free(&r);
    /* a code must match a whole key, not a prefix */
    assert_int_equal(zr_page_error(&r, 500, ZR_LANG_EN, "session", "x"), 0);
    assert_null(strstr(r.body, "expired"));
    zr_http_response_free(&r);

    /* without templates a readable page still comes out */
    zr_page_set_template_dir("/nonexistent");
    assert_int_equal(zr_page_error(&r, 404, ZR_LANG_EN, "not_found", "<r>"), 0);
    assert_non_null(strstr(r.body, "not_found"));
    assert_non_null(strstr(r.body, "&lt;r&gt;"));
    zr_http_response_free(&r);
    zr_page_set_template_dir(NULL);
}

/* Issue 18 §1: the way forward. Back to the portal always when known,
 * "Opnieuw inloggen" only where starting over makes sense, the helpdesk in
 * the details; every value escaped. */
static void test_error_page_way(void **state)
{
    zr_http_response_t r;
    zr_page_way_t way = {.portal_name = "Portaal <Oost>", .home_page = "https://portaal.example.nl/?a=1&b=\"2\"",
                         .login_uri = "https://portaal.example.nl/inloggen", .helpdesk_name = "Servicedesk",
                         .helpdesk_phone = "088 123 45 67", .helpdesk_phone_uri = "tel:0881234567",
                         .helpdesk_url = "https://portaal.example.nl/hulp"};
    char *html;
    (void)state;
    zr_http_response_init(&r);
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_non_null(strstr(r.body, "<a class=\"button\" href=\"https://portaal.example.nl/?a=1&amp;b=&quot;2&quot;\">"
                                   "Terug naar Portaal &lt;Oost&gt;</a>"));
    assert_non_null(strstr(r.body, "<a class=\"button secondary\" href=\"https://portaal.example.nl/inloggen\">"
                                   "Opnieuw inloggen</a>"));
    assert_non_null(strstr(r.body, "<a href=\"tel:0881234567\">088 123 45 67</a>"));
    assert_non_null(strstr(r.body, "<a href=\"https://portaal.example.nl/hulp\">Website van de helpdesk</a>"));
    assert_non_null(strstr(r.body, "<li>Servicedesk</li>"));
    assert_null(strstr(r.body, "way-none"));
    assert_null(strstr(r.body, "{{"));
    zr_http_response_free(&r);
    /* a refusal a new attempt would meet again: no "log in again" */
    assert_int_equal(zr_page_error_way(&r, 403, ZR_LANG_EN, "role_not_allowed", "ref", &way), 0);
    assert_non_null(strstr(r.body, "Back to Portaal &lt;Oost&gt;</a>"));
    assert_null(strstr(r.body, "Log in again"));
    assert_non_null(strstr(r.body, "Phone: <a href=\"tel:0881234567\">"));
    zr_http_response_free(&r);
    /* a portal without initiate_login_uri nor helpdesk */
    way.login_uri = NULL;
    way.helpdesk_name = way.helpdesk_phone = way.helpdesk_phone_uri = way.helpdesk_url = NULL;
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_null(strstr(r.body, "Opnieuw inloggen"));
    assert_null(strstr(r.body, "class=\"helpdesk\""));
    assert_non_null(strstr(r.body, "Terug naar Portaal"));
    zr_http_response_free(&r);
    /* the pieces for other pages */
    html = zr_page_helpdesk_render(ZR_LANG_NL, &way);
    assert_string_equal(html, "");
    free(html);
    html = zr_page_way_render(ZR_LANG_EN, NULL);
    assert_non_null(strstr(html, "class=\"way-none\""));
    free(html);
}

/* Issue 18 §3: the header names the care provider, with its logo (served
 * by the relay itself) when it has one; without a care provider the
 * generic header alone. */
static void test_header_names_care_provider(void **state)
{
    zr_http_response_t r;
    zr_page_way_t way = {.portal_name = "Portaal", .home_page = "https://portaal.example.nl/",
                         .provider_name = "Ziekenhuis <Oost>"};
    (void)state;
    zr_http_response_init(&r);
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_non_null(strstr(r.body, "<header><div class=\"wrap\"><span class=\"provider\">"));
    assert_non_null(strstr(r.body, "<span class=\"provider-name\">Ziekenhuis &lt;Oost&gt;</span>"));
    assert_non_null(strstr(r.body, "<span class=\"brand\">Inloggen in de zorg</span>"));
    assert_null(strstr(r.body, "<img"));
    zr_http_response_free(&r);
    way.logo_src = "/logo?cp=oost&v=0011223344556677";
    way.logo_alt = "Logo \"Oost\"";
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_EN, "session_expired", "ref", &way), 0);
    assert_non_null(strstr(r.body, "<img class=\"logo\" src=\"/logo?cp=oost&amp;v=0011223344556677\" "
                                   "alt=\"Logo &quot;Oost&quot;\">"));
    assert_non_null(strstr(r.body, "Ziekenhuis &lt;Oost&gt;"));
    assert_non_null(strstr(r.body, "Log in to healthcare services"));
    zr_http_response_free(&r);
    /* a logo without a name is not shown alone; nothing known: generic */
    way.provider_name = NULL;
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_null(strstr(r.body, "class=\"provider"));
    assert_null(strstr(r.body, "<img"));
    assert_non_null(strstr(r.body, "<header><div class=\"wrap\"><span class=\"brand\">Inloggen in de zorg</span>"));
    zr_http_response_free(&r);
    assert_int_equal(zr_page_error(&r, 400, ZR_LANG_NL, "session_expired", "ref"), 0);
    assert_null(strstr(r.body, "class=\"provider"));
    zr_http_response_free(&r);
    /* the relay's own form to TVS ("Even geduld") names it too */
    {
        zr_kvlist_t fields = {0};
        zr_kv_add(&fields, "SAMLRequest", "x");
        way.provider_name = "Ziekenhuis Oost";
        assert_int_equal(zr_page_autopost_way(&r, ZR_LANG_NL, "https://tvs.example.nl/sso", &fields, &way), 0);
        assert_non_null(strstr(r.body, "<span class=\"provider-name\">Ziekenhuis Oost</span>"));
        assert_non_null(strstr(r.body, "<img class=\"logo\" src=\"/logo?cp=oost&amp;v=0011223344556677\""));
        zr_http_response_free(&r);
        assert_int_equal(zr_page_autopost(&r, ZR_LANG_NL, "https://tvs.example.nl/sso", &fields), 0);
        assert_null(strstr(r.body, "class=\"provider"));
        zr_http_response_free(&r);
        zr_kv_free(&fields);
    }
}

/* Copies the nonce of 'nonce-XXX' in csp into out. */
static void csp_nonce(const char *csp, char *out, size_t outlen)
{
    const char *p = strstr(csp, "'nonce-");
    assert_non_null(p);
    p += 7;
    size_t n = strcspn(p, "'");
    assert_true(n > 16 && n < outlen);
    memcpy(out, p, n);
    out[n] = '\0';
}

static void test_autopost(void **state)
{
    zr_http_response_t r;
    zr_kvlist_t f = {0};
    char nonce[64], script[128], nonce2[64];
    const char *csp;

    zr_http_response_init(&r);
    zr_kv_add(&f, "SAMLRequest", "PHNhbWw+\"><script>x</script>");
    zr_kv_add(&f, "RelayState", "a&b");
    assert_int_equal(zr_page_autopost(&r, ZR_LANG_NL, "https://tvs.example.nl:8443/sso?x=1&y=2", &f), 0);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "<input type=\"hidden\" name=\"SAMLRequest\" "
                                   "value=\"PHNhbWw+&quot;&gt;&lt;script&gt;x&lt;/script&gt;\">"));
    assert_non_null(strstr(r.body, "<input type=\"hidden\" name=\"RelayState\" value=\"a&amp;b\">"));
    assert_non_null(strstr(r.body, "action=\"https://tvs.example.nl:8443/sso?x=1&amp;y=2\""));
    assert_non_null(strstr(r.body, "<noscript>"));
    assert_non_null(strstr(r.body, ">Doorgaan</button>"));
    csp = zr_kv_get(&r.headers, "Content-Security-Policy");
    assert_non_null(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    assert_non_null(strstr(csp, "form-action https://tvs.example.nl:8443;"));
    /* The browser asks for /favicon.ico while the page is shown; under
     * default-src 'none' alone that is a CSP violation in its console. */
    assert_non_null(strstr(csp, "img-src 'self' data:;"));
    /* and it need not: every page names its (empty) icon itself */
    assert_non_null(strstr(r.body, "<link rel=\"icon\" href=\"data:,\">"));
    csp_nonce(csp, nonce, sizeof(nonce));
    snprintf(script, sizeof(script), "<script nonce=\"%s\">", nonce);
    assert_non_null(strstr(r.body, script));
    /* exactly one script, and it carries the nonce */
    assert_ptr_equal(strstr(r.body, "<script"), strstr(r.body, script));
    assert_null(strstr(strstr(r.body, script) + 1, "<script"));
    zr_http_response_free(&r);

    /* a fresh nonce per response; English button; a local path is 'self' */
    assert_int_equal(zr_page_autopost(&r, ZR_LANG_EN, "/saml/acs", &f), 0);
    assert_non_null(strstr(r.body, ">Continue</button>"));
    csp = zr_kv_get(&r.headers, "Content-Security-Policy");
    assert_non_null(strstr(csp, "form-action 'self';"));
    csp_nonce(csp, nonce2, sizeof(nonce2));
    assert_string_not_equal(nonce, nonce2);
    zr_http_response_free(&r);

    /* actions we cannot express as a form-action origin are refused */
    const char *bad[] = {"javascript:alert(1)", "//evil.example/x", "https://a.example; script-src *",
                         "https://user@evil.example/", "https:///x", "ftp://x/", "https://a b/"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (zr_page_autopost(&r, ZR_LANG_NL, bad[i], &f) != -1)
            fail_msg("accepted action %s", bad[i]);
        zr_http_response_free(&r);
    }
    zr_kv_free(&f);
}

/* ui_locales: the first of nl / en named, whatever comes before it. */
static void test_lang_pick(void **state)
{
    (void)state;
    assert_int_equal(zr_http_lang_pick(NULL, ZR_LANG_NL), ZR_LANG_NL);
    assert_int_equal(zr_http_lang_pick("", ZR_LANG_EN), ZR_LANG_EN);
    assert_int_equal(zr_http_lang_pick("en", ZR_LANG_NL), ZR_LANG_EN);
    assert_int_equal(zr_http_lang_pick("nl", ZR_LANG_EN), ZR_LANG_NL);
    assert_int_equal(zr_http_lang_pick("fr-CA de en-GB nl", ZR_LANG_NL), ZR_LANG_EN);
    assert_int_equal(zr_http_lang_pick("  NL-be en", ZR_LANG_EN), ZR_LANG_NL);
    /* not a language tag of ours: "eng", "enx", "nld" are other languages */
    assert_int_equal(zr_http_lang_pick("eng nld enx", ZR_LANG_NL), ZR_LANG_NL);
    assert_int_equal(zr_http_lang_pick("fr", ZR_LANG_EN), ZR_LANG_EN);
}

/* Issue 18 §2: the languages, and the language switch a page offers: a
 * button of the page's form, a link to the same address (only when it
 * carries nothing single-use), a link to where the page is made again, or
 * the browser hint. */
static void test_lang_switch(void **state)
{
    zr_http_response_t r;
    zr_http_request_t req = {.method = "GET", .path = "/authorize"};
    zr_page_way_t way = {.portal_name = "Portaal", .home_page = "https://portaal.example.nl/"};
    zr_lang_t l = ZR_LANG_NL;
    (void)state;

    assert_int_equal(zr_lang_count(), 2);
    assert_string_equal(zr_lang_code(ZR_LANG_NL), "nl");
    assert_string_equal(zr_lang_code(ZR_LANG_EN), "en");
    assert_int_equal(zr_lang_from_code("EN", &l), 0);
    assert_int_equal(l, ZR_LANG_EN);
    assert_int_equal(zr_lang_from_code("de", &l), -1);
    assert_int_equal(zr_lang_from_code("e", &l), -1);
    assert_int_equal(zr_lang_from_code(NULL, &l), -1);

    /* the person's switch wins over ui_locales, which wins over the rest */
    req.lang = ZR_LANG_EN;
    assert_int_equal(zr_http_lang_of(&req, "nl"), ZR_LANG_NL);
    req.lang_switched = 1;
    assert_int_equal(zr_http_lang_of(&req, "nl"), ZR_LANG_EN);
    req.lang_switched = 0;
    assert_int_equal(zr_http_lang_of(&req, NULL), ZR_LANG_EN);

    zr_http_response_init(&r);
    /* no request (the server's own answers): the hint, no switch */
    assert_int_equal(zr_page_error(&r, 404, ZR_LANG_NL, "not_found", "ref"), 0);
    assert_null(strstr(r.body, "<nav class=\"lang-switch\""));
    assert_non_null(strstr(r.body, "<p lang=\"en\">English? Set English"));
    zr_http_response_free(&r);

    /* a GET without single-use values: a link to itself, lang replaced */
    assert_int_equal(zr_kv_add(&req.query, "client_id", "a b"), 0);
    assert_int_equal(zr_kv_add(&req.query, "lang", "nl"), 0);
    assert_int_equal(zr_kv_add(&req.query, "state", "<s>"), 0);
    assert_int_equal(zr_page_lang_link_safe(&req.query), 1);
    zr_page_request_bind(&req);
    assert_int_equal(zr_page_error(&r, 400, ZR_LANG_NL, "unknown_client", "ref"), 0);
    assert_non_null(strstr(r.body, "<nav class=\"lang-switch\" aria-label=\"Taal\"><a href=\"/authorize?"
                                   "client_id=a%20b&amp;state=%3Cs%3E&amp;lang=en\" lang=\"en\" hreflang=\"en\">"
                                   "English</a></nav>"));
    assert_null(strstr(r.body, "English? Set English"));
    zr_http_response_free(&r);
    assert_int_equal(zr_page_error(&r, 400, ZR_LANG_EN, "unknown_client", "ref"), 0);
    assert_non_null(strstr(r.body, "aria-label=\"Language\"><a href=\"/authorize?client_id=a%20b&amp;state=%3Cs%3E&amp;"
                                   "lang=nl\" lang=\"nl\" hreflang=\"nl\">Nederlands</a>"));
    zr_http_response_free(&r);

    /* an artifact (or code, handle, token) in the address: never repeated */
    assert_int_equal(zr_kv_add(&req.query, "SAMLart", "AAQA"), 0);
    assert_int_equal(zr_page_lang_link_safe(&req.query), 0);
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_null(strstr(r.body, "<nav class=\"lang-switch\""));
    assert_null(strstr(r.body, "AAQA"));
    zr_http_response_free(&r);
    /* ... unless the page knows where it is made again */
    way.lang_href = "/error?code=session_expired&status=400&ref=ref";
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_NL, "session_expired", "ref", &way), 0);
    assert_non_null(strstr(r.body, "<a href=\"/error?code=session_expired&amp;status=400&amp;ref=ref&amp;lang=en\" "
                                   "lang=\"en\" hreflang=\"en\">English</a>"));
    assert_null(strstr(r.body, "AAQA"));
    zr_http_response_free(&r);

    /* a refusal page (a POST): a button of its one form, never a link */
    req.method = "POST";
    way.return_handle = "h4ndle";
    assert_int_equal(zr_page_error_way(&r, 403, ZR_LANG_NL, "cancelled", "ref", &way), 0);
    assert_non_null(strstr(r.body, "<button type=\"submit\" form=\"way-return-form\" name=\"lang\" value=\"en\" "
                                   "lang=\"en\">English</button>"));
    assert_non_null(strstr(r.body, "<form id=\"way-return-form\""));
    assert_null(strstr(r.body, "/error?"));
    zr_http_response_free(&r);
    /* a POST answer without a form: the hint */
    way.return_handle = NULL;
    way.lang_href = NULL;
    assert_int_equal(zr_page_error_way(&r, 400, ZR_LANG_EN, "return_used", "ref", &way), 0);
    assert_null(strstr(r.body, "<nav class=\"lang-switch\""));
    assert_non_null(strstr(r.body, "<p lang=\"nl\">Nederlands? Stel Nederlands in"));
    zr_http_response_free(&r);
    zr_page_request_bind(NULL);
    zr_kv_free(&req.query);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kv),
        cmocka_unit_test(test_response_helpers),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_error_texts_complete),
        cmocka_unit_test(test_error_page),
        cmocka_unit_test(test_error_page_way),
        cmocka_unit_test(test_header_names_care_provider),
        cmocka_unit_test(test_autopost),
        cmocka_unit_test(test_lang_pick),
        cmocka_unit_test(test_lang_switch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
