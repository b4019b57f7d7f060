/* zr_xml_parse: the hardened parser refuses DTDs, entities, XInclude, size
 * and depth abuse; parses every official ST-SAML example. */
#include "test_xml_fixture.h"

#include <dirent.h>

#include "zr/util.h"

static int setup(void **state)
{
    return zr_xml_init();
}

static int teardown(void **state)
{
    zr_xml_shutdown();
    return 0;
}

/* Parse must fail and the reason must contain `want`. */
static void refused(const char *xml, size_t len, size_t max, const char *want)
{
    char err[256] = "";
    xmlDocPtr doc = zr_xml_parse(xml, len, max, err, sizeof(err));
    if (doc) {
        xmlFreeDoc(doc);
        fail_msg("accepted, expected refusal: %s", want);
    }
    if (!strstr(err, want))
        fail_msg("reason \"%s\" lacks \"%s\"", err, want);
}

static void test_plain_document_keeps_whitespace(void **state)
{
    const char *xml = "<?xml version=\"1.0\"?>\n<a xmlns=\"urn:x\">\n  <b>t &amp; &#65;</b>\n</a>";
    xmlDocPtr doc = tx_parse(xml);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    xmlNodePtr b = zr_xml_child(root, "urn:x", "b");
    char *text = zr_xml_text(b);
    assert_non_null(b);
    assert_string_equal(text, "t & A");
    /* Whitespace text nodes stay (signatures are over them). */
    assert_non_null(root->children);
    assert_int_equal(root->children->type, XML_TEXT_NODE);
    free(text);
    xmlFreeDoc(doc);
}

static void test_doctype_refused(void **state)
{
    const char *xml = "<!DOCTYPE a><a/>";
    refused(xml, strlen(xml), 0, "DOCTYPE not allowed");
}

