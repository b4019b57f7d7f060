#!/usr/bin/env bash
# Healthcare professionals (issue 4), end to end against the real binary:
# Authlib portal -> relay (chooser or login_method) -> mock Dezi (PKCE, JWE
# userinfo, envelope, verklaring via jku, status) -> relay (Dezi checks, role
# mapping, AuthZEN PDP) -> code -> Authlib validates the ID token; token
# introspection; the decision log; the login's trace (Dezi events, nothing
# personal or secret in it); nothing personal in the logs.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
# Issue 18 §2: the portals keep the default (the relay's refusal page);
# e2e_login.py presses its button like a person.
ZR_ERROR_PAGES=relay
zr_write_config
PDP_PORT=$(zr_free_port)
echo permit > "$ZR_TMP/pdp-mode"
$PY "$ZR_SOURCE_DIR/tests/integration/pdp_server.py" "$PDP_PORT" "$ZR_TMP/pdp-mode" "$ZR_TMP/pdp-requests.jsonl" \
  >"$ZR_TMP/pdp.log" 2>&1 &
ZR_PIDS+=("$!")

# A professionals-only portal with a policy decision point.
awk -v pdp="http://127.0.0.1:$PDP_PORT" -v pki="$ZR_PKI" '
/^care_providers:$/ {
  print
  # A second care provider, for a shared portal (section 10b).
  print "  - id: zorgaanbieder-twee"
  print "    entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000"
  print "    oin: \"00000009999999999002\""
  print "    services:"
  print "      - loa: substantial"
  print "        service_uuid: 22222222-2222-4222-8222-222222222222"
  print "    bsn_keys:"
  print "      - cert: " pki "/dv2-bsn-1.pem"
  print "        key: " pki "/dv2-bsn-1.key"
  next
}
/^  - client_id: demo-pgo$/ {
  print "  - client_id: shared-portal"
  print "    care_providers: [zorgaanbieder-demo, zorgaanbieder-twee]"
  print "    auth_method: client_secret_basic"
  print "    client_secret: shared-portal-secret"
  print "    redirect_uris: [http://localhost:8000/callback]"
  print "    min_loa: substantial"
  print "    bsn_entitled: true"
  print "    login_methods: [patient, professional]"
  print "    role_rules:"
  print "      - rol_code: \"*\""
  print "        roles: [medewerker]"
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
  print "      timeout_ms: 1000"
  print "      processing_activity_id: https://register.example.nl/verwerkingen/42"
  # A portal with both methods (the chooser) and a PDP, for the trace (5b).
  print "  - client_id: trace-portal"
  print "    care_provider: zorgaanbieder-demo"
  print "    auth_method: client_secret_basic"
  print "    client_secret: trace-portal-secret"
  print "    redirect_uris: [http://localhost:8000/callback]"
  print "    min_loa: substantial"
  print "    bsn_entitled: false"
  print "    login_methods: [patient, professional]"
  print "    role_rules:"
  print "      - rol_code: \"*\""
  print "        roles: [medewerker]"
  print "    authzen:"
  print "      pdp: " pdp
  print "      timeout_ms: 1000"
  print "  - client_id: gone-portal"
  print "    auth_method: client_secret_basic"
  print "    client_secret: gone-portal-secret"
  print "    redirect_uris: [http://localhost:8000/callback]"
  print "    login_methods: [professional]"
  print "    role_rules:"
  print "      - rol_code: \"*\""
  print "        roles: [medewerker]"
}
{ print }' "$ZR_CONFIG" > "$ZR_TMP/pro.yaml"
# The SAML/OIDC trace (docs/preprod.md §6) on, for section 8.
printf '\ntrace:\n  enabled: true\n' >> "$ZR_TMP/pro.yaml"
ZR_CONFIG="$ZR_TMP/pro.yaml"
zr_wait_port "$PDP_PORT"
zr_start_mock_tvs
zr_start_mock_dezi
zr_start_relay

# login CLIENT IDENTITY [args]
login() {
  local client=$1 identity=$2; shift 2
  local secret=$client-secret
  [ "$client" = demo-portal ] && secret=demo-portal-secret
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity "$identity" \
    --pages-out "$PAGES" --trace-out "$TRACES" "$@"
}
SECRETS="$ZR_TMP/secrets.txt"
# Every page the relay shows the browser, and every login's trace, for §9.
PAGES="$ZR_TMP/pages"
TRACES="$ZR_TMP/traces"

# --- 1. The chooser (both methods), then Dezi.
out=$(login demo-portal "(01.015)" --method professional --secrets-out "$SECRETS")
zr_check "chooser shown for a client with both methods" "$(zr_json "$out" 'd.get("chooser")')" "True"
zr_check "professional: Dezi's page reached" "$(zr_json "$out" 'd.get("dezi_page")')" "True"
zr_check "professional: rol_code in the ID token" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
zr_check "professional: mapped roles" "$(zr_json "$out" 'd["claims"].get("roles")')" '["arts", "huisarts"]'
zr_check "professional: dezi_nummer, URA, organisation" \
  "$(zr_json "$out" 'all(d["claims"].get(k) for k in ("dezi_nummer", "ura", "organization_name"))')" "True"
