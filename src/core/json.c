/* The one hardened JSON parser (include/zr/json.h). */
#include "zr/json.h"
#include "zr/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A protected header is a few hundred bytes; 8 KiB leaves room for x5c. */
#define JOSE_HEADER_MAX 8192

static int depth_ok(json_t *v, int depth)
{
    const char *k;
    json_t *child;
    size_t i;
    if (depth > ZR_JSON_MAX_DEPTH)
        return 0;
    if (json_is_object(v)) {
        json_object_foreach(v, k, child) if (!depth_ok(child, depth + 1)) return 0;
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, child) if (!depth_ok(child, depth + 1)) return 0;
    }
    return 1;
}

json_t *zr_json_parse_object(const char *text, size_t len, size_t max_bytes, zr_json_status_t *st)
{
    zr_json_status_t status = ZR_JSON_OK;
    json_error_t jerr;
    json_t *v = NULL;

    if (!max_bytes)
        max_bytes = ZR_JSON_MAX_BYTES;
    if (!text || len == 0) {
        status = ZR_JSON_EMPTY;
        goto end;
    }
    if (len > max_bytes) {
        status = ZR_JSON_TOO_LARGE;
        goto end;
    }
    /* Without JSON_DISABLE_EOF_CHECK jansson refuses text after the value;
     * without JSON_ALLOW_NUL it refuses \u0000 inside strings. */
    v = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!v) {
        switch (json_error_code(&jerr)) {
        case json_error_duplicate_key: status = ZR_JSON_DUPLICATE_KEY; break;
        case json_error_out_of_memory: status = ZR_JSON_NO_MEMORY; break;
        case json_error_stack_overflow: status = ZR_JSON_TOO_DEEP; break;
        default: status = ZR_JSON_SYNTAX; break;
        }
        goto end;
    }
    if (!json_is_object(v))
        status = ZR_JSON_NOT_OBJECT;
    else if (!depth_ok(v, 0))
        status = ZR_JSON_TOO_DEEP;
end:
    if (status != ZR_JSON_OK) {
        json_decref(v);
        v = NULL;
    }
    if (st)
        *st = status;
    return v;
}

json_t *zr_json_jose_header(const char *compact)
{
    const char *dot = compact ? strchr(compact, '.') : NULL;
    char *seg = NULL;
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    json_t *h = NULL;

    if (!dot || dot == compact || (size_t)(dot - compact) > JOSE_HEADER_MAX)
        goto end;
    seg = strndup(compact, (size_t)(dot - compact));
    if (!seg || zr_base64url_decode(seg, &raw, &rawlen) != 0)
        goto end;
    h = zr_json_parse_object((const char *)raw, rawlen, JOSE_HEADER_MAX, NULL);
    if (h && json_object_get(h, "crit")) {
        json_decref(h);
        h = NULL;
    }
end:
    free(seg);
    free(raw);
    return h;
}

const char *zr_json_status_text(zr_json_status_t st)
{
    switch (st) {
    case ZR_JSON_OK: return "ok";
    case ZR_JSON_EMPTY: return "empty";
    case ZR_JSON_TOO_LARGE: return "too large";
    case ZR_JSON_SYNTAX: return "not valid JSON";
    case ZR_JSON_DUPLICATE_KEY: return "duplicate key";
    case ZR_JSON_NOT_OBJECT: return "not a JSON object";
    case ZR_JSON_TOO_DEEP: return "nested too deeply";
    case ZR_JSON_NO_MEMORY: return "out of memory";
    }
    return "invalid";
}
