/* The lookup index of a loaded configuration: tenant by id and by entityID,
 * client by client_id. Built once by zr_config_load; a hand-made
 * zr_config_t (unit tests) has none and is scanned instead. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int zr_cfg_index_tenants(zr_config_t *cfg)
{
    struct zr_config_index *ix = cfg->index;
    int found;
    if (!ix) {
        if (!(ix = calloc(1, sizeof(*ix))))
            return -1;
        cfg->index = ix;
    }
    zr_cfg_hash_free(&ix->tenant_by_id);
    zr_cfg_hash_free(&ix->tenant_by_entity_id);
    if (zr_cfg_hash_init(&ix->tenant_by_id, cfg->tenant_count, 0) != 0 ||
        zr_cfg_hash_init(&ix->tenant_by_entity_id, cfg->tenant_count, 0) != 0)
        return -1;
    if (!ix->client_by_id.cap && zr_cfg_hash_init(&ix->client_by_id, 16, 0) != 0)
        return -1;
    /* The first one wins, like the scan did; duplicates are load errors. */
    for (size_t i = 0; i < cfg->tenant_count; i++) {
        size_t *slot;
        if (cfg->tenants[i].id) {
            if (!(slot = zr_cfg_hash_slot(&ix->tenant_by_id, cfg->tenants[i].id, &found)))
                return -1;
            if (!found)
                *slot = i;
        }
        if (cfg->tenants[i].entity_id) {
            if (!(slot = zr_cfg_hash_slot(&ix->tenant_by_entity_id, cfg->tenants[i].entity_id, &found)))
                return -1;
            if (!found)
                *slot = i;
        }
    }
    return 0;
}

void zr_cfg_client_origins_free(struct zr_config_index *ix, size_t count)
{
    if (!ix || !ix->client_origins)
        return;
    for (size_t i = 0; i < count && i < ix->client_origin_cap; i++) {
        zr_cfg_client_origin_t *o = &ix->client_origins[i];
        free(o->file);
        free(o->care_provider_lines);
        zr_cfg_free_strv(o->listed, o->listed_count);
        free(o->owner_id);
    }
    free(ix->client_origins);
    ix->client_origins = NULL;
    ix->client_origin_cap = 0;
}

void zr_cfg_index_free(struct zr_config_index *ix)
{
    if (!ix)
        return;
    zr_cfg_hash_free(&ix->tenant_by_id);
    zr_cfg_hash_free(&ix->tenant_by_entity_id);
    zr_cfg_hash_free(&ix->client_by_id);
    zr_cfg_client_origins_free(ix, ix->client_origin_cap);
    free(ix);
}

const zr_client_t *zr_config_find_client(const zr_config_t *cfg, const char *client_id)
{
    const size_t *at;
    const zr_client_t *c;
    if (!cfg || !client_id)
        return NULL;
    if (cfg->index && cfg->index->client_by_id.cap) {
        at = zr_cfg_hash_get(&cfg->index->client_by_id, client_id);
        c = at && *at < cfg->client_count ? &cfg->clients[*at] : NULL;
        /* A registered client deleted by any relay process (RFC 7592) is
         * refused here at once, before this process reloads. */
        return c && c->registration_file && access(c->registration_file, F_OK) != 0 ? NULL : c;
    }
    for (size_t i = 0; i < cfg->client_count; i++)
        if (cfg->clients[i].client_id && !strcmp(cfg->clients[i].client_id, client_id))
            return &cfg->clients[i];
    return NULL;
}

const zr_tenant_t *zr_config_find_tenant(const zr_config_t *cfg, const char *id)
{
    const size_t *at;
    if (!cfg || !id)
        return NULL;
    if (cfg->index && cfg->index->tenant_by_id.cap) {
        at = zr_cfg_hash_get(&cfg->index->tenant_by_id, id);
        return at && *at < cfg->tenant_count ? &cfg->tenants[*at] : NULL;
    }
    for (size_t i = 0; i < cfg->tenant_count; i++)
        if (cfg->tenants[i].id && !strcmp(cfg->tenants[i].id, id))
            return &cfg->tenants[i];
    return NULL;
}

const zr_tenant_t *zr_config_find_tenant_by_entity_id(const zr_config_t *cfg, const char *entity_id)
{
    const size_t *at;
    if (!cfg || !entity_id)
        return NULL;
    if (cfg->index && cfg->index->tenant_by_entity_id.cap) {
        at = zr_cfg_hash_get(&cfg->index->tenant_by_entity_id, entity_id);
        return at && *at < cfg->tenant_count ? &cfg->tenants[*at] : NULL;
    }
    for (size_t i = 0; i < cfg->tenant_count; i++)
        if (cfg->tenants[i].entity_id && !strcmp(cfg->tenants[i].entity_id, entity_id))
            return &cfg->tenants[i];
    return NULL;
}

int zr_client_allows_tenant(const zr_client_t *c, const char *tenant_id)
{
    if (!c || !tenant_id)
        return 0;
    /* A shared portal lists a handful of providers: a scan is enough. */
    for (size_t i = 0; i < c->care_provider_count; i++)
        if (c->care_providers[i] && !strcmp(c->care_providers[i], tenant_id))
            return 1;
    /* A hand-made client (tests) may only name its default. */
    return !c->care_provider_count && c->care_provider && !strcmp(c->care_provider, tenant_id);
}
