/* The scenarios of the guided test run, how an attempt is judged, and the
 * state file that lets a run survive a restart half-way through. */
#include "zr/preprod.h"
#include "preprod_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zr/util.h"

#define STATE_VERSION 1
#define STATE_MAX_BYTES (32 * 1024 * 1024) /* with the traces of every scenario */

static const char *const status_names[] = {"open", "waiting", "passed", "failed", "not_available", NULL};

const char *zr_preprod_status_name(zr_preprod_status_t st)
{
    return (st >= ZR_PREPROD_OPEN && st <= ZR_PREPROD_NOT_AVAILABLE) ? status_names[st] : "open";
}

int zr_preprod_status_parse(const char *s, zr_preprod_status_t *out)
{
    for (int i = 0; s && status_names[i]; i++)
        if (strcmp(s, status_names[i]) == 0) {
            *out = (zr_preprod_status_t)i;
            return 0;
        }
    return -1;
}

/* The level names DigiD uses in Dutch. */
static const char *loa_dutch(zr_loa_t loa)
{
    switch (loa) {
    case ZR_LOA_BASIC:
        return "Basis";
    case ZR_LOA_LOW:
        return "Midden";
    case ZR_LOA_SUBSTANTIAL:
        return "Substantieel";
    case ZR_LOA_HIGH:
        return "Hoog";
    default:
        return "-";
    }
}

static zr_preprod_scenario_t *add(zr_preprod_run_t *run, const char *id, zr_preprod_kind_t kind, zr_loa_t loa,
                                  const char *checklist)
{
    zr_preprod_scenario_t *sc = &run->items[run->count++];
    memset(sc, 0, sizeof(*sc));
    snprintf(sc->id, sizeof(sc->id), "%s", id);
    sc->kind = kind;
    sc->loa = loa;
    snprintf(sc->checklist, sizeof(sc->checklist), "%s", checklist);
    return sc;
}

int zr_preprod_run_init(zr_preprod_run_t *run, const zr_config_t *cfg)
{
    const zr_preprod_test_config_t *p = &cfg->preprod_test;
    const zr_client_t *client = zr_config_find_client(cfg, p->client_id);
    const char *tenant_id = p->care_provider[0] ? p->care_provider : client ? client->care_provider : NULL;
    const zr_tenant_t *t = tenant_id ? zr_config_find_tenant(cfg, tenant_id) : NULL;
    zr_loa_t highest = ZR_LOA_NONE;
    char id[48], line[160];

    memset(run, 0, sizeof(*run));
    if (!t)
        return -1;
    run->items = calloc(t->service_count + 6, sizeof(*run->items));
    if (!run->items)
        return -1;
    snprintf(run->relay, sizeof(run->relay), "%s", cfg->oidc.issuer ? cfg->oidc.issuer : cfg->public_base_url);
    snprintf(run->client_id, sizeof(run->client_id), "%s", p->client_id);
    snprintf(run->care_provider, sizeof(run->care_provider), "%s", t->id);
    /* One login per service: a level of assurance is one ServiceUUID at TVS,
     * ordered from low to high. */
    for (int loa = ZR_LOA_BASIC; loa <= ZR_LOA_HIGH; loa++)
        for (size_t i = 0; i < t->service_count; i++) {
            if ((int)t->services[i].min_loa != loa)
                continue;
            snprintf(id, sizeof(id), "login-%s", zr_loa_name((zr_loa_t)loa));
            if (zr_preprod_run_find(run, id))
                continue;
            snprintf(line, sizeof(line), "Inloggen met DigiD op betrouwbaarheidsniveau %s (ServiceUUID %.36s)",
                     loa_dutch((zr_loa_t)loa), t->services[i].service_uuid);
            add(run, id, ZR_PREPROD_LOGIN, (zr_loa_t)loa, line);
            highest = (zr_loa_t)loa;
        }
    add(run, "cancel", ZR_PREPROD_CANCEL, ZR_LOA_NONE,
        "Annuleren bij DigiD: terug naar het portaal als niet ingelogd");
    add(run, "loa-too-low", ZR_PREPROD_LOA_TOO_LOW, highest,
        "Te laag betrouwbaarheidsniveau: de inlog wordt geweigerd");
    add(run, "machtigen", ZR_PREPROD_MACHTIGEN, ZR_LOA_NONE,
        "DigiD Machtigen: inloggen namens een ander (gemachtigde en vertegenwoordigde)");
    add(run, "logout", ZR_PREPROD_LOGOUT, ZR_LOA_NONE, "Uitloggen (door het portaal gestart)");
    add(run, "session-expired", ZR_PREPROD_EXPIRED, ZR_LOA_NONE,
        "Verlopen sessie: een inlog na de sessieduur wordt geweigerd");
    add(run, "artifact-replay", ZR_PREPROD_REPLAY, ZR_LOA_NONE, "Hergebruik van een SAML-artifact wordt geweigerd");
    run->created_ms = 0;
    return 0;
}

