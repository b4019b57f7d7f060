/* `zorgrelay reload CONFIG`: asks the running relay (SIGHUP, PID from
 * pid_file) to load the configuration again, then reads /healthz until the
 * relay reports the outcome, so the operator sees "ok" or why the relay
 * refused. The relay's own load is the validation (issue 14 §2: loading
 * 10,000 care providers here first cost as much again); this command reads
 * only the main file (pid_file, listen, tls), without care_providers_dir.
 * When the relay refuses for configuration errors, whose lines go only to
 * its log (/healthz is public and names no file), the command then loads
 * the whole configuration itself and prints them: the double load happens
 * only for a configuration that was wrong. */
#include "zr/cmd.h"
#include "zr/config.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zr/util.h"

#define RELOAD_WAIT_S 30

typedef struct {
    long long generation;
    long long reloads;
    char last[256];
} reload_state_t;

static size_t collect(char *data, size_t size, size_t n, void *user)
{
    zr_buf_t *b = user;
    return zr_buf_append(b, data, size * n) == 0 ? size * n : 0;
}

/* http(s)://<loopback or listen address>/healthz, read from the relay's own
 * listening address (a wildcard address is asked on loopback). */
static char *healthz_url(const zr_config_t *cfg)
{
    char *url = NULL;
    const char *listen = cfg->listen ? cfg->listen : "127.0.0.1:8080";
    const char *scheme = cfg->tls_cert_file ? "https" : "http";
    const char *colon = strrchr(listen, ':');
    if (!colon)
        return NULL;
    if (strncmp(listen, "0.0.0.0:", 8) == 0)
        return asprintf(&url, "%s://127.0.0.1%s/healthz", scheme, colon) < 0 ? NULL : url;
    if (strncmp(listen, "[::]:", 5) == 0)
        return asprintf(&url, "%s://[::1]%s/healthz", scheme, colon) < 0 ? NULL : url;
    return asprintf(&url, "%s://%s/healthz", scheme, listen) < 0 ? NULL : url;
}

/* The whole configuration loaded here, as the relay does, for its error
 * lines (why says why they are shown); refused says the relay refused it.
 * The number of errors. */
static size_t check_here(const char *file, const char *why, int refused)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = zr_config_load(file, &errs);
    size_t count = errs.count;
    if (cfg && refused) {
        fprintf(stderr, "zorgrelay reload: %s, but %s loads here without an error now: changed since? Reload "
                        "again; the relay's log has its error lines (\"reload\")\n", why, file);
    } else if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay reload: %s: %zu configuration error%s (as loaded here)\n", why, errs.count,
                errs.count == 1 ? "" : "s");
    }
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return count;
}

/* 0 when /healthz answered with a config section. */
static int read_state(const char *url, reload_state_t *out)
{
    CURL *h = curl_easy_init();
    zr_buf_t b;
    json_t *o = NULL, *conf;
    int rc = -1;

    zr_buf_init(&b);
    if (!h)
        goto end;
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 3000L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* Our own process on our own address, reading a public status page:
     * its certificate is for the public name, not for the listen address. */
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
    if (curl_easy_perform(h) != CURLE_OK || !b.data)
        goto end;
    o = json_loadb(b.data, b.len, 0, NULL);
    conf = json_object_get(o, "config");
    if (!json_is_object(conf))
        goto end;
    out->generation = json_integer_value(json_object_get(conf, "generation"));
    out->reloads = json_integer_value(json_object_get(conf, "reloads"));
    snprintf(out->last, sizeof(out->last), "%s", json_string_value(json_object_get(conf, "last_reload")) ?: "");
    rc = 0;
end:
    json_decref(o);
    zr_buf_free(&b);
    if (h)
        curl_easy_cleanup(h);
    return rc;
}

