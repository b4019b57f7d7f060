#!/usr/bin/env bash
# make-pki.sh OUTDIR — a local TEST PKI for zorgrelay (demo, tests).
#
# TEST — NIET ECHT / NOT REAL. Every certificate is issued by a throw-away CA
# made here; nothing chains to PKIoverheid. OINs sit in the subject
# serialNumber attribute, as in PKIoverheid certificates.
#
# Idempotent: files already present in OUTDIR are kept; only missing ones are
# made (a missing CA re-issues everything). Environment knobs for tests:
#   DAYS=N            validity of the leaf certificates (default 730)
#   CA_DAYS=N         validity of a new CA (default 730)
#   NOT_BEFORE=YYYYMMDDHHMMSSZ, NOT_AFTER=YYYYMMDDHHMMSSZ
#                     explicit leaf validity (e.g. already expired); wins over DAYS
# To get expired leaves from an existing CA: copy ca.pem and ca.key into a new
# OUTDIR and run with NOT_BEFORE/NOT_AFTER in the past.
set -euo pipefail

if [ $# -ne 1 ] || [ "${1#-}" != "$1" ]; then
    echo "usage: $0 OUTDIR   (env: DAYS, CA_DAYS, NOT_BEFORE, NOT_AFTER)" >&2
    exit 2
fi
out=$1
DAYS=${DAYS:-730}
CA_DAYS=${CA_DAYS:-730}
NOT_BEFORE=${NOT_BEFORE:-}
NOT_AFTER=${NOT_AFTER:-}
PY=/usr/bin/python3

OIN_TVS=00000009999999999000
OIN_DV=00000009999999999001
OIN_DV2=00000009999999999002   # a second care provider (cluster tests)
OIN_DV3=00000009999999999003   # third and fourth (reload tests)
OIN_DV4=00000009999999999004
OIN_LC=00000009999999999100    # the vendor's cluster connection (LC)
MARK='TEST - NIET ECHT \/ NOT REAL'

FILES="ca.pem ca.key tvs-signing.pem tvs-signing.key tvs-tls.pem tvs-tls.key
relay-signing.pem relay-signing.key relay-tls-client.pem relay-tls-client.key
relay-tls-server.pem relay-tls-server.key dv-bsn-1.pem dv-bsn-1.key dv-bsn-2.pem dv-bsn-2.key
oidc-rs256.key oidc-rs256.pem oidc-rs256-chain.pem oidc-es256.key pgo-client.key pgo-client.jwks.json
store.key pairwise.key lc-signing.pem lc-signing.key lc-tls-client.pem lc-tls-client.key
dv2-bsn-1.pem dv2-bsn-1.key dv3-bsn-1.pem dv3-bsn-1.key dv4-bsn-1.pem dv4-bsn-1.key
dezi-client.pem dezi-client.key dezi-decrypt.pem dezi-decrypt.key
mock-dezi-signing.pem mock-dezi-signing.key mock-dezi-register.pem mock-dezi-register.key"

mkdir -p "$out"
# Parallel test runs may share OUTDIR: one makes the PKI, the others wait.
exec 9>"$out/.make-pki.lock"
flock 9
complete=1
for f in $FILES; do
    [ -s "$out/$f" ] || complete=0
done
if [ $complete = 1 ]; then
    echo "make-pki: $out already holds the complete test PKI; nothing to do"
    exit 0
fi

umask 077
work=$(mktemp -d "$out/.make-pki.XXXXXX")
trap 'rm -rf "$work"' EXIT

# `openssl ca` (not `x509 -req`) because it can set an explicit notBefore /
# notAfter, which the tests need for expired certificates.
mkdir -p "$work/newcerts"
: >"$work/index.txt"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $work
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_any ]
countryName = optional
organizationName = optional
organizationalUnitName = optional
serialNumber = optional
commonName = supplied
[ req ]
distinguished_name = req_dn
prompt = no
[ req_dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[ signing ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, nonRepudiation
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tls_server ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ tls_client ]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ encryption ]
basicConstraints = critical, CA:false
keyUsage = critical, keyEncipherment, dataEncipherment
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
openssl rand -hex 16 >"$work/serial"

