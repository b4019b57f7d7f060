/* What the relay records in a login's trace, one function per place in
 * the walk of a login (src/relay/relay.c calls each on one line). Every
 * value is masked here, before it reaches the store. */
#include "zr/diag.h"
#include "diag_internal.h"

#include <stdlib.h>
#include <string.h>

#include <libxml/tree.h>

#include "zr/log.h"
#include "zr/util.h"
#include "zr/xml.h"

#define NS_LOGIN "diag-login"
#define NS_STATE ZR_DIAG_NS_STATE
#define NS_CODE "diag-code"
#define NS_TOKEN "diag-token"
#define NS_ACS "diag-acs"
#define NS_LOGOUT "diag-logout"
#define NS_DEZI "diag-dezi"

/* Adds key -> masked text (NULL values are left out). */
static void set_masked(json_t *o, const char *key, const char *value)
{
    char *m = value ? zr_diag_mask_text(value) : NULL;
    if (m)
        json_object_set_new(o, key, json_string(m));
    free(m);
}

static void set_hashed(json_t *o, const char *key, const char *value)
{
    char *h = value ? zr_diag_hash(value) : NULL;
    if (h)
        json_object_set_new(o, key, json_string(h));
    free(h);
}

static void set_shortened(json_t *o, const char *key, const char *value)
{
    char *m = value ? zr_diag_shorten(value) : NULL;
    if (m)
        json_object_set_new(o, key, json_string(m));
    free(m);
}

static void set_xml(json_t *o, const char *xml, size_t len)
{
    char *m = xml ? zr_diag_mask_xml(xml, len) : NULL;
    if (m)
        json_object_set_new(o, "xml", json_string(m));
    free(m);
}

/* The log shows only the first 8 characters of a trace id. */
static void log_id(const char *id, char out[16])
{
    snprintf(out, 16, "%.8s\xe2\x80\xa6", id);
}

char *zr_diag_state_key(const char *client_id, const char *state)
{
    zr_buf_t b;
    zr_buf_init(&b);
    if (zr_buf_printf(&b, "%s|%s", client_id ? client_id : "", state ? state : "") != 0) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* OIDC Core §3.1.2.1 parameters: shown as sent, except the per-login
 * secrets (hashed) and anything unknown (left out, named). */
static json_t *authorization_params(const zr_kvlist_t *params)
{
    static const char *const plain[] = {"client_id", "redirect_uri", "response_type", "scope", "acr_values",
                                        "code_challenge_method", "prompt", "care_provider", "login_method",
                                        "login_hint", "response_mode", "ui_locales", "max_age", "claims", NULL};
    static const char *const hashed[] = {"state", "nonce", "code_challenge", NULL};
    json_t *o = json_object();
    for (size_t i = 0; i < params->count; i++) {
        const char *name = params->items[i].name, *value = params->items[i].value;
        int done = 0;
        for (size_t k = 0; plain[k] && !done; k++)
            if (strcmp(name, plain[k]) == 0) {
                set_masked(o, name, value);
                done = 1;
            }
        for (size_t k = 0; hashed[k] && !done; k++)
            if (strcmp(name, hashed[k]) == 0) {
                set_hashed(o, name, value);
                done = 1;
            }
        if (!done && strlen(name) < 64 && strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name))
            json_object_set_new(o, name, json_string("(not recorded)"));
    }
    return o;
}

static json_t *authz_params(const zr_oidc_authz_t *a);

