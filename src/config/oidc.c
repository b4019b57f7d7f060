/* The oidc section: the OpenID Provider's signing keys, pairwise secret and
 * lifetimes (NL GOV Assurance profile for OIDC limits them). */
#include "config_internal.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "zr/crypto.h"
#include "zr/util.h"

/* Same order as zr_sigalg_t. */
const char *const zr_cfg_sigalg_names[] = {"RS256", "ES256", "PS256", NULL};
const char *const zr_cfg_jwe_alg_names[] = {"RSA-OAEP", "RSA-OAEP-256", NULL};
const char *const zr_cfg_jwe_enc_names[] = {"A256GCM", NULL};

static int is_p256(EVP_PKEY *key)
{
    char group[64] = "";
    size_t glen = 0;
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_EC &&
           EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) == 1 && !strcmp(group, "prime256v1");
}

static int kid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 128)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '"' || s[i] == '\\')
            return 0;
    return 1;
}

/* A certificate file may hold the chain after the key's own certificate
 * (PKIoverheid): the JWKS publishes it in x5c, which RFC 7517 §4.7 wants in
 * order, each certificate certifying (and signing) the one before; NL GOV
 * §Public keys wants it up to the root. Production refuses a file that does
 * not end in a self-signed root; elsewhere the relay warns at start. */
static void read_chain(zr_cfg_loader_t *ld, zr_cfg_map_t *m, const char *path, zr_oidc_key_t *k)
{
    char err[256] = "", name[256];
    STACK_OF(X509) *all = zr_crypto_load_certificates(k->cert_file, err, sizeof(err));
    X509 *prev = k->cert;

    if (!all) {
        zr_cfg_error(ld, zr_cfg_map_get(m, "cert"), path, "cert: %s", err);
        return;
    }
    X509_free(sk_X509_shift(all)); /* the first is k->cert, read already */
    for (int i = 0; i < sk_X509_num(all); i++) {
        X509 *next = sk_X509_value(all, i);
        if (X509_check_issued(next, prev) != X509_V_OK || X509_verify(prev, X509_get0_pubkey(next)) != 1) {
            zr_cfg_error(ld, zr_cfg_map_get(m, "cert"), path,
                         "cert: certificate %d in %s did not issue (and sign) the one before it (x5c must be in "
                         "chain order, RFC 7517 §4.7)", i + 2, k->cert_file);
            sk_X509_pop_free(all, X509_free);
            return;
        }
        if (zr_cfg_check_cert_time(m, "cert", next, k->cert_file) != 0)
            break; /* reported */
        prev = next;
    }
    k->chain_to_root = X509_check_issued(prev, prev) == X509_V_OK && X509_verify(prev, X509_get0_pubkey(prev)) == 1;
    if (!k->chain_to_root && ld->env == ZR_ENV_PRODUCTION) {
        X509_NAME_oneline(X509_get_subject_name(prev), name, sizeof(name));
        zr_cfg_error(ld, zr_cfg_map_get(m, "cert"), path,
                     "cert: %s ends at %s, not at a root certificate: in production the file holds the whole "
                     "chain, the key's certificate first and the root last (NL GOV §Public keys: x5c)",
                     k->cert_file, name);
    }
    if (sk_X509_num(all) > 0)
        k->chain = all;
    else
        sk_X509_free(all);
}

