/* One login at Dezi (spec v0.7 §4.2): the authorization request with PKCE
 * S256, then at our callback the token exchange, the id_token, userinfo,
 * and revocation. */
#include "dezi_internal.h"
#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))). */
static char *pkce_challenge(const char *verifier)
{
    uint8_t h[32];
    if (zr_crypto_sha256((const uint8_t *)verifier, strlen(verifier), h) != 0)
        return NULL;
    return zr_base64url_encode(h, sizeof(h));
}

static int form_add(zr_buf_t *b, const char *name, const char *value)
{
    char *enc = zr_url_encode(value);
    int rc = enc ? zr_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc) : -1;
    if (enc)
        OPENSSL_cleanse(enc, strlen(enc));
    free(enc);
    return rc;
}

zr_dezi_status_t zr_dezi_authorize_begin(zr_dezi_t *d, const char *redirect_uri, zr_dezi_authz_t *out, char *err,
                                         size_t errlen)
{
    zr_dezi_status_t st = ZR_DEZI_UNAVAILABLE;
    zr_dezi_authz_t a;
    zr_buf_t q;
    char *endpoint = NULL, *challenge = NULL;

    memset(&a, 0, sizeof(a));
    zr_buf_init(&q);
    if (err && errlen)
        err[0] = '\0';
    if (!redirect_uri) {
        st = ZR_DEZI_INVALID;
        snprintf(err, errlen, "dezi: no redirect_uri");
        goto end;
    }
    if (zr_dezi_discovery_load(d, err, errlen) != 0 || !(endpoint = zr_dezi_endpoint(d, "authorization")))
        goto end;
    st = ZR_DEZI_INVALID;
    a.state = zr_random_token(32);
    a.nonce = zr_random_token(32);
    a.code_verifier = zr_random_token(32); /* 43 characters (RFC 7636 §4.1) */
    challenge = a.code_verifier ? pkce_challenge(a.code_verifier) : NULL;
    if (!a.state || !a.nonce || !challenge)
        goto end;
    /* Spec §4.2.1: scope openid only; prompt=login as Dezi keeps no SSO. */
    if (form_add(&q, "response_type", "code") != 0 || form_add(&q, "client_id", d->cfg->client_id) != 0 ||
        form_add(&q, "redirect_uri", redirect_uri) != 0 || form_add(&q, "scope", "openid") != 0 ||
        form_add(&q, "state", a.state) != 0 || form_add(&q, "code_challenge", challenge) != 0 ||
        form_add(&q, "code_challenge_method", "S256") != 0 || form_add(&q, "nonce", a.nonce) != 0 ||
        form_add(&q, "prompt", "login") != 0)
        goto end;
    {
        zr_buf_t u;
        zr_buf_init(&u);
        if (zr_buf_printf(&u, "%s%c%s", endpoint, strchr(endpoint, '?') ? '&' : '?', q.data) != 0) {
            zr_buf_free(&u);
            goto end;
        }
        a.url = zr_buf_steal(&u);
    }
    if (!a.url)
        goto end;
    *out = a;
    memset(&a, 0, sizeof(a));
    st = ZR_DEZI_OK;
end:
    if (st != ZR_DEZI_OK && err && errlen && !err[0])
        snprintf(err, errlen, "dezi: could not build the authorization request");
    zr_dezi_authz_clear(&a);
    zr_buf_free(&q);
    free(endpoint);
    free(challenge);
    return st;
}

/* private_key_jwt (the 2024 registration): RFC 7523 client assertion,
 * iss = sub = client_id, aud = the token endpoint, short-lived. */
static char *client_assertion(zr_dezi_t *d, const char *token_endpoint)
{
    json_t *claims;
    char *jti = zr_random_token(24), *out = NULL;
    time_t now = zr_time_now();
    if (!jti)
        return NULL;
    claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", d->cfg->client_id, "sub", d->cfg->client_id, "aud",
                       token_endpoint, "jti", jti, "iat", (json_int_t)now, "exp", (json_int_t)(now + 120));
    if (claims)
        out = zr_dezi_jws_sign(d->cfg->client_key, d->cfg->client_key_kid, claims);
    json_decref(claims);
    free(jti);
    return out;
}

/* id_token (spec §3.4, §4.2.4): RS256 by Dezi's key, iss, aud, exp, iat,
 * nonce, a subject. It holds no professional data; its sub (*sub, malloc'ed)
 * is what the userinfo envelope must name (OIDC Core §5.3.2). */
