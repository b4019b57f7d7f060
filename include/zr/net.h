/* IP addresses and CIDR ranges (src/core/net.c): the trusted_proxies list
 * and the client address behind a proxy. Plain C, no libmicrohttpd. */
#ifndef ZR_NET_H
#define ZR_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* An IPv4 address is kept as its IPv4-mapped IPv6 form (::ffff:a.b.c.d),
 * so that a listener on [::] and one on 0.0.0.0 compare alike. */
typedef struct {
    uint8_t b[16];
} zr_net_addr_t;

typedef struct {
    zr_net_addr_t addr;   /* with the host bits cleared */
    unsigned prefix;      /* 0..128, in the IPv6 form (an IPv4 /24 is 120) */
} zr_net_cidr_t;

/* "192.0.2.7", "2001:db8::1" (no brackets, no port, no zone). 0 when valid. */
int zr_net_addr_parse(const char *s, zr_net_addr_t *out);
/* From a socket address (AF_INET or AF_INET6); -1 for any other family. */
int zr_net_addr_from_sockaddr(const struct sockaddr *sa, zr_net_addr_t *out);
/* Text form: "192.0.2.7" for an IPv4(-mapped) address. out holds 46 bytes. */
const char *zr_net_addr_format(const zr_net_addr_t *a, char out[46]);
/* An exact address ("192.0.2.7" = /32, "::1" = /128) or a range
 * "10.0.0.0/8", "2001:db8::/32". Host bits set below the prefix are an
 * error (a typo like 10.0.0.1/8 must not silently mean 10.0.0.0/8). */
int zr_net_cidr_parse(const char *s, zr_net_cidr_t *out);
int zr_net_cidr_match(const zr_net_cidr_t *c, const zr_net_addr_t *a);
int zr_net_cidr_list_match(const zr_net_cidr_t *list, size_t n, const zr_net_addr_t *a);

/* The client behind trusted proxies (X-Forwarded-For, comma-separated,
 * several headers joined in order): walking from the right, the first
 * entry that is not a trusted proxy is the client, because only the hops
 * to its right were written by proxies we trust; everything to its left
 * may be forged. When every entry is trusted, the leftmost is taken; an
 * entry that is not an IP address stops the walk and the hop to its right
 * (or the peer itself) is the client. The peer must be trusted for the
 * header to be read at all (the caller checks). */
void zr_net_forwarded_client(const char *xff, const zr_net_cidr_t *trusted, size_t n, const zr_net_addr_t *peer,
                             zr_net_addr_t *client);

#endif
