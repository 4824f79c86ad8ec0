/* gatehouse-bench scenarios defined outside gatehouse_bench.c. Each takes the
 * arguments after its name and returns the process exit status. */
#ifndef GATEHOUSE_BENCH_SCENARIOS_H
#define GATEHOUSE_BENCH_SCENARIOS_H

/** `classbench RULES TRACE [--runs N] [--burst N] [--min-lookups N]`:
 *  firewall classifier vs the trace's expected rules, vs a linear scan. */
int bench_classbench(int argc, char **argv);

/** `pipeline [-F FILE]... [-S FILE|DIR]... [--policy P] [-k none] [--runs N] FILE|DIR...`:
 *  the whole engine over captures in memory; verdict and alert counts checked. */
int bench_pipeline(int argc, char **argv);

/** `dpi -S FILE|DIR... [--runs N] FILE|DIR...`: the engine with signatures
 *  next to Hyperscan alone on the same payloads and fast patterns. */
int bench_dpi(int argc, char **argv);

#endif
