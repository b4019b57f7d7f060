/* The Authorization Decision Log, in the record format of Logius ADL 1.0
 * (authorization-decision-log, §Interface; docs/authorization.md#the-decision-log):
 * one JSON line per PDP call, to a file of its own (O_APPEND, 0600, one write() per record so that concurrent
 * writers, threads or processes, never interleave) or to stderr as an
 * operator log line. A BSN never reaches the sink in clear: every BSN the
 * request carries is replaced by a keyed hash wherever it occurs. */
#include "authz_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/record_sink.h"
#include "zr/util.h"

#define MAX_BSNS 8
/* zr_log keeps 2 KiB of message; longer records go out without their body. */
#define STDERR_MAX_LINE 1900

static zr_record_sink_t adl_sink = ZR_RECORD_SINK_INIT; /* no file: stderr through zr_log */

static pthread_mutex_t key_lock = PTHREAD_MUTEX_INITIALIZER;
static uint8_t subject_key[32];
static int subject_key_set;

int zr_authz_log_open(const zr_decision_log_config_t *cfg, char *err, size_t errlen)
{
    if (zr_record_sink_open(&adl_sink, cfg ? cfg->file : NULL, "decision_log.file", "adl.permissions",
                            "records hold personal data; chmod 600", err, errlen) != 0)
        return -1;
    if (cfg)
        zr_authz_log_set_subject_key(cfg->subject_key);
    return 0;
}

void zr_authz_log_close(void)
{
    zr_record_sink_close(&adl_sink);
}

void zr_authz_log_set_subject_key(const uint8_t key[32])
{
    pthread_mutex_lock(&key_lock);
    memcpy(subject_key, key, sizeof(subject_key));
    subject_key_set = 1;
    pthread_mutex_unlock(&key_lock);
}

/* "hmac-sha256:<base64url>" of a BSN under the subject key (the
 * configured one since zr_authz_log_open; a random per-process key in
 * callers that never opened the log). NULL on failure. */
static char *bsn_hash(const char *bsn)
{
    uint8_t mac[32], key[32];
    char *b64 = NULL, *out = NULL;
    int ok = 1;
    pthread_mutex_lock(&key_lock);
    if (!subject_key_set) {
        ok = zr_random_bytes(subject_key, sizeof(subject_key)) == 0;
        subject_key_set = ok;
    }
    memcpy(key, subject_key, sizeof(key));
    pthread_mutex_unlock(&key_lock);
    if (!ok || zr_crypto_hmac_sha256(key, sizeof(key), (const uint8_t *)bsn, strlen(bsn), mac) != 0)
        goto end;
    b64 = zr_base64url_encode(mac, sizeof(mac));
    if (!b64)
        goto end;
    out = malloc(strlen(b64) + 13);
    if (out)
        sprintf(out, "hmac-sha256:%s", b64);

end:
    OPENSSL_cleanse(key, sizeof(key));
    free(b64);
    return out;
}

typedef struct {
    const char *value[MAX_BSNS];
    char *hash[MAX_BSNS];
    size_t count;
    int overflow;
} bsn_set_t;

static void bsn_add(bsn_set_t *set, const char *v)
{
    if (!v || !*v)
        return;
    for (size_t i = 0; i < set->count; i++)
        if (!strcmp(set->value[i], v))
            return;
    if (set->count == MAX_BSNS) {
        set->overflow = 1;
        return;
    }
    set->value[set->count++] = v;
}

static int is_bsn_type(const char *t)
{
    return t && (!strcmp(t, ZR_AUTHZ_TYPE_BSN) || !strcmp(t, ZR_ID_LEGACY_BSN));
}

/* Every BSN the request names: ids of BSN-typed objects and "bsn" members,
 * at any depth (a representation holds two). */
static void bsn_collect(json_t *j, bsn_set_t *set)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_object(j)) {
        if (is_bsn_type(json_string_value(json_object_get(j, "type"))))
            bsn_add(set, json_string_value(json_object_get(j, "id")));
        bsn_add(set, json_string_value(json_object_get(j, "bsn")));
        json_object_foreach(j, key, v) bsn_collect(v, set);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) bsn_collect(v, set);
    }
}

