/* zr_config_load(): the YAML file mapped into zr_config_t, every value
 * checked, every key and certificate loaded (docs/configuration.md). All
 * problems are collected so an operator fixes them in one round. This file
 * holds the top level, server, redis, tvs and saml sections; care providers,
 * OIDC/clients and the mock TVS have their own files. */
#include "config_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "zr/crypto.h"
#include "zr/log.h"
#include "zr/util.h"

static const char *const env_names[] = {"development", "preprod", "production", NULL};

const char *zr_environment_name(zr_environment_t env)
{
    return env >= ZR_ENV_DEVELOPMENT && env <= ZR_ENV_PRODUCTION ? env_names[env] : "unknown";
}

int zr_cfg_check_base_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                          void *ctx)
{
    zr_cfg_url_t u;
    if (zr_cfg_url_parse(value, &u) != 0) {
        zr_cfg_error(ld, at, path, "must be an absolute http(s) URL");
        return -1;
    }
    if (u.has_query || u.has_fragment) {
        zr_cfg_error(ld, at, path, "must not have a query or fragment");
        return -1;
    }
    if (u.trailing_slash) {
        zr_cfg_error(ld, at, path, "must not end in a slash");
        return -1;
    }
    if (ld->env == ZR_ENV_PRODUCTION && strcmp(u.scheme, "https") != 0) {
        zr_cfg_error(ld, at, path, "http is refused in production: must be an https URL");
        return -1;
    }
    return 0;
}

int zr_cfg_check_page_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                          void *ctx)
{
    zr_cfg_url_t u;
    (void)ctx;
    if (zr_cfg_url_parse(value, &u) != 0) {
        zr_cfg_error(ld, at, path, "must be an absolute https URL (http only in development, or on loopback "
                                   "outside production)");
        return -1;
    }
    if (u.has_fragment) {
        zr_cfg_error(ld, at, path, "must not contain a fragment (#)");
        return -1;
    }
    /* As for the mocks' endpoints: outside production a rehearsal on one
     * machine (docs/preprod.md) may link to a portal on loopback http. */
    if (strcmp(u.scheme, "https") != 0 && ld->env != ZR_ENV_DEVELOPMENT &&
        (ld->env == ZR_ENV_PRODUCTION || !zr_cfg_url_is_loopback(&u))) {
        zr_cfg_error(ld, at, path,
                     ld->env == ZR_ENV_PRODUCTION ? "http is refused in production: must be an https URL"
                                                  : "http is refused outside development (but on loopback): must be "
                                                    "an https URL");
        return -1;
    }
    return 0;
}

/* A phone number as people write it ("088 123 45 67", "+31 (0)88-1234567")
 * into a tel: URI (RFC 3966): digits and a leading '+' kept, "(0)" after a
 * country code dropped. NULL when it is not such a number (3-20 digits). */
static char *helpdesk_tel_uri(const char *phone)
{
    char digits[32];
    size_t n = 0, count = 0;
    const char *p = phone;
    char *out = NULL;

    if (*p == '+')
        digits[n++] = *p++;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n >= sizeof(digits) - 1)
                return NULL;
            digits[n++] = *p;
            count++;
        } else if (p[0] == '(' && p[1] == '0' && p[2] == ')' && phone[0] == '+') {
            p += 2;
        } else if (!strchr(" -.()", *p)) {
            return NULL;
        }
    }
    digits[n] = '\0';
    if (count < 3 || count > 20)
        return NULL;
    if (asprintf(&out, "tel:%s", digits) < 0)
        return NULL;
    return out;
}

void zr_cfg_read_helpdesk(const zr_cfg_map_t *parent, zr_helpdesk_t *h)
{
    static const char *const keys[] = {"name", "phone", "url", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], fpath[ZR_CFG_PATH_MAX];
    yaml_node_t *node = zr_cfg_map_get(parent, "helpdesk");

    memset(h, 0, sizeof(*h));
    zr_cfg_path_key(kpath, parent->path, "helpdesk");
    if (!node) {
        if (zr_cfg_map_key(parent, "helpdesk"))
            zr_cfg_error(parent->ld, zr_cfg_map_key(parent, "helpdesk"), kpath,
                         "must hold at least one of name, phone, url (leave the key out instead)");
        return;
    }
    if (zr_cfg_map_open(parent->ld, node, kpath, keys, &m) != 0)
        return;
    zr_cfg_get_str(&m, "name", 0, &h->name);
    if (zr_cfg_get_str(&m, "phone", 0, &h->phone) == 1 && !(h->phone_uri = helpdesk_tel_uri(h->phone))) {
        zr_cfg_path_key(fpath, kpath, "phone");
        zr_cfg_error(parent->ld, zr_cfg_map_get(&m, "phone"), fpath,
                     "must be a phone number: 3-20 digits, optionally a leading '+', spaces, '-', '.' or brackets");
        zr_release(h->phone);
    }
    if (zr_cfg_get_str(&m, "url", 0, &h->url) == 1) {
        zr_cfg_path_key(fpath, kpath, "url");
        if (zr_cfg_check_page_url(parent->ld, zr_cfg_map_get(&m, "url"), fpath, h->url, NULL) != 0)
            zr_release(h->url);
    }
    if ((h->name && !*h->name) || (!zr_cfg_map_get(&m, "name") && !zr_cfg_map_get(&m, "phone") &&
                                   !zr_cfg_map_get(&m, "url")))
        zr_cfg_error(parent->ld, node, kpath, "must hold at least one of name, phone, url (each non-empty)");
}

/* An SVG by its start: an optional BOM, white space, an XML declaration
 * or comment, then <svg. Its content must not need what an <img> never
 * runs anyway but a browser opening the file itself might: script,
 * foreignObject (HTML inside), a DTD (entities). */
