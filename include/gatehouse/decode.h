/* gatehouse: packet decoder. One pass over L2/L3/L4 fills a gh_packet that
 * every later stage (flow, firewall, reassembly, DPI, events) reads without
 * parsing the packet again. The decoder never reads outside the captured
 * bytes; every malformed case is a named anomaly with its own counter. */
#ifndef GATEHOUSE_DECODE_H
#define GATEHOUSE_DECODE_H

#include <stdbool.h>
#include <stdint.h>

#include "gatehouse/common.h"

/* Link types we decode (values are the pcap LINKTYPE_* numbers). */
#define GH_LINK_NULL 0      /* BSD loopback, AF in host byte order */
#define GH_LINK_ETHERNET 1
#define GH_LINK_RAW 101     /* raw IPv4/IPv6 (LINKTYPE_RAW) */
#define GH_LINK_RAW_DLT 12  /* DLT_RAW as some writers store it */
#define GH_LINK_RAW_DLT14 14 /* DLT_RAW on OpenBSD */
#define GH_LINK_CHDLC 104   /* Cisco HDLC: address, control, ethertype */
#define GH_LINK_LOOP 108    /* OpenBSD loopback, AF in network byte order */
#define GH_LINK_SLL 113     /* Linux cooked capture v1 */
#define GH_LINK_IPV4 228
#define GH_LINK_IPV6 229
#define GH_LINK_SLL2 276    /* Linux cooked capture v2 */

/*
 * Decode anomalies: X(ENUM, "layer.name"). The names follow Suricata's
 * decoder events so EVE consumers see familiar strings ("decoder." is
 * prepended in events). Adding one here adds its counter everywhere.
 */
#define GH_ANOMALY_LIST(X)                                                   \
    X(LINK_UNSUPPORTED, "link.unsupported_type")                             \
    X(ETH_PKT_TOO_SMALL, "ethernet.pkt_too_small")                           \
    X(VLAN_HEADER_TOO_SMALL, "vlan.header_too_small")                        \
    X(VLAN_TOO_MANY_LAYERS, "vlan.too_many_layers")                          \
    X(MPLS_HEADER_TOO_SMALL, "mpls.header_too_small")                        \
    X(MPLS_TOO_MANY_LABELS, "mpls.too_many_labels")                          \
    X(MPLS_BAD_PAYLOAD, "mpls.unknown_payload_type")                         \
    X(SLL_PKT_TOO_SMALL, "sll.pkt_too_small")                                \
    X(SLL2_PKT_TOO_SMALL, "sll2.pkt_too_small")                              \
    X(CHDLC_PKT_TOO_SMALL, "chdlc.pkt_too_small")                            \
    X(NULL_PKT_TOO_SMALL, "null.pkt_too_small")                              \
    X(RAW_BAD_VERSION, "raw.invalid_ip_version")                             \
    X(IPV4_PKT_TOO_SMALL, "ipv4.pkt_too_small")                              \
    X(IPV4_WRONG_IP_VER, "ipv4.wrong_ip_version")                            \
    X(IPV4_HLEN_TOO_SMALL, "ipv4.hlen_too_small")                            \
    X(IPV4_IPLEN_SMALLER_THAN_HLEN, "ipv4.iplen_smaller_than_hlen")          \
    X(IPV4_TRUNC_PKT, "ipv4.trunc_pkt")                                      \
    X(IPV4_ZERO_LEN_TSO, "ipv4.zero_len_tso")                                \
    X(IPV4_OPT_INVALID_LEN, "ipv4.opt_invalid_len")                          \
    X(IPV4_OPT_MALFORMED, "ipv4.opt_malformed")                              \
    X(IPV4_FRAG_PKT_TOO_LARGE, "ipv4.frag_pkt_too_large")                    \
    X(IPV4_CSUM_BAD, "ipv4.csum_bad")                                        \
    X(IPV6_PKT_TOO_SMALL, "ipv6.pkt_too_small")                              \
    X(IPV6_WRONG_IP_VER, "ipv6.wrong_ip_version")                            \
    X(IPV6_TRUNC_PKT, "ipv6.trunc_pkt")                                      \
    X(IPV6_TRUNC_EXTHDR, "ipv6.trunc_exthdr")                                \
    X(IPV6_EXTHDR_INVALID_OPTLEN, "ipv6.exthdr_invalid_optlen")              \
    X(IPV6_HOPOPTS_NOT_FIRST, "ipv6.hopopts_not_first")                      \
    X(IPV6_EXTHDR_DUPL_FH, "ipv6.exthdr_dupl_fh")                            \
    X(IPV6_EXTHDR_TOO_MANY, "ipv6.exthdr_too_many")                          \
    X(IPV6_FRAG_INVALID_LENGTH, "ipv6.frag_invalid_length")                  \
    X(IPV6_FRAG_PKT_TOO_LARGE, "ipv6.frag_pkt_too_large")                    \
    X(TCP_PKT_TOO_SMALL, "tcp.pkt_too_small")                                \
    X(TCP_HLEN_TOO_SMALL, "tcp.hlen_too_small")                              \
    X(TCP_HLEN_BEYOND_PKT, "tcp.hlen_beyond_packet")                         \
    X(TCP_OPT_INVALID_LEN, "tcp.opt_invalid_len")                            \
    X(TCP_OPT_DUPLICATE, "tcp.opt_duplicate")                                \
    X(TCP_CSUM_BAD, "tcp.csum_bad")                                          \
    X(UDP_PKT_TOO_SMALL, "udp.pkt_too_small")                                \
    X(UDP_LEN_INVALID, "udp.len_invalid")                                    \
    X(UDP_CSUM_BAD, "udp.csum_bad")                                          \
    X(ICMPV4_PKT_TOO_SMALL, "icmpv4.pkt_too_small")                          \
    X(ICMPV4_CSUM_BAD, "icmpv4.csum_bad")                                    \
    X(ICMPV6_PKT_TOO_SMALL, "icmpv6.pkt_too_small")                          \
    X(ICMPV6_CSUM_BAD, "icmpv6.csum_bad")

