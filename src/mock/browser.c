/* The browser side of the mock TVS: the SingleSignOnService (HTTP-POST
 * binding) that checks the relay's AuthnRequest, the test identity picker,
 * and the answer to the relay's ACS with the HTTP-Artifact binding
 * (ST-SAML §DV->RD AuthnRequest, §Artifact binding). */
#include "mock_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zr/log.h"
#include "zr/util.h"

void zr_mock_login_free(void *p)
{
    zr_mock_login_t *l = p;
    if (!l)
        return;
    zr_saml_idp_request_clear(&l->req);
    free(l->relay_state);
    free(l);
}

/* What TVS shows when it refuses a request: the check that failed. The
 * messages name checks and URLs only, never a BSN (a request has none). */
/* The fixed reasons are catalog keys (mock-error.reason.*): no page mixes
 * languages (issue 18 §2). */
static int show_refusal(zr_http_response_t *resp, zr_lang_t lang, int status, const char *check,
                        const char *reason_key, const char *message)
{
    zr_kvlist_t vars = {0};
    char *html = NULL;
    /* A fixed reason is the catalog's, in the page's language; a message a
     * check made stays English, marked so (WCAG 3.1.2, language of parts). */
    const char *marked = reason_key || lang == ZR_LANG_EN ? "" : " lang=\"en\"";
    int rc = -1;
    if (reason_key)
        message = zr_lang_text(lang, reason_key);
    if (zr_kv_add(&vars, "check", check) != 0 || zr_kv_add(&vars, "message", message ? message : "") != 0 ||
        zr_kv_add(&vars, "message_lang", marked) != 0)
        goto end;
    html = zr_page_render("mock-error", lang, &vars);
    if (!html)
        goto end;
    rc = zr_http_respond(resp, status, "text/html; charset=utf-8", html, strlen(html));
end:
    zr_kv_free(&vars);
    free(html);
    return rc;
}

/* The level in the page's language (eIDAS names in English, DigiD's in
 * Dutch), never an English word on a Dutch page. */
static const char *loa_text(zr_loa_t loa, zr_lang_t lang)
{
    switch (loa) {
    case ZR_LOA_BASIC:
        return zr_lang_text(lang, "mock-login.loa.basic");
    case ZR_LOA_SUBSTANTIAL:
        return zr_lang_text(lang, "mock-login.loa.substantial");
    case ZR_LOA_HIGH:
        return zr_lang_text(lang, "mock-login.loa.high");
    default:
        return zr_loa_name(loa);
    }
}

static const char *outcome_text(zr_mock_outcome_t o, zr_lang_t lang)
{
    switch (o) {
    case ZR_MOCK_OUTCOME_SUCCESS: return "";
    case ZR_MOCK_OUTCOME_CANCEL: return zr_lang_text(lang, "mock-login.outcome.cancel");
    case ZR_MOCK_OUTCOME_AUTHN_FAILED: return zr_lang_text(lang, "mock-login.outcome.authn_failed");
    case ZR_MOCK_OUTCOME_NO_AUTHN_CONTEXT: return zr_lang_text(lang, "mock-login.outcome.no_authn_context");
    case ZR_MOCK_OUTCOME_REQUEST_DENIED: return zr_lang_text(lang, "mock-login.outcome.request_denied");
    }
    return "?";
}

int zr_mock_parse_bsn_key(const char *v)
{
    if (!v || strcmp(v, "newest") == 0)
        return ZR_SAML_IDP_BSN_KEY_NEWEST;
    if (strcmp(v, "all") == 0)
        return ZR_SAML_IDP_BSN_KEY_ALL;
    if (strcmp(v, "0") == 0)
        return 0;
    if (strcmp(v, "1") == 0)
        return 1;
    return ZR_MOCK_BSN_KEY_INVALID;
}

/* During a rollover (two BSN keys) the tester picks which key TVS wraps the
 * BSN for: the newest by default, as TVS does once it has the new
 * certificate; the old one, as before; or both (ST-SAML §EncryptedID).
 * The picker is templates/mock-login-bsn-key. */
static char *bsn_key_picker(const zr_tenant_t *t, zr_lang_t lang)
{
    if (t->bsn_key_count < 2)
        return strdup("");
    return zr_page_render("mock-login-bsn-key", lang, NULL);
}

