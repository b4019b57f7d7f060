/* The relay's long-lived state: store, OpenID Provider, back channel and the
 * verified TVS metadata, which a background thread reloads so that a new
 * metadata file (new TVS keys) needs no restart and an expired one is noticed. */
#include "relay_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <openssl/crypto.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zr/audit.h"
#include "zr/log.h"
#include "zr/tenant_ledger.h"
#include "zr/util.h"
#include "zr/xml.h"

#define IDP_REFRESH_SECONDS 300

static void gen_sweep_locked(zr_relay_t *relay, zr_relay_gen_t **garbage);
static void gen_garbage_free(zr_relay_gen_t *garbage);

struct zr_idp_ref {
    zr_saml_idp_t *idp;
    int users;
    zr_idp_ref_t *next; /* in the retired list */
};

/* Frees retired sets nobody uses any more. Caller holds idp_lock. */
static void idp_sweep_locked(zr_relay_t *relay)
{
    zr_idp_ref_t **pp = &relay->retired;
    while (*pp) {
        zr_idp_ref_t *r = *pp;
        if (r->users == 0) {
            *pp = r->next;
            zr_saml_idp_free(r->idp);
            free(r);
        } else {
            pp = &r->next;
        }
    }
}

/* Installs idp unless it is older than the one in use (a rollback to a
 * document TVS has replaced, perhaps with a key it retired): then the
 * current one stays and -1 is returned with why. Takes idp either way. */
static int idp_install(zr_relay_t *relay, zr_saml_idp_t *idp, char *why, size_t whylen)
{
    zr_idp_ref_t *ref = calloc(1, sizeof(*ref));
    int rc = -1;
    if (!ref) {
        snprintf(why, whylen, "out of memory");
        goto end;
    }
    pthread_mutex_lock(&relay->idp_lock);
    if (zr_saml_idp_check_successor(relay->idp ? relay->idp->idp : NULL, idp, why, whylen) != 0) {
        pthread_mutex_unlock(&relay->idp_lock);
        goto end;
    }
    ref->idp = idp;
    idp = NULL;
    if (relay->idp) {
        relay->idp->next = relay->retired;
        relay->retired = relay->idp;
    }
    relay->idp = ref;
    ref = NULL;
    relay->idp_error[0] = '\0';
    idp_sweep_locked(relay);
    pthread_mutex_unlock(&relay->idp_lock);
    rc = 0;
end:
    free(ref);
    zr_saml_idp_free(idp);
    return rc;
}

static int idp_reload(zr_relay_t *relay)
{
    char err[512] = "", entity[256];
    size_t keys;
    zr_saml_idp_t *idp = zr_saml_idp_load(relay->cfg, err, sizeof(err));
    if (!idp) {
        pthread_mutex_lock(&relay->idp_lock);
        snprintf(relay->idp_error, sizeof(relay->idp_error), "%s", err);
        pthread_mutex_unlock(&relay->idp_lock);
        zr_log_error("tvs-metadata", "load failed%s: %s", relay->idp ? ", keeping the current metadata" : "", err);
        return -1;
    }
    keys = idp->key_count;
    snprintf(entity, sizeof(entity), "%s", idp->entity_id);
    if (idp_install(relay, idp, err, sizeof(err)) != 0) {
        zr_log_error("tvs-metadata", "keeping the current metadata: %s", err);
        return -1;
    }
    zr_log_info("tvs-metadata", "loaded %s (%zu signing keys)", entity, keys);
    return 0;
}

zr_saml_idp_t *zr_relay_idp_get(zr_relay_t *relay, char *err, size_t errlen)
{
    zr_saml_idp_t *idp = NULL;
    pthread_mutex_lock(&relay->idp_lock);
    if (!relay->idp) {
        snprintf(err, errlen, "TVS metadata not loaded: %s", relay->idp_error);
    } else if (relay->idp->idp->valid_until <= zr_time_now()) {
        snprintf(err, errlen, "TVS metadata expired (validUntil passed)");
    } else {
        relay->idp->users++;
        idp = relay->idp->idp;
    }
    pthread_mutex_unlock(&relay->idp_lock);
    return idp;
}

void zr_relay_idp_expiry(zr_relay_t *relay, time_t *valid_until, time_t *signer_not_after, time_t *keys_not_after)
{
    *valid_until = *signer_not_after = *keys_not_after = 0;
    pthread_mutex_lock(&relay->idp_lock);
    if (relay->idp) {
        const zr_saml_idp_t *idp = relay->idp->idp;
        *valid_until = idp->valid_until;
        *signer_not_after = idp->signer_not_after;
        for (size_t i = 0; i < idp->key_count; i++) {
            time_t t = zr_relay_cert_not_after(idp->keys[i].cert);
            if (t && (!*keys_not_after || t < *keys_not_after))
                *keys_not_after = t;
        }
    }
    pthread_mutex_unlock(&relay->idp_lock);
}

void zr_relay_idp_put(zr_relay_t *relay, zr_saml_idp_t *idp)
{
    if (!idp)
        return;
    pthread_mutex_lock(&relay->idp_lock);
    if (relay->idp && relay->idp->idp == idp) {
        relay->idp->users--;
    } else {
        for (zr_idp_ref_t *r = relay->retired; r; r = r->next)
            if (r->idp == idp) {
                r->users--;
                break;
            }
        idp_sweep_locked(relay);
    }
    pthread_mutex_unlock(&relay->idp_lock);
}

