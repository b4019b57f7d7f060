/* `zorgrelay tenants validate|export`: a batch of care providers checked
 * before it goes to DICTU, and the CSV for DICTU's aansluitbestand (issue 3). */
#include "zr/cmd.h"
#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/tenant_check.h"

#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int parse_environment(const char *s, zr_environment_t *env)
{
    for (int e = ZR_ENV_DEVELOPMENT; e <= ZR_ENV_PRODUCTION; e++)
        if (!strcmp(s, zr_environment_name((zr_environment_t)e))) {
            *env = (zr_environment_t)e;
            return 0;
        }
    return -1;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_errors(FILE *out, const zr_config_errors_t *errs)
{
    for (size_t i = 0; i < errs->count; i++)
        fprintf(out, "%s\n", errs->lines[i]);
}

/* The care providers of the configuration's care_providers_dir, for
 * comparing a batch with, unless that directory is the batch itself.
 * Problems reading it are one warning: check-config reports them. */
static void configured_dir(const zr_config_t *cfg, const char *dir, zr_tenant_set_t *dir_set,
                           zr_tenant_report_t *report)
{
    zr_config_errors_t dir_errs = {0};
    char *real_dir = NULL, *real_cfg_dir = NULL;

    if (!cfg->care_providers_dir)
        return;
    real_dir = realpath(dir, NULL);
    real_cfg_dir = realpath(cfg->care_providers_dir, NULL);
    if (!real_dir || !real_cfg_dir || strcmp(real_dir, real_cfg_dir) != 0) {
        zr_config_load_tenant_dir(cfg->care_providers_dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_LENIENT, dir_set,
                                  &dir_errs);
        if (dir_errs.count)
            zr_tenant_report_add(report, ZR_TENANT_WARNING, cfg->care_providers_dir, 0, NULL,
                                 "the configured care_providers_dir has %zu error(s) (zorgrelay check-config "
                                 "lists them); compared with the %zu care provider(s) that loaded",
                                 dir_errs.count, dir_set->count);
    }
    free(real_dir);
    free(real_cfg_dir);
    zr_config_errors_free(&dir_errs);
}

/* The names lines can belong to: the files loaded and the files the scan
 * noted, one sorted list. */
static char **report_files(const zr_tenant_dir_scan_t *scan, size_t *count)
{
    char **files = calloc(scan->count + scan->note_count + 1, sizeof(*files));
    size_t n = 0;
    if (!files)
        return NULL;
    for (size_t i = 0; i < scan->count; i++)
        files[n++] = scan->files[i];
    for (size_t i = 0; i < scan->note_count; i++)
        files[n++] = scan->notes[i].file;
    qsort(files, n, sizeof(*files), name_cmp);
    *count = n;
    return files;
}

/* The problem lines on stdout, a file's lines together; on stderr one line
 * per file with problems, then the total (always, so that a clean batch
 * says so). */
static void print_report(const char *dir, zr_tenant_report_t *report, const zr_tenant_dir_scan_t *scan,
                         size_t providers, zr_environment_t env)
{
    size_t nfiles = 0;
    char **files = report_files(scan, &nfiles);
    /* Out of memory: the lines ungrouped, still every one of them. */
    int grouped = files && zr_tenant_report_group(report, files, nfiles) == 0;
    for (size_t i = 0; i < report->count; i++)
        printf("%s\n", report->lines[i]);
    fflush(stdout);
    for (size_t i = 0; grouped && i < report->count;) {
        size_t f = report->file_index[i], errors = 0, warnings = 0;
        for (; i < report->count && report->file_index[i] == f; i++) {
            if (report->severity[i] == ZR_TENANT_WARNING)
                warnings++;
            else
                errors++;
        }
        if (f != SIZE_MAX)
            fprintf(stderr, "%s: %zu error(s), %zu warning(s)\n", files[f], errors, warnings);
    }
    fprintf(stderr, "%s: %zu care provider(s), %zu error(s), %zu warning(s) (environment %s)\n", dir, providers,
            report->errors, report->warnings, zr_environment_name(env));
    free(files);
}

static int tenants_validate(int argc, char **argv)
{
    static const char usage[] = "usage: zorgrelay tenants validate DIR [--config CONFIG] [--ca CA.pem] "
                                "[--warn-days 60] [--environment development|preprod|production]\n";
    const char *dir = NULL, *config_path = NULL, *ca_path = NULL, *env_name = NULL;
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_tenant_set_t set = {0}, dir_set = {0}, configured[2];
    zr_tenant_report_t report = {0};
    zr_tenant_dir_scan_t scan = {0};
    zr_tenant_check_opts_t opts = {.environment = ZR_ENV_DEVELOPMENT, .warn_days = ZR_TENANT_WARN_DAYS_DEFAULT};
    STACK_OF(X509) *ca = NULL;
    char err[512], *endp = NULL;
    size_t load_errors;
    int rc = 2;

    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--ca") && i + 1 < argc)
            ca_path = argv[++i];
        else if (!strcmp(argv[i], "--environment") && i + 1 < argc)
            env_name = argv[++i];
        else if (!strcmp(argv[i], "--warn-days") && i + 1 < argc) {
            long days = strtol(argv[++i], &endp, 10);
            if (!*argv[i] || *endp || days < 0 || days > 3650) {
                fprintf(stderr, "--warn-days: a number of days from 0 to 3650\n");
                goto end;
            }
            opts.warn_days = (int)days;
        } else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fputs(usage, stderr);
            goto end;
        }
    }
    if (!dir) {
        fputs(usage, stderr);
        goto end;
    }
    /* The configuration gives the environment, the CA and the care
     * providers the batch is compared with; its care_providers_dir is not
     * loaded with it (it may be the batch being judged: configured_dir). */
    if (config_path) {
        if (!(cfg = zr_config_load_flags(config_path, ZR_CONFIG_LOAD_SKIP_TENANT_DIR, &errs))) {
            print_errors(stderr, &errs);
            goto end;
        }
        opts.environment = cfg->environment;
        opts.ca = cfg->tvs.trust_anchors;
    }
    if (env_name && parse_environment(env_name, &opts.environment) != 0) {
        fprintf(stderr, "--environment: development, preprod or production\n");
        goto end;
    }
    if (ca_path) {
        if (!(ca = zr_crypto_load_certificates(ca_path, err, sizeof(err)))) {
            fprintf(stderr, "%s: %s\n", ca_path, err);
            goto end;
        }
        opts.ca = ca;
    }
    if (!opts.ca)
        fprintf(stderr, "%s: note: no CA given (--ca or --config); certificate chains are not checked\n", dir);

    /* Lenient: the checks below judge every key and report all problems. The
     * loader's environment stays development: check_entity judges it. */
    load_errors = zr_config_load_tenant_dir(dir, ZR_ENV_DEVELOPMENT, ZR_TENANT_LOAD_LENIENT, &set, &errs);
    for (size_t i = 0; i < errs.count; i++)
        zr_tenant_report_add(&report, ZR_TENANT_ERROR, NULL, -1, NULL, "%s", errs.lines[i]);
    /* The loader reported the files it refused; the files it passed over
     * are warnings here (the relay logs them). */
    if (zr_config_tenant_dir_scan(dir, &scan) == 0)
        for (size_t i = 0; i < scan.note_count; i++)
            if (!scan.notes[i].refused)
                zr_tenant_report_add(&report, ZR_TENANT_WARNING, scan.notes[i].file, 0, NULL, "%s",
                                     scan.notes[i].message);
    if (!load_errors && set.count == 0)
        zr_tenant_report_add(&report, ZR_TENANT_ERROR, dir, 0, NULL, "no care provider files (*.yaml, *.yml)");
    if (cfg) {
        /* Views, not copies: the tenants stay cfg's and dir_set's. */
        configured_dir(cfg, dir, &dir_set, &report);
        configured[0] = (zr_tenant_set_t){cfg->tenants, cfg->tenant_origins, cfg->tenant_count};
        configured[1] = dir_set;
        opts.configured = configured;
        opts.configured_count = 2;
    }
    zr_tenant_check_batch(&set, dir, &opts, &report);

    print_report(dir, &report, &scan, set.count, opts.environment);
    rc = report.errors ? 1 : 0;
