#!/usr/bin/env bash
# Plan9 shares end to end (gcs-protocol.md §5.5): QEMU (TCG) + vhost-user-vsock + the real
# initrd/gcs, our lcow-9p-server listening where vhost-user-vsock forwards guest port 564, and
# MappedDirectory Add/Remove sent over the bridge by lcow-bridge. One boot, many cases:
# read a host file, write through a read-write share, a read-only share refusing writes,
# symlinks pointing out of the share, the shares bind-mounted into a container, a 256 MiB file
# both ways (checksums), Remove unmounting,
# the server no longer serving a removed share. QEMU and every helper die on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
  "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge" "$build/bin/lcow-9p-server"
UVM_FAIL_LOGS="console.txt host.log vhost.log p9.log out"
fail() { uvm_fail "$@"; }
BIG_MB=${PLAN9_BIG_MB:-256}

mkdir -p "$d/rw" "$d/ro" "$d/outside"
echo "hello from the host" > "$d/rw/hello.txt"
echo "read only data" > "$d/ro/file"
echo "host secret" > "$d/outside/secret"
ln -s ../outside/secret "$d/rw/escape-rel"
ln -s "$d/outside/secret" "$d/rw/escape-abs"
head -c "${BIG_MB}M" /dev/urandom > "$d/rw/big"
big_sum=$(sha256sum < "$d/rw/big" | cut -d' ' -f1)

uvm_start_host 600
uvm_spawn "$build/bin/lcow-9p-server" --listen "unix:$d/h:564" --share "1=$d/rw" \
  --share "2=$d/ro:ro" --control "$d/ctl" ${PLAN9_SERVER_ARGS:-} > "$d/p9.log" 2>&1
uvm_wait_sockets "$d/vu.sock" "$d/h_109" "$d/h_564" "$d/ctl" || true
[ -S "$d/h_564" ] || fail "lcow-9p-server did not listen"
uvm_start_qemu

bridge() { timeout 300 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 290 "$@"; }
# guest SCRIPT: runs /bin/sh -c SCRIPT in the UVM; output in $d/out.
guest() { bridge exec -- /bin/sh -c "$1" > "$d/out" 2>&1; }
modify() { # modify Add|Remove PATH SHARE true|false
  bridge raw 0x10100a01 "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\",\"Request\":{\"RequestType\":\"$1\",\"ResourceType\":\"MappedDirectory\",\"Settings\":{\"MountPath\":\"$2\",\"Port\":564,\"ShareName\":\"$3\",\"ReadOnly\":$4}}}" > "$d/out" 2>&1
}
ctl() { "$build/bin/lcow-9p-server" ctl "$d/ctl" "$@"; }
connections() { ctl status | awk '{print $2}'; }
wait_connections() {
  for _ in $(seq 100); do [ "$(connections)" = "$1" ] && return 0; sleep 0.1; done
  return 1
}
m1=/run/gcs/c/p9/mounts/m1
m2=/run/gcs/c/p9/mounts/m2

# Add: the first request also waits for gcs to dial in and for init's late 9p module.
t0=$(date +%s.%N)
modify Add "$m1" 1 false || fail "MappedDirectory Add (rw): $(cat "$d/out")"
modify Add "$m2" 2 true || fail "MappedDirectory Add (ro): $(cat "$d/out")"
wait_connections 2 || fail "the server does not see 2 connections: $(ctl status)"
echo "PASS: two MappedDirectory Adds ($(echo "$(date +%s.%N) - $t0" | bc)s from QEMU start)"

guest "grep ' $m1 9p ' /proc/mounts; grep ' $m2 9p ' /proc/mounts; stat -c %a $m1" ||
  fail "mounts: $(cat "$d/out")"
