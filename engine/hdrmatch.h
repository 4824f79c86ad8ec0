/* Header keyword matchers shared by the firewall and signature tiers:
 * flow, flags, fragbits, ttl, dsize, itype, icode, ip_proto. Values are
 * parsed once at compile time into small structs; evaluation reads only the
 * packet descriptor and the packet's flow state. Internal to libgatehouse. */
#ifndef GATEHOUSE_HDRMATCH_H
#define GATEHOUSE_HDRMATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gatehouse/decode.h"

/* Suricata's integer comparison modes (rules/integer-keywords). Ranges are
 * exclusive: 1-4 matches 2 and 3. */
typedef enum gh_uint_mode {
    GH_UINT_EQ,
    GH_UINT_NE,
    GH_UINT_LT,
    GH_UINT_LE,
    GH_UINT_GT,
    GH_UINT_GE,
    GH_UINT_RANGE,   /* a < v < b */
    GH_UINT_NRANGE,  /* v <= a || v >= b */
    GH_UINT_MASK_EQ, /* (v & a) == b */
    GH_UINT_MASK_NE, /* (v & a) != b */
} gh_uint_mode;

typedef struct gh_uint_match {
    uint8_t mode;
    uint64_t a, b;
} gh_uint_match;

/* Bit-set keywords (flags, fragbits): Suricata's modifiers. */
typedef enum gh_bits_mode {
    GH_BITS_EXACT, /* exactly these bits (outside the ignore mask) */
    GH_BITS_PLUS,  /* '+': these bits and maybe others */
    GH_BITS_ANY,   /* '*': any of these bits */
    GH_BITS_NOT,   /* '!': none of these bits */
} gh_bits_mode;

typedef struct gh_bits_match {
    uint8_t mode;
    uint8_t bits;
    uint8_t ignore;
} gh_bits_match;

/* flow keyword flags */
enum {
    GH_FLOWKW_ESTABLISHED = 1u << 0,
    GH_FLOWKW_NOT_ESTABLISHED = 1u << 1,
    GH_FLOWKW_TO_SERVER = 1u << 2,
    GH_FLOWKW_TO_CLIENT = 1u << 3,
    GH_FLOWKW_STATELESS = 1u << 4,
    GH_FLOWKW_ONLY_STREAM = 1u << 5,
    GH_FLOWKW_NO_STREAM = 1u << 6,
    GH_FLOWKW_ONLY_FRAG = 1u << 7,
    GH_FLOWKW_NO_FRAG = 1u << 8,
};

/* Which matchers a gh_hdr_match holds. */
enum {
    GH_HM_FLOW = 1u << 0,
    GH_HM_FLAGS = 1u << 1,
    GH_HM_FRAGBITS = 1u << 2,
    GH_HM_TTL = 1u << 3,
    GH_HM_DSIZE = 1u << 4,
    GH_HM_ITYPE = 1u << 5,
    GH_HM_ICODE = 1u << 6,
    GH_HM_IP_PROTO = 1u << 7,
};

/* fragbits bits, in the order of the IPv4 flags field */
enum { GH_FRAG_M = 1u << 0, GH_FRAG_D = 1u << 1, GH_FRAG_R = 1u << 2 };

#define GH_HM_MAX_REPEAT 6

typedef struct gh_hdr_match {
    uint32_t present; /* GH_HM_* */
    uint16_t flow;    /* GH_FLOWKW_* */
    gh_bits_match flags, fragbits;
    gh_uint_match ttl, dsize, itype, icode, ip_proto;
    /* ttl, itype, icode and ip_proto may be repeated ("ttl:>5; ttl:<10;"):
     * the instances after the first, all of which must hold */
    uint8_t n_more;
    uint8_t more_kind[GH_HM_MAX_REPEAT]; /* GH_HM_TTL, ... */
    gh_uint_match more[GH_HM_MAX_REPEAT];
} gh_hdr_match;

/* What the flow table knows about the packet being matched. */
typedef struct gh_pkt_state {
    bool has_flow;
    bool established;
    bool to_server;
    bool iponly_done; /* IP-only signatures were evaluated on an earlier packet of this
                         flow direction (Suricata matches them once per direction) */
    uint8_t alproto;  /* the flow's application protocol (GH_ALPROTO_*, 0: not known) */
    /* stateful keywords (detect/state.h): the flow's variables and the
     * worker's xbits table (NULL: none kept), the packet's time in seconds */
    struct gh_flowvars *fv;
    struct gh_xbits *xb;
    uint32_t now_s;
    bool tcp_ssn;       /* a TCP session is tracked (SYN seen): ssize is valid */
    uint32_t ssize[2];  /* stream_size per side (client, server): next seq - ISN */
} gh_pkt_state;

/* Parse an integer keyword value with at most @p max. 0, or -1 with @p err. */
int gh_uint_match_parse(const char *s, uint64_t max, gh_uint_match *m, char *err, size_t errlen);
bool gh_uint_match_eval(const gh_uint_match *m, uint64_t v);

/*
 * Add option @p name with @p value (may be NULL) to @p m. Returns 1 when the
 * option is a header keyword and was added, 0 when it is not a header
 * keyword, -1 on a bad value or a repeated keyword (message in @p err).
 */
int gh_hdr_match_add(gh_hdr_match *m, const char *name, const char *value, char *err,
                     size_t errlen);

/* True when every matcher in @p m accepts the packet, or with @p stream the
 * reassembled stream data @p p carries (which flow:only_stream accepts). */
bool gh_hdr_match_eval(const gh_hdr_match *m, const gh_packet *p, const gh_pkt_state *st,
                       bool stream);

#endif
