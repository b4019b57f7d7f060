/* The self-test run: the configuration first (nothing else can be judged
 * without it), then the checks in the order a login meets them. */
#include "zr/selftest.h"

#include <stdio.h>
#include <string.h>

#include "zr/log.h"
#include "zr/xml.h"

/* What to do about a configuration error, by what it says. */
static const char *config_advice(const char *line)
{
    if (strstr(line, "expired on") || strstr(line, "not valid before"))
        return "renew the certificate named here, configure it and (SAML keys) send new metadata to DICTU";
    if (strstr(line, "does not belong to the certificate"))
        return "point key: at the private key of this certificate (or cert: at the key's certificate)";
    return "fix this line; `zorgrelay check-config CONFIG` lists the same errors";
}

/* Quarantined care providers (issue 14 §1): the relay serves the others,
 * but this installation does not work for everyone, so FAIL: the exit
 * status tells the operator. Each reason as the loader wrote it. */
static void report_quarantined(const zr_config_t *cfg, zr_selftest_report_t *r)
{
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        for (size_t k = 0; t->quarantined && k < t->quarantine_reason_count; k++)
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "quarantine", config_advice(t->quarantine_reasons[k]),
                            "care provider %s is quarantined (its logins are refused): %s", t->id ? t->id : "?",
                            t->quarantine_reasons[k]);
        if (t->quarantined && !t->quarantine_reason_count)
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "quarantine", "check its file",
                            "care provider %s is quarantined (its logins are refused)", t->id ? t->id : "?");
    }
    if (cfg->quarantined_count)
        zr_selftest_add(r, ZR_SELFTEST_OK, "quarantine", NULL, "the other %zu care provider(s) are in service",
                        cfg->tenant_count - cfg->quarantined_count);
}

void zr_selftest_run(const char *config_path, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg;
    zr_selftest_opts_t o = *opts;
    int xml_up = 0;

    cfg = zr_config_load(config_path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "configuration", config_advice(errs.lines[i]), "%s", errs.lines[i]);
        if (!errs.count)
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "configuration", "check the file", "%s cannot be loaded",
                            config_path);
        goto end;
    }
    zr_selftest_add(r, ZR_SELFTEST_OK, "configuration", NULL, "%s valid (environment %s, %zu care provider(s), %zu quarantined, %zu "
                    "client(s))", config_path, zr_environment_name(cfg->environment), cfg->tenant_count,
                    cfg->quarantined_count, cfg->client_count);
    report_quarantined(cfg, r);
    zr_selftest_certificates(cfg, &o, r);
    zr_selftest_ledger(cfg, &o, r);
    if ((xml_up = zr_xml_init() == 0) == 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "sp-metadata", "report this as a bug", "xmlsec could not start");
    else
        zr_selftest_sp_metadata(cfg, &o, r);
    zr_selftest_tvs(cfg, &o, r);
    zr_selftest_redis(cfg, &o, r);
    zr_selftest_discovery(cfg, &o, r);
end:
    if (xml_up)
        zr_xml_shutdown();
    zr_config_free(cfg);
    zr_config_errors_free(&errs);
}
