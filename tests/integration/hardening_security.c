/* Security checks of issue 12 against the real gcs over unix: (hardening_lib.h):
 *   - container ids are plain names: `..`, `/`, empty, control characters and over-long ids
 *     are refused with nothing made (bundle, cgroup) inside or outside the test's roots;
 *   - host paths: OciBundlePath and ModifySettings mount paths with `..` or outside /run are
 *     refused with nothing made;
 *   - a malicious rootfs whose symlinks point at the UVM's `/` (absolute and relative): mount
 *     targets resolve inside the rootfs, nothing is created or mounted outside it;
 *   - every fd of gcs (past 0-2) is CLOEXEC, and a container's init and exec see only their
 *     stdio in /proc/self/fd;
 *   - a container gets exactly the capabilities its spec grants: the same Cap* lines as runc
 *     on the same spec (with a capability set, and with none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/integration/hardening_lib.h"

static int setup(void **state)
{
    struct gcs_harness *h = NULL;
    if (hl_setup(&h, NULL, NULL) < 0)
        return -1;
    *state = h;
    return 0;
}

static int teardown(void **state)
{
    hl_teardown(*state);
    *state = NULL;
    return 0;
}

static bool exists(const char *p)
{
    struct stat st;
    return lstat(p, &st) == 0;
}

static int entries(const char *dir)
{
    cleanup_dir DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    return n;
}

static void test_container_ids(void **state)
{
    struct gcs_harness *h = *state;
    static const char *const bad[] = {"..", ".",    "../escape", "a/b", "/abs",
                                      "",   "x\ny", "x y",       NULL};
    char longid[400];
    memset(longid, 'a', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    int cg0 = gh_cgroups_under(h);
    char cdir[128];
    snprintf(cdir, sizeof(cdir), "%s/c", h->dir);
    for (size_t i = 0; bad[i] || i == sizeof(bad) / sizeof(bad[0]) - 1; i++) {
        const char *id = bad[i] ? bad[i] : longid;
        struct json_object *spec = hl_base_spec(h, (const char *const[]){"true", NULL});
        /* The bundle path itself is fine: only the id is bad. */
        cleanup_free char *p = gh_create_payload(h, "okname", spec);
        struct json_object *req = NULL;
        assert_int_equal(lcow_json_parse(p, strlen(p), "req", &req, NULL), 0);
        json_object_object_add(req, "ContainerId", json_object_new_string(id));
        cleanup_free char *e = NULL;
        int32_t hr = hl_call(h, GCS_MSG_CREATE,
                             json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL, &e);
        json_object_put(req);
        if (hr >= 0)
            fail_msg("container id `%s` accepted", id);
        assert_int_equal(entries(cdir), 0);
        assert_int_equal(gh_cgroups_under(h), cg0);
        if (!bad[i])
            break;
    }
    assert_false(exists("/sys/fs/cgroup/memory/escape"));
    assert_false(exists("/sys/fs/cgroup/memory/pods/escape"));
    assert_int_equal(hl_simple(h, GCS_MSG_DUMP_STACKS, GCS_UVM_CONTAINER_ID), 0);
}

static int32_t modify(struct gcs_harness *h, const char *type, const char *settings)
{
    cleanup_free char *p = NULL;
    assert_true(asprintf(&p,
                         "{\"ContainerId\":\"" GCS_UVM_CONTAINER_ID "\",\"ActivityId\":\"" HL_AID
                         "\",\"Request\":{\"RequestType\":\"Add\",\"ResourceType\":\"%s\","
                         "\"Settings\":%s}}",
                         type, settings) > 0);
    return hl_call(h, GCS_MSG_MODIFY_SETTINGS, p, NULL, NULL);
}

