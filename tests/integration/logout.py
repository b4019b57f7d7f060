#!/usr/bin/python3
"""Logout through zorgrelay (issue 5), as a portal and a browser would do it.

  logout.py logout --issuer URL --id-token-hint JWT [--client-id ID]
            [--post-logout-redirect-uri URI] [--state S] [--ui-locales L] [--method GET|POST]
      RP-Initiated Logout: the browser goes to the relay's end_session_endpoint
      (from discovery) and follows auto-POST forms (relay -> TVS -> relay) and
      redirects until it would leave for the portal, or a page. Prints JSON.
  logout.py receiver --port P --out FILE
      A portal's back-channel logout endpoint: appends each POSTed logout_token
      to FILE (one per line) and answers 200.
  logout.py verify-token --issuer URL --token JWT --client-id ID
      Verifies a Logout Token with Authlib against the relay's /jwks and prints
      its header and claims as JSON.
"""
import argparse
import html.parser
import http.server
import json
import sys
import urllib.parse

import requests
from authlib.jose import JsonWebKey, jwt


class FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms = []
        self._form = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = {"action": a.get("action", ""), "method": a.get("method", "get").lower(), "fields": []}
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name") and a.get("type", "") != "submit":
            self._form["fields"].append((a["name"], a.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def forms_of(page):
    p = FormParser()
    p.feed(page)
    return p.forms


def do_logout(args):
    out = {"steps": []}
    disco = requests.get(args.issuer + "/.well-known/openid-configuration", timeout=10).json()
    params = {}
    for k, v in (("id_token_hint", args.id_token_hint), ("client_id", args.client_id),
                 ("post_logout_redirect_uri", args.post_logout_redirect_uri), ("state", args.state),
                 ("ui_locales", args.ui_locales)):
        if v is not None:
            params[k] = v
    browser = requests.Session()
    url = disco["end_session_endpoint"]
    if args.method == "POST":
        r = browser.post(url, data=params, allow_redirects=False, timeout=20)
    else:
        r = browser.get(url, params=params, allow_redirects=False, timeout=20)
    out["steps"].append(["logout", r.status_code])
    for _ in range(6):
        if r.status_code in (302, 303):
            loc = urllib.parse.urljoin(r.url, r.headers["Location"])
            if args.post_logout_redirect_uri and loc.startswith(args.post_logout_redirect_uri):
                q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))
                out["back_to_portal"] = True
                out["location"] = loc
                out["state"] = q.get("state")
                break
            r = browser.get(loc, allow_redirects=False, timeout=20)
            out["steps"].append(["redirect", r.status_code])
            continue
        forms = forms_of(r.text) if r.status_code == 200 else []
        fields = dict(forms[0]["fields"]) if forms else {}
        if "SAMLRequest" in fields or "SAMLResponse" in fields:
            kind = "saml_request" if "SAMLRequest" in fields else "saml_response"
            out[kind] = True
            action = urllib.parse.urljoin(r.url, forms[0]["action"])
            r = browser.post(action, data=forms[0]["fields"], allow_redirects=False, timeout=20)
            out["steps"].append([kind, r.status_code])
            continue
        break
    out["status"] = r.status_code
    if not out.get("back_to_portal"):
        out["page"] = r.text[:3000]
    print(json.dumps(out))
    return 0


class Receiver(http.server.BaseHTTPRequestHandler):
    out_file = None

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode()
        q = dict(urllib.parse.parse_qsl(body))
        with open(self.out_file, "a") as f:
            f.write(json.dumps({"content_type": self.headers.get("Content-Type"), "path": self.path,
                                "logout_token": q.get("logout_token")}) + "\n")
        self.send_response(200)
        self.send_header("Cache-Control", "no-store")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


def receiver(args):
    Receiver.out_file = args.out
    http.server.HTTPServer(("127.0.0.1", args.port), Receiver).serve_forever()


def verify_token(args):
    disco = requests.get(args.issuer + "/.well-known/openid-configuration", timeout=10).json()
    jwks = requests.get(disco["jwks_uri"], timeout=10).json()
    claims = jwt.decode(args.token, JsonWebKey.import_key_set(jwks),
                        claims_options={"iss": {"essential": True, "value": disco["issuer"]},
                                        "aud": {"essential": True, "value": args.client_id}})
    claims.validate(leeway=5)
    import base64
    header = json.loads(base64.urlsafe_b64decode(args.token.split(".")[0] + "==").decode())
    print(json.dumps({"header": header, "claims": dict(claims)}))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("logout")
    a.add_argument("--issuer", required=True)
    a.add_argument("--id-token-hint")
    a.add_argument("--client-id")
    a.add_argument("--post-logout-redirect-uri")
    a.add_argument("--state")
    a.add_argument("--ui-locales")
    a.add_argument("--method", default="GET", choices=["GET", "POST"])
    b = sub.add_parser("receiver")
    b.add_argument("--port", type=int, required=True)
    b.add_argument("--out", required=True)
    c = sub.add_parser("verify-token")
    c.add_argument("--issuer", required=True)
    c.add_argument("--token", required=True)
    c.add_argument("--client-id", required=True)
    args = ap.parse_args()
    return {"logout": do_logout, "receiver": receiver, "verify-token": verify_token}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
