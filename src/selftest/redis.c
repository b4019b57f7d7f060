/* Redis as the relay uses it: reachable with its settings (AUTH, db), a
 * sealed value written and read back through src/store, the round-trip
 * latency, and the server settings that would lose logins in flight.
 * CONFIG and INFO go over a connection of our own: the store offers no
 * such commands, and must not. */
#include "zr/selftest.h"

#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#include "zr/oidc.h"
#include "zr/store.h"
#include "zr/util.h"

zr_selftest_status_t zr_selftest_redis_policy_judge(const char *policy, char *finding, size_t flen)
{
    if (!policy) {
        snprintf(finding, flen, "maxmemory-policy unknown: CONFIG is disabled (managed Redis?)");
        return ZR_SELFTEST_WARN;
    }
    if (!strcasecmp(policy, "noeviction")) {
        snprintf(finding, flen, "maxmemory-policy noeviction: a full Redis refuses new logins, never drops one");
        return ZR_SELFTEST_OK;
    }
    if (!strncasecmp(policy, "volatile-", 9)) {
        /* Every relay key but the sector records (no TTL, never evicted
         * by volatile-*) has a TTL, so volatile-* may still evict them. */
        snprintf(finding, flen, "maxmemory-policy %s: when memory runs out Redis evicts logins in flight "
                 "(every relay key but the recorded pairwise sectors has a TTL)", policy);
        return ZR_SELFTEST_WARN;
    }
    if (!strncasecmp(policy, "allkeys-", 8)) {
        snprintf(finding, flen, "maxmemory-policy %s evicts live logins, codes, the replay cache and the recorded "
                 "pairwise sectors", policy);
        return ZR_SELFTEST_FAIL;
    }
    snprintf(finding, flen, "maxmemory-policy %s: unknown policy", policy);
    return ZR_SELFTEST_WARN;
}

/* What one finished login leaves in Redis, measured with bench/redis-memory
 * (Redis 7.0, docs/operations.md#self-test): MEMORY USAGE of each key, plus
 * what used_memory counts beyond it per key (the expiry table's entry, hash
 * table slots). Pending logins are taken at the ACS and codes at /token, so
 * they are gone within seconds. */
#define NEED_KEY_EXTRA 80        /* per key, beyond MEMORY USAGE */
#define NEED_LOGOUT_SESSION 520  /* logout-session: the sid's record (tenant, sub, NameID, SessionIndex) */
#define NEED_ACCESS_TOKEN 584    /* access-token */
#define NEED_CODE_GRANT 264      /* code-grant */
#define NEED_MARKER 136          /* code-used, code-closed, saml-artifact, -response, -assertion */
#define NEED_SAML_REPLAY_S (15 * 60) /* src/saml/response.c ZR_SAML_REPLAY_TTL_S, plus the clock skew */
#define NEED_LOGIN_TRAIL 264     /* login-trail (issue 18 §1): client, care provider, language, outcome */

double zr_selftest_redis_need_per_login_rate(int logout_session_s, int access_token_s, int code_s, int clock_skew_s,
                                             int session_s)
{
    double logout = logout_session_s > 0 ? logout_session_s : 8 * 3600;
    double at = access_token_s > 0 ? access_token_s : 300;
    double code = code_s > 0 ? code_s : 60;
    double marks = at > code ? at : code; /* src/oidc/token.c mark_ttl */
    double replay = NEED_SAML_REPLAY_S + (clock_skew_s > 0 ? clock_skew_s : 0);
    double session = session_s > 0 ? session_s : 900;
    double trail = session + (session > 300 ? session : 300); /* src/relay/way.c zr_relay_trail_ttl */
    return (NEED_LOGOUT_SESSION + NEED_KEY_EXTRA) * logout + (NEED_ACCESS_TOKEN + NEED_KEY_EXTRA) * at +
           (NEED_CODE_GRANT + NEED_KEY_EXTRA) * marks + 2.0 * (NEED_MARKER + NEED_KEY_EXTRA) * marks +
           3.0 * (NEED_MARKER + NEED_KEY_EXTRA) * replay + (NEED_LOGIN_TRAIL + NEED_KEY_EXTRA) * trail;
}

