#!/usr/bin/env bash
# Issue 17 §3: tls_client_auth (RFC 8705 §2.1) and certificate-bound access
# tokens (§3), over real mutual TLS with the relay ending TLS itself, and
# behind a TLS terminator that forwards the client certificate in a header
# (trusted only from limits.trusted_proxies). Real binary, real Redis, the
# mock TVS, Authlib and curl as the clients.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config

# --- A PKI of the test's own: the relay's server certificate, the CA the
# portals' certificates come from, and a CA the relay does not trust.
P="$ZR_TMP/mtls"
mkdir -p "$P"
ca() {  # ca NAME CN
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" -out "$P/$1.pem" \
    -days 30 -subj "/O=zorgrelay TEST/CN=$2" -addext basicConstraints=critical,CA:TRUE \
    -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
leaf() {  # leaf NAME CA SUBJECT SAN EKU
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" -out "$P/$1.csr" \
    -subj "$3" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\n' "$4" "$5" >"$P/$1.ext"
  openssl x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial -days 30 \
    -extfile "$P/$1.ext" -out "$P/$1.pem" 2>/dev/null
}
ca server-ca "relay server CA"
ca client-ca "portal client CA"
ca rogue-ca "a CA nobody configured"
leaf relay server-ca "/CN=localhost" "DNS:localhost" serverAuth
leaf portal client-ca "/O=Demo Portal TEST/CN=demo-mtls" "DNS:portal.test" clientAuth
leaf other client-ca "/O=Other Portal TEST/CN=other" "DNS:other.test" clientAuth
leaf rogue rogue-ca "/O=Demo Portal TEST/CN=demo-mtls" "DNS:portal.test" clientAuth
leaf server-only client-ca "/O=Demo Portal TEST/CN=demo-mtls" "DNS:portal.test" serverAuth
export REQUESTS_CA_BUNDLE="$P/server-ca.pem"

# --- The relay on https with oidc.mtls; 127.0.0.2 plays the TLS terminator.
ISSUER="https://localhost:$RELAY_PORT"
$PY - "$ZR_CONFIG" "$P" <<'PYEOF'
import sys
p, d = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("public_base_url: http://localhost:", "public_base_url: https://localhost:", 1)
assert s.count("\noidc:\n") == 1 and s.count("\nclients:\n") == 1
s = s.replace("\noidc:\n", "\ntls:\n  cert: %s/relay.pem\n  key: %s/relay.key\nlimits:\n  trusted_proxies: [127.0.0.2/32]\n"
              "oidc:\n  mtls:\n    ca_file: %s/client-ca.pem\n    forwarded_cert_header: X-SSL-Client-Cert\n" % (d, d, d), 1)
s = s.replace("\nclients:\n", """\nclients:
  - client_id: demo-mtls
    name: Demo portal (tls_client_auth)
    care_provider: zorgaanbieder-demo
    auth_method: tls_client_auth
    tls_client_auth_san_dns: portal.test
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
    introspection: true
  - client_id: demo-mtls-dn
    name: Demo portal (tls_client_auth by subject DN)
    care_provider: zorgaanbieder-demo
    auth_method: tls_client_auth
    tls_client_auth_subject_dn: "CN=demo-mtls,O=Demo Portal TEST"
    redirect_uris:
      - http://localhost:8000/callback
    min_loa: substantial
""", 1)
a = "    client_secret_sha256: 17181b22d74645e892b4613a95907148c33a569d563596757d937bec51906e6d"
i = s.index("\n", s.index(a)) + 1
s = s[:i] + '    auth_method_deviation: "TEST: the portal library has no private_key_jwt yet"\n' + s[i:]
open(p, "w").write(s)
PYEOF
zr_start_mock_tvs
zr_start_relay
out_ok() { $PY -c 'import json,sys; json.loads(sys.argv[1])' "$1" 2>/dev/null && echo "$1" || echo '{}'; }

disco=$(curl -fsS --cacert "$P/server-ca.pem" "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: token_endpoint_auth_methods_supported lists tls_client_auth" \
  "$(zr_json "$disco" '"tls_client_auth" in d["token_endpoint_auth_methods_supported"]')" "True"
zr_check "discovery: tls_client_certificate_bound_access_tokens (RFC 8705 §3.3)" \
  "$(zr_json "$disco" 'd.get("tls_client_certificate_bound_access_tokens")')" "True"

zr_check "discovery: client_secret_basic listed while a client uses it" \
  "$(zr_json "$disco" '"client_secret_basic" in d["token_endpoint_auth_methods_supported"]')" "True"
zr_check "start-up: one deviation warning for the client_secret_basic client, with its reason" \
  "$(grep -c 'deviation: client=demo-portal auth_method=client_secret_basic (NL GOV profile: private_key_jwt or tls_client_auth): TEST: the portal library has no private_key_jwt yet' "$ZR_TMP/relay.log")" "1"
zr_check "start-up: no deviation warning for the others" "$(grep -c 'deviation: client=' "$ZR_TMP/relay.log")" "1"

# 1. Login over mutual TLS; the token is bound to the portal's certificate.
thumb=$($PY -c 'import base64,hashlib,ssl,sys; der=ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read()); print(base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode())' "$P/portal.pem")
out=$(out_ok "$($PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-mtls \
  --tls-cert "$P/portal.pem:$P/portal.key" --redirect-uri http://localhost:8000/callback \
  --identity "DigiD Substantieel" --introspect \
  --userinfo-cert "other=$P/other.pem:$P/other.key" --userinfo-cert "rogue=$P/rogue.pem:$P/rogue.key" \
  --userinfo-cert "none=none")")
zr_check "tls_client_auth: tokens over mutual TLS" "$(zr_json "$out" 'd.get("token_ok")')" "True"
zr_check "access token cnf x5t#S256 = SHA-256 of the portal's certificate" \
  "$(zr_json "$out" 'd.get("access_token_claims", {}).get("cnf", {}).get("x5t#S256")')" "$thumb"
zr_check "userinfo over the same certificate: 200" "$(zr_json "$out" 'd.get("userinfo_status")')" "200"
zr_check "userinfo over another certificate of the trusted CA: 401 invalid_token" \
  "$(zr_json "$out" 'd.get("userinfo_with", {}).get("other")')" '[401, "invalid_token"]'
zr_check "userinfo over a certificate with the same subject from another CA: 401 invalid_token" \
  "$(zr_json "$out" 'd.get("userinfo_with", {}).get("rogue")')" '[401, "invalid_token"]'
zr_check "userinfo without a client certificate: 401 invalid_token" \
  "$(zr_json "$out" 'd.get("userinfo_with", {}).get("none")')" '[401, "invalid_token"]'
zr_check "introspection (authenticated by the certificate): active, with cnf" \
  "$(zr_json "$out" '[d.get("introspection", {}).get("active"), d.get("introspection", {}).get("cnf", {}).get("x5t#S256")]')" \
  "[true, \"$thumb\"]"

# 2. The wrong certificate at /token.
token_with() {  # token_with CERT|none [CLIENT] -> the error of a /token call (code from a real login)
  local saved="$ZR_TMP/code-$RANDOM.json" cert=() client=${2:-demo-mtls}
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id "$client" \
    --tls-cert "$P/portal.pem:$P/portal.key" --redirect-uri http://localhost:8000/callback \
    --identity "DigiD Substantieel" --stop-before-token "$saved" >/dev/null
  [ "$1" != none ] && cert=(--cert "$P/$1.pem" --key "$P/$1.key")
  curl -sS --cacert "$P/server-ca.pem" "${cert[@]}" "$ISSUER/token" \
    --data-urlencode grant_type=authorization_code --data-urlencode "client_id=$client" \
    --data-urlencode "code=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$saved")" \
    --data-urlencode "code_verifier=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["verifier"])' "$saved")" \
    --data-urlencode redirect_uri=http://localhost:8000/callback | $PY -c 'import json,sys; print(json.load(sys.stdin).get("error", "tokens"))'
}
zr_check "/token with a certificate of another subject: invalid_client" "$(token_with other)" "invalid_client"
zr_check "/token with the right subject from an untrusted CA: invalid_client" "$(token_with rogue)" "invalid_client"
zr_check "/token with the right subject but no clientAuth usage: invalid_client" "$(token_with server-only)" "invalid_client"
zr_check "/token without a certificate: invalid_client" "$(token_with none)" "invalid_client"
zr_check "/token with the portal's certificate (curl): tokens" "$(token_with portal)" "tokens"
zr_check "tls_client_auth_subject_dn: the certificate with that DN gets tokens" "$(token_with portal demo-mtls-dn)" "tokens"
zr_check "tls_client_auth_subject_dn: another DN is refused" "$(token_with other demo-mtls-dn)" "invalid_client"
zr_check "tls_client_auth_subject_dn: the same DN from an untrusted CA is refused" \
  "$(token_with rogue demo-mtls-dn)" "invalid_client"

