# Shared by tests/uvm/runlcow_cli.sh, tests/uvm/demo.sh and tests/bench/runlcow_bench.sh
# (sourced, not run).
# rl_bundle DIR ARGS...: a busybox bundle in DIR (rootfs from Debian's static busybox, config
#   from `ocirun spec`, terminal off) whose process is ARGS.
# rl_test_init NAME: checks the build outputs and QEMU a UVM test needs, makes the test's
#   temporary directory $d (with runlcow's --root at $root) and an EXIT trap that kills what
#   the test started under $d and removes it (rl_cleanup); a test that ends with a status other
#   than 0 first prints its evidence (rl_show_logs). SIGTERM (the runner's timeout) and SIGINT
#   exit through the same trap with 143 and 130.
# rl_show_logs: the tails of console.log, gcs.log, qemu.log, vhost.log and runlcow.log of every
#   state directory under $root, and of the test's own *.out/*.err files in $d. A failed boot
#   removes its state directory: runlcow's error (in the test's .out file) then carries how
#   far the guest got and those logs' last lines (host/uvm.c).
# rl_kill_ours DIR: SIGKILLs, by pid, every process whose command line names DIR (the
#   supervisors, QEMUs and back ends a test started under its own directory).
# Sourcing sets $build (absolute, from BUILD relative to $top or LCOW_TOP) and RL_BUILD unless
# the caller set it, and a plain fail() ("FAIL: ...", exit 1: rl_cleanup shows the logs), which a
# test may redefine to print more.
top=${top:-${LCOW_TOP:-$(pwd)}}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
RL_BUILD=${RL_BUILD:-$build}
fail() {
  echo "FAIL: $*"
  exit 1
}

rl_bundle() {
  local dir=$1
  shift
  local bb
  bb=$(command -v busybox || true)
  [ -n "$bb" ] || { echo "FAIL: busybox missing (Debian busybox-static)"; return 1; }
  mkdir -p "$dir/rootfs/bin" "$dir/rootfs/proc" "$dir/rootfs/sys" "$dir/rootfs/dev" \
    "$dir/rootfs/etc" "$dir/rootfs/tmp"
  install -m 0755 "$bb" "$dir/rootfs/bin/busybox"
  for a in sh echo cat ls sleep true false env id uname wc; do
    ln -sf busybox "$dir/rootfs/bin/$a"
  done
  (cd "$dir" && "$RL_BUILD/bin/ocirun" spec >/dev/null)
  local args a
  args='[]'
  for a in "$@"; do args=$(jq -c --arg a "$a" '. + [$a]' <<< "$args"); done
  jq --argjson a "$args" '.process.terminal=false | .process.args=$a' "$dir/config.json" \
    > "$dir/config.json.new"
  mv "$dir/config.json.new" "$dir/config.json"
}

rl_kill_ours() {
  local dir=$1 f p
  for f in $(grep -lsF -- "$dir/" /proc/[0-9]*/cmdline || true); do
    p=${f#/proc/}
    p=${p%/cmdline}
    [ "$p" != $$ ] && [ "$p" != "$BASHPID" ] && kill -9 "$p" 2>/dev/null || true
  done
}

rl_test_init() {
  local f
  for f in "$RL_BUILD/vmlinux" "$RL_BUILD/initrd.img" "$RL_BUILD/bin/runlcow" \
           "$RL_BUILD/bin/vhost-user-vsock" "$RL_BUILD/bin/ocirun"; do
    [ -e "$f" ] || { echo "FAIL: missing $f"; exit 1; }
  done
  command -v qemu-system-x86_64 >/dev/null || { echo "FAIL: qemu-system-x86_64 missing"; exit 1; }
  d=$(mktemp -d "/tmp/$1.XXXXXX")
  root=$d/root
  trap rl_cleanup EXIT
  # Without these a signal runs the EXIT trap with $? = 0: no evidence for a timed-out test.
  trap 'exit 143' TERM
  trap 'exit 130' INT
}

rl_show_logs() {
  local f n
  echo "--- evidence kept by rl_cleanup (exit status ${1:-?}): logs under $root and $d"
  for f in "$root"/*/{console,gcs,qemu,vhost,runlcow}.log "$d"/*.out "$d"/*.err; do
    [ -f "$f" ] || continue
    n=40
    case "$f" in */console.log | */gcs.log) n=60 ;; esac
    echo "--- $f (last $n lines)"
    tail -n "$n" "$f" | tr -d '\r' | cut -c 1-2000
  done
}

# The EXIT trap of rl_test_init. A test that sets its own trap passes it the status the test
# ended with (`trap 'rc=$?; ...; rl_cleanup $rc' EXIT`); without an argument, $? is used.
rl_cleanup() {
  local rc=${1:-$?}
  rl_kill_ours "$d" # first: the logs are complete once QEMU and the supervisors are gone
  [ "$rc" = 0 ] || rl_show_logs "$rc"
  rm -rf "$d"
}
