/* Mount options of the runtime spec (the mount(8) vocabulary plus propagation and the
 * recursive r* forms of runtime-spec 1.1) turned into mount(2) / mount_setattr(2) arguments.
 * Unknown options are filesystem data, as runc and crun pass them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "common/cleanup.h"
#include "common/syscalls.h"
#include "oci/internal.h"

#ifndef MS_LAZYTIME
#define MS_LAZYTIME (1 << 25)
#endif
#ifndef MOUNT_ATTR_NOSUID
#define MOUNT_ATTR_NOSUID 0x00000002
#endif
#ifndef MOUNT_ATTR_NODEV
#define MOUNT_ATTR_NODEV 0x00000004
#endif
#ifndef MOUNT_ATTR_NOEXEC
#define MOUNT_ATTR_NOEXEC 0x00000008
#endif
#ifndef MOUNT_ATTR__ATIME
#define MOUNT_ATTR__ATIME 0x00000070
#endif
#ifndef MOUNT_ATTR_RELATIME
#define MOUNT_ATTR_RELATIME 0x00000000
#endif
#ifndef MOUNT_ATTR_NOATIME
#define MOUNT_ATTR_NOATIME 0x00000010
#endif
#ifndef MOUNT_ATTR_STRICTATIME
#define MOUNT_ATTR_STRICTATIME 0x00000020
#endif
#ifndef MOUNT_ATTR_NODIRATIME
#define MOUNT_ATTR_NODIRATIME 0x00000080
#endif

enum opt_kind {
    OPT_SET,   /* add flag */
    OPT_CLEAR, /* remove flag */
    OPT_PROP,  /* propagation */
    OPT_RSET,  /* recursive attribute set (mount_setattr) */
    OPT_RCLR,  /* recursive attribute clear */
    OPT_EXT,   /* runtime extension */
};

