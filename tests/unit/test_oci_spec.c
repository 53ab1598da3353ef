/* Unit tests for oci/ (oci-core's part): the config.json parser (every field family, bad
 * values rejected with their JSON path), mount options, the name tables, path resolution
 * inside a rootfs, /etc/passwd and /etc/group reading, and the state directory helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/io.h"
#include "common/syscalls.h"
#include "oci/internal.h"
#include "oci/spec.h"
#include "oci/state.h"

static const char full_config[] =
    "{\"ociVersion\":\"1.2.0\","
    "\"process\":{\"terminal\":true,\"consoleSize\":{\"height\":24,\"width\":80},"
    "  \"user\":{\"uid\":1000,\"gid\":100,\"umask\":18,\"additionalGids\":[5,6]},"
    "  \"args\":[\"sh\",\"-c\",\"true\"],\"env\":[\"PATH=/bin\",\"A=b\"],\"cwd\":\"/work\","
    "  "
    "\"capabilities\":{\"bounding\":[\"CAP_KILL\",\"CAP_SYS_ADMIN\"],\"effective\":[\"CAP_KILL\"],"
    "    \"inheritable\":[],\"permitted\":[\"CAP_KILL\"],\"ambient\":[\"CAP_CHOWN\"]},"
    "  \"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":512}],"
    "  \"noNewPrivileges\":true,\"oomScoreAdj\":-500,\"apparmorProfile\":\"\","
    "  \"ioPriority\":{\"class\":\"IOPRIO_CLASS_BE\",\"priority\":4},"
    "  "
    "\"scheduler\":{\"policy\":\"SCHED_BATCH\",\"nice\":5,\"flags\":[\"SCHED_FLAG_RESET_ON_FORK\"]}"
    ","
    "  \"execCPUAffinity\":{\"initial\":\"0\",\"final\":\"0-1\"},\"unknownField\":[1,2]},"
    "\"root\":{\"path\":\"rootfs\",\"readonly\":true},"
    "\"hostname\":\"box\",\"domainname\":\"example.org\","
    "\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"},"
    "  "
    "{\"destination\":\"data\",\"type\":\"bind\",\"source\":\"/"
    "srv\",\"options\":[\"rbind\",\"ro\"]}],"
    "\"hooks\":{\"prestart\":[{\"path\":\"/bin/true\",\"args\":[\"true\"],\"timeout\":5}],"
    "  \"poststop\":[{\"path\":\"/bin/false\"}]},"
    "\"annotations\":{\"org.example.key\":\"value\"},"
    "\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"mount\"},{\"type\":\"user\"},"
    "    "
    "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"},{\"type\":\"uts\"},{\"type\":\"time\"}],"
    "  \"uidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
    "  \"gidMappings\":[{\"containerID\":0,\"hostID\":100000,\"size\":65536}],"
    "  \"timeOffsets\":{\"monotonic\":{\"secs\":10,\"nanosecs\":5},\"boottime\":{\"secs\":-3}},"
    "  \"devices\":[{\"type\":\"c\",\"path\":\"/dev/fuse\",\"major\":10,\"minor\":229,"
    "    \"fileMode\":438,\"uid\":0,\"gid\":0}],"
    "  \"cgroupsPath\":\"/test/c1\",\"rootfsPropagation\":\"rslave\","
    "  \"sysctl\":{\"net.ipv4.ip_forward\":\"1\"},"
    "  \"maskedPaths\":[\"/proc/kcore\"],\"readonlyPaths\":[\"/proc/sys\"],"
    "  \"mountLabel\":\"\",\"personality\":{\"domain\":\"LINUX32\"},"
    "  \"resources\":{\"pids\":{\"limit\":10}},"
    "  \"seccomp\":{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":[\"mkdir\"],"
    "    \"action\":\"SCMP_ACT_ERRNO\"}]}}}";

static struct oci_spec *parse_ok(const char *text)
{
    struct oci_spec *spec = NULL;
    cleanup_error struct lcow_error *err = NULL;
    int r = oci_spec_parse(text, strlen(text), &spec, &err);
    if (r < 0)
        fail_msg("parse failed: %s", lcow_error_message(err));
    return spec;
}

static void test_full_config(void **state)
{
    cleanup_oci_spec struct oci_spec *s = parse_ok(full_config);
    assert_string_equal(s->oci_version, "1.2.0");
    struct oci_process *p = s->process;
    assert_true(p->terminal);
    assert_true(p->has_console_size);
    assert_int_equal(p->console_height, 24);
    assert_int_equal(p->user.uid, 1000);
    assert_int_equal(p->user.gid, 100);
    assert_true(p->user.has_umask);
    assert_int_equal(p->user.umask, 022);
    assert_int_equal(p->user.n_additional_gids, 2);
    assert_int_equal(p->user.additional_gids[1], 6);
    assert_string_equal(p->args[2], "true");
    assert_null(p->args[3]);
    assert_string_equal(p->env[1], "A=b");
    assert_string_equal(p->cwd, "/work");
    assert_true(p->caps.present);
    assert_int_equal(p->caps.bounding, (1ULL << 5) | (1ULL << 21));
    assert_int_equal(p->caps.effective, 1ULL << 5);
    assert_int_equal(p->caps.ambient, 1ULL << 0);
    assert_int_equal(p->n_rlimits, 1);
    assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
    assert_int_equal(p->rlimits[0].soft, 512);
    assert_true(p->no_new_privileges);
    assert_true(p->has_oom_score_adj);
    assert_int_equal(p->oom_score_adj, -500);
    assert_true(p->has_io_priority);
    assert_int_equal(p->io_priority_class, 2);
    assert_int_equal(p->io_priority, 4);
    assert_true(p->scheduler.present);
    assert_int_equal(p->scheduler.policy, 3);
    assert_int_equal(p->scheduler.nice, 5);
    assert_int_equal(p->scheduler.flags, 1);
    assert_string_equal(p->cpu_affinity_final, "0-1");
    assert_string_equal(s->root_path, "rootfs");
    assert_true(s->root_readonly);
    assert_string_equal(s->hostname, "box");
    assert_string_equal(s->domainname, "example.org");
    assert_int_equal(s->n_mounts, 2);
    assert_string_equal(s->mounts[1].destination, "/data"); /* relative made absolute */
    assert_string_equal(s->mounts[1].options[1], "ro");
    assert_int_equal(s->n_hooks[OCI_HOOK_PRESTART], 1);
    assert_int_equal(s->hooks[OCI_HOOK_PRESTART][0].timeout, 5);
    assert_int_equal(s->n_hooks[OCI_HOOK_POSTSTOP], 1);
    assert_int_equal(s->n_annotations, 1);
    assert_string_equal(s->annotations[0].value, "value");
    struct oci_linux *lx = s->linux_;
    assert_true(lx->namespaces[OCI_NS_PID].present);
    assert_null(lx->namespaces[OCI_NS_PID].path);
    assert_string_equal(lx->namespaces[OCI_NS_NET].path, "/proc/1/ns/net");
    assert_false(lx->namespaces[OCI_NS_IPC].present);
    assert_int_equal(lx->uid_mappings[0].host_id, 100000);
    assert_true(lx->has_time_monotonic);
    assert_int_equal(lx->time_monotonic_nsecs, 5);
    assert_int_equal(lx->time_boottime_secs, -3);
    assert_int_equal(lx->devices[0].minor, 229);
    assert_int_equal(lx->devices[0].file_mode, 0666);
    assert_string_equal(lx->cgroups_path, "/test/c1");
    assert_int_equal(lx->rootfs_propagation, MS_SLAVE | MS_REC);
    assert_string_equal(lx->sysctl[0].key, "net.ipv4.ip_forward");
    assert_string_equal(lx->masked_paths[0], "/proc/kcore");
    assert_string_equal(lx->readonly_paths[0], "/proc/sys");
    assert_true(lx->has_personality);
    assert_int_equal(lx->personality, PER_LINUX32);
    assert_non_null(lx->resources);
    assert_true(lx->resources->pids.limit.set);
    assert_non_null(lx->seccomp);
    assert_int_equal(lx->seccomp->n_syscalls, 1);
}

