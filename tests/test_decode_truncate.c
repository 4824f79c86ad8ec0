/* Truncation sweep for the decoder: every packet of every capture in
 * tests/data (and of the corpus, when present) is decoded at every cut
 * length L in 0..caplen from a malloc(L) copy, so under ASan a read past the
 * captured bytes faults. Each decode must also keep its descriptor inside
 * [0, L], agree with the decode of the whole packet on every layer it did
 * decode (a prefix decodes to a prefix), and at L == caplen be identical to
 * the decode of the original buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gatehouse/decode.h"

#define CSUM_ANOMALIES                                                                  \
    ((UINT64_C(1) << GH_ANOM_IPV4_CSUM_BAD) | (UINT64_C(1) << GH_ANOM_TCP_CSUM_BAD) |   \
     (UINT64_C(1) << GH_ANOM_UDP_CSUM_BAD) | (UINT64_C(1) << GH_ANOM_ICMPV4_CSUM_BAD) | \
     (UINT64_C(1) << GH_ANOM_ICMPV6_CSUM_BAD))

typedef struct totals {
    unsigned files;         /* captures opened */
    unsigned unreadable;    /* files libpcap refused to open */
    unsigned read_errors;   /* files that ended with a corrupt record */
    uint64_t packets;
    uint64_t decodes;
    bool all_linktypes;     /* also decode every packet as every link type */
} totals;

static const gh_decode_opts opts_on = {.verify_checksums = true};
static const gh_decode_opts opts_off = {.verify_checksums = false};

/* Link types the decoder knows, for the cross-link-type sweep. */
static const uint32_t all_links[] = {
    GH_LINK_NULL, GH_LINK_ETHERNET, GH_LINK_RAW, GH_LINK_RAW_DLT, GH_LINK_RAW_DLT14,
    GH_LINK_LOOP, GH_LINK_SLL, GH_LINK_IPV4, GH_LINK_IPV6, GH_LINK_SLL2,
};

/* The descriptor only points into [buf, buf + len). */
static void check_bounds(const gh_packet *p, int rc, const uint8_t *buf, uint32_t len)
{
    assert_int_equal(rc, __builtin_popcountll(p->anomalies));
    assert_ptr_equal(p->data, buf);
    assert_int_equal(p->caplen, len);
    assert_true(p->l3_off <= len);
    assert_true(p->l4_off <= len);
    assert_true(p->payload_off <= len);
    assert_true((uint64_t)p->payload_off + p->payload_len <= len);
    if (p->payload_len == 0) {
        assert_null(p->payload);
    } else {
        assert_ptr_equal(p->payload, buf + p->payload_off);
    }
    if (p->layers & (GH_LAYER_IPV4 | GH_LAYER_IPV6)) {
        assert_int_equal(p->ip_ver, (p->layers & GH_LAYER_IPV4) ? 4 : 6);
        assert_true((uint64_t)p->l3_off + p->l3_len <= len);
        assert_true((uint64_t)p->l3_off + p->ip_hlen <= len);
    } else {
        assert_int_equal(p->ip_ver, 0);
    }
    if (p->layers & (GH_LAYER_TCP | GH_LAYER_UDP | GH_LAYER_ICMPV4 | GH_LAYER_ICMPV6 |
                     GH_LAYER_OTHER_L4))
        assert_true((uint64_t)p->l4_off + p->l4_len <= len);
    if (p->layers & GH_LAYER_TCP) {
        assert_true(p->tcp_hlen >= 20);
        assert_true((uint64_t)p->l4_off + p->tcp_hlen <= len);
        assert_int_equal(p->payload_off, p->l4_off + p->tcp_hlen);
    }
    if (p->layers & GH_LAYER_UDP)
        assert_int_equal(p->payload_off, p->l4_off + 8);
    assert_true(p->vlan_count <= GH_MAX_VLAN);
    assert_true(p->mpls_count <= GH_MAX_MPLS);
    assert_true(p->tcp_sack_count <= GH_MAX_SACK);
}

/* Checksums on and off decode the same layers; only checksum anomalies and
 * the "checked" flag may differ. */
static void check_csum_modes(const gh_packet *on, const gh_packet *off)
{
    assert_int_equal(on->layers, off->layers);
    assert_int_equal(off->anomalies & CSUM_ANOMALIES, 0);
    assert_int_equal(on->anomalies & ~CSUM_ANOMALIES, off->anomalies);
    assert_int_equal(on->flags & ~(uint32_t)GH_PKT_CSUM_CHECKED,
                     off->flags & ~(uint32_t)GH_PKT_CSUM_CHECKED);
    assert_int_equal(on->payload_off, off->payload_off);
    assert_int_equal(on->payload_len, off->payload_len);
}

/* A cut packet decodes no layer the whole packet lacks, and agrees with it on
 * the addresses and ports of the layers it did decode. */
