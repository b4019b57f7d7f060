/* `zorgrelay selftest [--json] [--schemas DIR] [--warn-days N] [--peak-logins N] CONFIG`:
 * can this installation work? (issue 5 §2, docs/operations.md "Self-test").
 * Exit status: 0 nothing failed (warnings may be listed), 1 a check failed,
 * 2 usage. */
#include "zr/cmd.h"
#include "zr/log.h"
#include "zr/selftest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int zr_cmd_selftest(int argc, char **argv)
{
    static const char usage[] =
        "usage: zorgrelay selftest [--json] [--schemas DIR] [--warn-days N] [--peak-logins N] CONFIG\n"
        "  exit status 0: every check ok (warnings listed), 1: a check failed, 2: usage\n";
    zr_selftest_opts_t opts = {0};
    zr_selftest_report_t report = {0};
    const char *file = NULL;
    char *endp = NULL;
    int json = 0, rc;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--schemas") && i + 1 < argc)
            opts.schema_dir = argv[++i];
        else if (!strcmp(argv[i], "--warn-days") && i + 1 < argc) {
            long days = strtol(argv[++i], &endp, 10);
            if (!*argv[i] || *endp || days < 1 || days > 3650) {
                fputs(usage, stderr);
                return 2;
            }
            opts.warn_days = (int)days;
        } else if (!strcmp(argv[i], "--peak-logins") && i + 1 < argc) {
            /* Sustained logins per second, all relays on this Redis together. */
            long rate = strtol(argv[++i], &endp, 10);
            if (!*argv[i] || *endp || rate < 1 || rate > 100000) {
                fputs(usage, stderr);
                return 2;
            }
            opts.peak_logins_per_s = (int)rate;
        } else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (!file) {
        fputs(usage, stderr);
        return 2;
    }
    /* The report is the output; the modules' own log lines would only
     * repeat it (errors still come through). */
    zr_log_set_component("selftest");
    zr_log_set_level(ZR_LOG_ERROR);
    zr_selftest_run(file, &opts, &report);
    if (json)
        zr_selftest_print_json(&report, stdout);
    else
        zr_selftest_print_text(&report, stdout);
    rc = zr_selftest_exit_status(&report);
    zr_selftest_report_free(&report);
    return rc;
}