static void test_minimal_and_go_rules(void **state)
{
    /* Keys match case-insensitively, null is absent, unknown fields are ignored. */
    cleanup_oci_spec struct oci_spec *s = parse_ok(
        "{\"OCIVERSION\":\"1.0.0\",\"root\":{\"Path\":\"/r\"},\"process\":{\"args\":[\"x\"],"
        "\"env\":null},\"linux\":null,\"extra\":{\"deep\":[{}]}}\n");
    assert_string_equal(s->root_path, "/r");
    assert_null(s->linux_);
    assert_non_null(s->process->env);
    assert_null(s->process->env[0]);
    assert_string_equal(s->process->cwd, "/");
    assert_false(s->process->caps.present);
}

/* Each bad document must fail with -EINVAL/-ERANGE and a message naming the path. */
static void test_bad_values_name_path(void **state)
{
    static const struct {
        const char *body; /* inserted into a valid config */
        const char *path;
    } cases[] = {
        {"\"process\":{\"args\":[]}", "process.args"},
        {"\"process\":{\"args\":[\"x\"],\"cwd\":\"rel\"}", "process.cwd"},
        {"\"process\":{\"args\":[1]}", "process.args[0]"},
        {"\"process\":{\"args\":[\"x\"],\"env\":[\"A=1\",\"B\"]}", "process.env[1]"},
        {"\"process\":{\"args\":[\"x\"],\"env\":[\"=x\"]}", "process.env[0]"},
        {"\"process\":{\"args\":[\"x\"],\"terminal\":\"yes\"}", "process.terminal"},
        {"\"process\":{\"args\":[\"x\"],\"user\":{\"uid\":-1}}", "process.user.uid"},
        {"\"process\":{\"args\":[\"x\"],\"user\":{\"umask\":4096}}", "process.user.umask"},
        {"\"process\":{\"args\":[\"x\"],\"user\":{\"additionalGids\":[\"a\"]}}",
         "process.user.additionalGids[0]"},
        {"\"process\":{\"args\":[\"x\"],\"capabilities\":{\"effective\":[\"CAP_FLY\"]}}",
         "process.capabilities.effective[0]"},
        {"\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_BOGUS\"}]}",
         "process.rlimits[0].type"},
        {"\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":1,"
         "\"soft\":2}]}",
         "process.rlimits[0]"},
        {"\"process\":{\"args\":[\"x\"],\"rlimits\":[{\"type\":\"RLIMIT_CORE\"},{\"type\":"
         "\"RLIMIT_CORE\"}]}",
         "process.rlimits[1].type"},
        {"\"process\":{\"args\":[\"x\"],\"oomScoreAdj\":1001}", "process.oomScoreAdj"},
        {"\"process\":{\"args\":[\"x\"],\"ioPriority\":{\"class\":\"IOPRIO_CLASS_X\"}}",
         "process.ioPriority.class"},
        {"\"process\":{\"args\":[\"x\"],\"ioPriority\":{\"class\":\"IOPRIO_CLASS_RT\","
         "\"priority\":8}}",
         "process.ioPriority.priority"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_X\"}}",
         "process.scheduler.policy"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"nice\":40}}",
         "process.scheduler.nice"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_OTHER\",\"flags\":"
         "[\"F\"]}}",
         "process.scheduler.flags[0]"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_FIFO\"}}",
         "process.scheduler.priority"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_OTHER\","
         "\"priority\":3}}",
         "process.scheduler.priority"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_DEADLINE\","
         "\"runtime\":5,\"deadline\":2}}",
         "process.scheduler"},
        {"\"process\":{\"args\":[\"x\"],\"scheduler\":{\"policy\":\"SCHED_BATCH\","
         "\"period\":2}}",
         "process.scheduler"},
        {"\"process\":{\"args\":[\"x\"],\"consoleSize\":{\"height\":\"1\"}}",
         "process.consoleSize.height"},
        {"\"mounts\":[{\"type\":\"proc\"}]", "mounts[0].destination"},
        {"\"mounts\":[{\"destination\":\"/a\",\"options\":\"ro\"}]", "mounts[0].options"},
        {"\"mounts\":[{\"destination\":\"/a\",\"uidMappings\":[{\"size\":0}]}]",
         "mounts[0].uidMappings[0].size"},
        {"\"mounts\":{}", "mounts"},
        {"\"hooks\":{\"prestart\":[{\"path\":\"rel\"}]}", "hooks.prestart[0].path"},
        {"\"hooks\":{\"poststart\":[{\"path\":\"/x\",\"timeout\":0}]}",
         "hooks.poststart[0].timeout"},
        {"\"annotations\":{\"a\":1}", "annotations.a"},
        {"\"linux\":{\"namespaces\":[{\"type\":\"bogus\"}]}", "linux.namespaces[0].type"},
        {"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"pid\"}]}",
         "linux.namespaces[1].type"},
        {"\"linux\":{\"namespaces\":[{\"type\":\"net\"}]}", "linux.namespaces[0].type"},
        {"\"linux\":{\"namespaces\":[{\"type\":\"pid\",\"path\":\"proc/1\"}]}",
         "linux.namespaces[0].path"},
        {"\"linux\":{\"namespaces\":[{\"type\":\"user\"}]}", "linux.uidMappings"},
        {"\"linux\":{\"uidMappings\":[{\"containerID\":\"0\"}]}",
         "linux.uidMappings[0].containerID"},
        {"\"linux\":{\"timeOffsets\":{\"realtime\":{}}}", "linux.timeOffsets.realtime"},
        {"\"linux\":{\"timeOffsets\":{\"boottime\":{\"nanosecs\":1000000000}}}",
         "linux.timeOffsets.boottime.nanosecs"},
        {"\"linux\":{\"devices\":[{\"type\":\"x\",\"path\":\"/dev/x\"}]}", "linux.devices[0].type"},
        {"\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\"}]}", "linux.devices[0]"},
        {"\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"dev/x\",\"major\":1,\"minor\":1}]}",
         "linux.devices[0].path"},
        {"\"linux\":{\"devices\":[{\"type\":\"c\",\"path\":\"/dev/x\",\"major\":1,\"minor\":1,"
         "\"fileMode\":70000}]}",
         "linux.devices[0].fileMode"},
        {"\"linux\":{\"rootfsPropagation\":\"sideways\"}", "linux.rootfsPropagation"},
        {"\"linux\":{\"sysctl\":{\"../../etc\":\"1\"}}", "linux.sysctl"},
        {"\"linux\":{\"sysctl\":{\"a\":1}}", "linux.sysctl.a"},
        {"\"linux\":{\"maskedPaths\":[1]}", "linux.maskedPaths[0]"},
        {"\"linux\":{\"personality\":{\"domain\":\"BSD\"}}", "linux.personality.domain"},
        {"\"linux\":{\"cgroupsPath\":7}", "linux.cgroupsPath"},
        {"\"linux\":{\"resources\":{\"pids\":{\"limit\":\"x\"}}}", "linux.resources.pids.limit"},
        {"\"linux\":{\"seccomp\":{\"defaultAction\":\"SCMP_ACT_NOPE\"}}",
         "linux.seccomp.defaultAction"},
        {"\"hostname\":5", "hostname"},
        {"\"process\":{\"args\":[\"x\"],\"execCPUAffinity\":{\"final\":\"2-1\"}}",
         "process.execCPUAffinity.final"},
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(cases); i++) {
        char doc[2048];
        snprintf(doc, sizeof(doc), "{\"ociVersion\":\"1.2.0\",\"root\":{\"path\":\"r\"},%s}",
                 cases[i].body);
        struct oci_spec *spec = NULL;
        cleanup_error struct lcow_error *err = NULL;
        int r = oci_spec_parse(doc, strlen(doc), &spec, &err);
        if (r >= 0)
            fail_msg("case %zu accepted: %s", i, cases[i].body);
        assert_null(spec);
        assert_non_null(err);
        if (strstr(err->msg, cases[i].path) == NULL)
            fail_msg("case %zu: `%s` does not name `%s`", i, err->msg, cases[i].path);
    }
}

