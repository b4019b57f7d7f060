/* Operator log lines: "ts level component event key=value ..." (text), or
 * the same as one JSON object a line (log_format: json), with the
 * key=value pairs of the message as fields of their own. */
#include "zr/log.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "zr/crypto.h"
#include "zr/util.h"

/* What a message keeps, as before the JSON format (longer ones are cut). */
#define LOG_MESSAGE_MAX 2048
#define LOG_FIELDS_MAX 32
#define LOG_KEY_MAX 32

static zr_log_level_t log_level = ZR_LOG_INFO;
static zr_log_format_t log_format = ZR_LOG_FORMAT_TEXT;
static int log_journal;
static char log_component[32] = "zorgrelay";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Written on the main thread before the workers start (pthread_create
 * orders it before their reads), so the readers need no lock. */
static uint8_t pseudonym_key[64];
static size_t pseudonym_key_len;

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const format_names[] = {"text", "json"};
/* syslog(3) priorities, as journald reads them from "<N>" (sd-daemon(3)). */
static const int level_priorities[] = {7, 6, 4, 3};
/* Names a JSON line uses itself: a message field of that name is written
 * as "field_<name>" rather than shadow them. */
static const char *const reserved_keys[] = {"ts", "level", "component", "event", "message", NULL};

void zr_log_set_level(zr_log_level_t level) { log_level = level; }

