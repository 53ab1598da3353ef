/* A static probe copied into test rootfs's: for each argument "NR[:ARG0[:ARG1]]" (decimal or
 * 0x hex) it forks, makes that raw syscall in the child and prints one line saying what the
 * seccomp filter did: "NR ok", "NR errno=E" or "NR signal=S". Used by seccomp_diff.sh to compare
 * ocirun's filters with runc's inside real containers. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static long num(const char *s, char **end)
{
    return (long)strtoul(s, end, 0);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        char *p = argv[i];
        long nr = num(p, &p), a0 = 0, a1 = 0;
        if (*p == ':')
            a0 = num(p + 1, &p);
        if (*p == ':')
            a1 = num(p + 1, &p);
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) {
            printf("%s fork-failed errno=%d\n", argv[i], errno);
            continue;
        }
        if (pid == 0) {
            long r = syscall(nr, a0, a1, 0, 0, 0, 0);
            /* exit_group directly: libc's exit paths make syscalls the profile may refuse. */
            syscall(SYS_exit_group, r < 0 ? (errno & 0xff) : 0);
            _exit(0);
        }
        int st = 0;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
        if (WIFSIGNALED(st))
            printf("%s signal=%d\n", argv[i], WTERMSIG(st));
        else if (WEXITSTATUS(st) == 0)
            printf("%s ok\n", argv[i]);
        else
            printf("%s errno=%d\n", argv[i], WEXITSTATUS(st));
    }
    return 0;
}
