#!/usr/bin/env bash
# make bench: the bridge through the real UVM transport. QEMU (TCG) boots build/vmlinux +
# build/initrd.img with hcsshim's command line; the guest's virtio-vsock is our
# vhost-user-vsock backend, so gcs's bridge and stdio arrive here as unix sockets. Measures
# Start round trips/s and ExecuteProcess+WaitForProcess of /bin/true per second through the UVM,
# next to the same two loops against gcs run directly on this machine over unix: (the floor
# without virtualisation). Figures, not assertions. QEMU and helpers die on every exit path.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || { echo "qemu-system-x86_64 missing (Debian qemu-system-x86)"; exit 1; }
for f in "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
         "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge" "$build/bin/gcs"; do
  [ -e "$f" ] || { echo "missing $f"; exit 1; }
done
d=$(mktemp -d /tmp/lcow-bridge-uvm-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
rounds=${BRIDGE_UVM_ROUNDS:-2000}
spawns=${BRIDGE_UVM_SPAWNS:-50}

# Start round trips and exec+wait cycles against the bridge at base $1, on one connection.
measure() {
  timeout 300 "$build/bin/lcow-bridge" --listen "$1" --timeout 120 bench "$rounds" "$spawns" |
    sed "s/^/  $2 /"
}

# Floor: gcs on this machine.
"$build/bin/gcs" -bridge "unix:$d/local" -kmsgLogLevel 0 -loglevel error &
pids+=($!)
echo "bridge through the UVM vs on this machine ($rounds round trips, $spawns execs):"
measure "unix:$d/local" "host  "

"$build/bin/vhost-user-vsock" --socket "$d/vu.sock" --uds "$d/h" --guest-cid 3 >"$d/vhost.log" 2>&1 &
pids+=($!)
"$build/tests/boot-selftest" --listen "listen:unix:$d/h" --entropy 1 --log 109 \
  --out "$d/host.log" --timeout 600 &
pids+=($!)
for _ in $(seq 100); do [ -S "$d/vu.sock" ] && [ -S "$d/h_109" ] && break; sleep 0.05; done
[ -S "$d/vu.sock" ] || { echo "vhost-user-vsock did not listen"; exit 1; }
"$qemu" -accel tcg -M pc,memory-backend=mem -m 512 \
  -object memory-backend-memfd,id=mem,size=512M,share=on \
  -chardev socket,id=vu,path="$d/vu.sock" -device vhost-user-vsock-pci,chardev=vu \
  -display none -nodefaults -no-reboot -serial "file:$d/console.log" \
  -kernel "$build/vmlinux" -initrd "$build/initrd.img" \
  -append 'console=ttyS0 quiet panic=-1 -- -e 1 /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel warning' &
pids+=($!)
measure "unix:$d/h" "UVM   "
timeout 60 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 50 shutdown --forced >/dev/null
