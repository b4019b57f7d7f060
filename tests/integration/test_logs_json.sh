#!/usr/bin/env bash
# Logs a log shipper can read (issue 16 §3), against the real binary:
# log_format: json for the relay, the mock TVS and the mock Dezi through real
# logins (patient, representation, professional, a cancellation, a failed
# authentication, a PDP's deny, a logout): every stderr line one JSON object
# whose fields are the message's own (logs_check.py), the login reference and
# trace id as fields. The audit stream (audit_log): a 0600 file, one record
# per event, people only as keyed pseudonyms (recomputed here from the
# configured key), and no BSN, Dezi number or URA in any form in any log.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
PDP_PORT=$(zr_free_port)
echo deny > "$ZR_TMP/pdp-mode"
$PY "$ZR_SOURCE_DIR/tests/integration/pdp_server.py" "$PDP_PORT" "$ZR_TMP/pdp-mode" "$ZR_TMP/pdp-requests.jsonl" \
  >"$ZR_TMP/pdp.out" 2>&1 &
ZR_PIDS+=("$!")
# A professionals-only portal whose PDP denies, for the refused record.
awk -v pdp="http://127.0.0.1:$PDP_PORT" '
/^  - client_id: demo-pgo$/ {
  print "  - client_id: pdp-portal"
  print "    auth_method: client_secret_basic"
  print "    client_secret: pdp-portal-secret"
  print "    redirect_uris: [http://localhost:8000/callback]"
  print "    login_methods: [professional]"
  print "    role_rules:"
  print "      - rol_code: \"*\""
  print "        roles: [medewerker]"
  print "    authzen:"
  print "      pdp: " pdp
  print "      timeout_ms: 5000"
}
{ print }' "$ZR_CONFIG" > "$ZR_TMP/logs.yaml"
AUDIT_KEY=$($PY -c 'import secrets; print(secrets.token_hex(32))')
printf '%s\n' "$AUDIT_KEY" > "$ZR_TMP/audit.key"
chmod 600 "$ZR_TMP/audit.key"
printf '\nlog_format: json\npid_file: %s\naudit_log:\n  file: %s\n  subject_key_file: %s\n' "$ZR_TMP/relay.pid" \
  "$ZR_TMP/audit.jsonl" "$ZR_TMP/audit.key" >> "$ZR_TMP/logs.yaml"
ZR_CONFIG="$ZR_TMP/logs.yaml"
zr_wait_port "$PDP_PORT"
zr_start_mock_tvs
zr_start_mock_dezi
zr_start_relay
AUDIT="$ZR_TMP/audit.jsonl"

# login CLIENT IDENTITY [args]: JSON of the login on stdout
login() {
  local client=$1 identity=$2; shift 2
  local secret=$client-secret
  [ "$client" = demo-portal ] && secret=demo-portal-secret
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity "$identity" "$@"
}
# audit 'python expression on records (a list of dicts)' [ARG...]: ARGs are
# sys.argv[2:]
audit() {
  local expr=$1; shift
  $PY -c "import json,sys; records=[json.loads(l) for l in open(sys.argv[1])]; v=($expr); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))" "$AUDIT" "$@"
}
# pseudonym VALUE: what the audit stream must show for VALUE under the key
pseudonym() {
  $PY -c 'import base64,hashlib,hmac,sys; k=bytes.fromhex(sys.argv[1]); m=hmac.new(k, sys.argv[2].encode(), hashlib.sha256).digest(); print("hmac-sha256:" + base64.urlsafe_b64encode(m).rstrip(b"=").decode())' "$AUDIT_KEY" "$1"
}