static const char *logo_svg_problem(const char *data, size_t len)
{
    static const char *const refused[] = {"<script", "<foreignobject", "<!doctype", "<!entity", NULL};
    const char *p = data, *end = data + len;
    if (memchr(data, '\0', len))
        return "an SVG must be text (it holds a NUL byte)";
    if (len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    while (p < end && isspace((unsigned char)*p))
        p++;
    if ((size_t)(end - p) < 4 || (strncmp(p, "<?xml", 5) != 0 && strncmp(p, "<svg", 4) != 0 && strncmp(p, "<!--", 4) != 0))
        return "must be a PNG or an SVG file (it starts with neither the PNG signature nor <?xml/<svg)";
    if (!strstr(data, "<svg"))
        return "must be a PNG or an SVG file (no <svg element)";
    for (size_t i = 0; refused[i]; i++)
        if (strcasestr(data, refused[i]))
            return "an SVG logo must not contain script, foreignObject or a DTD";
    return NULL;
}

int zr_cfg_load_logo(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *file,
                     const char *src_base, zr_logo_t *logo)
{
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const char *problem = NULL;
    uint8_t digest[32];
    char *hex = NULL;
    int rc = -1;

    if (zr_file_read(file, ZR_LOGO_MAX_BYTES, &logo->data, &logo->len) != 0) {
        zr_cfg_error(ld, at, path, "cannot read %s (missing, unreadable, or larger than %d KiB)", file,
                     ZR_LOGO_MAX_BYTES / 1024);
        goto end;
    }
    if (logo->len >= 24 && memcmp(logo->data, png, sizeof(png)) == 0 && memcmp(logo->data + 12, "IHDR", 4) == 0)
        logo->type = "image/png";
    else if (!(problem = logo_svg_problem(logo->data, logo->len)))
        logo->type = "image/svg+xml";
    if (!logo->type) {
        zr_cfg_error(ld, at, path, "%s: %s", file, problem);
        goto end;
    }
    if (zr_crypto_sha256((const uint8_t *)logo->data, logo->len, digest) != 0 ||
        !(hex = zr_hex_encode(digest, 8)) || asprintf(&logo->src, "%s&v=%s", src_base, hex) < 0) {
        logo->src = NULL;
        zr_cfg_error(ld, at, path, "out of memory");
        goto end;
    }
    rc = 0;
end:
    if (rc != 0) {
        zr_release(logo->data);
        logo->len = 0;
        logo->type = NULL;
    }
    free(hex);
    return rc;
}

void zr_cfg_read_logo(const zr_cfg_map_t *parent, const char *src_base, zr_logo_t *logo)
{
    static const char *const keys[] = {"file", "alt", NULL};
    zr_cfg_map_t m;
    char kpath[ZR_CFG_PATH_MAX], fpath[ZR_CFG_PATH_MAX];
    yaml_node_t *node = zr_cfg_map_get(parent, "logo");

    memset(logo, 0, sizeof(*logo));
    zr_cfg_path_key(kpath, parent->path, "logo");
    if (!node) {
        if (zr_cfg_map_key(parent, "logo"))
            zr_cfg_error(parent->ld, zr_cfg_map_key(parent, "logo"), kpath,
                         "must hold file and alt (leave the key out instead)");
        return;
    }
    if (zr_cfg_map_open(parent->ld, node, kpath, keys, &m) != 0)
        return;
    /* The alternative text is required: the logo names the care provider
     * for whoever cannot see it (WCAG 1.1.1). */
    if (zr_cfg_get_str(&m, "alt", 1, &logo->alt) == 1 && (!*zr_str_trim(logo->alt) || strlen(logo->alt) > 200)) {
        zr_cfg_path_key(fpath, kpath, "alt");
        zr_cfg_error(parent->ld, zr_cfg_map_get(&m, "alt"), fpath,
                     "must be 1-200 characters: the text that names the logo, e.g. the care provider's name");
    }
    if (zr_cfg_get_path(&m, "file", 1, &logo->file) == 1) {
        zr_cfg_path_key(fpath, kpath, "file");
        zr_cfg_load_logo(parent->ld, zr_cfg_map_get(&m, "file"), fpath, logo->file, src_base, logo);
    }
}

void zr_cfg_logo_free(zr_logo_t *logo)
{
    free(logo->file);
    free(logo->alt);
    free(logo->data);
    free(logo->src);
    memset(logo, 0, sizeof(*logo));
}

void zr_cfg_helpdesk_free(zr_helpdesk_t *h)
{
    free(h->name);
    free(h->phone);
    free(h->phone_uri);
    free(h->url);
    memset(h, 0, sizeof(*h));
}

/* A '*' is no wildcard anywhere: the relay compares redirect URIs and
 * origins exactly. Refused in every environment, so that nobody writes a
 * wildcard host believing it matches, nor carries one into production. */
static int refuse_wildcard(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                           const char *what)
{
    if (!strchr(value, '*'))
        return 0;
    zr_cfg_error(ld, at, path, "'*' is not a wildcard: %s are compared exactly; list every one in full", what);
    return -1;
}

/* OIDC Core §3.1.2.1: redirect URIs are compared exactly, so they must be
 * complete; NL GOV requires https, loopback http is for development. */
int zr_cfg_check_redirect_uri(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                              void *ctx)
{
    zr_cfg_url_t u;
    if (refuse_wildcard(ld, at, path, value, "redirect URIs") != 0)
        return -1;
    if (zr_cfg_url_parse(value, &u) != 0) {
        zr_cfg_error(ld, at, path, "must be an absolute https URL (or http on localhost in development)");
        return -1;
    }
    if (u.has_fragment) {
        zr_cfg_error(ld, at, path, "must not contain a fragment (#)");
        return -1;
    }
    if (!strcmp(u.scheme, "https"))
        return 0;
    if (ld->env == ZR_ENV_PRODUCTION) {
        zr_cfg_error(ld, at, path, "http is refused in production: must be an https URL");
        return -1;
    }
    if (!zr_cfg_url_is_loopback(&u)) {
        zr_cfg_error(ld, at, path, "must be an absolute https URL (or http on localhost in development)");
        return -1;
    }
    return 0;
}

int zr_cfg_check_origin(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                        void *ctx)
{
    zr_cfg_url_t u;
    if (refuse_wildcard(ld, at, path, value, "origins") != 0)
        return -1;
    if (zr_cfg_url_parse(value, &u) != 0 || u.has_path || u.has_query || u.has_fragment) {
        zr_cfg_error(ld, at, path, "must be an origin: https://host[:port] without path or slash");
        return -1;
    }
    if (strcmp(u.scheme, "https") != 0 && ld->env == ZR_ENV_PRODUCTION) {
        zr_cfg_error(ld, at, path, "http is refused in production: must be an https origin");
        return -1;
    }
    if (strcmp(u.scheme, "https") != 0 && !zr_cfg_url_is_loopback(&u)) {
        zr_cfg_error(ld, at, path, "must be https (http only for localhost outside production)");
        return -1;
    }
    return 0;
}

/* An upstream we call (Dezi, its jku URLs, an AuthZEN PDP): https, with
 * http only on loopback outside production (the mocks: a pre-production
 * rehearsal against the mock TVS runs the mock Dezi beside it, issue 18
 * §4; loopback traffic never leaves the machine); never a query or
 * fragment.
 * ctx non-NULL: a base URL that paths are appended to (no trailing slash). */
int zr_cfg_check_upstream_url(zr_cfg_loader_t *ld, const yaml_node_t *at, const char *path, const char *value,
                              void *ctx)
{
    zr_cfg_url_t u;
    if (zr_cfg_url_parse(value, &u) != 0) {
        zr_cfg_error(ld, at, path, "must be an absolute https URL");
        return -1;
    }
    if (u.has_query || u.has_fragment) {
        zr_cfg_error(ld, at, path, "must not have a query or fragment");
        return -1;
    }
    if (ctx && u.trailing_slash) {
        zr_cfg_error(ld, at, path, "must not end in a slash");
        return -1;
    }
    if (strcmp(u.scheme, "https") != 0 && (ld->env == ZR_ENV_PRODUCTION || !zr_cfg_url_is_loopback(&u))) {
        zr_cfg_error(ld, at, path, "must be https (http only for localhost outside production)");
        return -1;
    }
    return 0;
}

/* Maps a scalar to an index in a NULL-terminated name table; reports the
 * allowed values otherwise. -1 when absent or bad. */
int zr_cfg_get_enum(const zr_cfg_map_t *m, const char *key, int required, const char *const *names, int *out)
{
    char *s = NULL, kpath[ZR_CFG_PATH_MAX], allowed[256] = "";
    int rc = zr_cfg_get_str(m, key, required, &s);
    if (rc != 1)
        goto end;
    for (int i = 0; names[i]; i++) {
        if (!strcmp(s, names[i])) {
            *out = i;
            goto end;
        }
        snprintf(allowed + strlen(allowed), sizeof(allowed) - strlen(allowed), "%s%s", i ? ", " : "", names[i]);
    }
    zr_cfg_path_key(kpath, m->path, key);
    zr_cfg_error(m->ld, zr_cfg_map_get(m, key), kpath, "'%s' is not one of: %s", s, allowed);
    rc = -1;
end:
    free(s);
    return rc;
}

void zr_cfg_read_keypair(zr_cfg_map_t *parent, const char *key, int required, int flags, zr_keypair_t *kp)
{
    static const char *const keys[] = {"cert", "key", NULL};
    char kpath[ZR_CFG_PATH_MAX];
    zr_cfg_map_t m;
    yaml_node_t *v = zr_cfg_map_get(parent, key);
    if (!v) {
        if (required)
            zr_cfg_required(parent, key);
        return;
    }
    zr_cfg_path_key(kpath, parent->path, key);
    if (zr_cfg_map_open(parent->ld, v, kpath, keys, &m) != 0)
        return;
    if (zr_cfg_load_keypair(&m, flags, &kp->cert_file, &kp->key_file, &kp->cert, &kp->key) == 0 &&
        !(kp->key_name = zr_crypto_cert_keyname(kp->cert)))
        zr_cfg_error(parent->ld, v, kpath, "cannot compute the certificate's KeyName");
}

void zr_cfg_keypair_free(zr_keypair_t *kp)
{
    zr_release(kp->cert_file);
    zr_release(kp->key_file);
    zr_release(kp->key_name);
    X509_free(kp->cert);
    kp->cert = NULL;
    EVP_PKEY_free(kp->key); /* OpenSSL wipes the private key material */
    kp->key = NULL;
}

static void read_server(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const tls_keys[] = {"cert", "key", NULL};
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *v;
    char *s = NULL;
    long n;
    zr_log_level_t level;

    if (zr_cfg_get_str(root, "listen", 1, &cfg->listen) == 1 && !zr_cfg_listen_valid(cfg->listen))
        zr_cfg_error(ld, zr_cfg_map_get(root, "listen"), "listen",
                     "must be HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080");
    if (zr_cfg_get_str(root, "public_base_url", 1, &cfg->public_base_url) == 1)
        zr_cfg_check_base_url(ld, zr_cfg_map_get(root, "public_base_url"), "public_base_url",
                              cfg->public_base_url, NULL);
    if ((v = zr_cfg_map_get(root, "tls")) != NULL) {
        zr_cfg_map_t m;
        zr_keypair_t kp = {0};
        if (zr_cfg_map_open(ld, v, "tls", tls_keys, &m) == 0)
            zr_cfg_load_keypair(&m, 0, &kp.cert_file, &kp.key_file, &kp.cert, &kp.key);
        cfg->tls_cert_file = kp.cert_file;
        cfg->tls_key_file = kp.key_file;
        kp.cert_file = kp.key_file = NULL;
        zr_cfg_keypair_free(&kp);
    }
    if (zr_cfg_get_str(root, "log_level", 0, &s) == 1) {
        if (zr_log_level_parse(s, &level) != 0)
            zr_cfg_error(ld, zr_cfg_map_get(root, "log_level"), "log_level",
                         "'%s' is not one of: debug, info, warn, error", s);
        /* Debug lines carry message detail meant for a test run. */
        else if (level == ZR_LOG_DEBUG && ld->env == ZR_ENV_PRODUCTION)
            zr_cfg_error(ld, zr_cfg_map_get(root, "log_level"), "log_level",
                         "debug is refused in production (debug lines carry message detail): use info");
        else
            cfg->log_level = (int)level;
    }
    zr_release(s);
    if (zr_cfg_get_str(root, "log_format", 0, &s) == 1) {
        zr_log_format_t format;
        if (zr_log_format_parse(s, &format) != 0)
            zr_cfg_error(ld, zr_cfg_map_get(root, "log_format"), "log_format", "'%s' is not one of: text, json",
                         s);
        else
            cfg->log_format = (int)format;
    }
    free(s);
    if (zr_cfg_get_int(root, "threads", 0, 1, 1024, &n) == 1)
        cfg->threads = (int)n;
    if (zr_cfg_get_int(root, "max_body_bytes", 0, 1024, 16L * 1024 * 1024, &n) == 1)
        cfg->max_body_bytes = (size_t)n;
}

/* 127.0.0.0/8, ::1 or localhost: traffic that never leaves the host. */
static int host_is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;
    char bare[64];
    size_t n = strlen(host);
    if (!strcasecmp(host, "localhost"))
        return 1;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    if (n >= 2 && n < sizeof(bare) && host[0] == '[' && host[n - 1] == ']') {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        host = bare;
    }
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

/* Production: Redis holds every pending login, so it must ask for a
 * password and be reached without crossing a network in clear text.
 * hiredis 0.14 (Debian 12) has no TLS: a remote Redis is reached through a
 * local TLS tunnel (stunnel, spiped) or a unix socket (docs/configuration.md). */
static void check_redis_production(zr_cfg_map_t *root, zr_cfg_map_t *m, zr_redis_config_t *r)
{
    zr_cfg_loader_t *ld = m->ld;
    if (ld->env != ZR_ENV_PRODUCTION)
        return;
    /* A password_file that could not be used has its own error. */
    if ((!r->password || !*r->password) && !zr_cfg_map_get(m, "password_file"))
        zr_cfg_error(ld, zr_cfg_map_get(m, "password") ? zr_cfg_map_get(m, "password") : zr_cfg_map_key(root, "redis"),
                     "redis.password",
                     "is required in production: set requirepass (or an ACL user) in Redis and its password here");
    if (!r->unix_socket && r->host && !host_is_loopback(r->host))
        zr_cfg_error(ld, zr_cfg_map_get(m, "host"), "redis.host",
                     "'%s' is not a loopback address and the relay cannot speak TLS to Redis: refused in production; "
                     "use redis.unix_socket, or a local TLS tunnel (stunnel, spiped) listening on 127.0.0.1",
                     r->host);
}

/* redis.password_file (and sentinel_password_file): the password in a file
 * of its own, so that the configuration file holds no secret and the
 * password file gets the mode check of the key files. One line; a final
 * newline is not part of it. */
#define ZR_REDIS_PASSWORD_MAX 1024
static void read_redis_password_file(zr_cfg_map_t *m, const char *inline_key, const char *key, char **password)
{
    char *file = NULL, *text = NULL, path[ZR_CFG_PATH_MAX];
    size_t len = 0;
    const yaml_node_t *at = zr_cfg_map_get(m, key);

    zr_cfg_path_key(path, "redis", key);
    if (zr_cfg_get_path(m, key, 0, &file) != 1)
        goto end;
    if (*password) {
        zr_cfg_error(m->ld, at, path, "give the password once: %s or %s, not both", inline_key, key);
        goto end;
    }
    if (zr_file_read(file, ZR_REDIS_PASSWORD_MAX + 2, &text, &len) != 0) {
        zr_cfg_error(m->ld, at, path, "cannot read %s (or longer than %d bytes)", file, ZR_REDIS_PASSWORD_MAX);
        goto end;
    }
    if (len && text[len - 1] == '\n')
        text[--len] = '\0';
    if (len && text[len - 1] == '\r')
        text[--len] = '\0';
    if (len == 0 || len > ZR_REDIS_PASSWORD_MAX || memchr(text, '\n', len) || memchr(text, '\r', len) ||
        strlen(text) != len) {
        zr_cfg_error(m->ld, at, path, "%s must hold the password on one line (1-%d bytes)", file,
                     ZR_REDIS_PASSWORD_MAX);
        goto end;
    }
    zr_cfg_check_file_mode(m, key, file);
    *password = text;
    text = NULL;
end:
    if (text) {
        OPENSSL_cleanse(text, len);
        free(text);
    }
    free(file);
}

/* A sentinel is HOST:PORT (or [IPv6]:PORT); in production on this host, for
 * the reason redis.host is (no TLS in hiredis 0.14). */
static int check_sentinel(zr_cfg_loader_t *ld, const yaml_node_t *item, const char *path, const char *value,
                          void *ctx)
{
    char host[256];
    const char *colon = strrchr(value, ':');
    size_t n = colon ? (size_t)(colon - value) : 0;
    (void)ctx;
    if (!zr_cfg_listen_valid(value)) {
        zr_cfg_error(ld, item, path, "'%s' is not HOST:PORT", value);
        return -1;
    }
    if (ld->env == ZR_ENV_PRODUCTION && n < sizeof(host)) {
        memcpy(host, value, n);
        host[n] = '\0';
        if (!host_is_loopback(host)) {
            zr_cfg_error(ld, item, path,
                         "'%s' is not a loopback address and the relay cannot speak TLS to a sentinel: refused in "
                         "production; reach it through a local TLS tunnel (docs/operations.md, Redis Sentinel)",
                         value);
            return -1;
        }
    }
    return 0;
}

/* redis.sentinels and what goes with them: the master's name, the
 * sentinels' password, no fixed host (the sentinels name the master). */
static void read_redis_sentinels(zr_cfg_map_t *root, zr_cfg_map_t *m, zr_redis_config_t *r)
{
    zr_cfg_loader_t *ld = m->ld;
    zr_cfg_get_strv(m, "sentinels", 0, &r->sentinels, &r->sentinel_count, check_sentinel, NULL);
    zr_cfg_check_seq_unique(m, "sentinels");
    zr_cfg_get_str(m, "sentinel_master", 0, &r->sentinel_master);
    zr_cfg_get_str(m, "sentinel_password", 0, &r->sentinel_password);
    read_redis_password_file(m, "sentinel_password", "sentinel_password_file", &r->sentinel_password);
    if (!zr_cfg_map_get(m, "sentinels")) {
        static const char *const only[] = {"sentinel_master", "sentinel_password", "sentinel_password_file"};
        for (size_t i = 0; i < sizeof(only) / sizeof(only[0]); i++)
            if (zr_cfg_map_key(m, only[i])) {
                char path[ZR_CFG_PATH_MAX];
                zr_cfg_path_key(path, "redis", only[i]);
                zr_cfg_error(ld, zr_cfg_map_key(m, only[i]), path, "is only used with redis.sentinels");
            }
        return;
    }
    {
        yaml_node_t *seq = zr_cfg_map_get(m, "sentinels");
        if (seq->type == YAML_SEQUENCE_NODE && seq->data.sequence.items.top == seq->data.sequence.items.start)
            zr_cfg_error(ld, zr_cfg_map_get(m, "sentinels"), "redis.sentinels", "list at least one sentinel "
                         "(three or more, so that a majority can agree on a failover)");
    }
    if (!r->sentinel_master)
        zr_cfg_error(ld, zr_cfg_map_key(root, "redis"), "redis.sentinel_master",
                     "is required with redis.sentinels: the master's name in the sentinels' configuration "
                     "(`sentinel monitor NAME ...`)");
    {
        static const char *const fixed[] = {"host", "port", "unix_socket"};
        for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
            if (zr_cfg_map_key(m, fixed[i])) {
                char path[ZR_CFG_PATH_MAX];
                zr_cfg_path_key(path, "redis", fixed[i]);
                zr_cfg_error(ld, zr_cfg_map_key(m, fixed[i]), path,
                             "not with redis.sentinels: the sentinels name the master");
            }
    }
    /* Without a password anyone who reaches a sentinel can point it (and so
     * every relay) at a Redis of their own (docs/architecture.md). */
    if (ld->env == ZR_ENV_PRODUCTION && !r->sentinel_password && !zr_cfg_map_get(m, "sentinel_password_file"))
        zr_cfg_error(ld, zr_cfg_map_get(m, "sentinels"), "redis.sentinel_password",
                     "is required in production with redis.sentinels: set requirepass in every sentinel and the "
                     "same password here (or in redis.sentinel_password_file)");
}

static void read_redis(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"host", "port", "unix_socket", "password", "password_file", "db",
                                       "timeout_ms", "prefix", "encryption_key_file", "sentinels",
                                       "sentinel_master", "sentinel_password", "sentinel_password_file",
                                       "wait_replicas", "wait_timeout_ms", NULL};
    zr_redis_config_t *r = &cfg->redis;
    yaml_node_t *v = zr_cfg_map_get(root, "redis");
    zr_cfg_map_t m;
    char err[512];
    long n;
    if (!v) {
        zr_cfg_required(root, "redis");
        return;
    }
    if (zr_cfg_map_open(root->ld, v, "redis", keys, &m) != 0)
        return;
    zr_cfg_get_str(&m, "host", 0, &r->host);
    if (zr_cfg_get_int(&m, "port", 0, 1, 65535, &n) == 1)
        r->port = (int)n;
    zr_cfg_get_path(&m, "unix_socket", 0, &r->unix_socket);
    zr_cfg_get_str(&m, "password", 0, &r->password);
    read_redis_password_file(&m, "password", "password_file", &r->password);
    if (zr_cfg_get_int(&m, "db", 0, 0, 1024, &n) == 1)
        r->db = (int)n;
    if (zr_cfg_get_int(&m, "timeout_ms", 0, 10, 60000, &n) == 1)
        r->timeout_ms = (int)n;
    read_redis_sentinels(root, &m, r);
    r->loopback_only = root->ld->env == ZR_ENV_PRODUCTION;
    /* With sentinels a failover is expected, so what is handed out waits
     * for a replica by default (docs/operations.md, "What a failover loses"). */
    r->wait_replicas = r->sentinel_count > 0 ? 1 : 0;
    if (zr_cfg_get_int(&m, "wait_replicas", 0, 0, 16, &n) == 1)
        r->wait_replicas = (int)n;
    if (zr_cfg_get_int(&m, "wait_timeout_ms", 0, 1, 60000, &n) == 1)
        r->wait_timeout_ms = (int)n;
    /* WAIT runs inside the store call's deadline. */
    if (r->wait_replicas > 0 && r->wait_timeout_ms >= r->timeout_ms)
        zr_cfg_error(root->ld, zr_cfg_map_get(&m, "wait_timeout_ms") ? zr_cfg_map_get(&m, "wait_timeout_ms")
                                                                     : zr_cfg_map_key(root, "redis"),
                     "redis.wait_timeout_ms", "%d must be below redis.timeout_ms (%d): WAIT runs within the "
                     "deadline of the store call", r->wait_timeout_ms, r->timeout_ms);
    zr_cfg_get_str(&m, "prefix", 0, &r->prefix);
    if (zr_cfg_get_path(&m, "encryption_key_file", 1, &r->encryption_key_file) == 1) {
        if (zr_crypto_load_secret(r->encryption_key_file, r->encryption_key, err, sizeof(err)) != 0)
            zr_cfg_error(root->ld, zr_cfg_map_get(&m, "encryption_key_file"), "redis.encryption_key_file", "%s",
                         err);
        else
            zr_cfg_check_file_mode(&m, "encryption_key_file", r->encryption_key_file);
    }
    check_redis_production(root, &m, r);
}

