/* Test helper (style.md C8): runs a program under a seccomp filter that makes the newer
 * syscalls fail with ENOSYS, as on an older kernel, so the fallbacks (component walk instead
 * of openat2, clone instead of clone3, fd walks instead of close_range, kill instead of
 * pidfds) are exercised on this one. Children inherit the filter.
 *   oci_nosys PROGRAM [ARGS...]
 *   oci_nosys --probe        (exit 0 when every one of them now fails with ENOSYS) */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include "common/syscalls.h"

#define LOAD_ARCH BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch))
#define LOAD_NR   BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
/* If the syscall number is NR, answer ENOSYS; otherwise fall through. */
#define DENY(nr)                                                                                   \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                                               \
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA))

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: oci_nosys PROGRAM [ARGS...]\n");
        return 2;
    }
    struct sock_filter filter[] = {
        LOAD_ARCH,
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        LOAD_NR,
        DENY(__NR_openat2),
        DENY(__NR_clone3),
        DENY(__NR_close_range),
        DENY(__NR_pidfd_open),
        DENY(__NR_pidfd_send_signal),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof(filter) / sizeof(filter[0]), .filter = filter};
    /* As root no no_new_privs is needed, and the containers keep their own NoNewPrivs view. */
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0) {
        fprintf(stderr, "oci_nosys: seccomp: %s\n", strerror(errno));
        return 1;
    }
    if (strcmp(argv[1], "--probe") == 0) {
        /* Proves the filter: each of the hidden calls must now fail with ENOSYS. */
        struct lcow_open_how how = {.flags = O_PATH};
        struct lcow_clone_args ca = {.exit_signal = SIGCHLD};
        bool ok = sys_openat2(AT_FDCWD, "/", &how) < 0 && errno == ENOSYS;
        ok = ok && sys_clone3(&ca) < 0 && errno == ENOSYS;
        ok = ok && sys_close_range(1000, 1001, 0) < 0 && errno == ENOSYS;
        ok = ok && sys_pidfd_open(getpid(), 0) < 0 && errno == ENOSYS;
        return ok ? 0 : 1;
    }
    execvp(argv[1], &argv[1]);
    fprintf(stderr, "oci_nosys: exec %s: %s\n", argv[1], strerror(errno));
    return 127;
}