static void read_signing_key(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_oidc_key_t *k)
{
    static const char *const keys[] = {"key", "cert", "alg", "kid", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], err[512];
    int alg = -1;
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    if (zr_cfg_get_enum(&m, "alg", 0, zr_cfg_sigalg_names, &alg) < 0)
        alg = -2; /* reported */
    zr_cfg_get_str(&m, "kid", 0, &k->kid);
    if (k->kid && !kid_valid(k->kid)) {
        zr_cfg_path_key(kpath, path, "kid");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "kid"), kpath, "must be 1-128 printable characters without quotes");
    }
    if (zr_cfg_get_path(&m, "key", 1, &k->key_file) != 1)
        return;
    zr_cfg_path_key(kpath, path, "key");
    if (!(k->key = zr_cfg_load_private_key(ld, k->key_file, err, sizeof(err)))) {
        zr_cfg_error(ld, zr_cfg_map_get(&m, "key"), kpath, "%s", err);
        return;
    }
    if (zr_cfg_check_file_mode(&m, "key", k->key_file) != 0 || zr_cfg_check_key_strength(&m, "key", k->key, 0) != 0)
        return;
    if (alg == -1) /* default follows the key type */
        alg = EVP_PKEY_get_base_id(k->key) == EVP_PKEY_RSA ? ZR_SIGALG_RS256 : ZR_SIGALG_ES256;
    if (alg >= 0) {
        k->alg = (zr_sigalg_t)alg;
        if ((alg == ZR_SIGALG_ES256 && !is_p256(k->key)) ||
            (alg != ZR_SIGALG_ES256 && EVP_PKEY_get_base_id(k->key) != EVP_PKEY_RSA)) {
            zr_cfg_path_key(kpath, path, "alg");
            zr_cfg_error(ld, zr_cfg_map_get(&m, "alg") ? zr_cfg_map_get(&m, "alg") : zr_cfg_map_get(&m, "key"),
                         kpath, "%s needs %s key", zr_cfg_sigalg_names[alg],
                         alg == ZR_SIGALG_ES256 ? "an EC P-256" : "an RSA");
        }
    }
    if (zr_cfg_get_path(&m, "cert", 0, &k->cert_file) == 1) {
        if (!(k->cert = zr_crypto_load_certificate(k->cert_file, err, sizeof(err))))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "cert"), path, "cert: %s", err);
        else if (!zr_crypto_key_matches_cert(k->key, k->cert))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "key"), kpath,
                         "the private key %s does not belong to the certificate %s", k->key_file, k->cert_file);
        else if (zr_cfg_check_cert_time(&m, "cert", k->cert, k->cert_file) == 0)
            read_chain(ld, &m, path, k);
    }
    if (!k->kid && !(k->kid = zr_cfg_jwk_thumbprint(k->key)))
        zr_cfg_error(ld, node, path, "cannot compute the JWK thumbprint for the kid");
}

/* One oidc.encryption_keys entry: an RSA key of at least 2048 bits (issue
 * 17 §1), checked like the signing keys (file mode, strength). */
static void read_encryption_key(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_oidc_enc_key_t *k)
{
    static const char *const keys[] = {"key", "alg", "kid", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], err[512];
    int alg = 1; /* RSA-OAEP-256 (NL GOV §Algorithms: SHOULD) */
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    zr_cfg_get_enum(&m, "alg", 0, zr_cfg_jwe_alg_names, &alg);
    k->alg = alg;
    zr_cfg_get_str(&m, "kid", 0, &k->kid);
    if (k->kid && !kid_valid(k->kid)) {
        zr_cfg_path_key(kpath, path, "kid");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "kid"), kpath, "must be 1-128 printable characters without quotes");
    }
    if (zr_cfg_get_path(&m, "key", 1, &k->key_file) != 1)
        return;
    zr_cfg_path_key(kpath, path, "key");
    if (!(k->key = zr_cfg_load_private_key(ld, k->key_file, err, sizeof(err)))) {
        zr_cfg_error(ld, zr_cfg_map_get(&m, "key"), kpath, "%s", err);
        return;
    }
    if (zr_cfg_check_file_mode(&m, "key", k->key_file) != 0 || zr_cfg_check_key_strength(&m, "key", k->key, 0) != 0)
        return;
    if (EVP_PKEY_get_base_id(k->key) != EVP_PKEY_RSA) {
        zr_cfg_error(ld, zr_cfg_map_get(&m, "key"), kpath, "%s is not an RSA key (RSA-OAEP needs one)", k->key_file);
        return;
    }
    if (!k->kid && !(k->kid = zr_cfg_jwk_thumbprint(k->key)))
        zr_cfg_error(ld, node, path, "cannot compute the JWK thumbprint for the kid");
}

