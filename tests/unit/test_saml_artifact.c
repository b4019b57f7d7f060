/* The artifact and its resolution: artifact parsing, the signed SOAP
 * ArtifactResolve (examples/artifact_resolve_request.xml), and the back
 * channel against a real mutual-TLS server (tests/data/saml/sp/mtls_server.py). */
#include <setjmp.h>
#include <curl/curl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "saml_sp_fixture.h"
#include "zr/xml.h"
#include "../../src/saml/sp_internal.h"

/* ---- artifact parsing ---- */

static void test_artifact_parse(void **state)
{
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    char err[256];
    int index = -1;
    char *a;

    a = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 44);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), 0);
    assert_int_equal(index, 0);
    free(a);
    a = fx_artifact(FX_RD_ENTITY, 0x0004, 0x0102, 44);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), 0);
    assert_int_equal(index, 0x0102);
    free(a);

    a = fx_artifact(FX_RD_ENTITY, 0x0002, 0, 44);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "TypeCode 0x0002"));
    free(a);

    a = fx_artifact("urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9001", 0x0004, 0, 44);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "SourceID"));
    free(a);

    a = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 43);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "43 bytes"));
    free(a);
    a = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 45);
    assert_int_equal(zr_saml_artifact_parse(a, idp, &index, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "45 bytes"));
    free(a);

    assert_int_equal(zr_saml_artifact_parse("AAQAAHZH*N7zNFV4", idp, &index, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not base64"));
    assert_int_equal(zr_saml_artifact_parse("", idp, &index, err, sizeof(err)), -1);
    assert_int_equal(zr_saml_artifact_parse(NULL, idp, &index, err, sizeof(err)), -1);
    char longer[300];
    memset(longer, 'A', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = '\0';
    assert_int_equal(zr_saml_artifact_parse(longer, idp, &index, err, sizeof(err)), -1);
    zr_saml_idp_free(idp);
}

/* ---- the signed SOAP ArtifactResolve ---- */

static void assert_attr(xmlNodePtr n, const char *name, const char *want)
{
    char *v = zr_xml_attr(n, name);
    assert_non_null(v);
    assert_string_equal(v, want);
    free(v);
}

static void test_artifact_resolve_soap_shape(void **state)
{
    zr_config_t *cfg = fx_config_new(1);
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    char *art = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 44);
    char *id = NULL, *soap = NULL;
    char err[256] = "";

    assert_int_equal(zr_saml_artifact_resolve_build(cfg, idp, &cfg->tenants[0], art, &id, &soap, err, sizeof(err)), 0);
    xmlDocPtr doc = zr_xml_parse(soap, strlen(soap), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr env = xmlDocGetRootElement(doc);
    assert_true(zr_xml_is(env, ZR_NS_SOAP, "Envelope"));
    assert_int_equal(xmlChildElementCount(env), 1);
    xmlNodePtr body = zr_xml_child(env, ZR_NS_SOAP, "Body");
    assert_non_null(body);
    assert_int_equal(xmlChildElementCount(body), 1);
    xmlNodePtr ar = zr_xml_child(body, ZR_NS_SAMLP, "ArtifactResolve");
    assert_non_null(ar);
    assert_attr(ar, "ID", id);
    assert_attr(ar, "Version", "2.0");
    assert_attr(ar, "Destination", idp->artifact_url);
    char *instant = zr_xml_attr(ar, "IssueInstant");
    time_t it;
    assert_int_equal(zr_time_parse_iso8601(instant, &it), 0);
    free(instant);

    /* Issuer, Signature, Artifact: in that order, nothing else. */
    xmlNodePtr issuer = xmlFirstElementChild(ar);
    assert_true(zr_xml_is(issuer, ZR_NS_SAML, "Issuer"));
    char *txt = zr_xml_text(issuer);
    assert_string_equal(txt, FX_DV_ENTITY);
    free(txt);
    xmlNodePtr sig = xmlNextElementSibling(issuer);
    assert_true(zr_xml_is(sig, ZR_NS_DS, "Signature"));
    xmlNodePtr artifact = xmlNextElementSibling(sig);
    assert_true(zr_xml_is(artifact, ZR_NS_SAMLP, "Artifact"));
    txt = zr_xml_text(artifact);
    assert_string_equal(txt, art);
    free(txt);
    assert_null(xmlNextElementSibling(artifact));

    /* KeyName only, and the signature holds inside the envelope. */
    xmlNodePtr ki = zr_xml_child(sig, ZR_NS_DS, "KeyInfo");
    assert_null(zr_xml_child(ki, ZR_NS_DS, "X509Data"));
    txt = zr_xml_text(zr_xml_child(ki, ZR_NS_DS, "KeyName"));
    assert_string_equal(txt, cfg->saml_signing.key_name);
    free(txt);
    zr_xml_verify_key_t k = {.key = cfg->saml_signing.key, .key_name = cfg->saml_signing.key_name};
    assert_int_equal(zr_xml_verify(doc, ar, &k, 1, err, sizeof(err)), 0);
    zr_xml_verify_key_t wrong = {.key = cfg->saml_tls_client.key, .key_name = cfg->saml_signing.key_name};
    assert_int_not_equal(zr_xml_verify(doc, ar, &wrong, 1, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
    free(id);
    free(soap);

    /* No care provider: nobody to issue it. */
    assert_int_equal(zr_saml_artifact_resolve_build(cfg, idp, NULL, art, &id, &soap, err, sizeof(err)), -1);
    assert_null(soap);
    free(art);
    zr_saml_idp_free(idp);
    fx_config_free(cfg);
}

/* Cluster connection (issue 3): the LC sent the AuthnRequest, so the LC
 * resolves the artifact; signed with the (LC's) signing key. */
static void test_artifact_resolve_cluster_issuer(void **state)
{
    zr_config_t *cfg = fx_config_new(1);
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    char *art = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 44);
    char *id = NULL, *soap = NULL;
    char err[256] = "";
    const char *lc = "urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000";

    /* Without the LC's entityID there is nobody to issue it. */
    cfg->cluster.enabled = 1;
    assert_int_equal(zr_saml_artifact_resolve_build(cfg, idp, &cfg->tenants[0], art, &id, &soap, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "LC entityID"));
    assert_null(soap);

    cfg->cluster.entity_id = strdup(lc);
    assert_int_equal(zr_saml_artifact_resolve_build(cfg, idp, &cfg->tenants[0], art, &id, &soap, err, sizeof(err)), 0);
    xmlDocPtr doc = zr_xml_parse(soap, strlen(soap), 0, err, sizeof(err));
    assert_non_null(doc);
    xmlNodePtr body = zr_xml_child(xmlDocGetRootElement(doc), ZR_NS_SOAP, "Body");
    xmlNodePtr ar = zr_xml_child(body, ZR_NS_SAMLP, "ArtifactResolve");
    assert_non_null(ar);
    assert_attr(ar, "ID", id);
    xmlNodePtr issuer = xmlFirstElementChild(ar);
    assert_true(zr_xml_is(issuer, ZR_NS_SAML, "Issuer"));
    char *txt = zr_xml_text(issuer);
    assert_string_equal(txt, lc);
    free(txt);
    assert_int_equal(zr_xml_count_children(ar, ZR_NS_SAML, "Issuer"), 1);
    zr_xml_verify_key_t k = {.key = cfg->saml_signing.key, .key_name = cfg->saml_signing.key_name};
    assert_int_equal(zr_xml_verify(doc, ar, &k, 1, err, sizeof(err)), 0);
    /* The Issuer is signed: putting the care provider back breaks it. */
    xmlNodeSetContent(issuer, (const xmlChar *)FX_DV_ENTITY);
    assert_int_not_equal(zr_xml_verify(doc, ar, &k, 1, err, sizeof(err)), 0);
    xmlFreeDoc(doc);
    free(id);
    free(soap);
    id = soap = NULL;

    /* Direct again: the care provider issues it. */
    cfg->cluster.enabled = 0;
    assert_int_equal(zr_saml_artifact_resolve_build(cfg, idp, &cfg->tenants[0], art, &id, &soap, err, sizeof(err)), 0);
    assert_non_null(strstr(soap, FX_DV_ENTITY));
    assert_null(strstr(soap, lc));
    free(id);
    free(soap);
    free(cfg->cluster.entity_id);
    cfg->cluster.entity_id = NULL;
    free(art);
    zr_saml_idp_free(idp);
    fx_config_free(cfg);
}

/* ---- the back channel against a real mutual-TLS server ---- */

typedef struct {
    char *dir;
    zr_config_t *cfg;
    /* PEM files in dir: ca.pem (TVS server CA), other-ca.pem, client-ca.pem
     * (issued our client cert), server.pem/.key, client.pem/.key */
    pid_t server;
    int port;
    char log[600];
} bc_fixture_t;

static void path_in(const bc_fixture_t *f, const char *name, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/%s", f->dir, name);
}

static int bc_setup(void **state)
{
    bc_fixture_t *f = calloc(1, sizeof(*f));
    char p[600];
    f->dir = fx_tmpdir();
    f->cfg = fx_config_new(1);

    EVP_PKEY *ca_key = fx_rsa_key(), *other_key = fx_rsa_key(), *cca_key = fx_rsa_key();
    X509 *ca = fx_cert(ca_key, "tvs test ca", NULL, NULL, 1, NULL);
    X509 *other = fx_cert(other_key, "unrelated ca", NULL, NULL, 1, NULL);
    X509 *cca = fx_cert(cca_key, "relay client ca", NULL, NULL, 1, NULL);
    EVP_PKEY *srv_key = fx_rsa_key();
    X509 *srv = fx_cert(srv_key, "localhost", ca, ca_key, 0, "DNS:localhost,IP:127.0.0.1");
    path_in(f, "ca.pem", p, sizeof(p));
    fx_write_cert(p, ca);
    path_in(f, "other-ca.pem", p, sizeof(p));
    fx_write_cert(p, other);
    path_in(f, "client-ca.pem", p, sizeof(p));
    fx_write_cert(p, cca);
    path_in(f, "server.pem", p, sizeof(p));
    fx_write_cert(p, srv);
    path_in(f, "server.key", p, sizeof(p));
    fx_write_key(p, srv_key);

    /* Our TLS client certificate, issued by the client CA the server trusts. */
    zr_keypair_t *tls = &f->cfg->saml_tls_client;
    X509_free(tls->cert);
    tls->cert = fx_cert(tls->key, "relay tls client", cca, cca_key, 0, NULL);
    path_in(f, "client.pem", p, sizeof(p));
    fx_write_cert(p, tls->cert);
    tls->cert_file = strdup(p);
    path_in(f, "client.key", p, sizeof(p));
    fx_write_key(p, tls->key);
    tls->key_file = strdup(p);
    path_in(f, "ca.pem", p, sizeof(p));
    f->cfg->tvs.tls_ca_file = strdup(p);
    path_in(f, "requests.log", f->log, sizeof(f->log));

    X509_free(ca);
    X509_free(other);
    X509_free(cca);
    X509_free(srv);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(other_key);
    EVP_PKEY_free(cca_key);
    EVP_PKEY_free(srv_key);
    *state = f;
    return 0;
}

static void server_stop(bc_fixture_t *f)
{
    if (f->server > 0) {
        kill(f->server, SIGTERM);
        waitpid(f->server, NULL, 0);
    }
    f->server = 0;
}

/* Per test: the server goes away even when an assertion failed mid-test. */
static int server_teardown(void **state)
{
    server_stop(*state);
    return 0;
}

static int bc_teardown(void **state)
{
    bc_fixture_t *f = *state;
    fx_config_free(f->cfg);
    fx_rmdir(f->dir);
    free(f);
    return 0;
}


/* Starts mtls_server.py in `mode` trusting client_ca for client certs; waits
 * until it listens. */
static void server_start(bc_fixture_t *f, const char *mode, const char *client_ca)
{
    char script[600], cert[600], key[600], ca[600], port_file[600];
    const char *data = getenv("ZR_TEST_DATA");
    snprintf(script, sizeof(script), "%s/saml/sp/mtls_server.py", data ? data : ZR_SOURCE_DIR "/tests/data");
    path_in(f, "server.pem", cert, sizeof(cert));
    path_in(f, "server.key", key, sizeof(key));
    path_in(f, client_ca, ca, sizeof(ca));
    path_in(f, "port", port_file, sizeof(port_file));
    unlink(port_file);
    unlink(f->log);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", script, "--cert", cert, "--key", key, "--client-ca", ca,
              "--port-file", port_file, "--log", f->log, "--mode", mode, "--delay", "1.5", (char *)NULL);
        _exit(127);
    }
    f->server = pid;
    for (int i = 0; i < 400; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            f->server = 0; /* exited already: nothing to stop */
            fail_msg("mtls_server.py exited at start");
        }
        FILE *pf = fopen(port_file, "r");
        if (pf) {
            int ok = fscanf(pf, "%d", &f->port) == 1;
            fclose(pf);
            if (ok)
                return;
        }
        struct timespec ts = {0, 25 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    server_stop(f);
    fail_msg("mtls_server.py did not start");
}

/* Number of requests the server saw, and the log text. */
static int server_requests(const bc_fixture_t *f, char **text)
{
    char *data = NULL;
    size_t len = 0;
    int n = 0;
    if (zr_file_read(f->log, 1 << 20, &data, &len) != 0) {
        if (text)
            *text = NULL;
        return 0;
    }
    for (size_t i = 0; i < len; i++)
        n += data[i] == '\n';
    if (text)
        *text = data;
    else
        free(data);
    return n;
}

/* Resolves a fresh artifact against the running server. */
static int resolve(bc_fixture_t *f, zr_saml_backchannel_t *bc, char **id, char **resp, size_t *len,
                   char *err, size_t errlen)
{
    char url[128];
    snprintf(url, sizeof(url), "https://127.0.0.1:%d/kvs/rd/resolve_artifact", f->port);
    zr_saml_idp_t *idp = fx_idp_new(url);
    char *art = fx_artifact(FX_RD_ENTITY, 0x0004, 0, 44);
    int rc = zr_saml_artifact_resolve(bc, f->cfg, idp, &f->cfg->tenants[0], art, id, resp, len, err, errlen);
    free(art);
    zr_saml_idp_free(idp);
    return rc;
}

static void test_backchannel_success(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL, *log = NULL;
    size_t len = 0;

    server_start(f, "ok", "client-ca.pem");
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_non_null(bc);
    int rc = resolve(f, bc, &id, &resp, &len, err, sizeof(err));
    if (rc != 0)
        fail_msg("resolve failed: %s", err);
    assert_non_null(strstr(resp, "_canned"));
    assert_int_equal(len, strlen(resp));
    assert_int_equal(server_requests(f, &log), 1);
    assert_non_null(strstr(log, "\"client_cert\": true"));
    assert_non_null(strstr(log, "\"content_type\": \"text/xml; charset=utf-8\""));
    assert_non_null(strstr(log, "\"soap_action\": \"\\\"http://www.oasis-open.org/committees/security\\\"\""));
    assert_non_null(strstr(log, "\"path\": \"/kvs/rd/resolve_artifact\""));
    assert_non_null(strstr(log, id)); /* our signed ArtifactResolve is what arrived */
    assert_non_null(strstr(log, "soapenv:Envelope"));
    free(log);
    free(id);
    free(resp);

    /* The same handle again (connection reuse): one more request, no more. */
    rc = resolve(f, bc, &id, &resp, &len, err, sizeof(err));
    assert_int_equal(rc, 0);
    assert_int_equal(server_requests(f, NULL), 2);
    free(id);
    free(resp);
    zr_saml_backchannel_free(bc);
    server_stop(f);
}

static void test_backchannel_wrong_server_ca(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;
    char p[600];

    server_start(f, "ok", "client-ca.pem");
    /* We pin a CA that did not issue the server's certificate. */
    free(f->cfg->tvs.tls_ca_file);
    path_in(f, "other-ca.pem", p, sizeof(p));
    f->cfg->tvs.tls_ca_file = strdup(p);
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_non_null(bc);
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_TLS);
    assert_non_null(strstr(err, "TLS handshake with TVS failed"));
    assert_null(resp);
    assert_null(id);
    assert_int_equal(server_requests(f, NULL), 0);
    zr_saml_backchannel_free(bc);
    free(f->cfg->tvs.tls_ca_file);
    path_in(f, "ca.pem", p, sizeof(p));
    f->cfg->tvs.tls_ca_file = strdup(p);
    server_stop(f);
}

static void test_backchannel_client_cert_refused(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;

    /* The server only trusts client certificates from another CA. */
    server_start(f, "ok", "other-ca.pem");
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_non_null(bc);
    int rc = resolve(f, bc, &id, &resp, &len, err, sizeof(err));
    if (rc != ZR_SAML_ERR_TLS || !strstr(err, "TLS handshake with TVS failed"))
        fail_msg("rc=%d err=%s", rc, err);
    assert_null(resp);
    assert_int_equal(server_requests(f, NULL), 0);
    zr_saml_backchannel_free(bc);
    server_stop(f);
}

static void test_backchannel_http_500(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;

    server_start(f, "http500", "client-ca.pem");
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_HTTP);
    assert_string_equal(err, "TVS answered HTTP 500");
    assert_null(resp);
    assert_int_equal(server_requests(f, NULL), 1);
    zr_saml_backchannel_free(bc);
    server_stop(f);
}

