/* TCP reassembly tests: in-order, split, reordered and retransmitted
 * segments, first-data-wins overlaps, wrap-around, midstream pick-up, FIN and
 * RST, limits with their counters, a randomized differential test against a
 * deliberately naive byte array (many streams interleaved), and every corpus
 * pcap through the flow table with invariants. Most segments are gh_packet
 * structs filled by hand; one test goes through pktbuild and the decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gatehouse/decode.h"
#include "gatehouse/flow.h"
#include "gatehouse/reassembly.h"
#include "gatehouse/source.h"
#include "pktbuild.h"

/* ---- helpers ---------------------------------------------------------------- */

/* Collects a delivered stream and checks offsets are contiguous. */
typedef struct sink {
    uint8_t *buf;
    size_t cap, len;
    uint64_t calls;
    const uint8_t *last_data; /* to see whether in-order data was copied */
} sink;

static void sink_fn(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
    sink *k = ctx;
    assert_true(len > 0);
    assert_int_equal(off, k->len); /* no byte twice, none skipped */
    if (k->len + len > k->cap) {
        k->cap = (k->len + len) * 2 + 64;
        k->buf = realloc(k->buf, k->cap);
        assert_non_null(k->buf);
    }
    memcpy(k->buf + k->len, data, len);
    k->len += len;
    k->calls++;
    k->last_data = data;
}

static void sink_free(sink *k)
{
    free(k->buf);
    memset(k, 0, sizeof(*k));
}

static gh_packet seg(uint32_t seq, uint8_t flags, const void *data, uint32_t len)
{
    gh_packet p;
    memset(&p, 0, sizeof(p));
    p.layers = GH_LAYER_IPV4 | GH_LAYER_TCP;
    p.ip_ver = 4;
    p.ip_proto = 6;
    p.tcp_seq = seq;
    p.tcp_flags = flags;
    p.payload = len ? data : NULL;
    p.payload_len = len;
    return p;
}

static void check_stream(const gh_reasm *r, const gh_reasm_stream *s)
{
    gh_error err = {0};
    int rc = gh_reasm_stream_check(r, s, &err);
    if (rc != GH_OK)
        fail_msg("stream check: %s", err.msg);
}

static int feed(gh_reasm *r, gh_reasm_stream *s, uint32_t seq, uint8_t flags, const void *data,
                uint32_t len, sink *k)
{
    gh_packet p = seg(seq, flags, data, len);
    int rc = gh_reasm_segment(r, s, &p, sink_fn, k);
    check_stream(r, s);
    return rc;
}

static gh_reasm *new_reasm(const gh_reasm_config *cfg)
{
    gh_error err = {0};
    gh_reasm *r = gh_reasm_new(cfg, &err);
    if (!r)
        fail_msg("gh_reasm_new: %s", err.msg);
    return r;
}

/* GH_TEST_SEED=n replays another sequence; the default is fixed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure replays */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ull;
}
static uint32_t rnd_below(uint32_t n)
{
    return (uint32_t)(rnd() % n);
}

static void fill_random(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
}

#define ISN 1000u
#define D0 (ISN + 1u) /* sequence number of stream offset 0 */

/* Every chunk back in the pool and nothing held. */
static void assert_pool_empty(const gh_reasm *r)
{
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->chunks_used, 0);
    assert_int_equal(st->held_bytes, 0);
    assert_int_equal(st->mem_use, 0);
}

/* ---- basic semantics ----------------------------------------------------------- */

