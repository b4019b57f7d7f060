#!/usr/bin/env bash
# End-to-end patient logins: Authlib (portal) -> relay -> mock TVS -> relay ->
# Authlib, against a real Redis, real mutual TLS and the real binary.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
# The trace on (docs/preprod.md §6), so that §7 searches it too.
printf '\ntrace:\n  enabled: true\n' >> "$ZR_CONFIG"
zr_start_mock_tvs
zr_start_relay
SECRETS="$ZR_TMP/secrets.txt"
# Every page the relay shows the browser, and every login's trace, for §7.
PAGES="$ZR_TMP/pages"
TRACES="$ZR_TMP/traces"
ZR_LOGIN_EXTRA=(--pages-out "$PAGES" --trace-out "$TRACES")

# 1. Plain login at Substantieel, client_secret_basic, BSN-entitled client.
out=$(zr_login "DigiD Substantieel" --secrets-out "$SECRETS")
zr_check "plain login: state echoed" "$(zr_json "$out" 'd.get("state_ok")')" "True"
zr_check "plain login: iss in callback (RFC 9207)" "$(zr_json "$out" 'd.get("iss")')" "$ISSUER"
zr_check "plain login: acr is the LoA reached" "$(zr_json "$out" 'd["claims"]["acr"]')" "http://eidas.europa.eu/LoA/substantial"
zr_check "plain login: bsn for entitled client" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "plain login: sub is not the BSN" "$(zr_json "$out" 'd["claims"]["sub"] != "999990019" and len(d["claims"]["sub"]) > 20')" "True"
zr_check "plain login: lifetime <= 300 s" "$(zr_json "$out" 'd["claims"]["exp"] - d["claims"]["iat"] <= 300')" "True"
zr_check "plain login: jti present" "$(zr_json "$out" 'bool(d["claims"].get("jti"))')" "True"
zr_check "plain login: no represents" "$(zr_json "$out" '"represents" in d["claims"]')" "False"
zr_check "plain login: userinfo 200" "$(zr_json "$out" 'd.get("userinfo_status")')" "200"
zr_check "plain login: userinfo sub = id token sub" "$(zr_json "$out" 'd["userinfo"]["sub"] == d["claims"]["sub"]')" "True"
zr_check "plain login: RelayState <= 80 bytes" "$(zr_json "$out" 'd["relay_state_len"] <= 80')" "True"

# 1b. Someone who learnt the URL back to the ACS (the RelayState is in it)
#     presents it first, without the browser's cookie and with a forged one:
#     refused with the page, and the person's own login still completes.
out=$(zr_login "DigiD Substantieel" --intruder-first --secrets-out "$SECRETS" || true)
zr_check "intruder without the cookie: 400" "$(zr_json "$out" 'd["intruders"][0]["status"]')" "400"
zr_check "intruder without the cookie: Dutch page says another browser" \
  "$(zr_json "$out" '"Andere browser" in d["intruders"][0]["body"]')" "True"
zr_check "intruder with a forged cookie of the same name: 400" \
  "$(zr_json "$out" 'd["intruders"][1]["forged_cookies"] >= 1 and d["intruders"][1]["status"]')" "400"
zr_check "intruder with a forged cookie: English page says another browser" \
  "$(zr_json "$out" '"Different browser" in d["intruders"][1]["body"]')" "True"
zr_check "intruders get no cookie back" "$(zr_json "$out" '[t["set_cookie"] for t in d["intruders"]]')" "[null, null]"
zr_check "the person's login still completes after the intruders" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "both refusals logged (missing, differs)" \
  "$(grep -c 'came back in another browser (binding cookie missing)' "$ZR_TMP/relay.log") $(grep -c 'came back in another browser (binding cookie differs)' "$ZR_TMP/relay.log")" "1 1"

# 1c. The browser's own request to the ACS, five times at once (the pending
#     login is read, checked, then taken with GETDEL): one goes on to the
#     portal, the others get the expired-session page.
out=$(zr_login "DigiD Substantieel" --race 5 --secrets-out "$SECRETS" || true)
zr_check "racing ACS requests: exactly one goes on" "$(zr_json "$out" 'd["race"]')" "[302, 400, 400, 400, 400]"
zr_check "racing ACS requests: the others see a page that the login is gone or being finished" "$(zr_json "$out" 'd["race_expired_pages"]')" "4"
zr_check "racing ACS requests: the one that went on logs in" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# 1d. ui_locales (OIDC Core §3.1.2.1): the first of nl/en it names wins over
#     the browser's Accept-Language, for the pages of that login.
out=$(zr_login "DigiD Substantieel" --accept-language nl --ui-locales "fr-CA en-GB nl")
zr_check "ui_locales 'fr-CA en-GB nl' over Accept-Language nl: the chooser and the page to TVS are English" \
  "$(zr_json "$out" 'd["page_langs"]')" '["en", "en"]'
