/* The audit stream (include/zr/audit.h): one JSON line per login event for
 * NEN 7513, written like the decision log (src/authz/decision_log.c):
 * O_APPEND, 0600, one write() per record so that threads and processes
 * never interleave, reopened on reload for rotation. */
#include "zr/audit.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/record_sink.h"
#include "zr/tenant.h"

static zr_record_sink_t audit_sink = ZR_RECORD_SINK_INIT;
static pthread_mutex_t audit_lock = PTHREAD_MUTEX_INITIALIZER; /* guards the key and refuse */
static int audit_refuse;
static uint8_t audit_key[32];
static int audit_key_set;

int zr_audit_open(const char *file, const uint8_t key[32], int refuse, char *err, size_t errlen)
{
    if (zr_record_sink_open(&audit_sink, file, "audit_log.file", "audit.permissions",
                            "records hold pseudonyms of people; chmod 600", err, errlen) != 0)
        return -1;
    pthread_mutex_lock(&audit_lock);
    if (key) {
        memcpy(audit_key, key, sizeof(audit_key));
        audit_key_set = 1;
    }
    audit_refuse = refuse;
    pthread_mutex_unlock(&audit_lock);
    return 0;
}

void zr_audit_close(void)
{
    zr_record_sink_close(&audit_sink);
    pthread_mutex_lock(&audit_lock);
    OPENSSL_cleanse(audit_key, sizeof(audit_key));
    audit_key_set = 0;
    pthread_mutex_unlock(&audit_lock);
}

int zr_audit_enabled(void)
{
    return zr_record_sink_is_open(&audit_sink);
}

int zr_audit_pseudonym(const char *value, char out[ZR_AUDIT_PSEUDONYM_MAX])
{
    uint8_t key[32], mac[32];
    char *b64 = NULL;
    int rc = -1, have;
    out[0] = '\0';
    pthread_mutex_lock(&audit_lock);
    have = audit_key_set;
    memcpy(key, audit_key, sizeof(key));
    pthread_mutex_unlock(&audit_lock);
    /* Fail closed: without the key no pseudonym, never a plain hash. */
    if (!have || !value || !*value)
        goto end;
    if (zr_crypto_hmac_sha256(key, sizeof(key), (const uint8_t *)value, strlen(value), mac) != 0)
        goto end;
    if (!(b64 = zr_base64url_encode(mac, sizeof(mac))))
        goto end;
    snprintf(out, ZR_AUDIT_PSEUDONYM_MAX, "hmac-sha256:%s", b64);
    rc = 0;

end:
    OPENSSL_cleanse(key, sizeof(key));
    OPENSSL_cleanse(mac, sizeof(mac));
    free(b64);
    return rc;
}

/* Sets key to value when there is one; -1 when it cannot be set. */
static int set_str(json_t *o, const char *key, const char *value)
{
    if (!value)
        return 0;
    return json_object_set_new(o, key, json_string(value));
}

/* Sets key to the pseudonym of value; -1 when it cannot be made. */
static int set_pseudonym(json_t *o, const char *key, const char *value)
{
    char p[ZR_AUDIT_PSEUDONYM_MAX];
    if (!value || !*value)
        return 0;
    if (zr_audit_pseudonym(value, p) != 0)
        return -1;
    return set_str(o, key, p);
}

/* The person and the authentication: who, at which level, for whom. */
static int subject_members(json_t *rec, const zr_subject_t *s)
{
    int rc = 0;
    if (s->kind == ZR_SUBJECT_PROFESSIONAL) {
        rc |= set_str(rec, "kind", "professional");
        rc |= set_pseudonym(rec, "person", s->pro.dezi_nummer);
        rc |= set_str(rec, "role_code", s->pro.rol_code);
        /* The URA only keyed, as in the operator log (issue 12 §1). */
        rc |= set_pseudonym(rec, "organisation", s->pro.ura);
        rc |= json_object_set_new(rec, "representation", json_false());
    } else {
        rc |= set_str(rec, "kind", "patient");
        rc |= set_pseudonym(rec, "person", s->acting.value);
        rc |= json_object_set_new(rec, "representation", json_boolean(s->has_legal));
        if (s->has_legal) {
            rc |= set_pseudonym(rec, "represented", s->legal.value);
            rc |= set_str(rec, "representation_type", s->representation_type);
        }
    }
    if (s->loa != ZR_LOA_NONE)
        rc |= set_str(rec, "loa", zr_loa_name(s->loa));
    return rc;
}