static void test_document_level_errors(void **state)
{
    static const char *const docs[] = {
        "",
        "[]",
        "{\"root\":{\"path\":\"r\"}}",
        "{\"ociVersion\":\"1\"}",
        "{\"ociVersion\":\"1\",\"root\":{}}",
        "{\"ociVersion\":\"1\",\"root\":{\"path\":\"r\"},}",
    };
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(docs); i++) {
        struct oci_spec *spec = NULL;
        cleanup_error struct lcow_error *err = NULL;
        assert_true(oci_spec_parse(docs[i], strlen(docs[i]), &spec, &err) < 0);
        assert_null(spec);
        assert_non_null(err);
    }
}

static void test_cpu_list(void **state)
{
    cpu_set_t set;
    assert_int_equal(oci_cpu_list_parse("0-2,5", &set), 0);
    assert_int_equal(CPU_COUNT(&set), 4);
    assert_true(CPU_ISSET(5, &set));
    assert_false(CPU_ISSET(3, &set));
    assert_int_equal(oci_cpu_list_parse("7", &set), 0);
    assert_int_equal(CPU_COUNT(&set), 1);
    static const char *const bad[] = {"", "a", "1-", "3-1", "1,,2", "1,", "-1", "99999", "1 2"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++)
        if (oci_cpu_list_parse(bad[i], &set) != -EINVAL)
            fail_msg("accepted `%s`", bad[i]);
}

