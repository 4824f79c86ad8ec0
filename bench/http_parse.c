/* gatehouse-bench http: the application layer alone (protocol detection and
 * the HTTP/1.x parser, no signatures) over the TCP payloads of captures in
 * memory, fed in capture order per flow direction (no reassembly: for
 * captures without loss or reordering this is what stream inspection feeds).
 * Reports ns per packet (every packet of the trace and per TCP packet with
 * payload) and heap allocations per packet after the first run (parser
 * states come back to the pool between runs: steady state). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "gatehouse/decode.h"
#include "scenarios.h"
#include "trace.h"

typedef struct seg {
    uint32_t flow;
    uint8_t dir;
    const uint8_t *p;
    uint32_t len;
} seg;

typedef struct fkey {
    uint8_t a[16], b[16];
    uint16_t pa, pb;
} fkey;

static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    (void)tx;
    (void)dir;
    (void)stage;
    ++*(uint64_t *)ctx;
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    (void)ctx;
    (void)tx;
    (void)dir;
    (void)name;
}

/* The flows of the trace (client: the sender of the first packet) and the
 * TCP payloads in capture order. */
static size_t collect(const mem_trace *t, seg *segs, fkey *keys, size_t *nflows)
{
    size_t ns = 0;
    gh_decode_opts o = {.verify_checksums = false};
    for (size_t i = 0; i < t->n; i++) {
        gh_packet p;
        gh_decode(&p, t->pkts[i].linktype, t->pkts[i].data, t->pkts[i].caplen, &o);
        if (!(p.layers & GH_LAYER_TCP) || !p.payload_len)
            continue;
        size_t f = 0;
        uint8_t dir = 0;
        for (; f < *nflows; f++) { /* linear: bench input has few flows */
            fkey *k = &keys[f];
            if (!memcmp(k->a, p.src.b, 16) && !memcmp(k->b, p.dst.b, 16) && k->pa == p.sport &&
                k->pb == p.dport)
                break;
            if (!memcmp(k->a, p.dst.b, 16) && !memcmp(k->b, p.src.b, 16) && k->pa == p.dport &&
                k->pb == p.sport) {
                dir = 1;
                break;
            }
        }
        if (f == *nflows) {
            memcpy(keys[f].a, p.src.b, 16);
            memcpy(keys[f].b, p.dst.b, 16);
            keys[f].pa = p.sport;
            keys[f].pb = p.dport;
            (*nflows)++;
        }
        segs[ns++] = (seg){(uint32_t)f, dir, p.payload, p.payload_len};
    }
    return ns;
}

int bench_http(int argc, char **argv)
{
    unsigned runs = 5;
    mem_trace t = {0};
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = (unsigned)atoi(argv[++i]);
        else if (bench_load_trace(&t, argv[i]) != 0)
            return 1;
    }
    if (!t.n || runs < 2) {
        fprintf(stderr, "usage: gatehouse-bench http [--runs N>=2] FILE|DIR...\n");
        return 2;
    }
    seg *segs = malloc(t.n * sizeof(*segs));
    fkey *keys = calloc(t.n, sizeof(*keys));
    size_t nflows = 0, ns = segs && keys ? collect(&t, segs, keys, &nflows) : 0;
    gh_app_flow *flows = calloc(nflows ? nflows : 1, sizeof(*flows));
    gh_error err = {0};
    gh_app *app = flows ? gh_app_new((uint32_t)(nflows ? nflows : 1), NULL, &err) : NULL;
    double *ns_run = calloc(runs, sizeof(double));
    if (!app || !ns_run) {
        fprintf(stderr, "http: out of memory\n");
        return 1;
    }
    uint64_t events = 0, allocs = 0;
    gh_app_sink sink = {.ctx = &events, .on_progress = on_progress, .on_anomaly = on_anomaly};
    bench_alloc_count_init();
    for (unsigned r = 0; r < runs; r++) {
        uint64_t a0 = bench_allocs();
        events = 0;
        double t0 = bench_now_ns();
        for (size_t i = 0; i < ns; i++) {
            gh_app_records_reset(app);
            gh_app_data(app, &flows[segs[i].flow], segs[i].dir, segs[i].p, segs[i].len, &sink);
        }
        for (size_t f = 0; f < nflows; f++) {
            gh_app_close(app, &flows[f], 0, &sink);
            gh_app_close(app, &flows[f], 1, &sink);
            gh_app_flow_release(app, &flows[f]);
        }
        ns_run[r] = bench_now_ns() - t0;
        if (r > 0) /* the first run warms the state pool */
            allocs += bench_allocs() - a0;
    }
    qsort(ns_run, runs, sizeof(double), bench_cmp_double);
    double med = ns_run[runs / 2];
    const gh_app_stats *st = gh_app_get_stats(app);
    printf("{\"bench\":\"http\",\"packets\":%zu,\"tcp_payload_packets\":%zu,\"flows\":%zu,"
           "\"http_flows\":%" PRIu64 ",\"progress_events\":%" PRIu64 ",\"runs\":%u,"
           "\"ns_per_packet\":%.1f,\"ns_per_payload_packet\":%.1f,"
           "\"allocations_per_packet\":%.6f}\n",
           t.n, ns, nflows, st->flows[GH_ALPROTO_HTTP1] / runs, events, runs, med / (double)t.n,
           ns ? med / (double)ns : 0.0, (double)allocs / (double)(t.n * (runs - 1)));
    gh_app_free(app);
    free(flows);
    free(keys);
    free(segs);
    free(ns_run);
    bench_free_trace(&t);
    return 0;
}
