/* State shared by the relay's handlers (src/relay/ only). */
#ifndef ZR_RELAY_INTERNAL_H
#define ZR_RELAY_INTERNAL_H

#include <pthread.h>
#include "zr/config.h"
#include "zr/oidc.h"
#include "zr/saml.h"
#include "zr/store.h"

typedef struct zr_idp_ref zr_idp_ref_t;

typedef struct {
    const zr_config_t *cfg;
    zr_store_t *store;
    zr_oidc_t *oidc;
    zr_saml_backchannel_t *backchannel;
    /* TVS metadata: replaced by the refresh thread, read by handlers. */
    pthread_mutex_t idp_lock;
    zr_idp_ref_t *idp;        /* current */
    zr_idp_ref_t *retired;    /* replaced, still used by a request in flight */
    char idp_error[256];
    pthread_t refresher;
    int refresher_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stopping;
} zr_relay_t;

int zr_relay_init(zr_relay_t *relay, const zr_config_t *cfg, char *err, size_t errlen);
void zr_relay_cleanup(zr_relay_t *relay);

/* The current verified TVS metadata, or NULL (err says why: not loaded,
 * expired). Each get is paired with a put; a replaced set stays alive until
 * its last user puts it back. */
zr_saml_idp_t *zr_relay_idp_get(zr_relay_t *relay, char *err, size_t errlen);
void zr_relay_idp_put(zr_relay_t *relay, zr_saml_idp_t *idp);

#endif
