#!/usr/bin/env bash
# The aansluitbestand never forgets (issue 14 §3): the relay keeps the care
# providers' ledger (care_providers_ledger, next to care_providers_dir); a
# provider whose file is deleted is exported as former with the date it left;
# a provider moved into former/ as docs/onboarding.md says (relative key
# paths, private key removed) still loads in serve, reload and export; two
# relay processes sharing the ledger record each event once; a torn last line
# does not break the export; an unwritable ledger is loud but logins go on.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
P=$ZR_PKI
D=$ZR_TMP/providers
LEDGER=$ZR_TMP/providers.ledger
U2=22222222-2222-4222-8222-222222222222
U3=33333333-3333-4333-8333-333333333333
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }
today() { date -u +%F; }

# The example's provider in a file of its own; twee as the guide writes it
# (relative key paths, the vendor's fields); drie with absolute paths.
mkdir -p "$D/keys"
sed -n '/^care_providers:/,/^oidc:/p' "$ZR_CONFIG" | sed -e '1d' -e '$d' -e 's/^  - //' -e 's/^    //' >"$D/demo.yaml"
cp "$P/dv2-bsn-1.pem" "$D/keys/twee-bsn.pem"
cp "$P/dv2-bsn-1.key" "$D/keys/twee-bsn.key"
chmod 600 "$D/keys/twee-bsn.key"
cat >"$D/twee.yaml" <<EOF
id: zorgaanbieder-twee
name: Zorgaanbieder Twee
entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9000
oin: "00000009999999999002"
kvk: "12345678"
contact: "J. de Vries, ict@twee.example.nl, 010-1234567"
akkoordverklaring: 2026-11-02
services:
  - loa: substantial
    service_uuid: $U2
bsn_keys:
  - cert: keys/twee-bsn.pem
    key: keys/twee-bsn.key
EOF
cat >"$D/drie.yaml" <<EOF
id: zorgaanbieder-drie
entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999003:entities:9000
oin: "00000009999999999003"
services:
  - loa: substantial
    service_uuid: $U3
bsn_keys:
  - cert: $P/dv3-bsn-1.pem
    key: $P/dv3-bsn-1.key
EOF
cp "$ZR_CONFIG" "$ZR_TMP/inline.yaml"
sed -e '/^care_providers:/,/^oidc:/{/^oidc:/!d}' \
    -e "s#^oidc:#care_providers_dir: providers\npid_file: $ZR_TMP/relay.pid\n\noidc:#" \
  "$ZR_TMP/inline.yaml" >"$ZR_CONFIG"
zr_check "check-config: three providers" "$("$ZR_BIN" check-config "$ZR_CONFIG" 2>&1)" \
  "$ZR_CONFIG: OK (3 care provider(s), 2 client(s), environment development)"

# care_providers_ledger must be a file of its own (not read as a provider).
sed "s#^care_providers_dir: providers#&\ncare_providers_ledger: providers/history.yaml#" "$ZR_CONFIG" >"$ZR_TMP/bad-ledger.yaml"
line=$(grep -n '^care_providers_ledger:' "$ZR_TMP/bad-ledger.yaml" | cut -d: -f1)
zr_check "care_providers_ledger: *.yaml refused" "$("$ZR_BIN" check-config "$ZR_TMP/bad-ledger.yaml" 2>&1 | head -1)" \
  "$ZR_TMP/bad-ledger.yaml:$line: care_providers_ledger: $D/history.yaml: must be a file of its own, not a directory or a *.yaml/*.yml file"

# --- the vendor's fields are validated (FILE:LINE: key: message).
B=$ZR_TMP/batch
mkdir -p "$B"
sed -e 's/^kvk: .*/kvk: "1234"/' -e 's/^akkoordverklaring: .*/akkoordverklaring: 2026-02-30/' \
    -e 's/^contact: .*/contact: "two\\nlines"/' -e "s#keys/#$D/keys/#" "$D/twee.yaml" >"$B/twee.yaml"
