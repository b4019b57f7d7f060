/* `zorgrelay serve CONFIG`: validate the configuration completely, then run. */
#include "zr/cmd.h"

#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zr/config.h"
#include "zr/lang.h"
#include "zr/log.h"
#include "zr/relay.h"

/* For `zorgrelay reload` and init systems: written whole (rename), so a
 * reader never sees half a number. */
static int write_pid_file(const char *path)
{
    char *tmp = NULL;
    FILE *f;
    int rc = -1;
    if (asprintf(&tmp, "%s.tmp", path) < 0) {
        tmp = NULL;
        goto end;
    }
    if (!(f = fopen(tmp, "w")))
        goto end;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) == 0 && rename(tmp, path) == 0)
        rc = 0;
end:
    if (rc != 0)
        zr_log_error("startup", "cannot write pid_file %s: %s", path, strerror(errno));
    free(tmp);
    return rc;
}

int zr_cmd_serve(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    char lang_err[1024];
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
    /* The pages' words, once, before any thread: a catalog that lacks a key
     * stops the start (the relay never serves half-translated pages). */
    if (zr_lang_load(NULL, lang_err, sizeof(lang_err)) != 0) {
        fprintf(stderr, "%s\nzorgrelay: refusing to start: page texts (templates/lang) incomplete\n", lang_err);
        zr_config_free(cfg);
        return 1;
    }
    zr_log_set_level((zr_log_level_t)cfg->log_level);
    zr_log_set_format((zr_log_format_t)cfg->log_format);
    /* Before any worker thread: the pseudonyms of this cluster's key. */
    if (zr_log_pseudonym_key_set(cfg->log_pseudonym_key, sizeof(cfg->log_pseudonym_key)) != 0) {
        fprintf(stderr, "zorgrelay: refusing to start: cannot set the log pseudonym key\n");
        zr_config_free(cfg);
        return 1;
    }
    if (cfg->pid_file && write_pid_file(cfg->pid_file) != 0) {
        zr_log_pseudonym_key_clear();
        zr_config_free(cfg);
        return 1;
    }
    rc = zr_relay_serve(cfg);
    if (cfg->pid_file)
        unlink(cfg->pid_file);
    zr_log_pseudonym_key_clear();
    zr_config_free(cfg);
    return rc;
}
