/* Checks on a batch of care providers (`tenants validate`): everything that
 * DICTU or TVS would otherwise find weeks later, reported all at once. */
#include "zr/tenant_check.h"

#include <limits.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/crypto.h"
#include "zr/util.h"

void zr_tenant_report_add(zr_tenant_report_t *r, zr_tenant_severity_t sev, const char *file, int line,
                          const char *key, const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL, *out = NULL, **lines;
    zr_tenant_severity_t *sevs;
    int n;
    va_start(ap, fmt);
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    if (!msg)
        goto end;
    if (!file && line < 0) /* an already formed line */
        n = asprintf(&out, "%s", msg);
    else if (line > 0)
        n = asprintf(&out, "%s:%d: %s%s%s%s", file ? file : "?", line, key ? key : "", key ? ": " : "",
                     sev == ZR_TENANT_WARNING ? "warning: " : "", msg);
    else
        n = asprintf(&out, "%s: %s%s%s%s", file ? file : "?", key ? key : "", key ? ": " : "",
                     sev == ZR_TENANT_WARNING ? "warning: " : "", msg);
    if (n < 0) {
        out = NULL;
        goto end;
    }
    if (!(lines = realloc(r->lines, (r->count + 1) * sizeof(*lines))))
        goto end;
    r->lines = lines;
    if (!(sevs = realloc(r->severity, (r->count + 1) * sizeof(*sevs))))
        goto end;
    r->severity = sevs;
    r->lines[r->count] = out;
    r->severity[r->count++] = sev;
    out = NULL;
end:
    /* A line lost to memory shortage must still fail the run. */
    if (sev == ZR_TENANT_WARNING)
        r->warnings++;
    else
        r->errors++;
    free(msg);
    free(out);
}

void zr_tenant_report_free(zr_tenant_report_t *r)
{
    for (size_t i = 0; r && i < r->count; i++)
        free(r->lines[i]);
    if (r) {
        free(r->lines);
        free(r->severity);
        free(r->file_index);
        memset(r, 0, sizeof(*r));
    }
}

/* A prefix of a line (len bytes) against a file name, for bsearch. */
typedef struct {
    const char *s;
    size_t len;
} prefix_t;

static int prefix_cmp(const void *key, const void *member)
{
    const prefix_t *k = key;
    const char *file = *(char *const *)member;
    int c = strncmp(k->s, file, k->len);
    if (c)
        return c;
    return file[k->len] == '\0' ? 0 : -1; /* shorter sorts first */
}

typedef struct {
    size_t file, pos;
    long line;
} placed_t;

