#!/bin/bash
# Issue 13 §3: the open-file limit. The relay raises its soft RLIMIT_NOFILE
# to the hard limit at start; a limits.max_connections written in the
# configuration that still does not fit refuses the start with a message
# naming the key and LimitNOFILE; the default cap is lowered to fit, with a
# warning, and the relay serves.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
zr_start_mock_tvs
LOG="$ZR_TMP/relay.log"
HARD=$(ulimit -Hn)

echo "# a low soft limit is raised to the hard limit"
if [ "$HARD" = unlimited ] || [ "$HARD" -gt 8192 ]; then HARD=8192; fi
(ulimit -Sn 256; ulimit -Hn "$HARD"; exec "$ZR_BIN" serve "$ZR_CONFIG") >>"$LOG" 2>&1 &
RELAY_PID=$!
ZR_PIDS+=("$RELAY_PID")
zr_wait_port "$RELAY_PORT"
zr_check "soft limit raised to the hard limit" \
  "$(awk '/^Max open files/ {print $4 "/" $5}' /proc/$RELAY_PID/limits)" "$HARD/$HARD"
zr_check "the raise is logged" "$(grep -c "open-file limit raised from 256 to the hard limit $HARD" "$LOG")" 1
zr_check "/healthz is served" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_PORT/healthz")" 200
zr_stop "$RELAY_PID"

echo "# limits.max_connections that cannot fit: refused at start"
printf 'limits:\n  max_connections: 4096\n' >> "$ZR_CONFIG"
set +e
(ulimit -n 512; exec "$ZR_BIN" serve "$ZR_CONFIG") >"$ZR_TMP/refused.log" 2>&1
rc=$?
set -e
zr_check "exit status 1" "$rc" 1
zr_check "the message names the key, the need and LimitNOFILE" \
  "$(grep -c 'refusing to start: limits.max_connections: 4096 connections need about .* but the limit is 512 (hard limit 512): raise LimitNOFILE=' "$ZR_TMP/refused.log")" 1

echo "# the default cap is lowered to fit, with a warning"
sed -i '/^limits:/,$d' "$ZR_CONFIG"
(ulimit -n 512; exec "$ZR_BIN" serve "$ZR_CONFIG") >"$ZR_TMP/lowered.log" 2>&1 &
RELAY_PID=$!
ZR_PIDS+=("$RELAY_PID")
zr_wait_port "$RELAY_PORT"
zr_check "the warning names the key and LimitNOFILE" \
  "$(grep -c 'warn .*limits.max_connections: the default of 4096 connections does not fit the open-file limit 512 .*serving at most [0-9]* connections; raise LimitNOFILE=' "$ZR_TMP/lowered.log")" 1
zr_check "/healthz is served" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RELAY_PORT/healthz")" 200
zr_done