static void *idp_refresher(void *arg)
{
    zr_relay_t *relay = arg;
    zr_relay_gen_t *garbage = NULL;
    pthread_mutex_lock(&relay->stop_lock);
    while (!relay->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += IDP_REFRESH_SECONDS;
        int rc = 0;
        while (!relay->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&relay->stop_cond, &relay->stop_lock, &until);
        if (relay->stopping)
            break;
        pthread_mutex_unlock(&relay->stop_lock);
        idp_reload(relay);
        pthread_mutex_lock(&relay->gen_lock);
        gen_sweep_locked(relay, &garbage);
        pthread_mutex_unlock(&relay->gen_lock);
        gen_garbage_free(garbage);
        garbage = NULL;
        pthread_mutex_lock(&relay->stop_lock);
    }
    pthread_mutex_unlock(&relay->stop_lock);
    return NULL;
}

/* ---- configuration generations ---- */

static void gen_free(zr_relay_gen_t *g)
{
    if (!g)
        return;
    for (size_t i = 0; g->pdps && i < g->pdp_count; i++)
        zr_authz_pdp_free(g->pdps[i]);
    free(g->pdps);
    zr_dezi_free(g->dezi);
    zr_saml_backchannel_free(g->backchannel);
    zr_oidc_free(g->oidc);
    zr_config_free(g->owned_cfg);
    free(g);
}

#ifdef ZR_TESTING
/* ZR_TEST_TOKEN_HOLD=DIR (test builds only): /token, once the code is
 * taken, creates DIR/held and waits until a writer opens the FIFO
 * DIR/release and closes it: a request held in flight at the moment that
 * matters for a drain (test_limits.sh). */
static void relay_test_token_hold(void *ctx, zr_oidc_redeem_stage_t stage)
{
    const char *dir = ctx;
    char path[512], buf[64];
    int fd;

    if (stage != ZR_OIDC_REDEEM_AFTER_COMMIT)
        return;
    snprintf(path, sizeof(path), "%s/held", dir);
    if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) >= 0)
        close(fd);
    snprintf(path, sizeof(path), "%s/release", dir);
    if ((fd = open(path, O_RDONLY)) >= 0) {
        while (read(fd, buf, sizeof(buf)) > 0)
            ;
        close(fd);
    }
}
#endif

static zr_relay_gen_t *gen_new(zr_relay_t *relay, zr_config_t *cfg, char *err, size_t errlen)
{
    zr_relay_gen_t *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    g->trim_cfg = cfg;
    g->oidc = zr_oidc_new(cfg, relay->store, err, errlen);
#ifdef ZR_TESTING
    if (g->oidc && getenv("ZR_TEST_TOKEN_HOLD"))
        zr_oidc_set_redeem_hook(g->oidc, relay_test_token_hold, getenv("ZR_TEST_TOKEN_HOLD"));
#endif
    g->backchannel = g->oidc ? zr_saml_backchannel_new(cfg, err, errlen) : NULL;
    if (!g->backchannel)
        goto fail;
    if (cfg->dezi.enabled && !(g->dezi = zr_dezi_new(&cfg->dezi, cfg->environment, err, errlen)))
        goto fail;
    if (!(g->pdps = calloc(cfg->client_count + 1, sizeof(*g->pdps))))
        goto fail;
    g->pdp_count = cfg->client_count;
    for (size_t i = 0; i < cfg->client_count; i++)
        if (cfg->clients[i].authzen.enabled &&
            !(g->pdps[i] = zr_authz_pdp_new(&cfg->clients[i].authzen, err, errlen)))
            goto fail;
    return g;
fail:
    gen_free(g);
    return NULL;
}

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* Whether the current generation has tenant t as it is (same id, same
 * fingerprint): a login that began with t then finds it there. */
static int gen_current_has(const zr_relay_t *relay, const zr_tenant_t *t)
{
    const zr_tenant_t *now = zr_config_find_tenant(relay->gen->cfg, t->id);
    return now && str_same(now->fingerprint, t->fingerprint);
}

/* Trims retired generation g, which no request uses (users == 0), to the
 * care providers a login in flight may still come back to: those the
 * current generation changed or removed (none when keep_none), with the
 * settings and the back channel that resolve their artifacts. The rest goes
 * onto *garbage as a generation of its own, to be freed outside the lock:
 * the other providers, the former ones, the clients, the OpenID Provider and
 * the PDP clients (only the current generation serves those; Dezi's client,
 * small, reads its settings when freed and goes with g). The startup
 * configuration is serve's: it keeps its settings, and its clients until
 * the first reload has copied what the sector check reads of them
 * (relay->started_sectors). 0 when trimmed; -1 when out of memory (g as it
 * was). */