static void test_billion_laughs_refused(void **state)
{
    const char *xml =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE lolz [\n"
        " <!ENTITY lol \"lol\">\n"
        " <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n"
        " <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">\n"
        " <!ENTITY lol4 \"&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;\">\n"
        "]>\n<lolz>&lol4;</lolz>";
    refused(xml, strlen(xml), 0, "DOCTYPE not allowed");
}

static void test_external_entity_refused(void **state)
{
    const char *xml = "<?xml version=\"1.0\"?>\n"
                      "<!DOCTYPE r [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>\n<r>&xxe;</r>";
    refused(xml, strlen(xml), 0, "DOCTYPE not allowed");
}

/* The byte scan sees no "<!DOCTYPE" in UTF-16; the SAX hook must stop it. */
static void test_doctype_in_utf16_refused(void **state)
{
    const char *ascii = "<?xml version=\"1.0\" encoding=\"UTF-16\"?>"
                        "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>";
    size_t n = strlen(ascii);
    char *buf = malloc(2 + 2 * n);
    assert_non_null(buf);
    buf[0] = (char)0xff;
    buf[1] = (char)0xfe;
    for (size_t i = 0; i < n; i++) {
        buf[2 + 2 * i] = ascii[i];
        buf[3 + 2 * i] = 0;
    }
    refused(buf, 2 + 2 * n, 0, "DOCTYPE not allowed");
    free(buf);
}

static void test_entity_declaration_refused(void **state)
{
    const char *xml = "<a><!ENTITY x \"y\"></a>";
    refused(xml, strlen(xml), 0, "entity declarations not allowed");
}

static void test_undeclared_entity_refused(void **state)
{
    const char *xml = "<a>&foo;</a>";
    refused(xml, strlen(xml), 0, "not well-formed XML");
}

static void test_xinclude_refused(void **state)
{
    const char *xml = "<a xmlns:xi=\"http://www.w3.org/2001/XInclude\">"
                      "<xi:include href=\"file:///etc/passwd\" parse=\"text\"/></a>";
    refused(xml, strlen(xml), 0, "XInclude not allowed");
}

static void test_oversized_refused(void **state)
{
    const char *xml = "<a>0123456789</a>";
    char err[256] = "";
    xmlDocPtr doc;
    refused(xml, strlen(xml), 10, "document too large");
    /* The limit is inclusive and 0 means the default. */
    doc = zr_xml_parse(xml, strlen(xml), strlen(xml), err, sizeof(err));
    assert_non_null(doc);
    xmlFreeDoc(doc);
    char *big = malloc(ZR_XML_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', ZR_XML_MAX_BYTES + 1);
    memcpy(big, "<a>", 3);
    memcpy(big + ZR_XML_MAX_BYTES - 3, "</a>", 4);
    refused(big, ZR_XML_MAX_BYTES + 1, 0, "document too large");
    free(big);
}

static char *nested(int depth)
{
    zr_buf_t b;
    zr_buf_init(&b);
    for (int i = 0; i < depth; i++)
        zr_buf_appends(&b, "<e>");
    for (int i = 0; i < depth; i++)
        zr_buf_appends(&b, "</e>");
    return zr_buf_steal(&b);
}

static void test_depth_limit(void **state)
{
    char *ok = nested(64), *deep = nested(65), *very = nested(10000);
    xmlDocPtr doc = tx_parse(ok);
    xmlFreeDoc(doc);
    refused(deep, strlen(deep), 0, "nesting too deep");
    refused(very, strlen(very), 0, "nesting too deep");
    free(ok);
    free(deep);
    free(very);
}

static void test_malformed_refused(void **state)
{
    const char *cases[] = {"<a>", "<a></b>", "<a/><b/>", "text", "<a x='1' x='2'/>",
                           "<a>\x01</a>"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        refused(cases[i], strlen(cases[i]), 0, "not well-formed XML: ");
    refused("", 0, 0, "empty document");
    refused("<p:a/>", 6, 0, "namespace");
}

static void test_helpers(void **state)
{
    const char *xml = "<r xmlns:s=\"" ZR_NS_SAML "\" a=\"1\"><s:x/><x/><s:x> v </s:x><s:y/></r>";
    xmlDocPtr doc = tx_parse(xml);
    xmlNodePtr r = xmlDocGetRootElement(doc);
    xmlNodePtr first = zr_xml_child(r, ZR_NS_SAML, "x");
    xmlNodePtr second = zr_xml_next(first, ZR_NS_SAML, "x");
    char *a = zr_xml_attr(r, "a"), *t = zr_xml_text(second), *dump;
    size_t len = 0;

    assert_int_equal(zr_xml_count_children(r, ZR_NS_SAML, "x"), 2);
    assert_int_equal(zr_xml_count_children(r, NULL, "x"), 1);
    assert_true(zr_xml_is(zr_xml_child(r, NULL, "x"), NULL, "x"));
    assert_null(zr_xml_next(second, ZR_NS_SAML, "x"));
    assert_null(zr_xml_attr(r, "b"));
    assert_string_equal(a, "1");
    assert_string_equal(t, "v");
    dump = zr_xml_dump(doc, second, &len);
    assert_string_equal(dump, "<s:x> v </s:x>");
    assert_int_equal(len, strlen(dump));
    free(dump);
    free(a);
    free(t);
    xmlFreeDoc(doc);
}

/* Every official example message parses (ST-SAML examples/). */
static void test_golden_examples_parse(void **state)
{
    const char *shared = getenv("ZR_SHARED");
    char dir[1024], path[1200], err[256];
    DIR *d;
    struct dirent *e;
    int count = 0;

    snprintf(dir, sizeof(dir), "%s/specs/st-saml/examples", shared ? shared : ZR_SOURCE_DIR "/tests/data/shared");
    d = opendir(dir);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        char *data = NULL;
        size_t len = 0;
        xmlDocPtr doc;
        if (n < 5 || strcmp(e->d_name + n - 4, ".xml") != 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
            fail_msg("path too long: %s", e->d_name);
        assert_int_equal(zr_file_read(path, ZR_XML_MAX_BYTES, &data, &len), 0);
        err[0] = '\0';
        doc = zr_xml_parse(data, len, 0, err, sizeof(err));
        if (!doc)
            fail_msg("%s: %s", e->d_name, err);
        assert_non_null(xmlDocGetRootElement(doc));
        xmlFreeDoc(doc);
        free(data);
        count++;
    }
    closedir(d);
    assert_true(count >= 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_document_keeps_whitespace),
        cmocka_unit_test(test_doctype_refused),
        cmocka_unit_test(test_billion_laughs_refused),
        cmocka_unit_test(test_external_entity_refused),
        cmocka_unit_test(test_doctype_in_utf16_refused),
        cmocka_unit_test(test_entity_declaration_refused),
        cmocka_unit_test(test_undeclared_entity_refused),
        cmocka_unit_test(test_xinclude_refused),
        cmocka_unit_test(test_oversized_refused),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_malformed_refused),
        cmocka_unit_test(test_helpers),
        cmocka_unit_test(test_golden_examples_parse),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
