#!/usr/bin/python3
"""Hostile pushed authorization requests (RFC 9126) against the relay.

Each case prints one line "name status error" (or the page code for the
browser's /authorize), for test_par.sh to assert on.
Usage: par_hostile.py ISSUER
"""
import base64
import hashlib
import json
import re
import secrets
import sys
import urllib.parse

import requests

ISSUER = sys.argv[1]
DISCO = requests.get(ISSUER + "/.well-known/openid-configuration", timeout=10).json()
PAR = DISCO["pushed_authorization_request_endpoint"]
AUTHZ = DISCO["authorization_endpoint"]
PORTAL = ("demo-portal", "demo-portal-secret")
ONLY = ("par-only-portal", "par-only-portal-secret")


def params(client_id, **over):
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    p = {"client_id": client_id, "response_type": "code", "scope": "openid",
         "redirect_uri": "http://localhost:8000/callback", "state": secrets.token_urlsafe(12),
         "nonce": secrets.token_urlsafe(12), "code_challenge": challenge, "code_challenge_method": "S256"}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def push(auth, data):
    r = requests.post(PAR, data=data, auth=auth, timeout=10)
    body = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
    return r, body


def page(r):
    m = re.search(r"<code>([a-z_]+)</code>", r.text)
    return m.group(1) if m else "-"


def authorize(query):
    r = requests.get(AUTHZ + "?" + urllib.parse.urlencode(query), allow_redirects=False, timeout=10)
    if r.status_code in (302, 303):
        q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
        return "%d %s" % (r.status_code, q.get("error", "code" if "code" in q else "-"))
    login = "SAMLRequest" in r.text or "/login/choose" in r.text
    return "%d %s" % (r.status_code, "login" if r.status_code == 200 and login else page(r))


def line(name, *values):
    print(name, *values)


# Client authentication, as at /token.
r, b = push(None, params("demo-portal"))
line("no_client_auth", r.status_code, b.get("error"))
r, b = push(("demo-portal", "wrong"), params("demo-portal"))
line("wrong_secret", r.status_code, b.get("error"))
r, b = push(PORTAL, params("demo-pgo"))
line("other_client_id", r.status_code, b.get("error"))
r = requests.get(PAR, params=params("demo-portal"), auth=PORTAL, timeout=10)
line("get_not_allowed", r.status_code)
# The parameters are checked as /authorize checks them.
r, b = push(PORTAL, params("demo-portal", nonce=None))
line("no_nonce", r.status_code, b.get("error"), json.dumps(b.get("error_description")))
r, b = push(PORTAL, params("demo-portal", redirect_uri="https://evil.example/cb"))
line("unregistered_redirect_uri", r.status_code, b.get("error"))
r, b = push(PORTAL, params("demo-portal", code_challenge_method="plain"))
line("pkce_plain", r.status_code, b.get("error"))
r, b = push(PORTAL, list(params("demo-portal").items()) + [("scope", "openid")])
line("duplicate_parameter", r.status_code, b.get("error"))
r, b = push(PORTAL, params("demo-portal", request_uri="urn:ietf:params:oauth:request_uri:abc"))
line("request_uri_pushed", r.status_code, b.get("error"))

# A good push: the answer, then single use at /authorize.
r, b = push(PORTAL, params("demo-portal"))
line("push_ok", r.status_code, b.get("expires_in"), b.get("request_uri", "").startswith("urn:ietf:params:oauth:request_uri:"),
     r.headers.get("Cache-Control"))
uri = b.get("request_uri")
line("authorize_first", authorize({"client_id": "demo-portal", "request_uri": uri}))
line("authorize_replay", authorize({"client_id": "demo-portal", "request_uri": uri}))

# Another client's request_uri: refused, and it is gone for its owner too.
r, b = push(PORTAL, params("demo-portal"))
uri = b.get("request_uri")
line("other_clients_request_uri", authorize({"client_id": "demo-pgo", "request_uri": uri}))
line("owner_after_theft", authorize({"client_id": "demo-portal", "request_uri": uri}))
# No client_id next to it: refused (RFC 9126 §4).
r, b = push(PORTAL, params("demo-portal"))
line("request_uri_without_client_id", authorize({"request_uri": b.get("request_uri")}))

# request_uri values we did not make: never fetched, never accepted.
line("foreign_https_request_uri", authorize({"client_id": "demo-portal", "request_uri": "https://evil.example/req"}))
line("made_up_urn", authorize({"client_id": "demo-portal",
                               "request_uri": "urn:ietf:params:oauth:request_uri:" + secrets.token_urlsafe(32)}))

# A client that must use PAR: a plain request goes back with an error; a
# pushed one logs in.
line("par_only_plain", authorize(params("par-only-portal")))
r, b = push(ONLY, params("par-only-portal"))
line("par_only_pushed", r.status_code, authorize({"client_id": "par-only-portal", "request_uri": b.get("request_uri")}))
