/* Stream inspection for TCP: per flow direction, reassembly (reassembly.c)
 * delivers in-order bytes into a sliding window holding the last bytes of
 * the stream, and signatures are matched on that window (dpi.c's stream
 * mode), so a signature split across segments, or sent out of order, is
 * seen whole, and each occurrence is reported once, when its last byte
 * arrives. Windows and reassembly state come from fixed pools allocated at
 * creation; a flow that finds the pool empty is inspected per packet and
 * counted. Internal to libgatehouse. */
#ifndef GATEHOUSE_STREAM_INSPECT_H
#define GATEHOUSE_STREAM_INSPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/dpi.h"
#include "gatehouse/flow.h"
#include "gatehouse/policy.h"
#include "gatehouse/reassembly.h"
#include "app/app.h"
#include "hdrmatch.h"

typedef struct gh_stream_inspect gh_stream_inspect;

typedef struct gh_stream_inspect_stats {
    uint64_t packets;       /* TCP packets inspected on the stream */
    uint64_t windows;       /* window scans */
    uint64_t bytes;         /* stream bytes delivered into windows */
    uint64_t no_slot;       /* packets inspected alone: the flow pool was full */
    uint64_t reasm_refused; /* segments reassembly left out (limits): inspected alone */
    uint64_t packet_rescans; /* packets whose payload was not all new stream bytes: the
                                packet-scope signatures scanned it again */
    uint64_t not_synced;    /* packets before the session is established, or of streams
                               that never start (no SYN seen): inspected alone */
    uint64_t holes;         /* holes given up on (ACKed past, or at flow end): the
                               bytes after them were inspected as a new run */
} gh_stream_inspect_stats;

/* Pool sizes and caps; 0 takes the default. */
typedef struct gh_stream_inspect_limits {
    size_t reasm_memcap;       /* reassembly's chunk pool (gh_reasm_config.memcap) */
    uint32_t app_flows;        /* parser states (at most max_flows) */
    uint32_t decompress_limit; /* gh_app_limits.decompress_limit */
} gh_stream_inspect_limits;

/* @p window bytes per direction (>= 256), @p max_flows flows with stream
 * state at once. NULL and @p err on failure. */
gh_stream_inspect *gh_stream_inspect_new(const gh_dpi *dpi, uint32_t window, uint32_t max_flows,
                                         bool midstream, bool acked,
                                         const gh_stream_inspect_limits *limits, gh_error *err);

/* The failure policy conditions (1 << gh_exc_cond) the packets inspected
 * since the last call hit: stream state or reassembly memory exhausted, a
 * parser error, no parser state, a decoding cap. Clears them. */
unsigned gh_stream_inspect_take_exceptions(gh_stream_inspect *si);
void gh_stream_inspect_free(gh_stream_inspect *si);

/*
 * Inspect TCP packet @p p of flow @p f (direction @p dir): feed reassembly,
 * scan the window for every run of new in-order bytes, and evaluate the
 * header-only and packet-only signatures once. Writes up to @p max matches,
 * de-duplicated and in precedence order, and returns their number.
 */
size_t gh_stream_inspect_packet(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                int dir, const gh_packet *p, const gh_pkt_state *st,
                                gh_dpi_match *out, size_t max);

/* Release the flow's stream state (from the flow table's on_end). */
/*
 * Flow @p f ends: in direction @p dir, give up on the holes that never
 * filled and inspect every byte not inspected yet (IDS: not acknowledged;
 * any mode: held past a hole), against @p pseudo, a packet of that direction
 * built from the flow (no payload), in state @p st (filled here, keeping the
 * caller's xb and now_s). Writes up to @p max matches (precedence order); call for both directions,
 * then gh_stream_inspect_flow_release.
 */
/* A UDP packet of flow @p f (direction @p dir): the application layer on
 * its datagram (a flow slot is taken once some parser would take it), its
 * transactions' signatures, then the packet's. */
size_t gh_stream_inspect_datagram(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                  int dir, const gh_packet *p, const gh_pkt_state *st,
                                  gh_dpi_match *out, size_t max);

size_t gh_stream_inspect_flow_end(gh_stream_inspect *si, gh_dpi_scratch *scratch, gh_flow *f,
                                  int dir, gh_packet *pseudo, gh_pkt_state *st,
                                  gh_dpi_match *out, size_t max);

/* Release the flow's stream state (from the flow table's on_end). */
void gh_stream_inspect_flow_release(gh_stream_inspect *si, gh_flow *f);

/* What a stream alert shows as its payload (Suricata's alert payload for
 * stream matches): the bytes of flow @p f's stream in direction @p dir that
 * the window holds (the latest, up to the window size), with
 * "[N bytes missing]" where a hole was given up; at most @p cap bytes into
 * @p buf; returns the length (0 when the flow has no stream state). */
size_t gh_stream_inspect_payload(const gh_stream_inspect *si, const gh_flow *f, int dir,
                                 uint8_t *buf, size_t cap);

/* The application layer (its records of the last packet or flow end, for
 * events) and the application protocol of flow @p f. */
gh_app *gh_stream_inspect_app(const gh_stream_inspect *si);
/* The record of the transaction flow @p f's direction @p dir is at (the
 * oldest one that direction has not completed, else the newest): what
 * Suricata shows on an alert of a stream match or of a UDP flow. -1: none. */
int gh_stream_inspect_record_current(gh_stream_inspect *si, const gh_flow *f, int dir);
uint8_t gh_stream_inspect_alproto(const gh_stream_inspect *si, const gh_flow *f);
/* The flowbits and flowints of flow @p f, which the stream stage does not
 * see (not TCP or UDP): its per-flow state taken for them when the ruleset
 * uses them. NULL when it does not, or when no state is left (counted in
 * no_slot). */
struct gh_flowvars *gh_stream_inspect_flowvars(gh_stream_inspect *si, gh_flow *f);

const gh_stream_inspect_stats *gh_stream_inspect_get_stats(const gh_stream_inspect *si);
const gh_reasm *gh_stream_inspect_reasm(const gh_stream_inspect *si);

#endif
