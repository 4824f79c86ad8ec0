/* gatehouse: telling the sender of a rejected packet, inline. A TCP segment
 * is answered with a RST, anything else with an ICMP (or ICMPv6) destination
 * unreachable, sent through raw sockets, as Linux's REJECT target does. */
#ifndef GATEHOUSE_REJECT_H
#define GATEHOUSE_REJECT_H

#include <stddef.h>
#include <stdint.h>

#include "gatehouse/decode.h"

/** Largest answer: an IPv6 header, ICMPv6 header and 1232 quoted bytes. */
#define GH_REJECT_MAX 1280

/**
 * Build the answer to decoded packet @p p into @p out (IP header first):
 * a TCP RST for TCP (if the segment had ACK, seq = its ack; else seq 0 and
 * ACK of the bytes it occupied), else an ICMP / ICMPv6 unreachable quoting
 * it. Returns its length, or 0 when @p p must not be answered (a RST, an
 * ICMP error, a later fragment, multicast, not IP).
 */
GH_API size_t gh_reject_build(const gh_packet *p, uint8_t out[GH_REJECT_MAX]);

typedef struct gh_reject gh_reject;

/** Counters of a rejecter. */
typedef struct gh_reject_stats {
    uint64_t tcp_rst;      /**< RSTs sent */
    uint64_t icmp;         /**< ICMP / ICMPv6 unreachables sent */
    uint64_t not_answered; /**< packets that must not be answered (a RST, an ICMP error,
                                a later fragment, multicast) or could not be parsed */
    uint64_t send_errors;  /**< sendto failures */
} gh_reject_stats;

/**
 * Open the raw sockets (needs CAP_NET_RAW). Packets we send carry socket
 * mark @p mark (0: none) so the user's NFQUEUE rule can leave them out.
 * NULL and @p err when no raw socket can be opened.
 */
GH_API gh_reject *gh_reject_new(uint32_t mark, gh_error *err);

/**
 * Answer the sender of decoded packet @p p: a TCP RST for TCP, else an ICMP
 * unreachable (port unreachable for UDP, administratively prohibited
 * otherwise). Never answers a RST, an ICMP error, a non-first fragment or a
 * multicast/broadcast destination. Returns 0, or GH_E_IO when sending
 * failed; no allocation.
 */
GH_API int gh_reject_send(gh_reject *r, const gh_packet *p);

/** The rejecter's counters. */
GH_API const gh_reject_stats *gh_reject_get_stats(const gh_reject *r);

/** Close; NULL is fine. */
GH_API void gh_reject_free(gh_reject *r);

#endif
