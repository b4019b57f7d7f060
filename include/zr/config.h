/* The relay's configuration: one YAML file (docs/configuration.md).
 * zr_config_load() parses and validates everything, including loading every
 * key and certificate, so that a running relay never meets a bad setting. */
#ifndef ZR_CONFIG_H
#define ZR_CONFIG_H

#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include "zr/net.h"
#include "zr/tenant.h"

typedef enum {
    ZR_ENV_DEVELOPMENT = 0,
    ZR_ENV_PREPROD,
    ZR_ENV_PRODUCTION
} zr_environment_t;

/* A key with its certificate, loaded from PEM files. */
typedef struct {
    char *cert_file;
    char *key_file;
    X509 *cert;
    EVP_PKEY *key;
    char *key_name; /* zr_crypto_cert_keyname(cert) */
} zr_keypair_t;

typedef struct {
    char *host;              /* default 127.0.0.1 */
    int port;                /* default 6379 */
    char *unix_socket;       /* optional; wins over host/port */
    char *password;          /* optional (AUTH) */
    int db;                  /* default 0 */
    int timeout_ms;          /* connect and command timeout, default 500 */
    char *prefix;            /* key prefix, default "zr:" */
    uint8_t encryption_key[32]; /* from encryption_key_file: values AES-256-GCM */
    char *encryption_key_file;
    /* Redis Sentinel (docs/operations.md, "Redis Sentinel"): when sentinels
     * are given, the master comes from them and host/port are not used. */
    char **sentinels;        /* "host:port" each */
    size_t sentinel_count;
    char *sentinel_master;   /* the master's name in the sentinels' configuration */
    char *sentinel_password; /* optional: AUTH to the sentinels (their requirepass) */
    int wait_replicas;       /* codes and tokens on this many replicas before they are handed out;
                              * default 1 with sentinels, else 0 */
    int wait_timeout_ms;     /* how long WAIT may take, default 100, below timeout_ms */
    int loopback_only;       /* production: a master a sentinel names must be on this host too */
} zr_redis_config_t;

typedef struct {
    char *metadata;          /* file path or https:// URL of TVS's (RD) metadata */
    char *trust_anchor_file; /* PEM: the certificate(s) the metadata signature must chain to or be made by */
    STACK_OF(X509) *trust_anchors;
    char *tls_ca_file;       /* PEM: CA pinned for the artifact resolution TLS connection */
    int clock_skew_s;        /* default 60 */
    int connect_timeout_ms;  /* default 3000 */
    int timeout_ms;          /* whole resolve, default 10000 */
    char *entity_id;         /* expected entityID of TVS (required outside development); the metadata's must equal it */
    /* Who may sign the metadata (issue 12 §2): the signing certificate must
     * match one pin of either list. Several pins allow TVS's signer rollover. */
    char **metadata_signer_sha256;   /* SHA-256 of the certificate's DER, lower-case hex without colons */
    size_t metadata_signer_sha256_count;
    char **metadata_signer_subject;  /* exact subject DN, RFC 2253 as `openssl x509 -nameopt RFC2253` prints */
    size_t metadata_signer_subject_count;
    /* Issue 13 §2: the back-channel lane (read at start; a reload does not
     * change it) and the artifact endpoint's circuit breaker. */
    int backchannel_concurrency;     /* lane threads, default 32 */
    int backchannel_queue;           /* lane requests that may wait, default 256 */
    int breaker_failures;            /* consecutive transport failures that open it, default 5 */
    int breaker_cooldown_s;          /* open this long before one probe, default 10 */
} zr_tvs_config_t;

typedef enum { ZR_SIGALG_RS256 = 0, ZR_SIGALG_ES256, ZR_SIGALG_PS256 } zr_sigalg_t;

typedef struct {
    char *key_file;
    char *cert_file;         /* optional: adds x5c to the JWKS */
    EVP_PKEY *key;
    X509 *cert;
    STACK_OF(X509) *chain;   /* the certificates after the first in cert_file (PKIoverheid
                                intermediates, root), each certifying the one before; NULL if none */
    int chain_to_root;       /* cert_file ends in a self-signed root (NL GOV §Public keys:
                                x5c up to the root); production refuses a cert without */
    zr_sigalg_t alg;
    char *kid;               /* default: RFC 7638 thumbprint */
} zr_oidc_key_t;

/* One of the relay's encryption keys (issue 17 §1, oidc.encryption_keys):
 * clients encrypt request objects to it (RSA-OAEP, RSA-OAEP-256 with
 * A256GCM); published in the JWKS with use enc. */
typedef struct {
    char *key_file;
    EVP_PKEY *key;           /* RSA, at least 2048 bits */
    char *kid;               /* default: RFC 7638 thumbprint */
    int alg;                 /* zr_jwe_alg_t published as the JWK's alg; default RSA-OAEP-256 */
} zr_oidc_enc_key_t;

