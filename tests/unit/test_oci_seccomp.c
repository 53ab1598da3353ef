/* Seccomp: OCI profile → compiled BPF → loaded in a forked child, which then makes the syscall
 * and reports what it saw (errno, or death by a signal). Covers every action, every argument
 * operator, repeated argument indices, architectures, flags, unknown names and NOTIFY. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/seccomp.h>

#ifndef SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV
#define SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (1UL << 5)
#endif
#ifndef SECCOMP_FILTER_FLAG_TSYNC_ESRCH
#define SECCOMP_FILTER_FLAG_TSYNC_ESRCH (1UL << 4)
#endif

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "oci/seccomp.h"
#include "oci/spec_seccomp.h"

/* What the child saw: exit code = errno of the probed syscall (0 = success), or a signal. */
struct outcome {
    bool signaled;
    int sig;
    int code;
};

typedef long (*probe_fn)(long arg);

static long probe_getpid(long arg)
{
    (void)arg;
    return syscall(SYS_getpid);
}

static long probe_umask(long arg)
{
    return syscall(SYS_umask, arg);
}

static long probe_mkdir(long arg)
{
    (void)arg;
    return syscall(SYS_mkdir, "/proc/lcow-test-never-created", 0700);
}

static struct oci_seccomp_program compile(const char *doc, unsigned opts, int want_rc)
{
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "profile", &o, NULL), 0);
    struct oci_seccomp spec = {0};
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_seccomp_parse(o, "linux.seccomp", &spec, &err), 0);
    struct oci_seccomp_program p = {0};
    int rc = oci_seccomp_compile(&spec, opts, &p, &err);
    if (rc != want_rc)
        fail_msg("compile: rc=%d want %d: %s", rc, want_rc, lcow_error_message(err));
    oci_seccomp_done(&spec);
    if (rc == 0) {
        /* The program no longer refers to the spec's heap except listener strings. */
        p.listener_path = NULL;
        p.listener_metadata = NULL;
    }
    return p;
}

static struct outcome run(const struct oci_seccomp_program *p, probe_fn fn, long arg)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches SIGSYS & co. to report "exceptions"; the child must die of them. */
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                signal(sig, SIG_DFL);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
            _exit(120);
        int r = oci_seccomp_load(p);
        if (r < 0)
            _exit(121);
        if (p->notify && r == 0)
            _exit(122);
        errno = 0;
        long v = fn(arg);
        /* exit_group directly: _exit's sanitizer interceptors make syscalls a default-deny
         * profile refuses. */
        syscall(SYS_exit_group, v < 0 ? (errno & 0x7f) : 0);
        _exit(127);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    struct outcome o = {.signaled = WIFSIGNALED(st)};
    if (o.signaled)
        o.sig = WTERMSIG(st);
    else
        o.code = WEXITSTATUS(st);
    return o;
}

static void expect_errno(const struct oci_seccomp_program *p, probe_fn fn, long arg, int want)
{
    struct outcome o = run(p, fn, arg);
    if (o.signaled || o.code != want)
        fail_msg("arg %ld: signaled=%d sig=%d code=%d, want errno %d", arg, o.signaled, o.sig,
                 o.code, want);
}

static void expect_signal(const struct oci_seccomp_program *p, probe_fn fn, int sig)
{
    struct outcome o = run(p, fn, 0);
    if (!o.signaled || o.sig != sig)
        fail_msg("signaled=%d sig=%d code=%d, want signal %d", o.signaled, o.sig, o.code, sig);
}

#define RULE(names, act)  "{\"names\":[" names "],\"action\":\"" act "\"}"
#define ALLOW_WITH(rules) "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[" rules "]}"

static void test_errno_actions(void **state)
{
    struct oci_seccomp_program p =
        compile(ALLOW_WITH(RULE("\"getpid\"", "SCMP_ACT_ERRNO") ","
                                                                "{\"names\":[\"mkdir\"],"
                                                                "\"action\":\"SCMP_ACT_ERRNO\","
                                                                "\"errnoRet\":42}"),
                0, 0);
    assert_true(p.len > 0);
    expect_errno(&p, probe_getpid, 0, EPERM); /* runc's default errno */
    expect_errno(&p, probe_mkdir, 0, 42);
    expect_errno(&p, probe_umask, 022, 0); /* untouched syscall */
    oci_seccomp_program_done(&p);

    /* defaultAction ERRNO with defaultErrnoRet, plus an allow list that keeps exit working. */
    p = compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,"
                "\"syscalls\":[" RULE("\"exit_group\",\"exit\",\"umask\"", "SCMP_ACT_ALLOW") "]}",
                0, 0);
    expect_errno(&p, probe_getpid, 0, ENOSYS);
    expect_errno(&p, probe_umask, 022, 0);
    oci_seccomp_program_done(&p);
}

