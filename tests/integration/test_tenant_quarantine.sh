#!/usr/bin/env bash
# Quarantine (issue 14 §1): one care provider's problem stays its own. A
# cluster of four care providers (the inline one and three files, each file
# with its own portal) where one has an expired BSN certificate:
# care_providers_on_error: refuse refuses to start; the default quarantine
# starts, the other three log in end to end (real binary, real Redis, mock
# TVS), the quarantined one's portal gets temporarily_unavailable at
# /authorize with nothing written, and the log, /healthz, selftest,
# check-config and tenants export name it. A reload that breaks another
# provider's key quarantines that one alone, without disturbing a login in
# flight for a third; a login that was at TVS for the one it quarantined gets
# the page. A reload that fixes the first takes it out of quarantine; one
# that would quarantine every provider is refused.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
P=$ZR_PKI
LC_ENTITY="urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
DIR="$ZR_TMP/providers"
mkdir -p "$DIR"

# An expired BSN certificate from the same CA (the test PKI's own leaves are
# valid): the same key names, validity in the past.
mkdir -p "$ZR_TMP/expired"
cp "$P/ca.pem" "$P/ca.key" "$ZR_TMP/expired/"
NOT_BEFORE=20200101000000Z NOT_AFTER=20210101000000Z \
  bash "$ZR_SOURCE_DIR/certs-example/make-pki.sh" "$ZR_TMP/expired" >/dev/null

zr_provider_file "$DIR/zorgaanbieder-twee.yaml" zorgaanbieder-twee 00000009999999999002 22222222-2222-4222-8222-222222222222 \
  "$P/dv2-bsn-1.pem" "$P/dv2-bsn-1.key" portal-twee
zr_provider_file "$DIR/zorgaanbieder-drie.yaml" zorgaanbieder-drie 00000009999999999003 33333333-3333-4333-8333-333333333333 \
  "$P/dv3-bsn-1.pem" "$P/dv3-bsn-1.key" portal-drie
zr_provider_file "$DIR/zorgaanbieder-vier.yaml" zorgaanbieder-vier 00000009999999999004 44444444-4444-4444-8444-444444444444 \
  "$ZR_TMP/expired/dv4-bsn-1.pem" "$ZR_TMP/expired/dv4-bsn-1.key" portal-vier
# Issue 18 §2: a second portal of the quarantined provider with the chooser
# and the relay's refusal pages.
cat >>"$DIR/zorgaanbieder-vier.yaml" <<EOF
  - client_id: portal-vier-keuze
    auth_method: client_secret_basic
    client_secret: portal-vier-keuze-secret
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
    login_methods: [patient, professional]
    allow_unmapped_roles: true
    error_pages: relay
EOF

# The example configuration as the vendor's LC with the providers directory.
CFG="$ZR_TMP/cluster.yaml"
sed -e "s#$P/relay-signing\.#$P/lc-signing.#" \
    -e "s#$P/relay-tls-client\.#$P/lc-tls-client.#" \
    "$ZR_CONFIG" | awk -v dir="$DIR" -v lc="$LC_ENTITY" -v pid="$ZR_TMP/relay.pid" '
/^oidc:/ {
  print "care_providers_dir: " dir
  print "pid_file: " pid
  print ""
  print "cluster:"
  print "  entity_id: " lc
  print "  oin: \"00000009999999999100\""
  print ""
}
{ print }' > "$CFG"
ZR_CONFIG="$CFG"

# --- 1. care_providers_on_error: refuse keeps the old behaviour: no start.
cp "$CFG" "$ZR_TMP/refuse.yaml"
printf 'care_providers_on_error: refuse\n' >> "$ZR_TMP/refuse.yaml"
rc=0; timeout 60 "$ZR_BIN" serve "$ZR_TMP/refuse.yaml" >"$ZR_TMP/refuse.log" 2>&1 || rc=$?
zr_check "refuse: serve does not start (exit 1)" "$rc" "1"
zr_check "refuse: names the expired certificate at its file" \
  "$(grep -c "^$DIR/zorgaanbieder-vier.yaml:9: bsn_keys\[0\].cert: certificate .*dv4-bsn-1.pem expired on 2021-01-01" "$ZR_TMP/refuse.log")" "1"
