/* Unit tests for mount/: option strings, device-mapper table math and ioctl sequence (against a
 * fake ioctl), path validation, filesystem detection, the tool runner. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/devmapper.h"
#include "mount/mount.h"

static void test_overlay_options(void **state)
{
    const char *layers[] = {"/run/layers/p1", "/run/mounts/scsi/m0"};
    struct mount_overlay_config c = {.layers = layers,
                                     .n_layers = 2,
                                     .scratch = "/run/gcs/c/c1/scratch/c1",
                                     .rootfs = "/run/gcs/c/c1/rootfs"};
    cleanup_free char *s = NULL;
    assert_int_equal(mount_overlay_options(&c, &s, NULL), 0);
    assert_string_equal(s, "lowerdir=/run/layers/p1:/run/mounts/scsi/m0,"
                           "upperdir=/run/gcs/c/c1/scratch/c1/upper,"
                           "workdir=/run/gcs/c/c1/scratch/c1/work");
    free(s);
    s = NULL;
    c.scratch = "";
    assert_int_equal(mount_overlay_options(&c, &s, NULL), 0);
    assert_string_equal(s, "lowerdir=/run/layers/p1:/run/mounts/scsi/m0");
}

static void test_overlay_options_bad(void **state)
{
    cleanup_error struct lcow_error *err = NULL;
    const char *bad[] = {"/run/layers/a:b"};
    struct mount_overlay_config c = {.layers = bad, .n_layers = 1, .rootfs = "/run/x/rootfs"};
    char *s = NULL;
    assert_int_equal(mount_overlay_options(&c, &s, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "/run/layers/a:b"));
    lcow_error_release(&err);
    const char *comma[] = {"/run/layers/a,upperdir=/x"};
    c.layers = comma;
    assert_int_equal(mount_overlay_options(&c, &s, &err), -EINVAL);
    lcow_error_release(&err);
    c.n_layers = 0;
    assert_int_equal(mount_overlay_options(&c, &s, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "empty"));
    lcow_error_release(&err);
    c.n_layers = MOUNT_OVERLAY_MAX_LAYERS + 1;
    assert_int_equal(mount_overlay_options(&c, &s, &err), -EINVAL);
    assert_null(s);
}

static void test_bundle_bind_rule(void **state)
{
    assert_false(
        mount_overlay_needs_bundle_bind("/run/gcs/c/c1/rootfs", "/run/gcs/c/c1/scratch/c1"));
    assert_true(
        mount_overlay_needs_bundle_bind("/run/gcs/c/c2/rootfs", "/run/gcs/c/sb/scratch/c2"));
    /* a sibling whose name merely starts with the bundle's is not under it */
    assert_true(mount_overlay_needs_bundle_bind("/run/gcs/c/c1/rootfs", "/run/gcs/c/c1x/scratch"));
    assert_false(mount_overlay_needs_bundle_bind("/run/gcs/c/c1/rootfs", ""));
    assert_false(mount_overlay_needs_bundle_bind("/run/gcs/c/c1/rootfs", NULL));
}

static void test_propagation_words(void **state)
{
    assert_int_equal(mount_propagation_flag("rshared"), MS_SHARED | MS_REC);
    assert_int_equal(mount_propagation_flag("private"), MS_PRIVATE);
    assert_int_equal(mount_propagation_flag("runbindable"), MS_UNBINDABLE | MS_REC);
    assert_int_equal(mount_propagation_flag("slave"), MS_SLAVE);
    assert_int_equal(mount_propagation_flag("ro"), 0);
    assert_int_equal(mount_propagation_flag("noexec"), 0);
    assert_int_equal(mount_propagation_flag(NULL), 0);
}

