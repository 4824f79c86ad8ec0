/* gatehouse-bench: benchmark scenarios, each printing one JSON object.
 * Inputs are loaded into memory before timing; every scenario checks its own
 * results so a fast wrong answer cannot pass. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatehouse/counters.h"
#include "gatehouse/decode.h"
#include "gatehouse/source.h"
#include "scenarios.h"
#include "trace.h"
#include "scenarios.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

/* A digest of what decoding found, to check that every round agrees. */
typedef struct decode_digest {
    uint64_t tcp, udp, icmp, payload_bytes, anomalies;
} decode_digest;

static void decode_round(const mem_trace *t, const gh_decode_opts *o, decode_digest *d)
{
    gh_packet p;
    memset(d, 0, sizeof(*d));
    for (size_t i = 0; i < t->n; i++) {
        gh_decode(&p, t->pkts[i].linktype, t->pkts[i].data, t->pkts[i].caplen, o);
        d->tcp += !!(p.layers & GH_LAYER_TCP);
        d->udp += !!(p.layers & GH_LAYER_UDP);
        d->icmp += !!(p.layers & (GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6));
        d->payload_bytes += p.payload_len;
        d->anomalies += (uint64_t)__builtin_popcountll(p.anomalies);
    }
}

static void usage(void)
{
    fprintf(stderr,
            "usage: gatehouse-bench <scenario> [options]\n"
            "\n"
            "scenarios:\n"
            "  decode [-k none] [--runs N] [--min-packets N] FILE|DIR...\n"
            "      decode-only throughput over captures loaded in memory; repeats\n"
            "      the trace until each run decodes at least --min-packets packets\n"
            "      (default 2000000), --runs times (default 5); prints median,\n"
            "      min and max.\n"
            "  classbench RULES TRACE [--runs N] [--burst N] [--min-lookups N] [--first N]\n"

            "      firewall classifier on a ClassBench filter set and its trace:\n"
            "      build time, memory, lookups/s (burst API, median of --runs,\n"
            "      default 5, over >= --min-lookups, default 2000000) and a linear\n"
            "      first-match scan; every result checked against the trace.\n"
            "      --first N keeps the first N filters (headers whose expected filter\n"
            "      lies beyond them must match nothing).\n"
            "  pipeline [-F FILE]... [-S FILE|DIR]... [--policy accept|drop] [-k none]\n"
            "           [--runs N] [--var NAME=VALUE]... FILE|DIR...\n"
            "      the whole engine over captures loaded in memory; JSON with ns per\n"
            "      packet, packets/s, Gbit/s and the verdict/alert counts (checked\n"
            "      equal across runs)\n"
            "  dpi -S FILE|DIR... [--runs N] FILE|DIR...\n"
            "      the engine with signatures next to the ceiling: Hyperscan alone\n"
            "      streaming the same payloads for the same fast patterns; Gbit/s of\n"
            "      payload for both and their ratio\n"
            "  synth [--size BYTES] [--flows N] [--data N] [--trace CLASSBENCH_TRACE]\n"
            "        [-F FILE]... [-S FILE|DIR]... [--policy P] [--runs N]\n"
            "      traffic generated in memory (TCP flows of BYTES-byte frames, or one\n"
            "      packet per ClassBench trace header) through decode alone and the\n"
            "      whole engine; verdicts, alerts and a marker signature checked\n"
            "  memory [-F FILE]... [-S FILE|DIR]...\n"
            "      flow entry, classifier, Hyperscan database, scratch and stream-state\n"
            "      bytes, compile times\n"
            "  sigsubset -S FILE|DIR... --first N   (the first N with a fast pattern)\n"
            "      print the first N signatures that load (for rule-count sweeps)\n"
            "  nfq-loop --queue N [--no-batch] [--queue-maxlen N] [--rcvbuf BYTES]\n"
            "      the minimal NFQUEUE loop (accept everything) until SIGTERM; packets\n"
            "      and packets/s from the first to the last (root; see bench/nfq.sh)\n"
            "  udp-flood --port P [--seconds S | --count N] [--flows N] [--size B]\n"
            "      UDP datagrams to 127.0.0.1:P as fast as possible (bench/nfq.sh)\n"
            "  app [--runs N] FILE|DIR...\n"
            "      the application layer alone (detection, every parser) over the TCP\n"
            "      and UDP payloads in capture order: ns per packet, allocations per\n"
            "      packet, and the cost of each detected protocol's packets\n");
}

