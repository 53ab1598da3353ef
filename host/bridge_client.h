/* The host side of the bridge (lcow-host.md §2): listen for the GCS (or dial a GCS started in
 * listen mode), negotiate, send requests and match responses by ID, queue notifications, and
 * accept the stdio connections the GCS dials back on allocated ports (0x40000001 upward).
 * Used by the tests and by runlcow. Messages are encoded and decoded with gcs/protocol.h.
 *
 * One struct host_bridge is used by one thread at a time. Calls that wait take a timeout in
 * milliseconds (< 0: forever) and fail with -ETIMEDOUT. Errors follow common/error.h. */
#ifndef LCOW_HOST_BRIDGE_CLIENT_H
#define LCOW_HOST_BRIDGE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/error.h"

#define HOST_STDIO_PORT_BASE 0x40000001u

struct host_bridge;

/* One message read from the GCS. */
struct host_message {
    uint32_t type;
    uint64_t id;
    char *payload; /* NUL-terminated JSON */
    size_t len;
};
void host_message_done(struct host_message *m);

/* Listens for the GCS's bridge connection at addr (`unix:PATH` -> PATH_1073741824,
 * `vsock:CID` or `vsock:CID:PORT` -> any CID on that port; a `listen:` prefix is accepted).
 * Stdio listeners use the same base. */
int host_bridge_listen(const char *addr, struct host_bridge **ret, struct lcow_error **err);
/* For a GCS in listen mode: the host dials addr's bridge port instead, and still listens for
 * stdio on the same base. */
int host_bridge_connect(const char *addr, int timeout_ms, struct host_bridge **ret,
                        struct lcow_error **err);
/* Wraps an already connected fd (a GCS run with -use-inouterr on a socketpair); stdio
 * listeners use addr's base. Takes fd. */
int host_bridge_adopt(const char *addr, int fd, struct host_bridge **ret, struct lcow_error **err);
/* Waits for (the next) GCS connection; replaces the current one. Request ids restart at 0. */
int host_bridge_accept(struct host_bridge *b, int timeout_ms, struct lcow_error **err);
/* Closes the current connection (the GCS then redials). */
void host_bridge_drop(struct host_bridge *b);
void host_bridge_free(struct host_bridge *b);
/* The connected socket, or -1. */
int host_bridge_fd(const struct host_bridge *b);

/* Sends one request (payload without trailing newline); *ret_id gets its id. */
int host_bridge_send(struct host_bridge *b, uint32_t type, const char *payload, uint64_t *ret_id,
                     struct lcow_error **err);
/* Writes bytes as they are (malformed frames for tests). */
int host_bridge_send_raw(struct host_bridge *b, const void *buf, size_t len,
                         struct lcow_error **err);
/* Records id as outstanding for a request written with host_bridge_send_raw(). */
int host_bridge_track(struct host_bridge *b, uint64_t id, struct lcow_error **err);
/* Waits for the response to id; other responses and notifications are kept for later. A frame
 * the real host would reject fails with -EBADMSG: size < 16 or > 64 KiB, a type that is
 * neither a response nor 0x30100101, or a response to an id that is not outstanding (never
 * sent, or answered already). EOF fails with -ECONNRESET. */
int host_bridge_recv(struct host_bridge *b, uint64_t id, int timeout_ms, struct host_message *ret,
                     struct lcow_error **err);
/* send + recv. */
int host_bridge_call(struct host_bridge *b, uint32_t type, const char *payload, int timeout_ms,
                     struct host_message *ret, struct lcow_error **err);
/* The next container notification (0x30100101), in arrival order. */
int host_bridge_next_notification(struct host_bridge *b, int timeout_ms, struct host_message *ret,
                                  struct lcow_error **err);
/* The Result of a response (0 = success), or -EBADMSG when it does not decode. */
int host_message_result(const struct host_message *m, int32_t *ret_result, char **ret_error,
                        struct lcow_error **err);

/* NegotiateProtocol v4; checks what hcsshim checks (Version 4, RuntimeOsType, capabilities). */
int host_bridge_negotiate(struct host_bridge *b, int timeout_ms, struct lcow_error **err);

/* Allocates the next stdio port and listens on it. Returns the listening fd. */
int host_bridge_stdio_listen(struct host_bridge *b, uint32_t *ret_port, struct lcow_error **err);
/* Accepts one connection on a stdio listener, then closes the listener. */
int host_stdio_accept(int listen_fd, int timeout_ms, struct lcow_error **err);

/* ExecuteProcess of an external (UVM) process. */
struct host_exec {
    const char *const *argv;  /* CommandArgs; NULL to send command_line instead */
    const char *command_line; /* CommandLine (used when argv is NULL) */
    const char *const *env;   /* "K=V" strings, NULL-terminated; NULL: none */
    const char *cwd;          /* WorkingDirectory; NULL: "" */
    bool tty;                 /* EmulateConsole */
    bool std_in, std_out, std_err;
    uint16_t rows, cols; /* ConsoleSize when tty and non-zero */
};

struct host_process {
    uint32_t pid;
    int fd[3]; /* connected stdio sockets, -1 where not requested */
};

/* Sends ExecuteProcess for container_id (NULL: the UVM id), accepts the stdio connections and
 * returns the pid. A failure response is -EREMOTEIO with the GCS's ErrorMessage and
 * *ret_result (if non-NULL) set to its HRESULT. */
int host_bridge_exec(struct host_bridge *b, const char *container_id, const struct host_exec *x,
                     int timeout_ms, struct host_process *ret, int32_t *ret_result,
                     struct lcow_error **err);
void host_process_close(struct host_process *p);
/* WaitForProcess; *ret_exit_code on success. Failure responses as for host_bridge_exec. */
int host_bridge_wait_process(struct host_bridge *b, const char *container_id, uint32_t pid,
                             uint32_t timeout_in_ms, int timeout_ms, uint32_t *ret_exit_code,
                             int32_t *ret_result, struct lcow_error **err);
/* SignalProcess (sig 0: no Options, i.e. SIGKILL), ResizeConsole and ModifySettings for
 * container_id (NULL: the UVM id). A failure response is -EREMOTEIO with *ret_result set. */
struct gcs_modify_request;
int host_bridge_signal(struct host_bridge *b, const char *container_id, uint32_t pid, int sig,
                       int timeout_ms, int32_t *ret_result, struct lcow_error **err);
int host_bridge_resize(struct host_bridge *b, const char *container_id, uint32_t pid,
                       uint16_t height, uint16_t width, int timeout_ms, int32_t *ret_result,
                       struct lcow_error **err);
int host_bridge_modify(struct host_bridge *b, const char *container_id,
                       const struct gcs_modify_request *req, int timeout_ms, int32_t *ret_result,
                       struct lcow_error **err);
/* A base-only request (Start, Shutdown*, DumpStacks, DeleteContainerState) for container_id. */
int host_bridge_simple(struct host_bridge *b, uint32_t type, const char *container_id,
                       int timeout_ms, struct host_message *ret, struct lcow_error **err);

#endif
