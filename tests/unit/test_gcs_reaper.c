/* gcs's one reaper (gcs/reaper.h): every exit status reaches whoever registered for the pid,
 * whether it registered before or after the child exited, synchronously or asynchronously. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gcs/reaper.h"

static int sfd = -1, wake_fd = -1;
static atomic_bool stop;

static void wake(void *data)
{
    uint64_t one = 1;
    (void)!write(wake_fd, &one, sizeof(one));
}

/* Stands in for gcs's event loop. */
static void *loop(void *arg)
{
    while (!atomic_load(&stop)) {
        struct pollfd p[2] = {{.fd = sfd, .events = POLLIN}, {.fd = wake_fd, .events = POLLIN}};
        if (poll(p, 2, 50) > 0) {
            uint64_t v;
            if (p[1].revents)
                (void)!read(wake_fd, &v, sizeof(v));
            gcs_reaper_dispatch();
        }
    }
    return NULL;
}

static pid_t child(int code, int delay_ms)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        usleep((useconds_t)delay_ms * 1000);
        _exit(code);
    }
    return pid;
}

static void test_wait_before_and_after_exit(void **state)
{
    int status = -1;
    pid_t late = child(5, 150); /* still running when we start waiting */
    assert_int_equal(gcs_reaper_wait(late, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 5);

    pid_t early = child(3, 0); /* reaped (parked) before anyone asks */
    usleep(200 * 1000);
    assert_int_equal(gcs_reaper_wait(early, &status), 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 3);
}

struct watched {
    atomic_int status;
    atomic_bool done;
};

static void on_exit_cb(pid_t pid, int status, void *data)
{
    struct watched *w = data;
    atomic_store(&w->status, status);
    atomic_store(&w->done, true);
}

static void wait_done(struct watched *w)
{
    for (int i = 0; i < 200 && !atomic_load(&w->done); i++)
        usleep(10 * 1000);
    assert_true(atomic_load(&w->done));
}

static void test_watch(void **state)
{
    struct watched a = {0}, b = {0};
    pid_t pa = child(0, 5000);
    assert_int_equal(gcs_reaper_watch(pa, on_exit_cb, &a), 0);
    assert_int_equal(gcs_reaper_watch(pa, on_exit_cb, &a), -EEXIST);
    kill(pa, SIGKILL);
    wait_done(&a);
    assert_true(WIFSIGNALED(a.status) && WTERMSIG(a.status) == SIGKILL);

    /* Registered after the exit: delivered through the wake hook. */
    pid_t pb = child(7, 0);
    usleep(200 * 1000);
    assert_int_equal(gcs_reaper_watch(pb, on_exit_cb, &b), 0);
    wait_done(&b);
    assert_true(WIFEXITED(b.status) && WEXITSTATUS(b.status) == 7);
}

static void test_many_children(void **state)
{
    enum { N = 64 };
    struct watched w[N] = {0};
    for (int i = 0; i < N; i++) {
        pid_t p = child(i, i % 3);
        assert_int_equal(gcs_reaper_watch(p, on_exit_cb, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        wait_done(&w[i]);
        assert_int_equal(WEXITSTATUS(w[i].status), i);
    }
}

int main(void)
{
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    sfd = gcs_reaper_init(wake, NULL, NULL);
    if (sfd < 0 || wake_fd < 0)
        return 1;
    pthread_t t;
    pthread_create(&t, NULL, loop, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wait_before_and_after_exit),
        cmocka_unit_test(test_watch),
        cmocka_unit_test(test_many_children),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    atomic_store(&stop, true);
    pthread_join(t, NULL);
    return r;
}
