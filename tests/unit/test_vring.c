/* Unit tests for vsock/vring.c: address translation against the memory table and descriptor
 * chain walking over a fake guest memory, including corrupt rings a hostile guest could build
 * (out-of-bounds addresses, loops, zero and huge lengths, indirect descriptors, bad indices). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/uio.h>

#include "common/cleanup.h"
#include "vsock/vring.h"

#define MEM_GPA   0x100000ull
#define MEM_SIZE  (256u * 1024)
#define MEM_UVA   0x7f0000000000ull
#define QNUM      8
#define DESC_OFF  0x0
#define AVAIL_OFF 0x1000
#define USED_OFF  0x2000
#define BUF_OFF   0x8000

struct fake {
    uint8_t *ram;
    struct vsock_vring_mem mem;
    struct vsock_vring q;
    uint16_t avail_idx;
};

static struct vring_desc *desc(struct fake *f)
{
    return (struct vring_desc *)(f->ram + DESC_OFF);
}

static struct vring_avail *avail(struct fake *f)
{
    return (struct vring_avail *)(f->ram + AVAIL_OFF);
}

static struct vring_used *used(struct fake *f)
{
    return (struct vring_used *)(f->ram + USED_OFF);
}

static int setup(void **state)
{
    struct fake *f = calloc(1, sizeof(*f));
    f->ram = aligned_alloc(4096, MEM_SIZE);
    memset(f->ram, 0, MEM_SIZE);
    assert_int_equal(vsock_vring_mem_add(&f->mem, MEM_GPA, MEM_SIZE, MEM_UVA, f->ram, NULL), 0);
    vsock_vring_init(&f->q);
    f->q.num = QNUM;
    f->q.desc_uva = MEM_UVA + DESC_OFF;
    f->q.avail_uva = MEM_UVA + AVAIL_OFF;
    f->q.used_uva = MEM_UVA + USED_OFF;
    assert_int_equal(vsock_vring_map(&f->q, &f->mem, NULL), 0);
    f->q.started = f->q.enabled = true;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fake *f = *state;
    vsock_vring_reset(&f->q);
    vsock_vring_mem_clear(&f->mem);
    free(f->ram);
    free(f);
    return 0;
}

static void set_desc(struct fake *f, uint16_t i, uint64_t gpa, uint32_t len, uint16_t flags,
                     uint16_t next)
{
    desc(f)[i] = (struct vring_desc){gpa, len, flags, next};
}

static void offer(struct fake *f, uint16_t head)
{
    avail(f)->ring[f->avail_idx % QNUM] = head;
    f->avail_idx++;
    avail(f)->idx = f->avail_idx;
}

static void test_translate(void **state)
{
    struct fake *f = *state;
    assert_ptr_equal(vsock_vring_gpa(&f->mem, MEM_GPA, 1), f->ram);
    assert_ptr_equal(vsock_vring_gpa(&f->mem, MEM_GPA + MEM_SIZE - 4, 4), f->ram + MEM_SIZE - 4);
    assert_ptr_equal(vsock_vring_gpa(&f->mem, MEM_GPA, MEM_SIZE), f->ram);
    /* one byte past the end, before the start, zero length, wrap-around */
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA + MEM_SIZE - 4, 5));
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA + MEM_SIZE, 1));
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA - 1, 2));
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA, 0));
    assert_null(vsock_vring_gpa(&f->mem, UINT64_MAX, 2));
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA + 16, UINT64_MAX));
    assert_null(vsock_vring_gpa(&f->mem, MEM_GPA + 16, UINT64_MAX - MEM_GPA));
    assert_ptr_equal(vsock_vring_uva(&f->mem, MEM_UVA + 8, 8), f->ram + 8);
    assert_null(vsock_vring_uva(&f->mem, MEM_GPA, 8)); /* a gpa is not a uva */
}

