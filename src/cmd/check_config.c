/* `zorgrelay check-config [--stats] FILE`: loads and validates a
 * configuration the way `serve` would (every key and certificate), and says
 * what is wrong. Exit 0 fine, 1 refused, 2 usage, 3 loads but with
 * quarantined care providers (docs/operations.md, "Quarantine"). --stats adds what the load cost (bench/tenants reads it). */
#include "zr/cmd.h"
#include "zr/config.h"
#include "zr/lang.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Resident set size now, in KiB (/proc/self/statm); -1 when unknown. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long pages = -1, resident = -1;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double seconds_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int zr_cmd_check_config(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    char lang_err[1024];
    const char *file = NULL;
    struct rusage ru;
    double started, took;
    long rss_before, rss_after;
    int rc = 1, stats = 0, bad = 0;

    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            file = argv[++i];
        else if (!strcmp(argv[i], "--stats"))
            stats = 1;
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else
            bad = 1; /* unknown option or a second file */
    }
    if (!file || bad) {
        fprintf(stderr, "usage: zorgrelay check-config [--stats] FILE\n");
        return 2;
    }
    rss_before = rss_kib();
    started = seconds_now();
    cfg = zr_config_load(file, &errs);
    took = seconds_now() - started;
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        goto end;
    }
    /* The page texts the relay would load at start (templates/lang). */
    if (zr_lang_load(NULL, lang_err, sizeof(lang_err)) != 0) {
        fprintf(stderr, "%s\n", lang_err);
        goto end;
    }
    /* Quarantine (issue 14 §1): the relay would start and serve the others,
     * but a CI run must not pass: exit 3, every reason on stderr. */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        char summary[128];
        if (!t->quarantined)
            continue;
        fprintf(stderr, "%s: care provider %s would be quarantined (%s):\n", file, t->id ? t->id : "?",
                zr_tenant_quarantine_summary(t, summary, sizeof(summary)));
        for (size_t k = 0; k < t->quarantine_reason_count; k++)
            fprintf(stderr, "  %s\n", t->quarantine_reasons[k]);
    }
    if (cfg->quarantined_count)
        printf("%s: OK with %zu of %zu care provider(s) quarantined (%zu client(s), environment %s)\n", file,
               cfg->quarantined_count, cfg->tenant_count, cfg->client_count, zr_environment_name(cfg->environment));
    else
        printf("%s: OK (%zu care provider(s), %zu client(s), environment %s)\n", file, cfg->tenant_count,
               cfg->client_count, zr_environment_name(cfg->environment));
    if (stats) {
        /* One line of key=value pairs, for people and for scripts. */
        rss_after = rss_kib();
        if (getrusage(RUSAGE_SELF, &ru) != 0)
            ru.ru_maxrss = -1;
        printf("stats: load_seconds=%.3f care_providers=%zu clients=%zu peak_rss_kib=%ld rss_growth_kib=%ld\n", took,
               cfg->tenant_count, cfg->client_count, ru.ru_maxrss,
               rss_before >= 0 && rss_after >= 0 ? rss_after - rss_before : -1);
    }
    rc = cfg->quarantined_count ? 3 : 0;
end:
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
