/* The authorization endpoint, in two halves around the login at TVS.
 * begin: validate (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, NL GOV profile).
 * Errors about the client itself are a page, never a redirect (RFC 6749
 * §4.1.2.1: an unverified redirect URI is an open redirector); all other
 * errors go back to the client with error, error_description, state and iss
 * (RFC 9207). finish: the single-use code. */
#include "oidc_internal.h"
#include "zr/log.h"
#include "zr/util.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STATE_LEN 1024
#define MAX_NONCE_LEN 512

/* ---- redirects back to the client ---- */

static int append_param(zr_buf_t *b, int *first, const char *name, const char *value)
{
    char *enc = zr_url_encode(value);
    int rc = enc ? zr_buf_printf(b, "%s%s=%s", *first ? "" : "&", name, enc) : -1;
    *first = 0;
    free(enc);
    return rc;
}

/* redirect_uri + the parameters + iss, with '?' or '&' depending on whether
 * the registered URI already carries a query (RFC 6749 §3.1.2: it is kept).
 * Malloc'ed; NULL on error. */
static char *redirect_url(zr_oidc_t *op, const char *redirect_uri, const char *const *names,
                          const char *const *values, size_t n)
{
    zr_buf_t b;
    int first = 1;
    char *url = NULL;

    zr_buf_init(&b);
    if (zr_buf_appends(&b, redirect_uri) != 0 || zr_buf_appends(&b, strchr(redirect_uri, '?') ? "&" : "?") != 0)
        goto end;
    for (size_t i = 0; i < n; i++)
        if (values[i] && append_param(&b, &first, names[i], values[i]) != 0)
            goto end;
    if (append_param(&b, &first, "iss", op->issuer) != 0)
        goto end;
    url = zr_buf_steal(&b);
end:
    if (b.data)
        OPENSSL_cleanse(b.data, b.len); /* holds the code on success */
    zr_buf_free(&b);
    return url;
}

static int redirect_with(zr_oidc_t *op, const char *redirect_uri, const char *const *names,
                         const char *const *values, size_t n, zr_http_response_t *resp)
{
    char *url = redirect_url(op, redirect_uri, names, values, n);
    int rc = url ? zr_http_redirect(resp, 302, url) : -1;
    if (url)
        OPENSSL_cleanse(url, strlen(url));
    free(url);
    return rc;
}

static int redirect_error(zr_oidc_t *op, const char *redirect_uri, const char *state, const char *error,
                          const char *description, zr_http_response_t *resp)
{
    const char *names[] = {"error", "error_description", "state"};
    const char *values[] = {error, description, state};
    return redirect_with(op, redirect_uri, names, values, 3, resp);
}

int zr_oidc_authorize_error(zr_oidc_t *op, const zr_oidc_authz_t *authz, const char *error, const char *description,
                            zr_http_response_t *resp)
{
    char ref[16];
    if (!op || !authz || !authz->client_id || !authz->redirect_uri || !error) {
        /* Nowhere validated to send it: the person gets a page. */
        zr_oidc_reference(ref);
        zr_log_warn("authorize", "error %s without a validated request ref=%s", error ? error : "?", ref);
        return zr_page_error(resp, 400, authz ? authz->lang : ZR_LANG_NL, "invalid_request", ref);
    }
    if (redirect_error(op, authz->redirect_uri, authz->state, error, description, resp) == 0)
        return 0;
    zr_oidc_reference(ref);
    zr_log_error("authorize", "client=%s error redirect cannot be built ref=%s", authz->client_id, ref);
    zr_page_error(resp, 500, authz->lang, "internal_error", ref);
    return -1;
}

/* ---- a refusal after the person acted (issue 18 §2) ---- */

/* One row per case: the stable reason the portal may branch on
 * (docs/claims.md), the OAuth error, error_description in English (exactly
 * what was sent before issue 18; the protocol's own text), the key of its
 * text in the login's language in templates/oauth.<lang> (a catalog, not C:
 * issue 18 §5), and the relay's page. Every text is RFC 6749 §4.1.2.1 safe
 * (%x20-21 / %x23-5B / %x5D-7E; Dutch without diacritics), which
 * test_oidc_authorize checks. */
