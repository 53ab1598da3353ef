/* gcs's command line (design.md §2): Go flag syntax, defaults, and clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/options.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void test_defaults(void **state)
{
    char *argv[] = {"gcs"};
    struct gcs_options o;
    assert_int_equal(gcs_options_parse(ARGC(argv), argv, &o, NULL), 0);
    assert_string_equal(o.bridge, "vsock:2:1073741824");
    assert_int_equal(o.loglevel, LCOW_LOG_DEBUG);
    assert_false(o.log_json);
    assert_null(o.logfile);
    assert_false(o.use_inouterr);
    assert_true(o.scrub_logs);
    assert_int_equal(o.kmsg_log_level, 4);
    assert_int_equal(o.root_mem_reserve_bytes, 75ull << 20);
    assert_int_equal(o.gcs_mem_limit_bytes, 50ull << 20);
    assert_string_equal(o.cgroup_root, "/");
    assert_string_equal(o.sysfs_root, "/sys");
    assert_string_equal(o.dev_root, "/dev");
    assert_string_equal(o.initial_policy_stance, "allow");
    assert_int_equal(o.device_timeout_ms, 60000);
}

static void test_hcsshim_command_line(void **state)
{
    /* What hcsshim passes, plus every other flag in both spellings. */
    char *argv[] = {"gcs",
                    "-v4",
                    "-log-format",
                    "json",
                    "-loglevel",
                    "info",
                    "-logfile=/run/g.log",
                    "-use-inouterr",
                    "-disable-time-sync",
                    "-core-dump-location",
                    "/tmp/core.%p",
                    "-root-mem-reserve-bytes",
                    "0x100",
                    "-gcs-mem-limit-bytes=5",
                    "-scrub-logs=false",
                    "-kmsgLogLevel",
                    "3",
                    "--bridge",
                    "unix:/tmp/s:5",
                    "-cgroup-root",
                    "/sys/fs/cgroup/x",
                    "-sysfs-root=/fake/sys",
                    "-dev-root",
                    "/fake/dev",
                    "-initial-policy-stance",
                    "deny",
                    "-workers=2",
                    "-device-timeout-ms",
                    "500"};
    struct gcs_options o;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(gcs_options_parse(ARGC(argv), argv, &o, &err), 0);
    assert_true(o.v4);
    assert_true(o.log_json);
    assert_int_equal(o.loglevel, LCOW_LOG_INFO);
    assert_string_equal(o.logfile, "/run/g.log");
    assert_true(o.use_inouterr);
    assert_true(o.disable_time_sync);
    assert_string_equal(o.core_dump_location, "/tmp/core.%p");
    assert_int_equal(o.root_mem_reserve_bytes, 256);
    assert_int_equal(o.gcs_mem_limit_bytes, 5);
    assert_false(o.scrub_logs);
    assert_int_equal(o.kmsg_log_level, 3);
    assert_string_equal(o.bridge, "unix:/tmp/s:5");
    assert_string_equal(o.cgroup_root, "/sys/fs/cgroup/x");
    assert_string_equal(o.sysfs_root, "/fake/sys");
    assert_string_equal(o.dev_root, "/fake/dev");
    assert_string_equal(o.initial_policy_stance, "deny");
    assert_int_equal(o.workers, 2);
    assert_int_equal(o.device_timeout_ms, 500);
}

static void test_bridge_forms(void **state)
{
    const char *ok[] = {"vsock:2:1073741824", "vsock:2:0x40000000", "unix:/tmp/x",
                        "listen:vsock:0x40000000", "listen:unix:/tmp/y"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ok); i++) {
        char *argv[] = {"gcs", "-bridge", (char *)ok[i]};
        struct gcs_options o;
        assert_int_equal(gcs_options_parse(ARGC(argv), argv, &o, NULL), 0);
        assert_string_equal(o.bridge, ok[i]);
    }
}

static void expect_error(int argc, char **argv, const char *needle)
{
    struct gcs_options o;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(gcs_options_parse(argc, argv, &o, &err), -EINVAL);
    assert_non_null(err);
    if (!strstr(err->msg, needle))
        fail_msg("`%s` does not mention `%s`", err->msg, needle);
}

static void test_errors(void **state)
{
    char *a1[] = {"gcs", "-nope"};
    expect_error(ARGC(a1), a1, "-nope");
    char *a2[] = {"gcs", "-loglevel"};
    expect_error(ARGC(a2), a2, "needs an argument");
    char *a3[] = {"gcs", "-v4=maybe"};
    expect_error(ARGC(a3), a3, "maybe");
    char *a4[] = {"gcs", "-loglevel", "loud"};
    expect_error(ARGC(a4), a4, "loud");
    char *a5[] = {"gcs", "-log-format", "xml"};
    expect_error(ARGC(a5), a5, "xml");
    char *a6[] = {"gcs", "-bridge", "tcp:1.2.3.4"};
    expect_error(ARGC(a6), a6, "tcp:1.2.3.4");
    /* A boolean takes no separate value (Go): "false" is then a stray argument. */
    char *a7[] = {"gcs", "-scrub-logs", "false"};
    expect_error(ARGC(a7), a7, "false");
    char *a8[] = {"gcs", "-root-mem-reserve-bytes", "-5"};
    expect_error(ARGC(a8), a8, "-5");
    char *a9[] = {"gcs", "-workers", "0"};
    expect_error(ARGC(a9), a9, "workers");
    char *a10[] = {"gcs", "---x"};
    expect_error(ARGC(a10), a10, "syntax");
}

static void test_help_and_terminator(void **state)
{
    struct gcs_options o;
    char *h[] = {"gcs", "-h"};
    assert_int_equal(gcs_options_parse(ARGC(h), h, &o, NULL), 1);
    char *t[] = {"gcs", "-v4", "--"};
    assert_int_equal(gcs_options_parse(ARGC(t), t, &o, NULL), 0);
    assert_true(o.v4);
    assert_non_null(strstr(gcs_options_usage(), "-bridge"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_hcsshim_command_line),
        cmocka_unit_test(test_bridge_forms),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_help_and_terminator),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
