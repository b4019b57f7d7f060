/* `zorgrelay tenants validate|export`: a batch of care providers checked
 * before it goes to DICTU, and the CSV for DICTU's aansluitbestand (issue 3):
 * the current providers and, from former/ and the ledger, every former one
 * (issue 14 §3). */
#include "zr/authz.h"
#include "zr/cmd.h"
#include "zr/config.h"
#include "zr/crypto.h"
#include "zr/tenant_check.h"
#include "zr/tenant_ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zr/util.h"

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

/* The ';'-list of one field of every object in a record's array. */
static int list_of(json_t *rec, const char *array, const char *field, const char *prefix_field, char **out)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(rec, array), i, item) {
        const char *v = json_string_value(json_object_get(item, field));
        char *pair = NULL;
        int rc;
        if (prefix_field) {
            if (asprintf(&pair, "%s=%s", json_string_value(json_object_get(item, prefix_field)) ?: "", v ?: "") < 0)
                return -1;
            rc = list_add(out, pair);
            free(pair);
        } else {
            rc = list_add(out, v ? v : "?");
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

static const char *field(json_t *rec, const char *key)
{
    return json_string_value(json_object_get(rec, key));
}

/* "2026-12-06T12:00:00Z" -> "2026-12-06"; "" when unknown. */
static void day_of(const char *iso, char out[11])
{
    snprintf(out, 11, "%s", iso && strlen(iso) >= 10 ? iso : "");
}

/* One row from a ledger record (zr_tenant_ledger_record): the current
 * providers, the former ones in former/ and those only the ledger knows are
 * printed alike. */
static int export_row(FILE *out, json_t *rec, const char *status, const char *environment, const char *added_at,
                      const char *left_at)
{
    char *services = NULL, *fingerprints = NULL, *not_before = NULL, *not_after = NULL, added[11], left[11];
    int rc = -1;
    if (list_of(rec, "services", "service_uuid", "loa", &services) != 0 ||
        list_of(rec, "certificates", "sha256", NULL, &fingerprints) != 0 ||
        list_of(rec, "certificates", "not_before", NULL, &not_before) != 0 ||
        list_of(rec, "certificates", "not_after", NULL, &not_after) != 0)
        goto end;
    day_of(added_at, added);
    day_of(left_at, left);
    csv_field(out, status, 0);
    csv_field(out, field(rec, "id"), 0);
    csv_field(out, field(rec, "name"), 0);
    csv_field(out, field(rec, "oin"), 0);
    csv_field(out, field(rec, "entity_id"), 0);
    csv_field(out, field(rec, "ura"), 0);
    csv_field(out, services, 0);
    csv_field(out, fingerprints, 0);
    csv_field(out, not_before, 0);
    csv_field(out, not_after, 0);
    csv_field(out, environment, 0);
    csv_field(out, added, 0);
    csv_field(out, left, 0);
    csv_field(out, field(rec, "kvk"), 0);
    csv_field(out, field(rec, "contact"), 0);
    csv_field(out, field(rec, "akkoordverklaring"), 1);
    rc = 0;
end:
    free(services);
    free(fingerprints);
    free(not_before);
    free(not_after);
    return rc;
}

static void export_warn(void *ctx, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "warning: %s\n", msg);
}

/* A former provider from former/ whose certificate cannot be read (moved,
 * deleted with its key): the ledger's last record of it stands in. */
static void former_certificates(json_t *rec, const zr_tenant_t *t, const zr_tenant_origin_t *o,
                                const zr_tenant_ledger_entry_t *e)
{
    json_t *recorded = e ? json_object_get(e->provider, "certificates") : NULL;
    for (size_t k = 0; k < t->bsn_key_count && k < 2; k++) {
        if (t->bsn_keys[k].cert || !t->bsn_keys[k].cert_file)
            continue;
        if (json_array_size(recorded)) {
            json_object_set(rec, "certificates", recorded);
            fprintf(stderr, "%s: note: cannot read the certificate %s; the certificate columns are the ledger's "
                    "(recorded %s)\n", o && o->file ? o->file : t->id, t->bsn_keys[k].cert_file,
                    e->changed_at[0] ? e->changed_at : e->added_at);
        } else {
            fprintf(stderr, "%s: warning: cannot read the certificate %s and the ledger has no record of it; the "
                    "certificate columns stay empty\n", o && o->file ? o->file : t->id, t->bsn_keys[k].cert_file);
        }
        return;
    }
}

/* Every row: current providers (configuration order), former ones in
 * former/ (name order), then those only the ledger remembers (order of
 * first appearance). An id is listed once. */
static int export_rows(FILE *out, const zr_config_t *cfg, const zr_tenant_ledger_t *ledger, const char *env)
{
    json_t *listed = json_object(), *rec = NULL;
    const zr_tenant_ledger_entry_t *e;
    size_t unrecorded = 0;
    zr_buf_t ids;
    int rc = -1;
    zr_buf_init(&ids);
    if (!listed)
        goto end;
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        char status[192], summary[128];
        e = zr_tenant_ledger_find(ledger, t->id);
        /* A quarantined provider is still current (connected at TVS); the
         * status says it is out of service and why, without paths, and its
         * columns are the ledger's last good record when there is one. */
        if (t->quarantined)
            snprintf(status, sizeof(status), "current (quarantined: %s)",
                     zr_tenant_quarantine_summary(t, summary, sizeof(summary)));
        else
            snprintf(status, sizeof(status), "current");
        if (t->quarantined && e && e->provider)
            rec = json_incref(e->provider);
        else
            rec = zr_tenant_ledger_record(t);
        if (!rec || export_row(out, rec, status, env, e && e->current ? e->added_at : "", "") != 0)
            goto end;
        /* One line for all: a new ledger would otherwise name 10,000. */
        if (cfg->care_providers_ledger && (!e || !e->current) && unrecorded++ < 5)
            zr_buf_printf(&ids, "%s%s", unrecorded > 1 ? ", " : "", cfg->tenants[i].id);
        json_object_set_new(listed, cfg->tenants[i].id, json_true());
        json_decref(rec);
        rec = NULL;
    }
    if (unrecorded)
        fprintf(stderr, "note: %zu current care provider(s) not in the ledger as current yet (%s%s): the relay "
                "records them at its next start or reload; their date_added stays empty\n", unrecorded, ids.data,
                unrecorded > 5 ? ", ..." : "");
    for (size_t i = 0; i < cfg->former_tenant_count; i++) {
        const zr_tenant_t *t = &cfg->former_tenants[i];
        const zr_tenant_origin_t *o = cfg->former_tenant_origins ? &cfg->former_tenant_origins[i] : NULL;
        if (!t->id || json_object_get(listed, t->id))
            continue; /* current again: listed as such */
        e = zr_tenant_ledger_find(ledger, t->id);
        if (!(rec = zr_tenant_ledger_record(t)))
            goto end;
        former_certificates(rec, t, o, e);
        if (e && e->current)
            fprintf(stderr, "%s: note: still current in the ledger (the relay records the date it left at its "
                    "next reload); date_left stays empty\n", t->id);
        if (export_row(out, rec, "former", env, e ? e->added_at : "", e && !e->current ? e->left_at : "") != 0)
            goto end;
        json_object_set_new(listed, t->id, json_true());
        json_decref(rec);
        rec = NULL;
    }
    for (size_t i = 0; i < ledger->count; i++) {
        e = &ledger->entries[i];
        if (json_object_get(listed, e->id))
            continue;
        if (e->current)
            fprintf(stderr, "%s: note: no longer configured but still current in the ledger (the relay records "
                    "the date it left at its next reload); date_left stays empty\n", e->id);
        if (export_row(out, e->provider, "former", env, e->added_at, e->current ? "" : e->left_at) != 0)
            goto end;
    }
    rc = 0;
end:
    zr_buf_free(&ids);
    json_decref(rec);
    json_decref(listed);
    return rc;
}