# --- 1. logins of every kind, and refusals
patient=$(login demo-portal "DigiD Substantieel" --secrets-out "$ZR_TMP/patient.secrets")
zr_check "patient login: bsn" "$(zr_json "$patient" 'd["claims"].get("bsn")')" "999990019"
repr=$(login demo-portal "Ouder voor kind")
zr_check "representation: represents" "$(zr_json "$repr" 'd["claims"]["represents"].get("bsn")')" "999990056"
pro=$(login demo-portal "(01.015)" --method professional)
zr_check "professional login: rol_code" "$(zr_json "$pro" 'd["claims"].get("rol_code")')" "01.015"
DEZI_NUMMER=$(zr_json "$pro" 'd["claims"]["dezi_nummer"]')
URA=$(zr_json "$pro" 'd["claims"]["ura"]')
out=$(login demo-portal "Annuleren")
zr_check "cancel: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
out=$(login demo-portal "AuthnFailed")
zr_check "authentication failed: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
out=$(login pdp-portal "(01.015)" --method professional || true)
zr_check "PDP deny: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
HINT=$(sed -n 3p "$ZR_TMP/patient.secrets")
r=$($PY "$ZR_SOURCE_DIR/tests/integration/logout.py" logout --issuer "$ISSUER" --id-token-hint "$HINT" \
  --post-logout-redirect-uri http://localhost:8000/ --state s1)
zr_check "logout: back at the portal" "$(zr_json "$r" 'd.get("back_to_portal", False)')" "True"

# --- 2. the operator logs: every line JSON, the fields the message's own
for svc in relay:relay mock-tvs:mock-tvs mock-dezi:mock-dezi; do
  comp=${svc%%:*} file=$ZR_TMP/${svc##*:}.log
  zr_check "$comp: every line is a JSON object with its fields (logs_check.py)" \
    "$($PY "$ZR_SOURCE_DIR/tests/integration/logs_check.py" "$comp" "$file" >&2; echo $?)" "0"
done
# rl 'python expression on lines (the relay log's objects)'
rl() {
  $PY -c "import json,sys; lines=[json.loads(l) for l in open(sys.argv[1])]; v=($1); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))" "$ZR_TMP/relay.log"
}
zr_check "relay log: enough lines to mean something" "$(rl 'len(lines) >= 30')" "True"
zr_check "the patient logins' acs lines: login, client, tenant, trace, loa, subject as fields" \
  "$(rl 'sorted(set(tuple(sorted(k for k in ("login","client","tenant","trace","loa","representation","subject","result") if k in l)) for l in lines if l["event"] == "acs" and l.get("result") == "ok"))')" \
  '[["client", "loa", "login", "representation", "result", "subject", "tenant", "trace"]]'
zr_check "two patient logins ok in the log" "$(rl 'sum(1 for l in lines if l["event"] == "acs" and l.get("result") == "ok")')" "2"
zr_check "the refused ACS lines: result, ref, trace and login as fields" \
  "$(rl 'sorted((l["level"], l["result"], len(l["ref"]) > 0, len(l["trace"]), l["login"][:2]) for l in lines if l["event"] == "acs" and l.get("result", "ok") != "ok")')" \
  '[["info", "cancelled", true, 32, "k:"], ["warn", "authn_failed", true, 32, "k:"]]'
zr_check "the PDP's deny: client, trace, ref as fields" \
  "$(rl '[(l["client"], len(l["trace"]), bool(l["ref"])) for l in lines if l["event"] == "authz" and "denied" in l["message"]]')" \
  '[["pdp-portal", 32, true]]'
zr_check "every HTTP line: method, path, status, ref as fields" \
  "$(rl 'all(all(k in l for k in ("method","path","status","ref")) for l in lines if l["event"] == "http")')" "True"
zr_check "levels as written (info and warn both seen)" "$(rl 'sorted(set(l["level"] for l in lines) & {"info","warn"})')" '["info", "warn"]'

# --- 3. the audit stream
zr_check "audit file is 0600" "$(stat -c %a "$AUDIT")" "600"
zr_check "audit: every line a JSON object" "$(audit 'all(isinstance(r, dict) for r in records)')" "True"
zr_check "audit: one record per event" \
  "$(audit 'sorted((r["event"], r["outcome"], r["kind"]) for r in records)')" \
  '[["login", "ok", "patient"], ["login", "ok", "patient"], ["login", "ok", "professional"], ["login_refused", "authn_failed", "patient"], ["login_refused", "cancelled", "patient"], ["login_refused", "denied", "professional"], ["logout", "ok", "patient"], ["token_issued", "ok", "patient"], ["token_issued", "ok", "patient"], ["token_issued", "ok", "professional"]]'
P1=$(pseudonym 999990019)
P_ACT=$(pseudonym 999990044)
P_LEG=$(pseudonym 999990056)
P_PRO=$(pseudonym "$DEZI_NUMMER")
zr_check "audit: the patient's login, keyed pseudonym, care provider, portal, LoA, no representation" \
  "$(audit '[(r["person"] == sys.argv[2], r["care_provider"], r["client"], r["loa"], r["representation"]) for r in records if r["event"] == "login" and r["person"] == sys.argv[2]]' "$P1")" \
  '[[true, "zorgaanbieder-demo", "demo-portal", "substantial", false]]'
zr_check "audit: the representation: acting and represented person keyed, type" \
  "$(audit '[(r["representation"], r.get("represented") == sys.argv[3], r.get("representation_type")) for r in records if r["event"] == "login" and r["person"] == sys.argv[2]]' "$P_ACT" "$P_LEG")" \
  '[[true, true, "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"]]'
zr_check "audit: the professional: keyed Dezi number, role code, keyed organisation, LoA high" \
  "$(audit '[(r["role_code"], r["organisation"].startswith("hmac-sha256:"), r["loa"], r["client"]) for r in records if r["event"] == "login" and r["person"] == sys.argv[2]]' "$P_PRO")" \
  '[["01.015", true, "high", "demo-portal"]]'
zr_check "audit: each login's code redeemed by the same person at the same portal" \
  "$(audit 'sorted(r["person"] for r in records if r["event"] == "token_issued") == sorted(r["person"] for r in records if r["event"] == "login") and len(records) > 0')" "True"
zr_check "audit: the PDP's deny names the professional (keyed) and the portal" \
  "$(audit '[(r["person"] == sys.argv[2], r["client"], bool(r["ref"])) for r in records if r["outcome"] == "denied"]' "$P_PRO")" \
  '[[true, "pdp-portal", true]]'
zr_check "audit: the logout names the person (keyed) and the care provider" \
  "$(audit '[(r["person"] == sys.argv[2], r["client"], r["care_provider"]) for r in records if r["event"] == "logout"]' "$P1")" \
  '[[true, "demo-portal", "zorgaanbieder-demo"]]'
zr_check "audit: the patient's login, code and logout carry the sub the portal got (its own logs join on it)" \
  "$(audit 'sorted((r["event"], r.get("sub") == sys.argv[3]) for r in records if r.get("person") == sys.argv[2])' "$P1" "$(zr_json "$patient" 'd["claims"]["sub"]')")" \
  '[["login", true], ["logout", true], ["token_issued", true]]'
zr_check "audit: the professional's login and code carry the professional's sub at the portal" \
  "$(audit 'sorted((r["event"], r.get("sub") == sys.argv[3]) for r in records if r.get("person") == sys.argv[2] and r["client"] == "demo-portal")' "$P_PRO" "$(zr_json "$pro" 'd["claims"]["sub"]')")" \
  '[["login", true], ["token_issued", true]]'
zr_check "audit: the logout's session is the patient login's (joined by the masked sid)" \
  "$(audit '[r["session"] for r in records if r["event"] == "logout"] == [r.get("session") for r in records if r["event"] == "login" and r["person"] == sys.argv[2]] and [r["session"][:2] for r in records if r["event"] == "logout"]' "$P1")" \
  '["k:"]'
zr_check "audit: ts RFC 3339 UTC with milliseconds, and a trace id, on every login record" \
  "$(audit 'all(__import__("re").match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", r["ts"]) for r in records) and all(len(r.get("trace", "")) == 32 for r in records if r["event"] != "logout")')" "True"