static void test_kill_and_trap(void **state)
{
    static const char *const kills[] = {"SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD",
                                        "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(kills); i++) {
        char doc[256];
        snprintf(doc, sizeof(doc),
                 "{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"getpid\"],"
                 "\"action\":\"%s\"}]}",
                 kills[i]);
        struct oci_seccomp_program p = compile(doc, 0, 0);
        expect_signal(&p, probe_getpid, SIGSYS);
        oci_seccomp_program_done(&p);
    }
    /* A killing default with the probe allowed: the child lives. */
    struct oci_seccomp_program p =
        compile("{\"defaultAction\":\"SCMP_ACT_KILL_PROCESS\",\"syscalls\":[" RULE(
                    "\"getpid\",\"exit_group\",\"exit\"", "SCMP_ACT_ALLOW") "]}",
                0, 0);
    expect_errno(&p, probe_getpid, 0, 0);
    expect_signal(&p, probe_umask, SIGSYS);
    oci_seccomp_program_done(&p);
}

static void test_trace_log_allow(void **state)
{
    /* TRACE without a tracer: the kernel fails the syscall with ENOSYS. */
    struct oci_seccomp_program p = compile(
        ALLOW_WITH(RULE("\"getpid\"", "SCMP_ACT_TRACE") "," RULE("\"umask\"", "SCMP_ACT_LOG")), 0,
        0);
    expect_errno(&p, probe_getpid, 0, ENOSYS);
    expect_errno(&p, probe_umask, 022, 0);
    oci_seccomp_program_done(&p);
}

#define UMASK_RULE(args)                                                                           \
    ALLOW_WITH(                                                                                    \
        "{\"names\":[\"umask\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":33,\"args\":[" args     \
        "]}")

static void test_argument_operators(void **state)
{
    static const struct {
        const char *op;
        long hit, miss;
    } cases[] = {
        {"SCMP_CMP_EQ", 0100, 0101}, {"SCMP_CMP_NE", 0101, 0100}, {"SCMP_CMP_LT", 077, 0100},
        {"SCMP_CMP_LE", 0100, 0101}, {"SCMP_CMP_GT", 0101, 0100}, {"SCMP_CMP_GE", 0100, 077},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        char doc[512];
        snprintf(doc, sizeof(doc), UMASK_RULE("{\"index\":0,\"value\":64,\"op\":\"%s\"}"),
                 cases[i].op);
        struct oci_seccomp_program p = compile(doc, 0, 0);
        expect_errno(&p, probe_umask, cases[i].hit, 33);
        expect_errno(&p, probe_umask, cases[i].miss, 0);
        oci_seccomp_program_done(&p);
    }
    /* MASKED_EQ: value is the mask, valueTwo the datum (arg & 0700) == 0700. */
    struct oci_seccomp_program p =
        compile(UMASK_RULE("{\"index\":0,\"value\":448,\"valueTwo\":448,\"op\":\"SCMP_CMP_"
                           "MASKED_EQ\"}"),
                0, 0);
    expect_errno(&p, probe_umask, 0777, 33);
    expect_errno(&p, probe_umask, 0700, 33);
    expect_errno(&p, probe_umask, 0077, 0);
    oci_seccomp_program_done(&p);
}

static void test_repeated_index_is_or(void **state)
{
    /* Two conditions on the same argument become two rules (runc), i.e. EQ 1 OR EQ 2. */
    struct oci_seccomp_program p =
        compile(UMASK_RULE("{\"index\":0,\"value\":1,\"op\":\"SCMP_CMP_EQ\"},"
                           "{\"index\":0,\"value\":2,\"op\":\"SCMP_CMP_EQ\"}"),
                0, 0);
    expect_errno(&p, probe_umask, 1, 33);
    expect_errno(&p, probe_umask, 2, 33);
    expect_errno(&p, probe_umask, 3, 0);
    oci_seccomp_program_done(&p);
    /* More conditions than a syscall has arguments is fine when they repeat an index. */
    char args[1024] = "";
    for (int v = 1; v <= 8; v++)
        snprintf(args + strlen(args), sizeof(args) - strlen(args),
                 "%s{\"index\":0,\"value\":%d,\"op\":\"SCMP_CMP_EQ\"}", v > 1 ? "," : "", v);
    char doc[2048];
    snprintf(doc, sizeof(doc),
             ALLOW_WITH("{\"names\":[\"umask\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":33,"
                        "\"args\":[%s]}"),
             args);
    p = compile(doc, 0, 0);
    expect_errno(&p, probe_umask, 8, 33);
    expect_errno(&p, probe_umask, 9, 0);
    oci_seccomp_program_done(&p);
}

