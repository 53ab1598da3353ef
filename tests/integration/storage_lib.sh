#!/usr/bin/env bash
# Storage requests (gcs-protocol.md §5.2–5.4) applied by gcs/storage.c through the protocol
# decoder, on this machine, against loop devices presented through a FAKE sysfs and /dev root
# built here: ext4 layers made with mkfs.ext4 -d, a blank scratch formatted by EnsureFilesystem,
# SCSI layers, a BlockDev link, VPMem (a loop device stands in for /dev/pmemN; dm-linear only
# when this kernel has device-mapper), overlays (read-write, read-only, bundle-on-scratch), bad
# input, and removal leaving no mount, loop or dm device. Nothing here touches a real device.
#   STORAGE_MODE=lib     requests go straight to gcs_storage_apply() (storage_drive)
#   STORAGE_MODE=bridge  requests go through the real bridge to `gcs -bridge unix:...` with
#                        -sysfs-root/-dev-root (storage_host), plus a device wait that must not
#                        hold up a concurrent request (storage_bridge.sh sets this mode)
set -euo pipefail
mode=${STORAGE_MODE:-lib}
top=${LCOW_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${BUILD:-build}
case $build in /*) ;; *) build=$top/$build ;; esac
drive=$build/tests/storage_drive
host=$build/tests/storage_host
gcs=$build/bin/gcs

[ "$(id -u)" = 0 ] || { echo "needs root"; exit 77; }
for t in losetup mkfs.ext4 findmnt; do
  command -v $t >/dev/null || { echo "missing $t"; exit 1; }
done

T=$(mktemp -d /tmp/lcow-storage.XXXXXX)
R=/run/lcow-storage-test.$$
LOOPS=()
DM_NAMES=()
GCS_PID=
cleanup() {
  set +e
  [ -n "${COPROC_PID:-}" ] && kill "$COPROC_PID" 2>/dev/null
  [ -n "$GCS_PID" ] && kill "$GCS_PID" 2>/dev/null && wait "$GCS_PID" 2>/dev/null
  [ -f "$T/gcs.log" ] && [ "${ok_done:-0}" != 1 ] && tail -n 20 "$T/gcs.log"
  # deepest mounts first
  findmnt -rn -o TARGET | grep -E "^($R|$T)(/|$)" | sort -r | while read -r m; do
    umount -l "$m"
  done
  for n in "${DM_NAMES[@]}"; do dmsetup remove "$n" 2>/dev/null; done
  for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
  rm -rf "$R" "$T"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

mkdir -p "$R" "$T/l1" "$T/l2" "$T/dev"
echo l1 > "$T/l1/shared"; echo a > "$T/l1/a"
echo l2 > "$T/l2/shared"; echo b > "$T/l2/b"
mkfs.ext4 -q -d "$T/l1" "$T/l1.img" 8M
mkfs.ext4 -q -d "$T/l2" "$T/l2.img" 8M
truncate -s 64M "$T/scratch.img"
truncate -s 8M "$T/blank.img"
truncate -s 8M "$T/blockdev.img"
# a partitioned disk (one partition at 1 MiB holding layer l2) and a big sparse one for xfs
truncate -s 16M "$T/parted.img"
# MBR by hand (no fdisk needed): entry 1 = type 0x83, LBA 2048, 30720 sectors; signature 55 aa
printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
  dd of="$T/parted.img" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$T/parted.img" bs=1 seek=510 conv=notrunc status=none
truncate -s 320M "$T/xfs.img"

attach() { # FILE [ro] -> loop device
  local l
  if [ "${2:-}" = ro ]; then l=$(losetup --find --show --read-only "$1"); else l=$(losetup --find --show "$1"); fi
  echo "$l"
}
L1=$(attach "$T/l1.img" ro); LOOPS+=("$L1")
L2=$(attach "$T/l2.img" ro); LOOPS+=("$L2")
LS=$(attach "$T/scratch.img"); LOOPS+=("$LS")
LB=$(attach "$T/blank.img"); LOOPS+=("$LB")
LD=$(attach "$T/blockdev.img"); LOOPS+=("$LD")
LX=$(attach "$T/xfs.img"); LOOPS+=("$LX")
LPART=$(losetup --find --show --partscan "$T/parted.img"); LOOPS+=("$LPART")
for _ in $(seq 20); do [ -b "${LPART}p1" ] && break; sleep 0.1; done
# This machine's kernel may have no partition-table support at all (CONFIG_MSDOS_PARTITION
# unset here); the partition case then runs only in the UVM tier (tests/uvm/storage_uvm.sh).
have_parts=0
if [ -b "${LPART}p1" ]; then
  have_parts=1
  dd if="$T/l2.img" of="${LPART}p1" bs=1M conv=fsync status=none
fi
LP=$(attach "$T/l1.img" ro); LOOPS+=("$LP")

# Fake sysfs: one SCSI controller (host0); disks as H:0:0:LUN/block/sdX;
# the fake /dev maps sdX and pmem0 onto our loop devices.
# The lib run uses the QEMU layout (virtio-scsi by PCI order), the bridge run the Hyper-V one
# (VMBus GUID of controller 0), so both lookups are exercised end to end.
S=$T/sys
if [ "$mode" = bridge ]; then
  mkdir -p "$S/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host0"
else
  mkdir -p "$S/devices/pci0000:00/0000:00:03.0/virtio1/host0" "$S/bus/virtio/drivers/virtio_scsi"
  ln -s ../../../../devices/pci0000:00/0000:00:03.0/virtio1 "$S/bus/virtio/drivers/virtio_scsi/virtio1"
fi
disk() { # LUN NAME LOOP
  mkdir -p "$S/bus/scsi/devices/0:0:0:$1/block/$2"
  : > "$S/bus/scsi/devices/0:0:0:$1/delete"
  ln -s "$3" "$T/dev/$2"
}
disk 1 sda "$L1"; disk 2 sdb "$L2"; disk 3 sdc "$LS"; disk 4 sdd "$LB"; disk 5 sde "$LD"
disk 6 sdf "$LPART"; mkdir -p "$S/bus/scsi/devices/0:0:0:6/block/sdf/sdf1"; ln -s "${LPART}p1" "$T/dev/sdf1"
disk 7 sdg "$LX"
ln -s "$LP" "$T/dev/pmem0"

if [ "$mode" = bridge ]; then
  # The device wait is long enough to see a concurrent request finish inside it.
  "$gcs" -bridge "unix:$T/b" -sysfs-root "$S" -dev-root "$T/dev" -device-timeout-ms 1500 \
    -loglevel debug -log-format json 2>>"${GCS_LOG:-$T/gcs.log}" &
  GCS_PID=$!
  coproc "$host" "unix:$T/b"
  read -r -t 30 line <&"${COPROC[0]}" && [ "$line" = READY ] || fail "gcs did not connect"
else
  coproc "$drive" --sysfs-root "$S" --dev-root "$T/dev" --timeout-ms 300
fi
REPLY_LINE=
send() { echo "$1" >&"${COPROC[1]}"; read -r REPLY_LINE <&"${COPROC[0]}"; }
ok() { send "$1"; [ "$REPLY_LINE" = OK ] || fail "expected OK for $1, got: $REPLY_LINE"; }
err() { # PATTERN JSON
  send "$2"; [[ $REPLY_LINE == ERR* ]] || fail "expected an error for $2, got: $REPLY_LINE"
  grep -qE -- "$1" <<<"$REPLY_LINE" || fail "error for $2 does not match /$1/: $REPLY_LINE"
  # through the bridge every storage failure is E_FAIL with the error text (§2.7, §6)
  [ "$mode" != bridge ] || [[ $REPLY_LINE == "ERR -2147467259 "* ]] || fail "not E_FAIL: $REPLY_LINE"
  echo "  bad input answered: $REPLY_LINE"
}
uvm='"ContainerId":"00000000-0000-0000-0000-000000000000","ActivityId":"00000000-0000-0000-0000-000000000000"'
modify() { echo "{$uvm,\"Request\":{\"RequestType\":\"$1\",\"ResourceType\":\"$2\",\"Settings\":$3}}"; }
mounted() { findmnt -rn -o FSTYPE,OPTIONS --mountpoint "$1"; }

echo "== SCSI layers (read-only, noload) and scratch (EnsureFilesystem)"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m0\",\"Lun\":1,\"ReadOnly\":true,\"Options\":[\"ro\"]}")"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m1\",\"Lun\":2,\"ReadOnly\":true,\"Options\":[\"ro\"]}")"
mounted "$R/mounts/scsi/m0" | grep -qE '^ext4 ro' || fail "m0 not ext4 ro: $(mounted "$R/mounts/scsi/m0")"
[ "$(cat "$R/mounts/scsi/m0/a")" = a ] || fail "m0 content"
[ "$(stat -c %a "$R/mounts/scsi")" = 700 ] || fail "mount dirs are not 0700"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/gcs/c/c1\",\"Lun\":3,\"EnsureFilesystem\":true,\"Filesystem\":\"ext4\",\"Options\":[\"rshared\"]}")"
mounted "$R/gcs/c/c1" | grep -qE '^ext4 rw' || fail "scratch not ext4 rw"
findmnt -rn -o PROPAGATION --mountpoint "$R/gcs/c/c1" | grep -q shared || fail "rshared not applied"
[ "$(blkid -o value -s TYPE "$T/scratch.img")" = ext4 ] || fail "scratch not formatted"

echo "== overlay: lowerdirs in the given order, writes land in upper"
ok "$(modify Add CombinedLayers "{\"ContainerID\":\"c1\",\"ContainerRootPath\":\"$R/gcs/c/c1/rootfs\",\"Layers\":[{\"Path\":\"$R/mounts/scsi/m0\"},{\"Path\":\"$R/mounts/scsi/m1\"}],\"ScratchPath\":\"$R/gcs/c/c1/scratch/c1\"}")"
[ "$(cat "$R/gcs/c/c1/rootfs/shared")" = l1 ] || fail "top-most layer must win"
[ -f "$R/gcs/c/c1/rootfs/a" ] && [ -f "$R/gcs/c/c1/rootfs/b" ] || fail "layers not merged"
echo written > "$R/gcs/c/c1/rootfs/new"
[ "$(cat "$R/gcs/c/c1/scratch/c1/upper/new")" = written ] || fail "write did not land in upper"
findmnt -rn -o OPTIONS --mountpoint "$R/gcs/c/c1/rootfs" | grep -q "lowerdir=$R/mounts/scsi/m0:$R/mounts/scsi/m1" || fail "lowerdir order"

echo "== read-only overlay without ScratchPath"
ok "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c2/rootfs\",\"Layers\":[{\"Path\":\"$R/mounts/scsi/m1\"},{\"Path\":\"$R/mounts/scsi/m0\"}]}")"
mounted "$R/gcs/c/c2/rootfs" | grep -qE '^overlay ro' || fail "overlay without scratch is not ro"
! touch "$R/gcs/c/c2/rootfs/x" 2>/dev/null || fail "read-only overlay accepted a write"
[ "$(cat "$R/gcs/c/c2/rootfs/shared")" = l2 ] || fail "ro overlay order"
# overlayfs needs two lowerdirs without an upper: one layer becomes a read-only bind
ok "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c4/rootfs\",\"Layers\":[{\"Path\":\"$R/mounts/scsi/m1\"}]}")"
findmnt -rn -o OPTIONS --mountpoint "$R/gcs/c/c4/rootfs" | grep -qE '^ro' || fail "single-layer view is not ro"
[ -f "$R/gcs/c/c4/rootfs/b" ] || fail "single-layer content"

echo "== 100 long-named layers: options over one page fall back to /proc/self/fd/N names"
long=$R/long-layers/a-layer-directory-with-a-deliberately-long-name-to-fill-the-page
layers=
for i in $(seq 0 99); do
  mkdir -p "$long-$i"; echo "$i" > "$long-$i/f"; echo "$i" > "$long-$i/only$i"
  layers+="${layers:+,}{\"Path\":\"$long-$i\"}"
done
ok "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c5/rootfs\",\"Layers\":[$layers],\"ScratchPath\":\"$R/gcs/c/c5/scratch\"}")"
[ "$(cat "$R/gcs/c/c5/rootfs/f")" = 0 ] && [ -f "$R/gcs/c/c5/rootfs/only99" ] || fail "100-layer overlay content"
ok "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c5/rootfs\"}")"

if [ "$mode" = lib ]; then
echo "== bundle-on-scratch bind (scratch shared with another container)"
ok "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c3/rootfs\",\"Layers\":[{\"Path\":\"$R/mounts/scsi/m1\"}],\"ScratchPath\":\"$R/gcs/c/c1/scratch/c3\"}")"
findmnt -rn --mountpoint "$R/gcs/c/c3" >/dev/null || fail "bundle bind missing"
echo cfg > "$R/gcs/c/c3/config.json"
[ -f "$R/gcs/c/c1/scratch/c3/bundle/config.json" ] || fail "bundle not backed by the scratch"
fi

if [ "$have_parts" = 1 ]; then
  echo "== Partition 1 of a partitioned disk"
  ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m6\",\"Lun\":6,\"Partition\":1,\"ReadOnly\":true}")"
  [ "$(cat "$R/mounts/scsi/m6/shared")" = l2 ] || fail "partition content"
  ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m6\",\"Lun\":6,\"Partition\":1}")"
else
  echo "== Partition: this kernel reads no partition tables; covered by tests/uvm/storage_uvm.sh"
fi

echo "== EnsureFilesystem xfs, then a read-only xfs mount (norecovery instead of noload)"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m7\",\"Lun\":7,\"EnsureFilesystem\":true,\"Filesystem\":\"xfs\"}")"
mounted "$R/mounts/scsi/m7" | grep -qE '^xfs rw' || fail "not xfs rw: $(mounted "$R/mounts/scsi/m7")"
echo x > "$R/mounts/scsi/m7/x"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m7\",\"Lun\":7}")"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m7\",\"Lun\":7,\"ReadOnly\":true}")"
mounted "$R/mounts/scsi/m7" | grep -qE '^xfs ro.*norecovery' || fail "not xfs ro,norecovery: $(mounted "$R/mounts/scsi/m7")"
[ "$(cat "$R/mounts/scsi/m7/x")" = x ] || fail "xfs content"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m7\",\"Lun\":7,\"ReadOnly\":true}")"

echo "== attach only (MountPath \"\"): wait for the disk, mount nothing"
ok "$(modify Add MappedVirtualDisk "{\"Lun\":5}")"
ok "$(modify Remove MappedVirtualDisk "{\"Lun\":5}")"

echo "== BlockDev symlink"
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m9\",\"Lun\":5,\"BlockDev\":true}")"
[ "$(readlink "$R/mounts/scsi/m9")" = "$T/dev/sde" ] || fail "BlockDev link"

echo "== VPMem (loop device standing in for /dev/pmem0)"
if [ "$mode" = bridge ]; then
  echo "   ... while another request waits for a missing disk"
  send "PAIR $(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/slow\",\"Lun\":11}")	$(modify Add VPMemDevice "{\"MountPath\":\"$R/layers/p0\"}")"
  read -r _ fast_res fast_ms slow_res slow_ms <<<"$REPLY_LINE"
  echo "   fast: result $fast_res after ${fast_ms} ms; slow: result $slow_res after ${slow_ms} ms"
  [ "$fast_res" = 0 ] && [ "$slow_res" = -2147467259 ] || fail "PAIR results: $REPLY_LINE"
  [ "$slow_ms" -ge 1400 ] && [ "$slow_ms" -lt 10000 ] && [ "$fast_ms" -lt "$slow_ms" ] && [ "$fast_ms" -lt 1000 ] ||
    fail "the VPMem Add waited for the other request's device wait: $REPLY_LINE"
  [ ! -e "$R/mounts/scsi/slow" ] || fail "timed-out Add left its dir"
else
  ok "$(modify Add VPMemDevice "{\"MountPath\":\"$R/layers/p0\"}")"
fi
mounted "$R/layers/p0" | grep -qE '^ext4 ro' || fail "pmem not ext4 ro"
[ "$(cat "$R/layers/p0/shared")" = l1 ] || fail "pmem content"

if grep -qw device-mapper /proc/misc && [ -e /dev/mapper/control ]; then
  echo "== VPMem MappingInfo through dm-linear"
  mkdir -p "$T/dev/mapper"; ln -s /dev/mapper/control "$T/dev/mapper/control"
  DM_NAMES+=("dm-linear-pmem0-0-8388608")
  ok "$(modify Add VPMemDevice "{\"MountPath\":\"$R/layers/p0-0-8388608\",\"MappingInfo\":{\"DeviceSizeInBytes\":8388608}}")"
  [ "$(cat "$R/layers/p0-0-8388608/a")" = a ] || fail "dm-linear content"
  ok "$(modify Remove VPMemDevice "{\"MountPath\":\"$R/layers/p0-0-8388608\",\"MappingInfo\":{\"DeviceSizeInBytes\":8388608}}")"
  [ ! -e /dev/mapper/dm-linear-pmem0-0-8388608 ] || fail "dm device left"
else
  echo "== VPMem MappingInfo: this kernel has no device-mapper (CONFIG_MD unset); dm-linear runs in the UVM tier and against the fake ioctl in test_mount"
fi

if [ "$mode" = bridge ]; then
  echo "== 8 identical Adds at once (parallel workers): exactly one mounts, the rest are refused"
  send "BURST 8 $(modify Add VPMemDevice "{\"MountPath\":\"$R/layers/burst\"}")"
  [ "$REPLY_LINE" = "BURST 1 7" ] || fail "concurrent identical Adds: $REPLY_LINE"
  [ "$(findmnt -rn -o TARGET | grep -c "^$R/layers/burst$")" = 1 ] || fail "stacked mounts at burst"
  send "BURST 8 $(modify Remove VPMemDevice "{\"MountPath\":\"$R/layers/burst\"}")"
  [ "$REPLY_LINE" = "BURST 1 7" ] || fail "concurrent identical Removes: $REPLY_LINE"
  [ ! -e "$R/layers/burst" ] || fail "burst dir left"
fi

echo "== bad input: clear errors, nothing half-created"
err 'Controller 4' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad1\",\"Controller\":4,\"Lun\":1}")"
err 'Lun 64' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad2\",\"Lun\":64}")"
err 'not under /run' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$T/elsewhere\",\"Lun\":1}")"
err '`\.\.`' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/../../etc/x\",\"Lun\":1}")"
ln -s /etc "$R/escape"
err 'symlink' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/escape/x\",\"Lun\":1}")"
err 'SCSI disk 0:0:0:9.*not ready after' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad3\",\"Lun\":9}")"
err 'SCSI disk 0:0:0:12.*not ready after' "$(modify Add MappedVirtualDisk "{\"Lun\":12}")"
err 'no known filesystem' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad4\",\"Lun\":4,\"ReadOnly\":true}")"
err 'unsupported filesystem `ntfs`' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad5\",\"Lun\":4,\"EnsureFilesystem\":true,\"Filesystem\":\"ntfs\"}")"
err 'not supported' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/bad6\",\"Lun\":4,\"Encrypted\":true,\"Filesystem\":\"xfs\"}")"
err 'already in use' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m0\",\"Lun\":2,\"ReadOnly\":true}")"
err 'was not added' "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/never\",\"Lun\":1}")"
err 'was not added' "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/never/rootfs\"}")"
err 'was not added' "$(modify Remove VPMemDevice "{\"MountPath\":\"$R/layers/p7\",\"DeviceNumber\":7}")"
err 'pmem7' "$(modify Add VPMemDevice "{\"MountPath\":\"$R/layers/p7\",\"DeviceNumber\":7}")"
err 'still in use' "$(modify Remove SCSIDevice "{\"Lun\":1}")"
err 'not supported' "$(modify Add SCSIDevice "{\"Lun\":1}")"
err 'not supported' "$(modify Update MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m0\"}")"
err 'Layers is empty' "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c9/rootfs\",\"Layers\":[]}")"
err 'Layers\[0\].Path' "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c9/rootfs\",\"Layers\":[{\"Path\":\"/etc\"}]}")"
err 'mount overlay' "$(modify Add CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c9/rootfs\",\"Layers\":[{\"Path\":\"$R/nolayer\"}],\"ScratchPath\":\"$R/gcs/c/c9/scratch\"}")"
for p in mounts/scsi/bad1 mounts/scsi/bad2 mounts/scsi/bad3 mounts/scsi/bad4 mounts/scsi/bad5 mounts/scsi/bad6 layers/p7 gcs/c/c9; do
  [ ! -e "$R/$p" ] || fail "failed request left $R/$p behind"
done
[ ! -e "$R/escape/x" ] && [ ! -e /etc/x ] || fail "symlink escape created something"
[ "$(blkid -o value -s TYPE "$T/blank.img" || true)" = "" ] || fail "a failed request formatted the blank disk"

echo "== removal in reverse order"
if [ "$mode" = lib ]; then
  ok "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c3/rootfs\"}")"
  findmnt -rn --mountpoint "$R/gcs/c/c3" >/dev/null || fail "the bundle bind must outlive the rootfs"
  err 'in use by a CombinedLayers bundle bind' "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/gcs/c/c3\",\"Lun\":2,\"ReadOnly\":true}")"
  send "BUNDLE $R/gcs/c/c3"; [ "$REPLY_LINE" = OK ] || fail "bundle release: $REPLY_LINE"
  ! findmnt -rn --mountpoint "$R/gcs/c/c3" >/dev/null || fail "bundle bind left after release"
fi
ok "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c2/rootfs\"}")"
ok "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c4/rootfs\"}")"
ok "$(modify Remove CombinedLayers "{\"ContainerRootPath\":\"$R/gcs/c/c1/rootfs\"}")"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/gcs/c/c1\",\"Lun\":3}")"
# EnsureFilesystem on a disk that already holds the filesystem keeps its data (no reformat)
ok "$(modify Add MappedVirtualDisk "{\"MountPath\":\"$R/gcs/c/c1\",\"Lun\":3,\"EnsureFilesystem\":true,\"Filesystem\":\"ext4\"}")"
[ "$(cat "$R/gcs/c/c1/scratch/c1/upper/new")" = written ] || fail "EnsureFilesystem reformatted an ext4 scratch"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/gcs/c/c1\",\"Lun\":3}")"
ok "$(modify Remove SCSIDevice "{\"Lun\":3}")"
[ "$(cat "$S/bus/scsi/devices/0:0:0:3/delete")" = 1 ] || fail "SCSIDevice Remove did not write delete"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m9\",\"Lun\":5,\"BlockDev\":true}")"
[ ! -L "$R/mounts/scsi/m9" ] || fail "BlockDev link left"
ok "$(modify Remove VPMemDevice "{\"MountPath\":\"$R/layers/p0\"}")"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m1\",\"Lun\":2,\"ReadOnly\":true}")"
ok "$(modify Remove MappedVirtualDisk "{\"MountPath\":\"$R/mounts/scsi/m0\",\"Lun\":1,\"ReadOnly\":true}")"
if [ "$mode" = lib ]; then
  send COUNT; [ "$REPLY_LINE" = 0 ] || fail "registry not empty: $REPLY_LINE"
else
  kill -0 "$GCS_PID" || fail "gcs died"
fi
left=$(findmnt -rn -o TARGET | grep -E "^$R(/|$)" || true)
[ -z "$left" ] || fail "mounts left: $left"
for p in mounts/scsi/m0 mounts/scsi/m1 gcs/c/c1 gcs/c/c2/rootfs gcs/c/c3/rootfs gcs/c/c4/rootfs layers/p0; do
  [ ! -e "$R/$p" ] || fail "$R/$p left behind"
done
ok_done=1
echo "PASS ($mode)"
