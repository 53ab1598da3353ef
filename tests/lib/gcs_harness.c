/* The integration tests' gcs-over-unix harness: see gcs_harness.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "tests/lib/gcs_harness.h"

int gh_init(struct gcs_harness *h, const char *name)
{
    memset(h, 0, sizeof(*h));
    h->gcs = -1;
    char dir[sizeof(h->dir)];
    snprintf(dir, sizeof(dir), "/tmp/%s-XXXXXX", name);
    if (!mkdtemp(dir))
        return -errno;
    memcpy(h->dir, dir, sizeof(dir)); /* set only once it exists: gh_teardown removes it */
    snprintf(h->addr, sizeof(h->addr), "unix:%s/b", h->dir);
    snprintf(h->log, sizeof(h->log), "%s/gcs.log", h->dir);
    snprintf(h->rootfs, sizeof(h->rootfs), "%s/rootfs", h->dir);
    snprintf(h->devroot, sizeof(h->devroot), "%s/dev", h->dir);
    /* pid and clock: two runs (or a leftover of a killed one) never share a cgroup. */
    snprintf(h->cgroot, sizeof(h->cgroot), "/%s-%d-%ld", name, (int)getpid(),
             (long)(lcow_now_ns() % 1000000));
    return 0;
}

void gh_bin_path(char *buf, size_t cap, const char *name)
{
    const char *top = getenv("LCOW_TOP"), *build = getenv("BUILD");
    snprintf(buf, cap, "%s/%s/bin/%s", top ? top : ".", build && build[0] ? build : "build", name);
}

pid_t gh_spawn(const char *const *argv, int in, int out)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        /* Even if the test is killed (timeout), its gcs does not outlive it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (in >= 0)
            dup2(in, 0);
        if (out >= 0)
            dup2(out, 1);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

int gh_start(struct gcs_harness *h, const char *const *argv, bool negotiate, int timeout_ms,
             struct lcow_error **err)
{
    int r = host_bridge_listen(h->addr, &h->b, err);
    if (r < 0)
        return r;
    pid_t pid = gh_spawn(argv, -1, -1);
    if (pid < 0)
        return lcow_error_make(err, (int)-pid, "fork for `%s`", argv[0]);
    h->gcs = pid;
    r = host_bridge_accept(h->b, timeout_ms, err);
    if (r == 0 && negotiate)
        r = host_bridge_negotiate(h->b, timeout_ms, err);
    return r;
}

static int write_text(const char *path, const char *text)
{
    return lcow_write_file(path, text, strlen(text), O_WRONLY | O_CREAT | O_TRUNC, 0644, NULL);
}

static int make_dirs(const char *root)
{
    static const char *const dirs[] = {"bin", "etc", "proc", "dev", "tmp", "shared"};
    char p[512];
    if (mkdir(root, 0755) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", root, dirs[i]);
        if (mkdir(p, 0755) < 0)
            return -errno;
    }
    return 0;
}

static int make_etc(const char *root)
{
    static const char *const empty[] = {"hostname", "hosts", "resolv.conf"};
    char p[512];
    int r;
    snprintf(p, sizeof(p), "%s/etc/passwd", root);
    r = write_text(p, "root:x:0:0:root:/root:/bin/sh\nguest:x:1234:2345:guest:/tmp:/bin/sh\n");
    if (r < 0)
        return r;
    snprintf(p, sizeof(p), "%s/etc/group", root);
    r = write_text(p, "root:x:0:\nguests:x:2345:\nother:x:3456:\n");
    for (size_t i = 0; r == 0 && i < sizeof(empty) / sizeof(empty[0]); i++) {
        snprintf(p, sizeof(p), "%s/etc/%s", root, empty[i]);
        r = write_text(p, "");
    }
    return r;
}

int gh_make_rootfs(const char *root, const char *const *applets)
{
    char p[512];
    int r = make_dirs(root);
    if (r < 0)
        return r;
    cleanup_free char *bb = NULL;
    size_t len = 0;
    r = lcow_read_file("/bin/busybox", 64u << 20, &bb, &len, NULL);
    if (r < 0)
        return r;
    snprintf(p, sizeof(p), "%s/bin/busybox", root);
    r = lcow_write_file(p, bb, len, O_WRONLY | O_CREAT | O_TRUNC, 0755, NULL);
    if (r < 0)
        return r;
    for (; *applets; applets++) {
        snprintf(p, sizeof(p), "%s/bin/%s", root, *applets);
        if (symlink("busybox", p) < 0)
            return -errno;
    }
    return make_etc(root);
}

int gh_make_devroot(struct gcs_harness *h)
{
    static const struct {
        const char *name;
        unsigned minor;
    } nodes[] = {{"fakezero", 5}, {"fakenull", 3}};
    char p[160];
    if (mkdir(h->devroot, 0755) < 0)
        return -errno;
    for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", h->devroot, nodes[i].name);
        if (mknod(p, S_IFCHR | 0666, makedev(1, nodes[i].minor)) < 0)
            return -errno;
    }
    return 0;
}

void gh_stop(struct gcs_harness *h)
{
    if (h->gcs > 0) {
        kill(h->gcs, SIGKILL);
        waitpid(h->gcs, NULL, 0);
    }
    h->gcs = -1;
    host_bridge_free(h->b);
    h->b = NULL;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)st;
    (void)w;
    if (flag == FTW_DP || flag == FTW_D)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* cgroup dirs hold no files one can unlink: plain rmdir in post-order. */
static int rm_cgroup(const char *path, const struct stat *st, int flag, struct FTW *w)
{
    (void)st;
    (void)w;
    if (flag == FTW_DP)
        rmdir(path);
    return 0;
}

void gh_remove_cgroups(const char *cgroot)
{
    /* Never a hierarchy's root: a fixture without a cgroot (or a failed gh_init) has "". */
    if (cgroot[0] != '/' || !cgroot[1] || strchr(cgroot, '.'))
        return;
    cleanup_dir DIR *d = opendir("/sys/fs/cgroup");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char p[512];
        struct stat st;
        snprintf(p, sizeof(p), "/sys/fs/cgroup/%s%s", de->d_name, cgroot);
        if (de->d_name[0] != '.' && stat(p, &st) == 0)
            nftw(p, rm_cgroup, 16, FTW_DEPTH | FTW_PHYS);
    }
}

/* Deepest first, so that stacked mounts come off one by one (a failed test may leave sandbox
 * mounts behind). */
void gh_unmount_under(const char *dir)
{
    for (int i = 0; i < 64; i++) {
        cleanup_free char *mi = NULL;
        if (lcow_read_file("/proc/self/mountinfo", 16u << 20, &mi, NULL, NULL) < 0)
            return;
        char best[512] = "";
        char *save = NULL;
        for (char *l = strtok_r(mi, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            char mp[512];
            if (sscanf(l, "%*s %*s %*s %*s %511s", mp) == 1 && strncmp(mp, dir, strlen(dir)) == 0 &&
                strlen(mp) > strlen(best))
                snprintf(best, sizeof(best), "%s", mp);
        }
        if (!best[0] || umount2(best, MNT_DETACH) < 0)
            return;
    }
}

void gh_remove_tree(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

void gh_teardown(struct gcs_harness *h)
{
    gh_stop(h);
    if (!h->dir[0])
        return; /* gh_init did not make the tree: nothing of ours to remove */
    /* Container inits re-parented to gcs die with their pid namespace: give them a moment
     * before their cgroups go. */
    usleep(100 * 1000);
    gh_unmount_under(h->dir);
    gh_remove_cgroups(h->cgroot);
    gh_remove_tree(h->dir);
}
