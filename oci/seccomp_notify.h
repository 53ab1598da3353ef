/* seccomp notify, runtime-spec `linux.seccomp.listenerPath`: when a profile uses
 * SCMP_ACT_NOTIFY, the init (or an exec'd process) hands the listener fd of its filter to the
 * runtime, which connects to listenerPath (an AF_UNIX stream socket) and sends the "container
 * process state" JSON with the fd attached (SCM_RIGHTS), as runc does:
 *   {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state": {the state object}}
 * The agent then answers the notifications; the process runs on once this returns. */
#ifndef LCOW_OCI_SECCOMP_NOTIFY_H
#define LCOW_OCI_SECCOMP_NOTIFY_H

#include <sys/types.h>

#include "common/error.h"
#include "oci/spec.h"

/* `state` is the runtime-spec state object as JSON text (oci_hook_state_json); `metadata`
 * is linux.seccomp.listenerMetadata (NULL: omitted). Does not take listener_fd. 0 or -errno
 * with a message naming the path. */
int oci_seccomp_notify_send(const char *listener_path, const char *metadata,
                            const char *oci_version, pid_t pid, const char *state, int listener_fd,
                            struct lcow_error **err);

#endif
