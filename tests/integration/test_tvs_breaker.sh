#!/usr/bin/env bash
# Issue 13 §2: the circuit breaker of TVS's artifact endpoint. With TVS's
# artifact endpoint refusing every TLS connection (a stand-in that accepts
# and closes, and counts), two failed resolutions open the breaker
# (tvs.breaker_failures: 2); the next ACS is answered at once with
# error=temporarily_unavailable without a connection attempt (the stand-in
# counts none; the log has the transition), /readyz shows "open"; once TVS
# is back, the probe after the cool-down closes it and logins work again.
# The one margin: the third ACS comes right after the second failure, far
# inside the 20 s cool-down (a step of well under a second, a few on a
# machine under heavy load).
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
$PY - "$ZR_CONFIG" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
old = "  connect_timeout_ms: 3000\n  timeout_ms: 10000\n"
assert s.count(old) == 1
s = s.replace(old, old + "  breaker_failures: 2\n  breaker_cooldown_seconds: 20\n")
open(p, "w").write(s)
EOF
zr_start_mock_tvs
TVS_PID=${ZR_PIDS[-1]}
zr_start_relay

wait_files() { local pat=$1 n=$2 i; for i in $(seq 1 2400); do [ "$(ls $pat 2>/dev/null | wc -l)" -ge "$n" ] && return 0; sleep 0.05; done; return 1; }
breaker() { zr_json "$(curl -s --max-time 20 "$ISSUER/readyz")" 'd.get("lane", {}).get("breaker")' 2>/dev/null || echo "?"; }
result() { zr_json "$(cat "$ZR_TMP/login.$1.json")" 'd.get("claims", {}).get("bsn") or d.get("oauth_error")' 2>/dev/null || echo "broken"; }

zr_check "breaker closed at start" "$(breaker)" "closed"

# Three logins do TVS's browser part while TVS is up, then wait before the ACS.
PIDS=()
for i in 1 2 3; do
  zr_login "DigiD Substantieel" \
    --before-acs "touch $ZR_TMP/ready.$i; while [ ! -e $ZR_TMP/go.$i ]; do sleep 0.05; done" \
    >"$ZR_TMP/login.$i.json" 2>"$ZR_TMP/login.$i.err" &
  PIDS+=("$!")
done
wait_files "$ZR_TMP/ready.*" 3

# TVS down: in its artifact endpoint's place, something that accepts a
# connection and closes it at once, counting.
kill "$TVS_PID"; wait "$TVS_PID" 2>/dev/null || true
$PY - "$ART_PORT" "$ZR_TMP/contacts" <<'EOF' &
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f:
        f.write("contact\n")
    c.close()
EOF
CLOSER=$!
ZR_PIDS+=("$CLOSER")
wait_files "$ZR_TMP/contacts" 1
contacts() { wc -l < "$ZR_TMP/contacts" | tr -d ' '; }

for i in 1 2; do
  touch "$ZR_TMP/go.$i"
  wait "${PIDS[$((i-1))]}" || true
  zr_check "TVS down: login $i gets temporarily_unavailable" "$(result $i)" "temporarily_unavailable"
done
zr_check "TVS down: two resolutions tried" "$(contacts)" "2"
zr_check "TVS down: the breaker opened (logged once, with the host)" \
  "$(grep -c "tvs_breaker artifact endpoint host=localhost:$ART_PORT circuit opened after 2 failures" "$ZR_TMP/relay.log")" "1"

touch "$ZR_TMP/go.3"
wait "${PIDS[2]}" || true
zr_check "breaker open: login 3 gets temporarily_unavailable" "$(result 3)" "temporarily_unavailable"
zr_check "breaker open: TVS was not contacted" "$(contacts)" "2"
zr_check "breaker open: the ACS says why, with the login's trace id" "$(grep -cE 'artifact resolution failed: .*circuit breaker open.* trace=[0-9a-f]{32} ref=' "$ZR_TMP/relay.log")" "1"
zr_check "breaker open: /readyz shows it" "$(breaker)" "open"
# TVS down is the same for every relay process: readiness stays (the
# portals' /token and /userinfo must go on), docs/operations.md.
zr_check "breaker open: /readyz stays ready" "$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$ISSUER/readyz")" "200"
zr_check "no artifact in any breaker line" "$(grep 'tvs_breaker' "$ZR_TMP/relay.log" | grep -c 'SAMLart\|AAQ' || true)" "0"

# TVS back: after the cool-down one login probes and closes the breaker.
kill "$CLOSER"; wait "$CLOSER" 2>/dev/null || true
zr_start_mock_tvs
ok=""
for i in $(seq 1 90); do
  out=$(zr_login "DigiD Substantieel")
  ok=$(zr_json "$out" 'd.get("claims", {}).get("bsn") or d.get("oauth_error")' 2>/dev/null || echo broken)
  [ "$ok" = 999990019 ] && break
  [ "$ok" = temporarily_unavailable ] || break
  sleep 1
done
zr_check "TVS back: a login succeeds again" "$ok" "999990019"
zr_check "TVS back: the breaker closed (logged)" \
  "$(grep -c "tvs_breaker artifact endpoint host=localhost:$ART_PORT circuit closed" "$ZR_TMP/relay.log")" "1"
zr_check "TVS back: /readyz shows it closed" "$(breaker)" "closed"

zr_done
