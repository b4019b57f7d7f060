#!/usr/bin/env bash
# The guided pre-production test run (docs/preprod.md) in a real browser:
# headless Chromium (tests/browser/preprod.mjs) plays the tester of
# `zorgrelay preprod-test`, with the configuration test_preprod_test.sh
# uses (zr_preprod_config), in two phases. main: every scenario but one (a
# login per level, cancel, level too low, Machtigen, logout, artifact
# replay), the trace page and the report, with a session lifetime no
# browser login on a loaded machine comes near. expired: the relay and
# preprod-test are restarted with the same configuration but a lifetime of
# a few seconds (Redis and the mock TVS keep running; the results so far
# survive in preprod-test's state file), then session-expired (the tester
# waits at TVS past the lifetime) and the report, now complete: the whole
# run is played by the browser. axe-core on every page of ours.
# ZR_SCREENSHOTS=1 also writes docs/screenshots/*-4?-*.png (docs/pages.md).
source "$(dirname "$0")/lib.sh"
zr_browser_setup

zr_pki
zr_start_redis
zr_write_config
# A session lifetime no browser login on a loaded machine comes near.
zr_preprod_config 300
zr_start_mock_tvs
zr_start_relay
zr_start_preprod

SHOTS=""
if [ "${ZR_SCREENSHOTS:-0}" = 1 ]; then
  SHOTS="$ZR_SOURCE_DIR/docs/screenshots"
fi
# walk PHASE [ENV=VALUE ...]: one node run of preprod.mjs.
walk() {
  local phase=$1; shift
  if env ZR_PP="$PP_BASE" ZR_RELAY="$ISSUER" ZR_TVS="http://localhost:$TVS_PORT" ZR_CHROMIUM="$CHROMIUM" \
     ZR_SCREENSHOTS="$SHOTS" ZR_PREPROD_PHASE="$phase" ZR_TEMPLATES_DIR="$ZR_SOURCE_DIR/templates" "$@" \
     timeout 120 "$NODE" "$WALK_DIR/preprod.mjs"; then
    zr_check "preprod walk, phase $phase (tests/browser/preprod.mjs)" ok ok
  else
    zr_check "preprod walk, phase $phase (tests/browser/preprod.mjs)" failed ok
  fi
}
walk main

# session-expired: the same configuration with a short session lifetime.
# oidc.session_lifetime is restart-only for the relay; preprod-test reads
# it too (the steps and the reason name it), so it is restarted after the
# relay, as a tester would; its results so far are in its state file.
EXPIRE_LIFETIME=5
sed -i "s/^\( *session_lifetime:\) $LIFETIME\$/\1 $EXPIRE_LIFETIME/" "$ZR_CONFIG"
zr_check "config: oidc.session_lifetime now $EXPIRE_LIFETIME" \
  "$(grep -c "^ *session_lifetime: $EXPIRE_LIFETIME\$" "$ZR_CONFIG")" "1"
t0=$(date +%s%N)
zr_restart_relay
zr_stop "$PP_PID"
zr_start_preprod
echo "# relay and preprod-test restarted with session_lifetime $EXPIRE_LIFETIME in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
walk expired ZR_LIFETIME="$EXPIRE_LIFETIME"

# The Markdown report for DICTU, written by preprod-test on every result.
zr_check "report: Markdown written, names the checklist" \
  "$(grep -c 'Checklist testen' "$REPORT/preprod-report.md" | sed 's/^[1-9][0-9]*$/yes/')" "yes"
zr_check "report: Markdown row of session-expired akkoord" \
  "$(grep -cF '| session-expired | **akkoord** |' "$REPORT/preprod-report.md")" "1"
zr_check "report: no unmasked test BSN" "$(grep -rcE '9999900(19|20|32|44|56)' "$REPORT" | awk -F: '{s+=$2} END {print s}')" "0"
zr_done