static void check_prefix(const gh_packet *cut, const gh_packet *full)
{
    assert_int_equal(cut->layers & ~full->layers, 0);
    assert_true(cut->vlan_count <= full->vlan_count);
    assert_true(cut->mpls_count <= full->mpls_count);
    for (unsigned i = 0; i < cut->vlan_count; i++)
        assert_int_equal(cut->vlan_id[i], full->vlan_id[i]);
    if (cut->ip_ver) {
        assert_int_equal(cut->ip_ver, full->ip_ver);
        assert_int_equal(cut->l3_off, full->l3_off);
        assert_memory_equal(cut->src.b, full->src.b, 16);
        assert_memory_equal(cut->dst.b, full->dst.b, 16);
    }
    if (cut->layers & (GH_LAYER_TCP | GH_LAYER_UDP)) {
        assert_int_equal(cut->l4_off, full->l4_off);
        assert_int_equal(cut->sport, full->sport);
        assert_int_equal(cut->dport, full->dport);
    }
    if (cut->layers & GH_LAYER_TCP) {
        assert_int_equal(cut->tcp_seq, full->tcp_seq);
        assert_int_equal(cut->tcp_flags, full->tcp_flags);
    }
}

/* Same decode of two buffers holding the same bytes. */
static void check_same(const gh_packet *a, const gh_packet *b)
{
    assert_int_equal(a->layers, b->layers);
    assert_int_equal(a->flags, b->flags);
    assert_int_equal(a->anomalies, b->anomalies);
    assert_int_equal(a->ip_ver, b->ip_ver);
    assert_int_equal(a->ip_proto, b->ip_proto);
    assert_memory_equal(a->src.b, b->src.b, 16);
    assert_memory_equal(a->dst.b, b->dst.b, 16);
    assert_int_equal(a->sport, b->sport);
    assert_int_equal(a->dport, b->dport);
    assert_int_equal(a->tcp_flags, b->tcp_flags);
    assert_int_equal(a->tcp_seq, b->tcp_seq);
    assert_int_equal(a->tcp_ack, b->tcp_ack);
    assert_int_equal(a->icmp_type, b->icmp_type);
    assert_int_equal(a->icmp_code, b->icmp_code);
    assert_int_equal(a->l3_off, b->l3_off);
    assert_int_equal(a->l4_off, b->l4_off);
    assert_int_equal(a->payload_off, b->payload_off);
    assert_int_equal(a->payload_len, b->payload_len);
    assert_int_equal(a->l3_len, b->l3_len);
    assert_int_equal(a->l4_len, b->l4_len);
    assert_int_equal(a->ip_hlen, b->ip_hlen);
    assert_int_equal(a->l2_ethertype, b->l2_ethertype);
    assert_int_equal(a->vlan_count, b->vlan_count);
    assert_int_equal(a->mpls_count, b->mpls_count);
    assert_int_equal(a->ipv6_exthdrs, b->ipv6_exthdrs);
    assert_int_equal(a->frag_off, b->frag_off);
    assert_int_equal(a->frag_id, b->frag_id);
}

/* Decode the first len bytes of data from an exactly sized heap copy. */
static void decode_cut(uint32_t linktype, const uint8_t *data, uint32_t len,
                       const gh_packet *full_on, const gh_packet *full_off, totals *t)
{
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    memcpy(buf, data, len);
    gh_packet on, off;
    int rc = gh_decode(&on, linktype, buf, len, &opts_on);
    check_bounds(&on, rc, buf, len);
    rc = gh_decode(&off, linktype, buf, len, &opts_off);
    check_bounds(&off, rc, buf, len);
    check_csum_modes(&on, &off);
    check_prefix(&on, full_on);
    check_prefix(&off, full_off);
    free(buf);
    t->decodes += 2;
}

/* Every cut length of every packet: the whole corpus (~25k packets, ~20M
 * decodes) takes about 15 s under ASan on 2 cores, so nothing is sampled. */
static void sweep_packet(uint32_t linktype, const uint8_t *data, uint32_t caplen, totals *t)
{
    gh_packet full_on, full_off;
    int rc = gh_decode(&full_on, linktype, data, caplen, &opts_on);
    check_bounds(&full_on, rc, data, caplen);
    rc = gh_decode(&full_off, linktype, data, caplen, &opts_off);
    check_bounds(&full_off, rc, data, caplen);
    check_csum_modes(&full_on, &full_off);

    /* the whole packet from a copy decodes exactly like the original */
    uint8_t *copy = malloc(caplen ? caplen : 1);
    assert_non_null(copy);
    memcpy(copy, data, caplen);
    gh_packet c_on, c_off;
    rc = gh_decode(&c_on, linktype, copy, caplen, &opts_on);
    check_bounds(&c_on, rc, copy, caplen);
    check_same(&c_on, &full_on);
    rc = gh_decode(&c_off, linktype, copy, caplen, &opts_off);
    check_bounds(&c_off, rc, copy, caplen);
    check_same(&c_off, &full_off);
    free(copy);
    t->decodes += 4;

    for (uint32_t len = 0; len < caplen; len++)
        decode_cut(linktype, data, len, &full_on, &full_off, t);
}