zr_check "professional: acr high" "$(zr_json "$out" 'd["claims"]["acr"]')" "http://eidas.europa.eu/LoA/high"
zr_check "professional: sub is pairwise, not the Dezi number" \
  "$(zr_json "$out" 'd["claims"]["sub"] != d["claims"]["dezi_nummer"] and len(d["claims"]["sub"]) > 20')" "True"
zr_check "professional: never a bsn" "$(zr_json "$out" '"bsn" in d["claims"]')" "False"
zr_check "professional: userinfo has the same role" "$(zr_json "$out" 'd["userinfo"].get("rol_code")')" "01.015"

# --- 2. The chooser, then TVS: patients unchanged.
out=$(login demo-portal "DigiD Substantieel" --method patient)
zr_check "chooser -> patient: BSN as before" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "chooser -> patient: no professional claims" "$(zr_json "$out" '"rol_code" in d["claims"]')" "False"

TP2="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
out=$(login demo-portal "DigiD Substantieel" --login-method patient --traceparent "$TP2")
zr_check "patient login carries the portal's trace into the TVS resolution log" \
  "$(grep -c 'acs .*trace=0af7651916cd43dd8448eb211c80319c .*result=ok' "$ZR_TMP/relay.log")" "1"

# --- 3. Preselected, no chooser.
out=$(login demo-portal "(01.015)" --login-method professional)
zr_check "login_method=professional: no chooser" "$(zr_json "$out" 'd.get("chooser", False)')" "False"
zr_check "login_method=professional: logged in" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
# Someone who learnt the callback URL (Dezi's state is in it) presents it
# first, without the browser's cookie and with a forged one: refused with the
# page, and the professional's own login still completes.
out=$(login demo-portal "(01.015)" --login-method professional --intruder-first || true)
zr_check "Dezi callback, intruder without the cookie: 400, Dutch page" \
  "$(zr_json "$out" '(d["intruders"][0]["status"], "Andere browser" in d["intruders"][0]["body"])')" "(400, True)"
zr_check "Dezi callback, intruder with a forged cookie: 400, English page" \
  "$(zr_json "$out" '(d["intruders"][1]["forged_cookies"] >= 1, d["intruders"][1]["status"], "Different browser" in d["intruders"][1]["body"])')" \
  "(True, 400, True)"
zr_check "Dezi callback: the professional's login still completes after the intruders" \
  "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
zr_check "Dezi callback: both refusals logged (missing, differs)" \
  "$(grep -c 'dezi-login key=.* came back in another browser (binding cookie missing)' "$ZR_TMP/relay.log") $(grep -c 'dezi-login key=.* came back in another browser (binding cookie differs)' "$ZR_TMP/relay.log")" "1 1"
out=$(login pdp-portal "DigiD Substantieel" --login-method patient || true)
zr_check "a method the client does not allow: invalid_request" "$(zr_json "$out" 'd.get("oauth_error")')" "invalid_request"

# --- 4. Refusals.
out=$(login demo-portal "(17.000)" --login-method professional || true)
zr_check "unmapped role (apotheker): refused with a page" "$(zr_json "$out" 'd["refusal_page"]["status"]')" "403"
zr_check "unmapped role: the page names the reason" "$(zr_json "$out" '"rol" in d["refusal_page"]["title"].lower()')" "True"
zr_check "unmapped role: its button tells the portal (issue 18 §2)" \
  "$(zr_json "$out" '(d.get("oauth_error"), d.get("zr_reason"), d.get("state_ok"))')" "('access_denied', 'role_not_allowed', True)"
# ui_locales (OIDC Core §3.1.2.1) over Accept-Language for every page of the
# login: the chooser, and the refusal after the Dezi round trip.
out=$(login demo-portal "(17.000)" --method professional --accept-language nl --ui-locales en || true)
zr_check "ui_locales en, Accept-Language nl: the chooser and the refusal after Dezi are English" \
  "$(zr_json "$out" '(d.get("chooser"), d["refusal_page"]["status"], d["page_langs"])')" "(True, 403, ['en', 'en'])"
out=$(login demo-portal "(17.000)" --method professional --accept-language en --ui-locales nl-NL || true)
zr_check "ui_locales nl-NL, Accept-Language en: both Dutch" \
  "$(zr_json "$out" '(d["refusal_page"]["status"], d["page_langs"])')" "(403, ['nl', 'nl'])"
