/* Defragmentation tests: IPv4 and IPv6 datagrams built with pktbuild, cut
 * into fragments (also with pktbuild), fed in many orders, and the result
 * compared byte for byte with the unfragmented packet built the same way;
 * overlaps, limits, timeouts; and a randomized test against a naive
 * byte-array reference of first-wins reassembly.
 *
 * Every fragment is decoded from an exactly-sized heap copy that is freed
 * right after gh_defrag_add(), so under -DGH_SANITIZE=ON AddressSanitizer
 * catches reads past the fragment and any use of it after the call. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/decode.h"
#include "gatehouse/defrag.h"
#include "pktbuild.h"

#define A4 "192.0.2.1"
#define B4 "198.51.100.2"
#define A6 "2001:db8::1"
#define B6 "2001:db8::2"
#define NS 1000000000ull

static const gh_decode_opts DOPTS = {.verify_checksums = true};

/* ---- datagrams and their fragments ---- */

/* One datagram: the original packet and how its fragments are built. */
typedef struct dgram {
    pb orig;          /* the unfragmented packet (raw IP) */
    int ver;
    bool hop;         /* IPv6: hop-by-hop header in the unfragmentable part */
    uint32_t id;
    uint8_t proto;    /* IPv4 protocol / IPv6 Fragment header Next Header */
    uint32_t unfrag;  /* bytes of orig before the fragmentable part */
    const char *src;  /* IPv4 source */
    const pb_opts *opts; /* IPv4 options: in the original and the first fragment */
} dgram;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: reproducible from the seed printed on failure */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

