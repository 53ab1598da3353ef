/* runlcow: the runc/runhcs-shaped CLI of the Linux LCOW host (design.md §2). Each container
 * runs in its own UVM, kept by a host supervisor process (one per container) that owns QEMU,
 * the vsock back end and the bridge, relays the container's stdio to the stdio runlcow was
 * given (runc's pass-through mode) and exits with the container's exit code. The CLI verbs
 * talk to the supervisor over a control socket in the container's state directory. */
#ifndef LCOW_HOST_RUNLCOW_H
#define LCOW_HOST_RUNLCOW_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/error.h"
#include "host/uvm.h"

/* Global flags. */
struct rl_globals {
    const char *root;
    const char *log;
    bool log_json;
    bool debug;
    const char *kernel, *initrd, *qemu, *backend;
    unsigned memory_mb, cpus;
    const char *accel, *vsock, *kernel_args;
    int boot_timeout_ms;
    uint64_t scratch_bytes;
    const char *timeline; /* --timeline FILE: boot/run milestones as JSON (benchmarks) */
};

/* One verb: name, handler (argv[0] is the verb). Returns the process exit status. */
struct rl_command {
    const char *name;
    int (*run)(struct rl_globals *g, int argc, char **argv);
    const char *usage;
};

/* Verbs (runlcow_create.c, runlcow_ops.c). */
int rl_cmd_create(struct rl_globals *g, int argc, char **argv);
int rl_cmd_run(struct rl_globals *g, int argc, char **argv);
int rl_cmd_start(struct rl_globals *g, int argc, char **argv);
int rl_cmd_state(struct rl_globals *g, int argc, char **argv);
int rl_cmd_list(struct rl_globals *g, int argc, char **argv);
int rl_cmd_kill(struct rl_globals *g, int argc, char **argv);
int rl_cmd_delete(struct rl_globals *g, int argc, char **argv);
int rl_cmd_exec(struct rl_globals *g, int argc, char **argv);

/* Prints "runlcow: <message>" on stderr (and the log); returns 1. */
int rl_fail(struct lcow_error *err);
int rl_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Whether log records go to stderr (no --log): then errors are printed once, not logged. */
bool rl_log_is_stderr(void);

/* ---- state (state.c) ------------------------------------------------------------------- */

enum rl_status { RL_CREATING, RL_CREATED, RL_RUNNING, RL_STOPPED, RL_PAUSED };
const char *rl_status_name(enum rl_status s);

/* The persisted state: <root>/<id>/state.json. */
struct rl_state {
    char *id;
    char *bundle;
    char *rootfs;
    char *created; /* RFC 3339 with nanoseconds, UTC */
    pid_t pid;     /* supervisor */
    enum rl_status status;
    int exit_code; /* -1 unknown */
    pid_t qemu_pid, backend_pid;
    struct json_object *annotations; /* owned, may be NULL */
    char *host;      /* a container in another's UVM: that UVM's owner (runlcow_pod.c), or NULL */
    unsigned hosted; /* a UVM owner: how many other containers its UVM holds */
};
void rl_state_done(struct rl_state *s);

/* Container ids: [A-Za-z0-9_+.-], 1..64 chars, not starting with '.'. */
int rl_check_id(const char *id, struct lcow_error **err);
/* <root>/<id> (heap). */
char *rl_dir(const struct rl_globals *g, const char *id);
/* Creates <root>/<id> exclusively: -EEXIST is "container ID already exists". */
int rl_dir_create(const struct rl_globals *g, const char *id, struct lcow_error **err);
/* Removes <root>/<id> and everything in it. */
int rl_dir_remove(const struct rl_globals *g, const char *id, struct lcow_error **err);
int rl_state_write(const struct rl_globals *g, const struct rl_state *s, struct lcow_error **err);
/* Reads state.json; status corrected to stopped when the supervisor is gone. -ENOENT is
 * "container ID does not exist". */
int rl_state_read(const struct rl_globals *g, const char *id, struct rl_state *ret,
                  struct lcow_error **err);
/* runc's `state` document. */
struct json_object *rl_state_json(const struct rl_state *s);
/* Atomic pid file (decimal, no newline), as runc and runhcs write it. */
int rl_write_pid_file(const char *path, pid_t pid, struct lcow_error **err);

/* ---- control socket (ctl.c) ------------------------------------------------------------- */

/* <dir>/c.sock, SOCK_SEQPACKET: one JSON object per message, fds by SCM_RIGHTS. */
int rl_ctl_listen(const char *dir, struct lcow_error **err);
int rl_ctl_dial(const char *dir, struct lcow_error **err);
int rl_ctl_send(int fd, struct json_object *msg, const int *fds, size_t n_fds,
                struct lcow_error **err);
/* Receives one message (timeout_ms < 0: forever); fds received go to fds[0..*n_fds). EOF is
 * -ECONNRESET. */
int rl_ctl_recv(int fd, int timeout_ms, struct json_object **ret, int *fds, size_t *n_fds,
                struct lcow_error **err);
/* Accepts one connection on listen_fd and receives its request (5 s): the connection (the
 * caller answers on it and closes it), or -1 when nothing usable came (that connection closed). */
int rl_ctl_accept_request(int listen_fd, struct json_object **ret, int *fds, size_t *n_fds);
/* Sends req, receives one reply; an {"error": "..."} reply is -EIO with that text. */
int rl_ctl_call(const char *dir, struct json_object *req, const int *fds, size_t n_fds,
                int timeout_ms, int *ret_fd, struct json_object **ret, struct lcow_error **err);

/* ---- the guest's spec (spec.c) -------------------------------------------------------- */

/* The Create spec for the guest (lcow-host.md §3.1 step 6); *ret is a new object. */
int rl_guest_spec(struct json_object *spec, const char *root_path, struct json_object **ret,
                  struct lcow_error **err);

/* ---- supervisor (runlcow_super.c) ------------------------------------------------------- */

struct rl_super_args {
    const char *id;
    const char *bundle;       /* absolute */
    struct json_object *spec; /* the bundle's config.json (borrowed) */
    bool start;               /* run: start at once */
    int ready_fd;             /* -1, or where "OK"/an error is written after create */
    bool foreground;          /* `run` without -d: remove the state when done */
    const char *pid_file;
    const char *host; /* place the container into the UVM owned by this container's supervisor */
};
/* Runs the container's supervisor in this process (for a container placed into another's
 * UVM, its member process: rl_member_main); returns the exit status to exit with. */
int rl_super_main(struct rl_globals *g, const struct rl_super_args *a);

/* ---- pods (runlcow_pod.c) --------------------------------------------------------------- */

/* Where a new container goes: `--host ID` (runhcs's flag; NULL if not given) and the CRI
 * annotations of spec (container-type `container` + sandbox-id) name a container whose UVM it
 * joins: *ret_owner = that UVM's owner (heap), checked to exist and run. NULL when the
 * container boots its own UVM (a sandbox, a standalone container). */
int rl_pod_place(struct rl_globals *g, struct json_object *spec, const char *host, char **ret_owner,
                 struct lcow_error **err);
/* The member process of a container in another's UVM: asks the owner to create it (its stdio
 * handed over), relays its control socket to the owner, forwards signals, exits with the
 * container's exit code. */
int rl_member_main(struct rl_globals *g, const struct rl_super_args *a);

#endif
