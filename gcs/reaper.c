/* See reaper.h. The table is a short linked list: gcs has few live children at a time, and a
 * list keeps the idle footprint at zero. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/io.h"
#include "gcs/reaper.h"

/* Statuses nobody registered for yet; older ones are dropped (orphans reparented to us). */
#define REAPER_PARKED_MAX 128

struct reaper_entry {
    struct reaper_entry *next;
    pid_t pid;
    gcs_exit_fn fn; /* async delivery, or NULL for a blocking waiter */
    void *data;
    bool done;
    int status;
};

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct reaper_entry *entries;
    struct reaper_entry *ready; /* async entries whose status is known, to deliver */
    struct {
        pid_t pid;
        int status;
        uint64_t seq; /* newer statuses win when a pid was reused */
    } parked[REAPER_PARKED_MAX];
    unsigned parked_next;
    uint64_t parked_seq;
    int sfd;
    sigset_t orig_mask;
    void (*wake)(void *);
    void *wake_data;
} R = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
    .cond = PTHREAD_COND_INITIALIZER,
    .sfd = -1,
};

int gcs_reaper_init(void (*wake)(void *), void *wake_data, struct lcow_error **err)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    if (pthread_sigmask(SIG_BLOCK, &mask, &R.orig_mask) != 0)
        return lcow_error_make(err, EINVAL, "pthread_sigmask");
    int fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return lcow_error_errno(err, "signalfd");
    R.sfd = fd;
    R.wake = wake;
    R.wake_data = wake_data;
    return fd;
}

const sigset_t *gcs_reaper_orig_sigmask(void)
{
    return &R.orig_mask;
}

/* Removes and returns pid's entry; caller holds the lock. */
static struct reaper_entry *take_entry(pid_t pid)
{
    for (struct reaper_entry **pp = &R.entries; *pp; pp = &(*pp)->next) {
        if ((*pp)->pid == pid && !(*pp)->done) {
            struct reaper_entry *e = *pp;
            *pp = e->next;
            e->next = NULL;
            return e;
        }
    }
    return NULL;
}

/* The parked status of pid, if the caller's child is the one it belongs to. Parked statuses
 * also come from orphans reparented to us (a subreaper); when pid is alive again, it was
 * reused by the caller's new child and whatever is parked for it is stale. */
static bool take_parked(pid_t pid, int *ret_status)
{
    int newest = -1;
    for (unsigned i = 0; i < REAPER_PARKED_MAX; i++)
        if (R.parked[i].pid == pid && (newest < 0 || R.parked[i].seq > R.parked[newest].seq))
            newest = (int)i;
    if (newest < 0)
        return false;
    bool alive = kill(pid, 0) == 0 || errno != ESRCH;
    if (!alive)
        *ret_status = R.parked[newest].status;
    for (unsigned i = 0; i < REAPER_PARKED_MAX; i++)
        if (R.parked[i].pid == pid)
            R.parked[i].pid = 0;
    return !alive;
}

/* Caller holds the lock. */
static void route_status(pid_t pid, int status)
{
    struct reaper_entry *e = take_entry(pid);
    if (!e) {
        R.parked[R.parked_next].pid = pid;
        R.parked[R.parked_next].status = status;
        R.parked[R.parked_next].seq = ++R.parked_seq;
        R.parked_next = (R.parked_next + 1) % REAPER_PARKED_MAX;
        return;
    }
    e->status = status;
    e->done = true;
    if (e->fn) {
        e->next = R.ready;
        R.ready = e;
    } else {
        /* The blocking waiter owns e (it is on its stack) and is still linked nowhere. */
        pthread_cond_broadcast(&R.cond);
    }
}

void gcs_reaper_dispatch(void)
{
    struct signalfd_siginfo si;
    while (read(R.sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
        ;
    pthread_mutex_lock(&R.lock);
    for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0)
            break; /* 0: none left; -1: ECHILD (or EINTR, retried on the next SIGCHLD) */
        route_status(pid, status);
    }
    struct reaper_entry *ready = R.ready;
    R.ready = NULL;
    pthread_mutex_unlock(&R.lock);
    while (ready) {
        struct reaper_entry *e = ready;
        ready = e->next;
        e->fn(e->pid, e->status, e->data);
        free(e);
    }
}

static bool pid_taken(pid_t pid)
{
    for (struct reaper_entry *e = R.entries; e; e = e->next)
        if (e->pid == pid)
            return true;
    return false;
}

int gcs_reaper_watch(pid_t pid, gcs_exit_fn fn, void *data)
{
    struct reaper_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->pid = pid;
    e->fn = fn;
    e->data = data;
    bool wake = false;
    pthread_mutex_lock(&R.lock);
    if (pid_taken(pid)) {
        pthread_mutex_unlock(&R.lock);
        free(e);
        return -EEXIST;
    }
    if (take_parked(pid, &e->status)) {
        e->done = true;
        e->next = R.ready;
        R.ready = e;
        wake = true;
    } else {
        e->next = R.entries;
        R.entries = e;
    }
    pthread_mutex_unlock(&R.lock);
    if (wake && R.wake)
        R.wake(R.wake_data);
    return 0;
}

int gcs_reaper_wait(pid_t pid, int *ret_status)
{
    struct reaper_entry e = {.pid = pid};
    pthread_mutex_lock(&R.lock);
    if (pid_taken(pid)) {
        pthread_mutex_unlock(&R.lock);
        return -EEXIST;
    }
    if (!take_parked(pid, &e.status)) {
        e.next = R.entries;
        R.entries = &e;
        while (!e.done)
            pthread_cond_wait(&R.cond, &R.lock);
    }
    pthread_mutex_unlock(&R.lock);
    *ret_status = e.status;
    return 0;
}
