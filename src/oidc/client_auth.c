/* Client authentication at the token endpoint (RFC 6749 §2.3, OIDC Core §9):
 * client_secret_basic, private_key_jwt (RFC 7523 §3), tls_client_auth
 * (RFC 8705 §2.1) or none, exactly the one method the client is registered
 * for, and never more than one at once. */
#include "oidc_internal.h"
#include "zr/crypto.h"
#include "zr/json.h"
#include "zr/log.h"
#include "zr/util.h"

#include <ctype.h>
#include <openssl/x509v3.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_ASSERTION_LEN 16384
#define MAX_JTI_LEN 256

static void fail(zr_oidc_client_auth_result_t *out, int status, const char *error, const char *description)
{
    out->client = NULL;
    out->status = status;
    out->error = error;
    out->description = description;
}

/* Constant time against the clear secret or its hex SHA-256. */
static int secret_matches(const zr_client_t *c, const char *given)
{
    uint8_t h[32];
    char *hex = NULL, want[65];
    size_t n;
    int ok = 0;

    if (c->client_secret && *c->client_secret) {
        ok = zr_secure_equal(given, strlen(given), c->client_secret, strlen(c->client_secret));
    } else if (c->client_secret_sha256 && (n = strlen(c->client_secret_sha256)) == 64) {
        for (size_t i = 0; i < n; i++)
            want[i] = (char)tolower((unsigned char)c->client_secret_sha256[i]);
        want[64] = '\0';
        if (zr_crypto_sha256((const uint8_t *)given, strlen(given), h) == 0 && (hex = zr_hex_encode(h, 32)))
            ok = zr_secure_equal(hex, strlen(hex), want, 64);
    }
    free(hex);
    OPENSSL_cleanse(h, sizeof(h));
    return ok;
}

/* Authorization: Basic base64(urlencode(id) ":" urlencode(secret)). */
static void auth_basic(zr_oidc_t *op, const char *header, zr_oidc_client_auth_result_t *out)
{
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    char *id = NULL, *secret = NULL, *colon;
    const zr_client_t *c;

    out->basic = 1;
    while (*header == ' ')
        header++;
    if (zr_base64_decode(header, &raw, &raw_len) != 0 || memchr(raw, '\0', raw_len) ||
        !(colon = memchr(raw, ':', raw_len))) {
        fail(out, 401, "invalid_client", "malformed HTTP Basic credentials");
        goto end;
    }
    id = zr_url_decode((const char *)raw, (size_t)(colon - (char *)raw));
    secret = zr_url_decode(colon + 1, raw_len - (size_t)(colon + 1 - (char *)raw));
    c = id ? zr_oidc_find_client(op, id) : NULL;
    if (!c || !secret || c->auth_method != ZR_CLIENT_AUTH_SECRET_BASIC || !secret_matches(c, secret)) {
        zr_log_warn("token", "client authentication failed (client_secret_basic) client=%s",
                    c ? c->client_id : "unknown");
        fail(out, 401, "invalid_client", "client authentication failed");
        goto end;
    }
    out->client = c;
end:
    if (raw) {
        OPENSSL_cleanse(raw, raw_len);
        free(raw);
    }
    free(id);
    zr_oidc_wipe_free(secret);
}

static int alg_allowed(const char *alg)
{
    static const char *const ok[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"};
    for (size_t i = 0; alg && i < sizeof(ok) / sizeof(ok[0]); i++)
        if (strcmp(alg, ok[i]) == 0)
            return 1;
    return 0;
}

/* RFC 7523 §3 item 3: aud identifies us: the issuer, or the URL of the
 * endpoint the assertion authenticates at (token, introspection or PAR,
 * RFC 9126 §2). */
static int aud_value_ok(const zr_oidc_t *op, json_t *v)
{
    const char *a = json_string_value(v);
    return a && (strcmp(a, op->token_endpoint) == 0 || strcmp(a, op->issuer) == 0 ||
                 (op->introspection_endpoint && strcmp(a, op->introspection_endpoint) == 0) ||
                 (op->par_endpoint && strcmp(a, op->par_endpoint) == 0));
}

static int aud_ok(const zr_oidc_t *op, json_t *aud)
{
    size_t i;
    json_t *v;
    if (json_is_string(aud))
        return aud_value_ok(op, aud);
    if (!json_is_array(aud))
        return 0;
    json_array_foreach(aud, i, v) {
        if (aud_value_ok(op, v))
            return 1;
    }
    return 0;
}

/* The client named by an unverified assertion: iss (== sub, checked after
 * the signature). Only used to pick the keys to verify with. */
static char *assertion_issuer(cjose_jws_t *jws)
{
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    json_t *claims;
    char *iss = NULL;

    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr))
        return NULL;
    claims = zr_json_parse_object((const char *)plain, plain_len, MAX_ASSERTION_LEN, NULL);
    if (json_is_string(json_object_get(claims, "iss")))
        iss = strdup(json_string_value(json_object_get(claims, "iss")));
    json_decref(claims);
    return iss;
}

