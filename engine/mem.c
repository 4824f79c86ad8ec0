/* Large, long-lived allocations: huge-page advice and whole-file reads. */
#include "mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define HUGE_PAGE ((uintptr_t)2 << 20)

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