static void test_backchannel_too_large(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;

    server_start(f, "big", "client-ca.pem");
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_TOO_LARGE);
    assert_non_null(strstr(err, "larger than 1048576 bytes"));
    assert_null(resp);
    assert_int_equal(server_requests(f, NULL), 1);
    zr_saml_backchannel_free(bc);
    server_stop(f);
}

static void test_backchannel_timeout_is_not_retried(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;

    server_start(f, "slow", "client-ca.pem");
    int saved = f->cfg->tvs.timeout_ms;
    f->cfg->tvs.timeout_ms = 500;
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    f->cfg->tvs.timeout_ms = saved;
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_TIMEOUT);
    assert_non_null(strstr(err, "timeout after 500 ms"));
    assert_null(resp);
    /* Give a (wrong) retry time to arrive: the server must still have seen one. */
    struct timespec ts = {0, 400 * 1000 * 1000};
    nanosleep(&ts, NULL);
    assert_int_equal(server_requests(f, NULL), 1);
    zr_saml_backchannel_free(bc);
    server_stop(f);
}

/* Issue 13 §2: the circuit breaker. Two failures in a row (HTTP 500) open
 * it; then nothing is sent until the cool-down ends (the test hook ends it:
 * no clock); a failed probe opens it again, a probe TVS answers closes it. */
