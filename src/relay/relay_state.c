/* The relay's long-lived state: store, OpenID Provider, back channel and the
 * verified TVS metadata, which a background thread reloads so that a new
 * metadata file (new TVS keys) needs no restart and an expired one is noticed. */
#include "relay_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "zr/log.h"
#include "zr/util.h"
#include "zr/xml.h"

#define IDP_REFRESH_SECONDS 300

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

static void idp_install(zr_relay_t *relay, zr_saml_idp_t *idp)
{
    zr_idp_ref_t *ref = calloc(1, sizeof(*ref));
    if (!ref) {
        zr_saml_idp_free(idp);
        return;
    }
    ref->idp = idp;
    pthread_mutex_lock(&relay->idp_lock);
    if (relay->idp) {
        relay->idp->next = relay->retired;
        relay->retired = relay->idp;
    }
    relay->idp = ref;
    relay->idp_error[0] = '\0';
    idp_sweep_locked(relay);
    pthread_mutex_unlock(&relay->idp_lock);
}

static int idp_reload(zr_relay_t *relay)
{
    char err[256] = "";
    zr_saml_idp_t *idp = zr_saml_idp_load(relay->cfg, err, sizeof(err));
    if (!idp) {
        pthread_mutex_lock(&relay->idp_lock);
        snprintf(relay->idp_error, sizeof(relay->idp_error), "%s", err);
        pthread_mutex_unlock(&relay->idp_lock);
        zr_log_error("tvs-metadata", "load failed%s: %s", relay->idp ? ", keeping the current metadata" : "", err);
        return -1;
    }
    zr_log_info("tvs-metadata", "loaded %s (%zu signing keys)", idp->entity_id, idp->key_count);
    idp_install(relay, idp);
    return 0;
}

zr_saml_idp_t *zr_relay_idp_get(zr_relay_t *relay, char *err, size_t errlen)
{
    zr_saml_idp_t *idp = NULL;
    pthread_mutex_lock(&relay->idp_lock);
    if (!relay->idp) {
        snprintf(err, errlen, "TVS metadata not loaded: %s", relay->idp_error);
    } else if (relay->idp->idp->valid_until && relay->idp->idp->valid_until <= zr_time_now()) {
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
        pthread_mutex_lock(&relay->stop_lock);
    }
    pthread_mutex_unlock(&relay->stop_lock);
    return NULL;
}

int zr_relay_init(zr_relay_t *relay, const zr_config_t *cfg, char *err, size_t errlen)
{
    memset(relay, 0, sizeof(*relay));
    relay->cfg = cfg;
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
    relay->oidc = zr_oidc_new(cfg, relay->store, err, errlen);
    if (!relay->oidc)
        return -1;
    relay->backchannel = zr_saml_backchannel_new(cfg, err, errlen);
    if (!relay->backchannel)
        return -1;
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
    zr_saml_backchannel_free(relay->backchannel);
    zr_oidc_free(relay->oidc);
    zr_store_close(relay->store);
    pthread_mutex_destroy(&relay->idp_lock);
    pthread_mutex_destroy(&relay->stop_lock);
    pthread_cond_destroy(&relay->stop_cond);
}
