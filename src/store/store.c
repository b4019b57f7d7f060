/* The session store: relay state in Redis under hashed keys, sealed values.
 *
 * Two sub-keys are derived from the configured secret, so one secret never
 * serves two purposes: one names keys, one seals values.
 *   Redis key = prefix + ns + ":" + hex(HMAC-SHA256(name_key, ns || 0x00 || name))
 *   value     = AES-256-GCM(value_key, aad = the whole Redis key, plaintext)
 * The namespace stays readable for operators ("zr:code:3fa9..."); the name
 * (a code, token or SAML ID) never reaches Redis, nor does any plaintext, and
 * a value copied to another key no longer opens. */
#include "zr/store.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

/* Values are small JSON documents; anything this large is a bug upstream. */
#define ZR_STORE_MAX_VALUE (1024 * 1024)
#define ZR_STORE_MAX_NS 64

/* Sub-key labels: changing one re-keys everything under it. */
static const char store_label_names[] = "zorgrelay store key names v1";
static const char store_label_values[] = "zorgrelay store values v1";

zr_store_t *zr_store_open(const zr_redis_config_t *cfg, char *err, size_t errlen)
{
    static const uint8_t zero[32];
    zr_store_t *s = NULL, *ret = NULL;
    int pool_ready = 0;
    if (!cfg) {
        snprintf(err, errlen, "no redis configuration");
        goto end;
    }
    /* An all-zero key is what a forgotten encryption_key_file looks like; a
     * publicly known key would make the sealing worthless. */
    if (CRYPTO_memcmp(cfg->encryption_key, zero, sizeof(zero)) == 0) {
        snprintf(err, errlen, "redis encryption key is not set (encryption_key_file)");
        goto end;
    }
    s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    s->prefix = zr_strdup(cfg->prefix ? cfg->prefix : "zr:");
    if (!s->prefix) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    if (zr_crypto_hmac_sha256(cfg->encryption_key, sizeof(cfg->encryption_key),
                              (const uint8_t *)store_label_names, strlen(store_label_names),
                              s->name_key) != 0 ||
        zr_crypto_hmac_sha256(cfg->encryption_key, sizeof(cfg->encryption_key),
                              (const uint8_t *)store_label_values, strlen(store_label_values),
                              s->value_key) != 0) {
        snprintf(err, errlen, "cannot derive store keys");
        goto end;
    }
    if (zr_store_pool_init(&s->pool, cfg, err, errlen) != 0)
        goto end;
    pool_ready = 1;
    s->wait_replicas = cfg->wait_replicas > 0 ? cfg->wait_replicas : 0;
    s->wait_timeout_ms = cfg->wait_timeout_ms > 0 ? cfg->wait_timeout_ms : 100;
    atomic_init(&s->replicas_online, 0);
    if (s->wait_replicas && s->wait_timeout_ms >= s->pool.timeout_ms) {
        snprintf(err, errlen, "redis wait_timeout_ms must be below timeout_ms");
        goto end;
    }
    /* No connection yet: the pool connects on first use, so the relay starts
     * (and serves a 503 for logins) while Redis is still coming up. */
    ret = s;
    s = NULL;
end:
    if (s) {
        if (pool_ready)
            zr_store_pool_cleanup(&s->pool);
        OPENSSL_cleanse(s->name_key, sizeof(s->name_key));
        OPENSSL_cleanse(s->value_key, sizeof(s->value_key));
        free(s->prefix);
        free(s);
    }
    return ret;
}

void zr_store_close(zr_store_t *s)
{
    if (!s)
        return;
    zr_store_pool_cleanup(&s->pool);
    OPENSSL_cleanse(s->name_key, sizeof(s->name_key));
    OPENSSL_cleanse(s->value_key, sizeof(s->value_key));
    free(s->prefix);
    free(s);
}

const char *zr_store_status_name(zr_store_status_t st)
{
    switch (st) {
    case ZR_STORE_OK: return "ok";
    case ZR_STORE_NOT_FOUND: return "not_found";
    case ZR_STORE_EXISTS: return "exists";
    case ZR_STORE_BUSY: return "busy";
    case ZR_STORE_LATE: return "late";
    case ZR_STORE_UNAVAILABLE: return "unavailable";
    case ZR_STORE_CORRUPT: return "corrupt";
    case ZR_STORE_INVALID: return "invalid";
    }
    return "unknown";
}