static int placed_cmp(const void *a, const void *b)
{
    const placed_t *x = a, *y = b;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

int zr_tenant_report_group(zr_tenant_report_t *r, char *const *files, size_t count)
{
    placed_t *at = NULL;
    char **lines = NULL;
    zr_tenant_severity_t *sevs = NULL;
    size_t *index = NULL;
    int rc = -1;
    if (!r->count)
        return 0;
    at = calloc(r->count, sizeof(*at));
    lines = calloc(r->count, sizeof(*lines));
    sevs = calloc(r->count, sizeof(*sevs));
    index = calloc(r->count, sizeof(*index));
    if (!at || !lines || !sevs || !index)
        goto end;
    for (size_t i = 0; i < r->count; i++) {
        const char *line = r->lines[i], *rest = NULL;
        at[i] = (placed_t){SIZE_MAX, i, 0};
        /* File names may hold ':' themselves: try every one, keep the longest. */
        for (const char *colon = strchr(line, ':'); colon; colon = strchr(colon + 1, ':')) {
            prefix_t k = {line, (size_t)(colon - line)};
            char *const *hit = count ? bsearch(&k, files, count, sizeof(*files), prefix_cmp) : NULL;
            if (hit) {
                at[i].file = (size_t)(hit - files);
                rest = colon + 1;
            }
        }
        if (rest && *rest >= '0' && *rest <= '9')
            at[i].line = strtol(rest, NULL, 10);
    }
    qsort(at, r->count, sizeof(*at), placed_cmp);
    for (size_t i = 0; i < r->count; i++) {
        lines[i] = r->lines[at[i].pos];
        sevs[i] = r->severity[at[i].pos];
        index[i] = at[i].file;
    }
    free(r->lines);
    free(r->severity);
    free(r->file_index);
    r->lines = lines;
    r->severity = sevs;
    r->file_index = index;
    lines = NULL;
    sevs = NULL;
    index = NULL;
    rc = 0;
end:
    free(at);
    free(lines);
    free(sevs);
    free(index);
    return rc;
}

int zr_tenant_entity_id_parse(const char *entity_id, char oin[21], int *index)
{
    static const char prefix[] = "urn:nl-eid-gdi:1.0:";
    const char *p;
    if (!entity_id || strncmp(entity_id, prefix, sizeof(prefix) - 1) != 0)
        return -1;
    p = entity_id + sizeof(prefix) - 1;
    if (strncmp(p, "DV:", 3) != 0) /* care providers are DVs */
        return -1;
    p += 3;
    for (int i = 0; i < 20; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    memcpy(oin, p, 20);
    oin[20] = '\0';
    p += 20;
    if (strncmp(p, ":entities:", 10) != 0)
        return -1;
    p += 10;
    for (int i = 0; i < 4; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    if (p[4] != '\0')
        return -1;
    *index = atoi(p);
    return 0;
}

/* The 20-digit OIN that is the subject attribute nid, or with prefixed
 * also its "<5 characters>-<OIN>" form. */
static int subject_oin(X509 *cert, int nid, int prefixed, char oin[21])
{
    const X509_NAME *name = cert ? X509_get_subject_name(cert) : NULL;
    int pos = name ? X509_NAME_get_index_by_NID(name, nid, -1) : -1;
    const ASN1_STRING *value;
    const unsigned char *data;
    int len;
    if (pos < 0)
        return -1;
    value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, pos));
    data = ASN1_STRING_get0_data(value);
    len = ASN1_STRING_length(value);
    if (!data || (len != 20 && !(prefixed && len == 26 && data[5] == '-')))
        return -1;
    data += len - 20;
    for (int i = 0; i < 20; i++)
        if (data[i] < '0' || data[i] > '9')
            return -1;
    memcpy(oin, data, 20);
    oin[20] = '\0';
    return 0;
}

int zr_tenant_cert_oin(X509 *cert, char oin[21])
{
    return subject_oin(cert, NID_serialNumber, 0, oin);
}

int zr_tenant_cert_organization_oin(X509 *cert, char oin[21])
{
    return subject_oin(cert, NID_organizationIdentifier, 1, oin);
}

void zr_tenant_cert_date(const ASN1_TIME *t, char out[32])
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (ASN1_TIME_to_tm(t, &tm) == 1)
        strftime(out, 32, "%Y-%m-%d", &tm);
    else
        snprintf(out, 32, "(unreadable date)");
}

static X509_STORE *store_of(STACK_OF(X509) *ca)
{
    X509_STORE *store = X509_STORE_new();
    for (int i = 0; store && i < sk_X509_num(ca); i++)
        if (X509_STORE_add_cert(store, sk_X509_value(ca, i)) != 1) {
            X509_STORE_free(store);
            store = NULL;
        }
    ERR_clear_error();
    return store;
}

/* Chain only: validity dates are reported on their own, with the date. */
static int chains_to(X509 *cert, X509_STORE *store, const char **why)
{
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    int ok = 0;
    *why = "cannot set up verification";
    if (!store || !ctx)
        goto end;
    if (X509_STORE_CTX_init(ctx, store, cert, NULL) != 1)
        goto end;
    /* The CA given may be an intermediate (PKIoverheid Private Services). */
    X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME | X509_V_FLAG_PARTIAL_CHAIN);
    ok = X509_verify_cert(ctx) == 1;
    if (!ok)
        *why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
end:
    X509_STORE_CTX_free(ctx);
    ERR_clear_error();
    return ok;
}

static void check_key(const zr_tenant_t *t, size_t index, const zr_tenant_origin_t *origin,
                      const zr_tenant_check_opts_t *opts, X509_STORE *store, zr_tenant_report_t *r);

