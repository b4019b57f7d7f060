#!/usr/bin/python3
"""Concurrent full patient logins on loopback: portal -> relay -> mock TVS ->
relay -> token. Speaks the protocol directly (no Authlib) so that the client
costs little CPU next to the relay. Prints JSON: logins, seconds, latencies.

usage: login_bench.py ISSUER CLIENT_ID SECRET REDIRECT_URI LOGINS CONCURRENCY
"""
import base64
import concurrent.futures
import hashlib
import json
import re
import secrets
import sys
import time
import urllib.parse

import requests

FORM_FIELD = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.I)
FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"', re.I)
BUTTON = re.compile(r'<button[^>]*name="([^"]+)"[^>]*value="([^"]*)"[^>]*>(.*?)</button>', re.I | re.S)


def unescape(s):
    return s.replace("&amp;", "&").replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">")


def pick(s, page_url, text, identity):
    """Submits the login page's form with the button whose text holds identity."""
    action = urllib.parse.urljoin(page_url, unescape(FORM_ACTION.search(text).group(1)))
    fields = {unescape(k): unescape(v) for k, v in FORM_FIELD.findall(text)}
    for name, value, label in BUTTON.findall(text):
        if identity in label:
            fields[unescape(name)] = unescape(value)
            break
    return s.post(action, data=fields, allow_redirects=False)


def one_login(issuer, client_id, secret, redirect_uri, identity, method):
    """One full login: patient (TVS) or professional (Dezi), code, token."""
    t0 = time.monotonic()
    s = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid",
         "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
         "code_challenge_method": "S256", "login_method": method}  # the demo portal serves both
    r = s.get(issuer + "/authorize", params=q, allow_redirects=False)
    if method == "patient":
        # auto-POST of the AuthnRequest to TVS, then TVS's identity picker
        action = unescape(FORM_ACTION.search(r.text).group(1))
        fields = {unescape(k): unescape(v) for k, v in FORM_FIELD.findall(r.text)}
        r = s.post(action, data=fields, allow_redirects=False)
        r = pick(s, action, r.text, identity)
    else:
        dezi_authorize = r.headers["Location"]                       # to Dezi
        r = s.get(dezi_authorize, allow_redirects=False)
        r = pick(s, dezi_authorize, r.text, identity)
    r = s.get(r.headers["Location"], allow_redirects=False)          # relay ACS / Dezi callback
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))["code"]
    r = requests.post(issuer + "/token", data={"grant_type": "authorization_code", "code": code,
                                               "redirect_uri": redirect_uri, "code_verifier": verifier},
                      auth=(client_id, secret))
    r.raise_for_status()
    assert "id_token" in r.json()
    return time.monotonic() - t0


def main():
    issuer, client_id, secret, redirect_uri = sys.argv[1:5]
    n, c = int(sys.argv[5]), int(sys.argv[6])
    method = sys.argv[7] if len(sys.argv) > 7 else "patient"
    identity = "DigiD Substantieel" if method == "patient" else "(01.015)"
    one_login(issuer, client_id, secret, redirect_uri, identity, method)  # warm-up (TLS session, caches)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(c) as ex:
        lat = sorted(ex.map(lambda _: one_login(issuer, client_id, secret, redirect_uri, identity, method), range(n)))
    wall = time.monotonic() - t0
    print(json.dumps({"logins": n, "concurrency": c, "seconds": round(wall, 3),
                      "logins_per_s": round(n / wall, 1),
                      "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                      "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)}))


if __name__ == "__main__":
    main()
