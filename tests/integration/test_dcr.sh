#!/usr/bin/env bash
# Dynamic client registration (RFC 7591) and its management (RFC 7592),
# issue 17 §4: the operator issues an initial access token (`zorgrelay
# clients token`), a portal registers itself with private_key_jwt and logs a
# patient in (Authlib), and still does after a reload and a restart; it
# reads, updates and deletes its registration; a deleted client is refused
# by a second relay process that shares the directory too. Hostile cases:
# no/invalid/expired/used initial token, bad metadata, another client's
# registration access token, a PUT that changes client_id. Real binary,
# real Redis, the mock TVS.
source "$(dirname "$0")/lib.sh"
zr_pki
zr_start_redis
zr_write_config
REGDIR="$ZR_TMP/registered"
mkdir -p "$REGDIR"
sed -i "s#^oidc:#oidc:\n  registration_dir: $REGDIR#" "$ZR_CONFIG"
echo "pid_file: $ZR_TMP/relay.pid" >> "$ZR_CONFIG"
zr_start_mock_tvs
zr_start_relay
KID=$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["keys"][0].get("kid",""))' "$ZR_PKI/pgo-client.jwks.json")
SECRETS="$ZR_TMP/secrets.txt"
: > "$SECRETS"

token() { "$ZR_BIN" clients token --config "$ZR_CONFIG" --care-provider "${1:-zorgaanbieder-demo}" 2>>"$ZR_TMP/cli.log"; }
# reg METHOD URL TOKEN [JSON] -> "STATUS BODY" (the body compact, one line)
reg() {
  local auth=() body
  [ -n "$3" ] && auth=(-H "Authorization: Bearer $3")
  body=$(curl -s -o "$ZR_TMP/reg.out" -w '%{http_code}' -X "$1" "${auth[@]}" -H 'Content-Type: application/json' \
    ${4:+--data-binary "$4"} "$2")
  echo "$body $(tr -d '\n' < "$ZR_TMP/reg.out")"
}
status() { cut -d' ' -f1 <<<"$1"; }
field() { $PY -c 'import json,sys; s=sys.argv[1].split(" ",1); d=json.loads(s[1]) if len(s)>1 and s[1] else {}; print(eval(sys.argv[2]))' "$@"; }
meta() {  # meta [python dict updates] -> registration metadata (private_key_jwt, the PGO's keys)
  $PY - "$ZR_PKI/pgo-client.jwks.json" "${1:-{\}}" <<'PYEOF'
import json, sys
m = {"client_name": "Registered PGO", "redirect_uris": ["http://127.0.0.1:8001/callback"],
     "token_endpoint_auth_method": "private_key_jwt", "jwks": json.load(open(sys.argv[1])),
     "grant_types": ["authorization_code"], "response_types": ["code"]}
for k, v in json.loads(sys.argv[2]).items():
    if v is None:
        m.pop(k, None)
    else:
        m[k] = v
print(json.dumps(m))
PYEOF
}
login() {  # login CLIENT_ID [ISSUER] -> e2e JSON
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "${2:-$ISSUER}" --client-id "$1" \
    --private-key "$ZR_PKI/pgo-client.key" --kid="$KID" --redirect-uri http://127.0.0.1:8001/callback \
    --identity "DigiD Substantieel" --secrets-out "$SECRETS" || true
}

# 1. Discovery names the endpoint.
disco=$(curl -sf "$ISSUER/.well-known/openid-configuration")
zr_check "discovery: registration_endpoint" "$(zr_json "$disco" 'd.get("registration_endpoint")')" "$ISSUER/register"

# 2. The operator's initial access token: printed once, only its keyed hash kept.
T1=$(token)
echo "$T1" >> "$SECRETS"
zr_check "clients token: one token on stdout" "$(wc -l <<<"$T1") ${#T1}" "1 43"
zr_check "clients token: the file is named by a keyed hash, the token is in no file" \
  "$(ls "$REGDIR/tokens" | grep -c '^[0-9a-f]\{64\}\.json$') $(grep -rlF -- "$T1" "$REGDIR" | wc -l)" "1 0"
