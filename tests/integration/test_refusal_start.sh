#!/usr/bin/env bash
# Issue 18 §2, what the first pass left: a login that cannot START after
# the person chose at the chooser (TVS metadata unusable, Dezi unreachable)
# is refused like every refusal after the person acted: the relay's page in
# the login's language with one button (error_pages: relay), or the
# redirect at once (error_pages: portal); both with zr_reason and an
# error_description that follows ui_locales. The same failures straight
# from /authorize, and /authorize's own refusals back to the portal, go
# back at once (the person has not acted yet), also with a Dutch
# error_description under ui_locales=nl and a zr_reason where a portal can
# act on it. Real binary and Redis; the mock TVS and mock Dezi are NOT
# started, so the relay has no TVS metadata and Dezi cannot be reached.
source "$(dirname "$0")/lib.sh"
ZR_ERROR_PAGES=relay
zr_pki
zr_start_redis
zr_write_config
# demo-direct: demo-portal's twin that opts out of the relay's pages.
$PY - "$ZR_CONFIG" <<'PYEND'
import sys
p = sys.argv[1]
s = open(p).read()
assert "error_pages" not in s
twin = """  - client_id: demo-direct
    name: Demo direct
    care_provider: zorgaanbieder-demo
    auth_method: client_secret_basic
    client_secret: demo-direct-secret
    redirect_uris: [http://localhost:8000/callback]
    min_loa: substantial
    home_page: http://localhost:8000/
    login_methods: [patient, professional]
    allow_unmapped_roles: true
    error_pages: portal
"""
s = s.replace("  - client_id: demo-pgo\n", twin + "  - client_id: demo-pgo\n", 1)
open(p, "w").write(s)
PYEND
zr_start_relay
zr_check "the relay runs without TVS metadata (it says so)" \
  "$(grep -c 'TVS metadata' "$ZR_TMP/relay.log" | awk '{print ($1 > 0)}')" "1"

# login CLIENT SECRET [e2e_login args]
login() {
  local client=$1 secret=$2; shift 2
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity unused "$@" || true
}
# RFC 6749 §4.1.2.1: error_description is %x20-21 / %x23-5B / %x5D-7E only.
rfc_safe='(lambda t: t is not None and all(0x20 <= ord(ch) <= 0x7e and ch not in "\"\\\\" for ch in t))(d.get("oauth_error_description"))'

# 1. After the chooser. method | zr_reason | OAuth error | page code | nl title | en title | nl text | en text
CASES=(
  "patient|tvs_unavailable|temporarily_unavailable|tvs_unavailable|Inlogdienst niet bereikbaar|Login service unreachable|de inlogdienst (TVS) kan op dit moment niet worden gebruikt|the login service (TVS) cannot be used right now"
  "professional|dezi_unavailable|temporarily_unavailable|dezi_unavailable|Inloggen als zorgverlener niet mogelijk|Professional login not possible|de inlogdienst voor zorgverleners (Dezi) kan op dit moment niet worden gebruikt|the professionals' login service (Dezi) cannot be used right now"
)
HANDLES="$ZR_TMP/handles.txt"
: > "$HANDLES"
for c in "${CASES[@]}"; do
  IFS='|' read -r method reason error code nl_title en_title nl_text en_text <<<"$c"
  for lang in nl en; do
    title=$nl_title text=$nl_text
    [ "$lang" = en ] && title=$en_title text=$en_text
    t="$method chosen, cannot start ($lang)"
    out=$(login demo-portal demo-portal-secret --method "$method" --ui-locales "$lang" --return-twice --secrets-out "$HANDLES")
    zr_check "$t: the chooser came first" "$(zr_json "$out" 'd.get("chooser")')" "True"
    zr_check "$t: the relay's page (503), not a redirect" "$(zr_json "$out" '(d.get("refusal_page") or {}).get("status")')" "503"
    zr_check "$t: page $code" "$(zr_json "$out" '(d.get("refusal_page") or {}).get("code")')" "$code"
    zr_check "$t: in the login's language" "$(zr_json "$out" '(d.get("refusal_page") or {}).get("lang")')" "$lang"
    zr_check "$t: its title" "$(zr_json "$out" '(d.get("refusal_page") or {}).get("title")')" "$title"
    zr_check "$t: exactly one button" "$(zr_json "$out" '(d.get("refusal_page") or {}).get("buttons")')" "1"
    zr_check "$t: the header names the care provider" \
      "$(zr_json "$out" '(d.get("refusal_page") or {}).get("provider")')" "Zorgaanbieder Demo (TEST)"
    zr_check "$t: the button delivers $error" "$(zr_json "$out" 'd.get("oauth_error")')" "$error"
    zr_check "$t: zr_reason $reason" "$(zr_json "$out" 'd.get("zr_reason")')" "$reason"
    zr_check "$t: error_description in $lang" "$(zr_json "$out" 'd.get("oauth_error_description")')" "$text"
    zr_check "$t: error_description RFC 6749 safe" "$(zr_json "$out" "$rfc_safe")" "True"
    zr_check "$t: state and iss" "$(zr_json "$out" '(d.get("state_ok"), d.get("iss"))')" "(True, '$ISSUER')"
    zr_check "$t: nothing else" "$(zr_json "$out" 'd.get("callback_params")')" \
      '["error", "error_description", "iss", "state", "zr_reason"]'
    zr_check "$t: the button works once" "$(zr_json "$out" '(d.get("return_again") or {}).get("code")')" "return_used"

    t="$method chosen, cannot start, error_pages portal ($lang)"
    out=$(login demo-direct demo-direct-secret --method "$method" --ui-locales "$lang")
    zr_check "$t: the chooser came first" "$(zr_json "$out" 'd.get("chooser")')" "True"
    zr_check "$t: no relay page" "$(zr_json "$out" '"refusal_page" in d')" "False"
    zr_check "$t: $error at once" "$(zr_json "$out" 'd.get("oauth_error")')" "$error"
    zr_check "$t: zr_reason $reason" "$(zr_json "$out" 'd.get("zr_reason")')" "$reason"
    zr_check "$t: error_description in $lang" "$(zr_json "$out" 'd.get("oauth_error_description")')" "$text"
    zr_check "$t: state and iss" "$(zr_json "$out" '(d.get("state_ok"), d.get("iss"))')" "(True, '$ISSUER')"
  done
