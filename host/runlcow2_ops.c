/* See runlcow2.h. Client verbs talk to the container's supervisor over its control socket
 * (ctl.c); the supervisor answers them with rl2_ctl_op() on its own bridge and QMP. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/io.h"
#include "common/json.h"
#include "gcs/protocol.h"
#include "host/bridge_client.h"
#include "host/qmp.h"
#include "host/runlcow2.h"

#define CALL_MS       30000
#define RESOURCES_MAX (1u << 20)

/* ---- supervisor side -------------------------------------------------------------------- */

/* GetProperties for the container with one PropertyType. */
static int get_properties(const struct rl2_target *t, const char *type,
                          struct gcs_get_properties_response *ret, struct lcow_error **err)
{
    char *types[] = {(char *)type, NULL};
    struct gcs_get_properties_request q = {
        .base = {.container_id = (char *)t->id, .activity_id = GCS_ZERO_GUID},
        .query = {.property_types = types},
    };
    cleanup_free char *payload = NULL;
    int r = gcs_encode_get_properties_request(&q, &payload, err);
    if (r < 0)
        return r;
    struct host_message m = {0};
    if ((r = host_bridge_call(t->bridge, GCS_MSG_GET_PROPERTIES, payload, CALL_MS, &m, err)) < 0)
        return lcow_error_wrap(err, "GetProperties %s", type);
    int32_t result = 0;
    cleanup_free char *msg = NULL;
    r = host_message_result(&m, &result, &msg, err);
    if (r >= 0 && result != 0)
        r = lcow_error_make(err, EREMOTEIO, "GetProperties %s: the GCS answered 0x%08x: %s", type,
                            (unsigned)result, msg ? msg : "");
    if (r >= 0)
        r = gcs_decode_get_properties_response(m.payload, m.len, ret, err);
    host_message_done(&m);
    return r;
}

static int op_ps(const struct rl2_target *t, struct json_object *req, struct json_object **ret,
                 struct lcow_error **err)
{
    struct gcs_get_properties_response resp = {0};
    int r = get_properties(t, "ProcessList", &resp, err);
    if (r < 0)
        return r;
    struct json_object *pids = json_object_new_array();
    for (size_t i = 0; i < resp.properties.n_process_ids; i++)
        json_object_array_add(pids, json_object_new_int64(resp.properties.process_ids[i]));
    gcs_get_properties_response_done(&resp);
    *ret = json_object_new_object();
    json_object_object_add(*ret, "pids", pids);
    return 0;
}

static int op_stats(const struct rl2_target *t, struct json_object *req, struct json_object **ret,
                    struct lcow_error **err)
{
    struct gcs_get_properties_response resp = {0};
    int r = get_properties(t, "Statistics", &resp, err);
    if (r < 0)
        return r;
    *ret = json_object_new_object();
    json_object_object_add(*ret, "stats",
                           resp.properties.lcow_metrics
                               ? json_object_get(resp.properties.lcow_metrics)
                               : json_object_new_object());
    gcs_get_properties_response_done(&resp);
    return 0;
}

static int op_update(const struct rl2_target *t, struct json_object *req, struct json_object **ret,
                     struct lcow_error **err)
{
    struct json_object *res = NULL;
    int r = lcow_json_get_object(req, "", "resources", &res, err);
    if (r < 0)
        return r;
    if (!res)
        return lcow_error_make(err, EINVAL, "update: no resources");
    struct gcs_modify_request q = {.resource_type = GCS_RESOURCE_CONTAINER_CONSTRAINTS,
                                   .request_type = GCS_REQUEST_UPDATE,
                                   .request_type_name = "Update",
                                   .has_settings = true};
    q.settings.container_constraints.linux_resources = res;
    int32_t result = 0;
    r = host_bridge_modify(t->bridge, t->id, &q, CALL_MS, &result, err);
    if (r < 0)
        return lcow_error_wrap(err, "ContainerConstraints Update");
    *ret = json_object_new_object();
    json_object_object_add(*ret, "ok", json_object_new_boolean(1));
    return 0;
}

