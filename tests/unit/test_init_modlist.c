/* Unit tests for the build-time module ordering (initrd/modlist.c) over a fake modules.dep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "initrd/modlist.h"

/* Shaped like Debian 6.1's: the deps of a module in modprobe's (reverse load) order. */
static const char dep_text[] =
    "kernel/fs/ext4/ext4.ko: kernel/lib/crc16.ko kernel/fs/mbcache.ko kernel/fs/jbd2/jbd2.ko\n"
    "kernel/fs/jbd2/jbd2.ko:\n"
    "kernel/fs/mbcache.ko:\n"
    "kernel/lib/crc16.ko:\n"
    "kernel/drivers/virtio/virtio.ko:\n"
    "kernel/drivers/virtio/virtio_ring.ko:\n"
    "kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko "
    "kernel/drivers/virtio/virtio.ko\n"
    "kernel/net/vmw_vsock/vsock.ko:\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko: kernel/net/vmw_vsock/vsock.ko\n"
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko: "
    "kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko kernel/net/vmw_vsock/vsock.ko "
    "kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko\n"
    "kernel/drivers/md/dm-mod.ko:\n"
    "kernel/a.ko: kernel/b.ko\n"
    "kernel/b.ko: kernel/a.ko\n"
    "kernel/c.ko: kernel/missing.ko\n";

static const char builtin_text[] = "kernel/fs/fat/vfat.ko\n";

static struct modlist *load(void)
{
    struct modlist *m = NULL;
    assert_int_equal(modlist_parse(dep_text, builtin_text, &m, NULL), 0);
    return m;
}

/* Index of "STAGE PATH" in out, or fails. */
static long pos_of(const char *out, const char *line)
{
    const char *p = strstr(out, line);
    if (p == NULL)
        fail_msg("`%s` not in:\n%s", line, out);
    return p - out;
}

static void test_names(void **state)
{
    char b[64];
    modlist_name_of("kernel/drivers/md/dm-mod.ko", b, sizeof(b));
    assert_string_equal(b, "dm_mod");
    modlist_name_of("kernel/fs/xfs/xfs.ko.xz", b, sizeof(b));
    assert_string_equal(b, "xfs");
    modlist_name_of("dm-mod", b, sizeof(b));
    assert_string_equal(b, "dm_mod");
}

static void test_deps_first_each_once(void **state)
{
    struct modlist *m = load();
    char *out = NULL;
    const char *early[] = {"virtio_pci", "vmw_vsock_virtio_transport"};
    const char *late[] = {"ext4", "dm-mod", "vsock", "vfat"};
    assert_int_equal(modlist_resolve(m, "early", early, 2, &out, NULL), 0);
    assert_int_equal(modlist_resolve(m, "late", late, 4, &out, NULL), 0);
    assert_true(pos_of(out, "early kernel/drivers/virtio/virtio_ring.ko\n") <
                pos_of(out, "early kernel/drivers/virtio/virtio_pci.ko\n"));
    assert_true(pos_of(out, "early kernel/net/vmw_vsock/vsock.ko\n") <
                pos_of(out, "early kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko\n"));
    assert_true(pos_of(out, "early kernel/net/vmw_vsock/vmw_vsock_virtio_transport_common.ko\n") <
                pos_of(out, "early kernel/net/vmw_vsock/vmw_vsock_virtio_transport.ko\n"));
    assert_true(pos_of(out, "late kernel/fs/jbd2/jbd2.ko\n") <
                pos_of(out, "late kernel/fs/ext4/ext4.ko\n"));
    assert_true(pos_of(out, "late kernel/lib/crc16.ko\n") <
                pos_of(out, "late kernel/fs/ext4/ext4.ko\n"));
    pos_of(out, "late kernel/drivers/md/dm-mod.ko\n");
    /* vsock was emitted early; virtio.ko once although two modules need it; vfat built in */
    assert_null(strstr(out, "late kernel/net/vmw_vsock/vsock.ko"));
    const char *v = strstr(out, "kernel/drivers/virtio/virtio.ko");
    assert_null(strstr(v + 1, "kernel/drivers/virtio/virtio.ko"));
    assert_null(strstr(out, "vfat"));
    /* every line is "STAGE PATH" */
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 11);
    free(out);
    modlist_free(m);
}

static void test_errors(void **state)
{
    struct modlist *m = load();
    char *out = NULL;
    struct lcow_error *err = NULL;
    const char *cyc[] = {"a"};
    assert_int_equal(modlist_resolve(m, "late", cyc, 1, &out, &err), -ELOOP);
    assert_non_null(strstr(lcow_error_message(err), "cycle"));
    lcow_error_release(&err);
    const char *unk[] = {"nosuchmod"};
    assert_int_equal(modlist_resolve(m, "late", unk, 1, &out, &err), -ENOENT);
    assert_non_null(strstr(lcow_error_message(err), "nosuchmod"));
    lcow_error_release(&err);
    const char *miss[] = {"c"};
    assert_int_equal(modlist_resolve(m, "late", miss, 1, &out, &err), -ENOENT);
    assert_non_null(strstr(lcow_error_message(err), "missing.ko"));
    lcow_error_release(&err);
    free(out);
    modlist_free(m);

    assert_int_equal(modlist_parse("kernel/x.ko kernel/y.ko\n", NULL, &m, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(modlist_parse("a.ko:\na.ko:\n", NULL, &m, &err), -EINVAL);
    assert_non_null(strstr(lcow_error_message(err), "twice"));
    lcow_error_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_deps_first_each_once),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
