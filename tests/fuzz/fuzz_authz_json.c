/* zr_oidc_authz_from_json: the pending authorization request read back from
 * the session store (second line of defence, as for the subject). */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/oidc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static int same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = zr_fuzz_cstr(data, size), *again = NULL;
    zr_oidc_authz_t a, back;
    memset(&back, 0, sizeof(back));
    if (zr_oidc_authz_from_json(json, &a) != 0) {
        /* A refused value leaves nothing behind to free or to trust. */
        if (a.client_id || a.redirect_uri || a.state || a.nonce || a.scope || a.code_challenge)
            abort();
        goto end;
    }
    if (!a.client_id || !a.redirect_uri || !a.scope || !a.code_challenge ||
        a.min_loa < ZR_LOA_NONE || a.min_loa > ZR_LOA_HIGH)
        abort();
    again = zr_oidc_authz_to_json(&a);
    if (!again || zr_oidc_authz_from_json(again, &back) != 0 || !same(a.client_id, back.client_id) ||
        !same(a.redirect_uri, back.redirect_uri) || !same(a.state, back.state) ||
        !same(a.nonce, back.nonce) || !same(a.scope, back.scope) ||
        !same(a.code_challenge, back.code_challenge) || a.min_loa != back.min_loa ||
        a.force_authn != back.force_authn)
        abort();
end:
    zr_oidc_authz_clear(&a);
    zr_oidc_authz_clear(&back);
    free(again);
    free(json);
    return 0;
}
