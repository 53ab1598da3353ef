#!/usr/bin/env bash
# runlcow pods under QEMU (one UVM for the whole file): a sandbox (CRI annotation
# container-type=sandbox, busybox sleep as its pause process) boots the UVM; a workload placed
# by the CRI annotations (container-type=container, sandbox-id) shares its network, ipc and uts
# namespaces; a second container placed with runhcs's `--host`; state/list/ps/exec/events/
# pause/resume/kill/delete of a workload through the UVM owner; a workload deleted while the
# sandbox lives (the UVM stays: exec still works); a workload naming an unknown or stopped
# sandbox fails with nothing created; the sandbox cannot be deleted while it hosts others;
# everything deleted: no QEMU, no process, no state directory. Exactly one QEMU throughout.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
rl_test_init rlpod
rl() { timeout 300 "$build/bin/runlcow" --root "$root" --scratch-size 64 ${RL_DEBUG:+--debug} "$@"; }
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
status() { rl state "$1" | jq -r .status; }
qemus() { # QEMU processes whose command line names this test's root
  local n=0 f
  for f in $(grep -lsF -- "$root/" /proc/[0-9]*/cmdline || true); do
    tr '\0' ' ' < "$f" | grep -q '^[^ ]*qemu-system' && n=$((n + 1))
  done
  echo "$n"
}
annotate() { # DIR JSON: set config.json's annotations
  jq --argjson a "$2" '.annotations = $a' "$1/config.json" > "$1/config.json.new"
  mv "$1/config.json.new" "$1/config.json"
}
wait_status() { # ID STATUS
  for _ in $(seq 300); do [ "$(status "$1" 2>/dev/null)" = "$2" ] && return 0; sleep 0.1; done
  fail "$1: status $(status "$1" 2>&1), want $2"
}
ns_of() { rl exec "$1" /bin/busybox readlink "/proc/self/ns/$2"; }

rl_bundle "$d/sb" /bin/sh -c 'echo sandbox up; exec sleep 100000'
# The pod's network namespace (the GCS wants one for a sandbox): user networking's adapter.
annotate "$d/sb" '{"io.kubernetes.cri.container-type":"sandbox","io.kubernetes.cri.sandbox-id":"sb",
  "org.lcow.network":"user"}'
jq '.windows.network.networkNamespace="6c636f77-706f-6400-0000-000000000001"' "$d/sb/config.json" \
  > "$d/sb/config.json.new" && mv "$d/sb/config.json.new" "$d/sb/config.json"
rl_bundle "$d/w1" /bin/sh -c 'echo w1 up; exec sleep 100000'
annotate "$d/w1" '{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"sb"}'
rl_bundle "$d/w2" /bin/sh -c 'echo w2 up; exec sleep 100000'
# w2 runs from the sandbox's rootfs: the same cached image, so the same layer disk in the UVM.
jq --arg r "$d/sb/rootfs" '.root.path = $r' "$d/w2/config.json" > "$d/w2/config.json.new"
mv "$d/w2/config.json.new" "$d/w2/config.json"
rl_bundle "$d/w4" /bin/sh -c 'read x; echo "fg:$x"; exit 4'
rl_bundle "$d/w5" /bin/sh -c 'echo "size:$(/bin/busybox stty size)"; exit 6'
jq '.process.terminal = true' "$d/w5/config.json" > "$d/w5/config.json.new"
mv "$d/w5/config.json.new" "$d/w5/config.json"
rl_bundle "$d/w3" /bin/true
annotate "$d/w3" '{"io.kubernetes.cri.container-type":"container","io.kubernetes.cri.sandbox-id":"nosuch"}'

# ---- placement errors before any UVM: nothing created -----------------------------------------
rc=0
rl create -b "$d/w3" w3 < /dev/null > "$d/w3.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "w3 (unknown sandbox): exit $rc, want 1"
grep -q 'nosuch does not exist' "$d/w3.out" || fail "w3: message: $(cat "$d/w3.out")"
[ ! -e "$root/w3" ] || fail "w3: a state directory was left"
rc=0
rl create -b "$d/w2" --host nosuch w2 < /dev/null > "$d/w2h.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && [ ! -e "$root/w2" ] || fail "--host nosuch: exit $rc: $(cat "$d/w2h.out")"
echo "ok placement into an unknown sandbox or host fails, nothing created"

# ---- the sandbox boots the UVM; a CRI workload joins it -----------------------------------------
rl create -b "$d/sb" --pid-file "$d/sb.pid" sb < /dev/null > "$d/sb.out" 2>&1 ||
  fail "sandbox create: $(cat "$d/sb.out")"
