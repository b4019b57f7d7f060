#!/usr/bin/python3
"""Signed request objects (RFC 9101) against the relay: good ones and
hostile ones, signed by Authlib (authlib.jose) or forged by hand.

Each case prints one line "name result", for test_jar.sh to assert on.
Usage: jar_hostile.py ISSUER CLIENT_KEY_PEM KID
"""
import base64
import hashlib
import json
import re
import secrets
import sys
import time
import urllib.parse

import requests
from authlib.jose import JsonWebKey, jwt
from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT

ISSUER, KEY_FILE, KID = sys.argv[1:4]
KEY = open(KEY_FILE).read()
DISCO = requests.get(ISSUER + "/.well-known/openid-configuration", timeout=10).json()
AUTHZ, PAR = DISCO["authorization_endpoint"], DISCO["pushed_authorization_request_endpoint"]
PGO, REDIRECT = "demo-pgo", "http://127.0.0.1:8001/callback"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def params(client_id=PGO, **over):
    verifier = secrets.token_urlsafe(48)
    p = {"client_id": client_id, "response_type": "code", "scope": "openid", "redirect_uri": REDIRECT,
         "state": secrets.token_urlsafe(12), "nonce": secrets.token_urlsafe(12),
         "code_challenge": b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256"}
    p.update(over)
    return {k: v for k, v in p.items() if v is not None}


def claims(client_id=PGO, **over):
    now = int(time.time())
    c = dict(params(client_id))
    c.update({"iss": client_id, "aud": ISSUER, "exp": now + 300, "nbf": now, "iat": now,
              "jti": secrets.token_urlsafe(16)})
    c.update(over)
    return {k: v for k, v in c.items() if v is not None}


def sign(c, key=KEY, alg="ES256", kid=KID):
    header = {"alg": alg}
    if kid:
        header["kid"] = kid
    return jwt.encode(header, c, key).decode()


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


def with_request(request, client_id=PGO):
    return authorize({"client_id": client_id, "request": request})


def push(request, client_id=PGO):
    auth = OAuth2ClientAuth(client_id, KEY, PrivateKeyJWT(PAR, alg="ES256", headers={"kid": KID}))
    r = requests.post(PAR, data={"client_id": client_id, "request": request}, auth=auth, timeout=10)
    b = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
    return r.status_code, b


def line(name, *values):
    print(name, *values)


# A good one, then the same again (jti single use).
good = sign(claims())
line("signed_ok", with_request(good))
line("jti_replayed", with_request(good))
# Unsigned, HMAC, another key, and an encrypted (JWE-shaped) object.
line("alg_none", with_request(b64(json.dumps({"alg": "none"}).encode()) + "." +
                              b64(json.dumps(claims()).encode()) + "."))
line("alg_hs256", with_request(sign(claims(), key=b"a-shared-secret-of-32-bytes-long!", alg="HS256", kid=None)))
other = JsonWebKey.generate_key("EC", "P-256", is_private=True)
line("wrong_key", with_request(sign(claims(), key=other)))
line("wrong_key_no_kid", with_request(sign(claims(), key=other, kid=None)))
line("encrypted_shape", with_request("eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a.b.c.d"))
# The JWT claims.
now = int(time.time())
line("expired", with_request(sign(claims(exp=now - 120, nbf=now - 400, iat=now - 400))))
line("not_yet_valid", with_request(sign(claims(nbf=now + 600))))
line("no_exp", with_request(sign(claims(exp=None))))
line("lives_too_long", with_request(sign(claims(exp=now + 7200))))
line("wrong_aud", with_request(sign(claims(aud="https://other.example"))))
line("wrong_iss", with_request(sign(claims(iss="demo-portal"))))
line("no_jti", with_request(sign(claims(jti=None))))
line("inner_client_id_differs", with_request(sign(claims(client_id="demo-portal", iss=PGO))))
line("request_uri_inside", with_request(sign(claims(request_uri="urn:ietf:params:oauth:request_uri:x"))))
# Outside the object: a client without registered keys, no client_id, both
# request and request_uri.
line("client_without_keys", with_request(sign(claims()), client_id="demo-portal"))
line("no_outer_client_id", authorize({"request": sign(claims())}))
line("request_and_request_uri", authorize({"client_id": PGO, "request": sign(claims()),
                                           "request_uri": "urn:ietf:params:oauth:request_uri:x"}))
# Only the object's parameters count: a forged redirect_uri beside it is ignored.
line("outer_parameters_ignored",
     authorize({"client_id": PGO, "request": sign(claims()), "redirect_uri": "https://evil.example/cb",
                "response_type": "token"}))
# The parameters inside are checked as any others.
line("inner_no_nonce", with_request(sign(claims(nonce=None))))
# At the PAR endpoint.
st, b = push(sign(claims()))
line("par_signed_ok", st, authorize({"client_id": PGO, "request_uri": b.get("request_uri")}))
replay = sign(claims())
push(replay)
st, b = push(replay)
line("par_jti_replayed", st, b.get("error"))
st, b = push(b64(json.dumps({"alg": "none"}).encode()) + "." + b64(json.dumps(claims()).encode()) + ".")
line("par_alg_none", st, b.get("error"))
st, b = push(sign(claims(), key=other))
line("par_wrong_key", st, b.get("error"))
# A client that must send signed request objects.
line("jar_only_plain", authorize(params("jar-only-pgo")))
line("jar_only_signed", with_request(sign(claims("jar-only-pgo")), client_id="jar-only-pgo"))
