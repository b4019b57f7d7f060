/* Unit tests for src/authz/pdp.c and decision_log.c against a real HTTP
 * PDP: a small server thread on a loopback socket that answers per
 * scenario and records what it was sent. */
#include <setjmp.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log_capture.h"
#include "zr/authz.h"
#include "../../src/authz/authz_internal.h"
#include "zr/util.h"

#define ACTING_BSN "999993653"
#define LEGAL_BSN "999991772"
#define CLIENT "portal-oost"

typedef enum {
    SC_PERMIT = 0,
    SC_DENY_REASON,
    SC_DENY_BSN_ECHO,   /* the PDP repeats the BSN in its reason */
    SC_DENY_BSN_KEY,    /* ... or as a member name */
    SC_500,
    SC_MALFORMED,
    SC_NOT_BOOL,
    SC_DUPLICATE,
    SC_NO_DECISION,
    SC_WRONG_TYPE,      /* text/plain */
    SC_TOO_LARGE,
    SC_SLOW,
} scenario_t;

typedef enum { DISC_ABSENT = 0, DISC_PRESENT, DISC_FOREIGN } discovery_t;

/* The fake PDP. */
static struct {
    int fd;
    int port;
    char base[64];
    pthread_t thread;
    volatile int stop;
    pthread_mutex_t lock;
    scenario_t scenario;
    discovery_t discovery;
    int discovery_hits;
    int evaluation_hits;
    char path[256];
    char traceparent[80];
    char *body;          /* last POST body */
} pdp = {.fd = -1, .lock = PTHREAD_MUTEX_INITIALIZER};

static void send_all(int c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c, data, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        data += n;
        len -= (size_t)n;
    }
}

static void reply(int c, int status, const char *type, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                     status, type, strlen(body));
    send_all(c, head, (size_t)n);
    send_all(c, body, strlen(body));
}

/* Header value (case-insensitive name) from the head, copied into out. */
static void header(const char *head, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
        size_t n = strlen(name);
        if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
            const char *v = p + 3 + n;
            while (*v == ' ')
                v++;
            snprintf(out, outlen, "%.*s", (int)strcspn(v, "\r\n"), v);
            return;
        }
    }
}

