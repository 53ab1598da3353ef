/* See uvm.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "common/syscalls.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "host/qmp.h"
#include "host/spawn.h"
#include "host/uvm.h"
#include "vsock/transport.h"

#define ENTROPY_PORT  1u
#define LOG_PORT      109u
#define ENTROPY_BYTES 512
#define GUEST_CID     3u
#define ARGV_MAX      (64 + 4 * HOST_UVM_PMEM_MAX)

/* ---- accelerator ------------------------------------------------------------------------- */

const char *host_uvm_pick_accel(void)
{
    cleanup_close int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0 || ioctl(kvm, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
        return "tcg";
    int vm = ioctl(kvm, KVM_CREATE_VM, 0);
    if (vm < 0)
        return "tcg";
    close(vm);
    /* A nested /dev/kvm that hides SSE3 (CPUID.1:ECX bit 0) was seen to hang the guest at
     * once (test-environment.md): treat such a host as having no KVM. */
    size_t n = 256;
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
    if (!c)
        return "tcg";
    c->nent = (uint32_t)n;
    bool ok = false;
    if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) == 0)
        for (uint32_t i = 0; i < c->nent; i++)
            if (c->entries[i].function == 1)
                ok = (c->entries[i].ecx & 1u) != 0;
    free(c);
    return ok ? "kvm" : "tcg";
}

/* ---- command line ------------------------------------------------------------------------ */

/* Under TCG one vCPU: a 2-vCPU guest here locked up in the boot (after init had started the
 * GCS chain: "soft lockup - CPU#0 stuck for 208s! [init:1]" while CPU 1's RCU kthread starved),
 * a wait across vCPUs that never ended; with one vCPU there is no other CPU to wait for, and
 * the boot was no slower (median 9.8 s vs 11.5 s to negotiation at load 15, 18 boots each). */
unsigned host_uvm_cpus(const struct host_uvm_config *c, const char *accel)
{
    if (c->cpus)
        return c->cpus;
    return strcmp(accel, "tcg") == 0 ? 1 : 2;
}

/* hcsshim's tokens (§1.2) for a console on COM1, minus initcall_blacklist=virtio_vsock_init
 * and pci=off (virtio-pci needs the bus); the GCS gets -disable-time-sync (no Hyper-V PTP).
 * Added for QEMU: no_timer_check, since under TCG on a loaded host the kernel's IO-APIC timer
 * check can miss its ticks and panic ("IO-APIC + timer doesn't work!"), as seen here. */
static char *kernel_cmdline(const struct host_uvm_config *c, unsigned cpus)
{
    char *s = NULL;
    if (asprintf(&s,
                 "8250_core.nr_uarts=1 8250_core.skip_txen_test=1 console=ttyS0,115200 "
                 "panic=-1 quiet no_timer_check%s%s nr_cpus=%u brd.rd_nr=0 pmtmr=0 -- -e %u "
                 "/bin/vsockexec "
                 "-e %u /bin/gcs -v4 -log-format json -loglevel %s -disable-time-sync",
                 c->kernel_args && *c->kernel_args ? " " : "", c->kernel_args ? c->kernel_args : "",
                 cpus, ENTROPY_PORT, LOG_PORT, c->gcs_log_level ? c->gcs_log_level : "info") < 0)
        return NULL;
    return s;
}

struct argv_buf {
    const char *v[ARGV_MAX + 1];
    char *owned[16 + 2 * HOST_UVM_PMEM_MAX];
    size_t n, n_owned;
};

static void add(struct argv_buf *a, const char *s)
{
    if (a->n < ARGV_MAX)
        a->v[a->n++] = s;
}

static void addf(struct argv_buf *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void addf(struct argv_buf *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) >= 0 && a->n_owned < LCOW_ARRAY_SIZE(a->owned)) {
        a->owned[a->n_owned++] = s;
        add(a, s);
    } else {
        free(s);
        add(a, "");
    }
    va_end(ap);
}