/* A SHA-256 certificate fingerprint: 64 hex digits, optionally in pairs
 * separated by colons (as `openssl x509 -fingerprint -sha256` prints it). */
static int check_sha256_pin(zr_cfg_loader_t *ld, const yaml_node_t *item, const char *path, const char *value,
                            void *ctx)
{
    size_t digits = 0, len = strlen(value);
    int ok = len == 64 || len == 95;
    (void)ctx;
    for (size_t i = 0; ok && i < len; i++) {
        if (len == 95 && i % 3 == 2)
            ok = value[i] == ':';
        else if (isxdigit((unsigned char)value[i]))
            digits++;
        else
            ok = 0;
    }
    if (!ok || digits != 64) {
        zr_cfg_error(ld, item, path, "must be a SHA-256 certificate fingerprint: 64 hex digits, with or without "
                     "colons (openssl x509 -noout -fingerprint -sha256)");
        return -1;
    }
    return 0;
}

/* tvs.metadata_signer_sha256 / _subject. Fingerprints are kept as the
 * lower-case hex zr_crypto_cert_sha256_hex gives, so they compare with
 * strcmp. */
static void read_tvs_signer_pins(zr_cfg_map_t *m, zr_tvs_config_t *t)
{
    zr_cfg_loader_t *ld = m->ld;
    zr_cfg_get_strv(m, "metadata_signer_sha256", 0, &t->metadata_signer_sha256, &t->metadata_signer_sha256_count,
                    check_sha256_pin, NULL);
    for (size_t i = 0; i < t->metadata_signer_sha256_count; i++) {
        char *p = t->metadata_signer_sha256[i], *q = p;
        for (; p && *p; p++)
            if (*p != ':')
                *q++ = (char)tolower((unsigned char)*p);
        if (q)
            *q = '\0';
    }
    zr_cfg_check_seq_unique(m, "metadata_signer_sha256");
    zr_cfg_get_strv(m, "metadata_signer_subject", 0, &t->metadata_signer_subject, &t->metadata_signer_subject_count,
                    NULL, NULL);
    zr_cfg_check_seq_unique(m, "metadata_signer_subject");
    /* Any certificate under the anchor could otherwise sign "TVS" metadata:
     * with a PKIoverheid CA as anchor, every care provider's. (A pin list
     * that is there but malformed is reported on its own.) */
    if (ld->env == ZR_ENV_PRODUCTION && !zr_cfg_map_get(m, "metadata_signer_sha256") &&
        !zr_cfg_map_get(m, "metadata_signer_subject") && zr_cfg_map_get(m, "trust_anchor"))
        zr_cfg_error(ld, zr_cfg_map_get(m, "trust_anchor"), "tvs.trust_anchor",
                     "a trust anchor without a pinned metadata signer is refused in production: set "
                     "tvs.metadata_signer_sha256 or tvs.metadata_signer_subject to TVS's own signing certificate");
}

