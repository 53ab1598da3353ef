/* OCI seccomp profile → libseccomp filter → classic BPF in memory (see seccomp.h).
 *
 * Compilation follows runc's rules: SCMP_ACT_KILL means "kill the thread"; ERRNO and TRACE
 * default to EPERM; a rule whose action equals the default is redundant and skipped (libseccomp
 * would refuse it); unknown syscall names are skipped; conditions that repeat an argument index
 * become one rule per condition (libseccomp ANDs conditions and cannot AND one argument with
 * itself); NOTIFY may be neither the default action nor used on write(2), which the runtime
 * itself needs after the filter is on. Flags: absent means SPEC_ALLOW, as runc and crun do.
 *
 * Like runc (libcontainer/seccomp/patchbpf), a restrictive profile gets a stub in front of
 * libseccomp's program: a syscall numbered above every syscall the profile names (for its
 * architecture) fails with ENOSYS instead of the default action, so that libcs probing newer
 * syscalls (clone3, openat2, ...) fall back instead of failing with EPERM. */
#include "oci/seccomp.h"

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/seccomp.h>

#include "common/cleanup.h"
#include "common/io.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif
#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif

#define BPF_MAX_INSNS     4096 /* the kernel's BPF_MAXINSNS for classic filters */
#define OPTIMIZE_ABOVE    32   /* rules before a binary-tree layout pays off (runc's choice) */
#define DEFAULT_ERRNO_RET 1    /* EPERM */

static const uint32_t arch_tokens[OCI_SECCOMP_ARCH_MAX] = {
    [OCI_SECCOMP_ARCH_X86] = SCMP_ARCH_X86,
    [OCI_SECCOMP_ARCH_X86_64] = SCMP_ARCH_X86_64,
    [OCI_SECCOMP_ARCH_X32] = SCMP_ARCH_X32,
    [OCI_SECCOMP_ARCH_ARM] = SCMP_ARCH_ARM,
    [OCI_SECCOMP_ARCH_AARCH64] = SCMP_ARCH_AARCH64,
    [OCI_SECCOMP_ARCH_MIPS] = SCMP_ARCH_MIPS,
    [OCI_SECCOMP_ARCH_MIPS64] = SCMP_ARCH_MIPS64,
    [OCI_SECCOMP_ARCH_MIPS64N32] = SCMP_ARCH_MIPS64N32,
    [OCI_SECCOMP_ARCH_MIPSEL] = SCMP_ARCH_MIPSEL,
    [OCI_SECCOMP_ARCH_MIPSEL64] = SCMP_ARCH_MIPSEL64,
    [OCI_SECCOMP_ARCH_MIPSEL64N32] = SCMP_ARCH_MIPSEL64N32,
    [OCI_SECCOMP_ARCH_PPC] = SCMP_ARCH_PPC,
    [OCI_SECCOMP_ARCH_PPC64] = SCMP_ARCH_PPC64,
    [OCI_SECCOMP_ARCH_PPC64LE] = SCMP_ARCH_PPC64LE,
    [OCI_SECCOMP_ARCH_S390] = SCMP_ARCH_S390,
    [OCI_SECCOMP_ARCH_S390X] = SCMP_ARCH_S390X,
    [OCI_SECCOMP_ARCH_PARISC] = SCMP_ARCH_PARISC,
    [OCI_SECCOMP_ARCH_PARISC64] = SCMP_ARCH_PARISC64,
    [OCI_SECCOMP_ARCH_RISCV64] = SCMP_ARCH_RISCV64,
};

static const enum scmp_compare ops[OCI_SECCOMP_OP_MAX] = {
    [OCI_SECCOMP_OP_NE] = SCMP_CMP_NE,
    [OCI_SECCOMP_OP_LT] = SCMP_CMP_LT,
    [OCI_SECCOMP_OP_LE] = SCMP_CMP_LE,
    [OCI_SECCOMP_OP_EQ] = SCMP_CMP_EQ,
    [OCI_SECCOMP_OP_GE] = SCMP_CMP_GE,
    [OCI_SECCOMP_OP_GT] = SCMP_CMP_GT,
    [OCI_SECCOMP_OP_MASKED_EQ] = SCMP_CMP_MASKED_EQ,
};

