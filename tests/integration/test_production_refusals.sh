#!/usr/bin/env bash
# What `environment: production` refuses (issue 5 §1, docs/configuration.md
# #environments), through the real binary: `check-config` and `serve` exit 1
# with exactly one FILE:LINE: KEY line per refusal, and the mock subcommands
# refuse a production configuration. No Redis and no mocks are started: every
# refusal happens before anything listens. (Each refusal in detail:
# tests/unit/test_config_production.c.)
source "$(dirname "$0")/lib.sh"

zr_pki
BASE="$ZR_TMP/production.yaml"
sed -e "s#\.\./certs-example/out/#$ZR_PKI/#g" -e "s#\.\./run/#$ZR_TMP/#g" \
  "$ZR_SOURCE_DIR/tests/data/config/valid_production.yaml" >"$BASE"

# The clean production configuration passes.
rc=0; "$ZR_BIN" check-config "$BASE" >"$ZR_TMP/base.out" 2>&1 || rc=$?
zr_check "valid production configuration: check-config exit 0" "$rc" "0"
zr_check "valid production configuration: environment production" \
  "$(grep -c 'OK (1 care provider(s), 2 client(s), environment production)' "$ZR_TMP/base.out")" "1"

# refused CMD FILE NAME EXPECTED-LINE-PREFIX: CMD exits 1 and stderr holds
# exactly one configuration error line, which starts with the expected text.
refused() {
  local cmd=$1 file=$2 name=$3 want=$4 rc=0 errors
  timeout 20 "$ZR_BIN" "$cmd" "$file" >"$ZR_TMP/$cmd.out" 2>"$ZR_TMP/$cmd.log" || rc=$?
  zr_check "$name: $cmd exits 1" "$rc" "1"
  errors=$(grep -c "^$file:[0-9]*: " "$ZR_TMP/$cmd.log" || true)
  zr_check "$name: $cmd reports one configuration error" "$errors" "1"
  zr_check "$name: $cmd names the key" "$(grep -cF "$want" "$ZR_TMP/$cmd.log" || true)" "1"
  [ "$errors" = 1 ] || cat "$ZR_TMP/$cmd.log"
}

# Debug tracing: check-config and serve.
cp "$BASE" "$ZR_TMP/debug.yaml"
echo "log_level: debug" >>"$ZR_TMP/debug.yaml"
line=$(grep -n '^log_level: debug' "$ZR_TMP/debug.yaml" | cut -d: -f1)
for cmd in check-config serve; do
  refused "$cmd" "$ZR_TMP/debug.yaml" "log_level debug" \
    "$ZR_TMP/debug.yaml:$line: log_level: debug is refused in production"
done
zr_check "serve says it refuses to start" \
  "$(grep -c 'zorgrelay: refusing to start: 1 configuration error$' "$ZR_TMP/serve.log")" "1"
# ... while preprod allows it.
sed 's/^environment: production/environment: preprod/' "$ZR_TMP/debug.yaml" >"$ZR_TMP/debug-preprod.yaml"
rc=0; "$ZR_BIN" check-config "$ZR_TMP/debug-preprod.yaml" >/dev/null 2>&1 || rc=$?
zr_check "log_level debug in preprod: accepted" "$rc" "0"

# Redis: no password; a TCP address off this host.
grep -v '^  password: ' "$BASE" >"$ZR_TMP/nopass.yaml"
line=$(grep -n '^redis:' "$ZR_TMP/nopass.yaml" | cut -d: -f1)
refused check-config "$ZR_TMP/nopass.yaml" "redis without password" \
  "$ZR_TMP/nopass.yaml:$line: redis.password: is required in production"
sed 's/^  port: 6390/  host: 10.20.30.40\n  port: 6390/' "$BASE" >"$ZR_TMP/remote.yaml"
line=$(grep -n '^  host: 10.20.30.40' "$ZR_TMP/remote.yaml" | cut -d: -f1)
refused serve "$ZR_TMP/remote.yaml" "remote redis" \
  "$ZR_TMP/remote.yaml:$line: redis.host: '10.20.30.40' is not a loopback address"

# A wildcard redirect URI (refused in development too).
sed 's#https://portal.example.nl/callback#https://*.example.nl/callback#' "$BASE" >"$ZR_TMP/wild.yaml"
line=$(grep -n 'https://\*.example.nl/callback' "$ZR_TMP/wild.yaml" | cut -d: -f1)
refused check-config "$ZR_TMP/wild.yaml" "wildcard redirect URI" \
  "$ZR_TMP/wild.yaml:$line: clients[0].redirect_uris[0]: '*' is not a wildcard"
sed 's/^environment: production/environment: development/' "$ZR_TMP/wild.yaml" >"$ZR_TMP/wild-dev.yaml"
refused check-config "$ZR_TMP/wild-dev.yaml" "wildcard redirect URI in development" \
  "$ZR_TMP/wild-dev.yaml:$line: clients[0].redirect_uris[0]: '*' is not a wildcard"

# A private key other users can read.
cp "$ZR_PKI/relay-signing.key" "$ZR_TMP/loose.key"
chmod 0644 "$ZR_TMP/loose.key"
sed "s#$ZR_PKI/relay-signing.key#$ZR_TMP/loose.key#" "$BASE" >"$ZR_TMP/loose.yaml"
line=$(grep -n "key: $ZR_TMP/loose.key" "$ZR_TMP/loose.yaml" | cut -d: -f1)
refused check-config "$ZR_TMP/loose.yaml" "world-readable signing key" \
  "$ZR_TMP/loose.yaml:$line: saml.signing.key: $ZR_TMP/loose.key is open to group or others (mode 0644), refused in production: chmod 600 $ZR_TMP/loose.key"
