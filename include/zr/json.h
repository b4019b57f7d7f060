/* The one hardened parser of untrusted JSON (answers from Dezi and the PDP,
 * JWT headers and claims a client or an upstream sends, JWKS files): a size
 * limit, duplicate keys refused (RFC 8259 §4 leaves them undefined, and two
 * readers could see two different values), a depth limit far below jansson's
 * own, no NUL inside strings, an object at the top and nothing after it. */
#ifndef ZR_JSON_H
#define ZR_JSON_H

#include <stddef.h>
#include <jansson.h>

/* Depth of nesting any document we read needs, with room to spare. */
#define ZR_JSON_MAX_DEPTH 16
/* Default size limit when the caller has none of its own. */
#define ZR_JSON_MAX_BYTES (256u * 1024u)

typedef enum {
    ZR_JSON_OK = 0,
    ZR_JSON_EMPTY,          /* no input */
    ZR_JSON_TOO_LARGE,      /* over the caller's limit */
    ZR_JSON_SYNTAX,         /* not JSON (or text after the value, or NUL in a string) */
    ZR_JSON_DUPLICATE_KEY,  /* an object names a key twice */
    ZR_JSON_NOT_OBJECT,     /* valid JSON, but not an object */
    ZR_JSON_TOO_DEEP,       /* nested deeper than ZR_JSON_MAX_DEPTH */
    ZR_JSON_NO_MEMORY
} zr_json_status_t;

/* Parses text[0..len) as one JSON object. max_bytes 0 = ZR_JSON_MAX_BYTES.
 * Returns a new reference or NULL with *st (optional) saying why. */
json_t *zr_json_parse_object(const char *text, size_t len, size_t max_bytes, zr_json_status_t *st);
/* The protected header of a compact JWS or JWE (RFC 7515 §7.1), decoded
 * and parsed as above before any JOSE library sees it. A header with
 * `crit` is refused: we understand no extensions (RFC 7515 §4.1.11).
 * Returns a new reference or NULL. */
json_t *zr_json_jose_header(const char *compact);

/* Short English reason for operator log lines and error texts. */
const char *zr_json_status_text(zr_json_status_t st);

#endif
