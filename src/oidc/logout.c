/* The OpenID Provider's half of logout (issue 5, docs/logout.md):
 * verifying the id_token_hint of RP-Initiated Logout 1.0, and the Logout
 * Token of Back-Channel Logout 1.0 with the POST that delivers it. The
 * relay (src/relay/logout.c) decides who is logged out and when. */
#include "oidc_internal.h"
#include "zr/json.h"
#include "zr/log.h"
#include "zr/util.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An ID token we issued is a few KiB at most. */
#define MAX_HINT_LEN (16 * 1024)
/* Logout Tokens are used at once; two minutes covers clock skew (§2.4). */
#define LOGOUT_TOKEN_LIFETIME_S 120
/* Back-channel POSTs must not hold up the person's browser for long. */
#define BACKCHANNEL_CONNECT_TIMEOUT_MS 2000L
#define BACKCHANNEL_TIMEOUT_MS 3000L

char *zr_oidc_subject_sub(const zr_oidc_t *op, const zr_client_t *client, const zr_subject_t *subject)
{
    zr_subject_id_t pro;
    if (!subject)
        return NULL;
    /* As zr_oidc_subject_claims computes it (idtoken.c). */
    if (subject->kind == ZR_SUBJECT_PROFESSIONAL) {
        pro.id_type = (char *)ZR_OIDC_ID_UZI_PERSON;
        pro.value = subject->pro.dezi_nummer;
        return pro.value ? zr_oidc_pairwise_sub(op, client, &pro) : NULL;
    }
    return subject->kind == ZR_SUBJECT_PATIENT ? zr_oidc_pairwise_sub(op, client, &subject->acting) : NULL;
}

/* ---- id_token_hint ---- */

void zr_oidc_hint_clear(zr_oidc_hint_t *h)
{
    if (!h)
        return;
    free(h->sub);
    free(h->sid);
    memset(h, 0, sizeof(*h));
}

static int set_err(char *err, size_t errlen, const char *msg)
{
    snprintf(err, errlen, "%s", msg);
    return -1;
}

/* The audience we accept: a single client_id, or an array with that
 * client (then azp must name it, OIDC Core §2). */
static const zr_client_t *hint_client(const zr_oidc_t *op, json_t *claims)
{
    json_t *aud = json_object_get(claims, "aud");
    const char *azp = json_string_value(json_object_get(claims, "azp"));
    const zr_client_t *c = NULL;
    if (json_is_string(aud)) {
        c = zr_oidc_find_client(op, json_string_value(aud));
        if (c && azp && strcmp(azp, c->client_id) != 0)
            c = NULL;
    } else if (json_is_array(aud) && azp) {
        size_t i;
        json_t *v;
        json_array_foreach(aud, i, v) {
            if (json_is_string(v) && strcmp(json_string_value(v), azp) == 0)
                c = zr_oidc_find_client(op, azp);
        }
    }
    return c;
}

int zr_oidc_id_token_hint_verify(const zr_oidc_t *op, const char *hint, zr_oidc_hint_t *out, char *err,
                                 size_t errlen)
{
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    cjose_err cerr;
    json_t *strict_hdr = NULL, *claims = NULL;
    const char *alg, *kid, *iss, *sub, *sid;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    const zr_oidc_signer_t *signer = NULL;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    memset(&cerr, 0, sizeof(cerr));
    if (!op || !hint || !*hint || strlen(hint) > MAX_HINT_LEN) {
        set_err(err, errlen, "id_token_hint missing or too long");
        goto end;
    }
    /* The header through the hardened parser before cjose sees it. */
    if (!(strict_hdr = zr_json_jose_header(hint)) || !(jws = cjose_jws_import(hint, strlen(hint), &cerr))) {
        set_err(err, errlen, "id_token_hint is not a JWS");
        goto end;
    }
    hdr = cjose_jws_get_protected(jws);
    alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr) : NULL;
    kid = hdr ? cjose_header_get(hdr, CJOSE_HDR_KID, &cerr) : NULL;
    /* Only our own keys, each with its own algorithm (no key confusion). */
    for (size_t i = 0; alg && kid && i < op->signer_count; i++)
        if (strcmp(op->signers[i].kid, kid) == 0 && strcmp(op->signers[i].alg, alg) == 0)
            signer = &op->signers[i];
    if (!signer || !cjose_jws_verify(jws, signer->jwk, &cerr)) {
        set_err(err, errlen, "id_token_hint is not signed by this relay");
        goto end;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr) ||
        !(claims = zr_json_parse_object((const char *)plain, plain_len, MAX_HINT_LEN, NULL))) {
        set_err(err, errlen, "id_token_hint claims unreadable");
        goto end;
    }
    iss = json_string_value(json_object_get(claims, "iss"));
    sub = json_string_value(json_object_get(claims, "sub"));
    sid = json_string_value(json_object_get(claims, "sid"));
    if (!iss || strcmp(iss, op->issuer) != 0) {
        set_err(err, errlen, "id_token_hint was issued by another issuer");
        goto end;
    }
    /* A Logout Token is signed with the same keys: it is no ID token. */
    if (json_object_get(claims, "events")) {
        set_err(err, errlen, "id_token_hint is a logout token");
        goto end;
    }
    if (!(out->client = hint_client(op, claims))) {
        set_err(err, errlen, "id_token_hint audience is not a known client");
        goto end;
    }
    if (!sub || !(out->sub = strdup(sub)) || (sid && !(out->sid = strdup(sid)))) {
        set_err(err, errlen, "id_token_hint has no sub");
        goto end;
    }
    /* exp is deliberately not checked: RP-Initiated Logout 1.0 §2 (a
     * portal often logs out after its ID token expired). */
    rc = 0;
