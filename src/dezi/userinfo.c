/* The userinfo answer, layer by layer (reference/dezi.md §Checks, spec
 * v0.7 §4.3, §5): decrypt the JWE, verify the envelope (Dezi's own keys,
 * never a jku) and that it is about this login's subject, then the
 * verklaring (register key by allow-listed jku + kid), its times, its
 * json_schema, its verklaring_id against the envelope's, and the LoA. */
#include "dezi_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef enum { SHAPE_UNKNOWN = 0, SHAPE_V1, SHAPE_2024 } shape_t;

static shape_t schema_shape(const char *schema)
{
    if (!schema)
        return SHAPE_UNKNOWN;
    if (!strcmp(schema, ZR_DEZI_SCHEMA_V1) || !strcmp(schema, ZR_DEZI_SCHEMA_V1_ALT))
        return SHAPE_V1;
    if (!strcmp(schema, ZR_DEZI_SCHEMA_2024))
        return SHAPE_2024;
    return SHAPE_UNKNOWN;
}

/* Spec v0.7 §5.3.1 spells the host "eidas.europe.eu" in loa_dezi (and
 * "europa" in loa_authn, §4.3.6); both mean the eIDAS levels. */
static zr_loa_t loa_read(const char *s)
{
    static const char typo[] = "http://eidas.europe.eu/";
    char fixed[128];
    if (s && !strncasecmp(s, typo, sizeof(typo) - 1) && strlen(s) < sizeof(fixed)) {
        snprintf(fixed, sizeof(fixed), "http://eidas.europa.eu/%s", s + sizeof(typo) - 1);
        return zr_loa_parse(fixed);
    }
    return zr_loa_parse(s);
}

static const char *str_claim(json_t *o, const char *name) { return json_string_value(json_object_get(o, name)); }

/* A required short string claim, copied; -1 when absent or odd. */
static int take(json_t *o, const char *name, char **dst, int required)
{
    json_t *v = json_object_get(o, name);
    if (!v || json_is_null(v))
        return required ? -1 : 0;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 512 ||
        strlen(json_string_value(v)) != json_string_length(v))
        return -1;
    *dst = strdup(json_string_value(v));
    return *dst ? 0 : -1;
}

/* NN.SSS (reference/dezi.md §Role codes). */
static int rol_code_valid(const char *c)
{
    if (!c || strlen(c) != 6 || c[2] != '.')
        return 0;
    for (int i = 0; i < 6; i++)
        if (i != 2 && !isdigit((unsigned char)c[i]))
            return 0;
    return 1;
}

/* The 2024 shape: relations[] of {ura, entity_name, roles[]}. The care
 * identity is one (URA, role), so exactly one of each is accepted; a role
 * is a code string or an object {rol_code|code, rol_naam|name,
 * rol_code_bron|role_registry}. */
static int read_2024(json_t *v, zr_dezi_professional_t *p, char *err, size_t errlen)
{
    json_t *rels = json_object_get(v, "relations"), *rel, *roles, *role;
    if (!json_is_array(rels) || json_array_size(rels) != 1) {
        snprintf(err, errlen, "verklaring (2024): relations must hold exactly one organisation");
        return -1;
    }
    rel = json_array_get(rels, 0);
    roles = json_object_get(rel, "roles");
    if (!json_is_object(rel) || take(rel, "ura", &p->ura, 1) != 0 ||
        take(rel, "entity_name", &p->organisation_name, 0) != 0) {
        snprintf(err, errlen, "verklaring (2024): relation without ura");
        return -1;
    }
    if (!json_is_array(roles) || json_array_size(roles) != 1) {
        snprintf(err, errlen, "verklaring (2024): relation must hold exactly one role");
        return -1;
    }
    role = json_array_get(roles, 0);
    if (json_is_string(role)) {
        p->rol_code = strdup(json_string_value(role));
        return p->rol_code ? 0 : -1;
    }
    if (!json_is_object(role) ||
        take(role, json_object_get(role, "rol_code") ? "rol_code" : "code", &p->rol_code, 1) != 0 ||
        take(role, json_object_get(role, "rol_naam") ? "rol_naam" : "name", &p->rol_naam, 0) != 0 ||
        take(role, json_object_get(role, "rol_code_bron") ? "rol_code_bron" : "role_registry", &p->rol_code_bron,
             0) != 0) {
        snprintf(err, errlen, "verklaring (2024): role unreadable");
        return -1;
    }
    return 0;
}