zr_selftest_status_t zr_selftest_redis_maxmemory_judge(long long maxmemory, double need, int peak_rate, char *finding,
                                                       size_t flen, char *advice, size_t alen)
{
    double rate;
    int peak = peak_rate > 0 ? peak_rate : ZR_SELFTEST_PEAK_LOGINS_DEFAULT;
    snprintf(advice, alen, "raise maxmemory (or set 0 and size the machine)");
    if (need <= 0)
        need = 1;
    if (maxmemory <= 0) {
        snprintf(finding, flen, "maxmemory 0 (no limit; the machine's memory is the limit): plan %.1f MB of Redis per "
                 "sustained login per second", need / 1e6);
        return ZR_SELFTEST_OK;
    }
    rate = (double)maxmemory / need;
    snprintf(finding, flen, "maxmemory %lld %s holds a sustained %.1f logins per second (%.1f MB each, mostly the "
             "logout sessions); expected peak %d per second",
             maxmemory >= 1024 * 1024 ? maxmemory / (1024 * 1024) : maxmemory,
             maxmemory >= 1024 * 1024 ? "MiB" : "bytes", rate, need / 1e6, peak);
    if (rate >= peak)
        return ZR_SELFTEST_OK;
    /* noeviction: a full Redis refuses every new login (and /readyz says so). */
    snprintf(advice, alen, "set maxmemory to at least %.0f MiB (%d logins per second x %.1f MB, plus headroom), or "
             "shorten oidc.logout_session_lifetime; --peak-logins N sets the expected peak (all relays on this Redis)",
             peak * need / 1048576.0, peak, need / 1e6);
    return ZR_SELFTEST_WARN;
}

/* The value of "name:" in INFO text, copied into out; 0 when present. */
static int info_field(const char *info, const char *name, char *out, size_t outlen)
{
    size_t nlen = strlen(name);
    for (const char *p = info; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
        if (!strncmp(p, name, nlen) && p[nlen] == ':') {
            size_t len = strcspn(p + nlen + 1, "\r\n");
            if (len >= outlen)
                len = outlen - 1;
            memcpy(out, p + nlen + 1, len);
            out[len] = '\0';
            return 0;
        }
    }
    return -1;
}

zr_selftest_status_t zr_selftest_redis_persistence_judge(const char *info, char *finding, size_t flen)
{
    char aof[16] = "", rdb_status[16] = "", aof_status[16] = "", changes[32] = "", saves[32] = "";
    int has_aof, has_rdb;
    if (!info || info_field(info, "aof_enabled", aof, sizeof(aof)) != 0) {
        snprintf(finding, flen, "persistence unknown (INFO persistence refused)");
        return ZR_SELFTEST_SKIP;
    }
    info_field(info, "rdb_last_bgsave_status", rdb_status, sizeof(rdb_status));
    info_field(info, "aof_last_write_status", aof_status, sizeof(aof_status));
    info_field(info, "rdb_changes_since_last_save", changes, sizeof(changes));
    info_field(info, "rdb_saves", saves, sizeof(saves));
    if (!strcmp(rdb_status, "err") || !strcmp(aof_status, "err")) {
        snprintf(finding, flen, "the last %s failed: Redis may refuse writes (stop-writes-on-bgsave-error)",
                 !strcmp(aof_status, "err") ? "AOF write" : "RDB save");
        return ZR_SELFTEST_WARN;
    }
    has_aof = !strcmp(aof, "1");
    /* INFO does not say whether `save` rules exist; a save seen says RDB is used. */
    has_rdb = saves[0] && strcmp(saves, "0") != 0;
    if (has_aof || has_rdb)
        snprintf(finding, flen, "persistence on (%s%s%s): logins in flight survive a Redis restart",
                 has_aof ? "AOF" : "", has_aof && has_rdb ? " + " : "", has_rdb ? "RDB" : "");
    else
        snprintf(finding, flen, "no persistence seen (AOF off, no RDB save yet): a Redis restart ends the logins "
                 "in flight and voids the codes, access tokens and logout sessions handed out; keep replicas "
                 "(Sentinel) or turn on AOF if that matters");
    return ZR_SELFTEST_OK;
}

