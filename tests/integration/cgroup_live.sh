#!/usr/bin/env bash
# Runs build/tests/cgroup_live (real cgroups, root) under a test-owned top directory
# /lcow-test-<pid> in every hierarchy, and removes whatever it leaves there on exit, even when
# the test fails or is killed: processes first (thawed so they can die), then directories.
set -u
build=${BUILD:-build}
name=lcow-test-$$
cleanup() {
  local d
  for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
    [ -d "$d" ] || continue
    find "$d" -name freezer.state -exec sh -c 'echo THAWED > "$1"' _ {} \; 2>/dev/null
    find "$d" -name cgroup.freeze -exec sh -c 'echo 0 > "$1"' _ {} \; 2>/dev/null
    find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | while read -r p; do
      kill -9 "$p" 2>/dev/null
    done
  done
  sleep 0.1
  for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
    [ -d "$d" ] && find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}
trap cleanup EXIT
LCOW_CG_TEST=$name "$build/tests/cgroup_live"
rc=$?
cleanup
left=$(ls -d /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name" 2>/dev/null)
if [ -n "$left" ]; then
  echo "left behind: $left"
  exit 1
fi
exit $rc
