#!/usr/bin/env bash
# Pairwise sectors across restarts and processes (issue 12 §4, docs/operations.md
# "Upgrading"): every relay records in Redis the sector each client is served
# under, and a start, a reload or a second process whose configuration gives
# a client another sector is refused unless oidc.allow_sector_change lists it
# (then a warning, and the record follows). A relay started while Redis is
# down compares before it serves anything, and stops when the record differs.
# `zorgrelay selftest` reports the same comparison.
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500
zr_pki
zr_start_redis
zr_write_config
OLD="$ZR_TMP/old.yaml"
NEW="$ZR_TMP/new.yaml"
OLD_ALLOWED="$ZR_TMP/old-allowed.yaml"
sed "s#^clients:#pid_file: $ZR_TMP/relay.pid\n\nclients:#" "$ZR_CONFIG" >"$OLD"
# demo-portal moves to a sector of its own name.
sed 's#^  - client_id: demo-portal$#&\n    sector_identifier: vendor-x#' "$OLD" >"$NEW"
LINE=$(grep -n '^    sector_identifier: vendor-x$' "$NEW" | cut -d: -f1)
OLD_LINE=$(grep -n '^  - client_id: demo-portal$' "$OLD" | cut -d: -f1)
ZR_CONFIG="$OLD"
zr_start_mock_tvs
zr_start_mock_dezi   # so that selftest's exit status depends on the sectors alone

# serve_refused CONFIG LOG -> $RC: a start that must end by itself (timeout
# only as a safety net: a relay that does not refuse runs on).
serve_refused() {
  set +e
  timeout 60 "$ZR_BIN" serve "$1" >"$2" 2>&1
  RC=$?
  set -e
}
selftest() {
  set +e
  OUT=$("$ZR_BIN" selftest "$@" 2>>"$ZR_TMP/selftest.log")
  RC=$?
  set -e
}
sub_of_portal() { zr_json "$(zr_login "DigiD Substantieel")" 'd.get("claims", {}).get("sub", "no sub: " + json.dumps(d))'; }
readyz() { curl -s "$ISSUER/readyz"; }

# ---- first start: the record is made ---------------------------------------
zr_start_relay
OLD_SUB=$(sub_of_portal)
zr_check "first start: a login gives a sub" "${#OLD_SUB}" "43"
zr_check "first start: /readyz reports the sectors compared" \
  "$(zr_json "$(readyz)" 'd["pairwise_sectors"]')" "ok"
KEYS=$(redis-cli -p "$REDIS_PORT" --raw KEYS 'zr:client-sector:*')
zr_check "one record per client, in namespace client-sector" "$(echo "$KEYS" | grep -c .)" "2"
zr_check "the records do not expire" \
  "$(for k in $KEYS; do redis-cli -p "$REDIS_PORT" TTL "$k"; done | sort -u)" "-1"
zr_check "the records are sealed (no sector or client_id in Redis)" \
  "$(for k in $KEYS; do redis-cli -p "$REDIS_PORT" --raw GET "$k"; done | grep -ac 'demo-portal\|client_id' || true)" "0"
selftest "$OLD"
zr_check "selftest of the running configuration: exit 0" "$RC" "0"
zr_check "selftest: ok pairwise-sectors" \
  "$(echo "$OUT" | grep -c "^ok    pairwise-sectors: 2 client(s): the configured pairwise sectors agree with the ones recorded in Redis (0 not recorded yet)")" "1"

# ---- restart with another sector: refused ---------------------------------
zr_stop "$RELAY_PID"
serve_refused "$NEW" "$ZR_TMP/refused.log"
zr_check "restart with demo-portal's sector changed: refused (exit 1)" "$RC" "1"
zr_check "refused start: file:line, client, recorded and configured sector" \
  "$(grep -c "$NEW:$LINE: client 'demo-portal' would change its pairwise sector from 'demo-portal' (client_id, recorded in Redis) to 'vendor-x' (sector_identifier), and with it every sub it sees; to do that deliberately, list it under oidc.allow_sector_change" "$ZR_TMP/refused.log")" "1"
