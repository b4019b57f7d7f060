#!/usr/bin/env bash
# The pages people see (issue 5 §6) in a real browser: headless Chromium
# (Debian's chromium) driven by playwright-core walks the demo logins and
# every error page a person can reach, in Dutch and English, and checks each
# page with axe-core (tests/browser/walk.mjs). The example portal
# (examples/portal) is the OIDC client.
#
# Needs chromium, nodejs and npm (scripts/install-deps installs them); the npm
# packages (exact versions, tests/browser/package-lock.json) are installed
# with `npm ci` into the build directory; no browser is ever downloaded.
# ZR_SCREENSHOTS=1 also writes docs/screenshots/*.png (see docs/pages.md).
source "$(dirname "$0")/lib.sh"

zr_browser_setup

zr_pki
zr_start_redis
# Issue 18 §2: the walk follows the relay's refusal pages (the default).
ZR_ERROR_PAGES=relay
zr_write_config
# The example portal on a free port instead of the demo's 8000.
PORTAL_PORT=$(zr_free_port)
sed -i "s#http://localhost:8000#http://localhost:$PORTAL_PORT#g" "$ZR_CONFIG"
# Issue 18 §3: the care provider's logo (a made-up one), served by the relay.
sed -i "s#^    name: Zorgaanbieder Demo (TEST)\$#&\n    logo:\n      file: $ZR_SOURCE_DIR/tests/browser/logo-demo.svg\n      alt: Zorgaanbieder Demo#" \
  "$ZR_CONFIG"
zr_check "the test care provider has a logo" "$(grep -c 'logo-demo.svg' "$ZR_CONFIG")" "1"
# ... and the chooser the operator's DigiD logo (a stand-in: we do not ship Logius').
printf 'pages:\n  digid_logo_file: %s\n' "$ZR_SOURCE_DIR/tests/browser/digid-logo-standin.svg" >>"$ZR_CONFIG"
zr_start_mock_tvs
zr_start_mock_dezi
zr_start_relay
$PY "$ZR_SOURCE_DIR/examples/portal/portal.py" --issuer "$ISSUER" --client-id demo-portal \
  --client-secret demo-portal-secret --port "$PORTAL_PORT" >"$ZR_TMP/portal.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$PORTAL_PORT"

# Accept-Language (RFC 9110 §12.5.4): q-values decide; Dutch by default.
page_lang() {
  curl -s -H "Accept-Language: $1" "$ISSUER/no-such-page" | sed -n 's/.*<html lang="\([a-z]*\)">.*/\1/p' | head -1
}
zr_check "Accept-Language en-US,en;q=0.9,nl;q=0.8 -> en" "$(page_lang 'en-US,en;q=0.9,nl;q=0.8')" "en"
zr_check "Accept-Language nl;q=1, en;q=0.5 -> nl" "$(page_lang 'nl;q=1, en;q=0.5')" "nl"
zr_check "Accept-Language nl;q=0.2, en;q=0.7 -> en" "$(page_lang 'nl;q=0.2, en;q=0.7')" "en"
zr_check "Accept-Language de -> nl (default)" "$(page_lang 'de')" "nl"
zr_check "no Accept-Language -> nl" "$(curl -s "$ISSUER/no-such-page" | grep -c '<html lang="nl">')" "1"

# The logo comes from the relay itself, with a long cache only at its
# current address, and as an SVG that can do nothing but draw.
logo_v=$(sha256sum "$ZR_SOURCE_DIR/tests/browser/logo-demo.svg" | cut -c1-16)
logo_headers=$(curl -s -D - -o "$ZR_TMP/logo.svg" "$ISSUER/logo?cp=zorgaanbieder-demo&v=$logo_v")
zr_check "logo: 200 image/svg+xml" "$(grep -ci '^content-type: image/svg+xml' <<<"$logo_headers")" "1"
zr_check "logo: the configured file" "$(cmp -s "$ZR_TMP/logo.svg" "$ZR_SOURCE_DIR/tests/browser/logo-demo.svg" && echo same)" "same"
zr_check "logo: kept a year at its address" "$(grep -ci '^cache-control: public, max-age=31536000, immutable' <<<"$logo_headers")" "1"
zr_check "logo: sandboxed, loads nothing" "$(grep -i '^content-security-policy:' <<<"$logo_headers" | grep -c "default-src 'none'.*sandbox")" "1"
zr_check "logo: nosniff" "$(grep -ci '^x-content-type-options: nosniff' <<<"$logo_headers")" "1"
zr_check "logo: an old address is not kept" \
  "$(curl -s -D - -o /dev/null "$ISSUER/logo?cp=zorgaanbieder-demo&v=0000000000000000" | grep -ci '^cache-control: no-cache')" "1"