static int read_v1(json_t *v, zr_dezi_professional_t *p, char *err, size_t errlen)
{
    if (take(v, "abonnee_nummer", &p->ura, 1) != 0 || take(v, "abonnee_naam", &p->organisation_name, 0) != 0 ||
        take(v, "rol_code", &p->rol_code, 1) != 0 || take(v, "rol_naam", &p->rol_naam, 0) != 0 ||
        take(v, "rol_code_bron", &p->rol_code_bron, 0) != 0) {
        snprintf(err, errlen, "verklaring: abonnee or role claims missing or malformed");
        return -1;
    }
    return 0;
}

/* Who may sign a layer: Dezi itself (its JWKS from discovery), or the
 * register (a key set named by an allow-listed jku). */
typedef enum { SIGNER_DEZI, SIGNER_REGISTER } signer_t;

/* Verifies a JWS with the key its signer publishes: for SIGNER_DEZI the kid
 * in Dezi's own JWKS, and a jku (or x5u) in the header is refused, so no
 * other key set can vouch for it; for SIGNER_REGISTER the jku is required
 * and must be allow-listed. */
static zr_dezi_status_t verify_signed(zr_dezi_t *d, const char *what, const char *compact, signer_t signer,
                                      json_t **claims, char *err, size_t errlen)
{
    json_t *hdr = zr_dezi_jose_header(compact);
    const char *alg, *jku, *kid;
    cjose_jwk_t *key = NULL;
    zr_dezi_status_t st = ZR_DEZI_INVALID;
    char why[128] = "";
    const char *failed = NULL;

    *claims = NULL;
    if (!hdr) {
        snprintf(err, errlen, "%s: not a JWS", what);
        goto end;
    }
    alg = str_claim(hdr, "alg");
    jku = str_claim(hdr, "jku");
    kid = str_claim(hdr, "kid");
    if (!alg || strcmp(alg, "RS256") != 0) {
        snprintf(err, errlen, "%s: algorithm not RS256", what);
        goto end;
    }
    /* Spec v0.7 §3.4: the userinfo answer is signed "met dezelfde sleutel
     * als het id_token", i.e. a key in Dezi's jwks_uri. A key set named in
     * the header could be the register's or anyone's. */
    if (signer == SIGNER_DEZI && (json_object_get(hdr, "jku") || json_object_get(hdr, "x5u"))) {
        snprintf(err, errlen, "%s: jku/x5u in the header refused (only Dezi's own keys sign it)", what);
        goto end;
    }
    if (signer == SIGNER_REGISTER && !jku) {
        snprintf(err, errlen, "%s: no jku in header", what);
        goto end;
    }
    if (signer == SIGNER_REGISTER && zr_dezi_jku_allowed(d, jku) < 0) {
        snprintf(err, errlen, "%s: jku not allow-listed", what);
        goto end;
    }
    key = zr_dezi_key_find(d, signer == SIGNER_REGISTER ? jku : NULL, kid, &st, why, sizeof(why));
    if (!key) {
        snprintf(err, errlen, "%s: %s", what, why);
        goto end;
    }
    *claims = zr_dezi_jws_verify(compact, key, &failed);
    if (!*claims) {
        st = ZR_DEZI_INVALID;
        snprintf(err, errlen, "%s: %s", what, failed);
        goto end;
    }
    st = ZR_DEZI_OK;
end:
    cjose_jwk_release(key);
    json_decref(hdr);
    return st;
}

static int media_type_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* RSA-OAEP + A256CBC-HS512 only (spec v0.7 §4.3.6); anything else is
 * refused before cjose is asked to decrypt. */
static char *jwe_decrypt(zr_dezi_t *d, const char *compact, size_t len, char *err, size_t errlen)
{
    json_t *hdr = zr_dezi_jose_header(compact);
    cjose_err cerr;
    cjose_jwe_t *jwe = NULL;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    char *out = NULL;
    const char *alg, *enc;

    if (!hdr) {
        snprintf(err, errlen, "userinfo: JWE header unreadable");
        goto end;
    }
    alg = str_claim(hdr, "alg");
    enc = str_claim(hdr, "enc");
    if (!alg || strcmp(alg, "RSA-OAEP") != 0 || !enc || strcmp(enc, "A256CBC-HS512") != 0 ||
        json_object_get(hdr, "zip")) {
        snprintf(err, errlen, "userinfo: JWE alg/enc not RSA-OAEP/A256CBC-HS512");
        goto end;
    }
    if (!d->decrypt_jwk) {
        snprintf(err, errlen, "userinfo: encrypted but no dezi.decryption_key configured");
        goto end;
    }
    jwe = cjose_jwe_import(compact, len, &cerr);
    if (jwe)
        plain = cjose_jwe_decrypt(jwe, d->decrypt_jwk, &plain_len, &cerr);
    if (!plain || plain_len == 0 || plain_len > ZR_DEZI_MAX_RESPONSE || memchr(plain, 0, plain_len)) {
        snprintf(err, errlen, "userinfo: JWE does not decrypt with our key");
        goto end;
    }
    out = strndup((const char *)plain, plain_len);
end:
    if (plain) {
        OPENSSL_cleanse(plain, plain_len);
        free(plain);
    }
    cjose_jwe_release(jwe);
    json_decref(hdr);
    return out;
}

