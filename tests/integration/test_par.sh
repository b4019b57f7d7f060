#!/usr/bin/env bash
# Pushed authorization requests (RFC 9126, issue 17 §1): Authlib pushes the
# request with its client authentication and the browser carries only
# client_id and request_uri; hostile pushes and request_uri values are
# refused (par_hostile.py). Real binary, real Redis, the mock TVS.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
# A client that must use PAR (require_pushed_authorization_requests).
$PY - "$ZR_CONFIG" <<'PYEOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("\nclients:\n", """
clients:
  - client_id: par-only-portal
    care_provider: zorgaanbieder-demo
    auth_method: client_secret_basic
    client_secret: par-only-portal-secret
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
    require_pushed_authorization_requests: true
""", 1)
open(p, "w").write(s)
PYEOF
zr_start_mock_tvs
zr_start_relay
SECRETS="$ZR_TMP/secrets.txt"
HOSTILE_OUT="$ZR_TMP/hostile.txt"

# 1. Discovery (RFC 9126 §5; OIDC Discovery §3).
disco=$(curl -sf "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: pushed_authorization_request_endpoint" \
  "$(zr_json "$disco" 'd.get("pushed_authorization_request_endpoint")')" "$ISSUER/par"
zr_check "discovery: require_pushed_authorization_requests false (per client)" \
  "$(zr_json "$disco" 'd.get("require_pushed_authorization_requests")')" "False"
zr_check "discovery: request_uri supported, registration (no foreign request_uri) required" \
  "$(zr_json "$disco" '[d.get("request_uri_parameter_supported"), d.get("require_request_uri_registration")]')" "[true, true]"

# 2. Login through PAR, client_secret_basic: the browser's URL holds only
#    client_id and request_uri; a state, redirect_uri and scope added to it
#    do not count (RFC 9126 §4: only the pushed parameters).
out=$(zr_login "DigiD Substantieel" --par --par-extra state=forged --par-extra redirect_uri=https://evil.example/cb \
        --par-extra nonce=forged --secrets-out "$SECRETS")
zr_check "PAR basic: 201 with request_uri and expires_in 60" \
  "$(zr_json "$out" '[d["par_status"], d["par_response"]["request_uri"].startswith("urn:ietf:params:oauth:request_uri:"), d["par_response"]["expires_in"]]')" \
  "[201, true, 60]"
zr_check "PAR basic: answer not cached" "$(zr_json "$out" 'd.get("par_cache_control")')" "no-store"
zr_check "PAR basic: the browser carried client_id and request_uri (and the ignored extras)" \
  "$(zr_json "$out" 'd["authorize_params"]')" '["client_id", "nonce", "redirect_uri", "request_uri", "state"]'
zr_check "PAR basic: the pushed state came back, not the forged one" "$(zr_json "$out" 'd.get("state_ok")')" "True"
zr_check "PAR basic: logged in (pushed nonce verified by Authlib, bsn)" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# 3. Login through PAR, private_key_jwt with the PAR endpoint as aud.
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo --par \
  --private-key "$ZR_PKI/pgo-client.key" --kid="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")" \
  --redirect-uri http://127.0.0.1:8001/callback --identity "DigiD Substantieel" --secrets-out "$SECRETS")
zr_check "PAR private_key_jwt: pushed" "$(zr_json "$out" 'd.get("par_status")')" "201"
zr_check "PAR private_key_jwt: logged in (ES256 id token)" "$(zr_json "$out" 'd.get("id_token_alg")')" "ES256"

# 4. Hostile pushes and request_uri values.
$PY "$ZR_SOURCE_DIR/tests/integration/par_hostile.py" "$ISSUER" > "$HOSTILE_OUT"
h() { grep "^$1 " "$HOSTILE_OUT" | cut -d' ' -f2- ; }
zr_check "no client authentication: 401 invalid_client" "$(h no_client_auth)" "401 invalid_client"
zr_check "wrong secret: 401 invalid_client" "$(h wrong_secret)" "401 invalid_client"
zr_check "client_id of another client than the authenticated one: 401" "$(h other_client_id)" "401 invalid_client"
zr_check "GET is not a push" "$(h get_not_allowed | grep -cE '^(400|404|405)$')" "1"
zr_check "no nonce: refused as at /authorize" "$(h no_nonce)" '400 invalid_request "nonce is required"'
zr_check "unregistered redirect_uri: 400" "$(h unregistered_redirect_uri)" "400 invalid_request"
zr_check "PKCE plain: 400" "$(h pkce_plain)" "400 invalid_request"
zr_check "a parameter twice: 400" "$(h duplicate_parameter)" "400 invalid_request"
zr_check "a pushed request_uri: 400" "$(h request_uri_pushed)" "400 invalid_request"
zr_check "good push: 201, 60 s, our URN, no-store" "$(h push_ok)" "201 60 True no-store"
zr_check "request_uri used once: the login starts" "$(h authorize_first)" "200 login"
zr_check "request_uri replayed: refused (page)" "$(h authorize_replay)" "400 session_not_found"
zr_check "another client's request_uri: refused" "$(h other_clients_request_uri)" "400 session_not_found"
zr_check "... and it is used up for its owner too (single use)" "$(h owner_after_theft)" "400 session_not_found"
zr_check "request_uri without client_id: refused" "$(h request_uri_without_client_id)" "400 session_not_found"
zr_check "foreign https request_uri: refused, never fetched" "$(h foreign_https_request_uri)" "400 session_not_found"
zr_check "made-up URN: refused" "$(h made_up_urn)" "400 session_not_found"
zr_check "PAR-only client without PAR: error back to the client" "$(h par_only_plain)" "302 invalid_request"
zr_check "PAR-only client with PAR: the login starts" "$(h par_only_pushed)" "201 200 login"
zr_check "refusals logged with their reason" \
  "$(grep -c 'request_uri unknown, used or expired' "$ZR_TMP/relay.log") $(grep -c 'presented a request_uri pushed by another client' "$ZR_TMP/relay.log") $(grep -c 'request_uri is not one of ours' "$ZR_TMP/relay.log")" \
  "3 1 1"

# 5. Kept short (RFC 9126 §2.2) and sealed: a pushed request's key in
#    Redis expires within 60 s, and neither the request_uri nor the pushed
#    nonce/state appears in clear in Redis or in a log line.
r=$($PY - "$ISSUER" <<'PYEOF'
import base64, hashlib, secrets, sys, requests
nonce, state = "nonce-" + secrets.token_hex(12), "state-" + secrets.token_hex(12)
ch = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).rstrip(b"=").decode()
r = requests.post(sys.argv[1] + "/par", auth=("demo-portal", "demo-portal-secret"), timeout=10,
                  data={"client_id": "demo-portal", "response_type": "code", "scope": "openid", "nonce": nonce,
                        "state": state, "redirect_uri": "http://localhost:8000/callback", "code_challenge": ch,
                        "code_challenge_method": "S256"})
print(r.json()["request_uri"].rsplit(":", 1)[1], nonce, state)
PYEOF
)
printf '%s\n' $r >> "$SECRETS"
# (the one pushed for request_uri_without_client_id waits too: unused)
keys=$(redis-cli -p "$REDIS_PORT" --scan --pattern '*par:*')
zr_check "the pushed requests not used wait in Redis" "$(printf '%s\n' "$keys" | grep -c .)" "2"
short=0
for k in $keys; do ttl=$(redis-cli -p "$REDIS_PORT" TTL "$k"); [ "$ttl" -gt 0 ] && [ "$ttl" -le 60 ] && short=$((short+1)); done
zr_check "each expires within 60 s" "$short" "2"
redis-cli -p "$REDIS_PORT" --scan > "$ZR_TMP/keys.txt"
while read -r k; do redis-cli -p "$REDIS_PORT" --raw GET "$k"; done < "$ZR_TMP/keys.txt" > "$ZR_TMP/values.bin" 2>/dev/null || true
cat "$ZR_TMP/keys.txt" >> "$ZR_TMP/values.bin"
leaks=0
while read -r s; do
  [ -n "$s" ] && grep -qaF -- "$s" "$ZR_TMP/relay.log" "$ZR_TMP/values.bin" && { echo "a secret in a log or in Redis: ${s:0:6}..." >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
zr_check "no request_uri, code, token or pushed nonce/state in logs or Redis" "$leaks" "0"
zr_check "the leak search had secrets to look for (test is meaningful)" "$([ "$(grep -c . "$SECRETS")" -ge 10 ] && echo yes)" "yes"

zr_done
