/* Packet decoder: L2 -> L3 -> L4 in one pass into a gh_packet.
 *
 * Every header read is preceded by a bounds check against the end of the
 * captured bytes (or of the IP packet, once its length is known); each check
 * says which malformed input it catches and records a named anomaly. A fatal
 * anomaly stops decoding at that layer; the layers above stay unmarked. */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include "gatehouse/decode.h"

#define ETH_HLEN 14
#define VLAN_HLEN 4
#define MPLS_HLEN 4
#define PW_CW_LEN 4
#define SLL_HLEN 16
#define SLL2_HLEN 20
#define NULL_HLEN 4
#define IPV4_HLEN 20
#define IPV6_HLEN 40
#define TCP_HLEN 20
#define UDP_HLEN 8
#define ICMP_HLEN 8
#define MAX_L2_STEPS 16    /* bounds tag/label/pseudowire nesting */
#define MAX_IPV6_EXTHDRS 8

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP 0x0806
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_MPLS_UC 0x8847
#define ETHERTYPE_MPLS_MC 0x8848

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_ESP_ 50
#define IPPROTO_AH_ 51
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_NONE_ 59
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MH_ 135

static const char *const anomaly_names[GH_ANOM_COUNT] = {
#define GH_X_NAME(e, s) s,
    GH_ANOMALY_LIST(GH_X_NAME)
#undef GH_X_NAME
};

const char *gh_anomaly_name(gh_anomaly a)
{
    if ((unsigned)a >= GH_ANOM_COUNT)
        return "unknown";
    return anomaly_names[a];
}

typedef struct dctx {
    gh_packet *p;
    const uint8_t *d;
    uint32_t len;  /* captured bytes */
    bool csum;     /* verify checksums */
    const uint8_t *final_dst; /* IPv6: routing header's final destination */
    bool l2_only;  /* stop at the IP header: record its version and offset */
} dctx;

#define ANOM(c, a) ((c)->p->anomalies |= (UINT64_C(1) << GH_ANOM_##a))

static inline uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void decode_ethertype(dctx *c, uint16_t type, uint32_t off, int steps);
static void decode_ipv4(dctx *c, uint32_t off);
static void decode_ipv6(dctx *c, uint32_t off);

/* ---- L4 ---------------------------------------------------------------- */

/* Pseudo-header sum for TCP/UDP/ICMPv6 checksums. */
static uint32_t pseudo_sum(const dctx *c, uint8_t proto, uint32_t l4len)
{
    const gh_packet *p = c->p;
    uint32_t s;
    if (p->ip_ver == 4) {
        s = gh_csum_partial(p->src.b, 4, 0);
        s = gh_csum_partial(p->dst.b, 4, s);
    } else {
        /* RFC 8200 8.1: with segments left, the sender checksummed the
         * final destination named in the routing header */
        s = gh_csum_partial(p->src.b, 16, 0);
        s = gh_csum_partial(c->final_dst ? c->final_dst : p->dst.b, 16, s);
    }
    s += proto;
    s += l4len & 0xffff;
    s += l4len >> 16;
    return s;
}

/* L4 checksums are only verifiable on a whole, captured, unfragmented packet. */
static bool l4_csum_checkable(const dctx *c)
{
    return c->csum && !(c->p->flags & (GH_PKT_TRUNCATED | GH_PKT_FRAGMENT | GH_PKT_TSO));
}

static void tcp_options(dctx *c, const uint8_t *o, uint32_t n)
{
    gh_packet *p = c->p;
    uint32_t i = 0;
    while (i < n) {
        uint8_t kind = o[i];
        if (kind == 0) /* end of option list */
            break;
        if (kind == 1) { /* NOP */
            i++;
            continue;
        }
        /* catches: a kind byte with no length byte, a length below 2 (which
         * would loop forever) and an option running past the header */
        if (i + 1 >= n || o[i + 1] < 2 || i + o[i + 1] > n) {
            ANOM(c, TCP_OPT_INVALID_LEN);
            return;
        }
        uint8_t olen = o[i + 1];
        const uint8_t *v = o + i + 2;
        uint32_t seen;
        switch (kind) {
        case 2:
            seen = GH_PKT_TCP_MSS;
            if (olen != 4)
                goto badlen;
            if (p->flags & seen)
                ANOM(c, TCP_OPT_DUPLICATE);
            p->tcp_mss = rd16(v);
            p->flags |= seen;
            break;
        case 3:
            seen = GH_PKT_TCP_WSCALE;
            if (olen != 3)
                goto badlen;
            if (p->flags & seen)
                ANOM(c, TCP_OPT_DUPLICATE);
            p->tcp_wscale = v[0];
            p->flags |= seen;
            break;
        case 4:
            seen = GH_PKT_TCP_SACKOK;
            if (olen != 2)
                goto badlen;
            if (p->flags & seen)
                ANOM(c, TCP_OPT_DUPLICATE);
            p->flags |= seen;
            break;
        case 5:
            if (olen < 10 || (olen - 2) % 8 != 0)
                goto badlen;
            p->flags |= GH_PKT_TCP_SACK;
            for (uint32_t k = 0; k < (uint32_t)(olen - 2) / 8 && p->tcp_sack_count < GH_MAX_SACK; k++) {
                p->tcp_sack[p->tcp_sack_count][0] = rd32(v + 8 * k);
                p->tcp_sack[p->tcp_sack_count][1] = rd32(v + 8 * k + 4);
                p->tcp_sack_count++;
            }
            break;
        case 8:
            seen = GH_PKT_TCP_TS;
            if (olen != 10)
                goto badlen;
            if (p->flags & seen)
                ANOM(c, TCP_OPT_DUPLICATE);
            p->tcp_tsval = rd32(v);
            p->tcp_tsecr = rd32(v + 4);
            p->flags |= seen;
            break;
        default:
            break;
        }
        i += olen;
    }
    return;
badlen:
    ANOM(c, TCP_OPT_INVALID_LEN);
}

