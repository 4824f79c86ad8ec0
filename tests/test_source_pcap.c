/* The pcap source through its public API (gh_source_pcap_open and
 * gh_source_read_batch): packet counts, link types, lengths and data
 * against libpcap's own reading, nanosecond timestamps, directories read in
 * name order with continuous ids, and the errors for truncated, corrupt and
 * non-capture files. The samples come from tests/data/make_samples.py. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gatehouse/decode.h"
#include "gatehouse/source.h"

#define DATA GH_TEST_DATA_DIR "/"
#define T0 1278472580 /* the samples' first timestamp, see make_samples.py */

/* One delivered packet, copied out of the source's arena. */
typedef struct rec {
    uint8_t *data;
    uint32_t caplen, wirelen, linktype;
    int64_t ts_sec;
    uint32_t ts_nsec;
    uint64_t id;
} rec;

typedef struct run {
    rec *r;
    size_t n, cap;
    size_t batches;
    int end_rc;          /* what the read that ended the run returned */
    gh_error end_err;
    gh_source_stats st;
} run;

static void run_free(run *rn)
{
    for (size_t i = 0; i < rn->n; i++)
        free(rn->r[i].data);
    free(rn->r);
    memset(rn, 0, sizeof(*rn));
}

/* Read an open source to its end (EOF or error) in batches of @p max. */
static void read_source(gh_source *s, size_t max, run *rn)
{
    gh_pkt_in pkts[64];
    assert_true(max <= 64);
    for (;;) {
        size_t n = 12345;
        gh_error err = {0};
        int rc = gh_source_read_batch(s, pkts, max, &n, &err);
        if (rc != GH_OK) {
            assert_int_equal(n, 0); /* a failing read hands out nothing */
            rn->end_rc = rc;
            rn->end_err = err;
            break;
        }
        assert_true(n >= 1 && n <= max);
        rn->batches++;
        /* the whole batch stays valid until the next read: check that by
         * copying only after the batch is complete */
        for (size_t i = 0; i < n; i++) {
            if (rn->n == rn->cap) {
                rn->cap = rn->cap ? rn->cap * 2 : 64;
                rn->r = realloc(rn->r, rn->cap * sizeof(*rn->r));
                assert_non_null(rn->r);
            }
            rec *r = &rn->r[rn->n++];
            assert_non_null(pkts[i].data);
            r->data = malloc(pkts[i].caplen ? pkts[i].caplen : 1);
            assert_non_null(r->data);
            memcpy(r->data, pkts[i].data, pkts[i].caplen);
            r->caplen = pkts[i].caplen;
            r->wirelen = pkts[i].wirelen;
            r->linktype = pkts[i].linktype;
            r->ts_sec = pkts[i].ts_sec;
            r->ts_nsec = pkts[i].ts_nsec;
            r->id = pkts[i].id;
        }
    }
    gh_source_stats_get(s, &rn->st);
}

static void read_path(const char *path, size_t max, run *rn)
{
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(path, &err);
    if (!s)
        fail_msg("open %s: %s", path, err.msg);
    read_source(s, max, rn);
    gh_source_close(s);
}

/* Ids are 1..n in delivery order; stats agree with what was delivered. */
static void check_ids_and_stats(const run *rn)
{
    uint64_t bytes = 0;
    for (size_t i = 0; i < rn->n; i++) {
        assert_int_equal(rn->r[i].id, i + 1);
        assert_true(rn->r[i].caplen <= rn->r[i].wirelen);
        bytes += rn->r[i].caplen;
    }
    assert_int_equal(rn->st.packets, rn->n);
    assert_int_equal(rn->st.bytes, bytes);
    assert_int_equal(rn->st.kernel_drops, 0);
}

/* The same packets as libpcap itself reads them (nanosecond precision),
 * starting at record @p first of @p rn. Returns the number compared. */