out=$("$ZR_BIN" tenants validate "$B" 2>/dev/null || true)
zr_check "validate: vendor fields" "$out" \
"$B/twee.yaml:5: kvk: must be the 8-digit KvK number (in quotes)
$B/twee.yaml:6: contact: must be 1-200 characters on one line (no line breaks or control characters)
$B/twee.yaml:7: akkoordverklaring: must be the date the akkoordverklaring was signed, YYYY-MM-DD"

# --- two relay processes start at once on a new ledger: each event once.
# A port none of this test's services was given (they bind later).
PORT2=$(zr_free_port)
while [[ " $RELAY_PORT $TVS_PORT $ART_PORT $DEZI_PORT " == *" $PORT2 "* ]]; do PORT2=$(zr_free_port); done
sed -e "s#^listen: 127.0.0.1:$RELAY_PORT#listen: 127.0.0.1:$PORT2#" \
    -e "s#^pid_file: .*#pid_file: $ZR_TMP/relay2.pid#" "$ZR_CONFIG" >"$ZR_TMP/second.yaml"
zr_start_mock_tvs
day0=$(today)
"$ZR_BIN" serve "$ZR_TMP/second.yaml" >>"$ZR_TMP/relay2.log" 2>&1 &
RELAY2_PID=$!
ZR_PIDS+=("$RELAY2_PID")
zr_start_relay
zr_wait_port "$PORT2"
zr_check "ledger next to the providers directory: one line per provider" "$(wc -l <"$LEDGER")" "3"
zr_check "ledger: each provider added once" \
  "$(grep -c '"event":"added"' "$LEDGER")/$(grep -o '"id":"[^"]*"' "$LEDGER" | sort -u | wc -l)" "3/3"
healthz=$(curl -s "$ISSUER/healthz")
zr_check "/healthz names the ledger" "$(zr_json "$healthz" 'd["config"]["ledger"]')" "ok"
zr_stop "$RELAY2_PID"

# export ROW-FIELDS: the CSV as "status|id|...".
export_rows() {
  "$ZR_BIN" tenants export --config "$ZR_CONFIG" -o "$ZR_TMP/export.csv" 2>"$ZR_TMP/export.err"
  echo "rc=$?"
  $PY -c '
import csv, sys
for r in csv.DictReader(open(sys.argv[1], newline="")):
    print("|".join([r["status"], r["id"], r["certificate_sha256"], r["date_added"], r["date_left"], r["kvk"],
                    r["contact"], r["akkoordverklaring"]]))
' "$ZR_TMP/export.csv"
}
ledger_day() {  # ledger_day EVENT ID: the date of that event
  grep "\"event\":\"$1\",\"id\":\"$2\"" "$LEDGER" | tail -1 | $PY -c 'import json,sys; print(json.loads(sys.stdin.readline())["at"][:10])'
}
added=$(ledger_day added zorgaanbieder-demo)
zr_check "ledger: dated today (UTC)" "$([ "$added" = "$day0" ] || [ "$added" = "$(today)" ] && echo yes)" "yes"
FP1=$(fp "$P/dv-bsn-1.pem"); FP2=$(fp "$P/dv2-bsn-1.pem"); FP3=$(fp "$P/dv3-bsn-1.pem")
zr_check "export: three current, with the vendor's fields" "$(export_rows)" \
"rc=0
current|zorgaanbieder-demo|$FP1|$added||||
current|zorgaanbieder-drie|$FP3|$added||||
current|zorgaanbieder-twee|$FP2|$added||12345678|J. de Vries, ict@twee.example.nl, 010-1234567|2026-11-02"
"$ZR_BIN" tenants export --config "$ZR_CONFIG" --environment production >/dev/null 2>"$ZR_TMP/export-prod.err"
zr_check "export for production: names the providers without an akkoordverklaring date" \
  "$(grep -c '^warning: 2 current care provider(s) without an akkoordverklaring date (zorgaanbieder-demo, zorgaanbieder-drie): ' "$ZR_TMP/export-prod.err")" "1"
zr_check "export: header" "$(head -1 "$ZR_TMP/export.csv" | tr -d '\r')" \
  "status,id,name,oin,entity_id,ura,services,certificate_sha256,not_before,not_after,environment,date_added,date_left,kvk,contact,akkoordverklaring"

# --- delete drie's file and reload: former, with the date it left.
rm "$D/drie.yaml"
# Before the reload the export only reads: former, the date not known yet.
zr_check "export before the reload: former, no date yet" "$(export_rows | grep drie)" \
  "former|zorgaanbieder-drie|$FP3|$added||||"
zr_check "export before the reload: says why" \
  "$(grep -c '^zorgaanbieder-drie: note: no longer configured but still current in the ledger' "$ZR_TMP/export.err")" "1"
zr_check "export does not write the ledger" "$(wc -l <"$LEDGER")" "3"
day1=$(today)
rc=0; out=$("$ZR_BIN" reload "$ZR_CONFIG" 2>&1) || rc=$?
zr_check "reload after deleting a provider: ok" "$rc/$(echo "$out" | grep -c '^relay: ok: generation 2')" "0/1"
left=$(ledger_day left zorgaanbieder-drie)
zr_check "ledger: drie left today, once" \
  "$([ "$left" = "$day1" ] || [ "$left" = "$(today)" ] && echo yes)/$(grep -c '"event":"left"' "$LEDGER")" "yes/1"
zr_check "export: the deleted provider is former, left on the date" "$(export_rows | grep drie)" \
  "former|zorgaanbieder-drie|$FP3|$added|$left|||"
zr_check "relay log: the ledger's line" "$(grep -c 'care providers ledger .*: 0 added, 0 changed, 1 left, 0 returned' "$ZR_TMP/relay.log")" "1"

# --- move twee into former/ as the guide says, and remove its private key.
mkdir -p "$D/former"
mv "$D/twee.yaml" "$D/former/"
rm "$D/keys/twee-bsn.key"
rc=0; out=$("$ZR_BIN" check-config "$ZR_CONFIG" 2>&1) || rc=$?
zr_check "check-config: a former provider needs no private key, its relative paths still work" "$rc|$out" \
  "0|$ZR_CONFIG: OK (1 care provider(s), 2 client(s), environment development)"
rc=0; out=$("$ZR_BIN" reload "$ZR_CONFIG" 2>&1) || rc=$?
zr_check "reload after moving a provider into former/: ok" "$rc/$(echo "$out" | grep -c '^relay: ok: generation 3')" "0/1"
left2=$(ledger_day left zorgaanbieder-twee)
zr_check "export: the moved provider is former, its certificate read through the providers directory" \
  "$(export_rows | grep twee)" \
  "former|zorgaanbieder-twee|$FP2|$added|$left2|12345678|J. de Vries, ict@twee.example.nl, 010-1234567|2026-11-02"
zr_check "export: no note about the certificate" "$(grep -c 'certificate' "$ZR_TMP/export.err" || true)" "0"
zr_restart_relay
healthz=$(curl -s "$ISSUER/healthz")
zr_check "serve starts with it (generation 1, ledger ok)" \
  "$(zr_json "$healthz" 'd["config"]["generation"]') $(zr_json "$healthz" 'd["config"]["ledger"]')" "1 ok"
zr_check "restarts add nothing to the ledger" "$(wc -l <"$LEDGER")" "5"
zr_check "selftest: the ledger" \
  "$("$ZR_BIN" selftest "$ZR_CONFIG" 2>/dev/null | grep "care-providers-ledger")" \
  "ok    care-providers-ledger: $LEDGER: 3 care provider(s) recorded, 2 of them former; 0 current one(s) to be recorded at the next start or reload"
out=$(zr_login "DigiD Substantieel")
zr_check "the current provider still logs in" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# --- its certificate gone too: the ledger's record stands in, and says so.
rm "$D/keys/twee-bsn.pem"
rows=$(export_rows)
zr_check "export without the former provider's certificate: the ledger's fingerprint" \
  "$(echo "$rows" | grep -e '^rc=' -e twee)" \
  "rc=0
former|zorgaanbieder-twee|$FP2|$added|$left2|12345678|J. de Vries, ict@twee.example.nl, 010-1234567|2026-11-02"
zr_check "export says where the certificate columns came from" \
  "$(grep -c "^$D/former/twee.yaml: note: cannot read the certificate $D/former/keys/twee-bsn.pem; the certificate columns are the ledger's" "$ZR_TMP/export.err")" "1"
rc=0; "$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1 || rc=$?
zr_check "reload without the former provider's certificate: ok" "$rc" "0"

# --- a torn last line (a crash mid-write): skipped with a warning.
printf '{"at":"2026-12-06T10:00:00Z","event":"add' >>"$LEDGER"
rows=$(export_rows)
zr_check "export with a torn last line: same rows" "$(echo "$rows" | head -1)/$(echo "$rows" | grep -c '|')" "rc=0/3"
zr_check "export warns about the torn line" \
  "$(grep -c "^warning: $LEDGER:6: skipped an incomplete last line" "$ZR_TMP/export.err")" "1"
zr_check "selftest warns about it" \
  "$("$ZR_BIN" selftest "$ZR_CONFIG" 2>/dev/null | grep -c "^warn  care-providers-ledger: $LEDGER: 1 line(s) that are not records are skipped (3 care provider(s) recorded)")" "1"
# drie comes back: its line starts on a line of its own after the fragment.
cat >"$D/drie.yaml" <<EOF
id: zorgaanbieder-drie
entity_id: urn:nl-eid-gdi:1.0:DV:00000009999999999003:entities:9000
oin: "00000009999999999003"
services:
  - loa: substantial
    service_uuid: $U3
bsn_keys:
  - cert: $P/dv3-bsn-1.pem
    key: $P/dv3-bsn-1.key
EOF
rc=0; "$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1 || rc=$?
back=$(ledger_day returned zorgaanbieder-drie)
zr_check "a returning provider: current again" "$rc/$(export_rows | grep drie)" "0/current|zorgaanbieder-drie|$FP3|$back||||"
zr_check "the fragment stays, skipped" "$(grep -c "^warning: $LEDGER:6: skipped a line that is not a ledger record" "$ZR_TMP/export.err")" "1"

# --- a ledger that cannot be written: loud, logins go on.
sed -i "s#^care_providers_dir: providers#&\ncare_providers_ledger: $ZR_TMP/no-such-dir/providers.ledger#" "$ZR_CONFIG"
rc=0; "$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1 || rc=$?
zr_check "reload with an unwritable ledger: still ok" "$rc" "0"
zr_check "relay log: the ledger error" \
  "$(grep -c "error relay reload care providers ledger: cannot open $ZR_TMP/no-such-dir/providers.ledger for appending: No such file or directory" "$ZR_TMP/relay.log")" "1"
healthz=$(curl -s "$ISSUER/healthz")
zr_check "/healthz: the ledger error, without path or error text" "$(zr_json "$healthz" 'd["config"]["ledger"]')" \
  'error: cannot be written, see the log ("care providers ledger")'
zr_check "selftest: the ledger cannot be created" \
  "$("$ZR_BIN" selftest "$ZR_CONFIG" 2>/dev/null | grep -c "^warn  care-providers-ledger: $ZR_TMP/no-such-dir/providers.ledger does not exist and its directory is not writable")" "1"
out=$(zr_login "DigiD Substantieel")
zr_check "logins go on" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

# What a failed run needs to be understood later.
if [ "$ZR_FAIL" -ne 0 ]; then
  for f in relay.log relay2.log export.err; do echo "--- $f" >&2; tail -n 25 "$ZR_TMP/$f" >&2 2>/dev/null || true; done
  echo "--- ledger" >&2; cut -c1-160 "$LEDGER" >&2 2>/dev/null || true
fi
zr_done
