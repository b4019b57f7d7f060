#!/usr/bin/env bash
# Issue 15 §2, end to end against the real binary: the subject a care
# provider's PDP can decide on. Per client `authzen.patient_id`: the BSN (an
# entitled care provider, https only, never to the portal), the care
# provider's keyed pseudonym (the same at each of its portals, computable by
# its PDP with the key `tenants pseudonym-key` gives), or the portal's
# pairwise sub. Every request names the care provider (URA, OIN, entityID),
# the ServiceUUID and LoA, carries an X-Request-ID the relay logs and checks
# in the answer; `evaluations: per_role` asks one decision per mapped role of
# a professional in one Access Evaluations call and keeps the permitted ones.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
PDP_PORT=$(zr_free_port)
TLS_PORT=$(zr_free_port)
PDP_LOG="$ZR_TMP/pdp-requests.jsonl"
touch "$PDP_LOG"
echo permit > "$ZR_TMP/pdp-mode"
$PY "$ZR_SOURCE_DIR/tests/integration/pdp_server.py" "$PDP_PORT" "$ZR_TMP/pdp-mode" "$PDP_LOG" \
  >>"$ZR_TMP/pdp.log" 2>&1 &
ZR_PIDS+=("$!")
$PY "$ZR_SOURCE_DIR/tests/integration/pdp_server.py" "$TLS_PORT" "$ZR_TMP/pdp-mode" "$PDP_LOG" \
  --tls "$ZR_PKI/relay-tls-server.pem" "$ZR_PKI/relay-tls-server.key" >>"$ZR_TMP/pdp.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$PDP_PORT"
zr_wait_port "$TLS_PORT"

URA=87654321
SERVICE_UUID=7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50
# The demo care provider gets its URA and is entitled to the BSN; five portals.
awk -v pdp="http://127.0.0.1:$PDP_PORT" -v tls="https://localhost:$TLS_PORT" -v pki="$ZR_PKI" -v ura="$URA" '
function portal(id, choice, url, extra) {
  print "  - client_id: " id
  print "    care_provider: zorgaanbieder-demo"
  print "    auth_method: client_secret_basic"
  print "    client_secret: " id "-secret"
  print "    redirect_uris: [http://localhost:8000/callback]"
  print "    min_loa: substantial"
  print "    bsn_entitled: false"
  if (extra) {
    print "    login_methods: [patient, professional]"
    print "    role_rules:"
    print "      - rol_code: \"01.015\""
    print "        roles: [arts, huisarts]"
  }
  print "    authzen:"
  print "      pdp: " url
  print "      timeout_ms: 5000"
  print "      patient_id: " choice
  if (url ~ /^https/) print "      tls_ca: " pki "/ca.pem"
  if (extra) print "      evaluations: per_role"
}
/^    # ura: "12345678"$/ { print "    ura: \"" ura "\""; print "    bsn_for_authorization: true"; next }
/^  - client_id: demo-pgo$/ {
  portal("bsn-portal", "bsn", tls, 0)
  portal("cp-one", "care_provider_pseudonym", pdp, 0)
  portal("cp-two", "care_provider_pseudonym", pdp, 0)
  portal("sub-portal", "pairwise_sub", pdp, 0)
  portal("role-portal", "pairwise_sub", pdp, 1)
}
{ print }' "$ZR_CONFIG" > "$ZR_TMP/authz.yaml"
ZR_CONFIG="$ZR_TMP/authz.yaml"
zr_check "the test configuration entitles the demo care provider" \
  "$(grep -c 'bsn_for_authorization: true' "$ZR_CONFIG")" "1"
zr_start_mock_tvs
zr_start_mock_dezi
zr_start_relay

login() {
  local client=$1 identity=$2; shift 2
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$client-secret" --redirect-uri http://localhost:8000/callback --identity "$identity" "$@"
}
pdp_calls() { wc -l < "$PDP_LOG"; }
last_request() { tail -1 "$PDP_LOG"; }
ADL="$ZR_TMP/decision-log.jsonl"
last_record() { tail -1 "$ADL"; }
# What every patient request must carry: the care provider, ServiceUUID, LoA.
CONTEXT='(lambda b: [b["resource"]["type"], b["resource"]["id"], b["resource"]["properties"]["care_provider"]["ura"],
  b["resource"]["properties"]["care_provider"]["oin"], b["resource"]["properties"]["care_provider"]["entity_id"],
  b["subject"]["properties"]["service_uuid"], b["subject"]["properties"]["loa"]])(d["body"])'
