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

# ---- TVS metadata the relay refuses (issue 12 §2) ----------------------------
# The running relay re-reads tvs.metadata on SIGHUP. Each document below is
# the mock's, changed and signed again with the xmlsec1 command line; each
# refusal has its own log line and leaves the loaded document in use.
MD="$ZR_TMP/mock-tvs-metadata.xml"
cp "$MD" "$ZR_TMP/mock-original.xml"
# remake KEY CERT OUT [ATTR=VALUE|ATTR= ...]: the original with attributes of
# md:EntityDescriptor (and creationInstant) set, or removed when empty,
# signed by KEY/CERT.
remake() {
  local key=$1 cert=$2 out=$3
  shift 3
  $PY - "$ZR_TMP/mock-original.xml" "$ZR_TMP/template.xml" "$@" <<'EOF'
import re, sys
s = open(sys.argv[1]).read()
s = re.sub(r'<ds:Signature\b.*?</ds:Signature>', '', s, count=1, flags=re.S)
head = re.search(r'<md:EntityDescriptor\b[^>]*>', s).group(0)
new = head
for a in sys.argv[3:]:
    name, value = a.split('=', 1)
    if name == 'creationInstant':
        s = re.sub(r'creationInstant="[^"]*"', 'creationInstant="%s"' % value, s)
        continue
    new = re.sub(r' %s="[^"]*"' % name, '', new)
    if value:
        new = new[:-1] + ' %s="%s">' % (name, value)
ident = re.search(r' ID="([^"]+)"', new).group(1)
sig = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
       '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
       '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
       '<ds:Reference URI="#%s"><ds:Transforms>'
       '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
       '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>'
       '<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>'
       '</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature>' % ident)
s = s.replace(head, new + sig, 1)
open(sys.argv[2], 'w').write(s)
EOF
  xmlsec1 --sign --privkey-pem "$key,$cert" $ID_ATTR --output "$out" "$ZR_TMP/template.xml" 2>>"$ZR_TMP/xmlsec1.log"
}
# offer FILE: makes FILE the relay's TVS metadata and sends SIGHUP; returns
# once the relay has judged it (the reload that follows has started).
offer() {
  local before i
  before=$(grep -c 'SIGHUP: reading' "$ZR_TMP/relay.log" || true)
  cp "$1" "$MD"
  kill -HUP "$RELAY_PID"
  for i in $(seq 1 100); do
    [ "$(grep -c 'SIGHUP: reading' "$ZR_TMP/relay.log" || true)" -gt "$before" ] && return 0
    sleep 0.1
  done
  echo "relay did not reload" >&2
}
logged() { grep -cF -- "$1" "$ZR_TMP/relay.log" || true; }
iso() { date -u -d "$1" +%Y-%m-%dT%H:%M:%SZ; }
TVS_KEY="$ZR_PKI/tvs-signing.key"
TVS_CERT="$ZR_PKI/tvs-signing.pem"
TVS_ENTITY=urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9000
LATER=$(iso '+8 days')

# A newer document from TVS's own (pinned) signer: taken.
remake "$TVS_KEY" "$TVS_CERT" "$ZR_TMP/newer.xml" "validUntil=$LATER" "creationInstant=$(iso now)"
loaded=$(logged "loaded $TVS_ENTITY")
offer "$ZR_TMP/newer.xml"
zr_check "newer document from the pinned signer: loaded" "$(logged "loaded $TVS_ENTITY")" "$((loaded + 1))"

# The document it replaced (earlier validUntil), properly signed: refused.
offer "$ZR_TMP/mock-original.xml"
zr_check "older document (earlier validUntil): refused" \
  "$(logged 'keeping the current metadata: TVS metadata rollback refused: its validUntil')" "1"
# Same validUntil, but made before the loaded one: refused.
remake "$TVS_KEY" "$TVS_CERT" "$ZR_TMP/older-made.xml" "validUntil=$LATER" "creationInstant=$(iso '-1 hour')"
offer "$ZR_TMP/older-made.xml"
zr_check "older document (earlier creationInstant): refused" \
  "$(logged 'keeping the current metadata: TVS metadata rollback refused: its creationInstant')" "1"

# Another certificate under the same anchor CA (the relay's own signing
# certificate: another subject) signing "TVS" metadata: refused.
remake "$ZR_PKI/relay-signing.key" "$ZR_PKI/relay-signing.pem" "$ZR_TMP/foreign.xml" "validUntil=$(iso '+9 days')"
offer "$ZR_TMP/foreign.xml"
zr_check "leaf under the anchor CA with another subject: refused" \
  "$(logged 'load failed, keeping the current metadata: TVS metadata signer is not pinned: signed by "CN=zorgrelay SAML signing TEST')" "1"
# No validUntil (a cacheDuration only): refused.
remake "$TVS_KEY" "$TVS_CERT" "$ZR_TMP/no-valid-until.xml" "validUntil=" "cacheDuration=PT6H"
offer "$ZR_TMP/no-valid-until.xml"
zr_check "document without validUntil: refused" \
  "$(logged 'load failed, keeping the current metadata: TVS metadata has no validUntil')" "1"
# Another entityID, signed by TVS's signer: refused.
remake "$TVS_KEY" "$TVS_CERT" "$ZR_TMP/other-entity.xml" "validUntil=$(iso '+9 days')" \
  "entityID=urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9001"
offer "$ZR_TMP/other-entity.xml"
zr_check "wrong entityID: refused" \
  "$(logged "load failed, keeping the current metadata: TVS metadata is for urn:nl-eid-gdi:1.0:RD:00000009999999999000:entities:9001, configured tvs.entity_id is $TVS_ENTITY")" "1"
zr_check "every refusal left the loaded document in use (no other load)" \
  "$(logged "loaded $TVS_ENTITY")" "$((loaded + 1))"
out=$(zr_login "DigiD Substantieel")
zr_check "a login goes through on the document kept" "$(zr_json "$out" 'd["claims"]["acr"]')" \
  "http://eidas.europa.eu/LoA/substantial"
cp "$ZR_TMP/mock-original.xml" "$MD"

# check-config: good file, and a broken one names file, line and key.
zr_check "check-config OK" "$("$ZR_BIN" check-config "$ZR_CONFIG" >/dev/null 2>&1; echo $?)" "0"
sed 's/^    min_loa: substantial$/    min_loa: extreme/' "$ZR_CONFIG" > "$ZR_TMP/broken.yaml"
line=$(grep -n 'min_loa: extreme' "$ZR_TMP/broken.yaml" | head -1 | cut -d: -f1)
msg=$("$ZR_BIN" check-config "$ZR_TMP/broken.yaml" 2>&1 >/dev/null || true)
zr_check "check-config broken: exit 1" "$("$ZR_BIN" check-config "$ZR_TMP/broken.yaml" >/dev/null 2>&1; echo $?)" "1"
zr_check "check-config broken: file:line:key" "$(echo "$msg" | grep -c "broken.yaml:$line: clients\[0\].min_loa")" "1"
zr_check "serve refuses a broken config" "$(timeout 10 "$ZR_BIN" serve "$ZR_TMP/broken.yaml" >/dev/null 2>&1; echo $?)" "1"

zr_done