static void test_sizes_and_config(void **state)
{
    (void)state;
    assert_int_equal(sizeof(gh_reasm_stream), 48);
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    gh_error err = {0};
    c.chunk_size = 1;
    assert_null(gh_reasm_new(&c, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    gh_reasm_config_init(&c);
    c.memcap = 10;
    assert_null(gh_reasm_new(&c, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    gh_reasm_free(NULL);
    assert_string_equal(gh_reasm_counter_name(0), "segments");
    assert_null(gh_reasm_counter_name(1000));
    gh_reasm *r = new_reasm(NULL);
    gh_packet p;
    memset(&p, 0, sizeof(p));
    gh_reasm_stream s = {0};
    assert_int_equal(gh_reasm_segment(r, &s, &p, NULL, NULL), GH_E_INVAL); /* not TCP */
    gh_reasm_free(r);
}

static void test_in_order_no_copy(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    gh_reasm_stream s = {0};
    sink k = {0};
    assert_int_equal(feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k), GH_OK);
    assert_true(s.flags & GH_REASM_STARTED);
    assert_int_equal(feed(r, &s, D0, GH_TCP_ACK, NULL, 0, &k), GH_OK); /* pure ACK */
    static const char a[] = "hello ", b[] = "world";
    assert_int_equal(feed(r, &s, D0, GH_TCP_ACK | GH_TCP_PSH, a, 6, &k), GH_OK);
    assert_ptr_equal(k.last_data, (const uint8_t *)a); /* straight from the packet */
    assert_int_equal(feed(r, &s, D0 + 6, GH_TCP_ACK | GH_TCP_PSH, b, 5, &k), GH_OK);
    assert_ptr_equal(k.last_data, (const uint8_t *)b);
    assert_int_equal(k.len, 11);
    assert_memory_equal(k.buf, "hello world", 11);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->segments, 4);
    assert_int_equal(st->zero_len, 2);
    assert_int_equal(st->in_order, 2);
    assert_int_equal(st->bytes_delivered, 11);
    assert_int_equal(st->ooo_held, 0);
    /* FIN consumes one sequence number after the data */
    assert_int_equal(feed(r, &s, D0 + 11, GH_TCP_FIN | GH_TCP_ACK, NULL, 0, &k), GH_OK);
    assert_true(gh_reasm_stream_done(&s));
    assert_int_equal(feed(r, &s, D0 + 12, GH_TCP_ACK, NULL, 0, &k), GH_OK);
    gh_reasm_stream_close(r, &s);
    gh_reasm_stream_close(r, &s); /* twice is harmless */
    assert_int_equal(st->gaps, 0);
    assert_int_equal(st->streams_closed, 1);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

/* Payload in @p n segments, sent in the order of @p order (NULL: in order). */
static void send_split(gh_reasm *r, gh_reasm_stream *s, uint32_t isn, const uint8_t *pl,
                       size_t len, size_t n, const size_t *order, sink *k)
{
    size_t *cut = malloc((n + 1) * sizeof(*cut));
    assert_non_null(cut);
    for (size_t i = 0; i <= n; i++)
        cut[i] = len * i / n;
    for (size_t j = 0; j < n; j++) {
        size_t i = order ? order[j] : j;
        if (cut[i + 1] > cut[i])
            assert_int_equal(feed(r, s, isn + 1 + (uint32_t)cut[i], GH_TCP_ACK, pl + cut[i],
                                  (uint32_t)(cut[i + 1] - cut[i]), k),
                             GH_OK);
    }
    free(cut);
}

static void test_split_segments(void **state)
{
    (void)state;
    uint8_t pl[1000];
    fill_random(pl, sizeof(pl));
    gh_reasm *r = new_reasm(NULL);
    for (size_t n = 1; n <= 64; n++) {
        gh_reasm_stream s = {0};
        sink k = {0};
        feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
        send_split(r, &s, ISN, pl, sizeof(pl), n, NULL, &k);
        assert_int_equal(k.len, sizeof(pl));
        assert_memory_equal(k.buf, pl, sizeof(pl));
        assert_int_equal(k.calls, n); /* one delivery per segment, nothing held */
        gh_reasm_stream_close(r, &s);
        sink_free(&k);
    }
    assert_int_equal(gh_reasm_get_stats(r)->ooo_held, 0);
    assert_pool_empty(r);
    gh_reasm_free(r);
}

static void test_one_byte_segments(void **state)
{
    (void)state;
    uint8_t pl[600];
    fill_random(pl, sizeof(pl));
    size_t order[600];
    gh_reasm *r = new_reasm(NULL);
    for (int rev = 0; rev < 2; rev++) {
        gh_reasm_stream s = {0};
        sink k = {0};
        feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
        for (size_t i = 0; i < 600; i++)
            order[i] = rev ? 599 - i : i;
        send_split(r, &s, ISN, pl, 600, 600, order, &k);
        assert_int_equal(k.len, 600);
        assert_memory_equal(k.buf, pl, 600);
        gh_reasm_stream_close(r, &s);
        sink_free(&k);
    }
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->ooo_held, 599);
    assert_int_equal(st->ooo_bytes, 599);
    assert_int_equal(st->bytes_delivered, 1200);
    assert_true(st->chunks_max >= 599);
    assert_pool_empty(r);
    gh_reasm_free(r);
}

static void test_reversed_and_permutations(void **state)
{
    (void)state;
    uint8_t pl[5000];
    fill_random(pl, sizeof(pl));
    gh_reasm *r = new_reasm(NULL);
    size_t order[100];
    for (int trial = 0; trial < 200; trial++) {
        size_t n = 2 + rnd_below(99);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        if (trial == 0) {
            for (size_t i = 0; i < n; i++)
                order[i] = n - 1 - i;
        } else {
            for (size_t i = n - 1; i > 0; i--) {
                size_t j = rnd_below((uint32_t)i + 1), t = order[i];
                order[i] = order[j];
                order[j] = t;
            }
        }
        gh_reasm_stream s = {0};
        sink k = {0};
        uint32_t isn = (uint32_t)rnd();
        feed(r, &s, isn, GH_TCP_SYN, NULL, 0, &k);
        send_split(r, &s, isn, pl, sizeof(pl), n, order, &k);
        assert_int_equal(k.len, sizeof(pl));
        assert_memory_equal(k.buf, pl, sizeof(pl));
        assert_int_equal(s.held_bytes, 0);
        gh_reasm_stream_close(r, &s);
        sink_free(&k);
    }
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->gaps, 0);
    assert_int_equal(st->overlaps + st->retransmissions, 0);
    assert_pool_empty(r);
    gh_reasm_free(r);
}

static void test_retransmissions(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    gh_reasm_stream s = {0};
    sink k = {0};
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s, D0, GH_TCP_ACK, "abcdef", 6, &k);
    feed(r, &s, D0, GH_TCP_ACK, "abcdef", 6, &k);     /* exact duplicate */
    feed(r, &s, D0 + 2, GH_TCP_ACK, "cd", 2, &k);     /* inside delivered bytes */
    assert_int_equal(st->retransmissions, 2);
    assert_int_equal(st->retrans_conflicts, 0);
    feed(r, &s, D0 + 1, GH_TCP_ACK, "XY", 2, &k);     /* same bytes, other data */
    assert_int_equal(st->retransmissions, 3);
    assert_int_equal(st->retrans_conflicts, 1);
    feed(r, &s, D0 + 6, GH_TCP_ACK, "ghi", 3, &k);
    feed(r, &s, D0 + 5, GH_TCP_ACK | GH_TCP_SYN, "ghi", 3, &k); /* SYN: data one later */
    assert_int_equal(k.len, 9);
    assert_memory_equal(k.buf, "abcdefghi", 9);
    assert_int_equal(st->bytes_delivered, 9);
    gh_reasm_stream_close(r, &s);
    sink_free(&k);

    /* compare window off: retransmissions counted, never compared */
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.compare_window = 0;
    gh_reasm *r2 = new_reasm(&c);
    gh_reasm_stream s2 = {0};
    feed(r2, &s2, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r2, &s2, D0, GH_TCP_ACK, "abcdef", 6, &k);
    feed(r2, &s2, D0, GH_TCP_ACK, "zzzzzz", 6, &k);
    assert_int_equal(gh_reasm_get_stats(r2)->retransmissions, 1);
    assert_int_equal(gh_reasm_get_stats(r2)->retrans_conflicts, 0);
    assert_int_equal(gh_reasm_get_stats(r2)->chunks_used, 0);
    gh_reasm_stream_close(r2, &s2);
    sink_free(&k);
    gh_reasm_free(r2);
    assert_pool_empty(r);
    gh_reasm_free(r);
}

/* Retransmitted delivered data that straddles a chunk boundary and held
 * chunks moved to the compare window are compared too. */
static void test_retransmission_compare_window(void **state)
{
    (void)state;
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.chunk_size = 16;
    c.compare_window = 64;
    gh_reasm *r = new_reasm(&c);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    uint8_t pl[200];
    fill_random(pl, sizeof(pl));
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s, D0 + 100, GH_TCP_ACK, pl + 100, 100, &k); /* held */
    feed(r, &s, D0, GH_TCP_ACK, pl, 100, &k);             /* fills: all 200 delivered */
    assert_int_equal(k.len, 200);
    assert_memory_equal(k.buf, pl, 200);
    /* the window keeps at least the last 64 bytes */
    assert_true(s.hist_bytes >= 64 && s.hist_bytes < 64 + 16);
    uint8_t bad[40];
    memcpy(bad, pl + 150, 40);
    feed(r, &s, D0 + 150, GH_TCP_ACK, bad, 40, &k);
    assert_int_equal(st->retrans_conflicts, 0);
    bad[20] ^= 1;
    feed(r, &s, D0 + 150, GH_TCP_ACK, bad, 40, &k);
    assert_int_equal(st->retrans_conflicts, 1);
    /* older than the window: counted, not comparable */
    feed(r, &s, D0, GH_TCP_ACK, "zzzz", 4, &k);
    assert_int_equal(st->retransmissions, 3);
    assert_int_equal(st->retrans_conflicts, 1);
    gh_reasm_stream_close(r, &s);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

