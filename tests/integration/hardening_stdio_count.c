/* The stdio connection count of gcs/stdio.c at its default limit (GCS_LIMIT_STDIO_CONNECTIONS):
 * hardening_limits reaches the limit over the bridge with -max-stdio-connections lowered (the
 * real 4096 take 1366 processes), so this covers the counting at the real bound: exactly the
 * limit is held, one more is refused and takes nothing, releases give back exactly what was
 * held (once), and the test hook only lowers the bound. No root, no gcs process. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "gcs/limits.h"
#include "gcs/stdio.h"

#define SETS (GCS_LIMIT_STDIO_CONNECTIONS / 3)

static struct gcs_stdio sets[SETS + 2];

static void release_all(void)
{
    for (size_t i = 0; i < sizeof(sets) / sizeof(sets[0]); i++)
        gcs_stdio_release(&sets[i]);
    assert_int_equal(gcs_stdio_held(), 0);
}

static void test_at_default_limit(void **state)
{
    (void)state;
    struct lcow_error *err = NULL;
    assert_int_equal(gcs_stdio_held(), 0);
    for (unsigned i = 0; i < SETS; i++)
        assert_int_equal(gcs_stdio_hold(&sets[i], 3, &err), 0);
    unsigned rest = GCS_LIMIT_STDIO_CONNECTIONS - 3 * SETS;
    if (rest)
        assert_int_equal(gcs_stdio_hold(&sets[SETS], rest, &err), 0);
    assert_int_equal(gcs_stdio_held(), GCS_LIMIT_STDIO_CONNECTIONS);
    /* One past: refused, nothing taken, the message names the limit. */
    assert_int_equal(gcs_stdio_hold(&sets[SETS + 1], 1, &err), -EAGAIN);
    assert_non_null(strstr(lcow_error_message(err), "the limit of 4096"));
    lcow_error_release(&err);
    assert_int_equal(sets[SETS + 1].held, 0);
    assert_int_equal(gcs_stdio_held(), GCS_LIMIT_STDIO_CONNECTIONS);
    /* No stream asked: nothing to count, even at the limit. */
    assert_int_equal(gcs_stdio_hold(&sets[SETS + 1], 0, &err), 0);
    /* A released set frees exactly its share, once. */
    gcs_stdio_release(&sets[0]);
    gcs_stdio_release(&sets[0]);
    assert_int_equal(gcs_stdio_held(), GCS_LIMIT_STDIO_CONNECTIONS - 3);
    assert_int_equal(gcs_stdio_hold(&sets[SETS + 1], 4, &err), -EAGAIN);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_hold(&sets[SETS + 1], 3, &err), 0);
    assert_int_equal(gcs_stdio_held(), GCS_LIMIT_STDIO_CONNECTIONS);
    /* gcs_stdio_close releases too (no socket open: nothing else to do). */
    for (int i = 0; i < 3; i++)
        sets[SETS + 1].fd[i] = -1;
    gcs_stdio_close(&sets[SETS + 1]);
    assert_int_equal(gcs_stdio_held(), GCS_LIMIT_STDIO_CONNECTIONS - 3);
    release_all();
}

static void test_no_overflow(void **state)
{
    (void)state;
    struct lcow_error *err = NULL;
    assert_int_equal(gcs_stdio_hold(&sets[0], 3, &err), 0);
    assert_int_equal(gcs_stdio_hold(&sets[1], UINT_MAX, &err), -EAGAIN);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_hold(&sets[1], UINT_MAX - 1, &err), -EAGAIN);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_held(), 3);
    release_all();
}

static void test_set_limit(void **state)
{
    (void)state;
    struct lcow_error *err = NULL;
    assert_int_equal(gcs_stdio_set_limit(0, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_set_limit(GCS_LIMIT_STDIO_CONNECTIONS + 1, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_set_limit(-1, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(gcs_stdio_set_limit(10, &err), 0);
    assert_int_equal(gcs_stdio_hold(&sets[0], 10, &err), 0);
    assert_int_equal(gcs_stdio_hold(&sets[1], 1, &err), -EAGAIN);
    assert_non_null(strstr(lcow_error_message(err), "the limit of 10"));
    lcow_error_release(&err);
    release_all();
    assert_int_equal(gcs_stdio_set_limit(GCS_LIMIT_STDIO_CONNECTIONS, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_at_default_limit),
        cmocka_unit_test(test_no_overflow),
        cmocka_unit_test(test_set_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