static int gen_trim_locked(zr_relay_t *relay, zr_relay_gen_t *g, int keep_none, zr_relay_gen_t **garbage)
{
    zr_relay_gen_t *shell = calloc(1, sizeof(*shell));
    unsigned char *keep = calloc(g->cfg->tenant_count + 1, 1);
    zr_config_t *rest = NULL;
    int rc = -1;

    if (!shell || !keep)
        goto end;
    for (size_t i = 0; !keep_none && i < g->cfg->tenant_count; i++)
        keep[i] = !gen_current_has(relay, &g->cfg->tenants[i]);
    if (zr_config_retain_tenants(g->trim_cfg, keep, !g->owned_cfg && !relay->started_sectors, &rest) != 0)
        goto end;
    shell->cfg = shell->owned_cfg = rest;
    shell->oidc = g->oidc;
    shell->pdps = g->pdps;
    shell->pdp_count = g->pdp_count;
    g->oidc = NULL;
    g->pdps = NULL;
    g->pdp_count = 0;
    shell->serial = g->serial;
    shell->next = *garbage;
    *garbage = shell;
    shell = NULL;
    if (!g->trimmed)
        zr_log_info("reload", "configuration generation %lu retired: %zu care provider%s kept for logins in flight",
                    g->serial, g->cfg->tenant_count, g->cfg->tenant_count == 1 ? "" : "s");
    g->trimmed = 1;
    rc = 0;
end:
    free(keep);
    free(shell);
    return rc;
}

/* The retired generations no request uses: trimmed at the first chance
 * (gen_trim_locked), released once no pending login can come back to them
 * (trimmed to nothing, or oidc.session_lifetime + 60 s after they were
 * retired). What comes out goes onto *garbage: the caller frees it with
 * gen_garbage_free after releasing gen_lock. Caller holds gen_lock. */
static void gen_sweep_locked(zr_relay_t *relay, zr_relay_gen_t **garbage)
{
    time_t now = zr_time_now();
    int keep_s = relay->cfg->oidc.session_lifetime_s + 60;
    zr_relay_gen_t **pp = &relay->retired_gens;
    while (*pp) {
        zr_relay_gen_t *g = *pp;
        int expired = now - g->retired_at >= keep_s;
        if (g->users == 0 && !g->trimmed)
            gen_trim_locked(relay, g, expired, garbage);
        if (g->users == 0 && ((g->trimmed && g->cfg->tenant_count == 0) || expired)) {
            /* The startup configuration is serve's: its providers go now. */
            if (!g->owned_cfg && g->cfg->tenant_count && gen_trim_locked(relay, g, 1, garbage) != 0) {
                pp = &g->next;
                continue;
            }
            *pp = g->next;
            zr_log_info("reload", "configuration generation %lu released", g->serial);
            g->next = *garbage;
            *garbage = g;
        } else {
            pp = &g->next;
        }
    }
}

/* Frees what gen_sweep_locked took out, and gives the memory back to the
 * system: glibc keeps freed memory in its arenas (the configuration loader's
 * threads have their own) until trimmed, so a relay that reloads hourly
 * would otherwise hold every configuration it ever loaded. */
static void gen_garbage_free(zr_relay_gen_t *garbage)
{
    if (!garbage)
        return;
    for (zr_relay_gen_t *g = garbage, *next; g; g = next) {
        next = g->next;
        gen_free(g);
    }
    malloc_trim(0);
}

zr_relay_gen_t *zr_relay_gen_get(zr_relay_t *relay)
{
    zr_relay_gen_t *g;
    pthread_mutex_lock(&relay->gen_lock);
    g = relay->gen;
    g->users++;
    pthread_mutex_unlock(&relay->gen_lock);
    return g;
}

void zr_relay_gen_put(zr_relay_t *relay, zr_relay_gen_t *gen)
{
    zr_relay_gen_t *garbage = NULL;
    if (!gen)
        return;
    pthread_mutex_lock(&relay->gen_lock);
    gen->users--;
    if (gen != relay->gen && gen->users == 0)
        gen_sweep_locked(relay, &garbage);
    pthread_mutex_unlock(&relay->gen_lock);
    gen_garbage_free(garbage);
}

static const zr_tenant_t *gen_tenant_matching(const zr_relay_gen_t *g, const char *tenant_id, const char *fingerprint)
{
    const zr_tenant_t *t = zr_config_find_tenant(g->cfg, tenant_id);
    if (!t)
        return NULL;
    /* A login begun before fingerprints existed matches by id alone. */
    if (fingerprint && (!t->fingerprint || strcmp(t->fingerprint, fingerprint) != 0))
        return NULL;
    return t;
}

zr_relay_gen_t *zr_relay_gen_find_tenant(zr_relay_t *relay, const char *tenant_id, const char *fingerprint,
                                         const zr_tenant_t **tenant)
{
    zr_relay_gen_t *found = NULL;
    const zr_tenant_t *t = NULL;
    *tenant = NULL;
    pthread_mutex_lock(&relay->gen_lock);
    if ((t = gen_tenant_matching(relay->gen, tenant_id, fingerprint)) != NULL)
        found = relay->gen;
    for (zr_relay_gen_t *g = relay->retired_gens; g && !found; g = g->next)
        if ((t = gen_tenant_matching(g, tenant_id, fingerprint)) != NULL)
            found = g;
    if (found) {
        found->users++;
        *tenant = t;
    }
    pthread_mutex_unlock(&relay->gen_lock);
    return found;
}

static int strv_same(char *const *a, size_t an, char *const *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (!str_same(a[i], b[i]))
            return 0;
    return 1;
}

/* Settings that live in long-lived state (listening socket, Redis pool, TVS
 * metadata, token issuer): a reload that changes them is refused, naming
 * the first one, rather than half applied. */
