/* pktbuild: see pktbuild.h. Misuse (overflow, bad option sizes) aborts:
 * a test helper that silently builds the wrong packet hides test bugs. */
#include "pktbuild.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pb_fail(const char *what)
{
    fprintf(stderr, "pktbuild: %s\n", what);
    abort();
}

void pb_put8(pb *b, uint32_t off, uint8_t v)
{
    if (off >= PB_BUF_SIZE)
        pb_fail("put8 out of range");
    b->buf[off] = v;
}

void pb_put16(pb *b, uint32_t off, uint16_t v)
{
    if (off + 2 > PB_BUF_SIZE)
        pb_fail("put16 out of range");
    b->buf[off] = (uint8_t)(v >> 8);
    b->buf[off + 1] = (uint8_t)v;
}

void pb_put32(pb *b, uint32_t off, uint32_t v)
{
    pb_put16(b, off, (uint16_t)(v >> 16));
    pb_put16(b, off + 2, (uint16_t)v);
}

uint16_t pb_get16(const pb *b, uint32_t off)
{
    return (uint16_t)(b->buf[off] << 8 | b->buf[off + 1]);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

void pb_init(pb *b)
{
    memset(b, 0, sizeof(*b));
    b->type_off = -1;
    b->proto_off = -1;
}

/* Reserve @p n zeroed bytes at the end and return their offset. */
static uint32_t grow(pb *b, size_t n)
{
    uint32_t off = b->len;

    if (n > PB_BUF_SIZE - b->len)
        pb_fail("packet larger than buffer");
    b->len += (uint32_t)n;
    return off;
}

static uint32_t add_layer(pb *b, enum pb_kind kind, size_t n)
{
    uint32_t off = grow(b, n);

    if (b->nlayers == PB_MAX_LAYERS)
        pb_fail("too many layers");
    b->layer[b->nlayers].kind = kind;
    b->layer[b->nlayers].off = off;
    b->layer[b->nlayers].len_field = -1;
    b->nlayers++;
    return off;
}

/* Fill the pending ethertype field (Ethernet, VLAN, SLL, SLL2), if any. */
static void set_type(pb *b, uint16_t type)
{
    if (b->type_off >= 0)
        pb_put16(b, (uint32_t)b->type_off, type);
    b->type_off = -1;
}

/* Fill the pending IP protocol / IPv6 next-header byte, if any. */
static void set_proto(pb *b, uint8_t proto)
{
    if (b->proto_off >= 0)
        pb_put8(b, (uint32_t)b->proto_off, proto);
    b->proto_off = -1;
}

static void put_addr(pb *b, uint32_t off, int af, const char *s)
{
    if (inet_pton(af, s, b->buf + off) != 1)
        pb_fail("bad address");
}

uint32_t pb_eth(pb *b)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1};
    uint32_t off = add_layer(b, PB_ETH, 14);

    memcpy(b->buf + off, macs, sizeof(macs));
    b->type_off = (int32_t)off + 12;
    return off;
}

uint32_t pb_vlan(pb *b, uint16_t tpid, uint16_t vid)
{
    uint32_t off;

    set_type(b, tpid);
    off = add_layer(b, PB_VLAN, 4);
    pb_put16(b, off, vid & 0x0fff);
    b->type_off = (int32_t)off + 2;
    return off;
}

uint32_t pb_mpls(pb *b, uint32_t label, uint8_t ttl)
{
    uint32_t off;

    set_type(b, 0x8847);
    off = add_layer(b, PB_MPLS, 4);
    pb_put32(b, off, (label & 0xfffff) << 12 | ttl);
    return off;
}

uint32_t pb_pw_cw(pb *b)
{
    return add_layer(b, PB_PWCW, 4);
}

uint32_t pb_sll(pb *b)
{
    uint32_t off = add_layer(b, PB_SLL, 16);

    pb_put16(b, off, 0);      /* packet type: to us */
    pb_put16(b, off + 2, 1);  /* ARPHRD_ETHER */
    pb_put16(b, off + 4, 6);  /* address length */
    b->buf[off + 6] = 2;
    b->buf[off + 11] = 1;
    b->type_off = (int32_t)off + 14;
    return off;
}