end:
    if (rc != 0)
        zr_oidc_hint_clear(out);
    json_decref(claims);
    json_decref(strict_hdr);
    cjose_jws_release(jws);
    return rc;
}

/* ---- Logout Token ---- */

char *zr_oidc_logout_token(const zr_oidc_t *op, const zr_client_t *client, const char *sub, const char *sid)
{
    const zr_oidc_signer_t *signer = op && client ? zr_oidc_signer_for(op, client->id_token_alg) : NULL;
    json_t *claims = json_object(), *events = json_object();
    cjose_header_t *hdr = NULL;
    cjose_jws_t *jws = NULL;
    cjose_err cerr;
    char *payload = NULL, *jti = NULL, *out = NULL;
    const char *compact = NULL;
    time_t now = zr_time_now();

    memset(&cerr, 0, sizeof(cerr));
    jti = zr_random_token(16);
    /* §2.4: sub or sid (we always know both). */
    if (!signer || !jti || !claims || !events || !sub || !sid)
        goto end;
    if (zr_oidc_json_set_str(claims, "iss", op->issuer) != 0 ||
        zr_oidc_json_set_str(claims, "aud", client->client_id) != 0 ||
        zr_oidc_json_set(claims, "iat", json_integer((json_int_t)now)) != 0 ||
        zr_oidc_json_set(claims, "exp", json_integer((json_int_t)(now + LOGOUT_TOKEN_LIFETIME_S))) != 0 ||
        zr_oidc_json_set_str(claims, "jti", jti) != 0 || zr_oidc_json_set_str(claims, "sub", sub) != 0 ||
        zr_oidc_json_set_str(claims, "sid", sid) != 0 ||
        zr_oidc_json_set(events, ZR_OIDC_BACKCHANNEL_EVENT, json_object()) != 0 ||
        json_object_set(claims, "events", events) != 0)
        goto end;
    payload = json_dumps(claims, JSON_COMPACT);
    hdr = cjose_header_new(&cerr);
    /* §2.4: typ logout+jwt keeps it from being taken for an ID token. */
    if (!payload || !hdr || !cjose_header_set(hdr, CJOSE_HDR_ALG, signer->alg, &cerr) ||
        !cjose_header_set(hdr, CJOSE_HDR_KID, signer->kid, &cerr) ||
        !cjose_header_set(hdr, "typ", "logout+jwt", &cerr))
        goto end;
    jws = cjose_jws_sign(signer->jwk, hdr, (const uint8_t *)payload, strlen(payload), &cerr);
    if (!jws || !cjose_jws_export(jws, &compact, &cerr)) {
        zr_log_error("logout", "cannot sign a logout token: %s", cerr.message ? cerr.message : "?");
        goto end;
    }
    out = strdup(compact);
end:
    free(payload);
    free(jti);
    cjose_jws_release(jws);
    if (hdr)
        cjose_header_release(hdr);
    json_decref(events);
    json_decref(claims);
    return out;
}

/* ---- the back-channel POST (§2.5) ---- */

/* The answer body is not needed; only its size is limited. */
static size_t discard_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    size_t *total = ctx;
    (void)data;
    *total += size * nmemb;
    return *total > 64 * 1024 ? 0 : size * nmemb;
}

int zr_oidc_backchannel_logout_send(const zr_oidc_t *op, const zr_client_t *client, const char *logout_token,
                                    char *err, size_t errlen)
{
    CURL *curl = NULL;
    struct curl_slist *headers = NULL;
    char *token_enc = NULL;
    zr_buf_t body;
    size_t received = 0;
    long status = 0;
    CURLcode cc;
    int rc = -1;

    (void)op;
    zr_buf_init(&body);
    if (!client || !client->backchannel_logout_uri || !logout_token) {
        snprintf(err, errlen, "no back-channel logout URI");
        goto end;
    }
    token_enc = zr_url_encode(logout_token);
    if (!token_enc || zr_buf_appends(&body, "logout_token=") != 0 || zr_buf_appends(&body, token_enc) != 0 ||
        !(curl = curl_easy_init())) {
        snprintf(err, errlen, "out of memory");
        goto end;
    }
    headers = curl_slist_append(headers, "Content-Type: application/x-www-form-urlencoded");
    curl_easy_setopt(curl, CURLOPT_URL, client->backchannel_logout_uri);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)body.len);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, BACKCHANNEL_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, BACKCHANNEL_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(curl, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &received);
    cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        goto end;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    /* §2.8: 200 OK (204 is common too); anything else is a failure. */
    if (status != 200 && status != 204) {
        snprintf(err, errlen, "HTTP %ld", status);
        goto end;
    }
    rc = 0;
end:
    if (curl)
        curl_easy_cleanup(curl);
    curl_slist_free_all(headers);
    if (body.data)
        OPENSSL_cleanse(body.data, body.len);
    zr_buf_free(&body);
    zr_oidc_wipe_free(token_enc);
    return rc;
}
