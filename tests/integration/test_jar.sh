#!/usr/bin/env bash
# Signed request objects (JAR, RFC 9101, issue 17 §1) at /authorize and at
# the PAR endpoint: Authlib signs the request with the client's registered
# key and logs a patient in; unsigned, HMAC, wrongly signed, replayed,
# expired and otherwise hostile request objects are refused
# (jar_hostile.py). Real binary, real Redis, the mock TVS.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
# A client that must send signed request objects.
$PY - "$ZR_CONFIG" "$ZR_PKI" <<'PYEOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("\nclients:\n", """
clients:
  - client_id: jar-only-pgo
    care_provider: zorgaanbieder-demo
    auth_method: private_key_jwt
    jwks_file: %s/pgo-client.jwks.json
    redirect_uris:
      - http://127.0.0.1:8001/callback
    min_loa: substantial
    require_signed_request_object: true
""" % sys.argv[2], 1)
open(p, "w").write(s)
PYEOF

zr_start_mock_tvs
zr_start_relay
SECRETS="$ZR_TMP/secrets.txt"
OUT="$ZR_TMP/hostile.txt"
KID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")
pgo_login() {
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo \
    --private-key "$ZR_PKI/pgo-client.key" --kid="$KID" --redirect-uri http://127.0.0.1:8001/callback \
    --identity "DigiD Substantieel" --secrets-out "$SECRETS" "$@"
}

# 1. Discovery.
disco=$(curl -sf "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: request_parameter_supported" "$(zr_json "$disco" 'd.get("request_parameter_supported")')" "True"
zr_check "discovery: request_object_signing_alg_values_supported (no none, no HS*)" \
  "$(zr_json "$disco" 'd.get("request_object_signing_alg_values_supported")')" '["RS256", "PS256", "ES256"]'

# 2. Login with a signed request object at /authorize; a state, nonce and
#    redirect_uri beside it do not count (RFC 9101 §6.3).
out=$(pgo_login --jar --par-extra state=forged --par-extra nonce=forged --par-extra redirect_uri=https://evil.example/cb)
zr_check "JAR: the browser carried client_id and request (and the ignored extras)" \
  "$(zr_json "$out" 'd.get("authorize_params")')" '["client_id", "nonce", "redirect_uri", "request", "state"]'
zr_check "JAR: the signed state came back, not the forged one" "$(zr_json "$out" 'd.get("state_ok")')" "True"
zr_check "JAR: logged in (signed nonce verified by Authlib)" "$(zr_json "$out" 'd.get("id_token_alg")')" "ES256"

# 3. A signed request object pushed to the PAR endpoint, private_key_jwt.
out=$(pgo_login --jar --par)
zr_check "JAR via PAR: pushed" "$(zr_json "$out" 'd.get("par_status")')" "201"
zr_check "JAR via PAR: logged in" "$(zr_json "$out" 'd.get("id_token_alg")')" "ES256"

# 4. Hostile request objects.
$PY "$ZR_SOURCE_DIR/tests/integration/jar_hostile.py" "$ISSUER" "$ZR_PKI/pgo-client.key" "$KID" > "$OUT"
h() { grep "^$1 " "$OUT" | cut -d' ' -f2- ; }
zr_check "a signed request object: the login starts" "$(h signed_ok)" "200 login"
zr_check "its jti again: refused" "$(h jti_replayed)" "400 invalid_request"
zr_check "unsigned (alg none): refused" "$(h alg_none)" "400 invalid_request"
zr_check "HS256: refused" "$(h alg_hs256)" "400 invalid_request"
zr_check "signed with another key (its kid): refused" "$(h wrong_key)" "400 invalid_request"
zr_check "signed with another key (no kid): refused" "$(h wrong_key_no_kid)" "400 invalid_request"
zr_check "encrypted request object, and the relay has no encryption key: refused" "$(h encrypted_shape)" "400 invalid_request"
zr_check "expired: refused" "$(h expired)" "400 invalid_request"
zr_check "nbf in the future: refused" "$(h not_yet_valid)" "400 invalid_request"
zr_check "no exp: refused" "$(h no_exp)" "400 invalid_request"
zr_check "exp 2 h ahead: refused" "$(h lives_too_long)" "400 invalid_request"
zr_check "aud not the issuer: refused" "$(h wrong_aud)" "400 invalid_request"
zr_check "iss not the client: refused" "$(h wrong_iss)" "400 invalid_request"
zr_check "no jti: refused" "$(h no_jti)" "400 invalid_request"
zr_check "client_id inside differs: refused" "$(h inner_client_id_differs)" "400 invalid_request"
zr_check "request_uri inside: refused" "$(h request_uri_inside)" "400 invalid_request"
zr_check "a client without registered keys: refused" "$(h client_without_keys)" "400 invalid_request"
zr_check "no client_id outside: refused" "$(h no_outer_client_id)" "400 unknown_client"
zr_check "request and request_uri together: refused" "$(h request_and_request_uri)" "400 invalid_request"
zr_check "outer redirect_uri and response_type ignored: the login starts" "$(h outer_parameters_ignored)" "200 login"
zr_check "parameters inside checked as any: no nonce goes back to the client" "$(h inner_no_nonce)" "302 invalid_request"
zr_check "PAR with a signed request object: the login starts" "$(h par_signed_ok)" "201 200 login"
zr_check "PAR: jti replayed: invalid_request_object" "$(h par_jti_replayed)" "400 invalid_request_object"
zr_check "PAR: unsigned: invalid_request_object" "$(h par_alg_none)" "400 invalid_request_object"
zr_check "PAR: another key: invalid_request_object" "$(h par_wrong_key)" "400 invalid_request_object"
zr_check "a client that requires signed request objects, without one: error to the client" "$(h jar_only_plain)" "302 invalid_request"
zr_check "... with one: the login starts" "$(h jar_only_signed)" "200 login"
zr_check "each refusal logged with its reason" \
  "$(for r in 'already used (jti)' 'algorithm not allowed' 'signature not valid' 'encrypted request objects need oidc.encryption_keys' \
       'request object expired' 'not yet valid' 'has no exp' 'lives too long' 'aud must be the issuer' 'iss must be the client_id' \
       'needs a jti' "client_id is not the request's client_id" 'must not contain request or request_uri' \
       'need a client registered with its keys'; do grep -c "request object refused: .*$r" "$ZR_TMP/relay.log" | tr '\n' ' '; done)" \
  "2 3 3 1 1 1 1 1 1 1 1 1 1 1 "

# 5. The jti replay cache is in Redis with an expiry, and no request object,
#    code or token is in a log line.
zr_check "jti replay records expire" \
  "$(for k in $(redis-cli -p "$REDIS_PORT" --scan --pattern '*request-object:*'); do redis-cli -p "$REDIS_PORT" TTL "$k"; done | awk '$1<=0{bad++} END{print ((NR>0 && !bad) ? "yes" : "no")}')" "yes"
leaks=0
while read -r s; do
  [ -n "$s" ] && grep -qF -- "$s" "$ZR_TMP/relay.log" && { echo "a secret in the log: ${s:0:6}..." >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
zr_check "no code or token in the log" "$leaks" "0"
zr_check "no request object in the log" "$(grep -c 'eyJ' "$ZR_TMP/relay.log" || true)" "0"

zr_done
