#!/usr/bin/env bash
# The guided pre-production test run (issue 5 §3) and the SAML trace (§4),
# end to end: the relay with `trace:` on, the mock TVS, and `zorgrelay
# preprod-test`, with a script playing the tester (python3 + requests: it
# follows the test client's pages, logs in at the mock TVS with the identity
# each scenario asks for). preprod-test is killed and restarted half-way,
# once even while a login is at TVS; the results must survive. The report,
# the trace export and a Redis dump must hold no unmasked test BSN.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config

LIFETIME=4
zr_preprod_config "$LIFETIME"
# A rehearsal (issue 18 §4): environment preprod, against the mock TVS of
# the same configuration (and the mock Dezi on loopback http beside it).
sed -i 's/^environment: development$/environment: preprod/' "$ZR_CONFIG"
chmod 600 "$ZR_TMP/preprod-secret"
zr_check "rehearsal configuration (preprod, mocks) accepted" \
  "$("$ZR_BIN" check-config "$ZR_CONFIG" >"$ZR_TMP/check-config.out" 2>&1; echo $?)" "0"

zr_start_mock_tvs
zr_start_relay

start_pp() { zr_start_preprod; }

# The tester, scripted. Usage: tester.py BASE ACTION SCENARIO [IDENTITY] -> JSON
cat > "$ZR_TMP/tester.py" <<'EOF'
import json, sys, time, urllib.parse, html
sys.path.insert(0, sys.argv[1])
from e2e_login import forms_of, submit
import requests

base, action, scenario = sys.argv[2], sys.argv[3], sys.argv[4]
identity = sys.argv[5] if len(sys.argv) > 5 else None
jar = sys.argv[6] if len(sys.argv) > 6 else None
out = {}
b = requests.Session()

def status_of(page):
    import re
    m = re.search(r'id="scenario-status" data-status="([a-z_]+)"', page)
    return m.group(1) if m else None

def follow(r, limit=12):
    """Follows redirects and auto-submitting forms (SAML POST binding) like a browser."""
    for _ in range(limit):
        if r.status_code in (301, 302, 303):
            loc = urllib.parse.urljoin(r.url, r.headers["Location"])
            if "/saml/acs" in loc:
                out["acs_url"] = loc
            r = b.get(loc, allow_redirects=False, timeout=30)
            continue
        forms = forms_of(r.text) if r.status_code == 200 else []
        if forms and any(n in ("SAMLRequest", "SAMLResponse") for n, _ in forms[0]["fields"]):
            r = submit(b, r.url, forms[0])
            continue
        break
    return r

def scenario_page():
    return b.get(base + "/scenario?s=" + scenario, timeout=10)

if action == "login":
    wait = float(sys.argv[7]) if len(sys.argv) > 7 else 0
    r = b.post(base + "/start", data={"s": scenario}, allow_redirects=True, timeout=10)
    link = [l for l in __import__("re").findall(r'id="login-link" href="([^"]+)"', r.text)]
    if not link:
        print(json.dumps({"error": "no login link", "status": status_of(r.text)})); sys.exit(0)
    r = b.get(html.unescape(link[0]), allow_redirects=False, timeout=20)
    r = follow(r)                                   # relay -> auto-POST -> mock TVS login page
    if action == "login" and identity == "@stop":  # leave the tester at TVS (restart test)
        json.dump({"tvs_page": r.url, "cookies": b.cookies.get_dict(), "html": r.text}, open(jar, "w"))
        print(json.dumps({"stopped_at_tvs": True})); sys.exit(0)
    picker = None
    for f in forms_of(r.text):
        for btn in f["buttons"]:
            if identity.lower() in (btn["text"] + " " + (btn["value"] or "")).lower():
                picker = (f, btn)
    if not picker:
        print(json.dumps({"error": "identity not on the TVS page", "body": r.text[:300]})); sys.exit(0)
    if wait:
        time.sleep(wait)
    r = submit(b, r.url, picker[0], picker[1])
    r = follow(r)
    out["final_url"] = r.url
    out["final_status"] = r.status_code
    out["status"] = status_of(r.text) if r.url.startswith(base) else None
    if jar:
        json.dump({"acs_url": out.get("acs_url"), "cookies": b.cookies.get_dict()}, open(jar, "w"))
elif action == "resume":                            # finish a login left at TVS, after a restart
    saved = json.load(open(jar))
    b.cookies.update(saved["cookies"])
    for f in forms_of(saved["html"]):
        for btn in f["buttons"]:
            if identity.lower() in (btn["text"] + " " + (btn["value"] or "")).lower():
                r = submit(b, saved["tvs_page"], f, btn)
                r = follow(r)
                out["status"] = status_of(r.text)
                break
        if "status" in out:
            break
elif action == "replay":                            # the same artifact again, same browser
    saved = json.load(open(jar))
    b.cookies.update(saved["cookies"])
    r = b.get(saved["acs_url"], allow_redirects=False, timeout=20)
    out["replay_http"] = r.status_code
    out["replay_redirect"] = r.headers.get("Location", "")[:40]
