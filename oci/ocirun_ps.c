/* `ocirun pause`, `resume` (the freezer: v1 freezer.state or v2 cgroup.freeze, through
 * oci/cgroup.h) and `ps` (the container cgroup's pids: `--format json` prints them as one
 * JSON array; the table is the host's `ps` output, header plus the container's lines, as
 * runc does). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/log.h"
#include "oci/cgroup.h"
#include "oci/ocirun_ext.h"

#define PS_OUTPUT_MAX (16u << 20)

/* ---- pause / resume ---- */

static int freeze_cmd(const char *cmd, int argc, char **argv, bool freeze)
{
    cleanup_error struct lcow_error *err = NULL;
    struct ocirun_args a;
    struct oci_state st = {0};
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    char dir[4096];
    if (ocirun_parse(cmd, NULL, 0, argc, argv, 0, &a))
        return 1;
    int code = a.n_pos == 1 ? 0 : ocirun_fail(1, "%s: exactly one container id is required", cmd);
    if (code == 0 && (code = ocirun_load(a.pos[0], &st, dir, sizeof(dir), 1)) == 0) {
        bool paused = false;
        const char *s = ocirun_status(dir, &st, &paused);
        bool live = strcmp(s, "running") == 0 || strcmp(s, "created") == 0;
        if (freeze && !live)
            code = ocirun_fail(1, "container not running");
        else if (!freeze && !paused)
            code = ocirun_fail(1, "container not paused");
        else if (ocirun_cgroup_open(&st, &layout, &cg, &err) < 0 ||
                 oci_cgroup_freeze(cg, freeze, &err) < 0)
            code = ocirun_fail(1, "%s", lcow_error_message(err));
        else
            lcow_debug("%s `%s`: cgroup %s", cmd, st.id, freeze ? "frozen" : "thawed");
        ocirun_cgroup_close(layout, cg);
        oci_state_done(&st);
    }
    ocirun_args_done(&a);
    return code;
}

int ocirun_cmd_pause(int argc, char **argv)
{
    return freeze_cmd("pause", argc, argv, true);
}

int ocirun_cmd_resume(int argc, char **argv)
{
    return freeze_cmd("resume", argc, argv, false);
}

/* ---- ps ---- */

enum { P_FORMAT };
static const struct ocirun_opt ps_opts[] = {
    [P_FORMAT] = {"format", 'f', OPT_VALUE},
};

