/* The pieces of /init (PID 1 of the utility VM, gcs-protocol.md §1.2), split by job so the pure
 * parts (arguments, the module list) are unit-tested on their own. Everything here is program
 * code for one process: it logs through init_log() and returns errors; only init.c decides
 * what is fatal, and nothing past the launch of the child is (style.md C6). */
#ifndef LCOW_INITRD_INIT_H
#define LCOW_INITRD_INIT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"
#include "vsock/transport.h"

#define INIT_DEFAULT_BASE "vsock:2"
#define INIT_PATH_ENV     "PATH=/sbin:/usr/sbin:/bin:/usr/bin"
/* The builder writes this list next to the modules: /lib/modules/<release>/modules.lcow. */
#define INIT_MODLIST_NAME "modules.lcow"

/* ---- arguments (init_args.c) ---------------------------------------------------------------- */

/* init [-t ADDR] [-d SHELL] [-e PORT] [-w] [-x PROGRAM] PROGRAM ARGS...
 * hcsshim's getopt "+d:e:w" plus -t (transport base, design.md §4) and -x (debug: a test host
 * run before the child, which init waits for; it daemonizes once it listens). */
struct init_args {
    struct vsock_addr base;  /* -t, default vsock:2 */
    const char *debug_shell; /* -d, NULL when absent */
    uint32_t entropy_port;   /* -e, 0 when absent */
    bool writable_overlays;  /* -w: tmpfs-backed overlays on /etc and /var */
    const char *pre_program; /* -x, NULL when absent */
    char *const *argv;       /* the child; static defaults when init got no arguments */
};

/* Parses argv (0 or -EINVAL naming the problem); ret is set only on success. With no
 * arguments at all it gives LCOW v1's defaults: gcs logging to /run/gcs/gcs.log plus /bin/sh. */
int init_parse_args(int argc, char **argv, struct init_args *ret, struct lcow_error **err);

/* True when the kernel command line holds `token` as a whole word (hcsshim.cgroup=v1). */
bool init_cmdline_has_token(const char *cmdline, const char *token);

/* ---- logging (init_system.c) -------------------------------------------------------------------
 */

enum {
    INIT_LOG_ERR = 3,
    INIT_LOG_WARNING = 4,
    INIT_LOG_INFO = 6,
    INIT_LOG_DEBUG = 7,
};

/* To /dev/kmsg as "<prio>init: msg" when use_kmsg (the VM), else to stderr. */
void init_log_setup(bool use_kmsg);
void init_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define init_err(...)   init_log(INIT_LOG_ERR, __VA_ARGS__)
#define init_warn(...)  init_log(INIT_LOG_WARNING, __VA_ARGS__)
#define init_info(...)  init_log(INIT_LOG_INFO, __VA_ARGS__)
#define init_debug(...) init_log(INIT_LOG_DEBUG, __VA_ARGS__)

/* ---- modules (init_modules.c) --------------------------------------------------------------- */

enum init_mod_stage {
    INIT_MOD_EARLY, /* vsock and its transport: loaded before the child starts */
    INIT_MOD_LATE,  /* storage, network, filesystems: loaded while gcs connects */
    INIT_MOD_STAGE_MAX,
};

struct init_module {
    enum init_mod_stage stage;
    char *path; /* relative to the module directory, never absolute, never `..` */
};

struct init_modlist {
    struct init_module *mods;
    size_t n;
};

/* Parses the builder's list: lines "early PATH" / "late PATH" in load order, `#` comments and
 * blank lines ignored. 0 or -EINVAL naming the line. */
int init_modlist_parse(const char *text, struct init_modlist *ret, struct lcow_error **err);
void init_modlist_done(struct init_modlist *l);

/* finit_module flag for a module file the kernel decompresses itself (CONFIG_MODULE_DECOMPRESS,
 * Linux 5.17+); the builder only leaves modules compressed for such kernels. */
#define INIT_MODULE_COMPRESSED_FILE 4u
/* The finit_module flags for a module path: INIT_MODULE_COMPRESSED_FILE for .ko.{xz,zst,gz}. */
unsigned init_module_flags(const char *path);

struct init_modstats {
    unsigned loaded, present, skipped, failed;
};

/* finit_module()s every module of `stage` in list order, relative to dirfd. ENODEV (a CPU
 * feature TCG lacks) is skipped quietly, EEXIST counts as present, anything else is a warning.
 * Never fails as a whole: a missing driver is gcs's problem to report, not a reason to stop. */
void init_modules_load(int dirfd, const struct init_modlist *l, enum init_mod_stage stage,
                       struct init_modstats *stats);

/* ---- filesystems (init_mounts.c) ------------------------------------------------------------ */

/* /dev, /proc, the /dev symlinks, /run, /tmp, /dev/shm, /dev/pts, /sys. -errno naming the
 * mount that failed. */
int init_mount_base(struct lcow_error **err);
/* -w: tmpfs /run/over with overlays on /etc and /var. */
int init_mount_writable_overlays(struct lcow_error **err);
/* cgroup v2 (with the BPF device-cgroup probe), else v1; `force_v1` for hcsshim.cgroup=v1.
 * `enable_controllers`: write every controller into the root's subtree_control, which only
 * the VM's own init may do (a test's init shares the machine's hierarchy). */
int init_mount_cgroups(bool force_v1, bool enable_controllers, struct lcow_error **err);

/* ---- system (init_system.c) ----------------------------------------------------------------- */

/* True when this process is PID 1 of the initial pid namespace (needs /proc). Only then may
 * init power the machine off, talk to /dev/kmsg or load kernel modules. */
bool init_is_vm_init(void);
int init_set_rlimits(struct lcow_error **err);
/* IFF_UP|IFF_RUNNING on `lo`, over AF_INET and AF_INET6 (EAFNOSUPPORT ignored). */
int init_loopback_up(struct lcow_error **err);
/* Reads the host's entropy port until EOF and feeds it to RNDADDENTROPY. Returns the bytes
 * added or -errno. */
int init_feed_entropy(const struct vsock_addr *base, uint32_t port, struct lcow_error **err);
/* sync() and power off; returns only when reboot() fails. */
int init_power_off(struct lcow_error **err);
/* Seconds since boot, from CLOCK_BOOTTIME (what /proc/uptime shows). */
double init_uptime(void);

#endif