uint32_t pb_sll2(pb *b)
{
    uint32_t off = add_layer(b, PB_SLL2, 20);

    pb_put32(b, off + 4, 1);  /* interface index */
    pb_put16(b, off + 8, 1);  /* ARPHRD_ETHER */
    b->buf[off + 10] = 0;     /* packet type: to us */
    b->buf[off + 11] = 6;     /* address length */
    b->buf[off + 12] = 2;
    b->buf[off + 17] = 1;
    b->type_off = (int32_t)off;
    return off;
}

uint32_t pb_null(pb *b, uint32_t af)
{
    uint32_t off = add_layer(b, PB_NULL, 4);

    memcpy(b->buf + off, &af, 4);
    return off;
}

uint32_t pb_loop(pb *b, uint32_t af)
{
    uint32_t off = add_layer(b, PB_NULL, 4);

    pb_put32(b, off, af);
    return off;
}

static size_t padded(const pb_opts *o)
{
    return o ? (o->len + 3) & ~(size_t)3 : 0;
}

uint32_t pb_ipv4(pb *b, const pb_ip4 *h)
{
    size_t olen = padded(h->opts);
    uint32_t off;

    if (20 + olen > 60)
        pb_fail("IPv4 options longer than 40 bytes");
    if (h->frag_off % 8)
        pb_fail("IPv4 fragment offset not a multiple of 8");
    set_type(b, 0x0800);
    set_proto(b, 4); /* IPv4 in IP */
    off = add_layer(b, PB_IPV4, 20 + olen);
    b->buf[off] = (uint8_t)(0x40 | (20 + olen) / 4);
    b->buf[off + 1] = h->tos;
    pb_put16(b, off + 4, h->id);
    pb_put16(b, off + 6, (uint16_t)((h->df ? 0x4000 : 0) | (h->mf ? 0x2000 : 0) | h->frag_off / 8));
    b->buf[off + 8] = h->ttl ? h->ttl : 64;
    put_addr(b, off + 12, AF_INET, h->src);
    put_addr(b, off + 16, AF_INET, h->dst);
    if (h->opts)
        memcpy(b->buf + off + 20, h->opts->b, h->opts->len);
    b->proto_off = (int32_t)off + 9;
    return off;
}

uint32_t pb_ipv6(pb *b, const pb_ip6 *h)
{
    uint32_t off;

    set_type(b, 0x86dd);
    set_proto(b, 41); /* IPv6 in IP */
    off = add_layer(b, PB_IPV6, 40);
    pb_put32(b, off, 6u << 28 | (uint32_t)h->tclass << 20 | (h->flow & 0xfffff));
    b->buf[off + 7] = h->hlim ? h->hlim : 64;
    put_addr(b, off + 8, AF_INET6, h->src);
    put_addr(b, off + 24, AF_INET6, h->dst);
    b->proto_off = (int32_t)off + 6;
    return off;
}

static uint32_t v6_ext(pb *b, uint8_t type, size_t len)
{
    uint32_t off;

    if (len < 8 || len % 8 || len > 2048)
        pb_fail("IPv6 extension header length");
    set_proto(b, type);
    off = add_layer(b, PB_V6EXT, len);
    b->buf[off + 1] = (uint8_t)(len / 8 - 1);
    b->proto_off = (int32_t)off;
    return off;
}

/* Options header (hop-by-hop or destination) padded with one PadN. */
static uint32_t v6_opts(pb *b, uint8_t type, size_t len)
{
    uint32_t off = v6_ext(b, type, len);

    b->buf[off + 2] = 1; /* PadN */
    b->buf[off + 3] = (uint8_t)(len - 4);
    return off;
}

uint32_t pb_v6_hopopts(pb *b, size_t len)
{
    return v6_opts(b, 0, len);
}

uint32_t pb_v6_dstopts(pb *b, size_t len)
{
    return v6_opts(b, 60, len);
}

uint32_t pb_v6_routing(pb *b, uint8_t type, uint8_t segleft, int naddr)
{
    uint32_t off = v6_ext(b, 43, 8 + 16 * (size_t)naddr);
    int i;

    b->buf[off + 2] = type;
    b->buf[off + 3] = segleft;
    for (i = 0; i < naddr; i++) {
        put_addr(b, off + 8 + 16 * (uint32_t)i, AF_INET6, "2001:db8:ff::");
        b->buf[off + 8 + 16 * (uint32_t)i + 15] = (uint8_t)(i + 1);
    }
    return off;
}

