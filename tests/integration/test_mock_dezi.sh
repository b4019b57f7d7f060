#!/usr/bin/env bash
# The mock Dezi (`zorgrelay mock-dezi`, issue 4) driven by an independent
# client (Authlib, tests/integration/dezi_client.py) through the whole flow of
# the Koppelvlakspecificatie Dezi v0.7 for every built-in test professional:
# id_token, userinfo JWE decrypted with the relay's key, envelope and
# verklaring signatures (verklaring via its jku), claims, status service and
# the signed revocation list; refusals (PKCE, code reuse, client, redirect,
# cancel, bearer, client assertion); production and a missing section refused.
source "$(dirname "$0")/lib.sh"
zr_pki
REDIS_PORT=$(zr_free_port) # not started: the mock needs no Redis
zr_write_config # picks DEZI_PORT for the mock Dezi
DEZI="http://localhost:$DEZI_PORT"
CALLBACK="$ISSUER/dezi/callback"
CLIENT_ID=zorgrelay-demo

dezi() {  # dezi [args] -> JSON
  $PY "$ZR_SOURCE_DIR/tests/integration/dezi_client.py" --issuer "$DEZI" --client-id "$CLIENT_ID" \
    --redirect-uri "$CALLBACK" --decrypt-key "$ZR_PKI/dezi-decrypt.key" "$@"
}

# ---- refused before serving ----
sed -e 's/^environment: .*/environment: production/' "$ZR_CONFIG" >"$ZR_TMP/production.yaml"
rc=0; "$ZR_BIN" mock-dezi "$ZR_TMP/production.yaml" >"$ZR_TMP/production.out" 2>&1 || rc=$?
zr_check "production configuration refused" \
  "$rc $(grep -cE 'mock Dezi is refused in production|environment is production' "$ZR_TMP/production.out")" "1 1"
$PY - "$ZR_CONFIG" "$ZR_TMP/no-mock.yaml" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[2], "w").write(re.sub(r"(?ms)^mock_dezi:\n(?:[ #].*\n|\n)*", "", text))
EOF
rc=0; "$ZR_BIN" mock-dezi "$ZR_TMP/no-mock.yaml" >"$ZR_TMP/no-mock.out" 2>&1 || rc=$?
zr_check "configuration without mock_dezi refused" \
  "$rc $(grep -c 'no `mock_dezi` section' "$ZR_TMP/no-mock.out")" "1 1"

"$ZR_BIN" mock-dezi "$ZR_CONFIG" >"$ZR_TMP/mock-dezi.log" 2>&1 &
DEZI_PID=$!
ZR_PIDS+=("$DEZI_PID")
zr_wait_port "$DEZI_PORT"

