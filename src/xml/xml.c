/* The one place untrusted XML is parsed (libxml2, hardened), library set-up
 * for libxml2 + xmlsec, and small DOM helpers every concern shares. */
#include "xml_internal.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>
#include <openssl/crypto.h>
#include <xmlsec/xmlsec.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/io.h>

#include "zr/log.h"

/* SAML messages are shallow (the deepest official example is ~20 levels);
 * the limit keeps recursive code further down (c14n, our walks) bounded. */
#define ZR_XML_MAX_DEPTH 64

#define ZR_NS_XINCLUDE_2001 "http://www.w3.org/2001/XInclude"
#define ZR_NS_XINCLUDE_2003 "http://www.w3.org/2003/XInclude"

/* Init is the only mutable process state here: a use count so that several
 * callers (relay, commands, tests) may each call zr_xml_init/shutdown. */
static pthread_mutex_t zr_xml_init_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned zr_xml_init_count;

int zr_xml_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (err && errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int zr_xml_keyname_matches(const char *written, const char *ours)
{
    size_t n;
    if (!written || !ours || !*ours)
        return 0;
    while (isspace((unsigned char)*written))
        written++;
    n = strlen(written);
    while (n > 0 && isspace((unsigned char)written[n - 1]))
        n--;
    return n > 0 && n == strlen(ours) && strncasecmp(written, ours, n) == 0;
}

int zr_xml_attr_equals(xmlNodePtr node, const char *name, const char *value)
{
    char *v = zr_xml_attr(node, name);
    int eq = v && value && strcmp(v, value) == 0;
    free(v);
    return eq;
}

static void zr_xml_wipe_content(xmlNodePtr n)
{
    /* Content interned in the document's dictionary is shared; leave it. */
    if (n->content && !(n->doc && n->doc->dict && xmlDictOwns(n->doc->dict, n->content)))
        OPENSSL_cleanse(n->content, strlen((const char *)n->content));
}

static void zr_xml_wipe_node(xmlNodePtr n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE)
        zr_xml_wipe_content(n);
    if (n->type != XML_ELEMENT_NODE)
        return;
    for (xmlAttrPtr a = n->properties; a; a = a->next)
        for (xmlNodePtr c = a->children; c; c = c->next)
            zr_xml_wipe_node(c);
    for (xmlNodePtr c = n->children; c; c = c->next)
        zr_xml_wipe_node(c);
}

void zr_xml_wipe_tree(xmlNodePtr node)
{
    if (node && node->type == XML_DOCUMENT_NODE) {
        for (xmlNodePtr c = node->children; c; c = c->next)
            zr_xml_wipe_node(c);
    } else if (node) {
        zr_xml_wipe_node(node);
    }
}

/* ---- library set-up ---- */

/* No external entity, DTD or XInclude is ever loaded, for any document. */
static xmlParserInputPtr zr_xml_refuse_entity_loader(const char *url, const char *id,
                                                     xmlParserCtxtPtr ctxt)
{
    return NULL;
}

/* libxml2 would print parser errors of untrusted input to stderr; the parser
 * below reports them through err instead. */
static void zr_xml_quiet_structured(void *ctx, xmlErrorPtr error)
{
}

static void zr_xml_quiet_generic(void *ctx, const char *msg, ...)
{
}

/* xmlsec's own error lines go to the operator log at debug level only: the
 * caller gets a specific reason through err. They name nodes and transforms,
 * never key material or content. */
static void zr_xml_xmlsec_error(const char *file, int line, const char *func,
                                const char *object, const char *subject, int reason,
                                const char *msg)
{
    zr_log_debug("xmlsec", "func=%s object=%s subject=%s reason=%d msg=\"%s\"",
                 func ? func : "-", object ? object : "-", subject ? subject : "-", reason,
                 msg ? msg : "");
}

