/* The Dezi client's lifetime, its status names, and the professional as
 * the store keeps it. */
#include "dezi_internal.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *zr_dezi_status_name(zr_dezi_status_t st)
{
    switch (st) {
    case ZR_DEZI_OK: return "ok";
    case ZR_DEZI_DENIED: return "denied";
    case ZR_DEZI_INVALID: return "invalid";
    case ZR_DEZI_LOA_TOO_LOW: return "loa_too_low";
    case ZR_DEZI_REVOKED: return "revoked";
    case ZR_DEZI_UNAVAILABLE: return "unavailable";
    }
    return "unknown";
}

zr_dezi_t *zr_dezi_new(const zr_dezi_config_t *cfg, zr_environment_t env, char *err, size_t errlen)
{
    zr_dezi_t *d = NULL;
    json_t *jwk = NULL;
    char why[128];
    int ok = 0;

    if (!cfg || !cfg->issuer || !cfg->client_id) {
        snprintf(err, errlen, "dezi: issuer and client_id are required");
        goto end;
    }
    if (zr_dezi_url_check(cfg->issuer, env, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "dezi: issuer %s", why);
        goto end;
    }
    for (size_t i = 0; i < cfg->jku_allow_count; i++)
        if (zr_dezi_url_check(cfg->jku_allow[i], env, why, sizeof(why)) != 0) {
            snprintf(err, errlen, "dezi: jku_allow entry %zu %s", i + 1, why);
            goto end;
        }
    if (cfg->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT && !cfg->client_key) {
        snprintf(err, errlen, "dezi: private_key_jwt needs client_key");
        goto end;
    }
    d = calloc(1, sizeof(*d));
    if (!d)
        goto end;
    d->cfg = cfg;
    d->env = env;
    pthread_mutex_init(&d->lock, NULL);
    pthread_mutex_init(&d->list_lock, NULL);
    d->fetch = zr_dezi_fetch_default;
    d->refetch_min_s = ZR_DEZI_REFETCH_MIN_S;
    if (cfg->jku_allow_count) {
        d->jku_sets = calloc(cfg->jku_allow_count, sizeof(*d->jku_sets));
        if (!d->jku_sets)
            goto end;
        for (size_t i = 0; i < cfg->jku_allow_count; i++)
            if (!(d->jku_sets[i].url = strdup(cfg->jku_allow[i])))
                goto end;
    }
    if (cfg->decryption_key) {
        if (!EVP_PKEY_is_a(cfg->decryption_key, "RSA")) {
            snprintf(err, errlen, "dezi: decryption_key must be RSA (RSA-OAEP)");
            goto end;
        }
        jwk = zr_crypto_jwk_from_pkey(cfg->decryption_key, 1);
        d->decrypt_jwk = zr_dezi_cjose_jwk(jwk);
        if (!d->decrypt_jwk) {
            snprintf(err, errlen, "dezi: decryption_key not usable");
            goto end;
        }
    }
    ok = 1;
end:
    json_decref(jwk); /* holds private members; jansson frees them */
    if (!ok && d) {
        zr_dezi_free(d);
        d = NULL;
    } else if (!ok && err && errlen && !*err)
        snprintf(err, errlen, "dezi: out of memory");
    return d;
}

void zr_dezi_free(zr_dezi_t *d)
{
    if (!d)
        return;
    free(d->authorization_endpoint);
    free(d->token_endpoint);
    free(d->userinfo_endpoint);
    free(d->jwks_uri);
    free(d->dezi_keys.url);
    json_decref(d->dezi_keys.keys);
    if (d->jku_sets)
        for (size_t i = 0; i < d->cfg->jku_allow_count; i++) {
            free(d->jku_sets[i].url);
            json_decref(d->jku_sets[i].keys);
        }
    free(d->jku_sets);
    json_decref(d->revoked);
    cjose_jwk_release(d->decrypt_jwk);
    pthread_mutex_destroy(&d->lock);
    pthread_mutex_destroy(&d->list_lock);
    free(d);
}

#ifdef ZR_TESTING
void zr_dezi_set_fetch_hook(zr_dezi_t *d, zr_dezi_fetch_fn fn, void *ctx)
{
    d->fetch = fn ? fn : zr_dezi_fetch_default;
    d->fetch_ctx = ctx;
}

void zr_dezi_set_refetch_min(zr_dezi_t *d, int seconds) { d->refetch_min_s = seconds; }
#endif

void zr_dezi_authz_clear(zr_dezi_authz_t *a)
{
    if (!a)
        return;
    free(a->state);
    free(a->nonce);
    if (a->code_verifier)
        OPENSSL_cleanse(a->code_verifier, strlen(a->code_verifier));
    free(a->code_verifier);
    free(a->url);
    memset(a, 0, sizeof(*a));
}

void zr_dezi_professional_clear(zr_dezi_professional_t *p)
{
    if (!p)
        return;
    free(p->dezi_nummer);
    free(p->voorletters);
    free(p->voorvoegsel);
    free(p->achternaam);
    free(p->ura);
    free(p->organisation_name);
    free(p->rol_code);
    free(p->rol_naam);
    free(p->rol_code_bron);
    free(p->verklaring_id);
    free(p->json_schema);
    memset(p, 0, sizeof(*p));
}

#define PRO_FIELDS(X)                                                                                                  \
    X(dezi_nummer) X(voorletters) X(voorvoegsel) X(achternaam) X(ura) X(organisation_name) X(rol_code) X(rol_naam)     \
        X(rol_code_bron) X(verklaring_id) X(json_schema)

char *zr_dezi_professional_to_json(const zr_dezi_professional_t *p)
{
    json_t *o = json_object();
    char *out = NULL;
    if (!o || !p)
        goto end;
#define SET(f)                                                                                                         \
    if (p->f && json_object_set_new(o, #f, json_string(p->f)) != 0)                                                    \
        goto end;
    PRO_FIELDS(SET)
#undef SET
    if (json_object_set_new(o, "loa", json_integer(p->loa)) != 0 ||
        json_object_set_new(o, "verklaring_exp", json_integer((json_int_t)p->verklaring_exp)) != 0)
        goto end;
    out = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
end:
    json_decref(o);
    return out;
}

int zr_dezi_professional_from_json(const char *json, zr_dezi_professional_t *out)
{
    json_t *o = NULL, *v;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    if (!json)
        return -1;
    o = zr_dezi_json_parse(json, strlen(json));
    if (!o)
        goto end;
#define GET(f)                                                                                                         \
    v = json_object_get(o, #f);                                                                                        \
    if (v && !json_is_string(v))                                                                                       \
        goto end;                                                                                                      \
    if (v && !(out->f = strdup(json_string_value(v))))                                                                 \
        goto end;
    PRO_FIELDS(GET)
#undef GET
    v = json_object_get(o, "loa");
    if (!json_is_integer(v) || json_integer_value(v) < ZR_LOA_NONE || json_integer_value(v) > ZR_LOA_HIGH)
        goto end;
    out->loa = (zr_loa_t)json_integer_value(v);
    v = json_object_get(o, "verklaring_exp");
    if (!json_is_integer(v))
        goto end;
    out->verklaring_exp = (time_t)json_integer_value(v);
    /* The care identity must be complete. */
    if (!out->dezi_nummer || !out->ura || !out->rol_code)
        goto end;
    rc = 0;
end:
    json_decref(o);
    if (rc != 0)
        zr_dezi_professional_clear(out);
    return rc;
}
