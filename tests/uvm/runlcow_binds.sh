#!/usr/bin/env bash
# runlcow: a bundle's bind mounts of host paths become Plan9 shares (issue 13), one UVM boot:
# a host directory rw at /data, another ro at /ro and a single host file ro at /etc/hostfile.
# The container reads host files through each, writes files that appear on the host, fails to
# write under /ro; while it runs the supervisor's 9P socket (<vsock base>_564) exists; after
# delete nothing is left (no process, socket or state directory), and the host dirs are intact.
# First a bind of a missing host path: a clear error before the UVM boots, nothing left.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
rl_test_init rlbinds
fail() {
  echo "FAIL: $*"
  ls -la "$d/rw" "$d/ro" 2>/dev/null || true
  exit 1
}
rl() { timeout 180 "$build/bin/runlcow" --root "$root" --scratch-size 64 ${RL_DEBUG:+--debug} "$@"; }

mkdir -p "$d/rw" "$d/ro" "$d/files"
echo "from-host-rw" > "$d/rw/in"
echo "from-host-ro" > "$d/ro/f"
echo "one-file" > "$d/files/hostfile"
echo "not-shared" > "$d/files/other"
rl_bundle "$d/b" /bin/sh -c '
  cat /data/in > /data/copy
  echo written-in-container > /data/out
  if echo x > /ro/y 2>/data/ro.err; then echo writable > /data/bad; fi
  busybox rm /ro/f 2>>/data/ro.err && echo removable >> /data/bad
  cat /ro/f > /data/rocopy
  cat /etc/hostfile > /data/filecopy
  ls /data > /data/list
  : > /data/done
  while [ ! -e /data/go ]; do sleep 0.2; done
  exit 5'
jq --arg rw "$d/rw" --arg ro "$d/ro" --arg file "$d/files/hostfile" \
  '.mounts += [{"destination": "/data", "type": "bind", "source": $rw, "options": ["rbind", "rw"]},
               {"destination": "/ro", "type": "bind", "source": $ro, "options": ["rbind", "ro"]},
               {"destination": "/etc/hostfile", "source": $file, "options": ["bind", "ro"]}]' \
  "$d/b/config.json" > "$d/b/config.json.new"
mv "$d/b/config.json.new" "$d/b/config.json"

# A bind source that does not exist: refused before anything boots, naming the mount.
rl_bundle "$d/bad" /bin/true
jq --arg src "$d/missing" '.mounts += [{"destination": "/x", "type": "bind", "source": $src,
  "options": ["rbind"]}]' "$d/bad/config.json" > "$d/bad/config.json.new"
mv "$d/bad/config.json.new" "$d/bad/config.json"
rl run -b "$d/bad" bad1 < /dev/null > "$d/bad.out" 2>&1 && fail "missing bind source accepted"
grep -q "mounts\[[0-9]*\]: bind source \`$d/missing\`" "$d/bad.out" ||
  fail "missing bind source message: $(cat "$d/bad.out")"
[ ! -e "$root/bad1" ] || fail "missing bind source: state left: $(ls "$root/bad1")"
! grep -lsF -- "$root/bad1/" /proc/[0-9]*/cmdline > /dev/null || fail "missing source: processes left"
echo "ok: a missing bind source is refused before the boot: $(tail -n 1 "$d/bad.out")"

rl run -d -b "$d/b" k1 < /dev/null > "$d/run.out" 2>&1 || fail "run -d: $(cat "$d/run.out")"
for _ in $(seq 600); do [ -e "$d/rw/done" ] && break; sleep 0.1; done
[ -e "$d/rw/done" ] || fail "the container did not finish its checks"
[ "$(cat "$d/rw/copy")" = from-host-rw ] || fail "read through /data: $(cat "$d/rw/copy")"
[ "$(cat "$d/rw/out")" = written-in-container ] || fail "write through /data not on the host"
[ ! -e "$d/rw/bad" ] || fail "/ro: $(cat "$d/rw/bad")"
grep -qi 'read-only' "$d/rw/ro.err" || fail "/ro write error: $(cat "$d/rw/ro.err")"
[ ! -e "$d/ro/y" ] && [ -e "$d/ro/f" ] || fail "the host's ro dir changed: $(ls "$d/ro")"
[ "$(cat "$d/rw/rocopy")" = from-host-ro ] || fail "read through /ro"
[ "$(cat "$d/rw/filecopy")" = one-file ] || fail "single-file bind: $(cat "$d/rw/filecopy")"
grep -qx in "$d/rw/list" || fail "ls /data: $(cat "$d/rw/list")"
sock=$(ls "$root/k1/"*_564 2>/dev/null || true)
[ -n "$sock" ] && [ -S "$sock" ] || fail "no 9P socket (<base>_564) under $root/k1: $(ls "$root/k1")"
[ "$(rl state k1 | jq -r .status)" = running ] || fail "status: $(rl state k1)"
echo "ok: /data read and written, /ro read-only (EROFS), single-file bind, 9P socket $sock"

: > "$d/rw/go"
for _ in $(seq 300); do [ "$(rl state k1 | jq -r .status)" = stopped ] && break; sleep 0.1; done
[ "$(rl state k1 | jq -r .status)" = stopped ] || fail "not stopped: $(rl state k1)"
rl delete k1 || fail "delete"
[ ! -e "$root/k1" ] || fail "state directory left: $(ls "$root/k1")"
[ ! -e "$sock" ] || fail "9P socket left: $sock"
left=$(grep -lsF -- "$root/k1/" /proc/[0-9]*/cmdline || true)
[ -z "$left" ] || fail "processes left: $left"
[ "$(cat "$d/rw/in")" = from-host-rw ] && [ "$(cat "$d/files/other")" = not-shared ] ||
  fail "host files changed"
echo "ok: delete leaves no supervisor, 9P server, socket or state dir"
echo "PASS"
