/* The care_providers section: one zr_tenant_t per care provider (DV), with
 * its TVS services and its BSN decryption keys. */
#include "config_internal.h"

#include <ctype.h>
#include <openssl/err.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "zr/crypto.h"
#include "zr/util.h"

int zr_cfg_tenant_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
            return 0;
    return 1;
}

static void read_service(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, size_t index,
                         const zr_tenant_t *t, zr_tenant_service_t *s)
{
    static const char *const keys[] = {"loa", "service_uuid", "attribute_consuming_service_index", "name", NULL};
    zr_cfg_map_t m;
    char *loa = NULL, kpath[ZR_CFG_PATH_MAX];
    long n;
    s->attribute_consuming_service_index = (int)index;
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        return;
    if (zr_cfg_get_str(&m, "loa", 1, &loa) == 1 && (s->min_loa = zr_loa_parse(loa)) == ZR_LOA_NONE) {
        zr_cfg_path_key(kpath, path, "loa");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "loa"), kpath,
                     "'%s' is not a level of assurance (basic, low, substantial, high, or its URI)", loa);
    }
    free(loa);
    if (zr_cfg_get_str(&m, "service_uuid", 1, &s->service_uuid) == 1) {
        /* Registered values are often pasted with spaces around them. */
        zr_str_trim(s->service_uuid);
        if (!zr_cfg_uuid_valid(s->service_uuid)) {
            zr_cfg_path_key(kpath, path, "service_uuid");
            zr_cfg_error(ld, zr_cfg_map_get(&m, "service_uuid"), kpath,
                         "must be a UUID (8-4-4-4-12 hex digits) as registered at TVS");
        }
    }
    if (zr_cfg_get_int(&m, "attribute_consuming_service_index", 0, 0, 65535, &n) == 1)
        s->attribute_consuming_service_index = (int)n;
    zr_cfg_get_str(&m, "name", 0, &s->name);
    if (!s->name)
        s->name = strdup(t->name ? t->name : t->id ? t->id : "");
}

/* ST-SAML: one ServiceUUID per minimum LoA, each its own
 * AttributeConsumingService in our metadata. */
static void check_services(zr_cfg_loader_t *ld, yaml_node_t *seq, const char *spath, const zr_tenant_t *t)
{
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    for (size_t i = 0; i < t->service_count; i++) {
        yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
        const zr_tenant_service_t *s = &t->services[i];
        zr_cfg_map_t m = {.ld = ld, .node = item && item->type == YAML_MAPPING_NODE ? item : NULL};
        yaml_node_t *loa_at = zr_cfg_map_get(&m, "loa"), *index_at = zr_cfg_map_get(&m, "attribute_consuming_service_index");
        zr_cfg_path_index(ipath, spath, i);
        for (size_t j = 0; j < i; j++) {
            const zr_tenant_service_t *o = &t->services[j];
            if (s->min_loa != ZR_LOA_NONE && s->min_loa == o->min_loa) {
                zr_cfg_path_key(kpath, ipath, "loa");
                zr_cfg_error(ld, loa_at ? loa_at : item, kpath, "LoA %s already has a service (%s[%zu]); one ServiceUUID per LoA",
                             zr_loa_name(s->min_loa), spath, j);
            }
            if (s->attribute_consuming_service_index == o->attribute_consuming_service_index) {
                zr_cfg_path_key(kpath, ipath, "attribute_consuming_service_index");
                zr_cfg_error(ld, index_at ? index_at : item, kpath, "index %d is already used by %s[%zu]",
                             s->attribute_consuming_service_index, spath, j);
            }
        }
    }
}

/* Loads the files only; `tenants validate` judges them and reports all
 * problems at once, a former provider's expired key is kept for the record. */
