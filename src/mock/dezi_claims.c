/* What the mock Dezi signs: the id_token (§4.2.4, no professional data),
 * the userinfo answer (§4.3: JWE of the signed envelope holding the
 * verklaring, §5) and the revocation list (§6.3.4). */
#include "mock_dezi_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/util.h"

/* at_hash: left half of SHA-256 of the access token (OIDC Core §3.1.3.6). */
static char *at_hash(const char *access_token)
{
    uint8_t h[32];
    if (zr_crypto_sha256((const uint8_t *)access_token, strlen(access_token), h) != 0)
        return NULL;
    return zr_base64url_encode(h, 16);
}

char *zr_mock_dezi_id_token(const zr_mock_dezi_t *d, const zr_mock_dezi_grant_t *g, const char *access_token)
{
    const zr_mock_dezi_person_t *p = &zr_mock_dezi_people[g->person];
    json_t *c = json_object();
    char *sub = zr_mock_dezi_pairwise_sub(d, g->client_id, p->dezi_nummer);
    char *ath = at_hash(access_token), *out = NULL;
    time_t now = zr_time_now();

    if (!c || !sub || !ath)
        goto end;
    json_object_set_new(c, "iss", json_string(d->issuer));
    json_object_set_new(c, "aud", json_string(g->client_id));
    json_object_set_new(c, "azp", json_string(g->client_id));
    json_object_set_new(c, "sub", json_string(sub));
    json_object_set_new(c, "iat", json_integer((json_int_t)now));
    json_object_set_new(c, "exp", json_integer((json_int_t)now + 300));
    json_object_set_new(c, "auth_time", json_integer((json_int_t)g->auth_time));
    json_object_set_new(c, "at_hash", json_string(ath));
    if (g->nonce)
        json_object_set_new(c, "nonce", json_string(g->nonce));
    out = zr_mock_dezi_sign(&d->signing, NULL, c);
end:
    json_decref(c);
    free(sub);
    free(ath);
    return out;
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The verklaring (§5.1), signed with the register's key; jku points at the
 * mock's register key set so a client finds the key as at Dezi (§3.4). */
static char *verklaring(const zr_mock_dezi_t *d, const zr_mock_dezi_person_t *p, time_t now)
{
    json_t *c = json_object();
    char *jti = zr_mock_dezi_uuid(), *out = NULL;
    zr_buf_t uri, jku;

    zr_buf_init(&uri);
    zr_buf_init(&jku);
    if (!c || !jti ||
        zr_buf_printf(&uri, "%s%s%s", d->issuer,
                      p->status_uri_old_name ? ZR_MOCK_DEZI_PATH_STATUS_OLD : ZR_MOCK_DEZI_PATH_STATUS,
                      p->verklaring_id) != 0 ||
        zr_buf_printf(&jku, "%s%s", d->issuer, ZR_MOCK_DEZI_PATH_REGISTER_JWKS) != 0)
        goto end;
    json_object_set_new(c, "jti", json_string(jti));
    json_object_set_new(c, "iss", json_string(d->issuer));
    /* Issued a while ago, valid for months: a verklaring outlives a login. */
    json_object_set_new(c, "nbf", json_integer((json_int_t)now - 86400));
    json_object_set_new(c, "exp", json_integer((json_int_t)now + 90 * 86400));
    json_object_set_new(c, "json_schema", json_string(p->shape == ZR_MOCK_DEZI_SHAPE_2024
                                                          ? ZR_MOCK_DEZI_SCHEMA_VERKLARING_2024
                                                          : ZR_MOCK_DEZI_SCHEMA_VERKLARING));
    json_object_set_new(c, "loa_dezi", json_string(ZR_MOCK_DEZI_LOA_HIGH));
    json_object_set_new(c, "verklaring_id", json_string(p->verklaring_id));
    json_object_set_new(c, "dezi_nummer", json_string(p->dezi_nummer));
    json_object_set_new(c, "voorletters", json_string(p->voorletters));
    json_object_set_new(c, "voorvoegsel", string_or_null(p->voorvoegsel));
    json_object_set_new(c, "achternaam", json_string(p->achternaam));
    if (p->shape == ZR_MOCK_DEZI_SHAPE_2024) {
        /* 2024: the organisations and roles as a list (reference/dezi.md). */
        json_t *rel = json_object(), *roles = json_array(), *list = json_array();
        json_array_append_new(roles, json_string(p->rol_code));
        json_object_set_new(rel, "ura", json_string(p->abonnee_nummer));
        json_object_set_new(rel, "entity_name", json_string(p->abonnee_naam));
        json_object_set_new(rel, "roles", roles);
        json_array_append_new(list, rel);
        json_object_set_new(c, "relations", list);
    } else {
        json_object_set_new(c, "abonnee_nummer", json_string(p->abonnee_nummer));
        json_object_set_new(c, "abonnee_naam", json_string(p->abonnee_naam));
        json_object_set_new(c, "rol_code", json_string(p->rol_code));
        json_object_set_new(c, "rol_naam", json_string(p->rol_naam));
        json_object_set_new(c, "rol_code_bron", json_string(p->rol_code_bron));
    }
    json_object_set_new(c, p->status_uri_old_name ? "revocatie_controle_uri" : "status_uri", json_string(uri.data));
    out = zr_mock_dezi_sign(&d->reg, jku.data, c);
end:
    json_decref(c);
    free(jti);
    zr_buf_free(&uri);
    zr_buf_free(&jku);
    return out;
}

char *zr_mock_dezi_userinfo(const zr_mock_dezi_t *d, const zr_mock_dezi_grant_t *g)
{
    const zr_mock_dezi_person_t *p = &zr_mock_dezi_people[g->person];
    time_t now = zr_time_now();
    json_t *c = json_object();
    char *jti = zr_mock_dezi_uuid(), *vk = verklaring(d, p, now), *envelope = NULL, *out = NULL;
    char *sub = zr_mock_dezi_pairwise_sub(d, g->client_id, p->dezi_nummer);

    if (!c || !jti || !vk || !sub)
        goto end;
    /* The envelope (§4.3.5), signed with the id_token's key (§3.4), no jku.
     * §4.3.5 lists no sub; OIDC Core §5.3.2 wants the id_token's, and the
     * relay compares it when present, so the mock sends it. */
    json_object_set_new(c, "sub", json_string(sub));
    json_object_set_new(c, "jti", json_string(jti));
    json_object_set_new(c, "iat", json_integer((json_int_t)now));
    json_object_set_new(c, "exp", json_integer((json_int_t)now + ZR_MOCK_DEZI_ENVELOPE_TTL_S));
    json_object_set_new(c, "iss", json_string(d->issuer));
    json_object_set_new(c, "aud", json_string(g->client_id));
    json_object_set_new(c, "loa_authn", json_string(ZR_MOCK_DEZI_LOA_HIGH));
    json_object_set_new(c, "json_schema", json_string(ZR_MOCK_DEZI_SCHEMA_USERINFO));
    json_object_set_new(c, "verklaring_id", json_string(p->verklaring_id));
    json_object_set_new(c, "verklaring", json_string(vk));
    envelope = zr_mock_dezi_sign(&d->signing, NULL, c);
    if (envelope && d->cfg->mock_dezi.userinfo_signed_jwt) {
        out = envelope; /* as the acceptance environment: signed, not encrypted */
        envelope = NULL;
    } else if (envelope) {
        out = zr_mock_dezi_encrypt(&d->recipient, envelope);
    }
end:
    json_decref(c);
    free(jti);
    free(vk);
    free(sub);
    free(envelope);
    return out;
}

/* As the spec's example list (decoded): exp, nbf and ververs_tijdstip are
 * numeric strings, entries are {verklaringId, revocatieTijdstip} with an
 * ISO 8601 time and offset. A client has to read this form. */
char *zr_mock_dezi_revocation_list(const zr_mock_dezi_t *d)
{
    time_t now = zr_time_now();
    json_t *c = json_object(), *list = json_array();
    char *jti = zr_mock_dezi_uuid(), *out = NULL;
    char num[32];
    zr_buf_t jku;

    zr_buf_init(&jku);
    if (!c || !list || !jti || zr_buf_printf(&jku, "%s%s", d->issuer, ZR_MOCK_DEZI_PATH_REGISTER_JWKS) != 0)
        goto end;
    json_object_set_new(c, "jti", json_string(jti));
    json_object_set_new(c, "iss", json_string(d->issuer));
    snprintf(num, sizeof(num), "%lld", (long long)now + 2 * 86400);
    json_object_set_new(c, "exp", json_string(num));
    snprintf(num, sizeof(num), "%lld", (long long)now);
    json_object_set_new(c, "nbf", json_string(num));
    /* Refresh within half an hour, like the example. */
    snprintf(num, sizeof(num), "%lld", (long long)now + 1800);
    json_object_set_new(c, "ververs_tijdstip", json_string(num));
    for (size_t i = 0; i < zr_mock_dezi_people_count; i++) {
        json_t *e;
        if (!zr_mock_dezi_people[i].revoked)
            continue;
        e = json_object();
        json_object_set_new(e, "verklaringId", json_string(zr_mock_dezi_people[i].verklaring_id));
        json_object_set_new(e, "revocatieTijdstip", json_string("2026-01-05T09:00:00+01:00"));
        json_array_append_new(list, e);
    }
    json_object_set(c, "revocaties", list);
    out = zr_mock_dezi_sign(&d->reg, jku.data, c);
end:
    json_decref(list);
    json_decref(c);
    free(jti);
    zr_buf_free(&jku);
    return out;
}
