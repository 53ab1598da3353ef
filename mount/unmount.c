/* Unmount-and-remove with retries (gcs-protocol.md §5.2 step 6, §5.4 Remove). */
#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>
#include <time.h>

#include "mount/mount.h"

/* Go's loop: up to 5 umount calls, each popping one stacked mount, until EINVAL says nothing is
 * mounted. A busy mount (a process still starting or exiting inside it) is retried. */
#define UNMOUNT_ROUNDS   5
#define UNMOUNT_BUSY_MS  100
#define UNMOUNT_BUSY_MAX 20

static void pause_busy(void)
{
    struct timespec ts = {.tv_sec = 0, .tv_nsec = UNMOUNT_BUSY_MS * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int mount_unmount_all(const char *path, struct lcow_error **err)
{
    int rounds = 0, busy = 0;
    for (;;) {
        int mp = mount_is_mount_point_at(AT_FDCWD, path);
        if (mp == -ENOENT || mp == 0)
            return 0;
        if (rounds >= UNMOUNT_ROUNDS)
            return lcow_error_make(err, EBUSY, "umount `%s`: still mounted after %d unmounts", path,
                                   UNMOUNT_ROUNDS);
        if (umount2(path, UMOUNT_NOFOLLOW) == 0) {
            rounds++;
            continue;
        }
        if (errno == EINVAL || errno == ENOENT)
            return 0;
        if (errno == EBUSY && busy++ < UNMOUNT_BUSY_MAX) {
            pause_busy();
            continue;
        }
        return lcow_error_errno(err, "umount `%s`", path);
    }
}

int mount_unmount_and_remove(const char *path, struct lcow_error **err)
{
    int r = mount_unmount_all(path, err);
    if (r < 0)
        return r;
    return mount_remove_tree(path, err);
}
