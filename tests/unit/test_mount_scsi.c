/* Unit tests for mount/scsi.c against fake sysfs trees built here: the Hyper-V VMBus layout and
 * the QEMU virtio-scsi layout (one match, several = error, none = timeout), the device wait with
 * partitions, and deletion through the fake `delete` file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "mount/scsi.h"

struct tree {
    char root[64];
    char sys[96];
    char dev[96];
    struct mount_env env;
};

static void mkdirs(struct tree *t, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(lcow_mkdir_p(path, 0755, NULL), 0);
}

static void touch(struct tree *t, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(lcow_write_file(path, "", 0, 0, 0600, NULL), 0);
}

static void link_rel(struct tree *t, const char *target, const char *rel)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", t->root, rel);
    assert_int_equal(symlink(target, path), 0);
}

static int setup(void **state)
{
    struct tree *t = calloc(1, sizeof(*t));
    snprintf(t->root, sizeof(t->root), "/tmp/test-mount-scsi-XXXXXX");
    assert_non_null(mkdtemp(t->root));
    snprintf(t->sys, sizeof(t->sys), "%s/sys", t->root);
    snprintf(t->dev, sizeof(t->dev), "%s/dev", t->root);
    mkdirs(t, "sys/bus/scsi/devices");
    mkdirs(t, "dev");
    mount_env_init(&t->env);
    t->env.sysfs_root = t->sys;
    t->env.dev_root = t->dev;
    t->env.device_timeout_ms = 60; /* "none" must time out quickly here */
    t->env.poll_interval_ms = 5;
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct tree *t = *state;
    assert_int_equal(mount_remove_tree(t->root, NULL), 0);
    free(t);
    return 0;
}

static void test_bounds(void **state)
{
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_scsi_validate(3, 63, 0, NULL), 0);
    assert_int_equal(mount_scsi_validate(4, 0, 0, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "Controller 4"));
    lcow_error_release(&err);
    assert_int_equal(mount_scsi_validate(0, 64, 0, &err), -EINVAL);
    assert_non_null(strstr(err->msg, "Lun 64"));
    lcow_error_release(&err);
    assert_int_equal(mount_scsi_validate(0, 0, 256, &err), -EINVAL);
}

static void test_vmbus_one_match(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/bus/vmbus/devices/0110f83b-de10-5172-a266-78bca56bf50a/host5");
    touch(t, "sys/bus/vmbus/devices/0110f83b-de10-5172-a266-78bca56bf50a/uevent");
    mkdirs(t, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host2");
    unsigned host = 99;
    assert_int_equal(mount_scsi_host_number(&t->env, 1, &host, NULL), 0);
    assert_int_equal(host, 5);
    assert_int_equal(mount_scsi_host_number(&t->env, 0, &host, NULL), 0);
    assert_int_equal(host, 2);
}

static void test_vmbus_several_and_none(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host2");
    mkdirs(t, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host3");
    cleanup_error struct lcow_error *err = NULL;
    unsigned host = 99;
    assert_int_equal(mount_scsi_host_number(&t->env, 0, &host, &err), -EEXIST);
    assert_non_null(strstr(err->msg, "several"));
    lcow_error_release(&err);
    /* controller 2's GUID is absent: bounded wait, then a timeout naming the GUID */
    assert_int_equal(mount_scsi_host_number(&t->env, 2, &host, &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "b5d2d8d4-3a75-51bf-945b-3444dc6b8579"));
    assert_int_equal(host, 99);
}

/* Two virtio-scsi controllers whose virtio indexes run opposite to their PCI addresses, so the
 * test proves the order comes from the PCI address. */
static void make_virtio(struct tree *t)
{
    mkdirs(t, "sys/devices/pci0000:00/0000:00:05.0/virtio1/host1");
    mkdirs(t, "sys/devices/pci0000:00/0000:00:03.0/virtio2/host0");
    mkdirs(t, "sys/devices/pci0000:00/0000:00:04.0/virtio0"); /* a virtio-net: not bound below */
    mkdirs(t, "sys/bus/virtio/drivers/virtio_scsi");
    touch(t, "sys/bus/virtio/drivers/virtio_scsi/bind");
    link_rel(t, "../../../../devices/pci0000:00/0000:00:05.0/virtio1",
             "sys/bus/virtio/drivers/virtio_scsi/virtio1");
    link_rel(t, "../../../../devices/pci0000:00/0000:00:03.0/virtio2",
             "sys/bus/virtio/drivers/virtio_scsi/virtio2");
}

static void test_virtio_pci_order(void **state)
{
    struct tree *t = *state;
    make_virtio(t);
    unsigned host = 99;
    assert_int_equal(mount_scsi_host_number(&t->env, 0, &host, NULL), 0);
    assert_int_equal(host, 0);
    assert_int_equal(mount_scsi_host_number(&t->env, 1, &host, NULL), 0);
    assert_int_equal(host, 1);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(mount_scsi_host_number(&t->env, 2, &host, &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "virtio-scsi"));
    lcow_error_release(&err);
    /* a controller with two hosts is ambiguous */
    mkdirs(t, "sys/devices/pci0000:00/0000:00:05.0/virtio1/host7");
    assert_int_equal(mount_scsi_host_number(&t->env, 1, &host, &err), -EEXIST);
}

static void test_wait_device(void **state)
{
    struct tree *t = *state;
    make_virtio(t);
    mkdirs(t, "sys/bus/scsi/devices/1:0:0:3/block/sdc");
    touch(t, "dev/sdc");
    cleanup_free char *dev = NULL;
    assert_int_equal(mount_scsi_wait_device(&t->env, 1, 3, 0, &dev, NULL), 0);
    char want[160];
    snprintf(want, sizeof(want), "%s/sdc", t->dev);
    assert_string_equal(dev, want);
}

static void test_wait_partition(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host0");
    mkdirs(t, "sys/bus/scsi/devices/0:0:0:1/block/sdb/sdb2");
    mkdirs(t, "sys/bus/scsi/devices/0:0:0:2/block/loop9/loop9p1");
    touch(t, "dev/sdb2");
    touch(t, "dev/loop9p1");
    cleanup_free char *dev = NULL, *dev2 = NULL;
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 1, 2, &dev, NULL), 0);
    assert_non_null(strstr(dev, "/dev/sdb2"));
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 2, 1, &dev2, NULL), 0);
    assert_non_null(strstr(dev2, "/dev/loop9p1"));
    /* a partition that never appears times out */
    cleanup_error struct lcow_error *err = NULL;
    char *none = NULL;
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 1, 3, &none, &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "partition 3"));
    assert_null(none);
}

