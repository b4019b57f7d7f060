#!/usr/bin/env bash
# Liveness and readiness (issue 13 §4, docs/operations.md#health) against a
# real Redis: /readyz names each part that keeps logins away (Redis stopped;
# Redis refusing writes under maxmemory, as a read-only replica or after a
# failed save; TVS metadata past validUntil; the SAML self-check) and comes
# back by itself once it is fixed; /healthz (liveness) stays 200 through
# every outage outside the process, and fails only for the SAML machinery.
# Every wait is on the event (the status a poll answers), never on time.
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500
zr_env_up

# poll URL CODE: asks until the answer has that HTTP status (bounded: ~30 s
# on a busy machine); prints the last status; the body is in $ZR_TMP/poll.json.
poll() {
  local i code=
  for i in $(seq 1 300); do
    code=$(curl -s -o "$ZR_TMP/poll.json" -w '%{http_code}' "$1" || true)
    [ "$code" = "$2" ] && break
    sleep 0.1
  done
  echo "$code"
}
body() { zr_json "$(cat "$ZR_TMP/poll.json")" "$1"; }
live() { curl -s -o "$ZR_TMP/live.json" -w '%{http_code}' "$ISSUER/healthz"; }

# 1. All well.
zr_check "all well: /readyz 200" "$(poll "$ISSUER/readyz" 200)" "200"
zr_check "all well: every part ok" \
  "$(body '" ".join(d[k] for k in ("status","store","tvs_metadata","pairwise_sectors","saml")) + " " + str(d["failing"])')" \
  "ok ok ok ok ok []"
zr_check "all well: /healthz 200" "$(live)" "200"
zr_check "all well: /healthz status, saml and the config for reload" \
  "$(zr_json "$(cat "$ZR_TMP/live.json")" 'd["status"]+" "+d["saml"]+" "+str(d["config"]["generation"])+" "+d["config"]["last_reload"]')" \
  "ok ok 1 none"
zr_check "health answers are not cached by proxies" \
  "$(curl -s -D - -o /dev/null "$ISSUER/readyz" | grep -ci '^cache-control: no-store')" "1"

