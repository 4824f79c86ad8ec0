/* Decoder tests: every link type and L3/L4 path checked field by field on
 * hand-built packets, and one input per anomaly in GH_ANOMALY_LIST.
 *
 * Each input is decoded from an exactly-sized heap copy, so under
 * -DGH_SANITIZE=ON AddressSanitizer reports any read past caplen. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/decode.h"
#include "gatehouse/flow.h"
#include "pktbuild.h"

#define A4 "192.0.2.1"
#define B4 "198.51.100.2"
#define A6 "2001:db8::1"
#define B6 "2001:db8::2"

static const pb_ip4 IP4 = {.src = A4, .dst = B4, .ttl = 64};
static const pb_ip6 IP6 = {.src = A6, .dst = B6, .hlim = 64};
static const pb_tcph TCPH = {.sport = 40000, .dport = 80, .seq = 1000, .ack = 2000,
                             .flags = GH_TCP_ACK | GH_TCP_PSH, .win = 8192};

#define ALL_LAYERS 0xffffffffu
#define L4_LAYERS (GH_LAYER_TCP | GH_LAYER_UDP | GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6)
#define L3_LAYERS (GH_LAYER_IPV4 | GH_LAYER_IPV6 | GH_LAYER_ARP | GH_LAYER_OTHER_L3)
#define BIT(a) ((uint64_t)1 << (a))

static const char *const anom_names[] = {
#define GH_X_NAME(e, s) s,
    GH_ANOMALY_LIST(GH_X_NAME)
#undef GH_X_NAME
};

/* ---- decoding from an exactly-sized heap copy ---- */

typedef struct dec {
    gh_packet p;
    uint8_t *buf;
    int rc;
} dec;

#define MAX_BUFS 16
static uint8_t *bufs[MAX_BUFS];
static int nbufs;

/* Teardown: the descriptor points into these, so free them only now. */
static int free_bufs(void **state)
{
    (void)state;
    while (nbufs > 0)
        free(bufs[--nbufs]);
    return 0;
}

static void run(dec *d, const pb *b, uint32_t linktype, bool verify)
{
    gh_decode_opts o = {.verify_checksums = verify};

    assert_true(nbufs < MAX_BUFS);
    d->buf = malloc(b->len);
    assert_true(d->buf != NULL || b->len == 0);
    if (b->len)
        memcpy(d->buf, b->buf, b->len);
    bufs[nbufs++] = d->buf;
    /* Poison: gh_decode must overwrite every field it leaves meaningful. */
    memset(&d->p, 0x5a, sizeof(d->p));
    d->rc = gh_decode(&d->p, linktype, d->buf, b->len, &o);
}

static void print_anoms(const char *what, uint64_t m)
{
    int i;

    fprintf(stderr, "%s:", what);
    for (i = 0; i < GH_ANOM_COUNT; i++)
        if (m & BIT(i))
            fprintf(stderr, " %s", anom_names[i]);
    fprintf(stderr, "\n");
}

static void assert_anoms(const dec *d, uint64_t want)
{
    if (d->p.anomalies != want) {
        print_anoms("expected anomalies", want);
        print_anoms("got anomalies     ", d->p.anomalies);
        fail_msg("anomalies 0x%llx, expected 0x%llx", (unsigned long long)d->p.anomalies,
                 (unsigned long long)want);
    }
    if (want)
        assert_true(d->rc >= 1);
    else
        assert_int_equal(d->rc, 0);
}

static void assert_clean(const dec *d)
{
    assert_anoms(d, 0);
}

static void assert_addr(const gh_addr *a, const char *s)
{
    gh_addr want;
    char got[INET6_ADDRSTRLEN];
    int af = strchr(s, ':') ? AF_INET6 : AF_INET;

    memset(&want, 0, sizeof(want));
    assert_int_equal(inet_pton(af, s, want.b), 1);
    if (memcmp(a->b, want.b, sizeof(want.b)) != 0) {
        if (!inet_ntop(af, a->b, got, sizeof(got)))
            strcpy(got, "?");
        fail_msg("address %s (or nonzero tail), expected %s", got, s);
    }
}

static void assert_layers(const dec *d, uint32_t want)
{
    if (d->p.layers != want)
        fail_msg("layers 0x%x, expected 0x%x", d->p.layers, want);
}

static void assert_flags_set(const dec *d, uint32_t f)
{
    if ((d->p.flags & f) != f)
        fail_msg("flags 0x%x lack 0x%x", d->p.flags, f);
}

static void assert_flags_clear(const dec *d, uint32_t f)
{
    if (d->p.flags & f)
        fail_msg("flags 0x%x have 0x%x", d->p.flags, d->p.flags & f);
}

static void assert_payload(const dec *d, uint32_t off, uint32_t len)
{
    assert_int_equal(d->p.payload_off, off);
    assert_int_equal(d->p.payload_len, len);
    if (len)
        assert_ptr_equal(d->p.payload, d->buf + off);
}

/* ---- common packet shapes ---- */

static uint32_t payload5(pb *b)
{
    return pb_data(b, "hello", 5);
}

/* Ethernet / IPv4 / UDP 5353 -> 53 with @p n payload bytes. */
static void eth_ip4_udp(pb *b, size_t n)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_udp(b, 5353, 53);
    pb_fill(b, 'u', n);
    pb_finalize(b);
}

/* IPv4 / UDP, then IPv6 / UDP, on any link: the L3 checks per link type. */
static void check_ip4_udp(const dec *d, uint32_t l3, uint32_t l2_layers)
{
    assert_clean(d);
    assert_layers(d, l2_layers | GH_LAYER_IPV4 | GH_LAYER_UDP);
    assert_int_equal(d->p.ip_ver, 4);
    assert_int_equal(d->p.ip_proto, 17);
    assert_addr(&d->p.src, A4);
    assert_addr(&d->p.dst, B4);
    assert_int_equal(d->p.sport, 5353);
    assert_int_equal(d->p.dport, 53);
    assert_int_equal(d->p.l3_off, l3);
    assert_int_equal(d->p.l4_off, l3 + 20);
    assert_int_equal(d->p.udp_len, 8 + 5);
    assert_payload(d, l3 + 28, 5);
    assert_memory_equal(d->p.payload, "hello", 5);
}

static void check_ip6_tcp(const dec *d, uint32_t l3, uint32_t l2_layers)
{
    assert_clean(d);
    assert_layers(d, l2_layers | GH_LAYER_IPV6 | GH_LAYER_TCP);
    assert_int_equal(d->p.ip_ver, 6);
    assert_int_equal(d->p.ip_proto, 6);
    assert_addr(&d->p.src, A6);
    assert_addr(&d->p.dst, B6);
    assert_int_equal(d->p.sport, 40000);
    assert_int_equal(d->p.dport, 80);
    assert_int_equal(d->p.l3_off, l3);
    assert_int_equal(d->p.l4_off, l3 + 40);
    assert_payload(d, l3 + 60, 5);
    assert_memory_equal(d->p.payload, "hello", 5);
}

static void add_ip4_udp(pb *b)
{
    pb_ipv4(b, &IP4);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

static void add_ip6_tcp(pb *b)
{
    pb_ipv6(b, &IP6);
    pb_tcp(b, &TCPH);
    payload5(b);
    pb_finalize(b);
}

/* ---- link layers ---- */

static void test_eth_ipv4_tcp(void **state)
{
    pb b;
    pb_ip4 ip = IP4;
    dec d, nov;
    uint32_t ipo, tcpo;

    (void)state;
    ip.ttl = 77;
    ip.tos = 0x10;
    ip.id = 0xbeef;
    ip.df = true;
    pb_init(&b);
    pb_eth(&b);
    ipo = pb_ipv4(&b, &ip);
    tcpo = pb_tcp(&b, &TCPH);
    payload5(&b);
    pb_finalize(&b);
    assert_int_equal(ipo, 14);
    assert_int_equal(tcpo, 34);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_int_equal(d.p.linktype, GH_LINK_ETHERNET);
    assert_ptr_equal(d.p.data, d.buf);
    assert_int_equal(d.p.caplen, b.len);
    assert_int_equal(d.p.l2_ethertype, 0x0800);
    assert_int_equal(d.p.vlan_count, 0);
    assert_int_equal(d.p.mpls_count, 0);
    assert_int_equal(d.p.ip_ver, 4);
    assert_int_equal(d.p.ip_proto, 6);
    assert_int_equal(d.p.ttl, 77);
    assert_int_equal(d.p.ip_tos, 0x10);
    assert_int_equal(d.p.ip_id16, 0xbeef);
    assert_int_equal(d.p.ip_hlen, 20);
    assert_addr(&d.p.src, A4);
    assert_addr(&d.p.dst, B4);
    assert_int_equal(d.p.sport, 40000);
    assert_int_equal(d.p.dport, 80);
    assert_int_equal(d.p.tcp_flags, GH_TCP_ACK | GH_TCP_PSH);
    assert_int_equal(d.p.tcp_seq, 1000);
    assert_int_equal(d.p.tcp_ack, 2000);
    assert_int_equal(d.p.tcp_win, 8192);
    assert_int_equal(d.p.tcp_hlen, 20);
    assert_int_equal(d.p.l3_off, 14);
    assert_int_equal(d.p.l4_off, 34);
    assert_int_equal(d.p.l3_len, 20 + 20 + 5);
    assert_int_equal(d.p.l4_len, 20 + 5);
    assert_payload(&d, 54, 5);
    assert_memory_equal(d.p.payload, "hello", 5);
    assert_flags_set(&d, GH_PKT_DONT_FRAG | GH_PKT_CSUM_CHECKED);
    assert_flags_clear(&d, GH_PKT_FRAGMENT | GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS |
                               GH_PKT_TRUNCATED | GH_PKT_IPV4_OPTS | GH_PKT_TCP_MSS |
                               GH_PKT_TCP_WSCALE | GH_PKT_TCP_SACKOK | GH_PKT_TCP_SACK |
                               GH_PKT_TCP_TS);
    assert_int_equal(d.p.tcp_sack_count, 0);

    run(&nov, &b, GH_LINK_ETHERNET, false);
    assert_clean(&nov);
    assert_flags_clear(&nov, GH_PKT_CSUM_CHECKED);
}

static void test_eth_ipv6_udp(void **state)
{
    pb b;
    pb_ip6 ip = IP6;
    dec d;

    (void)state;
    ip.hlim = 3;
    ip.tclass = 0x28;
    ip.flow = 0x12345;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &ip);
    pb_udp(&b, 1000, 2000);
    pb_fill(&b, 'x', 30);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_UDP);
    assert_int_equal(d.p.l2_ethertype, 0x86dd);
    assert_int_equal(d.p.ip_ver, 6);
    assert_int_equal(d.p.ip_proto, 17);
    assert_int_equal(d.p.ttl, 3);
    assert_int_equal(d.p.ip_tos, 0x28);
    assert_int_equal(d.p.ip_hlen, 40);
    assert_int_equal(d.p.ipv6_exthdrs, 0);
    assert_addr(&d.p.src, A6);
    assert_addr(&d.p.dst, B6);
    assert_int_equal(d.p.sport, 1000);
    assert_int_equal(d.p.dport, 2000);
    assert_int_equal(d.p.udp_len, 38);
    assert_int_equal(d.p.l3_off, 14);
    assert_int_equal(d.p.l4_off, 54);
    assert_int_equal(d.p.l3_len, 40 + 38);
    assert_int_equal(d.p.l4_len, 38);
    assert_payload(&d, 62, 30);
    assert_flags_clear(&d, GH_PKT_FRAGMENT | GH_PKT_TRUNCATED);
}

