/* gatehouse-bench: every heap allocation counted, to check DESIGN.md 4's "no
 * allocation per packet". The link wraps malloc, calloc, realloc,
 * posix_memalign and aligned_alloc (-Wl,--wrap: every call from gatehouse's
 * own code, the engine library included), and Hyperscan's allocator is
 * pointed at the same counter. Calls made inside other shared libraries
 * (PCRE2, libpcap) are not seen. */
#include <hs/hs.h>
#include <stdlib.h>

#include "trace.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t k, size_t n);
void *__real_realloc(void *p, size_t n);
int __real_posix_memalign(void **p, size_t a, size_t n);
void *__real_aligned_alloc(size_t a, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t k, size_t n);
void *__wrap_realloc(void *p, size_t n);
int __wrap_posix_memalign(void **p, size_t a, size_t n);
void *__wrap_aligned_alloc(size_t a, size_t n);

static uint64_t allocs;

void *__wrap_malloc(size_t n)
{
    allocs++;
    return __real_malloc(n);
}

void *__wrap_calloc(size_t k, size_t n)
{
    allocs++;
    return __real_calloc(k, n);
}

void *__wrap_realloc(void *p, size_t n)
{
    allocs++;
    return __real_realloc(p, n);
}

int __wrap_posix_memalign(void **p, size_t a, size_t n)
{
    allocs++;
    return __real_posix_memalign(p, a, n);
}

void *__wrap_aligned_alloc(size_t a, size_t n)
{
    allocs++;
    return __real_aligned_alloc(a, n);
}

static void *hs_counted(size_t n)
{
    allocs++;
    return __real_malloc(n);
}

void bench_alloc_count_init(void)
{
    hs_set_allocator(hs_counted, free);
}

uint64_t bench_allocs(void)
{
    return allocs;
}
