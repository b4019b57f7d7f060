#!/usr/bin/env bash
# A freshly started relay and its first requests arriving all at once
# (issue 13 §1): a hospital restarts its relay at 9:00 and 32 people press
# "log in" together. Libraries must be set up on the main thread before the
# server listens (lasso's GLib types in particular are registered lazily and
# not thread-safe); otherwise some first requests fail, and every later one
# with them. ROUNDS fresh starts, each with 32 parallel /authorize requests
# (the AuthnRequest is built by lasso); then a fresh start whose first
# requests are 32 parallel ACS requests of logins that reached TVS (the
# ArtifactResolve is built by lasso): every answer must be the expected one,
# every time. Runs under ASan in make check.
source "$(dirname "$0")/lib.sh"
zr_env_up
ROUNDS=${ZR_COLD_START_ROUNDS:-5}
PAR=32
CHALLENGE=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM
AUTHZ="response_type=code&client_id=demo-portal&redirect_uri=http%3A%2F%2Flocalhost%3A8000%2Fcallback&scope=openid&code_challenge=$CHALLENGE&code_challenge_method=S256&login_method=patient"

for round in $(seq 1 "$ROUNDS"); do
  zr_restart_relay
  # 32 first requests at once; each keeps its cookie jar and page.
  pids=()
  for i in $(seq 1 $PAR); do
    curl -s -m 60 -o "$ZR_TMP/a$i.html" -w '%{http_code}\n' -c "$ZR_TMP/jar$i" \
      "$ISSUER/authorize?$AUTHZ&state=s$i&nonce=n$i" >"$ZR_TMP/a$i.code" &
    pids+=("$!")
  done
  wait "${pids[@]}"
  ok=0
  for i in $(seq 1 $PAR); do
    [ "$(cat "$ZR_TMP/a$i.code")" = 200 ] && grep -q 'name="SAMLRequest"' "$ZR_TMP/a$i.html" && ok=$((ok + 1))
  done
  zr_check "round $round: $PAR parallel first /authorize requests all build an AuthnRequest" "$ok" "$PAR"
done
# The first requests of a fresh process are ACS requests: 32 logins reach
# TVS on the running relay and wait just before the ACS (each in its own
# e2e_login process with its own browser cookie); the relay restarts (the
# pending logins are in Redis); then all 32 arrive at once. Each ACS builds
# and signs an ArtifactResolve with lasso on a fresh process, resolves the
# artifact, and the portal redeems its code.
BARRIER="$ZR_TMP/acs-barrier"
mkdir -p "$BARRIER"
pids=()
for i in $(seq 1 $PAR); do
  zr_login "DigiD Substantieel" \
    --before-acs "touch '$BARRIER/ready.$i'; while [ ! -e '$BARRIER/go' ]; do sleep 0.05; done" \
    >"$ZR_TMP/acs$i.json" 2>"$ZR_TMP/acs$i.err" &
  pids+=("$!")
done
# Wait for the event (all 32 at the door), whatever the machine's speed;
# a login that failed before the ACS ends its process and ends the wait.
while [ "$(find "$BARRIER" -name 'ready.*' | wc -l)" -lt $PAR ]; do
  alive=0
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
  [ "$alive" -lt $PAR ] && break
  sleep 0.1
done
zr_check "parallel first ACS: all $PAR logins reached TVS and wait at the ACS" \
  "$(find "$BARRIER" -name 'ready.*' | wc -l)" "$PAR"
zr_restart_relay
touch "$BARRIER/go"
wait "${pids[@]}" || true
ok=0
for i in $(seq 1 $PAR); do
  [ "$(zr_json "$(cat "$ZR_TMP/acs$i.json")" 'd.get("claims", {}).get("bsn")' 2>/dev/null)" = 999990019 ] && ok=$((ok + 1))
done
zr_check "parallel first ACS of a fresh process: all $PAR logins complete with the BSN" "$ok" "$PAR"
zr_check "relay log: no GLib type error, no message that lasso could not build" \
  "$(grep -cE 'cannot register existing type|invalid cast|cannot build (AuthnRequest|ArtifactResolve)|GLib' "$ZR_TMP/relay.log" || true)" "0"
zr_done
