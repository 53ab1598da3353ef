/* /init: PID 1 of the utility VM (gcs-protocol.md §1.2, design.md §2).
 *
 * Boot order is chosen for time to first bridge connection under TCG: base mounts, the early
 * (vsock) modules, entropy, then the child (vsockexec -> gcs) starts dialling while init loads
 * the storage and network modules; gcs's device waits tolerate late drivers. After that init
 * only reaps: every signal is blocked and read from a signalfd (catatonit's pattern, style.md
 * C6). When the primary child exits, init syncs and powers the VM off, but only if it is PID 1
 * of the initial pid namespace; inside a test's pid namespace it exits with the child's
 * status instead, and it never writes to the machine's kernel log, cgroup root or modules. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "initrd/init.h"

#define EXIT_EXEC_FAIL 127

struct init_state {
    struct init_args args;
    bool vm;          /* PID 1 of the initial pid namespace */
    sigset_t saved;   /* the mask init started with, restored in children */
    sigset_t blocked; /* what init blocks and reads from its signalfd */
    pid_t primary;    /* the debug shell with -d, else the child */
    int primary_code; /* its exit code, or 128+signal */
    bool primary_done;
    struct init_modlist mods;
    int moddir;
};

static void usage(void)
{
    init_err("usage: init [-t ADDR] [-d SHELL] [-e PORT] [-w] [-x PROGRAM] PROGRAM ARGS...");
}

static int status_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

/* The end of init: power off in the VM (panic=-1 semantics, without the panic), exit
 * elsewhere. If power-off itself fails, PID 1 must still not exit: it keeps reaping. */
static void __attribute__((noreturn)) finish(struct init_state *s, int code)
{
    if (!s->vm) {
        init_info("exiting with status %d (not the VM's init: no power-off)", code);
        exit(code);
    }
    init_info("powering off (status %d)", code);
    cleanup_error struct lcow_error *err = NULL;
    if (init_power_off(&err) < 0)
        init_err("%s", lcow_error_message(err));
    for (;;)
        if (wait(NULL) < 0 && errno == ECHILD)
            pause();
}

/* Blocks everything but the signals a fault raises synchronously: those must still kill (and
 * be visible as) a crash rather than spin on the faulting instruction. */
static void block_signals(struct init_state *s)
{
    static const int faults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS};
    sigfillset(&s->blocked);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(faults); i++)
        sigdelset(&s->blocked, faults[i]);
    sigprocmask(SIG_BLOCK, &s->blocked, &s->saved);
}

/* fork + exec with only PATH in the environment, in a new session (hcsshim's launch). */
static pid_t spawn(struct init_state *s, char *const argv[], bool console)
{
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    sigprocmask(SIG_SETMASK, &s->saved, NULL);
    setsid();
    if (console)
        (void)ioctl(STDIN_FILENO, TIOCSCTTY, 1); /* job control for a debug shell */
    lcow_close_fds_from(3);
    clearenv();
    putenv((char *)INIT_PATH_ENV); /* execvp searches the current environment's PATH */
    execvp(argv[0], argv);
    dprintf(STDERR_FILENO, "init: exec `%s`: %s\n", argv[0], strerror(errno));
    _exit(EXIT_EXEC_FAIL);
}

/* Without a console the kernel starts PID 1 with fds 0-2 closed; the first files init opens
 * would land there and leak into the child as its stdio. */
static void ensure_std_fds(void)
{
    for (int fd = 0; fd < 3; fd++)
        if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
            (void)open("/dev/null", O_RDWR); /* lowest free fd: exactly this one */
}

static void load_stage(struct init_state *s, enum init_mod_stage stage, const char *name)
{
    if (s->moddir < 0)
        return;
    struct init_modstats st = {0};
    unsigned long long t0 = lcow_now_ns();
    init_modules_load(s->moddir, &s->mods, stage, &st);
    init_info("%s modules: %u loaded, %u present, %u skipped, %u failed in %llu ms", name,
              st.loaded, st.present, st.skipped, st.failed, (lcow_now_ns() - t0) / 1000000ULL);
}