static void test_architectures(void **state)
{
    struct oci_seccomp_program native =
        compile(ALLOW_WITH(RULE("\"getpid\"", "SCMP_ACT_ERRNO")), 0, 0);
    struct oci_seccomp_program multi =
        compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_X86_64\","
                "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":[" RULE("\"getpid\"",
                                                                           "SCMP_ACT_ERRNO") "]}",
                0, 0);
    /* Each extra architecture adds its own arch check and syscall table. */
    assert_true(multi.len > native.len);
    expect_errno(&multi, probe_getpid, 0, EPERM);
    oci_seccomp_program_done(&native);
    oci_seccomp_program_done(&multi);
    /* A profile for a foreign architecture only still compiles (native is always included). */
    struct oci_seccomp_program foreign =
        compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"architectures\":[\"SCMP_ARCH_AARCH64\"],"
                "\"syscalls\":[" RULE("\"getpid\"", "SCMP_ACT_ERRNO") "]}",
                0, 0);
    expect_errno(&foreign, probe_getpid, 0, EPERM);
    oci_seccomp_program_done(&foreign);
    /* Repeated architectures (runc accepts them) count once: 25 entries, more than there are
     * architectures, overran a fixed table in the ENOSYS stub's architecture list (errno
     * default) before (found by fuzz_oci_cgroup_seccomp). */
#define THREE_ARCHES "\"SCMP_ARCH_X86\",\"SCMP_ARCH_MIPSEL\",\"SCMP_ARCH_X86_64\","
    struct oci_seccomp_program repeated = compile(
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[" THREE_ARCHES THREE_ARCHES
            THREE_ARCHES THREE_ARCHES THREE_ARCHES THREE_ARCHES THREE_ARCHES THREE_ARCHES
        "\"SCMP_ARCH_X86\"],\"syscalls\":[" RULE("\"getpid\"", "SCMP_ACT_ALLOW") "]}",
        0, 0);
#undef THREE_ARCHES
    assert_true(repeated.len > 0); /* an errno default: compiled with the ENOSYS stub */
    oci_seccomp_program_done(&repeated);
}

static void test_unknown_and_redundant(void **state)
{
    const char *doc = ALLOW_WITH(RULE("\"no_such_syscall_xyz\",\"getpid\"",
                                      "SCMP_ACT_ERRNO") "," RULE("\"umask\"", "SCMP_ACT_ALLOW"));
    /* runc skips unknown names (and a rule equal to the default action). */
    struct oci_seccomp_program p = compile(doc, 0, 0);
    expect_errno(&p, probe_getpid, 0, EPERM);
    oci_seccomp_program_done(&p);
    /* crun's strict mode: an error naming the rule and the name. */
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "p", &o, NULL), 0);
    struct oci_seccomp spec = {0};
    assert_int_equal(oci_seccomp_parse(o, "linux.seccomp", &spec, NULL), 0);
    cleanup_error struct lcow_error *err = NULL;
    struct oci_seccomp_program q = {0};
    assert_int_equal(oci_seccomp_compile(&spec, OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL, &q, &err),
                     -EINVAL);
    assert_non_null(strstr(err->msg, "linux.seccomp.syscalls[0]"));
    assert_non_null(strstr(err->msg, "no_such_syscall_xyz"));
    assert_null(q.filter);
    oci_seccomp_done(&spec);
    assert_true(oci_seccomp_syscall_nr("getpid") == SYS_getpid);
    assert_int_equal(oci_seccomp_syscall_nr("no_such_syscall_xyz"), -1);
}

static void test_flags(void **state)
{
    struct oci_seccomp_program p = compile(ALLOW_WITH(RULE("\"getpid\"", "SCMP_ACT_ERRNO")), 0, 0);
    assert_int_equal(p.flags, SECCOMP_FILTER_FLAG_SPEC_ALLOW); /* absent flags: runc's default */
    oci_seccomp_program_done(&p);
    p = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[],\"syscalls\":[" RULE(
                    "\"getpid\"", "SCMP_ACT_ERRNO") "]}",
                0, 0);
    assert_int_equal(p.flags, 0);
    expect_errno(&p, probe_getpid, 0, EPERM);
    oci_seccomp_program_done(&p);
    p = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_LOG\","
                "\"SECCOMP_FILTER_FLAG_TSYNC\",\"SECCOMP_FILTER_FLAG_SPEC_ALLOW\"],"
                "\"syscalls\":[" RULE("\"getpid\"", "SCMP_ACT_ERRNO") "]}",
                0, 0);
    assert_int_equal(p.flags, SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_TSYNC |
                                  SECCOMP_FILTER_FLAG_SPEC_ALLOW);
    expect_errno(&p, probe_getpid, 0, EPERM); /* the kernel accepts them */
    oci_seccomp_program_done(&p);
}