typedef enum {
    ZR_CLIENT_AUTH_SECRET_BASIC = 0,
    ZR_CLIENT_AUTH_PRIVATE_KEY_JWT,
    ZR_CLIENT_AUTH_NONE,     /* public client: PKCE only */
    ZR_CLIENT_AUTH_TLS_CLIENT_AUTH /* RFC 8705 §2.1: a certificate of oidc.mtls.ca_file with this subject */
} zr_client_auth_t;

/* How a client's users log in (issue 4): patients through TVS,
 * professionals through Dezi; both -> a chooser page. */
enum { ZR_LOGIN_PATIENT = 1, ZR_LOGIN_PROFESSIONAL = 2 };

/* One mapping rule (YAML: role_rules: [{rol_code: "01.015", ura: "...",
 * roles: [arts, ...]}]). rol_code is exact, or a prefix ending in '*'
 * ("01.*", "*"); ura (optional) must then match too. */
typedef struct {
    char *rol_code;
    char *ura;                /* NULL: any organisation */
    char **roles;
    size_t role_count;
} zr_role_rule_t;

/* What identifies a patient to the client's PDP (authzen.patient_id,
 * docs/authorization.md): the portal's pairwise `sub`, a keyed pseudonym of
 * the care provider (the same at each of its portals), or the BSN (only for
 * a care provider with bsn_for_authorization, only over https). */
typedef enum {
    ZR_AUTHZ_PATIENT_ID_PAIRWISE_SUB = 0,
    ZR_AUTHZ_PATIENT_ID_CARE_PROVIDER_PSEUDONYM,
    ZR_AUTHZ_PATIENT_ID_BSN
} zr_authz_patient_id_t;

/* How many decisions one login asks (authzen.evaluations): one, or for a
 * professional one per mapped role in a single Access Evaluations call. */
typedef enum { ZR_AUTHZ_EVALUATIONS_SINGLE = 0, ZR_AUTHZ_EVALUATIONS_PER_ROLE } zr_authz_evaluations_t;

/* An AuthZEN policy decision point (YAML per client: authzen: {pdp: URL,
 * timeout_ms: 2000, fail_open: false, tls_ca: FILE, patient_id, evaluations}).
 * enabled = section present. */
typedef struct {
    int enabled;
    char *pdp;                /* base URL; endpoints via /.well-known/authzen-configuration */
    int timeout_ms;           /* default 2000 */
    int fail_open;            /* PDP error/timeout lets the login through; default 0 (fail closed) */
    char *tls_ca_file;        /* optional CA for an https PDP */
    char *processing_activity_id; /* optional: action.properties.processing_activity_id */
    zr_authz_patient_id_t patient_id; /* required in production for a client with patient logins */
    int patient_id_set;       /* written in the file (not the development default) */
    zr_authz_evaluations_t evaluations; /* default single */
} zr_authzen_client_t;

typedef enum { ZR_ERROR_PAGES_RELAY, ZR_ERROR_PAGES_PORTAL } zr_client_error_pages_t;

