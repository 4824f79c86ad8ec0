/* gatehouse pcap --threads N: a reader thread dispatching to N workers. */
#ifndef GATEHOUSE_CLI_PCAP_THREADS_H
#define GATEHOUSE_CLI_PCAP_THREADS_H

#include <stdbool.h>

#include "gatehouse/engine.h"
#include "gatehouse/pcap_writer.h"

/** Most workers --threads starts. */
#define GH_PCAP_MAX_THREADS 64

/** Monotonic seconds. */
double gh_cli_now(void);

/** A progress line on stderr, at most once a second, for a person watching. */
typedef struct gh_progress {
    bool on;
    double t0, next;
} gh_progress;

void gh_progress_init(gh_progress *pg, bool on, double t0);
void gh_progress_tick(gh_progress *pg, uint64_t pkts);
/** End the progress line (when one was printed). */
void gh_progress_end(const gh_progress *pg);

/** What the summary shows of a run: N workers' counters and hits summed. */
typedef struct gh_pcap_totals {
    gh_counters counters;
    const uint64_t *fw_hits;  /* per firewall rule (NULL without a firewall) */
    uint64_t policy_hits;
    const uint64_t *sig_hits; /* per signature (NULL without signatures) */
    uint64_t flows_created, flows_timed_out, flows_evicted, flows_shutdown;
    int64_t last_sec;      /* the last packet's time */
    uint32_t last_nsec;
    bool events_failed;    /* writing events failed */
    double elapsed;        /* seconds from the first read to the workers' end */
} gh_pcap_totals;

/**
 * Run @p src through @p nthreads workers built from @p cfg (sharing @p eve),
 * writing accepted and dropped packets to @p wacc / @p wdrop (either may be
 * NULL) in input order. Fills @p tot (free its arrays with
 * gh_pcap_totals_free). Returns GH_EXIT_OK, or GH_EXIT_RUNTIME with the
 * error printed (a corrupt input or a failed write ends reading; what was
 * read is still processed and counted).
 */
int gh_pcap_run_threads(gh_source *src, const gh_engine_config *cfg, gh_eve *eve,
                        unsigned nthreads, gh_pcap_writer *wacc, gh_pcap_writer *wdrop,
                        gh_progress *pg, gh_pcap_totals *tot);

void gh_pcap_totals_free(gh_pcap_totals *tot);

#endif
