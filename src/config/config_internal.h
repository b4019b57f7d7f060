/* Internals of the configuration loader (src/config/): the YAML node tree
 * with line numbers, error collection, typed getters, value validators. */
#ifndef ZR_CONFIG_INTERNAL_H
#define ZR_CONFIG_INTERNAL_H

#include <stdarg.h>
#include <yaml.h>

#include "zr/config.h"

#define ZR_CFG_PATH_MAX 256
/* A configuration or care provider file is small; anything larger is a
 * mistake (or an attack on the parser). */
#define ZR_CFG_MAX_FILE (1024 * 1024)

/* One load: the parsed document, where errors go, what relative paths are
 * relative to. */
typedef struct {
    const char *file;          /* as given, for messages */
    char *dir;                 /* absolute directory of the file */
    yaml_document_t doc;
    int have_doc;
    zr_config_errors_t *errs;
    size_t error_count;
    zr_environment_t env;
    int flags;                 /* ZR_CONFIG_LOAD_* */
    int lenient_keys;          /* ZR_TENANT_LOAD_LENIENT: load keys, do not judge them */
    int former;                /* ZR_TENANT_LOAD_FORMER: no private key, an unreadable certificate is no error */
    const char *fallback_dir;  /* former: where a relative path that does not exist in dir is looked for */
    struct zr_cfg_key_cache *keys; /* shared private-key decoder (keys.c); may be NULL */
    OSSL_LIB_CTX *libctx;      /* where certificates are decoded (NULL: default); see tenant_dir.c */
    zr_config_t *cfg;          /* the configuration being loaded, for clients in tenant files; may be NULL */
    int quarantine;            /* care_providers_on_error: quarantine (quarantine.c) */
    size_t client_errors;      /* errors in a provider file's clients section (care_providers.c) */
    /* Portals of quarantined files that were dropped: their client_ids
     * still count for uniqueness across the configuration (quarantine.c). */
    struct zr_cfg_dropped_client *dropped;
    size_t dropped_count;
    const zr_config_t *reuse;  /* zr_config_load_reusing: its care providers' unchanged BSN keys are shared */
} zr_cfg_loader_t;

/* A YAML mapping being read, with its dotted key path ("" at the root). */
typedef struct {
    zr_cfg_loader_t *ld;
    yaml_node_t *node;
    char path[ZR_CFG_PATH_MAX];
} zr_cfg_map_t;

/* --- loader.c ----------------------------------------------------------- */

