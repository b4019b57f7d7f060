/* TVS as the relay will meet it: its metadata (src/saml loads and verifies
 * it exactly as serve does), then DNS, TLS and mutual TLS to the artifact
 * resolution endpoint named there, and our clock against TVS's Date.
 *
 * The handshake is proven with a real HTTP exchange, not a bare connect:
 * under TLS 1.3 a server refuses a client certificate only after the
 * client considers the handshake done, so an answer is the only proof that
 * TVS accepted ours. The request is an empty SOAP POST: it names no
 * artifact, so nothing is spent, and TVS answers it with a fault. */
#include "zr/selftest.h"

#include <curl/curl.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "probe.h"
#include "zr/saml.h"
#include "zr/util.h"

int zr_selftest_date_offset(const char *date_header, double local_mid, double *offset_s)
{
    time_t t;
    if (!date_header || !*date_header)
        return -1;
    t = curl_getdate(date_header, NULL);
    if (t == (time_t)-1)
        return -1;
    /* Date has whole seconds: the server's time lies in [t, t + 1). */
    *offset_s = (double)t + 0.5 - local_mid;
    return 0;
}

zr_selftest_status_t zr_selftest_clock_judge(double offset_s, int skew_s)
{
    double a = offset_s < 0 ? -offset_s : offset_s;
    if (a > (double)(skew_s > 0 ? skew_s : 60))
        return ZR_SELFTEST_FAIL;
    return a > 5.0 ? ZR_SELFTEST_WARN : ZR_SELFTEST_OK;
}

static void date_of(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%d %H:%M UTC", &tm);
}

static void metadata_check(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_saml_idp_t **out,
                           zr_selftest_report_t *r)
{
    char err[512] = "", until[32];
    time_t now = opts->now ? opts->now : zr_time_now();
    zr_saml_idp_t *idp = zr_saml_idp_load(cfg, err, sizeof(err));
    *out = idp;
    if (!idp) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-metadata",
                        "get TVS's current metadata (DICTU publishes it per environment) and check that "
                        "tvs.trust_anchor holds the certificate that signs it",
                        "%s: %s", cfg->tvs.metadata ? cfg->tvs.metadata : "(none)", err);
        return;
    }
    if (!idp->valid_until) {
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-metadata", NULL,
                        "%s from %s: signature verifies against tvs.trust_anchor, no validUntil", idp->entity_id,
                        cfg->tvs.metadata);
        return;
    }
    date_of(idp->valid_until, until);
    if (idp->valid_until - now < 2 * 86400)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "tvs-metadata",
                        "fetch TVS's new metadata now: when validUntil passes the relay refuses new logins",
                        "%s from %s: signature verifies, but it expires at %s (in %.1f hours)", idp->entity_id,
                        cfg->tvs.metadata, until, (double)(idp->valid_until - now) / 3600.0);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-metadata", NULL,
                        "%s from %s: signature verifies against tvs.trust_anchor, valid until %s (%lld days)",
                        idp->entity_id, cfg->tvs.metadata, until, (long long)((idp->valid_until - now) / 86400));
}

/* DNS on its own, so that a name that does not resolve is said plainly. */
static int dns_check(const char *url, zr_selftest_report_t *r)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, addrs[256] = "";
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    int rc = -1, gai, n = 0;
    if (!u || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-dns", "check TVS's metadata", "cannot read the host of %s", url);
        goto end;
    }
    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-dns",
                        "check this machine's DNS resolver (and that it may resolve TVS's names)",
                        "%s does not resolve: %s", host, gai_strerror(gai));
        goto end;
    }
    for (struct addrinfo *a = res; a && n < 3; a = a->ai_next) {
        char ip[INET6_ADDRSTRLEN] = "";
        const void *src = a->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)a->ai_addr)->sin_addr
                                                  : (const void *)&((struct sockaddr_in6 *)a->ai_addr)->sin6_addr;
        if (!inet_ntop(a->ai_family, src, ip, sizeof(ip)) || strstr(addrs, ip))
            continue;
        snprintf(addrs + strlen(addrs), sizeof(addrs) - strlen(addrs), "%s%s", n ? ", " : "", ip);
        n++;
    }
    zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-dns", NULL, "%s -> %s", host, addrs);
    rc = 0;
end:
    if (res)
        freeaddrinfo(res);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

static void peer_description(X509 *peer, time_t now, int warn_days, char *out, size_t len, int *expiring)
{
    char subject[256] = "?", date[32] = "?";
    const ASN1_TIME *na = X509_get0_notAfter(peer);
    struct tm tm;
    int days = 0, secs = 0;
    ASN1_TIME *at = ASN1_TIME_set(NULL, now);
    X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, subject, sizeof(subject));
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(na, &tm) == 1)
        strftime(date, sizeof(date), "%Y-%m-%d", &tm);
    if (!at || ASN1_TIME_diff(&days, &secs, at, na) != 1)
        days = 0;
    ASN1_TIME_free(at);
    *expiring = days < (warn_days > 0 ? warn_days : 30);
    snprintf(out, len, "server certificate CN=%s valid until %s (%d days)", subject, date, days);
}

