/* Unit tests for vsockexec's command line (vsock/vsockexec_args.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "vsock/vsockexec.h"

#define ARGC(v) ((int)(sizeof(v) / sizeof((v)[0])) - 1)

static void test_hcsshim_form(void **state)
{
    char *v[] = {"vsockexec", "-e", "109", "/bin/gcs", "-v4", "-loglevel", "debug", NULL};
    struct vsockexec_args a;
    assert_int_equal(vsockexec_parse_args(ARGC(v), v, &a, NULL), 0);
    assert_false(a.relay);
    assert_false(a.has_port[0]);
    assert_false(a.has_port[1]);
    assert_true(a.has_port[2]);
    assert_int_equal(a.port[2], 109);
    assert_string_equal(a.argv[0], "/bin/gcs");
    assert_string_equal(a.argv[1], "-v4"); /* options stop at the program */
    assert_null(a.argv[4]);
    assert_int_equal(a.base.kind, VSOCK_ADDR_VSOCK);
    assert_int_equal(a.base.cid, 2);
}

static void test_all_options(void **state)
{
    char *v[] = {"vsockexec", "-t", "unix:/tmp/h", "-i",    "0x40000001", "-o5",
                 "-e",        "5",  "--",          "-prog", "x",          NULL};
    struct vsockexec_args a;
    assert_int_equal(vsockexec_parse_args(ARGC(v), v, &a, NULL), 0);
    assert_int_equal(a.base.kind, VSOCK_ADDR_UNIX);
    assert_string_equal(a.base.path, "/tmp/h");
    assert_int_equal(a.port[0], 0x40000001);
    assert_int_equal(a.port[1], 5);
    assert_int_equal(a.port[2], 5);
    assert_string_equal(a.argv[0], "-prog"); /* after --, a dash is a program name */
}

static void test_relay(void **state)
{
    char *v[] = {"vsockexec", "-ro", "7", "cat", NULL};
    struct vsockexec_args a;
    assert_int_equal(vsockexec_parse_args(ARGC(v), v, &a, NULL), 0);
    assert_true(a.relay);
    assert_int_equal(vsockexec_relay_port(&a), 7);
    char *w[] = {"vsockexec", "-r", "-o", "7", "-e", "9", "cat", NULL};
    assert_int_equal(vsockexec_parse_args(ARGC(w), w, &a, NULL), -EINVAL);
    char *x[] = {"vsockexec", "-r", "-e", "9", "-o", "9", "cat", NULL};
    assert_int_equal(vsockexec_parse_args(ARGC(x), x, &a, NULL), 0);
    assert_int_equal(vsockexec_relay_port(&a), 9);
}

static void expect_error(char **v, int argc, const char *needle)
{
    struct vsockexec_args a;
    char *sentinel[] = {"untouched", NULL};
    a.argv = sentinel;
    struct lcow_error *err = NULL;
    assert_int_equal(vsockexec_parse_args(argc, v, &a, &err), -EINVAL);
    assert_non_null(err);
    if (strstr(lcow_error_message(err), needle) == NULL)
        fail_msg("`%s` lacks `%s`", lcow_error_message(err), needle);
    assert_ptr_equal(a.argv, sentinel); /* untouched on failure (C4) */
    lcow_error_release(&err);
}

static void test_bad(void **state)
{
    char *none[] = {"vsockexec", NULL};
    expect_error(none, 1, "missing PROGRAM");
    char *only[] = {"vsockexec", "-e", "109", "--", NULL};
    expect_error(only, 4, "missing PROGRAM");
    char *noval[] = {"vsockexec", "-e", NULL};
    expect_error(noval, 2, "needs a value");
    char *port[] = {"vsockexec", "-e", "12x", "sh", NULL};
    expect_error(port, 4, "12x");
    char *big[] = {"vsockexec", "-o", "4294967296", "sh", NULL};
    expect_error(big, 4, "4294967296");
    char *unk[] = {"vsockexec", "-z", "sh", NULL};
    expect_error(unk, 3, "-z");
    char *t[] = {"vsockexec", "-t", "tcp:1", "sh", NULL};
    expect_error(t, 4, "-t");
    char *lst[] = {"vsockexec", "-t", "listen:vsock:5", "sh", NULL};
    expect_error(lst, 4, "listen");
    char *ri[] = {"vsockexec", "-r", "-i", "1", "-o", "2", "sh", NULL};
    expect_error(ri, 7, "-i");
    char *rnone[] = {"vsockexec", "-r", "sh", NULL};
    expect_error(rnone, 3, "-o or -e");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hcsshim_form),
        cmocka_unit_test(test_all_options),
        cmocka_unit_test(test_relay),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
