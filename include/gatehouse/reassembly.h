/* gatehouse: TCP stream reassembly, one context per worker (no locks).
 *
 * Each direction of a TCP flow has a gh_reasm_stream (48 bytes, embed it or
 * take it from a pool; all zeroes is a valid "not started" stream). Feeding
 * the direction's segments in capture order with gh_reasm_segment() calls the
 * consumer (the DPI stage's streaming scan) once for every newly contiguous
 * run of bytes, so each byte of the stream is delivered exactly once and in
 * order, whatever the segmentation, reordering or retransmission.
 *
 * Policy (DESIGN.md §2 "Stream semantics"): the first data received for a
 * byte wins, as Linux does. Retransmitted bytes that were already delivered
 * are compared with what was delivered (within the last compare_window bytes)
 * and never delivered again; out-of-order segments that overlap held data are
 * compared with it. Differences are counted as anomalies.
 *
 * Memory: bytes held out of order (and the compare window of recently
 * delivered bytes) live in fixed-size chunks of one pool allocated by
 * gh_reasm_new() (pages touched only as chunks are first used). No malloc per
 * packet. When a limit is reached the segment is left out of reassembly,
 * counted, and gh_reasm_segment() returns GH_E_LIMIT so the caller applies
 * its failure policy.
 */
#ifndef GATEHOUSE_REASSEMBLY_H
#define GATEHOUSE_REASSEMBLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/decode.h"

typedef struct gh_reasm_stream gh_reasm_stream;

/** Configuration; start from gh_reasm_config_init(). */
typedef struct gh_reasm_config {
    size_t memcap;             /**< pool bytes (chunks incl. headers) per context */
    uint32_t chunk_size;       /**< data bytes per pool chunk (16..65536) */
    uint32_t max_held_bytes;   /**< out-of-order bytes held per flow-direction */
    uint32_t max_held_chunks;  /**< out-of-order pieces (chunks) per flow-direction;
                                    bounds the cost of tiny segments */
    uint32_t window;           /**< a segment ending more than this many bytes past
                                    the next expected byte is dropped (beyond_window) */
    uint32_t compare_window;   /**< delivered bytes kept per flow-direction to compare
                                    retransmissions with (0: count, do not compare) */
    bool midstream;            /**< start a stream at the first segment seen when its
                                    SYN was missed (offset 0 = that segment's first byte) */
    /** Optional: the consumer keeps the recently delivered bytes itself (an
     *  inspection window): retransmissions are compared with what this
     *  returns for stream @p s, the bytes at stream offsets [*off, *off +
     *  *len) (NULL: none kept), and reassembly keeps no copy of its own
     *  (compare_window is ignored). */
    const uint8_t *(*history)(void *ctx, const gh_reasm_stream *s, uint64_t *off, size_t *len);
    void *history_ctx;
} gh_reasm_config;

/**
 * Counters of one context, X(field, "name"). All are event counts except
 * where noted; the gauges are in gh_reasm_stats after these.
 */
#define GH_REASM_COUNTER_LIST(X)                                              \
    X(segments, "segments")                   /* TCP segments fed */           \
    X(bytes_delivered, "bytes_delivered")     /* bytes given to the consumer */\
    X(in_order, "in_order")                   /* segments delivered at once */ \
    X(ooo_held, "ooo_held")                   /* segments held out of order */ \
    X(ooo_bytes, "ooo_bytes")                 /* bytes held out of order */    \
    X(gaps, "gaps")                           /* streams closed with data
                                                 missing (bytes never seen) */ \
    X(retransmissions, "retransmissions")     /* segments carrying delivered
                                                 bytes (whole or partial) */   \
    X(retrans_conflicts, "retrans_conflicts") /* ... whose bytes differed */   \
    X(overlaps, "overlaps")                   /* segments overlapping held
                                                 out-of-order data */          \
    X(overlap_conflicts, "overlap_conflicts") /* ... whose bytes differed */   \
    X(pool_exhausted, "pool_exhausted")       /* dropped: no free chunk */     \
    X(held_limit, "held_limit")               /* dropped: max_held_bytes or
                                                 max_held_chunks reached */    \
    X(beyond_window, "beyond_window")         /* dropped: past the window */   \
    X(zero_len, "zero_len")                   /* segments without payload */   \
    X(after_fin, "after_fin")                 /* segments with bytes past FIN */\
    X(after_close, "after_close")             /* segments on a closed stream */\
    X(not_synced, "not_synced")               /* no SYN seen, midstream off */ \
    X(midstream, "midstream")                 /* streams picked up midstream */\
    X(resets, "resets")                       /* streams ended by RST */       \
    X(rst_invalid, "rst_invalid")             /* RST outside the window:
                                                 ignored */                    \
    X(fin_invalid, "fin_invalid")             /* FIN old or past the window:
                                                 ignored */                    \
    X(streams_closed, "streams_closed")       /* streams closed (any cause) */\
    X(gaps_skipped, "gaps_skipped")           /* holes given up on (gh_reasm_skip_gap)
                                                 so the data held past them flows */

