/* gatehouse: packet sources. A source hands out batches of raw packets and
 * takes verdicts back; pcap files and NFQUEUE implement the same ops table
 * (as libpcap's backends do), so the pipeline does not know which it runs. */
#ifndef GATEHOUSE_SOURCE_H
#define GATEHOUSE_SOURCE_H

#include <stdbool.h>
#include <stdint.h>

#include "gatehouse/common.h"

/** One raw packet as a source delivers it. */
typedef struct gh_pkt_in {
    const uint8_t *data;   /**< valid until the next read from the same source */
    uint32_t caplen;       /**< captured bytes at data */
    uint32_t wirelen;      /**< length on the wire */
    int64_t ts_sec;
    uint32_t ts_nsec;
    uint32_t linktype;     /**< libpcap's DLT_* value (pcap_datalink); raw IP is 12 on Linux */
    uint64_t id;           /**< pcap: 1-based packet number of the run; nfq: packet id */
} gh_pkt_in;

/** What the pipeline decided for one packet. */
typedef enum gh_verdict {
    GH_VERDICT_ACCEPT = 0,
    GH_VERDICT_DROP = 1,
    GH_VERDICT_REJECT = 2, /**< dropped, and the sender is told */
} gh_verdict;

/** Source-side counters. */
typedef struct gh_source_stats {
    uint64_t packets;      /**< packets handed out */
    uint64_t bytes;        /**< captured bytes handed out */
    uint64_t files;        /**< pcap: files opened */
    uint64_t skipped_files; /**< pcap: directory entries that are not captures */
    uint64_t kernel_drops; /**< nfq: packets the kernel dropped before us */
} gh_source_stats;

typedef struct gh_source gh_source;

/** The backend operations table. */
typedef struct gh_source_ops {
    const char *name;
    /** Fill up to @p max packets; *n = 0 with GH_E_EOF at the end. A failure
     *  after some packets returns those first and the error on the next call. */
    int (*read_batch)(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n, gh_error *err);
    /** Give the verdicts for the last batch (in order). May be NULL (pcap). */
    int (*verdicts)(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v, size_t n);
    void (*stats)(const gh_source *s, gh_source_stats *st);
    void (*close)(gh_source *s);
} gh_source_ops;

struct gh_source {
    const gh_source_ops *ops;
};

/** Read a batch; see gh_source_ops.read_batch. */
GH_API int gh_source_read_batch(gh_source *s, gh_pkt_in *pkts, size_t max, size_t *n,
                                gh_error *err);
/** Return verdicts for the packets of the last batch. */
GH_API int gh_source_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v, size_t n);
/** Current source counters. */
GH_API void gh_source_stats_get(const gh_source *s, gh_source_stats *st);
/** Close and free; NULL is fine. */
GH_API void gh_source_close(gh_source *s);

/**
 * Open a pcap or pcapng file, or a directory whose regular files are read in
 * name order (entries without a pcap/pcapng magic are skipped with a warning
 * and counted in skipped_files). Timestamps keep nanosecond precision.
 * Returns NULL and fills @p err when the path cannot be opened, the file is
 * not a capture, or a directory holds none; a capture that turns out corrupt
 * later is reported by read_batch.
 */
GH_API gh_source *gh_source_pcap_open(const char *path, gh_error *err);

/** Name of the file the pcap source is reading now (NULL when none). */
GH_API const char *gh_source_pcap_current_file(const gh_source *s);

/* ---- NFQUEUE ------------------------------------------------------------ */

/** Largest batch the NFQUEUE source reads at once. */
#define GH_NFQ_MAX_BATCH 64

/** NFQUEUE source configuration; start from gh_nfq_config_init(). */
typedef struct gh_nfq_config {
    uint16_t queue;        /**< netfilter queue number */
    bool fail_open;        /**< ask the kernel to accept packets when the queue is full */
    bool gso;              /**< take GSO packets unsegmented (NFQA_CFG_F_GSO; default on) */
    bool batch;            /**< read with recvmmsg and answer with batch verdicts
                                (default on); off: one packet, one verdict message */
    uint32_t queue_maxlen; /**< kernel queue length; 0: the kernel's default (1024) */
    uint32_t rcvbuf;       /**< socket receive buffer in bytes (default 8 MiB) */
    int timeout_ms;        /**< read_batch returns 0 packets after this long (default 200) */
} gh_nfq_config;

/** Defaults for queue @p queue: GSO on, batching on, no fail-open. */
GH_API void gh_nfq_config_init(gh_nfq_config *cfg, uint16_t queue);

/**
 * Bind to a netfilter queue (needs CAP_NET_ADMIN) and configure it: full
 * packet copies, GSO and fail-open as asked (each checked against the
 * kernel's answer: see gh_source_nfq_fail_open). read_batch waits at most
 * timeout_ms and may return 0 packets; packet data stays valid until the
 * next read. Every packet read must be answered with gh_source_verdicts or
 * gh_source_nfq_verdicts before the next read. Closing unbinds the queue.
 * NULL and @p err when the queue cannot be bound (EBUSY, EPERM, ...).
 */
GH_API gh_source *gh_source_nfq_open(const gh_nfq_config *cfg, gh_error *err);

/** Verdicts for the last batch, in order, with an optional packet mark per
 *  packet (@p marks NULL or 0: the mark is left alone). */
GH_API int gh_source_nfq_verdicts(gh_source *s, const gh_pkt_in *pkts, const gh_verdict *v,
                                  const uint32_t *marks, size_t n);

/** True when the kernel accepted the fail-open flag. */
GH_API bool gh_source_nfq_fail_open(const gh_source *s);
/** True when the kernel accepted the GSO flag. */
GH_API bool gh_source_nfq_gso(const gh_source *s);
/** How long read_batch waits for a packet (draining at shutdown waits less). */
GH_API void gh_source_nfq_set_timeout(gh_source *s, int timeout_ms);
/** Packets read and not answered yet. */
GH_API uint64_t gh_source_nfq_held(const gh_source *s);
/** Error answers the kernel sent to our verdicts (and the last errno). */
GH_API uint64_t gh_source_nfq_verdict_errors(const gh_source *s, int *last_errno);

/** A queue's line of /proc/net/netfilter/nfnetlink_queue. */
typedef struct gh_nfq_kstats {
    uint64_t queue_total;   /**< packets waiting in the kernel queue now */
    uint64_t queue_dropped; /**< dropped because the queue was full (fail-open: not counted) */
    uint64_t user_dropped;  /**< dropped because our socket buffer was full (idem) */
    uint64_t id_sequence;   /**< last packet id the kernel gave out */
} gh_nfq_kstats;

/** Read queue @p queue's kernel counters: 0, GH_E_IO (no such file) or
 *  GH_E_INVAL (no such queue bound). */
GH_API int gh_nfq_kernel_stats(uint16_t queue, gh_nfq_kstats *ks);

#endif