static void test_backchannel_breaker(void **state)
{
#ifndef ZR_TESTING
    (void)state;
    skip(); /* needs -DZR_TEST_HOOKS=ON (make check has it) */
#else
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;
    int saved_failures = f->cfg->tvs.breaker_failures, saved_cooldown = f->cfg->tvs.breaker_cooldown_s;

    server_start(f, "http500", "client-ca.pem");
    f->cfg->tvs.breaker_failures = 2;
    f->cfg->tvs.breaker_cooldown_s = 3600;
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    f->cfg->tvs.breaker_failures = saved_failures;
    f->cfg->tvs.breaker_cooldown_s = saved_cooldown;
    assert_non_null(bc);
    assert_string_equal(zr_saml_breaker_state_name(zr_saml_backchannel_state(bc)), "closed");
    for (int i = 0; i < 2; i++)
        assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_HTTP);
    assert_int_equal(zr_saml_backchannel_state(bc), ZR_SAML_BREAKER_OPEN);
    assert_int_equal(server_requests(f, NULL), 2);

    /* open: refused at once, nothing sent */
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "circuit breaker open"));
    assert_int_equal(server_requests(f, NULL), 2);

    /* cool-down over, TVS still failing: one probe goes out, opens it again */
    zr_saml_backchannel_breaker_expire(bc);
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_HTTP);
    assert_int_equal(server_requests(f, NULL), 3);
    assert_int_equal(zr_saml_backchannel_state(bc), ZR_SAML_BREAKER_OPEN);
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_UNAVAILABLE);
    assert_int_equal(server_requests(f, NULL), 3);

    /* TVS back: the next probe succeeds and closes it */
    server_stop(f);
    server_start(f, "ok", "client-ca.pem");
    zr_saml_backchannel_breaker_expire(bc);
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), 0);
    assert_int_equal(zr_saml_backchannel_state(bc), ZR_SAML_BREAKER_CLOSED);
    free(id);
    free(resp);
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), 0);
    assert_int_equal(server_requests(f, NULL), 2);
    free(id);
    free(resp);
    zr_saml_backchannel_free(bc);
    server_stop(f);