static void handle(int c)
{
    char buf[65536], method[8] = "", path[256] = "", clen[16], tp[80];
    size_t len = 0;
    char *end = NULL;
    buf[0] = '\0';
    while (len < sizeof(buf) - 1 && !(end = strstr(buf, "\r\n\r\n"))) {
        ssize_t n = recv(c, buf + len, sizeof(buf) - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
    }
    if (!end)
        return;
    *end = '\0';
    sscanf(buf, "%7s %255s", method, path);
    header(buf, "Content-Length", clen, sizeof(clen));
    header(buf, "traceparent", tp, sizeof(tp));
    size_t want = (size_t)atol(clen), have = len - (size_t)(end + 4 - buf);
    char *body = calloc(1, want + 1);
    memcpy(body, end + 4, have < want ? have : want);
    while (have < want) {
        ssize_t n = recv(c, body + have, want - have, 0);
        if (n <= 0)
            break;
        have += (size_t)n;
    }

    pthread_mutex_lock(&pdp.lock);
    scenario_t sc = pdp.scenario;
    discovery_t disc = pdp.discovery;
    if (!strcmp(method, "GET") && !strcmp(path, "/.well-known/authzen-configuration")) {
        pdp.discovery_hits++;
    } else if (!strcmp(method, "POST")) {
        pdp.evaluation_hits++;
        snprintf(pdp.path, sizeof(pdp.path), "%s", path);
        snprintf(pdp.traceparent, sizeof(pdp.traceparent), "%s", tp);
        free(pdp.body);
        pdp.body = body;
        body = NULL;
    }
    pthread_mutex_unlock(&pdp.lock);
    free(body);

    if (!strcmp(method, "GET")) {
        char doc[512];
        if (disc == DISC_ABSENT) {
            reply(c, 404, "text/plain", "not found");
        } else {
            snprintf(doc, sizeof(doc), "{\"policy_decision_point\":\"%s\",\"access_evaluation_endpoint\":\"%s\"}",
                     pdp.base, disc == DISC_PRESENT ? "" : "https://elsewhere.example");
            /* present: a non-default path on our own origin */
            if (disc == DISC_PRESENT)
                snprintf(doc, sizeof(doc),
                         "{\"policy_decision_point\":\"%s\",\"access_evaluation_endpoint\":\"%s/pdp/eval\"}",
                         pdp.base, pdp.base);
            reply(c, 200, "application/json", doc);
        }
        return;
    }
    const char *want_path = disc == DISC_PRESENT ? "/pdp/eval" : "/access/v1/evaluation";
    if (strcmp(path, want_path)) {
        reply(c, 404, "application/json", "{}");
        return;
    }
    switch (sc) {
    case SC_PERMIT:
        reply(c, 200, "application/json", "{\"decision\":true}");
        break;
    case SC_DENY_REASON:
        reply(c, 200, "application/json; charset=utf-8",
              "{\"decision\":false,\"context\":{\"reason_admin\":{\"en\":\"policy 17\"},"
              "\"reason_user\":{\"en-403\":\"Not allowed\",\"nl-403\":\"Geen toegang\\nhier\"}}}");
        break;
    case SC_DENY_BSN_ECHO:
        reply(c, 200, "application/json",
              "{\"decision\":false,\"context\":{\"reason\":\"BSN " ACTING_BSN " onbekend\"}}");
        break;
    case SC_DENY_BSN_KEY:
        reply(c, 200, "application/json", "{\"decision\":false,\"context\":{\"" LEGAL_BSN "\":1}}");
        break;
    case SC_500:
        reply(c, 500, "application/json", "{\"decision\":true}");
        break;
    case SC_MALFORMED:
        reply(c, 200, "application/json", "{\"decision\": tru");
        break;
    case SC_NOT_BOOL:
        reply(c, 200, "application/json", "{\"decision\":\"true\"}");
        break;
    case SC_DUPLICATE:
        reply(c, 200, "application/json", "{\"decision\":false,\"decision\":true}");
        break;
    case SC_NO_DECISION:
        reply(c, 200, "application/json", "[true]");
        break;
    case SC_WRONG_TYPE:
        reply(c, 200, "text/plain", "{\"decision\":true}");
        break;
    case SC_TOO_LARGE: {
        size_t n = 70 * 1024;
        char *big = malloc(n + 64);
        strcpy(big, "{\"decision\":true,\"pad\":\"");
        size_t at = strlen(big);
        memset(big + at, 'a', n);
        strcpy(big + at + n, "\"}");
        reply(c, 200, "application/json", big);
        free(big);
        break;
    }
    case SC_SLOW: {
        /* answer only after the client gave up (it closes the socket) */
        struct pollfd pfd = {.fd = c, .events = POLLIN};
        if (poll(&pfd, 1, 5000) == 1)
            (void)recv(c, buf, sizeof(buf), 0);
        reply(c, 200, "application/json", "{\"decision\":true}");
        break;
    }
    }
}

static void *serve(void *arg)
{
    while (!pdp.stop) {
        struct pollfd pfd = {.fd = pdp.fd, .events = POLLIN};
        if (poll(&pfd, 1, 50) != 1)
            continue;
        int c = accept(pdp.fd, NULL, NULL);
        if (c < 0)
            continue;
        handle(c);
        close(c);
    }
    return NULL;
}

static int group_setup(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    pdp.fd = socket(AF_INET, SOCK_STREAM, 0);
    if (pdp.fd < 0 || bind(pdp.fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(pdp.fd, 16) != 0 ||
        getsockname(pdp.fd, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    pdp.port = ntohs(a.sin_port);
    snprintf(pdp.base, sizeof(pdp.base), "http://127.0.0.1:%d", pdp.port);
    return pthread_create(&pdp.thread, NULL, serve, NULL) == 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
    pdp.stop = 1;
    pthread_join(pdp.thread, NULL);
    close(pdp.fd);
    free(pdp.body);
    pdp.body = NULL;
    zr_authz_log_close();
    return 0;
}

static void set_scenario(scenario_t sc, discovery_t disc)
{
    pthread_mutex_lock(&pdp.lock);
    pdp.scenario = sc;
    pdp.discovery = disc;
    pdp.discovery_hits = 0;
    pdp.evaluation_hits = 0;
    pdp.path[0] = '\0';
    free(pdp.body);
    pdp.body = NULL;
    pthread_mutex_unlock(&pdp.lock);
}

static zr_authz_pdp_t *new_pdp(int timeout_ms, const char *activity)
{
    char err[256] = "";
    zr_authzen_client_t cfg = {.enabled = 1, .pdp = pdp.base, .timeout_ms = timeout_ms,
                               .processing_activity_id = (char *)activity};
    zr_authz_pdp_t *p = zr_authz_pdp_new(&cfg, err, sizeof(err));
    if (!p)
        fail_msg("pdp_new: %s", err);
    return p;
}

static json_t *patient_subject(void)
{
    zr_subject_t s;
    memset(&s, 0, sizeof(s));
    s.acting.id_type = ZR_ID_LEGACY_BSN;
    s.acting.value = ACTING_BSN;
    s.has_legal = 1;
    s.legal.id_type = ZR_ID_LEGACY_BSN;
    s.legal.value = LEGAL_BSN;
    s.representation_type = "urn:nl-eid-gdi:1.1:RT:ParentalAuthority";
    s.loa = ZR_LOA_SUBSTANTIAL;
    zr_authz_patient_ids_t ids = {.acting = {ZR_AUTHZ_TYPE_BSN, ACTING_BSN}, .legal = {ZR_AUTHZ_TYPE_BSN, LEGAL_BSN}};
    return zr_authz_subject_patient(&s, &ids);
}

/* One evaluation with a fresh PDP object; returns the decision. */
static zr_authz_decision_t evaluate_once(scenario_t sc, discovery_t disc, int timeout_ms, char **reason, char *err,
                                         size_t errlen, zr_trace_t *trace)
{
    set_scenario(sc, disc);
    zr_authz_pdp_t *p = new_pdp(timeout_ms, NULL);
    json_t *subject = patient_subject();
    zr_trace_begin(NULL, trace);
    zr_authz_decision_t d = zr_authz_evaluate(p, trace, subject, CLIENT, reason, err, errlen);
    json_decref(subject);
    zr_authz_pdp_free(p);
    return d;
}

static void test_permit_and_request_body(void **state)
{
    zr_trace_t trace;
    char err[256] = "", tp[64];
    char *reason = (char *)"untouched";
    set_scenario(SC_PERMIT, DISC_ABSENT);
    zr_authz_pdp_t *p = new_pdp(2000, "https://register.example/activities/login");
    json_t *subject = patient_subject();
    zr_trace_begin("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &trace);
    time_t before = time(NULL);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, &reason, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    assert_null(reason);
    zr_trace_format(&trace, tp, sizeof(tp));

    /* what the PDP received */
    pthread_mutex_lock(&pdp.lock);
    json_t *req = json_loads(pdp.body ? pdp.body : "", JSON_REJECT_DUPLICATES, NULL);
    assert_string_equal(pdp.path, "/access/v1/evaluation");
    assert_string_equal(pdp.traceparent, tp); /* header on the HTTP hop */
    pthread_mutex_unlock(&pdp.lock);
    assert_non_null(req);
    assert_true(json_equal(json_object_get(req, "subject"), subject));
    assert_string_equal(json_string_value(json_object_get(json_object_get(req, "action"), "name")), "login");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(req, "action"), "properties"), "processing_activity_id")),
                        "https://register.example/activities/login");
    json_t *res = json_object_get(req, "resource");
    assert_string_equal(json_string_value(json_object_get(res, "type")), ZR_AUTHZ_RESOURCE_PORTAL);
    assert_string_equal(json_string_value(json_object_get(res, "id")), CLIENT);
    json_t *ctx = json_object_get(req, "context");
    assert_string_equal(json_string_value(json_object_get(ctx, "traceparent")), tp);
    assert_int_equal(strncmp(tp, "00-4bf92f3577b34da6a3ce929d0e0e4736-", 36), 0); /* the incoming trace */
    time_t when = 0;
    const char *t = json_string_value(json_object_get(ctx, "time"));
    assert_non_null(t);
    assert_int_equal(zr_time_parse_iso8601(t, &when), 0); /* RFC 3339, UTC */
    assert_int_equal(strlen(t), 20);
    assert_true(when >= before - 1 && when <= time(NULL) + 1);
    json_decref(req);

    /* the subject stays the caller's */
    assert_string_equal(json_string_value(json_object_get(subject, "id")), ACTING_BSN);
    json_decref(subject);
    zr_authz_pdp_free(p);
}

static void test_deny_with_reason(void **state)
{
    zr_trace_t trace;
    char err[256] = "", *reason = NULL;
    assert_int_equal(evaluate_once(SC_DENY_REASON, DISC_ABSENT, 2000, &reason, err, sizeof(err), &trace),
                     ZR_AUTHZ_DENY);
    /* reason_user, Dutch preferred, control characters flattened; never reason_admin */
    assert_non_null(reason);
    assert_string_equal(reason, "Geen toegang hier");
    free(reason);
}

static void expect_error(scenario_t sc, int timeout_ms, const char *err_part)
{
    zr_trace_t trace;
    char err[256] = "", *reason = NULL;
    zr_authz_decision_t d = evaluate_once(sc, DISC_ABSENT, timeout_ms, &reason, err, sizeof(err), &trace);
    if (d != ZR_AUTHZ_ERROR)
        fail_msg("scenario %d: decision %d, want error", sc, d);
    assert_null(reason);
    if (!strstr(err, err_part))
        fail_msg("scenario %d: err \"%s\" lacks \"%s\"", sc, err, err_part);
}

static void test_errors(void **state)
{
    expect_error(SC_500, 2000, "HTTP 500");
    expect_error(SC_MALFORMED, 2000, "not a JSON object");
    expect_error(SC_NOT_BOOL, 2000, "not a boolean");
    expect_error(SC_DUPLICATE, 2000, "not a JSON object"); /* strict: duplicate keys */
    expect_error(SC_NO_DECISION, 2000, "not a JSON object");
    expect_error(SC_WRONG_TYPE, 2000, "not application/json");
    expect_error(SC_TOO_LARGE, 2000, "larger than");
}

static void test_timeout(void **state)
{
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    expect_error(SC_SLOW, 300, "timeout");
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    assert_true(s >= 0.25 && s < 2.0);
}

static void test_unreachable(void **state)
{
    char err[256] = "";
    zr_trace_t trace;
    /* a port nobody listens on (ours, closed again) */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    char url[64];
    snprintf(url, sizeof(url), "http://localhost:%d/", ntohs(a.sin_port));
    zr_authzen_client_t cfg = {.enabled = 1, .pdp = url, .timeout_ms = 500};
    zr_authz_pdp_t *p = zr_authz_pdp_new(&cfg, err, sizeof(err));
    assert_non_null(p);
    json_t *subject = patient_subject();
    zr_trace_begin(NULL, &trace);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_ERROR);
    assert_true(strlen(err) > 5);
    json_decref(subject);
    zr_authz_pdp_free(p);
}

