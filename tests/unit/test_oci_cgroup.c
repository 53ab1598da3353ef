/* Unit tests for oci/cgroup*: value conversions, path cleaning, layout detection from a fake
 * mountinfo, cgroupsPath → directory mapping, resource files written into a fake cgroupfs tree
 * (v1 and v2 shapes), rollback of a failed create, and the v2 device BPF program checked by a
 * small interpreter against v1 rule semantics. No real cgroup is touched here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/json.h"
#include "oci/cgroup.h"
#include "oci/spec_resources.h"

/* ---------------------------------------------------------------- conversions, paths */

static void test_conversions(void **state)
{
    assert_int_equal(oci_cgroup_shares_to_weight(0), 0);
    assert_int_equal(oci_cgroup_shares_to_weight(2), 1);
    assert_int_equal(oci_cgroup_shares_to_weight(1024), 39);
    assert_int_equal(oci_cgroup_shares_to_weight(262144), 10000);
    assert_int_equal(oci_cgroup_shares_to_weight(1), 1);            /* clamped */
    assert_int_equal(oci_cgroup_shares_to_weight(1u << 30), 10000); /* clamped */
    assert_int_equal(oci_cgroup_blkio_to_io_weight(0), 0);
    assert_int_equal(oci_cgroup_blkio_to_io_weight(10), 1);
    assert_int_equal(oci_cgroup_blkio_to_io_weight(500), 4950);
    assert_int_equal(oci_cgroup_blkio_to_io_weight(1000), 10000);
    int64_t v = 7;
    assert_int_equal(oci_cgroup_swap_to_v2(0, 0, &v, NULL), 0);
    assert_int_equal(v, 0);
    assert_int_equal(oci_cgroup_swap_to_v2(0, -1, &v, NULL), 0);
    assert_int_equal(v, -1);
    assert_int_equal(oci_cgroup_swap_to_v2(-1, 100, &v, NULL), 0);
    assert_int_equal(v, -1);
    assert_int_equal(oci_cgroup_swap_to_v2(300, 100, &v, NULL), 0);
    assert_int_equal(v, 200);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_swap_to_v2(50, 100, &v, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "memory.swap"));
    assert_int_equal(oci_cgroup_swap_to_v2(50, 0, &v, NULL), -EINVAL);
    assert_int_equal(oci_cgroup_swap_to_v2(50, -1, &v, NULL), -EINVAL);
}

static void test_clean_path(void **state)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"/", "/"},
        {"/a/../b", "/b"},
        {"a/../../b", "b"},
        {"../x", "x"},
        {"/..", "/"},
        {"a//b/./c/", "a/b/c"},
        {"/a/b/..", "/a"},
        {"/../../etc", "/etc"},
        {"./.", ""},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        cleanup_free char *c = oci_cgroup_clean_path(cases[i][0]);
        if (strcmp(c, cases[i][1]) != 0)
            fail_msg("clean(`%s`) = `%s`, want `%s`", cases[i][0], c, cases[i][1]);
    }
}

/* ---------------------------------------------------------------- fake tree */

struct fake {
    char root[64];
    char mountinfo[128];
    char self[128];
};

static void write_text(const char *path, const char *text)
{
    assert_int_equal(lcow_write_file(path, text, strlen(text), 0, 0644, NULL), 0);
}

static void mkdirs(const char *root, const char *rel)
{
    char p[512];
    snprintf(p, sizeof(p), "%s%s", root, rel);
    assert_int_equal(lcow_mkdir_p(p, 0755, NULL), 0);
}

/* The CI machine's layout: v1 controllers, cgroup2 at unified/ owning only hugetlb, the
 * caller in a nested memory cgroup. */
static const char hybrid_mountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "36 31 0:33 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices\n"
    "37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer\n"
    "38 31 0:35 / /sys/fs/cgroup/blkio rw,relatime - cgroup cgroup rw,blkio\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:5 - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "50 23 0:40 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\n";

static const char hybrid_self[] = "9:name=systemd:/\n8:pids:/\n5:devices:/\n4:memory:/process_api/"
                                  "abc\n2:cpu,cpuacct:/\n6:freezer:/\n7:blkio:/\n0::/\n";

static int fake_setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/lcow-cgfake-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->mountinfo, sizeof(f->mountinfo), "%s/mountinfo", f->root);
    snprintf(f->self, sizeof(f->self), "%s/self_cgroup", f->root);
    write_text(f->mountinfo, hybrid_mountinfo);
    write_text(f->self, hybrid_self);
    mkdirs(f->root, "/sys/fs/cgroup/unified");
    char p[256];
    snprintf(p, sizeof(p), "%s/sys/fs/cgroup/unified/cgroup.controllers", f->root);
    write_text(p, "hugetlb\n");
    *state = f;
    return 0;
}

static int rm_rf(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", "--one-file-system", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return st;
}

