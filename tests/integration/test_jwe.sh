#!/usr/bin/env bash
# Encryption (issue 17 §1/§2): a portal on openid-client pushes a request
# object signed with its key and encrypted to the relay's (PAR,
# private_key_jwt), a patient logs in, and the ID token and the UserInfo
# answer come back encrypted to the portal's key, which openid-client
# decrypts and verifies; Authlib's JWE decrypts the same answers and
# encrypts request objects the relay reads (independent implementations,
# both ways). Then hostile encrypted request objects: wrong kid, tampered
# key/IV/ciphertext/tag, alg and enc outside the allow-list (RSA1_5, dir,
# A128CBC-HS256), zip, an unsigned inner, an inner of another client.
# Real binary, real Redis, the mock TVS.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_oidc_client_setup
zr_start_redis
zr_write_config

# The relay's two encryption keys (rollover) and the portal's keys: ES256
# to sign, RSA to be encrypted to. Pre-made RSA keys (tests/data/saml/sp).
KEYS="$ZR_SOURCE_DIR/tests/data/saml/sp"
install -m 600 "$KEYS/test-key-01.pem" "$ZR_TMP/relay-enc-1.key"
install -m 600 "$KEYS/test-key-02.pem" "$ZR_TMP/relay-enc-2.key"
install -m 600 "$KEYS/test-key-03.pem" "$ZR_TMP/portal-enc.key"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ZR_TMP/portal-sig.key" 2>/dev/null
$PY - "$ZR_TMP" <<'PYEOF'
import json, sys
from authlib.jose import JsonWebKey
d = sys.argv[1]
sig = JsonWebKey.import_key(open(d + "/portal-sig.key").read(), {"kid": "portal-sig", "use": "sig", "alg": "ES256"})
enc = JsonWebKey.import_key(open(d + "/portal-enc.key").read(), {"kid": "portal-enc", "use": "enc"})
json.dump({"keys": [sig.as_dict(is_private=False), enc.as_dict(is_private=False)]}, open(d + "/portal.jwks.json", "w"))
json.dump({"keys": [sig.as_dict(is_private=True), enc.as_dict(is_private=True)]}, open(d + "/portal-private.jwks.json", "w"))
PYEOF
$PY - "$ZR_CONFIG" "$ZR_TMP" <<'PYEOF'
import sys
p, d = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("\noidc:\n", """
oidc:
  encryption_keys:
    - key: %s/relay-enc-1.key
      kid: relay-enc-1
    - key: %s/relay-enc-2.key
      kid: relay-enc-2
""" % (d, d), 1)
s = s.replace("\nclients:\n", """
clients:
  - client_id: jwe-portal
    care_provider: zorgaanbieder-demo
    auth_method: private_key_jwt
    jwks_file: %s/portal.jwks.json
    redirect_uris:
      - http://127.0.0.1:8002/callback
    min_loa: substantial
    bsn_entitled: true
    id_token_alg: ES256
    id_token_encrypted_response_alg: RSA-OAEP
    userinfo_signed_response_alg: ES256
    userinfo_encrypted_response_alg: RSA-OAEP-256
    userinfo_encrypted_response_enc: A256GCM
""" % d, 1)
open(p, "w").write(s)
PYEOF
zr_start_mock_tvs
zr_start_relay

# 1. Discovery and JWKS.
disco=$(curl -sf "$ISSUER/.well-known/openid-configuration")
for w in request_object userinfo id_token; do
  zr_check "discovery: ${w}_encryption_alg_values_supported" \
    "$(zr_json "$disco" "d.get('${w}_encryption_alg_values_supported')")" '["RSA-OAEP", "RSA-OAEP-256"]'
  zr_check "discovery: ${w}_encryption_enc_values_supported (nothing weaker than A256GCM)" \
    "$(zr_json "$disco" "d.get('${w}_encryption_enc_values_supported')")" '["A256GCM"]'
