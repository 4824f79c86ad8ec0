/* Reject answers (gh_reject_build): each answer is decoded again with
 * checksum verification, so a wrong checksum, length or address shows up as
 * an anomaly or a wrong field; the TCP RST sequence numbers follow RFC 793's
 * reset generation; packets that must not be answered get nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "gatehouse/decode.h"
#include "gatehouse/reject.h"
#include "pktbuild.h"

static const gh_decode_opts VERIFY = {.verify_checksums = true};

static void decode_pb(pb *b, gh_packet *p)
{
    assert_int_equal(gh_decode(p, GH_LINK_RAW, b->buf, b->len, &VERIFY), 0);
}

/* Build the answer to @p p and decode it into @p a: no anomaly, so its IP,
 * TCP, UDP, ICMP and ICMPv6 checksums and lengths are right. */
static size_t answer(const gh_packet *p, uint8_t *out, gh_packet *a)
{
    size_t len = gh_reject_build(p, out);
    if (len) {
        assert_true(len <= GH_REJECT_MAX);
        assert_int_equal(gh_decode(a, GH_LINK_RAW, out, (uint32_t)len, &VERIFY), 0);
        /* back to the sender, from the address it wrote to */
        assert_memory_equal(&a->src, &p->dst, sizeof(gh_addr));
        assert_memory_equal(&a->dst, &p->src, sizeof(gh_addr));
    }
    return len;
}