/* The listener's limits are set when it starts (issue 13 §3). */
static int limits_same(const zr_limits_config_t *a, const zr_limits_config_t *b)
{
    return a->max_connections == b->max_connections && a->max_connections_set == b->max_connections_set &&
           a->max_connections_per_ip == b->max_connections_per_ip && a->header_timeout_s == b->header_timeout_s &&
           a->body_timeout_s == b->body_timeout_s && a->idle_timeout_s == b->idle_timeout_s &&
           a->max_uri_bytes == b->max_uri_bytes && a->drain_timeout_s == b->drain_timeout_s &&
           a->trusted_proxy_count == b->trusted_proxy_count &&
           (a->trusted_proxy_count == 0 ||
            memcmp(a->trusted_proxies, b->trusted_proxies, a->trusted_proxy_count * sizeof(*a->trusted_proxies)) == 0);
}

static const char *restart_only_change(const zr_config_t *a, const zr_config_t *b)
{
    if (a->environment != b->environment)
        return "environment";
    if (!str_same(a->listen, b->listen))
        return "listen";
    if (!str_same(a->public_base_url, b->public_base_url))
        return "public_base_url";
    if (!str_same(a->tls_cert_file, b->tls_cert_file) || !str_same(a->tls_key_file, b->tls_key_file))
        return "tls";
    /* the listener's client CAs and forwarded-certificate header */
    if (!str_same(a->oidc.mtls_ca_file, b->oidc.mtls_ca_file) ||
        !str_same(a->oidc.mtls_forwarded_cert_header, b->oidc.mtls_forwarded_cert_header))
        return "oidc.mtls";
    if (a->threads != b->threads)
        return "threads";
    /* One stream, one format: a shipper parsing JSON must not get text. */
    if (a->log_format != b->log_format)
        return "log_format";
    if (a->max_body_bytes != b->max_body_bytes)
        return "max_body_bytes";
    if (!limits_same(&a->limits, &b->limits))
        return "limits";
    if (a->metrics.enabled != b->metrics.enabled || !str_same(a->metrics.listen, b->metrics.listen) ||
        a->metrics.allow_remote != b->metrics.allow_remote ||
        a->metrics.per_care_provider != b->metrics.per_care_provider)
        return "metrics";
    if (!str_same(a->redis.host, b->redis.host) || a->redis.port != b->redis.port ||
        !str_same(a->redis.unix_socket, b->redis.unix_socket) || !str_same(a->redis.password, b->redis.password) ||
        a->redis.db != b->redis.db || a->redis.timeout_ms != b->redis.timeout_ms ||
        !str_same(a->redis.prefix, b->redis.prefix) ||
        CRYPTO_memcmp(a->redis.encryption_key, b->redis.encryption_key, sizeof(a->redis.encryption_key)) != 0)
        return "redis";
    if (!str_same(a->tvs.metadata, b->tvs.metadata) || !str_same(a->tvs.trust_anchor_file, b->tvs.trust_anchor_file) ||
        !str_same(a->tvs.tls_ca_file, b->tvs.tls_ca_file) || !str_same(a->tvs.entity_id, b->tvs.entity_id) ||
        a->tvs.clock_skew_s != b->tvs.clock_skew_s || a->tvs.connect_timeout_ms != b->tvs.connect_timeout_ms ||
        a->tvs.timeout_ms != b->tvs.timeout_ms ||
        !strv_same(a->tvs.metadata_signer_sha256, a->tvs.metadata_signer_sha256_count, b->tvs.metadata_signer_sha256,
                   b->tvs.metadata_signer_sha256_count) ||
        !strv_same(a->tvs.metadata_signer_subject, a->tvs.metadata_signer_subject_count,
                   b->tvs.metadata_signer_subject, b->tvs.metadata_signer_subject_count))
        return "tvs";
    if (!str_same(a->oidc.issuer, b->oidc.issuer))
        return "oidc.issuer";
    if (CRYPTO_memcmp(a->oidc.pairwise_secret, b->oidc.pairwise_secret, sizeof(a->oidc.pairwise_secret)) != 0)
        return "oidc.pairwise_secret_file";
    if (a->oidc.session_lifetime_s != b->oidc.session_lifetime_s)
        return "oidc.session_lifetime";
    return NULL;
}

/* OIDC Core §8.1: a client's sector decides every `sub` it sees, so a new
 * sector gives every person a new identity at that portal. A reload or a
 * start that would do so is refused unless oidc.allow_sector_change lists
 * the client. Each refused client is logged under event with where the
 * configuration sets its sector; what names the first without file names
 * (it is shown on /healthz and /readyz). The number refused. */
