#!/usr/bin/env bash
# `zorgrelay selftest` (issue 5 §2) against a good installation (all ok,
# exit 0, --json parses) and broken ones: an expired certificate, a key that
# does not belong to its certificate, Redis evicting live sessions
# (allkeys-lru), a maxmemory below the expected login rate, a pinned CA (tvs.tls_ca) that did not issue TVS's server
# certificate, a TVS that refuses our client certificate (its client_ca is
# another CA), TVS's artifact endpoint closed, and a mock TVS whose Date is
# 600 s off. Each broken one must name its FAIL line and exit 1.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}
zr_start_mock_dezi

# selftest CONFIG [args] -> $OUT (stdout), $RC
selftest() {
  set +e
  OUT=$("$ZR_BIN" selftest "$@" 2>>"$ZR_TMP/selftest.log")
  RC=$?
  set -e
}
has_line() { echo "$OUT" | grep -cE "$1" || true; }

# A certificate for KEY issued by the test CA with explicit validity (openssl
# ca, because OpenSSL 3.0's req/x509 cannot set notBefore/notAfter).
# mk_cert KEY OUT STARTDATE ENDDATE
mk_cert() {
  local d="$ZR_TMP/ca"
  mkdir -p "$d/new"
  [ -f "$d/index.txt" ] || : >"$d/index.txt"
  openssl rand -hex 8 >"$d/serial"
  cat >"$d/ca.cnf" <<EOF
[ca]
default_ca = x
[x]
dir = $d
database = \$dir/index.txt
new_certs_dir = \$dir/new
serial = \$dir/serial
default_md = sha256
policy = p
unique_subject = no
email_in_dn = no
copy_extensions = none
[p]
countryName = optional
organizationName = optional
serialNumber = optional
commonName = supplied
[ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
EOF
  openssl req -new -key "$1" -subj "/C=NL/O=selftest TEST/serialNumber=00000009999999999001/CN=selftest signing TEST" \
    -out "$d/req.csr" 2>/dev/null
  openssl ca -batch -config "$d/ca.cnf" -cert "$ZR_PKI/ca.pem" -keyfile "$ZR_PKI/ca.key" -in "$d/req.csr" \
    -out "$2" -startdate "$3" -enddate "$4" -extensions ext -notext >/dev/null 2>&1
}

# ---- a good installation ----------------------------------------------------
selftest "$ZR_CONFIG"
zr_check "good: exit 0" "$RC" "0"
zr_check "good: no warn or FAIL line" "$(has_line '^(warn|FAIL) ')" "0"
for c in configuration certificates sp-metadata tvs-metadata tvs-metadata-signer tvs-dns tvs-tls tvs-mtls clock \
         redis redis-clock redis-store redis-eviction redis-persistence dezi; do
  zr_check "good: ok $c" "$([ "$(has_line "^ok    $c: ")" -ge 1 ] && echo yes)" "yes"
done
zr_check "good: SP metadata schema-valid" "$(has_line '^ok    sp-metadata: .*schema-valid')" "1"
zr_check "good: BSN keys counted" "$(has_line '^ok    certificates: 1 of 1 BSN decryption key')" "1"
# issue 12 §2: who signed TVS's metadata, by which pin, and how old it is.
TVS_SHA=$(openssl x509 -in "$ZR_PKI/tvs-signing.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f)
zr_check "good: metadata signer and the pin it matched" \
  "$(has_line "^ok    tvs-metadata-signer: signed by \"CN=mock TVS signing TEST - NIET ECHT,serialNumber=00000009999999999000,.*\" \(SHA-256 $TVS_SHA\), pinned by tvs.metadata_signer_subject \"CN=mock TVS signing")" "1"
zr_check "good: metadata age and remaining validity" \
  "$(has_line '^ok    tvs-metadata: .*created [0-9-]+ [0-9:]+ UTC \([0-9]+m ago\), valid until [0-9-]+ [0-9:]+ UTC \((6d 23h|7d 0h) left\)')" "1"
selftest --json "$ZR_CONFIG"
zr_check "good --json: exit 0" "$RC" "0"
zr_check "good --json: parses, status ok, no failure" \
  "$(echo "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["exit_status"], d["counts"]["fail"], len(d["checks"]) > 10)')" \
  "ok 0 0 True"
zr_check "good --json: metadata signer, pin and age" \
  "$(echo "$OUT" | $PY -c '