end:
    zr_tenant_report_free(&report);
    zr_config_tenant_dir_scan_free(&scan);
    zr_config_tenant_set_free(&set);
    zr_config_tenant_set_free(&dir_set);
    sk_X509_pop_free(ca, X509_free);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}

/* RFC 4180 §2: fields with a comma, quote or line break are quoted, quotes
 * doubled; records end in CRLF. The file is opened in spreadsheets, so a
 * field that would start a formula (= + - @ tab CR) gets a leading
 * apostrophe (OWASP "CSV injection"). */
static void csv_field(FILE *out, const char *s, int last)
{
    int formula;
    if (!s)
        s = "";
    formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    if (formula || strpbrk(s, ",\"\r\n")) {
        fputc('"', out);
        if (formula)
            fputc('\'', out);
        for (const char *p = s; *p; p++) {
            if (*p == '"')
                fputc('"', out);
            fputc(*p, out);
        }
        fputc('"', out);
    } else {
        fputs(s, out);
    }
    fputs(last ? "\r\n" : ",", out);
}

static void asn1_iso(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
    else
        snprintf(out, 32, "?");
}

/* Appends `add` to a ';'-separated list. */
static int list_add(char **list, const char *add)
{
    char *grown = NULL;
    if (asprintf(&grown, "%s%s%s", *list ? *list : "", *list ? ";" : "", add) < 0)
        return -1;
    free(*list);
    *list = grown;
    return 0;
}