elif action == "check":
    r = b.post(base + "/check", data={"s": scenario}, allow_redirects=True, timeout=30)
    out["status"] = status_of(r.text)
elif action == "logout":
    # log in first, then press Log out, follow the relay (and TVS) back
    r = b.post(base + "/start", data={"s": scenario}, allow_redirects=True, timeout=10)
    out["start_status"] = status_of(r.text)
    link = __import__("re").findall(r'id="login-link" href="([^"]+)"', r.text)
    if link:
        r = follow(b.get(html.unescape(link[0]), allow_redirects=False, timeout=20))
        for f in forms_of(r.text):
            for btn in f["buttons"]:
                if identity.lower() in (btn["text"] + " " + (btn["value"] or "")).lower():
                    r = follow(submit(b, r.url, f, btn))
                    break
        out["after_login"] = status_of(r.text)
        if 'id="logout-button"' in r.text:
            r = follow(b.post(base + "/logout", data={"s": scenario}, allow_redirects=False, timeout=20))
            out["final_url"] = r.url[:60]
    out["status"] = status_of(scenario_page().text)
elif action == "page":
    r = scenario_page()
    out["status"] = status_of(r.text)
    out["html"] = r.text
print(json.dumps(out))
EOF
T() { $PY "$ZR_TMP/tester.py" "$ZR_SOURCE_DIR/tests/integration" "$PP_BASE" "$@"; }

start_pp
idx=$(curl -s "$PP_BASE/")
zr_check "preprod-test on http: no HSTS" \
  "$(curl -s -D - -o /dev/null "$PP_BASE/" | grep -ci '^strict-transport-security')" "0"
zr_check "index lists login-substantial" "$(grep -c 'id="scenario-login-substantial"' <<<"$idx")" "1"
zr_check "index lists every scenario" "$(grep -o 'id="status-[a-z-]*"' <<<"$idx" | wc -l)" "9"
zr_check "rehearsal: banner on the test client's pages" \
  "$(grep -c 'id="rehearsal"' <<<"$idx")/$(curl -s "$PP_BASE/scenario?s=cancel" | grep -c 'id="rehearsal"')" "1/1"

# 1. A login per configured level (basic, substantial, high).
out=$(T login login-basic "DigiD Basis")
zr_check "login-basic passed" "$(zr_json "$out" 'd.get("status")')" "passed"
# The tester types in the test account used (zorgrelay cannot know it).
zr_check "account of login-basic saved" \
  "$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' --data-urlencode s=login-basic \
     --data-urlencode 'account=DigiD Basis (testaccount 3)' "$PP_BASE/account")" "303 $PP_BASE/scenario?s=login-basic"
zr_check "scenario page shows the account" \
  "$(curl -s "$PP_BASE/scenario?s=login-basic" | grep -c 'id="account-input" name="account" value="DigiD Basis (testaccount 3)"')" "1"
# The sign-off block, typed in on the index page.
zr_check "sign-off saved" \
  "$(curl -s -o /dev/null -w '%{http_code}' --data-urlencode 'tester=T. Ester' --data-urlencode 'organisation=Zorgaanbieder Demo' \
     --data-urlencode date=2026-12-06 --data-urlencode 'remarks=Alles volgens de checklist' "$PP_BASE/signoff")" "303"
out=$(T login login-substantial "DigiD Substantieel" "$ZR_TMP/jar-sub.json")
zr_check "login-substantial passed" "$(zr_json "$out" 'd.get("status")')" "passed"

# 2. Restart half-way: kill (hard) and start again; results are still there.
kill -9 "$PP_PID"; wait "$PP_PID" 2>/dev/null || true
start_pp
out=$(T page login-substantial)
zr_check "after a hard restart: login-substantial still passed" "$(zr_json "$out" 'd.get("status")')" "passed"

# 3. Restart while the tester is at TVS: the attempt is finished afterwards.
out=$(T login login-high "@stop" "$ZR_TMP/jar-high.json")
zr_check "login-high: tester waiting at TVS" "$(zr_json "$out" 'd.get("stopped_at_tvs")')" "True"
kill -TERM "$PP_PID"; wait "$PP_PID" 2>/dev/null || true
start_pp
out=$(T resume login-high "DigiD Hoog" "$ZR_TMP/jar-high.json")
zr_check "login-high finished after a restart mid-login" "$(zr_json "$out" 'd.get("status")')" "passed"

# 4. Cancel, too low, Machtigen.
out=$(T login cancel "Annuleren")
zr_check "cancel passed" "$(zr_json "$out" 'd.get("status")')" "passed"
out=$(T login loa-too-low "DigiD Substantieel")
zr_check "loa-too-low passed (high requested, substantial given)" "$(zr_json "$out" 'd.get("status")')" "passed"
out=$(T login machtigen "Ouder voor kind")
zr_check "machtigen passed" "$(zr_json "$out" 'd.get("status")')" "passed"

