/* The token endpoint: authorization_code grant only (RFC 6749 §4.1.3, OIDC
 * Core §3.1.3.2, RFC 7636 §4.6).
 *
 * Redeeming a code: once, and again after a 503 (issue 13 §5).
 * A store call that times out is answered 503, but Redis, frozen or busy,
 * still runs what was in its socket when it resumes. Before, that took the
 * code (the used-mark, or the whole commit with a token nobody received),
 * and the portal's retry was treated as a replay: invalid_grant. Now:
 * 1. Read the code record (never taken here: a client the code was not
 *    issued to must not be able to burn it), check client, redirect_uri and
 *    PKCE. A wrong redirect_uri or verifier by the issuing client burns the
 *    code (the record is deleted: no second try, and no pending attempt can
 *    commit any more).
 * 2. Build the tokens, in memory only (the signature is the slow part; it
 *    stays out of the window between mark and commit). Then mark the code
 *    for this attempt (zr_store_redeem_begin): the mark names a
 *    random attempt id and a deadline, half of redis.timeout_ms away. Taken
 *    when free, or over from an attempt whose deadline passed (by Redis's
 *    clock) without a commit. Else: closed -> a replay (step 4); another
 *    attempt still within its deadline -> a concurrent redemption (step 4).
 * 3. Commit in one atomic script (zr_store_redeem_commit): if the
 *    mark still names this attempt, Redis's clock is not past the deadline,
 *    the code is not closed and its record still exists, store grant and
 *    access token, close the code and delete its record; else write nothing.
 *    Only an OK commit is answered 200; the token it stored is the one sent.
 * 4. A replay by the issuing client revokes (RFC 6749 §4.1.2): after a
 *    redemption it finds the record gone or the code closed and revokes the
 *    grant; during one (BUSY) it closes the code, so the pending commit
 *    writes nothing, and revokes a grant already stored. A replay by any other
 *    client is only refused (it must not log the rightful client's user out).
 * Why at most one token response per code: a 200 needs an OK commit; a
 * commit needs the mark and closes the code, so a second commit finds it
 * closed. A takeover needs Redis's clock past the old attempt's deadline, and
 * then that attempt's commit, whenever Redis runs it, is late: a no-op.
 * Why a retry after any 503 works (code not expired, not burnt, no replay in
 * between): every 503 comes at least redis.timeout_ms after its attempt's
 * mark was sent (a timeout takes that long; the store holds a quicker
 * failure back until then), so its deadline has passed and nothing of it can
 * commit any more; the retry finds the record, and the mark free or
 * takeable. A 503 before the mark (reading the code) leaves no mark. This
 * assumes the relay's and Redis's clocks agree within half of
 * redis.timeout_ms (NTP: milliseconds); the argument is in
 * src/store/redeem.c. The one exception: a commit that ran in time but whose
 * answer was lost (the connection broke just after): the code is spent, the
 * retry is a replay and revokes the token nobody got. Never two answers.
 * Round trips of a redemption: GET record, mark, commit: 3 (4 before: the
 * record's deletion was its own); private_key_jwt adds its jti claim. */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/audit.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifdef ZR_TESTING
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#endif

static const char *const token_params[] = {
    "grant_type", "code", "redirect_uri", "code_verifier", "client_id", "client_assertion", "client_assertion_type",
};

/* RFC 7636 §4.1: 43..128 unreserved characters. */
static int verifier_syntax_ok(const char *v)
{
    size_t n = strlen(v);
    if (n < 43 || n > 128)
        return 0;
    for (; *v; v++)
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-' ||
              *v == '.' || *v == '_' || *v == '~'))
            return 0;
    return 1;
}

static int pkce_ok(const char *verifier, const char *challenge)
{
    uint8_t h[32];
    char *computed = NULL;
    int ok = 0;
    if (zr_crypto_sha256((const uint8_t *)verifier, strlen(verifier), h) == 0 &&
        (computed = zr_base64url_encode(h, sizeof(h))))
        ok = zr_secure_equal(computed, strlen(computed), challenge, strlen(challenge));
    free(computed);
    return ok;
}

static int error_reply(const zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp, int status,
                       const char *error, const char *description, int basic)
{
    if (zr_oidc_json_error(resp, status, error, description) != 0)
        return -1;
    /* RFC 6749 §5.2: a 401 names the scheme the client can use. */
    if (status == 401)
        zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"zorgrelay\"");
    zr_oidc_cors(op, req, resp, NULL);
    return 0;
}