static void test_mount_options(void **state)
{
    char *opts[] = {"nosuid", "nodev",    "ro",      "rw",      "rbind", "rprivate", "size=64k",
                    "rro",    "mode=755", "noatime", "rnoexec", "suid",  NULL};
    struct oci_mount_flags f;
    assert_int_equal(oci_mount_parse_options(opts, &f, NULL), 0);
    assert_int_equal(f.flags, MS_NODEV | MS_BIND | MS_REC | MS_NOATIME);
    assert_true(f.clear & MS_RDONLY);
    assert_true(f.clear & MS_NOSUID);
    assert_int_equal(f.propagation, MS_PRIVATE | MS_REC);
    assert_int_equal(f.rec_attr_set, MOUNT_ATTR_RDONLY | 0x8);
    assert_string_equal(f.data, "size=64k,mode=755");
    assert_int_equal(f.extensions, 0);
    oci_mount_flags_done(&f);

    char *atime[] = {"rnoatime", "rstrictatime", "tmpcopyup", NULL};
    assert_int_equal(oci_mount_parse_options(atime, &f, NULL), 0);
    assert_int_equal(f.rec_attr_set, 0x20); /* the last atime mode wins */
    assert_int_equal(f.rec_attr_clr, 0x70);
    assert_int_equal(f.extensions, OCI_MOUNT_EXT_TMPCOPYUP);
    assert_null(f.data);
    oci_mount_flags_done(&f);

    assert_int_equal(oci_mount_parse_options(NULL, &f, NULL), 0);
    assert_int_equal(f.flags, 0);
    oci_mount_flags_done(&f);
}