static void test_mem_add_bad(void **state)
{
    struct vsock_vring_mem m = {0};
    uint8_t buf[64];
    cleanup_error struct lcow_error *err = NULL;
    assert_int_equal(vsock_vring_mem_add(&m, 0, 0, 0, buf, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(vsock_vring_mem_add(&m, UINT64_MAX - 8, 64, 0, buf, &err), -EINVAL);
    lcow_error_release(&err);
    assert_int_equal(vsock_vring_mem_add(&m, 0x1000, 64, 0, buf, NULL), 0);
    assert_int_equal(vsock_vring_mem_add(&m, 0x1020, 64, 0x5000, buf, &err), -EINVAL);
    assert_non_null(strstr(lcow_error_message(err), "overlaps"));
    lcow_error_release(&err);
    for (uint64_t i = 1; i < VSOCK_VRING_MAX_REGIONS; i++)
        assert_int_equal(vsock_vring_mem_add(&m, 0x100000 * i, 64, 0x100000 * i, buf, NULL), 0);
    assert_int_equal(vsock_vring_mem_add(&m, 0x10000000, 64, 0, buf, NULL), -EINVAL);
    vsock_vring_mem_clear(&m);
}

static void test_ring_outside_memory(void **state)
{
    struct fake *f = *state;
    struct vsock_vring q;
    vsock_vring_init(&q);
    q.num = 4096; /* 64 KiB of descriptors cannot start near the end */
    q.desc_uva = MEM_UVA + MEM_SIZE - 4096;
    q.avail_uva = MEM_UVA;
    q.used_uva = MEM_UVA + 0x100;
    assert_int_equal(vsock_vring_map(&q, &f->mem, NULL), -EFAULT);
    assert_null(q.desc);
    q.num = 8;
    q.desc_uva = MEM_UVA + 8; /* misaligned */
    assert_int_equal(vsock_vring_map(&q, &f->mem, NULL), -EINVAL);
    assert_false(vsock_vring_ready(&q));
}

static void test_pop_good_chain(void **state)
{
    struct fake *f = *state;
    struct vsock_vring_chain c;
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 0); /* nothing offered */
    memcpy(f->ram + BUF_OFF, "0123456789", 10);
    set_desc(f, 3, MEM_GPA + BUF_OFF, 4, VRING_DESC_F_NEXT, 5);
    set_desc(f, 5, MEM_GPA + BUF_OFF + 4, 6, VRING_DESC_F_NEXT, 1);
    set_desc(f, 1, MEM_GPA + BUF_OFF + 100, 50, VRING_DESC_F_WRITE, 0);
    offer(f, 3);
    assert_true(vsock_vring_has_avail(&f->q));
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 1);
    assert_int_equal(c.head, 3);
    assert_int_equal(c.n_out, 2);
    assert_int_equal(c.n_in, 1);
    assert_int_equal(c.out_len, 10);
    assert_int_equal(c.in_len, 50);
    char flat[11] = {0};
    assert_int_equal(vsock_vring_copy_from(flat, c.out, c.n_out, 0, 10), 10);
    assert_string_equal(flat, "0123456789");
    assert_int_equal(vsock_vring_copy_from(flat, c.out, c.n_out, 2, 20), 8); /* ends early */
    assert_memory_equal(flat, "23456789", 8);
    struct iovec iov[4];
    assert_int_equal(vsock_vring_iov(c.out, c.n_out, 3, 5, iov, 4), 2);
    assert_int_equal(iov[0].iov_len, 1);
    assert_int_equal(iov[1].iov_len, 4);
    assert_int_equal(vsock_vring_copy_to(c.in, c.n_in, 10, "abc", 3), 3);
    assert_memory_equal(f->ram + BUF_OFF + 110, "abc", 3);
    vsock_vring_push(&f->q, c.head, 13);
    assert_int_equal(used(f)->idx, 1);
    assert_int_equal(used(f)->ring[0].id, 3);
    assert_int_equal(used(f)->ring[0].len, 13);
    assert_false(vsock_vring_has_avail(&f->q));
}

static void test_unpop(void **state)
{
    struct fake *f = *state;
    struct vsock_vring_chain c;
    set_desc(f, 0, MEM_GPA + BUF_OFF, 64, VRING_DESC_F_WRITE, 0);
    offer(f, 0);
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 1);
    vsock_vring_unpop(&f->q);
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 1);
    assert_int_equal(c.head, 0);
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 0);
}

/* A malformed chain is consumed and returned with length 0; the ring keeps working. */
static void expect_bad_chain(struct fake *f, uint16_t head)
{
    struct vsock_vring_chain c;
    uint16_t used_before = used(f)->idx;
    offer(f, head);
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), -EINVAL);
    assert_int_equal(used(f)->idx, (uint16_t)(used_before + 1));
    assert_int_equal(used(f)->ring[used_before % QNUM].id, head);
    assert_int_equal(used(f)->ring[used_before % QNUM].len, 0);
    assert_false(f->q.broken);
    /* and a good chain after it still goes through */
    set_desc(f, 7, MEM_GPA + BUF_OFF, 16, 0, 0);
    offer(f, 7);
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 1);
    assert_int_equal(c.head, 7);
    vsock_vring_push(&f->q, 7, 0);
}

static void test_bad_out_of_bounds(void **state)
{
    struct fake *f = *state;
    set_desc(f, 0, MEM_GPA + MEM_SIZE - 8, 16, 0, 0); /* straddles the end */
    expect_bad_chain(f, 0);
    set_desc(f, 0, 0x10, 16, 0, 0); /* below the region */
    expect_bad_chain(f, 0);
    set_desc(f, 0, UINT64_MAX - 4, 16, 0, 0); /* wraps */
    expect_bad_chain(f, 0);
}

static void test_bad_zero_and_huge_length(void **state)
{
    struct fake *f = *state;
    set_desc(f, 0, MEM_GPA + BUF_OFF, 0, 0, 0);
    expect_bad_chain(f, 0);
    set_desc(f, 0, MEM_GPA + BUF_OFF, UINT32_MAX, 0, 0);
    expect_bad_chain(f, 0);
    set_desc(f, 0, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, 1, MEM_GPA + BUF_OFF, 0x80000000u, VRING_DESC_F_WRITE, 0);
    expect_bad_chain(f, 0);
}

