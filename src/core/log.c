/* Operator log lines: "ts level component event key=value ...". */
#include "zr/log.h"

#include <openssl/sha.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static zr_log_level_t log_level = ZR_LOG_INFO;
static char log_component[32] = "zorgrelay";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

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

void zr_log_set_component(const char *component)
{
    snprintf(log_component, sizeof(log_component), "%s", component);
}

void zr_log(zr_log_level_t level, const char *event, const char *fmt, ...)
{
    if (level < log_level)
        return;
    char ts[32];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);

    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* One line per event: newlines from a message must not forge new lines. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';

    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s %s %s %s\n", ts, now.tv_nsec / 1000000, level_names[level],
            log_component, event, msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
}

const char *zr_log_mask(const char *secret, char out[16])
{
    unsigned char md[SHA256_DIGEST_LENGTH];
    if (!secret || !*secret) {
        snprintf(out, 16, "-");
        return out;
    }
    SHA256((const unsigned char *)secret, strlen(secret), md);
    snprintf(out, 16, "h:%02x%02x%02x%02x", md[0], md[1], md[2], md[3]);
    return out;
}
