/* The test client's OpenID Connect side: an ordinary confidential client of
 * the relay (client_secret_basic, PKCE S256, state, nonce), with the ID
 * token's signature checked against the relay's JWKS (cjose). It is written
 * against the relay's discovery document, not its internals, so it tests
 * what a portal would meet. */
#include "preprod_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjose/cjose.h>
#include <curl/curl.h>
#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/diag.h"
#include "zr/log.h"
#include "zr/util.h"

#define RP_MAX_BODY (1024 * 1024)
#define RP_TOKEN_TRIES 4 /* pauses of 0.25, 0.5 and 1 s: well inside a code's lifetime */
#define RP_LEEWAY_S 30

/* One request to the relay: GET, or POST of a form with client_secret_basic
 * when form is not NULL. *body (malloc'ed) and *status. 0 when an answer
 * came. */
static int rp_http(zr_preprod_rp_t *rp, const char *url, const char *form, long *status, char **body, char *err,
                   size_t errlen)
{
    CURL *c = curl_easy_init();
    zr_capped_buf_t sink = {.max = RP_MAX_BODY};
    char detail[CURL_ERROR_SIZE] = "";
    char *user = NULL, *pass = NULL;
    int rc = -1;

    zr_buf_init(&sink.buf);
    *body = NULL;
    *status = 0;
    if (!c) {
        snprintf(err, errlen, "curl_easy_init failed");
        goto end;
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, zr_capped_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, detail);
    if (rp->ca_file[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, rp->ca_file);
    if (form) {
        /* RFC 6749 §2.3.1: both halves form-encoded before Basic. */
        user = zr_url_encode(rp->client_id);
        pass = zr_url_encode(rp->client_secret ? rp->client_secret : "");
        if (!user || !pass)
            goto end;
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, pass);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
    }
    if (curl_easy_perform(c) != CURLE_OK) {
        snprintf(err, errlen, "%s: %s", url, sink.too_large ? "answer too large" : detail);
        goto end;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    *body = zr_buf_steal(&sink.buf);
    if (!*body)
        *body = strdup("");
    rc = *body ? 0 : -1;
end:
    if (pass)
        OPENSSL_cleanse(pass, strlen(pass));
    free(user);
    free(pass);
    zr_buf_free(&sink.buf);
    if (c)
        curl_easy_cleanup(c);
    return rc;
}

static json_t *rp_get_json(zr_preprod_rp_t *rp, const char *url, char *err, size_t errlen)
{
    char *body = NULL;
    long status = 0;
    json_t *j = NULL;
    json_error_t jerr;
    if (rp_http(rp, url, NULL, &status, &body, err, errlen) != 0)
        goto end;
    if (status != 200) {
        snprintf(err, errlen, "%s answered HTTP %ld", url, status);
        goto end;
    }
    j = json_loads(body, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(j)) {
        snprintf(err, errlen, "%s: not a JSON object", url);
        json_decref(j);
        j = NULL;
    }
end:
    free(body);
    return j;
}

int zr_preprod_rp_init(zr_preprod_rp_t *rp, const zr_config_t *cfg, char *err, size_t errlen)
{
    const zr_preprod_test_config_t *p = &cfg->preprod_test;
    char *secret = NULL;
    size_t len = 0;

    memset(rp, 0, sizeof(*rp));
    pthread_mutex_init(&rp->lock, NULL);
    snprintf(rp->issuer, sizeof(rp->issuer), "%s", cfg->oidc.issuer ? cfg->oidc.issuer : cfg->public_base_url);
    snprintf(rp->relay_base, sizeof(rp->relay_base), "%s", cfg->public_base_url);
    snprintf(rp->client_id, sizeof(rp->client_id), "%s", p->client_id);
    snprintf(rp->redirect_uri, sizeof(rp->redirect_uri), "%s/callback", p->public_base_url);
    snprintf(rp->post_logout_redirect_uri, sizeof(rp->post_logout_redirect_uri), "%s/logged-out",
             p->public_base_url);
    snprintf(rp->ca_file, sizeof(rp->ca_file), "%s", p->relay_ca_file);
    if (zr_file_read(p->client_secret_file, 4096, &secret, &len) != 0) {
        snprintf(err, errlen, "preprod_test.client_secret_file: cannot read %s", p->client_secret_file);
        return -1;
    }
    rp->client_secret = zr_str_trim(secret);
    if (!*rp->client_secret) {
        snprintf(err, errlen, "preprod_test.client_secret_file: %s is empty", p->client_secret_file);
        return -1;
    }
    return 0;
}

void zr_preprod_rp_cleanup(zr_preprod_rp_t *rp)
{
    if (rp->client_secret)
        OPENSSL_cleanse(rp->client_secret, strlen(rp->client_secret));
    free(rp->client_secret);
    json_decref(rp->jwks);
    pthread_mutex_destroy(&rp->lock);
    memset(rp, 0, sizeof(*rp));
}

static int copy_endpoint(json_t *d, const char *key, char *out, size_t outlen, int required, char *err,
                         size_t errlen)
{
    const char *v = json_string_value(json_object_get(d, key));
    if (!v || strlen(v) >= outlen) {
        if (required)
            snprintf(err, errlen, "discovery: %s missing", key);
        out[0] = '\0';
        return required ? -1 : 0;
    }
    snprintf(out, outlen, "%s", v);
    return 0;
}

int zr_preprod_rp_discover(zr_preprod_rp_t *rp, char *err, size_t errlen)
{
    char url[400];
    json_t *d = NULL;
    int rc = 0;
    pthread_mutex_lock(&rp->lock);
    if (rp->discovered)
        goto end;
    rc = -1;
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", rp->issuer);
    d = rp_get_json(rp, url, err, errlen);
    if (!d)
        goto end;
    if (!json_is_string(json_object_get(d, "issuer")) ||
        strcmp(json_string_value(json_object_get(d, "issuer")), rp->issuer) != 0) {
        snprintf(err, errlen, "discovery: issuer is not %s", rp->issuer);
        goto end;
    }
    if (copy_endpoint(d, "authorization_endpoint", rp->authorization_endpoint,
                      sizeof(rp->authorization_endpoint), 1, err, errlen) != 0 ||
        copy_endpoint(d, "token_endpoint", rp->token_endpoint, sizeof(rp->token_endpoint), 1, err, errlen) != 0 ||
        copy_endpoint(d, "jwks_uri", rp->jwks_uri, sizeof(rp->jwks_uri), 1, err, errlen) != 0 ||
        copy_endpoint(d, "end_session_endpoint", rp->end_session_endpoint, sizeof(rp->end_session_endpoint), 0,
                      err, errlen) != 0)
        goto end;
    rp->discovered = 1;
    rc = 0;
end:
    pthread_mutex_unlock(&rp->lock);
    json_decref(d);
    return rc;
}

/* S256 (RFC 7636 §4.2). */
static char *pkce_challenge(const char *verifier)
{
    uint8_t md[32];
    zr_crypto_sha256((const uint8_t *)verifier, strlen(verifier), md);
    return zr_base64url_encode(md, sizeof(md));
}

static void add_param(zr_buf_t *b, const char *name, const char *value)
{
    char *v = zr_url_encode(value);
    zr_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, v ? v : "");
    free(v);
}

