/* The bridge (design.md §6, gcs-protocol.md §1.5, §2): one event-loop thread owns the
 * connection (reader + writer queue), the reaper's signalfd, the wait-timeout timer and the
 * worker completion eventfd. Handlers that may block run on a small worker pool and post their
 * responses back; responses go out in completion order through one writer.
 *
 * Internal to gcs: handlers (dispatch.c, process.c, modify.c) include this header. */
#ifndef LCOW_GCS_BRIDGE_H
#define LCOW_GCS_BRIDGE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>

#include "common/error.h"
#include "gcs/kmsg.h"
#include "gcs/options.h"
#include "gcs/protocol.h"
#include "vsock/transport.h"

struct gcs_out;
struct gcs_proc;
struct gcs_workers;

/* One request read from the bridge. Owned by whoever is handling it; freed with
 * gcs_req_free() after the reply was queued. */
struct gcs_req {
    uint64_t gen; /* connection generation: replies to an older connection are dropped */
    uint32_t type;
    uint64_t id;
    char *payload; /* NUL-terminated copy of the JSON body */
    size_t len;
    /* Peeked leniently on first use (gcs_req_activity_id): only error replies and echoes need
     * it, and the handler's strict decode reads the same fields again (§6). */
    bool peeked;
    struct gcs_request_base base;
};

/* After a handler's strict decode: moves the decoded base into r (no second parse). */
void gcs_req_take_base(struct gcs_req *r, struct gcs_request_base *b);
/* The request's ActivityId for the echo ("" when it has none or it cannot be read). */
const char *gcs_req_activity_id(struct gcs_req *r);

struct gcs {
    struct gcs_options opt;
    struct rlimit nofile_orig; /* RLIMIT_NOFILE gcs was started with: its children's (limits.h) */
    struct vsock_addr bridge_addr; /* -bridge */
    struct vsock_addr stdio_addr;  /* where stdio streams are dialled (never a listen: form) */

    pthread_t loop_thread;
    int epfd;
    int wake_fd;          /* eventfd: other threads have queued output or parked exits */
    int reaper_fd;        /* signalfd (SIGCHLD) */
    int timer_fd;         /* earliest WaitForProcess deadline */
    int listen_fd;        /* listen: mode */
    struct gcs_kmsg kmsg; /* -kmsgLogLevel forwarding; kmsg.fd -1 when off */

    /* Connection (loop thread only, except `gen` and `connected`, read under out_lock). */
    int rfd, wfd;
    bool connected;
    bool negotiated;
    uint64_t gen;
    uint64_t next_dial_ns;
    uint8_t *ibuf;
    size_t ilen, icap;

    /* Output: frames for the current connection, and notifications waiting for one. */
    pthread_mutex_t out_lock;
    struct gcs_out *out_head, *out_tail;
    struct gcs_out *pending_head, *pending_tail;
    size_t out_off;   /* bytes of out_head already written */
    size_t out_bytes; /* queued for the current connection */
    bool want_out;    /* EPOLLOUT armed */
    bool out_was_big; /* the queue grew large: give the memory back once it drains */
    bool paused;      /* reading stopped: a host that does not read its responses, or floods
                       * the workers, must not grow gcs's memory without bound */

    bool stopping; /* shutdown requested: flush and leave the loop */

    /* External (UVM) processes; see process.c. */
    pthread_mutex_t proc_lock;
    struct gcs_proc *procs;
    uint64_t armed_deadline_ns; /* what timer_fd is armed for (0: disarmed) */

    struct gcs_workers *workers;

    /* Counters for DumpStacks. */
    uint64_t n_requests, n_connections;
};

/* Sets everything up from parsed options (no connection yet). */
int gcs_init(struct gcs *g, const struct gcs_options *opt, struct lcow_error **err);
/* Serves until a Shutdown of the UVM (returns 0) or, with -use-inouterr, the end of stdin. */
int gcs_run(struct gcs *g);
void gcs_done(struct gcs *g);

/* Queues a response frame for req (thread-safe). Drops it when req belongs to a connection that
 * is gone (§1.5: those responses are lost). Takes ownership of payload. */
void gcs_reply(struct gcs *g, const struct gcs_req *req, char *payload);
/* An error response for req: HRESULT from the error's code (gcs_hresult_from_errno), message
 * from the error; `hr` overrides the mapping when non-zero. */
void gcs_reply_error(struct gcs *g, struct gcs_req *req, int32_t hr, const struct lcow_error *e);
/* A success response that is only the base (Result 0 and the ActivityId echo). */
void gcs_reply_ok(struct gcs *g, struct gcs_req *req);
/* WaitForProcess's success response with the exit code (container and external processes). */
void gcs_reply_exit(struct gcs *g, struct gcs_req *req, uint32_t code);
/* Queues a container notification (thread-safe). Sent now when connected, else kept and
 * flushed as soon as the next connection is up (§1.5). */
int gcs_notify(struct gcs *g, const struct gcs_container_notification *n, struct lcow_error **err);
/* Wakes the loop from another thread. */
void gcs_wake(struct gcs *g);
void gcs_req_free(struct gcs_req *r);

/* dispatch.c: routes one request read on the loop thread (takes ownership of r). */
void gcs_dispatch(struct gcs *g, struct gcs_req *r);
/* dispatch.c: text for DumpStacks (heap). */
char *gcs_dump_stacks(struct gcs *g);

/* worker.c: a bounded pool of threads for handlers that may block. */
typedef void (*gcs_job_fn)(struct gcs *g, struct gcs_req *r);
int gcs_workers_init(struct gcs *g, unsigned max, struct lcow_error **err);
/* Runs fn(g, r) on a worker; fn owns r. -ENOMEM leaves r with the caller. */
int gcs_workers_submit(struct gcs *g, gcs_job_fn fn, struct gcs_req *r);
void gcs_workers_stats(struct gcs *g, unsigned *ret_threads, unsigned *ret_busy,
                       unsigned *ret_queued);
void gcs_workers_done(struct gcs *g);

/* process.c: external processes (§4.4 case 1) and their waits. */
void gcs_proc_execute(struct gcs *g, struct gcs_req *r); /* worker */
void gcs_proc_wait(struct gcs *g, struct gcs_req *r, const struct gcs_wait_for_process_request *w);
/* Expires due waits; re-arms timer_fd (loop thread). */
void gcs_proc_timers(struct gcs *g);
/* Drops the waiters of connection generations older than gen (their replies would be lost,
 * and a lost reply must not consume the exit code). */
void gcs_proc_forget_waiters(struct gcs *g, uint64_t gen);
size_t gcs_proc_describe(struct gcs *g, char *buf, size_t cap);
void gcs_proc_done(struct gcs *g);

#endif