static void test_host_paths(void **state)
{
    struct gcs_harness *h = *state;
    /* OciBundlePath with `..`. */
    char bundle[256];
    snprintf(bundle, sizeof(bundle), "%s/c/../../lcow-hard-escape-%d", h->dir, (int)getpid());
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"true", NULL});
    cleanup_free char *p = gh_create_payload(h, "bundle", spec);
    struct json_object *req = NULL, *cfg = NULL;
    assert_int_equal(lcow_json_parse(p, strlen(p), "req", &req, NULL), 0);
    const char *cs = json_object_get_string(lcow_json_field(req, "ContainerConfig"));
    assert_int_equal(lcow_json_parse(cs, strlen(cs), "cfg", &cfg, NULL), 0);
    json_object_object_add(cfg, "OciBundlePath", json_object_new_string(bundle));
    json_object_object_add(
        req, "ContainerConfig",
        json_object_new_string(json_object_to_json_string_ext(cfg, JSON_C_TO_STRING_PLAIN)));
    int32_t hr = hl_call(h, GCS_MSG_CREATE,
                         json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN), NULL, NULL);
    json_object_put(req);
    json_object_put(cfg);
    assert_true(hr < 0);
    char escaped[128];
    snprintf(escaped, sizeof(escaped), "/tmp/lcow-hard-escape-%d", (int)getpid());
    assert_false(exists(escaped));

    /* Mount paths from ModifySettings stay under /run without `..`. */
    char ev[128], s[512];
    snprintf(ev, sizeof(ev), "/etc/lcow-hard-evil-%d", (int)getpid());
    snprintf(s, sizeof(s),
             "{\"ContainerID\":\"x\",\"ContainerRootPath\":\"/run/../%s\",\"Layers\":[{\"Path\":"
             "\"/run/layers/p0\"}],\"ScratchPath\":\"\"}",
             ev + 1);
    assert_true(modify(h, "CombinedLayers", s) < 0);
    snprintf(s, sizeof(s),
             "{\"ContainerID\":\"x\",\"ContainerRootPath\":\"/run/gcs/c/x/rootfs\",\"Layers\":[{"
             "\"Path\":\"/run/layers/../../etc\"}],\"ScratchPath\":\"\"}");
    assert_true(modify(h, "CombinedLayers", s) < 0);
    snprintf(s, sizeof(s), "{\"MountPath\":\"%s\",\"Port\":564,\"ShareName\":\"1\"}", ev);
    assert_true(modify(h, "MappedDirectory", s) < 0);
    snprintf(s, sizeof(s), "{\"MountPath\":\"%s\",\"Lun\":1,\"ReadOnly\":true}", ev);
    assert_true(modify(h, "MappedVirtualDisk", s) < 0);
    snprintf(s, sizeof(s), "{\"DeviceNumber\":1,\"MountPath\":\"/run/layers/../..%s\"}", ev);
    assert_true(modify(h, "VPMemDevice", s) < 0);
    assert_false(exists(ev));
    assert_false(exists("/run/gcs/c/x/rootfs"));
    assert_int_equal(hl_simple(h, GCS_MSG_DUMP_STACKS, GCS_UVM_CONTAINER_ID), 0);
}

