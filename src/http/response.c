/* Building a zr_http_response_t. Every value that ends up in a header line is
 * checked here, so a handler can never split a response with CR/LF. */
#include "zr/http.h"
#include "zr/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 9110 §5.6.2 token characters (header and cookie names). */
static int is_token(const char *s)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", c))
            return 0;
    }
    return 1;
}

/* Header values: visible ASCII, space and tab; UTF-8 bytes are passed
 * through, control characters (CR, LF, NUL, ...) are never. */
static int is_header_value(const char *s)
{
    if (!s)
        return 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/* RFC 6265 §4.1.1 cookie-octet: no whitespace, DQUOTE, comma, semicolon or
 * backslash. */
static int is_cookie_value(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\')
            return 0;
    }
    return 1;
}

void zr_http_response_init(zr_http_response_t *r)
{
    memset(r, 0, sizeof(*r));
    r->status = 200;
}

void zr_http_response_free(zr_http_response_t *r)
{
    if (!r)
        return;
    free(r->content_type);
    free(r->body);
    zr_kv_free(&r->headers);
    zr_http_response_init(r);
}

int zr_http_set_header(zr_http_response_t *r, const char *name, const char *value)
{
    if (!r || !is_token(name) || !is_header_value(value))
        return -1;
    return zr_kv_add(&r->headers, name, value);
}

int zr_http_respond(zr_http_response_t *r, int status, const char *content_type, const char *body, size_t len)
{
    int rc = -1;
    char *ct = NULL, *b = NULL;

    if (!r || status < 100 || status > 599 || (content_type && !is_header_value(content_type)))
        goto end;
    ct = content_type ? strdup(content_type) : NULL;
    b = malloc(len + 1);
    if ((content_type && !ct) || !b)
        goto end;
    if (len)
        memcpy(b, body, len);
    b[len] = '\0';
    free(r->content_type);
    free(r->body);
    r->content_type = ct;
    r->body = b;
    r->body_len = len;
    r->status = status;
    ct = b = NULL;
    rc = 0;
end:
    free(ct);
    free(b);
    return rc;
}

int zr_http_respond_json(zr_http_response_t *r, int status, const char *json)
{
    if (!json)
        return -1;
    return zr_http_respond(r, status, "application/json", json, strlen(json));
}

int zr_http_redirect(zr_http_response_t *r, int status, const char *url)
{
    if (!r || !url || !*url || (status != 301 && status != 302 && status != 303 && status != 307 && status != 308))
        return -1;
    /* A Location with spaces or controls is either a bug or an injection. */
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f)
            return -1;
    if (zr_http_respond(r, status, "text/html; charset=utf-8", "", 0) != 0)
        return -1;
    if (zr_http_set_header(r, "Location", url) != 0 || zr_http_set_header(r, "Cache-Control", "no-store") != 0)
        return -1;
    return 0;
}

int zr_http_set_cookie(zr_http_response_t *r, const char *name, const char *value, int max_age, int secure,
                       int cross_site)
{
    int rc = -1;
    zr_buf_t b;

    zr_buf_init(&b);
    if (!r || !is_token(name) || !value || !is_cookie_value(value))
        goto end;
    /* Browsers drop SameSite=None without Secure (RFC 6265bis §5.4.7): refuse
     * rather than set a cookie that silently never comes back. */
    if (cross_site && !secure)
        goto end;
    /* The same for the prefixes (RFC 6265bis §4.1.3): __Secure- needs Secure,
     * __Host- also Path=/ and no Domain, which every cookie here has. */
    if (!secure && (strncmp(name, "__Secure-", 9) == 0 || strncmp(name, "__Host-", 7) == 0))
        goto end;
    if (zr_buf_printf(&b, "%s=%s; Path=/; HttpOnly; SameSite=%s", name, value, cross_site ? "None" : "Lax") != 0)
        goto end;
    if (secure && zr_buf_appends(&b, "; Secure") != 0)
        goto end;
    /* max_age < 0: a session cookie (no Max-Age); 0 deletes it. */
    if (max_age >= 0 && zr_buf_printf(&b, "; Max-Age=%d", max_age) != 0)
        goto end;
    rc = zr_http_set_header(r, "Set-Cookie", b.data);
end:
    zr_buf_free(&b);
    return rc;
}
