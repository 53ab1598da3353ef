/* MappedDirectory (gcs/plan9.c, mount/plan9.c) without a 9p filesystem: the option string,
 * refusals before any work (paths, ports, share names, request types, Remove of what was
 * never added), a dial failure and a mount failure that leave nothing behind. The mounts
 * themselves run in the UVM (tests/uvm/plan9_uvm.sh): this kernel has no 9p. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/plan9.h"
#include "gcs/protocol.h"
#include "mount/mount.h"
#include "mount/plan9.h"
#include "vsock/transport.h"

static char base_dir[64]; /* /run/test-p9.XXXXXX: MountPaths must live under /run */
static char sock_dir[64]; /* the "host": unix base for dials */

static int group_setup(void **state)
{
    snprintf(base_dir, sizeof(base_dir), "/run/test-p9.XXXXXX");
    assert_non_null(mkdtemp(base_dir));
    snprintf(sock_dir, sizeof(sock_dir), "/tmp/test-p9s.XXXXXX");
    assert_non_null(mkdtemp(sock_dir));
    return 0;
}

static int group_teardown(void **state)
{
    char p[128];
    snprintf(p, sizeof(p), "%s/h_564", sock_dir);
    unlink(p);
    rmdir(sock_dir);
    mount_remove_tree(base_dir, NULL);
    return 0;
}

static void request(struct gcs_modify_request *r, enum gcs_request_type t, const char *path,
                    int port, const char *share, bool ro)
{
    memset(r, 0, sizeof(*r));
    r->resource_type = GCS_RESOURCE_MAPPED_DIRECTORY;
    r->request_type = t;
    r->request_type_name = (char *)(t == GCS_REQUEST_REMOVE ? "Remove" : "Add");
    r->settings.mapped_directory.mount_path = (char *)path;
    r->settings.mapped_directory.port = port;
    r->settings.mapped_directory.share_name = (char *)share;
    r->settings.mapped_directory.read_only = ro;
}

static void base_addr(struct vsock_addr *a)
{
    char s[96];
    snprintf(s, sizeof(s), "unix:%s/h", sock_dir);
    assert_int_equal(vsock_addr_parse(s, a, NULL), 0);
}

static void test_options(void **state)
{
    char buf[256];
    struct mount_plan9_config c = {.target = "/run/x", .fd = 7, .share_name = "12"};
    assert_int_equal(mount_plan9_options(&c, buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "trans=fd,rfdno=7,wfdno=7,msize=65536,aname=12");
    c.read_only = true;
    c.share_name = NULL;
    assert_int_equal(mount_plan9_options(&c, buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "trans=fd,rfdno=7,wfdno=7,msize=65536,noload");
    /* Names that would inject options are refused (the Go GCS pastes them in). */
    const char *bad[] = {"1,trans=tcp", "a=b", "x y", "tab\t", "\x7f"};
    cleanup_error struct lcow_error *err = NULL;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c.share_name = bad[i];
        assert_int_equal(mount_plan9_options(&c, buf, sizeof(buf), &err), -EINVAL);
        assert_non_null(strstr(lcow_error_message(err), "ShareName"));
        lcow_error_release(&err);
    }
    char longname[300];
    memset(longname, '1', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    c.share_name = longname;
    assert_int_equal(mount_plan9_options(&c, buf, sizeof(buf), NULL), -EINVAL);
}

static void test_refusals(void **state)
{
    struct gcs_plan9 *p = gcs_plan9_new(0);
    struct vsock_addr a;
    base_addr(&a);
    struct gcs_modify_request r;
    cleanup_error struct lcow_error *err = NULL;
    char path[128];
    snprintf(path, sizeof(path), "%s/m0", base_dir);

    request(&r, GCS_REQUEST_ADD, "/tmp/outside-run", 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, &err), -EINVAL);
    lcow_error_release(&err);
    request(&r, GCS_REQUEST_ADD, "/run/../etc", 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), -EINVAL);
    request(&r, GCS_REQUEST_ADD, "", 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), -EINVAL);
    request(&r, GCS_REQUEST_ADD, path, 0, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, &err), -EINVAL);
    assert_non_null(strstr(lcow_error_message(err), "Port"));
    lcow_error_release(&err);
    request(&r, GCS_REQUEST_ADD, path, -5, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), -EINVAL);
    request(&r, GCS_REQUEST_ADD, path, 564, "1,cache=loose", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), -EINVAL);
    request(&r, GCS_REQUEST_UPDATE, path, 564, "1", false);
    r.request_type_name = (char *)"Update";
    assert_int_equal(gcs_plan9_apply(p, &a, &r, &err), -ENOTSUP);
    assert_non_null(strstr(lcow_error_message(err), "Update"));
    lcow_error_release(&err);
    /* Remove: a path that does not exist is done already; an existing one never added is
     * not ours to unmount. */
    request(&r, GCS_REQUEST_REMOVE, path, 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), 0);
    request(&r, GCS_REQUEST_REMOVE, base_dir, 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, &err), -ENOENT);
    assert_non_null(strstr(lcow_error_message(err), "not added"));
    lcow_error_release(&err);
    assert_int_equal(access(base_dir, F_OK), 0);
    /* Nothing was created by any of them. */
    assert_int_equal(access(path, F_OK), -1);
    gcs_plan9_free(p);
}

