/* gatehouse: the signature (DPI) matcher core.
 *
 * Compile, then run: gh_dpi_compile turns checked signature rules into an
 * immutable gh_dpi (Hyperscan prefilter databases plus one verification
 * program per signature), shared read-only by all workers. Each worker owns
 * a gh_dpi_scratch (Hyperscan scratch, candidate marks, PCRE2 match data);
 * matching allocates nothing.
 *
 * Matching is Suricata's: Hyperscan finds candidates by one "fast pattern"
 * per signature (the content marked fast_pattern, else the longest
 * non-negated content); every candidate is then verified completely
 * (protocol, addresses, ports, direction, header keywords, then the content
 * chain with offset/depth/distance/within, isdataat and pcre, retrying
 * earlier content occurrences when a later relative keyword fails).
 * Signatures without a usable fast pattern are verified on every packet of
 * their group. A signature never fires unless every condition was checked.
 *
 * Hyperscan runs in block mode on the buffer given: a packet payload
 * (gh_dpi_match_packet), or a window over the tail of one TCP direction's
 * reassembled stream (gh_dpi_match_stream, DESIGN.md section 2 "Stream
 * semantics"), where absolute positions count from the stream start and a
 * match is reported once, by the call that delivers its last byte; or in
 * streaming mode over the new bytes of a window only (gh_dpi_match_stream_inc,
 * the same results with each byte scanned once).
 *
 * Databases are per protocol class, packet orientation and port group (see
 * gh_dpi_options): a packet scans the one its orientation and server port
 * select.
 */
#ifndef GATEHOUSE_DPI_H
#define GATEHOUSE_DPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/common.h"
#include "gatehouse/decode.h"
#include "gatehouse/rules.h"

typedef struct gh_dpi gh_dpi;
typedef struct gh_dpi_scratch gh_dpi_scratch;
/* Declared in engine/hdrmatch.h: what the flow table knows about a packet. */
typedef struct gh_pkt_state gh_pkt_state;

#define GH_DPI_KW_MAX 48  /**< distinct skip reasons kept in a report */

/** Rules skipped for one keyword ("flowbits", "proto:http", "pcre/U", ...). */
typedef struct gh_dpi_kwcount {
    char keyword[40];
    size_t rules;
} gh_dpi_kwcount;

/** What gh_dpi_compile loaded and skipped, and what it built. */
typedef struct gh_dpi_load_report {
    size_t rules;              /**< rules seen in all files */
    size_t loaded;             /**< signatures compiled */
    size_t skipped;            /**< skipped_unsupported + skipped_error */
    size_t skipped_unsupported; /**< used a keyword or protocol not implemented */
    size_t skipped_error;      /**< had a check error, or an error found here */
    gh_dpi_kwcount kw[GH_DPI_KW_MAX]; /**< unsupported tallies, most used first */
    size_t n_kw;
    size_t kw_other;           /**< rules whose keyword did not fit in kw[] */
    size_t no_fast_pattern;    /**< loaded signatures verified on every packet of their group */
    size_t patterns;           /**< Hyperscan expressions over all databases */
    size_t databases;          /**< groups with a Hyperscan database */
    size_t db_distinct;        /**< distinct group databases (identical ones are shared) */
    size_t db_cached;          /**< of those, read from the cache directory */
    size_t db_compiled;        /**< of those, compiled by this load */
    size_t db_bytes;           /**< their total size (hs_database_size) */
    size_t port_groups;        /**< most port groups of a protocol and orientation */
    size_t addr_classes;       /**< address classes the groups are cut by (1 or 4) */
    size_t pcre;               /**< pcre keywords loaded */
    size_t pcre_hyperscan;     /**< of those, with a Hyperscan prefilter */
    size_t pcre_cached;        /**< distinct prefilters read from the cache directory */
    char cache_error[192];     /**< why the cache directory was not used ("" when it was,
                                    or none was asked for) */
} gh_dpi_load_report;

