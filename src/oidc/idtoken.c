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

    if (!p->dezi_nummer || !(sub = zr_oidc_pairwise_sub(op, client, &id)) || !roles)
        goto end;
    for (size_t i = 0; i < p->role_count; i++)
        if (p->roles[i] && json_array_append_new(roles, json_string(p->roles[i])) != 0)
            goto end;
    name = professional_name(p);
    /* Every field the verklaring has is passed on, or none: a value that
     * cannot be written is an error, never a claim left out. */
    if (zr_oidc_json_set_str(claims, "sub", sub) != 0 ||
        zr_oidc_json_set_str(claims, "sub_id_type", ZR_OIDC_SUB_ID_TYPE) != 0 ||
        zr_oidc_json_set_opt(claims, "dezi_nummer", p->dezi_nummer) != 0 ||
        zr_oidc_json_set_opt(claims, "ura", p->ura) != 0 ||
        zr_oidc_json_set_opt(claims, "organization_name", p->organisation_name) != 0 ||
        zr_oidc_json_set_opt(claims, "rol_code", p->rol_code) != 0 ||
        zr_oidc_json_set_opt(claims, "rol_naam", p->rol_naam) != 0 ||
        zr_oidc_json_set_opt(claims, "rol_code_bron", p->rol_code_bron) != 0 ||
        json_object_set(claims, "roles", roles) != 0 || /* [] when the client allows unmapped roles */
        zr_oidc_json_set_opt(claims, "initials", p->initials) != 0 ||
        zr_oidc_json_set_opt(claims, "surname_prefix", p->surname_prefix) != 0 ||
        zr_oidc_json_set_opt(claims, "family_name", p->surname) != 0 ||
        zr_oidc_json_set_opt(claims, "name", name) != 0 ||
        zr_oidc_json_set_opt(claims, "verklaring_id", p->verklaring_id) != 0)
        goto end;
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
    if (zr_oidc_json_set_str(claims, "sub", sub) != 0 ||
        zr_oidc_json_set_str(claims, "sub_id_type", ZR_OIDC_SUB_ID_TYPE) != 0 ||
        (client->bsn_entitled && is_bsn(&subject->acting) &&
         zr_oidc_json_set_str(claims, "bsn", subject->acting.value) != 0))
        goto end;
    if (subject->has_legal && subject->legal.value) {
        legal_sub = zr_oidc_pairwise_sub(op, client, &subject->legal);
        rep = json_object();
        if (!legal_sub || zr_oidc_json_set_str(rep, "sub", legal_sub) != 0 ||
            zr_oidc_json_set_str(rep, "sub_id_type", ZR_OIDC_SUB_ID_TYPE) != 0 ||
            zr_oidc_json_set_str(rep, "iss", op->issuer) != 0 ||
            zr_oidc_json_set_opt(rep, "representation_type", subject->representation_type) != 0 ||
            (client->bsn_entitled && is_bsn(&subject->legal) &&
             zr_oidc_json_set_str(rep, "bsn", subject->legal.value) != 0) ||
            json_object_set(claims, "represents", rep) != 0)
            goto end;
    }
    rc = 0;
end:
    free(sub);
    free(legal_sub);
    json_decref(rep);
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
    /* The subject's claims, narrowed to what a claims parameter asked for. */
    if (!signer || !jti || zr_oidc_subject_claims(op, client, subject, claims) != 0 ||
        zr_oidc_claims_request_filter(authz->claims, "id_token", claims) != 0)
        goto end;
    if (zr_oidc_json_set_str(claims, "iss", op->issuer) != 0 ||
        zr_oidc_json_set_str(claims, "aud", client->client_id) != 0 ||
        zr_oidc_json_set_str(claims, "azp", client->client_id) != 0 ||
        zr_oidc_json_set(claims, "iat", json_integer((json_int_t)now)) != 0 ||
        zr_oidc_json_set(claims, "nbf", json_integer((json_int_t)now)) != 0 ||
        zr_oidc_json_set(claims, "exp", json_integer((json_int_t)(now + op->cfg->oidc.id_token_lifetime_s))) != 0 ||
        zr_oidc_json_set_str(claims, "jti", jti) != 0 ||
        (subject->auth_time > 0 &&
         zr_oidc_json_set(claims, "auth_time", json_integer((json_int_t)subject->auth_time)) != 0) ||
        /* NL GOV §ID Tokens: the request's nonce (required at /authorize;
         * absent only for a login begun before that rule) */
        zr_oidc_json_set_opt(claims, "nonce", authz->nonce) != 0 ||
        /* The relay's logout session (Front-/Back-Channel Logout 1.0 §2.1/§3). */
        zr_oidc_json_set_opt(claims, "sid", authz->sid) != 0 ||
        /* acr is the level reached, never amr (NL GOV §Authentication Context). */
        zr_oidc_json_set_opt(claims, "acr", zr_loa_uri(subject->loa)) != 0)
        goto end;
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
    /* Issue 17 §2 (OIDC Core §10.2): signed, then encrypted to the client's
     * key when it registered id_token_encrypted_response_alg, so that the
     * BSN never crosses the portal's front end in clear. */
    out = client->id_token_encrypted ? zr_oidc_encrypt_for_client(op, client, 1, compact, 1) : strdup(compact);
    if (!out)
        zr_log_error("token", "client=%s cannot encrypt the ID token", client->client_id);
end:
    zr_oidc_wipe_free(payload);
    free(jti);
    cjose_jws_release(jws);
    if (hdr)
        cjose_header_release(hdr);
    json_decref(claims);
    return out;
}
