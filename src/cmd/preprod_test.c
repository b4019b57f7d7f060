/* `zorgrelay preprod-test CONFIG [--report DIR]`: the guided test run of
 * DICTU's pre-production phase with the built-in test client (src/preprod/,
 * docs/preprod.md). Refused in production and without a `preprod_test`
 * section. */
#include "zr/cmd.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "zr/config.h"
#include "zr/log.h"
#include "zr/preprod.h"

int zr_cmd_preprod_test(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    const char *path = NULL, *report_dir = NULL;
    struct stat st;
    int rc = 1;

    int usage = 0;
    for (int i = 1; i < argc && !usage; i++) {
        if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            report_dir = argv[++i];
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            usage = 1;
    }
    if (!path || usage) {
        fprintf(stderr, "usage: zorgrelay preprod-test CONFIG [--report DIR]\n");
        return 2;
    }
    zr_log_set_component("preprod-test");
    cfg = zr_config_load(path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay: preprod-test refusing to start: %zu configuration error%s\n", errs.count,
                errs.count == 1 ? "" : "s");
        goto end;
    }
    if (cfg->environment == ZR_ENV_PRODUCTION) {
        fprintf(stderr, "zorgrelay: preprod-test refusing to start: environment is production\n");
        goto end;
    }
    if (!cfg->preprod_test.enabled) {
        fprintf(stderr, "zorgrelay: preprod-test refusing to start: the configuration has no `preprod_test` section "
                        "(docs/preprod.md)\n");
        goto end;
    }
    if (report_dir && (stat(report_dir, &st) != 0 || !S_ISDIR(st.st_mode))) {
        fprintf(stderr, "zorgrelay: preprod-test: --report %s is not a directory\n", report_dir);
        goto end;
    }
    zr_log_set_level((zr_log_level_t)cfg->log_level);
    zr_log_set_format((zr_log_format_t)cfg->log_format);
    /* A tool's own random pseudonym key, set before its threads start. */
    if (zr_log_pseudonym_key_random() != 0) {
        fprintf(stderr, "zorgrelay: preprod-test: cannot make a log pseudonym key\n");
        goto end;
    }
    rc = zr_preprod_serve(cfg, report_dir);
end:
    zr_log_pseudonym_key_clear();
    if (cfg)
        zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
