/* `zorgrelay preprod-test`: the guided test run of DICTU's pre-production
 * phase (issue 5 §3, src/preprod/, docs/preprod.md). A built-in test client
 * (an ordinary confidential OIDC client of the relay, PKCE, ID token checked
 * against the relay's JWKS) walks a tester through the scenarios a TVS
 * connection must show, records what came back (masked) and writes a
 * report that follows DICTU's "Checklist testen". Never in production. */
#ifndef ZR_PREPROD_H
#define ZR_PREPROD_H

#include <stddef.h>
#include <jansson.h>
#include "zr/config.h"
#include "zr/http.h"

typedef enum {
    ZR_PREPROD_LOGIN = 0,     /* a login at one level of assurance (one TVS service) */
    ZR_PREPROD_CANCEL,        /* the tester cancels at TVS -> access_denied */
    ZR_PREPROD_LOA_TOO_LOW,   /* an account below the requested level -> access_denied */
    ZR_PREPROD_MACHTIGEN,     /* DigiD Machtigen: acting person + represented patient */
    ZR_PREPROD_LOGOUT,        /* RP-initiated logout at the relay's end_session_endpoint */
    ZR_PREPROD_EXPIRED,       /* a login finished after the relay's session lifetime: refused */
    ZR_PREPROD_REPLAY         /* an artifact presented a second time: refused */
} zr_preprod_kind_t;

typedef enum {
    ZR_PREPROD_OPEN = 0,      /* not started */
    ZR_PREPROD_WAITING,       /* started, waiting for the tester */
    ZR_PREPROD_PASSED,
    ZR_PREPROD_FAILED,
    ZR_PREPROD_NOT_AVAILABLE  /* cannot be tested here (reason says why) */
} zr_preprod_status_t;

const char *zr_preprod_status_name(zr_preprod_status_t st);
int zr_preprod_status_parse(const char *s, zr_preprod_status_t *out);

/* Why a scenario passed, failed or waits: a code plus its parameters, so
 * that each page shows it in its own language. The texts are the
 * catalogs' "preprod.reason.<code>" keys (templates/lang/<code>.txt), whose
 * {{name}} placeholders take the parameters (HTML-escaped). */
typedef struct {
    char code[32];            /* "" for none (or for a code-less text) */
    json_t *params;           /* {name: string}; owned; NULL when the code has none */
    char text[256];           /* a reason without code (a state file from before the codes): shown as is */
} zr_preprod_reason_t;

/* The reason codes and the names of their parameters (for the texts' check). */
typedef struct {
    const char *code;
    const char *params[3];    /* NULL-terminated */
} zr_preprod_reason_def_t;

const zr_preprod_reason_def_t *zr_preprod_reason_defs(size_t *count);
/* Sets r to code with the parameters given as name, value pairs ending in
 * NULL (a NULL value counts as "-"; control characters become spaces,
 * values are cut at 200 bytes). */
void zr_preprod_reason_set(zr_preprod_reason_t *r, const char *code, ...);
/* Adds one parameter to r (made fit the same way). */
void zr_preprod_reason_param(zr_preprod_reason_t *r, const char *name, const char *value);
void zr_preprod_reason_clear(zr_preprod_reason_t *r);
/* The reason in lang: html=1 gives HTML (parameters escaped, for {{{...}}}),
 * html=0 plain text (report). A code without a text falls back to the
 * code-less text, else to the code. Malloc'ed; NULL when out of memory. */
char *zr_preprod_reason_text(const zr_preprod_reason_t *r, zr_lang_t lang, int html);

/* One scenario of the run. Strings are fixed-size: the run is a small,
 * flat table that is saved after every change. */
typedef struct {
    char id[48];              /* stable: login-basic, login-substantial, ..., cancel, loa-too-low,
                                 machtigen, logout, session-expired, artifact-replay */
    zr_preprod_kind_t kind;
    zr_loa_t loa;             /* requested level (acr_values); NONE: the client's minimum */
    char checklist[160];      /* the DICTU checklist line (Dutch, as in docs/preprod.md) */
    zr_preprod_status_t status;
    int attempts;
    zr_preprod_reason_t reason; /* why it passed / failed / is not available */
    /* The attempt in flight (persisted so a restart can finish it). */
    char state[64];
    char nonce[64];
    char verifier[96];
    long long started_ms;
    long long finished_ms;
    json_t *result;           /* what came back (masked); owned */
    char account[128];        /* the test account used, as the tester typed it ("" when not given) */
    json_t *trace;            /* the relay's trace of the last attempt as exported (masked there); owned */
} zr_preprod_scenario_t;

/* The tester's sign-off, typed in on the test client's index page. */
typedef struct {
    char tester[128];
    char organisation[128];
    char date[32];
    char remarks[1024];
} zr_preprod_signoff_t;