/* A 60-byte minimum frame: the padding after the IPv4 packet is not payload,
 * not an anomaly, and not covered by the UDP checksum. */
static void test_eth_padding_udp(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_udp(&b, 5353, 53);
    pb_data(&b, "ping", 4);
    pb_finalize(&b);
    assert_int_equal(b.len, 46);
    pb_pad_to(&b, 60);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_UDP);
    assert_int_equal(d.p.caplen, 60);
    assert_int_equal(d.p.l3_len, 32);
    assert_int_equal(d.p.l4_len, 12);
    assert_int_equal(d.p.udp_len, 12);
    assert_payload(&d, 42, 4);
    assert_memory_equal(d.p.payload, "ping", 4);
    assert_flags_clear(&d, GH_PKT_TRUNCATED);
}

/* A padded pure ACK has no payload at all. */
static void test_eth_padding_tcp_ack(void **state)
{
    pb b;
    pb_tcph t = TCPH;
    dec d;

    (void)state;
    t.flags = GH_TCP_ACK;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_tcp(&b, &t);
    pb_finalize(&b);
    pb_pad_to(&b, 60);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_int_equal(d.p.l3_len, 40);
    assert_int_equal(d.p.payload_len, 0);
    assert_null(d.p.payload);
}

/* Bytes after the IPv6 payload (an Ethernet trailer or FCS) are not payload. */
static void test_eth_trailer_ipv6(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    add_ip6_tcp(&b);
    pb_fill(&b, 0xee, 4);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip6_tcp(&d, 14, GH_LAYER_ETH);
    assert_int_equal(d.p.l3_len, 40 + 20 + 5);
}

static void test_vlan(void **state)
{
    pb b;
    dec d;
    uint32_t tag;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    tag = pb_vlan(&b, 0x8100, 100);
    pb_put16(&b, tag, 0xa000 | 100); /* PCP 5: not part of the VLAN id */
    add_ip4_udp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip4_udp(&d, 18, GH_LAYER_ETH | GH_LAYER_VLAN);
    assert_int_equal(d.p.vlan_count, 1);
    assert_int_equal(d.p.vlan_id[0], 100);
    assert_int_equal(d.p.l2_ethertype, 0x0800);
}

static void test_qinq(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_vlan(&b, 0x88a8, 10);
    pb_vlan(&b, 0x8100, 20);
    add_ip6_tcp(&b);
    assert_int_equal(pb_get16(&b, 12), 0x88a8);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip6_tcp(&d, 22, GH_LAYER_ETH | GH_LAYER_VLAN);
    assert_int_equal(d.p.vlan_count, 2);
    assert_int_equal(d.p.vlan_id[0], 10);
    assert_int_equal(d.p.vlan_id[1], 20);
    assert_int_equal(d.p.l2_ethertype, 0x86dd);
}

/* Two 802.1Q tags (the pre-802.1ad way of stacking). */
static void test_double_8021q(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_vlan(&b, 0x8100, 4094);
    pb_vlan(&b, 0x8100, 1);
    add_ip4_udp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip4_udp(&d, 22, GH_LAYER_ETH | GH_LAYER_VLAN);
    assert_int_equal(d.p.vlan_count, 2);
    assert_int_equal(d.p.vlan_id[0], 4094);
    assert_int_equal(d.p.vlan_id[1], 1);
}

static void test_mpls_ipv4(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_mpls(&b, 1000, 64);
    pb_mpls(&b, 2000, 64);
    add_ip4_udp(&b);
    assert_int_equal(b.buf[16] & 1, 0); /* builder: S bit only on the last */
    assert_int_equal(b.buf[20] & 1, 1);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip4_udp(&d, 22, GH_LAYER_ETH | GH_LAYER_MPLS);
    assert_int_equal(d.p.mpls_count, 2);
}

static void test_mpls_ipv6(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_mpls(&b, 16, 255);
    add_ip6_tcp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip6_tcp(&d, 18, GH_LAYER_ETH | GH_LAYER_MPLS);
    assert_int_equal(d.p.mpls_count, 1);
}

/* GH_MAX_MPLS labels is the most allowed, not an anomaly. */
static void test_mpls_max_labels(void **state)
{
    pb b;
    dec d;
    int i;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    for (i = 0; i < GH_MAX_MPLS; i++)
        pb_mpls(&b, 100 + (uint32_t)i, 64);
    add_ip4_udp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip4_udp(&d, 14 + 4 * GH_MAX_MPLS, GH_LAYER_ETH | GH_LAYER_MPLS);
    assert_int_equal(d.p.mpls_count, GH_MAX_MPLS);
}

/* Ethernet pseudowire: label, zero control word, inner Ethernet frame. */
static void test_mpls_pw_eth(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_mpls(&b, 3000, 64);
    pb_pw_cw(&b);
    pb_eth(&b);
    add_ip4_udp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip4_udp(&d, 14 + 4 + 4 + 14, GH_LAYER_ETH | GH_LAYER_MPLS | GH_LAYER_PW);
    assert_int_equal(d.p.mpls_count, 1);
}

/* Pseudowire whose inner frame carries a VLAN tag. */
static void test_mpls_pw_eth_vlan(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_mpls(&b, 3000, 64);
    pb_pw_cw(&b);
    pb_eth(&b);
    pb_vlan(&b, 0x8100, 42);
    add_ip6_tcp(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    check_ip6_tcp(&d, 14 + 4 + 4 + 18,
                  GH_LAYER_ETH | GH_LAYER_MPLS | GH_LAYER_PW | GH_LAYER_VLAN);
    assert_int_equal(d.p.vlan_count, 1);
    assert_int_equal(d.p.vlan_id[0], 42);
}

static void test_sll(void **state)
{
    pb b;
    dec d4, d6;

    (void)state;
    pb_init(&b);
    pb_sll(&b);
    add_ip4_udp(&b);
    assert_int_equal(pb_get16(&b, 14), 0x0800);
    run(&d4, &b, GH_LINK_SLL, true);
    check_ip4_udp(&d4, 16, GH_LAYER_SLL);

    pb_init(&b);
    pb_sll(&b);
    add_ip6_tcp(&b);
    run(&d6, &b, GH_LINK_SLL, true);
    check_ip6_tcp(&d6, 16, GH_LAYER_SLL);
}

static void test_sll2(void **state)
{
    pb b;
    dec d4, d6;

    (void)state;
    pb_init(&b);
    pb_sll2(&b);
    add_ip4_udp(&b);
    assert_int_equal(pb_get16(&b, 0), 0x0800);
    run(&d4, &b, GH_LINK_SLL2, true);
    check_ip4_udp(&d4, 20, GH_LAYER_SLL);

    pb_init(&b);
    pb_sll2(&b);
    add_ip6_tcp(&b);
    run(&d6, &b, GH_LINK_SLL2, true);
    check_ip6_tcp(&d6, 20, GH_LAYER_SLL);
}

/* Cisco HDLC: address 0x0f, control 0, then an ethertype (the 4 bytes
 * written as OpenBSD's loopback header, network order). */
static void test_chdlc(void **state)
{
    pb b;
    dec d4, d6;

    (void)state;
    pb_init(&b);
    pb_loop(&b, 0x0f000800u);
    add_ip4_udp(&b);
    run(&d4, &b, GH_LINK_CHDLC, true);
    check_ip4_udp(&d4, 4, 0);

    pb_init(&b);
    pb_loop(&b, 0x0f0086ddu);
    add_ip6_tcp(&b);
    run(&d6, &b, GH_LINK_CHDLC, true);
    check_ip6_tcp(&d6, 4, 0);
}

/* DLT_NULL: AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD, OpenBSD),
 * 28 (FreeBSD) or 30 (macOS), all found in captures. */
static void test_null(void **state)
{
    static const uint32_t af6[] = {24, 28, 30};
    pb b;
    dec d;
    size_t i;

    (void)state;
    pb_init(&b);
    pb_null(&b, 2);
    add_ip4_udp(&b);
    run(&d, &b, GH_LINK_NULL, true);
    check_ip4_udp(&d, 4, GH_LAYER_NULL);

    for (i = 0; i < sizeof(af6) / sizeof(af6[0]); i++) {
        dec d6;

        pb_init(&b);
        pb_null(&b, af6[i]);
        add_ip6_tcp(&b);
        run(&d6, &b, GH_LINK_NULL, true);
        print_message("AF_INET6 = %u\n", af6[i]);
        check_ip6_tcp(&d6, 4, GH_LAYER_NULL);
    }
}

static void test_loop(void **state)
{
    pb b;
    dec d4, d6;

    (void)state;
    pb_init(&b);
    pb_loop(&b, 2);
    add_ip4_udp(&b);
    assert_int_equal(b.buf[3], 2); /* network order */
    run(&d4, &b, GH_LINK_LOOP, true);
    check_ip4_udp(&d4, 4, GH_LAYER_NULL);

    pb_init(&b);
    pb_loop(&b, 24);
    add_ip6_tcp(&b);
    run(&d6, &b, GH_LINK_LOOP, true);
    check_ip6_tcp(&d6, 4, GH_LAYER_NULL);
}

/* Raw IP under each of its link-type numbers: version nibble picks IPv4/6. */
static void test_raw(void **state)
{
    static const uint32_t types[] = {GH_LINK_RAW, GH_LINK_RAW_DLT, GH_LINK_RAW_DLT14};
    pb b4, b6;
    size_t i;

    (void)state;
    pb_init(&b4);
    add_ip4_udp(&b4);
    pb_init(&b6);
    add_ip6_tcp(&b6);
    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        dec d4, d6;

        print_message("link type %u\n", types[i]);
        run(&d4, &b4, types[i], true);
        check_ip4_udp(&d4, 0, 0);
        assert_int_equal(d4.p.l2_ethertype, 0);
        run(&d6, &b6, types[i], true);
        check_ip6_tcp(&d6, 0, 0);
    }
}

static void test_link_ipv4_ipv6(void **state)
{
    pb b;
    dec d4, d6;

    (void)state;
    pb_init(&b);
    add_ip4_udp(&b);
    run(&d4, &b, GH_LINK_IPV4, true);
    check_ip4_udp(&d4, 0, 0);

    pb_init(&b);
    add_ip6_tcp(&b);
    run(&d6, &b, GH_LINK_IPV6, true);
    check_ip6_tcp(&d6, 0, 0);
}