static void test_notify(void **state)
{
    struct oci_seccomp_program p =
        compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"listenerPath\":\"/run/x.sock\","
                "\"syscalls\":[" RULE("\"mkdir\"", "SCMP_ACT_NOTIFY") "]}",
                0, 0);
    assert_true(p.notify);
    assert_true(p.flags & SECCOMP_FILTER_FLAG_NEW_LISTENER);
    /* The child gets a listener fd from load() (exit 122 otherwise) and never calls mkdir. */
    expect_errno(&p, probe_getpid, 0, 0);
    oci_seccomp_program_done(&p);
    /* WAIT_KILLABLE_RECV (kernel 5.19+) only makes sense, and is only accepted, with a listener. */
    p = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"flags\":[\"SECCOMP_FILTER_FLAG_WAIT_"
                "KILLABLE_RECV\",\"SECCOMP_FILTER_FLAG_TSYNC\"],\"syscalls\":[" RULE(
                    "\"mkdir\"", "SCMP_ACT_NOTIFY") "]}",
                0, 0);
    assert_true(p.flags & SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV);
    assert_true(p.flags & SECCOMP_FILTER_FLAG_TSYNC_ESRCH); /* TSYNC + listener needs it */
    expect_errno(&p, probe_getpid, 0, 0);
    oci_seccomp_program_done(&p);
    /* runc's restrictions. */
    p = compile("{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[" RULE("\"write\"",
                                                                            "SCMP_ACT_NOTIFY") "]}",
                0, -EINVAL);
    p = compile("{\"defaultAction\":\"SCMP_ACT_NOTIFY\",\"syscalls\":[" RULE("\"write\"",
                                                                             "SCMP_ACT_ALLOW") "]}",
                0, -EINVAL);
}

static long probe_nr(long nr)
{
    return syscall(nr, 0, 0, 0);
}

static void test_enosys_stub(void **state)
{
    /* Restrictive default: syscalls above the highest one the profile names get ENOSYS (runc's
     * patchbpf), lower unnamed ones the default errno. exit_group (231) is the highest here. */
    const char *doc =
        "{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"architectures\":[\"SCMP_ARCH_X86_64\","
        "\"SCMP_ARCH_X86\",\"SCMP_ARCH_X32\"],\"syscalls\":[" RULE(
            "\"exit_group\",\"exit\",\"getpid\",\"umask\"", "SCMP_ACT_ALLOW") "]}";
    struct oci_seccomp_program p = compile(doc, 0, 0);
    expect_errno(&p, probe_getpid, 0, 0);
    expect_errno(&p, probe_nr, SYS_getppid, EPERM);     /* 110 < 231 */
    expect_errno(&p, probe_nr, SYS_pidfd_open, ENOSYS); /* 434 > 231 */
    expect_errno(&p, probe_nr, 1000, ENOSYS);
    oci_seccomp_program_done(&p);
    /* Permissive default: no stub, so the same profile with ALLOW has no extra instructions. */
    struct oci_seccomp_program a = compile(ALLOW_WITH(RULE("\"getpid\"", "SCMP_ACT_ERRNO")), 0, 0);
    struct oci_seccomp_program e =
        compile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"defaultErrnoRet\":38,\"syscalls\":[" RULE(
                    "\"getpid\"", "SCMP_ACT_ALLOW") "]}",
                0, 0);
    struct oci_seccomp_program k =
        compile("{\"defaultAction\":\"SCMP_ACT_KILL\",\"syscalls\":[" RULE("\"getpid\"",
                                                                           "SCMP_ACT_ALLOW") "]}",
                0, 0);
    /* Same rule count; only the KILL profile carries the stub (ERRNO=ENOSYS needs none). */
    assert_true(k.len > e.len);
    assert_int_equal(a.len, e.len);
    oci_seccomp_program_done(&a);
    oci_seccomp_program_done(&e);
    oci_seccomp_program_done(&k);
}

