/* Sends a seccomp listener fd to linux.seccomp.listenerPath (oci/seccomp_notify.h). */
#include "oci/seccomp_notify.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"

static int connect_listener(const char *path, struct lcow_error **err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return lcow_error_make(err, ENAMETOOLONG, "seccomp listenerPath `%s`: too long", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    cleanup_close int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return lcow_error_errno(err, "socket");
    if (LCOW_RETRY_EINTR(connect(fd, (struct sockaddr *)&sa, sizeof(sa))) < 0)
        return lcow_error_errno(err, "connect seccomp listenerPath `%s`", path);
    return take_fd(&fd);
}

/* The container process state document (runtime-spec config-linux.md, seccomp). */
static char *process_state(const char *metadata, const char *oci_version, pid_t pid,
                           const char *state, struct lcow_error **err)
{
    cleanup_json struct json_object *st = NULL;
    if (lcow_json_parse(state, strlen(state), "state", &st, err) < 0)
        return NULL;
    cleanup_json struct json_object *o = json_object_new_object();
    struct json_object *fds = json_object_new_array();
    if (o == NULL || fds == NULL) {
        json_object_put(fds);
        lcow_error_make(err, ENOMEM, "out of memory");
        return NULL;
    }
    json_object_object_add(o, "ociVersion", json_object_new_string(oci_version));
    json_object_array_add(fds, json_object_new_string("seccompFd"));
    json_object_object_add(o, "fds", fds);
    json_object_object_add(o, "pid", json_object_new_int64(pid));
    if (metadata && *metadata)
        json_object_object_add(o, "metadata", json_object_new_string(metadata));
    json_object_object_add(o, "state", json_object_get(st));
    char *text = strdup(
        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
    if (text == NULL)
        lcow_error_make(err, ENOMEM, "out of memory");
    return text;
}

int oci_seccomp_notify_send(const char *listener_path, const char *metadata,
                            const char *oci_version, pid_t pid, const char *state, int listener_fd,
                            struct lcow_error **err)
{
    cleanup_free char *doc = process_state(metadata, oci_version, pid, state, err);
    if (doc == NULL)
        return -ENOMEM;
    cleanup_close int sock = connect_listener(listener_path, err);
    if (sock < 0)
        return sock;
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    memset(&u, 0, sizeof(u));
    struct iovec iov = {.iov_base = doc, .iov_len = strlen(doc)};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &listener_fd, sizeof(int));
    ssize_t n = LCOW_RETRY_EINTR(sendmsg(sock, &mh, MSG_NOSIGNAL));
    if (n < 0)
        return lcow_error_errno(err, "send to seccomp listenerPath `%s`", listener_path);
    if ((size_t)n != iov.iov_len)
        return lcow_error_make(err, EIO, "send to seccomp listenerPath `%s`: short write",
                               listener_path);
    return 0;
}
