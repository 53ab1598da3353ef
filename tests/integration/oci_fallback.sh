#!/usr/bin/env bash
# The fallbacks for kernels without openat2, clone3, close_range and pidfds (style.md C8):
# ocirun runs under oci_nosys, a seccomp filter that answers ENOSYS to those syscalls, and
# must give the same in-container view as without it; symlinked mount targets must still stay
# inside the rootfs (the component walk), and the create/kill/delete cycle must still work.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/oci_lib.sh"
oci_skip_unless_ready
NOSYS=$TOP/$BUILD/tests/oci_nosys
[ -x "$NOSYS" ] || { echo "$NOSYS not built"; exit 1; }
trap oci_cleanup EXIT
oci_make_rootfs "$WORK/rootfs"

# The filter really hides them (so the fallbacks are what runs below).
oci_check "the shim makes openat2, clone3, close_range, pidfd_open fail with ENOSYS" "$NOSYS" --probe

view='id; grep -E "^(Cap|NoNewPrivs)" /proc/self/status; cat /proc/self/mountinfo; ls -l /dev; ls /proc/self/fd'
oci_bundle "$WORK/view" ".process.args = [\"sh\", \"-c\", $(jq -n --arg s "$view" '$s')]
  | .mounts += [{destination: \"/deep/new/dir\", type: \"tmpfs\", source: \"tmpfs\"}]"
(cd "$WORK/view" && "$OCIRUN" --root "$OCI_ROOT" run plain) >"$WORK/plain.out" 2>&1
(cd "$WORK/view" && "$NOSYS" "$OCIRUN" --root "$OCI_ROOT" run nosys) >"$WORK/nosys.out" 2>&1
oci_check "same in-container view without openat2/clone3/close_range/pidfds" \
  diff <(oci_normalise <"$WORK/plain.out") <(oci_normalise <"$WORK/nosys.out")

# Symlinks pointing out of the rootfs, resolved by the component walk.
mkdir -p "$WORK/escrootfs" "$WORK/hostdir"
cp -a "$WORK/rootfs/." "$WORK/escrootfs/"
ln -s "../../../../../../$WORK/hostdir" "$WORK/escrootfs/evil"
ln -s "$WORK/hostdir" "$WORK/escrootfs/evilabs"
oci_bundle "$WORK/escape" ".root.path = \"$WORK/escrootfs\" | .root.readonly = false
  | .mounts += [{destination: \"/evil/sub\", type: \"tmpfs\", source: \"tmpfs\"},
                {destination: \"/evilabs/sub2/x\", type: \"tmpfs\", source: \"tmpfs\"}]
  | .process.args = [\"true\"]"
(cd "$WORK/escape" && "$NOSYS" "$OCIRUN" --root "$OCI_ROOT" run escape) >"$WORK/escape.out" 2>&1
oci_check "the walk keeps symlinked mount targets inside the rootfs" \
  bash -c "[ ! -e '$WORK/hostdir/sub' ] && [ ! -e '$WORK/hostdir/sub2' ] && [ -d '$WORK/escrootfs/$WORK/hostdir/sub' ] && [ -d '$WORK/escrootfs/$WORK/hostdir/sub2/x' ]"

# create / state / kill / delete with kill(2) instead of pidfds.
oci_bundle "$WORK/cycle" '.process.args = ["sleep", "100"]'
nosys() { "$NOSYS" "$OCIRUN" --root "$OCI_ROOT" "$@"; }
(cd "$WORK/cycle" && nosys create cycle && nosys start cycle)
oci_check "running under the shim" bash -c "[ \"\$('$OCIRUN' --root '$OCI_ROOT' state cycle | jq -r .status)\" = running ]"
nosys kill cycle KILL
for _ in $(seq 50); do [ "$("$OCIRUN" --root "$OCI_ROOT" state cycle | jq -r .status)" = stopped ] && break; sleep 0.05; done
oci_check "kill without pidfds" bash -c "[ \"\$('$OCIRUN' --root '$OCI_ROOT' state cycle | jq -r .status)\" = stopped ]"
oci_check "delete under the shim leaves nothing" \
  bash -c "'$NOSYS' '$OCIRUN' --root '$OCI_ROOT' delete cycle && [ ! -e '$OCI_ROOT/cycle' ] && [ ! -e '/sys/fs/cgroup/memory/$CG_PARENT/cycle' ]"

oci_finish
