#include "vsock/vring.h"

#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "common/io.h"

/* Guest-shared fields are read exactly once each: the compiler must not re-load them after we
 * have checked them (a double fetch would let the guest swap in a bad value). */
#define GUEST_LOAD(p) __atomic_load_n((p), __ATOMIC_RELAXED)

static const struct vsock_vring_region *find_region(const struct vsock_vring_mem *m, uint64_t addr,
                                                    uint64_t len, bool by_uva)
{
    if (len == 0)
        return NULL;
    for (unsigned i = 0; i < m->n; i++) {
        const struct vsock_vring_region *r = &m->r[i];
        uint64_t start = by_uva ? r->uva : r->gpa;
        /* written without start+size or addr+len so that no sum can wrap */
        if (addr >= start && addr - start < r->size && len <= r->size - (addr - start))
            return r;
    }
    return NULL;
}

void *vsock_vring_gpa(const struct vsock_vring_mem *m, uint64_t gpa, uint64_t len)
{
    const struct vsock_vring_region *r = find_region(m, gpa, len, false);
    return r ? r->host + (gpa - r->gpa) : NULL;
}

void *vsock_vring_uva(const struct vsock_vring_mem *m, uint64_t uva, uint64_t len)
{
    const struct vsock_vring_region *r = find_region(m, uva, len, true);
    return r ? r->host + (uva - r->uva) : NULL;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b ? b - a < alen : a - b < blen;
}

int vsock_vring_mem_add(struct vsock_vring_mem *m, uint64_t gpa, uint64_t size, uint64_t uva,
                        void *host, struct lcow_error **err)
{
    if (m->n >= VSOCK_VRING_MAX_REGIONS)
        return lcow_error_make(err, EINVAL, "memory table: more than %d regions",
                               VSOCK_VRING_MAX_REGIONS);
    if (size == 0 || gpa + size < gpa || uva + size < uva)
        return lcow_error_make(err, EINVAL, "memory region gpa=0x%llx size=0x%llx: bad range",
                               (unsigned long long)gpa, (unsigned long long)size);
    for (unsigned i = 0; i < m->n; i++)
        if (ranges_overlap(gpa, size, m->r[i].gpa, m->r[i].size))
            return lcow_error_make(err, EINVAL, "memory region gpa=0x%llx overlaps region %u",
                                   (unsigned long long)gpa, i);
    m->r[m->n++] = (struct vsock_vring_region){
        .gpa = gpa, .size = size, .uva = uva, .host = host, .map = NULL, .map_len = 0};
    return 0;
}

int vsock_vring_mem_map(struct vsock_vring_mem *m, int fd, uint64_t gpa, uint64_t size,
                        uint64_t uva, uint64_t mmap_offset, struct lcow_error **err)
{
    /* QEMU's offset is into the fd; mapping from 0 keeps the mmap offset page-aligned. */
    if (size == 0 || mmap_offset + size < mmap_offset || mmap_offset + size > SIZE_MAX)
        return lcow_error_make(err, EINVAL, "memory region size=0x%llx offset=0x%llx: bad range",
                               (unsigned long long)size, (unsigned long long)mmap_offset);
    size_t len = (size_t)(mmap_offset + size);
    /* a file shorter than the region would turn guest accesses into SIGBUS in our process */
    struct stat st;
    if (fstat(fd, &st) < 0)
        return lcow_error_errno(err, "fstat guest memory fd");
    if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < mmap_offset + size)
        return lcow_error_make(err, EINVAL, "guest memory fd holds %lld bytes, region needs %zu",
                               (long long)st.st_size, len);
    void *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
    if (map == MAP_FAILED)
        return lcow_error_errno(err, "mmap guest memory (%zu bytes)", len);
    int r = vsock_vring_mem_add(m, gpa, size, uva, (uint8_t *)map + mmap_offset, err);
    if (r < 0) {
        munmap(map, len);
        return r;
    }
    m->r[m->n - 1].map = map;
    m->r[m->n - 1].map_len = len;
    return 0;
}