static void test_dm_sectors(void **state)
{
    uint64_t s = 1, l = 1;
    /* the lcow-host.md example: offset 0, size 8392704 */
    assert_int_equal(mount_dm_linear_sectors(0, 8392704, &s, &l, NULL), 0);
    assert_int_equal(s, 0);
    assert_int_equal(l, 16392);
    assert_int_equal(mount_dm_linear_sectors(4096, 1 << 20, &s, &l, NULL), 0);
    assert_int_equal(s, 8);
    assert_int_equal(l, 2048);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_dm_linear_sectors(100, 4096, &s, &l, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "multiples of 512"));
    lcow_error_release(&err);
    assert_int_equal(mount_dm_linear_sectors(0, 0, &s, &l, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(mount_dm_linear_sectors(UINT64_MAX - 511, 1024, &s, &l, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "overflows"));
    assert_int_equal(s, 8); /* untouched on failure */
}

static void test_dm_table_payload(void **state)
{
    char buf[4096];
    int n = mount_dm_build_linear_load(buf, sizeof(buf), "dm-linear-pmem1-4096-8192", 259, 3, 8, 16,
                                       true, NULL);
    assert_true(n > 0);
    struct dm_ioctl *io = (struct dm_ioctl *)buf;
    assert_int_equal(io->version[0], 4);
    assert_int_equal(io->target_count, 1);
    assert_int_equal(io->flags, DM_READONLY_FLAG);
    assert_string_equal(io->name, "dm-linear-pmem1-4096-8192");
    assert_int_equal(io->data_start, sizeof(struct dm_ioctl));
    struct dm_target_spec *spec = (struct dm_target_spec *)(buf + io->data_start);
    assert_int_equal(spec->sector_start, 0);
    assert_int_equal(spec->length, 16);
    assert_string_equal(spec->target_type, "linear");
    assert_string_equal((char *)(spec + 1), "259:3 8");
    assert_int_equal(spec->next % 8, 0);
    assert_int_equal(io->data_size, io->data_start + spec->next);
    assert_int_equal(n, (int)io->data_size);
    /* names must fit DM_NAME_LEN and hold no `/` */
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(mount_dm_build_linear_load(buf, sizeof(buf), longname, 1, 1, 0, 1, true, NULL),
                     -EINVAL);
    assert_int_equal(mount_dm_build_linear_load(buf, sizeof(buf), "a/b", 1, 1, 0, 1, true, NULL),
                     -EINVAL);
}

static void test_pmem_dm_name(void **state)
{
    struct mount_pmem_config c = {
        .device_number = 1, .mapped = true, .offset_bytes = 0, .size_bytes = 8392704};
    char name[MOUNT_DM_NAME_MAX];
    assert_int_equal(mount_pmem_dm_name(&c, name, sizeof(name)), 0);
    assert_string_equal(name, "dm-linear-pmem1-0-8392704");
}

/* ---- fake device-mapper ----------------------------------------------------------------- */

struct fake_dm {
    unsigned long cmds[32];
    int n;
    int create_busy; /* DM_DEV_CREATE fails with EBUSY this many times */
    int load_errno;  /* DM_TABLE_LOAD fails with this */
    int remove_busy;
    char table[64];
    uint32_t flags;
};

static int fake_ioctl(int fd, unsigned long cmd, struct dm_ioctl *io, void *ctx)
{
    struct fake_dm *f = ctx;
    if (f->n < 32)
        f->cmds[f->n++] = cmd;
    if (cmd == DM_VERSION) {
        io->version[0] = 4;
        io->version[1] = 47;
        return 0;
    }
    if (cmd == DM_DEV_CREATE) {
        if (f->create_busy-- > 0)
            return errno = EBUSY, -1;
        io->dev = makedev(253, 7);
        return 0;
    }
    if (cmd == DM_TABLE_LOAD) {
        if (f->load_errno)
            return errno = f->load_errno, -1;
        struct dm_target_spec *spec = (struct dm_target_spec *)((char *)io + io->data_start);
        snprintf(f->table, sizeof(f->table), "%llu %llu %s %s",
                 (unsigned long long)spec->sector_start, (unsigned long long)spec->length,
                 spec->target_type, (char *)(spec + 1));
        f->flags = io->flags;
        return 0;
    }
    if (cmd == DM_DEV_REMOVE && f->remove_busy-- > 0)
        return errno = EBUSY, -1;
    return 0;
}

struct dm_fixture {
    char dir[64];
    char backing[128];
    struct mount_env env;
    struct fake_dm fake;
};

static int dm_setup(void **state)
{
    if (geteuid() != 0)
        return 0; /* the tests skip: mknod of block nodes needs root */
    struct dm_fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->dir, sizeof(fx->dir), "/tmp/test-mount-dm-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->backing, sizeof(fx->backing), "%s/pmem1", fx->dir);
    assert_int_equal(mknod(fx->backing, S_IFBLK | 0600, makedev(259, 3)), 0);
    mount_env_init(&fx->env);
    fx->env.dev_root = fx->dir;
    fx->env.device_timeout_ms = 2000;
    fx->env.dm_ioctl = fake_ioctl;
    fx->env.dm_ioctl_ctx = &fx->fake;
    *state = fx;
    return 0;
}

static int dm_teardown(void **state)
{
    struct dm_fixture *fx = *state;
    if (fx) {
        (void)mount_remove_tree(fx->dir, NULL);
        free(fx);
    }
    return 0;
}

static void test_dm_create_sequence(void **state)
{
    struct dm_fixture *fx = *state;
    if (!fx)
        skip();
    fx->fake.create_busy = 2;
    cleanup_free char *node = NULL;
    assert_int_equal(mount_dm_create_linear(&fx->env, "dm-linear-pmem1-4096-8192", fx->backing,
                                            4096, 8192, true, &node, NULL),
                     0);
    /* version, 2 busy creates, create, load, resume */
    assert_int_equal(fx->fake.n, 6);
    assert_int_equal(fx->fake.cmds[0], DM_VERSION);
    assert_int_equal(fx->fake.cmds[3], DM_DEV_CREATE);
    assert_int_equal(fx->fake.cmds[4], DM_TABLE_LOAD);
    assert_int_equal(fx->fake.cmds[5], DM_DEV_SUSPEND);
    assert_string_equal(fx->fake.table, "0 16 linear 259:3 8");
    assert_int_equal(fx->fake.flags, DM_READONLY_FLAG);
    struct stat st;
    assert_int_equal(stat(node, &st), 0);
    assert_true(S_ISBLK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(major(st.st_rdev), 253);
    assert_int_equal(minor(st.st_rdev), 7);

    fx->fake.n = 0;
    fx->fake.remove_busy = 3;
    assert_int_equal(mount_dm_remove(&fx->env, "dm-linear-pmem1-4096-8192", NULL), 0);
    assert_int_equal(fx->fake.n, 5); /* version + 3 busy + remove */
    assert_int_equal(stat(node, &st), -1);
}

static void test_dm_create_load_failure(void **state)
{
    struct dm_fixture *fx = *state;
    if (!fx)
        skip();
    fx->fake.load_errno = EINVAL;
    cleanup_error struct lcow_error *err = NULL;
    char *node = NULL;
    assert_int_equal(
        mount_dm_create_linear(&fx->env, "dmx", fx->backing, 0, 4096, true, &node, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "DM_TABLE_LOAD"));
    assert_null(node);
    /* the half-made device is removed again; no node is left */
    assert_int_equal(fx->fake.cmds[fx->fake.n - 1], DM_DEV_REMOVE);
    char path[160];
    snprintf(path, sizeof(path), "%s/mapper/dmx", fx->dir);
    assert_int_equal(access(path, F_OK), -1);
    lcow_error_release(&err);
    /* not a block device */
    snprintf(path, sizeof(path), "%s/plain", fx->dir);
    assert_int_equal(lcow_write_file(path, "x", 1, 0, 0600, NULL), 0);
    assert_int_equal(mount_dm_create_linear(&fx->env, "dmy", path, 0, 4096, true, NULL, &err),
                     -ENOTBLK);
}

/* ---- paths ------------------------------------------------------------------------------ */

static void test_validate_lexical(void **state)
{
    static const char *const bad[] = {
        "",         "relative/path", "/run",        "/run/",
        "/tmp/x",   "/runx/y",       "/run/../etc", "/run/a/../../etc",
        "/run/./a", "/run//a",       "/run/a/",     "/var/run/a",
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        cleanup_error struct lcow_error *err = NULL;
        int r = mount_validate_run_path(bad[i], "MountPath", false, &err);
        if (r == 0)
            fail_msg("`%s` was accepted", bad[i]);
        assert_non_null(strstr(err->msg, "MountPath"));
    }
    assert_int_equal(mount_validate_run_path(NULL, "MountPath", false, NULL), -EINVAL);
    /* a path that does not exist yet is fine: it will be created as directories */
    assert_int_equal(mount_validate_run_path("/run/lcow-unit-nonexistent/a/b", "x", false, NULL),
                     0);
}

static void test_validate_symlinks(void **state)
{
    char dir[] = "/run/lcow-unit-XXXXXX";
    if (!mkdtemp(dir))
        skip(); /* /run not writable here */
    char link[64], inner[80], file[64];
    snprintf(link, sizeof(link), "%s/esc", dir);
    assert_int_equal(symlink("/etc", link), 0);
    snprintf(inner, sizeof(inner), "%s/esc/sub", dir);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_validate_run_path(inner, "MountPath", false, &err), -ELOOP);
    assert_non_null(strstr(err->msg, "symlink"));
    lcow_error_release(&err);
    /* the last component may be a symlink only where allowed (BlockDev removal) */
    assert_int_equal(mount_validate_run_path(link, "MountPath", false, NULL), -ELOOP);
    assert_int_equal(mount_validate_run_path(link, "MountPath", true, NULL), 0);
    snprintf(file, sizeof(file), "%s/f", dir);
    assert_int_equal(lcow_write_file(file, "x", 1, 0, 0600, NULL), 0);
    snprintf(inner, sizeof(inner), "%s/f/sub", dir);
    assert_int_equal(mount_validate_run_path(inner, "MountPath", false, NULL), -ENOTDIR);
    assert_int_equal(mount_remove_tree(dir, NULL), 0);
    assert_int_equal(access(dir, F_OK), -1);
}

static void test_mkdir_tracks_created(void **state)
{
    char dir[] = "/tmp/test-mount-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    cleanup_free char *created = NULL;
    assert_int_equal(mount_mkdir_p(path, 0700, &created, NULL), 0);
    char want[64];
    snprintf(want, sizeof(want), "%s/a", dir);
    assert_string_equal(created, want);
    char *again = (char *)1;
    assert_int_equal(mount_mkdir_p(path, 0700, &again, NULL), 0);
    assert_null(again);
    assert_int_equal(mount_remove_tree(created, NULL), 0);
    assert_int_equal(access(want, F_OK), -1);
    assert_int_equal(rmdir(dir), 0);
}

/* A tree removal must stop at a mount instead of emptying it (root only: it mounts a tmpfs). */
static void test_remove_tree_stops_at_mounts(void **state)
{
    if (geteuid() != 0)
        skip();
    char dir[] = "/tmp/test-mount-rm-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char sub[96], keep[128];
    snprintf(sub, sizeof(sub), "%s/a/m", dir);
    snprintf(keep, sizeof(keep), "%s/keep", sub);
    assert_int_equal(lcow_mkdir_p(sub, 0755, NULL), 0);
    assert_int_equal(mount("tmpfs", sub, "tmpfs", 0, "size=64k"), 0);
    assert_int_equal(lcow_write_file(keep, "x", 1, 0, 0600, NULL), 0);
    assert_int_equal(mount_is_mount_point_at(AT_FDCWD, sub), 1);
    assert_int_equal(mount_is_mount_point_at(AT_FDCWD, dir), 0);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_remove_tree(dir, &err), -EBUSY);
    assert_int_equal(access(keep, F_OK), 0); /* the mounted data survived */
    assert_int_equal(mount_remove_tree(sub, NULL), -EBUSY);
    /* unmount-and-remove takes the mount away first, then the directory */
    assert_int_equal(mount_unmount_and_remove(sub, NULL), 0);
    assert_int_equal(access(sub, F_OK), -1);
    assert_int_equal(mount_unmount_and_remove(sub, NULL), 0); /* missing is fine */
    assert_int_equal(mount_remove_tree(dir, NULL), 0);
}

