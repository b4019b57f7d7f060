/* The mock_tvs section: the built-in stand-in for TVS used by the demo and
 * the tests (`zorgrelay mock-tvs`). Refused outright in production. */
#include "config_internal.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/subject.h"
#include "zr/util.h"

/* Same order as zr_mock_outcome_t. */
static const char *const outcome_names[] = {"success", "cancel", "authn_failed", "no_authn_context",
                                            "request_denied", NULL};

static void read_bsn(zr_cfg_map_t *m, const char *key, const char *id_type, char **out)
{
    char kpath[ZR_CFG_PATH_MAX];
    if (zr_cfg_get_str(m, key, 0, out) != 1)
        return;
    zr_cfg_path_key(kpath, m->path, key);
    /* The value is never echoed: even test BSNs stay out of logs. */
    if (!strcmp(id_type, ZR_ID_LEGACY_BSN) && !zr_bsn_is_valid(*out))
        zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "not a valid BSN (9 digits passing the 11-proof)");
}

static void read_identity(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_mock_identity_t *id)
{
    static const char *const keys[] = {"label", "outcome", "acting_bsn", "legal_bsn", "representation_type",
                                       "id_type", "loa", NULL};
    static const char rt_prefix[] = "urn:nl-eid-gdi:1.1:RT:";
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], *loa = NULL;
    int e;
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    zr_cfg_get_str(&m, "label", 1, &id->label);
    if (zr_cfg_get_enum(&m, "outcome", 0, outcome_names, &e) == 1)
        id->outcome = (zr_mock_outcome_t)e;
    zr_cfg_get_str(&m, "id_type", 0, &id->id_type);
    if (!id->id_type)
        id->id_type = strdup(ZR_ID_LEGACY_BSN);
    else if (strncmp(id->id_type, "urn:nl-eid-gdi:1.0:id:", 22) != 0) {
        zr_cfg_path_key(kpath, path, "id_type");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "id_type"), kpath, "must be an urn:nl-eid-gdi:1.0:id:... identifier type");
    }
    read_bsn(&m, "acting_bsn", id->id_type ? id->id_type : "", &id->acting_bsn);
    read_bsn(&m, "legal_bsn", id->id_type ? id->id_type : "", &id->legal_bsn);
    if (zr_cfg_get_str(&m, "representation_type", 0, &id->representation_type) == 1) {
        zr_cfg_path_key(kpath, path, "representation_type");
        if (strncmp(id->representation_type, rt_prefix, sizeof(rt_prefix) - 1) != 0)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "representation_type"), kpath, "must start with %s", rt_prefix);
        else if (!id->legal_bsn)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "representation_type"), kpath,
                         "needs legal_bsn (the person represented)");
    }
    if (zr_cfg_get_str(&m, "loa", id->outcome == ZR_MOCK_OUTCOME_SUCCESS, &loa) == 1 &&
        (id->loa = zr_loa_parse(loa)) == ZR_LOA_NONE) {
        zr_cfg_path_key(kpath, path, "loa");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "loa"), kpath,
                     "'%s' is not a level of assurance (basic, low, substantial, high, or its URI)", loa);
    }
    free(loa);
    if (id->outcome == ZR_MOCK_OUTCOME_SUCCESS && !zr_cfg_map_get(&m, "acting_bsn")) {
        zr_cfg_path_key(kpath, path, "acting_bsn");
        zr_cfg_error(ld, node, kpath, "is required when the outcome is success");
    }
}