zr_check "clients token: an unknown care provider is refused" \
  "$("$ZR_BIN" clients token --config "$ZR_CONFIG" --care-provider nobody >/dev/null 2>&1; echo $?)" "1"

# 3. Hostile registrations; none of them uses up T1.
zr_check "no initial access token: 401" "$(status "$(reg POST "$ISSUER/register" "" "$(meta)")")" "401"
r=$(reg POST "$ISSUER/register" "not-a-token" "$(meta)")
zr_check "an invalid initial access token: 401 invalid_token" "$(status "$r") $(field "$r" 'd.get("error")')" "401 invalid_token"
h() { local r; r=$(reg POST "$ISSUER/register" "$T1" "$(meta "$1")"); echo "$(status "$r") $(field "$r" 'd.get("error")')"; }
zr_check "redirect_uri with a fragment: invalid_redirect_uri" \
  "$(h '{"redirect_uris": ["http://127.0.0.1:8001/cb#x"]}')" "400 invalid_redirect_uri"
zr_check "http redirect_uri off loopback: invalid_redirect_uri" \
  "$(h '{"redirect_uris": ["http://portal.example/cb"]}')" "400 invalid_redirect_uri"
zr_check "no redirect_uris: invalid_redirect_uri" "$(h '{"redirect_uris": null}')" "400 invalid_redirect_uri"
zr_check "auth method none: invalid_client_metadata" \
  "$(h '{"token_endpoint_auth_method": "none"}')" "400 invalid_client_metadata"
zr_check "auth method client_secret_post: invalid_client_metadata" \
  "$(h '{"token_endpoint_auth_method": "client_secret_post"}')" "400 invalid_client_metadata"
zr_check "grant type client_credentials: invalid_client_metadata" \
  "$(h '{"grant_types": ["authorization_code", "client_credentials"]}')" "400 invalid_client_metadata"
zr_check "response type token: invalid_client_metadata" \
  "$(h '{"response_types": ["token"]}')" "400 invalid_client_metadata"
zr_check "jwks_uri: invalid_client_metadata" \
  "$(h '{"jwks": null, "jwks_uri": "https://portal.example/jwks"}')" "400 invalid_client_metadata"
zr_check "jwks and jwks_uri both: invalid_client_metadata" \
  "$(h '{"jwks_uri": "https://portal.example/jwks"}')" "400 invalid_client_metadata"
zr_check "private_key_jwt without jwks: invalid_client_metadata" "$(h '{"jwks": null}')" "400 invalid_client_metadata"
zr_check "a private key in jwks: invalid_client_metadata" \
  "$(h "{\"jwks\": {\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", \"x\": \"a\", \"y\": \"b\", \"d\": \"c\"}]}}")" \
  "400 invalid_client_metadata"
zr_check "an unknown id_token alg: invalid_client_metadata" \
  "$(h '{"id_token_signed_response_alg": "none"}')" "400 invalid_client_metadata"
zr_check "a software statement: invalid_software_statement" \
  "$(h '{"software_statement": "eyJhbGciOiJub25lIn0.e30."}')" "400 invalid_software_statement"
zr_check "not JSON: invalid_client_metadata" \
  "$(status "$(reg POST "$ISSUER/register" "$T1" "redirect_uris=x")")" "400"
zr_check "the refusals wrote no client" "$(ls "$REGDIR" | grep -c '\.yaml$' || true)" "0"

# 4. Register; log in.
r=$(reg POST "$ISSUER/register" "$T1" "$(meta)")
[ "$(status "$r")" = 201 ] || echo "registration: $r" >&2
CID=$(field "$r" 'd.get("client_id")')
RAT=$(field "$r" 'd.get("registration_access_token")')
RURI=$(field "$r" 'd.get("registration_client_uri")')
echo "$RAT" >> "$SECRETS"
zr_check "registered: 201 with client_id, issued_at, registration token and URI" \
  "$(status "$r") $(field "$r" '[bool(d.get(k)) for k in ("client_id","client_id_issued_at","registration_access_token","registration_client_uri")]')" \
  "201 [True, True, True, True]"