/* Freezes or thaws the container's cgroup with a process run in the UVM (ExecuteProcess for
 * the UVM id, as hcsshim's external processes): the bridge has no pause message, and stopping
 * the whole VM (QMP stop) also stops the vsock device under the bridge. The script finds the
 * init's cgroup itself (v2 cgroup.freeze, else the v1 freezer) and waits until it is frozen. */
static const char freeze_script[] =
    "pid=$1 v2=$2 v1=$3\n"
    "cg=$(sed -n 's/^0:://p' /proc/$pid/cgroup)\n"
    "if [ -n \"$cg\" ] && [ -e \"/sys/fs/cgroup$cg/cgroup.freeze\" ]; then\n"
    "  d=/sys/fs/cgroup$cg; echo $v2 > $d/cgroup.freeze || exit 1\n"
    "  i=0; until grep -qx \"frozen $v2\" $d/cgroup.events; do\n"
    "    i=$((i+1)); [ $i -gt 200 ] && exit 2; sleep 0.01; done; exit 0\n"
    "fi\n"
    "f=$(sed -n 's/^[0-9]*:freezer://p' /proc/$pid/cgroup)\n"
    "[ -n \"$f\" ] || exit 3\n"
    "echo $v1 > /sys/fs/cgroup/freezer$f/freezer.state || exit 1\n"
    "i=0; until grep -qx $v1 /sys/fs/cgroup/freezer$f/freezer.state; do\n"
    "  i=$((i+1)); [ $i -gt 200 ] && exit 2; sleep 0.01; done\n";

static int op_freeze(const struct rl2_target *t, bool pause, struct json_object **ret,
                     struct lcow_error **err)
{
    if (*t->paused == pause)
        return lcow_error_make(err, EINVAL, "container %s is %s", t->id,
                               pause ? "paused already" : "not paused");
    char pid[16];
    snprintf(pid, sizeof(pid), "%u", t->init_pid);
    const char *argv[] = {"/bin/sh",
                          "-c",
                          freeze_script,
                          "freeze",
                          pid,
                          pause ? "1" : "0",
                          pause ? "FROZEN" : "THAWED",
                          NULL};
    struct host_exec x = {.argv = argv, .cwd = "/"};
    struct host_process p = {.fd = {-1, -1, -1}};
    int r = host_bridge_exec(t->bridge, NULL, &x, CALL_MS, &p, NULL, err);
    if (r < 0)
        return lcow_error_wrap(err, "%s: start the freezer process", pause ? "pause" : "resume");
    uint32_t code = 0;
    r = host_bridge_wait_process(t->bridge, NULL, p.pid, CALL_MS, CALL_MS + 5000, &code, NULL, err);
    host_process_close(&p);
    if (r < 0)
        return lcow_error_wrap(err, "%s: wait for the freezer process", pause ? "pause" : "resume");
    if (code != 0)
        return lcow_error_make(err, EIO, "%s %s: the freezer process exited with %u (%s)",
                               pause ? "pause" : "resume", t->id, code,
                               code == 2   ? "timed out"
                               : code == 3 ? "no freezer cgroup"
                                           : "write failed");
    *t->paused = pause;
    *ret = json_object_new_object();
    json_object_object_add(*ret, "ok", json_object_new_boolean(1));
    return 0;
}

static int op_pause(const struct rl2_target *t, struct json_object *req, struct json_object **ret,
                    struct lcow_error **err)
{
    return op_freeze(t, true, ret, err);
}

static int op_resume(const struct rl2_target *t, struct json_object *req, struct json_object **ret,
                     struct lcow_error **err)
{
    return op_freeze(t, false, ret, err);
}

static const struct {
    const char *op;
    int (*fn)(const struct rl2_target *, struct json_object *, struct json_object **,
              struct lcow_error **);
    bool needs_bridge; /* the GCS must answer: not while the VM is stopped */
} ctl_ops[] = {
    {"ps", op_ps, true},        {"stats", op_stats, true},    {"update", op_update, true},
    {"pause", op_pause, false}, {"resume", op_resume, false},
};