static void test_discovery(void **state)
{
    zr_trace_t trace;
    char err[256] = "";
    json_t *subject = patient_subject();
    zr_trace_begin(NULL, &trace);

    /* present: its endpoint is used, and the document is fetched once */
    set_scenario(SC_PERMIT, DISC_PRESENT);
    zr_authz_pdp_t *p = new_pdp(2000, NULL);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    pthread_mutex_lock(&pdp.lock);
    assert_string_equal(pdp.path, "/pdp/eval");
    assert_int_equal(pdp.discovery_hits, 1);
    assert_int_equal(pdp.evaluation_hits, 2);
    pthread_mutex_unlock(&pdp.lock);
    zr_authz_pdp_free(p);

    /* absent (404): the default path, and the absence is cached too */
    set_scenario(SC_PERMIT, DISC_ABSENT);
    p = new_pdp(2000, NULL);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    pthread_mutex_lock(&pdp.lock);
    assert_string_equal(pdp.path, "/access/v1/evaluation");
    assert_int_equal(pdp.discovery_hits, 1);
    assert_int_equal(pdp.evaluation_hits, 2);
    pthread_mutex_unlock(&pdp.lock);
    zr_authz_pdp_free(p);

    /* an endpoint on another origin is ignored: personal data stays with the PDP */
    set_scenario(SC_PERMIT, DISC_FOREIGN);
    p = new_pdp(2000, NULL);
    assert_int_equal(zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err)), ZR_AUTHZ_PERMIT);
    pthread_mutex_lock(&pdp.lock);
    assert_string_equal(pdp.path, "/access/v1/evaluation");
    pthread_mutex_unlock(&pdp.lock);
    zr_authz_pdp_free(p);
    json_decref(subject);
}