typedef enum gh_anomaly {
#define GH_X_ENUM(e, s) GH_ANOM_##e,
    GH_ANOMALY_LIST(GH_X_ENUM)
#undef GH_X_ENUM
    GH_ANOM_COUNT
} gh_anomaly;

/** Name of an anomaly ("ipv4.trunc_pkt"); "unknown" when out of range. */
GH_API const char *gh_anomaly_name(gh_anomaly a);

/* gh_packet.layers: which headers were decoded. */
enum {
    GH_LAYER_ETH = 1u << 0,
    GH_LAYER_VLAN = 1u << 1,
    GH_LAYER_MPLS = 1u << 2,
    GH_LAYER_SLL = 1u << 3,
    GH_LAYER_NULL = 1u << 4,
    GH_LAYER_ARP = 1u << 5,
    GH_LAYER_IPV4 = 1u << 6,
    GH_LAYER_IPV6 = 1u << 7,
    GH_LAYER_TCP = 1u << 8,
    GH_LAYER_UDP = 1u << 9,
    GH_LAYER_ICMPV4 = 1u << 10,
    GH_LAYER_ICMPV6 = 1u << 11,
    GH_LAYER_OTHER_L3 = 1u << 12, /* L2 decoded, payload is not IP/ARP */
    GH_LAYER_OTHER_L4 = 1u << 13, /* IP decoded, L4 protocol not decoded */
    GH_LAYER_PW = 1u << 14,       /* Ethernet pseudowire inside MPLS */
    GH_LAYER_ICMP_INNER = 1u << 15, /* ICMP error quoting an IP header */
};

/* gh_packet.flags */
enum {
    GH_PKT_FRAGMENT = 1u << 0,    /* an IP fragment (any of them) */
    GH_PKT_FIRST_FRAG = 1u << 1,  /* fragment at offset 0 (L4 header present) */
    GH_PKT_MORE_FRAGS = 1u << 2,  /* MF bit set */
    GH_PKT_DONT_FRAG = 1u << 3,   /* IPv4 DF bit */
    GH_PKT_TRUNCATED = 1u << 4,   /* IP length beyond captured bytes */
    GH_PKT_IPV4_OPTS = 1u << 5,
    GH_PKT_TCP_MSS = 1u << 6,     /* TCP options seen (values in tcp) */
    GH_PKT_TCP_WSCALE = 1u << 7,
    GH_PKT_TCP_SACKOK = 1u << 8,
    GH_PKT_TCP_SACK = 1u << 9,
    GH_PKT_TCP_TS = 1u << 10,
    GH_PKT_CSUM_CHECKED = 1u << 11, /* checksums were verified */
    GH_PKT_JUMBO = 1u << 12,       /* IPv6 jumbogram */
    GH_PKT_TSO = 1u << 13,         /* IPv4 length 0: captured before segmentation offload */
};

/* gh_packet.ipv6_exthdrs */
enum {
    GH_V6X_HOPOPTS = 1u << 0,
    GH_V6X_ROUTING = 1u << 1,
    GH_V6X_FRAGMENT = 1u << 2,
    GH_V6X_DSTOPTS = 1u << 3,
    GH_V6X_AH = 1u << 4,
    GH_V6X_ESP = 1u << 5,
    GH_V6X_MOBILITY = 1u << 6,
};

/* TCP header flags as on the wire. */
enum {
    GH_TCP_FIN = 0x01,
    GH_TCP_SYN = 0x02,
    GH_TCP_RST = 0x04,
    GH_TCP_PSH = 0x08,
    GH_TCP_ACK = 0x10,
    GH_TCP_URG = 0x20,
    GH_TCP_ECE = 0x40,
    GH_TCP_CWR = 0x80,
};

/** An IPv4 or IPv6 address; IPv4 uses the first 4 bytes, the rest zero. */
typedef union gh_addr {
    uint8_t b[16];
    uint32_t w[4];
} gh_addr;