int rl2_ctl_op(const struct rl2_target *t, const char *op, struct json_object *req,
               struct json_object **ret_reply, struct lcow_error **err)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(ctl_ops); i++) {
        if (strcmp(op, ctl_ops[i].op) != 0)
            continue;
        if (!t->running || (ctl_ops[i].needs_bridge && !t->bridge))
            return lcow_error_make(err, EINVAL, "container %s is not running", t->id);
        return ctl_ops[i].fn(t, req, ret_reply, err);
    }
    return -ENOENT;
}

/* ---- client side --------------------------------------------------------------------------- */

/* One request to the supervisor of a running container; *ret is its reply. */
static int call_running(struct rl_globals *g, const char *id, struct json_object *req,
                        struct json_object **ret, struct lcow_error **err)
{
    struct rl_state st = {0};
    int r = rl_state_read(g, id, &st, err);
    if (r < 0)
        return r;
    enum rl_status status = st.status;
    rl_state_done(&st);
    /* By name: "paused" is a state of runlcow.h's enum only once pause exists there. */
    if (status != RL_RUNNING && strcmp(rl_status_name(status), "paused") != 0)
        return lcow_error_make(err, EINVAL, "container %s is not running (%s)", id,
                               rl_status_name(status));
    cleanup_free char *dir = rl_dir(g, id);
    if (!dir)
        return lcow_error_make(err, ENOMEM, "state dir");
    return rl_ctl_call(dir, req, NULL, 0, 60000, NULL, ret, err);
}

static struct json_object *op_request(const char *op)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "op", json_object_new_string(op));
    return o;
}

/* Options may come before or after the id (runc permutes its arguments). */
static const char *one_id(int argc, char **argv, const char *usage)
{
    if (optind != argc - 1) {
        fprintf(stderr, "runlcow: usage: runlcow %s\n", usage);
        return NULL;
    }
    return argv[optind];
}

int rl2_cmd_ps(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"format", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    const char *format = "table";
    int c;
    while ((c = getopt_long(argc, argv, "f:", opts, NULL)) != -1) {
        if (c != 'f')
            return rl_failf("usage: runlcow ps [--format table|json] ID");
        format = optarg;
    }
    if (strcmp(format, "json") != 0 && strcmp(format, "table") != 0)
        return rl_failf("invalid format option `%s`", format);
    const char *id = one_id(argc, argv, "ps [--format table|json] ID");
    if (!id)
        return 1;
    cleanup_error struct lcow_error *err = NULL;
    cleanup_json struct json_object *req = op_request("ps"), *rep = NULL;
    if (call_running(g, id, req, &rep, &err) < 0)
        return rl_fail(err);
    struct json_object *pids = lcow_json_field(rep, "pids");
    if (strcmp(format, "json") == 0) {
        printf("%s\n", pids ? json_object_to_json_string_ext(pids, JSON_C_TO_STRING_PLAIN) : "[]");
        return 0;
    }
    /* Guest pids: the host has no process of its own for them (runc's table is `ps -ef`). */
    printf("PID\n");
    for (size_t i = 0; pids && i < json_object_array_length(pids); i++)
        printf("%" PRId64 "\n", json_object_get_int64(json_object_array_get_idx(pids, i)));
    return 0;
}

static int simple_op(struct rl_globals *g, int argc, char **argv, const char *op)
{
    char usage[32];
    snprintf(usage, sizeof(usage), "%s ID", op);
    if (getopt_long(argc, argv, "", (const struct option[]){{NULL, 0, NULL, 0}}, NULL) != -1)
        return rl_failf("usage: runlcow %s", usage);
    const char *id = one_id(argc, argv, usage);
    if (!id)
        return 1;
    cleanup_error struct lcow_error *err = NULL;
    cleanup_json struct json_object *req = op_request(op), *rep = NULL;
    if (call_running(g, id, req, &rep, &err) < 0)
        return rl_fail(err);
    return 0;
}