/* Appends "FILE:LINE: PATH: message" (LINE of `at`; PATH omitted when empty). */
void zr_cfg_error(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void zr_cfg_error_line(zr_config_errors_t *errs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Parses the file into ld->doc; 0 on success, errors appended otherwise. */
int zr_cfg_parse(zr_cfg_loader_t *ld, const char *path);
void zr_cfg_loader_free(zr_cfg_loader_t *ld);

yaml_node_t *zr_cfg_node(zr_cfg_loader_t *ld, int index);
int zr_cfg_is_null(const yaml_node_t *n);
int zr_cfg_line(const yaml_node_t *n);

/* Opens a mapping: reports (once) when `node` is not one, and every key not
 * in `allowed` (NULL-terminated) or given twice. 0 when `node` is a mapping. */
int zr_cfg_map_open(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path,
                    const char *const *allowed, zr_cfg_map_t *m);
/* The key node of `key` (for errors about the key itself); NULL when absent. */
yaml_node_t *zr_cfg_map_key(const zr_cfg_map_t *m, const char *key);
/* Value of `key`; NULL when absent or null (`key:` or `key: ~`). */
yaml_node_t *zr_cfg_map_get(const zr_cfg_map_t *m, const char *key);
/* Dotted child path of a key / an index. */
void zr_cfg_path_key(char out[ZR_CFG_PATH_MAX], const char *parent, const char *key);
void zr_cfg_path_index(char out[ZR_CFG_PATH_MAX], const char *parent, size_t i);
/* Reports "KEY: is required" at the mapping. */
void zr_cfg_required(const zr_cfg_map_t *m, const char *key);

/* Typed getters. Return 1 when set, 0 when absent (out untouched, error if
 * required), -1 on a bad value (reported). */
int zr_cfg_get_str(const zr_cfg_map_t *m, const char *key, int required, char **out);
int zr_cfg_get_int(const zr_cfg_map_t *m, const char *key, int required, long min, long max, long *out);
int zr_cfg_get_bool(const zr_cfg_map_t *m, const char *key, int *out);
/* A file path, resolved against the configuration file's directory. */
int zr_cfg_get_path(const zr_cfg_map_t *m, const char *key, int required, char **out);
/* A sequence node; -1 when present but not a sequence. */
int zr_cfg_get_seq(const zr_cfg_map_t *m, const char *key, int required, yaml_node_t **out);
/* A sequence of strings, each passed to `check` (when given; it reports
 * and returns non-zero to reject). Free with zr_cfg_free_strv. */
typedef int (*zr_cfg_item_check_fn)(zr_cfg_loader_t *ld, const yaml_node_t *item, const char *path,
                                    const char *value, void *ctx);
int zr_cfg_get_strv(const zr_cfg_map_t *m, const char *key, int required, char ***out, size_t *count,
                    zr_cfg_item_check_fn check, void *ctx);
void zr_cfg_free_strv(char **v, size_t n);
/* Reports every item of the list under `key` equal to an earlier one, at
 * that item ("KEY[i]: 'x' is listed twice"). */
void zr_cfg_check_seq_unique(const zr_cfg_map_t *m, const char *key);
/* The string value of a scalar node, or NULL (reported at path) otherwise. */
const char *zr_cfg_scalar(zr_cfg_loader_t *ld, const yaml_node_t *n, const char *path);
char *zr_cfg_resolve_path(const zr_cfg_loader_t *ld, const char *p);

/* --- hash.c: string -> index tables (open addressing) --------------------- */

/* Keys are borrowed (the caller keeps them alive); values are indexes. */
typedef struct {
    const char **keys;
    size_t *values;
    size_t cap, count;
    int nocase;                /* ASCII case-insensitive keys (ServiceUUIDs, hex) */
} zr_cfg_hash_t;

int zr_cfg_hash_init(zr_cfg_hash_t *h, size_t expected, int nocase);
/* The value slot of key, inserted (value SIZE_MAX) when absent; *found says
 * which. NULL only when out of memory. */
size_t *zr_cfg_hash_slot(zr_cfg_hash_t *h, const char *key, int *found);
/* The value of key, or NULL. */
const size_t *zr_cfg_hash_get(const zr_cfg_hash_t *h, const char *key);
void zr_cfg_hash_free(zr_cfg_hash_t *h);

/* --- index.c: the lookup index of zr_config_t, and where clients came from -- */

/* A client's place in the files, for errors found after all are read. */
typedef struct {
    char *file;
    char path[ZR_CFG_PATH_MAX];      /* "clients[3]" */
    int line, client_id_line, care_provider_line, min_loa_line;
    int login_methods_line;          /* 0 when the key is absent */
    int patient_id_line;             /* authzen.patient_id; 0 when absent */
    int *care_provider_lines;        /* parallel to the care_providers key's list */
    char **listed;                   /* the care_providers key as written */
    size_t listed_count;
    char *owner_id;
} zr_cfg_client_origin_t;

struct zr_config_index {
    zr_cfg_hash_t tenant_by_id;
    zr_cfg_hash_t tenant_by_entity_id;
    zr_cfg_hash_t client_by_id;
    /* While loading only: parallel to cfg->clients. */
    zr_cfg_client_origin_t *client_origins;
    size_t client_origin_cap;
};

/* Makes cfg->index with the tenant tables (after every tenant is read). */
int zr_cfg_index_tenants(zr_config_t *cfg);
void zr_cfg_index_free(struct zr_config_index *ix);
void zr_cfg_client_origins_free(struct zr_config_index *ix, size_t count);

/* --- validate.c ---------------------------------------------------------- */

typedef struct {
    char scheme[16];
    char host[256];      /* as written; IPv6 with its brackets */
    int port;            /* 0 when absent */
    int has_path, has_query, has_fragment, trailing_slash;
} zr_cfg_url_t;

/* Parses an absolute http(s) URL; 0 when well-formed. */
int zr_cfg_url_parse(const char *s, zr_cfg_url_t *u);
int zr_cfg_url_is_loopback(const zr_cfg_url_t *u);
/* HOST:PORT or [IPv6]:PORT. */
int zr_cfg_listen_valid(const char *s);
/* urn:nl-eid-gdi:1.0:ROLE:OIN:entities:NNNN with ROLE in `roles` ("DV|LC").
 * Fills oin (21 bytes) and index. 0 when it matches. */
int zr_cfg_entity_id_parse(const char *s, const char *roles, char oin[21], int *index);
int zr_cfg_digits(const char *s, size_t n);
int zr_cfg_uuid_valid(const char *s);
int zr_cfg_hex_valid(const char *s, size_t n);
/* 1..max printable ASCII characters, no space, quote or backslash (ids, kids). */
int zr_cfg_token_valid(const char *s, size_t max);
/* Levenshtein distance, capped (for "did you mean"). */
size_t zr_cfg_distance(const char *a, const char *b);

/* --- keys.c --------------------------------------------------------------- */

enum {
    ZR_CFG_KEY_RSA_ONLY = 1,   /* SAML signing, BSN encryption: RSA per ST-SAML */
    ZR_CFG_KEY_ENCIPHER = 2    /* keyUsage must allow keyEncipherment */
};
/* Loads cert + key files named `cert`/`key` in mapping m into the outputs;
 * checks they belong together, RSA >= 2048, validity period. */
int zr_cfg_load_keypair(const zr_cfg_map_t *m, int flags, char **cert_file, char **key_file,
                        X509 **cert, EVP_PKEY **key);
/* Certificate validity now (zr_time_now). Reports and returns -1 when not. */
int zr_cfg_check_cert_time(const zr_cfg_map_t *m, const char *key, X509 *cert, const char *what);
/* RSA >= 2048 bits or EC P-256; reports otherwise. */
int zr_cfg_check_key_strength(const zr_cfg_map_t *m, const char *key, EVP_PKEY *pkey, int flags);
/* Every certificate of a bundle (trust anchors, TLS CAs): public key RSA >= 2048 or
 * EC P-256/P-384/P-521; reports the first that is not. */
int zr_cfg_check_certs_strength(const zr_cfg_map_t *m, const char *key, STACK_OF(X509) *certs);
/* zr_config_key_file_mode for a key of the configuration: production
 * refuses (an error at the key), preprod warns on stderr, development says
 * nothing. -1 when refused. */
int zr_cfg_check_file_mode(const zr_cfg_map_t *m, const char *key, const char *file);
/* The public keys of a client's JWKS: RSA >= 2048 bits, EC on P-256/384/521.
 * 0 when fine, else -1 with the reason ("keys[1] is an RSA key of ..."). */
int zr_cfg_check_jwks_strength(const char *json, char *why, size_t whylen);
/* RFC 7638 JWK thumbprint (base64url SHA-256) of an RSA or EC P-256 key. */
char *zr_cfg_jwk_thumbprint(EVP_PKEY *pkey);

/* --- config.c: helpers the section files share ----------------------------- */

/* Item checks (zr_cfg_item_check_fn): base URLs, OIDC redirect URIs, CORS origins. */
int zr_cfg_check_base_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                          void *ctx);
int zr_cfg_check_redirect_uri(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                              void *ctx);
int zr_cfg_check_origin(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                        void *ctx);
/* Item check for URLs the relay calls (Dezi, jku, AuthZEN PDP): https, or
 * http on loopback in development; ctx non-NULL also refuses a trailing slash. */
int zr_cfg_check_upstream_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                              void *ctx);
/* Item check for links a person follows from the relay's pages (a portal's
 * home_page, initiate_login_uri, a helpdesk url): https, or http in
 * development; no fragment (issue 18 §1). */
