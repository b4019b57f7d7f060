/* The AuthZEN PDP's answers (src/authz/pdp.c): the discovery document and
 * the access evaluation answer, through zr_authz_discovery_read and
 * zr_authz_answer_read (what zr_authz_evaluate does with the HTTP answer),
 * then the decision log record of that answer; and the same bytes as an
 * Access Evaluations answer (zr_authz_answers_read, issue 15 §2).
 *
 * Input: byte 0 picks the HTTP status (low two bits: 200, 200, 404, other)
 * and bit 2 a missing Content-Type; the rest is "<Content-Type line>\n<body>".
 * The same answer is read as discovery and as evaluation.
 *
 * Contract: PERMIT only for 200 + a JSON object whose "decision" is true,
 * DENY only for false; an ERROR gives a reason and hands out no user
 * reason; a user reason is at most 512 bytes with no control characters;
 * the endpoint always stays on the PDP's origin; the decision log line
 * (written to a private file) never shows the request's BSN, whatever the
 * answer echoes, and keeps the PDP's decision (ADL 1.0). */
#include "fuzz_common.h"
#include "../../src/authz/authz_internal.h"
#include "zr/log.h"

#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <unistd.h>

#define BASE "http://127.0.0.1:8181/pdp"
#define ORIGIN "http://127.0.0.1:8181"
#define BSN "999990019"

static char log_path[64];
static int log_fd = -1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zr_decision_log_config_t cfg;
    char err[256] = "";
    (void)argc;
    (void)argv;
    zr_log_set_level(ZR_LOG_ERROR);
    snprintf(log_path, sizeof(log_path), "/tmp/zr-fuzz-adl.XXXXXX");
    log_fd = mkstemp(log_path);
    cfg.file = log_path;
    if (log_fd < 0 || zr_authz_log_open(&cfg, err, sizeof(err)) != 0) {
        fprintf(stderr, "fuzz_authz_pdp: cannot open the decision log: %s\n", err);
        abort();
    }
    /* The file lives as long as log_fd; no name left behind. */
    unlink(log_path);
    return 0;
}

