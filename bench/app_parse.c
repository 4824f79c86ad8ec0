/* gatehouse-bench app: the application layer alone (protocol detection and
 * every parser, no signatures) over the TCP and UDP payloads of captures in
 * memory, fed in capture order per flow direction (no reassembly: for
 * captures without loss or reordering this is what stream inspection feeds).
 * Reports ns per packet (every packet of the trace and per packet with
 * payload), heap allocations per packet after the first run (parser states
 * come back to the pool between runs, buffers keep what they grew to) and
 * in the last run (the steady state the runs converge to), and per detected
 * protocol the cost of its flows' payload packets alone (runs that feed
 * only those flows). */
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
    uint8_t ipproto;
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
 * TCP/UDP payloads in capture order. */
static size_t collect(const mem_trace *t, seg *segs, fkey *keys, size_t *nflows)
{
    size_t ns = 0;
    gh_decode_opts o = {.verify_checksums = false};
    for (size_t i = 0; i < t->n; i++) {
        gh_packet p;
        gh_decode(&p, t->pkts[i].linktype, t->pkts[i].data, t->pkts[i].caplen, &o);
        if (!(p.layers & (GH_LAYER_TCP | GH_LAYER_UDP)) || !p.payload_len)
            continue;
        size_t f = 0;
        uint8_t dir = 0;
        for (; f < *nflows; f++) { /* linear: bench input has few flows */
            fkey *k = &keys[f];
            if (k->ipproto != p.ip_proto)
                continue;
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
            keys[f].ipproto = p.ip_proto;
            (*nflows)++;
        }
        segs[ns++] = (seg){(uint32_t)f, dir, p.payload, p.payload_len};
    }
    return ns;
}

typedef struct run_ctx {
    gh_app *app;
    gh_app_flow *flows;
    const fkey *keys;
    size_t nflows;
    const seg *segs;
    size_t ns;
    gh_app_sink sink;
} run_ctx;

/* One pass over the payloads of the flows whose protocol is @p only (or
 * every flow: GH_ALPROTO_N), then every flow ends. Fills @p proto (may be
 * NULL) with each flow's detected protocol. Returns the ns it took. */
static double run_once(run_ctx *c, const uint8_t *proto_of, uint8_t only, uint8_t *proto)
{
    for (size_t f = 0; f < c->nflows; f++) {
        const fkey *k = &c->keys[f];
        c->flows[f].pc = (gh_app_probe_ctx){
            .transport = k->ipproto == 17 ? GH_APP_UDP : GH_APP_TCP, .server_port = k->pb,
            .client_port = k->pa};
    }
    double t0 = bench_now_ns();
    for (size_t i = 0; i < c->ns; i++) {
        const seg *s = &c->segs[i];
        if (only != GH_ALPROTO_N && proto_of[s->flow] != only)
            continue;
        gh_app_records_reset(c->app);
        if (c->keys[s->flow].ipproto == 17)
            gh_app_datagram(c->app, &c->flows[s->flow], s->dir, s->p, s->len, &c->sink);
        else
            gh_app_data(c->app, &c->flows[s->flow], s->dir, s->p, s->len, &c->sink);
    }
    for (size_t f = 0; f < c->nflows; f++) {
        if (proto)
            proto[f] = c->flows[f].proto;
        gh_app_close(c->app, &c->flows[f], 0, &c->sink);
        gh_app_close(c->app, &c->flows[f], 1, &c->sink);
        gh_app_flow_release(c->app, &c->flows[f]);
    }
    return bench_now_ns() - t0;
}

int bench_app(int argc, char **argv)
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
        fprintf(stderr, "usage: gatehouse-bench app [--runs N>=2] FILE|DIR...\n");
        return 2;
    }
    seg *segs = malloc(t.n * sizeof(*segs));
    fkey *keys = calloc(t.n, sizeof(*keys));
    size_t nflows = 0, ns = segs && keys ? collect(&t, segs, keys, &nflows) : 0;
    size_t nf = nflows ? nflows : 1;
    gh_app_flow *flows = calloc(nf, sizeof(*flows));
    uint8_t *proto = calloc(nf, 1);
    double *ns_run = calloc(runs, sizeof(double));
    gh_error err = {0};
    gh_app *app = flows ? gh_app_new((uint32_t)nf, NULL, &err) : NULL;
    if (!app || !proto || !ns_run) {
        fprintf(stderr, "app: out of memory\n");
        return 1;
    }
    uint64_t events = 0, allocs = 0, last = 0;
    run_ctx c = {.app = app, .flows = flows, .keys = keys, .nflows = nflows, .segs = segs,
                 .ns = ns,
                 .sink = {.ctx = &events, .on_progress = on_progress, .on_anomaly = on_anomaly}};
    bench_alloc_count_init();
    for (unsigned r = 0; r < runs; r++) {
        uint64_t a0 = bench_allocs();
        events = 0;
        ns_run[r] = run_once(&c, NULL, GH_ALPROTO_N, r ? NULL : proto);
        last = bench_allocs() - a0;
        if (r > 0) /* the first run warms the state pool */
            allocs += last;
    }
    qsort(ns_run, runs, sizeof(double), bench_cmp_double);
    size_t bytes = 0;
    for (size_t i = 0; i < t.n; i++)
        bytes += t.pkts[i].caplen;
    printf("{\"bench\":\"app\",\"packets\":%zu,\"bytes\":%zu,\"payload_packets\":%zu,"
           "\"flows\":%zu,"
           "\"progress_events\":%" PRIu64 ",\"runs\":%u,\"ns_per_packet\":%.1f,"
           "\"ns_per_payload_packet\":%.1f,\"allocations_per_packet\":%.6f,"
           "\"allocations_per_packet_last_run\":%.6f,\"protocols\":{",
           t.n, bytes, ns, nflows, events, runs, ns_run[runs / 2] / (double)t.n,
           ns ? ns_run[runs / 2] / (double)ns : 0.0,
           (double)allocs / (double)(t.n * (runs - 1)), (double)last / (double)t.n);
    bool first = true;
    for (uint8_t p = GH_ALPROTO_UNKNOWN + 1; p < GH_ALPROTO_FAILED; p++) {
        size_t pf = 0, pp = 0, pb = 0;
        for (size_t f = 0; f < nflows; f++)
            pf += proto[f] == p;
        for (size_t i = 0; i < ns; i++)
            if (proto[segs[i].flow] == p) {
                pp++;
                pb += segs[i].len;
            }
        if (!pf)
            continue;
        for (unsigned r = 0; r < runs; r++)
            ns_run[r] = run_once(&c, proto, p, NULL);
        qsort(ns_run, runs, sizeof(double), bench_cmp_double);
        printf("%s\"%s\":{\"flows\":%zu,\"payload_packets\":%zu,\"payload_bytes\":%zu,"
               "\"ns_per_payload_packet\":%.1f}",
               first ? "" : ",", gh_alproto_name(p), pf, pp, pb, ns_run[runs / 2] / (double)pp);
        first = false;
    }
    printf("}}\n");
    gh_app_free(app);
    free(flows);
    free(proto);
    free(keys);
    free(segs);
    free(ns_run);
    bench_free_trace(&t);
    return 0;
}
