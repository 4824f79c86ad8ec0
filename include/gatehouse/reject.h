/* gatehouse: telling the sender of a rejected packet, inline. A TCP segment
 * is answered with a RST, anything else with an ICMP (or ICMPv6) destination
 * unreachable, sent through raw sockets, as Linux's REJECT target does. */
#ifndef GATEHOUSE_REJECT_H
#define GATEHOUSE_REJECT_H

#include <stdint.h>

#include "gatehouse/decode.h"

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