int rl2_cmd_pause(struct rl_globals *g, int argc, char **argv)
{
    return simple_op(g, argc, argv, "pause");
}

int rl2_cmd_resume(struct rl_globals *g, int argc, char **argv)
{
    return simple_op(g, argc, argv, "resume");
}

/* Sets path (e.g. "memory"/"limit") in res to the integer s. */
static int set_res(struct json_object *res, const char *group, const char *key, const char *s)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !*s || *end)
        return -EINVAL;
    struct json_object *g = NULL;
    if (!json_object_object_get_ex(res, group, &g)) {
        g = json_object_new_object();
        json_object_object_add(res, group, g);
    }
    json_object_object_add(g, key, json_object_new_int64(v));
    return 0;
}

int rl2_cmd_update(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"resources", required_argument, NULL, 'r'},   {"memory", required_argument, NULL, 'm'},
        {"memory-swap", required_argument, NULL, 's'}, {"cpu-quota", required_argument, NULL, 'q'},
        {"cpu-period", required_argument, NULL, 'p'},  {"cpu-shares", required_argument, NULL, 'c'},
        {"pids-limit", required_argument, NULL, 'P'},  {NULL, 0, NULL, 0},
    };
    static const char usage[] =
        "update [--resources FILE|-] [--memory BYTES] [--memory-swap BYTES]"
        " [--cpu-quota N] [--cpu-period N] [--cpu-shares N] [--pids-limit N] ID";
    cleanup_error struct lcow_error *err = NULL;
    cleanup_json struct json_object *res = NULL;
    const char *file = NULL;
    struct {
        const char *group, *key, *val;
    } sets[8];
    size_t n_sets = 0;
    int c;
    while ((c = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            file = optarg;
            break;
        case 'm':
            sets[n_sets++] = (typeof(sets[0])){"memory", "limit", optarg};
            break;
        case 's':
            sets[n_sets++] = (typeof(sets[0])){"memory", "swap", optarg};
            break;
        case 'q':
            sets[n_sets++] = (typeof(sets[0])){"cpu", "quota", optarg};
            break;
        case 'p':
            sets[n_sets++] = (typeof(sets[0])){"cpu", "period", optarg};
            break;
        case 'c':
            sets[n_sets++] = (typeof(sets[0])){"cpu", "shares", optarg};
            break;
        case 'P':
            sets[n_sets++] = (typeof(sets[0])){"pids", "limit", optarg};
            break;
        default:
            return rl_failf("usage: runlcow %s", usage);
        }
        if (n_sets == LCOW_ARRAY_SIZE(sets))
            return rl_failf("too many options");
    }
    const char *id = one_id(argc, argv, usage);
    if (!id)
        return 1;
    if (file) {
        cleanup_free char *buf = NULL;
        size_t len = 0;
        int r = strcmp(file, "-") == 0 ? lcow_read_fd_all(0, RESOURCES_MAX, &buf, &len)
                                       : lcow_read_file(file, RESOURCES_MAX, &buf, &len, &err);
        if (r < 0)
            return err ? rl_fail(err) : rl_failf("read resources from stdin: %s", strerror(-r));
        if (lcow_json_parse(buf, len, "resources", &res, &err) < 0)
            return rl_fail(err);
        if (!json_object_is_type(res, json_type_object))
            return rl_failf("resources: not a JSON object");
    } else {
        res = json_object_new_object();
    }
    for (size_t i = 0; i < n_sets; i++)
        if (set_res(res, sets[i].group, sets[i].key, sets[i].val) < 0)
            return rl_failf("invalid %s.%s value `%s`", sets[i].group, sets[i].key, sets[i].val);
    if (json_object_object_length(res) == 0)
        return rl_failf("update: nothing to change (--resources or a limit flag)");
    cleanup_json struct json_object *req = op_request("update"), *rep = NULL;
    json_object_object_add(req, "resources", json_object_get(res));
    if (call_running(g, id, req, &rep, &err) < 0)
        return rl_fail(err);
    return 0;
}

