#!/usr/bin/env bash
# Builds build/vmlinux and build/initrd.img from the current Debian kernel package (issue 8).
# The package is fetched with `apt-get download` and unpacked under the build directory with
# dpkg-deb -x: nothing is ever installed into this machine's /boot or /lib/modules.
#
#   mkinitrd.sh --build DIR --init BIN --vsockexec BIN --modlist BIN [--gcs BIN]
#               [--kernel-deb DEB] --early "MOD..." --late "MOD..." [--compress zstd|gzip|xz]
#
# Output is deterministic: entries sorted, owners 0:0, mtimes at SOURCE_DATE_EPOCH (default 0),
# single-threaded compression.
set -euo pipefail

die() { echo "mkinitrd: $*" >&2; exit 1; }

build= init= vsockexec= modlist= gcs= deb= early= late= compress=zstd
while [ $# -gt 0 ]; do
  case "$1" in
    --build) build=$2 ;;
    --init) init=$2 ;;
    --vsockexec) vsockexec=$2 ;;
    --modlist) modlist=$2 ;;
    --gcs) gcs=$2 ;;
    --kernel-deb) deb=$2 ;;
    --early) early=$2 ;;
    --late) late=$2 ;;
    --compress) compress=$2 ;;
    *) die "unknown argument \`$1'" ;;
  esac
  shift 2 || die "missing value for $1"
done
[ -n "$build" ] && [ -x "$init" ] && [ -x "$vsockexec" ] && [ -x "$modlist" ] ||
  die "need --build, and executable --init, --vsockexec, --modlist"
epoch=${SOURCE_DATE_EPOCH:-0}
kdir="$build/kernel"
mkdir -p "$kdir"

# --- 1. the kernel package --------------------------------------------------------------------
fetch_deb() {
  local pkg
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }') || true
  if [ -n "$pkg" ]; then
    local have
    have=$(ls "$kdir/${pkg}"_*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$have" ]; then
      echo "mkinitrd: apt-get download $pkg" >&2
      # apt drops privileges to _apt for downloads; a build tree it cannot write is fine as root.
      (cd "$kdir" && apt-get download -q "$pkg" >&2) || die "apt-get download $pkg failed"
      have=$(ls "$kdir/${pkg}"_*.deb | head -n 1)
    fi
    echo "$have"
    return
  fi
  # No apt metadata (offline CI cache): reuse what an earlier build downloaded.
  local any
  any=$(ls "$kdir"/linux-image-*.deb 2>/dev/null | sort | tail -n 1 || true)
  [ -n "$any" ] || die "cannot find linux-image-amd64's kernel package (apt-cache depends failed)"
  echo "$any"
}
[ -n "$deb" ] || deb=$(fetch_deb)
[ -f "$deb" ] || die "kernel package \`$deb' not found"
deb=$(readlink -f "$deb")

root="$kdir/root"
stamp="$kdir/root.stamp"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$deb $(stat -c %Y "$deb")" ]; then
  rm -rf "$root" "$root.tmp"
  dpkg-deb -x "$deb" "$root.tmp"
  mv "$root.tmp" "$root"
  echo "$deb $(stat -c %Y "$deb")" > "$stamp"
fi
kver=$(ls "$root/lib/modules" | head -n 1)
[ -n "$kver" ] && [ -f "$root/boot/vmlinuz-$kver" ] || die "no kernel in \`$deb'"
moddir="$root/lib/modules/$kver"
# depmod writes modules.dep inside the unpacked tree (-b), never under /lib/modules.
[ -f "$moddir/modules.dep" ] || depmod -b "$root" "$kver"

# --- 2. vmlinux: the ELF inside the bzImage, for PVH boot (no in-guest decompression) ---------
u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
extract_vmlinux() {
  local bz=$1 out=$2 setup off len magic
  setup=$(u8 "$bz" 497)            # setup_sects (0 means 4)
  [ "$setup" -ne 0 ] || setup=4
  off=$(( (setup + 1) * 512 + $(u32 "$bz" 584) ))   # + payload_offset
  len=$(u32 "$bz" 588)                              # payload_length
  # The payload into a file of its own (pipes through head would SIGPIPE under pipefail).
  tail -c +$((off + 1)) "$bz" > "$out.z"
  truncate -s "$len" "$out.z"
  magic=$(od -An -tx1 -N6 "$out.z" | tr -d ' ')
  case "$magic" in
    fd377a585a00) xz -dc --single-stream "$out.z" > "$out.tmp" ;;
    28b52ffd*) truncate -s $((len - 4)) "$out.z"; zstd -dcq "$out.z" > "$out.tmp" ;;
    1f8b*) truncate -s $((len - 4)) "$out.z"; gzip -dc "$out.z" > "$out.tmp" ;;
    *) die "unknown kernel payload compression (magic $magic)" ;;
  esac
  rm -f "$out.z"
  [ "$(od -An -tx1 -N4 "$out.tmp" | tr -d ' ')" = 7f454c46 ] || die "payload is not an ELF"
  mv "$out.tmp" "$out"
}
bz="$root/boot/vmlinuz-$kver"
if [ ! -f "$build/vmlinux" ] || [ "$bz" -nt "$build/vmlinux" ]; then
  extract_vmlinux "$bz" "$build/vmlinux"
fi

# --- 3. the module list -----------------------------------------------------------------------
# shellcheck disable=SC2086
list=$("$modlist" --dep "$moddir/modules.dep" --builtin "$moddir/modules.builtin" \
       --stage early $early --stage late $late) || die "module list"

