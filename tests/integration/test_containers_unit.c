/* Pure helpers of gcs/container*.c and gcs/startup.c: the traversal-checked join used for
 * mount-source prefixes and tee logs, user[:group] resolution against a rootfs's own
 * /etc/passwd and /etc/group (§5.7), and cgroup paths under -cgroup-root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/bridge.h"
#include "gcs/container_internal.h"

static void join_ok(const char *base, const char *rel, const char *want)
{
    cleanup_free char *out = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(ct_join_inside(base, rel, &out, &err), 0);
    assert_string_equal(out, want);
}

static void join_bad(const char *base, const char *rel)
{
    cleanup_free char *out = NULL;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(ct_join_inside(base, rel, &out, &err), -EINVAL);
    assert_non_null(strstr(lcow_error_message(err), "escapes"));
    assert_null(out);
}

static void test_join_inside(void **state)
{
    (void)state;
    join_ok("/r/sandboxMounts", "a/b", "/r/sandboxMounts/a/b");
    join_ok("/r/sandboxMounts", "/a//b/", "/r/sandboxMounts/a/b");
    join_ok("/r/sandboxMounts", "a/./b/../c", "/r/sandboxMounts/a/c");
    join_ok("/r/sandboxMounts", "", "/r/sandboxMounts");
    join_ok("/r/sandboxMounts", "a/..", "/r/sandboxMounts");
    join_ok("", "run/x", "/run/x"); /* uvm:// */
    join_bad("/r/sandboxMounts", "..");
    join_bad("/r/sandboxMounts", "../sandboxMountsX");
    join_bad("/r/sandboxMounts", "a/../../etc");
    join_bad("/r/logs", "x/../../../../etc/passwd");
    join_bad("", "..");
}

static char root[64];

static int make_root(void **state)
{
    (void)state;
    snprintf(root, sizeof(root), "/tmp/lcow-ctu-XXXXXX");
    if (!mkdtemp(root))
        return -1;
    char p[128];
    snprintf(p, sizeof(p), "%s/etc", root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/etc/passwd", root);
    const char *pw = "root:x:0:0:root:/root:/bin/sh\nweb:x:33:44::/var/www:/bin/false\n"
                     "broken line\nbig:x:4294967295:1:::\n";
    lcow_write_file(p, pw, strlen(pw), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
    snprintf(p, sizeof(p), "%s/etc/group", root);
    const char *gr = "root:x:0:\nwww:x:44:\nstaff:x:50:web\n";
    lcow_write_file(p, gr, strlen(gr), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
    return 0;
}

static int remove_root(void **state)
{
    (void)state;
    char p[128];
    snprintf(p, sizeof(p), "%s/etc/passwd", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/etc/group", root);
    unlink(p);
    snprintf(p, sizeof(p), "%s/etc", root);
    rmdir(p);
    rmdir(root);
    return 0;
}

static void user_ok(const char *spec, uint32_t uid, uint32_t gid)
{
    uint32_t u = 99, g = 99;
    cleanup_error struct lcow_error *err = NULL;
    int r = ct_resolve_user(root, spec, &u, &g, &err);
    if (r < 0)
        fail_msg("%s: %s", spec, lcow_error_message(err));
    assert_int_equal(u, uid);
    assert_int_equal(g, gid);
}

static void test_resolve_user(void **state)
{
    (void)state;
    user_ok("root", 0, 0);
    user_ok("web", 33, 44);
    user_ok("web:staff", 33, 50);
    user_ok("web:50", 33, 50);
    user_ok("33", 33, 44);
    user_ok("1000", 1000, 0); /* unknown numeric uid: gid 0 (§5.7) */
    user_ok("1000:44", 1000, 44);
    user_ok("1000:777", 1000, 777);
    uint32_t u, g;
    cleanup_error struct lcow_error *err = NULL;
    assert_true(ct_resolve_user(root, "nobody", &u, &g, &err) < 0);
    assert_non_null(strstr(lcow_error_message(err), "nobody"));
    lcow_error_release(&err);
    assert_true(ct_resolve_user(root, "web:nogroup", &u, &g, &err) < 0);
    lcow_error_release(&err);
    assert_true(ct_resolve_user(root, "99999999999", &u, &g, &err) < 0);
    lcow_error_release(&err);
    assert_true(ct_resolve_user("/nonexistent-root", "root", &u, &g, &err) < 0);
}

static void test_cgroup_join(void **state)
{
    (void)state;
    struct gcs g = {0};
    g.opt.cgroup_root = "/";
    cleanup_free char *a = gcs_cgroup_join(&g, "/pods/x");
    assert_string_equal(a, "/pods/x");
    g.opt.cgroup_root = "/test-1/";
    cleanup_free char *b = gcs_cgroup_join(&g, "/pods/sb/c");
    assert_string_equal(b, "/test-1/pods/sb/c");
    g.opt.cgroup_root = "/test-2";
    cleanup_free char *c = gcs_cgroup_join(&g, "gcs");
    assert_string_equal(c, "/test-2/gcs");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_join_inside),
        cmocka_unit_test_setup_teardown(test_resolve_user, make_root, remove_root),
        cmocka_unit_test(test_cgroup_join),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