static int check_client_id(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                           void *ctx)
{
    (void)ctx;
    if (zr_cfg_token_valid(value, 128))
        return 0;
    zr_cfg_error(ld, at, path, "must be a client_id (1-128 printable characters without spaces)");
    return -1;
}

/* An HTTP header name (RFC 9110 §5.6.2 token), not one the relay reads for
 * itself. */
static int header_name_valid(const char *s)
{
    static const char *const own[] = {"authorization", "content-type", "content-length", "cookie", "host",
                                      "x-forwarded-for", "transfer-encoding", NULL};
    if (!*s || strlen(s) > 64)
        return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
            return 0;
    for (size_t i = 0; own[i]; i++)
        if (!strcasecmp(s, own[i]))
            return 0;
    return 1;
}

/* oidc.mtls (RFC 8705, docs/mtls.md): {ca_file, forwarded_cert_header}. */
static void read_mtls(zr_cfg_map_t *parent, zr_config_t *cfg)
{
    static const char *const keys[] = {"ca_file", "forwarded_cert_header", NULL};
    zr_cfg_loader_t *ld = parent->ld;
    yaml_node_t *v = zr_cfg_map_get(parent, "mtls");
    STACK_OF(X509) *ca;
    zr_cfg_map_t m;
    char err[512];

    if (!v || zr_cfg_map_open(ld, v, "oidc.mtls", keys, &m) != 0)
        return;
    if (zr_cfg_get_path(&m, "ca_file", 1, &cfg->oidc.mtls_ca_file) == 1) {
        if (!(ca = zr_crypto_load_certificates(cfg->oidc.mtls_ca_file, err, sizeof(err))))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "ca_file"), "oidc.mtls.ca_file", "%s", err);
        sk_X509_pop_free(ca, X509_free);
    }
    if (zr_cfg_get_str(&m, "forwarded_cert_header", 0, &cfg->oidc.mtls_forwarded_cert_header) == 1) {
        if (!header_name_valid(cfg->oidc.mtls_forwarded_cert_header))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "forwarded_cert_header"), "oidc.mtls.forwarded_cert_header",
                         "must be an HTTP header name of letters, digits, '-' (e.g. X-SSL-Client-Cert), not one "
                         "the relay reads itself");
        else if (!cfg->limits.trusted_proxy_count)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "forwarded_cert_header"), "oidc.mtls.forwarded_cert_header",
                         "needs limits.trusted_proxies: the header is believed only from the TLS terminator's "
                         "addresses");
    }
    if (!cfg->tls_cert_file && !cfg->oidc.mtls_forwarded_cert_header)
        zr_cfg_error(ld, v, "oidc.mtls",
                     "needs tls: (the relay ends TLS and asks for client certificates) or forwarded_cert_header "
                     "(a TLS terminator in front forwards them)");
}

