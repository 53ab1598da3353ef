#!/usr/bin/env bash
# make bench: the cost of cgroup limits and of a Docker-sized seccomp profile in `run` of a
# /bin/true container, ocirun vs crun vs runc on the same bundles (one oci_bench invocation per
# bundle, round-robin, medians and ratios to crun). Bundles:
#   plain    no resources, no seccomp (the baseline of the other two)
#   limits   memory + memsw, cpu shares/quota, cpuset, pids, a device deny rule
#   seccomp  defaultAction ERRNO, every x86_64 syscall but a few allowed, 3 architectures
#            (what Docker/containerd send; libseccomp needs ~20 ms to compile it)
# As tests/bench/oci_run.sh, everything runs in a private mount namespace with the unified
# cgroup mount removed (crun refuses this machine's hybrid layout).
set -u
BUILD=${BUILD:-build}
TOP=${LCOW_TOP:-$(pwd)}
OCIRUN=$TOP/$BUILD/bin/ocirun
BENCH=$TOP/$BUILD/tests/oci_bench
RUNS=${RUNS:-30}
WARMUP=${WARMUP:-5}

if [ "${1:-}" != --inner ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
  for t in runc crun jq; do command -v $t >/dev/null || { echo "$t is not installed"; exit 1; }; done
  [ -x /bin/busybox ] || { echo "busybox-static is not installed"; exit 1; }
  for b in "$OCIRUN" "$BENCH"; do [ -x "$b" ] || { echo "$b not built"; exit 1; }; done
  WORK=$(mktemp -d /tmp/lcow-cgsc-bench.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  mkdir -p "$WORK/rootfs/bin" "$WORK/rootfs/proc" "$WORK/rootfs/dev" "$WORK/rootfs/sys" \
    "$WORK/rootfs/etc" "$WORK/rootfs/tmp"
  cp /bin/busybox "$WORK/rootfs/bin/busybox"
  ln -s busybox "$WORK/rootfs/bin/true"
  echo 'root:x:0:0:root:/root:/bin/sh' >"$WORK/rootfs/etc/passwd"
  (cd "$WORK" && runc spec && mv config.json base.json)
  cg=lcow-cgsc-bench-$$
  names=$(sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' /usr/include/x86_64-linux-gnu/asm/unistd_64.h |
    grep -vxE 'ptrace|reboot|kexec_load|kexec_file_load|init_module|finit_module|delete_module' |
    jq -R . | jq -s -c .)
  for b in plain limits seccomp; do
    mkdir -p "$WORK/$b"
    case $b in
      plain) f='.' ;;
      limits) f='.linux.resources = {memory: {limit: 268435456, swap: 536870912}, cpu: {shares: 512,
          quota: 50000, period: 100000, cpus: "0", mems: "0"}, pids: {limit: 128},
          devices: [{allow: false, access: "rwm"}, {allow: false, type: "c", major: 1, minor: 5,
          access: "w"}]}' ;;
      seccomp) f=".linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\", defaultErrnoRet: 1,
          architectures: [\"SCMP_ARCH_X86_64\", \"SCMP_ARCH_X86\", \"SCMP_ARCH_X32\"],
          syscalls: [{names: $names, action: \"SCMP_ACT_ALLOW\"},
                     {names: [\"personality\"], action: \"SCMP_ACT_ALLOW\",
                      args: [{index: 0, value: 0, op: \"SCMP_CMP_EQ\"}]}]}" ;;
    esac
    jq --arg cg "/$cg/$b" --arg root "$WORK/rootfs" ".process.terminal = false | .process.args = [\"/bin/true\"]
        | .root.path = \$root | .linux.cgroupsPath = \$cg | $f" "$WORK/base.json" >"$WORK/$b/config.json" || exit 1
  done
  unshare -m --propagation private "$0" --inner "$WORK" "$cg"
  exit $?
fi

# ---- inside the private mount namespace ----
WORK=$2
CG=$3
cleanup() {
  for d in /sys/fs/cgroup/*/"$CG" /sys/fs/cgroup/unified/"$CG"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  if [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = tmpfs ]; then
    find /sys/fs/cgroup/unified -mindepth 1 -depth -path "*$CG*" -exec rm -rf {} + 2>/dev/null
  fi
}
trap cleanup EXIT
if mountpoint -q /sys/fs/cgroup/unified; then
  umount /sys/fs/cgroup/unified || { echo "cannot unmount the unified hierarchy"; exit 1; }
fi
rc=0
for b in plain limits seccomp; do
  echo "== bundle: $b"
  cd "$WORK/$b" || exit 1
  "$BENCH" "$RUNS" "$WARMUP" \
    -- ocirun "$OCIRUN" --root "$WORK/st-ocirun" run "$b" \
    -- crun crun --root "$WORK/st-crun" run "$b" \
    -- runc runc --root "$WORK/st-runc" run "$b" || rc=1
done
exit $rc
