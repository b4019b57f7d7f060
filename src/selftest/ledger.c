/* care-providers-ledger: can the relay keep the aansluitbestand's history
 * (zr/tenant_ledger.h)? A relay that cannot write it still logs everyone
 * in, so the worst finding is a warning; it is read only, never written. */
#include "zr/selftest.h"

#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zr/tenant_ledger.h"

#define CHECK "care-providers-ledger"
#define RUN_AS "run selftest as the relay's user: it judges that user's rights"

void zr_selftest_ledger(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    const char *path = cfg->care_providers_ledger;
    zr_tenant_ledger_t l = {0};
    char err[512], *copy = NULL;
    size_t recorded = 0, former = 0, pending = 0;
    int missing = 0;
    (void)opts;
    if (!path)
        return; /* inline care providers only: nothing keeps a history */
    if (zr_tenant_ledger_read(path, &l, &missing, NULL, NULL, err, sizeof(err)) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK, "make it readable (and appendable) by the relay's user; "
                        "tenants export refuses to run without it", "%s", err);
        goto end;
    }
    if (missing) {
        if (!(copy = strdup(path)) || access(dirname(copy), W_OK | X_OK) != 0)
            zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK,
                            "create it once for the relay's user (install -m 0644 -o USER /dev/null FILE) or set "
                            "care_providers_ledger to a writable place; " RUN_AS,
                            "%s does not exist and its directory is not writable: the relay cannot start the "
                            "care providers' history", path);
        else
            zr_selftest_add(r, ZR_SELFTEST_OK, CHECK, NULL, "%s not written yet; the relay creates it at its start",
                            path);
        goto end;
    }
    if (access(path, W_OK) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK, "give the relay's user write access to it; " RUN_AS,
                        "%s is not writable (%s): starts and reloads cannot record who joined or left", path,
                        strerror(errno));
        goto end;
    }
    for (size_t i = 0; i < l.count; i++) {
        recorded++;
        former += !l.entries[i].current;
    }
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_ledger_entry_t *e = zr_tenant_ledger_find(&l, cfg->tenants[i].id);
        pending += !e || !e->current;
    }
    if (l.skipped)
        zr_selftest_add(r, ZR_SELFTEST_WARN, CHECK,
                        "a line cut short by a crash can be deleted by hand; tenants export names each",
                        "%s: %zu line(s) that are not records are skipped (%zu care provider(s) recorded)", path,
                        l.skipped, recorded);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, CHECK, NULL,
                        "%s: %zu care provider(s) recorded, %zu of them former; %zu current one(s) to be recorded "
                        "at the next start or reload", path, recorded, former, pending);
end:
    free(copy);
    zr_tenant_ledger_free(&l);
}