context_of() { echo "[\"urn:nl-zorgrelay:1.0:resource:oidc-client\", \"$1\", \"$URA\", \"00000009999999999001\", \"urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000\", \"$SERVICE_UUID\", \"http://eidas.europa.eu/LoA/substantial\"]"; }

# --- 1. patient_id: bsn: over TLS, both persons by BSN; the portal (not
# entitled) gets no BSN, and a PDP reason naming it never reaches the portal.
calls=$(pdp_calls)
out=$(login bsn-portal "Ouder voor kind")
req=$(last_request)
zr_check "bsn: PDP asked once over https, both persons by BSN" \
  "$(( $(pdp_calls) - calls )) $(zr_json "$req" '[d["body"]["subject"]["type"], d["body"]["subject"]["id"],
     d["body"]["subject"]["properties"]["representation"]["represented"]["type"],
     d["body"]["subject"]["properties"]["representation"]["represented"]["id"]]')" \
  '1 ["http://fhir.nl/fhir/NamingSystem/bsn", "999990044", "http://fhir.nl/fhir/NamingSystem/bsn", "999990056"]'
zr_check "bsn: the request names the care provider, the ServiceUUID and the LoA" \
  "$(zr_json "$req" "$CONTEXT")" "$(context_of bsn-portal)"
zr_check "bsn: the portal is not entitled: no BSN in its tokens" \
  "$(grep -c -e 999990044 -e 999990056 <<<"$out" || true)" "0"
# ADL 1.0 §body: the record holds the request as sent, each BSN replaced by
# its keyed hash (two persons, two hashes), and the PDP's answer.
zr_check "bsn: the record's adl.core.request is the request sent, the BSNs hashed; its X-Request-ID" \
  "$($PY - "$req" "$(last_record)" <<'PYEOF'
import json, sys
call, rec = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sent, logged = call["body"], rec["body"]["adl.core.request"]
ids = [logged["subject"]["id"], logged["subject"]["properties"]["representation"]["represented"]["id"]]
sent["subject"]["id"] = ids[0]
sent["subject"]["properties"]["representation"]["represented"]["id"] = ids[1]
print(logged == sent, [i.startswith("hmac-sha256:") for i in ids], ids[0] != ids[1],
      rec["body"]["adl.core.response"], rec["attributes"]["zorgrelay.authz.request_id"] == call["request_id"],
      rec["event_name"])
PYEOF
)" "True [True, True] True {'decision': True} True adl.access_evaluation"
echo deny-naming-subject > "$ZR_TMP/pdp-mode"
out=$(login bsn-portal "Patient, DigiD Substantieel" || true)
zr_check "bsn: a deny whose reason names the BSN: access_denied, the BSN not passed on" \
  "$(zr_json "$out" 'd.get("oauth_error")') $(grep -c 999990019 <<<"$out" || true)" "access_denied 0"
zr_check "bsn: the dropped reason is logged" "$(grep -c 'authz.reason .*the PDP.s reason names a BSN' "$ZR_TMP/relay.log")" "1"
echo permit > "$ZR_TMP/pdp-mode"

# --- 2. care_provider_pseudonym: the same at both portals of the provider,
# what its PDP computes with the key `tenants pseudonym-key` gives it.
calls=$(pdp_calls)
out=$(login cp-one "Ouder voor kind")
one=$(last_request)
out2=$(login cp-two "Ouder voor kind")
two=$(last_request)
zr_check "pseudonym: two portals, two PDP calls, two logins" \
  "$(( $(pdp_calls) - calls )) $(zr_json "$out" '"represents" in d["claims"]') $(zr_json "$out2" '"represents" in d["claims"]')" \
  "2 True True"