/* Runs `ps ARGS...` (fork/exec, no shell) and returns its whole stdout. */
static int run_ps(char **args, int n, char **ret, struct lcow_error **err)
{
    int pfd[2];
    cleanup_free char **argv = calloc((size_t)n + 2, sizeof(char *));
    if (argv == NULL)
        return lcow_error_make(err, ENOMEM, "out of memory");
    argv[0] = (char *)"ps";
    for (int i = 0; i < n; i++)
        argv[i + 1] = args[i];
    if (pipe2(pfd, O_CLOEXEC) < 0)
        return lcow_error_errno(err, "pipe");
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return lcow_error_errno(err, "fork");
    }
    if (pid == 0) {
        if (dup2(pfd[1], 1) < 0)
            _exit(127);
        execvp("ps", argv);
        _exit(127);
    }
    close(pfd[1]);
    cleanup_close int rfd = pfd[0];
    size_t len = 0, cap = 0;
    char *buf = NULL;
    for (;;) {
        if (len + 4097 > cap) {
            char *nb = cap < PS_OUTPUT_MAX ? realloc(buf, cap = cap ? cap * 2 : 8192) : NULL;
            if (nb == NULL)
                break;
            buf = nb;
        }
        ssize_t r = LCOW_RETRY_EINTR(read(rfd, buf + len, 4096));
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    int status = 0;
    (void)LCOW_RETRY_EINTR(waitpid(pid, &status, 0));
    if (buf == NULL || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        free(buf);
        return lcow_error_make(err, EIO, "ps %s: failed (exit status %d)", n ? args[0] : "",
                               WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
    buf[len] = '\0';
    *ret = buf;
    return 0;
}

static bool has_pid(const pid_t *pids, size_t n, long pid)
{
    for (size_t i = 0; i < n; i++)
        if (pids[i] == pid)
            return true;
    return false;
}

/* Header plus the lines whose PID column names one of pids (runc's filter). */
static int ps_table(char **args, int n, const pid_t *pids, size_t n_pids, struct lcow_error **err)
{
    cleanup_free char *out = NULL;
    char *def[] = {(char *)"-ef"};
    int r = run_ps(n ? args : def, n ? n : 1, &out, err);
    if (r < 0)
        return r;
    char *save = NULL;
    char *header = strtok_r(out, "\n", &save);
    if (header == NULL)
        return lcow_error_make(err, EIO, "ps: no output");
    /* Which whitespace-separated column is PID. */
    int col = -1, i = 0;
    cleanup_free char *h = strdup(header);
    char *hs = NULL;
    for (char *f = h ? strtok_r(h, " \t", &hs) : NULL; f; f = strtok_r(NULL, " \t", &hs), i++)
        if (strcmp(f, "PID") == 0)
            col = i;
    if (col < 0)
        return lcow_error_make(err, EINVAL, "couldn't find PID field in ps output");
    printf("%s\n", header);
    for (char *line = strtok_r(NULL, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char copy[4096], *ls = NULL, *f;
        snprintf(copy, sizeof(copy), "%s", line);
        f = strtok_r(copy, " \t", &ls);
        for (int k = 0; f && k < col; k++)
            f = strtok_r(NULL, " \t", &ls);
        if (f && has_pid(pids, n_pids, strtol(f, NULL, 10)))
            printf("%s\n", line);
    }
    return 0;
}

int ocirun_cmd_ps(int argc, char **argv)
{
    cleanup_error struct lcow_error *err = NULL;
    struct ocirun_args a;
    struct oci_state st = {0};
    struct oci_cgroup_layout *layout = NULL;
    struct oci_cgroup *cg = NULL;
    cleanup_free pid_t *pids = NULL;
    size_t n = 0;
    char dir[4096];
    if (ocirun_parse("ps", ps_opts, LCOW_ARRAY_SIZE(ps_opts), argc, argv, 1, &a))
        return 1;
    const char *fmt = a.value[P_FORMAT] ? a.value[P_FORMAT] : "table";
    bool json = strcmp(fmt, "json") == 0;
    int code = 0;
    if (!json && strcmp(fmt, "table") != 0)
        code = ocirun_fail(1, "ps: invalid format option `%s`", fmt);
    else if (a.n_pos < 1)
        code = ocirun_fail(1, "ps: a container id is required");
    else if ((code = ocirun_load(a.pos[0], &st, dir, sizeof(dir), 1)) == 0) {
        /* A stopped container is listed too (empty), as runc does until it is deleted. */
        if (json && a.n_pos > 1)
            code = ocirun_fail(1, "ps: extra arguments are not allowed with --format json");
        else if (ocirun_cgroup_open(&st, &layout, &cg, &err) < 0 ||
                 oci_cgroup_pids(cg, &pids, &n, &err) < 0)
            code = ocirun_fail(1, "%s", lcow_error_message(err));
        else if (json && n == 0) {
            puts("null"); /* Go's encoding of runc's empty (nil) pid slice */
        } else if (json) {
            fputc('[', stdout);
            for (size_t i = 0; i < n; i++)
                printf("%s%d", i ? "," : "", (int)pids[i]);
            fputs("]\n", stdout);
        } else if (ps_table(a.pos + 1, a.n_pos - 1, pids, n, &err) < 0)
            code = ocirun_fail(1, "%s", lcow_error_message(err));
        ocirun_cgroup_close(layout, cg);
        oci_state_done(&st);
    }
    ocirun_args_done(&a);
    return code;
}