/* Opens /lib/modules/<release> and reads the builder's list. Only the VM's init loads
 * modules: a test's init must not change the machine's kernel. */
static void open_modules(struct init_state *s)
{
    s->moddir = -1;
    if (!s->vm) {
        init_debug("not the VM's init: kernel modules left alone");
        return;
    }
    struct utsname u;
    char dir[sizeof(u.release) + 16];
    uname(&u);
    snprintf(dir, sizeof(dir), "/lib/modules/%s", u.release);
    cleanup_close int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *text = NULL;
    cleanup_error struct lcow_error *err = NULL;
    if (fd < 0) {
        init_info("no module directory `%s`: %s", dir, strerror(errno));
        return;
    }
    if (lcow_read_file_at(fd, INIT_MODLIST_NAME, 1 << 20, &text, NULL, &err) < 0 ||
        init_modlist_parse(text, &s->mods, &err) < 0) {
        init_warn("%s", lcow_error_message(err));
        return;
    }
    s->moddir = take_fd(&fd);
}

/* -x: a test host that must be listening before entropy and gcs dial it. It daemonizes once
 * ready, so waiting for the direct child is waiting for readiness. */
static void run_pre_program(struct init_state *s)
{
    char *argv[] = {(char *)s->args.pre_program, NULL};
    pid_t pid = spawn(s, argv, false);
    int status = 0;
    if (pid < 0 || LCOW_RETRY_EINTR(waitpid(pid, &status, 0)) < 0)
        init_warn("-x `%s`: %s", s->args.pre_program, strerror(errno));
    else if (status != 0)
        init_warn("-x `%s` exited with status %d", s->args.pre_program, status_code(status));
}

static void feed_entropy(struct init_state *s)
{
    cleanup_error struct lcow_error *err = NULL;
    int n = init_feed_entropy(&s->args.base, s->args.entropy_port, &err);
    if (n < 0)
        init_warn("%s, ignoring", lcow_error_message(err)); /* boot goes on without it */
    else
        init_info("entropy: %d bytes from port %u", n, s->args.entropy_port);
}

/* The kernel command line. A test's init (never the VM's) may read a stand-in file named by
 * LCOW_INIT_CMDLINE, so the hcsshim.cgroup=v1 path runs on this machine too. */
static const char *cmdline_path(const struct init_state *s)
{
    const char *f = getenv("LCOW_INIT_CMDLINE");
    return (!s->vm && f != NULL && f[0] == '/') ? f : "/proc/cmdline";
}

/* Everything before the child starts. Failures are logged and boot continues: a VM whose
 * gcs can still report a broken mount is better than one that panics with no word. */
static void boot(struct init_state *s)
{
    cleanup_error struct lcow_error *err = NULL;
    if (init_set_rlimits(&err) < 0)
        init_warn("%s", lcow_error_message(err));
    lcow_error_release(&err);
    if (s->args.writable_overlays && init_mount_writable_overlays(&err) < 0)
        init_err("writable overlays: %s", lcow_error_message(err));
    lcow_error_release(&err);
    cleanup_free char *cmdline = NULL;
    (void)lcow_read_file(cmdline_path(s), 65536, &cmdline, NULL, NULL);
    bool v1 = cmdline != NULL && init_cmdline_has_token(cmdline, "hcsshim.cgroup=v1");
    if (init_mount_cgroups(v1, s->vm, &err) < 0)
        init_err("cgroups: %s", lcow_error_message(err));
    lcow_error_release(&err);
    if (init_loopback_up(&err) < 0)
        init_warn("loopback: %s", lcow_error_message(err));
    lcow_error_release(&err);
    open_modules(s);
    load_stage(s, INIT_MOD_EARLY, "early");
    if (s->args.pre_program != NULL)
        run_pre_program(s);
    if (s->args.entropy_port != 0)
        feed_entropy(s);
}

