/* zr_xml_parse: the one place untrusted XML (SOAP from TVS, metadata) is
 * parsed. Beyond not crashing, a document that parses is walked the way the
 * SAML code walks it, so the hardening (no DTD, no entities, depth limit)
 * is exercised together with what comes after it. */
#include <stdio.h>
#include <stdlib.h>

#include "fuzz_common.h"
#include "zr/xml.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (zr_xml_init() != 0) {
        fprintf(stderr, "fuzz_xml_parse: zr_xml_init failed\n");
        abort();
    }
    return 0;
}

/* Depth-first walk using only the zr_xml_* accessors. */
static void walk(xmlNodePtr node, int depth)
{
    for (; node && depth < 80; node = node->next) {
        if (node->type != XML_ELEMENT_NODE)
            continue;
        free(zr_xml_attr(node, "ID"));
        free(zr_xml_text(node));
        (void)zr_xml_count_children(node, ZR_NS_SAML, "Assertion");
        (void)zr_xml_child(node, ZR_NS_DS, "Signature");
        walk(node->children, depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    size_t len = 0;
    /* data is an exact-size heap buffer, not NUL-terminated: any read past
     * len is an ASan report. */
    xmlDocPtr doc = zr_xml_parse((const char *)data, size, 0, err, sizeof(err));
    char *dump = NULL;
    if (!doc)
        goto end;
    walk(xmlDocGetRootElement(doc), 0);
    dump = zr_xml_dump(doc, NULL, &len);
end:
    free(dump);
    xmlFreeDoc(doc);
    return 0;
}