int zr_xml_init(void)
{
    int rc = -1;

    pthread_mutex_lock(&zr_xml_init_lock);
    if (zr_xml_init_count > 0) {
        zr_xml_init_count++;
        rc = 0;
        goto end;
    }
    xmlInitParser();
    LIBXML_TEST_VERSION
    xmlSetExternalEntityLoader(zr_xml_refuse_entity_loader);
    /* Defaults for every thread (libxml2 keeps these per thread). */
    xmlThrDefSetStructuredErrorFunc(NULL, zr_xml_quiet_structured);
    xmlThrDefSetGenericErrorFunc(NULL, zr_xml_quiet_generic);
    xmlThrDefSubstituteEntitiesDefaultValue(0);
    xmlThrDefLoadExtDtdDefaultValue(0);
    xmlSetStructuredErrorFunc(NULL, zr_xml_quiet_structured);
    xmlSetGenericErrorFunc(NULL, zr_xml_quiet_generic);

    if (xmlSecInit() < 0) {
        zr_log_error("xml_init", "xmlSecInit failed");
        goto end;
    }
    if (xmlSecCheckVersion() != 1) {
        zr_log_error("xml_init", "xmlsec library version mismatch");
        xmlSecShutdown();
        goto end;
    }
    xmlSecErrorsSetCallback(zr_xml_xmlsec_error);
    if (xmlSecCryptoAppInit(NULL) < 0) {
        zr_log_error("xml_init", "xmlsec crypto app init failed");
        xmlSecShutdown();
        goto end;
    }
    if (xmlSecCryptoInit() < 0) {
        zr_log_error("xml_init", "xmlsec crypto init failed");
        xmlSecCryptoAppShutdown();
        xmlSecShutdown();
        goto end;
    }
    /* xmlSecInit registers file/http/ftp readers for URI references. We only
     * ever follow same-document references, so xmlsec gets no reader at all:
     * it cannot fetch anything even if a check above it were missed. */
    xmlSecIOCleanupCallbacks();
    zr_xml_init_count = 1;
    rc = 0;
end:
    pthread_mutex_unlock(&zr_xml_init_lock);
    return rc;
}

void zr_xml_shutdown(void)
{
    pthread_mutex_lock(&zr_xml_init_lock);
    if (zr_xml_init_count == 0 || --zr_xml_init_count > 0)
        goto end;
    xmlSecCryptoShutdown();
    xmlSecCryptoAppShutdown();
    xmlSecShutdown();
    /* xmlCleanupParser() is deliberately not called: lasso and libcurl may
     * still use libxml2 in this process (see libxml2's own warning). */
end:
    pthread_mutex_unlock(&zr_xml_init_lock);
}

/* ---- hardened parser ---- */

typedef struct {
    startElementNsSAX2Func start;
    endElementNsSAX2Func end;
    int depth;
    const char *reason; /* first policy violation, static string */
} zr_xml_parse_state_t;

static void zr_xml_parse_refuse(void *ctx, const char *reason)
{
    xmlParserCtxtPtr ctxt = ctx;
    zr_xml_parse_state_t *st = ctxt->_private;
    if (!st->reason)
        st->reason = reason;
    xmlStopParser(ctxt);
}

/* The DOCTYPE is refused the moment it is seen, before its internal subset
 * (where entity declarations live) is read. */
static void zr_xml_sax_subset(void *ctx, const xmlChar *name, const xmlChar *external_id,
                              const xmlChar *system_id)
{
    zr_xml_parse_refuse(ctx, "DOCTYPE not allowed");
}

static void zr_xml_sax_entity_decl(void *ctx, const xmlChar *name, int type,
                                   const xmlChar *public_id, const xmlChar *system_id,
                                   xmlChar *content)
{
    zr_xml_parse_refuse(ctx, "entity declarations not allowed");
}

static void zr_xml_sax_reference(void *ctx, const xmlChar *name)
{
    zr_xml_parse_refuse(ctx, "entity references not allowed");
}

