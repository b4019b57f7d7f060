/* `zorgrelay mock-tvs CONFIG`: the built-in stand-in for TVS (src/mock/),
 * for demos and end-to-end tests. Refused in production. */
#include "zr/cmd.h"

#include <stdio.h>

#include "zr/config.h"
#include "zr/lang.h"
#include "zr/log.h"
#include "zr/mock.h"
#include "zr/xml.h"

int zr_cmd_mock_tvs(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    char lang_err[1024];
    int rc = 1;

    if (argc != 2) {
        fprintf(stderr, "usage: zorgrelay mock-tvs CONFIG\n");
        return 2;
    }
    zr_log_set_component("mock-tvs");
    cfg = zr_config_load(argv[1], &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay: mock-tvs refusing to start: %zu configuration error%s\n", errs.count,
                errs.count == 1 ? "" : "s");
        goto end;
    }
    /* The pages' words, once, before any thread. */
    if (zr_lang_load(NULL, lang_err, sizeof(lang_err)) != 0) {
        fprintf(stderr, "%s\nzorgrelay: mock-tvs refusing to start: page texts (templates/lang) incomplete\n", lang_err);
        goto end;
    }
    zr_log_set_level((zr_log_level_t)cfg->log_level);
    zr_log_set_format((zr_log_format_t)cfg->log_format);
    /* A tool's own random pseudonym key, set before its threads start. */
    if (zr_log_pseudonym_key_random() != 0) {
        fprintf(stderr, "zorgrelay: mock-tvs: cannot make a log pseudonym key\n");
        goto end;
    }
    if (zr_xml_init() != 0) {
        fprintf(stderr, "zorgrelay: XML security library failed to initialise\n");
        goto end;
    }
    rc = zr_mock_tvs_serve(cfg);
    zr_xml_shutdown();
end:
    zr_log_pseudonym_key_clear();
    if (cfg)
        zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
