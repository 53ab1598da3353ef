/* Helpers of the host-side vhost-user-vsock test peer (vhost_host.c), shared with its
 * benchmark part (vhost_host_bench.c). */
#ifndef LCOW_TESTS_UVM_VHOST_HOST_H
#define LCOW_TESTS_UVM_VHOST_HOST_H

void vh_result(const char *name, int pass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Listens on UDS_PORT (exits on failure). */
int vh_listen(const char *uds, unsigned port);
/* CONNECT to a guest port through the back end, retrying until timeout_s. fd or -1. */
int vh_connect_guest(const char *uds, unsigned port, double timeout_s);
/* `vhost_host bench ARGS...` (vhost_host_bench.c). */
int vh_bench(int argc, char **argv);

#endif