void vsock_vring_mem_clear(struct vsock_vring_mem *m)
{
    for (unsigned i = 0; i < m->n; i++)
        if (m->r[i].map)
            munmap(m->r[i].map, m->r[i].map_len);
    memset(m, 0, sizeof(*m));
}

void vsock_vring_init(struct vsock_vring *q)
{
    memset(q, 0, sizeof(*q));
    q->kick_fd = q->call_fd = q->err_fd = -1;
}

void vsock_vring_reset(struct vsock_vring *q)
{
    if (q->kick_fd >= 0)
        lcow_close_nointr(q->kick_fd);
    if (q->call_fd >= 0)
        lcow_close_nointr(q->call_fd);
    if (q->err_fd >= 0)
        lcow_close_nointr(q->err_fd);
    vsock_vring_init(q);
}

int vsock_vring_map(struct vsock_vring *q, const struct vsock_vring_mem *m, struct lcow_error **err)
{
    q->desc = NULL;
    q->avail = NULL;
    q->used = NULL;
    if (q->num == 0 || q->desc_uva == 0 || m->n == 0)
        return 0; /* not configured yet: mapped later */
    /* the virtio spec's alignment: 16 for the table, 2 for avail, 4 for used */
    if (q->desc_uva % 16 || q->avail_uva % 2 || q->used_uva % 4)
        return lcow_error_make(err, EINVAL, "vring addresses are misaligned");
    uint64_t n = q->num;
    void *desc = vsock_vring_uva(m, q->desc_uva, 16 * n);
    void *avail = vsock_vring_uva(m, q->avail_uva, 4 + 2 * n + 2);
    void *used = vsock_vring_uva(m, q->used_uva, 4 + 8 * n + 2);
    if (!desc || !avail || !used)
        return lcow_error_make(err, EFAULT, "vring of %u entries lies outside guest memory",
                               q->num);
    q->desc = desc;
    q->avail = avail;
    q->used = used;
    return 0;
}

bool vsock_vring_ready(const struct vsock_vring *q)
{
    return q->num && q->desc && q->started && q->enabled && !q->broken;
}

bool vsock_vring_has_avail(const struct vsock_vring *q)
{
    if (!vsock_vring_ready(q))
        return false;
    return le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE)) != q->last_avail;
}

void vsock_vring_set_notify(struct vsock_vring *q, bool enable)
{
    /* Only a running ring: between a device stop and the next SET_VRING_ADDR the pointers
     * still name the old ring's place, which the rebooted guest may use for anything. */
    if (!vsock_vring_ready(q))
        return;
    __atomic_store_n(&q->used->flags, htole16(enable ? 0 : VRING_USED_F_NO_NOTIFY),
                     __ATOMIC_RELAXED);
    /* the flag store must be visible before we look at avail->idx again */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void mark_broken(struct vsock_vring *q)
{
    q->broken = true;
    if (q->err_fd >= 0)
        (void)eventfd_write(q->err_fd, 1);
}

/* Walks the chain from head into c. 0 or -EINVAL. */
static int walk_chain(const struct vsock_vring *q, const struct vsock_vring_mem *m, uint16_t head,
                      struct vsock_vring_chain *c)
{
    unsigned limit = q->num < VSOCK_VRING_MAX_CHAIN ? q->num : VSOCK_VRING_MAX_CHAIN;
    uint16_t i = head;
    c->head = head;
    c->n_out = c->n_in = 0;
    c->out_len = c->in_len = 0;
    /* A chain longer than the ring (or our bound) must contain a loop: counting is enough. */
    for (unsigned count = 0;; count++) {
        if (count >= limit || i >= q->num)
            return -EINVAL;
        const struct vring_desc *d = &q->desc[i];
        uint64_t addr = le64toh(GUEST_LOAD(&d->addr));
        uint32_t len = le32toh(GUEST_LOAD(&d->len));
        uint16_t flags = le16toh(GUEST_LOAD(&d->flags));
        uint16_t next = le16toh(GUEST_LOAD(&d->next));
        if (flags & VRING_DESC_F_INDIRECT)
            return -EINVAL;
        uint8_t *p = vsock_vring_gpa(m, addr, len); /* NULL for len 0 too */
        if (p == NULL)
            return -EINVAL;
        if (flags & VRING_DESC_F_WRITE) {
            c->in[c->n_in++] = (struct vsock_vring_seg){p, len};
            c->in_len += len;
        } else {
            if (c->n_in)
                return -EINVAL; /* readable after writable: the spec forbids it */
            c->out[c->n_out++] = (struct vsock_vring_seg){p, len};
            c->out_len += len;
        }
        if (!(flags & VRING_DESC_F_NEXT))
            return 0;
        i = next;
    }
}

int vsock_vring_pop(struct vsock_vring *q, const struct vsock_vring_mem *m,
                    struct vsock_vring_chain *c)
{
    if (!vsock_vring_ready(q))
        return 0;
    uint16_t avail_idx = le16toh(__atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE));
    uint16_t pending = (uint16_t)(avail_idx - q->last_avail);
    if (pending == 0)
        return 0;
    if (pending > q->num) {
        mark_broken(q);
        return -EIO;
    }
    uint16_t head = le16toh(GUEST_LOAD(&q->avail->ring[q->last_avail % q->num]));
    if (head >= q->num) {
        mark_broken(q);
        return -EIO;
    }
    q->last_avail++;
    if (walk_chain(q, m, head, c) < 0) {
        vsock_vring_push(q, head, 0);
        return -EINVAL;
    }
    return 1;
}

