/* Reject answers built from the decoded descriptor into a fixed buffer and
 * sent through raw sockets (IPPROTO_RAW: we write the IP header). The RST
 * follows RFC 793's reset generation (and Linux's nf_reject): if the
 * offending segment had ACK, seq = its ack; else seq 0 and ACK of what it
 * occupied. ICMP errors quote the packet as RFC 792 / RFC 4443 ask. */
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gatehouse/reject.h"

#define V4_QUOTE 548u   /* 576 - IPv4 header - ICMP header */
#define V6_QUOTE 1232u  /* 1280 - IPv6 header - ICMPv6 header */

struct gh_reject {
    int fd4, fd6;
    gh_reject_stats st;
    uint8_t buf[GH_REJECT_MAX];
};

gh_reject *gh_reject_new(uint32_t mark, gh_error *err)
{
    gh_reject *r = calloc(1, sizeof(*r));
    if (!r) {
        gh_error_set(err, GH_E_NOMEM, "out of memory");
        return NULL;
    }
    r->fd4 = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    r->fd6 = socket(AF_INET6, SOCK_RAW, IPPROTO_RAW);
    if (r->fd4 < 0 && r->fd6 < 0) {
        gh_error_set(err, GH_E_IO, "raw socket for reject: %s", strerror(errno));
        free(r);
        return NULL;
    }
    if (mark) {
        int fds[2] = {r->fd4, r->fd6};
        for (int i = 0; i < 2; i++) {
            if (fds[i] >= 0 && setsockopt(fds[i], SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0) {
                gh_error_set(err, GH_E_IO, "SO_MARK on the reject socket: %s", strerror(errno));
                gh_reject_free(r);
                return NULL;
            }
        }
    }
    return r;
}

void gh_reject_free(gh_reject *r)
{
    if (!r)
        return;
    if (r->fd4 >= 0)
        close(r->fd4);
    if (r->fd6 >= 0)
        close(r->fd6);
    free(r);
}

const gh_reject_stats *gh_reject_get_stats(const gh_reject *r)
{
    return &r->st;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)(v >> 16));
    put16(p + 2, (uint16_t)v);
}

/* IPv4 header of @p total bytes from @p src to @p dst. */
static void ipv4_header(uint8_t *h, const gh_addr *src, const gh_addr *dst, uint8_t proto,
                        uint16_t total)
{
    memset(h, 0, 20);
    h[0] = 0x45;
    put16(h + 2, total);
    h[6] = 0x40; /* DF */
    h[8] = 64;
    h[9] = proto;
    memcpy(h + 12, src->b, 4);
    memcpy(h + 16, dst->b, 4);
    put16(h + 10, gh_csum_fold(gh_csum_partial(h, 20, 0)));
}

static void ipv6_header(uint8_t *h, const gh_addr *src, const gh_addr *dst, uint8_t proto,
                        uint16_t plen)
{
    memset(h, 0, 40);
    h[0] = 0x60;
    put16(h + 4, plen);
    h[6] = proto;
    h[7] = 64;
    memcpy(h + 8, src->b, 16);
    memcpy(h + 24, dst->b, 16);
}

/* Pseudo-header sum for an L4 checksum. */
static uint32_t pseudo_sum(int ver, const gh_addr *src, const gh_addr *dst, uint8_t proto,
                           uint32_t len)
{
    uint8_t ph[40];
    size_t alen = ver == 4 ? 4 : 16;
    memcpy(ph, src->b, alen);
    memcpy(ph + alen, dst->b, alen);
    uint32_t s = gh_csum_partial(ph, 2 * alen, 0);
    return s + proto + (len >> 16) + (len & 0xffffu);
}

static int send_packet(gh_reject *r, int ver, const gh_addr *dst, size_t len)
{
    ssize_t n;
    if (ver == 4) {
        struct sockaddr_in sa = {.sin_family = AF_INET};
        memcpy(&sa.sin_addr, dst->b, 4);
        n = r->fd4 < 0 ? -1 : sendto(r->fd4, r->buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
    } else {
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6};
        memcpy(&sa.sin6_addr, dst->b, 16);
        n = r->fd6 < 0 ? -1 : sendto(r->fd6, r->buf, len, 0, (struct sockaddr *)&sa, sizeof(sa));
    }
    if (n < 0) {
        r->st.send_errors++;
        return GH_E_IO;
    }
    return GH_OK;
}