/* Namespaces are constants in our code and shown in Redis: keep them plain. */
static int store_ns_valid(const char *ns)
{
    size_t n = ns ? strlen(ns) : 0;
    if (n == 0 || n > ZR_STORE_MAX_NS)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = ns[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

/* The 0x00 separator keeps (ns, name) pairs apart: ns cannot contain it. */
char *zr_store_key(const zr_store_t *s, const char *ns, const char *name)
{
    size_t ns_len, name_len;
    uint8_t *input = NULL, mac[32];
    char *hex = NULL, *key = NULL;
    zr_buf_t b;
    zr_buf_init(&b);
    if (!store_ns_valid(ns) || !name) {
        zr_log_error("store", "refused: invalid namespace or name (programming error)");
        goto end;
    }
    ns_len = strlen(ns);
    name_len = strlen(name);
    input = malloc(ns_len + 1 + name_len);
    if (!input)
        goto end;
    memcpy(input, ns, ns_len);
    input[ns_len] = 0x00;
    memcpy(input + ns_len + 1, name, name_len);
    if (zr_crypto_hmac_sha256(s->name_key, sizeof(s->name_key), input, ns_len + 1 + name_len, mac) != 0)
        goto end;
    hex = zr_hex_encode(mac, sizeof(mac));
    if (!hex || zr_buf_printf(&b, "%s%s:%s", s->prefix, ns, hex) != 0)
        goto end;
    key = zr_buf_steal(&b);
end:
    if (input) {
        OPENSSL_cleanse(input, ns_len + 1 + name_len);
        free(input);
    }
    OPENSSL_cleanse(mac, sizeof(mac));
    free(hex);
    zr_buf_free(&b);
    return key;
}

/* A short, non-reversible reference to a Redis key for log lines: the
 * namespace and the first hex digits of the (already hashed) name. */
static void store_key_ref(const zr_store_t *s, const char *key, char *out, size_t outlen)
{
    const char *k = key + strlen(s->prefix);
    const char *colon = strchr(k, ':');
    int ns_len = colon ? (int)(colon - k) : 0;
    snprintf(out, outlen, "%.*s:%.8s", ns_len, k, colon ? colon + 1 : "");
}

void zr_store_log_error_reply(const zr_store_t *s, const char *op, const char *key,
                                  const redisReply *r)
{
    char ref[96], code[32];
    store_key_ref(s, key, ref, sizeof(ref));
    zr_store_pool_error_code(r, code, sizeof(code));
    zr_log_error("store", "%s key=%s: redis answered %s", op, ref, code);
}

zr_store_status_t zr_store_put(zr_store_t *s, const char *ns, const char *name,
                               const void *value, size_t len, int ttl_s)
{
    zr_store_write_t op = {ns, name, value ? value : (const void *)"", len, ttl_s, ZR_STORE_INVALID};
    if (!value && len) {
        zr_log_error("store", "put refused: no value (programming error)");
        return ZR_STORE_INVALID;
    }
    return zr_store_write_all(s, &op, 1);
}

/* GET or GETDEL, then open the sealed value. */
static zr_store_status_t store_fetch(zr_store_t *s, const char *command, const char *ns,
                                     const char *name, char **value, size_t *len)
{
    zr_store_status_t st = ZR_STORE_INVALID;
    char *key = NULL, ref[96];
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    redisReply *r = NULL;
    if (value)
        *value = NULL;
    if (len)
        *len = 0;
    if (!s || !value) {
        zr_log_error("store", "%s refused: no output pointer (programming error)", command);
        goto end;
    }
    if (!(key = zr_store_key(s, ns, name)))
        goto end;
    {
        const char *argv[2] = {command, key};
        size_t argvlen[2] = {strlen(command), strlen(key)};
        if ((st = zr_store_pool_command(&s->pool, 2, argv, argvlen, &r)) != ZR_STORE_OK)
            goto end;
    }
    if (r->type == REDIS_REPLY_NIL) {
        st = ZR_STORE_NOT_FOUND;
        goto end;
    }
    if (r->type != REDIS_REPLY_STRING) {
        zr_store_log_error_reply(s, command, key, r);
        st = ZR_STORE_UNAVAILABLE;
        goto end;
    }
    if (zr_crypto_open(s->value_key, (const uint8_t *)key, strlen(key), (const uint8_t *)r->str,
                       r->len, &plain, &plain_len) != 0) {
        /* Tampered with, moved from another key, or sealed under another
         * encryption key. The content is not logged, only where it was. */
        store_key_ref(s, key, ref, sizeof(ref));
        zr_log_error("store", "%s key=%s: value failed authentication (%zu bytes); treated as absent",
                     command, ref, (size_t)r->len);
        st = ZR_STORE_CORRUPT;
        goto end;
    }
    *value = (char *)plain; /* zr_crypto_open NUL-terminates */
    plain = NULL;
    if (len)
        *len = plain_len;
    st = ZR_STORE_OK;
end:
    if (r)
        freeReplyObject(r);
    free(plain);
    free(key);
    return st;
}

zr_store_status_t zr_store_get(zr_store_t *s, const char *ns, const char *name,
                               char **value, size_t *len)
{
    return store_fetch(s, "GET", ns, name, value, len);
}

/* GETDEL is one atomic command (Redis >= 6.2): of any number of relay
 * processes taking the same code at once, exactly one gets it. */
zr_store_status_t zr_store_take(zr_store_t *s, const char *ns, const char *name,
                                char **value, size_t *len)
{
    return store_fetch(s, "GETDEL", ns, name, value, len);
}

zr_store_status_t zr_store_claim(zr_store_t *s, const char *ns, const char *name, int ttl_s)
{
    zr_store_write_t op = {ns, name, NULL, 0, ttl_s, ZR_STORE_INVALID};
    return zr_store_write_all(s, &op, 1);
}

#define ZR_STORE_MAX_BATCH 8

/* What one SET reply means: OK, or EXISTS for a claim that was taken before. */
static zr_store_status_t store_set_status(const zr_store_t *s, const char *op, const char *key, int claim,
                                          const redisReply *r)
{
    if (claim && r->type == REDIS_REPLY_NIL)
        return ZR_STORE_EXISTS;
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        zr_store_log_error_reply(s, op, key, r);
        return ZR_STORE_UNAVAILABLE;
    }
    return ZR_STORE_OK;
}

/* The number of replicas a ROLE reply of a master lists (Redis lists
 * only those online), or -1 when it is not a master's answer. */
static int role_replicas(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "master") != 0 || r->element[2]->type != REDIS_REPLY_ARRAY)
        return -1;
    return r->element[2]->elements > 1000 ? 1000 : (int)r->element[2]->elements;
}

