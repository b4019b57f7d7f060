/* Buffers, encodings, randomness and time used across the relay. */
#include "zr/util.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void zr_buf_init(zr_buf_t *b) { memset(b, 0, sizeof(*b)); }

int zr_buf_append(zr_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

int zr_buf_appends(zr_buf_t *b, const char *s) { return zr_buf_append(b, s, strlen(s)); }

int zr_buf_printf(zr_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    char *tmp = malloc((size_t)n + 1);
    if (!tmp)
        return -1;
    va_start(ap, fmt);
    vsnprintf(tmp, (size_t)n + 1, fmt, ap);
    va_end(ap);
    int rc = zr_buf_append(b, tmp, (size_t)n);
    free(tmp);
    return rc;
}

int zr_buf_append_html(zr_buf_t *b, const char *s)
{
    for (; s && *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        case '\'': rep = "&#39;"; break;
        default: break;
        }
        if ((rep ? zr_buf_appends(b, rep) : zr_buf_append(b, s, 1)) != 0)
            return -1;
    }
    return 0;
}

size_t zr_capped_buf_write(char *data, size_t size, size_t nmemb, void *capped)
{
    zr_capped_buf_t *c = capped;
    size_t n = size * nmemb;
    if (n > c->max || c->buf.len > c->max - n) {
        c->too_large = 1;
        return 0; /* anything but n aborts the transfer */
    }
    return zr_buf_append(&c->buf, data, n) == 0 ? n : 0;
}

char *zr_buf_steal(zr_buf_t *b)
{
    char *d = b->data;
    if (!d)
        d = calloc(1, 1);
    zr_buf_init(b);
    return d;
}

void zr_buf_free(zr_buf_t *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
    zr_buf_init(b);
}

static const char b64_std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64_url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static char *base64_encode_with(const uint8_t *data, size_t len, const char *alphabet, int pad)
{
    char *out = malloc(((len + 2) / 3) * 4 + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)data[i] << 16;
        if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
        if (i + 2 < len) v |= data[i + 2];
        out[o++] = alphabet[(v >> 18) & 63];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len) out[o++] = alphabet[(v >> 6) & 63];
        else if (pad) out[o++] = '=';
        if (i + 2 < len) out[o++] = alphabet[v & 63];
        else if (pad) out[o++] = '=';
    }
    out[o] = '\0';
    return out;
}

char *zr_base64_encode(const uint8_t *data, size_t len) { return base64_encode_with(data, len, b64_std, 1); }
char *zr_base64url_encode(const uint8_t *data, size_t len) { return base64_encode_with(data, len, b64_url, 0); }

static int b64_value(char c, int url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (!url && c == '+') return 62;
    if (!url && c == '/') return 63;
    if (url && c == '-') return 62;
    if (url && c == '_') return 63;
    return -1;
}

static int base64_decode_with(const char *in, int url, uint8_t **out, size_t *out_len)
{
    size_t n = strlen(in);
    uint8_t *buf = malloc(n / 4 * 3 + 4);
    uint32_t acc = 0;
    int bits = 0, pads = 0;
    size_t o = 0;
    if (!buf)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        if (isspace((unsigned char)c))
            continue;
        if (c == '=') {
            pads++;
            continue;
        }
        int v = b64_value(c, url);
        if (v < 0 || pads) {
            free(buf);
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (pads > 2 || bits >= 6) {
        free(buf);
        return -1;
    }
    *out = buf;
    *out_len = o;
    return 0;
}

int zr_base64_decode(const char *in, uint8_t **out, size_t *out_len) { return base64_decode_with(in, 0, out, out_len); }
int zr_base64url_decode(const char *in, uint8_t **out, size_t *out_len) { return base64_decode_with(in, 1, out, out_len); }

char *zr_hex_encode(const uint8_t *data, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    char *out = malloc(len * 2 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[data[i] >> 4];
        out[2 * i + 1] = hex[data[i] & 15];
    }
    out[len * 2] = '\0';
    return out;
}

char *zr_url_encode(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    zr_buf_t b;
    zr_buf_init(&b);
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            zr_buf_append(&b, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            zr_buf_append(&b, e, 3);
        }
    }
    return zr_buf_steal(&b);
}

int zr_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *zr_url_decode(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    size_t o = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+') {
            out[o++] = ' ';
        } else if (s[i] == '%') {
            int hi = i + 1 < len ? zr_hex_digit(s[i + 1]) : -1;
            int lo = i + 2 < len ? zr_hex_digit(s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return NULL;
            }
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    /* An embedded NUL would silently cut the value: refuse it. */
    if (strlen(out) != o) {
        free(out);
        return NULL;
    }
    return out;
}

/* RAND_bytes costs two getpid system calls (OpenSSL's fork check) and DRBG
 * bookkeeping per call, and a login asks about twenty times. Each thread
 * draws ZR_RANDOM_POOL bytes at once and hands them out, wiping each byte as
 * it goes; a fork child drops the pool it inherited (pthread_atfork), so
 * parent and child never share random bytes. */
