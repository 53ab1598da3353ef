#!/usr/bin/env bash
# make bench: one host directory shared into one QEMU (TCG) UVM two ways, measured side by side
# in the same boot:
#   ours:  lcow-9p-server (host/p9_*) over vhost-user-vsock, mounted by gcs's MappedDirectory
#          Add (9p trans=fd, msize 65536: what hcsshim's guest does)
#   qemu:  QEMU's own virtio-9p (-virtfs local,security_model=none), mounted with
#          trans=virtio,version=9p2000.L,msize=65536 (same msize)
# Sequential read (cat of a file to /dev/null), sequential write (dd from /dev/zero, then sync),
# and stat rate (ls -l of a directory of small files, cache=none so every entry is a lookup +
# getattr). Then the server alone, without a VM: plan9_server_bench's client on a socketpair
# against ours and against Debian's diod (-r/-w FD), so the transport's share is visible. Each figure is the median of PLAN9_BENCH_ROUNDS alternating rounds, timed inside
# the guest (/proc/uptime, 10 ms). Reported as MB/s, stats/s and ours/qemu ratios.
set -euo pipefail
. "${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
  "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge" "$build/bin/lcow-9p-server" \
  "$build/tests/plan9_server_bench"
UVM_FAIL_LOGS="console.log host.log p9.log out"
fail() { uvm_fail "$@"; }
MB=${PLAN9_BENCH_MB:-64}
FILES=${PLAN9_BENCH_FILES:-500}
ROUNDS=${PLAN9_BENCH_ROUNDS:-3}

mkdir -p "$d/share/many"
head -c "${MB}M" /dev/urandom > "$d/share/big"
for i in $(seq "$FILES"); do echo "$i" > "$d/share/many/f$i"; done

uvm_start_host 1200
uvm_spawn "$build/bin/lcow-9p-server" --listen "unix:$d/h:564" --share "1=$d/share" > "$d/p9.log" 2>&1
uvm_wait_sockets "$d/vu.sock" "$d/h_564" "$d/h_109" || true
[ -S "$d/h_564" ] || fail "helpers did not start"
uvm_start_qemu -virtfs "local,path=$d/share,mount_tag=hostshare,security_model=none,id=fs0"

bridge() { timeout 600 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 590 "$@"; }
guest() { bridge exec -- /bin/sh -c "$1" > "$d/out" 2>&1 || fail "guest: $1: $(cat "$d/out")"; }
ours=/run/gcs/c/bench/mounts/m0
virt=/run/bench-virtio
bridge raw 0x10100a01 "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"MappedDirectory\",\"Settings\":{\"MountPath\":\"$ours\",\"Port\":564,\"ShareName\":\"1\",\"ReadOnly\":false}}}" \
  > "$d/out" 2>&1 || fail "MappedDirectory Add: $(cat "$d/out")"
guest "mkdir -p $virt && mount -t 9p -o trans=virtio,version=9p2000.L,msize=65536 hostshare $virt"

# One guest script per round: prints "read|write|stat ours|qemu START END" for both, alternating
# which goes first.
cat > "$d/share/bench.sh" <<EOF
now() { cut -d' ' -f1 /proc/uptime; }
one() { # one NAME DIR
  t0=\$(now); cat \$2/big > /dev/null; t1=\$(now)
  dd if=/dev/zero of=\$2/w bs=1M count=$MB 2>/dev/null; sync; t2=\$(now)
  ls -l \$2/many > /dev/null; t3=\$(now)
  rm -f \$2/w
  echo "read \$1 \$t0 \$t1"
  echo "write \$1 \$t1 \$t2"
  echo "stat \$1 \$t2 \$t3"
}
if [ "\$1" = 0 ]; then one ours $ours; one qemu $virt; else one qemu $virt; one ours $ours; fi
EOF
: > "$d/results"
for r in $(seq "$ROUNDS"); do
  guest "sh $ours/bench.sh $((r % 2))"
  cat "$d/out" >> "$d/results"
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
report() { # report KIND UNITS PER
  local o q
  o=$(awk -v k="$1" '$1==k && $2=="ours" {print $4 - $3}' "$d/results" | median)
  q=$(awk -v k="$1" '$1==k && $2=="qemu" {print $4 - $3}' "$d/results" | median)
  awk -v k="$1" -v u="$2" -v n="$3" -v o="$o" -v q="$q" 'BEGIN {
    ro = (o > 0) ? n / o : 0; rq = (q > 0) ? n / q : 0
    printf "plan9 %-5s ours %8.1f %s  qemu-virtio-9p %8.1f %s  ours/qemu %.2f  (%.2fs vs %.2fs)\n",
      k, ro, u, rq, u, (rq > 0) ? ro / rq : 0, o, q }'
}
echo "plan9 bench: ${MB} MiB file, ${FILES} files, median of ${ROUNDS} rounds, QEMU TCG, msize 65536"
report read MB/s "$MB"
report write MB/s "$MB"
report stat stats/s "$FILES"
bridge shutdown --forced > /dev/null 2>&1 || true

# The server alone (no VM): same client on a socketpair, ours vs Debian's diod, alternating.
if command -v diod > /dev/null; then
  : > "$d/server"
  for r in $(seq 5); do
    "$build/tests/plan9_server_bench" "$d/share" >> "$d/server" || fail "server bench (ours)"
    "$build/tests/plan9_server_bench" "$d/share" diod >> "$d/server" || fail "server bench (diod)"
  done
  sm() { awk -v w="$1" -v f="$2" '$1==w {print $f}' "$d/server" | median; }
  awk -v orr="$(sm ours 3)" -v dr="$(sm diod 3)" -v os="$(sm ours 6)" -v ds="$(sm diod 6)" 'BEGIN {
    printf "plan9 server-only read  ours %6.0f MB/s     diod %6.0f MB/s     ours/diod %.2f\n", orr, dr, orr / dr
    printf "plan9 server-only stat  ours %6.0f stats/s  diod %6.0f stats/s  ours/diod %.2f\n", os, ds, os / ds }'
else
  echo "plan9 server-only: diod not installed, skipped (apt-get install diod)"
fi
