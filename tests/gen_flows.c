/* gen_flows: a capture of many interleaved flows for the --threads test
 * (tests/cli_threads.sh), built with pktbuild: TCP connections over IPv4,
 * IPv6 and VLAN tags whose requests match signatures, UDP flows whose
 * datagrams come whole and as IPv4 fragments (in order and reversed), ICMP
 * errors from a router quoting UDP flows, and ARP frames. Deterministic.
 * Usage: gen_flows OUT.pcap FLOWS
 *
 * The flood captures of tests/cli_flood.sh, written in time order as they
 * are built (no frame array, so a million flows cost no memory here):
 *   gen_flows --syn OUT.pcap N          N SYNs from distinct clients, 1 us
 *       apart, to port 80 (even) or 81 (odd); also prints the default flow
 *       table's size, the base of the test's memory bound
 *   gen_flows --pipeline OUT.pcap N W   one HTTP connection carrying N
 *       requests, W per segment, each segment answered by W responses (W 0:
 *       no response at all); the last request's URI is /last-request
 *   gen_flows --slowloris OUT.pcap FLOWS SEGS CHUNK  FLOWS connections that
 *       send a request head CHUNK bytes a segment, SEGS segments each, 1 s
 *       apart, and never finish it
 *   gen_flows --stream OUT.pcap SECONDS  the mix above, in time order, for
 *       SECONDS of wall time (OUT may be /dev/stdout: bench/run's RSS row) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatehouse/flow.h"
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
static gh_pcap_writer *direct; /* flood modes: frames go straight to the file */
static size_t ndirect;

static void write_frame(gh_pcap_writer *w, const uint8_t *d, uint32_t len, uint64_t ns)
{
    gh_error err = {0};
    gh_pkt_in p = {.data = d, .caplen = len, .wirelen = len,
                   .ts_sec = (int64_t)(ns / 1000000000u), .ts_nsec = (uint32_t)(ns % 1000000000u),
                   .linktype = 1};
    if (gh_pcap_writer_write(w, &p, &err) != GH_OK) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        exit(1);
    }
}