static zr_dezi_status_t id_token_validate(zr_dezi_t *d, const char *id_token, const char *nonce, char **sub,
                                          char *err, size_t errlen)
{
    json_t *hdr = zr_dezi_jose_header(id_token), *claims = NULL, *aud;
    cjose_jwk_t *key = NULL;
    zr_dezi_status_t st = ZR_DEZI_INVALID;
    const char *alg, *tn, *azp;
    time_t exp = 0, iat = 0, now = zr_time_now();
    char why[128] = "";
    const char *failed = NULL;

    if (!hdr || !(alg = json_string_value(json_object_get(hdr, "alg"))) || strcmp(alg, "RS256") != 0) {
        snprintf(err, errlen, "id_token: not an RS256 JWS");
        goto end;
    }
    key = zr_dezi_key_find(d, NULL, json_string_value(json_object_get(hdr, "kid")), &st, why, sizeof(why));
    if (!key) {
        snprintf(err, errlen, "id_token: %s", why);
        goto end;
    }
    st = ZR_DEZI_INVALID;
    if (!(claims = zr_dezi_jws_verify(id_token, key, &failed))) {
        snprintf(err, errlen, "id_token: %s", failed);
        goto end;
    }
    /* OIDC Core §3.1.3.7: the issuer exactly. */
    if (!json_string_value(json_object_get(claims, "iss")) ||
        strcmp(json_string_value(json_object_get(claims, "iss")), d->cfg->issuer) != 0) {
        snprintf(err, errlen, "id_token: wrong issuer");
        goto end;
    }
    aud = json_object_get(claims, "aud");
    azp = json_string_value(json_object_get(claims, "azp"));
    if (!zr_dezi_aud_contains(claims, d->cfg->client_id) ||
        (json_is_array(aud) && json_array_size(aud) > 1 && (!azp || strcmp(azp, d->cfg->client_id) != 0)) ||
        (azp && strcmp(azp, d->cfg->client_id) != 0)) {
        snprintf(err, errlen, "id_token: audience is not our client_id");
        goto end;
    }
    if (zr_dezi_claim_time(claims, "exp", &exp) != 0 || exp + ZR_DEZI_CLOCK_SKEW_S <= now) {
        snprintf(err, errlen, "id_token: expired");
        goto end;
    }
    if (zr_dezi_claim_time(claims, "iat", &iat) != 0 || iat > now + ZR_DEZI_CLOCK_SKEW_S) {
        snprintf(err, errlen, "id_token: iat missing or in the future");
        goto end;
    }
    tn = json_string_value(json_object_get(claims, "nonce"));
    if (!nonce || !tn || !zr_secure_equal(tn, strlen(tn), nonce, strlen(nonce))) {
        snprintf(err, errlen, "id_token: nonce does not match");
        goto end;
    }
    if (!json_string_value(json_object_get(claims, "sub")) || !*json_string_value(json_object_get(claims, "sub"))) {
        snprintf(err, errlen, "id_token: no sub");
        goto end;
    }
    if (!(*sub = strdup(json_string_value(json_object_get(claims, "sub")))))
        goto end;
    st = ZR_DEZI_OK;
end:
    cjose_jwk_release(key);
    json_decref(hdr);
    json_decref(claims);
    return st;
}

