/* Our SP metadata, as `zorgrelay metadata` and /saml/metadata give it:
 * built by src/saml, its signature verified against saml.signing, and
 * validated against the OASIS SAML metadata schema (the XSDs shipped in
 * metadata/schemas/, read from disk without network access). */
#include "zr/selftest.h"

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zr/saml.h"
#include "zr/util.h"
#include "zr/xml.h"

#define CHECK "sp-metadata"
#define SCHEMA_FILE "saml-schema-metadata-2.0.xsd"

/* Schema errors are collected here instead of going to stderr. */
typedef struct {
    char first[256];
    int count;
} schema_errors_t;

static void schema_error(void *ctx, const xmlError *e)
{
    schema_errors_t *s = ctx;
    if (s->count++ == 0 && e && e->message) {
        snprintf(s->first, sizeof(s->first), "line %d: %s", e->line, e->message);
        zr_str_trim(s->first);
    }
}

/* 0 valid, 1 invalid (why in err), -1 schema not usable (why in err). */
static int schema_validate(xmlDocPtr doc, const char *schema_path, char *err, size_t errlen)
{
    xmlSchemaParserCtxtPtr pctx = NULL;
    xmlSchemaPtr schema = NULL;
    xmlSchemaValidCtxtPtr vctx = NULL;
    /* Imports resolve next to the XSD; nothing may come from the network. */
    xmlExternalEntityLoader previous = xmlGetExternalEntityLoader();
    schema_errors_t errors = {.count = 0};
    int rc = -1, v;

    xmlSetExternalEntityLoader(xmlNoNetExternalEntityLoader);
    if (!(pctx = xmlSchemaNewParserCtxt(schema_path))) {
        snprintf(err, errlen, "cannot read %s", schema_path);
        goto end;
    }
    xmlSchemaSetParserStructuredErrors(pctx, (xmlStructuredErrorFunc)schema_error, &errors);
    if (!(schema = xmlSchemaParse(pctx))) {
        snprintf(err, errlen, "cannot parse the schema %s: %s", schema_path, errors.first);
        goto end;
    }
    if (!(vctx = xmlSchemaNewValidCtxt(schema))) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    xmlSchemaSetValidStructuredErrors(vctx, (xmlStructuredErrorFunc)schema_error, &errors);
    v = xmlSchemaValidateDoc(vctx, doc);
    if (v == 0) {
        rc = 0;
    } else {
        snprintf(err, errlen, "%s", v > 0 ? errors.first : "validation could not run");
        rc = v > 0 ? 1 : -1;
    }
end:
    xmlSchemaFreeValidCtxt(vctx);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(pctx);
    xmlSetExternalEntityLoader(previous);
    return rc;
}

/* One metadata document: signature, then schema. label names what it is. */
static void check_document(const zr_config_t *cfg, const char *xml, const char *label, const char *schema_path,
                           zr_selftest_report_t *r)
{
    char why[512] = "", serr[2048] = "";
    size_t len = strlen(xml);
    zr_xml_verify_key_t key = {.key = X509_get0_pubkey(cfg->saml_signing.cert),
                               .key_name = cfg->saml_signing.key_name};
    xmlDocPtr doc = zr_xml_parse(xml, len, len + 1, why, sizeof(why));
    xmlNodePtr root = doc ? xmlDocGetRootElement(doc) : NULL;
    int schema_rc;

    if (!root) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "report this as a bug: the relay built XML it cannot read",
                        "%s: not well-formed: %s", label, why);
        goto end;
    }
    if (zr_xml_verify(doc, root, &key, 1, why, sizeof(why)) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "check saml.signing (key and certificate must belong together)",
                        "%s: signature does not verify with saml.signing: %s", label, why);
        goto end;
    }
    if (access(schema_path, R_OK) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK, "install the schemas (" ZR_SCHEMA_DIR ") or pass --schemas DIR",
                        "%s: signed and well-formed; schema not checked: %s not found", label, schema_path);
        goto end;
    }
    schema_rc = schema_validate(doc, schema_path, serr, sizeof(serr));
    if (schema_rc == 0)
        zr_selftest_add(r, ZR_SELFTEST_OK, CHECK, NULL, "%s: signature verifies (saml.signing), schema-valid (%s)",
                        label, schema_path);
    else if (schema_rc > 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "DICTU will refuse this metadata; report it as a bug with the output of `zorgrelay metadata`",
                        "%s: signed, but not valid against %s: %s", label, SCHEMA_FILE, serr);
    else
        zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK, "install the schemas (" ZR_SCHEMA_DIR ") or pass --schemas DIR",
                        "%s: signed and well-formed; schema not checked: %s", label, serr);
end:
    if (doc)
        xmlFreeDoc(doc);
}

void zr_selftest_sp_metadata(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    char err[512] = "", schema_path[1024], label[256];
    char *xml = NULL;
    const zr_tenant_t *first = NULL;
    const char *dir = opts->schema_dir ? opts->schema_dir : ZR_SCHEMA_DIR;

    snprintf(schema_path, sizeof(schema_path), "%s/%s", dir, SCHEMA_FILE);
    if (!cfg->saml_signing.cert || !cfg->saml_signing.key) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "configure saml.signing", "no SAML signing key");
        return;
    }
    /* A cluster publishes one document for all; a direct connection one per
     * care provider, all built alike: the first stands for the others
     * (10,000 signatures would take the self-test minutes). */
    /* A quarantined provider is left out of the metadata (zr_saml_cluster_metadata_build). */
    for (size_t i = 0; i < cfg->tenant_count && !first; i++)
        if (!cfg->tenants[i].quarantined)
            first = &cfg->tenants[i];
    if (cfg->cluster.enabled) {
        xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
        snprintf(label, sizeof(label), "cluster %s (%zu care provider(s))", cfg->cluster.entity_id,
                 cfg->tenant_count - cfg->quarantined_count);
    } else if (first) {
        xml = zr_saml_sp_metadata_build(cfg, first, err, sizeof(err));
        snprintf(label, sizeof(label), "care provider %s%s", first->id,
                 cfg->tenant_count > 1 ? " (the others are built alike)" : "");
    } else {
        zr_selftest_add(r, ZR_SELFTEST_SKIP, CHECK, NULL, "no care provider configured");
        return;
    }
    if (!xml)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "fix the cause above; `zorgrelay metadata CONFIG` shows the same",
                        "%s: cannot build: %s", label, err);
    else
        check_document(cfg, xml, label, schema_path, r);
    free(xml);
}
