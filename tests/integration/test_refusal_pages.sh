#!/usr/bin/env bash
# Issue 18 §2: a login refused after the person acted at TVS shows the
# relay's own page in the login's language with ONE button; the button
# delivers exactly the OAuth error (error, error_description, state, iss,
# zr_reason), once. error_description follows ui_locales. error_pages:
# portal sends the redirect at once. Real binary, Redis, mock TVS.
source "$(dirname "$0")/lib.sh"
ZR_ERROR_PAGES=relay
zr_pki
zr_start_redis
zr_write_config
# demo-pgo opts out (error_pages: portal); demo-portal keeps the default.
$PY - "$ZR_CONFIG" <<'PYEND'
import sys
p = sys.argv[1]
s = open(p).read()
assert "error_pages" not in s
s = s.replace("  - client_id: demo-pgo\n", "  - client_id: demo-pgo\n    error_pages: portal\n", 1)
open(p, "w").write(s)
PYEND
zr_start_mock_tvs
zr_start_relay

# identity on the mock TVS | zr_reason | Dutch title | English title | acr_values
# The LoA page names what the level the portal asks for needs (demo-portal:
# substantieel, the DigiD app with ID-check; with acr_values high: DigiD
# Hoog), not one text for every level.
HIGH=http://eidas.europa.eu/LoA/high
CASES=(
  "Annuleren|cancelled|U heeft het inloggen afgebroken|You cancelled logging in|"
  "Verkeerd wachtwoord|authn_failed|Inloggen niet gelukt|Logging in did not succeed|"
  "NoAuthnContext|loa_too_low|Voor deze dienst is de DigiD app met ID-check nodig|This service needs the DigiD app with ID check|"
  "DigiD Basis|loa_too_low|Voor deze dienst is de DigiD app met ID-check nodig|This service needs the DigiD app with ID check|"
  "DigiD Substantieel|loa_too_low|Voor deze dienst is DigiD Hoog nodig|This service needs DigiD High|$HIGH"
)
# Every return handle a page offered, for the leak check at the end.
HANDLES="$ZR_TMP/handles.txt"
: > "$HANDLES"
ZR_LOGIN_EXTRA=(--secrets-out "$HANDLES")
for c in "${CASES[@]}"; do
  IFS='|' read -r who reason nl en acr <<<"$c"
  acr_args=(); [ -n "$acr" ] && acr_args=(--acr-values "$acr")
  for lang in nl en; do
    out=$(zr_login "$who" --ui-locales "$lang" --return-twice ${acr_args[@]+"${acr_args[@]}"} || true)
    title=$nl; [ "$lang" = en ] && title=$en
    zr_check "$who ($lang): the relay's page, not a redirect" "$(zr_json "$out" 'd["refusal_page"]["status"] in (403, 502, 503)')" "True"
    zr_check "$who ($lang): page in the ui_locales language" "$(zr_json "$out" 'd["refusal_page"]["lang"]')" "$lang"
    zr_check "$who ($lang): its title" "$(zr_json "$out" 'd["refusal_page"]["title"]')" "$title"
    zr_check "$who ($lang): exactly one button" "$(zr_json "$out" 'd["refusal_page"]["buttons"]')" "1"
    zr_check "$who ($lang): the header names the care provider" "$(zr_json "$out" 'd["refusal_page"]["provider"]')" \
      "Zorgaanbieder Demo (TEST)"
    want_button="Terug naar Demo patientportaal"; [ "$lang" = en ] && want_button="Back to Demo patientportaal"
    zr_check "$who ($lang): the button names the portal" "$(zr_json "$out" 'd["refusal_page"]["button_text"]')" "$want_button"
    zr_check "$who ($lang): no code in the page" "$(zr_json "$out" 'd["refusal_page"]["code_in_page"]')" "False"
    zr_check "$who ($lang): CSP lets the form reach the portal only" \
      "$(zr_json "$out" '"form-action '"'"'self'"'"' http://localhost:8000" in d["refusal_page"]["csp"]')" "True"
    zr_check "$who ($lang): the button delivers access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
    zr_check "$who ($lang): with the state" "$(zr_json "$out" 'd.get("state_ok")')" "True"
    zr_check "$who ($lang): with iss" "$(zr_json "$out" 'd.get("iss")')" "$ISSUER"
    zr_check "$who ($lang): with zr_reason" "$(zr_json "$out" 'd.get("zr_reason")')" "$reason"
    zr_check "$who ($lang): nothing else" "$(zr_json "$out" 'd.get("callback_params")')" \
      '["error", "error_description", "iss", "state", "zr_reason"]'
    zr_check "$who ($lang): the button works once" \
      "$(zr_json "$out" '(d["return_again"]["status"], d["return_again"]["code"], d["return_again"]["location"])')" \
      "(400, 'return_used', None)"
  done
