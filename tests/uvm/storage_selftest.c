/* Guest side of tests/uvm/storage_uvm.sh: runs as init's child inside the UVM, against the REAL
 * guest sysfs and /dev (virtio-scsi disks, a virtio-pmem device, the kernel's device-mapper,
 * which this build machine's kernel lacks). It applies wire-format ModifySettings requests with
 * gcs/storage.c and checks each effect, then prints `STORAGE-UVM PASS` (or FAIL) on the console
 * and exits, which makes init power the VM off.
 * Devices (see storage_uvm.sh): SCSI controller 0 LUN 1 = layer "l1" (read-only), LUN 2 = blank
 * scratch, LUN 3 = MBR disk with layer "l2" in partition 1; /dev/pmem0 = layer "l2" at offset 0 and
 * layer "l1" at offset 8 MiB. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "gcs/protocol.h"
#include "gcs/storage.h"

#define UVM  "\"ContainerId\":\"00000000-0000-0000-0000-000000000000\""
#define MIB8 "8388608"

static struct gcs_storage *reg;
static struct mount_env env;

static __attribute__((noreturn, format(printf, 1, 2))) void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("STORAGE-UVM FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
    exit(1);
}

static int apply(const char *type, const char *resource, const char *settings, char **ret_msg)
{
    cleanup_free char *json = NULL;
    if (asprintf(&json,
                 "{" UVM ",\"Request\":{\"RequestType\":\"%s\",\"ResourceType\":\"%s\","
                 "\"Settings\":%s}}",
                 type, resource, settings) < 0)
        fail("asprintf");
    struct gcs_modify_settings_request req = {0};
    cleanup_error struct lcow_error *err = NULL;
    int r = gcs_decode_modify_settings_request(json, strlen(json), &req, &err);
    if (r == 0)
        r = gcs_storage_apply(reg, &env, &req.request, &err);
    gcs_modify_settings_request_done(&req);
    if (ret_msg)
        *ret_msg = r < 0 ? strdup(lcow_error_message(err)) : NULL;
    else if (r < 0)
        fail("%s %s %s: %s", type, resource, settings, lcow_error_message(err));
    if (r == 0)
        printf("storage-uvm: %s %s ok\n", type, resource);
    return r;
}

static void expect_file(const char *path, const char *want)
{
    cleanup_free char *data = NULL;
    size_t len = 0;
    cleanup_error struct lcow_error *err = NULL;
    if (lcow_read_file(path, 4096, &data, &len, &err) < 0)
        fail("%s", lcow_error_message(err));
    while (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (strcmp(data, want) != 0)
        fail("`%s` holds `%s`, want `%s`", path, data, want);
}

static void expect_gone(const char *path)
{
    for (int i = 0; i < 500; i++) { /* device removal is asynchronous in sysfs: up to 5 s */
        if (access(path, F_OK) < 0)
            return;
        usleep(10000);
    }
    fail("`%s` still exists", path);
}

static void wait_for(const char *path)
{
    for (int i = 0; i < 1200; i++) { /* init loads these modules after starting us */
        if (access(path, F_OK) == 0)
            return;
        usleep(50000);
    }
    fail("`%s` never appeared", path);
}

static unsigned count_dm_devices(void)
{
    cleanup_dir DIR *d = opendir("/sys/block");
    unsigned n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        n += strncmp(de->d_name, "dm-", 3) == 0;
    return n;
}

static void scsi_and_scratch(void)
{
    apply(
        "Add", "MappedVirtualDisk",
        "{\"MountPath\":\"/run/mounts/scsi/m0\",\"Lun\":1,\"ReadOnly\":true,\"Options\":[\"ro\"]}",
        NULL);
    expect_file("/run/mounts/scsi/m0/shared", "l1");
    apply("Add", "MappedVirtualDisk",
          "{\"MountPath\":\"/run/gcs/c/c1\",\"Lun\":2,\"EnsureFilesystem\":true,"
          "\"Filesystem\":\"ext4\"}",
          NULL);
    apply("Add", "MappedVirtualDisk",
          "{\"MountPath\":\"/run/mounts/scsi/m3\",\"Lun\":3,\"Partition\":1,\"ReadOnly\":true}",
          NULL);
    expect_file("/run/mounts/scsi/m3/shared", "l2");
    apply("Remove", "MappedVirtualDisk",
          "{\"MountPath\":\"/run/mounts/scsi/m3\",\"Lun\":3,\"Partition\":1}", NULL);
    struct statfs sf;
    if (statfs("/run/gcs/c/c1", &sf) < 0 || sf.f_type != 0xEF53)
        fail("scratch is not a mounted ext4");
}