static void copy_path(struct json_object *dst, const char *dkey, const struct json_object *src,
                      const char *const *path)
{
    const struct json_object *v = src;
    for (size_t i = 0; path[i] && v; i++)
        v = lcow_json_field(v, path[i]);
    if (v)
        json_object_object_add(dst, dkey, json_object_get((struct json_object *)v));
}

struct json_object *rl2_stats_from_metrics(const struct json_object *m)
{
    struct json_object *data = json_object_new_object();
    struct json_object *cpu = json_object_new_object(), *usage = json_object_new_object();
    copy_path(usage, "total", m, (const char *const[]){"cpu", "usage", "total", NULL});
    copy_path(usage, "kernel", m, (const char *const[]){"cpu", "usage", "kernel", NULL});
    copy_path(usage, "user", m, (const char *const[]){"cpu", "usage", "user", NULL});
    copy_path(usage, "percpu", m, (const char *const[]){"cpu", "usage", "per_cpu", NULL});
    json_object_object_add(cpu, "usage", usage);
    copy_path(cpu, "throttling", m, (const char *const[]){"cpu", "throttling", NULL});
    json_object_object_add(data, "cpu", cpu);
    struct json_object *mem = json_object_new_object();
    copy_path(mem, "usage", m, (const char *const[]){"memory", "usage", NULL});
    copy_path(mem, "swap", m, (const char *const[]){"memory", "swap", NULL});
    copy_path(mem, "kernel", m, (const char *const[]){"memory", "kernel", NULL});
    copy_path(mem, "cache", m, (const char *const[]){"memory", "cache", NULL});
    json_object_object_add(data, "memory", mem);
    copy_path(data, "pids", m, (const char *const[]){"pids", NULL});
    copy_path(data, "blkio", m, (const char *const[]){"blkio", NULL});
    copy_path(data, "hugetlb", m, (const char *const[]){"hugetlb", NULL});
    return data;
}

static void print_event(const char *type, const char *id, struct json_object *data)
{
    cleanup_json struct json_object *ev = json_object_new_object();
    json_object_object_add(ev, "type", json_object_new_string(type));
    json_object_object_add(ev, "id", json_object_new_string(id));
    if (data)
        json_object_object_add(ev, "data", data);
    printf("%s\n", json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
}

/* The container's metrics (LCOWMetrics) and its cgroup's OOM kill count so far. */
static int fetch_stats(struct rl_globals *g, const char *id, struct json_object **ret,
                       uint64_t *oom_kills, struct lcow_error **err)
{
    cleanup_json struct json_object *req = op_request("stats"), *rep = NULL;
    int r = call_running(g, id, req, &rep, err);
    if (r < 0)
        return r;
    struct json_object *m = lcow_json_field(rep, "stats");
    struct json_object *oom = lcow_json_field(m, "memory_oom_control");
    *oom_kills = 0;
    (void)lcow_json_get_uint64(oom, "memory_oom_control", "oom_kill", oom_kills, NULL);
    *ret = json_object_get(m);
    return 0;
}

int rl2_cmd_events(struct rl_globals *g, int argc, char **argv)
{
    static const struct option opts[] = {{"stats", no_argument, NULL, 's'},
                                         {"interval", required_argument, NULL, 'i'},
                                         {NULL, 0, NULL, 0}};
    bool once = false;
    unsigned interval = 5;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 's') {
            once = true;
        } else if (c == 'i') {
            /* runc takes a Go duration; whole seconds with an optional "s" here. */
            char *end = NULL;
            unsigned long v = strtoul(optarg, &end, 10);
            if (!*optarg || (*end && strcmp(end, "s") != 0) || v == 0 || v > 3600)
                return rl_failf("invalid interval `%s`", optarg);
            interval = (unsigned)v;
        } else {
            return rl_failf("usage: runlcow events [--stats] [--interval SECONDS] ID");
        }
    }
    const char *id = one_id(argc, argv, "events [--stats] [--interval SECONDS] ID");
    if (!id)
        return 1;
    cleanup_error struct lcow_error *err = NULL;
    struct json_object *m = NULL;
    uint64_t kills = 0, now_kills = 0;
    if (fetch_stats(g, id, &m, &kills, &err) < 0)
        return rl_fail(err);
    print_event("stats", id, rl2_stats_from_metrics(m));
    json_object_put(m);
    /* The GCS sends no OOM notification (only the exit one, gcs-protocol.md §2.9): the cgroup's
     * oom_kill count (memory.events on v2, in LCOWMetrics' memory_oom_control) is polled every
     * second and each rise is runc's {"type":"oom"} event; stats every interval. Streaming
     * ends quietly when the container stops, as runc's does. */
    for (unsigned tick = 1; !once; tick++) {
        sleep(1);
        if (fetch_stats(g, id, &m, &now_kills, &err) < 0)
            return 0;
        if (now_kills > kills)
            print_event("oom", id, NULL);
        kills = now_kills;
        if (tick % interval == 0)
            print_event("stats", id, rl2_stats_from_metrics(m));
        json_object_put(m);
    }
    return 0;
}