static void decode_tcp(dctx *c, uint32_t off, uint32_t end)
{
    gh_packet *p = c->p;
    /* catches: segment shorter than the fixed header */
    if (end - off < TCP_HLEN) {
        ANOM(c, TCP_PKT_TOO_SMALL);
        return;
    }
    const uint8_t *t = c->d + off;
    uint32_t hlen = (uint32_t)(t[12] >> 4) * 4;
    /* catches: data offset below the fixed header size */
    if (hlen < TCP_HLEN) {
        ANOM(c, TCP_HLEN_TOO_SMALL);
        return;
    }
    /* catches: data offset pointing past the end of the segment */
    if (hlen > end - off) {
        ANOM(c, TCP_HLEN_BEYOND_PKT);
        return;
    }
    p->layers |= GH_LAYER_TCP;
    p->sport = rd16(t);
    p->dport = rd16(t + 2);
    p->tcp_seq = rd32(t + 4);
    p->tcp_ack = rd32(t + 8);
    p->tcp_flags = t[13];
    p->tcp_win = rd16(t + 14);
    p->tcp_hlen = (uint8_t)hlen;
    if (hlen > TCP_HLEN)
        tcp_options(c, t + TCP_HLEN, hlen - TCP_HLEN);
    p->payload_off = off + hlen;
    p->payload_len = end - off - hlen;
    p->payload = p->payload_len ? c->d + p->payload_off : NULL;
    if (l4_csum_checkable(c)) {
        uint32_t s = gh_csum_partial(t, end - off, pseudo_sum(c, IPPROTO_TCP_, end - off));
        if (gh_csum_fold(s) != 0)
            ANOM(c, TCP_CSUM_BAD);
    }
}

static void decode_udp(dctx *c, uint32_t off, uint32_t end)
{
    gh_packet *p = c->p;
    /* catches: datagram shorter than the UDP header */
    if (end - off < UDP_HLEN) {
        ANOM(c, UDP_PKT_TOO_SMALL);
        return;
    }
    const uint8_t *u = c->d + off;
    uint32_t avail = end - off;
    uint32_t ulen = rd16(u + 4);
    bool partial = (p->flags & (GH_PKT_TRUNCATED | GH_PKT_FRAGMENT | GH_PKT_TSO)) != 0;
    /* catches: a length field below the header size, or one that disagrees
     * with the IP payload length (only knowable for a whole datagram) */
    if (ulen < UDP_HLEN || (!partial && ulen != avail) || (partial && ulen < avail)) {
        ANOM(c, UDP_LEN_INVALID);
        if (ulen < UDP_HLEN)
            return;
    }
    p->layers |= GH_LAYER_UDP;
    p->sport = rd16(u);
    p->dport = rd16(u + 2);
    p->udp_len = (uint16_t)ulen;
    uint32_t used = ulen < avail ? ulen : avail;
    p->payload_off = off + UDP_HLEN;
    p->payload_len = used - UDP_HLEN;
    p->payload = p->payload_len ? c->d + p->payload_off : NULL;
    uint16_t ck = rd16(u + 6);
    /* IPv4 may omit the UDP checksum (0); IPv6 may not */
    if (l4_csum_checkable(c) && ulen == avail && (ck != 0 || p->ip_ver == 6)) {
        uint32_t s = gh_csum_partial(u, ulen, pseudo_sum(c, IPPROTO_UDP_, ulen));
        if (ck == 0 || gh_csum_fold(s) != 0)
            ANOM(c, UDP_CSUM_BAD);
    }
}