static void test_name_tables(void **state)
{
    assert_int_equal(oci_cap_from_name("CAP_SYS_ADMIN"), 21);
    assert_int_equal(oci_cap_from_name("CAP_CHECKPOINT_RESTORE"), 40);
    assert_int_equal(oci_cap_from_name("CAP_NOPE"), -1);
    assert_string_equal(oci_cap_name(0), "CAP_CHOWN");
    assert_null(oci_cap_name(99));
    for (int c = 0; c <= oci_cap_last(); c++)
        assert_int_equal(oci_cap_from_name(oci_cap_name(c)), c);

    assert_int_equal(oci_rlimit_from_name("RLIMIT_NOFILE"), RLIMIT_NOFILE);
    assert_int_equal(oci_rlimit_from_name("RLIMIT_RTTIME"), RLIMIT_RTTIME);
    assert_int_equal(oci_rlimit_from_name("NOFILE"), -1);
    assert_string_equal(oci_rlimit_name(RLIMIT_AS), "RLIMIT_AS");

    assert_int_equal(oci_signal_from_name("KILL"), SIGKILL);
    assert_int_equal(oci_signal_from_name("SIGTERM"), SIGTERM);
    assert_int_equal(oci_signal_from_name("sigusr1"), SIGUSR1);
    assert_int_equal(oci_signal_from_name("9"), 9);
    assert_int_equal(oci_signal_from_name("RTMIN+2"), SIGRTMIN + 2);
    assert_int_equal(oci_signal_from_name("SIGRTMAX-1"), SIGRTMAX - 1);
    assert_int_equal(oci_signal_from_name("0"), -1);
    assert_int_equal(oci_signal_from_name("65"), -1);
    assert_int_equal(oci_signal_from_name("RTMIN-1"), -1);
    assert_int_equal(oci_signal_from_name("BOGUS"), -1);
    assert_int_equal(oci_signal_from_name(""), -1);
    assert_string_equal(oci_signal_name(SIGHUP), "HUP");

    assert_string_equal(oci_ns_name(OCI_NS_NET), "network");
    assert_string_equal(oci_ns_proc_name(OCI_NS_MOUNT), "mnt");
    assert_int_equal(oci_ns_clone_flag(OCI_NS_USER), CLONE_NEWUSER);
    assert_null(oci_ns_name(OCI_NS_KIND_MAX));
}