uint32_t pb_v6_frag(pb *b, uint16_t off_bytes, bool mf, uint32_t id)
{
    uint32_t off;

    if (off_bytes % 8)
        pb_fail("IPv6 fragment offset not a multiple of 8");
    set_proto(b, 44);
    off = add_layer(b, PB_V6EXT, 8);
    pb_put16(b, off + 2, (uint16_t)(off_bytes | (mf ? 1 : 0)));
    pb_put32(b, off + 4, id);
    b->proto_off = (int32_t)off;
    return off;
}

uint32_t pb_tcp(pb *b, const pb_tcph *h)
{
    size_t olen = padded(h->opts);
    uint32_t off;

    if (20 + olen > 60)
        pb_fail("TCP options longer than 40 bytes");
    set_proto(b, 6);
    off = add_layer(b, PB_TCP, 20 + olen);
    pb_put16(b, off, h->sport);
    pb_put16(b, off + 2, h->dport);
    pb_put32(b, off + 4, h->seq);
    pb_put32(b, off + 8, h->ack);
    b->buf[off + 12] = (uint8_t)((20 + olen) / 4 << 4);
    b->buf[off + 13] = h->flags;
    pb_put16(b, off + 14, h->win);
    if (h->opts)
        memcpy(b->buf + off + 20, h->opts->b, h->opts->len);
    return off;
}

uint32_t pb_udp(pb *b, uint16_t sport, uint16_t dport)
{
    uint32_t off;

    set_proto(b, 17);
    off = add_layer(b, PB_UDP, 8);
    pb_put16(b, off, sport);
    pb_put16(b, off + 2, dport);
    return off;
}

uint32_t pb_icmp(pb *b, uint8_t type, uint8_t code, uint32_t rest)
{
    uint32_t off;

    set_proto(b, 1);
    off = add_layer(b, PB_ICMP, 8);
    b->buf[off] = type;
    b->buf[off + 1] = code;
    pb_put32(b, off + 4, rest);
    return off;
}

uint32_t pb_icmp6(pb *b, uint8_t type, uint8_t code, uint32_t rest)
{
    uint32_t off;

    set_proto(b, 58);
    off = add_layer(b, PB_ICMP6, 8);
    b->buf[off] = type;
    b->buf[off + 1] = code;
    pb_put32(b, off + 4, rest);
    return off;
}

uint32_t pb_data(pb *b, const void *p, size_t n)
{
    uint32_t off = grow(b, n);

    memcpy(b->buf + off, p, n);
    return off;
}

uint32_t pb_fill(pb *b, uint8_t v, size_t n)
{
    uint32_t off = grow(b, n);

    memset(b->buf + off, v, n);
    return off;
}

static void opt_bytes(pb_opts *o, const void *p, size_t n)
{
    if (n > sizeof(o->b) - o->len)
        pb_fail("options too long");
    memcpy(o->b + o->len, p, n);
    o->len += n;
}

void pb_opt_raw(pb_opts *o, const void *p, size_t n)
{
    opt_bytes(o, p, n);
}

void pb_opt_nop(pb_opts *o)
{
    static const uint8_t nop = 1;

    opt_bytes(o, &nop, 1);
}

void pb_opt_mss(pb_opts *o, uint16_t mss)
{
    uint8_t v[4] = {2, 4, (uint8_t)(mss >> 8), (uint8_t)mss};

    opt_bytes(o, v, sizeof(v));
}

void pb_opt_wscale(pb_opts *o, uint8_t ws)
{
    uint8_t v[3] = {3, 3, ws};

    opt_bytes(o, v, sizeof(v));
}

