/* Build-time module ordering for the initrd: reads depmod's modules.dep and emits the wanted
 * modules with their dependencies first, as the "STAGE PATH" lines init loads in order
 * (initrd/init_modules.c). Used by the initrd-modlist tool that mkinitrd.sh runs. */
#ifndef LCOW_INITRD_MODLIST_H
#define LCOW_INITRD_MODLIST_H

#include <stddef.h>

#include "common/error.h"

struct modlist;

/* Parses modules.dep text ("path: dep dep ..." per line) and, when not NULL, modules.builtin
 * text (one path per line). 0 or -EINVAL naming the line; *ret owned by the caller. */
int modlist_parse(const char *dep_text, const char *builtin_text, struct modlist **ret,
                  struct lcow_error **err);
struct modlist *modlist_free(struct modlist *m);

/* Module name of a path: the basename without .ko[.xz|.gz|.zst], `-` read as `_`, as the
 * kernel names modules. Writes at most cap bytes. */
void modlist_name_of(const char *path, char *buf, size_t cap);

/* Appends "STAGE PATH\n" for each module in names (and, before it, every dependency not yet
 * emitted by this or an earlier call) to the growing text *out (*out may start NULL; caller
 * frees). A built-in module is skipped; an unknown name or a dependency cycle is -ENOENT /
 * -ELOOP naming it. */
int modlist_resolve(struct modlist *m, const char *stage, const char *const *names, size_t n,
                    char **out, struct lcow_error **err);

#endif
