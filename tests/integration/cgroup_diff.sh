#!/usr/bin/env bash
# Differential cgroup test: the same bundles under ocirun and Debian's runc must show the same
# limits inside the container (every v1 file runc writes on this host), enforce them the same
# way (OOM kill → 137, pids.max reached, a denied device), and accept the same controller-less
# settings (net_cls is not mounted here: both skip it). Uses oci_lib.sh's bundle/cleanup helpers.
#
# Deliberately not compared, because ocirun does better than runc 1.1.5 on a hybrid host:
# hugepageLimits and `unified` (runc ignores/refuses them in hybrid mode; ocirun writes them to
# the cgroup2 hierarchy, which tests/integration/cgroup_live.sh checks).
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
trap oci_cleanup EXIT
[ -n "${OCI_KEEP:-}" ] && trap - EXIT
oci_make_rootfs "$WORK/rootfs"

sh_args() { jq -n --arg s "$1" '["sh", "-c", $s]'; }
cg=/sys/fs/cgroup

# 1. memory: limit, reservation, memsw, swappiness, OOM killer off.
oci_bundle "$WORK/mem" ".linux.resources = {memory: {limit: 67108864, reservation: 33554432,
      swap: 134217728, swappiness: 15, disableOOMKiller: true}}
  | .process.args = $(sh_args "cd $cg/memory; cat memory.limit_in_bytes memory.soft_limit_in_bytes \\
      memory.memsw.limit_in_bytes memory.swappiness; grep oom_kill_disable memory.oom_control")"
oci_both mem "$WORK/mem"

# 2. cpu and cpuset.
oci_bundle "$WORK/cpu" ".linux.resources = {cpu: {shares: 256, quota: 30000, period: 60000,
      cpus: \"0\", mems: \"0\"}}
  | .process.args = $(sh_args "cat $cg/cpu/cpu.shares $cg/cpu/cpu.cfs_quota_us $cg/cpu/cpu.cfs_period_us \\
      $cg/cpuset/cpuset.cpus $cg/cpuset/cpuset.mems")"
oci_both cpu "$WORK/cpu"

# 3. pids: the limit is read back and enforced: a subshell forking sleeps dies when fork fails
#    (sh + subshell + 3 sleeps = 5), then sh + 3 sleeps remain.
oci_bundle "$WORK/pids" ".linux.resources = {pids: {limit: 5}}
  | .process.args = $(sh_args "cat $cg/pids/pids.max; (i=0; while [ \$i -lt 8 ]; do sleep 5 & i=\$((i+1)); done) 2>/dev/null;
      echo loop=\$?; cat $cg/pids/pids.current; kill \$(jobs -p) 2>/dev/null; true")"
oci_both pids "$WORK/pids"

# 4. blkio throttles on the first whole disk (throttles refuse partitions).
disk=
for d in /sys/block/*; do
  case ${d##*/} in loop* | ram* | zram*) continue ;; esac
  disk=$(cat "$d/dev") && break
done
if [ -n "$disk" ]; then
  maj=${disk%:*} min=${disk#*:}
  oci_bundle "$WORK/blkio" ".linux.resources = {blockIO: {
        throttleReadBpsDevice: [{major: $maj, minor: $min, rate: 1048576}],
        throttleWriteIOPSDevice: [{major: $maj, minor: $min, rate: 50}]}}
    | .process.args = $(sh_args "cat $cg/blkio/blkio.throttle.read_bps_device $cg/blkio/blkio.throttle.write_iops_device")"
  oci_both blkio "$WORK/blkio"
fi

# 5. devices: a deny rule on /dev/zero after runc's defaults; the kernel's list and the denial.
#    runc 1.1.5 still allows /dev/net/tun (10:200) by default; runc >= 1.2 dropped it, as we do.
oci_bundle "$WORK/devices" ".linux.resources = {devices: [{allow: false, access: \"rwm\"},
      {allow: true, type: \"c\", major: 1, minor: 5, access: \"r\"},
      {allow: false, type: \"c\", major: 1, minor: 5, access: \"rwm\"}]}
  | .process.args = $(sh_args "head -c1 /dev/zero >/dev/null; echo zero=\$?; echo x >/dev/null; echo null=\$?;
      grep -v '^c 10:200 ' $cg/devices/devices.list | sort")"
oci_both devices "$WORK/devices"

# 6. OOM: 32 MiB without swap, a 64 MiB buffer: the kernel kills dd (137 seen by the shell).
oci_bundle "$WORK/oom" ".linux.resources = {memory: {limit: 33554432, swap: 33554432}}
  | .process.args = $(sh_args 'dd if=/dev/zero of=/dev/null bs=64M count=1 2>/dev/null; echo dd=$?')"
oci_both oom "$WORK/oom"

# 7. net_cls/net_prio are not mounted here: both runtimes refuse a classID or priorities.
oci_bundle "$WORK/net" ".linux.resources = {network: {classID: 1048577, priorities: [{name: \"lo\", priority: 2}]}}
  | .process.args = $(sh_args 'echo started')"
oci_both net "$WORK/net"
oci_bundle "$WORK/net0" ".linux.resources = {network: {classID: 0}}
  | .process.args = $(sh_args 'echo started')"
oci_both net0 "$WORK/net0"

# 8. everything at once, as containerd would send it, plus the cgroup seen from inside.
oci_bundle "$WORK/all" ".linux.resources = {memory: {limit: 104857600}, cpu: {shares: 1024, quota: 100000,
      period: 100000}, pids: {limit: 64}}
  | .process.args = $(sh_args "cat $cg/memory/memory.limit_in_bytes $cg/pids/pids.max $cg/cpu/cpu.shares;
      sed 's/:.*lcow-oci-test-[0-9]*/:CG/' /proc/self/cgroup")"
oci_both all "$WORK/all"

oci_finish
