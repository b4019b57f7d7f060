#!/usr/bin/env bash
# Issue 16 §2: Prometheus metrics on a listener of their own. Real logins
# through the mock TVS, the mock Dezi and a test PDP (a patient's success,
# a cancellation and a wrong password at DigiD, TVS down at the artifact
# resolution, professionals let through, denied and refused by a PDP that
# errs) move exactly the counters and histogram counts they should; every
# scrape passes `promtool check metrics`; Debian's Prometheus server scrapes
# the relay, stores what it exposes and evaluates every example alert rule
# without an error; the rules pass `promtool check rules`, the example
# dashboard is valid JSON, and both name only series the relay exposes; a reload moves the generation; Redis down
# and back moves its series; per_care_provider adds the care provider's
# series; a connection over limits.max_connections_per_ip is counted once; a
# non-loopback listen is refused without metrics.allow_remote (FILE:LINE).
source "$(dirname "$0")/lib.sh"
# Redis is frozen here: the example's 500 ms deadline, not the tests' 5 s.
ZR_REDIS_TIMEOUT_MS=500

PROMTOOL=$(command -v promtool || true)
if [ -z "$PROMTOOL" ]; then
  echo "not ok - promtool missing: run scripts/install-deps (Debian package prometheus)"
  exit 1
fi

zr_pki
zr_start_redis
zr_write_config
# A professionals-only portal with a policy decision point (section 5b).
PDP_PORT=$(zr_free_port)
echo permit > "$ZR_TMP/pdp-mode"
$PY "$ZR_SOURCE_DIR/tests/integration/pdp_server.py" "$PDP_PORT" "$ZR_TMP/pdp-mode" "$ZR_TMP/pdp-requests.jsonl" \
  >"$ZR_TMP/pdp.log" 2>&1 &
ZR_PIDS+=("$!")
$PY - "$ZR_CONFIG" "$PDP_PORT" <<'EOF'
import sys
p, port = sys.argv[1], sys.argv[2]
s = open(p).read()
anchor = "  - client_id: demo-pgo\n"
assert s.count(anchor) == 1
s = s.replace(anchor, """  - client_id: pdp-portal
    auth_method: client_secret_basic
    client_secret: pdp-portal-secret
    redirect_uris: [http://localhost:8000/callback]
    login_methods: [professional]
    role_rules:
      - rol_code: "*"
        roles: [medewerker]
    authzen:
      pdp: http://127.0.0.1:%s
      timeout_ms: 1000
""" % port + anchor)
open(p, "w").write(s)
EOF
zr_wait_port "$PDP_PORT"
METRICS_PORT=$(zr_free_port)
printf '\nmetrics:\n  listen: 127.0.0.1:%s\n' "$METRICS_PORT" >>"$ZR_CONFIG"
zr_start_mock_tvs
TVS_PID=${ZR_PIDS[-1]}
zr_start_mock_dezi
zr_start_relay
zr_wait_port "$METRICS_PORT"

SCRAPES=0
# scrape: the text of /metrics in $ZR_TMP/scrape.N, checked by promtool.
scrape() {
  SCRAPES=$((SCRAPES + 1))
  LAST="$ZR_TMP/scrape.$SCRAPES"
  curl -s --max-time 20 -D "$LAST.head" "http://127.0.0.1:$METRICS_PORT/metrics" >"$LAST"
  if "$PROMTOOL" check metrics <"$LAST" >"$LAST.promtool" 2>&1; then
    ZR_PASS=$((ZR_PASS + 1))
  else
    ZR_FAIL=$((ZR_FAIL + 1)); echo "not ok - promtool check metrics on scrape $SCRAPES:"; cat "$LAST.promtool"
  fi
}
# v SERIES: its value in the last scrape ("absent" when there is none).
v() {
  awk -v s="$1" 'index($0, s " ") == 1 { print $NF; found = 1; exit } END { if (!found) print "absent" }' "$LAST"
}
patient() { v "zorgrelay_logins_finished_total{kind=\"patient\",result=\"$1\"}"; }
phase() { v "zorgrelay_phase_duration_seconds_count{phase=\"$1\"}"; }

# --- 1. Before any login: every series there, at zero.
scrape
zr_check "content type is the exposition format 0.0.4" \
  "$(grep -i '^content-type:' "$LAST.head" | tr -d '\r')" "Content-Type: text/plain; version=0.0.4; charset=utf-8"
