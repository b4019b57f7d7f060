/* zr_json_parse_object and zr_json_jose_header: the one parser every
 * untrusted JSON text goes through (Dezi, the PDP, client assertions). What
 * it accepts must be an object within the depth limit, and serialise again. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/json.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = zr_fuzz_cstr(data, size), *dumped = NULL;
    zr_json_status_t st;
    json_t *v = zr_json_parse_object((const char *)data, size, 64 * 1024, &st), *h;
    if ((v != NULL) != (st == ZR_JSON_OK) || (v && !json_is_object(v)))
        abort();
    if (v && !(dumped = json_dumps(v, JSON_COMPACT)))
        abort();
    free(dumped);
    json_decref(v);
    /* the same bytes as a compact JOSE serialisation's header */
    h = text ? zr_json_jose_header(text) : NULL;
    if (h && (!json_is_object(h) || json_object_get(h, "crit")))
        abort();
    json_decref(h);
    free(text);
    return 0;
}