out=$(login demo-portal "(30.000)" --login-method professional || true)
zr_check "role mapped only at another URA: refused" "$(zr_json "$out" 'd["refusal_page"]["status"]')" "403"
out=$(login demo-portal "ingetrokken" --login-method professional)
zr_check "revoked verklaring: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
zr_check "revoked verklaring: says so" "$(zr_json "$out" '"revoked" in d.get("oauth_error_description", "")')" "True"
out=$(login demo-portal "cancel" --login-method professional)
zr_check "cancel at Dezi: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"

# --- 5. The policy decision point.
TP="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
out=$(login pdp-portal "(01.015)" --traceparent "$TP")
zr_check "PDP permit: logged in" "$(zr_json "$out" 'd["claims"].get("roles")')" '["medewerker"]'
req=$(tail -1 "$ZR_TMP/pdp-requests.jsonl")
zr_check "PDP asked with the professional subject" \
  "$(zr_json "$req" '[d["path"], d["body"]["subject"]["type"], d["body"]["action"]["name"], d["body"]["resource"]["id"]]')" \
  '["/access/v1/evaluation", "http://fhir.nl/fhir/NamingSystem/uzi-nr-pers", "login", "pdp-portal"]'
zr_check "PDP request continues the portal's trace" \
  "$(zr_json "$req" 'd["body"]["context"]["traceparent"].split("-")[1]')" "4bf92f3577b34da6a3ce929d0e0e4736"
echo deny > "$ZR_TMP/pdp-mode"
out=$(login pdp-portal "(01.015)")
zr_check "PDP deny: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
zr_check "PDP deny: the PDP's reason reaches the portal" "$(zr_json "$out" 'd.get("oauth_error_description")')" "Buiten uw werktijden"
echo error > "$ZR_TMP/pdp-mode"
out=$(login pdp-portal "(01.015)")
zr_check "PDP error: fail closed" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
echo slow > "$ZR_TMP/pdp-mode"
out=$(login pdp-portal "(01.015)")
zr_check "PDP timeout: fail closed" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
echo permit > "$ZR_TMP/pdp-mode"
LOG="$ZR_TMP/decision-log.jsonl"
zr_check "decision log: one record per PDP call" "$(wc -l < "$LOG")" "4"
zr_check "decision log: deny is Ok, errors are Error" \
  "$($PY -c 'import json,sys; print(",".join(json.loads(l)["status"] for l in open(sys.argv[1])))' "$LOG")" "Ok,Ok,Error,Error"
zr_check "decision log: the portal's trace id" "$(grep -c 4bf92f3577b34da6a3ce929d0e0e4736 "$LOG")" "1"
# ADL 1.0: event_name, the PDP as adl.core.configuration source reference,
# namespaced attributes, the producer in resource, body adl.core.*.
zr_check "decision log: ADL 1.0 fields of the permit record" \
  "$($PY - "$LOG" "http://127.0.0.1:$PDP_PORT" <<'PYEOF'
import json, socket, sys
r = json.loads(open(sys.argv[1]).readline())
a = r["attributes"]
print(r["event_name"], a["adl.core.configuration"] == {"pdp": sys.argv[2]}, a["zorgrelay.authz.decision"],
      a["zorgrelay.authz.outcome"], a["zorgrelay.oidc.client_id"], r["resource"]["service.name"],
      r["resource"]["host.name"] == socket.gethostname(), sorted(r["body"]),
      r["body"]["adl.core.request"]["resource"]["id"], r["body"]["adl.core.response"])
PYEOF
)" "adl.access_evaluation True permit allowed pdp-portal zorgrelay True ['adl.core.request', 'adl.core.response'] pdp-portal {'decision': True}"