zr_check "pseudonym: type, and the same ids at both portals of the care provider" \
  "$(zr_json "$(printf '{"a":%s,"b":%s}' "$one" "$two")" '[d["a"]["body"]["subject"]["type"],
     d["a"]["body"]["subject"]["id"] == d["b"]["body"]["subject"]["id"],
     d["a"]["body"]["subject"]["properties"]["representation"]["represented"]["id"] ==
     d["b"]["body"]["subject"]["properties"]["representation"]["represented"]["id"],
     d["a"]["body"]["subject"]["id"] != d["a"]["body"]["subject"]["properties"]["representation"]["represented"]["id"]]')" \
  '["urn:nl-zorgrelay:1.0:id:care-provider-pseudonym", true, true, true]'
zr_check "pseudonym: the request names the care provider, the ServiceUUID and the LoA" \
  "$(zr_json "$one" "$CONTEXT")" "$(context_of cp-one)"
zr_check "pseudonym: no BSN in the request" "$(grep -c -e 999990044 -e 999990056 <<<"$one$two" || true)" "0"
"$ZR_BIN" tenants pseudonym-key zorgaanbieder-demo --config "$ZR_CONFIG" -o "$ZR_TMP/cp.key" 2>"$ZR_TMP/key.err"
zr_check "pseudonym-key: a new file of mode 600" "$(stat -c %a "$ZR_TMP/cp.key")" "600"
zr_check "pseudonym-key: the PDP computes the patient's pseudonym from the BSN" \
  "$($PY -c 'import base64,hashlib,hmac,json,sys