void zr_preprod_run_free(zr_preprod_run_t *run)
{
    for (size_t i = 0; run->items && i < run->count; i++) {
        json_decref(run->items[i].result);
        json_decref(run->items[i].trace);
        zr_preprod_reason_clear(&run->items[i].reason);
        memset(run->items[i].verifier, 0, sizeof(run->items[i].verifier));
    }
    free(run->items);
    json_decref(run->setup);
    memset(run, 0, sizeof(*run));
}

zr_preprod_scenario_t *zr_preprod_run_find(zr_preprod_run_t *run, const char *id)
{
    for (size_t i = 0; id && i < run->count; i++)
        if (strcmp(run->items[i].id, id) == 0)
            return &run->items[i];
    return NULL;
}

zr_preprod_scenario_t *zr_preprod_run_find_state(zr_preprod_run_t *run, const char *state)
{
    for (size_t i = 0; state && *state && i < run->count; i++)
        if (run->items[i].state[0] && zr_secure_equal(run->items[i].state, strlen(run->items[i].state), state,
                                                      strlen(state)))
            return &run->items[i];
    return NULL;
}

/* ---- judging an attempt ---- */

static int is(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The error an attempt ended with, for a reason: the OAuth error at the
 * callback, else why the ID token was refused. */
static const char *attempt_error(const zr_preprod_observation_t *o)
{
    return o->oauth_error ? o->oauth_error : o->token_error;
}

zr_preprod_status_t zr_preprod_evaluate(const zr_preprod_scenario_t *sc, const zr_preprod_observation_t *o,
                                        zr_preprod_reason_t *reason)
{
    zr_loa_t reached = o->acr ? zr_loa_parse(o->acr) : ZR_LOA_NONE;
    char elapsed[24], lifetime[24];

    switch (sc->kind) {
    case ZR_PREPROD_LOGIN:
        if (o->oauth_error) {
            zr_preprod_reason_set(reason, "login_refused", "error", o->oauth_error, "description",
                                  o->oauth_error_description, NULL);
            return ZR_PREPROD_FAILED;
        }
        if (!o->token_ok) {
            zr_preprod_reason_set(reason, "token_invalid", "error", o->token_error, NULL);
            return ZR_PREPROD_FAILED;
        }
        if (reached < sc->loa) {
            zr_preprod_reason_set(reason, "loa_below", "reached", zr_loa_name(reached), "requested",
                                  zr_loa_name(sc->loa), NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, "loa_reached", "reached", zr_loa_name(reached), "requested",
                              zr_loa_name(sc->loa), NULL);
        return ZR_PREPROD_PASSED;
    case ZR_PREPROD_CANCEL:
        if (o->token_ok) {
            zr_preprod_reason_set(reason, "cancel_logged_in", NULL);
            return ZR_PREPROD_FAILED;
        }
        if (!is(o->oauth_error, "access_denied")) {
            zr_preprod_reason_set(reason, "cancel_unexpected", "got", o->oauth_error, NULL);
            return ZR_PREPROD_FAILED;
        }
        if (o->saml_result && !is(o->saml_result, "cancelled")) {
            zr_preprod_reason_set(reason, "cancel_not_tvs_cancel", "saml_result", o->saml_result, NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, o->saml_result ? "cancel_passed_tvs" : "cancel_passed", NULL);
        return ZR_PREPROD_PASSED;
    case ZR_PREPROD_LOA_TOO_LOW:
        if (o->token_ok) {
            zr_preprod_reason_set(reason, "loa_logged_in", "requested", zr_loa_name(sc->loa), NULL);
            return ZR_PREPROD_FAILED;
        }
        if (!is(o->oauth_error, "access_denied") ||
            (o->saml_result && !is(o->saml_result, "no_authn_context") && !is(o->saml_result, "loa_too_low"))) {
            zr_preprod_reason_set(reason, "loa_unexpected", "got", o->oauth_error, "saml_result", o->saml_result,
                                  NULL);
            return ZR_PREPROD_FAILED;
        }
        if (o->saml_result)
            zr_preprod_reason_set(reason, "loa_refused_saml", "saml_result", o->saml_result, NULL);
        else
            zr_preprod_reason_set(reason, "loa_refused", NULL);
        return ZR_PREPROD_PASSED;
    case ZR_PREPROD_MACHTIGEN:
        if (!o->token_ok) {
            zr_preprod_reason_set(reason, "machtigen_failed", "error", attempt_error(o), NULL);
            return ZR_PREPROD_FAILED;
        }
        if (!o->has_represents || !o->representation_type) {
            zr_preprod_reason_set(reason, "machtigen_no_representation", NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, "machtigen_passed", "representation_type", o->representation_type, NULL);
        return ZR_PREPROD_PASSED;
    case ZR_PREPROD_LOGOUT:
        if (o->logged_out) {
            zr_preprod_reason_set(reason, "logout_passed", NULL);
            return ZR_PREPROD_PASSED;
        }
        if (!o->token_ok) {
            zr_preprod_reason_set(reason, "logout_login_failed", "error", attempt_error(o), NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, "logout_now", NULL);
        return ZR_PREPROD_WAITING;
    case ZR_PREPROD_EXPIRED:
        snprintf(elapsed, sizeof(elapsed), "%lld", o->elapsed_ms / 1000);
        snprintf(lifetime, sizeof(lifetime), "%d", o->session_lifetime_s);
        if (o->token_ok) {
            zr_preprod_reason_set(reason, "expired_accepted", "elapsed", elapsed, "lifetime", lifetime, NULL);
            return ZR_PREPROD_FAILED;
        }
        if (is(o->page_error, "session_expired")) {
            zr_preprod_reason_set(reason, "expired_refused", "elapsed", elapsed, "lifetime", lifetime, NULL);
            return ZR_PREPROD_PASSED;
        }
        if (o->oauth_error) {
            zr_preprod_reason_set(reason, "expired_unexpected", "got", o->oauth_error, NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, "expired_waiting", NULL);
        return ZR_PREPROD_WAITING;
    case ZR_PREPROD_REPLAY:
        if (o->artifact_repeated) {
            if (!o->repeat_refused) {
                zr_preprod_reason_set(reason, "replay_accepted", NULL);
                return ZR_PREPROD_FAILED;
            }
            zr_preprod_reason_set(reason, o->code_replay_refused ? "replay_refused_code" : "replay_refused", NULL);
            return ZR_PREPROD_PASSED;
        }
        if (!o->token_ok) {
            zr_preprod_reason_set(reason, "replay_first_failed", "error", attempt_error(o), NULL);
            return ZR_PREPROD_FAILED;
        }
        zr_preprod_reason_set(reason, "replay_now", NULL);
        return ZR_PREPROD_WAITING;
    }
    zr_preprod_reason_set(reason, "unknown_scenario", NULL);
    return ZR_PREPROD_FAILED;
}

/* ---- the state file ---- */

/* The reason as code and parameters, so that a restart shows it in either
 * language; "reason" holds only a code-less text (older state files had
 * nothing else). */
static json_t *scenario_to_json(const zr_preprod_scenario_t *sc)
{
    json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:O?}", "id", sc->id, "status",
                          zr_preprod_status_name(sc->status), "attempts", sc->attempts, "reason", sc->reason.text,
                          "state", sc->state, "nonce", sc->nonce, "verifier", sc->verifier, "started_ms",
                          (json_int_t)sc->started_ms, "finished_ms", (json_int_t)sc->finished_ms, "result",
                          sc->result);
    if (o && sc->account[0])
        json_object_set_new(o, "account", json_string(sc->account));
    if (o && sc->trace)
        json_object_set(o, "trace", sc->trace);
    if (o && sc->reason.code[0]) {
        json_object_set_new(o, "reason_code", json_string(sc->reason.code));
        json_object_set_new(o, "reason_params", sc->reason.params ? json_copy(sc->reason.params) : json_object());
    }
    return o;
}

/* Writes text to path atomically: PATH.tmp (0600), fsync, rename. */
int zr_preprod_write_atomic(const char *path, const char *text, char *err, size_t errlen)
{
    char tmp[4200];
    size_t len = strlen(text), off = 0;
    int fd = -1, rc = -1;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
        snprintf(err, errlen, "path too long");
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
            goto end;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        goto end;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto end;
    }
    rc = 0;
end:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    return rc;
}

int zr_preprod_state_save(const zr_preprod_run_t *run, const char *path, char *err, size_t errlen)
{
    json_t *doc = json_pack("{s:i, s:s, s:s, s:s, s:I, s:[]}", "version", STATE_VERSION, "relay", run->relay,
                            "client_id", run->client_id, "care_provider", run->care_provider, "created_ms",
                            (json_int_t)run->created_ms, "scenarios");
    json_t *list = doc ? json_object_get(doc, "scenarios") : NULL;
    char *text = NULL;
    int rc = -1;
    if (!list) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < run->count; i++)
        json_array_append_new(list, scenario_to_json(&run->items[i]));
    json_object_set_new(doc, "signoff", json_pack("{s:s, s:s, s:s, s:s}", "tester", run->signoff.tester,
                                                  "organisation", run->signoff.organisation, "date",
                                                  run->signoff.date, "remarks", run->signoff.remarks));
    text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    rc = zr_preprod_write_atomic(path, text, err, errlen);
end:
    if (text)
        memset(text, 0, strlen(text));
    free(text);
    json_decref(doc);
    return rc;
}

static void copy_str(char *out, size_t outlen, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    snprintf(out, outlen, "%s", v ? v : "");
}

/* A state file's reason: code and string parameters; a file from before
 * the codes has only "reason", kept as a text shown as is. */
static void reason_from_json(zr_preprod_reason_t *r, json_t *item)
{
    const char *code = json_string_value(json_object_get(item, "reason_code")), *name;
    json_t *value;
    zr_preprod_reason_clear(r);
    copy_str(r->text, sizeof(r->text), item, "reason");
    if (!code || !*code || strlen(code) >= sizeof(r->code))
        return;
    snprintf(r->code, sizeof(r->code), "%s", code);
    json_object_foreach(json_object_get(item, "reason_params"), name, value) {
        if (json_is_string(value))
            zr_preprod_reason_param(r, name, json_string_value(value));
    }
}

int zr_preprod_state_load(zr_preprod_run_t *run, const char *path, char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0, i;
    json_t *doc = NULL, *item;
    json_error_t jerr;
    int rc = -1;

    if (access(path, F_OK) != 0)
        return 1;
    if (zr_file_read(path, STATE_MAX_BYTES, &text, &len) != 0) {
        snprintf(err, errlen, "cannot read %s", path);
        goto end;
    }
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc || json_integer_value(json_object_get(doc, "version")) != STATE_VERSION) {
        snprintf(err, errlen, "%s: not a preprod-test state file (%s)", path, doc ? "version" : jerr.text);
        goto end;
    }
    /* Results of another run must not end up in this report. */
    if (!json_is_string(json_object_get(doc, "relay")) ||
        strcmp(json_string_value(json_object_get(doc, "relay")), run->relay) != 0 ||
        !is(json_string_value(json_object_get(doc, "client_id")), run->client_id) ||
        !is(json_string_value(json_object_get(doc, "care_provider")), run->care_provider)) {
        snprintf(err, errlen, "%s belongs to another relay, client or care provider; move it away to start a new run",
                 path);
        goto end;
    }
    run->created_ms = json_integer_value(json_object_get(doc, "created_ms"));
    item = json_object_get(doc, "signoff");
    copy_str(run->signoff.tester, sizeof(run->signoff.tester), item, "tester");
    copy_str(run->signoff.organisation, sizeof(run->signoff.organisation), item, "organisation");
    copy_str(run->signoff.date, sizeof(run->signoff.date), item, "date");
    copy_str(run->signoff.remarks, sizeof(run->signoff.remarks), item, "remarks");
    json_array_foreach(json_object_get(doc, "scenarios"), i, item) {
        zr_preprod_scenario_t *sc = zr_preprod_run_find(run, json_string_value(json_object_get(item, "id")));
        if (!sc)
            continue; /* a scenario this configuration no longer has */
        if (zr_preprod_status_parse(json_string_value(json_object_get(item, "status")), &sc->status) != 0)
            sc->status = ZR_PREPROD_OPEN;
        sc->attempts = (int)json_integer_value(json_object_get(item, "attempts"));
        reason_from_json(&sc->reason, item);
        copy_str(sc->state, sizeof(sc->state), item, "state");
        copy_str(sc->nonce, sizeof(sc->nonce), item, "nonce");
        copy_str(sc->verifier, sizeof(sc->verifier), item, "verifier");
        sc->started_ms = json_integer_value(json_object_get(item, "started_ms"));
        sc->finished_ms = json_integer_value(json_object_get(item, "finished_ms"));
        json_decref(sc->result);
        sc->result = json_object_get(item, "result");
        sc->result = json_is_object(sc->result) ? json_incref(sc->result) : NULL;
        copy_str(sc->account, sizeof(sc->account), item, "account");
        json_decref(sc->trace);
        sc->trace = json_object_get(item, "trace");
        sc->trace = json_is_object(sc->trace) ? json_incref(sc->trace) : NULL;
    }
    rc = 0;
end:
    if (text)
        memset(text, 0, len);
    free(text);
    json_decref(doc);
    return rc;
}
