/* Access tokens as signed JWTs (RFC 9068; NL GOV §Access Tokens), still
 * revocable: the JWT names its store record by `jti`, and /userinfo and
 * /introspect accept it only while that record exists (a replayed code
 * deletes it). The token travels to the portal's resource servers, so it
 * carries the pairwise `sub` and never a BSN (docs/claims.md). */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>

char *zr_oidc_jws_sign(const zr_oidc_signer_t *signer, const char *typ, json_t *claims)
{
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    char *payload = NULL, *out = NULL;
    const char *compact = NULL;

    memset(&cerr, 0, sizeof(cerr));
    payload = json_dumps(claims, JSON_COMPACT);
    hdr = cjose_header_new(&cerr);
    if (!signer || !payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, signer->alg, &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, signer->kid, &cerr) || !cjose_header_set(hdr, "typ", typ, &cerr))
        goto end;
    jws = cjose_jws_sign(signer->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    if (!jws || !cjose_jws_export(jws, &compact, &cerr)) {
        zr_log_error("token", "cannot sign a %s: %s", typ, cerr.message ? cerr.message : "?");
        goto end;
    }
    out = strdup(compact);
end:
    zr_oidc_wipe_free(payload);
    cjose_jws_release(jws);
    if (hdr)
        cjose_header_release(hdr);
    return out;
}

char *zr_oidc_access_token(const zr_oidc_t *op, const zr_client_t *client, const zr_oidc_authz_t *authz,
                           const zr_subject_t *subject, time_t iat, int lifetime, const char *x5t,
                           char **jti_out)
{
    json_t *claims = json_object();
    char *sub = NULL, *jti = NULL, *out = NULL;

    *jti_out = NULL;
    sub = zr_oidc_subject_sub(op, client, subject);
    jti = zr_random_token(16);
    if (!sub || !jti)
        goto end;
    /* RFC 9068 §2.2: aud is the portal (its client registration stands for
     * its resource servers); acr and auth_time let them step up (§2.2.1). */
    if (zr_oidc_json_set_str(claims, "iss", op->issuer) != 0 || zr_oidc_json_set_str(claims, "sub", sub) != 0 ||
        zr_oidc_json_set_str(claims, "aud", client->client_id) != 0 ||
        zr_oidc_json_set_str(claims, "client_id", client->client_id) != 0 ||
        zr_oidc_json_set(claims, "iat", json_integer((json_int_t)iat)) != 0 ||
        zr_oidc_json_set(claims, "exp", json_integer((json_int_t)iat + lifetime)) != 0 ||
        zr_oidc_json_set_str(claims, "jti", jti) != 0 || zr_oidc_json_set_str(claims, "scope", authz->scope) != 0 ||
        zr_oidc_json_set_opt(claims, "acr", zr_loa_uri(subject->loa)) != 0 ||
        (subject->auth_time > 0 &&
         zr_oidc_json_set(claims, "auth_time", json_integer((json_int_t)subject->auth_time)) != 0) ||
        (x5t && zr_oidc_json_set(claims, "cnf", json_pack("{s:s}", "x5t#S256", x5t)) != 0))
        goto end;
    out = zr_oidc_jws_sign(zr_oidc_signer_for(op, client->id_token_alg), "at+jwt", claims);
    if (out) {
        *jti_out = jti;
        jti = NULL;
    }
end:
    free(sub);
    free(jti);
    json_decref(claims);
    return out;
}

/* The signer whose kid the header names; its alg must be the header's
 * (no algorithm confusion: the key decides, not the token). */
static const zr_oidc_signer_t *signer_by_kid(const zr_oidc_t *op, const char *kid, const char *alg)
{
    if (!kid || !alg)
        return NULL;
    for (size_t i = 0; i < op->signer_count; i++)
        if (strcmp(op->signers[i].kid, kid) == 0)
            return strcmp(op->signers[i].alg, alg) == 0 ? &op->signers[i] : NULL;
    return NULL;
}

json_t *zr_oidc_access_token_verify(const zr_oidc_t *op, const char *token)
{
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    cjose_err cerr;
    const zr_oidc_signer_t *signer;
    const char *typ;
    uint8_t *payload = NULL;
    size_t len = 0, token_len = strlen(token);
    json_t *claims = NULL, *out = NULL, *exp;
    json_error_t jerr;

    memset(&cerr, 0, sizeof(cerr));
    if (token_len == 0 || token_len > ZR_OIDC_ACCESS_TOKEN_MAX || !(jws = cjose_jws_import(token, token_len, &cerr)))
        goto end;
    hdr = cjose_jws_get_protected(jws);
    typ = hdr ? cjose_header_get(hdr, "typ", &cerr) : NULL;
    /* RFC 9068 §4: typ at+jwt, so that no other JWT of ours (an ID token)
     * passes for an access token */
    signer = hdr ? signer_by_kid(op, cjose_header_get(hdr, CJOSE_HDR_KID, &cerr),
                                 cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr))
                 : NULL;
    if (!typ || strcmp(typ, "at+jwt") != 0 || !signer || !cjose_jws_verify(jws, signer->jwk, &cerr) ||
        !cjose_jws_get_plaintext(jws, &payload, &len, &cerr))
        goto end;
    claims = json_loadb((const char *)payload, len, JSON_REJECT_DUPLICATES, &jerr);
    exp = json_object_get(claims, "exp");
    if (!json_is_object(claims) || !json_is_string(json_object_get(claims, "jti")) ||
        !json_is_string(json_object_get(claims, "client_id")) ||
        !json_is_string(json_object_get(claims, "iss")) ||
        strcmp(json_string_value(json_object_get(claims, "iss")), op->issuer) != 0 || !json_is_integer(exp) ||
        json_integer_value(exp) <= (json_int_t)zr_time_now())
        goto end;
    out = claims;
    claims = NULL;
end:
    json_decref(claims);
    cjose_jws_release(jws);
    return out;
}

zr_store_status_t zr_oidc_access_token_record(const zr_oidc_t *op, const char *token, json_t **record)
{
    json_t *claims = NULL, *rec = NULL;
    char *text = NULL;
    size_t len = 0;
    json_error_t jerr;
    const char *owner;
    zr_store_status_t st = ZR_STORE_NOT_FOUND;

    *record = NULL;
    if (!(claims = zr_oidc_access_token_verify(op, token)))
        goto end;
    st = zr_store_get(op->store, ZR_OIDC_NS_ACCESS_TOKEN, json_string_value(json_object_get(claims, "jti")), &text,
                      &len);
    if (st != ZR_STORE_OK)
        goto end;
    rec = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    owner = json_string_value(json_object_get(rec, "client_id"));
    /* the record is the truth; a signed token that disagrees with it is not
     * the token that record was made for */
    if (!owner || strcmp(owner, json_string_value(json_object_get(claims, "client_id"))) != 0) {
        st = ZR_STORE_NOT_FOUND;
        goto end;
    }
    *record = rec;
    rec = NULL;
end:
    zr_oidc_wipe_free(text);
    json_decref(rec);
    json_decref(claims);
    return st;
}

int zr_oidc_access_token_cert_ok(json_t *record, X509 *cert)
{
    json_t *cnf = json_object_get(record, "cnf");
    const char *want = json_string_value(json_object_get(cnf, "x5t#S256"));
    char *have = NULL;
    int ok;

    if (!cnf)
        return 1;
    /* a cnf we cannot read binds to nothing: fail closed */
    if (!want || !cert || !(have = zr_http_client_cert_thumbprint(cert)))
        return 0;
    ok = zr_secure_equal(have, strlen(have), want, strlen(want));
    free(have);
    return ok;
}