/** Counters and gauges of one context (valid until gh_reasm_free()). */
typedef struct gh_reasm_stats {
#define GH_X_FIELD(f, s) uint64_t f;
    GH_REASM_COUNTER_LIST(GH_X_FIELD)
#undef GH_X_FIELD
    /* gauges */
    uint64_t held_bytes;     /**< out-of-order bytes held now */
    uint64_t chunks_used;    /**< pool chunks in use now (held + compare window) */
    uint64_t chunks_max;     /**< high-water mark of chunks_used */
    uint64_t mem_use;        /**< bytes of the chunks in use now */
    uint64_t mem_alloc;      /**< bytes allocated for the pool */
} gh_reasm_stats;

/** Counter names in GH_REASM_COUNTER_LIST order; NULL past the end. */
GH_API const char *gh_reasm_counter_name(size_t i);

/* gh_reasm_stream.flags (read-only for callers) */
enum {
    GH_REASM_STARTED = 1u << 0,   /**< base_seq is valid */
    GH_REASM_MIDSTREAM = 1u << 1, /**< started without a SYN */
    GH_REASM_FIN = 1u << 2,       /**< a FIN was seen (fin_seq valid) */
    GH_REASM_FIN_DONE = 1u << 3,  /**< every byte up to the FIN was delivered */
    GH_REASM_CLOSED = 1u << 4,    /**< closed (RST or gh_reasm_stream_close) */
    GH_REASM_SKIPPED = 1u << 5,   /**< a hole was skipped (gh_reasm_skip_gap) */
};

/**
 * One direction of one TCP flow. Zero it to start (or gh_reasm_stream_init);
 * close it with gh_reasm_stream_close() before it is discarded or reused,
 * which returns its chunks to the context's pool. It belongs to the context
 * that fed it; use it with no other.
 */
typedef struct gh_reasm_stream {
    uint64_t next_off;   /**< bytes delivered = stream offset of the next byte */
    uint32_t base_seq;   /**< sequence number of stream offset 0 */
    uint32_t fin_seq;    /**< sequence number of the FIN (GH_REASM_FIN) */
    uint32_t held_head;  /**< first held chunk (index + 1; 0 none), by offset */
    uint32_t held_tail;  /**< last held chunk: appending past it needs no walk */
    uint32_t hist_head;  /**< compare window chunks, oldest first */
    uint32_t hist_tail;
    uint32_t held_bytes; /**< out-of-order bytes held */
    uint32_t hist_bytes; /**< bytes in the compare window chunks */
    uint16_t held_chunks;
    uint16_t flags;      /**< GH_REASM_* */
} gh_reasm_stream;

/** An opaque reassembly context: pool, limits, counters. One per worker. */
typedef struct gh_reasm gh_reasm;

/**
 * The consumer: @p len (> 0) new in-order bytes at stream offset
 * @p stream_offset (offset 0 is the byte after the SYN, or the first byte
 * seen on a midstream pick-up). Successive calls for one stream have
 * contiguous offsets. @p data is valid only during the call (it points into
 * the packet or into the pool). Do not call into the context from here.
 */
typedef void (*gh_reasm_deliver_fn)(void *ctx, const uint8_t *data, size_t len,
                                    uint64_t stream_offset);

/**
 * Defaults: memcap 64 MiB, chunk_size 512, max_held_bytes 1 MiB,
 * max_held_chunks 4096, window 16 MiB, compare_window 4096, midstream off.
 */
