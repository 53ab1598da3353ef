/* Containers (gcs-protocol.md §4.1-4.11, §5.7-5.8): the container table and its status machine,
 * Create (sandbox / workload / standalone), the init and exec processes with their stdio relays,
 * waits, signals, resize, properties, shutdown, delete and ContainerConstraints. Containers run
 * through the embedded executor (oci/executor.h) inside gcs, never through a runc binary.
 *
 * Threads: Create, Execute, Delete, GetProperties and the constraints update run on workers;
 * Wait, Signal, Resize and Shutdown are quick and run on the loop thread. Exits arrive from the
 * reaper on the loop thread; relays run on their own threads; one helper thread owns wait
 * deadlines and the slow part of an init's exit (killing what is left in its cgroup). All
 * state is under one lock private to gcs/container*.c.
 *
 * Internal to gcs: dispatch.c and process.c call these hooks for any container id that is not
 * the UVM's. */
#ifndef LCOW_GCS_CONTAINER_H
#define LCOW_GCS_CONTAINER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "gcs/protocol.h"

struct gcs;
struct gcs_req;
struct gcs_modify_request;

/* Worker: Create (takes nothing; replies). q is the decoded request. */
void gcs_container_create(struct gcs *g, struct gcs_req *r, struct gcs_create_request *q);
/* Worker: ExecuteProcess for a container (init start or exec); replies, r stays the caller's. */
void gcs_container_execute(struct gcs *g, struct gcs_req *r, struct gcs_execute_process_request *q);
/* Loop thread: WaitForProcess; takes r (answers now, later, or at the deadline). */
void gcs_container_wait(struct gcs *g, struct gcs_req *r,
                        const struct gcs_wait_for_process_request *q);
/* Loop thread: SignalProcess (sig already mapped: 0 -> SIGKILL). */
int gcs_container_signal(struct gcs *g, const char *cid, uint32_t pid, int sig,
                         struct lcow_error **err);
/* Loop thread: ResizeConsole. */
int gcs_container_resize(struct gcs *g, const char *cid, uint32_t pid, uint16_t height,
                         uint16_t width, struct lcow_error **err);
/* Loop thread: ShutdownGraceful (SIGTERM) / ShutdownForced (SIGKILL) to the init only. */
int gcs_container_shutdown(struct gcs *g, const char *cid, bool forced, struct lcow_error **err);
/* Worker jobs (gcs_job_fn): DeleteContainerState and GetProperties decode r themselves. */
void gcs_container_delete_job(struct gcs *g, struct gcs_req *r);
void gcs_container_properties_job(struct gcs *g, struct gcs_req *r);
/* Worker: ModifySettings on a container id: lookup first, then ContainerConstraints only
 * (another ResourceType: -ENOTSUP). The UVM id is no container: not found. */
int gcs_container_update(struct gcs *g, const char *cid, const struct gcs_modify_request *req,
                         struct lcow_error **err);
/* Loop thread, on a reconnect: waiters of connections up to gen can no longer be answered. */
void gcs_container_forget_waiters(struct gcs *g, uint64_t gen);
/* DumpStacks text (containers, processes, waiters). */
size_t gcs_container_describe(char *buf, size_t cap);

/* startup.c (§5.9): child subreaper, core pattern, cgroups /pods and /gcs under -cgroup-root,
 * the memory-threshold warning, time sync (skipped quietly without a Hyper-V PTP clock), and
 * /var/run/gcsrunc. Errors are logged; only a missing v1 memory.use_hierarchy is fatal. */
int gcs_startup(struct gcs *g, struct lcow_error **err);
/* The PodCgroupMemoryLimit row of gcs/modify.c: Update recomputes the /pods limit (memory
 * hot-add); any other RequestType is -ENOTSUP (E_FAIL). */
int gcs_pod_memory_limit_modify(struct gcs *g, const struct gcs_modify_request *req,
                                struct lcow_error **err);
/* The -cgroup-root relative cgroup directory for a container path ("/pods/<sb>/<cid>"). */
char *gcs_cgroup_join(struct gcs *g, const char *path);

#endif
