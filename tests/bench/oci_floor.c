/* The benchmark floor: the least a runtime must do to start a container, with nothing else
 * (no config parsing, no cgroups, no devices, no state): clone into new mount/pid/uts/ipc/net
 * namespaces, bind the rootfs, pivot_root, mount /proc, exec, wait. Exits with the
 * container's status.
 *   oci_floor ROOTFS PROGRAM [ARGS...] */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int child(const char *rootfs, char **argv)
{
    if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
        mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0 || chdir(rootfs) < 0 ||
        syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0 ||
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
        perror("oci_floor: set-up");
        return 126;
    }
    execv(argv[0], argv);
    perror("oci_floor: exec");
    return 127;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: oci_floor ROOTFS PROGRAM [ARGS...]\n");
        return 2;
    }
    long pid =
        syscall(SYS_clone,
                CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | SIGCHLD,
                0, 0, 0, 0);
    if (pid < 0) {
        perror("oci_floor: clone");
        return 1;
    }
    if (pid == 0)
        _exit(child(argv[1], &argv[2]));
    int st = 0;
    if (waitpid((pid_t)pid, &st, 0) < 0)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