# ---- the whole flow for every test professional ----
# index rol_code ura status shape
expect=(
  "0 01.015 90000001 actief flat"
  "1 17.000 90000002 actief flat"
  "2 30.000 90000003 actief flat"
  "3 00.000 90000001 actief flat"
  "4 01.015 90000001 ingetrokken flat"
  "5 01.015 90000001 actief relations"
)
subs=""
for line in "${expect[@]}"; do
  read -r i rol ura status shape <<<"$line"
  out=$(dezi --professional "$i") || { zr_check "professional $i flow" "$out" ok; continue; }
  v='d["verklaring"]'
  zr_check "p$i: discovery (code, pairwise, RS256, S256, openid)" \
    "$(zr_json "$out" 'd["discovery"]["response_types_supported"]+d["discovery"]["subject_types_supported"]+d["discovery"]["id_token_signing_alg_values_supported"]+d["discovery"]["code_challenge_methods_supported"]+d["discovery"]["scopes_supported"]')" \
    '["code", "pairwise", "RS256", "S256", "openid"]'
  zr_check "p$i: test banner, page single use" "$(zr_json "$out" '[d["page_test_banner"], d["page_single_use"]]')" "[true, true]"
  zr_check "p$i: id_token valid, without professional data" "$(zr_json "$out" 'd["id_token"]["has_professional_data"]')" False
  zr_check "p$i: userinfo is application/jwt" "$(zr_json "$out" 'd["userinfo_content_type"]')" application/jwt
  zr_check "p$i: JWE header" "$(zr_json "$out" 'd["jwe_header"]')" \
    '{"alg": "RSA-OAEP", "enc": "A256CBC-HS512", "typ": "JWT", "cty": "JWT"}'
  zr_check "p$i: envelope (loa_authn, schema, verklaring_id)" \
    "$(zr_json "$out" '[d["envelope"]["loa_authn"], d["envelope"]["json_schema"], d["envelope"]["verklaring_id"] == '"$v"'["verklaring_id"]]')" \
    '["http://eidas.europa.eu/LoA/high", "https://www.dezi.nl/json_schemas/v1/userinfo.json", true]'
  zr_check "p$i: envelope without jku, its sub the id_token's" \
    "$(zr_json "$out" '[d["envelope"]["header_names_key_set"], d["envelope"]["sub_is_id_token_sub"]]')" "[false, true]"
  zr_check "p$i: verklaring signed by the register key (jku+kid), not the id_token key" \
    "$(zr_json "$out" '[d["verklaring_has_kid"], d["verklaring_signed_by_id_token_key"]]')" "[true, false]"
  zr_check "p$i: no real person (NIET ECHT, 9000 numbers)" \
    "$(zr_json "$out" '"NIET ECHT" in '"$v"'["achternaam"] and '"$v"'["dezi_nummer"].startswith("9000")')" True
  zr_check "p$i: loa_dezi high" "$(zr_json "$out" "$v"'["loa_dezi"]')" "http://eidas.europa.eu/LoA/high"
  if [ "$shape" = flat ]; then
    zr_check "p$i: rol_code, URA, bron" \
      "$(zr_json "$out" '['"$v"'["rol_code"], '"$v"'["abonnee_nummer"], '"$v"'["rol_code_bron"].startswith("http://www.dezi.nl/rol_code_bron/"), bool('"$v"'["rol_naam"]), bool('"$v"'["abonnee_naam"])]')" \
      "[\"$rol\", \"$ura\", true, true, true]"
    zr_check "p$i: v0.7 schema" "$(zr_json "$out" "$v"'["json_schema"]')" "https://www.dezi.nl/json_schemas/verklaring_v1.json"
  else
    zr_check "p$i: 2024 shape relations[]" \
      "$(zr_json "$out" '['"$v"'["relations"][0]["ura"], '"$v"'["relations"][0]["roles"], "rol_code" in '"$v"']')" \
      "[\"$ura\", [\"$rol\"], false]"
  fi
  zr_check "p$i: status service" "$(zr_json "$out" 'd["status"]')" "$status"
  zr_check "p$i: revocation list signed, fresh, names it only when revoked" \
    "$(zr_json "$out" '[d["list"]["fresh"], d["list"]["ververs_in_future"], d["list"]["names_this_verklaring"], d["list_content_type"]]')" \
    "[true, true, $([ "$status" = ingetrokken ] && echo true || echo false), \"application/jose;charset=utf-8\"]"
  zr_check "p$i: access token usable again" "$(zr_json "$out" 'd["userinfo_again"]')" 200
  subs="$subs $(zr_json "$out" 'd["id_token"]["sub"]')"
done
zr_check "pairwise subs differ per professional" "$(echo $subs | tr ' ' '\n' | sort -u | wc -l)" 6
again=$(dezi --professional 0)
zr_check "pairwise sub stable for one professional" "$(zr_json "$again" 'd["id_token"]["sub"]')" "$(echo $subs | cut -d' ' -f1)"

# ---- refusals ----
out=$(dezi --scenario bad-verifier)
zr_check "bad PKCE verifier -> invalid_grant, and the code is burnt" \
  "$(zr_json "$out" '[d["status"], d["error"], d["retry_error"]]')" '[400, "invalid_grant", "invalid_grant"]'
