# Shared set-up for integration tests: a private Redis, the mock TVS and the
# relay on free loopback ports, with a test PKI, all torn down on exit.
# Source it, then call zr_env_up. Needs ZR_BIN and ZR_SOURCE_DIR (ctest sets them).
set -euo pipefail

: "${ZR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${ZR_BIN:=$ZR_SOURCE_DIR/build/zorgrelay}"
: "${ZR_BUILD_DIR:=$ZR_SOURCE_DIR/build}"
PY=/usr/bin/python3

ZR_TMP=$(mktemp -d /tmp/zr-it-XXXXXX)
ZR_PIDS=()

zr_cleanup() {
  for p in "${ZR_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  for p in "${ZR_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  if [ "${ZR_KEEP_TMP:-0}" = 1 ]; then echo "kept $ZR_TMP" >&2; else rm -rf "$ZR_TMP"; fi
}
trap zr_cleanup EXIT

zr_free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

zr_wait_port() {
  local port=$1 i
  for i in $(seq 1 150); do
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "port $port did not open; logs:" >&2
  tail -n 20 "$ZR_TMP"/*.log >&2 2>/dev/null || true
  return 1
}

# The test PKI is made once per build directory (RSA key generation is slow).
zr_pki() {
  ZR_PKI="$ZR_BUILD_DIR/test-pki"
  bash "$ZR_SOURCE_DIR/certs-example/make-pki.sh" "$ZR_PKI" >/dev/null
}

zr_start_redis() {
  REDIS_PORT=${REDIS_PORT:-$(zr_free_port)}
  mkdir -p "$ZR_TMP/redis"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$ZR_TMP/redis" \
    >"$ZR_TMP/redis.log" 2>&1 &
  REDIS_PID=$!
  ZR_PIDS+=("$REDIS_PID")
  zr_wait_port "$REDIS_PORT"
}

# Writes $ZR_TMP/zorgrelay.yaml from the example configuration, with this
# test's ports and PKI.
zr_write_config() {
  RELAY_PORT=${RELAY_PORT:-$(zr_free_port)}
  TVS_PORT=${TVS_PORT:-$(zr_free_port)}
  ART_PORT=${ART_PORT:-$(zr_free_port)}
  DEZI_PORT=${DEZI_PORT:-$(zr_free_port)}
  sed -e "s#\.\./certs-example/out/#$ZR_PKI/#g" \
      -e "s#\.\./run/#$ZR_TMP/#g" \
      -e "s#:8080\\b#:$RELAY_PORT#g" \
      -e "s#:8081\\b#:$TVS_PORT#g" \
      -e "s#:8444\\b#:$ART_PORT#g" \
      -e "s#:8082\\b#:$DEZI_PORT#g" \
      -e "s#port: 6390#port: $REDIS_PORT#" \
      "$ZR_SOURCE_DIR/examples/zorgrelay.yaml" > "$ZR_TMP/zorgrelay.yaml"
  ZR_CONFIG="$ZR_TMP/zorgrelay.yaml"
  ISSUER="http://localhost:$RELAY_PORT"
}

zr_start_mock_tvs() {
  "$ZR_BIN" mock-tvs "$ZR_CONFIG" >"$ZR_TMP/mock-tvs.log" 2>&1 &
  ZR_PIDS+=("$!")
  zr_wait_port "$TVS_PORT"
  zr_wait_port "$ART_PORT"
  for i in $(seq 1 50); do [ -s "$ZR_TMP/mock-tvs-metadata.xml" ] && break; sleep 0.1; done
}

zr_start_mock_dezi() {
  "$ZR_BIN" mock-dezi "$ZR_CONFIG" >"$ZR_TMP/mock-dezi.log" 2>&1 &
  ZR_PIDS+=("$!")
  zr_wait_port "$DEZI_PORT"
}

# zr_start_relay [LOGFILE] -> RELAY_PID
zr_start_relay() {
  local log=${1:-$ZR_TMP/relay.log}
  "$ZR_BIN" serve "$ZR_CONFIG" >>"$log" 2>&1 &
  RELAY_PID=$!
  ZR_PIDS+=("$RELAY_PID")
  zr_wait_port "$RELAY_PORT"
}

zr_env_up() {
  zr_pki
  zr_start_redis
  zr_write_config
  zr_start_mock_tvs
  zr_start_relay
}

# e2e_login IDENTITY [extra args] -> JSON on stdout
zr_login() {
  local identity=$1; shift
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-portal \
    --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback --identity "$identity" "$@"
}

# jq-free JSON field access: zr_json JSON 'python expression on d'
zr_json() {
  $PY -c "import json,sys; d=json.loads(sys.argv[1]); v=($2); print(v if not isinstance(v,(dict,list)) else json.dumps(v))" "$1"
}

ZR_PASS=0
ZR_FAIL=0
zr_check() {  # zr_check "description" ACTUAL EXPECTED
  if [ "$2" = "$3" ]; then
    ZR_PASS=$((ZR_PASS+1)); echo "ok - $1"
  else
    ZR_FAIL=$((ZR_FAIL+1)); echo "not ok - $1: got '$2', expected '$3'"
  fi
}

zr_done() {
  # Stop the services gracefully so sanitizer builds report leaks at exit,
  # then fail on any sanitizer report in any log (ASan/UBSan/LSan builds).
  for p in "${ZR_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null || true; done
  for p in "${ZR_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null || true; done
  ZR_PIDS=()
  if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$ZR_TMP"/*.log >/dev/null 2>&1; then
    grep -hE -A20 "AddressSanitizer|LeakSanitizer|runtime error:" "$ZR_TMP"/*.log | head -60
    ZR_FAIL=$((ZR_FAIL+1)); echo "not ok - sanitizer report in a service log"
  fi
  echo "$ZR_PASS passed, $ZR_FAIL failed"
  [ "$ZR_FAIL" -eq 0 ]
}