/* The PID in the file, when it names a running `zorgrelay serve`. */
static long running_relay_pid(const char *pid_file, char *why, size_t whylen)
{
    char path[64], cmdline[512] = "";
    FILE *f = fopen(pid_file, "r");
    long pid = -1;
    size_t n;
    if (!f) {
        snprintf(why, whylen, "cannot read %s: %s", pid_file, strerror(errno));
        return -1;
    }
    if (fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
        snprintf(why, whylen, "%s holds no process ID", pid_file);
        pid = -1;
    }
    fclose(f);
    if (pid < 0)
        return -1;
    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    if (!(f = fopen(path, "r"))) {
        snprintf(why, whylen, "process %ld from %s is not running", pid, pid_file);
        return -1;
    }
    n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
    fclose(f);
    for (size_t i = 0; i < n; i++)
        if (cmdline[i] == '\0')
            cmdline[i] = ' ';
    cmdline[n] = '\0';
    /* Never signal whatever process reused a stale PID. */
    if (!strstr(cmdline, "zorgrelay") || !strstr(cmdline, " serve")) {
        snprintf(why, whylen, "process %ld from %s is not a zorgrelay serve process", pid, pid_file);
        return -1;
    }
    return pid;
}

int zr_cmd_reload(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    const char *file = NULL, *pid_file = NULL;
    char why[512] = "", *url = NULL;
    reload_state_t before = {0}, after = {0};
    int have_before, rc = 1;
    long pid;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--pid-file") && i + 1 < argc)
            pid_file = argv[++i];
        else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) && i + 1 < argc)
            file = argv[++i];
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            file = NULL;
            break;
        }
    }
    if (!file) {
        fprintf(stderr, "usage: zorgrelay reload CONFIG [--pid-file FILE]\n");
        return 2;
    }
    cfg = zr_config_load_flags(file, ZR_CONFIG_LOAD_SKIP_TENANT_DIR, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay reload: %zu configuration error%s; the running relay was not asked to reload\n",
                errs.count, errs.count == 1 ? "" : "s");
        goto end;
    }
    if (!pid_file)
        pid_file = cfg->pid_file;
    if (!pid_file) {
        fprintf(stderr, "zorgrelay reload: no pid_file in %s and no --pid-file given\n", file);
        goto end;
    }
    if ((pid = running_relay_pid(pid_file, why, sizeof(why))) < 0) {
        fprintf(stderr, "zorgrelay reload: %s\n", why);
        goto end;
    }
    url = healthz_url(cfg);
    have_before = url && read_state(url, &before) == 0;
    if (kill((pid_t)pid, SIGHUP) != 0) {
        fprintf(stderr, "zorgrelay reload: cannot signal process %ld: %s\n", pid, strerror(errno));
        goto end;
    }
    printf("%s: reload asked of process %ld\n", file, pid);
    if (!have_before) {
        /* No outcome to wait for: at least say whether the files are valid. */
        printf("zorgrelay reload: cannot read %s; see the relay's log for the outcome (\"reload\" lines)\n",
               url ? url : "/healthz");
        fflush(stdout);
        rc = check_here(file, "the relay will refuse it", 0) ? 1 : 0;
        goto end;
    }
    for (int waited_ms = 0; waited_ms < RELOAD_WAIT_S * 1000; waited_ms += 100) {
        struct timespec ts = {0, 100 * 1000 * 1000};
        nanosleep(&ts, NULL);
        if (read_state(url, &after) == 0 && after.reloads > before.reloads) {
            printf("relay: %s\n", after.last);
            fflush(stdout);
            rc = strncmp(after.last, "ok", 2) == 0 ? 0 : 1;
            /* "refused: N configuration errors" (relay_state.c). */
            if (rc && strstr(after.last, "configuration error"))
                check_here(file, "the relay refused the configuration", 1);
            goto end;
        }
    }
    fprintf(stderr, "zorgrelay reload: no outcome after %d s; see the relay's log (\"reload\" lines)\n",
            RELOAD_WAIT_S);
end:
    free(url);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
