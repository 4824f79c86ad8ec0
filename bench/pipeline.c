/* gatehouse-bench pipeline: the whole engine (decode, defrag, flow, firewall,
 * signatures, verdicts; no EVE output) over captures
 * loaded in memory. One worker serves every run, as in steady state (pools,
 * caches and pages warm); each run ends every flow and starts its packet
 * times a million seconds after the previous run's, so flows start over; the
 * verdict and alert counts of every run must equal the first (warm-up) run's. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "gatehouse/engine.h"
#include "scenarios.h"
#include "trace.h"


gh_worker *bench_engine_new(const gh_engine_config *cfg)
{
    gh_error err = {0};
    gh_worker *w = gh_worker_new(cfg, NULL, &err);
    if (!w)
        fprintf(stderr, "gatehouse-bench: %s\n", err.msg);
    return w;
}

int bench_engine_run(const mem_trace *t, gh_worker *w, unsigned pass, bench_run *r)
{
    gh_pkt_in batch[GH_MAX_BATCH];
    gh_verdict v[GH_MAX_BATCH];
    gh_counters c0 = *gh_worker_counters(w);
    int64_t base = (int64_t)pass * 1000000;
    /* packet times advance through the trace so flow timeouts behave */
    double t0 = bench_now_ns();
    uint64_t k0 = bench_ticks();
    for (size_t i = 0; i < t->n;) {
        size_t n = 0;
        for (; n < GH_MAX_BATCH && i < t->n; n++, i++) {
            const mem_pkt *m = &t->pkts[i];
            batch[n] = (gh_pkt_in){.data = m->data, .caplen = m->caplen, .wirelen = m->caplen,
                                   .ts_sec = base + (int64_t)(i / 1000), .ts_nsec = 0,
                                   .linktype = m->linktype, .id = i + 1};
        }
        gh_worker_process_batch(w, batch, n, v);
    }
    gh_worker_finish(w, 0);
    r->ticks = bench_ticks() - k0;
    r->ns = bench_now_ns() - t0;
    const gh_counters *c = gh_worker_counters(w);
    r->accepted = c->accepted - c0.accepted;
    r->dropped = c->dropped - c0.dropped;
    r->rejected = c->rejected - c0.rejected;
    r->alerts = c->alerts - c0.alerts;
    r->inspected = c->dpi_inspected - c0.dpi_inspected;
    r->fw_lookups = c->fw_lookups - c0.fw_lookups;
    return 0;
}

static void pipeline_usage(void)
{
    fprintf(stderr, "usage: gatehouse-bench pipeline [-F FILE]... [-S FILE|DIR]... "
                    "[--policy accept|drop] [-k none] [--runs N] [--vars FILE]... [--var N=V]...\n"
                    "       [--stream-inspect arrival|acked] FILE|DIR...\n");
}

