#!/usr/bin/env bash
# Logins through a cluster connection (issue 3 §1, §4, §5): the relay runs as
# the vendor's LC for several care providers (DVs) against the mock TVS in
# cluster shape (Extensions with IntendedAudience + ServiceUUID, Audience LC +
# DV, EncryptedID per DV). Two care providers in parallel; a shared portal
# choosing its provider; an artifact of DV A presented in a login for DV B;
# BSN key rollover with either key; a reload that adds, changes and removes
# providers while logins are running, and a bad reload that changes nothing.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
P=$ZR_PKI
LC_ENTITY="urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
DIR="$ZR_TMP/providers"
mkdir -p "$DIR/former"

# provider FILE ID OIN UUID KEYNAME [CLIENT_ID]: zr_provider_file with the
# test PKI's KEYNAME.pem and KEYNAME.key.
provider() { zr_provider_file "$1" "$2" "$3" "$4" "$P/$5.pem" "$P/$5.key" "${6:-}"; }
provider "$DIR/twee.yaml" zorgaanbieder-twee 00000009999999999002 22222222-2222-4222-8222-222222222222 dv2-bsn-1 portal-twee
provider "$DIR/drie.yaml" zorgaanbieder-drie 00000009999999999003 33333333-3333-4333-8333-333333333333 dv3-bsn-1 portal-drie

# The example configuration as the LC: the LC's keys, the inline provider in
# rollover (two BSN keys), the others from the directory, the demo portal
# shared by the first two, and a pid_file for `zorgrelay reload`.
CFG="$ZR_TMP/cluster.yaml"
sed -e "s#$P/relay-signing\.#$P/lc-signing.#" \
    -e "s#$P/relay-tls-client\.#$P/lc-tls-client.#" \
    -e "s/^      # - cert: \(.*dv-bsn-2.pem\)$/      - cert: \1/" \
    -e "s/^      #   key: \(.*dv-bsn-2.key\)$/        key: \1/" \
    -e "s/^    care_provider: zorgaanbieder-demo$/&/" \
    "$ZR_CONFIG" | awk -v dir="$DIR" -v lc="$LC_ENTITY" -v pid="$ZR_TMP/relay.pid" '
/^oidc:/ {
  print "care_providers_dir: " dir
  print "pid_file: " pid
  print ""
  print "cluster:"
  print "  entity_id: " lc
  print "  oin: \"00000009999999999100\""
  print "  name: Leverancier Test (TEST)"
  print ""
}
/^  - client_id: demo-portal$/ { in_portal = 1 }
/^  - client_id: demo-pgo$/ { in_portal = 0 }
{ print }
in_portal && /^    care_provider: zorgaanbieder-demo$/ {
  print "    care_providers: [zorgaanbieder-demo, zorgaanbieder-twee]"
}' > "$CFG"
ZR_CONFIG="$CFG"

rc=0; "$ZR_BIN" check-config "$CFG" >"$ZR_TMP/check.out" 2>&1 || rc=$?
zr_check "cluster configuration with a providers directory is valid" "$rc" "0"
[ "$rc" = 0 ] || cat "$ZR_TMP/check.out"
zr_start_mock_tvs
zr_start_relay
MOCK_PID=${ZR_PIDS[-2]}

# login CLIENT IDENTITY [args]: the Authlib portal + browser driver.
login() {
  local client=$1 identity=$2; shift 2
  local secret=$client-secret
  [ "$client" = demo-portal ] && secret=demo-portal-secret
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity "$identity" "$@"
}

# --- 1. Two care providers of one cluster, in parallel.
login demo-portal "DigiD Substantieel" --secrets-out "$ZR_TMP/demo-secrets" >"$ZR_TMP/a.json" &
pa=$!
login portal-twee "DigiD Substantieel" --secrets-out "$ZR_TMP/twee-secrets" >"$ZR_TMP/b.json" &
pb=$!
wait $pa $pb || true
a=$(cat "$ZR_TMP/a.json"); b=$(cat "$ZR_TMP/b.json")
zr_check "parallel: care provider 1 login ok (BSN decrypted with its key)" "$(zr_json "$a" 'd["claims"].get("bsn")')" "999990019"
zr_check "parallel: care provider 2 login ok (BSN decrypted with its key)" "$(zr_json "$b" 'd["claims"].get("bsn")')" "999990019"
zr_check "relay log: one login per care provider, each as itself" \
  "$(grep -c 'tenant=zorgaanbieder-demo .*result=ok' "$ZR_TMP/relay.log")/$(grep -c 'tenant=zorgaanbieder-twee .*result=ok' "$ZR_TMP/relay.log")" "1/1"

