#!/usr/bin/env bash
# Care providers in their own files (care_providers_dir, former/), `tenants
# validate` on a batch with deliberate mistakes (exact lines and exit codes),
# `tenants export` (RFC 4180 CSV), and a login through a relay whose care
# provider lives in a file of its own.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
P=$ZR_PKI
U1=11111111-1111-4111-8111-111111111111
U2=22222222-2222-4222-8222-222222222222
U3=33333333-3333-4333-8333-333333333333
U4=44444444-4444-4444-8444-444444444444
DV=00000009999999999001

# tenant FILE ID OIN INDEX UUID CERT KEY
tenant() {
  cat >"$1" <<EOF
# care provider $2
id: $2
entity_id: urn:nl-eid-gdi:1.0:DV:$3:entities:$4
oin: "$3"
services:
  - loa: substantial
    service_uuid: $5
bsn_keys:
  - cert: $6
    key: $7
EOF
}

# An expired BSN certificate from the same CA.
mkdir -p "$ZR_TMP/expired"
cp "$P/ca.pem" "$P/ca.key" "$ZR_TMP/expired/"
NOT_BEFORE=20200101000000Z NOT_AFTER=20210101000000Z bash "$ZR_SOURCE_DIR/certs-example/make-pki.sh" "$ZR_TMP/expired" >/dev/null

# --- validate: a clean batch; warnings alone exit 0; production refuses 9xxx.
G=$ZR_TMP/good
mkdir -p "$G"
tenant "$G/a-good.yaml" a-good $DV 9000 $U1 "$P/dv-bsn-1.pem" "$P/dv-bsn-1.key"
rc=0; out=$("$ZR_BIN" tenants validate "$G" --ca "$P/ca.pem" 2>/dev/null) || rc=$?
zr_check "validate good batch: exit 0" "$rc" "0"
zr_check "validate good batch: no lines" "$out" ""
rc=0; out=$("$ZR_BIN" tenants validate "$G" --ca "$P/ca.pem" --warn-days 3650 2>/dev/null) || rc=$?
zr_check "validate warn window: exit 0 (warnings only)" "$rc" "0"
zr_check "validate warn window: one warning" "$(echo "$out" | grep -c "^$G/a-good.yaml:9: bsn_keys\[0\]: warning: the certificate expires on ")" "1"
rc=0; out=$("$ZR_BIN" tenants validate "$G" --ca "$P/ca.pem" --environment production 2>/dev/null) || rc=$?
zr_check "validate production: exit 1" "$rc" "1"
zr_check "validate production: test index refused" "$out" \
  "$G/a-good.yaml:3: entity_id: entity index 9000 is reserved for test and refused in production"
