/* The pcap source through its public API (gh_source_pcap_open and
 * gh_source_read_batch): packet counts, link types, lengths and data
 * against libpcap's own reading, nanosecond timestamps, directories read in
 * name order with continuous ids, and the errors for truncated, corrupt and
 * non-capture files. The samples come from tests/data/make_samples.py; the
 * classic pcap files the source reads itself (not through libpcap) are
 * also written here, record by record, to hold every case libpcap treats
 * apart. The link wraps pcap_next_ex (CMakeLists.txt) to tell which files
 * the source read itself. */
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
#include <unistd.h>

#include "gatehouse/decode.h"
#include "gatehouse/source.h"

#define DATA GH_TEST_DATA_DIR "/"

/* pcap_next_ex calls, the source's and the tests' own */
static unsigned long libpcap_reads;
int __real_pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **d);
int __wrap_pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **d);
int __wrap_pcap_next_ex(pcap_t *p, struct pcap_pkthdr **h, const u_char **d)
{
    libpcap_reads++;
    return __real_pcap_next_ex(p, h, d);
}
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
        /* the low 32 bits of libpcap's long: a microsecond field past
         * 4294967 scales beyond them */
        assert_int_equal(r->ts_nsec, (uint32_t)h->ts.tv_usec);
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

/* ---- classic pcap files the source reads itself ---------------------------- */

/* Classic pcap files of the common link types are read and their records
 * walked by the source itself; everything it hands out, and every error,
 * must be what libpcap gives for the same file. */

#define MAGIC_USEC 0xa1b2c3d4u
#define MAGIC_NSEC 0xa1b23c4du

typedef struct gen_file {
    uint32_t magic;
    bool swapped;          /* written in the other byte order */
    uint16_t major, minor; /* 0.0: 2.4 */
    uint32_t snaplen, linktype;
} gen_file;

/* One record as written: a header of hdr_bytes (0: all 16) and data_bytes
 * of data (-1: incl, as a good record has). */
typedef struct gen_rec {
    uint32_t sec, frac, incl, orig;
    uint32_t hdr_bytes;
    int64_t data_bytes;
} gen_rec;

#define REC(sec, frac, incl, orig) {(sec), (frac), (incl), (orig), 0, -1}

static void put32(FILE *f, uint32_t v, bool swapped)
{
    if (swapped)
        v = __builtin_bswap32(v);
    assert_int_equal(fwrite(&v, 4, 1, f), 1);
}

static void put16(FILE *f, uint16_t v, bool swapped)
{
    if (swapped)
        v = __builtin_bswap16(v);
    assert_int_equal(fwrite(&v, 2, 1, f), 1);
}

/* The data of record @p i, byte @p j: no two records alike. */
static uint8_t gen_byte(size_t i, size_t j)
{
    return (uint8_t)(i * 37 + j * 7 + 1);
}

/* Write a pcap file and return the byte offset of record @p bad (the
 * record an error is expected at; n for none). */
static long write_pcap(const char *path, const gen_file *g, const gen_rec *r, size_t n,
                       size_t bad)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    put32(f, g->magic, g->swapped);
    put16(f, g->major ? g->major : 2, g->swapped);
    put16(f, g->major ? g->minor : 4, g->swapped);
    put32(f, 0, g->swapped);
    put32(f, 0, g->swapped);
    put32(f, g->snaplen, g->swapped);
    put32(f, g->linktype, g->swapped);
    long off = 24, bad_off = -1;
    for (size_t i = 0; i < n; i++) {
        if (i == bad)
            bad_off = off;
        uint8_t h[16];
        uint32_t v[4] = {r[i].sec, r[i].frac, r[i].incl, r[i].orig};
        for (int k = 0; k < 4; k++) {
            uint32_t x = g->swapped ? __builtin_bswap32(v[k]) : v[k];
            memcpy(h + 4 * k, &x, 4);
        }
        size_t hb = r[i].hdr_bytes ? r[i].hdr_bytes : 16;
        assert_int_equal(fwrite(h, 1, hb, f), hb);
        size_t db = r[i].data_bytes < 0 ? r[i].incl : (size_t)r[i].data_bytes;
        uint8_t buf[4096];
        for (size_t j = 0; j < db; j += sizeof(buf)) {
            size_t m = db - j < sizeof(buf) ? db - j : sizeof(buf);
            for (size_t x = 0; x < m; x++)
                buf[x] = gen_byte(i, j + x);
            assert_int_equal(fwrite(buf, 1, m, f), m);
        }
        off += (long)(hb + db);
    }
    assert_int_equal(fclose(f), 0);
    return bad == n ? off : bad_off;
}