static void argv_done(struct argv_buf *a)
{
    for (size_t i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
}

/* virtio-pmem devices are memory devices: -m needs hot-plug slots and room for them. */
static void pmem_argv(const struct host_uvm_config *c, const uint64_t *sizes, size_t n,
                      struct argv_buf *a)
{
    uint64_t extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += sizes[i];
    add(a, "-m");
    if (!n) {
        addf(a, "%u", c->memory_mb);
        return;
    }
    addf(a, "%uM,slots=%zu,maxmem=%lluM", c->memory_mb, n,
         (unsigned long long)c->memory_mb + (unsigned long long)(extra >> 20));
    for (size_t i = 0; i < n; i++) {
        add(a, "-object");
        addf(a, "memory-backend-file,id=pm%zu,mem-path=%s,size=%llu,share=off,readonly=on", i,
             c->pmem[i], (unsigned long long)sizes[i]);
        add(a, "-device");
        addf(a, "virtio-pmem-pci,memdev=pm%zu,id=pmem%zu", i, i);
    }
}

static void qemu_argv(const struct host_uvm_config *c, const struct host_uvm *u, const char *accel,
                      unsigned cpus, const char *cmdline, const uint64_t *pmem_sizes, size_t n_pmem,
                      struct argv_buf *a)
{
    add(a, c->qemu);
    add(a, "-accel");
    /* TCG's translation cache grows to 1 GiB by default; 32 MiB holds this guest's code (boot
     * and run times unchanged here) and saves about 45 MiB of host memory per UVM. */
    add(a, strcmp(accel, "tcg") == 0 ? "tcg,tb-size=32" : accel);
    if (strcmp(accel, "kvm") == 0) {
        add(a, "-cpu");
        add(a, "host");
    }
    add(a, "-M");
    add(a, "pc,memory-backend=mem");
    pmem_argv(c, pmem_sizes, n_pmem, a);
    add(a, "-smp");
    addf(a, "%u", cpus);
    /* Shared memory: a vhost-user back end maps guest RAM (a private copy fails silently). */
    add(a, "-object");
    addf(a, "memory-backend-memfd,id=mem,size=%uM,share=on", c->memory_mb);
    add(a, "-device");
    if (u->kernel_vsock)
        addf(a, "vhost-vsock-pci,guest-cid=%u", GUEST_CID);
    else
        add(a, "vhost-user-vsock-pci,chardev=vu");
    if (!u->kernel_vsock) {
        add(a, "-chardev");
        addf(a, "socket,id=vu,path=%s/vu.sock", u->dir);
    }
    add(a, "-device");
    add(a, "virtio-scsi-pci,id=scsi0");
    add(a, "-display");
    add(a, "none");
    add(a, "-nodefaults");
    add(a, "-no-user-config");
    add(a, "-no-reboot");
    add(a, "-chardev");
    add(a, "stdio,id=con,signal=off");
    add(a, "-serial");
    add(a, "chardev:con");
    add(a, "-qmp");
    addf(a, "unix:%s/qmp.sock,server=on,wait=off", u->dir);
    for (const char *const *x = c->extra_args; x && *x; x++)
        add(a, *x);
    add(a, "-kernel");
    add(a, c->kernel);
    add(a, "-initrd");
    add(a, c->initrd);
    add(a, "-append");
    add(a, cmdline);
    a->v[a->n] = NULL;
}

/* ---- helpers ----------------------------------------------------------------------------- */

static int open_log(const char *dir, const char *name, struct lcow_error **err)
{
    cleanup_free char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0)
        return lcow_error_make(err, ENOMEM, "log path");
    int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return lcow_error_errno(err, "open `%s`", p);
    return fd;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static bool alive(pid_t pid)
{
    return pid > 0 && waitpid(pid, NULL, WNOHANG) == 0;
}

/* The last `max` bytes of a log file, for error messages. */
static char *log_tail_n(const char *dir, const char *name, size_t max)
{
    cleanup_free char *p = NULL, *buf = NULL;
    size_t len = 0;
    if (asprintf(&p, "%s/%s", dir, name) < 0 || lcow_read_file(p, 1 << 20, &buf, &len, NULL) < 0)
        return strdup("");
    while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    size_t start = len > max ? len - max : 0;
    return strdup(buf + start);
}

static char *log_tail(const char *dir, const char *name)
{
    return log_tail_n(dir, name, 400);
}

static int start_backend(const struct host_uvm_config *c, struct host_uvm *u,
                         struct lcow_error **err)
{
    cleanup_close int logfd = open_log(u->dir, "vhost.log", err);
    if (logfd < 0)
        return logfd;
    cleanup_free char *sock = NULL, *uds = NULL, *cid = NULL;
    if (asprintf(&sock, "%s/vu.sock", u->dir) < 0 || asprintf(&uds, "%s/v", u->dir) < 0 ||
        asprintf(&cid, "%u", GUEST_CID) < 0)
        return lcow_error_make(err, ENOMEM, "back end arguments");
    const char *argv[] = {c->backend, "--socket", sock, "--uds", uds, "--guest-cid", cid, NULL};
    u->backend_pid = host_spawn(argv, -1, logfd, logfd, 1, err);
    if (u->backend_pid < 0) {
        u->backend_pid = 0;
        return lcow_error_wrap(err, "start the vsock back end");
    }
    /* QEMU fails at once when the back end's socket is not there yet. */
    struct stat st;
    for (int i = 0; i < 500; i++) {
        if (stat(sock, &st) == 0 && S_ISSOCK(st.st_mode))
            return 0;
        if (!alive(u->backend_pid)) {
            u->backend_pid = 0;
            cleanup_free char *tail = log_tail(u->dir, "vhost.log");
            return lcow_error_make(err, EIO, "vhost-user-vsock exited at start: %s", tail);
        }
        sleep_ms(10);
    }
    return lcow_error_make(err, ETIMEDOUT, "vhost-user-vsock did not create `%s`", sock);
}

static int listeners(struct host_uvm *u, struct lcow_error **err)
{
    struct vsock_addr a;
    int r = vsock_addr_parse(u->vsock_base, &a, err);
    if (r < 0)
        return r;
    u->entropy_listen = vsock_listen(&a, ENTROPY_PORT, 1, err);
    if (u->entropy_listen < 0)
        return lcow_error_wrap(err, "listen for entropy (port %u)", ENTROPY_PORT);
    u->log_listen = vsock_listen(&a, LOG_PORT, 1, err);
    if (u->log_listen < 0)
        return lcow_error_wrap(err, "listen for the GCS log (port %u)", LOG_PORT);
    return host_bridge_listen(u->vsock_base, &u->bridge, err);
}

static void serve_entropy(struct host_uvm *u)
{
    int fd = vsock_accept(u->entropy_listen, NULL);
    if (fd < 0)
        return;
    uint8_t buf[ENTROPY_BYTES];
    size_t got = 0;
    while (got < sizeof(buf)) {
        ssize_t n = getrandom(buf + got, sizeof(buf) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    (void)lcow_write_all(fd, buf, got);
    close(fd);
    /* hcsshim closes the listener after the first accept. */
    u->entropy_listen = lcow_close_nointr(u->entropy_listen);
    u->t.entropy = lcow_now_ns();
}

static void accept_log(struct host_uvm *u)
{
    int fd = vsock_accept(u->log_listen, NULL);
    if (fd < 0)
        return;
    u->log_listen = lcow_close_nointr(u->log_listen);
    u->log_fd = fd;
    u->t.log = lcow_now_ns();
}

/* Returns false at EOF. */
static bool copy_once(int from, int to)
{
    char buf[16384];
    ssize_t n = read(from, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return true;
    if (n <= 0)
        return false;
    (void)lcow_write_all(to, buf, (size_t)n);
    return true;
}

static void read_console(struct host_uvm *u)
{
    char buf[8192];
    ssize_t n = read(u->console_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (n <= 0) {
        u->console_fd = lcow_close_nointr(u->console_fd);
        return;
    }
    if (!u->t.console)
        u->t.console = lcow_now_ns();
    (void)lcow_write_all(u->console_out, buf, (size_t)n);
    for (ssize_t i = 0; i < n && !u->t.init; i++) {
        if (buf[i] == '\n' || u->line_len == sizeof(u->line) - 1) {
            u->line[u->line_len] = '\0';
            if (strstr(u->line, "Run /init"))
                u->t.init = lcow_now_ns();
            u->line_len = 0;
        } else {
            u->line[u->line_len++] = buf[i];
        }
    }
}

static void reap_qemu(struct host_uvm *u)
{
    int st = 0;
    if (u->qemu_pid > 0 && waitpid(u->qemu_pid, &st, WNOHANG) == u->qemu_pid) {
        u->qemu_exited = true;
        u->qemu_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        u->qemu_pid = 0;
        if (u->qemu_pidfd >= 0)
            u->qemu_pidfd = lcow_close_nointr(u->qemu_pidfd);
    }
}

size_t host_uvm_pollfds(struct host_uvm *u, struct pollfd *pfd, size_t cap)
{
    const int fds[] = {u->console_fd, u->log_fd, u->log_listen, u->entropy_listen, u->qemu_pidfd};
    size_t n = 0;
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fds) && n < cap; i++)
        if (fds[i] >= 0)
            pfd[n++] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    return n;
}

void host_uvm_service(struct host_uvm *u, const struct pollfd *pfd, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!pfd[i].revents)
            continue;
        int fd = pfd[i].fd;
        if (fd == u->console_fd)
            read_console(u);
        else if (fd == u->log_fd && !copy_once(u->log_fd, u->log_out))
            u->log_fd = lcow_close_nointr(u->log_fd);
        else if (fd == u->log_listen)
            accept_log(u);
        else if (fd == u->entropy_listen)
            serve_entropy(u);
    }
    reap_qemu(u);
}

/* ---- start ------------------------------------------------------------------------------- */

static int check_file(const char *what, const char *path, struct lcow_error **err)
{
    if (!path || !*path)
        return lcow_error_make(err, EINVAL, "no %s given", what);
    if (access(path, R_OK) < 0)
        return lcow_error_errno(err, "%s `%s`", what, path);
    return 0;
}

static struct host_uvm *uvm_new(const char *dir)
{
    struct host_uvm *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->dir = strdup(dir);
    u->qemu_pidfd = u->console_fd = u->console_out = -1;
    u->entropy_listen = u->log_listen = u->log_fd = u->log_out = -1;
    return u;
}

/* Sizes of the pmem images, checked before anything starts. */
static int pmem_sizes(const struct host_uvm_config *c, uint64_t *sizes, size_t *ret_n,
                      struct lcow_error **err)
{
    size_t n = 0;
    for (; c->pmem && c->pmem[n]; n++) {
        if (n == HOST_UVM_PMEM_MAX)
            return lcow_error_make(err, E2BIG, "more than %d pmem images", HOST_UVM_PMEM_MAX);
        struct stat st;
        if (stat(c->pmem[n], &st) < 0)
            return lcow_error_errno(err, "pmem image `%s`", c->pmem[n]);
        if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size % HOST_UVM_PMEM_ALIGN)
            return lcow_error_make(err, EINVAL,
                                   "pmem image `%s`: size %lld is not a multiple of 2 MiB",
                                   c->pmem[n], (long long)st.st_size);
        sizes[n] = (uint64_t)st.st_size;
    }
    *ret_n = n;
    return 0;
}