static size_t sector_changes_judge(const char *event, const zr_sector_change_t *changes, size_t count, char *what,
                                   size_t whatlen)
{
    size_t refused = 0;
    for (size_t i = 0; i < count; i++) {
        const zr_sector_change_t *ch = &changes[i];
        const char *client = ch->after->client_id, *to = zr_client_sector(ch->after, NULL),
                   *to_key = zr_client_sector_key(ch->after), *source = ch->recorded ? ", recorded in Redis" : "";
        if (ch->allowed)
            continue;
        zr_log_error(event, "%s: client '%s' would change its pairwise sector from '%s' (%s%s) to '%s' (%s), and "
                     "with it every sub it sees; to do that deliberately, list it under oidc.allow_sector_change",
                     ch->after->sector_origin ? ch->after->sector_origin : "?", client, ch->before_sector,
                     ch->before_key, source, to, to_key);
        if (refused++ == 0)
            snprintf(what, whatlen, "client '%s' would change its pairwise sector from '%s' (%s%s) to '%s' (%s); "
                     "list it under oidc.allow_sector_change to allow that", client, ch->before_sector,
                     ch->before_key, source, to, to_key);
    }
    if (refused > 1) {
        size_t used = strlen(what);
        snprintf(what + used, whatlen - used, " (and %zu more, see the log)", refused - 1);
    }
    return refused;
}

/* The reload's comparison with the configuration in use (or, for a client
 * it lacks, the one the process started with). Fills *changes (the caller
 * frees it); 0 when the reload may go on, else -1 with why in what. */
static int sector_changes_refused(zr_relay_t *relay, const zr_config_t *next, zr_sector_change_t **changes,
                                  size_t *count, char *what, size_t whatlen)
{
    const zr_config_t *running;

    pthread_mutex_lock(&relay->gen_lock);
    running = relay->gen->cfg; /* only the reloading thread replaces it */
    pthread_mutex_unlock(&relay->gen_lock);
    if (zr_config_sector_changes(running, relay->started_sectors ? relay->started_sectors : relay->cfg, next, changes,
                                 count) != 0) {
        snprintf(what, whatlen, "out of memory comparing the pairwise sectors");
        return -1;
    }
    return sector_changes_judge("reload", *changes, *count, what, whatlen) ? -1 : 0;
}

/* An allowed change, once nothing can stop it any more: every sub of the
 * client changes. */
static void sector_change_warn(const char *event, const zr_sector_change_t *ch)
{
    zr_log_warn(event, "%s: client '%s': pairwise sector '%s' (%s%s) -> '%s' (%s), allowed by "
                "oidc.allow_sector_change: every sub this client sees changes",
                ch->after->sector_origin ? ch->after->sector_origin : "?", ch->after->client_id, ch->before_sector,
                ch->before_key, ch->recorded ? ", recorded in Redis" : "", zr_client_sector(ch->after, NULL),
                zr_client_sector_key(ch->after));
}

/* The sector changes a reload makes, once nothing can stop it any more;
 * and an allowance with nothing to allow, which would let a later edit
 * through unnoticed. */
static void sector_changes_log(const zr_config_t *next, const zr_sector_change_t *changes, size_t count)
{
    for (size_t a = 0; a < next->oidc.allow_sector_change_count; a++) {
        const char *id = next->oidc.allow_sector_change[a];
        size_t i = 0;
        while (i < count && strcmp(changes[i].after->client_id, id) != 0)
            i++;
        if (i == count)
            zr_log_warn("reload", "oidc.allow_sector_change lists client '%s', whose pairwise sector does not "
                        "change: remove it, so that a later change is refused again", id);
    }
    for (size_t i = 0; i < count; i++)
        sector_change_warn("reload", &changes[i]);
}

/* A record change that the comparison with the running configuration has
 * already judged (same client, same sector before). */
static int sector_change_known(const zr_sector_change_t *known, size_t count, const zr_sector_change_t *ch)
{
    for (size_t i = 0; i < count; i++)
        if (known[i].after == ch->after && !strcmp(known[i].before_sector, ch->before_sector) &&
            !strcmp(known[i].before_key, ch->before_key))
            return 1;
    return 0;
}

/* The comparison of cfg with the sectors the cluster's relays recorded in
 * Redis (src/oidc/sector_record.c), at a start or a reload: 0 when cfg may
 * be served (allowed changes logged under event, except those in known,
 * and the records written), 1 when Redis is unavailable (nothing decided),
 * -1 when refused (why in what). */
static int sector_records_check(zr_relay_t *relay, const zr_config_t *cfg, const char *event,
                                const zr_sector_change_t *known, size_t known_count, char *what, size_t whatlen)
{
    char **records = NULL;
    zr_sector_change_t *changes = NULL;
    size_t count = 0, kept = 0;
    zr_store_status_t st;
    int rc = 1;

    if ((st = zr_oidc_sector_records_read(relay->store, cfg, &records)) != ZR_STORE_OK)
        goto end;
    if (zr_config_sector_record_changes(cfg, records, &changes, &count) != 0) {
        snprintf(what, whatlen, "out of memory comparing the pairwise sectors");
        rc = -1;
        goto end;
    }
    for (size_t i = 0; i < count; i++)
        if (!sector_change_known(known, known_count, &changes[i]))
            changes[kept++] = changes[i];
    count = kept;
    if (sector_changes_judge(event, changes, count, what, whatlen)) {
        rc = -1;
        goto end;
    }
    for (size_t i = 0; i < count; i++)
        sector_change_warn(event, &changes[i]);
    if ((st = zr_oidc_sector_records_write(relay->store, cfg)) != ZR_STORE_OK)
        goto end;
    rc = 0;
end:
    if (rc == 1)
        snprintf(what, whatlen, "Redis %s: the pairwise sectors cannot be compared with the cluster's record",
                 zr_store_status_name(st));
    free(changes);
    zr_oidc_sector_records_free(records, cfg->client_count);
    return rc;
}

