#!/usr/bin/env bash
# make bench: `ctr run --rm` of a busybox echo through a private containerd (the
# io.containerd.runc.v2 shim, go-runc) with --runc-binary ocirun vs runc vs crun, round-robin
# in one oci_bench invocation so machine noise hits all alike; medians, p10/p90 and the
# ratios to runc. Everything runs inside a private mount namespace with
# /sys/fs/cgroup/unified unmounted, because crun refuses this machine's hybrid layout; the
# others then see the same (legacy v1) layout. Then part 1's bench (tests/bench/oci_run.sh,
# the runtimes without containerd) runs again, so both sets of figures come from one call.
#   RUNS (default 20) timed runs per runtime after WARMUP (default 3).
set -u
BUILD=${BUILD:-build}
TOP=${LCOW_TOP:-$(pwd)}
RUNS=${RUNS:-20}
WARMUP=${WARMUP:-3}
BENCH=$TOP/$BUILD/tests/oci_bench

if [ "${1:-}" != --inner ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
  [ -x "$BENCH" ] || { echo "$BENCH not built"; exit 1; }
  unshare -m --propagation private "$0" --inner
  rc=$?
  echo "# part 1's bench (tests/bench/oci_run.sh), same invocation"
  RUNS=$RUNS "$TOP/tests/bench/oci_run.sh" || rc=1
  exit $rc
fi

# ---- inside the private mount namespace ----
. "$TOP/tests/integration/containerd_lib.sh"
ctrd_skip_unless_ready
trap ctrd_cleanup EXIT
if mountpoint -q /sys/fs/cgroup/unified; then
  umount /sys/fs/cgroup/unified || { echo "cannot unmount the unified hierarchy"; exit 1; }
fi
ctrd_make_image "$CTRD_DIR/image.tar"
ctrd_start || exit 1
ctrd images import "$CTRD_DIR/image.tar" >/dev/null || { echo "image import failed"; exit 1; }

# ctr run --rm ... NAME echo: one command line per runtime.
cmd_for() {
  echo "${CTR[*]} run --rm --null-io --runc-binary $2 --runc-root $CTRD_DIR/root-$1 \
    --cgroup /$CTRD_CG/$1 $CTRD_IMAGE bench-$1 echo hello"
}
args=()
for rt in ocirun runc crun; do
  case $rt in
  ocirun) # a private copy: a rebuild of the shared build/ during the run cannot hit it
    cp "$OCIRUN" "$CTRD_DIR/ocirun" && bin=$CTRD_DIR/ocirun ;;
  *) bin=$(command -v $rt) || { echo "# $rt is not installed: skipped"; continue; } ;;
  esac
  # A runtime that cannot run a container here is reported and left out.
  if ! out=$($(cmd_for $rt "$bin") 2>&1); then
    echo "# $rt under containerd fails here, skipped: $(echo "$out" | grep . | tail -1)"
    continue
  fi
  args+=(-- "$rt" $(cmd_for $rt "$bin"))
done
"$BENCH" "$RUNS" "$WARMUP" "${args[@]}" >"$CTRD_DIR/results"
rc=$?
cat "$CTRD_DIR/results"
[ $rc = 0 ] || exit $rc
awk '
  { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[$1, kv[1]] = kv[2] } names[NR] = $1 }
  END {
    runc = v["runc", "median_ms"]
    printf "%-8s %10s %10s %10s %8s   (ctr run --rm, busybox echo)\n", "runtime", "median_ms", "p90_ms", "vs_runc", "failed"
    bad = 0
    for (i = 1; i <= NR; i++) {
      n = names[i]
      printf "%-8s %10.2f %10.2f %10.2f %8d\n", n, v[n, "median_ms"], v[n, "p90_ms"],
             runc ? v[n, "median_ms"] / runc : 0, v[n, "failures"]
      bad += v[n, "failures"]
    }
    exit bad > 0
  }' "$CTRD_DIR/results"
