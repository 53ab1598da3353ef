#!/usr/bin/env bash
# make bench: runlcow's read-only layer attach, VPMem vs SCSI, on the same busybox tree in the
# same run (alternating, ROUNDS each): a bundle whose rootfs is a directory (one ext4 from
# layers.c, hot-plugged on SCSI over QMP + MappedVirtualDisk) against the same tree as a
# one-layer OCI image (lcow-tar2ext4's image, cold-plugged virtio-pmem + VPMemDevice). From the
# supervisor's --timeline: negotiated -> layers attached (layer + scratch + CombinedLayers) and
# QEMU start -> container output; plus the wall time of `runlcow run` for the OCI image with an
# empty layer cache (conversion included) against a warm one.
set -euo pipefail
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
ROUNDS=${RUNLCOW2_BENCH_ROUNDS:-3}
. "$top/tests/uvm/runlcow_lib.sh"
d=$(mktemp -d /tmp/rl2bench.XXXXXX)
trap 'rl_kill_ours "$d"; rm -rf "$d"' EXIT
rl() { timeout 240 "$build/bin/runlcow" --root "$d/root" --scratch-size 64 "$@"; }

rl_bundle "$d/scsi" /bin/echo hi
mkdir -p "$d/oci/image/blobs/sha256"
tar --numeric-owner -C "$d/scsi/rootfs" -cf "$d/l.tar" .
h=$(sha256sum "$d/l.tar" | cut -d' ' -f1)
cp "$d/l.tar" "$d/oci/image/blobs/sha256/$h"
echo '{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[]}}' > "$d/cfg"
c=$(sha256sum "$d/cfg" | cut -d' ' -f1)
cp "$d/cfg" "$d/oci/image/blobs/sha256/$c"
jq -nc --arg c "sha256:$c" --arg l "sha256:$h" --argjson sc "$(stat -c %s "$d/cfg")" \
  --argjson sl "$(stat -c %s "$d/l.tar")" \
  '{schemaVersion:2, config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$sc},
    layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar",digest:$l,size:$sl}]}' > "$d/man"
m=$(sha256sum "$d/man" | cut -d' ' -f1)
cp "$d/man" "$d/oci/image/blobs/sha256/$m"
echo '{"imageLayoutVersion":"1.0.0"}' > "$d/oci/image/oci-layout"
jq -nc --arg m "sha256:$m" --argjson s "$(stat -c %s "$d/man")" \
  '{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$s}]}' \
  > "$d/oci/image/index.json"
jq '.root.path="image"' "$d/scsi/config.json" > "$d/oci/config.json"

now() { date +%s.%N; }
declare -A attach e2e wall
one() { # KIND
  local t0 t1
  t0=$(now)
  rl --timeline "$d/t.json" run -b "$d/$1" "b$RANDOM" < /dev/null > /dev/null
  t1=$(now)
  attach[$1]+="$(jq '.layers_ms - .negotiated_ms' "$d/t.json") "
  e2e[$1]+="$(jq '.output_ms' "$d/t.json") "
  wall[$1]+="$(echo "$t1 - $t0" | bc) "
}
# Cold cache first (the OCI layer is converted inside that run), then warm rounds.
t0=$(now)
rl run -b "$d/oci" cold < /dev/null > /dev/null
cold=$(echo "$(now) - $t0" | bc)
for _ in $(seq "$ROUNDS"); do one scsi; one oci; done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf 'runlcow2 bench: busybox rootfs (%s KB tar), %d rounds, medians\n' "$(( $(stat -c %s "$d/l.tar") / 1024 ))" "$ROUNDS"
for k in scsi oci; do
  printf '  %-5s layers attached %7.1f ms after negotiation   output at %7.1f ms   run %6.2f s\n' \
    "$([ $k = oci ] && echo vpmem || echo scsi)" "$(echo "${attach[$k]}" | median)" \
    "$(echo "${e2e[$k]}" | median)" "$(echo "${wall[$k]}" | median)"
done
printf '  vpmem/scsi attach ratio %.2f\n' \
  "$(echo "$(echo "${attach[oci]}" | median) / $(echo "${attach[scsi]}" | median)" | bc -l)"
printf '  OCI image run with an empty layer cache %.2f s vs warm %.2f s\n' "$cold" \
  "$(echo "${wall[oci]}" | median)"
