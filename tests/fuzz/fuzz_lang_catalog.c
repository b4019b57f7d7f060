/* zr_lang_catalog_parse: a page catalog, templates/lang/<code>.txt (an
 * operator's or translator's file, read at start). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/lang.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zr_lang_catalog_t *c = NULL;
    char err[256] = "";
    /* Exact-size buffer, not NUL-terminated: the parser is given a length. */
    char *text = malloc(size ? size : 1);

    if (!text)
        abort();
    if (size)
        memcpy(text, data, size);
    if (zr_lang_catalog_parse("fuzz.txt", text, size, &c, err, sizeof(err)) == 0) {
        size_t n = zr_lang_catalog_size(c);
        if (!c || n > ZR_LANG_MAX_KEYS)
            abort();
        for (size_t i = 0; i < n; i++) {
            const char *k = zr_lang_catalog_key(c, i), *v = zr_lang_catalog_value(c, i);
            size_t klen = k ? strlen(k) : 0;
            /* keys: the alphabet, the length, sorted and unique; values one line */
            if (!k || !v || !klen || klen > ZR_LANG_MAX_KEY || strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_.-") != klen ||
                strchr(v, '\n') || zr_lang_catalog_line(c, i) < 1)
                abort();
            if (i && strcmp(zr_lang_catalog_key(c, i - 1), k) >= 0)
                abort();
            if (zr_lang_catalog_get(c, k) != v)
                abort();
        }
        if (zr_lang_catalog_get(c, "no key has this: spaces") != NULL)
            abort();
    } else if (c || !strstr(err, "fuzz.txt")) {
        /* a refusal leaves nothing and names the file */
        abort();
    }
    zr_lang_catalog_free(c);
    free(text);
    return 0;
}