out=$(dezi --scenario code-reuse)
zr_check "code reuse -> invalid_grant" "$(zr_json "$out" '[d["first"], d["second"], d["error"]]')" '[200, 400, "invalid_grant"]'
out=$(dezi --scenario wrong-client)
zr_check "wrong client_id -> page, no redirect" "$(zr_json "$out" '[d["status"], d["redirected"], d["names_check"]]')" \
  "[400, false, true]"
out=$(dezi --scenario wrong-redirect)
zr_check "foreign redirect_uri -> page, no redirect" "$(zr_json "$out" '[d["status"], d["redirected"]]')" "[400, false]"
out=$(dezi --scenario no-pkce)
zr_check "no PKCE -> invalid_request with state" "$(zr_json "$out" '[d["error"], d["state"]]')" '["invalid_request", true]'
out=$(dezi --scenario cancel)
zr_check "cancel -> access_denied, no code" "$(zr_json "$out" '[d["error"], d["code"]]')" '["access_denied", false]'
out=$(dezi --scenario bad-token)
zr_check "unknown bearer token -> 401 invalid_token" \
  "$(zr_json "$out" '[d["status"], "invalid_token" in d["www_authenticate"]]')" "[401, true]"
code=$(curl -s -o /dev/null -w '%{http_code}' "$DEZI/status/v1/verklaring/00000000-0000-4000-8000-000000000000")
zr_check "status of an unknown verklaring -> 404" "$code" 404
# Client assertion well-formed but for another audience (no client key set:
# the mock checks the form only).
out=$(dezi --client-key "$ZR_PKI/dezi-client.key" --scenario wrong-assertion)
zr_check "client assertion for another audience -> invalid_client" "$(zr_json "$out" 'd["error"]')" invalid_client
out=$(dezi --client-key "$ZR_PKI/dezi-client.key" --professional 0)
zr_check "private_key_jwt accepted (form only without dezi.client_key)" "$(zr_json "$out" 'd["status"]')" actief

# SIGHUP: logged and ignored, still serving.
kill -HUP "$DEZI_PID"
sleep 0.3
code=$(curl -s -o /dev/null -w '%{http_code}' "$DEZI/.well-known/openid-configuration")
zr_check "SIGHUP ignored, still serving" "$code $(grep -c 'SIGHUP ignored' "$ZR_TMP/mock-dezi.log")" "200 1"

# ---- private_key_jwt with dezi.client_key: the signature is checked ----
DEZI2_PORT=$(zr_free_port)
sed -e "s#:$DEZI_PORT\\b#:$DEZI2_PORT#g" \
    -e "s|^  auth_method: none|  auth_method: private_key_jwt\n  client_key: $ZR_PKI/dezi-client.key|" \
    "$ZR_CONFIG" >"$ZR_TMP/pkjwt.yaml"
"$ZR_BIN" mock-dezi "$ZR_TMP/pkjwt.yaml" >"$ZR_TMP/mock-dezi-pkjwt.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$DEZI2_PORT"
DEZI="http://localhost:$DEZI2_PORT"
out=$(dezi --client-key "$ZR_PKI/dezi-client.key" --professional 1)
zr_check "private_key_jwt signed with dezi.client_key accepted" "$(zr_json "$out" 'd["verklaring"]["rol_code"]')" 17.000
out=$(dezi --client-key "$ZR_PKI/mock-dezi-signing.key" --scenario bad-verifier)
zr_check "client assertion signed with another key -> invalid_client" "$(zr_json "$out" 'd["error"]')" invalid_client

# No secret in the logs: no code, token or Dezi number.
zr_check "no Dezi number or token in the logs" \
  "$(grep -cE '9000000[0-9]{2}|eyJ|code=[A-Za-z0-9_-]{20}' "$ZR_TMP"/mock-dezi*.log | awk -F: '{s+=$NF} END {print s}')" 0

zr_done
