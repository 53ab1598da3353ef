# mount/: storage mechanisms of the GCS (SCSI, VPMem, device-mapper, overlay, unmount, paths).
MOUNT_SRCS := mount/paths.c mount/fs.c mount/exec.c mount/unmount.c mount/scsi.c \
	mount/devmapper.c mount/pmem.c mount/overlay.c
$(eval $(call add_lib,mount,$(MOUNT_SRCS)))

STORAGE_LIBS := gcs_storage mount gcs_protocol common

# Unit: option strings, DM math/ioctls, paths, fake sysfs trees, gcs/storage.c bookkeeping.
$(eval $(call add_unit_test,test_mount,tests/unit/test_mount.c,mount common))
$(eval $(call add_unit_test,test_mount_scsi,tests/unit/test_mount_scsi.c,mount common,-lpthread))
$(eval $(call add_unit_test,test_mount_storage,tests/unit/test_mount_storage.c,$(STORAGE_LIBS),$(LIBS_JSON) -lpthread))

# Integration: gcs/storage.c on loop devices and a fake sysfs, directly (storage_drive) and
# through `gcs -bridge unix:` (storage_host).
$(eval $(call add_test_prog,storage_drive,tests/integration/storage_drive.c,$(STORAGE_LIBS),$(LIBS_JSON) -lpthread))
$(eval $(call add_test_prog,storage_host,tests/integration/storage_host.c,host_bridge gcs_protocol vsock common,$(LIBS_JSON)))
CHECK_SCRIPTS += tests/integration/storage_lib.sh tests/integration/storage_bridge.sh

# UVM tier: storage against the guest's real devices and device-mapper (static guest program).
$(eval $(call add_test_prog,storage-selftest,tests/uvm/storage_selftest.c,$(STORAGE_LIBS),$(STATIC) $(LIBS_JSON) -lpthread))
CHECK_SCRIPTS += tests/uvm/storage_uvm.sh

# Bench: overlay stacks from ModifySettings vs bare mount(2) (make bench).
$(eval $(call add_test_prog,storage_bench,tests/bench/storage_bench.c,$(STORAGE_LIBS),$(LIBS_JSON) -lpthread))
BENCH_SCRIPTS += tests/bench/storage_bench.sh

# plan9: 9p trans=fd mounts for MappedDirectory (mount/plan9.c; separate library so the
# storage block above stays as it is). Link order: mount_plan9 mount common.
$(eval $(call add_lib,mount_plan9,mount/plan9.c))