static void test_overlaps_first_wins(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    /* held [10,20) "AAAAAAAAAA", then [15,25) "BBBBBBBBBB": only [20,25) is new */
    assert_int_equal(feed(r, &s, D0 + 10, GH_TCP_ACK, "AAAAAAAAAA", 10, &k), GH_OK);
    assert_int_equal(feed(r, &s, D0 + 15, GH_TCP_ACK, "BBBBBBBBBB", 10, &k), GH_OK);
    assert_int_equal(st->overlaps, 1);
    assert_int_equal(st->overlap_conflicts, 1);
    assert_int_equal(s.held_bytes, 15);
    /* same bytes again: an overlap, no conflict, nothing new */
    assert_int_equal(feed(r, &s, D0 + 12, GH_TCP_ACK, "AAAA", 4, &k), GH_OK);
    assert_int_equal(st->overlaps, 2);
    assert_int_equal(st->overlap_conflicts, 1);
    assert_int_equal(st->ooo_held, 2);
    /* [5,8) held, then [0,30) in order with other data: held bytes win */
    feed(r, &s, D0 + 5, GH_TCP_ACK, "ccc", 3, &k);
    assert_int_equal(k.len, 0);
    feed(r, &s, D0, GH_TCP_ACK, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", 30, &k);
    assert_int_equal(k.len, 30);
    assert_memory_equal(k.buf, "xxxxxcccxxAAAAAAAAAABBBBBxxxxx", 30);
    assert_int_equal(st->overlaps, 3);
    assert_int_equal(st->overlap_conflicts, 2);
    assert_int_equal(s.held_bytes, 0);
    gh_reasm_stream_close(r, &s);
    assert_int_equal(st->gaps, 0);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

static void test_straddle_old_and_new(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s, D0, GH_TCP_ACK, "0123456789", 10, &k);
    feed(r, &s, D0 + 5, GH_TCP_ACK, "56789abcde", 10, &k);
    assert_int_equal(k.len, 15);
    assert_memory_equal(k.buf, "0123456789abcde", 15);
    assert_int_equal(k.calls, 2);
    assert_int_equal(st->retransmissions, 1);
    assert_int_equal(st->retrans_conflicts, 0);
    /* straddling with a different old part: new part still delivered */
    feed(r, &s, D0 + 13, GH_TCP_ACK, "XXfg", 4, &k);
    assert_int_equal(k.len, 17);
    assert_memory_equal(k.buf + 15, "fg", 2);
    assert_int_equal(st->retrans_conflicts, 1);
    /* a segment starting before the ISN (garbage) delivers only the new part */
    feed(r, &s, ISN - 5, GH_TCP_ACK, "......0123456789abcdefgh", 24, &k);
    assert_int_equal(k.len, 18);
    assert_int_equal(k.buf[17], 'h');
    gh_reasm_stream_close(r, &s);
    sink_free(&k);
    gh_reasm_free(r);
}

static void test_wraparound(void **state)
{
    (void)state;
    uint8_t pl[3000];
    fill_random(pl, sizeof(pl));
    gh_reasm *r = new_reasm(NULL);
    const uint32_t isns[] = {0xFFFFFFFFu, 0xFFFFFF00u, 0xFFFFF800u, 0x7FFFFF00u, 0};
    for (size_t t = 0; t < sizeof(isns) / sizeof(isns[0]); t++) {
        for (int shuffled = 0; shuffled < 2; shuffled++) {
            size_t order[30];
            for (size_t i = 0; i < 30; i++)
                order[i] = shuffled ? (i * 7) % 30 : i;
            gh_reasm_stream s = {0};
            sink k = {0};
            feed(r, &s, isns[t], GH_TCP_SYN, NULL, 0, &k);
            send_split(r, &s, isns[t], pl, sizeof(pl), 30, order, &k);
            assert_int_equal(k.len, sizeof(pl));
            assert_memory_equal(k.buf, pl, sizeof(pl));
            /* retransmission across the wrap is old, not 4 GiB ahead */
            feed(r, &s, isns[t] + 1, GH_TCP_ACK, pl, sizeof(pl), &k);
            assert_int_equal(k.len, sizeof(pl));
            feed(r, &s, isns[t] + 1 + (uint32_t)sizeof(pl), GH_TCP_FIN, NULL, 0, &k);
            assert_true(gh_reasm_stream_done(&s));
            gh_reasm_stream_close(r, &s);
            sink_free(&k);
        }
    }
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->gaps, 0);
    assert_int_equal(st->retrans_conflicts, 0);
    assert_int_equal(st->beyond_window, 0);
    assert_pool_empty(r);
    gh_reasm_free(r);
}

/* More than 4 GiB through one stream: offsets are 64-bit. */
static void test_long_stream_offsets(void **state)
{
    (void)state;
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.compare_window = 0;
    gh_reasm *r = new_reasm(&c);
    gh_reasm_stream s = {0};
    static uint8_t big[65536];
    gh_packet p = seg(0xFFFF0000u, GH_TCP_SYN, NULL, 0);
    assert_int_equal(gh_reasm_segment(r, &s, &p, NULL, NULL), GH_OK);
    uint32_t seq = 0xFFFF0001u;
    for (int i = 0; i < 65537; i++) { /* 65537 * 65536 bytes > 2^32 */
        p = seg(seq, GH_TCP_ACK, big, sizeof(big));
        assert_int_equal(gh_reasm_segment(r, &s, &p, NULL, NULL), GH_OK);
        seq += sizeof(big);
    }
    assert_int_equal(s.next_off, (uint64_t)65537 * 65536);
    assert_int_equal(gh_reasm_get_stats(r)->bytes_delivered, (uint64_t)65537 * 65536);
    gh_reasm_stream_close(r, &s);
    gh_reasm_free(r);
}