/* The IP header (and first L4 bytes) an ICMP error quotes. Best effort: a
 * short quote is normal (RFC 792 needs only 8 bytes), so no anomaly. */
static void icmp_inner(dctx *c, uint32_t off, uint32_t end)
{
    gh_packet *p = c->p;
    gh_icmp_inner *in = &p->icmp_inner;
    const uint8_t *q = c->d + off;
    uint32_t avail = end - off;
    uint32_t l4;
    if (avail < 1)
        return;
    if ((q[0] >> 4) == 4) {
        if (avail < IPV4_HLEN || (q[0] & 0x0f) < 5)
            return;
        in->ip_ver = 4;
        in->ip_proto = q[9];
        memcpy(in->src.b, q + 12, 4);
        memcpy(in->dst.b, q + 16, 4);
        l4 = (uint32_t)(q[0] & 0x0f) * 4;
        /* ports only in the first fragment */
        if (rd16(q + 6) & 0x1fff)
            l4 = avail;
    } else if ((q[0] >> 4) == 6) {
        if (avail < IPV6_HLEN)
            return;
        in->ip_ver = 6;
        in->ip_proto = q[6];
        memcpy(in->src.b, q + 8, 16);
        memcpy(in->dst.b, q + 24, 16);
        l4 = IPV6_HLEN;
    } else {
        return;
    }
    p->layers |= GH_LAYER_ICMP_INNER;
    if ((in->ip_proto == IPPROTO_TCP_ || in->ip_proto == IPPROTO_UDP_) && avail >= l4 + 4) {
        in->sport = rd16(q + l4);
        in->dport = rd16(q + l4 + 2);
    }
}

static void decode_icmp(dctx *c, uint32_t off, uint32_t end, bool v6)
{
    gh_packet *p = c->p;
    /* catches: message shorter than the 8-byte ICMP header */
    if (end - off < ICMP_HLEN) {
        if (v6)
            ANOM(c, ICMPV6_PKT_TOO_SMALL);
        else
            ANOM(c, ICMPV4_PKT_TOO_SMALL);
        return;
    }
    const uint8_t *m = c->d + off;
    p->layers |= v6 ? GH_LAYER_ICMPV6 : GH_LAYER_ICMPV4;
    p->icmp_type = m[0];
    p->icmp_code = m[1];
    bool echo, error;
    if (v6) {
        echo = m[0] == 128 || m[0] == 129;
        error = m[0] >= 1 && m[0] <= 4;
    } else {
        echo = m[0] == 0 || m[0] == 8 || m[0] == 13 || m[0] == 14 || m[0] == 15 ||
               m[0] == 16 || m[0] == 17 || m[0] == 18;
        error = m[0] == 3 || m[0] == 4 || m[0] == 5 || m[0] == 11 || m[0] == 12;
    }
    if (echo) {
        p->icmp_id = rd16(m + 4);
        p->icmp_seq = rd16(m + 6);
    }
    p->payload_off = off + ICMP_HLEN;
    p->payload_len = end - off - ICMP_HLEN;
    p->payload = p->payload_len ? c->d + p->payload_off : NULL;
    if (error && !(p->flags & GH_PKT_FRAGMENT))
        icmp_inner(c, off + ICMP_HLEN, end);
    if (l4_csum_checkable(c)) {
        uint32_t s = v6 ? pseudo_sum(c, IPPROTO_ICMPV6_, end - off) : 0;
        s = gh_csum_partial(m, end - off, s);
        if (gh_csum_fold(s) != 0) {
            if (v6)
                ANOM(c, ICMPV6_CSUM_BAD);
            else
                ANOM(c, ICMPV4_CSUM_BAD);
        }
    }
}

static void decode_l4(dctx *c, uint8_t proto, uint32_t off, uint32_t end)
{
    gh_packet *p = c->p;
    p->l4_off = off;
    p->l4_len = end - off;
    switch (proto) {
    case IPPROTO_TCP_:
        decode_tcp(c, off, end);
        break;
    case IPPROTO_UDP_:
        decode_udp(c, off, end);
        break;
    case IPPROTO_ICMP_:
        decode_icmp(c, off, end, false);
        break;
    case IPPROTO_ICMPV6_:
        decode_icmp(c, off, end, true);
        break;
    default:
        p->layers |= GH_LAYER_OTHER_L4;
        p->payload_off = off;
        p->payload_len = end - off;
        p->payload = p->payload_len ? c->d + off : NULL;
        break;
    }
}

/* Non-first fragments carry no L4 header: the payload is fragment data. */
static void fragment_payload(dctx *c, uint32_t off, uint32_t end)
{
    gh_packet *p = c->p;
    p->l4_off = off;
    p->l4_len = end - off;
    p->payload_off = off;
    p->payload_len = end - off;
    p->payload = p->payload_len ? c->d + off : NULL;
}

