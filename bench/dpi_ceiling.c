/* gatehouse-bench dpi: the whole engine with signatures next to the ceiling,
 * Hyperscan alone scanning the same payload bytes for the same fast
 * patterns (one streaming database, one stream per flow direction, packets
 * in capture order: what a perfect streaming prefilter would cost). Both
 * are reported in Gbit/s of L4 payload and as a ratio. */
#include <hs/hs.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gatehouse/engine.h"
#include "scenarios.h"
#include "trace.h"

static int on_match(unsigned id, unsigned long long from, unsigned long long to, unsigned flags,
                    void *ctx)
{
    (void)id;
    (void)from;
    (void)to;
    (void)flags;
    (*(uint64_t *)ctx)++;
    return 0;
}

static char *literal(const char *b, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    char *s = malloc(4 * n + 1);
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)b[i];
        s[4 * i] = '\\';
        s[4 * i + 1] = 'x';
        s[4 * i + 2] = hx[c >> 4];
        s[4 * i + 3] = hx[c & 15];
    }
    s[4 * n] = '\0';
    return s;
}

/* Flow-direction streams for the ceiling, keyed by the decoded 5-tuple. */
typedef struct cstream {
    gh_addr src, dst;
    uint16_t sport, dport;
    uint8_t proto, used;
    hs_stream_t *hs;
} cstream;

static cstream *find_stream(cstream *tab, size_t cap, const gh_packet *p)
{
    uint64_t h = 1469598103934665603ull;
    const uint8_t *k[] = {p->src.b, p->dst.b};
    for (int j = 0; j < 2; j++)
        for (int i = 0; i < 16; i++)
            h = (h ^ k[j][i]) * 1099511628211ull;
    h = (h ^ p->sport) * 1099511628211ull;
    h = (h ^ p->dport) * 1099511628211ull;
    h = (h ^ p->ip_proto) * 1099511628211ull;
    for (size_t i = 0; i < cap; i++) {
        cstream *c = &tab[(h + i) % cap];
        if (!c->used) {
            c->used = 1;
            c->src = p->src;
            c->dst = p->dst;
            c->sport = p->sport;
            c->dport = p->dport;
            c->proto = p->ip_proto;
            return c;
        }
        if (c->sport == p->sport && c->dport == p->dport && c->proto == p->ip_proto &&
            !memcmp(&c->src, &p->src, sizeof(c->src)) && !memcmp(&c->dst, &p->dst, sizeof(c->dst)))
            return c;
    }
    return NULL;
}

