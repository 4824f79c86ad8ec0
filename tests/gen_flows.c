/* gen_flows: a capture of many interleaved flows for the --threads test
 * (tests/cli_threads.sh), built with pktbuild: TCP connections over IPv4,
 * IPv6 and VLAN tags whose requests match signatures, UDP flows whose
 * datagrams come whole and as IPv4 fragments (in order and reversed), ICMP
 * errors from a router quoting UDP flows, and ARP frames. Deterministic.
 * Usage: gen_flows OUT.pcap FLOWS */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/pcap_writer.h"
#include "pktbuild.h"

#define FRAME_MAX 256 /* the largest frame built here is below */

typedef struct frame {
    uint64_t ns;
    uint32_t seq; /* order of building: ties in time keep it */
    uint32_t len;
    uint8_t data[FRAME_MAX];
} frame;

static frame *frames;
static size_t nframes, capframes;

static void emit(const pb *b, uint64_t ns)
{
    if (nframes == capframes) {
        capframes = capframes ? capframes * 2 : 4096;
        if (!(frames = realloc(frames, capframes * sizeof(*frames)))) {
            fprintf(stderr, "gen_flows: out of memory\n");
            exit(1);
        }
    }
    if (b->len > FRAME_MAX) {
        fprintf(stderr, "gen_flows: frame of %u bytes\n", b->len);
        exit(1);
    }
    frame *f = &frames[nframes];
    f->seq = (uint32_t)nframes++;
    f->ns = ns;
    f->len = b->len;
    memcpy(f->data, b->buf, b->len);
}

typedef struct endpoints {
    char cli[48], srv[48];
    uint16_t sport, dport, vlan;
} endpoints;

static void link_and_ip(pb *b, const endpoints *e, bool from_cli, uint16_t id)
{
    pb_init(b);
    pb_eth(b);
    if (e->vlan)
        pb_vlan(b, 0x8100, e->vlan);
    const char *s = from_cli ? e->cli : e->srv, *d = from_cli ? e->srv : e->cli;
    if (strchr(s, ':'))
        pb_ipv6(b, &(pb_ip6){.src = s, .dst = d});
    else
        pb_ipv4(b, &(pb_ip4){.src = s, .dst = d, .id = id});
}

static void tcp_seg(const endpoints *e, bool from_cli, uint8_t flags, uint32_t seq, uint32_t ack,
                    const char *data, uint64_t ns)
{
    pb b;
    link_and_ip(&b, e, from_cli, (uint16_t)seq);
    pb_tcp(&b, &(pb_tcph){.sport = from_cli ? e->sport : e->dport,
                          .dport = from_cli ? e->dport : e->sport, .seq = seq, .ack = ack,
                          .flags = flags, .win = 65535});
    if (data)
        pb_data(&b, data, strlen(data));
    pb_finalize(&b);
    emit(&b, ns);
}

/* Handshake, a request, an answer, FIN both ways: 9 packets, 7 ms apart. */
static void tcp_flow(const endpoints *e, unsigned i, uint64_t ns)
{
    char req[64], resp[64];
    snprintf(req, sizeof(req), "GET /gen-%u HTTP/1.1\r\nHost: h%u\r\n\r\n", i % 5, i);
    snprintf(resp, sizeof(resp), "HTTP/1.1 200 OK\r\n\r\nthreads-%u", i % 7);
    uint32_t c = 1000, s = 5000, rl = (uint32_t)strlen(req), pl = (uint32_t)strlen(resp);
    const uint64_t step = 7000000;
    tcp_seg(e, true, 0x02, c, 0, NULL, ns);
    tcp_seg(e, false, 0x12, s, c + 1, NULL, ns += step);
    tcp_seg(e, true, 0x10, c + 1, s + 1, NULL, ns += step);
    tcp_seg(e, true, 0x18, c + 1, s + 1, req, ns += step);
    tcp_seg(e, false, 0x18, s + 1, c + 1 + rl, resp, ns += step);
    tcp_seg(e, true, 0x11, c + 1 + rl, s + 1 + pl, NULL, ns += step);
    tcp_seg(e, false, 0x11, s + 1 + pl, c + 2 + rl, NULL, ns += step);
    tcp_seg(e, true, 0x10, c + 2 + rl, s + 2 + pl, NULL, ns += step);
}

/* A UDP datagram, whole or as two IPv4 fragments (@p frag: 1 in order, 2
 * reversed): the fragments carry the whole datagram's UDP checksum. */
