/* gatehouse: the flow table. One table per worker (no locks): bidirectional
 * flows keyed by a canonical 5-tuple, a fixed pool of entries allocated up
 * front, a bucketized open-addressing index, per-protocol/per-state
 * timeouts driven by packet time, a TCP state machine with handshake RTT,
 * window and retransmission diagnosis, and the verdict slot that lets later
 * packets of a decided flow skip the firewall table.
 *
 * Life of a flow: gh_flow_lookup() creates it for the first packet and
 * updates it for every later one; it ends by timeout (seen on a later
 * lookup or by the incremental gh_flow_table_expire() walk), by eviction
 * when the pool is full, by TCP port reuse, or by gh_flow_table_flush() at
 * the end of the run. Each end calls the configured end callback once
 * (write the EVE "flow" event with gh_eve_fmt_flow() there, release any
 * per-flow state of later stages); the entry's memory is reused only after
 * the next gh_flow_table_end_batch(), so flow pointers from this batch's
 * lookups stay valid while later stages run over the batch. */
#ifndef GATEHOUSE_FLOW_H
#define GATEHOUSE_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/decode.h"
#include "gatehouse/eve.h"

/** Default table size: 2^20 flows (DESIGN.md §4: one million flows within the
 *  default cap). With the 192-byte entry and the index this is ~217 MB of
 *  address space, touched only as flows are created. */
#define GH_FLOW_DEFAULT_MAX_FLOWS (1u << 20)
/** Largest max_flows accepted. */
#define GH_FLOW_MAX_FLOWS_LIMIT (1u << 30)
/** Entries beyond max_flows that hold flows ended during the current batch
 *  until gh_flow_table_end_batch() (a lookup ends at most two flows). */
#define GH_FLOW_BATCH_RESERVE 512u

/* gh_flow_lookup's *dir_out: the packet's direction, or why it has no flow. */
enum {
    GH_FLOW_TOSERVER = 0, /**< sent by the client */
    GH_FLOW_TOCLIENT = 1, /**< sent by the server */
    GH_FLOW_NOFLOW = -1,  /**< not trackable (no IP, fragment, L4 header missing,
                               ICMP error quoting no known flow); stateless only */
    GH_FLOW_FULL = -2,    /**< no free entry and nothing evictable: the caller's
                               failure policy decides (counted in pool_full) */
};

/** TCP connection state as seen from the middle. */
typedef enum gh_tcp_state {
    GH_TCP_NONE = 0,     /**< no handshake seen (mid-stream pick-up off) */
    GH_TCP_SYN_SENT,     /**< client SYN seen */
    GH_TCP_SYN_RECV,     /**< server SYN/ACK seen */
    GH_TCP_ESTABLISHED,  /**< handshake completed (or picked up mid-stream) */
    GH_TCP_FIN_WAIT,     /**< one side sent FIN */
    GH_TCP_CLOSING,      /**< both sides sent FIN, the last one not yet ACKed */
    GH_TCP_CLOSED,       /**< both FINs sent and ACKed */
    GH_TCP_RESET,        /**< RST seen */
    GH_TCP_STATE_COUNT
} gh_tcp_state;

/** Flow state, Suricata's: what selects the timeout and EVE flow.state. */
typedef enum gh_flow_state {
    GH_FLOW_STATE_NEW = 0,     /**< TCP before the handshake completed; others
                                    until both directions were seen */
    GH_FLOW_STATE_ESTABLISHED, /**< TCP established/fin_wait/closing; others
                                    after packets in both directions */
    GH_FLOW_STATE_CLOSED,      /**< TCP closed or reset */
    GH_FLOW_STATE_COUNT
} gh_flow_state;

/** Timeout table rows. */
typedef enum gh_flow_proto {
    GH_FLOW_PROTO_TCP = 0,
    GH_FLOW_PROTO_UDP,
    GH_FLOW_PROTO_ICMP,  /**< ICMP and ICMPv6 */
    GH_FLOW_PROTO_OTHER, /**< every other IP protocol */
    GH_FLOW_PROTO_COUNT
} gh_flow_proto;

/** Why a flow ended (EVE flow.reason). */
typedef enum gh_flow_end_reason {
    GH_FLOW_END_TIMEOUT = 0, /**< idle longer than its state's timeout */
    GH_FLOW_END_FORCED,      /**< evicted to make room (pool full) */
    GH_FLOW_END_SHUTDOWN,    /**< still active at gh_flow_table_flush() */
    GH_FLOW_END_TCP_REUSE,   /**< a new SYN on a closed/reset/unsynced TCP flow */
    GH_FLOW_END_COUNT
} gh_flow_end_reason;

