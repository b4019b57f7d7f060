/* State shared by the relay's handlers (src/relay/ only). */
#ifndef ZR_RELAY_INTERNAL_H
#define ZR_RELAY_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include "zr/authz.h"
#include "zr/config.h"
#include "zr/dezi.h"
#include "zr/http.h"
#include "zr/metrics.h"
#include "zr/oidc.h"
#include "zr/saml.h"
#include "zr/store.h"

typedef struct zr_idp_ref zr_idp_ref_t;

/* A health probe's result, shared by all threads (health.c): a load
 * balancer that asks every second from many places costs Redis and the
 * signing key at most one probe per ZR_RELAY_PROBE_CACHE_MS. */
#define ZR_RELAY_PROBE_CACHE_MS 1000
typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t done;          /* a probe finished (CLOCK_MONOTONIC waits) */
    int running;                  /* one thread is probing */
    int have;                     /* a result exists */
    int64_t at_ms;                /* monotonic, when it was taken */
    int ok;
    char what[320];               /* "ok" or why not */
} zr_relay_probe_t;

/* One loaded configuration with everything built from it (issue 3 §4).
 * A request takes the current generation at its start and uses it to the
 * end; a reload swaps in a new one atomically. A replaced generation is kept
 * (retired) for as long as a pending login may still come back to it
 * (oidc.session_lifetime), so a login finishes with the care provider
 * configuration it started with. Issue 14 §2: once no request uses it, a
 * retired generation is trimmed to the care providers the current one
 * changed or removed (a returning login finds the others in the current
 * one), with its settings and back channel; one left with none is freed. */
typedef struct zr_relay_gen {
    const zr_config_t *cfg;
    zr_config_t *owned_cfg;       /* loaded by a reload; NULL for the startup one */
    zr_config_t *trim_cfg;        /* cfg, writable: the startup one is trimmed too */
    zr_oidc_t *oidc;              /* NULL once retired and trimmed, as pdps */
    zr_saml_backchannel_t *backchannel;
    zr_dezi_t *dezi;              /* NULL without a dezi: section */
    zr_authz_pdp_t **pdps;        /* parallel to the clients; NULL where no authzen */
    size_t pdp_count;
    unsigned long serial;         /* 1 at startup, +1 per reload */
    int users;
    int trimmed;                  /* retired and trimmed (relay_state.c, gen_trim_locked) */
    time_t retired_at;            /* 0 while current */
    struct zr_relay_gen *next;    /* in the retired list, newest first */
} zr_relay_gen_t;

typedef struct {
    const zr_config_t *cfg;       /* the startup configuration: settings a reload cannot change */
    zr_store_t *store;
    /* Configuration generations: current + retired, under gen_lock. */
    pthread_mutex_t gen_lock;
    /* One reload at a time: SIGHUP on the main thread, or a registration
     * (RFC 7591/7592) applying its client file on a worker. */
    pthread_mutex_t reload_lock;
    long long pickup_refused_at;  /* when a reload for another process's registration was refused (relay.c) */
    zr_relay_gen_t *gen;
    zr_relay_gen_t *retired_gens;
    unsigned long reloads_ok, reloads_refused;
    /* The startup configuration's clients as the reload's sector check
     * reads them (zr_config_sectors_copy), made by the first reload: the
     * startup configuration itself is then trimmed like any other. Set
     * under gen_lock by the reloading thread, which alone reads it. */
    zr_config_t *started_sectors;
    char reload_status[256];      /* outcome of the last reload, for /healthz */
    char ledger_status[600];      /* the care providers' ledger after the last start/reload (under gen_lock) */
    /* TVS metadata: replaced by the refresh thread, read by handlers. */
    pthread_mutex_t idp_lock;
    zr_idp_ref_t *idp;        /* current */
    zr_idp_ref_t *retired;    /* replaced, still used by a request in flight */
    char idp_error[512];
    pthread_t refresher;
    int refresher_running;
    pthread_mutex_t stop_lock;
    pthread_cond_t stop_cond;
    int stopping;
    /* The pairwise sectors compared with the cluster's record in Redis
     * (zr_relay_sectors_ready): written under sector_lock with an atomic
     * store, read without the lock on the common path. */
    pthread_mutex_t sector_lock;
    int sectors;                  /* ZR_RELAY_SECTORS_* */
    char sectors_status[640];     /* for /readyz: a prefix and a what[600] */
    /* The listener, for the back-channel lane's load in /readyz: set
     * (atomically) once it is started, NULL before. */
    zr_http_server_t *server;
    zr_http_server_t *metrics_server; /* the /metrics listener (metrics.c), NULL without metrics: */
    /* Health (health.c): the probes too costly to run on every request. */
    zr_relay_probe_t store_probe; /* a real small write */
    zr_relay_probe_t saml_probe;  /* one AuthnRequest built in memory */
#ifdef ZR_TESTING
    int saml_selfcheck_broken;    /* ZR_TEST_BREAK_SAML_SELFCHECK, read at start */
    int authz_subject_broken;     /* ZR_TEST_AUTHZ_SUBJECT_BROKEN, read at start */
#endif
} zr_relay_t;