new_ca=0
if [ ! -s "$out/ca.pem" ] || [ ! -s "$out/ca.key" ]; then
    new_ca=1
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out "$work/ca.key" 2>/dev/null
    openssl req -new -x509 -config "$work/ca.cnf" -extensions v3_ca -sha256 -days "$CA_DAYS" \
        -key "$work/ca.key" -out "$work/ca.pem" \
        -subj "/C=NL/O=zorgrelay TEST CA - NIET ECHT/OU=$MARK/CN=zorgrelay TEST CA - NIET ECHT"
    chmod 0644 "$work/ca.pem"
    mv "$work/ca.key" "$out/ca.key"
    mv "$work/ca.pem" "$out/ca.pem"
    echo "make-pki: made ca.pem (test root CA)"
fi

validity=(-days "$DAYS")
if [ -n "$NOT_BEFORE" ] || [ -n "$NOT_AFTER" ]; then
    validity=()
    [ -n "$NOT_BEFORE" ] && validity+=(-startdate "$NOT_BEFORE")
    [ -n "$NOT_AFTER" ] && validity+=(-enddate "$NOT_AFTER")
    [ -z "$NOT_AFTER" ] && validity+=(-days "$DAYS")
fi

# leaf NAME KEYTYPE PROFILE OIN CN — key + certificate issued by the CA.
leaf() {
    local name=$1 keytype=$2 profile=$3 oin=$4 cn=$5 subj
    if [ $new_ca = 0 ] && [ -s "$out/$name.pem" ] && [ -s "$out/$name.key" ]; then
        return 0
    fi
    case $keytype in
        rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$work/$name.key" 2>/dev/null ;;
        ec)  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/$name.key" 2>/dev/null ;;
    esac
    subj="/C=NL/O=zorgrelay TEST - NIET ECHT/OU=$MARK"
    [ -n "$oin" ] && subj="$subj/serialNumber=$oin"
    subj="$subj/CN=$cn"
    openssl req -new -config "$work/ca.cnf" -key "$work/$name.key" -out "$work/$name.csr" -subj "$subj"
    openssl ca -batch -config "$work/ca.cnf" -notext -md sha256 "${validity[@]}" \
        -cert "$out/ca.pem" -keyfile "$out/ca.key" -extensions "$profile" \
        -in "$work/$name.csr" -out "$work/$name.pem" 2>/dev/null
    chmod 0644 "$work/$name.pem"
    mv "$work/$name.key" "$out/$name.key"
    mv "$work/$name.pem" "$out/$name.pem"
    echo "make-pki: made $name.pem"
}

leaf tvs-signing       rsa signing    $OIN_TVS "mock TVS signing TEST - NIET ECHT"
leaf tvs-tls           rsa tls_server $OIN_TVS "localhost"
leaf relay-signing     rsa signing    $OIN_DV  "zorgrelay SAML signing TEST - NIET ECHT"
leaf relay-tls-client  rsa tls_client $OIN_DV  "zorgrelay TLS client TEST - NIET ECHT"
leaf relay-tls-server  rsa tls_server $OIN_DV  "localhost"
leaf dv-bsn-1          rsa encryption $OIN_DV  "zorgaanbieder BSN encryption 1 TEST - NIET ECHT"
leaf dv-bsn-2          rsa encryption $OIN_DV  "zorgaanbieder BSN encryption 2 TEST - NIET ECHT"
leaf oidc-rs256        rsa signing    ""       "zorgrelay OIDC RS256 TEST - NIET ECHT"
# Cluster connection (LC): the vendor's keys, and a second care provider.
leaf lc-signing        rsa signing    $OIN_LC  "zorgrelay cluster SAML signing TEST - NIET ECHT"
leaf lc-tls-client     rsa tls_client $OIN_LC  "zorgrelay cluster TLS client TEST - NIET ECHT"
leaf dv2-bsn-1         rsa encryption $OIN_DV2 "zorgaanbieder 2 BSN encryption 1 TEST - NIET ECHT"
leaf dv3-bsn-1         rsa encryption $OIN_DV3 "zorgaanbieder 3 BSN encryption 1 TEST - NIET ECHT"
leaf dv4-bsn-1         rsa encryption $OIN_DV4 "zorgaanbieder 4 BSN encryption 1 TEST - NIET ECHT"
# Professionals through Dezi (issue 4): our private_key_jwt key towards Dezi,
# the key we register at Dezi for the userinfo JWE (RSA-OAEP), and the mock
# Dezi's own keys: id_token/userinfo signing and the register's seal.
leaf dezi-client        rsa signing    $OIN_DV  "zorgrelay Dezi client TEST - NIET ECHT"
leaf dezi-decrypt       rsa encryption $OIN_DV  "zorgrelay Dezi userinfo decryption TEST - NIET ECHT"
leaf mock-dezi-signing  rsa signing    ""       "mock Dezi signing TEST - NIET ECHT"
leaf mock-dezi-register rsa signing    ""       "mock Dezi register seal TEST - NIET ECHT"

