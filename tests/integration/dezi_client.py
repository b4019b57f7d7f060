#!/usr/bin/python3
"""An independent Dezi client (Authlib) driving the mock Dezi through the
whole flow of the Koppelvlakspecificatie Dezi v0.7, as the relay would:

discovery -> /authorize (code flow, PKCE S256, state, nonce) -> pick a test
professional on the page -> code back -> /token (public client, or
private_key_jwt) -> id_token verified (RS256, iss, aud, exp, nonce, at_hash)
-> /userinfo: JWE (RSA-OAEP, A256CBC-HS512) decrypted with the relay's key
-> envelope JWS verified with the JWKS -> verklaring JWS verified with the
key fetched from its jku + kid -> status service -> signed revocation list.

Prints one JSON object for the shell test to assert on. Refusals:
--scenario bad-verifier | code-reuse | wrong-client | wrong-redirect | cancel
| no-pkce | bad-token | wrong-assertion.
"""
import argparse
import base64
import hashlib
import json
import re
import secrets
import sys
import time
import urllib.parse

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebEncryption, JsonWebKey, JsonWebSignature, jwt
from authlib.oidc.core import CodeIDToken


def fail(msg, **extra):
    print(json.dumps(dict(ok=False, error=msg, **extra)))
    sys.exit(1)