/* One submit button per configured identity (templates/mock-login-identity):
 * its label and its LoA (or the status it makes TVS answer), after the BSN
 * key picker when there is a choice. The BSNs are not shown. */
static char *identity_buttons(const zr_config_t *cfg, const zr_tenant_t *t, zr_lang_t lang)
{
    size_t count = cfg->mock_tvs.identity_count;
    zr_kvlist_t *rows = calloc(count ? count : 1, sizeof(*rows));
    char *picker = NULL, *buttons = NULL, *html = NULL, index[24];
    zr_buf_t b;

    zr_buf_init(&b);
    if (!rows)
        goto end;
    for (size_t i = 0; i < count; i++) {
        const zr_mock_identity_t *id = &cfg->mock_tvs.identities[i];
        zr_buf_t detail;
        int ok;

        zr_buf_init(&detail);
        if (id->outcome == ZR_MOCK_OUTCOME_SUCCESS)
            ok = zr_buf_printf(&detail, "LoA %s%s%s", zr_loa_name(id->loa), !id->legal_bsn ? "" : ", ",
                               !id->legal_bsn ? "" : zr_lang_text(lang, "mock-login.representation")) == 0;
        else
            ok = zr_buf_appends(&detail, outcome_text(id->outcome, lang)) == 0;
        snprintf(index, sizeof(index), "%zu", i);
        ok = ok && zr_kv_add(&rows[i], "index", index) == 0 &&
             zr_kv_add(&rows[i], "label", id->label ? id->label : "?") == 0 &&
             zr_kv_add(&rows[i], "detail", detail.data ? detail.data : "") == 0;
        zr_buf_free(&detail);
        if (!ok)
            goto end;
    }
    picker = bsn_key_picker(t, lang);
    buttons = zr_page_render_each("mock-login-identity", lang, rows, count);
    if (!picker || !buttons || zr_buf_appends(&b, picker) != 0 || zr_buf_appends(&b, buttons) != 0)
        goto end;
    html = zr_buf_steal(&b);
end:
    for (size_t i = 0; rows && i < count; i++)
        zr_kv_free(&rows[i]);
    free(rows);
    free(picker);
    free(buttons);
    zr_buf_free(&b);
    return html;
}

/* The organisation line of the login page: the care provider, and in a
 * cluster the LC that asked for it. */
static char *care_provider_text(const zr_saml_idp_request_t *r, zr_lang_t lang)
{
    zr_buf_t b;
    const zr_tenant_t *t = r->tenant;
    zr_buf_init(&b);
    /* "Zorg BV (via leverancierscluster urn:...)": plain text, the page
     * escapes it */
    if (zr_buf_appends(&b, t->name ? t->name : t->entity_id) != 0 ||
        (r->requester && strcmp(r->requester, t->entity_id) != 0 &&
         zr_buf_printf(&b, " (%s %s)", zr_lang_text(lang, "mock-login.via_cluster"), r->requester) != 0)) {
        zr_buf_free(&b);
        return NULL;
    }
    return zr_buf_steal(&b);
}

/* The login page for login (owned by this call: kept under a fresh
 * single-use handle, or freed): the care provider, the service and its
 * level, one button per test identity; the switch posts the page's form
 * again with lang, which shows it anew in that language. */
