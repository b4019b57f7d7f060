/* The relay as AuthZEN policy enforcement point (AuthZEN 1.0 §Access
 * Evaluation API, NL Gov profile): one POST per login, a fresh libcurl
 * handle per call (thread-safe without shared state), TLS >= 1.2 with an
 * optional pinned CA, a hard timeout, answers capped at 64 KiB and read
 * strictly. Only "200 + decision true/false" is a decision; everything
 * else is ZR_AUTHZ_ERROR, which the caller fails closed on (unless the
 * client is configured fail_open). */
#include "authz_internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "zr/json.h"
#include "zr/log.h"
#include "zr/util.h"

#define MAX_ANSWER (64 * 1024)
#define MAX_REASON 512
#define DISCOVERY_PATH "/.well-known/authzen-configuration"
#define DEFAULT_EVALUATION_PATH "/access/v1/evaluation"
#define DEFAULT_EVALUATIONS_PATH "/access/v1/evaluations"
#define DISCOVERY_TTL_S 3600

struct zr_authz_pdp {
    char *base;               /* pdp URL without trailing slash */
    char *ca_file;
    char *processing_activity_id;
    long timeout_ms;
    int fail_open;            /* a PDP error lets the login through (the record says so) */
    int per_role;             /* authzen.evaluations: per_role (Access Evaluations API) */
    pthread_mutex_t lock;     /* guards the discovery cache */
    char *endpoint;           /* cached evaluation endpoint; NULL until discovered */
    char *batch_endpoint;     /* cached evaluations endpoint, discovered with it */
    time_t endpoint_at;
};

typedef struct {
    long status;
    char *content_type;
    char *request_id;         /* the answer's X-Request-ID header, if any */
    zr_capped_buf_t body;
} answer_t;

/* Length of "scheme://authority" of url, 0 when it has none. */
static size_t origin_len(const char *url)
{
    const char *p = strstr(url, "://");
    if (!p || p == url)
        return 0;
    p += 3;
    size_t n = strcspn(p, "/?#");
    return n ? (size_t)(p - url) + n : 0;
}

/* https, or plain http to this machine only: the body carries personal
 * data. No user info in the authority ("http://localhost:1@elsewhere"). */
static int url_acceptable(const char *url)
{
    static const char *const loopback[] = {"http://127.0.0.1", "http://localhost", "http://[::1]"};
    size_t o = origin_len(url);
    if (!o || memchr(url, '@', o))
        return 0;
    if (!strncasecmp(url, "https://", 8))
        return 1;
    for (size_t i = 0; i < sizeof(loopback) / sizeof(loopback[0]); i++) {
        size_t n = strlen(loopback[i]);
        if (!strncasecmp(url, loopback[i], n) && (url[n] == ':' || url[n] == '/' || url[n] == '\0'))
            return 1;
    }
    return 0;
}

zr_authz_pdp_t *zr_authz_pdp_new(const zr_authzen_client_t *cfg, char *err, size_t errlen)
{
    zr_authz_pdp_t *p = NULL, *result = NULL;
    if (!cfg || !cfg->pdp || !*cfg->pdp) {
        snprintf(err, errlen, "authzen.pdp: missing");
        goto end;
    }
    if (!url_acceptable(cfg->pdp)) {
        snprintf(err, errlen, "authzen.pdp: must be an https URL (plain http only on loopback)");
        goto end;
    }
    p = calloc(1, sizeof(*p));
    if (!p || !(p->base = strdup(cfg->pdp)) || (cfg->tls_ca_file && !(p->ca_file = strdup(cfg->tls_ca_file))) ||
        (cfg->processing_activity_id && !(p->processing_activity_id = strdup(cfg->processing_activity_id)))) {
        snprintf(err, errlen, "authzen: out of memory");
        goto end;
    }
    size_t n = strlen(p->base);
    while (n > 0 && p->base[n - 1] == '/')
        p->base[--n] = '\0';
    p->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 2000;
    p->fail_open = cfg->fail_open != 0;
    p->per_role = cfg->evaluations == ZR_AUTHZ_EVALUATIONS_PER_ROLE;
    pthread_mutex_init(&p->lock, NULL);
    result = p;
    p = NULL;

end:
    if (p) {
        free(p->base);
        free(p->ca_file);
        free(p->processing_activity_id);
        free(p);
    }
    return result;
}

