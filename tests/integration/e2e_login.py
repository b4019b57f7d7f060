#!/usr/bin/python3
"""End-to-end login through zorgrelay, as a portal and a browser would do it.

The portal side is Authlib (an independent, certified-grade OIDC client
library from Debian); the browser side is `requests` following forms and
redirects the way a browser does: relay /authorize -> auto-POST AuthnRequest
to (mock) TVS -> pick a test identity -> artifact back to the relay's ACS ->
code back to the portal -> token exchange -> ID token validated by Authlib.

Prints one JSON object with what happened, for the shell tests to assert on.
Usage: e2e_login.py --issuer URL --client-id ID (--client-secret S | --private-key PEM --kid KID)
                    --redirect-uri URI --identity LABEL-SUBSTRING [--acr-values URI]
                    [--care-provider ID] [--tvs-field NAME=VALUE] [--save-artifact FILE]
                    [--use-artifact-from FILE] [--intruder-first] [--race N] [--no-redeem]
                    [--before-token CMD]
                    [--pages-out DIR] [--trace-out DIR] ...
"""
import argparse
import html.parser
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, jwt
from authlib.oidc.core import CodeIDToken


class FormParser(html.parser.HTMLParser):
    """Collects forms: action, method, hidden inputs and submit buttons."""

    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None
        self._button = None
        self._select = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                          "fields": [], "buttons": []}
            self.forms.append(self._form)
        elif self._form is not None and tag == "input":
            t = a.get("type", "text").lower()
            if t == "submit":
                self._form["buttons"].append({"name": a.get("name"), "value": a.get("value", ""),
                                              "text": a.get("value", "")})
            elif a.get("name"):
                self._form["fields"].append((a["name"], a.get("value", "")))
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = [a["name"], None, False]
            self._form["fields"].append((a["name"], ""))
        elif self._select is not None and tag == "option":
            # like a browser: the selected option, else the first one
            if a.get("selected") is not None or self._select[1] is None:
                self._select[1] = a.get("value", "")
                fields = self._form["fields"]
                fields[[n for n, _ in fields].index(self._select[0])] = (self._select[0], self._select[1])
        elif self._form is not None and tag == "button":
            self._button = {"name": a.get("name"), "value": a.get("value", ""), "text": ""}
            self._form["buttons"].append(self._button)

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "button":
            self._button = None
        elif tag == "form":
            self._form = None


def forms_of(page):
    p = FormParser()
    p.feed(page)
    return p.forms


def submit(browser, base_url, form, button=None, overrides=None):
    data = list(form["fields"])
    for name, value in (overrides or {}).items():
        data = [(n, v) for n, v in data if n != name] + [(name, value)]
    if button and button.get("name"):
        data.append((button["name"], button["value"]))
    url = urllib.parse.urljoin(base_url, form["action"])
    if form["method"] == "post":
        return browser.post(url, data=data, allow_redirects=False, timeout=20)
    return browser.get(url, params=data, allow_redirects=False, timeout=20)


def intrude(browser, url):
    """Someone who learnt the URL back to the relay (the RelayState or Dezi
    state is in it) presents it before the person's browser does: once
    without the browser-binding cookie (Dutch), once with a forged value
    under the same cookie name (English). Returns what each got."""
    names = [c.name for c in browser.cookies if c.name.removeprefix("__Host-").startswith(("zr_login_", "zr_dezi_"))]
    tries = []
    for lang, jar in (("nl", {}), ("en", {n: "forged-" + secrets.token_urlsafe(16) for n in names})):
        r = requests.get(url, cookies=jar, headers={"Accept-Language": lang}, allow_redirects=False, timeout=30)
        tries.append({"lang": lang, "forged_cookies": len(jar), "status": r.status_code,
                      "location": r.headers.get("Location"), "set_cookie": r.headers.get("Set-Cookie"),
                      "body": r.text})
    return tries