/* Whether this process has the file at @p path open. */
static bool is_open(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    char link[300], target[512];
    bool open = false;
    struct dirent *de;
    while (!open && (de = readdir(d))) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", de->d_name);
        ssize_t n = readlink(link, target, sizeof(target) - 1);
        if (n > 0) {
            target[n] = '\0';
            open = strcmp(target, path) == 0;
        }
    }
    closedir(d);
    return open;
}

/* Read @p path in batches of 1, 3 and 64: the same packets as libpcap
 * reads, then the same end: EOF, or the error libpcap reports, worded as
 * the source words it, at record @p bad_off. @p direct: whether the source
 * must read the file itself, not through libpcap. Returns the number of
 * packets. */
static size_t check_like_libpcap(const char *path, bool direct, long bad_off)
{
    char ebuf[PCAP_ERRBUF_SIZE], want[512] = "";
    pcap_t *pc = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, ebuf);
    if (!pc)
        fail_msg("libpcap cannot open %s: %s", path, ebuf);
    struct pcap_pkthdr *h;
    const u_char *d;
    size_t good = 0;
    int r;
    while ((r = pcap_next_ex(pc, &h, &d)) == 1)
        good++;
    if (r == PCAP_ERROR)
        snprintf(want, sizeof(want), "%s: packet %zu (record at byte offset %ld) is corrupt: %s",
                 path, good + 1, bad_off, pcap_geterr(pc));
    else
        assert_int_equal(r, PCAP_ERROR_BREAK);
    pcap_close(pc);

    static const size_t batch_sizes[] = {1, 3, 64};
    for (size_t b = 0; b < sizeof(batch_sizes) / sizeof(batch_sizes[0]); b++) {
        gh_error err = {0};
        gh_source *s = gh_source_pcap_open(path, &err);
        if (!s)
            fail_msg("open %s: %s", path, err.msg);
        run rn = {0};
        libpcap_reads = 0;
        read_source(s, batch_sizes[b], &rn);
        assert_int_equal(libpcap_reads == 0, direct);
        assert_int_equal(rn.n, good);
        check_ids_and_stats(&rn);
        assert_int_equal(rn.st.files, 1);
        assert_int_equal(compare_with_libpcap(path, &rn, 0), good);
        if (want[0]) {
            assert_int_equal(rn.end_rc, GH_E_FORMAT);
            assert_string_equal(rn.end_err.msg, want);
        } else {
            assert_int_equal(rn.end_rc, GH_E_EOF);
            /* the read that found the end released the file */
            assert_false(is_open(path));
        }
        gh_source_close(s);
        assert_false(is_open(path));
        run_free(&rn);
    }
    return good;
}

static void tmpdir_file(tmpdir *td, const char *name, char *path, size_t size)
{
    assert_true(td->nfiles < 4);
    snprintf(path, size, "%s/%s", td->path, name);
    assert_true(strlen(path) < sizeof(td->files[0]));
    strcpy(td->files[td->nfiles++], path);
}

/* Micro- and nanosecond files in both byte orders: timestamps (sign and
 * overflow included), lengths, data, and a record beyond the snapshot
 * length, cut to it as libpcap cuts it, with the next record found after
 * its full length. */