/* No server listening: the dial fails, no directory is made, and the path is free again. */
static void test_dial_failure(void **state)
{
    struct gcs_plan9 *p = gcs_plan9_new(0);
    struct vsock_addr a;
    base_addr(&a);
    struct gcs_modify_request r;
    char path[128];
    snprintf(path, sizeof(path), "%s/deep/m1", base_dir);
    request(&r, GCS_REQUEST_ADD, path, 564, "1", true);
    cleanup_error struct lcow_error *err = NULL;
    assert_true(gcs_plan9_apply(p, &a, &r, &err) < 0);
    assert_non_null(strstr(lcow_error_message(err), "9p server"));
    char deep[128];
    snprintf(deep, sizeof(deep), "%s/deep", base_dir);
    assert_int_equal(access(deep, F_OK), -1);
    request(&r, GCS_REQUEST_REMOVE, path, 564, "1", true);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), 0); /* nothing there */
    gcs_plan9_free(p);
}

/* A listening "host": the dial works, the mount itself fails here (no 9p in this kernel), and the
 * directories made for it are removed again. */
static void test_mount_failure_cleans_up(void **state)
{
    struct gcs_plan9 *p = gcs_plan9_new(0);
    struct vsock_addr a;
    base_addr(&a);
    /* With 9p in the kernel, the mount would wait for an Rversion nobody sends. */
    cleanup_free char *fs = NULL;
    assert_int_equal(lcow_read_file("/proc/filesystems", 1 << 16, &fs, NULL, NULL), 0);
    if (strstr(fs, "\t9p\n")) {
        skip();
        return;
    }
    cleanup_close int l = vsock_listen(&a, 564, 4, NULL);
    assert_true(l >= 0);
    struct gcs_modify_request r;
    char path[128];
    snprintf(path, sizeof(path), "%s/a/b/m2", base_dir);
    request(&r, GCS_REQUEST_ADD, path, 564, "3", false);
    cleanup_error struct lcow_error *err = NULL;
    int rc = gcs_plan9_apply(p, &a, &r, &err);
    assert_true(rc < 0);
    if (!strstr(lcow_error_message(err), "mount 9p"))
        fail_msg("unexpected error: %s", lcow_error_message(err));
    char top[128];
    snprintf(top, sizeof(top), "%s/a", base_dir);
    assert_int_equal(access(top, F_OK), -1);
    gcs_plan9_free(p);
}

/* DeleteContainerState before the Removes (hcsshim v2): shares under the bundle go first. */
static void test_release_under(void **state)
{
    struct gcs_plan9 *p = gcs_plan9_new(0);
    char b1[128], b1x[128], m0[128], m1[128], other[128];
    snprintf(b1, sizeof(b1), "%s/c/b1", base_dir);
    snprintf(b1x, sizeof(b1x), "%s/c/b1x/mounts/m0", base_dir);
    snprintf(m0, sizeof(m0), "%s/c/b1/mounts/m0", base_dir);
    snprintf(m1, sizeof(m1), "%s/c/b1/mounts/m1", base_dir);
    snprintf(other, sizeof(other), "%s/c/b2/mounts/m0", base_dir);
    const char *all[] = {m0, m1, b1x, other};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(mount_mkdir_p(all[i], 0700, NULL, NULL), 0);
        assert_int_equal(gcs_plan9_track(p, all[i], NULL), 0);
    }
    assert_int_equal(gcs_plan9_track(p, m0, NULL), -EBUSY);
    assert_int_equal(gcs_plan9_release_under(p, b1, NULL), 0);
    assert_int_equal(access(m0, F_OK), -1);
    assert_int_equal(access(m1, F_OK), -1);
    assert_int_equal(access(b1x, F_OK), 0); /* a sibling with the same prefix stays */
    assert_int_equal(access(other, F_OK), 0);
    struct vsock_addr a;
    base_addr(&a);
    struct gcs_modify_request r;
    request(&r, GCS_REQUEST_REMOVE, m0, 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), 0); /* released: nothing left */
    request(&r, GCS_REQUEST_REMOVE, other, 564, "1", false);
    assert_int_equal(gcs_plan9_apply(p, &a, &r, NULL), 0); /* not a mount here: just removed */
    assert_int_equal(access(other, F_OK), -1);
    assert_int_equal(gcs_plan9_release_under(p, b1, NULL), 0); /* nothing left: fine */
    gcs_plan9_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),       cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_dial_failure),  cmocka_unit_test(test_mount_failure_cleans_up),
        cmocka_unit_test(test_release_under),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
