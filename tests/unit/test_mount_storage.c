/* Unit tests for gcs/storage.c's request handling and bookkeeping that need no mounts: decoded
 * wire requests against a fake sysfs/dev tree, unsupported request types, refusals, the path
 * reservation that keeps two concurrent Adds of one MountPath from both proceeding, BlockDev
 * links, and SCSIDevice Remove through the fake `delete` file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"

struct fixture {
    char root[64];
    char sys[96];
    char dev[96];
    struct mount_env env;
    struct gcs_storage *s;
};

static void mk(struct fixture *f, const char *rel)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", f->root, rel);
    assert_int_equal(lcow_mkdir_p(p, 0755, NULL), 0);
}

static void touch(struct fixture *f, const char *rel)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", f->root, rel);
    assert_int_equal(lcow_write_file(p, "", 0, 0, 0600, NULL), 0);
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/test-mount-storage-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->sys, sizeof(f->sys), "%s/sys", f->root);
    snprintf(f->dev, sizeof(f->dev), "%s/dev", f->root);
    mk(f, "sys/bus/vmbus/devices/df6d0690-79e5-55b6-a5ec-c1e2f77f580a/host0");
    mk(f, "sys/bus/scsi/devices/0:0:0:1/block/sdb");
    touch(f, "sys/bus/scsi/devices/0:0:0:1/delete");
    mk(f, "dev");
    touch(f, "dev/sdb");
    mount_env_init(&f->env);
    f->env.sysfs_root = f->sys;
    f->env.dev_root = f->dev;
    f->env.device_timeout_ms = 300;
    f->env.poll_interval_ms = 5;
    f->s = gcs_storage_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    gcs_storage_free(f->s);
    assert_int_equal(mount_remove_tree(f->root, NULL), 0);
    free(f);
    return 0;
}

/* Decodes a wire request and applies it; returns the result, the message in *ret_msg. */
static int run(struct fixture *f, const char *type, const char *resource, const char *settings,
               char **ret_msg)
{
    cleanup_free char *json = NULL;
    assert_true(asprintf(&json,
                         "{\"ContainerId\":\"00000000-0000-0000-0000-000000000000\",\"Request\":{"
                         "\"RequestType\":\"%s\",\"ResourceType\":\"%s\",\"Settings\":%s}}",
                         type, resource, settings) > 0);
    struct gcs_modify_settings_request req = {0};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(gcs_decode_modify_settings_request(json, strlen(json), &req, &err), 0);
    int r = gcs_storage_apply(f->s, &f->env, &req.request, &err);
    gcs_modify_settings_request_done(&req);
    if (ret_msg)
        *ret_msg = strdup(lcow_error_message(err));
    return r;
}

static void expect_error(struct fixture *f, const char *type, const char *resource,
                         const char *settings, int code, const char *needle)
{
    cleanup_free char *msg = NULL;
    int r = run(f, type, resource, settings, &msg);
    if (r != code || !strstr(msg, needle))
        fail_msg("%s %s %s: got %d `%s`, want %d containing `%s`", type, resource, settings, r, msg,
                 code, needle);
    assert_int_equal(gcs_storage_count(f->s), 0);
}

static void test_refusals(void **state)
{
    struct fixture *f = *state;
    expect_error(f, "Remove", "MappedVirtualDisk", "{\"MountPath\":\"/run/never/x\",\"Lun\":1}",
                 -ENOENT, "was not added");
    expect_error(f, "Remove", "VPMemDevice", "{\"MountPath\":\"/run/layers/p3\"}", -ENOENT,
                 "was not added");
    expect_error(f, "Remove", "CombinedLayers", "{\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\"}",
                 -ENOENT, "was not added");
    expect_error(f, "Add", "MappedVirtualDisk",
                 "{\"MountPath\":\"/run/m\",\"Lun\":1,\"Encrypted\":true}", -EOPNOTSUPP,
                 "Encrypted");
    expect_error(f, "Add", "MappedVirtualDisk", "{\"MountPath\":\"/run/m\",\"Controller\":4}",
                 -EINVAL, "Controller 4");
    expect_error(f, "Add", "MappedVirtualDisk", "{\"MountPath\":\"/etc/m\",\"Lun\":1}", -EINVAL,
                 "not under /run");
    expect_error(f, "Update", "VPMemDevice", "{\"MountPath\":\"/run/layers/p0\"}", -EOPNOTSUPP,
                 "`Update` is not supported for VPMemDevice");
    expect_error(f, "Add", "SCSIDevice", "{\"Lun\":1}", -EOPNOTSUPP, "`Add` is not supported");
    expect_error(f, "Add", "VPMemDevice",
                 "{\"MountPath\":\"/run/layers/p0\",\"MappingInfo\":{\"DeviceOffsetInBytes\":100,"
                 "\"DeviceSizeInBytes\":4096}}",
                 -EINVAL, "multiples of 512");
    expect_error(f, "Add", "VPMemDevice", "{\"MountPath\":\"/run/layers/p0\"}", -ETIMEDOUT,
                 "pmem0` did not appear");
    expect_error(
        f, "Add", "CombinedLayers",
        "{\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\",\"Layers\":[{\"Path\":\"/run/l\"}],"
        "\"ScratchPath\":\"/tmp/scratch\"}",
        -EINVAL, "ScratchPath");
    /* the registry serves only storage resources */
    struct gcs_modify_request other = {.resource_type = GCS_RESOURCE_NETWORK};
    assert_int_equal(gcs_storage_apply(f->s, &f->env, &other, NULL), -EOPNOTSUPP);
}

