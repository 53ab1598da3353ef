#!/usr/bin/env bash
# The runc CLI contract, differential where runc can be compared: create (waiting until
# start), start, state, list, kill, delete [--force], pid files, exit codes of the commands;
# then bad input (invalid config, missing rootfs, duplicate and unknown ids, a mount target
# escaping through a symlink, an unknown seccomp syscall) must give a clear error and leave no
# state dir, cgroup, mount or process; then what runc 1.1 lacks (domainname, time namespace)
# and the terminal paths (--console-socket, foreground pty under script(1)), --no-pivot and
# --preserve-fds.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
RECVTTY=$TOP/$BUILD/tests/oci_recvtty
[ -x "$RECVTTY" ] || { echo "$RECVTTY not built"; exit 1; }
trap oci_cleanup EXIT
[ -n "${OCI_KEEP:-}" ] && trap - EXIT
oci_make_rootfs "$WORK/rootfs"

ocirun() { "$OCIRUN" --root "$OCI_ROOT" "$@"; }
runc_() { runc --root "$RUNC_ROOT" "$@"; }

# ---- 1. the life cycle, step by step, under both runtimes ----
oci_bundle "$WORK/life" '.process.args = ["sleep", "300"] | .annotations = {"org.test": "yes"}'
lifecycle() {
  local rt=$1 out=$2
  {
    (cd "$WORK/life" && $rt create --pid-file "$WORK/$rt.pid" life) 2>/dev/null
    echo "create=$?"
    [ "$(cat "$WORK/$rt.pid")" = "$($rt state life | jq .pid)" ] && echo pidfile-matches
    $rt state life | jq -S 'del(.pid, .created)'
    # byte for byte too: field order, indentation, no trailing newline
    $rt state life | sed -E 's/"(pid|created)": [^,]*/"\1": X/' | od -c | tail -3
    $rt list -f json | sed -E 's/"(pid|created)":[^,]*/"\1":X/g'
    $rt list -q
    $rt list | head -1 | tr -s ' ' # widths follow the created stamp's length
    $rt list | awk 'NR > 1 {print $1, $3, $4, $6}'
    (cd "$WORK/life" && $rt create life) >/dev/null 2>&1
    echo "duplicate-create=$?"
    $rt state life | jq -r .status
    $rt start life
    echo "start=$?"
    $rt state life | jq -r .status
    $rt start life >/dev/null 2>&1
    echo "start-again=$?"
    $rt delete life >/dev/null 2>&1
    echo "delete-running=$?"
    $rt kill life KILL
    echo "kill=$?"
    for _ in $(seq 50); do [ "$($rt state life 2>/dev/null | jq -r .status)" = stopped ] && break; sleep 0.05; done
    $rt state life | jq -S 'del(.created)'
    $rt kill life KILL >/dev/null 2>&1
    echo "kill-stopped=$?"
    $rt delete life
    echo "delete=$?"
    (cd "$WORK/life" && $rt create life3 >/dev/null 2>&1 && $rt delete life3)
    echo "delete-created=$?"
    $rt state life >/dev/null 2>&1
    echo "state-gone=$?"
    $rt kill nosuch >/dev/null 2>&1
    echo "kill-unknown=$?"
    $rt start nosuch >/dev/null 2>&1
    echo "start-unknown=$?"
    $rt delete nosuch >/dev/null 2>&1
    echo "delete-unknown=$?"
    $rt delete --force nosuch >/dev/null 2>&1
    echo "delete-force-unknown=$?"
    (cd "$WORK/life" && $rt create life2 >/dev/null 2>&1 && $rt start life2 && $rt delete --force life2)
    echo "delete-force-running=$?"
  } >"$out" 2>&1
}
lifecycle ocirun "$WORK/life.ocirun"
lifecycle runc_ "$WORK/life.runc"
oci_check "life cycle and state JSON as runc" \
  diff -u "$WORK/life.runc" "$WORK/life.ocirun"