int bench_pipeline(int argc, char **argv)
{
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.flow.max_flows = 1u << 16;
    const char **fw = calloc((size_t)argc + 1, sizeof(*fw));
    const char **sig = calloc((size_t)argc + 1, sizeof(*sig));
    const char **defs = calloc((size_t)argc + 1, sizeof(*defs));
    const char **vfiles = calloc((size_t)argc + 1, sizeof(*vfiles));
    size_t nfw = 0, nsig = 0, ndefs = 0, nvfiles = 0;
    int runs = 5, rc = 1, exit_code = 0;
    mem_trace t = {0};
    gh_rule_vars *vars = NULL;
    gh_fw *fwt = NULL;
    gh_dpi *dpi = NULL;
    bench_run *res = NULL;
    gh_worker *w = NULL;
    if (!fw || !sig || !defs || !vfiles)
        goto out;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-F") && i + 1 < argc)
            fw[nfw++] = argv[++i];
        else if (!strcmp(argv[i], "-S") && i + 1 < argc)
            sig[nsig++] = argv[++i];
        else if (!strcmp(argv[i], "--var") && i + 1 < argc)
            defs[ndefs++] = argv[++i];
        else if (!strcmp(argv[i], "--vars") && i + 1 < argc)
            vfiles[nvfiles++] = argv[++i];
        else if (!strcmp(argv[i], "--stream-inspect") && i + 1 < argc &&
                 (!strcmp(argv[i + 1], "acked") || !strcmp(argv[i + 1], "arrival")))
            cfg.stream_acked = !strcmp(argv[++i], "acked");
        else if (!strcmp(argv[i], "--policy") && i + 1 < argc)
            cfg.policy = !strcmp(argv[++i], "drop") ? GH_FW_DROP : GH_FW_ACCEPT;
        else if (!strcmp(argv[i], "-k") && i + 1 < argc)
            cfg.verify_checksums = strcmp(argv[++i], "none") != 0;
        else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (argv[i][0] == '-') {
            pipeline_usage();
            rc = 2;
            goto out;
        } else if (bench_load_trace(&t, argv[i]) != 0)
            goto out;
    }
    if (!t.n || runs < 1 || runs > 101) {
        pipeline_usage();
        rc = 2;
        goto out;
    }
    if (nfw || nsig) {
        if (!(vars = gh_cli_vars_load("gatehouse-bench", vfiles, nvfiles, defs, ndefs,
                                      &exit_code)))
            goto out;
        if (nfw && !(fwt = gh_cli_firewall_load("gatehouse-bench", fw, nfw, vars, false, &exit_code)))
            goto out;
        if (nsig && !(dpi = gh_cli_dpi_load("gatehouse-bench", sig, nsig, vars, NULL, false,
                                            &exit_code)))
            goto out;
    }
    cfg.fw = fwt;
    cfg.dpi = dpi;
    /* no EVE writer: the engine's work without event formatting and I/O */
    res = calloc((size_t)runs + 1, sizeof(*res));
    if (!res || !(w = bench_engine_new(&cfg)) ||
        bench_engine_run(&t, w, 0, &res[runs]) != 0) /* warm-up and reference */
        goto out;
    int mismatches = 0;
    double *ns = calloc((size_t)runs, sizeof(double));
    double *tk = calloc((size_t)runs, sizeof(double));
    if (!ns || !tk) {
        free(ns);
        free(tk);
        goto out;
    }
    for (int r = 0; r < runs; r++) {
        if (bench_engine_run(&t, w, (unsigned)r + 1, &res[r]) != 0) {
            free(ns);
            free(tk);
            goto out;
        }
        const bench_run *a = &res[r], *b = &res[runs];
        if (a->accepted != b->accepted || a->dropped != b->dropped ||
            a->rejected != b->rejected || a->alerts != b->alerts)
            mismatches++;
        ns[r] = a->ns / (double)t.n;
        tk[r] = (double)a->ticks / (double)t.n;
    }
    qsort(ns, (size_t)runs, sizeof(double), bench_cmp_double);
    qsort(tk, (size_t)runs, sizeof(double), bench_cmp_double);
    double med = ns[runs / 2];
    double avg = (double)t.bytes / (double)t.n;
    const bench_run *ref = &res[runs];
    printf("{\"bench\":\"pipeline\",\"firewall_files\":%zu,\"signature_files\":%zu,"
           "\"signatures\":%zu,\"firewall_rules\":%zu,\"packets\":%zu,\"bytes\":%" PRIu64
           ",\"runs\":%d,\"ns_per_packet\":{\"median\":%.1f,\"min\":%.1f,\"max\":%.1f}"
           ",\"tsc_ticks_per_packet\":%.0f,\"packets_per_sec\":%.0f,\"gbit_per_sec\":%.3f"
           ",\"check\":{\"accepted\":%" PRIu64 ",\"dropped\":%" PRIu64 ",\"rejected\":%" PRIu64
           ",\"alerts\":%" PRIu64 ",\"inspected\":%" PRIu64 ",\"fw_lookups\":%" PRIu64
           ",\"mismatches\":%d}}\n",
           nfw, nsig, dpi ? gh_dpi_sig_count(dpi) : 0, fwt ? gh_fw_rule_count(fwt) : 0, t.n,
           t.bytes, runs, med, ns[0], ns[runs - 1], tk[runs / 2], 1e9 / med, avg * 8.0 / med,
           ref->accepted, ref->dropped, ref->rejected, ref->alerts, ref->inspected,
           ref->fw_lookups, mismatches);
    free(ns);
    free(tk);
    rc = mismatches ? 1 : 0;
out:
    gh_worker_free(w);
    free(res);
    gh_dpi_free(dpi);
    gh_fw_free(fwt);
    gh_rule_vars_free(vars);
    bench_free_trace(&t);
    free(fw);
    free(sig);
    free(defs);
    free(vfiles);
    return rc;
}