/* What a redemption issued: {client_id, jti} (the access token's store
 * record, not the token), kept under the code as long as the token lives. */
static char *grant_record(const zr_client_t *c, const char *jti)
{
    json_t *o = json_object();
    char *out = NULL;
    if (zr_oidc_json_set_str(o, "client_id", c->client_id) == 0 && zr_oidc_json_set_str(o, "jti", jti) == 0)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

/* Revokes what the code's redemption issued, when client is the one it was
 * issued to; a grant of another client is left alone. */
static void revoke_grant(zr_oidc_t *op, const char *code, const zr_client_t *client)
{
    char *grant = NULL, mask[16];
    size_t len = 0;
    json_t *g = NULL;
    json_error_t jerr;
    const char *owner, *jti;

    if (zr_store_get(op->store, ZR_OIDC_NS_CODE_GRANT, code, &grant, &len) != ZR_STORE_OK ||
        !(g = json_loads(grant, JSON_REJECT_DUPLICATES, &jerr)))
        goto end;
    owner = json_string_value(json_object_get(g, "client_id"));
    jti = json_string_value(json_object_get(g, "jti"));
    if (!jti) /* a grant of the version before JWT access tokens: keyed by the token */
        jti = json_string_value(json_object_get(g, "access_token"));
    if (!owner || !jti || strcmp(owner, client->client_id) != 0) {
        zr_log_warn("token", "client=%s replayed code=%s of another client: refused, nothing revoked",
                    client->client_id, zr_log_mask(code, mask));
        goto end;
    }
    zr_store_del(op->store, ZR_OIDC_NS_ACCESS_TOKEN, jti);
    zr_store_del(op->store, ZR_OIDC_NS_CODE_GRANT, code);
    zr_log_warn("token", "client=%s code=%s used twice: its access token is revoked", client->client_id,
                zr_log_mask(code, mask));
end:
    json_decref(g);
    zr_oidc_wipe_free(grant);
}

/* A second redemption of a code whose record still exists, by the client it
 * was issued to: closing the code makes a redemption that has not stored its
 * tokens yet withdraw them; one that has is revoked here. */
static void revoke_racing(zr_oidc_t *op, const char *code, const zr_client_t *client, int ttl_s)
{
    zr_store_claim(op->store, ZR_OIDC_NS_CODE_CLOSED, code, ttl_s);
    revoke_grant(op, code, client);
}

/* What an access token stands for; iat and exp are for introspection
 * (RFC 7662 §2.2), the store's TTL enforces exp as well. */
static char *access_token_record(const zr_oidc_authz_t *authz, json_t *subject, time_t iat, int lifetime,
                                 const char *x5t)
{
    json_t *o = json_object();
    char *out = NULL;
    /* RFC 8705 §3: the record keeps the binding too (userinfo, introspection) */
    if ((!x5t || zr_oidc_json_set(o, "cnf", json_pack("{s:s}", "x5t#S256", x5t)) == 0) &&
        zr_oidc_json_set_str(o, "client_id", authz->client_id) == 0 &&
        zr_oidc_json_set_str(o, "scope", authz->scope) == 0 &&
        zr_oidc_json_set_opt(o, "claims", authz->claims) == 0 && /* for UserInfo (OIDC Core §5.5) */
        zr_oidc_json_set(o, "iat", json_integer((json_int_t)iat)) == 0 &&
        zr_oidc_json_set(o, "exp", json_integer((json_int_t)iat + lifetime)) == 0 &&
        json_object_set(o, "subject", subject) == 0)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

#ifdef ZR_TESTING
void zr_oidc_set_redeem_hook(zr_oidc_t *op, void (*fn)(void *ctx, zr_oidc_redeem_stage_t stage), void *ctx)
{
    op->redeem_hook = fn;
    op->redeem_hook_ctx = ctx;
}

void zr_oidc_redeem_stop_hook(void *ctx, zr_oidc_redeem_stage_t stage)
{
    const char *path = ctx;
    char want[16], st[8];
    long pid = 0;
    int n;
    FILE *f = stage == ZR_OIDC_REDEEM_AFTER_COMMIT ? NULL : fopen(path, "r");
    if (!f)
        return;
    n = fscanf(f, "%15s %ld", want, &pid);
    fclose(f);
    if (n != 2 || pid <= 0 || strcmp(want, stage == ZR_OIDC_REDEEM_BEFORE_MARK ? "mark" : "commit") != 0 ||
        unlink(path) != 0) /* unlink: exactly one request fires it */
        return;
    kill((pid_t)pid, SIGSTOP);
    /* wait until it is stopped, not for a while: /proc/PID/stat's third field */
    for (int i = 0; i < 5000; i++) {
        char statpath[64];
        snprintf(statpath, sizeof(statpath), "/proc/%ld/stat", pid);
        if (!(f = fopen(statpath, "r")))
            return;
        n = fscanf(f, "%*d (%*[^)]) %7s", st);
        fclose(f);
        if (n == 1 && (st[0] == 'T' || st[0] == 't'))
            return;
        struct timespec ts = {0, 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}
#endif

int zr_oidc_handle_token(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    zr_oidc_client_auth_result_t auth;
    const zr_client_t *c;
    const char *ct, *grant, *code, *redirect_uri, *verifier;
    char *record = NULL, *subject_json = NULL, *authz_json = NULL, *access_token = NULL, *at_record = NULL;
    char *id_token = NULL, *grant_json = NULL, *jti = NULL, *x5t = NULL, mask[16], mask2[16];
    size_t len = 0;
    json_t *rec = NULL, *reply = NULL;
    json_error_t jerr;
    zr_oidc_authz_t authz = {0};
    zr_subject_t subject = {0};
    zr_store_status_t st;
    zr_store_attempt_t attempt;
    int rc = 0, at_lifetime = op->cfg->oidc.access_token_lifetime_s;
    /* the marks outlive the access token they may have to revoke */
    int mark_ttl = at_lifetime > op->cfg->oidc.code_lifetime_s ? at_lifetime : op->cfg->oidc.code_lifetime_s;
    zr_store_redeem_t item = {ZR_OIDC_NS_CODE, ZR_OIDC_NS_CODE_USED, ZR_OIDC_NS_CODE_CLOSED, NULL, mark_ttl, 0};

    if (req->method && strcmp(req->method, "OPTIONS") == 0)
        return zr_oidc_cors_preflight(op, req, resp, "POST, OPTIONS");
    ct = zr_kv_get(&req->headers, "content-type");
    if (!req->method || strcmp(req->method, "POST") != 0 || !ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "POST application/x-www-form-urlencoded only", 0);
        goto end;
    }
    for (size_t i = 0; i < sizeof(token_params) / sizeof(token_params[0]); i++)
        if (zr_kv_count(&req->form, token_params[i]) > 1) {
            rc = error_reply(op, req, resp, 400, "invalid_request", "a parameter is given more than once", 0);
            goto end;
        }

    zr_oidc_client_authenticate(op, req, &auth);
    if (!auth.client) {
        zr_log_warn("token", "client authentication refused: %s (%s)", auth.error,
                    auth.description ? auth.description : "-");
        rc = error_reply(op, req, resp, auth.status, auth.error, auth.description, auth.basic);
        goto end;
    }
    c = auth.client;

    grant = zr_kv_get(&req->form, "grant_type");
    code = zr_kv_get(&req->form, "code");
    item.name = code;
    redirect_uri = zr_kv_get(&req->form, "redirect_uri");
    verifier = zr_kv_get(&req->form, "code_verifier");
    if (!grant) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "grant_type missing", 0);
        goto end;
    }
    if (strcmp(grant, "authorization_code") != 0) {
        rc = error_reply(op, req, resp, 400, "unsupported_grant_type", "only authorization_code is supported", 0);
        goto end;
    }
    if (!code || !*code || !redirect_uri || !verifier) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "code, redirect_uri and code_verifier are required",
                         0);
        goto end;
    }
    if (!verifier_syntax_ok(verifier)) {
        rc = error_reply(op, req, resp, 400, "invalid_request", "code_verifier must be 43-128 unreserved characters",
                         0);
        goto end;
    }

    /* Read, not taken: a client the code was not issued to must not be
     * able to burn it; the mark and the commit below make it single use. */
    st = zr_store_get(op->store, ZR_OIDC_NS_CODE, code, &record, &len);
    if (st == ZR_STORE_NOT_FOUND) {
        revoke_grant(op, code, c); /* a replay after the redemption, or a code we never issued */
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid, expired or already used", 0);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("token", "store %s: code not redeemed", zr_store_status_name(st));
        rc = error_reply(op, req, resp, st == ZR_STORE_UNAVAILABLE ? 503 : 400,
                         st == ZR_STORE_UNAVAILABLE ? "temporarily_unavailable" : "invalid_grant", NULL, 0);
        goto end;
    }
    rec = json_loads(record, JSON_REJECT_DUPLICATES, &jerr);
    authz_json = rec ? json_dumps(json_object_get(rec, "authz"), JSON_COMPACT) : NULL;
    subject_json = rec ? json_dumps(json_object_get(rec, "subject"), JSON_COMPACT) : NULL;
    if (!authz_json || !subject_json || zr_oidc_authz_from_json(authz_json, &authz) != 0 ||
        zr_subject_from_json(subject_json, &subject) != 0 || !json_is_integer(json_object_get(rec, "exp"))) {
        zr_log_error("token", "code record unreadable");
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid", 0);
        goto end;
    }
    /* The store's TTL expires it too; this guards a clock-skewed Redis. */
    if (json_integer_value(json_object_get(rec, "exp")) < (json_int_t)zr_time_now()) {
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code expired", 0);
        goto end;
    }
    if (strcmp(authz.client_id, c->client_id) != 0) {
        zr_log_warn("token", "client=%s redeemed a code issued to client=%s", c->client_id, authz.client_id);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code was not issued to this client", 0);
        goto end;
    }
    /* A failed redemption by its own client burns the code (a wrong
     * verifier gets no second try); another client's attempt above does not. */
    if (strcmp(authz.redirect_uri, redirect_uri) != 0) {
        zr_store_del(op->store, ZR_OIDC_NS_CODE, code);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "redirect_uri differs from the authorization request",
                         0);
        goto end;
    }
    if (!pkce_ok(verifier, authz.code_challenge)) {
        zr_log_warn("token", "client=%s PKCE verification failed", c->client_id);
        zr_store_del(op->store, ZR_OIDC_NS_CODE, code);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code_verifier does not match the code_challenge", 0);
        goto end;
    }

    /* The tokens are built first, in memory only: the signature is the
     * slow part, and the time between the mark and the commit must stay far
     * inside the mark's deadline (half of redis.timeout_ms) on a loaded
     * machine. Nothing is issued until the commit. */
    {
        time_t now = zr_time_now();
        /* RFC 8705 §3: a client that authenticated with its certificate
         * gets tokens bound to it */
        if (auth.certificate && !(x5t = zr_http_client_cert_thumbprint(req->client_cert))) {
            zr_log_error("token", "client=%s certificate thumbprint cannot be made", c->client_id);
            rc = error_reply(op, req, resp, 500, "server_error", NULL, 0);
            goto end;
        }
        access_token = zr_oidc_access_token(op, c, &authz, &subject, now, at_lifetime, x5t, &jti);
        at_record = access_token
                        ? access_token_record(&authz, json_object_get(rec, "subject"), now, at_lifetime, x5t)
                        : NULL;
    }
    grant_json = access_token ? grant_record(c, jti) : NULL;
    id_token = zr_oidc_id_token(op, c, &authz, &subject);
    if (!access_token || !at_record || !grant_json || !id_token) {
        zr_log_error("token", "client=%s tokens cannot be built", c->client_id);
        rc = error_reply(op, req, resp, 500, "server_error", NULL, 0);
        goto end;
    }

    /* Marked for this attempt before anything is issued (RFC 6749 §4.1.2);
     * the reasoning is at the top of this file. */
