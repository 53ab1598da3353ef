/* The cgroup v2 device controller: cgroup2 has no devices.allow file; access is decided by a
 * BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. We emit the instructions by hand
 * (as runc and crun do) from the same rule list the v1 files take:
 *
 *   prologue: r2 = type (ctx->access_type & 0xffff), r3 = access (ctx->access_type >> 16),
 *             r4 = ctx->major, r5 = ctx->minor
 *   per rule, LAST rule first (so that the last matching rule decides, as on v1):
 *             if type/access/major/minor do not match, jump to the next block;
 *             otherwise return allow (1) or deny (0)
 *   epilogue: return 0 (no rule matched: deny)
 *
 * A rule matching everything ends the program early: the verifier rejects unreachable code. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/bpf.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "oci/cgroup.h"

#define MAX_RULES      4096
#define INSNS_PER_RULE 8
#define LOG_SIZE       8192
#define MAX_ATTACHED   64

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
    return (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

/* Register numbers (eBPF calling convention: r1 = ctx on entry, r0 = return value). */
enum { R0, R1, R2, R3, R4, R5 };

static bool rule_is_catch_all(const struct oci_device_rule *d)
{
    return d->type == 'a' && d->major < 0 && d->minor < 0 && strcmp(d->access, "rwm") == 0;
}

static uint32_t access_bits(const char *acc)
{
    uint32_t bits = 0;
    for (const char *c = acc; *c; c++)
        bits |= *c == 'r'   ? BPF_DEVCG_ACC_READ
                : *c == 'w' ? BPF_DEVCG_ACC_WRITE
                            : BPF_DEVCG_ACC_MKNOD;
    return bits;
}

