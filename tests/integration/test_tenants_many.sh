#!/usr/bin/env bash
# Hundreds of care-provider files (issue 3 §4): the directory is read on
# several threads (src/config/tenant_dir.c), yet errors come out in file
# order, exactly as one thread would give them, and every provider and its
# portal is there. The generated set comes from bench/gen-tenants.c.
source "$(dirname "$0")/lib.sh"
zr_pki
REDIS_PORT=$(zr_free_port) # only written into the file
zr_write_config
GEN="$ZR_BUILD_DIR/zr-gen-tenants"
DIR="$ZR_TMP/providers"
"$GEN" --clients --ca "$ZR_PKI/ca.pem" --ca-key "$ZR_PKI/ca.key" 300 "$DIR" >/dev/null 2>&1
CFG="$ZR_TMP/many.yaml"
cp "$ZR_CONFIG" "$CFG"
printf '\ncare_providers_dir: %s\n' "$DIR" >> "$CFG"

out=$("$ZR_BIN" check-config --stats "$CFG" 2>&1) || true
zr_check "300 generated providers + the inline one load" "$(echo "$out" | grep -c 'OK (301 care provider(s), 302 client(s)')" "1"

# Three mistakes far apart: a missing OIN, a ServiceUUID that another file
# has, a portal whose client_id another file has. With
# care_providers_on_error: refuse every one of them is a configuration error.
sed -i '/^oin:/d' "$DIR/dv-000050.yaml"
sed -i 's/9e5a0000-0000-4000-8000-030000000200/9e5a0000-0000-4000-8000-030000000010/' "$DIR/dv-000200.yaml"
sed -i 's/client_id: portal-dv-000250/client_id: portal-dv-000100/' "$DIR/dv-000250.yaml"
QCFG="$ZR_TMP/many-quarantine.yaml"
cp "$CFG" "$QCFG"
printf 'care_providers_on_error: refuse\n' >> "$CFG"
for run in 1 2 3; do
  rc=0; "$ZR_BIN" check-config "$CFG" >/dev/null 2>"$ZR_TMP/errors-$run" || rc=$?
  zr_check "run $run: refused" "$rc" "1"
done
zr_check "the same lines in the same order every run" \
  "$(cmp -s "$ZR_TMP/errors-1" "$ZR_TMP/errors-2" && cmp -s "$ZR_TMP/errors-1" "$ZR_TMP/errors-3" && echo same)" "same"
zr_check "missing OIN named at its file" "$(grep -c "^$DIR/dv-000050.yaml:[0-9]*: oin: is required" "$ZR_TMP/errors-1")" "1"
zr_check "duplicate ServiceUUID names both files" \
  "$(grep -c "^$DIR/dv-000200.yaml:6: services\[0\].service_uuid: ServiceUUID .* is also used by $DIR/dv-000010.yaml:6$" "$ZR_TMP/errors-1")" "1"
zr_check "duplicate client_id names both files" \
  "$(grep -c "^$DIR/dv-000250.yaml:[0-9]*: clients\[0\].client_id: duplicate client_id 'portal-dv-000100' (also $DIR/dv-000100.yaml:[0-9]*)" "$ZR_TMP/errors-1")" "1"
zr_check "exactly these three lines, in file order" \
  "$(grep -o '^[^:]*' "$ZR_TMP/errors-1" | xargs -n1 basename | tr '\n' ' ')" "dv-000050.yaml dv-000200.yaml dv-000250.yaml "
# Quarantine (the default): the missing OIN is dv-000050's own problem, the
# two duplicates are not: still refused, for those two lines only.
rc=0; "$ZR_BIN" check-config "$QCFG" >/dev/null 2>"$ZR_TMP/errors-q" || rc=$?
zr_check "quarantine: duplicates across files still refuse" "$rc" "1"
zr_check "quarantine: only the duplicates are configuration errors" \
  "$(grep -o '^[^:]*' "$ZR_TMP/errors-q" | xargs -n1 basename | tr '\n' ' ')" "dv-000200.yaml dv-000250.yaml "
sed -i 's/9e5a0000-0000-4000-8000-030000000010/9e5a0000-0000-4000-8000-030000000200/' "$DIR/dv-000200.yaml"
sed -i 's/client_id: portal-dv-000100/client_id: portal-dv-000250/' "$DIR/dv-000250.yaml"
rc=0; out=$("$ZR_BIN" check-config "$QCFG" 2>&1) || rc=$?
zr_check "quarantine: without the duplicates it loads, exit 3" "$rc" "3"
zr_check "quarantine: the missing OIN quarantines dv-000050 alone" \
  "$(echo "$out" | grep -c "OK with 1 of 301 care provider(s) quarantined")/$(echo "$out" | grep -c "^  $DIR/dv-000050.yaml:[0-9]*: oin: is required")" "1/1"
sed -i 's/9e5a0000-0000-4000-8000-030000000200/9e5a0000-0000-4000-8000-030000000010/' "$DIR/dv-000200.yaml"
zr_check "tenants validate agrees on the ServiceUUID" \
  "$("$ZR_BIN" tenants validate "$DIR" --ca "$ZR_PKI/ca.pem" 2>/dev/null | grep -c "dv-000200.yaml:.*service_uuid")" "1"
zr_done
