#!/usr/bin/env bash
# Part 2 of runc's contract, differential against Debian's runc on the same bundles: exec
# (exit codes, env, cwd, user, groups, --process, -d + --pid-file, the pid namespace view, a
# tty through --console-socket, refusal in a paused or stopped container), pause/resume,
# ps/list/state/events JSON shapes, kill --all, update (flags, --resources -, options after the
# id) seen inside the container, features, -h, and the exit-code table of executor-notes §3.4
# (255 for runtime failures of exec, 1 for failed commands).
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

# same WHAT CMD...: CMD (once with RT=ocirun, once with RT=runc_; it may use $B, the
# runtime's own bundle suffix) gives the same stdout and exit code. OCI2_VERBOSE=1 shows it.
same() {
  local what=$1 o r
  shift
  o=$(RT=ocirun B=o "$@" 2>"$WORK/same.err.o"; echo "rc=$?")
  r=$(RT=runc_ B=r "$@" 2>"$WORK/same.err.r"; echo "rc=$?")
  if [ "$o" = "$r" ]; then
    echo "ok   $what"
    [ -n "${OCI2_VERBOSE:-}" ] && sed 's/^/       /' <<<"$o"
  else
    echo "FAIL $what"
    diff <(echo "$r") <(echo "$o") | sed 's/^/  (runc <, ocirun >) /'
    sed 's/^/  ocirun stderr: /' "$WORK/same.err.o" | head -5
    FAILS=$((FAILS + 1))
  fi
}

# bundles NAME FILTER: one bundle per runtime ($WORK/NAME-o, $WORK/NAME-r), so that each
# container has a cgroup of its own (/CG_PARENT/NAME-o, /CG_PARENT/NAME-r).
bundles() {
  oci_bundle "$WORK/$1-o" "$2"
  oci_bundle "$WORK/$1-r" "$2"
}

# ---- a running container under each runtime ----
bundles box '.process.args = ["sleep", "600"] | .process.env += ["FROMSPEC=yes"]
  | .linux.resources.memory = {limit: 134217728}'
(cd "$WORK/box-o" && ocirun run -d box </dev/null) && (cd "$WORK/box-r" && runc_ run -d box </dev/null) ||
  { echo "FAIL could not start the containers"; exit 1; }

# ---- 1. exec ----
run_exec() { $RT exec "$@"; }
same "exec: output and exit 0" run_exec box sh -c 'echo out; echo err >&2'
same "exec: exit code 3" run_exec box sh -c 'exit 3'
same "exec: killed by a signal is 128+9" run_exec box sh -c 'kill -9 $$'
same "exec: env from the spec, -e adds and overrides, HOME from passwd" \
  run_exec -e FOO=bar -e FROMSPEC=over box sh -c 'echo $FOO $FROMSPEC $HOME; env | sort | grep -v ^HOSTNAME'
same "exec: --cwd" run_exec --cwd /tmp box pwd
same "exec: --user 1000:1000" run_exec --user 1000:1000 box id
same "exec: --user 1000 -g 10 -g 20 (additional gids)" run_exec -u 1000 -g 10 -g 20 box id
same "exec: HOME of user 1000" run_exec -u 1000 box sh -c 'echo $HOME'
same "exec: --cap adds a capability" run_exec --cap CAP_SYS_ADMIN box sh -c 'grep Cap /proc/self/status'
same "exec: --no-new-privs" run_exec --no-new-privs box sh -c 'grep NoNewPrivs /proc/self/status'
same "exec: joins the pid namespace (ps)" run_exec box sh -c 'ps -o pid,comm | awk "\$2 == \"sleep\""'
same "exec: joins the hostname (uts) and mounts" run_exec box sh -c 'hostname; cat /proc/self/mountinfo | wc -l'
same "exec: joins the cgroup" run_exec box sh -c 'grep memory /proc/self/cgroup | sed "s/box-[or]\$/box/"'
same "exec: missing executable is 255" run_exec box /no/such/thing
same "exec: no command is 255" run_exec box
same "exec: unknown container is 255" run_exec nosuch true
same "exec: bad --pid-file directory is 255" run_exec --pid-file /nonexistent/dir/pid box true
# runc takes everything after the id as the command (no options there, unlike update).
same "exec: what follows the id is the command" run_exec box --env X=1 sh -c 'echo $X'
jq '.process | .args = ["sh", "-c", "echo from-process-json $A; id -u; pwd"] | .env += ["A=1"]
  | .user.uid = 1000 | .cwd = "/home/user"' "$WORK/box-o/config.json" >"$WORK/process.json"