# 3. Other clients and browsers on the same listener are not asked to
# change: a client_secret_basic portal logs in without a certificate.
out=$(out_ok "$(zr_login "DigiD Substantieel")")
zr_check "client_secret_basic portal on the same https listener, no certificate: userinfo 200" \
  "$(zr_json "$out" 'd.get("userinfo_status")')" "200"
zr_check "its (unbound) access token has no cnf" "$(zr_json "$out" '"cnf" in d.get("access_token_claims", {"cnf": 1})')" "False"

# 4. Behind a TLS terminator: the certificate in X-SSL-Client-Cert, as
# nginx's $ssl_client_escaped_cert, believed only from 127.0.0.2.
esc() { $PY -c 'import sys,urllib.parse; print(urllib.parse.quote(open(sys.argv[1]).read(), safe=""))' "$P/$1.pem"; }
proxied() {  # proxied FROM_IP HEADER_VALUE [curl args] -> the error of /token (or "tokens")
  local from=$1 hdr=$2 saved="$ZR_TMP/code-$RANDOM.json"; shift 2
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id demo-mtls \
    --tls-cert "$P/portal.pem:$P/portal.key" --redirect-uri http://localhost:8000/callback \
    --identity "DigiD Substantieel" --stop-before-token "$saved" >/dev/null
  curl -sS --interface "$from" --cacert "$P/server-ca.pem" "$@" -H "X-SSL-Client-Cert: $hdr" "$ISSUER/token" \
    --data-urlencode grant_type=authorization_code --data-urlencode client_id=demo-mtls \
    --data-urlencode "code=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["code"])' "$saved")" \
    --data-urlencode "code_verifier=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["verifier"])' "$saved")" \
    --data-urlencode redirect_uri=http://localhost:8000/callback >"$ZR_TMP/proxied.json"
  $PY -c 'import json,sys; print(json.load(open(sys.argv[1])).get("error", "tokens"))' "$ZR_TMP/proxied.json"
}
zr_check "forwarded certificate from the trusted proxy: tokens" "$(proxied 127.0.0.2 "$(esc portal)")" "tokens"
at=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["access_token"])' "$ZR_TMP/proxied.json")
zr_check "its access token is bound to the forwarded certificate" \
  "$($PY -c 'import base64,json,sys; t=sys.argv[1].split(".")[1]; print(json.loads(base64.urlsafe_b64decode(t+"=="))["cnf"]["x5t#S256"])' "$at")" "$thumb"