# Each login record's trace and login reference are those of the operator
# log's line for it: the audit record leads to the detail.
zr_check "audit: login records join the operator log by login and trace" \
  "$($PY -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
recs = [json.loads(l) for l in open(sys.argv[2])]
ok = [(l["login"], l["trace"]) for l in lines if l["event"] in ("acs", "dezi") and l.get("result") == "ok"]
print(sorted((r["login"], r["trace"]) for r in recs if r["event"] == "login") == sorted(ok) and len(ok) == 3)' \
  "$ZR_TMP/relay.log" "$AUDIT")" "True"

# --- 4. no BSN, Dezi number or URA anywhere, nor a plain hash of one
BSN_ARGS=($($PY -c 'import re,sys; [print("--value", b) for b in sorted(set(re.findall(r"_bsn: \"(\d{9})\"", open(sys.argv[1]).read())))]' "$ZR_CONFIG"))
zr_check "the BSN search knows the test BSNs used (test is meaningful)" \
  "$(printf '%s\n' "${BSN_ARGS[@]}" | grep -cE '^(999990019|999990044|999990056)$')" "3"
zr_check "no BSN, Dezi number or URA, nor an MD5/SHA-1/SHA-256 prefix of one, in the logs or the audit stream" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/secrecy_scan.py" "${BSN_ARGS[@]}" --value "$DEZI_NUMMER" --value "$URA" \
       "$ZR_TMP/relay.log" "$ZR_TMP/mock-tvs.log" "$ZR_TMP/mock-dezi.log" "$AUDIT" >&2; echo $?)" "0"
