# Helpers for the containerd_*.sh tests and benches (sourced, not run): a private containerd
# (Debian's package: containerd + ctr + containerd-shim-runc-v2) with its own root, state,
# sockets and config under a temp dir, no CRI and no network, and a busybox image built
# locally as an OCI image layout tar (busybox-static + index.json, manifest, config, one
# uncompressed layer). Everything made here is undone by ctrd_cleanup (trap it on EXIT):
# tasks and containers deleted, containerd and its shims stopped (by pid), mounts under the
# temp dir unmounted, the test's cgroup parent removed, the temp dir deleted.
#   CTRD_DIR     the temp dir          CTRD_SOCK   containerd's socket
#   CTRD_CG      cgroup parent for every container (pass --cgroup "/$CTRD_CG/ID" to ctr run)
#   CTRD_IMAGE   the image reference   ctrd, CTR    ctr against our containerd, namespace "t"
set -u

BUILD=${BUILD:-build}
TOP=${LCOW_TOP:-$(pwd)}
OCIRUN=${OCIRUN:-$TOP/$BUILD/bin/ocirun}
CTRD_DIR=$(mktemp -d /tmp/lcow-ctrd.XXXXXX)
chmod 755 "$CTRD_DIR"
CTRD_SOCK=$CTRD_DIR/containerd.sock
CTRD_CG=lcow-ctrd-test-$$
CTRD_IMAGE=localhost/lcow-busybox:test
CTRD_PID=
FAILS=0

CTR=(ctr --address "$CTRD_SOCK" --namespace t) # for `timeout "${CTR[@]}" ...`
ctrd() { "${CTR[@]}" "$@"; }