static int load_keypair_lenient(const zr_cfg_map_t *km, zr_tenant_key_t *k)
{
    char kpath[ZR_CFG_PATH_MAX], err[512];
    int rc = 0;
    if (zr_cfg_get_path(km, "cert", 1, &k->cert_file) != 1 || zr_cfg_get_path(km, "key", 1, &k->key_file) != 1)
        return -1;
    if (!(k->cert = zr_crypto_load_certificate_ex(k->cert_file, km->ld->libctx, err, sizeof(err)))) {
        zr_cfg_path_key(kpath, km->path, "cert");
        zr_cfg_error(km->ld, zr_cfg_map_get(km, "cert"), kpath, "%s", err);
        rc = -1;
    }
    if (!(k->key = zr_cfg_load_private_key(km->ld, k->key_file, err, sizeof(err)))) {
        zr_cfg_path_key(kpath, km->path, "key");
        zr_cfg_error(km->ld, zr_cfg_map_get(km, "key"), kpath, "%s", err);
        rc = -1;
    } else if (zr_cfg_check_file_mode(km, "key", k->key_file) != 0) {
        /* Not judged, but a former provider's key is still a secret. */
        rc = -1;
    }
    return rc;
}

/* zr_config_load_reusing (issue 14 §2): a BSN key the configuration in use
 * already holds for this care provider -- the same certificate and key,
 * checked like any other -- is shared with it instead of held twice. Then
 * a reload's new configuration holds few large objects of its own: the
 * certificates and keys, most of a provider's memory, stay where the first
 * load put them, and the replaced configuration leaves no holes between
 * them that the allocator could not give back. */
static void share_bsn_key(const zr_cfg_loader_t *ld, const zr_tenant_t *t, zr_tenant_key_t *k)
{
    const zr_tenant_t *prev = ld->reuse && t->id ? zr_config_find_tenant(ld->reuse, t->id) : NULL;
    for (size_t j = 0; prev && j < prev->bsn_key_count && j < 2; j++) {
        const zr_tenant_key_t *p = &prev->bsn_keys[j];
        if (!p->cert || !p->key || p->cert == k->cert || X509_cmp(p->cert, k->cert) != 0 ||
            EVP_PKEY_eq(p->key, k->key) != 1)
            continue;
        if (X509_up_ref(p->cert) != 1)
            return;
        if (EVP_PKEY_up_ref(p->key) != 1) {
            X509_free(p->cert);
            return;
        }
        X509_free(k->cert);
        EVP_PKEY_free(k->key);
        k->cert = p->cert;
        k->key = p->key;
        return;
    }
}

/* A former provider: the certificate only, for the export's fingerprint
 * and dates. Its private key is not read (it may be gone, as it should once
 * the provider left); an unreadable certificate leaves cert NULL and the
 * export takes the ledger's record. */
static void load_cert_former(const zr_cfg_map_t *km, zr_tenant_key_t *k)
{
    char err[512];
    if (zr_cfg_get_path(km, "cert", 1, &k->cert_file) == 1 &&
        !(k->cert = zr_crypto_load_certificate_ex(k->cert_file, km->ld->libctx, err, sizeof(err))))
        ERR_clear_error(); /* not an error here: leave nothing for the next OpenSSL call to find */
}

/* One BSN key pair, judged. With `material` (an inline entry under
 * quarantine) what is wrong with the files themselves goes there: it is
 * this provider's problem, not the main file's. A missing cert or key
 * entry is the main file's. */
static int load_bsn_keypair(zr_cfg_map_t *km, zr_tenant_key_t *k, zr_config_errors_t *material)
{
    zr_cfg_loader_t *ld = km->ld;
    zr_config_errors_t *errs = ld->errs;
    size_t count = ld->error_count;
    int rc, swap = material && zr_cfg_map_get(km, "cert") && zr_cfg_map_get(km, "key");
    if (swap)
        ld->errs = material;
    rc = zr_cfg_load_keypair(km, ZR_CFG_KEY_RSA_ONLY | ZR_CFG_KEY_ENCIPHER, &k->cert_file, &k->key_file, &k->cert,
                             &k->key);
    if (swap) {
        ld->errs = errs;
        ld->error_count = count;
    }
    return rc;
}

