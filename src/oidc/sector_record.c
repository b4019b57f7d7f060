/* The sector each client is served under, kept in Redis for every relay
 * process of the cluster (OIDC Core §8.1: the sector decides every `sub`).
 * A configuration is compared with the record at each start and reload
 * (src/relay/relay_state.c), and with it by `zorgrelay selftest`. The
 * sector is configuration, not a secret; it goes through the sealed store
 * like every value, named by the client_id (hashed like every name). */
#include "zr/oidc.h"

#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

/* The store pipelines at most this many writes at once. */
#define SECTOR_WRITE_BATCH 8

zr_store_status_t zr_oidc_sector_records_read(zr_store_t *store, const zr_config_t *cfg, char ***records)
{
    zr_store_status_t st = ZR_STORE_OK;
    char **out = calloc(cfg->client_count ? cfg->client_count : 1, sizeof(*out));
    *records = NULL;
    if (!out)
        return ZR_STORE_UNAVAILABLE;
    for (size_t i = 0; i < cfg->client_count; i++) {
        zr_store_status_t one = zr_store_get(store, ZR_OIDC_SECTOR_NS, cfg->clients[i].client_id, &out[i], NULL);
        if (one == ZR_STORE_CORRUPT && !(out[i] = zr_strdup("")))
            one = ZR_STORE_UNAVAILABLE;
        if (one == ZR_STORE_UNAVAILABLE || one == ZR_STORE_INVALID) {
            st = one;
            goto end;
        }
    }
    *records = out;
    out = NULL;
end:
    zr_oidc_sector_records_free(out, cfg->client_count);
    return st;
}

void zr_oidc_sector_records_free(char **records, size_t count)
{
    for (size_t i = 0; records && i < count; i++)
        free(records[i]);
    free(records);
}

zr_store_status_t zr_oidc_sector_records_write(zr_store_t *store, const zr_config_t *cfg)
{
    zr_store_status_t st = ZR_STORE_OK;
    zr_store_write_t ops[SECTOR_WRITE_BATCH];
    char *values[SECTOR_WRITE_BATCH] = {0};
    size_t n = 0;
    for (size_t i = 0; i < cfg->client_count && st == ZR_STORE_OK; i++) {
        const zr_client_t *c = &cfg->clients[i];
        if (!(values[n] = zr_client_sector_record(c))) {
            st = ZR_STORE_UNAVAILABLE;
            break;
        }
        ops[n] = (zr_store_write_t){ZR_OIDC_SECTOR_NS, c->client_id, values[n], strlen(values[n]), ZR_STORE_TTL_NONE,
                                    ZR_STORE_INVALID};
        if (++n == SECTOR_WRITE_BATCH || i + 1 == cfg->client_count) {
            st = zr_store_write_all(store, ops, n);
            for (size_t k = 0; k < n; k++)
                zr_release(values[k]);
            n = 0;
        }
    }
    for (size_t k = 0; k < n; k++)
        free(values[k]);
    return st;
}