/** The verdict slot (gh_flow.action), set by the firewall stage. */
enum {
    GH_FLOW_ACTION_NONE = 0, /**< no decision yet: run the firewall table */
    GH_FLOW_ACTION_ACCEPT,   /**< accepted; DPI still inspects */
    GH_FLOW_ACTION_PASS,     /**< trusted; DPI never sees the flow */
    GH_FLOW_ACTION_DROP,
    GH_FLOW_ACTION_REJECT,
};

/* gh_flow.flags */
enum {
    GH_FLOWF_CLIENT_IS_LO = 1u << 0, /**< the client is key.lo */
    GH_FLOWF_ESTABLISHED = 1u << 1,  /**< reached established; kept until the end */
    GH_FLOWF_WSCALE = 1u << 2,       /**< window scaling negotiated (both SYNs) */
    GH_FLOWF_ALERTED = 1u << 3,      /**< a signature alerted on the flow */
    GH_FLOWF_ENDED = 1u << 4,        /**< ended; entry recycled at the next end_batch */
    GH_FLOWF_SYNACK = 1u << 5,       /**< SYN/ACK time recorded (rtt_synack_us valid) */
    GH_FLOWF_RTT = 1u << 6,          /**< handshake completed: rtt_ack_us valid */
    GH_FLOWF_MIDSTREAM = 1u << 7,    /**< TCP picked up without its SYN (first packet
                                          neither a SYN nor a RST) */
};

/* gh_flow_tcp_dir.flags */
enum {
    GH_FLOWD_SEQ = 1u << 0,       /**< high_seq is valid */
    GH_FLOWD_SYN = 1u << 1,       /**< sent a SYN */
    GH_FLOWD_WSCALE = 1u << 2,    /**< its SYN offered window scaling (wscale) */
    GH_FLOWD_FIN = 1u << 3,       /**< sent a FIN (fin_seq valid) */
    GH_FLOWD_FIN_ACKED = 1u << 4, /**< its FIN was ACKed by the peer */
};

/**
 * Canonical flow key: the (address, port) pair that sorts lower is "lo", so
 * both directions build the same key. ICMP echo-like messages use the
 * identifier as both ports and the request type as icmp_class (request and
 * reply share a flow); other non-error ICMP use the code as both ports and
 * the type as icmp_class. Padding is zero so keys compare with memcmp.
 */
typedef struct gh_flow_key {
    gh_addr lo, hi;
    uint16_t lo_port, hi_port;
    uint16_t vlan[2];   /**< 0 unless vlan tracking is on */
    uint8_t proto;      /**< IP protocol */
    uint8_t ip_ver;     /**< 4 or 6; 0 marks a free entry */
    uint8_t icmp_class;
    uint8_t pad;
} gh_flow_key;

/** Per-direction TCP tracking (index GH_FLOW_TOSERVER / GH_FLOW_TOCLIENT). */
typedef struct gh_flow_tcp_dir {
    uint32_t high_seq;  /**< highest seq + len sent (SYN and FIN count 1) */
    uint32_t min_win;   /**< smallest window advertised, scaled; UINT32_MAX: none */
    uint32_t retrans;   /**< segments entirely below high_seq (resent or late) */
    uint32_t zero_win;  /**< zero-window advertisements (not SYN/FIN/RST) */
    uint8_t tcp_flags;  /**< union of the flags sent */
    uint8_t wscale;     /**< shift its SYN offered (valid with GH_FLOWD_WSCALE) */
    uint8_t flags;      /**< GH_FLOWD_* */
    uint8_t pad;
} gh_flow_tcp_dir;

/**
 * A flow entry: exactly 192 bytes, three cache lines. Line 0 holds what
 * every packet reads (key, last-seen time, state, verdict slot); line 1 the
 * per-packet counters and TCP tracking; line 2 cold fields read at the end.
 *
 * Owned by the table. Other stages may write only action, rule_id,
 * stage_flags, ext, app_proto, exc_seen and GH_FLOWF_ALERTED (gh_flow_set_alerted); everything
 * else is read-only for them.
 */