static void read_bsn_keys(zr_cfg_map_t *tm, zr_tenant_t *t, zr_tenant_origin_t *origin,
                          zr_config_errors_t *material)
{
    static const char *const keys[] = {"cert", "key", NULL};
    zr_cfg_loader_t *ld = tm->ld;
    yaml_node_t *seq = NULL;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX];
    size_t n, i = 0;
    if (zr_cfg_get_seq(tm, "bsn_keys", 1, &seq) != 1)
        return;
    zr_cfg_path_key(kpath, tm->path, "bsn_keys");
    n = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (n < 1 || n > 2) {
        zr_cfg_error(ld, seq, kpath, "must hold one key, or two during a key rollover");
        return;
    }
    for (yaml_node_item_t *it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++, i++) {
        zr_tenant_key_t *k = &t->bsn_keys[i];
        zr_cfg_map_t km;
        zr_cfg_path_index(ipath, kpath, i);
        t->bsn_key_count = i + 1;
        if (zr_cfg_map_open(ld, zr_cfg_node(ld, *it), ipath, keys, &km) != 0)
            continue;
        if (origin)
            origin->bsn_key_line[i] = zr_cfg_line(zr_cfg_map_get(&km, "cert") ? zr_cfg_map_get(&km, "cert") : km.node);
        if (ld->former) {
            load_cert_former(&km, k);
            if (!k->cert)
                continue;
        } else if (ld->lenient_keys) {
            if (load_keypair_lenient(&km, k) != 0)
                continue;
        } else if (load_bsn_keypair(&km, k, material) != 0) {
            /* A quarantined provider's certificate is still named (export,
             * duplicates across providers); it decrypts nothing. */
            if (ld->quarantine && k->cert) {
                k->key_name = zr_crypto_cert_keyname(k->cert);
                k->key_name_sha256 = zr_crypto_cert_sha256_hex(k->cert);
            }
            continue;
        }
        if (!ld->former && !ld->lenient_keys)
            share_bsn_key(ld, t, k);
        k->key_name = zr_crypto_cert_keyname(k->cert);
        k->key_name_sha256 = zr_crypto_cert_sha256_hex(k->cert);
        if (!k->key_name || !k->key_name_sha256)
            zr_cfg_error(ld, zr_cfg_node(ld, *it), ipath, "cannot compute the certificate's KeyName");
        else if (i == 1 && t->bsn_keys[0].key_name && !strcmp(t->bsn_keys[0].key_name, k->key_name))
            zr_cfg_error(ld, zr_cfg_node(ld, *it), ipath, "the same certificate as %s[0]", kpath);
    }
}

/* YYYY-MM-DD, a real calendar date. */
static int date_valid(const char *s)
{
    struct tm tm, back;
    time_t t;
    const char *end;
    memset(&tm, 0, sizeof(tm));
    if (strlen(s) != 10 || !(end = strptime(s, "%Y-%m-%d", &tm)) || *end)
        return 0;
    back = tm;
    t = timegm(&back);
    return t != (time_t)-1 && gmtime_r(&t, &back) && back.tm_mday == tm.tm_mday && back.tm_mon == tm.tm_mon;
}

/* What the vendor keeps per provider for DICTU's aansluitbestand (issue 14
 * §3); exported, never used for a login. */