/* A rootfs with symlinks that try to leave it. */
static char tmp_root[PATH_MAX];

static int make_tree(void **state)
{
    char p[PATH_MAX + 64];
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/test_oci_spec.XXXXXX");
    if (mkdtemp(tmp_root) == NULL)
        return -1;
    snprintf(p, sizeof(p), "%s/etc", tmp_root);
    mkdir(p, 0755);
    snprintf(p, sizeof(p), "%s/etc/passwd", tmp_root);
    FILE *f = fopen(p, "w");
    fputs("root:x:0:0:root:/root:/bin/sh\nbad line\nalice:x:1000:100::/home/alice:/bin/sh\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/etc/group", tmp_root);
    f = fopen(p, "w");
    fputs("root:x:0:\nusers:x:100:\nwheel:x:10:root,alice\naudio:x:29:alice\n", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/abs", tmp_root);
    if (symlink("/etc", p) < 0) /* absolute: must mean <root>/etc */
        return -1;
    snprintf(p, sizeof(p), "%s/up", tmp_root);
    if (symlink("../../../../..", p) < 0) /* climbs: must stop at <root> */
        return -1;
    snprintf(p, sizeof(p), "%s/loop", tmp_root);
    if (symlink("loop", p) < 0)
        return -1;
    return 0;
}

static int remove_tree(void **state)
{
    char *argv[] = {"rm", "-rf", tmp_root, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execvp("rm", argv);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

static void expect_inside(int root_fd, const char *path, const char *want_rel, bool fallback)
{
    int fd = oci_resolve_in_root(root_fd, path, 0, fallback);
    if (fd < 0)
        fail_msg("resolve `%s`: %s", path, strerror(-fd));
    char proc[64], got[PATH_MAX], want[PATH_MAX * 2];
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(proc, got, sizeof(got) - 1);
    assert_true(n > 0);
    got[n] = '\0';
    snprintf(want, sizeof(want), "%s%s", tmp_root, want_rel);
    if (strcmp(got, want) != 0)
        fail_msg("`%s` resolved to `%s`, want `%s` (fallback %d)", path, got, want, fallback);
    close(fd);
}

static void test_resolve_in_root(void **state)
{
    cleanup_close int root_fd = open(tmp_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    assert_true(root_fd >= 0);
    for (int fb = 0; fb < 2; fb++) {
        expect_inside(root_fd, "/abs/passwd", "/etc/passwd", fb);
        expect_inside(root_fd, "up/etc", "/etc", fb);
        expect_inside(root_fd, "/../../etc/./group", "/etc/group", fb);
        expect_inside(root_fd, "/", "", fb);
        assert_int_equal(oci_resolve_in_root(root_fd, "/loop/x", 0, fb), -ELOOP);
        assert_int_equal(oci_resolve_in_root(root_fd, "/etc/passwd/x", 0, fb), -ENOTDIR);
        assert_int_equal(oci_resolve_in_root(root_fd, "/missing", 0, fb), -ENOENT);
    }
    /* Creation follows the symlinks inside the root too. */
    int fd = oci_resolve_in_root(root_fd, "/abs/new/dir", S_IFDIR, false);
    assert_true(fd >= 0);
    close(fd);
    expect_inside(root_fd, "/etc/new/dir", "/etc/new/dir", true);
    fd = oci_resolve_in_root(root_fd, "/up/up/file", S_IFREG, true);
    assert_true(fd >= 0);
    close(fd);
    char p[PATH_MAX + 16];
    struct stat st;
    snprintf(p, sizeof(p), "%s/file", tmp_root);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISREG(st.st_mode));
}

static void test_user_lookup(void **state)
{
    cleanup_close int root_fd = open(tmp_root, O_PATH | O_DIRECTORY | O_CLOEXEC);
    cleanup_free char *home = NULL;
    cleanup_free gid_t *groups = NULL;
    size_t n = 0;
    assert_int_equal(oci_user_lookup(root_fd, 1000, 100, true, &home, &groups, &n, NULL), 0);
    assert_string_equal(home, "/home/alice");
    assert_int_equal(n, 2);
    assert_int_equal(groups[0], 10);
    assert_int_equal(groups[1], 29);
    free(home);
    home = NULL;
    n = 0;
    assert_int_equal(oci_user_lookup(root_fd, 1000, 100, false, &home, &groups, &n, NULL), 0);
    assert_int_equal(n, 0);
    free(home);
    home = NULL;
    assert_int_equal(oci_user_lookup(root_fd, 4242, 0, true, &home, &groups, &n, NULL), 0);
    assert_null(home);

    uint32_t id = 0, gid = 0;
    assert_int_equal(oci_user_resolve_name(root_fd, false, "alice", &id, &gid, NULL), 0);
    assert_int_equal(id, 1000);
    assert_int_equal(gid, 100);
    assert_int_equal(oci_user_resolve_name(root_fd, true, "audio", &id, NULL, NULL), 0);
    assert_int_equal(id, 29);
    assert_int_equal(oci_user_resolve_name(root_fd, false, "777", &id, &gid, NULL), 0);
    assert_int_equal(id, 777);
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(oci_user_resolve_name(root_fd, false, "mallory", &id, &gid, &err), -ENOENT);
    assert_non_null(strstr(err->msg, "mallory"));
}

static void test_state_helpers(void **state)
{
    static const char *const good[] = {"a", "c-1", "A_b.c+d", "0"};
    static const char *const bad[] = {"", ".", "..", "a/b", "a b", "x\n", "ä"};
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(good); i++)
        assert_int_equal(oci_state_validate_id(good[i], NULL), 0);
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(bad); i++)
        assert_int_equal(oci_state_validate_id(bad[i], NULL), -EINVAL);
    char ts[64];
    oci_rfc3339_now(ts, sizeof(ts));
    assert_true(strlen(ts) >= 20);
    assert_int_equal(ts[4], '-');
    assert_int_equal(ts[10], 'T');
    assert_int_equal(ts[strlen(ts) - 1], 'Z');

    struct oci_kv ann = {"k", "v"};
    struct oci_state st = {.id = "c1",
                           .oci_version = "1.2.0",
                           .pid = 42,
                           .bundle = "/b",
                           .rootfs = "/b/rootfs",
                           .created = ts,
                           .owner = "",
                           .annotations = &ann,
                           .n_annotations = 1};
    cleanup_free char *stopped = oci_state_to_json(&st, OCI_STATUS_STOPPED, false);
    assert_non_null(strstr(stopped, "\"pid\":0"));
    assert_non_null(strstr(stopped, "\"status\":\"stopped\""));
    assert_non_null(strstr(stopped, "\"annotations\":{\"k\":\"v\"}"));
    cleanup_free char *running = oci_state_to_json(&st, OCI_STATUS_RUNNING, true);
    assert_non_null(strstr(running, "\"pid\": 42"));
    assert_non_null(strstr(running, "\"rootfs\": \"/b/rootfs\""));
}

/* write(parse(x)) is a fixed point: parsing it again and writing gives the same text, and the
 * structs keep every field (checked on the richest config). */
static void test_write_round_trip(void **state)
{
    cleanup_oci_spec struct oci_spec *a = parse_ok(full_config);
    cleanup_free char *t1 = NULL, *t2 = NULL;
    assert_int_equal(oci_spec_write(a, &t1, NULL), 0);
    cleanup_oci_spec struct oci_spec *b = parse_ok(t1);
    assert_int_equal(oci_spec_write(b, &t2, NULL), 0);
    assert_string_equal(t1, t2);
    assert_int_equal(b->process->caps.bounding, a->process->caps.bounding);
    assert_int_equal(b->process->rlimits[0].soft, 512);
    assert_int_equal(b->process->scheduler.flags, 1);
    assert_int_equal(b->process->io_priority_class, 2);
    assert_int_equal(b->linux_->rootfs_propagation, MS_SLAVE | MS_REC);
    assert_int_equal(b->linux_->time_boottime_secs, -3);
    assert_int_equal(b->linux_->personality, PER_LINUX32);
    assert_true(b->linux_->resources->pids.limit.set);
    assert_int_equal(b->linux_->seccomp->n_syscalls, 1);
    assert_string_equal(b->linux_->namespaces[OCI_NS_NET].path, "/proc/1/ns/net");
    assert_int_equal(b->hooks[OCI_HOOK_PRESTART][0].timeout, 5);
    assert_string_equal(b->mounts[1].destination, "/data");
    assert_false(b->linux_->devices[0].has_file_mode == false);
}

/* The fuzz seeds (and any crash input added to them) parse, or fail with a message. */
static void test_fuzz_corpus_replay(void **state)
{
    const char *top = getenv("LCOW_TOP");
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/fuzz_oci_spec", top ? top : ".");
    cleanup_dir DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL)
        skip();
    for (struct dirent *e; (e = readdir(d));) {
        char path[PATH_MAX * 2];
        cleanup_free char *buf = NULL;
        size_t len = 0;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        assert_int_equal(lcow_read_file(path, 1 << 22, &buf, &len, NULL), 0);
        struct oci_spec *spec = NULL;
        cleanup_error struct lcow_error *err = NULL;
        if (oci_spec_parse(buf, len, &spec, &err) < 0)
            assert_non_null(err);
        oci_spec_free(spec);
        n++;
    }
    assert_true(n >= 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_config),          cmocka_unit_test(test_minimal_and_go_rules),
        cmocka_unit_test(test_bad_values_name_path), cmocka_unit_test(test_document_level_errors),
        cmocka_unit_test(test_mount_options),        cmocka_unit_test(test_cpu_list),
        cmocka_unit_test(test_name_tables),          cmocka_unit_test(test_resolve_in_root),
        cmocka_unit_test(test_user_lookup),          cmocka_unit_test(test_state_helpers),
        cmocka_unit_test(test_write_round_trip),     cmocka_unit_test(test_fuzz_corpus_replay),
    };
    return cmocka_run_group_tests(tests, make_tree, remove_tree);
}