static void zr_xml_sax_start(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                             const xmlChar *uri, int nb_namespaces, const xmlChar **namespaces,
                             int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
    xmlParserCtxtPtr ctxt = ctx;
    zr_xml_parse_state_t *st = ctxt->_private;

    if (++st->depth > ZR_XML_MAX_DEPTH) {
        zr_xml_parse_refuse(ctx, "nesting too deep");
        return;
    }
    if (uri && (xmlStrEqual(uri, BAD_CAST ZR_NS_XINCLUDE_2001) ||
                xmlStrEqual(uri, BAD_CAST ZR_NS_XINCLUDE_2003))) {
        zr_xml_parse_refuse(ctx, "XInclude not allowed");
        return;
    }
    st->start(ctx, localname, prefix, uri, nb_namespaces, namespaces, nb_attributes,
              nb_defaulted, attributes);
}

static void zr_xml_sax_end(void *ctx, const xmlChar *localname, const xmlChar *prefix,
                           const xmlChar *uri)
{
    xmlParserCtxtPtr ctxt = ctx;
    zr_xml_parse_state_t *st = ctxt->_private;
    st->depth--;
    st->end(ctx, localname, prefix, uri);
}

/* libxml2's last message, one line, no control characters. */
static void zr_xml_parser_message(xmlParserCtxtPtr ctxt, char *out, size_t outlen)
{
    xmlErrorPtr e = xmlCtxtGetLastError(ctxt);
    size_t n;
    snprintf(out, outlen, "%s", e && e->message ? e->message : "unknown error");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    n = strlen(out);
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = '\0';
    if (e && e->line > 0 && n + 16 < outlen)
        snprintf(out + n, outlen - n, " (line %d)", e->line);
}

xmlDocPtr zr_xml_parse(const char *data, size_t len, size_t max_bytes, char *err, size_t errlen)
{
    /* No NOENT (entities stay unexpanded), no DTDLOAD/DTDATTR/DTDVALID, no
     * HUGE, no XINCLUDE; NOBLANKS would break signatures over whitespace. */
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    zr_xml_parse_state_t st;
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlDocPtr result = NULL;
    char msg[200];

    if (max_bytes == 0)
        max_bytes = ZR_XML_MAX_BYTES;
    if (!data || len == 0) {
        zr_xml_fail(err, errlen, "empty document");
        goto end;
    }
    if (len > max_bytes || len > INT_MAX) {
        zr_xml_fail(err, errlen, "document too large");
        goto end;
    }
    /* Cheap early refusal; the SAX hooks below catch the same in any encoding. */
    if (memmem(data, len, "<!DOCTYPE", 9)) {
        zr_xml_fail(err, errlen, "DOCTYPE not allowed");
        goto end;
    }
    if (memmem(data, len, "<!ENTITY", 8)) {
        zr_xml_fail(err, errlen, "entity declarations not allowed");
        goto end;
    }
    ctxt = xmlNewParserCtxt();
    if (!ctxt || !ctxt->sax) {
        zr_xml_fail(err, errlen, "out of memory");
        goto end;
    }
    memset(&st, 0, sizeof(st));
    st.start = ctxt->sax->startElementNs ? ctxt->sax->startElementNs : xmlSAX2StartElementNs;
    st.end = ctxt->sax->endElementNs ? ctxt->sax->endElementNs : xmlSAX2EndElementNs;
    ctxt->_private = &st;
    ctxt->sax->internalSubset = zr_xml_sax_subset;
    ctxt->sax->externalSubset = zr_xml_sax_subset;
    ctxt->sax->entityDecl = zr_xml_sax_entity_decl;
    ctxt->sax->reference = zr_xml_sax_reference;
    ctxt->sax->startElementNs = zr_xml_sax_start;
    ctxt->sax->endElementNs = zr_xml_sax_end;
    ctxt->sax->serror = zr_xml_quiet_structured;

    doc = xmlCtxtReadMemory(ctxt, data, (int)len, NULL, NULL, options);
    if (st.reason) {
        zr_xml_fail(err, errlen, "%s", st.reason);
        goto end;
    }
    if (!doc || !ctxt->wellFormed) {
        zr_xml_parser_message(ctxt, msg, sizeof(msg));
        zr_xml_fail(err, errlen, "not well-formed XML: %s", msg);
        goto end;
    }
    if (!ctxt->nsWellFormed) {
        zr_xml_parser_message(ctxt, msg, sizeof(msg));
        zr_xml_fail(err, errlen, "not namespace-well-formed XML: %s", msg);
        goto end;
    }
    if (doc->intSubset || doc->extSubset) {
        zr_xml_fail(err, errlen, "DOCTYPE not allowed");
        goto end;
    }
    if (!xmlDocGetRootElement(doc)) {
        zr_xml_fail(err, errlen, "empty document");
        goto end;
    }
    result = doc;
    doc = NULL;
end:
    if (doc)
        xmlFreeDoc(doc);
    if (ctxt)
        xmlFreeParserCtxt(ctxt);
    return result;
}

