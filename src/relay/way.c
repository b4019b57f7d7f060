/* The way forward on the relay's pages (issue 18 §1, docs/pages.md): no
 * page leaves a person stuck. A page links back to the portal and, where
 * starting over makes sense, to its login; it shows the helpdesk. When the
 * pending login is gone, the page says what can honestly be known from the
 * login's trail: a short-lived record next to each pending login that holds
 * only the client, the care provider and how far the login got (no person,
 * no key, no code), so that an expired login, a reloaded ACS, a replayed
 * answer and a chooser sent twice each get their own accurate page. */
#include "relay_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "zr/log.h"
#include "zr/util.h"

/* The value the binding cookie carries once its pending login was spent:
 * not a secret, it only tells a reload in the same browser from an answer
 * presented elsewhere. */
#define TRAIL_SPENT_COOKIE "done"

static const char *const trail_state_names[] = {"begun", "issued", "refused", "chosen", NULL};

void zr_relay_page_way(const zr_config_t *cfg, const char *client_id, const char *care_provider,
                       zr_page_way_t *way)
{
    const zr_client_t *client = client_id ? zr_config_find_client(cfg, client_id) : NULL;
    const zr_tenant_t *tenant;
    const zr_helpdesk_t *help;

    memset(way, 0, sizeof(*way));
    if (!client)
        return;
    if (!care_provider)
        care_provider = client->care_provider;
    tenant = care_provider ? zr_config_find_tenant(cfg, care_provider) : NULL;
    way->portal_name = client->name ? client->name : client->client_id;
    way->home_page = client->home_page;
    way->login_uri = client->initiate_login_uri;
    /* The client's helpdesk wins as a whole: a portal with its own service
     * desk does not want half of the care provider's. */
    help = &client->helpdesk;
    if (!help->name && !help->phone && !help->url && tenant)
        help = &tenant->helpdesk;
    way->helpdesk_name = help->name;
    way->helpdesk_phone = help->phone;
    way->helpdesk_phone_uri = help->phone_uri;
    way->helpdesk_url = help->url;
    /* The header names the care provider (issue 18 §3); a quarantined one
     * is still who the person wanted to reach. */
    if (tenant) {
        way->provider_name = tenant->name;
        way->logo_src = tenant->logo.src;
        way->logo_alt = tenant->logo.alt;
    }
}

/* The address of GET /error that makes this page again (the language
 * switch of an error page whose own address cannot be repeated: it carried
 * an artifact or a code, or answered a POST). Only what the page shows or
 * the configuration knows; nothing secret. NULL on error. */
static char *error_page_href(int status, const char *code, const char *ref, const char *client_id,
                             const char *care_provider)
{
    char *c = zr_url_encode(code), *r = zr_url_encode(ref ? ref : "-");
    char *cl = client_id ? zr_url_encode(client_id) : NULL, *cp = care_provider ? zr_url_encode(care_provider) : NULL;
    zr_buf_t b;
    char *href = NULL;

    zr_buf_init(&b);
    if (!c || !r || (client_id && !cl) || (care_provider && !cp))
        goto end;
    if (zr_buf_printf(&b, "/error?code=%s&status=%d&ref=%s", c, status, r) != 0 ||
        (cl && zr_buf_printf(&b, "&client=%s", cl) != 0) || (cp && zr_buf_printf(&b, "&cp=%s", cp) != 0))
        goto end;
    href = zr_buf_steal(&b);
end:
    zr_buf_free(&b);
    free(c);
    free(r);
    free(cl);
    free(cp);
    return href;
}

int zr_relay_page_error(zr_http_response_t *resp, int status, zr_lang_t lang, const char *code, const char *ref,
                        const zr_config_t *cfg, const char *client_id, const char *care_provider)
{
    zr_page_way_t way;
    char *href = error_page_href(status, code ? code : "internal_error", ref, client_id, care_provider);
    int rc;

    zr_relay_page_way(cfg, client_id, care_provider, &way);
    way.lang_href = href;
    rc = zr_page_error_way(resp, status, lang, code, ref, &way);
    free(href);
    return rc;
}

/* GET /error?code=&status=&ref=[&client=][&cp=] (issue 18 §2): an error
 * page of the relay made again, for its language switch (docs/pages.md).
 * Only a code the relay has a page for, an error status, a reference of
 * its alphabet, a configured client and care provider: it shows nothing
 * the configuration and the page itself did not already show. */
int zr_relay_handle_error_page(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const char *code = zr_kv_get(&req->query, "code"), *status_s = zr_kv_get(&req->query, "status");
    const char *ref = zr_kv_get(&req->query, "ref"), *client = zr_kv_get(&req->query, "client");
    const char *cp = zr_kv_get(&req->query, "cp");
    static const char ref_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    char *end = NULL, own[16];
    long status = status_s ? strtol(status_s, &end, 10) : 0;
    int ok = code && zr_page_error_known(code) && status_s && end && !*end && status >= 400 && status <= 599 && ref &&
             *ref && strlen(ref) <= 32 && strspn(ref, ref_alphabet) == strlen(ref);

    if (!ok) {
        zr_relay_reference(own);
        zr_page_error(resp, 400, req->lang, "bad_request", own);
        goto end;
    }
    if (client && !zr_config_find_client(gen->cfg, client))
        client = NULL;
    if (cp && !zr_config_find_tenant(gen->cfg, cp))
        cp = NULL;
    zr_relay_page_error(resp, (int)status, req->lang, code, ref, gen->cfg, client, cp);
end:
    zr_relay_gen_put(relay, gen);
    return 0;
}