static void read_tvs(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"metadata", "trust_anchor", "tls_ca", "entity_id", "metadata_signer_sha256",
                                       "metadata_signer_subject", "clock_skew_seconds", "connect_timeout_ms",
                                       "timeout_ms", "backchannel_concurrency", "backchannel_queue",
                                       "breaker_failures", "breaker_cooldown_seconds", NULL};
    zr_tvs_config_t *t = &cfg->tvs;
    zr_cfg_loader_t *ld = root->ld;
    yaml_node_t *v = zr_cfg_map_get(root, "tvs");
    zr_cfg_map_t m;
    char *meta = NULL, err[512], oin[21];
    int index;
    long n;
    if (!v) {
        zr_cfg_required(root, "tvs");
        return;
    }
    if (zr_cfg_map_open(ld, v, "tvs", keys, &m) != 0)
        return;
    /* The metadata is signed, but its URL is still only ever fetched over
     * https; anything without a scheme is a file. */
    if (zr_cfg_get_str(&m, "metadata", 1, &meta) == 1) {
        if (!strncmp(meta, "https://", 8)) {
            t->metadata = meta;
            meta = NULL;
        } else if (strstr(meta, "://")) {
            zr_cfg_error(ld, zr_cfg_map_get(&m, "metadata"), "tvs.metadata", "must be a file path or an https:// URL");
        } else {
            t->metadata = zr_cfg_resolve_path(ld, meta);
        }
    }
    free(meta);
    if (zr_cfg_get_path(&m, "trust_anchor", 1, &t->trust_anchor_file) == 1) {
        if (!(t->trust_anchors = zr_crypto_load_certificates(t->trust_anchor_file, err, sizeof(err))))
            zr_cfg_error(ld, zr_cfg_map_get(&m, "trust_anchor"), "tvs.trust_anchor", "%s", err);
        else /* it verifies TVS's metadata signature: as strong as our keys */
            zr_cfg_check_certs_strength(&m, "trust_anchor", t->trust_anchors);
    }
    if (zr_cfg_get_path(&m, "tls_ca", 0, &t->tls_ca_file) == 1) {
        STACK_OF(X509) *ca = zr_crypto_load_certificates(t->tls_ca_file, err, sizeof(err));
        if (!ca)
            zr_cfg_error(ld, zr_cfg_map_get(&m, "tls_ca"), "tvs.tls_ca", "%s", err);
        else /* the only CAs the back channel's TLS trusts: as strong as our keys */
            zr_cfg_check_certs_strength(&m, "tls_ca", ca);
        sk_X509_pop_free(ca, X509_free);
    }
    read_tvs_signer_pins(&m, t);
    /* Outside development the metadata must name the TVS we expect. */
    if (zr_cfg_get_str(&m, "entity_id", ld->env != ZR_ENV_DEVELOPMENT, &t->entity_id) == 1) {
        v = zr_cfg_map_get(&m, "entity_id");
        if (zr_cfg_entity_id_parse(t->entity_id, "RD", oin, &index) != 0)
            zr_cfg_error(ld, v, "tvs.entity_id", "must look like urn:nl-eid-gdi:1.0:RD:<OIN, 20 digits>:entities:<4 digits>");
        else if (ld->env == ZR_ENV_PRODUCTION && index >= 9000)
            zr_cfg_error(ld, v, "tvs.entity_id", "entity index %04d is reserved for test and refused in production", index);
    }
    if (zr_cfg_get_int(&m, "clock_skew_seconds", 0, 0, 300, &n) == 1)
        t->clock_skew_s = (int)n;
    if (zr_cfg_get_int(&m, "connect_timeout_ms", 0, 100, 60000, &n) == 1)
        t->connect_timeout_ms = (int)n;
    if (zr_cfg_get_int(&m, "timeout_ms", 0, 100, 120000, &n) == 1)
        t->timeout_ms = (int)n;
    if (zr_cfg_get_int(&m, "backchannel_concurrency", 0, 1, 1024, &n) == 1)
        t->backchannel_concurrency = (int)n;
    if (zr_cfg_get_int(&m, "backchannel_queue", 0, 0, 100000, &n) == 1)
        t->backchannel_queue = (int)n;
    if (zr_cfg_get_int(&m, "breaker_failures", 0, 1, 1000, &n) == 1)
        t->breaker_failures = (int)n;
    if (zr_cfg_get_int(&m, "breaker_cooldown_seconds", 0, 1, 3600, &n) == 1)
        t->breaker_cooldown_s = (int)n;
}