static void read_vendor_fields(zr_cfg_map_t *m, const char *path, zr_tenant_t *t)
{
    char kpath[ZR_CFG_PATH_MAX];
    if (zr_cfg_get_str(m, "kvk", 0, &t->kvk) == 1 && !zr_cfg_digits(t->kvk, 8)) {
        zr_cfg_path_key(kpath, path, "kvk");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "kvk"), kpath, "must be the 8-digit KvK number (in quotes)");
    }
    if (zr_cfg_get_str(m, "contact", 0, &t->contact) == 1) {
        size_t n = strlen(t->contact);
        int control = 0;
        for (size_t i = 0; i < n; i++)
            control |= (unsigned char)t->contact[i] < 0x20 || t->contact[i] == 0x7f;
        if (n == 0 || n > 200 || control) {
            zr_cfg_path_key(kpath, path, "contact");
            zr_cfg_error(m->ld, zr_cfg_map_get(m, "contact"), kpath,
                         "must be 1-200 characters on one line (no line breaks or control characters)");
        }
    }
    if (zr_cfg_get_str(m, "akkoordverklaring", 0, &t->akkoordverklaring) == 1 && !date_valid(t->akkoordverklaring)) {
        zr_cfg_path_key(kpath, path, "akkoordverklaring");
        zr_cfg_error(m->ld, zr_cfg_map_get(m, "akkoordverklaring"), kpath,
                     "must be the date the akkoordverklaring was signed, YYYY-MM-DD");
    }
}

static int line_of(const zr_cfg_map_t *m, const char *key)
{
    yaml_node_t *v = zr_cfg_map_get(m, key);
    return zr_cfg_line(v ? v : m->node);
}