zr_check "refused start: the reason on the last line" \
  "$(grep -c "refusing to start: client 'demo-portal' would change its pairwise sector from 'demo-portal' (client_id, recorded in Redis) to 'vendor-x' (sector_identifier); list it under oidc.allow_sector_change" "$ZR_TMP/refused.log")" "1"
selftest "$NEW"
zr_check "selftest of the changed configuration: exit 1" "$RC" "1"
zr_check "selftest: FAIL pairwise-sectors naming the client and both sectors" \
  "$(echo "$OUT" | grep -c "^FAIL  pairwise-sectors: 1 client(s) would change their pairwise sector, and every sub: client 'demo-portal' is configured with 'vendor-x' (sector_identifier, $NEW:$LINE), recorded 'demo-portal' (client_id)")" "1"
selftest --json "$NEW"
zr_check "selftest --json: status fail, pairwise-sectors FAIL naming demo-portal" \
  "$(echo "$OUT" | $PY -c '
import json,sys
d = json.load(sys.stdin)
c = [x for x in d["checks"] if x["check"] == "pairwise-sectors"]
print(d["status"], len(c), c[0]["status"], "demo-portal" in c[0]["finding"], "vendor-x" in c[0]["finding"])')" \
  "fail 1 fail True True"

# ---- allowed: starts, warns, the record follows ---------------------------
sed 's#^  pairwise_secret_file: .*#&\n  allow_sector_change: [demo-portal]#' "$NEW" >"$NEW.allowed"
mv "$NEW.allowed" "$NEW"
LINE=$(grep -n '^    sector_identifier: vendor-x$' "$NEW" | cut -d: -f1)
ZR_CONFIG="$NEW"
selftest "$NEW"
zr_check "selftest of the allowed change: warn pairwise-sectors" \
  "$(echo "$OUT" | grep -c "^warn  pairwise-sectors: allowed by oidc.allow_sector_change: client 'demo-portal' is configured with 'vendor-x'")" "1"
zr_start_relay
zr_check "allowed restart: warning with file:line and both sectors" \
  "$(grep -c "$NEW:$LINE: client 'demo-portal': pairwise sector 'demo-portal' (client_id, recorded in Redis) -> 'vendor-x' (sector_identifier), allowed by oidc.allow_sector_change: every sub this client sees changes" "$ZR_TMP/relay.log")" "1"
NEW_SUB=$(sub_of_portal)
zr_check "allowed restart: demo-portal's users get another sub" \
  "$([ ${#NEW_SUB} -eq 43 ] && [ "$NEW_SUB" != "$OLD_SUB" ] && echo yes)" "yes"
selftest "$NEW"
zr_check "selftest after it: the record follows (ok)" "$(echo "$OUT" | grep -c '^ok    pairwise-sectors: ')" "1"

# ---- a second process with the old configuration: refused ------------------
sed -e "s#:$RELAY_PORT\\b#:$(zr_free_port)#g" -e "s#relay.pid#relay-b.pid#" "$OLD" >"$ZR_TMP/old-b.yaml"
serve_refused "$ZR_TMP/old-b.yaml" "$ZR_TMP/second.log"
zr_check "second process, old configuration, same Redis: refused (exit 1)" "$RC" "1"
zr_check "second process: names the client, the recorded and its sector" \
  "$(grep -c "$ZR_TMP/old-b.yaml:$OLD_LINE: client 'demo-portal' would change its pairwise sector from 'vendor-x' (sector_identifier, recorded in Redis) to 'demo-portal' (client_id)" "$ZR_TMP/second.log")" "1"
