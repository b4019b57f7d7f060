/* Every certificate and key the configuration names: validity window,
 * pairing, strength, key usage and OIN. The configuration loader already
 * refuses expired certificates and keys that do not fit; this check adds
 * what a loader cannot decide (expiring soon, usage, OIN) and judges keys
 * the loader keeps without judging. Care providers' BSN keys are judged by
 * src/tenant (zr_tenant_check_key, as `tenants validate` does) and only
 * their problems are listed: with 10,000 care providers the rest is a count. */
#include "zr/selftest.h"

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/tenant_check.h"
#include "zr/util.h"

#define CHECK "certificates"

int zr_selftest_cert_oin(X509 *cert, char oin[21])
{
    /* PKIoverheid: serialNumber; else organizationIdentifier. */
    return zr_tenant_cert_oin(cert, oin) == 0 || zr_tenant_cert_organization_oin(cert, oin) == 0 ? 0 : -1;
}

/* Whole days from now until t (negative when past). */
static int days_until(const ASN1_TIME *t, time_t now)
{
    ASN1_TIME *at = ASN1_TIME_set(NULL, now);
    int days = 0, secs = 0;
    if (!at || ASN1_TIME_diff(&days, &secs, at, t) != 1)
        days = 0;
    ASN1_TIME_free(at);
    return days;
}

/* One problem: joined to the finding; the first problem of the worst
 * severity gives the advice. */
typedef struct {
    zr_selftest_status_t status;
    char *finding;
    size_t flen;
    char *advice;
    size_t alen;
    int problems;
} judge_t;

static void problem(judge_t *j, zr_selftest_status_t st, const char *advice, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(judge_t *j, zr_selftest_status_t st, const char *advice, const char *fmt, ...)
{
    size_t used = j->problems ? strlen(j->finding) : 0;
    va_list ap;
    if (j->problems && used + 2 < j->flen) {
        memcpy(j->finding + used, "; ", 3);
        used += 2;
    }
    va_start(ap, fmt);
    if (used < j->flen)
        vsnprintf(j->finding + used, j->flen - used, fmt, ap);
    va_end(ap);
    if (st > j->status) {
        j->status = st;
        snprintf(j->advice, j->alen, "%s", advice);
    }
    j->problems++;
}

static const char *use_name(zr_selftest_key_use_t use)
{
    switch (use) {
    case ZR_SELFTEST_USE_SAML_SIGNING: return "SAML signing";
    case ZR_SELFTEST_USE_TLS_CLIENT: return "TLS client";
    case ZR_SELFTEST_USE_TLS_SERVER: return "TLS server";
    default: return "JOSE";
    }
}

static void judge_key_strength(judge_t *j, EVP_PKEY *pub)
{
    char group[64] = "";
    size_t glen = 0;
    if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA) {
        if (EVP_PKEY_get_bits(pub) < 2048)
            problem(j, ZR_SELFTEST_FAIL, "make a new RSA key of at least 2048 (better 3072) bits and a certificate for it",
                    "RSA key of %d bits, at least 2048 are required", EVP_PKEY_get_bits(pub));
    } else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC &&
               EVP_PKEY_get_group_name(pub, group, sizeof(group), &glen) == 1 &&
               (!strcmp(group, "prime256v1") || !strcmp(group, "secp384r1") || !strcmp(group, "secp521r1"))) {
        /* fine */
    } else {
        problem(j, ZR_SELFTEST_FAIL, "use an RSA key of at least 2048 bits (or EC P-256/P-384/P-521 for OIDC)",
                "unsupported key type");
    }
    ERR_clear_error();
}