grep -q "$m1 9p rw.*trans=fd" "$d/out" || fail "m1 is not a rw 9p trans=fd mount: $(cat "$d/out")"
grep -q "$m2 9p ro" "$d/out" || fail "m2 is not a ro 9p mount: $(cat "$d/out")"
echo "PASS: mounted as 9p trans=fd (rw and ro)"

guest "cat $m1/hello.txt" || fail "read: $(cat "$d/out")"
[ "$(cat "$d/out")" = "hello from the host" ] || fail "read a host file: $(cat "$d/out")"
echo "PASS: read a host file"

guest "echo guest-wrote > $m1/from-guest && mkdir $m1/gdir && mv $m1/from-guest $m1/gdir/moved &&
  ln -s gdir/moved $m1/glink && ls $m1" || fail "write: $(cat "$d/out")"
[ "$(cat "$d/rw/gdir/moved" 2>/dev/null)" = guest-wrote ] || fail "the host does not see the write"
[ "$(readlink "$d/rw/glink")" = gdir/moved ] || fail "the guest's symlink is not on the host"
guest "rm $m1/glink $m1/gdir/moved && rmdir $m1/gdir" || fail "remove: $(cat "$d/out")"
[ ! -e "$d/rw/gdir" ] || fail "rm/rmdir in the guest did not reach the host"
echo "PASS: write, mkdir, rename, symlink, unlink through a read-write share"

if guest "echo x > $m2/new"; then fail "a write to the read-only share worked"; fi
grep -qi "read-only" "$d/out" || fail "read-only refusal: $(cat "$d/out")"
if guest "rm $m2/file"; then fail "rm on the read-only share worked"; fi
guest "cat $m2/file" || fail "read on the read-only share: $(cat "$d/out")"
[ "$(cat "$d/out")" = "read only data" ] || fail "read-only share content: $(cat "$d/out")"
[ ! -e "$d/ro/new" ] && [ -e "$d/ro/file" ] || fail "the read-only share changed on the host"
echo "PASS: read-only share refuses writes, still reads"

if guest "cat $m1/escape-rel; cat $m1/escape-abs"; then fail "a symlink out of the share was readable"; fi
if grep -q "host secret" "$d/out"; then fail "a file outside the share leaked: $(cat "$d/out")"; fi
guest "readlink $m1/escape-rel" || fail "readlink: $(cat "$d/out")"
[ "$(cat "$d/out")" = "../outside/secret" ] || fail "readlink: $(cat "$d/out")"
echo "PASS: symlinks pointing out of the share do not reach host files"

# Container level: the shares bind-mounted into a container (what runlcow makes of a bundle's
# bind mounts), rw at /data and ro at /ro.
r=/run/gcs/c/p9c/rootfs
guest "set -e; mkdir -p $r; mount -t tmpfs tmpfs $r
  mkdir -p $r/bin $r/proc $r/etc $r/dev $r/data $r/ro; cp /bin/busybox $r/bin/
  for a in sh echo cat; do ln -s busybox $r/bin/\$a; done
  : > $r/etc/hostname; : > $r/etc/hosts; : > $r/etc/resolv.conf" || fail "rootfs: $(cat "$d/out")"
create=$(python3 - "$r" "$m1" "$m2" <<'EOF'
import json, sys
spec = {"ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
                    "args": ["sh", "-c", "cat /data/hello.txt; echo from-container > /data/c.txt; "
                             "if echo x > /ro/y; then echo RO-WRITABLE; fi; cat /ro/file; exit 7"]},
        "root": {"path": sys.argv[1]},
        "hostname": "p9c",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"},
                   {"destination": "/data", "type": "bind", "source": sys.argv[2],
                    "options": ["rbind", "rw"]},
                   {"destination": "/ro", "type": "bind", "source": sys.argv[3],
                    "options": ["rbind", "ro"]}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")]}}
cfg = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": "/run/gcs/c/p9c",
       "OciSpecification": spec}
print(json.dumps({"ContainerId": "p9c", "ActivityId": "00000000-0000-0000-0000-000000000000",
                  "ContainerConfig": json.dumps(cfg)}))