def race(browser, url, n, out):
    """The browser's request back to the relay, sent n times at once with its
    cookies (a double click, a retrying proxy): exactly one may go on. Their
    statuses go to out["race"]; returns the one that went on (or the first)."""
    from concurrent.futures import ThreadPoolExecutor
    jar = browser.cookies.get_dict()
    with ThreadPoolExecutor(n) as ex:
        answers = list(ex.map(lambda _: requests.get(url, cookies=jar, allow_redirects=False, timeout=30), range(n)))
    out["race"] = sorted(a.status_code for a in answers)
    # The others find the login gone or being finished (issue 18 §1: each
    # says which), never a second code.
    out["race_expired_pages"] = sum(a.status_code == 400 and page_code(a.text) in
                                    ("session_expired", "login_already_done", "saml_replay") for a in answers)
    winners = [a for a in answers if a.status_code in (301, 302, 303)]
    return winners[0] if winners else answers[0]


# What the run leaves for the secrecy checks (--pages-out, --trace-out),
# written after main() whichever way it ended.
RUN = {}


def page_saver(issuer, directory):
    """A response hook: every answer of the relay to the browser (status,
    headers with Location and cookies, body) into its own file."""
    os.makedirs(directory, exist_ok=True)

    def save(r, *args, **kwargs):
        if r.url.startswith(issuer + "/"):
            name = os.path.join(directory, "page-%s.txt" % secrets.token_hex(6))
            with open(name, "wb") as f:
                f.write(("%s %s\n%d\n" % (r.request.method, r.url, r.status_code)).encode())
                f.write("".join("%s: %s\n" % kv for kv in r.headers.items()).encode() + b"\n")
                f.write(r.content)
        return r
    return save


def save_trace(run):
    """The login's trace (docs/preprod.md §6), found with its state as the
    portal would: the JSON export and the page."""
    args, state = run.get("args"), run.get("state")
    if not args or not args.trace_out or not state or not args.client_secret:
        return
    os.makedirs(args.trace_out, exist_ok=True)
    r = requests.post(args.issuer + "/trace/lookup", data={"state": state},
                      auth=(args.client_id, args.client_secret), timeout=10)
    tid = r.json().get("trace_id") if r.status_code == 200 else None
    if not tid:
        return
    for path, ext in (("/trace.json", "json"), ("/trace", "html")):
        t = requests.get(args.issuer + path, params={"id": tid}, timeout=10)
        with open(os.path.join(args.trace_out, "trace-%s.%s" % (tid[:8], ext)), "wb") as f:
            f.write(t.content)


