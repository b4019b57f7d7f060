/* The trace in the store: one JSON document per login under ("trace", id),
 * sealed like every other value, kept trace.lifetime_s; and the links from
 * what a request carries (relay state, code, ID token, client + state) to
 * the trace id, in namespaces of their own (names are HMAC'd by the store). */
#include "zr/diag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <openssl/crypto.h>

#include "zr/log.h"
#include "zr/util.h"

#define TRACE_NS "trace"
#define TRACE_MAX_EVENTS 64
#define TRACE_MAX_BYTES (2 * 1024 * 1024)

int zr_diag_enabled(const zr_config_t *cfg)
{
    return cfg && cfg->trace.enabled && cfg->environment != ZR_ENV_PRODUCTION;
}

static long long now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static int lifetime(const zr_config_t *cfg)
{
    return cfg->trace.lifetime_s > 0 ? cfg->trace.lifetime_s : 86400;
}

static int trace_put(zr_store_t *store, const zr_config_t *cfg, const char *id, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    int rc = -1;
    if (text && strlen(text) <= TRACE_MAX_BYTES)
        rc = zr_store_put(store, TRACE_NS, id, text, strlen(text), lifetime(cfg)) == ZR_STORE_OK ? 0 : -1;
    free(text);
    return rc;
}

int zr_diag_trace_new(zr_store_t *store, const zr_config_t *cfg, const char *client_id, char *id_out)
{
    uint8_t raw[16];
    char *hex = NULL, at[21];
    json_t *doc = NULL;
    int rc = -1;

    if (zr_random_bytes(raw, sizeof(raw)) != 0 || !(hex = zr_hex_encode(raw, sizeof(raw))))
        goto end;
    zr_time_format_iso8601(time(NULL), at);
    doc = json_pack("{s:s, s:s, s:s?, s:I, s:[]}", "trace_id", hex, "created", at, "client_id", client_id,
                    "created_ms", (json_int_t)now_ms(), "events");
    if (!doc || trace_put(store, cfg, hex, doc) != 0)
        goto end;
    memcpy(id_out, hex, ZR_DIAG_ID_LEN + 1);
    rc = 0;
end:
    json_decref(doc);
    free(hex);
    return rc;
}

int zr_diag_trace_add(zr_store_t *store, const zr_config_t *cfg, const char *id, const char *kind, json_t *data)
{
    char *text = NULL, at[21];
    size_t len = 0;
    json_t *doc = NULL, *events, *ev;
    long long ms = now_ms();
    int rc = -1;

    if (!id || !*id)
        goto end;
    /* Read, append, write: the steps of one login come one after another. */
    if (zr_store_get(store, TRACE_NS, id, &text, &len) != ZR_STORE_OK)
        goto end;
    doc = json_loadb(text, len, 0, NULL);
    events = doc ? json_object_get(doc, "events") : NULL;
    if (!json_is_array(events) || json_array_size(events) >= TRACE_MAX_EVENTS)
        goto end;
    zr_time_format_iso8601((time_t)(ms / 1000), at);
    ev = json_pack("{s:s, s:s, s:I, s:I, s:O?}", "kind", kind, "at", at, "ms", (json_int_t)ms, "offset_ms",
                   (json_int_t)(ms - json_integer_value(json_object_get(doc, "created_ms"))), "data", data);
    if (!ev || json_array_append_new(events, ev) != 0)
        goto end;
    rc = trace_put(store, cfg, id, doc);
end:
    json_decref(data);
    json_decref(doc);
    free(text);
    return rc;
}

char *zr_diag_trace_export(zr_store_t *store, const char *id)
{
    char *text = NULL;
    size_t len = 0;
    if (!id || strlen(id) != ZR_DIAG_ID_LEN || strspn(id, "0123456789abcdef") != ZR_DIAG_ID_LEN)
        return NULL;
    if (zr_store_get(store, TRACE_NS, id, &text, &len) != ZR_STORE_OK) {
        free(text);
        return NULL;
    }
    return text;
}

int zr_diag_link(zr_store_t *store, const zr_config_t *cfg, const char *ns, const char *key, const char *id)
{
    if (!key || !*key || !id)
        return -1;
    return zr_store_put(store, ns, key, id, strlen(id), lifetime(cfg)) == ZR_STORE_OK ? 0 : -1;
}

int zr_diag_find(zr_store_t *store, const char *ns, const char *key, char *id_out)
{
    char *v = NULL;
    size_t len = 0;
    int rc = -1;
    if (!key || !*key)
        return -1;
    if (zr_store_get(store, ns, key, &v, &len) == ZR_STORE_OK && len == ZR_DIAG_ID_LEN) {
        memcpy(id_out, v, ZR_DIAG_ID_LEN + 1);
        rc = 0;
    }
    free(v);
    return rc;
}
