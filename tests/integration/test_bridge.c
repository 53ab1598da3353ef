/* gcs over unix: against the host bridge client (host/bridge_client.h): negotiation, E_NOTIMPL
 * rules, external processes (stdio, pty, exit codes, waits, signals, timeouts), concurrency,
 * reconnects, -use-inouterr, listen mode, shutdown and bad input (gcs-protocol.md §6).
 * Each test starts its own gcs in a fresh temporary directory and kills it in teardown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "tests/lib/gcs_harness.h"

#define T_MS 5000 /* every wait in these tests is bounded */
#define UVM  GCS_UVM_CONTAINER_ID

static char gcs_copy_dir[] = "/tmp/lcow-bridge-bin-XXXXXX";
static char gcs_copy[64];

static const char *gcs_path(void)
{
    return gcs_copy;
}

/* Runs the tests on a private copy of build/bin/gcs: in a shared tree a concurrent `make` may
 * relink the original while a test starts it. The copy is checked by running `gcs -h`. */
static int copy_gcs(void)
{
    char src[512];
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(src, sizeof(src), "%s/%s/bin/gcs", top ? top : ".", build ? build : "build");
    if (!mkdtemp(gcs_copy_dir))
        return -1;
    snprintf(gcs_copy, sizeof(gcs_copy), "%s/gcs", gcs_copy_dir);
    for (int attempt = 0; attempt < 20; attempt++) {
        cleanup_free char *data = NULL;
        size_t len = 0;
        if (lcow_read_file(src, 256u << 20, &data, &len, NULL) == 0 &&
            lcow_write_file(gcs_copy, data, len, O_WRONLY | O_CREAT | O_TRUNC, 0755, NULL) == 0) {
            pid_t pid = fork();
            if (pid == 0) {
                int null = open("/dev/null", O_WRONLY);
                dup2(null, 1);
                execl(gcs_copy, gcs_copy, "-h", (char *)NULL);
                _exit(127);
            }
            int status = 0;
            if (pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                WEXITSTATUS(status) == 0)
                return 0;
        }
        usleep(500 * 1000);
    }
    fprintf(stderr, "cannot copy a working %s\n", src);
    unlink(gcs_copy);
    rmdir(gcs_copy_dir);
    return -1;
}

/* Starts gcs with `-bridge bridge` plus extra flags; stdin/stdout from in/out when >= 0. */
static pid_t start_gcs(struct gcs_harness *f, const char *bridge, const char *extra, int in,
                       int out)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = gcs_path();
    argv[n++] = "-v4";
    argv[n++] = "-log-format=json";
    argv[n++] = "-loglevel";
    argv[n++] = "debug";
    argv[n++] = "-logfile";
    argv[n++] = f->log;
    /* The host's own kernel log is none of these tests' business. */
    argv[n++] = "-kmsgLogLevel=0";
    argv[n++] = "-bridge";
    argv[n++] = bridge;
    /* `extra` is one flag or several separated by spaces (no quoting). */
    cleanup_free char *copy = extra ? strdup(extra) : NULL;
    char *save = NULL;
    for (char *t = copy ? strtok_r(copy, " ", &save) : NULL; t && n < 30;
         t = strtok_r(NULL, " ", &save))
        argv[n++] = t;
    argv[n] = NULL;
    pid_t pid = gh_spawn(argv, in, out);
    assert_true(pid >= 0);
    return pid;
}

static int setup_dir(struct gcs_harness **ret)
{
    struct gcs_harness *f = calloc(1, sizeof(*f));
    *ret = f;
    if (!f || gh_init(f, "lcow-bridge") < 0)
        return -1;
    return 0;
}

static int teardown(void **state);

/* Dial mode: the host listens, gcs dials. Not negotiated yet. A failed setup cleans up itself
 * (cmocka runs no teardown after it). */
static int setup(void **state)
{
    struct gcs_harness *f;
    if (setup_dir(&f) < 0)
        return -1;
    *state = f;
    cleanup_error struct lcow_error *err = NULL;
    if (host_bridge_listen(f->addr, &f->b, &err) < 0)
        goto fail;
    f->gcs = start_gcs(f, f->addr, NULL, -1, -1);
    if (host_bridge_accept(f->b, T_MS, &err) < 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "setup: %s\n", lcow_error_message(err));
    teardown(state);
    return -1;
}

static int setup_negotiated(void **state)
{
    if (setup(state) < 0)
        return -1;
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    if (host_bridge_negotiate(f->b, T_MS, &err) < 0) {
        fprintf(stderr, "negotiate: %s\n", lcow_error_message(err));
        teardown(state);
        return -1;
    }
    return 0;
}

/* Every JSON log line must be one object with logrus's fields (§1.7). */
static void check_log(const struct gcs_harness *f)
{
    cleanup_free char *text = NULL;
    if (lcow_read_file(f->log, 16 << 20, &text, NULL, NULL) < 0)
        return;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cleanup_json struct json_object *o = NULL;
        if (lcow_json_parse(line, strlen(line), "log line", &o, NULL) < 0)
            fail_msg("log line is not JSON: %s", line);
        assert_non_null(lcow_json_field(o, "time"));
        assert_non_null(lcow_json_field(o, "level"));
        assert_non_null(lcow_json_field(o, "msg"));
    }
}

static int teardown(void **state)
{
    struct gcs_harness *f = *state;
    gh_stop(f);
    check_log(f);
    gh_remove_tree(f->dir);
    free(f);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------------------- */

static int32_t call_result(struct gcs_harness *f, uint32_t type, const char *payload,
                           struct host_message *ret)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    if (host_bridge_call(f->b, type, payload, T_MS, &m, &err) < 0)
        fail_msg("call 0x%08x: %s", type, lcow_error_message(err));
    int32_t result = 0;
    assert_int_equal(host_message_result(&m, &result, NULL, &err), 0);
    if (ret)
        *ret = m;
    else
        host_message_done(&m);
    return result;
}