# --- 5b. One trace from the portal to the PDP, on every path (issue 15 §3):
# the trace id of the portal's traceparent (header on /authorize) is the one
# the PDP receives (header and AuthZEN context, as a child span of the
# portal's), the one in the decision-log record, and the one in every log
# line of that login that carries a trace id.
# traced_login NAME TRACEPARENT IDENTITY [login args]: prints what was seen, as
#   "<oauth error or ok> pdp=<requests>:<header ids>:<context ids>:<child span>
#    adl=<records with the id> lines=<kinds of log line with the id> other=<lines of
#    the login with another trace id>"
# For a traceparent the relay must not trust, the id checked is the one the
# PDP received, and must differ from the malformed one.
PDP_REQS="$ZR_TMP/pdp-requests.jsonl"
traced_login() {
  local name=$1 tp=$2 out pdp0 adl0 log0; shift 2
  pdp0=$(wc -l < "$PDP_REQS"); adl0=$(wc -l < "$LOG"); log0=$(wc -l < "$ZR_TMP/relay.log")
  out=$(login trace-portal "$@" --traceparent "$tp" || true)
  $PY - "$out" "$tp" "$PDP_REQS" "$pdp0" "$LOG" "$adl0" "$ZR_TMP/relay.log" "$log0" <<'PYEOF'
import json, re, sys
out, tp, pdp_file, pdp0, adl_file, adl0, log_file, log0 = sys.argv[1:]
out = json.loads(out)
sent = tp.split("-")
reqs = [json.loads(l) for l in open(pdp_file).readlines()[int(pdp0):]]
valid = re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", tp) and set(sent[1]) != {"0"} and set(sent[2]) != {"0"}
want = sent[1] if valid else (reqs[0]["traceparent"].split("-")[1] if reqs else "-")
if not valid and want == sent[1].lower():
    want = "the malformed one"
hdr = {r["traceparent"].split("-")[1] == want for r in reqs}
ctx = {r["body"]["context"]["traceparent"].split("-")[1] == want for r in reqs}
child = {r["traceparent"].split("-")[2] != sent[2] and r["traceparent"] == r["body"]["context"]["traceparent"] for r in reqs}
adl = [l for l in open(adl_file).readlines()[int(adl0):]]
lines = open(log_file).readlines()[int(log0):]
kinds = {"chooser shown": "chooser", r"request=\S+ login=": "to_tvs", "professional login to Dezi": "to_dezi",
         r"^.*acs .*result=ok": "acs_ok", r"dezi .*result=ok": "dezi_ok", "denied by the PDP": "denied",
         "PDP error": "pdp_error", "authz.evaluate": "pdp_call", r"acs .*result=(?!ok)": "acs_refused",
         r"Dezi answered error|dezi .*result=(?!ok)": "dezi_refused"}
mine = [l for l in lines if "trace=" + want in l]
seen = sorted({k for l in mine for p, k in kinds.items() if re.search(p, l)})
logins = {m for l in mine for m in re.findall(r"login=(k:[0-9a-f]+)", l)}
other = [l for l in lines if set(re.findall(r"login=(k:[0-9a-f]+)", l)) & logins
         and re.search(r"trace=[0-9a-f]{32}\b", l) and "trace=" + want not in l]
pdp = "%d:%s:%s:%s" % (len(reqs), hdr == {True}, ctx == {True}, child == {True}) if reqs else "0"
print("%s pdp=%s adl=%d/%d lines=%s other=%d" % (
    out.get("oauth_error") or ("ok" if out.get("claims") else "no-login"), pdp, sum(want in l for l in adl),
    len(adl), ",".join(seen), len(other)))
PYEOF
}
echo permit > "$ZR_TMP/pdp-mode"
zr_check "trace, chooser -> patient: the portal's trace id at the PDP, in the decision log and the login's lines" \
  "$(traced_login chooser-patient 00-11111111111111111111111111111111-1111111111111111-01 "DigiD Substantieel" --method patient)" \
  "ok pdp=1:True:True:True adl=1/1 lines=acs_ok,chooser,pdp_call,to_tvs other=0"
zr_check "trace, chooser -> professional (Dezi round trip and callback)" \
  "$(traced_login chooser-pro 00-22222222222222222222222222222222-2222222222222222-01 "(01.015)" --method professional)" \
  "ok pdp=1:True:True:True adl=1/1 lines=chooser,dezi_ok,pdp_call,to_dezi other=0"
zr_check "trace, chooser -> professional: Dezi's token and userinfo calls carry it (the mock's log)" \
  "$(grep -cE '(token_issued|userinfo) .*trace=22222222222222222222222222222222' "$ZR_TMP/mock-dezi.log")" "2"
zr_check "trace, direct patient (login_method=patient)" \
  "$(traced_login direct-patient 00-33333333333333333333333333333333-3333333333333333-01 "DigiD Substantieel" --login-method patient)" \
  "ok pdp=1:True:True:True adl=1/1 lines=acs_ok,pdp_call,to_tvs other=0"
zr_check "trace, direct professional (login_method=professional)" \
  "$(traced_login direct-pro 00-44444444444444444444444444444444-4444444444444444-00 "(01.015)" --login-method professional)" \
  "ok pdp=1:True:True:True adl=1/1 lines=dezi_ok,pdp_call,to_dezi other=0"
zr_check "trace, chooser -> patient, cancelled at TVS (no PDP call)" \
  "$(traced_login cancel-tvs 00-99999999999999999999999999999999-9999999999999999-01 "Annuleren" --method patient)" \
  "access_denied pdp=0 adl=0/0 lines=acs_refused,chooser,to_tvs other=0"
zr_check "trace, chooser -> professional, cancelled at Dezi (no PDP call)" \
  "$(traced_login cancel-dezi 00-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-bbbbbbbbbbbbbbbb-01 "cancel" --method professional)" \
  "access_denied pdp=0 adl=0/0 lines=chooser,dezi_refused,to_dezi other=0"
echo deny > "$ZR_TMP/pdp-mode"
zr_check "trace, direct professional: Dezi's token and userinfo calls carry it (the mock's log)" \
  "$(grep -cE '(token_issued|userinfo) .*trace=44444444444444444444444444444444' "$ZR_TMP/mock-dezi.log")" "2"
