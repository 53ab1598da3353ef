#!/usr/bin/env bash
# `make demo`: makes a busybox bundle, boots a utility VM under QEMU with runlcow (TCG here,
# KVM where /dev/kvm works) and runs the container in the foreground: its output is printed
# and its exit status is this script's. Everything lives in a temporary directory.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
d=$(mktemp -d /tmp/runlcow-demo.XXXXXX)
trap 'rl_kill_ours "$d"; rm -rf "$d"' EXIT
rl_bundle "$d/bundle" /bin/sh -c 'echo "hello from a container in an LCOW utility VM";
  echo "UVM kernel: $(uname -r), container hostname: $(uname -n), pid $$"'
echo "+ runlcow --root $d/root run --bundle $d/bundle demo"
rc=0
"$build/bin/runlcow" --root "$d/root" --timeline "$d/timeline.json" run --bundle "$d/bundle" \
  demo < /dev/null || rc=$?
if [ -s "$d/timeline.json" ]; then
  jq -r '"(QEMU start -> GCS negotiated \(.negotiated_ms | floor) ms, -> layers attached " +
    "\(.layers_ms | floor) ms, -> first output \(.output_ms | floor) ms, -> exit " +
    "\(.exit_ms | floor) ms, UVM stopped \(.stopped_ms | floor) ms)"' "$d/timeline.json"
fi
exit "$rc"
