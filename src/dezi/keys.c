/* What Dezi publishes and we cache: the discovery document (spec v0.7
 * §4.1), Dezi's JWKS (id_token, envelope) and the register's key sets named
 * by jku (verklaring, revocation list; §3.4, §5.2). All under d->lock. */
#include "dezi_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fetch_json(zr_dezi_t *d, const char *url, json_t **out)
{
    zr_dezi_request_t req = {.method = "GET", .url = url, .accept = "application/json"};
    zr_dezi_response_t resp;
    int rc = -1;

    *out = NULL;
    if (zr_dezi_http(d, &req, &resp) != 0)
        return -1;
    if (resp.status == 200)
        *out = zr_dezi_json_parse(resp.body, resp.len);
    rc = *out ? 0 : -1;
    zr_dezi_response_free(&resp);
    return rc;
}

/* An endpoint from the discovery document, judged like every URL we fetch
 * (zr_dezi_url_check). NULL with err naming the member and what is wrong. */
static char *endpoint_take(const zr_dezi_t *d, json_t *doc, const char *name, char *err, size_t errlen)
{
    const char *v = json_string_value(json_object_get(doc, name));
    char why[128];
    if (!v || strlen(v) > 2048) {
        snprintf(err, errlen, "dezi discovery: %s missing or longer than 2048", name);
        return NULL;
    }
    if (zr_dezi_url_check(v, d->env, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "dezi discovery: %s %s", name, why);
        return NULL;
    }
    return strdup(v);
}

static void replace(char **dst, char **src)
{
    free(*dst);
    *dst = *src;
    *src = NULL;
}

static int same_issuer(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    while (la && a[la - 1] == '/')
        la--;
    while (lb && b[lb - 1] == '/')
        lb--;
    return la == lb && !strncmp(a, b, la);
}

int zr_dezi_discovery_load(zr_dezi_t *d, char *err, size_t errlen)
{
    char url[2048], *authz = NULL, *token = NULL, *userinfo = NULL, *jwks = NULL;
    json_t *doc = NULL;
    const char *iss;
    int rc = -1;
    time_t now = zr_time_now();

    pthread_mutex_lock(&d->lock);
    if (d->discovery_at && now - d->discovery_at < ZR_DEZI_DISCOVERY_TTL_S && d->token_endpoint) {
        rc = 0;
        goto end;
    }
    {
        size_t il = strlen(d->cfg->issuer);
        while (il && d->cfg->issuer[il - 1] == '/')
            il--;
        snprintf(url, sizeof(url), "%.*s/.well-known/openid-configuration", (int)il, d->cfg->issuer);
    }
    if (fetch_json(d, url, &doc) != 0) {
        /* A stale document still names the right endpoints. */
        if (d->token_endpoint) {
            rc = 0;
            goto end;
        }
        snprintf(err, errlen, "dezi discovery unavailable");
        goto end;
    }
    iss = json_string_value(json_object_get(doc, "issuer"));
    if (!iss || !same_issuer(iss, d->cfg->issuer)) {
        snprintf(err, errlen, "dezi discovery: issuer differs from configured issuer");
        goto end;
    }
    /* All four or none: a document with one bad endpoint changes nothing. */
    if (!(authz = endpoint_take(d, doc, "authorization_endpoint", err, errlen)) ||
        !(token = endpoint_take(d, doc, "token_endpoint", err, errlen)) ||
        !(userinfo = endpoint_take(d, doc, "userinfo_endpoint", err, errlen)) ||
        !(jwks = endpoint_take(d, doc, "jwks_uri", err, errlen)))
        goto end;
    replace(&d->authorization_endpoint, &authz);
    replace(&d->token_endpoint, &token);
    replace(&d->userinfo_endpoint, &userinfo);
    replace(&d->jwks_uri, &jwks);
    if (!d->dezi_keys.url || strcmp(d->dezi_keys.url, d->jwks_uri) != 0) {
        free(d->dezi_keys.url);
        d->dezi_keys.url = strdup(d->jwks_uri);
        json_decref(d->dezi_keys.keys);
        d->dezi_keys.keys = NULL;
        d->dezi_keys.fetched_at = 0;
    }
    d->discovery_at = now;
    rc = 0;
end:
    pthread_mutex_unlock(&d->lock);
    json_decref(doc);
    free(authz);
    free(token);
    free(userinfo);
    free(jwks);
    return rc;
}

