/* Has the verklaring been withdrawn? Spec v0.7 §6.2: GET the status URI
 * from the verklaring ("actief" passes); §6.3: the signed list at
 * /revocatiecontrole/v1 as the fallback, kept until its ververs_tijdstip. */
#include "dezi_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { ASK_ACTIVE, ASK_REVOKED, ASK_FAILED } answer_t;

static answer_t status_ask(zr_dezi_t *d, const char *uri, const char *vid)
{
    zr_dezi_request_t req = {.method = "GET", .url = uri, .accept = "application/json"};
    zr_dezi_response_t resp;
    json_t *o = NULL;
    const char *status, *id;
    answer_t a = ASK_FAILED;

    if (zr_dezi_http(d, &req, &resp) != 0)
        return ASK_FAILED;
    /* 404: Dezi does not know this verklaring; a signed one it does not
     * know cannot be trusted to be current (§6.2.4). */
    if (resp.status == 404) {
        a = ASK_REVOKED;
        goto end;
    }
    if (resp.status != 200 || !(o = zr_dezi_json_parse(resp.body, resp.len)))
        goto end;
    status = json_string_value(json_object_get(o, "status"));
    id = json_string_value(json_object_get(o, "verklaringId"));
    if (!id)
        id = json_string_value(json_object_get(o, "verklaring_id"));
    if (!status || (id && strcmp(id, vid) != 0))
        goto end;
    a = !strcmp(status, "actief") ? ASK_ACTIVE : ASK_REVOKED;
end:
    json_decref(o);
    zr_dezi_response_free(&resp);
    return a;
}

/* Fetches and verifies the list, replacing the cached one. Under
 * d->list_lock (key lookups take d->lock). */
static int list_refresh(zr_dezi_t *d, char *why, size_t whylen)
{
    char url[2048];
    zr_dezi_request_t req = {.method = "GET", .url = url, .accept = "application/jose"};
    zr_dezi_response_t resp;
    json_t *hdr = NULL, *claims = NULL, *set = NULL, *item;
    cjose_jwk_t *key = NULL;
    zr_dezi_status_t kst;
    const char *failed = NULL;
    time_t exp = 0, nbf = 0, refresh = 0, now = zr_time_now();
    size_t il = strlen(d->cfg->issuer), i;
    char *compact = NULL;
    int rc = -1;

    memset(&resp, 0, sizeof(resp));
    while (il && d->cfg->issuer[il - 1] == '/')
        il--;
    snprintf(url, sizeof(url), "%.*s/revocatiecontrole/v1", (int)il, d->cfg->issuer);
    if (zr_dezi_http(d, &req, &resp) != 0 || resp.status != 200) {
        snprintf(why, whylen, "revocation list unavailable");
        goto end;
    }
    compact = strndup(resp.body, resp.len);
    if (!compact)
        goto end;
    zr_str_trim(compact);
    /* Signed by the register's seal (§6.3.3), key by allow-listed jku. */
    hdr = zr_dezi_jose_header(compact);
    if (!hdr || !json_is_string(json_object_get(hdr, "jku")) ||
        zr_dezi_jku_allowed(d, json_string_value(json_object_get(hdr, "jku"))) < 0) {
        snprintf(why, whylen, "revocation list: jku missing or not allow-listed");
        goto end;
    }
    key = zr_dezi_key_find(d, json_string_value(json_object_get(hdr, "jku")),
                           json_string_value(json_object_get(hdr, "kid")), &kst, why, whylen);
    if (!key)
        goto end;
    claims = zr_dezi_jws_verify(compact, key, &failed);
    if (!claims) {
        snprintf(why, whylen, "revocation list: %s", failed);
        goto end;
    }
    if (!zr_dezi_iss_matches(json_string_value(json_object_get(claims, "iss")), d->cfg->issuer) ||
        zr_dezi_claim_time(claims, "exp", &exp) != 0 || zr_dezi_claim_time(claims, "nbf", &nbf) != 0 ||
        zr_dezi_claim_time(claims, "ververs_tijdstip", &refresh) != 0 ||
        !json_is_array(json_object_get(claims, "revocaties"))) {
        snprintf(why, whylen, "revocation list: iss, exp, nbf, ververs_tijdstip or revocaties missing");
        goto end;
    }
    if (exp + ZR_DEZI_CLOCK_SKEW_S <= now || nbf > now + ZR_DEZI_CLOCK_SKEW_S) {
        snprintf(why, whylen, "revocation list: outside its validity");
        goto end;
    }
    /* Never step back to an older list than the one we hold. */
    if (d->revoked && nbf < d->list_nbf) {
        snprintf(why, whylen, "revocation list: older than the cached one");
        goto end;
    }
    set = json_object();
    json_array_foreach(json_object_get(claims, "revocaties"), i, item) {
        /* §6.3.1 names verklaring_id, the §6.3.4 example verklaringId. */
        const char *id = json_string_value(json_object_get(item, "verklaringId"));
        if (!id)
            id = json_string_value(json_object_get(item, "verklaring_id"));
        if (!id) {
            snprintf(why, whylen, "revocation list: entry without verklaring id");
            goto end;
        }
        json_object_set_new(set, id, json_true());
    }
    json_decref(d->revoked);
    d->revoked = set;
    set = NULL;
    d->list_exp = exp;
    d->list_nbf = nbf;
    d->list_refresh_at = refresh < exp ? refresh : exp;
    rc = 0;
end:
    json_decref(set);
    json_decref(claims);
    json_decref(hdr);
    cjose_jwk_release(key);
    free(compact);
    zr_dezi_response_free(&resp);
    return rc;
}

