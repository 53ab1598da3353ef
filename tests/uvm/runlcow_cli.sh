#!/usr/bin/env bash
# runlcow end to end under QEMU (TCG here): each container boots its own UVM (vmlinux +
# initrd, vhost-user-vsock, the real gcs), so the cases share as few containers as possible:
#   A  run in the foreground: output, stderr, stdin, exit code; nothing left after it
#   B  create/start (detached): state and list JSON, pid-file = a live supervisor, exec argv
#      and -p process.json with their own exit codes, exec stdin, kill with signals, the GCS
#      log, duplicate id, delete leaves no QEMU, back end, socket, image or state dir
#   C  run -d, delete refused while running, QEMU killed mid-run: stopped, nothing left
#   D  create then delete (a created container is torn down without --force); D2 the supervisor
#      SIGKILLed: QEMU and the back end die with it, stopped, delete cleans up
#   A2 run in the foreground forwards SIGTERM; its exit status is the container's
#   E  faults without a full boot: no kernel/initrd, QEMU that cannot start, a GCS that never
#      connects (bounded wait), invalid bundles, bad flags: clear errors, nothing created
# Everything runs under its own --root in a temporary directory; the trap kills what is left.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
rl_test_init rlcli
fail() {
  echo "FAIL: $*"
  local sf p
  for sf in "$root"/*/state.json; do
    [ -f "$sf" ] || continue
    p=$(jq .pid "$sf")
    [ -d "/proc/$p" ] && { echo "--- supervisor $p"; ls -l "/proc/$p/fd"; cat "/proc/$p/stack"; } 2>/dev/null
  done
  for f in "$d"/*.out "$d"/*.err "$root"/*/state.json "$root"/*/runlcow.log "$root"/*/qemu.log "$root"/*/console.log; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
  done
  exit 1
}
rl() { timeout 180 "$build/bin/runlcow" --root "$root" --scratch-size 64 ${RL_DEBUG:+--debug} "$@"; }
# Running and not a zombie (an orphaned supervisor waits for whoever reaps orphans here).
alive() { [ -r "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
state_field() { rl state "$1" | jq -r ".$2"; }
nothing_left() { # ID: no state dir, no process naming it, no socket or image for it
  [ ! -e "$root/$1" ] || fail "$1: state directory left: $(ls "$root/$1")"
  local left
  left=$(grep -lsF -- "$root/$1/" /proc/[0-9]*/cmdline || true)
  [ -z "$left" ] || fail "$1: processes left: $left"
  return 0
}

rl_bundle "$d/a" /bin/sh -c 'read x; echo "out:$x"; echo "err:$x" >&2; exit 7'
rl_bundle "$d/b" /bin/sh -c 'trap "echo usr1" USR1; trap "echo term; exit 3" TERM; echo started;
  while :; do sleep 0.1; done'

# ---- A: foreground run ----------------------------------------------------------------------
rc=0
echo "hello" | rl run -b "$d/a" a1 > "$d/a.out" 2> "$d/a.err" || rc=$?
[ "$rc" = 7 ] || fail "A: run exit status $rc, want 7"
grep -qx 'out:hello' "$d/a.out" || fail "A: stdout: $(cat "$d/a.out")"
grep -qx 'err:hello' "$d/a.err" || fail "A: stderr: $(cat "$d/a.err")"
nothing_left a1
ls "$root/.layers/"*.ext4 > /dev/null || fail "A: no cached layer image"
echo "ok A: run: stdin, stdout, stderr, exit status 7, nothing left"

# ---- A2: foreground run forwards signals to the container; its status is the container's -----
: > "$d/a2.out"
"$build/bin/runlcow" --root "$root" --scratch-size 64 run -b "$d/b" a2 < /dev/null \
  > "$d/a2.out" 2>&1 &