# The reason in the page's language (issue 5 §6): Dutch by default, English
# by Accept-Language; the parameter (representation type) in both.
reason_of() { grep -o 'id="scenario-reason">[^<]*' | sed 's/^id="scenario-reason">//'; }
nl=$(curl -s "$PP_BASE/scenario?s=machtigen" | reason_of)
en=$(curl -s -H 'Accept-Language: en' "$PP_BASE/scenario?s=machtigen" | reason_of)
zr_check "machtigen page (nl): Dutch reason with the representation type" \
  "$(grep -c '^Ingelogd namens een vertegenwoordigde patiënt (soort vertegenwoordiging: urn:nl-eid-gdi:1.1:RT:' <<<"$nl")" "1"
zr_check "machtigen page (en): English reason" \
  "$(grep -c '^represented patient with urn:nl-eid-gdi:1.1:RT:' <<<"$en")" "1"
nl=$(curl -s "$PP_BASE/scenario?s=login-basic" | reason_of)
en=$(curl -s -H 'Accept-Language: en' "$PP_BASE/scenario?s=login-basic" | reason_of)
zr_check "login-basic page (nl): Dutch reason" "$(grep -Ec '^Ingelogd op niveau [a-z]+ \(gevraagd: basic\)$' <<<"$nl")" "1"
zr_check "login-basic page (en): English reason" "$(grep -Ec '^logged in at [a-z]+ \(requested basic\)$' <<<"$en")" "1"
zr_check "index (nl): no English reason" "$(curl -s "$PP_BASE/" | grep -c 'represented patient with\|logged in at')" "0"

# The wait for the expired session, said exactly (LIFETIME seconds, not
# "a little over N+1 minutes").
zr_check "session-expired steps (nl): the lifetime exactly" \
  "$(curl -s "$PP_BASE/scenario?s=session-expired" | grep -c "sessieduur van de relay ($LIFETIME seconden)")" "1"
zr_check "session-expired steps (en): the lifetime exactly" \
  "$(curl -s -H 'Accept-Language: en' "$PP_BASE/scenario?s=session-expired" | grep -c "session lifetime ($LIFETIME seconds)")" "1"

# A scenario started again bundles only its new attempt: the files of the
# old one go at Start.
out=$(T login cancel "Annuleren")
zr_check "cancel bundled" "$([ -s "$REPORT/traces/cancel.json" ] && ls "$REPORT/traces/cancel/" | wc -l)" "3"
curl -s -o /dev/null --data-urlencode s=cancel "$PP_BASE/start"
zr_check "cancel started again: the old attempt's trace files are gone" \
  "$(ls "$REPORT/traces/" | grep -c '^cancel')" "0"
out=$(T login cancel "Annuleren")
zr_check "cancel passed again (second attempt)" "$(zr_json "$out" 'd.get("status")')" "passed"

# 5. Expired session: wait at TVS past the relay's session lifetime.
out=$(T login session-expired "DigiD Substantieel" "" $((LIFETIME + 2)))
zr_check "session-expired: browser stays at the relay's page" "$(zr_json "$out" 'd.get("status")')" "None"
out=$(T check session-expired)
zr_check "session-expired passed (seen in the trace)" "$(zr_json "$out" 'd.get("status")')" "passed"

# 6. Artifact replay: log in, then present the same artifact again.
out=$(T login artifact-replay "DigiD Substantieel" "$ZR_TMP/jar-replay.json")
zr_check "artifact-replay: first login, waiting for the replay" "$(zr_json "$out" 'd.get("status")')" "waiting"
out=$(T replay artifact-replay "" "$ZR_TMP/jar-replay.json")
zr_check "replayed artifact: relay answers with a page, no code" "$(zr_json "$out" 'd.get("replay_http")')" "400"
out=$(T check artifact-replay)
zr_check "artifact-replay passed" "$(zr_json "$out" 'd.get("status")')" "passed"

# 7. Logout (RP-initiated) when the relay offers it, else 'not available'.
out=$(T logout logout "DigiD Substantieel")
lo=$(zr_json "$out" 'd.get("status")')
if curl -s "$ISSUER/.well-known/openid-configuration" | grep -q end_session_endpoint; then
  zr_check "logout passed (end_session_endpoint offered)" "$lo" "passed"
else
  zr_check "logout not available (no end_session_endpoint)" "$lo" "not_available"
fi

# 8. The report.
kill -TERM "$PP_PID"; wait "$PP_PID" 2>/dev/null || true
R="$REPORT/preprod-report.json"
zr_check "report: JSON and Markdown written" "$([ -s "$R" ] && [ -s "$REPORT/preprod-report.md" ] && echo yes)" "yes"
rep=$(cat "$R")
zr_check "report: every item passed or not available" \
  "$(zr_json "$rep" 'all(i["status"] in ("passed", "not_available") for i in d["items"])')" "True"