int zr_preprod_rp_new_attempt(zr_preprod_scenario_t *sc)
{
    char *state = zr_random_token(32), *nonce = zr_random_token(32), *verifier = zr_random_token(48);
    int rc = -1;
    if (state && nonce && verifier && strlen(verifier) < sizeof(sc->verifier) && strlen(state) < sizeof(sc->state)) {
        snprintf(sc->state, sizeof(sc->state), "%s", state);
        snprintf(sc->nonce, sizeof(sc->nonce), "%s", nonce);
        snprintf(sc->verifier, sizeof(sc->verifier), "%s", verifier);
        rc = 0;
    }
    free(state);
    free(nonce);
    if (verifier)
        OPENSSL_cleanse(verifier, strlen(verifier));
    free(verifier);
    return rc;
}

char *zr_preprod_rp_authorize_url(zr_preprod_rp_t *rp, const zr_preprod_scenario_t *sc, const char *care_provider)
{
    const char *state = sc->state, *nonce = sc->nonce;
    char *challenge = sc->verifier[0] ? pkce_challenge(sc->verifier) : NULL, *out = NULL;
    zr_buf_t q;
    zr_buf_init(&q);
    if (!state[0] || !nonce[0] || !challenge)
        goto end;
    add_param(&q, "response_type", "code");
    add_param(&q, "client_id", rp->client_id);
    add_param(&q, "redirect_uri", rp->redirect_uri);
    add_param(&q, "scope", "openid");
    add_param(&q, "state", state);
    add_param(&q, "nonce", nonce);
    add_param(&q, "code_challenge", challenge);
    add_param(&q, "code_challenge_method", "S256");
    add_param(&q, "login_method", "patient");
    if (sc->loa != ZR_LOA_NONE)
        add_param(&q, "acr_values", zr_loa_uri(sc->loa));
    if (care_provider && *care_provider)
        add_param(&q, "care_provider", care_provider);
    /* A fresh login at TVS every time: a scenario must not be answered from
     * an earlier DigiD session. */
    add_param(&q, "prompt", "login");
    {
        zr_buf_t u;
        zr_buf_init(&u);
        zr_buf_printf(&u, "%s%s%s", rp->authorization_endpoint, strchr(rp->authorization_endpoint, '?') ? "&" : "?",
                      q.data ? q.data : "");
        out = zr_buf_steal(&u);
    }
end:
    zr_buf_free(&q);
    free(challenge);
    return out;
}

