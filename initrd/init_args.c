/* init's command line: hcsshim's getopt "+d:e:w" (stop at the first non-option) plus -t and the
 * debug -x, parsed without getopt's global state so unit tests can call it repeatedly. */
#include <errno.h>
#include <string.h>

#include "initrd/init.h"

/* LCOW v1 hosts start init with no arguments at all (gcs-protocol.md §1.2). */
static char *const v1_child[] = {"/bin/gcs", "-loglevel", "debug", "-logfile=/run/gcs/gcs.log",
                                 NULL};
#define V1_DEBUG_SHELL "/bin/sh"

static int set_entropy(struct init_args *a, const char *v, struct lcow_error **err)
{
    uint32_t port;
    if (vsock_port_parse(v, &port) < 0)
        return lcow_error_make(err, EINVAL, "-e: bad port `%s`", v);
    if (port == 0) /* hcsshim refuses 0 too: it is its "no entropy" marker */
        return lcow_error_make(err, EINVAL, "-e: port 0 is not allowed");
    a->entropy_port = port;
    return 0;
}

static int set_base(struct init_args *a, const char *v, struct lcow_error **err)
{
    if (vsock_addr_parse(v, &a->base, err) < 0)
        return lcow_error_wrap(err, "-t");
    if (a->base.listen) /* init only dials (entropy) */
        return lcow_error_make(err, EINVAL, "-t: `%s` is a listen address", v);
    return 0;
}

static int apply(struct init_args *a, char c, const char *v, struct lcow_error **err)
{
    switch (c) {
    case 'w':
        a->writable_overlays = true;
        return 0;
    case 'd':
        a->debug_shell = v;
        return 0;
    case 'x':
        a->pre_program = v;
        return 0;
    case 'e':
        return set_entropy(a, v, err);
    case 't':
        return set_base(a, v, err);
    default:
        return lcow_error_make(err, EINVAL, "unknown option -%c", c);
    }
}

static bool takes_value(char c)
{
    return c == 'd' || c == 'e' || c == 't' || c == 'x';
}

static int check_value(char c, const char *v, struct lcow_error **err)
{
    if (v[0] == '\0')
        return lcow_error_make(err, EINVAL, "option -%c needs a non-empty value", c);
    return 0;
}

/* Parses one "-abc" cluster starting at argv[*i]; advances *i past it and its value. */
static int parse_cluster(struct init_args *a, int argc, char **argv, int *i,
                         struct lcow_error **err)
{
    const char *arg = argv[(*i)++];
    for (const char *p = arg + 1; *p != '\0'; p++) {
        const char *v = NULL;
        if (takes_value(*p)) {
            if (p[1] != '\0')
                v = p + 1;
            else if (*i < argc)
                v = argv[(*i)++];
            else
                return lcow_error_make(err, EINVAL, "option -%c needs a value", *p);
            int r = check_value(*p, v, err);
            if (r < 0)
                return r;
        }
        int r = apply(a, *p, v, err);
        if (r < 0 || v != NULL)
            return r;
    }
    return 0;
}

int init_parse_args(int argc, char **argv, struct init_args *ret, struct lcow_error **err)
{
    struct init_args a = {0};
    int r = vsock_addr_parse(INIT_DEFAULT_BASE, &a.base, err);
    if (r < 0)
        return r;
    if (argc <= 1) {
        a.argv = v1_child;
        a.debug_shell = V1_DEBUG_SHELL;
        *ret = a;
        return 0;
    }
    int i = 1;
    while (i < argc) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (argv[i][0] != '-' || argv[i][1] == '\0')
            break;
        r = parse_cluster(&a, argc, argv, &i, err);
        if (r < 0)
            return r;
    }
    if (i >= argc)
        return lcow_error_make(err, EINVAL, "missing PROGRAM");
    a.argv = argv + i;
    *ret = a;
    return 0;
}

bool init_cmdline_has_token(const char *cmdline, const char *token)
{
    size_t n = strlen(token);
    if (n == 0)
        return false;
    for (const char *p = cmdline; (p = strstr(p, token)) != NULL; p++) {
        bool starts = p == cmdline || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\n';
        char end = p[n];
        if (starts && (end == '\0' || end == ' ' || end == '\t' || end == '\n'))
            return true;
    }
    return false;
}