static void test_eth_arp(void **state)
{
    static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1};
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_put16(&b, 12, 0x0806);
    pb_data(&b, arp, sizeof(arp));
    pb_pad_to(&b, 60);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_ARP);
    assert_int_equal(d.p.ip_ver, 0);
    assert_int_equal(d.p.l2_ethertype, 0x0806);
}

static void test_eth_other_l3(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_put16(&b, 12, 0x88cc); /* LLDP */
    pb_fill(&b, 0, 46);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_OTHER_L3);
    assert_int_equal(d.p.ip_ver, 0);
    assert_int_equal(d.p.l2_ethertype, 0x88cc);
    assert_null(d.p.payload);
}

/* ---- IPv4 ---- */

static void test_ipv4_options(void **state)
{
    /* Record Route with room for two addresses, then Router Alert. */
    static const uint8_t rr[11] = {7, 11, 4};
    static const uint8_t ra[4] = {148, 4, 0, 0};
    pb_opts o = {.len = 0};
    pb_ip4 ip = IP4;
    pb b;
    dec d;

    (void)state;
    pb_opt_raw(&o, rr, sizeof(rr));
    pb_opt_nop(&o);
    pb_opt_raw(&o, ra, sizeof(ra));
    ip.opts = &o;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &ip);
    pb_tcp(&b, &TCPH);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_flags_set(&d, GH_PKT_IPV4_OPTS);
    assert_int_equal(d.p.ip_hlen, 36);
    assert_int_equal(d.p.l4_off, 14 + 36);
    assert_int_equal(d.p.sport, 40000);
    assert_payload(&d, 14 + 36 + 20, 5);
    assert_memory_equal(d.p.payload, "hello", 5);
}

/* First fragment: L4 header present and decoded, but the UDP length and
 * checksum describe the whole datagram, so neither can be checked. */
static void test_ipv4_frag_first(void **state)
{
    pb_ip4 ip = IP4;
    pb b;
    dec d;
    uint32_t udp;

    (void)state;
    ip.id = 0x4242;
    ip.mf = true;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &ip);
    udp = pb_udp(&b, 5353, 53);
    pb_set_len_field(&b, udp, 1008);
    pb_fill(&b, 'f', 64);
    pb_finalize(&b);
    pb_corrupt_csum(&b, udp);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_UDP);
    assert_flags_set(&d, GH_PKT_FRAGMENT | GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS);
    assert_int_equal(d.p.ip_id16, 0x4242);
    assert_int_equal(d.p.frag_off, 0);
    assert_int_equal(d.p.sport, 5353);
    assert_int_equal(d.p.dport, 53);
    assert_payload(&d, 14 + 20 + 8, 64);
}

/* TCP and ICMP have no length field of their own: only the fragment flag
 * stops a checksum over the whole datagram being judged on one fragment. */
static void test_frag_first_no_csum(void **state)
{
    pb_ip4 ip = IP4;
    pb b4, bi, b6;
    dec d4, di, d6;
    uint32_t l4;

    (void)state;
    ip.mf = true;
    pb_init(&b4);
    pb_eth(&b4);
    pb_ipv4(&b4, &ip);
    l4 = pb_tcp(&b4, &TCPH);
    pb_fill(&b4, 'f', 64);
    pb_finalize(&b4);
    pb_corrupt_csum(&b4, l4);
    run(&d4, &b4, GH_LINK_ETHERNET, true);
    assert_clean(&d4);
    assert_layers(&d4, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_flags_set(&d4, GH_PKT_FIRST_FRAG);
    assert_int_equal(d4.p.dport, 80);

    pb_init(&bi);
    pb_eth(&bi);
    pb_ipv4(&bi, &ip);
    l4 = pb_icmp(&bi, 8, 0, 0x00090001);
    pb_fill(&bi, 'f', 1472);
    pb_finalize(&bi);
    pb_corrupt_csum(&bi, l4);
    run(&di, &bi, GH_LINK_ETHERNET, true);
    assert_clean(&di);
    assert_layers(&di, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_ICMPV4);
    assert_int_equal(di.p.icmp_id, 9);

    pb_init(&b6);
    pb_eth(&b6);
    pb_ipv6(&b6, &IP6);
    pb_v6_frag(&b6, 0, true, 5);
    l4 = pb_tcp(&b6, &TCPH);
    pb_fill(&b6, 'f', 44);
    pb_finalize(&b6);
    pb_corrupt_csum(&b6, l4);
    run(&d6, &b6, GH_LINK_ETHERNET, true);
    assert_clean(&d6);
    assert_layers(&d6, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_TCP);
    assert_flags_set(&d6, GH_PKT_FIRST_FRAG);
}

static void test_ipv4_frag_middle_last(void **state)
{
    pb_ip4 ip = IP4;
    pb b;
    dec mid, last;
    uint32_t ipo;

    (void)state;
    ip.id = 0x4242;
    ip.mf = true;
    ip.frag_off = 1480;
    pb_init(&b);
    pb_eth(&b);
    ipo = pb_ipv4(&b, &ip);
    pb_fill(&b, 0xab, 1480); /* looks like nothing; must not be read as UDP */
    pb_put8(&b, ipo + 9, 17);
    pb_finalize(&b);

    run(&mid, &b, GH_LINK_ETHERNET, true);
    assert_clean(&mid);
    assert_true(mid.p.layers & GH_LAYER_IPV4);
    assert_int_equal(mid.p.layers & L4_LAYERS, 0);
    assert_flags_set(&mid, GH_PKT_FRAGMENT | GH_PKT_MORE_FRAGS);
    assert_flags_clear(&mid, GH_PKT_FIRST_FRAG);
    assert_int_equal(mid.p.ip_proto, 17);
    assert_int_equal(mid.p.frag_off, 1480);
    assert_int_equal(mid.p.ip_id16, 0x4242);
    assert_int_equal(mid.p.sport, 0);
    assert_int_equal(mid.p.dport, 0);
    assert_addr(&mid.p.src, A4);
    assert_int_equal(mid.p.l4_off, 34);

    /* Last fragment: offset set, MF clear. */
    pb_put16(&b, ipo + 6, 2960 / 8);
    pb_ipv4_fix_csum(&b, ipo);
    run(&last, &b, GH_LINK_ETHERNET, true);
    assert_clean(&last);
    assert_int_equal(last.p.layers & L4_LAYERS, 0);
    assert_flags_set(&last, GH_PKT_FRAGMENT);
    assert_flags_clear(&last, GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS);
    assert_int_equal(last.p.frag_off, 2960);
}

/* Total length beyond the capture: flagged, then decoded as far as captured,
 * with no checksum verdict on bytes we do not have. */
static void test_ipv4_truncated(void **state)
{
    pb b;
    dec d;
    uint32_t ipo;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    ipo = pb_ipv4(&b, &IP4);
    pb_tcp(&b, &TCPH);
    pb_fill(&b, 'p', 100);
    pb_set_len_field(&b, ipo, 1040);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_anoms(&d, BIT(GH_ANOM_IPV4_TRUNC_PKT));
    assert_flags_set(&d, GH_PKT_TRUNCATED);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_int_equal(d.p.sport, 40000);
    assert_int_equal(d.p.dport, 80);
    assert_int_equal(d.p.l3_len, 140);
    assert_payload(&d, 54, 100);
}

static void b_ip4_tso(pb *b); /* with the anomaly inputs below */

/* Total length 0 from a capture taken before TCP segmentation offload: the
 * captured length stands in, and no checksum verdict is given. */
static void test_ipv4_zero_len_tso(void **state)
{
    pb b;
    dec d;

    (void)state;
    b_ip4_tso(&b);
    pb_pad_to(&b, 200); /* captured bytes are all the packet we have */

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_anoms(&d, BIT(GH_ANOM_IPV4_ZERO_LEN_TSO));
    assert_flags_set(&d, GH_PKT_TSO);
    assert_flags_clear(&d, GH_PKT_TRUNCATED);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_int_equal(d.p.l3_len, 200 - 14);
    assert_int_equal(d.p.sport, 40000);
    assert_payload(&d, 54, 200 - 54);
}

static void test_ipv4_other_l4(void **state)
{
    pb b;
    dec d;
    uint32_t ipo;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    ipo = pb_ipv4(&b, &IP4);
    pb_fill(&b, 0, 24);
    pb_put8(&b, ipo + 9, 47); /* GRE */
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_OTHER_L4);
    assert_int_equal(d.p.ip_proto, 47);
    assert_int_equal(d.p.l4_off, 34);
    assert_int_equal(d.p.sport, 0);
}

/* ---- IPv6 extension headers ---- */

static void test_ipv6_hopopts(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_v6_hopopts(&b, 8);
    pb_tcp(&b, &TCPH);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_TCP);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_HOPOPTS);
    assert_int_equal(d.p.ip_proto, 6);
    assert_int_equal(d.p.ip_hlen, 48);
    assert_int_equal(d.p.l4_off, 14 + 48);
    assert_int_equal(d.p.sport, 40000);
    assert_payload(&d, 14 + 48 + 20, 5);
}

static void test_ipv6_routing(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_v6_routing(&b, 4, 0, 2); /* segments left 0: dst is final */
    pb_udp(&b, 5353, 53);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_UDP);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_ROUTING);
    assert_int_equal(d.p.ip_proto, 17);
    assert_int_equal(d.p.ip_hlen, 40 + 40);
    assert_int_equal(d.p.l4_off, 14 + 80);
    assert_int_equal(d.p.dport, 53);
    assert_payload(&d, 14 + 80 + 8, 5);
}

/* RFC 8200 8.1: with segments left, the L4 checksum covers the final
 * destination (SRH segment[0]), not the IPv6 header's current destination. */
static void test_ipv6_routing_final_dst_csum(void **state)
{
    static const pb_ip6 to_final = {.src = A6, .dst = "2001:db8:ff::1", .hlim = 64};
    pb b;
    dec d;
    uint32_t ip;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    ip = pb_ipv6(&b, &to_final);
    pb_v6_routing(&b, 4, 1, 1); /* SRH, one segment left: 2001:db8:ff::1 */
    pb_udp(&b, 5353, 53);
    payload5(&b);
    pb_finalize(&b); /* checksum over the final destination */
    /* in flight, the header names the next segment endpoint instead */
    pb_put8(&b, ip + 24 + 15, 0x77);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_UDP);

    /* with segments left 0 the header destination is the one checksummed */
    pb_put8(&b, ip + 40 + 3, 0);
    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_true(gh_packet_has_anomaly(&d.p, GH_ANOM_UDP_CSUM_BAD));
}

static void test_ipv6_dstopts(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_v6_dstopts(&b, 16);
    pb_icmp6(&b, 128, 0, 0x00070001);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_ICMPV6);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_DSTOPTS);
    assert_int_equal(d.p.ip_proto, 58);
    assert_int_equal(d.p.ip_hlen, 56);
    assert_int_equal(d.p.l4_off, 14 + 56);
    assert_int_equal(d.p.icmp_type, 128);
    assert_int_equal(d.p.icmp_id, 7);
    assert_int_equal(d.p.icmp_seq, 1);
}