static void test_scsi_device_remove(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(run(f, "Remove", "SCSIDevice", "{\"Lun\":1}", NULL), 0);
    char path[256];
    snprintf(path, sizeof(path), "%s/bus/scsi/devices/0:0:0:1/delete", f->sys);
    cleanup_free char *data = NULL;
    size_t len = 0;
    assert_int_equal(lcow_read_file(path, 16, &data, &len, NULL), 0);
    assert_string_equal(data, "1\n");
    /* a LUN that is not there any more is already unplugged: success */
    assert_int_equal(run(f, "Remove", "SCSIDevice", "{\"Lun\":9}", NULL), 0);
}

/* BlockDev needs a directory it may create under /run (root); skipped elsewhere. */
static void test_block_dev(void **state)
{
    struct fixture *f = *state;
    char base[] = "/run/test-mount-storage-XXXXXX";
    if (!mkdtemp(base))
        skip();
    char settings[256], link[128], want[160];
    snprintf(link, sizeof(link), "%s/scsi/m0", base);
    snprintf(settings, sizeof(settings), "{\"MountPath\":\"%s\",\"Lun\":1,\"BlockDev\":true}",
             link);
    assert_int_equal(run(f, "Add", "MappedVirtualDisk", settings, NULL), 0);
    char target[160] = "";
    assert_true(readlink(link, target, sizeof(target) - 1) > 0);
    snprintf(want, sizeof(want), "%s/sdb", f->dev);
    assert_string_equal(target, want);
    assert_int_equal(gcs_storage_count(f->s), 1);
    /* the disk is in use: the guest must not unplug it */
    cleanup_free char *msg = NULL;
    assert_int_equal(run(f, "Remove", "SCSIDevice", "{\"Lun\":1}", &msg), -EBUSY);
    assert_non_null(strstr(msg, "still in use"));
    assert_int_equal(run(f, "Remove", "MappedVirtualDisk", settings, NULL), 0);
    assert_int_equal(access(link, F_OK), -1);
    assert_int_equal(gcs_storage_count(f->s), 0);
    assert_int_equal(mount_remove_tree(base, NULL), 0);
}

struct slow_add {
    struct fixture *f;
    int result;
};

/* Waits the whole bounded device wait for LUN 5, which never appears. */
static void *slow_add_main(void *arg)
{
    struct slow_add *a = arg;
    a->result = run(a->f, "Add", "MappedVirtualDisk",
                    "{\"MountPath\":\"/run/test-mount-storage-never/m5\",\"Lun\":5}", NULL);
    return NULL;
}

static void test_reservation(void **state)
{
    struct fixture *f = *state;
    struct slow_add a = {.f = f};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, slow_add_main, &a), 0);
    /* while the first Add waits for its disk, the same MountPath is refused at once... */
    unsigned long long t0 = lcow_now_ns();
    while (gcs_storage_count(f->s) == 0 && lcow_now_ns() - t0 < 2000000000ULL)
        usleep(1000);
    cleanup_free char *msg = NULL;
    assert_int_equal(run(f, "Add", "MappedVirtualDisk",
                         "{\"MountPath\":\"/run/test-mount-storage-never/m5\",\"Lun\":1}", &msg),
                     -EBUSY);
    assert_non_null(strstr(msg, "already in use"));
    /* ...and a Remove of it cannot race the Add either */
    free(msg);
    msg = NULL;
    assert_int_equal(run(f, "Remove", "MappedVirtualDisk",
                         "{\"MountPath\":\"/run/test-mount-storage-never/m5\",\"Lun\":5}", &msg),
                     -EBUSY);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(a.result, -ETIMEDOUT);
    assert_int_equal(gcs_storage_count(f->s), 0);
    assert_int_equal(access("/run/test-mount-storage-never", F_OK), -1);
}

int main(void)
{
    lcow_log_set_level(LCOW_LOG_WARNING);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scsi_device_remove, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_dev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reservation, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
