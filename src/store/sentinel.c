/* Redis Sentinel: where the master is now.
 *
 * Follows Redis's guidelines for sentinel clients
 * (https://redis.io/docs/reference/sentinel-clients/): ask the sentinels in
 * turn with SENTINEL get-master-addr-by-name, the first that answers is
 * asked first next time; connect to the address named and check with ROLE
 * that it is a master, because a sentinel's answer may be stale (it has not
 * seen the failover yet) or a master may have been demoted since. Every step
 * shares the caller's one deadline. A sentinel's answer is trusted no
 * further than that: the node must still accept our Redis password, and in
 * production it must be on this host (docs/architecture.md, "a lying
 * sentinel"). */
#include "store_internal.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zr/log.h"
#include "zr/util.h"

/* "host:port" or "[v6]:port", already validated by the configuration. */
static int sentinel_parse(const char *s, zr_store_sentinel_t *out)
{
    const char *colon = strrchr(s, ':');
    const char *h = s;
    size_t n;
    if (!colon || colon == s)
        return -1;
    n = (size_t)(colon - s);
    if (s[0] == '[' && n >= 2 && s[n - 1] == ']') {
        h = s + 1;
        n -= 2;
    }
    out->port = atoi(colon + 1);
    out->host = malloc(n + 1);
    if (!out->host || out->port <= 0 || out->port > 65535)
        return -1;
    memcpy(out->host, h, n);
    out->host[n] = '\0';
    return 0;
}

int zr_store_sentinel_init(zr_store_pool_t *pool, const zr_redis_config_t *cfg, char *err, size_t errlen)
{
    int rc = -1;
    pool->loopback_only = cfg->loopback_only;
    if (!cfg->sentinel_count)
        return 0;
    if (!cfg->sentinel_master || !*cfg->sentinel_master) {
        snprintf(err, errlen, "redis sentinels need the master's name (sentinel_master)");
        goto end;
    }
    pool->sentinels = calloc(cfg->sentinel_count, sizeof(*pool->sentinels));
    pool->sentinel_master = zr_strdup(cfg->sentinel_master);
    if (cfg->sentinel_password && *cfg->sentinel_password)
        pool->sentinel_password = zr_strdup(cfg->sentinel_password);
    if (!pool->sentinels || !pool->sentinel_master ||
        (cfg->sentinel_password && *cfg->sentinel_password && !pool->sentinel_password)) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    for (size_t i = 0; i < cfg->sentinel_count; i++) {
        pool->sentinel_count = i + 1; /* what cleanup frees */
        if (sentinel_parse(cfg->sentinels[i], &pool->sentinels[i]) != 0) {
            snprintf(err, errlen, "redis sentinel '%s' is not HOST:PORT", cfg->sentinels[i]);
            goto end;
        }
    }
    pool->rediscover = 1;
    rc = 0;
end:
    if (rc != 0)
        zr_store_sentinel_cleanup(pool);
    return rc;
}

void zr_store_sentinel_cleanup(zr_store_pool_t *pool)
{
    for (size_t i = 0; pool->sentinels && i < pool->sentinel_count; i++)
        free(pool->sentinels[i].host);
    zr_release(pool->sentinels);
    pool->sentinel_count = 0;
    zr_release(pool->sentinel_master);
    if (pool->sentinel_password) {
        memset(pool->sentinel_password, 0, strlen(pool->sentinel_password));
        zr_release(pool->sentinel_password);
    }
}

int zr_store_role_is_master(redisContext *c, char *why, size_t whylen)
{
    redisReply *r = redisCommand(c, "ROLE");
    char code[32];
    int rc = -1;
    if (!r) {
        snprintf(why, whylen, "ROLE: %s", c->errstr);
        goto end;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        zr_store_pool_error_code(r, code, sizeof(code));
        snprintf(why, whylen, "ROLE refused: %s", code);
        goto end;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || r->element[0]->type != REDIS_REPLY_STRING) {
        snprintf(why, whylen, "ROLE: unexpected reply");
        goto end;
    }
    if (strcmp(r->element[0]->str, "master") != 0) {
        snprintf(why, whylen, "the node is a %.16s, not a master", r->element[0]->str);
        goto end;
    }
    rc = 0;
end:
    if (r)
        freeReplyObject(r);
    return rc;
}

