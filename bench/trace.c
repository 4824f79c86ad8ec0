/* gatehouse-bench: captures loaded into memory before timing, and clocks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatehouse/source.h"
#include "trace.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

uint64_t bench_ticks(void)
{
#ifdef HAVE_TSC
    return __rdtsc();
#else
    return 0;
#endif
}

/* Load every packet of @p path (file or directory) into memory. */
int bench_load_trace(mem_trace *t, const char *path)
{
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(path, &err);
    if (!s) {
        fprintf(stderr, "gatehouse-bench: %s\n", err.msg);
        return -1;
    }
    gh_pkt_in batch[64];
    for (;;) {
        size_t n = 0;
        int rc = gh_source_read_batch(s, batch, 64, &n, &err);
        if (rc == GH_E_EOF)
            break;
        if (rc != GH_OK) {
            fprintf(stderr, "gatehouse-bench: %s\n", err.msg);
            gh_source_close(s);
            return -1;
        }
        for (size_t i = 0; i < n; i++) {
            if (t->n == t->cap) {
                t->cap = t->cap ? t->cap * 2 : 4096;
                t->pkts = realloc(t->pkts, t->cap * sizeof(*t->pkts));
                if (!t->pkts) {
                    fprintf(stderr, "gatehouse-bench: out of memory\n");
                    exit(1);
                }
            }
            mem_pkt *m = &t->pkts[t->n++];
            m->data = malloc(batch[i].caplen ? batch[i].caplen : 1);
            if (!m->data) {
                fprintf(stderr, "gatehouse-bench: out of memory\n");
                exit(1);
            }
            memcpy(m->data, batch[i].data, batch[i].caplen);
            m->caplen = batch[i].caplen;
            m->linktype = batch[i].linktype;
            t->bytes += batch[i].caplen;
        }
    }
    gh_source_close(s);
    return 0;
}

int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}


void bench_free_trace(mem_trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->pkts[i].data);
    free(t->pkts);
    memset(t, 0, sizeof(*t));
}
