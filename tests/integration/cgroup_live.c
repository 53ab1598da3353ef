/* Live cgroup tests (root): limits really applied and enforced on this machine's hierarchies.
 * Every cgroup lives under /<LCOW_CG_TEST>/ in each hierarchy; tests/integration/cgroup_live.sh
 * picks the name and removes whatever is left on exit. Only forked children are moved; the test
 * process itself never changes cgroup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/json.h"
#include "common/syscalls.h"
#include "oci/cgroup.h"
#include "oci/spec_resources.h"

static const char *test_root;
static struct oci_cgroup_layout *layout;

static char *cg_path(const char *name)
{
    char *p = NULL;
    assert_true(asprintf(&p, "/%s/%s", test_root, name) > 0);
    return p;
}

static void parse_res(const char *doc, struct oci_linux_resources *r)
{
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "r", &o, NULL), 0);
    assert_int_equal(oci_linux_resources_parse(o, "linux.resources", r, NULL), 0);
}

static struct oci_cgroup *make(const struct oci_cgroup_layout *l, const char *name,
                               const char *res_json, unsigned flags)
{
    cleanup_free char *p = cg_path(name);
    struct oci_cgroup *cg = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_create(l, p, NULL, OCI_CGROUP_EXCLUSIVE, &cg, &err) < 0)
        fail_msg("create %s: %s", p, lcow_error_message(err));
    if (res_json) {
        struct oci_linux_resources r = {0};
        parse_res(res_json, &r);
        int rc = oci_cgroup_apply(cg, &r, NULL, flags, &err);
        oci_linux_resources_done(&r);
        if (rc < 0)
            fail_msg("apply %s: %s", p, lcow_error_message(err));
    }
    return cg;
}

static void destroy(struct oci_cgroup *cg)
{
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_destroy(cg, &err) < 0)
        fail_msg("destroy: %s", lcow_error_message(err));
    oci_cgroup_free(cg);
}

static void expect_file(const char *dir, const char *file, const char *want)
{
    char p[512];
    cleanup_free char *got = NULL;
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    assert_int_equal(lcow_read_file(p, 1 << 16, &got, NULL, NULL), 0);
    if (strstr(got, want) == NULL)
        fail_msg("%s = `%s`, want `%s`", p, got, want);
}

/* Forks a child that waits until it has been moved into cg, then runs fn. */
static pid_t spawn_in(const struct oci_cgroup *cg, int (*fn)(void *), void *arg)
{
    int go[2];
    assert_int_equal(pipe2(go, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        close(go[1]);
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(100);
        _exit(fn(arg));
    }
    close(go[0]);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_enter(cg, pid, &err) < 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        fail_msg("enter: %s", lcow_error_message(err));
    }
    assert_int_equal(write(go[1], "x", 1), 1);
    close(go[1]);
    return pid;
}

