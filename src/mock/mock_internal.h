/* Internals of the mock TVS (src/mock/): the state one `zorgrelay mock-tvs`
 * process keeps and the handlers of its two listeners. */
#ifndef ZR_MOCK_INTERNAL_H
#define ZR_MOCK_INTERNAL_H

#include <stdatomic.h>
#include <stddef.h>

#include "zr/config.h"
#include "zr/http.h"
#include "zr/saml_idp.h"

/* One loaded configuration and what the mock derives from it. A SIGHUP
 * adds a generation; every generation lives until the mock exits, because
 * logins in flight point into the one they started with. */
typedef struct zr_mock_gen {
    const zr_config_t *cfg;
    zr_config_t *owned;      /* cfg when loaded by a reload (freed at exit); NULL for the first */
    char *metadata;          /* signed RD metadata */
    size_t metadata_len;
    char *acs_url;           /* the relay's ACS */
    char *form_action_csp;   /* CSP for the login page: 'self' plus the relay's origin */
    struct zr_mock_gen *older;
} zr_mock_gen_t;

/* A login in flight: the verified AuthnRequest, then the identity chosen. */
typedef struct {
    const zr_mock_gen_t *gen; /* the configuration req->tenant and req->service point into */
    zr_saml_idp_request_t req;
    char *relay_state;   /* as received (<= 80 bytes), NULL when none was sent */
    size_t identity;     /* index into gen->cfg->mock_tvs.identities, once chosen */
} zr_mock_login_t;

void zr_mock_login_free(void *login);

/* An in-memory table of single-use entries that expire (the pending logins
 * by handle, the prepared answers by artifact). One process, one mutex:
 * enough for a mock, and the reason it is not the relay's store. */
typedef struct zr_mock_table zr_mock_table_t;
typedef void (*zr_mock_free_fn)(void *value);

zr_mock_table_t *zr_mock_table_new(size_t max_entries, int ttl_s, zr_mock_free_fn free_fn);
void zr_mock_table_free(zr_mock_table_t *t);
/* Stores value under key (taking ownership on success). -1 when the table is
 * full or the key exists. */
int zr_mock_table_put(zr_mock_table_t *t, const char *key, void *value);
/* Removes and returns the value under key; NULL when absent or expired. */
void *zr_mock_table_take(zr_mock_table_t *t, const char *key);

/* Entries live as long as TVS keeps an artifact (ST-SAML: 15 minutes). */
#define ZR_MOCK_TTL_S (15 * 60)
#define ZR_MOCK_MAX_ENTRIES 4096
#define ZR_MOCK_RELAY_STATE_MAX 80

typedef struct {
    /* The generation new requests use: swapped by the main thread on
     * SIGHUP, read by the listeners' threads. */
    _Atomic(zr_mock_gen_t *) current;
    zr_mock_table_t *pending;   /* handle -> zr_mock_login_t */
    zr_mock_table_t *artifacts; /* artifact -> zr_mock_login_t */
    zr_mock_table_t *sessions;  /* SessionIndex -> open session (logout.c, issue 5) */
} zr_mock_tvs_t;

static inline const zr_mock_gen_t *zr_mock_current(zr_mock_tvs_t *m)
{
    return atomic_load_explicit(&m->current, memory_order_acquire);
}

/* The login page's bsn_key field: "newest" (or absent), "all", or "0" / "1"
 * for the first / second configured BSN key (the page labels them 1 and 2).
 * Returns the zr_saml_idp_request_t.bsn_key value, or -100 when invalid. */
#define ZR_MOCK_BSN_KEY_INVALID (-100)
int zr_mock_parse_bsn_key(const char *value);

/* Browser side (browser.c). */
int zr_mock_handle_sso(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_handle_metadata(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

/* Logout (logout.c, issue 5): the sessions ArtifactResponses opened, and
 * the SingleLogoutService (HTTP-POST binding). init registers the session
 * observer of src/saml; cleanup removes it and frees the table. */
int zr_mock_logout_init(zr_mock_tvs_t *m);
void zr_mock_logout_cleanup(zr_mock_tvs_t *m);
int zr_mock_handle_logout(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

/* Mutual-TLS side (resolve.c). */
int zr_mock_handle_resolve(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

#endif
