/* `zorgrelay check-config FILE`: loads and validates a configuration the way
 * `serve` would (every key and certificate), and says what is wrong. */
#include "zr/cmd.h"
#include "zr/config.h"

#include <stdio.h>
#include <string.h>

int zr_cmd_check_config(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    const char *file = NULL;
    int rc = 1;

    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            file = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            file = NULL, i = argc; /* unknown option or a second file */
    }
    if (!file) {
        fprintf(stderr, "usage: zorgrelay check-config FILE\n");
        return 2;
    }
    cfg = zr_config_load(file, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        goto end;
    }
    printf("%s: OK (%zu care provider(s), %zu client(s), environment %s)\n", file, cfg->tenant_count,
           cfg->client_count, zr_environment_name(cfg->environment));
    rc = 0;
end:
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