char *zr_dezi_endpoint(zr_dezi_t *d, const char *which)
{
    char *out = NULL;
    pthread_mutex_lock(&d->lock);
    if (!strcmp(which, "authorization"))
        out = zr_strdup(d->authorization_endpoint);
    else if (!strcmp(which, "token"))
        out = zr_strdup(d->token_endpoint);
    else if (!strcmp(which, "userinfo"))
        out = zr_strdup(d->userinfo_endpoint);
    pthread_mutex_unlock(&d->lock);
    return out;
}

int zr_dezi_jku_allowed(const zr_dezi_t *d, const char *jku)
{
    if (!jku)
        return -1;
    for (size_t i = 0; i < d->cfg->jku_allow_count; i++)
        if (!strcmp(d->cfg->jku_allow[i], jku))
            return (int)i;
    return -1;
}

/* Replaces the set's keys with a fresh fetch; -1 keeps the old ones. */
static int keyset_fetch(zr_dezi_t *d, zr_dezi_keyset_t *set)
{
    json_t *doc = NULL, *keys;
    if (fetch_json(d, set->url, &doc) != 0)
        return -1;
    keys = json_object_get(doc, "keys");
    if (!json_is_array(keys)) {
        json_decref(doc);
        return -1;
    }
    json_decref(set->keys);
    set->keys = json_incref(keys);
    set->fetched_at = zr_time_now();
    json_decref(doc);
    return 0;
}

/* An RSA signing key with this kid; other kinds and "use":"enc" skipped. */
static cjose_jwk_t *keyset_find(const zr_dezi_keyset_t *set, const char *kid)
{
    json_t *k;
    size_t i;
    if (!set->keys)
        return NULL;
    json_array_foreach(set->keys, i, k) {
        const char *kkid = json_string_value(json_object_get(k, "kid"));
        const char *kty = json_string_value(json_object_get(k, "kty"));
        const char *use = json_string_value(json_object_get(k, "use"));
        const char *alg = json_string_value(json_object_get(k, "alg"));
        json_t *pub;
        cjose_jwk_t *out;
        if (!kkid || strcmp(kkid, kid) != 0 || !kty || strcmp(kty, "RSA") != 0)
            continue;
        if ((use && strcmp(use, "sig") != 0) || (alg && strcmp(alg, "RS256") != 0))
            continue;
        /* Only the public members reach cjose. */
        pub = json_pack("{s:s, s:O, s:O}", "kty", "RSA", "n", json_object_get(k, "n"), "e", json_object_get(k, "e"));
        if (!pub)
            continue;
        out = json_is_string(json_object_get(pub, "n")) && json_is_string(json_object_get(pub, "e"))
                  ? zr_dezi_cjose_jwk(pub)
                  : NULL;
        json_decref(pub);
        if (out)
            return out;
    }
    return NULL;
}

cjose_jwk_t *zr_dezi_key_find(zr_dezi_t *d, const char *jku, const char *kid, zr_dezi_status_t *st, char *err,
                              size_t errlen)
{
    zr_dezi_keyset_t *set = NULL;
    cjose_jwk_t *key = NULL;
    int fetched = 0, idx;
    time_t now = zr_time_now();
    long ttl = d->cfg->key_cache_s > 0 ? d->cfg->key_cache_s : 3600;

    *st = ZR_DEZI_INVALID;
    if (!kid || !*kid || strlen(kid) > 256) {
        snprintf(err, errlen, "no kid in the JOSE header");
        return NULL;
    }
    pthread_mutex_lock(&d->lock);
    if (jku) {
        idx = zr_dezi_jku_allowed(d, jku);
        if (idx < 0) {
            snprintf(err, errlen, "jku not allow-listed");
            goto end;
        }
        set = &d->jku_sets[idx];
    } else {
        set = &d->dezi_keys;
        if (!set->url) {
            *st = ZR_DEZI_UNAVAILABLE;
            snprintf(err, errlen, "dezi jwks_uri unknown (no discovery)");
            goto end;
        }
    }
    if (!set->keys || now - set->fetched_at >= ttl) {
        if (keyset_fetch(d, set) == 0)
            fetched = 1;
        else if (!set->keys) {
            *st = ZR_DEZI_UNAVAILABLE;
            snprintf(err, errlen, "%s unavailable", jku ? "register key set (jku)" : "dezi jwks");
            goto end;
        }
    }
    key = keyset_find(set, kid);
    /* Key rotation: one refetch for a kid we do not know. */
    if (!key && !fetched && now - set->fetched_at >= d->refetch_min_s) {
        if (keyset_fetch(d, set) == 0)
            key = keyset_find(set, kid);
    }
    if (!key)
        snprintf(err, errlen, "unknown kid in %s", jku ? "register key set (jku)" : "dezi jwks");
end:
    pthread_mutex_unlock(&d->lock);
    if (key)
        *st = ZR_DEZI_OK;
    return key;
}