static void test_wait_node(void **state)
{
    struct mount_env env;
    mount_env_init(&env);
    env.device_timeout_ms = 30;
    env.poll_interval_ms = 5;
    assert_int_equal(mount_wait_node(&env, "/dev/null", "node", NULL), 0);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_wait_node(&env, "/nonexistent/pmem9", "VPMem device", &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "did not appear within 30 ms"));
}

/* ---- filesystem detection and the tool runner --------------------------------------------- */

static void write_image(const char *path, size_t off, const void *magic, size_t len)
{
    char buf[8192] = {0};
    memcpy(buf + off, magic, len);
    assert_int_equal(lcow_write_file(path, buf, sizeof(buf), 0, 0600, NULL), 0);
}

static void test_detect_fs(void **state)
{
    char path[] = "/tmp/test-mount-fs-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    const char *t = "x";
    write_image(path, 1080, "\x53\xef", 2);
    assert_int_equal(mount_detect_fs(path, &t, NULL), 0);
    assert_string_equal(t, "ext4");
    write_image(path, 0, "XFSB", 4);
    assert_int_equal(mount_detect_fs(path, &t, NULL), 0);
    assert_string_equal(t, "xfs");
    write_image(path, 1024, "\xe2\xe1\xf5\xe0", 4);
    assert_int_equal(mount_detect_fs(path, &t, NULL), 0);
    assert_string_equal(t, "erofs");
    write_image(path, 0, "", 0);
    assert_int_equal(mount_detect_fs(path, &t, NULL), 0);
    assert_null(t);
    unlink(path);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_detect_fs("/nonexistent/dev", &t, &err), -ENOENT);
    assert_non_null(strstr(err->msg, "/nonexistent/dev"));
}

