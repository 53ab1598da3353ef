#!/usr/bin/env bash
# The initrd builder: same inputs give the same bytes (two builds in scratch build dirs that
# share the unpacked kernel), the archive is sorted with owner 0 and mtime 0, holds what the
# boot needs (/init static, /dev/console as a device, modules in dependency order with their
# list), the real build/initrd.img stays under 8 MiB, and bad input is refused.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
build=${BUILD:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
mk="$top/initrd/mkinitrd.sh"
bin="$build/bin"
[ -d "$build/initrd-tree/bin" ] && [ -n "${SANITIZER:-}" ] && bin="$build/initrd-tree/bin"
for f in "$build/initrd.img" "$build/kernel/root.stamp" "$build/vmlinux" "$bin/init" \
         "$bin/vsockexec" "$bin/initrd-modlist"; do
  [ -e "$f" ] || { echo "FAIL: missing $f (make initrd)"; exit 1; }
done
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

size=$(stat -c %s "$build/initrd.img")
echo "build/initrd.img: $size bytes"
[ "$size" -le $((8 << 20)) ] || fail "initrd.img is $size bytes, over 8 MiB"

for b in a b; do
  mkdir -p "$d/$b"
  ln -s "$build/kernel" "$d/$b/kernel"              # the unpacked package, not re-extracted
  cp -al "$build/vmlinux" "$d/$b/vmlinux"          # same mtime: not re-extracted either
  SOURCE_DATE_EPOCH=0 "$mk" --build "$d/$b" --init "$bin/init" --vsockexec "$bin/vsockexec" \
    --modlist "$bin/initrd-modlist" --early "vsock vmw_vsock_virtio_transport" \
    --late "ext4 overlay" --compress gzip 2> "$d/$b.err" || { cat "$d/$b.err"; fail "build $b"; }
done
cmp "$d/a/initrd.img" "$d/b/initrd.img" || fail "two builds from the same inputs differ"

# (gzip keeps this test fast; zstd -19 -T1 of the real image is deterministic by itself.)
gzip -dc "$d/a/initrd.img" > "$d/a.cpio"
cpio -itv --quiet < "$d/a.cpio" > "$d/list" 2>/dev/null
cpio -it --quiet < "$d/a.cpio" > "$d/names" 2>/dev/null
LC_ALL=C sort -c "$d/names" || fail "entries are not sorted"
awk '$3 != "root" || $4 != "root" { bad = 1 } END { exit bad }' "$d/list" || fail "owner is not 0:0"
grep -q '^crw------- .* 5, *1 .* dev/console$' "$d/list" || fail "no /dev/console device"
for f in init bin/vsockexec bin/busybox bin/sh bin/cat bin/ls bin/mount sbin/ip sbin/udhcpc \
         sbin/mkfs.ext4 sbin/mkfs.xfs; do
  grep -qx "$f" "$d/names" || fail "missing /$f"
done
# The real image: zstd, with gcs and the full module list.
zstd -dcq "$build/initrd.img" | cpio -it --quiet > "$d/real" 2>/dev/null || fail "build/initrd.img does not unpack"
for f in init bin/gcs bin/vsockexec "lib/modules/[^/]*/modules.lcow"; do
  grep -q "^$f\$" "$d/real" || fail "build/initrd.img lacks /$f"
done
grep -qx 'sbin/modprobe' "$d/names" && fail "/sbin/modprobe must not exist"
mkdir "$d/x" && (cd "$d/x" && cpio -idm --quiet < "$d/a.cpio" 2>/dev/null)
readelf -l "$d/x/init" | grep -q INTERP && fail "/init is not static (it has a program interpreter)"
[ "$(stat -c %Y "$d/x/init")" = 0 ] || fail "mtime is not SOURCE_DATE_EPOCH"
list=$(echo "$d"/x/lib/modules/*/modules.lcow)
cat "$list"
# Each module after its dependencies, early stage first.
pos() { grep -n " $1\$" "$list" | cut -d: -f1; }
[ "$(pos kernel/net/vmw_vsock/vsock.ko)" -lt "$(pos kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko)" ] || fail "vsock order"
[ "$(pos kernel/fs/jbd2/jbd2.ko)" -lt "$(pos kernel/fs/ext4/ext4.ko)" ] || fail "ext4 order"
[ "$(grep -c '^early ' "$list")" -ge 4 ] && ! sed -n '/^late /,$p' "$list" | grep -q '^early ' || fail "stages"
while read -r _ p; do [ -f "$(dirname "$list")/$p" ] || fail "listed module $p not in the archive"; done < <(grep -v '^#' "$list")

# Bad input: an unknown module and a missing package are clear errors, and leave no image.
rm -f "$d/a/initrd.img"
"$mk" --build "$d/a" --init "$bin/init" --vsockexec "$bin/vsockexec" --modlist "$bin/initrd-modlist" \
  --early "nosuchmodule" --late "" 2> "$d/err" && fail "unknown module accepted"
grep -q 'nosuchmodule' "$d/err" || fail "unknown module: no message"
"$mk" --build "$d/a" --init "$bin/init" --vsockexec "$bin/vsockexec" --modlist "$bin/initrd-modlist" \
  --kernel-deb "$d/none.deb" --early vsock --late "" 2> "$d/err" && fail "missing deb accepted"
grep -q 'none.deb' "$d/err" || fail "missing deb: no message"
[ ! -e "$d/a/initrd.img" ] || fail "a failed build left an image"
echo PASS