#define ZR_RANDOM_POOL 512

static _Thread_local struct {
    uint8_t bytes[ZR_RANDOM_POOL];
    size_t left; /* unused bytes at the end of bytes[] */
} random_pool;
static pthread_once_t random_once = PTHREAD_ONCE_INIT;

static void random_pool_drop(void)
{
    OPENSSL_cleanse(&random_pool, sizeof(random_pool));
}

static void random_pool_init(void)
{
    pthread_atfork(NULL, NULL, random_pool_drop);
}

int zr_random_bytes(uint8_t *out, size_t len)
{
    pthread_once(&random_once, random_pool_init);
    if (len > ZR_RANDOM_POOL / 4)
        return RAND_bytes(out, (int)len) == 1 ? 0 : -1;
    if (random_pool.left < len) {
        if (RAND_bytes(random_pool.bytes, ZR_RANDOM_POOL) != 1) {
            random_pool_drop();
            return -1;
        }
        random_pool.left = ZR_RANDOM_POOL;
    }
    uint8_t *from = random_pool.bytes + ZR_RANDOM_POOL - random_pool.left;
    memcpy(out, from, len);
    OPENSSL_cleanse(from, len);
    random_pool.left -= len;
    return 0;
}

char *zr_random_token(size_t bytes)
{
    uint8_t buf[64];
    if (bytes > sizeof(buf) || zr_random_bytes(buf, bytes) != 0)
        return NULL;
    char *t = zr_base64url_encode(buf, bytes);
    OPENSSL_cleanse(buf, sizeof(buf));
    return t;
}

char *zr_random_saml_id(void)
{
    uint8_t buf[20];
    if (zr_random_bytes(buf, sizeof(buf)) != 0)
        return NULL;
    char *hex = zr_hex_encode(buf, sizeof(buf));
    char *id = malloc(42);
    if (hex && id)
        snprintf(id, 42, "_%s", hex);
    free(hex);
    return id;
}

time_t zr_time_now(void)
{
    time_t now = time(NULL);
#ifdef ZR_TESTING
    const char *off = getenv("ZR_TEST_TIME_OFFSET");
    if (off)
        now += strtol(off, NULL, 10);
#endif
    return now;
}

int zr_time_parse_iso8601(const char *s, time_t *out)
{
    struct tm tm;
    int n = 0;
    memset(&tm, 0, sizeof(tm));
    if (!s)
        return -1;
    while (isspace((unsigned char)*s))
        s++;
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) != 6 || n != 19)
        return -1;
    const char *p = s + n;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'Z')
        p++;
    else if (strncmp(p, "+00:00", 6) == 0)
        p += 6;
    else
        return -1;
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return -1;
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    return 0;
}

void zr_time_format_iso8601(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* open, fstat, one read for a regular file: loading 10,000 care providers
 * reads 30,000 files, and each system call counts. */
int zr_file_read(const char *path, size_t max, char **out, size_t *out_len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    size_t cap, len = 0;
    char *data = NULL, *grown;
    ssize_t n;
    int rc = -1;

    if (fd < 0)
        return -1;
    memset(&st, 0, sizeof(st)); /* not a regular file unless fstat says so */
    /* A regular file's size is a good first guess; +1 sees growth. */
    cap = (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max) ? (size_t)st.st_size + 1 : 8192;
    if (cap > max + 1)
        cap = max + 1;
    if (!(data = malloc(cap + 1)))
        goto end;
    for (;;) {
        if (len == cap) {
            if (cap > max)
                goto end; /* more than max bytes */
            size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
            if (!(grown = malloc(ncap + 1)))
                goto end;
            memcpy(grown, data, len);
            OPENSSL_cleanse(data, len);
            free(data);
            data = grown;
            cap = ncap;
        }
        n = read(fd, data + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            goto end;
        if (n == 0)
            break;
        len += (size_t)n;
        /* Got the whole regular file in one read: no need to read EOF. */
        if (S_ISREG(st.st_mode) && len == (size_t)st.st_size && len < cap)
            break;
    }
    if (len > max)
        goto end;
    data[len] = '\0';
    if (out_len)
        *out_len = len;
    *out = data;
    data = NULL;
    rc = 0;
end:
    if (data) {
        OPENSSL_cleanse(data, len);
        free(data);
    }
    close(fd);
    return rc;
}

int zr_secure_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return 0;
    return CRYPTO_memcmp(a, b, alen) == 0;
}

char *zr_str_trim(char *s)
{
    if (!s)
        return s;
    char *start = s;
    while (isspace((unsigned char)*start))
        start++;
    size_t len = strlen(start);
    while (len && isspace((unsigned char)start[len - 1]))
        len--;
    memmove(s, start, len);
    s[len] = '\0';
    return s;
}

char *zr_strdup(const char *s) { return s ? strdup(s) : NULL; }