zr_check "refuse: never listened" "$(grep -c 'relay listening' "$ZR_TMP/refuse.log" || true)" "0"

# --- 2. check-config: loads, exit 3, the reason on stderr.
rc=0; "$ZR_BIN" check-config "$CFG" >"$ZR_TMP/check.out" 2>"$ZR_TMP/check.err" || rc=$?
zr_check "check-config: exit 3 (loads, a provider quarantined)" "$rc" "3"
zr_check "check-config: says which and why" \
  "$(grep -c "care provider zorgaanbieder-vier would be quarantined (BSN certificate expired)" "$ZR_TMP/check.err")/$(grep -c "^  $DIR/zorgaanbieder-vier.yaml:9: bsn_keys\[0\].cert: .*expired on" "$ZR_TMP/check.err")" "1/1"
zr_check "check-config: OK with 1 of 4 quarantined" "$(grep -c 'OK with 1 of 4 care provider(s) quarantined' "$ZR_TMP/check.out")" "1"

# --- 3. serve starts (quarantine is the default) and says so.
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}
zr_start_relay
# wait_log PATTERN: until the relay has logged it (a log line may follow
# what a test saw first: the port, the reload status).
wait_log() {
  for i in $(seq 1 150); do grep -q "$1" "$ZR_TMP/relay.log" && return 0; sleep 0.1; done
  return 0
}
wait_log 'startup care provider zorgaanbieder-vier quarantined'
zr_check "serve starts: 4 care providers, 1 quarantined" \
  "$(grep -c 'relay listening on .*4 care providers, 1 quarantined' "$ZR_TMP/relay.log")" "1"
zr_check "start: one log line for the quarantined provider (id, file, reason)" \
  "$(grep 'startup' "$ZR_TMP/relay.log" | grep -c "care provider zorgaanbieder-vier quarantined (BSN certificate expired), file $DIR/zorgaanbieder-vier.yaml: .*$DIR/zorgaanbieder-vier.yaml:9: bsn_keys\[0\].cert: .*expired on")" "1"

login() {
  local client=$1 identity=$2; shift 2
  local secret=$client-secret
  [ "$client" = demo-portal ] && secret=demo-portal-secret
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity "$identity" "$@"
}

# --- 4. The other three log in end to end; the quarantined one is refused.
for c in demo-portal portal-twee portal-drie; do
  out=$(login "$c" "DigiD Substantieel")
  zr_check "$c: login ok (BSN decrypted)" "$(zr_json "$out" 'd.get("claims", {}).get("bsn")')" "999990019"
done
out=$(login portal-vier "DigiD Substantieel" 2>/dev/null || true)
zr_check "quarantined provider: the portal gets temporarily_unavailable" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
zr_check "quarantined provider: error_description says why" \
  "$(zr_json "$out" '"this care provider cannot be logged in to right now" in (d.get("oauth_error_description") or "")')" "True"
zr_check "quarantined provider: no code, no claims" "$(zr_json "$out" '"claims" in d or "code" in d')" "False"
zr_check "quarantined provider: relay log names it, no login started" \
  "$(grep -c 'client=portal-vier care provider zorgaanbieder-vier is quarantined: login refused' "$ZR_TMP/relay.log")/$(grep -c 'authorize client=portal-vier tenant=' "$ZR_TMP/relay.log" || true)" "1/0"
zr_check "quarantined provider: no pending login in Redis" \
  "$(redis-cli -p "$REDIS_PORT" --scan --pattern '*:login:*' | wc -l)" "0"