typedef struct {
    char *client_id;
    char *name;
    zr_client_auth_t auth_method;
    char *client_secret;      /* client_secret_basic: the secret itself, or */
    char *client_secret_sha256; /* its hex SHA-256 (preferred in files) */
    char *jwks_file;          /* private_key_jwt: the client's public keys (JWKS JSON) */
    char *jwks_json;          /* loaded content of jwks_file */
    /* tls_client_auth (RFC 8705 §2.1.2): exactly one of these names the
     * certificate's subject; it must chain to oidc.mtls.ca_file. */
    char *tls_client_auth_subject_dn; /* RFC 4514, as `openssl x509 -nameopt RFC2253` prints it */
    char *tls_client_auth_san_dns;
    char *tls_client_auth_san_uri;
    char *tls_client_auth_san_email;
    /* Production allows only private_key_jwt and tls_client_auth (NL GOV
     * §Discovery); another method needs this reason, logged at start-up. */
    char *auth_method_deviation;
    char **redirect_uris;
    size_t redirect_uri_count;
    char **post_logout_redirect_uris;
    size_t post_logout_redirect_uri_count;
    char **allowed_origins;   /* CORS */
    size_t allowed_origin_count;
    int bsn_entitled;         /* may receive the `bsn` claim */
    int require_pushed_authorization_requests; /* RFC 9126 §5: /authorize only with a pushed request_uri */
    int require_signed_request_object; /* RFC 9101 §10.5: only a signed request object counts (private_key_jwt) */
    char *care_provider;      /* default care provider (tenant id); NULL when the portal must name one */
    /* Shared portals (issue 3): every care provider this client may log in
     * for, care_provider first when set. A request picks one with the
     * `care_provider` parameter (checked against this list); without the
     * parameter care_provider is used. >= 1 entry for a client with patient
     * logins; a professionals-only client may have none. */
    char **care_providers;
    size_t care_provider_count;
    zr_loa_t min_loa;         /* minimum level of assurance; picks the ServiceUUID */
    zr_sigalg_t id_token_alg; /* default RS256 */
    /* userinfo_signed_response_alg (OIDC Registration §2): UserInfo as a
     * signed JWT (application/jwt) with this alg; 0: plain JSON. */
    int userinfo_signed;
    zr_sigalg_t userinfo_alg;
    /* userinfo_encrypted_response_alg / id_token_encrypted_response_alg
     * (OIDC Registration §2, issue 17 §2): UserInfo and the ID token
     * encrypted (after signing) to the client's encryption key from its
     * jwks_file, with this zr_jwe_alg_t and A256GCM (the only enc); 0: not. */
    int userinfo_encrypted;
    int userinfo_enc_alg;
    int id_token_encrypted;
    int id_token_enc_alg;
    /* Professionals (issue 4). */
    int login_methods;        /* ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL; default patient */
    zr_role_rule_t *role_rules; /* Dezi role code (+ URA) -> the portal's own roles, first match wins */
    size_t role_rule_count;
    int allow_unmapped_roles; /* a professional whose role maps to nothing may log in (no roles) */
    zr_authzen_client_t authzen; /* optional PDP asked before a code is issued */
    int introspection;        /* may call /introspect (RFC 7662) */
    /* Logout (issue 5, docs/logout.md): OpenID Connect Back-Channel Logout 1.0 §2.2. */
    char *backchannel_logout_uri;           /* https (http on loopback outside production); NULL: none */
    int backchannel_logout_session_required;/* the client wants `sid` in every Logout Token (always sent) */
    /* Pairwise sector (OIDC Core §8.1, docs/claims.md): clients of one
     * sector see the same `sub`. NULL: the client is a sector of its own,
     * named by its client_id. */
    char *sector_identifier;
    /* Upgrade path: the redirect host whose `sub` values of before issue 12
     * this client keeps (docs/operations.md); NULL normally. Never together
     * with sector_identifier. */
    char *legacy_sector_host;
    char *sector_origin;      /* "FILE:LINE" of the key that decides the sector, for the reload check */
    /* Dynamic registration (RFC 7591, issue 17 §4): the client's file in
     * oidc.registration.clients_dir; NULL for a client of the configuration. */
    char *registration_file;
    char *registration_token_hmac; /* hex HMAC of its registration access token (never the token) */
    long long client_id_issued_at;
    char registration_stamp[64]; /* inode, size and mtime of the file as loaded: changed means updated elsewhere */
    /* The way forward from the relay's pages (issue 18 §1, docs/pages.md):
     * the portal's public home page ("Terug naar <name>"; required outside
     * development) and OIDC Registration's initiate_login_uri ("Opnieuw
     * inloggen"; optional). */
    char *home_page;
    char *initiate_login_uri;
    zr_helpdesk_t helpdesk;   /* optional; wins over the care provider's */
    /* Issue 18 §2 (docs/pages.md): a login refused after the person acted
     * (cancel, LoA too low, ...) shows the relay's page with one button
     * that delivers the OAuth error (relay, the default), or goes back to
     * the portal at once (portal). */
    zr_client_error_pages_t error_pages;
} zr_client_t;

typedef struct {
    char *issuer;             /* default: public_base_url */
    zr_oidc_key_t *keys;      /* first one signs, all are published */
    size_t key_count;
    zr_oidc_enc_key_t *enc_keys; /* encryption_keys: all published, the kid picks one */
    size_t enc_key_count;
    uint8_t pairwise_secret[32];
    char *pairwise_secret_file;
    int id_token_lifetime_s;  /* default 300, max 300 */
    int access_token_lifetime_s; /* default 300 */
    int code_lifetime_s;      /* default 60, max 60 */
    int session_lifetime_s;   /* pending login at TVS, default 900 (max 900) */
    /* Logout (issue 5): how long a finished login can still be logged out
     * (the relay's logout session, `sid`); 0 = default 28800 (8 h). */
    int logout_session_lifetime_s;
    /* Cache-Control max-age of discovery and /jwks (NL GOV §Caching: at
     * least a week); default 604800. */
    int metadata_max_age_s;
    /* client_ids whose pairwise sector a reload may change (every `sub`
     * such a client sees changes); a reload refuses any other sector change. */
    char **allow_sector_change;
    size_t allow_sector_change_count;
    /* Dynamic client registration (RFC 7591/7592, issue 17 §4): one YAML
     * file per registered client in this directory, initial access tokens
     * under its tokens/; NULL: no registration endpoint. */
    char *registration_dir;
    uint8_t registration_key[32]; /* HMAC key of the tokens' stored hashes (derived from pairwise_secret) */
    /* RFC 8705 (YAML oidc.mtls, taken at the start only): the CAs a
     * tls_client_auth client's certificate must chain to; the listener with
     * `tls:` asks for (never requires) a client certificate. */
    char *mtls_ca_file;
    /* The header in which a TLS terminator among limits.trusted_proxies
     * forwards the verified client certificate (nginx:
     * $ssl_client_escaped_cert); NULL: none. */
    char *mtls_forwarded_cert_header;
} zr_oidc_config_t;