/* Emits one rule's block at v[n...]; jumps go to `next`, the first instruction after it. */
static size_t emit_rule(const struct oci_device_rule *d, struct bpf_insn *v)
{
    struct bpf_insn tmp[INSNS_PER_RULE];
    /* Jump slots are filled after the block length is known. */
    int jumps[INSNS_PER_RULE];
    size_t n = 0, nj = 0;
    uint32_t acc = access_bits(d->access);
    if (d->type != 'a') {
        jumps[nj++] = (int)n;
        tmp[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R2, 0, 0,
                        d->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    }
    if (acc != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
        /* Every requested access bit must be granted: (req & acc) == req. */
        tmp[n++] = insn(BPF_ALU | BPF_MOV | BPF_X, R1, R3, 0, 0);
        tmp[n++] = insn(BPF_ALU | BPF_AND | BPF_K, R1, 0, 0, (int32_t)acc);
        jumps[nj++] = (int)n;
        tmp[n++] = insn(BPF_JMP | BPF_JNE | BPF_X, R1, R3, 0, 0);
    }
    if (d->major >= 0) {
        jumps[nj++] = (int)n;
        tmp[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R4, 0, 0, (int32_t)d->major);
    }
    if (d->minor >= 0) {
        jumps[nj++] = (int)n;
        tmp[n++] = insn(BPF_JMP | BPF_JNE | BPF_K, R5, 0, 0, (int32_t)d->minor);
    }
    tmp[n++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, d->allow ? 1 : 0);
    tmp[n++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    for (size_t j = 0; j < nj; j++)
        tmp[jumps[j]].off = (int16_t)(n - (size_t)jumps[j] - 1);
    memcpy(v, tmp, n * sizeof(*tmp));
    return n;
}

int oci_cgroup_devices_bpf_build(const struct oci_device_rule *rules, size_t n,
                                 struct bpf_insn **ret, size_t *ret_n, struct lcow_error **err)
{
    if (n > MAX_RULES)
        return lcow_error_make(err, E2BIG, "devices: %zu rules, at most %d", n, MAX_RULES);
    for (size_t i = 0; i < n; i++)
        if (rules[i].major > INT32_MAX || rules[i].minor > INT32_MAX)
            return lcow_error_make(err, ERANGE, "devices[%zu]: device number out of range", i);
    struct bpf_insn *v = calloc(6 + n * INSNS_PER_RULE + 2, sizeof(*v));
    if (v == NULL)
        return lcow_error_make(err, ENOMEM, "devices: out of memory");
    size_t k = 0;
    v[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R2, R1, 0, 0);
    v[k++] = insn(BPF_ALU | BPF_AND | BPF_K, R2, 0, 0, 0xffff);
    v[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R3, R1, 0, 0);
    v[k++] = insn(BPF_ALU | BPF_RSH | BPF_K, R3, 0, 0, 16);
    v[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R4, R1, 4, 0);
    v[k++] = insn(BPF_LDX | BPF_MEM | BPF_W, R5, R1, 8, 0);
    bool ended = false;
    for (size_t i = n; i-- > 0 && !ended;) {
        k += emit_rule(&rules[i], v + k);
        ended = rule_is_catch_all(&rules[i]);
    }
    if (!ended) {
        v[k++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, R0, 0, 0, 0);
        v[k++] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    }
    *ret = v;
    *ret_n = k;
    return 0;
}

static int sys_bpf(int cmd, union bpf_attr *attr)
{
    return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct bpf_insn *insns, size_t n, struct lcow_error **err)
{
    static const char license[] = "Apache-2.0";
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    a.insns = (uintptr_t)insns;
    a.insn_cnt = (uint32_t)n;
    a.license = (uintptr_t)license;
    int fd = sys_bpf(BPF_PROG_LOAD, &a);
    if (fd >= 0)
        return fd;
    int saved = errno;
    /* Load again with the verifier log, only to explain the failure. */
    cleanup_free char *log = calloc(1, LOG_SIZE);
    if (log != NULL && saved != EPERM) {
        a.log_buf = (uintptr_t)log;
        a.log_size = LOG_SIZE;
        a.log_level = 1;
        int fd2 = sys_bpf(BPF_PROG_LOAD, &a);
        if (fd2 >= 0)
            lcow_close_nointr(fd2);
    }
    errno = saved;
    return lcow_error_errno(err, "load device cgroup BPF program (%zu insns)%s%.200s", n,
                            log && log[0] ? ": verifier: " : "", log ? log : "");
}

static uint32_t prog_id(int fd)
{
    struct bpf_prog_info info;
    union bpf_attr a;
    memset(&info, 0, sizeof(info));
    memset(&a, 0, sizeof(a));
    a.info.bpf_fd = (uint32_t)fd;
    a.info.info_len = sizeof(info);
    a.info.info = (uintptr_t)&info;
    return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 ? info.id : 0;
}

/* Detaches every device program on the cgroup except `keep` (an update replaces the old one;
 * with ALLOW_MULTI the kernel would otherwise AND all of them together). */
static int detach_others(int cgroup_fd, int keep, struct lcow_error **err)
{
    uint32_t ids[MAX_ATTACHED];
    union bpf_attr q;
    memset(&q, 0, sizeof(q));
    q.query.target_fd = (uint32_t)cgroup_fd;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uintptr_t)ids;
    q.query.prog_cnt = MAX_ATTACHED;
    if (sys_bpf(BPF_PROG_QUERY, &q) < 0)
        return lcow_error_errno(err, "query device programs");
    uint32_t keep_id = prog_id(keep);
    for (uint32_t i = 0; i < q.query.prog_cnt && i < MAX_ATTACHED; i++) {
        if (ids[i] == keep_id)
            continue;
        union bpf_attr g;
        memset(&g, 0, sizeof(g));
        g.prog_id = ids[i];
        cleanup_close int pfd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
        if (pfd < 0)
            continue; /* detached meanwhile */
        union bpf_attr d;
        memset(&d, 0, sizeof(d));
        d.target_fd = (uint32_t)cgroup_fd;
        d.attach_bpf_fd = (uint32_t)pfd;
        d.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_DETACH, &d) < 0 && errno != ENOENT)
            return lcow_error_errno(err, "detach old device program %u", ids[i]);
    }
    return 0;
}

int oci_cgroup_devices_bpf_attach(int cgroup_fd, const struct bpf_insn *insns, size_t n,
                                  struct lcow_error **err)
{
    if (cgroup_fd < 0)
        return lcow_error_make(err, EBADF, "attach device program: no cgroup2 directory");
    cleanup_close int fd = load(insns, n, err);
    if (fd < 0)
        return fd;
    union bpf_attr a;
    memset(&a, 0, sizeof(a));
    a.target_fd = (uint32_t)cgroup_fd;
    a.attach_bpf_fd = (uint32_t)fd;
    a.attach_type = BPF_CGROUP_DEVICE;
    a.attach_flags = BPF_F_ALLOW_MULTI;
    if (sys_bpf(BPF_PROG_ATTACH, &a) < 0)
        return lcow_error_errno(err, "attach device program");
    int r = detach_others(cgroup_fd, fd, err);
    if (r < 0)
        return r;
    return take_fd(&fd);
}