/* What changed among the care providers, for the operator's log line. */
static void count_changes(const zr_config_t *old, const zr_config_t *new, size_t *added, size_t *changed,
                          size_t *removed)
{
    *added = *changed = *removed = 0;
    for (size_t i = 0; i < new->tenant_count; i++) {
        const zr_tenant_t *t = &new->tenants[i], *o = zr_config_find_tenant(old, t->id);
        if (!o)
            (*added)++;
        else if (!str_same(o->fingerprint, t->fingerprint))
            (*changed)++;
    }
    for (size_t i = 0; i < old->tenant_count; i++)
        if (!zr_config_find_tenant(new, old->tenants[i].id))
            (*removed)++;
}

static void ledger_warn(void *ctx, const char *msg)
{
    zr_log_warn((const char *)ctx, "care providers ledger: %s", msg);
}

/* The aansluitbestand's memory (zr/tenant_ledger.h), after every start and
 * reload that went through. A ledger that cannot be written is loud (log,
 * /healthz) but never stops a login; the next reload tries again. */
typedef struct {
    const zr_config_t *cfg;
    const char *event;
    zr_tenant_ledger_counts_t counts;
    char err[512];
    int rc;
} ledger_job_t;

static void *ledger_update(void *arg)
{
    ledger_job_t *job = arg;
    job->rc = zr_tenant_ledger_update(job->cfg->care_providers_ledger, job->cfg->tenants, job->cfg->tenant_count,
                                      zr_time_now(), &job->counts, ledger_warn, (void *)job->event, job->err,
                                      sizeof(job->err));
    return NULL;
}

static void ledger_record(zr_relay_t *relay, const zr_config_t *cfg, const char *event)
{
    ledger_job_t job = {cfg, event, {0}, "", -1};
    char status[sizeof(relay->ledger_status)];
    pthread_t thread;
    if (!cfg->care_providers_ledger) {
        snprintf(status, sizeof(status), "none (no care_providers_dir or care_providers_ledger)");
        goto end;
    }
    /* Folding the ledger builds a JSON object for every provider it ever
     * knew (tens of MB at 10,000), all freed again. On a thread of its own
     * they come from a malloc arena that holds nothing long-lived, which
     * malloc_trim then gives back whole; among the configuration's objects
     * they would leave holes (issue 14 §2, bench/reloads). */
    if (pthread_create(&thread, NULL, ledger_update, &job) == 0)
        pthread_join(thread, NULL);
    else
        ledger_update(&job);
    malloc_trim(0);
    if (job.rc != 0) {
        /* /healthz is public: no paths, no error text; the log has both. */
        snprintf(status, sizeof(status), "error: cannot be written, see the log (\"care providers ledger\")");
        zr_log_error(event, "care providers ledger: %s; tenants export misses this %s's changes until a reload "
                     "can write it", job.err, event);
        goto end;
    }
    snprintf(status, sizeof(status), "ok");
    if (job.counts.added + job.counts.changed + job.counts.left + job.counts.returned)
        zr_log_info(event, "care providers ledger %s: %zu added, %zu changed, %zu left, %zu returned",
                    cfg->care_providers_ledger, job.counts.added, job.counts.changed, job.counts.left,
                    job.counts.returned);
end:
    pthread_mutex_lock(&relay->gen_lock);
    snprintf(relay->ledger_status, sizeof(relay->ledger_status), "%s", status);
    pthread_mutex_unlock(&relay->gen_lock);
}

static void reload_refused(zr_relay_t *relay, const char *what)
{
    pthread_mutex_lock(&relay->gen_lock);
    relay->reloads_refused++;
    zr_metrics_count(ZR_METRICS_RELOADS_REFUSED);
    snprintf(relay->reload_status, sizeof(relay->reload_status), "refused: %s", what);
    pthread_mutex_unlock(&relay->gen_lock);
    zr_log_error("reload", "%s; keeping the running configuration", what);
}

