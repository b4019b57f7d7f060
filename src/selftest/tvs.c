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
#include <openssl/err.h>
#include <openssl/pem.h>
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

/* "3d 4h" / "5h 12m" / "40m": a duration for people. */
static void duration_of(long long s, char out[32])
{
    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(out, 32, "%lldd %lldh", s / 86400, (s % 86400) / 3600);
    else if (s >= 3600)
        snprintf(out, 32, "%lldh %lldm", s / 3600, (s % 3600) / 60);
    else
        snprintf(out, 32, "%lldm", s / 60);
}

/* Who signed the metadata and which pin made that acceptable (issue 12 §2):
 * what an operator compares before TVS rolls its signer over. */
static void signer_report(const zr_config_t *cfg, const zr_saml_idp_t *idp, zr_selftest_report_t *r)
{
    if (idp->signer_pin)
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-metadata-signer", NULL,
                        "signed by \"%s\" (SHA-256 %s), pinned by %s", idp->signer_subject, idp->signer_sha256,
                        idp->signer_pin);
    else
        zr_selftest_add(r, cfg->environment == ZR_ENV_PRODUCTION ? ZR_SELFTEST_FAIL : ZR_SELFTEST_WARN,
                        "tvs-metadata-signer",
                        "pin TVS's metadata signer: put its SHA-256 fingerprint in tvs.metadata_signer_sha256 (or its "
                        "subject in tvs.metadata_signer_subject); without a pin any certificate under "
                        "tvs.trust_anchor may sign TVS metadata",
                        "signed by \"%s\" (SHA-256 %s), not pinned", idp->signer_subject, idp->signer_sha256);
}

static void metadata_check(const zr_config_t *cfg, const zr_selftest_opts_t *opts, zr_saml_idp_t **out,
                           zr_selftest_report_t *r)
{
    char err[512] = "", until[32], left[32], age[80] = "age unknown (no creationInstant)";
    time_t now = opts->now ? opts->now : zr_time_now();
    zr_saml_idp_t *idp = zr_saml_idp_load(cfg, err, sizeof(err));
    *out = idp;
    if (!idp) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-metadata",
                        "get TVS's current metadata (DICTU publishes it per environment) and check that "
                        "tvs.trust_anchor holds the CA of the certificate that signs it and tvs.metadata_signer_* "
                        "pins that certificate",
                        "%s: %s", cfg->tvs.metadata ? cfg->tvs.metadata : "(none)", err);
        zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-metadata-signer", NULL, "not checked (no metadata)");
        return;
    }
    date_of(idp->valid_until, until);
    duration_of((long long)(idp->valid_until - now), left);
    if (idp->created) {
        char created[32], ago[32];
        date_of(idp->created, created);
        duration_of((long long)(now - idp->created), ago);
        snprintf(age, sizeof(age), "created %s (%s ago)", created, ago);
    }
    if (idp->valid_until - now < 2 * 86400)
        zr_selftest_add(r, ZR_SELFTEST_WARN, "tvs-metadata",
                        "fetch TVS's new metadata now: when validUntil passes the relay refuses new logins",
                        "%s from %s: signature verifies, %s, but it expires at %s (in %s)", idp->entity_id,
                        cfg->tvs.metadata, age, until, left);
    else
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-metadata", NULL,
                        "%s from %s: signature verifies against tvs.trust_anchor, %s, valid until %s (%s left)",
                        idp->entity_id, cfg->tvs.metadata, age, until, left);
    signer_report(cfg, idp, r);
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

/* "CN=..." of a name, else the whole name on one line. */
static void name_of(const X509_NAME *n, char *out, size_t len)
{
    char cn[256] = "";
    if (n && X509_NAME_get_text_by_NID(n, NID_commonName, cn, sizeof(cn)) > 0)
        snprintf(out, len, "CN=%s", cn);
    else if (!n || !X509_NAME_oneline(n, out, (int)len))
        snprintf(out, len, "?");
}

/* The subjects of the certificates in a PEM file (at most three): what
 * tvs.tls_ca holds, to set beside the issuer TVS's certificate names. */