static int sentinel_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* Asks one sentinel where the master is: 0 with *host (malloc'ed) and
 * *port, or -1 with why set. Within the deadline given. */
static int sentinel_ask(zr_store_pool_t *pool, const zr_store_sentinel_t *sn, int64_t deadline_ms, char **host,
                        int *port, char *why, size_t whylen)
{
    redisContext *c = redisConnectWithTimeout(sn->host, sn->port, zr_store_pool_remaining(deadline_ms));
    redisReply *r = NULL;
    char code[32];
    int rc = -1;
    *host = NULL;
    if (!c || c->err) {
        snprintf(why, whylen, "connect: %s", c ? c->errstr : "out of memory");
        goto end;
    }
    redisSetTimeout(c, zr_store_pool_remaining(deadline_ms));
    if (pool->sentinel_password) {
        r = redisCommand(c, "AUTH %s", pool->sentinel_password);
        if (!r || r->type != REDIS_REPLY_STATUS) {
            zr_store_pool_error_code(r, code, sizeof(code));
            snprintf(why, whylen, "AUTH rejected: %s (redis.sentinel_password)", r ? code : c->errstr);
            goto end;
        }
        freeReplyObject(r);
    }
    r = redisCommand(c, "SENTINEL get-master-addr-by-name %s", pool->sentinel_master);
    if (!r) {
        snprintf(why, whylen, "%s", c->errstr);
        goto end;
    }
    if (r->type == REDIS_REPLY_NIL) {
        snprintf(why, whylen, "does not monitor a master named '%s' (redis.sentinel_master)", pool->sentinel_master);
        goto end;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        zr_store_pool_error_code(r, code, sizeof(code));
        snprintf(why, whylen, "refused: %s%s", code,
                 !strcmp(code, "NOAUTH") ? " (the sentinel wants a password: redis.sentinel_password)" : "");
        goto end;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_STRING || r->element[0]->len == 0 || r->element[0]->len > 255) {
        snprintf(why, whylen, "unexpected reply");
        goto end;
    }
    *port = atoi(r->element[1]->str);
    if (*port <= 0 || *port > 65535) {
        snprintf(why, whylen, "unexpected reply");
        goto end;
    }
    if (!(*host = zr_strdup(r->element[0]->str))) {
        snprintf(why, whylen, "out of memory");
        goto end;
    }
    rc = 0;
end:
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    return rc;
}

redisContext *zr_store_sentinel_connect(zr_store_pool_t *pool, int64_t deadline_ms, zr_store_setup_fn setup,
                                        char **host, int *port, char *why, size_t whylen)
{
    redisContext *c = NULL;
    size_t first, n = pool->sentinel_count;
    char one[200] = "", *named = NULL;
    int named_port = 0, answered = 0;
    *host = NULL;
    snprintf(why, whylen, "no sentinel answered");
    pthread_mutex_lock(&pool->lock);
    first = pool->sentinel_first;
    pthread_mutex_unlock(&pool->lock);
    for (size_t k = 0; k < n && zr_store_pool_now_ms() < deadline_ms; k++) {
        size_t i = (first + k) % n;
        const zr_store_sentinel_t *sn = &pool->sentinels[i];
        /* Each sentinel gets a share of what is left, so one that hangs
         * leaves time for the others and for the master. */
        int64_t now = zr_store_pool_now_ms();
        int64_t share = now + (deadline_ms - now) / (int64_t)(n - k + 1);
        zr_release(named);
        if (sentinel_ask(pool, sn, share > now ? share : deadline_ms, &named, &named_port, one, sizeof(one)) != 0) {
            /* The first failure is the one to show (a wrong password shows
             * on every sentinel alike). */
            if (!answered)
                snprintf(why, whylen, "sentinel %s:%d: %s", sn->host, sn->port, one);
            continue;
        }
        answered = 1;
        if (pool->loopback_only && !sentinel_is_loopback(named)) {
            snprintf(why, whylen, "sentinel %s:%d names master %.64s:%d, not on this host: refused in production",
                     sn->host, sn->port, named, named_port);
            continue;
        }
        c = redisConnectWithTimeout(named, named_port, zr_store_pool_remaining(deadline_ms));
        if (!c || c->err) {
            snprintf(why, whylen, "master %.64s:%d named by sentinel %s:%d: connect: %s", named, named_port,
                     sn->host, sn->port, c ? c->errstr : "out of memory");
            goto next;
        }
        if (setup(pool, c, one, sizeof(one)) != 0 || zr_store_role_is_master(c, one, sizeof(one)) != 0) {
            /* A stale answer (that sentinel has not seen the failover yet):
             * ask the next one. */
            snprintf(why, whylen, "master %.64s:%d named by sentinel %s:%d: %s", named, named_port, sn->host,
                     sn->port, one);
            goto next;
        }
        pthread_mutex_lock(&pool->lock);
        pool->sentinel_first = i;
        pthread_mutex_unlock(&pool->lock);
        *host = named;
        *port = named_port;
        return c;
    next:
        if (c)
            redisFree(c);
        c = NULL;
    }
    free(named);
    if (zr_store_pool_now_ms() >= deadline_ms && !answered)
        snprintf(why + strlen(why), whylen - strlen(why), " (deadline reached)");
    /* Next time start at the next sentinel: the first one may be the dead one. */
    pthread_mutex_lock(&pool->lock);
    pool->sentinel_first = (first + 1) % n;
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}