zr_selftest_status_t zr_selftest_redis_clock_judge(double offset_ms, double rtt_ms, int timeout_ms, char *finding,
                                                   size_t flen)
{
    double margin = timeout_ms / 2.0, worst = (offset_ms < 0 ? -offset_ms : offset_ms) + rtt_ms / 2.0;
    zr_selftest_status_t st = worst > margin ? ZR_SELFTEST_FAIL : worst > margin / 4 ? ZR_SELFTEST_WARN : ZR_SELFTEST_OK;
    snprintf(finding, flen, "Redis's clock is %+.1f ms from ours (round trip %.1f ms); a /token needs them within "
             "%.0f ms (half of redis.timeout_ms)%s", offset_ms, rtt_ms, margin,
             st == ZR_SELFTEST_FAIL   ? ": codes would not be redeemed, or a retry taken for a replay"
             : st == ZR_SELFTEST_WARN ? ": close to the limit"
                                      : "");
    return st;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double zr_selftest_median(const double *values, size_t n)
{
    double *v, m;
    if (!n || !(v = malloc(n * sizeof(*v))))
        return 0;
    memcpy(v, values, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_double);
    m = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    return m;
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* A command whose reply must not be an error; NULL otherwise (why in err). */
static redisReply *command(redisContext *c, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    redisReply *reply;
    va_start(ap, fmt);
    reply = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!reply) {
        snprintf(err, errlen, "%s", c->errstr[0] ? c->errstr : "no answer");
        return NULL;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        /* The first word only (NOAUTH, WRONGPASS, ...): the rest may echo input. */
        snprintf(err, errlen, "%.*s", (int)strcspn(reply->str ? reply->str : "error", " "),
                 reply->str ? reply->str : "error");
        freeReplyObject(reply);
        return NULL;
    }
    return reply;
}

/* TIME against our wall clock, for zr_selftest_redis_clock_judge. */
static void clock_check(redisContext *c, const zr_redis_config_t *rc, zr_selftest_report_t *r)
{
    struct timespec before, after;
    redisReply *reply;
    char err[128] = "", finding[256];
    double ours_ms, theirs_ms;
    zr_selftest_status_t st;

    clock_gettime(CLOCK_REALTIME, &before);
    reply = command(c, err, sizeof(err), "TIME");
    clock_gettime(CLOCK_REALTIME, &after);
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !reply->element[0]->str ||
        !reply->element[1]->str) {
        zr_selftest_add(r, ZR_SELFTEST_WARN, "redis-clock", "check NTP on the Redis host by hand",
                        "TIME not answered (%s)", err[0] ? err : "unexpected reply");
        goto end;
    }
    ours_ms = ((double)before.tv_sec * 1000 + before.tv_nsec / 1e6 + (double)after.tv_sec * 1000 +
               after.tv_nsec / 1e6) / 2;
    theirs_ms = strtod(reply->element[0]->str, NULL) * 1000 + strtod(reply->element[1]->str, NULL) / 1000;
    st = zr_selftest_redis_clock_judge(theirs_ms - ours_ms,
                                       (double)(after.tv_sec - before.tv_sec) * 1000 +
                                           (after.tv_nsec - before.tv_nsec) / 1e6,
                                       rc->timeout_ms > 0 ? rc->timeout_ms : 500, finding, sizeof(finding));
    zr_selftest_add(r, st, "redis-clock", "synchronise both clocks with NTP (chrony, systemd-timesyncd)", "%s",
                    finding);
end:
    freeReplyObject(reply);
}

static const char *target(const zr_redis_config_t *rc, char *out, size_t len)
{
    if (rc->unix_socket)
        snprintf(out, len, "unix:%s", rc->unix_socket);
    else
        snprintf(out, len, "%s:%d", rc->host ? rc->host : "127.0.0.1", rc->port > 0 ? rc->port : 6379);
    return out;
}

/* Asks every sentinel where the master is (as the store does, but each of
 * them, to show a sentinel that is down, refuses our password or
 * disagrees). 0 with host/port of the master most of them name. */
