/* A small pool of threads for handlers that may block (stdio dials, fork/exec, mounts, device
 * waits, container create). Threads are started on demand up to the -workers bound and then
 * stay, parked on a condition variable: an idle gcs has none, which keeps its RSS small. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gcs/bridge.h"

/* Handlers are shallow (no recursion); 256 KiB leaves room for json-c and libc. */
#define WORKER_STACK_SIZE (256u * 1024)

struct job {
    struct job *next;
    gcs_job_fn fn;
    struct gcs_req *req;
};

struct gcs_workers {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct job *head, *tail;
    unsigned max, threads, idle, queued;
    bool stop;
    pthread_t *tids;
};

static void *worker_main(void *arg)
{
    struct gcs *g = arg;
    struct gcs_workers *w = g->workers;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->head && !w->stop) {
            w->idle++;
            pthread_cond_wait(&w->cond, &w->lock);
            w->idle--;
        }
        if (!w->head)
            break;
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
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int gcs_workers_init(struct gcs *g, unsigned max, struct lcow_error **err)
{
    struct gcs_workers *w = calloc(1, sizeof(*w));
    if (!w)
        return lcow_error_make(err, ENOMEM, "allocate the worker pool");
    w->tids = calloc(max ? max : 1, sizeof(*w->tids));
    if (!w->tids) {
        free(w);
        return lcow_error_make(err, ENOMEM, "allocate the worker pool");
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->cond, NULL);
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
    int r = pthread_create(&w->tids[w->threads], &attr, worker_main, g);
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
    if (w->tail)
        w->tail->next = j;
    else
        w->head = j;
    w->tail = j;
    w->queued++;
    maybe_start_thread(g, w);
    if (w->threads == 0) {
        /* Not even one thread: undo, so the caller answers with an error. */
        w->head = w->tail = NULL;
        w->queued = 0;
        pthread_mutex_unlock(&w->lock);
        free(j);
        return -EAGAIN;
    }
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
    pthread_mutex_unlock(&w->lock);
    for (unsigned i = 0; i < w->threads; i++)
        pthread_join(w->tids[i], NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->cond);
    free(w->tids);
    free(w);
    g->workers = NULL;
}
