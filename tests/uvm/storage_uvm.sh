#!/usr/bin/env bash
# Storage inside a real UVM (QEMU TCG, -M pc, build/vmlinux + build/initrd.img): virtio-scsi
# disks cold-plugged at scsi-id 0 / LUN 1 (an ext4 layer), LUN 2 (a blank scratch) and LUN 3
# (an MBR-partitioned disk, layer in partition 1), and a
# virtio-pmem device holding two ext4 layers (offset 0 and 8 MiB). init runs
# /bin/storage-selftest (tests/uvm/storage_selftest.c) as its child: controller 0 → the
# virtio-scsi host by PCI order, read-only mounts, EnsureFilesystem with the initrd's mkfs.ext4,
# dm-linear windows through the kernel's real device-mapper (this build machine has none),
# overlay, removal in reverse, SCSIDevice Remove through the real sysfs `delete`. One boot;
# QEMU is killed on every exit path.
set -euo pipefail
. "${LCOW_TOP:-$(pwd)}/tests/uvm/boot_lib.sh"
uvm_init
uvm_require "$build/vmlinux" "$build/initrd.img" "$build/tests/storage-selftest"
for t in mkfs.ext4 cpio gzip; do command -v $t >/dev/null || { echo "FAIL: missing $t"; exit 1; }; done

log="$build/test-logs/storage_uvm.console"
mkdir -p "$(dirname "$log")"

mkdir -p "$d/l1" "$d/l2"
echo l1 > "$d/l1/shared"; echo a > "$d/l1/a"
echo l2 > "$d/l2/shared"
mkfs.ext4 -q -d "$d/l1" "$d/l1.img" 8M
mkfs.ext4 -q -d "$d/l2" "$d/l2.img" 8M
cat "$d/l2.img" "$d/l1.img" > "$d/pmem.img"   # two layers packed in one device (multi-mapping)
truncate -s 32M "$d/scratch.img"
# a partitioned disk: MBR entry 1 = type 0x83 at LBA 2048, 30720 sectors, holding layer l2
truncate -s 16M "$d/parted.img"
printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
  dd of="$d/parted.img" bs=1 seek=446 conv=notrunc status=none
printf '\x55\xaa' | dd of="$d/parted.img" bs=1 seek=510 conv=notrunc status=none
dd if="$d/l2.img" of="$d/parted.img" bs=1M seek=1 conv=notrunc status=none

# The test initrd: an archive with the guest program (and its libraries in a sanitizer build)
# first, then the real initrd (the kernel unpacks concatenated archives in order).
uvm_initrd_with "$d" "$build/tests/storage-selftest"

start=$(date +%s.%N)
"$qemu" -accel tcg -M pc -m 512,slots=2,maxmem=1G -display none -nodefaults -no-reboot \
  -serial "file:$log" -kernel "$build/vmlinux" -initrd "$d/initrd.img" \
  -append "console=ttyS0 quiet panic=-1 no_timer_check -- /bin/storage-selftest" \
  -device virtio-scsi-pci,id=scsi0 \
  -drive if=none,id=d1,file="$d/l1.img",format=raw,readonly=on \
  -device scsi-hd,drive=d1,bus=scsi0.0,channel=0,scsi-id=0,lun=1 \
  -drive if=none,id=d2,file="$d/scratch.img",format=raw \
  -device scsi-hd,drive=d2,bus=scsi0.0,channel=0,scsi-id=0,lun=2 \
  -drive if=none,id=d3,file="$d/parted.img",format=raw,readonly=on \
  -device scsi-hd,drive=d3,bus=scsi0.0,channel=0,scsi-id=0,lun=3 \
  -object memory-backend-file,id=pm0,share=off,mem-path="$d/pmem.img",size=16M,readonly=on \
  -device virtio-pmem-pci,memdev=pm0,id=nv0 &
qpid=$!
UVM_PIDS+=($qpid)
if ! uvm_wait_exit 180; then
  cat "$log"; echo "FAIL: the VM did not power off within 180 s"; exit 1
fi
rc=0; wait "$qpid" || rc=$?
cat "$log"
echo "qemu exit status $rc after $(echo "$(date +%s.%N) - $start" | bc) s"
grep -q 'STORAGE-UVM PASS' "$log" || { echo "FAIL: no PASS marker"; exit 1; }
[ "$(blkid -o value -s TYPE "$d/scratch.img" || true)" = ext4 ] || { echo "FAIL: scratch not formatted"; exit 1; }
echo PASS
