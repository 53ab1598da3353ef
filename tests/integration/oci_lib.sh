# Shared helpers for the oci_*.sh tests (sourced, not run). They build a busybox-static
# rootfs and bundles at test time, run the same bundle under ocirun and Debian's runc, and
# clean up everything they made (state dirs, cgroups, processes) on exit.
#   OCIRUN   our binary (default $BUILD/bin/ocirun)
#   WORK     the test's scratch directory
set -u

BUILD=${BUILD:-build}
TOP=${LCOW_TOP:-$(pwd)}
OCIRUN=${OCIRUN:-$TOP/$BUILD/bin/ocirun}
WORK=$(mktemp -d /tmp/lcow-oci-test.XXXXXX)
chmod 755 "$WORK" # mapped users of a user namespace must reach the rootfs
# One cgroup parent per test run, under every hierarchy root; never the shell's own cgroup.
CG_PARENT=lcow-oci-test-$$
OCI_ROOT=$WORK/state-ocirun
RUNC_ROOT=$WORK/state-runc
FAILS=0

# A timeout (TERM) or ^C still runs the callers' EXIT trap (oci_cleanup).
trap 'exit 143' TERM
trap 'exit 130' INT

oci_skip_unless_ready() {
  [ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
  command -v runc >/dev/null || { echo "runc is not installed"; exit 1; }
  command -v jq >/dev/null || { echo "jq is not installed"; exit 1; }
  [ -x /bin/busybox ] || { echo "busybox-static is not installed"; exit 1; }
  [ -x "$OCIRUN" ] || { echo "$OCIRUN not built"; exit 1; }
}

oci_cleanup() {
  local d id
  for d in "$OCI_ROOT" "$RUNC_ROOT"; do
    [ -d "$d" ] || continue
    for id in $(ls "$d" 2>/dev/null); do
      if [ "$d" = "$OCI_ROOT" ]; then
        "$OCIRUN" --root "$d" delete --force "$id" >/dev/null 2>&1
      else
        runc --root "$d" delete --force "$id" >/dev/null 2>&1
      fi
    done
  done
  # Depth-first rmdir of our cgroup parent in every hierarchy; a process still exiting keeps
  # its cgroup busy for a moment, so kill what is left and retry for up to ~2 s.
  local try
  for try in $(seq 40); do
    local left=0
    for d in /sys/fs/cgroup/*/"$CG_PARENT" /sys/fs/cgroup/"$CG_PARENT"; do
      [ -d "$d" ] || continue
      left=1
      cat $(find "$d" -name cgroup.procs) 2>/dev/null | xargs -r kill -9 2>/dev/null
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    [ "$left" = 0 ] && break
    sleep 0.05
  done
  grep -q " $WORK" /proc/self/mountinfo && awk -v w="$WORK" '$5 ~ "^"w {print $5}' \
    /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$WORK"
}

# A busybox rootfs with one symlink per applet, a passwd/group pair and the usual dirs.
oci_make_rootfs() {
  local r=$1 a
  mkdir -p "$r"/bin "$r"/etc "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/root "$r"/home/user
  cp /bin/busybox "$r"/bin/busybox
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$r"/etc/passwd
  printf 'root:x:0:\nwheel:x:10:root,user\nuser:x:1000:\n' >"$r"/etc/group
  chmod 1777 "$r"/tmp
}

# oci_bundle DIR JQ-FILTER: a bundle from `runc spec` (terminal off) edited by the filter,
# sharing the rootfs at $WORK/rootfs.
oci_bundle() {
  local b=$1 filter=$2
  mkdir -p "$b"
  (cd "$WORK" && [ -f base.json ] || { runc spec --bundle "$WORK" && mv "$WORK/config.json" "$WORK/base.json"; })
  jq --arg cg "/$CG_PARENT/$(basename "$b")" --arg root "$WORK/rootfs" \
    ".process.terminal = false | .root.path = \$root | .linux.cgroupsPath = \$cg | $filter" \
    "$WORK/base.json" \
    >"$b/config.json"
}

# Normalises what legitimately differs between two runs: mount ids, device minors of
# anonymous filesystems, times, pids.
oci_normalise() {
  sed -E -e 's/^[0-9]+ [0-9]+ [0-9]+:[0-9]+ /M /' \
    -e 's/[A-Z][a-z]{2} +[0-9]+ +[0-9]{2}:[0-9]{2}/DATE/' \
    -e 's/"pid": [0-9]+/"pid": PID/' -e 's/"created": "[^"]*"/"created": T/'
}

# oci_both NAME BUNDLE: runs the bundle under both runtimes, compares stdout and exit code.
oci_both() {
  local name=$1 b=$2 rc_o rc_r
  (cd "$b" && timeout 30 "$OCIRUN" --root "$OCI_ROOT" run "o-$name" </dev/null >"$WORK/$name.ocirun" 2>"$WORK/$name.ocirun.err")
  rc_o=$?
  (cd "$b" && timeout 30 runc --root "$RUNC_ROOT" run "r-$name" </dev/null >"$WORK/$name.runc" 2>"$WORK/$name.runc.err")
  rc_r=$?
  if [ "$rc_o" != "$rc_r" ]; then
    echo "FAIL $name: exit code ocirun=$rc_o runc=$rc_r"
    sed 's/^/  ocirun stderr: /' "$WORK/$name.ocirun.err"
    sed 's/^/  runc stderr: /' "$WORK/$name.runc.err"
    FAILS=$((FAILS + 1))
    return 1
  fi
  if ! diff -u <(oci_normalise <"$WORK/$name.runc") <(oci_normalise <"$WORK/$name.ocirun") \
    >"$WORK/$name.diff"; then
    echo "FAIL $name: output differs (- runc, + ocirun)"
    sed 's/^/  /' "$WORK/$name.diff"
    FAILS=$((FAILS + 1))
    return 1
  fi
  echo "ok   $name (exit $rc_o)"
}

oci_check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    FAILS=$((FAILS + 1))
  fi
}

oci_finish() {
  [ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
  echo "all checks passed"
}
