#!/usr/bin/env bash
# make bench: `run` of a /bin/true container with ocirun, crun and runc on the same
# bundle, plus the floor (clone + pivot_root + proc + exec only). All of them run inside one
# private mount namespace with /sys/fs/cgroup/unified unmounted, because crun refuses this
# machine's hybrid layout; the others then see the same (legacy v1) layout. Prints medians,
# ratios to crun and peak RSS of each runtime's process tree.
#   RUNS (default 40) timed runs per runtime after WARMUP (default 5), round-robin.
set -u
BUILD=${BUILD:-build}
TOP=${LCOW_TOP:-$(pwd)}
OCIRUN=$TOP/$BUILD/bin/ocirun
BENCH=$TOP/$BUILD/tests/oci_bench
FLOOR=$TOP/$BUILD/tests/oci_floor
TRUE=$TOP/$BUILD/tests/oci_true
RUNS=${RUNS:-40}
WARMUP=${WARMUP:-5}

if [ "${1:-}" != --inner ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
  for t in runc crun jq; do command -v $t >/dev/null || { echo "$t is not installed"; exit 1; }; done
  for b in "$OCIRUN" "$BENCH" "$FLOOR" "$TRUE"; do [ -x "$b" ] || { echo "$b not built"; exit 1; }; done
  WORK=$(mktemp -d /tmp/lcow-oci-bench.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/bundle/rootfs/bin" "$WORK/bundle/rootfs/proc" "$WORK/bundle/rootfs/dev" \
    "$WORK/bundle/rootfs/sys" "$WORK/bundle/rootfs/etc" "$WORK/bundle/rootfs/tmp"
  # A libc-free true: the peak RSS of a run is then the runtime's, not busybox's (~1.3 MiB).
  cp "$TRUE" "$WORK/bundle/rootfs/bin/true"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/bundle/rootfs/etc/passwd"
  (cd "$WORK/bundle" && runc spec)
  jq --arg cg "/lcow-oci-bench-$$/c" '.process.terminal = false | .process.args = ["/bin/true"]
      | .linux.cgroupsPath = $cg' "$WORK/bundle/config.json" >"$WORK/config.tmp"
  mv "$WORK/config.tmp" "$WORK/bundle/config.json"
  unshare -m --propagation private "$0" --inner "$WORK" "lcow-oci-bench-$$"
  exit $?
fi

# ---- inside the private mount namespace ----
WORK=$2
CG=$3
cleanup() {
  for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  # crun in legacy mode also makes plain directories in the tmpfs under the hidden mount.
  if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = tmpfs ]; then
    find /sys/fs/cgroup/unified -mindepth 1 -depth -path "*$CG*" -exec rm -rf {} + 2>/dev/null
  fi
}
trap cleanup EXIT
if mountpoint -q /sys/fs/cgroup/unified; then
  umount /sys/fs/cgroup/unified || { echo "cannot unmount the unified hierarchy"; exit 1; }
fi
cd "$WORK/bundle" || exit 1
"$BENCH" "$RUNS" "$WARMUP" \
  -- floor "$FLOOR" "$WORK/bundle/rootfs" /bin/true \
  -- ocirun "$OCIRUN" --root "$WORK/st-ocirun" run b1 \
  -- crun crun --root "$WORK/st-crun" run b1 \
  -- runc runc --root "$WORK/st-runc" run b1 >"$WORK/results"
rc=$?
cat "$WORK/results"
[ $rc = 0 ] || exit $rc
awk '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
  END {
    crun = v["crun", "median_ms"]
    printf "%-8s %10s %10s %12s %8s\n", "runtime", "median_ms", "vs_crun", "peak_rss_MiB", "failed"
    for (i = 1; i <= NR; i++) {
      n = names[i]
      printf "%-8s %10.2f %10.2f %12.2f %8d\n", n, v[n, "median_ms"], v[n, "median_ms"] / crun,
             v[n, "rss_kib_max"] / 1024, v[n, "failures"]
    }
    bad = v["ocirun", "failures"] + v["crun", "failures"] + v["runc", "failures"] + v["floor", "failures"]
    exit bad > 0
  }' "$WORK/results"