static int spawn_qemu(const struct host_uvm_config *c, struct host_uvm *u, struct lcow_error **err)
{
    uint64_t sizes[HOST_UVM_PMEM_MAX];
    size_t n_pmem = 0;
    int pr = pmem_sizes(c, sizes, &n_pmem, err);
    if (pr < 0)
        return pr;
    const char *accel =
        c->accel && strcmp(c->accel, "auto") != 0 ? c->accel : host_uvm_pick_accel();
    unsigned cpus = host_uvm_cpus(c, accel);
    cleanup_free char *cmdline = kernel_cmdline(c, cpus);
    if (!cmdline)
        return lcow_error_make(err, ENOMEM, "kernel command line");
    struct argv_buf a = {0};
    qemu_argv(c, u, accel, cpus, cmdline, sizes, n_pmem, &a);
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        argv_done(&a);
        return lcow_error_errno(err, "pipe");
    }
    cleanup_close int qlog = open_log(u->dir, "qemu.log", err);
    if (qlog < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        argv_done(&a);
        return qlog;
    }
    u->t.start = lcow_now_ns();
    u->qemu_pid = host_spawn(a.v, -1, pipefd[1], qlog, 1, err);
    argv_done(&a);
    close(pipefd[1]);
    u->console_fd = pipefd[0];
    if (u->qemu_pid < 0) {
        u->qemu_pid = 0;
        return lcow_error_wrap(err, "start QEMU (`%s`)", c->qemu);
    }
    (void)lcow_fd_set_nonblock(u->console_fd, true);
    u->qemu_pidfd = sys_pidfd_open(u->qemu_pid, 0);
    if (u->qemu_pidfd >= 0)
        (void)lcow_fd_set_cloexec(u->qemu_pidfd, true);
    return 0;
}