int zr_authz_pdp_fail_open(const zr_authz_pdp_t *p)
{
    return p && p->fail_open;
}

/* What the relay does with a decision; the record names it so that an
 * error let through by fail_open is never mistaken for a refusal. */
static const char *outcome_of(const zr_authz_pdp_t *p, zr_authz_decision_t d)
{
    if (d == ZR_AUTHZ_PERMIT)
        return ZR_AUTHZ_OUTCOME_ALLOWED;
    if (d == ZR_AUTHZ_DENY || !p || !p->fail_open)
        return ZR_AUTHZ_OUTCOME_REFUSED;
    return ZR_AUTHZ_OUTCOME_FAIL_OPEN;
}

void zr_authz_record_undescribable(const zr_authz_pdp_t *p, const zr_trace_t *trace, const char *client_id,
                                   const char *why)
{
    zr_authz_log_entry_t e = {.trace = trace, .pdp = p ? p->base : NULL, .client = client_id,
                              .decision = ZR_AUTHZ_ERROR, .error = why, .outcome = ZR_AUTHZ_OUTCOME_REFUSED};
    zr_authz_log_write(&e);
}

void zr_authz_pdp_free(zr_authz_pdp_t *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->base);
    free(p->ca_file);
    free(p->processing_activity_id);
    free(p->endpoint);
    free(p->batch_endpoint);
    free(p);
}

/* One HTTP exchange (GET when body is NULL). 0 when an answer (any status)
 * arrived within the limits; -1 with err otherwise. */
