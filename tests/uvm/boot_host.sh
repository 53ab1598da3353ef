#!/usr/bin/env bash
# The production boot chain, reached from this machine: QEMU (TCG) with our vhost-user-vsock
# backend as the guest's virtio-vsock device, the real initrd and hcsshim's kernel command line
# (`-- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json ...`, everything to CID 2).
# On this side: entropy (port 1) and the gcs log (port 109) from boot-selftest, the bridge from
# lcow-bridge (host/bridge_client). The test runs a process in the UVM, then shuts the UVM down
# over the bridge: gcs exits and init must power off. QEMU and helpers die on every exit path.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "FAIL: qemu-system-x86_64 missing (Debian qemu-system-x86)"; exit 1; }
for f in "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
         "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge"; do
  [ -e "$f" ] || { echo "FAIL: missing $f"; exit 1; }
done

d=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in console.txt host.log vhost.log exec.out; do
    [ -f "$d/$f" ] && { echo "--- $f"; tail -n 40 "$d/$f"; }
  done
  exit 1
}

"$build/bin/vhost-user-vsock" --socket "$d/vu.sock" --uds "$d/h" --guest-cid 3 > "$d/vhost.log" 2>&1 &
pids+=($!)
"$build/tests/boot-selftest" --listen "listen:unix:$d/h" --entropy 1 --log 109 --out "$d/host.log" \
  --timeout 150 &
pids+=($!)
for _ in $(seq 100); do [ -S "$d/vu.sock" ] && [ -S "$d/h_109" ] && break; sleep 0.05; done
[ -S "$d/vu.sock" ] || fail "vhost-user-vsock did not listen"

start=$(date +%s.%N)
"$qemu" -accel tcg -M pc,memory-backend=mem -m 512 \
  -object memory-backend-memfd,id=mem,size=512M,share=on \
  -chardev socket,id=vu,path="$d/vu.sock" -device vhost-user-vsock-pci,chardev=vu \
  -display none -nodefaults -no-reboot -serial "file:$d/console.log" \
  -kernel "$build/vmlinux" -initrd "$build/initrd.img" \
  -append 'console=ttyS0 quiet panic=-1 -- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel info' &
qpid=$!
pids+=($qpid)

# The host waits for gcs to dial in (hcsshim waits up to 2 minutes).
rc=0
timeout 130 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 120 \
  exec -- /bin/sh -c 'echo "uvm says hi"; cat /sys/fs/cgroup/cgroup.subtree_control; exit 3' \
  > "$d/exec.out" 2>&1 || rc=$?
ready=$(echo "$(date +%s.%N) - $start" | bc)
tr -d '\r' < "$d/console.log" > "$d/console.txt" || true
cat "$d/exec.out"
[ "$rc" = 3 ] || fail "exec in the UVM: status $rc, want 3"
grep -qx 'uvm says hi' "$d/exec.out" || fail "no output from the UVM process"
grep -q 'memory' "$d/exec.out" || fail "init did not enable the v2 controllers in the UVM"

timeout 60 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 50 shutdown --forced \
  > "$d/shutdown.out" 2>&1 || fail "shutdown request: $(cat "$d/shutdown.out")"
for _ in $(seq 300); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$qpid" 2>/dev/null && fail "the VM did not power off after gcs exited"
qrc=0; wait "$qpid" || qrc=$?
total=$(echo "$(date +%s.%N) - $start" | bc)
tr -d '\r' < "$d/console.log" > "$d/console.txt"
cat "$d/console.txt"
[ "$qrc" = 0 ] || fail "qemu exited with $qrc"
grep -q 'reboot: Power down' "$d/console.txt" || fail "no power-off on the console"
grep -q 'SELFTEST: entropy served' "$d/host.log" || fail "init did not take entropy from port 1"
grep -q 'log| .*gcs started' "$d/host.log" || fail "gcs's stderr did not reach port 109"
echo "QEMU start -> process output ${ready}s; -> power-off ${total}s"
echo PASS
