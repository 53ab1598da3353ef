/* runlcow, part 2 (issue 11): the verbs runc has and part 1 lacks — ps, pause, resume, update,
 * events, features, spec — as client commands (rl2_cmd_*) plus the supervisor-side handler of
 * their control requests (rl2_ctl_op), which the supervisor calls for any op it does not know. */
#ifndef LCOW_HOST_RUNLCOW2_H
#define LCOW_HOST_RUNLCOW2_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "host/runlcow.h"

struct host_bridge;
struct host_qmp;

/* What a control request may act on: the supervisor's bridge and QMP, its container. */
struct rl2_target {
    struct host_bridge *bridge; /* NULL when the UVM is gone */
    struct host_qmp *qmp;
    const char *id;
    uint32_t init_pid; /* its guest pid */
    bool running;      /* the init runs */
    bool *paused;      /* the supervisor's flag, set by pause/resume */
};

/* ps ({"pids":[...]}), stats ({"stats":{LCOWMetrics}}), update ({"resources":{OCI
 * LinuxResources}} → ContainerConstraints Update), pause / resume (the container's cgroup
 * frozen by a process run in the UVM; sets *paused). 0 with *ret_reply (new object)
 * for one of these ops, -ENOENT (no message) for an op that is not one of them. */
int rl2_ctl_op(const struct rl2_target *t, const char *op, struct json_object *req,
               struct json_object **ret_reply, struct lcow_error **err);

/* Client verbs (the command table in runlcow.c). */
int rl2_cmd_ps(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_pause(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_resume(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_update(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_events(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_features(struct rl_globals *g, int argc, char **argv);
int rl2_cmd_spec(struct rl_globals *g, int argc, char **argv);

/* runc-style metrics ("events --stats" data) from the GCS's LCOWMetrics (cgroup v1 Metrics
 * shape): cpu.usage, memory.usage/cache, pids; a new object. */
struct json_object *rl2_stats_from_metrics(const struct json_object *m);

/* ---- --console-socket (runlcow2_console.c) ------------------------------------------------
 * Opens a host pty, sends its master over SCM_RIGHTS to the Unix socket at path (runc's
 * contract: one message, body "/dev/ptmx"), and returns the slave (CLOEXEC) in *ret_slave, to
 * become the stdio of the process whose output the guest's terminal produces. Nothing is left
 * open on failure. */
int rl2_console_socket_send(const char *path, int *ret_slave, struct lcow_error **err);

/* ---- networking (runlcow2_net.c) ----------------------------------------------------------
 * Bundle annotations: RL2_NET_ANNOTATION "user" gives the container a virtio-net adapter on
 * QEMU user networking with restrict=on (nothing leaves the VM), in the network namespace its
 * spec names (windows.network.networkNamespace); RL2_NET_GUESTFWD_ANNOTATION lists
 * "tcp:GUESTIP:PORT-tcp:HOSTIP:PORT" forwards (separated by ';'), the only way out. The guest
 * gets 10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3 (slirp's plan). */
#define RL2_NET_ANNOTATION          "org.lcow.network"
#define RL2_NET_GUESTFWD_ANNOTATION "org.lcow.network.guestfwd"

struct rl2_net {
    bool enabled;
    char namespace_id[72];
    char *netdev, *device; /* QEMU -netdev / -device values */
};

/* Reads the annotations of spec (config.json): ret->enabled false when networking is not
 * asked for. -EINVAL naming the annotation or field when malformed. */
int rl2_net_from_spec(const struct json_object *spec, struct rl2_net *ret, struct lcow_error **err);
void rl2_net_done(struct rl2_net *n);
/* The QEMU arguments (argv[0..4), NULL-terminated; cap >= 5): their count, 0 when disabled.
 * The strings are borrowed from n. */
size_t rl2_net_qemu_args(const struct rl2_net *n, const char **argv, size_t cap);
/* Network ModifySettings Add (before the container's Create) or Remove, for the UVM id; no-op
 * when disabled. */
int rl2_net_modify(struct host_bridge *b, const struct rl2_net *n, bool add,
                   struct lcow_error **err);

#endif