same "exec --process FILE" run_exec --process "$WORK/process.json" box
detached() {
  rm -f "$WORK/exec.pid"
  $RT exec -d --pid-file "$WORK/exec.pid" box sleep 30 || return
  local pid
  pid=$(cat "$WORK/exec.pid")
  [ -d "/proc/$pid" ] && echo "pid file names a live process"
  # runc writes the pid file while its init is still on its way to the exec
  for _ in $(seq 100); do tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q '^sleep' && break; sleep 0.02; done
  tr '\0' ' ' <"/proc/$pid/cmdline"
  echo
  grep -c . <<<"$($RT ps -f json box | jq '.[]')"
  kill -9 "$pid"
}
same "exec -d --pid-file (then ps counts 2 processes)" detached
relative_pid_file() {
  (cd "$WORK" && $RT exec -d --pid-file rel.pid box true) && [ -s "$WORK/rel.pid" ] && echo written
  rm -f "$WORK/rel.pid"
}
same "exec: a relative --pid-file is the caller's cwd" relative_pid_file
tty_exec() {
  rm -f "$WORK/console.sock"
  "$RECVTTY" "$WORK/console.sock" $'typed\n' >"$WORK/tty.out" 2>"$WORK/tty.err" &
  local recv=$!
  for _ in $(seq 100); do [ -S "$WORK/console.sock" ] && break; sleep 0.02; done
  $RT exec -t -d --console-socket "$WORK/console.sock" box sh -c 'tty; test -t 0 && echo tty-stdin; read l; echo got=$l'
  echo "rc=$?"
  wait "$recv"
  tr -d '\r' <"$WORK/tty.out" | sort # the echo of the typed line comes whenever it is typed
}
same "exec -t through --console-socket" tty_exec
same "exec -t -d without --console-socket is refused (255)" run_exec -t -d box true
if command -v script >/dev/null; then
  fg_tty() {
    script -qfec "$([ $RT = ocirun ] && echo "$OCIRUN --root $OCI_ROOT" || echo "runc --root $RUNC_ROOT") exec -t box sh -c 'tty; exit 4'" /dev/null </dev/null |
      tr -d '\r' | sed 's/\^@//g'
  }
  same "exec -t in the foreground (script): pty and exit code" fg_tty
fi

preserve() { $RT exec --preserve-fds 2 box sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "' 3</dev/null 4</dev/null 5</dev/null; }
same "exec --preserve-fds 2: fds 3 and 4 stay, 5 does not" preserve

# exec into containers with user and cgroup namespaces (joined from the init's /proc/PID/ns)
chown -R 100000:100000 "$WORK/rootfs" 2>/dev/null
bundles userns '.process.args = ["sleep", "600"]
  | .linux.namespaces += [{type: "user"}, {type: "cgroup"}]
  | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}]
  | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}]'
(cd "$WORK/userns-o" && ocirun run -d userns </dev/null) && (cd "$WORK/userns-r" && runc_ run -d userns </dev/null) ||
  echo "FAIL could not start the user-namespace containers"
same "exec joins the user namespace (id, maps)" run_exec userns sh -c 'id; cat /proc/self/uid_map /proc/self/gid_map'
same "exec joins the cgroup namespace" run_exec userns sh -c 'cat /proc/self/cgroup | grep -v "^0::"'
same "exec as user 1000 in the user namespace" run_exec -u 1000 userns sh -c 'id; touch /tmp/u && ls -ln /tmp/u | cut -c1-30'
userns_host_view() {
  $RT exec -d --pid-file "$WORK/u.pid" userns sleep 30
  grep -E "^(Uid|Gid)" "/proc/$(cat "$WORK/u.pid")/status"
  kill -9 "$(cat "$WORK/u.pid")"
}
same "exec in a user namespace: host view of the process's ids" userns_host_view
ocirun delete --force userns >/dev/null 2>&1
runc_ delete --force userns >/dev/null 2>&1
chown -R 0:0 "$WORK/rootfs"

