/* gatehouse-bench scenarios defined outside gatehouse_bench.c. Each takes the
 * arguments after its name and returns the process exit status. */
#ifndef GATEHOUSE_BENCH_SCENARIOS_H
#define GATEHOUSE_BENCH_SCENARIOS_H

/** `classbench RULES TRACE [--runs N] [--burst N] [--min-lookups N]`:
 *  firewall classifier vs the trace's expected rules, vs a linear scan. */
int bench_classbench(int argc, char **argv);

#include <stdint.h>

#include "gatehouse/engine.h"
#include "trace.h"

/** What one run of the whole engine over a trace took and decided. */
typedef struct bench_run {
    double ns;
    uint64_t ticks;
    uint64_t accepted, dropped, rejected, alerts, inspected, fw_lookups;
} bench_run;

/** A worker for bench_engine_run (no EVE output); NULL (printed) on failure. */
gh_worker *bench_engine_new(const gh_engine_config *cfg);

/** Run worker @p w over @p t (batches of GH_MAX_BATCH, packet times advancing
 *  1 s per 1000 packets from pass * 10^6 s; every flow ended at the end), so
 *  successive passes with increasing @p pass reuse a warm worker. The counts
 *  in @p r are this pass's. 0, or -1 (printed). */
int bench_engine_run(const mem_trace *t, gh_worker *w, unsigned pass, bench_run *r);

/** `pipeline [-F FILE]... [-S FILE|DIR]... [--policy P] [-k none] [--runs N] FILE|DIR...`:
 *  the whole engine over captures in memory; verdict and alert counts checked. */
int bench_pipeline(int argc, char **argv);

/** `dpi -S FILE|DIR... [--runs N] FILE|DIR...`: the engine with signatures
 *  next to Hyperscan alone on the same payloads and fast patterns. */
int bench_dpi(int argc, char **argv);

/** `synth [--size B] [--flows N] [--data N] [--trace FILE] [-F FILE]... [-S FILE|DIR]...`:
 *  traffic generated in memory through the whole engine; checked. */
int bench_synth(int argc, char **argv);

/** `memory [-F FILE]... [-S FILE|DIR]...`: flow, classifier, database and
 *  stream-state sizes and compile times. */
int bench_memory(int argc, char **argv);

/** `sigsubset -S FILE|DIR... --first N`: the first N loadable signatures. */
int bench_sigsubset(int argc, char **argv);

/** `nfq-loop --queue N [--no-batch] [--queue-maxlen N] [--rcvbuf BYTES]`: the minimal
 *  accept-everything NFQUEUE verdict loop (the ceiling for gatehouse nfq). */
int bench_nfq_loop(int argc, char **argv);

/** `udp-flood --port P [--seconds S | --count N] [--flows N] [--size B]`: traffic to
 *  127.0.0.1 for bench/nfq.sh. */
int bench_udp_flood(int argc, char **argv);
/* The application layer alone over captures (bench/app_parse.c). */
int bench_app(int argc, char **argv);

#endif
