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


def one_login(issuer, client_id, secret, redirect_uri, identity):
    t0 = time.monotonic()
    s = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    q = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri, "scope": "openid",
         "state": secrets.token_urlsafe(8), "nonce": secrets.token_urlsafe(8), "code_challenge": challenge,
         "code_challenge_method": "S256", "login_method": "patient"}  # the demo portal also serves professionals
    r = s.get(issuer + "/authorize", params=q, allow_redirects=False)
    action = unescape(FORM_ACTION.search(r.text).group(1))
    fields = {unescape(k): unescape(v) for k, v in FORM_FIELD.findall(r.text)}
    r = s.post(action, data=fields, allow_redirects=False)
    action2 = urllib.parse.urljoin(action, unescape(FORM_ACTION.search(r.text).group(1)))
    fields2 = {unescape(k): unescape(v) for k, v in FORM_FIELD.findall(r.text)}
    for name, value, text in BUTTON.findall(r.text):
        if identity in text:
            fields2[unescape(name)] = unescape(value)
            break
    r = s.post(action2, data=fields2, allow_redirects=False)
    r = s.get(r.headers["Location"], allow_redirects=False)          # relay ACS
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
    identity = sys.argv[7] if len(sys.argv) > 7 else "DigiD Substantieel"
    one_login(issuer, client_id, secret, redirect_uri, identity)  # warm-up (TLS session, caches)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(c) as ex:
        lat = sorted(ex.map(lambda _: one_login(issuer, client_id, secret, redirect_uri, identity), range(n)))
    wall = time.monotonic() - t0
    print(json.dumps({"logins": n, "concurrency": c, "seconds": round(wall, 3),
                      "logins_per_s": round(n / wall, 1),
                      "p50_ms": round(lat[len(lat) // 2] * 1000, 1),
                      "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1)}))


if __name__ == "__main__":
    main()
