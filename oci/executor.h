/* The embedded OCI executor: what gcs calls in process, and what ocirun wraps.
 *
 * Life cycle:
 *   oci_container_create()  clone the container init into its namespaces, build its rootfs
 *                           and mounts, apply cgroups; it then waits, before exec, for start.
 *   oci_container_start()   release it: the init execs process.args. Returns once the exec
 *                           happened (or with the exec's error).
 *   oci_container_signal()  kill(2) through a pidfd (no pid reuse race).
 *   oci_container_exited()  the CALLER reaps: its SIGCHLD/pidfd reaper calls this with the
 *                           wait status of oci_container_pid(). The library never waits for
 *                           a running init. Its own short-lived children (hook processes, the
 *                           helper that forks the init when a pid or time namespace must be
 *                           entered after clone) are cloned with exit signal 0, so a caller's
 *                           waitpid(-1) without __WALL never sees them. The init can then be
 *                           re-parented to the caller, which must be a child subreaper
 *                           (PR_SET_CHILD_SUBREAPER). After a failed create the library kills
 *                           and reaps the half-made init itself (it was never announced).
 *   oci_container_destroy() SIGKILL if still running, remove the cgroup, run poststop hooks,
 *                           free.
 *
 * Hooks: prestart and createRuntime run during create (in the caller's namespaces),
 * createContainer and startContainer in the container, poststart at the end of start.
 *
 * Between clone and exec the child runs only syscalls on data prepared before the clone (no
 * malloc, no locks, no json-c); its errors come back over a SEQPACKET socketpair as errno + a
 * bounded message and become the struct lcow_error of create/start.
 *
 * Thread safety: one container object per thread at a time. create() does not change the
 * caller's signal mask, cwd, umask or namespaces. */
#ifndef LCOW_OCI_EXECUTOR_H
#define LCOW_OCI_EXECUTOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

struct oci_cgroup_layout;

enum {
    /* pivot_root is impossible on an initramfs root: MS_MOVE + chroot instead (runc --no-pivot) */
    OCI_CREATE_NO_PIVOT = 1u << 0,
    /* keep the caller's session keyring (runc --no-new-keyring) */
    OCI_CREATE_NO_NEW_KEYRING = 1u << 1,
    /* do not create or join any cgroup (ignore linux.cgroupsPath and linux.resources) */
    OCI_CREATE_NO_CGROUP = 1u << 2,
    /* unknown syscall names in linux.seccomp are an error (default: skipped, as runc) */
    OCI_CREATE_SECCOMP_FAIL_UNKNOWN = 1u << 3,
};

struct oci_create_opts {
    const char *id;
    /* The bundle directory: a relative root.path and relative bind sources are taken from
     * here. Absolute. */
    const char *bundle;
    /* Borrowed; spec->process is required. It must outlive the container object (its
     * poststart and poststop hooks are read from it). */
    const struct oci_spec *spec;
    unsigned flags; /* OCI_CREATE_* */
    /* stdio of the container process when process.terminal is false: fds dup'ed onto 0, 1,
     * 2 in the child; -1 keeps the caller's own. */
    int stdio[3];
    /* process.terminal: a pty is made inside the container's /dev/pts. With console_socket
     * its master is sent there (runc's protocol: SCM_RIGHTS on a connected AF_UNIX stream);
     * otherwise oci_container_pty_master() returns it. */
    const char *console_socket;
    /* fds 3 .. 3+preserve_fds-1 of the caller stay open in the container (runc
     * --preserve-fds); everything else is closed before exec. */
    int preserve_fds;
    /* When set, the init waits for a byte on this FIFO (made by the caller, e.g. ocirun's
     * exec.fifo) instead of oci_container_start(): start then happens from another process. */
    const char *exec_fifo;
    /* Where compiled seccomp programs are cached between containers (crun's idea: a hit
     * skips libseccomp entirely); NULL compiles every time. ocirun: <root>/.cache/seccomp. */
    const char *seccomp_cache_dir;
    /* The cgroup layout (oci_cgroup_layout_detect); NULL makes create detect it. */
    const struct oci_cgroup_layout *cgroup_layout;
};

struct oci_container;

/* Creates the container; on success it is "created" (waiting for start). On failure nothing
 * is left: no process, no cgroup, no mount. */
int oci_container_create(const struct oci_create_opts *opts, struct oci_container **ret,
                         struct lcow_error **err);

/* Lets the init exec (only for containers created without exec_fifo). 0 once the exec
 * succeeded and the poststart hooks ran; the exec's -errno and message otherwise (the init
 * has then exited), or the failing poststart hook's. */
int oci_container_start(struct oci_container *c, struct lcow_error **err);

/* Runs the spec's hooks of `kind` (poststart, poststop) with the container state; used by
 * start/destroy, and by callers that start through the exec fifo. */
int oci_container_run_hooks(struct oci_container *c, enum oci_hook_kind kind, const char *status,
                            struct lcow_error **err);

/* The init's pid in the caller's pid namespace, and a pidfd for it (-1 if pidfds are
 * unavailable; owned by the container object). */
pid_t oci_container_pid(const struct oci_container *c);
int oci_container_pidfd(const struct oci_container *c);
/* The pty master (process.terminal without console_socket), -1 otherwise. Ownership passes
 * to the caller on the first call (later calls return -1). */
int oci_container_take_pty_master(struct oci_container *c);
/* The container's cgroup path as runc reports it, NULL without cgroups. */
const char *oci_container_cgroup_path(const struct oci_container *c);
/* Start time of the init (field 22 of /proc/PID/stat), to detect pid reuse later. */
uint64_t oci_container_start_time(const struct oci_container *c);

/* Signals the init (or, with `all`, every process of its cgroup). -ESRCH once it exited. */
int oci_container_signal(struct oci_container *c, int sig, bool all, struct lcow_error **err);

enum oci_container_status {
    OCI_CONTAINER_CREATED, /* waiting for start */
    OCI_CONTAINER_RUNNING, /* started, not yet reported exited */
    OCI_CONTAINER_STOPPED, /* oci_container_exited() was called */
};
/* The status as far as this object knows (the caller's reaper is the source of exits). */
enum oci_container_status oci_container_status(const struct oci_container *c);
const char *oci_container_status_name(enum oci_container_status st); /* runc's words */

/* The caller's reaper reports the init's wait status. */
void oci_container_exited(struct oci_container *c, int wait_status);
/* True once exited() was called; *ret_status gets the status. */
bool oci_container_has_exited(const struct oci_container *c, int *ret_status);

/* Kills what is left (SIGKILL to the cgroup or the init), removes the cgroup and frees c.
 * The caller still reaps the init. NULL-safe. */
int oci_container_destroy(struct oci_container *c, struct lcow_error **err);

/* Releases c without touching the container (ocirun create: the init lives on). */
void oci_container_release(struct oci_container *c);

/* 128+signal or the exit code, as shells and runc report a wait status. */
int oci_wait_status_to_exit_code(int wait_status);

/* Reads the start time (field 22) and state letter of /proc/PID/stat. 0 or -errno. */
int oci_proc_stat(pid_t pid, uint64_t *ret_start_time, char *ret_state);

#endif