static int wait_status(pid_t pid)
{
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static int do_pause(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return 0;
}

/* ---------------------------------------------------------------- tests */

static void test_layout(void **state)
{
    /* The CI machines are hybrid: v1 controllers plus cgroup2 (hugetlb) at unified/. */
    assert_true(layout->mode == OCI_CGROUP_HYBRID || layout->mode == OCI_CGROUP_LEGACY ||
                layout->mode == OCI_CGROUP_UNIFIED);
    assert_true(oci_cgroup_layout_has(layout, OCI_CG_MEMORY));
    assert_true(oci_cgroup_layout_has(layout, OCI_CG_PIDS));
    print_message("mode %s, cgroup2 at %s\n", oci_cgroup_mode_name(layout->mode),
                  layout->v2_mount ? layout->v2_mount : "-");
}

static int alloc_lots(void *arg)
{
    (void)arg;
    /* Touch 256 MiB, page by page, in a 32 MiB cgroup: the memcg OOM killer must end us. */
    for (int i = 0; i < 256; i++) {
        volatile char *p = malloc(1 << 20);
        if (p == NULL)
            return 2;
        for (size_t k = 0; k < (1u << 20); k += 4096)
            p[k] = (char)i;
    }
    return 0;
}

static void test_memory_limit_and_oom(void **state)
{
    struct oci_cgroup *cg =
        make(layout, "oom", "{\"memory\":{\"limit\":33554432,\"swap\":33554432}}", 0);
    bool v2 = false;
    const char *dir = oci_cgroup_dir(cg, OCI_CG_MEMORY);
    v2 = dir == oci_cgroup_v2_dir(cg);
    expect_file(dir, v2 ? "memory.max" : "memory.limit_in_bytes", "33554432");
    cleanup_error struct lcow_error *err = NULL;
    cleanup_close int ofd = oci_cgroup_oom_fd(cg, &err);
    if (ofd < 0)
        fail_msg("oom fd: %s", lcow_error_message(err));
    uint64_t before = 0, after = 0;
    assert_int_equal(oci_cgroup_oom_kills(cg, &before, NULL), 0);
    pid_t pid = spawn_in(cg, alloc_lots, NULL);
    int st = wait_status(pid);
    if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
        fail_msg("child was not OOM-killed: status 0x%x", st);
    assert_int_equal(oci_cgroup_oom_kills(cg, &after, NULL), 0);
    assert_true(after >= before + 1);
    struct pollfd pfd = {.fd = ofd, .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    oci_cgroup_oom_drain(ofd);
    destroy(cg);
}

static int fork_many(void *arg)
{
    (void)arg;
    pid_t kids[16];
    int n = 0, rc = 1;
    for (; n < 16; n++) {
        kids[n] = fork();
        if (kids[n] == 0) {
            pause();
            _exit(0);
        }
        if (kids[n] < 0) {
            rc = errno == EAGAIN ? 0 : 3;
            break;
        }
    }
    for (int i = 0; i < n; i++)
        kill(kids[i], SIGKILL);
    while (wait(NULL) > 0)
        ;
    return n == 3 ? rc : 10 + n; /* the limit of 4 counts this process too */
}

static void test_pids_limit(void **state)
{
    struct oci_cgroup *cg = make(layout, "pids", "{\"pids\":{\"limit\":4}}", 0);
    expect_file(oci_cgroup_dir(cg, OCI_CG_PIDS), "pids.max", "4");
    int st = wait_status(spawn_in(cg, fork_many, NULL));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("fork_many: status 0x%x (exit %d)", st, WEXITSTATUS(st));
    destroy(cg);
}

/* A whole disk for blkio throttles (they refuse partitions): the first non-loop, non-ram one. */
static bool whole_disk(char *out, size_t cap)
{
    cleanup_dir DIR *d = opendir("/sys/block");
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || strncmp(e->d_name, "loop", 4) == 0 ||
            strncmp(e->d_name, "ram", 3) == 0 || strncmp(e->d_name, "zram", 4) == 0)
            continue;
        char p[300];
        cleanup_free char *dev = NULL;
        snprintf(p, sizeof(p), "/sys/block/%s/dev", e->d_name);
        if (lcow_read_file(p, 64, &dev, NULL, NULL) == 0) {
            dev[strcspn(dev, "\n")] = '\0';
            snprintf(out, cap, "%s", dev);
            return true;
        }
    }
    return false;
}

