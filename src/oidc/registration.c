/* Dynamic client registration (RFC 7591) and its management protocol
 * (RFC 7592), issue 17 §4. Never open: every registration needs an initial
 * access token the operator issued for one care provider (`zorgrelay
 * clients token`), since a portal that logs patients in is a contract with
 * a care provider, not something a stranger signs up for. The metadata
 * become a client file in oidc.registration_dir that the configuration's
 * own reader judges (src/config/registered.c): there is no second
 * validator. A registered client can never receive the BSN unless the
 * operator sets bsn_entitled in its file; an update keeps that choice. */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/json.h"
#include "zr/jwe.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define REG_TOKEN_MAX 256
#define REG_BODY_MAX (96 * 1024)

/* The token_endpoint_auth_methods a registration may ask for (the
 * configuration's auth_method names; in production the configuration's
 * reader refuses client_secret_basic, as for a configured client). */
static const char *const reg_auth_methods[] = {"private_key_jwt", "tls_client_auth", "client_secret_basic", NULL};

/* Metadata the relay understands but does not offer: refused rather than
 * ignored, so that no client believes it has them. */
static const char *const reg_unsupported[] = {
    "jwks_uri", "sector_identifier_uri", "request_object_encryption_alg", "request_object_encryption_enc",
    "request_uris", "frontchannel_logout_uri", NULL};

typedef struct {
    int status;
    const char *error;
    char description[512];
} reg_error_t;

