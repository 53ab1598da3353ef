#!/usr/bin/env bash
# vhost-user-vsock benchmark (make bench): one TCG boot of the test initrd with three byte
# streams side by side, measured by the guest (tests/uvm/vhost_guest_bench.c):
#   vsock    our back end (vhost-user-vsock-pci), 1 and 8 streams each way, 1-byte round trip
#   serial   virtio-serial with a unix-socket chardev in the same QEMU (one stream)
#   loopback in-guest vsock over CID 1 (vsock_loopback)
# Prints the figures and the ratios vsock/serial (throughput: >1 is better; RTT: serial/vsock,
# >1 means our round trip is shorter) and vsock/loopback. Target: >= virtio-serial.
set -u
cd "${LCOW_TOP:-.}"
. tests/uvm/vhost_uvm_lib.sh
BYTES=${VHOST_BENCH_BYTES:-134217728}
RUNS=${VHOST_BENCH_RUNS:-1}
work=$(mktemp -d /tmp/vhost-bench.XXXXXX)
trap 'vhost_uvm_cleanup; rm -rf "$work"' EXIT

vhost_uvm_kernel || { echo "no kernel for the guest"; exit 1; }
vhost_uvm_initrd "$work/initrd.gz" || exit 1

run_once() {
  local out=$1
  VHOST_PIDS=()
  rm -f "$work"/*.sock* "$work/backend.log" "$work/host.log"
  vhost_uvm_spawn backend_pid ${VHOST_BENCH_WRAP:-} "$BUILD/bin/vhost-user-vsock" --socket "$work/vu.sock" \
    --uds "$work/v.sock" 2>"$work/backend.log"
  vhost_uvm_wait_for "$work/backend.log" 10 listening || return 1
  vhost_uvm_spawn host_pid "$BUILD/tests/vhost_host" bench "$work/v.sock" "$work/vser.sock" \
    "$BYTES" >"$work/host.log" 2>&1
  vhost_uvm_wait_for "$work/host.log" 10 HOST-READY || return 1
  vhost_uvm_qemu_args "$work/initrd.gz" "vt=bench vt.bytes=$BYTES" "$work/vu.sock"
  QEMU_ARGS+=(-chardev "socket,id=vs0,path=$work/vser.sock,server=on,wait=off"
    -device virtio-serial-pci -device virtserialport,chardev=vs0,name=bench)
  timeout 600 "${QEMU_ARGS[@]}" >"$out" 2>"$work/qemu.err"
  local rc=$?
  sleep 0.5
  vhost_uvm_cleanup
  [ $rc = 0 ] || { cat "$work/qemu.err"; return 1; }
}

fig() { awk -v k="$1" '$1 == "VHOST-BENCH" && $2 == k { s += $3; n++ } END { if (n) printf "%.1f", s / n; else print "nan" }' "$work"/run*.log; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "n/a" }'; }

for i in $(seq "$RUNS"); do
  run_once "$work/run$i.log" || { echo "bench run $i failed"; cat "$work/run$i.log" 2>/dev/null; exit 1; }
  grep -a VHOST-BENCH "$work/run$i.log"
done

echo
echo "vhost-user-vsock benchmark, TCG guest, $((BYTES >> 20)) MiB per measurement, mean of $RUNS run(s)"
printf '%-26s %10s %10s %10s %14s %14s\n' measure vsock serial loopback vsock/serial vsock/loopback
for m in g2h_1 h2g_1 g2h_8 h2g_8; do
  v=$(fig "vsock_$m")
  case $m in *_8) s=nan ;; *) s=$(fig "serial_$m") ;; esac
  l=$(fig "loopback_${m#*_}")
  printf '%-26s %10s %10s %10s %14s %14s\n' "$m MiB/s" "$v" "$s" "$l" "$(ratio "$v" "$s")" "$(ratio "$v" "$l")"
done
v=$(fig vsock_rtt_us) s=$(fig serial_rtt_us) l=$(fig loopback_rtt_us)
printf '%-26s %10s %10s %10s %14s %14s\n' "1-byte RTT us (lower=better)" "$v" "$s" "$l" "$(ratio "$s" "$v")" "$(ratio "$l" "$v")"
echo "(serial carries one stream; loopback is guest-internal, so both directions share one figure)"
