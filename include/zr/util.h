/* Small helpers every concern uses: growable buffers, encodings, randomness,
 * time. Nothing here knows about SAML or OIDC. */
#ifndef ZR_UTIL_H
#define ZR_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Frees *p and sets it to NULL (Lasso-style release). */
#define zr_release(p) do { free(p); (p) = NULL; } while (0)

/* Growable NUL-terminated byte buffer. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} zr_buf_t;

void zr_buf_init(zr_buf_t *b);
int  zr_buf_append(zr_buf_t *b, const void *data, size_t len);
int  zr_buf_appends(zr_buf_t *b, const char *s);
int  zr_buf_printf(zr_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with HTML special characters escaped (& < > " '). */
int  zr_buf_append_html(zr_buf_t *b, const char *s);
/* Hands the data to the caller (who frees it) and resets the buffer. */
char *zr_buf_steal(zr_buf_t *b);
void zr_buf_free(zr_buf_t *b);

/* An answer body collected by libcurl, refused past max bytes: pass
 * zr_capped_buf_write as CURLOPT_WRITEFUNCTION and the zr_capped_buf_t as
 * CURLOPT_WRITEDATA; the transfer stops as soon as the body would exceed max
 * (too_large is then set). Plain C: no libcurl types needed here. */
typedef struct {
    zr_buf_t buf;
    size_t max;
    int too_large;
} zr_capped_buf_t;
size_t zr_capped_buf_write(char *data, size_t size, size_t nmemb, void *capped);

/* Encodings. All return newly allocated NUL-terminated strings or NULL. */
char *zr_base64_encode(const uint8_t *data, size_t len);
char *zr_base64url_encode(const uint8_t *data, size_t len);       /* no padding */
/* Decoders ignore ASCII whitespace (XML base64 is often wrapped); return -1 on
 * any other invalid character. *out is malloc'ed. */
int zr_base64_decode(const char *in, uint8_t **out, size_t *out_len);
int zr_base64url_decode(const char *in, uint8_t **out, size_t *out_len);
char *zr_hex_encode(const uint8_t *data, size_t len);               /* lower case */
int zr_hex_digit(char c); /* 0-15 for a hex digit (either case), else -1: the one percent-decoding helper */
/* Percent-encoding for URL query components (RFC 3986 unreserved kept). */
char *zr_url_encode(const char *s);
/* Decodes %XX and '+' (form encoding). Returns NULL on malformed input. */
char *zr_url_decode(const char *s, size_t len);

/* Cryptographically secure random bytes (OpenSSL RAND_bytes); 0 on success. */
int zr_random_bytes(uint8_t *out, size_t len);
/* Random identifier: `bytes` random bytes as base64url (e.g. 32 -> 43 chars). */
char *zr_random_token(size_t bytes);
/* SAML ID: "_" + 40 hex characters (160 random bits, ST-SAML §AuthnRequest). */
char *zr_random_saml_id(void);

/* Time. zr_time_now() can be shifted for tests (ZR_TEST_TIME_OFFSET env,
 * seconds, only honoured when built for tests); everything uses it. */
time_t zr_time_now(void);
/* Parses xs:dateTime in UTC ("2021-10-06T08:09:50.226Z", fraction optional,
 * "Z" or "+00:00"). Returns 0 and the epoch second, -1 on anything else. */
int zr_time_parse_iso8601(const char *s, time_t *out);
/* Formats as "YYYY-MM-DDTHH:MM:SSZ" into out (at least 21 bytes). */
void zr_time_format_iso8601(time_t t, char out[21]);

/* Reads a whole file (at most max bytes; -1 if larger). */
int zr_file_read(const char *path, size_t max, char **out, size_t *out_len);

/* Constant-time comparison of two byte strings; 1 when equal. */
int zr_secure_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Trims ASCII whitespace in place at both ends; returns s. */
char *zr_str_trim(char *s);
/* strdup that returns NULL for NULL. */
char *zr_strdup(const char *s);

#endif