static size_t compare_with_libpcap(const char *path, const run *rn, size_t first)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc)
        fail_msg("libpcap cannot open %s: %s", path, ebuf);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t i = first;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        assert_true(i < rn->n);
        const rec *r = &rn->r[i++];
        assert_int_equal(r->caplen, h->caplen);
        assert_int_equal(r->wirelen, h->len);
        assert_int_equal(r->ts_sec, h->ts.tv_sec);
        assert_int_equal(r->ts_nsec, h->ts.tv_usec);
        assert_int_equal(r->linktype, pcap_datalink(pc));
        assert_memory_equal(r->data, d, h->caplen);
    }
    pcap_close(pc);
    return i - first;
}

/* LINKTYPE_RAW (101) files come out of libpcap as DLT_RAW, whose value is
 * 12 on most systems (14 on OpenBSD); the decoder takes all three. */
#define RAW_ANY 0xffffffffu

static void check_linktype(uint32_t got, uint32_t want)
{
    if (want == RAW_ANY)
        assert_true(got == GH_LINK_RAW || got == GH_LINK_RAW_DLT || got == GH_LINK_RAW_DLT14);
    else
        assert_int_equal(got, want);
}

static void test_counts_and_linktypes(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        size_t packets;
        uint32_t linktype;
    } files[] = {
        {"sll2.pcap", 5, GH_LINK_SLL2},
        {"sll.pcap", 5, GH_LINK_SLL},
        {"null.pcap", 5, GH_LINK_NULL},
        {"raw.pcap", 8, RAW_ANY},
        {"vlan_mpls.pcap", 8, GH_LINK_ETHERNET},
        {"ipv6_ext.pcap", 6, GH_LINK_ETHERNET},
        {"sample.pcapng", 3, GH_LINK_ETHERNET},
        {"nsec.pcap", 4, GH_LINK_ETHERNET},
        {"anomalies.pcap", 11, GH_LINK_ETHERNET},
        {"sample.pcap", 35, GH_LINK_ETHERNET},
    };
    static const size_t batch_sizes[] = {1, 3, 64};
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        char path[1024];
        snprintf(path, sizeof(path), DATA "%s", files[f].file);
        for (size_t b = 0; b < sizeof(batch_sizes) / sizeof(batch_sizes[0]); b++) {
            run rn = {0};
            read_path(path, batch_sizes[b], &rn);
            if (rn.n != files[f].packets)
                fail_msg("%s: %zu packets, want %zu", files[f].file, rn.n, files[f].packets);
            assert_int_equal(rn.end_rc, GH_E_EOF);
            assert_int_equal(rn.st.files, 1);
            check_ids_and_stats(&rn);
            for (size_t i = 0; i < rn.n; i++)
                check_linktype(rn.r[i].linktype, files[f].linktype);
            /* a batch size of 1 cannot hide a skipped or repeated packet */
            if (batch_sizes[b] == 1)
                assert_int_equal(rn.batches, rn.n);
            assert_int_equal(compare_with_libpcap(path, &rn, 0), rn.n);
            run_free(&rn);
        }
    }
}

/* raw.pcap's last packet was cut by a 60-byte snap length (wire 220). */
static void test_snaplen_cut_packet(void **state)
{
    (void)state;
    run rn = {0};
    read_path(DATA "raw.pcap", 64, &rn);
    assert_int_equal(rn.n, 8);
    assert_int_equal(rn.r[7].caplen, 60);
    assert_int_equal(rn.r[7].wirelen, 220);
    for (size_t i = 0; i < 7; i++)
        assert_int_equal(rn.r[i].caplen, rn.r[i].wirelen);
    run_free(&rn);
}

static void test_timestamps(void **state)
{
    (void)state;
    /* nanosecond pcap (magic a1b23c4d): values no microsecond file can hold */
    static const struct {
        int64_t sec;
        uint32_t nsec;
    } ns[] = {{T0, 566743123}, {T0, 566743124}, {T0 + 1, 1}, {T0 + 2, 999999999}};
    run rn = {0};
    read_path(DATA "nsec.pcap", 2, &rn);
    assert_int_equal(rn.n, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(rn.r[i].ts_sec, ns[i].sec);
        assert_int_equal(rn.r[i].ts_nsec, ns[i].nsec);
    }
    run_free(&rn);

    /* pcapng with if_tsresol 9 */
    read_path(DATA "sample.pcapng", 64, &rn);
    assert_int_equal(rn.n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(rn.r[i].ts_sec, T0 + (int64_t)i);
        assert_int_equal(rn.r[i].ts_nsec, 123456789 + i);
    }
    run_free(&rn);

    /* microsecond pcap: packet i at T0 + i s + 1000*i us */
    read_path(DATA "sll.pcap", 64, &rn);
    assert_int_equal(rn.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(rn.r[i].ts_sec, T0 + (int64_t)i);
        assert_int_equal(rn.r[i].ts_nsec, 1000000u * i);
    }
    run_free(&rn);

    /* sample.pcap: first and last packet as tshark shows them */
    read_path(DATA "sample.pcap", 64, &rn);
    assert_int_equal(rn.n, 35);
    assert_int_equal(rn.r[0].ts_sec, 1491423344);
    assert_int_equal(rn.r[0].ts_nsec, 641377000);
    assert_int_equal(rn.r[0].caplen, 78);
    run_free(&rn);
}