int zr_oidc_client_jws_verify(const zr_oidc_t *op, const zr_client_t *c, cjose_jws_t *jws, const char *kid)
{
    const zr_oidc_client_keys_t *ck = zr_oidc_client_keys(op, c);
    cjose_err cerr;

    for (size_t i = 0; ck && i < ck->count; i++) {
        /* With a kid only that key may verify (no key confusion). */
        if (kid && (!ck->kids[i] || strcmp(kid, ck->kids[i]) != 0))
            continue;
        if (cjose_jws_verify(jws, ck->keys[i], &cerr))
            return 1;
    }
    return 0;
}

/* private_key_jwt (RFC 7523 §3, OIDC Core §9). */
static void auth_assertion(zr_oidc_t *op, const zr_http_request_t *req, zr_oidc_client_auth_result_t *out)
{
    const char *type = zr_kv_get(&req->form, "client_assertion_type");
    const char *assertion = zr_kv_get(&req->form, "client_assertion");
    const char *form_client_id = zr_kv_get(&req->form, "client_id");
    const zr_client_t *c = NULL;
    cjose_jws_t *jws = NULL;
    cjose_header_t *hdr;
    cjose_err cerr;
    uint8_t *plain = NULL;
    size_t plain_len = 0;
    json_t *claims = NULL, *exp, *iat, *strict_hdr = NULL;
    char *iss = NULL, *jti_name = NULL;
    const char *alg, *kid, *sub, *jti;
    time_t now = zr_time_now();
    zr_store_status_t st;

    if (!type || strcmp(type, ZR_OIDC_JWT_BEARER) != 0) {
        fail(out, 400, "invalid_client", "client_assertion_type must be " ZR_OIDC_JWT_BEARER);
        goto end;
    }
    /* The header through the hardened parser first: cjose would take
     * duplicate keys and choose one of them itself. */
    if (strlen(assertion) > MAX_ASSERTION_LEN || !(strict_hdr = zr_json_jose_header(assertion)) ||
        !(jws = cjose_jws_import(assertion, strlen(assertion), &cerr))) {
        fail(out, 401, "invalid_client", "client_assertion is not a JWS");
        goto end;
    }
    hdr = cjose_jws_get_protected(jws);
    alg = hdr ? cjose_header_get(hdr, CJOSE_HDR_ALG, &cerr) : NULL;
    kid = hdr ? cjose_header_get(hdr, CJOSE_HDR_KID, &cerr) : NULL;
    if (!alg_allowed(alg)) {
        fail(out, 401, "invalid_client", "client_assertion algorithm not allowed");
        goto end;
    }
    iss = assertion_issuer(jws);
    c = iss ? zr_oidc_find_client(op, iss) : NULL;
    if (!c || c->auth_method != ZR_CLIENT_AUTH_PRIVATE_KEY_JWT ||
        (form_client_id && strcmp(form_client_id, c->client_id) != 0)) {
        zr_log_warn("token", "client assertion for unknown or non-private_key_jwt client");
        fail(out, 401, "invalid_client", "client authentication failed");
        goto end;
    }
    if (!zr_oidc_client_jws_verify(op, c, jws, kid)) {
        zr_log_warn("token", "client=%s assertion signature not valid with its registered keys", c->client_id);
        fail(out, 401, "invalid_client", "client_assertion signature invalid");
        goto end;
    }
    if (!cjose_jws_get_plaintext(jws, &plain, &plain_len, &cerr) ||
        !(claims = zr_json_parse_object((const char *)plain, plain_len, MAX_ASSERTION_LEN, NULL))) {
        fail(out, 401, "invalid_client", "client_assertion claims unreadable");
        goto end;
    }
    sub = json_string_value(json_object_get(claims, "sub"));
    jti = json_string_value(json_object_get(claims, "jti"));
    exp = json_object_get(claims, "exp");
    iat = json_object_get(claims, "iat");
    if (!sub || strcmp(sub, c->client_id) != 0) {
        fail(out, 401, "invalid_client", "client_assertion sub must be the client_id");
        goto end;
    }
    if (!aud_ok(op, json_object_get(claims, "aud"))) {
        fail(out, 401, "invalid_client", "client_assertion aud must be the issuer or the endpoint called");
        goto end;
    }
    if (!json_is_integer(exp) && !json_is_real(exp)) {
        fail(out, 401, "invalid_client", "client_assertion has no exp");
        goto end;
    }
    if ((time_t)json_number_value(exp) <= now - ZR_OIDC_CLOCK_SKEW_S) {
        fail(out, 401, "invalid_client", "client_assertion expired");
        goto end;
    }
    if ((time_t)json_number_value(exp) > now + ZR_OIDC_ASSERTION_MAX_S + ZR_OIDC_CLOCK_SKEW_S) {
        fail(out, 401, "invalid_client", "client_assertion lives too long (exp at most 60 minutes ahead)");
        goto end;
    }
    if (iat && (!json_is_number(iat) || (time_t)json_number_value(iat) > now + ZR_OIDC_CLOCK_SKEW_S)) {
        fail(out, 401, "invalid_client", "client_assertion issued in the future");
        goto end;
    }
    if (json_object_get(claims, "nbf") && (!json_is_number(json_object_get(claims, "nbf")) ||
                                           (time_t)json_number_value(json_object_get(claims, "nbf")) >
                                               now + ZR_OIDC_CLOCK_SKEW_S)) {
        fail(out, 401, "invalid_client", "client_assertion not yet valid");
        goto end;
    }
    if (!jti || !*jti || strlen(jti) > MAX_JTI_LEN) {
        fail(out, 401, "invalid_client", "client_assertion needs a jti");
        goto end;
    }
    /* Single use (RFC 7523 §3 item 7): remembered until it would expire anyway. */
    jti_name = malloc(strlen(c->client_id) + strlen(jti) + 2);
    if (!jti_name) {
        fail(out, 500, "server_error", NULL);
        goto end;
    }
    sprintf(jti_name, "%s|%s", c->client_id, jti);
    st = zr_store_claim(op->store, ZR_OIDC_NS_CLIENT_ASSERTION, jti_name,
                        (int)((time_t)json_number_value(exp) - now) + 2 * ZR_OIDC_CLOCK_SKEW_S);
    if (st == ZR_STORE_EXISTS) {
        zr_log_warn("token", "client=%s assertion replayed", c->client_id);
        fail(out, 401, "invalid_client", "client_assertion already used");
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("token", "store %s: cannot check assertion replay", zr_store_status_name(st));
        fail(out, 503, "temporarily_unavailable", "try again later");
        goto end;
    }
    out->client = c;
end:
    free(jti_name);
    free(iss);
    json_decref(claims);
    json_decref(strict_hdr);
    cjose_jws_release(jws);
}

