/* Running one more process in an existing container (runc exec, gcs ExecuteProcess): the
 * setns path.
 *
 * The new process joins every namespace of the container's init that differs from the
 * caller's (user first, then pid, net, ipc, uts, mount, cgroup, time: /proc/PID/ns/NAME, opened
 * in the parent), the container's cgroup in every hierarchy (v1: the child writes itself to
 * each `tasks` file before any setns, while it still has the host's view; the v2 part by
 * clone3(CLONE_INTO_CGROUP)), then gets the process's terminal or stdio, rlimits,
 * no_new_privs, the container's seccomp filter, groups, uid/gid, capabilities and cwd, and
 * execs. The child is the executor's own init code (oci/child.c) driven by a plan without a
 * rootfs set-up, so exec and create apply process attributes the same way.
 *
 * Joining a pid namespace only affects children: the child then forks the process and exits,
 * and the process is re-parented to the caller's nearest subreaper. Callers that wait for it
 * (ocirun exec in the foreground, gcs) must be PR_SET_CHILD_SUBREAPER. */
#ifndef LCOW_OCI_EXEC_H
#define LCOW_OCI_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

struct oci_cgroup;

struct oci_exec_opts {
    const char *id; /* for messages */
    /* The container's init: its namespaces are joined. With init_start_time != 0 the pid is
     * checked against it (field 22 of /proc/PID/stat) after a pidfd pinned it. */
    pid_t init_pid;
    uint64_t init_start_time;
    /* Host path of the container's rootfs: the user's HOME comes from its /etc/passwd. */
    const char *rootfs;
    /* The container's config (linux.seccomp applies to exec'd processes too); may be NULL. */
    const struct oci_spec *spec;
    const struct oci_process *process; /* required */
    const struct oci_cgroup *cgroup;   /* the container's, or NULL: stay in the caller's */
    unsigned flags;                    /* OCI_CREATE_SECCOMP_FAIL_UNKNOWN */
    int stdio[3];                      /* dup'ed onto 0..2 unless -1 (keep the caller's) */
    /* process->terminal: the pty master (made in the container's /dev/pts) goes to this
     * socket (runc's protocol), or to *ret_pty_master when NULL. */
    const char *console_socket;
    int preserve_fds;              /* fds 3 .. 3+n-1 stay open */
    const char *seccomp_cache_dir; /* see oci_create_opts */
    /* For the state sent to linux.seccomp.listenerPath (a SCMP_ACT_NOTIFY profile). */
    const char *bundle;
};

/* Starts the process and returns once it exec'd: 0 with *ret_pid (in the caller's pid
 * namespace) and, for a terminal without console_socket, *ret_pty_master (else -1); or
 * -errno with a message (bad process, a namespace that cannot be joined, an executable that
 * is not there, ...) and nothing left running. */
int oci_exec(const struct oci_exec_opts *opts, pid_t *ret_pid, int *ret_pty_master,
             struct lcow_error **err);

#endif
