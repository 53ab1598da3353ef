/* gcs: the LCOW guest agent. Parses the command line, sets up logging, and serves the bridge
 * until the host shuts the UVM down. gcs never powers anything off: it exits 0 and init (PID 1)
 * does the rest. */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "common/syscalls.h"
#include "gcs/bridge.h"
#include "gcs/container.h"

/* fds 0/1/2 must exist, or the first socket would land on one and a child would inherit it
 * as stdio by accident. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++) {
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
            int n = open("/dev/null", O_RDWR);
            if (n >= 0 && n != fd)
                close(n);
        }
    }
    /* Whatever else the parent left open (a test harness, a debug shell) must not reach a
     * container or a UVM process: mark it CLOEXEC (close_range needs Linux 5.11; best effort). */
    (void)sys_close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
}

static int setup_logging(const struct gcs_options *o, struct lcow_error **err)
{
    int fd = STDERR_FILENO;
    if (o->logfile) {
        fd = open(o->logfile, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd < 0)
            return lcow_error_errno(err, "open log file `%s`", o->logfile);
    }
    lcow_log_setup(fd, o->loglevel, o->log_json);
    return 0;
}

/* -core-dump-location (§5.9): where the UVM's kernel writes core files. A failure is logged,
 * not fatal: the agent is more useful running without it than not running. */
static void setup_core_pattern(const struct gcs_options *o)
{
    cleanup_error struct lcow_error *err = NULL;
    if (!o->core_dump_location)
        return;
    if (lcow_write_file("/proc/sys/kernel/core_pattern", o->core_dump_location,
                        strlen(o->core_dump_location), O_WRONLY | O_TRUNC, 0, &err) < 0)
        lcow_log(LCOW_LOG_ERROR, "set the core dump location: %s", lcow_error_message(err));
}

/* The host parses stderr as JSON lines from the first byte (§1.7): when -log-format json is
 * on the command line, even a command-line error is reported as a JSON record. */
static bool wants_json(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i] + (argv[i][0] == '-' && argv[i][1] == '-');
        if (strcmp(a, "-log-format=json") == 0 ||
            (strcmp(a, "-log-format") == 0 && i + 1 < argc && strcmp(argv[i + 1], "json") == 0))
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    cleanup_error struct lcow_error *err = NULL;
    struct gcs_options opt;
    ensure_std_fds();
    int r = gcs_options_parse(argc, argv, &opt, &err);
    if (r == 1) {
        fputs(gcs_options_usage(), stdout);
        return 0;
    }
    if (r < 0) {
        if (wants_json(argc, argv)) {
            lcow_log_setup(STDERR_FILENO, LCOW_LOG_INFO, true);
            lcow_log(LCOW_LOG_FATAL, "gcs: %s", lcow_error_message(err));
        } else {
            fprintf(stderr, "gcs: %s\n", lcow_error_message(err));
        }
        return 2;
    }
    if (setup_logging(&opt, &err) < 0) {
        fprintf(stderr, "gcs: %s\n", lcow_error_message(err));
        return 1;
    }
    /* Few threads allocate, and rarely at the same time: two malloc arenas instead of one per
     * thread keep the footprint small after bursts. */
    mallopt(M_ARENA_MAX, 2);
    /* A write to a host that went away must fail with EPIPE, not kill the agent. Children get
     * the default back before exec. */
    signal(SIGPIPE, SIG_IGN);

    setup_core_pattern(&opt);
    struct gcs g;
    r = gcs_init(&g, &opt, &err);
    if (r < 0) {
        lcow_log(LCOW_LOG_FATAL, "gcs: %s", lcow_error_message(err));
        gcs_done(&g);
        return 1;
    }
    /* §5.9: subreaper, cgroups under -cgroup-root, core pattern, time sync. A failure is
     * logged and gcs serves anyway: the host can still run external processes. */
    if (gcs_startup(&g, &err) < 0) {
        lcow_error_log("gcs start-up: %s", lcow_error_message(err));
        lcow_error_release(&err);
    }
    lcow_info("gcs started (pid %d, bridge %s%s)", (int)getpid(), opt.bridge,
              opt.use_inouterr ? ", on stdin/stdout" : "");
    /* No exit on an error past this point: the loop logs, answers and keeps serving. */
    r = gcs_run(&g);
    gcs_done(&g);
    return r < 0 ? 1 : 0;
}
