#!/usr/bin/env bash
# containerd driving runlcow as its runc (`ctr run --runc-binary build/bin/runlcow`, through
# the io.containerd.runc.v2 shim and go-runc, as in production): every task is a container in
# its own UVM under QEMU. A private containerd (tests/integration/containerd_lib.sh: own root,
# state, sockets, a locally built busybox image) runs: a foreground echo, an exit code, a
# detached task with `task exec` (output and exit code), kill, delete; nothing left after.
set -u
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
for f in "$build/vmlinux" "$build/initrd.img" "$build/bin/runlcow" "$build/bin/vhost-user-vsock"; do
  [ -e "$f" ] || { echo "FAIL: missing $f"; exit 1; }
done
OCIRUN=${OCIRUN:-$build/bin/ocirun}
. "$top/tests/integration/containerd_lib.sh"
ctrd_skip_unless_ready
trap ctrd_cleanup EXIT
RUNLCOW=$build/bin/runlcow
rlroot=$CTRD_DIR/root-runlcow
ctrd_make_image "$CTRD_DIR/image.tar"
ctrd_start || exit 1
ctrd images import "$CTRD_DIR/image.tar" >/dev/null || { echo "FAIL image import"; exit 1; }

wait_status() { # ID STATUS: until `ctr task ls` shows it (60 s: a UVM boots under TCG)
  local i
  for i in $(seq 600); do
    [ "$(ctrd task ls 2>/dev/null | awk -v i="$1" '$1 == i {print $3}')" = "$2" ] && return 0
    sleep 0.1
  done
  return 1
}
run=(run --runc-binary "$RUNLCOW" --runc-root "$rlroot")

# 1. foreground echo: stdout through the shim's fifos, the supervisor and the guest
out=$(timeout 180 "${CTR[@]}" "${run[@]}" --rm "$CTRD_IMAGE" rl-echo echo hello from runlcow 2>&1)
ctrd_check "foreground echo ($out)" [ "$out" = "hello from runlcow" ]
# 2. the exit code comes back through the shim (the supervisor exits with it)
timeout 180 "${CTR[@]}" "${run[@]}" --rm "$CTRD_IMAGE" rl-exit sh -c 'exit 42' >/dev/null 2>&1
rc=$?
ctrd_check "exit code 42 (got $rc)" [ "$rc" = 42 ]
# 3. a detached task: exec (output, exit code), kill, delete
id=rl-long
timeout 180 "${CTR[@]}" "${run[@]}" -d --env GREETING=hi "$CTRD_IMAGE" "$id" sleep 300 \
  >/dev/null 2>&1
ctrd_check "detached task running" wait_status "$id" RUNNING
out=$(timeout 120 "${CTR[@]}" task exec --exec-id e1 "$id" sh -c 'echo $GREETING' 2>&1)
ctrd_check "task exec sees the container ($out)" [ "$out" = hi ]
timeout 120 "${CTR[@]}" task exec --exec-id e2 "$id" sh -c 'exit 7' >/dev/null 2>&1
rc=$?
ctrd_check "task exec exit code 7 (got $rc)" [ "$rc" = 7 ]
ctrd task kill -s KILL "$id" >/dev/null 2>&1
ctrd_check "kill" wait_status "$id" STOPPED
ctrd task delete "$id" >/dev/null 2>&1
ctrd containers delete "$id" >/dev/null 2>&1
ctrd_check "deleted" [ -z "$(ctrd task ls -q; ctrd containers ls -q)" ]
ctrd_check "no runlcow state left" [ -z "$(ls "$rlroot/t" 2>/dev/null | grep -v '^\.layers$')" ]
no_qemu() { # QEMU and the vsock back end of the tasks exit with their supervisors (10 s)
  local i
  for i in $(seq 100); do
    pgrep -f -- "$rlroot/" > /dev/null || return 0
    sleep 0.1
  done
  return 1
}
ctrd_check "no QEMU or back end left" no_qemu
ctrd_finish
