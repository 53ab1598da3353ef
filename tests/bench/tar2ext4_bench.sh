#!/usr/bin/env bash
# make bench: OCI layer conversion throughput. A layer is generated here (a copy of
# /usr/lib/python3.11 plus busybox: many small files, some large; tarred plain and gzip), then,
# alternating, ROUNDS times each:
#   ours:       lcow-tar2ext4 -o X.img layer.tar (libarchive unpack into /dev/shm + whiteouts +
#               mke2fs -d)
#   ours-gz:    the same from the gzip tar
#   mke2fs-d:   plain `mke2fs -d` of the already unpacked tree (same mke2fs options): the floor
#   tar+mke2fs: GNU tar -x into a directory, then the same mke2fs -d (a shell's way to do it)
# Prints medians, MB/s of uncompressed tar, and ratios to mke2fs -d alone.
set -euo pipefail
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
ROUNDS=${TAR2EXT4_BENCH_ROUNDS:-5}
src=${TAR2EXT4_BENCH_SRC:-/usr/lib/python3.11}
[ -d "$src" ] || { echo "FAIL: $src missing (python3 package)"; exit 1; }
tool=$build/bin/lcow-tar2ext4
[ -x "$tool" ] || { echo "FAIL: $tool missing"; exit 1; }

T=$(mktemp -d /tmp/lcow-t2e-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tree/usr/lib" "$T/tree/bin"
cp -a "$src" "$T/tree/usr/lib/"
cp "$(command -v busybox)" "$T/tree/bin/busybox"
tar --numeric-owner -C "$T/tree" -cf "$T/layer.tar" .
gzip -1 -c "$T/layer.tar" > "$T/layer.tar.gz"
tar_bytes=$(stat -c %s "$T/layer.tar")
files=$(find "$T/tree" | wc -l)
# The same options lcow-tar2ext4 passes (host/tar2ext4.c), on an image of the same size.
size_img() { truncate -s "$(( tar_bytes * 2 + 64 * 1024 * 1024 ))" "$1"; }
mkfs() {
  /usr/sbin/mke2fs -q -F -t ext4 -b 4096 -I 256 -N $(( files + 64 )) -m 0 \
    -O ^has_journal,^resize_inode -E lazy_itable_init=0,nodiscard -d "$1" "$2"
}
now() { date +%s.%N; }
declare -A t
run() { # NAME CMD...
  local a b
  rm -f "$T/out.img"
  sync
  a=$(now)
  "${@:2}" > /dev/null
  b=$(now)
  t[$1]+="$(echo "$b - $a" | bc) "
  rm -f "$T/out.img"
}
tar_mkfs() {
  rm -rf "$T/x"
  mkdir "$T/x"
  tar --numeric-owner -C "$T/x" -xf "$T/layer.tar"
  size_img "$T/out.img"
  mkfs "$T/x" "$T/out.img"
}
floor() { size_img "$T/out.img"; mkfs "$T/tree" "$T/out.img"; }
for _ in $(seq "$ROUNDS"); do
  run ours "$tool" -o "$T/out.img" "$T/layer.tar"
  run ours-gz "$tool" -o "$T/out.img" "$T/layer.tar.gz"
  run mke2fs-d floor
  run tar+mke2fs tar_mkfs
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
base=$(echo "${t[mke2fs-d]}" | median)
printf 'tar2ext4 bench: layer %.1f MB tar (%d entries, gzip %.1f MB), %d rounds, medians\n' \
  "$(echo "$tar_bytes / 1000000" | bc -l)" "$files" \
  "$(echo "$(stat -c %s "$T/layer.tar.gz") / 1000000" | bc -l)" "$ROUNDS"
for k in ours ours-gz tar+mke2fs mke2fs-d; do
  m=$(echo "${t[$k]}" | median)
  printf '  %-11s %7.3f s  %7.1f MB/s of tar  %5.2fx mke2fs -d alone\n' "$k" "$m" \
    "$(echo "$tar_bytes / 1000000 / $m" | bc -l)" "$(echo "$m / $base" | bc -l)"
done