/* DICTU connects no care provider in production without its signed
 * akkoordverklaring (factsheet, step 11): name the ones without a date. */
static void warn_akkoordverklaring(const zr_config_t *cfg)
{
    zr_buf_t ids;
    size_t missing = 0;
    zr_buf_init(&ids);
    for (size_t i = 0; i < cfg->tenant_count; i++)
        if (!cfg->tenants[i].akkoordverklaring && missing++ < 5)
            zr_buf_printf(&ids, "%s%s", missing > 1 ? ", " : "", cfg->tenants[i].id);
    if (missing)
        fprintf(stderr, "warning: %zu current care provider(s) without an akkoordverklaring date (%s%s): DICTU "
                "connects none in production without the signed statement\n", missing, ids.data,
                missing > 5 ? ", ..." : "");
    zr_buf_free(&ids);
}

static int tenants_export(int argc, char **argv)
{
    static const char usage[] = "usage: zorgrelay tenants export --config CONFIG [--environment preprod|production] "
                                "[-o FILE]\n";
    const char *config_path = NULL, *env_name = NULL, *out_path = NULL;
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_tenant_ledger_t ledger = {0};
    zr_environment_t env;
    FILE *out = stdout;
    char err[512];
    int rc = 2, missing = 0;

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
    /* Read only: the ledger records what the relay served, so an export of
     * a configuration not yet reloaded does not write history. Unreadable
     * is an error: the list would silently lose former providers. */
    if (cfg->care_providers_ledger) {
        if (zr_tenant_ledger_read(cfg->care_providers_ledger, &ledger, &missing, export_warn, NULL, err,
                                  sizeof(err)) != 0) {
            fprintf(stderr, "%s; refusing to export a list without the former care providers\n", err);
            rc = 1;
            goto end;
        }
        if (missing)
            fprintf(stderr, "%s: note: no ledger yet (the relay writes it at its start and every reload); former "
                    "care providers only from former/\n", cfg->care_providers_ledger);
    }
    if (out_path && !(out = fopen(out_path, "w"))) {
        perror(out_path);
        rc = 1;
        goto end;
    }
    fputs("status,id,name,oin,entity_id,ura,services,certificate_sha256,not_before,not_after,environment,"
          "date_added,date_left,kvk,contact,akkoordverklaring\r\n", out);
    rc = export_rows(out, cfg, &ledger, zr_environment_name(env)) ? 1 : 0;
    if (env == ZR_ENV_PRODUCTION)
        warn_akkoordverklaring(cfg);
    if (fflush(out) != 0 || ferror(out)) {
        perror(out_path ? out_path : "stdout");
        rc = 1;
    }
end:
    if (out && out != stdout && fclose(out) != 0 && !rc) {
        perror(out_path);
        rc = 1;
    }
    zr_tenant_ledger_free(&ledger);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}

