#!/usr/bin/env bash
# Logout (issue 5), end to end against the real binary: a patient logs in
# (Authlib as the portal), then RP-initiated logout with id_token_hint,
# post_logout_redirect_uri and state -> relay -> signed LogoutRequest to the
# mock TVS -> signed LogoutResponse back -> portal, with the state. The
# portal's back-channel endpoint gets a Logout Token that Authlib verifies
# against /jwks. Refusals, a repeated logout, a professional's logout, and
# no token, BSN or NameID in any log.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
BC_PORT=$(zr_free_port)
# The demo portal registers a back-channel logout URI (http on loopback:
# allowed outside production).
awk -v bc="http://127.0.0.1:$BC_PORT/backchannel" '
{ print }
/^      - http:\/\/localhost:8000\/$/ && !done {
  print "    backchannel_logout_uri: " bc
  print "    backchannel_logout_session_required: true"
  done = 1
}' "$ZR_CONFIG" > "$ZR_TMP/logout.yaml"
ZR_CONFIG="$ZR_TMP/logout.yaml"
$PY "$ZR_SOURCE_DIR/tests/integration/logout.py" receiver --port "$BC_PORT" --out "$ZR_TMP/backchannel.jsonl" \
  >"$ZR_TMP/receiver.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$BC_PORT"
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}
zr_start_mock_dezi
zr_start_relay
SECRETS="$ZR_TMP/secrets.txt"
PORTAL=http://localhost:8000/

logout() { $PY "$ZR_SOURCE_DIR/tests/integration/logout.py" logout --issuer "$ISSUER" "$@"; }
bc_count() { [ -f "$ZR_TMP/backchannel.jsonl" ] && wc -l < "$ZR_TMP/backchannel.jsonl" | tr -d ' ' || echo 0; }

# --- discovery
disco=$(curl -s "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: end_session_endpoint" "$(zr_json "$disco" 'd.get("end_session_endpoint")')" "$ISSUER/logout"
zr_check "discovery: back-channel logout with sid" \
  "$(zr_json "$disco" '[d.get("backchannel_logout_supported"), d.get("backchannel_logout_session_supported")]')" \
  "[true, true]"
zr_check "SP metadata: SingleLogoutService (HTTP-POST)" \
  "$(curl -s "$ISSUER/saml/metadata" | grep -c "SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST\" Location=\"$ISSUER/saml/slo\"")" "1"

# --- 1. a patient logs in; the ID token carries sid
out=$(zr_login "DigiD Substantieel" --secrets-out "$SECRETS")
SID=$(zr_json "$out" 'd["claims"].get("sid", "")')
SUB=$(zr_json "$out" 'd["claims"]["sub"]')
zr_check "login: ID token has a sid" "$([ ${#SID} -ge 40 ] && echo yes)" "yes"
HINT=$(sed -n 3p "$SECRETS")

# --- 2. an unregistered post_logout_redirect_uri is refused, nothing ended
r=$(logout --id-token-hint "$HINT" --post-logout-redirect-uri "http://localhost:8000/elsewhere" --state s1)
zr_check "unregistered redirect: refused with a page" "$(zr_json "$r" '[d["status"], d.get("back_to_portal", False), d.get("saml_request", False)]')" "[400, false, false]"
zr_check "unregistered redirect: the page says why" "$(zr_json "$r" '"Onbekend terugkeeradres" in d["page"]')" "True"
zr_check "unregistered redirect: no back-channel call" "$(bc_count)" "0"

# --- 3. the real logout: relay -> TVS -> relay -> portal, with the state
STATE="st-$RANDOM-x y&z"
r=$(logout --id-token-hint "$HINT" --post-logout-redirect-uri "$PORTAL" --state "$STATE")
zr_check "logout: LogoutRequest auto-POSTed to TVS" "$(zr_json "$r" 'd.get("saml_request", False)')" "True"
zr_check "logout: LogoutResponse auto-POSTed back" "$(zr_json "$r" 'd.get("saml_response", False)')" "True"
zr_check "logout: back at the portal" "$(zr_json "$r" 'd.get("back_to_portal", False)')" "True"
zr_check "logout: state passed back unchanged" "$(zr_json "$r" 'd.get("state")')" "$STATE"
zr_check "mock TVS: signed request accepted, session known" \
  "$(grep -c 'logout request=.* result=Success' "$ZR_TMP/mock-tvs.log")" "1"