static void udp_dgram(const endpoints *e, bool from_cli, uint16_t id, int frag, uint64_t ns)
{
    char data[96];
    snprintf(data, sizeof(data), "udp-marker %u %u query padding to cross a fragment boundary",
             e->sport, id);
    pb w;
    link_and_ip(&w, e, from_cli, id);
    uint32_t u = pb_udp(&w, from_cli ? e->sport : e->dport, from_cli ? e->dport : e->sport);
    pb_data(&w, data, strlen(data));
    pb_finalize(&w);
    if (!frag) {
        emit(&w, ns);
        return;
    }
    uint32_t split = 24, ulen = w.len - u;
    for (int k = 0; k < 2; k++) {
        int part = frag == 1 ? k : 1 - k;
        pb b;
        pb_init(&b);
        pb_eth(&b);
        uint32_t ip = pb_ipv4(&b, &(pb_ip4){.src = from_cli ? e->cli : e->srv,
                                            .dst = from_cli ? e->srv : e->cli, .id = id,
                                            .mf = part == 0,
                                            .frag_off = (uint16_t)(part ? split : 0)});
        pb_put8(&b, ip + 9, 17);
        if (part == 0)
            pb_data(&b, w.buf + u, split);
        else
            pb_data(&b, w.buf + u + split, ulen - split);
        pb_finalize(&b);
        emit(&b, ns + (uint64_t)k * 1000000);
    }
}

/* Port unreachable from a router on the path, quoting the client's datagram. */
static void icmp_error(const endpoints *e, const char *router, uint64_t ns)
{
    pb b;
    pb_init(&b);
    pb_eth(&b);
    pb_ipv4(&b, &(pb_ip4){.src = router, .dst = e->cli});
    pb_icmp(&b, 3, 3, 0);
    pb_ipv4(&b, &(pb_ip4){.src = e->cli, .dst = e->srv, .id = 1});
    pb_udp(&b, e->sport, e->dport);
    pb_finalize(&b);
    emit(&b, ns);
}

static void arp(uint64_t ns)
{
    static const uint8_t body[28] = {0, 1, 8, 0, 6, 4, 0, 1};
    pb b;
    pb_init(&b);
    pb_eth(&b);
    pb_put16(&b, 12, 0x0806);
    pb_data(&b, body, sizeof(body));
    emit(&b, ns);
}

static int by_time(const void *a, const void *b)
{
    const frame *x = a, *y = b;
    if (x->ns != y->ns)
        return x->ns < y->ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: gen_flows OUT.pcap FLOWS\n");
        return 2;
    }
    unsigned nflows = (unsigned)strtoul(argv[2], NULL, 10);
    const uint64_t t0 = 1700000000ull * 1000000000u;
    for (unsigned i = 0; i < nflows; i++) {
        endpoints e = {.sport = (uint16_t)(1024 + i % 60000), .dport = 80};
        /* few servers, many clients: hosts talk to several peers */
        snprintf(e.cli, sizeof(e.cli), "10.%u.%u.%u", i % 3, (i / 250) % 250, i % 250 + 1);
        snprintf(e.srv, sizeof(e.srv), "192.168.0.%u", i % 11 + 1);
        /* 100 flows a second: with TCP's 60 s closed timeout, about 6000
         * flows live at once, within one worker's stream and flow pools */
        uint64_t ns = t0 + (uint64_t)i * 10000000;
        switch (i % 5) {
        case 0:
            tcp_flow(&e, i, ns);
            break;
        case 1:
            snprintf(e.cli, sizeof(e.cli), "2001:db8:1::%x", i + 1);
            snprintf(e.srv, sizeof(e.srv), "2001:db8:2::%x", i % 11 + 1);
            tcp_flow(&e, i, ns);
            break;
        case 2:
            e.vlan = (uint16_t)(i % 4000 + 1);
            tcp_flow(&e, i, ns);
            break;
        case 3:
            e.dport = 53;
            udp_dgram(&e, true, (uint16_t)i, 0, ns);
            udp_dgram(&e, true, (uint16_t)(i + 1), 1, ns + 5000000);
            udp_dgram(&e, false, (uint16_t)(i + 2), 0, ns + 12000000);
            icmp_error(&e, "172.16.0.1", ns + 20000000);
            break;
        default:
            e.dport = 53;
            udp_dgram(&e, true, (uint16_t)i, 2, ns);
            udp_dgram(&e, false, (uint16_t)(i + 1), 1, ns + 9000000);
            arp(ns + 3000000);
            break;
        }
    }
    qsort(frames, nframes, sizeof(*frames), by_time);
    gh_error err = {0};
    gh_pcap_writer *w = gh_pcap_writer_open(argv[1], &err);
    for (size_t i = 0; w && i < nframes; i++) {
        gh_pkt_in p = {.data = frames[i].data, .caplen = frames[i].len, .wirelen = frames[i].len,
                       .ts_sec = (int64_t)(frames[i].ns / 1000000000u),
                       .ts_nsec = (uint32_t)(frames[i].ns % 1000000000u), .linktype = 1};
        if (gh_pcap_writer_write(w, &p, &err) != GH_OK)
            break;
    }
    free(frames);
    if (!w || gh_pcap_writer_close(w, &err) != GH_OK) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    printf("%zu packets\n", nframes);
    return 0;
}
