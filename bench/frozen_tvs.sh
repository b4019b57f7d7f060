#!/usr/bin/env bash
# `make faults`: what a frozen TVS artifact endpoint does to everything else
# (issue 13 §2). PENDING logins do TVS's browser part, the mock TVS is then
# stopped (SIGSTOP) and all of them reach the relay's ACS at once, where they
# hang on the back channel for FREEZE seconds (tvs.timeout_ms is set longer).
# Meanwhile PROBES parallel clients keep asking /healthz, discovery and
# /token (client authentication + a Redis lookup of an unknown code:
# invalid_grant), each on a fresh connection as a load balancer or portal
# would; the script prints their p50/p99/max latency, then SIGCONTs TVS.
# Usage: bench/frozen_tvs.sh [PENDING] [FREEZE] [PROBES]. ZR_BIN picks the
# binary (compare a build without the back-channel lane).
set -euo pipefail
PENDING=${1:-24}
FREEZE=${2:-15}
PROBES=${3:-4}
export ZR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
export ZR_BIN=${ZR_BIN:-$ZR_SOURCE_DIR/build/zorgrelay}
export ZR_BUILD_DIR=${ZR_BUILD_DIR:-$ZR_SOURCE_DIR/build}
source "$ZR_SOURCE_DIR/tests/integration/lib.sh"
zr_pki
zr_start_redis
zr_write_config
# The freeze must outlast FREEZE: nothing times out while it is measured.
# (curl's connect timeout covers the TLS handshake, which a stopped TVS
# never finishes)
ms=$(( (FREEZE + 10) * 1000 )); [ "$ms" -gt 60000 ] && ms=60000
sed -i -e "s/^  timeout_ms: 10000$/  timeout_ms: $ms/" -e "s/^  connect_timeout_ms: 3000$/  connect_timeout_ms: $ms/" "$ZR_CONFIG"
zr_start_mock_tvs
TVS_PID=${ZR_PIDS[-1]}
zr_start_relay

pids=()
for i in $(seq 1 "$PENDING"); do
  zr_login "DigiD Substantieel" \
    --before-acs "touch $ZR_TMP/ready.$i; while [ ! -e $ZR_TMP/go ]; do sleep 0.05; done" \
    >"$ZR_TMP/login.$i.json" 2>&1 &
  pids+=("$!")
done
while [ "$(ls "$ZR_TMP"/ready.* 2>/dev/null | wc -l)" -lt "$PENDING" ]; do sleep 0.1; done

kill -STOP "$TVS_PID"
touch "$ZR_TMP/go"
sleep 1 # let the ACS requests reach the relay before measuring
$PY - "$ISSUER" "$FREEZE" "$PROBES" <<'EOF'
import base64, http.client, sys, threading, time, urllib.parse
issuer, freeze, probes = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
u = urllib.parse.urlparse(issuer)
auth = "Basic " + base64.b64encode(b"demo-portal:demo-portal-secret").decode()
token_body = urllib.parse.urlencode({"grant_type": "authorization_code", "code": "unknown-code-for-bench",
                                     "redirect_uri": "http://localhost:8000/callback",
                                     "code_verifier": "x" * 43})
reqs = {
    "/healthz": ("GET", "/healthz", None, {}),
    "discovery": ("GET", "/.well-known/openid-configuration", None, {}),
    "/token": ("POST", "/token", token_body, {"Authorization": auth,
                                              "Content-Type": "application/x-www-form-urlencoded"}),
}
lat = {k: [] for k in reqs}
fails = {k: 0 for k in reqs}
lock = threading.Lock()
end = time.monotonic() + freeze

def worker():
    while time.monotonic() < end:
        for name, (method, path, body, headers) in reqs.items():
            t0 = time.monotonic()
            try:
                c = http.client.HTTPConnection(u.hostname, u.port, timeout=freeze + 30)
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                r.read()
                c.close()
                ok = r.status in (200, 400)
            except Exception:
                ok = False
            dt = (time.monotonic() - t0) * 1000
            with lock:
                lat[name].append(dt)
                fails[name] += 0 if ok else 1

ts = [threading.Thread(target=worker) for _ in range(probes)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print(f"{'endpoint':<10} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>6}")
for name, v in lat.items():
    v.sort()
    if not v:
        continue
    p = lambda q: v[min(len(v) - 1, int(q * len(v)))]
    print(f"{name:<10} {len(v):>5} {p(0.5):>8.1f} {p(0.99):>8.1f} {v[-1]:>8.1f} {fails[name]:>6}")
EOF
echo "lane: $(curl -s --max-time 60 "$ISSUER/healthz" | $PY -c 'import json,sys; print(json.load(sys.stdin).get("backchannel", "no lane"))')"
kill -CONT "$TVS_PID"
ok=0
for p in "${pids[@]}"; do wait "$p" || true; done
for i in $(seq 1 "$PENDING"); do grep -q '"bsn": "999990019"' "$ZR_TMP/login.$i.json" && ok=$((ok+1)); done
echo "pending logins finished after the release: $ok of $PENDING"