# Without clone3/pidfds/close_range/openat2 (part 1's ENOSYS shim) exec must give the same view.
NOSYS=$TOP/$BUILD/tests/oci_nosys
if [ -x "$NOSYS" ]; then
  view='id; cat /proc/self/cgroup; ls /proc/self/fd; ps -o pid,comm | grep sleep'
  a=$(ocirun exec box sh -c "$view" 2>&1)
  b=$("$NOSYS" "$OCIRUN" --root "$OCI_ROOT" exec box sh -c "$view" 2>&1)
  oci_check "exec without clone3/pidfd/close_range/openat2: same view (cgroups incl. v2)" [ "$a" = "$b" ]
fi

# ---- 2. pause / resume, and exec while paused ----
pause_cycle() {
  $RT pause box
  echo "pause=$?"
  $RT state box | jq -r .status
  $RT list -f json | jq -r '.[] | select(.id == "box") | .status'
  $RT pause box 2>/dev/null
  echo "pause-again=$?"
  $RT exec box true 2>/dev/null
  echo "exec-paused=$?"
  $RT resume box
  echo "resume=$?"
  $RT resume box 2>/dev/null
  echo "resume-again=$?"
  $RT state box | jq -r .status
  $RT exec box echo alive
}
same "pause/resume: statuses, exec refused while paused, exit codes" pause_cycle
freezer_state() {
  $RT pause box
  cat "/sys/fs/cgroup/freezer/$CG_PARENT/box-$B/freezer.state"
  $RT resume box
  cat "/sys/fs/cgroup/freezer/$CG_PARENT/box-$B/freezer.state"
}
same "pause/resume: the freezer's state" freezer_state

# ---- 3. ps, list, state, events shapes ----
ps_shape() {
  $RT ps -f json box | jq -c 'type, length, (.[0] | type)'
  $RT ps box | head -1
  $RT ps box | tail -n +2 | awk '{print $NF}'
  $RT ps box -o pid,comm | head -1
}
same "ps: json is one array of ints; table through ps(1)" ps_shape
same "list: the table's header" sh -c '$RT list | head -1 | tr -s " "' # shape of the header only
list_shape() {
  $RT list -f json | jq -c 'map(select(.id == "box")) | .[0] | keys'
  $RT list -q | grep -x box
}
same "list -f json keys, -q" list_shape
same "state keys" sh -c '$RT state box | jq -c keys'
events_shape() {
  $RT events --stats box | jq -c '[.type, .id, (.data | keys - ["cpuset"]),
    (.data.memory.usage | keys), (.data.memory | keys - ["cache"]), (.data.cpu.usage | keys - ["percpu_kernel", "percpu_user"]), (.data.pids | keys)]'
  $RT events --stats box | jq -r '.data.memory.usage.limit'
}
same "events --stats: JSON shape and the memory limit" events_shape
events_stream() {
  timeout 5 $RT events --interval 200ms box | head -2 | jq -c '[.type, .id]'
}
same "events --interval streams stats" events_stream

# ---- 4. update, seen inside the container ----
update_flags() {
  $RT update box --memory 64M --pids-limit 50
  echo "update=$?"
  $RT exec box sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max'
  echo '{"memory": {"limit": 100663296}, "cpu": {"shares": 512}}' | $RT update --resources - box
  echo "update-resources=$?"
  $RT exec box sh -c 'cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/cpu,cpuacct/cpu.shares'
  $RT events --stats box | jq -r '.data.memory.usage.limit'
  $RT update box --memory 1x 2>/dev/null
  echo "bad-value=$?"
  $RT update nosuch --memory 64M 2>/dev/null
  echo "unknown=$?"
}
same "update: flags, --resources -, options after the id, seen inside" update_flags

# ---- 5. kill --all ----
bundles fam '.process.args = ["sh", "-c", "sleep 600 & sleep 600 & wait"]
  | .linux.namespaces |= map(select(.type != "pid"))'