static int fake_teardown(void **state)
{
    struct fake *f = *state;
    rm_rf(f->root);
    free(f);
    return 0;
}

static struct oci_cgroup_layout *detect(const struct fake *f)
{
    struct oci_cgroup_sources src = {
        .mountinfo = f->mountinfo, .self_cgroup = f->self, .prefix = f->root};
    struct oci_cgroup_layout *l = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_layout_detect(&src, &l, &err) < 0)
        fail_msg("detect: %s", lcow_error_message(err));
    return l;
}

/* The end of a test that swapped in its own layout: frees what it made, removes the cgroup and
 * puts the CI machine's hybrid layout back for the next test. */
static void finish(struct fake *f, struct oci_linux_resources *r, struct oci_cgroup *cg,
                   struct oci_cgroup_layout *l)
{
    oci_linux_resources_done(r);
    oci_cgroup_destroy(cg, NULL);
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(l);
    write_text(f->mountinfo, hybrid_mountinfo);
    write_text(f->self, hybrid_self);
}

static void test_detect_hybrid(void **state)
{
    struct fake *f = *state;
    struct oci_cgroup_layout *l = detect(f);
    char want[256];
    assert_int_equal(l->mode, OCI_CGROUP_HYBRID);
    snprintf(want, sizeof(want), "%s/sys/fs/cgroup/cpu,cpuacct", f->root);
    assert_string_equal(l->v1_mount[OCI_CG_CPU], want);
    assert_string_equal(l->v1_mount[OCI_CG_CPUACCT], want);
    assert_null(l->v1_mount[OCI_CG_HUGETLB]);
    assert_null(l->v1_mount[OCI_CG_CPUSET]);
    assert_non_null(l->v1_mount[OCI_CG_SYSTEMD]);
    assert_string_equal(l->v1_own[OCI_CG_MEMORY], "/process_api/abc");
    assert_string_equal(l->v1_own[OCI_CG_CPUACCT], "/");
    snprintf(want, sizeof(want), "%s/sys/fs/cgroup/unified", f->root);
    assert_string_equal(l->v2_mount, want);
    assert_string_equal(l->v2_own, "/");
    assert_int_equal(l->v2_controllers, 1u << OCI_CG_HUGETLB);
    assert_true(oci_cgroup_layout_has(l, OCI_CG_HUGETLB));
    assert_true(oci_cgroup_layout_has(l, OCI_CG_MEMORY));
    assert_false(oci_cgroup_layout_has(l, OCI_CG_CPUSET));
    assert_false(oci_cgroup_layout_has(l, OCI_CG_NET_CLS));
    assert_string_equal(oci_cgroup_mode_name(l->mode), "hybrid");
    assert_string_equal(oci_cgroup_ctrl_name(OCI_CG_BLKIO, true), "io");
    oci_cgroup_layout_free(l);
}

static void test_detect_other_modes(void **state)
{
    struct fake *f = *state;
    /* Pure v2, inside a cgroup namespace whose root is not "/" in mountinfo. */
    write_text(f->mountinfo, "30 23 0:26 /kubepods /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
                             "31 23 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw\n");
    write_text(f->self, "0::/kubepods/pod1\n");
    struct oci_cgroup_layout *l = detect(f);
    assert_int_equal(l->mode, OCI_CGROUP_UNIFIED);
    char want[256];
    snprintf(want, sizeof(want), "%s/sys/fs/cgroup", f->root);
    assert_string_equal(l->v2_mount, want); /* the canonical mount wins, whatever the order */
    struct oci_cgroup *cg = NULL;
    /* Relative path: under the caller's own cgroup minus the mount root. */
    assert_int_equal(oci_cgroup_open(l, "ctr", NULL, &cg, NULL), -ENOENT);
    assert_int_equal(oci_cgroup_create(l, "ctr", NULL, 0, &cg, NULL), 0);
    snprintf(want, sizeof(want), "%s/sys/fs/cgroup/pod1/ctr", f->root);
    assert_string_equal(oci_cgroup_v2_dir(cg), want);
    assert_true(oci_cgroup_clone_fd(cg) >= 0);
    assert_int_equal(oci_cgroup_destroy(cg, NULL), 0);
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(l);

    write_text(f->mountinfo, "32 31 0:29 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n");
    write_text(f->self, "4:memory:/\n");
    l = detect(f);
    assert_int_equal(l->mode, OCI_CGROUP_LEGACY);
    assert_null(l->v2_mount);
    oci_cgroup_layout_free(l);

    write_text(f->mountinfo, "50 23 0:40 / /mnt rw - ext4 /dev/sda1 rw\n");
    struct oci_cgroup_sources src = {
        .mountinfo = f->mountinfo, .self_cgroup = f->self, .prefix = f->root};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_layout_detect(&src, &l, &err), -ENOENT);
    write_text(f->mountinfo, hybrid_mountinfo);
    write_text(f->self, hybrid_self);
}

