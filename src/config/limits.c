/* The `limits:` section (issue 13 §3): what the HTTP listener accepts, for
 * how long, from whom, and how long a SIGTERM waits for requests in flight.
 * The reasons for the defaults are in docs/configuration.md#limits. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#include "zr/util.h"

#define LIMITS_MAX_CONNECTIONS 4096
#define LIMITS_MAX_PER_IP 256
#define LIMITS_HEADER_TIMEOUT_S 10
#define LIMITS_BODY_TIMEOUT_S 30
#define LIMITS_IDLE_TIMEOUT_S 30
#define LIMITS_MAX_URI_BYTES 8192
#define LIMITS_DRAIN_TIMEOUT_S 30

static void read_trusted_proxies(zr_cfg_map_t *m, zr_limits_config_t *l)
{
    zr_cfg_loader_t *ld = m->ld;
    yaml_node_t *seq = NULL;
    char path[ZR_CFG_PATH_MAX];
    size_t n;

    if (zr_cfg_get_seq(m, "trusted_proxies", 0, &seq) != 1 || !seq)
        return;
    n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n == 0)
        return;
    l->trusted_proxies = calloc(n, sizeof(*l->trusted_proxies));
    if (!l->trusted_proxies) {
        zr_cfg_error(ld, seq, "limits.trusted_proxies", "out of memory");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
        const char *s;
        zr_cfg_path_index(path, "limits.trusted_proxies", i);
        if (!(s = zr_cfg_scalar(ld, item, path)))
            continue;
        if (zr_net_cidr_parse(s, &l->trusted_proxies[l->trusted_proxy_count]) != 0) {
            zr_cfg_error(ld, item, path,
                         "'%s' is not an IP address or a CIDR range without host bits (e.g. 10.0.0.5, "
                         "10.0.0.0/24, 2001:db8::/64; no host names, no ports)",
                         s);
            continue;
        }
        l->trusted_proxy_count++;
    }
    zr_cfg_check_seq_unique(m, "trusted_proxies");
}

void zr_cfg_read_limits(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"max_connections", "max_connections_per_ip", "trusted_proxies",
                                       "header_timeout_s", "body_timeout_s", "idle_timeout_s",
                                       "max_uri_bytes", "drain_timeout_s", NULL};
    zr_limits_config_t *l = &cfg->limits;
    yaml_node_t *v = zr_cfg_map_get(root, "limits");
    zr_cfg_map_t m;
    long n;

    l->max_connections = LIMITS_MAX_CONNECTIONS;
    l->max_connections_per_ip = LIMITS_MAX_PER_IP;
    l->header_timeout_s = LIMITS_HEADER_TIMEOUT_S;
    l->body_timeout_s = LIMITS_BODY_TIMEOUT_S;
    l->idle_timeout_s = LIMITS_IDLE_TIMEOUT_S;
    l->max_uri_bytes = LIMITS_MAX_URI_BYTES;
    l->drain_timeout_s = LIMITS_DRAIN_TIMEOUT_S;
    if (!v || zr_cfg_map_open(root->ld, v, "limits", keys, &m) != 0)
        return;
    if (zr_cfg_get_int(&m, "max_connections", 0, 16, 1000000, &n) == 1) {
        l->max_connections = (int)n;
        l->max_connections_set = 1;
    }
    if (zr_cfg_get_int(&m, "max_connections_per_ip", 0, 1, 1000000, &n) == 1)
        l->max_connections_per_ip = (int)n;
    if (zr_cfg_get_int(&m, "header_timeout_s", 0, 1, 300, &n) == 1)
        l->header_timeout_s = (int)n;
    if (zr_cfg_get_int(&m, "body_timeout_s", 0, 1, 3600, &n) == 1)
        l->body_timeout_s = (int)n;
    if (zr_cfg_get_int(&m, "idle_timeout_s", 0, 1, 3600, &n) == 1)
        l->idle_timeout_s = (int)n;
    /* 16 KiB at most: libmicrohttpd keeps the request head in a 32 KiB
     * buffer per connection and needs the rest for the headers and the
     * answer (a longer target leaves no room to say 414). */
    if (zr_cfg_get_int(&m, "max_uri_bytes", 0, 256, 16384, &n) == 1)
        l->max_uri_bytes = (int)n;
    if (zr_cfg_get_int(&m, "drain_timeout_s", 0, 0, 3600, &n) == 1)
        l->drain_timeout_s = (int)n;
    read_trusted_proxies(&m, l);
}

void zr_cfg_free_limits(zr_config_t *cfg)
{
    zr_release(cfg->limits.trusted_proxies);
    cfg->limits.trusted_proxy_count = 0;
}
