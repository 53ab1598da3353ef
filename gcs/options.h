/* gcs's command line (design.md §2): hcsshim's Go-style single-dash flags plus ours.
 * Both `-x v` and `-x=v` are accepted (and `--x`), as Go's flag package does. */
#ifndef LCOW_GCS_OPTIONS_H
#define LCOW_GCS_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/error.h"
#include "common/log.h"

#define GCS_DEFAULT_BRIDGE "vsock:2:1073741824"

struct gcs_options {
    /* hcsshim's flags */
    bool v4;                           /* -v4: accepted; v4 is the only protocol */
    enum lcow_log_level loglevel;      /* -loglevel (default debug) */
    bool log_json;                     /* -log-format text|json (default text) */
    const char *logfile;               /* -logfile PATH (NULL: stderr) */
    bool use_inouterr;                 /* -use-inouterr: bridge on stdin/stdout */
    bool disable_time_sync;            /* -disable-time-sync */
    const char *core_dump_location;    /* -core-dump-location PATTERN */
    uint64_t root_mem_reserve_bytes;   /* -root-mem-reserve-bytes (default 75 MiB) */
    uint64_t gcs_mem_limit_bytes;      /* -gcs-mem-limit-bytes (default 50 MiB) */
    bool scrub_logs;                   /* -scrub-logs (default true) */
    int kmsg_log_level;                /* -kmsgLogLevel (default 4) */
    const char *initial_policy_stance; /* -initial-policy-stance allow|deny */
    /* ours */
    const char *bridge;      /* -bridge ADDR (design.md §4) */
    const char *cgroup_root; /* -cgroup-root PATH (default "/"): where /pods and /gcs go */
    /* Test hooks: roots that stand in for /sys and /dev so host-run tests can point handlers
     * at fake trees (never at this machine's devices). */
    const char *sysfs_root; /* -sysfs-root PATH (default "/sys") */
    const char *dev_root;   /* -dev-root PATH (default "/dev") */
    /* Bound of the wait for a hot-plugged device to appear (SCSI, pmem, NICs). */
    unsigned device_timeout_ms; /* -device-timeout-ms N (default 60000) */
    /* Upper bound of worker threads running blocking handlers. */
    unsigned workers; /* -workers N (default 8) */
    /* Test hook: a lower bound of stdio connections than GCS_LIMIT_STDIO_CONNECTIONS, so that
     * a test reaches it with a few hundred processes (0: the limit). */
    int max_stdio_connections; /* -max-stdio-connections N */
};

/* Fills *ret with defaults, then parses argv[1..argc). Strings point into argv.
 * Returns 0, 1 when -h/-help was asked (usage printed by the caller), or -EINVAL naming
 * the flag. */
int gcs_options_parse(int argc, char **argv, struct gcs_options *ret, struct lcow_error **err);
/* Usage text for -h. */
const char *gcs_options_usage(void);

#endif