static int sentinel_master(const zr_redis_config_t *rc, struct timeval tv, zr_selftest_report_t *r, char *host,
                           size_t hostlen, int *port)
{
    char first_err[300] = "", seen[8][300];
    size_t answered = 0, agree = 0, distinct = 0, votes[8] = {0};
    int ret = -1;
    for (size_t i = 0; i < rc->sentinel_count; i++) {
        const char *s = rc->sentinels[i], *colon = strrchr(s, ':');
        char shost[256], err[256] = "", addr[300];
        int n = colon ? (int)(colon - s) : 0;
        redisContext *c;
        redisReply *reply = NULL;
        if (n >= 2 && s[0] == '[' && s[n - 1] == ']')
            snprintf(shost, sizeof(shost), "%.*s", n - 2, s + 1);
        else
            snprintf(shost, sizeof(shost), "%.*s", n, s);
        c = redisConnectWithTimeout(shost, colon ? atoi(colon + 1) : 0, tv);
        if (!c || c->err) {
            snprintf(err, sizeof(err), "connect: %s", c ? c->errstr : "out of memory");
            goto next;
        }
        redisSetTimeout(c, tv);
        if (rc->sentinel_password) {
            if (!(reply = command(c, err, sizeof(err), "AUTH %s", rc->sentinel_password))) {
                snprintf(err + strlen(err), sizeof(err) - strlen(err), " to AUTH (redis.sentinel_password)");
                goto next;
            }
            freeReplyObject(reply);
        }
        reply = command(c, err, sizeof(err), "SENTINEL get-master-addr-by-name %s", rc->sentinel_master);
        if (!reply)
            goto next;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 || !reply->element[0]->str ||
            !reply->element[1]->str) {
            snprintf(err, sizeof(err), "knows no master named '%s' (redis.sentinel_master)", rc->sentinel_master);
            goto next;
        }
        snprintf(addr, sizeof(addr), "%s:%s", reply->element[0]->str, reply->element[1]->str);
        answered++;
        {
            size_t k = 0;
            while (k < distinct && strcmp(seen[k], addr) != 0)
                k++;
            if (k == distinct && distinct < 8)
                snprintf(seen[distinct++], sizeof(seen[0]), "%s", addr);
            if (k < 8)
                votes[k]++;
        }
    next:
        if (err[0] && !first_err[0])
            snprintf(first_err, sizeof(first_err), "sentinel %s: %s", s, err);
        if (reply)
            freeReplyObject(reply);
        if (c)
            redisFree(c);
    }
    if (!answered) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis-sentinels",
                        "check redis.sentinels, redis.sentinel_master and redis.sentinel_password against the "
                        "sentinels' configuration (requirepass, `sentinel monitor NAME`)",
                        "no sentinel named the master: %s", first_err);
        goto end;
    }
    for (size_t k = 1; k < distinct; k++)
        if (votes[k] > votes[agree])
            agree = k;
    {
        const char *a = seen[agree], *colon = strrchr(a, ':');
        snprintf(host, hostlen, "%.*s", (int)(colon - a), a);
        *port = atoi(colon + 1);
    }
    if (answered < rc->sentinel_count || distinct > 1)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "redis-sentinels",
                        distinct > 1 ? "the sentinels disagree: a failover in progress, or sentinels that do not "
                                       "see each other (check `SENTINEL master NAME` on each)"
                                     : "bring every sentinel back: a failover needs a majority of them",
                        "%zu of %zu sentinels name master '%s' at %s%s%s", votes[agree], rc->sentinel_count,
                        rc->sentinel_master, seen[agree], first_err[0] ? "; " : "", first_err);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "redis-sentinels", NULL, "%zu of %zu sentinels name master '%s' at %s",
                        answered, rc->sentinel_count, rc->sentinel_master, seen[agree]);
    ret = 0;
end:
    return ret;
}

/* The replicas the master has against redis.wait_replicas: too few and
 * every code is refused (fail closed), none spare and one replica lost
 * stops logins. */