done

# 2. The same failures without the chooser (login_method given): the
# person has not acted, the portal is told at once even with the relay's
# pages on; the description follows ui_locales, English without it.
for c in "${CASES[@]}"; do
  IFS='|' read -r method reason error code nl_title en_title nl_text en_text <<<"$c"
  for lang in nl en none; do
    t="login_method=$method, cannot start (ui_locales $lang)"
    args=(--login-method "$method" --method "$method")
    [ "$lang" != none ] && args+=(--ui-locales "$lang")
    text=$en_text; [ "$lang" = nl ] && text=$nl_text
    out=$(login demo-portal demo-portal-secret "${args[@]}" --accept-language nl)
    zr_check "$t: no chooser, no page" "$(zr_json "$out" '(d.get("chooser"), "refusal_page" in d)')" "(None, False)"
    zr_check "$t: $error at once" "$(zr_json "$out" 'd.get("oauth_error")')" "$error"
    zr_check "$t: zr_reason $reason" "$(zr_json "$out" 'd.get("zr_reason")')" "$reason"
    zr_check "$t: error_description" "$(zr_json "$out" 'd.get("oauth_error_description")')" "$text"
  done
done

# 3. /authorize's own refusals back to the portal (RFC 6749 §4.1.2.1):
# at once, Dutch with ui_locales=nl, RFC 6749 safe, zr_reason where a
# portal can act. extra parameters | error | zr_reason ("-": none) | nl text
VCASES=(
  "prompt=none|login_required|prompt_none_not_possible|er is geen inlogsessie: inloggen bij TVS is nodig, zonder de gebruiker kan dat niet"
  "care_provider=elders|invalid_request|care_provider_not_allowed|care_provider is niet een van de zorgaanbieders van dit portaal"
  "claims={\"id_token\":{\"acr\":{\"essential\":true,\"values\":[\"urn:onbekend\"]}}}|invalid_request|loa_not_offered|claims: geen van de verplichte acr-waarden wordt aangeboden"
  "response_type=token|unsupported_response_type|-|alleen response_type=code wordt ondersteund"
  "max_age=tien|invalid_request|-|max_age moet een niet-negatief aantal seconden zijn"
)
for c in "${VCASES[@]}"; do
  IFS='|' read -r extra error reason nl_text <<<"$c"
  for lang in nl en; do
    out=$($PY - "$ISSUER" "$extra" "$lang" <<'PYEND'
import json, sys, urllib.parse, requests, secrets, hashlib, base64
issuer, extra, lang = sys.argv[1:4]
v = secrets.token_urlsafe(48)
p = {"client_id": "demo-pgo", "redirect_uri": "http://127.0.0.1:8001/callback", "response_type": "code",
     "scope": "openid", "state": "s-1", "nonce": "n-1", "ui_locales": lang, "code_challenge_method": "S256",
     "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()}
k, val = extra.split("=", 1)
p[k] = val
r = requests.get(issuer + "/authorize", params=p, allow_redirects=False, timeout=10)
loc = r.headers.get("Location", "")
q = dict(urllib.parse.parse_qsl(urllib.parse.urlparse(loc).query))
print(json.dumps({"status": r.status_code, "to_portal": loc.startswith("http://127.0.0.1:8001/callback?"),
                  "oauth_error": q.get("error"), "oauth_error_description": q.get("error_description"),
                  "zr_reason": q.get("zr_reason"), "state": q.get("state"), "iss": q.get("iss"),
                  "raw": loc}))
PYEND
)
    t="/authorize $extra ($lang)"
    zr_check "$t: back to the portal at once" "$(zr_json "$out" '(d["status"], d["to_portal"])')" "(302, True)"
    zr_check "$t: $error" "$(zr_json "$out" 'd["oauth_error"]')" "$error"
    want_reason=$reason; [ "$reason" = - ] && want_reason=None
    zr_check "$t: zr_reason $want_reason" "$(zr_json "$out" 'd["zr_reason"]')" "$want_reason"
    zr_check "$t: state and iss" "$(zr_json "$out" '(d["state"], d["iss"])')" "('s-1', '$ISSUER')"
    zr_check "$t: error_description RFC 6749 safe" "$(zr_json "$out" "$rfc_safe")" "True"
    if [ "$lang" = nl ]; then
      zr_check "$t: error_description in Dutch" "$(zr_json "$out" 'd["oauth_error_description"]')" "$nl_text"
    else
      zr_check "$t: error_description in English" \
        "$(zr_json "$out" 'd["oauth_error_description"] != "'"$nl_text"'" and d["oauth_error_description"].isascii()')" "True"
    fi
  done
done

# The return handles are bearer values: none in a log line.
leaks=0
while read -r h; do
  [ -n "$h" ] && grep -qaF -- "$h" "$ZR_TMP"/*.log && leaks=$((leaks+1))
done < "$HANDLES"
zr_check "no return handle in a log line" "$leaks" "0"
zr_check "one handle per refusal page (4)" "$(grep -c . "$HANDLES")" "4"
zr_done
