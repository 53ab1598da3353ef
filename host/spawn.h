/* fork/exec helpers for runlcow (never a shell): start a helper with chosen stdio, or run one
 * to completion capturing its output for error messages. */
#ifndef LCOW_HOST_SPAWN_H
#define LCOW_HOST_SPAWN_H

#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"

/* Starts argv[0] (a path, or a name looked up in PATH) with fds in/out/err as its 0/1/2
 * (-1: /dev/null); every other fd is closed in the child. The child gets SIGKILL when the
 * caller dies (PR_SET_PDEATHSIG) if die_with_parent. Returns the pid, or a negative errno,
 * also when exec fails (reported back over a CLOEXEC pipe). */
pid_t host_spawn(const char *const *argv, int in, int out, int err_fd, int die_with_parent,
                 struct lcow_error **err);
/* Runs argv with stdin /dev/null and stdout+stderr captured (the first 4 KiB kept in
 * *ret_output, may be NULL). Returns the exit status (0..255; 128+sig when killed). */
int host_run(const char *const *argv, char **ret_output, struct lcow_error **err);
/* waitpid with a deadline; SIGKILLs and reaps the child when it expires. Returns the exit
 * status as host_run does. */
int host_wait_timeout(pid_t pid, int timeout_ms);

#endif