typedef struct gh_flow {
    /* line 0: lookup and per-packet decisions */
    _Alignas(64) gh_flow_key key;
    uint32_t hash;           /**< low 32 bits of the table hash (home bucket) */
    uint64_t last_ns;        /**< time of the last packet (packet clock) */
    uint32_t rule_id;        /**< rule that decided action (firewall-defined) */
    uint8_t action;          /**< GH_FLOW_ACTION_*, the firewall's verdict slot */
    uint8_t tcp_state;       /**< gh_tcp_state */
    uint8_t flags;           /**< GH_FLOWF_* */
    uint8_t stage_flags;     /**< free for the pipeline stages; zeroed at creation */

    /* line 1: per-packet counters and TCP tracking */
    uint64_t bytes[2];       /**< captured bytes per direction (Suricata's count) */
    uint32_t pkts[2];        /**< packets per direction */
    gh_flow_tcp_dir tcp[2];  /**< per direction, TCP only */

    /* line 2: cold, read when the flow ends */
    uint64_t flow_id;        /**< unique in the run, < 2^51 (JSON-safe) */
    uint64_t start_ns;       /**< time of the first packet */
    uint64_t syn_ns;         /**< time of the client's last SYN */
    uint32_t rtt_synack_us;  /**< last SYN -> SYN/ACK (GH_FLOWF_SYNACK) */
    uint32_t rtt_ack_us;     /**< SYN/ACK -> client's ACK (GH_FLOWF_RTT) */
    uint32_t fin_seq[2];     /**< each side's ISN once it sent a SYN, then the sequence
                                  number of its FIN (GH_FLOWD_FIN) */
    uint8_t icmp_type[2];    /**< first ICMP type/code seen per direction */
    uint8_t icmp_code[2];
    uint16_t vlan[2];        /**< VLAN ids of the first packet (even untracked) */
    uint8_t vlan_count;
    uint8_t end_reason;      /**< gh_flow_end_reason, valid with GH_FLOWF_ENDED */
    uint8_t app_proto;       /**< application protocol the app stage detected (0: none) */
    uint8_t exc_seen;        /**< failure policy conditions already reported (bits
                                  1 << gh_exc_cond), so each has one event per flow */
    uint32_t next;           /**< table-internal free-list link */
    void *ext;               /**< later stages' per-flow state, owned by them;
                                  NULL at creation, release it in the end callback */
} gh_flow;

/** Called once when a flow ends (f->end_reason says why). @p f stays valid
 *  until the next gh_flow_table_end_batch(); do not call into the table. */
typedef void (*gh_flow_end_fn)(void *ctx, gh_flow *f);

/** Table configuration; start from gh_flow_config_init(). */
typedef struct gh_flow_config {
    size_t memcap;         /**< bytes for entries + index; 0: no cap */
    uint32_t max_flows;    /**< 0: as many as memcap allows (or the default) */
    uint32_t expire_scan;  /**< entries gh_flow_table_expire() examines per call */
    uint32_t evict_sample; /**< entries examined to choose a victim when full;
                                0 disables eviction (new flows fail instead) */
    bool evict_established; /**< established flows are always the last choice;
                                 false: never evict them (default true) */
    bool evict_live;       /**< false: evict only flows timed out or closed, so a
                                table full of live flows fails the lookup (the
                                flow-full failure policy decides; default true) */
    bool midstream;        /**< TCP mid-stream pick-up (Suricata stream.midstream,
                                default false) */
    bool async_oneside;    /**< the client's ACK after its SYN completes a handshake whose
                                SYN/ACK took another path (Suricata stream.async-oneside,
                                default false) */
    bool vlan_tracking;    /**< VLAN ids are part of the key (default true) */
    uint16_t worker_id;    /**< flow_id namespace when lookups pass pkt_id 0 */
    uint64_t hash_seed;    /**< index hash seed (randomize against collision floods) */
    /** Idle timeouts in seconds per protocol and flow state. */
    uint32_t timeout_s[GH_FLOW_PROTO_COUNT][GH_FLOW_STATE_COUNT];
    gh_flow_end_fn on_end; /**< may be NULL */
    void *on_end_ctx;
} gh_flow_config;

/** Counters of one table. */
typedef struct gh_flow_stats {
    uint64_t lookups;          /**< packets looked up (gh_flow_lookup, _burst) */
    uint64_t created;
    uint64_t ended;            /**< sum of the four below */
    uint64_t timed_out;
    uint64_t evicted;          /**< ended with reason forced */
    uint64_t shutdown;
    uint64_t tcp_reuse;
    uint64_t pool_full;        /**< lookups that returned GH_FLOW_FULL */
    uint64_t noflow_not_ip;    /**< GH_FLOW_NOFLOW: no IP header decoded */
    uint64_t noflow_fragment;  /**< GH_FLOW_NOFLOW: IP fragment (not reassembled) */
    uint64_t noflow_no_l4;     /**< GH_FLOW_NOFLOW: TCP/UDP/ICMP header missing */
    uint64_t icmp_error_matched;   /**< ICMP errors counted in the quoted flow */
    uint64_t icmp_error_unmatched; /**< GH_FLOW_NOFLOW: ICMP error quoting no known
                                        flow (or a quote that did not decode) */
    uint32_t active;           /**< flows in the table now */
    uint32_t active_max;       /**< high-water mark of active */
    uint32_t state[GH_FLOW_STATE_COUNT];    /**< active flows per flow state */
    uint32_t tcp_state[GH_TCP_STATE_COUNT]; /**< active TCP flows per TCP state */
} gh_flow_stats;