#define ZR_RELAY_SECTORS_UNCHECKED 0 /* Redis was unreachable: not compared yet */
#define ZR_RELAY_SECTORS_OK 1
#define ZR_RELAY_SECTORS_REFUSED (-1) /* a sector differs from the record: the process stops */

/* cfg stays the caller's; the relay trims its care providers once no
 * generation serves them any more (issue 14 §2), leaving the settings. */
int zr_relay_init(zr_relay_t *relay, zr_config_t *cfg, char *err, size_t errlen);
void zr_relay_cleanup(zr_relay_t *relay);

/* The current generation (never NULL after init); each get is paired with
 * a put. */
zr_relay_gen_t *zr_relay_gen_get(zr_relay_t *relay);
void zr_relay_gen_put(zr_relay_t *relay, zr_relay_gen_t *gen);
/* The newest generation whose care provider `tenant_id` has this
 * fingerprint (current or retired), with a reference taken; NULL when none. */
zr_relay_gen_t *zr_relay_gen_find_tenant(zr_relay_t *relay, const char *tenant_id, const char *fingerprint,
                                         const zr_tenant_t **tenant);

/* Before a request that logs someone in or gives out a `sub`: the
 * configuration's pairwise sectors are compared with the cluster's record
 * when that has not happened yet (Redis was unreachable at the start). A
 * difference the configuration does not allow stops the process (SIGTERM to
 * itself, exit status 1), as it would have refused to start. Returns
 * ZR_RELAY_SECTORS_OK when the request may go on. */
int zr_relay_sectors_ready(zr_relay_t *relay);

/* SIGHUP: loads and validates the configuration file again and swaps it in
 * when everything is right; otherwise logs why and keeps the running one.
 * 0 when swapped in. */
int zr_relay_reload(zr_relay_t *relay);

/* The current verified TVS metadata, or NULL (err says why: not loaded,
 * expired). Each get is paired with a put; a replaced set stays alive until
 * its last user puts it back. */
zr_saml_idp_t *zr_relay_idp_get(zr_relay_t *relay, char *err, size_t errlen);
void zr_relay_idp_put(zr_relay_t *relay, zr_saml_idp_t *idp);
/* For /metrics (any thread): the loaded TVS metadata's validUntil, the
 * notAfter of the certificate that signed it and the earliest of its
 * signing keys'; each 0 when unknown (nothing loaded). */
void zr_relay_idp_expiry(zr_relay_t *relay, time_t *valid_until, time_t *signer_not_after, time_t *keys_not_after);

/* ---- metrics (metrics.c, issue 16 §2, docs/operations.md#metrics) ---- */
/* On the main thread before zr_relay_init (which already talks to Redis):
 * the counters and the care providers' series. 0 on success. */
int zr_relay_metrics_init(const zr_config_t *cfg);
/* On the main thread after zr_relay_init, before the relay's listener
 * starts: the metrics listener when the configuration has a metrics:
 * section. 0 on success (err says why not). */
int zr_relay_metrics_start(zr_relay_t *relay, char *err, size_t errlen);
/* After a reload swapped in cfg (main thread): its new care providers get
 * series (metrics.per_care_provider). */
void zr_relay_metrics_reloaded(const zr_config_t *cfg);
void zr_relay_metrics_stop(zr_relay_t *relay);
/* A certificate's notAfter as a unix time; 0 for NULL or unreadable. */
time_t zr_relay_cert_not_after(const X509 *cert);

/* ---- health (health.c, issue 13 §4, docs/operations.md#health) ---- */
/* Set up on the main thread by zr_relay_init (after the memset), torn down
 * by zr_relay_cleanup. */
void zr_relay_health_init(zr_relay_t *relay);
void zr_relay_health_cleanup(zr_relay_t *relay);
/* GET /healthz (liveness: restart me) and GET /readyz (readiness: send me
 * traffic). */
