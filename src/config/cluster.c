/* The `cluster:` section: the relay as the vendor's cluster connection (LC)
 * for many care providers (reference/tvs-saml.md §Metadata, issue 3). The
 * LC has its own entityID and OIN; saml.signing and saml.tls_client are the
 * LC's (the vendor's) certificates. */
#include "config_internal.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/objects.h>

#include "zr/util.h"

/* The value node of `key` in a mapping node, or NULL; reports nothing (the
 * section's own reader already did). */
static yaml_node_t *child(zr_cfg_loader_t *ld, yaml_node_t *map, const char *key)
{
    zr_cfg_map_t m;
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    memset(&m, 0, sizeof(m));
    m.ld = ld;
    m.node = map;
    return zr_cfg_map_get(&m, key);
}

/* The subject serialNumber of a certificate as text (PKIoverheid puts the
 * OIN there), malloc'ed; NULL when there is none. The tenant module has
 * the same for DV certificates, but config may not depend on it. */
static char *cert_serial_number(X509 *cert)
{
    const X509_NAME *name = X509_get_subject_name(cert);
    int pos = name ? X509_NAME_get_index_by_NID(name, NID_serialNumber, -1) : -1;
    const ASN1_STRING *value;
    const unsigned char *data;
    char *out;
    int len;
    if (pos < 0)
        return NULL;
    value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
    data = ASN1_STRING_get0_data(value);
    len = ASN1_STRING_length(value);
    if (!data || len < 0 || !(out = malloc((size_t)len + 1)))
        return NULL;
    memcpy(out, data, (size_t)len);
    out[len] = '\0';
    return out;
}

/* PKIoverheid certificates name their organisation's OIN in the subject
 * serialNumber: the LC's signing and TLS certificates must be the vendor's.
 * A certificate without serialNumber is not judged (test PKIs, other CAs). */
static void check_cert_oin(zr_cfg_map_t *root, X509 *cert, const char *section, const char *what,
                           const char *oin)
{
    yaml_node_t *saml = zr_cfg_map_get(root, "saml");
    yaml_node_t *kp = child(root->ld, saml, section);
    yaml_node_t *at = child(root->ld, kp, "cert");
    char path[ZR_CFG_PATH_MAX];
    char *serial = cert ? cert_serial_number(cert) : NULL;
    if (serial && strcmp(serial, oin) != 0) {
        snprintf(path, sizeof(path), "saml.%s.cert", section);
        zr_cfg_error(root->ld, at ? at : saml, path,
                     "the %s certificate is for OIN %s (subject serialNumber), the cluster for OIN %s", what,
                     serial, oin);
    }
    free(serial);
}

void zr_cfg_read_cluster(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"entity_id", "oin", "name", NULL};
    zr_cluster_config_t *c = &cfg->cluster;
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *v = zr_cfg_map_get(root, "cluster");
    zr_cfg_map_t m;
    char oin[21] = "";
    int index = 0, entity_ok = 0, oin_ok = 0;
    if (!v) {
        /* `cluster:` left empty must not silently mean a direct connection. */
        yaml_node_t *k = zr_cfg_map_key(root, "cluster");
        if (k)
            zr_cfg_error(ld, k, "cluster", "must be a mapping with entity_id and oin (or be left out)");
        return;
    }
    c->enabled = 1;
    if (zr_cfg_map_open(ld, v, "cluster", keys, &m) != 0)
        return;
    if (zr_cfg_get_str(&m, "oin", 1, &c->oin) == 1) {
        oin_ok = zr_cfg_digits(c->oin, 20);
        if (!oin_ok)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "oin"), "cluster.oin", "must be the 20-digit OIN (write it in quotes)");
    }
    if (zr_cfg_get_str(&m, "entity_id", 1, &c->entity_id) == 1) {
        v = zr_cfg_map_get(&m, "entity_id");
        entity_ok = zr_cfg_entity_id_parse(c->entity_id, "LC", oin, &index) == 0;
        if (!entity_ok)
            zr_cfg_error(ld, v, "cluster.entity_id",
                         "must look like urn:nl-eid-gdi:1.0:LC:<OIN, 20 digits>:entities:<4 digits>");
        else if (ld->env == ZR_ENV_PRODUCTION && index >= 9000)
            zr_cfg_error(ld, v, "cluster.entity_id",
                         "entity index %04d is reserved for test and refused in production", index);
        if (entity_ok && oin_ok && strcmp(oin, c->oin) != 0)
            zr_cfg_error(ld, v, "cluster.entity_id", "the OIN in the entity ID (%s) differs from oin (%s)", oin,
                         c->oin);
    }
    zr_cfg_get_str(&m, "name", 0, &c->name);
    if (oin_ok) {
        check_cert_oin(root, cfg->saml_signing.cert, "signing", "signing", c->oin);
        check_cert_oin(root, cfg->saml_tls_client.cert, "tls_client", "TLS client", c->oin);
    }
}

void zr_cfg_free_cluster(zr_config_t *cfg)
{
    zr_release(cfg->cluster.entity_id);
    zr_release(cfg->cluster.oin);
    zr_release(cfg->cluster.name);
    cfg->cluster.enabled = 0;
}
