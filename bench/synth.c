/* gatehouse-bench synth: traffic generated in memory through the whole engine.
 *
 * Two kinds of input, both built before timing:
 * - sized: --flows TCP flows (handshake, then --data client packets whose
 *   frames are exactly --size bytes), interleaved round-robin so every flow
 *   is live at once; every 64th flow's first data packet starts with the
 *   marker GHMARK01 (the signature sid 9000001 counts them, when loaded);
 * - trace: --trace FILE, one 64-byte TCP or UDP packet per header of a
 *   ClassBench trace (other protocols skipped), each checked against the
 *   trace's expected filter when -F holds that set converted in order with
 *   action drop (bench/run's conversion): drops by a rule must equal the
 *   headers whose expected filter is among the loaded rules (with --policy
 *   drop every packet is then a table lookup: drops are not remembered).
 * Reports decode alone and the whole engine (ns and TSC ticks per packet,
 * median of --runs with min and max), compile times, and the checks. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gatehouse/engine.h"
#include "scenarios.h"
#include "trace.h"

#define MARKER "GHMARK01"
#define MARKER_SID 9000001u
#define MARK_EVERY 64u

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static uint16_t fold(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* Ethernet + IPv4 + TCP (proto 6) or UDP (17) with @p plen payload bytes,
 * checksums filled; the payload is left to the caller (already in place). */
static void build(uint8_t *f, uint8_t proto, uint32_t src, uint32_t dst, uint16_t sport,
                  uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, uint32_t plen)
{
    uint32_t l4 = proto == 6 ? 20 : 8;
    memset(f, 0, 14 + 20 + l4);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, 20 + l4 + plen);
    put16(ip + 4, seq & 0xffff);
    ip[6] = 0x40; /* DF */
    ip[8] = 64;
    ip[9] = proto;
    put32(ip + 12, src);
    put32(ip + 16, dst);
    put16(ip + 10, fold(sum16(ip, 20, 0)));
    uint8_t *l = ip + 20;
    put16(l, sport);
    put16(l + 2, dport);
    uint32_t ps = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + l4 + plen;
    if (proto == 6) {
        put32(l + 4, seq);
        put32(l + 8, ack);
        l[12] = 5 << 4;
        l[13] = flags;
        put16(l + 14, 65535);
        put16(l + 16, fold(sum16(l, l4 + plen, ps)));
    } else {
        put16(l + 4, l4 + plen);
        uint16_t c = fold(sum16(l, l4 + plen, ps));
        put16(l + 6, c ? c : 0xffff);
    }
}

static void add(mem_trace *t, uint8_t *data, uint32_t len)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 4096;
        t->pkts = realloc(t->pkts, t->cap * sizeof(*t->pkts));
        if (!t->pkts) {
            fprintf(stderr, "gatehouse-bench: out of memory\n");
            exit(1);
        }
    }
    t->pkts[t->n++] = (mem_pkt){.data = data, .caplen = len, .linktype = 1 /* ethernet */};
    t->bytes += len;
}

static uint8_t *frame(uint32_t len)
{
    uint8_t *f = calloc(1, len);
    if (!f) {
        fprintf(stderr, "gatehouse-bench: out of memory\n");
        exit(1);
    }
    return f;
}

/* Payload bytes: lowercase letters, digits and spaces (text-like, and never
 * the upper-case marker). */
static void fill(uint8_t *p, uint32_t n)
{
    static const char al[] = "abcdefghijklmnopqrstuvwxyz0123456789    ";
    for (uint32_t i = 0; i < n; i++)
        p[i] = (uint8_t)al[rnd() % (sizeof(al) - 1)];
}

/* The sized traffic; returns the number of marked flows. */
static uint64_t gen_sized(mem_trace *t, uint32_t size, uint32_t flows, uint32_t data)
{
    const uint32_t hdr = 14 + 20 + 20;
    uint32_t plen = size > hdr ? size - hdr : 0;
    uint64_t marked = 0;
    for (uint32_t step = 0; step < 3 + data; step++) {
        for (uint32_t k = 0; k < flows; k++) {
            uint32_t cli = 0x0a000000u | (k + 1), srv = 0xc0a80001u + (k % 251);
            uint16_t sport = (uint16_t)(1024 + k % 60000), dport = (uint16_t)(k % 3 ? 80 : 443);
            uint32_t iss = 1000u + k * 7u, irs = 500000u + k * 13u;
            uint8_t *f;
            if (step == 0) {
                build(f = frame(hdr), 6, cli, srv, sport, dport, iss, 0, 0x02, 0);
                add(t, f, hdr);
            } else if (step == 1) {
                build(f = frame(hdr), 6, srv, cli, dport, sport, irs, iss + 1, 0x12, 0);
                add(t, f, hdr);
            } else if (step == 2) {
                build(f = frame(hdr), 6, cli, srv, sport, dport, iss + 1, irs + 1, 0x10, 0);
                add(t, f, hdr);
            } else {
                uint32_t d = step - 3;
                f = frame(hdr + plen);
                fill(f + hdr, plen);
                if (d == 0 && k % MARK_EVERY == 0 && plen >= sizeof(MARKER) - 1) {
                    memcpy(f + hdr, MARKER, sizeof(MARKER) - 1);
                    marked++;
                }
                build(f, 6, cli, srv, sport, dport, iss + 1 + d * plen, irs + 1, 0x18, plen);
                add(t, f, hdr + plen);
            }
        }
    }
    return marked;
}

