#!/usr/bin/env bash
# runlcow's part-2 verbs end to end under QEMU, all in ONE container (one UVM):
#   ps (json and table: the guest pids of the init and an exec), update of the memory limit
#   (seen inside the container's cgroup), events --stats (runc's stats shape from GetProperties
#   Statistics), pause/resume (the container's cgroup frozen from the UVM: its counter stops,
#   ps still answers, then it counts again),
#   then features, spec and bad input without a VM.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
rl_test_init rlverbs
rl() { timeout 120 "$build/bin/runlcow" --root "$root" --scratch-size 64 "$@"; }

# The init counts into /dev/shm/n every 0.1 s (busybox sh: no sleep fractions needed).
rl_bundle "$d/b" /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i > /dev/shm/n; sleep 0.1; done'
rl run -d -b "$d/b" v1 < /dev/null > "$d/run.out" 2> "$d/run.err" || fail "run -d"

# ---- ps ----------------------------------------------------------------------------------------
pids=$(rl ps --format json v1) || fail "ps json"
jq -e 'type == "array" and length >= 1 and all(.[]; type == "number" and . > 0)' <<< "$pids" \
  > /dev/null || fail "ps json: $pids"
rl exec -d v1 /bin/sleep 30 || fail "exec -d"
n2=$(rl ps -f json v1 | jq length)
[ "$n2" -gt "$(jq length <<< "$pids")" ] || fail "ps does not show the exec: $(rl ps -f json v1)"
rl ps v1 | head -1 | grep -qx PID || fail "ps table header"
rl ps --format yaml v1 2> "$d/ps.err" && fail "ps --format yaml accepted"
grep -q 'invalid format' "$d/ps.err" || fail "ps bad format message: $(cat "$d/ps.err")"
echo "ok ps: json and table, init + exec ($n2 pids)"

# ---- update: a memory limit seen inside --------------------------------------------------------
rl update --memory 67108864 v1 || fail "update --memory"
# The container's own cgroup, as /proc/self/cgroup names it (v2 in the UVM).
cg='/sys/fs/cgroup$(cut -d: -f3 /proc/self/cgroup | head -1)'
lim=$(rl exec v1 /bin/sh -c "cat $cg/memory.max") || fail "read the limit"
[ "$lim" = 67108864 ] || fail "memory limit inside: $lim"
echo '{"pids":{"limit":77}}' | rl update --resources - v1 || fail "update --resources -"
pl=$(rl exec v1 /bin/sh -c "cat $cg/pids.max") || fail "read pids.max"
[ "$pl" = 77 ] || fail "pids limit inside: $pl"
rl update v1 2> "$d/up.err" && fail "empty update accepted"
echo "ok update: memory.max $lim, pids.max $pl"

# ---- events --stats ------------------------------------------------------------------------------
ev=$(rl events --stats v1) || fail "events --stats"
jq -e '.type == "stats" and .id == "v1" and (.data.memory.usage.usage > 0) and
  (.data.cpu.usage.total > 0) and (.data.pids.current >= 1)' <<< "$ev" > /dev/null ||
  fail "events --stats: $ev"
echo "ok events --stats: $(jq -c '{mem: .data.memory.usage.usage, cpu: .data.cpu.usage.total, pids: .data.pids.current}' <<< "$ev")"