static void test_wait_errors(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host0");
    mkdirs(t, "sys/bus/scsi/devices/0:0:0:4/block/sdd");
    mkdirs(t, "sys/bus/scsi/devices/0:0:0:4/block/sde");
    mkdirs(t, "sys/bus/scsi/devices/0:0:0:5/block/sdf"); /* no /dev node */
    cleanup_error struct lcow_error *err = NULL;
    char *dev = NULL;
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 4, 0, &dev, &err), -EEXIST);
    assert_non_null(strstr(err->msg, "several"));
    lcow_error_release(&err);
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 6, 0, &dev, &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "0:0:0:6"));
    lcow_error_release(&err);
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 5, 0, &dev, &err), -ETIMEDOUT);
    assert_non_null(strstr(err->msg, "cannot open"));
    lcow_error_release(&err);
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 64, 0, &dev, &err), -EINVAL);
    assert_null(dev);
}

struct hotplug {
    struct tree *t;
};

/* Plays the kernel after a hot-plug: the controller's host, then the disk, then its node. */
static void *hotplug_main(void *arg)
{
    struct hotplug *h = arg;
    usleep(30000);
    mkdirs(h->t, "sys/devices/pci0000:00/0000:00:03.0/virtio2/host4");
    usleep(30000);
    mkdirs(h->t, "sys/bus/scsi/devices/4:0:0:9/block/sdk");
    usleep(30000);
    touch(h->t, "dev/sdk");
    return NULL;
}

static void test_wait_hotplug(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/devices/pci0000:00/0000:00:03.0/virtio2");
    mkdirs(t, "sys/bus/virtio/drivers/virtio_scsi");
    link_rel(t, "../../../../devices/pci0000:00/0000:00:03.0/virtio2",
             "sys/bus/virtio/drivers/virtio_scsi/virtio2");
    t->env.device_timeout_ms = 5000;
    struct hotplug h = {.t = t};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, hotplug_main, &h), 0);
    cleanup_free char *dev = NULL;
    unsigned long long t0 = lcow_now_ns();
    assert_int_equal(mount_scsi_wait_device(&t->env, 0, 9, 0, &dev, NULL), 0);
    unsigned long long ms = (lcow_now_ns() - t0) / 1000000ULL;
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_non_null(strstr(dev, "/dev/sdk"));
    assert_true(ms >= 80); /* it really waited for all three steps */
}

static void test_delete(void **state)
{
    struct tree *t = *state;
    mkdirs(t, "sys/bus/vmbus/devices/0110f83b-de10-5172-a266-78bca56bf50a/host3");
    mkdirs(t, "sys/bus/scsi/devices/3:0:0:7");
    touch(t, "sys/bus/scsi/devices/3:0:0:7/delete");
    assert_int_equal(mount_scsi_delete_device(&t->env, 1, 7, NULL), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/bus/scsi/devices/3:0:0:7/delete", t->sys);
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(path, 64, &data, &len, NULL), 0);
    assert_string_equal(data, "1\n");
    /* an already-gone device is success, and nothing is created for it */
    assert_int_equal(mount_scsi_delete_device(&t->env, 1, 8, NULL), 0);
    snprintf(path, sizeof(path), "%s/bus/scsi/devices/3:0:0:8", t->sys);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(mount_scsi_delete_device(&t->env, 4, 0, NULL), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bounds),
        cmocka_unit_test_setup_teardown(test_vmbus_one_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vmbus_several_and_none, setup, teardown),
        cmocka_unit_test_setup_teardown(test_virtio_pci_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_partition, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_hotplug, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