/* s with every occurrence of every BSN replaced by its hash; NULL when
 * nothing to replace or on allocation failure (*failed set). */
static char *bsn_replace(const char *s, bsn_set_t *set, int *failed)
{
    zr_buf_t b;
    int changed = 0;
    zr_buf_init(&b);
    while (*s) {
        size_t i;
        for (i = 0; i < set->count; i++)
            if (!strncmp(s, set->value[i], strlen(set->value[i])))
                break;
        if (i < set->count) {
            if (!set->hash[i] && !(set->hash[i] = bsn_hash(set->value[i]))) {
                *failed = 1;
                break;
            }
            *failed |= zr_buf_appends(&b, set->hash[i]) != 0;
            s += strlen(set->value[i]);
            changed = 1;
        } else {
            *failed |= zr_buf_append(&b, s, 1) != 0;
            s++;
        }
    }
    if (*failed || !changed) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* Replaces BSNs in every string value of j (in place). */
static void bsn_scrub(json_t *j, bsn_set_t *set, int *failed)
{
    const char *key;
    json_t *v;
    size_t i;
    if (json_is_string(j)) {
        char *r = bsn_replace(json_string_value(j), set, failed);
        if (r)
            *failed |= json_string_set(j, r) != 0;
        free(r);
    } else if (json_is_object(j)) {
        json_object_foreach(j, key, v) bsn_scrub(v, set, failed);
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) bsn_scrub(v, set, failed);
    }
}

/* 1 when text still shows one of the BSNs (a key, a number): last guard. */
static int bsn_visible(const char *text, const bsn_set_t *set)
{
    for (size_t i = 0; i < set->count; i++)
        if (strstr(text, set->value[i]))
            return 1;
    return 0;
}

static const char *decision_name(zr_authz_decision_t d)
{
    return d == ZR_AUTHZ_PERMIT ? "permit" : d == ZR_AUTHZ_DENY ? "deny" : "error";
}

/* The response with only its decisions (ADL §adl.core.response: portions
 * may be left out for privacy, the response must stay retrievable when the
 * PDP decided): what a record keeps when its body cannot go out whole.
 * NULL when the response holds no decision. */
static json_t *response_decisions(json_t *response)
{
    json_t *out = NULL, *evals = json_object_get(response, "evaluations"), *list = NULL, *v;
    size_t i;
    if (json_is_boolean(json_object_get(response, "decision"))) {
        out = json_pack("{s:O}", "decision", json_object_get(response, "decision"));
        goto end;
    }
    if (!json_is_array(evals) || !(list = json_array()))
        goto end;
    json_array_foreach(evals, i, v) {
        if (!json_is_boolean(json_object_get(v, "decision")) ||
            json_array_append_new(list, json_pack("{s:O}", "decision", json_object_get(v, "decision"))) != 0)
            goto end;
    }
    out = json_pack("{s:O}", "evaluations", list);

end:
    json_decref(list);
    return out;
}

/* resource (ADL §resource): the producer, attributable also when records
 * are aggregated outside the care provider. */
static json_t *producer(void)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0 || !host[0])
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    return json_pack("{s:s, s:s, s:s}", "service.name", "zorgrelay", "service.version", ZR_VERSION, "host.name",
                     host);
}

