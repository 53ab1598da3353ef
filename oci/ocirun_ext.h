/* ocirun's part-2 verbs (exec, pause, resume, ps, update, events, features) and the -h texts
 * of every command, in oci/ocirun_*.c. ocirun.c's main() hands each command to
 * ocirun_ext_dispatch() first; what it does not claim goes to ocirun.c's own table.
 *
 * Exit codes as runc: 0, 1 for a failed command, 255 for a runtime failure of `exec` (the
 * exec'd process's own status otherwise). Errors go to stderr and, with --log, to the log as
 * a record at level error (the last one is what containerd's shim shows). */
#ifndef LCOW_OCI_OCIRUN_EXT_H
#define LCOW_OCI_OCIRUN_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/error.h"
#include "oci/state.h"

struct ocirun_globals {
    const char *root; /* --root */
    const char *log;  /* --log, NULL: stderr */
    bool log_json;
    bool debug;
};

/* Runs `cmd` when it is one of part 2's, or prints its help for -h/--help: returns true and
 * the exit code in *ret_code. False: not ours, nothing done. */
bool ocirun_ext_dispatch(const struct ocirun_globals *g, const char *cmd, int argc, char **argv,
                         int *ret_code);

/* ---- shared by the ocirun_*.c files ---- */

extern const struct ocirun_globals *ocirun_g;

/* An option of one command: a flag, a value, or a value that may repeat (OPT_LIST). */
enum ocirun_opt_kind { OPT_FLAG, OPT_VALUE, OPT_LIST };
struct ocirun_opt {
    const char *name; /* long name without "--" */
    char short_name;  /* 0: none */
    enum ocirun_opt_kind kind;
};

#define OCIRUN_MAX_LIST 256

/* Parsed command line: values indexed like the command's option table. */
struct ocirun_args {
    const char *value[32];
    bool set[32];
    const char **list[32];
    size_t n_list[32];
    char **pos; /* positionals (borrowed from argv) */
    int n_pos;
};

/* Parses argv with runc's rules: options before and after the container id; with
 * `stop_after` > 0, everything after that many positionals is positional too (exec and ps:
 * 1, their command or ps arguments follow the id, as in runc). 0 or 1 (reported). */
int ocirun_parse(const char *cmd, const struct ocirun_opt *opts, size_t n_opts, int argc,
                 char **argv, int stop_after, struct ocirun_args *ret);
void ocirun_args_done(struct ocirun_args *a);

/* One error line to stderr (and the log at level error); returns `code`. */
__attribute__((format(printf, 2, 3))) int ocirun_fail(int code, const char *fmt, ...);

/* A container's state and its directory; 0 or 1 (reported). */
int ocirun_load(const char *id, struct oci_state *st, char *dir, size_t cap, int fail_code);

struct oci_cgroup;
struct oci_cgroup_layout;
/* Opens the container's cgroup; both freed by ocirun_cgroup_close. */
int ocirun_cgroup_open(const struct oci_state *st, struct oci_cgroup_layout **layout,
                       struct oci_cgroup **cg, struct lcow_error **err);
void ocirun_cgroup_close(struct oci_cgroup_layout *layout, struct oci_cgroup *cg);

/* The status with "paused" (runc's): a created or running container whose cgroup is frozen. */
const char *ocirun_status(const char *dir, const struct oci_state *st, bool *ret_paused);

/* Writes `pid` to `path` (relative to the caller's cwd) atomically. */
int ocirun_write_pid_file(const char *path, pid_t pid, struct lcow_error **err);

/* The verbs. */
int ocirun_cmd_exec(int argc, char **argv);
int ocirun_cmd_pause(int argc, char **argv);
int ocirun_cmd_resume(int argc, char **argv);
int ocirun_cmd_ps(int argc, char **argv);
int ocirun_cmd_update(int argc, char **argv);
int ocirun_cmd_events(int argc, char **argv);
int ocirun_cmd_features(int argc, char **argv);

#endif