/* ASK_* from the list: refreshed when past its ververs_tijdstip. */
static answer_t list_ask(zr_dezi_t *d, const char *vid, char *why, size_t whylen)
{
    answer_t a = ASK_FAILED;
    time_t now = zr_time_now();

    pthread_mutex_lock(&d->list_lock);
    if (!d->revoked || now >= d->list_refresh_at) {
        if (list_refresh(d, why, whylen) != 0 && d->revoked) {
            /* A list past its ververs_tijdstip is no longer current. */
            json_decref(d->revoked);
            d->revoked = NULL;
        }
    }
    if (d->revoked)
        a = json_object_get(d->revoked, vid) ? ASK_REVOKED : ASK_ACTIVE;
    pthread_mutex_unlock(&d->list_lock);
    return a;
}

zr_dezi_status_t zr_dezi_revocation_check(zr_dezi_t *d, const zr_dezi_professional_t *p, const char *status_uri,
                                          char *err, size_t errlen)
{
    char why[160] = "", ref[16];
    answer_t a = ASK_FAILED;

    if (err && errlen)
        err[0] = '\0';
    if (!p || !p->verklaring_id) {
        snprintf(err, errlen, "revocation: no verklaring_id");
        return ZR_DEZI_INVALID;
    }
    if (status_uri)
        a = status_ask(d, status_uri, p->verklaring_id);
    if (a == ASK_FAILED)
        a = list_ask(d, p->verklaring_id, why, sizeof(why));
    if (a == ASK_ACTIVE)
        return ZR_DEZI_OK;
    if (a == ASK_REVOKED) {
        snprintf(err, errlen, "verklaring revoked");
        return ZR_DEZI_REVOKED;
    }
    zr_log_mask(p->verklaring_id, ref);
    if (d->cfg->revocation_fail_open) {
        zr_log_warn("dezi_revocation_unknown", "verklaring=%s status service and list unavailable (%s); "
                    "revocation_fail_open lets it through", ref, why);
        return ZR_DEZI_OK;
    }
    zr_log_warn("dezi_revocation_unknown", "verklaring=%s status service and list unavailable (%s)", ref, why);
    snprintf(err, errlen, "revocation status unavailable (%s)", why[0] ? why : "status service down");
    return ZR_DEZI_UNAVAILABLE;
}