/* The state directory goes away with a failed start: the logs' last words go into the error. */
static int qemu_gone_error(struct host_uvm *u, const char *when, struct lcow_error **err)
{
    for (int i = 0; i < 64 && u->console_fd >= 0; i++) {
        struct pollfd p = {.fd = u->console_fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        read_console(u);
    }
    cleanup_free char *tail = log_tail(u->dir, "qemu.log");
    cleanup_free char *con = log_tail(u->dir, "console.log");
    return lcow_error_make(err, EIO, "QEMU exited (status %d) %s%s%s%s%s", u->qemu_status, when,
                           *tail ? ": " : "", tail, *con ? "; console: " : "", con);
}

/* "at N ms" after QEMU started, or "never", for a milestone of a boot that stalled. */
static const char *milestone(const struct host_uvm *u, uint64_t t, char *buf, size_t len)
{
    if (!t)
        return "never";
    snprintf(buf, len, "at %llu ms", (unsigned long long)((t - u->t.start) / 1000000ull));
    return buf;
}

/* `key` inside [from, end) (end NULL: to the end of the text), or NULL. */
static const char *find_in(const char *from, const char *end, const char *key)
{
    const char *p = strstr(from, key);
    return p && (!end || p < end) ? p : NULL;
}

/* Appends "CPU#n IP=... HLT=h" of the `info registers` block at `block` to out (a CPU not yet
 * started is still in real mode: EIP, not RIP). */
static void vcpu_line(const char *block, char *out, size_t cap)
{
    const char *end = strstr(block + 4, "CPU#");
    const char *ip = find_in(block, end, "RIP=");
    if (!ip)
        ip = find_in(block, end, "EIP=");
    const char *hlt = find_in(block, end, "HLT=");
    size_t len = strlen(out);
    if (ip && hlt && len < cap)
        snprintf(out + len, cap - len, "%sCPU#%ld %.3s=%.*s HLT=%c", len ? ", " : "",
                 strtol(block + 4, NULL, 10), ip, (int)strcspn(ip + 4, " \n"), ip + 4, hlt[4]);
}

/* Where the vCPUs are (QEMU's `info registers -a`: instruction pointer, halted or not), or
 * that QEMU's monitor did not answer: a guest waiting for an event it never got looks
 * different from a kernel spinning, and both from QEMU itself being stuck. */
static char *vcpu_state(struct host_uvm *u)
{
    if (!u->qmp)
        return strdup("no QMP connection");
    struct json_object *args = json_object_new_object();
    if (!args)
        return NULL;
    json_object_object_add(args, "command-line", json_object_new_string("info registers -a"));
    cleanup_json struct json_object *ret = NULL;
    cleanup_error struct lcow_error *e = NULL;
    if (host_qmp_call(u->qmp, "human-monitor-command", args, 2000, &ret, &e) < 0) {
        char *s = NULL;
        return asprintf(&s, "the monitor did not answer (%s)", lcow_error_message(e)) < 0 ? NULL
                                                                                          : s;
    }
    const char *text = json_object_get_string(ret);
    char out[512] = "";
    for (const char *p = text ? strstr(text, "CPU#") : NULL; p; p = strstr(p + 4, "CPU#"))
        vcpu_line(p, out, sizeof(out));
    return strdup(*out ? out : "no registers");
}

/* A boot that did not reach the bridge: how far the guest got (which listener it reached) and
 * the last words of every log, since the state directory goes away with the failed start. */
static int stalled_error(struct host_uvm *u, int errnum, const char *what, struct lcow_error **err)
{
    for (int i = 0; i < 64 && u->console_fd >= 0; i++) {
        struct pollfd p = {.fd = u->console_fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        read_console(u);
    }
    char c[32], e[32], l[32], b[32];
    /* More of the console: a lockup report and its call trace are what says why. */
    cleanup_free char *con = log_tail_n(u->dir, "console.log", 1800);
    cleanup_free char *vhost = u->kernel_vsock ? strdup("") : log_tail(u->dir, "vhost.log");
    cleanup_free char *gcs = log_tail(u->dir, "gcs.log");
    cleanup_free char *qemu = log_tail(u->dir, "qemu.log");
    cleanup_free char *cpus = vcpu_state(u);
    return lcow_error_make(
        err, errnum,
        "%s (console output %s, entropy taken %s, GCS log connected %s, bridge connected %s; "
        "vCPUs: %s); console: %s; vhost.log: %s; gcs.log: %s; qemu.log: %s",
        what, milestone(u, u->t.console, c, sizeof(c)), milestone(u, u->t.entropy, e, sizeof(e)),
        milestone(u, u->t.log, l, sizeof(l)), milestone(u, u->t.bridge, b, sizeof(b)),
        cpus ? cpus : "?", con ? con : "", vhost ? vhost : "", gcs ? gcs : "", qemu ? qemu : "");
}

/* True once the vsock back end has exited (reaped; *status as a shell reports it): from then
 * on the guest can reach no host port, so waiting for the GCS is pointless. */
static bool backend_exited(struct host_uvm *u, int *status)
{
    int st = 0;
    if (u->backend_pid <= 0 || waitpid(u->backend_pid, &st, WNOHANG) != u->backend_pid)
        return false;
    u->backend_pid = 0;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
}

/* ---- a boot starved of CPU ------------------------------------------------------------- */

/* Under TCG the boot needs CPU time, not wall time: about 6 s of QEMU CPU for boot and a first
 * container, which took 4 s of wall time at load 4 and up to 51 s at load 18-21 here. So the
 * timeout counts only the windows in which QEMU could run: a window in which it was runnable
 * but waited for a CPU at least as long as it ran is added to the deadline, up to
 * BOOT_MAX_FACTOR times the timeout in all. A guest that is idle (waiting for an event that
 * never comes) or spins with a CPU at hand fails at the timeout as before. */
#define BOOT_WINDOW_NS  5000000000ull
#define BOOT_MAX_FACTOR 3

struct sched_sample {
    uint64_t at, run, wait; /* lcow_now_ns(); QEMU's threads: ns on a CPU, ns waiting for one */
};

/* QEMU's scheduler figures summed over its threads (/proc/PID/task/TID/schedstat: ns on a CPU,
 * ns runnable but waiting). False when they cannot be read (no CONFIG_SCHED_INFO). */
static bool qemu_sched(pid_t pid, struct sched_sample *s)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    *s = (struct sched_sample){.at = lcow_now_ns()};
    bool any = false;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char p[96];
        cleanup_free char *buf = NULL;
        unsigned long long run = 0, wait = 0;
        snprintf(p, sizeof(p), "/proc/%d/task/%.16s/schedstat", (int)pid, e->d_name);
        if (lcow_read_file(p, 256, &buf, NULL, NULL) < 0 ||
            sscanf(buf, "%llu %llu", &run, &wait) != 2)
            continue;
        s->run += run;
        s->wait += wait;
        any = true;
    }
    closedir(d);
    return any;
}