/** One loaded signature, for events and reports. Strings are owned by the gh_dpi. */
typedef struct gh_dpi_sig_info {
    gh_rule_action action;     /**< alert, pass, drop, reject* */
    uint32_t sid, gid, rev;
    uint32_t priority;         /**< 0 when the rule sets none */
    const char *msg;           /**< unquoted; "" when absent */
    const char *classtype;     /**< "" when absent */
    const char *category;      /**< alert category: the classtype's description after
                                    gh_dpi_set_classification, else the classtype */
    uint32_t severity;         /**< alert severity: priority, else the classtype's
                                    priority (gh_dpi_set_classification), else 3 */
    const char *proto;         /**< as written ("tcp", "ip", ...) */
    const char *file;
    uint32_t line;
    const char *fast_pattern;  /**< the prefilter bytes (not NUL-terminated), NULL when none */
    size_t fast_pattern_len;
    bool fast_pattern_nocase;
    bool payload;              /**< has payload keywords (content, pcre, isdataat) */
    bool noalert;              /**< its matches raise no alert (noalert, flowbits:noalert);
                                    its action still applies */
    gh_target target;          /**< target keyword: which end of the packet is the target */
    bool app;                  /**< inspected on application-layer transactions */
    bool no_stream;            /**< flow:no_stream: packet-only, never in gh_dpi_match_stream */
    bool only_stream;          /**< flow:only_stream: only gh_dpi_match_stream can match it */
    gh_sig_type type;          /**< Suricata's signature type (gh_rule_sig_type); it
                                    alone decides where the signature is inspected */
    const char *type_why;      /**< why it has that type, for `check --explain-types` */
    bool packet_scope;         /**< on a TCP stream, also matched per packet: type pkt or
                                    pkt_stream */
    bool stream_scope;         /**< payload matched on the reassembled TCP stream: type
                                    stream or pkt_stream (flow:no_stream and tcp-pkt make
                                    type pkt) */
} gh_dpi_sig_info;

/** A signature that matched. */
typedef struct gh_dpi_match {
    uint32_t idx;              /**< for gh_dpi_sig */
    gh_rule_action action;
    uint32_t sid, gid, rev;
    bool stream;               /**< matched payload keywords on a reassembled stream window
                                    (gh_dpi_match_stream), not on one packet */
    int16_t tx;                /**< matched an application-layer transaction: the index of
                                    its record for events (worker-defined), else -1 */
} gh_dpi_match;

/**
 * Compile the signature rules of @p files (already through gh_rules_check;
 * file order, then line order) with variables @p vars.
 *
 * Rules with a check error (has_error) or an unsupported keyword or
 * protocol (gh_rule.unsupported, or one found here such as a pcre HTTP
 * buffer flag) are skipped and counted in @p rep (may be NULL). Errors found
 * here (a pcre PCRE2 rejects, a content mixing absolute and relative
 * modifiers, ...) are appended to @p errs (grown with realloc; the caller
 * frees) at the option's position and their rule is skipped; the result is
 * still returned, so callers that require a clean load check @p *nerrs.
 * Returns NULL with @p err filled on memory exhaustion or a Hyperscan
 * failure. The result does not point into @p files or @p vars.
 */
GH_API gh_dpi *gh_dpi_compile(gh_rule_file *const *files, size_t n, const gh_rule_vars *vars,
                              gh_rule_error **errs, size_t *nerrs, gh_dpi_load_report *rep,
                              gh_error *err);

