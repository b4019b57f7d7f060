#!/usr/bin/env bash
# The cost of redis.wait_replicas (issue 13 §6, docs/operations.md "What a
# failover loses"), on loopback: a master with one replica.
#  1. One write round trip as the store makes it (SET ... EX, and SET ...
#     followed by WAIT 1 in the same round trip), N times in a row, raw RESP
#     from Python: microseconds per write.
#  2. Whole logins (bench/login_bench.py) against the relay with
#     wait_replicas 0 and 1: p50/p99 per login and logins per second.
# Usage: bench/redis_wait.sh [LOGINS] [CONCURRENCY] [WRITES]
set -euo pipefail
LOGINS=${1:-200}
CONC=${2:-1}
WRITES=${3:-20000}
export ZR_SOURCE_DIR=$(cd "$(dirname "$0")/.." && pwd)
export ZR_BIN=${ZR_BIN:-$ZR_SOURCE_DIR/build/zorgrelay}
export ZR_BUILD_DIR=${ZR_BUILD_DIR:-$ZR_SOURCE_DIR/build}
source "$ZR_SOURCE_DIR/tests/integration/lib.sh"
zr_pki
zr_start_redis
REPLICA_PORT=$(zr_free_port)
mkdir -p "$ZR_TMP/replica"
redis-server --port "$REPLICA_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$ZR_TMP/replica" \
  --replicaof 127.0.0.1 "$REDIS_PORT" >"$ZR_TMP/replica.log" 2>&1 &
ZR_PIDS+=("$!")
zr_wait_port "$REPLICA_PORT"
for i in $(seq 1 200); do
  redis-cli -p "$REPLICA_PORT" info replication | grep -q '^master_link_status:up' && break
  sleep 0.05
done

echo "# one write round trip, $WRITES times, master with 1 replica on loopback"
$PY - "$REDIS_PORT" "$WRITES" <<'EOF'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
def resp(*args):
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)
value = b"x" * 600  # about a sealed code record
set_cmd = resp(b"SET", b"zr:bench:k", value, b"EX", b"60")
wait_cmd = resp(b"WAIT", b"1", b"100")
for name, payload, replies in (("SET", set_cmd, 1), ("SET + WAIT 1", set_cmd + wait_cmd, 2)):
    lat = []
    for _ in range(n):
        t = time.perf_counter()
        s.sendall(payload)
        for _ in range(replies):
            line = f.readline()
            assert line[:1] in (b"+", b":"), line
            if line.startswith(b":") and int(line[1:]) < 1:
                sys.exit("WAIT reached no replica")
        lat.append(time.perf_counter() - t)
    lat.sort()
    print("%-13s p50 %6.1f us  p99 %6.1f us" % (name, lat[n // 2] * 1e6, lat[int(n * 0.99)] * 1e6))
EOF

zr_write_config
zr_start_mock_tvs
for w in 0 1; do
  sed -e "s#^  timeout_ms: 500\$#  timeout_ms: 500\n  wait_replicas: $w#" "$ZR_TMP/zorgrelay.yaml" >"$ZR_TMP/wait-$w.yaml"
  ZR_CONFIG=$ZR_TMP/wait-$w.yaml
  zr_start_relay "$ZR_TMP/relay-$w.log"
  before=$(redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_wait:calls=\([0-9]*\).*/\1/p')
  res=$($PY "$ZR_SOURCE_DIR/bench/login_bench.py" "$ISSUER" demo-portal demo-portal-secret \
        http://localhost:8000/callback "$LOGINS" "$CONC")
  after=$(redis-cli -p "$REDIS_PORT" info commandstats | tr -d '\r' | sed -n 's/^cmdstat_wait:calls=\([0-9]*\).*/\1/p')
  echo "wait_replicas $w: $res WAIT calls: $(( ${after:-0} - ${before:-0} ))"
  kill "$RELAY_PID"; wait "$RELAY_PID" 2>/dev/null || true
done
