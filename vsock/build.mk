# vsock/: the address grammar and dial/listen (transport.c); vsockexec and the vhost-user-vsock
# backend add themselves below.
VSOCK_SRCS := vsock/transport.c
$(eval $(call add_lib,vsock,$(VSOCK_SRCS)))

$(eval $(call add_unit_test,test_transport,tests/unit/test_transport.c,vsock common))

# vsockexec (boot): static, like /init (style.md C12).
$(eval $(call add_prog,vsockexec,vsock/vsockexec.c vsock/vsockexec_args.c,vsock common,$(STATIC)))
$(eval $(call add_unit_test,test_vsockexec_args,tests/unit/test_vsockexec_args.c vsock/vsockexec_args.c,vsock common))
CHECK_SCRIPTS += tests/integration/vsockexec_unix.sh

# vhost-user-vsock (vhost): the back end's library (rings, device, vhost-user), its program,
# unit tests, the QEMU tier, the fuzz target and the benchmark.
VHOST_SRCS := vsock/vring.c vsock/virtio_vsock.c vsock/virtio_vsock_conn.c vsock/vhost_user.c
$(eval $(call add_lib,vhostvsock,$(VHOST_SRCS)))
$(eval $(call add_prog,vhost-user-vsock,vsock/vhost_user_vsock_main.c,vhostvsock vsock common))
$(eval $(call add_unit_test,test_vring,tests/unit/test_vring.c,vhostvsock vsock common))
$(eval $(call add_unit_test,test_vhost_user,tests/unit/test_vhost_user.c,vhostvsock vsock common))
$(eval $(call add_fuzz,fuzz_vsock_desc,tests/fuzz/fuzz_vsock_desc.c,vhostvsock vsock common))
# QEMU tier. The guest's /init runs in the test initrd, where no sanitizer runtime exists: it
# is always built static and without the sanitizer flags (so `make check SANITIZER=...` boots).
VHOST_GUEST_SRCS := tests/uvm/vhost_guest.c tests/uvm/vhost_guest_bench.c
$(BUILD)/tests/vhost_guest: $(VHOST_GUEST_SRCS) $(wildcard tests/uvm/vhost_*.h)
	@mkdir -p $(@D)
	@$(if $(Q),echo '  LD      $@')
	$(Q)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -I. $(WARNINGS) -static -o $@ $(VHOST_GUEST_SRCS)
CHECK_DEPS += $(BUILD)/tests/vhost_guest $(BUILD)/bin/vhost-user-vsock
BENCH_DEPS += $(BUILD)/tests/vhost_guest
$(eval $(call add_test_prog,vhost_host,tests/uvm/vhost_host.c tests/uvm/vhost_host_bench.c,,-lpthread))
CHECK_SCRIPTS += tests/uvm/vhost_cli.sh tests/uvm/vhost_vsock.sh
BENCH_SCRIPTS += tests/bench/vhost_bench.sh