import json,sys
c = {x["check"]: x for x in json.load(sys.stdin)["checks"]}
s, m = c["tvs-metadata-signer"], c["tvs-metadata"]
print(s["status"], "'"$TVS_SHA"'" in s["finding"], "pinned by tvs.metadata_signer_subject" in s["finding"],
      "ago" in m["finding"], "left)" in m["finding"])')" \
  "ok True True True True"
# Pinned by fingerprint instead: both the old and the next certificate
# listed (a rollover in progress); the one that signed is named.
NEXT_SHA=$(openssl x509 -in "$ZR_PKI/relay-signing.pem" -noout -fingerprint -sha256 | cut -d= -f2)
sed -e '/^  metadata_signer_subject:/,/^    - "CN=mock TVS/d' "$ZR_CONFIG" |
  sed "0,/^  entity_id: urn:nl-eid-gdi:1.0:RD:/s#^  entity_id: \(.*\)#  entity_id: \1\n  metadata_signer_sha256: [\"$NEXT_SHA\", \"$TVS_SHA\"]#" \
  >"$ZR_TMP/sha-pins.yaml"
selftest "$ZR_TMP/sha-pins.yaml"
zr_check "sha256 pins: exit 0" "$RC" "0"
zr_check "sha256 pins: the second pin matched" \
  "$(has_line "^ok    tvs-metadata-signer: .*pinned by tvs.metadata_signer_sha256 $TVS_SHA\$")" "1"
# No pin (allowed in development): a warning that says what to pin.
sed -e '/^  metadata_signer_subject:/,/^    - "CN=mock TVS/d' "$ZR_CONFIG" >"$ZR_TMP/no-pin.yaml"
selftest "$ZR_TMP/no-pin.yaml"
zr_check "no pin: exit 0 (warning in development)" "$RC" "0"
zr_check "no pin: warn line" "$(has_line "^warn  tvs-metadata-signer: signed by .*\(SHA-256 $TVS_SHA\), not pinned")" "1"
# A pin that does not match TVS's signer: the metadata is refused.
sed "s/^  metadata_signer_sha256: .*/  metadata_signer_sha256: [\"$NEXT_SHA\"]/" "$ZR_TMP/sha-pins.yaml" >"$ZR_TMP/wrong-pin.yaml"
selftest "$ZR_TMP/wrong-pin.yaml"
zr_check "wrong pin: exit 1" "$RC" "1"
zr_check "wrong pin: FAIL line" "$(has_line '^FAIL  tvs-metadata: .*TVS metadata signer is not pinned: signed by "CN=mock TVS signing')" "1"
zr_check "usage: exit 2" "$("$ZR_BIN" selftest >/dev/null 2>&1; echo $?)" "2"

# ---- a certificate that expires soon: warned, still exit 0 ---------------------
mk_cert "$ZR_PKI/relay-signing.key" "$ZR_TMP/soon.pem" "$(date -u -d '-1 day' +%Y%m%d%H%M%SZ)" \
  "$(date -u -d '+10 days' +%Y%m%d%H%M%SZ)"
sed "s#$ZR_PKI/relay-signing.pem#$ZR_TMP/soon.pem#" "$ZR_CONFIG" >"$ZR_TMP/soon.yaml"
selftest "$ZR_TMP/soon.yaml"
zr_check "expiring soon: exit 0 (warnings only)" "$RC" "0"
zr_check "expiring soon: warn line" "$(has_line '^warn  certificates: saml.signing: certificate expires on .* \(in (9|10) days\)')" "1"
zr_check "expiring soon: advice" "$(has_line '^      -> order the successor now')" "1"

# ---- an expired certificate -------------------------------------------------
mk_cert "$ZR_PKI/relay-signing.key" "$ZR_TMP/expired.pem" 20200101000000Z 20210101000000Z
sed "s#$ZR_PKI/relay-signing.pem#$ZR_TMP/expired.pem#" "$ZR_CONFIG" >"$ZR_TMP/expired.yaml"
selftest "$ZR_TMP/expired.yaml"
zr_check "expired: exit 1" "$RC" "1"
zr_check "expired: FAIL line" \
  "$(has_line "^FAIL  configuration: .*expired.yaml:[0-9]+: saml.signing.cert: certificate .*expired.pem expired on 2021-01-01")" "1"
