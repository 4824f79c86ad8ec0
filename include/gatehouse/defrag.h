/* gatehouse: IPv4 and IPv6 fragment reassembly before inspection.
 *
 * One context per worker (no locks). Every byte it uses is allocated by
 * gh_defrag_new(): a pool of datagram trackers, a pool of fixed-size data
 * chunks, a hash index and one output buffer; gh_defrag_add() never calls
 * malloc. When a pool is empty the oldest datagram in progress is dropped
 * (counted in evicted) to make room.
 *
 * Key. IPv4: (src, dst, protocol, identification), RFC 791. IPv6: (src, dst,
 * identification), RFC 8200 4.5: the Next Header of non-first fragments may
 * differ and only the first fragment's is used, so it is not in the key.
 * VLAN ids (up to two tags) are part of the key unless vlan_tracking is
 * off, as in the flow table: the same addresses on two VLANs are two
 * networks.
 *
 * Overlaps: first data wins (the Linux/BSD behaviour DESIGN.md 2 names).
 * Bytes already held are kept and overlapping new bytes are discarded; a
 * fragment that overlaps held bytes counts in overlaps, and one whose
 * overlapping bytes differ also in overlap_conflicts (an evasion attempt or
 * corruption the caller can report). Claims about the datagram's length are
 * first-wins too: a fragment that ends beyond a last fragment already seen,
 * or a last fragment whose end differs from an earlier one or ends before
 * bytes already held, is discarded and counted in invalid.
 *
 * The reassembled packet is built from the first fragment's (offset 0)
 * header: IPv4 total length set, MF and offset cleared (DF kept), header
 * checksum recomputed; IPv6 payload length set and the Fragment header
 * removed from the chain (the Next Header byte that pointed at it now holds
 * the Fragment header's Next Header). Extension headers before the Fragment
 * header (the unfragmentable part) come from the first fragment.
 *
 * Timeouts run from a datagram's first fragment (Linux ipfrag_time), so the
 * oldest datagram is also the first to time out.
 */
#ifndef GATEHOUSE_DEFRAG_H
#define GATEHOUSE_DEFRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/decode.h"

/** Fragment data is held in chunks of this many bytes (each covers an
 *  aligned 512-byte range of one datagram). */
#define GH_DEFRAG_CHUNK_SIZE 512u
/** Defaults (Suricata's defrag timeout is 60 s). */
#define GH_DEFRAG_DEFAULT_MEMCAP ((size_t)16 << 20)
#define GH_DEFRAG_DEFAULT_MAX_DATAGRAMS 4096u
#define GH_DEFRAG_DEFAULT_TIMEOUT_S 60u

/** Overlap policy. Only first-wins is implemented. */
typedef enum gh_defrag_policy {
    GH_DEFRAG_POLICY_FIRST = 0, /**< held bytes win (Linux, BSD) */
} gh_defrag_policy;

/** Configuration; start from gh_defrag_config_init(). */
typedef struct gh_defrag_config {
    size_t memcap;          /**< bytes of fragment data and headers held: the
                                 chunk pool has memcap / GH_DEFRAG_CHUNK_SIZE
                                 chunks (>= 1) */
    uint32_t max_datagrams; /**< datagrams in progress at once (>= 1) */
    uint32_t timeout_s;     /**< seconds from a datagram's first fragment (>= 1) */
    gh_defrag_policy policy;
    bool vlan_tracking;     /**< VLAN ids are part of the key (default true) */
    uint64_t hash_seed;     /**< index hash seed (randomize against collision floods) */
} gh_defrag_config;

/** Counters of one context. */
typedef struct gh_defrag_stats {
    uint64_t fragments;        /**< fragments passed to gh_defrag_add() (not GH_E_INVAL ones) */
    uint64_t reassembled;      /**< datagrams completed */
    uint64_t timeouts;         /**< datagrams dropped by timeout */
    uint64_t overlaps;         /**< fragments overlapping bytes already held */
    uint64_t overlap_conflicts; /**< ... whose overlapping bytes differed */
    uint64_t evicted;          /**< datagrams dropped to make room (pool full) */
    uint64_t mem_drops;        /**< fragments refused: no room even after eviction */
    uint64_t too_large;        /**< fragments/datagrams beyond 65535 bytes */
    uint64_t invalid;          /**< malformed or contradicting fragments discarded */
    uint64_t truncated;        /**< fragments not fully captured: discarded */
    uint32_t datagrams;        /**< datagrams in progress now */
    uint32_t chunks_used;      /**< data chunks held now */
} gh_defrag_stats;