static uint32_t action_token(enum oci_seccomp_action a, bool has_errno, uint32_t errno_ret)
{
    uint32_t e = has_errno ? errno_ret : DEFAULT_ERRNO_RET;
    switch (a) {
    case OCI_SECCOMP_ACT_KILL:
    case OCI_SECCOMP_ACT_KILL_THREAD:
        return SCMP_ACT_KILL_THREAD;
    case OCI_SECCOMP_ACT_KILL_PROCESS:
        return SCMP_ACT_KILL_PROCESS;
    case OCI_SECCOMP_ACT_TRAP:
        return SCMP_ACT_TRAP;
    case OCI_SECCOMP_ACT_ERRNO:
        return SCMP_ACT_ERRNO(e);
    case OCI_SECCOMP_ACT_TRACE:
        return SCMP_ACT_TRACE(e);
    case OCI_SECCOMP_ACT_ALLOW:
        return SCMP_ACT_ALLOW;
    case OCI_SECCOMP_ACT_LOG:
        return SCMP_ACT_LOG;
    case OCI_SECCOMP_ACT_NOTIFY:
        return SCMP_ACT_NOTIFY;
    default:
        return SCMP_ACT_KILL_PROCESS; /* unreachable: the parser only yields known actions */
    }
}

int oci_seccomp_syscall_nr(const char *name)
{
    int nr = seccomp_syscall_resolve_name(name);
    return nr == __NR_SCMP_ERROR ? -1 : nr;
}

static void ctx_release(scmp_filter_ctx *ctx)
{
    if (*ctx)
        seccomp_release(*ctx);
}

static int add_arches(scmp_filter_ctx ctx, const struct oci_seccomp *s, struct lcow_error **err)
{
    for (size_t i = 0; i < s->n_architectures; i++) {
        int r = seccomp_arch_add(ctx, arch_tokens[s->architectures[i]]);
        if (r < 0 && r != -EEXIST)
            return lcow_error_make(err, -r, "linux.seccomp.architectures[%zu]: add `%s`: %s", i,
                                   oci_seccomp_arch_name(s->architectures[i]), strerror(-r));
    }
    return 0;
}

static bool repeats_index(const struct oci_seccomp_syscall *sc)
{
    for (size_t i = 0; i < sc->n_args; i++)
        for (size_t j = i + 1; j < sc->n_args; j++)
            if (sc->args[i].index == sc->args[j].index)
                return true;
    return false;
}

static struct scmp_arg_cmp cond_of(const struct oci_seccomp_arg *a)
{
    return (struct scmp_arg_cmp){
        .arg = a->index, .op = ops[a->op], .datum_a = a->value, .datum_b = a->value_two};
}

static int add_syscall(scmp_filter_ctx ctx, const struct oci_seccomp_syscall *sc, size_t idx,
                       const char *name, uint32_t act, unsigned opts, struct lcow_error **err)
{
    int nr = seccomp_syscall_resolve_name(name);
    if (nr == __NR_SCMP_ERROR) {
        if (opts & OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL)
            return lcow_error_make(err, EINVAL, "linux.seccomp.syscalls[%zu]: unknown syscall `%s`",
                                   idx, name);
        return 0; /* runc: "unknown seccomp syscall ignored" */
    }
    /* At most 6 distinct indices, so more conditions always take the one-rule-each path. */
    struct scmp_arg_cmp one;
    int r = 0;
    if (sc->n_args > 1 && repeats_index(sc)) {
        for (size_t i = 0; i < sc->n_args && r == 0; i++) {
            one = cond_of(&sc->args[i]);
            r = seccomp_rule_add_array(ctx, act, nr, 1, &one);
        }
    } else {
        struct scmp_arg_cmp conds[6];
        for (size_t i = 0; i < sc->n_args; i++)
            conds[i] = cond_of(&sc->args[i]);
        r = seccomp_rule_add_array(ctx, act, nr, (unsigned)sc->n_args, conds);
    }
    if (r < 0)
        return lcow_error_make(err, -r, "linux.seccomp.syscalls[%zu]: add rule for `%s`: %s", idx,
                               name, strerror(-r));
    return 0;
}