static void expect_msg(const char *msg, const char *needle)
{
    if (!strstr(msg, needle))
        fail_msg("error message lacks \"%s\": %s", needle, msg);
}

/* ---- directories ---------------------------------------------------------- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    assert_non_null(in);
    FILE *out = fopen(to, "wb");
    assert_non_null(out);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

typedef struct tmpdir {
    char path[64];
    char files[4][128];
    int nfiles;
    char sub[128];
} tmpdir;

static void tmpdir_make(tmpdir *td)
{
    memset(td, 0, sizeof(*td));
    snprintf(td->path, sizeof(td->path), "/tmp/gh_test_src_XXXXXX");
    assert_non_null(mkdtemp(td->path));
}

static void tmpdir_add(tmpdir *td, const char *src, const char *name)
{
    assert_true(td->nfiles < 4);
    char p[128]; /* not straight into td: source and destination would share it */
    snprintf(p, sizeof(p), "%s/%s", td->path, name);
    memcpy(td->files[td->nfiles++], p, sizeof(p));
    copy_file(src, p);
}

static void tmpdir_remove(tmpdir *td)
{
    for (int i = 0; i < td->nfiles; i++)
        unlink(td->files[i]);
    if (td->sub[0])
        rmdir(td->sub);
    rmdir(td->path);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static void test_directory_name_order(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    /* created out of name order, so readdir order is unlikely to be what
     * makes the test pass */
    tmpdir_add(&td, DATA "nsec.pcap", "b.pcap");
    tmpdir_add(&td, DATA "raw.pcap", "a.pcap");
    tmpdir_add(&td, DATA "sll.pcap", "d.pcap");
    tmpdir_add(&td, DATA "sample.pcapng", "c.pcapng");
    /* a subdirectory is not a regular file: skipped */
    char sub[128];
    snprintf(sub, sizeof(sub), "%s/0.pcap", td.path);
    memcpy(td.sub, sub, sizeof(sub));
    assert_int_equal(mkdir(td.sub, 0700), 0);

    static const size_t batch_sizes[] = {1, 3, 64};
    for (size_t b = 0; b < sizeof(batch_sizes) / sizeof(batch_sizes[0]); b++) {
        gh_error err = {0};
        gh_source *s = gh_source_pcap_open(td.path, &err);
        if (!s)
            fail_msg("open %s: %s", td.path, err.msg);
        /* the first file is opened at once */
        assert_non_null(gh_source_pcap_current_file(s));
        assert_true(ends_with(gh_source_pcap_current_file(s), "/a.pcap"));
        run rn = {0};
        read_source(s, batch_sizes[b], &rn);
        gh_source_close(s);

        assert_int_equal(rn.end_rc, GH_E_EOF);
        assert_int_equal(rn.n, 8 + 4 + 3 + 5);
        assert_int_equal(rn.st.files, 4);
        assert_int_equal(rn.st.skipped_files, 0);
        check_ids_and_stats(&rn);
        /* a (raw.pcap, 8), b (nsec.pcap, 4), c (sample.pcapng, 3), d (sll.pcap, 5) */
        assert_int_equal(compare_with_libpcap(td.files[1], &rn, 0), 8);
        assert_int_equal(compare_with_libpcap(td.files[0], &rn, 8), 4);
        assert_int_equal(compare_with_libpcap(td.files[3], &rn, 12), 3);
        assert_int_equal(compare_with_libpcap(td.files[2], &rn, 15), 5);
        for (size_t i = 0; i < 8; i++)
            check_linktype(rn.r[i].linktype, RAW_ANY);
        for (size_t i = 8; i < 15; i++)
            assert_int_equal(rn.r[i].linktype, GH_LINK_ETHERNET);
        for (size_t i = 15; i < 20; i++)
            assert_int_equal(rn.r[i].linktype, GH_LINK_SLL);
        assert_int_equal(rn.r[8].ts_nsec, 566743123);
        run_free(&rn);
    }
    tmpdir_remove(&td);
}

/* In a directory, files that are not captures at all (no pcap/pcapng magic:
 * a README, a checksum list) are skipped and counted; a capture that is
 * broken is still an error, after the packets before it. */
static void test_directory_skips_non_captures(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    tmpdir_add(&td, DATA "notapcap.pcap", "a.txt");
    tmpdir_add(&td, DATA "sll.pcap", "b.pcap");
    tmpdir_add(&td, DATA "notapcap.pcap", "c.pcap");
    tmpdir_add(&td, DATA "nsec.pcap", "d.pcap");
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(td.path, &err);
    if (!s)
        fail_msg("open %s: %s", td.path, err.msg);
    assert_true(ends_with(gh_source_pcap_current_file(s), "/b.pcap"));
    run rn = {0};
    read_source(s, 3, &rn);
    gh_source_close(s);
    assert_int_equal(rn.end_rc, GH_E_EOF);
    assert_int_equal(rn.n, 5 + 4);
    check_ids_and_stats(&rn);
    assert_int_equal(rn.st.files, 2);
    assert_int_equal(rn.st.skipped_files, 2);
    assert_int_equal(compare_with_libpcap(td.files[1], &rn, 0), 5);
    assert_int_equal(compare_with_libpcap(td.files[3], &rn, 5), 4);
    run_free(&rn);
    tmpdir_remove(&td);

    /* nothing but non-captures: the open fails and names the directory */
    tmpdir_make(&td);
    tmpdir_add(&td, DATA "notapcap.pcap", "a.pcap");
    memset(&err, 0, sizeof(err));
    assert_null(gh_source_pcap_open(td.path, &err));
    assert_int_equal(err.code, GH_E_FORMAT);
    expect_msg(err.msg, td.path);
    tmpdir_remove(&td);
}

static void test_directory_broken_capture(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    tmpdir_add(&td, DATA "sll.pcap", "a.pcap");
    tmpdir_add(&td, DATA "truncated.pcap", "b.pcap");
    tmpdir_add(&td, DATA "raw.pcap", "c.pcap");
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(td.path, &err);
    if (!s)
        fail_msg("open %s: %s", td.path, err.msg);
    run rn = {0};
    read_source(s, 4, &rn);
    gh_source_close(s);
    /* a.pcap's 5, b.pcap's 6 good ones, then b.pcap's error; c.pcap unread */
    assert_int_equal(rn.n, 5 + 6);
    check_ids_and_stats(&rn);
    assert_int_equal(rn.end_rc, GH_E_FORMAT);
    expect_msg(rn.end_err.msg, "/b.pcap: packet 7 ");
    assert_int_equal(compare_with_libpcap(td.files[0], &rn, 0), 5);
    run_free(&rn);
    tmpdir_remove(&td);

    /* pcap magic, then nothing: a capture libpcap cannot open, after a
     * good file: the good packets, then an error naming it */
    tmpdir_make(&td);
    tmpdir_add(&td, DATA "sll.pcap", "a.pcap");
    static const uint8_t magic_only[4] = {0xd4, 0xc3, 0xb2, 0xa1};
    char bad[128];
    snprintf(bad, sizeof(bad), "%s/b.pcap", td.path);
    FILE *f = fopen(bad, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(magic_only, 1, 4, f), 4);
    assert_int_equal(fclose(f), 0);
    memcpy(td.files[td.nfiles++], bad, sizeof(bad));
    s = gh_source_pcap_open(td.path, &err);
    if (!s)
        fail_msg("open %s: %s", td.path, err.msg);
    read_source(s, 64, &rn);
    gh_source_close(s);
    assert_int_equal(rn.n, 5);
    assert_int_equal(rn.end_rc, GH_E_FORMAT);
    expect_msg(rn.end_err.msg, bad);
    run_free(&rn);
    tmpdir_remove(&td);
}

/* ---- broken files ----------------------------------------------------------- */

/* Byte offset of record @p k (0-based) in a classic little-endian pcap,
 * found by walking the record headers ourselves. */
static long record_offset(const char *path, unsigned k)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    long off = 24;
    for (unsigned i = 0; i < k; i++) {
        uint8_t h[16];
        assert_int_equal(fseek(f, off, SEEK_SET), 0);
        assert_int_equal(fread(h, 1, 16, f), 16);
        uint32_t caplen = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 |
                          (uint32_t)h[11] << 24;
        off += 16 + (long)caplen;
    }
    fclose(f);
    return off;
}