static bool starved(const struct sched_sample *prev, const struct sched_sample *cur)
{
    if (!prev->at || !cur->at)
        return false;
    uint64_t run = cur->run - prev->run, wait = cur->wait - prev->wait;
    return wait >= run && run + wait >= (cur->at - prev->at) / 10;
}

/* Takes a new sample once the last is a window old (past the deadline: a fifth of a window,
 * so the window in progress counts too); a starved window moves the deadline by its length,
 * never past cap. */
static void sched_tick(const struct host_uvm *u, struct sched_sample *prev,
                       struct sched_sample *cur, uint64_t *deadline, uint64_t cap)
{
    struct sched_sample s;
    uint64_t now = lcow_now_ns();
    uint64_t window = now >= *deadline ? BOOT_WINDOW_NS / 5 : BOOT_WINDOW_NS;
    if (u->qemu_pid <= 0 || (cur->at && now - cur->at < window) || !qemu_sched(u->qemu_pid, &s))
        return;
    *prev = *cur;
    *cur = s;
    if (starved(prev, cur)) {
        uint64_t later = *deadline + (cur->at - prev->at);
        *deadline = later < cap ? later : cap;
    }
}

/* Serves entropy, log and console until the GCS connects and negotiates. */
static int wait_gcs(const struct host_uvm_config *c, struct host_uvm *u, struct lcow_error **err)
{
    uint64_t deadline = u->t.start + (uint64_t)c->timeout_ms * 1000000ull;
    uint64_t cap = u->t.start + (uint64_t)c->timeout_ms * 1000000ull * BOOT_MAX_FACTOR;
    struct sched_sample prev = {0}, cur = {0};
    for (;;) {
        struct pollfd pfd[8];
        size_t n = host_uvm_pollfds(u, pfd, LCOW_ARRAY_SIZE(pfd));
        if (poll(pfd, n, 20) > 0)
            host_uvm_service(u, pfd, n);
        if (u->qemu_exited)
            return qemu_gone_error(u, "before the GCS connected", err);
        int bst = 0;
        if (backend_exited(u, &bst)) {
            char what[96];
            snprintf(what, sizeof(what),
                     "the vsock back end exited (status %d) before the GCS connected", bst);
            return stalled_error(u, EIO, what, err);
        }
        struct lcow_error *e = NULL;
        if (host_bridge_accept(u->bridge, 0, &e) == 0)
            break;
        lcow_error_release(&e);
        sched_tick(u, &prev, &cur, &deadline, cap);
        uint64_t now = lcow_now_ns();
        if (now >= deadline) {
            char what[192];
            snprintf(what, sizeof(what),
                     "the GCS did not connect within %d s (waited %.0f s in all; QEMU ran %.1f s "
                     "and waited %.1f s for a CPU)",
                     c->timeout_ms / 1000, (double)(now - u->t.start) / 1e9, (double)cur.run / 1e9,
                     (double)cur.wait / 1e9);
            return stalled_error(u, ETIMEDOUT, what, err);
        }
    }
    u->t.bridge = lcow_now_ns();
    uint64_t now = lcow_now_ns();
    int left = deadline > now ? (int)((deadline - now) / 1000000ull) + 1 : 1;
    struct lcow_error *e = NULL;
    int r = host_bridge_negotiate(u->bridge, left, &e);
    if (r < 0) {
        cleanup_free char *what = NULL;
        if (asprintf(&what, "negotiate with the GCS: %s", lcow_error_message(e)) < 0)
            what = NULL;
        r = stalled_error(u, -r, what ? what : "negotiate with the GCS", err);
        lcow_error_release(&e);
        return r;
    }
    u->t.negotiated = lcow_now_ns();
    return 0;
}

