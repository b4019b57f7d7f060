/* The relay's long-lived state: store, OpenID Provider, back channel and the
 * verified TVS metadata, which a background thread reloads so that a new
 * metadata file (new TVS keys) needs no restart and an expired one is noticed. */
#include "relay_internal.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zr/log.h"
#include "zr/util.h"
#include "zr/xml.h"

#define IDP_REFRESH_SECONDS 300

static void gen_sweep_locked(zr_relay_t *relay);

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
        gen_sweep_locked(relay);
        pthread_mutex_unlock(&relay->gen_lock);
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
    for (size_t i = 0; g->pdps && i < g->cfg->client_count; i++)
        zr_authz_pdp_free(g->pdps[i]);
    free(g->pdps);
    zr_dezi_free(g->dezi);
    zr_saml_backchannel_free(g->backchannel);
    zr_oidc_free(g->oidc);
    zr_config_free(g->owned_cfg);
    free(g);
}

static zr_relay_gen_t *gen_new(zr_relay_t *relay, const zr_config_t *cfg, char *err, size_t errlen)
{
    zr_relay_gen_t *g = calloc(1, sizeof(*g));
    if (!g) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->cfg = cfg;
    g->oidc = zr_oidc_new(cfg, relay->store, err, errlen);
    g->backchannel = g->oidc ? zr_saml_backchannel_new(cfg, err, errlen) : NULL;
    if (!g->backchannel)
        goto fail;
    if (cfg->dezi.enabled && !(g->dezi = zr_dezi_new(&cfg->dezi, cfg->environment, err, errlen)))
        goto fail;
    if (!(g->pdps = calloc(cfg->client_count + 1, sizeof(*g->pdps))))
        goto fail;
    for (size_t i = 0; i < cfg->client_count; i++)
        if (cfg->clients[i].authzen.enabled &&
            !(g->pdps[i] = zr_authz_pdp_new(&cfg->clients[i].authzen, err, errlen)))
            goto fail;
    return g;
fail:
    gen_free(g);
    return NULL;
}

/* Frees retired generations nobody uses and no pending login can come back
 * to any more. Caller holds gen_lock. */
