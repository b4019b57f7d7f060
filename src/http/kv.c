/* Name/value lists: query arguments, form fields, headers, cookies.
 * Duplicates are kept on purpose: OAuth 2.0 (RFC 6749 §3.1) requires a
 * parameter given twice to be refused, so the handler must be able to see it. */
#include "zr/http.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>

const char *zr_kv_get(const zr_kvlist_t *l, const char *name)
{
    if (!l || !name)
        return NULL;
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return l->items[i].value;
    return NULL;
}

size_t zr_kv_count(const zr_kvlist_t *l, const char *name)
{
    size_t n = 0;
    if (!l || !name)
        return 0;
    for (size_t i = 0; i < l->count; i++)
        if (strcmp(l->items[i].name, name) == 0)
            n++;
    return n;
}

int zr_kv_add(zr_kvlist_t *l, const char *name, const char *value)
{
    int rc = -1;
    char *n = NULL, *v = NULL;
    zr_kv_t *items;

    if (!l || !name)
        goto end;
    n = strdup(name);
    v = strdup(value ? value : "");
    if (!n || !v)
        goto end;
    items = realloc(l->items, (l->count + 1) * sizeof(*items));
    if (!items)
        goto end;
    l->items = items;
    l->items[l->count].name = n;
    l->items[l->count].value = v;
    l->count++;
    n = v = NULL;
    rc = 0;
end:
    free(n);
    free(v);
    return rc;
}

void zr_kv_free(zr_kvlist_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        free(l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

int zr_kv_parse_form(zr_kvlist_t *l, const char *data, size_t len)
{
    int rc = -1;
    char *name = NULL, *value = NULL;
    size_t pos = 0;

    if (!l || (!data && len))
        goto end;
    while (pos < len) {
        const char *seg = data + pos;
        const char *amp = memchr(seg, '&', len - pos);
        size_t seglen = amp ? (size_t)(amp - seg) : len - pos;
        const char *eq = memchr(seg, '=', seglen);
        size_t namelen = eq ? (size_t)(eq - seg) : seglen;

        pos += seglen + 1;
        if (seglen == 0)
            continue; /* "a=1&&b=2": empty pairs carry nothing */
        /* zr_url_decode refuses malformed %XX and %00: a form we cannot read
         * exactly is refused as a whole rather than half-understood. */
        name = zr_url_decode(seg, namelen);
        value = eq ? zr_url_decode(eq + 1, seglen - namelen - 1) : strdup("");
        if (!name || !value)
            goto end;
        if (zr_kv_add(l, name, value) != 0)
            goto end;
        zr_release(name);
        zr_release(value);
    }
    rc = 0;
end:
    free(name);
    free(value);
    return rc;
}
