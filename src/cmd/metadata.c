/* `zorgrelay metadata CONFIG [--care-provider ID]`: prints our signed SAML SP
 * metadata to hand to DICTU/TVS: with a `cluster:` section the cluster's
 * EntitiesDescriptor (LC plus every care provider), otherwise the direct DV
 * EntityDescriptor of one care provider. */
#include "zr/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/config.h"
#include "zr/log.h"
#include "zr/saml.h"
#include "zr/xml.h"

int zr_cmd_metadata(int argc, char **argv)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    const zr_tenant_t *t = NULL;
    const char *config_path = NULL;
    const char *tenant_id = NULL;
    char *xml = NULL;
    char err[512] = "";
    char summary[128];
    int xml_ready = 0, without_quarantined = 0, refused = 0;
    int rc = 2;

    int usage = 0;
    for (int i = 1; i < argc && !usage; i++) {
        if (strcmp(argv[i], "--care-provider") == 0 && i + 1 < argc && !tenant_id)
            tenant_id = argv[++i];
        else if (strcmp(argv[i], "--without-quarantined") == 0)
            without_quarantined = 1;
        else if (argv[i][0] != '-' && !config_path)
            config_path = argv[i];
        else
            usage = 1;
    }
    if (usage || !config_path) {
        fprintf(stderr, "usage: zorgrelay metadata CONFIG [--care-provider ID] [--without-quarantined]\n");
        goto end;
    }
    rc = 1;
    zr_log_set_component("metadata");
    cfg = zr_config_load(config_path, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count; i++)
            fprintf(stderr, "%s\n", errs.lines[i]);
        fprintf(stderr, "zorgrelay: %zu configuration error%s\n", errs.count, errs.count == 1 ? "" : "s");
        goto end;
    }
    if (cfg->cluster.enabled) {
        /* One file for the whole cluster: a single DV's descriptor is not
         * something TVS accepts from a cluster connection. */
        if (tenant_id) {
            fprintf(stderr, "zorgrelay: --care-provider does not apply to a cluster connection: "
                            "its metadata covers all %zu care providers; run without --care-provider\n",
                    cfg->tenant_count);
            goto end;
        }
    } else if (tenant_id) {
        t = zr_config_find_tenant(cfg, tenant_id);
        if (!t) {
            fprintf(stderr, "zorgrelay: no care provider \"%s\" in %s\n", tenant_id, config_path);
            goto end;
        }
    } else if (cfg->tenant_count == 1) {
        t = &cfg->tenants[0];
    } else {
        fprintf(stderr, "zorgrelay: %zu care providers configured, choose one with --care-provider:\n",
                cfg->tenant_count);
        for (size_t i = 0; i < cfg->tenant_count; i++)
            fprintf(stderr, "  %s\n", cfg->tenants[i].id);
        goto end;
    }
    /* What DICTU receives replaces what TVS knows: a cluster document
     * without a quarantined provider would disconnect it, one with it would
     * publish the certificate that is unusable. Fix it (or move it to
     * former/) first; --without-quarantined when leaving it out is meant. */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_t *q = &cfg->tenants[i];
        if (!q->quarantined || (!t && without_quarantined) || (t && t != q))
            continue;
        fprintf(stderr, "zorgrelay: care provider %s is quarantined (%s)%s\n", q->id ? q->id : "?",
                zr_tenant_quarantine_summary(q, summary, sizeof(summary)),
                t ? ": no metadata until it is fixed"
                  : ": the cluster metadata would leave it out (TVS would no longer know it); fix it, move it to "
                    "former/, or pass --without-quarantined");
        for (size_t k = 0; k < q->quarantine_reason_count; k++)
            fprintf(stderr, "  %s\n", q->quarantine_reasons[k]);
        refused = 1;
    }
    if (refused)
        goto end;
    if (zr_xml_init() != 0) {
        fprintf(stderr, "zorgrelay: XML security library failed to initialise\n");
        goto end;
    }
    xml_ready = 1;
    if (cfg->cluster.enabled)
        xml = zr_saml_cluster_metadata_build(cfg, err, sizeof(err));
    else
        xml = zr_saml_sp_metadata_build(cfg, t, err, sizeof(err));
    if (!xml) {
        fprintf(stderr, "zorgrelay: metadata for %s: %s\n", t ? t->id : cfg->cluster.entity_id, err);
        goto end;
    }
    fputs(xml, stdout);
    if (xml[0] && xml[strlen(xml) - 1] != '\n')
        fputc('\n', stdout);
    rc = fflush(stdout) == 0 ? 0 : 1;
end:
    free(xml);
    if (xml_ready)
        zr_xml_shutdown();
    if (cfg)
        zr_config_free(cfg);
    zr_config_errors_free(&errs);
    return rc;
}
