/* The languages of the pages (issue 18 §5, docs/pages.md "How to add a
 * language"): one string catalog per language, templates/lang/<code>.txt,
 * UTF-8 lines "key = value" ("#" begins a comment line). A page is one
 * template; its words are {{@key}} looked up in the catalog of the page's
 * language. nl.txt is the reference: every other catalog has exactly its
 * keys, or the relay does not start. A third language is one new file. */
#ifndef ZR_LANG_H
#define ZR_LANG_H

#include <stddef.h>

/* An index into the loaded catalogs. nl (the default) and en are always
 * loaded and keep their numbers; more languages follow in the order of their
 * codes. */
typedef enum { ZR_LANG_NL = 0, ZR_LANG_EN = 1 } zr_lang_t;

/* At most this many catalogs; limits of one catalog file. */
#define ZR_LANG_MAX 16
#define ZR_LANG_MAX_FILE_BYTES (256 * 1024)
#define ZR_LANG_MAX_LINE 4096
#define ZR_LANG_MAX_KEY 96
#define ZR_LANG_MAX_KEYS 4096

/* Loads every <template_dir>/lang/<code>.txt (template_dir NULL: the page template
 * directory, see zr_page_set_template_dir) and checks them against nl.txt.
 * Called once on the main thread at start (the commands that serve pages
 * and check-config), so a bad catalog stops the start; replaces what was
 * loaded. 0, or -1 with "FILE:LINE: message" in err. */
int zr_lang_load(const char *template_dir, char *err, size_t errlen);

/* The loaded languages (2 until a catalog is loaded: nl and en). A caller
 * that never called zr_lang_load (a unit test) gets the template directory's
 * catalogs loaded on first use. */
size_t zr_lang_count(void);
/* "nl", "en", ...; "nl" for an index out of range. */
const char *zr_lang_code(zr_lang_t lang);
/* 0 and *out for a loaded language's code (case-insensitive, primary subtag
 * only: "en", not "en-GB"), else -1. */
int zr_lang_from_code(const char *code, zr_lang_t *out);
/* The catalog text of key in lang: template text, may hold {{var}} and our
 * own inline markup. Never NULL: "" for a key no catalog has (the start-up
 * check and test_lang_keys make sure that does not happen). */
const char *zr_lang_text(zr_lang_t lang, const char *key);
/* 1 when lang's catalog has key (for families whose members are optional
 * to the caller, e.g. errors.<code>.title for a code from elsewhere). */
int zr_lang_has(zr_lang_t lang, const char *key);

/* ---- one catalog, parsed (for the loader, its fuzz target and tools) ---- */
typedef struct zr_lang_catalog zr_lang_catalog_t;
/* Parses text[0..len) named file (for messages). Hardened: at most
 * ZR_LANG_MAX_FILE_BYTES, lines of ZR_LANG_MAX_LINE, keys [a-z0-9_.-] of at
 * most ZR_LANG_MAX_KEY, valid UTF-8 without control characters, no key
 * twice. 0 and *out, or -1 with "FILE:LINE: message" in err. */
int zr_lang_catalog_parse(const char *file, const char *text, size_t len, zr_lang_catalog_t **out, char *err,
                          size_t errlen);
size_t zr_lang_catalog_size(const zr_lang_catalog_t *c);
/* The i-th key in sorted order, its value and its line. */
const char *zr_lang_catalog_key(const zr_lang_catalog_t *c, size_t i);
const char *zr_lang_catalog_value(const zr_lang_catalog_t *c, size_t i);
int zr_lang_catalog_line(const zr_lang_catalog_t *c, size_t i);
/* The value of key, or NULL. */
const char *zr_lang_catalog_get(const zr_lang_catalog_t *c, const char *key);
void zr_lang_catalog_free(zr_lang_catalog_t *c);

#endif