int zr_cfg_check_page_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                          void *ctx);
/* `helpdesk: {name, phone, url}` under m (a care provider or a client):
 * every field optional but at least one; the phone becomes a tel: URI too.
 * Absent: h stays zeroed. */
void zr_cfg_read_helpdesk(const zr_cfg_map_t *m, zr_helpdesk_t *h);
void zr_cfg_helpdesk_free(zr_helpdesk_t *h);
/* A logo file for the relay's pages (issue 18 §3): reads the file at
 * value (a path, relative to the configuration file) into logo, checked:
 * at most ZR_LOGO_MAX_BYTES (zr/tenant.h), a PNG or an SVG by its first bytes, an SVG
 * without script, DTD or foreignObject. src_base is where the relay serves
 * it ("/logo?cp=<id>"); "&v=<hash of the content>" is added, so a page can
 * let browsers keep it for a year. Errors name at and path. */
int zr_cfg_load_logo(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *file,
                     const char *src_base, zr_logo_t *logo);
/* `logo: {file, alt}` under m (a care provider); absent: logo stays zeroed. */
void zr_cfg_read_logo(const zr_cfg_map_t *m, const char *src_base, zr_logo_t *logo);
void zr_cfg_logo_free(zr_logo_t *logo);
/* A value from a NULL-terminated name table; *out is its index. */
int zr_cfg_get_enum(const zr_cfg_map_t *m, const char *key, int required, const char *const *names, int *out);
/* Private keys: one OpenSSL decoder set up once per load (OpenSSL 3.0 spends
 * ~90 us finding decoders for every PEM_read_PrivateKey; 10,000 care
 * providers would pay that 10,000 times). */