static void test_symlink_rootfs(void **state)
{
    struct gcs_harness *h = *state;
    char root[128], outside[128], data[128], p[512], esc[64];
    snprintf(root, sizeof(root), "%s/evilroot", h->dir);
    snprintf(outside, sizeof(outside), "%s/outside", h->dir);
    snprintf(data, sizeof(data), "%s/data", h->dir);
    snprintf(esc, sizeof(esc), "/lcow-hard-esc-%d", (int)getpid());
    hl_make_rootfs(root);
    assert_int_equal(mkdir(outside, 0755), 0);
    assert_int_equal(mkdir(data, 0755), 0);
    snprintf(p, sizeof(p), "%s/payload", data);
    hl_write_text(p, "inside-ok\n");
    /* /abs -> the host path of outside/, /rel -> ../../.. up to the UVM's / and down again,
     * /root2 -> "/" itself. */
    snprintf(p, sizeof(p), "%s/abs", root);
    assert_int_equal(symlink(outside, p), 0);
    char rel[256];
    snprintf(rel, sizeof(rel), "../../../../../../..%s", outside);
    snprintf(p, sizeof(p), "%s/rel", root);
    assert_int_equal(symlink(rel, p), 0);
    snprintf(p, sizeof(p), "%s/slash", root);
    assert_int_equal(symlink("/", p), 0);

    struct json_object *spec =
        hl_base_spec(h, (const char *const[]){"sh", "-c",
                                              "cat /abs/newdir/sub/payload /rel/sub2/payload "
                                              "/slash/sub3/payload",
                                              NULL});
    json_object_object_add(lcow_json_field(spec, "root"), "path", json_object_new_string(root));
    static const char *const ro[] = {"bind", "ro", NULL};
    gh_add_mount(spec, "/abs/newdir/sub", "bind", data, ro);
    gh_add_mount(spec, "/rel/sub2", "bind", data, ro);
    gh_add_mount(spec, "/slash/sub3", "bind", data, ro);
    char dotdot[96];
    snprintf(dotdot, sizeof(dotdot), "/../../../..%s", esc);
    gh_add_mount(spec, dotdot, "tmpfs", "tmpfs", NULL);
    cleanup_free char *e = NULL;
    int32_t hr = hl_create(h, "evil", spec, &e);
    if (hr == 0) {
        assert_int_equal(hl_simple(h, GCS_MSG_START, "evil"), 0);
        struct host_process pr;
        assert_int_equal(hl_execute(h, "evil", NULL, false, true, false, &pr, NULL), 0);
        char buf[256];
        hl_read_all(pr.fd[1], buf, sizeof(buf));
        /* Each bind landed inside the rootfs, where the container sees it. */
        assert_string_equal(buf, "inside-ok\ninside-ok\ninside-ok\n");
        assert_int_equal(hl_wait_exit(h, "evil", pr.pid), 0);
        hl_expect_notification(h, "evil", GCS_NOTIFY_UNEXPECTED_EXIT);
        assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "evil"), 0);
    } else {
        printf("symlinked mount targets refused: %s\n", e);
    }
    /* Nothing was made or mounted outside the rootfs. */
    assert_int_equal(entries(outside), 0);
    assert_false(exists("/sub3"));
    assert_false(exists(esc));
    assert_int_equal(gh_mounts_under(outside), 0);
    assert_int_equal(gh_mounts_under(esc), 0);
}

/* Lines of /proc/self/fd as ls prints them, for the init and for an exec. */
static void test_fds(void **state)
{
    struct gcs_harness *h = *state;
    /* gcs itself: every fd past the standard three is CLOEXEC. */
    char dir[64];
    snprintf(dir, sizeof(dir), "/proc/%d/fdinfo", (int)h->gcs);
    cleanup_dir DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int checked = 0;
    while ((de = readdir(d))) {
        int fd = atoi(de->d_name);
        if (de->d_name[0] == '.' || fd <= 2)
            continue;
        char p[384];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        cleanup_free char *info = NULL;
        if (lcow_read_file(p, 65536, &info, NULL, NULL) < 0)
            continue; /* closed meanwhile */
        const char *f = strstr(info, "flags:");
        assert_non_null(f);
        unsigned long flags = strtoul(f + 6, NULL, 8);
        if (!(flags & O_CLOEXEC))
            fail_msg("gcs fd %d is not CLOEXEC (flags 0%lo)", fd, flags);
        checked++;
    }
    assert_true(checked >= 3);
    /* The container: only its stdio, plus the fd ls opened for the listing itself. */
    struct json_object *spec = hl_base_spec(
        h, (const char *const[]){"sh", "-c", "ls /proc/self/fd; exec sleep 30 >&-", NULL});
    int out = -1;
    uint32_t init = hl_run(h, "fds", spec, &out);
    char buf[256] = "";
    hl_read_all(out, buf, sizeof(buf)); /* EOF once sleep has closed its stdout */
    assert_string_equal(buf, "0\n1\n2\n3\n");
    struct host_process p;
    assert_int_equal(
        hl_execute(h, "fds",
                   hl_oci_process((const char *const[]){"ls", "/proc/self/fd", NULL}, false), false,
                   true, true, &p, NULL),
        0);
    hl_read_all(p.fd[1], buf, sizeof(buf));
    assert_string_equal(buf, "0\n1\n2\n3\n");
    char ebuf[64];
    hl_read_all(p.fd[2], ebuf, sizeof(ebuf));
    assert_int_equal(hl_wait_exit(h, "fds", p.pid), 0);
    assert_int_equal(hl_simple(h, GCS_MSG_SHUTDOWN_FORCED, "fds"), 0);
    hl_wait_exit(h, "fds", init);
    hl_expect_notification(h, "fds", GCS_NOTIFY_FORCED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, "fds"), 0);
}