/* Reads fd to EOF (bounded). */
static char *read_all(int fd)
{
    char *buf = calloc(1, 65536);
    size_t len = 0;
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, T_MS) <= 0)
            fail_msg("timed out reading a stream");
        ssize_t n = read(fd, buf + len, 65535 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    return buf;
}

static uint32_t exec_proc(struct gcs_harness *f, const struct host_exec *x, struct host_process *p)
{
    cleanup_error struct lcow_error *err = NULL;
    if (host_bridge_exec(f->b, NULL, x, T_MS, p, NULL, &err) < 0)
        fail_msg("exec: %s", lcow_error_message(err));
    return p->pid;
}

static uint32_t wait_exit(struct gcs_harness *f, uint32_t pid)
{
    cleanup_error struct lcow_error *err = NULL;
    uint32_t code = 0;
    if (host_bridge_wait_process(f->b, NULL, pid, GCS_INFINITE_TIMEOUT, T_MS, &code, NULL, &err) <
        0)
        fail_msg("wait %u: %s", pid, lcow_error_message(err));
    return code;
}

static int32_t wait_result(struct gcs_harness *f, uint32_t pid, uint32_t timeout_ms)
{
    cleanup_error struct lcow_error *err = NULL;
    uint32_t code = 0;
    int32_t result = 0;
    int r = host_bridge_wait_process(f->b, NULL, pid, timeout_ms, T_MS, &code, &result, &err);
    assert_true(r == 0 || r == -EREMOTEIO);
    return result;
}

static int32_t signal_proc(struct gcs_harness *f, uint32_t pid, int sig)
{
    cleanup_error struct lcow_error *err = NULL;
    int32_t result = 0;
    int r = host_bridge_signal(f->b, NULL, pid, sig, T_MS, &result, &err);
    assert_true(r == 0 || r == -EREMOTEIO);
    return result;
}

/* External processes cannot be signalled through the bridge (§4.6: the UVM id answers 0xC037010E),
 * so the tests end them from inside, with kill run as another external process. */
static void kill_in_uvm(struct gcs_harness *f, uint32_t pid, int sig)
{
    char s[16], p[16];
    snprintf(s, sizeof(s), "-%d", sig);
    snprintf(p, sizeof(p), "%u", pid);
    const char *argv[] = {"kill", s, p, NULL};
    struct host_exec x = {.argv = argv};
    struct host_process kp;
    cleanup_error struct lcow_error *err = NULL;
    if (host_bridge_exec(f->b, NULL, &x, T_MS, &kp, NULL, &err) < 0)
        fail_msg("exec kill: %s", lcow_error_message(err));
    uint32_t code = 0;
    if (host_bridge_wait_process(f->b, NULL, kp.pid, GCS_INFINITE_TIMEOUT, T_MS, &code, NULL,
                                 &err) < 0)
        fail_msg("wait kill: %s", lcow_error_message(err));
    assert_int_equal(code, 0);
    host_process_close(&kp);
}

/* Sends a raw ExecuteProcess with the given ProcessParameters text (already JSON-escaped). */
static int32_t exec_raw(struct gcs_harness *f, const char *params_escaped)
{
    cleanup_free char *payload = NULL;
    assert_true(asprintf(&payload,
                         "{\"ContainerId\":\"%s\",\"ActivityId\":\"%s\",\"Settings\":"
                         "{\"ProcessParameters\":\"%s\"}}",
                         UVM, GCS_ZERO_GUID, params_escaped) > 0);
    return call_result(f, GCS_MSG_EXECUTE_PROCESS, payload, NULL);
}

static void assert_still_serving(struct gcs_harness *f)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    assert_int_equal(host_bridge_simple(f->b, GCS_MSG_DUMP_STACKS, NULL, T_MS, &m, &err), 0);
    assert_non_null(strstr(m.payload, "gcs pid"));
    host_message_done(&m);
}

/* ---- negotiation and E_NOTIMPL ------------------------------------------------------------ */

static void test_negotiate(void **state)
{
    struct gcs_harness *f = *state;
    struct host_message m = {0};
    const char *q = "{\"ContainerId\":\"\",\"ActivityId\":\"" GCS_ZERO_GUID
                    "\",\"MinimumVersion\":4,\"MaximumVersion\":4}\n";
    assert_int_equal(call_result(f, GCS_MSG_NEGOTIATE_PROTOCOL, q, &m), 0);
    assert_int_equal(m.type, 0x20100b01);
    assert_non_null(strstr(m.payload, "\"Version\":4"));
    assert_non_null(strstr(m.payload, "\"RuntimeOsType\":\"Linux\""));
    assert_non_null(strstr(m.payload, "\"SupportedSchemaVersions\":[{\"Major\":2,\"Minor\":1}]"));
    assert_non_null(strstr(m.payload, "\"NamespaceAddRequestSupported\":true"));
    host_message_done(&m);
    /* A second Negotiate on the same connection has no handler. */
    assert_int_equal(call_result(f, GCS_MSG_NEGOTIATE_PROTOCOL, q, NULL), GCS_E_NOTIMPL);
}

static void test_negotiate_bad_range(void **state)
{
    struct gcs_harness *f = *state;
    const char *q = "{\"ContainerId\":\"\",\"MinimumVersion\":5,\"MaximumVersion\":9}";
    assert_int_equal(call_result(f, GCS_MSG_NEGOTIATE_PROTOCOL, q, NULL),
                     GCS_HCS_E_UNSUPPORTED_PROTOCOL_VERSION);
    /* Still un-negotiated: a good range now works. */
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
}

static void test_unnegotiated(void **state)
{
    struct gcs_harness *f = *state;
    struct host_message m = {0};
    const char *start = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    assert_int_equal(call_result(f, GCS_MSG_START, start, &m), GCS_E_NOTIMPL);
    assert_int_equal(m.type, 0x20100201);
    assert_non_null(strstr(m.payload, "function not supported"));
    host_message_done(&m);
}