static void test_midstream(void **state)
{
    (void)state;
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    gh_reasm *off = new_reasm(&c);
    c.midstream = true;
    gh_reasm *on = new_reasm(&c);
    gh_reasm_stream s1 = {0}, s2 = {0};
    sink k1 = {0}, k2 = {0};
    feed(off, &s1, 5000, GH_TCP_ACK, "abc", 3, &k1);
    feed(off, &s1, 5003, GH_TCP_ACK, "def", 3, &k1);
    assert_int_equal(k1.len, 0);
    assert_int_equal(gh_reasm_get_stats(off)->not_synced, 2);
    assert_false(s1.flags & GH_REASM_STARTED);

    feed(on, &s2, 5003, GH_TCP_ACK, "def", 3, &k2); /* first seen: offset 0 */
    feed(on, &s2, 5000, GH_TCP_ACK, "abc", 3, &k2); /* before the pick-up: old */
    feed(on, &s2, 5006, GH_TCP_ACK, "ghi", 3, &k2);
    assert_int_equal(k2.len, 6);
    assert_memory_equal(k2.buf, "defghi", 6);
    assert_true(s2.flags & GH_REASM_MIDSTREAM);
    assert_int_equal(gh_reasm_get_stats(on)->midstream, 1);
    assert_int_equal(gh_reasm_get_stats(on)->retransmissions, 1);
    /* a RST never starts a stream; it closes it */
    gh_reasm_stream s3 = {0};
    feed(on, &s3, 1, GH_TCP_RST, NULL, 0, &k1);
    assert_true(s3.flags & GH_REASM_CLOSED);
    assert_false(s3.flags & GH_REASM_STARTED);
    gh_reasm_stream_close(off, &s1);
    gh_reasm_stream_close(on, &s2);
    sink_free(&k1);
    sink_free(&k2);
    gh_reasm_free(off);
    gh_reasm_free(on);
}

static void test_gap_never_fills(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s, D0, GH_TCP_ACK, "0123456789", 10, &k);
    feed(r, &s, D0 + 20, GH_TCP_ACK, "KLMNOPQRST", 10, &k);
    feed(r, &s, D0 + 30, GH_TCP_ACK | GH_TCP_FIN, "UVW", 3, &k);
    assert_int_equal(k.len, 10);
    assert_int_equal(st->held_bytes, 13);
    assert_false(gh_reasm_stream_done(&s));
    assert_true(st->chunks_used > 0);
    gh_reasm_stream_close(r, &s);
    assert_int_equal(k.len, 10); /* nothing flushed beyond the gap */
    assert_int_equal(st->gaps, 1);
    assert_pool_empty(r);

    /* a FIN never reached with nothing held is a gap too */
    gh_reasm_stream s2 = {0};
    feed(r, &s2, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s2, D0 + 50, GH_TCP_FIN, NULL, 0, &k);
    gh_reasm_stream_close(r, &s2);
    assert_int_equal(st->gaps, 2);
    /* a RST ends the stream the same way; later segments are after_close */
    gh_reasm_stream s3 = {0};
    feed(r, &s3, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s3, D0 + 5, GH_TCP_ACK, "zz", 2, &k);
    feed(r, &s3, D0 - 100, GH_TCP_RST, NULL, 0, &k); /* old: forged or stale */
    feed(r, &s3, D0 + 0x40000000u, GH_TCP_RST, NULL, 0, &k); /* far ahead */
    assert_int_equal(st->rst_invalid, 2);
    assert_false(s3.flags & GH_REASM_CLOSED);
    feed(r, &s3, D0, GH_TCP_RST, NULL, 0, &k);
    assert_int_equal(st->resets, 1);
    assert_int_equal(st->gaps, 3);
    feed(r, &s3, D0, GH_TCP_ACK, "abcde", 5, &k);
    assert_int_equal(st->after_close, 1);
    assert_int_equal(k.len, 10);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

static void test_fin_semantics(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    feed(r, &s, D0 - 1, GH_TCP_FIN, NULL, 0, &k); /* old FIN: must not end the stream */
    assert_int_equal(st->fin_invalid, 1);
    assert_false(s.flags & GH_REASM_FIN);
    /* FIN arrives first, carrying the last bytes; the data before it later */
    feed(r, &s, D0 + 4, GH_TCP_ACK | GH_TCP_FIN, "efgh", 4, &k);
    assert_true(s.flags & GH_REASM_FIN);
    assert_false(gh_reasm_stream_done(&s));
    feed(r, &s, D0 + 6, GH_TCP_ACK, "ghXYZ", 5, &k); /* partly past the FIN */
    assert_int_equal(st->after_fin, 1);
    feed(r, &s, D0 + 9, GH_TCP_ACK, "more", 4, &k); /* entirely past the FIN */
    assert_int_equal(st->after_fin, 2);
    feed(r, &s, D0, GH_TCP_ACK, "abcd", 4, &k);
    assert_int_equal(k.len, 8);
    assert_memory_equal(k.buf, "abcdefgh", 8);
    assert_true(gh_reasm_stream_done(&s));
    assert_int_equal(st->chunks_used, 0); /* done: window released early */
    feed(r, &s, D0 + 8, GH_TCP_ACK, "late", 4, &k);
    assert_int_equal(st->after_fin, 3);
    assert_int_equal(k.len, 8);
    gh_reasm_stream_close(r, &s);
    assert_int_equal(st->gaps, 0);
    sink_free(&k);
    gh_reasm_free(r);
}

