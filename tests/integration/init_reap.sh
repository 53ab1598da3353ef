#!/usr/bin/env bash
# /init on this machine, as PID 1 of its own mount + pid + net namespaces (never on the machine
# itself): it mounts, brings lo up, takes entropy from a unix: test host, starts the child in a
# session, reaps orphaned zombies, propagates the child's exit status or signal, and exits
# instead of powering off (not the initial pid namespace). Nothing it mounts may leak out.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
init="$build/bin/init" host="$build/tests/boot-selftest" vx="$build/bin/vsockexec"
for b in "$init" "$host" "$vx"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 1; }

# Not under /tmp, /run, /dev or /var: init mounts fresh filesystems there, which would hide the
# sockets. The checkout itself may live under /tmp (CI clones anywhere), so use the root.
d=$(mktemp -d /lcow-init-reap.XXXXXX)
hostpid=
cleanup() {
  [ -z "$hostpid" ] || kill "$hostpid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$d"
}
trap cleanup EXIT
# The programs init runs must stay visible after its mounts too: take copies.
mkdir "$d/bin"
cp "$init" "$vx" "$d/bin/"
init="$d/bin/init" vx="$d/bin/vsockexec"
fail() { echo "FAIL: $*"; echo "--- init output"; cat "$d/init.out" 2>/dev/null || true
         echo "--- host log"; cat "$d/host.log" 2>/dev/null || true; exit 1; }

"$host" --listen "listen:unix:$d/h" --entropy 1 --log 109 --out "$d/host.log" --timeout 300 &
hostpid=$!
for _ in $(seq 100); do [ -S "$d/h_109" ] && break; sleep 0.05; done
[ -S "$d/h_109" ] || fail "test host did not listen"

# Mounts at the places init mounts (counting all mounts would race with teammates' tests).
init_mounts() {
  awk '$5 ~ /^\/(etc|var|run|run\/over|tmp|proc|sys|sys\/fs\/cgroup|dev|dev\/pts|dev\/shm)$/' \
    /proc/self/mountinfo | wc -l
}
mounts_before=$(init_mounts)
etc_probe=/etc/lcow-init-test.$$

# The child: runs as pid 2 under init. It orphans two short sleeps (they reparent to init),
# waits until they are dead, and counts zombies left in the namespace.
cat > "$d/child.sh" <<CHILD
set -u
echo "child pid \$\$ sid \$(cut -d' ' -f6 /proc/self/stat)"
( sleep 0.2 & sleep 0.3 & ) 
# Wait (10 s at most) until no sleep is left at all: a zombie init failed to reap stays forever.
for i in \$(seq 100); do
  z=0; n=0; for s in /proc/[0-9]*/stat; do read -r l < "\$s" 2>/dev/null || continue
    case "\$l" in *"(sleep)"*) n=\$((n+1));; *) continue;; esac
    st=\${l##*) }; [ "\${st%% *}" = Z ] && z=\$((z+1)); done
  [ "\$n" = 0 ] && break; sleep 0.1; done
echo "zombies \$z"
echo "lo flags \$(cat /sys/class/net/lo/flags)"
# What is visible, not what mountinfo inherited from the machine: fresh instances are empty,
# /proc is this pid namespace's, /sys this net namespace's.
for m in /run /tmp /dev/shm /dev/pts /proc /sys /sys/fs/cgroup /etc /var; do
  echo "mnt \$m \$(stat -f -c %T \$m)"; done
echo "empty \$(ls -A /tmp /dev/shm | grep -v ':\$' | grep -c . || true) run \$(ls -A /run | tr '\n' ' ')"
echo "pts \$(ls /dev/pts | tr '\n' ' ')"
echo "proc1 \$(tr '\0' ' ' < /proc/1/cmdline | cut -d' ' -f1)"
echo "netdevs \$(ls /sys/class/net | tr '\n' ' ')"
echo written > $etc_probe && echo "etc writable"
"$vx" -t unix:$d/h -e 109 /bin/sh -c 'echo from-vsockexec-in-init >&2'
exit 7
CHILD

rc=0
unshare -m -p -n --fork --propagation private "$init" -t "unix:$d/h" -e 1 -w /bin/sh "$d/child.sh" \
  > "$d/init.out" 2>&1 || rc=$?
cat "$d/init.out"
[ "$rc" = 7 ] || fail "exit status $rc, want 7"
grep -q '^child pid 2 sid 2$' "$d/init.out" || fail "child is not pid 2 in its own session"
grep -q '^zombies 0$' "$d/init.out" || fail "zombies left"
grep -Eq '^lo flags 0x[0-9a-f]*[13579bdf]$' "$d/init.out" || fail "lo not up"
for m in "/run tmpfs" "/tmp tmpfs" "/dev/shm tmpfs" "/dev/pts devpts" "/proc proc" \
         "/sys sysfs" "/sys/fs/cgroup cgroup2fs" "/etc overlayfs" "/var overlayfs"; do
  grep -q "^mnt $m$" "$d/init.out" || fail "mount $m missing"
done
grep -q '^empty 0 run over $' "$d/init.out" || fail "/run, /tmp or /dev/shm is not a fresh tmpfs"
grep -q '^pts ptmx $' "$d/init.out" || fail "/dev/pts is not a fresh devpts"
grep -q "^proc1 $init$" "$d/init.out" || fail "/proc is not this pid namespace's"
grep -q '^netdevs lo $' "$d/init.out" || fail "/sys is not this net namespace's"
grep -q '^etc writable$' "$d/init.out" || fail "-w did not make /etc writable"
grep -q 'entropy: 512 bytes from port 1' "$d/init.out" || fail "no entropy"
grep -q 'no power-off' "$d/init.out" || fail "init did not take the test exit path"
for _ in $(seq 200); do grep -q 'log| from-vsockexec-in-init' "$d/host.log" && break; sleep 0.05; done
grep -q 'log| from-vsockexec-in-init' "$d/host.log" || fail "vsockexec stderr did not reach the host"

# Nothing leaked: no new mounts here, the overlay write stayed in the namespace.
[ "$(init_mounts)" = "$mounts_before" ] || fail "mount count changed"
[ ! -e "$etc_probe" ] || { rm -f "$etc_probe"; fail "/etc write leaked onto the machine"; }

# A child killed by a signal: 128 + signal, as hcsshim's init returns it.
rc=0
unshare -m -p -n --fork "$init" -t "unix:$d/h" /bin/sh -c 'kill -9 $$' > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 137 ] || fail "killed child: status $rc, want 137"