static void test_direct_files(void **state)
{
    (void)state;
    static const gen_rec recs[] = {
        REC(T0, 1, 60, 60),
        REC(T0, 999999, 0, 0),         /* no data at all */
        REC(T0 + 1, 123456, 128, 1500), /* exactly the snapshot length */
        REC(T0 + 2, 5, 200, 200),      /* beyond it: 128 kept, 72 skipped */
        REC(T0 + 3, 7, 70, 70),
        REC(0x80000001u, 2000000, 40, 40), /* seconds past 2038, usec past 1e6 */
        REC(0xffffffffu, 0xffffffffu, 64, 64),
        REC(5, 0x80000000u, 1, 1),
    };
    const size_t n = sizeof(recs) / sizeof(recs[0]);
    tmpdir td;
    tmpdir_make(&td);
    for (int v = 0; v < 4; v++) {
        gen_file g = {.magic = v & 1 ? MAGIC_NSEC : MAGIC_USEC, .swapped = v & 2,
                      .snaplen = 128, .linktype = GH_LINK_ETHERNET};
        char path[128], name[16];
        snprintf(name, sizeof(name), "%d.pcap", v);
        tmpdir_file(&td, name, path, sizeof(path));
        write_pcap(path, &g, recs, n, n);
        assert_int_equal(check_like_libpcap(path, true, -1), n);

        run rn = {0};
        read_path(path, 64, &rn);
        assert_int_equal(rn.n, n);
        uint32_t scale = v & 1 ? 1 : 1000;
        assert_int_equal(rn.r[0].ts_sec, T0);
        assert_int_equal(rn.r[0].ts_nsec, scale);
        assert_int_equal(rn.r[2].ts_nsec, 123456 * scale);
        assert_int_equal(rn.r[2].caplen, 128);
        assert_int_equal(rn.r[2].wirelen, 1500);
        assert_int_equal(rn.r[3].caplen, 128);
        assert_int_equal(rn.r[3].wirelen, 200);
        assert_int_equal(rn.r[4].caplen, 70);
        for (size_t j = 0; j < 70; j++)
            assert_int_equal(rn.r[4].data[j], gen_byte(4, j));
        /* libpcap sign-extends the field, except after its byte swap */
        assert_int_equal(rn.r[5].ts_sec, v & 2 ? INT64_C(0x80000001) : INT64_C(-0x7fffffff));
        assert_int_equal(rn.r[5].ts_nsec, (uint32_t)(2000000u * scale));
        run_free(&rn);
    }
    tmpdir_remove(&td);
}

/* Broken records, each the last of its file, in both byte orders: the
 * packets before it, then libpcap's own error. */
static void test_direct_errors(void **state)
{
    (void)state;
    static const struct {
        const char *what;
        uint32_t snaplen;
        gen_rec bad;
    } cases[] = {
        {"header cut", 65535, {T0, 0, 60, 60, 7, 0}},
        {"data cut", 65535, {T0, 0, 100, 100, 0, 40}},
        {"no data", 65535, {T0, 0, 100, 100, 0, 0}},
        {"beyond the snaplen and the maximum", 65535, REC(T0, 0, 300000, 300000)},
        {"beyond the maximum only", 1000000, REC(T0, 0, 300000, 300000)},
        {"beyond the snaplen, cut before it", 64, {T0, 0, 100, 100, 0, 30}},
        {"beyond the snaplen, cut after it", 64, {T0, 0, 100, 100, 0, 70}},
        {"incl_len 0xffffffff", 65535, {T0, 0, 0xffffffffu, 60, 0, 60}},
    };
    tmpdir td;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int swapped = 0; swapped < 2; swapped++) {
            tmpdir_make(&td);
            gen_rec recs[3] = {REC(T0, 10, 60, 60), REC(T0, 20, 50, 90), cases[c].bad};
            gen_file g = {.magic = MAGIC_USEC, .swapped = swapped, .snaplen = cases[c].snaplen,
                          .linktype = GH_LINK_ETHERNET};
            char path[128];
            tmpdir_file(&td, "bad.pcap", path, sizeof(path));
            long bad_off = write_pcap(path, &g, recs, 3, 2);
            print_message("%s%s\n", cases[c].what, swapped ? ", swapped" : "");
            assert_int_equal(check_like_libpcap(path, true, bad_off), 2);
            tmpdir_remove(&td);
        }
    }

    /* after a record cut to the snapshot length the error names the bad
     * record's true offset, its full length counted */
    tmpdir_make(&td);
    gen_rec recs[3] = {REC(T0, 0, 100, 100), REC(T0, 1, 60, 60), {T0, 2, 60, 60, 5, 0}};
    gen_file g = {.magic = MAGIC_NSEC, .snaplen = 64, .linktype = GH_LINK_ETHERNET};
    char path[128];
    tmpdir_file(&td, "bad.pcap", path, sizeof(path));
    long bad_off = write_pcap(path, &g, recs, 3, 2);
    assert_int_equal(bad_off, 24 + 16 + 100 + 16 + 60);
    assert_int_equal(check_like_libpcap(path, true, bad_off), 2);
    tmpdir_remove(&td);

    /* a file header and no records: empty, not broken */
    tmpdir_make(&td);
    tmpdir_file(&td, "empty.pcap", path, sizeof(path));
    write_pcap(path, &g, recs, 0, 0);
    assert_int_equal(check_like_libpcap(path, true, -1), 0);
    tmpdir_remove(&td);
}