/* The relay's key for kid (JWKS fetched once, again on an unknown kid). */
static cjose_jwk_t *rp_key(zr_preprod_rp_t *rp, const char *kid, char *err, size_t errlen)
{
    cjose_jwk_t *out = NULL;
    cjose_err cerr;
    size_t i;
    json_t *k;
    pthread_mutex_lock(&rp->lock);
    for (int round = 0; round < 2 && !out; round++) {
        if (round == 1 || !rp->jwks) {
            json_decref(rp->jwks);
            rp->jwks = rp_get_json(rp, rp->jwks_uri, err, errlen);
            if (!rp->jwks)
                break;
        }
        json_array_foreach(json_object_get(rp->jwks, "keys"), i, k) {
            const char *id = json_string_value(json_object_get(k, "kid"));
            char *text;
            if (!id || !kid || strcmp(id, kid) != 0)
                continue;
            text = json_dumps(k, JSON_COMPACT);
            out = text ? cjose_jwk_import(text, strlen(text), &cerr) : NULL;
            free(text);
            break;
        }
    }
    if (!out && !err[0])
        snprintf(err, errlen, "ID token key %s not in the relay's JWKS", kid ? kid : "(no kid)");
    pthread_mutex_unlock(&rp->lock);
    return out;
}

static json_t *jose_part(const char *compact, int index)
{
    const char *start = compact, *end;
    char *part = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *j = NULL;
    for (int i = 0; i < index && start; i++)
        start = strchr(start, '.') ? strchr(start, '.') + 1 : NULL;
    if (!start)
        return NULL;
    end = strchr(start, '.');
    part = strndup(start, end ? (size_t)(end - start) : strlen(start));
    if (part && zr_base64url_decode(part, &raw, &raw_len) == 0)
        j = json_loadb((const char *)raw, raw_len, JSON_REJECT_DUPLICATES, NULL);
    free(part);
    free(raw);
    if (j && !json_is_object(j)) {
        json_decref(j);
        j = NULL;
    }
    return j;
}