# A child that cannot be executed: 127, and init still exits cleanly.
rc=0
unshare -m -p -n --fork "$init" /nonexistent/prog > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 127 ] || fail "missing program: status $rc, want 127"
grep -q 'exec `/nonexistent/prog`' "$d/init.out" || fail "no exec error message"

# Bad arguments: a clear message and status 1, before anything is started.
rc=0
unshare -m -p -n --fork "$init" -e 0 /bin/true > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "-e 0: status $rc, want 1"
grep -q 'port 0 is not allowed' "$d/init.out" || fail "-e 0: no message"

# Entropy host missing: a warning, and boot goes on.
rc=0
unshare -m -p -n --fork "$init" -t "unix:$d/nohost" -e 1 /bin/sh -c 'exit 0' > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "missing entropy host: status $rc, want 0"
grep -q 'entropy: connect' "$d/init.out" || fail "missing entropy host: no warning"

# -d: the debug shell is started too and becomes the primary child (its status is init's).
rc=0
echo 'exit 9' | unshare -m -p -n --fork "$init" -d /bin/sh /bin/sleep 60 > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 9 ] || fail "-d shell: status $rc, want 9"
grep -q 'started `/bin/sleep`' "$d/init.out" || fail "-d: the child was not started too"

# hcsshim.cgroup=v1 on the kernel command line: the v1 layout (a tmpfs of per-controller
# hierarchies). The machine's co-mounted ones (cpu,cpuacct) refuse a lone mount: warnings only.
echo "console=ttyS0 hcsshim.cgroup=v1 panic=-1" > "$d/cmdline"
rc=0
LCOW_INIT_CMDLINE="$d/cmdline" unshare -m -p -n --fork "$init" /bin/sh -c \
  'echo "cg $(stat -f -c %T /sys/fs/cgroup) $(stat -f -c %T /sys/fs/cgroup/memory)"' \
  > "$d/init.out" 2>&1 || rc=$?
[ "$rc" = 0 ] || fail "cgroup v1: status $rc"
grep -q '^cg tmpfs cgroupfs$' "$d/init.out" || fail "cgroup v1: want a tmpfs root with hierarchies"
grep -q 'cgroup v2 mounted' "$d/init.out" && fail "cgroup v1: v2 was mounted"

# SIGTERM to init is forwarded to the child.
unshare -m -p -n --fork "$init" /bin/sh -c 'trap "exit 42" TERM; while :; do sleep 0.1; done' \
  > "$d/init.out" 2>&1 &
upid=$!
for _ in $(seq 200); do grep -q 'started `/bin/sh`' "$d/init.out" && break; sleep 0.05; done
ipid=$(cut -d" " -f1 "/proc/$upid/task/$upid/children")   # unshare's child: init
kill -TERM "$ipid"
rc=0; wait "$upid" || rc=$?
[ "$rc" = 42 ] || fail "SIGTERM forwarding: status $rc, want 42"
[ "$(init_mounts)" = "$mounts_before" ] || fail "mount count changed"
echo "PASS"