/* ---- DOM helpers ---- */

int zr_xml_is(xmlNodePtr node, const char *ns, const char *name)
{
    if (!node || node->type != XML_ELEMENT_NODE || !name)
        return 0;
    if (!xmlStrEqual(node->name, BAD_CAST name))
        return 0;
    if (!ns)
        return node->ns == NULL;
    return node->ns && xmlStrEqual(node->ns->href, BAD_CAST ns);
}

xmlNodePtr zr_xml_child(xmlNodePtr parent, const char *ns, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (zr_xml_is(c, ns, name))
            return c;
    return NULL;
}

size_t zr_xml_count_children(xmlNodePtr parent, const char *ns, const char *name)
{
    size_t n = 0;
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (zr_xml_is(c, ns, name))
            n++;
    return n;
}

xmlNodePtr zr_xml_next(xmlNodePtr node, const char *ns, const char *name)
{
    for (xmlNodePtr c = node ? node->next : NULL; c; c = c->next)
        if (zr_xml_is(c, ns, name))
            return c;
    return NULL;
}

char *zr_xml_attr(xmlNodePtr node, const char *name)
{
    xmlChar *v;
    char *out;
    if (!node || node->type != XML_ELEMENT_NODE || !name)
        return NULL;
    v = xmlGetNoNsProp(node, BAD_CAST name);
    if (!v)
        return NULL;
    out = strdup((const char *)v);
    xmlFree(v);
    return out;
}

char *zr_xml_text(xmlNodePtr node)
{
    xmlChar *v;
    char *out;
    size_t n;
    const char *s;
    if (!node)
        return NULL;
    v = xmlNodeGetContent(node);
    s = v ? (const char *)v : "";
    while (isspace((unsigned char)*s))
        s++;
    n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    out = strndup(s, n);
    if (v)
        xmlFree(v);
    return out;
}

char *zr_xml_dump(xmlDocPtr doc, xmlNodePtr node, size_t *len)
{
    char *out = NULL;
    xmlBufferPtr buf = NULL;
    xmlChar *mem = NULL;
    int size = 0;

    if (len)
        *len = 0;
    if (!doc)
        goto end;
    if (!node) {
        xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
        if (!mem || size < 0)
            goto end;
        out = strndup((const char *)mem, (size_t)size);
        if (out && len)
            *len = (size_t)size;
        goto end;
    }
    buf = xmlBufferCreate();
    if (!buf || xmlNodeDump(buf, doc, node, 0, 0) < 0)
        goto end;
    out = strndup((const char *)xmlBufferContent(buf), (size_t)xmlBufferLength(buf));
    if (out && len)
        *len = (size_t)xmlBufferLength(buf);
end:
    if (mem)
        xmlFree(mem);
    if (buf)
        xmlBufferFree(buf);
    return out;
}