static int login_page(zr_mock_tvs_t *m, zr_mock_login_t *login, zr_lang_t lang, zr_http_response_t *resp)
{
    const zr_mock_gen_t *gen = login->gen;
    const zr_config_t *cfg = gen->cfg;
    zr_kvlist_t vars = {0};
    char *handle = NULL, *buttons = NULL, *html = NULL, *organisation = NULL, mask[16];
    int rc = -1, cluster = strcmp(login->req.requester, login->req.tenant->entity_id) != 0;

    handle = zr_random_token(32);
    buttons = identity_buttons(cfg, login->req.tenant, lang);
    organisation = care_provider_text(&login->req, lang);
    if (!handle || !buttons || !organisation)
        goto end;
    /* The page names the care provider and service, as TVS does. */
    if (zr_kv_add(&vars, "handle", handle) != 0 || zr_kv_add(&vars, "identities", buttons) != 0 ||
        zr_kv_add(&vars, "care_provider", organisation) != 0 ||
        zr_kv_add(&vars, "service", login->req.service->name ? login->req.service->name
                                                               : login->req.service->service_uuid) != 0 ||
        zr_kv_add(&vars, "min_loa", loa_text(login->req.service->min_loa, lang)) != 0)
        goto end;
    zr_log_info("authn_request", "request=%s care_provider=%s requester=%s service=%s force_authn=%d handle=%s",
                login->req.request_id, login->req.tenant->id ? login->req.tenant->id : "-",
                cluster ? "lc" : "care_provider", login->req.service->service_uuid, login->req.force_authn,
                zr_log_mask(handle, mask));
    if (zr_mock_table_put(m->pending, handle, login) != 0) {
        rc = show_refusal(resp, lang, 503, "busy", "mock-error.reason.busy", NULL);
        goto end;
    }
    login = NULL;
    html = zr_page_render("mock-login", lang, &vars);
    if (!html)
        goto end;
    if (zr_http_respond(resp, 200, "text/html; charset=utf-8", html, strlen(html)) != 0 ||
        zr_http_set_header(resp, "Content-Security-Policy", gen->form_action_csp) != 0)
        goto end;
    rc = 0;
end:
    zr_mock_login_free(login);
    zr_kv_free(&vars);
    free(handle);
    free(buttons);
    free(organisation);
    free(html);
    return rc;
}

/* POST /kvs/rd/request_authentication */
int zr_mock_handle_sso(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_tvs_t *m = ctx;
    const zr_mock_gen_t *gen = zr_mock_current(m);
    const zr_config_t *cfg = gen->cfg;
    zr_mock_login_t *login = NULL;
    char err[512] = "";
    const char *saml_request, *relay_state;
    zr_saml_idp_check_t check;
    int rc = -1;

    if (zr_kv_count(&req->form, "SAMLRequest") != 1 || zr_kv_count(&req->form, "RelayState") > 1) {
        rc = show_refusal(resp, req->lang, 400, "binding",
                          "mock-error.reason.binding", NULL);
        goto end;
    }
    saml_request = zr_kv_get(&req->form, "SAMLRequest");
    relay_state = zr_kv_get(&req->form, "RelayState");
    /* SAML Bindings §3.5.3: RelayState at most 80 bytes. */
    if (relay_state && strlen(relay_state) > ZR_MOCK_RELAY_STATE_MAX) {
        rc = show_refusal(resp, req->lang, 400, "relay_state", "mock-error.reason.relay_state", NULL);
        goto end;
    }
    login = calloc(1, sizeof(*login));
    if (!login)
        goto end;
    login->gen = gen;
    check = zr_saml_idp_authn_request_verify(cfg, saml_request, &login->req, err, sizeof(err));
    if (check != ZR_SAML_IDP_OK) {
        zr_log_warn("authn_request_refused", "check=%s reason=\"%s\"", zr_saml_idp_check_name(check), err);
        rc = show_refusal(resp, req->lang, 400, zr_saml_idp_check_name(check), NULL, err);
        goto end;
    }
    if (relay_state && !(login->relay_state = strdup(relay_state)))
        goto end;
    rc = login_page(m, login, req->lang, resp);
    login = NULL;
end:
    zr_mock_login_free(login);
    return rc;
}

/* POST /kvs/rd/choose: the person picked a test identity (and, during a
 * rollover, a BSN key). TVS answers the relay's ACS with an artifact, for a
 * failure or a cancel too. */
