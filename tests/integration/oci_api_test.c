/* The executor as gcs uses it (executor.h), as root on a real rootfs: pre-made stdio pipes,
 * start, the caller's own reaper, signals, a pty master handed back, failures that leave
 * nothing, and cgroups removed by destroy.
 *   oci_api_test ROOTFS CGROUP_PARENT   (run by tests/integration/oci_api.sh) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "oci/executor.h"
#include "oci/spec.h"

static const char *rootfs, *cg_parent;

/* A spec for args (a JSON array) with the usual namespaces and mounts. */
static struct oci_spec *make_spec(const char *name, const char *args, bool terminal,
                                  const char *cwd)
{
    char doc[4096];
    snprintf(
        doc, sizeof(doc),
        "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"%s\"},"
        "\"process\":{\"terminal\":%s,\"args\":%s,\"cwd\":\"%s\","
        "  \"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}},"
        "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
        "  {\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","
        "   \"options\":[\"nosuid\",\"mode=755\"]},"
        "  {\"destination\":\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\","
        "   \"options\":[\"newinstance\",\"ptmxmode=0666\",\"mode=0620\"]}],"
        "\"linux\":{\"cgroupsPath\":\"/%s/%s\",\"namespaces\":[{\"type\":\"pid\"},"
        "  {\"type\":\"mount\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"network\"}]}}",
        rootfs, terminal ? "true" : "false", args, cwd, cg_parent, name);
    struct oci_spec *spec = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_spec_parse(doc, strlen(doc), &spec, &err) < 0)
        fail_msg("spec: %s", lcow_error_message(err));
    return spec;
}

static bool cgroup_exists(const char *name)
{
    char p[512];
    snprintf(p, sizeof(p), "/sys/fs/cgroup/memory/%s/%s", cg_parent, name);
    return access(p, F_OK) == 0;
}

static int reap(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
}

static void test_stdio_pipes_and_exit_status(void **state)
{
    cleanup_oci_spec struct oci_spec *spec = make_spec(
        "pipes", "[\"sh\",\"-c\",\"read x; echo out:$x; echo err:$$ >&2; exit 3\"]", false, "/");
    int in[2], out[2], errp[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(errp, O_CLOEXEC), 0);
    struct oci_create_opts o = {
        .id = "pipes", .bundle = "/", .spec = spec, .stdio = {in[0], out[1], errp[1]}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_container_create(&o, &c, &err) < 0)
        fail_msg("create: %s", lcow_error_message(err));
    close(in[0]);
    close(out[1]);
    close(errp[1]);
    assert_true(oci_container_pid(c) > 0);
    assert_true(oci_container_start_time(c) > 0);
    assert_non_null(oci_container_cgroup_path(c));
    assert_true(cgroup_exists("pipes"));
    assert_int_equal(oci_container_status(c), OCI_CONTAINER_CREATED);
    assert_int_equal(oci_container_start(c, &err), 0);
    assert_string_equal(oci_container_status_name(oci_container_status(c)), "running");
    assert_int_equal(write(in[1], "hi\n", 3), 3);
    close(in[1]);
    char buf[256];
    read_all(out[0], buf, sizeof(buf));
    assert_string_equal(buf, "out:hi\n");
    read_all(errp[0], buf, sizeof(buf));
    assert_string_equal(buf, "err:1\n"); /* the init is pid 1 of its namespace */
    int st = reap(oci_container_pid(c));
    oci_container_exited(c, st);
    assert_int_equal(oci_container_status(c), OCI_CONTAINER_STOPPED);
    int got = 0;
    assert_true(oci_container_has_exited(c, &got));
    assert_int_equal(oci_wait_status_to_exit_code(got), 3);
    assert_int_equal(oci_container_signal(c, SIGTERM, false, NULL), -ESRCH);
    assert_int_equal(oci_container_destroy(c, &err), 0);
    assert_false(cgroup_exists("pipes"));
    close(out[0]);
    close(errp[0]);
}