void vsock_vring_unpop(struct vsock_vring *q)
{
    q->last_avail--;
}

void vsock_vring_push(struct vsock_vring *q, uint16_t head, uint32_t len)
{
    struct vring_used_elem *e = &q->used->ring[q->used_idx % q->num];
    __atomic_store_n(&e->id, htole32(head), __ATOMIC_RELAXED);
    __atomic_store_n(&e->len, htole32(len), __ATOMIC_RELAXED);
    q->used_idx++;
    /* the element must be visible before the index that publishes it */
    __atomic_store_n(&q->used->idx, htole16(q->used_idx), __ATOMIC_RELEASE);
    q->need_call = true;
    q->unsignalled++;
}

void vsock_vring_notify(struct vsock_vring *q)
{
    if (!q->need_call)
        return;
    q->need_call = false;
    q->unsignalled = 0;
    if (q->avail == NULL) /* stopped meanwhile: the guest is being reset, nothing to signal */
        return;
    /* order our used->idx store before reading the guest's flags (virtio spec 2.7.7.2) */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (le16toh(GUEST_LOAD(&q->avail->flags)) & VRING_AVAIL_F_NO_INTERRUPT)
        return;
    if (q->call_fd >= 0)
        (void)eventfd_write(q->call_fd, 1);
}

size_t vsock_vring_copy_from(void *dst, const struct vsock_vring_seg *s, unsigned n, size_t off,
                             size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= s[i].len) {
            off -= s[i].len;
            continue;
        }
        size_t k = s[i].len - off;
        if (k > len - done)
            k = len - done;
        memcpy((uint8_t *)dst + done, s[i].base + off, k);
        done += k;
        off = 0;
    }
    return done;
}

size_t vsock_vring_copy_to(const struct vsock_vring_seg *s, unsigned n, size_t off, const void *src,
                           size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < n && done < len; i++) {
        if (off >= s[i].len) {
            off -= s[i].len;
            continue;
        }
        size_t k = s[i].len - off;
        if (k > len - done)
            k = len - done;
        memcpy(s[i].base + off, (const uint8_t *)src + done, k);
        done += k;
        off = 0;
    }
    return done;
}

unsigned vsock_vring_iov(const struct vsock_vring_seg *s, unsigned n, size_t off, size_t len,
                         struct iovec *iov, unsigned max)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len > 0 && k < max; i++) {
        if (off >= s[i].len) {
            off -= s[i].len;
            continue;
        }
        size_t l = s[i].len - off;
        if (l > len)
            l = len;
        iov[k++] = (struct iovec){s[i].base + off, l};
        len -= l;
        off = 0;
    }
    return k;
}