static const struct {
    const char *reason, *error, *en, *key, *page;
    int status;
} refusals[ZR_REFUSAL_COUNT] = {
    [ZR_REFUSAL_SAML_CANCELLED] = {"cancelled", "access_denied", "the user cancelled the login", "cancelled",
                                   "cancelled", 403},
    [ZR_REFUSAL_SAML_AUTHN_FAILED] = {"authn_failed", "access_denied", "authentication failed at DigiD",
                                      "authn_failed", "authn_failed", 403},
    [ZR_REFUSAL_SAML_LOA_TOO_LOW] = {"loa_too_low", "access_denied", "the required level of assurance was not reached",
                                     "loa_not_reached", "loa_too_low", 403},
    [ZR_REFUSAL_TVS_UNREACHABLE] = {"tvs_unavailable", "temporarily_unavailable",
                                    "the login service cannot be reached right now", "tvs_unreachable",
                                    "tvs_unavailable", 503},
    [ZR_REFUSAL_TVS_UNUSABLE] = {"tvs_unavailable", "temporarily_unavailable",
                                 "the login service cannot be used right now", "tvs_unusable", "tvs_unavailable",
                                 503},
    [ZR_REFUSAL_TVS_ANSWER_REFUSED] = {"tvs_answer_refused", "server_error", "the answer from TVS was refused",
                                       "tvs_answer_refused", "saml_invalid", 502},
    [ZR_REFUSAL_CLIENT_REMOVED] = {"portal_disconnected", "unauthorized_client",
                                   "this portal is no longer connected to the login service", "portal_disconnected",
                                   "portal_disconnected", 400},
    [ZR_REFUSAL_AUDIT_UNAVAILABLE] = {"audit_unavailable", "temporarily_unavailable",
                                      "the login service cannot record this login right now", "audit_unavailable",
                                      "store_unavailable", 503},
    [ZR_REFUSAL_DEZI_CANCELLED] = {"cancelled", "access_denied", "the professional cancelled or was refused at Dezi",
                                   "dezi_cancelled", "dezi_cancelled", 403},
    [ZR_REFUSAL_DEZI_LOA_TOO_LOW] = {"loa_too_low", "access_denied", "the required level of assurance was not reached",
                                     "loa_not_reached", "dezi_loa_too_low", 403},
    [ZR_REFUSAL_DEZI_REVOKED] = {"declaration_revoked", "access_denied",
                                 "the professional's declaration (verklaring) has been revoked",
                                 "declaration_revoked", "declaration_revoked", 403},
    [ZR_REFUSAL_DEZI_UNREACHABLE] = {"dezi_unavailable", "temporarily_unavailable",
                                     "the professionals' login service cannot be reached", "dezi_unreachable",
                                     "dezi_unavailable", 503},
    [ZR_REFUSAL_DEZI_UNUSABLE] = {"dezi_unavailable", "temporarily_unavailable",
                                  "professional login is not available right now", "dezi_unusable",
                                  "dezi_unavailable", 503},
    [ZR_REFUSAL_DEZI_ANSWER_REFUSED] = {"dezi_answer_refused", "server_error", "the answer from Dezi was refused",
                                        "dezi_answer_refused", "dezi_error", 502},
    [ZR_REFUSAL_ROLE_NOT_ALLOWED] = {"role_not_allowed", "access_denied",
                                     "the professional's role gives no access to this portal", "role_not_allowed",
                                     "role_not_allowed", 403},
    [ZR_REFUSAL_POLICY_DENIED] = {"policy_denied", "access_denied", "access denied by policy", "policy_denied",
                                  "policy_denied", 403},
    [ZR_REFUSAL_POLICY_UNAVAILABLE] = {"policy_unavailable", "temporarily_unavailable",
                                       "the authorization service cannot be reached right now",
                                       "policy_unavailable", "policy_unavailable", 503},
    [ZR_REFUSAL_POLICY_ERROR] = {"relay_error", "server_error",
                                 "the login service could not prepare the authorization request", "policy_error",
                                 "internal_error", 500},
    [ZR_REFUSAL_LOA_TOO_LOW] = {"loa_too_low", "access_denied", "the level of assurance reached is too low",
                                "loa_too_low", "loa_too_low", 403},
    [ZR_REFUSAL_PRO_LOA_TOO_LOW] = {"loa_too_low", "access_denied", "the level of assurance reached is too low",
                                    "loa_too_low", "dezi_loa_too_low", 403},
    [ZR_REFUSAL_NOT_ALLOWED] = {"not_allowed", "access_denied", "this login is not allowed for this portal",
                                "not_allowed", "access_denied", 403},
    [ZR_REFUSAL_WRONG_PERSON] = {"wrong_person", "access_denied",
                                 "the person who logged in is not the one the claims request names (sub)",
                                 "wrong_person", "wrong_person", 403},
    /* Starting the login after the person chose at the chooser (or at once
     * from /authorize, then redirected at once): the English texts are
     * those sent before. */
    [ZR_REFUSAL_CHOOSER_CANCELLED] = {"cancelled", "access_denied", "the person cancelled at the login method chooser",
                                      "chooser_cancelled", "cancelled", 403},
    [ZR_REFUSAL_METHOD_NOT_ALLOWED] = {"login_method_not_allowed", "invalid_request",
                                       "login method not allowed for this client", "login_method_not_allowed",
                                       "access_denied", 403},
    [ZR_REFUSAL_CARE_PROVIDER_NOT_ALLOWED] = {"care_provider_not_allowed", "invalid_request",
                                              "care_provider is not one of this client's care providers",
                                              "care_provider_not_allowed", "access_denied", 403},
    [ZR_REFUSAL_CARE_PROVIDER_QUARANTINED] = {"care_provider_unavailable", "temporarily_unavailable",
                                              "this care provider cannot be logged in to right now",
                                              "care_provider_quarantined", "care_provider_unavailable", 503},
    [ZR_REFUSAL_LOA_NOT_OFFERED] = {"loa_not_offered", "invalid_request",
                                    "no service registered at TVS for the requested level of assurance",
                                    "loa_no_service", "loa_not_offered", 403},
    [ZR_REFUSAL_TVS_METADATA_UNUSABLE] = {"tvs_unavailable", "temporarily_unavailable",
                                          "the login service (TVS) cannot be used right now", "tvs_metadata_unusable",
                                          "tvs_unavailable", 503},
    [ZR_REFUSAL_DEZI_NOT_CONFIGURED] = {"dezi_unavailable", "server_error", "professional login is not configured",
                                        "dezi_not_configured", "dezi_unavailable", 503},
    [ZR_REFUSAL_DEZI_START_UNUSABLE] = {"dezi_unavailable", "temporarily_unavailable",
                                        "the professionals' login service (Dezi) cannot be used right now",
                                        "dezi_start_unusable", "dezi_unavailable", 503},
};

#define ZR_OIDC_NS_RETURN "return" /* the refusal page's single-use handle -> the redirect */
#define ZR_OIDC_TEXTS "oauth"      /* templates/oauth.<lang>: error_description in the login's language */

const char *zr_oidc_refusal_reason(zr_oidc_refusal_t refusal)
{
    return (unsigned)refusal < ZR_REFUSAL_COUNT ? refusals[refusal].reason : NULL;
}

const char *zr_oidc_refusal_error(zr_oidc_refusal_t refusal)
{
    return (unsigned)refusal < ZR_REFUSAL_COUNT ? refusals[refusal].error : NULL;
}

/* 1 when every byte of s may stand in error_description (RFC 6749 §4.1.2.1). */
static int description_safe(const char *s)
{
    for (; s && *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return 0;
    return s != NULL;
}

/* error_description in lang: Dutch from templates/oauth.nl under key,
 * every other language the protocol's own English (en; RFC 6749 allows
 * ASCII only, so a third page language gets English). A Dutch text that is
 * missing or not RFC 6749 safe falls back to English, so a portal always
 * gets a description it can parse. Malloc'ed; NULL on no memory. */
static char *description_in(const char *en, const char *key, zr_lang_t lang)
{
    char *text = lang == ZR_LANG_NL && key ? zr_page_file_text(ZR_OIDC_TEXTS, lang, key) : NULL;
    if (text && description_safe(text) && *text)
        return text;
    if (lang == ZR_LANG_NL && key)
        zr_log_error("authorize", "templates/%s: text %s missing or not RFC 6749 safe: English sent", ZR_OIDC_TEXTS,
                     key);
    free(text);
    return zr_strdup(en);
}

char *zr_oidc_refusal_description(zr_oidc_refusal_t refusal, zr_lang_t lang)
{
    if ((unsigned)refusal >= ZR_REFUSAL_COUNT)
        return NULL;
    return description_in(refusals[refusal].en, refusals[refusal].key, lang);
}

/* The page for a refusal: a patient's level too low says what the level
 * the portal asked for needs (issue 18 §2; a professional's has Dezi's own
 * page, ZR_REFUSAL_PRO_LOA_TOO_LOW and ZR_REFUSAL_DEZI_LOA_TOO_LOW). */
static const char *refusal_page_code(zr_oidc_refusal_t refusal, const zr_oidc_authz_t *authz)
{
    const char *page = refusals[refusal].page;
    if (strcmp(page, "loa_too_low") != 0)
        return page;
    if (authz->min_loa >= ZR_LOA_HIGH)
        return "loa_too_low_high";
    if (authz->min_loa == ZR_LOA_SUBSTANTIAL)
        return "loa_too_low_substantial";
    return page;
}

/* The relay's refusal page (issue 18 §2) for client c in lang: its one
 * button posts a fresh single-use handle to /authorize/return, which
 * delivers location (the OAuth error, built when the login was refused)
 * once, or shows this page again in another language (the switch). Redis
 * keeps only what the page needs to be made again: the redirect, the
 * client, the case and its page, the login's care provider, the reference;
 * no person, no code. If Redis cannot
 * keep it, the redirect goes at once: never a button that does nothing. */
static int refusal_page(zr_oidc_t *op, const zr_client_t *c, unsigned refusal, const char *page,
                        const char *care_provider, const char *location, const char *redirect_uri, zr_lang_t lang,
                        const char *ref, zr_http_response_t *resp)
{
    const zr_tenant_t *t;
    const zr_helpdesk_t *h;
    char *handle = NULL, *csp = NULL, *value = NULL;
    json_t *o = NULL;
    zr_page_way_t way;
    zr_store_status_t st;
    int rc = -1;

    o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:s}", "location", location, "redirect_uri", redirect_uri, "client",
                  c->client_id, "refusal", (int)refusal, "page", page, "ref", ref, "lang", zr_lang_code(lang));
    if (o && care_provider && json_object_set_new(o, "cp", json_string(care_provider)) != 0) {
        json_decref(o);
        o = NULL;
    }
    if (!o || !(value = json_dumps(o, JSON_COMPACT)) || !(handle = zr_random_token(32))) {
        zr_log_error("authorize", "client=%s refusal page cannot be built ref=%s", c->client_id, ref);
        zr_page_error(resp, 500, lang, "internal_error", ref);
        goto end;
    }
    st = zr_store_put(op->store, ZR_OIDC_NS_RETURN, handle, value, strlen(value),
                      op->cfg->oidc.session_lifetime_s > 0 ? op->cfg->oidc.session_lifetime_s : 900);
    if (st != ZR_STORE_OK) {
        zr_log_warn("authorize", "client=%s refusal page not kept (%s): redirect at once ref=%s", c->client_id,
                    zr_store_status_name(st), ref);
        rc = zr_http_redirect(resp, 302, location);
        goto end;
    }
    /* The login's care provider (a shared portal's choice), else the
     * client's: its helpdesk, and its name and logo in the header (§3). */
    t = care_provider     ? zr_config_find_tenant(op->cfg, care_provider)
        : c->care_provider ? zr_config_find_tenant(op->cfg, c->care_provider)
                           : NULL;
    h = c->helpdesk.name || c->helpdesk.phone || c->helpdesk.url || !t ? &c->helpdesk : &t->helpdesk;
    way = (zr_page_way_t){.portal_name = c->name ? c->name : c->client_id, .helpdesk_name = h->name,
                          .helpdesk_phone = h->phone, .helpdesk_phone_uri = h->phone_uri, .helpdesk_url = h->url,
                          .provider_name = t ? t->name : NULL, .logo_src = t ? t->logo.src : NULL,
                          .logo_alt = t ? t->logo.alt : NULL, .return_handle = handle};
    zr_log_info("authorize", "client=%s reason=%s refusal page shown lang=%s ref=%s", c->client_id,
                refusals[refusal].reason, zr_lang_code(lang), ref);
    if (zr_page_error_way(resp, refusals[refusal].status, lang, page, ref, &way) != 0)
        goto end;
    zr_http_set_header(resp, "Cache-Control", "no-store");
    {
        /* The button posts here and is redirected on to the portal:
         * Chromium checks form-action on that redirect too. */
        const char *targets[] = {"/authorize/return", redirect_uri};
        if ((csp = zr_page_form_csp(targets, 2)) != NULL)
            zr_http_set_header(resp, "Content-Security-Policy", csp);
    }
    rc = 0;
