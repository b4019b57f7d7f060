/* Redeeming a single-use item with retries: the mark and the atomic commit
 * behind the token endpoint (issue 13 §5; why, in src/oidc/token.c).
 *
 * A store call that times out may still run: Redis, frozen or busy, executes
 * what was already in its socket when it resumes, after the relay answered
 * 503. So the commit carries a deadline and Redis itself refuses it once its
 * own clock (TIME, in the script) has passed it:
 *   deadline = the relay's wall clock when the mark is sent + timeout_ms / 2
 * - Safety needs only Redis's clock, never the relay's: once a script has
 *   seen TIME > deadline, every later script does too, so an attempt whose
 *   mark was taken over (which needs TIME > its deadline) can never commit.
 *   (A Redis clock stepped back by more than the margin breaks this; NTP
 *   slews, it does not step, once in sync.)
 * - Liveness needs the clocks within timeout_ms / 2 of each other (with
 *   delta = Redis's clock - the relay's): a prompt commit needs
 *   delta < timeout_ms / 2 - latency; the relay answers 503 only after a full
 *   timeout_ms since it sent the mark (a timeout takes that long, a quicker
 *   failure is held back until then), so a retry after any 503 finds the
 *   deadline passed when delta > -timeout_ms / 2. A commit that runs in time
 *   is answered while the relay still waits (it waits timeout_ms from the
 *   commit's own start), unless the connection breaks right after it ran:
 *   then the client got a 503 for a code that is spent, and its retry is a
 *   replay (invalid_grant, the stored token revoked): never two answers.
 * The mark's value is "<attempt id> <deadline>": plain, because the script
 * compares it, and it says nothing about the item (a random id, a time). The
 * values the commit stores are sealed here, like zr_store_put's.
 * One script per step, sent with EVAL (Redis caches it by its hash): one
 * round trip, also after a Redis restart. Redis runs a script atomically and
 * refuses one over maxmemory before its first write, so a commit writes
 * everything or nothing. */
#include "zr/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#define REDEEM_MAX_VALUES 4

/* Redis's clock in ms, in a script. */
#define REDEEM_LUA_NOW \
    "local t = redis.call('TIME')\n" \
    "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"

/* KEYS: mark, closed. ARGV: attempt id, deadline (ms), ttl (s). */
static const char redeem_begin_lua[] =
    "if redis.call('EXISTS', KEYS[2]) == 1 then return 'closed' end\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "if cur then\n"
    "  local dl = string.match(cur, '^%S+ (%d+)$')\n"
    REDEEM_LUA_NOW
    "  if not dl or now <= tonumber(dl) then return 'busy' end\n"
    "end\n"
    "redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3])\n"
    "return 'ok'\n";

/* KEYS: mark, closed, item, then one per value. ARGV: attempt id, deadline
 * (ms), ttl of the closed claim (s), then per value: sealed value, ttl (s). */
static const char redeem_commit_lua[] =
    REDEEM_LUA_NOW
    "if now > tonumber(ARGV[2]) then return 'late' end\n"
    "if redis.call('EXISTS', KEYS[2]) == 1 then return 'closed' end\n"
    "if redis.call('GET', KEYS[1]) ~= ARGV[1] .. ' ' .. ARGV[2] then return 'lost' end\n"
    "if redis.call('EXISTS', KEYS[3]) == 0 then return 'gone' end\n"
    "for i = 4, #KEYS do\n"
    "  redis.call('SET', KEYS[i], ARGV[2 * i - 4], 'EX', ARGV[2 * i - 3])\n"
    "end\n"
    "redis.call('SET', KEYS[2], '1', 'EX', ARGV[3])\n"
    "redis.call('DEL', KEYS[3])\n"
    "return 'ok'\n";

static long long redeem_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts); /* not zr_time_now: Redis's TIME is not shifted for tests */
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A failure of the mark or the commit is reported no sooner than a timeout
 * would be: timeout_ms after the mark was sent. A quick one (a dropped
 * connection) may come before the deadline, and a retry right after it
 * would find the attempt still pending. Rare: the code was read a moment
 * before, so Redis was answering. */