zr_check "registered: metadata as served" \
  "$(field "$r" '[d.get("token_endpoint_auth_method"), d.get("grant_types"), d.get("response_types"), d.get("redirect_uris"), "client_secret" in d]')" \
  "['private_key_jwt', ['authorization_code'], ['code'], ['http://127.0.0.1:8001/callback'], False]"
zr_check "registration_client_uri" "$RURI" "$ISSUER/register?client_id=$CID"
zr_check "the client's file: named by its client_id, bsn_entitled false, no token in it" \
  "$(ls "$REGDIR" | grep -c "^$CID\.yaml$") $(grep -c '^  bsn_entitled: false$' "$REGDIR/$CID.yaml") $(grep -cF -- "$RAT" "$REGDIR/$CID.yaml")" \
  "1 1 0"
zr_check "the initial access token is used up" "$(ls "$REGDIR/tokens" | wc -l)" "0"
r=$(reg POST "$ISSUER/register" "$T1" "$(meta)")
zr_check "the same initial access token again: 401" "$(status "$r") $(field "$r" 'd.get("error")')" "401 invalid_token"
out=$(login "$CID")
zr_check "the registered client logs a patient in" "$(zr_json "$out" 'd.get("token_ok")')" "True"
zr_check "... and never receives the BSN" "$(zr_json "$out" '"bsn" in d.get("claims", {})')" "False"

# 5. Reload, restart: still there.
"$ZR_BIN" reload "$ZR_CONFIG" >/dev/null
out=$(login "$CID")
zr_check "after a reload: logs in" "$(zr_json "$out" 'd.get("token_ok")')" "True"
zr_restart_relay
out=$(login "$CID")
zr_check "after a restart: logs in" "$(zr_json "$out" 'd.get("token_ok")')" "True"

# 6. RFC 7592: read, update.
r=$(reg GET "$RURI" "$RAT")
zr_check "read: 200, its client_id and registration access token" \
  "$(status "$r") $(field "$r" 'd.get("client_id")') $(field "$r" 'd.get("registration_access_token")')" "200 $CID $RAT"
# A second relay process on the same directory and Redis.
P2=$(zr_free_port)
sed -e "s#^listen: 127.0.0.1:$RELAY_PORT#listen: 127.0.0.1:$P2#" -e "s#^pid_file: .*#pid_file: $ZR_TMP/relay2.pid#" "$ZR_CONFIG" > "$ZR_TMP/relay2.yaml"
"$ZR_BIN" serve "$ZR_TMP/relay2.yaml" >"$ZR_TMP/relay2.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$P2"
authz2() {
  curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/authorize?client_id=$1&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A8001%2Fcallback&state=s1234567&nonce=n1234567&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGlSstw-cM&code_challenge_method=S256"
}
T2=$(token)
echo "$T2" >> "$SECRETS"
r=$(reg POST "$ISSUER/register" "$T2" "$(meta '{"token_endpoint_auth_method": "client_secret_basic", "jwks": null}')")
CID2=$(field "$r" 'd.get("client_id")')
RAT2=$(field "$r" 'd.get("registration_access_token")')
SEC2=$(field "$r" 'd.get("client_secret")')
printf '%s\n%s\n' "$RAT2" "$SEC2" >> "$SECRETS"
zr_check "a second client, client_secret_basic: a secret of 43 characters, stored as its hash" \
  "$(status "$r") ${#SEC2} $(grep -c client_secret_sha256 "$REGDIR/$CID2.yaml") $(grep -cF -- "$SEC2" "$REGDIR/$CID2.yaml")" \
  "201 43 1 0"