static void judge_usage(judge_t *j, X509 *cert, zr_selftest_key_use_t use)
{
    uint32_t ku = X509_get_key_usage(cert); /* all bits when the extension is absent (RFC 5280 §4.2.1.3) */
    uint32_t xku = X509_get_extended_key_usage(cert);
    int has_xku = (X509_get_extension_flags(cert) & EXFLAG_XKUSAGE) != 0;
    const char *advice = "ask the CA for a certificate issued for this purpose (PKIoverheid: the right certificate type)";
    if ((use == ZR_SELFTEST_USE_SAML_SIGNING || use == ZR_SELFTEST_USE_TLS_CLIENT) && !(ku & KU_DIGITAL_SIGNATURE))
        problem(j, ZR_SELFTEST_FAIL, advice, "keyUsage lacks digitalSignature (needed for %s)", use_name(use));
    if (use == ZR_SELFTEST_USE_TLS_CLIENT && has_xku && !(xku & XKU_SSL_CLIENT))
        problem(j, ZR_SELFTEST_FAIL, advice, "extendedKeyUsage lacks clientAuth; TVS refuses it as a client certificate");
    if (use == ZR_SELFTEST_USE_TLS_SERVER && has_xku && !(xku & XKU_SSL_SERVER))
        problem(j, ZR_SELFTEST_FAIL, advice, "extendedKeyUsage lacks serverAuth");
}