static int time_window_ok(json_t *claims, int need_nbf, time_t now, const char *what, time_t *exp_out, char *err,
                          size_t errlen)
{
    time_t exp = 0, nbf = 0, iat = 0;
    if (zr_dezi_claim_time(claims, "exp", &exp) != 0) {
        snprintf(err, errlen, "%s: exp missing", what);
        return -1;
    }
    if (exp + ZR_DEZI_CLOCK_SKEW_S <= now) {
        snprintf(err, errlen, "%s: expired", what);
        return -1;
    }
    if (json_object_get(claims, "nbf") || need_nbf) {
        if (zr_dezi_claim_time(claims, "nbf", &nbf) != 0) {
            snprintf(err, errlen, "%s: nbf missing", what);
            return -1;
        }
        if (nbf > now + ZR_DEZI_CLOCK_SKEW_S) {
            snprintf(err, errlen, "%s: not yet valid (nbf)", what);
            return -1;
        }
    }
    if (json_object_get(claims, "iat") &&
        (zr_dezi_claim_time(claims, "iat", &iat) != 0 || iat > now + ZR_DEZI_CLOCK_SKEW_S)) {
        snprintf(err, errlen, "%s: iat in the future", what);
        return -1;
    }
    if (exp_out)
        *exp_out = exp;
    return 0;
}

