/* The utility VM for runlcow: QEMU (-M pc, TCG or KVM) booting our vmlinux + initrd with
 * hcsshim's kernel command line minus the Hyper-V tokens (lcow-host.md §1.2, §1.5), guest
 * memory shared (memfd) so a vhost-user back end can map it, virtio-vsock through the kernel's
 * /dev/vhost-vsock when it opens or else our vhost-user-vsock (started and stopped here), a
 * virtio-scsi controller for hot-plug over QMP, the serial console kept as a log.
 *
 * Start order follows hcsshim (§1.4): listeners for entropy (port 1), the GCS log (109) and
 * the bridge (0x40000000) exist before QEMU starts; then QEMU; then a bounded wait for the
 * GCS to connect and negotiate. Everything lives in one directory (sockets, console.log,
 * gcs.log, qemu.log, vhost.log). Library code: no logging above debug, never exits. */
#ifndef LCOW_HOST_UVM_H
#define LCOW_HOST_UVM_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"

struct host_bridge;
struct host_qmp;

struct host_uvm_config {
    const char *dir;    /* existing directory for sockets and logs (short: socket paths) */
    const char *qemu;   /* QEMU binary (path or name in PATH) */
    const char *kernel; /* uncompressed vmlinux (PVH) */
    const char *initrd;
    const char *backend;       /* vhost-user-vsock binary */
    unsigned memory_mb;        /* even, >= 128 */
    unsigned cpus;             /* 0: hcsshim's 2 with KVM, 1 under TCG (host_uvm_cpus) */
    const char *accel;         /* "auto" (KVM when usable), "kvm", "tcg" */
    const char *vsock;         /* "auto" (/dev/vhost-vsock when it opens), "vhost", "user" */
    const char *kernel_args;   /* extra tokens before "--", or NULL */
    const char *gcs_log_level; /* "info" when NULL */
    int timeout_ms;            /* QEMU start -> negotiated, not counting the time QEMU was
                                * kept from a CPU (at most 3x in all; uvm.c) */
    /* More QEMU arguments (devices: runlcow2's -netdev/-device), NULL-terminated, or NULL. */
    const char *const *extra_args;
    /* Read-only images cold-plugged as virtio-pmem-pci devices, in order, so the N-th is
     * /dev/pmemN in the guest (design.md §5): VPMemDevice DeviceNumber N. Each file's size
     * must be a non-zero multiple of 2 MiB (QEMU maps it whole, read-only). NULL: none. */
    const char *const *pmem;
};

#define HOST_UVM_PMEM_ALIGN (2u << 20)
#define HOST_UVM_PMEM_MAX   16

/* Milestones, lcow_now_ns() values (0: not seen). console/init are seen only when the
 * kernel prints (not `quiet`, or a loglevel= in kernel_args). */
struct host_uvm_times {
    uint64_t start;      /* QEMU spawned */
    uint64_t console;    /* first console byte (the kernel runs) */
    uint64_t init;       /* "Run /init" on the console */
    uint64_t entropy;    /* init took its entropy (port 1) */
    uint64_t log;        /* vsockexec connected the GCS log (port 109) */
    uint64_t bridge;     /* the GCS connected */
    uint64_t negotiated; /* NegotiateProtocol answered */
};

struct host_uvm {
    char *dir;
    char *vsock_base; /* transport address of the host side, "unix:DIR/v" or "vsock:2" */
    bool kernel_vsock;
    pid_t qemu_pid, backend_pid;
    int qemu_pidfd;
    int console_fd, console_out; /* QEMU's serial (pipe) -> console.log */
    int entropy_listen, log_listen, log_fd, log_out;
    struct host_bridge *bridge;
    struct host_qmp *qmp;
    bool qemu_exited;
    int qemu_status;
    struct host_uvm_times t;
    char line[256]; /* console line being assembled (for "Run /init") */
    size_t line_len;
};

/* Boots the UVM and returns once the GCS has negotiated. On failure nothing is left running
 * and the error names the cause (missing files, QEMU's own message, a GCS that never
 * connected within the timeout). */
int host_uvm_start(const struct host_uvm_config *c, struct host_uvm **ret, struct lcow_error **err);

/* The fds to poll while the UVM runs (console, log, QEMU's pidfd); returns how many of
 * cap were filled. host_uvm_service handles the ready ones; afterwards u->qemu_exited tells
 * whether QEMU is gone (reaped, status in u->qemu_status). */
size_t host_uvm_pollfds(struct host_uvm *u, struct pollfd *pfd, size_t cap);
void host_uvm_service(struct host_uvm *u, const struct pollfd *pfd, size_t n);

/* Stops the UVM: ShutdownForced to the GCS (init then powers off and QEMU exits), QMP quit
 * if it does not within timeout_ms, SIGKILL last; the back end is stopped the same way. The
 * GCS log is drained first. Then every socket is closed and removed. Safe to call twice. */
void host_uvm_stop(struct host_uvm *u, int timeout_ms);
/* host_uvm_stop (if still running) and free. */
void host_uvm_free(struct host_uvm *u);

/* The vCPU count the UVM gets with accelerator `accel` ("kvm" or "tcg"): c->cpus when set. */
unsigned host_uvm_cpus(const struct host_uvm_config *c, const char *accel);

/* Which accelerator "auto" picks here: "kvm" when /dev/kvm can create a VM whose CPUs have
 * the basics a kernel needs (a nested /dev/kvm without them hangs the guest), else "tcg". */
const char *host_uvm_pick_accel(void);

#endif