zr_check "the other process picks up a client registered here at its first request" \
  "$(authz2 "$CID2") $(grep -c "client $CID2 was registered by another relay process: reloading" "$ZR_TMP/relay2.log")" "200 1"
zr_check "another client's registration access token: 401" "$(status "$(reg GET "$RURI" "$RAT2")")" "401"
zr_check "... nor for an update" "$(status "$(reg PUT "$RURI" "$RAT2" "$(meta "{\"client_id\": \"$CID\"}")")")" "401"
zr_check "... nor for a delete" "$(status "$(reg DELETE "$RURI" "$RAT2")")" "401"
zr_check "no token: 401" "$(status "$(reg GET "$RURI" "")")" "401"
r=$(reg PUT "$RURI" "$RAT" "$(meta "{\"client_id\": \"$CID2\"}")")
zr_check "PUT changing client_id: 400 invalid_client_metadata" "$(status "$r") $(field "$r" 'd.get("error")')" \
  "400 invalid_client_metadata"
r=$(reg PUT "$RURI" "$RAT" "$(meta)")
zr_check "PUT without client_id: 400" "$(status "$r")" "400"
r=$(reg PUT "$RURI" "$RAT" "$(meta "{\"client_id\": \"$CID\", \"registration_access_token\": \"x\"}")")
zr_check "PUT with registration_access_token: 400 invalid_request" "$(status "$r") $(field "$r" 'd.get("error")')" \
  "400 invalid_request"
r=$(reg PUT "$RURI" "$RAT" "$(meta "{\"client_id\": \"$CID\", \"redirect_uris\": [\"http://127.0.0.1:8001/callback#frag\"]}")")
zr_check "PUT with a bad redirect_uri: 400 invalid_redirect_uri" "$(status "$r") $(field "$r" 'd.get("error")')" \
  "400 invalid_redirect_uri"
# The operator entitles it (its file), then an update keeps that choice.
sed -i 's/^  bsn_entitled: false$/  bsn_entitled: true/' "$REGDIR/$CID.yaml"
r=$(reg PUT "$RURI" "$RAT" "$(meta "{\"client_id\": \"$CID\", \"client_name\": \"Renamed PGO\", \"redirect_uris\": [\"http://127.0.0.1:8001/callback\", \"http://127.0.0.1:8001/other\"]}")")
zr_check "PUT: 200 with the new metadata" "$(status "$r") $(field "$r" 'd.get("client_name")') $(field "$r" 'len(d.get("redirect_uris"))')" \
  "200 Renamed PGO 2"
zr_check "PUT kept the operator's bsn_entitled" "$(grep -c '^  bsn_entitled: true$' "$REGDIR/$CID.yaml")" "1"
out=$(login "$CID")
zr_check "after the update: logs in, now with the BSN the operator entitled" \
  "$(zr_json "$out" 'd.get("token_ok")') $(zr_json "$out" '"bsn" in d.get("claims", {})')" "True True"

zr_check "the other process serves the client" "$(authz2 "$CID")" "200"
zr_check "... with the update made here (its second redirect URI)" \
  "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/authorize?client_id=$CID&response_type=code&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A8001%2Fother&state=s1234567&nonce=n1234567&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGlSstw-cM&code_challenge_method=S256") $(grep -c "client $CID was updated by another relay process: reloading" "$ZR_TMP/relay2.log")" \
  "200 1"
# 7. Delete.
r=$(reg DELETE "$RURI" "$RAT")
zr_check "delete: 204" "$(status "$r")" "204"
zr_check "delete: its file is gone" "$(ls "$REGDIR" | grep -c "^$CID\.yaml$" || true)" "0"
out=$(login "$CID")
zr_check "deleted: cannot log in here" "$(zr_json "$out" 'd.get("token_ok")')" "None"
zr_check "deleted: refused by the other process too, before it reloads" "$(authz2 "$CID")" "400"
zr_check "deleted: its registration access token no longer works" "$(status "$(reg GET "$RURI" "$RAT")")" "401"
zr_check "the second client is untouched" "$(status "$(reg GET "$ISSUER/register?client_id=$CID2" "$RAT2")")" "200"

# 8. An expired initial access token.
T3=$(token)
echo "$T3" >> "$SECRETS"
f=$(ls "$REGDIR"/tokens/*.json)
$PY -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d["expires_at"]=d["created_at"]-1; json.dump(d,open(p,"w"))' "$f"
r=$(reg POST "$ISSUER/register" "$T3" "$(meta)")
zr_check "an expired initial access token: 401, and removed" "$(status "$r") $(ls "$REGDIR/tokens" | wc -l)" "401 0"

# 9. Metadata cannot write YAML of their own: a client_name with quotes, a
#    line break and a key after it stays one string, and the BSN stays off.
T4=$(token)
echo "$T4" >> "$SECRETS"
NAME=$'PGO "x"\n  bsn_entitled: true\nclient:\n\u00e9\U0001F600'
r=$(reg POST "$ISSUER/register" "$T4" "$(meta "$($PY -c 'import json,sys; print(json.dumps({"client_name": sys.argv[1]}))' "$NAME")")")
CID4=$(field "$r" 'd.get("client_id")')
[ "$(status "$r")" = 201 ] || echo "hostile name: $r" >&2
zr_check "a hostile client_name: registered, the name as sent, bsn_entitled false in the file" \
  "$(status "$r") $(field "$r" 'd.get("client_name") == sys.argv[3]' "$NAME") $(grep -c '^  bsn_entitled: false$' "$REGDIR/$CID4.yaml") $(grep -c '^ *bsn_entitled:' "$REGDIR/$CID4.yaml")" \
  "201 True 1 1"

# 9b. Every client property registration offers is the configuration's:
#     ID token and UserInfo encrypted to a key of the client's jwks (OIDC
#     Registration §2), tls_client_auth with its subject (RFC 8705 §2.1.2),
#     judged by the same reader.
ENC_JWKS=$($PY - "$ZR_PKI/pgo-client.jwks.json" "$ZR_SOURCE_DIR/tests/data/saml/sp/test-key-03.pem" <<'PYEOF'
import json, sys
from authlib.jose import JsonWebKey
keys = json.load(open(sys.argv[1]))["keys"]
enc = JsonWebKey.import_key(open(sys.argv[2]).read(), {"kid": "portal-enc", "use": "enc"})
print(json.dumps({"keys": keys + [enc.as_dict(is_private=False)]}))
PYEOF
)
T5=$(token)
echo "$T5" >> "$SECRETS"
# h5 METADATA-UPDATES WORD: "STATUS ERROR True" when error_description names WORD
h5() { local r; r=$(reg POST "$ISSUER/register" "$T5" "$(meta "$1")"); echo "$(status "$r") $(field "$r" 'd.get("error")') $(field "$r" 'sys.argv[3] in (d.get("error_description") or "")' "$2")"; echo "$r" >> "$ZR_TMP/h5.log"; }
zr_check "userinfo encryption without an RSA key in jwks: invalid_client_metadata, said why" \
  "$(h5 '{"userinfo_encrypted_response_alg": "RSA-OAEP-256"}' 'no RSA key to encrypt to')" "400 invalid_client_metadata True"
zr_check "id_token enc A128CBC-HS256 (weaker than A256GCM): invalid_client_metadata" \
  "$(h5 "{\"id_token_encrypted_response_alg\": \"RSA-OAEP\", \"id_token_encrypted_response_enc\": \"A128CBC-HS256\", \"jwks\": $ENC_JWKS}" id_token_encrypted_response_enc)" \
  "400 invalid_client_metadata True"
zr_check "tls_client_auth without the relay's oidc.mtls: invalid_client_metadata, said why" \
  "$(h5 '{"token_endpoint_auth_method": "tls_client_auth", "jwks": null, "tls_client_auth_san_dns": "portal.example"}' oidc.mtls.ca_file)" \
  "400 invalid_client_metadata True"
r=$(reg POST "$ISSUER/register" "$T5" "$(meta "{\"userinfo_encrypted_response_alg\": \"RSA-OAEP-256\", \"id_token_encrypted_response_alg\": \"RSA-OAEP\", \"jwks\": $ENC_JWKS}")")
CID5=$(field "$r" 'd.get("client_id")')
[ "$(status "$r")" = 201 ] || echo "encrypted answers: $r" >&2
zr_check "encrypted answers: registered, the answer names alg and enc (A256GCM by default)" \
  "$(status "$r") $(field "$r" '[d.get(k) for k in ("userinfo_encrypted_response_alg", "userinfo_encrypted_response_enc", "id_token_encrypted_response_alg", "id_token_encrypted_response_enc")]')" \
  "201 ['RSA-OAEP-256', 'A256GCM', 'RSA-OAEP', 'A256GCM']"
zr_check "encrypted answers: in the client's file" \
  "$(grep -c '^  \(userinfo\|id_token\)_encrypted_response_alg: "RSA-OAEP\(-256\)\?"$' "$REGDIR/$CID5.yaml")" "2"

# 9c. The way forward on the relay's pages (docs/pages.md): client_uri is
#     the client's home_page (required outside development),
#     initiate_login_uri its "Opnieuw inloggen".
T6=$(token)
echo "$T6" >> "$SECRETS"
r=$(reg POST "$ISSUER/register" "$T6" "$(meta '{"client_uri": "https://pgo.example.nl/", "initiate_login_uri": "https://pgo.example.nl/login"}')")
CID6=$(field "$r" 'd.get("client_id")')
[ "$(status "$r")" = 201 ] || echo "client_uri: $r" >&2
zr_check "client_uri and initiate_login_uri: registered, in the answer and as home_page in the file" \
  "$(status "$r") $(field "$r" 'd.get("client_uri"), d.get("initiate_login_uri")') $(grep -c '^  home_page: "https://pgo.example.nl/"$' "$REGDIR/$CID6.yaml")" \
  "201 ('https://pgo.example.nl/', 'https://pgo.example.nl/login') 1"

# 10. A client file broken by hand: FILE:LINE from check-config, a reload is refused.
cp "$REGDIR/$CID2.yaml" "$ZR_TMP/keep.yaml"
sed -i 's#^    - "http://127.0.0.1:8001/callback"$#    - "http://127.0.0.1:8001/callback\#x"#' "$REGDIR/$CID2.yaml"
line=$(grep -n '8001/callback#x' "$REGDIR/$CID2.yaml" | cut -d: -f1)
zr_check "check-config names the file and line" \
  "$("$ZR_BIN" check-config "$ZR_CONFIG" 2>&1 | grep -c "^$REGDIR/$CID2.yaml:$line: client.redirect_uris\[0\]: must not contain a fragment")" "1"
zr_check "a reload is refused" "$("$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1; echo $?)" "1"
cp "$ZR_TMP/keep.yaml" "$REGDIR/$CID2.yaml"
zr_check "restored: the reload is taken" "$("$ZR_BIN" reload "$ZR_CONFIG" >/dev/null 2>&1; echo $?)" "0"

# 11. No token, secret or registration token in a log line.
leaks=0
while read -r s; do
  [ -n "$s" ] && grep -qF -- "$s" "$ZR_TMP"/relay*.log "$ZR_TMP/cli.log" && { echo "a secret in a log: ${s:0:6}..." >&2; leaks=$((leaks+1)); }
done < "$SECRETS"
zr_check "no token or secret in a log" "$leaks" "0"
zr_check "registrations logged with client and care provider" \
  "$(grep -c "client $CID registered for care provider zorgaanbieder-demo" "$ZR_TMP/relay.log")" "1"

zr_done