static void read_saml(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"signing", "tls_client", "metadata_valid_days", NULL};
    yaml_node_t *v = zr_cfg_map_get(root, "saml");
    zr_cfg_map_t m;
    long n;
    if (!v) {
        zr_cfg_required(root, "saml");
        return;
    }
    if (zr_cfg_map_open(root->ld, v, "saml", keys, &m) != 0)
        return;
    /* ST-SAML §Signing: PKIoverheid RSA >= 2048 for SAML signatures. */
    zr_cfg_read_keypair(&m, "signing", 1, ZR_CFG_KEY_RSA_ONLY, &cfg->saml_signing);
    zr_cfg_read_keypair(&m, "tls_client", 1, 0, &cfg->saml_tls_client);
    if (zr_cfg_get_int(&m, "metadata_valid_days", 0, 1, 365, &n) == 1)
        cfg->sp_metadata_valid_days = (int)n;
}

/* A private_key_jwt client's public keys are held to our own keys' strength,
 * in every environment: a 1024-bit client key lets anyone forge its
 * assertions. Judged once every client is read (this file and the care
 * providers' files), at the client's entry (clients.c keeps the lines). */
static void check_client_jwks(zr_cfg_loader_t *ld, zr_config_t *cfg)
{
    const struct zr_config_index *ix = cfg->index;
    char why[256];
    for (size_t i = 0; i < cfg->client_count; i++) {
        const zr_client_t *c = &cfg->clients[i];
        const zr_cfg_client_origin_t *o = ix && i < ix->client_origin_cap ? &ix->client_origins[i] : NULL;
        if (!c->jwks_json || zr_cfg_check_jwks_strength(c->jwks_json, why, sizeof(why)) == 0)
            continue;
        ld->error_count++;
        zr_cfg_error_line(ld->errs, "%s:%d: %s.%s: %s %s", o && o->file ? o->file : ld->file, o ? o->line : 1,
                          o ? o->path : "clients", c->jwks_file ? "jwks_file" : "jwks",
                          c->jwks_file ? c->jwks_file : "its JWK Set", why);
    }
}