static void tcp_case(bool v6, uint8_t flags, size_t payload, gh_packet *p, gh_packet *a,
                     pb *b, uint8_t *out)
{
    pb_init(b);
    if (v6)
        pb_ipv6(b, &(pb_ip6){.src = "2001:db8::1", .dst = "2001:db8::2"});
    else
        pb_ipv4(b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
    pb_tcp(b, &(pb_tcph){.sport = 40000, .dport = 22, .seq = 1000, .ack = 5000,
                         .flags = flags, .win = 1024});
    pb_fill(b, 'x', payload);
    pb_finalize(b);
    decode_pb(b, p);
    assert_int_not_equal(answer(p, out, a), 0);
    assert_true(a->layers & GH_LAYER_TCP);
    assert_int_equal(a->sport, 22);
    assert_int_equal(a->dport, 40000);
    assert_int_equal(a->payload_len, 0);
}

static void test_rst_to_syn(void **state)
{
    (void)state;
    pb b;
    gh_packet p, a;
    uint8_t out[GH_REJECT_MAX];
    for (int v6 = 0; v6 < 2; v6++) {
        /* no ACK in the offending segment: seq 0, ACK of what it occupied */
        tcp_case(v6, GH_TCP_SYN, 0, &p, &a, &b, out);
        assert_int_equal(a.ip_ver, v6 ? 6 : 4);
        assert_int_equal(a.tcp_flags, GH_TCP_RST | GH_TCP_ACK);
        assert_int_equal(a.tcp_seq, 0);
        assert_int_equal(a.tcp_ack, 1001);
        /* a SYN with data and FIN occupies both */
        tcp_case(v6, GH_TCP_SYN | GH_TCP_FIN, 7, &p, &a, &b, out);
        assert_int_equal(a.tcp_ack, 1009);
    }
}

static void test_rst_to_ack(void **state)
{
    (void)state;
    pb b;
    gh_packet p, a;
    uint8_t out[GH_REJECT_MAX];
    for (int v6 = 0; v6 < 2; v6++) {
        /* with ACK: the RST takes its sequence number from the ack */
        tcp_case(v6, GH_TCP_ACK | GH_TCP_PSH, 5, &p, &a, &b, out);
        assert_int_equal(a.tcp_flags, GH_TCP_RST);
        assert_int_equal(a.tcp_seq, 5000);
    }
}

static void test_unreachable_udp(void **state)
{
    (void)state;
    pb b;
    gh_packet p, a;
    uint8_t out[GH_REJECT_MAX];
    for (int v6 = 0; v6 < 2; v6++) {
        pb_init(&b);
        if (v6)
            pb_ipv6(&b, &(pb_ip6){.src = "2001:db8::1", .dst = "2001:db8::2"});
        else
            pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
        pb_udp(&b, 5353, 7004);
        pb_fill(&b, 'u', 40);
        pb_finalize(&b);
        decode_pb(&b, &p);
        size_t len = answer(&p, out, &a);
        assert_int_equal(len, (v6 ? 40 + 8 : 20 + 8) + b.len);
        assert_true(a.layers & (v6 ? GH_LAYER_ICMPV6 : GH_LAYER_ICMPV4));
        assert_int_equal(a.icmp_type, v6 ? 1 : 3);
        assert_int_equal(a.icmp_code, v6 ? 4 : 3); /* port unreachable */
        /* the quoted packet names the offending datagram */
        assert_true(a.layers & GH_LAYER_ICMP_INNER);
        assert_int_equal(a.icmp_inner.sport, 5353);
        assert_int_equal(a.icmp_inner.dport, 7004);
        assert_memory_equal(&a.icmp_inner.src, &p.src, sizeof(gh_addr));
    }
}

static void test_unreachable_other(void **state)
{
    (void)state;
    pb b;
    gh_packet p, a;
    uint8_t out[GH_REJECT_MAX];
    /* an echo request is answered: administratively prohibited */
    pb_init(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
    pb_icmp(&b, 8, 0, 0x00010001);
    pb_finalize(&b);
    decode_pb(&b, &p);
    assert_int_not_equal(answer(&p, out, &a), 0);
    assert_int_equal(a.icmp_type, 3);
    assert_int_equal(a.icmp_code, 13);
    /* a long datagram is quoted only up to 576 bytes in all */
    pb_init(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
    pb_udp(&b, 1, 2);
    pb_fill(&b, 'z', 1200);
    pb_finalize(&b);
    decode_pb(&b, &p);
    assert_int_equal(gh_reject_build(&p, out), 576);
}

static void test_not_answered(void **state)
{
    (void)state;
    pb b;
    gh_packet p;
    uint8_t out[GH_REJECT_MAX];
    /* a RST */
    pb_init(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
    pb_tcp(&b, &(pb_tcph){.sport = 1, .dport = 2, .flags = GH_TCP_RST});
    pb_finalize(&b);
    decode_pb(&b, &p);
    assert_int_equal(gh_reject_build(&p, out), 0);
    /* an ICMP error (port unreachable) and an echo reply */
    uint8_t types[2] = {3, 0};
    for (int i = 0; i < 2; i++) {
        pb_init(&b);
        pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2"});
        pb_icmp(&b, types[i], 3, 0);
        pb_finalize(&b);
        gh_decode(&p, GH_LINK_RAW, b.buf, b.len, &VERIFY);
        assert_int_equal(gh_reject_build(&p, out), 0);
    }
    /* an ICMPv6 error */
    pb_init(&b);
    pb_ipv6(&b, &(pb_ip6){.src = "2001:db8::1", .dst = "2001:db8::2"});
    pb_icmp6(&b, 1, 4, 0);
    pb_finalize(&b);
    gh_decode(&p, GH_LINK_RAW, b.buf, b.len, &VERIFY);
    assert_int_equal(gh_reject_build(&p, out), 0);
    /* multicast and broadcast destinations */
    const char *dsts[2] = {"224.0.0.1", "255.255.255.255"};
    for (int i = 0; i < 2; i++) {
        pb_init(&b);
        pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = dsts[i]});
        pb_udp(&b, 1, 2);
        pb_finalize(&b);
        decode_pb(&b, &p);
        assert_int_equal(gh_reject_build(&p, out), 0);
    }
    /* a later fragment (no ports to quote) */
    pb_init(&b);
    pb_ipv4(&b, &(pb_ip4){.src = "192.0.2.1", .dst = "198.51.100.2", .frag_off = 64});
    pb_udp(&b, 1, 2);
    pb_finalize(&b);
    gh_decode(&p, GH_LINK_RAW, b.buf, b.len, &VERIFY);
    assert_int_equal(gh_reject_build(&p, out), 0);
    /* not IP at all */
    uint8_t junk[4] = {0};
    gh_decode(&p, GH_LINK_RAW, junk, sizeof(junk), &VERIFY);
    assert_int_equal(gh_reject_build(&p, out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rst_to_syn),
        cmocka_unit_test(test_rst_to_ack),
        cmocka_unit_test(test_unreachable_udp),
        cmocka_unit_test(test_unreachable_other),
        cmocka_unit_test(test_not_answered),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