/** Compile options; start from gh_dpi_options_init(). */
typedef struct gh_dpi_options {
    /** Port groups per protocol (tcp, udp) and packet orientation, 1..8
     *  (default 8; 1: no grouping). A packet is matched against the
     *  databases of its group only: the signatures whose port constraint
     *  admits the server's port (the destination port of a to_server packet,
     *  the source port of a to_client one). Ports whose signature sets are
     *  the largest get a group each, the other ports share one. */
    unsigned port_groups;
    /** A port group keeps its own databases only when its signatures differ
     *  from those of the shared group 0 by at least this many fast patterns
     *  and by 1/8 of the any-port ones (each group's databases repeat every
     *  any-port signature); otherwise it is merged into group 0. Default 64;
     *  0: every group the port_groups cut makes is kept. */
    unsigned port_group_min_diff;
    /** Cut every group by address class as well (default true): the address
     *  set the signatures name most (with its complement: $HOME_NET and
     *  $EXTERNAL_NET) is the home set, and a packet is matched against the
     *  databases of its class only (source in or out of the home set, and
     *  destination): those of the signatures whose addresses can match it.
     *  Nothing is cut when no set is named by an eighth of the signatures. */
    bool addr_classes;
    /** Give each pcre whose expression Hyperscan compiles a Hyperscan
     *  prefilter (prefilter mode: it may match more, never less), scanned
     *  before PCRE2 so a subject it rejects costs no PCRE2 run (default true). */
    bool pcre_hyperscan;
    /** Directory of the Hyperscan database cache (NULL, the default: no
     *  cache). Databases are keyed by a hash of their whole compile input, so
     *  a reload compiles only those whose signatures changed. A directory
     *  that cannot be created or written is reported in
     *  gh_dpi_load_report.cache_error and the load compiles everything. */
    const char *cache_dir;
    /** Size bound of the cache directory; the least recently used files go
     *  first (default GH_DPI_CACHE_MAX_DEFAULT). */
    uint64_t cache_max_bytes;
    /** Threads compiling the rules (in parts, when there are thousands) and
     *  the databases the cache lacks (0, the default: one per online CPU).
     *  The result does not depend on it. */
    unsigned jobs;
    /** Release the rule files (gh_rule_file_release) once their rules are
     *  compiled into signatures, before the databases are built: a cold
     *  load's Hyperscan compiles then run without the parse trees in memory.
     *  The caller must not read their rules afterwards (default false). */
    bool release_rules;
} gh_dpi_options;

#define GH_DPI_CACHE_MAX_DEFAULT (1024ull << 20)

GH_API void gh_dpi_options_init(gh_dpi_options *o);

/** gh_dpi_compile with options (NULL: defaults). An option out of range is
 *  GH_E_INVAL. */
GH_API gh_dpi *gh_dpi_compile_ex(gh_rule_file *const *files, size_t n, const gh_rule_vars *vars,
                                 const gh_dpi_options *opt, gh_rule_error **errs,
                                 size_t *nerrs, gh_dpi_load_report *rep, gh_error *err);

/** Free; NULL is fine. Every scratch made for @p d must be freed first. */
GH_API void gh_dpi_free(gh_dpi *d);

/**
 * Set the action precedence of @p d's match lists (Suricata's action-order;
 * gh_dpi_compile starts with pass, drop, reject, alert). Call before any
 * worker matches with @p d: a gh_dpi is shared read-only once in use.
 */
GH_API void gh_dpi_set_action_order(gh_dpi *d, const gh_action_order *o);
GH_API const gh_action_order *gh_dpi_action_order(const gh_dpi *d);

/**
 * Give @p d's signatures their alert category and severity from
 * classification table @p c: category is the description of the
 * signature's classtype, severity the rule's priority or else the class's
 * priority. A classtype @p c does not define is an error appended to
 * @p errs (at the classtype option; the caller frees) and its signature
 * keeps the classtype name as category. Returns the number of such errors,
 * or GH_E_NOMEM. Call before any worker matches with @p d.
 */
GH_API int gh_dpi_set_classification(gh_dpi *d, const gh_classification *c,
                                     gh_rule_error **errs, size_t *nerrs);

/** Number of loaded signatures; their description (NULL when idx is out of range). */
GH_API size_t gh_dpi_sig_count(const gh_dpi *d);
GH_API const gh_dpi_sig_info *gh_dpi_sig(const gh_dpi *d, uint32_t idx);

/** Bytes used by the compiled databases and signature programs. */
GH_API size_t gh_dpi_memory(const gh_dpi *d);

/**
 * Per-worker matching state for @p d (Hyperscan scratch for every database,
 * candidate marks, PCRE2 match data). Owned by the caller, used by one
 * thread at a time. Returns NULL with @p err filled on failure.
 */
GH_API gh_dpi_scratch *gh_dpi_scratch_new(const gh_dpi *d, gh_error *err);

/** Bytes held by a scratch. */
GH_API size_t gh_dpi_scratch_size(const gh_dpi_scratch *s);

/** Free; NULL is fine. */
GH_API void gh_dpi_scratch_free(gh_dpi_scratch *s);