static void test_signal_and_destroy(void **state)
{
    cleanup_oci_spec struct oci_spec *spec = make_spec("sig", "[\"sleep\",\"100\"]", false, "/");
    struct oci_create_opts o = {.id = "sig", .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_container_create(&o, &c, &err), 0);
    assert_int_equal(oci_container_start(c, &err), 0);
    assert_int_equal(oci_container_start(c, &err), -EALREADY);
    lcow_error_release(&err);
    assert_int_equal(oci_container_signal(c, SIGKILL, false, &err), 0);
    int st = reap(oci_container_pid(c));
    assert_true(WIFSIGNALED(st));
    assert_int_equal(oci_wait_status_to_exit_code(st), 137);
    oci_container_exited(c, st);
    assert_int_equal(oci_container_destroy(c, &err), 0);
    assert_false(cgroup_exists("sig"));
}

static void test_kill_all_and_destroy_running(void **state)
{
    cleanup_oci_spec struct oci_spec *spec =
        make_spec("all", "[\"sh\",\"-c\",\"sleep 100 & sleep 100\"]", false, "/");
    struct oci_create_opts o = {.id = "all", .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_container_create(&o, &c, &err), 0);
    assert_int_equal(oci_container_start(c, &err), 0);
    usleep(100000);
    assert_int_equal(oci_container_signal(c, SIGKILL, true, &err), 0);
    int st = reap(oci_container_pid(c));
    assert_true(WIFSIGNALED(st));
    oci_container_exited(c, st);
    assert_int_equal(oci_container_destroy(c, &err), 0);
    assert_false(cgroup_exists("all"));
}

static void test_pty_master_returned(void **state)
{
    cleanup_oci_spec struct oci_spec *spec =
        make_spec("pty", "[\"sh\",\"-c\",\"tty; test -t 1 && echo yes\"]", true, "/");
    struct oci_create_opts o = {.id = "pty", .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_container_create(&o, &c, &err) < 0)
        fail_msg("create: %s", lcow_error_message(err));
    cleanup_close int master = oci_container_take_pty_master(c);
    assert_true(master >= 0);
    assert_int_equal(oci_container_take_pty_master(c), -1);
    assert_int_equal(oci_container_start(c, &err), 0);
    char buf[256];
    read_all(master, buf, sizeof(buf)); /* EIO ends it once the slave side is gone */
    assert_non_null(strstr(buf, "/dev/pts/0"));
    assert_non_null(strstr(buf, "yes"));
    oci_container_exited(c, reap(oci_container_pid(c)));
    assert_int_equal(oci_container_destroy(c, &err), 0);
}