static void test_resources_read_back(void **state)
{
    char disk[32] = "", doc[2048];
    bool have_disk = whole_disk(disk, sizeof(disk));
    unsigned maj = 0, min = 0;
    if (have_disk)
        sscanf(disk, "%u:%u", &maj, &min);
    bool hugetlb = oci_cgroup_layout_has(layout, OCI_CG_HUGETLB) &&
                   access("/sys/kernel/mm/hugepages/hugepages-2048kB", F_OK) == 0;
    char blk[160] = "";
    if (have_disk)
        snprintf(blk, sizeof(blk),
                 ",\"blockIO\":{\"throttleReadBpsDevice\":[{\"major\":%u,\"minor\":%u,"
                 "\"rate\":1048576}]}",
                 maj, min);
    snprintf(doc, sizeof(doc),
             "{\"memory\":{\"limit\":67108864,\"reservation\":33554432,\"swappiness\":10,"
             "\"disableOOMKiller\":true},"
             "\"cpu\":{\"shares\":512,\"quota\":25000,\"period\":100000%s},"
             "\"pids\":{\"limit\":77}%s%s%s}",
             oci_cgroup_layout_has(layout, OCI_CG_CPUSET) ? ",\"cpus\":\"0\",\"mems\":\"0\"" : "",
             blk, hugetlb ? ",\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}]" : "",
             layout->v2_mount ? ",\"unified\":{\"cgroup.max.descendants\":\"5\"}" : "");
    struct oci_cgroup *cg = make(layout, "res", doc, 0);
    const char *mem = oci_cgroup_dir(cg, OCI_CG_MEMORY), *cpu = oci_cgroup_dir(cg, OCI_CG_CPU);
    bool mem_v2 = mem == oci_cgroup_v2_dir(cg), cpu_v2 = cpu == oci_cgroup_v2_dir(cg);
    if (mem_v2) {
        expect_file(mem, "memory.max", "67108864");
        expect_file(mem, "memory.low", "33554432");
    } else {
        expect_file(mem, "memory.limit_in_bytes", "67108864");
        expect_file(mem, "memory.soft_limit_in_bytes", "33554432");
        expect_file(mem, "memory.swappiness", "10");
        expect_file(mem, "memory.oom_control", "oom_kill_disable 1");
    }
    if (cpu_v2) {
        expect_file(cpu, "cpu.max", "25000 100000");
        expect_file(cpu, "cpu.weight", "20");
    } else {
        expect_file(cpu, "cpu.cfs_quota_us", "25000");
        expect_file(cpu, "cpu.cfs_period_us", "100000");
        expect_file(cpu, "cpu.shares", "512");
    }
    if (oci_cgroup_layout_has(layout, OCI_CG_CPUSET))
        expect_file(oci_cgroup_dir(cg, OCI_CG_CPUSET), "cpuset.cpus", "0");
    expect_file(oci_cgroup_dir(cg, OCI_CG_PIDS), "pids.max", "77");
    if (have_disk) {
        char want[64];
        snprintf(want, sizeof(want), "%u:%u", maj, min);
        const char *bdir = oci_cgroup_dir(cg, OCI_CG_BLKIO);
        expect_file(bdir,
                    bdir == oci_cgroup_v2_dir(cg) ? "io.max" : "blkio.throttle.read_bps_device",
                    want);
    }
    if (hugetlb) {
        const char *h = oci_cgroup_dir(cg, OCI_CG_HUGETLB);
        expect_file(h,
                    h == oci_cgroup_v2_dir(cg) ? "hugetlb.2MB.max" : "hugetlb.2MB.limit_in_bytes",
                    "4194304");
    }
    if (layout->v2_mount)
        expect_file(oci_cgroup_v2_dir(cg), "cgroup.max.descendants", "5");

    /* Update: a larger limit (memsw goes first on v1) and a new quota. */
    struct oci_linux_resources r = {0};
    parse_res("{\"memory\":{\"limit\":134217728,\"swap\":268435456},\"cpu\":{\"quota\":50000}}",
              &r);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err) < 0)
        fail_msg("update: %s", lcow_error_message(err));
    oci_linux_resources_done(&r);
    expect_file(mem, mem_v2 ? "memory.max" : "memory.limit_in_bytes", "134217728");
    if (!mem_v2 && access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0)
        expect_file(mem, "memory.memsw.limit_in_bytes", "268435456");
    expect_file(cpu, cpu_v2 ? "cpu.max" : "cpu.cfs_quota_us", "50000");
    /* And down again: the limit first, then memsw. */
    parse_res("{\"memory\":{\"limit\":16777216,\"swap\":16777216}}", &r);
    if (oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err) < 0)
        fail_msg("update down: %s", lcow_error_message(err));
    oci_linux_resources_done(&r);
    expect_file(mem, mem_v2 ? "memory.max" : "memory.limit_in_bytes", "16777216");
    destroy(cg);
}