# 1b. Many pollers cost Redis one write a second: 200 /readyz from 8 clients
#     at once make at most one probe per started second (plus the one under
#     way), however many threads answer them. A bound, not a timing figure.
sets() { redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_set:/{print $3}'; }
s0=$(sets); t0=$(date +%s.%N)
seq 1 200 | xargs -P 8 -I{} curl -s -o /dev/null "$ISSUER/readyz"
t1=$(date +%s.%N); s1=$(sets)
echo "# 200 polls: $((s1 - s0)) Redis writes in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s"
zr_check "the writes are counted (the bound below means something)" "$([ "$s1" -gt 0 ] && echo yes)" "yes"
zr_check "200 polls: at most one Redis write per second of polling" \
  "$(awk -v n=$((s1 - s0)) -v a="$t0" -v b="$t1" 'BEGIN{bound=int(b-a)+2; print (n<=bound)?"ok":"too many: "n" writes in "(b-a)" s"}')" "ok"

# 2. Redis full: maxmemory 1 with noeviction (Redis's default policy) refuses
#    every write with OOM, while PING still answers.
redis-cli -p "$REDIS_PORT" config set maxmemory-policy noeviction >/dev/null
redis-cli -p "$REDIS_PORT" config set maxmemory 1 >/dev/null
zr_check "Redis OOM: PING still answers (the probe must write)" "$(redis-cli -p "$REDIS_PORT" ping)" "PONG"
zr_check "Redis OOM: /readyz 503" "$(poll "$ISSUER/readyz" 503)" "503"
zr_check "Redis OOM: names the store and the refusal" \
  "$(body 'str(d["failing"])+" "+d["store"]')" "['store'] redis refuses writes: OOM"
zr_check "Redis OOM: /healthz (liveness) still 200" "$(live)" "200"
redis-cli -p "$REDIS_PORT" config set maxmemory 0 >/dev/null
zr_check "Redis OOM fixed: /readyz 200 again" "$(poll "$ISSUER/readyz" 200)" "200"

# 3. Redis turned into a read-only replica (of a master that is not there).
NOBODY_PORT=$(zr_free_port)
redis-cli -p "$REDIS_PORT" replicaof 127.0.0.1 "$NOBODY_PORT" >/dev/null
zr_check "Redis read-only replica: /readyz 503" "$(poll "$ISSUER/readyz" 503)" "503"
zr_check "Redis read-only replica: names the store and READONLY" \
  "$(body 'str(d["failing"])+" "+d["store"]')" "['store'] redis refuses writes: READONLY"
zr_check "Redis read-only replica: /healthz still 200" "$(live)" "200"
redis-cli -p "$REDIS_PORT" replicaof no one >/dev/null
zr_check "Redis master again: /readyz 200" "$(poll "$ISSUER/readyz" 200)" "200"

# 3b. Redis refusing writes after a failed save (MISCONF, with
#     stop-writes-on-bgsave-error, Redis's default): its directory is gone,
#     so the snapshot a save point asks for cannot be written.
rmdir "$ZR_TMP/redis"
redis-cli -p "$REDIS_PORT" config set save "3600 1" >/dev/null
redis-cli -p "$REDIS_PORT" bgsave >/dev/null
zr_check "Redis save failed: /readyz 503" "$(poll "$ISSUER/readyz" 503)" "503"
zr_check "Redis save failed: names the store and MISCONF" \
  "$(body 'str(d["failing"])+" "+d["store"]')" "['store'] redis refuses writes: MISCONF"
zr_check "Redis save failed: /healthz still 200" "$(live)" "200"
redis-cli -p "$REDIS_PORT" config set save "" >/dev/null   # no save points: writes are taken again
mkdir -p "$ZR_TMP/redis"
zr_check "Redis without save points: /readyz 200" "$(poll "$ISSUER/readyz" 200)" "200"

# 4. Redis stopped: not ready, but alive (a restart would not help, and every
#    relay restarted at once during a Redis outage is what liveness must avoid).
zr_stop "$REDIS_PID"
zr_check "Redis stopped: /readyz 503" "$(poll "$ISSUER/readyz" 503)" "503"
zr_check "Redis stopped: names the store" \
  "$(body 'str(d["failing"])+" "+d["store"]+" "+d["status"]')" "['store'] redis does not answer unavailable"
zr_check "Redis stopped: /healthz (liveness) 200" "$(live)" "200"
zr_start_redis
zr_check "Redis back: /readyz 200 without a restart" "$(poll "$ISSUER/readyz" 200)" "200"
zr_check "Redis back: the probe's key has a TTL (nothing kept for good)" \
  "$(redis-cli -p "$REDIS_PORT" --scan --pattern 'zr:ready:*' | head -1 | xargs -r redis-cli -p "$REDIS_PORT" ttl \
     | awk '{print ($1>0 && $1<=10)?"ttl":"no ttl: "$1}')" "ttl"

# 5. TVS metadata past its validUntil: a relay whose clock is 8 days ahead
#    reads the mock's 7-day metadata from a file of its own. The fix is what
#    an operator does: put current metadata there (a second mock TVS writes
#    30-day metadata to it) and reload.
LATE_PORT=$(zr_free_port); TVS3_PORT=$(zr_free_port); ART3_PORT=$(zr_free_port)
cp "$ZR_TMP/mock-tvs-metadata.xml" "$ZR_TMP/late-metadata.xml"
sed -e "s#^listen: 127.0.0.1:$RELAY_PORT#listen: 127.0.0.1:$LATE_PORT#" \
    -e "s#^public_base_url: http://localhost:$RELAY_PORT#public_base_url: http://localhost:$LATE_PORT#" \
    -e "s#:$TVS_PORT\\b#:$TVS3_PORT#g" -e "s#:$ART_PORT\\b#:$ART3_PORT#g" \
    -e "s#mock-tvs-metadata.xml#late-metadata.xml#g" \
    -e "s#metadata_valid_days: 7#metadata_valid_days: 30#" \
    "$ZR_CONFIG" > "$ZR_TMP/late.yaml"
ZR_TEST_TIME_OFFSET=$((8*24*3600)) "$ZR_BIN" serve "$ZR_TMP/late.yaml" >"$ZR_TMP/relay-late.log" 2>&1 &
LATE_PID=$!
ZR_PIDS+=("$LATE_PID")
zr_wait_port "$LATE_PORT"
LATE="http://localhost:$LATE_PORT"
zr_check "TVS metadata expired: /readyz 503" "$(poll "$LATE/readyz" 503)" "503"
zr_check "TVS metadata expired: names it" \
  "$(body 'str(d["failing"])+" "+str("TVS metadata" in d["tvs_metadata"] and "expired" in d["tvs_metadata"])')" \
  "['tvs_metadata'] True"
zr_check "TVS metadata expired: /healthz 200" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$LATE/healthz")" "200"
"$ZR_BIN" mock-tvs "$ZR_TMP/late.yaml" >"$ZR_TMP/mock-tvs-late.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$TVS3_PORT"
for i in $(seq 1 300); do grep -q 'signed metadata written' "$ZR_TMP/mock-tvs-late.log" && break; sleep 0.1; done
kill -HUP "$LATE_PID"
zr_check "TVS metadata renewed and reloaded: /readyz 200" "$(poll "$LATE/readyz" 200)" "200"
zr_check "TVS metadata renewed: tvs_metadata ok" "$(body 'd["tvs_metadata"]')" "ok"
zr_stop "$LATE_PID"

# 6. The SAML self-check failing (ZR_TEST_BREAK_SAML_SELFCHECK, a test build
#    only, hands the real AuthnRequest builder a request without a
#    destination): not ready and not alive, since only a restart fixes a
#    broken SAML machinery (issue 13 §1). A restart without it: both 200.
export ZR_TEST_BREAK_SAML_SELFCHECK=1
zr_restart_relay
unset ZR_TEST_BREAK_SAML_SELFCHECK
zr_check "SAML self-check failing: /readyz 503" "$(poll "$ISSUER/readyz" 503)" "503"
zr_check "SAML self-check failing: names it" \
  "$(body 'str(d["failing"])+" "+d["saml"]')" \
  "['saml'] cannot build an AuthnRequest: AuthnRequest: TVS SSO endpoint, care provider or service missing"
zr_check "SAML self-check failing: /healthz (liveness) 503" "$(poll "$ISSUER/healthz" 503)" "503"
zr_check "SAML self-check failing: /healthz names it, config still there" \
  "$(body 'd["status"]+" "+str(d["config"]["generation"])')" "failing 1"
zr_check "SAML self-check failing: logged once for the operator" \
  "$(grep -c 'health not ready: saml: cannot build an AuthnRequest' "$ZR_TMP/relay.log")" "1"
zr_restart_relay
zr_check "restarted: /healthz 200" "$(poll "$ISSUER/healthz" 200)" "200"
zr_check "restarted: /readyz 200" "$(poll "$ISSUER/readyz" 200)" "200"
out=$(zr_login "DigiD Substantieel")
zr_check "ready means logins work" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"

zr_done
