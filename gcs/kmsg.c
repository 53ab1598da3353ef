/* See kmsg.h. /dev/kmsg returns one record per read(2); a FIFO (tests) may return several or
 * a fraction, so records are split on newlines from a buffer either way. Continuation lines
 * (" KEY=value" device properties) are skipped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/io.h"
#include "common/log.h"
#include "gcs/kmsg.h"

int gcs_kmsg_open(struct gcs_kmsg *k, const char *path, int max_priority)
{
    k->len = 0;
    k->max_priority = max_priority;
    k->fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    return k->fd >= 0 ? k->fd : -errno;
}

static unsigned long long parse_num(const char **p, const char *end, int *ok)
{
    unsigned long long v = 0;
    const char *s = *p;
    if (s >= end || *s < '0' || *s > '9')
        *ok = 0;
    while (s < end && *s >= '0' && *s <= '9')
        v = v * 10 + (unsigned long long)(*s++ - '0');
    *p = s;
    return v;
}

int gcs_kmsg_parse(const char *rec, size_t len, int *ret_priority, unsigned long long *ret_seq,
                   unsigned long long *ret_usec, const char **ret_msg, size_t *ret_msg_len)
{
    const char *p = rec, *end = rec + len;
    const char *semi = memchr(rec, ';', len);
    int ok = 1;
    if (!semi)
        return -EINVAL;
    unsigned long long pri = parse_num(&p, semi, &ok);
    if (p >= semi || *p++ != ',')
        return -EINVAL;
    unsigned long long seq = parse_num(&p, semi, &ok);
    if (p >= semi || *p++ != ',')
        return -EINVAL;
    unsigned long long usec = parse_num(&p, semi, &ok);
    if (!ok || (p < semi && *p != ','))
        return -EINVAL;
    const char *msg = semi + 1;
    const char *nl = memchr(msg, '\n', (size_t)(end - msg));
    *ret_priority = (int)(pri & 7); /* the facility is in the upper bits */
    *ret_seq = seq;
    *ret_usec = usec;
    *ret_msg = msg;
    *ret_msg_len = (size_t)((nl ? nl : end) - msg);
    return 0;
}

static enum lcow_log_level level_of(int priority)
{
    if (priority <= 3)
        return LCOW_LOG_ERROR;
    if (priority == 4)
        return LCOW_LOG_WARNING;
    return priority <= 6 ? LCOW_LOG_INFO : LCOW_LOG_DEBUG;
}

static void forward(struct gcs_kmsg *k, const char *rec, size_t len)
{
    int pri;
    unsigned long long seq, usec;
    const char *msg;
    size_t mlen;
    if (rec[0] == ' ' || gcs_kmsg_parse(rec, len, &pri, &seq, &usec, &msg, &mlen) < 0)
        return;
    if (pri > k->max_priority)
        return;
    char spri[8], sseq[24], susec[24];
    snprintf(spri, sizeof(spri), "%d", pri);
    snprintf(sseq, sizeof(sseq), "%llu", seq);
    snprintf(susec, sizeof(susec), "%llu", usec);
    const struct lcow_log_field fields[] = {
        {"source", "kmsg"}, {"priority", spri}, {"sequence", sseq}, {"timestamp_us", susec}};
    lcow_log_fields(level_of(pri), fields, 4, "%.*s", (int)mlen, msg);
}

int gcs_kmsg_drain(struct gcs_kmsg *k)
{
    for (int rounds = 0; rounds < 256; rounds++) {
        ssize_t n = read(k->fd, k->buf + k->len, sizeof(k->buf) - k->len - 1);
        if (n < 0 && (errno == EINTR || errno == EPIPE))
            continue; /* EPIPE: records were overwritten before we read them */
        if (n < 0)
            return errno == EAGAIN ? 0 : -1;
        if (n == 0)
            return -1;
        k->len += (size_t)n;
        size_t start = 0;
        for (size_t i = 0; i < k->len; i++) {
            if (k->buf[i] != '\n')
                continue;
            forward(k, k->buf + start, i - start);
            start = i + 1;
        }
        if (start == 0 && k->len == sizeof(k->buf) - 1) {
            forward(k, k->buf, k->len); /* one oversized record: log what fits */
            start = k->len;
        }
        memmove(k->buf, k->buf + start, k->len - start);
        k->len -= start;
    }
    return 0;
}
