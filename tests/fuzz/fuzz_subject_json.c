/* zr_subject_from_json: the subject read back from the session store. The
 * store authenticates what it returns, so this is a second line of defence
 * (a bug elsewhere, or a store key leaked); it must still never crash. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/subject.h"

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
    zr_subject_t s, back;
    memset(&back, 0, sizeof(back));
    if (zr_subject_from_json(json, &s) != 0)
        goto end;
    if (!s.acting.value)
        abort(); /* success promises an acting subject */
    /* What the relay writes back must read back the same. */
    again = zr_subject_to_json(&s);
    if (!again || zr_subject_from_json(again, &back) != 0 ||
        !same(s.acting.value, back.acting.value) || !same(s.acting.id_type, back.acting.id_type) ||
        s.has_legal != back.has_legal || !same(s.legal.value, back.legal.value) ||
        !same(s.tenant_id, back.tenant_id) || !same(s.session_index, back.session_index) ||
        s.loa != back.loa || s.auth_time != back.auth_time)
        abort();
end:
    zr_subject_clear(&s);
    zr_subject_clear(&back);
    free(again);
    free(json);
    return 0;
}