end:
    if (value)
        OPENSSL_cleanse(value, strlen(value));
    free(value);
    json_decref(o);
    zr_release(handle);
    free(csp);
    return rc;
}

/* A refusal: the relay's page with the button (page set, the client's
 * error_pages: relay), else the redirect at once. */
static int refusal_respond(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal,
                           const char *description, int page, zr_http_response_t *resp)
{
    const zr_client_t *c;
    const char *names[] = {"error", "error_description", "state", "zr_reason"};
    const char *values[4];
    char *location = NULL, *text = NULL, ref[16];
    int rc = -1;

    if ((unsigned)refusal >= ZR_REFUSAL_COUNT)
        return zr_oidc_authorize_error(op, authz, "server_error", NULL, resp);
    c = op && authz && authz->client_id ? zr_oidc_find_client(op, authz->client_id) : NULL;
    /* A PDP's own reason goes to the portal in English, as before; in Dutch
     * the relay's text (the PDP speaks one language). error_description is
     * Dutch or English only (ASCII, RFC 6749): any other language is English. */
    text = description && authz && authz->error_lang != ZR_LANG_NL && description_safe(description)
               ? zr_strdup(description)
               : zr_oidc_refusal_description(refusal, authz ? authz->error_lang : ZR_LANG_EN);
    values[0] = refusals[refusal].error;
    values[1] = text;
    values[2] = authz ? authz->state : NULL;
    values[3] = refusals[refusal].reason;
    if (!c || !authz->redirect_uri || !page || c->error_pages == ZR_ERROR_PAGES_PORTAL) {
        if (!c) {
            rc = zr_oidc_authorize_error(op, authz, values[0], values[1], resp);
            goto end;
        }
        if (redirect_with(op, authz->redirect_uri, names, values, 4, resp) == 0) {
            rc = 0;
            goto end;
        }
        zr_oidc_reference(ref);
        zr_log_error("authorize", "client=%s error redirect cannot be built ref=%s", c->client_id, ref);
        zr_page_error(resp, 500, authz->lang, "internal_error", ref);
        goto end;
    }
    /* The relay's page. The redirect is built now and kept under a random
     * single-use handle: the button can only ever deliver this error, with
     * this state, once; no code is ever in it. */
    zr_oidc_reference(ref);
    if (!(location = redirect_url(op, authz->redirect_uri, names, values, 4))) {
        zr_log_error("authorize", "client=%s error redirect cannot be built ref=%s", c->client_id, ref);
        zr_page_error(resp, 500, authz->lang, "internal_error", ref);
        goto end;
    }
    rc = refusal_page(op, c, (unsigned)refusal, refusal_page_code(refusal, authz), authz->care_provider, location,
                      authz->redirect_uri, authz->lang, ref, resp);
end:
    free(location);
    free(text);
    return rc;
}

int zr_oidc_authorize_refuse(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal,
                             const char *description, zr_http_response_t *resp)
{
    return refusal_respond(op, authz, refusal, description, 1, resp);
}

int zr_oidc_authorize_refuse_at_once(zr_oidc_t *op, const zr_oidc_authz_t *authz, zr_oidc_refusal_t refusal,
                                     zr_http_response_t *resp)
{
    return refusal_respond(op, authz, refusal, NULL, 0, resp);
}