int rl2_cmd_features(struct rl_globals *g, int argc, char **argv)
{
    (void)g;
    if (argc > 1)
        return rl_failf("usage: runlcow features");
    /* What the guest's executor implements (oci/), reached through the GCS. */
    static const char features[] =
        "{\n"
        "    \"ociVersionMin\": \"1.0.0\",\n"
        "    \"ociVersionMax\": \"1.1.0\",\n"
        "    \"hooks\": [],\n"
        "    \"mountOptions\": [\"bind\", \"rbind\", \"ro\", \"rw\", \"nosuid\", \"nodev\", "
        "\"noexec\", \"relatime\", \"strictatime\", \"noatime\", \"private\", \"rprivate\", "
        "\"shared\", \"rshared\", \"slave\", \"rslave\"],\n"
        "    \"linux\": {\n"
        "        \"namespaces\": [\"cgroup\", \"ipc\", \"mount\", \"network\", \"pid\", \"user\", "
        "\"uts\"],\n"
        "        \"capabilities\": [],\n"
        "        \"cgroup\": {\"v1\": true, \"v2\": true, \"systemd\": false, \"systemdUser\": "
        "false},\n"
        "        \"seccomp\": {\"enabled\": true},\n"
        "        \"apparmor\": {\"enabled\": false},\n"
        "        \"selinux\": {\"enabled\": false}\n"
        "    },\n"
        "    \"annotations\": {\n"
        "        \"io.github.lcow.runlcow.vm\": \"qemu\",\n"
        "        \"org.lcow.image.layout\": \"an OCI image layout used as the container's "
        "layers\"\n"
        "    }\n"
        "}\n";
    fputs(features, stdout);
    return 0;
}

