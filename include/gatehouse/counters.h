/* gatehouse: per-worker counters, summed for the summary and stats events. */
#ifndef GATEHOUSE_COUNTERS_H
#define GATEHOUSE_COUNTERS_H

#include <stdio.h>

#include "gatehouse/decode.h"
#include "gatehouse/policy.h"

#define GH_MAX_LINKTYPES 8

/** Why a packet was dropped, for "drop" events and counters. */
#define GH_DROP_REASON_LIST(X)                                               \
    X(FW_RULE, "firewall rule")                                              \
    X(FW_POLICY, "firewall policy")                                          \
    X(SIGNATURE, "signature")                                                \
    X(FLOW_DROPPED, "flow drop")                                             \
    X(EXCEPTION, "exception policy")

typedef enum gh_drop_reason {
#define GH_X_ENUM(e, s) GH_DROP_##e,
    GH_DROP_REASON_LIST(GH_X_ENUM)
#undef GH_X_ENUM
    GH_DROP_REASON_COUNT
} gh_drop_reason;

/** "firewall rule", ... */
GH_API const char *gh_drop_reason_name(gh_drop_reason r);


/*
 * Protocol counters: X(field, "name"). Each counts packets in which that
 * layer was decoded.
 */
#define GH_PROTO_COUNTER_LIST(X)                                             \
    X(ethernet, "ethernet")                                                  \
    X(vlan, "vlan")                                                          \
    X(vlan_qinq, "vlan_qinq")                                                \
    X(mpls, "mpls")                                                          \
    X(pseudowire, "pseudowire")                                              \
    X(sll, "sll")                                                            \
    X(null, "null")                                                          \
    X(arp, "arp")                                                            \
    X(other_l3, "unknown_ethertype")                                         \
    X(ipv4, "ipv4")                                                          \
    X(ipv6, "ipv6")                                                          \
    X(ipv4_frag, "ipv4_frag")                                                \
    X(ipv6_frag, "ipv6_frag")                                                \
    X(tcp, "tcp")                                                            \
    X(udp, "udp")                                                            \
    X(icmpv4, "icmpv4")                                                      \
    X(icmpv6, "icmpv6")                                                      \
    X(other_l4, "other_ip_proto")                                            \
    X(icmp_quoting_tcp, "icmp_quoting_tcp")                                  \
    X(icmp_quoting_udp, "icmp_quoting_udp")

typedef struct gh_counters {
    uint64_t pkts;
    uint64_t bytes;          /* captured bytes */
    uint64_t invalid;        /* packets with at least one anomaly */
    uint64_t max_pkt_size;
#define GH_X_FIELD(f, s) uint64_t f;
    GH_PROTO_COUNTER_LIST(GH_X_FIELD)
#undef GH_X_FIELD
    uint64_t anomalies[GH_ANOM_COUNT];
    uint64_t accepted, dropped, rejected;
    uint64_t drop_reason[GH_DROP_REASON_COUNT];
    uint64_t fw_lookups;     /* packets classified by the firewall table */
    uint64_t fw_fastpath;    /* packets of decided flows that skipped it */
    uint64_t fw_non_ip;      /* packets outside the rule language (not IP): accepted */
    uint64_t flow_pool_full; /* packets whose flow could not be tracked */
    uint64_t dpi_inspected;  /* packets the signature tier inspected */
    uint64_t dpi_passed;     /* packets a pass signature let through */
    uint64_t dpi_truncated;  /* packets not inspected: IP length beyond the captured bytes
                                (Suricata's decoder makes them invalid, no detection) */
    uint64_t alerts;         /* alert events (matching alert/drop/reject signatures whose
                                thresholds and suppressions let them alert) */
    uint64_t threshold_expired; /* threshold entries whose window had ended, reused */
    uint64_t threshold_evicted; /* live threshold entries evicted: the table was full */
    uint64_t tagged;         /* packets a tag keyword's tag marked (Suricata's PKT_HAS_TAG) */
    uint64_t tag_refused;    /* tags not kept: their flow or host had the most it keeps */
    uint64_t tag_evicted;    /* flows' or hosts' live tags evicted: the table was full */
    uint64_t frag_held;      /* fragments held for reassembly (accepted: the datagram's
                                verdict falls on the fragment that completes it) */
    uint64_t frag_reassembled; /* datagrams reassembled and inspected whole */
    uint64_t frag_conflicts; /* datagrams whose overlapping fragments disagreed */
    uint64_t frag_errors;    /* fragments the defragmenter refused (inspected alone) */
    /* TCP stream inspection (set at the end of a run from the worker's state) */
    uint64_t stream_bytes;     /* stream bytes matched on */
    uint64_t stream_alone;     /* TCP packets inspected alone (before establishment, no
                                  stream state to spare, or left out by reassembly limits) */
    uint64_t stream_conflicts; /* retransmitted or overlapping bytes that differed */
    uint64_t stream_rescans;   /* stream-inspected TCP payloads the packet side scanned
                                  again (not all of them new in-order bytes) */
    uint64_t stream_gaps;      /* streams closed with bytes missing */
    /* application layer (set at the end of a run from the worker's state) */
    uint64_t app_txs;          /* transactions logged */
    uint64_t app_anomalies;    /* parser anomalies (a full transaction ring, a head past
                                  header_limit, ...), with or without anomaly events */
    uint64_t app_no_state;     /* flows detected but not parsed: the parser pool was full */
    uint64_t vars_refused;     /* flowbits, flowint and xbits sets refused: no room left */
    uint64_t xbits_evicted;    /* hosts or host pairs evicted from the full xbits table */
    /* packets a failure policy was applied to, per condition and policy */
    uint64_t exc[GH_EXC_COND_COUNT][GH_EXC_POLICY_COUNT];
    uint64_t flows_ended[4]; /* per gh_flow_end_reason (timeout, forced, shutdown, tcp_reuse) */
    /* packets per link type, first GH_MAX_LINKTYPES distinct types */
    uint32_t linktype[GH_MAX_LINKTYPES];
    uint64_t linktype_pkts[GH_MAX_LINKTYPES];
    uint64_t linktype_other;
} gh_counters;

/** Count one decoded packet. */
GH_API void gh_counters_add_packet(gh_counters *c, const gh_packet *p, uint32_t caplen);
/** Add @p src into @p dst (summing workers). */
GH_API void gh_counters_merge(gh_counters *dst, const gh_counters *src);
/** Name of a link type ("ethernet", "sll2", ...), or NULL when unknown. */
GH_API const char *gh_linktype_name(uint32_t linktype);
/**
 * Print the human summary: packets, bytes, link types, protocols, anomalies
 * by name, verdicts and throughput over @p elapsed_s seconds.
 */
GH_API void gh_counters_print_summary(FILE *out, const gh_counters *c, double elapsed_s);

#endif