void zr_cfg_read_tenant(zr_cfg_loader_t *ld, yaml_node_t *node, const char *path, zr_tenant_t *t,
                        zr_tenant_origin_t *origin)
{
    static const char *const keys[] = {"id", "name", "entity_id", "oin", "ura", "assertion_consumer_service_index",
                                       "services", "bsn_keys", "clients", "kvk", "contact", "akkoordverklaring",
                                       "bsn_for_authorization", "helpdesk", "logo", NULL};
    zr_cfg_map_t m;
    yaml_node_t *seq = NULL, *v;
    char kpath[ZR_CFG_PATH_MAX], ipath[ZR_CFG_PATH_MAX], oin[21] = "";
    zr_config_errors_t material = {0};
    int index = -1, entity_ok = 0;
    long n;
    if (origin) {
        origin->line = zr_cfg_line(node);
        if (!origin->file)
            origin->file = strdup(ld->file);
    }
    if (zr_cfg_map_open(ld, node, path, keys, &m) != 0)
        goto end;
    if (origin) {
        origin->id_line = line_of(&m, "id");
        origin->entity_id_line = line_of(&m, "entity_id");
        origin->oin_line = line_of(&m, "oin");
        origin->ura_line = line_of(&m, "ura");
        /* The key: a block sequence starts at its first item. */
        origin->services_line = zr_cfg_map_key(&m, "services") ? zr_cfg_line(zr_cfg_map_key(&m, "services")) : origin->line;
    }
    if (zr_cfg_get_str(&m, "id", 1, &t->id) == 1 && !zr_cfg_tenant_id_valid(t->id)) {
        zr_cfg_path_key(kpath, path, "id");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "id"), kpath, "must be 1-64 letters, digits, '.', '-' or '_'");
    }
    zr_cfg_get_str(&m, "name", 0, &t->name);
    if (!t->name && t->id)
        t->name = strdup(t->id);
    if (zr_cfg_get_str(&m, "oin", 1, &t->oin) == 1 && !zr_cfg_digits(t->oin, 20)) {
        zr_cfg_path_key(kpath, path, "oin");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "oin"), kpath, "must be the 20-digit OIN (write it in quotes)");
    }
    if (zr_cfg_get_str(&m, "entity_id", 1, &t->entity_id) == 1) {
        v = zr_cfg_map_get(&m, "entity_id");
        zr_cfg_path_key(kpath, path, "entity_id");
        /* A care provider is always a DV; the LC is the vendor (`cluster:`). */
        if (zr_cfg_entity_id_parse(t->entity_id, "DV", oin, &index) != 0)
            zr_cfg_error(ld, v, kpath, "must look like urn:nl-eid-gdi:1.0:DV:<OIN, 20 digits>:entities:<4 digits>");
        else
            entity_ok = 1;
        if (entity_ok && t->oin && zr_cfg_digits(t->oin, 20) && strcmp(oin, t->oin) != 0)
            zr_cfg_error(ld, v, kpath, "the OIN in the entity ID (%s) differs from oin (%s)", oin, t->oin);
        /* eID SAML: entity indexes 9000-9999 are test registrations. */
        if (entity_ok && ld->env == ZR_ENV_PRODUCTION && index >= 9000)
            zr_cfg_error(ld, v, kpath, "entity index %04d is reserved for test and refused in production", index);
    }
    if (zr_cfg_get_str(&m, "ura", 0, &t->ura) == 1 && !zr_cfg_digits(t->ura, 8)) {
        zr_cfg_path_key(kpath, path, "ura");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "ura"), kpath, "must be the 8-digit URA number (in quotes)");
    }
    /* The Wbsn-z entitles care providers, known by their URA. */
    if (zr_cfg_get_bool(&m, "bsn_for_authorization", &t->bsn_for_authorization) == 1 && t->bsn_for_authorization &&
        !zr_cfg_map_get(&m, "ura")) {
        zr_cfg_path_key(kpath, path, "bsn_for_authorization");
        zr_cfg_error(ld, zr_cfg_map_get(&m, "bsn_for_authorization"), kpath,
                     "needs the care provider's ura: only a care provider in the UZI register is entitled to the BSN");
    }
    if (zr_cfg_get_int(&m, "assertion_consumer_service_index", 0, 0, 65535, &n) == 1)
        t->assertion_consumer_service_index = (int)n;
    read_vendor_fields(&m, path, t);
    zr_cfg_read_helpdesk(&m, &t->helpdesk);
    /* A former provider's logo is never shown: its file may be gone. */
    if (t->id && !ld->former) {
        char *src = NULL;
        /* the id is [A-Za-z0-9._-]: safe in a query string as it is */
        if (asprintf(&src, "/logo?cp=%s", t->id) >= 0) {
            zr_cfg_read_logo(&m, src, &t->logo);
            free(src);
        }
    }

    if (zr_cfg_get_seq(&m, "services", 1, &seq) == 1) {
        size_t count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
        zr_cfg_path_key(kpath, path, "services");
        if (count == 0) {
            zr_cfg_error(ld, seq, kpath, "must list at least one service (ServiceUUID)");
        } else if ((t->services = calloc(count, sizeof(*t->services))) != NULL) {
            for (size_t i = 0; i < count; i++) {
                zr_cfg_path_index(ipath, kpath, i);
                t->service_count = i + 1;
                read_service(ld, zr_cfg_node(ld, seq->data.sequence.items.start[i]), ipath, i, t, &t->services[i]);
            }
            check_services(ld, seq, kpath, t);
        }
    }
    /* An inline entry's key files are its own problem under quarantine; a
     * file of its own is judged whole by its reader (tenant_dir.c). */
    read_bsn_keys(&m, t, origin, ld->quarantine && *path ? &material : NULL);
    /* A care provider's own file may carry its portals (issue 3): onboarding
     * is then adding one file. Inline entries use the top-level list. */
    if (zr_cfg_get_seq(&m, "clients", 0, &seq) == 1) {
        if (*path) {
            zr_cfg_error(ld, zr_cfg_map_key(&m, "clients"), path,
                         "clients: only a care provider's own file (care_providers_dir) lists clients; use the "
                         "top-level clients list");
        } else {
            /* Counted apart: a quarantined file's clients are kept only when they are sound. */
            size_t before = ld->error_count;
            zr_cfg_read_owned_clients(ld, seq, t->id);
            ld->client_errors += ld->error_count - before;
        }
    }
    if (material.count && zr_cfg_quarantine_tenant(t, NULL, &material) != 0)
        zr_cfg_error(ld, node, path, "out of memory");
    free(t->fingerprint);
    t->fingerprint = zr_cfg_tenant_fingerprint(t);
