/* init's messages: "<prio>init: text" records on /dev/kmsg in the VM (the kernel stamps them
 * with its own clock, which the boot timeline reads back), or plain lines on stderr when init
 * runs in a test's pid namespace and must not write into the machine's kernel log. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "initrd/init.h"

static int kmsg_fd = -1;

void init_log_setup(bool use_kmsg)
{
    if (kmsg_fd >= 0) {
        close(kmsg_fd);
        kmsg_fd = -1;
    }
    if (use_kmsg)
        kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

void init_log(int prio, const char *fmt, ...)
{
    int saved = errno; /* callers log and then still look at errno */
    char buf[1024];
    int off = snprintf(buf, sizeof(buf), "<%d>init: ", prio);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + off, sizeof(buf) - (size_t)off - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)off + (n < 0 ? 0 : (size_t)n);
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    buf[len++] = '\n';
    /* One write per record: /dev/kmsg takes each write as one message. */
    if (kmsg_fd < 0 || write(kmsg_fd, buf, len) < 0) {
        const char *text = strchr(buf, '>') + 1;
        if (write(STDERR_FILENO, text, len - (size_t)(text - buf)) < 0) {
            /* nowhere left to report it */
        }
    }
    errno = saved;
}
