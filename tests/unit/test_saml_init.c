/* zr_saml_init (issue 13 §1): lasso registers the GLib type of a node class
 * on first use, and not thread-safely, so the relay makes every class it
 * uses on the main thread before serving. A fresh process has none of them;
 * after zr_saml_init it has each, and building a message from several
 * threads at once then works every time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <lasso/lasso.h>
#include <lasso/xml/saml-2.0/samlp2_artifact_resolve.h>

#include "zr/saml.h"
#include "zr/xml.h"

/* GLib's own lookup, found at run time: gobject comes in with lasso but is
 * not on the link line (lasso.pc lists it as private). */
static unsigned long type_of(const char *name)
{
    unsigned long (*from_name)(const char *) = (unsigned long (*)(const char *))dlsym(RTLD_DEFAULT,
                                                                                     "g_type_from_name");
    assert_non_null(from_name);
    return from_name(name);
}

static const char *const classes[] = {"LassoNode", "LassoSamlp2RequestAbstract", "LassoSamlp2AuthnRequest",
                                      "LassoSamlp2ArtifactResolve", "LassoSamlp2LogoutRequest",
                                      "LassoSaml2NameID"};

static void *build_one(void *arg)
{
    LassoNode *n = lasso_samlp2_artifact_resolve_new();
    xmlNodePtr tree = n ? lasso_node_get_xmlNode(n, FALSE) : NULL;
    (void)arg;
    if (tree)
        xmlFreeNode(tree);
    if (n)
        lasso_node_destroy(n);
    return tree ? (void *)1 : NULL;
}

static void test_types_registered_before_serving(void **state)
{
    char err[256] = "";
    pthread_t t[16];
    void *ok;
    (void)state;

    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (type_of(classes[i]) != 0)
            fail_msg("%s registered before zr_saml_init: this test proves nothing", classes[i]);
    assert_int_equal(zr_xml_init(), 0);
    assert_int_equal(zr_saml_init(err, sizeof(err)), 0);
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (type_of(classes[i]) == 0)
            fail_msg("%s not registered by zr_saml_init", classes[i]);
    /* and the workers' first messages, all at once */
    for (size_t i = 0; i < 16; i++)
        assert_int_equal(pthread_create(&t[i], NULL, build_one, NULL), 0);
    for (size_t i = 0; i < 16; i++) {
        assert_int_equal(pthread_join(t[i], &ok), 0);
        assert_non_null(ok);
    }
    zr_xml_shutdown();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types_registered_before_serving),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
