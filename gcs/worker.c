/* A small pool of threads for handlers that may block (stdio dials, fork/exec, mounts, device
 * waits, container create). Threads start on demand up to the -workers bound and leave after
 * WORKER_IDLE_SEC without work: an idle gcs has none, which keeps its RSS small. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gcs/bridge.h"
#include "gcs/limits.h"

/* Handlers are shallow (no recursion); 256 KiB leaves room for json-c and libc. */
#define WORKER_STACK_SIZE (256u * 1024)
#ifndef WORKER_IDLE_SEC
#define WORKER_IDLE_SEC 30
#endif

struct job {
    struct job *next;
    gcs_job_fn fn;
    struct gcs_req *req;
};

struct gcs_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;      /* work arrived, or stop */
    pthread_cond_t gone_cond; /* a thread left (gcs_workers_done waits for all) */
    struct job *head, *tail;
    unsigned max, threads, idle, queued;
    bool stop;
};

/* Waits for a job; false when this thread should leave (stop, or idle too long). Lock held. */
static bool wait_for_job(struct gcs_workers *w)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += WORKER_IDLE_SEC;
    while (!w->head && !w->stop) {
        w->idle++;
        int r = pthread_cond_timedwait(&w->cond, &w->lock, &until);
        w->idle--;
        if (r == ETIMEDOUT && !w->head)
            return false;
    }
    return w->head != NULL;
}

static void *worker_main(void *arg)
{
    struct gcs *g = arg;
    struct gcs_workers *w = g->workers;
    pthread_mutex_lock(&w->lock);
    while (wait_for_job(w)) {
        struct job *j = w->head;
        w->head = j->next;
        if (!w->head)
            w->tail = NULL;
        w->queued--;
        pthread_mutex_unlock(&w->lock);
        j->fn(g, j->req);
        free(j);
        pthread_mutex_lock(&w->lock);
    }
    w->threads--;
    pthread_cond_broadcast(&w->gone_cond);
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int gcs_workers_init(struct gcs *g, unsigned max, struct lcow_error **err)
{
    struct gcs_workers *w = calloc(1, sizeof(*w));
    if (!w)
        return lcow_error_make(err, ENOMEM, "allocate the worker pool");
    pthread_mutex_init(&w->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cond, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->gone_cond, NULL);
    w->max = max ? max : 1;
    g->workers = w;
    return 0;
}

/* Caller holds the lock. A failed start is fine as long as one thread exists to run the job. */
static void maybe_start_thread(struct gcs *g, struct gcs_workers *w)
{
    if (w->idle >= w->queued || w->threads >= w->max)
        return;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK_SIZE);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int r = pthread_create(&t, &attr, worker_main, g);
    pthread_attr_destroy(&attr);
    if (r == 0)
        w->threads++;
    else
        lcow_debug("pthread_create: %s", strerror(r));
}

int gcs_workers_submit(struct gcs *g, gcs_job_fn fn, struct gcs_req *r)
{
    struct gcs_workers *w = g->workers;
    struct job *j = calloc(1, sizeof(*j));
    if (!j)
        return -ENOMEM;
    j->fn = fn;
    j->req = r;
    pthread_mutex_lock(&w->lock);
    if (w->queued >= w->idle + GCS_LIMIT_QUEUED_REQUESTS) {
        /* Bounded memory under a flood: each queued job holds its whole request frame. */
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -EBUSY;
    }
    w->queued++;
    maybe_start_thread(g, w);
    if (w->threads == 0) {
        /* Not even one thread: the caller answers with an error. */
        w->queued--;
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -EAGAIN;
    }
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->lock);
    return 0;
}

void gcs_workers_stats(struct gcs *g, unsigned *ret_threads, unsigned *ret_busy,
                       unsigned *ret_queued)
{
    struct gcs_workers *w = g->workers;
    pthread_mutex_lock(&w->lock);
    *ret_threads = w->threads;
    *ret_busy = w->threads - w->idle;
    *ret_queued = w->queued;
    pthread_mutex_unlock(&w->lock);
}

void gcs_workers_done(struct gcs *g)
{
    struct gcs_workers *w = g->workers;
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    /* Jobs not started yet are dropped: their replies could not be sent anyway. */
    while (w->head) {
        struct job *j = w->head;
        w->head = j->next;
        gcs_req_free(j->req);
        free(j);
    }
    w->tail = NULL;
    w->queued = 0;
    pthread_cond_broadcast(&w->cond);
    /* Running handlers finish (they are bounded); then nobody uses w any more. */
    while (w->threads > 0)
        pthread_cond_wait(&w->gone_cond, &w->lock);
    pthread_mutex_unlock(&w->lock);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    pthread_cond_destroy(&w->gone_cond);
    free(w);
    g->workers = NULL;
}