end:
    zr_config_errors_free(&material);
}

/* One field as "tag=length:value;" (or "tag=-;" when unset): no value can
 * be mistaken for another field, whatever characters it holds. */
static int fp_field(zr_buf_t *b, const char *tag, const char *value)
{
    if (value)
        return zr_buf_printf(b, "%s=%zu:%s;", tag, strlen(value), value);
    return zr_buf_printf(b, "%s=-;", tag);
}

char *zr_cfg_tenant_fingerprint(const zr_tenant_t *t)
{
    zr_buf_t b;
    uint8_t digest[32];
    char *out = NULL;
    int rc = 0;
    zr_buf_init(&b);
    rc |= zr_buf_appends(&b, "zorgrelay-tenant-v1;");
    rc |= fp_field(&b, "id", t->id);
    rc |= fp_field(&b, "entity_id", t->entity_id);
    rc |= fp_field(&b, "oin", t->oin);
    rc |= zr_buf_printf(&b, "acs=%d;services=%zu;", t->assertion_consumer_service_index, t->service_count);
    for (size_t i = 0; t->services && i < t->service_count; i++) {
        const zr_tenant_service_t *s = &t->services[i];
        rc |= zr_buf_printf(&b, "loa=%d;acs_index=%d;", (int)s->min_loa, s->attribute_consuming_service_index);
        rc |= fp_field(&b, "uuid", s->service_uuid);
    }
    rc |= zr_buf_printf(&b, "keys=%zu;", t->bsn_key_count);
    for (size_t i = 0; i < t->bsn_key_count && i < 2; i++)
        rc |= fp_field(&b, "cert_sha256", t->bsn_keys[i].key_name_sha256);
    /* Fail closed: no fingerprint rather than one over half the fields. */
    if (rc == 0 && b.data && zr_crypto_sha256((const uint8_t *)b.data, b.len, digest) == 0)
        out = zr_hex_encode(digest, sizeof(digest));
    zr_buf_free(&b);
    return out;
}

void zr_cfg_read_tenants(zr_cfg_map_t *root, zr_config_t *cfg)
{
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *seq = NULL;
    char ipath[ZR_CFG_PATH_MAX], kpath[ZR_CFG_PATH_MAX];
    zr_cfg_hash_t by_id = {0}, by_entity = {0}, by_uuid = {0};
    size_t count = 0;
    /* With care_providers_dir the inline list is optional; the directory
     * reader then demands at least one provider in total. */
    int has_dir = zr_cfg_map_get(root, "care_providers_dir") != NULL;
    if (zr_cfg_get_seq(root, "care_providers", !has_dir, &seq) != 1)
        goto dirs;
    count = (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
    if (count == 0 && !has_dir) {
        zr_cfg_error(ld, seq, "care_providers", "must list at least one care provider");
        return;
    }
    if (count == 0)
        goto dirs;
    if (!(cfg->tenants = calloc(count, sizeof(*cfg->tenants))) ||
        !(cfg->tenant_origins = calloc(count, sizeof(*cfg->tenant_origins)))) {
        zr_cfg_error(ld, seq, "care_providers", "out of memory");
        return;
    }
    if (zr_cfg_hash_init(&by_id, count, 0) != 0 || zr_cfg_hash_init(&by_entity, count, 0) != 0 ||
        zr_cfg_hash_init(&by_uuid, count * 2, 1) != 0) {
        zr_cfg_error(ld, seq, "care_providers", "out of memory");
        goto end;
    }
    /* Each value is compared with the first earlier entry that has it. */
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zr_cfg_node(ld, seq->data.sequence.items.start[i]);
        zr_tenant_t *t = &cfg->tenants[i];
        size_t *slot;
        int found;
        zr_cfg_path_index(ipath, "care_providers", i);
        cfg->tenant_count = i + 1;
        zr_cfg_read_tenant(ld, item, ipath, t, &cfg->tenant_origins[i]);
        if (t->id && (slot = zr_cfg_hash_slot(&by_id, t->id, &found)) != NULL) {
            if (found) {
                zr_cfg_path_key(kpath, ipath, "id");
                zr_cfg_error(ld, item, kpath, "duplicate care provider id '%s' (also care_providers[%zu])", t->id,
                             *slot);
            } else {
                *slot = i;
            }
        }
        if (t->entity_id && (slot = zr_cfg_hash_slot(&by_entity, t->entity_id, &found)) != NULL) {
            if (found) {
                zr_cfg_path_key(kpath, ipath, "entity_id");
                zr_cfg_error(ld, item, kpath, "the same entity ID as care_providers[%zu]", *slot);
            } else {
                *slot = i;
            }
        }
        for (size_t a = 0; a < t->service_count; a++) {
            if (!t->services[a].service_uuid ||
                !(slot = zr_cfg_hash_slot(&by_uuid, t->services[a].service_uuid, &found)))
                continue;
            if (!found) {
                *slot = i;
            } else if (*slot != i) {
                char spath[ZR_CFG_PATH_MAX];
                zr_cfg_path_key(kpath, ipath, "services");
                zr_cfg_path_index(spath, kpath, a);
                zr_cfg_error(ld, item, spath, "service_uuid: already used by care_providers[%zu]", *slot);
            }
        }
    }
dirs:
    zr_cfg_read_tenant_dirs(root, cfg, count);
end:
    zr_cfg_hash_free(&by_id);
    zr_cfg_hash_free(&by_entity);
    zr_cfg_hash_free(&by_uuid);
}

