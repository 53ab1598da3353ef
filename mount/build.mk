# mount/: storage mechanisms of the GCS (SCSI, VPMem, device-mapper, overlay, unmount, paths).
MOUNT_SRCS := mount/paths.c mount/fs.c mount/exec.c mount/unmount.c mount/scsi.c \
	mount/devmapper.c mount/pmem.c mount/overlay.c
$(eval $(call add_lib,mount,$(MOUNT_SRCS)))

$(eval $(call add_unit_test,test_mount,tests/unit/test_mount.c,mount common))
$(eval $(call add_unit_test,test_mount_scsi,tests/unit/test_mount_scsi.c,mount common))