# ---- pause / resume --------------------------------------------------------------------------------
# Frozen means the container's CPU time stands still (stats still answer while paused: the
# cgroup is read from outside it), and moves again after resume.
cpu() { rl events --stats v1 | jq '.data.cpu.usage.total'; }
rl pause v1 || fail "pause"
rl pause v1 2> "$d/p2.err" && fail "pause twice accepted"
grep -q 'paused already' "$d/p2.err" || fail "pause twice: $(cat "$d/p2.err")"
rl ps -f json v1 > /dev/null || fail "ps of a paused container"
st=$(rl state v1 | jq -r .status)
[ "$st" = paused ] || echo "note: state says '$st' while paused (supervisor hook pending)"
u0=$(cpu); sleep 1.5; u1=$(cpu)
[ "$u0" = "$u1" ] || fail "not frozen: CPU time $u0 -> $u1 while paused"
rl resume v1 || fail "resume"
sleep 1.5
u2=$(cpu)
[ "$u2" -gt "$u1" ] || fail "still frozen after resume: CPU time $u1 -> $u2"
p1=$(rl exec v1 /bin/cat /dev/shm/n); sleep 1; p2=$(rl exec v1 /bin/cat /dev/shm/n)
[ "$p2" -gt "$p1" ] || fail "counter stuck after resume: $p1 -> $p2"
rl resume v1 2> /dev/null && fail "resume of a running container accepted"
echo "ok pause/resume: CPU time frozen at $u1 ns while paused, then $u2; counting again"

# exec -t --console-socket -d (containerd's tty exec): the exec's terminal behind a host pty.
"$build/tests/rl2_recvtty" "$d/etty.sock" "$d/etty.out" 'exec-in\n' &
recv=$!
for _ in $(seq 50); do [ -S "$d/etty.sock" ] && break; sleep 0.1; done
rl exec -t -d --console-socket "$d/etty.sock" v1 /bin/sh -c 'tty; read x; echo "exec-got:$x"' \
  < /dev/null || fail "exec --console-socket"
for _ in $(seq 300); do kill -0 "$recv" 2>/dev/null || break; sleep 0.1; done
wait "$recv" || fail "exec: recvtty got no master"
grep -q '^/dev/pts/' "$d/etty.out" && grep -q 'exec-got:exec-in' "$d/etty.out" ||
  fail "exec console: $(cat -A "$d/etty.out")"
rl exec --console-socket "$d/etty.sock" v1 /bin/true 2> "$d/etty.err" &&
  fail "exec --console-socket without -t accepted"
echo "ok exec -t --console-socket: tty and input through the exec's terminal"

rl delete --force v1 || fail "delete --force"

# ---- no VM: features, spec, bad input --------------------------------------------------------------
rl features | jq -e '.ociVersionMax and .linux.namespaces' > /dev/null || fail "features"
mkdir "$d/s"
rl spec --bundle "$d/s" || fail "spec"
jq -e '.ociVersion and .root.path == "rootfs" and .process.args' "$d/s/config.json" > /dev/null ||
  fail "spec output"
rl spec --bundle "$d/s" 2> "$d/spec.err" && fail "spec overwrote config.json"
for v in ps pause resume "events --stats" "update --memory 1"; do
  # shellcheck disable=SC2086
  rl $v nosuch 2> "$d/ns.err" && fail "$v of a missing container succeeded"
  grep -q 'does not exist' "$d/ns.err" || fail "$v: $(cat "$d/ns.err")"
done
echo "ok features, spec, missing containers"

# ---- --console-socket: a host pty's master to the caller, the guest terminal behind it --------------
[ -x "$build/tests/rl2_recvtty" ] || fail "missing $build/tests/rl2_recvtty"
rl_bundle "$d/t" /bin/sh -c 'tty; read x; echo "got:$x"; exit 5'
jq '.process.terminal=true' "$d/t/config.json" > "$d/t.json" && mv "$d/t.json" "$d/t/config.json"
"$build/tests/rl2_recvtty" "$d/tty.sock" "$d/tty.out" 'hello\n' &
recv=$!
for _ in $(seq 50); do [ -S "$d/tty.sock" ] && break; sleep 0.1; done
rl create --console-socket "$d/tty.sock" -b "$d/t" tty1 < /dev/null > /dev/null 2> "$d/tty.err" ||
  fail "create --console-socket"