static char *fpath(const struct fake *f, const char *rel)
{
    char *p = NULL;
    assert_true(asprintf(&p, "%s%s", f->root, rel) > 0);
    return p;
}

static void test_paths_absolute_and_relative(void **state)
{
    struct fake *f = *state;
    struct oci_cgroup_layout *l = detect(f);
    struct oci_cgroup *cg = NULL;
    cleanup_error struct lcow_error *err = NULL;
    /* Relative: under the caller's own cgroup in each hierarchy (runc's cgroupfs driver). */
    assert_int_equal(oci_cgroup_create(l, "", "ctr1", OCI_CGROUP_EXCLUSIVE, &cg, &err), 0);
    cleanup_free char *mem = fpath(f, "/sys/fs/cgroup/memory/process_api/abc/ctr1");
    cleanup_free char *pids = fpath(f, "/sys/fs/cgroup/pids/ctr1");
    cleanup_free char *v2 = fpath(f, "/sys/fs/cgroup/unified/ctr1");
    assert_string_equal(oci_cgroup_dir(cg, OCI_CG_MEMORY), mem);
    assert_string_equal(oci_cgroup_dir(cg, OCI_CG_PIDS), pids);
    assert_string_equal(oci_cgroup_v2_dir(cg), v2);
    /* hugetlb lives on cgroup2 in hybrid mode; devices stay on v1. */
    assert_string_equal(oci_cgroup_dir(cg, OCI_CG_HUGETLB), v2);
    assert_null(oci_cgroup_dir(cg, OCI_CG_CPUSET));
    assert_string_equal(oci_cgroup_path(cg), "ctr1");
    assert_int_equal(oci_cgroup_clone_fd(cg), -1); /* hybrid: v1 needs cgroup.procs anyway */
    struct stat st;
    assert_int_equal(stat(mem, &st), 0);
    assert_int_equal(stat(v2, &st), 0);
    /* A second exclusive create fails and leaves the first one alone. */
    struct oci_cgroup *dup = NULL;
    assert_int_equal(oci_cgroup_create(l, "ctr1", NULL, OCI_CGROUP_EXCLUSIVE, &dup, NULL), -EEXIST);
    assert_int_equal(stat(mem, &st), 0);
    assert_int_equal(oci_cgroup_destroy(cg, &err), 0);
    assert_int_equal(stat(mem, &st), -1);
    assert_int_equal(stat(v2, &st), -1);
    oci_cgroup_free(cg);

    /* Absolute: relative to each hierarchy's root, whatever the caller's cgroup; ".." clamps. */
    assert_int_equal(oci_cgroup_create(l, "/../lcow/x/../c2", "id", 0, &cg, &err), 0);
    cleanup_free char *mem2 = fpath(f, "/sys/fs/cgroup/memory/lcow/c2");
    assert_string_equal(oci_cgroup_dir(cg, OCI_CG_MEMORY), mem2);
    assert_string_equal(oci_cgroup_path(cg), "/lcow/c2");
    struct oci_cgroup *again = NULL;
    assert_int_equal(oci_cgroup_open(l, "/lcow/c2", NULL, &again, NULL), 0);
    assert_string_equal(oci_cgroup_dir(again, OCI_CG_MEMORY), mem2);
    oci_cgroup_free(again);
    assert_int_equal(oci_cgroup_destroy(cg, NULL), 0);
    oci_cgroup_free(cg);
    assert_int_equal(oci_cgroup_create(l, "/", "x", 0, &cg, NULL), -EINVAL);
    assert_int_equal(oci_cgroup_create(l, NULL, NULL, 0, &cg, NULL), -EINVAL);
    oci_cgroup_layout_free(l);
}

static void test_create_rollback(void **state)
{
    struct fake *f = *state;
    struct oci_cgroup_layout *l = detect(f);
    /* The leaf exists in one hierarchy only: an exclusive create fails and removes what it
     * made elsewhere, including new parents. */
    mkdirs(f->root, "/sys/fs/cgroup/pids/rb/leaf");
    struct oci_cgroup *cg = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_create(l, "/rb/leaf", NULL, OCI_CGROUP_EXCLUSIVE, &cg, &err),
                     -EEXIST);
    assert_non_null(strstr(err->msg, "already exists"));
    assert_null(cg);
    struct stat st;
    cleanup_free char *mem = fpath(f, "/sys/fs/cgroup/memory/rb");
    cleanup_free char *pids = fpath(f, "/sys/fs/cgroup/pids/rb/leaf");
    assert_int_equal(stat(mem, &st), -1);
    assert_int_equal(stat(pids, &st), 0); /* not ours: kept */
    oci_cgroup_layout_free(l);
}

/* ---------------------------------------------------------------- writers on a fake tree */

/* dir + suffix in a buffer that lives until the next call (tests only). */
static const char *join2(const char *dir, const char *suffix)
{
    static char buf[512];
    snprintf(buf, sizeof(buf), "%s%s", dir, suffix);
    return buf;
}