def press_refusal_button(browser, r, args, out):
    """Issue 18 §2: the relay's refusal page (error_pages: relay): what it
    shows into out["refusal_page"]; presses its one button (twice with
    --return-twice) and returns the answer to the first press."""
    page = {"status": r.status_code, "code": page_code(r.text)}
    m = re.search(r'<html lang="([a-z]+)"', r.text)
    page["lang"] = m.group(1) if m else None
    m = re.search(r"<h1[^>]*>(.*?)</h1>", r.text, re.S)
    page["title"] = html.unescape(m.group(1)).strip() if m else None
    m = re.search(r"<main.*?</main>", r.text, re.S)
    main_html = m.group(0) if m else r.text
    page["buttons"] = len(re.findall(r"<button\b", main_html)) + len(re.findall(r"<a\b[^>]*class=\"button", main_html))
    m = re.search(r'id="way-return">(.*?)</button>', r.text, re.S)
    page["button_text"] = html.unescape(m.group(1)).strip() if m else None
    page["code_in_page"] = "code=" in r.text
    page["csp"] = r.headers.get("Content-Security-Policy")
    m = re.search(r'<span class="provider-name">(.*?)</span>', r.text, re.S)
    page["provider"] = html.unescape(m.group(1)).strip() if m else None
    out["refusal_page"] = page
    form = [f for f in forms_of(r.text) if f["action"] == "/authorize/return"][0]
    if args.secrets_out:  # the single-use handle, for leak checks
        with open(args.secrets_out, "a") as f:
            f.write("".join(v + "\n" for n, v in form["fields"] if n == "handle" and v))
    first = submit(browser, r.url, form)
    out["steps"].append(["refusal_return", first.status_code])
    if args.return_twice:
        again = submit(browser, r.url, form)
        out["return_again"] = {"status": again.status_code, "code": page_code(again.text),
                               "location": again.headers.get("Location")}
    return first


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--client-secret")
    ap.add_argument("--private-key")
    ap.add_argument("--kid")
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--identity", required=True, help="substring of the mock identity label")
    ap.add_argument("--acr-values")
    ap.add_argument("--tamper-verifier", action="store_true", help="send a wrong PKCE verifier")
    ap.add_argument("--redeem-twice", action="store_true", help="redeem the code a second time")
    ap.add_argument("--access-token-forgeries", action="store_true",
                    help="present altered copies of the JWT access token (and the ID token) at userinfo")
    ap.add_argument("--stop-after-token", action="store_true",
                    help="end after the token exchange (the relay may be gone: a drain test)")
    ap.add_argument("--no-redeem", action="store_true",
                    help="stop at the portal's callback; print the code and the PKCE verifier for the caller to redeem")
    ap.add_argument("--acs-rewrite", help="FROM=TO: send the browser's ACS request to another relay process")
    ap.add_argument("--before-acs", help="shell command to run before the browser reaches the relay's ACS")
    ap.add_argument("--before-choice", help="shell command to run before the button on the relay's chooser is pressed")
    ap.add_argument("--before-token", help="shell command to run after the code came back, before /token")
    ap.add_argument("--secrets-out", help="file to write the code and tokens to (for leak checks)")
    ap.add_argument("--care-provider", help="care_provider authorization parameter (shared portal)")
    ap.add_argument("--method", default="patient", choices=["patient", "professional"],
                    help="which button to press on the relay's login method chooser")
    ap.add_argument("--login-method", help="login_method authorization parameter (preselect)")
    ap.add_argument("--ui-locales", help="ui_locales authorization parameter (OIDC Core §3.1.2.1)")
    ap.add_argument("--accept-language", help="the browser's Accept-Language on every request")
    ap.add_argument("--claims", help="claims authorization parameter (OIDC Core §5.5), JSON")
    ap.add_argument("--traceparent", help="W3C traceparent header sent to /authorize")
    ap.add_argument("--tvs-field", action="append", default=[],
                    help="NAME=VALUE: set a field of the mock TVS login form (e.g. bsn_key)")
    ap.add_argument("--save-artifact", help="stop before the relay's ACS; write the artifact to FILE")
    ap.add_argument("--use-artifact-from", help="present the artifact saved in FILE instead of this login's own")
    ap.add_argument("--race", type=int, default=0,
                    help="send the browser's request to the relay's ACS / Dezi callback N times at once")
    ap.add_argument("--intruder-first", action="store_true",
                    help="before the browser reaches the relay's ACS / Dezi callback, send the same URL without "
                         "the browser's cookie and with a forged one (result in 'intruders')")
    ap.add_argument("--return-twice", action="store_true",
                    help="press the button of the relay's refusal page a second time (result in return_again)")
    ap.add_argument("--pages-out", help="directory to save every answer of the relay to the browser in")
    ap.add_argument("--trace-out", help="directory to save this login's trace in (needs `trace: enabled`)")
    ap.add_argument("--stop-before-token", metavar="FILE",
                    help="stop when the portal has the code; write what redeeming it needs to FILE (JSON)")
    ap.add_argument("--par", action="store_true",
                    help="push the authorization request (RFC 9126) with the client's authentication; the "
                         "browser gets only client_id and request_uri")
    ap.add_argument("--par-extra", action="append", default=[],
                    help="NAME=VALUE: add to the /authorize URL next to the request_uri or request (must not count)")
    ap.add_argument("--jar", action="store_true",
                    help="send the parameters as a request object (RFC 9101) signed with --private-key (ES256); "
                         "with --par it is pushed")
    ap.add_argument("--redeem-saved", metavar="FILE",
                    help="no login: redeem the code saved by --stop-before-token, then call userinfo")
    ap.add_argument("--tls-cert", metavar="CERT:KEY",
                    help="tls_client_auth (RFC 8705): authenticate at /token with this client certificate; "
                         "userinfo and --introspect use it too")
    ap.add_argument("--userinfo-cert", action="append", default=[], metavar="NAME=CERT:KEY|NAME=none",
                    help="also call userinfo with the access token over a connection with this certificate "
                         "(or none); status and error in userinfo_with[NAME]")
    ap.add_argument("--introspect", action="store_true",
                    help="introspect the access token (authenticated like at /token); answer in introspection")
    args = ap.parse_args()
    RUN["args"] = args
    out = {"steps": []}
    t0 = time.monotonic()

    disco = requests.get(args.issuer + "/.well-known/openid-configuration", timeout=10).json()
    if args.redeem_saved:
        return redeem_saved(args, disco, out)
    if args.private_key:
        from authlib.oauth2.rfc7523 import PrivateKeyJWT
        with open(args.private_key) as f:
            key_pem = f.read()
        client = OAuth2Session(args.client_id, key_pem, scope="openid", redirect_uri=args.redirect_uri,
                               code_challenge_method="S256",
                               token_endpoint_auth_method=PrivateKeyJWT(disco["token_endpoint"], alg="ES256",
                                                                        headers={"kid": args.kid} if args.kid else None))
    elif args.tls_cert:
        # RFC 8705 §2: the certificate authenticates; the body names the client
        client = OAuth2Session(args.client_id, None, scope="openid", redirect_uri=args.redirect_uri,
                               code_challenge_method="S256", token_endpoint_auth_method="none")
        client.cert = tuple(args.tls_cert.split(":", 1))
    else:
        client = OAuth2Session(args.client_id, args.client_secret, scope="openid", redirect_uri=args.redirect_uri,
                               code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic")
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    extra = {"nonce": nonce}
    if args.acr_values:
        extra["acr_values"] = args.acr_values
    if args.care_provider:
        extra["care_provider"] = args.care_provider
    if args.login_method:
        extra["login_method"] = args.login_method
    if args.ui_locales:
        extra["ui_locales"] = args.ui_locales
    if args.claims:
        extra["claims"] = args.claims
    auth_url, state = client.create_authorization_url(disco["authorization_endpoint"], code_verifier=verifier, **extra)
    RUN["state"] = state
    if args.jar:
        auth_url = sign_request(args, disco, auth_url, out)
    if args.par:
        auth_url = push(args, disco, client, auth_url, out)
        if not auth_url:
            print(json.dumps(out))
            return 1

    browser = requests.Session()
    if args.accept_language:
        browser.headers["Accept-Language"] = args.accept_language
    # The language of every HTML page the relay shows this browser, in order.
    out["page_langs"] = []

    def page_lang(r, *a, **kw):
        m = re.search(r'<html lang="([a-z]+)"', r.text) if r.url.startswith(args.issuer + "/") else None
        if m and r.headers.get("Content-Type", "").startswith("text/html"):
            out["page_langs"].append(m.group(1))
            out.setdefault("page_urls", []).append(r.url)
        return r
    browser.hooks["response"].append(page_lang)
    if args.pages_out:
        browser.hooks["response"].append(page_saver(args.issuer, args.pages_out))
    # 1. relay /authorize -> auto-submitting form towards TVS
    r = browser.get(auth_url, allow_redirects=False, timeout=20,
                    headers={"traceparent": args.traceparent} if args.traceparent else None)
    out["steps"].append(["authorize", r.status_code])
    # The relay's login method chooser, and redirects on the way to TVS's
    # form or Dezi's page (professionals).
    for _ in range(6):
        if r.status_code in (302, 303) and not r.headers.get("Location", "").startswith(args.redirect_uri):
            r = browser.get(urllib.parse.urljoin(r.url, r.headers["Location"]), allow_redirects=False, timeout=20)
            out["steps"].append(["redirect", r.status_code])
            continue
        chooser = [f for f in forms_of(r.text) if f["action"].endswith("/login/choose")] if r.status_code == 200 else []
        if chooser:
            out["chooser"] = True
            button = [b for b in chooser[0]["buttons"] if b["value"] == args.method]
            if args.before_choice:
                import subprocess
                subprocess.run(args.before_choice, shell=True, check=True)
            r = submit(browser, r.url, chooser[0], button[0] if button else None)
            out["steps"].append(["chooser", r.status_code])
            continue
        break
    # Issue 18 §2: a login that cannot start after the chooser is refused
    # like any other after the person acted: the relay's page, one button.
    if r.status_code not in (301, 302, 303) and 'action="/authorize/return"' in r.text:
        r = press_refusal_button(browser, r, args, out)
    forms = forms_of(r.text) if r.status_code == 200 else []
    dezi = [f for f in forms if f["action"].endswith("/authorize/choose")]
    out["dezi_page"] = bool(dezi)
    if r.status_code in (302, 303) and r.headers.get("Location", "").startswith(args.redirect_uri):
        # refused at once, back to the portal with an OAuth error
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
        out["callback_params"] = sorted(q.keys())
        out["state_ok"] = q.get("state") == state
        out["iss"] = q.get("iss")
        out["oauth_error"] = q.get("error")
        out["oauth_error_description"] = q.get("error_description")
        out["zr_reason"] = q.get("zr_reason")
        print(json.dumps(out))
        return 0
    if not dezi and (not forms or "SAMLRequest" not in dict(forms[0]["fields"])):
        out["error"] = "no AuthnRequest form from /authorize"
        out["body"] = r.text[:500]
        out["page_code"] = page_code(r.text)
        print(json.dumps(out))
        return 1
    out["relay_state_len"] = len(dict(forms[0]["fields"]).get("RelayState", "")) if not dezi else 0
    # 2. POST the AuthnRequest to (mock) TVS -> identity picker (professionals:
    # Dezi's page is already here)
    if not dezi:
        r = submit(browser, auth_url, forms[0])
        out["steps"].append(["tvs_sso", r.status_code])
    picker = None
    for f in forms_of(r.text):
        for b in f["buttons"]:
            if args.identity.lower() in (b["text"] + " " + (b["value"] or "")).lower():
                picker = (f, b)
                break
        if picker:
            break
    if not picker:
        out["error"] = "identity not offered by TVS page"
        out["body"] = r.text[:800]
        print(json.dumps(out))
        return 1
    # 3. choose -> redirect with artifact to the relay's ACS
    r = submit(browser, r.url, picker[0], picker[1], dict(f.split("=", 1) for f in args.tvs_field))
    out["steps"].append(["tvs_choose", r.status_code])
    hops = 0
    while r.status_code in (301, 302, 303) and hops < 5:
        loc = urllib.parse.urljoin(r.url, r.headers["Location"])
        if loc.startswith(args.redirect_uri):
            break
        if args.acs_rewrite and hops == 0:
            frm, to = args.acs_rewrite.split("=", 1)
            loc = loc.replace(frm, to, 1)
        if args.save_artifact and hops == 0:
            art = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query)).get("SAMLart", "")
            with open(args.save_artifact, "w") as f:
                f.write(art)
            out["saved_artifact"] = bool(art)
            print(json.dumps(out))
            return 0
        if args.use_artifact_from and hops == 0:
            with open(args.use_artifact_from) as f:
                other = f.read().strip()
            u = urllib.parse.urlparse(loc)
            q0 = [(k, other if k == "SAMLart" else v) for k, v in urllib.parse.parse_qsl(u.query)]
            loc = urllib.parse.urlunparse(u._replace(query=urllib.parse.urlencode(q0)))
        if args.intruder_first and hops == 0:
            out["intruders"] = intrude(browser, loc)
        if args.before_acs and hops == 0:
            import subprocess
            subprocess.run(args.before_acs, shell=True, check=True)
        if args.race and hops == 0:
            r = race(browser, loc, args.race, out)
        else:
            r = browser.get(loc, allow_redirects=False, timeout=30)
        out["steps"].append(["follow", r.status_code])
        hops += 1
    # Issue 18 §2: a refusal the relay shows itself (error_pages: relay) has
    # one button that delivers the OAuth error: a person presses it.
    if r.status_code not in (301, 302, 303) and 'action="/authorize/return"' in r.text:
        r = press_refusal_button(browser, r, args, out)
    if r.status_code not in (301, 302, 303):
        out["error"] = "relay did not redirect to the portal"
        out["status"] = r.status_code
        out["body"] = r.text[:800]
        out["page_code"] = page_code(r.text)
        print(json.dumps(out))
        return 1
    callback = urllib.parse.urljoin(r.url, r.headers["Location"])
    q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(callback).query))
    out["callback_params"] = sorted(q.keys())
    out["state_ok"] = q.get("state") == state
    out["iss"] = q.get("iss")
    if "error" in q:
        out["oauth_error"] = q["error"]
        out["oauth_error_description"] = q.get("error_description")
        out["zr_reason"] = q.get("zr_reason")
        print(json.dumps(out))
        return 0
    if args.no_redeem:
        out["code"] = q.get("code")
        out["code_verifier"] = verifier
        print(json.dumps(out))
        return 0
    if args.stop_before_token:
        with open(args.stop_before_token, "w") as f:
            json.dump({"code": q.get("code"), "verifier": verifier}, f)
        out["code_saved"] = bool(q.get("code"))
        print(json.dumps(out))
        return 0
    # 4. token exchange by Authlib (PKCE, client authentication)
    if args.before_token:
        import subprocess
        subprocess.run(args.before_token, shell=True, check=True)
    try:
        token = client.fetch_token(disco["token_endpoint"], authorization_response=callback,
                                   code_verifier=("x" * 43 if args.tamper_verifier else verifier))
    except Exception as e:  # Authlib raises OAuthError with the server's error
        out["token_error"] = getattr(e, "error", str(e))
        # a 5xx may come as requests' HTTPError (no OAuth error parsed): its status
        resp = getattr(e, "response", None)
        if getattr(resp, "status_code", None) is not None:
            out["token_http_status"] = resp.status_code
        print(json.dumps(out))
        return 0
    out["token_ok"] = bool(token.get("id_token")) and bool(token.get("access_token"))
    if args.stop_after_token:
        print(json.dumps(out))
        return 0
    # 5. ID token validated by Authlib against the relay's JWKS
    jwks = requests.get(disco["jwks_uri"], timeout=10).json()
    claims = jwt.decode(token["id_token"], JsonWebKey.import_key_set(jwks), claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": disco["issuer"]},
                                        "aud": {"essential": True, "value": args.client_id}},
                        claims_params={"nonce": nonce, "client_id": args.client_id})
    claims.validate(leeway=5)
    out["id_token_alg"] = json.loads(
        __import__("base64").urlsafe_b64decode(token["id_token"].split(".")[0] + "==").decode())["alg"]
    out["claims"] = dict(claims)
    # 5b. The access token: an RFC 9068 JWT, verified by Authlib against the JWKS
    keyset = JsonWebKey.import_key_set(jwks)
    try:
        at = jwt.decode(token["access_token"], keyset,
                        claims_options={"iss": {"essential": True, "value": disco["issuer"]},
                                        "aud": {"essential": True, "value": args.client_id},
                                        "client_id": {"essential": True, "value": args.client_id},
                                        "sub": {"essential": True}, "jti": {"essential": True},
                                        "scope": {"essential": True}, "exp": {"essential": True},
                                        "iat": {"essential": True}})
        at.validate(leeway=5)
        out["access_token_header"] = dict(at.header)
        out["access_token_claims"] = dict(at)
    except Exception as e:  # an opaque token, or one that does not verify
        out["access_token_error"] = repr(e)
    own_cert = tuple(args.tls_cert.split(":", 1)) if args.tls_cert else None
    ui = requests.get(disco["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]},
                      cert=own_cert, timeout=10)
    # RFC 8705 §3: the same token over connections with other certificates
    out["userinfo_with"] = {}
    for spec in args.userinfo_cert:
        name, cert = spec.split("=", 1)
        r = requests.get(disco["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"]},
                         cert=None if cert == "none" else tuple(cert.split(":", 1)), timeout=10)
        m = re.search(r'error="([^"]*)"', r.headers.get("WWW-Authenticate", ""))
        out["userinfo_with"][name] = [r.status_code, m.group(1) if m else None]
    if args.introspect:
        r = requests.post(disco["introspection_endpoint"], data={"token": token["access_token"],
                                                                  "client_id": args.client_id},
                          auth=None if own_cert else (args.client_id, args.client_secret or ""),
                          cert=own_cert, timeout=10)
        out["introspection"] = r.json()
    out["userinfo_status"] = ui.status_code
    out["userinfo_content_type"] = ui.headers.get("Content-Type", "")
    out["userinfo"] = ui.json() if ui.headers.get("Content-Type", "").startswith("application/json") else None
    if ui.status_code == 200 and out["userinfo_content_type"].startswith("application/jwt"):
        # OIDC Core §5.3.2: a signed UserInfo response, verified by Authlib
        uj = jwt.decode(ui.text, keyset, claims_options={"iss": {"essential": True, "value": disco["issuer"]},
                                                         "aud": {"essential": True, "value": args.client_id}})
        uj.validate(leeway=5)
        out["userinfo_header"] = dict(uj.header)
        out["userinfo"] = dict(uj)
    if args.access_token_forgeries:
        out["forgeries"] = forgeries(disco, token)
    if args.redeem_twice:
        code = q["code"]
        r2 = requests.post(disco["token_endpoint"], data={"grant_type": "authorization_code", "code": code,
                                                          "redirect_uri": args.redirect_uri,
                                                          "code_verifier": verifier},
                           auth=(args.client_id, args.client_secret or ""), timeout=10)
        out["second_redeem"] = r2.json().get("error")
        ui2 = requests.get(disco["userinfo_endpoint"],
                           headers={"Authorization": "Bearer " + token["access_token"]}, timeout=10)
        out["userinfo_after_replay"] = ui2.status_code
    if args.secrets_out:
        with open(args.secrets_out, "a") as f:
            uri = (out.get("par_response") or {}).get("request_uri")
            pushed = [uri.rsplit(":", 1)[-1]] if uri else []
            f.write("\n".join([q["code"], token["access_token"], token["id_token"], verifier] + pushed) + "\n")
    out["seconds"] = round(time.monotonic() - t0, 3)
    print(json.dumps(out))
    return 0


