/* Name tables of the runtime spec and the runc CLI: capabilities, rlimits, signals, namespaces.
 * Plain arrays searched linearly: they are short and read once per container. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>

#include "common/cleanup.h"
#include "common/syscalls.h"
#include "oci/spec.h"

/* Index = capability number (linux/capability.h). */
static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int oci_cap_from_name(const char *name)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cap_names); i++)
        if (strcasecmp(cap_names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *oci_cap_name(int cap)
{
    if (cap < 0 || (size_t)cap >= LCOW_ARRAY_SIZE(cap_names))
        return NULL;
    return cap_names[cap];
}

int oci_cap_last(void)
{
    return (int)LCOW_ARRAY_SIZE(cap_names) - 1;
}

static const struct {
    const char *name;
    int resource;
} rlimits[] = {
    {"RLIMIT_CPU", RLIMIT_CPU},           {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_DATA", RLIMIT_DATA},         {"RLIMIT_STACK", RLIMIT_STACK},
    {"RLIMIT_CORE", RLIMIT_CORE},         {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_NPROC", RLIMIT_NPROC},       {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},   {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},       {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},     {"RLIMIT_RTTIME", RLIMIT_RTTIME},
};

int oci_rlimit_from_name(const char *name)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(rlimits); i++)
        if (strcmp(rlimits[i].name, name) == 0)
            return rlimits[i].resource;
    return -1;
}

const char *oci_rlimit_name(int resource)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(rlimits); i++)
        if (rlimits[i].resource == resource)
            return rlimits[i].name;
    return NULL;
}

static const struct {
    const char *name; /* without the SIG prefix */
    int sig;
} signals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
    {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
    {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
    {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
    {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
    {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
    {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
    {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* Parses a whole decimal number in [0, max]; -1 otherwise. */
static int parse_small_uint(const char *s, int max)
{
    if (*s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > max)
        return -1;
    return (int)v;
}

int oci_signal_from_name(const char *name)
{
    if (name == NULL || *name == '\0')
        return -1;
    int n = parse_small_uint(name, SIGRTMAX);
    if (n >= 0)
        return n == 0 ? -1 : n;
    const char *s = strncasecmp(name, "SIG", 3) == 0 ? name + 3 : name;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(signals); i++)
        if (strcasecmp(signals[i].name, s) == 0)
            return signals[i].sig;
    /* RTMIN, RTMIN+n, RTMAX, RTMAX-n as in kill(1). */
    if (strncasecmp(s, "RTMIN", 5) == 0 || strncasecmp(s, "RTMAX", 5) == 0) {
        bool min = strncasecmp(s, "RTMIN", 5) == 0;
        const char *rest = s + 5;
        int off = 0;
        if (*rest != '\0') {
            if (*rest != (min ? '+' : '-'))
                return -1;
            off = parse_small_uint(rest + 1, SIGRTMAX - SIGRTMIN);
            if (off < 0)
                return -1;
        }
        return min ? SIGRTMIN + off : SIGRTMAX - off;
    }
    return -1;
}

const char *oci_signal_name(int sig)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(signals); i++)
        if (signals[i].sig == sig)
            return signals[i].name;
    return NULL;
}

static const struct {
    const char *spec_name;
    const char *proc_name;
    int flag;
} namespaces[OCI_NS_KIND_MAX] = {
    [OCI_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [OCI_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [OCI_NS_NET] = {"network", "net", CLONE_NEWNET},
    [OCI_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [OCI_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [OCI_NS_MOUNT] = {"mount", "mnt", CLONE_NEWNS},
    [OCI_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [OCI_NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

const char *oci_ns_name(enum oci_ns_kind kind)
{
    return (unsigned)kind < OCI_NS_KIND_MAX ? namespaces[kind].spec_name : NULL;
}

const char *oci_ns_proc_name(enum oci_ns_kind kind)
{
    return (unsigned)kind < OCI_NS_KIND_MAX ? namespaces[kind].proc_name : NULL;
}

int oci_ns_clone_flag(enum oci_ns_kind kind)
{
    return (unsigned)kind < OCI_NS_KIND_MAX ? namespaces[kind].flag : 0;
}

int oci_cpu_list_parse(const char *s, void *ret_cpu_set)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (s == NULL || *s == '\0')
        return -EINVAL;
    for (const char *p = s; *p;) {
        char *end = NULL;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        unsigned long lo = strtoul(p, &end, 10), hi = lo;
        if (*end == '-') {
            if (end[1] < '0' || end[1] > '9')
                return -EINVAL;
            hi = strtoul(end + 1, &end, 10);
        }
        if (lo > hi || hi >= CPU_SETSIZE)
            return -EINVAL;
        for (unsigned long c = lo; c <= hi; c++)
            CPU_SET(c, &set);
        if (*end == ',' && end[1] != '\0')
            end++;
        else if (*end != '\0')
            return -EINVAL;
        p = end;
    }
    memcpy(ret_cpu_set, &set, sizeof(set));
    return 0;
}