#endif
}

static void test_backchannel_unreachable_and_not_https(void **state)
{
    bc_fixture_t *f = *state;
    char err[512] = "";
    char *id = NULL, *resp = NULL;
    size_t len = 0;

    /* A port nobody listens on (the last server's, now stopped). */
    server_start(f, "ok", "client-ca.pem");
    server_stop(f);
    zr_saml_backchannel_t *bc = zr_saml_backchannel_new(f->cfg, err, sizeof(err));
    assert_int_equal(resolve(f, bc, &id, &resp, &len, err, sizeof(err)), ZR_SAML_ERR_UNAVAILABLE);
    assert_non_null(strstr(err, "cannot connect to TVS"));

    /* Never plain http, even if metadata said so. */
    assert_int_equal(zr_saml_backchannel_post(bc, "http://127.0.0.1:1/x", "<x/>", 4, &resp, &len, err, sizeof(err)),
                     ZR_SAML_ERR_INTERNAL);
    assert_non_null(strstr(err, "not https"));

    /* A wrong artifact is refused before anything is sent. */
    zr_saml_idp_t *idp = fx_idp_new(NULL);
    char *art = fx_artifact(FX_RD_ENTITY, 0x0004, 1, 44);
    assert_int_equal(zr_saml_artifact_resolve(bc, f->cfg, idp, &f->cfg->tenants[0], art, &id, &resp, &len, err, sizeof(err)),
                     ZR_SAML_ERR_ARTIFACT);
    free(art);
    zr_saml_idp_free(idp);
    zr_saml_backchannel_free(bc);

    /* No client certificate configured: no back channel at all. */
    char *cert_file = f->cfg->saml_tls_client.cert_file;
    f->cfg->saml_tls_client.cert_file = NULL;
    assert_null(zr_saml_backchannel_new(f->cfg, err, sizeof(err)));
    f->cfg->saml_tls_client.cert_file = cert_file;
}

int main(void)
{
    const struct CMUnitTest parse_tests[] = {
        cmocka_unit_test(test_artifact_parse),
        cmocka_unit_test(test_artifact_resolve_soap_shape),
        cmocka_unit_test(test_artifact_resolve_cluster_issuer),
    };
    const struct CMUnitTest bc_tests[] = {
        cmocka_unit_test_teardown(test_backchannel_success, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_wrong_server_ca, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_client_cert_refused, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_http_500, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_too_large, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_timeout_is_not_retried, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_breaker, server_teardown),
        cmocka_unit_test_teardown(test_backchannel_unreachable_and_not_https, server_teardown),
    };
    /* as main() does (src/main.c): libcurl's global state before any thread */
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int failed = 0;
    if (zr_xml_init() != 0)
        return 1;
    failed += cmocka_run_group_tests_name("artifact", parse_tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("backchannel", bc_tests, bc_setup, bc_teardown);
    zr_xml_shutdown();
    return failed;
}