int bench_dpi(int argc, char **argv)
{
    const char **sig = calloc((size_t)argc + 1, sizeof(*sig));
    size_t nsig = 0;
    int runs = 5, rc = 1, exit_code = 0;
    mem_trace t = {0};
    gh_rule_vars *vars = NULL;
    gh_dpi *dpi = NULL;
    hs_database_t *db = NULL;
    hs_scratch_t *scr = NULL;
    char **ex = NULL;
    unsigned *flags = NULL, *ids = NULL;
    size_t nex = 0;
    cstream *tab = NULL;
    size_t cap = 0;
    gh_dpi_options dopt;
    gh_dpi_options_init(&dopt);
    if (!sig)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-S") && i + 1 < argc)
            sig[nsig++] = argv[++i];
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--port-groups") && i + 1 < argc)
            dopt.port_groups = (unsigned)atoi(argv[++i]);
        else if (argv[i][0] == '-') {
            fprintf(stderr, "usage: gatehouse-bench dpi -S FILE|DIR... [--runs N] [--port-groups N] FILE|DIR...\n");
            rc = 2;
            goto out;
        } else if (bench_load_trace(&t, argv[i]) != 0)
            goto out;
    }
    if (!nsig || !t.n || runs < 1 || runs > 101) {
        fprintf(stderr, "usage: gatehouse-bench dpi -S FILE|DIR... [--runs N] [--port-groups N] FILE|DIR...\n");
        rc = 2;
        goto out;
    }
    if (!(vars = gh_cli_vars_load("gatehouse-bench", NULL, 0, NULL, 0, &exit_code)) ||
        !(dpi = gh_cli_dpi_load_ex("gatehouse-bench", sig, nsig, vars, NULL, &dopt, false,
                                   &exit_code)))
        goto out;

    /* the ceiling's database: every loaded signature's fast pattern */
    size_t n = gh_dpi_sig_count(dpi);
    ex = calloc(n + 1, sizeof(*ex));
    flags = calloc(n + 1, sizeof(*flags));
    ids = calloc(n + 1, sizeof(*ids));
    if (!ex || !flags || !ids)
        goto out;
    for (size_t i = 0; i < n; i++) {
        const gh_dpi_sig_info *si = gh_dpi_sig(dpi, (uint32_t)i);
        if (!si->fast_pattern)
            continue;
        if (!(ex[nex] = literal(si->fast_pattern, si->fast_pattern_len)))
            goto out;
        flags[nex] = HS_FLAG_SINGLEMATCH | (si->fast_pattern_nocase ? HS_FLAG_CASELESS : 0);
        ids[nex] = (unsigned)i;
        nex++;
    }
    hs_compile_error_t *cerr = NULL;
    if (!nex || hs_compile_multi((const char *const *)ex, flags, ids, (unsigned)nex, HS_MODE_STREAM,
                                 NULL, &db, &cerr) != HS_SUCCESS) {
        fprintf(stderr, "gatehouse-bench: ceiling database: %s\n",
                cerr ? cerr->message : "no fast patterns");
        hs_free_compile_error(cerr);
        goto out;
    }
    if (hs_alloc_scratch(db, &scr) != HS_SUCCESS)
        goto out;

    /* decode once; the ceiling scans the same L4 payloads */
    gh_decode_opts dopts = {.verify_checksums = false};
    uint64_t payload = 0;
    gh_packet *pk = calloc(t.n, sizeof(*pk));
    if (!pk)
        goto out;
    for (size_t i = 0; i < t.n; i++) {
        gh_decode(&pk[i], t.pkts[i].linktype, t.pkts[i].data, t.pkts[i].caplen, &dopts);
        payload += pk[i].payload_len;
    }
    cap = 2 * t.n + 1;

    double *eng = calloc((size_t)runs, sizeof(double)), *ceil_ = calloc((size_t)runs, sizeof(double));
    uint64_t alerts = 0, hits = 0;
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.dpi = dpi;
    cfg.flow.max_flows = 1u << 16;
    /* both sides warm: one worker for every pass, one stream table whose
     * Hyperscan streams are reset between passes; pass 0 is not timed */
    gh_worker *w = eng && ceil_ ? bench_engine_new(&cfg) : NULL;
    tab = calloc(cap, sizeof(*tab));
    for (int r = -1; r < runs && w && tab; r++) {
        /* engine */
        bench_run er;
        if (bench_engine_run(&t, w, (unsigned)(r + 1), &er) != 0)
            break;
        if (r >= 0)
            eng[r] = er.ns;
        if (r >= 0 && er.alerts != alerts) {
            fprintf(stderr, "gatehouse-bench: pass %d raised %" PRIu64 " alerts, pass 0 %" PRIu64
                            "\n", r + 1, er.alerts, alerts);
            exit_code = 1;
        }
        alerts = er.alerts;

        /* ceiling: Hyperscan streaming over each direction's payloads */
        for (size_t i = 0; i < cap; i++)
            tab[i].used = 0;
        uint64_t h = 0;
        double t0 = bench_now_ns();
        for (size_t i = 0; i < t.n; i++) {
            const gh_packet *p = &pk[i];
            if (!p->payload_len || !p->ip_ver)
                continue;
            cstream *c = find_stream(tab, cap, p);
            if (!c)
                continue;
            if (!c->hs && hs_open_stream(db, 0, &c->hs) != HS_SUCCESS)
                continue;
            c->used = 2; /* streamed in this pass */
            hs_scan_stream(c->hs, (const char *)p->payload, p->payload_len, 0, scr, on_match, &h);
        }
        for (size_t i = 0; i < cap; i++)
            if (tab[i].used == 2) /* end of stream (and ready for the next pass) */
                hs_reset_stream(tab[i].hs, 0, scr, on_match, &h);
        if (r >= 0)
            ceil_[r] = bench_now_ns() - t0;
        hits = h;
    }
    gh_worker_free(w);
    for (size_t i = 0; tab && i < cap; i++)
        hs_close_stream(tab[i].hs, NULL, NULL, NULL);
    if (eng && ceil_ && !exit_code) {
        qsort(eng, (size_t)runs, sizeof(double), bench_cmp_double);
        qsort(ceil_, (size_t)runs, sizeof(double), bench_cmp_double);
        double ge = (double)payload * 8.0 / eng[runs / 2], gc = (double)payload * 8.0 / ceil_[runs / 2];
        printf("{\"bench\":\"dpi\",\"port_groups\":%u,\"signatures\":%zu,\"fast_patterns\":%zu,\"packets\":%zu,"
               "\"payload_bytes\":%" PRIu64 ",\"runs\":%d,\"engine_gbit_per_sec\":%.3f,"
               "\"hyperscan_alone_gbit_per_sec\":%.3f,\"ratio\":%.3f,"
               "\"engine_ns_per_packet\":%.1f,\"check\":{\"alerts\":%" PRIu64
               ",\"fast_pattern_hits\":%" PRIu64 "}}\n",
               dopt.port_groups, n, nex, t.n, payload, runs, ge, gc, ge / gc, eng[runs / 2] / (double)t.n, alerts,
               hits);
        rc = 0;
    }
    free(eng);
    free(ceil_);
    free(pk);
out:
    free(tab);
    hs_free_scratch(scr);
    hs_free_database(db);
    for (size_t i = 0; ex && i < nex; i++)
        free(ex[i]);
    free(ex);
    free(flags);
    free(ids);
    gh_dpi_free(dpi);
    gh_rule_vars_free(vars);
    bench_free_trace(&t);
    free(sig);
    return rc;
}