zr_check "relay: LogoutResponse validated" "$(grep -c 'slo .*result=ok' "$ZR_TMP/relay.log")" "1"

# --- 4. the back-channel Logout Token, verified by Authlib against /jwks
zr_check "back-channel: one logout token delivered" "$(bc_count)" "1"
LT=$(zr_json "$(sed -n 1p "$ZR_TMP/backchannel.jsonl")" 'd["logout_token"]')
echo "$LT" >> "$SECRETS"
v=$($PY "$ZR_SOURCE_DIR/tests/integration/logout.py" verify-token --issuer "$ISSUER" --token "$LT" --client-id demo-portal)
zr_check "logout token: typ logout+jwt" "$(zr_json "$v" 'd["header"].get("typ")')" "logout+jwt"
zr_check "logout token: sid of the session" "$(zr_json "$v" 'd["claims"].get("sid")')" "$SID"
zr_check "logout token: sub of the ID token" "$(zr_json "$v" 'd["claims"].get("sub")')" "$SUB"
zr_check "logout token: aud the portal" "$(zr_json "$v" 'd["claims"].get("aud")')" "demo-portal"
zr_check "logout token: the back-channel event" \
  "$(zr_json "$v" 'd["claims"].get("events")')" '{"http://schemas.openid.net/event/backchannel-logout": {}}'
zr_check "logout token: iat, exp, jti; no nonce" \
  "$(zr_json "$v" '[k in d["claims"] for k in ("iat", "exp", "jti", "nonce")]')" "[true, true, true, false]"
zr_check "back-channel: form-encoded POST to the registered path" \
  "$(zr_json "$(sed -n 1p "$ZR_TMP/backchannel.jsonl")" '[d["content_type"], d["path"]]')" \
  '["application/x-www-form-urlencoded", "/backchannel"]'

# --- 5. the same logout again: harmless (back to the portal, nothing sent)
r=$(logout --id-token-hint "$HINT" --post-logout-redirect-uri "$PORTAL" --state again --method POST)
zr_check "second logout: straight back to the portal" \
  "$(zr_json "$r" '[d.get("back_to_portal", False), d.get("saml_request", False), d.get("state")]')" '[true, false, "again"]'
zr_check "second logout: no second logout token" "$(bc_count)" "1"
zr_check "second logout: TVS not asked again" "$(grep -c 'logout request=' "$ZR_TMP/mock-tvs.log")" "1"

# --- 6. without a redirect: our page (Dutch, English by ui_locales)
r=$(logout --id-token-hint "$HINT")
zr_check "no redirect: logged-out page" "$(zr_json "$r" '[d["status"], "U bent uitgelogd" in d["page"]]')" "[200, true]"
r=$(logout --id-token-hint "$HINT" --ui-locales "en-GB nl")
zr_check "ui_locales en: English page" "$(zr_json "$r" '"You are logged out" in d["page"]')" "True"

# --- 7. bad input: clear pages, never a crash
r=$(logout --id-token-hint "not.a.token" --post-logout-redirect-uri "$PORTAL")
zr_check "garbage hint: refused" "$(zr_json "$r" '[d["status"], d.get("back_to_portal", False)]')" "[400, false]"
BAD_SIG_HINT="${HINT%.*}.$(printf 'AAAA')"
r=$(logout --id-token-hint "$BAD_SIG_HINT")
zr_check "hint with a broken signature: refused" "$(zr_json "$r" 'd["status"]')" "400"
r=$(logout --id-token-hint "$HINT" --client-id demo-pgo)
zr_check "client_id other than the hint's audience: refused" "$(zr_json "$r" 'd["status"]')" "400"
r=$(logout --client-id nobody --post-logout-redirect-uri "$PORTAL")
zr_check "unknown client_id: refused" "$(zr_json "$r" 'd["status"]')" "400"
r=$(logout --client-id demo-portal --post-logout-redirect-uri "$PORTAL" --state nohint)
zr_check "client_id + registered redirect without hint: back to the portal" \
  "$(zr_json "$r" '[d.get("back_to_portal", False), d.get("state")]')" '[true, "nohint"]'
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'SAMLResponse=PHg%2BPC94Pg%3D%3D&RelayState=nothing' "$ISSUER/saml/slo")
zr_check "forged LogoutResponse for an unknown RelayState: refused" "$code" "400"
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -d 'SAMLRequest=PHg%2BPC94Pg%3D%3D' "$ISSUER/saml/slo")
zr_check "a LogoutRequest from TVS (never sent by TVS): refused" "$code" "400"
code=$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/logout?state=a&state=b")
zr_check "repeated parameter: refused" "$code" "400"