ctrd_skip_unless_ready() {
  [ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
  local p
  for p in containerd ctr containerd-shim-runc-v2 jq sha256sum tar; do
    command -v "$p" >/dev/null || { echo "$p is not installed"; exit 1; }
  done
  [ -x /bin/busybox ] || { echo "busybox-static is not installed"; exit 1; }
  [ -x "$OCIRUN" ] || { echo "$OCIRUN not built"; exit 1; }
  grep -qw overlay /proc/filesystems || modprobe overlay 2>/dev/null ||
    { echo "no overlayfs for containerd's snapshotter"; exit 77; }
}

# Pids of processes whose command line mentions our temp dir (containerd, its shims, and the
# runtimes they run), so cleanup never touches anyone else's containerd.
ctrd_own_pids() {
  local f pid
  for f in /proc/[0-9]*/cmdline; do
    pid=${f#/proc/}
    pid=${pid%/cmdline}
    [ "$pid" = $$ ] && continue
    tr "\0" " " 2>/dev/null <"$f" | grep -q -- "$CTRD_DIR" && echo "$pid"
  done
}

ctrd_cleanup() {
  local id try d
  if [ -n "$CTRD_PID" ] && kill -0 "$CTRD_PID" 2>/dev/null; then
    for id in $(ctrd task ls -q 2>/dev/null); do
      ctrd task resume "$id" >/dev/null 2>&1
      ctrd task kill -a -s KILL "$id" >/dev/null 2>&1
      for try in $(seq 50); do
        ctrd task ls 2>/dev/null | awk -v i="$id" '$1 == i {print $3}' | grep -q STOPPED && break
        sleep 0.1
      done
      ctrd task delete -f "$id" >/dev/null 2>&1
    done
    for id in $(ctrd containers ls -q 2>/dev/null); do
      ctrd containers delete "$id" >/dev/null 2>&1
    done
    kill -TERM "$CTRD_PID" 2>/dev/null
    for try in $(seq 50); do kill -0 "$CTRD_PID" 2>/dev/null || break; sleep 0.1; done
  fi
  # Shims outlive containerd by design; ours carry our socket path in their arguments.
  for try in 1 2 3; do
    local pids
    pids=$(ctrd_own_pids)
    [ -z "$pids" ] && break
    kill -9 $pids 2>/dev/null
    sleep 0.2
  done
  # Mounts (snapshots, rootfs) under our dir, deepest first.
  awk -v w="$CTRD_DIR" 'index($5, w) == 1 {print $5}' /proc/self/mountinfo | sort -r |
    xargs -r -n1 umount -l 2>/dev/null
  for try in $(seq 40); do
    local left=0
    for d in /sys/fs/cgroup/*/"$CTRD_CG" /sys/fs/cgroup/"$CTRD_CG"; do
      [ -d "$d" ] || continue
      left=1
      cat $(find "$d" -name cgroup.procs) 2>/dev/null | xargs -r kill -9 2>/dev/null
      find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    [ "$left" = 0 ] && break
    sleep 0.05
  done
  rm -rf "$CTRD_DIR"
}

# A busybox image as an OCI image-layout tar: one uncompressed layer (the rootfs), a config,
# a manifest and an index that names the image, all content-addressed.
ctrd_make_image() {
  local out=$1 r=$CTRD_DIR/img-rootfs l=$CTRD_DIR/img a
  mkdir -p "$r"/bin "$r"/etc "$r"/proc "$r"/sys "$r"/dev "$r"/tmp "$r"/root "$r"/home/user \
    "$l"/blobs/sha256
  cp /bin/busybox "$r"/bin/busybox
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$r/bin/$a"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\n' >"$r"/etc/passwd
  printf 'root:x:0:\nwheel:x:10:root,user\nuser:x:1000:\n' >"$r"/etc/group
  chmod 1777 "$r"/tmp
  tar -C "$r" --numeric-owner --owner=0 --group=0 -cf "$l/layer.tar" .
  local layer lsize diffid cfg csize man msize
  layer=$(sha256sum "$l/layer.tar" | cut -d' ' -f1)
  lsize=$(stat -c %s "$l/layer.tar")
  mv "$l/layer.tar" "$l/blobs/sha256/$layer"
  diffid=$layer # uncompressed: the diff id is the blob's digest
  jq -cn --arg d "sha256:$diffid" '{architecture: "amd64", os: "linux",
      config: {Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
               Cmd: ["sh"], WorkingDir: "/"},
      rootfs: {type: "layers", diff_ids: [$d]}}' >"$l/config.json"
  cfg=$(sha256sum "$l/config.json" | cut -d' ' -f1)
  csize=$(stat -c %s "$l/config.json")
  mv "$l/config.json" "$l/blobs/sha256/$cfg"
  jq -cn --arg c "sha256:$cfg" --argjson cs "$csize" --arg l "sha256:$layer" --argjson ls "$lsize" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
      layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $l, size: $ls}]}' \
    >"$l/manifest.json"
  man=$(sha256sum "$l/manifest.json" | cut -d' ' -f1)
  msize=$(stat -c %s "$l/manifest.json")
  mv "$l/manifest.json" "$l/blobs/sha256/$man"
  jq -cn --arg m "sha256:$man" --argjson ms "$msize" --arg n "$CTRD_IMAGE" \
    '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m,
                   size: $ms, platform: {architecture: "amd64", os: "linux"},
                   annotations: {"io.containerd.image.name": $n,
                                 "org.opencontainers.image.ref.name": "test"}}]}' \
    >"$l/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$l/oci-layout"
  tar -C "$l" -cf "$out" oci-layout index.json blobs
  rm -rf "$r" "$l"
}

# Starts containerd on our own root/state/sockets, without CRI and the snapshotters and
# tracing plugins that are of no use here; waits until it answers.
ctrd_start() {
  cat >"$CTRD_DIR/config.toml" <<EOF
version = 2
root = "$CTRD_DIR/root"
state = "$CTRD_DIR/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$CTRD_SOCK"
[ttrpc]
  address = "$CTRD_SOCK.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
EOF
  containerd --config "$CTRD_DIR/config.toml" >"$CTRD_DIR/containerd.log" 2>&1 &
  CTRD_PID=$!
  local try
  for try in $(seq 100); do
    ctrd version >/dev/null 2>&1 && return 0
    kill -0 "$CTRD_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "containerd did not start:"
  tail -20 "$CTRD_DIR/containerd.log"
  return 1
}

ctrd_check() {
  local what=$1
  shift
  if "$@"; then
    echo "ok   $what"
  else
    echo "FAIL $what"
    FAILS=$((FAILS + 1))
  fi
}

ctrd_finish() {
  [ "$FAILS" -eq 0 ] || { echo "$FAILS check(s) failed"; exit 1; }
  echo "all checks passed"
}