void pb_opt_sackok(pb_opts *o)
{
    static const uint8_t v[2] = {4, 2};

    opt_bytes(o, v, sizeof(v));
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

void pb_opt_sack(pb_opts *o, const uint32_t (*blocks)[2], int n)
{
    uint8_t v[2 + 8 * 4];
    int i;

    if (n < 1 || n > 4)
        pb_fail("SACK block count");
    v[0] = 5;
    v[1] = (uint8_t)(2 + 8 * n);
    for (i = 0; i < n; i++) {
        be32(v + 2 + 8 * i, blocks[i][0]);
        be32(v + 6 + 8 * i, blocks[i][1]);
    }
    opt_bytes(o, v, (size_t)v[1]);
}

void pb_opt_ts(pb_opts *o, uint32_t val, uint32_t ecr)
{
    uint8_t v[10] = {8, 10};

    be32(v + 2, val);
    be32(v + 6, ecr);
    opt_bytes(o, v, sizeof(v));
}

static pb_layer *layer_at(pb *b, uint32_t off)
{
    int i;

    for (i = 0; i < b->nlayers; i++)
        if (b->layer[i].off == off)
            return &b->layer[i];
    pb_fail("no layer at that offset");
    return NULL;
}

void pb_set_len_field(pb *b, uint32_t off, uint16_t v)
{
    pb_layer *l = layer_at(b, off);

    if (l->kind != PB_IPV4 && l->kind != PB_IPV6 && l->kind != PB_UDP)
        pb_fail("layer has no length field");
    l->len_field = v;
}

/* Where the IP packet of layer @p l ends, within the bytes built. */
static uint32_t ip_end(const pb *b, const pb_layer *l)
{
    uint32_t end = b->len;

    if (l->len_field >= 0)
        end = l->off + (uint32_t)l->len_field + (l->kind == PB_IPV6 ? 40 : 0);
    return end < b->len ? end : b->len;
}

/* Checksum of [off, end) with the pseudo-header of the IP layer @p ip. */
static uint16_t l4_csum(const pb *b, const pb_layer *ip, uint8_t proto, uint32_t off,
                        uint32_t end)
{
    const uint8_t *h = b->buf + ip->off;
    uint32_t len = end - off;
    uint32_t sum;

    if (ip->kind == PB_IPV4) {
        sum = sum16(h + 12, 8, 0);
        sum += proto + len;
    } else {
        sum = sum16(h + 8, 32, 0);
        sum += (len >> 16) + (len & 0xffff) + proto;
    }
    return fold(sum16(b->buf + off, len, sum));
}

static void ipv4_csum(pb *b, uint32_t off)
{
    size_t hlen = (size_t)(b->buf[off] & 0x0f) * 4;

    if (off + hlen > b->len)
        hlen = b->len - off;
    pb_put16(b, off + 10, 0);
    pb_put16(b, off + 10, fold(sum16(b->buf + off, hlen, 0)));
}

void pb_ipv4_fix_csum(pb *b, uint32_t off)
{
    ipv4_csum(b, off);
}

void pb_finalize(pb *b)
{
    int i, j;

    for (i = b->nlayers - 1; i >= 0; i--) {
        pb_layer *l = &b->layer[i];
        const pb_layer *ip = NULL;
        uint32_t end = b->len;
        uint16_t c;

        for (j = i - 1; j >= 0; j--) {
            if (b->layer[j].kind == PB_IPV4 || b->layer[j].kind == PB_IPV6) {
                ip = &b->layer[j];
                end = ip_end(b, ip);
                break;
            }
        }
        if (end < l->off)
            end = b->len; /* IP length cut before this header: sum what is there */
        switch (l->kind) {
        case PB_MPLS:
            if (i + 1 == b->nlayers || b->layer[i + 1].kind != PB_MPLS)
                b->buf[l->off + 2] |= 1; /* bottom of stack */
            break;
        case PB_IPV4:
            pb_put16(b, l->off + 2,
                     (uint16_t)(l->len_field >= 0 ? (uint32_t)l->len_field : b->len - l->off));
            ipv4_csum(b, l->off);
            break;
        case PB_IPV6:
            pb_put16(b, l->off + 4,
                     (uint16_t)(l->len_field >= 0 ? (uint32_t)l->len_field
                                                  : b->len - l->off - 40));
            break;
        case PB_UDP:
            if (!ip)
                pb_fail("UDP without IP");
            pb_put16(b, l->off + 4,
                     (uint16_t)(l->len_field >= 0 ? (uint32_t)l->len_field : end - l->off));
            pb_put16(b, l->off + 6, 0);
            c = l4_csum(b, ip, 17, l->off, end);
            pb_put16(b, l->off + 6, c ? c : 0xffff); /* 0 would mean "none" */
            break;
        case PB_TCP:
            if (!ip)
                pb_fail("TCP without IP");
            pb_put16(b, l->off + 16, 0);
            pb_put16(b, l->off + 16, l4_csum(b, ip, 6, l->off, end));
            break;
        case PB_ICMP:
            pb_put16(b, l->off + 2, 0);
            pb_put16(b, l->off + 2, fold(sum16(b->buf + l->off, end - l->off, 0)));
            break;
        case PB_ICMP6:
            if (!ip || ip->kind != PB_IPV6)
                pb_fail("ICMPv6 without IPv6");
            pb_put16(b, l->off + 2, 0);
            pb_put16(b, l->off + 2, l4_csum(b, ip, 58, l->off, end));
            break;
        default:
            break;
        }
    }
}

void pb_pad_to(pb *b, uint32_t len)
{
    if (len > b->len)
        grow(b, len - b->len);
}

void pb_corrupt_csum(pb *b, uint32_t off)
{
    const pb_layer *l = layer_at(b, off);
    uint32_t at;
    uint16_t v;

    switch (l->kind) {
    case PB_IPV4: at = off + 10; break;
    case PB_TCP: at = off + 16; break;
    case PB_UDP: at = off + 6; break;
    case PB_ICMP:
    case PB_ICMP6: at = off + 2; break;
    default: pb_fail("layer has no checksum"); return;
    }
    /* A change smaller than 0xffff is never another encoding of the same
     * one's-complement value; avoid 0, which UDP reads as "none". */
    v = pb_get16(b, at) ^ 0x00ff;
    if (v == 0 || v == 0xffff)
        v = pb_get16(b, at) ^ 0x0f00;
    pb_put16(b, at, v);
}

void pb_truncate(pb *b, uint32_t len)
{
    if (len > b->len)
        pb_fail("truncate beyond end");
    b->len = len;
}

uint64_t pb_rng_seed(const char *env)
{
    const char *v = getenv(env);
    uint64_t seed = v && *v ? strtoull(v, NULL, 10) : (uint64_t)time(NULL);
    printf("%s=%llu\n", env, (unsigned long long)seed);
    return seed ? seed : 1;
}

uint64_t pb_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * UINT64_C(2685821657736338717);
}