typedef struct gh_flow_table gh_flow_table;

/**
 * Defaults: 2^20 flows, no memcap, expire_scan 256, evict_sample 32 with
 * established flows evictable, mid-stream off, vlan tracking on, and
 * Suricata's suricata.yaml timeouts (seconds; new/established/closed):
 * TCP 60/600/60, UDP 30/300/-, ICMP 30/300/-, other 30/300/0.
 */
GH_API void gh_flow_config_init(gh_flow_config *cfg);

/**
 * Create a table and allocate all its memory (entries and index, touched
 * lazily by the OS). The size is max_flows, or the most flows memcap
 * allows, or the default; a max_flows that does not fit memcap is an error.
 * @p cfg NULL means the defaults; the table keeps a copy. Returns NULL and
 * fills @p err (GH_E_INVAL, GH_E_NOMEM). The caller owns
 * the table and frees it with gh_flow_table_free().
 */
GH_API gh_flow_table *gh_flow_table_new(const gh_flow_config *cfg, gh_error *err);

/** Free the table without calling the end callback (flush first to get
 *  the events). NULL is fine. */
GH_API void gh_flow_table_free(gh_flow_table *t);

/**
 * The flow stage for one packet; call it exactly once per packet. Finds or
 * creates the packet's flow and updates its state and counters; an ICMP
 * error is counted in the flow of the packet it quotes (no flow is created
 * for it). A flow found idle past its timeout, or a TCP flow that is closed
 * or unsynced when a new SYN arrives, ends first and a new one starts.
 *
 * @p now_ns is the packet time. @p pkt_id is a number unique in the run for
 * this packet (gh_pkt_in.id in pcap mode): the flow it creates gets a
 * flow_id derived from it, identical whatever the number of workers; pass 0
 * to number flows per table (worker_id in the high bits) instead, and do
 * not mix the two in one run.
 *
 * Returns the flow, owned by the table and valid until the next
 * gh_flow_table_end_batch() (or expire/flush), with *dir_out set to
 * GH_FLOW_TOSERVER or GH_FLOW_TOCLIENT; or NULL with *dir_out set to
 * GH_FLOW_NOFLOW or GH_FLOW_FULL. @p dir_out may be NULL.
 */
GH_API gh_flow *gh_flow_lookup(gh_flow_table *t, const gh_packet *p, uint64_t now_ns,
                               uint64_t pkt_id, int *dir_out);

/**
 * gh_flow_lookup() for the @p n packets pkts[0..n) in order (the result is
 * the same as n calls), with the index and entry reads of a group of packets prefetched
 * before any is processed, so their cache misses overlap. @p now_ns holds
 * one time per packet; @p pkt_ids may be NULL (all 0). Fills flows[i] and
 * dirs[i] as gh_flow_lookup fills its result and *dir_out.
 */
GH_API void gh_flow_lookup_burst(gh_flow_table *t, const gh_packet *const *pkts, size_t n,
                                 const uint64_t *now_ns, const uint64_t *pkt_ids,
                                 gh_flow **flows, int *dirs);

/**
 * gh_flow_lookup_burst that also records, per packet, whether its flow was
 * established right after that packet's lookup (@p established may be
 * NULL): later stages that run after the whole burst read the state as the
 * packet saw it, not as the burst's last packet left it.
 */
GH_API void gh_flow_lookup_burst_state(gh_flow_table *t, const gh_packet *const *pkts, size_t n,
                                       const uint64_t *now_ns, const uint64_t *pkt_ids,
                                       gh_flow **flows, int *dirs, bool *established);

/**
 * Find the packet's flow without creating or updating anything; for an
 * ICMP error, the flow of the quoted packet (*dir_out is then the error's
 * direction: towards the sender of the quoted packet). NULL when none.
 */
GH_API gh_flow *gh_flow_find(gh_flow_table *t, const gh_packet *p, int *dir_out);

