#!/usr/bin/env bash
# The UVM boots (QEMU TCG, -M pc, PVH build/vmlinux + build/initrd.img, 512 MiB): init mounts,
# loads the modules, takes entropy, vsockexec starts gcs with stderr on port 109, and gcs dials
# the bridge and negotiates. With no host vsock here, the host side runs inside the guest:
# init -x starts boot-selftest, which listens over vsock loopback (CID 1); gcs dials
# vsock:1:0x40000000. After NegotiateProtocol it sends ShutdownForced for the UVM id: gcs
# exits, and init must power the VM off. One boot per run; QEMU is killed on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest"
log="$build/test-logs/boot_selftest.console"
mkdir -p "$(dirname "$log")"

# The test initrd: the real one plus a second archive with the guest-side host (the kernel
# unpacks concatenated archives in order).
boot_make_initrd "$build" "$d"
append=$(boot_append)
start=$(date +%s.%N)
"$qemu" -accel tcg -M pc -m 512 -display none -nodefaults -no-reboot -serial "file:$log" \
  -kernel "$build/vmlinux" -initrd "$d/initrd.img" -append "$append" &
qpid=$!
UVM_PIDS+=($qpid)
# Power-off ends QEMU (-no-reboot); 120 s is far above a TCG boot (about 5 s here).
if ! uvm_wait_exit 120; then
  cat "$log"; echo "FAIL: the VM did not power off within 120 s"; exit 1
fi
rc=0; wait "$qpid" || rc=$?
end=$(date +%s.%N)
cat "$log"
echo "qemu exit status $rc after $(echo "$end - $start" | bc) s"
fail() { echo "FAIL: $*"; exit 1; }
[ "$rc" = 0 ] || fail "qemu exited with $rc"
grep -q 'BOOT-SELFTEST PASS' "$log" || fail "no PASS marker: gcs did not negotiate"
grep -q 'SELFTEST: entropy served' "$log" || fail "init did not take entropy"
grep -q 'TIMELINE .* init: early modules: [1-9][0-9]* loaded, 0 present, 0 skipped, 0 failed' "$log" ||
  fail "early modules did not all load"
grep -Eq 'TIMELINE .* init: late modules: [1-9][0-9]* loaded, 0 present, [0-9]+ skipped, 0 failed' "$log" ||
  fail "late modules did not all load"
grep -q 'TIMELINE .* init: started `/bin/vsockexec`' "$log" || fail "vsockexec not started"
grep -q '^log| ' "$log" || fail "no gcs log on port 109 (vsockexec -e 109)"
grep -q 'reboot: Power down' "$log" || fail "init did not power off after gcs exited"
echo PASS