# --- 2. A shared portal names the care provider; the list is enforced.
out=$(login demo-portal "DigiD Substantieel" --care-provider zorgaanbieder-twee)
zr_check "shared portal: login for its second care provider" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "relay log: that login ran as care provider 2" \
  "$(grep -c 'tenant=zorgaanbieder-twee .*result=ok' "$ZR_TMP/relay.log")" "2"
out=$(login demo-portal "DigiD Substantieel" --care-provider zorgaanbieder-drie)
zr_check "shared portal: a provider not on its list -> invalid_request" "$(zr_json "$out" 'd.get("oauth_error")')" "invalid_request"
out=$(login portal-twee "DigiD Substantieel" --care-provider zorgaanbieder-demo)
zr_check "own portal: another provider -> invalid_request" "$(zr_json "$out" 'd.get("oauth_error")')" "invalid_request"

# --- 3. An artifact from a login for DV 1 presented in a login for DV 2.
out=$(login demo-portal "DigiD Substantieel" --save-artifact "$ZR_TMP/art-a")
zr_check "artifact of care provider 1 saved" "$(zr_json "$out" 'd.get("saved_artifact")')" "True"
out=$(login portal-twee "DigiD Substantieel" --use-artifact-from "$ZR_TMP/art-a")
zr_check "cross-provider artifact: refused (server_error to the portal)" "$(zr_json "$out" 'd.get("oauth_error")')" "server_error"
zr_check "cross-provider artifact: no BSN reached the portal" "$(zr_json "$out" '"claims" in d')" "False"
zr_check "relay log: refused as not answering this login" \
  "$(grep 'tenant=zorgaanbieder-twee .*result=invalid' "$ZR_TMP/relay.log" | grep -c 'InResponseTo')" "1"

# --- 4. Rollover: care provider 1 has two BSN keys; TVS may use either.
for k in 0 1; do
  out=$(login demo-portal "DigiD Substantieel" --tvs-field "bsn_key=$k")
  zr_check "rollover: BSN encrypted to key $((k+1)) decrypts" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
done

# --- 5. Reload while logins are running: add (vier), change (demo: back to
# one key; drie: new ServiceUUID), remove (twee -> former/).
rm -f "$ZR_TMP"/at-acs-* "$ZR_TMP/go"
hold() { echo "touch $ZR_TMP/at-acs-$1; while [ ! -e $ZR_TMP/go ]; do sleep 0.1; done"; }
login demo-portal "DigiD Substantieel" --before-acs "$(hold 1)" >"$ZR_TMP/r1.json" &
p1=$!
login portal-twee "DigiD Substantieel" --before-acs "$(hold 2)" >"$ZR_TMP/r2.json" &
p2=$!
login portal-drie "DigiD Substantieel" --before-acs "$(hold 3)" >"$ZR_TMP/r3.json" &
p3=$!
for i in $(seq 1 300); do
  [ -e "$ZR_TMP/at-acs-1" ] && [ -e "$ZR_TMP/at-acs-2" ] && [ -e "$ZR_TMP/at-acs-3" ] && break
  sleep 0.1
done
zr_check "three logins waiting at TVS" "$(ls "$ZR_TMP"/at-acs-* 2>/dev/null | wc -l)" "3"

# A bad set first: the relay keeps the running one and says why.
provider "$DIR/vier.yaml" zorgaanbieder-vier 00000009999999999004 22222222-2222-4222-8222-222222222222 dv4-bsn-1 portal-vier
# The relay's own load is the validation (issue 14 §2: `reload` no longer
# loads every provider first); the command prints the error lines after.
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload with a duplicate ServiceUUID: refused (exit 1)" "$rc" "1"
zr_check "reload names the file and the problem" "$(echo "$out" | grep -c "vier.yaml:.*ServiceUUID")" "1"
zr_check "reload: the relay refused it and kept generation 1" \
  "$(echo "$out" | grep -c '^relay: refused: 1 configuration error')/$(zr_json "$(curl -s "$ISSUER/healthz")" 'd["config"]["generation"]')" "1/1"