/* ---- L3 ---------------------------------------------------------------- */

static void ipv4_options(dctx *c, const uint8_t *o, uint32_t n)
{
    uint32_t i = 0;
    c->p->flags |= GH_PKT_IPV4_OPTS;
    while (i < n) {
        uint8_t type = o[i];
        if (type == 0) /* end of options */
            return;
        if (type == 1) { /* NOP */
            i++;
            continue;
        }
        /* catches: a type byte with no room for its length byte */
        if (i + 1 >= n) {
            ANOM(c, IPV4_OPT_MALFORMED);
            return;
        }
        /* catches: a length below 2, which cannot cover type and length */
        if (o[i + 1] < 2) {
            ANOM(c, IPV4_OPT_INVALID_LEN);
            return;
        }
        /* catches: an option running past the header */
        if (i + o[i + 1] > n) {
            ANOM(c, IPV4_OPT_MALFORMED);
            return;
        }
        i += o[i + 1];
    }
}

static void decode_ipv4(dctx *c, uint32_t off)
{
    gh_packet *p = c->p;
    if (c->l2_only) {
        p->ip_ver = 4;
        p->l3_off = off;
        return;
    }
    uint32_t avail = c->len - off;
    const uint8_t *h = c->d + off;
    /* catches: fewer captured bytes than the fixed header */
    if (avail < IPV4_HLEN) {
        ANOM(c, IPV4_PKT_TOO_SMALL);
        return;
    }
    /* catches: an IPv4 ethertype/AF carrying another IP version */
    if ((h[0] >> 4) != 4) {
        ANOM(c, IPV4_WRONG_IP_VER);
        return;
    }
    uint32_t hlen = (uint32_t)(h[0] & 0x0f) * 4;
    /* catches: IHL below 5 words */
    if (hlen < IPV4_HLEN) {
        ANOM(c, IPV4_HLEN_TOO_SMALL);
        return;
    }
    /* catches: options claimed by IHL but not captured */
    if (hlen > avail) {
        ANOM(c, IPV4_PKT_TOO_SMALL);
        return;
    }
    uint32_t total = rd16(h + 2);
    bool tso = false;
    /* Total length 0 is what a host captures before TCP segmentation offload
     * fills it in (Wireshark presumes the same): use the captured length,
     * count the anomaly, and skip checksums the NIC has not written yet. */
    if (total == 0) {
        ANOM(c, IPV4_ZERO_LEN_TSO);
        p->flags |= GH_PKT_TSO;
        tso = true;
        total = avail;
    }
    /* catches: a total length that cannot hold the header */
    if (total < hlen) {
        ANOM(c, IPV4_IPLEN_SMALLER_THAN_HLEN);
        return;
    }
    uint32_t end = off + total;
    /* catches: a packet longer than what was captured (snaplen or a cut
     * file); decoding goes on over the captured part */
    if (total > avail) {
        ANOM(c, IPV4_TRUNC_PKT);
        p->flags |= GH_PKT_TRUNCATED;
        end = c->len;
    }
    /* total < avail: Ethernet padding or trailer, trimmed by using end */
    p->layers |= GH_LAYER_IPV4;
    p->ip_ver = 4;
    p->l3_off = off;
    p->l3_len = end - off;
    p->ip_hlen = (uint16_t)hlen;
    p->ip_tos = h[1];
    p->ip_id16 = rd16(h + 4);
    p->frag_id = p->ip_id16;
    p->ttl = h[8];
    p->ip_proto = h[9];
    memcpy(p->src.b, h + 12, 4);
    memcpy(p->dst.b, h + 16, 4);
    if (hlen > IPV4_HLEN)
        ipv4_options(c, h + IPV4_HLEN, hlen - IPV4_HLEN);
    if (c->csum && !tso) {
        p->flags |= GH_PKT_CSUM_CHECKED;
        if (gh_csum_fold(gh_csum_partial(h, hlen, 0)) != 0)
            ANOM(c, IPV4_CSUM_BAD);
    }
    uint16_t ff = rd16(h + 6);
    uint32_t foff = (uint32_t)(ff & 0x1fff) * 8;
    if (ff & 0x4000)
        p->flags |= GH_PKT_DONT_FRAG;
    if ((ff & 0x2000) || foff) {
        p->flags |= GH_PKT_FRAGMENT;
        if (ff & 0x2000)
            p->flags |= GH_PKT_MORE_FRAGS;
        p->frag_off = (uint16_t)foff;
        /* catches: a fragment that would end beyond the 64 KiB IP limit */
        if (foff + (total - hlen) > 65535)
            ANOM(c, IPV4_FRAG_PKT_TOO_LARGE);
        if (foff) {
            fragment_payload(c, off + hlen, end);
            return;
        }
        p->flags |= GH_PKT_FIRST_FRAG;
    }
    decode_l4(c, p->ip_proto, off + hlen, end);
}