static void test_ipv6_chain(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_v6_hopopts(&b, 8);
    pb_v6_dstopts(&b, 8);
    pb_v6_routing(&b, 4, 0, 1);
    pb_v6_dstopts(&b, 24);
    pb_tcp(&b, &TCPH);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_TCP);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_HOPOPTS | GH_V6X_DSTOPTS | GH_V6X_ROUTING);
    assert_int_equal(d.p.ip_proto, 6);
    assert_int_equal(d.p.ip_hlen, 40 + 8 + 8 + 24 + 24);
    assert_int_equal(d.p.l4_off, 14 + 104);
    assert_payload(&d, 14 + 104 + 20, 5);
}

/* Eight extension headers is the most allowed. */
static void test_ipv6_eight_exthdrs(void **state)
{
    pb b;
    dec d;
    int i;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    for (i = 0; i < 8; i++)
        pb_v6_dstopts(&b, 8);
    pb_tcp(&b, &TCPH);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_TCP);
    assert_int_equal(d.p.ip_hlen, 40 + 64);
    assert_int_equal(d.p.sport, 40000);
}

static void test_ipv6_frag_first(void **state)
{
    pb b;
    dec d;
    uint32_t udp;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_v6_frag(&b, 0, true, 0xdeadbeef);
    udp = pb_udp(&b, 5353, 53);
    pb_set_len_field(&b, udp, 3000);
    pb_fill(&b, 'f', 56); /* fragment data 64: a multiple of 8 */
    pb_finalize(&b);
    pb_corrupt_csum(&b, udp);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_UDP);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_FRAGMENT);
    assert_flags_set(&d, GH_PKT_FRAGMENT | GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS);
    assert_int_equal(d.p.frag_id, 0xdeadbeef);
    assert_int_equal(d.p.frag_off, 0);
    assert_int_equal(d.p.ip_proto, 17);
    assert_int_equal(d.p.ip_hlen, 48);
    assert_int_equal(d.p.l4_off, 14 + 48);
    assert_int_equal(d.p.sport, 5353);
    assert_payload(&d, 14 + 48 + 8, 56);
}

static void test_ipv6_frag_middle(void **state)
{
    pb b;
    dec d;
    uint32_t fh;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    fh = pb_v6_frag(&b, 1448, true, 77);
    pb_fill(&b, 0xab, 64);
    pb_put8(&b, fh, 17);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_true(d.p.layers & GH_LAYER_IPV6);
    assert_int_equal(d.p.layers & L4_LAYERS, 0);
    assert_flags_set(&d, GH_PKT_FRAGMENT | GH_PKT_MORE_FRAGS);
    assert_flags_clear(&d, GH_PKT_FIRST_FRAG);
    assert_int_equal(d.p.ipv6_exthdrs, GH_V6X_FRAGMENT);
    assert_int_equal(d.p.frag_id, 77);
    assert_int_equal(d.p.frag_off, 1448);
    assert_int_equal(d.p.ip_proto, 17);
    assert_int_equal(d.p.sport, 0);
}

static void test_ipv6_other_l4(void **state)
{
    pb b;
    dec d;
    uint32_t ipo;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    ipo = pb_ipv6(&b, &IP6);
    pb_fill(&b, 0, 16);
    pb_put8(&b, ipo + 6, 132); /* SCTP */
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_OTHER_L4);
    assert_int_equal(d.p.ip_proto, 132);
    assert_int_equal(d.p.l4_off, 54);
}

/* ---- TCP ---- */

static void test_tcp_all_options(void **state)
{
    static const uint32_t sack[2][2] = {{5000, 6000}, {7000, 8000}};
    pb_opts o = {.len = 0};
    pb_tcph t = TCPH;
    pb b;
    dec d;

    (void)state;
    pb_opt_mss(&o, 1460);
    pb_opt_nop(&o);
    pb_opt_wscale(&o, 7);
    pb_opt_sackok(&o);
    pb_opt_ts(&o, 123456789, 987654321);
    pb_opt_sack(&o, sack, 2);
    assert_int_equal(o.len, 38);
    t.opts = &o;
    t.flags = GH_TCP_SYN | GH_TCP_ACK;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_tcp(&b, &t);
    payload5(&b);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP);
    assert_int_equal(d.p.tcp_flags, GH_TCP_SYN | GH_TCP_ACK);
    assert_int_equal(d.p.tcp_hlen, 60);
    assert_flags_set(&d, GH_PKT_TCP_MSS | GH_PKT_TCP_WSCALE | GH_PKT_TCP_SACKOK |
                             GH_PKT_TCP_SACK | GH_PKT_TCP_TS);
    assert_int_equal(d.p.tcp_mss, 1460);
    assert_int_equal(d.p.tcp_wscale, 7);
    assert_int_equal(d.p.tcp_tsval, 123456789);
    assert_int_equal(d.p.tcp_tsecr, 987654321);
    assert_int_equal(d.p.tcp_sack_count, 2);
    assert_int_equal(d.p.tcp_sack[0][0], 5000);
    assert_int_equal(d.p.tcp_sack[0][1], 6000);
    assert_int_equal(d.p.tcp_sack[1][0], 7000);
    assert_int_equal(d.p.tcp_sack[1][1], 8000);
    assert_payload(&d, 14 + 20 + 60, 5);
    assert_memory_equal(d.p.payload, "hello", 5);
}

static void test_tcp_sack_four_blocks(void **state)
{
    static const uint32_t sack[4][2] = {
        {10, 20}, {30, 40}, {0xfffffff0u, 0x10}, {0x80000000u, 0x80000100u}};
    pb_opts o = {.len = 0};
    pb_tcph t = TCPH;
    pb b;
    dec d;
    int i;

    (void)state;
    pb_opt_nop(&o);
    pb_opt_nop(&o);
    pb_opt_sack(&o, sack, 4);
    t.opts = &o;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_tcp(&b, &t);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_flags_set(&d, GH_PKT_TCP_SACK);
    assert_flags_clear(&d, GH_PKT_TCP_MSS | GH_PKT_TCP_WSCALE | GH_PKT_TCP_SACKOK |
                               GH_PKT_TCP_TS);
    assert_int_equal(d.p.tcp_sack_count, 4);
    for (i = 0; i < 4; i++) {
        assert_int_equal(d.p.tcp_sack[i][0], sack[i][0]);
        assert_int_equal(d.p.tcp_sack[i][1], sack[i][1]);
    }
    assert_int_equal(d.p.payload_len, 0);
}

/* EOL ends the option list: what follows it is padding, not options. */
static void test_tcp_opt_eol(void **state)
{
    static const uint8_t tail[4] = {0, 2, 1, 0xff}; /* EOL, then junk */
    pb_opts o = {.len = 0};
    pb_tcph t = TCPH;
    pb b;
    dec d;

    (void)state;
    pb_opt_mss(&o, 536);
    pb_opt_raw(&o, tail, sizeof(tail));
    t.opts = &o;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_tcp(&b, &t);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_flags_set(&d, GH_PKT_TCP_MSS);
    assert_int_equal(d.p.tcp_mss, 536);
    assert_int_equal(d.p.tcp_hlen, 28);
}

static void test_tcp_flags(void **state)
{
    static const uint8_t flags[] = {GH_TCP_SYN, GH_TCP_FIN | GH_TCP_ACK, GH_TCP_RST,
                                    GH_TCP_URG | GH_TCP_ECE | GH_TCP_CWR, 0xff, 0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(flags); i++) {
        pb_tcph t = TCPH;
        pb b;
        dec d;

        t.flags = flags[i];
        pb_init(&b);
        pb_eth(&b);
        pb_ipv4(&b, &IP4);
        pb_tcp(&b, &t);
        pb_finalize(&b);
        run(&d, &b, GH_LINK_ETHERNET, true);
        assert_clean(&d);
        assert_int_equal(d.p.tcp_flags, flags[i]);
    }
}

/* ---- UDP ---- */

/* Over IPv4 a zero UDP checksum means "not computed": valid. */
static void test_udp_zero_csum_ipv4(void **state)
{
    pb b;
    dec d;

    (void)state;
    eth_ip4_udp(&b, 20);
    pb_put16(&b, 14 + 20 + 6, 0);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_UDP);
    assert_payload(&d, 42, 20);
}

/* ---- ICMP ---- */

static void test_icmp_echo(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_icmp(&b, 8, 0, 0x1234u << 16 | 7);
    pb_fill(&b, 'e', 32);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_ICMPV4);
    assert_int_equal(d.p.ip_proto, 1);
    assert_int_equal(d.p.icmp_type, 8);
    assert_int_equal(d.p.icmp_code, 0);
    assert_int_equal(d.p.icmp_id, 0x1234);
    assert_int_equal(d.p.icmp_seq, 7);
    assert_int_equal(d.p.sport, 0);
    assert_int_equal(d.p.dport, 0);
    assert_int_equal(d.p.l4_off, 34);
    assert_int_equal(d.p.l4_len, 40);
    assert_payload(&d, 42, 32);
}

/* Port unreachable quoting the IPv4/UDP header that caused it. The quoted
 * header claims its original length; that is not a truncation of ours. */
static void test_icmp_error_inner_udp(void **state)
{
    pb_ip4 outer = {.src = B4, .dst = A4, .ttl = 250};
    pb_ip4 inner = {.src = A4, .dst = B4, .ttl = 1};
    pb b;
    dec d;
    uint32_t in;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &outer);
    pb_icmp(&b, 3, 3, 0);
    in = pb_ipv4(&b, &inner);
    pb_set_len_field(&b, in, 100);
    pb_udp(&b, 5353, 53);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_ICMPV4 | GH_LAYER_ICMP_INNER);
    assert_flags_clear(&d, GH_PKT_TRUNCATED);
    assert_int_equal(d.p.icmp_type, 3);
    assert_int_equal(d.p.icmp_code, 3);
    assert_addr(&d.p.src, B4);
    assert_addr(&d.p.dst, A4);
    assert_int_equal(d.p.ttl, 250);
    assert_int_equal(d.p.icmp_inner.ip_ver, 4);
    assert_int_equal(d.p.icmp_inner.ip_proto, 17);
    assert_addr(&d.p.icmp_inner.src, A4);
    assert_addr(&d.p.icmp_inner.dst, B4);
    assert_int_equal(d.p.icmp_inner.sport, 5353);
    assert_int_equal(d.p.icmp_inner.dport, 53);
}