void zr_tenant_check_key(const zr_tenant_t *t, size_t index, const zr_tenant_origin_t *origin,
                         const zr_tenant_check_opts_t *opts, zr_tenant_report_t *r)
{
    X509_STORE *store = opts->ca ? store_of(opts->ca) : NULL;
    check_key(t, index, origin, opts, store, r);
    X509_STORE_free(store);
}

/* As the relay's loader judges a private key file, so that a batch that
 * passes here also starts there. */
static void check_key_file_mode(const char *key_file, const char *file, int line, size_t index,
                                const zr_tenant_check_opts_t *opts, zr_tenant_report_t *r)
{
    char key[40], why[2 * PATH_MAX + 128]; /* two paths: never truncated */
    int rc = zr_config_key_file_mode(key_file, opts->environment, why, sizeof(why));
    if (rc == 0)
        return;
    snprintf(key, sizeof(key), "bsn_keys[%zu].key", index);
    zr_tenant_report_add(r, rc < 0 ? ZR_TENANT_ERROR : ZR_TENANT_WARNING, file, line, key, "%s", why);
}

/* store: opts->ca as a verification store, made once per batch. */
static void check_key(const zr_tenant_t *t, size_t index, const zr_tenant_origin_t *origin,
                      const zr_tenant_check_opts_t *opts, X509_STORE *store, zr_tenant_report_t *r)
{
    const zr_tenant_key_t *k = &t->bsn_keys[index];
    const char *file = origin ? origin->file : NULL, *why = NULL;
    int line = origin ? origin->bsn_key_line[index] : 0;
    char key[32], date[32], cert_oin[21], entity_oin[21];
    time_t now = opts->now ? opts->now : zr_time_now();
    time_t soon = now + (time_t)opts->warn_days * 86400;
    EVP_PKEY *pub;
    uint32_t usage;
    int idx = 0, days = 0, secs = 0;

    snprintf(key, sizeof(key), "bsn_keys[%zu]", index);
    check_key_file_mode(k->key_file, file, line, index, opts, r);
    if (!k->cert)
        return; /* unreadable: the loader said so */
    if (k->key && !zr_crypto_key_matches_cert(k->key, k->cert))
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "the private key %s does not belong to the certificate %s",
                             k->key_file ? k->key_file : "?", k->cert_file ? k->cert_file : "?");
    ERR_clear_error();
    pub = X509_get0_pubkey(k->cert);
    /* TVS wraps the AES key with RSA-OAEP (ST-SAML §Encryption). */
    if (!pub || EVP_PKEY_get_base_id(pub) != EVP_PKEY_RSA)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "the certificate's key is not RSA; TVS encrypts with RSA-OAEP");
    else if (EVP_PKEY_get_bits(pub) < 2048)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "RSA key of %d bits; at least 2048 are required",
                             EVP_PKEY_get_bits(pub));
    /* No keyUsage extension allows every use (RFC 5280 §4.2.1.3). */
    usage = X509_get_key_usage(k->cert);
    if (!(usage & KU_KEY_ENCIPHERMENT))
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key,
                             "keyUsage does not allow keyEncipherment%s; not an encryption certificate",
                             usage & KU_DATA_ENCIPHERMENT ? " (only dataEncipherment)" : "");
    if (zr_tenant_cert_oin(k->cert, cert_oin) != 0)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "no 20-digit OIN in the certificate subject serialNumber");
    else if (zr_tenant_entity_id_parse(t->entity_id, entity_oin, &idx) == 0 && strcmp(cert_oin, entity_oin) != 0)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key,
                             "the certificate is for OIN %s, the entity ID for OIN %s", cert_oin, entity_oin);
    if (opts->ca && !chains_to(k->cert, store, &why))
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "the certificate does not chain to the CA (%s)", why);
    if (X509_cmp_time(X509_get0_notAfter(k->cert), &now) <= 0) {
        zr_tenant_cert_date(X509_get0_notAfter(k->cert), date);
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "the certificate expired on %s", date);
    } else if (X509_cmp_time(X509_get0_notBefore(k->cert), &now) > 0) {
        zr_tenant_cert_date(X509_get0_notBefore(k->cert), date);
        zr_tenant_report_add(r, ZR_TENANT_ERROR, file, line, key, "the certificate is not valid before %s", date);
    } else if (X509_cmp_time(X509_get0_notAfter(k->cert), &soon) <= 0) {
        ASN1_TIME *at_now = ASN1_TIME_set(NULL, now);
        zr_tenant_cert_date(X509_get0_notAfter(k->cert), date);
        if (at_now && ASN1_TIME_diff(&days, &secs, at_now, X509_get0_notAfter(k->cert)) != 1)
            days = 0;
        ASN1_TIME_free(at_now);
        zr_tenant_report_add(r, ZR_TENANT_WARNING, file, line, key, "the certificate expires on %s (in %d days)", date,
                             days);
    }
}