static void test_bad_loops(void **state)
{
    struct fake *f = *state;
    set_desc(f, 2, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 2); /* self loop */
    expect_bad_chain(f, 2);
    set_desc(f, 0, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 1);
    set_desc(f, 1, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, 0); /* two-element cycle */
    expect_bad_chain(f, 0);
    set_desc(f, 0, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_NEXT, QNUM + 3); /* next out of range */
    expect_bad_chain(f, 0);
}

static void test_bad_flags(void **state)
{
    struct fake *f = *state;
    set_desc(f, 0, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_INDIRECT, 0);
    expect_bad_chain(f, 0);
    set_desc(f, 0, MEM_GPA + BUF_OFF, 16, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1);
    set_desc(f, 1, MEM_GPA + BUF_OFF, 16, 0, 0); /* readable after writable */
    expect_bad_chain(f, 0);
}

static void test_corrupt_ring(void **state)
{
    struct fake *f = *state;
    struct vsock_vring_chain c;
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->q.err_fd = efd;
    avail(f)->ring[0] = QNUM + 1; /* head out of range */
    avail(f)->idx = 1;
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), -EIO);
    assert_true(f->q.broken);
    assert_false(vsock_vring_ready(&f->q));
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), 0); /* stays off */
    eventfd_t v = 0;
    assert_int_equal(eventfd_read(efd, &v), 0);
    assert_int_equal(v, 1);
    /* an avail index that runs more than a ring ahead */
    f->q.broken = false;
    f->q.last_avail = 0;
    avail(f)->idx = QNUM + 1;
    assert_int_equal(vsock_vring_pop(&f->q, &f->mem, &c), -EIO);
    assert_true(f->q.broken);
}

static void test_chain_bound(void **state)
{
    /* a chain as long as a big ring allows but longer than our bound is refused */
    struct vsock_vring_mem m = {0};
    uint8_t *ram = aligned_alloc(4096, 1 << 20);
    memset(ram, 0, 1 << 20);
    assert_int_equal(vsock_vring_mem_add(&m, 0, 1 << 20, 0x10000000, ram, NULL), 0);
    struct vsock_vring q;
    vsock_vring_init(&q);
    q.num = 256;
    q.desc_uva = 0x10000000;
    q.avail_uva = 0x10000000 + 0x1000;
    q.used_uva = 0x10000000 + 0x2000;
    assert_int_equal(vsock_vring_map(&q, &m, NULL), 0);
    q.started = q.enabled = true;
    struct vring_desc *d = (struct vring_desc *)ram;
    for (uint16_t i = 0; i < 100; i++)
        d[i] = (struct vring_desc){0x8000, 8, VRING_DESC_F_NEXT, (uint16_t)(i + 1)};
    d[100] = (struct vring_desc){0x8000, 8, 0, 0};
    struct vring_avail *a = (struct vring_avail *)(ram + 0x1000);
    a->ring[0] = 0;
    a->idx = 1;
    struct vsock_vring_chain *c = malloc(sizeof(*c));
    assert_int_equal(vsock_vring_pop(&q, &m, c), -EINVAL);
    /* the same chain within the bound is fine */
    d[VSOCK_VRING_MAX_CHAIN - 1] = (struct vring_desc){0x8000, 8, 0, 0};
    a->ring[1] = 0;
    a->idx = 2;
    assert_int_equal(vsock_vring_pop(&q, &m, c), 1);
    assert_int_equal(c->n_out, VSOCK_VRING_MAX_CHAIN);
    free(c);
    free(ram);
}

static void test_notify(void **state)
{
    struct fake *f = *state;
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    f->q.call_fd = efd;
    eventfd_t v = 0;
    vsock_vring_notify(&f->q); /* nothing used: no signal */
    assert_int_equal(eventfd_read(efd, &v), -1);
    vsock_vring_push(&f->q, 0, 0);
    vsock_vring_notify(&f->q);
    assert_int_equal(eventfd_read(efd, &v), 0);
    /* the guest asked for no interrupts */
    avail(f)->flags = VRING_AVAIL_F_NO_INTERRUPT;
    vsock_vring_push(&f->q, 0, 0);
    vsock_vring_notify(&f->q);
    assert_int_equal(eventfd_read(efd, &v), -1);
}

static void test_notify_flag_only_when_running(void **state)
{
    struct fake *f = *state;
    vsock_vring_set_notify(&f->q, false);
    assert_int_equal(used(f)->flags, VRING_USED_F_NO_NOTIFY);
    vsock_vring_set_notify(&f->q, true);
    assert_int_equal(used(f)->flags, 0);
    /* a stopped ring's pointers may name memory the guest reuses: never written */
    f->q.started = false;
    vsock_vring_set_notify(&f->q, false);
    assert_int_equal(used(f)->flags, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_translate, setup, teardown),
        cmocka_unit_test(test_mem_add_bad),
        cmocka_unit_test_setup_teardown(test_ring_outside_memory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pop_good_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unpop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_out_of_bounds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_zero_and_huge_length, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_loops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_flags, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_ring, setup, teardown),
        cmocka_unit_test(test_chain_bound),
        cmocka_unit_test_setup_teardown(test_notify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_notify_flag_only_when_running, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
