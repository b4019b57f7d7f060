#!/usr/bin/env bash
# Issue 13 §2: a frozen TVS artifact endpoint must not stall anything else.
# One HTTP worker thread (the worst case: on code without the back-channel
# lane, one ACS blocked on TVS holds every other request), a lane of 3
# threads and 1 queue place. Four logins reach the ACS while the mock TVS
# is stopped (SIGSTOP; tvs.connect_timeout_ms and timeout_ms long, so the
# freeze lasts until the test ends it): /healthz, discovery and a /token of an earlier login must
# be answered while those four are still pending, a fifth ACS gets 503 with
# Retry-After at once, and after SIGCONT the pending logins finish and new
# ones work. No timing assertions: the ACS requests cannot finish before
# the SIGCONT, which comes only after every check; a stall shows as a curl
# --max-time (generous) running out.
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500
zr_pki
zr_start_redis
zr_write_config
$PY - "$ZR_CONFIG" <<'EOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"(?m)^# threads: 8$", "threads: 1", s)
assert "\nthreads: 1\n" in s
old = "  connect_timeout_ms: 3000\n  timeout_ms: 10000\n"
assert s.count(old) == 1
# (curl's connect timeout covers the TLS handshake a stopped TVS never ends)
s = s.replace(old, "  connect_timeout_ms: 60000\n  timeout_ms: 120000\n  backchannel_concurrency: 3\n  backchannel_queue: 1\n")
open(p, "w").write(s)
EOF
zr_start_mock_tvs
TVS_PID=${ZR_PIDS[-1]}
zr_start_relay

hz() { curl -s --max-time 20 "$ISSUER/readyz"; }
# waits (on files, not time) until N logins have run their hook
wait_files() { local pat=$1 n=$2 i; for i in $(seq 1 2400); do [ "$(ls $pat 2>/dev/null | wc -l)" -ge "$n" ] && return 0; sleep 0.05; done; return 1; }

# An earlier login that got its code before the freeze and redeems it
# only when told to (while the ACS requests hang).
timeout 90 $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-portal \
  --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback --identity "DigiD Substantieel" \
  --before-token "touch $ZR_TMP/token.ready; while [ ! -e $ZR_TMP/token.go ]; do sleep 0.05; done" \
  >"$ZR_TMP/token-login.json" 2>"$ZR_TMP/token-login.err" &
TOKEN_LOGIN=$!
wait_files "$ZR_TMP/token.ready" 1
zr_check "earlier login has its code" "$([ -e "$ZR_TMP/token.ready" ] && echo yes)" "yes"

# Four logins do TVS's browser part, then wait before the ACS.
ACS_PIDS=()
for i in 1 2 3 4; do
  zr_login "DigiD Substantieel" \
    --before-acs "touch $ZR_TMP/acs.ready.$i; while [ ! -e $ZR_TMP/acs.go ]; do sleep 0.05; done" \
    >"$ZR_TMP/acs-login.$i.json" 2>"$ZR_TMP/acs-login.$i.err" &
  ACS_PIDS+=("$!")
done
wait_files "$ZR_TMP/acs.ready.*" 4
zr_check "four logins back from TVS's login page" "$(ls "$ZR_TMP"/acs.ready.* | wc -l)" "4"

# Freeze TVS (both its listeners) and let the four reach the ACS.
kill -STOP "$TVS_PID"
touch "$ZR_TMP/acs.go"

# Wait until the lane holds them: 3 running, 1 waiting. Without a lane the
# single worker is stuck in the first ACS and this /readyz runs out.
lane=""
for i in $(seq 1 2400); do
  body=$(hz) || { lane="readyz did not answer"; break; }
  lane=$(zr_json "$body" '"%s/%s" % (d.get("lane", {}).get("busy"), d.get("lane", {}).get("queued"))' 2>/dev/null || echo "?")
  [ "$lane" = "3/1" ] && break
  sleep 0.05
done
zr_check "lane holds the four ACS requests (busy/queued)" "$lane" "3/1"

# While they hang: the rest is answered.
out=$(curl -s --max-time 20 -o "$ZR_TMP/healthz.json" -w '%{http_code}' "$ISSUER/healthz" || true)
zr_check "frozen TVS: /healthz answered" "$out" "200"
out=$(curl -s --max-time 20 -o "$ZR_TMP/readyz.json" -w '%{http_code}' "$ISSUER/readyz" || true)
zr_check "frozen TVS, lane full: /readyz says not ready (503)" "$out" "503"
zr_check "frozen TVS, lane full: /readyz names the back channel as failing" \
  "$(zr_json "$(cat "$ZR_TMP/readyz.json" 2>/dev/null || echo '{}')" '",".join(d.get("failing", []))' 2>/dev/null)" "backchannel"
