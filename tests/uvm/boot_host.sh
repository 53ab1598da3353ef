#!/usr/bin/env bash
# The production boot chain, reached from this machine: QEMU (TCG) with our vhost-user-vsock
# backend as the guest's virtio-vsock device, the real initrd and hcsshim's kernel command line
# (`-- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json ...`, everything to CID 2).
# On this side: entropy (port 1) and the gcs log (port 109) from boot-selftest, the bridge from
# lcow-bridge (host/bridge_client). The test runs a process in the UVM, then shuts the UVM down
# over the bridge: gcs exits and init must power off. QEMU and helpers die on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
  "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge"
UVM_FAIL_LOGS="console.txt host.log vhost.log exec.out"
fail() { uvm_fail "$@"; }

uvm_start_host 150
uvm_wait_sockets "$d/vu.sock" "$d/h_109" || true
[ -S "$d/vu.sock" ] || fail "vhost-user-vsock did not listen"

start=$(date +%s.%N)
uvm_start_qemu

# The host waits for gcs to dial in (hcsshim waits up to 2 minutes).
rc=0
timeout 130 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 120 \
  exec -- /bin/sh -c 'echo "uvm says hi"; cat /sys/fs/cgroup/cgroup.subtree_control; exit 3' \
  > "$d/exec.out" 2>&1 || rc=$?
ready=$(echo "$(date +%s.%N) - $start" | bc)
uvm_console
cat "$d/exec.out"
[ "$rc" = 3 ] || fail "exec in the UVM: status $rc, want 3"
grep -qx 'uvm says hi' "$d/exec.out" || fail "no output from the UVM process"
grep -q 'memory' "$d/exec.out" || fail "init did not enable the v2 controllers in the UVM"

timeout 60 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 50 shutdown --forced \
  > "$d/shutdown.out" 2>&1 || fail "shutdown request: $(cat "$d/shutdown.out")"
uvm_wait_exit 30 || fail "the VM did not power off after gcs exited"
qrc=0; wait "$qpid" || qrc=$?
total=$(echo "$(date +%s.%N) - $start" | bc)
uvm_console
cat "$d/console.txt"
[ "$qrc" = 0 ] || fail "qemu exited with $qrc"
grep -q 'reboot: Power down' "$d/console.txt" || fail "no power-off on the console"
grep -q 'SELFTEST: entropy served' "$d/host.log" || fail "init did not take entropy from port 1"
grep -q 'log| .*gcs started' "$d/host.log" || fail "gcs's stderr did not reach port 109"
echo "QEMU start -> process output ${ready}s; -> power-off ${total}s"
echo PASS
