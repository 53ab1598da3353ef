/* Forwarding of kernel log records (/dev/kmsg) at or below a priority into gcs's log
 * (-kmsgLogLevel, gcs-protocol.md §5.9), so kernel warnings in the UVM reach the host's log. */
#ifndef LCOW_GCS_KMSG_H
#define LCOW_GCS_KMSG_H

#include <stddef.h>

struct gcs_kmsg {
    int fd;
    int max_priority; /* forward records with priority <= this (0..7) */
    char buf[8192];   /* a partial record when the source is a stream (tests use a FIFO) */
    size_t len;
};

/* Opens PATH (normally /dev/kmsg) non-blocking. Returns the fd or -errno. */
int gcs_kmsg_open(struct gcs_kmsg *k, const char *path, int max_priority);
/* Reads and logs every available record. Returns 0, or -1 when the source ended (close it). */
int gcs_kmsg_drain(struct gcs_kmsg *k);
/* Parses one record "PRI,SEQ,USEC,FLAGS;MESSAGE" (continuation lines excluded). 0 or -EINVAL. */
int gcs_kmsg_parse(const char *rec, size_t len, int *ret_priority, unsigned long long *ret_seq,
                   unsigned long long *ret_usec, const char **ret_msg, size_t *ret_msg_len);

#endif