[ "$(status sb)" = created ] || fail "sandbox: status $(status sb)"
# A workload needs a running sandbox (its namespaces are the sandbox init's).
rc=0
rl create -b "$d/w1" w1 < /dev/null > "$d/w1c.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && [ ! -e "$root/w1" ] || fail "w1 before the sandbox runs: exit $rc: $(cat "$d/w1c.out")"
grep -q 'not running' "$d/w1c.out" || fail "w1 before the sandbox runs: $(cat "$d/w1c.out")"
rl start sb || fail "sandbox start"
wait_status sb running
rl create -b "$d/w1" --pid-file "$d/w1.pid" w1 < /dev/null > "$d/w1.out" 2>&1 ||
  fail "w1 create: $(cat "$d/w1.out")"
w1pid=$(cat "$d/w1.pid")
alive "$w1pid" || fail "w1: pid-file process $w1pid not alive"
[ "$(status w1)" = created ] || fail "w1: status $(status w1)"
[ "$(rl state w1 | jq -r .pid)" = "$w1pid" ] || fail "w1: state pid is not the pid-file's"
rl start w1 || fail "w1 start"
wait_status w1 running
for _ in $(seq 100); do grep -q 'w1 up' "$d/w1.out" && break; sleep 0.1; done
grep -q 'w1 up' "$d/w1.out" || fail "w1: its output did not reach create's stdout"
[ "$(qemus)" = 1 ] || fail "$(qemus) QEMUs for the pod, want 1"
echo "ok sandbox + CRI workload in one UVM (one QEMU), workload output relayed"

# ---- namespaces shared with the sandbox ---------------------------------------------------------
for ns in net ipc uts; do
  a=$(ns_of sb $ns) || fail "exec in sb"
  b=$(ns_of w1 $ns) || fail "exec in w1"
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "$ns namespace: sandbox $a, workload $b"
done
[ "$(rl exec sb uname -n)" = "$(rl exec w1 uname -n)" ] || fail "hostname differs"
echo "ok workload shares the sandbox's net/ipc/uts namespaces ($(ns_of w1 net))"

# ---- a second container by --host (a third in the foreground); verbs on workloads ----------------
layer_mounts() { grep -c 'storage: SCSI 0:[0-9]* .* at `/run/mounts/scsi/' "$root/sb/gcs.log" || true; }
before_w2=$(layer_mounts)
rl run -d -b "$d/w2" --host sb w2 < /dev/null > "$d/w2.out" 2>&1 || fail "w2 run: $(cat "$d/w2.out")"
wait_status w2 running
[ "$(qemus)" = 1 ] || fail "$(qemus) QEMUs after --host, want 1"
[ "$(layer_mounts)" = "$before_w2" ] ||
  fail "w2 (the sandbox's rootfs) mounted a layer disk of its own: $before_w2 -> $(layer_mounts)"
[ "$(rl exec w2 /bin/sh -c 'echo in w2; exit 5'; echo "rc=$?")" = "$(printf 'in w2\nrc=5')" ] ||
  fail "exec in w2"
[ "$(ns_of w2 net)" != "$(ns_of sb net)" ] || fail "w2 (no CRI annotations) shares the sandbox's net ns"
# run in the foreground, placed by naming a container that itself lives in the sandbox's UVM.
rc=0
echo hi | rl run -b "$d/w4" --host w2 w4 > "$d/w4.out" 2>&1 || rc=$?
[ "$rc" = 4 ] && grep -qx 'fg:hi' "$d/w4.out" || fail "run --host w2: exit $rc: $(cat "$d/w4.out")"
[ ! -e "$root/w4" ] || fail "w4: state directory left after run"
[ "$(qemus)" = 1 ] || fail "$(qemus) QEMUs after run --host w2, want 1"
# ... and with a console: the terminal's size reaches the guest's pty, the status comes back.
script -qfec "stty cols 101 rows 31; $build/bin/runlcow --root $root --scratch-size 64 run \
  --host sb -b $d/w5 w5; echo rc=\$?" /dev/null < /dev/null > "$d/w5.out" 2>&1 || true
grep -q 'size:31 101' "$d/w5.out" && grep -q 'rc=6' "$d/w5.out" ||
  fail "run --host with a terminal: $(cat -v "$d/w5.out")"
[ ! -e "$root/w5" ] || fail "w5: state directory left after run"
rl list --format json | jq -e 'map(.id) | sort == ["sb","w1","w2"]' > /dev/null ||
  fail "list: $(rl list --format json)"
[ "$(jq .runlcowHosted "$root/sb/state.json")" = 2 ] || fail "sandbox state: hosted $(jq .runlcowHosted "$root/sb/state.json")"
rl ps --format json w1 | jq -e 'length >= 1' > /dev/null || fail "ps w1: $(rl ps --format json w1)"
rl events --stats w1 | jq -e '.type == "stats" and .id == "w1"' > /dev/null || fail "events --stats w1"
rl pause w1 && [ "$(status w1)" = paused ] || fail "pause w1"
rl resume w1 && [ "$(status w1)" = running ] || fail "resume w1"
[ "$(status sb)" = running ] || fail "the sandbox changed with w1: $(status sb)"
echo "ok --host container in the same UVM, its layer shared; exec/ps/events/pause/resume/list on workloads"

