/* See stdio.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "common/io.h"
#include "gcs/limits.h"
#include "gcs/stdio.h"

#define RELAY_BUF 16384

static const char *const stream_names[3] = {"stdin", "stdout", "stderr"};

/* Connections held by every gcs_stdio alive, and their bound. */
static unsigned stdio_held;
static unsigned stdio_limit = GCS_LIMIT_STDIO_CONNECTIONS;

int gcs_stdio_set_limit(int n, struct lcow_error **err)
{
    if (n < 1 || n > (int)GCS_LIMIT_STDIO_CONNECTIONS)
        return lcow_error_make(err, EINVAL, "-max-stdio-connections %d: not in 1..%u", n,
                               GCS_LIMIT_STDIO_CONNECTIONS);
    stdio_limit = (unsigned)n;
    return 0;
}

unsigned gcs_stdio_held(void)
{
    return __atomic_load_n(&stdio_held, __ATOMIC_RELAXED);
}

int gcs_stdio_hold(struct gcs_stdio *s, unsigned n, struct lcow_error **err)
{
    unsigned cur = __atomic_load_n(&stdio_held, __ATOMIC_RELAXED);
    do {
        if (n > stdio_limit || cur > stdio_limit - n)
            return lcow_error_make(err, EAGAIN,
                                   "stdio: %u connections open, %u more would pass the limit of %u",
                                   cur, n, stdio_limit);
    } while (!__atomic_compare_exchange_n(&stdio_held, &cur, cur + n, false, __ATOMIC_RELAXED,
                                          __ATOMIC_RELAXED));
    s->held += n;
    return 0;
}

void gcs_stdio_release(struct gcs_stdio *s)
{
    if (s->held)
        __atomic_sub_fetch(&stdio_held, s->held, __ATOMIC_RELAXED);
    s->held = 0;
}

void gcs_stdio_close(struct gcs_stdio *s)
{
    for (int i = 0; i < 3; i++)
        if (s->fd[i] >= 0)
            s->fd[i] = lcow_close_nointr(s->fd[i]);
    gcs_stdio_release(s);
}

int gcs_stdio_dial(const struct vsock_addr *base, const struct gcs_process_parameters *p,
                   const struct gcs_vsock_stdio_relay *relay, struct gcs_stdio *ret,
                   struct lcow_error **err)
{
    const bool want[3] = {p->create_std_in_pipe, p->create_std_out_pipe, p->create_std_err_pipe};
    const uint32_t port[3] = {relay->std_in, relay->std_out, relay->std_err};
    struct gcs_stdio s = GCS_STDIO_INIT;
    int r = gcs_stdio_hold(&s, (unsigned)want[0] + want[1] + want[2], err);
    if (r < 0)
        return r;
    for (int i = 0; i < 3; i++) {
        if (!want[i])
            continue; /* a port without its Create*Pipe flag is ignored (§1.6) */
        if (port[i] == 0) {
            gcs_stdio_close(&s);
            return lcow_error_make(err, EINVAL, "%s requested without a relay port",
                                   stream_names[i]);
        }
        int fd = vsock_dial(base, port[i], err);
        if (fd < 0) {
            gcs_stdio_close(&s);
            return lcow_error_wrap(err, "connect %s on port %u", stream_names[i], port[i]);
        }
        s.fd[i] = fd;
    }
    *ret = s;
    return 0;
}

int gcs_pty_open(uint16_t rows, uint16_t cols, int *ret_master, int *ret_slave,
                 struct lcow_error **err)
{
    int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (m < 0)
        return lcow_error_errno(err, "open /dev/ptmx");
    char name[64];
    if (grantpt(m) < 0 || unlockpt(m) < 0 || ptsname_r(m, name, sizeof(name)) != 0) {
        int r = lcow_error_errno(err, "unlock pty");
        close(m);
        return r;
    }
    int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        int r = lcow_error_errno(err, "open `%s`", name);
        close(m);
        return r;
    }
    /* Only root may use the terminal (as the Go GCS sets it up). */
    (void)fchmod(s, 0600);
    (void)!fchown(s, 0, 0);
    if (rows > 0 && cols > 0) {
        struct winsize ws = {.ws_row = rows, .ws_col = cols};
        (void)ioctl(m, TIOCSWINSZ, &ws);
    }
    *ret_master = m;
    *ret_slave = s;
    return 0;
}

/* Returns false when the destination is gone; the caller keeps draining the source. */
static bool relay_copy(int from, int to, char *buf, bool *eof)
{
    ssize_t n = LCOW_RETRY_EINTR(read(from, buf, RELAY_BUF));
    if (n <= 0) {
        *eof = true; /* EIO from a master whose slaves are all closed, or EOF */
        return true;
    }
    if (to < 0)
        return true;
    return lcow_write_all(to, buf, (size_t)n) == 0;
}

void gcs_pty_relay(int master, struct gcs_stdio *s)
{
    char *buf = malloc(RELAY_BUF);
    int in = s->fd[0], out = s->fd[1];
    bool master_eof = false;
    while (buf && !master_eof) {
        struct pollfd pfd[2] = {{.fd = master, .events = POLLIN}, {.fd = in, .events = POLLIN}};
        int r = poll(pfd, in >= 0 ? 2 : 1, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break;
        if (pfd[0].revents) {
            if (!relay_copy(master, out, buf, &master_eof) && out >= 0) {
                s->fd[1] = lcow_close_nointr(out); /* host went away: keep draining */
                out = -1;
            }
        }
        if (in >= 0 && pfd[1].revents) {
            bool in_eof = false;
            if (!relay_copy(in, master, buf, &in_eof) || in_eof) {
                /* The host half-closed stdin; the pty stays open for output. */
                s->fd[0] = lcow_close_nointr(in);
                in = -1;
            }
        }
    }
    free(buf);
    gcs_stdio_close(s);
}
