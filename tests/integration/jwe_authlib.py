#!/usr/bin/python3
"""Encrypted request objects, UserInfo and ID tokens (issue 17 §1/§2)
against the relay, with Authlib's JWE (authlib.jose.JsonWebEncryption) as
the independent implementation, both ways.

  jwe_authlib.py interop ISSUER RAW_JSON CLIENT_ENC_KEY_PEM
      decrypts what the relay sent openid-client (RAW_JSON from
      oidc_client_jwe.js) and verifies the signature inside with the
      relay's JWKS; prints "name result" lines.
  jwe_authlib.py hostile ISSUER CLIENT_ID SIG_KEY KID OTHER_CLIENT OTHER_KEY OTHER_KID
      good and hostile encrypted request objects at /authorize and at the
      PAR endpoint; prints "name result" lines for test_jwe.sh.
"""
import base64
import hashlib
import json
import os
import re
import secrets
import sys
import time
import urllib.parse

import requests
from authlib.jose import JsonWebEncryption, JsonWebKey, OctKey, jwt
from authlib.integrations.requests_client.oauth2_session import OAuth2ClientAuth
from authlib.oauth2.rfc7523 import PrivateKeyJWT

JWE = JsonWebEncryption()
# The hostile side may use what Authlib keeps out by default (RSA1_5).
FORGER = JsonWebEncryption(algorithms=["RSA1_5", "RSA-OAEP", "RSA-OAEP-256", "dir", "A256GCM", "A128GCM",
                                       "A128CBC-HS256", "DEF"])
REDIRECT = "http://127.0.0.1:8002/callback"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def relay_keys(issuer):
    disco = requests.get(issuer + "/.well-known/openid-configuration", timeout=10).json()
    keys = requests.get(disco["jwks_uri"], timeout=10).json()["keys"]
    return disco, keys


def interop(issuer, raw_file, enc_key_file):
    raw = json.load(open(raw_file))
    enc_key = JsonWebKey.import_key(open(enc_key_file).read())
    _, keys = relay_keys(issuer)
    sig_keys = JsonWebKey.import_key_set({"keys": [k for k in keys if k.get("use") == "sig"]})
    for name in ("id_token", "userinfo"):
        try:
            res = JWE.deserialize_compact(raw[name], enc_key)
            inner = res["payload"].decode()
            claims = jwt.decode(inner, sig_keys)
            claims.validate()
            print("%s_decrypted %s %s %s" % (name, res["header"]["alg"], res["header"]["enc"],
                                             res["header"].get("cty")))
            print("%s_inner_signed %s %s" % (name, json.loads(unb64(inner.split(".")[0]))["alg"],
                                            claims["iss"] == issuer))
            print("%s_bsn %s" % (name, claims.get("bsn", "-")))
        except Exception as e:  # noqa: BLE001 - the line says what failed
            print("%s_decrypted error %s" % (name, type(e).__name__))


