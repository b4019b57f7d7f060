/* zr_oidc_claims_request_parse: the `claims` authorization parameter (OIDC
 * Core §5.5), straight from the portal. What it accepts is normalised; the
 * normalised form parses to itself, and the filter built on it never drops
 * sub or sub_id_type nor adds a claim. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../../src/oidc/oidc_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = zr_fuzz_cstr(data, size);
    zr_oidc_claims_request_t r, again;
    const char *why = NULL;
    json_t *claims = NULL;

    memset(&again, 0, sizeof(again));
    if (zr_oidc_claims_request_parse(text, &r, &why) != 0) {
        if (!why || r.json || r.acr_values || r.sub)
            abort(); /* a refusal says why and leaves nothing behind */
        goto end;
    }
    if (!r.json || why || zr_oidc_claims_request_parse(r.json, &again, &why) != 0 ||
        strcmp(again.json, r.json) != 0)
        abort();
    claims = json_pack("{s:s, s:s, s:s}", "sub", "s", "sub_id_type", "t", "bsn", "b");
    if (!claims)
        abort();
    for (int t = 0; t < 2; t++) {
        if (zr_oidc_claims_request_filter(r.json, t ? "userinfo" : "id_token", claims) != 0 ||
            !json_object_get(claims, "sub") || !json_object_get(claims, "sub_id_type") || json_object_size(claims) > 3)
            abort();
    }
    json_decref(claims);
    zr_oidc_claims_request_clear(&again);
    zr_oidc_claims_request_clear(&r);
end:
    free(text);
    return 0;
}