/* Time exceeded quoting IPv4 with options and the first 8 bytes of TCP. */
static void test_icmp_error_inner_tcp(void **state)
{
    static const uint8_t ra[4] = {148, 4, 0, 0};
    static const uint8_t tcp8[8] = {0x9c, 0x40, 0, 80, 0, 0, 0x03, 0xe8};
    pb_opts o = {.len = 0};
    pb_ip4 inner = {.src = A4, .dst = B4, .ttl = 1};
    pb b;
    dec d;
    uint32_t in;

    (void)state;
    pb_opt_raw(&o, ra, sizeof(ra));
    inner.opts = &o;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &IP4);
    pb_icmp(&b, 11, 0, 0);
    in = pb_ipv4(&b, &inner);
    pb_set_len_field(&b, in, 1500);
    pb_put8(&b, in + 9, 6);
    pb_data(&b, tcp8, sizeof(tcp8)); /* ports and sequence number only */
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_ICMPV4 | GH_LAYER_ICMP_INNER);
    assert_int_equal(d.p.icmp_type, 11);
    assert_int_equal(d.p.icmp_inner.ip_ver, 4);
    assert_int_equal(d.p.icmp_inner.ip_proto, 6);
    assert_addr(&d.p.icmp_inner.src, A4);
    assert_addr(&d.p.icmp_inner.dst, B4);
    assert_int_equal(d.p.icmp_inner.sport, 40000);
    assert_int_equal(d.p.icmp_inner.dport, 80);
}

static void test_icmp6_echo(void **state)
{
    pb b;
    dec d;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &IP6);
    pb_icmp6(&b, 129, 0, 0xabcdu << 16 | 0x0102);
    pb_fill(&b, 'e', 16);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_ICMPV6);
    assert_int_equal(d.p.ip_proto, 58);
    assert_int_equal(d.p.icmp_type, 129);
    assert_int_equal(d.p.icmp_code, 0);
    assert_int_equal(d.p.icmp_id, 0xabcd);
    assert_int_equal(d.p.icmp_seq, 0x0102);
    assert_int_equal(d.p.sport, 0);
    assert_int_equal(d.p.l4_off, 54);
    assert_payload(&d, 62, 16);
}

static void test_icmp6_error_inner(void **state)
{
    pb_ip6 outer = {.src = B6, .dst = A6};
    pb b;
    dec d;
    uint32_t in;

    (void)state;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &outer);
    pb_icmp6(&b, 1, 4, 0);
    in = pb_ipv6(&b, &IP6);
    pb_set_len_field(&b, in, 200);
    pb_udp(&b, 5353, 53);
    pb_finalize(&b);

    run(&d, &b, GH_LINK_ETHERNET, true);
    assert_clean(&d);
    assert_layers(&d, GH_LAYER_ETH | GH_LAYER_IPV6 | GH_LAYER_ICMPV6 | GH_LAYER_ICMP_INNER);
    assert_int_equal(d.p.icmp_type, 1);
    assert_int_equal(d.p.icmp_code, 4);
    assert_addr(&d.p.src, B6);
    assert_int_equal(d.p.icmp_inner.ip_ver, 6);
    assert_int_equal(d.p.icmp_inner.ip_proto, 17);
    assert_addr(&d.p.icmp_inner.src, A6);
    assert_addr(&d.p.icmp_inner.dst, B6);
    assert_int_equal(d.p.icmp_inner.sport, 5353);
    assert_int_equal(d.p.icmp_inner.dport, 53);
}

/* ---- one input per anomaly ---- */

/* Each input must raise exactly its anomaly (a second one would mean a check
 * fired on the wrong layer) and stop or go on decoding as the layer says. */
typedef struct acase {
    gh_anomaly anom;
    const char *variant;
    uint32_t linktype;
    void (*build)(pb *b);
    uint32_t must;       /* layers still decoded */
    uint32_t none;       /* layers that must not be marked decoded */
    uint32_t flags;      /* GH_PKT_* that must be set */
    bool csum;           /* checksum anomaly: absent with verification off */
} acase;

static void b_eth_ip4_udp(pb *b)
{
    eth_ip4_udp(b, 10);
}

static void b_eth_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_truncate(b, 13);
}

static void b_vlan_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_vlan(b, 0x8100, 5);
    pb_truncate(b, 16);
}

static void b_vlan_three(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_vlan(b, 0x88a8, 1);
    pb_vlan(b, 0x8100, 2);
    pb_vlan(b, 0x8100, 3);
    add_ip4_udp(b);
}

static void b_mpls_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_put16(b, 12, 0x8847);
    pb_fill(b, 0, 3);
}

static void b_mpls_nine(pb *b)
{
    int i;

    pb_init(b);
    pb_eth(b);
    for (i = 0; i < GH_MAX_MPLS + 1; i++)
        pb_mpls(b, 100 + (uint32_t)i, 64);
    add_ip4_udp(b);
}

static void b_mpls_bad_payload(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_mpls(b, 100, 64);
    pb_fill(b, 0x55, 40); /* first nibble 5: neither IP nor control word */
    pb_finalize(b);
}

/* Pseudowire whose inner Ethernet header is cut short. */
static void b_mpls_pw_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_mpls(b, 100, 64);
    pb_pw_cw(b);
    pb_fill(b, 0x02, 10);
    pb_finalize(b);
}

/* Label with a control-word nibble, then only 2 bytes. */
static void b_mpls_cw_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_mpls(b, 100, 64);
    pb_fill(b, 0, 2);
    pb_finalize(b);
}

static void b_sll_short(pb *b)
{
    pb_init(b);
    pb_sll(b);
    pb_truncate(b, 15);
}

static void b_sll2_short(pb *b)
{
    pb_init(b);
    pb_sll2(b);
    pb_truncate(b, 19);
}

static void b_null_short(pb *b)
{
    pb_init(b);
    pb_null(b, 2);
    pb_truncate(b, 3);
}

static void b_raw_bad_version(pb *b)
{
    pb_init(b);
    add_ip4_udp(b);
    pb_put8(b, 0, 0x55);
}

static void b_empty(pb *b)
{
    pb_init(b);
}

static void b_ip4_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    add_ip4_udp(b);
    pb_truncate(b, 14 + 19);
}

static void b_raw_ip4_short(pb *b)
{
    pb_init(b);
    add_ip4_udp(b);
    pb_truncate(b, 19);
}

/* Ethertype says IPv4, the header says 6. */
static void b_ip4_wrong_ver(pb *b)
{
    pb_init(b);
    pb_eth(b);
    add_ip6_tcp(b);
    pb_put16(b, 12, 0x0800);
}

static void b_ip6_only(pb *b)
{
    pb_init(b);
    add_ip6_tcp(b);
}

static void b_ip4_only(pb *b)
{
    pb_init(b);
    pb_ipv4(b, &IP4);
    pb_udp(b, 5353, 53);
    pb_fill(b, 'u', 40);
    pb_finalize(b);
}

static void b_ip4_hlen_small(pb *b)
{
    eth_ip4_udp(b, 10);
    pb_put8(b, 14, 0x44);
    pb_ipv4_fix_csum(b, 14);
}