/* runc >= 1.2's reuse rule: an existing cgroup is fine unless populated or frozen. */
static void test_reuse_requires_empty(void **state)
{
    struct oci_cgroup *first = make(layout, "reuse", NULL, 0);
    cleanup_free char *p = cg_path("reuse");
    struct oci_cgroup *again = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_create(layout, p, NULL, OCI_CGROUP_EXCLUSIVE, &again, NULL),
                     -EEXIST);
    assert_int_equal(oci_cgroup_create(layout, p, NULL, OCI_CGROUP_REQUIRE_EMPTY, &again, &err), 0);
    oci_cgroup_free(again);
    pid_t pid = spawn_in(first, do_pause, NULL);
    assert_int_equal(oci_cgroup_create(layout, p, NULL, OCI_CGROUP_REQUIRE_EMPTY, &again, &err),
                     -EBUSY);
    assert_non_null(strstr(err->msg, "not empty"));
    lcow_error_release(&err);
    kill(pid, SIGKILL);
    wait_status(pid);
    if (oci_cgroup_dir(first, OCI_CG_FREEZER) != NULL) {
        assert_int_equal(oci_cgroup_freeze(first, true, NULL), 0);
        assert_int_equal(oci_cgroup_create(layout, p, NULL, OCI_CGROUP_REQUIRE_EMPTY, &again, &err),
                         -EBUSY);
        assert_non_null(strstr(err->msg, "frozen"));
        assert_int_equal(oci_cgroup_freeze(first, false, NULL), 0);
    }
    /* The refused creates removed nothing of the existing cgroup. */
    struct stat st;
    assert_int_equal(stat(oci_cgroup_dir(first, OCI_CG_MEMORY), &st), 0);
    destroy(first);
}

static int count_forever(void *arg)
{
    volatile uint64_t *counter = arg;
    for (;;)
        (*counter)++;
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_freeze_thaw(void **state)
{
    struct oci_cgroup *cg = make(layout, "freeze", NULL, 0);
    volatile uint64_t *counter =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(counter != MAP_FAILED);
    pid_t pid = spawn_in(cg, count_forever, (void *)counter);
    sleep_ms(20);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_freeze(cg, true, &err) < 0)
        fail_msg("freeze: %s", lcow_error_message(err));
    assert_int_equal(oci_cgroup_is_frozen(cg, NULL), 1);
    uint64_t a = *counter;
    sleep_ms(100);
    assert_true(*counter == a); /* frozen: no progress */
    assert_int_equal(oci_cgroup_freeze(cg, false, &err), 0);
    assert_int_equal(oci_cgroup_is_frozen(cg, NULL), 0);
    sleep_ms(50);
    assert_true(*counter > a);
    kill(pid, SIGKILL);
    wait_status(pid);
    munmap((void *)counter, 4096);
    destroy(cg);
}

static void test_pids_kill_all_destroy(void **state)
{
    struct oci_cgroup *cg = make(layout, "kill", NULL, 0);
    pid_t kids[3];
    for (int i = 0; i < 3; i++)
        kids[i] = spawn_in(cg, do_pause, NULL);
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(oci_cgroup_pids(cg, &pids, &n, NULL), 0);
    assert_int_equal(n, 3);
    for (int i = 0; i < 3; i++) {
        bool found = false;
        for (size_t k = 0; k < n; k++)
            found |= pids[k] == kids[i];
        assert_true(found);
    }
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_kill_all(cg, SIGTERM, &err) < 0)
        fail_msg("kill_all: %s", lcow_error_message(err));
    for (int i = 0; i < 3; i++) {
        int st = wait_status(kids[i]);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    }
    /* delete with live processes: destroy kills them and removes every directory. */
    pid_t a = spawn_in(cg, do_pause, NULL), b = spawn_in(cg, do_pause, NULL);
    char *dirs[OCI_CG_CTRL_MAX + 1];
    size_t nd = 0;
    for (int c = 0; c < OCI_CG_CTRL_MAX; c++)
        if (oci_cgroup_dir(cg, c) && (dirs[nd] = strdup(oci_cgroup_dir(cg, c))) != NULL)
            nd++;
    assert_int_equal(oci_cgroup_destroy(cg, &err), 0);
    oci_cgroup_free(cg);
    assert_true(WIFSIGNALED(wait_status(a)));
    assert_true(WIFSIGNALED(wait_status(b)));
    for (size_t i = 0; i < nd; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0)
            fail_msg("%s still exists after destroy", dirs[i]);
        free(dirs[i]);
    }
}

