/* Quarantine (issue 14 §1, docs/operations.md#quarantine): a care provider
 * whose own material is unusable (an expired BSN certificate, a missing or
 * mismatched key, any defect in its own file under care_providers_dir) is
 * loaded as disabled instead of refusing the whole configuration, so that
 * one missed renewal does not take every provider of a cluster offline.
 * What is not one provider's (the main file, duplicates across providers,
 * cluster keys) still refuses everything. */
#include "config_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/log.h"
#include "zr/util.h"

static const char *const on_error_names[] = {"quarantine", "refuse", NULL};

void zr_cfg_read_on_error(zr_cfg_map_t *root, zr_config_t *cfg)
{
    int v = ZR_ON_ERROR_QUARANTINE;
    if (zr_cfg_get_enum(root, "care_providers_on_error", 0, on_error_names, &v) == 1)
        cfg->care_providers_on_error = (zr_on_error_t)v;
    root->ld->quarantine = cfg->care_providers_on_error == ZR_ON_ERROR_QUARANTINE;
}

/* "dir/ziekenhuis-oost.yaml" (or .yml) -> "ziekenhuis-oost". */
static char *file_stem(const char *file)
{
    const char *base = strrchr(file, '/');
    size_t n;
    base = base ? base + 1 : file;
    n = strlen(base);
    if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    return strndup(base, n);
}

int zr_cfg_quarantine_tenant(zr_tenant_t *t, const char *file, zr_config_errors_t *reasons)
{
    char **grown;
    int rc = -1;
    /* What a portal, the log and /healthz call it: its id when that was
     * read, else its file's name (the onboarding guide names files by id). */
    if ((!t->id || !zr_cfg_tenant_id_valid(t->id)) && file) {
        zr_release(t->id);
        if (!(t->id = file_stem(file)))
            goto end;
    }
    if (!t->name && t->id && !(t->name = strdup(t->id)))
        goto end;
    grown = realloc(t->quarantine_reasons, (t->quarantine_reason_count + reasons->count + 1) * sizeof(*grown));
    if (!grown)
        goto end;
    t->quarantine_reasons = grown;
    for (size_t i = 0; i < reasons->count; i++) {
        t->quarantine_reasons[t->quarantine_reason_count++] = reasons->lines[i];
        reasons->lines[i] = NULL;
    }
    reasons->count = 0;
    rc = 0;
end:
    t->quarantined = 1; /* even half-recorded: fail closed */
    return rc;
}

struct zr_cfg_dropped_client {
    char *client_id;
    char *file;
    char path[ZR_CFG_PATH_MAX]; /* "clients[0]" */
    int line;
};

void zr_cfg_quarantine_drop_clients(zr_cfg_loader_t *ld, zr_config_t *clients)
{
    const struct zr_config_index *ix = clients->index;
    struct zr_cfg_dropped_client *grown;
    if (clients->client_count &&
        (grown = realloc(ld->dropped, (ld->dropped_count + clients->client_count) * sizeof(*grown))) != NULL) {
        ld->dropped = grown;
        for (size_t i = 0; i < clients->client_count; i++) {
            const zr_cfg_client_origin_t *o = ix && i < ix->client_origin_cap ? &ix->client_origins[i] : NULL;
            struct zr_cfg_dropped_client *d = &ld->dropped[ld->dropped_count];
            if (!clients->clients[i].client_id)
                continue;
            d->client_id = strdup(clients->clients[i].client_id);
            d->file = o && o->file ? strdup(o->file) : NULL;
            d->line = o ? o->client_id_line : 1;
            snprintf(d->path, sizeof(d->path), "%s", o ? o->path : "clients");
            ld->dropped_count++;
        }
    }
    zr_cfg_free_clients(clients);
    zr_cfg_index_free(clients->index);
    clients->index = NULL;
}

void zr_cfg_quarantine_check_dropped(zr_cfg_loader_t *ld, const zr_config_t *cfg)
{
    for (size_t i = 0; i < ld->dropped_count; i++) {
        const struct zr_cfg_dropped_client *d = &ld->dropped[i];
        const zr_client_t *c = zr_config_find_client(cfg, d->client_id);
        const zr_cfg_client_origin_t *o = NULL;
        if (!c)
            continue;
        if (cfg->index && (size_t)(c - cfg->clients) < cfg->index->client_origin_cap)
            o = &cfg->index->client_origins[c - cfg->clients];
        ld->error_count++;
        zr_cfg_error_line(ld->errs, "%s:%d: %s.client_id: duplicate client_id '%s' (also %s:%d)",
                          d->file ? d->file : "?", d->line, d->path, d->client_id, o && o->file ? o->file : "?",
                          o ? o->client_id_line : 1);
    }
}

void zr_cfg_quarantine_dropped_free(zr_cfg_loader_t *ld)
{
    for (size_t i = 0; i < ld->dropped_count; i++) {
        free(ld->dropped[i].client_id);
        free(ld->dropped[i].file);
    }
    zr_release(ld->dropped);
    ld->dropped_count = 0;
}

void zr_cfg_quarantine_finish(zr_cfg_loader_t *ld, zr_config_t *cfg)
{
    char summary[128];
    cfg->quarantined_count = 0;
    for (size_t i = 0; i < cfg->tenant_count; i++)
        cfg->quarantined_count += cfg->tenants[i].quarantined != 0;
    /* Without care_providers_dir read (zorgrelay reload's quick check, tenants
     * validate) the inline ones are not all there are. */
    if (!cfg->tenant_count || cfg->quarantined_count < cfg->tenant_count ||
        (cfg->care_providers_dir && (ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR)))
        return;
    /* Nothing could be served: starting would only look healthy. A reload
     * refused for it keeps the running configuration. */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        for (size_t r = 0; r < t->quarantine_reason_count; r++)
            zr_cfg_error_line(ld->errs, "%s", t->quarantine_reasons[r]);
    }
    ld->error_count++;
    /* One provider (a direct connection): its own errors say it all. */
    if (cfg->tenant_count == 1)
        return;
    zr_cfg_error_line(ld->errs,
                      "%s: every care provider (%zu) is quarantined, nothing could be served (first: %s, %s)",
                      ld->file, cfg->tenant_count, cfg->tenants[0].id ? cfg->tenants[0].id : "?",
                      zr_tenant_quarantine_summary(&cfg->tenants[0], summary, sizeof(summary)));
}

void zr_config_log_quarantined(const zr_config_t *cfg, const char *event)
{
    const zr_tenant_origin_t *o;
    char summary[128];
    zr_buf_t b;
    /* One line per provider, every reason in it (at most 8: the file says the rest). */
    for (size_t i = 0; cfg && i < cfg->tenant_count; i++) {
        const zr_tenant_t *t = &cfg->tenants[i];
        if (!t->quarantined)
            continue;
        o = cfg->tenant_origins ? &cfg->tenant_origins[i] : NULL;
        zr_buf_init(&b);
        for (size_t r = 0; r < t->quarantine_reason_count && r < 8; r++)
            zr_buf_printf(&b, "%s%s", r ? " | " : "", t->quarantine_reasons[r]);
        if (t->quarantine_reason_count > 8)
            zr_buf_printf(&b, " | ... and %zu more", t->quarantine_reason_count - 8);
        zr_log_warn(event, "care provider %s quarantined (%s), file %s: logins refused until fixed: %s",
                    t->id ? t->id : "?", zr_tenant_quarantine_summary(t, summary, sizeof(summary)),
                    o && o->file ? o->file : cfg->file, b.data ? b.data : "");
        zr_buf_free(&b);
    }
}