/** Five-tuple and L4 summary of the IP header an ICMP error quotes. */
typedef struct gh_icmp_inner {
    gh_addr src, dst;
    uint16_t sport, dport;
    uint8_t ip_ver;
    uint8_t ip_proto;
} gh_icmp_inner;

#define GH_MAX_VLAN 2
#define GH_MAX_MPLS 8
#define GH_MAX_SACK 4

/**
 * The packet descriptor. Pointers and offsets refer to the caller's buffer,
 * which must outlive the descriptor. Offsets are from @c data.
 */
typedef struct gh_packet {
    /* Hot: read by flow lookup, firewall and DPI. */
    gh_addr src, dst;
    uint16_t sport, dport;  /* TCP/UDP ports; ICMP: 0 */
    uint8_t ip_ver;         /* 4, 6, or 0 when no IP header was decoded */
    uint8_t ip_proto;       /* L4 protocol after IPv6 extension headers */
    uint8_t tcp_flags;
    uint8_t ttl;            /* IPv4 TTL or IPv6 hop limit */
    uint32_t layers;        /* GH_LAYER_* */
    uint32_t flags;         /* GH_PKT_* */
    const uint8_t *payload; /* L4 payload (NULL when none) */
    uint32_t payload_len;
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id, icmp_seq; /* echo request/reply */
    uint32_t tcp_seq, tcp_ack;
    uint16_t tcp_win;

    /* Offsets, lengths and the rest of the L3/L4 fields. */
    uint32_t l3_off, l4_off, payload_off;
    uint32_t l3_len;        /* IP length used (total length, trimmed to capture) */
    uint32_t l4_len;        /* bytes from L4 header to end of IP packet */
    uint16_t ip_hlen;       /* IPv4 header or IPv6 header + ext headers */
    uint16_t ip_id16;       /* IPv4 identification */
    uint32_t frag_id;       /* IPv6 fragment identification (or IPv4 id) */
    uint16_t frag_off;      /* fragment offset in bytes */
    uint8_t ip_tos;         /* IPv4 TOS / IPv6 traffic class */
    uint8_t tcp_hlen;       /* TCP header length in bytes */
    uint16_t tcp_mss;
    uint8_t tcp_wscale;
    uint8_t tcp_sack_count;
    uint32_t tcp_tsval, tcp_tsecr;
    uint32_t tcp_sack[GH_MAX_SACK][2]; /* left, right edges */
    uint16_t udp_len;
    uint16_t l2_ethertype;  /* innermost ethertype (0 when none) */
    uint16_t vlan_id[GH_MAX_VLAN];
    uint8_t vlan_count;
    uint8_t mpls_count;
    uint16_t ipv6_exthdrs;  /* GH_V6X_* bits: extension headers seen */
    gh_icmp_inner icmp_inner; /* valid when layers has GH_LAYER_ICMP_INNER */

    /* Anomalies found while decoding. */
    uint64_t anomalies;     /* bit GH_ANOM_* */
    uint32_t linktype;
    const uint8_t *data;
    uint32_t caplen;
} gh_packet;

/** Decoder options. */
typedef struct gh_decode_opts {
    bool verify_checksums; /* -k none turns this off */
} gh_decode_opts;

/**
 * Decode @p caplen captured bytes at @p data of link type @p linktype into
 * @p pkt (fully overwritten). Never reads outside [data, data + caplen).
 * Returns the number of anomalies found (0 for a clean packet); the packet
 * is still usable up to the last layer that decoded.
 */
GH_API int gh_decode(gh_packet *pkt, uint32_t linktype, const uint8_t *data,
                     uint32_t caplen, const gh_decode_opts *opts);

/**
 * The two addresses that key the flow of a frame, read before decoding it
 * (to pick a worker): the IP source and destination, or for an ICMP error
 * that is not a fragment those of the packet it quotes (the flow table
 * counts it in that flow). The link layers are walked by gh_decode's own
 * code; ICMP, and IPv6 followed by anything but TCP or UDP, are decoded
 * whole. Returns the IP version of the addresses, or 0 (both zero) when
 * the frame carries no IP header.
 */
GH_API int gh_decode_flow_addrs(uint32_t linktype, const uint8_t *data, uint32_t caplen,
                                gh_addr *src, gh_addr *dst);

/** True when @p pkt has anomaly @p a. */
static inline bool gh_packet_has_anomaly(const gh_packet *pkt, gh_anomaly a)
{
    return (pkt->anomalies >> a) & 1u;
}

/** Format @p a (of IP version @p ver) into @p buf ("192.0.2.1", "2001:db8::1"). */
GH_API const char *gh_addr_str(const gh_addr *a, int ver, char *buf, size_t len);

/** Internet checksum over @p len bytes folded into @p sum (host order partial). */
GH_API uint32_t gh_csum_partial(const uint8_t *p, size_t len, uint32_t sum);
/** Fold a partial sum into the 16-bit one's-complement checksum. */
GH_API uint16_t gh_csum_fold(uint32_t sum);

#endif