/* The log pseudonym key: derived, never the pairwise secret itself (the
 * label separates it from the pairwise subjects and the decision log's key). */
static void derive_log_pseudonym_key(zr_cfg_loader_t *ld, zr_config_t *cfg)
{
    static const char label[] = "zorgrelay log pseudonym key v1";
    if (zr_crypto_hmac_sha256(cfg->oidc.pairwise_secret, sizeof(cfg->oidc.pairwise_secret), (const uint8_t *)label,
                              sizeof(label) - 1, cfg->log_pseudonym_key) != 0)
        zr_cfg_error(ld, NULL, "oidc.pairwise_secret_file", "cannot derive the log pseudonym key");
    if (zr_crypto_hmac_sha256(cfg->oidc.pairwise_secret, sizeof(cfg->oidc.pairwise_secret),
                              (const uint8_t *)ZR_CFG_REGISTRATION_LABEL, sizeof(ZR_CFG_REGISTRATION_LABEL) - 1,
                              cfg->oidc.registration_key) != 0)
        zr_cfg_error(ld, NULL, "oidc.pairwise_secret_file", "cannot derive the registration token key");
}

static void set_defaults(zr_config_t *cfg)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->log_level = ZR_LOG_INFO;
    cfg->threads = (int)(cores > 0 && cores < 512 ? 2 * cores : 2);
    cfg->max_body_bytes = 256 * 1024;
    cfg->redis.port = 6379;
    cfg->redis.timeout_ms = 500;
    cfg->redis.wait_timeout_ms = 100;
    cfg->tvs.clock_skew_s = 60;
    cfg->tvs.connect_timeout_ms = 3000;
    cfg->tvs.timeout_ms = 10000;
    cfg->tvs.backchannel_concurrency = 32;
    cfg->tvs.backchannel_queue = 256;
    cfg->tvs.breaker_failures = 5;
    cfg->tvs.breaker_cooldown_s = 10;
    cfg->sp_metadata_valid_days = 30;
    cfg->oidc.id_token_lifetime_s = 300;
    cfg->oidc.access_token_lifetime_s = 300;
    cfg->oidc.code_lifetime_s = 60;
    cfg->oidc.session_lifetime_s = 900;
    cfg->oidc.metadata_max_age_s = 604800;
    cfg->mock_tvs.metadata_valid_days = 7;
}

