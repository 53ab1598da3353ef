# Sourced by the vhost-user-vsock QEMU test and benchmark (bash). Provides:
#   vhost_uvm_kernel            sets VMLINUX and MODDIR: build/vmlinux and the tree `make initrd`
#                               unpacked when they exist, else our own copy under
#                               $BUILD/vhost-uvm (the Debian kernel package fetched with
#                               apt-get download and unpacked there: never installed)
#   vhost_uvm_initrd OUT        a test initrd: tests/vhost_guest as /init plus the virtio, vsock,
#                               vsock_loopback and virtio_console modules
#   vhost_uvm_cleanup [STATUS]  kills what vhost_uvm_spawn started (call it first in an EXIT
#                               trap); when STATUS (default $?) is not 0, it then prints the
#                               tails of the *.log and *.err files in VHOST_UVM_LOGDIR (default:
#                               the caller's $work), i.e. console, back end, host peer, QEMU
#   vhost_uvm_spawn VAR CMD...  starts CMD in the background, records its pid in VAR
#   vhost_uvm_qemu_args INITRD APPEND VUSOCK   the QEMU command line (array QEMU_ARGS)
set -u
BUILD=${BUILD:-build}
VUDIR="$BUILD/vhost-uvm"
VHOST_PIDS=()

vhost_uvm_log() { echo "[$(date +%T)] $*" >&2; }

vhost_uvm_kernel() {
  local boot_root="$BUILD/kernel/root"
  if [ -f "$BUILD/vmlinux" ] && [ -d "$boot_root/lib/modules" ]; then
    VMLINUX="$BUILD/vmlinux"
    MODDIR=$(ls -d "$boot_root"/lib/modules/* | head -n 1)
    return 0
  fi
  local kdir="$VUDIR/kernel"
  mkdir -p "$kdir"
  if [ ! -f "$kdir/vmlinux" ] || [ ! -d "$kdir/root/lib/modules" ]; then
    local deb
    deb=$(ls "$BUILD"/kernel/linux-image-*.deb "$kdir"/linux-image-*.deb 2>/dev/null | head -n 1 || true)
    if [ -z "$deb" ]; then
      local pkg
      pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
      [ -n "$pkg" ] || { echo "cannot resolve linux-image-amd64" >&2; return 1; }
      (cd "$kdir" && apt-get download -q "$pkg" >&2) || return 1
      deb=$(ls "$kdir"/linux-image-*.deb | head -n 1)
    fi
    rm -rf "$kdir/root"
    dpkg-deb -x "$deb" "$kdir/root" || return 1
    local vmlinuz
    vmlinuz=$(ls "$kdir"/root/boot/vmlinuz-* | head -n 1)
    # The bzImage's payload is an xz stream; the ELF inside boots through PVH, which skips the
    # in-guest decompression (about 5 s under TCG: test-environment.md §2).
    local off
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$vmlinuz" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || { echo "no xz payload in $vmlinuz" >&2; return 1; }
    tail -c +$((off + 1)) "$vmlinuz" | xz -dc --single-stream > "$kdir/vmlinux.tmp" 2>/dev/null || true
    [ -s "$kdir/vmlinux.tmp" ] || { echo "vmlinux extraction failed" >&2; return 1; }
    mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
  fi
  VMLINUX="$kdir/vmlinux"
  MODDIR=$(ls -d "$kdir"/root/lib/modules/* | head -n 1)
}

vhost_uvm_initrd() {
  local out=$1 root="$VUDIR/initrd-root"
  rm -rf "$root"
  mkdir -p "$root"/{proc,sys,dev,lib/mod}
  mknod -m 600 "$root/dev/console" c 5 1
  cp "$BUILD/tests/vhost_guest" "$root/init"
  local m list=()
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
           drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/vmw_vsock/vsock \
           net/vmw_vsock/vmw_vsock_virtio_transport_common net/vmw_vsock/vmw_vsock_virtio_transport \
           net/vmw_vsock/vsock_loopback drivers/char/virtio_console; do
    local f
    f=$(ls "$MODDIR/kernel/$m".ko* 2>/dev/null | head -n 1)
    [ -n "$f" ] || { echo "module $m not found under $MODDIR" >&2; return 1; }
    case "$f" in
      *.ko.xz) xz -dc "$f" > "$root/lib/mod/$(basename "$m").ko" ;;
      *.ko.zst) zstd -qdc "$f" > "$root/lib/mod/$(basename "$m").ko" ;;
      *) cp "$f" "$root/lib/mod/" ;;
    esac
    list+=("/lib/mod/$(basename "$m").ko")
  done
  printf '%s\n' "${list[@]}" > "$root/modules.list"
  (cd "$root" && find . | sort | cpio -o -H newc --quiet) | gzip -1 > "$out"
}

vhost_uvm_spawn() {
  local var=$1
  shift
  "$@" &
  local pid=$!
  VHOST_PIDS+=("$pid")
  printf -v "$var" '%s' "$pid"
}

vhost_uvm_cleanup() {
  local rc=${1:-$?} p f
  for p in "${VHOST_PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${VHOST_PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  local dir=${VHOST_UVM_LOGDIR:-${work:-}}
  [ "$rc" != 0 ] && [ -n "$dir" ] && [ -d "$dir" ] || return 0
  echo "--- evidence kept by vhost_uvm_cleanup (exit status $rc): logs in $dir"
  for f in "$dir"/*.log "$dir"/*.err; do
    [ -f "$f" ] || continue
    echo "--- ${f##*/} (last 40 lines)"
    tail -n 40 "$f" | tr -d '\r'
  done
}

# Waits up to $2 seconds for file $1 to contain pattern $3.
vhost_uvm_wait_for() {
  local file=$1 secs=$2 pat=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    grep -q -- "$pat" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

vhost_uvm_qemu_args() {
  local initrd=$1 append=$2 vusock=$3
  QEMU_ARGS=(qemu-system-x86_64 -accel tcg -M pc,memory-backend=mem -m 512
    -object memory-backend-memfd,id=mem,size=512M,share=on
    -display none -nodefaults -no-reboot -serial stdio
    -kernel "$VMLINUX" -initrd "$initrd"
    -append "console=ttyS0 quiet panic=-1 no_timer_check $append"
    -chardev "socket,id=vu,path=$vusock" -device vhost-user-vsock-pci,chardev=vu)
}