/* Files whose packets libpcap would change, or whose record headers it
 * reads differently, stay with libpcap. */
static void test_libpcap_files(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    char path[128];

    /* byte-swapped Linux cooked capture of a CAN frame: libpcap swaps the
     * CAN id to host order, so the packet is not the file's bytes */
    gen_file g = {.magic = MAGIC_USEC, .swapped = true, .snaplen = 65535,
                  .linktype = GH_LINK_SLL};
    gen_rec recs[2] = {REC(T0, 0, 32, 32), REC(T0, 1, 32, 32)};
    tmpdir_file(&td, "can.pcap", path, sizeof(path));
    write_pcap(path, &g, recs, 2, 2);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    static const uint8_t can_proto[2] = {0x00, 0x0c}; /* LINUX_SLL_P_CAN */
    assert_int_equal(fseek(f, 24 + 16 + 14, SEEK_SET), 0);
    assert_int_equal(fwrite(can_proto, 1, 2, f), 2);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(check_like_libpcap(path, false, -1), 2);
    run rn = {0};
    read_path(path, 64, &rn);
    uint8_t id[4] = {gen_byte(0, 16), gen_byte(0, 17), gen_byte(0, 18), gen_byte(0, 19)};
    assert_memory_not_equal(rn.r[0].data + 16, id, 4);
    run_free(&rn);

    /* the same unswapped is read by the source */
    g.swapped = false;
    tmpdir_file(&td, "can_native.pcap", path, sizeof(path));
    write_pcap(path, &g, recs, 2, 2);
    assert_int_equal(check_like_libpcap(path, true, -1), 2);

    /* version 2.3: caplen and len may be in either order (here the first
     * record's are swapped: 40 bytes of data) */
    g = (gen_file){.magic = MAGIC_USEC, .major = 2, .minor = 3, .snaplen = 65535,
                   .linktype = GH_LINK_ETHERNET};
    tmpdir_file(&td, "v23.pcap", path, sizeof(path));
    write_pcap(path, &g, (gen_rec[]){{T0, 0, 60, 40, 0, 40}, REC(T0, 1, 60, 60)}, 2, 2);
    assert_int_equal(check_like_libpcap(path, false, -1), 2);

    /* USB: libpcap rewrites its headers */
    g = (gen_file){.magic = MAGIC_USEC, .snaplen = 65535, .linktype = 220};
    tmpdir_file(&td, "usb.pcap", path, sizeof(path));
    write_pcap(path, &g, recs, 2, 2);
    assert_int_equal(check_like_libpcap(path, false, -1), 2);
    tmpdir_remove(&td);
}

/* A file libpcap reads (byte-swapped Linux cooked capture) with a record
 * beyond the snapshot length, which libpcap cuts to it: the byte offset of
 * a later bad record counts the cut record whole. */
static void test_libpcap_cut_record(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    char path[128];
    gen_file g = {.magic = MAGIC_USEC, .swapped = true, .snaplen = 64, .linktype = GH_LINK_SLL};
    tmpdir_file(&td, "cut_then_bad.pcap", path, sizeof(path));
    gen_rec recs[] = {REC(T0, 0, 100, 100), REC(T0, 1, 32, 32), {T0, 2, 32, 32, 8, 0}};
    long bad = write_pcap(path, &g, recs, 3, 2);
    assert_int_equal(bad, 24 + 16 + 100 + 16 + 32);
    assert_int_equal(check_like_libpcap(path, false, bad), 2);
    tmpdir_remove(&td);
}

/* A file many times the source's read buffer, records of every size up to
 * the largest libpcap allows: records cut by the buffer's end are read
 * whole, batches stay readable until the next read, and every packet is
 * libpcap's. */