# --- 8. TVS does not know the session (the mock restarted and forgot it):
# a Responder status, a clear page; the relay's own session is ended all the same
out=$(zr_login "DigiD Substantieel" --secrets-out "$SECRETS")
HINT2=$(tail -n 2 "$SECRETS" | head -1)
kill "$MOCK_PID"; wait "$MOCK_PID" 2>/dev/null || true
mv "$ZR_TMP/mock-tvs.log" "$ZR_TMP/mock-tvs-first.log" # kept for the leak check below
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}
r=$(logout --id-token-hint "$HINT2" --post-logout-redirect-uri "$PORTAL" --state forgotten)
zr_check "unknown session at TVS: through TVS, not back to the portal" \
  "$(zr_json "$r" '[d.get("saml_request", False), d.get("saml_response", False), d.get("back_to_portal", False)]')" \
  "[true, true, false]"
zr_check "unknown session at TVS: a clear page" \
  "$(zr_json "$r" '[d["status"], "Uitloggen bij de inlogdienst niet gelukt" in d["page"]]')" "[502, true]"
zr_check "mock TVS: Responder / UnknownPrincipal" "$(grep -c 'result=UnknownPrincipal' "$ZR_TMP/mock-tvs.log")" "1"
zr_check "relay: the status is logged" "$(grep -c 'slo .*result=status_error: .*Responder' "$ZR_TMP/relay.log")" "1"
zr_check "unknown session at TVS: back-channel still told" "$(bc_count)" "2"

# --- 9. a professional's logout: no SAML, back-channel all the same
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-portal \
  --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback --identity "(01.015)" \
  --login-method professional --secrets-out "$SECRETS")
PRO_SID=$(zr_json "$out" 'd["claims"].get("sid", "")')
zr_check "professional: ID token has a sid" "$([ ${#PRO_SID} -ge 40 ] && echo yes)" "yes"
PRO_HINT=$(tail -n 2 "$SECRETS" | head -1)
r=$(logout --id-token-hint "$PRO_HINT" --post-logout-redirect-uri "$PORTAL" --state pro)
zr_check "professional logout: back to the portal without TVS" \
  "$(zr_json "$r" '[d.get("back_to_portal", False), d.get("saml_request", False), d.get("state")]')" '[true, false, "pro"]'
zr_check "professional logout: a third logout token" "$(bc_count)" "3"
LT2=$(zr_json "$(sed -n 3p "$ZR_TMP/backchannel.jsonl")" 'd["logout_token"]')
echo "$LT2" >> "$SECRETS"
v=$($PY "$ZR_SOURCE_DIR/tests/integration/logout.py" verify-token --issuer "$ISSUER" --token "$LT2" --client-id demo-portal)
zr_check "professional logout token: its sid" "$(zr_json "$v" 'd["claims"].get("sid")')" "$PRO_SID"

# --- 10. nothing secret in any log
leaks=0
for bsn in 999990019 999990020 999990044 999990056; do
  grep -q "$bsn" "$ZR_TMP"/*.log && { echo "BSN $bsn in a log" >&2; leaks=$((leaks+1)); }
done
while read -r s; do
  [ -n "$s" ] && grep -qF -- "$s" "$ZR_TMP"/*.log && { echo "a code/token in a log" >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
for s in "$SID" "$PRO_SID"; do
  grep -qF -- "$s" "$ZR_TMP"/*.log && { echo "a sid in a log" >&2; leaks=$((leaks+1)); }
done
zr_check "no BSN, code, token or sid in the logs" "$leaks" "0"
zr_done
