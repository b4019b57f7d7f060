/* `zorgrelay clients token --config CONFIG --care-provider ID [--ttl T]`:
 * an initial access token (RFC 7591 §3) with which one portal of that care
 * provider registers itself at /register (issue 17 §4). Single use, expires
 * after --ttl (default 24h, at most 30d); printed once on stdout, and only
 * its keyed hash is kept (oidc.registration_dir/tokens/). Run it as the
 * relay's user, on any host that shares the directory. */
#include "zr/cmd.h"
#include "zr/config.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS_TTL_DEFAULT (24L * 3600)
#define CLIENTS_TTL_MAX (30L * 86400)

/* "90m", "24h", "7d", "3600" (seconds); -1 when not one. */
static long parse_ttl(const char *s)
{
    char *end = NULL;
    long n = strtol(s, &end, 10), unit = 1;
    if (!end || end == s || n <= 0)
        return -1;
    if (*end == 'm')
        unit = 60;
    else if (*end == 'h')
        unit = 3600;
    else if (*end == 'd')
        unit = 86400;
    else if (*end != 's' && *end != '\0')
        return -1;
    if (*end && end[1])
        return -1;
    return n > CLIENTS_TTL_MAX / unit ? -1 : n * unit;
}

static int clients_token(int argc, char **argv)
{
    static const char usage[] = "usage: zorgrelay clients token --config CONFIG --care-provider ID [--ttl 24h]\n";
    const char *config_path = NULL, *owner = NULL;
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    const zr_tenant_t *t;
    char *token = NULL, err[512], when[32];
    long ttl = CLIENTS_TTL_DEFAULT;
    long long expires = 0;
    time_t at;
    struct tm tm;
    struct stat st;
    int rc = 2;

    for (int i = 2; i < argc; i++) {
        if ((!strcmp(argv[i], "--config") || !strcmp(argv[i], "-c")) && i + 1 < argc)
            config_path = argv[++i];
        else if (!strcmp(argv[i], "--care-provider") && i + 1 < argc)
            owner = argv[++i];
        else if (!strcmp(argv[i], "--ttl") && i + 1 < argc) {
            if ((ttl = parse_ttl(argv[++i])) < 0) {
                fprintf(stderr, "--ttl %s: a duration such as 90m, 24h or 7d, at most 30d\n", argv[i]);
                goto end;
            }
        } else {
            fputs(usage, stderr);
            goto end;
        }
    }
    if (!config_path || !owner) {
        fputs(usage, stderr);
        goto end;
    }
    rc = 1;
    if (!(cfg = zr_config_load(config_path, &errs))) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        goto end;
    }
    if (!cfg->oidc.registration_dir) {
        fprintf(stderr, "%s: oidc.registration_dir is not set: dynamic registration is off\n", config_path);
        goto end;
    }
    /* The relay renames the token's file when it is used: written by
     * another user (root), the registration would fail later, not now. */
    if (stat(cfg->oidc.registration_dir, &st) != 0 || st.st_uid != geteuid()) {
        fprintf(stderr, "%s: run this as the user that owns it and runs the relay (sudo -u zorgrelay ...)\n",
                cfg->oidc.registration_dir);
        goto end;
    }
    if (!(t = zr_config_find_tenant(cfg, owner))) {
        fprintf(stderr, "%s: no care provider has this id\n", owner);
        goto end;
    }
    if (t->quarantined) {
        fprintf(stderr, "%s: this care provider is quarantined; fix its file first\n", owner);
        goto end;
    }
    if (zr_config_registration_token_create(cfg, owner, ttl, &token, &expires, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s\n", err);
        goto end;
    }
    at = (time_t)expires;
    gmtime_r(&at, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    printf("%s\n", token);
    fprintf(stderr, "initial access token for one client of care provider %s, valid until %s (single use); "
                    "give it to the portal's supplier over a confidential channel: it is not shown again\n",
            owner, when);
    rc = 0;
end:
    if (token)
        OPENSSL_cleanse(token, strlen(token));
    free(token);
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}

int zr_cmd_clients(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "token"))
        return clients_token(argc, argv);
    fprintf(stderr, "usage: zorgrelay clients token --config CONFIG --care-provider ID [--ttl 24h]\n");
    return 2;
}