static void b_ip4_len_lt_hlen(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_set_len_field(b, pb_ipv4(b, &IP4), 16);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

static void b_ip4_trunc(pb *b)
{
    uint32_t ipo;

    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv4(b, &IP4);
    pb_tcp(b, &TCPH);
    pb_fill(b, 't', 30);
    pb_set_len_field(b, ipo, 600);
    pb_finalize(b);
}

/* Total length 0 (captured before TSO) and checksums the NIC never wrote. */
static void b_ip4_tso(pb *b)
{
    uint32_t ipo, tcpo;

    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv4(b, &IP4);
    tcpo = pb_tcp(b, &TCPH);
    pb_fill(b, 't', 100);
    pb_set_len_field(b, ipo, 0);
    pb_finalize(b);
    pb_corrupt_csum(b, ipo);
    pb_corrupt_csum(b, tcpo);
}

static void eth_ip4_opts_udp(pb *b, const void *opts, size_t n)
{
    pb_opts o = {.len = 0};
    pb_ip4 ip = IP4;

    pb_opt_raw(&o, opts, n);
    ip.opts = &o;
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &ip);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

static void b_ip4_opt_len1(pb *b)
{
    static const uint8_t o[4] = {1, 7, 1, 0}; /* NOP, RR with length 1 */
    eth_ip4_opts_udp(b, o, sizeof(o));
}

static void b_ip4_opt_len0(pb *b)
{
    static const uint8_t o[4] = {0x83, 0, 0, 0}; /* LSRR with length 0 */
    eth_ip4_opts_udp(b, o, sizeof(o));
}

static void b_ip4_opt_past_hdr(pb *b)
{
    static const uint8_t o[8] = {7, 11, 4, 0, 0, 0, 0, 0}; /* RR of 11 in 8 bytes */
    eth_ip4_opts_udp(b, o, sizeof(o));
}

/* Offset 65528 plus 16 data bytes ends past 65535. */
static void b_ip4_frag_big(pb *b)
{
    pb_ip4 ip = IP4;
    uint32_t ipo;

    ip.frag_off = 65528;
    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv4(b, &ip);
    pb_fill(b, 0, 16);
    pb_put8(b, ipo + 9, 17);
    pb_finalize(b);
}

static void b_ip4_csum(pb *b)
{
    eth_ip4_udp(b, 10);
    pb_corrupt_csum(b, 14);
}

static void b_ip6_short(pb *b)
{
    pb_init(b);
    pb_eth(b);
    add_ip6_tcp(b);
    pb_truncate(b, 14 + 39);
}

/* Ethertype says IPv6, the header says 4 (long enough for an IPv6 header,
 * so the version, not the size, is what is wrong). */
static void b_ip6_wrong_ver(pb *b)
{
    eth_ip4_udp(b, 40);
    pb_put16(b, 12, 0x86dd);
}

static void b_ip6_trunc(pb *b)
{
    uint32_t ipo;

    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv6(b, &IP6);
    pb_udp(b, 5353, 53);
    pb_fill(b, 't', 30);
    pb_set_len_field(b, ipo, 500);
    pb_finalize(b);
}

/* Hop-by-hop header claiming 48 bytes with 16 left in the packet. */
static void b_ip6_trunc_exthdr(pb *b)
{
    uint32_t h;

    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    h = pb_v6_hopopts(b, 8);
    pb_udp(b, 5353, 53);
    pb_finalize(b);
    pb_put8(b, h + 1, 5);
}

/* PadN of 10 bytes inside an 8-byte options header. */
static void b_ip6_bad_optlen(pb *b)
{
    uint32_t h;

    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    h = pb_v6_hopopts(b, 8);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
    pb_put8(b, h + 3, 10);
}

static void b_ip6_hop_not_first(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_v6_dstopts(b, 8);
    pb_v6_hopopts(b, 8);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

static void b_ip6_two_fh(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_v6_frag(b, 0, true, 1);
    pb_v6_frag(b, 0, true, 1);
    pb_udp(b, 5353, 53);
    pb_fill(b, 0, 48); /* 72 / 56 bytes after the headers: multiples of 8 */
    pb_finalize(b);
}

static void b_ip6_nine_ext(pb *b)
{
    int i;

    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    for (i = 0; i < 9; i++)
        pb_v6_dstopts(b, 8);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

/* A non-last fragment of 13 data bytes. */
static void b_ip6_frag_len(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_v6_frag(b, 0, true, 9);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
}

static void b_ip6_frag_big(pb *b)
{
    uint32_t fh;

    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    fh = pb_v6_frag(b, 65528, false, 9);
    pb_fill(b, 0, 16);
    pb_put8(b, fh, 17);
    pb_finalize(b);
}

/* IPv4 carrying @p n bytes that claim to be protocol @p proto. */
static void eth_ip4_short_l4(pb *b, uint8_t proto, size_t n)
{
    uint32_t ipo;

    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv4(b, &IP4);
    pb_fill(b, 0, n);
    pb_put8(b, ipo + 9, proto);
    pb_finalize(b);
}

static void b_tcp_short(pb *b)
{
    eth_ip4_short_l4(b, 6, 19);
}

static void b_tcp_hlen_small(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_tcp(b, &TCPH);
    payload5(b);
    pb_finalize(b);
    pb_put8(b, 14 + 20 + 12, 4 << 4);
}

static void b_tcp_hlen_beyond(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_tcp(b, &TCPH);
    pb_fill(b, 0, 10);
    pb_finalize(b);
    pb_put8(b, 14 + 20 + 12, 15 << 4); /* 60 bytes of header in a 30-byte segment */
}

static void eth_ip4_tcp_opts(pb *b, const void *opts, size_t n)
{
    pb_opts o = {.len = 0};
    pb_tcph t = TCPH;

    pb_opt_raw(&o, opts, n);
    t.opts = &o;
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_tcp(b, &t);
    payload5(b);
    pb_finalize(b);
}

#define TCP_OPTS_BUILDER(name, ...)                                                       \
    static void name(pb *b)                                                               \
    {                                                                                     \
        static const uint8_t o[] = {__VA_ARGS__};                                         \
        eth_ip4_tcp_opts(b, o, sizeof(o));                                                \
    }

TCP_OPTS_BUILDER(b_tcpopt_len1, 1, 1, 30, 1)
TCP_OPTS_BUILDER(b_tcpopt_past, 1, 8, 10, 0)
TCP_OPTS_BUILDER(b_tcpopt_mss5, 2, 5, 5, 0xb4, 0, 1, 1, 1)
TCP_OPTS_BUILDER(b_tcpopt_ws4, 3, 4, 7, 0)
TCP_OPTS_BUILDER(b_tcpopt_sackok3, 4, 3, 0, 1)
TCP_OPTS_BUILDER(b_tcpopt_ts8, 8, 8, 0, 0, 0, 1, 0, 0)
TCP_OPTS_BUILDER(b_tcpopt_sack11, 5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0)
TCP_OPTS_BUILDER(b_tcpopt_dup_mss, 2, 4, 5, 0xb4, 2, 4, 5, 0xb4)
TCP_OPTS_BUILDER(b_tcpopt_dup_ws, 3, 3, 7, 3, 3, 7, 0, 0)
TCP_OPTS_BUILDER(b_tcpopt_dup_sackok, 4, 2, 4, 2)
TCP_OPTS_BUILDER(b_tcpopt_dup_ts, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 8, 10, 0, 0, 0, 2,
                 0, 0, 0, 0)

static void b_tcp_csum4(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_tcp(b, &TCPH);
    payload5(b);
    pb_finalize(b);
    pb_corrupt_csum(b, 34);
}

static void b_tcp_csum6(pb *b)
{
    pb_init(b);
    pb_eth(b);
    add_ip6_tcp(b);
    pb_corrupt_csum(b, 54);
}

static void b_udp_short(pb *b)
{
    eth_ip4_short_l4(b, 17, 7);
}

static void eth_ip4_udp_len(pb *b, uint16_t udp_len)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_set_len_field(b, pb_udp(b, 5353, 53), udp_len);
    pb_fill(b, 0, 10);
    pb_finalize(b);
}

static void b_udp_len7(pb *b)
{
    eth_ip4_udp_len(b, 7);
}

static void b_udp_len_long(pb *b)
{
    eth_ip4_udp_len(b, 30); /* 18 bytes in the IP payload */
}

static void b_udp_len_short(pb *b)
{
    eth_ip4_udp_len(b, 12);
}

static void b_udp_len_ip6(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_set_len_field(b, pb_udp(b, 5353, 53), 100);
    pb_fill(b, 0, 10);
    pb_finalize(b);
}

static void b_udp_csum4(pb *b)
{
    eth_ip4_udp(b, 10);
    pb_corrupt_csum(b, 34);
}

static void b_udp_csum6(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_udp(b, 5353, 53);
    payload5(b);
    pb_finalize(b);
    pb_corrupt_csum(b, 54);
}

static void b_icmp_short(pb *b)
{
    eth_ip4_short_l4(b, 1, 7);
}

static void b_icmp_csum(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv4(b, &IP4);
    pb_icmp(b, 8, 0, 0x00010001);
    payload5(b);
    pb_finalize(b);
    pb_corrupt_csum(b, 34);
}

static void b_icmp6_short(pb *b)
{
    uint32_t ipo;

    pb_init(b);
    pb_eth(b);
    ipo = pb_ipv6(b, &IP6);
    pb_fill(b, 0, 7);
    pb_put8(b, ipo + 6, 58);
    pb_finalize(b);
}

static void b_icmp6_csum(pb *b)
{
    pb_init(b);
    pb_eth(b);
    pb_ipv6(b, &IP6);
    pb_icmp6(b, 128, 0, 0x00010001);
    payload5(b);
    pb_finalize(b);
    pb_corrupt_csum(b, 54);
}

#define ETH GH_LINK_ETHERNET
#define AFTER_L2 (L3_LAYERS | L4_LAYERS | GH_LAYER_ICMP_INNER | GH_LAYER_OTHER_L4)
#define AFTER_IP (L4_LAYERS | GH_LAYER_ICMP_INNER | GH_LAYER_OTHER_L4)

static const acase anomaly_cases[] = {
    {GH_ANOM_LINK_UNSUPPORTED, "link type 147", 147, b_eth_ip4_udp, 0, ALL_LAYERS, 0, false},
    {GH_ANOM_ETH_PKT_TOO_SMALL, "13 bytes", ETH, b_eth_short, 0, ALL_LAYERS, 0, false},
    {GH_ANOM_ETH_PKT_TOO_SMALL, "empty", ETH, b_empty, 0, ALL_LAYERS, 0, false},
    {GH_ANOM_ETH_PKT_TOO_SMALL, "pseudowire inner frame", ETH, b_mpls_pw_short,
     GH_LAYER_MPLS, AFTER_L2, 0, false},
    {GH_ANOM_MPLS_HEADER_TOO_SMALL, "control word cut", ETH, b_mpls_cw_short,
     GH_LAYER_ETH | GH_LAYER_MPLS, AFTER_L2 | GH_LAYER_PW, 0, false},
    {GH_ANOM_VLAN_HEADER_TOO_SMALL, "2 of 4 bytes", ETH, b_vlan_short, GH_LAYER_ETH,
     GH_LAYER_VLAN | AFTER_L2, 0, false},
    {GH_ANOM_VLAN_TOO_MANY_LAYERS, "3 tags", ETH, b_vlan_three, GH_LAYER_ETH, AFTER_L2, 0,
     false},
    {GH_ANOM_MPLS_HEADER_TOO_SMALL, "3 of 4 bytes", ETH, b_mpls_short, GH_LAYER_ETH,
     GH_LAYER_MPLS | AFTER_L2, 0, false},
    {GH_ANOM_MPLS_TOO_MANY_LABELS, "9 labels", ETH, b_mpls_nine, GH_LAYER_ETH, AFTER_L2, 0,
     false},
    {GH_ANOM_MPLS_BAD_PAYLOAD, "first nibble 5", ETH, b_mpls_bad_payload,
     GH_LAYER_ETH | GH_LAYER_MPLS, AFTER_L2 | GH_LAYER_PW, 0, false},
    {GH_ANOM_SLL_PKT_TOO_SMALL, "15 bytes", GH_LINK_SLL, b_sll_short, 0, ALL_LAYERS, 0,
     false},
    {GH_ANOM_SLL2_PKT_TOO_SMALL, "19 bytes", GH_LINK_SLL2, b_sll2_short, 0, ALL_LAYERS, 0,
     false},
    {GH_ANOM_NULL_PKT_TOO_SMALL, "null, 3 bytes", GH_LINK_NULL, b_null_short, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_CHDLC_PKT_TOO_SMALL, "chdlc, 3 bytes", GH_LINK_CHDLC, b_null_short, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_NULL_PKT_TOO_SMALL, "loop, 3 bytes", GH_LINK_LOOP, b_null_short, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_RAW_BAD_VERSION, "raw, version 5", GH_LINK_RAW, b_raw_bad_version, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_RAW_BAD_VERSION, "DLT_RAW 12, version 5", GH_LINK_RAW_DLT, b_raw_bad_version,
     0, ALL_LAYERS, 0, false},
    {GH_ANOM_IPV4_PKT_TOO_SMALL, "19 bytes", ETH, b_ip4_short, GH_LAYER_ETH, AFTER_L2, 0,
     false},
    {GH_ANOM_IPV4_PKT_TOO_SMALL, "raw, 19 bytes", GH_LINK_RAW, b_raw_ip4_short, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_IPV4_WRONG_IP_VER, "ethertype IPv4, version 6", ETH, b_ip4_wrong_ver,
     GH_LAYER_ETH, AFTER_L2, 0, false},
    {GH_ANOM_IPV4_WRONG_IP_VER, "link IPv4, version 6", GH_LINK_IPV4, b_ip6_only, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_IPV4_HLEN_TOO_SMALL, "IHL 4", ETH, b_ip4_hlen_small, GH_LAYER_ETH,
     GH_LAYER_IPV4 | AFTER_IP, 0, false},
    {GH_ANOM_IPV4_IPLEN_SMALLER_THAN_HLEN, "total length 16", ETH, b_ip4_len_lt_hlen,
     GH_LAYER_ETH, GH_LAYER_IPV4 | AFTER_IP, 0, false},
    {GH_ANOM_IPV4_TRUNC_PKT, "600 claimed, 70 captured", ETH, b_ip4_trunc,
     GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP, 0, GH_PKT_TRUNCATED, false},
    {GH_ANOM_IPV4_ZERO_LEN_TSO, "total length 0, bad checksums", ETH, b_ip4_tso,
     GH_LAYER_ETH | GH_LAYER_IPV4 | GH_LAYER_TCP, 0, GH_PKT_TSO, false},
    {GH_ANOM_IPV4_OPT_INVALID_LEN, "RR length 1", ETH, b_ip4_opt_len1, GH_LAYER_ETH, 0, 0,
     false},
    {GH_ANOM_IPV4_OPT_INVALID_LEN, "LSRR length 0", ETH, b_ip4_opt_len0, GH_LAYER_ETH, 0,
     0, false},
    {GH_ANOM_IPV4_OPT_MALFORMED, "RR past the header", ETH, b_ip4_opt_past_hdr,
     GH_LAYER_ETH, 0, 0, false},
    {GH_ANOM_IPV4_FRAG_PKT_TOO_LARGE, "offset 65528 + 16", ETH, b_ip4_frag_big,
     GH_LAYER_ETH | GH_LAYER_IPV4, L4_LAYERS, GH_PKT_FRAGMENT, false},
    {GH_ANOM_IPV4_CSUM_BAD, "header checksum", ETH, b_ip4_csum, GH_LAYER_ETH, 0, 0, true},
    {GH_ANOM_IPV6_PKT_TOO_SMALL, "39 bytes", ETH, b_ip6_short, GH_LAYER_ETH, AFTER_L2, 0,
     false},
    {GH_ANOM_IPV6_WRONG_IP_VER, "ethertype IPv6, version 4", ETH, b_ip6_wrong_ver,
     GH_LAYER_ETH, AFTER_L2, 0, false},
    {GH_ANOM_IPV6_WRONG_IP_VER, "link IPv6, version 4", GH_LINK_IPV6, b_ip4_only, 0,
     ALL_LAYERS, 0, false},
    {GH_ANOM_IPV6_TRUNC_PKT, "500 claimed, 38 captured", ETH, b_ip6_trunc,
     GH_LAYER_ETH | GH_LAYER_IPV6, 0, GH_PKT_TRUNCATED, false},
    {GH_ANOM_IPV6_TRUNC_EXTHDR, "hop-by-hop 48 of 16", ETH, b_ip6_trunc_exthdr,
     GH_LAYER_ETH, AFTER_IP, 0, false},
    {GH_ANOM_IPV6_EXTHDR_INVALID_OPTLEN, "PadN past the header", ETH, b_ip6_bad_optlen,
     GH_LAYER_ETH, 0, 0, false},
    {GH_ANOM_IPV6_HOPOPTS_NOT_FIRST, "after dstopts", ETH, b_ip6_hop_not_first,
     GH_LAYER_ETH, 0, 0, false},
    {GH_ANOM_IPV6_EXTHDR_DUPL_FH, "two fragment headers", ETH, b_ip6_two_fh, GH_LAYER_ETH,
     0, GH_PKT_FRAGMENT, false},
    {GH_ANOM_IPV6_EXTHDR_TOO_MANY, "9 headers", ETH, b_ip6_nine_ext, GH_LAYER_ETH,
     AFTER_IP, 0, false},
    {GH_ANOM_IPV6_FRAG_INVALID_LENGTH, "13 bytes with MF", ETH, b_ip6_frag_len,
     GH_LAYER_ETH, 0, GH_PKT_FRAGMENT, false},
    {GH_ANOM_IPV6_FRAG_PKT_TOO_LARGE, "offset 65528 + 16", ETH, b_ip6_frag_big,
     GH_LAYER_ETH | GH_LAYER_IPV6, L4_LAYERS, GH_PKT_FRAGMENT, false},
    {GH_ANOM_TCP_PKT_TOO_SMALL, "19 bytes", ETH, b_tcp_short, GH_LAYER_ETH | GH_LAYER_IPV4,
     GH_LAYER_TCP, 0, false},
    {GH_ANOM_TCP_HLEN_TOO_SMALL, "data offset 4", ETH, b_tcp_hlen_small,
     GH_LAYER_ETH | GH_LAYER_IPV4, GH_LAYER_TCP, 0, false},
    {GH_ANOM_TCP_HLEN_BEYOND_PKT, "data offset 15, 30 bytes", ETH, b_tcp_hlen_beyond,
     GH_LAYER_ETH | GH_LAYER_IPV4, GH_LAYER_TCP, 0, false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "length 1", ETH, b_tcpopt_len1, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "TS past the header", ETH, b_tcpopt_past, GH_LAYER_IPV4,
     0, 0, false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "MSS length 5", ETH, b_tcpopt_mss5, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "WS length 4", ETH, b_tcpopt_ws4, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "SACKOK length 3", ETH, b_tcpopt_sackok3, GH_LAYER_IPV4,
     0, 0, false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "TS length 8", ETH, b_tcpopt_ts8, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_INVALID_LEN, "SACK length 11", ETH, b_tcpopt_sack11, GH_LAYER_IPV4, 0,
     0, false},
    {GH_ANOM_TCP_OPT_DUPLICATE, "MSS twice", ETH, b_tcpopt_dup_mss, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_DUPLICATE, "WS twice", ETH, b_tcpopt_dup_ws, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_OPT_DUPLICATE, "SACKOK twice", ETH, b_tcpopt_dup_sackok, GH_LAYER_IPV4, 0,
     0, false},
    {GH_ANOM_TCP_OPT_DUPLICATE, "TS twice", ETH, b_tcpopt_dup_ts, GH_LAYER_IPV4, 0, 0,
     false},
    {GH_ANOM_TCP_CSUM_BAD, "IPv4", ETH, b_tcp_csum4, GH_LAYER_IPV4 | GH_LAYER_TCP, 0, 0,
     true},
    {GH_ANOM_TCP_CSUM_BAD, "IPv6", ETH, b_tcp_csum6, GH_LAYER_IPV6 | GH_LAYER_TCP, 0, 0,
     true},
    {GH_ANOM_UDP_PKT_TOO_SMALL, "7 bytes", ETH, b_udp_short, GH_LAYER_IPV4, GH_LAYER_UDP,
     0, false},
    {GH_ANOM_UDP_LEN_INVALID, "length 7", ETH, b_udp_len7, GH_LAYER_IPV4, 0, 0, false},
    {GH_ANOM_UDP_LEN_INVALID, "30, IP payload 18", ETH, b_udp_len_long, GH_LAYER_IPV4, 0,
     0, false},
    {GH_ANOM_UDP_LEN_INVALID, "12, IP payload 18", ETH, b_udp_len_short, GH_LAYER_IPV4, 0,
     0, false},
    {GH_ANOM_UDP_LEN_INVALID, "IPv6, 100 of 18", ETH, b_udp_len_ip6, GH_LAYER_IPV6, 0, 0,
     false},
    {GH_ANOM_UDP_CSUM_BAD, "IPv4", ETH, b_udp_csum4, GH_LAYER_IPV4 | GH_LAYER_UDP, 0, 0,
     true},
    {GH_ANOM_UDP_CSUM_BAD, "IPv6", ETH, b_udp_csum6, GH_LAYER_IPV6 | GH_LAYER_UDP, 0, 0,
     true},
    {GH_ANOM_ICMPV4_PKT_TOO_SMALL, "7 bytes", ETH, b_icmp_short, GH_LAYER_IPV4,
     GH_LAYER_ICMPV4 | GH_LAYER_ICMP_INNER, 0, false},
    {GH_ANOM_ICMPV4_CSUM_BAD, "echo", ETH, b_icmp_csum, GH_LAYER_IPV4 | GH_LAYER_ICMPV4, 0,
     0, true},
    {GH_ANOM_ICMPV6_PKT_TOO_SMALL, "7 bytes", ETH, b_icmp6_short, GH_LAYER_IPV6,
     GH_LAYER_ICMPV6 | GH_LAYER_ICMP_INNER, 0, false},
    {GH_ANOM_ICMPV6_CSUM_BAD, "echo", ETH, b_icmp6_csum, GH_LAYER_IPV6 | GH_LAYER_ICMPV6, 0,
     0, true},
};

#define N_CASES (sizeof(anomaly_cases) / sizeof(anomaly_cases[0]))

static void test_anomaly_case(void **state)
{
    const acase *c = *state;
    pb b;
    dec d;

    c->build(&b);
    run(&d, &b, c->linktype, true);
    assert_anoms(&d, BIT(c->anom));
    assert_true(gh_packet_has_anomaly(&d.p, c->anom));
    if ((d.p.layers & c->must) != c->must)
        fail_msg("layers 0x%x lack 0x%x", d.p.layers, c->must & ~d.p.layers);
    if (d.p.layers & c->none)
        fail_msg("layers 0x%x decoded past the anomaly (0x%x)", d.p.layers,
                 d.p.layers & c->none);
    assert_flags_set(&d, c->flags);
    if (c->none & (GH_LAYER_IPV4 | GH_LAYER_IPV6))
        assert_int_equal(d.p.ip_ver, 0);
    if (c->csum) {
        dec off;

        run(&off, &b, c->linktype, false);
        assert_clean(&off);
        assert_true((off.p.layers & c->must) == c->must);
    }
}

/* Every anomaly in GH_ANOMALY_LIST has at least one case above. */
static void test_every_anomaly_has_a_case(void **state)
{
    uint64_t seen = 0;
    size_t i;
    int a;

    (void)state;
    assert_true(GH_ANOM_COUNT <= 64);
    for (i = 0; i < N_CASES; i++)
        seen |= BIT(anomaly_cases[i].anom);
    for (a = 0; a < GH_ANOM_COUNT; a++)
        if (!(seen & BIT(a)))
            fail_msg("no test input for anomaly %s", anom_names[a]);
}

/* ---- names and formatting ---- */

static void test_anomaly_names(void **state)
{
    int a, b2;

    (void)state;
    assert_string_equal(gh_anomaly_name(GH_ANOM_IPV4_TRUNC_PKT), "ipv4.trunc_pkt");
    assert_string_equal(gh_anomaly_name(GH_ANOM_LINK_UNSUPPORTED), "link.unsupported_type");
    assert_string_equal(gh_anomaly_name(GH_ANOM_ICMPV6_CSUM_BAD), "icmpv6.csum_bad");
    assert_string_equal(gh_anomaly_name(GH_ANOM_MPLS_BAD_PAYLOAD), "mpls.unknown_payload_type");
    for (a = 0; a < GH_ANOM_COUNT; a++) {
        assert_string_equal(gh_anomaly_name((gh_anomaly)a), anom_names[a]);
        for (b2 = 0; b2 < a; b2++)
            assert_string_not_equal(anom_names[a], anom_names[b2]);
    }
    assert_string_equal(gh_anomaly_name(GH_ANOM_COUNT), "unknown");
    assert_string_equal(gh_anomaly_name((gh_anomaly)(GH_ANOM_COUNT + 1000)), "unknown");
}

static void check_addr_str(const char *in, int ver, const char *want)
{
    gh_addr a;
    char buf[64];
    const char *s;

    memset(&a, 0, sizeof(a));
    assert_int_equal(inet_pton(ver == 4 ? AF_INET : AF_INET6, in, a.b), 1);
    memset(buf, 'x', sizeof(buf));
    s = gh_addr_str(&a, ver, buf, sizeof(buf));
    assert_ptr_equal(s, buf);
    assert_string_equal(s, want);
}

/* RFC 5952 text: lowercase, longest zero run compressed (the first of equal
 * runs), a single zero group not compressed, IPv4-mapped in dotted form. */
static void test_addr_str(void **state)
{
    char *small;
    gh_addr a;
    const char *s;

    (void)state;
    check_addr_str("192.0.2.1", 4, "192.0.2.1");
    check_addr_str("0.0.0.0", 4, "0.0.0.0");
    check_addr_str("255.255.255.255", 4, "255.255.255.255");
    check_addr_str("2001:DB8::1", 6, "2001:db8::1");
    check_addr_str("::", 6, "::");
    check_addr_str("::1", 6, "::1");
    check_addr_str("fe80::", 6, "fe80::");
    check_addr_str("2001:db8:0:1:1:1:1:1", 6, "2001:db8:0:1:1:1:1:1");
    check_addr_str("2001:0:0:1:0:0:0:1", 6, "2001:0:0:1::1");
    check_addr_str("2001:db8:0:0:1:0:0:1", 6, "2001:db8::1:0:0:1");
    check_addr_str("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6,
                   "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
    check_addr_str("::ffff:192.0.2.1", 6, "::ffff:192.0.2.1");

    /* A buffer too small for the text is never overrun (ASan checks). */
    memset(&a, 0, sizeof(a));
    assert_int_equal(inet_pton(AF_INET6, "2001:db8:1:2:3:4:5:6", a.b), 1);
    small = malloc(8);
    assert_non_null(small);
    s = gh_addr_str(&a, 6, small, 8);
    if (s)
        assert_true(strlen(s) < 8);
    free(small);
}

/* ---- main: fixed tests, then one named test per anomaly case ---- */

#define T(f) cmocka_unit_test_teardown(f, free_bufs)

/* gh_csum_partial against the RFC 1071 definition (big-endian 16-bit words,
 * an odd last byte padded), at every alignment and many lengths, with a
 * carried-in sum, and on a buffer of 0xff bytes large enough to make the
 * vector path empty its 32-bit lanes several times. */
static void test_checksum_differential(void **state)
{
    (void)state;
    enum { BIG = (3u << 20) + 77 };
    uint8_t *buf = malloc(BIG);
    assert_non_null(buf);
    srand(99);
    for (size_t i = 0; i < 4096; i++)
        buf[i] = (uint8_t)rand();
    for (size_t len = 0; len <= 3000; len += len < 80 ? 1 : 37)
        for (size_t al = 0; al < 16; al++) {
            uint32_t init = (uint32_t)rand() & 0x3ffff;
            uint64_t want = init;
            for (size_t i = 0; i + 1 < len; i += 2)
                want += (uint32_t)buf[al + i] << 8 | buf[al + i + 1];
            if (len & 1)
                want += (uint32_t)buf[al + len - 1] << 8;
            while (want >> 16)
                want = (want & 0xffff) + (want >> 16);
            assert_int_equal(gh_csum_fold(gh_csum_partial(buf + al, len, init)),
                             (uint16_t)~want);
        }
    memset(buf, 0xff, BIG);
    for (size_t len = BIG - 5; len <= BIG; len++) {
        /* every word 0xffff: the one's-complement sum is 0xffff (a pad byte
         * 0xff00 on odd lengths adds to it) */
        uint64_t want = (uint64_t)(len / 2) * 0xffff + (len & 1 ? 0xff00 : 0);
        while (want >> 16)
            want = (want & 0xffff) + (want >> 16);
        assert_int_equal(gh_csum_fold(gh_csum_partial(buf, len, 0)), (uint16_t)~want);
    }
    free(buf);
}

/* The dispatch hash of --threads: one value for both directions, every link
 * type, the fragments of a datagram and the datagram whole, and the ICMP
 * errors a router sends about the flow; the addresses come from the
 * decoder's own link-layer walk. */
static uint32_t hash_of(const pb *b, uint32_t linktype)
{
    return gh_flow_hash_frame(linktype, b->buf, b->len);
}

static void build_udp4(pb *b, bool vlan, const char *src, const char *dst, uint16_t sport,
                       uint16_t dport, bool mf, uint16_t frag_off)
{
    pb_init(b);
    pb_eth(b);
    if (vlan)
        pb_vlan(b, 0x8100, 7);
    uint32_t ip = pb_ipv4(b, &(pb_ip4){.src = src, .dst = dst, .id = 9, .mf = mf,
                                       .frag_off = frag_off});
    if (frag_off) {
        pb_put8(b, ip + 9, 17);
        pb_fill(b, 'x', 16);
    } else {
        pb_udp(b, sport, dport);
        pb_fill(b, 'x', 24);
    }
    pb_finalize(b);
}

static void test_flow_hash_frame(void **state)
{
    (void)state;
    pb b;
    build_udp4(&b, false, A4, B4, 5000, 53, false, 0);
    uint32_t h = hash_of(&b, GH_LINK_ETHERNET);
    gh_addr s, d;
    assert_int_equal(gh_decode_flow_addrs(GH_LINK_ETHERNET, b.buf, b.len, &s, &d), 4);
    build_udp4(&b, false, B4, A4, 53, 5000, false, 0);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);
    build_udp4(&b, true, A4, B4, 5001, 53, false, 0); /* VLANs and ports aside */
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);
    build_udp4(&b, false, A4, B4, 5000, 53, true, 0); /* first fragment */
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);
    build_udp4(&b, true, A4, B4, 0, 0, false, 24); /* last fragment: no ports */
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);
    build_udp4(&b, false, A4, "198.51.100.3", 5000, 53, false, 0);
    assert_int_not_equal(hash_of(&b, GH_LINK_ETHERNET), h);

    /* a router's port unreachable about A -> B goes with A <-> B ... */
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "203.0.113.1", .dst = A4});
    pb_icmp(&b, 3, 3, 0);
    pb_ipv4(&b, &(pb_ip4){.src = A4, .dst = B4});
    pb_udp(&b, 5000, 53);
    pb_finalize(&b);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);
    /* ... unless it is itself a fragment: then with its own pair, as its
     * other fragments, which quote nothing */
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "203.0.113.1", .dst = A4, .mf = true});
    pb_icmp(&b, 3, 3, 0);
    pb_ipv4(&b, &(pb_ip4){.src = A4, .dst = B4});
    pb_udp(&b, 5000, 53);
    pb_finalize(&b);
    uint32_t hf = hash_of(&b, GH_LINK_ETHERNET);
    build_udp4(&b, false, "203.0.113.1", A4, 0, 0, false, 24);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), hf);

    /* other link types walk to the same addresses */
    pb_init(&b);
    pb_sll2(&b);
    pb_ipv4(&b, &IP4);
    pb_udp(&b, 1, 2);
    pb_finalize(&b);
    assert_int_equal(hash_of(&b, GH_LINK_SLL2), h);
    pb_init(&b);
    pb_eth(&b);
    pb_mpls(&b, 100, 64);
    pb_ipv4(&b, &(pb_ip4){.src = B4, .dst = A4});
    pb_tcp(&b, &TCPH);
    pb_finalize(&b);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h);

    /* IPv6: an ICMPv6 error behind a destination options header */
    pb_init(&b);
    pb_null(&b, 24);
    pb_ipv6(&b, &IP6);
    pb_tcp(&b, &TCPH);
    pb_finalize(&b);
    uint32_t h6 = hash_of(&b, GH_LINK_NULL);
    assert_int_equal(gh_decode_flow_addrs(GH_LINK_NULL, b.buf, b.len, &s, &d), 6);
    pb_init(&b);
    pb_eth(&b);
    pb_ipv6(&b, &(pb_ip6){.src = "2001:db8:ff::1", .dst = B6});
    pb_v6_dstopts(&b, 8);
    pb_icmp6(&b, 1, 4, 0);
    pb_ipv6(&b, &(pb_ip6){.src = B6, .dst = A6});
    pb_tcp(&b, &TCPH);
    pb_finalize(&b);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), h6);

    /* not IP: 0 */
    pb_init(&b);
    pb_eth(&b);
    pb_put16(&b, 12, 0x0806);
    pb_fill(&b, 0, 28);
    assert_int_equal(hash_of(&b, GH_LINK_ETHERNET), 0);
    assert_int_equal(gh_decode_flow_addrs(GH_LINK_ETHERNET, b.buf, b.len, &s, &d), 0);
}

