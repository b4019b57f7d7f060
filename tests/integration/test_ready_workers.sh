#!/bin/bash
# Issue 13 §4: /readyz judges the HTTP worker pool. With two workers, a
# /token held in its handler (ZR_TEST_TOKEN_HOLD, test builds only) leaves
# only the worker that answers /readyz: not ready, "workers" failing. Let go,
# ready again. The same /readyz on a process with one worker is answered
# only when that worker is free, so it never names itself busy.
source "$(dirname "$0")/lib.sh"
if ! grep -q '^ZR_TEST_HOOKS:BOOL=ON' "$ZR_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "skip - needs a -DZR_TEST_HOOKS=ON build (ZR_TEST_TOKEN_HOLD)"
  exit 77
fi
zr_pki
zr_start_redis
zr_write_config
$PY - "$ZR_CONFIG" <<'PYEOF'
import re, sys
p = sys.argv[1]
s = open(p).read()
s = re.sub(r"(?m)^# threads: 8$", "threads: 2", s)
assert "\nthreads: 2\n" in s
open(p, "w").write(s)
PYEOF
zr_start_mock_tvs
HOLD="$ZR_TMP/hold"
mkdir -p "$HOLD"
mkfifo "$HOLD/release"
ZR_TEST_TOKEN_HOLD="$HOLD" zr_start_relay
release() { timeout 10 sh -c ': >"$1"' _ "$HOLD/release" || true; }
readyz() { curl -s --max-time 30 "$ISSUER/readyz"; }
failing() { zr_json "$1" '",".join(d.get("failing", []))' 2>/dev/null || echo "?"; }

# Ready first (the store probe and the sector comparison need a poll or two).
for i in $(seq 1 300); do [ "$(failing "$(readyz)")" = "" ] && break; sleep 0.1; done
body=$(readyz)
zr_check "idle: ready, nothing failing" "$(failing "$body")" ""
zr_check "idle: the workers member names both" \
  "$(zr_json "$body" 'd["workers"].split(":")[0] + " " + d["workers"].split(",")[0].split(": ")[1]')" "ok 1 of 2 workers busy"

zr_login "DigiD Substantieel" >"$ZR_TMP/login.json" 2>"$ZR_TMP/login.err" &
LOGIN_PID=$!
for i in $(seq 1 600); do [ -e "$HOLD/held" ] && break; sleep 0.1; done
zr_check "a /token is held in its handler" "$([ -e "$HOLD/held" ] && echo yes)" yes
body=$(readyz)
zr_check "one of two workers held: not ready" "$(failing "$body")" "workers"
zr_check "... and says why" "$(zr_json "$body" 'd["workers"].split(",")[0]')" "saturated: 2 of 2 workers busy"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$ISSUER/readyz")
zr_check "... with 503" "$status" "503"
zr_check "liveness is not readiness: /healthz 200" \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$ISSUER/healthz")" "200"

release
wait "$LOGIN_PID" || true
zr_check "the held login completes" "$(zr_json "$(cat "$ZR_TMP/login.json")" 'd["claims"].get("bsn")')" "999990019"
zr_check "let go: ready again" "$(failing "$(readyz)")" ""
zr_done