# Issue 18 §2: the portal learns why (zr_reason), in Dutch with ui_locales=nl;
# a patient choice on the chooser gets the relay's page with one button.
out=$(login portal-vier "DigiD Substantieel" --ui-locales nl 2>/dev/null || true)
zr_check "quarantined provider (nl): zr_reason and a Dutch error_description" \
  "$(zr_json "$out" '(d.get("oauth_error"), d.get("zr_reason"), d.get("oauth_error_description"))')" \
  "('temporarily_unavailable', 'care_provider_unavailable', 'inloggen bij deze zorgaanbieder is op dit moment niet mogelijk (de koppeling met de inlogdienst heeft onderhoud nodig)')"
for lang in nl en; do
  out=$(login portal-vier-keuze "DigiD Substantieel" --method patient --ui-locales "$lang" 2>/dev/null || true)
  want="inloggen bij deze zorgaanbieder is op dit moment niet mogelijk"
  [ "$lang" = en ] && want="this care provider cannot be logged in to right now"
  zr_check "quarantined provider, patient chosen ($lang): the relay's page in $lang" \
    "$(zr_json "$out" '(d.get("chooser"), (d.get("refusal_page") or {}).get("status"), (d.get("refusal_page") or {}).get("code"), (d.get("refusal_page") or {}).get("lang"), (d.get("refusal_page") or {}).get("buttons"))')" \
    "(True, 503, 'care_provider_unavailable', '$lang', 1)"
  zr_check "quarantined provider, patient chosen ($lang): the button tells the portal why" \
    "$(zr_json "$out" '(d.get("oauth_error"), d.get("zr_reason"), d.get("oauth_error_description"), d.get("state_ok"))')" \
    "('temporarily_unavailable', 'care_provider_unavailable', '$want', True)"
done
zr_check "quarantined provider, patient chosen: still no pending login in Redis" \
  "$(redis-cli -p "$REDIS_PORT" --scan --pattern '*:login:*' | wc -l)" "0"

# --- 5. /healthz names it (id and a short reason, no path), /readyz ready.
hz=$(curl -s "$ISSUER/healthz")
zr_check "/healthz: names the quarantined provider with a short reason" \
  "$(zr_json "$hz" 'd["config"]["quarantined"]')" '[{"id": "zorgaanbieder-vier", "reason": "BSN certificate expired"}]'
