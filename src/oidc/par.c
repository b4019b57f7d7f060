/* Pushed authorization requests (RFC 9126). The client pushes its
 * authorization parameters over the back channel, authenticated like at
 * /token, and gets a request_uri to send the browser to /authorize with.
 * The parameters are checked here exactly as /authorize checks them
 * (authorize.c, one place) and again when they are used, under the
 * configuration of that moment. They are kept in the store (hashed key,
 * sealed value) for ZR_OIDC_PAR_LIFETIME_S and taken (GETDEL) by the one
 * /authorize that uses them. Only request_uri values of our own making are
 * accepted: pre-registered request_uri values are not supported (discovery:
 * require_request_uri_registration), and nothing is ever fetched. */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAR_URN_PREFIX "urn:ietf:params:oauth:request_uri:"
#define PAR_RANDOM_BYTES 32
#define PAR_MAX_RANDOM_LEN 64 /* base64url of PAR_RANDOM_BYTES is 43 */

/* The random part of a request_uri of ours, or NULL. */
static const char *par_name(const char *request_uri)
{
    size_t n = strlen(PAR_URN_PREFIX), len;
    const char *r;
    if (!request_uri || strncmp(request_uri, PAR_URN_PREFIX, n) != 0)
        return NULL;
    r = request_uri + n;
    len = strlen(r);
    if (len == 0 || len > PAR_MAX_RANDOM_LEN)
        return NULL;
    for (const char *s = r; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_'))
            return NULL;
    return r;
}

/* Client authentication parameters are about the push, not the login. */
static int par_is_auth_param(const char *name)
{
    return strcmp(name, "client_assertion") == 0 || strcmp(name, "client_assertion_type") == 0;
}

/* {"client_id": ..., "signed": bool, "params": [[name, value], ...]}: a
 * list, so that a parameter given twice stays twice and is refused again
 * when used; signed: they came from a verified request object. */
static char *par_record(const zr_client_t *c, const zr_kvlist_t *params, int signed_object)
{
    json_t *o = json_object(), *a = json_array();
    char *out = NULL;
    int bad = zr_oidc_json_set_str(o, "client_id", c->client_id) ||
              zr_oidc_json_set(o, "signed", json_boolean(signed_object));
    for (size_t i = 0; !bad && i < params->count; i++) {
        json_t *pair = json_array();
        bad |= json_array_append_new(pair, json_string(params->items[i].name)) != 0 ||
               json_array_append_new(pair, json_string(params->items[i].value)) != 0 ||
               json_array_append_new(a, pair) != 0;
    }
    if (!bad && zr_oidc_json_set(o, "params", a) == 0)
        out = json_dumps(o, JSON_COMPACT);
    else
        json_decref(a);
    json_decref(o);
    return out;
}

static int par_error(zr_http_response_t *resp, int status, const char *error, const char *description)
{
    if (zr_oidc_json_error(resp, status, error, description) != 0)
        return -1;
    if (status == 401) /* RFC 6749 §5.2, as at /token */
        zr_http_set_header(resp, "WWW-Authenticate", "Basic realm=\"zorgrelay\"");
    return 0;
}

int zr_oidc_handle_par(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    zr_oidc_client_auth_result_t auth;
    const zr_client_t *c;
    const char *ct, *form_client_id, *error, *description, *request;
    zr_kvlist_t params = {0};
    char *random = NULL, *record = NULL, *request_uri = NULL, *body = NULL;
    json_t *reply = NULL;
    zr_store_status_t st;
    int rc = 0, signed_object = 0, status;

    ct = zr_kv_get(&req->headers, "content-type");
    if (!req->method || strcmp(req->method, "POST") != 0 || !ct ||
        strncasecmp(ct, "application/x-www-form-urlencoded", 33) != 0) {
        rc = par_error(resp, 400, "invalid_request", "POST application/x-www-form-urlencoded only");
        goto end;
    }
    /* RFC 9126 §2: the client authenticates as at the token endpoint. */
    zr_oidc_client_authenticate(op, req, &auth);
    if (!auth.client) {
        zr_log_warn("par", "client authentication refused: %s (%s)", auth.error,
                    auth.description ? auth.description : "-");
        rc = par_error(resp, auth.status, auth.error, auth.description);
        goto end;
    }
    c = auth.client;
    form_client_id = zr_kv_get(&req->form, "client_id");
    if (zr_kv_count(&req->form, "client_id") > 1 || (form_client_id && strcmp(form_client_id, c->client_id) != 0)) {
        rc = par_error(resp, 400, "invalid_request", "client_id is not the authenticated client");
        goto end;
    }
    /* RFC 9126 §2.1: a request_uri cannot be pushed. */
    if (zr_kv_get(&req->form, "request_uri")) {
        rc = par_error(resp, 400, "invalid_request", "request_uri must not be pushed");
        goto end;
    }
    /* The parameters of the login: a signed request object's alone (RFC
     * 9126 §3, RFC 9101 §6.3), or the form without the client's
     * authentication, with the authenticated client's id. */
    request = zr_kv_get(&req->form, "request");
    if (request && zr_kv_count(&req->form, "request") == 1) {
        if (zr_oidc_request_object_read(op, c, request, &params, &description, &status) != 0) {
            zr_log_warn("par", "client=%s request object refused: %s", c->client_id, description);
            rc = par_error(resp, status, status == 400 ? "invalid_request_object" : "temporarily_unavailable",
                           description);
            goto end;
        }
        signed_object = 1;
    } else if (zr_kv_add(&params, "client_id", c->client_id) != 0) {
        goto oom;
    }
    for (size_t i = 0; !signed_object && i < req->form.count; i++) {
        const zr_kv_t *kv = &req->form.items[i];
        if (strcmp(kv->name, "client_id") == 0 || par_is_auth_param(kv->name))
            continue;
        if (zr_kv_add(&params, kv->name, kv->value) != 0)
            goto oom;
    }
    if (zr_oidc_authorize_check(op, &params, signed_object, &error, &description) != 0) {
        /* RFC 9126 §2.3: the errors /authorize would redirect with. */
        zr_log_info("par", "client=%s push refused: %s (%s)", c->client_id, error ? error : "-",
                    description ? description : "-");
        rc = par_error(resp, error && strcmp(error, "server_error") == 0 ? 500 : 400,
                       error ? error : "invalid_request", description);
        goto end;
    }
    random = zr_random_token(PAR_RANDOM_BYTES);
    record = par_record(c, &params, signed_object);
    request_uri = random ? malloc(strlen(PAR_URN_PREFIX) + strlen(random) + 1) : NULL;
    if (!record || !request_uri)
        goto oom;
    sprintf(request_uri, "%s%s", PAR_URN_PREFIX, random);
    st = zr_store_put(op->store, ZR_OIDC_NS_PAR, random, record, strlen(record), ZR_OIDC_PAR_LIFETIME_S);
    if (st != ZR_STORE_OK) {
        zr_log_error("par", "store %s: pushed request not kept", zr_store_status_name(st));
        rc = par_error(resp, 503, "temporarily_unavailable", "try again later");
        goto end;
    }
    reply = json_object();
    if (zr_oidc_json_set_str(reply, "request_uri", request_uri) != 0 ||
        zr_oidc_json_set(reply, "expires_in", json_integer(ZR_OIDC_PAR_LIFETIME_S)) != 0 ||
        !(body = json_dumps(reply, JSON_COMPACT)))
        goto oom;
    /* RFC 9126 §2.2: 201 Created, not to be cached. */
    if (zr_http_respond_json(resp, 201, body) != 0 || zr_http_set_header(resp, "Cache-Control", "no-store") != 0)
        goto oom;
    zr_log_info("par", "client=%s pushed an authorization request (lives %d s)", c->client_id,
                ZR_OIDC_PAR_LIFETIME_S);
    goto end;
oom:
    rc = par_error(resp, 500, "server_error", NULL);
end:
    zr_kv_free(&params);
    zr_oidc_wipe_free(random);
    zr_oidc_wipe_free(record);
    zr_oidc_wipe_free(request_uri);
    zr_oidc_wipe_free(body);
    json_decref(reply);
    return rc;
}

int zr_oidc_par_take(zr_oidc_t *op, const zr_kvlist_t *query, zr_kvlist_t *out, int *signed_object, char ref[16])
{
    const char *client_id = zr_kv_get(query, "client_id"), *name, *owner;
    char *value = NULL;
    size_t len = 0, i;
    json_t *rec = NULL, *params, *pair;
    json_error_t jerr;
    zr_store_status_t st;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *signed_object = 0;
    zr_oidc_reference(ref);
    /* RFC 9126 §4: client_id is required next to the request_uri. */
    if (zr_kv_count(query, "request_uri") != 1 || zr_kv_count(query, "client_id") != 1) {
        zr_log_warn("authorize", "request_uri without exactly one client_id and request_uri ref=%s", ref);
        goto end;
    }
    if (!(name = par_name(zr_kv_get(query, "request_uri")))) {
        zr_log_warn("authorize", "request_uri is not one of ours (only pushed requests are accepted) ref=%s", ref);
        goto end;
    }
    /* Taken at once: single use even when what follows refuses it. */
    st = zr_store_take(op->store, ZR_OIDC_NS_PAR, name, &value, &len);
    if (st != ZR_STORE_OK) {
        zr_log_warn("authorize", "request_uri %s ref=%s",
                    st == ZR_STORE_NOT_FOUND ? "unknown, used or expired" : zr_store_status_name(st), ref);
        goto end;
    }
    rec = json_loads(value, JSON_REJECT_DUPLICATES, &jerr);
    owner = json_string_value(json_object_get(rec, "client_id"));
    params = json_object_get(rec, "params");
    if (!owner || !json_is_array(params)) {
        zr_log_error("authorize", "pushed request record unreadable ref=%s", ref);
        goto end;
    }
    if (strcmp(owner, client_id) != 0) {
        zr_log_warn("authorize", "client=%s presented a request_uri pushed by another client ref=%s", client_id, ref);
        goto end;
    }
    json_array_foreach(params, i, pair) {
        const char *n = json_string_value(json_array_get(pair, 0)), *v = json_string_value(json_array_get(pair, 1));
        if (!n || !v || zr_kv_add(out, n, v) != 0)
            goto end;
    }
    *signed_object = json_is_true(json_object_get(rec, "signed"));
    rc = 0;
end:
    if (rc != 0)
        zr_kv_free(out);
    zr_oidc_wipe_free(value);
    json_decref(rec);
    return rc;
}

