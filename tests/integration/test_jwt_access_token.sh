#!/usr/bin/env bash
# Issue 17 §2: access tokens as RFC 9068 JWTs and UserInfo as a signed JWT,
# verified by an independent client library (Authlib) against the relay's
# JWKS, through the real binary, a real Redis and the mock TVS.
source "$(dirname "$0")/lib.sh"
zr_env_up
PGO_KID="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")"

# 1. client_secret_basic, BSN-entitled portal (RS256): a JWT access token.
out=$(zr_login "DigiD Substantieel" --access-token-forgeries)
zr_check "access token verifies with Authlib (iss, aud, client_id, sub, jti, scope, exp, iat)" \
  "$(zr_json "$out" 'd.get("access_token_error", "verified")')" "verified"
zr_check "access token header typ at+jwt (RFC 9068 §2.1)" "$(zr_json "$out" 'd["access_token_header"].get("typ")')" "at+jwt"
zr_check "access token signed RS256 (the client's id_token_alg)" "$(zr_json "$out" 'd["access_token_header"]["alg"]')" "RS256"
zr_check "access token sub = ID token sub (pairwise)" \
  "$(zr_json "$out" 'd["access_token_claims"]["sub"] == d["claims"]["sub"]')" "True"
zr_check "access token scope openid" "$(zr_json "$out" 'd["access_token_claims"]["scope"]')" "openid"
zr_check "access token acr = the level reached" "$(zr_json "$out" 'd["access_token_claims"]["acr"]')" \
  "http://eidas.europa.eu/LoA/substantial"
zr_check "access token lifetime = access_token_lifetime" \
  "$(zr_json "$out" 'd["access_token_claims"]["exp"] - d["access_token_claims"]["iat"]')" "300"
zr_check "no BSN in the access token, though the client is entitled to it" \
  "$(zr_json "$out" '"999990019" in json.dumps(d["access_token_claims"]) or "bsn" in d["access_token_claims"]')" "False"
zr_check "the ID token does carry the BSN (entitled client)" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "userinfo accepts the JWT access token: plain JSON by default" \
  "$(zr_json "$out" 'd["userinfo_status"], d["userinfo_content_type"], d["userinfo"]["bsn"]')" \
  "(200, 'application/json', '999990019')"
zr_check "altered access tokens and the ID token are refused at userinfo" "$(zr_json "$out" 'd["forgeries"]')" \
  '{"changed scope": 401, "changed client_id": 401, "changed sub": 401, "changed exp": 401, "changed jti": 401, "alg none": 401, "typ JWT": 401, "id token": 401}'

# 2. A replayed code revokes the JWT access token (its record by jti is gone).
out=$(zr_login "DigiD Substantieel" --redeem-twice)
zr_check "replayed code: invalid_grant" "$(zr_json "$out" 'd.get("second_redeem")')" "invalid_grant"
zr_check "replayed code: the JWT access token is revoked at userinfo" "$(zr_json "$out" 'd.get("userinfo_after_replay")')" "401"

# 3. private_key_jwt client with ES256: the access token is ES256 too.
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo \
  --private-key "$ZR_PKI/pgo-client.key" --kid="$PGO_KID" \
  --redirect-uri http://127.0.0.1:8001/callback --identity "DigiD Substantieel")
zr_check "private_key_jwt: access token verifies with Authlib" "$(zr_json "$out" 'd.get("access_token_error", "verified")')" "verified"
zr_check "private_key_jwt: access token ES256, typ at+jwt" \
  "$(zr_json "$out" 'd["access_token_header"]["alg"] + " " + d["access_token_header"]["typ"]')" "ES256 at+jwt"

# 4. userinfo_signed_response_alg: the relay answers application/jwt.
disco=$(curl -fsS "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: userinfo_signing_alg_values_supported" \
  "$(zr_json "$disco" 'sorted(d["userinfo_signing_alg_values_supported"])')" '["ES256", "RS256"]'
$PY - "$ZR_CONFIG" <<'PYEOF'
import sys
p = sys.argv[1]
s = open(p).read()
a = "  - client_id: demo-portal\n"
assert s.count(a) == 1
i = s.index("    id_token_alg: RS256\n", s.index(a))
s = s[:i] + "    userinfo_signed_response_alg: ES256\n" + s[i:]
open(p, "w").write(s)
PYEOF
zr_restart_relay
out=$(zr_login "DigiD Substantieel")
zr_check "signed userinfo: 200 application/jwt" "$(zr_json "$out" 'd["userinfo_status"], d["userinfo_content_type"]')" \
  "(200, 'application/jwt')"
zr_check "signed userinfo: ES256, verified by Authlib with iss and aud" "$(zr_json "$out" 'd["userinfo_header"]["alg"]')" "ES256"
zr_check "signed userinfo: the same subject" \
  "$(zr_json "$out" 'd["userinfo"]["sub"] == d["claims"]["sub"] and d["userinfo"]["bsn"]')" "999990019"

# 5. A wrong alg for it is a configuration error with FILE:LINE: key.
sed -i 's/userinfo_signed_response_alg: ES256/userinfo_signed_response_alg: HS256/' "$ZR_CONFIG"
err=$("$ZR_BIN" check-config "$ZR_CONFIG" 2>&1 || true)
zr_check "userinfo_signed_response_alg HS256 refused at load" \
  "$(echo "$err" | grep -c 'zorgrelay.yaml:[0-9]*: clients\[0\].userinfo_signed_response_alg')" "1"
zr_done
