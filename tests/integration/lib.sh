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
  zr_release_ports
  if [ "${ZR_KEEP_TMP:-0}" = 1 ]; then echo "kept $ZR_TMP" >&2; else rm -rf "$ZR_TMP"; fi
  # this test's copy of the browser scripts (zr_browser_setup)
  case "${WALK_DIR:-}" in */browser-test/run-zr-it-*) rm -rf "$WALK_DIR" ;; esac
}
trap zr_cleanup EXIT

# A port reserved for this test until zr_cleanup (free_port.py says why not bind(0)).
zr_free_port() {
  $PY "$ZR_SOURCE_DIR/tests/integration/free_port.py" "$ZR_TMP"
}
# This test's port reservations (free_port.py), released.
zr_release_ports() {
  local d
  for d in /tmp/zr-ports/*/; do
    [ -f "$d/owner" ] && [ "$(cat "$d/owner" 2>/dev/null)" = "$ZR_TMP" ] && rm -f "$d/owner" && rmdir "$d" 2>/dev/null
  done
  return 0
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
# The relay's Redis deadline in tests: 5 s (the example's 500 ms is what
# production wants; a loaded test machine must not turn a slow Redis call
# into a 503 a test did not ask for). Tests about a frozen Redis set
# ZR_REDIS_TIMEOUT_MS=500 before this, so that each frozen call ends soon.
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
      -e "s#^  timeout_ms: 500\$#  timeout_ms: ${ZR_REDIS_TIMEOUT_MS:-5000}#" \
      "$ZR_SOURCE_DIR/examples/zorgrelay.yaml" > "$ZR_TMP/zorgrelay.yaml"
  ZR_CONFIG="$ZR_TMP/zorgrelay.yaml"
  # Issue 18 §2: the tests that are about something else than the relay's
  # refusal page (the refusal reaching the portal, metrics, logs, TVS and
  # Dezi behaviour) keep the portal's immediate redirect; a test of the
  # page sets ZR_ERROR_PAGES=relay (the product's default) before this.
  if [ "${ZR_ERROR_PAGES:-portal}" = portal ]; then
    sed -i -e '/^  - client_id: /a\    error_pages: portal' "$ZR_CONFIG"
  fi
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

# e2e_login IDENTITY [extra args] -> JSON on stdout. A test may set the
# array ZR_LOGIN_EXTRA to pass the same arguments to every login.
zr_login() {
  local identity=$1; shift
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-portal \
    --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback --identity "$identity" \
    ${ZR_LOGIN_EXTRA[@]+"${ZR_LOGIN_EXTRA[@]}"} "$@"
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
  # Every test whose relay wrote a decision log (the example's file) has it
  # checked against ADL 1.0 (docs/authorization.md#the-decision-log).
  if [ -s "$ZR_TMP/decision-log.jsonl" ]; then
    if $PY "$ZR_SOURCE_DIR/tests/integration/adl_check.py" "$ZR_TMP/decision-log.jsonl"; then
      ZR_PASS=$((ZR_PASS+1)); echo "ok - the decision log is ADL 1.0 (adl_check.py)"
    else
      ZR_FAIL=$((ZR_FAIL+1)); echo "not ok - the decision log is not ADL 1.0 (adl_check.py, above)"
    fi
  fi
  if grep -lE "AddressSanitizer|LeakSanitizer|runtime error:" "$ZR_TMP"/*.log >/dev/null 2>&1; then
    grep -hE -A20 "AddressSanitizer|LeakSanitizer|runtime error:" "$ZR_TMP"/*.log | head -60
    ZR_FAIL=$((ZR_FAIL+1)); echo "not ok - sanitizer report in a service log"
  fi
  echo "$ZR_PASS passed, $ZR_FAIL failed"
  [ "$ZR_FAIL" -eq 0 ]
}

# The pre-production test client (docs/preprod.md): zr_preprod_config
# LIFETIME adds to $ZR_CONFIG (after zr_write_config) the configuration a
# tester would write: the trace on, the client `zorgrelay-preprod-test`
# with a fresh secret, oidc.session_lifetime LIFETIME seconds and the
# preprod_test section. Sets PP_PORT, PP_BASE, REPORT, STATE, SECRET.
zr_preprod_config() {
  LIFETIME=$1
  PP_PORT=$(zr_free_port)
  PP_BASE="http://localhost:$PP_PORT"
  REPORT="$ZR_TMP/report"
  STATE="$ZR_TMP/preprod-state.json"
  mkdir -p "$REPORT"
  printf 'preprod-test-secret-%s\n' "$RANDOM$RANDOM" > "$ZR_TMP/preprod-secret"
  SECRET=$(tr -d '\n' < "$ZR_TMP/preprod-secret")
  SECRET_SHA=$(printf '%s' "$SECRET" | sha256sum | cut -d' ' -f1)

  # The configuration a tester would write (docs/preprod.md): the trace on,
  # the test client as an ordinary client, a short session lifetime so that
  # "expired session" takes seconds here. (The example configuration's mock
  # Dezi on plain http keeps this run in `development`; preprod behaves the
  # same for everything tested here.)
  $PY - "$ZR_CONFIG" <<EOF
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace("session_lifetime: 900", "session_lifetime: $LIFETIME")
client = """clients:
  - client_id: zorgrelay-preprod-test
    name: zorgrelay preprod-test
    care_provider: zorgaanbieder-demo
    auth_method: client_secret_basic
    client_secret_sha256: $SECRET_SHA
    redirect_uris:
      - $PP_BASE/callback
    post_logout_redirect_uris:
      - $PP_BASE/logged-out
    min_loa: basic
    bsn_entitled: true
    home_page: $PP_BASE/
    error_pages: ${ZR_ERROR_PAGES:-portal}
"""
assert s.count("\nclients:\n") == 1
s = s.replace("\nclients:\n", "\n" + client, 1)
s += """
trace:
  enabled: true
  lifetime_s: 3600

preprod_test:
  listen: 127.0.0.1:$PP_PORT
  public_base_url: $PP_BASE
  client_id: zorgrelay-preprod-test
  client_secret_file: $ZR_TMP/preprod-secret
  state_file: $STATE
"""
open(p, "w").write(s)
EOF
}

# zr_start_preprod: starts `zorgrelay preprod-test` (after the relay) -> PP_PID
zr_start_preprod() {
  "$ZR_BIN" preprod-test "$ZR_CONFIG" --report "$REPORT" >>"$ZR_TMP/preprod.log" 2>&1 &
  PP_PID=$!
  ZR_PIDS+=("$PP_PID")
  zr_wait_port "$PP_PORT"
}

# zr_browser_setup: headless Chromium + node for tests/browser/*.mjs. Sets
# CHROMIUM, NODE and WALK_DIR (this test's copy of the scripts, below the
# build directory's browser-test/, which holds the npm packages of
# tests/browser/package-lock.json, installed with `npm ci` once per lock
# file; no browser is ever downloaded). Exits with "not ok"
# when chromium, node or npm is missing.
zr_browser_setup() {
  CHROMIUM=${ZR_CHROMIUM:-/usr/bin/chromium}
  NODE=$(command -v node || command -v nodejs || true)
  local npm missing=()
  npm=$(command -v npm || true)
  [ -x "$CHROMIUM" ] || missing+=("chromium ($CHROMIUM)")
  [ -n "$NODE" ] || missing+=("node")
  [ -n "$npm" ] || missing+=("npm")
  if [ ${#missing[@]} -gt 0 ]; then
    echo "not ok - the browser test needs ${missing[*]}: run scripts/install-deps (Debian packages chromium nodejs npm)"
    exit 1
  fi
  # ctest -j runs the browser tests side by side. The packages are checked
  # and installed under a lock (else one test reads a half-copied lock file
  # and reinstalls while the other's node runs), and each test runs its own
  # copy of the scripts, in a directory below: node finds the packages in
  # the parent's node_modules.
  local base="$ZR_BUILD_DIR/browser-test" lockfd
  mkdir -p "$base"
  exec {lockfd}>"$base/.setup.lock"
  flock "$lockfd"
  cp "$ZR_SOURCE_DIR/tests/browser/package.json" "$ZR_SOURCE_DIR/tests/browser/package-lock.json" "$base/"
  if ! cmp -s "$base/package-lock.json" "$base/node_modules/.zr-installed-lock" 2>/dev/null; then
    if ! (cd "$base" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$npm" ci --no-audit --no-fund --loglevel=error \
          >"$base/npm.log" 2>&1); then
      cat "$base/npm.log" >&2
      echo "not ok - npm ci in $base failed (is the npm registry reachable?)"
      exit 1
    fi
    cp "$base/package-lock.json" "$base/node_modules/.zr-installed-lock"
  fi
  flock -u "$lockfd"
  exec {lockfd}>&-
  WALK_DIR="$base/run-${ZR_TMP##*/}"
  mkdir -p "$WALK_DIR"
  cp "$ZR_SOURCE_DIR"/tests/browser/*.mjs "$WALK_DIR/"
}

# zr_oidc_client_setup: node with openid-client (tests/oidc-client/
# package-lock.json, `npm ci` once per lock file into the build directory,
# under a lock like zr_browser_setup). Sets NODE and NODE_PATH (its
# node_modules, for CommonJS scripts in tests/integration). Exits with
# "not ok" when node or npm is missing.
zr_oidc_client_setup() {
  NODE=$(command -v node || command -v nodejs || true)
  local npm base="$ZR_BUILD_DIR/oidc-client-test" lockfd
  npm=$(command -v npm || true)
  if [ -z "$NODE" ] || [ -z "$npm" ]; then
    echo "not ok - openid-client needs node and npm: run scripts/install-deps (Debian packages nodejs npm)"
    exit 1
  fi
  mkdir -p "$base"
  exec {lockfd}>"$base/.setup.lock"
  flock "$lockfd"
  cp "$ZR_SOURCE_DIR/tests/oidc-client/package.json" "$ZR_SOURCE_DIR/tests/oidc-client/package-lock.json" "$base/"
  if ! cmp -s "$base/package-lock.json" "$base/node_modules/.zr-installed-lock" 2>/dev/null; then
    if ! (cd "$base" && "$npm" ci --no-audit --no-fund --loglevel=error >"$base/npm.log" 2>&1); then
      cat "$base/npm.log" >&2
      echo "not ok - npm ci in $base failed (is the npm registry reachable?)"
      exit 1
    fi
    cp "$base/package-lock.json" "$base/node_modules/.zr-installed-lock"
  fi
  flock -u "$lockfd"
  exec {lockfd}>&-
  export NODE_PATH="$base/node_modules"
}

# zr_stop PID: stops one service of ours (SIGTERM, waits for it) and drops
# it from the clean-up list.
zr_stop() {
  local p keep=()
  kill -TERM "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
  for p in "${ZR_PIDS[@]:-}"; do
    if [ -n "$p" ] && [ "$p" != "$1" ]; then keep+=("$p"); fi
  done
  ZR_PIDS=(${keep[@]+"${keep[@]}"})
}

# zr_restart_relay [LOGFILE]: stops the relay and starts it again with
# $ZR_CONFIG as it is now, for restart-only settings
# (src/relay/relay_state.c) -> RELAY_PID. Redis and the mocks keep running;
# the log goes on in the same file.
zr_restart_relay() {
  zr_stop "$RELAY_PID"
  zr_start_relay "$@"
}

# zr_provider_file FILE ID OIN UUID CERT KEY [CLIENT_ID]: a care provider in
# a file of its own (care_providers_dir), as docs/onboarding.md writes one
# (entity index 9000, one substantial service), with its own portal
# CLIENT_ID (secret CLIENT_ID-secret, http://localhost:8000/callback) when
# given.
zr_provider_file() {
  cat >"$1" <<EOF
id: $2
name: Zorgaanbieder $2 (TEST)
entity_id: urn:nl-eid-gdi:1.0:DV:$3:entities:9000
oin: "$3"
services:
  - loa: substantial
    service_uuid: $4
bsn_keys:
  - cert: $5
    key: $6
EOF
  if [ -n "${7:-}" ]; then
    cat >>"$1" <<EOF
clients:
  - client_id: $7
    auth_method: client_secret_basic
    client_secret: $7-secret
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
    bsn_entitled: true
    error_pages: ${ZR_ERROR_PAGES:-portal}
EOF
  fi
}
