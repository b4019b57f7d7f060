#!/usr/bin/env bash
# The cluster connection's metadata (issue 3 §2): `zorgrelay metadata` on a
# configuration with `cluster:` prints one signed EntitiesDescriptor (LC plus
# one EntityDescriptor per care provider, examples/saml_metadata_lc_for_rd.xml),
# schema-valid and verified by the xmlsec1 command line; check-config names
# file, line and key for a bad LC entityID, an OIN mismatch and a signing
# certificate of another organisation.
source "$(dirname "$0")/lib.sh"
zr_pki
REDIS_PORT=$(zr_free_port) # only written into the file; nothing connects to it
zr_write_config
SCHEMA="$ZR_SOURCE_DIR/metadata/schemas/saml-schema-metadata-2.0.xsd"
ID_ATTR="--id-attr:ID urn:oasis:names:tc:SAML:2.0:metadata:EntitiesDescriptor"
LC_ENTITY="urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
DV1_ENTITY="urn:nl-eid-gdi:1.0:DV:00000009999999999001:entities:9000"
DV2_ENTITY="urn:nl-eid-gdi:1.0:DV:00000009999999999002:entities:9001"

# The example configuration as a cluster: the LC's keys, the first care
# provider in rollover (two BSN keys), a second care provider.
CFG="$ZR_TMP/cluster.yaml"
sed -e "s#$ZR_PKI/relay-signing\.#$ZR_PKI/lc-signing.#" \
    -e "s#$ZR_PKI/relay-tls-client\.#$ZR_PKI/lc-tls-client.#" \
    -e "s/^      # - cert: \(.*dv-bsn-2.pem\)$/      - cert: \1/" \
    -e "s/^      #   key: \(.*dv-bsn-2.key\)$/        key: \1/" \
    "$ZR_CONFIG" | awk -v pki="$ZR_PKI" -v dv2="$DV2_ENTITY" '
/^oidc:/ {
  print "  - id: zorgaanbieder-twee"
  print "    name: Zorgaanbieder Twee (TEST)"
  print "    entity_id: " dv2
  print "    oin: \"00000009999999999002\""
  print "    services:"
  print "      - loa: substantial"
  print "        service_uuid: 3b1f6d2e-8a4c-4e0b-9f7d-2c5a1e6b8d90"
  print "    bsn_keys:"
  print "      - cert: " pki "/dv2-bsn-1.pem"
  print "        key: " pki "/dv2-bsn-1.key"
  print ""
  print "cluster:"
  print "  entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999100:entities:9000"
  print "  oin: \"00000009999999999100\""
  print "  name: Leverancier Test (TEST)"
  print ""
}
{ print }' > "$CFG"

zr_check "check-config OK with cluster" "$("$ZR_BIN" check-config "$CFG" >/dev/null 2>&1; echo $?)" "0"

rc=0
"$ZR_BIN" metadata "$CFG" > "$ZR_TMP/cluster.xml" 2>"$ZR_TMP/metadata.err" || rc=$?
zr_check "metadata command exits 0" "$rc" "0"
zr_check "cluster metadata schema-valid" \
  "$(xmllint --nonet --noout --schema "$SCHEMA" "$ZR_TMP/cluster.xml" 2>&1 | tail -1)" "$ZR_TMP/cluster.xml validates"
zr_check "cluster metadata signature (xmlsec1, LC signing certificate)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/lc-signing.pem" $ID_ATTR "$ZR_TMP/cluster.xml" 2>&1 | grep -c '^OK')" "1"
zr_check "cluster metadata signature refused with another certificate" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/relay-signing.pem" $ID_ATTR "$ZR_TMP/cluster.xml" >/dev/null 2>&1; echo $?)" "1"
sed "s#$DV2_ENTITY#urn:nl-eid-gdi:1.0:DV:00000009999999999666:entities:9001#" "$ZR_TMP/cluster.xml" > "$ZR_TMP/tampered.xml"
zr_check "tampered cluster metadata refused (xmlsec1)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/lc-signing.pem" $ID_ATTR "$ZR_TMP/tampered.xml" >/dev/null 2>&1; echo $?)" "1"

