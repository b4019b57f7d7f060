/* Operator log lines: "ts level component event key=value ...". */
#include "zr/log.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "zr/crypto.h"

static zr_log_level_t log_level = ZR_LOG_INFO;
static char log_component[32] = "zorgrelay";
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Written on the main thread before the workers start (pthread_create
 * orders it before their reads), so the readers need no lock. */
static uint8_t pseudonym_key[64];
static size_t pseudonym_key_len;

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
    /* One line per event, and nothing for a terminal to act on: newlines
     * from a value (an entityID, a header) must not forge new lines, nor
     * escape sequences recolour or hide them. */
    for (char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';

    pthread_mutex_lock(&log_lock);
    fprintf(stderr, "%s.%03ldZ %s %s %s %s\n", ts, now.tv_nsec / 1000000, level_names[level],
            log_component, event, msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_lock);
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