static bool multicast(const gh_packet *p)
{
    if (p->ip_ver == 4)
        return p->dst.b[0] >= 224 || (p->dst.w[0] == 0xffffffffu);
    return p->dst.b[0] == 0xff;
}

static size_t build_rst(const gh_packet *p, uint8_t *out)
{
    int ver = p->ip_ver;
    size_t ihl = ver == 4 ? 20 : 40;
    uint8_t *t = out + ihl;
    memset(t, 0, 20);
    put16(t, p->dport);
    put16(t + 2, p->sport);
    if (p->tcp_flags & GH_TCP_ACK) {
        put32(t + 4, p->tcp_ack);
        t[13] = GH_TCP_RST;
    } else {
        uint32_t occupied = p->payload_len + !!(p->tcp_flags & GH_TCP_SYN) +
                            !!(p->tcp_flags & GH_TCP_FIN);
        put32(t + 8, p->tcp_seq + occupied);
        t[13] = GH_TCP_RST | GH_TCP_ACK;
    }
    t[12] = 5 << 4;
    if (ver == 4)
        ipv4_header(out, &p->dst, &p->src, IPPROTO_TCP, (uint16_t)(ihl + 20));
    else
        ipv6_header(out, &p->dst, &p->src, IPPROTO_TCP, 20);
    uint32_t s = pseudo_sum(ver, &p->dst, &p->src, IPPROTO_TCP, 20);
    put16(t + 16, gh_csum_fold(gh_csum_partial(t, 20, s)));
    return ihl + 20;
}

static size_t build_unreach(const gh_packet *p, uint8_t *out)
{
    int ver = p->ip_ver;
    size_t ihl = ver == 4 ? 20 : 40;
    uint8_t *ic = out + ihl;
    /* quote the offending packet from its IP header */
    size_t avail = p->caplen > p->l3_off ? p->caplen - p->l3_off : 0;
    if (avail > p->l3_len)
        avail = p->l3_len;
    size_t quote = avail < (ver == 4 ? V4_QUOTE : V6_QUOTE) ? avail : (ver == 4 ? V4_QUOTE
                                                                             : V6_QUOTE);
    memset(ic, 0, 8);
    bool udp = p->layers & GH_LAYER_UDP;
    if (ver == 4) {
        ic[0] = 3;                 /* destination unreachable */
        ic[1] = udp ? 3 : 13;      /* port unreachable : administratively prohibited */
    } else {
        ic[0] = 1;
        ic[1] = udp ? 4 : 1;
    }
    memcpy(ic + 8, p->data + p->l3_off, quote);
    size_t ilen = 8 + quote;
    uint8_t proto = ver == 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
    if (ver == 4) {
        ipv4_header(out, &p->dst, &p->src, proto, (uint16_t)(ihl + ilen));
        put16(ic + 2, gh_csum_fold(gh_csum_partial(ic, ilen, 0)));
    } else {
        ipv6_header(out, &p->dst, &p->src, proto, (uint16_t)ilen);
        uint32_t s = pseudo_sum(6, &p->dst, &p->src, proto, (uint32_t)ilen);
        put16(ic + 2, gh_csum_fold(gh_csum_partial(ic, ilen, s)));
    }
    return ihl + ilen;
}

size_t gh_reject_build(const gh_packet *p, uint8_t out[GH_REJECT_MAX])
{
    /* answers to answers would loop; later fragments have no ports to quote */
    bool no = !p->ip_ver || multicast(p) ||
              ((p->flags & GH_PKT_FRAGMENT) && !(p->flags & GH_PKT_FIRST_FRAG)) ||
              ((p->layers & GH_LAYER_TCP) && (p->tcp_flags & GH_TCP_RST)) ||
              ((p->layers & GH_LAYER_ICMPV4) && p->icmp_type != 8 && p->icmp_type != 13 &&
               p->icmp_type != 15 && p->icmp_type != 17) ||
              ((p->layers & GH_LAYER_ICMPV6) && p->icmp_type < 128);
    if (no)
        return 0;
    return (p->layers & GH_LAYER_TCP) ? build_rst(p, out) : build_unreach(p, out);
}

int gh_reject_send(gh_reject *r, const gh_packet *p)
{
    size_t len = gh_reject_build(p, r->buf);
    if (!len) {
        r->st.not_answered++;
        return GH_OK;
    }
    int rc = send_packet(r, p->ip_ver, &p->src, len);
    if (rc == GH_OK) {
        if (p->layers & GH_LAYER_TCP)
            r->st.tcp_rst++;
        else
            r->st.icmp++;
    }
    return rc;
}
