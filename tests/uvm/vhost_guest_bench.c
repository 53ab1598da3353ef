/* Benchmark part of the vhost-user-vsock test /init. */
#include <stdio.h>

#include "tests/uvm/vhost_guest.h"

void vt_bench(const char *mode)
{
    vt_result("bench", 0, "unknown mode `%s`", mode);
}
