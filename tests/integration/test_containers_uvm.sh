#!/usr/bin/env bash
# A container inside the real UVM: QEMU (TCG) with the production boot chain (as
# tests/uvm/boot_host.sh), gcs as the UVM's agent (its §5.9 start-up for real: /pods and /gcs
# in the guest's cgroup2 root), an initramfs root (so the executor must use --no-pivot), and
# the host driving Create / ExecuteProcess(init) / Wait / DeleteContainerState over the bridge
# with lcow-bridge. QEMU and helpers die on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/boot-selftest" \
  "$build/bin/vhost-user-vsock" "$build/bin/lcow-bridge"
fail() { uvm_fail "$@"; }
bridge() { timeout 130 "$build/bin/lcow-bridge" --listen "unix:$d/h" --timeout 120 "$@"; }

uvm_start_host 200
uvm_wait_sockets "$d/vu.sock" "$d/h_109" || true
[ -S "$d/vu.sock" ] || fail "vhost-user-vsock did not listen"

UVM_GCS_LOGLEVEL=debug uvm_start_qemu

# The rootfs: a directory of the initramfs with busybox (the host would mount layers here).
r=/run/gcs/c/ct/rootfs
# /run is noexec: a tmpfs mount stands in for the overlay the host would combine there.
bridge exec -- /bin/sh -c "set -e; mkdir -p $r; mount -t tmpfs tmpfs $r
  mkdir -p $r/bin $r/proc $r/etc $r/dev; cp /bin/busybox $r/bin/
  for a in sh echo cat sleep; do ln -s busybox $r/bin/\$a; done
  : > $r/etc/hostname; : > $r/etc/hosts; : > $r/etc/resolv.conf
  cat /proc/self/cgroup" > "$d/out" 2>&1 || fail "preparing the rootfs"
grep -q '/gcs' "$d/out" || fail "external processes do not run in /gcs"

create=$(python3 - "$r" <<'EOF'
import json, sys
spec = {"ociVersion": "1.0.2",
        "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
                    "args": ["sh", "-c", "echo hello from a container; cat /proc/self/cgroup; exit 5"]},
        "root": {"path": sys.argv[1]},
        "hostname": "ctr",
        "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
        "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")]}}
cfg = {"SchemaVersion": {"Major": 2, "Minor": 1}, "OciBundlePath": "/run/gcs/c/ct",
       "OciSpecification": spec}
print(json.dumps({"ContainerId": "ct", "ActivityId": "00000000-0000-0000-0000-000000000000",
                  "ContainerConfig": json.dumps(cfg)}))
EOF
)
bridge raw 0x10100101 "$create" > "$d/out" 2>&1 || fail "Create: $(cat "$d/out")"
rc=0
bridge exec --cid ct -- unused > "$d/out" 2>&1 || rc=$?
cat "$d/out"
[ "$rc" = 5 ] || fail "container exit status $rc, want 5"
grep -qx 'hello from a container' "$d/out" || fail "no output from the container"
grep -q '/pods/ct' "$d/out" || fail "the container is not in /pods/ct"
bridge raw 0x10100d01 '{"ContainerId":"ct","ActivityId":"00000000-0000-0000-0000-000000000000"}' \
  > "$d/out" 2>&1 || fail "DeleteContainerState: $(cat "$d/out")"
rc=0
bridge raw 0x10100d01 '{"ContainerId":"ct","ActivityId":"00000000-0000-0000-0000-000000000000"}' \
  > "$d/out" 2>&1 || rc=$?
grep -q -- '-1070137074' "$d/out" || fail "a second delete: $(cat "$d/out")"

# A long-running container, an exec into it (setns in the guest), then a forced shutdown.
req() {
  python3 - "$@" <<'PY'
import json, sys
kind = sys.argv[1]
base = {"ContainerId": "ct2", "ActivityId": "00000000-0000-0000-0000-000000000000"}
if kind == "create":
    spec = {"ociVersion": "1.0.2",
            "process": {"user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
                        "args": ["sleep", "600"]},
            "root": {"path": sys.argv[2]},
            "mounts": [{"destination": "/proc", "type": "proc", "source": "proc"}],
            "linux": {"namespaces": [{"type": t} for t in ("pid", "mount", "ipc", "uts")]}}
    base["ContainerConfig"] = json.dumps({"SchemaVersion": {"Major": 2, "Minor": 1},
                                          "OciBundlePath": "/run/gcs/c/ct2",
                                          "OciSpecification": spec})
elif kind == "init":
    base["Settings"] = {"ProcessParameters": json.dumps({})}
elif kind == "exec":
    # pid 1 of the namespace it joined is the init's sleep.
    proc = {"user": {"uid": 0, "gid": 0}, "cwd": "/", "env": ["PATH=/bin"],
            "args": ["sh", "-c", "read c < /proc/1/comm; [ \"$c\" = sleep ] && exit 7"]}
    base["Settings"] = {"ProcessParameters": json.dumps({"OciProcess": proc})}
elif kind == "wait":
    base["ProcessId"] = int(sys.argv[2])
    base["TimeoutInMs"] = 60000
print(json.dumps(base))
PY
}
field() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
bridge raw 0x10100101 "$(req create "$r")" > "$d/out" 2>&1 || fail "Create ct2: $(cat "$d/out")"
bridge raw 0x10100501 "$(req init)" > "$d/out" 2>&1 || fail "init ct2: $(cat "$d/out")"
init=$(field ProcessId < "$d/out")
bridge raw 0x10100501 "$(req exec)" > "$d/out" 2>&1 || fail "exec ct2: $(cat "$d/out")"
pid=$(field ProcessId < "$d/out")
bridge raw 0x10100601 "$(req wait "$pid")" > "$d/out" 2>&1 || fail "wait exec: $(cat "$d/out")"
[ "$(field ExitCode < "$d/out")" = 7 ] || fail "exec in the UVM container: $(cat "$d/out")"
bridge raw 0x10100401 "$(req base)" > "$d/out" 2>&1 || fail "ShutdownForced ct2: $(cat "$d/out")"
bridge raw 0x10100601 "$(req wait "$init")" > "$d/out" 2>&1 || fail "wait init: $(cat "$d/out")"
[ "$(field ExitCode < "$d/out")" = 137 ] || fail "forced init exit: $(cat "$d/out")"
bridge raw 0x10100d01 "$(req base)" > "$d/out" 2>&1 || fail "delete ct2: $(cat "$d/out")"

bridge shutdown --forced > "$d/out" 2>&1 || fail "shutdown: $(cat "$d/out")"
uvm_wait_exit 30 || fail "the VM did not power off"
grep -q 'container ct created' "$d/host.log" || fail "no create in gcs's log"
echo PASS
