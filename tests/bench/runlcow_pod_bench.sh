#!/usr/bin/env bash
# make bench: a pod's second container vs its first, under this machine's accelerator (TCG
# here). "first": `runlcow run` of an echo container that boots its own UVM (QEMU start, boot,
# layers, Create, Start, output, exit, teardown of container and UVM). "second": the same echo
# bundle run with `runlcow run --host SB` into the UVM of a running sandbox (layer reference or
# hot-plug, scratch hot-plug + format, CombinedLayers, Create, Start, output, exit, its own
# teardown: DeleteContainerState, scratch unplug), and the same with the echo program on the
# sandbox's rootfs (its layer disk shared). Wall ms, RUNS each, alternating; medians and
# the ratio. For scale in the same run: runc's `run` of the same bundle on the host (and ocirun,
# our executor). Peers (peers.md §1.7, on KVM): Kata via CRI 850-950 ms serial (Kata 2.5 + CLH;
# Kuasar's sandboxer 300-360 ms, kuasar.io report); a k8s create->running floor of about 5 s
# kata vs about 1 s runc (third party).
set -euo pipefail
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
runs=${RUNLCOW_POD_BENCH_RUNS:-5}
. "$top/tests/uvm/runlcow_lib.sh"
d=$(mktemp -d /tmp/rlpodbench.XXXXXX)
trap 'rl_kill_ours "$d"; rm -rf "$d"' EXIT
rl() { timeout 300 "$build/bin/runlcow" --root "$d/root" --scratch-size 64 "$@"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

rl_bundle "$d/echo" /bin/echo hello
rl_bundle "$d/sb" /bin/sleep 100000
rl run -d -b "$d/sb" sb < /dev/null > "$d/sb.out" 2>&1 || { cat "$d/sb.out"; exit 1; }
# The echo program on the sandbox's own rootfs: the same cached image, so its layer disk is
# shared (refcounted) and only the scratch is hot-plugged.
rl_bundle "$d/same" /bin/echo hello
jq --arg r "$d/sb/rootfs" '.root.path = $r' "$d/same/config.json" > "$d/same/config.json.new"
mv "$d/same/config.json.new" "$d/same/config.json"

one() { # OUT_ARRAY BUNDLE ARGS...: wall ms of one runlcow run of an echo bundle
  local -n acc=$1
  local b=$2
  shift 2
  local t0
  t0=$(now_ms)
  rl run -b "$d/$b" "$@" < /dev/null > "$d/out" 2>&1 || { cat "$d/out"; exit 1; }
  grep -qx hello "$d/out" || { echo "FAIL: no output: $(cat "$d/out")"; exit 1; }
  acc+=($(( $(now_ms) - t0 )))
}
first=() second=() shared=()
for i in $(seq "$runs"); do
  one first echo "f$i"
  one second echo --host sb "s$i"
  one shared same --host sb "l$i"
done
n=0
for f in $(grep -lsF -- "$d/root/" /proc/[0-9]*/cmdline || true); do
  tr '\0' ' ' < "$f" 2>/dev/null | grep -q '^[^ ]*qemu-system' && n=$((n + 1))
done

base() { # OUT_ARRAY RUNTIME
  local -n acc=$1
  local t0
  for i in $(seq "$runs"); do
    t0=$(now_ms)
    "$2" --root "$d/$2-root" run -b "$d/echo" "h$i" < /dev/null > "$d/hout" 2>&1 ||
      { cat "$d/hout"; exit 1; }
    acc+=($(( $(now_ms) - t0 )))
  done
}
runc_w=() oci_w=()
command -v runc > /dev/null && base runc_w runc
PATH=$build/bin:$PATH base oci_w ocirun

m1=$(median "${first[@]}")
m2=$(median "${second[@]}")
echo "runlcow pod: echo container run to completion, wall ms ($runs runs each, alternating)"
echo "  first  (boots its own UVM):          ${first[*]}  median $m1"
echo "  second (--host into the running UVM): ${second[*]}  median $m2"
echo "  ratio first / second (median): $m1 / $m2 = $(echo "scale=1; $m1 / $m2" | bc)x"
m3=$(median "${shared[@]}")
echo "  second, layer shared with the sandbox:  ${shared[*]}  median $m3"
if [ ${#runc_w[@]} -gt 0 ]; then
  mr=$(median "${runc_w[@]}")
  echo "  runc run of the same bundle (host): ${runc_w[*]}  median $mr;" \
    "second / runc = $(echo "scale=1; $m2 / $mr" | bc)x"
fi
mo=$(median "${oci_w[@]}")
echo "  ocirun run of the same bundle (host): ${oci_w[*]}  median $mo"
echo "  QEMU processes while the sandbox ran: ${n:-?} (one UVM for all second runs)"
rl delete --force sb