void zr_cfg_read_oidc(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"issuer", "signing_keys", "pairwise_secret_file", "id_token_lifetime",
                                       "access_token_lifetime", "code_lifetime", "session_lifetime",
                                       "logout_session_lifetime", "allow_sector_change", "metadata_max_age",
                                       "registration_dir", "encryption_keys", "mtls", NULL};
    zr_cfg_loader_t *ld = root->ld;
    zr_oidc_config_t *o = &cfg->oidc;
    yaml_node_t *v = zr_cfg_map_get(root, "oidc"), *seq = NULL;
    zr_cfg_map_t m;
    char ipath[ZR_CFG_PATH_MAX], err[512];
    long n;
    if (!v) {
        zr_cfg_required(root, "oidc");
        return;
    }
    if (zr_cfg_map_open(ld, v, "oidc", keys, &m) != 0)
        return;
    if (zr_cfg_get_str(&m, "issuer", 0, &o->issuer) == 1)
        zr_cfg_check_base_url(ld, zr_cfg_map_get(&m, "issuer"), "oidc.issuer", o->issuer, NULL);
    if (zr_cfg_get_seq(&m, "signing_keys", 1, &seq) == 1) {
        size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        if (count == 0)
            zr_cfg_error(ld, seq, "oidc.signing_keys", "must list at least one key");
        else if ((o->keys = calloc(count, sizeof(*o->keys))) != NULL) {
            for (size_t i = 0; i < count; i++) {
                yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
                zr_cfg_path_index(ipath, "oidc.signing_keys", i);
                o->key_count = i + 1;
                read_signing_key(ld, item, ipath, &o->keys[i]);
                for (size_t j = 0; j < i; j++)
                    if (o->keys[i].kid && o->keys[j].kid && !strcmp(o->keys[i].kid, o->keys[j].kid))
                        zr_cfg_error(ld, item, ipath, "kid '%s' is already used by oidc.signing_keys[%zu]",
                                     o->keys[i].kid, j);
            }
        }
    }
    if (zr_cfg_get_seq(&m, "encryption_keys", 0, &seq) == 1) {
        size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        if (count == 0)
            zr_cfg_error(ld, seq, "oidc.encryption_keys", "must list at least one key (or leave it out)");
        else if ((o->enc_keys = calloc(count, sizeof(*o->enc_keys))) != NULL) {
            for (size_t i = 0; i < count; i++) {
                yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
                zr_cfg_path_index(ipath, "oidc.encryption_keys", i);
                o->enc_key_count = i + 1;
                read_encryption_key(ld, item, ipath, &o->enc_keys[i]);
                /* one kid, one key: the JWE header's kid picks it */
                for (size_t j = 0; j < o->key_count; j++)
                    if (o->enc_keys[i].kid && o->keys[j].kid && !strcmp(o->enc_keys[i].kid, o->keys[j].kid))
                        zr_cfg_error(ld, item, ipath, "kid '%s' is already used by oidc.signing_keys[%zu]",
                                     o->enc_keys[i].kid, j);
                for (size_t j = 0; j < i; j++)
                    if (o->enc_keys[i].kid && o->enc_keys[j].kid && !strcmp(o->enc_keys[i].kid, o->enc_keys[j].kid))
                        zr_cfg_error(ld, item, ipath, "kid '%s' is already used by oidc.encryption_keys[%zu]",
                                     o->enc_keys[i].kid, j);
            }
        }
    }
    if (zr_cfg_get_path(&m, "pairwise_secret_file", 1, &o->pairwise_secret_file) == 1) {
        if (zr_crypto_load_secret(o->pairwise_secret_file, o->pairwise_secret, err, sizeof(err)) != 0)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "pairwise_secret_file"), "oidc.pairwise_secret_file", "%s", err);
        else
            zr_cfg_check_file_mode(&m, "pairwise_secret_file", o->pairwise_secret_file);
    }
    /* Short-lived by design: the relay is a pass-through, not a session
     * holder (NL GOV profile; code lifetime per RFC 6749 §4.1.2). */
    if (zr_cfg_get_int(&m, "id_token_lifetime", 0, 1, 300, &n) == 1)
        o->id_token_lifetime_s = (int)n;
    if (zr_cfg_get_int(&m, "access_token_lifetime", 0, 1, 3600, &n) == 1)
        o->access_token_lifetime_s = (int)n;
    if (zr_cfg_get_int(&m, "code_lifetime", 0, 1, 60, &n) == 1)
        o->code_lifetime_s = (int)n;
    if (zr_cfg_get_int(&m, "session_lifetime", 0, 1, 900, &n) == 1)
        o->session_lifetime_s = (int)n;
    /* How long after a login the portal can still log it out (issue 5). */
    if (zr_cfg_get_int(&m, "logout_session_lifetime", 0, 60, 86400, &n) == 1)
        o->logout_session_lifetime_s = (int)n;
    /* NL GOV §Caching recommends a week; shorter only shortens how long a
     * new signing key must be published before it signs (docs/operations.md). */
    if (zr_cfg_get_int(&m, "metadata_max_age", 0, 60, 2592000, &n) == 1)
        o->metadata_max_age_s = (int)n;
    /* Judged against the clients once all are read (zr_cfg_check_allow_sector_change). */
    zr_cfg_get_strv(&m, "allow_sector_change", 0, &o->allow_sector_change, &o->allow_sector_change_count,
                    check_client_id, NULL);
    zr_cfg_check_seq_unique(&m, "allow_sector_change");
    zr_cfg_get_path(&m, "registration_dir", 0, &o->registration_dir);
    read_mtls(&m, cfg);
}

