# initrd/: /init (PID 1 of the UVM) and the builder of build/vmlinux + build/initrd.img.
INIT_LIB_SRCS := initrd/init_args.c initrd/init_modules.c initrd/init_mounts.c \
	initrd/init_system.c
$(eval $(call add_lib,initcore,$(INIT_LIB_SRCS)))
$(eval $(call add_prog,init,initrd/init.c,initcore vsock common,$(STATIC)))

# initrd-modlist: orders the initrd's modules by modules.dep (a build tool, not in the initrd).
$(eval $(call add_lib,modlist,initrd/modlist.c))
$(eval $(call add_prog,initrd-modlist,initrd/modlist_main.c,modlist common))

$(eval $(call add_unit_test,test_init_args,tests/unit/test_init_args.c,initcore vsock common))
$(eval $(call add_unit_test,test_init_modlist,tests/unit/test_init_modlist.c,modlist common))

# boot-selftest: the guest-side stand-in host of the UVM boot test, also the unix: host of the
# init/vsockexec integration tests. Static: it runs inside the initrd.
$(eval $(call add_test_prog,boot-selftest,tests/uvm/boot_selftest.c,vsock common,$(STATIC) $(LIBS_JSON)))
CHECK_SCRIPTS += tests/integration/init_reap.sh tests/integration/initrd_build.sh

# make initrd: build/vmlinux + build/initrd.img from the current Debian kernel package
# (KERNEL_DEB=path.deb to use a given one). /init and vsockexec must be static and must not
# carry a sanitizer (ASan needs /proc before PID 1 has mounted it), so sanitizer builds take
# them from a plain sub-build.
INITRD_EARLY_MODULES := virtio_pci virtio_mmio vsock vmw_vsock_virtio_transport vsock_loopback
INITRD_LATE_MODULES := virtio_scsi sd_mod crc32c_intel crc32c_generic ext4 virtio_pmem nd_pmem \
	overlay virtio_net 9pnet_virtio 9pnet_fd 9p dm_mod xfs
INITRD_COMPRESS ?= zstd
KERNEL_DEB ?=
ifeq ($(SANITIZER),)
INITRD_BIN := $(BUILD)/bin
else
INITRD_BIN := $(BUILD)/initrd-tree/bin
endif
INITRD_GCS := $(if $(filter $(BUILD)/bin/gcs,$(PROGRAMS)),$(INITRD_BIN)/gcs)
INITRD_INPUTS := $(INITRD_BIN)/init $(INITRD_BIN)/vsockexec $(INITRD_BIN)/initrd-modlist $(INITRD_GCS)
ifneq ($(SANITIZER),)
# One sub-make for all of them (parallel sub-makes would race on the same libraries); make
# re-reads their mtimes afterwards, so an up-to-date sub-build does not rebuild the image.
$(INITRD_INPUTS) &: FORCE
	$(MAKE) --no-print-directory BUILD=$(BUILD)/initrd-tree SANITIZER= $(INITRD_INPUTS)
endif

$(BUILD)/initrd.img $(BUILD)/vmlinux &: initrd/mkinitrd.sh initrd/udhcpc_config.script initrd/build.mk $(INITRD_INPUTS) $(KERNEL_DEB)
	@echo '  INITRD  $(BUILD)/initrd.img $(BUILD)/vmlinux'
	$(Q)initrd/mkinitrd.sh --build $(BUILD) --init $(INITRD_BIN)/init \
		--vsockexec $(INITRD_BIN)/vsockexec --modlist $(INITRD_BIN)/initrd-modlist \
		$(if $(INITRD_GCS),--gcs $(INITRD_GCS)) $(if $(KERNEL_DEB),--kernel-deb $(KERNEL_DEB)) \
		--early "$(INITRD_EARLY_MODULES)" --late "$(INITRD_LATE_MODULES)" \
		--compress $(INITRD_COMPRESS)

initrd: $(BUILD)/initrd.img $(BUILD)/vmlinux
CHECK_DEPS += $(BUILD)/initrd.img $(BUILD)/vmlinux
BENCH_DEPS += $(BUILD)/initrd.img $(BUILD)/vmlinux
.PHONY: initrd
CHECK_SCRIPTS += tests/uvm/boot_selftest.sh tests/uvm/boot_host.sh
BENCH_SCRIPTS += tests/bench/boot_timeline.sh