def s256(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(http, disc, args, client_id, redirect_uri, verifier, state, nonce, extra=None):
    """GET /authorize; returns the response (page or redirect)."""
    params = dict(response_type="code", client_id=client_id, redirect_uri=redirect_uri, scope="openid",
                  state=state, nonce=nonce, code_challenge=s256(verifier), code_challenge_method="S256")
    params.update(extra or {})
    params = {k: v for k, v in params.items() if v is not None}
    return http.get(disc["authorization_endpoint"], params=params, allow_redirects=False)


def choose(http, issuer, page, choice):
    """Submits the chooser form the way a browser would."""
    m = re.search(r'name="handle" value="([^"]+)"', page.text)
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    if not m or not action:
        fail("no chooser form on the page", status=page.status_code)
    return http.post(urllib.parse.urljoin(issuer + "/", action.group(1)),
                     data={"handle": m.group(1), "professional": choice}, allow_redirects=False)


def by_kid(keyset):
    """A JWS key resolver: the key named by the header's kid, nothing else."""
    return lambda header, payload: keyset.find_by_kid(header["kid"])


def query_of(location):
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def client_assertion(key_pem, client_id, aud, kid):
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT"}
    if kid:
        header["kid"] = kid
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "jti": secrets.token_urlsafe(16),
              "iat": now, "exp": now + 60}
    return jwt.encode(header, claims, key_pem).decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--issuer", required=True)
    ap.add_argument("--client-id", required=True)
    ap.add_argument("--redirect-uri", required=True)
    ap.add_argument("--decrypt-key", required=True, help="PEM: the relay's dezi.decryption_key")
    ap.add_argument("--professional", default="0", help="index on the page, or 'cancel'")
    ap.add_argument("--client-key", help="PEM: sign a private_key_jwt client assertion")
    ap.add_argument("--kid")
    ap.add_argument("--scenario", default="login")
    args = ap.parse_args()

    http = requests.Session()
    disc = http.get(args.issuer + "/.well-known/openid-configuration").json()
    if disc["issuer"] != args.issuer:
        fail("issuer mismatch in discovery")
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(16)
    nonce = secrets.token_urlsafe(16)
    out = {"ok": True, "discovery": {k: disc.get(k) for k in (
        "response_types_supported", "subject_types_supported", "id_token_signing_alg_values_supported",
        "code_challenge_methods_supported", "scopes_supported")}}

    # Refusals at /authorize.
    if args.scenario == "wrong-client":
        r = authorize(http, disc, args, "not-" + args.client_id, args.redirect_uri, verifier, state, nonce)
        print(json.dumps({"ok": True, "status": r.status_code, "redirected": "Location" in r.headers,
                          "names_check": "client_id" in r.text}))
        return
    if args.scenario == "wrong-redirect":
        r = authorize(http, disc, args, args.client_id, "https://evil.example/dezi/callback", verifier, state, nonce)
        print(json.dumps({"ok": True, "status": r.status_code, "redirected": "Location" in r.headers}))
        return
    if args.scenario == "no-pkce":
        r = authorize(http, disc, args, args.client_id, args.redirect_uri, verifier, state, nonce,
                      {"code_challenge": None, "code_challenge_method": None})
        q = query_of(r.headers.get("Location", ""))
        print(json.dumps({"ok": True, "status": r.status_code, "error": q.get("error"), "state": q.get("state") == state}))
        return

    page = authorize(http, disc, args, args.client_id, args.redirect_uri, verifier, state, nonce)
    if page.status_code != 200:
        fail("authorize did not show the page", status=page.status_code)
    out["page_test_banner"] = "TESTOMGEVING" in page.text
    ans = choose(http, args.issuer, page, "cancel" if args.scenario == "cancel" else args.professional)
    loc = ans.headers.get("Location", "")
    if ans.status_code != 302 or not loc.startswith(args.redirect_uri):
        fail("no redirect back to the client", status=ans.status_code)
    q = query_of(loc)
    if q.get("state") != state:
        fail("state not returned")
    if args.scenario == "cancel":
        print(json.dumps({"ok": True, "error": q.get("error"), "code": "code" in q}))
        return
    code = q["code"]
    # A second submit of the same page must not give a second code.
    out["page_single_use"] = choose(http, args.issuer, page, args.professional).status_code == 400

    # Token exchange with Authlib (public client: PKCE, no secret).
    auth_method = "none"
    token_extra = {}
    if args.client_key:
        pem = open(args.client_key, "rb").read()
        aud = disc["token_endpoint"]
        if args.scenario == "wrong-assertion":
            aud = "https://elsewhere.example/token"
        token_extra = {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                       "client_assertion": client_assertion(pem, args.client_id, aud, args.kid)}
    sess = OAuth2Session(args.client_id, redirect_uri=args.redirect_uri, scope="openid",
                         token_endpoint_auth_method=auth_method)

    def exchange(code_verifier):
        body = {"grant_type": "authorization_code", "code": code, "redirect_uri": args.redirect_uri,
                "client_id": args.client_id, "code_verifier": code_verifier}
        body.update(token_extra)
        return http.post(disc["token_endpoint"], data=body)

    if args.scenario in ("bad-verifier", "wrong-assertion"):
        r = exchange(secrets.token_urlsafe(48) if args.scenario == "bad-verifier" else verifier)
        again = exchange(verifier)  # the failed attempt burnt the code
        print(json.dumps({"ok": True, "status": r.status_code, "error": r.json().get("error"),
                          "retry_status": again.status_code, "retry_error": again.json().get("error")}))
        return
    if args.scenario == "code-reuse":
        first = exchange(verifier)
        second = exchange(verifier)
        print(json.dumps({"ok": True, "first": first.status_code, "second": second.status_code,
                          "error": second.json().get("error")}))
        return
    if token_extra:
        tok = exchange(verifier)
        if tok.status_code != 200:
            fail("token refused", status=tok.status_code, body=tok.text)
        token = tok.json()
    else:
        token = sess.fetch_token(disc["token_endpoint"], authorization_response=loc, state=state,
                                 code_verifier=verifier)

    # id_token: RS256 with the JWKS, iss, aud, exp, iat, nonce, at_hash.
    jwks = JsonWebKey.import_key_set(http.get(disc["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], jwks, claims_cls=CodeIDToken,
                        claims_options={"iss": {"essential": True, "value": args.issuer},
                                        "aud": {"essential": True, "value": args.client_id}},
                        claims_params={"nonce": nonce, "client_id": args.client_id,
                                       "access_token": token["access_token"]})
    claims.validate(leeway=5)
    out["id_token"] = {"sub": claims["sub"], "has_professional_data": any(
        k in claims for k in ("dezi_nummer", "rol_code", "abonnee_nummer", "verklaring"))}

    if args.scenario == "bad-token":
        r = http.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + secrets.token_urlsafe(32)})
        print(json.dumps({"ok": True, "status": r.status_code,
                          "www_authenticate": r.headers.get("WWW-Authenticate", "")}))
        return

    # userinfo: JWE to the relay's key, holding the signed envelope.
    ui = http.get(disc["userinfo_endpoint"], headers={"Authorization": "Bearer " + token["access_token"],
                                                      "Accept": "application/json"})
    if ui.status_code != 200:
        fail("userinfo refused", status=ui.status_code)
    out["userinfo_content_type"] = ui.headers.get("Content-Type")
    relay_key = JsonWebKey.import_key(open(args.decrypt_key, "rb").read(), {"kty": "RSA"})
    jwe = JsonWebEncryption().deserialize_compact(ui.text.strip(), relay_key)
    out["jwe_header"] = {k: jwe["header"].get(k) for k in ("alg", "enc", "typ", "cty")}
    envelope = jwt.decode(jwe["payload"], jwks,
                          claims_options={"iss": {"essential": True, "value": args.issuer},
                                          "aud": {"essential": True, "value": args.client_id},
                                          "exp": {"essential": True}})
    envelope.validate(leeway=5)
    out["envelope"] = {k: envelope.get(k) for k in ("loa_authn", "json_schema", "verklaring_id")}
    # What the relay requires of the envelope: Dezi's own key (no jku in its
    # header) and the id_token's sub (OIDC Core §5.3.2).
    env_header = json.loads(base64.urlsafe_b64decode(jwe["payload"].split(b".")[0] + b"=="))
    out["envelope"]["header_names_key_set"] = "jku" in env_header or "x5u" in env_header
    out["envelope"]["sub_is_id_token_sub"] = envelope.get("sub") == claims["sub"]

    # verklaring: the key from its jku + kid, never from the JWKS above.
    vk_header = json.loads(base64.urlsafe_b64decode(envelope["verklaring"].split(".")[0] + "=="))
    if not vk_header.get("jku", "").startswith(args.issuer + "/"):
        fail("verklaring jku not at the issuer", jku=vk_header.get("jku"))
    register = JsonWebKey.import_key_set(http.get(vk_header["jku"]).json())
    out["verklaring_signed_by_id_token_key"] = True
    try:
        JsonWebSignature().deserialize_compact(envelope["verklaring"], by_kid(jwks))
    except Exception:
        out["verklaring_signed_by_id_token_key"] = False
    vk = jwt.decode(envelope["verklaring"], register,
                    claims_options={"exp": {"essential": True}, "nbf": {"essential": True}})
    vk.validate(leeway=5)
    out["verklaring_header"] = {k: vk_header.get(k) for k in ("alg", "typ")}
    out["verklaring_has_kid"] = bool(vk_header.get("kid"))
    out["verklaring"] = dict(vk)
    if vk["verklaring_id"] != envelope["verklaring_id"]:
        fail("verklaring_id differs between envelope and verklaring")

    # Status service (§6.2) at the URI the verklaring names.
    status_uri = vk.get("status_uri") or vk.get("revocatie_controle_uri")
    st = http.get(status_uri)
    out["status"] = st.json().get("status") if st.status_code == 200 else st.status_code
    # Signed revocation list (§6.3), same register key set.
    lst = http.get(args.issuer + "/revocatiecontrole/v1")
    out["list_content_type"] = lst.headers.get("Content-Type")
    lst_header = json.loads(base64.urlsafe_b64decode(lst.text.split(".")[0] + "=="))
    list_keys = JsonWebKey.import_key_set(http.get(lst_header["jku"]).json())
    payload = json.loads(JsonWebSignature().deserialize_compact(lst.text.strip(), by_kid(list_keys))["payload"])
    now = time.time()
    out["list"] = {"fresh": int(payload["nbf"]) <= now + 5 < int(payload["exp"]),
                   "ververs_in_future": int(payload["ververs_tijdstip"]) > now,
                   "names_this_verklaring": any(e["verklaringId"] == vk["verklaring_id"]
                                                for e in payload["revocaties"]),
                   "count": len(payload["revocaties"])}
    # The access token stays usable until it expires (userinfo twice).
    out["userinfo_again"] = http.get(disc["userinfo_endpoint"],
                                     headers={"Authorization": "Bearer " + token["access_token"]}).status_code
    print(json.dumps(out))


if __name__ == "__main__":
    main()