zr_store_status_t zr_store_pipeline_replicated(zr_store_t *s, size_t n, const zr_store_cmd_t *cmds,
                                               redisReply **replies, int *unreplicated)
{
    zr_store_cmd_t all[ZR_STORE_MAX_BATCH + 2];
    redisReply *got[ZR_STORE_MAX_BATCH + 2] = {0};
    char count[16], timeout[16];
    const char *wait_argv[3] = {"WAIT", count, timeout}, *role_argv[1] = {"ROLE"};
    size_t wait_len[3] = {4, 0, 0}, role_len[1] = {4};
    zr_store_status_t st;
    long long acked;
    int want, online;
    *unreplicated = 0;
    if (s->wait_replicas == 0)
        return zr_store_pool_pipeline(&s->pool, n, cmds, replies);
    if (n == 0 || n > ZR_STORE_MAX_BATCH) {
        zr_log_error("store", "replicated pipeline refused: 1 to %d commands (programming error)", ZR_STORE_MAX_BATCH);
        return ZR_STORE_INVALID;
    }
    /* WAIT counts the replicas that acknowledged every write this
     * connection made, so it goes in the same round trip, on the same
     * connection, after the writes. It asks for every replica the master
     * had online at the last round trip (at least wait_replicas): a
     * failover promotes one of them, and WAIT for only some would let it
     * promote one without the write (the sentinels choose by the offsets
     * they last saw, which may be older than the write). ROLE, before it,
     * tells how many are online now, for the next round trip. */
    online = atomic_load(&s->replicas_online);
    want = online > s->wait_replicas ? online : s->wait_replicas;
    snprintf(count, sizeof(count), "%d", want);
    snprintf(timeout, sizeof(timeout), "%d", s->wait_timeout_ms);
    wait_len[1] = strlen(count);
    wait_len[2] = strlen(timeout);
    memcpy(all, cmds, n * sizeof(*cmds));
    all[n] = (zr_store_cmd_t){1, role_argv, role_len};
    all[n + 1] = (zr_store_cmd_t){3, wait_argv, wait_len};
    if ((st = zr_store_pool_pipeline(&s->pool, n + 2, all, got)) != ZR_STORE_OK)
        return st;
    memcpy(replies, got, n * sizeof(*replies));
    if ((online = role_replicas(got[n])) >= 0)
        atomic_store(&s->replicas_online, online);
    acked = got[n + 1]->type == REDIS_REPLY_INTEGER ? got[n + 1]->integer : -1;
    freeReplyObject(got[n]);
    freeReplyObject(got[n + 1]);
    if (acked < s->wait_replicas) {
        /* Fail closed: what is not on a replica yet must not be handed out,
         * a failover now would lose it (docs/operations.md). */
        zr_log_warn("store", "WAIT: %lld of %d replica(s) acknowledged within %d ms: refused as unavailable",
                    acked < 0 ? 0 : acked, want, s->wait_timeout_ms);
        *unreplicated = 1;
    }
    return ZR_STORE_OK;
}