/* Walk hop-by-hop / destination options TLVs; returns false on a bad one. */
static bool ipv6_tlv_options(dctx *c, const uint8_t *o, uint32_t n, uint32_t *jumbo)
{
    uint32_t i = 0;
    while (i < n) {
        if (o[i] == 0) { /* Pad1 */
            i++;
            continue;
        }
        /* catches: an option whose length byte or value runs past the header */
        if (i + 1 >= n || i + 2 + o[i + 1] > n) {
            ANOM(c, IPV6_EXTHDR_INVALID_OPTLEN);
            return false;
        }
        if (o[i] == 0xc2 && o[i + 1] == 4 && jumbo)
            *jumbo = rd32(o + i + 2);
        i += 2u + o[i + 1];
    }
    return true;
}

static void decode_ipv6(dctx *c, uint32_t off)
{
    gh_packet *p = c->p;
    if (c->l2_only) {
        p->ip_ver = 6;
        p->l3_off = off;
        return;
    }
    uint32_t avail = c->len - off;
    const uint8_t *h = c->d + off;
    /* catches: fewer captured bytes than the fixed header */
    if (avail < IPV6_HLEN) {
        ANOM(c, IPV6_PKT_TOO_SMALL);
        return;
    }
    /* catches: an IPv6 ethertype/AF carrying another IP version */
    if ((h[0] >> 4) != 6) {
        ANOM(c, IPV6_WRONG_IP_VER);
        return;
    }
    uint32_t plen = rd16(h + 4);
    uint32_t end = off + IPV6_HLEN + plen;
    p->layers |= GH_LAYER_IPV6;
    p->ip_ver = 6;
    p->l3_off = off;
    p->ip_tos = (uint8_t)(((h[0] & 0x0f) << 4) | (h[1] >> 4));
    p->ttl = h[7];
    memcpy(p->src.b, h + 8, 16);
    memcpy(p->dst.b, h + 24, 16);
    /* plen 0 with a hop-by-hop header may be a jumbogram; resolved below */
    bool maybe_jumbo = plen == 0 && h[6] == IPPROTO_HOPOPTS_;
    if (maybe_jumbo)
        end = c->len;
    /* catches: a payload length beyond the captured bytes */
    if (!maybe_jumbo && IPV6_HLEN + plen > avail) {
        ANOM(c, IPV6_TRUNC_PKT);
        p->flags |= GH_PKT_TRUNCATED;
        end = c->len;
    }

    uint8_t nh = h[6];
    uint32_t cur = off + IPV6_HLEN;
    int count = 0;
    bool seen_frag = false;
    for (;;) {
        if (nh != IPPROTO_HOPOPTS_ && nh != IPPROTO_ROUTING_ && nh != IPPROTO_FRAGMENT_ &&
            nh != IPPROTO_DSTOPTS_ && nh != IPPROTO_AH_ && nh != IPPROTO_MH_ && nh != IPPROTO_ESP_)
            break;
        /* catches: an endless or absurd extension header chain */
        if (++count > MAX_IPV6_EXTHDRS) {
            ANOM(c, IPV6_EXTHDR_TOO_MANY);
            goto stop;
        }
        if (nh == IPPROTO_ESP_) {
            /* encrypted from here on: nothing more to decode */
            p->ipv6_exthdrs |= GH_V6X_ESP;
            break;
        }
        const uint8_t *x = c->d + cur;
        /* catches: an extension header cut short by the packet end */
        if (end - cur < 8) {
            ANOM(c, IPV6_TRUNC_EXTHDR);
            goto stop;
        }
        uint32_t xlen;
        if (nh == IPPROTO_FRAGMENT_)
            xlen = 8;
        else if (nh == IPPROTO_AH_)
            xlen = ((uint32_t)x[1] + 2) * 4;
        else
            xlen = ((uint32_t)x[1] + 1) * 8;
        /* catches: a header length running past the packet end */
        if (xlen > end - cur) {
            ANOM(c, IPV6_TRUNC_EXTHDR);
            goto stop;
        }
        switch (nh) {
        case IPPROTO_HOPOPTS_: {
            /* catches: hop-by-hop anywhere but right after the IPv6 header */
            if (count != 1)
                ANOM(c, IPV6_HOPOPTS_NOT_FIRST);
            p->ipv6_exthdrs |= GH_V6X_HOPOPTS;
            uint32_t jumbo = 0;
            if (!ipv6_tlv_options(c, x + 2, xlen - 2, &jumbo))
                goto stop;
            if (maybe_jumbo && count == 1) {
                /* catches: a jumbo length that RFC 2675 forbids (<= 65535) */
                if (jumbo && jumbo <= 65535) {
                    ANOM(c, IPV6_EXTHDR_INVALID_OPTLEN);
                    goto stop;
                }
                if (jumbo) {
                    p->flags |= GH_PKT_JUMBO;
                    if ((uint64_t)IPV6_HLEN + jumbo > avail) {
                        ANOM(c, IPV6_TRUNC_PKT);
                        p->flags |= GH_PKT_TRUNCATED;
                    } else {
                        end = off + IPV6_HLEN + jumbo;
                    }
                } else {
                    /* a plain zero payload length: nothing beyond the header */
                    end = off + IPV6_HLEN;
                    ANOM(c, IPV6_TRUNC_EXTHDR);
                    goto stop;
                }
            }
            break;
        }
        case IPPROTO_DSTOPTS_:
            p->ipv6_exthdrs |= GH_V6X_DSTOPTS;
            if (!ipv6_tlv_options(c, x + 2, xlen - 2, NULL))
                goto stop;
            break;
        case IPPROTO_ROUTING_: {
            p->ipv6_exthdrs |= GH_V6X_ROUTING;
            uint8_t type = x[2], left = x[3];
            uint32_t naddr = (xlen - 8) / 16;
            if (left && naddr) {
                if (type == 0) /* RH0: the last address is the final hop */
                    c->final_dst = x + 8 + 16 * (naddr - 1);
                else if (type == 2 || type == 4) /* home address; SRH segment[0] */
                    c->final_dst = x + 8;
            }
            break;
        }
        case IPPROTO_AH_:
            p->ipv6_exthdrs |= GH_V6X_AH;
            break;
        case IPPROTO_MH_:
            p->ipv6_exthdrs |= GH_V6X_MOBILITY;
            break;
        case IPPROTO_FRAGMENT_: {
            /* catches: a second fragment header in one packet */
            if (seen_frag) {
                ANOM(c, IPV6_EXTHDR_DUPL_FH);
                goto stop;
            }
            seen_frag = true;
            p->ipv6_exthdrs |= GH_V6X_FRAGMENT;
            uint16_t fo = rd16(x + 2);
            uint32_t foff = fo & 0xfff8u;
            bool more = fo & 1u;
            uint32_t fdata = end - cur - 8;
            p->frag_id = rd32(x + 4);
            p->frag_off = (uint16_t)foff;
            /* an atomic fragment (offset 0, no M) is a whole packet */
            if (foff || more) {
                p->flags |= GH_PKT_FRAGMENT;
                if (more)
                    p->flags |= GH_PKT_MORE_FRAGS;
                /* catches: non-last fragment data not a multiple of 8 */
                if (more && (fdata % 8) != 0 && !(p->flags & GH_PKT_TRUNCATED))
                    ANOM(c, IPV6_FRAG_INVALID_LENGTH);
                /* catches: reassembly would exceed 65535 bytes */
                if (foff + fdata > 65535)
                    ANOM(c, IPV6_FRAG_PKT_TOO_LARGE);
                if (foff) {
                    p->ip_proto = x[0];
                    p->ip_hlen = (uint16_t)(cur + 8 - off);
                    p->l3_len = end - off;
                    fragment_payload(c, cur + 8, end);
                    return;
                }
                p->flags |= GH_PKT_FIRST_FRAG;
            }
            break;
        }
        }
        nh = x[0];
        cur += xlen;
    }
    p->ip_proto = nh;
    p->ip_hlen = (uint16_t)(cur - off);
    p->l3_len = end - off;
    if (nh == IPPROTO_NONE_ || nh == IPPROTO_ESP_) {
        p->layers |= GH_LAYER_OTHER_L4;
        p->l4_off = cur;
        p->l4_len = end - cur;
        return;
    }
    decode_l4(c, nh, cur, end);
    return;
stop:
    p->ip_proto = nh;
    p->ip_hlen = (uint16_t)(cur - off);
    p->l3_len = end - off;
}

