/* Dezi's OpenID discovery document (issuer must match, reference/dezi.md)
 * and each client's AuthZEN PDP discovery: reachable before the first
 * professional logs in. */
#include "zr/selftest.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static void dezi_check(const zr_config_t *cfg, zr_selftest_report_t *r)
{
    zr_selftest_probe_opts_t po = {.ca_file = cfg->dezi.tls_ca_file, .timeout_ms = cfg->dezi.timeout_ms,
                                   .max_body = 256 * 1024};
    zr_selftest_probe_t p = {0};
    json_t *doc = NULL;
    const char *issuer;
    char *url = NULL;
    size_t ilen = strlen(cfg->dezi.issuer);
    /* OpenID Connect Discovery §4: issuer + "/.well-known/openid-configuration". */
    if (asprintf(&url, "%.*s/.well-known/openid-configuration",
                 (int)(ilen && cfg->dezi.issuer[ilen - 1] == '/' ? ilen - 1 : ilen), cfg->dezi.issuer) < 0) {
        url = NULL;
        goto end;
    }
    po.url = url;
    if (zr_selftest_probe_run(&po, &p) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "dezi",
                        "check the firewall and dezi.issuer (and dezi.tls_ca); professionals cannot log in",
                        "%s: %s", url, p.error);
        goto end;
    }
    if (p.status != 200 || p.truncated) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "dezi", "check dezi.issuer: it must be Dezi's issuer URL exactly",
                        "%s: HTTP %ld%s", url, p.status, p.truncated ? " (answer too large)" : "");
        goto end;
    }
    doc = json_loadb(p.body, p.body_len, 0, NULL);
    issuer = json_string_value(json_object_get(doc, "issuer"));
    if (!issuer || strcmp(issuer, cfg->dezi.issuer) != 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "dezi", "set dezi.issuer to the issuer Dezi's discovery document names",
                        "%s: issuer is %s, expected %s", url, issuer ? issuer : "(missing or not JSON)",
                        cfg->dezi.issuer);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "dezi", NULL, "%s: discovery reachable, issuer matches", cfg->dezi.issuer);
end:
    json_decref(doc);
    free(url);
    zr_selftest_probe_clear(&p);
}

/* A PDP without discovery is fine (the relay falls back to
 * {pdp}/access/v1/evaluation); one that does not answer is not. */
static void authzen_check(const zr_client_t *client, zr_selftest_report_t *r)
{
    const zr_authzen_client_t *a = &client->authzen;
    zr_selftest_probe_opts_t po = {.ca_file = a->tls_ca_file, .timeout_ms = a->timeout_ms, .max_body = 64 * 1024};
    zr_selftest_probe_t p = {0};
    char *url = NULL;
    size_t plen = strlen(a->pdp);
    if (asprintf(&url, "%.*s/.well-known/authzen-configuration",
                 (int)(plen && a->pdp[plen - 1] == '/' ? plen - 1 : plen), a->pdp) < 0) {
        url = NULL;
        goto end;
    }
    po.url = url;
    if (zr_selftest_probe_run(&po, &p) != 0)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "authzen",
                        a->fail_open ? "check the PDP: logins of this client pass unchecked while it is down"
                                     : "check the PDP: logins of this client are refused while it is down",
                        "client %s: PDP %s unreachable: %s", client->client_id, a->pdp, p.error);
    else if (p.status == 200)
        zr_selftest_add(r, ZR_SELFTEST_OK, "authzen", NULL, "client %s: PDP %s discovery reachable", client->client_id,
                        a->pdp);
    else if (p.status == 404)
        zr_selftest_add(r, ZR_SELFTEST_OK, "authzen", NULL,
                        "client %s: PDP %s answers, no discovery document (the relay uses %s/access/v1/evaluation)",
                        client->client_id, a->pdp, a->pdp);
    else
        zr_selftest_add(r, ZR_SELFTEST_WARN, "authzen", "check the PDP's logs",
                        "client %s: PDP %s discovery answered HTTP %ld", client->client_id, a->pdp, p.status);
end:
    free(url);
    zr_selftest_probe_clear(&p);
}

void zr_selftest_discovery(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    (void)opts;
    if (cfg->dezi.enabled && cfg->dezi.issuer)
        dezi_check(cfg, r);
    for (size_t i = 0; i < cfg->client_count; i++)
        if (cfg->clients[i].authzen.enabled && cfg->clients[i].authzen.pdp)
            authzen_check(&cfg->clients[i], r);
}