static int export_row(FILE *out, const zr_tenant_t *t, const char *status, const char *environment)
{
    char *services = NULL, *fingerprints = NULL, *not_before = NULL, *not_after = NULL, *item = NULL;
    char date[32];
    int rc = -1;
    for (size_t i = 0; i < t->service_count; i++) {
        if (asprintf(&item, "%s=%s", zr_loa_name(t->services[i].min_loa),
                     t->services[i].service_uuid ? t->services[i].service_uuid : "") < 0) {
            item = NULL;
            goto end;
        }
        if (list_add(&services, item) != 0)
            goto end;
        free(item);
        item = NULL;
    }
    for (size_t k = 0; k < t->bsn_key_count && k < 2; k++) {
        const zr_tenant_key_t *key = &t->bsn_keys[k];
        if (!key->cert)
            continue;
        if (list_add(&fingerprints, key->key_name_sha256 ? key->key_name_sha256 : "?") != 0)
            goto end;
        asn1_iso(X509_get0_notBefore(key->cert), date);
        if (list_add(&not_before, date) != 0)
            goto end;
        asn1_iso(X509_get0_notAfter(key->cert), date);
        if (list_add(&not_after, date) != 0)
            goto end;
    }
    csv_field(out, status, 0);
    csv_field(out, t->id, 0);
    csv_field(out, t->name, 0);
    csv_field(out, t->oin, 0);
    csv_field(out, t->entity_id, 0);
    csv_field(out, t->ura, 0);
    csv_field(out, services, 0);
    csv_field(out, fingerprints, 0);
    csv_field(out, not_before, 0);
    csv_field(out, not_after, 0);
    csv_field(out, environment, 1);
    rc = 0;
end:
    free(item);
    free(services);
    free(fingerprints);
    free(not_before);
    free(not_after);
    return rc;
}

static int tenants_export(int argc, char **argv)
{
    static const char usage[] = "usage: zorgrelay tenants export --config CONFIG [--environment preprod|production] "
                                "[-o FILE]\n";
    const char *config_path = NULL, *env_name = NULL, *out_path = NULL;
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_environment_t env;
    FILE *out = stdout;
    int rc = 2;

    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--environment") && i + 1 < argc)
            env_name = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out_path = argv[++i];
        else {
            fputs(usage, stderr);
            goto end;
        }
    }
    if (!config_path) {
        fputs(usage, stderr);
        goto end;
    }
    if (!(cfg = zr_config_load(config_path, &errs))) {
        print_errors(stderr, &errs);
        rc = 1;
        goto end;
    }
    env = cfg->environment;
    if (env_name && parse_environment(env_name, &env) != 0) {
        fprintf(stderr, "--environment: development, preprod or production\n");
        goto end;
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        perror(out_path);
        rc = 1;
        goto end;
    }
    fputs("status,id,name,oin,entity_id,ura,services,certificate_sha256,not_before,not_after,environment\r\n", out);
    rc = 0;
    for (size_t i = 0; i < cfg->tenant_count && !rc; i++) {
        /* A quarantined provider is still current (registered at TVS); the
         * status says it is out of service and why, without paths. */
        char status[192], summary[128];
        if (cfg->tenants[i].quarantined)
            snprintf(status, sizeof(status), "current (quarantined: %s)",
                     zr_tenant_quarantine_summary(&cfg->tenants[i], summary, sizeof(summary)));
        else
            snprintf(status, sizeof(status), "current");
        rc = export_row(out, &cfg->tenants[i], status, zr_environment_name(env)) ? 1 : 0;
    }
    for (size_t i = 0; i < cfg->former_tenant_count && !rc; i++)
        rc = export_row(out, &cfg->former_tenants[i], "former", zr_environment_name(env)) ? 1 : 0;
    if (fflush(out) != 0 || ferror(out)) {
        perror(out_path ? out_path : "stdout");
        rc = 1;
    }
end:
    if (out && out != stdout && fclose(out) != 0 && !rc) {
        perror(out_path);
        rc = 1;
    }
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}

int zr_cmd_tenants(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "validate"))
        return tenants_validate(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "export"))
        return tenants_export(argc, argv);
    fprintf(stderr, "usage: zorgrelay tenants validate DIR [options] | tenants export --config CONFIG [options]\n");
    return 2;
}