static int check_notify(const struct oci_seccomp *s, struct lcow_error **err)
{
    if (s->default_action == OCI_SECCOMP_ACT_NOTIFY)
        return lcow_error_make(
            err, EINVAL, "linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default");
    for (size_t i = 0; i < s->n_syscalls; i++) {
        if (s->syscalls[i].action != OCI_SECCOMP_ACT_NOTIFY)
            continue;
        for (char **n = s->syscalls[i].names; *n; n++)
            if (strcmp(*n, "write") == 0)
                return lcow_error_make(
                    err, EINVAL,
                    "linux.seccomp.syscalls[%zu]: SCMP_ACT_NOTIFY cannot be used "
                    "for write",
                    i);
    }
    return 0;
}

static int build_filter(const struct oci_seccomp *s, unsigned opts, scmp_filter_ctx *ret,
                        bool *ret_notify, struct lcow_error **err)
{
    uint32_t def = action_token(s->default_action, s->has_default_errno_ret, s->default_errno_ret);
    scmp_filter_ctx ctx = seccomp_init(def);
    if (ctx == NULL)
        return lcow_error_make(err, EINVAL, "linux.seccomp: seccomp_init failed");
    *ret = ctx;
    /* We load the program ourselves; no_new_privs is the executor's decision. */
    (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    /* runc counts one rule per name. */
    size_t names = 0;
    for (size_t i = 0; i < s->n_syscalls; i++)
        for (char **n = s->syscalls[i].names; *n; n++)
            names++;
    if (names > OPTIMIZE_ABOVE)
        (void)seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    int r = add_arches(ctx, s, err);
    for (size_t i = 0; r == 0 && i < s->n_syscalls; i++) {
        const struct oci_seccomp_syscall *sc = &s->syscalls[i];
        uint32_t act = action_token(sc->action, sc->has_errno_ret, sc->errno_ret);
        if (act == def)
            continue;
        *ret_notify |= sc->action == OCI_SECCOMP_ACT_NOTIFY;
        for (char **n = sc->names; r == 0 && *n; n++)
            r = add_syscall(ctx, sc, i, *n, act, opts, err);
    }
    return r;
}

/* libseccomp 2.5 exports only to an fd: a memfd keeps it off the filesystem. */
static int export_bpf(scmp_filter_ctx ctx, struct oci_seccomp_program *p, struct lcow_error **err)
{
    cleanup_close int fd = memfd_create("oci-seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0)
        return lcow_error_errno(err, "memfd_create");
    int r = seccomp_export_bpf(ctx, fd);
    if (r < 0)
        return lcow_error_make(err, -r, "linux.seccomp: export BPF: %s", strerror(-r));
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lcow_error_errno(err, "fstat seccomp memfd");
    size_t n = (size_t)st.st_size / sizeof(struct sock_filter);
    if (n == 0 || n > BPF_MAX_INSNS || (size_t)st.st_size % sizeof(struct sock_filter) != 0)
        return lcow_error_make(err, E2BIG,
                               "linux.seccomp: compiled filter has %zu instructions (max %d)", n,
                               BPF_MAX_INSNS);
    struct sock_filter *f = malloc((size_t)st.st_size);
    if (f == NULL)
        return lcow_error_make(err, ENOMEM, "linux.seccomp: out of memory");
    if (lseek(fd, 0, SEEK_SET) < 0 || lcow_read_exact(fd, f, (size_t)st.st_size) != st.st_size) {
        free(f);
        return lcow_error_make(err, EIO, "linux.seccomp: read back exported BPF");
    }
    p->filter = f;
    p->len = (unsigned short)n;
    return 0;
}

/* ---------------------------------------------------------------- ENOSYS stub */

#define X32_SYSCALL_BIT 0x40000000u
#define MAX_STUB_ARCHES 24

struct arch_max {
    uint32_t audit;  /* AUDIT_ARCH_* (libseccomp's tokens are these values, except x32) */
    int64_t max;     /* highest syscall number the profile names on this arch, -1 = none */
    int64_t x32_max; /* x86_64 only: the same for x32 syscalls (which carry X32_SYSCALL_BIT) */
};

static struct arch_max *arch_slot(struct arch_max *v, size_t *n, uint32_t audit)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i].audit == audit)
            return &v[i];
    if (*n >= MAX_STUB_ARCHES)
        return NULL;
    v[*n] = (struct arch_max){.audit = audit, .max = -1, .x32_max = -1};
    return &v[(*n)++];
}

