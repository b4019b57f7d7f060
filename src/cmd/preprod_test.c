/* `zorgrelay preprod-test CONFIG [--report DIR]`: the guided test run of
 * DICTU's pre-production phase with the built-in test client (src/preprod/,
 * docs/preprod.md). Refused in production and without a `preprod_test`
 * section. */
#include "zr/cmd.h"

#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "zr/config.h"
#include "zr/lang.h"
#include "zr/log.h"
#include "zr/preprod.h"

/* The first of Chromium's usual names in PATH. */
static int find_chromium(char *out, size_t outlen)
{
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome", NULL};
    const char *env = getenv("PATH");
    char *paths = strdup(env ? env : "/usr/bin:/bin"), *save = NULL;
    int rc = -1;
    for (size_t i = 0; paths && names[i] && rc != 0; i++) {
        char *copy = strdup(paths);
        for (char *dir = copy ? strtok_r(copy, ":", &save) : NULL; dir && rc != 0; dir = strtok_r(NULL, ":", &save)) {
            snprintf(out, outlen, "%s/%s", dir, names[i]);
            if (access(out, X_OK) == 0)
                rc = 0;
        }
        free(copy);
    }
    free(paths);
    return rc;
}

int zr_cmd_preprod_test(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    char lang_err[1024];
    const char *path = NULL, *report_dir = NULL, *chromium = NULL;
    char found[1024] = "";
    struct stat st;
    int rc = 1;

    int usage = 0, pdf = 0;
    for (int i = 1; i < argc && !usage; i++) {
        if (strcmp(argv[i], "--report") == 0 && i + 1 < argc)
            report_dir = argv[++i];
        else if (strcmp(argv[i], "--pdf") == 0)
            pdf = 1;
        else if (strcmp(argv[i], "--chromium") == 0 && i + 1 < argc)
            chromium = argv[++i];
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            usage = 1;
    }
    if (!path || usage || ((pdf || chromium) && !report_dir)) {
        fprintf(stderr, "usage: zorgrelay preprod-test CONFIG [--report DIR]\n"
                        "       zorgrelay preprod-test CONFIG --report DIR --pdf [--chromium PATH]\n");
        return 2;
    }
    if (pdf && !chromium) {
        if (find_chromium(found, sizeof(found)) != 0) {
            fprintf(stderr, "zorgrelay: preprod-test --pdf: no chromium, chromium-browser or google-chrome in PATH; "
                            "name it with --chromium PATH\n");
            return 1;
        }
        chromium = found;
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
    /* The pages' words, once, before any thread. */
    if (zr_lang_load(NULL, lang_err, sizeof(lang_err)) != 0) {
        fprintf(stderr, "%s\nzorgrelay: preprod-test refusing to start: page texts (templates/lang) incomplete\n", lang_err);
        goto end;
    }
    zr_log_set_level((zr_log_level_t)cfg->log_level);
    zr_log_set_format((zr_log_format_t)cfg->log_format);
    /* A tool's own random pseudonym key, set before its threads start. */
    if (zr_log_pseudonym_key_random() != 0) {
        fprintf(stderr, "zorgrelay: preprod-test: cannot make a log pseudonym key\n");
        goto end;
    }
    /* --pdf: the report of the results so far, printed; no test client. */
    rc = pdf ? zr_preprod_report_only(cfg, report_dir, chromium) : zr_preprod_serve(cfg, report_dir);
end:
    zr_log_pseudonym_key_clear();
    if (cfg)
        zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