static void replication_check(redisContext *c, const zr_redis_config_t *rc, const char *where,
                              zr_selftest_report_t *r)
{
    char err[256] = "", role[16] = "", slaves[16] = "";
    redisReply *reply = command(c, err, sizeof(err), "INFO replication");
    long n;
    if (!reply || reply->type != REDIS_REPLY_STRING || info_field(reply->str, "role", role, sizeof(role)) != 0) {
        zr_selftest_add(r, rc->wait_replicas ? ZR_SELFTEST_WARN : ZR_SELFTEST_SKIP, "redis-replication",
                        "allow INFO for the relay's Redis user", "INFO replication refused (%s)", err);
        goto end;
    }
    info_field(reply->str, "connected_slaves", slaves, sizeof(slaves));
    n = strtol(slaves, NULL, 10);
    if (strcmp(role, "master") != 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis-replication",
                        rc->sentinel_count ? "a failover is under way, or the sentinels name a stale master"
                                           : "point redis.host/port at the master, or use redis.sentinels",
                        "%s is a %s, not a master: writes are refused", where, role);
    else if (rc->wait_replicas > n)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis-replication",
                        "bring the replicas back, or lower redis.wait_replicas (then a failover may lose codes "
                        "already handed out)",
                        "master %s has %ld replica(s) connected, redis.wait_replicas is %d: every code and token is "
                        "refused (503) until enough replicas are back", where, n, rc->wait_replicas);
    else if (rc->wait_replicas > 0 && rc->wait_replicas == n)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "redis-replication",
                        "run one replica more than redis.wait_replicas, so that losing one does not stop logins",
                        "master %s has %ld replica(s), redis.wait_replicas %d: no spare replica", where, n,
                        rc->wait_replicas);
    else if (rc->wait_replicas == 0 && n > 0)
        zr_selftest_add(r, rc->sentinel_count ? ZR_SELFTEST_WARN : ZR_SELFTEST_OK, "redis-replication",
                        "set redis.wait_replicas: 1, so that codes and tokens are on a replica before the portal "
                        "gets them",
                        "master %s has %ld replica(s); redis.wait_replicas 0: a failover may lose codes and tokens "
                        "already handed out", where, n);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "redis-replication", NULL,
                        "master %s has %ld replica(s); codes and tokens wait for %d (redis.wait_replicas, at most "
                        "%d ms)", where, n, rc->wait_replicas, rc->wait_timeout_ms);
end:
    freeReplyObject(reply);
}

/* Writes, reads back and deletes one sealed value the way logins do. */
static void store_round_trip(const zr_config_t *cfg, zr_selftest_report_t *r)
{
    char err[256] = "", *value = NULL, *name = zr_random_token(16);
    size_t len = 0;
    zr_store_t *s = zr_store_open(&cfg->redis, err, sizeof(err));
    zr_store_status_t st = ZR_STORE_INVALID;
    if (!s || !name) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis-store", "fix redis.* in the configuration", "%s",
                        err[0] ? err : "out of memory");
        goto end;
    }
    {
        /* Written like a code: on redis.wait_replicas replicas. */
        zr_store_write_t w = {"selftest", name, "1", 1, 10, ZR_STORE_INVALID};
        st = zr_store_write_all_replicated(s, &w, 1);
    }
    if (st == ZR_STORE_OK)
        st = zr_store_get(s, "selftest", name, &value, &len);
    if (st == ZR_STORE_OK && (len != 1 || value[0] != '1'))
        st = ZR_STORE_CORRUPT;
    if (st == ZR_STORE_OK)
        st = zr_store_del(s, "selftest", name);
    if (st == ZR_STORE_OK)
        zr_selftest_add(r, ZR_SELFTEST_OK, "redis-store", NULL,
                        "a sealed value written, read back and deleted through the relay's store");
    else
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis-store",
                        "Redis takes commands but not the relay's writes: check it is a primary (not a replica), "
                        "has memory left, is not refusing writes after a failed save, and has the replicas "
                        "redis.wait_replicas asks for",
                        "write/read/delete through the relay's store failed: %s", zr_store_status_name(st));
end:
    free(value);
    free(name);
    zr_store_close(s);
}

/* The configuration's pairwise sectors against the ones the cluster's
 * relays recorded (src/oidc/sector_record.c): what `serve` would refuse,
 * found before a restart. Only reads. */