int zr_relay_trail_ttl(const zr_config_t *cfg)
{
    /* As long again as the login itself, and at least five minutes more: a
     * person who comes back to an expired login still learns where to go. */
    int lifetime = cfg->oidc.session_lifetime_s > 0 ? cfg->oidc.session_lifetime_s : 900;
    return lifetime + (lifetime > 300 ? lifetime : 300);
}

int zr_relay_lang_read(const json_t *v, zr_lang_t *out)
{
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *out = json_integer_value(v) == 1 ? ZR_LANG_EN : ZR_LANG_NL;
        return 0;
    }
    return json_is_string(v) ? zr_lang_from_code(json_string_value(v), out) : -1;
}

char *zr_relay_trail_json(const char *client_id, const char *care_provider, zr_lang_t lang,
                          zr_relay_trail_state_t state)
{
    json_t *o = json_pack("{s:s, s:s, s:s}", "client", client_id ? client_id : "", "state", trail_state_names[state],
                          "lang", zr_lang_code(lang));
    char *out = NULL;
    if (o && care_provider)
        json_object_set_new(o, "care_provider", json_string(care_provider));
    if (o)
        out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

void zr_relay_trail_put(zr_relay_t *relay, const zr_config_t *cfg, const char *ns, const char *key,
                        const char *client_id, const char *care_provider, zr_lang_t lang,
                        zr_relay_trail_state_t state, const char *ref)
{
    char trail_ns[80], *json = zr_relay_trail_json(client_id, care_provider, lang, state);
    zr_store_status_t st;

    snprintf(trail_ns, sizeof(trail_ns), "%s-trail", ns);
    st = json ? zr_store_put(relay->store, trail_ns, key, json, strlen(json), zr_relay_trail_ttl(cfg))
              : ZR_STORE_INVALID;
    /* Only a page's wording depends on it: the login goes on. */
    if (st != ZR_STORE_OK)
        zr_log_warn("login", "%s trail not kept (%s) ref=%s", ns, zr_store_status_name(st), ref);
    free(json);
}

/* The trail under ns-trail/key. 0 when found (free the strings). */
static int trail_get(zr_relay_t *relay, const char *ns, const char *key, char **client_id, char **care_provider,
                     zr_lang_t *lang, zr_relay_trail_state_t *state)
{
    char trail_ns[80], *json = NULL;
    size_t len = 0;
    json_t *o = NULL;
    const char *s;
    int rc = -1;

    *client_id = *care_provider = NULL;
    snprintf(trail_ns, sizeof(trail_ns), "%s-trail", ns);
    if (zr_store_get(relay->store, trail_ns, key, &json, &len) != ZR_STORE_OK)
        goto end;
    o = json_loadb(json, len, 0, NULL);
    s = json_string_value(json_object_get(o, "state"));
    for (int i = 0; s && trail_state_names[i]; i++)
        if (strcmp(s, trail_state_names[i]) == 0) {
            *state = (zr_relay_trail_state_t)i;
            rc = 0;
        }
    if (rc != 0)
        goto end;
    *client_id = zr_strdup(json_string_value(json_object_get(o, "client")));
    *care_provider = zr_strdup(json_string_value(json_object_get(o, "care_provider")));
    if (json_object_get(o, "lang") && zr_relay_lang_read(json_object_get(o, "lang"), lang) != 0)
        *lang = ZR_LANG_NL;
end:
    json_decref(o);
    free(json);
    return rc;
}

const char *zr_relay_spent_cookie_value(void)
{
    return TRAIL_SPENT_COOKIE;
}

void zr_relay_page_gone(zr_relay_t *relay, const zr_config_t *cfg, const zr_http_request_t *req,
                        zr_http_response_t *resp, const char *ns, const char *cookie_prefix, const char *key,
                        const char *ref)
{
    char *client_id = NULL, *care_provider = NULL, cookie_name[ZR_RELAY_COOKIE_NAME_MAX];
    const char *code = "session_expired", *cookie;
    zr_relay_trail_state_t state = ZR_RELAY_TRAIL_BEGUN;
    zr_lang_t lang = req->lang, login_lang = req->lang;

    if (trail_get(relay, ns, key, &client_id, &care_provider, &login_lang, &state) == 0) {
        zr_relay_cookie_name(cfg, cookie_prefix, key, cookie_name);
        cookie = zr_kv_get(&req->cookies, cookie_name);
        /* The browser that began the login (it still has the binding
         * cookie) sees the login's language, as on its other pages; any
         * other browser its own. */
        if (cookie)
            lang = login_lang;
        switch (state) {
        case ZR_RELAY_TRAIL_BEGUN:
            code = "session_expired"; /* it timed out before it was used */
            break;
        case ZR_RELAY_TRAIL_ISSUED:
            /* The same browser that finished the login, again (a reload or
             * the back button); anyone else holds a used answer. */
            code = cookie && strcmp(cookie, TRAIL_SPENT_COOKIE) == 0 ? "login_already_done" : "saml_replay";
            break;
        case ZR_RELAY_TRAIL_REFUSED:
            code = "saml_replay";
            break;
        case ZR_RELAY_TRAIL_CHOSEN:
            code = "choice_already_made";
            break;
        }
    }
    zr_relay_page_error(resp, 400, lang, code, ref, cfg, client_id, care_provider);
    free(client_id);
    free(care_provider);
}