#ifdef ZR_TESTING
    if (op->redeem_hook)
        op->redeem_hook(op->redeem_hook_ctx, ZR_OIDC_REDEEM_BEFORE_MARK);
#endif
    st = zr_store_redeem_begin(op->store, &item, &attempt);
    if (st == ZR_STORE_EXISTS || st == ZR_STORE_BUSY) {
        /* closed: redeemed, or closed by a replay; busy: another redemption
         * of it is under way right now */
        if (st == ZR_STORE_BUSY)
            revoke_racing(op, code, c, mark_ttl);
        else
            revoke_grant(op, code, c);
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid, expired or already used", 0);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("token", "store %s: code not redeemed", zr_store_status_name(st));
        rc = error_reply(op, req, resp, 503, "temporarily_unavailable", NULL, 0);
        goto end;
    }
#ifdef ZR_TESTING
    if (op->redeem_hook)
        op->redeem_hook(op->redeem_hook_ctx, ZR_OIDC_REDEEM_AFTER_MARK); /* a replay, or Redis frozen, right now */
#endif
    {
        /* One atomic step: the grant (so a replay can revoke it), the token,
         * the code closed and its record deleted (the subject need not stay
         * in the store any longer), or nothing. */
        zr_store_write_t w[2] = {
            {ZR_OIDC_NS_CODE_GRANT, code, grant_json, strlen(grant_json), mark_ttl, ZR_STORE_INVALID},
            {ZR_OIDC_NS_ACCESS_TOKEN, jti, at_record, strlen(at_record), at_lifetime, ZR_STORE_INVALID}};
        st = zr_store_redeem_commit(op->store, &item, &attempt, w, 2);
    }
    if (st == ZR_STORE_EXISTS || st == ZR_STORE_NOT_FOUND) {
        zr_log_warn("token", "client=%s code=%s %s during its redemption: no tokens issued", c->client_id,
                    zr_log_mask(code, mask), st == ZR_STORE_EXISTS ? "replayed" : "burnt or expired");
        rc = error_reply(op, req, resp, 400, "invalid_grant", "code invalid, expired or already used", 0);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        /* Late: nothing was stored, and a retry takes the mark over. No
         * answer: nothing is stored after the deadline; the token is deleted
         * in case the commit ran and only its answer was lost. */
        if (st != ZR_STORE_LATE)
            zr_store_del(op->store, ZR_OIDC_NS_ACCESS_TOKEN, jti);
        zr_log_error("token", "store %s: no tokens issued; the code stays redeemable for a retry",
                     zr_store_status_name(st));
        rc = error_reply(op, req, resp, 503, "temporarily_unavailable", NULL, 0);
        goto end;
    }
