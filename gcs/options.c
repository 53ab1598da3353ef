/* gcs's command line, parsed the way Go's flag package does (hcsshim passes Go-style flags):
 * `-name`, `--name`, `-name=value`, `-name value` (not for booleans, which take only
 * `-name=false`), parsing stops at `--` or the first non-flag argument. A table of flags keeps
 * the parser small (style.md C14). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "gcs/options.h"
#include "vsock/transport.h"

enum opt_kind {
    OPT_BOOL,
    OPT_STRING,
    OPT_U64,
    OPT_INT,
    OPT_LEVEL,
    OPT_FORMAT,
    OPT_ADDR,
    OPT_STANCE,
    OPT_WORKERS,
    OPT_MS,
};

struct opt_def {
    const char *name;
    enum opt_kind kind;
    size_t offset; /* into struct gcs_options */
    const char *help;
};

#define O(f) offsetof(struct gcs_options, f)

static const struct opt_def opt_defs[] = {
    {"v4", OPT_BOOL, O(v4), "enable the v4 protocol (the only one)"},
    {"loglevel", OPT_LEVEL, O(loglevel), "log level: trace|debug|info|warning|error|fatal|panic"},
    {"log-format", OPT_FORMAT, O(log_json), "log format: text|json"},
    {"logfile", OPT_STRING, O(logfile), "log file (default stderr)"},
    {"use-inouterr", OPT_BOOL, O(use_inouterr), "serve the bridge on stdin/stdout"},
    {"disable-time-sync", OPT_BOOL, O(disable_time_sync), "do not start time synchronisation"},
    {"core-dump-location", OPT_STRING, O(core_dump_location), "kernel core_pattern"},
    {"root-mem-reserve-bytes", OPT_U64, O(root_mem_reserve_bytes), "memory held back from /pods"},
    {"gcs-mem-limit-bytes", OPT_U64, O(gcs_mem_limit_bytes), "gcs memory warning threshold"},
    {"scrub-logs", OPT_BOOL, O(scrub_logs), "scrub sensitive data from logs"},
    {"kmsgLogLevel", OPT_INT, O(kmsg_log_level), "forward kmsg entries at or below this level"},
    {"initial-policy-stance", OPT_STANCE, O(initial_policy_stance), "allow|deny"},
    {"bridge", OPT_ADDR, O(bridge), "bridge address: vsock:CID:PORT, unix:PATH[:PORT], listen:..."},
    {"cgroup-root", OPT_STRING, O(cgroup_root), "where /pods and /gcs are made (default /)"},
    {"sysfs-root", OPT_STRING, O(sysfs_root), "test hook: stands in for /sys"},
    {"dev-root", OPT_STRING, O(dev_root), "test hook: stands in for /dev"},
    {"workers", OPT_WORKERS, O(workers), "maximum worker threads for blocking requests"},
    {"device-timeout-ms", OPT_MS, O(device_timeout_ms), "bound of a device wait (milliseconds)"},
    {"max-stdio-connections", OPT_INT, O(max_stdio_connections),
     "test hook: stdio connections below the limit (gcs/limits.h)"},
};

static void options_defaults(struct gcs_options *o)
{
    *o = (struct gcs_options){
        .loglevel = LCOW_LOG_DEBUG,
        .root_mem_reserve_bytes = 75ull << 20,
        .gcs_mem_limit_bytes = 50ull << 20,
        .scrub_logs = true,
        .kmsg_log_level = 4,
        .initial_policy_stance = "allow",
        .bridge = GCS_DEFAULT_BRIDGE,
        .cgroup_root = "/",
        .sysfs_root = "/sys",
        .dev_root = "/dev",
        .workers = 8,
        .device_timeout_ms = 60000,
    };
}

/* strconv.ParseBool */
static int parse_go_bool(const char *s, bool *ret)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(yes); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *ret = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *ret = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int parse_u64(const char *s, uint64_t *ret)
{
    char *end = NULL;
    if (*s == '\0' || *s == '-' || *s == '+' || *s == ' ')
        return -EINVAL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno != 0 || *end != '\0')
        return -EINVAL;
    *ret = v;
    return 0;
}