/* gh_defrag_out.events: what this call saw. */
enum {
    GH_DEFRAG_EV_OVERLAP = 1u << 0,  /**< this fragment overlapped held bytes */
    GH_DEFRAG_EV_CONFLICT = 1u << 1, /**< ... with different bytes (first kept) */
    GH_DEFRAG_EV_EVICTED = 1u << 2,  /**< an older datagram was dropped for room */
    GH_DEFRAG_EV_TIMEOUT = 1u << 3,  /**< timed-out datagrams were dropped */
};

/* gh_defrag_out.dgram_flags: the whole datagram, set when one completes. */
enum {
    GH_DEFRAG_DG_OVERLAP = 1u << 0,  /**< some fragment overlapped another */
    GH_DEFRAG_DG_CONFLICT = 1u << 1, /**< some overlap had different bytes */
};

/** Result of gh_defrag_add(). */
typedef struct gh_defrag_out {
    const uint8_t *data;  /**< reassembled IP packet (when add returned 1), owned by
                               the context, valid until the next add/expire/free */
    uint32_t len;
    uint32_t linktype;    /**< GH_LINK_IPV4 or GH_LINK_IPV6 for gh_decode() */
    uint32_t events;      /**< GH_DEFRAG_EV_* of this call (always set) */
    uint32_t dgram_flags; /**< GH_DEFRAG_DG_* (when add returned 1) */
    uint32_t nfrags;      /**< fragments accepted into the datagram (when 1) */
} gh_defrag_out;

typedef struct gh_defrag gh_defrag;

/** Defaults: 16 MiB of data, 4096 datagrams, 60 s, first-wins, VLAN in the key. */
GH_API void gh_defrag_config_init(gh_defrag_config *cfg);

/**
 * Create a context and allocate all its memory. @p cfg NULL means the
 * defaults; the context keeps a copy. Returns NULL and fills @p err
 * (GH_E_INVAL, GH_E_UNSUPPORTED for another policy, GH_E_NOMEM). The caller
 * owns the context and frees it with gh_defrag_free().
 */
GH_API gh_defrag *gh_defrag_new(const gh_defrag_config *cfg, gh_error *err);

/** Free the context and everything it holds. NULL is fine. */
GH_API void gh_defrag_free(gh_defrag *d);

/**
 * Feed one decoded fragment (@p p has GH_PKT_FRAGMENT; its bytes are
 * copied, so @p p and its buffer may go away afterwards). @p now_ns is
 * packet time; datagrams older than the timeout are dropped first.
 * Invalidates the previous output buffer.
 *
 * Returns 1 when the fragment completed a datagram: @p out->data holds the
 * whole IP packet (decode it with gh_decode(..., out->linktype, ...)).
 * Returns 0 when the fragment is held (or was wholly a duplicate).
 * Negative when the fragment was discarded: GH_E_INVAL (not an IP fragment,
 * bad arguments), GH_E_FORMAT (invalid, truncated or too large: counted),
 * GH_E_LIMIT (no room even after dropping every older datagram: counted in
 * mem_drops). @p out->events is set in every case.
 */
GH_API int gh_defrag_add(gh_defrag *d, const gh_packet *p, uint64_t now_ns,
                         gh_defrag_out *out);

/** Drop datagrams whose timeout passed at @p now_ns (counted in timeouts);
 *  returns how many. Invalidates the previous output buffer. */
GH_API uint32_t gh_defrag_expire(gh_defrag *d, uint64_t now_ns);

/** Counters and gauges; valid while the context lives. */
GH_API const gh_defrag_stats *gh_defrag_get_stats(const gh_defrag *d);

#endif