zr_check "report: complete" "$(zr_json "$rep" 'd["summary"]["complete"]')" "True"
zr_check "report: names DICTU's checklist" "$(zr_json "$rep" '"Checklist testen" in d["checklist"]')" "True"
zr_check "report: masked BSN of the substantial login" \
  "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="login-substantial"][0]["result"]["bsn"]')" "******019"
zr_check "report: LoA reached (acr) of login-high" \
  "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="login-high"][0]["result"]["acr"]')" "http://eidas.europa.eu/LoA/high"
zr_check "report: SAML status codes of the cancel" \
  "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="cancel"][0]["result"]["saml_status_codes"][-1].endswith("AuthnFailed")')" "True"
zr_check "report: SAML message IDs recorded" \
  "$(zr_json "$rep" 'bool([i for i in d["items"] if i["scenario"]=="login-basic"][0]["result"]["saml_message_ids"]["Assertion"]["ID"])')" "True"
zr_check "report: representation of the Machtigen login" \
  "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="machtigen"][0]["result"]["represents"]["bsn"]')" "******056"
zr_check "report: subject types from TVS" \
  "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="machtigen"][0]["result"]["subject_types"]')" \
  '["urn:nl-eid-gdi:1.0:id:legacy-BSN", "urn:nl-eid-gdi:1.0:id:legacy-BSN"]'
zr_check "report: the reason as code, parameters and both texts" \
  "$(zr_json "$rep" '[(r["code"], r["params"]["reached"], r["nl"].startswith("Ingelogd op niveau high"), r["en"].startswith("logged in at high")) for r in [[i for i in d["items"] if i["scenario"]=="login-high"][0]["reason"]]][0]')" \
  "('loa_reached', 'high', True, True)"
zr_check "report (Markdown, for DICTU): reasons in Dutch (in the table and the scenario's details)" \
  "$(grep -c 'Ingelogd namens een vertegenwoordigde patiënt' "$REPORT/preprod-report.md")" "2"
zr_check "report: the test environment's address for DICTU, no credentials" \
  "$(grep -c '^| Testclient | http://localhost:' "$REPORT/preprod-report.md")/$(zr_json "$(cat "$R")" 'd["dictu_access"]["test_client_url"].startswith("http://localhost:")')" "1/True"
zr_check "report: timings" "$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="login-basic"][0]["result"]["login_ms"] > 0')" "True"