oci_check "the cgroup is gone after delete" \
  bash -c "! ls -d /sys/fs/cgroup/memory/$CG_PARENT/life 2>/dev/null"

# `spec` writes runc's default config (capability lists compared as sets).
mkdir -p "$WORK/spec-o" "$WORK/spec-r"
"$OCIRUN" spec --bundle "$WORK/spec-o" && (cd "$WORK/spec-r" && runc spec)
norm_spec() { jq -S 'del(.ociVersion) | .process.capabilities |= map_values(sort)' "$1"; }
oci_check "spec writes runc's default config" \
  diff <(norm_spec "$WORK/spec-r/config.json") <(norm_spec "$WORK/spec-o/config.json")
oci_check "spec refuses to overwrite" bash -c "! '$OCIRUN' spec --bundle '$WORK/spec-o' 2>/dev/null"

# ---- 2. bad input: clear error, nothing left ----
nothing_left() {
  local id=$1
  [ ! -e "$OCI_ROOT/$id" ] || { echo "state dir left: $OCI_ROOT/$id"; return 1; }
  ! ls -d /sys/fs/cgroup/*/"$CG_PARENT/$id" 2>/dev/null || { echo "cgroup left"; return 1; }
  ! pgrep -f "marker-$id" >/dev/null || { echo "process left"; return 1; }
  ! grep -q "$WORK/rootfs" /proc/self/mountinfo || { echo "mount left"; return 1; }
}
bad_case() {
  local id=$1 want=$2
  (cd "$WORK/$id" && "$OCIRUN" --root "$OCI_ROOT" create "$id") >/dev/null 2>"$WORK/$id.err"
  local rc=$?
  [ "$rc" = 1 ] || { echo "exit $rc"; return 1; }
  grep -q -- "$want" "$WORK/$id.err" || { echo "message: $(cat "$WORK/$id.err")"; return 1; }
  nothing_left "$id"
}
oci_bundle "$WORK/badrlimit" '.process.args = ["sleep", "marker-badrlimit"]
  | .process.rlimits = [{type: "RLIMIT_BOGUS", hard: 1, soft: 1}]'
oci_check "invalid rlimit names its JSON path" bad_case badrlimit 'process.rlimits\[0\].type'
oci_bundle "$WORK/badns" '.linux.namespaces += [{type: "pid"}]'
oci_check "duplicate namespace names its JSON path" bad_case badns 'linux.namespaces\[5\].type'
oci_bundle "$WORK/norootfs" ".root.path = \"$WORK/missing\""
oci_check "missing rootfs" bad_case norootfs "rootfs \`$WORK/missing\`"
oci_bundle "$WORK/badcg" '.process.args = ["sleep", "marker-badcg"]
  | .linux.resources.cpu = {quota: 500, period: 100}'
oci_check "a cgroup limit the kernel refuses" bad_case badcg 'cpu.cfs_'
# Unknown seccomp syscalls: skipped as runc does, an error with crun's annotation.
oci_bundle "$WORK/badsec" '.process.args = ["sleep", "marker-badsec"]
  | .annotations = {"run.oci.seccomp_fail_unknown_syscall": "1"}
  | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["no_such_syscall"], action: "SCMP_ACT_ERRNO"}]}'
oci_check "unknown seccomp syscall (fail_unknown_syscall=1)" bad_case badsec 'no_such_syscall'
oci_bundle "$WORK/lenientsec" '.process.args = ["true"]
  | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", syscalls: [{names: ["no_such_syscall"], action: "SCMP_ACT_ERRNO"}]}'
oci_check "unknown seccomp syscall skipped by default, as runc" \
  bash -c "cd '$WORK/lenientsec' && '$OCIRUN' --root '$OCI_ROOT' run lenientsec && runc --root '$RUNC_ROOT' run lenientsec"
# An existing cgroup: reused when empty (runc 1.2's rule), refused when frozen.
mkdir -p "/sys/fs/cgroup/freezer/$CG_PARENT/frozen" "/sys/fs/cgroup/memory/$CG_PARENT/reuse"
echo FROZEN >"/sys/fs/cgroup/freezer/$CG_PARENT/frozen/freezer.state"
oci_bundle "$WORK/frozen" '.process.args = ["sleep", "marker-frozen"]'
(cd "$WORK/frozen" && "$OCIRUN" --root "$OCI_ROOT" create frozen) >/dev/null 2>"$WORK/frozen.err"
oci_check "create into a frozen cgroup fails cleanly" \
  bash -c "grep -qi frozen '$WORK/frozen.err' && [ ! -e '$OCI_ROOT/frozen' ] && ! pgrep -f [m]arker-frozen >/dev/null"
echo THAWED >"/sys/fs/cgroup/freezer/$CG_PARENT/frozen/freezer.state" 2>/dev/null
oci_bundle "$WORK/reuse" '.process.args = ["true"]'
oci_check "an empty existing cgroup is reused" bash -c "cd '$WORK/reuse' && '$OCIRUN' --root '$OCI_ROOT' run reuse"
# sysctls only where the container has its own namespace (runc's rule).
oci_bundle "$WORK/badsysctl" '.process.args = ["sleep", "marker-badsysctl"] | .linux.sysctl = {"vm.swappiness": "10"}'
oci_check "a host-wide sysctl is refused, nothing left" bad_case badsysctl 'linux.sysctl.vm.swappiness'
oci_bundle "$WORK/badsysctl2" '.process.args = ["sleep", "marker-badsysctl2"]
  | .linux.namespaces |= map(select(.type != "network")) | .linux.sysctl = {"net.ipv4.ip_forward": "1"}'
oci_check "a net sysctl without a network namespace is refused" bad_case badsysctl2 'needs a private network namespace'
oci_bundle "$WORK/badexec" '.process.args = ["/bin/marker-badexec"]'
oci_check "missing executable" bad_case badexec '/bin/marker-badexec'
oci_bundle "$WORK/baduser" '.process.args = ["sleep", "marker-baduser"] | .process.cwd = "/no/such/dir"'
oci_check "missing cwd" bad_case baduser '/no/such/dir'
(cd "$WORK/life" && "$OCIRUN" --root "$OCI_ROOT" create "bad/id") >/dev/null 2>"$WORK/badid.err"
oci_check "invalid id" grep -q "invalid container id" "$WORK/badid.err"

# A mount target reached through a symlink that points out of the rootfs must land inside it.
mkdir -p "$WORK/escrootfs" "$WORK/hostdir"
cp -a "$WORK/rootfs/." "$WORK/escrootfs/"
ln -s "../../../../../../$WORK/hostdir" "$WORK/escrootfs/evil"
ln -s "$WORK/hostdir" "$WORK/escrootfs/evilabs"
oci_bundle "$WORK/escape" ".root.path = \"$WORK/escrootfs\" | .root.readonly = false
  | .mounts += [{destination: \"/evil/sub\", type: \"tmpfs\", source: \"tmpfs\"},
                {destination: \"/evilabs/sub2\", type: \"tmpfs\", source: \"tmpfs\"}]
  | .process.args = [\"sh\", \"-c\", \"touch /evil/sub/inside && grep -c tmpfs /proc/self/mountinfo\"]"
(cd "$WORK/escape" && ocirun run escape) >"$WORK/escape.out" 2>&1
oci_check "symlinked mount targets stay inside the rootfs" \
  bash -c "[ ! -e '$WORK/hostdir/sub' ] && [ ! -e '$WORK/hostdir/sub2' ] && [ -d '$WORK/escrootfs/$WORK/hostdir/sub' ] && [ -d '$WORK/escrootfs/$WORK/hostdir/sub2' ]"
oci_check "no mount left on the host after the symlink case" \
  bash -c "! grep -q '$WORK/hostdir' /proc/self/mountinfo"

# ---- 3. beyond runc 1.1: domainname, time namespace offsets, no-pivot, preserve-fds ----
oci_bundle "$WORK/dom" '.hostname = "h1" | .domainname = "example.org"
  | .process.args = ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"]'
oci_check "hostname and domainname" \
  bash -c "[ \"\$(cd '$WORK/dom' && '$OCIRUN' --root '$OCI_ROOT' run dom | tr '\n' ' ')\" = 'h1 example.org ' ]"
if [ -e /proc/self/ns/time ]; then
  oci_bundle "$WORK/timens" '.linux.namespaces += [{type: "time"}]
    | .linux.timeOffsets = {boottime: {secs: 86400}, monotonic: {secs: 3600}}
    | .process.args = ["sh", "-c", "cut -d. -f1 /proc/uptime; echo $$"]'
  host_up=$(cut -d. -f1 /proc/uptime)
  out=$(cd "$WORK/timens" && ocirun run timens | tr '\n' ' ')
  oci_check "time namespace: boottime offset applied, init is pid 1 ($out)" \
    bash -c "set -- $out; [ \$1 -ge $((host_up + 86400)) ] && [ \$2 = 1 ]"
fi
# personality, I/O priority and scheduler (runtime-spec 1.1+, which runc 1.1 lacks).
oci_bundle "$WORK/attrs" '.linux.personality = {domain: "LINUX32"}
  | .process.ioPriority = {class: "IOPRIO_CLASS_IDLE", priority: 0}
  | .process.scheduler = {policy: "SCHED_BATCH", nice: 7}
  | .process.execCPUAffinity = {initial: "0", final: "0"}
  | .process.args = ["sh", "-c", "uname -m; ionice -p $$; cut -d\" \" -f19,41 /proc/self/stat; grep Cpus_allowed_list /proc/self/status"]'
(cd "$WORK/attrs" && ocirun run attrs) >"$WORK/attrs.out" 2>&1
oci_check "personality LINUX32" grep -qx "i686" "$WORK/attrs.out"
oci_check "ioPriority idle" grep -q "idle" "$WORK/attrs.out"
oci_check "scheduler SCHED_BATCH, nice 7" grep -qx "7 3" "$WORK/attrs.out"
oci_check "execCPUAffinity.final" grep -qE "^Cpus_allowed_list:.0$" "$WORK/attrs.out"
oci_bundle "$WORK/rdt" '.linux.intelRdt = {closID: "x"}'
oci_check "intelRdt is refused, nothing left" bad_case rdt 'Intel RDT is not supported'
# Joining a user namespace by path: the new namespaces must then be owned by it (unshare after
# setns), and the ids inside are the joined namespace's.
oci_bundle "$WORK/usera" '.process.args = ["sleep", "100"] | .linux.namespaces += [{type: "user"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 200000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 200000, size: 65536}]'
(cd "$WORK/usera" && ocirun run -d usera)
upid=$(ocirun state usera | jq .pid)
oci_bundle "$WORK/userb" ".linux.namespaces = [{type: \"mount\"}, {type: \"user\", path: \"/proc/$upid/ns/user\"},
    {type: \"pid\", path: \"/proc/$upid/ns/pid\"}, {type: \"network\", path: \"/proc/$upid/ns/net\"},
    {type: \"ipc\", path: \"/proc/$upid/ns/ipc\"}, {type: \"uts\", path: \"/proc/$upid/ns/uts\"}]
  | del(.hostname) | .process.args = [\"sh\", \"-c\", \"cat /proc/self/uid_map; id -u\"]"
oci_check "joining a user namespace by path" \
  bash -c "[ \"\$(cd '$WORK/userb' && '$OCIRUN' --root '$OCI_ROOT' run userb | tr -s ' \n' ' ')\" = ' 0 200000 65536 0 ' ]"
ocirun delete --force usera
# An idmapped bind mount: host files of 0:0 appear as 1000:2000, and what 1000:2000 writes
# lands as 0:0 on the host (runtime-spec 1.2 mount uidMappings/gidMappings + "idmap").
mkdir -p "$WORK/idsrc" && echo data >"$WORK/idsrc/f"
oci_bundle "$WORK/idmap" ".root.readonly = false | .process.user = {uid: 1000, gid: 2000}
  | .mounts += [{destination: \"/mnt/id\", type: \"bind\", source: \"$WORK/idsrc\", options: [\"rbind\", \"idmap\"],
      uidMappings: [{containerID: 0, hostID: 1000, size: 1}], gidMappings: [{containerID: 0, hostID: 2000, size: 1}]}]
  | .process.args = [\"sh\", \"-c\", \"stat -c %u:%g /mnt/id/f; touch /mnt/id/new\"]"
oci_check "idmapped bind mount shows mapped owners inside" \
  bash -c "[ \"\$(cd '$WORK/idmap' && '$OCIRUN' --root '$OCI_ROOT' run idmap)\" = 1000:2000 ]"
oci_check "idmapped bind mount writes the unmapped owner on the host" \
  bash -c "[ \"\$(stat -c %u:%g '$WORK/idsrc/new')\" = 0:0 ]"
oci_bundle "$WORK/idbad" ".mounts += [{destination: \"/mnt/x\", type: \"tmpfs\", source: \"tmpfs\", options: [\"idmap\"]}]"
oci_check "idmap on a non-bind mount is refused, nothing left" bad_case idbad 'only bind mounts can be idmapped'
oci_bundle "$WORK/nopivot" '.process.args = ["sh", "-c", "ls /bin/busybox && cat /proc/self/mountinfo | wc -l"]'
oci_check "--no-pivot (MS_MOVE + chroot)" \
  bash -c "cd '$WORK/nopivot' && '$OCIRUN' --root '$OCI_ROOT' run --no-pivot nopivot >/dev/null"
oci_bundle "$WORK/fds" '.process.args = ["sh", "-c", "cat <&3; ls /proc/self/fd | wc -l"]'
oci_check "--preserve-fds 1 passes fd 3 and nothing else" \
  bash -c "[ \"\$(cd '$WORK/fds' && echo via-fd3 | '$OCIRUN' --root '$OCI_ROOT' run --preserve-fds 1 fds 3<&0 | tr '\n' ' ')\" = 'via-fd3 5 ' ]"

# ---- 4. hooks: order, state on stdin, namespaces; failures stop create ----
hook() { # KIND LOG: a hook that appends "KIND status pid|nopid" to LOG
  local script='s=$(cat); st=$(echo "$s" | sed "s/.*\"status\":\"\([a-z]*\)\".*/\1/");
    if echo "$s" | grep -q "\"pid\":"; then p=pid; else p=nopid; fi; echo "$0 $st $p" >>"$1"'
  jq -n --arg k "$1" --arg log "$2" --arg s "$script" '{path: "/bin/sh", args: ["sh", "-c", $s, $k, $log]}'
}
hooks_for() { # LOG [DIR-IN-CONTAINER-LOG]
  echo "{prestart: [$(hook prestart "$1")], createRuntime: [$(hook createRuntime "$1")],
    createContainer: [$(hook createContainer "$1")], startContainer: [$(hook startContainer /tmp/hooks.log)],
    poststart: [$(hook poststart "$1")], poststop: [$(hook poststop "$1")]}"
}
for rt in ocirun runc_; do
  mkdir -p "$WORK/hooks-$rt/rootfs"
  cp -a "$WORK/rootfs/." "$WORK/hooks-$rt/rootfs/"
  oci_bundle "$WORK/hooks-$rt" ".root.path = \"$WORK/hooks-$rt/rootfs\" | .root.readonly = false
    | .process.args = [\"sh\", \"-c\", \"cat /tmp/hooks.log; echo body\"]
    | .hooks = $(hooks_for "$WORK/hooks-$rt.log")"
  (cd "$WORK/hooks-$rt" && $rt create hk && $rt start hk && sleep 0.3 && $rt delete hk) \
    >"$WORK/hooks-$rt.out" 2>&1
  cat "$WORK/hooks-$rt.log" >>"$WORK/hooks-$rt.out"
done
oci_check "hooks run in runc's order with the same state" \
  diff -u "$WORK/hooks-runc_.out" "$WORK/hooks-ocirun.out"
oci_check "hooks: startContainer ran inside the container" grep -q "startContainer" "$WORK/hooks-ocirun.out"
oci_bundle "$WORK/badhook" ".process.args = [\"sleep\", \"marker-badhook\"]
  | .hooks = {createRuntime: [{path: \"/bin/sh\", args: [\"sh\", \"-c\", \"exit 3\"]}]}"
oci_check "a failing createRuntime hook fails create, nothing left" bad_case badhook 'createRuntime hook 0 `/bin/sh`: exit status 3'
oci_bundle "$WORK/slowhook" ".process.args = [\"sleep\", \"marker-slowhook\"]
  | .hooks = {prestart: [{path: \"/bin/sleep\", args: [\"sleep\", \"30\"], timeout: 1}]}"
oci_check "a hook past its timeout is killed and fails create" bad_case slowhook 'timed out after 1 s'
oci_bundle "$WORK/badcchook" ".process.args = [\"sleep\", \"marker-badcchook\"]
  | .hooks = {createContainer: [{path: \"/no/such/hook\"}]}"
oci_check "a missing createContainer hook fails create, nothing left" bad_case badcchook 'createContainer hook `/no/such/hook`'

# kill --all signals every process of the container's cgroup; --log-format json records errors.
oci_bundle "$WORK/killall" '.process.args = ["sh", "-c", "sleep 100 & sleep 100 & wait"]'
(cd "$WORK/killall" && ocirun run -d killall)
sleep 0.2
ocirun kill --all killall KILL
for _ in $(seq 50); do [ "$(ocirun state killall | jq -r .status)" = stopped ] && break; sleep 0.05; done
oci_check "kill --all stops every process of the cgroup" \
  bash -c "[ \"\$(cat /sys/fs/cgroup/pids/$CG_PARENT/killall/cgroup.procs 2>/dev/null | wc -l)\" = 0 ]"
ocirun delete killall
"$OCIRUN" --root "$OCI_ROOT" --log "$WORK/log.json" --log-format json state nosuch 2>/dev/null
oci_check "--log-format json writes the error as a logrus record" \
  bash -c "jq -e 'select(.level == \"error\") | .msg | test(\"nosuch\")' '$WORK/log.json' >/dev/null"
oci_bundle "$WORK/ttydetach" '.process.terminal = true'
(cd "$WORK/ttydetach" && "$OCIRUN" --root "$OCI_ROOT" create ttydetach) 2>"$WORK/ttydetach.err"
oci_check "a detached terminal without --console-socket is refused, nothing left" \
  bash -c "grep -q console-socket '$WORK/ttydetach.err' && [ ! -e '$OCI_ROOT/ttydetach' ]"

# A frozen cgroup shows as "paused" (runc's status); delete needs --force and thaws first.
oci_bundle "$WORK/paused" '.process.args = ["sleep", "100"]'
(cd "$WORK/paused" && ocirun run -d paused)
echo FROZEN >"/sys/fs/cgroup/freezer/$CG_PARENT/paused/freezer.state"
for _ in $(seq 50); do grep -q FROZEN "/sys/fs/cgroup/freezer/$CG_PARENT/paused/freezer.state" && break; sleep 0.02; done
oci_check "a frozen container is paused in state and list" \
  bash -c "[ \"\$('$OCIRUN' --root '$OCI_ROOT' state paused | jq -r .status)\" = paused ] && '$OCIRUN' --root '$OCI_ROOT' list | grep -q ' paused '"
oci_check "delete of a paused container needs --force" \
  bash -c "! '$OCIRUN' --root '$OCI_ROOT' delete paused 2>/dev/null"
oci_check "delete --force of a paused container leaves nothing" \
  bash -c "'$OCIRUN' --root '$OCI_ROOT' delete --force paused && [ ! -e '$OCI_ROOT/paused' ] && [ ! -e '/sys/fs/cgroup/freezer/$CG_PARENT/paused' ]"
"$OCIRUN" --version | head -1 | grep -q '^ocirun version ' && "$OCIRUN" -h >/dev/null
oci_check "--version (runc's first line) and -h" [ $? = 0 ]

# A foreground run forwards signals to the container's init.
oci_bundle "$WORK/fwd" '.process.args = ["sh", "-c", "trap \"echo got-usr1; exit 5\" USR1; while true; do sleep 0.05; done"]'
(cd "$WORK/fwd" && exec "$OCIRUN" --root "$OCI_ROOT" run fwd >"$WORK/fwd.out" 2>&1) &
fwd=$!
for _ in $(seq 100); do [ "$(ocirun state fwd 2>/dev/null | jq -r .status)" = running ] && break; sleep 0.02; done
sleep 0.2
kill -USR1 "$fwd"
wait "$fwd"
echo "rc=$?" >>"$WORK/fwd.out"
oci_check "foreground run forwards SIGUSR1 and returns the init's status" \
  bash -c "[ \"\$(tr '\n' ' ' <'$WORK/fwd.out')\" = 'got-usr1 rc=5 ' ]"

# ---- 5. terminals ----
oci_bundle "$WORK/tty" '.process.terminal = true | .process.consoleSize = {height: 33, width: 101}
  | .process.args = ["sh", "-c", "tty; stty size; test -t 0 && echo stdin-is-tty; read l; echo got=$l"]'
"$RECVTTY" "$WORK/console.sock" $'hello\n' >"$WORK/tty.out" 2>"$WORK/tty.err" &
recv=$!
for _ in $(seq 100); do [ -S "$WORK/console.sock" ] && break; sleep 0.02; done
(cd "$WORK/tty" && ocirun create --console-socket "$WORK/console.sock" tty && ocirun start tty)
wait "$recv"
tr -d '\r' <"$WORK/tty.out" >"$WORK/tty.clean"
oci_check "console socket: pty inside the container, size, stdin" \
  grep -qx "/dev/pts/0" "$WORK/tty.clean"
oci_check "console size applied" grep -qx "33 101" "$WORK/tty.clean"
oci_check "pty input reaches the container" grep -qx "got=hello" "$WORK/tty.clean"
ocirun delete --force tty
if command -v script >/dev/null; then
  oci_bundle "$WORK/fgtty" '.process.terminal = true | .process.args = ["sh", "-c", "tty; exit 7"]'
  for rt in ocirun runc_; do
    (cd "$WORK/fgtty" && script -qfec "$([ $rt = ocirun ] && echo "$OCIRUN --root $OCI_ROOT" || echo "runc --root $RUNC_ROOT") run fg$rt" /dev/null) \
      </dev/null >"$WORK/fg.$rt" 2>&1
    echo "rc=$?" >>"$WORK/fg.$rt"
  done
  oci_check "foreground run with a terminal matches runc (output, exit 7)" \
    diff <(tr -d '\r' <"$WORK/fg.runc_" | sed 's/\^@//g') <(tr -d '\r' <"$WORK/fg.ocirun" | sed 's/\^@//g')
fi

oci_finish
