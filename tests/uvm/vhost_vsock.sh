#!/usr/bin/env bash
# vhost-user-vsock end to end under QEMU (TCG): our back end serves -device vhost-user-vsock-pci;
# tests/vhost_guest is the guest's /init and tests/vhost_host the host peer. Cases:
#   nolistener   guest connect to a port nobody listens on -> ECONNRESET at once
#   g2h / h2g    256 MiB each way (VHOST_BYTES), every byte checked on the receiving side;
#                h2g goes through "CONNECT <port>" and ends with a host half-close
#   concurrent   64 streams open at once, echoed, each checked
#   halfclose    the guest half-closes and still reads the answer
#   hold         two streams left open while the guest powers off: both must end on the host,
#                and the back end must exit 0 on its own
#   reset        (second boot pair, QEMU without -no-reboot) the guest reboots with a stream
#                open: the device reset closes it on the host, and after the reboot the data
#                path works again on the same back end
set -u
cd "${LCOW_TOP:-.}"
. tests/uvm/vhost_uvm_lib.sh
BYTES=${VHOST_BYTES:-268435456}
work=$(mktemp -d /tmp/vhost-uvm.XXXXXX)
[ -n "${VHOST_KEEP:-}" ] && echo "work dir: $work (kept)"
trap 'vhost_uvm_cleanup; [ -n "${VHOST_KEEP:-}" ] || rm -rf "$work"' EXIT

command -v qemu-system-x86_64 >/dev/null || { echo "qemu-system-x86_64 missing (.ci/packages)"; exit 1; }
vhost_uvm_kernel || { echo "no kernel for the guest"; exit 1; }
vhost_uvm_initrd "$work/initrd.gz" || { echo "test initrd build failed"; exit 1; }
vhost_uvm_log "kernel $VMLINUX, modules $MODDIR"

vusock="$work/vu.sock"
uds="$work/v.sock"
vhost_uvm_spawn backend_pid "$BUILD/bin/vhost-user-vsock" --socket "$vusock" --uds "$uds" \
  --guest-cid 3 2>"$work/backend.log"
vhost_uvm_wait_for "$work/backend.log" 10 listening || { cat "$work/backend.log"; exit 1; }
vhost_uvm_spawn host_pid "$BUILD/tests/vhost_host" suite "$uds" "$BYTES" >"$work/host.log" 2>&1
vhost_uvm_wait_for "$work/host.log" 10 HOST-READY || { cat "$work/host.log"; exit 1; }

vhost_uvm_qemu_args "$work/initrd.gz" "vt=suite vt.bytes=$BYTES" "$vusock"
vhost_uvm_log "starting QEMU"
start=$(date +%s)
timeout 300 "${QEMU_ARGS[@]}" >"$work/console.log" 2>"$work/qemu.err"
qemu_rc=$?
vhost_uvm_log "QEMU exited ($qemu_rc) after $(($(date +%s) - start)) s"

# The back end must notice QEMU's exit and leave by itself, with status 0.
backend_rc=timeout
for _ in $(seq 100); do
  if ! kill -0 "$backend_pid" 2>/dev/null; then
    wait "$backend_pid"
    backend_rc=$?
    break
  fi
  sleep 0.1
done
host_rc=timeout
for _ in $(seq 100); do
  if ! kill -0 "$host_pid" 2>/dev/null; then
    wait "$host_pid"
    host_rc=$?
    break
  fi
  sleep 0.1
done

echo "--- guest console"; grep -a -E 'VHOST|vhost_guest' "$work/console.log"
echo "--- host peer"; cat "$work/host.log"
echo "--- back end (rc=$backend_rc)"; tail -n 20 "$work/backend.log"
[ -s "$work/qemu.err" ] && { echo "--- qemu stderr"; cat "$work/qemu.err"; }

fail=0
for c in nolistener g2h h2g concurrent halfclose hold; do
  if grep -aq "VHOST-RESULT $c PASS" "$work/console.log"; then
    echo "PASS guest $c"
  else
    echo "FAIL guest $c"
    fail=1
  fi
done
[ "$qemu_rc" = 0 ] || { echo "FAIL qemu exit status $qemu_rc"; fail=1; }
[ "$backend_rc" = 0 ] || { echo "FAIL back end exit status $backend_rc (want 0 after QEMU exit)"; fail=1; }
[ "$host_rc" = 0 ] || { echo "FAIL host peer ($host_rc)"; fail=1; }
if grep -q "sanitizer\|runtime error" "$work/backend.log"; then
  echo "FAIL sanitizer report in the back end's log"
  fail=1
fi

# --- guest reset: one back end, one QEMU, two boots ---
vhost_uvm_cleanup
VHOST_PIDS=()
rm -f "$work"/*.sock*
vhost_uvm_spawn backend_pid "$BUILD/bin/vhost-user-vsock" --socket "$vusock" --uds "$uds" \
  2>"$work/backend2.log"
vhost_uvm_wait_for "$work/backend2.log" 10 listening || { cat "$work/backend2.log"; exit 1; }
vhost_uvm_spawn host_pid "$BUILD/tests/vhost_host" reset "$uds" >"$work/host2.log" 2>&1
vhost_uvm_wait_for "$work/host2.log" 10 HOST-READY || { cat "$work/host2.log"; exit 1; }
vhost_uvm_qemu_args "$work/initrd.gz" "vt=reset" "$vusock"
args=()
for a in "${QEMU_ARGS[@]}"; do [ "$a" = -no-reboot ] || args+=("$a"); done
vhost_uvm_log "starting QEMU (reset case)"
timeout 300 "${args[@]}" >"$work/console2.log" 2>"$work/qemu2.err"
qemu_rc=$?
backend_rc=timeout
for _ in $(seq 100); do
  if ! kill -0 "$backend_pid" 2>/dev/null; then
    wait "$backend_pid"
    backend_rc=$?
    break
  fi
  sleep 0.1
done
echo "--- reset case: guest console"; grep -a -E 'VHOST|vhost_guest' "$work/console2.log"
echo "--- reset case: host peer"; cat "$work/host2.log"
for c in reset-first reset-second; do
  if grep -aq "VHOST-RESULT $c PASS" "$work/console2.log"; then echo "PASS guest $c"; else echo "FAIL guest $c"; fail=1; fi
done
for c in reset-hold reset-data; do
  if grep -aq "HOST-RESULT $c PASS" "$work/host2.log"; then echo "PASS host $c"; else echo "FAIL host $c"; fail=1; fi
done
[ "$qemu_rc" = 0 ] || { echo "FAIL qemu exit status $qemu_rc (reset case)"; fail=1; }
[ "$backend_rc" = 0 ] || { echo "FAIL back end exit status $backend_rc (reset case)"; fail=1; }
exit $fail