zr_check "start: no patient login started" "$(v 'zorgrelay_logins_started_total{kind="patient"}')" "0"
zr_check "start: none finished ok" "$(patient ok)" "0"
zr_check "start: no artifact resolved" "$(phase tvs_artifact_resolution)" "0"
zr_check "start: build info" "$(v "zorgrelay_build_info{version=\"$("$ZR_BIN" version | awk '{print $NF}')\"}")" "1"
zr_check "start: generation 1" "$(v zorgrelay_config_generation)" "1"
zr_check "start: redis up" "$(v zorgrelay_redis_up)" "1"
zr_check "start: the back-channel lane's threads" "$(v zorgrelay_backchannel_threads)" "32"
zr_check "start: the TVS breaker closed" \
  "$(v 'zorgrelay_tvs_breaker_state{state="closed"}')/$(v 'zorgrelay_tvs_breaker_state{state="open"}')" "1/0"
now=$(date +%s)
vu=$(v zorgrelay_tvs_metadata_valid_until_timestamp_seconds)
# the mock publishes its metadata valid for 7 days (metadata_valid_days)
zr_check "TVS metadata validUntil about 7 days ahead" \
  "$(awk -v vu="$vu" -v now="$now" 'BEGIN { d = vu - now; print (d > 6 * 86400 && d <= 7 * 86400 + 60) ? "yes" : d }')" "yes"
for c in saml_signing saml_tls_client oidc_signing tvs_metadata_signer tvs_signing bsn_encryption; do
  e=$(v "zorgrelay_certificate_expiry_seconds{certificate=\"$c\"}")
  zr_check "certificate $c: seconds until expiry, in the future" \
    "$(awk -v e="$e" 'BEGIN { print (e + 0 > 86400) ? "yes" : e }')" "yes"
done
# the test PKI's signing certificate: compare with openssl's notAfter
na=$(date -d "$(openssl x509 -in "$ZR_PKI/relay-signing.pem" -noout -enddate | cut -d= -f2)" +%s)
e=$(v 'zorgrelay_certificate_expiry_seconds{certificate="saml_signing"}')
zr_check "saml_signing expiry matches the certificate's notAfter" \
  "$(awk -v e="$e" -v na="$na" -v now="$now" 'BEGIN { d = (na - now) - e; print (d >= -5 && d <= 60) ? "yes" : d }')" "yes"
zr_check "no care provider series without per_care_provider" "$(grep -c 'care_provider=' "$LAST")" "0"
redis0=$(phase redis)

# --- 2. A patient's login: one started, one ok, one of each phase.
out=$(zr_login "DigiD Substantieel" --method patient)
zr_check "login 1 ok" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
scrape
zr_check "after login 1: one patient login started" "$(v 'zorgrelay_logins_started_total{kind="patient"}')" "1"
zr_check "after login 1: one finished ok" "$(patient ok)" "1"
zr_check "after login 1: none cancelled" "$(patient cancelled)" "0"
zr_check "after login 1: authorize observed once" "$(phase authorize)" "1"
zr_check "after login 1: artifact resolution observed once" "$(phase tvs_artifact_resolution)" "1"
zr_check "after login 1: response validation observed once" "$(phase response_validation)" "1"
zr_check "after login 1: token observed once" "$(phase token)" "1"
zr_check "after login 1: no PDP (the demo portal has none)" "$(phase pdp)" "0"
zr_check "after login 1: Redis calls observed" \
  "$(awk -v a="$(phase redis)" -v b="$redis0" 'BEGIN { print (a > b) ? "yes" : a " vs " b }')" "yes"
zr_check "after login 1: the +Inf bucket equals the count" \
  "$(v 'zorgrelay_phase_duration_seconds_bucket{phase="tvs_artifact_resolution",le="+Inf"}')" "1"
zr_check "after login 1: no BSN anywhere in the scrape" "$(grep -c '999990019' "$LAST")" "0"

# --- 3. Cancelled at DigiD.
out=$(zr_login "Annuleren" --method patient)
zr_check "login 2 cancelled" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
scrape
zr_check "after the cancellation: two started" "$(v 'zorgrelay_logins_started_total{kind="patient"}')" "2"
zr_check "after the cancellation: one cancelled" "$(patient cancelled)" "1"
zr_check "after the cancellation: still one ok" "$(patient ok)" "1"
zr_check "after the cancellation: two resolutions" "$(phase tvs_artifact_resolution)" "2"
zr_check "after the cancellation: two validations" "$(phase response_validation)" "2"
zr_check "after the cancellation: token still once" "$(phase token)" "1"