typedef struct {
    zr_preprod_scenario_t *items;
    size_t count;
    char relay[256];          /* the relay's issuer */
    char client_id[128];
    char care_provider[128];
    long long created_ms;
    zr_preprod_signoff_t signoff;
    json_t *setup;            /* zr_preprod_setup_collect, memory only; owned (NULL: not collected) */
} zr_preprod_run_t;

/* The scenarios for this configuration: one login per service (level) of
 * the care provider, then cancel, loa-too-low (the highest level),
 * machtigen, logout, session-expired, artifact-replay. 0 on success. */
int zr_preprod_run_init(zr_preprod_run_t *run, const zr_config_t *cfg);
void zr_preprod_run_free(zr_preprod_run_t *run);
zr_preprod_scenario_t *zr_preprod_run_find(zr_preprod_run_t *run, const char *id);
zr_preprod_scenario_t *zr_preprod_run_find_state(zr_preprod_run_t *run, const char *state);

/* The state file: JSON, written to PATH.tmp (mode 0600), fsynced and
 * renamed over PATH, so a crash leaves the old or the new file, never half
 * of one. load merges saved results into run (scenarios matched by id;
 * a file for another relay, client or care provider is refused). 0 on
 * success; load returns 1 when there is no file yet. */
int zr_preprod_state_save(const zr_preprod_run_t *run, const char *path, char *err, size_t errlen);
int zr_preprod_state_load(zr_preprod_run_t *run, const char *path, char *err, size_t errlen);

/* What the test client saw of one attempt, for zr_preprod_evaluate. */
typedef struct {
    const char *oauth_error;        /* error= at the callback, or NULL */
    const char *oauth_error_description;
    int token_ok;                   /* code redeemed and ID token valid */
    const char *token_error;        /* why not */
    const char *acr;                /* the ID token's acr */
    int has_represents;             /* represents{} present */
    const char *representation_type;
    const char *saml_result;        /* the trace's validation result (zr_saml_status_name), or NULL */
    const char *page_error;         /* the trace: the relay answered with this error page */
    int artifact_repeated;          /* the trace: the artifact arrived a second time */
    int repeat_refused;             /* ... and was not answered with a code */
    int code_replay_refused;        /* the code redeemed again -> invalid_grant */
    long long elapsed_ms;           /* start to result */
    int session_lifetime_s;         /* the relay's oidc.session_lifetime_s */
    int logged_out;                 /* back at post_logout_redirect_uri with our state */
} zr_preprod_observation_t;

/* Judges an attempt: PASSED or FAILED with the reason set in *reason (or
 * WAITING when the scenario needs a further step, e.g. the replay or the
 * logout). Pure but for *reason (which may be &sc->reason). */
zr_preprod_status_t zr_preprod_evaluate(const zr_preprod_scenario_t *sc, const zr_preprod_observation_t *obs,
                                        zr_preprod_reason_t *reason);

/* What the run is made with (src/preprod/setup.c): zorgrelay version, TVS
 * entityID and metadata (source, validUntil, SHA-256), the care provider's
 * name and OIN, the certificates' subjects and SHA-256 fingerprints, and
 * "rehearsal": true when the TVS is the configuration's own mock TVS. */
json_t *zr_preprod_setup_collect(const zr_config_t *cfg, const char *care_provider);

/* The report (atomic writes like the state file): DIR/preprod-report.md
 * (for DICTU, Dutch), .html (the same, printable), .json, and per scenario
 * the masked trace, DIR/traces/<scenario>.json, .txt and one .xml per SAML
 * message. 0 on success. */
int zr_preprod_report_write(const zr_preprod_run_t *run, const zr_config_t *cfg, const char *dir, char *err,
                            size_t errlen);
/* The report as JSON (tests). */
json_t *zr_preprod_report_json(const zr_preprod_run_t *run, const zr_config_t *cfg);

/* DIR/preprod-report.pdf from DIR/preprod-report.html with Chromium's
 * headless print-to-PDF (chromium: its path). 0 on success. */
int zr_preprod_report_pdf(const char *dir, const char *chromium, char *err, size_t errlen);

/* Runs the test client until SIGINT/SIGTERM: serves the pages at
 * preprod_test.listen, saves the state after every change, rewrites the
 * report in report_dir (when not NULL). Returns a process exit status. */
int zr_preprod_serve(const zr_config_t *cfg, const char *report_dir);
/* Writes the report in report_dir from the state file and, with chromium
 * not NULL, its PDF; serves nothing (`preprod-test --pdf`). */
int zr_preprod_report_only(const zr_config_t *cfg, const char *report_dir, const char *chromium);

/* `zorgrelay preprod-test CONFIG [--report DIR]` (src/cmd/preprod_test.c). */
int zr_cmd_preprod_test(int argc, char **argv);

#endif