static void test_unknown_type(void **state)
{
    struct gcs_harness *f = *state;
    const char *b = "{\"ContainerId\":\"" UVM "\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    struct host_message m = {0};
    assert_int_equal(call_result(f, GCS_MSG_UPDATE_CONTAINER, b, &m), GCS_E_NOTIMPL);
    assert_int_equal(m.type, 0x20100e01);
    host_message_done(&m);
    assert_int_equal(call_result(f, GCS_MSG_MODIFY_SERVICE_SETTINGS, b, &m), GCS_E_NOTIMPL);
    assert_int_equal(m.type, 0x20200101);
    host_message_done(&m);
    assert_int_equal(call_result(f, 0x1abcde01, b, NULL), GCS_E_NOTIMPL);
    assert_still_serving(f);
}

static void test_dump_stacks_and_start(void **state)
{
    struct gcs_harness *f = *state;
    assert_still_serving(f);
    const char *start = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    assert_int_equal(call_result(f, GCS_MSG_START, start, NULL), 0);
    /* Container requests for an unknown id. */
    assert_int_equal(call_result(f, GCS_MSG_DELETE_CONTAINER_STATE, start, NULL),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(call_result(f, GCS_MSG_SHUTDOWN_GRACEFUL, start, NULL),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    const char *props = "{\"ContainerId\":\"" UVM "\",\"Query\":\"{\\\"PropertyTypes\\\":[]}\"}";
    assert_int_equal(call_result(f, GCS_MSG_GET_PROPERTIES, props, NULL), GCS_E_FAIL);
}

/* ---- external processes ------------------------------------------------------------------- */

static void test_echo(void **state)
{
    struct gcs_harness *f = *state;
    const char *argv[] = {"/bin/echo", "hi", NULL};
    struct host_exec x = {.argv = argv, .std_out = true};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_string_equal(out, "hi\n");
    assert_int_equal(wait_exit(f, pid), 0);
    /* The exit code was consumed by the first wait (§4.5). */
    assert_int_equal(wait_result(f, pid, 0), GCS_E_NOT_FOUND);
    host_process_close(&p);
}

static void test_cat_stdin_half_close(void **state)
{
    struct gcs_harness *f = *state;
    const char *argv[] = {"cat", NULL};
    struct host_exec x = {.argv = argv, .std_in = true, .std_out = true, .std_err = true};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    const char msg[] = "hello through the bridge\n";
    assert_int_equal(lcow_write_all(p.fd[0], msg, sizeof(msg) - 1), 0);
    shutdown(p.fd[0], SHUT_WR); /* the host's end of input */
    cleanup_free char *out = read_all(p.fd[1]);
    assert_string_equal(out, msg);
    cleanup_free char *errs = read_all(p.fd[2]);
    assert_string_equal(errs, "");
    assert_int_equal(wait_exit(f, pid), 0);
    host_process_close(&p);
}

static void test_env_cwd_cmdline(void **state)
{
    struct gcs_harness *f = *state;
    /* The complete environment: nothing inherited from gcs. */
    const char *argv[] = {"/usr/bin/env", NULL};
    const char *env[] = {"A=b c", "PATH=/bin", NULL};
    struct host_exec x = {.argv = argv, .env = env, .std_out = true};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_string_equal(out, "A=b c\nPATH=/bin\n");
    assert_int_equal(wait_exit(f, pid), 0);
    host_process_close(&p);

    struct host_exec y = {.command_line = "sh -c 'pwd; exit 7'", .cwd = "/tmp", .std_out = true};
    pid = exec_proc(f, &y, &p);
    cleanup_free char *out2 = read_all(p.fd[1]);
    assert_string_equal(out2, "/tmp\n");
    assert_int_equal(wait_exit(f, pid), 7);
    host_process_close(&p);
}

static void test_exec_errors(void **state)
{
    struct gcs_harness *f = *state;
    /* Empty argv (CommandArgs and CommandLine both empty) is an error, not a crash. */
    assert_int_equal(exec_raw(f, "{\\\"CommandLine\\\":\\\"\\\"}"), GCS_E_FAIL);
    assert_int_equal(exec_raw(f, "{\\\"CommandArgs\\\":[\\\"/nonexistent/x\\\"]}"), GCS_E_FAIL);
    assert_int_equal(exec_raw(f, "{\\\"CommandArgs\\\":[\\\"no-such-program-xyz\\\"]}"),
                     GCS_E_FAIL);
    assert_int_equal(
        exec_raw(
            f,
            "{\\\"CommandArgs\\\":[\\\"true\\\"],\\\"WorkingDirectory\\\":\\\"/nonexistent\\\"}"),
        GCS_E_FAIL);
    /* stdout requested, but the host gave no port. */
    assert_int_equal(
        exec_raw(f, "{\\\"CommandArgs\\\":[\\\"true\\\"],\\\"CreateStdOutPipe\\\":true}"),
        GCS_E_FAIL);
    /* A container id that does not exist. */
    const char *c = "{\"ContainerId\":\"c1\",\"Settings\":{\"ProcessParameters\":\"{}\"}}";
    assert_int_equal(call_result(f, GCS_MSG_EXECUTE_PROCESS, c, NULL), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_still_serving(f);
}

static void test_pty(void **state)
{
    struct gcs_harness *f = *state;
    const char *argv[] = {"/bin/sh", "-c", "tty; stty size; read l; echo got $l", NULL};
    struct host_exec x = {
        .argv = argv, .tty = true, .std_in = true, .std_out = true, .rows = 30, .cols = 100};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    assert_int_equal(lcow_write_all(p.fd[0], "abc\n", 4), 0);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_non_null(strstr(out, "/dev/pts/"));
    assert_non_null(strstr(out, "30 100"));
    assert_non_null(strstr(out, "got abc"));
    assert_int_equal(wait_exit(f, pid), 0);
    host_process_close(&p);
}

/* §4.6/§4.7: SignalProcess and ResizeConsole look the container up first, and the UVM id is not
 * one: 0xC037010E for a live external process, a gone one and an unknown pid alike; the
 * process is left untouched. */
static void test_uvm_id_unreachable(void **state)
{
    struct gcs_harness *f = *state;
    const char *argv[] = {"/bin/sh", "-c", "read l; stty size", NULL};
    struct host_exec x = {
        .argv = argv, .tty = true, .std_in = true, .std_out = true, .rows = 30, .cols = 100};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    char q[256];
    snprintf(q, sizeof(q), "{\"ContainerId\":\"%s\",\"ProcessId\":%u,\"Height\":40,\"Width\":120}",
             UVM, pid);
    assert_int_equal(call_result(f, GCS_MSG_RESIZE_CONSOLE, q, NULL), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(signal_proc(f, pid, 9), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(signal_proc(f, pid, 0), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(signal_proc(f, 999999, 9), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(lcow_write_all(p.fd[0], "go\n", 3), 0);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_non_null(strstr(out, "30 100")); /* neither resized nor killed */
    assert_int_equal(wait_exit(f, pid), 0);
    assert_int_equal(call_result(f, GCS_MSG_RESIZE_CONSOLE, q, NULL), GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(signal_proc(f, pid, 9), GCS_HCS_E_SYSTEM_NOT_FOUND);
    host_process_close(&p);
}

/* A WaitForProcess stays outstanding while other requests complete (§2.8). */
static void test_wait_concurrent(void **state)
{
    struct gcs_harness *f = *state;
    const char *sl[] = {"sleep", "60", NULL};
    struct host_exec x = {.argv = sl};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    char q[256];
    snprintf(q, sizeof(q), "{\"ContainerId\":\"%s\",\"ProcessId\":%u,\"TimeoutInMs\":4294967295}",
             UVM, pid);
    uint64_t wait_id[2];
    cleanup_error struct lcow_error *err = NULL;
    /* Two waiters on the same pid: both get the code. */
    assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, q, &wait_id[0], &err), 0);
    assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, q, &wait_id[1], &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_still_serving(f);
        const char *e[] = {"/bin/echo", "x", NULL};
        struct host_exec y = {.argv = e, .std_out = true};
        struct host_process p2;
        uint32_t pid2 = exec_proc(f, &y, &p2);
        cleanup_free char *out = read_all(p2.fd[1]);
        assert_string_equal(out, "x\n");
        assert_int_equal(wait_exit(f, pid2), 0);
        host_process_close(&p2);
    }
    kill_in_uvm(f, pid, 15);
    for (int i = 0; i < 2; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(f->b, wait_id[i], T_MS, &m, &err), 0);
        assert_int_equal(m.type, 0x20100601);
        assert_non_null(strstr(m.payload, "\"ExitCode\":4294967295"));
        host_message_done(&m);
    }
    /* Waited once: the exit code is gone, another wait is "not found". */
    assert_int_equal(wait_result(f, pid, 100), GCS_E_NOT_FOUND);
}

static void test_wait_timeout(void **state)
{
    struct gcs_harness *f = *state;
    const char *sl[] = {"sleep", "60", NULL};
    struct host_exec x = {.argv = sl};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    struct host_message m = {0};
    char q[256];
    snprintf(q, sizeof(q),
             "{\"ContainerId\":\"%s\",\"ActivityId\":\"%s\",\"ProcessId\":%u,\"TimeoutInMs\":150}",
             UVM, GCS_ZERO_GUID, pid);
    uint64_t t0 = lcow_now_ns();
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS, q, &m), GCS_HCS_E_CONNECTION_TIMEOUT);
    assert_true(lcow_now_ns() - t0 >= 140ull * 1000000);
    assert_non_null(strstr(m.payload, "\"Result\":-1070137079"));
    host_message_done(&m);
    /* The timed-out waiter is withdrawn; the process is still there. */
    kill_in_uvm(f, pid, 9);
    assert_int_equal(wait_exit(f, pid), 0xFFFFFFFFu);
    /* Unknown pid. */
    assert_int_equal(wait_result(f, 999999, 100), GCS_E_NOT_FOUND);
}

/* Outstanding waits on one process are bounded (256); the rest are refused, the parked ones
 * all get the exit code. */
static void test_wait_cap(void **state)
{
    struct gcs_harness *f = *state;
    const char *sl[] = {"sleep", "60", NULL};
    struct host_exec x = {.argv = sl};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    char q[160];
    snprintf(q, sizeof(q), "{\"ContainerId\":\"%s\",\"ProcessId\":%u,\"TimeoutInMs\":%u}", UVM, pid,
             GCS_INFINITE_TIMEOUT);
    enum { N = 256 };
    uint64_t ids[N];
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < N; i++)
        assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, q, &ids[i], &err), 0);
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS, q, NULL), GCS_E_FAIL);
    kill_in_uvm(f, pid, 9);
    for (int i = 0; i < N; i++) {
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(f->b, ids[i], T_MS, &m, &err), 0);
        assert_non_null(strstr(m.payload, "\"ExitCode\":4294967295"));
        host_message_done(&m);
    }
}