/* Dezi, the professionals' identity provider (issue 4, reference/dezi.md).
 * YAML `dezi:`; absent -> enabled = 0 and no client may use professionals. */
typedef struct {
    int enabled;
    char *issuer;             /* https://auth.dezi.nl, https://acceptatie.auth.dezi.nl or the mock */
    char *client_id;          /* as registered at Dezi */
    zr_client_auth_t auth_method; /* ZR_CLIENT_AUTH_NONE (v0.7 public client) or PRIVATE_KEY_JWT (2024) */
    char *client_key_file;    /* private_key_jwt: our signing key (RS256/ES256) */
    EVP_PKEY *client_key;
    char *client_key_kid;     /* optional kid in the client assertion header */
    char *decryption_key_file;/* our registered key: userinfo JWE (RSA-OAEP) */
    EVP_PKEY *decryption_key;
    char **jku_allow;         /* the only jku URLs register keys are fetched from */
    size_t jku_allow_count;
    char *tls_ca_file;        /* optional: CA bundle for Dezi's TLS (default: system store) */
    zr_loa_t min_loa;         /* loa_dezi and loa_authn at least this; default high */
    int revocation_fail_open; /* status service and list unreachable -> let through; default 0 */
    int timeout_ms;           /* per HTTP call, default 5000 */
    int key_cache_s;          /* JWKS / jku key sets kept at most this long, default 3600 */
} zr_dezi_config_t;

/* The Authorization Decision Log (reference/authorization-handoff.md):
 * YAML `decision_log: {file: PATH}`; file NULL -> records go to stderr as
 * log lines. */
typedef struct {
    char *file;
    /* The key of the keyed hash that stands in for BSNs in the records:
     * from subject_key_file, or else derived from oidc.pairwise_secret, so
     * that every relay process and every restart hashes a BSN alike. */
    char *subject_key_file;
    uint8_t subject_key[32];
} zr_decision_log_config_t;

/* The audit stream (issue 16 §3, include/zr/audit.h): YAML
 * `audit_log: {file: PATH, subject_key_file: PATH}`; file NULL -> no audit
 * stream. */
typedef struct {
    char *file;
    /* The key of the people's pseudonyms in the records: from
     * subject_key_file, or else derived from oidc.pairwise_secret with a
     * label of its own, so every process and restart gives one person one
     * pseudonym. */
    char *subject_key_file;
    uint8_t subject_key[32];
    /* on_failure: refuse (default: a login or code whose record cannot be
     * written does not go on) or continue (logged as audit.write_failed). */
    int refuse;
} zr_audit_log_config_t;

/* The built-in mock Dezi (`zorgrelay mock-dezi`, YAML `mock_dezi:`); never
 * in production. Its test professionals are built in (src/mock/dezi_*.c).
 * It encrypts userinfo to dezi.decryption_key's public half. */
typedef struct {
    char *listen;             /* e.g. 127.0.0.1:8082 (plain HTTP on loopback) */
    char *public_base_url;    /* its issuer, e.g. http://localhost:8082 */
    zr_keypair_t signing;     /* id_token and userinfo envelope (RS256); cert optional */
    zr_keypair_t register_key;/* the Dezi register's seal: signs the verklaring and the revocation list */
    char *expected_client_id; /* default: dezi.client_id */
    /* userinfo: jwe (default, production Dezi) or signed_jwt (the plain
     * signed envelope Dezi's acceptance environment has been seen to send). */
    int userinfo_signed_jwt;
} zr_mock_dezi_config_t;

/* What a mock TVS test identity makes TVS answer. */
typedef enum {
    ZR_MOCK_OUTCOME_SUCCESS = 0,
    ZR_MOCK_OUTCOME_CANCEL,           /* AuthnFailed, "Authentication cancelled" */
    ZR_MOCK_OUTCOME_AUTHN_FAILED,     /* AuthnFailed */
    ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT, /* NoAuthnContext */
    ZR_MOCK_OUTCOME_REQUEST_DENIED    /* RequestDenied */
} zr_mock_outcome_t;

typedef struct {
    char *label;               /* shown on the mock's login page */
    zr_mock_outcome_t outcome; /* default success */
    char *acting_bsn;          /* ActingSubjectID (success) */
    char *legal_bsn;           /* LegalSubjectID (representation), optional */
    char *representation_type; /* urn:nl-eid-gdi:1.1:RT:..., optional */
    char *id_type;             /* NameQualifier, default legacy-BSN */
    zr_loa_t loa;              /* LoA the assertion states */
} zr_mock_identity_t;

