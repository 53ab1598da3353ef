/* Helpers of the vhost-user-vsock test /init (vhost_guest.c) used by its benchmark part. */
#ifndef LCOW_TESTS_UVM_VHOST_GUEST_H
#define LCOW_TESTS_UVM_VHOST_GUEST_H

/* The value of KEY=VALUE on the kernel command line, or def. */
const char *vt_arg(const char *key, const char *def);
void vt_result(const char *name, int pass, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
double vt_now(void);
int vt_connect(unsigned cid, unsigned port);
int vt_listen(unsigned port);
/* Runs benchmark mode `mode` (vhost_guest_bench.c). */
void vt_bench(const char *mode);

#endif