# --- 4. the tree ------------------------------------------------------------------------------
stage="$build/initrd-root"
rm -rf "$stage"
mkdir -p "$stage"
(cd "$stage" && mkdir -p bin sbin usr/bin usr/sbin dev proc sys run tmp etc var root mnt \
  "lib/modules/$kver")
chmod 1777 "$stage/tmp"
install -m 0755 "$init" "$stage/init"
install -m 0755 "$vsockexec" "$stage/bin/vsockexec"
mknod -m 600 "$stage/dev/console" c 5 1   # the kernel opens it for PID 1's stdio
mknod -m 666 "$stage/dev/null" c 1 3

# busybox applets as links; modprobe is left out on purpose: with no /sbin/modprobe the
# kernel's request_module() fails at once instead of running a modprobe that scans the tree.
install -m 0755 /bin/busybox "$stage/bin/busybox"
busybox --list-full | while read -r app; do
  case "$app" in bin/busybox|sbin/modprobe|sbin/init|linuxrc|'') continue ;; esac
  [ -e "$stage/$app" ] || [ -L "$stage/$app" ] && continue
  mkdir -p "$stage/$(dirname "$app")"
  ln -s /bin/busybox "$stage/$app"
done

# Dynamic programs with their shared-library closure, at the paths ldd names.
copy_with_libs() {
  local src=$1 dst=$2 lib
  install -D -m 0755 "$(readlink -f "$src")" "$stage/$dst"
  { ldd "$src" 2>/dev/null || true; } | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r lib; do
    [ -e "$stage/$lib" ] || install -D -m 0755 "$(readlink -f "$lib")" "$stage/$lib"
  done
}
if [ -n "$gcs" ] && [ -x "$gcs" ]; then
  copy_with_libs "$gcs" bin/gcs
else
  echo "mkinitrd: WARNING: no gcs binary; the initrd has no /bin/gcs" >&2
fi
copy_with_libs /sbin/mke2fs sbin/mke2fs
ln -sf mke2fs "$stage/sbin/mkfs.ext4"
copy_with_libs /sbin/mkfs.xfs sbin/mkfs.xfs
[ ! -f /etc/mke2fs.conf ] || install -m 0644 /etc/mke2fs.conf "$stage/etc/mke2fs.conf"

# gcs runs udhcpc with this event script for adapters that come without IPConfigs.
install -m 0755 "$(dirname "$0")/udhcpc_config.script" "$stage/sbin/udhcpc_config.script"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$stage/etc/passwd"
printf 'root:x:0:\n' > "$stage/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$stage/etc/hosts"

# Compressed modules (.ko.xz/.zst/.gz: not Debian 6.1's, whose modules are plain .ko) stay
# compressed only when the kernel decompresses them itself (CONFIG_MODULE_DECOMPRESS, init then
# passes MODULE_INIT_COMPRESSED_FILE); otherwise they are unpacked here and listed as .ko.
in_kernel_decompress=0
grep -q '^CONFIG_MODULE_DECOMPRESS=y' "$root/boot/config-$kver" 2>/dev/null && in_kernel_decompress=1
final=
while read -r stg path; do
  dst=$path
  case "$path" in
    *.ko.xz|*.ko.zst|*.ko.gz)
      if [ "$in_kernel_decompress" = 0 ]; then
        dst=${path%.*}
        mkdir -p "$stage/lib/modules/$kver/$(dirname "$dst")"
        case "$path" in
          *.xz) xz -dc "$moddir/$path" ;; *.zst) zstd -dcq "$moddir/$path" ;; *.gz) gzip -dc "$moddir/$path" ;;
        esac > "$stage/lib/modules/$kver/$dst"
      else
        install -D -m 0644 "$moddir/$path" "$stage/lib/modules/$kver/$dst"
      fi ;;
    *) install -D -m 0644 "$moddir/$path" "$stage/lib/modules/$kver/$dst" ;;
  esac
  final+="$stg $dst"$'\n'
done <<< "$list"
printf '# written by mkinitrd.sh: STAGE PATH, in load order\n%s' "$final" \
  > "$stage/lib/modules/$kver/modules.lcow"

# --- 5. the archive ---------------------------------------------------------------------------
find "$stage" -exec touch -h -d "@$epoch" {} +
case "$compress" in
  zstd) zcmd=(zstd -q -19 -T1 -c) ;;
  gzip) zcmd=(gzip -n -9 -c) ;;
  # The kernel's xz decoder wants CRC32 checks and a small dictionary (as for initramfs in
  # the kernel's own scripts).
  xz) zcmd=(xz -T1 --check=crc32 --lzma2=preset=9,dict=1MiB -c) ;;
  *) die "unknown --compress \`$compress'" ;;
esac
(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
  cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) |
  "${zcmd[@]}" > "$build/initrd.img.tmp.$$"
# A private temporary and a rename: a concurrent build or a booting QEMU never sees a torn file.
mv "$build/initrd.img.tmp.$$" "$build/initrd.img"
touch -c "$build/vmlinux" # make's grouped target: both outputs are now newer than the inputs
size=$(stat -c %s "$build/initrd.img")
echo "mkinitrd: $build/initrd.img: $size bytes ($compress), kernel $kver," \
  "$(echo "$list" | wc -l) modules; $build/vmlinux: $(stat -c %s "$build/vmlinux") bytes" >&2