k = bytes.fromhex(open(sys.argv[1]).read().strip())
p = lambda bsn: base64.urlsafe_b64encode(hmac.new(k, bsn.encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
s = json.loads(sys.argv[2])["body"]["subject"]
print(s["id"] == p("999990044"), s["properties"]["representation"]["represented"]["id"] == p("999990056"))' \
    "$ZR_TMP/cp.key" "$one")" "True True"
"$ZR_BIN" tenants pseudonym-key zorgaanbieder-demo --config "$ZR_CONFIG" -o "$ZR_TMP/cp.key" 2>"$ZR_TMP/key.err" \
  && rc=0 || rc=$?
zr_check "pseudonym-key: never overwrites a file" "$rc $(grep -c 'must not exist yet' "$ZR_TMP/key.err")" "1 1"
"$ZR_BIN" tenants pseudonym-key nobody --config "$ZR_CONFIG" -o "$ZR_TMP/nobody.key" 2>"$ZR_TMP/key.err" \
  && rc=0 || rc=$?
zr_check "pseudonym-key: an unknown care provider" "$rc $(cat "$ZR_TMP/key.err") $( [ -e "$ZR_TMP/nobody.key" ] && echo file || echo none)" \
  "1 nobody: no care provider has this id none"

# --- 3. pairwise_sub: the portal's own sub.
out=$(login sub-portal "Patient, DigiD Substantieel")
req=$(last_request)
zr_check "pairwise_sub: the PDP gets the ID token's sub" \
  "$(zr_json "$(printf '{"r":%s,"o":%s}' "$req" "$out")" '[d["r"]["body"]["subject"]["type"], d["r"]["body"]["subject"]["id"] == d["o"]["claims"]["sub"]]')" \
  '["urn:nl-eid-gdi:1.0:id:pseudonym", true]'
zr_check "pairwise_sub: the request names the care provider, the ServiceUUID and the LoA" \
  "$(zr_json "$req" "$CONTEXT")" "$(context_of sub-portal)"

# --- 4. X-Request-ID: a fresh UUID per call, logged with the trace; an
# answer under another id is no decision.
zr_check "X-Request-ID: every call has its own, a UUID v4" \
  "$($PY -c 'import json,re,sys
ids = [json.loads(l)["request_id"] for l in open(sys.argv[1])]
print(len(ids) > 0, len(set(ids)) == len(ids), all(re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", i or "") for i in ids))' "$PDP_LOG")" \
  "True True True"
rid=$(zr_json "$req" 'd["request_id"]')
trace=$(zr_json "$req" 'd["traceparent"].split("-")[1]')
zr_check "X-Request-ID: in the relay's authz.evaluate line, with the login's trace" \
  "$(grep -c "authz.evaluate .*client=sub-portal trace=$trace request_id=$rid .*result=permit" "$ZR_TMP/relay.log")" "1"
echo wrong-request-id > "$ZR_TMP/pdp-mode"
out=$(login sub-portal "Patient, DigiD Substantieel" || true)
zr_check "X-Request-ID: an answer under another id: fail closed" "$(zr_json "$out" 'd.get("oauth_error")')" \
  "temporarily_unavailable"
zr_check "X-Request-ID: logged as such" \
  "$(grep -c "authz.evaluate .*client=sub-portal .*result=error reason=\"pdp: the answer's X-Request-ID is not this request's\"" "$ZR_TMP/relay.log")" "1"

# --- 5. evaluations: per_role: one Access Evaluations call, one evaluation
# per mapped role; the professional keeps the permitted roles only.
echo "roles arts" > "$ZR_TMP/pdp-mode"
calls=$(pdp_calls)
out=$(login role-portal "(01.015)" --login-method professional)
req=$(last_request)
zr_check "per_role: one call to the evaluations endpoint, an evaluation per role, execute_all" \
  "$(( $(pdp_calls) - calls )) $(zr_json "$req" '[d["path"], [e["action"]["properties"]["role"] for e in d["body"]["evaluations"]],
     d["body"]["options"]["evaluations_semantic"], d["body"]["subject"]["type"]]')" \
  '1 ["/access/v1/evaluations", ["arts", "huisarts"], "execute_all", "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers"]'
zr_check "per_role: the token carries the permitted role only" "$(zr_json "$out" 'd["claims"]["roles"]')" '["arts"]'
zr_check "per_role: one decision-log record, adl.access_evaluations, both answers in it" \
  "$(zr_json "$(last_record)" '[d["event_name"], d["status"], d["body"]["adl.core.response"],
     len(d["body"]["adl.core.request"]["evaluations"])]')" \
  '["adl.access_evaluations", "Ok", {"evaluations": [{"decision": true}, {"decision": false}]}, 2]'
echo "roles nobody" > "$ZR_TMP/pdp-mode"
out=$(login role-portal "(01.015)" --login-method professional || true)
zr_check "per_role: no role permitted: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
echo "roles arts,huisarts" > "$ZR_TMP/pdp-mode"
out=$(login role-portal "(01.015)" --login-method professional)
zr_check "per_role: both permitted: both roles" "$(zr_json "$out" 'd["claims"]["roles"]')" '["arts", "huisarts"]'
calls=$(pdp_calls)
out=$(login role-portal "Patient, DigiD Substantieel" --login-method patient)
zr_check "per_role: a patient (no roles) is one evaluation" \
  "$(( $(pdp_calls) - calls )) $(zr_json "$(last_request)" 'd["path"]')" "1 /access/v1/evaluation"

# --- 6. Configuration: a BSN for a care provider that is not entitled, or
# without its URA, is refused with FILE:LINE.
sed -e 's/^    bsn_for_authorization: true$/    bsn_for_authorization: false/' "$ZR_CONFIG" > "$ZR_TMP/not-entitled.yaml"
"$ZR_BIN" check-config "$ZR_TMP/not-entitled.yaml" >"$ZR_TMP/check.out" 2>&1 && rc=0 || rc=$?
zr_check "config: bsn for a care provider that is not entitled: refused at the client's patient_id" \
  "$rc $(grep -c "not-entitled.yaml:[0-9]*: clients\[1\].authzen.patient_id: bsn needs care provider 'zorgaanbieder-demo' to be entitled" "$ZR_TMP/check.out")" "1 1"
sed -e "/^    ura: \"$URA\"$/d" "$ZR_CONFIG" > "$ZR_TMP/no-ura.yaml"
"$ZR_BIN" check-config "$ZR_TMP/no-ura.yaml" >"$ZR_TMP/check.out" 2>&1 && rc=0 || rc=$?
zr_check "config: bsn_for_authorization without a URA: refused" \
  "$rc $(grep -c 'no-ura.yaml:[0-9]*: care_providers\[0\].bsn_for_authorization: needs the care provider.s ura' "$ZR_TMP/check.out")" "1 1"

# --- 7. No BSN in clear in the relay's log or the decision log.
zr_check "no BSN in the relay log" \
  "$(grep -c -e 999990044 -e 999990056 -e 999990019 "$ZR_TMP/relay.log" || true)" "0"
zr_done
