/* Care providers (tenants): levels of assurance and lookups of a tenant's
 * services and BSN decryption keys. */
#include "zr/tenant.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    zr_loa_t loa;
    const char *host;   /* compared case-insensitively */
    const char *path;   /* compared exactly */
    const char *uri;    /* canonical form, as ST-SAML writes it */
    const char *name;
    const char *alias[3];
} loa_def_t;

/* ST-SAML §Levels of assurance. The spec writes eID.logius.nl, its examples
 * eid.logius.nl: scheme and host are case-insensitive (RFC 3986 §6.2.2.1). */
static const loa_def_t loa_defs[] = {
    {ZR_LOA_BASIC, "eid.logius.nl", "/LoA/basic", "http://eID.logius.nl/LoA/basic", "basic",
     {"basis", NULL, NULL}},
    {ZR_LOA_LOW, "eidas.europa.eu", "/LoA/low", "http://eidas.europa.eu/LoA/low", "low",
     {"midden", NULL, NULL}},
    {ZR_LOA_SUBSTANTIAL, "eidas.europa.eu", "/LoA/substantial", "http://eidas.europa.eu/LoA/substantial",
     "substantial", {"substantieel", NULL, NULL}},
    {ZR_LOA_HIGH, "eidas.europa.eu", "/LoA/high", "http://eidas.europa.eu/LoA/high", "high",
     {"hoog", NULL, NULL}},
};
#define LOA_COUNT (sizeof(loa_defs) / sizeof(loa_defs[0]))

static zr_loa_t loa_match(const char *s, size_t len)
{
    static const char scheme[] = "http://";
    const size_t slen = sizeof(scheme) - 1;
    for (size_t i = 0; i < LOA_COUNT; i++) {
        const loa_def_t *d = &loa_defs[i];
        size_t hlen = strlen(d->host), plen = strlen(d->path);
        if (len == strlen(d->name) && !strncasecmp(s, d->name, len))
            return d->loa;
        for (size_t a = 0; d->alias[a]; a++)
            if (len == strlen(d->alias[a]) && !strncasecmp(s, d->alias[a], len))
                return d->loa;
        if (len == slen + hlen + plen && !strncasecmp(s, scheme, slen) &&
            !strncasecmp(s + slen, d->host, hlen) && !strncmp(s + slen + hlen, d->path, plen))
            return d->loa;
    }
    return ZR_LOA_NONE;
}

zr_loa_t zr_loa_parse(const char *s)
{
    size_t len;
    if (!s)
        return ZR_LOA_NONE;
    while (isspace((unsigned char)*s))
        s++;
    len = strlen(s);
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    return loa_match(s, len);
}

const char *zr_loa_uri(zr_loa_t loa)
{
    for (size_t i = 0; i < LOA_COUNT; i++)
        if (loa_defs[i].loa == loa)
            return loa_defs[i].uri;
    return NULL;
}

const char *zr_loa_name(zr_loa_t loa)
{
    for (size_t i = 0; i < LOA_COUNT; i++)
        if (loa_defs[i].loa == loa)
            return loa_defs[i].name;
    return "none";
}

const zr_tenant_service_t *zr_tenant_service_for_loa(const zr_tenant_t *t, zr_loa_t wanted)
{
    const zr_tenant_service_t *best = NULL;
    if (!t)
        return NULL;
    for (size_t i = 0; i < t->service_count; i++) {
        const zr_tenant_service_t *s = &t->services[i];
        if (s->min_loa >= wanted && (!best || s->min_loa < best->min_loa))
            best = s;
    }
    return best;
}

const zr_tenant_key_t *zr_tenant_find_bsn_key(const zr_tenant_t *t, const char *key_name)
{
    /* Fail closed: a quarantined provider's keys decrypt nothing. */
    if (!t || !key_name || t->quarantined)
        return NULL;
    /* KeyName is a hex digest; TVS may write it in either case. */
    for (size_t i = 0; i < t->bsn_key_count && i < 2; i++) {
        const zr_tenant_key_t *k = &t->bsn_keys[i];
        if ((k->key_name && !strcasecmp(k->key_name, key_name)) ||
            (k->key_name_sha256 && !strcasecmp(k->key_name_sha256, key_name)))
            return k;
    }
    return NULL;
}

/* Reasons are the loader's lines; their messages (not their paths) say
 * what kind of problem it is. Most specific first. */
static const struct {
    const char *contains;
    const char *summary;
} quarantine_kinds[] = {
    {" expired on ", "BSN certificate expired"},
    {" is not valid before ", "BSN certificate not yet valid"},
    {"YAML syntax error", "YAML syntax error in its file"},
    /* The directory scan's refusals (zr_config_tenant_dir_scan). */
    {": a symbolic link to ", "its file is a symbolic link that cannot be used"},
    {"care provider files end in .yaml or .yml", "its file name is not lower-case .yaml or .yml"},
    {"a care provider file is at most", "its file is larger than 1 MiB"},
    {"a directory, not a care provider file", "its file is not a regular file"},
    {"not a regular file", "its file is not a regular file"},
    {"cannot be read (", "file unreadable"},
    {"does not belong to the certificate", "private key does not match the certificate"},
    {"open to group or others", "private key file open to group or others"},
    {"keyEncipherment", "certificate does not allow keyEncipherment"},
    {"private key", "private key missing or unreadable"},
    {"certificate", "certificate missing or unreadable"},
    {" bits; at least ", "key too weak"},
    {"must be an RSA key", "key is not RSA"},
    {"cannot read the configuration file", "file unreadable"},
};

const char *zr_tenant_quarantine_summary(const zr_tenant_t *t, char *buf, size_t len)
{
    const char *first = t && t->quarantine_reason_count ? t->quarantine_reasons[0] : NULL;
    const char *kind = "error in its configuration";
    if (!buf || !len)
        return "";
    buf[0] = '\0';
    if (!t || !t->quarantined)
        return buf;
    for (size_t i = 0; first && i < sizeof(quarantine_kinds) / sizeof(quarantine_kinds[0]); i++)
        if (strstr(first, quarantine_kinds[i].contains)) {
            kind = quarantine_kinds[i].summary;
            break;
        }
    if (t->quarantine_reason_count > 1)
        snprintf(buf, len, "%s (+%zu more)", kind, t->quarantine_reason_count - 1);
    else
        snprintf(buf, len, "%s", kind);
    return buf;
}