static int bench_decode(int argc, char **argv)
{
    gh_decode_opts o = {.verify_checksums = true};
    int runs = 5;
    uint64_t min_pkts = 2000000;
    mem_trace t = {0};
    int nin = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-k") == 0 && i + 1 < argc) {
            o.verify_checksums = strcmp(argv[++i], "none") != 0;
        } else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
            runs = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--min-packets") == 0 && i + 1 < argc) {
            min_pkts = strtoull(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-') {
            usage();
            return 2;
        } else {
            if (bench_load_trace(&t, argv[i]) != 0)
                return 1;
            nin++;
        }
    }
    if (!nin || !t.n || runs < 1 || runs > 101) {
        usage();
        return 2;
    }
    decode_digest ref, d;
    decode_round(&t, &o, &ref); /* warm-up and reference */
    uint64_t rounds = (min_pkts + t.n - 1) / t.n;
    if (rounds == 0)
        rounds = 1;
    double *ns = calloc((size_t)runs, sizeof(double));
    double *cyc = calloc((size_t)runs, sizeof(double));
    int mismatches = 0;
    for (int r = 0; r < runs; r++) {
        double t0 = bench_now_ns();
        uint64_t c0 = bench_ticks();
        for (uint64_t k = 0; k < rounds; k++) {
            decode_round(&t, &o, &d);
            if (memcmp(&d, &ref, sizeof(d)) != 0)
                mismatches++;
        }
        uint64_t c1 = bench_ticks();
        double t1 = bench_now_ns();
        ns[r] = (t1 - t0) / (double)(rounds * t.n);
        cyc[r] = (double)(c1 - c0) / (double)(rounds * t.n);
    }
    qsort(ns, (size_t)runs, sizeof(double), bench_cmp_double);
    qsort(cyc, (size_t)runs, sizeof(double), bench_cmp_double);
    double med = ns[runs / 2];
    double avg_size = (double)t.bytes / (double)t.n;
    printf("{\"bench\":\"decode\",\"checksums\":%s,\"inputs\":%d,\"packets\":%zu,\"bytes\":%" PRIu64
           ",\"avg_pkt_size\":%.1f,\"runs\":%d,\"packets_per_run\":%" PRIu64
           ",\"ns_per_packet\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f}"
           ",\"tsc_ticks_per_packet\":%.1f"
           ",\"packets_per_sec\":%.0f,\"gbit_per_sec\":%.3f"
           ",\"check\":{\"tcp\":%" PRIu64 ",\"udp\":%" PRIu64 ",\"icmp\":%" PRIu64
           ",\"anomalies\":%" PRIu64 ",\"mismatches\":%d}}\n",
           o.verify_checksums ? "true" : "false", nin, t.n, t.bytes, avg_size, runs,
           rounds * t.n, med, ns[0], ns[runs - 1], cyc[runs / 2], 1e9 / med,
           avg_size * 8.0 / med, ref.tcp, ref.udp, ref.icmp, ref.anomalies, mismatches);
    free(ns);
    free(cyc);
    bench_free_trace(&t);
    return mismatches ? 1 : 0;
}

int main(int argc, char **argv)
{
    bench_alloc_count_init();
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "decode") == 0)
        return bench_decode(argc - 2, argv + 2);
    if (strcmp(argv[1], "classbench") == 0)
        return bench_classbench(argc - 2, argv + 2);
    if (strcmp(argv[1], "pipeline") == 0)
        return bench_pipeline(argc - 2, argv + 2);
    if (strcmp(argv[1], "dpi") == 0)
        return bench_dpi(argc - 2, argv + 2);
    if (strcmp(argv[1], "synth") == 0)
        return bench_synth(argc - 2, argv + 2);
    if (strcmp(argv[1], "memory") == 0)
        return bench_memory(argc - 2, argv + 2);
    if (strcmp(argv[1], "sigsubset") == 0)
        return bench_sigsubset(argc - 2, argv + 2);
    if (strcmp(argv[1], "nfq-loop") == 0)
        return bench_nfq_loop(argc - 2, argv + 2);
    if (strcmp(argv[1], "app") == 0)
        return bench_app(argc, argv);
    if (strcmp(argv[1], "udp-flood") == 0)
        return bench_udp_flood(argc - 2, argv + 2);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage();
        return 0;
    }
    fprintf(stderr, "gatehouse-bench: unknown scenario '%s'\n", argv[1]);
    usage();
    return 2;
}