static void note_max(const struct oci_seccomp *s, uint32_t token, int64_t *max)
{
    for (size_t i = 0; i < s->n_syscalls; i++)
        for (char **n = s->syscalls[i].names; *n; n++) {
            int nr = seccomp_syscall_resolve_name_arch(token, *n);
            if (nr >= 0 && nr > *max)
                *max = nr; /* negative: unknown, or a pseudo-syscall absent on this arch */
        }
}

static size_t collect_arches(const struct oci_seccomp *s, struct arch_max *v)
{
    size_t n = 0;
    uint32_t tokens[OCI_SECCOMP_ARCH_MAX + 1];
    size_t nt = 0;
    tokens[nt++] = seccomp_arch_native();
    /* A spec may name an architecture more than once (runc accepts it): each counts once, so
     * tokens[] never holds more than the native one plus every known architecture. */
    for (size_t i = 0; i < s->n_architectures; i++) {
        uint32_t t = arch_tokens[s->architectures[i]];
        bool seen = false;
        for (size_t j = 0; j < nt && !seen; j++)
            seen = tokens[j] == t;
        if (!seen && nt < sizeof(tokens) / sizeof(tokens[0]))
            tokens[nt++] = t;
    }
    for (size_t i = 0; i < nt; i++) {
        bool x32 = tokens[i] == SCMP_ARCH_X32;
        struct arch_max *a = arch_slot(v, &n, x32 ? AUDIT_ARCH_X86_64 : tokens[i]);
        if (a != NULL)
            note_max(s, tokens[i], x32 ? &a->x32_max : &a->max);
    }
    return n;
}

static bool wants_stub(const struct oci_seccomp *s)
{
    if (s->default_action == OCI_SECCOMP_ACT_ALLOW || s->default_action == OCI_SECCOMP_ACT_LOG)
        return false;
    /* A default of ENOSYS already is what the stub would return. */
    return !(s->default_action == OCI_SECCOMP_ACT_ERRNO && s->has_default_errno_ret &&
             s->default_errno_ret == ENOSYS);
}

/* Emits, per architecture: "if arch matches: load nr; nr > max ? ENOSYS : libseccomp". An
 * unknown architecture falls through to libseccomp's own bad-arch handling. */
static size_t build_stub(const struct arch_max *v, size_t n, struct sock_filter *out)
{
    size_t k = 0;
    out[k++] =
        (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
    size_t fixups[MAX_STUB_ARCHES * 2], nf = 0; /* jgt instructions to point at the exits */
    for (size_t i = 0; i < n; i++) {
        bool both = v[i].x32_max >= 0;
        if (v[i].max < 0 && !both)
            continue;
        uint8_t body = both ? 4 : 2;
        out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, v[i].audit, 0, body);
        out[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                                offsetof(struct seccomp_data, nr));
        if (both)
            out[k++] =
                (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, X32_SYSCALL_BIT, 1, 0);
        /* A native arch without names (max -1) must never answer ENOSYS for everything. */
        uint32_t native_max = v[i].max >= 0 ? (uint32_t)v[i].max : UINT32_MAX;
        fixups[nf++] = k;
        out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, native_max, 0, 0);
        if (both) {
            fixups[nf++] = k;
            out[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K,
                                                    (uint32_t)v[i].x32_max, 0, 0);
        }
    }
    size_t enter = k++; /* ja over the ENOSYS return into libseccomp's program */
    size_t enosys = k++;
    out[enter] = (struct sock_filter)BPF_STMT(BPF_JMP | BPF_JA, 1);
    out[enosys] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
    for (size_t i = 0; i < nf; i++) {
        out[fixups[i]].jt = (uint8_t)(enosys - fixups[i] - 1);
        out[fixups[i]].jf = (uint8_t)(enosys + 1 - fixups[i] - 1);
    }
    return k;
}

