#!/bin/bash
# Issue 13 §3: connection limits an operator controls, and no silent
# exhaustion. Against the real binary: the global and per-address caps
# (refused, logged once, others still served), X-Forwarded-For believed
# only from a trusted proxy, head and body deadlines that a byte-by-byte
# trickle cannot extend, 413 for an oversized chunked body, 414 for a long
# request target, Retry-After on every 503.
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500
zr_env_up
CLIENT="$ZR_SOURCE_DIR/tests/integration/limits_client.py"

# with_limits YAML-LINES...: the config with this limits: section, relay restarted
with_limits() {
  sed -i '/^limits:/,$d' "$ZR_CONFIG"
  { echo "limits:"; for l in "$@"; do echo "  $l"; done; } >> "$ZR_CONFIG"
  zr_restart_relay
}

# run_client SCENARIO ARGS...: each CHECK line becomes a zr_check
run_client() {
  local line desc actual expected
  while IFS= read -r line; do
    case "$line" in
      CHECK\|*) IFS='|' read -r _ desc actual expected <<<"$line"; zr_check "$desc" "$actual" "$expected" ;;
      *) echo "$line" ;;
    esac
  done < <($PY "$CLIENT" "$@" 2>&1)
}

echo "# the per-address cap"
with_limits "max_connections: 16" "max_connections_per_ip: 4" "trusted_proxies: [127.0.0.1]" \
  "header_timeout_s: 300" "body_timeout_s: 300"
run_client caps "$RELAY_PORT" "$ZR_TMP/relay.log"

echo "# the connection cap"
with_limits "max_connections: 16" "max_connections_per_ip: 4" "trusted_proxies: [127.0.0.1]" \
  "header_timeout_s: 300" "body_timeout_s: 300"
run_client cap "$RELAY_PORT" "$ZR_TMP/relay.log"

echo "# the per-client cap behind a trusted proxy"
with_limits "max_connections: 64" "max_connections_per_ip: 4" "trusted_proxies: [127.0.0.1]" \
  "header_timeout_s: 300" "body_timeout_s: 300"
run_client proxy "$RELAY_PORT" "$ZR_TMP/relay.log"

echo "# head and body deadlines"
with_limits "header_timeout_s: 2" "body_timeout_s: 2"
run_client deadlines "$RELAY_PORT" "$ZR_TMP/relay.log"

echo "# 413 and 414"
run_client sizes "$RELAY_PORT" "$ZR_TMP/relay.log" 262144

echo "# Retry-After on every 503"
zr_stop "$REDIS_PID"
run_client retry-after "$RELAY_PORT" "$ZR_TMP/relay.log"

zr_check "no worker ever crashed" "$(grep -c 'Sanitizer\|segfault' "$ZR_TMP/relay.log" || true)" 0
zr_done