static void emit(const pb *b, uint64_t ns)
{
    if (direct) {
        write_frame(direct, b->buf, b->len, ns);
        ndirect++;
        return;
    }
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

static void tcp_seg_n(const endpoints *e, bool from_cli, uint8_t flags, uint32_t seq,
                      uint32_t ack, const char *data, size_t n, uint64_t ns)
{
    pb b;
    link_and_ip(&b, e, from_cli, (uint16_t)seq);
    pb_tcp(&b, &(pb_tcph){.sport = from_cli ? e->sport : e->dport,
                          .dport = from_cli ? e->dport : e->sport, .seq = seq, .ack = ack,
                          .flags = flags, .win = 65535});
    if (n)
        pb_data(&b, data, n);
    pb_finalize(&b);
    emit(&b, ns);
}

static void tcp_seg(const endpoints *e, bool from_cli, uint8_t flags, uint32_t seq, uint32_t ack,
                    const char *data, uint64_t ns)
{
    tcp_seg_n(e, from_cli, flags, seq, ack, data, data ? strlen(data) : 0, ns);
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

/* ---- flood captures (tests/cli_flood.sh) --------------------------------- */

static const uint64_t flood_t0 = 1700000000ull * 1000000000u;

/* N SYNs, each its own flow: clients 10.x.y.z, ports varied, 1 us apart. */
static void syn_flood(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        endpoints e = {.sport = (uint16_t)(1024 + i % 60000), .dport = (uint16_t)(80 + i % 2)};
        snprintf(e.cli, sizeof(e.cli), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        snprintf(e.srv, sizeof(e.srv), "192.168.0.1");
        tcp_seg(&e, true, 0x02, i * 7919u, 0, NULL, flood_t0 + (uint64_t)i * 1000);
    }
    printf("flow table: %zu bytes for %u flows\n",
           gh_flow_table_memsize(GH_FLOW_DEFAULT_MAX_FLOWS), GH_FLOW_DEFAULT_MAX_FLOWS);
}

/* One connection, N requests W to a segment; each segment answered by W
 * responses in one segment unless @p unanswered. */
static void pipeline(unsigned n, unsigned w, bool unanswered)
{
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    endpoints e = {.cli = "10.0.0.1", .srv = "192.168.0.1", .sport = 40000, .dport = 80};
    uint32_t c = 1000, s = 5000;
    uint64_t ns = flood_t0;
    const uint64_t step = 10000;
    tcp_seg(&e, true, 0x02, c++, 0, NULL, ns);
    tcp_seg(&e, false, 0x12, s++, c, NULL, ns += step);
    tcp_seg(&e, true, 0x10, c, s, NULL, ns += step);
    char seg[PB_BUF_SIZE - 128];
    for (unsigned i = 0; i < n;) {
        size_t len = 0;
        unsigned k = 0;
        for (; k < w && i < n; k++, i++) {
            int m = i + 1 == n ? snprintf(seg + len, sizeof(seg) - len,
                                          "GET /last-request HTTP/1.1\r\nHost: pipe\r\n\r\n")
                               : snprintf(seg + len, sizeof(seg) - len,
                                          "GET /p-%u HTTP/1.1\r\nHost: pipe\r\n\r\n", i);
            if (m < 0 || (size_t)m >= sizeof(seg) - len) {
                fprintf(stderr, "gen_flows: %u requests do not fit a segment\n", w);
                exit(1);
            }
            len += (size_t)m;
        }
        tcp_seg_n(&e, true, 0x18, c, s, seg, len, ns += step);
        c += (uint32_t)len;
        if (unanswered)
            continue;
        len = 0;
        for (unsigned j = 0; j < k; j++, len += sizeof(resp) - 1)
            memcpy(seg + len, resp, sizeof(resp) - 1);
        tcp_seg_n(&e, false, 0x18, s, c, seg, len, ns += step);
        s += (uint32_t)len;
    }
    tcp_seg(&e, true, 0x11, c, s, NULL, ns += step);
    tcp_seg(&e, false, 0x11, s, c + 1, NULL, ns += step);
    tcp_seg(&e, true, 0x10, c + 1, s + 1, NULL, ns += step);
}

/* FLOWS connections sending one request head CHUNK bytes a segment, a round
 * of segments a second, SEGS rounds; the head never ends. A datagram 700 s
 * after the last round moves the clock past the established timeout. */
static void slowloris(unsigned flows, unsigned segs, unsigned chunk)
{
    size_t total = (size_t)segs * chunk, len = 0;
    char *head = malloc(total + 64);
    if (!head || chunk == 0 || chunk > PB_BUF_SIZE - 128) {
        fprintf(stderr, "gen_flows: bad slowloris size\n");
        exit(1);
    }
    len = (size_t)sprintf(head, "GET /slow HTTP/1.1\r\nHost: slow\r\n");
    for (unsigned i = 0; len < total; i++)
        len += (size_t)sprintf(head + len, "X-Pad-%06u: zzzzzzzz\r\n", i % 1000000);
    endpoints *e = calloc(flows, sizeof(*e));
    if (!e) {
        fprintf(stderr, "gen_flows: out of memory\n");
        exit(1);
    }
    uint64_t ns = flood_t0;
    for (unsigned f = 0; f < flows; f++) {
        e[f] = (endpoints){.sport = (uint16_t)(1024 + f % 60000), .dport = 80};
        snprintf(e[f].cli, sizeof(e[f].cli), "10.1.%u.%u", (f >> 8) & 255, f & 255);
        snprintf(e[f].srv, sizeof(e[f].srv), "192.168.0.1");
        tcp_seg(&e[f], true, 0x02, 1000, 0, NULL, ns += 1000);
        tcp_seg(&e[f], false, 0x12, 5000, 1001, NULL, ns += 1000);
        tcp_seg(&e[f], true, 0x10, 1001, 5001, NULL, ns += 1000);
    }
    for (unsigned r = 0; r < segs; r++) {
        ns = flood_t0 + (uint64_t)(r + 1) * 1000000000u;
        for (unsigned f = 0; f < flows; f++)
            tcp_seg_n(&e[f], true, 0x18, 1001 + r * chunk, 5001, head + (size_t)r * chunk,
                      chunk, ns += 1000);
    }
    endpoints clock = {.cli = "10.2.0.1", .srv = "192.168.0.2", .sport = 5353, .dport = 53};
    udp_dgram(&clock, true, 1, 0, ns + 700 * 1000000000ull);
    free(e);
    free(head);
}

/* The flood modes: argv[1] names one, the rest are its sizes. */
static int flood_main(int argc, char **argv)
{
    unsigned a[3] = {0, 0, 0};
    for (int i = 3; i < argc && i < 6; i++)
        a[i - 3] = (unsigned)strtoul(argv[i], NULL, 10);
    gh_error err = {0};
    if (!(direct = gh_pcap_writer_open(argv[2], &err))) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    if (strcmp(argv[1], "--syn") == 0 && argc == 4)
        syn_flood(a[0]);
    else if (strcmp(argv[1], "--pipeline") == 0 && (argc == 5 || argc == 6) && a[1] > 0)
        pipeline(a[0], a[1], argc == 6 && strcmp(argv[5], "unanswered") == 0);
    else if (strcmp(argv[1], "--slowloris") == 0 && argc == 6)
        slowloris(a[0], a[1], a[2]);
    else {
        fprintf(stderr, "gen_flows: bad arguments for %s\n", argv[1]);
        return 2;
    }
    if (gh_pcap_writer_close(direct, &err) != GH_OK) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    printf("%zu packets\n", ndirect);
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const frame *x = a, *y = b;
    if (x->ns != y->ns)
        return x->ns < y->ns ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Mix flow @p i: TCP over IPv4, IPv6 and VLANs, UDP whole and fragmented
 * with an ICMP error or an ARP frame, starting 10 ms after flow i - 1. */
static void mix_flow(unsigned i)
{
    const uint64_t t0 = 1700000000ull * 1000000000u;
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
        snprintf(e.cli, sizeof(e.cli), "2001:db8:1::%x", i % 0xffff + 1);
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

/* The mix for @p seconds of wall time (bench/run's RSS row): flows built
 * 10000 at a time, sorted, and written up to the next chunk's first packet;
 * the rest waits for the next chunk. */
static int mix_stream(const char *path, double seconds)
{
    gh_error err = {0};
    gh_pcap_writer *w = gh_pcap_writer_open(path, &err);
    if (!w) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    const uint64_t t0 = 1700000000ull * 1000000000u;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned first = 0;; first += 10000) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= seconds)
            break;
        for (unsigned i = first; i < first + 10000; i++)
            mix_flow(i);
        qsort(frames, nframes, sizeof(*frames), by_time);
        uint64_t next = t0 + (uint64_t)(first + 10000) * 10000000;
        size_t k = 0;
        for (; k < nframes && frames[k].ns < next; k++)
            write_frame(w, frames[k].data, frames[k].len, frames[k].ns);
        memmove(frames, frames + k, (nframes - k) * sizeof(*frames));
        nframes -= k;
    }
    free(frames);
    if (gh_pcap_writer_close(w, &err) != GH_OK) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--stream") == 0)
        return mix_stream(argv[2], strtod(argv[3], NULL));
    if (argc > 2 && strncmp(argv[1], "--", 2) == 0)
        return flood_main(argc, argv);
    if (argc != 3) {
        fprintf(stderr, "usage: gen_flows OUT.pcap FLOWS\n");
        return 2;
    }
    unsigned nflows = (unsigned)strtoul(argv[2], NULL, 10);
    for (unsigned i = 0; i < nflows; i++)
        mix_flow(i);
    qsort(frames, nframes, sizeof(*frames), by_time);
    gh_error err = {0};
    gh_pcap_writer *w = gh_pcap_writer_open(argv[1], &err);
    for (size_t i = 0; w && i < nframes; i++)
        write_frame(w, frames[i].data, frames[i].len, frames[i].ns);
    free(frames);
    if (!w || gh_pcap_writer_close(w, &err) != GH_OK) {
        fprintf(stderr, "gen_flows: %s\n", err.msg);
        return 1;
    }
    printf("%zu packets\n", nframes);
    return 0;
}