/* ---- connections ---------------------------------------------------------------------------- */

static void test_redial_renegotiate(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < 2; i++) {
        host_bridge_drop(f->b);
        assert_int_equal(host_bridge_accept(f->b, T_MS, &err), 0);
        /* A new connection starts un-negotiated. */
        const char *start = "{\"ContainerId\":\"c1\"}";
        assert_int_equal(call_result(f, GCS_MSG_START, start, NULL), GCS_E_NOTIMPL);
        assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
        assert_int_equal(call_result(f, GCS_MSG_START, start, NULL), 0);
    }
}

static void test_use_inouterr(void **state)
{
    struct gcs_harness *f;
    assert_int_equal(setup_dir(&f), 0);
    *state = f;
    int sp[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
    /* stdio streams still dial the -bridge base. */
    f->gcs = start_gcs(f, f->addr, "-use-inouterr", sp[1], sp[1]);
    close(sp[1]);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_adopt(f->addr, sp[0], &f->b, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    const char *argv[] = {"/bin/echo", "inouterr", NULL};
    struct host_exec x = {.argv = argv, .std_out = true};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_string_equal(out, "inouterr\n");
    assert_int_equal(wait_exit(f, pid), 0);
    host_process_close(&p);
    /* EOF on stdin ends gcs cleanly. */
    host_bridge_drop(f->b);
    int status = 0;
    assert_int_equal(waitpid(f->gcs, &status, 0), f->gcs);
    f->gcs = -1;
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_listen_mode(void **state)
{
    struct gcs_harness *f;
    assert_int_equal(setup_dir(&f), 0);
    *state = f;
    char listen_addr[160];
    snprintf(listen_addr, sizeof(listen_addr), "listen:%s", f->addr);
    f->gcs = start_gcs(f, listen_addr, NULL, -1, -1);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_connect(f->addr, T_MS, &f->b, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    const char *argv[] = {"/bin/echo", "listen", NULL};
    struct host_exec x = {.argv = argv, .std_out = true};
    struct host_process p;
    uint32_t pid = exec_proc(f, &x, &p);
    cleanup_free char *out = read_all(p.fd[1]);
    assert_string_equal(out, "listen\n");
    assert_int_equal(wait_exit(f, pid), 0);
    host_process_close(&p);
    /* The host comes back: gcs accepts again, un-negotiated. */
    host_bridge_free(f->b);
    f->b = NULL;
    assert_int_equal(host_bridge_connect(f->addr, T_MS, &f->b, &err), 0);
    assert_int_equal(call_result(f, GCS_MSG_START, "{\"ContainerId\":\"c\"}", NULL), GCS_E_NOTIMPL);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
}

/* AF_VSOCK forms: this machine has no vsock peer (test-environment.md §1), so gcs must keep
 * redialling the default address, and bind the listen form, without exiting. */
static void test_vsock_forms(void **state)
{
    struct gcs_harness *f;
    assert_int_equal(setup_dir(&f), 0);
    *state = f;
    const char *forms[] = {"vsock:2:1073741824", "listen:vsock:0x4000f00d"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(forms); i++) {
        pid_t pid = start_gcs(f, forms[i], NULL, -1, -1);
        usleep(400 * 1000);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, WNOHANG), 0); /* still running */
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    /* A malformed address is a clear startup error. */
    pid_t pid = start_gcs(f, "vsock:two", NULL, -1, -1);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0);
}

static void test_shutdown_uvm(void **state)
{
    struct gcs_harness *f = *state;
    const char *q = "{\"ContainerId\":\"" UVM "\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    assert_int_equal(call_result(f, GCS_MSG_SHUTDOWN_FORCED, q, NULL), 0);
    int status = 0;
    assert_int_equal(waitpid(f->gcs, &status, 0), f->gcs);
    f->gcs = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- bad input (§6) ------------------------------------------------------------------------- */

/* After a frame-level violation gcs drops the link and redials; the new link works. */
static void expect_drop_and_redial(struct gcs_harness *f)
{
    cleanup_error struct lcow_error *err = NULL;
    struct host_message m = {0};
    int r = host_bridge_recv(f->b, 12345, T_MS, &m, &err);
    assert_int_equal(r, -ECONNRESET);
    lcow_error_release(&err);
    assert_int_equal(host_bridge_accept(f->b, T_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    assert_still_serving(f);
}

static void raw_header(uint8_t h[16], uint32_t type, uint32_t size, uint64_t id)
{
    struct gcs_header hd = {.type = type, .size = size, .id = id};
    gcs_header_encode(&hd, h);
}

static void test_bad_frames(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    uint8_t h[16];
    /* Size smaller than the header. */
    raw_header(h, GCS_MSG_DUMP_STACKS, 8, 1);
    assert_int_equal(host_bridge_send_raw(f->b, h, sizeof(h), &err), 0);
    expect_drop_and_redial(f);
    /* Size over the read cap. */
    raw_header(h, GCS_MSG_DUMP_STACKS, 0x7fffffff, 1);
    assert_int_equal(host_bridge_send_raw(f->b, h, sizeof(h), &err), 0);
    expect_drop_and_redial(f);
    /* Truncated body, then EOF from the host. */
    raw_header(h, GCS_MSG_DUMP_STACKS, 100, 1);
    assert_int_equal(host_bridge_send_raw(f->b, h, sizeof(h), &err), 0);
    assert_int_equal(host_bridge_send_raw(f->b, "{\"Contai", 8, &err), 0);
    host_bridge_drop(f->b);
    assert_int_equal(host_bridge_accept(f->b, T_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    assert_still_serving(f);
    /* Several frames in one write, split at odd places, still work. */
    cleanup_free uint8_t *fr = NULL;
    size_t len = 0;
    const char *b = "{\"ContainerId\":\"" UVM "\"}";
    assert_int_equal(
        gcs_frame_build(GCS_MSG_START, 77, b, strlen(b), GCS_MAX_READ_MESSAGE, &fr, &len, &err), 0);
    assert_int_equal(host_bridge_track(f->b, 77, &err), 0);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(host_bridge_send_raw(f->b, fr + i, 1, &err), 0);
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(f->b, 77, T_MS, &m, &err), 0);
    host_message_done(&m);
}

static void test_bad_json(void **state)
{
    struct gcs_harness *f = *state;
    /* Invalid JSON. */
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS, "{not json", NULL),
                     GCS_HCS_E_INVALID_JSON);
    assert_int_equal(call_result(f, GCS_MSG_START, "", NULL), GCS_HCS_E_INVALID_JSON);
    /* Wrong types. */
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS,
                                 "{\"ContainerId\":\"" UVM "\",\"ProcessId\":\"12\"}", NULL),
                     GCS_HCS_E_INVALID_JSON);
    assert_int_equal(call_result(f, GCS_MSG_START, "{\"ContainerId\":5}", NULL),
                     GCS_HCS_E_INVALID_JSON);
    /* Integer overflow of a u32 field. */
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS,
                                 "{\"ContainerId\":\"" UVM "\",\"ProcessId\":1099511627776}", NULL),
                     GCS_HCS_E_INVALID_JSON);
    /* A nested string that is not JSON. */
    assert_int_equal(exec_raw(f, "not json"), GCS_HCS_E_INVALID_JSON);
    assert_int_equal(
        call_result(f, GCS_MSG_GET_PROPERTIES, "{\"ContainerId\":\"c\",\"Query\":\"{{\"}", NULL),
        GCS_HCS_E_INVALID_JSON);
    assert_int_equal(call_result(f, GCS_MSG_CREATE,
                                 "{\"ContainerId\":\"c\",\"ContainerConfig\":\"nope\"}", NULL),
                     GCS_HCS_E_INVALID_JSON);
    /* ModifySettings: unknown ResourceType, a type without handler, a container target. */
    assert_int_equal(call_result(f, GCS_MSG_MODIFY_SETTINGS,
                                 "{\"ContainerId\":\"" UVM "\",\"Request\":{\"ResourceType\":"
                                 "\"Bogus\",\"RequestType\":\"Add\",\"Settings\":{}}}",
                                 NULL),
                     GCS_E_FAIL);
    assert_int_equal(call_result(f, GCS_MSG_MODIFY_SETTINGS,
                                 "{\"ContainerId\":\"" UVM "\",\"Request\":{\"ResourceType\":"
                                 "\"SecurityPolicy\",\"Settings\":{}}}",
                                 NULL),
                     GCS_E_FAIL);
    /* The same through the client's typed encoder. */
    struct gcs_modify_request mr = {
        .resource_type = GCS_RESOURCE_SECURITY_POLICY,
        .request_type = GCS_REQUEST_ADD,
        .request_type_name = (char *)"Add",
        .has_settings = true,
        .settings.security_policy = {.enforcer_type = (char *)"",
                                     .encoded_security_policy = (char *)"",
                                     .encoded_uvm_reference = (char *)"",
                                     .encoded_uvm_hash_envelope_reference = (char *)""},
    };
    int32_t res = 0;
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(host_bridge_modify(f->b, NULL, &mr, T_MS, &res, &err), -EREMOTEIO);
    assert_int_equal(res, GCS_E_FAIL);
    assert_int_equal(call_result(f, GCS_MSG_MODIFY_SETTINGS,
                                 "{\"ContainerId\":\"c9\",\"Request\":{\"ResourceType\":"
                                 "\"ContainerConstraints\",\"Settings\":{}}}",
                                 NULL),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(call_result(f, GCS_MSG_MODIFY_SETTINGS,
                                 "{\"ContainerId\":\"" UVM "\",\"Request\":{\"ResourceType\":"
                                 "\"MappedVirtualDisk\",\"Settings\":{\"Lun\":\"x\"}}}",
                                 NULL),
                     GCS_HCS_E_INVALID_JSON);
    assert_still_serving(f);
}

/* Huge field values: every answer still fits the host's 64 KiB frame limit (the client rejects
 * larger frames), and gcs keeps serving. */
static void test_huge_fields(void **state)
{
    struct gcs_harness *f = *state;
    size_t n = 1 << 20;
    cleanup_free char *big = malloc(n + 1);
    memset(big, 'a', n);
    big[n] = '\0';
    cleanup_free char *q = NULL;
    assert_true(asprintf(&q, "{\"ContainerId\":\"%s\",\"ActivityId\":\"%s\"}", big, big) > 0);
    assert_int_equal(call_result(f, GCS_MSG_DELETE_CONTAINER_STATE, q, NULL),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_int_equal(call_result(f, GCS_MSG_START, q, NULL), 0);
    assert_int_equal(call_result(f, GCS_MSG_DUMP_STACKS, q, NULL), 0);
    free(q);
    q = NULL;
    assert_true(asprintf(&q, "{\"ContainerId\":\"" UVM "\",\"ProcessId\":1,\"ActivityId\":\"%s\"}",
                         big) > 0);
    assert_int_equal(call_result(f, GCS_MSG_WAIT_FOR_PROCESS, q, NULL), GCS_E_NOT_FOUND);
    free(q);
    q = NULL;
    /* An argv too large for execve: a clean error (E2BIG), no process left behind. */
    size_t cap = 6u << 20, pos = 0;
    cleanup_free char *params = malloc(cap);
    pos += (size_t)snprintf(params, cap, "{\\\"CommandArgs\\\":[\\\"true\\\"");
    while (pos + 64 < (5u << 20))
        pos += (size_t)snprintf(params + pos, cap - pos, ",\\\"%s\\\"", "0123456789abcdef");
    snprintf(params + pos, cap - pos, "]}");
    cleanup_free char *payload = NULL;
    assert_true(asprintf(&payload,
                         "{\"ContainerId\":\"%s\",\"Settings\":{\"ProcessParameters\":\"%s\"}}",
                         UVM, params) > 0);
    struct host_message m = {0};
    assert_int_equal(call_result(f, GCS_MSG_EXECUTE_PROCESS, payload, &m), GCS_E_FAIL);
    assert_non_null(strstr(m.payload, "Argument list too long"));
    host_message_done(&m);
    /* A 4 MiB message (under the read cap) is read and answered. */
    cleanup_free char *big4 = malloc((4u << 20) + 1);
    memset(big4, 'b', 4u << 20);
    big4[4u << 20] = '\0';
    assert_true(asprintf(&q, "{\"ContainerId\":\"c\",\"Pad\":\"%s\"}", big4) > 0);
    assert_int_equal(call_result(f, GCS_MSG_DELETE_CONTAINER_STATE, q, NULL),
                     GCS_HCS_E_SYSTEM_NOT_FOUND);
    assert_still_serving(f);
}

/* Many live processes, each with a WaitForProcess outstanding, exiting at once: every waiter
 * gets its own process's code (one reaper, one table). */
static void test_many_processes(void **state)
{
    struct gcs_harness *f = *state;
    enum { N = 24 };
    struct host_process p[N];
    uint64_t wait_id[N];
    cleanup_error struct lcow_error *err = NULL;
    for (int i = 0; i < N; i++) {
        char script[64];
        snprintf(script, sizeof(script), "read x; echo $x %d; exit %d", i, i);
        const char *argv[] = {"/bin/sh", "-c", script, NULL};
        struct host_exec x = {.argv = argv, .std_in = true, .std_out = true};
        exec_proc(f, &x, &p[i]);
        char q[160];
        snprintf(q, sizeof(q), "{\"ContainerId\":\"%s\",\"ProcessId\":%u,\"TimeoutInMs\":%u}", UVM,
                 p[i].pid, GCS_INFINITE_TIMEOUT);
        assert_int_equal(host_bridge_send(f->b, GCS_MSG_WAIT_FOR_PROCESS, q, &wait_id[i], &err), 0);
    }
    /* Release them all, then collect in reverse order. */
    for (int i = 0; i < N; i++) {
        assert_int_equal(lcow_write_all(p[i].fd[0], "go\n", 3), 0);
        shutdown(p[i].fd[0], SHUT_WR);
    }
    for (int i = N - 1; i >= 0; i--) {
        cleanup_free char *out = read_all(p[i].fd[1]);
        char want[32];
        snprintf(want, sizeof(want), "go %d\n", i);
        assert_string_equal(out, want);
        struct host_message m = {0};
        assert_int_equal(host_bridge_recv(f->b, wait_id[i], T_MS, &m, &err), 0);
        char code[32];
        snprintf(code, sizeof(code), "\"ExitCode\":%d", i);
        assert_non_null(strstr(m.payload, code));
        host_message_done(&m);
        host_process_close(&p[i]);
    }
}

/* -kmsgLogLevel: kernel records at or below the level reach gcs's log. /dev/kmsg is stood in
 * for by a FIFO under -dev-root (writing to the real one would touch this machine's log). */
static void test_kmsg_forwarding(void **state)
{
    struct gcs_harness *f;
    assert_int_equal(setup_dir(&f), 0);
    *state = f;
    char dev[96], fifo[128], extra[160];
    snprintf(dev, sizeof(dev), "%s/dev", f->dir);
    snprintf(fifo, sizeof(fifo), "%s/kmsg", dev);
    assert_int_equal(mkdir(dev, 0700), 0);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    int w = open(fifo, O_RDWR | O_CLOEXEC); /* a writer for the whole test */
    assert_true(w >= 0);
    snprintf(extra, sizeof(extra), "-dev-root %s -kmsgLogLevel 4", dev);
    f->gcs = start_gcs(f, f->addr, extra, -1, -1);
    const char recs[] = "3,101,5000,-;disk on fire\n SUBSYSTEM=block\n"
                        "6,102,6000,-;boring info\n"
                        "12,103,7000,c;facility bits ignored\n";
    assert_int_equal(lcow_write_all(w, recs, sizeof(recs) - 1), 0);
    bool found = false;
    for (int i = 0; i < 100 && !found; i++) {
        usleep(20 * 1000);
        cleanup_free char *log = NULL;
        if (lcow_read_file(f->log, 1 << 20, &log, NULL, NULL) == 0 &&
            strstr(log, "facility bits ignored")) {
            found = true;
            assert_non_null(strstr(log, "\"msg\":\"disk on fire\""));
            assert_non_null(strstr(log, "\"priority\":\"3\""));
            assert_null(strstr(log, "boring info"));
            assert_null(strstr(log, "SUBSYSTEM"));
        }
    }
    assert_true(found);
    unlink(fifo);
    rmdir(dev);
    close(w);
}

static long rss_kib(pid_t pid)
{
    char path[64];
    cleanup_free char *text = NULL;
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (lcow_read_file(path, 1 << 16, &text, NULL, NULL) < 0)
        return -1;
    const char *p = strstr(text, "VmRSS:");
    return p ? strtol(p + 6, NULL, 10) : -1;
}

/* A long operation on a worker (a SCSI attach waiting for a device that never appears, in an
 * empty fake sysfs) does not hold up other requests; it fails after -device-timeout-ms. */
static void test_long_operation_concurrent(void **state)
{
    struct gcs_harness *f;
    assert_int_equal(setup_dir(&f), 0);
    *state = f;
    char sys[96], vmbus[128], dev[96], extra[320];
    snprintf(sys, sizeof(sys), "%s/sys", f->dir);
    snprintf(vmbus, sizeof(vmbus), "%s/sys/bus/vmbus", f->dir);
    snprintf(dev, sizeof(dev), "%s/dev", f->dir);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(lcow_mkdir_p(vmbus, 0755, &err), 0);
    assert_int_equal(mkdir(dev, 0755), 0);
    snprintf(extra, sizeof(extra), "-sysfs-root %s -dev-root %s -device-timeout-ms 1500", sys, dev);
    assert_int_equal(host_bridge_listen(f->addr, &f->b, &err), 0);
    f->gcs = start_gcs(f, f->addr, extra, -1, -1);
    assert_int_equal(host_bridge_accept(f->b, T_MS, &err), 0);
    assert_int_equal(host_bridge_negotiate(f->b, T_MS, &err), 0);
    /* No MountPath: attach only, so nothing is ever mounted or created. */
    const char *q = "{\"ContainerId\":\"" UVM "\",\"Request\":{\"ResourceType\":"
                    "\"MappedVirtualDisk\",\"RequestType\":\"Add\",\"Settings\":{\"Lun\":3}}}";
    uint64_t id;
    uint64_t t0 = lcow_now_ns();
    assert_int_equal(host_bridge_send(f->b, GCS_MSG_MODIFY_SETTINGS, q, &id, &err), 0);
    for (int i = 0; i < 3; i++) {
        assert_still_serving(f);
        const char *e[] = {"/bin/echo", "meanwhile", NULL};
        struct host_exec x = {.argv = e, .std_out = true};
        struct host_process p;
        uint32_t pid = exec_proc(f, &x, &p);
        cleanup_free char *out = read_all(p.fd[1]);
        assert_string_equal(out, "meanwhile\n");
        assert_int_equal(wait_exit(f, pid), 0);
        host_process_close(&p);
    }
    uint64_t others = lcow_now_ns() - t0;
    struct host_message m = {0};
    assert_int_equal(host_bridge_recv(f->b, id, T_MS, &m, &err), 0);
    uint64_t attach = lcow_now_ns() - t0;
    int32_t result = 0;
    assert_int_equal(host_message_result(&m, &result, NULL, &err), 0);
    host_message_done(&m);
    printf("long operation: other requests done after %llu ms, the attach failed after %llu ms\n",
           (unsigned long long)(others / 1000000), (unsigned long long)(attach / 1000000));
    assert_int_equal(result, GCS_E_FAIL);
    assert_true(attach >= 1400ull * 1000000);
    assert_true(others < attach);
}

static int count_fds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    cleanup_dir DIR *d = opendir(path);
    int n = 0;
    for (struct dirent *de; d && (de = readdir(d));)
        n += de->d_name[0] != '.';
    return n;
}

/* Many exec + wait cycles (pipes and consoles): no fd, thread or child is left behind. */
static void test_no_leaks(void **state)
{
    struct gcs_harness *f = *state;
    int before = -1;
    for (int i = 0; i < 60; i++) {
        const char *argv[] = {"/bin/sh", "-c", "read x; echo $x; echo e >&2", NULL};
        struct host_exec x = {
            .argv = argv, .std_in = true, .std_out = true, .std_err = i % 2, .tty = i % 10 == 9};
        struct host_process p;
        uint32_t pid = exec_proc(f, &x, &p);
        assert_int_equal(lcow_write_all(p.fd[0], "hi\n", 3), 0);
        if (!x.tty)
            shutdown(p.fd[0], SHUT_WR);
        cleanup_free char *out = read_all(p.fd[1]);
        assert_non_null(strstr(out, "hi"));
        if (p.fd[2] >= 0)
            free(read_all(p.fd[2]));
        assert_int_equal(wait_exit(f, pid), 0);
        host_process_close(&p);
        if (i == 9)
            before = count_fds(f->gcs); /* after the first console: relays are warm */
    }
    assert_int_equal(count_fds(f->gcs), before);
    char path[96];
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)f->gcs, (int)f->gcs);
    cleanup_free char *children = NULL;
    assert_int_equal(lcow_read_file(path, 4096, &children, NULL, NULL), 0);
    assert_string_equal(children, ""); /* every child reaped */
}

