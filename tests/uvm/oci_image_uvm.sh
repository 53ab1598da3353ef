#!/usr/bin/env bash
# OCI image layers end to end under QEMU: a two-layer image layout built here (base: busybox,
# /etc/deleted, /opq/{old1,old2}, /keep/file; top, zstd: a whiteout of /etc/deleted, /opq made
# opaque with /opq/new, a hard link) is the bundle's root.path; runlcow converts each layer into
# a cached ext4 (lcow-tar2ext4's library), cold-plugs both as virtio-pmem (VPMemDevice) and the
# guest stacks them
# with overlayfs: the deleted file is gone, the opaque directory shows only the upper entry,
# the hard link shares its inode. A second run of the same image reuses both cached layers
# (annotation form, image named by ref). One UVM per run; everything under a temp dir.
set -euo pipefail
top=${LCOW_TOP:-$(pwd)}
. "$top/tests/uvm/runlcow_lib.sh"
rl_test_init rlimg
rl() { timeout 240 "$build/bin/runlcow" --root "$root" --scratch-size 64 "$@"; }

# ---- the image ------------------------------------------------------------------------------
blob() { # FILE -> prints sha256:<hex>, stores the blob
  local h
  h=$(sha256sum "$1" | cut -d' ' -f1)
  cp "$1" "$lay/blobs/sha256/$h"
  echo "sha256:$h"
}
bb=$(command -v busybox) || fail "busybox missing (Debian busybox-static)"
mkdir -p "$d/base/bin" "$d/base/etc" "$d/base/opq" "$d/base/keep" "$d/base/proc" "$d/base/sys" \
  "$d/base/dev" "$d/base/tmp" "$d/top/etc" "$d/top/opq" "$d/top/keep"
install -m 0755 "$bb" "$d/base/bin/busybox"
for a in sh echo cat ls stat test; do ln -s busybox "$d/base/bin/$a"; done
echo lower > "$d/base/etc/deleted"
echo lower > "$d/base/etc/kept"
echo old > "$d/base/opq/old1"
echo old > "$d/base/opq/old2"
echo base > "$d/base/keep/file"
: > "$d/top/etc/.wh.deleted"
: > "$d/top/opq/.wh..wh..opq"
echo upper > "$d/top/opq/new"
echo linked > "$d/top/keep/a"
ln "$d/top/keep/a" "$d/top/keep/b"
tar --numeric-owner --owner=0 --group=0 -C "$d/base" -czf "$d/l0.tar.gz" .
tar --numeric-owner --owner=0 --group=0 -C "$d/top" --zstd -cf "$d/l1.tar.zst" .
lay=$d/bundle/image
mkdir -p "$lay/blobs/sha256"
l0=$(blob "$d/l0.tar.gz")
l1=$(blob "$d/l1.tar.zst")
echo '{"architecture":"amd64","os":"linux","config":{"Cmd":["/bin/sh"]},"rootfs":{"type":"layers","diff_ids":[]}}' > "$d/config.json"
cfg=$(blob "$d/config.json")
jq -nc --arg c "$cfg" --arg l0 "$l0" --arg l1 "$l1" \
  --argjson s0 "$(stat -c %s "$d/l0.tar.gz")" --argjson s1 "$(stat -c %s "$d/l1.tar.zst")" \
  --argjson sc "$(stat -c %s "$d/config.json")" \
  '{schemaVersion:2, mediaType:"application/vnd.oci.image.manifest.v1+json",
    config:{mediaType:"application/vnd.oci.image.config.v1+json", digest:$c, size:$sc},
    layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip", digest:$l0, size:$s0},
            {mediaType:"application/vnd.oci.image.layer.v1.tar+zstd", digest:$l1, size:$s1}]}' \
  > "$d/manifest.json"
man=$(blob "$d/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' > "$lay/oci-layout"
jq -nc --arg m "$man" --argjson s "$(stat -c %s "$d/manifest.json")" \
  '{schemaVersion:2, manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",
    digest:$m, size:$s, annotations:{"org.opencontainers.image.ref.name":"two"}}]}' \
  > "$lay/index.json"

(cd "$d/bundle" && "$build/bin/ocirun" spec >/dev/null)
script='test ! -e /etc/deleted && echo deleted-gone; cat /etc/kept; ls /opq; cat /keep/file;
  [ "$(stat -c %i /keep/a)" = "$(stat -c %i /keep/b)" ] && echo hardlink-shared
  grep -o "lowerdir=[^,]*" /proc/mounts | head -1'
jq --arg s "$script" '.process.terminal=false | .process.args=["/bin/sh","-c",$s] |
  .root.path="image"' "$d/bundle/config.json" > "$d/c.json"
mv "$d/c.json" "$d/bundle/config.json"

# ---- 1: the image as root.path ----------------------------------------------------------------
rc=0
rl run -b "$d/bundle" img1 < /dev/null > "$d/1.out" 2> "$d/1.err" || rc=$?
[ "$rc" = 0 ] || fail "run exit status $rc"
# The layers are VPMem devices (images of a multiple of 2 MiB), top-most first.
want=$'deleted-gone\nlower\nnew\nbase\nhardlink-shared\nlowerdir=/run/layers/p0:/run/layers/p1'
[ "$(cat "$d/1.out")" = "$want" ] || fail "output: $(cat "$d/1.out")"
n=$(ls "$root/.layers"/oci-*.ext4 | wc -l)
[ "$n" = 2 ] || fail "$n cached layer images, want 2"
[ -e "$root/.layers/oci-${l0#sha256:}.ext4" ] && [ -e "$root/.layers/oci-${l1#sha256:}.ext4" ] ||
  fail "cache names: $(ls "$root/.layers")"
echo "ok 1: two-layer OCI image as VPMem layers: whiteout, opaque dir, hard link, lower file; cached by digest"

# ---- 2: the same image by annotation and ref reuses the cached layers --------------------------
before=$(stat -c %Y "$root/.layers/oci-${l0#sha256:}.ext4")
mkdir -p "$d/b2"
jq --arg l "$lay" '.root.path="rootfs" | .process.args=["/bin/cat","/opq/new"] |
  .annotations["org.lcow.image.layout"]=$l | .annotations["org.lcow.image.ref"]="two"' \
  "$d/bundle/config.json" > "$d/b2/config.json"
mkdir -p "$d/b2/rootfs"
rc=0
rl run -b "$d/b2" img2 < /dev/null > "$d/2.out" 2> "$d/2.err" || rc=$?
[ "$rc" = 0 ] || fail "run 2 exit status $rc"
[ "$(cat "$d/2.out")" = upper ] || fail "run 2 output: $(cat "$d/2.out")"
[ "$(ls "$root/.layers"/oci-*.ext4 | wc -l)" = 2 ] || fail "run 2 converted again"
[ "$(stat -c %Y "$root/.layers/oci-${l0#sha256:}.ext4")" = "$before" ] || fail "layer rebuilt"
echo "ok 2: image by annotation + ref: cached layers reused"

# ---- 3: a bad image fails before anything boots ---------------------------------------------
cp -r "$d/bundle" "$d/b3"
echo '{}' > "$d/b3/image/blobs/sha256/${man#sha256:}"
rc=0
rl run -b "$d/b3" img3 < /dev/null > "$d/3.out" 2> "$d/3.err" || rc=$?
[ "$rc" != 0 ] || fail "corrupt manifest accepted"
grep -q "manifest" "$d/3.err" || fail "error does not name the manifest: $(cat "$d/3.err")"
[ ! -e "$root/img3" ] || fail "state left for img3"
echo "ok 3: corrupt manifest: clear error, nothing left"
