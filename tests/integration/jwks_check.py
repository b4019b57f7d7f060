#!/usr/bin/env python3
"""Issue 17 §5: the relay's published keys as a portal sees them.

  jwks_check.py ISSUER   prints one JSON object: the Cache-Control of
  discovery and of jwks_uri, and per key with x5c whether x5c[0] holds the
  JWK's own public key, whether each certificate is issued and signed by the
  next, and whether the last one is a self-signed root (NL GOV §Public keys:
  the whole chain up to the root)."""
import base64
import json
import sys

import requests
from authlib.jose import JsonWebKey
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa


def signed_by(cert, issuer):
    """cert names issuer as its issuer and carries its signature (by hand:
    Debian's python3-cryptography predates verify_directly_issued_by)."""
    key = issuer.public_key()
    if cert.issuer != issuer.subject:
        return False
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except InvalidSignature:
        return False
    return True


def main():
    issuer = sys.argv[1]
    d = requests.get(issuer + "/.well-known/openid-configuration", timeout=10)
    j = requests.get(d.json()["jwks_uri"], timeout=10)
    out = {"discovery_cache": d.headers.get("Cache-Control"), "jwks_cache": j.headers.get("Cache-Control"),
           "keys": []}
    for k in j.json()["keys"]:
        entry = {"kid": k.get("kid"), "x5c_len": len(k.get("x5c", []))}
        if k.get("x5c"):
            certs = [x509.load_der_x509_certificate(base64.b64decode(c)) for c in k["x5c"]]
            jwk_pub = JsonWebKey.import_key(k).get_public_key()
            spki = serialization.PublicFormat.SubjectPublicKeyInfo
            entry["leaf_is_the_key"] = certs[0].public_key().public_bytes(serialization.Encoding.DER, spki) == \
                jwk_pub.public_bytes(serialization.Encoding.DER, spki)
            entry["in_chain_order"] = all(signed_by(certs[i], certs[i + 1]) for i in range(len(certs) - 1))
            entry["ends_at_root"] = certs[-1].issuer == certs[-1].subject and signed_by(certs[-1], certs[-1])
        out["keys"].append(entry)
    print(json.dumps(out))


if __name__ == "__main__":
    sys.exit(main())
