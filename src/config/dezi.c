/* The professionals' sections (issue 4, reference/dezi.md): `dezi:` (the
 * relay as OpenID client of Dezi), `decision_log:` (where Authorization
 * Decision Log records go) and `mock_dezi:` (the built-in mock, never in
 * production). Keys are loaded here, at load, like every other key. */
#include "config_internal.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/util.h"

/* Dezi v0.7 is a public client (PKCE only); the 2024 version used
 * private_key_jwt. Values map to zr_client_auth_t below. */
static const char *const dezi_auth_names[] = {"none", "private_key_jwt", NULL};

static int is_p256(EVP_PKEY *key)
{
    char group[64] = "";
    size_t glen = 0;
    int ok = EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
             EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1 && !strcmp(group, "prime256v1");
    ERR_clear_error();
    return ok;
}

/* A private key file under `key`; NULL (reported) when it cannot be read. */
static EVP_PKEY *read_private_key(zr_cfg_map_t *m, const char *key, int required, char **file)
{
    char kpath[ZR_CFG_PATH_MAX], err[512];
    EVP_PKEY *pkey;
    if (zr_cfg_get_path(m, key, required, file) != 1)
        return NULL;
    if (!(pkey = zr_cfg_load_private_key(m->ld, *file, err, sizeof(err)))) {
        zr_cfg_path_key(kpath, m->path, key);
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "%s", err);
    } else {
        zr_cfg_check_file_mode(m, key, *file);
    }
    return pkey;
}

/* RSA >= 2048 only: RS256 signatures, RSA-OAEP decryption. */
static int check_rsa(zr_cfg_map_t *m, const char *key, EVP_PKEY *pkey, const char *why)
{
    char kpath[ZR_CFG_PATH_MAX];
    if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA) {
        zr_cfg_path_key(kpath, m->path, key);
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "must be an RSA key (%s)", why);
        return -1;
    }
    return zr_cfg_check_key_strength(m, key, pkey, ZR_CFG_KEY_RSA_ONLY);
}

static void read_client_key(zr_cfg_map_t *m, zr_dezi_config_t *d)
{
    zr_cfg_loader_t *ld = m->ld;
    char kpath[ZR_CFG_PATH_MAX];
    const char *key = zr_cfg_map_key(m, "client_key") ? "client_key"
                      : zr_cfg_map_key(m, "client_key_kid") ? "client_key_kid" : NULL;
    if (d->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT) {
        if (key) {
            zr_cfg_path_key(kpath, m->path, key);
            zr_cfg_error(ld, zr_cfg_map_key(m, key), kpath, "is only used with auth_method private_key_jwt");
        }
        return;
    }
    if (!zr_cfg_map_get(m, "client_key")) {
        zr_cfg_path_key(kpath, m->path, "client_key");
        zr_cfg_error(ld, m->node, kpath, "is required for auth_method private_key_jwt");
    } else if ((d->client_key = read_private_key(m, "client_key", 0, &d->client_key_file)) != NULL) {
        /* The assertion's alg follows the key: RS256 or ES256 (RFC 7523). */
        if (EVP_PKEY_get_base_id(d->client_key) == EVP_PKEY_RSA) {
            zr_cfg_check_key_strength(m, "client_key", d->client_key, 0);
        } else if (!is_p256(d->client_key)) {
            zr_cfg_path_key(kpath, m->path, "client_key");
            zr_cfg_error(ld, zr_cfg_map_get(m, "client_key"), kpath,
                         "must be an RSA key (RS256) or an EC P-256 key (ES256)");
        }
    }
    if (zr_cfg_get_str(m, "client_key_kid", 0, &d->client_key_kid) == 1 &&
        !zr_cfg_token_valid(d->client_key_kid, 128)) {
        zr_cfg_path_key(kpath, m->path, "client_key_kid");
        zr_cfg_error(ld, zr_cfg_map_get(m, "client_key_kid"), kpath,
                     "must be 1-128 printable characters without spaces or quotes");
    }
}

static int check_jku(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value, void *ctx)
{
    return zr_cfg_check_upstream_url(ld, at, path, value, NULL);
}