/* An ASN1 string that is text without a NUL, as a C string (not copied). */
static const char *asn1_text(const ASN1_STRING *a)
{
    const char *p = a ? (const char *)ASN1_STRING_get0_data(a) : NULL;
    int n = a ? ASN1_STRING_length(a) : 0;
    return p && n > 0 && memchr(p, '\0', (size_t)n) == NULL && p[n] == '\0' ? p : NULL;
}

/* An e-mail address: the local part exact, the domain in any case. */
static int email_equal(const char *a, const char *b)
{
    const char *at_a = strrchr(a, '@'), *at_b = strrchr(b, '@');
    if (!at_a || !at_b || at_a - a != at_b - b || strncmp(a, b, (size_t)(at_a - a)) != 0)
        return 0;
    return strcasecmp(at_a, at_b) == 0;
}

int zr_oidc_client_cert_matches(const zr_client_t *c, X509 *cert)
{
    GENERAL_NAMES *sans = NULL;
    BIO *bio = NULL;
    char *mem = NULL;
    long n;
    int type, ok = 0;
    const char *want;

    if (!cert)
        goto end;
    /* RFC 8705 §2.1.2: the subject DN as a whole, in RFC 4514 form */
    if (c->tls_client_auth_subject_dn) {
        if (!(bio = BIO_new(BIO_s_mem())) ||
            X509_NAME_print_ex(bio, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) < 0 ||
            (n = BIO_get_mem_data(bio, &mem)) < 0)
            goto end;
        ok = (size_t)n == strlen(c->tls_client_auth_subject_dn) &&
             memcmp(mem, c->tls_client_auth_subject_dn, (size_t)n) == 0;
        goto end;
    }
    /* ... or one subjectAltName entry of the registered type */
    if (c->tls_client_auth_san_dns)
        type = GEN_DNS, want = c->tls_client_auth_san_dns;
    else if (c->tls_client_auth_san_uri)
        type = GEN_URI, want = c->tls_client_auth_san_uri;
    else if (c->tls_client_auth_san_email)
        type = GEN_EMAIL, want = c->tls_client_auth_san_email;
    else
        goto end;
    sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; sans && i < sk_GENERAL_NAME_num(sans) && !ok; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, i);
        const char *v;
        if (g->type != type || !(v = asn1_text(g->d.ia5)))
            continue;
        ok = type == GEN_DNS ? strcasecmp(v, want) == 0 : type == GEN_URI ? strcmp(v, want) == 0 : email_equal(v, want);
    }