int rl2_cmd_spec(struct rl_globals *g, int argc, char **argv)
{
    (void)g;
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                         {"rootless", no_argument, NULL, 'r'},
                                         {NULL, 0, NULL, 0}};
    const char *bundle = ".";
    int c;
    while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
        if (c == 'b')
            bundle = optarg;
        else if (c == 'r')
            return rl_failf("spec: --rootless is not supported (containers run in a UVM)");
        else
            return rl_failf("usage: runlcow spec [--bundle DIR]");
    }
    if (optind != argc)
        return rl_failf("usage: runlcow spec [--bundle DIR]");
    /* runc spec's template, minus what a UVM's guest decides itself (cgroupsPath, masked and
     * read-only paths keep runc's defaults). */
    static const char spec[] =
        "{\n"
        "\t\"ociVersion\": \"1.1.0\",\n"
        "\t\"process\": {\n"
        "\t\t\"terminal\": true,\n"
        "\t\t\"user\": {\"uid\": 0, \"gid\": 0},\n"
        "\t\t\"args\": [\"sh\"],\n"
        "\t\t\"env\": [\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\", "
        "\"TERM=xterm\"],\n"
        "\t\t\"cwd\": \"/\",\n"
        "\t\t\"capabilities\": {\n"
        "\t\t\t\"bounding\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
        "\t\t\t\"effective\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"],\n"
        "\t\t\t\"permitted\": [\"CAP_AUDIT_WRITE\", \"CAP_KILL\", \"CAP_NET_BIND_SERVICE\"]\n"
        "\t\t},\n"
        "\t\t\"rlimits\": [{\"type\": \"RLIMIT_NOFILE\", \"hard\": 1024, \"soft\": 1024}],\n"
        "\t\t\"noNewPrivileges\": true\n"
        "\t},\n"
        "\t\"root\": {\"path\": \"rootfs\", \"readonly\": true},\n"
        "\t\"hostname\": \"runlcow\",\n"
        "\t\"mounts\": [\n"
        "\t\t{\"destination\": \"/proc\", \"type\": \"proc\", \"source\": \"proc\"},\n"
        "\t\t{\"destination\": \"/dev\", \"type\": \"tmpfs\", \"source\": \"tmpfs\", \"options\": "
        "[\"nosuid\", \"strictatime\", \"mode=755\", \"size=65536k\"]},\n"
        "\t\t{\"destination\": \"/dev/pts\", \"type\": \"devpts\", \"source\": \"devpts\", "
        "\"options\": [\"nosuid\", \"noexec\", \"newinstance\", \"ptmxmode=0666\", \"mode=0620\", "
        "\"gid=5\"]},\n"
        "\t\t{\"destination\": \"/dev/shm\", \"type\": \"tmpfs\", \"source\": \"shm\", "
        "\"options\": "
        "[\"nosuid\", \"noexec\", \"nodev\", \"mode=1777\", \"size=65536k\"]},\n"
        "\t\t{\"destination\": \"/dev/mqueue\", \"type\": \"mqueue\", \"source\": \"mqueue\", "
        "\"options\": [\"nosuid\", \"noexec\", \"nodev\"]},\n"
        "\t\t{\"destination\": \"/sys\", \"type\": \"sysfs\", \"source\": \"sysfs\", \"options\": "
        "[\"nosuid\", \"noexec\", \"nodev\", \"ro\"]},\n"
        "\t\t{\"destination\": \"/sys/fs/cgroup\", \"type\": \"cgroup\", \"source\": \"cgroup\", "
        "\"options\": [\"nosuid\", \"noexec\", \"nodev\", \"relatime\", \"ro\"]}\n"
        "\t],\n"
        "\t\"linux\": {\n"
        "\t\t\"resources\": {\"devices\": [{\"allow\": false, \"access\": \"rwm\"}]},\n"
        "\t\t\"namespaces\": [{\"type\": \"pid\"}, {\"type\": \"network\"}, {\"type\": \"ipc\"}, "
        "{\"type\": \"uts\"}, {\"type\": \"mount\"}, {\"type\": \"cgroup\"}],\n"
        "\t\t\"maskedPaths\": [\"/proc/acpi\", \"/proc/asound\", \"/proc/kcore\", \"/proc/keys\", "
        "\"/proc/latency_stats\", \"/proc/timer_list\", \"/proc/timer_stats\", "
        "\"/proc/sched_debug\", \"/sys/firmware\", \"/proc/scsi\"],\n"
        "\t\t\"readonlyPaths\": [\"/proc/bus\", \"/proc/fs\", \"/proc/irq\", \"/proc/sys\", "
        "\"/proc/sysrq-trigger\"]\n"
        "\t}\n"
        "}\n";
    cleanup_free char *path = NULL;
    if (asprintf(&path, "%s/config.json", bundle) < 0)
        return rl_failf("out of memory");
    if (access(path, F_OK) == 0)
        return rl_failf("File %s exists. Remove it first", path);
    cleanup_error struct lcow_error *err = NULL;
    if (lcow_write_file(path, spec, sizeof(spec) - 1, O_WRONLY | O_CREAT | O_EXCL, 0644, &err) < 0)
        return rl_fail(err);
    return 0;
}
