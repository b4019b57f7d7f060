/* Syntax checks for configuration values: URLs, listen addresses, eID
 * entity IDs, UUIDs. Deliberately strict: a value that only a lenient parser
 * would accept is a configuration mistake. */
#include "config_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int zr_cfg_digits(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int zr_cfg_hex_valid(const char *s, size_t n)
{
    if (!s || strlen(s) != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int zr_cfg_token_valid(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

int zr_cfg_uuid_valid(const char *s)
{
    static const int groups[] = {8, 4, 4, 4, 12};
    const char *p = s;
    for (size_t g = 0; g < 5; g++) {
        for (int i = 0; i < groups[g]; i++, p++)
            if (!isxdigit((unsigned char)*p))
                return 0;
        if (g < 4 && *p++ != '-')
            return 0;
    }
    return *p == '\0';
}

static int parse_port(const char *s, size_t len)
{
    int port = 0;
    if (len == 0 || len > 5)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        port = port * 10 + (s[i] - '0');
    }
    return port >= 1 && port <= 65535 ? port : -1;
}

static int host_valid(const char *h, size_t len)
{
    if (len == 0)
        return 0;
    if (h[0] == '[') {
        if (len < 3 || h[len - 1] != ']')
            return 0;
        for (size_t i = 1; i < len - 1; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return 0;
        return 1;
    }
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)h[i]) && h[i] != '.' && h[i] != '-')
            return 0;
    return h[0] != '.' && h[0] != '-';
}

/* Splits "host:port" / "[v6]:port" at the port colon; -1 when malformed. */
static int split_host_port(const char *s, size_t len, size_t *host_len, int *port)
{
    const char *colon;
    if (len && s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        colon = close + 1 < s + len && close[1] == ':' ? close + 1 : NULL;
        if (!colon && close + 1 != s + len)
            return -1;
    } else {
        colon = memchr(s, ':', len);
    }
    *host_len = colon ? (size_t)(colon - s) : len;
    *port = 0;
    if (colon && (*port = parse_port(colon + 1, len - *host_len - 1)) < 0)
        return -1;
    return host_valid(s, *host_len) ? 0 : -1;
}

int zr_cfg_url_parse(const char *s, zr_cfg_url_t *u)
{
    const char *p, *auth, *end;
    size_t host_len;
    memset(u, 0, sizeof(*u));
    if (!s)
        return -1;
    for (p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return -1;
    p = strstr(s, "://");
    if (!p || p == s || (size_t)(p - s) >= sizeof(u->scheme))
        return -1;
    for (size_t i = 0; s + i < p; i++)
        u->scheme[i] = (char)tolower((unsigned char)s[i]);
    if (strcmp(u->scheme, "https") && strcmp(u->scheme, "http"))
        return -1;
    auth = p + 3;
    end = auth + strcspn(auth, "/?#");
    if (memchr(auth, '@', (size_t)(end - auth)))
        return -1; /* userinfo in a URL we configure is always a mistake */
    if (split_host_port(auth, (size_t)(end - auth), &host_len, &u->port) != 0 || host_len >= sizeof(u->host))
        return -1;
    memcpy(u->host, auth, host_len);
    u->host[host_len] = '\0';
    if (*end == '/') {
        size_t plen = strcspn(end, "?#");
        u->has_path = 1;
        u->trailing_slash = end[plen - 1] == '/';
    }
    u->has_query = strchr(end, '?') != NULL && (!strchr(end, '#') || strchr(end, '?') < strchr(end, '#'));
    u->has_fragment = strchr(end, '#') != NULL;
    return 0;
}

int zr_cfg_url_is_loopback(const zr_cfg_url_t *u)
{
    return !strcasecmp(u->host, "localhost") || !strcmp(u->host, "127.0.0.1") || !strcmp(u->host, "[::1]");
}

int zr_cfg_listen_valid(const char *s)
{
    size_t host_len;
    int port;
    if (!s || split_host_port(s, strlen(s), &host_len, &port) != 0)
        return 0;
    return port > 0;
}

int zr_cfg_entity_id_parse(const char *s, const char *roles, char oin[21], int *index)
{
    static const char prefix[] = "urn:nl-eid-gdi:1.0:";
    const char *p = s, *colon;
    size_t role_len;
    int role_ok = 0;
    if (!s || strncmp(p, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    p += sizeof(prefix) - 1;
    if (!(colon = strchr(p, ':')))
        return -1;
    role_len = (size_t)(colon - p);
    for (const char *r = roles; *r;) {
        size_t n = strcspn(r, "|");
        if (n == role_len && !strncmp(r, p, n))
            role_ok = 1;
        r += n + (r[n] == '|');
    }
    if (!role_ok)
        return -1;
    p = colon + 1;
    for (int i = 0; i < 20; i++)
        if (!isdigit((unsigned char)p[i]))
            return -1;
    if (strncmp(p + 20, ":entities:", 10) != 0 || !zr_cfg_digits(p + 30, 4))
        return -1;
    memcpy(oin, p, 20);
    oin[20] = '\0';
    *index = atoi(p + 30);
    return 0;
}

size_t zr_cfg_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}