/* One 64-byte packet per TCP/UDP header of a ClassBench trace; expect[i] is
 * the header's expected filter (0-based). */
static int gen_trace(mem_trace *t, const char *path, size_t max, uint32_t **expect)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        perror(path);
        return -1;
    }
    size_t cap = 0;
    char line[256];
    unsigned s, d, sp, dp, pr, e;
    while (fgets(line, sizeof(line), fp) && (!max || t->n < max)) {
        if (sscanf(line, "%u %u %u %u %u %u", &s, &d, &sp, &dp, &pr, &e) != 6 || !e)
            continue;
        if (pr != 6 && pr != 17)
            continue;
        uint32_t hdr = 14 + 20 + (pr == 6 ? 20 : 8), len = 64;
        uint8_t *f = frame(len);
        fill(f + hdr, len - hdr);
        /* a plain ACK: a packet of a flow the table has not seen */
        build(f, (uint8_t)pr, s, d, (uint16_t)sp, (uint16_t)dp, 1, 1, 0x10, len - hdr);
        if (t->n == cap) {
            cap = cap ? cap * 2 : 4096;
            uint32_t *ne = realloc(*expect, cap * sizeof(**expect));
            if (!ne) {
                fclose(fp);
                return -1;
            }
            *expect = ne;
        }
        (*expect)[t->n] = e - 1;
        add(t, f, len);
    }
    fclose(fp);
    return 0;
}

static void synth_usage(void)
{
    fprintf(stderr, "usage: gatehouse-bench synth [--size BYTES] [--flows N] [--data N] "
                    "[--trace CLASSBENCH_TRACE [--max N]] [-F FILE]... [-S FILE|DIR]... "
                    "[--policy accept|drop] [--runs N] [--min-packets N] [--skip-decode]\n");
}

