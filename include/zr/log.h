/* Operator log: one line per event, key=value, to stderr.
 * Never pass a BSN, token, code, cookie or key to these functions; use
 * zr_log_mask() when an identifier must be recognisable in a line. */
#ifndef ZR_LOG_H
#define ZR_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "zr/util.h"

typedef enum { ZR_LOG_DEBUG = 0, ZR_LOG_INFO, ZR_LOG_WARN, ZR_LOG_ERROR } zr_log_level_t;

void zr_log_set_level(zr_log_level_t level);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int zr_log_level_parse(const char *name, zr_log_level_t *out);
/* log_format: text (the default; "ts level component event message") or
 * json (one object a line: ts, level, component, event, message and each
 * key=value of the message as a string member; docs/operations.md "Log
 * formats"). Set on the main thread before any other thread starts. */
typedef enum { ZR_LOG_FORMAT_TEXT = 0, ZR_LOG_FORMAT_JSON } zr_log_format_t;
void zr_log_set_format(zr_log_format_t format);
/* Parses "text|json"; returns -1 when unknown. */
int zr_log_format_parse(const char *name, zr_log_format_t *out);

/* journald: every line starts with "<N>", its syslog priority (debug 7,
 * info 6, warn 4, error 3), which journald takes as the entry's PRIORITY.
 * zr_log_journal_detect turns it on when stderr is the stream systemd
 * connected to the journal (JOURNAL_STREAM names its device and inode);
 * call it on the main thread at start. Returns 1 when on. */
int zr_log_journal_detect(void);
int zr_log_journal_matches(const char *journal_stream, int fd);
void zr_log_set_journal(int on);

/* Sets a short component name printed in every line (e.g. "relay", "mock-tvs"). */
void zr_log_set_component(const char *component);

void zr_log(zr_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The line zr_log writes, appended to out (for tests and zr_log itself):
 * the format, journal prefix and component set above. 0 or -1. */
int zr_log_render(zr_buf_t *out, zr_log_level_t level, const struct timespec *when, const char *event,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
int zr_log_vrender(zr_buf_t *out, zr_log_level_t level, const struct timespec *when, const char *event,
                   const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

#define zr_log_debug(ev, ...) zr_log(ZR_LOG_DEBUG, ev, __VA_ARGS__)
#define zr_log_info(ev, ...)  zr_log(ZR_LOG_INFO, ev, __VA_ARGS__)
#define zr_log_warn(ev, ...)  zr_log(ZR_LOG_WARN, ev, __VA_ARGS__)
#define zr_log_error(ev, ...) zr_log(ZR_LOG_ERROR, ev, __VA_ARGS__)

/* The key of the log pseudonyms (zr_log_mask). Set once, on the main
 * thread, before any other thread starts: the relay derives it from its
 * configuration (zr_config_t.log_pseudonym_key) so every process of a
 * cluster gives one value the same pseudonym; a tool without that
 * configuration takes a random one. 16..64 bytes; returns -1 otherwise. */
int zr_log_pseudonym_key_set(const uint8_t *key, size_t len);
/* A random key (RAND_bytes) for processes without a configured one. */
int zr_log_pseudonym_key_random(void);
/* Cleanses the key at exit; zr_log_mask then gives the placeholder. */
void zr_log_pseudonym_key_clear(void);

/* Writes a keyed pseudonym for a value that must be followed across log
 * lines without being shown ("k:3fa9c1d2e4b5": the first 12 hex of
 * HMAC-SHA256 under the pseudonym key). Keyed because a plain hash of a
 * low-entropy value (a BSN has ~10^8) is reversed by enumeration. Without
 * a key it writes "k:?", never an unkeyed hash; NULL or "" gives "-".
 * out must hold 16 bytes. */
const char *zr_log_mask(const char *secret, char out[16]);
/* The full HMAC-SHA256 behind zr_log_mask (for the trace, src/diag/);
 * -1 without a key. */
int zr_log_pseudonym(const char *value, uint8_t mac[32]);

#endif