zr_dezi_status_t zr_dezi_userinfo_validate_ex(zr_dezi_t *d, const char *body, size_t len, const char *content_type,
                                              const char *id_token_sub, zr_dezi_professional_t *out,
                                              char **status_uri, char *err, size_t errlen)
{
    zr_dezi_status_t st = ZR_DEZI_INVALID;
    zr_dezi_professional_t p;
    json_t *env = NULL, *ver = NULL;
    char *compact = NULL, *jws = NULL;
    const char *verklaring, *env_vid, *ver_vid, *schema, *suri, *env_sub;
    char why[128];
    zr_loa_t loa_authn, loa_dezi;
    time_t now = zr_time_now();
    int dots;

    memset(&p, 0, sizeof(p));
    if (status_uri)
        *status_uri = NULL;
    if (err && errlen)
        err[0] = '\0';
    if (!id_token_sub || !*id_token_sub) {
        snprintf(err, errlen, "userinfo: no id_token sub to compare with");
        goto end;
    }
    if (!body || len == 0 || len > ZR_DEZI_MAX_RESPONSE) {
        snprintf(err, errlen, "userinfo: empty or too large");
        goto end;
    }
    if (!media_type_is(content_type, "application/jwt") && !media_type_is(content_type, "application/jose")) {
        snprintf(err, errlen, "userinfo: content type is not application/jwt");
        goto end;
    }
    if (zr_dezi_discovery_load(d, err, errlen) != 0) {
        st = ZR_DEZI_UNAVAILABLE;
        goto end;
    }
    compact = strndup(body, len);
    if (!compact)
        goto end;
    zr_str_trim(compact);
    dots = zr_dezi_jose_dots(compact, strlen(compact));
    if (dots == 4) {
        jws = jwe_decrypt(d, compact, strlen(compact), err, errlen);
        if (!jws)
            goto end;
    } else if (dots == 2) {
        /* Spec v0.7 §4.3.2: Dezi encrypts userinfo to our registered key.
         * reference/dezi.md: acceptance has answered a plain signed JWT;
         * tolerated outside production, its signature checked all the same. */
        if (d->env == ZR_ENV_PRODUCTION) {
            snprintf(err, errlen, "userinfo: not encrypted (a JWE to dezi.decryption_key is required in production)");
            goto end;
        }
        zr_log_warn("dezi_userinfo_unencrypted",
                    "userinfo answered a signed JWT without encryption (refused in production)");
        jws = strdup(compact);
        if (!jws)
            goto end;
    } else {
        snprintf(err, errlen, "userinfo: neither JWE nor JWS");
        goto end;
    }

    /* Envelope: Dezi's own key, like the id_token (spec v0.7 §3.4). */
    st = verify_signed(d, "envelope", jws, SIGNER_DEZI, &env, err, errlen);
    if (st != ZR_DEZI_OK)
        goto end;
    st = ZR_DEZI_INVALID;
    if (!zr_dezi_iss_matches(str_claim(env, "iss"), d->cfg->issuer)) {
        snprintf(err, errlen, "envelope: wrong issuer");
        goto end;
    }
    if (!zr_dezi_aud_contains(env, d->cfg->client_id)) {
        snprintf(err, errlen, "envelope: audience is not our client_id");
        goto end;
    }
    if (time_window_ok(env, 0, now, "envelope", NULL, err, errlen) != 0)
        goto end;
    /* OIDC Core §5.3.2: userinfo about another subject than the id_token
     * must not be used. Spec v0.7 §4.3.5 lists no sub in the envelope, so
     * an envelope without one is bound to this login by the access token
     * alone: let through, but said. */
    env_sub = str_claim(env, "sub");
    if (json_object_get(env, "sub") && (!env_sub || strcmp(env_sub, id_token_sub) != 0)) {
        snprintf(err, errlen, "envelope: sub differs from the id_token's sub");
        goto end;
    }
    if (!env_sub)
        zr_log_warn("dezi_userinfo_no_sub", "userinfo envelope has no sub to compare with the id_token's");
    env_vid = str_claim(env, "verklaring_id");
    verklaring = str_claim(env, "verklaring");
    if (!env_vid || !verklaring) {
        snprintf(err, errlen, "envelope: verklaring or verklaring_id missing");
        goto end;
    }

    /* Verklaring: the register's seal, found by allow-listed jku (§5). */
    st = verify_signed(d, "verklaring", verklaring, SIGNER_REGISTER, &ver, err, errlen);
    if (st != ZR_DEZI_OK)
        goto end;
    st = ZR_DEZI_INVALID;
    if (time_window_ok(ver, 1, now, "verklaring", &p.verklaring_exp, err, errlen) != 0)
        goto end;
    schema = str_claim(ver, "json_schema");
    if (schema_shape(schema) == SHAPE_UNKNOWN) {
        snprintf(err, errlen, "verklaring: unknown json_schema");
        goto end;
    }
    ver_vid = str_claim(ver, "verklaring_id");
    if (!ver_vid || strcmp(ver_vid, env_vid) != 0) {
        snprintf(err, errlen, "verklaring: verklaring_id differs from the envelope's");
        goto end;
    }
    if (take(ver, "dezi_nummer", &p.dezi_nummer, 1) != 0 || take(ver, "achternaam", &p.achternaam, 1) != 0 ||
        take(ver, "voorletters", &p.voorletters, 0) != 0 || take(ver, "voorvoegsel", &p.voorvoegsel, 0) != 0) {
        snprintf(err, errlen, "verklaring: name claims missing or malformed");
        goto end;
    }
    if ((schema_shape(schema) == SHAPE_2024 ? read_2024(ver, &p, err, errlen) : read_v1(ver, &p, err, errlen)) != 0)
        goto end;
    if (!rol_code_valid(p.rol_code)) {
        snprintf(err, errlen, "verklaring: rol_code is not NN.SSS");
        goto end;
    }
    if (!(p.verklaring_id = strdup(ver_vid)) || !(p.json_schema = strdup(schema)))
        goto end;
    suri = str_claim(ver, "status_uri");
    if (!suri)
        suri = str_claim(ver, "revocatie_controle_uri");
    if (suri && zr_dezi_url_check(suri, d->env, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "verklaring: status URI %s", why);
        goto end;
    }

    /* LoA: both the authentication and the verklaring (reference/dezi.md). */
    loa_authn = loa_read(str_claim(env, "loa_authn"));
    loa_dezi = loa_read(str_claim(ver, "loa_dezi"));
    p.loa = loa_authn < loa_dezi ? loa_authn : loa_dezi;
    if (p.loa < d->cfg->min_loa || p.loa == ZR_LOA_NONE) {
        st = ZR_DEZI_LOA_TOO_LOW;
        snprintf(err, errlen, "loa_authn/loa_dezi below dezi.min_loa");
        goto end;
    }
    if (status_uri && suri && !(*status_uri = strdup(suri)))
        goto end;
    *out = p;
    memset(&p, 0, sizeof(p));
    st = ZR_DEZI_OK;
end:
    zr_dezi_professional_clear(&p);
    json_decref(env);
    json_decref(ver);
    free(compact);
    if (jws) {
        OPENSSL_cleanse(jws, strlen(jws));
        free(jws);
    }
    return st;
}

zr_dezi_status_t zr_dezi_userinfo_validate(zr_dezi_t *d, const char *body, size_t len, const char *content_type,
                                           const char *id_token_sub, zr_dezi_professional_t *out, char *err,
                                           size_t errlen)
{
    return zr_dezi_userinfo_validate_ex(d, body, len, content_type, id_token_sub, out, NULL, err, errlen);
}