static void test_failures_leave_nothing(void **state)
{
    static const struct {
        const char *args, *cwd, *want;
    } cases[] = {
        {"[\"true\"]", "/no/such/dir", "/no/such/dir"},
        {"[\"/bin/not-there\"]", "/", "/bin/not-there"},
        {"[\"not-in-path\"]", "/", "not-in-path"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        cleanup_oci_spec struct oci_spec *spec =
            make_spec("bad", cases[i].args, false, cases[i].cwd);
        struct oci_create_opts o = {
            .id = "bad", .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
        struct oci_container *c = NULL;
        cleanup_error struct lcow_error *err = NULL;
        assert_true(oci_container_create(&o, &c, &err) < 0);
        assert_null(c);
        if (strstr(lcow_error_message(err), cases[i].want) == NULL)
            fail_msg("case %zu: `%s`", i, lcow_error_message(err));
        assert_false(cgroup_exists("bad"));
        /* The failed init was reaped by the library: no child of ours is left. */
        assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
        assert_int_equal(errno, ECHILD);
    }
    /* A missing rootfs fails before anything is made. */
    cleanup_oci_spec struct oci_spec *spec = make_spec("bad2", "[\"true\"]", false, "/");
    free(spec->root_path);
    spec->root_path = strdup("/no/rootfs/here");
    struct oci_create_opts o = {.id = "bad2", .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_container_create(&o, &c, &err), -ENOENT);
    assert_non_null(strstr(err->msg, "/no/rootfs/here"));
    assert_false(cgroup_exists("bad2"));
}

static void *idle_thread(void *arg)
{
    for (;;)
        pause();
    return arg;
}

/* A non-root user with groups: the credential switch in the child of a threaded caller. */
static void test_user_switch_in_threaded_caller(void **state)
{
    cleanup_oci_spec struct oci_spec *spec = make_spec("user", "[\"id\"]", false, "/");
    spec->process->user.uid = 1000;
    spec->process->user.gid = 1000;
    spec->process->user.additional_gids = calloc(1, sizeof(uint32_t));
    spec->process->user.additional_gids[0] = 10;
    spec->process->user.n_additional_gids = 1;
    int out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    struct oci_create_opts o = {
        .id = "user", .bundle = "/", .spec = spec, .stdio = {-1, out[1], -1}};
    struct oci_container *c = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_container_create(&o, &c, &err) < 0)
        fail_msg("create: %s", lcow_error_message(err));
    close(out[1]);
    assert_int_equal(oci_container_start(c, &err), 0);
    char buf[256];
    read_all(out[0], buf, sizeof(buf));
    close(out[0]);
    assert_non_null(strstr(buf, "uid=1000"));
    assert_non_null(strstr(buf, "gid=1000"));
    assert_non_null(strstr(buf, "groups=10"));
    oci_container_exited(c, reap(oci_container_pid(c)));
    assert_int_equal(oci_container_destroy(c, &err), 0);
}

/* gcs creates containers from several worker threads at once. Each cycle must finish on its
 * own even while other threads hold created-but-unstarted containers: a child that kept
 * another container's sync socket would stall that container's start until it execs. */
#define CYCLES 6

struct cycle_arg {
    int index;
    int failures;
};

static void *cycle_thread(void *data)
{
    struct cycle_arg *a = data;
    for (int i = 0; i < CYCLES; i++) {
        char id[32];
        snprintf(id, sizeof(id), "cc%d-%d", a->index, i);
        struct oci_spec *spec = make_spec(id, "[\"true\"]", false, "/");
        struct oci_create_opts o = {.id = id, .bundle = "/", .spec = spec, .stdio = {-1, -1, -1}};
        struct oci_container *c = NULL;
        struct lcow_error *err = NULL;
        int st = 0;
        if (oci_container_create(&o, &c, &err) < 0 || oci_container_start(c, &err) < 0 ||
            waitpid(oci_container_pid(c), &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
            a->failures++;
        if (c) {
            oci_container_exited(c, st);
            (void)oci_container_destroy(c, NULL);
        }
        lcow_error_release(&err);
        oci_spec_free(spec);
    }
    return NULL;
}

static void test_concurrent_creates(void **state)
{
    enum { THREADS = 3, HELD = 4 };
    struct oci_spec *held_spec[HELD];
    struct oci_container *held[HELD];
    pthread_t t[THREADS];
    struct cycle_arg args[THREADS];
    alarm(120); /* a stall fails the test instead of hanging make check */
    for (int i = 0; i < THREADS; i++) {
        args[i] = (struct cycle_arg){.index = i};
        assert_int_equal(pthread_create(&t[i], NULL, cycle_thread, &args[i]), 0);
    }
    /* Meanwhile, containers created here stay unstarted until the cycles are done. */
    for (int i = 0; i < HELD; i++) {
        char id[32];
        snprintf(id, sizeof(id), "held%d", i);
        held_spec[i] = make_spec(id, "[\"true\"]", false, "/");
        struct oci_create_opts o = {
            .id = id, .bundle = "/", .spec = held_spec[i], .stdio = {-1, -1, -1}};
        cleanup_error struct lcow_error *err = NULL;
        if (oci_container_create(&o, &held[i], &err) < 0)
            fail_msg("create %s: %s", id, lcow_error_message(err));
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(args[i].failures, 0);
    }
    for (int i = 0; i < HELD; i++) {
        cleanup_error struct lcow_error *err = NULL;
        assert_int_equal(oci_container_start(held[i], &err), 0);
        oci_container_exited(held[i], reap(oci_container_pid(held[i])));
        assert_int_equal(oci_container_destroy(held[i], &err), 0);
        oci_spec_free(held_spec[i]);
    }
    alarm(0);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: oci_api_test ROOTFS CGROUP_PARENT\n");
        return 2;
    }
    rootfs = argv[1];
    cg_parent = argv[2];
    /* As gcs: the containers' inits come back to us, and other threads exist (the child
     * must not rely on glibc's thread bookkeeping, e.g. for setresuid). */
    prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    pthread_t idle;
    if (pthread_create(&idle, NULL, idle_thread, NULL) != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdio_pipes_and_exit_status),
        cmocka_unit_test(test_signal_and_destroy),
        cmocka_unit_test(test_kill_all_and_destroy_running),
        cmocka_unit_test(test_pty_master_returned),
        cmocka_unit_test(test_failures_leave_nothing),
        cmocka_unit_test(test_user_switch_in_threaded_caller),
        cmocka_unit_test(test_concurrent_creates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