void zr_authz_log_write(const zr_authz_log_entry_t *e)
{
    json_t *rec = NULL, *attrs = NULL, *body = NULL, *req = NULL, *resp = NULL, *small = NULL;
    char *line = NULL, *full = NULL;
    bsn_set_t bsns = {0};
    int failed = 0, to_file = zr_record_sink_is_open(&adl_sink);
    struct timespec now;
    zr_trace_t own;
    const zr_trace_t *trace = e->trace;
    const char *client = e->client;

    /* ADL §trace_id: a record always has one; a caller without a trace
     * (never in the relay) gets a root span of its own. */
    if (!trace) {
        zr_trace_begin(NULL, &own);
        trace = &own;
    }
    bsn_collect(e->request, &bsns);
    req = e->request ? json_deep_copy(e->request) : NULL;
    resp = e->response ? json_deep_copy(e->response) : NULL;
    bsn_scrub(req, &bsns, &failed);
    bsn_scrub(resp, &bsns, &failed);

    clock_gettime(CLOCK_REALTIME, &now);
    rec = json_object();
    attrs = json_object();
    body = json_object();
    if (!rec || !attrs || !body)
        goto end;
    json_object_set_new(rec, "trace_id", json_string(trace->trace_id));
    json_object_set_new(rec, "span_id", json_string(trace->span_id));
    if (trace->parent_span_id[0])
        json_object_set_new(rec, "parent_span_id", json_string(trace->parent_span_id));
    json_object_set_new(rec, "event_name", json_string(e->event_name ? e->event_name : ZR_ADL_ACCESS_EVALUATION));
    json_object_set_new(rec, "timestamp",
                        json_integer((json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000));
    /* ADL §status: a deny is an outcome of the evaluation, not a failure. */
    json_object_set_new(rec, "status", json_string(e->decision == ZR_AUTHZ_ERROR ? "Error" : "Ok"));
    /* ADL §attributes: adl.core.* only as source references (which PDP:
     * §adl.core.configuration), our own keys namespaced. */
    if (e->pdp)
        json_object_set_new(attrs, "adl.core.configuration", json_pack("{s:s}", "pdp", e->pdp));
    json_object_set_new(attrs, "zorgrelay.authz.decision", json_string(decision_name(e->decision)));
    if (e->outcome)
        json_object_set_new(attrs, "zorgrelay.authz.outcome", json_string(e->outcome));
    if (!client)
        client = json_string_value(json_object_get(json_object_get(e->request, "resource"), "id"));
    if (client)
        json_object_set_new(attrs, "zorgrelay.oidc.client_id", json_string(client));
    if (e->error)
        json_object_set_new(attrs, "zorgrelay.authz.error", json_string(e->error));
    if (e->request_id)
        json_object_set_new(attrs, "zorgrelay.authz.request_id", json_string(e->request_id));
    json_object_set(rec, "attributes", attrs);
    json_object_set_new(rec, "resource", producer());
    /* ADL §body: the raw request and response. Nothing sent (the PDP was
     * not asked): no body. A record whose scrubbing failed, or that would
     * still show a BSN (say as a member name), goes out with the
     * response's decisions only rather than in clear. */
    if (!req && !resp) {
        line = json_dumps(rec, JSON_COMPACT);
    } else if (!failed && !bsns.overflow) {
        if (req)
            json_object_set(body, "adl.core.request", req);
        if (resp)
            json_object_set(body, "adl.core.response", resp);
        json_object_set(rec, "body", body);
        line = json_dumps(rec, JSON_COMPACT);
    }
    if (!line || bsn_visible(line, &bsns) || (!to_file && strlen(line) > STDERR_MAX_LINE)) {
        const char *why = line && !bsn_visible(line, &bsns) ? "size" : "personal data";
        free(line);
        json_object_del(rec, "body");
        json_object_set_new(attrs, "zorgrelay.adl.body_omitted", json_string(why));
        if ((small = response_decisions(e->response)))
            json_object_set_new(rec, "body", json_pack("{s:O}", "adl.core.response", small));
        line = json_dumps(rec, JSON_COMPACT);
    }
    if (!line || bsn_visible(line, &bsns)) {
        zr_log_error("adl.record_failed", "trace=%s", trace->trace_id);
        goto end;
    }
    if (to_file) {
        size_t n = strlen(line);
        full = malloc(n + 2);
        if (!full)
            goto end;
        memcpy(full, line, n);
        full[n] = '\n';
        full[n + 1] = '\0';
        if (zr_record_sink_write(&adl_sink, full, n + 1) < 0)
            zr_log_error("adl.write_failed", "errno=%d", errno);
    } else {
        zr_log_info("adl", "%s", line);
    }

end:
    for (size_t i = 0; i < bsns.count; i++)
        free(bsns.hash[i]);
    free(full);
    free(line);
    json_decref(small);
    json_decref(body);
    json_decref(attrs);
    json_decref(rec);
    json_decref(req);
    json_decref(resp);
}