zr_check "trace, chooser -> patient, denied by the PDP" \
  "$(traced_login denied 00-55555555555555555555555555555555-5555555555555555-01 "DigiD Substantieel" --method patient)" \
  "access_denied pdp=1:True:True:True adl=1/1 lines=chooser,denied,pdp_call,to_tvs other=0"
zr_check "trace, chooser -> professional, denied by the PDP" \
  "$(traced_login denied-pro 00-66666666666666666666666666666666-6666666666666666-01 "(01.015)" --method professional)" \
  "access_denied pdp=1:True:True:True adl=1/1 lines=chooser,denied,pdp_call,to_dezi other=0"
echo error > "$ZR_TMP/pdp-mode"
zr_check "trace, chooser -> patient, PDP down (fail closed)" \
  "$(traced_login down 00-77777777777777777777777777777777-7777777777777777-01 "DigiD Substantieel" --method patient)" \
  "temporarily_unavailable pdp=1:True:True:True adl=1/1 lines=chooser,pdp_call,pdp_error,to_tvs other=0"
zr_check "trace, direct professional, PDP down (fail closed)" \
  "$(traced_login down-pro 00-88888888888888888888888888888888-8888888888888888-01 "(01.015)" --login-method professional)" \
  "temporarily_unavailable pdp=1:True:True:True adl=1/1 lines=pdp_call,pdp_error,to_dezi other=0"
echo permit > "$ZR_TMP/pdp-mode"
# W3C Trace Context §3.2: a traceparent that is not valid is not continued
# (upper-case hex, all-zero parent-id, version ff, a version-00 header with
# more fields): the relay starts one trace of its own at /authorize and the
# whole login, the PDP and the decision log keep that one.
for bad in 00-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-aaaaaaaaaaaaaaaa-01 \
           00-abababababababababababababababab-0000000000000000-01 \
           ff-cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd-cdcdcdcdcdcdcdcd-01 \
           00-efefefefefefefefefefefefefefefef-efefefefefefefef-01-extra; do
  zr_check "trace, malformed traceparent ${bad:0:6}..${bad:36:6}: not continued, one trace of the relay's own" \
    "$(traced_login malformed "$bad" "DigiD Substantieel" --method patient)" \
    "ok pdp=1:True:True:True adl=1/1 lines=acs_ok,chooser,pdp_call,to_tvs other=0"
done
zr_check "trace, malformed traceparent: in no log line and no decision-log record" \
  "$(grep -ciE 'AAAAAAAAAAAAAAAA|abababababababab|cdcdcdcdcdcdcdcd|efefefefefefefef' "$ZR_TMP/relay.log" "$LOG" | awk -F: '{s+=$2} END {print s}')" "0"

# --- 6. Introspection (RFC 7662).
out=$(login demo-portal "(01.015)" --login-method professional --secrets-out "$ZR_TMP/intro.txt")
AT=$(sed -n 2p "$ZR_TMP/intro.txt")
intro() { curl -s -u "$1" -d "token=$2" "$ISSUER/introspect"; }
r=$(intro demo-portal:demo-portal-secret "$AT")
zr_check "introspection: own token active" "$(zr_json "$r" 'd.get("active")')" "True"
zr_check "introspection: professional subject" "$(zr_json "$r" '[d.get("subject_type"), d.get("rol_code")]')" '["professional", "01.015"]'
r=$(curl -s -o /dev/null -w '%{http_code}' -u demo-pgo:x -d "token=$AT" "$ISSUER/introspect")
zr_check "introspection: a client not registered for it is refused" "$r" "401"
r=$(intro demo-portal:wrong-secret "$AT" ; true)
zr_check "introspection: wrong credentials refused" "$(zr_json "$r" 'd.get("error")')" "invalid_client"
r=$(intro demo-portal:demo-portal-secret "not-a-token")
zr_check "introspection: unknown token inactive" "$r" '{"active":false}'

# --- 7. A Dezi that answers userinfo as a plain signed JWT (as acceptance has
# been seen to): the envelope and verklaring are checked all the same.
kill "$(pgrep -f "mock-dezi $ZR_CONFIG" | head -1)" 2>/dev/null || true
sed -e 's#^mock_dezi:$#mock_dezi:\n  userinfo: signed_jwt#' "$ZR_CONFIG" > "$ZR_TMP/pro-jwt.yaml"
for i in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$DEZI_PORT) 2>/dev/null || break; sleep 0.1; done
"$ZR_BIN" mock-dezi "$ZR_TMP/pro-jwt.yaml" >"$ZR_TMP/mock-dezi-jwt.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$DEZI_PORT"
out=$(login demo-portal "(01.015)" --login-method professional --secrets-out "$SECRETS.jwt")
zr_check "signed-JWT userinfo: logged in with the role" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
zr_check "signed-JWT userinfo: the relay says it was not encrypted" \
  "$(grep -c 'dezi_userinfo_unencrypted' "$ZR_TMP/relay.log")" "1"
