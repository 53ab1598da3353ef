/* The spec a Windows host sends the guest in Create (lcow-host.md §3.1 step 6, hcsshim's
 * createLCOWSpec): a deep copy with `windows` cut to network.networkNamespace and devices,
 * no hooks, linux.cgroupsPath "", resources without devices/pids/blockIO/hugepageLimits/
 * network, CPU period 0 -> 100000 and quota 0 -> -1, no seccomp when the privileged
 * annotation is "true", and root.path the UVM's rootfs. */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "host/runlcow.h"

#define PRIVILEGED_ANNOT "io.microsoft.virtualmachine.lcow.privileged"

static void del(struct json_object *o, const char *key)
{
    if (o && json_object_is_type(o, json_type_object))
        json_object_object_del(o, key);
}

static struct json_object *obj(struct json_object *o, const char *key)
{
    struct json_object *v = NULL;
    if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_object))
        return v;
    return NULL;
}

int rl_guest_spec(struct json_object *spec, const char *root_path, struct json_object **ret,
                  struct lcow_error **err)
{
    struct json_object *c = NULL;
    if (json_object_deep_copy(spec, &c, NULL) < 0)
        return lcow_error_make(err, ENOMEM, "copy the spec");
    /* windows: only network.networkNamespace and devices survive. */
    struct json_object *win = obj(c, "windows");
    if (win) {
        struct json_object *w = json_object_new_object(), *v = NULL;
        struct json_object *net = obj(win, "network");
        if (net && json_object_object_get_ex(net, "networkNamespace", &v)) {
            struct json_object *n = json_object_new_object();
            json_object_object_add(n, "networkNamespace", json_object_get(v));
            json_object_object_add(w, "network", n);
        }
        if (json_object_object_get_ex(win, "devices", &v))
            json_object_object_add(w, "devices", json_object_get(v));
        json_object_object_add(c, "windows", w);
    }
    del(c, "hooks");
    struct json_object *lx = obj(c, "linux");
    if (lx) {
        json_object_object_add(lx, "cgroupsPath", json_object_new_string(""));
        struct json_object *res = obj(lx, "resources");
        static const char *const cleared[] = {"devices", "pids", "blockIO", "hugepageLimits",
                                              "network"};
        for (size_t i = 0; i < LCOW_ARRAY_SIZE(cleared); i++)
            del(res, cleared[i]);
        struct json_object *cpu = obj(res, "cpu"), *v = NULL;
        if (cpu && json_object_object_get_ex(cpu, "period", &v) && json_object_get_int64(v) == 0)
            json_object_object_add(cpu, "period", json_object_new_int64(100000));
        if (cpu && json_object_object_get_ex(cpu, "quota", &v) && json_object_get_int64(v) == 0)
            json_object_object_add(cpu, "quota", json_object_new_int64(-1));
        struct json_object *ann = obj(c, "annotations"), *p = NULL;
        if (ann && json_object_object_get_ex(ann, PRIVILEGED_ANNOT, &p) &&
            strcmp(json_object_get_string(p), "true") == 0)
            del(lx, "seccomp");
    }
    struct json_object *root = obj(c, "root");
    if (!root) {
        root = json_object_new_object();
        json_object_object_add(c, "root", root);
    }
    json_object_object_add(root, "path", json_object_new_string(root_path));
    *ret = c;
    return 0;
}