# --config gives the environment (development), the CA (tvs.trust_anchor)
# and the care providers the batch may not repeat: a-good is the example's
# own provider again (entity ID, OIN and certificate).
cfg_line() { grep -n "$1" "$ZR_CONFIG" | head -1 | cut -d: -f1; }
rc=0; out=$("$ZR_BIN" tenants validate "$G" --config "$ZR_CONFIG" 2>"$ZR_TMP/validate.err") || rc=$?
zr_check "validate --config, a configured provider again: exit 1" "$rc" "1"
zr_check "validate --config, a configured provider again: lines" "$out" \
"$G/a-good.yaml:3: entity_id: entity ID urn:nl-eid-gdi:1.0:DV:$DV:entities:9000 is also used by $ZR_CONFIG:$(cfg_line 'entity_id: urn:nl-eid-gdi:1.0:DV:')
$G/a-good.yaml:4: oin: OIN $DV is also used by $ZR_CONFIG:$(cfg_line 'oin: "')
$G/a-good.yaml:9: bsn_keys[0].cert: certificate with SHA-256 $(openssl x509 -in "$P/dv-bsn-1.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f) is also used by $ZR_CONFIG:$(cfg_line 'cert: .*dv-bsn-1.pem')"
G2=$ZR_TMP/good2
mkdir -p "$G2"
tenant "$G2/x-new.yaml" x-new 00000009999999999002 9001 $U2 "$P/dv2-bsn-1.pem" "$P/dv2-bsn-1.key"
rc=0; out=$("$ZR_BIN" tenants validate "$G2" --config "$ZR_CONFIG" 2>&1) || rc=$?
zr_check "validate --config, a new provider: exit 0" "$rc" "0"
zr_check "validate --config, a new provider: summary" "$out" \
  "$G2: 1 care provider(s), 0 error(s), 0 warning(s) (environment development)"

# --- validate: a batch with one deliberate mistake per file.
B=$ZR_TMP/batch
mkdir -p "$B"
cp "$G/a-good.yaml" "$B/"
# b: same ServiceUUID and OIN as a, its own (valid) certificate, which c uses too.
tenant "$B/b-dup.yaml" b-dup $DV 9001 $U1 "$P/dv-bsn-2.pem" "$P/dv-bsn-2.key"
# c: key of another certificate; certificate's OIN is not the entity's.
tenant "$B/c-key.yaml" c-key 00000009999999999002 9002 $U2 "$P/dv-bsn-2.pem" "$P/dv-bsn-1.key"
# d: a signing certificate (no keyEncipherment), wrong OIN.
tenant "$B/d-sign.yaml" d-sign 00000009999999999003 9003 $U3 "$P/relay-signing.pem" "$P/relay-signing.key"
# e: expired (its OIN, index and ServiceUUID are its own).
tenant "$B/e-old.yaml" e-old 00000009999999999004 9004 $U4 "$ZR_TMP/expired/dv-bsn-1.pem" "$ZR_TMP/expired/dv-bsn-1.key"
# f: not YAML of a care provider at all; g.txt is not a tenant file (a warning).
printf 'id: f-bad\nentity_id: urn:nl-eid-gdi:1.0:DV:123:entities:1\n' >"$B/f-bad.yaml"
echo "ignored" >"$B/g.txt"
rc=0; out=$("$ZR_BIN" tenants validate "$B" --ca "$P/ca.pem" 2>"$ZR_TMP/validate.err") || rc=$?
# Each file's lines together, in file then line order; g.txt is named.
expected="$B/b-dup.yaml:4: oin: OIN $DV is also used by $B/a-good.yaml:4
$B/b-dup.yaml:5: services[0].service_uuid: ServiceUUID $U1 is also used by $B/a-good.yaml:5
$B/c-key.yaml:9: bsn_keys[0]: the private key $P/dv-bsn-1.key does not belong to the certificate $P/dv-bsn-2.pem
$B/c-key.yaml:9: bsn_keys[0]: the certificate is for OIN $DV, the entity ID for OIN 00000009999999999002
$B/c-key.yaml:9: bsn_keys[0].cert: certificate with SHA-256 $(openssl x509 -in "$P/dv-bsn-2.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f) is also used by $B/b-dup.yaml:9
$B/d-sign.yaml:9: bsn_keys[0]: keyUsage does not allow keyEncipherment; not an encryption certificate
$B/d-sign.yaml:9: bsn_keys[0]: the certificate is for OIN $DV, the entity ID for OIN 00000009999999999003
$B/e-old.yaml:9: bsn_keys[0]: the certificate is for OIN $DV, the entity ID for OIN 00000009999999999004
$B/e-old.yaml:9: bsn_keys[0]: the certificate expired on 2021-01-01
$B/f-bad.yaml:1: oin: is required
$B/f-bad.yaml:1: services: is required
$B/f-bad.yaml:1: bsn_keys: is required
$B/f-bad.yaml:2: entity_id: must look like urn:nl-eid-gdi:1.0:DV:<OIN, 20 digits>:entities:<4 digits>
$B/g.txt: warning: not loaded: not a care provider file (*.yaml, *.yml)"
zr_check "validate batch: exit 1" "$rc" "1"
zr_check "validate batch: exact lines" "$out" "$expected"
zr_check "validate batch: summary" "$(cat "$ZR_TMP/validate.err")" \
"$B/b-dup.yaml: 2 error(s), 0 warning(s)
$B/c-key.yaml: 3 error(s), 0 warning(s)
$B/d-sign.yaml: 2 error(s), 0 warning(s)
$B/e-old.yaml: 2 error(s), 0 warning(s)
$B/f-bad.yaml: 4 error(s), 0 warning(s)
$B/g.txt: 0 error(s), 1 warning(s)
$B: 6 care provider(s), 13 error(s), 1 warning(s) (environment development)"
zr_check "validate usage: exit 2" "$("$ZR_BIN" tenants validate >/dev/null 2>&1; echo $?)" "2"

# --- a relay whose care provider lives in its own file, with a former one.
D=$ZR_TMP/providers
mkdir -p "$D/former"
sed -n '/^care_providers:/,/^oidc:/p' "$ZR_CONFIG" | sed -e '1d' -e '$d' -e 's/^  - //' -e 's/^    //' \
  -e 's/^name: .*/name: Zorg "Demo", Oost/' >"$D/demo.yaml"
tenant "$D/former/oud.yaml" oud 00000009999999999004 9004 $U4 "$ZR_TMP/expired/dv-bsn-1.pem" "$ZR_TMP/expired/dv-bsn-1.key"
cp "$ZR_CONFIG" "$ZR_TMP/inline.yaml"
sed -e '/^care_providers:/,/^oidc:/{/^oidc:/!d}' -e 's/^oidc:/care_providers_dir: providers\n\noidc:/' \
  "$ZR_TMP/inline.yaml" >"$ZR_CONFIG"
zr_check "check-config with care_providers_dir" "$("$ZR_BIN" check-config "$ZR_CONFIG" 2>&1)" \
  "$ZR_CONFIG: OK (1 care provider(s), 2 client(s), environment development)"

# A batch is compared with the configured care_providers_dir too; the
# directory itself validates against the inline providers only (none here).
rc=0; out=$("$ZR_BIN" tenants validate "$G" --config "$ZR_CONFIG" 2>/dev/null) || rc=$?
zr_check "validate --config with care_providers_dir: exit 1" "$rc" "1"
zr_check "validate --config with care_providers_dir: names the configured file" \
  "$(echo "$out" | grep -c "^$G/a-good.yaml:3: entity_id: .* is also used by $D/demo.yaml:")" "1"
rc=0; "$ZR_BIN" tenants validate "$D" --config "$ZR_CONFIG" >/dev/null 2>&1 || rc=$?
zr_check "validate the configured care_providers_dir itself: exit 0" "$rc" "0"

# The same provider inline and in a file: both places named.
sed 's/^oidc:/care_providers_dir: providers\n\noidc:/' "$ZR_TMP/inline.yaml" >"$ZR_TMP/both.yaml"
inline_line=$(grep -n '^  - id: zorgaanbieder-demo' "$ZR_TMP/both.yaml" | cut -d: -f1)
rc=0; msg=$("$ZR_BIN" check-config "$ZR_TMP/both.yaml" 2>&1) || rc=$?
zr_check "inline + file duplicate: exit 1" "$rc" "1"
zr_check "inline + file duplicate: names both" \
  "$(echo "$msg" | grep -c "^$D/demo.yaml:1: id: care provider id zorgaanbieder-demo is also used by $ZR_TMP/both.yaml:$inline_line$")" "1"

# --- export: current and former, RFC 4180.
"$ZR_BIN" tenants export --config "$ZR_CONFIG" --environment preprod -o "$ZR_TMP/export.csv"
zr_check "export: exit 0" "$?" "0"
zr_check "export: CRLF records" "$(grep -c $'\r$' "$ZR_TMP/export.csv")" "3"
zr_check "export: quoted name" "$(grep -c '^current,zorgaanbieder-demo,"Zorg ""Demo"", Oost",' "$ZR_TMP/export.csv")" "1"
fp_now=$(openssl x509 -in "$P/dv-bsn-1.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
fp_old=$(openssl x509 -in "$ZR_TMP/expired/dv-bsn-1.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
rows=$($PY -c '
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
for r in rows:
    print("|".join([r["status"], r["id"], r["name"], r["oin"], r["services"], r["certificate_sha256"],
                    r["not_before"][:10], r["not_after"][:10], r["environment"]]))
' "$ZR_TMP/export.csv")
zr_check "export: rows" "$rows" \
"current|zorgaanbieder-demo|Zorg \"Demo\", Oost|$DV|substantial=7f3e2a10-5d2b-4c8e-9a61-0b1c2d3e4f50;high=0a9b8c7d-6e5f-4a3b-8c2d-1e0f9a8b7c6d;basic=5c4d3e2f-1a0b-4c9d-8e7f-6a5b4c3d2e1f|$fp_now|$(openssl x509 -in "$P/dv-bsn-1.pem" -noout -startdate | cut -d= -f2 | xargs -I{} date -u -d {} +%F)|$(openssl x509 -in "$P/dv-bsn-1.pem" -noout -enddate | cut -d= -f2 | xargs -I{} date -u -d {} +%F)|preprod
former|oud|oud|00000009999999999004|substantial=$U4|$fp_old|2020-01-01|2021-01-01|preprod"
zr_check "export to stdout = file" "$("$ZR_BIN" tenants export --config "$ZR_CONFIG" --environment preprod | cmp - "$ZR_TMP/export.csv" && echo same)" "same"
# A name that a spreadsheet would run as a formula is defused.
sed -i 's/^name: .*/name: =1+1/' "$D/demo.yaml"
zr_check "export: formula defused" \
  "$("$ZR_BIN" tenants export --config "$ZR_CONFIG" --environment preprod | grep -c "^current,zorgaanbieder-demo,\"'=1+1\",")" "1"
sed -i 's/^name: .*/name: Zorg "Demo", Oost/' "$D/demo.yaml"

# --- a login through the provider from its own file; the former one is not offered.
zr_start_mock_tvs
zr_start_relay
out=$(zr_login "DigiD Substantieel")
zr_check "login via care_providers_dir: bsn" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "login via care_providers_dir: acr" "$(zr_json "$out" 'd["claims"]["acr"]')" "http://eidas.europa.eu/LoA/substantial"

zr_done
