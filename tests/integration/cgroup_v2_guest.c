/* Runs as a QEMU guest's test (tests/integration/cgroup_v2_qemu.sh): a pure cgroup v2 host with
 * every controller, as inside the UVM, which this machine (hybrid, v2 owns only hugetlb) cannot
 * offer. Each check prints "ok NAME" or "FAIL NAME: why"; the last line is "CGROUP-V2 PASS" or
 * "CGROUP-V2 FAIL n". Static, no test framework: it runs from a bare initramfs. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/json.h"
#include "common/syscalls.h"
#include "oci/cgroup.h"
#include "oci/spec_resources.h"

static int failures;
static struct oci_cgroup_layout *layout;

static void __attribute__((format(printf, 2, 3))) check(bool ok, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    fflush(stdout);
    failures += !ok;
}

static bool file_has(const char *dir, const char *file, const char *want)
{
    char p[512];
    cleanup_free char *got = NULL;
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    if (lcow_read_file(p, 1 << 16, &got, NULL, NULL) < 0)
        return false;
    bool ok = strstr(got, want) != NULL;
    if (!ok)
        printf("     %s = `%.80s`, want `%s`\n", file, got, want);
    return ok;
}

static struct oci_cgroup *make(const char *path, const char *res_json)
{
    struct oci_cgroup *cg = NULL;
    struct lcow_error *err = NULL;
    if (oci_cgroup_create(layout, path, NULL, OCI_CGROUP_EXCLUSIVE, &cg, &err) < 0) {
        check(false, "create %s: %s", path, lcow_error_message(err));
        lcow_error_release(&err);
        return NULL;
    }
    if (res_json != NULL) {
        struct json_object *o = NULL;
        struct oci_linux_resources r = {0};
        int rc = lcow_json_parse(res_json, strlen(res_json), "r", &o, &err);
        if (rc == 0)
            rc = oci_linux_resources_parse(o, "linux.resources", &r, &err);
        if (rc == 0)
            rc = oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_NO_DEFAULT_DEVICES, &err);
        check(rc == 0, "apply %s%s%s", path, rc ? ": " : "", lcow_error_message(err));
        oci_linux_resources_done(&r);
        json_object_put(o);
        lcow_error_release(&err);
    }
    return cg;
}

static void destroy(struct oci_cgroup *cg, const char *name)
{
    struct lcow_error *err = NULL;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", oci_cgroup_v2_dir(cg));
    int rc = oci_cgroup_destroy(cg, &err);
    struct stat st;
    check(rc == 0 && stat(dir, &st) < 0, "%s: destroy leaves nothing %s", name,
          lcow_error_message(err));
    lcow_error_release(&err);
    oci_cgroup_free(cg);
}

/* A child started straight inside the cgroup with clone3(CLONE_INTO_CGROUP). */
static pid_t spawn(const struct oci_cgroup *cg, int (*fn)(void *), void *arg)
{
    struct lcow_clone_args a = {.flags = CLONE_INTO_CGROUP,
                                .exit_signal = SIGCHLD,
                                .cgroup = (uint64_t)oci_cgroup_clone_fd(cg)};
    long pid = sys_clone3(&a);
    if (pid == 0)
        _exit(fn(arg));
    return (pid_t)pid;
}

static int wait_status(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    return st;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int do_pause(void *arg)
{
    (void)arg;
    for (;;)
        pause();
}

static int alloc_lots(void *arg)
{
    (void)arg;
    for (int i = 0; i < 128; i++) {
        volatile char *p = malloc(1 << 20);
        if (p == NULL)
            return 2;
        for (size_t k = 0; k < (1u << 20); k += 4096)
            p[k] = 1;
    }
    return 0;
}

static int fork_three(void *arg)
{
    (void)arg;
    pid_t kids[8];
    int n = 0;
    while (n < 8 && (kids[n] = fork()) != 0) {
        if (kids[n] < 0)
            break;
        n++;
    }
    if (n < 8 && kids[n] == 0) {
        pause();
        _exit(0);
    }
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    return n; /* pids.max 3 = this process + 2 */
}

static int probe_devices(void *arg)
{
    (void)arg;
    int rc = 0, fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd >= 0) {
        rc |= 1;
        close(fd);
    }
    fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        rc |= 2;
        close(fd);
    } else if (errno == EPERM) {
        rc |= 4;
    }
    return rc;
}

static int count_forever(void *arg)
{
    volatile uint64_t *c = arg;
    for (;;)
        (*c)++;
}

static void test_layout(void)
{
    check(layout->mode == OCI_CGROUP_UNIFIED, "layout is unified (%s)",
          oci_cgroup_mode_name(layout->mode));
    static const enum oci_cgroup_ctrl need[] = {OCI_CG_MEMORY, OCI_CG_CPU, OCI_CG_PIDS,
                                                OCI_CG_CPUSET, OCI_CG_BLKIO};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        check(oci_cgroup_layout_has(layout, need[i]), "controller %s offered",
              oci_cgroup_ctrl_name(need[i], true));
}