static void test_format_rejects_unknown(void **state)
{
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_format(NULL, "/dev/null", "ntfs", &err), -EINVAL);
    assert_non_null(strstr(err->msg, "ntfs"));
}

static void test_run_tool(void **state)
{
    char *echo[] = {"echo", "hello", "tool", NULL};
    cleanup_free char *out = NULL;
    assert_int_equal(mount_run_tool(NULL, echo, &out, NULL), 0);
    assert_string_equal(out, "hello tool");
    char *fals[] = {"false", NULL};
    assert_int_equal(mount_run_tool(NULL, fals, NULL, NULL), 1);
    char *missing[] = {"no-such-tool-lcow", NULL};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_run_tool(NULL, missing, NULL, &err), -ENOENT);
    assert_non_null(strstr(err->msg, "no-such-tool-lcow"));
}

/* An agent-wide reaper stands behind env->wait_child: the tool's status must come through it. */
static int fake_reaper(pid_t pid, int *ret_status, void *ctx)
{
    int *calls = ctx;
    (*calls)++;
    if (waitpid(pid, ret_status, 0) != pid)
        return -errno;
    return 0;
}

static void test_run_tool_through_reaper(void **state)
{
    int calls = 0;
    struct mount_env env;
    mount_env_init(&env);
    env.wait_child = fake_reaper;
    env.wait_ctx = &calls;
    char *sh_exit[] = {"sh", "-c", "echo out; exit 7", NULL};
    cleanup_free char *out = NULL;
    assert_int_equal(mount_run_tool(&env, sh_exit, &out, NULL), 7);
    assert_int_equal(calls, 1);
    char *sh_kill[] = {"sh", "-c", "kill -9 $$", NULL};
    assert_int_equal(mount_run_tool(&env, sh_kill, NULL, NULL), 128 + 9);
    assert_int_equal(calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overlay_options),
        cmocka_unit_test(test_overlay_options_bad),
        cmocka_unit_test(test_bundle_bind_rule),
        cmocka_unit_test(test_propagation_words),
        cmocka_unit_test(test_dm_sectors),
        cmocka_unit_test(test_dm_table_payload),
        cmocka_unit_test(test_pmem_dm_name),
        cmocka_unit_test_setup_teardown(test_dm_create_sequence, dm_setup, dm_teardown),
        cmocka_unit_test_setup_teardown(test_dm_create_load_failure, dm_setup, dm_teardown),
        cmocka_unit_test(test_validate_lexical),
        cmocka_unit_test(test_validate_symlinks),
        cmocka_unit_test(test_mkdir_tracks_created),
        cmocka_unit_test(test_remove_tree_stops_at_mounts),
        cmocka_unit_test(test_wait_node),
        cmocka_unit_test(test_detect_fs),
        cmocka_unit_test(test_format_rejects_unknown),
        cmocka_unit_test(test_run_tool),
        cmocka_unit_test(test_run_tool_through_reaper),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