rl start tty1 || fail "start tty1"
for _ in $(seq 300); do kill -0 "$recv" 2>/dev/null || break; sleep 0.1; done
wait "$recv" || fail "recvtty got no master"
grep -q '^/dev/pts/' "$d/tty.out" || fail "not a terminal in the guest: $(cat -A "$d/tty.out")"
grep -q 'got:hello' "$d/tty.out" || fail "terminal input lost: $(cat -A "$d/tty.out")"
for _ in $(seq 100); do [ "$(rl state tty1 | jq -r .status)" = stopped ] && break; sleep 0.1; done
rl delete tty1 || fail "delete tty1"
jq '.process.terminal=false' "$d/t/config.json" > "$d/t.json" && mv "$d/t.json" "$d/t/config.json"
rl create --console-socket "$d/tty.sock" -b "$d/t" tty2 2> "$d/tty2.err" < /dev/null &&
  fail "console socket without a terminal accepted"
grep -q 'process.terminal' "$d/tty2.err" || fail "tty2: $(cat "$d/tty2.err")"
[ ! -e "$root/tty2" ] || fail "state left for tty2"
echo "ok console-socket: the pty master reached the receiver; tty and input through the guest terminal"

# ---- networking: user networking (restrict=on) + guestfwd to a test HTTP server on loopback ---------
mkdir -p "$d/www"
echo "hello-from-host" > "$d/www/index.html"
port=$(( 20000 + RANDOM % 20000 ))
busybox httpd -f -p "127.0.0.1:$port" -h "$d/www" &
httpd=$!
trap 'rc=$?; kill $httpd 2>/dev/null; rl_cleanup $rc' EXIT
rl_bundle "$d/n" /bin/sh -c 'ip -4 addr show eth0 | grep -o "inet [0-9./]*"; ip route | grep default;
  cat /etc/resolv.conf; wget -q -O - http://10.0.2.100/index.html'
for a in wget ip grep; do ln -sf busybox "$d/n/rootfs/bin/$a"; done
jq --arg f "tcp:10.0.2.100:80-tcp:127.0.0.1:$port" '.annotations["org.lcow.network"]="user" |
  .annotations["org.lcow.network.guestfwd"]=$f |
  .windows.network.networkNamespace="6c636f77-6e73-0000-0000-000000000001"' \
  "$d/n/config.json" > "$d/n.json"
mv "$d/n.json" "$d/n/config.json"
rc=0
rl run -b "$d/n" net1 < /dev/null > "$d/net.out" 2> "$d/net.err" || rc=$?
[ "$rc" = 0 ] || fail "network run: exit $rc"
grep -qx 'inet 10.0.2.15/24' "$d/net.out" || fail "no address: $(cat "$d/net.out")"
grep -q '^default via 10.0.2.2' "$d/net.out" || fail "no default route: $(cat "$d/net.out")"
grep -qx 'nameserver 10.0.2.3' "$d/net.out" || fail "resolv.conf: $(cat "$d/net.out")"
grep -qx 'hello-from-host' "$d/net.out" || fail "no page through guestfwd: $(cat "$d/net.out")"
echo "ok network: 10.0.2.15/24, default via 10.0.2.2, resolv.conf, HTTP from 127.0.0.1:$port via guestfwd"
# Bad network annotations fail before anything boots.
jq '.annotations["org.lcow.network.guestfwd"]="tcp:10.0.2.100:80-tcp:127.0.0.1:1,hostfwd=x"' \
  "$d/n/config.json" > "$d/n.json"
mv "$d/n.json" "$d/n/config.json"
rl run -b "$d/n" net2 < /dev/null > /dev/null 2> "$d/net2.err" && fail "bad guestfwd accepted"
grep -q 'org.lcow.network.guestfwd' "$d/net2.err" || fail "bad guestfwd: $(cat "$d/net2.err")"
[ ! -e "$root/net2" ] || fail "state left for net2"
echo "ok network: a malformed guestfwd is refused, nothing left"
