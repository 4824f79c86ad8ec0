/* Large, long-lived allocations: huge-page advice, heap mapped ahead of
 * the packets, whole-file reads. */
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

/* Chunks are mapped, not malloc'd, and LeakSanitizer does not look for
 * pointers in mappings of its own: a chunk is a root region while it is
 * mapped, so that what arenas in it point to (a signature's patterns and
 * PCRE2 code) is reachable. */
#if defined(__SANITIZE_ADDRESS__)
#define GH_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GH_LSAN 1
#endif
#endif
#ifdef GH_LSAN
#include <sanitizer/lsan_interface.h>
#define ROOT_ADD(p, n) __lsan_register_root_region((p), (n))
#define ROOT_DEL(p, n) __lsan_unregister_root_region((p), (n))
#else
#define ROOT_ADD(p, n) ((void)(p), (void)(n))
#define ROOT_DEL(p, n) ((void)(p), (void)(n))
#endif

static void chunk_unmap(void *p, size_t size)
{
    ROOT_DEL(p, size);
    munmap(p, size);
}

/* MADV_HUGEPAGE on the 2 MiB-aligned part of @p p..@p p+n */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    uintptr_t lo = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t hi = ((uintptr_t)p + n) & ~(HUGE_PAGE - 1);
    if (p && hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void *gh_mem_calloc_huge(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p)
        advise_huge(p, n * size); /* calloc checked the product */
    return p;
}

/* ---- pool ------------------------------------------------------------------ */

typedef struct pool_chunk {
    uint8_t *base;
    size_t size, used, live; /* live: blocks not freed */
} pool_chunk;

#define NO_CHUNK SIZE_MAX
#define POOL_ALIGN ((size_t)64)

/* Chunks put back, kept mapped for the next taker: at most this many. */
#define SPARE_MAX 64

static struct {
    pthread_mutex_t mu;
    pool_chunk *c;
    size_t n, cap;
    size_t cur; /* the chunk being carved, NO_CHUNK when none */
    void *spare[SPARE_MAX]; /* GH_MEM_CHUNK each, from gh_mem_chunk_put */
    size_t nspare;
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .cur = NO_CHUNK};

/* @p size bytes (a multiple of HUGE_PAGE), 2 MiB-aligned, advised huge:
 * a spare chunk when there is one (the caller holds pool.mu), else mapped. */
static uint8_t *chunk_map(size_t size)
{
    if (size == HUGE_PAGE && pool.nspare)
        return pool.spare[--pool.nspare];
    size_t span = size + HUGE_PAGE;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uint8_t *base = (uint8_t *)(((uintptr_t)m + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1));
    if (base > m)
        munmap(m, (size_t)(base - m));
    size_t tail = (size_t)(m + span - (base + size));
    if (tail)
        munmap(base + size, tail);
    advise_huge(base, size);
    ROOT_ADD(base, size);
    return base;
}

void *gh_mem_pool_alloc(size_t n)
{
    if (n == 0 || n > SIZE_MAX / 2)
        return NULL;
    n = (n + POOL_ALIGN - 1) & ~(POOL_ALIGN - 1);
    void *p = NULL;
    pthread_mutex_lock(&pool.mu);
    bool own = n > HUGE_PAGE / 2;
    pool_chunk *c = !own && pool.cur != NO_CHUNK ? &pool.c[pool.cur] : NULL;
    if (!c || c->size - c->used < n) {
        if (pool.n == pool.cap) {
            size_t nc = pool.cap ? 2 * pool.cap : 16;
            pool_chunk *nb = realloc(pool.c, nc * sizeof(*nb));
            if (!nb)
                goto out;
            pool.c = nb;
            pool.cap = nc;
        }
        size_t size = own ? (n + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1) : HUGE_PAGE;
        uint8_t *base = chunk_map(size);
        if (!base)
            goto out;
        /* the chunk that was being carved is no longer: it goes when empty */
        if (!own && pool.cur != NO_CHUNK && pool.c[pool.cur].live == 0) {
            chunk_unmap(pool.c[pool.cur].base, pool.c[pool.cur].size);
            pool.c[pool.cur] = pool.c[--pool.n];
        }
        c = &pool.c[pool.n];
        *c = (pool_chunk){.base = base, .size = size};
        if (!own)
            pool.cur = pool.n;
        pool.n++;
    }
    p = c->base + c->used;
    c->used += n;
    c->live++;
out:
    pthread_mutex_unlock(&pool.mu);
    return p;
}

void *gh_mem_chunk_get(bool *zeroed)
{
    pthread_mutex_lock(&pool.mu);
    *zeroed = pool.nspare == 0;
    void *p = chunk_map(HUGE_PAGE);
    pthread_mutex_unlock(&pool.mu);
    return p;
}

void gh_mem_chunk_put(void *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&pool.mu);
    bool kept = pool.nspare < SPARE_MAX;
    if (kept)
        pool.spare[pool.nspare++] = p;
    pthread_mutex_unlock(&pool.mu);
    if (!kept)
        chunk_unmap(p, HUGE_PAGE);
}

