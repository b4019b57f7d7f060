/* The `audit_log:` section (issue 16 §3): where the NEN 7513 audit stream
 * goes and the key of its pseudonyms (include/zr/audit.h). */
#include "config_internal.h"

#include <openssl/crypto.h>

#include "zr/crypto.h"
#include "zr/util.h"

void zr_cfg_read_audit_log(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"file", "subject_key_file", "on_failure", NULL};
    static const char *const on_failure[] = {"continue", "refuse", NULL};
    static const char label[] = "zorgrelay audit subject key v1";
    zr_audit_log_config_t *al = &cfg->audit_log;
    yaml_node_t *v = zr_cfg_map_get(root, "audit_log");
    zr_cfg_map_t m;
    char err[256];
    int refuse = 1;

    /* Default first: a key of its own, separated from the pairwise subjects,
     * the log pseudonyms and the decision log by the label. */
    if (zr_crypto_hmac_sha256(cfg->oidc.pairwise_secret, sizeof(cfg->oidc.pairwise_secret), (const uint8_t *)label,
                              sizeof(label) - 1, al->subject_key) != 0)
        zr_cfg_error(root->ld, v, "audit_log", "cannot derive the subject key");
    if (!v)
        return; /* no audit stream */
    if (zr_cfg_map_open(root->ld, v, "audit_log", keys, &m) != 0)
        return;
    zr_cfg_get_path(&m, "file", 1, &al->file);
    /* Fail closed unless the operator chose otherwise. */
    zr_cfg_get_enum(&m, "on_failure", 0, on_failure, &refuse);
    al->refuse = refuse;
    if (zr_cfg_get_path(&m, "subject_key_file", 0, &al->subject_key_file) == 1) {
        if (zr_crypto_load_secret(al->subject_key_file, al->subject_key, err, sizeof(err)) != 0)
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "subject_key_file"), "audit_log.subject_key_file", "%s", err);
        else
            zr_cfg_check_file_mode(&m, "subject_key_file", al->subject_key_file);
    }
}

void zr_cfg_free_audit_log(zr_config_t *cfg)
{
    zr_release(cfg->audit_log.file);
    zr_release(cfg->audit_log.subject_key_file);
    OPENSSL_cleanse(cfg->audit_log.subject_key, sizeof(cfg->audit_log.subject_key));
}