static void redeem_hold_failure(const zr_store_t *s, const zr_store_attempt_t *attempt)
{
    long long left = attempt->sent_ms + s->pool.timeout_ms - redeem_wall_ms();
    if (left > s->pool.timeout_ms)
        left = s->pool.timeout_ms; /* the wall clock stepped back */
    if (left > 0) {
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* Runs a script; *word is its one-word answer ("ok", "busy", ...). */
static zr_store_status_t redeem_eval(zr_store_t *s, const char *what, const char *mark_key, int argc,
                                     const char **argv, const size_t *argvlen, char *word, size_t wordlen)
{
    zr_store_status_t st;
    redisReply *r = NULL;
    if ((st = zr_store_pool_command(&s->pool, argc, argv, argvlen, &r)) != ZR_STORE_OK)
        goto end;
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len >= wordlen) {
        zr_store_log_error_reply(s, what, mark_key, r);
        st = ZR_STORE_UNAVAILABLE;
        goto end;
    }
    memcpy(word, r->str, r->len);
    word[r->len] = '\0';
end:
    if (r)
        freeReplyObject(r);
    return st;
}

static int redeem_args_ok(const zr_store_t *s, const zr_store_redeem_t *r)
{
    return s && r && r->item_ns && r->mark_ns && r->closed_ns && r->name && r->ttl_s > 0;
}

zr_store_status_t zr_store_redeem_begin(zr_store_t *s, const zr_store_redeem_t *r, zr_store_attempt_t *attempt)
{
    zr_store_status_t st = ZR_STORE_INVALID;
    char *mark = NULL, *closed = NULL, *id = NULL, deadline[24], ttl[16], word[16];
    int budget;
    if (attempt)
        memset(attempt, 0, sizeof(*attempt));
    if (!redeem_args_ok(s, r) || !attempt) {
        zr_log_error("store", "redeem_begin refused: bad arguments (programming error)");
        goto end;
    }
    if (!(mark = zr_store_key(s, r->mark_ns, r->name)) || !(closed = zr_store_key(s, r->closed_ns, r->name)))
        goto end;
    if (!(id = zr_random_token(16)) || strlen(id) >= sizeof(attempt->id))
        goto end;
    memcpy(attempt->id, id, strlen(id) + 1);
    /* at most half: the relay must still be waiting when a commit runs in
     * time, and a retry after its 503 must find the deadline passed */
    budget = s->pool.timeout_ms / 2;
    if (r->budget_ms > 0 && r->budget_ms < budget)
        budget = r->budget_ms;
    attempt->sent_ms = redeem_wall_ms();
    attempt->deadline_ms = attempt->sent_ms + budget;
    snprintf(deadline, sizeof(deadline), "%lld", attempt->deadline_ms);
    snprintf(ttl, sizeof(ttl), "%d", r->ttl_s);
    {
        const char *argv[] = {"EVAL", redeem_begin_lua, "2", mark, closed, attempt->id, deadline, ttl};
        size_t argvlen[] = {4, strlen(redeem_begin_lua), 1, strlen(mark), strlen(closed), strlen(attempt->id),
                            strlen(deadline), strlen(ttl)};
        if ((st = redeem_eval(s, "redeem begin", mark, 8, argv, argvlen, word, sizeof(word))) != ZR_STORE_OK) {
            redeem_hold_failure(s, attempt);
            goto end;
        }
    }
    if (strcmp(word, "ok") == 0)
        st = ZR_STORE_OK;
    else if (strcmp(word, "busy") == 0)
        st = ZR_STORE_BUSY;
    else if (strcmp(word, "closed") == 0)
        st = ZR_STORE_EXISTS;
    else
        st = ZR_STORE_UNAVAILABLE;
end:
    free(id);
    free(mark);
    free(closed);
    return st;
}

zr_store_status_t zr_store_redeem_commit(zr_store_t *s, const zr_store_redeem_t *r, const zr_store_attempt_t *attempt,
                                         zr_store_write_t *values, size_t n)
{
    enum { FIXED_KEYS = 3, MAX_ARGS = 3 + FIXED_KEYS + 3 + 3 * REDEEM_MAX_VALUES };
    zr_store_status_t st = ZR_STORE_INVALID;
    char *keys[FIXED_KEYS + REDEEM_MAX_VALUES] = {0};
    uint8_t *sealed[REDEEM_MAX_VALUES] = {0};
    size_t sealed_len[REDEEM_MAX_VALUES] = {0};
    char numkeys[8], deadline[24], ttl[16], value_ttl[REDEEM_MAX_VALUES][16], word[16];
    const char *argv[MAX_ARGS];
    size_t argvlen[MAX_ARGS];
    int argc = 0;

    if (!redeem_args_ok(s, r) || !attempt || !attempt->id[0] || !values || n == 0 || n > REDEEM_MAX_VALUES) {
        zr_log_error("store", "redeem_commit refused: bad arguments (programming error)");
        goto end;
    }
    if (!(keys[0] = zr_store_key(s, r->mark_ns, r->name)) || !(keys[1] = zr_store_key(s, r->closed_ns, r->name)) ||
        !(keys[2] = zr_store_key(s, r->item_ns, r->name)))
        goto end;
    for (size_t i = 0; i < n; i++) {
        char *key = keys[FIXED_KEYS + i] = zr_store_key(s, values[i].ns, values[i].name);
        if (!key || !values[i].value || values[i].ttl_s <= 0 ||
            zr_crypto_seal(s->value_key, (const uint8_t *)key, strlen(key), values[i].value, values[i].len,
                           &sealed[i], &sealed_len[i]) != 0) {
            zr_log_error("store", "redeem_commit refused: each value needs a name, a value and a ttl");
            goto end;
        }
        snprintf(value_ttl[i], sizeof(value_ttl[i]), "%d", values[i].ttl_s);
    }
    snprintf(numkeys, sizeof(numkeys), "%zu", FIXED_KEYS + n);
    snprintf(deadline, sizeof(deadline), "%lld", attempt->deadline_ms);
    snprintf(ttl, sizeof(ttl), "%d", r->ttl_s);
#define ARG(p, l) (argv[argc] = (const char *)(p), argvlen[argc] = (l), argc++)
    ARG("EVAL", 4);
    ARG(redeem_commit_lua, strlen(redeem_commit_lua));
    ARG(numkeys, strlen(numkeys));
    for (size_t i = 0; i < FIXED_KEYS + n; i++)
        ARG(keys[i], strlen(keys[i]));
    ARG(attempt->id, strlen(attempt->id));
    ARG(deadline, strlen(deadline));
    ARG(ttl, strlen(ttl));
    for (size_t i = 0; i < n; i++) {
        ARG(sealed[i], sealed_len[i]);
        ARG(value_ttl[i], strlen(value_ttl[i]));
    }
#undef ARG
    if ((st = redeem_eval(s, "redeem commit", keys[0], argc, argv, argvlen, word, sizeof(word))) != ZR_STORE_OK) {
        redeem_hold_failure(s, attempt);
        goto end;
    }
    if (strcmp(word, "ok") == 0)
        st = ZR_STORE_OK;
    else if (strcmp(word, "late") == 0)
        st = ZR_STORE_LATE;
    else if (strcmp(word, "closed") == 0)
        st = ZR_STORE_EXISTS;
    else if (strcmp(word, "lost") == 0 || strcmp(word, "gone") == 0)
        st = ZR_STORE_NOT_FOUND;
    else
        st = ZR_STORE_UNAVAILABLE;
end:
    if (values && n <= REDEEM_MAX_VALUES)
        for (size_t i = 0; i < n; i++)
            values[i].status = st;
    for (size_t i = 0; i < FIXED_KEYS + REDEEM_MAX_VALUES; i++)
        free(keys[i]);
    for (size_t i = 0; i < REDEEM_MAX_VALUES; i++)
        free(sealed[i]);
    return st;
}
