/* Masking for the trace: what may be shown to a tester and to DICTU.
 * BSNs keep their last three digits (enough to tell test accounts apart),
 * signature, cipher and certificate values their ends (enough to compare
 * with another copy), secrets only a short keyed pseudonym. */
#include "zr/diag.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>
#include <openssl/crypto.h>

#include "zr/log.h"
#include "zr/util.h"
#include "zr/xml.h"

#define SHORTEN_KEEP 8

char *zr_diag_mask_bsn(const char *bsn)
{
    zr_buf_t b;
    size_t n;
    if (!bsn)
        return NULL;
    zr_buf_init(&b);
    n = strlen(bsn);
    for (size_t i = 0; i + 3 < n || (n <= 3 && i < n); i++)
        zr_buf_appends(&b, "*");
    if (n > 3)
        zr_buf_append(&b, bsn + n - 3, 3);
    return zr_buf_steal(&b);
}

char *zr_diag_shorten(const char *value)
{
    zr_buf_t b;
    size_t n;
    if (!value)
        return NULL;
    zr_buf_init(&b);
    n = strlen(value);
    if (n <= 3 * SHORTEN_KEEP) {
        zr_buf_printf(&b, "\xe2\x80\xa6 (%zu chars)", n);
    } else {
        zr_buf_append(&b, value, SHORTEN_KEEP);
        zr_buf_appends(&b, "\xe2\x80\xa6");
        zr_buf_append(&b, value + n - SHORTEN_KEEP, SHORTEN_KEEP);
        zr_buf_printf(&b, " (%zu chars)", n);
    }
    return zr_buf_steal(&b);
}

char *zr_diag_hash(const char *value)
{
    uint8_t mac[32];
    char *hex = NULL, *out = NULL;
    if (!value)
        return NULL;
    /* Fail closed like the log: no key, no hash. */
    if (zr_log_pseudonym(value, mac) != 0)
        return strdup("k:?");
    hex = zr_hex_encode(mac, 8);
    if (hex && (out = malloc(2 + 16 + 1)) != NULL)
        snprintf(out, 2 + 16 + 1, "k:%s", hex);
    free(hex);
    OPENSSL_cleanse(mac, sizeof(mac));
    return out;
}

char *zr_diag_mask_text(const char *text)
{
    char *out;
    size_t n;
    if (!text)
        return NULL;
    out = strdup(text);
    if (!out)
        return NULL;
    n = strlen(out);
    /* A run of exactly nine digits that stands on its own could be a BSN:
     * hide all but three. A run inside a word (hex message IDs such as
     * "_3861239050de...") is part of an identifier and stays readable. */
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && out[j] >= '0' && out[j] <= '9')
            j++;
        if (j - i == 9 && (i == 0 || !isalpha((unsigned char)out[i - 1])) && (j == n || !isalpha((unsigned char)out[j])))
            memset(out + i, '*', 6);
        i = j > i ? j : i + 1;
    }
    return out;
}

/* Elements whose content is only shortened (ST-SAML messages: signatures,
 * encrypted BSNs, certificates, the single-use artifact). */
static int shortened_element(xmlNodePtr n)
{
    static const char *const names[] = {"SignatureValue", "CipherValue", "X509Certificate", "DigestValue",
                                        "Artifact", NULL};
    if (n->type != XML_ELEMENT_NODE)
        return 0;
    for (size_t i = 0; names[i]; i++)
        if (xmlStrcmp(n->name, (const xmlChar *)names[i]) == 0)
            return 1;
    return 0;
}

static void mask_node(xmlNodePtr n, int depth)
{
    xmlNodePtr next;
    if (depth > 128)
        return;
    for (; n; n = next) {
        next = n->next;
        /* Whitespace between elements (xmlsec puts bare newlines into a
         * ds:Signature) stops libxml2 from indenting that subtree: dropped,
         * so that the whole message is shown indented. Only text that is
         * all blank and sits between elements goes. */
        if (n->type == XML_TEXT_NODE && xmlIsBlankNode(n) && (n->prev || n->next)) {
            xmlUnlinkNode(n);
            xmlFreeNode(n);
            continue;
        }
        if (shortened_element(n)) {
            xmlChar *content = xmlNodeGetContent(n);
            char *trimmed = content ? zr_str_trim(strdup((const char *)content)) : NULL;
            char *s = trimmed ? zr_diag_shorten(trimmed) : NULL;
            xmlNodeSetContent(n, NULL);
            if (s) {
                xmlChar *enc = xmlEncodeSpecialChars(n->doc, (const xmlChar *)s);
                xmlNodeSetContent(n, enc);
                xmlFree(enc);
            }
            free(s);
            free(trimmed);
            xmlFree(content);
            continue;
        }
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE || n->type == XML_COMMENT_NODE) {
            char *m = n->content ? zr_diag_mask_text((const char *)n->content) : NULL;
            if (m) {
                xmlNodeSetContentLen(n, NULL, 0);
                xmlNodeAddContent(n, (const xmlChar *)m);
            }
            free(m);
            continue;
        }
        if (n->type == XML_ELEMENT_NODE) {
            for (xmlAttrPtr a = n->properties; a; a = a->next) {
                xmlChar *v = xmlNodeListGetString(n->doc, a->children, 1);
                char *m = v ? zr_diag_mask_text((const char *)v) : NULL;
                if (m && strcmp(m, (const char *)v) != 0)
                    xmlSetNsProp(n, a->ns, a->name, (const xmlChar *)m);
                free(m);
                xmlFree(v);
            }
            mask_node(n->children, depth + 1);
        }
    }
}

char *zr_diag_mask_xml(const char *xml, size_t len)
{
    char err[256];
    xmlDocPtr doc;
    xmlChar *dump = NULL;
    int dump_len = 0;
    char *out = NULL;

    if (!xml)
        return NULL;
    doc = zr_xml_parse(xml, len, 0, err, sizeof(err));
    if (!doc) {
        char *copy = strndup(xml, len);
        out = copy ? zr_diag_mask_text(copy) : NULL;
        free(copy);
        return out;
    }
    mask_node(xmlDocGetRootElement(doc), 0);
    xmlDocDumpFormatMemoryEnc(doc, &dump, &dump_len, "UTF-8", 1);
    if (dump)
        out = strndup((const char *)dump, (size_t)dump_len);
    xmlFree(dump);
    xmlFreeDoc(doc);
    return out;
}