static void test_direct_large_file(void **state)
{
    (void)state;
    enum { NREC = 9000 };
    gen_rec *recs = calloc(NREC, sizeof(*recs));
    assert_non_null(recs);
    for (uint32_t i = 0; i < NREC; i++) {
        /* mostly up to 3 KiB, every 500th record 200-262 KiB */
        uint32_t len = i % 500 == 499 ? 200000 + (i * 7919u) % 62145 : (i * 7919u) % 3000;
        recs[i] = (gen_rec)REC(T0 + i / 1000, i % 1000, len, len);
    }
    tmpdir td;
    tmpdir_make(&td);
    char path[128];
    tmpdir_file(&td, "big.pcap", path, sizeof(path));
    gen_file g = {.magic = MAGIC_USEC, .snaplen = 262144, .linktype = GH_LINK_ETHERNET};
    write_pcap(path, &g, recs, NREC, NREC);
    free(recs);

    gh_error err = {0};
    gh_source *s = gh_source_pcap_open(path, &err);
    if (!s)
        fail_msg("open %s: %s", path, err.msg);
    run rn = {0};
    libpcap_reads = 0;
    read_source(s, 64, &rn);
    assert_int_equal(libpcap_reads, 0);
    assert_int_equal(rn.end_rc, GH_E_EOF);
    assert_int_equal(rn.n, NREC);
    check_ids_and_stats(&rn);
    print_message("%zu batches, %" PRIu64 " bytes\n", rn.batches, rn.st.bytes);
    assert_int_equal(compare_with_libpcap(path, &rn, 0), NREC);
    gh_source_close(s);
    run_free(&rn);
    tmpdir_remove(&td);
}

/* A batch that spans files the source reads itself: every packet of it
 * stays readable until the next read (read_source copies them only then),
 * and the files are released once each ends. */
static void test_direct_batch_spans_files(void **state)
{
    (void)state;
    tmpdir td;
    tmpdir_make(&td);
    char paths[4][128];
    gen_rec recs[3] = {REC(T0, 1, 60, 60), REC(T0, 2, 1514, 1514), REC(T0, 3, 61, 61)};
    for (int i = 0; i < 4; i++) {
        gen_file g = {.magic = i & 1 ? MAGIC_NSEC : MAGIC_USEC, .swapped = i & 2,
                      .snaplen = 65535, .linktype = GH_LINK_ETHERNET};
        char name[16];
        snprintf(name, sizeof(name), "%c.pcap", 'a' + i);
        tmpdir_file(&td, name, paths[i], sizeof(paths[i]));
        /* b.pcap holds only its file header */
        write_pcap(paths[i], &g, recs, i == 1 ? 0 : 3, 3);
    }
    static const size_t batch_sizes[] = {1, 2, 64};
    for (size_t b = 0; b < sizeof(batch_sizes) / sizeof(batch_sizes[0]); b++) {
        gh_error err = {0};
        gh_source *s = gh_source_pcap_open(td.path, &err);
        if (!s)
            fail_msg("open %s: %s", td.path, err.msg);
        run rn = {0};
        libpcap_reads = 0;
        read_source(s, batch_sizes[b], &rn);
        assert_int_equal(libpcap_reads, 0);
        assert_int_equal(rn.end_rc, GH_E_EOF);
        assert_int_equal(rn.n, 9);
        assert_int_equal(rn.st.files, 4);
        check_ids_and_stats(&rn);
        assert_int_equal(compare_with_libpcap(paths[0], &rn, 0), 3);
        assert_int_equal(compare_with_libpcap(paths[2], &rn, 3), 3);
        assert_int_equal(compare_with_libpcap(paths[3], &rn, 6), 3);
        for (int i = 0; i < 4; i++)
            assert_false(is_open(paths[i]));
        gh_source_close(s);
        run_free(&rn);
    }
    tmpdir_remove(&td);
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
        cmocka_unit_test(test_direct_files),
        cmocka_unit_test(test_direct_errors),
        cmocka_unit_test(test_libpcap_files),
        cmocka_unit_test(test_libpcap_cut_record),
        cmocka_unit_test(test_direct_batch_spans_files),
        cmocka_unit_test(test_direct_large_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
