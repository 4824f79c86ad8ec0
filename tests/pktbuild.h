/* pktbuild: build packets by hand for decoder tests.
 *
 * Append headers outermost first, then call pb_finalize(), which walks the
 * layers innermost first and fills in what depends on what follows: IPv4
 * total length and header checksum, IPv6 payload length, UDP length, MPLS
 * bottom-of-stack bits and the TCP/UDP/ICMP/ICMPv6 checksums (with the
 * IPv4/IPv6 pseudo-header). Ethertype, IP protocol and IPv6 next-header
 * fields are filled in as the next layer is appended.
 *
 * Every append returns the header's offset in buf so a test can break any
 * field afterwards with pb_put8/16/32. Only libc is used: the checksum here
 * is an independent reference for the decoder's own. */
#ifndef GH_TESTS_PKTBUILD_H
#define GH_TESTS_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/dpi.h"

#define PB_BUF_SIZE 2048
#define PB_MAX_LAYERS 48

enum pb_kind {
    PB_ETH,
    PB_VLAN,
    PB_MPLS,
    PB_PWCW,
    PB_SLL,
    PB_SLL2,
    PB_NULL,
    PB_IPV4,
    PB_IPV6,
    PB_V6EXT,
    PB_TCP,
    PB_UDP,
    PB_ICMP,
    PB_ICMP6,
};

typedef struct pb_layer {
    enum pb_kind kind;
    uint32_t off;
    int32_t len_field; /* IPv4 total / IPv6 payload / UDP length to write; -1 computes it */
} pb_layer;

typedef struct pb {
    uint8_t buf[PB_BUF_SIZE];
    uint32_t len;
    pb_layer layer[PB_MAX_LAYERS];
    int nlayers;
    int32_t type_off;  /* pending 16-bit ethertype field, -1 when none */
    int32_t proto_off; /* pending IP protocol / next header byte, -1 when none */
} pb;

/* Option bytes for IPv4 and TCP headers (padded with EOL to 4 when used). */
typedef struct pb_opts {
    uint8_t b[60];
    size_t len;
} pb_opts;

typedef struct pb_ip4 {
    const char *src, *dst; /* dotted quad */
    uint8_t ttl;           /* 0 means 64 */
    uint8_t tos;
    uint16_t id;
    uint16_t frag_off; /* in bytes, a multiple of 8 */
    bool df, mf;
    const pb_opts *opts; /* NULL for none */
} pb_ip4;

typedef struct pb_ip6 {
    const char *src, *dst;
    uint8_t hlim; /* 0 means 64 */
    uint8_t tclass;
    uint32_t flow;
} pb_ip6;

typedef struct pb_tcph {
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t win;
    const pb_opts *opts; /* NULL for none */
} pb_tcph;

void pb_init(pb *b);

/* Link layers. */
uint32_t pb_eth(pb *b);                             /* dst/src MACs fixed, type pending */
uint32_t pb_vlan(pb *b, uint16_t tpid, uint16_t vid); /* tag with TPID 0x8100 or 0x88a8 */
uint32_t pb_mpls(pb *b, uint32_t label, uint8_t ttl); /* S bit set by finalize */
uint32_t pb_pw_cw(pb *b);                           /* 4-byte pseudowire control word (zero) */
uint32_t pb_sll(pb *b);                             /* 16 bytes, protocol at 14 */
uint32_t pb_sll2(pb *b);                            /* 20 bytes, protocol at 0 */
uint32_t pb_null(pb *b, uint32_t af);               /* BSD loopback: AF in host order */
uint32_t pb_loop(pb *b, uint32_t af);               /* OpenBSD loop: AF in network order */

/* Network layers. */
uint32_t pb_ipv4(pb *b, const pb_ip4 *h);
uint32_t pb_ipv6(pb *b, const pb_ip6 *h);
/* IPv6 extension headers; @p len is the whole header (multiple of 8, >= 8),
 * filled with a PadN option. */
uint32_t pb_v6_hopopts(pb *b, size_t len);
uint32_t pb_v6_dstopts(pb *b, size_t len);
/* Routing header of @p type carrying @p naddr addresses 2001:db8:ff::1.. */
uint32_t pb_v6_routing(pb *b, uint8_t type, uint8_t segleft, int naddr);
uint32_t pb_v6_frag(pb *b, uint16_t off_bytes, bool mf, uint32_t id);

