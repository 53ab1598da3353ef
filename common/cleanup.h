/* Scope-bound cleanup and explicit ownership transfer (style.md C3).
 * Every cleanup variable is initialised where it is declared (= NULL, = -1); ownership leaves
 * only through steal_pointer() / take_fd(). */
#ifndef LCOW_COMMON_CLEANUP_H
#define LCOW_COMMON_CLEANUP_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>

void lcow_freep(void *p);
void lcow_closep(int *fd);
void lcow_fclosep(FILE **f);
void lcow_closedirp(DIR **d);
void lcow_strv_freep(char ***v);

#define cleanup_free  __attribute__((cleanup(lcow_freep)))
#define cleanup_close __attribute__((cleanup(lcow_closep)))
#define cleanup_file  __attribute__((cleanup(lcow_fclosep)))
#define cleanup_dir   __attribute__((cleanup(lcow_closedirp)))
#define cleanup_strv  __attribute__((cleanup(lcow_strv_freep)))

/* Returns *pp and sets it to NULL: the value now belongs to the caller. */
#define steal_pointer(pp)                                                                          \
    ({                                                                                             \
        __typeof__(*(pp)) _stolen = *(pp);                                                         \
        *(pp) = NULL;                                                                              \
        _stolen;                                                                                   \
    })

/* Returns *fdp and sets it to -1. */
#define take_fd(fdp)                                                                               \
    ({                                                                                             \
        int _taken = *(fdp);                                                                       \
        *(fdp) = -1;                                                                               \
        _taken;                                                                                    \
    })

#define LCOW_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