static zr_store_status_t store_write(zr_store_t *s, zr_store_write_t *ops, size_t n, int replicated);

zr_store_status_t zr_store_write_all(zr_store_t *s, zr_store_write_t *ops, size_t n)
{
    return store_write(s, ops, n, 0);
}

zr_store_status_t zr_store_write_all_replicated(zr_store_t *s, zr_store_write_t *ops, size_t n)
{
    return store_write(s, ops, n, 1);
}

int zr_store_wait_replicas(const zr_store_t *s)
{
    return s ? s->wait_replicas : 0;
}

static zr_store_status_t store_write(zr_store_t *s, zr_store_write_t *ops, size_t n, int replicated)
{
    int unreplicated = 0;
    zr_store_status_t st = ZR_STORE_INVALID;
    char *keys[ZR_STORE_MAX_BATCH] = {0};
    uint8_t *sealed[ZR_STORE_MAX_BATCH] = {0};
    char ttl[ZR_STORE_MAX_BATCH][24];
    const char *argv[ZR_STORE_MAX_BATCH][6];
    size_t argvlen[ZR_STORE_MAX_BATCH][6];
    zr_store_cmd_t cmds[ZR_STORE_MAX_BATCH];
    redisReply *replies[ZR_STORE_MAX_BATCH] = {0};

    if (!s || !ops || n == 0 || n > ZR_STORE_MAX_BATCH) {
        zr_log_error("store", "write_all refused: 1 to %d writes (programming error)", ZR_STORE_MAX_BATCH);
        goto end;
    }
    for (size_t i = 0; i < n; i++)
        ops[i].status = ZR_STORE_INVALID;
    for (size_t i = 0; i < n; i++) {
        zr_store_write_t *op = &ops[i];
        size_t sealed_len = 0;
        int keep = op->ttl_s == ZR_STORE_TTL_NONE && op->value;
        if ((op->ttl_s <= 0 && !keep) || op->len > ZR_STORE_MAX_VALUE ||
            !(keys[i] = zr_store_key(s, op->ns, op->name))) {
            zr_log_error("store", "write_all refused: ttl must be > 0 (or none for a value) and a value at most "
                         "%d bytes", ZR_STORE_MAX_VALUE);
            goto end;
        }
        snprintf(ttl[i], sizeof(ttl[i]), "%d", op->ttl_s);
        argv[i][0] = "SET";
        argv[i][1] = keys[i];
        argvlen[i][0] = 3;
        argvlen[i][1] = strlen(keys[i]);
        if (op->value) {
            if (zr_crypto_seal(s->value_key, (const uint8_t *)keys[i], strlen(keys[i]), op->value, op->len,
                               &sealed[i], &sealed_len) != 0) {
                zr_log_error("store", "write_all: cannot seal value");
                goto end;
            }
            argv[i][2] = (const char *)sealed[i];
            argvlen[i][2] = sealed_len;
            argv[i][3] = "EX";
            argvlen[i][3] = 2;
            argv[i][4] = ttl[i];
            argvlen[i][4] = strlen(ttl[i]);
            cmds[i].argc = keep ? 3 : 5;
        } else {
            /* As zr_store_claim: a constant marker, nothing about the item. */
            argv[i][2] = "1";
            argvlen[i][2] = 1;
            argv[i][3] = "NX";
            argvlen[i][3] = 2;
            argv[i][4] = "EX";
            argvlen[i][4] = 2;
            argv[i][5] = ttl[i];
            argvlen[i][5] = strlen(ttl[i]);
            cmds[i].argc = 6;
        }
        cmds[i].argv = argv[i];
        cmds[i].argvlen = argvlen[i];
    }
    st = replicated ? zr_store_pipeline_replicated(s, n, cmds, replies, &unreplicated)
                    : zr_store_pool_pipeline(&s->pool, n, cmds, replies);
    if (st != ZR_STORE_OK) {
        for (size_t i = 0; i < n; i++)
            ops[i].status = st;
        goto end;
    }
    {
        for (size_t i = 0; i < n; i++) {
            ops[i].status = store_set_status(s, ops[i].value ? "SET" : "SET NX", keys[i], !ops[i].value, replies[i]);
            /* A write that took place but is on too few replicas counts
             * as not done; a replayed claim stays EXISTS. */
            if (ops[i].status == ZR_STORE_OK && unreplicated)
                ops[i].status = ZR_STORE_UNAVAILABLE;
            if (st == ZR_STORE_OK && ops[i].status != ZR_STORE_OK)
                st = ops[i].status;
        }
    }
end:
    for (size_t i = 0; i < ZR_STORE_MAX_BATCH; i++) {
        if (replies[i])
            freeReplyObject(replies[i]);
        free(sealed[i]);
        free(keys[i]);
    }
    return st;
}

