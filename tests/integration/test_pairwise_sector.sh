#!/usr/bin/env bash
# Pairwise sectors (issue 12 §4, docs/claims.md#the-sub-claim) through the
# real binary: two portals on one redirect host see different subs, a client
# naming another's client_id as sector_identifier sees that client's sub, new
# redirect URIs change no sub; a reload that would change a client's sector
# is refused (the relay keeps serving the old subs, the log names the client,
# both sectors and FILE:LINE) and goes through once oidc.allow_sector_change
# lists the client.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
CFG="$ZR_TMP/sectors.yaml"

# Two more clients on demo-portal's redirect host: portaal-b (its own
# sector) and app (demo-portal's sector); and a pid_file for `reload`.
$PY - "$ZR_CONFIG" "$CFG" "$ZR_TMP/relay.pid" <<'EOF'
import sys
src, dst, pid = sys.argv[1:]
s = open(src).read()
extra = """  - client_id: portaal-b
    care_provider: zorgaanbieder-demo
    client_secret: portaal-b-secret
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
  - client_id: app
    sector_identifier: demo-portal
    care_provider: zorgaanbieder-demo
    client_secret: app-secret
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
"""
assert s.count("\nclients:\n") == 1
s = s.replace("\nclients:\n", "\npid_file: " + pid + "\n\nclients:\n" + extra, 1)
open(dst, "w").write(s)
EOF
ZR_CONFIG="$CFG"
zr_start_mock_tvs
zr_start_relay

# sub_of CLIENT: the sub a patient login through CLIENT gets.
sub_of() {
  local secret=$1-secret out
  [ "$1" = demo-portal ] && secret=demo-portal-secret
  out=$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$1" \
    --client-secret "$secret" --redirect-uri http://localhost:8000/callback --identity "DigiD Substantieel")
  zr_json "$out" 'd.get("claims", {}).get("sub", "no sub: " + json.dumps(d))'
}

PORTAL_SUB=$(sub_of demo-portal)
B_SUB=$(sub_of portaal-b)
APP_SUB=$(sub_of app)
zr_check "login through demo-portal gives a sub" "$([ ${#PORTAL_SUB} -eq 43 ] && echo yes)" "yes"
zr_check "same redirect host, another client: another sub" "$([ "$B_SUB" != "$PORTAL_SUB" ] && echo yes)" "yes"
zr_check "sector_identifier: demo-portal: demo-portal's sub" "$APP_SUB" "$PORTAL_SUB"

# New first redirect URI (another host): no sector change, same sub.
sed -i '/^  - client_id: demo-portal$/,/^    redirect_uris:$/{/^    redirect_uris:$/a\      - http://127.0.0.1:8009/first
}' "$CFG"
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload with a new first redirect URI: ok" "$rc $(echo "$out" | grep -c '^relay: ok: generation 2')" "0 1"
zr_check "after it, demo-portal's sub is unchanged" "$(sub_of demo-portal)" "$PORTAL_SUB"

# portaal-b gets a sector_identifier: refused, and nothing changes.
sed -i 's#^  - client_id: portaal-b$#&\n    sector_identifier: https://zorgaanbieder-demo.example#' "$CFG"
LINE=$(grep -n '^    sector_identifier: https://zorgaanbieder-demo.example$' "$CFG" | cut -d: -f1)
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload changing portaal-b's sector: refused (exit 1)" "$rc" "1"
zr_check "reload prints the client, the old and the new sector" \
  "$(echo "$out" | grep -c "^relay: refused: client 'portaal-b' would change its pairwise sector from 'portaal-b' (client_id) to 'https://zorgaanbieder-demo.example' (sector_identifier); list it under oidc.allow_sector_change")" "1"
zr_check "relay log names the file and line of the new sector" \
  "$(grep -c "$CFG:$LINE: client 'portaal-b' would change its pairwise sector from 'portaal-b' (client_id) to 'https://zorgaanbieder-demo.example' (sector_identifier)" "$ZR_TMP/relay.log")" "1"
zr_check "after the refusal: portaal-b's sub is unchanged" "$(sub_of portaal-b)" "$B_SUB"

# Allowed explicitly: the reload goes through and the sub changes.
sed -i 's#^  pairwise_secret_file: .*#&\n  allow_sector_change: [portaal-b]#' "$CFG"
LINE=$(grep -n '^    sector_identifier: https://zorgaanbieder-demo.example$' "$CFG" | cut -d: -f1)
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload with oidc.allow_sector_change: [portaal-b]: ok" "$rc $(echo "$out" | grep -c '^relay: ok: generation 3')" "0 1"
zr_check "relay log: the allowed change as a warning" \
  "$(grep -c "$CFG:$LINE: client 'portaal-b': pairwise sector 'portaal-b' (client_id) -> 'https://zorgaanbieder-demo.example' (sector_identifier), allowed by oidc.allow_sector_change" "$ZR_TMP/relay.log")" "1"
NEW_B_SUB=$(sub_of portaal-b)
zr_check "portaal-b now has another sub" "$([ ${#NEW_B_SUB} -eq 43 ] && [ "$NEW_B_SUB" != "$B_SUB" ] && echo yes)" "yes"
zr_check "demo-portal and app keep theirs" "$(sub_of demo-portal) $(sub_of app)" "$PORTAL_SUB $PORTAL_SUB"

# The allowance left in place is pointed out at the next reload.
rc=0; out=$("$ZR_BIN" reload "$CFG" 2>&1) || rc=$?
zr_check "reload with nothing to allow: ok" "$rc $(echo "$out" | grep -c '^relay: ok: generation 4')" "0 1"
zr_check "relay log: the stale allowance is named" \
  "$(grep -c "oidc.allow_sector_change lists client 'portaal-b', whose pairwise sector does not change: remove it" "$ZR_TMP/relay.log")" "1"

zr_check "no BSN in the relay log" "$(grep -c '99999001[0-9]' "$ZR_TMP/relay.log" || true)" "0"
zr_done
