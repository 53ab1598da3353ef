#!/usr/bin/env bash
# vhost-user-vsock benchmark (make bench): one TCG boot of the test initrd with three byte
# streams side by side, measured by the guest (tests/uvm/vhost_guest_bench.c):
#   vsock    our back end (vhost-user-vsock-pci), 1 and 8 streams each way, 1-byte round trip
#   serial   virtio-serial with a unix-socket chardev in the same QEMU (one stream)
#   loopback in-guest vsock over CID 1 (vsock_loopback)
# Prints medians over VHOST_BENCH_RUNS boots (default 3) and the ratios vsock/serial (throughput: >1 is better; RTT: serial/vsock,
# >1 means our round trip is shorter) and vsock/loopback. Target: >= virtio-serial.
set -u
cd "${LCOW_TOP:-.}"
. tests/uvm/vhost_uvm_lib.sh
BYTES=${VHOST_BENCH_BYTES:-134217728}
RUNS=${VHOST_BENCH_RUNS:-3}
work=$(mktemp -d /tmp/vhost-bench.XXXXXX)
trap 'vhost_uvm_cleanup; rm -rf "$work"' EXIT

vhost_uvm_kernel || { echo "no kernel for the guest"; exit 1; }
vhost_uvm_initrd "$work/initrd.gz" || exit 1

run_once() {
  local out=$1
  VHOST_PIDS=()
  rm -f "$work"/*.sock* "$work/backend.log" "$work/host.log"
  vhost_uvm_spawn backend_pid ${VHOST_BENCH_WRAP:-} "${VHOST_BACKEND:-$BUILD/bin/vhost-user-vsock}" --socket "$work/vu.sock" \
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

# Median of a figure over the runs, and the median over the runs of a per-run ratio a/b (the
# two figures of one run share that run's machine load, so their ratio is the steadier number).
fig() { for f in "$work"/run*.log; do awk -v k="$1" '$1 == "VHOST-BENCH" && $2 == k { print $3 }' "$f"; done | median; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "nan"; else if (NR % 2) printf "%.1f", v[(NR + 1) / 2]; else printf "%.1f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() {
  local f
  for f in "$work"/run*.log; do
    awk -v a="$1" -v b="$2" '$1 == "VHOST-BENCH" && $2 == a { x = $3 } $1 == "VHOST-BENCH" && $2 == b { y = $3 }
      END { if (x > 0 && y > 0) printf "%.4f\n", x / y }' "$f"
  done | sort -g | awk '{ v[NR] = $1 } END { if (!NR) print "n/a"; else if (NR % 2) printf "%.2f", v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

for i in $(seq "$RUNS"); do
  run_once "$work/run$i.log" || { echo "bench run $i failed"; cat "$work/run$i.log" 2>/dev/null; exit 1; }
  grep -a VHOST-BENCH "$work/run$i.log"
done

echo
echo "vhost-user-vsock benchmark, TCG guest, $((BYTES >> 20)) MiB per measurement, median of $RUNS run(s)"
printf '%-28s %9s %9s %9s %13s %15s\n' measure vsock serial loopback vsock/serial vsock/loopback
for m in g2h_1 h2g_1 g2h_8 h2g_8; do
  n=${m#*_}
  case $n in 1) sk=serial_$m ;; *) sk=none ;; esac
  printf '%-28s %9s %9s %9s %13s %15s\n' "$m MiB/s" "$(fig "vsock_$m")" "$(fig "$sk")" \
    "$(fig "loopback_$n")" "$(ratio "vsock_$m" "$sk")" "$(ratio "vsock_$m" "loopback_$n")"
done
printf '%-28s %9s %9s %9s %13s %15s\n' "1-byte RTT us (lower=better)" "$(fig vsock_rtt_us)" \
  "$(fig serial_rtt_us)" "$(fig loopback_rtt_us)" "$(ratio serial_rtt_us vsock_rtt_us)" \
  "$(ratio loopback_rtt_us vsock_rtt_us)"
echo "ratios: medians of per-run ratios; for RTT, other/vsock (>1: our round trip is shorter)."
echo "serial carries one stream; loopback is guest-internal (one figure for both directions)."