static void test_pdp_url_policy(void **state)
{
    static const char *const bad[] = {"http://pdp.example.org", "http://localhost.example.org:80",
                                      "http://127.0.0.1@pdp.example.org", "http://localhost:1@pdp.example.org",
                                      "ftp://127.0.0.1", "pdp.example.org", ""};
    char err[256];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        zr_authzen_client_t cfg = {.enabled = 1, .pdp = (char *)bad[i]};
        err[0] = '\0';
        zr_authz_pdp_t *p = zr_authz_pdp_new(&cfg, err, sizeof(err));
        if (p)
            fail_msg("accepted %s", bad[i]);
        assert_true(err[0] != '\0');
    }
    zr_authzen_client_t ok = {.enabled = 1, .pdp = "https://pdp.example.org/authzen/"};
    zr_authz_pdp_t *p = zr_authz_pdp_new(&ok, err, sizeof(err));
    assert_non_null(p);
    zr_authz_pdp_free(p);
}

/* ---- decision log ---- */

/* ADL 1.0 §Interface, §attributes, §body, §resource: the fields and keys
 * every record has, whatever it records. */
static void assert_adl_keys(json_t *rec)
{
    static const char *const fields[] = {"trace_id", "span_id", "parent_span_id", "event_name", "timestamp",
                                         "status", "attributes", "resource", "body"};
    const char *key;
    json_t *v;
    json_object_foreach(rec, key, v) {
        size_t i = 0;
        while (i < sizeof(fields) / sizeof(fields[0]) && strcmp(key, fields[i]))
            i++;
        if (i == sizeof(fields) / sizeof(fields[0]))
            fail_msg("%s: not an ADL field", key);
    }
    json_object_foreach(json_object_get(rec, "attributes"), key, v) {
        if (strcmp(key, "adl.core.configuration") && strncmp(key, "zorgrelay.", 10))
            fail_msg("attributes: %s is neither an ADL source reference nor namespaced", key);
    }
    json_object_foreach(json_object_get(rec, "body"), key, v) {
        if (strcmp(key, "adl.core.request") && strcmp(key, "adl.core.response"))
            fail_msg("body: %s is not adl.core.request/response", key);
    }
    json_t *res = json_object_get(rec, "resource");
    char host[256] = "";
    gethostname(host, sizeof(host) - 1);
    assert_string_equal(json_string_value(json_object_get(res, "service.name")), "zorgrelay");
    assert_string_equal(json_string_value(json_object_get(res, "service.version")), ZR_VERSION);
    assert_string_equal(json_string_value(json_object_get(res, "host.name")), host);
}