int bench_synth(int argc, char **argv)
{
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.flow.max_flows = 1u << 17;
    const char **fw = calloc((size_t)argc + 1, sizeof(*fw));
    const char **sig = calloc((size_t)argc + 1, sizeof(*sig));
    size_t nfw = 0, nsig = 0, max = 0;
    uint32_t size = 512, flows = 2000, data = 30;
    const char *trace = NULL;
    bool skip_decode = false; /* the engine alone (for profiles) */
    int runs = 5, rc = 1, exit_code = 0;
    uint64_t min_pkts = 1000000;
    mem_trace t = {0};
    uint32_t *expect = NULL;
    gh_rule_vars *vars = NULL;
    gh_fw *fwt = NULL;
    gh_dpi *dpi = NULL;
    gh_worker *w = NULL;
    double *ns = NULL, *tk = NULL, *dns = NULL, *dtk = NULL;
    if (!fw || !sig)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-F") && i + 1 < argc)
            fw[nfw++] = argv[++i];
        else if (!strcmp(argv[i], "-S") && i + 1 < argc)
            sig[nsig++] = argv[++i];
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
            cfg.policy = !strcmp(argv[++i], "drop") ? GH_FW_DROP : GH_FW_ACCEPT;
        else if (!strcmp(argv[i], "--size") && i + 1 < argc)
            size = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--flows") && i + 1 < argc)
            flows = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data = (uint32_t)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--trace") && i + 1 < argc)
            trace = argv[++i];
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            max = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-packets") && i + 1 < argc)
            min_pkts = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--skip-decode"))
            skip_decode = true;
        else {
            synth_usage();
            rc = 2;
            goto out;
        }
    }
    if (runs < 1 || runs > 101 || size < 54 || size > 9000 || !flows || flows > 1000000) {
        synth_usage();
        rc = 2;
        goto out;
    }
    uint64_t marked = 0;
    if (trace) {
        if (gen_trace(&t, trace, max, &expect) != 0)
            goto out;
    } else {
        marked = gen_sized(&t, size, flows, data);
    }
    if (!t.n) {
        fprintf(stderr, "gatehouse-bench: synth: no packets\n");
        goto out;
    }

    /* compile (timed apart from the packet path) */
    double fw_ms = 0, dpi_ms = 0;
    if (nfw || nsig) {
        if (!(vars = gh_cli_vars_load("gatehouse-bench", NULL, 0, NULL, 0, &exit_code)))
            goto out;
        double a = bench_now_ns();
        if (nfw && !(fwt = gh_cli_firewall_load("gatehouse-bench", fw, nfw, vars, false, &exit_code)))
            goto out;
        double b = bench_now_ns();
        if (nsig && !(dpi = gh_cli_dpi_load("gatehouse-bench", sig, nsig, vars, NULL, false,
                                            &exit_code)))
            goto out;
        fw_ms = (b - a) / 1e6;
        dpi_ms = (bench_now_ns() - b) / 1e6;
    }
    cfg.fw = fwt;
    cfg.dpi = dpi;
    uint32_t marker_idx = UINT32_MAX;
    for (size_t i = 0; dpi && i < gh_dpi_sig_count(dpi); i++)
        if (gh_dpi_sig(dpi, (uint32_t)i)->sid == MARKER_SID)
            marker_idx = (uint32_t)i;

    /* the expected verdicts of a trace run: rule drops for the headers
     * whose filter is loaded; with --policy drop the others are policy
     * drops, and since drops are not remembered every packet is a lookup */
    uint64_t want_dropped = UINT64_MAX;
    if (trace && fwt && !dpi) {
        want_dropped = 0;
        for (size_t i = 0; i < t.n; i++)
            want_dropped += expect[i] < gh_fw_rule_count(fwt);
    }

    /* passes of the trace per timed run: at least min_pkts packets */
    unsigned reps = (unsigned)((min_pkts + t.n - 1) / t.n);
    if (reps == 0)
        reps = 1;
    ns = calloc((size_t)runs, sizeof(double));
    tk = calloc((size_t)runs, sizeof(double));
    dns = calloc((size_t)runs, sizeof(double));
    dtk = calloc((size_t)runs, sizeof(double));
    if (!ns || !tk || !dns || !dtk || !(w = bench_engine_new(&cfg)))
        goto out;

    /* decode alone over the same packets */
    gh_decode_opts dopts = {.verify_checksums = cfg.verify_checksums};
    gh_packet p;
    uint64_t dsum = 0;
    for (int r = 0; r < runs && !skip_decode; r++) {
        double a = bench_now_ns();
        uint64_t k = bench_ticks();
        for (unsigned rep = 0; rep < reps; rep++)
            for (size_t i = 0; i < t.n; i++) {
                gh_decode(&p, 1, t.pkts[i].data, t.pkts[i].caplen, &dopts);
                dsum += p.payload_len + (p.anomalies != 0);
            }
        dtk[r] = (double)(bench_ticks() - k) / (double)(reps * t.n);
        dns[r] = (bench_now_ns() - a) / (double)(reps * t.n);
    }
    uint64_t want_payload = 0, anomalies = 0;
    for (size_t i = 0; i < t.n; i++) {
        gh_decode(&p, 1, t.pkts[i].data, t.pkts[i].caplen, &dopts);
        want_payload += p.payload_len;
        anomalies += p.anomalies != 0;
    }
    int mismatches = !skip_decode && dsum != (want_payload + anomalies) * reps * (uint64_t)runs;

    /* the engine: pass 0 warms up and is the reference */
    bench_run ref, cur;
    unsigned pass = 0;
    const uint64_t *hits = gh_worker_sig_hits(w);
    uint64_t m0 = marker_idx != UINT32_MAX ? hits[marker_idx] : 0;
    const gh_counters *cnt = gh_worker_counters(w);
    uint64_t rule_drops = cnt->drop_reason[GH_DROP_FW_RULE];
    if (bench_engine_run(&t, w, pass++, &ref) != 0)
        goto out;
    rule_drops = cnt->drop_reason[GH_DROP_FW_RULE] - rule_drops;
    uint64_t marker_hits = marker_idx != UINT32_MAX ? hits[marker_idx] - m0 : 0;
    uint64_t allocs0 = bench_allocs();
    for (int r = 0; r < runs; r++) {
        double nsum = 0, ksum = 0;
        for (unsigned rep = 0; rep < reps; rep++) {
            uint64_t h0 = marker_idx != UINT32_MAX ? hits[marker_idx] : 0;
            if (bench_engine_run(&t, w, pass++, &cur) != 0)
                goto out;
            nsum += cur.ns;
            ksum += (double)cur.ticks;
            if (cur.accepted != ref.accepted || cur.dropped != ref.dropped ||
                cur.rejected != ref.rejected || cur.alerts != ref.alerts)
                mismatches++;
            if (marker_idx != UINT32_MAX && hits[marker_idx] - h0 != marker_hits)
                mismatches++;
        }
        ns[r] = nsum / (double)(reps * t.n);
        tk[r] = ksum / (double)(reps * t.n);
    }
    /* steady state (after the warm-up pass): DESIGN.md 4 allows none */
    uint64_t allocs = bench_allocs() - allocs0;
    if (want_dropped != UINT64_MAX && rule_drops != want_dropped) {
        fprintf(stderr, "gatehouse-bench: synth: %" PRIu64 " dropped by a rule, the trace expects %"
                        PRIu64 "\n", rule_drops, want_dropped);
        mismatches++;
    }
    if (marker_idx != UINT32_MAX && marker_hits != marked) {
        fprintf(stderr, "gatehouse-bench: synth: marker signature hit %" PRIu64
                        " times, %" PRIu64 " flows carry it\n", marker_hits, marked);
        mismatches++;
    }
    if (!trace && !fwt && ref.accepted + ref.dropped + ref.rejected != t.n)
        mismatches++;
    qsort(ns, (size_t)runs, sizeof(double), bench_cmp_double);
    qsort(tk, (size_t)runs, sizeof(double), bench_cmp_double);
    qsort(dns, (size_t)runs, sizeof(double), bench_cmp_double);
    qsort(dtk, (size_t)runs, sizeof(double), bench_cmp_double);
    double avg = (double)t.bytes / (double)t.n, med = ns[runs / 2];
    printf("{\"bench\":\"synth\",\"mode\":\"%s\",\"size\":%u,\"flows\":%u,\"packets\":%zu,"
           "\"bytes\":%" PRIu64 ",\"avg_pkt_size\":%.1f,\"payload_bytes\":%" PRIu64
           ",\"firewall_rules\":%zu,\"signatures\":%zu,\"fw_compile_ms\":%.2f,"
           "\"dpi_compile_ms\":%.2f,\"runs\":%d,\"packets_per_run\":%" PRIu64 ","
           "\"decode_ns_per_packet\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f},"
           "\"decode_tsc_ticks_per_packet\":%.1f,"
           "\"ns_per_packet\":{\"median\":%.2f,\"min\":%.2f,\"max\":%.2f},"
           "\"tsc_ticks_per_packet\":%.1f,\"packets_per_sec\":%.0f,\"gbit_per_sec\":%.3f,"
           "\"allocations\":%" PRIu64 ",\"allocations_per_packet\":%.6f,"
           "\"check\":{\"accepted\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"rejected\":%" PRIu64
           ",\"alerts\":%" PRIu64 ",\"inspected\":%" PRIu64 ",\"fw_lookups\":%" PRIu64
           ",\"rule_drops\":%" PRIu64 ",\"expected_rule_drops\":%" PRId64 ",\"marked_flows\":%" PRIu64
           ",\"marker_hits\":%" PRId64 ",\"mismatches\":%d}}\n",
           trace ? "trace" : "sized", trace ? 64 : size, trace ? 0 : flows, t.n, t.bytes, avg,
           want_payload, fwt ? gh_fw_rule_count(fwt) : 0, dpi ? gh_dpi_sig_count(dpi) : 0, fw_ms,
           dpi_ms, runs, (uint64_t)reps * t.n, dns[runs / 2], dns[0], dns[runs - 1],
           dtk[runs / 2], med, ns[0], ns[runs - 1], tk[runs / 2], 1e9 / med, avg * 8.0 / med,
           allocs, (double)allocs / ((double)reps * (double)runs * (double)t.n),
           ref.accepted, ref.dropped, ref.rejected, ref.alerts, ref.inspected, ref.fw_lookups,
           rule_drops, want_dropped == UINT64_MAX ? (int64_t)-1 : (int64_t)want_dropped, marked,
           marker_idx == UINT32_MAX ? (int64_t)-1 : (int64_t)marker_hits, mismatches);
    rc = mismatches ? 1 : 0;
out:
    free(ns);
    free(tk);
    free(dns);
    free(dtk);
    gh_worker_free(w);
    gh_dpi_free(dpi);
    gh_fw_free(fwt);
    gh_rule_vars_free(vars);
    bench_free_trace(&t);
    free(expect);
    free(fw);
    free(sig);
    return rc ? rc : exit_code;
}
