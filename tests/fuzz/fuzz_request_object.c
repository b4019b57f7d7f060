/* zr_oidc_request_object_params: a signed request object's claims (RFC
 * 9101), after the hardened JSON parser, turned into the request's
 * parameters (src/oidc/request_object.c). What comes out is client_id
 * first, exactly once and the caller's, never request or request_uri, and
 * only NUL-terminated strings; a refusal leaves nothing behind. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/json.h"
#include "zr/oidc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *claims = zr_json_parse_object((const char *)data, size, 0, NULL);
    zr_kvlist_t out;
    const char *why = NULL;

    if (!claims)
        return 0;
    if (zr_oidc_request_object_params(claims, "client", &out, &why) != 0) {
        if (out.count || out.items || !why)
            abort();
        goto end;
    }
    if (out.count == 0 || strcmp(out.items[0].name, "client_id") != 0 || strcmp(out.items[0].value, "client") != 0 ||
        zr_kv_count(&out, "client_id") != 1 || zr_kv_get(&out, "request") || zr_kv_get(&out, "request_uri") ||
        zr_kv_get(&out, "iss") || zr_kv_get(&out, "jti"))
        abort();
    for (size_t i = 0; i < out.count; i++)
        if (!out.items[i].name || !out.items[i].value)
            abort();
end:
    zr_kv_free(&out);
    json_decref(claims);
    return 0;
}
