#!/usr/bin/env bash
# The guided pre-production test run (docs/preprod.md) in a real browser:
# headless Chromium (tests/browser/preprod.mjs) plays the tester of
# `zorgrelay preprod-test`, with the configuration test_preprod_test.sh
# uses (zr_preprod_config): every scenario a browser can do (a login per
# level, cancel, level too low, Machtigen, logout, artifact replay), then
# the trace page and the report; axe-core on every page of ours.
# session-expired stays in test_preprod_test.sh (it waits at TVS).
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
if ZR_PP="$PP_BASE" ZR_RELAY="$ISSUER" ZR_TVS="http://localhost:$TVS_PORT" ZR_CHROMIUM="$CHROMIUM" \
   ZR_SCREENSHOTS="$SHOTS" timeout 120 "$NODE" "$WALK_DIR/preprod.mjs"; then
  zr_check "preprod walk (tests/browser/preprod.mjs)" ok ok
else
  zr_check "preprod walk (tests/browser/preprod.mjs)" failed ok
fi

# The Markdown report for DICTU, written by preprod-test on every result.
zr_check "report: Markdown written, names the checklist" \
  "$(grep -c 'Checklist testen' "$REPORT/preprod-report.md" | sed 's/^[1-9][0-9]*$/yes/')" "yes"
zr_check "report: no unmasked test BSN" "$(grep -cE '9999900(19|20|32|44|56)' "$REPORT/preprod-report.md" "$REPORT/preprod-report.json" | awk -F: '{s+=$2} END {print s}')" "0"
zr_done