/* The built-in mock TVS (`zorgrelay mock-tvs`); never in production. */
typedef struct {
    char *entity_id;          /* urn:nl-eid-gdi:1.0:RD:<OIN>:entities:9xxx */
    char *listen;             /* browser side, e.g. 127.0.0.1:8081 (plain HTTP on loopback) */
    char *public_base_url;    /* e.g. http://localhost:8081 */
    char *artifact_listen;    /* mutual-TLS side, e.g. 127.0.0.1:8444 */
    char *artifact_base_url;  /* e.g. https://localhost:8444 */
    zr_keypair_t signing;     /* signs metadata, ArtifactResponse, Assertion */
    zr_keypair_t tls;         /* server certificate of the artifact endpoint */
    char *client_ca_file;     /* CA that issued the relay's TLS client certificate */
    char *metadata_out;       /* where to write its signed metadata on start (optional) */
    int metadata_valid_days;  /* default 7 */
    zr_mock_identity_t *identities;
    size_t identity_count;
    /* Added for `selftest` (issue 5 §2): seconds added to the Date header of
     * the artifact endpoint's answers, to simulate a skewed TVS clock. Default 0. */
    int date_offset_s;
} zr_mock_tvs_config_t;

/* What one care provider's unusable material does to the configuration. */
typedef enum {
    ZR_ON_ERROR_QUARANTINE = 0, /* that provider is loaded disabled; the others serve */
    ZR_ON_ERROR_REFUSE          /* the whole configuration is refused */
} zr_on_error_t;

/* Where a care provider was configured: its own file under
 * care_providers_dir, or an entry of the inline care_providers list. Lines
 * let later checks say FILE:LINE like the loader does. */
typedef struct {
    char *file;
    int line;              /* the entry (1 for a file of its own) */
    int id_line;
    int entity_id_line;
    int oin_line;
    int services_line;
    int bsn_key_line[2];   /* bsn_keys[i].cert */
    int ura_line;
} zr_tenant_origin_t;

/* Care providers read from a directory (one *.yaml or *.yml each, sorted by
 * name). */
typedef struct {
    zr_tenant_t *tenants;
    zr_tenant_origin_t *origins; /* parallel to tenants */
    size_t count;
} zr_tenant_set_t;

/* The vendor's cluster connection (LC, "leverancierscluster"): one
 * technical connection to TVS for many care providers (DVs), each keeping
 * its own entityID and BSN keys (reference/tvs-saml.md §Metadata). */
typedef struct {
    int enabled;              /* the `cluster:` section is present */
    char *entity_id;          /* urn:nl-eid-gdi:1.0:LC:<OIN>:entities:<4 digits> */
    char *oin;                /* 20 digits, equal to the OIN in entity_id */
    char *name;               /* optional: the vendor's name (EntitiesDescriptor Name) */
} zr_cluster_config_t;

/* The per-login SAML/OIDC trace for diagnosis (issue 5 §4, src/diag/):
 * YAML `trace: {enabled: true, lifetime_s: 86400}`. */
typedef struct {
    int enabled;
    int lifetime_s;           /* how long a trace is kept in Redis, default 86400 */
} zr_trace_config_t;

/* The built-in test client of `zorgrelay preprod-test` (issue 5 §3,
 * src/preprod/). Fixed-size strings: nothing to free. */
typedef struct {
    int enabled;                   /* the `preprod_test:` section is present */
    char listen[64];               /* e.g. 127.0.0.1:8090 */
    char public_base_url[256];     /* e.g. http://localhost:8090; redirect URI = this + /callback */
    char client_id[128];           /* default zorgrelay-preprod-test; a client in `clients:` */
    char client_secret_file[1024]; /* the client's secret (client_secret_basic) */
    char state_file[1024];         /* results so far (JSON, rewritten atomically) */
    char care_provider[128];       /* default: the client's care_provider */
    char relay_ca_file[1024];      /* optional CA for the relay's https */
} zr_preprod_test_config_t;

/* The HTTP listener's limits (issue 13 §3, YAML `limits:`, src/config/limits.c;
 * docs/operations.md#connection-limits). Taken at the start only. */
typedef struct {
    int max_connections;       /* default 4096 */
    int max_connections_set;   /* written in the file: refuse to start when it cannot fit the open-file limit */
    int max_connections_per_ip;/* default 256: one hospital's NAT */
    zr_net_cidr_t *trusted_proxies; /* peers whose X-Forwarded-For names the client */
    size_t trusted_proxy_count;
    int header_timeout_s;      /* request head complete within, default 10 (also an idle keep-alive) */
    int body_timeout_s;        /* request body complete within, default 30 */
    int idle_timeout_s;        /* nothing sent or read for, default 30 */
    int max_uri_bytes;         /* request target, default 8192; longer -> 414 */
    int drain_timeout_s;       /* SIGTERM: requests in flight may finish within, default 30 */
} zr_limits_config_t;

/* The metrics listener (issue 16 §2, YAML `metrics:`, src/config/metrics.c;
 * docs/operations.md#metrics). Taken at the start only. */