/* Defaults that are copies of other values, filled once everything is read. */
static int fill_derived(zr_config_t *cfg)
{
    if (!cfg->redis.host && !(cfg->redis.host = strdup("127.0.0.1")))
        return -1;
    if (!cfg->redis.prefix && !(cfg->redis.prefix = strdup("zr:")))
        return -1;
    if (!cfg->oidc.issuer && cfg->public_base_url && !(cfg->oidc.issuer = strdup(cfg->public_base_url)))
        return -1;
    return 0;
}

zr_config_t *zr_config_load(const char *path, zr_config_errors_t *errs)
{
    return zr_config_load_flags(path, 0, errs);
}

zr_config_t *zr_config_load_flags(const char *path, int flags, zr_config_errors_t *errs)
{
    return zr_config_load_reusing(path, flags, NULL, errs);
}

/* pages: {digid_logo_file}. Logius gives the DigiD logo to organisations
 * connected to DigiD (its communication toolkit); it is theirs to use, not
 * ours to ship, so without the file the button carries its text alone. */
static void read_pages(zr_cfg_map_t *root, zr_config_t *cfg)
{
    static const char *const keys[] = {"digid_logo_file", NULL};
    yaml_node_t *v = zr_cfg_map_get(root, "pages");
    zr_cfg_map_t m;

    if (!v || zr_cfg_map_open(root->ld, v, "pages", keys, &m) != 0)
        return;
    if (zr_cfg_get_path(&m, "digid_logo_file", 0, &cfg->pages.digid_logo.file) == 1)
        zr_cfg_load_logo(root->ld, zr_cfg_map_get(&m, "digid_logo_file"), "pages.digid_logo_file",
                         cfg->pages.digid_logo.file, "/logo?of=digid", &cfg->pages.digid_logo);
}