static const char CAPS_CMD[] = "grep ^Cap /proc/self/status";

static void set_caps(struct json_object *spec, const char *const *caps)
{
    struct json_object *proc = lcow_json_field(spec, "process");
    if (!caps)
        return;
    struct json_object *c = json_object_new_object();
    static const char *const sets[] = {"bounding", "effective", "permitted"};
    for (size_t i = 0; i < 3; i++)
        json_object_object_add(c, sets[i], gh_strv(caps));
    json_object_object_add(proc, "capabilities", c);
}

/* runc run of the same spec in its own bundle; its stdout. */
static void runc_caps(struct gcs_harness *h, struct json_object *spec, const char *id, char *out,
                      size_t cap)
{
    char bundle[256], cfg[300], state_dir[256], cgpath[128];
    snprintf(bundle, sizeof(bundle), "%s/runc-%s", h->dir, id);
    snprintf(state_dir, sizeof(state_dir), "%s/runc-state", h->dir);
    assert_int_equal(lcow_mkdir_p(bundle, 0755, NULL), 0);
    snprintf(cgpath, sizeof(cgpath), "%s/runc-%s", h->cgroot, id);
    json_object_object_add(lcow_json_field(spec, "linux"), "cgroupsPath",
                           json_object_new_string(cgpath));
    snprintf(cfg, sizeof(cfg), "%s/config.json", bundle);
    hl_write_text(cfg, json_object_to_json_string_ext(spec, JSON_C_TO_STRING_PLAIN));
    int pfd[2];
    assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(pfd[1], 1);
        int nul = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(nul, 0);
        execlp("runc", "runc", "--root", state_dir, "run", "--bundle", bundle, id, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    hl_read_all(pfd[0], out, cap);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void compare_caps(struct gcs_harness *h, const char *id, const char *const *caps)
{
    struct json_object *spec = hl_base_spec(h, (const char *const[]){"sh", "-c", CAPS_CMD, NULL});
    set_caps(spec, caps);
    struct json_object *copy = NULL;
    assert_int_equal(json_object_deep_copy(spec, &copy, NULL), 0);
    int out = -1;
    uint32_t pid = hl_run(h, id, spec, &out);
    char ours[512], theirs[512];
    hl_read_all(out, ours, sizeof(ours));
    assert_int_equal(hl_wait_exit(h, id, pid), 0);
    hl_expect_notification(h, id, GCS_NOTIFY_UNEXPECTED_EXIT);
    assert_int_equal(hl_simple(h, GCS_MSG_DELETE_CONTAINER_STATE, id), 0);
    runc_caps(h, copy, id, theirs, sizeof(theirs));
    json_object_put(copy);
    printf("caps %s: gcs\n%srunc\n%s", id, ours, theirs);
    assert_non_null(strstr(ours, "CapEff"));
    assert_string_equal(ours, theirs);
}

static void test_capabilities(void **state)
{
    struct gcs_harness *h = *state;
    compare_caps(h, "capsome", (const char *const[]){"CAP_KILL", "CAP_NET_BIND_SERVICE", NULL});
    compare_caps(h, "capnone", NULL);
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "hardening_security: needs root\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_container_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_paths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlink_rootfs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_capabilities, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