static int prepend_stub(const struct oci_seccomp *s, struct oci_seccomp_program *p,
                        struct lcow_error **err)
{
    struct arch_max v[MAX_STUB_ARCHES];
    size_t n = collect_arches(s, v);
    struct sock_filter stub[2 + MAX_STUB_ARCHES * 5];
    size_t k = build_stub(v, n, stub);
    if ((size_t)p->len + k > BPF_MAX_INSNS)
        return lcow_error_make(err, E2BIG, "linux.seccomp: filter too large (%zu instructions)",
                               (size_t)p->len + k);
    struct sock_filter *f = malloc(((size_t)p->len + k) * sizeof(*f));
    if (f == NULL)
        return lcow_error_make(err, ENOMEM, "linux.seccomp: out of memory");
    memcpy(f, stub, k * sizeof(*f));
    memcpy(f + k, p->filter, p->len * sizeof(*f));
    free(p->filter);
    p->filter = f;
    p->len = (unsigned short)(p->len + k);
    return 0;
}

static unsigned kernel_flags(const struct oci_seccomp *s, bool notify)
{
    unsigned f = 0;
    unsigned oci = s->has_flags ? s->flags : OCI_SECCOMP_FLAG_SPEC_ALLOW;
    if (oci & OCI_SECCOMP_FLAG_TSYNC)
        f |= SECCOMP_FILTER_FLAG_TSYNC;
    if (oci & OCI_SECCOMP_FLAG_LOG)
        f |= SECCOMP_FILTER_FLAG_LOG;
    if (oci & OCI_SECCOMP_FLAG_SPEC_ALLOW)
        f |= SECCOMP_FILTER_FLAG_SPEC_ALLOW;
    if (oci & OCI_SECCOMP_FLAG_WAIT_KILLABLE_RECV)
        f |= SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    if (notify) {
        f |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        /* TSYNC and a listener together are only allowed with TSYNC_ESRCH. */
        if (f & SECCOMP_FILTER_FLAG_TSYNC)
            f |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
    }
    return f;
}

int oci_seccomp_compile(const struct oci_seccomp *spec, unsigned opts,
                        struct oci_seccomp_program *ret, struct lcow_error **err)
{
    struct oci_seccomp_program p = {0};
    if (spec == NULL || spec->disabled) {
        *ret = p;
        return 0;
    }
    int r = check_notify(spec, err);
    if (r < 0)
        return r;
    __attribute__((cleanup(ctx_release))) scmp_filter_ctx ctx = NULL;
    bool notify = false;
    if ((r = build_filter(spec, opts, &ctx, &notify, err)) < 0 ||
        (r = export_bpf(ctx, &p, err)) < 0)
        return r;
    if (wants_stub(spec) && (r = prepend_stub(spec, &p, err)) < 0) {
        oci_seccomp_program_done(&p);
        return r;
    }
    p.flags = kernel_flags(spec, notify);
    p.notify = notify;
    p.listener_path = spec->listener_path;
    p.listener_metadata = spec->listener_metadata;
    *ret = p;
    return 0;
}

void oci_seccomp_program_done(struct oci_seccomp_program *p)
{
    if (p == NULL)
        return;
    free(p->filter);
    memset(p, 0, sizeof(*p));
}

int oci_seccomp_load(const struct oci_seccomp_program *p)
{
    if (p == NULL || p->len == 0)
        return 0;
    struct sock_fprog prog = {.len = p->len, .filter = p->filter};
    long r = syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, p->flags, &prog);
    if (r < 0)
        return -errno;
    return p->notify ? (int)r : 0;
}
