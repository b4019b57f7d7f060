/* zr_kv_parse_form and zr_url_decode: every query string and form body. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/http.h"
#include "zr/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zr_kvlist_t l = {0};
    /* Exact-size buffer, not NUL-terminated, as libmicrohttpd hands a body over. */
    if (zr_kv_parse_form(&l, (const char *)data, size) == 0) {
        for (size_t i = 0; i < l.count; i++) {
            if (!l.items[i].name || !l.items[i].value)
                abort();
            /* Lookups the OAuth code does on every request. */
            (void)zr_kv_count(&l, l.items[i].name);
            (void)zr_kv_get(&l, l.items[i].name);
        }
    }
    zr_kv_free(&l);

    char *decoded = zr_url_decode((const char *)data, size);
    if (decoded) {
        /* Decoding never grows the input. */
        if (strlen(decoded) > size)
            abort();
        /* The encoder must give back something that decodes to the same. */
        char *again = zr_url_encode(decoded);
        char *back = again ? zr_url_decode(again, strlen(again)) : NULL;
        if (again && (!back || strcmp(back, decoded) != 0))
            abort();
        free(back);
        free(again);
    }
    free(decoded);
    return 0;
}