a2=$!
for _ in $(seq 300); do grep -q started "$d/a2.out" && break; sleep 0.1; done
grep -q started "$d/a2.out" || fail "A2: the container did not start"
kill -TERM "$a2"
rc=0
for _ in $(seq 300); do alive "$a2" || break; sleep 0.1; done
alive "$a2" && fail "A2: runlcow run still running after SIGTERM"
wait "$a2" || rc=$?
[ "$rc" = 3 ] || fail "A2: run exit status $rc after SIGTERM, want 3 (the trap's)"
grep -q term "$d/a2.out" || fail "A2: the container's TERM trap did not run"
nothing_left a2
echo "ok A2: run forwards SIGTERM, exits with the container's status"

# ---- B: detached lifecycle ------------------------------------------------------------------
rl create -b "$d/b" --pid-file "$d/b1.pid" b1 < /dev/null > "$d/b1.out" 2>&1 ||
  fail "B: create: $(cat "$d/b1.out")"
[ "$(state_field b1 status)" = created ] || fail "B: status after create: $(rl state b1)"
sup=$(cat "$d/b1.pid")
[ "$(state_field b1 pid)" = "$sup" ] || fail "B: state pid != pid-file"
alive "$sup" || fail "B: supervisor $sup not running"
err=$(rl create -b "$d/b" b1 2>&1 < /dev/null) && fail "B: duplicate id accepted"
grep -q 'already exists' <<< "$err" || fail "B: duplicate id message: $err"
rl start b1 || fail "B: start"
[ "$(state_field b1 status)" = running ] || fail "B: status after start"
err=$(rl start b1 2>&1) && fail "B: second start accepted"
rl list -f json | jq -e 'length == 1 and .[0].id == "b1" and .[0].status == "running" and
  .[0].pid > 0 and (.[0].bundle | endswith("/b"))' > /dev/null || fail "B: list: $(rl list -f json)"
rl list -q | grep -qx b1 || fail "B: list -q"
rl list | grep -q '^b1 .*running' || fail "B: list table: $(rl list)"
for _ in $(seq 100); do grep -q started "$d/b1.out" && break; sleep 0.1; done
grep -q started "$d/b1.out" || fail "B: no output from the container's init"
rc=0; out=$(rl exec b1 sh -c 'echo "in exec $(id -u)"; exit 5') || rc=$?
[ "$rc" = 5 ] && [ "$out" = "in exec 0" ] || fail "B: exec argv: status $rc, output '$out'"
out=$(printf 'line1\nline2\n' | rl exec b1 wc -l) || fail "B: exec with stdin"
[ "$(echo $out)" = 2 ] || fail "B: exec stdin: '$out'"
cat > "$d/proc.json" <<'J'
{"args": ["/bin/sh", "-c", "echo \"json $FOO $(pwd)\"; exit 6"], "env": ["FOO=bar",
 "PATH=/bin"], "cwd": "/tmp", "user": {"uid": 0, "gid": 0}}
J
rc=0; out=$(rl exec -p "$d/proc.json" b1) || rc=$?
[ "$rc" = 6 ] && [ "$out" = "json bar /tmp" ] || fail "B: exec -p: status $rc, output '$out'"
rc=0; out=$(rl exec -e X=y --cwd /etc b1 sh -c 'echo "$X $(pwd)"') || rc=$?
[ "$out" = "y /etc" ] || fail "B: exec --env --cwd: '$out'"
rc=0; out=$(script -qfec "$build/bin/runlcow --root $root exec -t b1 sh -c 'tty; exit 4'" /dev/null |
  tr -d '\r') || rc=$?
grep -q '/dev/pts/[0-9]' <<< "$out" || fail "B: exec -t: no pty in the container: '$out'"
err=$(rl exec -p /nonexistent.json b1 2>&1) && fail "B: exec with a missing process.json"
err=$(echo '{"args":[],"cwd":"/"}' > "$d/bad.json"; rl exec -p "$d/bad.json" b1 2>&1) &&
  fail "B: exec with empty args accepted"
