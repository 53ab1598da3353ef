# Shared by tests/uvm/runlcow_cli.sh, tests/uvm/demo.sh and tests/bench/runlcow_bench.sh
# (sourced, not run).
# rl_bundle DIR ARGS...: a busybox bundle in DIR (rootfs from Debian's static busybox, config
#   from `ocirun spec`, terminal off) whose process is ARGS.
# rl_test_init NAME: checks the build outputs and QEMU a UVM test needs, makes the test's
#   temporary directory $d (with runlcow's --root at $root) and an EXIT trap that kills what
#   the test started under $d and removes it (rl_cleanup).
# rl_kill_ours DIR: SIGKILLs, by pid, every process whose command line names DIR (the
#   supervisors, QEMUs and back ends a test started under its own directory).
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
}

# The EXIT trap of rl_test_init (a test that sets its own trap calls it last).
rl_cleanup() {
  rl_kill_ours "$d"
  rm -rf "$d"
}
