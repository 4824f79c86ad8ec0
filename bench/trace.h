/* gatehouse-bench: shared helpers (captures loaded into memory, clocks). */
#ifndef GATEHOUSE_BENCH_TRACE_H
#define GATEHOUSE_BENCH_TRACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct mem_pkt {
    uint8_t *data;
    uint32_t caplen;
    uint32_t linktype;
} mem_pkt;

typedef struct mem_trace {
    mem_pkt *pkts;
    size_t n, cap;
    uint64_t bytes;
} mem_trace;

/** Monotonic time in nanoseconds. */
double bench_now_ns(void);
/** TSC ticks (0 where there is no TSC). */
uint64_t bench_ticks(void);
/** Append every packet of @p path (file or directory) to @p t; 0 or -1 (printed). */
int bench_load_trace(mem_trace *t, const char *path);
/** Free the packets of @p t. */
void bench_free_trace(mem_trace *t);
/** Count heap allocations from here on (alloc_count.c), Hyperscan's too. */
void bench_alloc_count_init(void);
/** Allocations counted so far. */
uint64_t bench_allocs(void);
/** qsort comparator for doubles. */
int bench_cmp_double(const void *a, const void *b);

#endif
