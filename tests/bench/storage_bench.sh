#!/usr/bin/env bash
# make bench: time to build a 4-layer and a 64-layer overlay stack from ModifySettings Adds
# (N × MappedVirtualDisk read-only + CombinedLayers), against the bare mount(2) calls doing the
# same work in the same run, on loop devices behind a fake sysfs tree. Two levels:
#   library: gcs/storage.c from decoded requests (storage_bench, median of alternating rounds)
#   bridge:  the same requests to `gcs -bridge unix:` through the host client (storage_host),
#            each timed from send to response, each stack followed by a bare one
# Target (issue 5): per-layer cost within 2x of bare mount(2).
set -euo pipefail
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
ROUNDS=${STORAGE_BENCH_ROUNDS:-15}
BRIDGE_ROUNDS=${STORAGE_BENCH_BRIDGE_ROUNDS:-5}

T=$(mktemp -d /tmp/lcow-sbench.XXXXXX)
R=/run/lcow-sb.$$
LOOPS=()
GCS_PID=
cleanup() {
  set +e
  [ -n "${COPROC_PID:-}" ] && kill "$COPROC_PID" 2>/dev/null
  [ -n "$GCS_PID" ] && kill "$GCS_PID" 2>/dev/null && wait "$GCS_PID" 2>/dev/null
  findmnt -rn -o TARGET | grep -E "^$R(/|$)" | sort -r | while read -r m; do umount -l "$m"; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  rm -rf "$R" "$T"
}
trap cleanup EXIT

mkdir -p "$R" "$T/layer" "$T/dev"
for i in $(seq 1 20); do echo "file $i" > "$T/layer/f$i"; done
mkfs.ext4 -q -d "$T/layer" "$T/layer.img" 4M
S=$T/sys
mkdir -p "$S/devices/pci0000:00/0000:00:03.0/virtio1/host0" "$S/bus/virtio/drivers/virtio_scsi"
ln -s ../../../../devices/pci0000:00/0000:00:03.0/virtio1 "$S/bus/virtio/drivers/virtio_scsi/virtio1"
for i in $(seq 0 63); do
  l=$(losetup --find --show --read-only "$T/layer.img"); LOOPS+=("$l")
  mkdir -p "$S/bus/scsi/devices/0:0:0:$i/block/sd$i"
  ln -s "$l" "$T/dev/sd$i"
done

echo "== library level (gcs/storage.c vs bare mount(2), median of $ROUNDS alternating rounds)"
declare -A bare_us
for n in 4 64; do
  out=$("$build/tests/storage_bench" "$S" "$T/dev" "$R/lib$n" "$n" "$ROUNDS")
  echo "$out"
  bare_us[$n]=$(awk '/add:/ {for (i = 1; i <= NF; i++) if ($i == "mount(2)") print $(i + 1)}' <<<"$out")
done

echo "== bridge level (gcs -bridge unix:, each request timed from send to response; median of $BRIDGE_ROUNDS rounds, each followed by a bare stack)"
"$build/bin/gcs" -bridge "unix:$T/b" -sysfs-root "$S" -dev-root "$T/dev" -loglevel warning \
  2>"$T/gcs.log" &
GCS_PID=$!
coproc "$build/tests/storage_host" "unix:$T/b"
read -r line <&"${COPROC[0]}"; [ "$line" = READY ] || { echo "gcs did not connect"; exit 1; }
uvm='"ContainerId":"00000000-0000-0000-0000-000000000000"'
call() { echo "$1" >&"${COPROC[1]}"; read -r REPLY_LINE <&"${COPROC[0]}"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
bridge_stack() { # N ROUND -> total microseconds of the Adds; removes the stack again
  local n=$1 p=$R/br$1-$2 total=0 layers= i
  for i in $(seq 0 $((n - 1))); do
    call "TIME {$uvm,\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"$p/m$i\",\"Lun\":$i,\"ReadOnly\":true,\"Options\":[\"ro\"]}}}"
    [[ $REPLY_LINE == OK* ]] || { echo "bridge Add failed: $REPLY_LINE" >&2; exit 1; }
    total=$((total + ${REPLY_LINE#OK }))
    layers+="${layers:+,}{\"Path\":\"$p/m$i\"}"
  done
  call "TIME {$uvm,\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{\"ContainerRootPath\":\"$p/c/rootfs\",\"ScratchPath\":\"$p/c/scratch\",\"Layers\":[$layers]}}}"
  [[ $REPLY_LINE == OK* ]] || { echo "bridge CombinedLayers failed: $REPLY_LINE" >&2; exit 1; }
  total=$((total + ${REPLY_LINE#OK }))
  call "{$uvm,\"Request\":{\"RequestType\":\"Remove\",\"ResourceType\":\"CombinedLayers\",\"Settings\":{\"ContainerRootPath\":\"$p/c/rootfs\"}}}"
  for i in $(seq 0 $((n - 1))); do
    call "{$uvm,\"Request\":{\"RequestType\":\"Remove\",\"ResourceType\":\"MappedVirtualDisk\",\"Settings\":{\"MountPath\":\"$p/m$i\",\"Lun\":$i}}}"
  done
  echo "$total"
}
for n in 4 64; do
  : > "$T/bridge.$n"; : > "$T/bare.$n"
  for r in $(seq 1 "$BRIDGE_ROUNDS"); do
    bridge_stack "$n" "$r" >> "$T/bridge.$n"
    "$build/tests/storage_bench" "$S" "$T/dev" "$R/bare$n" "$n" 1 bare | awk '{ print $2 }' >> "$T/bare.$n"
  done
  awk -v n="$n" -v t="$(median < "$T/bridge.$n")" -v b="$(median < "$T/bare.$n")" 'BEGIN {
    printf "layers=%d  add via bridge %.0f us (%.1f us/layer)   bare mount(2) %.0f us (%.1f us/layer)   ratio %.2f\n",
      n, t, t / n, b, b / n, t / b }'
done