# 8b. What the run was made with (issue 18 §4), in the JSON and, for
#     DICTU, readable in the Markdown and the HTML.
MD="$REPORT/preprod-report.md"
HT="$REPORT/preprod-report.html"
META="$ZR_TMP/mock-tvs-metadata.xml"
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'; }
subj() { openssl x509 -in "$1" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
cfgv() { $PY -c "import yaml,sys; c=yaml.safe_load(open(sys.argv[1])); print(eval(sys.argv[2]))" "$ZR_CONFIG" "$1"; }
SIGN_CERT=$(cfgv 'c["saml"]["signing"]["cert"]')
TLS_CERT=$(cfgv 'c["saml"]["tls_client"]["cert"]')
BSN_CERT=$(cfgv '[t for t in c["care_providers"] if t["id"]=="zorgaanbieder-demo"][0]["bsn_keys"][0]["cert"]')
CP_NAME=$(cfgv '[t for t in c["care_providers"] if t["id"]=="zorgaanbieder-demo"][0]["name"]')
CP_OIN=$(cfgv '[t for t in c["care_providers"] if t["id"]=="zorgaanbieder-demo"][0]["oin"]')
TVS_EID=$(cfgv 'c["tvs"]["entity_id"]')
VERSION=$("$ZR_BIN" version | awk '{print $2}')
META_SHA=$(sha256sum "$META" | cut -d' ' -f1)
META_UNTIL=$(grep -o 'validUntil="[^"]*"' "$META" | head -1 | sed 's/validUntil="//; s/"$//')
row() { grep -cF "| $1 | $2 |" "$MD"; }
zr_check "report JSON: setup (version, TVS, metadata, care provider)" \
  "$(zr_json "$rep" '[d["setup"]["zorgrelay_version"], d["setup"]["tvs"]["entity_id"], d["setup"]["tvs"]["metadata"]["sha256"], d["setup"]["tvs"]["metadata"]["valid_until"], d["setup"]["care_provider"]["name"], d["setup"]["care_provider"]["oin"]]')" \
  "$(zr_json "[\"$VERSION\", \"$TVS_EID\", \"$META_SHA\", \"$META_UNTIL\", \"$CP_NAME\", \"$CP_OIN\"]" 'd')"
zr_check "report JSON: certificates (use, SHA-256)" \
  "$(zr_json "$rep" '[(c["use"], c["sha256"]) for c in d["setup"]["certificates"]]')" \
  "[[\"saml_signing\", \"$(fp "$SIGN_CERT")\"], [\"tls_client\", \"$(fp "$TLS_CERT")\"], [\"bsn_decryption\", \"$(fp "$BSN_CERT")\"]]"
zr_check "report: zorgrelay version" "$(row zorgrelay-versie "$VERSION")" "1"
zr_check "report: TVS entityID" "$(row 'EntityID TVS' "$TVS_EID")" "1"
zr_check "report: TVS metadata source, validUntil, SHA-256" \
  "$(row 'TVS-metadata (bron)' "$META")/$(row 'TVS-metadata validUntil' "$META_UNTIL")/$(row 'TVS-metadata SHA-256' "$META_SHA")" "1/1/1"
zr_check "report: care provider name and OIN" "$(row Zorgaanbieder "$CP_NAME")/$(row 'OIN zorgaanbieder' "$CP_OIN")" "1/1"
zr_check "report: signing certificate subject and fingerprint" \
  "$(grep -cF "| Certificaat SAML-ondertekening | $(subj "$SIGN_CERT"); SHA-256 $(fp "$SIGN_CERT");" "$MD")" "1"
zr_check "report: TLS client certificate subject and fingerprint" \
  "$(grep -cF "| Certificaat TLS-client (artifact) | $(subj "$TLS_CERT"); SHA-256 $(fp "$TLS_CERT");" "$MD")" "1"
zr_check "report: BSN decryption certificate subject and fingerprint" \
  "$(grep -cF "| Certificaat BSN-ontsleuteling | $(subj "$BSN_CERT"); SHA-256 $(fp "$BSN_CERT");" "$MD")" "1"
# Per scenario: start (RFC 3339), duration, attempts, account.
sect() { awk -v h="($1):" 'index($0, "### ") == 1 {on = index($0, h) > 0} on' "$MD"; }
zr_check "report: login-basic start time (RFC 3339)" \
  "$(sect login-basic | grep -cE '^\| Begonnen \| [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z \|$')" "1"
zr_check "report: login-basic duration and attempts" \
  "$(sect login-basic | grep -cE '^\| (Duur \| [0-9]+,[0-9]{3} s|Pogingen \| 1) \|$')" "2"
zr_check "report: login-high one attempt (finished after the restart)" \
  "$(zr_json "$rep" '[i["attempts"] for i in d["items"] if i["scenario"]=="login-high"][0]')" "1"
zr_check "report: the account the tester typed in" \
  "$(sect login-basic | grep -cF '| Testaccount | DigiD Basis (testaccount 3) |')" "1"
zr_check "report: cancel took four attempts (each Start counts)" "$(sect cancel | grep -cF '| Pogingen | 4 |')" "1"
zr_check "report: no account invented where none was typed" \
  "$(sect cancel | grep -cF '| Testaccount | (niet ingevuld door de tester) |')/$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="cancel"][0].get("account") is None')" "1/True"
# Logout: the LogoutRequest and TVS's LogoutResponse from the trace.
LREQ=$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="logout"][0]["result"]["logout_messages"]["LogoutRequest"]["id"]')
zr_check "report JSON: LogoutResponse answers the LogoutRequest, Success" \
  "$(zr_json "$rep" '[(m["in_response_to"], m["status"][0]) for m in [[i for i in d["items"] if i["scenario"]=="logout"][0]["result"]["logout_messages"]["LogoutResponse"]]][0]')" \
  "('$LREQ', 'urn:oasis:names:tc:SAML:2.0:status:Success')"
zr_check "report: LogoutRequest ID and LogoutResponse status in the Markdown" \
  "$(sect logout | grep -cF "| LogoutRequest | ID $LREQ")/$(sect logout | grep -cE "^\| LogoutResponse \| ID _[0-9a-zA-Z_-]+, antwoord op $LREQ, status urn:oasis:names:tc:SAML:2.0:status:Success \|$")" "1/1"
# The masked messages themselves, bundled (not only a localhost link).
zr_check "bundle: every finished scenario has its trace" \
  "$(for s in login-basic login-substantial login-high cancel loa-too-low machtigen logout session-expired artifact-replay; do
       [ -s "$REPORT/traces/$s.json" ] && [ -s "$REPORT/traces/$s.txt" ] && echo ok; done | wc -l)" "9"
zr_check "bundle: the machtigen trace is the relay's export as it is" \
  "$($PY -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); print(a==b)' \
       "$REPORT/traces/machtigen.json" <(curl -s "$ISSUER/trace.json?id=$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="machtigen"][0]["result"]["trace_id"]')"))" "True"
zr_check "bundle: one XML file per SAML message of login-basic" \
  "$(ls "$REPORT/traces/login-basic/" | tr '\n' ' ')" \
  "02-saml.authn_request.xml 04-saml.artifact_resolve.xml 05-saml.artifact_response.xml "
zr_check "bundle: the ArtifactResponse XML masked like the trace page (CipherValue shortened)" \
  "$(grep -c 'chars)</xenc:CipherValue>' "$REPORT/traces/machtigen/05-saml.artifact_response.xml" | sed 's/^[1-9][0-9]*$/yes/')" "yes"