/**
 * Match the signatures of @p d against packet @p p (headers, in flow state
 * @p st, may be NULL) and payload bytes @p buf / @p len (the packet payload,
 * or a reassembled stream chunk). Writes up to @p max matches to @p out in
 * Suricata's order: by action in the action order (default pass > drop >
 * reject > alert, gh_dpi_set_action_order), then ascending sid,
 * then rule order; when more matched than @p max, the first @p max of that
 * order are kept. Returns the number written. No allocation.
 */
GH_API size_t gh_dpi_match_packet(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                                  const gh_pkt_state *st, const uint8_t *buf, size_t len,
                                  gh_dpi_match *out, size_t max);

/** Sort @p n matches (from several calls) into the order the match
 *  functions return: action order, then sid, then load order. */
GH_API void gh_dpi_match_sort(const gh_dpi *d, gh_dpi_match *m, size_t n);

/** gh_dpi_match_packet_ex flags. */
enum {
    /** Match only the flow:no_stream signatures (for TCP packets whose other
     *  signatures go through gh_dpi_match_stream). */
    GH_DPI_PACKET_ONLY_NO_STREAM = 1u << 0,
    /** With GH_DPI_PACKET_ONLY_NO_STREAM: also the packet-scope payload
     *  signatures, which gh_dpi_match_stream skips with
     *  GH_DPI_STREAM_SKIP_ANCHORED. */
    GH_DPI_PACKET_ANCHORED = 1u << 1,
    /** The per-packet side of a TCP packet whose stream goes through
     *  gh_dpi_match_stream_inc: the flow:no_stream and packet-scope payload
     *  signatures with packet semantics, and the header-only signatures as
     *  on the stream (flow:only_stream holds), from their own databases. */
    GH_DPI_PACKET_TCP_SIDE = 1u << 2,
    /** With GH_DPI_PACKET_TCP_SIDE: take the payload candidates from the
     *  hits of the gh_dpi_match_stream_inc calls made since
     *  gh_dpi_stream_packet_begin instead of scanning the payload again.
     *  The caller sets it only when those calls fed every byte of @p buf as
     *  new bytes; a call that could not scan makes it fall back to a scan. */
    GH_DPI_PACKET_STREAM_HITS = 1u << 3,
    /** A flow-end pseudo packet (no payload; @p buf is ignored): only the
     *  header-only signatures whose type is not pkt (like_ip_only), as
     *  Suricata matches its flow-timeout pseudo packets. */
    GH_DPI_PACKET_FLOW_END = 1u << 4,
};

/**
 * gh_dpi_match_packet with @p flags: 0 is gh_dpi_match_packet itself;
 * GH_DPI_PACKET_ONLY_NO_STREAM considers only flow:no_stream signatures
 * (payload and header-only), with packet semantics.
 *
 * For TCP the owner calls, per packet, gh_dpi_match_stream for the
 * direction's window (every signature except flow:no_stream) and
 * gh_dpi_match_packet_ex(..., payload, GH_DPI_PACKET_ONLY_NO_STREAM) for the
 * packet-scope ones; other protocols use gh_dpi_match_packet.
 */
GH_API size_t gh_dpi_match_packet_ex(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                                     const gh_pkt_state *st, const uint8_t *buf, size_t len,
                                     unsigned flags, gh_dpi_match *out, size_t max);

/** gh_dpi_match_stream flags. */
enum {
    /** Do not evaluate header-only signatures (the caller scans a second
     *  window for the same packet and evaluates them once). */
    GH_DPI_STREAM_SKIP_HEADER_ONLY = 1u << 0,
    /** Skip the payload signatures whose type does not inspect the stream
     *  (type pkt: gh_dpi_sig_info.stream_scope false); the caller matches the
     *  packet-scope ones on the packet (GH_DPI_PACKET_ANCHORED). */
    GH_DPI_STREAM_SKIP_ANCHORED = 1u << 1,
};