static int token_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

/* 1 when text shows id as a token of its own (not inside a pseudonym, a
 * trace id or a sub, where 8 or 9 digits turn up by chance and must not
 * refuse a login). */
static int token_visible(const char *text, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = strstr(text, id); p; p = strstr(p + 1, id))
        if ((p == text || !token_char(p[-1])) && !token_char(p[n]))
            return 1;
    return 0;
}

/* 1 when text shows an identifier of the subject in clear: last guard. */
static int identifier_visible(const char *text, const zr_subject_t *s)
{
    const char *ids[] = {s->acting.value, s->has_legal ? s->legal.value : NULL,
                         s->kind == ZR_SUBJECT_PROFESSIONAL ? s->pro.dezi_nummer : NULL,
                         s->kind == ZR_SUBJECT_PROFESSIONAL ? s->pro.ura : NULL};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        if (ids[i] && *ids[i] && token_visible(text, ids[i]))
            return 1;
    return 0;
}

int zr_audit_render(zr_buf_t *out, const zr_audit_record_t *r, const struct timespec *when)
{
    json_t *rec = json_object();
    char ts[48], date[32], host[256];
    char *line = NULL;
    struct tm tm;
    int rc = -1, bad = 0;

    if (!rec || !r->event)
        goto end;
    gmtime_r(&when->tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof(ts), "%s.%03ldZ", date, when->tv_nsec / 1000000);
    if (gethostname(host, sizeof(host)) != 0 || !host[0])
        snprintf(host, sizeof(host), "unknown");
    host[sizeof(host) - 1] = '\0';
    bad |= set_str(rec, "ts", ts);
    bad |= set_str(rec, "event", r->event);
    bad |= set_str(rec, "outcome", r->outcome ? r->outcome : "ok");
    if (r->subject) {
        bad |= subject_members(rec, r->subject);
    } else {
        bad |= set_str(rec, "kind", r->kind);
        bad |= set_str(rec, "person", r->person);
    }
    bad |= set_str(rec, "client", r->client);
    bad |= set_str(rec, "sub", r->sub);
    bad |= set_str(rec, "care_provider", r->care_provider);
    bad |= set_str(rec, "trace", r->trace);
    bad |= set_str(rec, "login", r->login);
    bad |= set_str(rec, "session", r->session);
    bad |= set_str(rec, "ref", r->ref);
    bad |= set_str(rec, "host", host);
    if (bad || !(line = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        goto end;
    if (r->subject && identifier_visible(line, r->subject))
        goto end;
    rc = zr_buf_appends(out, line) | zr_buf_append(out, "\n", 1);

end:
    free(line);
    json_decref(rec);
    return rc;
}

int zr_audit_write(const zr_audit_record_t *r)
{
    struct timespec now;
    zr_buf_t line;
    int written = 0, refuse;

    if (!zr_audit_enabled())
        return 0;
    zr_buf_init(&line);
    clock_gettime(CLOCK_REALTIME, &now);
    if (zr_audit_render(&line, r, &now) != 0) {
        zr_log_error("audit.record_failed", "event=%s trace=%s ref=%s", r->event ? r->event : "-",
                     r->trace ? r->trace : "-", r->ref ? r->ref : "-");
        goto end;
    }
    /* Closed by a reload meanwhile: no stream, no failure. */
    if (zr_record_sink_write(&audit_sink, line.data, line.len) < 0)
        zr_log_error("audit.write_failed", "event=%s trace=%s errno=%d", r->event, r->trace ? r->trace : "-",
                     errno);
    else
        written = 1;

end:
    zr_buf_free(&line);
    pthread_mutex_lock(&audit_lock);
    refuse = audit_refuse;
    pthread_mutex_unlock(&audit_lock);
    return written || !refuse ? 0 : -1;
}
