/* Operator log: one line per event, key=value, to stderr.
 * Never pass a BSN, token, code, cookie or key to these functions; use
 * zr_log_mask() when an identifier must be recognisable in a line. */
#ifndef ZR_LOG_H
#define ZR_LOG_H

typedef enum { ZR_LOG_DEBUG = 0, ZR_LOG_INFO, ZR_LOG_WARN, ZR_LOG_ERROR } zr_log_level_t;

void zr_log_set_level(zr_log_level_t level);
/* Parses "debug|info|warn|error"; returns -1 when unknown. */
int zr_log_level_parse(const char *name, zr_log_level_t *out);
/* Sets a short component name printed in every line (e.g. "relay", "mock-tvs"). */
void zr_log_set_component(const char *component);

void zr_log(zr_log_level_t level, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define zr_log_debug(ev, ...) zr_log(ZR_LOG_DEBUG, ev, __VA_ARGS__)
#define zr_log_info(ev, ...)  zr_log(ZR_LOG_INFO, ev, __VA_ARGS__)
#define zr_log_warn(ev, ...)  zr_log(ZR_LOG_WARN, ev, __VA_ARGS__)
#define zr_log_error(ev, ...) zr_log(ZR_LOG_ERROR, ev, __VA_ARGS__)

/* Writes a non-reversible short reference for a secret value ("h:3fa9c1d2",
 * first 8 hex of SHA-256) so log lines about one login can be correlated
 * without revealing it. out must hold 16 bytes. */
const char *zr_log_mask(const char *secret, char out[16]);

#endif