GH_API void gh_reasm_config_init(gh_reasm_config *cfg);

/**
 * Create a context and its chunk pool (memcap bytes of address space,
 * touched as chunks are first used). @p cfg NULL means the defaults; the
 * context keeps a copy. Returns NULL and fills @p err (GH_E_INVAL for a bad
 * configuration, GH_E_NOMEM). The caller owns the context; free it with
 * gh_reasm_free().
 */
GH_API gh_reasm *gh_reasm_new(const gh_reasm_config *cfg, gh_error *err);

/** Free the context and its pool (streams still open are simply
 *  abandoned: their chunks go with the pool). NULL is fine. */
GH_API void gh_reasm_free(gh_reasm *r);

/** Reset @p s to "not started" (same as zeroing it). Does not release
 *  chunks: close a used stream first. */
static inline void gh_reasm_stream_init(gh_reasm_stream *s)
{
    *s = (gh_reasm_stream){0};
}

/**
 * Feed one TCP segment @p p of the direction @p s tracks. Calls @p fn for
 * every run of bytes that became contiguous: straight from the packet's
 * payload when it continues the stream (no copy), then from held
 * out-of-order data the segment made contiguous. A SYN starts the stream at
 * its ISN + 1; with midstream on, so does any first segment (not a RST).
 * A RST whose sequence number lies in [next expected, + window] closes the
 * stream (as gh_reasm_stream_close); others are ignored and counted. The
 * first FIN in that range marks the end: data past it is ignored and counted. The packet is not kept after the call.
 *
 * Returns GH_OK (delivered, held, duplicate or ignored: the counters say
 * which), GH_E_LIMIT when the segment's new bytes were left out of
 * reassembly because of a limit (pool_exhausted, held_limit,
 * beyond_window), GH_E_INVAL when @p p is not TCP.
 */
GH_API int gh_reasm_segment(gh_reasm *r, gh_reasm_stream *s, const gh_packet *p,
                            gh_reasm_deliver_fn fn, void *ctx);

/**
 * Close @p s at FIN, RST or flow end: everything contiguous was already
 * delivered, so nothing is flushed; held bytes beyond a gap, or a FIN not
 * reached, count one gap. Releases the stream's chunks. Later segments are
 * counted in after_close. Closing twice is harmless.
 */
GH_API void gh_reasm_stream_close(gh_reasm *r, gh_reasm_stream *s);

/**
 * Stream offset of sequence number @p seq in started stream @p s (e.g. an
 * ACK of the other direction: the offset it acknowledges up to). Negative or
 * far values are possible for sequence numbers outside the stream.
 */
GH_API int64_t gh_reasm_seq_offset(const gh_reasm_stream *s, uint32_t seq);

/**
 * Give up on missing bytes: while data is held past a hole that starts at
 * the next expected byte and the held data starts at or before stream offset
 * @p upto, the hole is skipped (counted in gaps_skipped) and the held data it
 * blocked is delivered to @p fn (its first call has an offset past the bytes
 * delivered before: the consumer sees the hole). For a receiver's ACK past
 * the hole (the receiver got the bytes the capture missed) and at flow end
 * (UINT64_MAX). Returns the bytes skipped.
 */
GH_API uint64_t gh_reasm_skip_gap(gh_reasm *r, gh_reasm_stream *s, uint64_t upto,
                                  gh_reasm_deliver_fn fn, void *ctx);

/** True when no more bytes will be delivered on @p s (closed, or every byte
 *  up to its FIN delivered). */
static inline bool gh_reasm_stream_done(const gh_reasm_stream *s)
{
    return (s->flags & (GH_REASM_CLOSED | GH_REASM_FIN_DONE)) != 0;
}

/** The context's counters (valid until gh_reasm_free()). */
GH_API const gh_reasm_stats *gh_reasm_get_stats(const gh_reasm *r);

/**
 * Verify @p s's invariants (held chunks sorted, non-overlapping, past
 * next_off, byte and chunk counts agree; compare-window chunks sorted).
 * O(chunks); for tests. Returns GH_OK or GH_E_FORMAT with @p err filled.
 */
GH_API int gh_reasm_stream_check(const gh_reasm *r, const gh_reasm_stream *s, gh_error *err);

#endif