static void sector_records(const zr_config_t *cfg, zr_selftest_report_t *r)
{
    char err[256] = "", **records = NULL;
    zr_store_t *s = zr_store_open(&cfg->redis, err, sizeof(err));
    zr_sector_change_t *changes = NULL;
    size_t count = 0, refused = 0, unrecorded = 0;
    zr_store_status_t st = ZR_STORE_INVALID;
    zr_buf_t fail, allowed;
    zr_buf_init(&fail);
    zr_buf_init(&allowed);
    if (!s || (st = zr_oidc_sector_records_read(s, cfg, &records)) != ZR_STORE_OK) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "pairwise-sectors", "make Redis reachable for the relay's store",
                        "the sectors recorded in Redis cannot be read: %s", s ? zr_store_status_name(st) : err);
        goto end;
    }
    if (zr_config_sector_record_changes(cfg, records, &changes, &count) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "pairwise-sectors", "report this as a bug", "out of memory");
        goto end;
    }
    for (size_t i = 0; i < cfg->client_count; i++)
        unrecorded += records[i] == NULL;
    for (size_t i = 0; i < count; i++) {
        const zr_sector_change_t *ch = &changes[i];
        zr_buf_t *b = ch->allowed ? &allowed : &fail;
        if (zr_buf_printf(b, "%sclient '%s' is configured with '%s' (%s, %s), recorded '%s' (%s)",
                          b->len ? "; " : "", ch->after->client_id, zr_client_sector(ch->after, NULL),
                          zr_client_sector_key(ch->after), ch->after->sector_origin ? ch->after->sector_origin : "?",
                          ch->before_sector, ch->before_key) != 0) {
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "pairwise-sectors", "report this as a bug", "out of memory");
            goto end;
        }
        refused += !ch->allowed;
    }
    if (refused)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "pairwise-sectors",
                        "a relay would refuse to start: restore the recorded sector, or list the client under "
                        "oidc.allow_sector_change to give its users new subs deliberately",
                        "%zu client(s) would change their pairwise sector, and every sub: %s", refused, fail.data);
    if (count > refused)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "pairwise-sectors",
                        "the next start or reload changes every sub these clients see; remove them from "
                        "oidc.allow_sector_change afterwards",
                        "allowed by oidc.allow_sector_change: %s", allowed.data);
    if (!count)
        zr_selftest_add(r, ZR_SELFTEST_OK, "pairwise-sectors", NULL,
                        "%zu client(s): the configured pairwise sectors agree with the ones recorded in Redis "
                        "(%zu not recorded yet)", cfg->client_count, unrecorded);
end:
    free(changes);
    zr_oidc_sector_records_free(records, cfg->client_count);
    zr_buf_free(&fail);
    zr_buf_free(&allowed);
    zr_store_close(s);
}

