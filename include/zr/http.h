/* HTTP server (libmicrohttpd) and the pages people see (src/http/).
 * Handlers never see libmicrohttpd types: they get a zr_http_request_t and
 * fill a zr_http_response_t, which keeps every endpoint testable. */
#ifndef ZR_HTTP_H
#define ZR_HTTP_H

#include <stddef.h>
#include <openssl/x509.h>

#include "zr/lang.h"

#include "zr/net.h"

typedef struct {
    char *name;
    char *value;
} zr_kv_t;

typedef struct {
    zr_kv_t *items;
    size_t count;
} zr_kvlist_t;

/* First value for name (exact, case-sensitive) or NULL. */
const char *zr_kv_get(const zr_kvlist_t *l, const char *name);
/* Number of occurrences of name (a parameter given twice is an error in OAuth). */
size_t zr_kv_count(const zr_kvlist_t *l, const char *name);
int zr_kv_add(zr_kvlist_t *l, const char *name, const char *value);
void zr_kv_free(zr_kvlist_t *l);
/* Parses application/x-www-form-urlencoded (also query strings) into l.
 * Returns -1 on malformed encoding. */
int zr_kv_parse_form(zr_kvlist_t *l, const char *data, size_t len);

/* ui_locales (OIDC Core §3.1.2.1, a space-separated list of BCP 47 tags in
 * order of preference): the first loaded language named (by its primary
 * subtag: nl-NL, en-GB count), else fallback (the Accept-Language choice).
 * Used at /authorize and /logout; the choice made at /authorize travels
 * with the pending login (as its code, zr_lang_code). */
zr_lang_t zr_http_lang_pick(const char *ui_locales, zr_lang_t fallback);
/* The language switch (issue 18 §2, docs/pages.md): the form field or query
 * parameter a switch sends, and the preference cookie the server sets when
 * one was used (not a secret; SameSite=Lax, Secure on https, for the
 * browser session). The server gives req->lang from, in this order: the
 * parameter, the cookie, Accept-Language. */
#define ZR_LANG_PARAM "lang"
#define ZR_LANG_COOKIE "zr_lang"

typedef struct {
    const char *method;        /* "GET", "POST", ... */
    const char *path;          /* without query */
    zr_kvlist_t query;
    zr_kvlist_t form;          /* parsed body when Content-Type is form-urlencoded */
    zr_kvlist_t headers;       /* names lower-cased */
    zr_kvlist_t cookies;
    const char *body;          /* raw body (NUL-terminated), may be NULL */
    size_t body_len;
    const char *remote_addr;
    zr_lang_t lang;            /* a switch's lang, else the zr_lang cookie, else Accept-Language; Dutch by default */
    int lang_switched;         /* lang came from a switch's lang parameter (it wins over ui_locales) */
    int tls;                   /* connection is TLS */
    X509 *client_cert;         /* verified TLS client certificate (mTLS listeners), else NULL */
    int client_cert_invalid;   /* a trusted proxy forwarded a certificate that does not parse or verify */
    char *traceparent;         /* W3C trace context, when valid */
} zr_http_request_t;

typedef struct {
    int status;
    char *content_type;        /* default "text/html; charset=utf-8" */
    char *body;                /* malloc'ed */
    size_t body_len;
    zr_kvlist_t headers;       /* extra headers, incl. Set-Cookie (may repeat) */
} zr_http_response_t;

/* Handler: fills resp; returns 0 (a non-zero return becomes a 500 page). */
typedef int (*zr_http_handler_fn)(void *ctx, const zr_http_request_t *req, zr_http_response_t *resp);

typedef struct {
    const char *method;        /* NULL = any */
    const char *path;          /* exact match */
    zr_http_handler_fn handler;
} zr_http_route_t;