void zr_cfg_read_dezi(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"issuer", "client_id", "auth_method", "client_key", "client_key_kid",
                                       "decryption_key", "jku_allow", "tls_ca", "min_loa",
                                       "revocation_fail_open", "timeout_ms", "key_cache_seconds", NULL};
    static const zr_client_auth_t auth_values[] = {ZR_CLIENT_AUTH_NONE, ZR_CLIENT_AUTH_PRIVATE_KEY_JWT};
    zr_cfg_loader_t *ld = root->ld;
    zr_dezi_config_t *d = &cfg->dezi;
    yaml_node_t *v = zr_cfg_map_get(root, "dezi");
    zr_cfg_map_t m;
    char err[512], *loa = NULL;
    long n;
    int e;

    d->auth_method = ZR_CLIENT_AUTH_NONE;
    d->min_loa = ZR_LOA_HIGH; /* Dezi aims at eIDAS high (reference/dezi.md) */
    d->timeout_ms = 5000;
    d->key_cache_s = 3600;
    if (!v)
        return;
    if (zr_cfg_map_open(ld, v, "dezi", keys, &m) != 0)
        return;
    /* Present, even when wrong below: clients naming professionals are then
     * judged against this section's errors, not told it is missing. */
    d->enabled = 1;
    /* The issuer is compared exactly with iss (OIDC Core §3.1.3.7), so a
     * trailing slash is the operator's to write. */
    if (zr_cfg_get_str(&m, "issuer", 1, &d->issuer) == 1)
        zr_cfg_check_upstream_url(ld, zr_cfg_map_get(&m, "issuer"), "dezi.issuer", d->issuer, NULL);
    if (zr_cfg_get_str(&m, "client_id", 1, &d->client_id) == 1 && !zr_cfg_token_valid(d->client_id, 128))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "client_id"), "dezi.client_id",
                     "must be 1-128 printable characters without spaces or quotes");
    if (zr_cfg_get_enum(&m, "auth_method", 0, dezi_auth_names, &e) == 1)
        d->auth_method = auth_values[e];
    read_client_key(&m, d);
    /* Dezi encrypts userinfo to this key (RSA-OAEP, A256CBC-HS512). */
    if ((d->decryption_key = read_private_key(&m, "decryption_key", 1, &d->decryption_key_file)) != NULL)
        check_rsa(&m, "decryption_key", d->decryption_key, "Dezi encrypts userinfo with RSA-OAEP");
    /* Register keys come only from these (reference/dezi.md §Protocol). */
    zr_cfg_get_strv(&m, "jku_allow", 1, &d->jku_allow, &d->jku_allow_count, check_jku, NULL);
    zr_cfg_check_seq_unique(&m, "jku_allow");
    if (zr_cfg_get_path(&m, "tls_ca", 0, &d->tls_ca_file) == 1) {
        STACK_OF(X509) *ca = zr_crypto_load_certificates(d->tls_ca_file, err, sizeof(err));
        if (!ca)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "tls_ca"), "dezi.tls_ca", "%s", err);
        else /* the only CAs Dezi's TLS is trusted by: as strong as our keys */
            zr_cfg_check_certs_strength(&m, "tls_ca", ca);
        sk_X509_pop_free(ca, X509_free);
    }
    if (zr_cfg_get_str(&m, "min_loa", 0, &loa) == 1 && (d->min_loa = zr_loa_parse(loa)) == ZR_LOA_NONE)
        zr_cfg_error(ld, zr_cfg_map_get(&m, "min_loa"), "dezi.min_loa",
                     "'%s' is not a level of assurance (basic, low, substantial, high, or its URI)", loa);
    free(loa);
    /* A revoked declaration must never pass where patients' data is: an
     * outage of both revocation services blocks logins in production. */
    if (zr_cfg_get_bool(&m, "revocation_fail_open", &d->revocation_fail_open) == 1 && d->revocation_fail_open &&
        ld->env == ZR_ENV_PRODUCTION)
        zr_cfg_error(ld, zr_cfg_map_get(&m, "revocation_fail_open"), "dezi.revocation_fail_open",
                     "is refused in production: a revoked Dezi declaration could log in while the status "
                     "service and the revocation list are unreachable");
    if (zr_cfg_get_int(&m, "timeout_ms", 0, 100, 60000, &n) == 1)
        d->timeout_ms = (int)n;
    if (zr_cfg_get_int(&m, "key_cache_seconds", 0, 60, 86400, &n) == 1)
        d->key_cache_s = (int)n;
}

void zr_cfg_read_decision_log(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"file", "subject_key_file", NULL};
    static const char label[] = "zorgrelay decision-log subject key v1";
    zr_decision_log_config_t *dl = &cfg->decision_log;
    yaml_node_t *v = zr_cfg_map_get(root, "decision_log");
    zr_cfg_map_t m;
    char err[256];

    /* Default first: a key of its own, separated from the pairwise use of
     * the same secret by the label (oidc was read before us). */
    if (zr_crypto_hmac_sha256(cfg->oidc.pairwise_secret, sizeof(cfg->oidc.pairwise_secret), (const uint8_t *)label,
                              sizeof(label) - 1, dl->subject_key) != 0)
        zr_cfg_error(root->ld, v, "decision_log", "cannot derive the subject key");
    if (!v)
        return; /* records go to stderr as log lines */
    if (zr_cfg_map_open(root->ld, v, "decision_log", keys, &m) != 0)
        return;
    zr_cfg_get_path(&m, "file", 1, &dl->file);
    if (zr_cfg_get_path(&m, "subject_key_file", 0, &dl->subject_key_file) == 1) {
        if (zr_crypto_load_secret(dl->subject_key_file, dl->subject_key, err, sizeof(err)) != 0)
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "subject_key_file"), "decision_log.subject_key_file", "%s",
                         err);
        else
            zr_cfg_check_file_mode(&m, "subject_key_file", dl->subject_key_file);
    }
}

/* {key, cert?}: an RSA signing key, its certificate optional (the mock
 * publishes a JWKS; x5c only when a certificate is given). */
