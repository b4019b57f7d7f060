/* zr_tenant_ledger_fold: the care providers' ledger, a file an operator can
 * edit and a crash can cut short. Whatever it holds, the fold must not
 * crash or leak, and its promise must hold: the current providers it folds
 * to, diffed against themselves, need no new line (the relay would append
 * nothing), and every line is either a record or skipped. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "zr/tenant_ledger.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static void ignore(void *ctx, const char *msg)
{
    (void)ctx;
    (void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zr_tenant_ledger_t l = {0};
    zr_tenant_ledger_counts_t n;
    json_t **current = NULL;
    char *lines = NULL;
    size_t count = 0, newlines = 0;
    if (zr_tenant_ledger_fold((const char *)data, size, "fuzz", &l, ignore, NULL) != 0)
        abort();
    for (size_t i = 0; i < size; i++)
        newlines += data[i] == '\n';
    if (l.lines + l.skipped > newlines + 1)
        abort();
    current = calloc(l.count ? l.count : 1, sizeof(*current));
    if (!current)
        abort();
    for (size_t i = 0; i < l.count; i++) {
        if (!l.entries[i].provider || strcmp(json_string_value(json_object_get(l.entries[i].provider, "id")),
                                             l.entries[i].id) != 0)
            abort();
        if (l.entries[i].current)
            current[count++] = l.entries[i].provider;
    }
    if (zr_tenant_ledger_diff(&l, current, count, "2026-01-01T00:00:00Z", NULL, &lines, &n) != 0 || lines)
        abort();
    free(current);
    zr_tenant_ledger_free(&l);
    return 0;
}