zr_check "ui_locales en: the login completes" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
out=$(zr_login "DigiD Substantieel" --accept-language en --ui-locales nl)
zr_check "ui_locales nl over Accept-Language en: Dutch" "$(zr_json "$out" 'd["page_langs"]')" '["nl", "nl"]'
out=$(zr_login "DigiD Substantieel" --accept-language en --ui-locales "de fr")
zr_check "ui_locales without nl or en: Accept-Language decides" "$(zr_json "$out" 'd["page_langs"]')" '["en", "en"]'
for q in "client_id=no-such-portal&ui_locales=en" "client_id=demo-portal&redirect_uri=https://evil.example/cb&ui_locales=en"; do
  page=$(curl -s -H 'Accept-Language: nl' "$ISSUER/authorize?$q&response_type=code&scope=openid")
  zr_check "ui_locales en at /authorize, an error page before the client is trusted ($q): English" \
    "$(echo "$page" | grep -c '<html lang="en">')" "1"
done

# 2. Higher LoA requested through acr_values.
out=$(zr_login "DigiD Hoog" --acr-values http://eidas.europa.eu/LoA/high --secrets-out "$SECRETS")
zr_check "acr_values high: acr high" "$(zr_json "$out" 'd["claims"]["acr"]')" "http://eidas.europa.eu/LoA/high"

# 3. Representation (DigiD Machtigen): two subjects.
out=$(zr_login "Ouder voor kind" --secrets-out "$SECRETS")
zr_check "representation: acting bsn top level" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990044"
zr_check "representation: represents bsn" "$(zr_json "$out" 'd["claims"]["represents"].get("bsn")')" "999990056"
zr_check "representation: represented sub differs" "$(zr_json "$out" 'd["claims"]["represents"]["sub"] != d["claims"]["sub"]')" "True"
zr_check "representation: type" "$(zr_json "$out" 'd["claims"]["represents"].get("representation_type")')" "urn:nl-eid-gdi:1.1:RT:Zorg_Volledig_Gezag_Kind"

# 4. Failures come back to the portal as OAuth errors, with state.
out=$(zr_login "Annuleren")
zr_check "cancel: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
zr_check "cancel: state echoed" "$(zr_json "$out" 'd.get("state_ok")')" "True"
out=$(zr_login "te laag")
zr_check "LoA too low: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
out=$(zr_login "NoAuthnContext")
zr_check "NoAuthnContext: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
out=$(zr_login "AuthnFailed")
zr_check "AuthnFailed: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"

# 5. PKCE and code reuse.
out=$(zr_login "DigiD Substantieel" --tamper-verifier)
zr_check "PKCE mismatch: invalid_grant" "$(zr_json "$out" 'd.get("token_error")')" "invalid_grant"
out=$(zr_login "DigiD Substantieel" --redeem-twice --secrets-out "$SECRETS")
zr_check "code reuse: invalid_grant" "$(zr_json "$out" 'd.get("second_redeem")')" "invalid_grant"
zr_check "code reuse: first token revoked" "$(zr_json "$out" 'd.get("userinfo_after_replay")')" "401"

# 6. private_key_jwt client (ES256 ID token), not entitled to the BSN.
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo \
  --private-key "$ZR_PKI/pgo-client.key" --kid="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")" \
  --redirect-uri http://127.0.0.1:8001/callback --identity "Ouder voor kind" --secrets-out "$SECRETS" \
  --pages-out "$PAGES")
zr_check "private_key_jwt: ES256 id token" "$(zr_json "$out" 'd.get("id_token_alg")')" "ES256"
zr_check "private_key_jwt: no bsn claim" "$(zr_json "$out" '"bsn" in d["claims"]')" "False"
zr_check "private_key_jwt: no bsn in represents" "$(zr_json "$out" '"bsn" in d["claims"].get("represents", {})')" "False"
zr_check "private_key_jwt: no BSN anywhere in the claims" "$(zr_json "$out" '"99999" in json.dumps(d["claims"]) + json.dumps(d["userinfo"])')" "False"