/* Sweep one capture; false when libpcap cannot open it. */
static bool sweep_file(const char *path, totals *t)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, ebuf);
    if (!pc) {
        t->unreadable++;
        return false;
    }
    uint32_t linktype = (uint32_t)pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    int r;
    while ((r = pcap_next_ex(pc, &h, &data)) == 1) {
        t->packets++;
        sweep_packet(linktype, data, h->caplen, t);
        if (t->all_linktypes) {
            for (size_t i = 0; i < sizeof(all_links) / sizeof(all_links[0]); i++)
                if (all_links[i] != linktype)
                    sweep_packet(all_links[i], data, h->caplen, t);
        }
    }
    if (r != PCAP_ERROR_BREAK)
        t->read_errors++;
    pcap_close(pc);
    t->files++;
    return true;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

typedef void (*file_cb)(const char *dir, const char *name, void *ctx);

/* Call cb for each *.pcap / *.pcapng in dir, in name order. Returns the count. */
static unsigned for_each_capture(const char *dir, file_cb cb, void *ctx)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    unsigned count = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (name[0] != '.' && (has_suffix(name, ".pcap") || has_suffix(name, ".pcapng"))) {
            cb(dir, name, ctx);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

typedef struct shipped_ctx {
    totals *t;
} shipped_ctx;

static void shipped_one(const char *dir, const char *name, void *ctx)
{
    totals *t = ((shipped_ctx *)ctx)->t;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unsigned errs = t->read_errors;
    bool opened = sweep_file(path, t);
    /* only the deliberately broken samples may fail; anything else means
     * the sweep silently skipped packets */
    if (!opened)
        assert_string_equal(name, "notapcap.pcap");
    if (t->read_errors != errs) {
        if (strcmp(name, "truncated.pcap") != 0 && strcmp(name, "corrupt_header.pcap") != 0)
            fail_msg("%s: unexpected read error", name);
    }
}

static void print_totals(const char *what, const totals *t, double secs)
{
    print_message("%s: %u files, %" PRIu64 " packets, %" PRIu64 " decodes in %.1f s\n", what,
                  t->files, t->packets, t->decodes, secs);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_truncate_shipped(void **state)
{
    (void)state;
    totals t = {0};
    shipped_ctx ctx = {&t};
    double t0 = now_s();
    unsigned listed = for_each_capture(GH_TEST_DATA_DIR, shipped_one, &ctx);
    print_totals("tests/data", &t, now_s() - t0);
    /* 12 captures plus notapcap.pcap ship with the tests */
    assert_true(listed >= 13);
    assert_int_equal(t.unreadable, 1);
    assert_int_equal(t.read_errors, 2);
    assert_int_equal(t.files, listed - 1);
    assert_true(t.packets >= 98);
}

/* Every shipped packet decoded as every other link type: the bytes are
 * nonsense for most of them, which is the point. */
static void test_truncate_shipped_all_linktypes(void **state)
{
    (void)state;
    totals t = {.all_linktypes = true};
    shipped_ctx ctx = {&t};
    double t0 = now_s();
    for_each_capture(GH_TEST_DATA_DIR, shipped_one, &ctx);
    print_totals("tests/data, every link type", &t, now_s() - t0);
    assert_true(t.packets >= 98);
}

static void corpus_one(const char *dir, const char *name, void *ctx)
{
    totals *t = ctx;
    if (!has_suffix(name, ".pcap"))
        return;
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unsigned errs = t->read_errors;
    if (!sweep_file(path, t))
        fail_msg("%s: libpcap cannot open it", path);
    if (t->read_errors != errs)
        fail_msg("%s: read error", path);
}

static void test_truncate_corpus(void **state)
{
    (void)state;
    const char *dir = GH_CORPUS_DIR "/pcaps";
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        print_message("%s not found; corpus sweep skipped\n", dir);
        skip();
    }
    totals t = {0};
    double t0 = now_s();
    for_each_capture(dir, corpus_one, &t);
    print_totals("corpus", &t, now_s() - t0);
    assert_true(t.files >= 1);
    assert_true(t.packets >= 1);
}

/* A NULL buffer with length 0 is an empty packet, not a crash. */
static void test_null_buffer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(all_links) / sizeof(all_links[0]); i++) {
        gh_packet p;
        int rc = gh_decode(&p, all_links[i], NULL, 0, &opts_on);
        assert_true(rc >= 1); /* every link type needs at least one byte */
        assert_int_equal(p.layers, 0);
        assert_null(p.payload);
        assert_int_equal(p.payload_len, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_buffer),
        cmocka_unit_test(test_truncate_shipped),
        cmocka_unit_test(test_truncate_shipped_all_linktypes),
        cmocka_unit_test(test_truncate_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