zr_selftest_status_t zr_selftest_cert_judge(const zr_selftest_cert_t *c, time_t now, int warn_days, int production,
                                            char *finding, size_t flen, char *advice, size_t alen)
{
    judge_t j = {.status = ZR_SELFTEST_OK, .finding = finding, .flen = flen, .advice = advice, .alen = alen};
    char date[32], oin[21], subject[256] = "";
    time_t soon = now + (time_t)(warn_days > 0 ? warn_days : 30) * 86400;
    EVP_PKEY *pub = c->cert ? X509_get0_pubkey(c->cert) : c->key;
    int days = 0;

    finding[0] = advice[0] = '\0';
    if (!c->cert && !c->key) {
        problem(&j, ZR_SELFTEST_FAIL, "configure the file", "neither certificate nor key loaded");
        goto end;
    }
    if (c->cert && c->key && !zr_crypto_key_matches_cert(c->key, c->cert))
        problem(&j, ZR_SELFTEST_FAIL, "point key: at the private key that belongs to this certificate (or the certificate at the key's)",
                "the private key does not belong to the certificate");
    if (pub)
        judge_key_strength(&j, pub);
    if (!c->cert)
        goto end;
    if (X509_cmp_time(X509_get0_notAfter(c->cert), &now) <= 0) {
        zr_tenant_cert_date(X509_get0_notAfter(c->cert), date);
        problem(&j, ZR_SELFTEST_FAIL, "renew the certificate, configure it, reload, and (SAML keys) send new metadata to DICTU",
                "certificate expired on %s", date);
    } else if (X509_cmp_time(X509_get0_notBefore(c->cert), &now) > 0) {
        zr_tenant_cert_date(X509_get0_notBefore(c->cert), date);
        problem(&j, ZR_SELFTEST_FAIL, "wait until the certificate is valid or check this machine's clock",
                "certificate not valid before %s", date);
    } else if (X509_cmp_time(X509_get0_notAfter(c->cert), &soon) <= 0) {
        zr_tenant_cert_date(X509_get0_notAfter(c->cert), date);
        problem(&j, ZR_SELFTEST_WARN, "order the successor now: a new SAML certificate needs new metadata at DICTU, which takes weeks",
                "certificate expires on %s (in %d days)", date, days_until(X509_get0_notAfter(c->cert), now));
    }
    judge_usage(&j, c->cert, c->use);
    if (c->want_oin) {
        if (zr_selftest_cert_oin(c->cert, oin) != 0)
            problem(&j, production ? ZR_SELFTEST_FAIL : ZR_SELFTEST_WARN,
                    "use the PKIoverheid certificate issued for your OIN; TVS identifies you by it",
                    "no 20-digit OIN in the subject (serialNumber or organizationIdentifier)");
        else if (c->expect_oin && strcmp(oin, c->expect_oin) != 0)
            problem(&j, ZR_SELFTEST_FAIL, "use the certificate issued for the OIN registered at DICTU",
                    "the certificate is for OIN %s, the configuration's OIN is %s", oin, c->expect_oin);
    }
end:
    if (!j.problems) {
        if (c->cert) {
            X509_NAME_get_text_by_NID(X509_get_subject_name(c->cert), NID_commonName, subject, sizeof(subject));
            zr_tenant_cert_date(X509_get0_notAfter(c->cert), date);
            days = days_until(X509_get0_notAfter(c->cert), now);
            if (zr_selftest_cert_oin(c->cert, oin) == 0)
                snprintf(subject + strlen(subject), sizeof(subject) - strlen(subject), ", OIN %s", oin);
        }
        if (c->cert && pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
            snprintf(finding, flen, "CN=%s, RSA %d, valid until %s (%d days)", subject, EVP_PKEY_get_bits(pub), date,
                     days);
        else if (c->cert)
            snprintf(finding, flen, "CN=%s, valid until %s (%d days)", subject, date, days);
        else if (pub && EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
            snprintf(finding, flen, "RSA %d key (no certificate)", EVP_PKEY_get_bits(pub));
        else
            snprintf(finding, flen, "EC key (no certificate)");
    }
    ERR_clear_error();
    return j.status;
}

static void judge_one(const zr_selftest_cert_t *c, const zr_selftest_opts_t *opts, int production,
                      zr_selftest_report_t *r)
{
    char finding[1024], advice[256];
    time_t now = opts->now ? opts->now : zr_time_now();
    zr_selftest_status_t st = zr_selftest_cert_judge(c, now, opts->warn_days, production, finding, sizeof(finding),
                                                     advice, sizeof(advice));
    zr_selftest_add(r, st, CHECK, advice, "%s: %s", c->name, finding);
}

static void judge_keypair(const char *name, const zr_keypair_t *kp, zr_selftest_key_use_t use, int want_oin,
                          const char *expect_oin, const zr_selftest_opts_t *opts, int production,
                          zr_selftest_report_t *r)
{
    zr_selftest_cert_t c = {.name = name, .cert = kp->cert, .key = kp->key, .use = use, .want_oin = want_oin,
                            .expect_oin = expect_oin};
    if (kp->cert || kp->key)
        judge_one(&c, opts, production, r);
}

/* The TLS server certificate is only named in the configuration (serve
 * loads it); loaded here to judge it. */
static void judge_tls_server(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    zr_keypair_t kp = {0};
    char err[512];
    if (!cfg->tls_cert_file)
        return;
    kp.cert = zr_crypto_load_certificate(cfg->tls_cert_file, err, sizeof(err));
    kp.key = kp.cert && cfg->tls_key_file ? zr_crypto_load_private_key(cfg->tls_key_file, err, sizeof(err)) : NULL;
    if (!kp.cert || !kp.key)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, CHECK, "fix tls_cert / tls_key", "tls_cert: %s", err);
    else
        judge_keypair("tls_cert", &kp, ZR_SELFTEST_USE_TLS_SERVER, 0, NULL, opts, 0, r);
    X509_free(kp.cert);
    EVP_PKEY_free(kp.key);
}

/* Every care provider's BSN keys through src/tenant; problems listed one by
 * one, the rest counted. */
static void judge_bsn_keys(const zr_tenant_t *tenants, const zr_tenant_origin_t *origins, size_t count,
                           const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    zr_tenant_check_opts_t topts = {.environment = cfg->environment,
                                    .warn_days = opts->warn_days > 0 ? opts->warn_days : 30,
                                    .now = opts->now};
    size_t keys = 0, fine = 0, with_problems = 0;
    const zr_tenant_t *earliest_t = NULL;
    const ASN1_TIME *earliest = NULL;
    char date[32];
    for (size_t i = 0; i < count; i++) {
        const zr_tenant_t *t = &tenants[i];
        /* Named with its reasons by the quarantine check. */
        if (t->quarantined)
            continue;
        for (size_t k = 0; k < t->bsn_key_count && k < 2; k++) {
            zr_tenant_report_t tr = {0};
            keys++;
            zr_tenant_check_key(t, k, origins ? &origins[i] : NULL, &topts, &tr);
            if (tr.count == 0 && tr.errors == 0 && tr.warnings == 0)
                fine++;
            else
                with_problems++;
            for (size_t l = 0; l < tr.count; l++)
                zr_selftest_add(r, tr.severity[l] == ZR_TENANT_WARNING ? ZR_SELFTEST_WARN : ZR_SELFTEST_FAIL, CHECK,
                                "renew or replace this BSN encryption key (add the new one as a second bsn_keys "
                                "entry, reload, send new metadata to DICTU; docs/operations.md, key rollover)",
                                "care provider %s: %s", t->id ? t->id : "?", tr.lines[l]);
            zr_tenant_report_free(&tr);
            if (t->bsn_keys[k].cert &&
                (!earliest || ASN1_TIME_compare(X509_get0_notAfter(t->bsn_keys[k].cert), earliest) < 0)) {
                earliest = X509_get0_notAfter(t->bsn_keys[k].cert);
                earliest_t = t;
            }
        }
    }
    if (!keys)
        return;
    if (earliest)
        zr_tenant_cert_date(earliest, date);
    zr_selftest_add(r, ZR_SELFTEST_OK, CHECK,
                    NULL, "%zu of %zu BSN decryption key(s) of %zu care provider(s) in order%s%s%s%s%s",
                    fine, keys, count, with_problems ? " (the others listed above)" : "",
                    earliest ? "; first expiry " : "", earliest ? date : "", earliest ? " at " : "",
                    earliest && earliest_t->id ? earliest_t->id : "");
}

void zr_selftest_certificates(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    int production = cfg->environment == ZR_ENV_PRODUCTION;
    const char *expect_oin = NULL;
    char name[64];
    /* TVS knows the sender by the OIN in its certificates: the LC's in a
     * cluster connection, the one care provider's in a direct one. */
    if (cfg->cluster.enabled)
        expect_oin = cfg->cluster.oin;
    else if (cfg->tenant_count == 1)
        expect_oin = cfg->tenants[0].oin;
    judge_keypair("saml.signing", &cfg->saml_signing, ZR_SELFTEST_USE_SAML_SIGNING, 1, expect_oin, opts, production, r);
    judge_keypair("saml.tls_client", &cfg->saml_tls_client, ZR_SELFTEST_USE_TLS_CLIENT, 1, expect_oin, opts,
                  production, r);
    judge_tls_server(cfg, opts, r);
    for (size_t i = 0; i < cfg->oidc.key_count; i++) {
        zr_selftest_cert_t c = {.name = name, .cert = cfg->oidc.keys[i].cert, .key = cfg->oidc.keys[i].key,
                                .use = ZR_SELFTEST_USE_JOSE};
        snprintf(name, sizeof(name), "oidc.signing_keys[%zu]", i);
        judge_one(&c, opts, production, r);
    }
    if (cfg->dezi.enabled) {
        zr_selftest_cert_t c = {.name = "dezi.decryption_key", .key = cfg->dezi.decryption_key,
                                .use = ZR_SELFTEST_USE_JOSE};
        if (c.key)
            judge_one(&c, opts, production, r);
        c.name = "dezi.client_key";
        c.key = cfg->dezi.client_key;
        if (c.key)
            judge_one(&c, opts, production, r);
    }
    judge_bsn_keys(cfg->tenants, cfg->tenant_origins, cfg->tenant_count, cfg, opts, r);
    /* The mocks' keys matter only where the mocks may run. */
    if (!production && cfg->has_mock_tvs) {
        judge_keypair("mock_tvs.signing", &cfg->mock_tvs.signing, ZR_SELFTEST_USE_SAML_SIGNING, 0, NULL, opts, 0, r);
        judge_keypair("mock_tvs.tls", &cfg->mock_tvs.tls, ZR_SELFTEST_USE_TLS_SERVER, 0, NULL, opts, 0, r);
    }
    if (!production && cfg->has_mock_dezi) {
        judge_keypair("mock_dezi.signing", &cfg->mock_dezi.signing, ZR_SELFTEST_USE_JOSE, 0, NULL, opts, 0, r);
        judge_keypair("mock_dezi.register", &cfg->mock_dezi.register_key, ZR_SELFTEST_USE_JOSE, 0, NULL, opts, 0, r);
    }
}