/* A host that sends without reading its responses: gcs stops reading (back-pressure) instead
 * of queueing without bound, then answers every request once the host reads. */
static void test_backpressure(void **state)
{
    struct gcs_harness *f = *state;
    cleanup_error struct lcow_error *err = NULL;
    const char *b = "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GCS_ZERO_GUID "\"}";
    cleanup_free uint8_t *fr = NULL;
    size_t len = 0;
    int fd = host_bridge_fd(f->b);
    uint64_t sent = 0;
    /* Ids 1000.. so that they never collide with the client's own counter. */
    for (;;) {
        free(fr);
        fr = NULL;
        assert_int_equal(gcs_frame_build(GCS_MSG_START, 1000 + sent, b, strlen(b),
                                         GCS_MAX_READ_MESSAGE, &fr, &len, &err),
                         0);
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        if (poll(&p, 1, 500) == 0)
            break; /* gcs stopped reading */
        assert_int_equal(host_bridge_track(f->b, 1000 + sent, &err), 0);
        assert_int_equal(host_bridge_send_raw(f->b, fr, len, &err), 0);
        sent++;
        assert_true(sent < 2000000);
    }
    long rss = rss_kib(f->gcs);
    printf("backpressure: %llu requests sent before gcs stopped reading, gcs RSS %ld KiB\n",
           (unsigned long long)sent, rss);
    /* Sanitizer runtimes keep freed memory in quarantine: bound RSS only in normal builds. */
    const char *san = getenv("SANITIZER");
    bool bounded = !san || !*san;
    assert_true(rss > 0 && (!bounded || rss < 64 * 1024));
    for (uint64_t i = 0; i < sent; i++) {
        struct host_message m = {0};
        if (host_bridge_recv(f->b, 1000 + i, T_MS, &m, &err) < 0)
            fail_msg("response %llu of %llu: %s", (unsigned long long)i, (unsigned long long)sent,
                     lcow_error_message(err));
        host_message_done(&m);
    }
    assert_still_serving(f);
    long after = rss_kib(f->gcs);
    printf("backpressure: gcs RSS %ld KiB once drained\n", after);
    assert_true(!bounded || after < rss);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (copy_gcs() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_negotiate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_negotiate_bad_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unnegotiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_type, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_dump_stacks_and_start, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_echo, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_cat_stdin_half_close, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_env_cwd_cmdline, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_exec_errors, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_pty, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_uvm_id_unreachable, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_wait_concurrent, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_wait_timeout, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_many_processes, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_wait_cap, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_no_leaks, setup_negotiated, teardown),
        cmocka_unit_test_teardown(test_long_operation_concurrent, teardown),
        cmocka_unit_test_setup_teardown(test_redial_renegotiate, setup_negotiated, teardown),
        cmocka_unit_test_teardown(test_use_inouterr, teardown),
        cmocka_unit_test_teardown(test_listen_mode, teardown),
        cmocka_unit_test_teardown(test_vsock_forms, teardown),
        cmocka_unit_test_teardown(test_kmsg_forwarding, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_uvm, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_bad_frames, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_bad_json, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_huge_fields, setup_negotiated, teardown),
        cmocka_unit_test_setup_teardown(test_backpressure, setup_negotiated, teardown),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    unlink(gcs_copy);
    rmdir(gcs_copy_dir);
    return r;
}