static int relay_reload_locked(zr_relay_t *relay)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_relay_gen_t *g = NULL, *old, *garbage = NULL;
    zr_config_t *started = NULL;
    const zr_config_t *running;
    const char *changed_setting;
    char err[512] = "", what[600];
    size_t added, changed, removed, sector_count = 0;
    zr_sector_change_t *sectors = NULL;
    int rc = -1;

    /* TVS's metadata too, now rather than at the next refresh: an operator
     * who put a new file in place sees it taken (or refused) at once. */
    idp_reload(relay);
    zr_log_info("reload", "SIGHUP: reading %s", relay->cfg->file);
    /* The generation in use stays as it is while this thread loads: only
     * this thread replaces it. */
    pthread_mutex_lock(&relay->gen_lock);
    running = relay->gen->cfg;
    pthread_mutex_unlock(&relay->gen_lock);
    cfg = zr_config_load_reusing(relay->cfg->file, 0, running, &errs);
    if (!cfg) {
        for (size_t i = 0; i < errs.count && i < 50; i++)
            zr_log_error("reload", "%s", errs.lines[i]);
        if (errs.count > 50)
            zr_log_error("reload", "... and %zu more", errs.count - 50);
        snprintf(what, sizeof(what), "%zu configuration error%s", errs.count, errs.count == 1 ? "" : "s");
        reload_refused(relay, what);
        goto end;
    }
    if ((changed_setting = restart_only_change(relay->cfg, cfg)) != NULL) {
        snprintf(what, sizeof(what), "%s changed: that needs a restart", changed_setting);
        reload_refused(relay, what);
        goto end;
    }
    if (sector_changes_refused(relay, cfg, &sectors, &sector_count, what, sizeof(what)) != 0) {
        reload_refused(relay, what);
        goto end;
    }
    g = gen_new(relay, cfg, err, sizeof(err));
    if (!g) {
        reload_refused(relay, err);
        goto end;
    }
    /* And with what the cluster's relays serve: another process may have
     * been restarted or reloaded with another sector. Redis unreachable
     * refuses too: the comparison cannot be left out. */
    pthread_mutex_lock(&relay->sector_lock);
    if (sector_records_check(relay, cfg, "reload", sectors, sector_count, what, sizeof(what)) != 0) {
        pthread_mutex_unlock(&relay->sector_lock);
        gen_free(g);
        g = NULL;
        reload_refused(relay, what);
        goto end;
    }
    snprintf(relay->sectors_status, sizeof(relay->sectors_status), "ok");
    __atomic_store_n(&relay->sectors, ZR_RELAY_SECTORS_OK, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&relay->sector_lock);
    sector_changes_log(cfg, sectors, sector_count);
    g->owned_cfg = cfg;
    cfg = NULL;
    /* Before the startup generation is retired (and trimmed). */
    if (!relay->started_sectors && !(started = zr_config_sectors_copy(relay->cfg))) {
        gen_free(g);
        g = NULL;
        reload_refused(relay, "out of memory copying the startup configuration's sectors");
        goto end;
    }

    pthread_mutex_lock(&relay->gen_lock);
    if (started) {
        relay->started_sectors = started;
        started = NULL;
    }
    old = relay->gen;
    count_changes(old->cfg, g->cfg, &added, &changed, &removed);
    g->serial = old->serial + 1;
    old->retired_at = zr_time_now();
    old->next = relay->retired_gens;
    relay->retired_gens = old;
    relay->gen = g;
    relay->reloads_ok++;
    zr_metrics_count(ZR_METRICS_RELOADS_OK);
    snprintf(relay->reload_status, sizeof(relay->reload_status), "ok: generation %lu, %zu quarantined", g->serial,
             g->cfg->quarantined_count);
    gen_sweep_locked(relay, &garbage);
    pthread_mutex_unlock(&relay->gen_lock);
    gen_garbage_free(garbage);
    /* The decision log may have moved (or been rotated away): reopen. */
    if (zr_authz_log_open(&g->cfg->decision_log, err, sizeof(err)) != 0)
        zr_log_error("reload", "decision log: %s", err);
    /* So may the audit stream: reopened (rotation); a file that cannot be
     * opened keeps the one in use rather than lose records. */
    if (zr_audit_open(g->cfg->audit_log.file, g->cfg->audit_log.subject_key, g->cfg->audit_log.refuse, err,
                      sizeof(err)) != 0)
        zr_log_error("reload", "audit log: %s", err);
    zr_log_info("reload", "generation %lu in use: %zu care providers (%zu added, %zu changed, %zu removed), %zu "
                          "quarantined, %zu clients",
                g->serial, g->cfg->tenant_count, added, changed, removed, g->cfg->quarantined_count,
                g->cfg->client_count);
    zr_config_log_quarantined(g->cfg, "reload");
    ledger_record(relay, g->cfg, "reload");
    zr_relay_metrics_reloaded(g->cfg);
    rc = 0;
end:
    free(sectors);
    zr_config_errors_free(&errs);
    zr_config_free(cfg);
    zr_config_free(started);
    return rc;
}

int zr_relay_reload(zr_relay_t *relay)
{
    int rc;
    pthread_mutex_lock(&relay->reload_lock);
    rc = relay_reload_locked(relay);
    pthread_mutex_unlock(&relay->reload_lock);
    return rc;
}