void zr_selftest_redis(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    const zr_redis_config_t *rc = &cfg->redis;
    int timeout_ms = rc->timeout_ms > 0 ? rc->timeout_ms : 500, pings = opts->redis_pings > 0 ? opts->redis_pings : 10;
    struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
    char where[300], err[256] = "", finding[512], advice[512];
    double *lat = calloc((size_t)pings, sizeof(*lat)), t0, median;
    redisContext *c = NULL;
    redisReply *reply = NULL, *reply2 = NULL;
    zr_selftest_status_t st;
    const char *policy = NULL;
    char master_host[256];
    int master_port = 0;

    if (rc->sentinel_count) {
        if (sentinel_master(rc, tv, r, master_host, sizeof(master_host), &master_port) != 0)
            goto end;
        snprintf(where, sizeof(where), "%s:%d", master_host, master_port);
        c = redisConnectWithTimeout(master_host, master_port, tv);
    } else {
        target(rc, where, sizeof(where));
        c = rc->unix_socket ? redisConnectUnixWithTimeout(rc->unix_socket, tv)
                            : redisConnectWithTimeout(rc->host ? rc->host : "127.0.0.1", rc->port > 0 ? rc->port : 6379,
                                                      tv);
    }
    if (!c || c->err || !lat) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis", "start Redis or fix redis.host/port/unix_socket (and the firewall)",
                        "cannot connect to %s: %s", where, c && c->err ? c->errstr : "out of memory");
        goto end;
    }
    redisSetTimeout(c, tv);
    if (rc->password && (reply = command(c, err, sizeof(err), "AUTH %s", rc->password)) == NULL) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis", "set redis.password to Redis's requirepass (or ACL user password)",
                        "%s: AUTH refused (%s)", where, err);
        goto end;
    }
    freeReplyObject(reply);
    reply = NULL;
    if (rc->db > 0 && (reply = command(c, err, sizeof(err), "SELECT %d", rc->db)) == NULL) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis", "fix redis.db", "%s: SELECT %d refused (%s)", where, rc->db, err);
        goto end;
    }
    freeReplyObject(reply);
    reply = NULL;
    for (int i = 0; i < pings; i++) {
        t0 = mono_ms();
        if (!(reply = command(c, err, sizeof(err), "PING"))) {
            zr_selftest_add(r, ZR_SELFTEST_FAIL, "redis",
                            err[0] == 'N' ? "set redis.password: this Redis requires AUTH" : "check Redis's log",
                            "%s: PING failed (%s)", where, err);
            goto end;
        }
        lat[i] = mono_ms() - t0;
        freeReplyObject(reply);
        reply = NULL;
    }
    median = zr_selftest_median(lat, (size_t)pings);
    /* Every login makes a handful of round trips. */
    zr_selftest_add(r, median > 20.0 ? ZR_SELFTEST_WARN : ZR_SELFTEST_OK, "redis",
                    "put Redis close to the relay (same data centre); every login makes several round trips",
                    "%s reachable%s, latency median %.2f ms (%d PINGs)", where, rc->password ? ", AUTH ok" : "",
                    median, pings);
    if (!rc->password && cfg->environment == ZR_ENV_PRODUCTION)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "redis", "set requirepass in Redis and redis.password here",
                        "%s accepts commands without a password", where);
    if (rc->sentinel_count || rc->wait_replicas)
        replication_check(c, rc, where, r);
    clock_check(c, rc, r);
    store_round_trip(cfg, r);
    sector_records(cfg, r);

    /* Managed Redis often disables CONFIG: then the settings are unknown. */
    reply = command(c, err, sizeof(err), "CONFIG GET maxmemory-policy");
    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 && reply->element[1]->str)
        policy = reply->element[1]->str;
    st = zr_selftest_redis_policy_judge(policy, finding, sizeof(finding));
    zr_selftest_add(r, st, "redis-eviction",
                    st == ZR_SELFTEST_FAIL || policy
                        ? "set `maxmemory-policy noeviction` (redis.conf, or CONFIG SET and CONFIG REWRITE)"
                        : "make sure the provider's eviction policy is noeviction (or volatile-*)",
                    "%s", finding);
    if (policy) {
        reply2 = command(c, err, sizeof(err), "CONFIG GET maxmemory");
        if (reply2 && reply2->type == REDIS_REPLY_ARRAY && reply2->elements == 2 && reply2->element[1]->str) {
            double need = zr_selftest_redis_need_per_login_rate(cfg->oidc.logout_session_lifetime_s,
                                                                cfg->oidc.access_token_lifetime_s,
                                                                cfg->oidc.code_lifetime_s, cfg->tvs.clock_skew_s,
                                                                cfg->oidc.session_lifetime_s);
            st = zr_selftest_redis_maxmemory_judge(strtoll(reply2->element[1]->str, NULL, 10), need,
                                                   opts->peak_logins_per_s, finding, sizeof(finding), advice,
                                                   sizeof(advice));
            zr_selftest_add(r, st, "redis-maxmemory", advice, "%s", finding);
        }
    }
    freeReplyObject(reply);
    reply = command(c, err, sizeof(err), "INFO persistence");
    st = zr_selftest_redis_persistence_judge(reply && reply->type == REDIS_REPLY_STRING ? reply->str : NULL, finding,
                                             sizeof(finding));
    zr_selftest_add(r, st, "redis-persistence", "look at Redis's log: its last save failed", "%s", finding);
end:
    freeReplyObject(reply);
    freeReplyObject(reply2);
    if (c)
        redisFree(c);
    free(lat);
}