zr_config_t *zr_config_load_reusing(const char *path, int flags, const zr_config_t *reuse, zr_config_errors_t *errs)
{
    static const char *const root_keys[] = {"environment", "listen", "public_base_url", "tls", "log_level",
                                            "log_format", "threads", "max_body_bytes", "redis", "tvs", "saml",
                                            "care_providers", "care_providers_dir", "former_care_providers_dir",
                                            "care_providers_ledger",
                                            "oidc", "clients", "mock_tvs", "cluster", "pid_file", "dezi",
                                            "decision_log", "audit_log", "mock_dezi", "trace", "preprod_test",
                                            "limits", "metrics", "care_providers_on_error", "pages", NULL};
    zr_cfg_loader_t ld;
    zr_cfg_map_t root;
    zr_config_t *cfg = calloc(1, sizeof(*cfg));
    int env = ZR_ENV_DEVELOPMENT;

    memset(&ld, 0, sizeof(ld));
    ld.file = path;
    ld.errs = errs;
    ld.flags = flags;
    ld.cfg = cfg;
    ld.reuse = reuse;
    ld.keys = zr_cfg_key_cache_new(); /* NULL: every key takes the slow path */
    if (!cfg || !(cfg->file = strdup(path))) {
        ld.error_count++;
        zr_cfg_error_line(errs, "%s: out of memory", path);
        goto end;
    }
    set_defaults(cfg);
    if (zr_cfg_parse(&ld, path) != 0)
        goto end;
    if (zr_cfg_map_open(&ld, yaml_document_get_root_node(&ld.doc), "", root_keys, &root) != 0)
        goto end;
    /* First, because production tightens many of the checks below. A missing
     * environment is an error rather than a silent "development". */
    if (zr_cfg_get_enum(&root, "environment", 1, env_names, &env) == 1)
        cfg->environment = (zr_environment_t)env;
    ld.env = cfg->environment;

    read_server(&root, cfg);
    zr_cfg_read_limits(&root, cfg);
    zr_cfg_read_metrics(&root, cfg);
    zr_cfg_get_path(&root, "pid_file", 0, &cfg->pid_file);
    read_redis(&root, cfg);
    read_tvs(&root, cfg);
    read_saml(&root, cfg);
    zr_cfg_read_cluster(&root, cfg);
    /* oidc before the clients (id_token_alg needs the signing keys), and
     * the top-level clients before the care provider files append theirs.
     * Care provider references are judged once all are read. */
    zr_cfg_read_oidc(&root, cfg);
    derive_log_pseudonym_key(&ld, cfg);
    /* Before the clients' professionals are judged against it. */
    zr_cfg_read_dezi(&root, cfg);
    zr_cfg_read_decision_log(&root, cfg);
    zr_cfg_read_audit_log(&root, cfg);
    zr_cfg_read_clients(&root, cfg);
    zr_cfg_read_on_error(&root, cfg);
    zr_cfg_read_tenants(&root, cfg);
    /* After every configured client: a registered one never takes the
     * client_id of one the operator wrote (the duplicate names both). */
    zr_cfg_read_registered_clients(&ld, cfg);
    if (zr_cfg_index_tenants(cfg) != 0)
        zr_cfg_error(&ld, NULL, "", "out of memory");
    zr_cfg_resolve_clients(&ld, cfg);
    zr_cfg_quarantine_check_dropped(&ld, cfg);
    zr_cfg_quarantine_finish(&ld, cfg);
    zr_cfg_check_allow_sector_change(&root, cfg);
    check_client_jwks(&ld, cfg);
    zr_cfg_read_mock_tvs(&root, cfg);
    zr_cfg_read_mock_dezi(&root, cfg);
    zr_cfg_read_trace(&root, cfg);
    zr_cfg_read_preprod_test(&root, cfg);
    read_pages(&root, cfg);
    if (fill_derived(cfg) != 0)
        zr_cfg_error(&ld, NULL, "", "out of memory");
end:
    if (ld.error_count) {
        zr_config_free(cfg);
        cfg = NULL;
    }
    if (cfg)
        zr_cfg_client_origins_free(cfg->index, cfg->client_count);
    zr_cfg_key_cache_free(ld.keys);
    zr_cfg_loader_free(&ld);
    return cfg;
}

void zr_config_free(zr_config_t *cfg)
{
    if (!cfg)
        return;
    zr_cfg_logo_free(&cfg->pages.digid_logo);
    free(cfg->file);
    free(cfg->listen);
    free(cfg->public_base_url);
    free(cfg->tls_cert_file);
    free(cfg->tls_key_file);

    free(cfg->redis.host);
    free(cfg->redis.unix_socket);
    if (cfg->redis.password)
        OPENSSL_cleanse(cfg->redis.password, strlen(cfg->redis.password));
    free(cfg->redis.password);
    free(cfg->redis.prefix);
    free(cfg->redis.encryption_key_file);
    zr_cfg_free_strv(cfg->redis.sentinels, cfg->redis.sentinel_count);
    free(cfg->redis.sentinel_master);
    if (cfg->redis.sentinel_password)
        OPENSSL_cleanse(cfg->redis.sentinel_password, strlen(cfg->redis.sentinel_password));
    free(cfg->redis.sentinel_password);

    free(cfg->tvs.metadata);
    free(cfg->tvs.trust_anchor_file);
    sk_X509_pop_free(cfg->tvs.trust_anchors, X509_free);
    free(cfg->tvs.tls_ca_file);
    free(cfg->tvs.entity_id);
    zr_cfg_free_strv(cfg->tvs.metadata_signer_sha256, cfg->tvs.metadata_signer_sha256_count);
    zr_cfg_free_strv(cfg->tvs.metadata_signer_subject, cfg->tvs.metadata_signer_subject_count);

    zr_cfg_keypair_free(&cfg->saml_signing);
    zr_cfg_keypair_free(&cfg->saml_tls_client);
    free(cfg->pid_file);
    /* Before the clients: the origins it may still hold are counted by them. */
    if (cfg->index)
        zr_cfg_client_origins_free(cfg->index, cfg->client_count);
    zr_cfg_index_free(cfg->index);
    cfg->index = NULL;
    zr_cfg_free_tenants(cfg);
    zr_cfg_free_oidc(cfg);
    zr_cfg_free_clients(cfg);
    zr_cfg_free_mock_tvs(cfg);
    zr_cfg_free_cluster(cfg);
    zr_cfg_free_dezi(cfg);
    zr_cfg_free_audit_log(cfg);
    zr_cfg_free_limits(cfg);
    zr_cfg_free_metrics(cfg);
    /* Wipes the AES and pairwise secrets with everything else. */
    OPENSSL_cleanse(cfg, sizeof(*cfg));
    free(cfg);
}

void zr_config_errors_free(zr_config_errors_t *errs)
{
    if (!errs)
        return;
    for (size_t i = 0; i < errs->count; i++)
        free(errs->lines[i]);
    free(errs->lines);
    errs->lines = NULL;
    errs->count = 0;
}
