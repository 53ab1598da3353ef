#include "common/cleanup.h"

#include "common/io.h"

void lcow_freep(void *p)
{
    free(*(void **)p);
}

void lcow_closep(int *fd)
{
    if (*fd >= 0)
        lcow_close_nointr(*fd);
    *fd = -1;
}

void lcow_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
    *f = NULL;
}

void lcow_closedirp(DIR **d)
{
    if (*d)
        closedir(*d);
    *d = NULL;
}

void lcow_strv_freep(char ***v)
{
    if (*v == NULL)
        return;
    for (char **p = *v; *p; p++)
        free(*p);
    free(*v);
    *v = NULL;
}