void zr_diag_authorize(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                       const zr_oidc_authz_t *authz, const char *relay_state, const char *authn_request_xml)
{
    const zr_kvlist_t *params;
    const char *client_id, *state;
    char id[ZR_DIAG_ID_LEN + 1], shown[16];
    char *state_key = NULL;
    json_t *data;
    int via_chooser;

    if (!zr_diag_enabled(cfg) || !req || !authz || !relay_state)
        return;
    /* The portal's request: as sent when it came to /authorize directly,
     * as validated when the relay's chooser came in between. */
    params = req->form.count ? &req->form : &req->query;
    via_chooser = !zr_kv_get(params, "client_id");
    client_id = authz->client_id;
    state = authz->state;
    if (zr_diag_trace_new(store, cfg, client_id, id) != 0 || zr_diag_link(store, cfg, NS_LOGIN, relay_state, id) != 0) {
        zr_log_warn("trace", "cannot start a trace (store unavailable); the login goes on untraced");
        return;
    }
    if (state && (state_key = zr_diag_state_key(client_id, state)) != NULL)
        zr_diag_link(store, cfg, NS_STATE, state_key, id);
    data = json_object();
    json_object_set_new(data, "method", json_string(req->method ? req->method : "GET"));
    if (!via_chooser) {
        json_object_set_new(data, "params", authorization_params(params));
    } else {
        json_object_set_new(data, "params", authz_params(authz));
        json_object_set_new(data, "via", json_string("the relay's login method chooser"));
    }
    set_hashed(data, "relay_state", relay_state);
    zr_diag_trace_add(store, cfg, id, "oidc.authorization_request", data);
    data = json_object();
    set_xml(data, authn_request_xml, authn_request_xml ? strlen(authn_request_xml) : 0);
    zr_diag_trace_add(store, cfg, id, "saml.authn_request", data);
    log_id(id, shown);
    zr_log_info("trace", "trace=%s started for client=%s", shown, client_id ? client_id : "-");
    free(state_key);
}

void zr_diag_acs_begin(zr_store_t *store, const zr_config_t *cfg, const char *relay_state, const char *samlart)
{
    char id[ZR_DIAG_ID_LEN + 1];
    char *s;
    json_t *data;
    if (!zr_diag_enabled(cfg) || !relay_state || zr_diag_find(store, NS_LOGIN, relay_state, id) != 0)
        return;
    data = json_object();
    s = zr_diag_shorten(samlart);
    if (s)
        json_object_set_new(data, "artifact", json_string(s));
    free(s);
    set_hashed(data, "relay_state", relay_state);
    /* The artifact of a login arrives once; a second time is a replay the
     * relay must refuse (the trace shows how). */
    json_object_set_new(data, "repeat",
                        json_boolean(zr_store_claim(store, NS_ACS, relay_state, cfg->trace.lifetime_s > 0
                                                                                   ? cfg->trace.lifetime_s
                                                                                   : 86400) == ZR_STORE_EXISTS));
    zr_diag_trace_add(store, cfg, id, "saml.artifact", data);
}

/* What a validation result is made of, read from the ArtifactResponse:
 * message IDs, status codes, LoA and attribute names (the Assertion outside
 * Advice, like the validation itself). */
static void collect(xmlNodePtr n, json_t *ids, json_t *codes, json_t *messages, json_t *attrs, json_t *loa,
                    int depth)
{
    for (; n && depth < 64; n = n->next) {
        const char *name;
        if (n->type != XML_ELEMENT_NODE)
            continue;
        name = (const char *)n->name;
        if (strcmp(name, "Advice") == 0)
            continue;
        if (strcmp(name, "ArtifactResponse") == 0 || strcmp(name, "Response") == 0 ||
            strcmp(name, "Assertion") == 0 || strcmp(name, "LogoutResponse") == 0) {
            char *v = zr_xml_attr(n, "ID"), *irt = zr_xml_attr(n, "InResponseTo");
            json_t *e = json_object();
            /* Message IDs as sent: DICTU looks messages up by them. */
            if (v)
                json_object_set_new(e, "ID", json_string(v));
            if (irt)
                json_object_set_new(e, "InResponseTo", json_string(irt));
            if (!json_object_get(ids, name))
                json_object_set_new(ids, name, e);
            else
                json_decref(e);
            free(v);
            free(irt);
        } else if (strcmp(name, "StatusCode") == 0) {
            char *v = zr_xml_attr(n, "Value");
            if (v)
                json_array_append_new(codes, json_string(v));
            free(v);
        } else if (strcmp(name, "StatusMessage") == 0) {
            char *v = zr_xml_text(n), *m = zr_diag_mask_text(v);
            if (m)
                json_array_append_new(messages, json_string(m));
            free(m);
            free(v);
        } else if (strcmp(name, "AuthnContextClassRef") == 0) {
            char *v = zr_xml_text(n);
            if (v && !json_array_size(loa))
                json_array_append_new(loa, json_string(v));
            free(v);
        } else if (strcmp(name, "Attribute") == 0) {
            char *v = zr_xml_attr(n, "Name");
            if (v)
                json_array_append_new(attrs, json_string(v));
            free(v);
        }
        collect(n->children, ids, codes, messages, attrs, loa, depth + 1);
    }
}