static void pmem_mapped(void)
{
    apply("Add", "VPMemDevice",
          "{\"MountPath\":\"/run/layers/p0-0-" MIB8
          "\",\"MappingInfo\":{\"DeviceSizeInBytes\":" MIB8 "}}",
          NULL);
    apply("Add", "VPMemDevice",
          "{\"MountPath\":\"/run/layers/p0-" MIB8 "-" MIB8 "\",\"MappingInfo\":{"
          "\"DeviceOffsetInBytes\":" MIB8 ",\"DeviceSizeInBytes\":" MIB8 "}}",
          NULL);
    expect_file("/run/layers/p0-0-" MIB8 "/shared", "l2");
    expect_file("/run/layers/p0-" MIB8 "-" MIB8 "/shared", "l1");
    if (access("/dev/mapper/dm-linear-pmem0-0-" MIB8, F_OK) < 0 || count_dm_devices() != 2)
        fail("dm-linear devices missing");
    cleanup_free char *msg = NULL;
    if (apply("Add", "VPMemDevice",
              "{\"MountPath\":\"/run/layers/bad\",\"MappingInfo\":{\"DeviceOffsetInBytes\":" MIB8
              ",\"DeviceSizeInBytes\":16777216}}",
              &msg) == 0)
        fail("a mapping past the end of pmem0 was accepted");
    printf("storage-uvm: bad mapping answered: %s\n", msg);
}

static void overlay(void)
{
    apply("Add", "CombinedLayers",
          "{\"ContainerID\":\"c1\",\"ContainerRootPath\":\"/run/gcs/c/c1/rootfs\",\"Layers\":["
          "{\"Path\":\"/run/layers/p0-0-" MIB8 "\"},{\"Path\":\"/run/mounts/scsi/m0\"}],"
          "\"ScratchPath\":\"/run/gcs/c/c1/scratch/c1\"}",
          NULL);
    expect_file("/run/gcs/c/c1/rootfs/shared", "l2");
    expect_file("/run/gcs/c/c1/rootfs/a", "a");
    if (lcow_write_file("/run/gcs/c/c1/rootfs/new", "w\n", 2, 0, 0644, NULL) < 0)
        fail("write into the overlay");
    expect_file("/run/gcs/c/c1/scratch/c1/upper/new", "w");
}

static void remove_all(void)
{
    apply("Remove", "CombinedLayers", "{\"ContainerRootPath\":\"/run/gcs/c/c1/rootfs\"}", NULL);
    apply("Remove", "MappedVirtualDisk", "{\"MountPath\":\"/run/gcs/c/c1\",\"Lun\":2}", NULL);
    apply("Remove", "VPMemDevice",
          "{\"MountPath\":\"/run/layers/p0-" MIB8 "-" MIB8 "\",\"MappingInfo\":{"
          "\"DeviceOffsetInBytes\":" MIB8 ",\"DeviceSizeInBytes\":" MIB8 "}}",
          NULL);
    apply("Remove", "VPMemDevice",
          "{\"MountPath\":\"/run/layers/p0-0-" MIB8
          "\",\"MappingInfo\":{\"DeviceSizeInBytes\":" MIB8 "}}",
          NULL);
    expect_gone("/dev/mapper/dm-linear-pmem0-0-" MIB8);
    if (count_dm_devices() != 0)
        fail("dm devices left after VPMem Remove");
    apply("Remove", "MappedVirtualDisk",
          "{\"MountPath\":\"/run/mounts/scsi/m0\",\"Lun\":1,\"ReadOnly\":true}", NULL);
    /* the guest-initiated unplug, for real this time */
    apply("Remove", "SCSIDevice", "{\"Lun\":1}", NULL);
    expect_gone("/sys/bus/scsi/devices/0:0:0:1");
    /* the whole device again, plain */
    apply("Add", "VPMemDevice", "{\"MountPath\":\"/run/layers/p0\"}", NULL);
    expect_file("/run/layers/p0/shared", "l2");
    apply("Remove", "VPMemDevice", "{\"MountPath\":\"/run/layers/p0\"}", NULL);
    if (gcs_storage_count(reg) != 0)
        fail("registry not empty");
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    lcow_log_setup(1, LCOW_LOG_INFO, false);
    printf("storage-uvm: start\n");
    wait_for("/dev/pmem0");
    wait_for("/dev/mapper/control");
    mount_env_init(&env);
    if (!(reg = gcs_storage_new()))
        fail("out of memory");
    unsigned long long t0 = lcow_now_ns();
    scsi_and_scratch();
    pmem_mapped();
    overlay();
    remove_all();
    printf("storage-uvm: all steps in %.2f s\n", (double)(lcow_now_ns() - t0) / 1e9);
    printf("STORAGE-UVM PASS\n");
    gcs_storage_free(reg);
    return 0;
}