int zr_oidc_handle_authorize_return(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_oidc_t *op = ctx;
    const char *handle = zr_kv_get(&req->form, "handle"), *lang_code = zr_kv_get(&req->form, ZR_LANG_PARAM);
    const char *location, *client_id, *redirect_uri, *kept_ref, *page, *care_provider;
    const zr_client_t *c;
    char *value = NULL, ref[16];
    size_t len = 0;
    json_t *o = NULL;
    json_int_t refusal;
    zr_store_status_t st;
    zr_lang_t lang;
    int switching;

    zr_oidc_reference(ref);
    switching = lang_code != NULL;
    if (!handle || zr_kv_count(&req->form, "handle") != 1 || strlen(handle) > 64 ||
        (switching && (zr_kv_count(&req->form, ZR_LANG_PARAM) != 1 || zr_lang_from_code(lang_code, &lang) != 0))) {
        zr_page_error(resp, 400, req->lang, "bad_request", ref);
        goto end;
    }
    /* GETDEL: the first press delivers the error (or the page in another
     * language, under a new handle), any later one is told so. */
    st = zr_store_take(op->store, ZR_OIDC_NS_RETURN, handle, &value, &len);
    if (st == ZR_STORE_NOT_FOUND) {
        zr_log_info("authorize", "refusal page button used again or expired ref=%s", ref);
        zr_page_error(resp, 400, req->lang, "return_used", ref);
        goto end;
    }
    if (st != ZR_STORE_OK) {
        zr_log_error("authorize", "store %s: refusal not delivered ref=%s", zr_store_status_name(st), ref);
        zr_page_error(resp, 503, req->lang, "store_unavailable", ref);
        goto end;
    }
    /* A page made before the switch existed kept the bare redirect. */
    o = value[0] == '{' ? json_loadb(value, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    location = o ? json_string_value(json_object_get(o, "location")) : value;
    client_id = json_string_value(json_object_get(o, "client"));
    redirect_uri = json_string_value(json_object_get(o, "redirect_uri"));
    kept_ref = json_string_value(json_object_get(o, "ref"));
    refusal = json_integer_value(json_object_get(o, "refusal"));
    page = json_string_value(json_object_get(o, "page"));
    care_provider = json_string_value(json_object_get(o, "cp"));
    c = client_id ? zr_oidc_find_client(op, client_id) : NULL;
    if (!location) {
        zr_log_error("authorize", "refusal unreadable in the store ref=%s", ref);
        zr_page_error(resp, 500, req->lang, "internal_error", ref);
        goto end;
    }
    /* The switch: the same page (case, reference, portal) in the language
     * asked for; the error is still delivered only by the button. A page
     * whose client is gone from the configuration delivers at once. */
    if (switching && c && redirect_uri && kept_ref && refusal >= 0 && refusal < ZR_REFUSAL_COUNT) {
        refusal_page(op, c, (unsigned)refusal, page ? page : refusals[refusal].page, care_provider, location,
                     redirect_uri, lang, kept_ref, resp);
        goto end;
    }
    zr_http_redirect(resp, 302, location);
    zr_http_set_header(resp, "Cache-Control", "no-store");
end:
    json_decref(o);
    if (value)
        OPENSSL_cleanse(value, len);
    free(value);
    return 0;
}

/* ---- begin ---- */

/* Exact match (RFC 9700 §4.1.3); for loopback IP literals the port may vary
 * (RFC 8252 §7.3). "localhost" is deliberately not a loopback URI here. */
static int loopback_rest(const char *uri, const char **rest)
{
    static const char *const prefixes[] = {"http://127.0.0.1", "http://[::1]"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (strncmp(uri, prefixes[i], n) == 0 && (uri[n] == ':' || uri[n] == '/' || uri[n] == '\0')) {
            const char *p = uri + n;
            if (*p == ':') {
                p++;
                if (*p < '0' || *p > '9')
                    return 0;
                while (*p >= '0' && *p <= '9')
                    p++;
            }
            if (*p != '/' && *p != '\0')
                return 0;
            *rest = p;
            return (int)i + 1;
        }
    }
    return 0;
}

static int redirect_uri_registered(const zr_client_t *c, const char *uri)
{
    const char *rest_given = NULL, *rest_reg = NULL;
    int lb = loopback_rest(uri, &rest_given);
    for (size_t i = 0; i < c->redirect_uri_count; i++) {
        if (strcmp(c->redirect_uris[i], uri) == 0)
            return 1;
        if (lb && loopback_rest(c->redirect_uris[i], &rest_reg) == lb && strcmp(rest_reg, rest_given) == 0)
            return 1;
    }
    return 0;
}

static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

static int is_b64url(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-' ||
              *s == '_'))
            return 0;
    return 1;
}

/* Printable ASCII only (RFC 6749 Appendix A.5: state is VSCHAR, %x20-7E).
 * A byte outside it (%FF%FE, a control character) is refused rather than
 * passed on: jansson cannot hold what is not UTF-8, so such a value would
 * otherwise vanish from the redirect or the ID token. */
static int printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

/* acr_values: a list in order of preference; any one of them satisfies the
 * client (OIDC Core §3.1.2.1), so the weakest known one is the minimum.
 * Unknown values are ignored (OIDC Core §5.5.1.1, voluntary claims). */