int host_uvm_start(const struct host_uvm_config *c, struct host_uvm **ret, struct lcow_error **err)
{
    int r = check_file("kernel", c->kernel, err);
    if (r >= 0)
        r = check_file("initrd", c->initrd, err);
    if (r < 0)
        return r;
    struct host_uvm *u = uvm_new(c->dir);
    if (!u || !u->dir) {
        free(u);
        return lcow_error_make(err, ENOMEM, "UVM");
    }
    if (strcmp(c->vsock ? c->vsock : "auto", "user") == 0) {
        u->kernel_vsock = false;
    } else {
        int fd = open("/dev/vhost-vsock", O_RDWR | O_CLOEXEC);
        u->kernel_vsock = fd >= 0;
        if (fd >= 0)
            close(fd);
        if (!u->kernel_vsock && c->vsock && strcmp(c->vsock, "vhost") == 0) {
            r = lcow_error_errno(err, "open /dev/vhost-vsock");
            goto fail;
        }
    }
    if ((u->kernel_vsock && asprintf(&u->vsock_base, "vsock:%u", VSOCK_CID_HOST) < 0) ||
        (!u->kernel_vsock && asprintf(&u->vsock_base, "unix:%s/v", u->dir) < 0)) {
        r = lcow_error_make(err, ENOMEM, "address");
        goto fail;
    }
    r = u->console_out = open_log(u->dir, "console.log", err);
    if (r >= 0)
        r = u->log_out = open_log(u->dir, "gcs.log", err);
    if (r >= 0 && !u->kernel_vsock)
        r = start_backend(c, u, err);
    if (r >= 0)
        r = listeners(u, err); /* before QEMU starts, as hcsshim does */
    if (r >= 0)
        r = spawn_qemu(c, u, err);
    if (r >= 0) {
        cleanup_free char *qmp = NULL;
        if (asprintf(&qmp, "%s/qmp.sock", u->dir) < 0)
            r = lcow_error_make(err, ENOMEM, "QMP path");
        else
            r = host_qmp_connect(qmp, 10000, &u->qmp, err);
        if (r < 0) {
            reap_qemu(u);
            if (u->qemu_exited) {
                lcow_error_release(err);
                r = qemu_gone_error(u, "at start", err);
            }
        }
    }
    if (r >= 0)
        r = wait_gcs(c, u, err);
    if (r < 0)
        goto fail;
    *ret = u;
    return 0;
fail:
    host_uvm_free(u);
    return r;
}