/* ---- L2 ---------------------------------------------------------------- */

static void decode_mpls(dctx *c, uint32_t off, int steps)
{
    gh_packet *p = c->p;
    uint32_t label = 0;
    for (;;) {
        /* catches: a label stack cut short */
        if (c->len - off < MPLS_HLEN) {
            ANOM(c, MPLS_HEADER_TOO_SMALL);
            return;
        }
        /* catches: an absurdly deep (or endless) label stack */
        if (p->mpls_count >= GH_MAX_MPLS) {
            ANOM(c, MPLS_TOO_MANY_LABELS);
            return;
        }
        uint32_t e = rd32(c->d + off);
        label = e >> 12;
        p->mpls_count++;
        off += MPLS_HLEN;
        if (e & 0x100) /* bottom of stack */
            break;
    }
    p->layers |= GH_LAYER_MPLS;
    /* catches: nothing after the bottom label */
    if (c->len - off < 1) {
        ANOM(c, MPLS_HEADER_TOO_SMALL);
        return;
    }
    /* explicit-null labels name the payload; otherwise look at the nibble */
    uint8_t nib = c->d[off] >> 4;
    if (label == 0 || (label != 2 && nib == 4)) {
        decode_ipv4(c, off);
    } else if (label == 2 || nib == 6) {
        decode_ipv6(c, off);
    } else if (nib == 0) {
        /* Ethernet pseudowire with a control word (RFC 4448) */
        /* catches: a control word cut short (a short inner frame is the
         * Ethernet decoder's to report) */
        if (c->len - off < PW_CW_LEN) {
            ANOM(c, MPLS_HEADER_TOO_SMALL);
            return;
        }
        p->layers |= GH_LAYER_PW;
        off += PW_CW_LEN;
        if (c->len - off < ETH_HLEN) {
            ANOM(c, ETH_PKT_TOO_SMALL);
            return;
        }
        decode_ethertype(c, rd16(c->d + off + 12), off + ETH_HLEN, steps + 1);
    } else {
        ANOM(c, MPLS_BAD_PAYLOAD);
    }
}