static void gen_sweep_locked(zr_relay_t *relay)
{
    time_t now = zr_time_now();
    int keep_s = relay->cfg->oidc.session_lifetime_s + 60;
    zr_relay_gen_t **pp = &relay->retired_gens;
    while (*pp) {
        zr_relay_gen_t *g = *pp;
        if (g->users == 0 && now - g->retired_at >= keep_s) {
            *pp = g->next;
            zr_log_info("reload", "configuration generation %lu released", g->serial);
            gen_free(g);
        } else {
            pp = &g->next;
        }
    }
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
    if (!gen)
        return;
    pthread_mutex_lock(&relay->gen_lock);
    gen->users--;
    if (gen != relay->gen && gen->users == 0)
        gen_sweep_locked(relay);
    pthread_mutex_unlock(&relay->gen_lock);
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

static int str_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
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
    if (a->threads != b->threads)
        return "threads";
    if (a->max_body_bytes != b->max_body_bytes)
        return "max_body_bytes";
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
 * sector gives every person a new identity at that portal. A reload that
 * would do so is refused unless oidc.allow_sector_change lists the client.
 * Compared with the configuration in use (or, for a client it lacks, the
 * one the process started with). Fills *changes (the caller frees it);
 * 0 when the reload may go on, else -1 with why in what: each refused
 * client is logged with where the new configuration sets its sector, what
 * names the first without file names (it is shown on /healthz). */
static int sector_changes_refused(zr_relay_t *relay, const zr_config_t *next, zr_sector_change_t **changes,
                                  size_t *count, char *what, size_t whatlen)
{
    const zr_config_t *running;
    size_t refused = 0;

    pthread_mutex_lock(&relay->gen_lock);
    running = relay->gen->cfg; /* only the reloading thread replaces it */
    pthread_mutex_unlock(&relay->gen_lock);
    if (zr_config_sector_changes(running, relay->cfg, next, changes, count) != 0) {
        snprintf(what, whatlen, "out of memory comparing the pairwise sectors");
        return -1;
    }
    for (size_t i = 0; i < *count; i++) {
        const zr_sector_change_t *ch = &(*changes)[i];
        const char *client = ch->after->client_id, *from = zr_client_sector(ch->before, NULL),
                   *to = zr_client_sector(ch->after, NULL), *from_key = zr_client_sector_key(ch->before),
                   *to_key = zr_client_sector_key(ch->after);
        if (ch->allowed)
            continue;
        zr_log_error("reload", "%s: client '%s' would change its pairwise sector from '%s' (%s) to '%s' (%s), and "
                     "with it every sub it sees; to do that deliberately, list it under oidc.allow_sector_change",
                     ch->after->sector_origin ? ch->after->sector_origin : "?", client, from, from_key, to, to_key);
        if (refused++ == 0)
            snprintf(what, whatlen, "client '%s' would change its pairwise sector from '%s' (%s) to '%s' (%s); "
                     "list it under oidc.allow_sector_change to allow that", client, from, from_key, to, to_key);
    }
    if (refused > 1) {
        size_t used = strlen(what);
        snprintf(what + used, whatlen - used, " (and %zu more, see the log)", refused - 1);
    }
    return refused ? -1 : 0;
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
        zr_log_warn("reload", "%s: client '%s': pairwise sector '%s' (%s) -> '%s' (%s), allowed by "
                    "oidc.allow_sector_change: every sub this client sees changes",
                    changes[i].after->sector_origin ? changes[i].after->sector_origin : "?",
                    changes[i].after->client_id, zr_client_sector(changes[i].before, NULL),
                    zr_client_sector_key(changes[i].before), zr_client_sector(changes[i].after, NULL),
                    zr_client_sector_key(changes[i].after));
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

static void reload_refused(zr_relay_t *relay, const char *what)
{
    pthread_mutex_lock(&relay->gen_lock);
    relay->reloads_refused++;
    snprintf(relay->reload_status, sizeof(relay->reload_status), "refused: %s", what);
    pthread_mutex_unlock(&relay->gen_lock);
    zr_log_error("reload", "%s; keeping the running configuration", what);
}

int zr_relay_reload(zr_relay_t *relay)
{
    zr_config_errors_t errs = {0};
    zr_config_t *cfg = NULL;
    zr_relay_gen_t *g = NULL, *old;
    const char *changed_setting;
    char err[512] = "", what[600];
    size_t added, changed, removed, sector_count = 0;
    zr_sector_change_t *sectors = NULL;
    int rc = -1;

    /* TVS's metadata too, now rather than at the next refresh: an operator
     * who put a new file in place sees it taken (or refused) at once. */
    idp_reload(relay);
    zr_log_info("reload", "SIGHUP: reading %s", relay->cfg->file);
    cfg = zr_config_load(relay->cfg->file, &errs);
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
    sector_changes_log(cfg, sectors, sector_count);
    g->owned_cfg = cfg;
    cfg = NULL;

    pthread_mutex_lock(&relay->gen_lock);
    old = relay->gen;
    count_changes(old->cfg, g->cfg, &added, &changed, &removed);
    g->serial = old->serial + 1;
    old->retired_at = zr_time_now();
    old->next = relay->retired_gens;
    relay->retired_gens = old;
    relay->gen = g;
    relay->reloads_ok++;
    snprintf(relay->reload_status, sizeof(relay->reload_status), "ok: generation %lu", g->serial);
    gen_sweep_locked(relay);
    pthread_mutex_unlock(&relay->gen_lock);
    /* The decision log may have moved (or been rotated away): reopen. */
    if (zr_authz_log_open(&g->cfg->decision_log, err, sizeof(err)) != 0)
        zr_log_error("reload", "decision log: %s", err);
    zr_log_info("reload", "generation %lu in use: %zu care providers (%zu added, %zu changed, %zu removed), %zu clients",
                g->serial, g->cfg->tenant_count, added, changed, removed, g->cfg->client_count);
    rc = 0;
end:
    free(sectors);
    zr_config_errors_free(&errs);
    zr_config_free(cfg);
    return rc;
}

int zr_relay_init(zr_relay_t *relay, const zr_config_t *cfg, char *err, size_t errlen)
{
    memset(relay, 0, sizeof(*relay));
    relay->cfg = cfg;
    pthread_mutex_init(&relay->gen_lock, NULL);
    pthread_mutex_init(&relay->idp_lock, NULL);
    pthread_mutex_init(&relay->stop_lock, NULL);
    pthread_cond_init(&relay->stop_cond, NULL);
    if (zr_xml_init() != 0) {
        snprintf(err, errlen, "cannot initialise libxml2/xmlsec");
        return -1;
    }
    relay->store = zr_store_open(&cfg->redis, err, errlen);
    if (!relay->store)
        return -1;
    if (zr_store_ping(relay->store) != ZR_STORE_OK)
        zr_log_warn("startup", "Redis not reachable yet; logins get a 503 page until it is");
    relay->gen = gen_new(relay, cfg, err, errlen);
    if (!relay->gen)
        return -1;
    relay->gen->serial = 1;
    if (zr_authz_log_open(&cfg->decision_log, err, errlen) != 0)
        return -1;
    snprintf(relay->reload_status, sizeof(relay->reload_status), "none");
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
    zr_store_close(relay->store);
    zr_authz_log_close();
    pthread_mutex_destroy(&relay->gen_lock);
    pthread_mutex_destroy(&relay->idp_lock);
    pthread_mutex_destroy(&relay->stop_lock);
    pthread_cond_destroy(&relay->stop_cond);
}
