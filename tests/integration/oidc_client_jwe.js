// openid-client (v5, an independent OpenID certified relying party library)
// as a portal that wants everything encrypted (issue 17 §1/§2): a request
// object signed with its key and encrypted to the relay's (RSA-OAEP-256,
// A256GCM), pushed to the PAR endpoint with private_key_jwt; the ID token
// encrypted to the portal's key, the UserInfo answer signed then encrypted.
// openid-client decrypts and verifies all of it itself. The browser's part
// is browser_walk.py. Prints one JSON object for test_jwe.sh.
// The encrypted forms as the relay sent them go to RAW_OUT (JSON), for
// Authlib to decrypt and verify too (jwe_interop.py).
// Usage: node oidc_client_jwe.js ISSUER CLIENT_ID PRIVATE_JWKS REDIRECT_URI IDENTITY WALKER RAW_OUT
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const { Issuer, generators } = require('openid-client');

const [ISSUER, CLIENT_ID, JWKS_FILE, REDIRECT, IDENTITY, WALKER, RAW_OUT] = process.argv.slice(2);
const b64json = (s) => JSON.parse(Buffer.from(s, 'base64url').toString());

async function main() {
  const out = {};
  const issuer = await Issuer.discover(ISSUER);
  const client = new issuer.Client({
    client_id: CLIENT_ID,
    redirect_uris: [REDIRECT],
    response_types: ['code'],
    token_endpoint_auth_method: 'private_key_jwt',
    token_endpoint_auth_signing_alg: 'ES256',
    id_token_signed_response_alg: 'ES256',
    id_token_encrypted_response_alg: 'RSA-OAEP',
    id_token_encrypted_response_enc: 'A256GCM',
    userinfo_signed_response_alg: 'ES256',
    userinfo_encrypted_response_alg: 'RSA-OAEP-256',
    userinfo_encrypted_response_enc: 'A256GCM',
    request_object_signing_alg: 'ES256',
    request_object_encryption_alg: 'RSA-OAEP-256',
    request_object_encryption_enc: 'A256GCM',
  }, JSON.parse(fs.readFileSync(JWKS_FILE, 'utf8')));

  // What the relay sent, before openid-client decrypts it.
  const raw = {};
  const decryptIdToken = client.decryptIdToken.bind(client);
  client.decryptIdToken = (t) => { raw.id_token = typeof t === 'string' ? t : t.id_token; return decryptIdToken(t); };
  const decryptJWTUserinfo = client.decryptJWTUserinfo.bind(client);
  client.decryptJWTUserinfo = (b) => { raw.userinfo = b; return decryptJWTUserinfo(b); };

  const state = generators.state(), nonce = generators.nonce(), verifier = generators.codeVerifier();
  const request = await client.requestObject({
    response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, state, nonce,
    code_challenge: generators.codeChallenge(verifier), code_challenge_method: 'S256',
  });
  const hdr = b64json(request.split('.')[0]);
  out.request_object = { segments: request.split('.').length, alg: hdr.alg, enc: hdr.enc, cty: hdr.cty, kid: hdr.kid };
  const par = await client.pushedAuthorizationRequest({ request });
  out.par_request_uri = par.request_uri.startsWith('urn:ietf:params:oauth:request_uri:');
  const url = client.authorizationUrl({ request_uri: par.request_uri });
  const callback = execFileSync(process.env.ZR_PY || '/usr/bin/python3', [WALKER, url, REDIRECT, IDENTITY], { encoding: 'utf8' }).trim();
  const params = client.callbackParams(callback);
  if (params.error) {
    out.oauth_error = params.error;
    console.log(JSON.stringify(out));
    return;
  }
  const tokens = await client.callback(REDIRECT, params, { state, nonce, code_verifier: verifier });
  out.id_token_sent = { segments: raw.id_token.split('.').length, header: b64json(raw.id_token.split('.')[0]) };
  out.id_token_inner_header = b64json(tokens.id_token.split('.')[0]);
  const claims = tokens.claims();
  out.id_token_claims = { aud: claims.aud, nonce_ok: claims.nonce === nonce, sub: !!claims.sub, bsn: 'bsn' in claims };
  out.access_token_typ = b64json(tokens.access_token.split('.')[0]).typ;
  const info = await client.userinfo(tokens);
  out.userinfo = { sub_matches: info.sub === claims.sub, iss: info.iss === ISSUER, aud: info.aud, bsn: 'bsn' in info };
  out.userinfo_sent = { segments: raw.userinfo.split('.').length, header: b64json(raw.userinfo.split('.')[0]) };
  fs.writeFileSync(RAW_OUT, JSON.stringify(raw));
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.log(JSON.stringify({ error: String(e && e.message || e), body: e && e.response && e.response.body && String(e.response.body).slice(0, 300) }));
  process.exit(1);
});