zr_check "the running relay keeps the new sub" "$(sub_of_portal)" "$NEW_SUB"
selftest "$OLD"
zr_check "selftest of the old configuration: FAIL, recorded 'vendor-x'" \
  "$(echo "$OUT" | grep -c "^FAIL  pairwise-sectors: .*client 'demo-portal' is configured with 'demo-portal' (client_id, .*), recorded 'vendor-x' (sector_identifier)")" "1"

# ---- a reload compares with the record too --------------------------------
# Another process moves demo-portal back (allowed there); the running relay's
# reload, with the allowance removed from its file, is refused.
sed 's#^  pairwise_secret_file: .*#&\n  allow_sector_change: [demo-portal]#' "$ZR_TMP/old-b.yaml" >"$OLD_ALLOWED"
B_PORT=$(sed -n 's#^listen: .*:\([0-9]*\)"*$#\1#p' "$OLD_ALLOWED")
"$ZR_BIN" serve "$OLD_ALLOWED" >"$ZR_TMP/third.log" 2>&1 &
B_PID=$!
ZR_PIDS+=("$B_PID")
zr_wait_port "$B_PORT"
zr_stop "$B_PID"
sed -i '/^  allow_sector_change: \[demo-portal\]$/d' "$NEW"
rc=0; out=$("$ZR_BIN" reload "$NEW" 2>&1) || rc=$?
zr_check "reload against a record another process changed: refused (exit 1)" "$rc" "1"
zr_check "reload refusal names the recorded sector" \
  "$(echo "$out" | grep -c "^relay: refused: client 'demo-portal' would change its pairwise sector from 'demo-portal' (client_id, recorded in Redis) to 'vendor-x' (sector_identifier)")" "1"

# ---- Redis down at the start: compared when it comes back, before serving --
zr_stop "$RELAY_PID"
redis-cli -p "$REDIS_PORT" SHUTDOWN SAVE >/dev/null 2>&1 || true
wait "$REDIS_PID" 2>/dev/null || true
"$ZR_BIN" serve "$NEW" >"$ZR_TMP/late.log" 2>&1 &
LATE_PID=$!
ZR_PIDS+=("$LATE_PID")
zr_wait_port "$RELAY_PORT"
zr_check "Redis down: the relay starts, not ready, sectors not compared" \
  "$(curl -s -o "$ZR_TMP/hz.json" -w '%{http_code}' "$ISSUER/readyz") $(zr_json "$(cat "$ZR_TMP/hz.json")" 'd["pairwise_sectors"].startswith("not compared yet")')" \
  "503 True"
zr_check "Redis down: /authorize answers 503" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/authorize?client_id=demo-portal")" "503"
zr_start_redis   # same port and directory: the saved records come back
# Readiness checks, as a load balancer sends them, until the relay has seen
# Redis again (the store probes it at its own pace) and stopped.
CODES=""
for i in $(seq 1 150); do
  kill -0 "$LATE_PID" 2>/dev/null || break
  CODES="$CODES $(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/readyz" || true)"
  sleep 0.1
done
zr_check "Redis back: never ready in the meantime" "$(echo "$CODES" | grep -c 200 || true)" "0"
if kill -0 "$LATE_PID" 2>/dev/null; then
  RC="still running"
  zr_stop "$LATE_PID"
else
  set +e
  wait "$LATE_PID"
  RC=$?
  set -e
  KEEP=()
  for p in "${ZR_PIDS[@]}"; do [ "$p" = "$LATE_PID" ] || KEEP+=("$p"); done
  ZR_PIDS=("${KEEP[@]}")
fi
zr_check "Redis back: the relay stops with exit status 1" "$RC" "1"
zr_check "Redis back: the log says why, naming the client and both sectors" \
  "$(grep -c "refusing to serve: client 'demo-portal' would change its pairwise sector from 'demo-portal' (client_id, recorded in Redis) to 'vendor-x' (sector_identifier); list it under oidc.allow_sector_change to allow that; stopping" "$ZR_TMP/late.log")" "1"
zr_done