/* Moves every client of src (with its origin) to the end of dst's clients;
 * src keeps nothing but may still be freed. -1 when out of memory. */
int zr_cfg_clients_move(zr_config_t *dst, zr_config_t *src);

struct zr_cfg_key_cache *zr_cfg_key_cache_new(void);
void zr_cfg_key_cache_free(struct zr_cfg_key_cache *kc);
EVP_PKEY *zr_cfg_load_private_key(zr_cfg_loader_t *ld, const char *path, char *err, size_t errlen);

/* A {cert, key} mapping under `key`, loaded and checked (zr_cfg_load_keypair). */
void zr_cfg_read_keypair(zr_cfg_map_t *parent, const char *key, int required, int flags, zr_keypair_t *kp);
void zr_cfg_keypair_free(zr_keypair_t *kp);

/* "RS256", "ES256", "PS256" in zr_sigalg_t order (oidc.c). */
extern const char *const zr_cfg_sigalg_names[];
/* JWE key management and content encryption names (same order as
 * zr_jwe_alg_t in zr/jwe.h; NL GOV §Algorithms: A256GCM only). */
extern const char *const zr_cfg_jwe_alg_names[];
extern const char *const zr_cfg_jwe_enc_names[];

/* Sections: care_providers.c, oidc.c, clients.c, mock_tvs.c. */
void zr_cfg_read_tenants(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_read_oidc(zr_cfg_map_t *root, zr_config_t *cfg);
/* After the clients are resolved: each oidc.allow_sector_change entry names one. */
void zr_cfg_check_allow_sector_change(zr_cfg_map_t *root, const zr_config_t *cfg);
void zr_cfg_read_clients(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_read_mock_tvs(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_tenants(zr_config_t *cfg);
/* One care provider mapping (care_providers.c); origin may be NULL. */
void zr_cfg_read_tenant(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_tenant_t *t,
                        zr_tenant_origin_t *origin);
void zr_cfg_tenants_free(zr_tenant_t *tenants, zr_tenant_origin_t *origins, size_t count);
/* Hex SHA-256 over what shapes a login (zr_tenant_t.fingerprint); malloc'ed. */
char *zr_cfg_tenant_fingerprint(const zr_tenant_t *t);
/* The `clients:` list of a care provider's own file (clients.c): appended to
 * ld->cfg->clients, care_provider defaulting to owner_id. */
void zr_cfg_read_owned_clients(zr_cfg_loader_t *ld, yaml_node_t *seq, const char *owner_id);
/* One registered client's mapping (registered.c reads its file), appended
 * to cfg and judged exactly as a client of the configuration. */
zr_client_t *zr_cfg_read_registered_client(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path,
                                           zr_config_t *cfg, const char *owner_id);
/* oidc.registration_dir's clients (registered.c), appended to cfg->clients. */
void zr_cfg_read_registered_clients(zr_cfg_loader_t *ld, zr_config_t *cfg);
/* The label of the registration tokens' HMAC key (from oidc.pairwise_secret). */
#define ZR_CFG_REGISTRATION_LABEL "zorgrelay registration token key v1"
/* After every tenant and client is read: care_providers lists, their
 * references and LoAs, client_id uniqueness across files, the index. */
void zr_cfg_resolve_clients(zr_cfg_loader_t *ld, zr_config_t *cfg);
/* care_providers_dir, with the loader's key cache and (when set) ld->cfg
 * receiving the files' clients. flags: ZR_TENANT_LOAD_*, and: */
enum {
    /* a warning in the log naming the files not loaded (the relay's load;
     * `tenants validate` reports them itself) */
    ZR_TENANT_LOAD_LOG_SKIPPED = 0x100
};
size_t zr_cfg_load_tenant_dir(zr_cfg_loader_t *parent, const char *dir, int flags, zr_tenant_set_t *out);
/* care_providers_dir and its former providers (tenant_dir.c). */
/* --- quarantine.c: one care provider's problem stays its own (issue 14 §1) --- */

/* care_providers_on_error (top level); sets cfg and ld->quarantine. */
void zr_cfg_read_on_error(zr_cfg_map_t *root, zr_config_t *cfg);
/* Marks t quarantined with the lines of `reasons` (moved out of it). A
 * provider whose id could not be read is known by its file's name (`file`,
 * may be NULL for an inline entry). -1 when out of memory. */
int zr_cfg_quarantine_tenant(zr_tenant_t *t, const char *file, zr_config_errors_t *reasons);
/* Drops the portals a quarantined file declared (they did not read
 * cleanly), remembering their client_ids for zr_cfg_quarantine_check_dropped. */
void zr_cfg_quarantine_drop_clients(zr_cfg_loader_t *ld, zr_config_t *clients);
/* A dropped portal's client_id that another portal uses is still an error
 * of the whole configuration (duplicates are never one provider's). */
void zr_cfg_quarantine_check_dropped(zr_cfg_loader_t *ld, const zr_config_t *cfg);
void zr_cfg_quarantine_dropped_free(zr_cfg_loader_t *ld);
/* After everything is read: counts the quarantined; when every care
 * provider is, that is an error of the whole configuration (nothing could
 * be served), listing their reasons. */
void zr_cfg_quarantine_finish(zr_cfg_loader_t *ld, zr_config_t *cfg);
/* 1-64 letters, digits, '.', '-' or '_' (care_providers.c). */
int zr_cfg_tenant_id_valid(const char *s);

void zr_cfg_read_tenant_dirs(zr_cfg_map_t *root, zr_config_t *cfg, size_t inline_count);
void zr_cfg_free_oidc(zr_config_t *cfg);
void zr_cfg_free_clients(zr_config_t *cfg);
void zr_cfg_free_mock_tvs(zr_config_t *cfg);
/* The optional `cluster:` section (cluster.c); after saml, whose
 * certificates it checks against the LC's OIN. */
void zr_cfg_read_cluster(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_cluster(zr_config_t *cfg);

/* Professionals (issue 4). dezi.c: the `dezi:`, `decision_log:` and
 * `mock_dezi:` sections (dezi before the clients; mock_dezi after dezi, whose
 * client_id and decryption key it uses). */
void zr_cfg_read_dezi(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_read_decision_log(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_read_mock_dezi(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_dezi(zr_config_t *cfg);

/* audit_log.c: the `audit_log:` section (after oidc, whose pairwise secret
 * its default key derives from). */
void zr_cfg_read_audit_log(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_audit_log(zr_config_t *cfg);
/* professional.c: a client's login_methods, role_rules,
 * allow_unmapped_roles, authzen and introspection (after auth_method). */
void zr_cfg_read_client_professional(zr_cfg_map_t *m, zr_client_t *c, zr_cfg_client_origin_t *o);
void zr_cfg_free_client_professional(zr_client_t *c);

/* preprod.c (issue 5): `trace:` and `preprod_test:` (after the clients,
 * whose test client entry preprod_test checks); both refused in production. */
void zr_cfg_read_trace(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_read_preprod_test(zr_cfg_map_t *root, zr_config_t *cfg);

/* limits.c (issue 13 §3): the `limits:` section, defaults included. */
void zr_cfg_read_limits(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_limits(zr_config_t *cfg);

/* metrics.c (issue 16 §2): the `metrics:` section. */
void zr_cfg_read_metrics(zr_cfg_map_t *root, zr_config_t *cfg);
void zr_cfg_free_metrics(zr_config_t *cfg);

#endif