int zr_relay_init(zr_relay_t *relay, zr_config_t *cfg, char *err, size_t errlen)
{
    char what[600] = "";
    memset(relay, 0, sizeof(*relay));
    relay->cfg = cfg;
    pthread_mutex_init(&relay->gen_lock, NULL);
    pthread_mutex_init(&relay->reload_lock, NULL);
    pthread_mutex_init(&relay->idp_lock, NULL);
    pthread_mutex_init(&relay->stop_lock, NULL);
    pthread_cond_init(&relay->stop_cond, NULL);
    pthread_mutex_init(&relay->sector_lock, NULL);
    zr_relay_health_init(relay);
#ifdef ZR_TESTING
    /* Makes every subject one the relay cannot describe to a PDP: no login
     * can produce one (tests/integration/test_authz_subject.sh). */
    relay->authz_subject_broken = getenv("ZR_TEST_AUTHZ_SUBJECT_BROKEN") != NULL;
#endif
    if (zr_xml_init() != 0) {
        snprintf(err, errlen, "cannot initialise libxml2/xmlsec");
        return -1;
    }
    if (zr_saml_init(err, errlen) != 0)
        return -1;
    relay->store = zr_store_open(&cfg->redis, err, errlen);
    if (!relay->store)
        return -1;
    relay->gen = gen_new(relay, cfg, err, errlen);
    if (!relay->gen)
        return -1;
    relay->gen->serial = 1;
    if (zr_authz_log_open(&cfg->decision_log, err, errlen) != 0)
        return -1;
    if (zr_audit_open(cfg->audit_log.file, cfg->audit_log.subject_key, cfg->audit_log.refuse, err, errlen) != 0)
        return -1;
    if (!cfg->audit_log.file && cfg->environment == ZR_ENV_PRODUCTION)
        zr_log_warn("audit", "no audit_log configured: logins leave no NEN 7513 audit records "
                             "(docs/operations.md \"Audit stream (NEN 7513)\")");
    /* A restart must not change a `sub` where a reload could not. */
    switch (sector_records_check(relay, cfg, "startup", NULL, 0, what, sizeof(what))) {
    case 0:
        relay->sectors = ZR_RELAY_SECTORS_OK;
        snprintf(relay->sectors_status, sizeof(relay->sectors_status), "ok");
        break;
    case 1:
        /* Started all the same (an orchestrator may start Redis after us):
         * nothing is served that needs Redis until it answers, and then the
         * comparison comes first (zr_relay_sectors_ready). */
        snprintf(relay->sectors_status, sizeof(relay->sectors_status), "not compared yet: %s", what);
        zr_log_warn("startup", "Redis not reachable yet; logins get a 503 page until it is, and the pairwise "
                    "sectors are compared with the cluster's record before the first");
        break;
    default:
        snprintf(err, errlen, "refusing to start: %s", what);
        return -1;
    }
    snprintf(relay->reload_status, sizeof(relay->reload_status), "none");
    ledger_record(relay, cfg, "startup");
    /* A relay without TVS metadata cannot log anyone in, but it still serves
     * discovery and tokens; it keeps retrying in the background. */
    idp_reload(relay);
    if (pthread_create(&relay->refresher, NULL, idp_refresher, relay) == 0)
        relay->refresher_running = 1;
    return 0;
}

void zr_relay_cleanup(zr_relay_t *relay)
{
    if (relay->refresher_running) {
        pthread_mutex_lock(&relay->stop_lock);
        relay->stopping = 1;
        pthread_cond_signal(&relay->stop_cond);
        pthread_mutex_unlock(&relay->stop_lock);
        pthread_join(relay->refresher, NULL);
    }
    if (relay->idp) {
        relay->idp->next = relay->retired;
        relay->retired = relay->idp;
        relay->idp = NULL;
    }
    for (zr_idp_ref_t *r = relay->retired, *next; r; r = next) {
        next = r->next;
        zr_saml_idp_free(r->idp);
        free(r);
    }
    relay->retired = NULL;
    gen_free(relay->gen);
    relay->gen = NULL;
    for (zr_relay_gen_t *g = relay->retired_gens, *next; g; g = next) {
        next = g->next;
        gen_free(g);
    }
    relay->retired_gens = NULL;
    zr_config_free(relay->started_sectors);
    relay->started_sectors = NULL;
    zr_store_close(relay->store);
    zr_authz_log_close();
    zr_audit_close();
    pthread_mutex_destroy(&relay->gen_lock);
    pthread_mutex_destroy(&relay->reload_lock);
    pthread_mutex_destroy(&relay->idp_lock);
    pthread_mutex_destroy(&relay->stop_lock);
    pthread_cond_destroy(&relay->stop_cond);
    pthread_mutex_destroy(&relay->sector_lock);
    zr_relay_health_cleanup(relay);
}

int zr_relay_sectors_ready(zr_relay_t *relay)
{
    char what[600] = "";
    zr_relay_gen_t *gen;
    int state, rc;

    /* The common case, without a lock: once compared it stays so (a reload
     * that would undo that is refused). */
    if (__atomic_load_n(&relay->sectors, __ATOMIC_ACQUIRE) == ZR_RELAY_SECTORS_OK)
        return ZR_RELAY_SECTORS_OK;
    /* One request compares; the others get their 503 at once instead of
     * queueing behind a Redis that may be slow to time out. */
    if (pthread_mutex_trylock(&relay->sector_lock) != 0)
        return ZR_RELAY_SECTORS_UNCHECKED;
    if (relay->sectors == ZR_RELAY_SECTORS_UNCHECKED) {
        gen = zr_relay_gen_get(relay);
        rc = sector_records_check(relay, gen->cfg, "startup", NULL, 0, what, sizeof(what));
        zr_relay_gen_put(relay, gen);
        if (rc == 0) {
            snprintf(relay->sectors_status, sizeof(relay->sectors_status), "ok");
            __atomic_store_n(&relay->sectors, ZR_RELAY_SECTORS_OK, __ATOMIC_RELEASE);
            zr_log_info("startup", "Redis reachable: the pairwise sectors agree with the cluster's record");
        } else if (rc < 0) {
            /* What a start with Redis reachable would have done. */
            __atomic_store_n(&relay->sectors, ZR_RELAY_SECTORS_REFUSED, __ATOMIC_RELEASE);
            snprintf(relay->sectors_status, sizeof(relay->sectors_status), "refused: %s", what);
            zr_log_error("startup", "refusing to serve: %s; stopping", what);
            kill(getpid(), SIGTERM);
        }
    }
    state = relay->sectors;
    pthread_mutex_unlock(&relay->sector_lock);
    return state;
}
