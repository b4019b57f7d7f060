/* Session store on Redis (src/store/). Every piece of relay state lives here
 * with a TTL (but see ZR_STORE_TTL_NONE), so any number of relay processes
 * share one login.
 * Keys are prefix + namespace + ":" + hex HMAC-SHA256(name key,
 * namespace || 0x00 || name); values are AES-256-GCM sealed with the whole
 * key as AAD (both keys derived from encryption_key), so a Redis dump holds
 * no BSN, token or code, and a value cannot be moved to another key.
 * The one exception to the TTL: ZR_STORE_TTL_NONE, for a value that must
 * outlive every process and is never evicted by a volatile-* policy (the
 * sector each client is served under, src/oidc/sector_record.c).
 * Thread-safe: a small pool of connections, reconnecting after Redis comes
 * back; every call returns within about timeout_ms.
 * Namespaces: 1-64 of [A-Za-z0-9_.-]; names: any NUL-terminated string.
 * Needs Redis >= 6.2 (GETDEL; EVAL with TIME and effects replication). */
#ifndef ZR_STORE_H
#define ZR_STORE_H

#include <stddef.h>
#include "zr/config.h"

typedef enum {
    ZR_STORE_OK = 0,
    ZR_STORE_NOT_FOUND = 1,   /* absent or expired */
    ZR_STORE_EXISTS = 2,      /* zr_store_claim: already claimed (replay) */
    ZR_STORE_BUSY = 3,        /* zr_store_redeem_begin: another attempt may still commit */
    ZR_STORE_LATE = 4,        /* zr_store_redeem_commit: past its deadline, nothing written */
    ZR_STORE_UNAVAILABLE = -1,/* Redis down or timed out: show 503, never a half session */
    ZR_STORE_CORRUPT = -2,    /* value failed authentication */
    ZR_STORE_INVALID = -3     /* refused: bad namespace, NULL name, ttl_s <= 0 (a bug; see ZR_STORE_TTL_NONE) */
} zr_store_status_t;

typedef struct zr_store zr_store_t;

/* Does not connect yet (the first call does): a relay may start before
 * Redis. Fails only on a bad configuration, e.g. an all-zero key. */
zr_store_t *zr_store_open(const zr_redis_config_t *cfg, char *err, size_t errlen);
void zr_store_close(zr_store_t *s);
/* The most Redis connections one process opens (for the open-file budget). */
unsigned zr_store_max_connections(void);

/* ttl_s of a value kept until overwritten or deleted (zr_store_put and
 * value writes of zr_store_write_all only; a claim always expires). */
#define ZR_STORE_TTL_NONE (-1)

/* Stores value under (ns, name) for ttl_s seconds (overwrites). */
zr_store_status_t zr_store_put(zr_store_t *s, const char *ns, const char *name,
                               const void *value, size_t len, int ttl_s);
/* Reads value (*value malloc'ed, NUL-terminated for convenience). */
zr_store_status_t zr_store_get(zr_store_t *s, const char *ns, const char *name,
                               char **value, size_t *len);
/* Atomically reads and deletes (GETDEL): single-use items such as codes. */
zr_store_status_t zr_store_take(zr_store_t *s, const char *ns, const char *name,
                                char **value, size_t *len);
/* Marks (ns, name) as seen for ttl_s (SET NX): ZR_STORE_OK the first time,
 * ZR_STORE_EXISTS after. The replay cache for artifacts and SAML IDs. */
zr_store_status_t zr_store_claim(zr_store_t *s, const char *ns, const char *name, int ttl_s);
/* Several writes that belong together, in one round trip and in this order:
 * value != NULL stores it like zr_store_put, value == NULL claims the name
 * like zr_store_claim. Each op's status is set; the result is ZR_STORE_OK when
 * all are, else the first op's failure that is not OK (EXISTS for a replayed
 * claim). Not a transaction: on UNAVAILABLE some writes may have happened. */
typedef struct {
    const char *ns;
    const char *name;
    const void *value;
    size_t len;
    int ttl_s;
    zr_store_status_t status; /* out */
} zr_store_write_t;
zr_store_status_t zr_store_write_all(zr_store_t *s, zr_store_write_t *ops, size_t n);
/* Redeeming a single-use item so that a caller who got no answer may retry
 * (issue 13 §5: the token endpoint's codes; the reasoning is at the top of
 * src/store/redeem.c). An attempt first marks the item as its own, then
 * commits: one server-side step (a Lua script) that stores the values,
 * closes the item and deletes it, or does nothing at all. Redis refuses,
 * by its own clock, a commit that comes later than the attempt's deadline
 * (its start + half of redis.timeout_ms, at most); an attempt whose deadline passed
 * without a commit can never commit, so the next attempt takes its mark
 * over. A mark holds only the attempt's random id and deadline (plain: the
 * script compares them); keys are hashed and values sealed as everywhere. */