zr_check "no full plain SHA-256 of a test BSN in the logs or the audit stream" \
  "$(for b in 999990019 999990044 999990056; do h=$(printf '%s' $b | sha256sum | cut -d' ' -f1); grep -ciF "$h" "$ZR_TMP/relay.log" "$AUDIT" | cut -d: -f2; done | paste -sd+ | bc)" "0"

# --- 5. a reload reopens the audit file (rotation)
mv "$AUDIT" "$AUDIT.1"
zr_check "reload: ok (zorgrelay reload waits for the outcome)" \
  "$("$ZR_BIN" reload "$ZR_CONFIG" >"$ZR_TMP/reload.out" 2>&1; echo $?)" "0"
zr_check "reload: the audit file is open again under its name" "$([ -e "$AUDIT" ] && stat -c %a "$AUDIT")" "600"
out=$(login demo-portal "DigiD Substantieel")
zr_check "after rotation: the new file gets the next login's records" \
  "$(audit 'sorted(r["event"] for r in records)')" '["login", "token_issued"]'
zr_check "after rotation: the rotated file kept its records" "$(wc -l < "$AUDIT.1" | tr -d ' ')" "10"

# --- 6. fail closed (audit_log.on_failure: refuse, the default): a record
#     that cannot be written (a full disk: /dev/full) stops the code at
#     /token, then the login at the ACS; with on_failure: continue the login
#     goes on, and the failure is an error line either way.
TO_FULL="sed -i 's#^  file: $AUDIT\$#  file: /dev/full#' '$ZR_CONFIG' && '$ZR_BIN' reload '$ZR_CONFIG' >/dev/null"
out=$(login demo-portal "DigiD Substantieel" --before-token "$TO_FULL" || true)
zr_check "refuse: the audit file became /dev/full before /token" "$(grep -c '^  file: /dev/full$' "$ZR_CONFIG")" "1"
zr_check "refuse: no tokens when their record cannot be written (503)" \
  "$(zr_json "$out" '"503" in str(d.get("token_error")) and "claims" not in d')" "True"