/**
 * Match signatures against a window of one TCP direction's reassembled stream.
 *
 * @p buf [0, @p len) are the stream bytes at stream offsets
 * [@p buf_offset, @p buf_offset + @p len); the bytes from index @p new_from
 * on were delivered by this packet (@p new_from == @p len: none; larger
 * values count as @p len).
 *
 * - A signature with payload keywords (info.payload) is reported only when a
 *   complete match of its keyword chain has its extent past @p new_from: it
 *   needs a byte that just arrived. The extent of a match is the end of its
 *   furthest positive content or pcre match, the last byte a positive
 *   isdataat requires (relative: N bytes after the previous match; absolute:
 *   the byte at stream offset N), or the last byte a byte_test, byte_extract
 *   or byte_math read (all its nbytes) or a byte_jump read or jumped to, or
 *   the end of the input a base64_decode decoded (its bytes limit, the
 *   window end, or the byte outside the alphabet that stopped it: the
 *   base64_data keywords inspect decoded data, which has no stream offsets);
 *   a chain of only negated keywords has the whole window as extent
 *   (reported on every call that delivers bytes).
 *   The verifier searches the whole match space (all occurrences,
 *   backtracking) for such a match, so an occurrence is reported once, by
 *   the call that delivers its last byte, though its bytes stay in later
 *   windows. Negated contents/pcre and isdataat constrain as on a packet,
 *   over the window only (a negated content that occurred before the window
 *   is not seen).
 * - Absolute positions count from stream offset 0, not from @p buf: content
 *   offset/depth and startswith (depth:3 can only match when
 *   @p buf_offset < 3 and stream bytes 0..2 are in @p buf), isdataat without
 *   relative, byte_* without relative (their offset; byte_jump from_beginning
 *   jumps from stream offset 0, a target before the window is its start;
 *   from_end jumps from the window's end), base64_decode without relative
 *   (its offset; a window starting after it decodes nothing). Suricata reads these from the
 *   start of the chunk it inspects; the two agree on windows that start the
 *   stream. endswith: the end of the window is the end of the data seen so
 *   far. Relative keywords (distance/within, isdataat relative, pcre R) work
 *   inside the window; a relative first keyword counts from the window start.
 * - pcre without R: the subject is the window. When @p buf_offset > 0, ^
 *   does not match at the window start (PCRE2_NOTBOL; with m it still
 *   matches after a newline inside the window) and a pcre with the A flag
 *   never matches. Not handled: \A and \G (they match at the window
 *   start), lookbehind into bytes before the window. As on packets, each
 *   pcre start position yields PCRE2's one match.
 * - flow:no_stream signatures are never matched here (see
 *   gh_dpi_match_packet_ex); flow:only_stream holds here.
 * - Header-only signatures (no payload keywords) are evaluated as in
 *   gh_dpi_match_packet against packet @p p (headers, dsize is
 *   p->payload_len, flow state @p st), whether or not the packet delivered
 *   bytes, unless @p flags has GH_DPI_STREAM_SKIP_HEADER_ONLY.
 * - Header checks (addresses, ports, protocol, flow/flags/dsize/ttl...) of
 *   payload signatures apply to @p p as on the packet path.
 *
 * Hyperscan scans all of @p buf in block mode (skipped when no bytes are
 * new). Output as gh_dpi_match_packet (precedence order, at most @p max).
 * No allocation.
 */
GH_API size_t gh_dpi_match_stream(const gh_dpi *d, gh_dpi_scratch *s, const gh_packet *p,
                                  const gh_pkt_state *st, const uint8_t *buf, size_t len,
                                  uint64_t buf_offset, size_t new_from, unsigned flags,
                                  gh_dpi_match *out, size_t max);

/** Incremental matching state of one direction of one TCP stream: a
 *  Hyperscan stream plus the fast-pattern hits still inside the window.
 *  Owned by the caller (one per flow direction, reused across flows with
 *  gh_dpi_stream_reset); used by one thread at a time. */
typedef struct gh_dpi_stream gh_dpi_stream;

/** NULL on memory exhaustion. Not tied to a gh_dpi until first used. */
GH_API gh_dpi_stream *gh_dpi_stream_new(void);
/** Forget the stream (a new flow takes the state over). No allocation. */
GH_API void gh_dpi_stream_reset(gh_dpi_stream *ds);
GH_API void gh_dpi_stream_free(gh_dpi_stream *ds);
/** Bytes held, Hyperscan's stream state included. */
GH_API size_t gh_dpi_stream_size(const gh_dpi_stream *ds);