/* Transport layers. */
uint32_t pb_tcp(pb *b, const pb_tcph *h);
uint32_t pb_udp(pb *b, uint16_t sport, uint16_t dport);
/* A whole Ethernet + IPv4 (IPv6 when @p src has a ':') + UDP datagram with
 * payload @p data, finalized; returns its length. */
uint32_t pb_udp_packet(pb *b, const char *src, const char *dst, uint16_t sport, uint16_t dport,
                       const void *data, size_t n);
/* ICMP header: type, code, checksum, then @p rest (id/seq, unused, mtu...). */
uint32_t pb_icmp(pb *b, uint8_t type, uint8_t code, uint32_t rest);
uint32_t pb_icmp6(pb *b, uint8_t type, uint8_t code, uint32_t rest);

/* Payload. */
uint32_t pb_data(pb *b, const void *p, size_t n);
uint32_t pb_fill(pb *b, uint8_t v, size_t n);

/* Option builders. */
void pb_opt_nop(pb_opts *o);
void pb_opt_mss(pb_opts *o, uint16_t mss);
void pb_opt_wscale(pb_opts *o, uint8_t ws);
void pb_opt_sackok(pb_opts *o);
void pb_opt_sack(pb_opts *o, const uint32_t (*blocks)[2], int n);
void pb_opt_ts(pb_opts *o, uint32_t val, uint32_t ecr);
void pb_opt_raw(pb_opts *o, const void *p, size_t n);

/* Write @p v into the length field of the layer at @p off (IPv4 total
 * length, IPv6 payload length, UDP length) instead of the computed one. */
void pb_set_len_field(pb *b, uint32_t off, uint16_t v);

/* Fix lengths, bottom-of-stack bits and checksums. Call once, after the
 * last append and before pb_pad_to/pb_corrupt_csum/pb_truncate. */
void pb_finalize(pb *b);

/* After finalize: zero-pad to @p len bytes (Ethernet minimum frame). */
void pb_pad_to(pb *b, uint32_t len);
/* After finalize: make the checksum of the layer at @p off wrong (never
 * 0x0000, which means "none" for UDP over IPv4). */
void pb_corrupt_csum(pb *b, uint32_t off);
/* Recompute the IPv4 header checksum at @p off after editing the header. */
void pb_ipv4_fix_csum(pb *b, uint32_t off);
/* Cut the packet to @p len bytes (a short capture). */
void pb_truncate(pb *b, uint32_t len);

void pb_put8(pb *b, uint32_t off, uint8_t v);
void pb_put16(pb *b, uint32_t off, uint16_t v); /* network order */
void pb_put32(pb *b, uint32_t off, uint32_t v); /* network order */
uint16_t pb_get16(const pb *b, uint32_t off);

/* Signature rules from text, checked and compiled as the engine does: a
 * rule with an error is skipped (check errors counted, compile errors kept). */
typedef struct pb_rules {
    gh_dpi *d;
    gh_dpi_scratch *s;
    gh_rule_error *errs; /* compile errors */
    size_t nerrs;
    gh_dpi_load_report rep;
    size_t check_errors; /* errors gh_rules_check found (printed) */
} pb_rules;

/* Load @p text (file name "t.rules") with variables @p vars (NULL: none);
 * aborts when parsing, checking or compiling fails as a whole. */
void pb_rules_load(pb_rules *L, const char *text, const gh_rule_vars *vars);
/* The same with compile options @p opt (NULL: defaults). */
void pb_rules_load_ex(pb_rules *L, const char *text, const gh_rule_vars *vars,
                      const gh_dpi_options *opt);
void pb_rules_free(pb_rules *L);

/* A growing text (transcripts of what a parser reported). */
typedef struct pb_text {
    char *p;
    size_t len, cap;
} pb_text;

/* Append printf-style; aborts when out of memory. Free t->p when done. */
void pb_tput(pb_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Randomized tests: a seed from environment variable @p env (decimal), else
 * from the clock; printed so a failure can be replayed. */
uint64_t pb_rng_seed(const char *env);
/* xorshift64*: the next value of @p state (nonzero) */
uint64_t pb_rng(uint64_t *state);

#endif