class Hostile:
    def __init__(self, issuer, client_id, sig_key, kid, other_client, other_key, other_kid):
        self.issuer, self.client_id, self.sig_key, self.kid = issuer, client_id, open(sig_key).read(), kid
        self.other_client, self.other_key, self.other_kid = other_client, open(other_key).read(), other_kid
        self.disco, keys = relay_keys(issuer)
        self.enc = [k for k in keys if k.get("use") == "enc"]

    def claims(self, client_id=None, **over):
        client_id = client_id or self.client_id
        now = int(time.time())
        verifier = secrets.token_urlsafe(48)
        c = {"iss": client_id, "aud": self.issuer, "exp": now + 300, "nbf": now, "iat": now,
             "jti": secrets.token_urlsafe(16), "client_id": client_id, "response_type": "code",
             "scope": "openid", "redirect_uri": REDIRECT, "state": secrets.token_urlsafe(12),
             "nonce": secrets.token_urlsafe(12), "code_challenge_method": "S256",
             "code_challenge": b64(hashlib.sha256(verifier.encode()).digest())}
        c.update(over)
        return c

    def signed(self, claims=None, key=None, kid=None):
        header = {"alg": "ES256", "kid": kid or self.kid, "typ": "oauth-authz-req+jwt"}
        return jwt.encode(header, claims or self.claims(), key or self.sig_key).decode()

    def encrypt(self, payload, alg="RSA-OAEP-256", enc="A256GCM", key_index=0, kid=True, key=None, **extra):
        jwk = self.enc[key_index]
        header = {"alg": alg, "enc": enc, "cty": "JWT"}
        if kid is True:
            header["kid"] = jwk["kid"]
        elif kid:
            header["kid"] = kid
        header.update(extra)
        if isinstance(payload, str):
            payload = payload.encode()
        return FORGER.serialize_compact(header, payload, key or JsonWebKey.import_key(jwk)).decode()

    def page(self, r):
        m = re.search(r"<code>([a-z_]+)</code>", r.text)
        return m.group(1) if m else "-"

    def authorize(self, query):
        r = requests.get(self.disco["authorization_endpoint"] + "?" + urllib.parse.urlencode(query),
                         allow_redirects=False, timeout=10)
        if r.status_code in (302, 303):
            q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(r.headers["Location"]).query))
            return "%d %s" % (r.status_code, q.get("error", "code" if "code" in q else "-"))
        login = "SAMLRequest" in r.text
        return "%d %s" % (r.status_code, "login" if r.status_code == 200 and login else self.page(r))

    def at_authorize(self, request):
        return self.authorize({"client_id": self.client_id, "request": request})

    def push(self, request):
        par = self.disco["pushed_authorization_request_endpoint"]
        auth = OAuth2ClientAuth(self.client_id, self.sig_key,
                                PrivateKeyJWT(par, alg="ES256", headers={"kid": self.kid}))
        r = requests.post(par, data={"client_id": self.client_id, "request": request}, auth=auth, timeout=10)
        b = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else {}
        if r.status_code != 201:
            return "%d %s" % (r.status_code, b.get("error", "-"))
        return "201 " + self.authorize({"client_id": self.client_id, "request_uri": b["request_uri"]})

    def tamper(self, compact, seg):
        parts = compact.split(".")
        raw = bytearray(unb64(parts[seg]))
        raw[len(raw) // 2] ^= 1
        parts[seg] = b64(bytes(raw))
        return ".".join(parts)

    def run(self):
        out = []

        def case(name, result):
            out.append((name, result))
            print(name, result, flush=True)

        case("discovery_alg", json.dumps(self.disco.get("request_object_encryption_alg_values_supported")))
        case("discovery_enc", json.dumps(self.disco.get("request_object_encryption_enc_values_supported")))
        case("jwks_enc_keys", " ".join("%s:%s" % (k["kty"], k.get("alg")) for k in self.enc))
        good = self.encrypt(self.signed())
        case("enc_ok", self.at_authorize(good))
        case("enc_replayed", self.at_authorize(good))
        case("enc_rsa_oaep", self.at_authorize(self.encrypt(self.signed(), alg="RSA-OAEP")))
        case("enc_second_key", self.at_authorize(self.encrypt(self.signed(), key_index=1)))
        case("enc_no_kid", self.at_authorize(self.encrypt(self.signed(), key_index=1, kid=False)))
        case("par_enc_ok", self.push(self.encrypt(self.signed())))
        case("wrong_kid", self.at_authorize(self.encrypt(self.signed(), kid="not-a-relay-key")))
        case("kid_of_other_key", self.at_authorize(self.encrypt(self.signed(), key_index=0,
                                                                kid=self.enc[1]["kid"])))
        for seg, name in ((1, "ek"), (2, "iv"), (3, "ciphertext"), (4, "tag")):
            case("tampered_" + name, self.at_authorize(self.tamper(self.encrypt(self.signed()), seg)))
        case("par_tampered_tag", self.push(self.tamper(self.encrypt(self.signed()), 4)))
        case("alg_rsa1_5", self.at_authorize(self.encrypt(self.signed(), alg="RSA1_5")))
        oct_key = OctKey.import_key(os.urandom(32))
        case("alg_dir", self.at_authorize(self.encrypt(self.signed(), alg="dir", kid=False, key=oct_key)))
        case("enc_a128cbc_hs256", self.at_authorize(self.encrypt(self.signed(), enc="A128CBC-HS256")))
        case("enc_a128gcm", self.at_authorize(self.encrypt(self.signed(), enc="A128GCM")))
        case("zip_def", self.at_authorize(self.encrypt(self.signed(), zip="DEF")))
        case("unsigned_inner_json", self.at_authorize(self.encrypt(json.dumps(self.claims()))))
        none_jwt = b64(b'{"alg":"none"}') + "." + b64(json.dumps(self.claims()).encode()) + "."
        case("unsigned_inner_alg_none", self.at_authorize(self.encrypt(none_jwt)))
        case("par_unsigned_inner", self.push(self.encrypt(json.dumps(self.claims()))))
        other = self.signed(self.claims(self.other_client), key=self.other_key, kid=self.other_kid)
        case("inner_other_client", self.at_authorize(self.encrypt(other)))
        forged = self.signed(self.claims(), key=self.other_key, kid=self.other_kid)
        case("inner_signed_by_other_client", self.at_authorize(self.encrypt(forged)))
        case("par_inner_signed_by_other_client", self.push(self.encrypt(forged)))
        return out


if __name__ == "__main__":
    if sys.argv[1] == "interop":
        interop(*sys.argv[2:5])
    else:
        Hostile(*sys.argv[2:9]).run()