zr_store_status_t zr_store_del(zr_store_t *s, const char *ns, const char *name)
{
    zr_store_status_t st = ZR_STORE_INVALID;
    char *key = NULL;
    redisReply *r = NULL;
    if (!s || !(key = zr_store_key(s, ns, name)))
        goto end;
    {
        const char *argv[2] = {"DEL", key};
        size_t argvlen[2] = {3, strlen(key)};
        if ((st = zr_store_pool_command(&s->pool, 2, argv, argvlen, &r)) != ZR_STORE_OK)
            goto end;
    }
    if (r->type != REDIS_REPLY_INTEGER) {
        zr_store_log_error_reply(s, "DEL", key, r);
        st = ZR_STORE_UNAVAILABLE;
        goto end;
    }
    st = ZR_STORE_OK; /* also when nothing was there: the item is gone either way */
end:
    if (r)
        freeReplyObject(r);
    free(key);
    return st;
}

zr_store_status_t zr_store_ping(zr_store_t *s)
{
    zr_store_status_t st = ZR_STORE_INVALID;
    redisReply *r = NULL;
    const char *argv[1] = {"PING"};
    size_t argvlen[1] = {4};
    if (!s)
        goto end;
    if ((st = zr_store_pool_command(&s->pool, 1, argv, argvlen, &r)) != ZR_STORE_OK)
        goto end;
    st = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0 ? ZR_STORE_OK : ZR_STORE_UNAVAILABLE;
end:
    if (r)
        freeReplyObject(r);
    return st;
}

zr_store_status_t zr_store_probe_write(zr_store_t *s, char *why, size_t whylen)
{
    static const char marker[] = "1";
    zr_store_status_t st = ZR_STORE_INVALID;
    char *key = NULL, ttl[16], code[32];
    uint8_t *sealed = NULL;
    size_t sealed_len = 0;
    redisReply *r = NULL;
    snprintf(why, whylen, "probe not made");
    if (!s || !(key = zr_store_key(s, ZR_STORE_PROBE_NS, "probe")) ||
        zr_crypto_seal(s->value_key, (const uint8_t *)key, strlen(key), (const uint8_t *)marker,
                       sizeof(marker) - 1, &sealed, &sealed_len) != 0)
        goto end;
    snprintf(ttl, sizeof(ttl), "%d", ZR_STORE_PROBE_TTL_S);
    {
        const char *argv[5] = {"SET", key, (const char *)sealed, "EX", ttl};
        size_t argvlen[5] = {3, strlen(key), sealed_len, 2, strlen(ttl)};
        if ((st = zr_store_pool_command(&s->pool, 5, argv, argvlen, &r)) != ZR_STORE_OK) {
            /* The pool drops a node that says it is no master (and looks
             * for the master again): say so rather than "no answer". */
            const char *refused = __atomic_load_n(&s->pool.refused_code, __ATOMIC_ACQUIRE);
            if (refused)
                snprintf(why, whylen, "redis refuses writes: %s", refused);
            else
                snprintf(why, whylen, "redis does not answer");
            goto end;
        }
    }
    if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "OK") != 0) {
        /* OOM, READONLY, MISCONF, NOAUTH...: the first word only. Nor
         * the address: this is shown on a public endpoint. */
        zr_store_pool_error_code(r, code, sizeof(code));
        snprintf(why, whylen, "redis refuses writes: %s", code);
        st = ZR_STORE_UNAVAILABLE;
        goto end;
    }
    snprintf(why, whylen, "ok");
    st = ZR_STORE_OK;
end:
    if (r)
        freeReplyObject(r);
    free(sealed);
    free(key);
    return st;
}

void zr_store_target(zr_store_t *s, char *out, size_t outlen)
{
    if (!s) {
        snprintf(out, outlen, "-");
        return;
    }
    pthread_mutex_lock(&s->pool.lock);
    snprintf(out, outlen, "%s", s->pool.target);
    pthread_mutex_unlock(&s->pool.lock);
}
