#!/usr/bin/env bash
# Our signed SP metadata (command and endpoint) and the mock TVS's metadata:
# schema-valid against the OASIS schemas, signatures checked independently by
# the xmlsec1 command line. check-config on good and broken files.
source "$(dirname "$0")/lib.sh"
zr_env_up
SCHEMA="$ZR_SOURCE_DIR/metadata/schemas/saml-schema-metadata-2.0.xsd"
ID_ATTR="--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"

"$ZR_BIN" metadata "$ZR_CONFIG" > "$ZR_TMP/sp.xml"
zr_check "metadata command exits 0" "$?" "0"
zr_check "SP metadata schema-valid" "$(xmllint --nonet --noout --schema "$SCHEMA" "$ZR_TMP/sp.xml" 2>&1 | tail -1)" "$ZR_TMP/sp.xml validates"
zr_check "SP metadata signature (xmlsec1)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/relay-signing.pem" $ID_ATTR "$ZR_TMP/sp.xml" 2>&1 | grep -c '^OK')" "1"
zr_check "SP metadata has the BSN encryption key" "$(grep -o "use=.encryption." "$ZR_TMP/sp.xml" | wc -l)" "1"
zr_check "SP metadata has 3 ServiceUUIDs" "$(grep -o "urn:nl-eid-gdi:1.0:ServiceUUID" "$ZR_TMP/sp.xml" | wc -l)" "3"
zr_check "SP metadata has no private key" "$(grep -c 'PRIVATE' "$ZR_TMP/sp.xml")" "0"

curl -s -o "$ZR_TMP/sp-served.xml" "$ISSUER/saml/metadata"
zr_check "served metadata schema-valid" "$(xmllint --nonet --noout --schema "$SCHEMA" "$ZR_TMP/sp-served.xml" 2>&1 | tail -1)" "$ZR_TMP/sp-served.xml validates"
zr_check "served metadata signature (xmlsec1)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/relay-signing.pem" $ID_ATTR "$ZR_TMP/sp-served.xml" 2>&1 | grep -c '^OK')" "1"

zr_check "mock TVS metadata schema-valid" "$(xmllint --nonet --noout --schema "$SCHEMA" "$ZR_TMP/mock-tvs-metadata.xml" 2>&1 | tail -1)" "$ZR_TMP/mock-tvs-metadata.xml validates"
zr_check "mock TVS metadata signature (xmlsec1)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/tvs-signing.pem" $ID_ATTR "$ZR_TMP/mock-tvs-metadata.xml" 2>&1 | grep -c '^OK')" "1"

# check-config: good file, and a broken one names file, line and key.
zr_check "check-config OK" "$("$ZR_BIN" check-config "$ZR_CONFIG" >/dev/null 2>&1; echo $?)" "0"
sed 's/^    min_loa: substantial$/    min_loa: extreme/' "$ZR_CONFIG" > "$ZR_TMP/broken.yaml"
line=$(grep -n 'min_loa: extreme' "$ZR_TMP/broken.yaml" | head -1 | cut -d: -f1)
msg=$("$ZR_BIN" check-config "$ZR_TMP/broken.yaml" 2>&1 >/dev/null || true)
zr_check "check-config broken: exit 1" "$("$ZR_BIN" check-config "$ZR_TMP/broken.yaml" >/dev/null 2>&1; echo $?)" "1"
zr_check "check-config broken: file:line:key" "$(echo "$msg" | grep -c "broken.yaml:$line: clients\[0\].min_loa")" "1"
zr_check "serve refuses a broken config" "$(timeout 10 "$ZR_BIN" serve "$ZR_TMP/broken.yaml" >/dev/null 2>&1; echo $?)" "1"

zr_done