/** Recycle the entries of flows that ended since the last call. Call once
 *  no stage holds flow pointers from earlier lookups (after each batch). */
GH_API void gh_flow_table_end_batch(gh_flow_table *t);

/**
 * Incremental expiry: end the flows idle past their timeout at @p now_ns
 * among the next expire_scan entries (round robin), so the cost per call is
 * bounded and there is never a pause. Ends the batch first
 * (gh_flow_table_end_batch). Returns the number of flows ended.
 */
GH_API size_t gh_flow_table_expire(gh_flow_table *t, uint64_t now_ns);

/**
 * End every flow (end of run): reason timeout for flows already idle past
 * their timeout at @p now_ns, shutdown for the rest (pass 0 for all
 * shutdown). Passing the run's last packet time makes the reasons the same
 * whatever the number of workers. Recycles all entries; returns the count.
 */
GH_API size_t gh_flow_table_flush(gh_flow_table *t, uint64_t now_ns);

/** The table's counters (valid until the table is freed). */
GH_API const gh_flow_stats *gh_flow_table_stats(const gh_flow_table *t);
/** Flows the table holds before it evicts (max_flows). */
GH_API uint32_t gh_flow_table_max_flows(const gh_flow_table *t);
/** Bytes allocated for entries, index and the table itself. */
GH_API size_t gh_flow_table_memuse(const gh_flow_table *t);
/** Bytes a table of @p max_flows flows allocates (for sizing memcaps). */
GH_API size_t gh_flow_table_memsize(uint32_t max_flows);

/**
 * Verify the table's internal invariants from scratch (for tests and
 * debugging; O(table size)): every bucket's probe count, every indexed
 * entry's hash, signature and findability, the free/limbo/active partition
 * of the pool and the per-state counters. Returns GH_OK, or GH_E_FORMAT
 * with @p err naming the first violation.
 */
GH_API int gh_flow_table_check(const gh_flow_table *t, gh_error *err);

/**
 * Symmetric hash of a frame's flow for dispatching packets to workers, taken
 * before decoding: the unordered pair of the addresses gh_decode_flow_addrs
 * returns, and nothing else. Both directions, every fragment of a datagram
 * and the datagram whole, and an ICMP error and the flow it quotes get the
 * same value (ports or the protocol would split them: fragments after the
 * first carry no ports, an error's protocol is ICMP); VLAN ids are ignored.
 * Frames without IP give 0. Use the value modulo the number of workers.
 */
GH_API uint32_t gh_flow_hash_frame(uint32_t linktype, const uint8_t *data, uint32_t caplen);

/** Flow state of @p f. */
static inline gh_flow_state gh_flow_get_state(const gh_flow *f)
{
    if (f->tcp_state >= GH_TCP_CLOSED)
        return GH_FLOW_STATE_CLOSED;
    return (f->flags & GH_FLOWF_ESTABLISHED) ? GH_FLOW_STATE_ESTABLISHED : GH_FLOW_STATE_NEW;
}

/** True once the flow completed the TCP handshake (or was picked up
 *  mid-stream), or for other protocols saw packets both ways. */
static inline bool gh_flow_is_established(const gh_flow *f)
{
    return (f->flags & GH_FLOWF_ESTABLISHED) != 0;
}

/** Mark the flow as alerted (EVE flow.alerted). */
static inline void gh_flow_set_alerted(gh_flow *f)
{
    f->flags |= GH_FLOWF_ALERTED;
}

/** Names: "syn_sent", ...; "new"/"established"/"closed";
 *  "timeout"/"forced"/"shutdown"/"tcp_reuse". "unknown" when out of range. */
GH_API const char *gh_tcp_state_name(gh_tcp_state s);
GH_API const char *gh_flow_state_name(gh_flow_state s);
GH_API const char *gh_flow_end_reason_name(gh_flow_end_reason r);

/**
 * Append the EVE "flow" event line for ended flow @p f, in Suricata's
 * shape (timestamp = the flow's last packet, flow_id, event_type, client as
 * src, proto, flow{pkts_*, bytes_*, start, end, age, state, reason,
 * alerted, action}, tcp{tcp_flags*, flag booleans, state in Suricata's names:
 * close_wait/fin_wait1/fin_wait2/last_ack/time_wait/closing for our
 * fin_wait/closing, closed for reset}) plus gatehouse's
 * TCP diagnosis in "tcp": rtt_ms (and its two halves), min_window_*,
 * zero_window_*, retransmissions_*, wscale_* (when negotiated).
 */
GH_API void gh_eve_fmt_flow(gh_jbuf *b, const gh_flow *f);

#endif