zr_check "frozen TVS: /readyz names the breaker" \
  "$(zr_json "$(cat "$ZR_TMP/readyz.json" 2>/dev/null || echo '{}')" 'd.get("lane", {}).get("breaker")' 2>/dev/null)" "closed"
out=$(curl -s --max-time 20 -o /dev/null -w '%{http_code}' "$ISSUER/.well-known/openid-configuration" || true)
zr_check "frozen TVS: discovery answered" "$out" "200"
out=$(curl -s --max-time 20 -o "$ZR_TMP/busy.html" -D "$ZR_TMP/busy.head" -w '%{http_code}' \
  "$ISSUER/saml/acs?SAMLart=AAQAAA&RelayState=x" || true)
zr_check "frozen TVS: an ACS beyond the lane's capacity gets 503" "$out" "503"
zr_check "frozen TVS: ... with Retry-After" "$(grep -ic '^Retry-After: 5' "$ZR_TMP/busy.head" 2>/dev/null || true)" "1"
zr_check "frozen TVS: ... and the busy page" "$(grep -c 'backchannel_busy' "$ZR_TMP/busy.html" 2>/dev/null || true)" "1"
zr_check "frozen TVS: the lane full is logged once" "$(grep -c 'back-channel lane full' "$ZR_TMP/relay.log")" "1"
touch "$ZR_TMP/token.go"
wait "$TOKEN_LOGIN" || true
zr_check "frozen TVS: /token of the earlier login answered (ID token validated)" \
  "$(zr_json "$(cat "$ZR_TMP/token-login.json")" 'd["claims"].get("bsn")' 2>/dev/null)" "999990019"
# All of the above happened while the four were pending: TVS is still
# stopped, so none can have finished.
pending=0
for p in "${ACS_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && pending=$((pending+1)); done
zr_check "the four ACS requests were pending throughout" "$pending" "4"
zr_check "none of them has finished at the relay" "$(grep -c ' acs .*result=ok' "$ZR_TMP/relay.log")" "1"

# Release TVS: the pending logins finish (or fail cleanly), new ones work.
kill -CONT "$TVS_PID"
finished=0
for i in 1 2 3 4; do
  wait "${ACS_PIDS[$((i-1))]}" || true
  r=$(zr_json "$(cat "$ZR_TMP/acs-login.$i.json")" 'd.get("claims", {}).get("bsn") or d.get("oauth_error")' 2>/dev/null || echo "broken")
  case "$r" in 999990019|temporarily_unavailable) finished=$((finished+1)) ;; *) echo "login $i: $r" >&2 ;; esac
done
zr_check "after release: the four pending logins finished cleanly" "$finished" "4"
out=$(zr_login "DigiD Substantieel")
zr_check "after release: a new login works" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
body=$(hz)
zr_check "after release: the lane is empty" \
  "$(zr_json "$body" '"%s/%s" % (d["lane"]["busy"], d["lane"]["queued"])')" "0/0"

# Stopping while a lane handler hangs on TVS: the stop waits for it (no
# handler may run after the server is gone, and libmicrohttpd must not stop
# with the connection suspended), then the process exits cleanly.
zr_login "DigiD Substantieel" \
  --before-acs "touch $ZR_TMP/last.ready; while [ ! -e $ZR_TMP/last.go ]; do sleep 0.05; done" \
  >"$ZR_TMP/last-login.json" 2>&1 &
LAST=$!
wait_files "$ZR_TMP/last.ready" 1
kill -STOP "$TVS_PID"
touch "$ZR_TMP/last.go"
lane=""
for i in $(seq 1 2400); do
  lane=$(zr_json "$(hz)" 'd["lane"]["busy"]' 2>/dev/null || echo "?")
  [ "$lane" = 1 ] && break
  sleep 0.05
done
zr_check "stop: one ACS hangs on the lane" "$lane" "1"
kill -TERM "$RELAY_PID"
for i in $(seq 1 2400); do grep -q 'shutdown signal 15, stopping' "$ZR_TMP/relay.log" && break; sleep 0.05; done
zr_check "stop: the relay is stopping while the handler hangs" "$(grep -c 'shutdown signal 15, stopping' "$ZR_TMP/relay.log")" "1"
kill -CONT "$TVS_PID"
rc=0; wait "$RELAY_PID" || rc=$?
zr_check "stop: the relay exits cleanly once the handler is done" "$rc" "0"
wait "$LAST" || true

zr_done