static int http_call(const zr_authz_pdp_t *p, const char *url, const char *body, const char *traceparent,
                     const char *request_id, answer_t *ans, char *err, size_t errlen)
{
    CURL *c = NULL;
    struct curl_slist *headers = NULL;
    struct curl_header *rid = NULL;
    char detail[CURL_ERROR_SIZE] = "", tp_header[80], rid_header[64];
    const char *ct = NULL;
    int ok = 1, rc = -1;
    CURLcode res;

    c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "pdp: cannot create HTTP handle");
        goto end;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    }
    if (traceparent) {
        /* W3C trace context on the HTTP hop too, not only in the body. */
        snprintf(tp_header, sizeof(tp_header), "traceparent: %s", traceparent);
        headers = curl_slist_append(headers, tp_header);
    }
    if (request_id) {
        /* AuthZEN NL Gov §Transport, Request Identification. */
        snprintf(rid_header, sizeof(rid_header), "X-Request-ID: %s", request_id);
        headers = curl_slist_append(headers, rid_header);
    }
    ok &= headers != NULL;
    ok &= curl_easy_setopt(c, CURLOPT_URL, url) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_PROXY, "") == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2) == CURLE_OK;
    if (p->ca_file)
        ok &= curl_easy_setopt(c, CURLOPT_CAINFO, p->ca_file) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, p->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, p->timeout_ms) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers) == CURLE_OK;
    ans->body.max = MAX_ANSWER;
    ok &= curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, zr_capped_buf_write) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans->body) == CURLE_OK;
    ok &= curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail) == CURLE_OK;
    if (body) {
        ok &= curl_easy_setopt(c, CURLOPT_POSTFIELDS, body) == CURLE_OK;
        ok &= curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body)) == CURLE_OK;
    }
    if (!ok) {
        snprintf(err, errlen, "pdp: cannot set up the HTTP request");
        goto end;
    }
    res = curl_easy_perform(c);
    if (ans->body.too_large) {
        snprintf(err, errlen, "pdp: answer larger than %d bytes", MAX_ANSWER);
        goto end;
    }
    if (res == CURLE_OPERATION_TIMEDOUT) {
        snprintf(err, errlen, "pdp: timeout after %ld ms", p->timeout_ms);
        goto end;
    }
    if (res != CURLE_OK) {
        snprintf(err, errlen, "pdp: %s", detail[0] ? detail : curl_easy_strerror(res));
        goto end;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &ans->status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        ans->content_type = strdup(ct);
    if (curl_easy_header(c, "X-Request-ID", 0, CURLH_HEADER, -1, &rid) == CURLHE_OK && rid && rid->value)
        ans->request_id = strndup(rid->value, 128);
    rc = 0;

end:
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

static void answer_free(answer_t *a)
{
    free(a->content_type);
    free(a->request_id);
    zr_buf_free(&a->body.buf);
    memset(a, 0, sizeof(*a));
}

/* application/json, parameters allowed ("; charset=utf-8"). */
static int is_json_type(const char *ct)
{
    static const char want[] = "application/json";
    if (!ct || strncasecmp(ct, want, sizeof(want) - 1))
        return 0;
    ct += sizeof(want) - 1;
    while (*ct == ' ')
        ct++;
    return *ct == '\0' || *ct == ';';
}

/* The PDP's answers go through the one hardened JSON parser. */
static json_t *parse_object(const char *body, size_t len)
{
    return zr_json_parse_object(body, len, 0, NULL);
}

static char *concat(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *r = malloc(la + lb + 1);
    if (r) {
        memcpy(r, a, la);
        memcpy(r + la, b, lb + 1);
    }
    return r;
}

/* One endpoint of the discovery answer (key), else base + default_path. */
static char *discovered_url(const char *base, long status, const char *content_type, const char *body, size_t len,
                            const char *key, const char *default_path, int *cacheable)
{
    json_t *doc = NULL;
    char *url = NULL;

    *cacheable = 0;
    if (status == 200 && is_json_type(content_type) && (doc = parse_object(body, len))) {
        const char *e = json_string_value(json_object_get(doc, key));
        const char *pdp_id = json_string_value(json_object_get(doc, "policy_decision_point"));
        size_t o = origin_len(base);
        if (e && (!pdp_id || !strncmp(pdp_id, base, strlen(base))) && origin_len(e) == o &&
            !strncasecmp(e, base, o) && !strpbrk(e, " \t\r\n"))
            url = strdup(e);
        else if (e)
            zr_log_warn("authz.discovery", "pdp=%s key=%s result=ignored reason=\"no endpoint on the PDP's origin\"",
                        base, key);
        *cacheable = 1;
    } else if (status == 404) {
        *cacheable = 1;
    } else {
        /* An odd answer: use the default path now, ask again next time. */
        zr_log_warn("authz.discovery", "pdp=%s result=failed status=%ld", base, status);
    }
    if (!url)
        url = concat(base, default_path);
    json_decref(doc);
    return url;
}

char *zr_authz_discovery_read(const char *base, long status, const char *content_type, const char *body, size_t len,
                              int *cacheable)
{
    return discovered_url(base, status, content_type, body, len, "access_evaluation_endpoint",
                          DEFAULT_EVALUATION_PATH, cacheable);
}

char *zr_authz_discovery_read_batch(const char *base, long status, const char *content_type, const char *body,
                                    size_t len, int *cacheable)
{
    return discovered_url(base, status, content_type, body, len, "access_evaluations_endpoint",
                          DEFAULT_EVALUATIONS_PATH, cacheable);
}

/* The evaluation endpoint (batch: the evaluations endpoint): from
 * discovery (both cached together; a 404 caches the default paths), else
 * the default path. A discovered endpoint must stay on the PDP's own
 * origin: the request carries personal data and a discovery document must
 * not send it elsewhere. NULL with err when the PDP cannot be reached at
 * all (the evaluation would fail the same way). */
static char *evaluation_endpoint(zr_authz_pdp_t *p, int batch, const char *traceparent, char *err, size_t errlen)
{
    char *url = NULL, *other = NULL, *discovery = NULL;
    answer_t ans = {0};
    int cacheable = 0, cacheable_batch = 0;
    time_t now = zr_time_now();

    pthread_mutex_lock(&p->lock);
    if (p->endpoint && p->batch_endpoint && now - p->endpoint_at < DISCOVERY_TTL_S)
        url = strdup(batch ? p->batch_endpoint : p->endpoint);
    pthread_mutex_unlock(&p->lock);
    if (url)
        goto end;

    if (!(discovery = concat(p->base, DISCOVERY_PATH))) {
        snprintf(err, errlen, "pdp: out of memory");
        goto end;
    }
    /* Discovery is a call of its own: no request id of the evaluation. */
    if (http_call(p, discovery, NULL, traceparent, NULL, &ans, err, errlen) != 0)
        goto end;
    url = zr_authz_discovery_read(p->base, ans.status, ans.content_type, ans.body.buf.data, ans.body.buf.len,
                                  &cacheable);
    other = zr_authz_discovery_read_batch(p->base, ans.status, ans.content_type, ans.body.buf.data,
                                          ans.body.buf.len, &cacheable_batch);
    if (!url || !other) {
        snprintf(err, errlen, "pdp: out of memory");
        free(url);
        url = NULL;
        goto end;
    }
    if (cacheable && cacheable_batch) {
        pthread_mutex_lock(&p->lock);
        free(p->endpoint);
        free(p->batch_endpoint);
        p->endpoint = strdup(url);
        p->batch_endpoint = strdup(other);
        p->endpoint_at = now;
        pthread_mutex_unlock(&p->lock);
    }
    if (batch) {
        char *t = url;
        url = other;
        other = t;
    }

end:
    answer_free(&ans);
    free(discovery);
    free(other);
    return url;
}

/* Text of a language map ({"nl": "...", "en-403": "..."}): Dutch first,
 * then English, then whatever is there. */
static const char *pick_language(json_t *map)
{
    static const char *const prefs[] = {"nl", "en"};
    const char *key;
    json_t *v;
    if (json_is_string(map))
        return json_string_value(map);
    if (!json_is_object(map))
        return NULL;
    for (size_t i = 0; i < 2; i++) {
        if (json_is_string(json_object_get(map, prefs[i])))
            return json_string_value(json_object_get(map, prefs[i]));
        /* "nl-NL", "en-403" (AuthZEN's example) */
        json_object_foreach(map, key, v) {
            if (!strncasecmp(key, prefs[i], 2) && (key[2] == '-' || key[2] == '_') && json_is_string(v))
                return json_string_value(v);
        }
    }
    json_object_foreach(map, key, v) {
        if (json_is_string(v))
            return json_string_value(v);
    }
    return NULL;
}

/* 1 when text holds a run of exactly 9 digits that passes the 11-proof. */
static int contains_bsn(const char *text)
{
    for (const char *c = text; *c;) {
        size_t n = strspn(c, "0123456789");
        if (n == 9) {
            char bsn[10];
            memcpy(bsn, c, 9);
            bsn[9] = '\0';
            if (zr_bsn_is_valid(bsn))
                return 1;
        }
        c += n ? n : 1;
    }
    return 0;
}

/* The user-facing reason: context.reason_user, else context.reason.
 * reason_admin is for operators and stays in the decision log. Control
 * characters become spaces; at most MAX_REASON bytes, cut on a UTF-8
 * character boundary. */
static char *reason_text(json_t *answer)
{
    json_t *ctx = json_object_get(answer, "context");
    const char *text = pick_language(json_object_get(ctx, "reason_user"));
    if (!text)
        text = pick_language(json_object_get(ctx, "reason"));
    if (!text || !*text)
        return NULL;
    size_t n = strlen(text);
    if (n > MAX_REASON) {
        n = MAX_REASON;
        while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
            n--;
    }
    char *r = strndup(text, n);
    for (char *c = r; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    /* The reason goes to the portal (error_description): a PDP that was
     * told the BSN must not be able to pass it on there. */
    if (r && contains_bsn(r)) {
        zr_log_warn("authz.reason", "result=dropped reason=\"the PDP's reason names a BSN\"");
        free(r);
        r = NULL;
    }
    return r;
}

/* The envelope of every PDP answer: AuthZEN says a deny is a 200 with
 * false, so any other status, type or body is no decision. NULL with why. */
static json_t *answer_object(long status, const char *content_type, const char *body, size_t len, char *why,
                             size_t whylen)
{
    json_t *answer = NULL;
    if (status != 200)
        snprintf(why, whylen, "pdp: HTTP %ld", status);
    else if (!is_json_type(content_type))
        snprintf(why, whylen, "pdp: answer is not application/json");
    else if (!(answer = parse_object(body, len)))
        snprintf(why, whylen, "pdp: answer is not a JSON object");
    return answer;
}

zr_authz_decision_t zr_authz_answer_read(long status, const char *content_type, const char *body, size_t len,
                                         json_t **answer, char **reason, char *why, size_t whylen)
{
    zr_authz_decision_t decision = ZR_AUTHZ_ERROR;
    json_t *value;

    if (!(*answer = answer_object(status, content_type, body, len, why, whylen)))
        goto end;
    value = json_object_get(*answer, "decision");
    if (json_is_true(value)) {
        decision = ZR_AUTHZ_PERMIT;
    } else if (json_is_false(value)) {
        decision = ZR_AUTHZ_DENY;
    } else {
        snprintf(why, whylen, "pdp: decision missing or not a boolean");
        goto end;
    }
    if (reason)
        *reason = reason_text(*answer);
end:
    return decision;
}

zr_authz_decision_t zr_authz_answers_read(long status, const char *content_type, const char *body, size_t len,
                                          size_t count, json_t **answer, int *permitted, char **reason, char *why,
                                          size_t whylen)
{
    zr_authz_decision_t decision = ZR_AUTHZ_ERROR;
    json_t *list, *item;
    size_t i, permits = 0;

    if (!(*answer = answer_object(status, content_type, body, len, why, whylen)))
        goto end;
    /* execute_all: one decision per evaluation, in order (AuthZEN NL Gov
     * §Access Evaluations API Response); a top-level decision is ignored. */
    list = json_object_get(*answer, "evaluations");
    if (!json_is_array(list) || json_array_size(list) != count) {
        snprintf(why, whylen, "pdp: evaluations missing or not %zu long", count);
        goto end;
    }
    json_array_foreach(list, i, item) {
        json_t *value = json_object_get(item, "decision");
        if (!json_is_boolean(value)) {
            snprintf(why, whylen, "pdp: evaluations[%zu].decision missing or not a boolean", i);
            goto end;
        }
    }
    json_array_foreach(list, i, item) {
        permitted[i] = json_is_true(json_object_get(item, "decision"));
        permits += (size_t)permitted[i];
        /* The first denial's reason is the one the person is shown. */
        if (!permitted[i] && reason && !*reason)
            *reason = reason_text(item);
    }
    decision = permits ? ZR_AUTHZ_PERMIT : ZR_AUTHZ_DENY;
    if (decision == ZR_AUTHZ_PERMIT && reason) {
        free(*reason);
        *reason = NULL;
    }
end:
    if (decision == ZR_AUTHZ_ERROR && permitted)
        memset(permitted, 0, count * sizeof(*permitted));
    return decision;
}

/* A fresh random request id (UUID version 4, RFC 9562 §5.4). */
static int request_id_new(char out[37])
{
    uint8_t b[16];
    if (zr_random_bytes(b, sizeof(b)) != 0)
        return -1;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
             b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return 0;
}

/* {name: "login", properties: {role, processing_activity_id}}; role NULL for the login as a whole. */
static json_t *action_of(const zr_authz_pdp_t *p, const char *role)
{
    json_t *action = json_pack("{s:s}", "name", "login"), *props = json_object();
    if (action && props) {
        if (role)
            json_object_set_new(props, "role", json_string(role));
        if (p->processing_activity_id)
            json_object_set_new(props, "processing_activity_id", json_string(p->processing_activity_id));
        if (json_object_size(props))
            json_object_set(action, "properties", props);
    }
    json_decref(props);
    return action;
}

/* The AuthZEN request: one evaluation, or with per_role one evaluation per
 * role in the Access Evaluations form (the top level gives the defaults,
 * each evaluation its own action; execute_all, so every role is judged). */
static json_t *request_body(const zr_authz_pdp_t *p, const zr_authz_request_t *rq, int batch, const char *traceparent)
{
    json_t *req = NULL, *action = NULL, *resource = NULL, *list = NULL, *result = NULL;
    char when[21];
    zr_time_format_iso8601(zr_time_now(), when); /* RFC 3339 in UTC */
    action = action_of(p, NULL);
    resource = rq->resource ? json_incref(rq->resource)
                            : json_pack("{s:s, s:s}", "type", ZR_AUTHZ_RESOURCE_PORTAL, "id", rq->client_id);
    if (!action || !resource)
        goto end;
    req = json_pack("{s:O, s:O, s:O, s:{s:s, s:s}}", "subject", rq->subject, "action", action, "resource", resource,
                    "context", "time", when, "traceparent", traceparent);
    if (!req)
        goto end;
    if (batch) {
        if (!(list = json_array()))
            goto end;
        for (size_t i = 0; i < rq->role_count; i++) {
            json_t *a = action_of(p, rq->roles[i]);
            if (!a || json_array_append_new(list, json_pack("{s:o}", "action", a)) != 0)
                goto end;
        }
        json_object_set(req, "evaluations", list);
        json_object_set_new(req, "options", json_pack("{s:s}", "evaluations_semantic", "execute_all"));
    }
    result = req;
    req = NULL;
end:
    json_decref(req);
    json_decref(list);
    json_decref(resource);
    json_decref(action);
    return result;
}

zr_authz_decision_t zr_authz_evaluate_request(zr_authz_pdp_t *p, const zr_authz_request_t *rq, int *permitted,
                                              char **reason, char *err, size_t errlen)
{
    zr_authz_decision_t decision = ZR_AUTHZ_ERROR;
    json_t *req = NULL, *resp = NULL;
    char *body = NULL, *url = NULL, traceparent[64], why[256] = "", request_id[37] = "";
    const zr_trace_t *trace = rq ? rq->trace : NULL;
    const char *client_id = rq ? rq->client_id : NULL;
    answer_t ans = {0};
    int batch = 0;

    if (reason)
        *reason = NULL;
    if (!p || !rq || !trace || !json_is_object(rq->subject) || !client_id || !*client_id) {
        snprintf(why, sizeof(why), "pdp: incomplete evaluation request");
        goto end;
    }
    batch = p->per_role && rq->role_count > 0 && rq->roles && permitted;
    zr_trace_format(trace, traceparent, sizeof(traceparent));
    if (request_id_new(request_id) != 0 || !(req = request_body(p, rq, batch, traceparent)) ||
        !(body = json_dumps(req, JSON_COMPACT))) {
        snprintf(why, sizeof(why), "pdp: cannot build the request");
        goto end;
    }
    if (!(url = evaluation_endpoint(p, batch, traceparent, why, sizeof(why))))
        goto end;
    if (http_call(p, url, body, traceparent, request_id, &ans, why, sizeof(why)) != 0)
        goto end;
    /* The PDP MUST echo our id (AuthZEN NL Gov §Request Identification);
     * another one is an answer to another request. */
    if (ans.request_id && strcmp(ans.request_id, request_id) != 0) {
        snprintf(why, sizeof(why), "pdp: the answer's X-Request-ID is not this request's");
        goto end;
    }
    if (batch)
        decision = zr_authz_answers_read(ans.status, ans.content_type, ans.body.buf.data, ans.body.buf.len,
                                         rq->role_count, &resp, permitted, reason, why, sizeof(why));
    else
        decision = zr_authz_answer_read(ans.status, ans.content_type, ans.body.buf.data, ans.body.buf.len, &resp,
                                        reason, why, sizeof(why));

end:
    if (p) {
        zr_authz_log_entry_t e = {.trace = trace, .pdp = p->base, .client = client_id, .request = req,
                                  .response = resp, .decision = decision,
                                  .error = decision == ZR_AUTHZ_ERROR ? why : NULL, .outcome = outcome_of(p, decision),
                                  .event_name = batch ? ZR_ADL_ACCESS_EVALUATIONS : ZR_ADL_ACCESS_EVALUATION,
                                  .request_id = request_id[0] ? request_id : NULL};
        zr_authz_log_write(&e);
    }
    if (decision == ZR_AUTHZ_ERROR)
        zr_log_warn("authz.evaluate", "pdp=%s client=%s trace=%s request_id=%s result=error reason=\"%s\"",
                    p ? p->base : "-", client_id ? client_id : "-", trace ? trace->trace_id : "-",
                    request_id[0] ? request_id : "-", why);
    else
        zr_log_info("authz.evaluate", "pdp=%s client=%s trace=%s request_id=%s evaluations=%zu result=%s", p->base,
                    client_id, trace->trace_id, request_id, batch ? rq->role_count : (size_t)1,
                    decision == ZR_AUTHZ_PERMIT ? "permit" : "deny");
    if (err && errlen)
        snprintf(err, errlen, "%s", why);
    answer_free(&ans);
    json_decref(resp);
    json_decref(req);
    free(body);
    free(url);
    return decision;
}

zr_authz_decision_t zr_authz_evaluate(zr_authz_pdp_t *p, const zr_trace_t *trace, json_t *subject,
                                      const char *client_id, char **reason, char *err, size_t errlen)
{
    zr_authz_request_t rq = {.trace = trace, .subject = subject, .client_id = client_id};
    return zr_authz_evaluate_request(p, &rq, NULL, reason, err, errlen);
}
