/* Unit tests for /init's pure parts: the command line (initrd/init_args.c), the kernel command
 * line token check, and the module list file init reads (initrd/init_modules.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "initrd/init.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static void test_hcsshim_default(void **state)
{
    char *v[] = {"/init",    "-e",  "1",           "/bin/vsockexec", "-e", "109",
                 "/bin/gcs", "-v4", "-log-format", "json",           NULL};
    struct init_args a;
    assert_int_equal(init_parse_args(ARGC(v), v, &a, NULL), 0);
    assert_int_equal(a.entropy_port, 1);
    assert_false(a.writable_overlays);
    assert_null(a.debug_shell);
    assert_null(a.pre_program);
    assert_string_equal(a.argv[0], "/bin/vsockexec");
    assert_string_equal(a.argv[1], "-e"); /* the child's options are the child's */
    assert_string_equal(a.argv[5], "-log-format");
    assert_int_equal(a.base.kind, VSOCK_ADDR_VSOCK);
    assert_int_equal(a.base.cid, 2);
}

static void test_all_flags(void **state)
{
    char *v[] = {"/init", "-we",    "0x10", "-d/bin/sh", "-t", "unix:/run/t",
                 "-x",    "/bin/h", "--",   "-child",    NULL};
    struct init_args a;
    assert_int_equal(init_parse_args(ARGC(v), v, &a, NULL), 0);
    assert_true(a.writable_overlays);
    assert_int_equal(a.entropy_port, 16);
    assert_string_equal(a.debug_shell, "/bin/sh");
    assert_int_equal(a.base.kind, VSOCK_ADDR_UNIX);
    assert_string_equal(a.base.path, "/run/t");
    assert_string_equal(a.pre_program, "/bin/h");
    assert_string_equal(a.argv[0], "-child");
    assert_null(a.argv[1]);
}

static void test_no_args_is_lcow_v1(void **state)
{
    char *v[] = {"/init", NULL};
    struct init_args a;
    assert_int_equal(init_parse_args(1, v, &a, NULL), 0);
    assert_string_equal(a.argv[0], "/bin/gcs");
    assert_string_equal(a.argv[3], "-logfile=/run/gcs/gcs.log");
    assert_string_equal(a.debug_shell, "/bin/sh");
}

static void expect_error(char **v, int argc, const char *needle)
{
    struct init_args a;
    char *sentinel[] = {"untouched", NULL};
    a.argv = sentinel;
    struct lcow_error *err = NULL;
    assert_int_equal(init_parse_args(argc, v, &a, &err), -EINVAL);
    if (strstr(lcow_error_message(err), needle) == NULL)
        fail_msg("`%s` lacks `%s`", lcow_error_message(err), needle);
    assert_ptr_equal(a.argv, sentinel);
    lcow_error_release(&err);
}

static void test_bad(void **state)
{
    char *zero[] = {"/init", "-e", "0", "/bin/gcs", NULL};
    expect_error(zero, 4, "port 0");
    char *bad[] = {"/init", "-e", "one", "/bin/gcs", NULL};
    expect_error(bad, 4, "`one`");
    char *noprog[] = {"/init", "-w", NULL};
    expect_error(noprog, 2, "missing PROGRAM");
    char *noval[] = {"/init", "-d", NULL};
    expect_error(noval, 2, "needs a value");
    char *empty[] = {"/init", "-d", "", "x", NULL};
    expect_error(empty, 4, "non-empty");
    char *unk[] = {"/init", "-q", "x", NULL};
    expect_error(unk, 3, "-q");
    char *lst[] = {"/init", "-t", "listen:unix:/x", "x", NULL};
    expect_error(lst, 4, "listen");
}

static void test_cmdline_token(void **state)
{
    const char *c = "console=ttyS0 hcsshim.cgroup=v1 panic=-1\n";
    assert_true(init_cmdline_has_token(c, "hcsshim.cgroup=v1"));
    assert_true(init_cmdline_has_token("hcsshim.cgroup=v1", "hcsshim.cgroup=v1"));
    assert_false(init_cmdline_has_token("xhcsshim.cgroup=v1", "hcsshim.cgroup=v1"));
    assert_false(init_cmdline_has_token("hcsshim.cgroup=v10 a", "hcsshim.cgroup=v1"));
    assert_false(init_cmdline_has_token("a hcsshim.cgroup=v2", "hcsshim.cgroup=v1"));
    assert_true(
        init_cmdline_has_token("a hcsshim.cgroup=v1x hcsshim.cgroup=v1", "hcsshim.cgroup=v1"));
}

static void test_modlist_parse(void **state)
{
    const char *text = "# written by mkinitrd.sh\n"
                       "early kernel/net/vmw_vsock/vsock.ko\n"
                       "\n"
                       "  late\tkernel/fs/ext4/ext4.ko  \r\n"
                       "early kernel/x.ko";
    struct init_modlist l;
    assert_int_equal(init_modlist_parse(text, &l, NULL), 0);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.mods[0].stage, INIT_MOD_EARLY);
    assert_string_equal(l.mods[0].path, "kernel/net/vmw_vsock/vsock.ko");
    assert_int_equal(l.mods[1].stage, INIT_MOD_LATE);
    assert_string_equal(l.mods[1].path, "kernel/fs/ext4/ext4.ko");
    assert_string_equal(l.mods[2].path, "kernel/x.ko");
    init_modlist_done(&l);
    assert_int_equal(init_modlist_parse("", &l, NULL), 0);
    assert_int_equal(l.n, 0);
    init_modlist_done(&l);
}

static void expect_modlist_error(const char *text, const char *needle)
{
    struct init_modlist l = {0};
    struct lcow_error *err = NULL;
    assert_int_equal(init_modlist_parse(text, &l, &err), -EINVAL);
    if (strstr(lcow_error_message(err), needle) == NULL)
        fail_msg("`%s` lacks `%s`", lcow_error_message(err), needle);
    assert_int_equal(l.n, 0);
    lcow_error_release(&err);
}

static void test_modlist_bad(void **state)
{
    expect_modlist_error("early a.ko\nsoon b.ko\n", "line 2");
    expect_modlist_error("early\n", "STAGE PATH");
    expect_modlist_error("early /lib/a.ko\n", "bad path");
    expect_modlist_error("late kernel/../../etc/x.ko\n", "bad path");
    expect_modlist_error("late kernel//x.ko\n", "bad path");
    expect_modlist_error("late ..\n", "bad path");
}

static void test_module_flags(void **state)
{
    assert_int_equal(init_module_flags("kernel/fs/ext4/ext4.ko"), 0);
    assert_int_equal(init_module_flags("kernel/fs/xfs/xfs.ko.xz"), INIT_MODULE_COMPRESSED_FILE);
    assert_int_equal(init_module_flags("kernel/a.ko.zst"), INIT_MODULE_COMPRESSED_FILE);
    assert_int_equal(init_module_flags("kernel/a.ko.gz"), INIT_MODULE_COMPRESSED_FILE);
    assert_int_equal(init_module_flags(".ko.xz"), 0);
    assert_int_equal(init_module_flags("kernel/a.xz"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcsshim_default),    cmocka_unit_test(test_all_flags),
        cmocka_unit_test(test_no_args_is_lcow_v1), cmocka_unit_test(test_bad),
        cmocka_unit_test(test_cmdline_token),      cmocka_unit_test(test_modlist_parse),
        cmocka_unit_test(test_modlist_bad),        cmocka_unit_test(test_module_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
