#!/usr/bin/env bash
# deb_install_check.sh DEB SOURCE_DIR WORK — run by test_deb_package.sh inside
# `unshare --mount --net --pid --fork`: the host's root seen through an
# overlay whose writes go to a tmpfs, so `dpkg -i` runs the package's real
# maintainer scripts (adduser, the test PKI) and nothing reaches the host;
# a network namespace of its own, so the relay's fixed example ports collide
# with nothing; a PID namespace, so every process started here ends with it.
# Prints "ok - ..." / "not ok - ..." lines; exit status 0 only when all pass.
set -euo pipefail
deb=$1 src=$2 work=$3
pass=0 fail=0
check() {  # check "description" ACTUAL EXPECTED
    if [ "$2" = "$3" ]; then pass=$((pass+1)); echo "ok - $1"
    else fail=$((fail+1)); echo "not ok - $1: got '$2', expected '$3'"; fi
}

mount -t tmpfs tmpfs "$work"
mkdir "$work/upper" "$work/wd" "$work/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$work/upper,workdir=$work/wd" "$work/root"
r=$work/root
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
mount -t tmpfs tmpfs "$r/tmp"
mount -t tmpfs tmpfs "$r/run"
ip link set lo up
cp "$deb" "$r/tmp/zorgrelay.deb"
# A clean environment: the host's PATH may lead to its own interpreters.
in_root() { chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 "$@"; }
PY=/usr/bin/python3
log=$r/tmp/logs
mkdir "$log"
# The test's own scripts, inside the root: the source tree may live under
# /tmp (a CI clone), which the root's fresh /tmp hides.
tools=/tmp/zr-test-tools
mkdir -m 0755 "$r$tools"
install -m 0644 "$src/tests/integration/sandbox_exec.py" "$src/tests/integration/e2e_login.py" "$r$tools/"

echo "# dpkg -i, with the maintainer scripts"
check "dpkg -i succeeds" "$(in_root dpkg -i /tmp/zorgrelay.deb >"$log/dpkg-i.log" 2>&1; echo $?)" 0
check "the package is installed" "$(in_root dpkg-query -W -f='${Status}' zorgrelay)" "install ok installed"
check "the example configuration is a conffile" \
    "$(in_root dpkg-query -W -f='${Conffiles}' zorgrelay | awk '{print $1}')" /etc/zorgrelay/zorgrelay.yaml
check "system user zorgrelay, no login shell" \
    "$(in_root getent passwd zorgrelay | awk -F: '$3 < 1000 {print $6 ":" $7}')" "/var/lib/zorgrelay:/usr/sbin/nologin"
for d in /var/lib/zorgrelay /var/log/zorgrelay; do
    check "$d: the relay's user may write it, others not" "$(in_root stat -c '%U:%G %a' "$d")" "zorgrelay:zorgrelay 750"
done
check "the test PKI: a key readable by the relay's group only" \
    "$(in_root stat -c '%U:%G %a' /etc/zorgrelay/test-pki/relay-signing.key)" "root:zorgrelay 640"
check "the test PKI is marked as test material" \
    "$(in_root openssl x509 -noout -subject -in /etc/zorgrelay/test-pki/relay-signing.pem | grep -c 'NIET ECHT')" 1

echo "# check-config: the installed binary on the installed example, as the relay's user"
out=$(in_root runuser -u zorgrelay -- zorgrelay check-config /etc/zorgrelay/zorgrelay.yaml 2>&1) && rc=0 || rc=$?
echo "$out"
check "check-config exit status" "$rc" 0
check "check-config says OK" "$(echo "$out" | grep -c '^/etc/zorgrelay/zorgrelay.yaml: OK ')" 1

echo "# the installed binary finds its schemas without --schemas"
out=$(in_root runuser -u zorgrelay -- zorgrelay selftest /etc/zorgrelay/zorgrelay.yaml 2>&1 || true)
check "selftest validates our metadata against /usr/share/zorgrelay/schemas" \
    "$(echo "$out" | grep -c 'schema-valid (/usr/share/zorgrelay/schemas/saml-schema-metadata-2.0.xsd)')" 1

echo "# the unit as installed"
out=$(in_root systemd-analyze security --offline=true --threshold=20 /lib/systemd/system/zorgrelay.service 2>&1) \
    && rc=0 || rc=$?
check "systemd-analyze security: exposure at most 2.0" "$rc" 0
echo "$out" | tail -n 1
check "the unit is not enabled by the install" "$(in_root systemctl is-enabled zorgrelay.service 2>/dev/null || true)" disabled

echo "# the relay as the unit runs it, with the example, the mock TVS and a Redis"
# What systemd does for the unit, without systemd: RuntimeDirectory=zorgrelay,
# LimitNOFILE=, User=, NoNewPrivileges=, an empty CapabilityBoundingSet=
# (setpriv), MemoryDenyWriteExecute= and SystemCallFilter= read from the
# installed unit (sandbox_exec.py: the seccomp filters systemd makes of them).
in_root install -d -o zorgrelay -g zorgrelay -m 0755 /run/zorgrelay
unit=/lib/systemd/system/zorgrelay.service
sx="$tools/sandbox_exec.py"
wx='import mmap, sys
try:
    mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