static int burn_and_wait(void *arg)
{
    (void)arg;
    /* volatile: the compiler may drop an unused malloc+memset pair altogether. */
    volatile char *p = malloc(8 << 20);
    for (size_t i = 0; p && i < (8u << 20); i += 4096)
        p[i] = 1;
    for (volatile int i = 0; i < 20000000; i++)
        ;
    pause();
    return 0;
}

static void test_stats(void **state)
{
    struct oci_cgroup *cg = make(layout, "stats", "{\"pids\":{\"limit\":10}}", 0);
    pid_t pid = spawn_in(cg, burn_and_wait, NULL);
    sleep_ms(300);
    struct oci_cgroup_stats s;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_stats(cg, &s, &err), 0);
    assert_true(s.has_memory);
    assert_true(s.mem.usage >= (4u << 20));
    assert_true(s.mem.limit > 0);
    assert_true(s.n_mem_stat > 0);
    assert_true(s.has_pids);
    assert_int_equal(s.pids_current, 1);
    assert_int_equal(s.pids_limit, 10);
    assert_true(s.has_cpu);
    assert_true(s.cpu_total > 0);
    print_message("mem usage %llu, cpu %llu ns, %zu memory.stat lines, %zu cpus\n",
                  (unsigned long long)s.mem.usage, (unsigned long long)s.cpu_total, s.n_mem_stat,
                  s.n_cpu_per_cpu);
    /* The GetProperties shape: memory.usage.usage and pids.current are there. */
    cleanup_json struct json_object *m = NULL;
    assert_int_equal(oci_cgroup_stats_to_metrics(&s, &m, NULL), 0);
    struct json_object *mem = lcow_json_field(lcow_json_field(m, "memory"), "usage");
    assert_true(json_object_get_uint64(lcow_json_field(mem, "usage")) == s.mem.usage);
    assert_int_equal(json_object_get_int(lcow_json_field(lcow_json_field(m, "pids"), "limit")), 10);
    oci_cgroup_stats_done(&s);
    kill(pid, SIGKILL);
    wait_status(pid);
    destroy(cg);
}

/* Exit code: bit 0 = /dev/null opened, bit 1 = /dev/zero opened, bit 2 = zero denied EPERM. */
static int probe_devices(void *arg)
{
    (void)arg;
    int rc = 0;
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
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

static const char deny_all_but_null[] =
    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
    "\"major\":1,\"minor\":3,\"access\":\"rwm\"}]}";
static const char allow_zero_too[] =
    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
    "\"major\":1,\"minor\":3,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\",\"major\":1,"
    "\"minor\":5,\"access\":\"r\"}]}";

static void test_devices_v1(void **state)
{
    if (layout->v1_mount[OCI_CG_DEVICES] == NULL)
        skip();
    struct oci_cgroup *cg = make(layout, "dev1", deny_all_but_null, OCI_CGROUP_NO_DEFAULT_DEVICES);
    int st = wait_status(spawn_in(cg, probe_devices, NULL));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1 | 4);
    struct oci_linux_resources r = {0};
    parse_res(allow_zero_too, &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, NULL), 0);
    oci_linux_resources_done(&r);
    st = wait_status(spawn_in(cg, probe_devices, NULL));
    assert_int_equal(WEXITSTATUS(st), 1 | 2);
    /* runc's defaults are appended unless asked not to: /dev/zero is among them. */
    parse_res(deny_all_but_null, &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, 0, NULL), 0);
    oci_linux_resources_done(&r);
    st = wait_status(spawn_in(cg, probe_devices, NULL));
    assert_int_equal(WEXITSTATUS(st), 1 | 2);
    destroy(cg);
}