zr_dezi_status_t zr_dezi_finish(zr_dezi_t *d, const char *code, const char *redirect_uri, const char *code_verifier,
                                const char *nonce, zr_dezi_professional_t *out, char *err, size_t errlen)
{
    zr_dezi_status_t st = ZR_DEZI_UNAVAILABLE;
    zr_dezi_request_t req;
    zr_dezi_response_t resp;
    zr_dezi_professional_t p;
    zr_buf_t form;
    json_t *tok = NULL;
    char *token_ep = NULL, *userinfo_ep = NULL, *assertion = NULL, *access = NULL, *status_uri = NULL;
    char *sub = NULL;
    const char *id_token, *tt;

    memset(&p, 0, sizeof(p));
    memset(&resp, 0, sizeof(resp));
    zr_buf_init(&form);
    if (err && errlen)
        err[0] = '\0';
    if (!code || !*code || !redirect_uri || !code_verifier || !nonce) {
        st = ZR_DEZI_INVALID;
        snprintf(err, errlen, "dezi: code, redirect_uri, verifier and nonce are required");
        goto end;
    }
    if (zr_dezi_discovery_load(d, err, errlen) != 0 || !(token_ep = zr_dezi_endpoint(d, "token")) ||
        !(userinfo_ep = zr_dezi_endpoint(d, "userinfo")))
        goto end;

    /* Spec §4.2.3: public client with PKCE; 2024: private_key_jwt. */
    st = ZR_DEZI_INVALID;
    if (form_add(&form, "grant_type", "authorization_code") != 0 || form_add(&form, "code", code) != 0 ||
        form_add(&form, "redirect_uri", redirect_uri) != 0 || form_add(&form, "code_verifier", code_verifier) != 0 ||
        form_add(&form, "client_id", d->cfg->client_id) != 0)
        goto end;
    if (d->cfg->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT) {
        assertion = client_assertion(d, token_ep);
        if (!assertion || form_add(&form, "client_assertion_type",
                                   "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") != 0 ||
            form_add(&form, "client_assertion", assertion) != 0) {
            snprintf(err, errlen, "dezi: could not sign the client assertion");
            goto end;
        }
    }
    memset(&req, 0, sizeof(req));
    req.method = "POST";
    req.url = token_ep;
    req.form = form.data;
    req.accept = "application/json";
    if (zr_dezi_http(d, &req, &resp) != 0 || resp.status >= 500) {
        st = ZR_DEZI_UNAVAILABLE;
        snprintf(err, errlen, "dezi token endpoint unavailable");
        goto end;
    }
    tok = zr_dezi_json_parse(resp.body, resp.len);
    if (resp.status != 200) {
        const char *e = tok ? json_string_value(json_object_get(tok, "error")) : NULL;
        st = e && !strcmp(e, "access_denied") ? ZR_DEZI_DENIED : ZR_DEZI_INVALID;
        /* The error code is an OAuth token from a fixed set; still cap it. */
        snprintf(err, errlen, "dezi token endpoint: HTTP %ld %.40s", resp.status, e && strlen(e) < 41 ? e : "");
        goto end;
    }
    tt = tok ? json_string_value(json_object_get(tok, "token_type")) : NULL;
    id_token = tok ? json_string_value(json_object_get(tok, "id_token")) : NULL;
    if (!tok || !tt || strcasecmp(tt, "Bearer") != 0 || !json_string_value(json_object_get(tok, "access_token")) ||
        !id_token) {
        snprintf(err, errlen, "dezi token response: access_token, Bearer or id_token missing");
        goto end;
    }
    access = strdup(json_string_value(json_object_get(tok, "access_token")));
    if (!access)
        goto end;
    st = id_token_validate(d, id_token, nonce, &sub, err, errlen);
    if (st != ZR_DEZI_OK)
        goto end;

    /* Spec §4.3.1: userinfo with the access token as Bearer. */
    zr_dezi_response_free(&resp);
    memset(&req, 0, sizeof(req));
    req.method = "GET";
    req.url = userinfo_ep;
    req.bearer = access;
    req.accept = "application/json";
    if (zr_dezi_http(d, &req, &resp) != 0 || resp.status >= 500) {
        st = ZR_DEZI_UNAVAILABLE;
        snprintf(err, errlen, "dezi userinfo endpoint unavailable");
        goto end;
    }
    if (resp.status != 200) {
        st = ZR_DEZI_INVALID;
        snprintf(err, errlen, "dezi userinfo endpoint: HTTP %ld", resp.status);
        goto end;
    }
    st = zr_dezi_userinfo_validate_ex(d, resp.body, resp.len, resp.content_type, sub, &p, &status_uri, err, errlen);
    if (st != ZR_DEZI_OK)
        goto end;
    st = zr_dezi_revocation_check(d, &p, status_uri, err, errlen);
    if (st != ZR_DEZI_OK)
        goto end;
    *out = p;
    memset(&p, 0, sizeof(p));
end:
    zr_dezi_professional_clear(&p);
    if (access) {
        OPENSSL_cleanse(access, strlen(access));
        free(access);
    }
    if (assertion)
        free(assertion);
    if (form.data)
        OPENSSL_cleanse(form.data, form.len);
    zr_buf_free(&form);
    json_decref(tok);
    zr_dezi_response_free(&resp);
    free(token_ep);
    free(userinfo_ep);
    free(status_uri);
    free(sub);
    return st;
}