def sign_request(args, disco, auth_url, out):
    """RFC 9101: the authorization parameters as the claims of a JWT signed
    by Authlib with the client's key (iss the client, aud the issuer, exp,
    nbf, iat, a fresh jti). Returns /authorize?client_id&request (and
    --par-extra when not pushed)."""
    claims = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(auth_url).query))
    now = int(time.time())
    claims.update({"iss": args.client_id, "aud": disco["issuer"], "exp": now + 300, "nbf": now, "iat": now,
                   "jti": secrets.token_urlsafe(16)})
    header = {"alg": "ES256", "typ": "oauth-authz-req+jwt"}
    if args.kid:
        header["kid"] = args.kid
    with open(args.private_key) as f:
        request = jwt.encode(header, claims, f.read()).decode()
    out["request_object_alg"] = header["alg"]
    query = [("client_id", args.client_id), ("request", request)]
    if not args.par:
        query += [tuple(f.split("=", 1)) for f in args.par_extra]
        out["authorize_params"] = sorted(k for k, _ in query)
    return disco["authorization_endpoint"] + "?" + urllib.parse.urlencode(query)


def push(args, disco, client, auth_url, out):
    """RFC 9126 §2: the authorization request's parameters to the PAR
    endpoint, authenticated as at /token (Authlib's client authentication;
    a private_key_jwt assertion with the PAR endpoint as aud). Returns the
    URL for the browser: client_id and request_uri only (and --par-extra)."""
    from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
    par = disco["pushed_authorization_request_endpoint"]
    params = urllib.parse.parse_qsl(urllib.parse.urlparse(auth_url).query)
    if args.private_key:
        from authlib.oauth2.rfc7523 import PrivateKeyJWT
        with open(args.private_key) as f:
            method = PrivateKeyJWT(par, alg="ES256", headers={"kid": args.kid} if args.kid else None)
            auth = OAuth2ClientAuth(args.client_id, f.read(), method)
    else:
        auth = OAuth2ClientAuth(args.client_id, args.client_secret, "client_secret_basic")
    r = requests.post(par, data=params, auth=auth, timeout=20)
    out["par_status"] = r.status_code
    out["par_response"] = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else None
    out["par_cache_control"] = r.headers.get("Cache-Control")
    if r.status_code != 201:
        out["error"] = "PAR refused"
        return None
    query = [("client_id", args.client_id), ("request_uri", out["par_response"]["request_uri"])]
    query += [tuple(f.split("=", 1)) for f in args.par_extra]
    url = disco["authorization_endpoint"] + "?" + urllib.parse.urlencode(query)
    out["authorize_params"] = sorted(k for k, _ in query)
    return url