/* Opens /dev/null until told to stop through shared memory; exits with the number of
 * refusals (max 255). `started` tells the parent the loop runs. */
struct open_loop {
    volatile int started, stop;
};

static int open_null_forever(void *arg)
{
    struct open_loop *l = arg;
    unsigned fails = 0;
    l->started = 1;
    while (!l->stop) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            fails++;
        else
            close(fd);
    }
    return fails > 255 ? 255 : (int)fails;
}

/* Updating the device rules of a running container must never refuse, even for an instant, a
 * device allowed before and after (the list is changed by difference, not reset to deny-all). */
static void test_devices_v1_live_update(void **state)
{
    if (layout->v1_mount[OCI_CG_DEVICES] == NULL)
        skip();
    struct oci_cgroup *cg =
        make(layout, "devupd", deny_all_but_null, OCI_CGROUP_NO_DEFAULT_DEVICES);
    struct open_loop *loop =
        mmap(NULL, sizeof(*loop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(loop != MAP_FAILED);
    pid_t pid = spawn_in(cg, open_null_forever, loop);
    while (!loop->started)
        sleep_ms(1);
    struct oci_linux_resources with_zero = {0}, without = {0};
    parse_res(allow_zero_too, &with_zero);
    parse_res(deny_all_but_null, &without);
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < 200; i++) {
        const struct oci_linux_resources *r = i % 2 ? &without : &with_zero;
        if (oci_cgroup_apply(cg, r, NULL, OCI_CGROUP_UPDATE | OCI_CGROUP_NO_DEFAULT_DEVICES, &err) <
            0)
            fail_msg("update %d: %s", i, lcow_error_message(err));
    }
    loop->stop = 1;
    int st = wait_status(pid);
    munmap(loop, sizeof(*loop));
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    /* The last update (i = 199) removed /dev/zero again: the list is exactly /dev/null. */
    expect_file(oci_cgroup_dir(cg, OCI_CG_DEVICES), "devices.list", "c 1:3 rwm");
    cleanup_free char *list = NULL;
    char p[512];
    snprintf(p, sizeof(p), "%s/devices.list", oci_cgroup_dir(cg, OCI_CG_DEVICES));
    assert_int_equal(lcow_read_file(p, 4096, &list, NULL, NULL), 0);
    assert_string_equal(list, "c 1:3 rwm\n");
    oci_linux_resources_done(&with_zero);
    oci_linux_resources_done(&without);
    destroy(cg);
}

static uint32_t attached_programs(int cgfd)
{
    uint32_t ids[16];
    union bpf_attr q;
    memset(&q, 0, sizeof(q));
    q.query.target_fd = (uint32_t)cgfd;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uintptr_t)ids;
    q.query.prog_cnt = 16;
    assert_int_equal(syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof(q)), 0);
    return q.query.prog_cnt;
}

/* clone3(CLONE_INTO_CGROUP): the child starts inside the cgroup, no cgroup.procs write. */
static int clone_into(int cgfd, int (*fn)(void *))
{
    struct lcow_clone_args args = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgfd};
    long pid = sys_clone3(&args);
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(fn(NULL));
    return wait_status((pid_t)pid);
}

