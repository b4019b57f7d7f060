#!/usr/bin/env bash
# Relay behaviour at the edges: TVS metadata past its validUntil, and the
# relay serving HTTPS itself (TLS 1.2+, __Host- cookies, HSTS on every
# answer) against plain http in development (neither).
source "$(dirname "$0")/lib.sh"
zr_env_up
AUTHZ="response_type=code&client_id=demo-portal&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&scope=openid&state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&login_method=patient&nonce=n1"

# 1. A second relay whose clock is 8 days ahead: the mock's metadata (valid 7
#    days) has expired for it. New logins go back to the portal as
#    temporarily_unavailable; /readyz says why (/healthz, liveness, stays
#    200: new metadata, not a restart, fixes it); no crash.
EXP_PORT=$(zr_free_port)
sed -e "s#^listen: 127.0.0.1:$RELAY_PORT#listen: 127.0.0.1:$EXP_PORT#" \
    -e "s#^public_base_url: http://localhost:$RELAY_PORT#public_base_url: http://localhost:$EXP_PORT#" \
    "$ZR_CONFIG" > "$ZR_TMP/expired.yaml"
ZR_TEST_TIME_OFFSET=$((8*24*3600)) "$ZR_BIN" serve "$ZR_TMP/expired.yaml" >"$ZR_TMP/relay-expired.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$EXP_PORT"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "http://localhost:$EXP_PORT/authorize?$AUTHZ")
zr_check "expired metadata: portal gets temporarily_unavailable" \
  "$(echo "$loc" | grep -o 'error=temporarily_unavailable')" "error=temporarily_unavailable"
zr_check "expired metadata: state kept" "$(echo "$loc" | grep -o 'state=s1')" "state=s1"
zr_check "expired metadata: /readyz 503" \
  "$(curl -s -o "$ZR_TMP/hz.json" -w '%{http_code}' "http://localhost:$EXP_PORT/readyz")" "503"
zr_check "expired metadata: /readyz names it" "$(grep -c 'metadata' "$ZR_TMP/hz.json")" "1"
zr_check "expired metadata: /healthz (liveness) 200" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$EXP_PORT/healthz")" "200"
zr_check "expired metadata: operator log line" "$(grep -c 'TVS metadata' "$ZR_TMP/relay-expired.log" | awk '{print ($1>0)?"yes":"no"}')" "yes"
# The relay with a correct clock still logs people in.
out=$(zr_login "DigiD Substantieel")
zr_check "current metadata: login works" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# 1b. What the NL GOV profile forbids is refused at /authorize, back to the
#     portal (never dropped later): no nonce; a state or nonce outside
#     printable ASCII (%FF%FE, a control character).
NO_NONCE=${AUTHZ%&nonce=n1}
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$ISSUER/authorize?$NO_NONCE")
zr_check "no nonce: invalid_request to the portal" "$(echo "$loc" | grep -o 'error=invalid_request')" "error=invalid_request"
zr_check "no nonce: state kept" "$(echo "$loc" | grep -o 'state=s1')" "state=s1"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$ISSUER/authorize?${NO_NONCE/state=s1/state=%FF%FE}&nonce=n1")
zr_check "state %FF%FE: invalid_request" "$(echo "$loc" | grep -o 'error=invalid_request')" "error=invalid_request"
zr_check "state %FF%FE: not echoed" "$(echo "$loc" | grep -c 'state=')" "0"
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$ISSUER/authorize?$NO_NONCE&nonce=n%01")
zr_check "nonce with a control character: invalid_request" "$(echo "$loc" | grep -o 'error=invalid_request')" "error=invalid_request"

# 2. The relay serving HTTPS itself, with a mock TVS of its own (which
#    sends the browser back to this relay's https ACS).
TLS_PORT=$(zr_free_port)
TVS2_PORT=$(zr_free_port)
ART2_PORT=$(zr_free_port)
sed -e "s#^listen: 127.0.0.1:$RELAY_PORT#listen: 127.0.0.1:$TLS_PORT#" \
    -e "s#^public_base_url: http://localhost:$RELAY_PORT#public_base_url: https://localhost:$TLS_PORT#" \
    -e "s#:$TVS_PORT\\b#:$TVS2_PORT#g" -e "s#:$ART_PORT\\b#:$ART2_PORT#g" \
    -e "s#mock-tvs-metadata.xml#mock-tvs-tls-metadata.xml#g" \
    "$ZR_CONFIG" > "$ZR_TMP/tls.yaml"
