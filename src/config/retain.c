/* What a retired configuration keeps (issue 14 §2): a generation the relay
 * replaced by a reload is needed only by logins in flight whose care
 * provider the new one changed or removed. zr_config_retain_tenants trims
 * it down to those, so that reloads do not pile up whole configurations. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

/* Tenant tables over the kept providers, numbered as they will be after the
 * move; keys are borrowed from the providers, which keep their strings. */
static int index_kept(const zr_config_t *cfg, const unsigned char *keep, size_t kept, zr_cfg_hash_t *by_id,
                      zr_cfg_hash_t *by_entity_id)
{
    size_t j = 0, *slot;
    int found, rc = -1;
    if (zr_cfg_hash_init(by_id, kept, 0) != 0 || zr_cfg_hash_init(by_entity_id, kept, 0) != 0)
        goto end;
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        if (!keep[i])
            continue;
        /* The first one wins, as in zr_cfg_index_tenants. */
        if (cfg->tenants[i].id) {
            if (!(slot = zr_cfg_hash_slot(by_id, cfg->tenants[i].id, &found)))
                goto end;
            if (!found)
                *slot = j;
        }
        if (cfg->tenants[i].entity_id) {
            if (!(slot = zr_cfg_hash_slot(by_entity_id, cfg->tenants[i].entity_id, &found)))
                goto end;
            if (!found)
                *slot = j;
        }
        j++;
    }
    rc = 0;
end:
    return rc;
}

int zr_config_retain_tenants(zr_config_t *cfg, const unsigned char *keep, int keep_clients, zr_config_t **rest_out)
{
    zr_config_t *rest = NULL;
    zr_tenant_t *kept_tenants = NULL;
    zr_tenant_origin_t *kept_origins = NULL;
    zr_cfg_hash_t by_id = {0}, by_entity_id = {0};
    size_t kept = 0, gone = 0, j = 0;
    int rc = -1;

    *rest_out = NULL;
    for (size_t i = 0; i < cfg->tenant_count; i++)
        kept += keep[i] != 0;
    /* Everything that can fail comes first: out of memory leaves cfg as it was. */
    if (!(rest = calloc(1, sizeof(*rest))) || !(rest->index = calloc(1, sizeof(*rest->index))))
        goto end;
    if (kept && (!(kept_tenants = calloc(kept, sizeof(*kept_tenants))) ||
                 (cfg->tenant_origins && !(kept_origins = calloc(kept, sizeof(*kept_origins))))))
        goto end;
    if (cfg->index && index_kept(cfg, keep, kept, &by_id, &by_entity_id) != 0)
        goto end;

    /* The kept ones move (by value: their pointers stay) to the new arrays,
     * the others to the front of the old ones, which rest takes. */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        if (keep[i]) {
            kept_tenants[j] = cfg->tenants[i];
            if (kept_origins)
                kept_origins[j] = cfg->tenant_origins[i];
            j++;
        } else {
            cfg->tenants[gone] = cfg->tenants[i];
            if (cfg->tenant_origins)
                cfg->tenant_origins[gone] = cfg->tenant_origins[i];
            gone++;
        }
    }
    rest->tenants = cfg->tenants;
    rest->tenant_origins = cfg->tenant_origins;
    rest->tenant_count = gone;
    cfg->tenants = kept_tenants;
    cfg->tenant_origins = kept_origins;
    cfg->tenant_count = kept;
    kept_tenants = NULL;
    kept_origins = NULL;
    /* Former providers are for `tenants export` only, never for a login. */
    rest->former_tenants = cfg->former_tenants;
    rest->former_tenant_origins = cfg->former_tenant_origins;
    rest->former_tenant_count = cfg->former_tenant_count;
    cfg->former_tenants = NULL;
    cfg->former_tenant_origins = NULL;
    cfg->former_tenant_count = 0;
    if (cfg->index) {
        rest->index->tenant_by_id = cfg->index->tenant_by_id;
        rest->index->tenant_by_entity_id = cfg->index->tenant_by_entity_id;
        cfg->index->tenant_by_id = by_id;
        cfg->index->tenant_by_entity_id = by_entity_id;
        memset(&by_id, 0, sizeof(by_id));
        memset(&by_entity_id, 0, sizeof(by_entity_id));
    }
    if (!keep_clients) {
        /* With their lookup table and where they came from. */
        rest->clients = cfg->clients;
        rest->client_count = cfg->client_count;
        cfg->clients = NULL;
        cfg->client_count = 0;
        if (cfg->index) {
            rest->index->client_by_id = cfg->index->client_by_id;
            rest->index->client_origins = cfg->index->client_origins;
            rest->index->client_origin_cap = cfg->index->client_origin_cap;
            memset(&cfg->index->client_by_id, 0, sizeof(cfg->index->client_by_id));
            cfg->index->client_origins = NULL;
            cfg->index->client_origin_cap = 0;
        }
    }
    *rest_out = rest;
    rest = NULL;
    rc = 0;
end:
    zr_cfg_hash_free(&by_id);
    zr_cfg_hash_free(&by_entity_id);
    free(kept_tenants);
    free(kept_origins);
    zr_config_free(rest);
    return rc;
}

static int dup_opt(const char *s, char **out)
{
    *out = s ? strdup(s) : NULL;
    return s && !*out ? -1 : 0;
}

zr_config_t *zr_config_sectors_copy(const zr_config_t *cfg)
{
    zr_config_t *copy = calloc(1, sizeof(*copy));
    size_t *slot;
    int found, ok = 0;

    if (!copy || !(copy->index = calloc(1, sizeof(*copy->index))) ||
        zr_cfg_hash_init(&copy->index->client_by_id, cfg->client_count, 0) != 0)
        goto end;
    if (cfg->client_count && !(copy->clients = calloc(cfg->client_count, sizeof(*copy->clients))))
        goto end;
    for (size_t i = 0; i < cfg->client_count; i++) {
        const zr_client_t *c = &cfg->clients[i];
        zr_client_t *d = &copy->clients[copy->client_count++];
        if (dup_opt(c->client_id, &d->client_id) != 0 || dup_opt(c->sector_identifier, &d->sector_identifier) != 0 ||
            dup_opt(c->legacy_sector_host, &d->legacy_sector_host) != 0 ||
            dup_opt(c->sector_origin, &d->sector_origin) != 0)
            goto end;
        if (d->client_id) {
            if (!(slot = zr_cfg_hash_slot(&copy->index->client_by_id, d->client_id, &found)))
                goto end;
            if (!found)
                *slot = i;
        }
    }
    ok = 1;
end:
    if (!ok) {
        zr_config_free(copy);
        copy = NULL;
    }
    return copy;
}