(cd "$WORK/fam-o" && ocirun run -d fam </dev/null) && (cd "$WORK/fam-r" && runc_ run -d fam </dev/null)
kill_all() {
  for _ in $(seq 50); do [ "$($RT ps -f json fam | jq length)" = 3 ] && break; sleep 0.05; done
  $RT ps -f json fam | jq length
  $RT kill --all fam KILL
  echo "kill-all=$?"
  for _ in $(seq 100); do [ "$($RT state fam | jq -r .status)" = stopped ] && break; sleep 0.05; done
  $RT state fam | jq -r .status
  cat "/sys/fs/cgroup/pids/$CG_PARENT/fam-$B/cgroup.procs" 2>/dev/null | wc -l
  $RT delete fam
  echo "delete=$?"
}
same "kill --all (no pid namespace): every process of the cgroup" kill_all

# ---- 5b. events: an OOM kill in the stream ----
bundles oom '.process.args = ["sleep", "600"] | .linux.resources.memory = {limit: 33554432, swap: 33554432}'
oom_events() {
  (cd "$WORK/oom-$B" && $RT run -d oom </dev/null) || return
  $RT events --interval 30s oom >"$WORK/events.$B" 2>&1 &
  local ev=$!
  sleep 0.3
  $RT exec oom sh -c 'x=$(head -c 200000000 /dev/zero | tr "\0" a); echo ${#x}'
  echo "exec=$?"
  for _ in $(seq 50); do grep -q '"oom"' "$WORK/events.$B" && break; sleep 0.05; done
  grep -m1 '"oom"' "$WORK/events.$B" | jq -c .
  $RT delete -f oom
  for _ in $(seq 60); do kill -0 "$ev" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$ev" 2>/dev/null && echo "events still running after delete"
  kill "$ev" 2>/dev/null
  wait "$ev" 2>/dev/null
}
same "events: an OOM kill is reported, the stream ends with the container" oom_events

# ---- 6. the exit-code table (executor-notes §3.4) ----
codes() {
  $RT state nosuch 2>/dev/null
  echo "state-unknown=$?"
  $RT delete nosuch 2>/dev/null
  echo "delete-unknown=$?"
  $RT kill nosuch 2>/dev/null
  echo "kill-unknown=$?"
  $RT pause nosuch 2>/dev/null
  echo "pause-unknown=$?"
  $RT resume nosuch 2>/dev/null
  echo "resume-unknown=$?"
  $RT ps nosuch 2>/dev/null
  echo "ps-unknown=$?"
  $RT events --stats nosuch 2>/dev/null
  echo "events-unknown=$?"
  $RT exec nosuch true 2>/dev/null
  echo "exec-unknown=$?"
  $RT ps -f yaml box >/dev/null 2>&1
  echo "ps-bad-format=$?"
}
same "exit codes of failing commands" codes
bundles short '.process.args = ["sleep", "600"]'
stopped_codes() {
  (cd "$WORK/short-$B" && $RT run -d short </dev/null) >/dev/null 2>&1 || true
  $RT kill short KILL
  for _ in $(seq 100); do [ "$($RT state short | jq -r .status)" = stopped ] && break; sleep 0.05; done
  $RT exec short true 2>/dev/null
  echo "exec-stopped=$?"
  $RT pause short 2>/dev/null
  echo "pause-stopped=$?"
  $RT resume short 2>/dev/null
  echo "resume-stopped=$?"
  $RT ps -f json short >/dev/null 2>&1
  echo "ps-stopped=$?"
  $RT delete short
  echo "delete=$?"
}
same "exit codes on a stopped container" stopped_codes

# ---- 7. seccomp notify: the listener and the state go to listenerPath ----
AGENT=$TOP/$BUILD/tests/oci2_seccomp_agent
export WORK # the bundle's listenerPath
bundles notify '.process.args = ["sh", "-c", "mkdir /tmp/made && echo mkdir-ok; test -d /tmp/made && echo made || echo not-made"]
  | .linux.seccomp = {defaultAction: "SCMP_ACT_ALLOW", listenerPath: ($ENV.WORK + "/agent.sock"),
      listenerMetadata: "meta-data", syscalls: [{names: ["mkdir", "mkdirat"], action: "SCMP_ACT_NOTIFY"}]}'
