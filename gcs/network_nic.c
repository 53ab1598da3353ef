/* Finding the Linux interface of a host network adapter (gcs-protocol.md §5.6, design.md §5):
 *   Hyper-V:  <sysfs>/bus/vmbus/devices/<instance id>/net/<ifname>
 *   VPCI:     <sysfs>/bus/vmbus/devices/<instance
 * id>/pci<dom>:<bus>/<dom>:<bus>:<dev>.<fn>/net/<ifname> QEMU:     no VMBus; the interface whose
 * <sysfs>/class/net/<ifname>/address is MacAddress. The sysfs root is a parameter so the unit tests
 * run against fake trees. The device may appear a little after the host's request (hot-add), hence
 * the bounded polling wait. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "gcs/network.h"

#define LOOKUP_POLL_MS 20

/* The single entry of directory `path` into ret (IFNAMSIZ): -ENOENT when missing or empty,
 * -EINVAL when there are several. */
static int single_entry(const char *path, char *ret, struct lcow_error **err)
{
    cleanup_dir DIR *d = opendir(path);
    struct dirent *de;
    int found = 0;
    char name[IFNAMSIZ] = "";

    if (!d)
        return errno == ENOENT || errno == ENOTDIR ? -ENOENT
                                                   : lcow_error_errno(err, "opendir `%s`", path);
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        if (strlen(de->d_name) >= IFNAMSIZ)
            return lcow_error_make(err, EINVAL, "interface name `%s` under `%s` too long",
                                   de->d_name, path);
        if (found++)
            return lcow_error_make(err, EINVAL, "`%s` holds more than one interface", path);
        snprintf(name, sizeof(name), "%s", de->d_name);
    }
    if (!found)
        return -ENOENT;
    memcpy(ret, name, IFNAMSIZ);
    return 0;
}

int gcs_net_lookup_instance_id(const char *sysfs_root, const char *id, bool vpci, char *ret,
                               struct lcow_error **err)
{
    cleanup_free char *lower = strdup(id);
    cleanup_free char *path = NULL;
    glob_t g = {0};
    int r;