# 6b. The claims parameter (OIDC Core §5.5): what is asked for, within what
#     the client may see; never more.
PROTO='{"iss","aud","azp","iat","nbf","exp","jti","auth_time","nonce","sid","acr"}'
out=$(zr_login "Ouder voor kind" --claims '{"id_token":{"sub":null},"userinfo":{"sub":null}}' --secrets-out "$SECRETS")
zr_check "claims: only sub asked: the ID token names the subject and nothing else about the person" \
  "$(zr_json "$out" "sorted(set(d['claims']) - $PROTO)")" '["sub", "sub_id_type"]'
zr_check "claims: only sub asked: userinfo neither (no bsn, no represents)" \
  "$(zr_json "$out" 'sorted(d["userinfo"])')" '["acr", "sub", "sub_id_type"]'
out=$(zr_login "Ouder voor kind" --claims '{"userinfo":{"bsn":{"essential":true},"represents":null}}' --secrets-out "$SECRETS")
zr_check "claims: bsn and represents asked at userinfo only: not in the ID token" \
  "$(zr_json "$out" "sorted(set(d['claims']) - $PROTO)")" '["sub", "sub_id_type"]'
zr_check "claims: bsn and represents asked at userinfo: there, for the entitled client" \
  "$(zr_json "$out" '(d["userinfo"].get("bsn"), d["userinfo"]["represents"].get("bsn"))')" "('999990044', '999990056')"
out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-pgo \
  --private-key "$ZR_PKI/pgo-client.key" --kid="$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")" \
  --redirect-uri http://127.0.0.1:8001/callback --identity "Ouder voor kind" --secrets-out "$SECRETS" \
  --claims '{"id_token":{"bsn":{"essential":true},"represents":null},"userinfo":{"bsn":{"essential":true}}}')
zr_check "claims: bsn essential from a client not entitled: logged in, no BSN anywhere (§5.5.1: no error)" \
  "$(zr_json "$out" '(bool(d["claims"].get("sub")), "represents" in d["claims"], "99999" in json.dumps(d["claims"]) + json.dumps(d["userinfo"]))')" \
  "(True, True, False)"
out=$(zr_login "DigiD Hoog" --claims '{"id_token":{"acr":{"essential":true,"values":["http://eidas.europa.eu/LoA/high"]}}}')
zr_check "claims: essential acr high: acr high" "$(zr_json "$out" 'd["claims"]["acr"]')" "http://eidas.europa.eu/LoA/high"
out=$(zr_login "DigiD Substantieel" --claims '{"id_token":{"acr":{"essential":true,"values":["http://eidas.europa.eu/LoA/high"]}}}')
zr_check "claims: essential acr high, login at substantial: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
out=$(zr_login "DigiD Substantieel")
SUB=$(zr_json "$out" 'd["claims"]["sub"]')
out=$(zr_login "DigiD Substantieel" --claims "{\"id_token\":{\"sub\":{\"value\":\"$SUB\"}}}")
zr_check "claims: sub value of the person who logs in: logged in" "$(zr_json "$out" 'd["claims"]["sub"]')" "$SUB"
out=$(zr_login "Ouder voor kind" --claims "{\"id_token\":{\"sub\":{\"value\":\"$SUB\"}}}")
zr_check "claims: sub value of someone else: access_denied, no code" \
  "$(zr_json "$out" '(d.get("oauth_error"), "claims" in d)')" "('access_denied', False)"
for c in 'not json' '[]' '{"id_token":[]}' '{"userinfo":{"bsn":{"essential":"yes"}}}' '{"userinfo":{"bsn":null,"bsn":null}}' \
         '{"id_token":{"acr":{"essential":true,"values":["urn:example:none"]}}}'; do
  loc=$(curl -s -o /dev/null -w '%{redirect_url}' -G "$ISSUER/authorize" --data-urlencode client_id=demo-portal \
    --data-urlencode redirect_uri=http://localhost:8000/callback --data-urlencode response_type=code \
    --data-urlencode scope=openid --data-urlencode state=s1 --data-urlencode nonce=n1 \
    --data-urlencode code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM \
    --data-urlencode code_challenge_method=S256 --data-urlencode "claims=$c")
  zr_check "claims $c: invalid_request back to the portal" \
    "$(echo "$loc" | grep -c '^http://localhost:8000/callback?error=invalid_request&.*state=s1')" "1"