#ifdef ZR_TESTING
    if (op->redeem_hook)
        op->redeem_hook(op->redeem_hook_ctx, ZR_OIDC_REDEEM_AFTER_COMMIT); /* a drain, right now */
#endif
    {
        /* The audit record before the tokens leave: with audit_log.on_failure:
         * refuse, a portal gets no identity the NEN 7513 record would not
         * show (the token is deleted; the code is spent). The trace id is
         * that of the login's W3C traceparent ("00-<trace id>-..."). */
        char trace_id[33] = "", *sub = zr_oidc_subject_sub(op, c, &subject);
        int refused;
        if (authz.traceparent && strlen(authz.traceparent) >= 35 && authz.traceparent[2] == '-')
            snprintf(trace_id, sizeof(trace_id), "%.32s", authz.traceparent + 3);
        refused = zr_audit_write(&(zr_audit_record_t){.event = ZR_AUDIT_TOKEN, .subject = &subject, .sub = sub,
                                                      .client = c->client_id, .care_provider = subject.tenant_id,
                                                      .trace = trace_id[0] ? trace_id : NULL}) != 0;
        free(sub);
        if (refused) {
            zr_store_del(op->store, ZR_OIDC_NS_ACCESS_TOKEN, jti);
            zr_log_error("token", "client=%s code=%s audit record not written: no tokens issued", c->client_id,
                         zr_log_mask(code, mask));
            rc = error_reply(op, req, resp, 503, "temporarily_unavailable", NULL, 0);
            goto end;
        }
    }
    reply = json_object();
    if (zr_oidc_json_set_str(reply, "access_token", access_token) != 0 ||
        zr_oidc_json_set_str(reply, "token_type", "Bearer") != 0 ||
        zr_oidc_json_set(reply, "expires_in", json_integer(at_lifetime)) != 0 ||
        zr_oidc_json_set_str(reply, "id_token", id_token) != 0 ||
        zr_oidc_json_set_str(reply, "scope", authz.scope) != 0 ||
        zr_oidc_json_nostore(resp, reply) != 0) {
        zr_store_del(op->store, ZR_OIDC_NS_ACCESS_TOKEN, jti);
        rc = error_reply(op, req, resp, 500, "server_error", NULL, 0);
        goto end;
    }
    zr_oidc_cors(op, req, resp, c);
    zr_log_info("token", "client=%s code=%s redeemed token=%s", c->client_id, zr_log_mask(code, mask),
                zr_log_mask(access_token, mask2));
end:
    zr_oidc_wipe_free(record);
    zr_oidc_wipe_free(authz_json);
    zr_oidc_wipe_free(subject_json);
    zr_oidc_wipe_free(access_token);
    free(jti);
    zr_oidc_wipe_free(at_record);
    free(x5t);
    zr_oidc_wipe_free(grant_json);
    zr_oidc_wipe_free(id_token);
    json_decref(rec);
    json_decref(reply);
    zr_oidc_authz_clear(&authz);
    zr_subject_clear(&subject);
    return rc;
}