static void pem_names(const char *path, char *out, size_t len)
{
    FILE *f = path ? fopen(path, "r") : NULL;
    X509 *x;
    int n = 0;
    out[0] = '\0';
    if (!f)
        goto end;
    while (n < 3 && (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
        char name[256];
        name_of(X509_get_subject_name(x), name, sizeof(name));
        snprintf(out + strlen(out), len - strlen(out), "%s%s", n ? ", " : "", name);
        X509_free(x);
        n++;
    }
    ERR_clear_error(); /* the end of the file reads as an error */
end:
    if (!n)
        snprintf(out, len, "%s", f ? "no certificate" : "unreadable");
    if (f)
        fclose(f);
}

/* Our client certificate as DICTU knows it: file, subject and issuer. */
static void client_description(const zr_config_t *cfg, char *out, size_t len)
{
    char subject[256] = "?", issuer[256] = "?";
    X509 *c = cfg->saml_tls_client.cert;
    if (c) {
        name_of(X509_get_subject_name(c), subject, sizeof(subject));
        name_of(X509_get_issuer_name(c), issuer, sizeof(issuer));
    }
    snprintf(out, len, "saml.tls_client %s (%s, issued by %s)",
             cfg->saml_tls_client.cert_file ? cfg->saml_tls_client.cert_file : "?", subject, issuer);
}

/* OpenSSL's words for a TLS alert the server sent about our certificate
 * (RFC 8446 §6.2): TVS said so itself. Our own verification failing reads
 * "certificate verify failed" and is not among these. */
static int refused_by_alert(const char *error)
{
    static const char *const alerts[] = {"alert unknown ca",          "alert bad certificate",
                                         "alert certificate required", "alert certificate unknown",
                                         "alert certificate revoked",  "alert certificate expired",
                                         "alert unsupported certificate", "alert access denied", NULL};
    for (size_t i = 0; alerts[i]; i++)
        if (strstr(error, alerts[i]))
            return 1;
    return 0;
}

/* The certificate TVS shows, read without verifying it (a failed
 * handshake leaves none to read): "CN=x issued by CN=y". */
static void peek_server(const zr_config_t *cfg, const char *url, char *out, size_t len)
{
    zr_selftest_probe_opts_t po = {.url = url, .peek = 1, .connect_timeout_ms = cfg->tvs.connect_timeout_ms,
                                   .timeout_ms = cfg->tvs.timeout_ms};
    zr_selftest_probe_t p = {0};
    char subject[256], issuer[256];
    if (zr_selftest_probe_run(&po, &p) != 0 || !p.peer) {
        snprintf(out, len, "(its certificate could not be read: %s)", p.error[0] ? p.error : "none sent");
    } else {
        name_of(X509_get_subject_name(p.peer), subject, sizeof(subject));
        name_of(X509_get_issuer_name(p.peer), issuer, sizeof(issuer));
        snprintf(out, len, "%s issued by %s", subject, issuer);
    }
    zr_selftest_probe_clear(&p);
}

/* TVS's server certificate does not verify against the pinned CA (or is
 * not for the host): say what TVS shows and what tvs.tls_ca holds. */
static void server_refused(const zr_config_t *cfg, const char *url, const zr_selftest_probe_t *p,
                           zr_selftest_report_t *r)
{
    char shown[600], pinned[800];
    peek_server(cfg, url, shown, sizeof(shown));
    pem_names(cfg->tvs.tls_ca_file, pinned, sizeof(pinned));
    if (strstr(p->error, "host name") || strstr(p->error, "subject name"))
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-tls",
                        "TVS's certificate is not for the host in the ArtifactResolutionService URL of TVS's "
                        "metadata: check tvs.metadata is the metadata of this environment",
                        "TVS's server certificate at %s is not for this host name: TVS shows %s (%s)", url, shown,
                        p->error);
    else
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-tls",
                        "put the CA that issued TVS's server certificate for this environment (DICTU publishes "
                        "TVS's certificate chain per environment) in tvs.tls_ca, with its intermediates; the "
                        "relay would refuse every artifact resolution",
                        "TVS's server certificate does not verify against tvs.tls_ca: TVS shows %s, tvs.tls_ca "
                        "(%s) holds %s (%s)",
                        shown, cfg->tvs.tls_ca_file ? cfg->tvs.tls_ca_file : "none: the system store", pinned,
                        p->error);
    zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-mtls", NULL, "not tried (TVS's server certificate not trusted)");
}

/* What the answer (or its absence) says about TLS and mutual TLS. */
static void tls_report(const zr_config_t *cfg, const zr_selftest_opts_t *opts, const char *url,
                       const zr_selftest_probe_t *p, zr_selftest_report_t *r)
{
    char peer[512] = "", client[800], refused[1400];
    int expiring = 0;
    time_t now = opts->now ? opts->now : zr_time_now();

    client_description(cfg, client, sizeof(client));
    /* One advice for every way TVS can refuse us: which certificate DICTU
     * must have, and what to do. */
    snprintf(refused, sizeof(refused),
             "TVS does not accept our client certificate. DICTU must have exactly this certificate registered for "
             "this environment (it is in our SP metadata: `zorgrelay metadata`), issued by a CA TVS trusts "
             "(PKIoverheid); send it to DICTU, or point saml.tls_client at the certificate DICTU has registered. "
             "Ours: %s",
             client);
    if (!p->tcp_connected) {
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-tls",
                        "check the firewall (outgoing 443 to TVS) and that DICTU has whitelisted this machine's "
                        "address for this environment",
                        "cannot connect to %s: %s", url, p->error);
        zr_selftest_add(r, ZR_SELFTEST_SKIP, "tvs-mtls", NULL, "not tried (no connection)");
        return;
    }
    if (!p->tls_done && p->cc == CURLE_PEER_FAILED_VERIFICATION) {
        server_refused(cfg, url, p, r);
        return;
    }
    if (!p->tls_done && refused_by_alert(p->error)) {
        /* TLS 1.2: the server refuses a client certificate inside the
         * handshake, after we verified its own. */
        zr_selftest_add(r, ZR_SELFTEST_OK, "tvs-tls", NULL,
                        "TVS's server certificate verified against tvs.tls_ca; the handshake stopped at our client "
                        "certificate");
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls", refused,
                        "TVS refused our client certificate during the TLS handshake: %s", p->error);
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
    if (p->status == 0 && refused_by_alert(p->error))
        /* TLS 1.3: the refusal comes as an alert after the handshake. */
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls", refused,
                        "TVS refused our client certificate (TLS alert after the handshake: %s)", p->error);
    else if (p->status == 0)
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls", refused,
                        "TVS closed the connection without an HTTP answer after the handshake, most likely "
                        "refusing our client certificate: %s", p->error);
    else if (p->status == 403 || p->status == 401 || p->status == 495 || p->status == 496 ||
             (p->status >= 400 && p->body && strcasestr(p->body, "client certificate")))
        zr_selftest_add(r, ZR_SELFTEST_FAIL, "tvs-mtls", refused,
                        "TVS refused our client certificate: HTTP %ld to an empty SOAP request", p->status);
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