done

# error_description follows ui_locales (Dutch with nl), English without it
out=$(zr_login "Annuleren" --ui-locales nl)
zr_check "ui_locales=nl: error_description in Dutch" "$(zr_json "$out" 'd.get("oauth_error_description")')" \
  "de gebruiker heeft het inloggen afgebroken"
out=$(zr_login "Annuleren" --ui-locales en)
zr_check "ui_locales=en: error_description in English, as before" "$(zr_json "$out" 'd.get("oauth_error_description")')" \
  "the user cancelled the login"
out=$(zr_login "Annuleren" --accept-language nl)
zr_check "no ui_locales, Dutch browser: the page in Dutch" "$(zr_json "$out" 'd["refusal_page"]["lang"]')" "nl"
zr_check "no ui_locales, Dutch browser: error_description stays English" \
  "$(zr_json "$out" 'd.get("oauth_error_description")')" "the user cancelled the login"

# error_pages: portal: the redirect at once, with the same parameters
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo \
  --private-key "$ZR_PKI/pgo-client.key" --kid="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")" \
  --redirect-uri http://127.0.0.1:8001/callback --identity "Annuleren" --ui-locales nl)
zr_check "error_pages portal: no relay page" "$(zr_json "$out" '"refusal_page" in d')" "False"
zr_check "error_pages portal: access_denied at once" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
zr_check "error_pages portal: zr_reason" "$(zr_json "$out" 'd.get("zr_reason")')" "cancelled"
zr_check "error_pages portal: state and iss" "$(zr_json "$out" '(d.get("state_ok"), d.get("iss"))')" "(True, '$ISSUER')"
zr_check "error_pages portal: Dutch error_description with ui_locales=nl" \
  "$(zr_json "$out" 'd.get("oauth_error_description")')" "de gebruiker heeft het inloggen afgebroken"

# A forged or unknown handle delivers nothing.
st=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -X POST --data 'handle=forged' "$ISSUER/authorize/return")
zr_check "unknown handle: 400, no redirect" "$st" "400 "

# The handles are bearer values: none in a log line or in Redis (names are
# keyed, values encrypted), in clear.
redis-cli -p "$REDIS_PORT" --scan > "$ZR_TMP/keys.txt"
while read -r k; do redis-cli -p "$REDIS_PORT" --raw GET "$k"; done < "$ZR_TMP/keys.txt" > "$ZR_TMP/values.bin" 2>/dev/null || true
cat "$ZR_TMP/keys.txt" >> "$ZR_TMP/values.bin"
leaks=0
while read -r h; do
  [ -n "$h" ] && grep -qaF -- "$h" "$ZR_TMP"/*.log "$ZR_TMP/values.bin" && { echo "a handle in a log or Redis: ${h:0:6}..." >&2; leaks=$((leaks+1)); }
done < "$HANDLES"
zr_check "no return handle in a log line or in Redis" "$leaks" "0"
zr_check "the leak search had handles to look for (one per refusal page, 13)" "$(grep -c . "$HANDLES")" "13"
zr_done