done
zr_check "discovery: claims_parameter_supported" \
  "$(curl -s "$ISSUER/.well-known/openid-configuration" | $PY -c 'import json,sys; print(json.load(sys.stdin)["claims_parameter_supported"])')" "True"

# 6c. JWKS as the profile wants it (NL GOV §Caching, §Public keys): cached
#     a week like discovery, x5c with the whole chain up to the root (the
#     example's cert file holds the leaf and the test CA).
out=$($PY "$ZR_SOURCE_DIR/tests/integration/jwks_check.py" "$ISSUER")
zr_check "discovery: Cache-Control a week" "$(zr_json "$out" 'd["discovery_cache"]')" "public, max-age=604800"
zr_check "jwks: Cache-Control a week" "$(zr_json "$out" 'd["jwks_cache"]')" "public, max-age=604800"
zr_check "jwks: the RS256 key's x5c: its own certificate first, in chain order, up to a self-signed root" \
  "$(zr_json "$out" '[(k["x5c_len"], k["leaf_is_the_key"], k["in_chain_order"], k["ends_at_root"]) for k in d["keys"] if k["x5c_len"]]')" \
  "[[2, true, true, true]]"

# 7. No BSN, code or token in any log line, page, trace or in Redis (dump and
# every value); and no BSN recoverable: not its 8-character prefixes of MD5,
# SHA-1 or SHA-256 in hex or base64url either (issue 12 §1, secrecy_scan.py).
leaks=0
while read -r s; do
  [ -n "$s" ] && grep -qF -- "$s" "$ZR_TMP/relay.log" "$ZR_TMP/mock-tvs.log" && { echo "a code/token in a log" >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
redis-cli -p "$REDIS_PORT" SAVE >/dev/null
redis-cli -p "$REDIS_PORT" --scan > "$ZR_TMP/keys.txt"
while read -r k; do redis-cli -p "$REDIS_PORT" --raw GET "$k"; done < "$ZR_TMP/keys.txt" > "$ZR_TMP/values.bin" 2>/dev/null || true
cat "$ZR_TMP/keys.txt" >> "$ZR_TMP/values.bin"
while read -r s; do
  [ -n "$s" ] && grep -qaF -- "$s" "$ZR_TMP/values.bin" && { echo "a code/token in Redis in clear" >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
zr_check "no code/token in logs or Redis" "$leaks" "0"
# Every test BSN the mock TVS can send (acting and legal).
BSN_ARGS=($($PY -c 'import re,sys; [print("--value", b) for b in sorted(set(re.findall(r"_bsn: \"(\d{9})\"", open(sys.argv[1]).read())))]' "$ZR_CONFIG"))
zr_check "the BSN search knows the test BSNs used (test is meaningful)" \
  "$(printf '%s\n' "${BSN_ARGS[@]}" | grep -cE '^(999990019|999990020|999990044|999990056)$')" "4"
zr_check "pages and traces were saved (test is meaningful)" \
  "$([ "$(ls "$PAGES" | wc -l)" -ge 20 ] && [ "$(ls "$TRACES"/*.json | wc -l)" -ge 4 ] && echo yes)" "yes"
zr_check "no BSN, nor an 8-character MD5/SHA-1/SHA-256 prefix of one, in logs, pages, traces or Redis" \
  "$($PY "$ZR_SOURCE_DIR/tests/integration/secrecy_scan.py" "${BSN_ARGS[@]}" "$ZR_TMP/relay.log" "$ZR_TMP/mock-tvs.log" \
       "$PAGES" "$TRACES" "$ZR_TMP/values.bin" "$ZR_TMP/redis/dump.rdb" >&2; echo $?)" "0"
zr_check "the successful logins' log lines carry a keyed subject pseudonym" \
  "$(grep -cE 'acs .* subject=k:[0-9a-f]{12} result=ok' "$ZR_TMP/relay.log")" "$(grep -c 'acs .*result=ok' "$ZR_TMP/relay.log")"
zr_check "Redis did hold relay state (test is meaningful)" "$([ -s "$ZR_TMP/keys.txt" ] && echo yes)" "yes"

zr_done