static void touch(const char *dir, const char *file)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    write_text(p, "");
}

static void expect_file(const char *dir, const char *file, const char *want)
{
    char p[512];
    cleanup_free char *got = NULL;
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    assert_int_equal(lcow_read_file(p, 4096, &got, NULL, NULL), 0);
    /* Files are reused across writes without truncation: compare the prefix written last. */
    if (strncmp(got, want, strlen(want)) != 0)
        fail_msg("%s = `%s`, want `%s`", file, got, want);
}

static void parse_res(const char *doc, struct oci_linux_resources *r)
{
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "r", &o, NULL), 0);
    assert_int_equal(oci_linux_resources_parse(o, "linux.resources", r, NULL), 0);
}

static void test_v1_files(void **state)
{
    struct fake *f = *state;
    struct oci_cgroup_layout *l = detect(f);
    struct oci_cgroup *cg = NULL;
    assert_int_equal(oci_cgroup_create(l, "/w1", NULL, 0, &cg, NULL), 0);
    const char *mem = oci_cgroup_dir(cg, OCI_CG_MEMORY), *cpu = oci_cgroup_dir(cg, OCI_CG_CPU);
    const char *pids = oci_cgroup_dir(cg, OCI_CG_PIDS), *dev = oci_cgroup_dir(cg, OCI_CG_DEVICES);
    const char *blk = oci_cgroup_dir(cg, OCI_CG_BLKIO), *v2 = oci_cgroup_v2_dir(cg);
    static const char *const memf[] = {"memory.limit_in_bytes",      "memory.memsw.limit_in_bytes",
                                       "memory.soft_limit_in_bytes", "memory.swappiness",
                                       "memory.oom_control",         "memory.use_hierarchy"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(memf); i++)
        touch(mem, memf[i]);
    write_text(join2(mem, "/memory.limit_in_bytes"), "9223372036854771712\n");
    static const char *const cpuf[] = {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us",
                                       "cpu.rt_period_us", "cpu.rt_runtime_us"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cpuf); i++)
        touch(cpu, cpuf[i]);
    touch(pids, "pids.max");
    touch(dev, "devices.allow");
    touch(dev, "devices.deny");
    static const char *const blkf[] = {"blkio.weight", "blkio.weight_device",
                                       "blkio.throttle.read_bps_device",
                                       "blkio.throttle.write_iops_device"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(blkf); i++)
        touch(blk, blkf[i]);
    touch(v2, "hugetlb.2MB.max");
    touch(v2, "memory.high");

    struct oci_linux_resources r = {0};
    parse_res("{\"memory\":{\"limit\":1048576,\"swap\":2097152,\"reservation\":524288,"
              "\"swappiness\":10,\"disableOOMKiller\":true,\"useHierarchy\":true},"
              "\"cpu\":{\"shares\":512,\"quota\":50000,\"period\":100000,"
              "\"realtimePeriod\":1000000,\"realtimeRuntime\":5000},"
              "\"pids\":{\"limit\":-1},"
              "\"blockIO\":{\"weight\":300,\"weightDevice\":[{\"major\":8,\"minor\":0,\"weight\":"
              "700}],\"throttleReadBpsDevice\":[{\"major\":8,\"minor\":0,\"rate\":1000}],"
              "\"throttleWriteIOPSDevice\":[{\"major\":8,\"minor\":16,\"rate\":30}]},"
              "\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304}],"
              "\"unified\":{\"memory.high\":\"123456\"},"
              "\"devices\":[{\"allow\":false,\"access\":\"rwm\"},{\"allow\":true,\"type\":\"c\","
              "\"major\":10,\"minor\":200,\"access\":\"rw\"}]}",
              &r);
    cleanup_error struct lcow_error *err = NULL;
    /* cpu.shares is read back and compared: the fake file keeps what we write. */
    if (oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_NO_DEFAULT_DEVICES, &err) < 0)
        fail_msg("apply: %s", lcow_error_message(err));
    expect_file(mem, "memory.limit_in_bytes", "1048576");
    expect_file(mem, "memory.memsw.limit_in_bytes", "2097152");
    expect_file(mem, "memory.soft_limit_in_bytes", "524288");
    expect_file(mem, "memory.swappiness", "10");
    expect_file(mem, "memory.oom_control", "1");
    expect_file(mem, "memory.use_hierarchy", "1");
    expect_file(cpu, "cpu.shares", "512");
    expect_file(cpu, "cpu.cfs_period_us", "100000");
    expect_file(cpu, "cpu.cfs_quota_us", "50000");
    expect_file(cpu, "cpu.rt_period_us", "1000000");
    expect_file(cpu, "cpu.rt_runtime_us", "5000");
    expect_file(pids, "pids.max", "max");
    expect_file(blk, "blkio.weight", "300");
    expect_file(blk, "blkio.weight_device", "8:0 700");
    expect_file(blk, "blkio.throttle.read_bps_device", "8:0 1000");
    expect_file(blk, "blkio.throttle.write_iops_device", "8:16 30");
    expect_file(v2, "hugetlb.2MB.max", "4194304"); /* hybrid: hugetlb through cgroup2 */
    expect_file(v2, "memory.high", "123456");      /* unified map goes to cgroup2 in hybrid */
    expect_file(dev, "devices.deny", "a");
    expect_file(dev, "devices.allow", "c 10:200 rw");
    oci_linux_resources_done(&r);

    /* A resource whose controller is nowhere: a clear error naming it. */
    parse_res("{\"cpu\":{\"cpus\":\"0\"}}", &r);
    lcow_error_release(&err);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, 0, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err->msg, "linux.resources.cpu.cpus/mems"));
    oci_linux_resources_done(&r);
    /* net_cls is not mounted: an error as in runc, unless the value means "unset". */
    parse_res("{\"network\":{\"classID\":7}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, NULL), -EOPNOTSUPP);
    oci_linux_resources_done(&r);
    parse_res("{\"network\":{\"priorities\":[{\"name\":\"lo\",\"priority\":1}]}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, NULL), -EOPNOTSUPP);
    oci_linux_resources_done(&r);
    parse_res("{\"network\":{\"classID\":0}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, NULL), 0);
    oci_linux_resources_done(&r);
    oci_cgroup_destroy(cg, NULL);
    oci_cgroup_free(cg);
    oci_cgroup_layout_free(l);
}

static void test_v2_files(void **state)
{
    struct fake *f = *state;
    write_text(f->mountinfo, "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n");
    write_text(f->self, "0::/\n");
    mkdirs(f->root, "/sys/fs/cgroup");
    char p[256];
    snprintf(p, sizeof(p), "%s/sys/fs/cgroup/cgroup.controllers", f->root);
    write_text(p, "cpuset cpu io memory hugetlb pids rdma misc\n");
    snprintf(p, sizeof(p), "%s/sys/fs/cgroup/cgroup.subtree_control", f->root);
    write_text(p, "");
    struct oci_cgroup_layout *l = detect(f);
    assert_int_equal(l->mode, OCI_CGROUP_UNIFIED);
    struct oci_cgroup *cg = NULL;
    assert_int_equal(oci_cgroup_create(l, "/v2c", NULL, 0, &cg, NULL), 0);
    assert_true(oci_cgroup_clone_fd(cg) >= 0);
    const char *d = oci_cgroup_v2_dir(cg);
    assert_string_equal(oci_cgroup_dir(cg, OCI_CG_MEMORY), d);
    /* The parent's subtree_control got every offered controller (the last one written). */
    expect_file(join2(f->root, "/sys/fs/cgroup"), "cgroup.subtree_control", "+misc");
    static const char *const files[] = {
        "memory.max", "memory.swap.max", "memory.low",      "memory.current", "cpu.weight",
        "cpu.max",    "cpu.max.burst",   "cpuset.cpus",     "cpuset.mems",    "io.weight",
        "io.max",     "pids.max",        "hugetlb.1GB.max", "rdma.max"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(files); i++)
        touch(d, files[i]);
    write_text(join2(d, "/memory.current"), "4096\n");
    struct oci_linux_resources r = {0};
    parse_res("{\"memory\":{\"limit\":1048576,\"swap\":3145728,\"reservation\":-1,"
              "\"checkBeforeUpdate\":true,\"swappiness\":5},"
              "\"cpu\":{\"shares\":1024,\"quota\":20000,\"period\":50000,\"burst\":100,"
              "\"cpus\":\"0\",\"mems\":\"0\"},"
              "\"blockIO\":{\"weight\":500,\"throttleWriteBpsDevice\":[{\"major\":8,"
              "\"minor\":0,\"rate\":99}]},"
              "\"pids\":{\"limit\":64},"
              "\"hugepageLimits\":[{\"pageSize\":\"1GB\",\"limit\":0}],"
              "\"rdma\":{\"mlx5_0\":{\"hcaHandles\":2}}}",
              &r);
    cleanup_error struct lcow_error *err = NULL;
    /* No device rules and OCI_CGROUP_UPDATE: the BPF program is not touched (not loadable on a
     * fake directory anyway). */
    if (oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err) < 0)
        fail_msg("apply: %s", lcow_error_message(err));
    expect_file(d, "memory.max", "1048576");
    expect_file(d, "memory.swap.max", "2097152"); /* memsw - limit */
    expect_file(d, "memory.low", "max");
    expect_file(d, "cpu.weight", "39");
    expect_file(d, "cpu.max", "20000 50000");
    expect_file(d, "cpu.max.burst", "100");
    expect_file(d, "cpuset.cpus", "0");
    expect_file(d, "io.weight", "4950");
    expect_file(d, "io.max", "8:0 wbps=99");
    expect_file(d, "pids.max", "64");
    expect_file(d, "hugetlb.1GB.max", "0");
    expect_file(d, "rdma.max", "mlx5_0 hca_handle=2");
    oci_linux_resources_done(&r);

    /* checkBeforeUpdate refuses a limit below current usage. */
    parse_res("{\"memory\":{\"limit\":1024,\"checkBeforeUpdate\":true}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err), -EBUSY);
    oci_linux_resources_done(&r);
    lcow_error_release(&err);
    /* Realtime has no v2 file: an error, not silence. */
    parse_res("{\"cpu\":{\"realtimeRuntime\":5}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err), -EOPNOTSUPP);
    oci_linux_resources_done(&r);
    lcow_error_release(&err);
    /* An unknown unified key names the file. */
    parse_res("{\"unified\":{\"memory.nonexistent\":\"1\"}}", &r);
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err), -ENOENT);
    assert_non_null(strstr(err->msg, "memory.nonexistent"));
    finish(f, &r, cg, l);
}

static void test_v1_net_and_rdma(void **state)
{
    struct fake *f = *state;
    write_text(
        f->mountinfo,
        "33 31 0:40 / /sys/fs/cgroup/net_cls,net_prio rw - cgroup cgroup rw,net_cls,net_prio\n"
        "34 31 0:41 / /sys/fs/cgroup/rdma rw - cgroup cgroup rw,rdma\n");
    write_text(f->self, "3:net_cls,net_prio:/\n10:rdma:/\n");
    struct oci_cgroup_layout *l = detect(f);
    struct oci_cgroup *cg = NULL;
    assert_int_equal(oci_cgroup_create(l, "/net", NULL, OCI_CGROUP_EXCLUSIVE, &cg, NULL), 0);
    const char *net = oci_cgroup_dir(cg, OCI_CG_NET_CLS), *rdma = oci_cgroup_dir(cg, OCI_CG_RDMA);
    assert_string_equal(net, oci_cgroup_dir(cg, OCI_CG_NET_PRIO)); /* co-mounted */
    touch(net, "net_cls.classid");
    touch(net, "net_prio.ifpriomap");
    touch(rdma, "rdma.max");
    struct oci_linux_resources r = {0};
    parse_res("{\"network\":{\"classID\":1048577,\"priorities\":[{\"name\":\"eth0\","
              "\"priority\":7}]},\"rdma\":{\"mlx5_0\":{\"hcaHandles\":3,\"hcaObjects\":9}}}",
              &r);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_apply(cg, &r, NULL, 0, &err) < 0)
        fail_msg("apply: %s", lcow_error_message(err));
    expect_file(net, "net_cls.classid", "1048577");
    expect_file(net, "net_prio.ifpriomap", "eth0 7");
    expect_file(rdma, "rdma.max", "mlx5_0 hca_handle=3 hca_object=9");
    finish(f, &r, cg, l);
}