static void check_reason(const char *r)
{
    if (!r)
        return;
    if (strlen(r) > 512 || !*r)
        abort();
    for (const char *c = r; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            abort();
}

/* The line(s) the record wrote, then the file emptied for the next input. */
/* The record: one line, no BSN, and (ADL 1.0 §adl.core.response) the
 * PDP's decision retrievable whenever the PDP decided. */
static void check_log(zr_authz_decision_t dec)
{
    char buf[1 << 17];
    json_t *rec, *decision;
    ssize_t n = pread(log_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        abort();
    buf[n] = '\0';
    if (strstr(buf, BSN) || buf[n - 1] != '\n' || strchr(buf, '\n') != buf + n - 1)
        abort();
    if (!(rec = json_loads(buf, 0, NULL)))
        abort();
    decision = json_object_get(json_object_get(json_object_get(rec, "body"), "adl.core.response"), "decision");
    if (dec != ZR_AUTHZ_ERROR && (!json_is_boolean(decision) || json_is_true(decision) != (dec == ZR_AUTHZ_PERMIT)))
        abort();
    json_decref(rec);
    if (ftruncate(log_fd, 0) != 0)
        abort();
}

/* Contract of zr_authz_answers_read: a decision only for 200 + an
 * `evaluations` array of exactly count boolean decisions, permitted[]
 * matching them, PERMIT iff one is true; an ERROR permits nothing. */
static void check_batch(long status, const char *ct, const char *body, size_t body_len, size_t count)
{
    int permitted[4] = {7, 7, 7, 7}, any = 0;
    char *reason = NULL, why[256] = "";
    json_t *answer = NULL, *list;
    zr_authz_decision_t dec =
        zr_authz_answers_read(status, ct, body, body_len, count, &answer, permitted, &reason, why, sizeof(why));
    if (dec == ZR_AUTHZ_ERROR) {
        if (reason || !why[0])
            abort();
        for (size_t i = 0; i < count; i++)
            if (permitted[i])
                abort();
    } else {
        list = json_object_get(answer, "evaluations");
        if (status != 200 || json_array_size(list) != count)
            abort();
        for (size_t i = 0; i < count; i++) {
            json_t *v = json_object_get(json_array_get(list, i), "decision");
            if (!json_is_boolean(v) || permitted[i] != json_is_true(v))
                abort();
            any |= permitted[i];
        }
        if ((dec == ZR_AUTHZ_PERMIT) != any || (dec == ZR_AUTHZ_PERMIT && reason))
            abort();
        check_reason(reason);
    }
    free(reason);
    json_decref(answer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const long statuses[] = {200, 200, 404, 500};
    char *in, *nl, *ct, *body, *reason = NULL, *url, why[256] = "";
    json_t *answer = NULL, *request;
    zr_authz_decision_t dec;
    size_t body_len;
    long status;
    int cacheable = -1;
    zr_trace_t trace;

    if (size < 1)
        return 0;
    status = statuses[data[0] & 3];
    if ((data[0] & 3) == 3 && size > 1)
        status = 100 + data[1]; /* some other status */
    in = zr_fuzz_cstr(data + 1, size - 1);
    nl = memchr(data + 1, '\n', size - 1) ? strchr(in, '\n') : NULL;
    /* The body keeps its exact bytes (NULs too): the parser gets a length. */
    if (nl) {
        *nl = '\0';
        ct = in;
        body = nl + 1;
        body_len = (size - 1) - (size_t)(body - in);
    } else {
        ct = "application/json";
        body = in;
        body_len = size - 1;
    }
    if (data[0] & 4)
        ct = NULL;

    url = zr_authz_discovery_read(BASE, status, ct, body, body_len, &cacheable);
    if (!url || strncasecmp(url, ORIGIN, strlen(ORIGIN)) != 0 || !strchr("/?#", url[strlen(ORIGIN)]) ||
        strpbrk(url, " \t\r\n") || (cacheable != 0 && cacheable != 1))
        abort();
    free(url);

    dec = zr_authz_answer_read(status, ct, body, body_len, &answer, &reason, why, sizeof(why));
    if (dec == ZR_AUTHZ_PERMIT || dec == ZR_AUTHZ_DENY) {
        json_t *v = json_object_get(answer, "decision");
        if (status != 200 || !json_is_object(answer) || (dec == ZR_AUTHZ_PERMIT ? !json_is_true(v) : !json_is_false(v)))
            abort();
        check_reason(reason);
    } else if (dec != ZR_AUTHZ_ERROR || reason || !why[0]) {
        abort();
    }

    /* The record of this answer, as zr_authz_evaluate writes it. */
    zr_trace_begin(NULL, &trace);
    request = json_pack("{s:{s:s, s:s}, s:{s:s}, s:{s:s, s:s}}", "subject", "type", ZR_AUTHZ_TYPE_BSN, "id", BSN,
                        "action", "name", "login", "resource", "type", "client", "id", "portal");
    if (!request)
        abort();
    zr_authz_log_entry_t entry = {.trace = &trace, .pdp = BASE, .request = request, .response = answer,
                                  .decision = dec, .error = dec == ZR_AUTHZ_ERROR ? why : NULL};
    zr_authz_log_write(&entry);
    check_log(dec);

    /* The same answer as an Access Evaluations answer to 1-4 evaluations
     * (bits 4-5 of byte 0), and as discovery of that endpoint. */
    url = zr_authz_discovery_read_batch(BASE, status, ct, body, body_len, &cacheable);
    if (!url || strncasecmp(url, ORIGIN, strlen(ORIGIN)) != 0 || !strchr("/?#", url[strlen(ORIGIN)]))
        abort();
    free(url);
    check_batch(status, ct, body, body_len, 1 + ((data[0] >> 4) & 3));

    json_decref(request);
    json_decref(answer);
    free(reason);
    free(in);
    return 0;
}