int main(void)
{
    static const struct CMUnitTest fixed[] = {
        T(test_flow_hash_frame),
        T(test_eth_ipv4_tcp),
        T(test_checksum_differential),
        T(test_eth_ipv6_udp),
        T(test_eth_padding_udp),
        T(test_eth_padding_tcp_ack),
        T(test_eth_trailer_ipv6),
        T(test_vlan),
        T(test_qinq),
        T(test_double_8021q),
        T(test_mpls_ipv4),
        T(test_mpls_ipv6),
        T(test_mpls_max_labels),
        T(test_mpls_pw_eth),
        T(test_mpls_pw_eth_vlan),
        T(test_sll),
        T(test_sll2),
        T(test_chdlc),
        T(test_null),
        T(test_loop),
        T(test_raw),
        T(test_link_ipv4_ipv6),
        T(test_eth_arp),
        T(test_eth_other_l3),
        T(test_ipv4_options),
        T(test_ipv4_frag_first),
        T(test_frag_first_no_csum),
        T(test_ipv4_frag_middle_last),
        T(test_ipv4_truncated),
        T(test_ipv4_zero_len_tso),
        T(test_ipv4_other_l4),
        T(test_ipv6_hopopts),
        T(test_ipv6_routing),
        T(test_ipv6_routing_final_dst_csum),
        T(test_ipv6_dstopts),
        T(test_ipv6_chain),
        T(test_ipv6_eight_exthdrs),
        T(test_ipv6_frag_first),
        T(test_ipv6_frag_middle),
        T(test_ipv6_other_l4),
        T(test_tcp_all_options),
        T(test_tcp_sack_four_blocks),
        T(test_tcp_opt_eol),
        T(test_tcp_flags),
        T(test_udp_zero_csum_ipv4),
        T(test_icmp_echo),
        T(test_icmp_error_inner_udp),
        T(test_icmp_error_inner_tcp),
        T(test_icmp6_echo),
        T(test_icmp6_error_inner),
        T(test_every_anomaly_has_a_case),
        T(test_anomaly_names),
        T(test_addr_str),
    };
    enum { NFIXED = sizeof(fixed) / sizeof(fixed[0]) };
    static struct CMUnitTest tests[NFIXED + N_CASES];
    static char names[N_CASES][96];
    size_t i;

    memcpy(tests, fixed, sizeof(fixed));
    for (i = 0; i < N_CASES; i++) {
        const acase *c = &anomaly_cases[i];

        snprintf(names[i], sizeof(names[i]), "anomaly %s (%s)", anom_names[c->anom],
                 c->variant);
        tests[NFIXED + i] = (struct CMUnitTest){
            .name = names[i],
            .test_func = test_anomaly_case,
            .teardown_func = free_bufs,
            .initial_state = (void *)c,
        };
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
