/* The ID token (NL GOV §ID Tokens) and the subject claims it shares with the
 * UserInfo and introspection responses (docs/claims.md). The BSN leaves the
 * relay only in `bsn` claims and only towards a client that is entitled to
 * process it; a professional's claims come from the Dezi verklaring. */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static int is_bsn(const zr_subject_id_t *id)
{
    return id->value && id->id_type && strcmp(id->id_type, ZR_ID_LEGACY_BSN) == 0;
}

static void set_str(json_t *o, const char *k, const char *v)
{
    if (v)
        json_object_set_new(o, k, json_string(v));
}

/* "A.B. van der Berg": initials, prefix and surname, whichever are known. */
static char *professional_name(const zr_subject_professional_t *p)
{
    const char *parts[] = {p->initials, p->surname_prefix, p->surname};
    char *out = NULL;
    zr_buf_t b;

    zr_buf_init(&b);
    for (size_t i = 0; i < 3; i++) {
        if (!parts[i] || !*parts[i])
            continue;
        if ((b.len && zr_buf_appends(&b, " ") != 0) || zr_buf_appends(&b, parts[i]) != 0)
            goto end;
    }
    if (b.len)
        out = zr_buf_steal(&b);
end:
    zr_buf_free(&b);
    return out;
}

/* A professional: a pairwise sub over the Dezi number (typed as a UZI
 * person number, so it never equals a patient's), and the verklaring's
 * fields under OIDC / Dezi names. Never a BSN. */
static int professional_claims(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_professional_t *p,
                               json_t *claims)
{
    zr_subject_id_t id = {(char *)ZR_OIDC_ID_UZI_PERSON, p->dezi_nummer};
    char *sub = NULL, *name = NULL;
    json_t *roles = json_array();
    int rc = -1;

    if (!p->dezi_nummer || !(sub = zr_oidc_pairwise_sub(op, client, &id)))
        goto end;
    json_object_set_new(claims, "sub", json_string(sub));
    json_object_set_new(claims, "sub_id_type", json_string(ZR_OIDC_SUB_ID_TYPE));
    set_str(claims, "dezi_nummer", p->dezi_nummer);
    set_str(claims, "ura", p->ura);
    set_str(claims, "organization_name", p->organisation_name);
    set_str(claims, "rol_code", p->rol_code);
    set_str(claims, "rol_naam", p->rol_naam);
    set_str(claims, "rol_code_bron", p->rol_code_bron);
    for (size_t i = 0; i < p->role_count; i++)
        if (p->roles[i])
            json_array_append_new(roles, json_string(p->roles[i]));
    json_object_set(claims, "roles", roles); /* [] when the client allows unmapped roles */
    set_str(claims, "initials", p->initials);
    set_str(claims, "surname_prefix", p->surname_prefix);
    set_str(claims, "family_name", p->surname);
    name = professional_name(p);
    set_str(claims, "name", name);
    set_str(claims, "verklaring_id", p->verklaring_id);
    rc = 0;
end:
    free(sub);
    free(name);
    json_decref(roles);
    return rc;
}

int zr_oidc_subject_claims(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_t *subject,
                           json_t *claims)
{
    char *sub = NULL, *legal_sub = NULL;
    json_t *rep = NULL;
    int rc = -1;

    if (subject->kind == ZR_SUBJECT_PROFESSIONAL)
        return professional_claims(op, client, &subject->pro, claims);
    if (subject->kind != ZR_SUBJECT_PATIENT)
        return -1;
    sub = zr_oidc_pairwise_sub(op, client, &subject->acting);
    if (!sub)
        goto end;
    /* The top-level subject is always the person who logged in (NL GOV
     * §Representation Relationships). */
    json_object_set_new(claims, "sub", json_string(sub));
    json_object_set_new(claims, "sub_id_type", json_string(ZR_OIDC_SUB_ID_TYPE));
    if (client->bsn_entitled && is_bsn(&subject->acting))
        json_object_set_new(claims, "bsn", json_string(subject->acting.value));
    if (subject->has_legal && subject->legal.value) {
        legal_sub = zr_oidc_pairwise_sub(op, client, &subject->legal);
        if (!legal_sub)
            goto end;
        rep = json_object();
        json_object_set_new(rep, "sub", json_string(legal_sub));
        json_object_set_new(rep, "sub_id_type", json_string(ZR_OIDC_SUB_ID_TYPE));
        json_object_set_new(rep, "iss", json_string(op->issuer));
        if (subject->representation_type)
            json_object_set_new(rep, "representation_type", json_string(subject->representation_type));
        if (client->bsn_entitled && is_bsn(&subject->legal))
            json_object_set_new(rep, "bsn", json_string(subject->legal.value));
        json_object_set_new(claims, "represents", rep);
    }
    rc = 0;
end:
    free(sub);
    free(legal_sub);
    return rc;
}

char *zr_oidc_id_token(const zr_oidc_t *op, const zr_client_t *client, const zr_oidc_authz_t *authz,
                       const zr_subject_t *subject)
{
    const zr_oidc_signer_t *signer = zr_oidc_signer_for(op, client->id_token_alg);
    json_t *claims = json_object();
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    memset(&cerr, 0, sizeof(cerr));
    char *payload = NULL, *jti = NULL, *out = NULL;
    const char *compact = NULL;
    time_t now = zr_time_now();

    jti = zr_random_token(16);
    if (!signer || !jti || zr_oidc_subject_claims(op, client, subject, claims) != 0)
        goto end;
    json_object_set_new(claims, "iss", json_string(op->issuer));
    json_object_set_new(claims, "aud", json_string(client->client_id));
    json_object_set_new(claims, "azp", json_string(client->client_id));
    json_object_set_new(claims, "iat", json_integer((json_int_t)now));
    json_object_set_new(claims, "nbf", json_integer((json_int_t)now));
    json_object_set_new(claims, "exp", json_integer((json_int_t)(now + op->cfg->oidc.id_token_lifetime_s)));
    json_object_set_new(claims, "jti", json_string(jti));
    if (subject->auth_time > 0)
        json_object_set_new(claims, "auth_time", json_integer((json_int_t)subject->auth_time));
    if (authz->nonce)
        json_object_set_new(claims, "nonce", json_string(authz->nonce));
    /* The relay's logout session (Front-/Back-Channel Logout 1.0 §2.1/§3). */
    if (authz->sid)
        json_object_set_new(claims, "sid", json_string(authz->sid));
    /* acr is the level reached, never amr (NL GOV §Authentication Context). */
    if (zr_loa_uri(subject->loa))
        json_object_set_new(claims, "acr", json_string(zr_loa_uri(subject->loa)));
    payload = json_dumps(claims, JSON_COMPACT);
    hdr = cjose_header_new(&cerr);
    if (!payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, signer->alg, &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, signer->kid, &cerr) || !cjose_header_set(hdr, "typ", "JWT", &cerr))
        goto end;
    jws = cjose_jws_sign(signer->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    if (!jws || !cjose_jws_export(jws, &compact, &cerr)) {
        zr_log_error("token", "cannot sign ID token: %s", cerr.message ? cerr.message : "?");
        goto end;
    }
    out = strdup(compact);
end:
    zr_oidc_wipe_free(payload);
    free(jti);
    cjose_jws_release(jws);
    if (hdr)
        cjose_header_release(hdr);
    json_decref(claims);
    return out;
}
