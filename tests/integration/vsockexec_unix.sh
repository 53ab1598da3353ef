#!/usr/bin/env bash
# vsockexec over unix: (design.md §4) against the boot-selftest test host: stdio onto host
# ports, one socket for a port named twice, a failed connect, and relay mode redialling a host
# that starts late and restarts mid-stream, with the program's status propagated.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
host="$build/tests/boot-selftest" vx="$build/bin/vsockexec"
for b in "$host" "$vx"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done

d=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; for f in "$d"/*.log "$d"/*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done; exit 1; }
start_host() { # NAME ARGS...: a test host writing to $d/NAME.log
  local name=$1; shift
  "$host" --listen "listen:unix:$d/h" --out "$d/$name.log" --timeout 300 "$@" &
  pids+=($!)
}
wait_sock() { for _ in $(seq 100); do [ -S "$1" ] && return 0; sleep 0.05; done; fail "no socket $1"; }
count() { grep -c -- "$2" "$1" || true; }
# wait_grep FILE REGEX: until the test host has written the line (10 s at most).
wait_grep() { for _ in $(seq 200); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 0; }

start_host main --entropy 1 --log 109
wait_sock "$d/h_109"

# stdout and stderr on the same port share one connection; stdin comes from the entropy port.
"$vx" -t "unix:$d/h" -i 1 -o 109 -e 0x6d /bin/sh -c 'echo out; echo err >&2; echo "in $(wc -c)"'
wait_grep "$d/main.log" '^log\| in 512$'
grep -q '^log| out$' "$d/main.log" || fail "stdout missing"
grep -q '^log| err$' "$d/main.log" || fail "stderr missing"
grep -q '^log| in 512$' "$d/main.log" || fail "stdin from the host port missing"
[ "$(count "$d/main.log" 'log connection')" = 1 ] || fail "port named twice did not share one socket"

# The program's exit status is vsockexec's (it execs).
rc=0; "$vx" -t "unix:$d/h" -e 109 /bin/sh -c 'exit 5' || rc=$?
[ "$rc" = 5 ] || fail "status $rc, want 5"

# Only the requested fds are replaced; the others are inherited.
out=$("$vx" -t "unix:$d/h" -e 109 /bin/sh -c 'echo kept-stdout')
[ "$out" = kept-stdout ] || fail "stdout was not inherited: \`$out'"

# A failed connect: status 1 and the port in the message.
rc=0; "$vx" -t "unix:$d/none" -e 5 /bin/true 2> "$d/err.out" || rc=$?
[ "$rc" = 1 ] || fail "connect failure: status $rc, want 1"
grep -q 'connect: port 5' "$d/err.out" || fail "connect failure: no message"

# A missing program: 127.
rc=0; "$vx" -t "unix:$d/h" -e 109 /nonexistent 2> /dev/null || rc=$?
[ "$rc" = 127 ] || fail "missing program: status $rc, want 127"

# Bad usage: status 1.
rc=0; "$vx" -e 2> /dev/null || rc=$?
[ "$rc" = 1 ] || fail "usage: status $rc, want 1"

# fds 3+ of vsockexec's own are not leaked into the program (CLOEXEC until dup2).
base=$(/bin/sh -c 'ls /proc/self/fd | wc -l')
"$vx" -t "unix:$d/h" -i 109 -o 109 /bin/sh -c 'echo "fds $(ls /proc/self/fd | wc -l)"'
wait_grep "$d/main.log" '^log\| fds '
out=$(grep '^log| fds ' "$d/main.log")
[ "$out" = "log| fds $base" ] || fail "fds in the program: \`$out', want $base"

# Relay mode: nothing listens on 110 yet; vsockexec buffers in the pipe and redials every
# 100 ms. The host comes up late; once it has the first lines it is killed, and only then does
# the program write again: the send fails, vsockexec redials until the restarted host answers
# and resends. Every line arrives, and the program's status is vsockexec's.
"$vx" -r -t "unix:$d/h" -o 110 -e 110 /bin/sh -c \
  "for i in 1 2 3; do echo line\$i; done; echo err-line >&2
   while [ ! -e '$d/go' ]; do sleep 0.05; done; echo line4; sleep 0.2; echo line5; exit 3" &
vpid=$!
sleep 0.5
start_host relay1 --log 110
relay1=${pids[-1]}
for _ in $(seq 200); do grep -q 'err-line' "$d/relay1.log" 2>/dev/null && break; sleep 0.05; done
kill "$relay1"; wait "$relay1" 2>/dev/null || true
rm -f "$d/h_110"
touch "$d/go"
sleep 0.5
start_host relay2 --log 110
rc=0; wait "$vpid" || rc=$?
wait_grep "$d/relay2.log" '^log\| line5$'
[ "$rc" = 3 ] || fail "relay: status $rc, want 3"
cat "$d/relay1.log" "$d/relay2.log" > "$d/relay.out"
for l in line1 line2 line3 err-line line4 line5; do
  grep -q "^log| $l$" "$d/relay.out" || fail "relay lost $l"
done
grep -q '^log| line5$' "$d/relay2.log" || fail "relay did not redial the restarted host"
echo PASS