/* Good packets first, then one error naming file, packet and offset. */
static void check_broken(const char *file, size_t good, size_t max)
{
    char path[1024], want[128];
    snprintf(path, sizeof(path), DATA "%s", file);
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(path, &err);
    if (!s)
        fail_msg("open %s: %s", path, err.msg);
    run rn = {0};
    read_source(s, max, &rn);
    assert_int_equal(rn.n, good);
    check_ids_and_stats(&rn);
    assert_int_equal(compare_with_libpcap(path, &rn, 0), good);
    assert_int_equal(rn.end_rc, GH_E_FORMAT);
    assert_int_equal(rn.end_err.code, GH_E_FORMAT);
    expect_msg(rn.end_err.msg, file);
    snprintf(want, sizeof(want), "packet %zu ", good + 1);
    expect_msg(rn.end_err.msg, want);
    snprintf(want, sizeof(want), "byte offset %ld", record_offset(path, (unsigned)good));
    expect_msg(rn.end_err.msg, want);
    /* the error is sticky: no packets and the same error afterwards */
    gh_pkt_in pkts[4];
    size_t n = 99;
    gh_error again = {0};
    assert_int_equal(gh_source_read_batch(s, pkts, 4, &n, &again), GH_E_FORMAT);
    assert_int_equal(n, 0);
    assert_string_equal(again.msg, rn.end_err.msg);
    gh_source_close(s);
    run_free(&rn);
}

