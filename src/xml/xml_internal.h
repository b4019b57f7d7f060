/* Shared helpers of src/xml (parsing, dsig.c, xenc.c). Not for other concerns. */
#ifndef ZR_XML_INTERNAL_H
#define ZR_XML_INTERNAL_H

#include <stddef.h>

#include <libxml/tree.h>

#include "zr/xml.h"

/* Writes a reason into err (NULL/0 tolerated); always returns -1. */
int zr_xml_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* 1 when a KeyName as written in a message (whitespace around it, any case)
 * names the hex digest `ours`. */
int zr_xml_keyname_matches(const char *written, const char *ours);

/* 1 when node's attribute `name` (no namespace) equals value. */
int zr_xml_attr_equals(xmlNodePtr node, const char *name, const char *value);

/* Overwrites every text and attribute value of a subtree (decrypted BSNs must
 * not linger in freed heap), then leaves the tree for the caller to free. */
void zr_xml_wipe_tree(xmlNodePtr node);

#endif