EOF
)
bridge raw 0x10100101 "$create" > "$d/out" 2>&1 || fail "Create: $(cat "$d/out")"
rc=0
bridge exec --cid p9c -- unused > "$d/out" 2>&1 || rc=$?
[ "$rc" = 7 ] || fail "container exit status $rc, want 7: $(cat "$d/out")"
grep -qx 'hello from the host' "$d/out" || fail "the container did not read the host file: $(cat "$d/out")"
grep -qx 'read only data' "$d/out" || fail "the container did not read the ro share: $(cat "$d/out")"
grep -q RO-WRITABLE "$d/out" && fail "the container wrote to the read-only share"
[ "$(cat "$d/rw/c.txt" 2>/dev/null)" = from-container ] || fail "the host does not see the container's write"
[ ! -e "$d/ro/y" ] || fail "the read-only share changed on the host"
bridge raw 0x10100d01 '{"ContainerId":"p9c","ActivityId":"00000000-0000-0000-0000-000000000000"}' \
  > "$d/out" 2>&1 || fail "DeleteContainerState: $(cat "$d/out")"
echo "PASS: a container reads and writes through the rw share and cannot write the ro one"

t0=$(date +%s.%N)
guest "sha256sum $m1/big" || fail "sha256sum in the guest: $(cat "$d/out")"
grep -q "^$big_sum " "$d/out" || fail "${BIG_MB} MiB read: checksum $(cat "$d/out"), want $big_sum"
t1=$(date +%s.%N)
guest "cat $m1/big > $m1/big.copy" || fail "copy in the guest: $(cat "$d/out")"
t2=$(date +%s.%N)
[ "$(sha256sum < "$d/rw/big.copy" | cut -d' ' -f1)" = "$big_sum" ] ||
  fail "${BIG_MB} MiB written by the guest differs on the host"
rm -f "$d/rw/big.copy"
echo "PASS: ${BIG_MB} MiB integrity: guest read+sha256 $(echo "$t1 - $t0" | bc)s, guest copy (read+write) $(echo "$t2 - $t1" | bc)s"

# Remove: unmounted and gone in the guest; the guest's connection closes.
modify Remove "$m1" 1 false || fail "MappedDirectory Remove: $(cat "$d/out")"
guest "grep -c ' $m1 ' /proc/mounts; ls -d $m1" && fail "m1 still there: $(cat "$d/out")"
grep -qx 0 "$d/out" || fail "m1 still mounted: $(cat "$d/out")"
wait_connections 1 || fail "the guest's connection for share 1 stayed open: $(ctl status)"
modify Remove "$m1" 1 false || fail "a second Remove (nothing there) failed: $(cat "$d/out")"
if modify Remove /run/gcs 1 false; then fail "Remove of a path never added worked"; fi
guest "ls -d /run/gcs" || fail "Remove of a path never added touched it"
echo "PASS: Remove unmounts and removes the directory; the connection closes"

# The host stops serving: share 1 can no longer be mounted, share 2's connection is cut.
ctl remove 1 > /dev/null || fail "ctl remove 1"
if modify Add "$m1" 1 false; then fail "Add of a share the server no longer serves worked"; fi
guest "ls -d $m1" && fail "a failed Add left $m1 behind"
ctl remove 2 > /dev/null || fail "ctl remove 2"
wait_connections 0 || fail "share 2's connection survived its removal: $(ctl status)"
if guest "cat $m2/file"; then fail "share 2 still served after its removal"; fi
modify Remove "$m2" 2 true || fail "Remove of a share whose server went away: $(cat "$d/out")"
echo "PASS: a share removed on the host is no longer served"

bridge shutdown --forced > "$d/out" 2>&1 || fail "shutdown: $(cat "$d/out")"
uvm_wait_exit 30 || fail "the VM did not power off"
echo PASS