# ---- events: an OOM kill in a workload's cgroup is runc's {"type":"oom"} ------------------------
rl update --memory 33554432 w2 || fail "update --memory w2"
rl events --interval 60 w2 > "$d/events.out" 2> "$d/events.err" &
ev=$!
for _ in $(seq 100); do [ -s "$d/events.out" ] && break; sleep 0.1; done
rc=0
rl exec w2 /bin/busybox dd if=/dev/zero of=/dev/null bs=64M count=1 > /dev/null 2>&1 || rc=$?
[ "$rc" = 137 ] || fail "the 64 MiB dd under a 32 MiB limit exited $rc, want 137 (OOM kill)"
for _ in $(seq 50); do grep -q '"oom"' "$d/events.out" && break; sleep 0.1; done
kill "$ev" 2>/dev/null || true
wait "$ev" 2>/dev/null || true
jq -e 'select(.type == "oom") | .id == "w2"' "$d/events.out" > /dev/null ||
  fail "no oom event: $(cat "$d/events.out" "$d/events.err")"
[ "$(status w2)" = running ] || fail "w2 after the OOM kill of an exec: $(status w2)"
echo "ok events reports the OOM kill of a workload's process"

# ---- the sandbox cannot go first; a workload goes while the sandbox lives -----------------------
rc=0
rl delete --force sb > "$d/sbdel.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && [ "$(status sb)" = running ] || fail "delete --force sb with workloads: exit $rc: $(cat "$d/sbdel.out")"
grep -q 'other container' "$d/sbdel.out" || fail "delete sb: $(cat "$d/sbdel.out")"
rl kill w1 KILL || fail "kill w1"
wait_status w1 stopped
for _ in $(seq 100); do alive "$w1pid" || break; sleep 0.1; done
alive "$w1pid" && fail "w1's process still runs after its container stopped"
rl delete w1 || fail "delete w1"
[ ! -e "$root/w1" ] || fail "w1: state directory left"
[ "$(rl exec sb echo still)" = still ] || fail "exec in the sandbox after w1 went"
[ "$(qemus)" = 1 ] || fail "the UVM went with w1"
# Its teardown (Shutdown, CombinedLayers Remove, DeleteContainerState, scratch Remove, SCSIDevice
# Remove, unplug) went without a failure the owner would log.
! grep -qE 'release:|unplug ' "$root/sb/runlcow.log" || fail "w1's release: $(grep 'release:' "$root/sb/runlcow.log")"
echo "ok workload killed and deleted while the sandbox lives; the UVM stays"

# ---- the sandbox stops first: the other container and the UVM live on; then everything goes ----
sbpid=$(cat "$d/sb.pid")
rl kill sb KILL || fail "kill sb"
wait_status sb stopped
alive "$sbpid" || fail "the UVM owner exited while w2 runs in its UVM"
[ "$(qemus)" = 1 ] || fail "the UVM went with the sandbox's init while w2 runs"
[ "$(rl exec w2 echo alive)" = alive ] || fail "exec in w2 after the sandbox stopped"
rc=0
rl delete sb > "$d/sbdel2.out" 2>&1 || rc=$?
[ "$rc" = 1 ] && [ -e "$root/sb" ] || fail "delete of the stopped sandbox hosting w2: exit $rc"
rl delete --force w2 || fail "delete --force w2"
[ ! -e "$root/w2" ] || fail "w2: state directory left"
for _ in $(seq 200); do alive "$sbpid" || break; sleep 0.1; done
alive "$sbpid" && fail "the UVM owner still runs after its last container went"
# The UVM's teardown: the sandbox's deferred release, Network Remove, QEMU stopped, no failures.
! grep -qE 'release:|unplug ' "$root/sb/runlcow.log" || fail "release: $(grep 'release:' "$root/sb/runlcow.log")"
[ "$(jq .runlcowExitCode "$root/sb/state.json")" = 137 ] || fail "sandbox exit code $(jq .runlcowExitCode "$root/sb/state.json")"
rl delete sb || fail "delete sb"
[ "$(qemus)" = 0 ] || fail "QEMU left after the last container went"
left=$(grep -lsF -- "$root/" /proc/[0-9]*/cmdline || true)
[ -z "$left" ] || fail "processes left: $left"
[ -z "$(ls "$root")" ] || fail "state left: $(ls "$root")"
echo "ok sandbox stopped first: w2 and the UVM lived on, delete refused; the last one took the UVM"