static void read_mock_signing(zr_cfg_map_t *parent, const char *key, zr_keypair_t *kp)
{
    static const char *const keys[] = {"cert", "key", NULL};
    zr_cfg_loader_t *ld = parent->ld;
    yaml_node_t *v = zr_cfg_map_get(parent, key);
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], err[512];
    if (!v) {
        zr_cfg_required(parent, key);
        return;
    }
    zr_cfg_path_key(kpath, parent->path, key);
    if (zr_cfg_map_open(ld, v, kpath, keys, &m) != 0)
        return;
    if ((kp->key = read_private_key(&m, "key", 1, &kp->key_file)) != NULL &&
        check_rsa(&m, "key", kp->key, "Dezi signs with RS256") != 0)
        return;
    if (zr_cfg_get_path(&m, "cert", 0, &kp->cert_file) != 1)
        return;
    zr_cfg_path_key(kpath, m.path, "cert");
    if (!(kp->cert = zr_crypto_load_certificate_ex(kp->cert_file, ld->libctx, err, sizeof(err))))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "cert"), kpath, "%s", err);
    else if (kp->key && !zr_crypto_key_matches_cert(kp->key, kp->cert)) {
        zr_cfg_path_key(kpath, m.path, "key");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "key"), kpath, "the private key does not belong to the certificate %s",
                     kp->cert_file);
    } else if (zr_cfg_check_cert_time(&m, "cert", kp->cert, kp->cert_file) == 0 &&
             !(kp->key_name = zr_crypto_cert_keyname(kp->cert)))
        zr_cfg_error(ld, v, m.path, "cannot compute the certificate's KeyName");
}

void zr_cfg_read_mock_dezi(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"listen", "public_base_url", "signing", "register", "expected_client_id",
                                       "userinfo", NULL};
    static const char *const userinfo_forms[] = {"jwe", "signed_jwt", NULL};
    int form = 0;
    zr_cfg_loader_t *ld = root->ld;
    zr_mock_dezi_config_t *md = &cfg->mock_dezi;
    yaml_node_t *v = zr_cfg_map_get(root, "mock_dezi");
    zr_cfg_map_t m;
    if (!v)
        return;
    if (ld->env == ZR_ENV_PRODUCTION) {
        zr_cfg_error(ld, zr_cfg_map_key(root, "mock_dezi"), "mock_dezi", "the mock Dezi is refused in production");
        return;
    }
    if (zr_cfg_map_open(ld, v, "mock_dezi", keys, &m) != 0)
        return;
    cfg->has_mock_dezi = 1;
    if (zr_cfg_get_str(&m, "listen", 1, &md->listen) == 1 && !zr_cfg_listen_valid(md->listen))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "listen"), "mock_dezi.listen", "must be HOST:PORT, e.g. 127.0.0.1:8082");
    if (zr_cfg_get_str(&m, "public_base_url", 1, &md->public_base_url) == 1)
        zr_cfg_check_base_url(ld, zr_cfg_map_get(&m, "public_base_url"), "mock_dezi.public_base_url",
                              md->public_base_url, NULL);
    read_mock_signing(&m, "signing", &md->signing);
    read_mock_signing(&m, "register", &md->register_key);
    if (zr_cfg_get_str(&m, "expected_client_id", 0, &md->expected_client_id) == 1 &&
        !zr_cfg_token_valid(md->expected_client_id, 128))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "expected_client_id"), "mock_dezi.expected_client_id",
                     "must be 1-128 printable characters without spaces or quotes");
    if (zr_cfg_get_enum(&m, "userinfo", 0, userinfo_forms, &form) == 1)
        md->userinfo_signed_jwt = form == 1;
    /* The mock encrypts userinfo to dezi.decryption_key's public half. */
    if (!cfg->dezi.enabled)
        zr_cfg_error(ld, zr_cfg_map_key(root, "mock_dezi"), "mock_dezi",
                     "needs a dezi: section (the mock encrypts userinfo to dezi.decryption_key)");
    else if (!md->expected_client_id && cfg->dezi.client_id && !(md->expected_client_id = strdup(cfg->dezi.client_id)))
        zr_cfg_error(ld, v, "mock_dezi", "out of memory");
}

void zr_cfg_free_dezi(zr_config_t *cfg)
{
    zr_dezi_config_t *d = &cfg->dezi;
    zr_mock_dezi_config_t *md = &cfg->mock_dezi;
    free(d->issuer);
    free(d->client_id);
    free(d->client_key_file);
    EVP_PKEY_free(d->client_key); /* OpenSSL wipes the private key material */
    free(d->client_key_kid);
    free(d->decryption_key_file);
    EVP_PKEY_free(d->decryption_key);
    zr_cfg_free_strv(d->jku_allow, d->jku_allow_count);
    free(d->tls_ca_file);
    memset(d, 0, sizeof(*d));
    zr_release(cfg->decision_log.file);
    zr_release(cfg->decision_log.subject_key_file);
    free(md->listen);
    free(md->public_base_url);
    zr_cfg_keypair_free(&md->signing);
    zr_cfg_keypair_free(&md->register_key);
    free(md->expected_client_id);
    memset(md, 0, sizeof(*md));
    cfg->has_mock_dezi = 0;
}