cat "$SECRETS.jwt" >> "$SECRETS"
zr_check "the mock's envelopes name the id_token's sub: compared, nothing to warn" \
  "$(grep -c 'dezi_userinfo_no_sub' "$ZR_TMP/relay.log")" "0"

# --- 8. The trace of a professional login: the Dezi events, and no Dezi
# number, name, code or token in clear. The portal finds its trace with the
# state of its authorization request (POST /trace/lookup); e2e_login.py is
# run with Authlib's state recorded to a file.
trace_login() {  # trace_login STATEFILE [e2e_login.py args]
  local statefile=$1; shift
  $PY - "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" "$statefile" --issuer "$ISSUER" --client-id demo-portal \
    --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback \
    --pages-out "$PAGES" --trace-out "$TRACES" "$@" <<'PYEOF'
import runpy, sys
from authlib.integrations.requests_client import OAuth2Session
script, state_file = sys.argv[1], sys.argv[2]
original = OAuth2Session.create_authorization_url
def recording(self, *a, **k):
    url, state = original(self, *a, **k)
    with open(state_file, "w") as f:
        f.write(state)
    return url, state
OAuth2Session.create_authorization_url = recording
sys.argv = [script] + sys.argv[3:]
runpy.run_path(script, run_name="__main__")
PYEOF
}
trace_of() {  # trace_of STATEFILE OUTFILE: the export of that login's trace
  local tid
  tid=$(curl -s -u demo-portal:demo-portal-secret --data-urlencode "state=$(cat "$1")" "$ISSUER/trace/lookup" |
        $PY -c 'import json,sys; print(json.load(sys.stdin).get("trace_id", ""))')
  curl -s "$ISSUER/trace.json?id=$tid" > "$2"
}
TSECRETS="$ZR_TMP/trace-secrets.txt"
out=$(trace_login "$ZR_TMP/state-direct" --identity "(01.015)" --login-method professional --secrets-out "$TSECRETS")
zr_check "traced professional login: logged in" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
trace_of "$ZR_TMP/state-direct" "$ZR_TMP/pro-trace.json"
TR=$(cat "$ZR_TMP/pro-trace.json")
ev() { zr_json "$TR" "{e[\"kind\"]: e[\"data\"] for e in d[\"events\"]}$1"; }
zr_check "trace: the Dezi events in order" "$(zr_json "$TR" '[e["kind"] for e in d["events"]]')" \
  '["oidc.authorization_request", "dezi.authorization_request", "dezi.callback", "dezi.validation", "oidc.authorization_response", "oidc.token"]'
zr_check "trace: the portal's request as sent, state hashed" \
  "$(ev '["oidc.authorization_request"]["params"]' | $PY -c 'import json,re,sys; k=lambda v: "k:" if re.fullmatch(r"k:[0-9a-f]{16}", v) else v; p=json.load(sys.stdin); print(p["client_id"], p["login_method"], *[k(p[n]) for n in ("state", "nonce", "code_challenge")])')" \
  "demo-portal professional k: k: k:"
zr_check "trace: the request to Dezi with its URL, state/nonce/code_challenge hashed" \
  "$(ev '["dezi.authorization_request"]' | $PY -c 'import json,re,sys; k=lambda v: "k:" if re.fullmatch(r"k:[0-9a-f]{16}", v) else v; d=json.load(sys.stdin); p=d["params"]; print(d["endpoint"].startswith("http://localhost:'"$DEZI_PORT"'/"), p["redirect_uri"].endswith("/dezi/callback"), *[k(p[n]) for n in ("state", "nonce", "code_challenge")], p["code_challenge_method"])')" \
  "True True k: k: k: S256"
zr_check "trace: Dezi's callback, code as a keyed pseudonym only" \
  "$(zr_json "$TR" '__import__("re").sub(r"^k:[0-9a-f]{16}$", "k:", [e for e in d["events"] if e["kind"] == "dezi.callback"][0]["data"]["code"])')" "k:"
DN=$(zr_json "$out" 'd["claims"]["dezi_nummer"]')
zr_check "trace: the Dezi checks' outcome" \
  "$(ev '["dezi.validation"]' | $PY -c 'import json,sys; v=json.load(sys.stdin); print(v["result"], v["ok"], v["rol_code"], v["loa"], v["revocation"].split()[0], "chars)" in v["verklaring_id"], v["dezi_nummer"])')" \
  "ok True 01.015 http://eidas.europa.eu/LoA/high passed True ******${DN: -3}"