static void test_devices_bpf_v2(void **state)
{
    if (layout->v2_mount == NULL)
        skip();
    /* View the cgroup2 mount alone, as on a pure-v2 host: the device rules then go through the
     * BPF program, and the cgroup fd is offered for clone3. */
    struct oci_cgroup_layout v2only = {.mode = OCI_CGROUP_UNIFIED,
                                       .v2_mount = layout->v2_mount,
                                       .v2_root = layout->v2_root,
                                       .v2_own = layout->v2_own,
                                       .v2_controllers = layout->v2_controllers};
    struct oci_cgroup *cg = make(&v2only, "bpf", deny_all_but_null, OCI_CGROUP_NO_DEFAULT_DEVICES);
    int fd = oci_cgroup_clone_fd(cg);
    assert_true(fd >= 0);
    assert_int_equal(attached_programs(fd), 1);
    int st = clone_into(fd, probe_devices);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 1 | 4);
    /* Replacing the rules replaces the program (not ANDed with the old one). */
    struct oci_linux_resources r = {0};
    parse_res(allow_zero_too, &r);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_NO_DEFAULT_DEVICES, &err) < 0)
        fail_msg("update devices: %s", lcow_error_message(err));
    oci_linux_resources_done(&r);
    assert_int_equal(attached_programs(fd), 1);
    st = clone_into(fd, probe_devices);
    assert_int_equal(WEXITSTATUS(st), 1 | 2);
    destroy(cg);
}

static pid_t clone_into_nowait(int cgfd, int (*fn)(void *), void *arg)
{
    struct lcow_clone_args args = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgfd};
    long pid = sys_clone3(&args);
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        _exit(fn(arg));
    }
    return (pid_t)pid;
}

/* cgroup2's own freezer (cgroup.freeze + cgroup.events) and cgroup.kill. */
static void test_v2_freeze_and_kill(void **state)
{
    if (layout->v2_mount == NULL)
        skip();
    struct oci_cgroup_layout v2only = {.mode = OCI_CGROUP_UNIFIED,
                                       .v2_mount = layout->v2_mount,
                                       .v2_root = layout->v2_root,
                                       .v2_own = layout->v2_own,
                                       .v2_controllers = layout->v2_controllers};
    struct oci_cgroup *cg = make(&v2only, "v2fk", NULL, 0);
    int fd = oci_cgroup_clone_fd(cg);
    volatile uint64_t *counter =
        mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(counter != MAP_FAILED);
    pid_t a = clone_into_nowait(fd, count_forever, (void *)counter);
    pid_t b = clone_into_nowait(fd, do_pause, NULL);
    sleep_ms(20);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_freeze(cg, true, &err) < 0)
        fail_msg("v2 freeze: %s", lcow_error_message(err));
    assert_int_equal(oci_cgroup_is_frozen(cg, NULL), 1);
    uint64_t c = *counter;
    sleep_ms(100);
    assert_true(*counter == c);
    assert_int_equal(oci_cgroup_freeze(cg, false, NULL), 0);
    assert_int_equal(oci_cgroup_is_frozen(cg, NULL), 0);
    sleep_ms(50);
    assert_true(*counter > c);
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    assert_int_equal(oci_cgroup_pids(cg, &pids, &n, NULL), 0);
    assert_int_equal(n, 2);
    /* SIGKILL through cgroup.kill (kernel 5.14+). */
    assert_int_equal(oci_cgroup_kill_all(cg, SIGKILL, &err), 0);
    int st = wait_status(a);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    st = wait_status(b);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    munmap((void *)counter, 4096);
    destroy(cg);
}

static int setup(void **state)
{
    test_root = getenv("LCOW_CG_TEST");
    if (test_root == NULL || strchr(test_root, '/') != NULL || strncmp(test_root, "lcow-test-", 10))
        return -1; /* only ever under a test-owned top directory */
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_layout_detect(NULL, &layout, &err) < 0) {
        fprintf(stderr, "detect: %s\n", lcow_error_message(err));
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    layout = oci_cgroup_layout_free(layout);
    return 0;
}

int main(void)
{
    if (geteuid() != 0) {
        printf("needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_memory_limit_and_oom),
        cmocka_unit_test(test_pids_limit),
        cmocka_unit_test(test_resources_read_back),
        cmocka_unit_test(test_freeze_thaw),
        cmocka_unit_test(test_reuse_requires_empty),
        cmocka_unit_test(test_pids_kill_all_destroy),
        cmocka_unit_test(test_stats),
        cmocka_unit_test(test_devices_v1),
        cmocka_unit_test(test_devices_v1_live_update),
        cmocka_unit_test(test_devices_bpf_v2),
        cmocka_unit_test(test_v2_freeze_and_kill),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