static const struct mount_opt {
    const char *name;
    enum opt_kind kind;
    unsigned long value;
} mount_opts[] = {
    {"async", OPT_CLEAR, MS_SYNCHRONOUS},
    {"atime", OPT_CLEAR, MS_NOATIME},
    {"bind", OPT_SET, MS_BIND},
    {"defaults", OPT_SET, 0},
    {"dev", OPT_CLEAR, MS_NODEV},
    {"diratime", OPT_CLEAR, MS_NODIRATIME},
    {"dirsync", OPT_SET, MS_DIRSYNC},
    {"exec", OPT_CLEAR, MS_NOEXEC},
    {"iversion", OPT_SET, MS_I_VERSION},
    {"lazytime", OPT_SET, MS_LAZYTIME},
    {"loud", OPT_CLEAR, MS_SILENT},
    {"mand", OPT_SET, MS_MANDLOCK},
    {"noatime", OPT_SET, MS_NOATIME},
    {"nodev", OPT_SET, MS_NODEV},
    {"nodiratime", OPT_SET, MS_NODIRATIME},
    {"noexec", OPT_SET, MS_NOEXEC},
    {"noiversion", OPT_CLEAR, MS_I_VERSION},
    {"nolazytime", OPT_CLEAR, MS_LAZYTIME},
    {"nomand", OPT_CLEAR, MS_MANDLOCK},
    {"norelatime", OPT_CLEAR, MS_RELATIME},
    {"nostrictatime", OPT_CLEAR, MS_STRICTATIME},
    {"nosuid", OPT_SET, MS_NOSUID},
    {"rbind", OPT_SET, MS_BIND | MS_REC},
    {"relatime", OPT_SET, MS_RELATIME},
    {"remount", OPT_SET, MS_REMOUNT},
    {"ro", OPT_SET, MS_RDONLY},
    {"rw", OPT_CLEAR, MS_RDONLY},
    {"silent", OPT_SET, MS_SILENT},
    {"strictatime", OPT_SET, MS_STRICTATIME},
    {"suid", OPT_CLEAR, MS_NOSUID},
    {"sync", OPT_SET, MS_SYNCHRONOUS},
    {"private", OPT_PROP, MS_PRIVATE},
    {"rprivate", OPT_PROP, MS_PRIVATE | MS_REC},
    {"shared", OPT_PROP, MS_SHARED},
    {"rshared", OPT_PROP, MS_SHARED | MS_REC},
    {"slave", OPT_PROP, MS_SLAVE},
    {"rslave", OPT_PROP, MS_SLAVE | MS_REC},
    {"unbindable", OPT_PROP, MS_UNBINDABLE},
    {"runbindable", OPT_PROP, MS_UNBINDABLE | MS_REC},
    {"rro", OPT_RSET, MOUNT_ATTR_RDONLY},
    {"rrw", OPT_RCLR, MOUNT_ATTR_RDONLY},
    {"rnosuid", OPT_RSET, MOUNT_ATTR_NOSUID},
    {"rsuid", OPT_RCLR, MOUNT_ATTR_NOSUID},
    {"rnodev", OPT_RSET, MOUNT_ATTR_NODEV},
    {"rdev", OPT_RCLR, MOUNT_ATTR_NODEV},
    {"rnoexec", OPT_RSET, MOUNT_ATTR_NOEXEC},
    {"rexec", OPT_RCLR, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", OPT_RSET, MOUNT_ATTR_NODIRATIME},
    {"rdiratime", OPT_RCLR, MOUNT_ATTR_NODIRATIME},
    /* The atime modes are one field: "set" replaces it, "clear" resets it to relatime. */
    {"rrelatime", OPT_RSET, MOUNT_ATTR__ATIME | (MOUNT_ATTR_RELATIME << 8)},
    {"rnorelatime", OPT_RCLR, MOUNT_ATTR__ATIME},
    {"rnoatime", OPT_RSET, MOUNT_ATTR__ATIME | (MOUNT_ATTR_NOATIME << 8)},
    {"ratime", OPT_RCLR, MOUNT_ATTR__ATIME},
    {"rstrictatime", OPT_RSET, MOUNT_ATTR__ATIME | (MOUNT_ATTR_STRICTATIME << 8)},
    {"rnostrictatime", OPT_RCLR, MOUNT_ATTR__ATIME},
    {"tmpcopyup", OPT_EXT, OCI_MOUNT_EXT_TMPCOPYUP},
    {"idmap", OPT_EXT, OCI_MOUNT_EXT_IDMAP},
    {"ridmap", OPT_EXT, OCI_MOUNT_EXT_IDMAP | OCI_MOUNT_EXT_RECURSIVE_IDMAP},
};

static const struct mount_opt *find_opt(const char *name)
{
    for (size_t i = 0; i < LCOW_ARRAY_SIZE(mount_opts); i++)
        if (strcmp(mount_opts[i].name, name) == 0)
            return &mount_opts[i];
    return NULL;
}

static int append_data(char **data, size_t *len, const char *opt)
{
    size_t add = strlen(opt);
    char *n = realloc(*data, *len + add + 2);
    if (n == NULL)
        return -ENOMEM;
    if (*len > 0)
        n[(*len)++] = ',';
    memcpy(n + *len, opt, add + 1);
    *len += add;
    *data = n;
    return 0;
}

static void apply_rec(struct oci_mount_flags *f, const struct mount_opt *o)
{
    if (o->value & MOUNT_ATTR__ATIME) {
        /* Atime options carry the new mode in bits 8+; only one mode can win. */
        f->rec_attr_clr |= MOUNT_ATTR__ATIME;
        f->rec_attr_set &= ~(uint64_t)MOUNT_ATTR__ATIME;
        if (o->kind == OPT_RSET)
            f->rec_attr_set |= (o->value >> 8) & MOUNT_ATTR__ATIME;
        return;
    }
    if (o->kind == OPT_RSET) {
        f->rec_attr_set |= o->value;
        f->rec_attr_clr &= ~(uint64_t)o->value;
    } else {
        f->rec_attr_clr |= o->value;
        f->rec_attr_set &= ~(uint64_t)o->value;
    }
}

int oci_mount_parse_options(char *const *options, struct oci_mount_flags *ret,
                            struct lcow_error **err)
{
    struct oci_mount_flags f = {0};
    cleanup_free char *data = NULL;
    size_t len = 0;
    for (size_t i = 0; options && options[i]; i++) {
        const struct mount_opt *o = find_opt(options[i]);
        if (o == NULL) {
            if (append_data(&data, &len, options[i]) < 0)
                return lcow_error_make(err, ENOMEM, "mount options: out of memory");
            continue;
        }
        switch (o->kind) {
        case OPT_SET:
            f.flags |= o->value;
            f.clear &= ~o->value;
            break;
        case OPT_CLEAR:
            f.flags &= ~o->value;
            f.clear |= o->value;
            break;
        case OPT_PROP:
            f.propagation = o->value;
            break;
        case OPT_RSET:
        case OPT_RCLR:
            apply_rec(&f, o);
            break;
        case OPT_EXT:
            f.extensions |= (unsigned)o->value;
            break;
        default:
            break;
        }
    }
    f.data = steal_pointer(&data);
    *ret = f;
    return 0;
}

void oci_mount_flags_done(struct oci_mount_flags *f)
{
    free(f->data);
    f->data = NULL;
}