static void test_limits(void **state)
{
    (void)state;
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.chunk_size = 32;
    c.max_held_bytes = 100;
    c.max_held_chunks = 6;
    c.window = 1000;
    gh_reasm *r = new_reasm(&c);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    uint8_t pl[2000];
    fill_random(pl, sizeof(pl));
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    assert_int_equal(feed(r, &s, D0 + 10, GH_TCP_ACK, pl + 10, 60, &k), GH_OK);   /* 2 chunks */
    assert_int_equal(feed(r, &s, D0 + 70, GH_TCP_ACK, pl + 70, 60, &k), GH_E_LIMIT); /* 120 > 100 */
    assert_int_equal(st->held_limit, 1);
    assert_int_equal(feed(r, &s, D0 + 70, GH_TCP_ACK, pl + 70, 30, &k), GH_OK);   /* 90 bytes */
    assert_int_equal(st->held_bytes, 90);
    /* chunk cap: 1-byte pieces, 3 chunks so far, 3 more fit */
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(feed(r, &s, D0 + 200 + 2 * i, GH_TCP_ACK, pl + 200 + 2 * i, 1, &k), GH_OK);
    assert_int_equal(feed(r, &s, D0 + 300, GH_TCP_ACK, pl + 300, 1, &k), GH_E_LIMIT);
    assert_int_equal(st->held_limit, 2);
    /* window: a segment ending more than 1000 bytes ahead */
    assert_int_equal(feed(r, &s, D0 + 990, GH_TCP_ACK, pl + 990, 20, &k), GH_E_LIMIT);
    assert_int_equal(st->beyond_window, 1);
    /* a copy of held data costs nothing and passes even at the cap */
    assert_int_equal(feed(r, &s, D0 + 10, GH_TCP_ACK, pl + 10, 60, &k), GH_OK);
    /* fill the gap: held [10,100) delivered, then the dropped bytes when resent */
    assert_int_equal(feed(r, &s, D0, GH_TCP_ACK, pl, 10, &k), GH_OK);
    assert_int_equal(k.len, 100);
    assert_int_equal(feed(r, &s, D0 + 100, GH_TCP_ACK, pl + 100, 100, &k), GH_OK);
    assert_int_equal(k.len, 201); /* 200 was held */
    assert_memory_equal(k.buf, pl, 201);
    gh_reasm_stream_close(r, &s);
    assert_int_equal(st->gaps, 1); /* 202, 204 never filled */
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);

    /* pool exhaustion: a pool of 8 chunks shared by two streams */
    gh_reasm_config_init(&c);
    c.chunk_size = 64;
    c.memcap = 8 * (64 + 16);
    c.compare_window = 0;
    r = new_reasm(&c);
    st = gh_reasm_get_stats(r);
    gh_reasm_stream a = {0}, b = {0};
    sink ka = {0}, kb = {0};
    feed(r, &a, ISN, GH_TCP_SYN, NULL, 0, &ka);
    feed(r, &b, ISN, GH_TCP_SYN, NULL, 0, &kb);
    assert_int_equal(feed(r, &a, D0 + 1, GH_TCP_ACK, pl, 64 * 5, &ka), GH_OK);
    assert_int_equal(st->chunks_used, 5);
    assert_int_equal(feed(r, &b, D0 + 1, GH_TCP_ACK, pl, 64 * 4, &kb), GH_E_LIMIT);
    assert_int_equal(st->pool_exhausted, 1);
    assert_int_equal(st->chunks_used, 5); /* all or nothing */
    assert_int_equal(feed(r, &b, D0 + 1, GH_TCP_ACK, pl, 64 * 3, &kb), GH_OK);
    assert_int_equal(st->chunks_used, 8);
    assert_int_equal(st->mem_use, 8 * 80);
    assert_int_equal(feed(r, &a, D0, GH_TCP_ACK, "q", 1, &ka), GH_OK); /* in order: no chunk */
    assert_int_equal(ka.len, 1 + 64 * 5);
    assert_int_equal(st->chunks_used, 3);
    gh_reasm_stream_close(r, &a);
    gh_reasm_stream_close(r, &b);
    assert_pool_empty(r);
    assert_int_equal(st->chunks_max, 8);
    sink_free(&ka);
    sink_free(&kb);
    gh_reasm_free(r);
}

/* The compare window never takes the last quarter of the pool, and gives
 * its chunks back when its stream needs them for held data. */
