/* The ID token (NL GOV §ID Tokens) and the subject claims it shares with the
 * UserInfo response. The BSN leaves the relay only in `bsn` claims and only
 * towards a client that is entitled to process it. */
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

int zr_oidc_subject_claims(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_t *subject,
                           json_t *claims)
{
    char *sub = NULL, *legal_sub = NULL;
    json_t *rep = NULL;
    int rc = -1;

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