/* GPU helpers hcsshim's init starts when the rootfs carries them; absent ones are skipped. */
static void start_services(struct init_state *s)
{
    static char *const persistenced[] = {"/bin/nvidia-persistenced", NULL};
    static char *const fabricmanager[] = {"/bin/nv-fabricmanager", "-c",
                                          "/usr/share/nvidia/nvswitch/fabricmanager.cfg", NULL};
    static char *const *const services[] = {persistenced, fabricmanager};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(services); i++) {
        if (access(services[i][0], X_OK) < 0)
            continue;
        if (spawn(s, services[i], false) < 0)
            init_warn("fork for `%s`: %s", services[i][0], strerror(errno));
    }
}

static void launch(struct init_state *s)
{
    start_services(s);
    pid_t child = spawn(s, s->args.argv, false);
    if (child < 0)
        init_err("fork for `%s`: %s", s->args.argv[0], strerror(errno));
    else
        init_info("started `%s` as pid %d", s->args.argv[0], (int)child);
    s->primary = child;
    if (s->args.debug_shell != NULL) {
        char *sh[] = {(char *)s->args.debug_shell, NULL};
        pid_t shell = spawn(s, sh, true);
        if (shell < 0)
            init_err("fork for `%s`: %s", s->args.debug_shell, strerror(errno));
        else
            s->primary = shell; /* the debug shell decides when the VM ends */
    }
    if (s->primary < 0)
        finish(s, 1);
}

/* Reaps every exited child; notes the primary's status. */
static void reap(struct init_state *s)
{
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) {
            if (pid < 0 && errno == EINTR)
                continue;
            return; /* 0: others still run; ECHILD: none left */
        }
        if (pid == s->primary && !s->primary_done) {
            s->primary_done = true;
            s->primary_code = status_code(status);
            init_info("pid %d exited with status %d", (int)pid, s->primary_code);
        }
    }
}

static bool forwarded(int sig)
{
    return sig == SIGTERM || sig == SIGINT || sig == SIGHUP || sig == SIGQUIT || sig == SIGUSR1 ||
           sig == SIGUSR2 || sig == SIGWINCH;
}

/* No bail() past this point: the loop only logs. */
static void __attribute__((noreturn)) serve(struct init_state *s)
{
    int sfd = signalfd(-1, &s->blocked, SFD_CLOEXEC);
    if (sfd < 0)
        init_err("signalfd: %s; reaping with wait()", strerror(errno));
    for (;;) {
        reap(s);
        if (s->primary_done)
            finish(s, s->primary_code);
        if (sfd < 0) {
            int status;
            pid_t pid = wait(&status);
            if (pid == s->primary)
                s->primary_done = true, s->primary_code = status_code(status);
            continue;
        }
        struct signalfd_siginfo si;
        ssize_t n = LCOW_RETRY_EINTR(read(sfd, &si, sizeof(si)));
        if (n != (ssize_t)sizeof(si))
            continue;
        if (si.ssi_signo != SIGCHLD && forwarded((int)si.ssi_signo))
            (void)kill(s->primary, (int)si.ssi_signo);
    }
}

int main(int argc, char **argv)
{
    struct init_state s = {.primary = -1, .moddir = -1};
    block_signals(&s);
    if (chdir("/") < 0) {
        /* cannot happen for "/"; nothing to do about it either */
    }
    cleanup_error struct lcow_error *err = NULL;
    int mounted = init_mount_base(&err);
    ensure_std_fds();
    s.vm = init_is_vm_init();
    init_log_setup(s.vm);
    init_info("starting (%s)", s.vm ? "VM init" : "inside a pid namespace");
    if (mounted < 0)
        init_err("base mounts: %s", lcow_error_message(err));
    lcow_error_release(&err);
    if (init_parse_args(argc, argv, &s.args, &err) < 0) {
        init_err("%s", lcow_error_message(err));
        usage();
        finish(&s, 1);
    }
    boot(&s);
    launch(&s);
    load_stage(&s, INIT_MOD_LATE, "late");
    init_modlist_done(&s.mods);
    if (s.moddir >= 0)
        s.moddir = lcow_close_nointr(s.moddir);
    serve(&s);
}