digid_v=$(sha256sum "$ZR_SOURCE_DIR/tests/browser/digid-logo-standin.svg" | cut -c1-16)
zr_check "DigiD logo: the operator's file, kept a year at its address" \
  "$(curl -s -D - -o /dev/null "$ISSUER/logo?of=digid&v=$digid_v" | grep -ci '^cache-control: public, max-age=31536000, immutable')" "1"
zr_check "logo: unknown care provider 404" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/logo?cp=no-such-provider")" "404"

SHOTS=""
if [ "${ZR_SCREENSHOTS:-0}" = 1 ]; then
  SHOTS="$ZR_SOURCE_DIR/docs/screenshots"
fi
if ZR_PORTAL="http://localhost:$PORTAL_PORT" ZR_RELAY="$ISSUER" ZR_TVS="http://localhost:$TVS_PORT" \
   ZR_DEZI="http://localhost:$DEZI_PORT" ZR_CHROMIUM="$CHROMIUM" ZR_SCREENSHOTS="$SHOTS" \
   ZR_TEMPLATES_DIR="$ZR_SOURCE_DIR/templates" \
   timeout 240 "$NODE" "$WALK_DIR/walk.mjs"; then
  zr_check "browser walk (tests/browser/walk.mjs)" ok ok
else
  zr_check "browser walk (tests/browser/walk.mjs)" failed ok
fi

# The pages zr_oidc_authorize_finish shows after the login speak the
# browser's language too (from Accept-Language at /authorize): a login whose
# portal lost its return address during the login (a reload) ends on
# "Unknown website or app" in English. curl plays the browser.
EN='Accept-Language: en-US,en;q=0.9,nl;q=0.8'
JAR="$ZR_TMP/en-jar"
field() { sed -n "s/.*name=\"$1\" value=\"\([^\"]*\)\".*/\1/p" | head -1; }
autopost=$(curl -s -c "$JAR" -b "$JAR" -H "$EN" "$ISSUER/authorize?response_type=code&scope=openid&client_id=demo-portal&redirect_uri=http://localhost:$PORTAL_PORT/callback&state=st&nonce=no&login_method=patient&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
tvs_page=$(curl -s -H "$EN" --data-urlencode "SAMLRequest=$(field SAMLRequest <<<"$autopost")" \
  --data-urlencode "RelayState=$(field RelayState <<<"$autopost")" "http://localhost:$TVS_PORT/kvs/rd/request_authentication")
handle=$(field handle <<<"$tvs_page")
zr_check "curl login: at the mock TVS" "$([ -n "$handle" ] && echo yes)" "yes"
sed -i "s#http://localhost:$PORTAL_PORT/callback#http://localhost:$PORTAL_PORT/callback-moved#" "$ZR_CONFIG"
reloads=$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)
kill -HUP "$RELAY_PID"
for i in $(seq 1 100); do
  [ "$(grep -c 'generation .* in use' "$ZR_TMP/relay.log" || true)" -gt "$reloads" ] && break
  sleep 0.1
done
acs=$(curl -s -o /dev/null -w '%{redirect_url}' -H "$EN" -d "handle=$handle" -d identity=0 "http://localhost:$TVS_PORT/kvs/rd/choose")
code=$(curl -s -o "$ZR_TMP/finish.html" -w '%{http_code}' -b "$JAR" -H "$EN" "$acs")
zr_check "after the login, return address gone: 400" "$code" "400"
zr_check "... the page in English (the browser's language at /authorize)" \
  "$(grep -c '<html lang="en">' "$ZR_TMP/finish.html")/$(grep -q 'Unknown website or app' "$ZR_TMP/finish.html" && echo yes)" "1/yes"
zr_done