void zr_tenant_check_entity(const zr_tenant_t *t, const zr_tenant_origin_t *origin,
                            const zr_tenant_check_opts_t *opts, zr_tenant_report_t *r)
{
    char oin[21];
    int index = 0;
    if (zr_tenant_entity_id_parse(t->entity_id, oin, &index) != 0)
        return; /* the loader reported the form */
    /* eID SAML: entity indexes 9000-9999 are test registrations. */
    if (index >= 9000 && opts->environment == ZR_ENV_PRODUCTION)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, origin ? origin->file : NULL, origin ? origin->entity_id_line : 0,
                             "entity_id", "entity index %04d is reserved for test and refused in production", index);
}

/* Uniqueness within the batch and against the configured care providers:
 * the loader's own check over [configured..., batch...] from the first
 * batch entry on, as the relay runs it when the batch is added. */
static void check_unique(const zr_tenant_set_t *set, const zr_tenant_check_opts_t *opts, zr_config_errors_t *dups,
                         zr_tenant_report_t *r)
{
    size_t first = 0, n = 0;
    zr_tenant_t *all = NULL;
    zr_tenant_origin_t *origins = NULL;

    for (size_t i = 0; i < opts->configured_count; i++)
        first += opts->configured[i].count;
    if (!first) {
        zr_config_check_tenants_unique(set->tenants, set->origins, set->count, 0, dups);
        return;
    }
    all = calloc(first + set->count, sizeof(*all));
    origins = calloc(first + set->count, sizeof(*origins));
    if (!all || !origins) {
        zr_tenant_report_add(r, ZR_TENANT_ERROR, NULL, -1, NULL, "out of memory comparing with the configured care providers");
        goto end;
    }
    /* Shallow copies: only read. */
    for (size_t i = 0; i <= opts->configured_count; i++) {
        const zr_tenant_set_t *from = i < opts->configured_count ? &opts->configured[i] : set;
        for (size_t j = 0; j < from->count; j++, n++) {
            all[n] = from->tenants[j];
            if (from->origins)
                origins[n] = from->origins[j];
        }
    }
    zr_config_check_tenants_unique(all, origins, n, first, dups);
end:
    free(all);
    free(origins);
}

void zr_tenant_check_batch(const zr_tenant_set_t *set, const char *where, const zr_tenant_check_opts_t *opts,
                           zr_tenant_report_t *r)
{
    zr_config_errors_t dups = {0};
    X509_STORE *store = opts->ca ? store_of(opts->ca) : NULL;
    for (size_t i = 0; i < set->count; i++) {
        const zr_tenant_t *t = &set->tenants[i];
        const zr_tenant_origin_t *o = set->origins ? &set->origins[i] : NULL;
        zr_tenant_check_entity(t, o, opts, r);
        for (size_t k = 0; k < t->bsn_key_count && k < 2; k++)
            check_key(t, k, o, opts, store, r);
    }
    X509_STORE_free(store);
    check_unique(set, opts, &dups, r);
    for (size_t i = 0; i < dups.count; i++)
        zr_tenant_report_add(r, ZR_TENANT_ERROR, NULL, -1, NULL, "%s", dups.lines[i]);
    if (set->count > ZR_TENANT_BATCH_MAX)
        zr_tenant_report_add(r, ZR_TENANT_WARNING, where, 0, NULL,
                             "%zu care providers; DICTU onboards batches of at most %d", set->count,
                             ZR_TENANT_BATCH_MAX);
    zr_config_errors_free(&dups);
}