/* OIDC Core §3.1.3.7: signature, iss, aud, exp, iat, nonce. */
static json_t *verify_id_token(zr_preprod_rp_t *rp, const char *idt, const char *nonce, char *err, size_t errlen)
{
    json_t *hdr = jose_part(idt, 0), *claims = NULL, *aud;
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    cjose_jwk_t *key = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    int aud_ok = 0;
    json_int_t now = (json_int_t)time(NULL);

    if (!alg || (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0 && strcmp(alg, "PS256") != 0)) {
        snprintf(err, errlen, "ID token alg %s not accepted", alg ? alg : "(none)");
        goto fail;
    }
    key = rp_key(rp, json_string_value(json_object_get(hdr, "kid")), err, errlen);
    if (!key)
        goto fail;
    if ((strcmp(alg, "ES256") == 0) != (cjose_jwk_get_kty(key, &cerr) == CJOSE_JWK_KTY_EC)) {
        snprintf(err, errlen, "ID token alg does not fit its key");
        goto fail;
    }
    jws = cjose_jws_import(idt, strlen(idt), &cerr);
    if (!jws || !cjose_jws_verify(jws, key, &cerr) || !cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr)) {
        snprintf(err, errlen, "ID token signature invalid");
        goto fail;
    }
    claims = json_loadb((const char *)plain, plain_len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(claims)) {
        snprintf(err, errlen, "ID token payload is not a JSON object");
        goto fail;
    }
    aud = json_object_get(claims, "aud");
    if (json_is_string(aud)) {
        aud_ok = strcmp(json_string_value(aud), rp->client_id) == 0;
    } else if (json_is_array(aud)) {
        size_t i;
        json_t *a;
        json_array_foreach(aud, i, a) aud_ok |= json_is_string(a) && strcmp(json_string_value(a), rp->client_id) == 0;
    }
    if (!json_is_string(json_object_get(claims, "iss")) ||
        strcmp(json_string_value(json_object_get(claims, "iss")), rp->issuer) != 0) {
        snprintf(err, errlen, "ID token iss is not %s", rp->issuer);
        goto fail;
    }
    if (!aud_ok) {
        snprintf(err, errlen, "ID token aud does not name %s", rp->client_id);
        goto fail;
    }
    if (!json_is_integer(json_object_get(claims, "exp")) ||
        json_integer_value(json_object_get(claims, "exp")) + RP_LEEWAY_S < now ||
        !json_is_integer(json_object_get(claims, "iat")) ||
        json_integer_value(json_object_get(claims, "iat")) > now + RP_LEEWAY_S) {
        snprintf(err, errlen, "ID token expired or issued in the future");
        goto fail;
    }
    if (!json_is_string(json_object_get(claims, "nonce")) ||
        !zr_secure_equal(json_string_value(json_object_get(claims, "nonce")),
                         strlen(json_string_value(json_object_get(claims, "nonce"))), nonce, strlen(nonce))) {
        snprintf(err, errlen, "ID token nonce is not the one sent");
        goto fail;
    }
    goto end;
fail:
    json_decref(claims);
    claims = NULL;
end:
    json_decref(hdr);
    cjose_jws_release(jws);
    cjose_jwk_release(key);
    return claims;
}

long zr_preprod_rp_retry_pause_ms(long status, const char *error, int attempt)
{
    if (status != 503 || !error || strcmp(error, "temporarily_unavailable") != 0 || attempt < 1 ||
        attempt >= RP_TOKEN_TRIES)
        return -1;
    return 250L << (attempt - 1);
}

