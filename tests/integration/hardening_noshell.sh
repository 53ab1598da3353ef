#!/usr/bin/env bash
# Issue 12: no shell ever runs with input from the host. Production sources (everything the
# programs are built from: common/ vsock/ gcs/ oci/ mount/ host/ initrd/) must not call system(),
# popen(), wordexp() or exec a shell with -c; a process the host asks for is exec'd from an argv
# (ExecuteProcess CommandLine is split by gcs/cmdline.c, never by a shell). The one allowed shell
# shells are init's debug shell on the console (initrd/init_args.c), which takes no host input,
# and runlcow's freezer (host/runlcow2_ops.c): a constant script the HOST sends to the UVM with
# its inputs as positional arguments ($1.., a pid printed with %u), never spliced into the text.
allowed='^(initrd/init_args.c:[0-9]+:.*V1_DEBUG_SHELL|host/runlcow2_ops.c:[0-9]+:.*"/bin/sh",)' 
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top" || exit 1
dirs=(common vsock gcs oci mount host initrd)
fail=0
hits=$(grep -nE '(^|[^_a-zA-Z0-9])(system|popen|wordexp)[[:space:]]*\(' --include='*.c' --include='*.h' -r "${dirs[@]}" \
  | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(/\*|\*|//)' || true)
if [ -n "$hits" ]; then
  echo "system()/popen()/wordexp() in production code:"; echo "$hits"; fail=1
fi
# A shell exec'd with -c: "sh"/"/bin/sh" next to "-c" in an argv or exec call.
hits=$(grep -nE '"(/bin/|/usr/bin/)?(ba|da)?sh"[[:space:]]*,[[:space:]]*"-c"' --include='*.c' -r "${dirs[@]}" \
  | grep -vE "$allowed" || true)
if [ -n "$hits" ]; then
  echo "a shell with -c in production code:"; echo "$hits"; fail=1
fi
# Shell binaries referenced at all: only the allowed debug shell.
hits=$(grep -nE '"(/bin/|/usr/bin/)(ba|da)?sh"' --include='*.c' --include='*.h' -r "${dirs[@]}" \
  | grep -vE "$allowed" || true)
if [ -n "$hits" ]; then
  echo "a shell path in production code (beyond the two allowed above):"; echo "$hits"; fail=1
fi
# The check itself must see the tree (a wrong directory would pass silently).
n=$(find "${dirs[@]}" -name '*.c' | wc -l)
if [ "$n" -lt 50 ]; then
  echo "hardening_noshell: only $n C files found under ${dirs[*]}"; exit 1
fi
[ "$fail" -eq 0 ] && echo "no shell with host input: $n C files checked"
exit "$fail"