grep -q 'args' <<< "$err" || fail "B: exec empty args message: $err"
rl exec -d --pid-file "$d/x.pid" b1 sleep 1 || fail "B: exec -d"
xp=$(cat "$d/x.pid"); alive "$xp" || fail "B: exec -d pid-file process"
rl kill b1 USR1 || fail "B: kill USR1"
for _ in $(seq 50); do grep -q usr1 "$d/b1.out" && break; sleep 0.1; done
grep -q usr1 "$d/b1.out" || fail "B: USR1 did not reach the container"
err=$(rl kill b1 NOSUCH 2>&1) && fail "B: bad signal accepted"
grep -q 'invalid signal' <<< "$err" || fail "B: bad signal message: $err"
err=$(rl delete b1 2>&1) && fail "B: delete of a running container without --force"
grep -q 'not stopped' <<< "$err" || fail "B: delete message: $err"
: > "$d/long.out"
rl exec b1 sh -c 'echo up; exec sleep 600' < /dev/null > "$d/long.out" 2>&1 &
long=$!
for _ in $(seq 100); do grep -q up "$d/long.out" && break; sleep 0.1; done
grep -q up "$d/long.out" || fail "B: the long exec did not start"
rl kill b1 TERM || fail "B: kill TERM"
for _ in $(seq 100); do [ "$(state_field b1 status)" = stopped ] && break; sleep 0.1; done
[ "$(state_field b1 status)" = stopped ] || fail "B: not stopped after TERM"
[ "$(jq .runlcowExitCode "$root/b1/state.json")" = 3 ] || fail "B: exit code $(cat "$root/b1/state.json")"
grep -q term "$d/b1.out" || fail "B: TERM trap output missing"
alive "$sup" && fail "B: supervisor still running after the container exited"
rc=0; wait "$long" || rc=$?
[ "$rc" = 137 ] || fail "B: an exec running when the container stopped: status $rc, want 137"
head -n 1 "$root/b1/gcs.log" | jq -e '.level and .msg and .time' > /dev/null ||
  fail "B: gcs.log is not JSON lines: $(head -c 300 "$root/b1/gcs.log")"
[ "$(jq -c . "$root/b1/gcs.log" | wc -l)" -gt 2 ] || fail "B: gcs.log too short"
[ -s "$root/b1/console.log" ] || fail "B: no console log"
ls "$root/b1" | grep -q -e '\.sock$' -e '^v_' -e scratch && fail "B: left: $(ls "$root/b1")"
err=$(rl exec b1 true 2>&1) && fail "B: exec in a stopped container"
rl delete b1 || fail "B: delete"
nothing_left b1
err=$(rl state b1 2>&1) && fail "B: state after delete"
grep -q 'does not exist' <<< "$err" || fail "B: state message: $err"
echo "ok B: create/start/state/list/exec/exec -t/exec -p/exec -d/kill/delete, gcs log, duplicate id"

# ---- C: run -d, QEMU killed mid-run ---------------------------------------------------------
rl run -d -b "$d/b" --pid-file "$d/c1.pid" c1 < /dev/null > "$d/c1.out" 2>&1 ||
  fail "C: run -d: $(cat "$d/c1.out")"
[ "$(state_field c1 status)" = running ] || fail "C: status after run -d"
qpid=$(jq .runlcowQemuPid "$root/c1/state.json")
bpid=$(jq .runlcowBackendPid "$root/c1/state.json")
[ "$qpid" -gt 0 ] && alive "$qpid" || fail "C: no QEMU pid in the state"
kill -9 "$qpid"
for _ in $(seq 100); do [ "$(state_field c1 status)" = stopped ] && break; sleep 0.1; done
[ "$(state_field c1 status)" = stopped ] || fail "C: not stopped after QEMU died"
sup=$(cat "$d/c1.pid")
for _ in $(seq 50); do alive "$sup" || break; sleep 0.1; done
alive "$sup" && fail "C: supervisor still running"
alive "$bpid" && fail "C: vsock back end still running"
ls "$root/c1" | grep -q -e '\.sock$' -e '^v_' -e scratch && fail "C: left: $(ls "$root/c1")"
rl delete c1 || fail "C: delete"
nothing_left c1
echo "ok C: run -d, QEMU killed: stopped, nothing left"