int zr_preprod_rp_redeem(zr_preprod_rp_t *rp, const char *code, const char *verifier, const char *nonce,
                         json_t **claims, char **id_token, int *tries, char *err, size_t errlen)
{
    zr_buf_t form;
    char *body = NULL;
    long status = 0;
    json_t *tok = NULL;
    const char *idt, *e;
    long pause_ms;
    int rc = -1;

    *claims = NULL;
    *id_token = NULL;
    zr_buf_init(&form);
    add_param(&form, "grant_type", "authorization_code");
    add_param(&form, "code", code);
    add_param(&form, "redirect_uri", rp->redirect_uri);
    add_param(&form, "code_verifier", verifier);
    /* A 503 temporarily_unavailable leaves the code redeemable (the relay's
     * store missed its deadline; docs/operations.md): a portal retries, and
     * so does the tester's client, a few times with a growing pause, so that
     * a moment of load is not recorded as a failed scenario. */
    for (int attempt = 1;; attempt++) {
        if (!form.data || rp_http(rp, rp->token_endpoint, form.data, &status, &body, err, errlen) != 0)
            goto end;
        tok = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
        if (tries)
            *tries = attempt;
        pause_ms = zr_preprod_rp_retry_pause_ms(status, json_string_value(json_object_get(tok, "error")), attempt);
        if (pause_ms < 0)
            break;
        zr_log_warn("preprod-test", "token endpoint temporarily unavailable (request %d): retrying in %ld ms",
                    attempt, pause_ms);
        json_decref(tok);
        tok = NULL;
        OPENSSL_cleanse(body, strlen(body));
        free(body);
        body = NULL;
        nanosleep(&(struct timespec){.tv_sec = pause_ms / 1000, .tv_nsec = (pause_ms % 1000) * 1000000L}, NULL);
    }
    if (status != 200 || !json_is_object(tok)) {
        e = json_string_value(json_object_get(tok, "error"));
        snprintf(err, errlen, "%s", e ? e : "token endpoint error");
        goto end;
    }
    idt = json_string_value(json_object_get(tok, "id_token"));
    if (!idt) {
        snprintf(err, errlen, "no id_token in the token response");
        goto end;
    }
    *claims = verify_id_token(rp, idt, nonce, err, errlen);
    if (!*claims)
        goto end;
    *id_token = strdup(idt);
    rc = 0;
end:
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    zr_buf_free(&form);
    if (body)
        OPENSSL_cleanse(body, strlen(body));
    free(body);
    json_decref(tok);
    return rc;
}

json_t *zr_preprod_rp_trace_get(zr_preprod_rp_t *rp, const char *trace_id)
{
    char url[400], err[256] = "";
    if (!trace_id || strlen(trace_id) != ZR_DIAG_ID_LEN || strspn(trace_id, "0123456789abcdef") != ZR_DIAG_ID_LEN)
        return NULL;
    snprintf(url, sizeof(url), "%s/trace.json?id=%s", rp->relay_base, trace_id);
    return rp_get_json(rp, url, err, sizeof(err));
}

json_t *zr_preprod_rp_trace(zr_preprod_rp_t *rp, const char *state, char *trace_id)
{
    zr_buf_t form;
    char *body = NULL, url[400], err[256] = "";
    long status = 0;
    json_t *j = NULL, *trace = NULL;
    const char *id;

    trace_id[0] = '\0';
    zr_buf_init(&form);
    add_param(&form, "state", state);
    snprintf(url, sizeof(url), "%s/trace/lookup", rp->relay_base);
    if (!form.data || rp_http(rp, url, form.data, &status, &body, err, sizeof(err)) != 0 || status != 200)
        goto end;
    j = json_loads(body, JSON_REJECT_DUPLICATES, NULL);
    id = json_string_value(json_object_get(j, "trace_id"));
    if (!id || strlen(id) != ZR_DIAG_ID_LEN || strspn(id, "0123456789abcdef") != ZR_DIAG_ID_LEN)
        goto end;
    memcpy(trace_id, id, ZR_DIAG_ID_LEN + 1);
    trace = zr_preprod_rp_trace_get(rp, id);
end:
    zr_buf_free(&form);
    free(body);
    json_decref(j);
    return trace;
}

char *zr_preprod_rp_logout_url(zr_preprod_rp_t *rp, const char *id_token, const char *state)
{
    zr_buf_t q, u;
    if (!rp->end_session_endpoint[0] || !id_token)
        return NULL;
    zr_buf_init(&q);
    zr_buf_init(&u);
    add_param(&q, "id_token_hint", id_token);
    add_param(&q, "post_logout_redirect_uri", rp->post_logout_redirect_uri);
    add_param(&q, "client_id", rp->client_id);
    add_param(&q, "state", state);
    zr_buf_printf(&u, "%s%s%s", rp->end_session_endpoint, strchr(rp->end_session_endpoint, '?') ? "&" : "?",
                  q.data ? q.data : "");
    zr_buf_free(&q);
    return zr_buf_steal(&u);
}