/* What the answer (or its absence) says about TLS and mutual TLS. */
static void tls_report(const zr_config_t *cfg, const zr_selftest_opts_t *opts, const char *url,
                       const zr_selftest_probe_t *p, zr_selftest_report_t *r)
{
    char peer[512] = "";
    int expiring = 0;
    time_t now = opts->now ? opts->now : zr_time_now();
    if (!p->tcp_connected) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-tls",
                        "check the firewall (outgoing 443 to TVS) and that DICTU has whitelisted this machine's "
                        "address for this environment",
                        "cannot connect to %s: %s", url, p->error);
        zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-mtls", NULL, "not tried (no connection)");
        return;
    }
    if (!p->tls_done) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-tls",
                        "check tvs.tls_ca (the CA that issued TVS's server certificate) and saml.tls_client; "
                        "a refused client certificate also ends here",
                        "TLS handshake with %s failed: %s", url, p->error);
        zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-mtls", NULL, "not tried (no TLS session)");
        return;
    }
    if (p->peer)
        peer_description(p->peer, now, opts->warn_days, peer, sizeof(peer), &expiring);
    zr_selftest_add(r, expiring ? ZR_SELFTEST_WARN : ZR_SELFTEST_OK, "tvs-tls",
                    "TVS's server certificate is about to change: make sure tvs.tls_ca covers its successor",
                    "%s %s, verified against tvs.tls_ca%s%s", p->tls_version[0] ? p->tls_version : "TLS",
                    p->cipher, peer[0] ? "; " : "", peer);
    if (p->status == 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls",
                        "TVS closed the connection without an answer: it most likely refuses saml.tls_client "
                        "(not the certificate registered at DICTU, or not trusted by TVS)",
                        "no HTTP answer after the handshake: %s", p->error);
    else if (p->status == 403 || p->status == 401 || p->status == 495 || p->status == 496)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls",
                        "TVS does not accept saml.tls_client: register this certificate at DICTU (it is in our "
                        "SP metadata) or configure the one that is",
                        "TVS answered HTTP %ld: client certificate %s refused", p->status,
                        cfg->saml_tls_client.cert_file);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-mtls", NULL,
                        "client certificate saml.tls_client accepted: HTTP %ld to an empty SOAP request (no "
                        "artifact sent)", p->status);
}

static void clock_report(const zr_config_t *cfg, const zr_selftest_probe_t *p, const char *where,
                         zr_selftest_report_t *r)
{
    double offset = 0;
    zr_selftest_status_t st;
    int skew = cfg->tvs.clock_skew_s > 0 ? cfg->tvs.clock_skew_s : 60;
    if (zr_selftest_date_offset(p->date, p->local_mid, &offset) != 0) {
        zr_selftest_add(r, ZR_SELFTEST_WARN, "clock", "check this machine's time synchronisation (NTP) by hand",
                        "not measured: %s sent no readable Date header", where);
        return;
    }
    st = zr_selftest_clock_judge(offset, skew);
    zr_selftest_add(r, st, "clock",
                    st == ZR_SELFTEST_FAIL
                        ? "synchronise this machine's clock (NTP, e.g. systemd-timesyncd or chrony): TVS's "
                          "assertions will be refused as not yet valid or expired"
                        : "synchronise this machine's clock (NTP); beyond tvs.clock_skew_s logins fail",
                    "this machine is %.1f s %s TVS (Date of the %s; tvs.clock_skew_s %d; warn above 5 s)",
                    offset < 0 ? -offset : offset, offset < 0 ? "ahead of" : "behind", where, skew);
}

void zr_selftest_tvs(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_selftest_report_t *r)
{
    zr_saml_idp_t *idp = NULL;
    zr_selftest_probe_t p = {0}, mp = {0};
    zr_selftest_probe_opts_t po = {0};
    int have_probe = 0;

    metadata_check(cfg, opts, &idp, r);
    if (!idp || !idp->artifact_url) {
        zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-tls", NULL, "not tried (no artifact resolution endpoint known)");
    } else if (dns_check(idp->artifact_url, r) == 0) {
        po.url = idp->artifact_url;
        po.ca_file = cfg->tvs.tls_ca_file;
        po.cert_file = cfg->saml_tls_client.cert_file;
        po.key_file = cfg->saml_tls_client.key_file;
        po.soap_post = 1;
        po.connect_timeout_ms = cfg->tvs.connect_timeout_ms;
        po.timeout_ms = cfg->tvs.timeout_ms;
        po.max_body = 16 * 1024;
        zr_selftest_probe_run(&po, &p);
        have_probe = 1;
        tls_report(cfg, opts, idp->artifact_url, &p, r);
    }
    if (have_probe && p.status > 0) {
        clock_report(cfg, &p, "artifact resolution endpoint", r);
    } else if (cfg->tvs.metadata && strncasecmp(cfg->tvs.metadata, "https://", 8) == 0) {
        /* The metadata server is TVS's too. */
        po = (zr_selftest_probe_opts_t){.url = cfg->tvs.metadata, .ca_file = cfg->tvs.tls_ca_file, .head = 1,
                                        .connect_timeout_ms = cfg->tvs.connect_timeout_ms,
                                        .timeout_ms = cfg->tvs.timeout_ms};
        if (zr_selftest_probe_run(&po, &mp) == 0)
            clock_report(cfg, &mp, "metadata URL", r);
        else
            zr_selftest_add(r, ZR_SELFTEST_WARN, "clock", "check this machine's time synchronisation (NTP) by hand",
                            "not measured: TVS did not answer");
    } else {
        zr_selftest_add(r, ZR_SELFTEST_WARN, "clock", "check this machine's time synchronisation (NTP) by hand",
                        "not measured: TVS did not answer");
    }
    zr_selftest_probe_clear(&p);
    zr_selftest_probe_clear(&mp);
    zr_saml_idp_free(idp);
}
