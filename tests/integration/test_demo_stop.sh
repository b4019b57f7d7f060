#!/usr/bin/env bash
# `make demo` stops cleanly (issue 18 §6): scripts/demo, run as a terminal
# runs it (its own process group, SIGINT not ignored), on ports of its own
# (ZR_DEMO_CONFIG, ZR_DEMO_RUN), gets Ctrl-C (SIGINT to the whole group):
# every process it started ends and the script exits: when the demo is
# running, and half-way through starting it at each step (the script must
# not go on to start the portal after Ctrl-C); and on SIGTERM to the script.
source "$(dirname "$0")/lib.sh"
zr_pki
REDIS_PORT=$(zr_free_port)   # the demo starts its own Redis on it
zr_write_config
PORTAL_PORT=$(zr_free_port)
sed -i "s#localhost:8000\\b#localhost:$PORTAL_PORT#g" "$ZR_CONFIG"

# Starts the demo like a shell in a terminal does: a new session and process
# group, SIGINT and SIGQUIT at their defaults. -> DEMO_PID (= its group)
start_demo() {
  local run=$1
  mkdir -p "$run"
  ZR_BIN="$ZR_BIN" ZR_DEMO_CONFIG="$ZR_CONFIG" ZR_DEMO_RUN="$run" $PY - "$ZR_SOURCE_DIR/scripts/demo" "$run" <<'EOF'
import os, signal, subprocess, sys
def terminal_like():
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
    os.setsid()
p = subprocess.Popen(["bash", sys.argv[1]], stdout=open(sys.argv[2] + "/demo.out", "w"),
                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=terminal_like)
open(sys.argv[2] + "/demo.pid", "w").write(str(p.pid))
EOF
  DEMO_PID=$(cat "$run/demo.pid")
  DEMO_GROUPS+=("$DEMO_PID")
}
# Whatever happens to this test, no demo process outlives it.
DEMO_GROUPS=()
trap 'rc=$?; for g in "${DEMO_GROUPS[@]}"; do kill -KILL -- "-$g" 2>/dev/null || true; done; zr_cleanup; exit $rc' EXIT

# The processes of the demo's group other than the script itself.
# (Zombies, which a container's init may never reap, have ended.)
group_members() { ps -e -o pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ {print $1}'; }

# Waits (on the event, bounded) until no process of group $1 is left.
wait_group_gone() {
  local i
  for i in $(seq 1 300); do
    [ -z "$(group_members "$1")" ] && return 0
    sleep 0.1
  done
  return 1
}

# 1. Ctrl-C while the demo runs.
RUN1="$ZR_TMP/demo-run-1"
start_demo "$RUN1"
for i in $(seq 1 600); do grep -q "demo is running" "$RUN1/demo.out" 2>/dev/null && break; sleep 0.1; done
zr_check "demo running on its own ports" "$(grep -c "http://localhost:$PORTAL_PORT" "$RUN1/demo.out")" "1"
started=$(group_members "$DEMO_PID" | grep -vx "$DEMO_PID" | wc -l)
zr_check "demo started redis, mock TVS, mock Dezi, relay, portal" "$started" "5"
t0=$(date +%s%N)
kill -INT -- "-$DEMO_PID"
wait_group_gone "$DEMO_PID"; gone=$?
t1=$(date +%s%N)
zr_check "Ctrl-C: every process of the demo ended, the script too" "$gone/$(group_members "$DEMO_PID" | wc -l)" "0/0"
zr_check "Ctrl-C: the script said so" "$(grep -c '^stopping\.\.\.$' "$RUN1/demo.out")" "1"
echo "# Ctrl-C to all gone: $(( (t1 - t0) / 1000000 )) ms"

# 2. Ctrl-C half-way through starting, at each step: as soon as a
#    process's log appears the script waits for its port and would start
#    the next one (the portal last); after Ctrl-C it must start nothing more.
n=2
for log in redis.log mock-tvs.log mock-dezi.log relay.log; do
  RUN2="$ZR_TMP/demo-run-$n"; n=$((n + 1))
  start_demo "$RUN2"
  for i in $(seq 1 600); do [ -e "$RUN2/$log" ] && break; sleep 0.02; done
  kill -INT -- "-$DEMO_PID"
  wait_group_gone "$DEMO_PID"; gone=$?
  zr_check "Ctrl-C after $log appeared: nothing left" "$gone/$(group_members "$DEMO_PID" | wc -l)" "0/0"
  zr_check "Ctrl-C after $log appeared: the portal was never started" \
    "$([ -e "$RUN2/portal.log" ] && echo started || echo no)" "no"
done

# 3. SIGTERM to the script alone (a supervisor, `kill PID`): it stops the rest.
RUN3="$ZR_TMP/demo-run-term"
start_demo "$RUN3"
for i in $(seq 1 600); do grep -q "demo is running" "$RUN3/demo.out" 2>/dev/null && break; sleep 0.1; done
kill -TERM "$DEMO_PID"
wait_group_gone "$DEMO_PID"; gone=$?
zr_check "SIGTERM to the script: every process ended" "$gone/$(group_members "$DEMO_PID" | wc -l)" "0/0"

zr_done