/* ---- stop -------------------------------------------------------------------------------- */

static void wait_qemu(struct host_uvm *u, int timeout_ms)
{
    uint64_t deadline = lcow_now_ns() + (uint64_t)timeout_ms * 1000000ull;
    while (u->qemu_pid > 0 && lcow_now_ns() < deadline) {
        struct pollfd pfd[8];
        size_t n = host_uvm_pollfds(u, pfd, LCOW_ARRAY_SIZE(pfd));
        if (poll(pfd, n, 20) > 0)
            host_uvm_service(u, pfd, n);
        reap_qemu(u);
    }
}

static void unlink_in(const struct host_uvm *u, const char *name)
{
    cleanup_free char *p = NULL;
    if (asprintf(&p, "%s/%s", u->dir, name) >= 0)
        (void)unlink(p);
}

void host_uvm_stop(struct host_uvm *u, int timeout_ms)
{
    if (!u)
        return;
    if (u->qemu_pid > 0 && u->bridge && host_bridge_fd(u->bridge) >= 0) {
        /* The GCS exits on ShutdownForced of the UVM id and init powers the VM off. */
        struct host_message m = {0};
        struct lcow_error *e = NULL;
        if (host_bridge_simple(u->bridge, GCS_MSG_SHUTDOWN_FORCED, NULL, 5000, &m, &e) >= 0)
            host_message_done(&m);
        lcow_error_release(&e);
        wait_qemu(u, timeout_ms);
    }
    if (u->qemu_pid > 0 && u->qmp) {
        struct lcow_error *e = NULL;
        (void)host_qmp_call(u->qmp, "quit", NULL, 2000, NULL, &e);
        lcow_error_release(&e);
        wait_qemu(u, 2000);
    }
    if (u->qemu_pid > 0) {
        kill(u->qemu_pid, SIGKILL);
        (void)host_wait_timeout(u->qemu_pid, 5000);
        u->qemu_pid = 0;
        u->qemu_exited = true;
        u->qemu_status = 128 + SIGKILL;
    }
    /* The back end exits when QEMU closes its socket; it is stopped if it does not. */
    if (u->backend_pid > 0) {
        uint64_t deadline = lcow_now_ns() + 2000000000ull;
        while (alive(u->backend_pid) && lcow_now_ns() < deadline)
            sleep_ms(10);
        kill(u->backend_pid, SIGTERM);
        (void)host_wait_timeout(u->backend_pid, 2000);
        u->backend_pid = 0;
    }
    /* What the GCS wrote last (its exit) is still in the socket. */
    while (u->log_fd >= 0 && copy_once(u->log_fd, u->log_out))
        ;
    for (int i = 0; i < 64 && u->console_fd >= 0; i++) {
        struct pollfd p = {.fd = u->console_fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        read_console(u);
    }
    host_qmp_free(u->qmp);
    u->qmp = NULL;
    host_bridge_free(u->bridge);
    u->bridge = NULL;
    int *fds[] = {&u->qemu_pidfd, &u->console_fd, &u->console_out, &u->entropy_listen,
                  &u->log_listen, &u->log_fd,     &u->log_out};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(fds); i++)
        if (*fds[i] >= 0)
            *fds[i] = lcow_close_nointr(*fds[i]);
    static const char *const socks[] = {"vu.sock", "qmp.sock", "v_1", "v_109", "v_1073741824"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(socks); i++)
        unlink_in(u, socks[i]);
}

void host_uvm_free(struct host_uvm *u)
{
    if (!u)
        return;
    host_uvm_stop(u, 5000);
    free(u->vsock_base);
    free(u->dir);
    free(u);
}