static void decode_ethertype(dctx *c, uint16_t type, uint32_t off, int steps)
{
    gh_packet *p = c->p;
    while (steps < MAX_L2_STEPS) {
        steps++;
        p->l2_ethertype = type;
        switch (type) {
        case ETHERTYPE_IPV4:
            decode_ipv4(c, off);
            return;
        case ETHERTYPE_IPV6:
            decode_ipv6(c, off);
            return;
        case ETHERTYPE_ARP:
            p->layers |= GH_LAYER_ARP;
            return;
        case ETHERTYPE_VLAN:
        case ETHERTYPE_QINQ:
        case ETHERTYPE_QINQ_OLD:
            /* catches: a tag cut short */
            if (c->len - off < VLAN_HLEN) {
                ANOM(c, VLAN_HEADER_TOO_SMALL);
                return;
            }
            /* catches: more tags than 802.1Q/802.1ad allow */
            if (p->vlan_count >= GH_MAX_VLAN) {
                ANOM(c, VLAN_TOO_MANY_LAYERS);
                return;
            }
            p->layers |= GH_LAYER_VLAN;
            p->vlan_id[p->vlan_count++] = rd16(c->d + off) & 0x0fff;
            type = rd16(c->d + off + 2);
            off += VLAN_HLEN;
            continue;
        case ETHERTYPE_MPLS_UC:
        case ETHERTYPE_MPLS_MC:
            decode_mpls(c, off, steps);
            return;
        default:
            p->layers |= GH_LAYER_OTHER_L3;
            return;
        }
    }
    /* nesting through pseudowires beyond any real deployment */
    ANOM(c, MPLS_TOO_MANY_LABELS);
}

static void decode_ethernet(dctx *c, uint32_t off)
{
    /* catches: a frame shorter than the Ethernet header */
    if (c->len - off < ETH_HLEN) {
        ANOM(c, ETH_PKT_TOO_SMALL);
        return;
    }
    c->p->layers |= GH_LAYER_ETH;
    uint16_t type = rd16(c->d + off + 12);
    if (type < 0x0600) { /* 802.3 length field: LLC/SNAP, not IP */
        c->p->layers |= GH_LAYER_OTHER_L3;
        return;
    }
    decode_ethertype(c, type, off + ETH_HLEN, 0);
}

static void decode_raw(dctx *c, uint32_t off)
{
    /* catches: an empty packet or one that is neither IPv4 nor IPv6 */
    if (c->len - off < 1) {
        ANOM(c, RAW_BAD_VERSION);
        return;
    }
    uint8_t v = c->d[off] >> 4;
    if (v == 4)
        decode_ipv4(c, off);
    else if (v == 6)
        decode_ipv6(c, off);
    else
        ANOM(c, RAW_BAD_VERSION);
}

static void decode_af(dctx *c, uint32_t af, uint32_t off)
{
    switch (af) {
    case 2: /* AF_INET everywhere */
        decode_ipv4(c, off);
        break;
    case 10: /* AF_INET6: Linux */
    case 24: /* NetBSD, OpenBSD */
    case 28: /* FreeBSD */
    case 30: /* macOS */
        decode_ipv6(c, off);
        break;
    default:
        c->p->layers |= GH_LAYER_OTHER_L3;
        break;
    }
}