static json_t *subject_id(const zr_subject_id_t *s)
{
    json_t *o = json_object();
    char *m = zr_diag_mask_bsn(s->value);
    json_object_set_new(o, "type", json_string(s->id_type ? s->id_type : ""));
    json_object_set_new(o, "value", json_string(m ? m : ""));
    free(m);
    return o;
}

void zr_diag_acs_result(zr_store_t *store, const zr_config_t *cfg, const char *relay_state,
                        zr_saml_backchannel_t *bc, const char *soap, size_t soap_len, zr_saml_status_t status,
                        const char *err, const zr_subject_t *subject)
{
    char id[ZR_DIAG_ID_LEN + 1], perr[256];
    char *sent = NULL;
    json_t *data, *ids, *codes, *messages, *attrs, *loa;
    xmlDocPtr doc = NULL;

    if (!zr_diag_enabled(cfg) || !relay_state || zr_diag_find(store, NS_LOGIN, relay_state, id) != 0)
        return;
    sent = bc ? zr_saml_backchannel_last_sent(bc) : NULL;
    if (sent) {
        data = json_object();
        set_xml(data, sent, strlen(sent));
        zr_diag_trace_add(store, cfg, id, "saml.artifact_resolve", data);
    }
    if (soap) {
        data = json_object();
        set_xml(data, soap, soap_len);
        zr_diag_trace_add(store, cfg, id, "saml.artifact_response", data);
    }
    data = json_object();
    ids = json_object();
    codes = json_array();
    messages = json_array();
    attrs = json_array();
    loa = json_array();
    if (soap && (doc = zr_xml_parse(soap, soap_len, 0, perr, sizeof(perr))) != NULL)
        collect(xmlDocGetRootElement(doc), ids, codes, messages, attrs, loa, 0);
    json_object_set_new(data, "result", json_string(zr_saml_status_name(status)));
    json_object_set_new(data, "ok", json_boolean(status == ZR_SAML_OK));
    if (status != ZR_SAML_OK)
        set_masked(data, "reason", err);
    json_object_set_new(data, "message_ids", ids);
    json_object_set_new(data, "status_codes", codes);
    json_object_set_new(data, "status_messages", messages);
    json_object_set_new(data, "attributes", attrs);
    if (status == ZR_SAML_OK && subject) {
        json_t *s = json_object();
        json_object_set_new(data, "loa", json_string(zr_loa_uri(subject->loa)));
        json_object_set_new(s, "acting", subject_id(&subject->acting));
        if (subject->has_legal)
            json_object_set_new(s, "legal", subject_id(&subject->legal));
        if (subject->representation_type)
            json_object_set_new(s, "representation_type", json_string(subject->representation_type));
        json_object_set_new(data, "subject", s);
    } else if (json_array_size(loa)) {
        json_object_set(data, "loa", json_array_get(loa, 0));
    }
    json_decref(loa);
    zr_diag_trace_add(store, cfg, id, "saml.validation", data);
    if (doc)
        xmlFreeDoc(doc);
    free(sent);
}

/* The error codes of the pages /saml/acs can answer with. */
static const char *page_error_code(const zr_http_response_t *resp)
{
    static const char *const codes[] = {"session_expired", "login_already_done", "saml_replay", "choice_already_made",
                                        "browser_mismatch", "bad_request", "store_unavailable",
                                        "internal_error", "not_found", "role_not_allowed",
                                        "care_provider_unavailable", NULL};
    char needle[64];
    for (size_t i = 0; codes[i] && resp->body; i++) {
        snprintf(needle, sizeof(needle), ">%s<", codes[i]);
        if (strstr(resp->body, needle))
            return codes[i];
    }
    return NULL;
}

/* What the browser was sent at the end of the walk: the redirect to the
 * portal (code hashed and linked for zr_diag_token) or the page. */
