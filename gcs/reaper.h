/* The one place gcs reaps children (design.md §6): SIGCHLD is blocked in every thread and read
 * from a signalfd in the event loop, which calls waitpid(-1, WNOHANG) and routes each status
 * through ONE table keyed by pid. Nobody else may call waitpid()/wait4() in gcs: a private
 * waitpid would race with this reaper and one of the two would lose the exit status.
 *
 * A status that arrives before anyone registered for its pid (the child exited between fork
 * and registration) is parked and handed over at registration, so no waiter loses an exit
 * code. Children cloned with exit_signal 0 are no exception once they exec (execve() resets
 * the exit signal to SIGCHLD): every child gcs makes must be waited through this file. The reaper
 * is process-wide (SIGCHLD is), so the functions take no struct gcs. */
#ifndef LCOW_GCS_REAPER_H
#define LCOW_GCS_REAPER_H

#include <signal.h>
#include <sys/types.h>

#include "common/error.h"

/* Called on the event-loop thread with the raw wait status. */
typedef void (*gcs_exit_fn)(pid_t pid, int status, void *data);

/* Blocks SIGCHLD in the calling thread (call before any thread exists, so all inherit it)
 * and creates the signalfd. `wake` is called (from any thread) when a parked status must be
 * delivered by gcs_reaper_dispatch() outside a SIGCHLD. Returns the signalfd for epoll. */
int gcs_reaper_init(void (*wake)(void *), void *wake_data, struct lcow_error **err);
/* On the loop thread, when the signalfd is readable or after wake: reap and deliver. */
void gcs_reaper_dispatch(void);

/* Delivers pid's exit status to fn on the loop thread (once). 0 or -EEXIST. */
int gcs_reaper_watch(pid_t pid, gcs_exit_fn fn, void *data);
/* Blocks the calling (worker) thread until pid exits; *ret_status is the raw wait status.
 * Never call it on the loop thread. 0 or -EEXIST (somebody already waits for pid). */
int gcs_reaper_wait(pid_t pid, int *ret_status);
/* The signal mask gcs had before gcs_reaper_init(); children restore it before exec. */
const sigset_t *gcs_reaper_orig_sigmask(void);

#endif