void zr_cfg_check_allow_sector_change(zr_cfg_map_t *root, const zr_config_t *cfg)
{
    zr_cfg_loader_t *ld = root->ld;
    /* tenants validate --config does not read care_providers_dir: its clients are unknown. */
    int unknown_ok = (ld->flags & ZR_CONFIG_LOAD_SKIP_TENANT_DIR) && cfg->care_providers_dir;
    zr_cfg_map_t m = {.ld = ld, .node = zr_cfg_map_get(root, "oidc"), .path = "oidc"};
    yaml_node_t *seq = NULL;
    char ipath[ZR_CFG_PATH_MAX];
    size_t i = 0;

    if (unknown_ok || !m.node || m.node->type != YAML_MAPPING_NODE ||
        !(seq = zr_cfg_map_get(&m, "allow_sector_change")) || seq->type != YAML_SEQUENCE_NODE)
        return;
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
        yaml_node_t *item = zr_cfg_node(ld, *it);
        if (!item || item->type != YAML_SCALAR_NODE || zr_cfg_is_null(item) ||
            !zr_cfg_token_valid((const char *)item->data.scalar.value, 128))
            continue; /* reported when read */
        zr_cfg_path_index(ipath, "oidc.allow_sector_change", i);
        if (!zr_config_find_client(cfg, (const char *)item->data.scalar.value))
            zr_cfg_error(ld, item, ipath, "'%s' is not a configured client_id (remove it once its reload is done)",
                         (const char *)item->data.scalar.value);
    }
}

int zr_config_allows_sector_change(const zr_config_t *cfg, const char *client_id)
{
    for (size_t i = 0; cfg && client_id && i < cfg->oidc.allow_sector_change_count; i++)
        if (!strcmp(cfg->oidc.allow_sector_change[i], client_id))
            return 1;
    return 0;
}

void zr_cfg_free_oidc(zr_config_t *cfg)
{
    zr_oidc_config_t *o = &cfg->oidc;
    free(o->issuer);
    free(o->registration_dir);
    for (size_t i = 0; o->keys && i < o->key_count; i++) {
        free(o->keys[i].key_file);
        free(o->keys[i].cert_file);
        free(o->keys[i].kid);
        EVP_PKEY_free(o->keys[i].key);
        X509_free(o->keys[i].cert);
        sk_X509_pop_free(o->keys[i].chain, X509_free);
    }
    free(o->keys);
    for (size_t i = 0; o->enc_keys && i < o->enc_key_count; i++) {
        free(o->enc_keys[i].key_file);
        free(o->enc_keys[i].kid);
        EVP_PKEY_free(o->enc_keys[i].key);
    }
    free(o->enc_keys);
    free(o->pairwise_secret_file);
    zr_cfg_free_strv(o->allow_sector_change, o->allow_sector_change_count);
    free(o->mtls_ca_file);
    free(o->mtls_forwarded_cert_header);
    OPENSSL_cleanse(o, sizeof(*o));
}