static char *read_all(const char *path)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(zr_file_read(path, 16 << 20, &text, &len), 0);
    return text;
}

static void test_decision_log_file(void **state)
{
    char dir[] = "/tmp/zr-adl-XXXXXX", path[64], err[256] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/decisions.jsonl", dir);
    zr_decision_log_config_t cfg = {.file = path};
    assert_int_equal(zr_authz_log_open(&cfg, err, sizeof(err)), 0);

    const scenario_t sc[] = {SC_PERMIT, SC_DENY_REASON, SC_500, SC_DENY_BSN_ECHO, SC_DENY_BSN_KEY};
    const zr_authz_decision_t want[] = {ZR_AUTHZ_PERMIT, ZR_AUTHZ_DENY, ZR_AUTHZ_ERROR, ZR_AUTHZ_DENY,
                                        ZR_AUTHZ_DENY};
    const char *const status[] = {"Ok", "Ok", "Error", "Ok", "Ok"};
    const char *const name[] = {"permit", "deny", "error", "deny", "deny"};
    zr_trace_t traces[5];
    for (size_t i = 0; i < 5; i++) {
        char *reason = NULL;
        assert_int_equal(evaluate_once(sc[i], DISC_ABSENT, 2000, &reason, err, sizeof(err), &traces[i]), want[i]);
        free(reason);
    }
    zr_authz_log_close();

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    char *text = read_all(path);
    /* no BSN anywhere, neither the acting person's nor the represented one's */
    assert_null(strstr(text, ACTING_BSN));
    assert_null(strstr(text, LEGAL_BSN));

    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
        assert_true(lines < 5);
        json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "trace_id")), traces[lines].trace_id);
        assert_string_equal(json_string_value(json_object_get(rec, "span_id")), traces[lines].span_id);
        assert_null(json_object_get(rec, "parent_span_id")); /* we started these traces */
        assert_string_equal(json_string_value(json_object_get(rec, "event_name")), "adl.access_evaluation");
        assert_true(json_is_integer(json_object_get(rec, "timestamp")));
        json_int_t ms = json_integer_value(json_object_get(rec, "timestamp"));
        assert_true(ms / 1000 >= time(NULL) - 60 && ms / 1000 <= time(NULL) + 1);
        assert_string_equal(json_string_value(json_object_get(rec, "status")), status[lines]);
        json_t *attrs = json_object_get(rec, "attributes");
        assert_adl_keys(rec);
        assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.decision")), name[lines]);
        assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.oidc.client_id")), CLIENT);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(attrs, "adl.core.configuration"), "pdp")), pdp.base);
        if (want[lines] == ZR_AUTHZ_ERROR)
            assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.error")), "pdp: HTTP 500");
        else
            assert_null(json_object_get(attrs, "zorgrelay.authz.error"));
        if (lines == 4) {
            /* a BSN that cannot be replaced (a member name): the response's
             * decision only (ADL: retrievable when status is Ok) */
            json_t *body = json_object_get(rec, "body");
            assert_int_equal(json_object_size(body), 1);
            json_t *only = json_object_get(body, "adl.core.response");
            assert_int_equal(json_object_size(only), 1);
            assert_true(json_is_false(json_object_get(only, "decision")));
            assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.adl.body_omitted")),
                                "personal data");
            json_decref(rec);
            continue;
        }
        assert_null(json_object_get(attrs, "zorgrelay.adl.body_omitted"));
        json_t *req = json_object_get(json_object_get(rec, "body"), "adl.core.request");
        json_t *subj = json_object_get(req, "subject");
        /* the BSN became a keyed hash, the same value for the same person */
        const char *id = json_string_value(json_object_get(subj, "id"));
        assert_non_null(id);
        assert_int_equal(strncmp(id, "hmac-sha256:", 12), 0);
        const char *legal = json_string_value(json_object_get(
            json_object_get(json_object_get(json_object_get(subj, "properties"), "representation"), "represented"),
            "id"));
        assert_int_equal(strncmp(legal, "hmac-sha256:", 12), 0);
        assert_string_not_equal(id, legal);
        assert_string_equal(json_string_value(json_object_get(json_object_get(req, "resource"), "id")), CLIENT);
        json_t *resp = json_object_get(json_object_get(rec, "body"), "adl.core.response");
        if (want[lines] == ZR_AUTHZ_ERROR)
            assert_null(resp);
        else
            assert_true(json_is_boolean(json_object_get(resp, "decision")));
        if (lines == 3) /* the echoed BSN in the PDP's answer is hashed too */
            assert_non_null(strstr(json_string_value(json_object_get(json_object_get(resp, "context"), "reason")),
                                   id));
        json_decref(rec);
    }
    assert_int_equal(lines, 5);
    free(text);
    unlink(path);
    rmdir(dir);
}

