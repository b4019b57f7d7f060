#!/bin/bash
# Issue 13 §5: SIGTERM drains. A /token request is held in flight after
# its code was taken (ZR_TEST_TOKEN_HOLD, test builds only); SIGTERM then
# stops the listener (new connections are refused), the held request is
# let go and answered 200 in full, and the relay exits 0, logging the drain
# with its counts.
source "$(dirname "$0")/lib.sh"
if ! grep -q '^ZR_TEST_HOOKS:BOOL=ON' "$ZR_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "skip - needs a -DZR_TEST_HOOKS=ON build (ZR_TEST_TOKEN_HOLD)"
  exit 77
fi
zr_pki
zr_start_redis
zr_write_config
zr_start_mock_tvs
HOLD="$ZR_TMP/hold"
mkdir -p "$HOLD"
mkfifo "$HOLD/release"
LOG="$ZR_TMP/relay.log"
ZR_TEST_TOKEN_HOLD="$HOLD" zr_start_relay

# release: lets the held request go on (opening the FIFO for writing; a
# bound only so that a run without a reader cannot hang here)
release() { timeout 10 sh -c ': >"$1"' _ "$HOLD/release" || true; }

# wait_for WHAT TEST...: an event, with a bound for a wedged run; when it
# never comes, the held request is let go so that the relay can end
wait_for() {
  local what=$1 i; shift
  for i in $(seq 1 600); do "$@" && return 0; sleep 0.1; done
  echo "# waited in vain for: $what"
  release
  return 1
}

zr_login "DigiD Substantieel" --stop-after-token >"$ZR_TMP/login.json" 2>"$ZR_TMP/login.err" &
LOGIN_PID=$!
wait_for "the /token request to hold, its code taken" test -e "$HOLD/held"

kill -TERM "$RELAY_PID"
wait_for "the drain to start" grep -q "drain: no longer accepting connections" "$LOG" || true
zr_check "the drain names the request in flight" \
  "$(grep -c 'drain: no longer accepting connections; 1 requests in flight' "$LOG")" 1
while IFS='|' read -r _ desc actual expected; do zr_check "$desc" "$actual" "$expected"; done \
  < <($PY "$ZR_SOURCE_DIR/tests/integration/limits_client.py" refused "$RELAY_PORT" "$LOG" | grep '^CHECK|')
zr_check "the relay is still running with the request held" "$(kill -0 "$RELAY_PID" 2>/dev/null && echo yes)" yes

release
set +e
wait "$LOGIN_PID"
wait "$RELAY_PID"
rc=$?
set -e
out=$(cat "$ZR_TMP/login.json")
zr_check "the held /token request got its tokens" "$(zr_json "$out" 'd.get("token_ok")')" True
zr_check "answered 200 in full (access line, not aborted)" \
  "$(grep 'path=/token' "$LOG" | grep -c 'status=200 .*ref=[^ ]*$')" 1
zr_check "the relay exited 0" "$rc" 0
zr_check "the drain end is logged" "$(grep -c 'drain: done after [0-9]* ms, every request in flight (1) answered' "$LOG")" 1
zr_done