static zr_loa_t acr_minimum(const char *acr_values)
{
    zr_loa_t min = ZR_LOA_NONE;
    char *copy = zr_strdup(acr_values), *save = NULL;
    for (char *tok = copy ? strtok_r(copy, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
        zr_loa_t l = zr_loa_parse(tok);
        /* Only the URIs we publish count; short names are not acr values. */
        if (l != ZR_LOA_NONE && zr_loa_uri(l) && strcmp(zr_loa_uri(l), tok) == 0 && (min == ZR_LOA_NONE || l < min))
            min = l;
    }
    free(copy);
    return min;
}

/* The care provider has a TVS service for this level (or a higher one). */
static int tenant_can_reach(const zr_config_t *cfg, const char *tenant_id, zr_loa_t loa)
{
    const zr_tenant_t *t = zr_config_find_tenant(cfg, tenant_id);
    return t && zr_tenant_service_for_loa(t, loa) != NULL;
}

int zr_oidc_tenant_quarantined(const zr_config_t *cfg, const char *tenant_id)
{
    const zr_tenant_t *t = zr_config_find_tenant(cfg, tenant_id);
    return t && t->quarantined;
}

/* The care provider this login is for: the client's default, or the one a
 * shared portal names, which must be on the client's list (issue 3). A
 * hand-made client without the list allows just its default. */
static const char *choose_care_provider(const zr_client_t *c, const char *asked)
{
    if (!asked)
        return c->care_provider;
    if (c->care_provider && strcmp(c->care_provider, asked) == 0)
        return c->care_provider;
    for (size_t i = 0; i < c->care_provider_count; i++)
        if (c->care_providers[i] && strcmp(c->care_providers[i], asked) == 0)
            return c->care_providers[i];
    return NULL;
}

/* The login methods a client allows; a hand-made client without any is a
 * patients' client (the configuration's default). */
static int client_login_methods(const zr_client_t *c)
{
    int m = c->login_methods & (ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL);
    return m ? m : ZR_LOGIN_PATIENT;
}

static int login_method_parse(const char *v)
{
    if (strcmp(v, "patient") == 0)
        return ZR_LOGIN_PATIENT;
    if (strcmp(v, "professional") == 0)
        return ZR_LOGIN_PROFESSIONAL;
    return 0;
}

/* Why a request was refused: page set when there is no validated client
 * and redirect URI to send an OAuth error to (a page at /authorize, a JSON
 * error at PAR), else error/description go back to the client. */
typedef struct {
    const char *page;          /* page code, or NULL */
    const char *error;
    const char *description;
    const char *redirect_uri;
    const char *state;
    const zr_client_t *client; /* known but its redirect URI not: the page leads to its home page */
    char ref[16];              /* in the log line and on the page */
} zr_oidc_authz_refusal_t;

/* The checks of an authorization request on its parameters p, in one place
 * for /authorize and the PAR endpoint (RFC 9126 §2.1: the same checks as
 * at /authorize). pushed: p came from a pushed request, signed_object: from
 * a verified request object (then a client that requires either is
 * satisfied). 0 with out filled, or -1 with why. */
static int authorize_validate(zr_oidc_t *op, const zr_kvlist_t *p, int pushed, int signed_object, zr_lang_t lang,
                              const char *traceparent, zr_oidc_authz_t *out, zr_oidc_authz_refusal_t *why)
{
    const zr_client_t *c;
    const char *client_id, *redirect_uri, *state = NULL, *v, *prompt, *scope, *challenge, *method, *nonce;
    const char *care_provider = NULL, *hint;
    const char *error = NULL, *description = NULL;
    const char *ref;
    zr_loa_t acr_min;
    int methods, login_method = 0, hinted = 0, quarantined;
    zr_oidc_claims_request_t claims = {0};

    memset(out, 0, sizeof(*out));
    memset(why, 0, sizeof(*why));
    zr_oidc_reference(why->ref);
    ref = why->ref;

    /* 1. The client and where to send it back: a page when either is wrong. */
    client_id = zr_kv_get(p, "client_id");
    redirect_uri = zr_kv_get(p, "redirect_uri");
    c = zr_oidc_find_client(op, client_id);
    if (zr_kv_count(p, "client_id") != 1 || !c) {
        zr_log_warn("authorize", "unknown or missing client_id ref=%s", ref);
        why->page = "unknown_client", why->error = "invalid_request", why->description = "unknown or missing client_id";
        return -1;
    }
    if (zr_kv_count(p, "redirect_uri") != 1 || !redirect_uri_registered(c, redirect_uri)) {
        zr_log_warn("authorize", "client=%s redirect_uri missing or not registered ref=%s", c->client_id, ref);
        why->page = "invalid_redirect_uri", why->error = "invalid_request";
        why->description = "redirect_uri missing or not registered";
        why->client = c;
        return -1;
    }
    if (zr_kv_count(p, "state") == 1)
        state = zr_kv_get(p, "state");

    /* 2. Everything else goes back to the client. */
    for (size_t i = 0; i < p->count && !error; i++)
        if (zr_kv_count(p, p->items[i].name) > 1)
            error = "invalid_request", description = "a parameter is given more than once";
    if (error)
        goto refuse;
    if (state && (strlen(state) > MAX_STATE_LEN || !printable(state))) {
        error = "invalid_request", description = "state too long or not printable";
        state = NULL;
        goto refuse;
    }
    if (zr_kv_get(p, "request")) {
        /* Only as the whole request (request_object.c). */
        error = "invalid_request", description = "request cannot be combined with other parameters here";
        goto refuse;
    }
    if (zr_kv_get(p, "request_uri")) {
        /* Only /authorize takes one, and only as the whole request. */
        error = "invalid_request", description = "request_uri cannot be combined with other parameters here";
        goto refuse;
    }
    /* RFC 9126 §5: a client configured to require PAR sends nothing else. */
    if (!pushed && c->require_pushed_authorization_requests) {
        error = "invalid_request", description = "this client must use pushed authorization requests (PAR)";
        goto refuse;
    }
    /* RFC 9101 §10.5: and one that requires signed request objects. */
    if (!signed_object && c->require_signed_request_object) {
        error = "invalid_request", description = "this client must send a signed request object";
        goto refuse;
    }
    if (zr_kv_get(p, "registration")) {
        error = "registration_not_supported", description = "registration is not supported";
        goto refuse;
    }
    v = zr_kv_get(p, "response_type");
    if (!v) {
        error = "invalid_request", description = "response_type missing";
        goto refuse;
    }
    if (strcmp(v, "code") != 0) {
        error = "unsupported_response_type", description = "only response_type=code is supported";
        goto refuse;
    }
    v = zr_kv_get(p, "response_mode");
    if (v && strcmp(v, "query") != 0) {
        error = "invalid_request", description = "only response_mode=query is supported";
        goto refuse;
    }
    scope = zr_kv_get(p, "scope");
    if (!scope || !has_word(scope, "openid")) {
        error = "invalid_scope", description = "scope must include openid";
        goto refuse;
    }
    challenge = zr_kv_get(p, "code_challenge");
    method = zr_kv_get(p, "code_challenge_method");
    if (!challenge || !method || strcmp(method, "S256") != 0) {
        error = "invalid_request", description = "PKCE S256 required";
        goto refuse;
    }
    /* base64url of a SHA-256: exactly 43 characters (RFC 7636 §4.2). */
    if (!is_b64url(challenge, 43, 43)) {
        error = "invalid_request", description = "code_challenge must be 43 base64url characters";
        goto refuse;
    }
    /* NL GOV §Authentication Request: nonce is REQUIRED (it binds the ID
     * token to this request; PKCE alone does not reach the ID token). */
    nonce = zr_kv_get(p, "nonce");
    if (!nonce) {
        error = "invalid_request", description = "nonce is required";
        goto refuse;
    }
    if (strlen(nonce) > MAX_NONCE_LEN || !*nonce || !printable(nonce)) {
        error = "invalid_request", description = "nonce empty, too long or not printable";
        goto refuse;
    }
    prompt = zr_kv_get(p, "prompt");
    if (prompt && has_word(prompt, "none")) {
        /* There is no single sign-on session: every login goes to TVS. */
        if (strcmp(prompt, "none") != 0)
            error = "invalid_request", description = "prompt=none cannot be combined";
        else
            error = "login_required", description = "no login session; interaction with TVS is needed";
        goto refuse;
    }
    /* max_age (OIDC Core §3.1.2.1): the relay keeps no login session, but
     * TVS (DigiD) may; any max_age asks TVS for a fresh authentication
     * (ForceAuthn), so the ID token's auth_time (the assertion's
     * AuthnInstant) is always within it. */
    v = zr_kv_get(p, "max_age");
    if (v && (!*v || strlen(v) > 10 || strspn(v, "0123456789") != strlen(v))) {
        error = "invalid_request", description = "max_age must be a non-negative number of seconds";
        goto refuse;
    }
    out->force_authn = (prompt && has_word(prompt, "login")) || v != NULL;

    /* Login method (issue 4): login_method, or login_hint when it names one
     * (any other login_hint is a hint we may ignore, OIDC Core §3.1.2.1). */
    methods = client_login_methods(c);
    v = zr_kv_get(p, ZR_OIDC_PARAM_LOGIN_METHOD);
    hint = zr_kv_get(p, "login_hint");
    if (v && !(login_method = login_method_parse(v))) {
        error = "invalid_request", description = "login_method must be patient or professional";
        goto refuse;
    }
    if (hint && (hinted = login_method_parse(hint)) != 0) {
        if (login_method && hinted != login_method) {
            error = "invalid_request", description = "login_method and login_hint disagree";
            goto refuse;
        }
        login_method = hinted;
    }
    if (login_method && !(methods & login_method)) {
        error = "invalid_request", description = "login method not allowed for this client";
        goto refuse;
    }
    if (!login_method && methods != (ZR_LOGIN_PATIENT | ZR_LOGIN_PROFESSIONAL))
        login_method = methods; /* the client's only method */
    out->login_method = login_method;

    /* Minimum LoA: the client's agreement, raised (never lowered) by
     * acr_values. For a login that may be a patient's, a level the care
     * provider has no TVS service for cannot be met: refused now rather than
     * after a login that cannot count. A professional login has no care
     * provider; its floor is dezi.min_loa (src/dezi checks it, finish checks
     * it again), raised by acr_values. */
    acr_min = acr_minimum(zr_kv_get(p, "acr_values"));
    /* The claims parameter (OIDC Core §5.5): its acr values count like
     * acr_values; an essential acr no offered level satisfies cannot be met
     * (§5.5.1.1), so it is refused now rather than after a login. */
    if ((v = zr_kv_get(p, "claims")) != NULL) {
        zr_loa_t claims_acr;
        if (zr_oidc_claims_request_parse(v, &claims, &description) != 0) {
            error = "invalid_request";
            goto refuse;
        }
        claims_acr = claims.acr_values ? acr_minimum(claims.acr_values) : ZR_LOA_NONE;
        if (claims.acr_essential && claims.acr_values && claims_acr == ZR_LOA_NONE) {
            error = "invalid_request", description = "claims: none of the essential acr values is offered";
            goto refuse;
        }
        if (claims_acr > acr_min)
            acr_min = claims_acr;
    }
    if (login_method == ZR_LOGIN_PROFESSIONAL) {
        out->min_loa = op->cfg->dezi.min_loa;
    } else {
        out->min_loa = c->min_loa;
        v = zr_kv_get(p, ZR_OIDC_PARAM_CARE_PROVIDER);
        care_provider = choose_care_provider(c, v);
        if (!care_provider) {
            error = "invalid_request";
            description = v ? "care_provider is not one of this client's care providers"
                            : "care_provider is required: this client serves several care providers";
            goto refuse;
        }
    }
    if (acr_min > out->min_loa)
        out->min_loa = acr_min;
    /* Quarantine (issue 14 §1): the care provider's own material is
     * unusable. The portal is told it is temporary; a client that lets the
     * person choose still offers professionals (they need no care provider),
     * and its patient choice comes back here with login_method=patient. */
    quarantined = care_provider && zr_oidc_tenant_quarantined(op->cfg, care_provider);
    if (quarantined && login_method == ZR_LOGIN_PATIENT) {
        zr_log_warn("authorize", "client=%s care provider %s is quarantined: login refused ref=%s", c->client_id,
                    care_provider, ref);
        error = "temporarily_unavailable";
        description = "this care provider cannot be logged in to right now (its connection to the login service "
                      "needs maintenance)";
        goto refuse;
    }
    if (care_provider && !quarantined && !tenant_can_reach(op->cfg, care_provider, out->min_loa)) {
        error = "invalid_request", description = "the requested level of assurance is not available";
        goto refuse;
    }
    out->client_id = strdup(c->client_id);
    out->redirect_uri = strdup(redirect_uri);
    out->state = zr_strdup(state);
    out->nonce = strdup(nonce);
    out->scope = strdup("openid"); /* the only scope we grant */
    out->code_challenge = strdup(challenge);
    out->care_provider = zr_strdup(care_provider);
    out->traceparent = zr_strdup(traceparent);
    out->claims = claims.json;
    claims.json = NULL; /* ownership moves to out */
    out->lang = lang; /* the same browser sees the pages after the login */
    /* Issue 18 §2: error_description follows ui_locales only; the portal
     * asked for it, the browser's Accept-Language did not. */
    out->error_lang = zr_http_lang_pick(zr_kv_get(p, "ui_locales"), ZR_LANG_EN);
    if (!out->client_id || !out->redirect_uri || (state && !out->state) || !out->nonce || !out->scope ||
        !out->code_challenge || (care_provider && !out->care_provider) || (traceparent && !out->traceparent)) {
        zr_oidc_authz_clear(out);
        zr_oidc_claims_request_clear(&claims);
        why->page = "internal_error", why->error = "server_error", why->description = NULL;
        return -1;
    }
    zr_oidc_claims_request_clear(&claims);
    return 0;

refuse:
    zr_oidc_claims_request_clear(&claims);
    zr_log_info("authorize", "client=%s refused: %s (%s) ref=%s", c->client_id, error, description, ref);
    memset(out, 0, sizeof(*out));
    why->error = error, why->description = description;
    why->redirect_uri = redirect_uri, why->state = state;
    return -1;
}

/* Issue 18 §2: the refusals at /authorize that go back to the portal
 * (RFC 6749 §4.1.2.1: the client and redirect_uri are valid). The person
 * has not acted yet, so the portal is told at once (docs/pages.md); the
 * English text stays what it was (PAR answers it too), other languages
 * come from templates/oauth.<lang> under key, and where a portal can do
 * something with it a stable zr_reason goes along (docs/claims.md). */
static const struct {
    const char *en, *key, *reason;
} validation_texts[] = {
    {"a parameter is given more than once", "param_repeated", NULL},
    {"state too long or not printable", "state_invalid", NULL},
    {"request cannot be combined with other parameters here", "request_combined", NULL},
    {"request_uri cannot be combined with other parameters here", "request_uri_combined", NULL},
    {"this client must use pushed authorization requests (PAR)", "par_required", NULL},
    {"this client must send a signed request object", "request_object_required", NULL},
    {"registration is not supported", "registration_not_supported", NULL},
    {"response_type missing", "response_type_missing", NULL},
    {"only response_type=code is supported", "response_type_unsupported", NULL},
    {"only response_mode=query is supported", "response_mode_unsupported", NULL},
    {"scope must include openid", "scope_openid", NULL},
    {"PKCE S256 required", "pkce_required", NULL},
    {"code_challenge must be 43 base64url characters", "code_challenge_invalid", NULL},
    {"nonce is required", "nonce_required", NULL},
    {"nonce empty, too long or not printable", "nonce_invalid", NULL},
    {"prompt=none cannot be combined", "prompt_none_combined", NULL},
    {"no login session; interaction with TVS is needed", "prompt_none", "prompt_none_not_possible"},
    {"max_age must be a non-negative number of seconds", "max_age_invalid", NULL},
    {"login_method must be patient or professional", "login_method_invalid", NULL},
    {"login_method and login_hint disagree", "login_method_hint_disagree", NULL},
    {"login method not allowed for this client", "login_method_not_allowed", "login_method_not_allowed"},
    {"claims: none of the essential acr values is offered", "claims_acr_not_offered", "loa_not_offered"},
    {"care_provider is not one of this client's care providers", "care_provider_not_allowed",
     "care_provider_not_allowed"},
    {"care_provider is required: this client serves several care providers", "care_provider_required",
     "care_provider_required"},
    {"this care provider cannot be logged in to right now (its connection to the login service needs maintenance)",
     "care_provider_maintenance", "care_provider_unavailable"},
    {"the requested level of assurance is not available", "loa_not_available", "loa_not_offered"},
};

/* A description without a row (the claims parser's own) gets the generic
 * text of its error, these. */
static const char *const generic_keys[] = {"invalid_request", "invalid_scope", "unsupported_response_type",
                                           "login_required", "temporarily_unavailable", "server_error"};

/* The redirect of a refusal at /authorize, its description in lang. */
static int validation_redirect(zr_oidc_t *op, const zr_oidc_authz_refusal_t *why, zr_lang_t lang,
                               zr_http_response_t *resp)
{
    const char *names[] = {"error", "error_description", "state", "zr_reason"};
    const char *values[4] = {why->error, NULL, why->state, NULL};
    const char *key = why->error;
    char *text;
    int rc;

    for (size_t i = 0; why->description && i < sizeof(validation_texts) / sizeof(validation_texts[0]); i++)
        if (strcmp(validation_texts[i].en, why->description) == 0) {
            key = validation_texts[i].key;
            values[3] = validation_texts[i].reason;
            break;
        }
    text = lang == ZR_LANG_EN || !why->description ? zr_strdup(why->description)
                                                   : description_in(why->description, key, lang);
    values[1] = text;
    rc = redirect_with(op, why->redirect_uri, names, values, 4, resp);
    free(text);
    return rc;
}

int zr_oidc_texts_check(char *err, size_t errlen)
{
    const char *key = NULL;
    char *text = NULL;
    int rc = -1;
    const size_t nv = sizeof(validation_texts) / sizeof(validation_texts[0]);
    const size_t ng = sizeof(generic_keys) / sizeof(generic_keys[0]);

    /* Every language but English (the protocol's text, in C) has every key. */
    for (size_t i = 0; i < ZR_REFUSAL_COUNT + nv + ng; i++) {
        key = i < ZR_REFUSAL_COUNT        ? refusals[i].key
              : i < ZR_REFUSAL_COUNT + nv ? validation_texts[i - ZR_REFUSAL_COUNT].key
                                          : generic_keys[i - ZR_REFUSAL_COUNT - nv];
        text = zr_page_file_text(ZR_OIDC_TEXTS, ZR_LANG_NL, key);
        if (!text || !*text || !description_safe(text))
            goto end;
        zr_release(text);
    }
    rc = 0;
end:
    if (rc != 0)
        snprintf(err, errlen, "templates/%s.nl: %s: %s", ZR_OIDC_TEXTS, key,
                 text ? "not RFC 6749 safe (ASCII without \" and \\ only)" : "missing");
    free(text);
    return rc;
}

/* Renders a refusal at /authorize: a page, or the error to the client. */
static zr_oidc_authz_result_t authorize_refuse(zr_oidc_t *op, const zr_oidc_authz_refusal_t *why, zr_lang_t lang,
                                               zr_lang_t error_lang, zr_http_response_t *resp)
{
    if (why->page && why->client) {
        /* Issue 18 §1: the registered home page, never the unregistered
         * address the request named. */
        const zr_client_t *c = why->client;
        const zr_tenant_t *t = c->care_provider ? zr_config_find_tenant(op->cfg, c->care_provider) : NULL;
        const zr_helpdesk_t *h = c->helpdesk.name || c->helpdesk.phone || c->helpdesk.url || !t ? &c->helpdesk
                                                                                              : &t->helpdesk;
        zr_page_way_t way = {.portal_name = c->name, .home_page = c->home_page, .helpdesk_name = h->name,
                             .helpdesk_phone = h->phone, .helpdesk_phone_uri = h->phone_uri,
                             .helpdesk_url = h->url, .provider_name = t ? t->name : NULL,
                             .logo_src = t ? t->logo.src : NULL, .logo_alt = t ? t->logo.alt : NULL};
        zr_page_error_way(resp, 400, lang, why->page, why->ref, &way);
    } else if (why->page)
        zr_page_error(resp, strcmp(why->page, "internal_error") == 0 ? 500 : 400, lang, why->page, why->ref);
    else if (validation_redirect(op, why, error_lang, resp) != 0)
        zr_page_error(resp, 400, lang, "invalid_request", why->ref);
    return ZR_OIDC_AUTHZ_RESPONDED;
}

zr_oidc_authz_result_t zr_oidc_authorize_begin(zr_oidc_t *op, const zr_http_request_t *req,
                                               zr_http_response_t *resp, zr_oidc_authz_t *out)
{
    const zr_kvlist_t *p = (req->method && strcmp(req->method, "POST") == 0) ? &req->form : &req->query;
    const zr_client_t *c;
    zr_kvlist_t inner = {0};
    zr_oidc_authz_refusal_t why;
    zr_oidc_authz_result_t result = ZR_OIDC_AUTHZ_RESPONDED;
    const char *reason;
    char ref[16];
    int signed_object = 0, pushed = 0, status;
    /* ui_locales over Accept-Language for every page of this login, from
     * this one on (it travels with the pending login); a pushed request's
     * or request object's own ui_locales once they are read. */
    zr_lang_t lang = zr_http_lang_of(req, zr_kv_get(p, "ui_locales"));

    memset(out, 0, sizeof(*out));
    /* RFC 9126 §4 and RFC 9101 §6.3: with a request_uri or a request only
     * the parameters inside count. Neither has a verified redirect_uri to
     * send an error to: a refusal is a page (the log line says why). */
    if (zr_kv_get(p, "request_uri") && zr_kv_get(p, "request")) {
        zr_oidc_reference(ref);
        zr_log_warn("authorize", "request and request_uri together ref=%s", ref);
        zr_page_error(resp, 400, lang, "invalid_request", ref);
        goto end;
    }
    if (zr_kv_get(p, "request_uri")) {
        if (zr_oidc_par_take(op, p, &inner, &signed_object, ref) != 0) {
            zr_page_error(resp, 400, lang, "session_not_found", ref);
            goto end;
        }
        p = &inner, pushed = 1;
    } else if (zr_kv_get(p, "request")) {
        /* RFC 9101 §5: client_id outside too, to know whose keys verify. */
        c = zr_oidc_find_client(op, zr_kv_get(p, "client_id"));
        if (zr_kv_count(p, "client_id") != 1 || zr_kv_count(p, "request") != 1 || !c) {
            zr_oidc_reference(ref);
            zr_log_warn("authorize", "request object without exactly one known client_id ref=%s", ref);
            zr_page_error(resp, 400, lang, "unknown_client", ref);
            goto end;
        }
        if (zr_oidc_request_object_read(op, c, zr_kv_get(p, "request"), &inner, &reason, &status) != 0) {
            zr_oidc_reference(ref);
            zr_log_warn("authorize", "client=%s request object refused: %s ref=%s", c->client_id, reason, ref);
            zr_page_error(resp, status == 503 ? 503 : 400, lang, status == 503 ? "store_unavailable" : "invalid_request", ref);
            goto end;
        }
        p = &inner, signed_object = 1;
    }
    if (p == &inner)
        lang = zr_http_lang_of(req, zr_kv_get(p, "ui_locales"));
    /* W3C Trace Context §3.2: only a valid traceparent is kept with the
     * login (the HTTP layer drops any other, src/http/server.c). */
    if (authorize_validate(op, p, pushed, signed_object, lang, req->traceparent, out, &why) != 0) {
        /* error_description follows ui_locales only, as for every
         * refusal (the portal asked for it; docs/claims.md). */
        authorize_refuse(op, &why, lang, zr_http_lang_pick(zr_kv_get(p, "ui_locales"), ZR_LANG_EN), resp);
        goto end;
    }
    result = ZR_OIDC_AUTHZ_OK;
end:
    zr_kv_free(&inner);
    return result;
}

int zr_oidc_authorize_check(zr_oidc_t *op, const zr_kvlist_t *p, int signed_object, const char **error,
                            const char **description)
{
    zr_oidc_authz_t authz;
    zr_oidc_authz_refusal_t why;
    int rc = authorize_validate(op, p, 1, signed_object, ZR_LANG_NL, NULL, &authz, &why);
    zr_oidc_authz_clear(&authz);
    *error = rc == 0 ? NULL : why.error;
    *description = rc == 0 ? NULL : why.description;
    return rc;
}

/* ---- finish ---- */

static char *code_record(const zr_oidc_authz_t *authz, const zr_subject_t *subject, time_t exp)
{
    char *authz_json = zr_oidc_authz_to_json(authz), *subject_json = zr_subject_to_json(subject), *out = NULL;
    json_t *o = json_object();
    json_error_t jerr;
    if (!authz_json || !subject_json || zr_oidc_json_set(o, "authz", json_loads(authz_json, 0, &jerr)) != 0 ||
        zr_oidc_json_set(o, "subject", json_loads(subject_json, 0, &jerr)) != 0 ||
        zr_oidc_json_set(o, "exp", json_integer((json_int_t)exp)) != 0)
        goto end;
    if (!json_is_object(json_object_get(o, "authz")) || !json_is_object(json_object_get(o, "subject")))
        goto end;
    out = json_dumps(o, JSON_COMPACT);
end:
    zr_oidc_wipe_free(authz_json);
    zr_oidc_wipe_free(subject_json);
    json_decref(o); /* jansson keeps no copy once freed; the strings above are wiped */
    return out;
}

/* Defence in depth before a code exists (the SAML layer and src/dezi have
 * already checked): the subject is of a kind the client and the request
 * allow, says who logged in, and reached the level required. Patients:
 * authz->min_loa (client minimum raised by acr_values). Professionals:
 * dezi.min_loa, and authz->min_loa too when the request was for a
 * professional (then it is dezi.min_loa raised by acr_values); the patient
 * minimum of a request that left the choice open does not apply to them.
 * Returns why it is refused, or NULL. */
/* The refusals the portal gets a reason of their own for (issue 18 §2). */
static const char why_loa_too_low[] = "the level of assurance reached is too low";
static const char why_not_that_person[] = "the person who logged in is not the one the claims request names (sub)";

static const char *subject_refusal(const zr_oidc_t *op, const zr_client_t *c, const zr_oidc_authz_t *authz,
                                   const zr_subject_t *subject)
{
    int professional = subject->kind == ZR_SUBJECT_PROFESSIONAL;
    int kind = professional ? ZR_LOGIN_PROFESSIONAL : ZR_LOGIN_PATIENT;
    zr_loa_t required = authz->min_loa;

    if (subject->kind != ZR_SUBJECT_PATIENT && !professional)
        return "unknown kind of subject";
    if (!(client_login_methods(c) & kind) || (authz->login_method && authz->login_method != kind))
        return "login method not allowed for this client";
    if (professional ? !subject->pro.dezi_nummer : !subject->acting.value)
        return "no subject identifier";
    if (professional) {
        if (!op->cfg->dezi.enabled)
            return "professionals are not configured";
        required = op->cfg->dezi.min_loa;
        if (authz->login_method == ZR_LOGIN_PROFESSIONAL && authz->min_loa > required)
            required = authz->min_loa;
    }
    if (subject->loa == ZR_LOA_NONE || subject->loa < required)
        return why_loa_too_low;
    return NULL;
}

/* The claims parameter asked for the ID token's sub to have a value: only
 * that person may be logged in (OIDC Core §5.5.1). */
static const char *claims_refusal(const zr_oidc_t *op, const zr_client_t *c, const zr_oidc_authz_t *authz,
                                  const zr_subject_t *subject)
{
    zr_oidc_claims_request_t r;
    const char *why = NULL, *unreadable;
    char *sub = NULL;

    if (!authz->claims)
        return NULL;
    if (zr_oidc_claims_request_parse(authz->claims, &r, &unreadable) != 0)
        return "the claims request cannot be read";
    if (r.sub) {
        sub = zr_oidc_subject_sub(op, c, subject);
        if (!sub || strcmp(sub, r.sub) != 0)
            why = why_not_that_person;
    }
    zr_oidc_wipe_free(sub);
    zr_oidc_claims_request_clear(&r);
    return why;
}

/* The code record and the caller's extra writes in one round trip (at most
 * ZR_OIDC_MAX_EXTRA_WRITES); *issued = 1 when the code was kept and the
 * redirect made. */
#define ZR_OIDC_MAX_EXTRA_WRITES 4
static int authorize_finish(zr_oidc_t *op, const zr_oidc_authz_t *authz, const zr_subject_t *subject,
                            zr_store_write_t *extra, size_t extra_count, zr_http_response_t *resp, int *issued)
{
    zr_store_write_t writes[1 + ZR_OIDC_MAX_EXTRA_WRITES];
    char *code = NULL, *record = NULL, ref[16], mask[16];
    const zr_client_t *c;
    const char *why;
    zr_store_status_t st;
    int rc = -1;
    int lifetime;

    zr_oidc_reference(ref);
    *issued = 0;
    for (size_t i = 0; extra && i < extra_count; i++)
        extra[i].status = ZR_STORE_INVALID;
    if (!op || !authz || !subject || !authz->client_id || !authz->redirect_uri ||
        extra_count > ZR_OIDC_MAX_EXTRA_WRITES || (extra_count && !extra)) {
        zr_page_error(resp, 500, authz ? authz->lang : ZR_LANG_NL, "internal_error", ref);
        goto end;
    }
    c = zr_oidc_find_client(op, authz->client_id);
    if (!c || !redirect_uri_registered(c, authz->redirect_uri)) {
        /* Configuration changed during the login: no longer a safe target. */
        zr_log_warn("authorize", "client %s or its redirect URI no longer configured ref=%s", authz->client_id, ref);
        zr_page_error(resp, 400, authz->lang, "unknown_client", ref);
        goto end;
    }
    if ((why = subject_refusal(op, c, authz, subject)) != NULL ||
        (why = claims_refusal(op, c, authz, subject)) != NULL) {
        zr_log_warn("authorize", "client=%s %s login refused: %s (loa %s) ref=%s", c->client_id,
                    subject->kind == ZR_SUBJECT_PROFESSIONAL ? "professional" : "patient", why,
                    zr_loa_name(subject->loa), ref);
        /* Issue 18 §2: the person is told, the portal gets the reason. */
        rc = zr_oidc_authorize_refuse(op, authz,
                                      why == why_loa_too_low && subject->kind == ZR_SUBJECT_PROFESSIONAL
                                          ? ZR_REFUSAL_PRO_LOA_TOO_LOW
                                      : why == why_loa_too_low     ? ZR_REFUSAL_LOA_TOO_LOW
                                      : why == why_not_that_person ? ZR_REFUSAL_WRONG_PERSON
                                                                   : ZR_REFUSAL_NOT_ALLOWED,
                                      why, resp);
        goto end;
    }
    lifetime = op->cfg->oidc.code_lifetime_s;
    code = zr_random_token(32);
    record = code ? code_record(authz, subject, zr_time_now() + lifetime) : NULL;
    if (!record) {
        zr_page_error(resp, 500, authz->lang, "internal_error", ref);
        goto end;
    }
    writes[0] = (zr_store_write_t){ZR_OIDC_NS_CODE, code, record, strlen(record), lifetime, ZR_STORE_INVALID};
    for (size_t i = 0; i < extra_count; i++)
        writes[1 + i] = extra[i];
    /* On the replicas before the code goes to the portal: a failover must
     * not lose a code already handed out (redis.wait_replicas). */
    zr_store_write_all_replicated(op->store, writes, 1 + extra_count);
    for (size_t i = 0; i < extra_count; i++)
        extra[i].status = writes[1 + i].status;
    if ((st = writes[0].status) != ZR_STORE_OK) {
        zr_log_error("authorize", "store %s: code not issued ref=%s", zr_store_status_name(st), ref);
        zr_page_error(resp, 503, authz->lang, "store_unavailable", ref);
        goto end;
    }
    {
        const char *names[] = {"code", "state"};
        const char *values[] = {code, authz->state};
        rc = redirect_with(op, authz->redirect_uri, names, values, 2, resp);
    }
    if (rc != 0) {
        /* Never a redirect without the state the client sent. */
        zr_log_error("authorize", "client=%s redirect with the code cannot be built ref=%s", c->client_id, ref);
        zr_page_error(resp, 500, authz->lang, "internal_error", ref);
        goto end;
    }
    *issued = 1;
    zr_log_info("authorize", "client=%s code=%s issued", c->client_id, zr_log_mask(code, mask));
end:
    zr_oidc_wipe_free(code);
    zr_oidc_wipe_free(record);
    return rc;
}

int zr_oidc_authorize_finish(zr_oidc_t *op, const zr_oidc_authz_t *authz, const zr_subject_t *subject,
                             zr_http_response_t *resp)
{
    int issued;
    return authorize_finish(op, authz, subject, NULL, 0, resp, &issued);
}

int zr_oidc_authorize_issue(zr_oidc_t *op, const zr_oidc_authz_t *authz, const zr_subject_t *subject,
                            zr_store_write_t *extra, size_t extra_count, zr_http_response_t *resp)
{
    int issued;
    authorize_finish(op, authz, subject, extra, extra_count, resp, &issued);
    return issued;
}