/** Start a packet: the gh_dpi_match_stream_inc calls that follow collect
 *  the fast-pattern hits of packet-scope signatures for
 *  GH_DPI_PACKET_STREAM_HITS. */
GH_API void gh_dpi_stream_packet_begin(gh_dpi_scratch *s);

/** gh_dpi_match_stream_inc flags. */
enum {
    /** Feed the new bytes to the stream state, match nothing (bytes that
     *  arrive before the session is established fill the window for
     *  context; they must be fed so later windows see their hits). */
    GH_DPI_STREAM_FEED_ONLY = 1u << 0,
    /** With GH_DPI_STREAM_FEED_ONLY: the bytes are fed ahead of their
     *  verification only to find the packet's packet-scope candidates (IDS
     *  inspection on arrival). When the packet's database has no such
     *  pattern the call feeds nothing, and the verifying call feeds them
     *  (one Hyperscan write per chunk instead of one per packet). */
    GH_DPI_STREAM_FEED_PACKET = 1u << 1,
};

/**
 * gh_dpi_match_stream with GH_DPI_STREAM_SKIP_HEADER_ONLY and
 * GH_DPI_STREAM_SKIP_ANCHORED (the packet side goes through
 * gh_dpi_match_packet_ex with GH_DPI_PACKET_TCP_SIDE), same arguments and
 * same results, but incremental: only the new bytes [@p new_from, @p len)
 * are scanned, by a Hyperscan stream in @p ds, and the signatures whose fast
 * pattern occurred (latest occurrence) inside the window are verified on it.
 * Successive calls for one direction pass the bytes in stream order (a gap
 * restarts the Hyperscan stream at the new bytes). New bytes that an earlier
 * call already fed (GH_DPI_STREAM_FEED_ONLY ahead of the window, as IDS
 * inspection does with the bytes of each packet on arrival) are not fed
 * again; their hits are the window's candidates. When more hits are live
 * than @p ds keeps, windows that may hold the lost ones are matched as by
 * gh_dpi_match_stream (block scan), so results never differ. Only TCP
 * packets; the direction (to_server or not) comes from @p st. No
 * allocation, except Hyperscan's stream state at the first use of @p ds or
 * after a ruleset change.
 */
GH_API size_t gh_dpi_match_stream_inc(const gh_dpi *d, gh_dpi_scratch *s, gh_dpi_stream *ds,
                                      const gh_packet *p, const gh_pkt_state *st,
                                      const uint8_t *buf, size_t len, uint64_t buf_offset,
                                      size_t new_from, unsigned flags, gh_dpi_match *out,
                                      size_t max);

/** Matching counters of one scratch (cumulative). */
typedef struct gh_dpi_scratch_stats {
    uint64_t buffers;          /**< buffers matched (packet and stream calls) */
    uint64_t candidates;       /**< signatures verified */
    uint64_t matches;          /**< signatures that matched */
    uint64_t budget_exceeded;  /**< verifications abandoned (treated as no match) */
    uint64_t pcre_errors;      /**< PCRE2 match errors (limits hit: no match) */
    uint64_t pcre_hs_rejects;  /**< pcre subjects the Hyperscan prefilter ruled out */
    uint64_t block_fallbacks;  /**< incremental stream windows matched by a block scan
                                    (more live hits than a stream keeps) */
    uint64_t body_fallbacks;   /**< HTTP body windows scanned whole (more signatures hit
                                    than a transaction's body track keeps) */
    uint64_t fp_wait_full;     /**< transaction buffers whose signatures for later
                                    stages did not fit the transaction's list (the
                                    buffer is scanned again at its next inspection) */
    uint64_t vars_refused;     /**< flowbits, flowint and xbits sets refused: their flow,
                                    host or host pair had no room left */
    uint64_t xbits_evicted;    /**< hosts or host pairs evicted from the full xbits table */
} gh_dpi_scratch_stats;
GH_API void gh_dpi_scratch_get_stats(const gh_dpi_scratch *s, gh_dpi_scratch_stats *st);

#endif