zr_check "refuse: /token says why in the log" \
  "$(rl 'sum(1 for l in lines if l["event"] == "token" and "audit record not written: no tokens issued" in l["message"])')" "1"
out=$(login demo-portal "DigiD Substantieel" || true)
zr_check "refuse: no code when the login's record cannot be written" "$(zr_json "$out" 'd.get("oauth_error")')" \
  "temporarily_unavailable"
zr_check "refuse: the ACS says why, with ref and trace" \
  "$(rl '[(l["level"], bool(l["ref"]), len(l["trace"])) for l in lines if l["event"] == "acs" and "audit record not written" in l["message"]]')" \
  '[["error", true, 32]]'
printf '  on_failure: continue\n' >> "$ZR_CONFIG"
zr_check "continue: reload ok" "$("$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1; echo $?)" "0"
out=$(login demo-portal "DigiD Substantieel")
zr_check "continue: the login goes on without its record" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "every record not written is an error line with its event and trace" \
  "$(rl '[(l["level"], l["field_event"], len(l["trace"])) for l in lines if l["event"] == "audit.write_failed"]')" \
  '[["error", "token_issued", 32], ["error", "login", 32], ["error", "login", 32], ["error", "token_issued", 32]]'
zr_check "the operator log is still JSON throughout (logs_check.py)" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/logs_check.py" relay "$ZR_TMP/relay.log" >&2; echo $?)" "0"

# --- 7. log_format is restart only: a reload that changes it is refused
sed 's/^log_format: json$/log_format: text/' "$ZR_CONFIG" > "$ZR_TMP/text.yaml"
zr_check "the text variant differs only in log_format" "$(diff "$ZR_CONFIG" "$ZR_TMP/text.yaml" | grep -c '^[<>]')" "2"
cp "$ZR_CONFIG" "$ZR_TMP/json.yaml"
cp "$ZR_TMP/text.yaml" "$ZR_CONFIG"
zr_check "reload with another log_format: refused" "$("$ZR_BIN" reload "$ZR_CONFIG" >"$ZR_TMP/reload-format.out" 2>&1; echo $?)" "1"
zr_check "reload with another log_format: the reason names the key" \
  "$(grep -q '^relay: refused: log_format changed: that needs a restart$' "$ZR_TMP/reload-format.out" && echo yes ||
     cat "$ZR_TMP/reload-format.out" >&2)" "yes"
zr_check "reload with another log_format: the relay still writes JSON" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/logs_check.py" relay "$ZR_TMP/relay.log" >&2; echo $?)" "0"
cp "$ZR_TMP/json.yaml" "$ZR_CONFIG"

# --- 8. journald: with JOURNAL_STREAM naming its stderr (as systemd sets it
#     for StandardError=journal), every line starts with its syslog priority.
JOURNAL="$ZR_TMP/journal.log"
: > "$JOURNAL"
JOURNAL_STREAM=$(stat -c '%d:%i' "$JOURNAL") zr_restart_relay "$JOURNAL"
out=$(login demo-portal "Annuleren")
zr_check "journald: a cancelled login" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
zr_check "journald: every line <N> then JSON, N the line's level (info 6, warn 4, error 3, debug 7)" \
  "$($PY -c '
import json, re, sys
prio = {"debug": "7", "info": "6", "warn": "4", "error": "3"}
n = bad = 0
for raw in open(sys.argv[1]):
    n += 1
    m = re.match(r"^<([0-7])>(\{.*\})$", raw.rstrip("\n"))
    if not m or prio.get(json.loads(m.group(2))["level"]) != m.group(1):
        bad += 1
print(n >= 5 and bad == 0)' "$JOURNAL")" "True"
zr_check "journald: info lines seen (the cancelled login's among them)" \
  "$(grep -c '^<6>{.*"event":"acs".*"result":"cancelled"' "$JOURNAL")" "1"
zr_done
