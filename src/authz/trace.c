/* W3C Trace Context level 1 (https://www.w3.org/TR/trace-context/ §3.2):
 * traceparent = version "-" trace-id "-" parent-id "-" trace-flags, all
 * lowercase hex. We continue a valid incoming trace as a child span and
 * start a fresh one otherwise, so that every PDP call and decision log
 * record carries a trace id. */
#include "zr/authz.h"

#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/rand.h>

#define TRACEPARENT_LEN 55

static int is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int is_all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return 0;
    return 1;
}

static unsigned hex_val(char c) { return c <= '9' ? (unsigned)(c - '0') : (unsigned)(c - 'a' + 10); }

/* Random non-zero id as lowercase hex (bytes*2 chars + NUL). RAND_bytes
 * first; getrandom(2) only if OpenSSL's generator is unusable, because
 * zr_trace_begin must not fail. */
static void random_hex_id(char *out, size_t bytes)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[16];
    int nonzero = 0;
    do {
        if (RAND_bytes(buf, (int)bytes) != 1 && getrandom(buf, bytes, 0) != (ssize_t)bytes)
            memset(buf, 0, bytes); /* next round tries again */
        nonzero = 0;
        for (size_t i = 0; i < bytes; i++) {
            out[2 * i] = hex[buf[i] >> 4];
            out[2 * i + 1] = hex[buf[i] & 0x0f];
            nonzero |= buf[i];
        }
    } while (!nonzero); /* all-zero ids are invalid (§3.2.2.3, §3.2.2.4) */
    out[2 * bytes] = '\0';
}

/* 0 when s is a traceparent we can continue. Version 00 must be exactly 55
 * characters; a higher version (not ff) is read by its version-00 prefix
 * when what follows is empty or starts with '-' (§3.2.4 "Versioning"). */
static int trace_parse(const char *s, zr_trace_t *out)
{
    size_t len = strlen(s);
    if (len < TRACEPARENT_LEN)
        return -1;
    if (!is_lower_hex(s, 2) || s[2] != '-' || s[35] != '-' || s[52] != '-')
        return -1;
    if (!strncmp(s, "ff", 2))
        return -1;
    if (!strncmp(s, "00", 2) ? len != TRACEPARENT_LEN : (len > TRACEPARENT_LEN && s[TRACEPARENT_LEN] != '-'))
        return -1;
    if (!is_lower_hex(s + 3, 32) || !is_lower_hex(s + 36, 16) || !is_lower_hex(s + 53, 2))
        return -1;
    if (is_all_zero(s + 3, 32) || is_all_zero(s + 36, 16))
        return -1;
    memcpy(out->trace_id, s + 3, 32);
    out->trace_id[32] = '\0';
    memcpy(out->parent_span_id, s + 36, 16);
    out->parent_span_id[16] = '\0';
    /* Level 1 defines only "sampled"; other bits are not passed on (§3.2.2.5). */
    out->flags = (uint8_t)((hex_val(s[53]) << 4 | hex_val(s[54])) & 0x01);
    return 0;
}

void zr_trace_begin(const char *traceparent, zr_trace_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!traceparent || trace_parse(traceparent, out) != 0) {
        memset(out, 0, sizeof(*out));
        random_hex_id(out->trace_id, 16);
        /* We record every decision, so a trace we start is sampled. */
        out->flags = 0x01;
    }
    random_hex_id(out->span_id, 8);
}

void zr_trace_format(const zr_trace_t *t, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    out[0] = '\0';
    if (!t || outlen < TRACEPARENT_LEN + 1)
        return;
    snprintf(out, outlen, "00-%.32s-%.16s-%02x", t->trace_id, t->span_id, (unsigned)t->flags);
}
