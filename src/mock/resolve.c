/* The mutual-TLS side of the mock TVS: the ArtifactResolutionService
 * (SOAP binding, ST-SAML §DV->RD ArtifactResolve). An artifact resolves once;
 * the answer is built now, so its times are fresh. */
#include "mock_internal.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "zr/log.h"
#include "zr/util.h"

/* SOAP 1.1 §6.2: a fault travels with HTTP 500. */
static int soap_fault(zr_http_response_t *resp, int client_fault, const char *reason)
{
    size_t len = 0;
    char *xml = zr_saml_idp_soap_fault(client_fault, reason, &len);
    int rc = xml ? zr_http_respond(resp, 500, "text/xml; charset=utf-8", xml, len) : -1;
    free(xml);
    return rc;
}

/* 1 when both certificates have the same DER encoding. */
static int same_certificate(X509 *a, X509 *b)
{
    unsigned char *da = NULL, *db = NULL;
    int la, lb, eq;
    if (!a || !b)
        return 0;
    la = i2d_X509(a, &da);
    lb = i2d_X509(b, &db);
    eq = la > 0 && la == lb && CRYPTO_memcmp(da, db, (size_t)la) == 0;
    OPENSSL_free(da);
    OPENSSL_free(db);
    return eq;
}

/* mock_tvs.date_offset_s: a TVS whose clock is off, for `selftest`. Set
 * here, libmicrohttpd adds no Date of its own. */
static void shifted_date(zr_http_response_t *resp, int offset_s)
{
    time_t t = zr_time_now() + offset_s;
    struct tm tm;
    char date[64];
    if (offset_s && gmtime_r(&t, &tm) && strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm))
        zr_http_set_header(resp, "Date", date);
}

/* POST /kvs/rd/resolve_artifact */
int zr_mock_handle_resolve(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_tvs_t *m = ctx;
    const zr_config_t *cfg = zr_mock_current(m)->cfg;
    zr_config_t answer_cfg; /* shallow: borrows everything */
    zr_saml_idp_resolve_t resolve = {0};
    zr_mock_login_t *login = NULL;
    const zr_mock_identity_t *identity = NULL;
    char err[512] = "", mask[16];
    char *xml = NULL;
    size_t len = 0;
    zr_saml_idp_check_t check;
    int rc = -1;

    /* The http module verified the chain against client_ca; TVS further
     * knows which certificate the DV (or LC) registered (its metadata). */
    if (!same_certificate(req->client_cert, cfg->saml_tls_client.cert)) {
        zr_log_warn("resolve_refused", "TLS client certificate is not the relay's (saml.tls_client.cert)");
        rc = soap_fault(resp, 1, "TLS client certificate is not registered for any care provider");
        goto end;
    }
    check = zr_saml_idp_artifact_resolve_verify(cfg, req->body, req->body ? req->body_len : 0, &resolve, err,
                                                sizeof(err));
    if (check != ZR_SAML_IDP_OK) {
        zr_log_warn("resolve_refused", "check=%s reason=\"%s\"", zr_saml_idp_check_name(check), err);
        rc = soap_fault(resp, 1, err);
        goto end;
    }
    /* Taken out whatever happens next: an artifact resolves at most once. */
    login = zr_mock_table_take(m->artifacts, resolve.artifact);
    if (login && strcmp(login->req.requester, resolve.issuer) != 0) {
        /* SAML core §3.5.1: only the party that sent the AuthnRequest (the
         * care provider, or the LC acting for it) gets the message; the
         * artifact is spent all the same. */
        zr_log_warn("resolve_wrong_requester",
                    "artifact=%s request=%s was issued to %s, resolve comes from %s: refused, artifact spent",
                    zr_log_mask(resolve.artifact, mask), login->req.request_id, login->req.requester,
                    resolve.issuer);
        rc = soap_fault(resp, 1, "ArtifactResolve: Issuer is not the entity the artifact was issued to");
        goto end;
    }
    if (login) {
        /* The answer comes from the configuration the login started with
         * (req->tenant and the identity point into it), signed with the
         * key of the metadata the mock publishes now. */
        answer_cfg = *login->gen->cfg;
        answer_cfg.mock_tvs.signing = cfg->mock_tvs.signing;
        cfg = &answer_cfg;
        identity = &cfg->mock_tvs.identities[login->identity];
    } else {
        zr_log_info("resolve_unknown", "artifact=%s unknown, expired or already resolved: empty answer",
                    zr_log_mask(resolve.artifact, mask));
    }
    xml = zr_saml_idp_artifact_response_build(cfg, login ? &login->req : NULL, identity, resolve.id, &len, err,
                                              sizeof(err));
    if (!xml) {
        zr_log_error("resolve_failed", "building the ArtifactResponse: %s", err);
        rc = soap_fault(resp, 0, "internal error");
        goto end;
    }
    if (login)
        zr_log_info("resolved", "artifact=%s request=%s care_provider=%s requester=%s outcome=%d",
                    zr_log_mask(resolve.artifact, mask), login->req.request_id,
                    login->req.tenant->id ? login->req.tenant->id : "-", resolve.issuer, (int)identity->outcome);
    rc = zr_http_respond(resp, 200, "text/xml; charset=utf-8", xml, len);
end:
    shifted_date(resp, zr_mock_current(m)->cfg->mock_tvs.date_offset_s);
    zr_mock_login_free(login);
    zr_saml_idp_resolve_clear(&resolve);
    if (xml) {
        OPENSSL_cleanse(xml, len);
        free(xml);
    }
    return rc;
}