# Shape: namespace-aware XPath on the element paths of the ST-SAML example.
MD='urn:oasis:names:tc:SAML:2.0:metadata'
DS='http://www.w3.org/2000/09/xmldsig#'
xp() {
  xmllint --xpath "$1" "$ZR_TMP/cluster.xml" 2>/dev/null || true
}
el() { echo "*[local-name()='$1' and namespace-uri()='$MD']"; }
ED="/$(el EntitiesDescriptor)/$(el EntityDescriptor)"
zr_check "root is md:EntitiesDescriptor" "$(xp "count(/$(el EntitiesDescriptor))")" "1"
zr_check "EntitiesDescriptor has ID, validUntil and Name" \
  "$(xp "count(/$(el EntitiesDescriptor)[@ID and @validUntil and @Name='Leverancier Test (TEST)'])")" "1"
zr_check "one signature, first child of the EntitiesDescriptor" \
  "$(xp "count(//*[local-name()='Signature' and namespace-uri()='$DS'])")/$(xp "local-name(/$(el EntitiesDescriptor)/*[1])")" "1/Signature"
zr_check "three EntityDescriptors (LC + 2 care providers)" "$(xp "count($ED)")" "3"
zr_check "inner descriptors carry no validUntil" "$(xp "count($ED[@validUntil or @cacheDuration])")" "0"
zr_check "LC first" "$(xp "string($ED[1]/@entityID)")" "$LC_ENTITY"
zr_check "LC: two signing KeyDescriptors, no encryption" \
  "$(xp "count($ED[1]/$(el SPSSODescriptor)/$(el KeyDescriptor)[@use='signing'])")/$(xp "count($ED[1]//$(el KeyDescriptor)[@use!='signing'])")" "2/0"
zr_check "care provider 1: two encryption certificates only" \
  "$(xp "count($ED[@entityID='$DV1_ENTITY']/$(el SPSSODescriptor)/$(el KeyDescriptor)[@use='encryption'])")/$(xp "count($ED[@entityID='$DV1_ENTITY']//$(el KeyDescriptor))")" "2/2"
zr_check "care provider 2: one encryption certificate only" \
  "$(xp "count($ED[@entityID='$DV2_ENTITY']/$(el SPSSODescriptor)/$(el KeyDescriptor)[@use='encryption'])")/$(xp "count($ED[@entityID='$DV2_ENTITY']//$(el KeyDescriptor))")" "1/1"
dv2_cert=$(sed -e '1d' -e '$d' "$ZR_PKI/dv2-bsn-1.pem" | tr -d '\n')
zr_check "care provider 2 publishes dv2-bsn-1.pem" \
  "$(xp "string($ED[@entityID='$DV2_ENTITY']//*[local-name()='X509Certificate'])" | tr -d ' \n')" "$dv2_cert"
zr_check "same Artifact ACS (index 0) in all three" \
  "$(xp "count($ED/$(el SPSSODescriptor)/$(el AssertionConsumerService)[@Binding='urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact' and @index='0' and @isDefault='true' and @Location='http://localhost:$RELAY_PORT/saml/acs'])")" "3"
zr_check "no AttributeConsumingService (cluster: ServiceUUID in the request)" \
  "$(xp "count(//$(el AttributeConsumingService))")" "0"
zr_check "no private key material" "$(grep -c 'PRIVATE' "$ZR_TMP/cluster.xml")" "0"

rc=0
msg=$("$ZR_BIN" metadata "$CFG" --care-provider zorgaanbieder-demo 2>&1 >/dev/null) || rc=$?
zr_check "--care-provider refused for a cluster" "$rc/$(echo "$msg" | grep -c 'does not apply to a cluster connection')" "1/1"

# check-config: each broken file names file, line and key exactly.
check_error() {  # check_error NAME FILE EXPECTED-LINE
  local out
  out=$("$ZR_BIN" check-config "$2" 2>&1 >/dev/null || true)
  zr_check "$1: exit 1" "$("$ZR_BIN" check-config "$2" >/dev/null 2>&1; echo $?)" "1"
  zr_check "$1: message" "$(echo "$out" | grep -cxF "$3")" "1"
}
sed 's/^  entity_id: urn:nl-eid-gdi:1.0:LC:/  entity_id: urn:nl-eid-gdi:1.0:DV:/' "$CFG" > "$ZR_TMP/bad-entity.yaml"
line=$(grep -n '^  entity_id: urn:nl-eid-gdi:1.0:DV:' "$ZR_TMP/bad-entity.yaml" | cut -d: -f1)
check_error "bad LC entityID" "$ZR_TMP/bad-entity.yaml" \
  "$ZR_TMP/bad-entity.yaml:$line: cluster.entity_id: must look like urn:nl-eid-gdi:1.0:LC:<OIN, 20 digits>:entities:<4 digits>"

sed 's/^  oin: "00000009999999999100"/  oin: "00000009999999999101"/' "$CFG" > "$ZR_TMP/bad-oin.yaml"
line=$(grep -n "^  entity_id: $LC_ENTITY" "$ZR_TMP/bad-oin.yaml" | cut -d: -f1)
check_error "OIN mismatch" "$ZR_TMP/bad-oin.yaml" \
  "$ZR_TMP/bad-oin.yaml:$line: cluster.entity_id: the OIN in the entity ID (00000009999999999100) differs from oin (00000009999999999101)"

# The direct connection's signing certificate (OIN …9001) is not the LC's.
sed "s#$ZR_PKI/lc-signing\.pem#$ZR_PKI/relay-signing.pem#; s#$ZR_PKI/lc-signing\.key#$ZR_PKI/relay-signing.key#" \
  "$CFG" > "$ZR_TMP/bad-cert.yaml"
line=$(grep -n "cert: $ZR_PKI/relay-signing.pem" "$ZR_TMP/bad-cert.yaml" | cut -d: -f1)
check_error "signing certificate of another OIN" "$ZR_TMP/bad-cert.yaml" \
  "$ZR_TMP/bad-cert.yaml:$line: saml.signing.cert: the signing certificate is for OIN 00000009999999999001 (subject serialNumber), the cluster for OIN 00000009999999999100"

# An empty `cluster:` is not silently a direct connection.
sed -e '/^cluster:/,/^$/{/^cluster:/!d}' "$CFG" > "$ZR_TMP/empty.yaml"
line=$(grep -n '^cluster:' "$ZR_TMP/empty.yaml" | cut -d: -f1)
check_error "empty cluster section" "$ZR_TMP/empty.yaml" \
  "$ZR_TMP/empty.yaml:$line: cluster: must be a mapping with entity_id and oin (or be left out)"

# The relay serves the same cluster metadata at /saml/metadata.
"$ZR_BIN" serve "$CFG" >"$ZR_TMP/relay-cluster.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$RELAY_PORT"
curl -s -o "$ZR_TMP/served.xml" "http://localhost:$RELAY_PORT/saml/metadata"
zr_check "relay serves the cluster EntitiesDescriptor" "$(grep -c '<md:EntitiesDescriptor' "$ZR_TMP/served.xml")" "1"
zr_check "served cluster metadata signature (xmlsec1)" \
  "$(xmlsec1 --verify --pubkey-cert-pem "$ZR_PKI/lc-signing.pem" $ID_ATTR "$ZR_TMP/served.xml" 2>&1 | grep -c '^OK')" "1"
zr_check "cluster: no single care-provider metadata" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$RELAY_PORT/saml/metadata?care_provider=zorgaanbieder-demo")" "404"

# A care provider is a DV: an LC entityID there is refused.
sed "s#^    entity_id: $DV1_ENTITY#    entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999001:entities:9000#" "$CFG" > "$ZR_TMP/lc-dv.yaml"
line=$(grep -n "^    entity_id: urn:nl-eid-gdi:1.0:LC:00000009999999999001" "$ZR_TMP/lc-dv.yaml" | cut -d: -f1)
check_error "care provider with an LC entityID" "$ZR_TMP/lc-dv.yaml" \
  "$ZR_TMP/lc-dv.yaml:$line: care_providers[0].entity_id: must look like urn:nl-eid-gdi:1.0:DV:<OIN, 20 digits>:entities:<4 digits>"

# Test index 9000 is refused in production (other production errors aside).
sed 's/^environment: development/environment: production/' "$CFG" > "$ZR_TMP/prod.yaml"
line=$(grep -n "^  entity_id: $LC_ENTITY" "$ZR_TMP/prod.yaml" | cut -d: -f1)
check_error "test index in production" "$ZR_TMP/prod.yaml" \
  "$ZR_TMP/prod.yaml:$line: cluster.entity_id: entity index 9000 is reserved for test and refused in production"

zr_done