except OSError:
    sys.exit(0)
sys.exit(1)'
ptrace='import ctypes, sys
sys.exit(0 if ctypes.CDLL(None).ptrace(0, 0, None, None) == -1 else 1)'
# Called in a subshell: the exec chain keeps one PID, the relay's own.
sandbox() {
    exec chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8 setpriv \
        --reuid=zorgrelay --regid=zorgrelay --init-groups --no-new-privs --bounding-set=-all --inh-caps=-all \
        $PY "$sx" "$unit" "$@"
}
check "the stand-in refuses writable and executable memory (MemoryDenyWriteExecute=)" \
    "$( (sandbox $PY -c "$wx"); echo $?)" 0
check "the stand-in refuses a system call outside @system-service (ptrace, SystemCallFilter=)" \
    "$( (sandbox $PY -c "$ptrace"); echo $?)" 0
check "without it, the same ptrace call works (the check above can fail)" "$(in_root $PY -c "$ptrace"; echo $?)" 1
in_root redis-server --port 6379 --bind 127.0.0.1 --save '' --appendonly no >"$log/redis.log" 2>&1 &
(sandbox zorgrelay mock-tvs /etc/zorgrelay/zorgrelay.yaml) >"$log/mock-tvs.log" 2>&1 &
tvs_pid=$!
for _ in $(seq 1 300); do [ -s "$r/var/lib/zorgrelay/mock-tvs-metadata.xml" ] && break; sleep 0.1; done
check "the mock TVS wrote its metadata in the state directory" \
    "$(test -s "$r/var/lib/zorgrelay/mock-tvs-metadata.xml" && echo yes)" yes
# LimitNOFILE=65536, or the most this host allows.
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
(ulimit -n "$nofile"; sandbox zorgrelay serve /etc/zorgrelay/zorgrelay.yaml) >"$log/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 300); do
    in_root curl -fsS -o /dev/null http://127.0.0.1:8080/healthz 2>/dev/null && break
    kill -0 "$relay_pid" 2>/dev/null || break
    sleep 0.1
done
check "the relay serves /healthz" \
    "$(in_root curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8080/healthz)" 200
check "the relay wrote pid_file in /run/zorgrelay" "$(test -s "$r/run/zorgrelay/zorgrelay.pid" && echo yes)" yes
page=$(in_root curl -s 'http://127.0.0.1:8080/authorize?client_id=nobody&response_type=code' || true)
check "a page is rendered from /usr/share/zorgrelay/templates" "$(echo "$page" | grep -c 'Direct naar de inhoud')" 1
out=$(in_root $PY "$tools/e2e_login.py" --issuer http://localhost:8080 --client-id demo-portal \
    --client-secret demo-portal-secret --redirect-uri http://localhost:8000/callback \
    --identity "DigiD Substantieel" 2>"$log/e2e.err" || true)
check "a login through the installed relay and mock TVS: acr" \
    "$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["claims"]["acr"])' "$out" 2>/dev/null)" \
    "http://eidas.europa.eu/LoA/substantial"
check "a login through the installed relay and mock TVS: the BSN for the entitled portal" \
    "$($PY -c 'import json,sys; print(json.loads(sys.argv[1])["claims"].get("bsn"))' "$out" 2>/dev/null)" 999990019

echo "# ExecReload: zorgrelay reload, as the relay's user"
out=$(in_root runuser -u zorgrelay -- zorgrelay reload /etc/zorgrelay/zorgrelay.yaml 2>&1) && rc=0 || rc=$?
echo "$out"
check "reload exit status" "$rc" 0
check "reload reports the new generation" "$(echo "$out" | grep -c 'ok: generation 2')" 1
kill -TERM "$relay_pid" "$tvs_pid" 2>/dev/null || true
wait "$relay_pid" && rc=0 || rc=$?
check "SIGTERM (systemctl stop): the relay drains and exits 0" "$rc" 0
grep -qE 'MDWE|write.*exec' "$log/relay.log" && cat "$log/relay.log" >&2

echo "# dpkg --purge"
check "dpkg --purge succeeds" "$(in_root dpkg --purge zorgrelay >"$log/dpkg-purge.log" 2>&1; echo $?)" 0
for p in /usr/bin/zorgrelay /usr/share/zorgrelay /etc/zorgrelay /var/lib/zorgrelay /var/log/zorgrelay \
         /lib/systemd/system/zorgrelay.service; do
    check "purged: $p" "$(test -e "$r$p" && echo present || echo gone)" gone
done

if [ "$fail" -ne 0 ]; then
    for f in "$log"/*; do echo "--- ${f##*/}"; tail -n 20 "$f"; done
fi
echo "$pass passed, $fail failed (installed root)"
[ "$fail" -eq 0 ]
