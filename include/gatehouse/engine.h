/* gatehouse: the pipeline. A worker owns its state (counters, event buffer,
 * and, as later stages land, its flow table, reassembly and Hyperscan
 * scratch) and processes bursts: decode -> flow -> firewall -> DPI ->
 * verdict + events. No locks and no allocation on the packet path. */
#ifndef GATEHOUSE_ENGINE_H
#define GATEHOUSE_ENGINE_H

#include <stdbool.h>

#include "gatehouse/counters.h"
#include "gatehouse/decode.h"
#include "gatehouse/defrag.h"
#include "gatehouse/dpi.h"
#include "gatehouse/eve.h"
#include "gatehouse/firewall.h"
#include "gatehouse/flow.h"
#include "gatehouse/policy.h"
#include "gatehouse/source.h"

/** Largest burst gh_worker_process_batch takes. */
#define GH_MAX_BATCH 64

/** Pipeline configuration, fixed for a worker's life. */
typedef struct gh_engine_config {
    bool verify_checksums;   /**< false with -k none */
    uint32_t eve_types;      /**< the EVE event types written, bits 1u << gh_eve_type
                                  (default GH_EVE_TYPES_ALL); a type left out is not
                                  formatted at all, though still counted */
    const gh_fw *fw;         /**< firewall table (not owned); NULL: no firewall */
    gh_fw_action policy;     /**< verdict when no firewall rule matches */
    const gh_dpi *dpi;       /**< signatures (not owned); NULL: no DPI */
    gh_flow_config flow;     /**< flow table (on_end is set by the worker) */
    bool defrag;             /**< reassemble IP fragments before the flow stage */
    bool stream;             /**< TCP: match signatures on the reassembled stream */
    uint32_t stream_window;  /**< bytes of each direction's stream kept for matching */
    uint32_t stream_flows;   /**< flows with stream state at once (then per packet) */
    bool stream_acked;       /**< inspect a direction's stream bytes once the receiver
                                  acknowledges them, on that direction's next packet or
                                  at flow end (Suricata's IDS mode); default false:
                                  on arrival, as inline (IPS) */
    gh_defrag_config defrag_cfg;
    uint32_t threshold_entries; /**< threshold table entries per worker (default 16384;
                                     allocated only for signatures with thresholds) */
    uint32_t tag_entries;    /**< flows and hosts with tags per worker (default 4096;
                                  allocated only for signatures with tag keywords) */
    unsigned eve_alert_fields; /**< GH_EVE_ALERT_* written in alert events (default none) */
    gh_exc_config exc;       /**< failure policies, resolved (no GH_EXC_AUTO; default
                                  all ignore: gh_exc_resolve gives a mode's) */
    size_t stream_memcap;    /**< reassembly's pool of out-of-order bytes (0: 64 MiB) */
    uint32_t app_flows;      /**< parser states per worker (0 or more than stream_flows:
                                  stream_flows) */
    uint32_t decompress_limit; /**< decompressed bytes per HTTP body (0: 1 MiB) */
} gh_engine_config;

/** Defaults: checksums verified, every event type on, no firewall, policy accept,
 *  defragmentation on, the flow table's and defragmenter's defaults, every
 *  failure policy ignore. */
GH_API void gh_engine_config_init(gh_engine_config *cfg);

typedef struct gh_worker gh_worker;

/**
 * Create a worker. @p eve may be NULL (no events); the worker does not own
 * it. Returns NULL and fills @p err on failure.
 */
GH_API gh_worker *gh_worker_new(const gh_engine_config *cfg, gh_eve *eve, gh_error *err);

/**
 * Run up to GH_MAX_BATCH packets through the pipeline; writes one verdict
 * per packet into @p verdicts and their events to the EVE writer.
 * Returns 0, or GH_E_IO when writing events failed (verdicts are still set).
 */
GH_API int gh_worker_process_batch(gh_worker *w, const gh_pkt_in *pkts, size_t n,
                                   gh_verdict *verdicts);

/** Decoded descriptors of the last batch (valid until the next call). */
GH_API const gh_packet *gh_worker_last_packets(const gh_worker *w);

/** Per packet of the last batch: accepted as part of a flow the firewall
 *  (or an IP-only pass signature) trusts, which DPI will never see again;
 *  inline, such packets can carry a mark that lets the kernel stop queueing
 *  the flow. Valid until the next call. */
GH_API const bool *gh_worker_last_passed(const gh_worker *w);

/** The worker's counters. */
GH_API const gh_counters *gh_worker_counters(const gh_worker *w);

/** Packets each firewall rule decided (index as gh_fw_rule), or NULL
 *  without a firewall; and those the policy decided. */
GH_API const uint64_t *gh_worker_fw_hits(const gh_worker *w);
GH_API uint64_t gh_worker_policy_hits(const gh_worker *w);

/** Packets each signature matched (index as gh_dpi_sig), or NULL without DPI. */
GH_API const uint64_t *gh_worker_sig_hits(const gh_worker *w);

/** The worker's defragmenter (NULL when off), for its counters. */
GH_API const gh_defrag *gh_worker_defrag(const gh_worker *w);

/** The worker's flow table (for its counters). */
GH_API const gh_flow_table *gh_worker_flows(const gh_worker *w);

/**
 * End of input: end every flow (writing their events) as of @p now_ns, the
 * last packet's time. Returns 0 or GH_E_IO when writing events failed.
 */
GH_API int gh_worker_finish(gh_worker *w, uint64_t now_ns);

/** Free a worker; NULL is fine. */
GH_API void gh_worker_free(gh_worker *w);

#endif