    if (!lower)
        return lcow_error_make(err, ENOMEM, "lookup `%s`: out of memory", id);
    if (!*lower || strchr(lower, '/') || strpbrk(lower, "*?[\\") || lower[0] == '.')
        return lcow_error_make(err, EINVAL, "invalid adapter instance id `%.64s`", id);
    for (char *c = lower; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (!vpci) {
        if (asprintf(&path, "%s/bus/vmbus/devices/%s/net", sysfs_root, lower) < 0)
            return lcow_error_make(err, ENOMEM, "lookup `%s`: out of memory", id);
        return single_entry(path, ret, err);
    }
    /* VPCI: the PCI function sits below a pci<domain>:<bus> bridge directory of the VMBus
     * device; exactly one such function with a net/ directory must exist. */
    if (asprintf(&path, "%s/bus/vmbus/devices/%s/pci*/*/net", sysfs_root, lower) < 0)
        return lcow_error_make(err, ENOMEM, "lookup `%s`: out of memory", id);
    r = glob(path, GLOB_NOSORT | GLOB_ONLYDIR, NULL, &g);
    if (r == GLOB_NOMATCH) {
        globfree(&g);
        return -ENOENT;
    }
    if (r != 0) {
        globfree(&g);
        return lcow_error_make(err, EIO, "glob `%s` failed", path);
    }
    if (g.gl_pathc != 1) {
        size_t n = g.gl_pathc;
        globfree(&g);
        return lcow_error_make(err, EINVAL, "VPCI adapter `%s`: %zu PCI net devices match", id, n);
    }
    r = single_entry(g.gl_pathv[0], ret, err);
    globfree(&g);
    return r;
}

/* True when <dir>/<name> exists (without following a final symlink's target). */
static bool has_entry(int dirfd, const char *name)
{
    return faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int gcs_net_lookup_mac(const char *sysfs_root, const unsigned char mac[6], char *ret,
                       struct lcow_error **err)
{
    cleanup_free char *path = NULL;
    cleanup_dir DIR *d = NULL;
    struct dirent *de;
    char found[IFNAMSIZ] = "";
    int n = 0;

    if (asprintf(&path, "%s/class/net", sysfs_root) < 0)
        return lcow_error_make(err, ENOMEM, "lookup MAC: out of memory");
    d = opendir(path);
    if (!d)
        return errno == ENOENT ? -ENOENT : lcow_error_errno(err, "opendir `%s`", path);
    while ((de = readdir(d))) {
        cleanup_close int fd = -1;
        char buf[64];
        unsigned char m[6];
        ssize_t len;

        if (de->d_name[0] == '.' || strlen(de->d_name) >= IFNAMSIZ)
            continue;
        fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            continue; /* vanished meanwhile, or not a directory */
        {
            cleanup_close int af = openat(fd, "address", O_RDONLY | O_CLOEXEC);
            if (af < 0)
                continue;
            len = lcow_read_exact(af, buf, sizeof(buf) - 1);
        }
        /* Exactly one Ethernet address: longer link-layer addresses (InfiniBand) never match. */
        if (len != 17 && !(len == 18 && buf[17] == '\n'))
            continue;
        buf[17] = '\0';
        if (gcs_net_mac_parse(buf, m) < 0 || memcmp(m, mac, 6) != 0)
            continue;
        /* A VF enslaved to the synthetic NIC (accelerated networking) shares its MAC. */
        if (has_entry(fd, "master"))
            continue;
        if (n++)
            return lcow_error_make(
                err, EINVAL, "MAC %02x:%02x:%02x:%02x:%02x:%02x matches `%s` and `%s`", mac[0],
                mac[1], mac[2], mac[3], mac[4], mac[5], found, de->d_name);
        snprintf(found, sizeof(found), "%s", de->d_name);
    }
    if (!n)
        return -ENOENT;
    memcpy(ret, found, IFNAMSIZ);
    return 0;
}

/* One attempt with both keys: instance id (always tried: under Hyper-V it is authoritative),
 * then the MAC. -ENOENT when neither is there yet. */
static int lookup_once(const char *sysfs_root, const struct gcs_net_adapter *a, char *ret,
                       struct lcow_error **err)
{
    int r = gcs_net_lookup_instance_id(sysfs_root, a->id, a->vpci_assigned, ret, err);
    if (r != -ENOENT || !a->has_mac)
        return r;
    return gcs_net_lookup_mac(sysfs_root, a->mac, ret, err);
}

/* A socket on the kernel's uevent multicast group, or -1 (then the wait just polls). Opened
 * before the first look, so an add that lands in between still wakes the wait. */
static int uevent_open(void)
{
    struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = 1};
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        fd = lcow_close_nointr(fd);
    return fd;
}

/* Sleeps until a uevent arrives or ms pass; the events themselves do not matter (the next
 * look decides), so they are drained unread. */
static void uevent_sleep(int fd, int ms)
{
    char buf[4096];
    if (fd < 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) > 0)
        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            ;
}

int gcs_net_lookup_wait(const char *sysfs_root, const struct gcs_net_adapter *a,
                        unsigned timeout_ms, char *ret, struct lcow_error **err)
{
    unsigned long long deadline = lcow_now_ns() + (unsigned long long)timeout_ms * 1000000ull;
    cleanup_close int ufd = uevent_open();
    for (;;) {
        int r = lookup_once(sysfs_root, a, ret, err);
        unsigned long long now = lcow_now_ns();
        if (r != -ENOENT)
            return r;
        if (now >= deadline)
            break;
        unsigned long long left_ms = (deadline - now) / 1000000ull + 1;
        uevent_sleep(ufd, (int)(left_ms < LOOKUP_POLL_MS ? left_ms : LOOKUP_POLL_MS));
    }
    if (a->has_mac)
        return lcow_error_make(err, ETIMEDOUT,
                               "no interface for adapter `%s` (VMBus instance id or MAC "
                               "%02x:%02x:%02x:%02x:%02x:%02x) within %u ms",
                               a->id, a->mac[0], a->mac[1], a->mac[2], a->mac[3], a->mac[4],
                               a->mac[5], timeout_ms);
    return lcow_error_make(err, ETIMEDOUT,
                           "no interface for adapter `%s` (VMBus instance id) within %u ms", a->id,
                           timeout_ms);
}