zr_check "trace: the code to the portal and the token exchange as hashes" \
  "$(zr_json "$TR" '[__import__("re").sub(r"^k:[0-9a-f]{16}$", "k:", v) for v in (d["events"][4]["data"]["code"], d["events"][5]["data"]["request"]["code"], d["events"][5]["data"]["response"]["id_token"])]')" \
  '["k:", "k:", "k:"]'
zr_check "trace: ID token claims without names, Dezi number masked" \
  "$(ev '["oidc.token"]["response"]["id_token_claims"]' | $PY -c 'import json,sys; c=json.load(sys.stdin); print(c["family_name"], c["name"] == c["initials"] == c["family_name"], c["dezi_nummer"][:6])')" \
  "(not recorded: a name) True ******"
leaks=0
for v in "$DN" "$(zr_json "$out" 'd["claims"]["family_name"]')" "$(zr_json "$out" 'd["claims"]["name"]')" \
         "$(zr_json "$out" 'd["claims"]["verklaring_id"]')" $(cat "$TSECRETS") "$(cat "$ZR_TMP/state-direct")"; do
  [ -n "$v" ] && grep -qF -- "$v" "$ZR_TMP/pro-trace.json" && { echo "in the trace: ${v:0:12}..." >&2; leaks=$((leaks+1)); }
done
zr_check "trace: no Dezi number, name, verklaring_id, code, token or state in clear" "$leaks" "0"
zr_check "trace: the leak check saw masked values (test is meaningful)" "$(grep -c '\*\*\*\*\*\*' "$ZR_TMP/pro-trace.json")" "1"
cat "$TSECRETS" >> "$SECRETS"
# Through the relay's chooser the portal's request is recorded as validated.
out=$(trace_login "$ZR_TMP/state-chooser" --identity "(01.015)" --method professional)
trace_of "$ZR_TMP/state-chooser" "$ZR_TMP/pro-trace-chooser.json"
zr_check "trace via the chooser: portal's request, then Dezi" \
  "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["events"]; print(e[0]["data"]["via"], e[0]["data"]["params"]["state"][:2], e[1]["kind"], e[3]["data"]["result"])' "$ZR_TMP/pro-trace-chooser.json")" \
  "the relay's login method chooser k: dezi.authorization_request ok"
pout=$(trace_login "$ZR_TMP/state-chooser-patient" --identity "DigiD Substantieel" --method patient)
zr_check "traced chooser -> patient login: logged in" "$(zr_json "$pout" 'd["claims"].get("bsn")')" "999990019"
trace_of "$ZR_TMP/state-chooser-patient" "$ZR_TMP/patient-trace-chooser.json"
zr_check "trace via the chooser, patient: the request as validated, then the AuthnRequest" \
  "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["events"]; p=e[0]["data"]["params"]; print(e[0]["data"]["via"], p["login_method"], p["state"][:2], p["client_id"], e[1]["kind"], e[-1]["kind"])' "$ZR_TMP/patient-trace-chooser.json")" \
  "the relay's login method chooser patient k: demo-portal saml.authn_request oidc.token"

