#!/usr/bin/env bash
# make bench: the bridge through the real UVM transport. QEMU (TCG) boots build/vmlinux +
# build/initrd.img with hcsshim's command line; the guest's virtio-vsock is our
# vhost-user-vsock backend, so gcs's bridge and stdio arrive here as unix sockets. Measures
# Start round trips/s and ExecuteProcess+WaitForProcess of /bin/true per second through the UVM,
# next to the same two loops against gcs run directly on this machine over unix: (the floor
# without virtualisation). Figures, not assertions. QEMU and helpers die on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init /tmp/lcow-bridge-uvm-XXXXXX
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
  "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge" "$build/bin/gcs"
rounds=${BRIDGE_UVM_ROUNDS:-2000}
spawns=${BRIDGE_UVM_SPAWNS:-50}

# Start round trips and exec+wait cycles against the bridge at base $1, on one connection.
measure() {
  timeout 300 "$build/bin/lcow-bridge" --listen "$1" --timeout 120 bench "$rounds" "$spawns" |
    sed "s/^/  $2 /"
}

# Floor: gcs on this machine.
uvm_spawn "$build/bin/gcs" -bridge "unix:$d/local" -kmsgLogLevel 0 -loglevel error
echo "bridge through the UVM vs on this machine ($rounds round trips, $spawns execs):"
measure "unix:$d/local" "host  "

uvm_start_host 600
uvm_wait_sockets "$d/vu.sock" "$d/h_109" || true
[ -S "$d/vu.sock" ] || uvm_fail "vhost-user-vsock did not listen"
UVM_GCS_LOGLEVEL=warning uvm_start_qemu
measure "unix:$d/h" "UVM   "
timeout 60 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 50 shutdown --forced >/dev/null