notify() {
  rm -f "$WORK/agent.sock" "$WORK/agent.state"
  "$AGENT" "$WORK/agent.sock" "$WORK/agent.state" &
  local agent=$!
  for _ in $(seq 100); do [ -S "$WORK/agent.sock" ] && break; sleep 0.02; done
  (cd "$WORK/notify-$B" && timeout 30 $RT run notify </dev/null)
  echo "run=$?"
  # The agent ends when the last filtered process is gone; never wait forever on it.
  for _ in $(seq 100); do kill -0 "$agent" 2>/dev/null || break; sleep 0.05; done
  kill "$agent" 2>/dev/null
  wait "$agent"
  echo "agent=$?"
  jq -c '[(.ociVersion | type), .fds, (.pid | type), .metadata, .state.status, .state.id,
    (.state | keys), (.pid == .state.pid)]' "$WORK/agent.state"
}
same "seccomp notify: listener + state to listenerPath, the agent answers (noNewPrivileges)" notify
notify_nnp_off() {
  jq '.process.noNewPrivileges = false' "$WORK/notify-$B/config.json" >"$WORK/cfg.tmp" &&
    mv "$WORK/cfg.tmp" "$WORK/notify-$B/config.json"
  notify
}
same "seccomp notify without noNewPrivileges" notify_nnp_off

notify_exec() {
  jq '.process.args = ["sleep", "600"]' "$WORK/notify-$B/config.json" >"$WORK/cfg.tmp" &&
    mv "$WORK/cfg.tmp" "$WORK/notify-$B/config.json"
  local agent try
  for try in create exec; do
    rm -f "$WORK/agent.sock" "$WORK/agent.$try"
    "$AGENT" "$WORK/agent.sock" "$WORK/agent.$try" &
    agent=$!
    for _ in $(seq 100); do [ -S "$WORK/agent.sock" ] && break; sleep 0.02; done
    if [ $try = create ]; then
      (cd "$WORK/notify-$B" && timeout 30 $RT run -d notify2 </dev/null)
      echo "run=$?"
      local first=$agent
    else
      timeout 30 $RT exec notify2 sh -c 'mkdir /tmp/e && echo mkdir-ok; test -d /tmp/e && echo made || echo not-made'
      echo "exec=$?"
    fi
  done
  for _ in $(seq 100); do kill -0 "$agent" 2>/dev/null || break; sleep 0.05; done
  kill "$agent" "$first" 2>/dev/null
  wait "$agent" 2>/dev/null
  jq -c '[.fds, .metadata, .state.status, .state.id, (.pid | type)]' "$WORK/agent.exec"
  $RT delete -f notify2
}
same "seccomp notify on exec: its own listener, state status running" notify_exec

# ---- 7b. --log FILE --log-format json: one JSON object per line, the last one the error ----
json_log() {
  rm -f "$WORK/log.$B"
  $RT --log "$WORK/log.$B" --log-format json exec nosuch true 2>/dev/null
  echo "exec=$?"
  $RT --log "$WORK/log.$B" --log-format json pause nosuch 2>/dev/null
  echo "pause=$?"
  jq -c '[.level, (.msg | type), (.time | type)]' "$WORK/log.$B" | grep error | tail -2
  jq -e . "$WORK/log.$B" >/dev/null && echo "every line is JSON"
}
same "--log-format json: error records (level, msg, time)" json_log

# ---- 8. features, -h ----
same "features: the document's keys" sh -c '$RT features | jq -c "[keys, (.linux | keys - [\"intelRdt\", \"mountExtensions\"]), (.linux.seccomp | keys - [\"knownFlags\", \"supportedFlags\"]), .hooks]"'
helps() {
  local c
  for c in create start run state kill delete list exec pause resume ps update events features spec; do
    $RT "$c" -h 2>&1 | grep -qi usage && echo "$c: usage" || echo "$c: NO usage"
    $RT "$c" --help >/dev/null 2>&1
    echo "$c: rc=$?"
  done
}
same "-h / --help for every command" helps

ocirun delete --force box >/dev/null 2>&1
runc_ delete --force box >/dev/null 2>&1
oci_finish