zr_check "bundle: the logout messages as XML" \
  "$(ls "$REPORT/traces/logout/" | grep -c 'logout.Logout\(Request\|Response\).xml')" "2"
zr_check "report: names the bundled files" "$(sect machtigen | grep -cF -- '- [traces/machtigen/05-saml.artifact_response.xml](traces/machtigen/05-saml.artifact_response.xml)')" "1"
zr_check "report JSON: the bundled files per item" \
  "$(zr_json "$rep" '"traces/machtigen.json" in [i for i in d["items"] if i["scenario"]=="machtigen"][0]["trace_files"]')" "True"
zr_check "bundle: signatures indented like the rest of the message" \
  "$(grep -cE '^    <ds:SignedInfo>$' "$REPORT/traces/login-basic/02-saml.authn_request.xml")/$(grep -cE '^      <ds:SignatureMethod ' "$REPORT/traces/login-basic/02-saml.authn_request.xml")" "1/1"
zr_check "report: the masked BSN, its asterisks escaped (not Markdown emphasis)" \
  "$(sect login-substantial | grep -cF '| BSN (gemaskeerd) | \*\*\*\*\*\*019 |')" "1"
# Readable: no raw JSON in the Markdown.
zr_check "report: no JSON blobs in the Markdown" "$(grep -cE '[{}]|\["|`' "$MD")" "0"
# Sign-off.
zr_check "report: sign-off block" \
  "$(grep -cE '^\| (Tester \| T\. Ester|Organisatie \| Zorgaanbieder Demo|Datum \| 2026-12-06|Opmerkingen \| Alles volgens de checklist) \|$' "$MD")/$(zr_json "$rep" 'd["signoff"]["tester"]')" "4/T. Ester"
# A rehearsal, and never to be mistaken for evidence: flagged in the JSON,
# in the title, before every scenario of the Markdown and on every printed
# page of the HTML/PDF (a fixed header).
zr_check "report JSON: rehearsal flagged by the tool" "$(zr_json "$rep" '(d["rehearsal"], d["setup"]["rehearsal_reason"], d["environment"])')" "(True, 'mock_metadata', 'preprod')"
zr_check "report: rehearsal in the title" "$(head -1 "$MD" | grep -c '^# REPETITIE (mock-TVS)')" "1"
zr_check "report: rehearsal mark before every scenario" \
  "$(grep -c '^> \*\*REPETITIE tegen de mock-TVS: geen bewijs voor DICTU\*\*' "$MD")" "$((9 + 2))"
zr_check "report HTML: rehearsal box on top, a mark in every printed page's margin" \
  "$(grep -c '<div class="rehearsal" id="rehearsal">REPETITIE' "$HT")/$(grep -c '@top-center{content:"REPETITIE tegen de mock-TVS: geen bewijs voor DICTU"' "$HT")" "1/1"
# The HTML report has every Markdown fact too (same walk).
zr_check "report HTML: setup and sign-off" \
  "$(grep -c "<th scope=\"row\">TVS-metadata SHA-256</th><td>$META_SHA</td>" "$HT")/$(grep -c '<th scope="row">Tester</th><td>T. Ester</td>' "$HT")" "1/1"
# The PDF, printed by Chromium from the HTML (`preprod-test --pdf`).
CHROMIUM=${ZR_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then
  "$ZR_BIN" preprod-test "$ZR_CONFIG" --report "$REPORT" --pdf --chromium "$CHROMIUM" >"$ZR_TMP/pdf.log" 2>&1
  zr_check "preprod-test --pdf: exit 0" "$?" "0"
  zr_check "PDF: is a PDF" "$(head -c 5 "$REPORT/preprod-report.pdf")" "%PDF-"
  zr_check "PDF: has text" \
    "$($PY "$ZR_SOURCE_DIR/tests/integration/pdf_text.py" --has-text "$REPORT/preprod-report.pdf")" "yes"
  # Its text, page by page (pdf_text.py decodes the fonts' ToUnicode maps).
  $PY "$ZR_SOURCE_DIR/tests/integration/pdf_text.py" --pages "$REPORT/preprod-report.pdf" > "$ZR_TMP/report-pdf-pages.txt"
  zr_check "PDF: several pages, every one marked as a rehearsal at its top" \
    "$([ "$(wc -l < "$ZR_TMP/report-pdf-pages.txt")" -ge 2 ] && echo pages)/$(grep -vc '^REPETITIE tegen de mock-TVS: geen bewijs voor DICTU' "$ZR_TMP/report-pdf-pages.txt")" "pages/0"
  zr_check "PDF text: setup, a result, a masked BSN and the sign-off" \
    "$(tr -d '\n' < "$ZR_TMP/report-pdf-pages.txt" | grep -o "OIN zorgaanbieder $CP_OIN\|Tester T. Ester\|BSN (gemaskeerd) \*\*\*\*\*\*019" | sort -u | wc -l)" "3"
  # With poppler's pdftotext the PDF's text itself is searched too (else
  # the BSN checks below read the HTML it was printed from).
  if command -v pdftotext >/dev/null; then
    pdftotext "$REPORT/preprod-report.pdf" "$ZR_TMP/report-pdf.txt"
    zr_check "PDF text: the rehearsal mark and the metadata's SHA-256 (wrapped lines joined)" \
      "$(grep -c 'REPETITIE' "$ZR_TMP/report-pdf.txt" | sed 's/^[1-9][0-9]*$/yes/')/$(tr -d ' \n' < "$ZR_TMP/report-pdf.txt" | grep -c "$META_SHA")" "yes/1"
  fi
else
  zr_check "chromium for the PDF ($CHROMIUM)" "missing" "present"
fi

# 9. The trace: page and export, masked; never an unmasked test BSN.
TID=$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="machtigen"][0]["result"]["trace_id"]')
curl -s "$ISSUER/trace.json?id=$TID" > "$ZR_TMP/trace.json"
curl -s "$ISSUER/trace?id=$TID" > "$ZR_TMP/trace.html"
tr=$(cat "$ZR_TMP/trace.json")
zr_check "trace: events in order" "$(zr_json "$tr" '[e["kind"] for e in d["events"]]')" \
  '["oidc.authorization_request", "saml.authn_request", "saml.artifact", "saml.artifact_resolve", "saml.artifact_response", "saml.validation", "oidc.authorization_response", "oidc.token"]'
zr_check "trace: AuthnRequest signature shortened" "$(zr_json "$tr" '"chars)</ds:SignatureValue>" in d["events"][1]["data"]["xml"]')" "True"
zr_check "trace: CipherValue shortened" "$(zr_json "$tr" '"chars)</xenc:CipherValue>" in d["events"][4]["data"]["xml"]')" "True"
zr_check "trace: masked subjects in the validation" "$(zr_json "$tr" 'd["events"][5]["data"]["subject"]["legal"]["value"]')" "******056"
zr_check "trace: token exchange without code or token" "$(zr_json "$tr" '__import__("re").fullmatch(r"k:[0-9a-f]{16}", d["events"][7]["data"]["request"]["code"]) is not None')" "True"
zr_check "trace page: rendered with stable ids" "$(grep -c 'id="event-8"' "$ZR_TMP/trace.html")" "1"
# The trace page (issue 18 §4): a TEST header, not the production look; the
# summary (outcome, times) before the messages; the full trace id; a way
# back to the test client; signatures indented.
zr_check "trace page: TEST header" \
  "$(grep -c '<body class="test">' "$ZR_TMP/trace.html")/$(grep -c 'class="brand">TEST — zorgrelay trace, geen productie<' "$ZR_TMP/trace.html")" "1/1"
zr_check "trace page: the summary comes before the steps" \
  "$(awk '/id="trace-summary"/ {s=NR} /id="trace-events"/ {e=NR} END {print (s && e && s < e) ? "yes" : "no"}' "$ZR_TMP/trace.html")" "yes"
zr_check "trace page: outcome and validation in the summary" \
  "$(grep -o 'id="trace-outcome">[^<]*' "$ZR_TMP/trace.html")|$(grep -o 'id="trace-validation">[^<]*' "$ZR_TMP/trace.html")" \
  'id="trace-outcome">ingelogd: het portaal kreeg een code, ingewisseld voor tokens|id="trace-validation">ok'
zr_check "trace page: first and last step, duration" \
  "$(grep -cE 'id="trace-(started|last)">[0-9]{4}-[0-9]{2}-[0-9]{2}T|id="trace-duration">[0-9]+ ms<' "$ZR_TMP/trace.html")" "3"
zr_check "trace page: the full trace id" "$(grep -c "id=\"trace-id\">$TID<" "$ZR_TMP/trace.html")" "1"
zr_check "trace page: back to the test client" "$(grep -c "id=\"trace-back\" href=\"$PP_BASE/\"" "$ZR_TMP/trace.html")" "1"
zr_check "trace page: signatures indented" "$(grep -cE '^    &lt;ds:SignedInfo&gt;$' "$ZR_TMP/trace.html" | sed 's/^[1-9][0-9]*$/yes/')" "yes"
cancel_tid=$(zr_json "$rep" '[i for i in d["items"] if i["scenario"]=="cancel"][0]["result"]["trace_id"]')
zr_check "trace page (en) of the cancel: the error the portal got" \
  "$(curl -s -H 'Accept-Language: en' "$ISSUER/trace?id=$cancel_tid" | grep -o 'id="trace-outcome">[^<]*')" \
  'id="trace-outcome">not logged in: the portal got the error access_denied'
zr_check "trace: unknown id -> 404" "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/trace?id=0123456789abcdef0123456789abcdef")" "404"
zr_check "trace lookup: wrong secret -> 401" \
  "$(curl -s -o /dev/null -w '%{http_code}' -u zorgrelay-preprod-test:wrong -d state=x "$ISSUER/trace/lookup")" "401"

leaks=0
redis-cli -p "$REDIS_PORT" SAVE >/dev/null
for bsn in 999990019 999990020 999990032 999990044 999990056; do
  for f in "$ZR_TMP/trace.json" "$ZR_TMP/trace.html" "$R" "$REPORT/preprod-report.md" "$REPORT/preprod-report.html" \
           $( [ -f "$ZR_TMP/report-pdf.txt" ] && echo "$ZR_TMP/report-pdf.txt") "$ZR_TMP/report-pdf-pages.txt" \
           $(find "$REPORT/traces" -type f) "$STATE" \
           "$ZR_TMP/redis/dump.rdb" "$ZR_TMP/relay.log" "$ZR_TMP/preprod.log"; do
    grep -qa "$bsn" "$f" && { echo "BSN $bsn in $f" >&2; leaks=$((leaks+1)); }
  done
done
for f in "$ZR_TMP/relay.log" "$ZR_TMP/preprod.log"; do
  grep -q "$TID" "$f" && { echo "a full trace id in $f" >&2; leaks=$((leaks+1)); }
done
grep -q "$SECRET" "$STATE" "$R" "$ZR_TMP/relay.log" "$ZR_TMP/preprod.log" && { echo "client secret leaked" >&2; leaks=$((leaks+1)); }
zr_check "no unmasked BSN, full trace id or secret in exports, report, state, Redis dump, logs" "$leaks" "0"
zr_check "the exports did hold masked BSNs (test is meaningful)" "$(grep -c '\*\*\*\*\*\*056' "$ZR_TMP/trace.json")" "1"
# Nor a BSN recoverable from an 8-character MD5/SHA-1/SHA-256 prefix (hex,
# base64url) of it, in these nor in the preprod client's pages (issue 12 §1).
zr_check "no BSN nor a hash prefix of one in exports, report, state, Redis dump, logs" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/secrecy_scan.py" --value 999990019 --value 999990020 --value 999990032 \
       --value 999990044 --value 999990056 "$ZR_TMP/trace.json" "$ZR_TMP/trace.html" "$R" "$REPORT/preprod-report.md" \
       "$REPORT/preprod-report.html" "$ZR_TMP/report-pdf-pages.txt" $(find "$REPORT/traces" -type f) \
       "$STATE" "$ZR_TMP/redis/dump.rdb" "$ZR_TMP/relay.log" "$ZR_TMP/preprod.log" "$ZR_TMP/mock-tvs.log" >&2; echo $?)" "0"

# 9b. HSTS: the test client behind a TLS proxy (an https public_base_url)
#     sends Strict-Transport-Security on its pages, the server's own 404
#     included (on plain http, PP_BASE, none: checked at the index above).
PP2_PORT=$(zr_free_port)
sed -e "s#^  public_base_url: $PP_BASE\$#  public_base_url: https://localhost:$PP2_PORT#" \
    -e "s#^  listen: 127.0.0.1:$PP_PORT\$#  listen: 127.0.0.1:$PP2_PORT#" \
    -e "s#^      - $PP_BASE/callback\$#      - $PP_BASE/callback\n      - https://localhost:$PP2_PORT/callback#" \
    -e "s#^  state_file: .*#  state_file: $ZR_TMP/preprod-https-state.json#" \
    "$ZR_CONFIG" > "$ZR_TMP/preprod-https.yaml"
mkdir -p "$ZR_TMP/report-https"
"$ZR_BIN" preprod-test "$ZR_TMP/preprod-https.yaml" --report "$ZR_TMP/report-https" >>"$ZR_TMP/preprod-https.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$PP2_PORT"
hsts_of() { curl -s -D - -o /dev/null "$1" | tr -d '\r' | awk 'NR==1 {s=$2} tolower($1)=="strict-transport-security:" {v=$2} END {print s, v}'; }
zr_check "preprod-test behind https: HSTS on its index page" "$(hsts_of "http://127.0.0.1:$PP2_PORT/")" "200 max-age=31536000"
zr_check "preprod-test behind https: HSTS on its 404" "$(hsts_of "http://127.0.0.1:$PP2_PORT/nowhere")" "404 max-age=31536000"

# 10. Production refuses both sections, each with one line naming the key.
sed -e 's/environment: preprod/environment: production/' "$ZR_CONFIG" > "$ZR_TMP/prod.yaml"
errs=$("$ZR_BIN" check-config "$ZR_TMP/prod.yaml" 2>&1 || true)
zr_check "production: trace.enabled refused" "$(grep -c 'trace.enabled: tracing is refused in production' <<<"$errs")" "1"
zr_check "production: preprod_test refused" "$(grep -c 'preprod_test: the pre-production test client is refused in production' <<<"$errs")" "1"
zr_check "preprod-test refuses production" "$("$ZR_BIN" preprod-test "$ZR_TMP/prod.yaml" >/dev/null 2>&1; echo $?)" "1"

zr_done
