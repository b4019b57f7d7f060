/* zr_oidc_registration_yaml: a portal's registration metadata (RFC 7591,
 * after the hardened JSON parser) turned into the client file the relay
 * writes (src/oidc/registration.c). Whatever the metadata say, the file is
 * one YAML document with exactly `registration` and `client`, the care
 * provider and client_id the relay chose, bsn_entitled false, and no key
 * twice: no value can write YAML of its own. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "fuzz_common.h"
#include "zr/json.h"
#include "zr/oidc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
    (void)doc;
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

/* The value of key in mapping m; aborts when the key is there twice. */
static yaml_node_t *get(yaml_document_t *doc, yaml_node_t *m, const char *key)
{
    yaml_node_t *found = NULL;
    if (!m || m->type != YAML_MAPPING_NODE)
        abort();
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
        if (!k)
            abort();
        if (!strcmp(k, key)) {
            if (found)
                abort();
            found = yaml_document_get_node(doc, p->value);
        }
    }
    return found;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *md = zr_json_parse_object((const char *)data, size, 0, NULL);
    const char *error = NULL;
    char *yaml;
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root, *client, *reg;

    if (!md)
        return 0;
    yaml = zr_oidc_registration_yaml(md, "dcr-fuzz", "provider-a", &error);
    json_decref(md);
    if (!yaml) {
        if (!error)
            abort();
        return 0;
    }
    if (!yaml_parser_initialize(&parser))
        abort();
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    /* Everything the writer emits must parse: a refusal by libyaml would
     * be a registration refused for no reason of the client's. */
    if (!yaml_parser_load(&parser, &doc) || !(root = yaml_document_get_root_node(&doc)))
        abort();
    if (root->type != YAML_MAPPING_NODE || root->data.mapping.pairs.top - root->data.mapping.pairs.start != 2)
        abort();
    reg = get(&doc, root, "registration");
    client = get(&doc, root, "client");
    if (!reg || !client || strcmp(scalar(&doc, get(&doc, reg, "care_provider")), "provider-a") ||
        strcmp(scalar(&doc, get(&doc, client, "client_id")), "dcr-fuzz") ||
        strcmp(scalar(&doc, get(&doc, client, "care_provider")), "provider-a") ||
        strcmp(scalar(&doc, get(&doc, client, "bsn_entitled")), "false") || get(&doc, client, "care_providers"))
        abort();
    /* Every key of client once (get aborts on a repeat). */
    for (yaml_node_pair_t *p = client->data.mapping.pairs.start; p < client->data.mapping.pairs.top; p++)
        get(&doc, client, scalar(&doc, yaml_document_get_node(&doc, p->key)));
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    free(yaml);
    return 0;
}