/* A v1 hugetlb hierarchy: limit_in_bytes, and the reservation file when the kernel has it. */
static void test_v1_hugetlb(void **state)
{
    struct fake *f = *state;
    write_text(f->mountinfo, "33 31 0:40 / /sys/fs/cgroup/hugetlb rw - cgroup cgroup rw,hugetlb\n");
    write_text(f->self, "3:hugetlb:/\n");
    struct oci_cgroup_layout *l = detect(f);
    struct oci_cgroup *cg = NULL;
    assert_int_equal(oci_cgroup_create(l, "/huge", NULL, OCI_CGROUP_EXCLUSIVE, &cg, NULL), 0);
    const char *h = oci_cgroup_dir(cg, OCI_CG_HUGETLB);
    assert_non_null(h);
    touch(h, "hugetlb.2MB.limit_in_bytes");
    touch(h, "hugetlb.2MB.rsvd.limit_in_bytes");
    touch(h, "hugetlb.1GB.limit_in_bytes"); /* no rsvd file: an older kernel */
    struct oci_linux_resources r = {0};
    parse_res("{\"hugepageLimits\":[{\"pageSize\":\"2MB\",\"limit\":4194304},"
              "{\"pageSize\":\"1GB\",\"limit\":0}]}",
              &r);
    cleanup_error struct lcow_error *err = NULL;
    if (oci_cgroup_apply(cg, &r, NULL, 0, &err) < 0)
        fail_msg("apply: %s", lcow_error_message(err));
    expect_file(h, "hugetlb.2MB.limit_in_bytes", "4194304");
    expect_file(h, "hugetlb.2MB.rsvd.limit_in_bytes", "4194304");
    expect_file(h, "hugetlb.1GB.limit_in_bytes", "0");
    char p[512];
    snprintf(p, sizeof(p), "%s/hugetlb.1GB.rsvd.limit_in_bytes", h);
    assert_int_equal(access(p, F_OK), -1);
    finish(f, &r, cg, l);
}

