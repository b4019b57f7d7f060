#!/usr/bin/env bash
# Issue 13 §5: a /token answered 503 because Redis hung leaves the code
# redeemable for the portal's retry, and a code still gives at most one token
# response. Redis is frozen with SIGSTOP (as a hung or busy Redis: it runs
# what it holds when it resumes) before the request, at the code's mark, and
# between the mark and the commit (the relay's test hook, in a -DZR_TEST_HOOKS
# build, stops it at that moment: ZR_TEST_REDEEM_STOP_FILE). Then parallel
# redemptions of one code. Every wait is on an event (Redis stopped, the
# relay's /readyz back to 200), never on time.
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500
zr_pki
zr_start_redis
zr_write_config
zr_start_mock_tvs
STOP_FILE="$ZR_TMP/redeem-stop"
export ZR_TEST_REDEEM_STOP_FILE="$STOP_FILE"
zr_start_relay
unset ZR_TEST_REDEEM_STOP_FILE

# A login up to the portal's callback: sets CODE and VERIFIER.
login_code() {
  local out
  out=$(zr_login "DigiD Substantieel" --no-redeem)
  CODE=$(zr_json "$out" 'd["code"]')
  VERIFIER=$(zr_json "$out" 'd["code_verifier"]')
}

# redeem FILE: the portal's token request with CODE and VERIFIER; prints the
# HTTP status, the answer (headers and body) goes to FILE.
redeem() {
  curl -s -D "$1.headers" -o "$1" -w '%{http_code}' -u demo-portal:demo-portal-secret \
    --data-urlencode grant_type=authorization_code --data-urlencode "code=$CODE" \
    --data-urlencode redirect_uri=http://localhost:8000/callback --data-urlencode "code_verifier=$VERIFIER" \
    "$ISSUER/token"
}

# retry FILE: the portal's retry after a 503, as a portal does it: again
# while the answer is 503 temporarily_unavailable (the readiness probe is
# cached up to a second, so the relay's store may still be on its way back).
retry() {
  local st i
  for i in $(seq 1 100); do
    st=$(redeem "$1")
    [ "$st" = 503 ] || break
    sleep 0.1
  done
  echo "$st"
}

userinfo() {  # userinfo TOKEN -> HTTP status
  curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$ISSUER/userinfo"
}

redis_stopped() {
  local i
  for i in $(seq 1 500); do
    [ "$(awk '{print $3}' "/proc/$REDIS_PID/stat")" = T ] && return 0
    sleep 0.01
  done
  return 1
}

# Resumes Redis and waits until the relay's own store answers again.
thaw() {
  local i
  kill -CONT "$REDIS_PID"
  for i in $(seq 1 300); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$ISSUER/readyz")" = 200 ] && return 0
    sleep 0.1
  done
  echo "the relay's /readyz did not come back" >&2
  return 1
}

# One scenario: STAGE is "before" (Redis frozen before the request), or
# "mark" / "commit" (frozen by the relay at that stage of the redemption).
freeze_scenario() {
  local stage=$1 st token
  login_code
  if [ "$stage" = before ]; then
    kill -STOP "$REDIS_PID"
    redis_stopped
  else
    echo "$stage $REDIS_PID" > "$STOP_FILE"
  fi
  st=$(redeem "$ZR_TMP/t-$stage-1.json")
  zr_check "Redis frozen ($stage): /token answers 503" "$st" "503"
  zr_check "Redis frozen ($stage): temporarily_unavailable" \
    "$(zr_json "$(cat "$ZR_TMP/t-$stage-1.json")" 'd.get("error")')" "temporarily_unavailable"
  zr_check "Redis frozen ($stage): the relay's hook fired (test is meaningful)" \
    "$([ "$stage" = before ] || [ ! -e "$STOP_FILE" ]; echo $?)" "0"
  thaw
  st=$(retry "$ZR_TMP/t-$stage-2.json")
  zr_check "Redis frozen ($stage), resumed: the retry gets the tokens" "$st" "200"
  token=$(zr_json "$(cat "$ZR_TMP/t-$stage-2.json")" 'd.get("access_token")')
  zr_check "Redis frozen ($stage), resumed: the retry's token works" "$(userinfo "$token")" "200"
  st=$(redeem "$ZR_TMP/t-$stage-3.json")
  zr_check "Redis frozen ($stage): a second retry is a replay (400)" "$st" "400"
  zr_check "Redis frozen ($stage): invalid_grant" \
    "$(zr_json "$(cat "$ZR_TMP/t-$stage-3.json")" 'd.get("error")')" "invalid_grant"
  zr_check "Redis frozen ($stage): the replay revoked the token" "$(userinfo "$token")" "401"
}

# 1. Redis frozen when /token is sent (the first store call, the code's read,
#    times out).
freeze_scenario before
# 1b. Frozen at the code's mark: the mark runs when Redis resumes.
freeze_scenario mark
# 2. Frozen between the mark and the commit: the commit runs when Redis
#    resumes, after its deadline.
freeze_scenario commit

# 3. One code redeemed by 5 requests at once (a retrying proxy, a double
#    submit): at most one 200, the others invalid_grant, and no token of the
#    code works afterwards (a replay revokes, or closes the code before the
#    other redemption commits: RFC 6749 §4.1.2). Whatever the interleaving.
for round in 1 2 3; do
  login_code
  pids=()
  for i in 1 2 3 4 5; do
    ( redeem "$ZR_TMP/race-$round-$i.json" > "$ZR_TMP/race-$round-$i.status" ) &
    pids+=("$!")
  done
  wait "${pids[@]}"
  statuses=$(for f in "$ZR_TMP"/race-$round-*.status; do cat "$f"; echo; done | sort | tr '\n' ' ')
  oks=$(echo "$statuses" | tr ' ' '\n' | grep -c '^200$' || true)
  zr_check "parallel redemptions ($round): at most one 200 ($statuses)" "$([ "$oks" -le 1 ] && echo yes)" "yes"
  zr_check "parallel redemptions ($round): every other answer is 400" \
    "$(echo "$statuses" | tr ' ' '\n' | grep -v '^200$' | grep -v '^$' | sort -u | tr -d '\n')" "400"
  live=0
  for f in "$ZR_TMP"/race-$round-*.json; do
    token=$(zr_json "$(cat "$f")" 'd.get("access_token") or ""')
    [ -n "$token" ] && [ "$(userinfo "$token")" = 200 ] && live=$((live+1))
  done
  zr_check "parallel redemptions ($round): no token of the code works afterwards" "$live" "0"
done

zr_check "relay process survived" "$(kill -0 "$RELAY_PID" 2>/dev/null && echo alive)" "alive"
zr_done
