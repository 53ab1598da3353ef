# vsock/: the address grammar and dial/listen (transport.c); vsockexec and the vhost-user-vsock
# backend add themselves below.
VSOCK_SRCS := vsock/transport.c
$(eval $(call add_lib,vsock,$(VSOCK_SRCS)))

$(eval $(call add_unit_test,test_transport,tests/unit/test_transport.c,vsock common))

# vsockexec (boot): static, like /init (style.md C12).
$(eval $(call add_prog,vsockexec,vsock/vsockexec.c vsock/vsockexec_args.c,vsock common,$(STATIC)))
$(eval $(call add_unit_test,test_vsockexec_args,tests/unit/test_vsockexec_args.c vsock/vsockexec_args.c,vsock common))

# vhost-user-vsock (vhost): the back end's library (rings, device, vhost-user), its program,
# unit tests, the QEMU tier and the fuzz target.
VHOST_SRCS := vsock/vring.c vsock/virtio_vsock.c vsock/virtio_vsock_conn.c vsock/vhost_user.c
$(eval $(call add_lib,vhostvsock,$(VHOST_SRCS)))
$(eval $(call add_prog,vhost-user-vsock,vsock/vhost_user_vsock_main.c,vhostvsock vsock common))
# QEMU tier: the test initrd's /init (static) and the host-side peer
$(eval $(call add_test_prog,vhost_guest,tests/uvm/vhost_guest.c tests/uvm/vhost_guest_bench.c,,$(STATIC)))
$(eval $(call add_test_prog,vhost_host,tests/uvm/vhost_host.c tests/uvm/vhost_host_bench.c,,-lpthread))
CHECK_DEPS += $(BUILD)/bin/vhost-user-vsock
CHECK_SCRIPTS += tests/integration/vsockexec_unix.sh
CHECK_SCRIPTS += tests/uvm/vhost_vsock.sh
$(eval $(call add_unit_test,test_vring,tests/unit/test_vring.c,vhostvsock vsock common))
$(eval $(call add_unit_test,test_vhost_user,tests/unit/test_vhost_user.c,vhostvsock vsock common))