def forgeries(disco, token):
    """Userinfo's status for altered copies of the access token: each claim
    changed with the signature kept, alg none, and the ID token instead."""
    import base64

    def b64(o):
        return base64.urlsafe_b64encode(json.dumps(o).encode()).rstrip(b"=").decode()

    if token["access_token"].count(".") != 2:
        return {"not a JWT": None}
    h, p, sig = token["access_token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    tries = {}
    for k, v in [("scope", "openid profile"), ("client_id", "other-portal"), ("sub", "someone-else"),
                 ("exp", claims["exp"] + 3600), ("jti", "another-jti")]:
        tries["changed " + k] = b64(header) + "." + b64(dict(claims, **{k: v})) + "." + sig
    tries["alg none"] = b64(dict(header, alg="none")) + "." + p + "."
    tries["typ JWT"] = b64(dict(header, typ="JWT")) + "." + p + "." + sig
    tries["id token"] = token["id_token"]
    out = {}
    for name, t in tries.items():
        r = requests.get(disco["userinfo_endpoint"], headers={"Authorization": "Bearer " + t}, timeout=10)
        out[name] = r.status_code
    return out


def page_code(text):
    """The error code an error page shows (templates/error.*.html), or None."""
    m = re.search(r"<code>([a-z_]+)</code>", text)
    return m.group(1) if m else None


def redeem_saved(args, disco, out):
    """The portal's side of a code saved by --stop-before-token, later."""
    with open(args.redeem_saved) as f:
        saved = json.load(f)
    r = requests.post(disco["token_endpoint"], data={"grant_type": "authorization_code", "code": saved["code"],
                                                     "redirect_uri": args.redirect_uri,
                                                     "code_verifier": saved["verifier"]},
                      auth=(args.client_id, args.client_secret or ""), timeout=10)
    out["token_status"] = r.status_code
    body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
    out["token_error"] = body.get("error")
    if r.status_code == 200:
        ui = requests.get(disco["userinfo_endpoint"], headers={"Authorization": "Bearer " + body["access_token"]},
                          timeout=10)
        out["userinfo_status"] = ui.status_code
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    rc = main()
    save_trace(RUN)
    sys.exit(rc)