# --- 3b. A wrong password at DigiD (AuthnFailed): denied.
out=$(zr_login "Verkeerd wachtwoord" --method patient)
zr_check "login 2b: authentication failed" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
scrape
zr_check "after AuthnFailed: one denied" "$(patient denied)" "1"
zr_check "after AuthnFailed: still one cancelled" "$(patient cancelled)" "1"
zr_check "after AuthnFailed: three resolutions" "$(phase tvs_artifact_resolution)" "3"

# --- 4. TVS down when the artifact comes back: the mock TVS is stopped
# after the person chose, before the browser reaches the ACS.
out=$(zr_login "DigiD Substantieel" --method patient --before-acs \
  "kill $TVS_PID; $PY -c 'import socket,time
while True:
    try: socket.create_connection((\"127.0.0.1\", $ART_PORT), 0.2).close(); time.sleep(0.05)
    except OSError: break'")
zr_stop "$TVS_PID"
zr_start_mock_tvs
zr_check "login 3: TVS down" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
scrape
zr_check "TVS down: four started" "$(v 'zorgrelay_logins_started_total{kind="patient"}')" "4"
zr_check "TVS down: one unavailable" "$(patient unavailable)" "1"
zr_check "TVS down: no refused or error, denied unchanged" "$(patient refused)/$(patient denied)/$(patient error)" "0/1/0"
zr_check "TVS down: four resolutions (the failed one too)" "$(phase tvs_artifact_resolution)" "4"
zr_check "TVS down: still three validations" "$(phase response_validation)" "3"
zr_check "TVS down: four authorize" "$(phase authorize)" "4"
zr_check "TVS down: no professional login" "$(v 'zorgrelay_logins_started_total{kind="professional"}')" "0"

# --- 5. A professional through the chooser and the mock Dezi.
out=$(zr_login "(01.015)" --method professional)
zr_check "professional login ok" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
scrape
zr_check "professional: one started" "$(v 'zorgrelay_logins_started_total{kind="professional"}')" "1"
zr_check "professional: one ok" "$(v 'zorgrelay_logins_finished_total{kind="professional",result="ok"}')" "1"
zr_check "professional: Dezi observed once" "$(phase dezi)" "1"
zr_check "professional: patients unchanged" "$(v 'zorgrelay_logins_started_total{kind="patient"}')/$(patient ok)" "4/1"
zr_check "professional: token twice" "$(phase token)" "2"
zr_check "open connections: a number" "$(v zorgrelay_http_connections_open | grep -cE '^[0-9]+$')" "1"

# --- 5b. The PDP: permit, deny, error (fail closed), each observed once.
pdp_login() {
  $PY "$ZR_SOURCE_DIR/tests/integration/e2e_login.py" --issuer "$ISSUER" --client-id pdp-portal \
    --client-secret pdp-portal-secret --redirect-uri http://localhost:8000/callback --identity "(01.015)"
}
pro() { v "zorgrelay_logins_finished_total{kind=\"professional\",result=\"$1\"}"; }
out=$(pdp_login)
zr_check "PDP permit: logged in" "$(zr_json "$out" 'd["claims"].get("rol_code")')" "01.015"
echo deny > "$ZR_TMP/pdp-mode"
out=$(pdp_login)
zr_check "PDP deny: access_denied" "$(zr_json "$out" 'd.get("oauth_error")')" "access_denied"
echo error > "$ZR_TMP/pdp-mode"
out=$(pdp_login)
zr_check "PDP error: temporarily_unavailable" "$(zr_json "$out" 'd.get("oauth_error")')" "temporarily_unavailable"
echo permit > "$ZR_TMP/pdp-mode"
scrape
zr_check "PDP: three calls observed" "$(phase pdp)" "3"
zr_check "PDP: professionals ok/denied/unavailable/error" "$(pro ok)/$(pro denied)/$(pro unavailable)/$(pro error)" "2/1/1/0"
zr_check "PDP: four professionals started, Dezi four times" \
  "$(v 'zorgrelay_logins_started_total{kind="professional"}')/$(phase dezi)" "4/4"
zr_check "PDP: patients untouched" "$(v 'zorgrelay_logins_started_total{kind="patient"}')/$(phase pdp)" "4/3"

# --- 5c. Debian's Prometheus server scrapes the relay and evaluates the
# example alert rules: the value it stores is the one in our scrape, and
# every rule evaluates without an error.
PROM=$(command -v prometheus || true)
if [ -z "$PROM" ]; then
  ZR_FAIL=$((ZR_FAIL + 1)); echo "not ok - prometheus missing: run scripts/install-deps (Debian package prometheus)"
else
  PROM_PORT=$(zr_free_port)
  mkdir -p "$ZR_TMP/prom"
  cat >"$ZR_TMP/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: [$ZR_SOURCE_DIR/examples/prometheus/zorgrelay-alerts.yml]
scrape_configs:
  - job_name: zorgrelay
    static_configs: [{targets: ['127.0.0.1:$METRICS_PORT']}]
EOF
  "$PROM" --config.file="$ZR_TMP/prometheus.yml" --storage.tsdb.path="$ZR_TMP/prom" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$ZR_TMP/prometheus.log" 2>&1 &
  PROM_PID=$!
  ZR_PIDS+=("$PROM_PID")
  zr_wait_port "$PROM_PORT"
  # promq EXPR PY: the query's answer, read by the Python expression PY on d
  promq() {
    zr_json "$(curl -s --max-time 20 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1")" "$2" \
      2>/dev/null || echo "?"
  }
  want=$(v 'zorgrelay_logins_started_total{kind="patient"}')
  got="?"; rules="?"
  # Prometheus scrapes every second and evaluates the rules every second
  for i in $(seq 1 600); do
    got=$(promq 'zorgrelay_logins_started_total{kind="patient",job="zorgrelay"}' \
      'd["data"]["result"][0]["value"][1] if d["data"]["result"] else "none"')
    rules=$(zr_json "$(curl -s --max-time 20 "http://127.0.0.1:$PROM_PORT/api/v1/rules")" \
      '",".join(sorted(set(r["health"] for g in d["data"]["groups"] for r in g["rules"]))) + "/" + str(all(r.get("lastEvaluation", "").startswith("20") for g in d["data"]["groups"] for r in g["rules"]))' \
      2>/dev/null || echo "?")
    [ "$got" = "$want" ] && [ "$rules" = "ok/True" ] && break
    sleep 0.05
  done
  zr_check "Prometheus stored what the relay exposes (patient logins started)" "$got" "$want"
  zr_check "Prometheus evaluated every example rule without an error" "$rules" "ok/True"
  zr_check "Prometheus: the scrape target is up" "$(promq 'up{job="zorgrelay"}' 'd["data"]["result"][0]["value"][1]')" "1"
  zr_check "Prometheus: a histogram quantile can be computed (artifact resolution)" \
    "$(promq 'histogram_quantile(0.5, zorgrelay_phase_duration_seconds_bucket{phase="tvs_artifact_resolution"}) > 0' \
      'len(d["data"]["result"])')" "1"
  # it keeps scraping (section 9 shows an alert firing)
fi

# --- 6. The example alert rules and dashboard are valid (the series they
# name: after section 9).
RULES="$ZR_SOURCE_DIR/examples/prometheus/zorgrelay-alerts.yml"
DASH="$ZR_SOURCE_DIR/examples/grafana/zorgrelay-dashboard.json"
zr_check "promtool check rules on the example alerts" \
  "$("$PROMTOOL" check rules "$RULES" >"$ZR_TMP/rules.out" 2>&1 && echo ok || cat "$ZR_TMP/rules.out")" "ok"
zr_check "the dashboard is valid JSON with panels" \
  "$($PY -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["panels"]) > 0 and all(t.get("expr") for p in d["panels"] for t in p.get("targets", [])))' "$DASH")" "True"

# --- 7. A reload moves the generation and counts.
kill -HUP "$RELAY_PID"
for i in $(seq 1 200); do
  scrape >/dev/null
  [ "$(v zorgrelay_config_generation)" = 2 ] && break
  sleep 0.05
done
zr_check "reload: generation 2" "$(v zorgrelay_config_generation)" "2"
zr_check "reload: one ok" "$(v 'zorgrelay_reloads_total{result="ok"}')" "1"
zr_check "reload: none refused" "$(v 'zorgrelay_reloads_total{result="refused"}')" "0"
# metrics: is restart-only: a reload that changes it is refused and counted.
cp "$ZR_CONFIG" "$ZR_TMP/before-refused.yaml"
printf '  per_care_provider: true\n' >>"$ZR_CONFIG"
kill -HUP "$RELAY_PID"
for i in $(seq 1 200); do
  scrape >/dev/null
  [ "$(v 'zorgrelay_reloads_total{result="refused"}')" = 1 ] && break
  sleep 0.05
done
zr_check "reload changing metrics: refused" "$(v 'zorgrelay_reloads_total{result="refused"}')" "1"
zr_check "reload changing metrics: still generation 2" "$(v zorgrelay_config_generation)" "2"
zr_check "reload changing metrics: the log says why" \
  "$(grep -c 'metrics changed: that needs a restart' "$ZR_TMP/relay.log")" "1"
cp "$ZR_TMP/before-refused.yaml" "$ZR_CONFIG"

# --- 8. Redis down: the store's calls fail and are counted; back: one reconnect.
zr_stop "$REDIS_PID"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
  "$ISSUER/authorize?response_type=code&client_id=demo-portal&redirect_uri=http://localhost:8000/callback&scope=openid&state=s1&nonce=n1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&login_method=patient")
zr_check "Redis down: /authorize answers 503" "$code" "503"
scrape
zr_check "Redis down: redis_up 0" "$(v zorgrelay_redis_up)" "0"
zr_check "Redis down: errors counted" \
  "$(awk -v e="$(v zorgrelay_redis_errors_total)" 'BEGIN { print (e >= 1) ? "yes" : e }')" "yes"
zr_check "Redis down: no reconnect yet" "$(v zorgrelay_redis_reconnects_total)" "0"
zr_start_redis
out=""
# the store probes a down Redis at most every ZR_STORE_RETRY_MS: log in until it answers
for i in $(seq 1 100); do
  out=$(zr_login "DigiD Substantieel" --method patient) && [ "$(zr_json "$out" 'd["claims"].get("bsn")' 2>/dev/null)" = 999990019 ] && break
  sleep 0.1
done
scrape
zr_check "Redis back: a login works" "$(zr_json "$out" 'd["claims"].get("bsn")')" "999990019"
zr_check "Redis back: redis_up 1" "$(v zorgrelay_redis_up)" "1"
zr_check "Redis back: one reconnect" "$(v zorgrelay_redis_reconnects_total)" "1"

# --- 9. per_care_provider: the care provider's own series (restart-only setting).
# header_timeout_s long, so that below only the refused connection can end
# while the test waits for it (an event, not a time).
printf '  per_care_provider: true\nlimits:\n  max_connections_per_ip: 8\n  header_timeout_s: 300\n' >>"$ZR_CONFIG"
zr_restart_relay
zr_wait_port "$METRICS_PORT"
out=$(zr_login "Annuleren" --method patient)
scrape
zr_check "per provider: started" \
  "$(v 'zorgrelay_care_provider_logins_started_total{care_provider="zorgaanbieder-demo",kind="patient"}')" "1"
zr_check "per provider: cancelled" \
  "$(v 'zorgrelay_care_provider_logins_finished_total{care_provider="zorgaanbieder-demo",kind="patient",result="cancelled"}')" "1"
zr_check "per provider: its BSN key's expiry" \
  "$(awk -v e="$(v 'zorgrelay_care_provider_bsn_key_expiry_seconds{care_provider="zorgaanbieder-demo"}')" 'BEGIN { print (e + 0 > 86400) ? "yes" : e }')" "yes"
zr_check "per provider: counters start at zero after the restart" "$(v 'zorgrelay_logins_started_total{kind="patient"}')" "1"

# A connection over limits.max_connections_per_ip is refused and counted,
# once all earlier connections are gone (the count is exact).
for i in $(seq 1 200); do
  scrape >/dev/null
  [ "$(v zorgrelay_http_connections_open)" = 0 ] && break
  sleep 0.05
done
over=$($PY - "$RELAY_PORT" 8 <<'EOF'
import select, socket, sys
port, cap = int(sys.argv[1]), int(sys.argv[2])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(cap + 1)]
# the one over the cap is shut down at once; the others are only cut after
# limits.header_timeout_s (300 s here): wait for the first end (at most
# 120 s, a guard against a hang), then count the ends
ready, _, _ = select.select(held, [], [], 120)
print(sum(1 for s in ready if s.recv(1) == b""))
EOF
)
zr_check "the 9th connection from one address is closed" "$over" "1"
scrape
zr_check "refusals by max_connections_per_ip: exactly one" \
  "$(v 'zorgrelay_http_refusals_total{limit="max_connections_per_ip"}')" "1"