static void reg_fail(reg_error_t *e, int status, const char *error, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void reg_fail(reg_error_t *e, int status, const char *error, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->error = error;
    va_start(ap, fmt);
    vsnprintf(e->description, sizeof(e->description), fmt, ap);
    va_end(ap);
}

static int reg_respond_error(zr_http_response_t *resp, const reg_error_t *e)
{
    if (zr_oidc_json_error(resp, e->status, e->error, e->description) != 0)
        return -1;
    if (e->status == 401) /* RFC 6750 §3 */
        zr_http_set_header(resp, "WWW-Authenticate", "Bearer error=\"invalid_token\"");
    return 0;
}

/* The bearer token of the request (RFC 6750 §2.1), or NULL. */
static const char *reg_bearer(const zr_http_request_t *req)
{
    const char *h = zr_kv_get(&req->headers, "authorization"), *t;
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    t = h + 7;
    if (!*t || strlen(t) > REG_TOKEN_MAX)
        return NULL;
    for (const char *s = t; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_'))
            return NULL;
    return t;
}

static char *reg_random(size_t bytes)
{
    uint8_t raw[48];
    char *out = NULL;
    if (bytes <= sizeof(raw) && RAND_bytes(raw, (int)bytes) == 1)
        out = zr_base64url_encode(raw, bytes);
    OPENSSL_cleanse(raw, sizeof(raw));
    return out;
}

/* A YAML double-quoted scalar (YAML 1.1 §5.7) of a UTF-8 string (jansson
 * guarantees it is valid): printable ASCII as it is, everything else as
 * \xXX, \uXXXX or \UXXXXXXXX, so that no value can end the scalar, start
 * a line of its own or hold a character libyaml refuses. */
static int yaml_str(zr_buf_t *b, const char *indent, const char *key, const char *value)
{
    const unsigned char *p = (const unsigned char *)value;
    int bad = zr_buf_printf(b, "%s%s%s\"", indent, key ? key : "- ", key ? ": " : "") != 0;
    while (*p && !bad) {
        unsigned long cp = *p;
        int extra = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
        if (extra)
            cp &= 0x3f >> extra;
        for (int i = 1; i <= extra; i++)
            cp = (cp << 6) | (p[i] & 0x3f);
        p += 1 + extra;
        if (cp == '"' || cp == '\\')
            bad = zr_buf_printf(b, "\\%c", (char)cp) != 0;
        else if (cp >= 0x20 && cp < 0x7f)
            bad = zr_buf_printf(b, "%c", (char)cp) != 0;
        else if (cp < 0x100)
            bad = zr_buf_printf(b, "\\x%02lx", cp) != 0;
        else if (cp < 0x10000)
            bad = zr_buf_printf(b, "\\u%04lx", cp) != 0;
        else
            bad = zr_buf_printf(b, "\\U%08lx", cp) != 0;
    }
    return bad || zr_buf_appends(b, "\"\n") != 0 ? -1 : 0;
}

/* Metadata -> the client's YAML, or an RFC 7591 §3.2.2 error. */
typedef struct {
    const char *client_id, *care_provider, *token_hmac;
    const char *secret_sha256; /* client_secret_basic: the hash of the secret */
    long long issued_at;
    int bsn_entitled;          /* the operator's choice, carried over by an update */
} reg_fixed_t;

static int reg_string(json_t *md, const char *name, const char **out, reg_error_t *e)
{
    json_t *v = json_object_get(md, name);
    *out = NULL;
    if (!v)
        return 0;
    if (!json_is_string(v)) {
        reg_fail(e, 400, "invalid_client_metadata", "%s must be a string", name);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int reg_list(zr_buf_t *b, json_t *md, const char *name, const char *key, int required, const char *error,
                    reg_error_t *e)
{
    json_t *v = json_object_get(md, name), *item;
    size_t i;
    if (!v && !required)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        reg_fail(e, 400, error, "%s must be a non-empty array of URIs", name);
        return -1;
    }
    if (zr_buf_printf(b, "  %s:\n", key) != 0)
        return -1;
    json_array_foreach(v, i, item) {
        if (!json_is_string(item)) {
            reg_fail(e, 400, error, "%s[%zu] must be a string", name, i);
            return -1;
        }
        if (yaml_str(b, "    ", NULL, json_string_value(item)) != 0)
            return -1;
    }
    return 0;
}

static int reg_only(json_t *md, const char *name, const char *allowed, reg_error_t *e)
{
    json_t *v = json_object_get(md, name), *item;
    size_t i;
    if (!v)
        return 0;
    if (!json_is_array(v) || json_array_size(v) == 0) {
        reg_fail(e, 400, "invalid_client_metadata", "%s must be a non-empty array", name);
        return -1;
    }
    json_array_foreach(v, i, item)
        if (!json_is_string(item) || strcmp(json_string_value(item), allowed) != 0) {
            reg_fail(e, 400, "invalid_client_metadata", "%s: only \"%s\" is supported", name, allowed);
            return -1;
        }
    return 0;
}

static int reg_bool(zr_buf_t *b, json_t *md, const char *name, reg_error_t *e)
{
    json_t *v = json_object_get(md, name);
    if (!v)
        return 0;
    if (!json_is_boolean(v)) {
        reg_fail(e, 400, "invalid_client_metadata", "%s must be true or false", name);
        return -1;
    }
    return zr_buf_printf(b, "  %s: %s\n", name, json_is_true(v) ? "true" : "false");
}

static char *reg_yaml(json_t *md, const reg_fixed_t *f, const char *auth, reg_error_t *e)
{
    static const struct { const char *metadata, *key; } strings[] = {
        {"client_name", "name"},
        /* the way forward from the relay's pages (docs/pages.md): "Terug
         * naar <name>" and "Opnieuw inloggen"; client_uri is required
         * outside development, as home_page is for a configured client */
        {"client_uri", "home_page"},
        {"initiate_login_uri", "initiate_login_uri"},
        {"id_token_signed_response_alg", "id_token_alg"},
        {"userinfo_signed_response_alg", "userinfo_signed_response_alg"},
        {"backchannel_logout_uri", "backchannel_logout_uri"},
        /* OIDC Registration §2: encrypted to a key of the client's jwks */
        {"id_token_encrypted_response_alg", "id_token_encrypted_response_alg"},
        {"id_token_encrypted_response_enc", "id_token_encrypted_response_enc"},
        {"userinfo_encrypted_response_alg", "userinfo_encrypted_response_alg"},
        {"userinfo_encrypted_response_enc", "userinfo_encrypted_response_enc"},
        /* RFC 8705 §2.1.2: the certificate's subject of a tls_client_auth client */
        {"tls_client_auth_subject_dn", "tls_client_auth_subject_dn"},
        {"tls_client_auth_san_dns", "tls_client_auth_san_dns"},
        {"tls_client_auth_san_uri", "tls_client_auth_san_uri"},
        {"tls_client_auth_san_email", "tls_client_auth_san_email"},
    };
    static const char *const bools[] = {"backchannel_logout_session_required", "require_pushed_authorization_requests",
                                        "require_signed_request_object", NULL};
    zr_buf_t b;
    json_t *jwks = json_object_get(md, "jwks"), *acr = json_object_get(md, "default_acr_values");
    const char *s = NULL;
    char *jwks_text = NULL, *out = NULL;

    zr_buf_init(&b);
    if (zr_buf_printf(&b, "# Registered through %s (RFC 7591); managed with RFC 7592. Written by zorgrelay:\n"
                          "# bsn_entitled is the operator's to set.\nregistration:\n", "/register") != 0 ||
        yaml_str(&b, "  ", "care_provider", f->care_provider) != 0 ||
        zr_buf_printf(&b, "  client_id_issued_at: %lld\n", f->issued_at) != 0 ||
        yaml_str(&b, "  ", "access_token_hmac", f->token_hmac) != 0 || zr_buf_appends(&b, "client:\n") != 0 ||
        yaml_str(&b, "  ", "client_id", f->client_id) != 0 ||
        yaml_str(&b, "  ", "care_provider", f->care_provider) != 0 || yaml_str(&b, "  ", "auth_method", auth) != 0 ||
        zr_buf_printf(&b, "  bsn_entitled: %s\n", f->bsn_entitled ? "true" : "false") != 0)
        goto oom;
    for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
        if (reg_string(md, strings[i].metadata, &s, e) != 0)
            goto end;
        if (s && yaml_str(&b, "  ", strings[i].key, s) != 0)
            goto oom;
    }
    if (f->secret_sha256 && yaml_str(&b, "  ", "client_secret_sha256", f->secret_sha256) != 0)
        goto oom;
    /* The level of assurance the portal asks for (OIDC Registration §2
     * default_acr_values: the first); substantial when it names none,
     * the level NL healthcare asks for access to medical data. */
    if (acr && !json_is_array(acr)) {
        reg_fail(e, 400, "invalid_client_metadata", "default_acr_values must be an array of acr values");
        goto end;
    }
    s = acr ? json_string_value(json_array_get(acr, 0)) : "substantial";
    if (!s) {
        reg_fail(e, 400, "invalid_client_metadata", "default_acr_values must hold at least one string");
        goto end;
    }
    if (yaml_str(&b, "  ", "min_loa", s) != 0)
        goto oom;
    if (jwks) {
        if (!json_is_object(jwks)) {
            reg_fail(e, 400, "invalid_client_metadata", "jwks must be a JWK Set (an object with \"keys\")");
            goto end;
        }
        if (!(jwks_text = json_dumps(jwks, JSON_COMPACT)) || yaml_str(&b, "  ", "jwks", jwks_text) != 0)
            goto oom;
    }
    if (reg_list(&b, md, "redirect_uris", "redirect_uris", 1, "invalid_redirect_uri", e) != 0 ||
        reg_list(&b, md, "post_logout_redirect_uris", "post_logout_redirect_uris", 0, "invalid_client_metadata",
                 e) != 0)
        goto end;
    for (size_t i = 0; bools[i]; i++)
        if (reg_bool(&b, md, bools[i], e) != 0)
            goto end;
    out = zr_buf_steal(&b);
    goto end;
oom:
    reg_fail(e, 500, "server_error", "out of memory");
end:
    zr_buf_free(&b);
    free(jwks_text);
    return out;
}

/* What a client may not send, or may send only in one form. */
static int reg_screen(json_t *md, reg_error_t *e)
{
    const char *subject_type = NULL;
    if (json_object_get(md, "software_statement")) {
        reg_fail(e, 400, "invalid_software_statement",
                 "software statements are not accepted: the initial access token names the care provider");
        return -1;
    }
    for (size_t i = 0; reg_unsupported[i]; i++)
        if (json_object_get(md, reg_unsupported[i])) {
            reg_fail(e, 400, "invalid_client_metadata", "%s is not supported%s", reg_unsupported[i],
                     !strcmp(reg_unsupported[i], "jwks_uri") ? ": send the public keys by value in jwks" : "");
            return -1;
        }
    if (reg_only(md, "grant_types", "authorization_code", e) != 0 || reg_only(md, "response_types", "code", e) != 0)
        return -1;
    if (reg_string(md, "subject_type", &subject_type, e) != 0)
        return -1;
    if (subject_type && strcmp(subject_type, "pairwise") != 0) {
        reg_fail(e, 400, "invalid_client_metadata", "subject_type: only pairwise is supported");
        return -1;
    }
    return 0;
}

static const char *reg_auth(json_t *md, reg_error_t *e)
{
    const char *m = NULL;
    if (reg_string(md, "token_endpoint_auth_method", &m, e) != 0)
        return NULL;
    if (!m)
        return "client_secret_basic"; /* RFC 7591 §2 */
    for (size_t i = 0; reg_auth_methods[i]; i++)
        if (!strcmp(m, reg_auth_methods[i]))
            return reg_auth_methods[i];
    reg_fail(e, 400, "invalid_client_metadata", "token_endpoint_auth_method '%s' is not supported (private_key_jwt, "
                                                "tls_client_auth, client_secret_basic)", m);
    return NULL;
}

char *zr_oidc_registration_yaml(json_t *md, const char *client_id, const char *care_provider, const char **error)
{
    static const char zeros[] = "0000000000000000000000000000000000000000000000000000000000000000";
    reg_fixed_t f = {client_id, care_provider, zeros, NULL, 1765040400LL, 0};
    reg_error_t e = {0};
    const char *auth;
    char *yaml = NULL;
    *error = NULL;
    if (reg_screen(md, &e) == 0 && (auth = reg_auth(md, &e)) != NULL) {
        if (!strcmp(auth, "client_secret_basic"))
            f.secret_sha256 = zeros;
        yaml = reg_yaml(md, &f, auth, &e);
    }
    if (!yaml)
        *error = e.error ? e.error : "server_error";
    return yaml;
}

/* The configuration's name of a key -> the metadata's (for a refusal). */
static void reg_describe(const char *line, reg_error_t *e)
{
    static const struct { const char *key, *metadata; } names[] = {
        {"auth_method", "token_endpoint_auth_method"}, {"id_token_alg", "id_token_signed_response_alg"},
        {"name", "client_name"}, {"client_secret_sha256", "client_secret"}, {"min_loa", "default_acr_values"},
        {"home_page", "client_uri"}};
    const char *p = strstr(line, ": client.");
    const char *what = p ? p + 9 : NULL;
    if (!what) { /* not about one key: no file name in the answer */
        reg_fail(e, 400, "invalid_client_metadata", "the metadata are not valid");
        return;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t n = strlen(names[i].key);
        if (!strncmp(what, names[i].key, n) && (what[n] == ':' || what[n] == '[' || what[n] == '.')) {
            reg_fail(e, 400, "invalid_client_metadata", "%s%s", names[i].metadata, what + n);
            return;
        }
    }
    reg_fail(e, 400, !strncmp(what, "redirect_uris", 13) ? "invalid_redirect_uri" : "invalid_client_metadata", "%s",
             what);
}

/* Writes the candidate beside the clients (a dot file the loader skips),
 * judges it with the loader, then publishes it by rename. */
static int reg_write(const zr_oidc_t *op, const char *client_id, const char *yaml, reg_error_t *e)
{
    const char *dir = op->cfg->oidc.registration_dir;
    zr_config_errors_t errs = {0};
    char name[200], *pending = NULL, *final = NULL, *unique = NULL, err[300];
    int rc = -1;
    /* Its own name: two updates of one client may run at once. */
    if (!(unique = reg_random(9)) || asprintf(&final, "%s/%s.yaml", dir, client_id) < 0) {
        final = NULL;
        reg_fail(e, 500, "server_error", "out of memory");
        goto end;
    }
    snprintf(name, sizeof(name), ".%s.%s.pending", client_id, unique);
    if (asprintf(&pending, "%s/%s", dir, name) < 0) {
        pending = NULL;
        reg_fail(e, 500, "server_error", "out of memory");
        goto end;
    }
    if (zr_config_write_atomic(dir, name, yaml, strlen(yaml), err, sizeof(err)) != 0) {
        zr_log_error("register", "client %s: %s", client_id, err);
        reg_fail(e, 500, "server_error", "the registration could not be stored");
        goto end;
    }
    if (zr_config_registered_check(op->cfg, pending, &errs, NULL) != 0) {
        reg_describe(errs.count ? errs.lines[0] : "the metadata are not valid", e);
        goto end;
    }
    if (rename(pending, final) != 0) {
        zr_log_error("register", "client %s: cannot rename %s: %m", client_id, pending);
        reg_fail(e, 500, "server_error", "the registration could not be stored");
        goto end;
    }
    rc = 0;
end:
    if (pending)
        unlink(pending);
    free(pending);
    free(final);
    free(unique);
    zr_config_errors_free(&errs);
    return rc;
}

char *zr_oidc_registered_info(const zr_oidc_t *op, const zr_client_t *c)
{
    json_t *o = json_object(), *a;
    char *uri = NULL, *out = NULL;
    int bad;
    if (!o || asprintf(&uri, "%s?client_id=%s", op->registration_endpoint, c->client_id) < 0) {
        uri = NULL;
        goto end;
    }
    bad = zr_oidc_json_set_str(o, "client_id", c->client_id) ||
          zr_oidc_json_set(o, "client_id_issued_at", json_integer(c->client_id_issued_at)) ||
          zr_oidc_json_set_str(o, "registration_client_uri", uri) || zr_oidc_json_set_str(o, "client_name", c->name) ||
          zr_oidc_json_set_str(o, "token_endpoint_auth_method",
                               c->auth_method == ZR_CLIENT_AUTH_PRIVATE_KEY_JWT   ? "private_key_jwt"
                               : c->auth_method == ZR_CLIENT_AUTH_TLS_CLIENT_AUTH ? "tls_client_auth"
                                                                                  : "client_secret_basic") ||
          zr_oidc_json_set(o, "grant_types", json_pack("[s]", "authorization_code")) ||
          zr_oidc_json_set(o, "response_types", json_pack("[s]", "code")) ||
          zr_oidc_json_set_str(o, "subject_type", "pairwise") ||
          zr_oidc_json_set_str(o, "id_token_signed_response_alg", zr_oidc_alg_name(c->id_token_alg)) ||
          zr_oidc_json_set(o, "default_acr_values", json_pack("[s]", zr_loa_uri(c->min_loa)));
    if (!bad && c->auth_method == ZR_CLIENT_AUTH_SECRET_BASIC)
        bad = zr_oidc_json_set(o, "client_secret_expires_at", json_integer(0));
    if (!bad && c->jwks_json)
        bad = zr_oidc_json_set(o, "jwks", json_loads(c->jwks_json, 0, NULL));
    if (!bad && c->userinfo_signed)
        bad = zr_oidc_json_set_str(o, "userinfo_signed_response_alg", zr_oidc_alg_name(c->userinfo_alg));
    if (!bad)
        bad = zr_oidc_json_set_opt(o, "client_uri", c->home_page) ||
              zr_oidc_json_set_opt(o, "initiate_login_uri", c->initiate_login_uri);
    if (!bad && c->userinfo_encrypted)
        bad = zr_oidc_json_set_str(o, "userinfo_encrypted_response_alg", zr_jwe_alg_names[c->userinfo_enc_alg]) ||
              zr_oidc_json_set_str(o, "userinfo_encrypted_response_enc", zr_jwe_enc_names[0]);
    if (!bad && c->id_token_encrypted)
        bad = zr_oidc_json_set_str(o, "id_token_encrypted_response_alg", zr_jwe_alg_names[c->id_token_enc_alg]) ||
              zr_oidc_json_set_str(o, "id_token_encrypted_response_enc", zr_jwe_enc_names[0]);
    if (!bad)
        bad = zr_oidc_json_set_opt(o, "tls_client_auth_subject_dn", c->tls_client_auth_subject_dn) ||
              zr_oidc_json_set_opt(o, "tls_client_auth_san_dns", c->tls_client_auth_san_dns) ||
              zr_oidc_json_set_opt(o, "tls_client_auth_san_uri", c->tls_client_auth_san_uri) ||
              zr_oidc_json_set_opt(o, "tls_client_auth_san_email", c->tls_client_auth_san_email);
    if (!bad && (a = json_array())) {
        for (size_t i = 0; i < c->redirect_uri_count; i++)
            bad |= json_array_append_new(a, json_string(c->redirect_uris[i]));
        bad |= zr_oidc_json_set(o, "redirect_uris", a);
    }
    if (!bad && c->post_logout_redirect_uri_count && (a = json_array())) {
        for (size_t i = 0; i < c->post_logout_redirect_uri_count; i++)
            bad |= json_array_append_new(a, json_string(c->post_logout_redirect_uris[i]));
        bad |= zr_oidc_json_set(o, "post_logout_redirect_uris", a);
    }
    if (!bad && c->backchannel_logout_uri)
        bad = zr_oidc_json_set_str(o, "backchannel_logout_uri", c->backchannel_logout_uri) ||
              zr_oidc_json_set(o, "backchannel_logout_session_required",
                               json_boolean(c->backchannel_logout_session_required));
    if (!bad)
        bad = zr_oidc_json_set(o, "require_pushed_authorization_requests",
                               json_boolean(c->require_pushed_authorization_requests)) ||
              zr_oidc_json_set(o, "require_signed_request_object", json_boolean(c->require_signed_request_object));
    if (!bad)
        out = json_dumps(o, JSON_COMPACT);
end:
    free(uri);
    json_decref(o);
    return out;
}

/* The answer: the client as now served, plus what only this answer shows. */
static int reg_answer(zr_http_response_t *resp, int status, char *info, const char *access_token, const char *secret)
{
    json_t *o = info ? json_loads(info, 0, NULL) : NULL;
    char *body = NULL;
    int rc = -1;
    if (!o || zr_oidc_json_set_str(o, "registration_access_token", access_token) != 0 ||
        zr_oidc_json_set_opt(o, "client_secret", secret) != 0 || !(body = json_dumps(o, JSON_COMPACT)))
        goto end;
    if (zr_http_respond_json(resp, status, body) != 0 || zr_http_set_header(resp, "Cache-Control", "no-store") != 0 ||
        zr_http_set_header(resp, "Pragma", "no-cache") != 0)
        goto end;
    rc = 0;
end:
    if (body)
        zr_oidc_wipe_free(body);
    json_decref(o);
    return rc;
}

static json_t *reg_body(const zr_http_request_t *req, reg_error_t *e)
{
    const char *ct = zr_kv_get(&req->headers, "content-type");
    json_t *md;
    if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
        reg_fail(e, 400, "invalid_client_metadata", "the metadata must be sent as application/json");
        return NULL;
    }
    if (!req->body || !(md = zr_json_parse_object(req->body, req->body_len, REG_BODY_MAX, NULL))) {
        reg_fail(e, 400, "invalid_client_metadata", "the body is not a JSON object");
        return NULL;
    }
    return md;
}

static int reg_create(zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                      const zr_oidc_registrar_t *r, const char *initial, reg_error_t *e)
{
    json_t *md = NULL;
    reg_fixed_t f = {0};
    char *owner = NULL, *id_part = NULL, *client_id = NULL, *access = NULL, *secret = NULL, *yaml = NULL;
    char *info = NULL, hmac[65], sha[65];
    const char *auth;
    uint8_t digest[32];
    int rc = 0, claimed = 0, st;

    st = initial ? zr_config_registration_token_read(op->cfg, initial, &owner) : 1;
    if (st != 0) {
        if (st < 0)
            zr_log_error("register", "an initial access token's record cannot be read");
        reg_fail(e, 401, "invalid_token", "an unused, unexpired initial access token is required (RFC 7591 §3)");
        goto end;
    }
    if (!(md = reg_body(req, e)) || reg_screen(md, e) != 0 || !(auth = reg_auth(md, e)))
        goto end;
    if (!(id_part = reg_random(16)) || asprintf(&client_id, "dcr-%s", id_part) < 0 || !(access = reg_random(32)) ||
        zr_config_registration_hash(op->cfg, access, hmac) != 0) {
        client_id = NULL;
        reg_fail(e, 500, "server_error", "out of memory");
        goto end;
    }
    if (!strcmp(auth, "client_secret_basic")) {
        if (!(secret = reg_random(32)) || zr_crypto_sha256((const uint8_t *)secret, strlen(secret), digest) != 0) {
            reg_fail(e, 500, "server_error", "out of memory");
            goto end;
        }
        for (int i = 0; i < 32; i++)
            snprintf(sha + 2 * i, 3, "%02x", digest[i]);
        f.secret_sha256 = sha;
    }
    f.client_id = client_id;
    f.care_provider = owner;
    f.token_hmac = hmac;
    f.issued_at = (long long)time(NULL);
    if (!(yaml = reg_yaml(md, &f, auth, e)))
        goto end;
    /* Claimed only now: a refused metadata set leaves the token usable. */
    if ((st = zr_config_registration_token_claim(op->cfg, initial)) != 0) {
        reg_fail(e, 401, "invalid_token", "this initial access token was used");
        goto end;
    }
    claimed = 1;
    if (reg_write(op, client_id, yaml, e) != 0)
        goto end;
    if (r->apply(r->ctx, client_id, 1, &info) != 0 || !info) {
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s.yaml", op->cfg->oidc.registration_dir, client_id);
        unlink(path);
        zr_log_error("register", "client %s: the configuration with it was not taken (see the reload lines)",
                     client_id);
        reg_fail(e, 500, "server_error", "the registration could not be applied");
        goto end;
    }
    zr_config_registration_token_settle(op->cfg, initial, 1);
    claimed = 0;
    zr_log_info("register", "client %s registered for care provider %s (%s, bsn_entitled false)", client_id, owner,
                auth);
    rc = reg_answer(resp, 201, info, access, secret);
    e->status = 0;
end:
    if (claimed)
        zr_config_registration_token_settle(op->cfg, initial, 0);
    json_decref(md);
    free(owner);
    free(id_part);
    free(client_id);
    if (access)
        zr_oidc_wipe_free(access);
    if (secret)
        zr_oidc_wipe_free(secret);
    free(yaml);
    free(info);
    OPENSSL_cleanse(sha, sizeof(sha));
    return rc;
}

/* The registered client the registration access token belongs to, or NULL. */
static const zr_client_t *reg_client(const zr_oidc_t *op, const zr_http_request_t *req, const char *token,
                                     reg_error_t *e)
{
    const char *id = zr_kv_get(&req->query, "client_id");
    const zr_client_t *c = id ? zr_oidc_find_client(op, id) : NULL;
    char hmac[65];
    if (!token || !c || !c->registration_file || !c->registration_token_hmac ||
        zr_config_registration_hash(op->cfg, token, hmac) != 0 || CRYPTO_memcmp(hmac, c->registration_token_hmac, 64)) {
        /* The same answer for an unknown client and another's token. */
        reg_fail(e, 401, "invalid_token", "the registration access token is not valid for this client");
        return NULL;
    }
    return c;
}

static int reg_update(zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                      const zr_oidc_registrar_t *r, const zr_client_t *c, const char *token, reg_error_t *e)
{
    static const char *const server_only[] = {"registration_access_token", "registration_client_uri",
                                              "client_secret_expires_at", "client_id_issued_at", NULL};
    json_t *md = NULL;
    reg_fixed_t f = {0};
    const char *auth, *id = NULL, *sent_secret = NULL;
    char *secret = NULL, *yaml = NULL, *info = NULL, sha[65];
    zr_config_errors_t errs = {0};
    uint8_t digest[32];
    int rc = 0;

    if (!(md = reg_body(req, e)) || reg_string(md, "client_id", &id, e) != 0)
        goto end;
    /* RFC 7592 §2.2: the same client_id, and none of the server's own fields. */
    if (!id || strcmp(id, c->client_id) != 0) {
        reg_fail(e, 400, "invalid_client_metadata", "client_id must be included and cannot change");
        goto end;
    }
    for (size_t i = 0; server_only[i]; i++)
        if (json_object_get(md, server_only[i])) {
            reg_fail(e, 400, "invalid_request", "%s is the server's and must not be sent", server_only[i]);
            goto end;
        }
    if (reg_string(md, "client_secret", &sent_secret, e) != 0 || reg_screen(md, e) != 0 || !(auth = reg_auth(md, e)))
        goto end;
    if (!strcmp(auth, "client_secret_basic") && c->client_secret_sha256) {
        if (sent_secret) {
            zr_crypto_sha256((const uint8_t *)sent_secret, strlen(sent_secret), digest);
            for (int i = 0; i < 32; i++)
                snprintf(sha + 2 * i, 3, "%02x", digest[i]);
            if (CRYPTO_memcmp(sha, c->client_secret_sha256, 64) != 0) {
                reg_fail(e, 400, "invalid_client_metadata", "client_secret does not match the client's");
                goto end;
            }
        }
        f.secret_sha256 = c->client_secret_sha256;
    } else if (!strcmp(auth, "client_secret_basic")) {
        /* Moving to a secret: a new one, shown in this answer only. */
        if (!(secret = reg_random(32)) || zr_crypto_sha256((const uint8_t *)secret, strlen(secret), digest) != 0) {
            reg_fail(e, 500, "server_error", "out of memory");
            goto end;
        }
        for (int i = 0; i < 32; i++)
            snprintf(sha + 2 * i, 3, "%02x", digest[i]);
        f.secret_sha256 = sha;
    }
    f.client_id = c->client_id;
    f.care_provider = c->care_provider;
    f.token_hmac = c->registration_token_hmac;
    f.issued_at = c->client_id_issued_at;
    /* The operator's choice as the file says now, reloaded or not yet. */
    f.bsn_entitled = c->bsn_entitled;
    if (zr_config_registered_check(op->cfg, c->registration_file, &errs, &f.bsn_entitled) != 0)
        f.bsn_entitled = c->bsn_entitled;
    if (!(yaml = reg_yaml(md, &f, auth, e)) || reg_write(op, c->client_id, yaml, e) != 0)
        goto end;
    if (r->apply(r->ctx, c->client_id, 1, &info) != 0 || !info) {
        reg_fail(e, 500, "server_error", "the update is stored but not yet applied; the next reload applies it");
        goto end;
    }
    zr_log_info("register", "client %s updated (RFC 7592)", c->client_id);
    rc = reg_answer(resp, 200, info, token, secret);
    e->status = 0;
end:
    json_decref(md);
    if (secret)
        zr_oidc_wipe_free(secret);
    free(yaml);
    free(info);
    zr_config_errors_free(&errs);
    return rc;
}

int zr_oidc_handle_register(zr_oidc_t *op, const zr_http_request_t *req, zr_http_response_t *resp,
                            const zr_oidc_registrar_t *r)
{
    const char *token = reg_bearer(req);
    const zr_client_t *c;
    reg_error_t e = {0};
    char *info = NULL, *id = NULL;
    int rc = 0;

    if (!op->cfg->oidc.registration_dir) {
        reg_fail(&e, 404, "invalid_request", "dynamic client registration is not offered here");
        goto end;
    }
    if (!strcmp(req->method, "POST")) {
        rc = reg_create(op, req, resp, r, token, &e);
        goto end;
    }
    if (!(c = reg_client(op, req, token, &e)))
        goto end;
    if (!strcmp(req->method, "GET")) {
        if (!(info = zr_oidc_registered_info(op, c))) {
            reg_fail(&e, 500, "server_error", "out of memory");
            goto end;
        }
        rc = reg_answer(resp, 200, info, token, NULL);
    } else if (!strcmp(req->method, "PUT")) {
        rc = reg_update(op, req, resp, r, c, token, &e);
    } else if (!strcmp(req->method, "DELETE")) {
        /* Gone from the directory is gone for every process (the
         * configuration serves a registered client only while its file is
         * there); the reload then drops it from memory. */
        if (!(id = strdup(c->client_id)) || unlink(c->registration_file) != 0) {
            zr_log_error("register", "client %s: cannot remove its file: %m", c->client_id);
            reg_fail(&e, 500, "server_error", "the client could not be deleted");
            goto end;
        }
        r->apply(r->ctx, id, 0, NULL);
        zr_log_info("register", "client %s deleted (RFC 7592)", id);
        rc = zr_http_respond(resp, 204, "application/json", "", 0);
    }
end:
    if (e.status)
        rc = reg_respond_error(resp, &e);
    free(info);
    free(id);
    return rc;
}
