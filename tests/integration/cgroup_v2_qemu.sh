#!/usr/bin/env bash
# cgroup v2 as inside the UVM: this machine's cgroup2 owns only hugetlb, so the v2 writers for
# memory, cpu, cpuset, pids, io, the OOM events, freezer, cgroup.kill, the BPF device program
# and statistics are exercised in a QEMU (TCG) guest booted from $BUILD/vmlinux with a bare
# initramfs: busybox, a static build of tests/integration/cgroup_v2_guest.c with the cgroup
# sources, and an /init that mounts cgroup2 on /sys/fs/cgroup, runs it and powers off.
set -u
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "qemu-system-x86_64 missing (Debian qemu-system-x86)"; exit 1; }
[ -f "$build/vmlinux" ] || { echo "missing $build/vmlinux (make initrd)"; exit 1; }
[ -x /bin/busybox ] || { echo "busybox-static is not installed"; exit 1; }
command -v cpio >/dev/null || { echo "cpio is not installed"; exit 1; }

d=$(mktemp -d /tmp/lcow-cgv2.XXXXXX)
qpid=
cleanup() {
  [ -z "$qpid" ] || kill -9 "$qpid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$d"
}
trap cleanup EXIT

# The guest program: static and uninstrumented whatever this build's sanitizer, since the
# initramfs has no libc. Compiled from the sources it tests.
cd "$top" || exit 1
cc -std=gnu11 -D_GNU_SOURCE -O2 -static -I. $(pkg-config --cflags json-c) \
  -o "$d/cgroup_v2_guest" tests/integration/cgroup_v2_guest.c \
  oci/cgroup.c oci/cgroup_ops.c oci/cgroup_v1.c oci/cgroup_v2.c oci/cgroup_devices_bpf.c \
  oci/cgroup_stats.c oci/spec_resources.c common/error.c common/cleanup.c common/io.c \
  common/json.c common/log.c $(pkg-config --libs json-c) -lm || { echo "cannot build the guest program"; exit 1; }

r=$d/root
mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/tmp"
cp /bin/busybox "$r/bin/busybox"
for a in sh mount mkdir poweroff echo cat sleep; do ln -s busybox "$r/bin/$a"; done
cp "$d/cgroup_v2_guest" "$r/bin/cgroup_v2_guest"
cat >"$r/init" <<'INIT'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t cgroup2 cgroup2 /sys/fs/cgroup
/bin/cgroup_v2_guest
echo "guest exit $?"
poweroff -f
INIT
chmod 755 "$r/init"
(cd "$r" && find . | cpio -o -H newc --quiet >"$d/initramfs.cpio") || exit 1

log=$d/console.log
"$qemu" -accel tcg -M pc -m 512 -smp 1 -display none -nodefaults -no-reboot -serial "file:$log" \
  -kernel "$build/vmlinux" -initrd "$d/initramfs.cpio" \
  -append "console=ttyS0 quiet panic=-1 no_timer_check rdinit=/init" &
qpid=$!
for _ in $(seq 1800); do kill -0 "$qpid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$qpid" 2>/dev/null; then
  cat "$log"
  echo "FAIL: the guest did not power off within 180 s"
  exit 1
fi
wait "$qpid"
qpid=
grep -E '^(ok|FAIL|     |CGROUP-V2|guest exit)' "$log" | tr -d '\r'
grep -q '^CGROUP-V2 PASS' "$log" || { echo "FAIL: no PASS marker"; exit 1; }