static void authorization_response(zr_store_t *store, const zr_config_t *cfg, const char *id,
                                   const zr_http_response_t *resp)
{
    const char *location;
    json_t *data = json_object();
    json_object_set_new(data, "http_status", json_integer(resp->status));
    location = zr_kv_get(&resp->headers, "Location");
    if (location) {
        const char *q = strchr(location, '?');
        zr_kvlist_t params = {0};
        char *base = strndup(location, q ? (size_t)(q - location) : strlen(location));
        if (base)
            set_masked(data, "redirect_to", base);
        free(base);
        if (q && zr_kv_parse_form(&params, q + 1, strlen(q + 1)) == 0) {
            const char *code = zr_kv_get(&params, "code");
            set_hashed(data, "code", code);
            set_hashed(data, "state", zr_kv_get(&params, "state"));
            set_masked(data, "error", zr_kv_get(&params, "error"));
            set_masked(data, "error_description", zr_kv_get(&params, "error_description"));
            set_masked(data, "iss", zr_kv_get(&params, "iss"));
            if (code)
                zr_diag_link(store, cfg, NS_CODE, code, id);
        }
        zr_kv_free(&params);
    } else {
        const char *code = page_error_code(resp);
        json_object_set_new(data, "page", json_string(code ? code : "page"));
    }
    zr_diag_trace_add(store, cfg, id, "oidc.authorization_response", data);
}

void zr_diag_acs_end(zr_store_t *store, const zr_config_t *cfg, const char *relay_state,
                     const zr_http_response_t *resp)
{
    char id[ZR_DIAG_ID_LEN + 1];
    if (!zr_diag_enabled(cfg) || !relay_state || !resp || zr_diag_find(store, NS_LOGIN, relay_state, id) != 0)
        return;
    authorization_response(store, cfg, id, resp);
}

/* client_secret_basic (RFC 6749 §2.3.1): the client_id, form-decoded. */
char *zr_diag_basic_auth(const zr_http_request_t *req, char **secret)
{
    const char *h = zr_kv_get(&req->headers, "authorization");
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    char *colon, *id = NULL;
    if (secret)
        *secret = NULL;
    if (!h || strncasecmp(h, "Basic ", 6) != 0 || zr_base64_decode(h + 6, &raw, &raw_len) != 0)
        goto end;
    colon = memchr(raw, ':', raw_len);
    if (!colon)
        goto end;
    id = zr_url_decode((const char *)raw, (size_t)(colon - (char *)raw));
    if (secret)
        *secret = zr_url_decode(colon + 1, raw_len - (size_t)(colon + 1 - (char *)raw));
end:
    if (raw)
        memset(raw, 0, raw_len);
    free(raw);
    return id;
}

/* A professional's name (OIDC Core §5.1 and the relay's Dezi claims):
 * never in a trace. */
static int is_name_claim(const char *key)
{
    static const char *const names[] = {"name", "given_name", "family_name", "middle_name", "initials",
                                        "surname_prefix", "nickname", "preferred_username", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(key, names[i]) == 0)
            return 1;
    return 0;
}

/* An ID token's claims as the trace shows them: BSNs masked, the
 * pseudonyms, the URA and the nonce as keyed hashes. The signature is not
 * checked: the relay made this token a moment ago. */