typedef struct {
    int enabled;               /* the section is there */
    char *listen;              /* default 127.0.0.1:9464 */
    int allow_remote;          /* a listen address that is not loopback was asked for explicitly */
    int per_care_provider;     /* series per care provider (cardinality: one set per provider) */
} zr_metrics_config_t;

typedef struct zr_config {
    char *file;               /* path it was loaded from */
    zr_environment_t environment;
    char *listen;             /* "127.0.0.1:8080" or "[::1]:8080" */
    char *public_base_url;    /* https://login.example.nl (no trailing slash) */
    char *tls_cert_file;      /* optional: serve HTTPS directly */
    char *tls_key_file;
    int log_level;            /* zr_log_level_t */
    int log_format;           /* zr_log_format_t: text (default) or json */
    /* The key of the log pseudonyms (zr_log_mask): HMAC of
     * oidc.pairwise_secret with a label of its own, so every relay process
     * of a cluster gives one person or login the same pseudonym. */
    uint8_t log_pseudonym_key[32];
    int threads;              /* HTTP worker threads, default 2 x cores */
    size_t max_body_bytes;    /* default 256 KiB */
    zr_limits_config_t limits;
    zr_metrics_config_t metrics;
    zr_redis_config_t redis;
    zr_tvs_config_t tvs;
    zr_keypair_t saml_signing;    /* signs AuthnRequest, ArtifactResolve, our metadata */
    zr_keypair_t saml_tls_client; /* client certificate towards the artifact endpoint */
    int sp_metadata_valid_days;   /* default 30 */
    zr_tenant_t *tenants;         /* care providers */
    size_t tenant_count;
    zr_oidc_config_t oidc;
    zr_client_t *clients;
    size_t client_count;
    int has_mock_tvs;
    zr_mock_tvs_config_t mock_tvs;
    /* Added for care_providers_dir (issue 3). */
    char *care_providers_dir;        /* optional: one YAML file per care provider */
    char *former_care_providers_dir; /* default care_providers_dir/former when it exists */
    /* The care providers' history for the aansluitbestand (issue 14 §3,
     * zr/tenant_ledger.h): default <care_providers_dir>.ledger; NULL
     * without care_providers_dir unless set. */
    char *care_providers_ledger;
    zr_tenant_origin_t *tenant_origins; /* parallel to tenants */
    /* Removed care providers: kept for `tenants export`, never used for a login. */
    zr_tenant_t *former_tenants;
    zr_tenant_origin_t *former_tenant_origins;
    size_t former_tenant_count;
    /* Added for the cluster connection (issue 3): set when the relay is the
     * vendor's LC; saml_signing and saml_tls_client are then the LC's keys. */
    zr_cluster_config_t cluster;
    /* Professionals (issue 4). */
    zr_dezi_config_t dezi;
    zr_decision_log_config_t decision_log;
    zr_audit_log_config_t audit_log;
    int has_mock_dezi;
    zr_mock_dezi_config_t mock_dezi;
    /* Reload (issue 3): where `serve` writes its PID and `zorgrelay reload`
     * finds the process to signal. Optional. */
    char *pid_file;
    /* Pre-production kit (issue 5 §3, §4; src/config/preprod.c, docs/preprod.md):
     * YAML `trace:` and `preprod_test:`, both refused in production. */
    zr_trace_config_t trace;
    zr_preprod_test_config_t preprod_test;
    /* Issue 14 §1 (care_providers_on_error, docs/operations.md#quarantine):
     * quarantine (default) loads a provider whose own material is unusable
     * as disabled (zr_tenant_t.quarantined); refuse refuses the whole
     * configuration for it, as before. */
    zr_on_error_t care_providers_on_error;
    size_t quarantined_count;     /* tenants with .quarantined set */
    /* Lookup index over tenants (by id and entityID) and clients (by
     * client_id), built by zr_config_load; private to src/config. NULL in a
     * hand-made zr_config_t: the find functions then scan. */
    struct zr_config_index *index;
    /* The pages people see (issue 18 §3, docs/pages.md): `pages:
     * {digid_logo_file}`, the DigiD logo the operator got from Logius
     * (we do not ship it), shown on the chooser's DigiD button. */
    struct {
        zr_logo_t digid_logo;
    } pages;
} zr_config_t;

/* One validation problem: "FILE:LINE: KEY: message". */
typedef struct {
    char **lines;
    size_t count;
} zr_config_errors_t;

/* Loads, resolves relative paths against the file's directory, loads every
 * key/cert/secret, and validates. Returns NULL when there is any error; each
 * error is appended to errs (caller frees with zr_config_errors_free). */
zr_config_t *zr_config_load(const char *path, zr_config_errors_t *errs);
void zr_config_free(zr_config_t *cfg);

enum {
    /* zr_config_load_flags: do not read care_providers_dir (tenants
     * validate judges that directory itself). */
    ZR_CONFIG_LOAD_SKIP_TENANT_DIR = 1
};
zr_config_t *zr_config_load_flags(const char *path, int flags, zr_config_errors_t *errs);
/* zr_config_load_flags for a reload: every check as always, but a care
 * provider's BSN certificate and key equal to the ones it has in reuse (the
 * configuration in use, which must stay unchanged and alive meanwhile) are
 * shared with it (reference counted) rather than held twice. */