void gh_mem_chunks_trim(void)
{
    pthread_mutex_lock(&pool.mu);
    while (pool.nspare)
        chunk_unmap(pool.spare[--pool.nspare], HUGE_PAGE);
    pthread_mutex_unlock(&pool.mu);
}

bool gh_mem_pool_free(void *p)
{
    if (!p)
        return false;
    bool ours = false;
    pthread_mutex_lock(&pool.mu);
    for (size_t i = 0; i < pool.n; i++) {
        pool_chunk *c = &pool.c[i];
        if ((uint8_t *)p < c->base || (uint8_t *)p >= c->base + c->used)
            continue;
        ours = true;
        if (--c->live == 0 && i != pool.cur) {
            chunk_unmap(c->base, c->size);
            size_t last = --pool.n;
            if (i != last) {
                pool.c[i] = pool.c[last];
                if (pool.cur == last)
                    pool.cur = i;
            }
        }
        break;
    }
    pthread_mutex_unlock(&pool.mu);
    return ours;
}

/* Blocks below glibc's smallest mmap threshold (128 KiB), so they come from
 * the heap proper and stay there when freed. */
#define WARM_BLOCK ((size_t)64 << 10)
#define PAGE ((uintptr_t)4096)

struct gh_mem_warm {
    void **blocks; /* NULL once finished */
    size_t n;
    void *keep; /* after the blocks: they are never the heap's top */
    pthread_t helper;
    atomic_bool stop; /* finish: the helper stops after the block it is on */
};

/* MADV_POPULATE_WRITE maps the whole pages in one call, cheaper than a
 * fault each; the write per page then enters each one in the tables the
 * CPU walks, and maps the rest where the call is missing or failed. */
void gh_mem_prefault(void *p, size_t n)
{
    if (!p || !n)
        return;
    volatile uint8_t *b = p;
#ifdef MADV_POPULATE_WRITE
    uintptr_t lo = ((uintptr_t)b + PAGE - 1) & ~(PAGE - 1);
    uintptr_t hi = ((uintptr_t)b + n) & ~(PAGE - 1);
    if (hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_POPULATE_WRITE);
#endif
    for (size_t off = 0; off < n; off += PAGE)
        b[off] = b[off];
    b[n - 1] = b[n - 1]; /* the last page, when the block is not page-aligned */
}

/* The helper: map every page of every block (they belong to no one else
 * until finish). */
static void *warm_run(void *arg)
{
    gh_mem_warm *w = arg;
    for (size_t i = 0; i < w->n && !atomic_load_explicit(&w->stop, memory_order_relaxed); i++)
        gh_mem_prefault(w->blocks[i], WARM_BLOCK);
    return NULL;
}

gh_mem_warm *gh_mem_warm_start(size_t bytes)
{
    gh_mem_warm *w = calloc(1, sizeof(*w));
    size_t n = bytes / WARM_BLOCK;
    if (!w || !n || !(w->blocks = calloc(n, sizeof(*w->blocks))))
        goto fail;
    while (w->n < n && (w->blocks[w->n] = malloc(WARM_BLOCK)))
        w->n++;
    if (!w->n || !(w->keep = malloc(1)))
        goto fail;
    if (pthread_create(&w->helper, NULL, warm_run, w) != 0)
        goto fail;
    return w;
fail:
    if (w) {
        for (size_t i = 0; i < w->n; i++)
            free(w->blocks[i]);
        free(w->blocks);
        free(w->keep);
        free(w);
    }
    return NULL;
}

void gh_mem_warm_finish(gh_mem_warm *w)
{
    if (!w || !w->blocks)
        return;
    atomic_store_explicit(&w->stop, true, memory_order_relaxed);
    pthread_join(w->helper, NULL);
    for (size_t i = 0; i < w->n; i++)
        free(w->blocks[i]);
    free(w->blocks);
    w->blocks = NULL;
    w->n = 0;
}

void gh_mem_warm_free(gh_mem_warm *w)
{
    if (!w)
        return;
    gh_mem_warm_finish(w);
    free(w->keep);
    free(w);
}

/* A pipe or FIFO, or a file whose mapping failed: read to the end. */
static char *read_stream(int fd, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            char *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                errno = ENOMEM;
                return NULL;
            }
            buf = b;
        }
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            free(buf);
            return NULL;
        }
        if (got == 0)
            break;
        n += (size_t)got;
    }
    *len = n;
    if (!buf) /* empty: a non-NULL pointer all the same */
        buf = malloc(1);
    return buf;
}

int gh_mem_file_read(const char *path, gh_mem_file *f)
{
    *f = (gh_mem_file){0};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 2) {
        void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (m != MAP_FAILED)
            *f = (gh_mem_file){.p = m, .len = (size_t)st.st_size, .mapped = true};
    }
    if (!f->p)
        f->p = read_stream(fd, &f->len);
    int e = errno;
    close(fd);
    errno = e;
    return f->p ? 0 : -1;
}

void gh_mem_file_free(gh_mem_file *f)
{
    if (f->mapped)
        munmap((void *)f->p, f->len);
    else
        free((void *)f->p);
    *f = (gh_mem_file){0};
}
