/* A small QMP client (QEMU Machine Protocol, JSON lines over a Unix socket) for what runlcow
 * needs: capabilities negotiation, SCSI disk hot-plug/unplug and quitting. Events that arrive
 * while a command is outstanding are skipped, except DEVICE_DELETED, which device_del waits
 * for. Calls take a timeout in milliseconds; errors follow common/error.h. */
#ifndef LCOW_HOST_QMP_H
#define LCOW_HOST_QMP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"

struct host_qmp;

/* Connects to QEMU's `-qmp unix:PATH,server=on,wait=off` socket (retrying while QEMU has not
 * created it yet, up to timeout_ms) and leaves capabilities negotiation mode. */
int host_qmp_connect(const char *path, int timeout_ms, struct host_qmp **ret,
                     struct lcow_error **err);
void host_qmp_free(struct host_qmp *q);

/* Runs one command. args (may be NULL) is taken. On success *ret (if non-NULL) gets the
 * "return" value (caller puts it). A QMP error is -EREMOTEIO with QEMU's description. */
int host_qmp_call(struct host_qmp *q, const char *command, struct json_object *args, int timeout_ms,
                  struct json_object **ret, struct lcow_error **err);

/* blockdev-add of a raw file as node `node`. */
int host_qmp_blockdev_add(struct host_qmp *q, const char *node, const char *file, bool read_only,
                          int timeout_ms, struct lcow_error **err);
int host_qmp_blockdev_del(struct host_qmp *q, const char *node, int timeout_ms,
                          struct lcow_error **err);
/* device_add of a scsi-hd on `bus` (e.g. "scsi0.0") at channel 0, scsi-id 0, lun: the
 * address the guest sees as H:0:0:LUN, as on Hyper-V. */
int host_qmp_scsi_add(struct host_qmp *q, const char *id, const char *node, const char *bus,
                      unsigned lun, int timeout_ms, struct lcow_error **err);
/* device_del, then waits for its DEVICE_DELETED event. */
int host_qmp_device_del(struct host_qmp *q, const char *id, int timeout_ms,
                        struct lcow_error **err);

#endif
