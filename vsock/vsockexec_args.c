/* vsockexec's option parser: getopt "+t:ri:o:e:" semantics (clustered flags, attached or
 * separate values, stop at the first non-option or after "--") without getopt's global state. */
#include "vsock/vsockexec.h"

#include <errno.h>
#include <string.h>

static int set_port(struct vsockexec_args *a, int fd, const char *opt, const char *v,
                    struct lcow_error **err)
{
    uint32_t port;
    if (vsock_port_parse(v, &port) < 0)
        return lcow_error_make(err, EINVAL, "-%s: bad port `%s`", opt, v);
    a->has_port[fd] = true;
    a->port[fd] = port;
    return 0;
}

static int set_base(struct vsockexec_args *a, const char *v, struct lcow_error **err)
{
    if (vsock_addr_parse(v, &a->base, err) < 0)
        return lcow_error_wrap(err, "-t");
    if (a->base.listen) /* vsockexec only dials */
        return lcow_error_make(err, EINVAL, "-t: `%s` is a listen address", v);
    return 0;
}

/* Applies option `c` with value `v` (NULL for flags). */
static int apply(struct vsockexec_args *a, char c, const char *v, struct lcow_error **err)
{
    switch (c) {
    case 'r':
        a->relay = true;
        return 0;
    case 't':
        return set_base(a, v, err);
    case 'i':
        return set_port(a, 0, "i", v, err);
    case 'o':
        return set_port(a, 1, "o", v, err);
    case 'e':
        return set_port(a, 2, "e", v, err);
    default:
        return lcow_error_make(err, EINVAL, "unknown option -%c", c);
    }
}

static bool takes_value(char c)
{
    return c == 't' || c == 'i' || c == 'o' || c == 'e';
}

/* Checks the combinations relay mode allows: output only, one port. */
static int check_relay(const struct vsockexec_args *a, struct lcow_error **err)
{
    if (!a->relay)
        return 0;
    if (a->has_port[0])
        return lcow_error_make(err, EINVAL, "-r relays output only; -i is not allowed");
    if (!a->has_port[1] && !a->has_port[2])
        return lcow_error_make(err, EINVAL, "-r needs -o or -e");
    if (a->has_port[1] && a->has_port[2] && a->port[1] != a->port[2])
        return lcow_error_make(err, EINVAL, "-r relays to one port; -o %u and -e %u differ",
                               a->port[1], a->port[2]);
    return 0;
}

int vsockexec_parse_args(int argc, char **argv, struct vsockexec_args *ret, struct lcow_error **err)
{
    struct vsockexec_args a = {0};
    int r = vsock_addr_parse(VSOCKEXEC_DEFAULT_BASE, &a.base, err);
    if (r < 0)
        return r;
    int i = 1;
    while (i < argc) {
        const char *arg = argv[i];
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        i++;
        for (const char *p = arg + 1; *p != '\0'; p++) {
            const char *v = NULL;
            if (takes_value(*p)) {
                if (p[1] != '\0')
                    v = p + 1;
                else if (i < argc)
                    v = argv[i++];
                else
                    return lcow_error_make(err, EINVAL, "option -%c needs a value", *p);
            }
            r = apply(&a, *p, v, err);
            if (r < 0)
                return r;
            if (v != NULL)
                break;
        }
    }
    if (i >= argc)
        return lcow_error_make(err, EINVAL, "missing PROGRAM");
    r = check_relay(&a, err);
    if (r < 0)
        return r;
    a.argv = argv + i;
    *ret = a;
    return 0;
}

uint32_t vsockexec_relay_port(const struct vsockexec_args *a)
{
    if (a->has_port[2])
        return a->port[2];
    return a->has_port[1] ? a->port[1] : 0;
}
