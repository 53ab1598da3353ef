/* linux.seccomp ⇄ struct oci_seccomp (see spec_seccomp.h). Enumerated strings resolve through
 * name tables; unknown values are errors naming the JSON path, as runc's specconv does. */
#include "oci/spec_seccomp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/json.h"

#define PATH_MAX_LEN  256
#define MAX_SYSCALLS  4096 /* rules; Docker's default profile has ~40 entries */
#define MAX_ARGS      6    /* a syscall has at most 6 arguments */
#define MAX_CONDS     64   /* conditions per rule (repeated indices become separate rules) */
#define MAX_ERRNO_RET 4095 /* the kernel's MAX_ERRNO */

/* snprintf for JSON paths in messages: a path longer than the buffer is cut, never overflowed
 * (out of line so that the compiler does not flag the deliberate truncation). */
static void __attribute__((format(printf, 3, 4)))
path_fmt(char *buf, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, cap, fmt, ap);
    va_end(ap);
}

static const char *const action_names[OCI_SECCOMP_ACT_MAX] = {
    [OCI_SECCOMP_ACT_KILL] = "SCMP_ACT_KILL",
    [OCI_SECCOMP_ACT_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [OCI_SECCOMP_ACT_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [OCI_SECCOMP_ACT_TRAP] = "SCMP_ACT_TRAP",
    [OCI_SECCOMP_ACT_ERRNO] = "SCMP_ACT_ERRNO",
    [OCI_SECCOMP_ACT_TRACE] = "SCMP_ACT_TRACE",
    [OCI_SECCOMP_ACT_ALLOW] = "SCMP_ACT_ALLOW",
    [OCI_SECCOMP_ACT_LOG] = "SCMP_ACT_LOG",
    [OCI_SECCOMP_ACT_NOTIFY] = "SCMP_ACT_NOTIFY",
};

static const char *const op_names[OCI_SECCOMP_OP_MAX] = {
    [OCI_SECCOMP_OP_NE] = "SCMP_CMP_NE",
    [OCI_SECCOMP_OP_LT] = "SCMP_CMP_LT",
    [OCI_SECCOMP_OP_LE] = "SCMP_CMP_LE",
    [OCI_SECCOMP_OP_EQ] = "SCMP_CMP_EQ",
    [OCI_SECCOMP_OP_GE] = "SCMP_CMP_GE",
    [OCI_SECCOMP_OP_GT] = "SCMP_CMP_GT",
    [OCI_SECCOMP_OP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

static const char *const arch_names[OCI_SECCOMP_ARCH_MAX] = {
    [OCI_SECCOMP_ARCH_X86] = "SCMP_ARCH_X86",
    [OCI_SECCOMP_ARCH_X86_64] = "SCMP_ARCH_X86_64",
    [OCI_SECCOMP_ARCH_X32] = "SCMP_ARCH_X32",
    [OCI_SECCOMP_ARCH_ARM] = "SCMP_ARCH_ARM",
    [OCI_SECCOMP_ARCH_AARCH64] = "SCMP_ARCH_AARCH64",
    [OCI_SECCOMP_ARCH_MIPS] = "SCMP_ARCH_MIPS",
    [OCI_SECCOMP_ARCH_MIPS64] = "SCMP_ARCH_MIPS64",
    [OCI_SECCOMP_ARCH_MIPS64N32] = "SCMP_ARCH_MIPS64N32",
    [OCI_SECCOMP_ARCH_MIPSEL] = "SCMP_ARCH_MIPSEL",
    [OCI_SECCOMP_ARCH_MIPSEL64] = "SCMP_ARCH_MIPSEL64",
    [OCI_SECCOMP_ARCH_MIPSEL64N32] = "SCMP_ARCH_MIPSEL64N32",
    [OCI_SECCOMP_ARCH_PPC] = "SCMP_ARCH_PPC",
    [OCI_SECCOMP_ARCH_PPC64] = "SCMP_ARCH_PPC64",
    [OCI_SECCOMP_ARCH_PPC64LE] = "SCMP_ARCH_PPC64LE",
    [OCI_SECCOMP_ARCH_S390] = "SCMP_ARCH_S390",
    [OCI_SECCOMP_ARCH_S390X] = "SCMP_ARCH_S390X",
    [OCI_SECCOMP_ARCH_PARISC] = "SCMP_ARCH_PARISC",
    [OCI_SECCOMP_ARCH_PARISC64] = "SCMP_ARCH_PARISC64",
    [OCI_SECCOMP_ARCH_RISCV64] = "SCMP_ARCH_RISCV64",
};

static const struct {
    const char *name;
    unsigned bit;
} flag_names[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", OCI_SECCOMP_FLAG_TSYNC},
    {"SECCOMP_FILTER_FLAG_LOG", OCI_SECCOMP_FLAG_LOG},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", OCI_SECCOMP_FLAG_SPEC_ALLOW},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", OCI_SECCOMP_FLAG_WAIT_KILLABLE_RECV},
};

const char *oci_seccomp_action_name(enum oci_seccomp_action a)
{
    return (unsigned)a < OCI_SECCOMP_ACT_MAX ? action_names[a] : NULL;
}

const char *oci_seccomp_op_name(enum oci_seccomp_op op)
{
    return (unsigned)op < OCI_SECCOMP_OP_MAX ? op_names[op] : NULL;
}

const char *oci_seccomp_arch_name(enum oci_seccomp_arch a)
{
    return (unsigned)a < OCI_SECCOMP_ARCH_MAX ? arch_names[a] : NULL;
}

unsigned oci_seccomp_flag_from_name(const char *name)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(flag_names); i++)
        if (strcmp(flag_names[i].name, name) == 0)
            return flag_names[i].bit;
    return 0;
}

/* Looks `s` up in a name table; -1 when absent. Matching is exact, as runc's maps are. */
static int lookup(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return (int)i;
    return -1;
}

static int get_enum(const struct json_object *o, const char *path, const char *key,
                    const char *const *names, size_t n, const char *what, bool required, int *ret,
                    struct lcow_error **err)
{
    const char *s = NULL;
    int r = lcow_json_get_string(o, path, key, &s, err);
    if (r < 0)
        return r;
    if (s == NULL) {
        if (required)
            return lcow_error_make(err, EINVAL, "%s.%s: required field missing", path, key);
        return 0;
    }
    int v = lookup(names, n, s);
    if (v < 0)
        return lcow_error_make(err, EINVAL, "%s.%s: unknown %s `%s`", path, key, what, s);
    *ret = v;
    return 0;
}

static int get_errno_ret(const struct json_object *o, const char *path, const char *key, bool *has,
                         uint32_t *ret, struct lcow_error **err)
{
    if (lcow_json_field(o, key) == NULL)
        return 0;
    uint32_t v = 0;
    int r = lcow_json_get_uint32(o, path, key, &v, err);
    if (r < 0)
        return r;
    if (v > MAX_ERRNO_RET)
        return lcow_error_make(err, ERANGE, "%s.%s: errno %u out of range (max %d)", path, key, v,
                               MAX_ERRNO_RET);
    *has = true;
    *ret = v;
    return 0;
}

static int parse_arch(const struct json_object *o, const char *path, struct oci_seccomp *s,
                      struct lcow_error **err)
{
    cleanup_strv char **v = NULL;
    int r = lcow_json_get_strv(o, path, "architectures", &v, err);
    if (r < 0 || v == NULL)
        return r;
    size_t n = 0;
    while (v[n])
        n++;
    s->architectures = calloc(n ? n : 1, sizeof(*s->architectures));
    if (s->architectures == NULL)
        return lcow_error_make(err, ENOMEM, "%s.architectures: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        int a = lookup(arch_names, OCI_SECCOMP_ARCH_MAX, v[i]);
        if (a < 0)
            return lcow_error_make(err, EINVAL, "%s.architectures[%zu]: unknown architecture `%s`",
                                   path, i, v[i]);
        s->architectures[s->n_architectures++] = (enum oci_seccomp_arch)a;
    }
    return 0;
}

static int parse_flags(const struct json_object *o, const char *path, struct oci_seccomp *s,
                       struct lcow_error **err)
{
    cleanup_strv char **v = NULL;
    int r = lcow_json_get_strv(o, path, "flags", &v, err);
    if (r < 0 || v == NULL)
        return r;
    s->has_flags = true;
    for (size_t i = 0; v[i]; i++) {
        unsigned bit = oci_seccomp_flag_from_name(v[i]);
        if (bit == 0)
            return lcow_error_make(err, EINVAL, "%s.flags[%zu]: unknown seccomp flag `%s`", path, i,
                                   v[i]);
        s->flags |= bit;
    }
    return 0;
}

static int parse_arg(const struct json_object *e, const char *ep, struct oci_seccomp_arg *a,
                     struct lcow_error **err)
{
    int op = -1, r;
    if (!json_object_is_type(e, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", ep,
                               json_type_to_name(json_object_get_type(e)));
    if (lcow_json_field(e, "index") == NULL)
        return lcow_error_make(err, EINVAL, "%s.index: required field missing", ep);
    if ((r = lcow_json_get_uint32(e, ep, "index", &a->index, err)) < 0 ||
        (r = lcow_json_get_uint64(e, ep, "value", &a->value, err)) < 0 ||
        (r = lcow_json_get_uint64(e, ep, "valueTwo", &a->value_two, err)) < 0 ||
        (r = get_enum(e, ep, "op", op_names, OCI_SECCOMP_OP_MAX, "operator", true, &op, err)) < 0)
        return r;
    if (a->index >= MAX_ARGS)
        return lcow_error_make(err, ERANGE, "%s.index: argument index %u out of range (0-5)", ep,
                               a->index);
    a->op = (enum oci_seccomp_op)op;
    return 0;
}

static int parse_args(const struct json_object *o, const char *path, struct oci_seccomp_syscall *sc,
                      struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, path, "args", &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    if (n > MAX_CONDS)
        return lcow_error_make(err, E2BIG, "%s.args: %zu conditions, at most %d", path, n,
                               MAX_CONDS);
    sc->args = calloc(n ? n : 1, sizeof(*sc->args));
    if (sc->args == NULL)
        return lcow_error_make(err, ENOMEM, "%s.args: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        path_fmt(ep, sizeof(ep), "%s.args[%zu]", path, i);
        r = parse_arg(json_object_array_get_idx(arr, i), ep, &sc->args[i], err);
        if (r < 0)
            return r;
        sc->n_args++;
    }
    return 0;
}

static int parse_syscall(const struct json_object *e, const char *ep,
                         struct oci_seccomp_syscall *sc, struct lcow_error **err)
{
    int act = -1, r;
    if (!json_object_is_type(e, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", ep,
                               json_type_to_name(json_object_get_type(e)));
    if ((r = lcow_json_get_strv(e, ep, "names", &sc->names, err)) < 0 ||
        (r = get_enum(e, ep, "action", action_names, OCI_SECCOMP_ACT_MAX, "action", true, &act,
                      err)) < 0 ||
        (r = get_errno_ret(e, ep, "errnoRet", &sc->has_errno_ret, &sc->errno_ret, err)) < 0 ||
        (r = parse_args(e, ep, sc, err)) < 0)
        return r;
    sc->action = (enum oci_seccomp_action)act;
    /* errnoRet on an action that returns no value is ignored, as runc's getAction does. */
    if (sc->names == NULL || sc->names[0] == NULL)
        return lcow_error_make(err, EINVAL, "%s.names: at least one syscall name is required", ep);
    for (size_t i = 0; sc->names[i]; i++)
        if (sc->names[i][0] == '\0')
            return lcow_error_make(err, EINVAL, "%s.names[%zu]: empty syscall name", ep, i);
    return 0;
}

static int parse_syscalls(const struct json_object *o, const char *path, struct oci_seccomp *s,
                          struct lcow_error **err)
{
    struct json_object *arr = NULL;
    int r = lcow_json_get_array(o, path, "syscalls", &arr, err);
    if (r < 0 || arr == NULL)
        return r;
    size_t n = json_object_array_length(arr);
    if (n > MAX_SYSCALLS)
        return lcow_error_make(err, E2BIG, "%s.syscalls: %zu rules, at most %d", path, n,
                               MAX_SYSCALLS);
    s->syscalls = calloc(n ? n : 1, sizeof(*s->syscalls));
    if (s->syscalls == NULL)
        return lcow_error_make(err, ENOMEM, "%s.syscalls: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        char ep[PATH_MAX_LEN];
        path_fmt(ep, sizeof(ep), "%s.syscalls[%zu]", path, i);
        s->n_syscalls++; /* counted first so that done() frees a half-parsed entry */
        r = parse_syscall(json_object_array_get_idx(arr, i), ep, &s->syscalls[i], err);
        if (r < 0)
            return r;
    }
    return 0;
}

static int dup_opt_string(const struct json_object *o, const char *path, const char *key,
                          char **ret, struct lcow_error **err)
{
    const char *v = NULL;
    int r = lcow_json_get_string(o, path, key, &v, err);
    if (r < 0 || v == NULL)
        return r;
    *ret = strdup(v);
    return *ret ? 0 : lcow_error_make(err, ENOMEM, "%s.%s: out of memory", path, key);
}

int oci_seccomp_parse(const struct json_object *obj, const char *json_path, struct oci_seccomp *ret,
                      struct lcow_error **err)
{
    struct oci_seccomp s = {0};
    const char *path = json_path ? json_path : "";
    int act = -1, r;
    if (obj == NULL || !json_object_is_type(obj, json_type_object))
        return lcow_error_make(err, EINVAL, "%s: expected object, got %s", path,
                               obj ? json_type_to_name(json_object_get_type(obj)) : "null");
    /* runc: no defaultAction and no syscalls = seccomp disabled; rules without a default
     * action are an error. */
    struct json_object *calls = lcow_json_field(obj, "syscalls");
    bool no_rules = calls == NULL || (json_object_is_type(calls, json_type_array) &&
                                      json_object_array_length(calls) == 0);
    if ((r = get_enum(obj, path, "defaultAction", action_names, OCI_SECCOMP_ACT_MAX, "action",
                      !no_rules, &act, err)) < 0 ||
        (r = get_errno_ret(obj, path, "defaultErrnoRet", &s.has_default_errno_ret,
                           &s.default_errno_ret, err)) < 0 ||
        (r = parse_arch(obj, path, &s, err)) < 0 || (r = parse_flags(obj, path, &s, err)) < 0 ||
        (r = dup_opt_string(obj, path, "listenerPath", &s.listener_path, err)) < 0 ||
        (r = dup_opt_string(obj, path, "listenerMetadata", &s.listener_metadata, err)) < 0 ||
        (r = parse_syscalls(obj, path, &s, err)) < 0) {
        oci_seccomp_done(&s);
        return r;
    }
    if (act < 0)
        s.disabled = true; /* checked above: no defaultAction also means no syscalls */
    else
        s.default_action = (enum oci_seccomp_action)act;
    *ret = s;
    return 0;
}

void oci_seccomp_done(struct oci_seccomp *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_syscalls; i++) {
        char **names = s->syscalls[i].names;
        lcow_strv_freep(&names);
        free(s->syscalls[i].args);
    }
    free(s->syscalls);
    free(s->architectures);
    free(s->listener_path);
    free(s->listener_metadata);
    memset(s, 0, sizeof(*s));
}

struct oci_seccomp *oci_seccomp_free(struct oci_seccomp *s)
{
    oci_seccomp_done(s);
    free(s);
    return NULL;
}