typedef struct {
    const char *listen;        /* "127.0.0.1:8080", "[::1]:8080", ":8080" */
    const char *tls_cert_file; /* optional: serve HTTPS */
    const char *tls_key_file;
    const char *client_ca_file;/* optional: require a client certificate issued by this CA (mTLS) */
    /* RFC 8705 (oidc.mtls): with client_ca_file, ask for a client
     * certificate but do not require one; one that verifies against
     * client_ca_file becomes req->client_cert, others are as none. */
    int client_cert_optional;
    /* With client_cert_optional: the header (lower case) in which a TLS
     * terminator among trusted_proxies forwards the client's certificate
     * (zr_http_client_cert_parse). From a trusted proxy only the header
     * counts; from any other peer it is ignored. NULL: none. */
    const char *client_cert_header;
    size_t max_body_bytes;     /* bigger bodies get 413 without calling a handler */
    int threads;               /* worker threads */
    const zr_http_route_t *routes;
    size_t route_count;
    void *ctx;                 /* passed to every handler */
    const char *component;     /* for log lines */
    int hsts;                  /* the public URL is https: Strict-Transport-Security on every response */
    /* Limits (issue 13 §3, docs/operations.md#connection-limits); 0 = the
     * default of the `limits:` key named. Refusals and cut-offs are logged
     * once per episode with that key. */
    int max_connections;       /* limits.max_connections (4096) */
    int max_connections_per_ip;/* limits.max_connections_per_ip (256): connections of a direct peer,
                                  requests in flight of a client behind a trusted proxy */
    const zr_net_cidr_t *trusted_proxies; /* limits.trusted_proxies: their X-Forwarded-For is believed */
    size_t trusted_proxy_count;
    int header_timeout_s;      /* limits.header_timeout_s (10): the request head, counted from the
                                  connection's start or the end of the previous answer */
    int body_timeout_s;        /* limits.body_timeout_s (30): the body, from the end of the head */
    int idle_timeout_s;        /* limits.idle_timeout_s (30): nothing sent or received */
    int max_uri_bytes;         /* limits.max_uri_bytes (8192): longer request targets get 414 */
    /* The back-channel lane: routes whose handler waits on an upstream
     * (TVS's artifact endpoint, Dezi) run on lane_threads threads of their
     * own, with at most lane_queue requests waiting, so that a slow
     * upstream never holds the workers that serve everything else. Without
     * lane_routes there is no lane. */
    const zr_http_route_t *lane_routes;
    size_t lane_route_count;
    int lane_threads;          /* 0: default 32; at most 1024 */
    int lane_queue;            /* 0: default 256; negative: none wait (only lane_threads at once) */
    int quiet_access_log;      /* a 200's access line at debug, not info (a scraper every few seconds) */
    int count_refusals;        /* the limits' refusals go to zorgrelay_http_refusals_total (zr/metrics.h):
                                  the relay's listener, not the metrics one */
} zr_http_server_config_t;

typedef struct zr_http_server zr_http_server_t;

/* RFC 6797 §6.1: one year. No includeSubDomains: the hosts below the relay's
 * name are not the relay's to decide, and its cookies need no help from it
 * (__Host-, zr_http_set_cookie). */
#define ZR_HTTP_HSTS "max-age=31536000"

/* Starts listening (libmicrohttpd, internal epoll thread pool). Before any
 * handler runs the server answers by itself: 404 unknown path, 405 known path
 * with another method (Allow header), 413 body over max_body_bytes (default
 * 256 KiB; the connection is closed), 400 malformed path/query/form encoding,
 * 403 no verified client certificate on an mTLS listener, 500 when a handler
 * returns non-zero. Every response gets nosniff, Referrer-Policy no-referrer,
 * X-Frame-Options DENY, a strict Content-Security-Policy and Cache-Control
 * no-store, unless the handler set that header itself; with hsts also
 * Strict-Transport-Security (ZR_HTTP_HSTS), whether TLS ends here or in a
 * proxy in front, on the server's own answers too. One access log line per
 * request (method, path without query, status, ms, component, ref).
 * Limits (src/http/limits.c): connections over max_connections or, from a
 * peer that is not a trusted proxy, over max_connections_per_ip are closed
 * at once; a client behind a trusted proxy over its cap gets 429; request
 * heads and bodies have deadlines that trickled bytes do not extend; a
 * target over max_uri_bytes gets 414, a chunked body over max_body_bytes
 * 413; every 503 and 429 without a Retry-After gets one.
 * The server's threads are created with SIGINT, SIGTERM and SIGPIPE blocked;
 * the caller's own signal mask is left as it was.
 * A lane route (lane_routes) is checked the same way; once its request is
 * complete, the connection is suspended and the request waits for a lane
 * thread, which runs the handler; the worker thread goes on serving other
 * connections meanwhile. A full lane answers 503 with Retry-After (page
 * "backchannel_busy") without calling the handler. */
zr_http_server_t *zr_http_server_start(const zr_http_server_config_t *cfg, char *err, size_t errlen);
/* SIGTERM drain (issue 13 §5): stops accepting (the listening socket is
 * closed, so new connections are refused and a load balancer moves on),
 * closes connections waiting for a request head, answers what still comes
 * on the others with Connection: close, and waits until no request is in
 * flight (a request counts from its complete head until its answer is
 * sent) or timeout_s passed. Logs start and end with counts. Returns the
 * number of requests still in flight (0: a clean drain). Call it once,
 * before zr_http_server_stop. */