# ---- D: created, then deleted ---------------------------------------------------------------
rl create -b "$d/b" d1 < /dev/null > "$d/d1.out" 2>&1 || fail "D: create"
rl delete d1 || fail "D: delete of a created container"
nothing_left d1
echo "ok D: a created container is deleted without --force"

# ---- D2: the supervisor killed: QEMU and the back end die with it, delete cleans up --------
rl run -d -b "$d/b" --pid-file "$d/d2.pid" d2 < /dev/null > "$d/d2.out" 2>&1 || fail "D2: run -d"
sup=$(cat "$d/d2.pid")
qpid=$(jq .runlcowQemuPid "$root/d2/state.json")
bpid=$(jq .runlcowBackendPid "$root/d2/state.json")
kill -9 "$sup"
for _ in $(seq 100); do alive "$qpid" || alive "$bpid" || break; sleep 0.1; done
alive "$qpid" && fail "D2: QEMU outlived its supervisor"
alive "$bpid" && fail "D2: the back end outlived its supervisor"
[ "$(state_field d2 status)" = stopped ] || fail "D2: status $(state_field d2 status), want stopped"
rl delete d2 || fail "D2: delete"
nothing_left d2
echo "ok D2: supervisor killed: QEMU and back end gone, reported stopped, deleted"

# ---- E: faults ------------------------------------------------------------------------------
expect_err() { # NAME PATTERN ID ARGS...: runlcow fails, says PATTERN, leaves nothing for ID
  local name=$1 pat=$2 id=$3
  shift 3
  local out rc=0
  out=$(rl "$@" 2>&1 < /dev/null) || rc=$?
  [ "$rc" != 0 ] || fail "E/$name: succeeded: $out"
  grep -q -- "$pat" <<< "$out" || fail "E/$name: message '$out' lacks '$pat'"
  nothing_left "$id"
  echo "ok E/$name: $(tail -n 1 <<< "$out")"
}
expect_err no-kernel 'kernel' e1 --kernel "$d/nope" run -b "$d/a" e1
expect_err no-initrd 'initrd' e1 --initrd "$d/nope" run -b "$d/a" e1
expect_err qemu-missing 'QEMU' e1 --qemu "$d/no-qemu" run -b "$d/a" e1
expect_err qemu-fails 'QEMU exited' e1 --qemu /bin/false run -b "$d/a" e1
expect_err bad-memory 'memory' e1 --memory 1 run -b "$d/a" e1
start=$(date +%s)
expect_err gcs-timeout 'did not connect within 1 s' e1 --boot-timeout 1 create -b "$d/b" e1
[ $(( $(date +%s) - start )) -lt 30 ] || fail "E/gcs-timeout: the wait was not bounded"
mkdir -p "$d/nocfg"
expect_err no-config 'config.json' e1 run -b "$d/nocfg" e1
mkdir -p "$d/badjson"; echo '{"process":' > "$d/badjson/config.json"
expect_err bad-json 'config.json' e1 run -b "$d/badjson" e1
mkdir -p "$d/noargs"; jq '.process.args=[]' "$d/a/config.json" > "$d/noargs/config.json"
ln -s "$d/a/rootfs" "$d/noargs/rootfs"
expect_err no-args 'process.args' e1 run -b "$d/noargs" e1
mkdir -p "$d/norootfs"; cp "$d/a/config.json" "$d/norootfs/"
expect_err no-rootfs 'root.path' e1 run -b "$d/norootfs" e1
expect_err bad-id 'invalid container id' ../x run -b "$d/a" ../x
expect_err no-such 'does not exist' e9 kill e9
[ "$(rl list -q | wc -l)" = 0 ] || fail "E: containers left: $(rl list)"
echo PASS
