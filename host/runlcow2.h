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

#endif