/* Concurrent writers: every record stays one whole line. */
static void *log_many(void *arg)
{
    zr_trace_t trace;
    char *pad = malloc(16 * 1024 + 1);
    memset(pad, 'x', 16 * 1024);
    pad[16 * 1024] = '\0';
    for (int i = 0; i < 50; i++) {
        json_t *req = json_pack("{s:{s:s, s:s, s:{s:s}}, s:{s:s}}", "subject", "type", ZR_AUTHZ_TYPE_BSN, "id",
                                ACTING_BSN, "properties", "pad", pad, "resource", "id", CLIENT);
        json_t *resp = json_pack("{s:b}", "decision", i % 2);
        zr_trace_begin(NULL, &trace);
        zr_authz_log_entry_t e = {.trace = &trace, .pdp = "https://pdp.example", .request = req, .response = resp,
                                  .decision = i % 2 ? ZR_AUTHZ_PERMIT : ZR_AUTHZ_DENY};
        zr_authz_log_write(&e);
        json_decref(req);
        json_decref(resp);
    }
    free(pad);
    return NULL;
}

/* zorgrelay.authz.outcome says what the relay did with each answer: an error
 * under fail_open is "allowed by fail_open", never a refusal; a login the
 * relay could not describe gets a record of its own, without a body (issue
 * 15 §1). */
static void test_decision_log_outcome(void **state)
{
    char dir[] = "/tmp/zr-adl-XXXXXX", path[64], err[256] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/decisions.jsonl", dir);
    zr_decision_log_config_t cfg = {.file = path};
    assert_int_equal(zr_authz_log_open(&cfg, err, sizeof(err)), 0);

    const scenario_t sc[] = {SC_PERMIT, SC_DENY_REASON, SC_500, SC_500};
    const int fail_open[] = {1, 1, 0, 1};
    const char *const outcome[] = {"allowed", "refused", "refused", "allowed by fail_open", "refused"};
    const char *const status[] = {"Ok", "Ok", "Error", "Error", "Error"};
    zr_trace_t trace;
    for (size_t i = 0; i < 4; i++) {
        set_scenario(sc[i], DISC_ABSENT);
        zr_authzen_client_t c = {.enabled = 1, .pdp = pdp.base, .timeout_ms = 2000, .fail_open = fail_open[i]};
        zr_authz_pdp_t *p = zr_authz_pdp_new(&c, err, sizeof(err));
        assert_non_null(p);
        assert_int_equal(zr_authz_pdp_fail_open(p), fail_open[i]);
        json_t *subject = patient_subject();
        zr_trace_begin(NULL, &trace);
        zr_authz_evaluate(p, &trace, subject, CLIENT, NULL, err, sizeof(err));
        json_decref(subject);
        if (i == 3) /* even with fail_open: the relay's own error is a refusal */
            zr_authz_record_undescribable(p, &trace, CLIENT, "relay: cannot describe the subject");
        zr_authz_pdp_free(p);
    }
    zr_authz_log_close();

    char *text = read_all(path), *save = NULL;
    size_t lines = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
        assert_true(lines < 5);
        json_t *rec = json_loads(line, JSON_REJECT_DUPLICATES, NULL), *attrs = json_object_get(rec, "attributes");
        assert_non_null(rec);
        assert_string_equal(json_string_value(json_object_get(rec, "status")), status[lines]);
        assert_adl_keys(rec);
        assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.outcome")), outcome[lines]);
        assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.oidc.client_id")), CLIENT);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(attrs, "adl.core.configuration"), "pdp")), pdp.base);
        if (lines == 4) {
            assert_string_equal(json_string_value(json_object_get(rec, "trace_id")), trace.trace_id);
            assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.decision")), "error");
            assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.error")),
                                "relay: cannot describe the subject");
            assert_null(json_object_get(rec, "body")); /* nothing was sent */
            assert_null(json_object_get(attrs, "zorgrelay.adl.body_omitted"));
        } else {
            assert_non_null(json_object_get(json_object_get(rec, "body"), "adl.core.request"));
        }
        json_decref(rec);
    }
    assert_int_equal(lines, 5);
    free(text);
    unlink(path);
    rmdir(dir);
}