static void decode_link(dctx *c, uint32_t linktype)
{
    switch (linktype) {
    case GH_LINK_ETHERNET:
        decode_ethernet(c, 0);
        break;
    case GH_LINK_RAW:
    case GH_LINK_RAW_DLT:
    case GH_LINK_RAW_DLT14:
        decode_raw(c, 0);
        break;
    case GH_LINK_IPV4:
        decode_ipv4(c, 0);
        break;
    case GH_LINK_IPV6:
        decode_ipv6(c, 0);
        break;
    case GH_LINK_SLL:
        /* catches: a frame shorter than the cooked header */
        if (c->len < SLL_HLEN) {
            ANOM(c, SLL_PKT_TOO_SMALL);
            break;
        }
        c->p->layers |= GH_LAYER_SLL;
        decode_ethertype(c, rd16(c->d + 14), SLL_HLEN, 0);
        break;
    case GH_LINK_SLL2:
        /* catches: a frame shorter than the cooked v2 header */
        if (c->len < SLL2_HLEN) {
            ANOM(c, SLL2_PKT_TOO_SMALL);
            break;
        }
        c->p->layers |= GH_LAYER_SLL;
        decode_ethertype(c, rd16(c->d), SLL2_HLEN, 0);
        break;
    case GH_LINK_CHDLC:
        /* catches: a frame shorter than the 4-byte HDLC header */
        if (c->len < 4) {
            ANOM(c, CHDLC_PKT_TOO_SMALL);
            break;
        }
        decode_ethertype(c, rd16(c->d + 2), 4, 0);
        break;
    case GH_LINK_NULL:
    case GH_LINK_LOOP: {
        /* catches: a frame shorter than the 4-byte family header */
        if (c->len < NULL_HLEN) {
            ANOM(c, NULL_PKT_TOO_SMALL);
            break;
        }
        c->p->layers |= GH_LAYER_NULL;
        uint32_t af = rd32(c->d);
        /* DLT_NULL stores the family in the writer's byte order */
        if (linktype == GH_LINK_NULL && af > 0xffff)
            af = __builtin_bswap32(af);
        decode_af(c, af, NULL_HLEN);
        break;
    }
    default:
        ANOM(c, LINK_UNSUPPORTED);
        break;
    }
}

int gh_decode(gh_packet *pkt, uint32_t linktype, const uint8_t *data, uint32_t caplen,
              const gh_decode_opts *opts)
{
    memset(pkt, 0, sizeof(*pkt));
    pkt->data = data;
    pkt->caplen = caplen;
    pkt->linktype = linktype;
    dctx c = {.p = pkt, .d = data, .len = caplen, .csum = opts && opts->verify_checksums};
    if (!data)
        c.len = 0;

    decode_link(&c, linktype);
    return __builtin_popcountll(pkt->anomalies);
}

int gh_decode_flow_addrs(uint32_t linktype, const uint8_t *data, uint32_t caplen, gh_addr *src,
                         gh_addr *dst)
{
    gh_packet p;
    memset(&p, 0, sizeof(p));
    dctx c = {.p = &p, .d = data, .len = data ? caplen : 0, .l2_only = true};
    decode_link(&c, linktype);
    const uint8_t *h = data + p.l3_off;
    uint32_t avail = c.len - p.l3_off;
    memset(src, 0, sizeof(*src));
    memset(dst, 0, sizeof(*dst));
    /* The common case from the fixed header alone: the decoder takes the
     * same bytes as the addresses, and nothing but an ICMP error is keyed
     * by other ones. ICMP and IPv6 extension headers (where an ICMPv6
     * error may hide) go through the whole decoder, so both agree. */
    if (p.ip_ver == 4 && avail >= IPV4_HLEN && (h[0] >> 4) == 4 && h[9] != IPPROTO_ICMP_) {
        memcpy(src->b, h + 12, 4);
        memcpy(dst->b, h + 16, 4);
        return 4;
    }
    if (p.ip_ver == 6 && avail >= IPV6_HLEN && (h[0] >> 4) == 6 &&
        (h[6] == IPPROTO_TCP_ || h[6] == IPPROTO_UDP_)) {
        memcpy(src->b, h + 8, 16);
        memcpy(dst->b, h + 24, 16);
        return 6;
    }
    if (!p.ip_ver)
        return 0;
    gh_decode(&p, linktype, data, caplen, NULL);
    if ((p.layers & GH_LAYER_ICMP_INNER) && !(p.flags & GH_PKT_FRAGMENT)) {
        *src = p.icmp_inner.src;
        *dst = p.icmp_inner.dst;
        return p.icmp_inner.ip_ver;
    }
    *src = p.src;
    *dst = p.dst;
    return p.ip_ver;
}

const char *gh_addr_str(const gh_addr *a, int ver, char *buf, size_t len)
{
    if (!len)
        return buf;
    if (ver == 4 || ver == 6) {
        if (inet_ntop(ver == 4 ? AF_INET : AF_INET6, a->b, buf, (socklen_t)len))
            return buf;
    }
    snprintf(buf, len, "%s", "");
    return buf;
}