static uint32_t rnd_below(uint32_t n)
{
    return n ? rnd() % n : 0;
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

/* Build a datagram carrying @p l4 (6 TCP, 17 UDP) with @p n payload bytes.
 * @p dstopts (IPv6) puts a destination options header after the Fragment
 * header, in the fragmentable part. */
static void dgram_init_opts(dgram *g, int ver, uint8_t l4, uint32_t n, uint32_t id, bool hop,
                            bool dstopts, uint32_t seed, const pb_opts *opts)
{
    uint8_t payload[PB_BUF_SIZE];
    memset(g, 0, sizeof(*g));
    g->opts = opts;
    g->ver = ver;
    g->hop = hop;
    g->id = id;
    g->src = A4;
    assert_true(n <= 1800);
    fill_pattern(payload, n, seed);
    pb_init(&g->orig);
    if (ver == 4) {
        pb_ip4 h = {.src = g->src, .dst = B4, .id = (uint16_t)id, .opts = g->opts};
        pb_ipv4(&g->orig, &h);
        g->unfrag = 20 + (g->opts ? (uint32_t)(g->opts->len + 3) / 4 * 4 : 0);
        g->proto = l4;
    } else {
        pb_ip6 h = {.src = A6, .dst = B6};
        pb_ipv6(&g->orig, &h);
        g->unfrag = 40;
        if (hop) {
            pb_v6_hopopts(&g->orig, 8);
            g->unfrag += 8;
        }
        g->proto = l4;
        if (dstopts) {
            pb_v6_dstopts(&g->orig, 16);
            g->proto = 60;
        }
    }
    if (l4 == 6) {
        pb_tcph t = {.sport = 40000, .dport = 80, .seq = 1000 + id, .ack = 2000,
                     .flags = GH_TCP_ACK | GH_TCP_PSH, .win = 8192};
        pb_tcp(&g->orig, &t);
    } else {
        pb_udp(&g->orig, 5353, 53);
    }
    pb_data(&g->orig, payload, n);
    pb_finalize(&g->orig);
}

static void dgram_init(dgram *g, int ver, uint8_t l4, uint32_t n, uint32_t id, bool hop,
                       bool dstopts, uint32_t seed)
{
    dgram_init_opts(g, ver, l4, n, id, hop, dstopts, seed, NULL);
}

/* The fragmentable part (what fragment offsets index). */
static const uint8_t *fpart(const dgram *g)
{
    return g->orig.buf + g->unfrag;
}

static uint32_t flen(const dgram *g)
{
    return g->orig.len - g->unfrag;
}

/* Build one fragment of @p g: offset @p off, @p n bytes from @p data
 * (NULL: the original bytes), MF @p mf. */
static void frag_build(pb *b, const dgram *g, uint32_t off, uint32_t n, bool mf, const uint8_t *data)
{
    if (!data)
        data = fpart(g) + off;
    pb_init(b);
    if (g->ver == 4) {
        /* options (not copied ones, as here) ride in the first fragment only */
        pb_ip4 h = {.src = g->src, .dst = B4, .id = (uint16_t)g->id, .frag_off = (uint16_t)off,
                    .mf = mf, .opts = off == 0 ? g->opts : NULL};
        uint32_t o = pb_ipv4(b, &h);
        pb_put8(b, o + 9, g->proto);
    } else {
        pb_ip6 h = {.src = A6, .dst = B6};
        pb_ipv6(b, &h);
        if (g->hop)
            pb_v6_hopopts(b, 8);
        uint32_t o = pb_v6_frag(b, (uint16_t)off, mf, g->id);
        pb_put8(b, o, g->proto);
    }
    pb_data(b, data, n);
    pb_finalize(b);
}

/* A fragment as data: which datagram, where, and its bytes. */
typedef struct frag {
    int dg;
    uint32_t off, len;
    bool mf;
    uint8_t data[PB_BUF_SIZE];
} frag;

static frag *frag_new(int dg, uint32_t off, uint32_t len, bool mf, const uint8_t *data)
{
    frag *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dg = dg;
    f->off = off;
    f->len = len;
    f->mf = mf;
    memcpy(f->data, data, len);
    return f;
}

/* Cut @p g into fragments of @p step bytes (a multiple of 8). */
static int cut(const dgram *g, int dg, uint32_t step, frag **out, int max)
{
    int n = 0;
    for (uint32_t off = 0; off < flen(g); off += step) {
        uint32_t len = flen(g) - off < step ? flen(g) - off : step;
        assert_true(n < max);
        out[n++] = frag_new(dg, off, len, off + len < flen(g), fpart(g) + off);
    }
    return n;
}

static void free_frags(frag **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

static void shuffle(frag **f, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd_below((uint32_t)i + 1);
        frag *t = f[i];
        f[i] = f[j];
        f[j] = t;
    }
}

/* Decode a raw IP packet from an exact heap copy and feed it. */
static int feed_raw(gh_defrag *d, const uint8_t *pkt, uint32_t len, uint64_t now, gh_defrag_out *out)
{
    uint8_t *copy = malloc(len);
    gh_packet p;
    assert_non_null(copy);
    memcpy(copy, pkt, len);
    gh_decode(&p, GH_LINK_RAW, copy, len, &DOPTS);
    assert_true(p.flags & GH_PKT_FRAGMENT);
    int rc = gh_defrag_add(d, &p, now, out);
    free(copy);
    return rc;
}

static int feed(gh_defrag *d, const dgram *g, const frag *f, uint64_t now, gh_defrag_out *out)
{
    pb b;
    frag_build(&b, g, f->off, f->len, f->mf, f->data);
    return feed_raw(d, b.buf, b.len, now, out);
}

/* The reassembled packet must be the original, byte for byte, and decode
 * cleanly with checksums verified, with the same L4 payload. */
static void check_equal(const gh_defrag_out *out, const dgram *g)
{
    gh_packet a, b;
    assert_non_null(out->data);
    assert_int_equal(out->linktype, g->ver == 4 ? GH_LINK_IPV4 : GH_LINK_IPV6);
    assert_int_equal(out->len, g->orig.len);
    assert_memory_equal(out->data, g->orig.buf, g->orig.len);
    assert_int_equal(gh_decode(&a, out->linktype, out->data, out->len, &DOPTS), 0);
    assert_int_equal(gh_decode(&b, GH_LINK_RAW, g->orig.buf, g->orig.len, &DOPTS), 0);
    assert_true(a.flags & GH_PKT_CSUM_CHECKED || g->ver == 6);
    assert_false(a.flags & GH_PKT_FRAGMENT);
    assert_int_equal(a.ip_proto, b.ip_proto);
    assert_true(a.layers & (GH_LAYER_TCP | GH_LAYER_UDP));
    assert_int_equal(a.sport, b.sport);
    assert_int_equal(a.dport, b.dport);
    assert_int_equal(a.payload_len, b.payload_len);
    if (b.payload_len)
        assert_memory_equal(a.payload, b.payload, b.payload_len);
}

static gh_defrag *mk(size_t memcap, uint32_t max_dg)
{
    gh_defrag_config cfg;
    gh_error err;
    gh_defrag_config_init(&cfg);
    if (memcap)
        cfg.memcap = memcap;
    if (max_dg)
        cfg.max_datagrams = max_dg;
    gh_defrag *d = gh_defrag_new(&cfg, &err);
    assert_non_null(d);
    return d;
}

/* Feed @p f in the given order; only the last one may complete. */
static void feed_all_expect_last(gh_defrag *d, const dgram *g, frag **f, int n)
{
    gh_defrag_out out;
    for (int i = 0; i < n; i++) {
        int rc = feed(d, g, f[i], 0, &out);
        assert_int_equal(rc, i == n - 1 ? 1 : 0);
    }
    check_equal(&out, g);
    assert_int_equal(out.nfrags, (uint32_t)n);
    const gh_defrag_stats *st = gh_defrag_get_stats(d);
    assert_int_equal(st->datagrams, 0);
    assert_int_equal(st->chunks_used, 0);
}

enum { ORDER_IN, ORDER_REV, ORDER_RANDOM, ORDER_LAST_FIRST };

static void run_order(int ver, uint8_t l4, uint32_t n, uint32_t step, int order, bool hop, bool dst)
{
    dgram g;
    frag *f[300];
    dgram_init(&g, ver, l4, n, 0x1234, hop, dst, 7);
    if (step >= flen(&g)) /* at least two fragments */
        step = 8;
    int nf = cut(&g, 0, step, f, 300);
    if (order == ORDER_REV) {
        for (int i = 0; i < nf / 2; i++) {
            frag *t = f[i];
            f[i] = f[nf - 1 - i];
            f[nf - 1 - i] = t;
        }
    } else if (order == ORDER_RANDOM) {
        shuffle(f, nf);
    } else if (order == ORDER_LAST_FIRST) {
        frag *last = f[nf - 1];
        memmove(f + 1, f, (size_t)(nf - 1) * sizeof(*f));
        f[0] = last;
    }
    gh_defrag *d = mk(0, 0);
    feed_all_expect_last(d, &g, f, nf);
    const gh_defrag_stats *st = gh_defrag_get_stats(d);
    assert_int_equal(st->reassembled, 1);
    assert_int_equal(st->fragments, (uint64_t)nf);
    assert_int_equal(st->overlaps + st->invalid + st->too_large + st->evicted, 0);
    gh_defrag_free(d);
    free_frags(f, nf);
}

/* ---- orders ---- */

static void test_v4_orders(void **state)
{
    (void)state;
    rng_state = 11;
    for (int order = ORDER_IN; order <= ORDER_LAST_FIRST; order++) {
        run_order(4, 6, 1200, 256, order, false, false);
        run_order(4, 17, 1001, 64, order, false, false);
    }
    for (int i = 0; i < 20; i++)
        run_order(4, 6, 1 + rnd_below(1700), 8 * (1 + rnd_below(40)), ORDER_RANDOM, false, false);
}

static void test_v6_orders(void **state)
{
    (void)state;
    rng_state = 12;
    for (int order = ORDER_IN; order <= ORDER_LAST_FIRST; order++) {
        run_order(6, 6, 1200, 256, order, false, false);
        run_order(6, 17, 999, 72, order, true, false);  /* hop-by-hop before */
        run_order(6, 6, 800, 16, order, true, true);    /* + dstopts after */
    }
    for (int i = 0; i < 20; i++)
        run_order(6, 17, 1 + rnd_below(1700), 8 * (1 + rnd_below(40)), ORDER_RANDOM, i & 1, i & 2);
}

/* IPv4 options in the first fragment only: the result has the first
 * fragment's header (options included), every other header is dropped. */
static void test_v4_options(void **state)
{
    (void)state;
    pb_opts o = {.len = 0};
    static const uint8_t rr[] = {7, 11, 4, 0, 0, 0, 0, 0, 0, 0, 0}; /* record route */
    pb_opt_raw(&o, rr, sizeof(rr));
    rng_state = 16;
    for (int rep = 0; rep < 8; rep++) {
        dgram g;
        frag *f[64];
        dgram_init_opts(&g, 4, 6, 700, 88, false, false, 8, &o);
        assert_int_equal(g.unfrag, 32);
        int nf = cut(&g, 0, 8 * (1 + rnd_below(30)), f, 64);
        shuffle(f, nf);
        gh_defrag *d = mk(0, 0);
        feed_all_expect_last(d, &g, f, nf);
        gh_defrag_free(d);
        free_frags(f, nf);
    }
}

/* 8-byte fragments, the smallest there are. */
static void test_tiny_fragments(void **state)
{
    (void)state;
    rng_state = 13;
    run_order(4, 17, 300, 8, ORDER_RANDOM, false, false);
    run_order(6, 6, 300, 8, ORDER_RANDOM, true, true);
    run_order(4, 6, 100, 8, ORDER_REV, false, false);
}

/* A TCP header cut in two: the first fragment carries 8 of its 20 bytes. */
static void test_tcp_header_split(void **state)
{
    (void)state;
    for (int ver = 4; ver <= 6; ver += 2) {
        dgram g;
        frag *f[2];
        dgram_init(&g, ver, 6, 500, 77, false, false, 3);
        f[0] = frag_new(0, 0, 8, true, fpart(&g));
        f[1] = frag_new(0, 8, flen(&g) - 8, false, fpart(&g) + 8);
        /* the first fragment alone decodes with a short TCP header */
        pb b;
        gh_packet p;
        frag_build(&b, &g, 0, 8, true, NULL);
        gh_decode(&p, GH_LINK_RAW, b.buf, b.len, &DOPTS);
        assert_true(p.flags & GH_PKT_FIRST_FRAG);
        assert_false(p.layers & GH_LAYER_TCP);
        for (int rev = 0; rev < 2; rev++) {
            gh_defrag *d = mk(0, 0);
            frag *o[2] = {f[rev], f[1 - rev]};
            feed_all_expect_last(d, &g, o, 2);
            gh_defrag_free(d);
        }
        free_frags(f, 2);
    }
}

/* ---- overlaps ---- */

/* Every fragment but the completing one sent twice: overlaps, no conflicts. */
static void test_duplicates(void **state)
{
    (void)state;
    rng_state = 14;
    for (int ver = 4; ver <= 6; ver += 2) {
        dgram g;
        frag *f[64];
        gh_defrag_out out;
        dgram_init(&g, ver, 6, 1000, 5, false, false, 9);
        int nf = cut(&g, 0, 128, f, 64);
        shuffle(f, nf);
        gh_defrag *d = mk(0, 0);
        for (int i = 0; i < nf - 1; i++) {
            assert_int_equal(feed(d, &g, f[i], 0, &out), 0);
            assert_int_equal(out.events, 0);
            assert_int_equal(feed(d, &g, f[i], 0, &out), 0);
            assert_int_equal(out.events, GH_DEFRAG_EV_OVERLAP);
        }
        assert_int_equal(feed(d, &g, f[nf - 1], 0, &out), 1);
        check_equal(&out, &g);
        assert_int_equal(out.dgram_flags, GH_DEFRAG_DG_OVERLAP);
        const gh_defrag_stats *st = gh_defrag_get_stats(d);
        assert_int_equal(st->overlaps, (uint64_t)nf - 1);
        assert_int_equal(st->overlap_conflicts, 0);
        gh_defrag_free(d);
        free_frags(f, nf);
    }
}

/* A partial overlap with different bytes: the bytes that came first stay,
 * whichever copy that was, and the conflict is counted. */
static void test_overlap_conflict(void **state)
{
    (void)state;
    for (int ver = 4; ver <= 6; ver += 2) {
        for (int bad_first = 0; bad_first < 2; bad_first++) {
            dgram g;
            gh_defrag_out out;
            uint8_t bad[64];
            dgram_init(&g, ver, 17, 200, 9, false, false, 5);
            /* good: [0,48) [48,80) [80,flen). evil: [40,72) with changed bytes */
            frag *good0 = frag_new(0, 0, 48, true, fpart(&g));
            frag *good1 = frag_new(0, 48, 32, true, fpart(&g) + 48);
            frag *good2 = frag_new(0, 80, flen(&g) - 80, false, fpart(&g) + 80);
            memcpy(bad, fpart(&g) + 40, 32);
            for (int i = 0; i < 32; i++)
                bad[i] ^= 0x5a;
            frag *evil = frag_new(0, 40, 32, true, bad);
            gh_defrag *d = mk(0, 0);
            const gh_defrag_stats *st = gh_defrag_get_stats(d);
            if (bad_first) {
                assert_int_equal(feed(d, &g, evil, 0, &out), 0);
                assert_int_equal(feed(d, &g, good0, 0, &out), 0);
                assert_int_equal(out.events, GH_DEFRAG_EV_OVERLAP | GH_DEFRAG_EV_CONFLICT);
                assert_int_equal(feed(d, &g, good1, 0, &out), 0);
                assert_int_equal(out.events, GH_DEFRAG_EV_OVERLAP | GH_DEFRAG_EV_CONFLICT);
                assert_int_equal(feed(d, &g, good2, 0, &out), 1);
                assert_int_equal(out.events, 0);
                /* first wins: the evil bytes [40,72) are in the result */
                assert_int_equal(out.len, g.orig.len);
                assert_memory_equal(out.data, g.orig.buf, g.unfrag + 40);
                assert_memory_equal(out.data + g.unfrag + 40, bad, 32);
                assert_memory_equal(out.data + g.unfrag + 72, fpart(&g) + 72, flen(&g) - 72);
                /* ... so the UDP checksum no longer verifies */
                gh_packet p;
                gh_decode(&p, out.linktype, out.data, out.len, &DOPTS);
                assert_true(gh_packet_has_anomaly(&p, GH_ANOM_UDP_CSUM_BAD));
                assert_int_equal(st->overlaps, 2);
                assert_int_equal(st->overlap_conflicts, 2);
            } else {
                assert_int_equal(feed(d, &g, good0, 0, &out), 0);
                assert_int_equal(feed(d, &g, good1, 0, &out), 0);
                assert_int_equal(feed(d, &g, evil, 0, &out), 0);
                assert_int_equal(out.events, GH_DEFRAG_EV_OVERLAP | GH_DEFRAG_EV_CONFLICT);
                assert_int_equal(feed(d, &g, good2, 0, &out), 1);
                check_equal(&out, &g);
                assert_int_equal(st->overlaps, 1);
                assert_int_equal(st->overlap_conflicts, 1);
            }
            assert_int_equal(out.dgram_flags, GH_DEFRAG_DG_OVERLAP | GH_DEFRAG_DG_CONFLICT);
            assert_int_equal(st->reassembled, 1);
            gh_defrag_free(d);
            free(good0);
            free(good1);
            free(good2);
            free(evil);
        }
    }
}

/* A second first fragment with a different IP header: the first one's
 * header is kept (here: TTL). */
static void test_first_header_wins(void **state)
{
    (void)state;
    dgram g;
    gh_defrag_out out;
    pb b;
    dgram_init(&g, 4, 17, 100, 3, false, false, 1);
    gh_defrag *d = mk(0, 0);
    frag_build(&b, &g, 0, 64, true, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
    frag_build(&b, &g, 0, 64, true, NULL);
    b.buf[8] = 3; /* TTL */
    pb_ipv4_fix_csum(&b, 0);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
    assert_int_equal(out.events, GH_DEFRAG_EV_OVERLAP);
    frag_build(&b, &g, 64, flen(&g) - 64, false, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 1);
    check_equal(&out, &g);
    gh_defrag_free(d);
}

/* ---- invalid and oversize ---- */

static void test_invalid(void **state)
{
    (void)state;
    dgram g;
    gh_defrag_out out;
    pb b;
    dgram_init(&g, 4, 17, 200, 21, false, false, 2);
    gh_defrag *d = mk(0, 0);
    const gh_defrag_stats *st = gh_defrag_get_stats(d);
    /* a non-last fragment of 12 bytes */
    frag_build(&b, &g, 0, 12, true, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
    assert_int_equal(st->invalid, 1);
    assert_int_equal(st->datagrams, 0);
    /* last fragment [64, 100) seen: end is 100 */
    frag_build(&b, &g, 64, 36, false, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
    /* another last fragment ending elsewhere */
    frag_build(&b, &g, 64, 44, false, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
    /* data beyond the known end */
    frag_build(&b, &g, 96, 16, true, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
    assert_int_equal(st->invalid, 3);
    gh_defrag_free(d);

    /* a last fragment ending before bytes already held */
    d = mk(0, 0);
    st = gh_defrag_get_stats(d);
    frag_build(&b, &g, 64, 64, true, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
    frag_build(&b, &g, 8, 92, false, NULL);
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
    assert_int_equal(st->invalid, 1);
    /* a bad IPv4 header checksum: the host would drop it */
    frag_build(&b, &g, 0, 64, true, NULL);
    b.buf[10] ^= 0xff;
    assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
    assert_int_equal(st->invalid, 2);
    /* not a fragment */
    gh_packet p;
    gh_decode(&p, GH_LINK_RAW, g.orig.buf, g.orig.len, &DOPTS);
    assert_int_equal(gh_defrag_add(d, &p, 0, &out), GH_E_INVAL);
    /* a truncated capture of a fragment */
    frag_build(&b, &g, 0, 64, true, NULL);
    gh_decode(&p, GH_LINK_RAW, b.buf, b.len - 10, &DOPTS);
    assert_int_equal(gh_defrag_add(d, &p, 0, &out), GH_E_FORMAT);
    assert_int_equal(st->truncated, 1);
    gh_defrag_free(d);
}

static void test_too_large(void **state)
{
    (void)state;
    for (int ver = 4; ver <= 6; ver += 2) {
        dgram g;
        gh_defrag_out out;
        pb b;
        uint8_t zero[64] = {0};
        dgram_init(&g, ver, 17, 100, 31, false, false, 2);
        gh_defrag *d = mk(0, 0);
        const gh_defrag_stats *st = gh_defrag_get_stats(d);
        /* offset + length beyond 65535 */
        frag_build(&b, &g, 65528, 16, false, zero);
        assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
        assert_int_equal(st->too_large, 1);
        assert_int_equal(st->datagrams, 0);
        /* data fits 65535 but header + data does not (IPv4: total length;
         * IPv6 with a hop-by-hop header: payload length) */
        g.hop = ver == 6;
        frag_build(&b, &g, 0, 64, true, NULL);
        assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
        frag_build(&b, &g, 65512, 20, false, zero);
        assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), GH_E_FORMAT);
        assert_int_equal(st->too_large, 2);
        /* the largest legal end is accepted */
        frag_build(&b, &g, 65512, ver == 4 ? 3 : 15, false, zero);
        assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), 0);
        gh_defrag_free(d);
    }
}

/* The biggest datagram there is: 65535 bytes of IPv4, 1480-byte fragments. */
static void test_max_size(void **state)
{
    (void)state;
    enum { DATA = 65535 - 20 };
    uint8_t *data = malloc(DATA);
    assert_non_null(data);
    fill_pattern(data, DATA, 99);
    dgram g;
    gh_defrag_out out;
    pb b;
    dgram_init(&g, 4, 17, 10, 41, false, false, 2); /* header template only */
    g.proto = 253;
    rng_state = 15;
    uint32_t offs[64];
    int n = 0;
    for (uint32_t off = 0; off < DATA; off += 1480)
        offs[n++] = off;
    for (int i = n - 1; i > 0; i--) {
        int j = (int)rnd_below((uint32_t)i + 1);
        uint32_t t = offs[i];
        offs[i] = offs[j];
        offs[j] = t;
    }
    gh_defrag *d = mk(0, 0);
    for (int i = 0; i < n; i++) {
        uint32_t len = DATA - offs[i] < 1480 ? DATA - offs[i] : 1480;
        frag_build(&b, &g, offs[i], len, offs[i] + len < DATA, data + offs[i]);
        assert_int_equal(feed_raw(d, b.buf, b.len, 0, &out), i == n - 1);
    }
    assert_int_equal(out.len, 65535);
    gh_packet p;
    assert_int_equal(gh_decode(&p, out.linktype, out.data, out.len, &DOPTS), 0);
    assert_int_equal(p.ip_proto, 253);
    assert_int_equal(p.payload_len, DATA);
    assert_memory_equal(p.payload, data, DATA);
    gh_defrag_free(d);
    free(data);
}

/* ---- time and memory ---- */

static void test_timeout(void **state)
{
    (void)state;
    dgram g;
    frag *f[16];
    gh_defrag_out out;
    dgram_init(&g, 6, 17, 1000, 51, false, false, 4);
    int nf = cut(&g, 0, 256, f, 16);
    gh_defrag *d = mk(0, 0);
    const gh_defrag_stats *st = gh_defrag_get_stats(d);
    uint64_t t0 = 1000 * NS;
    assert_int_equal(feed(d, &g, f[0], t0, &out), 0);
    assert_int_equal(feed(d, &g, f[1], t0 + 30 * NS, &out), 0);
    assert_int_equal(st->datagrams, 1);
    assert_true(st->chunks_used > 0);
    assert_int_equal(gh_defrag_expire(d, t0 + 59 * NS), 0);
    /* the timeout counts from the first fragment */
    assert_int_equal(gh_defrag_expire(d, t0 + 60 * NS), 1);
    assert_int_equal(st->timeouts, 1);
    assert_int_equal(st->datagrams, 0);
    assert_int_equal(st->chunks_used, 0);
    /* a late fragment after the timeout starts over; the rest complete it */
    for (int i = 0; i < nf; i++) {
        uint64_t now = t0 + 100 * NS;
        int rc = feed(d, &g, f[i], now, &out);
        assert_int_equal(rc, i == nf - 1);
    }
    check_equal(&out, &g);
    /* expiry also runs inside add */
    assert_int_equal(feed(d, &g, f[0], t0 + 200 * NS, &out), 0);
    assert_int_equal(feed(d, &g, f[1], t0 + 300 * NS, &out), 0);
    assert_int_equal(out.events, GH_DEFRAG_EV_TIMEOUT);
    assert_int_equal(st->timeouts, 2);
    assert_int_equal(st->datagrams, 1);
    gh_defrag_free(d);
    free_frags(f, nf);
}

static void test_memory_limits(void **state)
{
    (void)state;
    gh_defrag_out out;
    dgram g[3];
    frag *f[3][8];
    int nf[3];
    for (int i = 0; i < 3; i++) {
        dgram_init(&g[i], 4, 17, 1200, 60 + (uint32_t)i, false, false, (uint32_t)i);
        nf[i] = cut(&g[i], i, 512, f[i], 8); /* 2 full + 1 partial */
    }
    /* Chunk pool: 5 chunks. Datagram 0 holds header + 2 data chunks. */
    gh_defrag *d = mk(5 * GH_DEFRAG_CHUNK_SIZE, 16);
    const gh_defrag_stats *st = gh_defrag_get_stats(d);
    assert_int_equal(feed(d, &g[0], f[0][0], 0, &out), 0);
    assert_int_equal(feed(d, &g[0], f[0][1], 0, &out), 0);
    assert_int_equal(st->chunks_used, 3);
    /* datagram 1 needs 3 more: the oldest (0) goes */
    assert_int_equal(feed(d, &g[1], f[1][0], 1, &out), 0);
    assert_int_equal(feed(d, &g[1], f[1][1], 1, &out), 0);
    assert_int_equal(out.events, GH_DEFRAG_EV_EVICTED);
    assert_int_equal(st->evicted, 1);
    assert_int_equal(st->datagrams, 1);
    assert_int_equal(feed(d, &g[1], f[1][2], 1, &out), 1);
    check_equal(&out, &g[1]);
    assert_int_equal(st->chunks_used, 0);
    gh_defrag_free(d);

    /* One datagram larger than the whole pool: refused, counted. */
    d = mk(2 * GH_DEFRAG_CHUNK_SIZE, 16);
    st = gh_defrag_get_stats(d);
    assert_int_equal(feed(d, &g[0], f[0][0], 0, &out), 0);
    assert_int_equal(feed(d, &g[0], f[0][1], 0, &out), GH_E_LIMIT);
    assert_int_equal(st->mem_drops, 1);
    assert_int_equal(st->evicted, 0);
    assert_int_equal(st->datagrams, 1);
    /* a fragment that needs more than the pool: datagram 0 is evicted in
     * vain, and the refused fragment leaves no empty tracker behind */
    frag *big = frag_new(1, 0, 1024, true, fpart(&g[1]));
    assert_int_equal(feed(d, &g[1], big, 0, &out), GH_E_LIMIT);
    assert_int_equal(st->evicted, 1);
    assert_int_equal(st->mem_drops, 2);
    assert_int_equal(st->datagrams, 0);
    assert_int_equal(st->chunks_used, 0);
    free(big);
    gh_defrag_free(d);

    /* Tracker pool: two datagrams at most; a third evicts the oldest. */
    d = mk(0, 2);
    st = gh_defrag_get_stats(d);
    for (int i = 0; i < 3; i++)
        assert_int_equal(feed(d, &g[i], f[i][1], (uint64_t)i, &out), 0);
    assert_int_equal(out.events, GH_DEFRAG_EV_EVICTED);
    assert_int_equal(st->evicted, 1);
    assert_int_equal(st->datagrams, 2);
    /* datagram 0 lost its held fragment; 1 and 2 complete */
    for (int i = 1; i < 3; i++) {
        assert_int_equal(feed(d, &g[i], f[i][0], 5, &out), 0);
        assert_int_equal(feed(d, &g[i], f[i][2], 5, &out), 1);
        check_equal(&out, &g[i]);
    }
    assert_int_equal(st->datagrams, 0);
    assert_int_equal(st->chunks_used, 0);
    gh_defrag_free(d);
    for (int i = 0; i < 3; i++)
        free_frags(f[i], nf[i]);
}

/* Same addresses and id, different VLAN: two datagrams (and one when VLAN
 * tracking is off). Also exercises a non-zero l3_off. */
static void test_vlan_key(void **state)
{
    (void)state;
    dgram g;
    dgram_init(&g, 4, 17, 100, 71, false, false, 6);
    for (int track = 0; track < 2; track++) {
        gh_defrag_config cfg;
        gh_defrag_config_init(&cfg);
        cfg.vlan_tracking = track;
        gh_defrag *d = gh_defrag_new(&cfg, NULL);
        assert_non_null(d);
        int done = 0;
        for (int part = 0; part < 2; part++) {
            for (uint16_t vid = 10; vid <= 11; vid++) {
                pb b;
                gh_packet p;
                gh_defrag_out out;
                pb_init(&b);
                pb_eth(&b);
                pb_vlan(&b, 0x8100, vid);
                pb_ip4 h = {.src = A4, .dst = B4, .id = 71, .frag_off = part ? 64 : 0, .mf = !part};
                uint32_t o = pb_ipv4(&b, &h);
                pb_put8(&b, o + 9, 17);
                pb_data(&b, fpart(&g) + (part ? 64 : 0), part ? flen(&g) - 64 : 64);
                pb_finalize(&b);
                gh_decode(&p, GH_LINK_ETHERNET, b.buf, b.len, &DOPTS);
                int rc = gh_defrag_add(d, &p, 0, &out);
                assert_true(rc >= 0);
                if (rc == 1) {
                    check_equal(&out, &g);
                    done++;
                }
            }
        }
        /* tracking: both VLANs complete; off: the first two fragments
         * overlap as one datagram, which completes on the third */
        assert_int_equal(done, track ? 2 : 1);
        assert_int_equal(gh_defrag_get_stats(d)->overlaps, track ? 0 : 1);
        gh_defrag_free(d);
    }
}

static void test_config(void **state)
{
    (void)state;
    gh_defrag_config cfg;
    gh_error err;
    gh_defrag_config_init(&cfg);
    assert_int_equal(cfg.timeout_s, 60);
    cfg.memcap = 10;
    assert_null(gh_defrag_new(&cfg, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    gh_defrag_config_init(&cfg);
    cfg.policy = (gh_defrag_policy)1;
    assert_null(gh_defrag_new(&cfg, &err));
    assert_int_equal(err.code, GH_E_UNSUPPORTED);
    gh_defrag_free(NULL);
    gh_defrag *d = gh_defrag_new(NULL, &err);
    assert_non_null(d);
    gh_defrag_free(d);
}

/* ---- randomized against a naive reference ---- */

/* First-wins reassembly over plain byte arrays, fragment by fragment. */
typedef struct ref {
    uint8_t data[PB_BUF_SIZE];
    uint8_t have[PB_BUF_SIZE];
    bool first, last, done;
    uint32_t end, nhave;
    uint32_t overlaps, conflicts;
} ref;

/* Apply one fragment; true when it completes the datagram. */
static bool ref_add(ref *r, const frag *f)
{
    bool ov = false, cf = false;
    for (uint32_t i = 0; i < f->len; i++) {
        uint32_t o = f->off + i;
        if (r->have[o]) {
            ov = true;
            cf |= r->data[o] != f->data[i];
        } else {
            r->have[o] = 1;
            r->data[o] = f->data[i];
            r->nhave++;
        }
    }
    r->overlaps += ov;
    r->conflicts += cf;
    r->first |= f->off == 0;
    if (!f->mf) {
        r->last = true;
        r->end = f->off + f->len;
    }
    return r->first && r->last && r->nhave == r->end;
}

enum { RDG = 40, RMAXF = 300 };

static void test_randomized(void **state)
{
    (void)state;
    static dgram g[RDG];
    static ref r[RDG];
    static frag *f[RDG][RMAXF];
    int nf[RDG], next[RDG];
    int total_changed = 0;
    uint64_t total_cf = 0;
    for (uint64_t seed = 1; seed <= 25; seed++) {
        rng_state = seed * 0x9e3779b97f4a7c15ull;
        memset(r, 0, sizeof(r));
        uint64_t want_ov = 0, want_cf = 0;
        int changed = 0;
        for (int i = 0; i < RDG; i++) {
            int ver = rnd_below(2) ? 6 : 4;
            dgram_init(&g[i], ver, rnd_below(2) ? 6 : 17, 1 + rnd_below(1700), 1000 + (uint32_t)i,
                       ver == 6 && rnd_below(2), ver == 6 && rnd_below(3) == 0, rnd());
            uint32_t L = flen(&g[i]);
            /* base cover: random sizes, multiples of 8 */
            frag *all[RMAXF];
            int n = 0;
            for (uint32_t off = 0; off < L;) {
                uint32_t len = 8 * (1 + rnd_below(rnd_below(4) ? 24 : 2));
                if (len >= L - off)
                    len = off ? L - off : 8 * ((L - 1) / 8); /* never the whole packet */
                all[n++] = frag_new(i, off, len, off + len < L, fpart(&g[i]) + off);
                off += len;
            }
            /* extras: overlapping copies, some with changed bytes */
            int extras = (int)rnd_below(6);
            for (int e = 0; e < extras && n < RMAXF; e++) {
                uint32_t off = 8 * rnd_below((L + 7) / 8);
                if (off >= L)
                    off = 0;
                uint32_t len = 8 * (1 + rnd_below(16));
                bool mf = true;
                if (off == 0 && len >= L)
                    len = 8;
                if (len >= L - off) {
                    len = L - off;
                    mf = false;
                }
                frag *x = frag_new(i, off, len, mf, fpart(&g[i]) + off);
                if (rnd_below(3) == 0)
                    x->data[rnd_below(len)] ^= (uint8_t)(1 + rnd_below(255));
                all[n++] = x;
            }
            shuffle(all, n);
            /* keep the prefix up to the fragment that completes it */
            int k = 0;
            while (k < n && !ref_add(&r[i], all[k]))
                k++;
            assert_true(k < n);
            for (int j = 0; j < n; j++) {
                if (j <= k)
                    f[i][j] = all[j];
                else
                    free(all[j]);
            }
            nf[i] = k + 1;
            next[i] = 0;
            want_ov += r[i].overlaps;
            want_cf += r[i].conflicts;
        }
        /* interleave all datagrams at random */
        gh_defrag *d = mk(0, 64);
        int left = RDG;
        while (left) {
            int i = (int)rnd_below(RDG);
            while (next[i] == nf[i])
                i = (i + 1) % RDG;
            gh_defrag_out out;
            int rc = feed(d, &g[i], f[i][next[i]], 0, &out);
            next[i]++;
            if (next[i] < nf[i]) {
                if (rc != 0)
                    fail_msg("seed %llu dg %d frag %d: rc %d", (unsigned long long)seed, i,
                             next[i] - 1, rc);
                continue;
            }
            left--;
            if (rc != 1)
                fail_msg("seed %llu dg %d: did not complete (rc %d)", (unsigned long long)seed, i, rc);
            /* the reference's bytes, always; the original when no changed
             * byte came first */
            assert_int_equal(out.len, g[i].orig.len);
            assert_memory_equal(out.data, g[i].orig.buf, g[i].unfrag);
            assert_memory_equal(out.data + g[i].unfrag, r[i].data, r[i].end);
            assert_int_equal(!!(out.dgram_flags & GH_DEFRAG_DG_CONFLICT), r[i].conflicts > 0);
            if (memcmp(r[i].data, fpart(&g[i]), r[i].end) == 0)
                check_equal(&out, &g[i]);
            else
                changed++;
        }
        const gh_defrag_stats *st = gh_defrag_get_stats(d);
        assert_int_equal(st->reassembled, RDG);
        total_changed += changed;
        total_cf += want_cf;
        assert_int_equal(st->overlaps, want_ov);
        assert_int_equal(st->overlap_conflicts, want_cf);
        assert_int_equal(st->invalid + st->too_large + st->evicted + st->mem_drops, 0);
        assert_int_equal(st->datagrams, 0);
        assert_int_equal(st->chunks_used, 0);
        gh_defrag_free(d);
        for (int i = 0; i < RDG; i++)
            free_frags(f[i], nf[i]);
    }
    /* the runs did exercise both kinds of first-wins result */
    assert_true(total_changed > 0);
    assert_true(total_cf > 0);
}

/* Random fragments under a tiny pool and a short clock: evictions, refusals
 * and timeouts on every path. Whatever completes is a well-formed packet of
 * the right length, and in the end everything is given back. */
static void test_pressure(void **state)
{
    (void)state;
    enum { N = 24 };
    static dgram g[N];
    static frag *f[N][RMAXF];
    int nf[N], next[N];
    uint64_t sum[4] = {0};
    for (uint64_t seed = 1; seed <= 10; seed++) {
        rng_state = seed * 0xd1b54a32d192ed03ull;
        for (int i = 0; i < N; i++) {
            int ver = rnd_below(2) ? 6 : 4;
            dgram_init(&g[i], ver, 17, 1 + rnd_below(1700), 500 + (uint32_t)i, false, false, rnd());
            uint32_t step = 8 * (1 + rnd_below(60));
            if (step >= flen(&g[i]))
                step = 8;
            nf[i] = cut(&g[i], i, step, f[i], RMAXF);
            shuffle(f[i], nf[i]);
            next[i] = 0;
        }
        gh_defrag_config cfg;
        gh_defrag_config_init(&cfg);
        cfg.memcap = (1 + rnd_below(12)) * GH_DEFRAG_CHUNK_SIZE;
        cfg.max_datagrams = 1 + rnd_below(6);
        cfg.timeout_s = 1;
        gh_defrag *d = gh_defrag_new(&cfg, NULL);
        assert_non_null(d);
        const gh_defrag_stats *st = gh_defrag_get_stats(d);
        uint64_t now = 0, fed = 0;
        int left = N;
        while (left) {
            int i = (int)rnd_below(N);
            while (next[i] == nf[i])
                i = (i + 1) % N;
            gh_defrag_out out;
            now += rnd_below(50) * 1000000ull; /* 0-49 ms */
            int rc = feed(d, &g[i], f[i][next[i]++], now, &out);
            fed++;
            if (next[i] == nf[i])
                left--;
            assert_true(rc == 0 || rc == 1 || rc == GH_E_LIMIT);
            if (rc == 1) {
                assert_int_equal(out.len, g[i].orig.len);
                assert_memory_equal(out.data, g[i].orig.buf, g[i].unfrag);
            }
            assert_true(st->chunks_used <= cfg.memcap / GH_DEFRAG_CHUNK_SIZE);
            assert_true(st->datagrams <= cfg.max_datagrams);
            if (rnd_below(20) == 0)
                gh_defrag_expire(d, now);
        }
        assert_int_equal(st->fragments, fed);
        sum[0] += st->evicted;
        sum[1] += st->mem_drops;
        sum[2] += st->timeouts;
        sum[3] += st->reassembled;
        gh_defrag_expire(d, now + 2 * NS);
        assert_int_equal(st->datagrams, 0);
        assert_int_equal(st->chunks_used, 0);
        gh_defrag_free(d);
        for (int i = 0; i < N; i++)
            free_frags(f[i], nf[i]);
    }
    for (int k = 0; k < 4; k++)
        assert_true(sum[k] > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_v4_orders),
        cmocka_unit_test(test_v6_orders),
        cmocka_unit_test(test_v4_options),
        cmocka_unit_test(test_tiny_fragments),
        cmocka_unit_test(test_tcp_header_split),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_overlap_conflict),
        cmocka_unit_test(test_first_header_wins),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_max_size),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_memory_limits),
        cmocka_unit_test(test_vlan_key),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_randomized),
        cmocka_unit_test(test_pressure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
