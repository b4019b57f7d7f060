/* Internals of the mock TVS (src/mock/): the state one `zorgrelay mock-tvs`
 * process keeps and the handlers of its two listeners. */
#ifndef ZR_MOCK_INTERNAL_H
#define ZR_MOCK_INTERNAL_H

#include <stddef.h>

#include "zr/config.h"
#include "zr/http.h"
#include "zr/saml_idp.h"

/* A login in flight: the verified AuthnRequest, then the identity chosen. */
typedef struct {
    zr_saml_idp_request_t req;
    char *relay_state;   /* as received (<= 80 bytes), NULL when none was sent */
    size_t identity;     /* index into cfg->mock_tvs.identities, once chosen */
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
    const zr_config_t *cfg;
    char *metadata;          /* signed RD metadata */
    size_t metadata_len;
    char *acs_url;           /* the relay's ACS */
    char *form_action_csp;   /* CSP for the login page: 'self' plus the relay's origin */
    zr_mock_table_t *pending;   /* handle -> zr_mock_login_t */
    zr_mock_table_t *artifacts; /* artifact -> zr_mock_login_t */
} zr_mock_tvs_t;

/* Browser side (browser.c). */
int zr_mock_handle_sso(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_mock_handle_metadata(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

/* Mutual-TLS side (resolve.c). */
int zr_mock_handle_resolve(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

#endif