unsigned zr_http_server_drain(zr_http_server_t *s, int timeout_s);
/* The worker pool's load, for a readiness check (any thread). */
typedef struct {
    unsigned threads;      /* worker threads */
    unsigned busy;         /* handlers running on them now */
    unsigned in_flight;    /* requests from a complete head to the answer sent, lane included */
    unsigned on_lane;      /* of those, running or waiting on the back-channel lane */
    unsigned connections;  /* open connections admitted by the limits */
    unsigned max_connections;
} zr_http_load_t;
void zr_http_server_load(zr_http_server_t *s, zr_http_load_t *out);

/* Open files (issue 13 §3), on the main thread before the server starts:
 * raises the soft RLIMIT_NOFILE to the hard limit, then checks that
 * *max_connections plus reserve (everything else the process keeps open)
 * fits. Returns 0 when it fits; 1 when it did not and *max_connections was
 * lowered to what fits (only when !explicit; msg says so, to be logged as
 * a warning); -1 when it cannot fit (explicit, or fewer than 16 would be
 * left): msg says why and what to change. msg also reports a raise. */
int zr_http_fd_limit_fit(int *max_connections, int explicit_cap, unsigned reserve, char *msg, size_t msglen);
/* The lane's load: handlers running, requests waiting, and the limits.
 * refused counts the requests answered 503 because the lane was full. */
typedef struct {
    size_t busy;
    size_t queued;
    size_t threads;
    size_t queue_max;
    unsigned long long refused;
} zr_http_lane_load_t;
/* 0 and *out filled; -1 when the server has no lane. Any thread. */
int zr_http_server_lane_load(zr_http_server_t *s, zr_http_lane_load_t *out);

/* Port actually bound (useful with port 0 in tests). */
int zr_http_server_port(const zr_http_server_t *s);
/* Requests waiting on the lane are answered 503, the handlers running on it
 * are waited for (bounded by their upstream timeouts), then the listener
 * stops: no handler runs after this returns. */
void zr_http_server_stop(zr_http_server_t *s);

/* Client certificates of OAuth clients (RFC 8705, src/http/client_cert.c). */
/* A header value holding one PEM certificate, percent-encoded as nginx's
 * $ssl_client_escaped_cert ('+' is literal). Strict: one BEGIN/END
 * CERTIFICATE block, base64 only, DER with nothing after the certificate,
 * at most 24 KiB. NULL otherwise. */
X509 *zr_http_client_cert_parse(const char *value, size_t len);
/* The CA bundle at path as a store for zr_http_client_cert_verify; NULL
 * when it cannot be read. */
X509_STORE *zr_http_client_ca_load(const char *path);
/* 1 when cert chains to store (chain: the intermediates the client sent,
 * may be NULL), valid now, and fit for TLS client authentication. */
int zr_http_client_cert_verify(X509_STORE *store, X509 *cert, STACK_OF(X509) *chain);
/* x5t#S256 (RFC 8705 §3.1): base64url(SHA-256(DER)), malloc'ed or NULL. */
char *zr_http_client_cert_thumbprint(X509 *cert);

/* Blocks until SIGINT, SIGTERM or SIGHUP; returns the signal number (a
 * caller that does not reload simply waits again on SIGHUP). Call it from
 * the main thread after zr_http_server_start: it blocks the three signals
 * in the calling thread and sigwaits for them (threads the caller started
 * itself before should block them too, or they may receive the signal;
 * zr_http_block_signals does that). */
int zr_http_wait_for_signal(void);
/* Blocks SIGINT, SIGTERM, SIGHUP and SIGPIPE in the calling thread (call it
 * before starting threads, so that they inherit the mask). */
void zr_http_block_signals(void);

/* ---- response helpers ---- */
void zr_http_response_init(zr_http_response_t *r);
void zr_http_response_free(zr_http_response_t *r);
int zr_http_set_header(zr_http_response_t *r, const char *name, const char *value);
/* Body copied. */
int zr_http_respond(zr_http_response_t *r, int status, const char *content_type, const char *body, size_t len);
int zr_http_respond_json(zr_http_response_t *r, int status, const char *json);
/* 302/303 to url (Location header + Cache-Control: no-store). */
int zr_http_redirect(zr_http_response_t *r, int status, const char *url);
/* Set-Cookie with HttpOnly; SameSite=None when cross_site (needs Secure) else Lax;
 * Secure when secure; Path=/; no Domain; Max-Age. max_age 0 deletes the cookie,
 * a negative max_age makes a session cookie. Returns -1 for a value that is not
 * an RFC 6265 cookie-octet string (no whitespace, ; , " or \), for cross_site
 * without secure, and for a __Host- or __Secure- name without secure (browsers
 * drop those, RFC 6265bis §4.1.3). */