# --- 9. Nothing personal or secret in the logs.
DN=$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["claims"]["dezi_nummer"])' "$out")
zr_check "no Dezi number in any service log" "$(cat "$ZR_TMP"/*.log | grep -c "$DN" || true)" "0"
leaks=0
while read -r secret; do
  [ -n "$secret" ] && grep -qF "$secret" "$ZR_TMP"/*.log && leaks=$((leaks+1))
done < <(cat "$SECRETS" "$ZR_TMP/intro.txt")
zr_check "no code or token in any service log" "$leaks" "0"
# No Dezi number or URA of any mock professional (src/mock/dezi_people.c:
# the logged-in, the refused and the revoked ones), and no BSN of the patient
# logins, nor an 8-character MD5/SHA-1/SHA-256 prefix of one (hex, base64url),
# in any log, page, trace or Redis (issue 12 §1). The decision log is left
# out: it is the audit record of which professional was let in (NEN 7513,
# reference/authorization-handoff.md), 0600, and names them by design; it
# never holds a BSN in clear (test_authz_pdp).
redis-cli -p "$REDIS_PORT" SAVE >/dev/null
redis-cli -p "$REDIS_PORT" --scan > "$ZR_TMP/keys.txt"
while read -r k; do redis-cli -p "$REDIS_PORT" --raw GET "$k"; done < "$ZR_TMP/keys.txt" > "$ZR_TMP/values.bin" 2>/dev/null || true
cat "$ZR_TMP/keys.txt" >> "$ZR_TMP/values.bin"
SCAN_ARGS=($($PY -c '
import re, sys
people = open(sys.argv[1]).read()
values = set(re.findall(r"\.(?:dezi_nummer|abonnee_nummer) = \"(\d+)\"", people))
values |= set(re.findall(r"_bsn: \"(\d{9})\"", open(sys.argv[2]).read()))
[print("--value", v) for v in sorted(values)]' "$ZR_SOURCE_DIR/src/mock/dezi_people.c" "$ZR_CONFIG"))
zr_check "the search knows the Dezi numbers and URAs used (test is meaningful)" \
  "$(printf '%s\n' "${SCAN_ARGS[@]}" | grep -cE "^($DN|$(zr_json "$out" 'd["claims"]["ura"]')|999990019)$")" "3"
zr_check "pages and traces were saved (test is meaningful)" \
  "$([ "$(ls "$PAGES" | wc -l)" -ge 30 ] && [ "$(ls "$TRACES"/*.json | wc -l)" -ge 10 ] && echo yes)" "yes"
zr_check "no Dezi number, URA or BSN, nor an 8-character MD5/SHA-1/SHA-256 prefix of one, anywhere" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/secrecy_scan.py" "${SCAN_ARGS[@]}" "$ZR_TMP"/*.log \
       "$PAGES" "$TRACES" "$ZR_TMP/values.bin" "$ZR_TMP/redis/dump.rdb" >&2; echo $?)" "0"
zr_check "the unmapped role's log line names the URA by its keyed pseudonym" \
  "$(grep -cE 'maps to no role of this portal' "$ZR_TMP/relay.log")" \
  "$(grep -cE 'rol_code=[0-9.]+ ura=k:[0-9a-f]{12} maps to no role of this portal' "$ZR_TMP/relay.log")"

# --- 10. A portal removed by a reload while its professional is at Dezi
# (issue 12 §4): the login comes back to it as unauthorized_client, without
# a code, and Dezi's code is not redeemed for it.
cat > "$ZR_TMP/remove-gone-portal.sh" <<SH
set -e
sed -i '/^  - client_id: gone-portal\$/,/^        roles: \[medewerker\]\$/d' "$ZR_CONFIG"
reloads=\$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)
kill -HUP $RELAY_PID
until [ "\$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)" -gt "\$reloads" ]; do sleep 0.1; done
SH
redeemed=$(cat "$ZR_TMP"/mock-dezi*.log | grep -c 'token_issued' || true)
out=$(login gone-portal "(01.015)" --method professional --before-acs "timeout 60 bash $ZR_TMP/remove-gone-portal.sh")
zr_check "removed portal: the client is gone from the configuration" "$(grep -c 'gone-portal' "$ZR_CONFIG")" "0"
zr_check "removed portal: its professional login comes back as unauthorized_client, no code" \
  "$(zr_json "$out" 'd.get("oauth_error")') $(zr_json "$out" '"claims" in d')" "unauthorized_client False"
zr_check "removed portal: relay log names it" \
  "$(grep -c 'dezi login=k:[0-9a-f]* client=gone-portal no longer configured' "$ZR_TMP/relay.log")" "1"
zr_check "removed portal: Dezi's code was not redeemed for it" \
  "$(cat "$ZR_TMP"/mock-dezi*.log | grep -c 'token_issued' || true)" "$redeemed"

# --- 10b. A patient's choice at the chooser is judged under the
# configuration in use: a reload that took the care provider away from the
# portal while the chooser was shown refuses the login (invalid_request),
# as /authorize would.
cat > "$ZR_TMP/drop-twee.sh" <<SH
set -e
sed -i 's/^    care_providers: \[zorgaanbieder-demo, zorgaanbieder-twee\]\$/    care_providers: [zorgaanbieder-demo]/' "$ZR_CONFIG"
grep -q '^    care_providers: \[zorgaanbieder-demo\]\$' "$ZR_CONFIG"
reloads=\$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)
kill -HUP $RELAY_PID
until [ "\$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)" -gt "\$reloads" ]; do sleep 0.1; done
SH
out=$(login shared-portal "DigiD Substantieel" --care-provider zorgaanbieder-twee --method patient \
      --before-choice "timeout 60 bash $ZR_TMP/drop-twee.sh")
zr_check "care provider taken from the portal while the chooser was shown: invalid_request, no code" \
  "$(zr_json "$out" 'd.get("oauth_error")') $(zr_json "$out" '"claims" in d')" "invalid_request False"
zr_check "care provider taken from the portal: the relay log says so" \
  "$(grep -cE "client=shared-portal care provider no longer one of this client's trace=[0-9a-f]{32} ref=" "$ZR_TMP/relay.log")" "1"
out=$(login shared-portal "DigiD Substantieel" --care-provider zorgaanbieder-demo --method patient)
zr_check "the portal's remaining care provider still logs in through the chooser" \
  "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
# Every record of the decision log follows ADL 1.0 (issue 15 §4).
zr_check "decision log: every record ADL 1.0 (adl_check.py)" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/adl_check.py" "$LOG" 2>&1; echo "exit=$?")" "exit=0"
zr_check "decision log: records to check" "$(( $(wc -l < "$LOG") >= 10 ))" "1"
zr_done
