#!/usr/bin/env bash
# Differential seccomp test: the same profiles under ocirun and Debian's runc; a static probe
# (tests/integration/seccomp_probe.c) makes raw syscalls in the container and prints what the
# filter did (ok / errno / signal), so every action, argument operators, default errno,
# architectures and runc's ENOSYS stub for syscalls newer than the profile are compared as the
# kernel applies them.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
trap oci_cleanup EXIT
[ -n "${OCI_KEEP:-}" ] && trap - EXIT
oci_make_rootfs "$WORK/rootfs"
# Built here, static and uninstrumented, whatever the build's sanitizer: it runs in the busybox
# rootfs, which has no libc.
cc -static -O2 -o "$WORK/rootfs/bin/seccomp_probe" "$here/seccomp_probe.c" ||
  { echo "cannot build the static probe (libc6-dev)"; exit 1; }

probe() { jq -n --args '["/bin/seccomp_probe"] + $ARGS.positional' "$@"; }
arches='["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]'
# Every x86_64 syscall name the kernel headers know, minus the ones a case wants refused.
all_but() {
  sed -n 's/^#define __NR_\([a-z0-9_]*\) .*/\1/p' /usr/include/x86_64-linux-gnu/asm/unistd_64.h |
    grep -vxE "$1" | jq -R . | jq -s -c .
}

# 1. every action and operator, on a permissive default.
oci_bundle "$WORK/actions" ".linux.seccomp = {defaultAction: \"SCMP_ACT_ALLOW\", architectures: $arches,
    syscalls: [
      {names: [\"getppid\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 42},
      {names: [\"getpgrp\"], action: \"SCMP_ACT_ERRNO\"},
      {names: [\"umask\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 33,
       args: [{index: 0, value: 448, valueTwo: 448, op: \"SCMP_CMP_MASKED_EQ\"}]},
      {names: [\"getpriority\"], action: \"SCMP_ACT_KILL_PROCESS\", args: [{index: 0, value: 5, op: \"SCMP_CMP_EQ\"}]},
      {names: [\"setpriority\"], action: \"SCMP_ACT_ERRNO\", errnoRet: 7,
       args: [{index: 0, value: 2, op: \"SCMP_CMP_GT\"}, {index: 1, value: 100, op: \"SCMP_CMP_LE\"}]},
      {names: [\"sched_yield\"], action: \"SCMP_ACT_TRAP\"},
      {names: [\"getuid\"], action: \"SCMP_ACT_KILL\"},
      {names: [\"getgid\"], action: \"SCMP_ACT_LOG\"},
      {names: [\"geteuid\"], action: \"SCMP_ACT_TRACE\"},
      {names: [\"getegid\"], action: \"SCMP_ACT_KILL_THREAD\"}]}
  | .process.args = $(probe 110 111 95:0777 95:0022 140:5 140:0 141:3:50 141:3:200 141:1:50 24 102 104 107 108 39)"
oci_both actions "$WORK/actions"

# 2. a Docker-style allow list on ERRNO: refused ones get EPERM, unknown-to-the-profile newer
#    syscalls get ENOSYS (runc's stub), defaultErrnoRet when set. The profiles list their
#    architectures: Debian's runc 1.1.5 builds the stub only for listed ones, newer runc (and
#    ocirun) for the native one as well.
oci_bundle "$WORK/allowlist" ".linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\", architectures: $arches,
    syscalls: [{names: $(all_but 'getppid|getpgrp'), action: \"SCMP_ACT_ALLOW\"}]}
  | .process.args = $(probe 110 111 39 500 1000 0x40000027)"
oci_both allowlist "$WORK/allowlist"
oci_bundle "$WORK/errnoret" ".linux.seccomp = {defaultAction: \"SCMP_ACT_ERRNO\", defaultErrnoRet: 95, architectures: $arches,
    syscalls: [{names: $(all_but 'getppid'), action: \"SCMP_ACT_ALLOW\"}]}
  | .process.args = $(probe 110 39 1000)"
oci_both errnoret "$WORK/errnoret"

# 3. a killing default: refused syscalls kill, newer ones still get ENOSYS.
oci_bundle "$WORK/killdefault" ".linux.seccomp = {defaultAction: \"SCMP_ACT_KILL_PROCESS\", architectures: $arches,
    syscalls: [{names: $(all_but 'getppid'), action: \"SCMP_ACT_ALLOW\"}]}
  | .process.args = $(probe 110 39 1000)"
oci_both killdefault "$WORK/killdefault"

# (flags are not compared: Debian's runc 1.1.5 refuses any "flags"; test_oci_seccomp covers them.)

oci_finish
