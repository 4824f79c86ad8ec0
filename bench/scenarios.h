/* gatehouse-bench scenarios defined outside gatehouse_bench.c. Each takes the
 * arguments after its name and returns the process exit status. */
#ifndef GATEHOUSE_BENCH_SCENARIOS_H
#define GATEHOUSE_BENCH_SCENARIOS_H

/** `classbench RULES TRACE [--runs N] [--burst N] [--min-lookups N]`:
 *  firewall classifier vs the trace's expected rules, vs a linear scan. */
int bench_classbench(int argc, char **argv);

#endif
