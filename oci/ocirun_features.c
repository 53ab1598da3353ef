/* `ocirun features`: the runtime-spec features document (features.md), built from the
 * executor's own tables so that it cannot claim what the parsers refuse: mount options are
 * the candidates oci_mount_parse_options() accepts, capabilities and namespaces come from
 * names.c, seccomp names from spec_seccomp.c. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>
#include <seccomp.h>

#include "common/cleanup.h"
#include "common/json.h"
#include "oci/internal.h"
#include "oci/ocirun_ext.h"
#include "oci/spec_seccomp.h"

#define OCIRUN_SPEC_VERSION_MAX "1.2.0"

/* runc's list plus the newer options; only those our parser takes are reported. */
static const char *const mount_candidates[] = {
    "acl",
    "async",
    "atime",
    "bind",
    "defaults",
    "dev",
    "diratime",
    "dirsync",
    "exec",
    "idmap",
    "iversion",
    "lazytime",
    "loud",
    "mand",
    "noacl",
    "noatime",
    "nodev",
    "nodiratime",
    "noexec",
    "noiversion",
    "nolazytime",
    "nomand",
    "norelatime",
    "nostrictatime",
    "nosuid",
    "nosymfollow",
    "private",
    "ratime",
    "rbind",
    "rdev",
    "rdiratime",
    "relatime",
    "remount",
    "rexec",
    "ridmap",
    "rnoatime",
    "rnodev",
    "rnodiratime",
    "rnoexec",
    "rnorelatime",
    "rnostrictatime",
    "rnosuid",
    "rnosymfollow",
    "ro",
    "rprivate",
    "rrelatime",
    "rro",
    "rrw",
    "rshared",
    "rslave",
    "rstrictatime",
    "rsuid",
    "rsymfollow",
    "runbindable",
    "rw",
    "shared",
    "silent",
    "slave",
    "strictatime",
    "suid",
    "symfollow",
    "sync",
    "unbindable",
};

static const char *const hook_names[] = {"prestart",       "createRuntime", "createContainer",
                                         "startContainer", "poststart",     "poststop"};

static const char *const seccomp_flag_names[] = {
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
    "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"};

static void add_str(struct json_object *a, const char *s)
{
    if (s)
        json_object_array_add(a, json_object_new_string(s));
}

static struct json_object *bool_obj(const char *key, bool v)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, key, json_object_new_boolean(v));
    return o;
}

static struct json_object *mount_options(void)
{
    struct json_object *a = json_object_new_array();
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(mount_candidates); i++) {
        char *opts[] = {(char *)mount_candidates[i], NULL};
        struct oci_mount_flags f;
        if (oci_mount_parse_options(opts, &f, NULL) == 0) {
            oci_mount_flags_done(&f);
            add_str(a, mount_candidates[i]);
        }
    }
    return a;
}

static struct json_object *seccomp(void)
{
    struct json_object *s = json_object_new_object(), *a;
    json_object_object_add(s, "enabled", json_object_new_boolean(true));
    a = json_object_new_array();
    for (int i = 0; i < OCI_SECCOMP_ACT_MAX; i++)
        add_str(a, oci_seccomp_action_name(i));
    json_object_object_add(s, "actions", a);
    a = json_object_new_array();
    for (int i = 0; i < OCI_SECCOMP_OP_MAX; i++)
        add_str(a, oci_seccomp_op_name(i));
    json_object_object_add(s, "operators", a);
    a = json_object_new_array();
    for (int i = 0; oci_seccomp_arch_name(i) != NULL; i++)
        add_str(a, oci_seccomp_arch_name(i));
    json_object_object_add(s, "archs", a);
    struct json_object *known = json_object_new_array(), *supported = json_object_new_array();
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(seccomp_flag_names); i++) {
        add_str(known, seccomp_flag_names[i]);
        add_str(supported, seccomp_flag_names[i]);
    }
    json_object_object_add(s, "knownFlags", known);
    json_object_object_add(s, "supportedFlags", supported);
    return s;
}

static struct json_object *linux_features(void)
{
    struct json_object *l = json_object_new_object(), *a = json_object_new_array();
    for (int k = 0; k < OCI_NS_KIND_MAX; k++)
        add_str(a, oci_ns_name(k));
    json_object_object_add(l, "namespaces", a);
    a = json_object_new_array();
    for (int c = 0; c <= oci_cap_last(); c++)
        add_str(a, oci_cap_name(c));
    json_object_object_add(l, "capabilities", a);
    struct json_object *cg = json_object_new_object();
    json_object_object_add(cg, "v1", json_object_new_boolean(true));
    json_object_object_add(cg, "v2", json_object_new_boolean(true));
    json_object_object_add(cg, "systemd", json_object_new_boolean(false));
    json_object_object_add(cg, "systemdUser", json_object_new_boolean(false));
    json_object_object_add(cg, "rdma", json_object_new_boolean(true));
    json_object_object_add(l, "cgroup", cg);
    json_object_object_add(l, "seccomp", seccomp());
    json_object_object_add(l, "apparmor", bool_obj("enabled", false));
    json_object_object_add(l, "selinux", bool_obj("enabled", false));
    json_object_object_add(l, "intelRdt", bool_obj("enabled", false));
    json_object_object_add(l, "mountExtensions", json_object_new_object());
    json_object_object_add(json_object_object_get(l, "mountExtensions"), "idmap",
                           bool_obj("enabled", false));
    return l;
}

int ocirun_cmd_features(int argc, char **argv)
{
    struct ocirun_args a;
    char ver[32];
    if (ocirun_parse("features", NULL, 0, argc, argv, 0, &a))
        return 1;
    int n = a.n_pos;
    ocirun_args_done(&a);
    if (n != 0)
        return ocirun_fail(1, "features: no arguments expected");
    cleanup_json struct json_object *f = json_object_new_object();
    json_object_object_add(f, "ociVersionMin", json_object_new_string("1.0.0"));
    json_object_object_add(f, "ociVersionMax", json_object_new_string(OCIRUN_SPEC_VERSION_MAX));
    struct json_object *h = json_object_new_array();
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(hook_names); i++)
        add_str(h, hook_names[i]);
    json_object_object_add(f, "hooks", h);
    json_object_object_add(f, "mountOptions", mount_options());
    json_object_object_add(f, "linux", linux_features());
    struct json_object *ann = json_object_new_object();
    const struct scmp_version *v = seccomp_version();
    snprintf(ver, sizeof(ver), "%u.%u.%u", v ? v->major : 0, v ? v->minor : 0, v ? v->micro : 0);
    json_object_object_add(ann, "io.github.seccomp.libseccomp.version",
                           json_object_new_string(ver));
    json_object_object_add(f, "annotations", ann);
    json_object_object_add(f, "potentiallyUnsafeConfigAnnotations", json_object_new_array());
    puts(json_object_to_json_string_ext(f, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                               JSON_C_TO_STRING_NOSLASHESCAPE));
    return 0;
}