static void test_unified_on_legacy(void **state)
{
    struct fake *f = *state;
    write_text(f->mountinfo, "32 31 0:29 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n");
    write_text(f->self, "8:pids:/\n");
    struct oci_cgroup_layout *l = detect(f);
    struct oci_cgroup *cg = NULL;
    assert_int_equal(oci_cgroup_create(l, "/leg", NULL, 0, &cg, NULL), 0);
    struct oci_linux_resources r = {0};
    parse_res("{\"unified\":{\"pids.max\":\"5\"}}", &r);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_cgroup_apply(cg, &r, NULL, OCI_CGROUP_UPDATE, &err), -EOPNOTSUPP);
    assert_non_null(strstr(err->msg, "unified"));
    finish(f, &r, cg, l);
}

/* ---------------------------------------------------------------- device BPF program */

/* Runs the subset of eBPF the generator emits on a bpf_cgroup_dev_ctx; returns r0. */
static int64_t interpret(const struct bpf_insn *p, size_t n, uint32_t type, uint32_t access,
                         uint32_t major, uint32_t minor)
{
    uint32_t ctx[3] = {(access << 16) | type, major, minor};
    uint64_t r[11] = {0};
    for (size_t pc = 0; pc < n; pc++) {
        const struct bpf_insn *i = &p[pc];
        switch (i->code) {
        case BPF_LDX | BPF_MEM | BPF_W:
            assert_int_equal(i->src_reg, 1);
            r[i->dst_reg] = ctx[i->off / 4];
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] & (uint32_t)i->imm;
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
            break;
        case BPF_ALU | BPF_MOV | BPF_X:
            r[i->dst_reg] = (uint32_t)r[i->src_reg];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            r[i->dst_reg] = (uint64_t)(int64_t)i->imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i->dst_reg] != (uint64_t)(int64_t)i->imm)
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_JNE | BPF_X:
            if (r[i->dst_reg] != r[i->src_reg])
                pc += (size_t)i->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return (int64_t)r[0];
        default:
            fail_msg("unexpected opcode 0x%x at %zu", i->code, pc);
        }
    }
    fail_msg("fell off the end of the program");
    return -1;
}