typedef struct {
    const char *item_ns;   /* the item (a code record): a commit needs it and deletes it */
    const char *mark_ns;   /* the attempt redeeming it: id and deadline */
    const char *closed_ns; /* claimed by the commit, or by a replay (zr_store_claim) to stop one */
    const char *name;      /* the item's name (a code) */
    int ttl_s;             /* of the mark and of the closed claim */
    int budget_ms;         /* from the mark to the deadline; 0 or more than half of timeout_ms: that half */
} zr_store_redeem_t;

typedef struct {
    char id[32];           /* random, base64url; not a secret */
    long long sent_ms;     /* when the mark was sent: Unix time in ms, by the relay's clock */
    long long deadline_ms; /* the same clock */
} zr_store_attempt_t;

/* Marks the item for a new attempt (*attempt set). ZR_STORE_OK: marked, also
 * when an earlier attempt's mark was taken over (its deadline passed, by
 * Redis's clock, without a commit); ZR_STORE_BUSY: another attempt may still
 * commit; ZR_STORE_EXISTS: closed. Does not look at the item itself. */
zr_store_status_t zr_store_redeem_begin(zr_store_t *s, const zr_store_redeem_t *r, zr_store_attempt_t *attempt);
/* Commits attempt: stores values (1 to 4, each a value with ttl_s > 0, like
 * zr_store_put), claims closed and deletes the item, all or nothing, only
 * when the mark still names attempt, the item exists, closed is not claimed
 * and Redis's clock has not passed the deadline. ZR_STORE_OK: done;
 * ZR_STORE_LATE: too late, nothing written (a retry can take over);
 * ZR_STORE_EXISTS: closed (a replay); ZR_STORE_NOT_FOUND: the item is gone or
 * the mark is another's; ZR_STORE_UNAVAILABLE: no answer, and nothing will be
 * written after the deadline. values[i].status is set to the result.
 * Both return ZR_STORE_UNAVAILABLE no sooner than timeout_ms after the mark
 * was sent (as a timeout would), so a retry after it can take over. */
zr_store_status_t zr_store_redeem_commit(zr_store_t *s, const zr_store_redeem_t *r, const zr_store_attempt_t *attempt,
                                         zr_store_write_t *values, size_t n);

/* As zr_store_write_all, then WAIT until redis.wait_replicas replicas have
 * the writes (at most redis.wait_timeout_ms, in the same round trip): for
 * what is handed to a portal, codes and tokens, so that a failover cannot
 * lose it (docs/operations.md, "What a failover loses"). Fewer replicas in
 * time: every write that took place reports ZR_STORE_UNAVAILABLE (fail
 * closed; it stays on the master and expires). Same as zr_store_write_all
 * when wait_replicas is 0. */
zr_store_status_t zr_store_write_all_replicated(zr_store_t *s, zr_store_write_t *ops, size_t n);
/* redis.wait_replicas as the store uses it. */
int zr_store_wait_replicas(const zr_store_t *s);
/* Where the store's Redis is, for an operator ("host:port", "unix:path";
 * with sentinels the master they named last, after a successful call). */
void zr_store_target(zr_store_t *s, char *out, size_t outlen);
/* ZR_STORE_OK also when nothing was stored under (ns, name). */
zr_store_status_t zr_store_del(zr_store_t *s, const char *ns, const char *name);
/* PING round trip; ZR_STORE_OK when Redis answers. */
zr_store_status_t zr_store_ping(zr_store_t *s);
/* Readiness (src/relay/health.c): one small real write with a short TTL
 * (ZR_STORE_PROBE_TTL_S) under namespace "ready", named and sealed like
 * every value, so that a Redis that answers PING but refuses writes (OOM
 * under maxmemory with noeviction, a read-only replica, MISCONF after a
 * failed save) is seen. The value is a constant marker, nothing secret; all
 * relays share the one key. ZR_STORE_OK, else ZR_STORE_UNAVAILABLE with why
 * ("redis does not answer", "redis refuses writes: OOM"). Logs nothing: a load balancer
 * asks every second, and the pool logs Redis going away once. */
#define ZR_STORE_PROBE_NS "ready"
#define ZR_STORE_PROBE_TTL_S 10
zr_store_status_t zr_store_probe_write(zr_store_t *s, char *why, size_t whylen);

const char *zr_store_status_name(zr_store_status_t st);

#endif