done
jwks=$(curl -sf "$ISSUER/jwks")
zr_check "JWKS: both encryption keys, use enc, RSA-OAEP-256, no private part" \
  "$(zr_json "$jwks" '" ".join("%s:%s:%s:%s" % (k["kid"], k["kty"], k["alg"], "d" in k) for k in d["keys"] if k.get("use") == "enc")')" \
  "relay-enc-1:RSA:RSA-OAEP-256:False relay-enc-2:RSA:RSA-OAEP-256:False"

# 2. openid-client: PAR + signed and encrypted request object +
#    private_key_jwt + JWT access token + encrypted ID token and UserInfo.
RAW="$ZR_TMP/raw-answers.json"
out=$(ZR_PY=$PY "$NODE" "$ZR_SOURCE_DIR/tests/integration/oidc_client_jwe.js" "$ISSUER" jwe-portal "$ZR_TMP/portal-private.jwks.json" \
  http://127.0.0.1:8002/callback "DigiD Substantieel" "$ZR_SOURCE_DIR/tests/integration/browser_walk.py" "$RAW")
echo "# openid-client: $out" | cut -c1-600
zr_check "openid-client: request object signed then encrypted to the relay" \
  "$(zr_json "$out" 'd["request_object"]')" \
  '{"segments": 5, "alg": "RSA-OAEP-256", "enc": "A256GCM", "cty": "oauth-authz-req+jwt", "kid": "relay-enc-1"}'
zr_check "openid-client: pushed (PAR, private_key_jwt)" "$(zr_json "$out" 'd.get("par_request_uri")')" "True"
zr_check "openid-client: the ID token came encrypted to the portal's key" \
  "$(zr_json "$out" '[d["id_token_sent"]["segments"], d["id_token_sent"]["header"]]')" \
  '[5, {"alg": "RSA-OAEP", "enc": "A256GCM", "kid": "portal-enc", "cty": "JWT"}]'
zr_check "openid-client: inside, the relay's ES256 signature (verified with nonce and aud)" \
  "$(zr_json "$out" '[d["id_token_inner_header"]["alg"], d["id_token_claims"]["nonce_ok"], d["id_token_claims"]["aud"], d["id_token_claims"]["bsn"]]')" \
  '["ES256", true, "jwe-portal", true]'
zr_check "openid-client: a JWT access token (at+jwt)" "$(zr_json "$out" 'd.get("access_token_typ")')" "at+jwt"
zr_check "openid-client: UserInfo came signed then encrypted (RSA-OAEP-256)" \
  "$(zr_json "$out" '[d["userinfo_sent"]["segments"], d["userinfo_sent"]["header"]["alg"], d["userinfo_sent"]["header"]["cty"]]')" \
  '[5, "RSA-OAEP-256", "JWT"]'
zr_check "openid-client: UserInfo decrypted and verified: same sub, iss, aud" \
  "$(zr_json "$out" 'd["userinfo"]')" '{"sub_matches": true, "iss": true, "aud": "jwe-portal", "bsn": true}'

# 3. Authlib decrypts the same answers with the portal's key and verifies
#    the relay's signature inside.
inter=$($PY "$ZR_SOURCE_DIR/tests/integration/jwe_authlib.py" interop "$ISSUER" "$RAW" "$ZR_TMP/portal-enc.key")
i() { echo "$inter" | grep "^$1 " | cut -d' ' -f2- ; }
zr_check "Authlib decrypts the ID token" "$(i id_token_decrypted)" "RSA-OAEP A256GCM JWT"
zr_check "Authlib: the ID token inside is the relay's signed one" "$(i id_token_inner_signed)" "ES256 True"
zr_check "Authlib decrypts UserInfo" "$(i userinfo_decrypted)" "RSA-OAEP-256 A256GCM JWT"
zr_check "Authlib: UserInfo inside is signed by the relay" "$(i userinfo_inner_signed)" "ES256 True"
BSN=$(i userinfo_bsn)
zr_check "the BSN is inside both (an entitled client)" "$([ ${#BSN} -eq 9 ] && [ "$(i id_token_bsn)" = "$BSN" ] && echo yes)" "yes"
zr_check "... and nowhere in clear in what the relay sent" "$(grep -c "$BSN" "$RAW" || true)" "0"

# 4. Authlib encrypts request objects; hostile ones are refused.
PGO_KID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")
OUT="$ZR_TMP/hostile.txt"
$PY "$ZR_SOURCE_DIR/tests/integration/jwe_authlib.py" hostile "$ISSUER" jwe-portal "$ZR_TMP/portal-sig.key" portal-sig \
  demo-pgo "$ZR_PKI/pgo-client.key" "$PGO_KID" > "$OUT"
h() { grep "^$1 " "$OUT" | cut -d' ' -f2- ; }
zr_check "Authlib RSA-OAEP-256: the login starts" "$(h enc_ok)" "200 login"
zr_check "the same encrypted request object again: refused (jti)" "$(h enc_replayed)" "400 invalid_request"
zr_check "Authlib RSA-OAEP: the login starts" "$(h enc_rsa_oaep)" "200 login"
zr_check "encrypted to the second key (rollover): the login starts" "$(h enc_second_key)" "200 login"
zr_check "no kid: the key that decrypts it is found" "$(h enc_no_kid)" "200 login"
zr_check "PAR with an encrypted request object: the login starts" "$(h par_enc_ok)" "201 200 login"
zr_check "unknown kid: refused" "$(h wrong_kid)" "400 invalid_request"
zr_check "kid of the other key: refused" "$(h kid_of_other_key)" "400 invalid_request"
for t in ek iv ciphertext tag; do
  zr_check "tampered $t: refused" "$(h tampered_$t)" "400 invalid_request"
done
zr_check "PAR: tampered tag: invalid_request_object" "$(h par_tampered_tag)" "400 invalid_request_object"
zr_check "alg RSA1_5: refused" "$(h alg_rsa1_5)" "400 invalid_request"
zr_check "alg dir: refused" "$(h alg_dir)" "400 invalid_request"
zr_check "enc A128CBC-HS256: refused" "$(h enc_a128cbc_hs256)" "400 invalid_request"
zr_check "enc A128GCM: refused" "$(h enc_a128gcm)" "400 invalid_request"
zr_check "zip: refused" "$(h zip_def)" "400 invalid_request"
zr_check "encrypted but unsigned (JSON inside): refused" "$(h unsigned_inner_json)" "400 invalid_request"
zr_check "encrypted but unsigned (alg none inside): refused" "$(h unsigned_inner_alg_none)" "400 invalid_request"
zr_check "PAR: encrypted but unsigned: invalid_request_object" "$(h par_unsigned_inner)" "400 invalid_request_object"
zr_check "inner request object of another client: refused" "$(h inner_other_client)" "400 invalid_request"
zr_check "inner signed by another client's key: refused" "$(h inner_signed_by_other_client)" "400 invalid_request"
zr_check "PAR: inner signed by another client's key: invalid_request_object" \
  "$(h par_inner_signed_by_other_client)" "400 invalid_request_object"
zr_check "each refusal logged with its reason" \
  "$(for r in 'already used (jti)' 'names an unknown kid' 'cannot be decrypted' 'JWE alg not allowed' 'not a compact JWE' \
       'JWE enc not allowed' 'crit or zip' 'does not hold a signed JWT' 'algorithm not allowed (RS256' 'signature not valid'; do
       grep -c "request object refused: .*$r" "$ZR_TMP/relay.log" | tr '\n' ' '; done)" \
  "1 1 6 1 1 2 1 2 1 3 "

# 5. No request object, token or key in the log.
zr_check "no JOSE object in the log" "$(grep -c 'eyJ' "$ZR_TMP/relay.log" || true)" "0"

zr_done