/* The key of a care provider's patient pseudonyms (authzen.patient_id:
 * care_provider_pseudonym, docs/authorization.md), for its PDP: with it the
 * PDP computes the pseudonym of each of its own patients from the BSN in its
 * records, and nobody else's. Written to a new file of mode 0600 (never to
 * a terminal by accident: -o is required). */
static int tenants_pseudonym_key(int argc, char **argv)
{
    static const char usage[] = "usage: zorgrelay tenants pseudonym-key ID --config CONFIG -o FILE\n";
    const char *config_path = NULL, *out_path = NULL, *id = NULL;
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    uint8_t key[32];
    char hex[66];
    int rc = 2, fd = -1;

    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "-o") && i + 1 < argc)
            out_path = argv[++i];
        else if (!id && argv[i][0] != '-')
            id = argv[i];
        else {
            fputs(usage, stderr);
            goto end;
        }
    }
    if (!config_path || !out_path || !id) {
        fputs(usage, stderr);
        goto end;
    }
    if (!(cfg = zr_config_load(config_path, &errs))) {
        print_errors(stderr, &errs);
        rc = 1;
        goto end;
    }
    rc = 1;
    if (!zr_config_find_tenant(cfg, id)) {
        fprintf(stderr, "%s: no care provider has this id\n", id);
        goto end;
    }
    if (zr_authz_care_provider_key(cfg->oidc.pairwise_secret, id, key) != 0) {
        fprintf(stderr, "%s: cannot derive the key\n", id);
        goto end;
    }
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    hex[64] = '\n';
    hex[65] = '\0';
    if ((fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        fprintf(stderr, "%s: %s (the file must not exist yet)\n", out_path, strerror(errno));
        goto end;
    }
    if (write(fd, hex, 65) != 65 || close(fd) != 0) {
        fd = -1;
        fprintf(stderr, "%s: cannot write: %s\n", out_path, strerror(errno));
        unlink(out_path);
        goto end;
    }
    fd = -1;
    fprintf(stderr, "%s: the pseudonym key of care provider %s (hex, HMAC-SHA256 key); give it to its PDP only\n",
            out_path, id);
    rc = 0;
end:
    if (fd >= 0)
        close(fd);
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(hex, sizeof(hex));
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
    if (argc >= 2 && !strcmp(argv[1], "pseudonym-key"))
        return tenants_pseudonym_key(argc, argv);
    fprintf(stderr, "usage: zorgrelay tenants validate DIR [options] | tenants export --config CONFIG [options] | "
                    "tenants pseudonym-key ID --config CONFIG -o FILE\n");
    return 2;
}