chmod 0600 "$ZR_TMP/loose.key"
rc=0; "$ZR_BIN" check-config "$ZR_TMP/loose.yaml" >/dev/null 2>&1 || rc=$?
zr_check "after chmod 600: accepted" "$rc" "0"

# Test entity index.
sed 's/DV:00000009999999999001:entities:0001/DV:00000009999999999001:entities:9001/' "$BASE" >"$ZR_TMP/index.yaml"
line=$(grep -n 'entities:9001' "$ZR_TMP/index.yaml" | cut -d: -f1)
refused check-config "$ZR_TMP/index.yaml" "test entity index" \
  "$ZR_TMP/index.yaml:$line: care_providers[0].entity_id: entity index 9001 is reserved for test"

# TVS metadata (issue 12 §2): an anchor without a pinned signer, in
# production only; no tvs.entity_id, outside development; a malformed pin.
grep -v '^  metadata_signer_subject: ' "$BASE" >"$ZR_TMP/nopin.yaml"
line=$(grep -n '^  trust_anchor: ' "$ZR_TMP/nopin.yaml" | cut -d: -f1)
for cmd in check-config serve; do
  refused "$cmd" "$ZR_TMP/nopin.yaml" "trust anchor without a pinned signer" \
    "$ZR_TMP/nopin.yaml:$line: tvs.trust_anchor: a trust anchor without a pinned metadata signer is refused in production"
done
sed 's/^environment: production/environment: preprod/' "$ZR_TMP/nopin.yaml" >"$ZR_TMP/nopin-preprod.yaml"
rc=0; "$ZR_BIN" check-config "$ZR_TMP/nopin-preprod.yaml" >/dev/null 2>&1 || rc=$?
zr_check "no pinned signer in preprod: accepted" "$rc" "0"
sed "s/^  metadata_signer_subject: .*/  metadata_signer_sha256: [\"$(openssl x509 -in "$ZR_PKI/tvs-signing.pem" -noout \
  -fingerprint -sha256 | cut -d= -f2)\"]/" "$BASE" >"$ZR_TMP/pin-sha.yaml"
rc=0; "$ZR_BIN" check-config "$ZR_TMP/pin-sha.yaml" >/dev/null 2>&1 || rc=$?
zr_check "pinned by a colon-separated SHA-256 fingerprint: accepted" "$rc" "0"
sed 's/^  metadata_signer_subject: .*/  metadata_signer_sha256: ["AB:CD"]/' "$BASE" >"$ZR_TMP/pin-bad.yaml"
line=$(grep -n 'metadata_signer_sha256' "$ZR_TMP/pin-bad.yaml" | cut -d: -f1)
refused check-config "$ZR_TMP/pin-bad.yaml" "malformed fingerprint pin" \
  "$ZR_TMP/pin-bad.yaml:$line: tvs.metadata_signer_sha256[0]: must be a SHA-256 certificate fingerprint"
grep -v '^  entity_id: urn:nl-eid-gdi:1.0:RD:' "$BASE" | sed 's/^environment: production/environment: preprod/' \
  >"$ZR_TMP/noentity.yaml"
line=$(grep -n '^  metadata: ' "$ZR_TMP/noentity.yaml" | cut -d: -f1) # where the tvs mapping starts
refused check-config "$ZR_TMP/noentity.yaml" "preprod without tvs.entity_id" \
  "$ZR_TMP/noentity.yaml:$line: tvs.entity_id: is required"
sed 's/^environment: preprod/environment: development/' "$ZR_TMP/noentity.yaml" >"$ZR_TMP/noentity-dev.yaml"
rc=0; "$ZR_BIN" check-config "$ZR_TMP/noentity-dev.yaml" >"$ZR_TMP/noentity-dev.out" 2>&1 || rc=$?
zr_check "no tvs.entity_id in development: no such error" \
  "$(grep -c 'tvs.entity_id' "$ZR_TMP/noentity-dev.out" || true)" "0"

# The mock subcommands: a production configuration without a mock section
# loads, and the mocks still refuse it...
rc=0; timeout 20 "$ZR_BIN" mock-tvs "$BASE" >"$ZR_TMP/mock-tvs.out" 2>&1 || rc=$?
zr_check "mock-tvs refuses a production configuration" \
  "$rc $(grep -c 'environment` is production' "$ZR_TMP/mock-tvs.out")" "1 1"
rc=0; timeout 20 "$ZR_BIN" mock-dezi "$BASE" >"$ZR_TMP/mock-dezi.out" 2>&1 || rc=$?
zr_check "mock-dezi refuses a production configuration" \
  "$rc $(grep -c 'environment is production' "$ZR_TMP/mock-dezi.out")" "1 1"
# ... and a mock section (with its test identities) is itself refused.
{ cat "$BASE"; printf 'mock_tvs:\n  listen: 127.0.0.1:8081\n  identities:\n    - label: Test\n      acting_bsn: "999990019"\n'; } \
  >"$ZR_TMP/mock.yaml"
line=$(grep -n '^mock_tvs:' "$ZR_TMP/mock.yaml" | cut -d: -f1)
refused mock-tvs "$ZR_TMP/mock.yaml" "mock_tvs section" \
  "$ZR_TMP/mock.yaml:$line: mock_tvs: the mock TVS is refused in production"
{ cat "$BASE"; printf 'mock_dezi:\n  listen: 127.0.0.1:8082\n'; } >"$ZR_TMP/mock-dezi.yaml"
line=$(grep -n '^mock_dezi:' "$ZR_TMP/mock-dezi.yaml" | cut -d: -f1)
refused mock-dezi "$ZR_TMP/mock-dezi.yaml" "mock_dezi section" \
  "$ZR_TMP/mock-dezi.yaml:$line: mock_dezi: the mock Dezi is refused in production"

zr_done