static void test_resources(void)
{
    struct oci_cgroup *cg =
        make("/t/res", "{\"memory\":{\"limit\":67108864,\"swap\":134217728,\"reservation\":"
                       "33554432},\"cpu\":{\"shares\":1024,\"quota\":50000,\"period\":100000,"
                       "\"cpus\":\"0\",\"mems\":\"0\"},\"pids\":{\"limit\":77},"
                       "\"unified\":{\"memory.high\":\"100003840\"}}");
    if (cg == NULL)
        return;
    const char *d = oci_cgroup_v2_dir(cg);
    check(file_has(d, "memory.max", "67108864"), "memory.max");
    check(file_has(d, "memory.swap.max", "67108864"), "memory.swap.max = swap - limit");
    check(file_has(d, "memory.low", "33554432"), "memory.low from reservation");
    check(file_has(d, "cpu.weight", "39"), "cpu.weight from shares 1024");
    check(file_has(d, "cpu.max", "50000 100000"), "cpu.max");
    check(file_has(d, "cpuset.cpus", "0"), "cpuset.cpus");
    check(file_has(d, "pids.max", "77"), "pids.max");
    check(file_has(d, "memory.high", "100003840"), "unified memory.high");
    /* io.weight exists with blk-iocost; a weight goes through the 10..1000 → 1..10000 map. */
    char iow[512];
    snprintf(iow, sizeof(iow), "%s/io.weight", d);
    if (access(iow, F_OK) == 0) {
        struct lcow_error *err = NULL;
        struct json_object *o = NULL;
        struct oci_linux_resources r = {0};
        const char *doc = "{\"blockIO\":{\"weight\":500}}";
        int rc = lcow_json_parse(doc, strlen(doc), "r", &o, NULL);
        rc = rc ?: oci_linux_resources_parse(o, "r", &r, NULL);
        rc = rc ?: oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err);
        check(rc == 0 && file_has(d, "io.weight", "4950"), "io.weight from blkio weight %s",
              lcow_error_message(err));
        oci_linux_resources_done(&r);
        json_object_put(o);
        lcow_error_release(&err);
    }
    destroy(cg, "res");
}

static void test_oom(void)
{
    struct oci_cgroup *cg = make("/t/oom", "{\"memory\":{\"limit\":16777216,\"swap\":16777216}}");
    if (cg == NULL)
        return;
    int fd = oci_cgroup_oom_fd(cg, NULL);
    int st = wait_status(spawn(cg, alloc_lots, NULL));
    check(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "OOM kill in a 16 MiB cgroup");
    uint64_t kills = 0;
    int kr = oci_cgroup_oom_kills(cg, &kills, NULL);
    check(kr == 0 && kills >= 1, "memory.events oom_kill %llu", (unsigned long long)kills);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    check(fd >= 0 && poll(&p, 1, 2000) == 1, "OOM fd (inotify on memory.events) fired");
    if (fd >= 0)
        close(fd);
    destroy(cg, "oom");
}

static void test_pids(void)
{
    struct oci_cgroup *cg = make("/t/pids", "{\"pids\":{\"limit\":3}}");
    if (cg == NULL)
        return;
    int st = wait_status(spawn(cg, fork_three, NULL));
    check(WIFEXITED(st) && WEXITSTATUS(st) == 2, "pids.max 3 enforced (forked %d)",
          WEXITSTATUS(st));
    destroy(cg, "pids");
}

static void test_freeze_kill_stats(void)
{
    struct oci_cgroup *cg = make("/t/fk", NULL);
    if (cg == NULL)
        return;
    volatile uint64_t *c =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t a = spawn(cg, count_forever, (void *)c), b = spawn(cg, do_pause, NULL);
    sleep_ms(50);
    check(oci_cgroup_freeze(cg, true, NULL) == 0 && oci_cgroup_is_frozen(cg, NULL) == 1,
          "cgroup.freeze");
    uint64_t v = *c;
    sleep_ms(100);
    check(*c == v, "frozen: no progress");
    check(oci_cgroup_freeze(cg, false, NULL) == 0 && oci_cgroup_is_frozen(cg, NULL) == 0, "thaw");
    struct oci_cgroup_stats s;
    if (oci_cgroup_stats(cg, &s, NULL) == 0) {
        check(s.has_cpu && s.cpu_total > 0, "stats cpu usage %llu ns",
              (unsigned long long)s.cpu_total);
        check(s.has_pids && s.pids_current == 2, "stats pids.current %llu",
              (unsigned long long)s.pids_current);
        check(s.has_memory && s.mem.usage > 0 && s.n_mem_stat > 0, "stats memory %llu",
              (unsigned long long)s.mem.usage);
        struct json_object *m = NULL;
        check(oci_cgroup_stats_to_metrics(&s, &m, NULL) == 0 &&
                  lcow_json_field(lcow_json_field(m, "memory"), "usage") != NULL,
              "metrics JSON");
        json_object_put(m);
        oci_cgroup_stats_done(&s);
    }
    check(oci_cgroup_kill_all(cg, SIGKILL, NULL) == 0, "cgroup.kill");
    int sa = wait_status(a), sb = wait_status(b);
    check(WIFSIGNALED(sa) && WIFSIGNALED(sb), "both children killed");
    destroy(cg, "fk");
}

static void test_devices(void)
{
    struct oci_cgroup *cg =
        make("/t/dev", "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,"
                       "\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}");
    if (cg == NULL)
        return;
    int st = wait_status(spawn(cg, probe_devices, NULL));
    check(WIFEXITED(st) && WEXITSTATUS(st) == (1 | 4), "BPF device program (code %d)",
          WEXITSTATUS(st));
    destroy(cg, "dev");
}

int main(void)
{
    struct lcow_error *err = NULL;
    if (oci_cgroup_layout_detect(NULL, &layout, &err) < 0) {
        printf("FAIL detect: %s\nCGROUP-V2 FAIL 1\n", lcow_error_message(err));
        return 1;
    }
    test_layout();
    test_resources();
    test_oom();
    test_pids();
    test_freeze_kill_stats();
    test_devices();
    rmdir("/sys/fs/cgroup/t");
    if (failures)
        printf("CGROUP-V2 FAIL %d\n", failures);
    else
        printf("CGROUP-V2 PASS\n");
    oci_cgroup_layout_free(layout);
    return failures != 0;
}