int zr_log_level_parse(const char *name, zr_log_level_t *out)
{
    for (int i = 0; i < 4; i++) {
        if (name && strcmp(name, level_names[i]) == 0) {
            *out = (zr_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

void zr_log_set_format(zr_log_format_t format) { log_format = format; }

int zr_log_format_parse(const char *name, zr_log_format_t *out)
{
    for (int i = 0; i < 2; i++) {
        if (name && strcmp(name, format_names[i]) == 0) {
            *out = (zr_log_format_t)i;
            return 0;
        }
    }
    return -1;
}

void zr_log_set_journal(int on) { log_journal = on != 0; }

int zr_log_journal_matches(const char *journal_stream, int fd)
{
    unsigned long long dev, ino;
    char tail;
    struct stat st;
    /* systemd.exec(5) JOURNAL_STREAM: "DEV:INODE" of the stream it connected;
     * stderr must still be that stream (not redirected by a wrapper). */
    if (!journal_stream || sscanf(journal_stream, "%llu:%llu%c", &dev, &ino, &tail) != 2)
        return 0;
    if (fstat(fd, &st) != 0)
        return 0;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

int zr_log_journal_detect(void)
{
    log_journal = zr_log_journal_matches(getenv("JOURNAL_STREAM"), 2);
    return log_journal;
}

void zr_log_set_component(const char *component)
{
    snprintf(log_component, sizeof(log_component), "%s", component);
}

/* ---- the message and its fields ---- */

typedef struct {
    char key[LOG_KEY_MAX];
    size_t start, end; /* the value: msg[start..end) */
} log_field_t;

typedef struct {
    char text[LOG_MESSAGE_MAX];
    size_t len;
    log_field_t fields[LOG_FIELDS_MAX];
    size_t field_count;
    int cut; /* the message was cut: what comes after is lost */
} log_message_t;

static void message_append(log_message_t *m, const char *s, size_t n)
{
    size_t room = sizeof(m->text) - 1 - m->len;
    if (n > room) {
        n = room;
        m->cut = 1;
    }
    memcpy(m->text + m->len, s, n);
    m->len += n;
    m->text[m->len] = '\0';
}

/* snprintf of one conversion into the message; spec is that conversion
 * alone, so the compiler's check of the caller's format still applies. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#define MESSAGE_PUT(m, spec, value)                                                                            \
    do {                                                                                                       \
        size_t room_ = sizeof((m)->text) - (m)->len;                                                           \
        int n_ = snprintf((m)->text + (m)->len, room_, spec, value);                                           \
        if (n_ > 0)                                                                                            \
            (m)->len += (size_t)n_ < room_ ? (size_t)n_ : room_ - 1;                                           \
        if (n_ < 0 || (size_t)n_ >= room_)                                                                     \
            (m)->cut = 1;                                                                                      \
    } while (0)

/* One conversion of a printf format at *f ('%' already passed): takes its
 * argument(s) from ap by the type its length and letter name. Returns -1
 * for a conversion the log never uses (%n among them). */
static int message_convert(log_message_t *m, const char **f, va_list *ap)
{
    char spec[48], flags[8] = "", length[3] = "";
    const char *p = *f;
    int width = -1, precision = -1, has_precision = 0;
    size_t nf = 0, nl = 0;
    char conv;

    while (*p && strchr("-+ #0", *p) && nf < sizeof(flags) - 1)
        flags[nf++] = *p++;
    flags[nf] = '\0';
    if (*p == '*') {
        width = va_arg(*ap, int);
        p++;
    } else if (isdigit((unsigned char)*p)) {
        width = (int)strtol(p, (char **)&p, 10);
    }
    if (*p == '.') {
        has_precision = 1;
        p++;
        if (*p == '*') {
            precision = va_arg(*ap, int);
            p++;
        } else {
            precision = (int)strtol(p, (char **)&p, 10);
        }
        if (precision < 0) /* C11 7.21.6.1: as if omitted */
            has_precision = 0;
    }
    while (*p && strchr("hlzjtL", *p) && nl < sizeof(length) - 1)
        length[nl++] = *p++;
    length[nl] = '\0';
    if (strchr("hlzjtL", *p))
        return -1;
    conv = *p;
    if (!conv)
        return -1;
    *f = p + 1;
    {
        int off = snprintf(spec, sizeof(spec), "%%%s", flags);
        if (width >= 0 || width < -1)
            off += snprintf(spec + off, sizeof(spec) - (size_t)off, "%d", width);
        if (has_precision)
            off += snprintf(spec + off, sizeof(spec) - (size_t)off, ".%d", precision);
        snprintf(spec + off, sizeof(spec) - (size_t)off, "%s%c", length, conv);
    }
    switch (conv) {
    case 's':
        if (nl)
            return -1;
        {
            const char *s = va_arg(*ap, const char *);
            MESSAGE_PUT(m, spec, s ? s : "(null)");
        }
        return 0;
    case 'c':
        MESSAGE_PUT(m, spec, va_arg(*ap, int));
        return 0;
    case 'p':
        MESSAGE_PUT(m, spec, va_arg(*ap, void *));
        return 0;
    case 'd':
    case 'i':
        if (!strcmp(length, "l"))
            MESSAGE_PUT(m, spec, va_arg(*ap, long));
        else if (!strcmp(length, "ll"))
            MESSAGE_PUT(m, spec, va_arg(*ap, long long));
        else if (!strcmp(length, "z"))
            MESSAGE_PUT(m, spec, va_arg(*ap, ssize_t));
        else if (!strcmp(length, "j"))
            MESSAGE_PUT(m, spec, va_arg(*ap, intmax_t));
        else if (!strcmp(length, "t"))
            MESSAGE_PUT(m, spec, va_arg(*ap, ptrdiff_t));
        else if (!strcmp(length, "") || !strcmp(length, "h") || !strcmp(length, "hh"))
            MESSAGE_PUT(m, spec, va_arg(*ap, int)); /* promoted */
        else
            return -1;
        return 0;
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        if (!strcmp(length, "l"))
            MESSAGE_PUT(m, spec, va_arg(*ap, unsigned long));
        else if (!strcmp(length, "ll"))
            MESSAGE_PUT(m, spec, va_arg(*ap, unsigned long long));
        else if (!strcmp(length, "z"))
            MESSAGE_PUT(m, spec, va_arg(*ap, size_t));
        else if (!strcmp(length, "j"))
            MESSAGE_PUT(m, spec, va_arg(*ap, uintmax_t));
        else if (!strcmp(length, "t"))
            MESSAGE_PUT(m, spec, va_arg(*ap, ptrdiff_t));
        else if (!strcmp(length, "") || !strcmp(length, "h") || !strcmp(length, "hh"))
            MESSAGE_PUT(m, spec, va_arg(*ap, unsigned int));
        else
            return -1;
        return 0;
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
    case 'a':
    case 'A':
        if (!strcmp(length, "L"))
            MESSAGE_PUT(m, spec, va_arg(*ap, long double));
        else if (!strcmp(length, "") || !strcmp(length, "l"))
            MESSAGE_PUT(m, spec, va_arg(*ap, double));
        else
            return -1;
        return 0;
    default:
        return -1;
    }
}
#pragma GCC diagnostic pop

/* A field's key at f: [a-z][a-z0-9_.]* followed by '=' in the format
 * itself. Its length, 0 when none. */
static size_t field_key_length(const char *f)
{
    size_t n = 0;
    if (!islower((unsigned char)f[0]))
        return 0;
    while (islower((unsigned char)f[n]) || isdigit((unsigned char)f[n]) || f[n] == '_' || f[n] == '.')
        n++;
    return f[n] == '=' && n < LOG_KEY_MAX ? n : 0;
}

/* A literal of the format that ends an unquoted value: white space, or
 * ":;,)" before white space or the end ("result=%s: %s"). */
static int field_value_ends(const char *f)
{
    if (isspace((unsigned char)f[0]))
        return 1;
    return strchr(":;,)", f[0]) && (f[1] == '\0' || isspace((unsigned char)f[1]));
}

/* Renders fmt as vsnprintf would and notes each field: a key=value whose
 * key stands in the format itself (after white space, '(' or at the start)
 * and whose value runs to the next white space of the format, or to the
 * closing quote of key="...". Fields come from the code's formats, never
 * from the values: a client_id or header holding " ref=x" is part of its
 * own field and cannot forge another. A key seen again keeps the first
 * value. Returns -1 on a conversion it cannot render. */
static int message_render(log_message_t *m, const char *fmt, va_list ap)
{
    const char *f = fmt;
    int token_start = 1, quoted = 0, open = 0, rc = 0;
    log_field_t *field = NULL;
    va_list aq;

    va_copy(aq, ap);
    m->len = 0;
    m->text[0] = '\0';
    m->field_count = 0;
    m->cut = 0;
    while (*f) {
        if (*f == '%' && f[1] == '%') {
            message_append(m, "%", 1);
            f += 2;
            token_start = 0;
            continue;
        }
        if (*f == '%') {
            f++;
            if (message_convert(m, &f, &aq) != 0) {
                rc = -1;
                goto end;
            }
            token_start = 0;
            continue;
        }
        if (open && (quoted ? *f == '"' : field_value_ends(f))) {
            field->end = m->len;
            m->field_count -= m->cut != 0; /* its value may be cut short: left out */
            open = 0;
        }
        if (!open && token_start) {
            size_t n = field_key_length(f);
            if (n) {
                /* A key the cut message no longer holds is no field. */
                int seen = m->len + n + 2 >= sizeof(m->text);
                for (size_t i = 0; i < m->field_count; i++)
                    seen |= strncmp(m->fields[i].key, f, n) == 0 && m->fields[i].key[n] == '\0';
                message_append(m, f, n + 1);
                f += n + 1;
                quoted = *f == '"';
                if (quoted) {
                    message_append(m, "\"", 1);
                    f++;
                }
                if (!seen && m->field_count < LOG_FIELDS_MAX) {
                    field = &m->fields[m->field_count++];
                    memcpy(field->key, f - n - 1 - (size_t)quoted, n);
                    field->key[n] = '\0';
                    field->start = field->end = m->len;
                    open = 1;
                }
                token_start = 0;
                continue;
            }
        }
        message_append(m, f, 1);
        token_start = isspace((unsigned char)*f) || *f == '(';
        f++;
    }
    if (open) {
        field->end = m->len;
        m->field_count -= m->cut != 0;
    }

end:
    va_end(aq);
    return rc;
}

/* One event, one line, and nothing for a terminal to act on: newlines from
 * a value (an entityID, a header) must not forge new lines, nor escape
 * sequences recolour or hide them. */
static void message_neutralise(char *msg)
{
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
}

/* The length of the well-formed UTF-8 sequence at s (RFC 3629: no
 * overlong forms, no surrogates, at most U+10FFFF), 0 when none. */
static size_t utf8_sequence(const unsigned char *s, size_t avail)
{
    size_t n;
    unsigned int cp;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        n = 2, cp = s[0] & 0x1f;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        n = 3, cp = s[0] & 0x0f;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        n = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* s[0..len) as a JSON string (RFC 8259 §7): quotes, backslashes and
 * control characters escaped, bytes that are not UTF-8 as U+FFFD, so the
 * line parses whatever a value held. */
static int json_string_append(zr_buf_t *b, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    int rc = zr_buf_append(b, "\"", 1);
    for (size_t i = 0; i < len && rc == 0;) {
        size_t n, run = 0;
        /* Plain ASCII goes out in one piece. */
        while (i + run < len && p[i + run] >= 0x20 && p[i + run] < 0x7f && p[i + run] != '"' && p[i + run] != '\\')
            run++;
        if (run) {
            rc = zr_buf_append(b, p + i, run);
            i += run;
            continue;
        }
        n = utf8_sequence(p + i, len - i);
        if (n == 0) {
            rc = zr_buf_appends(b, "\\ufffd");
            i++;
        } else if (p[i] == '"' || p[i] == '\\') {
            rc = zr_buf_append(b, "\\", 1) | zr_buf_append(b, p + i, 1);
            i++;
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            rc = zr_buf_printf(b, "\\u%04x", p[i]);
            i++;
        } else {
            rc = zr_buf_append(b, p + i, n);
            i += n;
        }
    }
    return rc | zr_buf_append(b, "\"", 1);
}

static int json_member_append(zr_buf_t *b, const char *key, const char *value, size_t len)
{
    return zr_buf_append(b, ",", 1) | json_string_append(b, key, strlen(key)) | zr_buf_append(b, ":", 1) |
           json_string_append(b, value, len);
}

static int json_line_append(zr_buf_t *b, const char *ts, zr_log_level_t level, const char *event,
                            const log_message_t *m)
{
    int rc = zr_buf_appends(b, "{\"ts\":") | json_string_append(b, ts, strlen(ts));
    rc |= json_member_append(b, "level", level_names[level], strlen(level_names[level]));
    rc |= json_member_append(b, "component", log_component, strlen(log_component));
    rc |= json_member_append(b, "event", event, strlen(event));
    rc |= json_member_append(b, "message", m->text, m->len);
    for (size_t i = 0; i < m->field_count && rc == 0; i++) {
        const log_field_t *fl = &m->fields[i];
        char key[LOG_KEY_MAX + 8];
        int reserved = 0;
        for (size_t r = 0; reserved_keys[r]; r++)
            reserved |= strcmp(fl->key, reserved_keys[r]) == 0;
        snprintf(key, sizeof(key), "%s%s", reserved ? "field_" : "", fl->key);
        rc |= json_member_append(b, key, m->text + fl->start, fl->end - fl->start);
    }
    return rc | zr_buf_appends(b, "}\n");
}

int zr_log_vrender(zr_buf_t *out, zr_log_level_t level, const struct timespec *when, const char *event,
                   const char *fmt, va_list ap)
{
    char ts[48], date[32];
    struct tm tm;
    log_message_t message, *m = &message; /* 3.6 KiB: on the stack, no allocation per line */
    int rc = -1;

    if ((unsigned)level > ZR_LOG_ERROR || !event)
        goto end;
    gmtime_r(&when->tv_sec, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts, sizeof(ts), "%s.%03ldZ", date, when->tv_nsec / 1000000);
    if (log_journal && zr_buf_printf(out, "<%d>", level_priorities[level]) != 0)
        goto end;
    if (log_format == ZR_LOG_FORMAT_JSON) {
        /* A conversion the walk does not know: the message without fields
         * rather than no line (ap is untouched: the walk used a copy). */
        if (message_render(m, fmt, ap) != 0) {
            vsnprintf(m->text, sizeof(m->text), fmt, ap);
            m->len = strlen(m->text);
            m->field_count = 0;
        }
        message_neutralise(m->text);
        rc = json_line_append(out, ts, level, event, m);
    } else {
        /* Exactly the line of before the JSON format. */
        vsnprintf(m->text, sizeof(m->text), fmt, ap);
        message_neutralise(m->text);
        rc = zr_buf_printf(out, "%s %s %s %s %s\n", ts, level_names[level], log_component, event, m->text);
    }

end:
    return rc;
}

int zr_log_render(zr_buf_t *out, zr_log_level_t level, const struct timespec *when, const char *event,
                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = zr_log_vrender(out, level, when, event, fmt, ap);
    va_end(ap);
    return rc;
}

void zr_log(zr_log_level_t level, const char *event, const char *fmt, ...)
{
    struct timespec now;
    zr_buf_t line;
    va_list ap;
    int rc;

    if (level < log_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    zr_buf_init(&line);
    va_start(ap, fmt);
    rc = zr_log_vrender(&line, level, &now, event, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    if (rc == 0)
        fputs(line.data, stderr);
    else if (log_format == ZR_LOG_FORMAT_JSON) /* out of memory: not lost without a trace */
        fprintf(stderr, "%s{\"level\":\"error\",\"event\":\"log.lost\",\"message\":\"out of memory\"}\n",
                log_journal ? "<3>" : "");
    else
        fprintf(stderr, "%serror %s log.lost out of memory\n", log_journal ? "<3>" : "", log_component);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
    zr_buf_free(&line);
}
int zr_log_pseudonym_key_set(const uint8_t *key, size_t len)
{
    if (!key || len < 16 || len > sizeof(pseudonym_key))
        return -1;
    OPENSSL_cleanse(pseudonym_key, sizeof(pseudonym_key));
    memcpy(pseudonym_key, key, len);
    pseudonym_key_len = len;
    return 0;
}

int zr_log_pseudonym_key_random(void)
{
    uint8_t key[32];
    int rc = -1;
    if (RAND_bytes(key, sizeof(key)) != 1)
        goto end;
    rc = zr_log_pseudonym_key_set(key, sizeof(key));
end:
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

void zr_log_pseudonym_key_clear(void)
{
    OPENSSL_cleanse(pseudonym_key, sizeof(pseudonym_key));
    pseudonym_key_len = 0;
}

int zr_log_pseudonym(const char *value, uint8_t mac[32])
{
    if (!value || pseudonym_key_len == 0)
        return -1;
    return zr_crypto_hmac_sha256(pseudonym_key, pseudonym_key_len, (const uint8_t *)value, strlen(value), mac);
}

const char *zr_log_mask(const char *secret, char out[16])
{
    uint8_t mac[32];
    if (!secret || !*secret) {
        snprintf(out, 16, "-");
        return out;
    }
    /* Fail closed: without a key, a placeholder, never a plain hash. */
    if (zr_log_pseudonym(secret, mac) != 0) {
        snprintf(out, 16, "k:?");
        return out;
    }
    snprintf(out, 16, "k:%02x%02x%02x%02x%02x%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
    OPENSSL_cleanse(mac, sizeof(mac));
    return out;
}