provider "$DIR/vier.yaml" zorgaanbieder-vier 00000009999999999004 44444444-4444-4444-8444-444444444444 dv4-bsn-1 portal-vier
mv "$DIR/twee.yaml" "$DIR/former/twee.yaml"
sed -i "s/33333333-3333-4333-8333-333333333333/33333333-3333-4333-8333-000000000003/" "$DIR/drie.yaml"
sed -i -e "/^      - cert: .*dv-bsn-2.pem$/d" -e "/^        key: .*dv-bsn-2.key$/d" "$CFG"
# demo-portal may no longer name twee: it is a former provider now.
sed -i "s/    care_providers: \[zorgaanbieder-demo, zorgaanbieder-twee\]/    care_providers: [zorgaanbieder-demo]/" "$CFG"
kill -HUP "$MOCK_PID"
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload: exit 0" "$rc" "0"
zr_check "reload: the relay reports the new generation" "$(echo "$out" | grep -c '^relay: ok: generation 2')" "1"
zr_check "relay log: 1 added, 2 changed, 1 removed" \
  "$(grep -c 'generation 2 in use: 3 care providers (1 added, 2 changed, 1 removed)' "$ZR_TMP/relay.log")" "1"
touch "$ZR_TMP/go"
wait $p1 $p2 $p3 || true
for i in 1 3; do
  r=$(cat "$ZR_TMP/r$i.json")
  zr_check "running login $i finished across the reload" "$(zr_json "$r" 'd.get("claims", {}).get("bsn")')" "999990019"
done
# A portal removed by the reload stops at once (issue 12 §4): its login in
# flight comes back to it as unauthorized_client, without a code and without
# the artifact being resolved (no BSN fetched for a portal that is gone); its
# earlier access token is refused at /userinfo; a portal that stayed keeps
# its token.
zr_check "removed portal: its login in flight comes back as unauthorized_client, no code" \
  "$(zr_json "$(cat "$ZR_TMP/r2.json")" 'd.get("oauth_error")') $(zr_json "$(cat "$ZR_TMP/r2.json")" '"claims" in d')" \
  "unauthorized_client False"
zr_check "removed portal: relay log says so, the artifact not resolved" \
  "$(grep -cE 'client=portal-twee no longer configured; the artifact is not resolved trace=[0-9a-f]{32} ref=' "$ZR_TMP/relay.log")" "1"
userinfo_status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(sed -n 2p "$1")" "$ISSUER/userinfo"; }
zr_check "removed portal: its access token is refused at /userinfo" "$(userinfo_status "$ZR_TMP/twee-secrets")" "401"
zr_check "remaining portal: its access token still works" "$(userinfo_status "$ZR_TMP/demo-secrets")" "200"

# After the reload: the new provider logs in; the removed one cannot start.
out=$(login portal-vier "DigiD Substantieel")
zr_check "added provider: login ok" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
out=$(login portal-twee "DigiD Substantieel" 2>/dev/null || true)
zr_check "removed provider: its portal is gone" "$(zr_json "$out" 'd.get("error")')" "no AuthnRequest form from /authorize"
out=$(login portal-drie "DigiD Substantieel")
zr_check "changed provider: login ok with its new ServiceUUID" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "the metadata lists the new set (LC + 3 providers)" \
  "$(curl -s "$ISSUER/saml/metadata" | grep -o 'entityID="[^"]*"' | sort -u | wc -l)" "4"

# A reload that needs a restart is refused and changes nothing.
sed -i "s#^public_base_url: .*#public_base_url: http://elsewhere.example#" "$CFG"
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload of a restart-only setting: refused (exit 1)" "$rc" "1"
zr_check "reload says what needs a restart" "$(echo "$out" | grep -c 'public_base_url changed: that needs a restart')" "1"
out=$(login portal-vier "DigiD Substantieel")
zr_check "after the refused reload: logins still work" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

zr_check "no BSN in the relay or mock log" "$(grep -c '99999001[0-9]' "$ZR_TMP/relay.log" "$ZR_TMP/mock-tvs.log" | awk -F: '{s+=$2} END {print s}')" "0"
zr_done
