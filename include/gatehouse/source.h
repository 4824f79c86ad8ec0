/* gatehouse: packet sources. A source hands out batches of raw packets and
 * takes verdicts back; pcap files and NFQUEUE implement the same ops table
 * (as libpcap's backends do), so the pipeline does not know which it runs. */
#ifndef GATEHOUSE_SOURCE_H
#define GATEHOUSE_SOURCE_H

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

#endif