int zr_mock_handle_choose(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_mock_tvs_t *m = ctx;
    const zr_config_t *cfg;
    zr_mock_login_t *login = NULL;
    char *artifact = NULL, *art_enc = NULL, *rs_enc = NULL, *end_ptr = NULL;
    char mask_h[16], mask_a[16];
    const char *handle = zr_kv_get(&req->form, "handle");
    const char *choice = zr_kv_get(&req->form, "identity");
    const char *key_choice = zr_kv_get(&req->form, "bsn_key");
    zr_buf_t url;
    unsigned long idx;
    int rc = -1, bsn_key;

    zr_buf_init(&url);
    /* The language switch: the same login's page in the language asked
     * for, under a fresh handle (this one is spent). */
    if (handle && !choice && zr_kv_get(&req->form, ZR_LANG_PARAM) && zr_kv_count(&req->form, "handle") == 1 &&
        zr_kv_count(&req->form, ZR_LANG_PARAM) == 1) {
        login = zr_mock_table_take(m->pending, handle);
        if (!login) {
            rc = show_refusal(resp, req->lang, 400, "expired", "mock-error.reason.expired", NULL);
            goto end;
        }
        rc = login_page(m, login, req->lang, resp);
        login = NULL;
        goto end;
    }
    if (!handle || zr_kv_count(&req->form, "handle") != 1 || !choice || zr_kv_count(&req->form, "identity") != 1 ||
        zr_kv_count(&req->form, "bsn_key") > 1) {
        rc = show_refusal(resp, req->lang, 400, "form", "mock-error.reason.form", NULL);
        goto end;
    }
    idx = strtoul(choice, &end_ptr, 10);
    if (!*choice || *end_ptr || choice[0] < '0' || choice[0] > '9' ||
        idx >= zr_mock_current(m)->cfg->mock_tvs.identity_count) {
        rc = show_refusal(resp, req->lang, 400, "identity", "mock-error.reason.no_identity", NULL);
        goto end;
    }
    bsn_key = zr_mock_parse_bsn_key(key_choice);
    if (bsn_key == ZR_MOCK_BSN_KEY_INVALID) {
        rc = show_refusal(resp, req->lang, 400, "bsn_key",
                          "mock-error.reason.bsn_key", NULL);
        goto end;
    }
    /* Single use: a second submit of the same page finds nothing. */
    login = zr_mock_table_take(m->pending, handle);
    if (!login) {
        rc = show_refusal(resp, req->lang, 400, "expired",
                          "mock-error.reason.expired", NULL);
        goto end;
    }
    /* The page was made from the login's configuration (a reload may have
     * come in between). */
    cfg = login->gen->cfg;
    if (idx >= cfg->mock_tvs.identity_count) {
        rc = show_refusal(resp, req->lang, 400, "identity", "mock-error.reason.no_identity", NULL);
        goto end;
    }
    if (bsn_key >= 0 && (size_t)bsn_key >= login->req.tenant->bsn_key_count) {
        rc = show_refusal(resp, req->lang, 400, "bsn_key", "mock-error.reason.no_second_bsn_key", NULL);
        goto end;
    }
    login->identity = (size_t)idx;
    login->req.bsn_key = bsn_key;
    login->req.authn_instant = zr_time_now();
    /* Endpoint index 0: our one ArtifactResolutionService. */
    artifact = zr_saml_idp_artifact_new(cfg->mock_tvs.entity_id, 0);
    art_enc = artifact ? zr_url_encode(artifact) : NULL;
    rs_enc = login->relay_state ? zr_url_encode(login->relay_state) : NULL;
    if (!art_enc || (login->relay_state && !rs_enc))
        goto end;
    if (zr_buf_printf(&url, "%s%sSAMLart=%s", login->gen->acs_url, strchr(login->gen->acs_url, '?') ? "&" : "?",
                      art_enc) != 0 ||
        (rs_enc && zr_buf_printf(&url, "&RelayState=%s", rs_enc) != 0))
        goto end;
    zr_log_info("artifact_issued", "request=%s identity=%lu outcome=%d bsn_key=%s handle=%s artifact=%s",
                login->req.request_id, idx, (int)cfg->mock_tvs.identities[idx].outcome,
                key_choice ? key_choice : "newest", zr_log_mask(handle, mask_h), zr_log_mask(artifact, mask_a));
    if (zr_mock_table_put(m->artifacts, artifact, login) != 0) {
        rc = show_refusal(resp, req->lang, 503, "busy", "mock-error.reason.artifacts_outstanding", NULL);
        goto end;
    }
    login = NULL;
    if (zr_http_redirect(resp, 302, url.data) != 0)
        goto end;
    rc = 0;
end:
    zr_mock_login_free(login);
    zr_buf_free(&url);
    free(artifact);
    free(art_enc);
    free(rs_enc);
    return rc;
}

/* GET /metadata: the signed RD metadata (also written to metadata_out). */
int zr_mock_handle_metadata(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    const zr_mock_gen_t *gen = zr_mock_current(ctx);
    return zr_http_respond(resp, 200, "application/samlmetadata+xml", gen->metadata, gen->metadata_len);
}