static struct oci_seccomp parse_profile(const char *doc)
{
    cleanup_json struct json_object *o = NULL;
    assert_int_equal(lcow_json_parse(doc, strlen(doc), "p", &o, NULL), 0);
    struct oci_seccomp spec = {0};
    assert_int_equal(oci_seccomp_parse(o, "linux.seccomp", &spec, NULL), 0);
    return spec;
}

static size_t count_entries(const char *dir)
{
    size_t n = 0;
    cleanup_dir DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += e->d_name[0] != '.';
    return n;
}

static void test_cache(void **state)
{
    char dir[] = "/tmp/lcow-seccomp-cache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cache[128];
    snprintf(cache, sizeof(cache), "%s/parent/c", dir); /* parents are made too */
    struct oci_seccomp spec =
        parse_profile("{\"defaultAction\":\"SCMP_ACT_ERRNO\",\"syscalls\":[" RULE(
            "\"exit_group\",\"exit\",\"getpid\",\"umask\"", "SCMP_ACT_ALLOW") "]}");
    struct oci_seccomp_program direct = {0}, miss = {0}, hit = {0};
    assert_int_equal(oci_seccomp_compile(&spec, 0, &direct, NULL), 0);
    assert_int_equal(oci_seccomp_compile_cached(&spec, 0, cache, &miss, NULL), 0);
    assert_int_equal(count_entries(cache), 1);
    struct stat st;
    assert_int_equal(stat(cache, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    assert_int_equal(oci_seccomp_compile_cached(&spec, 0, cache, &hit, NULL), 0);
    /* Same program and flags whether compiled or read back. */
    assert_int_equal(hit.len, direct.len);
    assert_int_equal(hit.flags, direct.flags);
    assert_memory_equal(hit.filter, direct.filter, direct.len * sizeof(struct sock_filter));
    expect_errno(&hit, probe_getpid, 0, 0);
    expect_errno(&hit, probe_nr, SYS_getppid, EPERM);
    oci_seccomp_program_done(&hit);

    /* A different profile (or option) is a different entry. */
    struct oci_seccomp_program other = {0};
    assert_int_equal(
        oci_seccomp_compile_cached(&spec, OCI_SECCOMP_FAIL_UNKNOWN_SYSCALL, cache, &other, NULL),
        0);
    assert_int_equal(count_entries(cache), 2);
    oci_seccomp_program_done(&other);

    /* A tampered entry (other key, same name) or one writable by others is never used. */
    cleanup_dir DIR *d = opendir(cache);
    struct dirent *e;
    char victim[300] = "";
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.' && victim[0] == '\0')
            snprintf(victim, sizeof(victim), "%s/%.32s", cache, e->d_name);
    assert_int_equal(chmod(victim, 0666), 0);
    assert_int_equal(oci_seccomp_compile_cached(&spec, 0, cache, &hit, NULL), 0);
    assert_memory_equal(hit.filter, direct.filter, direct.len * sizeof(struct sock_filter));
    oci_seccomp_program_done(&hit);
    int fd = open(victim, O_WRONLY | O_TRUNC | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "OCISCMP1garbage", 15), 15);
    close(fd);
    assert_int_equal(oci_seccomp_compile_cached(&spec, 0, cache, &hit, NULL), 0);
    assert_int_equal(hit.len, direct.len);
    oci_seccomp_program_done(&hit);
    /* An unusable cache directory only costs the compile. */
    assert_int_equal(oci_seccomp_compile_cached(&spec, 0, "/proc/no/such/dir", &hit, NULL), 0);
    assert_int_equal(hit.len, direct.len);
    oci_seccomp_program_done(&hit);
    oci_seccomp_program_done(&miss);
    oci_seccomp_program_done(&direct);
    oci_seccomp_done(&spec);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("rm", "rm", "-rf", dir, (char *)NULL);
        _exit(127);
    }
    waitpid(pid, NULL, 0);
}

static void test_disabled_profile(void **state)
{
    struct oci_seccomp_program p = compile("{\"syscalls\":[]}", 0, 0);
    assert_int_equal(p.len, 0);
    assert_null(p.filter);
    assert_int_equal(oci_seccomp_load(&p), 0);
    assert_int_equal(oci_seccomp_load(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_errno_actions),
        cmocka_unit_test(test_kill_and_trap),
        cmocka_unit_test(test_trace_log_allow),
        cmocka_unit_test(test_argument_operators),
        cmocka_unit_test(test_repeated_index_is_or),
        cmocka_unit_test(test_architectures),
        cmocka_unit_test(test_unknown_and_redundant),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_notify),
        cmocka_unit_test(test_enosys_stub),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_disabled_profile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
