#!/usr/bin/env bash
# make bench: `runlcow run` of an echo container end to end under this machine's accelerator
# (TCG here), split into QEMU start -> kernel -> init -> GCS negotiated -> layers attached ->
# container output -> exit -> UVM stopped (the supervisor's --timeline milestones; the kernel
# and init points need the console, so those runs add loglevel=7), plus the host memory of one
# UVM while a container runs: RSS and PSS of QEMU, the vsock back end and the runlcow
# supervisor. Peers (peers.md, on KVM): Kata boot to workload 0.71 s (QEMU) / 0.39 s (CLH);
# Kata memory per sandbox about 123 MB PSS (QEMU + shim + virtiofsd); Firecracker <=125 ms to
# /sbin/init; ctr run with Kata + QEMU 0.48 s (maintainer) to 4 s (user report).
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
runs=${RUNLCOW_BENCH_RUNS:-3}
d=$(mktemp -d /tmp/rlbench.XXXXXX)
trap 'rl_kill_ours "$d"; rm -rf "$d"' EXIT
rl() { "$build/bin/runlcow" --root "$d/root" --scratch-size 256 "$@"; }
rl_bundle "$d/echo" /bin/echo hello
rl_bundle "$d/idle" /bin/sleep 600

accel=auto
[ -c /dev/kvm ] || accel=tcg
echo "runlcow run (echo container), ms from QEMU start; $runs runs each"
printf '%-10s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' mode kernel init entropy log \
  negotiat layers output exit stopped wall
one() { # MODE KERNEL_ARGS
  local mode=$1 kargs=$2 t0 t1
  t0=$(date +%s%N)
  rl ${kargs:+--kernel-args "$kargs"} --timeline "$d/t.json" run -b "$d/echo" "b$RANDOM" \
    < /dev/null > "$d/out" 2>&1 || { cat "$d/out"; exit 1; }
  t1=$(date +%s%N)
  grep -qx hello "$d/out" || { echo "FAIL: no output"; cat "$d/out"; exit 1; }
  [ "$mode" = quiet ] && rl_walls+=($(( (t1 - t0) / 1000000 )))
  jq -r --arg m "$mode" --arg w $(( (t1 - t0) / 1000000 )) \
    '[$m, .console_ms, .init_ms, .entropy_ms, .log_ms, .negotiated_ms, .layers_ms, .output_ms,
      .exit_ms, .stopped_ms, ($w | tonumber)] | map(if type == "number" then
      (if . < 0 then "-" else (. | floor | tostring) end) else . end) |
      "\(.[0]) \(.[1]) \(.[2]) \(.[3]) \(.[4]) \(.[5]) \(.[6]) \(.[7]) \(.[8]) \(.[9]) \(.[10])"' \
    "$d/t.json" | awk '{ printf "%-10s %8s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", $1, $2, $3,
      $4, $5, $6, $7, $8, $9, $10, $11 }'
}
rl_walls=()
for _ in $(seq "$runs"); do one quiet ""; done
for _ in $(seq "$runs"); do one console "loglevel=7"; done
echo "(layers: the rootfs image is cached by content after the first run; 'wall' includes"
echo " runlcow start-up, the bundle check and the teardown after 'stopped')"

# In-run baseline: the same bundle run on this host by ocirun (same executor, no UVM).
walls=()
for _ in $(seq "$runs"); do
  t0=$(date +%s%N)
  "$build/bin/ocirun" --root "$d/oci" run -b "$d/echo" "o$RANDOM" < /dev/null > "$d/oout" 2>&1 ||
    { cat "$d/oout"; exit 1; }
  walls+=($(( ($(date +%s%N) - t0) / 1000000 )))
done
echo "baseline: ocirun run of the same bundle on the host (no UVM), wall ms: ${walls[*]}"
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
m_rl=$(median "${rl_walls[@]}")
m_oci=$(median "${walls[@]}")
echo "ratio runlcow run / ocirun run (median wall): $m_rl / $m_oci ms = $(echo "scale=1; $m_rl / $m_oci" | bc)x"

rl run -d -b "$d/idle" mem < /dev/null > /dev/null 2>&1
sleep 2
s=$d/root/mem/state.json
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
pss() { awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup"; }
total_r=0 total_p=0
echo "host memory of one UVM (1024 MiB guest, idle container), KiB:"
for what in runlcowQemuPid:qemu runlcowBackendPid:vhost-user-vsock pid:runlcow-supervisor; do
  p=$(jq ".${what%%:*}" "$s")
  r=$(rss "$p"); q=$(pss "$p")
  total_r=$((total_r + r)); total_p=$((total_p + q))
  printf '  %-20s RSS %8d  PSS %8d\n' "${what#*:}" "$r" "$q"
done
printf '  %-20s RSS %8d  PSS %8d  (Kata/QEMU per sandbox: about 123 MB PSS)\n' total \
  "$total_r" "$total_p"
rl delete --force mem