int zr_http_set_cookie(zr_http_response_t *r, const char *name, const char *value,
                       int max_age, int secure, int cross_site);

/* ---- pages (templates/, one per page; words from templates/lang/, zr/lang.h) ---- */

/* See zr_http_lang_pick: the switch, else ui_locales, else req->lang. */
zr_lang_t zr_http_lang_of(const zr_http_request_t *req, const char *ui_locales);

/* Sets the directory with the HTML templates and their catalogs (default:
 * ZR_TEMPLATE_DIR, set by CMake from ZR_DATA_DIR; overridden by ZR_TEMPLATES
 * env). At start only: the catalogs are loaded again from there. */
void zr_page_set_template_dir(const char *dir);

/* Renders templates/<name>.html replacing {{key}} with HTML-escaped values
 * and {{{key}}} with raw values from vars, and {{@key}} with the text of key
 * in lang's catalog (templates/lang/<code>.txt), itself rendered as template
 * text (its {{var}}s substituted and escaped; no {{@...}} or {{>...}} in it).
 * {{>other}} includes templates/other.html rendered with the same vars;
 * the shared layout is {{>layout-top}} (uses {{title}}) ... {{>layout-bottom}}.
 * {{lang}} is the language's code unless vars set it; unknown keys render empty.
 * Names are [a-z0-9_-]. Templates are cached after the first load.
 * Returns a malloc'ed string or NULL. */
char *zr_page_render(const char *name, zr_lang_t lang, const zr_kvlist_t *vars);
/* {{{lang_switch}}} (in layout-top) renders the language switch when vars
 * do not set it: for each other language a button of the form whose id
 * the page names with lang_form (a var or {{=lang_form id}}), which posts
 * that form again with lang=<code>; else, on a page answering a GET whose
 * address carries no single-use value (zr_page_lang_link_safe), a link to
 * the same address with lang=<code>; else nothing. The request is the one
 * the server binds to the thread around each handler. */
void zr_page_request_bind(const zr_http_request_t *req);
/* 1 when the query may be repeated in a link: no artifact, code, token,
 * handle or SAML message in it. */
int zr_page_lang_link_safe(const zr_kvlist_t *query);
/* Template syntax beyond the above: {{=key text}} gives key the value text
 * ({{=key @catalog.key}}: that catalog text, taken as plain text) (escaped
 * where used) unless vars or an earlier {{=key ...}} set it, e.g. a
 * page's title before {{>layout-top}}; it writes nothing (nor the newline
 * right after it). The shared layout also uses {{brand}} (header text) and
 * {{page_class}} ("test" for the mock TVS/Dezi pages: a red header). */

/* The catalog text of key in lang rendered with vars ({{var}} escaped):
 * an HTML fragment for C that composes a page or a text from catalog words
 * (never a literal in C). Malloc'ed; NULL when the catalog has no key. */
char *zr_page_text(zr_lang_t lang, const char *key, const zr_kvlist_t *vars);

/* Renders templates/<name> once per vars set in rows[0..count) and joins the
 * results: the rows of a list (buttons, hidden inputs), so that no HTML is
 * written in C. Use the result with {{{key}}}. "" for count 0; NULL on error. */
char *zr_page_render_each(const char *name, zr_lang_t lang, const zr_kvlist_t *rows, size_t count);

/* A complete error page for a person: status, a specific error code (shown,
 * and looked up in the catalog: errors.<code>.title, errors.<code>.text),
 * and a support reference to quote. Never includes secrets. */
int zr_page_error(zr_http_response_t *r, int status, zr_lang_t lang, const char *error_code,
                  const char *reference);
/* 1 when the catalogs name code (errors.<code>.title: a page the relay can make). */
int zr_page_error_known(const char *code);

/* The text of key in templates/<name>.<language code> ("key=text" lines,
 * '#' comments; no fallback to another language): texts that are not a
 * page and not in every catalog, i.e. the Dutch error_description a portal
 * gets for a Dutch login (templates/oauth.nl; RFC 6749 allows only ASCII,
 * so other languages get the protocol's English). Malloc'ed, or NULL when
 * the file or the key is missing. */
char *zr_page_file_text(const char *name, zr_lang_t lang, const char *key);