if [ -n "$PROM" ]; then
  # increase(zorgrelay_http_refusals_total[5m]) > 0 has no `for`: it fires
  # once Prometheus has scraped the count after the refusal.
  firing="?"
  for i in $(seq 1 600); do
    firing=$(zr_json "$(curl -s --max-time 20 "http://127.0.0.1:$PROM_PORT/api/v1/alerts")" \
      '",".join(sorted(a["labels"]["alertname"] + ":" + a["labels"].get("limit", "") + ":" + a["state"] for a in d["data"]["alerts"] if a["labels"]["alertname"] == "ZorgrelayConnectionsRefused"))' \
      2>/dev/null || echo "?")
    [ "$firing" = "ZorgrelayConnectionsRefused:max_connections_per_ip:firing" ] && break
    sleep 0.05
  done
  zr_check "Prometheus: the example alert ZorgrelayConnectionsRefused fires for the refusal" \
    "$firing" "ZorgrelayConnectionsRefused:max_connections_per_ip:firing"
fi
zr_check "no other refusal or cut" \
  "$(v 'zorgrelay_http_refusals_total{limit="max_connections"}')/$(v 'zorgrelay_http_refusals_total{limit="header_timeout_s"}')" "0/0"

# The example rules and dashboard name only series the relay exposes (the
# per-provider ones included, hence here).
exposed=$(sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' "$LAST" | sort -u)
for f in "$RULES" "$DASH"; do
  missing=""
  for m in $(grep -oE 'zorgrelay_[a-z_]+' "$f" | sort -u); do
    base=$(printf '%s' "$m" | sed -E 's/_(bucket|sum|count)$//')
    grep -qx "$base" <<<"$exposed" || missing="$missing $m"
  done
  zr_check "$(basename "$f"): every series it names is exposed" "${missing:-none}" "none"
done

# --- 10. The listener's configuration.
bad="$ZR_TMP/remote.yaml"
sed "s#^  listen: 127.0.0.1:$METRICS_PORT#  listen: 0.0.0.0:$METRICS_PORT#" "$ZR_CONFIG" >"$bad"
line=$(grep -n "^  listen: 0.0.0.0:$METRICS_PORT" "$bad" | cut -d: -f1)
rc=0; "$ZR_BIN" check-config "$bad" >"$ZR_TMP/check.out" 2>&1 || rc=$?
zr_check "non-loopback listen refused" "$rc" "1"
zr_check "non-loopback listen: FILE:LINE: key: message" \
  "$(grep -c "^$bad:$line: metrics.listen: '0.0.0.0:$METRICS_PORT' is not a loopback address" "$ZR_TMP/check.out")" "1"
sed -i "s#^  listen: 0.0.0.0:$METRICS_PORT#&\\n  allow_remote: true#" "$bad"
rc=0; "$ZR_BIN" check-config "$bad" >"$ZR_TMP/check.out" 2>&1 || rc=$?
zr_check "non-loopback listen with allow_remote accepted" "$rc" "0"
sed "s#^  listen: 127.0.0.1:$METRICS_PORT#  listen: 127.0.0.1:$RELAY_PORT#" "$ZR_CONFIG" >"$bad"
rc=0; "$ZR_BIN" check-config "$bad" >"$ZR_TMP/check.out" 2>&1 || rc=$?
zr_check "the relay's own port refused" "$(grep -c "metrics.listen: '127.0.0.1:$RELAY_PORT' is the relay's own listen address" "$ZR_TMP/check.out")" "1"
sed -i "s#^  listen: 127.0.0.1:$RELAY_PORT#&\\n  colour: blue#" "$bad"
rc=0; "$ZR_BIN" check-config "$bad" >"$ZR_TMP/check.out" 2>&1 || rc=$?
zr_check "an unknown key refused" "$(grep -c 'metrics.colour' "$ZR_TMP/check.out")" "1"
zr_check "only /metrics is served there" \
  "$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 "http://127.0.0.1:$METRICS_PORT/authorize")" "404"
# (A scrape the scraper gave up on, as Prometheus does after its timeout on a
# loaded machine, is logged at info with aborted=1: that is not a scrape answered.)
zr_check "a scrape's access line only at debug (none at info)" \
  "$(grep 'path=/metrics status=200 .*component=metrics' "$ZR_TMP/relay.log" | grep -vc 'aborted=1' || true)" "0"
zr_check "what went wrong there is logged at info" \
  "$(grep -c 'info relay http method=GET path=/authorize status=404 .*component=metrics' "$ZR_TMP/relay.log")" "1"
zr_done