static void test_truncated(void **state)
{
    (void)state;
    /* batch of 4: the error comes after a second, partial batch of 2;
     * batch of 64: after one batch of 6; batch of 6: right after a full one */
    check_broken("truncated.pcap", 6, 4);
    check_broken("truncated.pcap", 6, 64);
    check_broken("truncated.pcap", 6, 6);
    check_broken("truncated.pcap", 6, 1);
}

static void test_corrupt_header(void **state)
{
    (void)state;
    check_broken("corrupt_header.pcap", 3, 64);
    check_broken("corrupt_header.pcap", 3, 2);
}

static void test_not_a_capture(void **state)
{
    (void)state;
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(DATA "notapcap.pcap", &err);
    assert_null(s);
    assert_int_equal(err.code, GH_E_FORMAT);
    expect_msg(err.msg, DATA "notapcap.pcap");
}

static void test_missing_path(void **state)
{
    (void)state;
    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(DATA "no-such-file.pcap", &err);
    assert_null(s);
    assert_int_equal(err.code, GH_E_IO);
    expect_msg(err.msg, DATA "no-such-file.pcap");

    memset(&err, 0, sizeof(err));
    assert_null(gh_source_pcap_open("/nonexistent-dir-gh/x/", &err));
    assert_true(err.code < 0);
    expect_msg(err.msg, "/nonexistent-dir-gh/x/");
    gh_source_close(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_and_linktypes),
        cmocka_unit_test(test_snaplen_cut_packet),
        cmocka_unit_test(test_timestamps),
        cmocka_unit_test(test_directory_name_order),
        cmocka_unit_test(test_directory_skips_non_captures),
        cmocka_unit_test(test_directory_broken_capture),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_corrupt_header),
        cmocka_unit_test(test_not_a_capture),
        cmocka_unit_test(test_missing_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