/* Reference semantics of a v1 rule list: the last matching rule decides, default deny. */
static int reference(const struct oci_device_rule *rules, size_t n, char type, uint32_t acc,
                     int64_t major, int64_t minor)
{
    int verdict = 0;
    for (size_t i = 0; i < n; i++) {
        const struct oci_device_rule *d = &rules[i];
        uint32_t have = 0;
        for (const char *c = d->access; *c; c++)
            have |= *c == 'r'   ? BPF_DEVCG_ACC_READ
                    : *c == 'w' ? BPF_DEVCG_ACC_WRITE
                                : BPF_DEVCG_ACC_MKNOD;
        if ((d->type == 'a' || d->type == type) && (d->major < 0 || d->major == major) &&
            (d->minor < 0 || d->minor == minor) && (acc & have) == acc)
            verdict = d->allow;
    }
    return verdict;
}

static void check_program(const struct oci_device_rule *rules, size_t n)
{
    struct bpf_insn *prog = NULL;
    size_t len = 0;
    assert_int_equal(oci_cgroup_devices_bpf_build(rules, n, &prog, &len, NULL), 0);
    static const char types[] = {'c', 'b'};
    static const uint32_t accs[] = {BPF_DEVCG_ACC_READ, BPF_DEVCG_ACC_WRITE, BPF_DEVCG_ACC_MKNOD,
                                    BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE};
    static const int64_t nums[][2] = {{1, 3}, {1, 5}, {5, 2}, {136, 7}, {8, 0}, {10, 200}};
    for (size_t t = 0; t < LCOW_ARRAY_SIZE(types); t++)
        for (size_t a = 0; a < LCOW_ARRAY_SIZE(accs); a++)
            for (size_t k = 0; k < LCOW_ARRAY_SIZE(nums); k++) {
                uint32_t bt = types[t] == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR;
                int64_t got =
                    interpret(prog, len, bt, accs[a], (uint32_t)nums[k][0], (uint32_t)nums[k][1]);
                int want = reference(rules, n, types[t], accs[a], nums[k][0], nums[k][1]);
                if (got != want)
                    fail_msg("%c %lld:%lld acc %u: program says %lld, v1 semantics %d", types[t],
                             (long long)nums[k][0], (long long)nums[k][1], accs[a], (long long)got,
                             want);
            }
    free(prog);
}

#define R(al, t, ma, mi, acc)                                                                      \
    {                                                                                              \
        .allow = al, .type = t, .major = ma, .minor = mi, .access = acc                            \
    }

