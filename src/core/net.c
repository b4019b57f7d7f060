/* IP addresses and CIDR ranges for trusted_proxies and the connection
 * limits. inet_pton does the parsing; only the prefix and the
 * X-Forwarded-For walk are written here. */
#include "zr/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void net_map_v4(const struct in_addr *v4, zr_net_addr_t *out)
{
    memset(out->b, 0, 10);
    out->b[10] = out->b[11] = 0xff;
    memcpy(out->b + 12, &v4->s_addr, 4);
}

static int net_is_v4(const zr_net_addr_t *a)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, mapped, sizeof(mapped)) == 0;
}

int zr_net_addr_parse(const char *s, zr_net_addr_t *out)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (!s || !*s)
        return -1;
    if (inet_pton(AF_INET, s, &v4) == 1) {
        net_map_v4(&v4, out);
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6) == 1) {
        memcpy(out->b, v6.s6_addr, 16);
        return 0;
    }
    return -1;
}

int zr_net_addr_from_sockaddr(const struct sockaddr *sa, zr_net_addr_t *out)
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        net_map_v4(&((const struct sockaddr_in *)(const void *)sa)->sin_addr, out);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        memcpy(out->b, ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr, 16);
        return 0;
    }
    return -1;
}

const char *zr_net_addr_format(const zr_net_addr_t *a, char out[46])
{
    if (net_is_v4(a)) {
        if (!inet_ntop(AF_INET, a->b + 12, out, 46))
            snprintf(out, 46, "-");
    } else if (!inet_ntop(AF_INET6, a->b, out, 46)) {
        snprintf(out, 46, "-");
    }
    return out;
}

int zr_net_cidr_parse(const char *s, zr_net_cidr_t *out)
{
    char host[64];
    const char *slash;
    char *end;
    long prefix;
    size_t len;
    int v4;

    if (!s)
        return -1;
    slash = strchr(s, '/');
    len = slash ? (size_t)(slash - s) : strlen(s);
    if (len == 0 || len >= sizeof(host))
        return -1;
    memcpy(host, s, len);
    host[len] = '\0';
    if (zr_net_addr_parse(host, &out->addr) != 0)
        return -1;
    v4 = strchr(host, ':') == NULL;
    if (!slash) {
        out->prefix = 128;
        return 0;
    }
    if (!slash[1] || slash[1] == '+' || slash[1] == '-' || slash[1] == ' ')
        return -1;
    prefix = strtol(slash + 1, &end, 10);
    if (*end || prefix < 0 || prefix > (v4 ? 32 : 128))
        return -1;
    out->prefix = (unsigned)(v4 ? prefix + 96 : prefix);
    /* host bits must be zero */
    for (unsigned bit = out->prefix; bit < 128; bit++)
        if (out->addr.b[bit / 8] & (0x80u >> (bit % 8)))
            return -1;
    return 0;
}

int zr_net_cidr_match(const zr_net_cidr_t *c, const zr_net_addr_t *a)
{
    unsigned full = c->prefix / 8, rest = c->prefix % 8;

    if (memcmp(c->addr.b, a->b, full) != 0)
        return 0;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((c->addr.b[full] & mask) != (a->b[full] & mask))
            return 0;
    }
    return 1;
}

int zr_net_cidr_list_match(const zr_net_cidr_t *list, size_t n, const zr_net_addr_t *a)
{
    for (size_t i = 0; i < n; i++)
        if (zr_net_cidr_match(&list[i], a))
            return 1;
    return 0;
}

void zr_net_forwarded_client(const char *xff, const zr_net_cidr_t *trusted, size_t n, const zr_net_addr_t *peer,
                             zr_net_addr_t *client)
{
    const char *end = xff ? xff + strlen(xff) : NULL;

    *client = *peer;
    while (end && end > xff) {
        const char *start = end;
        char item[64];
        size_t len;
        zr_net_addr_t a;

        while (start > xff && start[-1] != ',')
            start--;
        /* trim spaces and tabs around the entry */
        {
            const char *s = start, *e = end;
            while (s < e && (*s == ' ' || *s == '\t'))
                s++;
            while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            len = (size_t)(e - s);
            if (len == 0 || len >= sizeof(item))
                return; /* empty or overlong entry: keep the hop to its right */
            memcpy(item, s, len);
            item[len] = '\0';
        }
        if (zr_net_addr_parse(item, &a) != 0)
            return;
        *client = a;
        if (!zr_net_cidr_list_match(trusted, n, &a))
            return; /* the rightmost untrusted hop */
        end = start > xff ? start - 1 : start;
    }
}
