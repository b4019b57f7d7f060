/* `zorgrelay serve CONFIG`: validate the configuration completely, then run. */
#include "zr/cmd.h"

#include <signal.h>
#include <stdio.h>

#include "zr/config.h"
#include "zr/log.h"
#include "zr/relay.h"

int zr_cmd_serve(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: zorgrelay serve CONFIG\n");
        return 2;
    }
    zr_log_set_component("relay");
    /* A peer that went away (browser, Redis, TVS) must give EPIPE on that
     * socket, never end the process. */
    signal(SIGPIPE, SIG_IGN);
    cfg = zr_config_load(argv[1], &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay: refusing to start: %zu configuration error%s\n", errs.count,
                errs.count == 1 ? "" : "s");
        zr_config_errors_free(&errs);
        return 1;
    }
    zr_config_errors_free(&errs);
    zr_log_set_level((zr_log_level_t)cfg->log_level);
    rc = zr_relay_serve(cfg);
    zr_config_free(cfg);
    return rc;
}