# The OIDC signing certificate with its whole chain, the leaf first and the
# root last, as x5c must publish it (NL GOV §Public keys; production refuses
# a signing certificate without it). oidc-rs256.pem stays the leaf alone.
if [ ! -s "$out/oidc-rs256-chain.pem" ] || [ "$out/oidc-rs256.pem" -nt "$out/oidc-rs256-chain.pem" ] ||
   [ "$out/ca.pem" -nt "$out/oidc-rs256-chain.pem" ]; then
    cat "$out/oidc-rs256.pem" "$out/ca.pem" >"$work/oidc-rs256-chain.pem"
    chmod 0644 "$work/oidc-rs256-chain.pem"
    mv "$work/oidc-rs256-chain.pem" "$out/oidc-rs256-chain.pem"
    echo "make-pki: made oidc-rs256-chain.pem (the leaf and the root)"
fi

if [ ! -s "$out/oidc-es256.key" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/oidc-es256.key" 2>/dev/null
    mv "$work/oidc-es256.key" "$out/oidc-es256.key"
    echo "make-pki: made oidc-es256.key"
fi

# The demo PGO's private_key_jwt key and its public JWKS (RFC 7517), with the
# RFC 7638 thumbprint as kid. P-256 SPKI DER ends in the 65-byte point 04||X||Y.
if [ ! -s "$out/pgo-client.key" ] || [ ! -s "$out/pgo-client.jwks.json" ]; then
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/pgo-client.key" 2>/dev/null
    openssl pkey -in "$work/pgo-client.key" -pubout -outform DER -out "$work/pgo-client.pub.der"
    "$PY" - "$work/pgo-client.pub.der" "$work/pgo-client.jwks.json" <<'EOF'
import base64, hashlib, json, sys
der = open(sys.argv[1], "rb").read()
point = der[-65:]
if len(der) != 91 or point[0] != 4:
    sys.exit("unexpected P-256 public key encoding")
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
x, y = b64(point[1:33]), b64(point[33:65])
canon = json.dumps({"crv": "P-256", "kty": "EC", "x": x, "y": y}, separators=(",", ":"), sort_keys=True)
kid = b64(hashlib.sha256(canon.encode()).digest())
jwks = {"keys": [{"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"}]}
with open(sys.argv[2], "w") as f:
    json.dump(jwks, f, indent=2)
    f.write("\n")
EOF
    chmod 0644 "$work/pgo-client.jwks.json"
    mv "$work/pgo-client.key" "$out/pgo-client.key"
    mv "$work/pgo-client.jwks.json" "$out/pgo-client.jwks.json"
    echo "make-pki: made pgo-client.key and pgo-client.jwks.json"
fi

for s in store pairwise; do
    if [ ! -s "$out/$s.key" ]; then
        openssl rand -hex 32 >"$work/$s.key"
        mv "$work/$s.key" "$out/$s.key"
        echo "make-pki: made $s.key (32 random bytes, hex)"
    fi
done

echo "make-pki: test PKI complete in $out (TEST - NIET ECHT / NOT REAL)"