uint32_t pb_udp_packet(pb *b, const char *src, const char *dst, uint16_t sport, uint16_t dport,
                       const void *data, size_t n)
{
    pb_init(b);
    pb_eth(b);
    if (strchr(src, ':')) {
        pb_ip6 h = {.src = src, .dst = dst};
        pb_ipv6(b, &h);
    } else {
        pb_ip4 h = {.src = src, .dst = dst};
        pb_ipv4(b, &h);
    }
    pb_udp(b, sport, dport);
    pb_data(b, data, n);
    pb_finalize(b);
    return b->len;
}

void pb_rules_load(pb_rules *L, const char *text, const gh_rule_vars *vars)
{
    pb_rules_load_ex(L, text, vars, NULL);
}

void pb_rules_load_ex(pb_rules *L, const char *text, const gh_rule_vars *vars,
                      const gh_dpi_options *opt)
{
    memset(L, 0, sizeof(*L));
    gh_error err = {0};
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", text, strlen(text), GH_RULE_TIER_SIGNATURE, &err);
    if (!f)
        pb_fail(err.msg);
    if (gh_rules_check(f, vars) != GH_OK)
        pb_fail("gh_rules_check failed");
    for (size_t i = 0; i < f->n_errors; i++)
        printf("check: %u:%u: %s\n", f->errors[i].loc.line, f->errors[i].loc.col,
               f->errors[i].message);
    L->check_errors = f->n_errors;
    L->d = gh_dpi_compile_ex(&f, 1, vars, opt, &L->errs, &L->nerrs, &L->rep, &err);
    gh_rule_file_free(f);
    if (!L->d)
        pb_fail(err.msg);
    if (!(L->s = gh_dpi_scratch_new(L->d, &err)))
        pb_fail(err.msg);
}

void pb_rules_free(pb_rules *L)
{
    gh_dpi_scratch_free(L->s);
    gh_dpi_free(L->d);
    free(L->errs);
}

void pb_tput(pb_text *t, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(t->p ? t->p + t->len : NULL, t->p ? t->cap - t->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0)
            pb_fail("tput: bad format");
        if (t->p && (size_t)k < t->cap - t->len) {
            t->len += (size_t)k;
            return;
        }
        t->cap = (t->cap + (size_t)k + 1) * 2;
        if (!(t->p = realloc(t->p, t->cap)))
            pb_fail("tput: out of memory");
    }
}