end:
    GENERAL_NAMES_free(sans);
    BIO_free(bio);
    return ok;
}

/* tls_client_auth (RFC 8705 §2.1): the client names itself with client_id;
 * the certificate of this connection (verified against oidc.mtls.ca_file
 * by the listener) must carry its registered subject. */
static void auth_tls(const zr_client_t *c, const zr_http_request_t *req, zr_oidc_client_auth_result_t *out)
{
    if (!req->client_cert) {
        zr_log_warn("token", "client=%s tls_client_auth without a client certificate that verifies", c->client_id);
        fail(out, 401, "invalid_client", "tls_client_auth needs a client certificate of a trusted CA");
        return;
    }
    if (!zr_oidc_client_cert_matches(c, req->client_cert)) {
        zr_log_warn("token", "client=%s client certificate does not carry its registered subject", c->client_id);
        fail(out, 401, "invalid_client", "the client certificate is not the one registered for this client");
        return;
    }
    out->client = c;
    out->certificate = 1;
}

void zr_oidc_client_authenticate(zr_oidc_t *op, const zr_http_request_t *req, zr_oidc_client_auth_result_t *out)
{
    const char *authz = zr_kv_get(&req->headers, "authorization");
    const char *assertion = zr_kv_get(&req->form, "client_assertion");
    const char *client_id = zr_kv_get(&req->form, "client_id");
    const zr_client_t *c;

    memset(out, 0, sizeof(*out));
    /* a trusted TLS terminator forwarded a certificate that is not one:
     * refused rather than taken for none (docs/mtls.md) */
    if (req->client_cert_invalid) {
        zr_log_warn("token", "the forwarded client certificate does not parse or verify");
        fail(out, 401, "invalid_client", "the forwarded client certificate does not parse or verify");
        return;
    }
    if (zr_kv_get(&req->form, "client_secret")) {
        /* client_secret_post is not offered: secrets belong in a header. */
        fail(out, 401, "invalid_client", "client_secret_post is not supported");
        return;
    }
    if (authz && assertion) {
        fail(out, 400, "invalid_request", "more than one client authentication method");
        return;
    }
    if (authz) {
        if (strncasecmp(authz, "Basic ", 6) != 0) {
            out->basic = 1;
            fail(out, 401, "invalid_client", "unsupported Authorization scheme");
            return;
        }
        auth_basic(op, authz + 6, out);
        if (out->client && client_id && strcmp(client_id, out->client->client_id) != 0) {
            fail(out, 401, "invalid_client", "client_id does not match the credentials");
            out->basic = 1;
        }
        return;
    }
    if (assertion) {
        auth_assertion(op, req, out);
        return;
    }
    /* No credentials in the request: a public client (registered with
     * "none"), or one whose credential is its TLS certificate. */
    c = client_id ? zr_oidc_find_client(op, client_id) : NULL;
    if (c && c->auth_method == ZR_CLIENT_AUTH_TLS_CLIENT_AUTH) {
        auth_tls(c, req, out);
        return;
    }
    if (!c || c->auth_method != ZR_CLIENT_AUTH_NONE) {
        fail(out, 401, "invalid_client", "client authentication required");
        return;
    }
    out->client = c;
}