printf 'tls:\n  cert: %s\n  key: %s\n' "$ZR_PKI/relay-tls-server.pem" "$ZR_PKI/relay-tls-server.key" >> "$ZR_TMP/tls.yaml"
"$ZR_BIN" mock-tvs "$ZR_TMP/tls.yaml" >"$ZR_TMP/mock-tvs-tls.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$TVS2_PORT"
zr_wait_port "$ART2_PORT"
for i in $(seq 1 50); do [ -s "$ZR_TMP/mock-tvs-tls-metadata.xml" ] && break; sleep 0.1; done
"$ZR_BIN" serve "$ZR_TMP/tls.yaml" >"$ZR_TMP/relay-tls.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$TLS_PORT"
zr_check "https: discovery over TLS" \
  "$(curl -s --cacert "$ZR_PKI/ca.pem" "https://localhost:$TLS_PORT/.well-known/openid-configuration" | $PY -c 'import json,sys; print(json.load(sys.stdin)["issuer"])')" \
  "https://localhost:$TLS_PORT"
zr_check "https: TLS 1.1 refused" \
  "$(curl -s -o /dev/null --cacert "$ZR_PKI/ca.pem" --tls-max 1.1 "https://localhost:$TLS_PORT/healthz"; echo $?)" "35"
hdr=$(curl -s -D - -o /dev/null --cacert "$ZR_PKI/ca.pem" "https://localhost:$TLS_PORT/authorize?$AUTHZ" | tr -d '\r')
zr_check "https: autopost page sent" "$(echo "$hdr" | head -1 | grep -c ' 200')" "1"
# RFC 6265bis §4.1.3.2: __Host- with Secure, Path=/ and no Domain.
zr_check "https: login cookie named __Host-zr_login_<12 hex>" \
  "$(echo "$hdr" | grep -ciE '^set-cookie: __Host-zr_login_[0-9a-f]{12}=')" "1"
cookie=$(echo "$hdr" | grep -i '^set-cookie: __Host-zr_login_' || true)
zr_check "https: login cookie Secure, HttpOnly, Path=/, no Domain" \
  "$(echo "$cookie" | grep -ci '; secure' ) $(echo "$cookie" | grep -ci '; httponly') $(echo "$cookie" | grep -c '; Path=/;') $(echo "$cookie" | grep -ci 'domain=')" \
  "1 1 1 0"
zr_check "https: no cookie without the prefix" "$(echo "$hdr" | grep -ci '^set-cookie: zr_')" "0"

# HSTS (RFC 6797) on every kind of answer of the https relay: page, JSON,
# redirect to the portal, error pages of the handlers and of the server.
hsts() {  # hsts URL [curl args] -> "STATUS HSTS-VALUE"
  local url=$1; shift
  curl -s -D - -o /dev/null --cacert "$ZR_PKI/ca.pem" "$@" "$url" | tr -d '\r' |
    awk 'NR==1 {s=$2} tolower($1)=="strict-transport-security:" {v=$2; n++} END {print s, v, n+0}'
}
TB="https://localhost:$TLS_PORT"
zr_check "https: HSTS on the autopost page" "$(hsts "$TB/authorize?$AUTHZ")" "200 max-age=31536000 1"
zr_check "https: HSTS on discovery (JSON)" "$(hsts "$TB/.well-known/openid-configuration")" "200 max-age=31536000 1"
zr_check "https: HSTS on /healthz" "$(hsts "$TB/healthz")" "200 max-age=31536000 1"
zr_check "https: HSTS on an error redirect to the portal" \
  "$(hsts "$TB/authorize?${AUTHZ/scope=openid/scope=profile}")" "302 max-age=31536000 1"
zr_check "https: HSTS on the ACS error page" "$(hsts "$TB/saml/acs")" "400 max-age=31536000 1"
zr_check "https: HSTS on the server's own 404" "$(hsts "$TB/nowhere")" "404 max-age=31536000 1"
zr_check "https: HSTS on the server's own 405" "$(hsts "$TB/token")" "405 max-age=31536000 1"
zr_check "https: HSTS on a /token error (JSON)" "$(hsts "$TB/token" -d grant_type=x)" "401 max-age=31536000 1"

# A whole login through the https relay, the __Host- cookie round trip
# included; an intruder with the RelayState is refused there too.
out=$(REQUESTS_CA_BUNDLE="$ZR_PKI/ca.pem" ISSUER="$TB" zr_login "DigiD Substantieel" --intruder-first || true)
zr_check "https: intruder with a forged __Host- cookie refused" \
  "$(zr_json "$out" '(d["intruders"][1]["forged_cookies"], d["intruders"][1]["status"])')" "(1, 400)"
zr_check "https: login completes (cookie set and read under the same name)" \
  "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# Development over plain http: no HSTS, the plain cookie name.
hdr=$(curl -s -D - -o /dev/null "$ISSUER/authorize?$AUTHZ" | tr -d '\r')
zr_check "http: login cookie keeps the plain name, not Secure" \
  "$(echo "$hdr" | grep -ciE '^set-cookie: zr_login_[0-9a-f]{12}=') $(echo "$hdr" | grep -i '^set-cookie:' | grep -ci 'secure')" "1 0"
zr_check "http: no HSTS" \
  "$(for u in "/authorize?$AUTHZ" /.well-known/openid-configuration /nowhere; do curl -s -D - -o /dev/null "$ISSUER$u"; done | grep -ci '^strict-transport-security')" "0"

zr_done