int zr_relay_handle_healthz(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* GET /logo?cp=<care provider>&v=<hash> (the header's logo), ?of=digid&v= (the
 * chooser's DigiD logo): served by the relay itself (logo.c). */
int zr_relay_handle_logo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_relay_handle_readyz(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* What a thread asking for a shared probe result does (pure, unit-tested):
 * use the result (fresh, or stale while another thread renews it), run the
 * probe itself, or wait for the first result another thread is taking. */
typedef enum { ZR_RELAY_PROBE_USE, ZR_RELAY_PROBE_RUN, ZR_RELAY_PROBE_WAIT } zr_relay_probe_action_t;
zr_relay_probe_action_t zr_relay_probe_decide(int have, int running, int64_t at_ms, int64_t now_ms);

/* Shared helpers of the login handlers (relay.c). */
char *zr_relay_sha256_hex(const char *s);
/* 1 when public_base_url is https: Secure cookies with the __Host- prefix, HSTS. */
int zr_relay_https(const zr_config_t *cfg);
/* A browser-binding cookie name: ["__Host-" on https] prefix + 12 hex of
 * SHA-256(key); the same name for setting and reading. */
#define ZR_RELAY_COOKIE_NAME_MAX 48
void zr_relay_cookie_name(const zr_config_t *cfg, const char *prefix, const char *key,
                          char out[ZR_RELAY_COOKIE_NAME_MAX]);
/* 1 when the request carries cookie_name and the SHA-256 of its value is
 * want_hash (compared in constant time). */
int zr_relay_browser_matches(const zr_http_request_t *req, const char *cookie_name, const char *want_hash);
/* Spending a pending login (ACS, Dezi callback, chooser), in two halves
 * around the caller's parsing. read: the value under ns/key without taking
 * it (caller cleanses and frees *json). spend: the binding cookie checked
 * against browser_hash, then the value taken (GETDEL) and the cookie
 * cleared; a refused request leaves the pending login as it was. Both
 * return -1 with resp holding the page and a line logged under event,
 * naming the key as "<label>=<pseudonym>". */
int zr_relay_pending_read(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                          zr_http_response_t *resp, const char *event, const char *label, const char *ns,
                          const char *cookie_prefix, const char *key, const char *ref, char **json, size_t *len);
/* A pending login gone when read shows zr_relay_page_gone; one taken by a
 * request in between shows taken_code (login_already_done,
 * choice_already_made). Once spent, the binding cookie holds
 * zr_relay_spent_cookie_value() for zr_relay_trail_ttl seconds. */
int zr_relay_pending_spend(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                           zr_http_response_t *resp, const char *event, const char *label, const char *ns,
                           const char *cookie_prefix, const char *key, const char *browser_hash, const char *ref,
                           const char *taken_code, const char *client_id, const char *care_provider);
void zr_relay_reference(char out[16]);

/* ---- the way forward on pages (way.c, issue 18 §1, docs/pages.md) ---- */
/* What a page may say about where the person came from: the client's name,
 * home page and login URI, and its helpdesk (else its care provider's,
 * care_provider or the client's default). All borrowed from cfg; empty when
 * client_id is NULL or unknown. */
void zr_relay_page_way(const zr_config_t *cfg, const char *client_id, const char *care_provider,
                       zr_page_way_t *way);
/* zr_page_error_way with that way. */
int zr_relay_page_error(zr_http_response_t *resp, int status, zr_lang_t lang, const char *code, const char *ref,
                        const zr_config_t *cfg, const char *client_id, const char *care_provider);
/* A pending login's trail: under "<ns>-trail" and the same key, kept
 * zr_relay_trail_ttl seconds (the login's lifetime again, at least 300 s
 * more); its client, care provider, language and how far the login got,
 * nothing else. */
typedef enum {
    ZR_RELAY_TRAIL_BEGUN,   /* the pending login was written */
    ZR_RELAY_TRAIL_ISSUED,  /* spent, and a code went to the portal */
    ZR_RELAY_TRAIL_REFUSED, /* spent, and the login ended without a code */
    ZR_RELAY_TRAIL_CHOSEN   /* the chooser's choice was made */
} zr_relay_trail_state_t;
int zr_relay_trail_ttl(const zr_config_t *cfg);
char *zr_relay_trail_json(const char *client_id, const char *care_provider, zr_lang_t lang,
                          zr_relay_trail_state_t state);
/* Writes (overwrites) the trail; a failure is logged, never shown. */
void zr_relay_trail_put(zr_relay_t *relay, const zr_config_t *cfg, const char *ns, const char *key,
                        const char *client_id, const char *care_provider, zr_lang_t lang,
                        zr_relay_trail_state_t state, const char *ref);
/* A language stored in Redis (a trail, a pending logout): its code ("nl",
 * "en", "de"); a pending logout written before the catalogs held 0 (Dutch)
 * or 1 (English), which a relay restarted into this version still reads.
 * 0 and *out, or -1 (absent, or a code no catalog has any more). */
int zr_relay_lang_read(const json_t *v, zr_lang_t *out);
/* The binding cookie's value once its pending login was spent. */
const char *zr_relay_spent_cookie_value(void);
/* The page for a pending login that is gone, from its trail: expired
 * (session_expired), finished and opened again in the same browser
 * (login_already_done), a used answer presented again (saml_replay), a
 * choice already made (choice_already_made); without a trail,
 * session_expired with nothing known. Always 400. */
void zr_relay_page_gone(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                        zr_http_response_t *resp, const char *ns, const char *cookie_prefix, const char *key,
                        const char *ref);
/* The request as a login's pages see it: in the language chosen at
 * /authorize (ui_locales, else Accept-Language), kept with the pending
 * login, so every page of that login speaks it. Fills *copy (a shallow copy
 * that owns nothing) and returns it. */
const zr_http_request_t *zr_relay_login_request(const zr_http_request_t *req, zr_lang_t lang,
                                                zr_http_request_t *copy);

/* ---- professionals (professional.c, issue 4) ---- */
/* After zr_oidc_authorize_begin with login_method professional (-> Dezi) or
 * 0 (-> the chooser page). Takes over authz's contents. */
void zr_relay_begin_method(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                           zr_http_response_t *resp, zr_oidc_authz_t *authz);
/* The patient's way on from /authorize (login_method patient, also after the
 * chooser): the pending login in Redis, the AuthnRequest to TVS. Takes over
 * authz's contents (authz is left empty). chosen: the person pressed the
 * chooser's button, so a refusal is the relay's page like every refusal
 * after the person acted (issue 18 §2); else the portal is told at once. */
void zr_relay_begin_patient(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_http_request_t *req,
                            zr_http_response_t *resp, zr_oidc_authz_t *authz, int chosen);
int zr_relay_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* GET /error: an error page made again for its language switch (way.c). */
int zr_relay_handle_error_page(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_relay_handle_dezi_callback(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
/* The client's policy decision point, when it has one, for any subject
 * (patient or professional) before a code is issued. 0: go on; else resp
 * holds the answer (access_denied, temporarily_unavailable, server_error).
 * tenant and service_uuid (the patient's login) may be NULL (professionals).
 * With authzen.evaluations per_role a professional keeps only the roles the
 * PDP permitted (subject->pro.roles is cut down). */
#define ZR_RELAY_AUTHZ_DENIED 1      /* the PDP denied: access_denied */
#define ZR_RELAY_AUTHZ_UNAVAILABLE 2 /* the PDP erred or could not be reached: temporarily_unavailable */
#define ZR_RELAY_AUTHZ_ERROR 3       /* the relay could not describe the subject: server_error */
/* Returns 0 or one of ZR_RELAY_AUTHZ_*. */
zr_metrics_result_t zr_relay_authorization_result(int check);
int zr_relay_authorization_check(zr_relay_t *relay, zr_relay_gen_t *gen, const zr_oidc_authz_t *authz,
                                 zr_subject_t *subject, const zr_tenant_t *tenant, const char *service_uuid,
                                 zr_http_response_t *resp);

/* ---- logout (logout.c, issue 5, docs/logout.md) ---- */
/* The logout session of a login about to get its code: a new random sid
 * and the record to keep under it (tenant, kind, the client's pairwise sub,
 * for a patient the SAML NameID and SessionIndex; saml and tenant NULL for a
 * professional). Returns the sid (malloc'ed) for the ID token, or NULL when
 * none could be made (logged; the login goes on without logout support).
 * ls->write (ls->count of them: 0 or 1) goes to zr_oidc_authorize_issue, so
 * the session is stored in the code's round trip and only with a code; its
 * name points into the sid, which must outlive the write. */
typedef struct {
    zr_store_write_t write;
    size_t count;
    char *record;
    int professional, saml;
} zr_relay_logout_session_t;
char *zr_relay_logout_session_prepare(zr_relay_gen_t *gen, const char *client_id, const zr_subject_t *subject,
                                      const zr_tenant_t *tenant, const zr_saml_session_t *saml,
                                      zr_relay_logout_session_t *ls);
/* After zr_oidc_authorize_issue: logs whether the session was kept (nothing
 * when no code was issued) and wipes the record. */
void zr_relay_logout_session_done(zr_relay_logout_session_t *ls, const char *client_id);
/* GET/POST /logout (RP-Initiated Logout 1.0) and POST /saml/slo (TVS's
 * LogoutResponse, HTTP-POST binding). */
int zr_relay_handle_logout(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);
int zr_relay_handle_saml_slo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

#endif
