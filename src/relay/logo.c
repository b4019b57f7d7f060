/* GET /logo: the logos the relay's pages show (issue 18 §3, docs/pages.md),
 * served from the relay's own origin so that no page makes a browser fetch
 * anything elsewhere: a care provider's (`logo:` in its configuration,
 * ?cp=<id>) and the DigiD logo the operator got from Logius
 * (`pages.digid_logo_file`, ?of=digid). The address carries a hash of the content (&v=), so browsers
 * may keep it for a year; another content is another address. */
#include "relay_internal.h"

#include <string.h>

#include "zr/util.h"

/* An SVG opened on its own must do nothing but draw: no script, nothing
 * loaded, a sandbox around it. */
#define LOGO_CSP "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox; frame-ancestors 'none'"

int zr_relay_handle_logo(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp)
{
    zr_relay_t *relay = ctx;
    zr_relay_gen_t *gen = zr_relay_gen_get(relay);
    const char *cp = zr_kv_get(&req->query, "cp"), *v = zr_kv_get(&req->query, "v");
    const char *of = zr_kv_get(&req->query, "of");
    const zr_tenant_t *t = cp ? zr_config_find_tenant(gen->cfg, cp) : NULL;
    const zr_logo_t *logo = t && t->logo.data ? &t->logo : NULL;
    const char *at;

    if (!cp && of && strcmp(of, "digid") == 0 && gen->cfg->pages.digid_logo.data)
        logo = &gen->cfg->pages.digid_logo;
    if (!logo) {
        zr_http_respond(resp, 404, "text/plain; charset=utf-8", "no such logo\n", 13);
        goto end;
    }
    zr_http_respond(resp, 200, logo->type, logo->data, logo->len);
    zr_http_set_header(resp, "Content-Security-Policy", LOGO_CSP);
    /* Only the current content's address is kept for long: a page rendered
     * before a reload asks for the old one and gets the new logo, fresh. */
    at = strstr(logo->src, "&v=");
    if (v && at && strcmp(v, at + 3) == 0)
        zr_http_set_header(resp, "Cache-Control", "public, max-age=31536000, immutable");
    else
        zr_http_set_header(resp, "Cache-Control", "no-cache");
end:
    zr_relay_gen_put(relay, gen);
    return 0;
}
