/* runlcow: global flags, the command table, and the helpers every verb shares.
 *   runlcow [--root DIR] [--log FILE] [--log-format text|json] [--debug] [--kernel PATH]
 *           [--initrd PATH] [--qemu PATH] [--vsock-backend PATH] [--memory MB] [--cpus N]
 *           [--accel auto|kvm|tcg] [--vsock auto|vhost|user] [--kernel-args ARGS]
 *           [--boot-timeout SEC] [--scratch-size MB] [--timeline FILE] COMMAND ARGS... */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/log.h"
#include "host/runlcow.h"

#define RUNLCOW_VERSION "0.1.0"
#include "host/runlcow2.h"

static const struct rl_command commands[] = {
    {"create", rl_cmd_create, "create [--bundle DIR] [--pid-file FILE] ID"},
    {"run", rl_cmd_run, "run [-d] [--bundle DIR] [--pid-file FILE] ID"},
    {"start", rl_cmd_start, "start ID"},
    {"state", rl_cmd_state, "state ID"},
    {"list", rl_cmd_list, "list [--format table|json] [-q]"},
    {"kill", rl_cmd_kill, "kill ID [SIGNAL]"},
    {"delete", rl_cmd_delete, "delete [--force] ID"},
    {"exec", rl_cmd_exec,
     "exec [-d] [-t] [--pid-file FILE] [--cwd DIR] [-e K=V]... [-u UID[:GID]] "
     "(-p process.json ID | ID ARGS...)"},
    /* part 2 (runlcow2.h) */
    {"ps", rl2_cmd_ps, "ps [--format table|json] ID"},
    {"pause", rl2_cmd_pause, "pause ID"},
    {"resume", rl2_cmd_resume, "resume ID"},
    {"update", rl2_cmd_update,
     "update [--resources FILE|-] [--memory BYTES] [--pids-limit N] ... ID"},
    {"events", rl2_cmd_events, "events [--stats] [--interval SECONDS] ID"},
    {"features", rl2_cmd_features, "features"},
    {"spec", rl2_cmd_spec, "spec [--bundle DIR]"},
};

static bool log_to_file;

bool rl_log_is_stderr(void)
{
    return !log_to_file;
}

/* The message goes to stderr, and to the log too when that is a file (--log). */
int rl_fail(struct lcow_error *err)
{
    const char *m = lcow_error_message(err);
    fprintf(stderr, "runlcow: %s\n", m);
    if (log_to_file)
        lcow_log(LCOW_LOG_ERROR, "%s", m);
    return 1;
}

int rl_failf(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "runlcow: %s\n", buf);
    if (log_to_file)
        lcow_log(LCOW_LOG_ERROR, "%s", buf);
    return 1;
}

static int usage(void)
{
    fputs("usage: runlcow [global flags] COMMAND\n"
          "global flags: --root DIR (/run/runlcow) --log FILE --log-format text|json --debug\n"
          "  --kernel PATH --initrd PATH (../vmlinux, ../initrd.img next to runlcow) --qemu PATH\n"
          "  --vsock-backend PATH --memory MB (1024) --cpus N (2, TCG 1) --accel auto|kvm|tcg\n"
          "  --vsock auto|vhost|user --kernel-args ARGS --boot-timeout SEC (120)\n"
          "  --scratch-size MB (1024) --timeline FILE\n"
          "commands:\n",
          stderr);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(commands); i++)
        fprintf(stderr, "  %s\n", commands[i].usage);
    return 1;
}

/* Paths next to the program: build/bin/runlcow finds build/vmlinux and build/bin/...  */
static char *beside_exe(const char *rel)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = '\0';
    char *p = NULL;
    return asprintf(&p, "%s/%s", dirname(exe), rel) < 0 ? NULL : p;
}

static int parse_uint(const char *s, unsigned min, unsigned max, unsigned *ret)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || !*s || *end || v < min || v > max)
        return -EINVAL;
    *ret = (unsigned)v;
    return 0;
}