zr_check "expired: advice" "$(has_line '^      -> renew the certificate')" "1"
selftest --json "$ZR_TMP/expired.yaml"
zr_check "expired --json: status fail, exit 1" \
  "$(echo "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], d["exit_status"], d["checks"][0]["check"], d["checks"][0]["status"])')" \
  "fail 1 configuration fail"

# ---- a key that does not belong to its certificate --------------------------
sed "s#$ZR_PKI/relay-signing.key#$ZR_PKI/relay-tls-client.key#" "$ZR_CONFIG" >"$ZR_TMP/wrongkey.yaml"
selftest "$ZR_TMP/wrongkey.yaml"
zr_check "wrong key: exit 1" "$RC" "1"
zr_check "wrong key: FAIL line" \
  "$(has_line '^FAIL  configuration: .*wrongkey.yaml:[0-9]+: saml.signing.key: the private key does not belong to the certificate')" "1"
zr_check "wrong key: advice" "$(has_line '^      -> point key: at the private key')" "1"

# ---- Redis that evicts live sessions ------------------------------------------
redis-cli -p "$REDIS_PORT" config set maxmemory-policy allkeys-lru >/dev/null
selftest "$ZR_CONFIG"
redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null
zr_check "allkeys-lru: exit 1" "$RC" "1"
zr_check "allkeys-lru: FAIL line" "$(has_line '^FAIL  redis-eviction: maxmemory-policy allkeys-lru evicts live logins')" "1"
zr_check "allkeys-lru: advice" "$(has_line '^      -> set `maxmemory-policy noeviction`')" "1"
zr_check "allkeys-lru: the rest still ok" "$(has_line '^FAIL ')" "1"

# ---- maxmemory against the login rate it holds (issue 13 §4) -------------------
# About 18 MB per sustained login per second with the example's lifetimes
# (8 h logout sessions): 64 MiB holds 3.6 a second, below the default peak 10.
redis-cli -p "$REDIS_PORT" config set maxmemory 64mb >/dev/null
selftest "$ZR_CONFIG"
zr_check "maxmemory 64 MiB: warn line names the rate it holds" \
  "$(has_line '^warn  redis-maxmemory: maxmemory 64 MiB holds a sustained 3\.[0-9] logins per second \(19\.[0-9] MB each, mostly the logout sessions\); expected peak 10 per second$')" "1"
zr_check "maxmemory 64 MiB: advice names the maxmemory the peak needs" \
  "$(has_line '^      -> set maxmemory to at least 18[0-9] MiB \(10 logins per second x 19\.[0-9] MB')" "1"
zr_check "maxmemory 64 MiB: a warning, not a failure" "$RC" "0"
selftest --peak-logins 3 "$ZR_CONFIG"
zr_check "maxmemory 64 MiB, --peak-logins 3: ok" \
  "$(has_line '^ok    redis-maxmemory: maxmemory 64 MiB holds a sustained 3\.[0-9] logins per second .*expected peak 3 per second$')" "1"
selftest --peak-logins 0 "$ZR_CONFIG"
zr_check "--peak-logins 0: usage error" "$RC" "2"
redis-cli -p "$REDIS_PORT" config set maxmemory 0 >/dev/null

# A throwaway CA that issued neither TVS's nor our certificates.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$ZR_TMP/other-ca.key" \
  -out "$ZR_TMP/other-ca.pem" -subj "/O=selftest TEST/CN=selftest other CA TEST" -days 365 \
  -addext "basicConstraints=critical,CA:true" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
mtls_check() {  # the tvs-mtls item of --json output $OUT: "status|finding"
  echo "$OUT" | $PY -c 'import json,sys; d=json.load(sys.stdin); c=[c for c in d["checks"] if c["check"]=="tvs-mtls"][0]; print(c["status"] + "|" + c["finding"].split(":")[0])'
}

# ---- tvs.tls_ca is not the CA of TVS's server certificate ---------------------
sed "/^tvs:/,/^[a-z]/ s#^  tls_ca: .*#  tls_ca: $ZR_TMP/other-ca.pem#" "$ZR_CONFIG" >"$ZR_TMP/wrongca.yaml"
zr_check "wrong pinned CA: config differs" "$(grep -c "tls_ca: $ZR_TMP/other-ca.pem" "$ZR_TMP/wrongca.yaml")" "1"
selftest "$ZR_TMP/wrongca.yaml"
zr_check "wrong pinned CA: exit 1" "$RC" "1"
zr_check "wrong pinned CA: FAIL line names both CAs" \
  "$(has_line "^FAIL  tvs-tls: TVS's server certificate does not verify against tvs.tls_ca: TVS shows CN=localhost .*issued by CN=zorgrelay TEST CA - NIET ECHT, tvs.tls_ca \(.*other-ca.pem\) holds CN=selftest other CA TEST")" "1"
