/* The `linux.seccomp` subtree of config.json (runtime-spec 1.2, config-linux.md "Seccomp").
 *
 * The parser resolves every enumerated string (actions, operators, flags, architectures) and
 * rejects unknown ones with the JSON path, as runc does. Syscall *names* are kept as strings:
 * whether a name is known depends on the architecture and libseccomp, so oci/seccomp.c
 * resolves them when compiling (runc ignores unknown names; see oci_seccomp_compile()). */
#ifndef OCI_SPEC_SECCOMP_H
#define OCI_SPEC_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "common/error.h"

enum oci_seccomp_action {
    OCI_SECCOMP_ACT_KILL, /* SCMP_ACT_KILL = kill the thread */
    OCI_SECCOMP_ACT_KILL_PROCESS,
    OCI_SECCOMP_ACT_KILL_THREAD,
    OCI_SECCOMP_ACT_TRAP,
    OCI_SECCOMP_ACT_ERRNO,
    OCI_SECCOMP_ACT_TRACE,
    OCI_SECCOMP_ACT_ALLOW,
    OCI_SECCOMP_ACT_LOG,
    OCI_SECCOMP_ACT_NOTIFY,
    OCI_SECCOMP_ACT_MAX,
};

enum oci_seccomp_op {
    OCI_SECCOMP_OP_NE, /* SCMP_CMP_NE */
    OCI_SECCOMP_OP_LT,
    OCI_SECCOMP_OP_LE,
    OCI_SECCOMP_OP_EQ,
    OCI_SECCOMP_OP_GE,
    OCI_SECCOMP_OP_GT,
    OCI_SECCOMP_OP_MASKED_EQ,
    OCI_SECCOMP_OP_MAX,
};

/* Flag bits (values are the kernel's SECCOMP_FILTER_FLAG_*). */
enum {
    OCI_SECCOMP_FLAG_TSYNC = 1u << 0,
    OCI_SECCOMP_FLAG_LOG = 1u << 1,
    OCI_SECCOMP_FLAG_SPEC_ALLOW = 1u << 2,
    OCI_SECCOMP_FLAG_WAIT_KILLABLE_RECV = 1u << 5,
};

enum oci_seccomp_arch {
    OCI_SECCOMP_ARCH_X86,
    OCI_SECCOMP_ARCH_X86_64,
    OCI_SECCOMP_ARCH_X32,
    OCI_SECCOMP_ARCH_ARM,
    OCI_SECCOMP_ARCH_AARCH64,
    OCI_SECCOMP_ARCH_MIPS,
    OCI_SECCOMP_ARCH_MIPS64,
    OCI_SECCOMP_ARCH_MIPS64N32,
    OCI_SECCOMP_ARCH_MIPSEL,
    OCI_SECCOMP_ARCH_MIPSEL64,
    OCI_SECCOMP_ARCH_MIPSEL64N32,
    OCI_SECCOMP_ARCH_PPC,
    OCI_SECCOMP_ARCH_PPC64,
    OCI_SECCOMP_ARCH_PPC64LE,
    OCI_SECCOMP_ARCH_S390,
    OCI_SECCOMP_ARCH_S390X,
    OCI_SECCOMP_ARCH_PARISC,
    OCI_SECCOMP_ARCH_PARISC64,
    OCI_SECCOMP_ARCH_RISCV64,
    OCI_SECCOMP_ARCH_MAX,
};

struct oci_seccomp_arg {
    uint32_t index; /* 0..5 */
    uint64_t value, value_two;
    enum oci_seccomp_op op;
};

struct oci_seccomp_syscall {
    char **names; /* NULL-terminated, at least one */
    enum oci_seccomp_action action;
    bool has_errno_ret;
    uint32_t errno_ret;
    struct oci_seccomp_arg *args;
    size_t n_args;
};

struct oci_seccomp {
    enum oci_seccomp_action default_action;
    bool has_default_errno_ret;
    uint32_t default_errno_ret;
    enum oci_seccomp_arch *architectures;
    size_t n_architectures;
    unsigned flags; /* OCI_SECCOMP_FLAG_* */
    /* `flags` was present (even empty). runc: absent flags mean SPEC_ALLOW by default. */
    bool has_flags;
    /* Neither defaultAction nor syscalls: runc treats the profile as "no seccomp". */
    bool disabled;
    char *listener_path;     /* NULL when absent */
    char *listener_metadata; /* NULL when absent */
    struct oci_seccomp_syscall *syscalls;
    size_t n_syscalls;
};

/* Parses the value of linux.seccomp into *ret. `json_path` names obj ("linux.seccomp").
 * Returns 0, or -EINVAL/-ERANGE/-ENOMEM with *err naming the first bad field's path;
 * *ret is untouched on failure. defaultAction is required when syscalls are listed. */
int oci_seccomp_parse(const struct json_object *obj, const char *json_path, struct oci_seccomp *ret,
                      struct lcow_error **err);

void oci_seccomp_done(struct oci_seccomp *s);
struct oci_seccomp *oci_seccomp_free(struct oci_seccomp *s);

/* Name tables (the OCI spellings), for messages and for `ocirun features`. NULL when out of
 * range. */
const char *oci_seccomp_action_name(enum oci_seccomp_action a);
const char *oci_seccomp_op_name(enum oci_seccomp_op op);
const char *oci_seccomp_arch_name(enum oci_seccomp_arch a);
/* Returns the flag bit for an OCI flag name, or 0 when unknown. */
unsigned oci_seccomp_flag_from_name(const char *name);

#endif