static json_t *id_token_claims(const char *jwt)
{
    const char *dot1 = strchr(jwt, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    char *payload = NULL;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *claims = NULL, *out = NULL, *rep;
    const char *key;
    json_t *value;

    if (!dot1 || !dot2 || !(payload = strndup(dot1 + 1, (size_t)(dot2 - dot1 - 1))))
        goto end;
    if (zr_base64url_decode(payload, &raw, &raw_len) != 0 || !(claims = json_loadb((char *)raw, raw_len, 0, NULL)))
        goto end;
    out = json_object();
    json_object_foreach(claims, key, value) {
        if (strcmp(key, "bsn") == 0 || strcmp(key, "dezi_nummer") == 0) {
            char *m = zr_diag_mask_bsn(json_string_value(value));
            json_object_set_new(out, key, json_string(m ? m : ""));
            free(m);
        } else if (strcmp(key, "sub") == 0 || strcmp(key, "nonce") == 0 || strcmp(key, "sid") == 0 ||
                   strcmp(key, "at_hash") == 0 || strcmp(key, "ura") == 0) {
            set_hashed(out, key, json_string_value(value));
        } else if (is_name_claim(key)) {
            json_object_set_new(out, key, json_string("(not recorded: a name)"));
        } else if (strcmp(key, "verklaring_id") == 0) {
            set_shortened(out, key, json_string_value(value));
        } else if (strcmp(key, "roles") == 0 && json_is_array(value)) {
            json_t *a = json_array();
            size_t i;
            json_t *v;
            json_array_foreach(value, i, v) {
                char *m = json_is_string(v) ? zr_diag_mask_text(json_string_value(v)) : NULL;
                json_array_append_new(a, json_string(m ? m : "(not recorded)"));
                free(m);
            }
            json_object_set_new(out, key, a);
        } else if (strcmp(key, "represents") == 0 && json_is_object(value)) {
            rep = json_object();
            set_masked(rep, "representation_type", json_string_value(json_object_get(value, "representation_type")));
            set_hashed(rep, "sub", json_string_value(json_object_get(value, "sub")));
            if (json_is_string(json_object_get(value, "bsn"))) {
                char *m = zr_diag_mask_bsn(json_string_value(json_object_get(value, "bsn")));
                json_object_set_new(rep, "bsn", json_string(m ? m : ""));
                free(m);
            }
            json_object_set_new(out, key, rep);
        } else if (json_is_string(value)) {
            set_masked(out, key, json_string_value(value));
        } else if (json_is_integer(value) || json_is_boolean(value)) {
            json_object_set(out, key, value);
        } else {
            json_object_set_new(out, key, json_string("(not recorded)"));
        }
    }
end:
    if (raw)
        memset(raw, 0, raw_len);
    free(raw);
    free(payload);
    json_decref(claims);
    return out;
}

void zr_diag_token(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                   const zr_http_response_t *resp)
{
    char id[ZR_DIAG_ID_LEN + 1];
    const char *code, *grant;
    char *client_id = NULL;
    json_t *data, *request, *answer, *body = NULL;

    if (!zr_diag_enabled(cfg) || !req || !resp)
        return;
    code = zr_kv_get(&req->form, "code");
    grant = zr_kv_get(&req->form, "grant_type");
    if (!code || zr_diag_find(store, NS_CODE, code, id) != 0)
        return;
    data = json_object();
    request = json_object();
    client_id = zr_diag_basic_auth(req, NULL);
    set_masked(request, "grant_type", grant);
    set_masked(request, "client_id", client_id ? client_id : zr_kv_get(&req->form, "client_id"));
    json_object_set_new(request, "client_authentication",
                        json_string(client_id ? "client_secret_basic"
                                    : zr_kv_get(&req->form, "client_assertion") ? "private_key_jwt"
                                                                                : "none"));
    set_masked(request, "redirect_uri", zr_kv_get(&req->form, "redirect_uri"));
    set_hashed(request, "code", code);
    set_hashed(request, "code_verifier", zr_kv_get(&req->form, "code_verifier"));
    json_object_set_new(data, "request", request);
    answer = json_object();
    json_object_set_new(answer, "http_status", json_integer(resp->status));
    if (resp->body)
        body = json_loadb(resp->body, resp->body_len, 0, NULL);
    if (json_is_object(body)) {
        const char *idt = json_string_value(json_object_get(body, "id_token"));
        set_masked(answer, "error", json_string_value(json_object_get(body, "error")));
        set_masked(answer, "error_description", json_string_value(json_object_get(body, "error_description")));
        set_masked(answer, "token_type", json_string_value(json_object_get(body, "token_type")));
        set_masked(answer, "scope", json_string_value(json_object_get(body, "scope")));
        if (json_is_integer(json_object_get(body, "expires_in")))
            json_object_set(answer, "expires_in", json_object_get(body, "expires_in"));
        set_hashed(answer, "access_token", json_string_value(json_object_get(body, "access_token")));
        if (idt) {
            json_t *claims = id_token_claims(idt);
            set_hashed(answer, "id_token", idt);
            if (claims)
                json_object_set_new(answer, "id_token_claims", claims);
            zr_diag_link(store, cfg, NS_TOKEN, idt, id);
        }
    }
    json_object_set_new(data, "response", answer);
    zr_diag_trace_add(store, cfg, id, "oidc.token", data);
    json_decref(body);
    free(client_id);
}

void zr_diag_logout(zr_store_t *store, const zr_config_t *cfg, const char *id_token_hint, const char *relay_state,
                    const char *what, const char *xml)
{
    char id[ZR_DIAG_ID_LEN + 1], kind[64];
    json_t *data;
    if (!zr_diag_enabled(cfg))
        return;
    if (id_token_hint) {
        if (zr_diag_find(store, NS_TOKEN, id_token_hint, id) != 0)
            return;
        if (relay_state)
            zr_diag_link(store, cfg, NS_LOGOUT, relay_state, id);
    } else if (!relay_state || zr_diag_find(store, NS_LOGOUT, relay_state, id) != 0) {
        return;
    }
    data = json_object();
    if (xml)
        set_xml(data, xml, strlen(xml));
    snprintf(kind, sizeof(kind), "logout.%s", what ? what : "event");
    zr_diag_trace_add(store, cfg, id, kind, data);
}

/* ---- professionals (Dezi) ---- */

/* The portal's authorization request as the relay validated it: after the
 * chooser, the request in hand is the chooser's POST. */
static json_t *authz_params(const zr_oidc_authz_t *a)
{
    json_t *o = json_object();
    set_masked(o, "client_id", a->client_id);
    set_masked(o, "redirect_uri", a->redirect_uri);
    set_masked(o, "scope", a->scope);
    set_hashed(o, "state", a->state);
    set_hashed(o, "nonce", a->nonce);
    set_hashed(o, "code_challenge", a->code_challenge);
    if (a->code_challenge)
        json_object_set_new(o, "code_challenge_method", json_string("S256"));
    if (a->min_loa != ZR_LOA_NONE && zr_loa_uri(a->min_loa))
        json_object_set_new(o, "acr_values", json_string(zr_loa_uri(a->min_loa)));
    if (a->force_authn)
        json_object_set_new(o, "prompt", json_string("login"));
    set_masked(o, "care_provider", a->care_provider);
    json_object_set_new(o, "login_method",
                        json_string(a->login_method == ZR_LOGIN_PROFESSIONAL ? "professional" : "patient"));
    return o;
}

void zr_diag_dezi_authorize(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                            const zr_oidc_authz_t *authz, const char *dezi_state, const char *dezi_url)
{
    const zr_kvlist_t *params;
    const char *q;
    char id[ZR_DIAG_ID_LEN + 1], shown[16];
    char *state_key = NULL, *base = NULL;
    zr_kvlist_t dezi_params = {0};
    json_t *data;

    if (!zr_diag_enabled(cfg) || !req || !authz || !dezi_state || !dezi_url)
        return;
    if (zr_diag_trace_new(store, cfg, authz->client_id, id) != 0 ||
        zr_diag_link(store, cfg, NS_DEZI, dezi_state, id) != 0) {
        zr_log_warn("trace", "cannot start a trace (store unavailable); the login goes on untraced");
        goto end;
    }
    if (authz->state && (state_key = zr_diag_state_key(authz->client_id, authz->state)) != NULL)
        zr_diag_link(store, cfg, NS_STATE, state_key, id);
    /* The portal's request: as sent when it came to /authorize directly,
     * as validated when the relay's chooser came in between. */
    params = req->form.count ? &req->form : &req->query;
    data = json_object();
    json_object_set_new(data, "method", json_string(req->method ? req->method : "GET"));
    if (zr_kv_get(params, "client_id")) {
        json_object_set_new(data, "params", authorization_params(params));
    } else {
        json_object_set_new(data, "params", authz_params(authz));
        json_object_set_new(data, "via", json_string("the relay's login method chooser"));
    }
    zr_diag_trace_add(store, cfg, id, "oidc.authorization_request", data);

    /* OIDC Core §3.1.2.1 towards Dezi: the same masking as the portal's. */
    q = strchr(dezi_url, '?');
    base = strndup(dezi_url, q ? (size_t)(q - dezi_url) : strlen(dezi_url));
    data = json_object();
    set_masked(data, "endpoint", base);
    if (q && zr_kv_parse_form(&dezi_params, q + 1, strlen(q + 1)) == 0)
        json_object_set_new(data, "params", authorization_params(&dezi_params));
    zr_diag_trace_add(store, cfg, id, "dezi.authorization_request", data);
    log_id(id, shown);
    zr_log_info("trace", "trace=%s started for client=%s (professional)", shown,
                authz->client_id ? authz->client_id : "-");
end:
    zr_kv_free(&dezi_params);
    free(base);
    free(state_key);
}

void zr_diag_dezi_callback(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req)
{
    char id[ZR_DIAG_ID_LEN + 1];
    const char *state = req ? zr_kv_get(&req->query, "state") : NULL;
    json_t *data;
    if (!zr_diag_enabled(cfg) || !state || zr_diag_find(store, NS_DEZI, state, id) != 0)
        return;
    data = json_object();
    set_hashed(data, "state", state);
    set_hashed(data, "code", zr_kv_get(&req->query, "code"));
    set_masked(data, "error", zr_kv_get(&req->query, "error"));
    set_masked(data, "error_description", zr_kv_get(&req->query, "error_description"));
    set_masked(data, "iss", zr_kv_get(&req->query, "iss"));
    zr_diag_trace_add(store, cfg, id, "dezi.callback", data);
}

/* What zr_dezi_finish's status says about the revocation check, which runs
 * last (after the token, the ID token and the userinfo checks). */
static const char *revocation_result(zr_dezi_status_t status)
{
    switch (status) {
    case ZR_DEZI_OK:
        return "passed (verklaring active, not on the revocation list)";
    case ZR_DEZI_REVOKED:
        return "revoked";
    case ZR_DEZI_UNAVAILABLE:
        return "not established (Dezi or a revocation service unreachable; fail closed)";
    default:
        return "not reached (an earlier check failed)";
    }
}

void zr_diag_dezi_result(zr_store_t *store, const zr_config_t *cfg, const char *dezi_state, zr_dezi_status_t status,
                         const char *status_name, const char *err, const zr_dezi_professional_t *pro)
{
    char id[ZR_DIAG_ID_LEN + 1];
    char *masked = NULL;
    json_t *data;
    if (!zr_diag_enabled(cfg) || !dezi_state || zr_diag_find(store, NS_DEZI, dezi_state, id) != 0)
        return;
    data = json_object();
    json_object_set_new(data, "result", json_string(status_name ? status_name : "?"));
    json_object_set_new(data, "ok", json_boolean(status == ZR_DEZI_OK));
    if (status != ZR_DEZI_OK)
        set_masked(data, "reason", err);
    json_object_set_new(data, "revocation", json_string(revocation_result(status)));
    /* Filled only on success; names are never recorded. */
    if (status == ZR_DEZI_OK && pro) {
        if (zr_loa_uri(pro->loa))
            json_object_set_new(data, "loa", json_string(zr_loa_uri(pro->loa)));
        set_masked(data, "rol_code", pro->rol_code);
        set_masked(data, "rol_code_bron", pro->rol_code_bron);
        /* The URA only as a keyed pseudonym (issue 12 §1): recognisable, never shown. */
        set_hashed(data, "ura", pro->ura);
        set_shortened(data, "verklaring_id", pro->verklaring_id);
        set_masked(data, "json_schema", pro->json_schema);
        if ((masked = zr_diag_mask_bsn(pro->dezi_nummer)) != NULL)
            json_object_set_new(data, "dezi_nummer", json_string(masked));
    }
    zr_diag_trace_add(store, cfg, id, "dezi.validation", data);
    free(masked);
}

void zr_diag_dezi_end(zr_store_t *store, const zr_config_t *cfg, const zr_http_request_t *req,
                      const zr_http_response_t *resp)
{
    char id[ZR_DIAG_ID_LEN + 1];
    const char *state = req ? zr_kv_get(&req->query, "state") : NULL;
    if (!zr_diag_enabled(cfg) || !state || !resp || zr_diag_find(store, NS_DEZI, state, id) != 0)
        return;
    authorization_response(store, cfg, id, resp);
}
