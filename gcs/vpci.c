/* The VPCIDevice row of gcs/modify.c (gcs-protocol.md §4.9): Add waits until the PCI device the
 * host assigned shows up below its VMBus channel,
 *     <sysfs>/bus/vmbus/devices/<VMBusGUID>/pci<domain>:<bus>/<domain>:<bus>:<dev>.<fn>
 * as the Go GCS's WaitForPCIDeviceFromVMBusGUID does, but bounded by -device-timeout-ms (Go
 * waits as long as the request lives). Nothing else happens here: containers that use such a
 * device (windows.devices) are refused at Create. Any other RequestType is E_FAIL, as in Go.
 * Under QEMU there is no VMBus, so an Add can only time out there. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/modify.h"
#include "gcs/protocol.h"

#define VPCI_POLL_US 10000

/* A VMBus instance id: hex digits and dashes only (it becomes a path component), lower-cased
 * as sysfs names it. */
static int vmbus_guid(const char *in, char *out, size_t cap, struct lcow_error **err)
{
    size_t n = in ? strlen(in) : 0;
    if (n == 0 || n >= cap)
        return lcow_error_make(err, EINVAL, "VPCIDevice: VMBusGUID `%s` is not a GUID",
                               in ? in : "");
    for (size_t i = 0; i < n; i++) {
        if (!isxdigit((unsigned char)in[i]) && in[i] != '-')
            return lcow_error_make(err, EINVAL, "VPCIDevice: VMBusGUID `%s` is not a GUID", in);
        out[i] = (char)tolower((unsigned char)in[i]);
    }
    out[n] = '\0';
    return 0;
}

/* 1 when dir (the VMBus device) holds exactly one pci<dom>:<bus> directory with a
 * <dom>:<bus>:... device in it, 0 while not (yet), -errno for more than one bridge. */
static int device_present(const char *dir, struct lcow_error **err)
{
    cleanup_dir DIR *d = opendir(dir);
    if (!d)
        return 0;
    char bridge[256] = "";
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "pci", 3) != 0)
            continue;
        if (bridge[0])
            return lcow_error_make(err, EINVAL, "VPCIDevice: several PCI bridges under `%s`", dir);
        snprintf(bridge, sizeof(bridge), "%s", de->d_name);
    }
    if (!bridge[0])
        return 0;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, bridge);
    cleanup_dir DIR *b = opendir(path);
    const char *bus = bridge + 3;
    size_t len = strlen(bus);
    while (b && (de = readdir(b)))
        if (strncmp(de->d_name, bus, len) == 0 && de->d_name[len] == ':')
            return 1;
    return 0;
}

int gcs_vpci_device_modify(struct gcs *g, const struct gcs_modify_request *req,
                           struct lcow_error **err)
{
    if (req->request_type != GCS_REQUEST_ADD)
        return lcow_error_make(err, ENOTSUP, "the RequestType `%s` is not supported for VPCIDevice",
                               req->request_type_name ? req->request_type_name : "");
    char guid[80];
    int r = vmbus_guid(req->settings.vpci_device.vmbus_guid, guid, sizeof(guid), err);
    if (r < 0)
        return r;
    const struct gcs_options *o = gcs_get_options(g);
    const char *sysfs = o->sysfs_root && *o->sysfs_root ? o->sysfs_root : "/sys";
    unsigned timeout_ms = o->device_timeout_ms ? o->device_timeout_ms : 60000;
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/bus/vmbus/devices/%s", sysfs, guid);
    unsigned long long deadline = lcow_now_ns() + timeout_ms * 1000000ull;
    for (;;) {
        r = device_present(dir, err);
        if (r != 0)
            return r < 0 ? r : 0;
        if (lcow_now_ns() >= deadline)
            return lcow_error_make(err, ETIMEDOUT,
                                   "VPCIDevice %s: no PCI device appeared under `%s` within %u ms",
                                   guid, dir, timeout_ms);
        usleep(VPCI_POLL_US);
    }
}