static void test_compare_window_yields(void **state)
{
    (void)state;
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.chunk_size = 64;
    c.memcap = 8 * (64 + 16);
    c.compare_window = 10000;
    gh_reasm *r = new_reasm(&c);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    uint8_t pl[2000];
    fill_random(pl, sizeof(pl));
    gh_reasm_stream s = {0};
    sink k = {0};
    feed(r, &s, ISN, GH_TCP_SYN, NULL, 0, &k);
    assert_int_equal(feed(r, &s, D0, GH_TCP_ACK, pl, 1000, &k), GH_OK);
    assert_int_equal(st->chunks_used, 6); /* 8 - 8/4 */
    assert_int_equal(feed(r, &s, D0 + 1100, GH_TCP_ACK, pl + 1100, 64 * 5, &k), GH_OK);
    assert_int_equal(st->pool_exhausted, 0);
    assert_int_equal(s.hist_bytes, 0);
    assert_int_equal(feed(r, &s, D0 + 1000, GH_TCP_ACK, pl + 1000, 100, &k), GH_OK);
    assert_int_equal(k.len, 1100 + 64 * 5);
    assert_memory_equal(k.buf, pl, k.len);
    gh_reasm_stream_close(r, &s);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

/* Through the real decoder: pktbuild packets, gh_decode, reassembly. */
static void test_decoded_packets(void **state)
{
    (void)state;
    static const char msg[] = "GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n";
    const size_t len = sizeof(msg) - 1;
    const size_t cuts[] = {0, 3, 17, 18, 30, len};
    const int order[] = {2, 0, 4, 1, 3};
    gh_reasm *r = new_reasm(NULL);
    gh_reasm_stream s = {0};
    sink k = {0};
    gh_decode_opts o = {.verify_checksums = true};
    static const pb_ip4 ip = {.src = "192.0.2.1", .dst = "198.51.100.2"};
    for (int i = -1; i < 5; i++) {
        pb b;
        pb_init(&b);
        pb_eth(&b);
        pb_ipv4(&b, &ip);
        pb_tcph th = {.sport = 40000, .dport = 80, .win = 65535};
        if (i < 0) {
            th.seq = 0xFFFFFFF0u;
            th.flags = GH_TCP_SYN;
            pb_tcp(&b, &th);
        } else {
            size_t j = (size_t)order[i];
            th.seq = 0xFFFFFFF1u + (uint32_t)cuts[j];
            th.ack = 1;
            th.flags = GH_TCP_ACK | GH_TCP_PSH;
            pb_tcp(&b, &th);
            pb_data(&b, msg + cuts[j], cuts[j + 1] - cuts[j]);
        }
        pb_finalize(&b);
        gh_packet p;
        assert_int_equal(gh_decode(&p, GH_LINK_ETHERNET, b.buf, b.len, &o), 0);
        assert_true(p.layers & GH_LAYER_TCP);
        assert_int_equal(gh_reasm_segment(r, &s, &p, sink_fn, &k), GH_OK);
        check_stream(r, &s);
    }
    assert_int_equal(k.len, len);
    assert_memory_equal(k.buf, msg, len);
    gh_reasm_stream_close(r, &s);
    assert_pool_empty(r);
    sink_free(&k);
    gh_reasm_free(r);
}

/* ---- randomized differential test against a naive byte array --------------- */

typedef struct ref_seg {
    uint32_t off, len;
    uint8_t *data;
    uint8_t flags;
} ref_seg;

typedef struct diff_stream {
    gh_reasm_stream s;
    sink k;
    uint32_t isn, len;
    uint8_t *payload;
    uint8_t *ref;  /* first data received per byte */
    uint8_t *have;
    uint32_t prefix; /* bytes [0, prefix) all received */
    uint32_t checked; /* delivered bytes already compared with ref */
    ref_seg *segs;
    size_t nsegs, next;
} diff_stream;

static void diff_make(diff_stream *d, bool conflicting)
{
    memset(d, 0, sizeof(*d));
    uint32_t maxseg = 1 + rnd_below(rnd_below(2) ? 8 : 1460);
    /* tiny segments on short streams: held lists are walked per segment */
    d->len = 1 + rnd_below(rnd_below(4) == 0 ? 40 : maxseg <= 8 ? 3000 : 20000);
    /* ISNs near the wrap, near 2^31 and anywhere */
    uint32_t r3 = rnd_below(3);
    d->isn = r3 == 0 ? 0xFFFFFFFFu - rnd_below(30000) : r3 == 1 ? 0x7FFFFFFFu - rnd_below(30000)
                                                                : (uint32_t)rnd();
    d->payload = malloc(d->len);
    d->ref = malloc(d->len);
    d->have = calloc(1, d->len);
    assert_true(d->payload && d->ref && d->have);
    fill_random(d->payload, d->len);
    size_t cap = 16 + d->len / 4, n = 0;
    d->segs = malloc(cap * sizeof(*d->segs));
    /* a covering segmentation ... */
    for (uint32_t off = 0; off < d->len;) {
        uint32_t l = 1 + rnd_below(maxseg);
        if (l > d->len - off)
            l = d->len - off;
        if (n + 2 >= cap) {
            cap *= 2;
            d->segs = realloc(d->segs, cap * sizeof(*d->segs));
        }
        d->segs[n++] = (ref_seg){.off = off, .len = l, .flags = GH_TCP_ACK};
        off += l;
    }
    /* ... plus duplicates and overlapping copies anywhere */
    size_t extra = rnd_below((uint32_t)n + 1);
    for (size_t i = 0; i < extra; i++) {
        if (n + 2 >= cap) {
            cap *= 2;
            d->segs = realloc(d->segs, cap * sizeof(*d->segs));
        }
        uint32_t off = rnd_below(d->len);
        uint32_t l = 1 + rnd_below(maxseg * 2);
        if (l > d->len - off)
            l = d->len - off;
        d->segs[n++] = (ref_seg){.off = off, .len = l, .flags = GH_TCP_ACK};
    }
    /* reorder: local swaps (like a network) or a full shuffle */
    uint32_t span = rnd_below(3) == 0 ? (uint32_t)n : 1 + rnd_below(8);
    for (size_t i = 0; i < n; i++) {
        size_t j = i + rnd_below(span);
        if (j < n) {
            ref_seg t = d->segs[i];
            d->segs[i] = d->segs[j];
            d->segs[j] = t;
        }
    }
    /* data: the payload, or (conflicting) sometimes other bytes */
    for (size_t i = 0; i < n; i++) {
        ref_seg *g = &d->segs[i];
        g->data = malloc(g->len);
        memcpy(g->data, d->payload + g->off, g->len);
        if (conflicting && rnd_below(4) == 0)
            for (uint32_t b = 0; b < g->len; b++)
                if (rnd_below(3) == 0)
                    g->data[b] = (uint8_t)rnd();
    }
    /* the FIN, somewhere in the second half */
    size_t fpos = n / 2 + rnd_below((uint32_t)(n - n / 2) + 1);
    memmove(&d->segs[fpos + 1], &d->segs[fpos], (n - fpos) * sizeof(*d->segs));
    d->segs[fpos] = (ref_seg){.off = d->len, .len = 0, .flags = GH_TCP_ACK | GH_TCP_FIN};
    n++;
    d->nsegs = n;
}

static void diff_free(diff_stream *d)
{
    for (size_t i = 0; i < d->nsegs; i++)
        free(d->segs[i].data);
    free(d->segs);
    free(d->payload);
    free(d->ref);
    free(d->have);
    sink_free(&d->k);
}

/* Feed the next segment of @p d to both the reassembler and the model. */
static void diff_step(gh_reasm *r, diff_stream *d, bool limited)
{
    const ref_seg *g = &d->segs[d->next++];
    gh_packet p = seg(d->isn + 1 + g->off, g->flags, g->data, g->len);
    int rc = gh_reasm_segment(r, &d->s, &p, sink_fn, &d->k);
    if (limited && rc == GH_E_LIMIT)
        return; /* left out whole: the model does not see it either */
    assert_int_equal(rc, GH_OK);
    for (uint32_t i = 0; i < g->len; i++) {
        if (!d->have[g->off + i]) {
            d->have[g->off + i] = 1;
            d->ref[g->off + i] = g->data[i];
        }
    }
    while (d->prefix < d->len && d->have[d->prefix])
        d->prefix++;
    /* everything contiguous is delivered at once, and it is the first data */
    assert_int_equal(d->k.len, d->prefix);
    if (d->prefix > d->checked) {
        assert_memory_equal(d->k.buf + d->checked, d->ref + d->checked, d->prefix - d->checked);
        d->checked = d->prefix;
    }
    if (d->s.held_chunks < 32 || rnd_below(64) == 0)
        check_stream(r, &d->s);
}

static void run_differential(bool conflicting, bool limited, int rounds)
{
    enum { NSTREAMS = 48 };
    gh_reasm_config c;
    gh_reasm_config_init(&c);
    c.chunk_size = 16u << rnd_below(6); /* 16 .. 512 */
    c.max_held_chunks = 65535;
    c.memcap = (size_t)256 << 20;
    if (limited) {
        /* every limit hit often: per-stream bytes and pieces, window, pool */
        c.max_held_bytes = 3000;
        c.max_held_chunks = 60;
        c.window = 6000;
        c.memcap = 400 * (c.chunk_size + 16);
        c.compare_window = 1000;
    }
    gh_reasm *r = new_reasm(&c);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    diff_stream *ds = calloc(NSTREAMS, sizeof(*ds));
    assert_non_null(ds);
    uint64_t total = 0;
    for (int round = 0; round < rounds; round++) {
        for (int i = 0; i < NSTREAMS; i++) {
            diff_make(&ds[i], conflicting);
            gh_packet p = seg(ds[i].isn, GH_TCP_SYN, NULL, 0);
            assert_int_equal(gh_reasm_segment(r, &ds[i].s, &p, sink_fn, &ds[i].k), GH_OK);
        }
        /* interleave the streams' segments at random */
        for (int live = NSTREAMS; live > 0;) {
            diff_stream *d = &ds[rnd_below(NSTREAMS)];
            if (d->next == d->nsegs)
                continue;
            diff_step(r, d, limited);
            if (d->next == d->nsegs)
                live--;
        }
        for (int i = 0; i < NSTREAMS; i++) {
            diff_stream *d = &ds[i];
            assert_int_equal(d->k.len, d->prefix);
            if (!conflicting)
                assert_memory_equal(d->k.buf, d->payload, d->k.len);
            if (!limited) {
                assert_int_equal(d->k.len, d->len);
                assert_true(gh_reasm_stream_done(&d->s));
            }
            total += d->k.len;
            gh_reasm_stream_close(r, &d->s);
            diff_free(d);
        }
    }
    assert_int_equal(st->bytes_delivered, total);
    if (limited) {
        assert_true(st->pool_exhausted > 0 && st->held_limit > 0 && st->beyond_window > 0);
        assert_true(st->gaps > 0);
    } else {
        assert_int_equal(st->gaps, 0);
        assert_int_equal(st->pool_exhausted + st->held_limit + st->beyond_window, 0);
    }
    if (conflicting)
        assert_true(st->retrans_conflicts + st->overlap_conflicts > 0);
    else
        assert_int_equal(st->retrans_conflicts + st->overlap_conflicts, 0);
    assert_true(st->ooo_held > 0 && st->retransmissions > 0 && st->overlaps > 0);
    assert_pool_empty(r);
    printf("differential (%s%s): %" PRIu64 " segments, %" PRIu64 " bytes, %" PRIu64
           " held out of order, %" PRIu64 " retransmissions (%" PRIu64 " conflicting), %" PRIu64
           " overlaps (%" PRIu64 " conflicting), peak %" PRIu64 " chunks; limits: pool %" PRIu64
           ", held %" PRIu64 ", window %" PRIu64 ", gaps %" PRIu64 "\n",
           conflicting ? "conflicting copies" : "identical copies", limited ? ", tight limits" : "",
           st->segments,
           st->bytes_delivered, st->ooo_held, st->retransmissions, st->retrans_conflicts,
           st->overlaps, st->overlap_conflicts, st->chunks_max, st->pool_exhausted,
           st->held_limit, st->beyond_window, st->gaps);
    free(ds);
    gh_reasm_free(r);
}

static void test_differential_same_data(void **state)
{
    (void)state;
    run_differential(false, false, 20);
}

static void test_differential_conflicting(void **state)
{
    (void)state;
    run_differential(true, false, 20);
}

static void test_differential_tight_limits(void **state)
{
    (void)state;
    run_differential(false, true, 10);
    run_differential(true, true, 10);
}

/* ---- corpus: every pcap's TCP flows through the flow table ------------------ */

typedef struct corpus_dir {
    gh_reasm_stream s;
    uint64_t payload;   /* payload bytes seen in this direction */
    uint64_t delivered; /* bytes delivered (contiguous offsets) */
} corpus_dir;

typedef struct corpus_flow {
    corpus_dir d[2];
} corpus_flow;

typedef struct corpus_ctx {
    gh_reasm *r;
    uint64_t flows, tcp_flows, payload, delivered, lim;
} corpus_ctx;

static void corpus_deliver(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
    corpus_dir *d = ctx;
    assert_non_null(data);
    assert_true(len > 0);
    assert_int_equal(off, d->delivered);
    d->delivered += len;
    assert_true(d->delivered <= d->payload);
}

/* The flow table's end callback: where a stage releases its per-flow state. */
static void corpus_flow_end(void *ctx, gh_flow *f)
{
    corpus_ctx *c = ctx;
    corpus_flow *cf = f->ext;
    c->flows++;
    if (!cf)
        return;
    for (int i = 0; i < 2; i++) {
        check_stream(c->r, &cf->d[i].s);
        gh_reasm_stream_close(c->r, &cf->d[i].s);
        assert_true(cf->d[i].delivered <= cf->d[i].payload);
        assert_int_equal(cf->d[i].delivered, cf->d[i].s.next_off);
        c->payload += cf->d[i].payload;
        c->delivered += cf->d[i].delivered;
    }
    free(cf);
    f->ext = NULL;
}

static void corpus_run(const char *path, bool midstream, corpus_ctx *c, uint64_t *pkts)
{
    gh_error err = {0};
    gh_flow_config fc;
    gh_flow_config_init(&fc);
    fc.max_flows = 65536;
    fc.midstream = midstream;
    fc.on_end = corpus_flow_end;
    fc.on_end_ctx = c;
    gh_flow_table *t = gh_flow_table_new(&fc, &err);
    assert_non_null(t);
    gh_source *src = gh_source_pcap_open(path, &err);
    if (!src)
        fail_msg("%s: %s", path, err.msg);
    gh_decode_opts o = {.verify_checksums = false};
    gh_pkt_in in[64];
    uint64_t last = 0;
    for (;;) {
        size_t got = 0;
        int rc = gh_source_read_batch(src, in, 64, &got, &err);
        for (size_t i = 0; i < got; i++) {
            gh_packet p;
            gh_decode(&p, in[i].linktype, in[i].data, in[i].caplen, &o);
            uint64_t now = (uint64_t)in[i].ts_sec * 1000000000u + in[i].ts_nsec;
            last = now;
            (*pkts)++;
            int dir;
            gh_flow *f = gh_flow_lookup(t, &p, now, in[i].id, &dir);
            if (!f || !(p.layers & GH_LAYER_TCP) || p.ip_proto != 6)
                continue;
            corpus_flow *cf = f->ext;
            if (!cf) {
                cf = calloc(1, sizeof(*cf));
                assert_non_null(cf);
                f->ext = cf;
                c->tcp_flows++;
            }
            corpus_dir *d = &cf->d[dir];
            if (p.payload)
                d->payload += p.payload_len;
            rc = gh_reasm_segment(c->r, &d->s, &p, corpus_deliver, d);
            assert_true(rc == GH_OK || rc == GH_E_LIMIT);
            c->lim += rc == GH_E_LIMIT;
            if (d->s.held_chunks < 32)
                check_stream(c->r, &d->s);
        }
        gh_flow_table_end_batch(t);
        if (rc == GH_E_EOF)
            break;
        if (rc != GH_OK)
            fail_msg("%s: %s", path, err.msg);
    }
    gh_source_close(src);
    gh_flow_table_flush(t, last);
    gh_flow_table_free(t);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = GH_CORPUS_DIR "/pcaps";
    DIR *dp = opendir(dir);
    if (!dp) {
        printf("corpus not found at %s: skipped\n", dir);
        skip();
    }
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if ((l > 5 && strcmp(de->d_name + l - 5, ".pcap") == 0) ||
            (l > 7 && strcmp(de->d_name + l - 7, ".pcapng") == 0))
            names[nn++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, nn, sizeof(*names), cmp_str);
    for (int mid = 0; mid < 2; mid++) {
        gh_reasm_config rc;
        gh_reasm_config_init(&rc);
        rc.midstream = mid;
        rc.memcap = (size_t)16 << 20;
        corpus_ctx c = {.r = new_reasm(&rc)};
        uint64_t pkts = 0;
        for (size_t i = 0; i < nn; i++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            corpus_run(path, mid, &c, &pkts);
        }
        const gh_reasm_stats *st = gh_reasm_get_stats(c.r);
        assert_pool_empty(c.r);
        assert_true(c.delivered <= c.payload);
        assert_int_equal(c.delivered, st->bytes_delivered);
        assert_true(st->bytes_delivered > 0);
        printf("corpus (midstream %s): %zu files, %" PRIu64 " packets, %" PRIu64 " TCP flows, %" PRIu64
               " payload bytes, %" PRIu64 " delivered\n ",
               mid ? "on" : "off", nn, pkts, c.tcp_flows, c.payload, c.delivered);
        for (size_t i = 0; gh_reasm_counter_name(i); i++)
            printf(" %s=%" PRIu64, gh_reasm_counter_name(i), (&st->segments)[i]);
        printf("\n  peak chunks %" PRIu64 ", limit returns %" PRIu64 "\n", st->chunks_max, c.lim);
        gh_reasm_free(c.r);
    }
    for (size_t i = 0; i < nn; i++)
        free(names[i]);
}

/* Holes: gh_reasm_skip_gap gives up on missing bytes only up to the bound
 * given, then delivers what was held behind them, the offsets showing the
 * hole; gh_reasm_seq_offset maps an ACK to a stream offset. */
typedef struct hole_sink {
    uint64_t off[8];
    size_t len[8];
    char data[64];
    size_t n, bytes;
} hole_sink;

static void hole_fn(void *ctx, const uint8_t *data, size_t len, uint64_t off)
{
    hole_sink *h = ctx;
    assert_true(h->n < 8 && h->bytes + len <= sizeof(h->data));
    h->off[h->n] = off;
    h->len[h->n++] = len;
    memcpy(h->data + h->bytes, data, len);
    h->bytes += len;
}

static void test_skip_gap(void **state)
{
    (void)state;
    gh_reasm *r = new_reasm(NULL);
    gh_reasm_stream s = {0};
    hole_sink h = {0};
    gh_packet p = seg(ISN, GH_TCP_SYN, NULL, 0);
    assert_int_equal(gh_reasm_segment(r, &s, &p, hole_fn, &h), GH_OK);
    p = seg(D0, GH_TCP_ACK, "VERY", 4);
    assert_int_equal(gh_reasm_segment(r, &s, &p, hole_fn, &h), GH_OK);
    p = seg(D0 + 8, GH_TCP_ACK, "DATA", 4); /* bytes 4..7 never arrive */
    assert_int_equal(gh_reasm_segment(r, &s, &p, hole_fn, &h), GH_OK);
    p = seg(D0 + 14, GH_TCP_ACK, "MORE", 4); /* a second hole, 12..13 */
    assert_int_equal(gh_reasm_segment(r, &s, &p, hole_fn, &h), GH_OK);
    assert_int_equal(h.n, 1);
    assert_int_equal(gh_reasm_seq_offset(&s, D0 + 12), 12);
    assert_int_equal(gh_reasm_seq_offset(&s, D0), 0);
    /* an ACK before the held data skips nothing */
    assert_int_equal(gh_reasm_skip_gap(r, &s, 7, hole_fn, &h), 0);
    assert_int_equal(h.n, 1);
    /* an ACK past the first hole: "DATA" flows, the second hole stays */
    assert_int_equal(gh_reasm_skip_gap(r, &s, 12, hole_fn, &h), 4);
    assert_int_equal(h.n, 2);
    assert_int_equal(h.off[1], 8);
    assert_int_equal(h.len[1], 4);
    assert_int_equal(s.next_off, 12);
    /* flow end: every hole */
    assert_int_equal(gh_reasm_skip_gap(r, &s, UINT64_MAX, hole_fn, &h), 2);
    assert_int_equal(h.n, 3);
    assert_int_equal(h.off[2], 14);
    assert_memory_equal(h.data, "VERYDATAMORE", 12);
    const gh_reasm_stats *st = gh_reasm_get_stats(r);
    assert_int_equal(st->gaps_skipped, 2);
    assert_int_equal(s.held_bytes, 0);
    gh_reasm_stream_close(r, &s);
    assert_int_equal(st->gaps, 1); /* a stream that had data missing */
    assert_int_equal(gh_reasm_skip_gap(r, &s, UINT64_MAX, hole_fn, &h), 0); /* closed */
    assert_pool_empty(r);
    gh_reasm_free(r);
}

int main(void)
{
    const char *seed = getenv("GH_TEST_SEED");
    if (seed && *seed)
        rng_state = strtoull(seed, NULL, 0) | 1u;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes_and_config),
        cmocka_unit_test(test_in_order_no_copy),
        cmocka_unit_test(test_skip_gap),
        cmocka_unit_test(test_split_segments),
        cmocka_unit_test(test_one_byte_segments),
        cmocka_unit_test(test_reversed_and_permutations),
        cmocka_unit_test(test_retransmissions),
        cmocka_unit_test(test_retransmission_compare_window),
        cmocka_unit_test(test_overlaps_first_wins),
        cmocka_unit_test(test_straddle_old_and_new),
        cmocka_unit_test(test_wraparound),
        cmocka_unit_test(test_long_stream_offsets),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_gap_never_fills),
        cmocka_unit_test(test_fin_semantics),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_compare_window_yields),
        cmocka_unit_test(test_decoded_packets),
        cmocka_unit_test(test_differential_same_data),
        cmocka_unit_test(test_differential_conflicting),
        cmocka_unit_test(test_differential_tight_limits),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
