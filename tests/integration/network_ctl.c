/* Drives the gcs network library (gcs/network.h) in-process for the integration tests, so a
 * test can run one namespace table through a sequence of steps:
 *
 *   network_ctl [--sysfs ROOT] [--lookup-ms N] [--dhcp-client PATH[,ARG...]]
 *               [--dhcp-script PATH] [--dhcp-ms N] STEP...
 *   STEP:  add JSON | remove NS ID | sync NS NETNS_PATH | sync-pid NS PID | sync-host NS |
 *          resolv NS |
 *          ns-remove NS | count NS | etc NS DIR HOSTNAME
 *   A step prefixed with '!' must fail: its error goes to stdout as "expected error: MSG".
 *
 * Exits 0 when every step did what was expected, 1 otherwise (the message names the step). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/error.h"
#include "common/json.h"
#include "gcs/network.h"

#define MAX_DHCP_ARGS 8

struct ctl {
    struct gcs_network *net;
    char **argv;
    int argc;
    int i;
};

static const char *next_arg(struct ctl *c, const char *step)
{
    if (c->i >= c->argc) {
        fprintf(stderr, "network_ctl: step `%s` is missing an argument\n", step);
        exit(2);
    }
    return c->argv[c->i++];
}

static int step_add(struct ctl *c, struct lcow_error **err)
{
    const char *json = next_arg(c, "add");
    cleanup_json struct json_object *o = NULL;
    cleanup_net_adapter struct gcs_net_adapter *a = NULL;
    int r = lcow_json_parse(json, strlen(json), "Settings", &o, err);
    if (r >= 0)
        r = gcs_net_adapter_from_json(o, &a, err);
    if (r >= 0)
        r = gcs_network_add(c->net, &a, err);
    return r;
}

static int step_remove(struct ctl *c, struct lcow_error **err)
{
    const char *ns = next_arg(c, "remove");
    const char *id = next_arg(c, "remove");
    return gcs_network_remove(c->net, ns, id, err);
}

static int step_sync(struct ctl *c, struct lcow_error **err)
{
    const char *ns = next_arg(c, "sync");
    const char *path = next_arg(c, "sync");
    return gcs_network_namespace_sync_path(c->net, ns, path, err);
}

static int step_sync_pid(struct ctl *c, struct lcow_error **err)
{
    const char *ns = next_arg(c, "sync-pid");
    const char *pid = next_arg(c, "sync-pid");
    return gcs_network_namespace_sync_pid(c->net, ns, (pid_t)atoi(pid), err);
}

static int step_sync_host(struct ctl *c, struct lcow_error **err)
{
    return gcs_network_namespace_sync_host(c->net, next_arg(c, "sync-host"), err);
}

static int step_resolv(struct ctl *c, struct lcow_error **err)
{
    cleanup_free char *text = NULL;
    int r = gcs_network_resolv_conf(c->net, next_arg(c, "resolv"), &text, err);
    if (r >= 0)
        fputs(text, stdout);
    return r;
}

static int step_ns_remove(struct ctl *c, struct lcow_error **err)
{
    return gcs_network_namespace_remove(c->net, next_arg(c, "ns-remove"), err);
}

static int step_count(struct ctl *c, struct lcow_error **err)
{
    const char *ns = next_arg(c, "count");
    int n = gcs_network_adapter_count(c->net, ns);
    if (n < 0)
        return lcow_error_make(err, -n, "namespace `%s` not found", ns);
    printf("%d\n", n);
    return 0;
}

static int step_etc(struct ctl *c, struct lcow_error **err)
{
    const char *ns = next_arg(c, "etc");
    const char *dir = next_arg(c, "etc");
    const char *hostname = next_arg(c, "etc");
    cleanup_free char *rc = NULL;
    int r = gcs_network_resolv_conf(c->net, ns, &rc, err);
    return r < 0 ? r : gcs_net_write_etc_files(dir, hostname, rc, err);
}

static const struct {
    const char *name;
    int (*fn)(struct ctl *c, struct lcow_error **err);
} steps[] = {
    {"add", step_add},
    {"remove", step_remove},
    {"sync", step_sync},
    {"sync-pid", step_sync_pid},
    {"sync-host", step_sync_host},
    {"resolv", step_resolv},
    {"ns-remove", step_ns_remove},
    {"count", step_count},
    {"etc", step_etc},
};

static int run_step(struct ctl *c)
{
    const char *word = c->argv[c->i++];
    bool expect_fail = word[0] == '!';
    const char *name = expect_fail ? word + 1 : word;
    cleanup_error struct lcow_error *err = NULL;

    for (size_t k = 0; k < LCOW_ARRAY_SIZE(steps); k++) {
        if (strcmp(steps[k].name, name) != 0)
            continue;
        int r = steps[k].fn(c, &err);
        fflush(stdout);
        if (r < 0 && expect_fail) {
            printf("expected error: %s\n", lcow_error_message(err));
            return 0;
        }
        if (r < 0) {
            fprintf(stderr, "network_ctl: %s failed: %s\n", name, lcow_error_message(err));
            return 1;
        }
        if (expect_fail) {
            fprintf(stderr, "network_ctl: %s succeeded but was expected to fail\n", name);
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "network_ctl: unknown step `%s`\n", word);
    exit(2);
}

static unsigned parse_ms(const char *s)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > 600000) {
        fprintf(stderr, "network_ctl: bad milliseconds `%s`\n", s);
        exit(2);
    }
    return (unsigned)v;
}

int main(int argc, char **argv)
{
    struct gcs_network_config cfg = {0};
    const char *dhcp[MAX_DHCP_ARGS + 1] = {0};
    cleanup_free char *dhcp_buf = NULL;
    cleanup_error struct lcow_error *err = NULL;
    struct ctl c = {.argv = argv, .argc = argc, .i = 1};
    int rc = 0;

    while (c.i + 1 < argc && strncmp(argv[c.i], "--", 2) == 0) {
        const char *opt = argv[c.i], *val = argv[c.i + 1];
        c.i += 2;
        if (strcmp(opt, "--sysfs") == 0) {
            cfg.sysfs_root = val;
        } else if (strcmp(opt, "--lookup-ms") == 0) {
            cfg.lookup_timeout_ms = parse_ms(val);
        } else if (strcmp(opt, "--dhcp-ms") == 0) {
            cfg.dhcp_timeout_ms = parse_ms(val);
        } else if (strcmp(opt, "--dhcp-script") == 0) {
            cfg.dhcp_script = val;
        } else if (strcmp(opt, "--dhcp-client") == 0) {
            size_t n = 0;
            dhcp_buf = strdup(val);
            for (char *s = dhcp_buf, *tok; n < MAX_DHCP_ARGS && (tok = strsep(&s, ","));)
                dhcp[n++] = tok;
            cfg.dhcp_argv = dhcp;
        } else {
            fprintf(stderr, "network_ctl: unknown option `%s`\n", opt);
            return 2;
        }
    }
    if (gcs_network_new(&cfg, &c.net, &err) < 0) {
        fprintf(stderr, "network_ctl: %s\n", lcow_error_message(err));
        return 1;
    }
    while (rc == 0 && c.i < argc)
        rc = run_step(&c);
    gcs_network_free(c.net);
    return rc;
}
