/* The `claims` request parameter (OIDC Core §5.5): which of the claims the
 * relay can deliver a client wants in the ID token and at UserInfo.
 * Parsed once at /authorize by the one hardened JSON parser, validated, and
 * kept with the login in a normalised form ({"id_token":{..},"userinfo":{..}},
 * only the members the relay understands). Asking narrows what is delivered
 * (data minimisation); it never widens it: entitlement (the BSN) is decided
 * by zr_oidc_subject_claims before the filter runs. docs/claims.md. */
#include "oidc_internal.h"
#include "zr/json.h"
#include "zr/util.h"

#include <stdlib.h>
#include <string.h>

/* A claims request of a few claims is ~200 bytes; room for every claim
 * the relay knows with values, far below a URL's limit. */
#define ZR_OIDC_CLAIMS_MAX_BYTES 4096

/* One claim's request: null, or an object whose essential is a boolean,
 * value any JSON value and values an array (§5.5.1). Other members are
 * extensions and are ignored. */
static int claim_request_valid(json_t *v)
{
    json_t *m;
    if (json_is_null(v))
        return 1;
    if (!json_is_object(v))
        return 0;
    if ((m = json_object_get(v, "essential")) && !json_is_boolean(m))
        return 0;
    if ((m = json_object_get(v, "values")) && !json_is_array(m))
        return 0;
    if (json_object_get(v, "value") && json_object_get(v, "values"))
        return 0; /* one or the other: "value" is a shorthand of a one-element "values" */
    return 1;
}

/* What is kept of one claim's request: whether it is essential, and a
 * value only where the relay acts on it (the ID token's acr and sub). Other
 * values are not acted on and not stored: a portal could otherwise park a
 * BSN in the pending login. */
static int claim_request_keep(json_t *kept, const char *name, json_t *v, int id_token)
{
    json_t *out, *m;
    if (json_is_null(v))
        return json_object_set_new(kept, name, json_null());
    out = json_object();
    if (!out || json_object_set_new(kept, name, out) != 0)
        return -1;
    if ((m = json_object_get(v, "essential")) && json_object_set(out, "essential", m) != 0)
        return -1;
    if (id_token && (!strcmp(name, "acr") || !strcmp(name, "sub"))) {
        if ((m = json_object_get(v, "value")) && json_object_set(out, "value", m) != 0)
            return -1;
        if ((m = json_object_get(v, "values")) && json_object_set(out, "values", m) != 0)
            return -1;
    }
    return 0;
}

/* The acr values asked for, as a space-separated list the way acr_values
 * has them (acr_minimum in authorize.c reads both); NULL when none. */
static char *acr_list(json_t *acr)
{
    json_t *value = json_object_get(acr, "value"), *values = json_object_get(acr, "values"), *v;
    zr_buf_t b;
    size_t i;
    char *out = NULL;

    zr_buf_init(&b);
    if (json_is_string(value) && zr_buf_appends(&b, json_string_value(value)) != 0)
        goto end;
    json_array_foreach(values, i, v) {
        if (json_is_string(v) &&
            (zr_buf_appends(&b, b.len ? " " : "") != 0 || zr_buf_appends(&b, json_string_value(v)) != 0))
            goto end;
    }
    if (b.len)
        out = zr_buf_steal(&b);
end:
    zr_buf_free(&b);
    return out;
}

int zr_oidc_claims_request_parse(const char *text, zr_oidc_claims_request_t *out, const char **why)
{
    static const char *const targets[] = {"id_token", "userinfo"};
    zr_json_status_t st;
    json_t *root = NULL, *norm = json_object(), *target, *kept, *v;
    const char *name;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    *why = "claims is not a JSON object";
    root = zr_json_parse_object(text, text ? strlen(text) : 0, ZR_OIDC_CLAIMS_MAX_BYTES, &st);
    if (!root || !norm) {
        if (st == ZR_JSON_TOO_LARGE)
            *why = "claims is too large";
        else if (st == ZR_JSON_DUPLICATE_KEY)
            *why = "claims names a member twice";
        goto end;
    }
    /* Top-level members other than these two are not understood: ignored
     * (§5.5). */
    for (size_t t = 0; t < 2; t++) {
        target = json_object_get(root, targets[t]);
        if (!target)
            continue;
        if (!json_is_object(target)) {
            *why = "claims: id_token and userinfo must be objects";
            goto end;
        }
        kept = json_object();
        if (!kept || json_object_set_new(norm, targets[t], kept) != 0)
            goto end;
        json_object_foreach(target, name, v) {
            if (!claim_request_valid(v)) {
                *why = "claims: a claim's request must be null or an object with a boolean essential and an "
                       "array values";
                goto end;
            }
            if (claim_request_keep(kept, name, v, t == 0) != 0)
                goto end;
        }
    }
    /* acr in the ID token (§5.5.1.1): an essential request that names no
     * level the relay offers cannot be met; a voluntary one raises the
     * minimum like acr_values. sub with a value: only that person may log
     * in (§5.5.1); a string, or the request is malformed. */
    target = json_object_get(norm, "id_token");
    if ((v = json_object_get(target, "acr")) && json_is_object(v)) {
        out->acr_values = acr_list(v);
        out->acr_essential = json_is_true(json_object_get(v, "essential"));
    }
    if ((v = json_object_get(target, "sub")) && json_is_object(v) && json_object_get(v, "value")) {
        if (!json_is_string(json_object_get(v, "value"))) {
            *why = "claims: id_token sub value must be a string";
            goto end;
        }
        out->sub = strdup(json_string_value(json_object_get(v, "value")));
        if (!out->sub)
            goto end;
    }
    out->json = json_dumps(norm, JSON_COMPACT | JSON_SORT_KEYS);
    if (!out->json)
        goto end;
    *why = NULL;
    rc = 0;
end:
    if (rc != 0)
        zr_oidc_claims_request_clear(out);
    json_decref(root);
    json_decref(norm);
    return rc;
}

void zr_oidc_claims_request_clear(zr_oidc_claims_request_t *r)
{
    free(r->json);
    free(r->acr_values);
    free(r->sub);
    memset(r, 0, sizeof(*r));
}

/* sub and sub_id_type always stay: every answer names its subject
 * (OIDC Core §5.3.2, §2). */
int zr_oidc_claims_request_filter(const char *request, const char *target, json_t *claims)
{
    json_t *req = NULL, *wanted;
    const char *name;
    json_t *v;
    void *tmp;
    int rc = -1;

    if (!request)
        return 0; /* no claims parameter: everything the client may see */
    req = json_loads(request, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(req))
        goto end;
    wanted = json_object_get(req, target);
    json_object_foreach_safe(claims, tmp, name, v) {
        if (strcmp(name, "sub") != 0 && strcmp(name, "sub_id_type") != 0 && !json_object_get(wanted, name) &&
            json_object_del(claims, name) != 0)
            goto end;
    }
    rc = 0;
end:
    json_decref(req);
    return rc;
}