zr_check "/healthz: no path or file name in it" "$(echo "$hz" | grep -c -e "$ZR_TMP" -e '\.pem' -e '\.yaml' || true)" "0"
zr_check "/healthz: status ok" "$(zr_json "$hz" 'd["status"]')" "ok"
zr_check "/readyz: ready (the others can serve)" "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/readyz")" "200"
zr_check "cluster metadata: the LC and the three in service" \
  "$(curl -s "$ISSUER/saml/metadata" | grep -o 'entityID="[^"]*"' | sort -u | tr '\n' ' ')" \
  "entityID=\"urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000\" entityID=\"urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000\" entityID=\"urn:nl-eid-gdi:1.0:DV:00000009999999999003:entities:9000\" entityID=\"$LC_ENTITY\" "
rc=0; "$ZR_BIN" metadata "$CFG" >/dev/null 2>"$ZR_TMP/metadata.err" || rc=$?
zr_check "zorgrelay metadata: refuses while one is quarantined" "$rc/$(grep -c 'care provider zorgaanbieder-vier is quarantined (BSN certificate expired)' "$ZR_TMP/metadata.err")" "1/1"
rc=0; "$ZR_BIN" metadata "$CFG" --without-quarantined >"$ZR_TMP/metadata.xml" 2>/dev/null || rc=$?
zr_check "zorgrelay metadata --without-quarantined: the LC and three" \
  "$rc/$(grep -o 'entityID="[^"]*"' "$ZR_TMP/metadata.xml" | sort -u | wc -l)" "0/4"

# --- 6. selftest names it as a failed check; exit status 1.
rc=0; "$ZR_BIN" selftest "$CFG" >"$ZR_TMP/selftest.out" 2>&1 || rc=$?
zr_check "selftest: exit 1" "$rc" "1"
zr_check "selftest: FAIL quarantine line for it, with the reason" \
  "$(grep -cE "^FAIL +quarantine: care provider zorgaanbieder-vier is quarantined \(its logins are refused\): $DIR/zorgaanbieder-vier.yaml:9: bsn_keys\[0\].cert: .*expired on" "$ZR_TMP/selftest.out")" "1"

# --- 7. tenants export works and marks it.
rc=0; "$ZR_BIN" tenants export --config "$CFG" -o "$ZR_TMP/export.csv" 2>/dev/null || rc=$?
zr_check "tenants export: exit 0" "$rc" "0"
zr_check "tenants export: the quarantined provider is marked" \
  "$(grep -c '^current (quarantined: BSN certificate expired),zorgaanbieder-vier,' "$ZR_TMP/export.csv")" "1"
zr_check "tenants export: the others are current" "$(grep -c '^current,' "$ZR_TMP/export.csv")" "3"

# --- 8. A reload that breaks drie's key while a login for twee and one for
# drie are at TVS: drie alone is quarantined, twee's login finishes, drie's
# comes back to the page without its artifact being resolved.
rm -f "$ZR_TMP"/at-acs-* "$ZR_TMP/go"
hold() { echo "touch $ZR_TMP/at-acs-$1; while [ ! -e $ZR_TMP/go ]; do sleep 0.1; done"; }
login portal-twee "DigiD Substantieel" --before-acs "$(hold 2)" >"$ZR_TMP/r2.json" &
p2=$!
login portal-drie "DigiD Substantieel" --before-acs "$(hold 3)" --accept-language nl --ui-locales en >"$ZR_TMP/r3.json" &
p3=$!
for i in $(seq 1 300); do
  [ -e "$ZR_TMP/at-acs-2" ] && [ -e "$ZR_TMP/at-acs-3" ] && break
  sleep 0.1
done
zr_check "two logins waiting at TVS" "$(ls "$ZR_TMP"/at-acs-* 2>/dev/null | wc -l)" "2"
sed -i "s#$P/dv3-bsn-1.key#$P/dv2-bsn-1.key#" "$DIR/zorgaanbieder-drie.yaml"
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload that breaks drie's key: exit 0" "$rc" "0"
zr_check "reload: the relay reports 2 quarantined" "$(echo "$out" | grep -c '^relay: ok: generation 2, 2 quarantined')" "1"
wait_log 'reload care provider zorgaanbieder-vier quarantined'
zr_check "reload: one log line each for drie and vier" \
  "$(grep 'reload' "$ZR_TMP/relay.log" | grep -c "care provider zorgaanbieder-drie quarantined (private key does not match the certificate), file $DIR/zorgaanbieder-drie.yaml")/$(grep 'reload' "$ZR_TMP/relay.log" | grep -c 'care provider zorgaanbieder-vier quarantined (BSN certificate expired)')" "1/1"
touch "$ZR_TMP/go"
wait $p2 $p3 || true
r=$(cat "$ZR_TMP/r2.json")
zr_check "twee's login in flight finished across the reload" "$(zr_json "$r" 'd.get("claims", {}).get("bsn")')" "999990019"
r=$(cat "$ZR_TMP/r3.json")
zr_check "drie's login in flight: the care_provider_unavailable page, no claims" \
  "$(zr_json "$r" 'd.get("status")') $(zr_json "$r" 'd.get("page_code")') $(zr_json "$r" '"claims" in d')" \
  "503 care_provider_unavailable False"
zr_check "drie's login in flight: the pages in its ui_locales (en), over Accept-Language nl, after the round trip too" \
  "$(zr_json "$r" 'd["page_langs"]')" '["en", "en"]'
zr_check "drie's login in flight: the artifact was not resolved (the line carries the login's trace id)" \
  "$(grep -cE "care provider zorgaanbieder-drie was quarantined during the login; the artifact is not resolved trace=[0-9a-f]{32} ref=" "$ZR_TMP/relay.log")" "1"
out=$(login portal-drie "DigiD Substantieel" 2>/dev/null || true)
zr_check "drie after the reload: temporarily_unavailable" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
for c in demo-portal portal-twee; do
  out=$(login "$c" "DigiD Substantieel")
  zr_check "$c after the reload: login ok" "$(zr_json "$out" 'd.get("claims", {}).get("bsn")')" "999990019"
done
zr_check "/healthz after the reload: drie and vier" \
  "$(zr_json "$(curl -s "$ISSUER/healthz")" '" ".join(q["id"] + "=" + q["reason"] for q in d["config"]["quarantined"])')" \
  "zorgaanbieder-drie=private key does not match the certificate zorgaanbieder-vier=BSN certificate expired"

# --- 9. A reload that fixes vier (a valid certificate) and drie takes them out.
sed -i -e "s#$ZR_TMP/expired/dv4-bsn-1#$P/dv4-bsn-1#g" "$DIR/zorgaanbieder-vier.yaml"
sed -i "s#$P/dv2-bsn-1.key#$P/dv3-bsn-1.key#" "$DIR/zorgaanbieder-drie.yaml"
kill -HUP "$MOCK_PID"
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload that fixes them: 0 quarantined" "$rc $(echo "$out" | grep -c '^relay: ok: generation 3, 0 quarantined')" "0 1"
for c in portal-vier portal-drie; do
  out=$(login "$c" "DigiD Substantieel")
  zr_check "$c after the fix: login ok" "$(zr_json "$out" 'd.get("claims", {}).get("bsn")')" "999990019"
done
zr_check "/healthz after the fix: none quarantined" "$(zr_json "$(curl -s "$ISSUER/healthz")" 'd["config"]["quarantined"]')" "[]"

# --- 10. A reload that would quarantine every provider is refused: nothing
# could be served. `zorgrelay reload` asks the relay (whose load is the
# validation), and prints the lines when it refuses; the relay keeps the
# running configuration.
cp "$CFG" "$ZR_TMP/cluster.good"
sed -i "s#$P/dv-bsn-1.key#$ZR_TMP/no-such.key#" "$CFG"
for f in twee drie vier; do sed -i "s#^    key: .*#    key: $ZR_TMP/no-such.key#" "$DIR/zorgaanbieder-$f.yaml"; done
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "every provider broken: zorgrelay reload says the relay refused, and why" \
  "$rc $(echo "$out" | grep -c '^relay: refused: 5 configuration errors') $(echo "$out" | grep -c 'every care provider (4) is quarantined, nothing could be served')" "1 1 1"
# A plain SIGHUP is refused alike.
kill -HUP "$RELAY_PID"
for i in $(seq 1 150); do
  [ "$(zr_json "$(curl -s "$ISSUER/healthz")" 'd["config"]["reloads"]')" = 4 ] && break; sleep 0.1
done
zr_check "every provider broken: the relay refuses the SIGHUP" \
  "$(zr_json "$(curl -s "$ISSUER/healthz")" 'd["config"]["last_reload"]')" "refused: 5 configuration errors"
out=$(login portal-twee "DigiD Substantieel")
zr_check "every provider broken: the running configuration still serves" "$(zr_json "$out" 'd.get("claims", {}).get("bsn")')" "999990019"
cp "$ZR_TMP/cluster.good" "$CFG"

zr_check "no BSN in the relay or mock log" "$(cat "$ZR_TMP/relay.log" "$ZR_TMP/mock-tvs.log" | grep -c '999990019' || true)" "0"
zr_done