static int parse_int(const char *s, int *ret)
{
    char *end = NULL;
    if (*s == '\0' || *s == ' ')
        return -EINVAL;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno != 0 || *end != '\0' || v < -2147483647L - 1 || v > 2147483647L)
        return -EINVAL;
    *ret = (int)v;
    return 0;
}

static int apply_value(const struct opt_def *d, struct gcs_options *o, const char *v,
                       struct lcow_error **err)
{
    void *field = (char *)o + d->offset;
    int r = 0;
    switch (d->kind) {
    case OPT_BOOL:
        r = parse_go_bool(v, field);
        break;
    case OPT_STRING:
        *(const char **)field = v;
        break;
    case OPT_U64:
        r = parse_u64(v, field);
        break;
    case OPT_INT:
        r = parse_int(v, field);
        break;
    case OPT_LEVEL:
        r = lcow_log_parse_level(v, field);
        break;
    case OPT_FORMAT:
        if (strcmp(v, "json") == 0 || strcmp(v, "text") == 0)
            *(bool *)field = strcmp(v, "json") == 0;
        else
            r = -EINVAL;
        break;
    case OPT_ADDR: {
        struct vsock_addr a;
        r = vsock_addr_parse(v, &a, NULL);
        if (r == 0)
            *(const char **)field = v;
        break;
    }
    case OPT_STANCE:
        if (strcmp(v, "allow") == 0 || strcmp(v, "deny") == 0)
            *(const char **)field = v;
        else
            r = -EINVAL;
        break;
    case OPT_WORKERS: {
        int n = 0;
        r = parse_int(v, &n);
        if (r == 0 && (n < 1 || n > 256))
            r = -EINVAL;
        if (r == 0)
            *(unsigned *)field = (unsigned)n;
        break;
    }
    case OPT_MS: {
        uint64_t ms = 0;
        r = parse_u64(v, &ms);
        if (r == 0 && ms > 24ull * 3600 * 1000)
            r = -EINVAL;
        if (r == 0)
            *(unsigned *)field = (unsigned)ms;
        break;
    }
    default:
        r = -EINVAL;
    }
    if (r < 0)
        return lcow_error_make(err, EINVAL, "invalid value `%s` for flag -%s", v, d->name);
    return 0;
}

static const struct opt_def *find_opt(const char *name, size_t len)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(opt_defs); i++)
        if (strlen(opt_defs[i].name) == len && strncmp(opt_defs[i].name, name, len) == 0)
            return &opt_defs[i];
    return NULL;
}

int gcs_options_parse(int argc, char **argv, struct gcs_options *ret, struct lcow_error **err)
{
    struct gcs_options o;
    options_defaults(&o);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || a[1] == '\0')
            break;
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        const char *name = a + 1 + (a[1] == '-');
        if (*name == '\0' || *name == '-' || *name == '=')
            return lcow_error_make(err, EINVAL, "bad flag syntax: `%s`", a);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        if ((len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0))
            return 1;
        const struct opt_def *d = find_opt(name, len);
        if (!d)
            return lcow_error_make(err, EINVAL, "flag provided but not defined: -%.*s", (int)len,
                                   name);
        const char *v = eq ? eq + 1 : NULL;
        if (!v && d->kind == OPT_BOOL)
            v = "true";
        if (!v) {
            if (i + 1 >= argc)
                return lcow_error_make(err, EINVAL, "flag needs an argument: -%s", d->name);
            v = argv[++i];
        }
        int r = apply_value(d, &o, v, err);
        if (r < 0)
            return r;
    }
    if (i < argc)
        return lcow_error_make(err, EINVAL, "unexpected argument `%s`", argv[i]);
    *ret = o;
    return 0;
}

const char *gcs_options_usage(void)
{
    static char buf[2048];
    size_t pos = 0;
    pos += (size_t)snprintf(buf, sizeof(buf), "Usage: gcs [flags]\n");
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(opt_defs) && pos < sizeof(buf); i++)
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "  -%s\t%s\n", opt_defs[i].name,
                                opt_defs[i].help);
    return buf;
}