static int parse_globals(struct rl_globals *g, int argc, char **argv)
{
    enum {
        O_ROOT = 256,
        O_LOG,
        O_LOGFMT,
        O_DEBUG,
        O_KERNEL,
        O_INITRD,
        O_QEMU,
        O_BACKEND,
        O_MEMORY,
        O_CPUS,
        O_ACCEL,
        O_VSOCK,
        O_KARGS,
        O_BOOT_TIMEOUT,
        O_SCRATCH,
        O_TIMELINE
    };
    static const struct option opts[] = {
        {"root", required_argument, NULL, O_ROOT},
        {"log", required_argument, NULL, O_LOG},
        {"log-format", required_argument, NULL, O_LOGFMT},
        {"debug", no_argument, NULL, O_DEBUG},
        {"kernel", required_argument, NULL, O_KERNEL},
        {"initrd", required_argument, NULL, O_INITRD},
        {"qemu", required_argument, NULL, O_QEMU},
        {"vsock-backend", required_argument, NULL, O_BACKEND},
        {"memory", required_argument, NULL, O_MEMORY},
        {"cpus", required_argument, NULL, O_CPUS},
        {"accel", required_argument, NULL, O_ACCEL},
        {"vsock", required_argument, NULL, O_VSOCK},
        {"kernel-args", required_argument, NULL, O_KARGS},
        {"boot-timeout", required_argument, NULL, O_BOOT_TIMEOUT},
        {"scratch-size", required_argument, NULL, O_SCRATCH},
        {"timeline", required_argument, NULL, O_TIMELINE},
        {"version", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned v = 0;
    int o;
    while ((o = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
        switch (o) {
        case 'v':
            /* runc's three lines (containerd parses them). */
            printf("runlcow version %s\ncommit: none\nspec: 1.2.0\n", RUNLCOW_VERSION);
            return 2;
        case 'h':
            usage();
            return 2;
        case O_ROOT:
            g->root = optarg;
            break;
        case O_LOG:
            g->log = optarg;
            break;
        case O_LOGFMT:
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "text") != 0)
                return rl_failf("invalid --log-format `%s` (text or json)", optarg);
            g->log_json = strcmp(optarg, "json") == 0;
            break;
        case O_DEBUG:
            g->debug = true;
            break;
        case O_KERNEL:
            g->kernel = optarg;
            break;
        case O_INITRD:
            g->initrd = optarg;
            break;
        case O_QEMU:
            g->qemu = optarg;
            break;
        case O_BACKEND:
            g->backend = optarg;
            break;
        case O_MEMORY:
            if (parse_uint(optarg, 128, 1u << 20, &v) < 0 || v % 2)
                return rl_failf("invalid --memory `%s` (even MiB, at least 128)", optarg);
            g->memory_mb = v;
            break;
        case O_CPUS:
            if (parse_uint(optarg, 1, 256, &v) < 0)
                return rl_failf("invalid --cpus `%s`", optarg);
            g->cpus = v;
            break;
        case O_ACCEL:
            if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg"))
                return rl_failf("invalid --accel `%s` (auto, kvm or tcg)", optarg);
            g->accel = optarg;
            break;
        case O_VSOCK:
            if (strcmp(optarg, "auto") && strcmp(optarg, "vhost") && strcmp(optarg, "user"))
                return rl_failf("invalid --vsock `%s` (auto, vhost or user)", optarg);
            g->vsock = optarg;
            break;
        case O_KARGS:
            g->kernel_args = optarg;
            break;
        case O_BOOT_TIMEOUT:
            if (parse_uint(optarg, 1, 3600, &v) < 0)
                return rl_failf("invalid --boot-timeout `%s` (seconds)", optarg);
            g->boot_timeout_ms = (int)v * 1000;
            break;
        case O_SCRATCH:
            if (parse_uint(optarg, 16, 1u << 24, &v) < 0)
                return rl_failf("invalid --scratch-size `%s` (MiB, at least 16)", optarg);
            g->scratch_bytes = (uint64_t)v << 20;
            break;
        case O_TIMELINE:
            g->timeline = optarg;
            break;
        default:
            return usage();
        }
    }
    return 0;
}

static void defaults(struct rl_globals *g, char **owned)
{
    if (!g->kernel)
        g->kernel = owned[0] = beside_exe("../vmlinux");
    if (!g->initrd)
        g->initrd = owned[1] = beside_exe("../initrd.img");
    if (!g->backend) {
        owned[2] = beside_exe("vhost-user-vsock");
        g->backend = owned[2] && access(owned[2], X_OK) == 0 ? owned[2] : "vhost-user-vsock";
    }
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    if (g->cpus > (unsigned)ncpu && ncpu > 0)
        g->cpus = (unsigned)ncpu; /* hcsshim caps at the host's count */
}

static int setup_log(struct rl_globals *g)
{
    enum lcow_log_level lvl = g->debug ? LCOW_LOG_DEBUG : LCOW_LOG_WARNING;
    if (!g->log) {
        lcow_log_setup(STDERR_FILENO, lvl, g->log_json);
        return 0;
    }
    int fd = open(g->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return rl_failf("open --log `%s`: %s", g->log, strerror(errno));
    lcow_log_setup(fd, lvl, g->log_json);
    log_to_file = true;
    return 0;
}

int main(int argc, char **argv)
{
    struct rl_globals g = {
        .root = "/run/runlcow",
        .qemu = "qemu-system-x86_64",
        .memory_mb = 1024,
        .cpus = 0, /* 2 with KVM, 1 under TCG: host_uvm_cpus */
        .accel = "auto",
        .vsock = "auto",
        .boot_timeout_ms = 120000,
        .scratch_bytes = 1024ull << 20,
    };
    int pg = parse_globals(&g, argc, argv);
    if (pg == 2) /* --version, --help */
        return 0;
    if (pg != 0)
        return 1;
    if (optind >= argc)
        return usage();
    char *owned[3] = {NULL, NULL, NULL};
    defaults(&g, owned);
    if (setup_log(&g) != 0)
        return 1;
    int vi = optind;
    const char *verb = argv[vi];
    int r = -1;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(commands); i++) {
        if (strcmp(commands[i].name, verb) == 0) {
            if (argc - vi > 1 &&
                (strcmp(argv[vi + 1], "-h") == 0 || strcmp(argv[vi + 1], "--help") == 0)) {
                printf("usage: runlcow %s\n", commands[i].usage);
                r = 0;
                break;
            }
            optind = 0; /* each verb parses its own flags from scratch (argv[0] = the verb) */
            r = commands[i].run(&g, argc - vi, argv + vi);
            break;
        }
    }
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(owned); i++)
        free(owned[i]);
    if (r < 0) {
        rl_failf("unknown command `%s`", verb);
        return usage();
    }
    return r;
}
