/* The `metrics:` section (issue 16 §2): where the Prometheus endpoint
 * listens and whether care providers get series of their own. The reasons
 * are in docs/configuration.md#metrics. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zr/net.h"
#include "zr/util.h"

#define METRICS_DEFAULT_LISTEN "127.0.0.1:9464"

/* The host of HOST:PORT names only this machine: localhost, 127.0.0.0/8
 * or ::1. An empty host (":9464") is every interface. */
static int listen_is_loopback(const char *listen)
{
    const char *colon = strrchr(listen, ':');
    char host[64];
    size_t n = colon ? (size_t)(colon - listen) : 0;
    zr_net_addr_t addr;
    zr_net_cidr_t v4, v6;

    if (n >= 2 && listen[0] == '[' && listen[n - 1] == ']') {
        listen++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(host))
        return 0;
    memcpy(host, listen, n);
    host[n] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return 1;
    if (zr_net_addr_parse(host, &addr) != 0 || zr_net_cidr_parse("127.0.0.0/8", &v4) != 0 ||
        zr_net_cidr_parse("::1/128", &v6) != 0)
        return 0;
    return zr_net_cidr_match(&v4, &addr) || zr_net_cidr_match(&v6, &addr);
}

void zr_cfg_read_metrics(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"listen", "allow_remote", "per_care_provider", NULL};
    zr_metrics_config_t *mc = &cfg->metrics;
    yaml_node_t *v = zr_cfg_map_get(root, "metrics");
    zr_cfg_map_t m;

    if (!v || zr_cfg_map_open(root->ld, v, "metrics", keys, &m) != 0)
        return;
    mc->enabled = 1;
    zr_cfg_get_bool(&m, "allow_remote", &mc->allow_remote);
    zr_cfg_get_bool(&m, "per_care_provider", &mc->per_care_provider);
    if (zr_cfg_get_str(&m, "listen", 0, &mc->listen) == 1) {
        if (!zr_cfg_listen_valid(mc->listen))
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "listen"), "metrics.listen",
                         "must be HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464");
        /* The counters tell who is logging in to which care provider and
         * when; anyone who can reach the port reads them, without a login. */
        else if (!listen_is_loopback(mc->listen) && !mc->allow_remote)
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "listen"), "metrics.listen",
                         "'%s' is not a loopback address: /metrics has no authentication; set "
                         "metrics.allow_remote: true to listen there anyway (behind a firewall that admits only "
                         "Prometheus)",
                         mc->listen);
        else if (cfg->listen && strcmp(mc->listen, cfg->listen) == 0)
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "listen"), "metrics.listen",
                         "'%s' is the relay's own listen address; metrics need a port of their own", mc->listen);
    } else if (!(mc->listen = strdup(METRICS_DEFAULT_LISTEN))) {
        zr_cfg_error(root->ld, v, "metrics", "out of memory");
    }
}

void zr_cfg_free_metrics(zr_config_t *cfg)
{
    zr_release(cfg->metrics.listen);
}
