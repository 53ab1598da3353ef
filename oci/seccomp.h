/* Seccomp for the embedded executor: the OCI profile is compiled with libseccomp into a
 * classic BPF program in the parent, BEFORE clone (exported through a memfd, since
 * libseccomp 2.5 exports only to an fd). The child only calls oci_seccomp_load(), which uses
 * the raw seccomp(2) syscall on the prepared program: no malloc, no locks, no libseccomp. */
#ifndef OCI_SECCOMP_H
#define OCI_SECCOMP_H

#include <stdbool.h>
#include <stddef.h>

#include <linux/filter.h>

#include "common/error.h"
#include "oci/spec_seccomp.h"

struct oci_seccomp_program {
    struct sock_filter *filter; /* owned */
    unsigned short len;
    /* SECCOMP_FILTER_FLAG_* for seccomp(2): the OCI flags, plus NEW_LISTENER when a rule
     * uses SCMP_ACT_NOTIFY. */
    unsigned int flags;
    bool notify; /* oci_seccomp_load() returns a listener fd */
    /* Borrowed from the spec (NULL when absent): where part 2 sends the listener fd. */
    const char *listener_path;
    const char *listener_metadata;
};

enum {
    /* Unknown syscall names are an error (crun's run.oci.seccomp_fail_unknown_syscall).
     * Default: skipped, as runc and crun do, since profiles list syscalls of newer kernels. */
    OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL = 1u << 0,
};

/* Compiles `spec` for the native architecture plus spec->architectures. A profile whose default
 * action is not ALLOW/LOG gets runc's ENOSYS stub: syscalls numbered above every syscall the
 * profile names fail with ENOSYS (libc fallbacks) instead of the default action. Errors (unknown
 * action combinations such as errnoRet on a non-ERRNO/TRACE action, an argument index > 5,
 * libseccomp failures) name the syscall and the JSON path "linux.seccomp.syscalls[i]". On success
 * *ret is filled (free with oci_seccomp_program_done). */
int oci_seccomp_compile(const struct oci_seccomp *spec, unsigned opts,
                        struct oci_seccomp_program *ret, struct lcow_error **err);
void oci_seccomp_program_done(struct oci_seccomp_program *p);

/* As oci_seccomp_compile(), through a cache of compiled programs in `cache_dir` (created 0700;
 * NULL = no cache), as crun keeps under its state root. Entries are keyed by the whole parsed
 * profile, options, libseccomp version and native architecture, compared byte for byte on a hit;
 * files not owned by us or writable by others are ignored; at most 128 entries, least recently
 * used evicted. A cache that cannot be used only costs the compile (never an error). */
int oci_seccomp_compile_cached(const struct oci_seccomp *spec, unsigned opts, const char *cache_dir,
                               struct oci_seccomp_program *ret, struct lcow_error **err);

/* Child side, async-signal-safe: installs the filter with seccomp(SECCOMP_SET_MODE_FILTER).
 * The caller must have set no_new_privs or hold CAP_SYS_ADMIN. Returns the listener fd
 * (>= 0, CLOEXEC) when p->notify, 0 otherwise, or -errno. If the kernel rejects a flag it
 * lacks (EINVAL with SPEC_ALLOW/WAIT_KILLABLE_RECV) nothing is retried: the profile asked. */
int oci_seccomp_load(const struct oci_seccomp_program *p);

/* The syscall number for `name` on the native architecture, or -1 (for tests/diagnostics). */
int oci_seccomp_syscall_nr(const char *name);

#endif