ui() {  # ui FROM_IP HEADER_VALUE [curl args] -> HTTP status of userinfo
  local from=$1 hdr=$2; shift 2
  curl -sS -o /dev/null -w '%{http_code}' --interface "$from" --cacert "$P/server-ca.pem" "$@" \
    -H "X-SSL-Client-Cert: $hdr" -H "Authorization: Bearer $at" "$ISSUER/userinfo"
}
zr_check "userinfo via the trusted proxy with the certificate forwarded: 200" "$(ui 127.0.0.2 "$(esc portal)")" "200"
zr_check "userinfo via the trusted proxy with another certificate forwarded: 401" "$(ui 127.0.0.2 "$(esc other)")" "401"
zr_check "userinfo from an untrusted peer with the header: ignored, 401" "$(ui 127.0.0.1 "$(esc portal)")" "401"
zr_check "userinfo from an untrusted peer with the header and its own TLS certificate: the TLS one counts, 200" \
  "$(ui 127.0.0.1 "$(esc other)" --cert "$P/portal.pem" --key "$P/portal.key")" "200"
zr_check "/token from an untrusted peer with the header: ignored, invalid_client" \
  "$(proxied 127.0.0.1 "$(esc portal)")" "invalid_client"
zr_check "/token from the trusted proxy with a header that does not parse: invalid_client" \
  "$(proxied 127.0.0.2 "-----BEGIN%20CERTIFICATE-----%0Anot-base64!%0A-----END%20CERTIFICATE-----")" "invalid_client"
zr_check "/token from the trusted proxy with a certificate of an untrusted CA: invalid_client" \
  "$(proxied 127.0.0.2 "$(esc rogue)")" "invalid_client"
zr_check "/token from the trusted proxy: its own TLS certificate does not count, the header does" \
  "$(proxied 127.0.0.2 "$(esc other)" --cert "$P/portal.pem" --key "$P/portal.key")" "invalid_client"
zr_check "the refusals are logged without the certificate" \
  "$(grep -c 'BEGIN CERTIFICATE\|BEGIN%20CERTIFICATE' "$ZR_TMP/relay.log")" "0"

# 5. Configuration: FILE:LINE errors.
cfgerr() { "$ZR_BIN" check-config "$1" 2>&1 || true; }
cp "$ZR_CONFIG" "$ZR_TMP/bad.yaml"
sed -i 's/    tls_client_auth_san_dns: portal.test/    tls_client_auth_san_dns: portal.test\n    tls_client_auth_subject_dn: CN=demo-mtls/' "$ZR_TMP/bad.yaml"
zr_check "two tls_client_auth_* keys: FILE:LINE error" \
  "$(cfgerr "$ZR_TMP/bad.yaml" | grep -c 'bad.yaml:[0-9]*: clients\[0\].tls_client_auth_san_dns: set one of')" "1"
cp "$ZR_CONFIG" "$ZR_TMP/bad.yaml"
sed -i '/^  mtls:/,/forwarded_cert_header/d' "$ZR_TMP/bad.yaml"
zr_check "tls_client_auth without oidc.mtls.ca_file: FILE:LINE error at its auth_method" \
  "$(cfgerr "$ZR_TMP/bad.yaml" | grep -c 'bad.yaml:[0-9]*: clients\[0\].auth_method: tls_client_auth needs oidc.mtls.ca_file')" "1"
cp "$ZR_CONFIG" "$ZR_TMP/bad.yaml"
sed -i '/trusted_proxies: \[127.0.0.2\/32\]/d; s/^limits:$//' "$ZR_TMP/bad.yaml"
zr_check "forwarded_cert_header without limits.trusted_proxies: FILE:LINE error" \
  "$(cfgerr "$ZR_TMP/bad.yaml" | grep -c 'bad.yaml:[0-9]*: oidc.mtls.forwarded_cert_header: needs limits.trusted_proxies')" "1"
zr_done