zr_config_t *zr_config_load_reusing(const char *path, int flags, const zr_config_t *reuse, zr_config_errors_t *errs);
/* For a configuration the relay has replaced (issue 14 §2): keeps the care
 * providers whose keep[i] is non-zero (in their order, with the lookup index
 * over them) and moves out everything a login in flight never uses from a
 * replaced configuration: the other providers, the former ones and, unless
 * keep_clients, the clients. What was moved out becomes *rest, for the
 * caller to zr_config_free when it suits it (outside a lock). Every other
 * setting stays. -1 when out of memory: cfg is then unchanged. */
int zr_config_retain_tenants(zr_config_t *cfg, const unsigned char *keep, int keep_clients, zr_config_t **rest);
/* What the pairwise sector comparison needs of cfg's clients (client_id,
 * sector_identifier, legacy_sector_host, sector_origin), in a configuration
 * of their own that zr_config_find_client and zr_config_sector_changes read
 * like the original; a few small allocations where cfg's may be spread over
 * every page of a large load. NULL when out of memory. */
zr_config_t *zr_config_sectors_copy(const zr_config_t *cfg);

enum {
    /* zr_config_load_tenant_dir: load each certificate and key without
     * judging them (expiry, strength, key usage, pairing), for callers that
     * judge them themselves or keep them only for the record (former). */
    ZR_TENANT_LOAD_LENIENT = 1,
    /* Former providers (former/): only what the export shows. The private
     * key is not read at all; a certificate that cannot be read leaves the
     * key's cert NULL (the ledger's record stands in) instead of an error. */
    ZR_TENANT_LOAD_FORMER = 2
};
/* Loads every care provider file of `dir` (zr_config_tenant_dir_scan) as one
 * care provider (same keys as an entry of care_providers; relative paths
 * against `dir`, also in a file reached by a symbolic link). Errors are
 * "FILE:LINE: key: message" with the tenant file's name, and "FILE: message"
 * for every file the scan refused. Returns the number of errors; `out` holds
 * what could be read either way (free with zr_config_tenant_set_free). env
 * tightens checks like in zr_config_load. */
size_t zr_config_load_tenant_dir(const char *dir, zr_environment_t env, int flags, zr_tenant_set_t *out,
                                 zr_config_errors_t *errs);
void zr_config_tenant_set_free(zr_tenant_set_t *set);

/* A care providers directory as the loader sees it. Loaded: every *.yaml and
 * *.yml directly in it (a symbolic link too, when its target is a regular
 * file inside the directory). Refused, an error: a link leaving the
 * directory or dangling, a file above 1 MiB, a name ending in .YAML, .Yml
 * and the like, a *.yaml that is not a regular file. Not loaded, a warning:
 * any other file (backups such as a.yaml~ or a.yaml.bak, notes). Hidden
 * files and subdirectories (former/) are passed over in silence. */
typedef struct {
    char *file;      /* "DIR/NAME" */
    char *message;   /* why (no file name in it) */
    int refused;     /* 1: an error; 0: a warning */
} zr_tenant_dir_note_t;

typedef struct {
    char **files;                 /* to load, "DIR/NAME", sorted */
    size_t count;
    zr_tenant_dir_note_t *notes;  /* sorted by file */
    size_t note_count;
} zr_tenant_dir_scan_t;

/* 0, or -1 with errno when the directory cannot be read. */
int zr_config_tenant_dir_scan(const char *dir, zr_tenant_dir_scan_t *out);
void zr_config_tenant_dir_scan_free(zr_tenant_dir_scan_t *scan);

/* Ids, entity IDs, OINs, URAs, ServiceUUIDs and BSN certificates must be unique
 * across care providers. Checks every pair (i, j) with j < i and
 * i >= first; appends "FILE:LINE: key: ... (also FILE2:LINE2)" lines and
 * returns how many. */
size_t zr_config_check_tenants_unique(const zr_tenant_t *tenants, const zr_tenant_origin_t *origins, size_t count,
                                      size_t first, zr_config_errors_t *errs);
/* Private key and secret files are the relay's alone (mode & 077 == 0).
 * For a file open to group or others: -1 in production (refused), 1 in
 * preprod (a warning), with the message in why ("FILE is open to group or
 * others (mode 0644), ... chmod 600 FILE"); 0 when the file is fine, cannot
 * be stat'ed (whoever opens it reports that) or env is development (test
 * PKIs, checked-out files). */
int zr_config_key_file_mode(const char *file, zr_environment_t env, char *why, size_t whylen);
void zr_config_errors_free(zr_config_errors_t *errs);

/* Logs one warning per quarantined care provider under `event` (its id,
 * its file and each reason), for `serve` at start and every reload. */
