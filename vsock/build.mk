# vsock/: the address grammar and dial/listen (transport.c); vsockexec and the vhost-user-vsock
# backend add themselves below.
VSOCK_SRCS := vsock/transport.c
$(eval $(call add_lib,vsock,$(VSOCK_SRCS)))

$(eval $(call add_unit_test,test_transport,tests/unit/test_transport.c,vsock common))