static void test_device_program(void **state)
{
    static const struct oci_device_rule deny_all_allow_null[] = {R(false, 'a', -1, -1, "rwm"),
                                                                 R(true, 'c', 1, 3, "rwm")};
    check_program(deny_all_allow_null, LCOW_ARRAY_SIZE(deny_all_allow_null));
    static const struct oci_device_rule mixed[] = {
        R(true, 'c', -1, -1, "m"), R(true, 'b', 8, -1, "r"), R(false, 'c', 1, 5, "w"),
        R(true, 'c', 1, -1, "rw"), R(false, 'c', 1, 3, "r"), R(true, 'c', 10, 200, "rwm"),
    };
    check_program(mixed, LCOW_ARRAY_SIZE(mixed));
    /* Allow-all last: one unconditional block, no unreachable epilogue (the verifier's rule). */
    static const struct oci_device_rule allow_all[] = {R(false, 'c', 1, 3, "rwm"),
                                                       R(true, 'a', -1, -1, "rwm")};
    struct bpf_insn *prog = NULL;
    size_t len = 0;
    assert_int_equal(oci_cgroup_devices_bpf_build(allow_all, 2, &prog, &len, NULL), 0);
    assert_int_equal(len, 6 + 2);
    assert_int_equal(prog[len - 1].code, BPF_JMP | BPF_EXIT);
    free(prog);
    check_program(allow_all, 2);
    check_program(NULL, 0); /* no rules: deny everything */
    size_t n = 0;
    const struct oci_cgroup_default_device *defs = oci_cgroup_default_devices(&n);
    assert_int_equal(n, 10);
    struct oci_device_rule with_defaults[11] = {R(false, 'a', -1, -1, "rwm")};
    for (size_t i = 0; i < n; i++)
        with_defaults[1 + i] = defs[i].rule;
    check_program(with_defaults, 11);
}

static void test_stats_metrics_json(void **state)
{
    struct oci_cg_stat_kv kv[] = {{"cache", 5},
                                  {"pgpgin", 7},
                                  {"hierarchical_memsw_limit", 9},
                                  {"not_a_metrics_field", 1},
                                  {"rss", 0}};
    uint64_t per_cpu[] = {6, 4};
    struct oci_cg_hugetlb_entry huge[] = {{.page_size = "2MB", .failcnt = 3}};
    struct oci_cgroup_stats st = {.has_memory = true,
                                  .mem = {.usage = 100, .max_usage = 200, .limit = 300},
                                  .mem_stat = kv,
                                  .n_mem_stat = LCOW_ARRAY_SIZE(kv),
                                  .oom_kill = 1,
                                  .has_cpu = true,
                                  .cpu_total = 10,
                                  .cpu_user = 4,
                                  .cpu_kernel = 6,
                                  .cpu_per_cpu = per_cpu,
                                  .n_cpu_per_cpu = 2,
                                  .has_pids = true,
                                  .pids_current = 2,
                                  .hugetlb = huge,
                                  .n_hugetlb = 1};
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(oci_cgroup_stats_to_metrics(&st, &o, NULL), 0);
    cleanup_free char *text = lcow_json_to_string(o);
    /* Go's field order and omitempty; blkio/rdma emptied and network dropped as the GCS does. */
    assert_string_equal(
        text, "{\"hugetlb\":[{\"failcnt\":3,\"pagesize\":\"2MB\"}],\"pids\":{\"current\":2},"
              "\"cpu\":{\"usage\":{\"total\":10,\"kernel\":6,\"user\":4,\"per_cpu\":[6,4]},"
              "\"throttling\":{}},\"memory\":{\"cache\":5,\"pg_pg_in\":7,"
              "\"hierarchical_swap_limit\":9,\"usage\":{\"limit\":300,\"usage\":100,\"max\":200},"
              "\"swap\":{},\"kernel\":{},\"kernel_tcp\":{}},\"blkio\":{},\"rdma\":{},"
              "\"memory_oom_control\":{\"oom_kill\":1}}");
    /* Nothing collected: only the two emptied members. */
    struct oci_cgroup_stats none = {0};
    cleanup_json struct json_object *e = NULL;
    assert_int_equal(oci_cgroup_stats_to_metrics(&none, &e, NULL), 0);
    cleanup_free char *etext = lcow_json_to_string(e);
    assert_string_equal(etext, "{\"blkio\":{},\"rdma\":{}}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conversions),
        cmocka_unit_test(test_clean_path),
        cmocka_unit_test(test_detect_hybrid),
        cmocka_unit_test(test_detect_other_modes),
        cmocka_unit_test(test_paths_absolute_and_relative),
        cmocka_unit_test(test_create_rollback),
        cmocka_unit_test(test_v1_files),
        cmocka_unit_test(test_v2_files),
        cmocka_unit_test(test_v1_net_and_rdma),
        cmocka_unit_test(test_v1_hugetlb),
        cmocka_unit_test(test_unified_on_legacy),
        cmocka_unit_test(test_device_program),
        cmocka_unit_test(test_stats_metrics_json),
    };
    return cmocka_run_group_tests(tests, fake_setup, fake_teardown);
}