/* The way forward a page offers (issue 18 §1, docs/pages.md): what the
 * relay honestly knows about where the person came from; every field may be
 * NULL. Borrowed: the caller keeps the strings alive for the call. */
typedef struct {
    const char *portal_name;        /* the client's name */
    const char *home_page;          /* "Terug naar <portal_name>" */
    const char *login_uri;          /* "Opnieuw inloggen" (initiate_login_uri) */
    const char *helpdesk_name;      /* the client's helpdesk, else its care provider's */
    const char *helpdesk_phone;
    const char *helpdesk_phone_uri; /* tel: */
    const char *helpdesk_url;
    /* The header (issue 18 §3): the care provider's name and logo, when
     * the page knows the care provider; else the generic header. */
    const char *provider_name;
    const char *logo_src;           /* /logo?cp=...&v=..., served by the relay itself */
    const char *logo_alt;
    /* Issue 18 §2: a refusal the relay shows itself has ONE way on, this
     * single-use handle posted to /authorize/return, which delivers the
     * OAuth error to the portal; the other links are then left out. */
    const char *return_handle;
    /* The language switch's address for a page whose own address cannot be
     * repeated (the relay's GET /error, which makes the same page again
     * from its code, reference and portal; nothing secret in it): the
     * switch links there with lang=<code> added. NULL: none. */
    const char *lang_href;
} zr_page_way_t;

/* zr_page_error with a way forward: "Terug naar <portal>" when way knows
 * the home page, "Opnieuw inloggen" when it knows a login URI and starting
 * over makes sense for error_code, and the helpdesk; without either link a
 * sentence says what the person can do (close the window, go back to the
 * website they came from). way may be NULL (nothing known). */
int zr_page_error_way(zr_http_response_t *r, int status, zr_lang_t lang, const char *error_code,
                      const char *reference, const zr_page_way_t *way);
/* The way forward alone, for other pages (logout done): the links way knows
 * (both, when given), else the sentence; the helpdesk block ("" without
 * one). Malloc'ed HTML for {{{...}}}; NULL on error. */
char *zr_page_way_render(zr_lang_t lang, const zr_page_way_t *way);
char *zr_page_helpdesk_render(zr_lang_t lang, const zr_page_way_t *way);
/* The header's care provider (templates/layout-provider, layout-logo):
 * its logo and name, "" when way knows none. Malloc'ed HTML, put in vars
 * as "provider" for the layout's {{{provider}}} (zr_page_provider_var
 * does both); NULL on error. */
char *zr_page_provider_render(zr_lang_t lang, const zr_page_way_t *way);
int zr_page_provider_var(zr_kvlist_t *vars, zr_lang_t lang, const zr_page_way_t *way);

/* The Content-Security-Policy for a page whose form starts a chain of
 * redirects: the server's default, with form-action 'self' plus the origin
 * of each target URL (duplicates and non-http(s) targets left out).
 * Chromium checks form-action on every redirect after the POST, so a login
 * form must list where the chain goes on to (the relay's ACS, Dezi, the
 * portals' redirect URIs). Malloc'ed; NULL on error. */
char *zr_page_form_csp(const char *const *targets, size_t count);
/* More distinct origins than this: form-action names their schemes
 * ("https:", "http:") instead of the list, so that the header stays small
 * (the mock TVS in front of thousands of portals). The relay's own pages
 * name two at most. */
#define ZR_PAGE_FORM_CSP_MAX_ORIGINS 32

/* An auto-submitting HTML form (HTTP-POST binding): POSTs fields to action.
 * Includes a visible button for browsers without JavaScript. Sets its own
 * Content-Security-Policy: one inline script allowed by a fresh nonce, and
 * form-action limited to the origin of action (an http(s) URL or a local
 * path; anything else returns -1). */
int zr_page_autopost(zr_http_response_t *r, zr_lang_t lang, const char *action,
                     const zr_kvlist_t *fields);
/* The same, with the header naming the care provider of way (the relay's
 * own form to TVS: "Even geduld" shows whose login it is). */
int zr_page_autopost_way(zr_http_response_t *r, zr_lang_t lang, const char *action,
                         const zr_kvlist_t *fields, const zr_page_way_t *way);
/* The same, when the answer to the POST redirects on (e.g. a LogoutResponse
 * to the relay, which sends the browser to the portal): form-action also
 * allows the origins of then[0..then_count) (see zr_page_form_csp). */
int zr_page_autopost_via(zr_http_response_t *r, zr_lang_t lang, const char *action,
                         const zr_kvlist_t *fields, const char *const *then, size_t then_count);

#endif