static void test_decision_log_concurrent(void **state)
{
    char dir[] = "/tmp/zr-adl-XXXXXX", path[64], err[256] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/decisions.jsonl", dir);
    zr_decision_log_config_t cfg = {.file = path};
    assert_int_equal(zr_authz_log_open(&cfg, err, sizeof(err)), 0);
    /* reopening (SIGHUP) keeps appending to the same file */
    assert_int_equal(zr_authz_log_open(&cfg, err, sizeof(err)), 0);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, log_many, NULL), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    zr_authz_log_close();

    char *text = read_all(path);
    assert_null(strstr(text, ACTING_BSN));
    size_t lines = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), lines++) {
        json_t *rec = json_loads(line, 0, NULL);
        if (!rec)
            fail_msg("line %zu is not one JSON record", lines);
        json_decref(rec);
    }
    assert_int_equal(lines, 200);
    free(text);
    unlink(path);
    rmdir(dir);

    /* an unusable path is refused */
    zr_decision_log_config_t bad = {.file = "/nonexistent-dir/x.jsonl"};
    assert_int_equal(zr_authz_log_open(&bad, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "decision_log.file"));
}

static void test_decision_log_stderr(void **state)
{
    char path[64];
    zr_trace_t trace;
    zr_authz_log_close(); /* no file: operator log lines */
    zr_trace_begin(NULL, &trace);
    json_t *req = json_pack("{s:{s:s, s:s}, s:{s:s}}", "subject", "type", ZR_AUTHZ_TYPE_BSN, "id", ACTING_BSN,
                            "resource", "id", CLIENT);
    json_t *resp = json_pack("{s:b}", "decision", 0);
    int saved = capture_begin(path);
    zr_authz_log_entry_t e = {.trace = &trace, .pdp = "https://pdp.example", .request = req, .response = resp,
                              .decision = ZR_AUTHZ_DENY};
    zr_authz_log_write(&e);
    char *log = capture_end(path, saved);
    assert_non_null(strstr(log, " adl {"));
    assert_non_null(strstr(log, trace.trace_id));
    assert_non_null(strstr(log, "\"status\":\"Ok\""));
    assert_non_null(strstr(log, "hmac-sha256:"));
    assert_null(strstr(log, ACTING_BSN));
    free(log);

    /* too long for a log line: the decision stays, the rest is left out */
    char pad[4096];
    memset(pad, 'x', sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    json_object_set_new(json_object_get(req, "subject"), "pad", json_string(pad));
    saved = capture_begin(path);
    zr_authz_log_write(&e);
    log = capture_end(path, saved);
    assert_non_null(strstr(log, "\"zorgrelay.adl.body_omitted\":\"size\""));
    assert_non_null(strstr(log, "\"body\":{\"adl.core.response\":{\"decision\":false}}"));
    assert_null(strstr(log, "xxxx"));
    free(log);
    json_decref(req);
    json_decref(resp);
}

/* What the caller gives (zr_authz_log_entry_t) is what the record says:
 * event_name (a batch call), the X-Request-ID, a trace of its own when none
 * is given and the parent span when the trace has one; a batch response
 * that would show a BSN keeps each decision. */
static void test_decision_log_entry(void **state)
{
    char dir[] = "/tmp/zr-adl-XXXXXX", path[64], err[256] = "";
    zr_trace_t child;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/decisions.jsonl", dir);
    zr_decision_log_config_t cfg = {.file = path};
    assert_int_equal(zr_authz_log_open(&cfg, err, sizeof(err)), 0);

    json_t *req = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:[{s:{s:s}}, {s:{s:s}}]}", "subject", "type",
                            ZR_AUTHZ_TYPE_BSN, "id", ACTING_BSN, "resource", "type", "client", "id", CLIENT,
                            "evaluations", "action", "name", "login", "action", "name", "read");
    json_t *resp = json_pack("{s:[{s:b}, {s:b}]}", "evaluations", "decision", 1, "decision", 0);
    zr_authz_log_entry_t batch = {.pdp = pdp.base, .request = req, .response = resp, .decision = ZR_AUTHZ_PERMIT,
                                  .outcome = ZR_AUTHZ_OUTCOME_ALLOWED, .event_name = ZR_ADL_ACCESS_EVALUATIONS,
                                  .request_id = "2f1c0a9e-request"};
    zr_authz_log_write(&batch);
    /* the PDP names the BSN as a member: the decisions stay, nothing else */
    json_t *echo = json_pack("{s:[{s:b, s:{s:b}}, {s:b}]}", "evaluations", "decision", 1, "context", ACTING_BSN, 1,
                             "decision", 0);
    zr_trace_begin("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", &child);
    batch.trace = &child;
    batch.response = echo;
    batch.request_id = NULL;
    zr_authz_log_write(&batch);
    zr_authz_log_close();

    char *text = read_all(path), *save = NULL;
    assert_null(strstr(text, ACTING_BSN));
    json_t *first = json_loads(strtok_r(text, "\n", &save), JSON_REJECT_DUPLICATES, NULL);
    json_t *second = json_loads(strtok_r(NULL, "\n", &save), JSON_REJECT_DUPLICATES, NULL);
    assert_non_null(first);
    assert_non_null(second);
    assert_null(strtok_r(NULL, "\n", &save));
    assert_adl_keys(first);
    assert_adl_keys(second);
    assert_string_equal(json_string_value(json_object_get(first, "event_name")), "adl.access_evaluations");
    assert_int_equal(strlen(json_string_value(json_object_get(first, "trace_id"))), 32);
    assert_int_equal(strspn(json_string_value(json_object_get(first, "trace_id")), "0123456789abcdef"), 32);
    assert_int_equal(strspn(json_string_value(json_object_get(first, "span_id")), "0123456789abcdef"), 16);
    assert_null(json_object_get(first, "parent_span_id"));
    json_t *attrs = json_object_get(first, "attributes");
    assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.authz.request_id")), "2f1c0a9e-request");
    assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.oidc.client_id")), CLIENT);
    json_t *body = json_object_get(first, "body");
    assert_int_equal(json_array_size(json_object_get(json_object_get(body, "adl.core.request"), "evaluations")), 2);
    assert_int_equal(strncmp(json_string_value(json_object_get(
                                 json_object_get(json_object_get(body, "adl.core.request"), "subject"), "id")),
                             "hmac-sha256:", 12),
                     0);
    assert_true(json_equal(json_object_get(body, "adl.core.response"), resp));

    assert_string_equal(json_string_value(json_object_get(second, "trace_id")), "0af7651916cd43dd8448eb211c80319c");
    assert_string_equal(json_string_value(json_object_get(second, "parent_span_id")), "b7ad6b7169203331");
    assert_string_equal(json_string_value(json_object_get(second, "span_id")), child.span_id);
    attrs = json_object_get(second, "attributes");
    assert_null(json_object_get(attrs, "zorgrelay.authz.request_id"));
    assert_string_equal(json_string_value(json_object_get(attrs, "zorgrelay.adl.body_omitted")), "personal data");
    body = json_object_get(second, "body");
    assert_int_equal(json_object_size(body), 1);
    assert_true(json_equal(json_object_get(body, "adl.core.response"), resp));

    json_decref(first);
    json_decref(second);
    json_decref(echo);
    json_decref(resp);
    json_decref(req);
    free(text);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permit_and_request_body),
        cmocka_unit_test(test_deny_with_reason),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_unreachable),
        cmocka_unit_test(test_discovery),
        cmocka_unit_test(test_pdp_url_policy),
        cmocka_unit_test(test_decision_log_file),
        cmocka_unit_test(test_decision_log_outcome),
        cmocka_unit_test(test_decision_log_entry),
        cmocka_unit_test(test_decision_log_concurrent),
        cmocka_unit_test(test_decision_log_stderr),
    };
    /* as main() does (src/main.c): libcurl's global state before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
