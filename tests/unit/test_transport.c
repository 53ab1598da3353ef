/* Unit tests for vsock/transport.c: the address grammar of design.md §4, and unix dial/listen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "vsock/transport.h"

static void test_parse_vsock(void **state)
{
    struct vsock_addr a;
    assert_int_equal(vsock_addr_parse("vsock:2:1073741824", &a, NULL), 0);
    assert_int_equal(a.kind, VSOCK_ADDR_VSOCK);
    assert_false(a.listen);
    assert_int_equal(a.cid, 2);
    assert_true(a.has_port);
    assert_int_equal(a.port, 0x40000000);
    assert_int_equal(vsock_addr_parse("vsock:2:0x40000001", &a, NULL), 0);
    assert_int_equal(a.port, 0x40000001);
    assert_int_equal(vsock_addr_parse("vsock:3", &a, NULL), 0);
    assert_false(a.has_port);
    assert_int_equal(vsock_addr_parse("listen:vsock:0x40000000", &a, NULL), 0);
    assert_true(a.listen);
    assert_int_equal(a.port, 0x40000000);
}

static void test_parse_unix(void **state)
{
    struct vsock_addr a;
    char buf[128];
    assert_int_equal(vsock_addr_parse("unix:/tmp/h.sock:1073741824", &a, NULL), 0);
    assert_int_equal(a.kind, VSOCK_ADDR_UNIX);
    assert_string_equal(a.path, "/tmp/h.sock");
    assert_true(a.has_port);
    assert_int_equal(vsock_unix_path(&a, 0x40000001, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "/tmp/h.sock_1073741825");
    assert_int_equal(vsock_addr_parse("unix:/tmp/h.sock", &a, NULL), 0);
    assert_false(a.has_port);
    /* A colon not followed by a port is part of the path. */
    assert_int_equal(vsock_addr_parse("unix:/tmp/a:b", &a, NULL), 0);
    assert_string_equal(a.path, "/tmp/a:b");
    assert_int_equal(vsock_addr_parse("listen:unix:/tmp/x", &a, NULL), 0);
    assert_true(a.listen);
    vsock_addr_format(&a, buf, sizeof(buf));
    assert_string_equal(buf, "listen:unix:/tmp/x");
}

static void test_parse_bad(void **state)
{
    static const char *const bad[] = {"",          "tcp:1:2",          "vsock:",
                                      "vsock:x:1", "vsock:2:-1",       "vsock:2:4294967296",
                                      "unix:",     "listen:vsock:2:3", "listen:vsock:",
                                      "vsock:2:1 "};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++) {
        struct vsock_addr a;
        cleanup_error struct lcow_error *err = NULL;
        assert_int_equal(vsock_addr_parse(bad[i], &a, &err), -EINVAL);
        assert_non_null(err);
    }
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "unix:/", 6);
    longpath[sizeof(longpath) - 1] = '\0';
    struct vsock_addr a;
    assert_int_equal(vsock_addr_parse(longpath, &a, NULL), -ENAMETOOLONG);
}

static void test_unix_dial_listen(void **state)
{
    char dir[] = "/tmp/lcow-test-transport-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char spec[128];
    snprintf(spec, sizeof(spec), "unix:%s/h", dir);
    struct vsock_addr a;
    assert_int_equal(vsock_addr_parse(spec, &a, NULL), 0);
    cleanup_error struct lcow_error *err = NULL;
    /* Nobody listening: a clear error naming the socket. */
    assert_true(vsock_dial(&a, 5, &err) < 0);
    assert_non_null(strstr(err->msg, "h_5"));
    lcow_error_release(&err);
    int l = vsock_listen(&a, 5, 4, NULL);
    assert_true(l >= 0);
    int c = vsock_dial(&a, 5, NULL);
    assert_true(c >= 0);
    int s = vsock_accept(l, NULL);
    assert_true(s >= 0);
    assert_int_equal(write(c, "x", 1), 1);
    char ch = 0;
    assert_int_equal(read(s, &ch, 1), 1);
    assert_int_equal(ch, 'x');
    close(c);
    close(s);
    close(l);
    char p[160];
    snprintf(p, sizeof(p), "%s/h_5", dir);
    unlink(p);
    assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_vsock),
        cmocka_unit_test(test_parse_unix),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_unix_dial_listen),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