zr_check "wrong pinned CA: advice" "$(has_line "^      -> put the CA that issued TVS's server certificate .* in tvs.tls_ca")" "1"
zr_check "wrong pinned CA: mutual TLS skipped" "$(has_line '^skip  tvs-mtls: not tried')" "1"
zr_check "wrong pinned CA: the only FAIL" "$(has_line '^FAIL ')" "1"

# ---- TVS refuses our client certificate (trusts another CA) -------------------
kill "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null || true
sed "/^mock_tvs:/,/^[a-z]/ s#^  client_ca: .*#  client_ca: $ZR_TMP/other-ca.pem#" "$ZR_CONFIG" >"$ZR_TMP/otherclientca.yaml"
zr_check "refused client certificate: mock config differs" \
  "$(grep -c "client_ca: $ZR_TMP/other-ca.pem" "$ZR_TMP/otherclientca.yaml")" "1"
GOOD_CONFIG=$ZR_CONFIG
ZR_CONFIG="$ZR_TMP/otherclientca.yaml"
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}
ZR_CONFIG=$GOOD_CONFIG
selftest "$ZR_CONFIG"
zr_check "refused client certificate: exit 1" "$RC" "1"
zr_check "refused client certificate: FAIL line" \
  "$(has_line '^FAIL  tvs-mtls: TVS refused our client certificate: HTTP 403 to an empty SOAP request$')" "1"
zr_check "refused client certificate: advice says what DICTU must have" \
  "$(has_line "^      -> TVS does not accept our client certificate\. DICTU must have exactly this certificate registered for this environment .*Ours: saml\.tls_client $ZR_PKI/relay-tls-client\.pem \(CN=.*, issued by CN=zorgrelay TEST CA - NIET ECHT\)$")" "1"
zr_check "refused client certificate: server TLS still ok" "$(has_line '^ok    tvs-tls: ')" "1"
zr_check "refused client certificate: the only FAIL" "$(has_line '^FAIL ')" "1"
selftest --json "$ZR_CONFIG"
zr_check "refused client certificate --json: exit 1" "$RC" "1"
zr_check "refused client certificate --json: tvs-mtls failed" "$(mtls_check)" "fail|TVS refused our client certificate"
# Back to the good mock for the cases below.
kill "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null || true
zr_start_mock_tvs
MOCK_PID=${ZR_PIDS[-1]}

# ---- TVS's artifact endpoint closed -------------------------------------------
kill "$MOCK_PID"
wait "$MOCK_PID" 2>/dev/null || true
selftest "$ZR_CONFIG"
zr_check "unreachable: exit 1" "$RC" "1"
zr_check "unreachable: FAIL line" "$(has_line "^FAIL  tvs-tls: cannot connect to https://localhost:$ART_PORT/.*")" "1"
zr_check "unreachable: mutual TLS skipped" "$(has_line '^skip  tvs-mtls: not tried')" "1"
zr_check "unreachable: clock not measured" "$(has_line '^warn  clock: not measured')" "1"

# ---- a TVS whose clock is 10 minutes ahead -----------------------------------
printf '  date_offset_s: 600\n' >>"$ZR_CONFIG"
zr_start_mock_tvs
selftest "$ZR_CONFIG"
zr_check "skewed clock: exit 1" "$RC" "1"
zr_check "skewed clock: FAIL line" \
  "$(has_line "^FAIL  clock: this machine is (599|600|601)\.[0-9] s behind TVS .*tvs.clock_skew_s 60")" "1"
zr_check "skewed clock: advice" "$(has_line '^      -> synchronise this machine.s clock')" "1"
zr_check "skewed clock: mutual TLS still ok" "$(has_line '^ok    tvs-mtls: ')" "1"

[ "$ZR_FAIL" -eq 0 ] || { echo "last output:"; echo "$OUT"; cat "$ZR_TMP/selftest.log"; }
zr_done