void zr_config_log_quarantined(const zr_config_t *cfg, const char *event);

/* Lookups cost the same with 1 or 10,000 care providers (hash index). */
const zr_client_t *zr_config_find_client(const zr_config_t *cfg, const char *client_id);

/* Dynamic client registration (src/config/registered.c, RFC 7591/7592). */
/* The stored form of a token: hex HMAC-SHA256 under oidc.registration_key. */
int zr_config_registration_hash(const zr_config_t *cfg, const char *token, char out[65]);
/* Reads a registered client's file as the loader does and judges it against
 * cfg (its care provider configured, keys strong enough): 0, or -1 with
 * FILE:LINE lines in errs. bsn_entitled (optional): the file's value. */
int zr_config_registered_check(const zr_config_t *cfg, const char *file, zr_config_errors_t *errs,
                               int *bsn_entitled);
/* Writes data as dir/name whole: temporary file, fsync, rename, directory fsync. */
int zr_config_write_atomic(const char *dir, const char *name, const char *data, size_t len, char *err,
                           size_t errlen);
/* An initial access token (RFC 7591 §3) for one client of care_provider,
 * valid ttl_s seconds: *token_out (malloc'ed, shown once) and only its
 * keyed hash on disk. */
int zr_config_registration_token_create(const zr_config_t *cfg, const char *care_provider, long ttl_s,
                                        char **token_out, long long *expires_at, char *err, size_t errlen);
/* 0 and its care provider when token is an unused, unexpired initial access
 * token; 1 when not (an expired one is removed); -1 on error. */
int zr_config_registration_token_read(const zr_config_t *cfg, const char *token, char **care_provider);
/* Claims it (single use, atomic across processes): 0, or 1 when another
 * registration took it first. Then settle: used (removed) or given back. */
int zr_config_registration_token_claim(const zr_config_t *cfg, const char *token);
void zr_config_registration_token_settle(const zr_config_t *cfg, const char *token, int used);
/* The stamp of a registered client's file now (zr_client_t.registration_stamp); -1 when it is gone. */
int zr_config_registration_stamp(const char *file, char out[64]);
const zr_tenant_t *zr_config_find_tenant(const zr_config_t *cfg, const char *id);
const zr_tenant_t *zr_config_find_tenant_by_entity_id(const zr_config_t *cfg, const char *entity_id);
/* The pairwise sector of a client (OIDC Core §8.1, docs/claims.md):
 * legacy_sector_host when set, else sector_identifier, else its client_id.
 * *legacy (optional) is 1 for a legacy_sector_host, whose `sub` has the
 * format of before issue 12. */
const char *zr_client_sector(const zr_client_t *c, int *legacy);
/* The configuration key that names the sector ("legacy_sector_host",
 * "sector_identifier" or "client_id"), for messages. */
const char *zr_client_sector_key(const zr_client_t *c);
/* 1 when the two clients' `sub` values are computed alike (same sector, same format). */
int zr_client_same_sector(const zr_client_t *a, const zr_client_t *b);
/* 1 when oidc.allow_sector_change lists client_id. */
int zr_config_allows_sector_change(const zr_config_t *cfg, const char *client_id);
/* A client whose pairwise sector a reload or a start would change. */
typedef struct {
    const zr_client_t *before;   /* borrowed from the running (or startup) configuration; NULL for a record */
    const char *before_sector;   /* the sector before (borrowed from before or from the record) */
    const char *before_key;      /* the key that named it, as zr_client_sector_key */
    int recorded;                /* before is the record in Redis, not a configuration */
    const zr_client_t *after;    /* borrowed from the new one */
    int allowed;                 /* the new configuration's oidc.allow_sector_change lists it */
} zr_sector_change_t;
/* Every client of next whose sector differs from the one it has in
 * running, or (when running does not have it) in started; either may be
 * NULL. *changes is malloc'ed (NULL when none). -1 when out of memory. */
int zr_config_sector_changes(const zr_config_t *running, const zr_config_t *started, const zr_config_t *next,
                             zr_sector_change_t **changes, size_t *count);
/* The record of the sector a client is served under, as the relays keep it
 * in Redis (docs/architecture.md, "client-sector"): "<key> <sector>", key
 * as zr_client_sector_key. malloc'ed; NULL when out of memory. */
char *zr_client_sector_record(const zr_client_t *c);
/* Every client of cfg whose record (records[i] for cfg->clients[i]; NULL
 * when none was kept) names another sector than cfg gives it. A record that
 * does not read as one counts as a change from an unreadable sector: it
 * fails closed. The changes borrow from records. As zr_config_sector_changes. */
int zr_config_sector_record_changes(const zr_config_t *cfg, char *const *records, zr_sector_change_t **changes,
                                    size_t *count);
/* 1 when tenant_id is one of c->care_providers. */
int zr_client_allows_tenant(const zr_client_t *c, const char *tenant_id);
const char *zr_environment_name(zr_environment_t env);

#endif