void zr_cfg_read_mock_tvs(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"entity_id", "listen", "public_base_url", "artifact_listen",
                                       "artifact_base_url", "signing", "tls", "client_ca", "metadata_out",
                                       "metadata_valid_days", "identities", "date_offset_s", NULL};
    zr_cfg_loader_t *ld = root->ld;
    zr_mock_tvs_config_t *mt = &cfg->mock_tvs;
    yaml_node_t *v = zr_cfg_map_get(root, "mock_tvs"), *seq = NULL;
    zr_cfg_map_t m;
    zr_cfg_url_t u;
    char ipath[ZR_CFG_PATH_MAX], err[512], oin[21];
    int index;
    long n;
    if (!v)
        return;
    if (ld->env == ZR_ENV_PRODUCTION) {
        zr_cfg_error(ld, zr_cfg_map_key(root, "mock_tvs"), "mock_tvs", "the mock TVS is refused in production");
        return;
    }
    if (zr_cfg_map_open(ld, v, "mock_tvs", keys, &m) != 0)
        return;
    cfg->has_mock_tvs = 1;
    if (zr_cfg_get_str(&m, "entity_id", 1, &mt->entity_id) == 1 &&
        zr_cfg_entity_id_parse(mt->entity_id, "RD", oin, &index) != 0)
        zr_cfg_error(ld, zr_cfg_map_get(&m, "entity_id"), "mock_tvs.entity_id",
                     "must look like urn:nl-eid-gdi:1.0:RD:<OIN, 20 digits>:entities:<4 digits>");
    if (zr_cfg_get_str(&m, "listen", 1, &mt->listen) == 1 && !zr_cfg_listen_valid(mt->listen))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "listen"), "mock_tvs.listen", "must be HOST:PORT, e.g. 127.0.0.1:8081");
    if (zr_cfg_get_str(&m, "public_base_url", 1, &mt->public_base_url) == 1)
        zr_cfg_check_base_url(ld, zr_cfg_map_get(&m, "public_base_url"), "mock_tvs.public_base_url",
                              mt->public_base_url, NULL);
    if (zr_cfg_get_str(&m, "artifact_listen", 1, &mt->artifact_listen) == 1 &&
        !zr_cfg_listen_valid(mt->artifact_listen))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "artifact_listen"), "mock_tvs.artifact_listen",
                     "must be HOST:PORT, e.g. 127.0.0.1:8444");
    /* Artifact resolution is mutual TLS (ST-SAML §ArtifactResolve). */
    if (zr_cfg_get_str(&m, "artifact_base_url", 1, &mt->artifact_base_url) == 1 &&
        zr_cfg_check_base_url(ld, zr_cfg_map_get(&m, "artifact_base_url"), "mock_tvs.artifact_base_url",
                              mt->artifact_base_url, NULL) == 0 &&
        (zr_cfg_url_parse(mt->artifact_base_url, &u) != 0 || strcmp(u.scheme, "https") != 0))
        zr_cfg_error(ld, zr_cfg_map_get(&m, "artifact_base_url"), "mock_tvs.artifact_base_url",
                     "must be an https URL (artifact resolution uses mutual TLS)");
    zr_cfg_read_keypair(&m, "signing", 1, ZR_CFG_KEY_RSA_ONLY, &mt->signing);
    zr_cfg_read_keypair(&m, "tls", 1, 0, &mt->tls);
    if (zr_cfg_get_path(&m, "client_ca", 1, &mt->client_ca_file) == 1) {
        STACK_OF(X509) *ca = zr_crypto_load_certificates(mt->client_ca_file, err, sizeof(err));
        if (!ca)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "client_ca"), "mock_tvs.client_ca", "%s", err);
        sk_X509_pop_free(ca, X509_free);
    }
    zr_cfg_get_path(&m, "metadata_out", 0, &mt->metadata_out);
    if (zr_cfg_get_int(&m, "metadata_valid_days", 0, 1, 365, &n) == 1)
        mt->metadata_valid_days = (int)n;
    /* A skewed TVS clock for `selftest` tests: at most a day either way. */
    if (zr_cfg_get_int(&m, "date_offset_s", 0, -86400, 86400, &n) == 1)
        mt->date_offset_s = (int)n;
    if (zr_cfg_get_seq(&m, "identities", 1, &seq) == 1) {
        size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        if (count == 0)
            zr_cfg_error(ld, seq, "mock_tvs.identities", "must list at least one test identity");
        else if ((mt->identities = calloc(count, sizeof(*mt->identities))) != NULL)
            for (size_t i = 0; i < count; i++) {
                zr_cfg_path_index(ipath, "mock_tvs.identities", i);
                mt->identity_count = i + 1;
                read_identity(ld, zr_cfg_node(ld, seq->data.sequence.items.start[i]), ipath, &mt->identities[i]);
            }
    }
}

static void free_bsn(char *s)
{
    if (s)
        OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void zr_cfg_free_mock_tvs(zr_config_t *cfg)
{
    zr_mock_tvs_config_t *mt = &cfg->mock_tvs;
    free(mt->entity_id);
    free(mt->listen);
    free(mt->public_base_url);
    free(mt->artifact_listen);
    free(mt->artifact_base_url);
    zr_cfg_keypair_free(&mt->signing);
    zr_cfg_keypair_free(&mt->tls);
    free(mt->client_ca_file);
    free(mt->metadata_out);
    for (size_t i = 0; mt->identities && i < mt->identity_count; i++) {
        zr_mock_identity_t *id = &mt->identities[i];
        free(id->label);
        free_bsn(id->acting_bsn);
        free_bsn(id->legal_bsn);
        free(id->representation_type);
        free(id->id_type);
    }
    free(mt->identities);
    memset(mt, 0, sizeof(*mt));
}