static void tenant_key_free(zr_tenant_key_t *k)
{
    zr_release(k->cert_file);
    zr_release(k->key_file);
    zr_release(k->key_name);
    zr_release(k->key_name_sha256);
    X509_free(k->cert);
    k->cert = NULL;
    EVP_PKEY_free(k->key);
    k->key = NULL;
}

void zr_cfg_free_tenants(zr_config_t *cfg)
{
    zr_cfg_tenants_free(cfg->tenants, cfg->tenant_origins, cfg->tenant_count);
    cfg->tenants = NULL;
    cfg->tenant_origins = NULL;
    cfg->tenant_count = 0;
    zr_cfg_tenants_free(cfg->former_tenants, cfg->former_tenant_origins, cfg->former_tenant_count);
    cfg->former_tenants = NULL;
    cfg->former_tenant_origins = NULL;
    cfg->former_tenant_count = 0;
    zr_release(cfg->care_providers_dir);
    zr_release(cfg->former_care_providers_dir);
    zr_release(cfg->care_providers_ledger);
}

void zr_cfg_tenants_free(zr_tenant_t *tenants, zr_tenant_origin_t *origins, size_t count)
{
    for (size_t i = 0; origins && i < count; i++)
        free(origins[i].file);
    free(origins);
    for (size_t i = 0; tenants && i < count; i++) {
        zr_tenant_t *t = &tenants[i];
        free(t->id);
        free(t->name);
        free(t->entity_id);
        free(t->oin);
        free(t->ura);
        free(t->kvk);
        free(t->contact);
        free(t->akkoordverklaring);
        zr_cfg_helpdesk_free(&t->helpdesk);
        zr_cfg_logo_free(&t->logo);
        for (size_t s = 0; t->services && s < t->service_count; s++) {
            free(t->services[s].service_uuid);
            free(t->services[s].name);
        }
        free(t->services);
        free(t->fingerprint);
        for (size_t r = 0; r < t->quarantine_reason_count; r++)
            free(t->quarantine_reasons[r]);
        free(t->quarantine_reasons);
        for (size_t k = 0; k < 2; k++)
            tenant_key_free(&t->bsn_keys[k]);
    }
    free(tenants);
}
