/* DNS parser tests: the ops driven directly. Each message's transaction
 * is checked through its buffers, fields and events as Suricata 7.0.10
 * gives them for the same bytes (its EVE output for these messages, sent
 * through it as a capture, is quoted in the expected strings); TCP
 * streams must give the same transcript whole, in 7-byte and 1-byte
 * segments; malformed and random messages must end in anomalies, never
 * a crash or an out-of-bounds read (the ASan build runs this). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"

/* ---- messages ---------------------------------------------------------------- */

typedef struct msg {
    uint8_t b[4096];
    size_t n;
} msg;

static void put(msg *m, const void *p, size_t n)
{
    assert_true(m->n + n <= sizeof(m->b));
    memcpy(m->b + m->n, p, n);
    m->n += n;
}

static void put16(msg *m, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    put(m, b, 2);
}

static void put32(msg *m, uint32_t v)
{
    put16(m, (uint16_t)(v >> 16));
    put16(m, (uint16_t)v);
}

static void hdr(msg *m, uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns)
{
    m->n = 0;
    put16(m, id);
    put16(m, flags);
    put16(m, qd);
    put16(m, an);
    put16(m, ns);
    put16(m, 0);
}

/* "a.b.c" as labels (no compression); "" is the root. */
static void name(msg *m, const char *s)
{
    while (*s) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        uint8_t c = (uint8_t)l;
        put(m, &c, 1);
        put(m, s, l);
        s += l + (dot ? 1 : 0);
    }
    put(m, "", 1);
}

static void question(msg *m, const char *n, uint16_t type)
{
    name(m, n);
    put16(m, type);
    put16(m, 1);
}

/* A record whose owner is a pointer to the first question (offset 12). */
static void record(msg *m, uint16_t type, uint32_t ttl, const void *data, uint16_t len)
{
    put16(m, 0xc00c);
    put16(m, type);
    put16(m, 1);
    put32(m, ttl);
    put16(m, len);
    put(m, data, len);
}

/* ---- transcript -------------------------------------------------------------- */

typedef struct rec {
    void *state;
    char t[16384];
    size_t len;
    gh_jbuf events;
} rec;

static void tput(rec *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(r->t + r->len, sizeof(r->t) - r->len, fmt, ap);
    va_end(ap);
    assert_true(k >= 0 && (size_t)k < sizeof(r->t) - r->len);
    r->len += (size_t)k;
}

/* Progress: the transaction's direction, every dns.query, opcode and
 * rrtype, and its events (one line each). */
static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    rec *r = ctx;
    const gh_app_ops *ops = &gh_app_dns_ops;
    assert_int_equal(stage, GH_STAGE_DONE);
    assert_int_equal(tx->progress[0], GH_STAGE_DONE);
    assert_int_equal(tx->progress[1], GH_STAGE_DONE);
    tput(r, "tx %llu dir %d", (unsigned long long)tx->id, dir);
    const uint8_t *b;
    uint32_t n;
    for (uint32_t i = 0; ops->get_buffer(r->state, tx, GH_BUF_DNS_QUERY, dir, i, &b, &n); i++)
        tput(r, " q%u=%.*s", i, (int)n, (const char *)b);
    uint64_t v;
    if (ops->get_field(r->state, tx, GH_FIELD_DNS_OPCODE, dir, 0, &v))
        tput(r, " opcode=%llu", (unsigned long long)v);
    for (uint32_t i = 0; ops->get_field(r->state, tx, GH_FIELD_DNS_RRTYPE, dir, i, &v); i++)
        tput(r, " rrtype%u=%llu", i, (unsigned long long)v);
    tput(r, "\n");
    for (uint32_t i = 0;; i++) {
        r->events.len = 0;
        if (!ops->log(r->state, tx, false, i, &r->events))
            break;
        tput(r, "%.*s\n", (int)r->events.len, r->events.p);
    }
    r->events.len = 0;
    assert_true(ops->log(r->state, tx, true, 0, &r->events));
    tput(r, "alert%.*s\n", (int)r->events.len, r->events.p);
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name_)
{
    rec *r = ctx;
    if (tx)
        tput(r, "anomaly %s tx %llu dir %d\n", name_, (unsigned long long)tx->id, dir);
    else
        tput(r, "anomaly %s dir %d\n", name_, dir);
}

static void rec_open(rec *r, uint32_t max_tx)
{
    memset(r, 0, sizeof(*r));
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    lim.max_tx = max_tx;
    r->state = calloc(1, gh_app_dns_ops.state_size);
    assert_non_null(r->state);
    assert_int_equal(gh_app_dns_ops.init(r->state, &lim), 0);
    gh_jbuf_init(&r->events);
}

static void rec_close(rec *r)
{
    gh_app_dns_ops.free(r->state);
    free(r->state);
    gh_jbuf_free(&r->events);
}

static gh_app_sink sink_of(rec *r)
{
    return (gh_app_sink){.ctx = r, .on_progress = on_progress, .on_anomaly = on_anomaly};
}

static void dgram(rec *r, int dir, const msg *m)
{
    gh_app_sink s = sink_of(r);
    gh_app_dns_ops.datagram(r->state, dir, m->b, m->n, &s);
}

/* ---- UDP: events as Suricata writes them ------------------------------------- */

static void test_udp_query_answer(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    hdr(&m, 0x8f8c, 0x0100, 1, 0, 0);
    question(&m, "3439ur09dhiolh32ljha.net", 1);
    dgram(&r, 0, &m);
    hdr(&m, 0x8f8c, 0x8180, 1, 2, 0);
    question(&m, "3439ur09dhiolh32ljha.net", 1);
    record(&m, 1, 10, "\x68\xef\xd5\x07", 4);
    record(&m, 1, 10, "\xc6\x69\xf4\x0b", 4);
    dgram(&r, 1, &m);
    /* cs__dns_isp_hijack.pcap packets 1 and 2 in Suricata 7.0.10's EVE */
    assert_string_equal(
        r.t,
        "tx 0 dir 0 q0=3439ur09dhiolh32ljha.net opcode=0 rrtype0=1\n"
        ",\"dns\":{\"version\":2,\"type\":\"query\",\"id\":36748,"
        "\"rrname\":\"3439ur09dhiolh32ljha.net\",\"rrtype\":\"A\",\"tx_id\":0,\"opcode\":0}\n"
        "alert,\"dns\":{\"version\":2,\"query\":[{\"type\":\"query\",\"id\":36748,"
        "\"rrname\":\"3439ur09dhiolh32ljha.net\",\"rrtype\":\"A\",\"tx_id\":0,\"opcode\":0}]}\n"
        "tx 1 dir 1 opcode=0 rrtype0=1\n"
        ",\"dns\":{\"version\":2,\"type\":\"answer\",\"id\":36748,\"flags\":\"8180\",\"qr\":true,"
        "\"rd\":true,\"ra\":true,\"opcode\":0,\"rrname\":\"3439ur09dhiolh32ljha.net\","
        "\"rrtype\":\"A\",\"rcode\":\"NOERROR\",\"answers\":[{\"rrname\":"
        "\"3439ur09dhiolh32ljha.net\",\"rrtype\":\"A\",\"ttl\":10,\"rdata\":\"104.239.213.7\"},"
        "{\"rrname\":\"3439ur09dhiolh32ljha.net\",\"rrtype\":\"A\",\"ttl\":10,"
        "\"rdata\":\"198.105.244.11\"}],\"grouped\":{\"A\":[\"104.239.213.7\","
        "\"198.105.244.11\"]}}\n"
        "alert,\"dns\":{\"version\":2,\"answer\":{\"version\":2,\"type\":\"answer\","
        "\"id\":36748,\"flags\":\"8180\",\"qr\":true,\"rd\":true,\"ra\":true,\"opcode\":0,"
        "\"rrname\":\"3439ur09dhiolh32ljha.net\",\"rrtype\":\"A\",\"rcode\":\"NOERROR\"}}\n");
    /* the query's buffer exists only to the server */
    gh_app_tx *q = gh_app_dns_ops.tx_get(r.state, 0);
    const uint8_t *b;
    uint32_t n;
    assert_false(gh_app_dns_ops.get_buffer(r.state, q, GH_BUF_DNS_QUERY, 1, 0, &b, &n));
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 2);
    rec_close(&r);
}

/* Every rdata layout Suricata logs (its answer event for these bytes; its
 * "grouped" members come in hash order, ours in first appearance). A TXT
 * string cut short ends the record's strings; a lone 0xc3 makes the
 * string invalid UTF-8, written as \xc3. */
static void test_udp_rdata_kinds(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    hdr(&m, 3004, 0x8184, 1, 5, 1);
    question(&m, "t.example", 16);
    record(&m, 16, 5, "\x03" "abc\x02" "d\xc3\xa9\x00", 8);
    record(&m, 15, 5, "\x00\x0a\xc0\x0c", 4);
    record(&m, 44, 5, "\x01\x02\xde\xad\xbe\xef", 6);
    record(&m, 10, 5, "\x00\x01x", 3);
    record(&m, 16, 5, "\x01z", 2);
    msg soa = {.n = 0};
    name(&soa, "ns.example");
    name(&soa, "h.example");
    for (uint32_t i = 1; i <= 5; i++)
        put32(&soa, i);
    record(&m, 6, 5, soa.b, (uint16_t)soa.n);
    dgram(&r, 1, &m);
    const char *want =
        ",\"dns\":{\"version\":2,\"type\":\"answer\",\"id\":3004,\"flags\":\"8184\",\"qr\":true,"
        "\"rd\":true,\"ra\":true,\"opcode\":0,\"rrname\":\"t.example\",\"rrtype\":\"TXT\","
        "\"rcode\":\"NOTIMP\",\"answers\":["
        "{\"rrname\":\"t.example\",\"rrtype\":\"TXT\",\"ttl\":5,\"rdata\":\"abc\"},"
        "{\"rrname\":\"t.example\",\"rrtype\":\"TXT\",\"ttl\":5,\"rdata\":\"d\\\\xc3\"},"
        "{\"rrname\":\"t.example\",\"rrtype\":\"MX\",\"ttl\":5,\"rdata\":\"t.example\"},"
        "{\"rrname\":\"t.example\",\"rrtype\":\"SSHFP\",\"ttl\":5,\"sshfp\":{\"fingerprint\":"
        "\"de:ad:be:ef\",\"algo\":1,\"type\":2}},"
        "{\"rrname\":\"t.example\",\"rrtype\":\"NULL\",\"ttl\":5,\"rdata\":\"\\u0000\\u0001x\"},"
        "{\"rrname\":\"t.example\",\"rrtype\":\"TXT\",\"ttl\":5,\"rdata\":\"z\"}],"
        "\"grouped\":{\"TXT\":[\"abc\",\"d\\\\xc3\",\"z\"],\"MX\":[\"t.example\"],"
        "\"SSHFP\":[{\"fingerprint\":\"de:ad:be:ef\",\"algo\":1,\"type\":2}],"
        "\"NULL\":[\"\\u0000\\u0001x\"]},"
        "\"authorities\":[{\"rrname\":\"t.example\",\"rrtype\":\"SOA\",\"ttl\":5,\"soa\":"
        "{\"mname\":\"ns.example\",\"rname\":\"h.example\",\"serial\":1,\"refresh\":2,"
        "\"retry\":3,\"expire\":4,\"minimum\":5}}]}\n";
    assert_non_null(strstr(r.t, want));
    rec_close(&r);
}

/* Names as Suricata assembles them: label bytes as they are (case kept,
 * a '.' inside a label not escaped), the root as "" (no dns.query buffer:
 * it ends the list), invalid UTF-8 written as \xNN. */
static void test_names_and_case(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    hdr(&m, 5, 0x0100, 3, 0, 0);
    question(&m, "WwW.ExAmPle.COM", 1);
    put(&m, "\x05" "a\x01.\xc3\xa9\x03\xff\"\\\x00", 11);
    put16(&m, 16);
    put16(&m, 1);
    question(&m, "", 257);
    dgram(&r, 0, &m);
    assert_non_null(strstr(r.t, "tx 0 dir 0 q0=WwW.ExAmPle.COM q1=a\x01.\xc3\xa9.\xff\"\\ "
                                "opcode=0 rrtype0=1 rrtype1=16 rrtype2=257\n"));
    assert_non_null(strstr(r.t, "\"rrname\":\"a\\u0001.\\\\xc3\\\\xa9.\\\\xff\\\"\\\\\","
                                "\"rrtype\":\"TXT\""));
    assert_non_null(strstr(r.t, "\"rrname\":\"\",\"rrtype\":\"257\""));
    /* an alert lists the questions up to the first type Suricata has no name for */
    assert_non_null(strstr(r.t, "\"rrtype\":\"TXT\",\"tx_id\":0,\"opcode\":0}]}\n"));

    hdr(&m, 6, 0x0100, 2, 0, 0);
    question(&m, "", 2);
    question(&m, "after.root", 1);
    dgram(&r, 0, &m);
    assert_non_null(strstr(r.t, "tx 1 dir 0 opcode=0 rrtype0=2 rrtype1=1\n"));
    rec_close(&r);
}

/* Header flags Suricata names on the new transaction. */
static void test_flag_anomalies(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    hdr(&m, 3, 0x0140, 1, 0, 0);
    question(&m, "z.example", 1);
    dgram(&r, 0, &m);
    hdr(&m, 4, 0x3900, 1, 0, 0);
    question(&m, "op7.example", 1);
    dgram(&r, 0, &m);
    assert_non_null(strstr(r.t, "anomaly z_flag_set tx 0 dir 0\ntx 0 dir 0 q0=z.example"));
    assert_non_null(strstr(r.t, "\"tx_id\":0,\"z\":true,\"opcode\":0}"));
    assert_non_null(strstr(r.t, "anomaly invalid_opcode tx 1 dir 0\ntx 1 dir 0 q0=op7.example "
                                "opcode=7"));
    /* a request with the QR bit, a response without it */
    hdr(&m, 9, 0x8100, 1, 0, 0);
    question(&m, "n.example", 1);
    dgram(&r, 0, &m);
    assert_non_null(strstr(r.t, "anomaly not_request tx 1 dir 0\n"));
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 2);
    hdr(&m, 10, 0x0100, 1, 0, 0);
    question(&m, "g.example", 1);
    dgram(&r, 1, &m);
    assert_non_null(strstr(r.t, "anomaly not_response tx 1 dir 1\ntx 2 dir 1 opcode=0"));
    rec_close(&r);
}

/* ---- compression pointers ----------------------------------------------------- */

static void test_pointer_loops(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    /* a question that points at itself: malformed, no transaction */
    hdr(&m, 1, 0x0100, 1, 0, 0);
    put16(&m, 0xc00c);
    put16(&m, 1);
    put16(&m, 1);
    dgram(&r, 0, &m);
    assert_string_equal(r.t, "anomaly malformed_data dir 0\n");
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 0);

    /* an answer's owner -> X -> X+2 -> X: Suricata follows 255 steps, then
     * keeps the (empty) name truncated (crafted2.pcap 3002) */
    hdr(&m, 2, 0x8180, 1, 1, 0);
    question(&m, "loop.example", 1);
    size_t x = m.n + 16; /* past this record */
    put16(&m, (uint16_t)(0xc000 | x));
    put16(&m, 1);
    put16(&m, 1);
    put32(&m, 5);
    put16(&m, 4);
    put(&m, "\x05\x06\x07\x08", 4);
    put16(&m, (uint16_t)(0xc000 | (x + 2)));
    put16(&m, (uint16_t)(0xc000 | x));
    r.len = 0;
    dgram(&r, 1, &m);
    assert_non_null(strstr(r.t, "anomaly name_too_long tx 0 dir 1\n"
                                "anomaly too_many_labels tx 0 dir 1\n"));
    assert_non_null(strstr(r.t, "\"answers\":[{\"rrname\":\"\",\"rrname_truncated\":true,"
                                "\"rrtype\":\"A\",\"ttl\":5,\"rdata\":\"5.6.7.8\"}]"));

    /* a pointer past the message, and reserved label types 0x40/0x80 */
    static const uint16_t bad[] = {0xc0ff, 0x4000, 0x8000};
    for (size_t i = 0; i < 3; i++) {
        hdr(&m, 3, 0x0100, 1, 0, 0);
        put16(&m, bad[i]);
        put16(&m, 1);
        put16(&m, 1);
        r.len = 0;
        dgram(&r, 0, &m);
        assert_string_equal(r.t, "anomaly malformed_data tx 0 dir 0\n");
    }
    rec_close(&r);
}

/* Names past 1025 bytes are truncated there (Suricata's cap) and flagged. */
static void test_long_name(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    msg m;
    char n[17 * 64];
    memset(n, 'a', sizeof(n));
    for (size_t i = 63; i < sizeof(n); i += 64)
        n[i] = '.';
    n[sizeof(n) - 1] = 0;
    hdr(&m, 5, 0x0100, 1, 0, 0);
    question(&m, n, 1);
    dgram(&r, 0, &m);
    assert_non_null(strstr(r.t, "anomaly name_too_long tx 0 dir 0\n"));
    gh_app_tx *tx = gh_app_dns_ops.tx_get(r.state, 0);
    const uint8_t *b;
    uint32_t len;
    assert_true(gh_app_dns_ops.get_buffer(r.state, tx, GH_BUF_DNS_QUERY, 0, 0, &b, &len));
    assert_int_equal(len, 1025);
    assert_memory_equal(b, n, 1025);
    assert_non_null(strstr(r.t, "\",\"rrname_truncated\":true,\"rrtype\":\"A\""));
    rec_close(&r);
}

/* Record data Suricata refuses: an empty A or CNAME (its parsers must
 * consume a byte), a TXT string cut short, an rdlength past the end. */
static void test_bad_rdata(void **unused)
{
    (void)unused;
    static const struct { uint16_t type; const char *data; uint16_t len; bool ok; } c[] = {
        {1, "", 0, false},           {5, "", 0, false},     {16, "\x05x", 2, false},
        {16, "\x02" "ab\x05x", 5, true}, {28, "\x01", 1, true}, {99, "hi", 2, true},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        rec r;
        rec_open(&r, 16);
        msg m;
        hdr(&m, 7, 0x8180, 1, 1, 0);
        question(&m, "e.example", 1);
        record(&m, c[i].type, 5, c[i].data, c[i].len);
        dgram(&r, 1, &m);
        assert_int_equal(gh_app_dns_ops.tx_count(r.state), c[i].ok ? 1 : 0);
        assert_int_equal(strstr(r.t, "malformed_data") != NULL, !c[i].ok);
        rec_close(&r);
    }
    rec r;
    rec_open(&r, 16);
    msg m;
    hdr(&m, 7, 0x8180, 1, 1, 0);
    question(&m, "e.example", 1);
    record(&m, 1, 5, "\x01\x02\x03\x04", 4);
    m.b[m.n - 5] = 5; /* rdlength 5 */
    dgram(&r, 1, &m);
    assert_string_equal(r.t, "anomaly malformed_data dir 1\n");
    rec_close(&r);
}

/* Every prefix of a valid response and random datagrams: anomalies or
 * nothing, never a crash (ASan). The header check drops silently. */
static void test_truncated_and_garbage(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 4);
    msg m, t;
    hdr(&m, 0x3fb4, 0x8180, 1, 2, 0);
    question(&m, "searchguide.level3.com", 1);
    record(&m, 5, 3092, "\x0b" "searchguide\x06" "level3\x03" "com\x00", 24);
    record(&m, 1, 1, "\x26\x1d\xa8\xe8", 4);
    for (size_t n = 0; n < m.n; n++) {
        t = m;
        t.n = n;
        r.len = 0;
        dgram(&r, 1, &t);
        assert_null(strstr(r.t, "tx "));
    }
    uint64_t s = 0x9e3779b97f4a7c15ull;
    for (int i = 0; i < 20000; i++) {
        t.n = 12 + (size_t)(i % 200);
        for (size_t k = 0; k < t.n; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            t.b[k] = (uint8_t)(s >> 56);
        }
        t.b[4] = 0; /* small counts, so that records get parsed */
        t.b[5] = (uint8_t)(i & 3);
        t.b[6] = t.b[8] = 0;
        t.b[7] = (uint8_t)(i % 5);
        t.b[9] = (uint8_t)(i % 3);
        r.len = 0;
        dgram(&r, i & 1, &t);
        gh_app_sink snk = sink_of(&r);
        gh_app_dns_ops.parse(r.state, i & 1, t.b, t.n, &snk);
        if (i % 1000 == 0)
            gh_app_dns_ops.reset(r.state);
    }
    assert_true(gh_app_dns_ops.tx_count(r.state) <= 4);
    rec_close(&r);
}

/* ---- TCP ------------------------------------------------------------------------ */

/* Two queries then two answers over TCP, fed in pieces of @p seg bytes
 * (0: each direction whole). */
static void tcp_run(rec *r, size_t seg)
{
    msg c = {.n = 0}, s = {.n = 0}, m;
    for (int i = 0; i < 2; i++) {
        hdr(&m, (uint16_t)(21 + i), 0x0100, 1, 0, 0);
        question(&m, i ? "tcp2.example" : "tcp1.example", 1);
        put16(&c, (uint16_t)m.n);
        put(&c, m.b, m.n);
        hdr(&m, (uint16_t)(21 + i), 0x8180, 1, i ? 0 : 1, 0);
        question(&m, i ? "tcp2.example" : "tcp1.example", 1);
        if (!i)
            record(&m, 1, 60, "\x09\x09\x09\x09", 4);
        put16(&s, (uint16_t)m.n);
        put(&s, m.b, m.n);
        put16(&s, 0); /* an empty message: skipped */
    }
    gh_app_sink snk = sink_of(r);
    for (int dir = 0; dir < 2; dir++) {
        const msg *d = dir ? &s : &c;
        size_t step = seg ? seg : d->n;
        for (size_t off = 0; off < d->n; off += step)
            gh_app_dns_ops.parse(r->state, dir, d->b + off, off + step > d->n ? d->n - off : step,
                                 &snk);
        gh_app_dns_ops.close(r->state, dir, &snk);
    }
}

static void test_tcp_segments(void **unused)
{
    (void)unused;
    rec whole, r;
    rec_open(&whole, 16);
    tcp_run(&whole, 0);
    assert_non_null(strstr(whole.t, "tx 0 dir 0 q0=tcp1.example opcode=0 rrtype0=1\n"));
    assert_non_null(strstr(whole.t, "tx 1 dir 0 q0=tcp2.example"));
    assert_non_null(strstr(whole.t, "tx 2 dir 1 opcode=0 rrtype0=1\n,\"dns\":{\"version\":2,"
                                    "\"type\":\"answer\",\"id\":21,"));
    assert_non_null(strstr(whole.t, "\"grouped\":{\"A\":[\"9.9.9.9\"]}}\n"));
    assert_non_null(strstr(whole.t, "tx 3 dir 1"));
    assert_null(strstr(whole.t, "anomaly"));
    static const size_t segs[] = {7, 1, 2, 13};
    for (size_t i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
        rec_open(&r, 16);
        tcp_run(&r, segs[i]);
        assert_string_equal(r.t, whole.t);
        rec_close(&r);
    }
    rec_close(&whole);
}

/* A hole drops the partial message; parsing resumes at bytes that look
 * like a message. A message that fails to parse ends the flow's parsing. */
static void test_tcp_gap_and_error(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 16);
    gh_app_sink snk = sink_of(&r);
    msg m, s = {.n = 0};
    hdr(&m, 31, 0x0100, 1, 0, 0);
    question(&m, "before.gap", 1);
    put16(&s, (uint16_t)m.n);
    put(&s, m.b, 9); /* cut by the hole */
    gh_app_dns_ops.parse(r.state, 0, s.b, s.n, &snk);
    gh_app_dns_ops.gap(r.state, 0, 100, &snk);
    s.n = 0;
    hdr(&m, 32, 0x0100, 1, 0, 0);
    question(&m, "after.gap", 1);
    put16(&s, (uint16_t)m.n);
    put(&s, m.b, m.n);
    gh_app_dns_ops.parse(r.state, 0, s.b, s.n, &snk);
    assert_non_null(strstr(r.t, "tx 0 dir 0 q0=after.gap"));
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 1);

    /* a malformed message: both directions stop */
    s.n = 0;
    hdr(&m, 33, 0x0100, 1, 0, 0);
    put16(&m, 0x4000);
    put16(&m, 1);
    put16(&m, 1);
    put16(&s, (uint16_t)m.n);
    put(&s, m.b, m.n);
    gh_app_dns_ops.parse(r.state, 0, s.b, s.n, &snk);
    assert_non_null(strstr(r.t, "anomaly malformed_data tx 0 dir 0\n"));
    size_t before = r.len;
    s.n = 0;
    hdr(&m, 32, 0x8180, 1, 0, 0);
    question(&m, "after.gap", 1);
    put16(&s, (uint16_t)m.n);
    put(&s, m.b, m.n);
    gh_app_dns_ops.parse(r.state, 1, s.b, s.n, &snk);
    assert_int_equal(r.len, before);
    rec_close(&r);
}

/* ---- probing and slots -------------------------------------------------------- */

static void test_probe(void **unused)
{
    (void)unused;
    const gh_app_ops *ops = &gh_app_dns_ops;
    msg q, a, tq = {.n = 0};
    hdr(&q, 1, 0x0100, 1, 0, 0);
    question(&q, "www.example.com", 1);
    hdr(&a, 1, 0x8180, 1, 0, 0);
    question(&a, "www.example.com", 1);
    gh_app_probe_ctx udp53 = {.transport = GH_APP_UDP, .server_port = 53, .client_port = 1001};
    gh_app_probe_ctx udp5300 = udp53, tcp53 = udp53;
    udp5300.server_port = 5300;
    tcp53.transport = GH_APP_TCP;
    /* Suricata probes port 53 only */
    assert_int_equal(ops->probe(0, q.b, q.n, &udp53), GH_PROBE_YES);
    assert_int_equal(ops->probe(1, a.b, a.n, &udp53), GH_PROBE_YES);
    assert_int_equal(ops->probe(0, q.b, q.n, &udp5300), GH_PROBE_NO);
    assert_int_equal(ops->probe(0, q.b, 11, &udp53), GH_PROBE_NO);
    /* header sanity: 2 bytes per announced record */
    q.b[4] = 0xff;
    assert_int_equal(ops->probe(0, q.b, q.n, &udp53), GH_PROBE_NO);
    q.b[4] = 0;
    /* TCP: a query from the client; a response there is the server's */
    put16(&tq, (uint16_t)q.n);
    put(&tq, q.b, q.n);
    assert_int_equal(ops->probe(0, tq.b, 13, &tcp53), GH_PROBE_MORE);
    assert_int_equal(ops->probe(0, tq.b, 14, &tcp53), GH_PROBE_YES);
    assert_int_equal(ops->probe(1, tq.b, tq.n, &tcp53), GH_PROBE_NO);
    tq.b[4] |= 0x80;
    assert_int_equal(ops->probe(1, tq.b, tq.n, &tcp53), GH_PROBE_YES);
}

/* At most max_tx transactions live; the oldest slot is reused. */
static void test_slots(void **unused)
{
    (void)unused;
    rec r;
    rec_open(&r, 3);
    msg m;
    for (int i = 0; i < 10; i++) {
        hdr(&m, (uint16_t)i, 0x0100, 1, 0, 0);
        question(&m, "x.example", 1);
        r.len = 0;
        dgram(&r, 0, &m);
    }
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 3);
    assert_int_equal(gh_app_dns_ops.tx_get(r.state, 0)->id, 7);
    assert_int_equal(gh_app_dns_ops.tx_get(r.state, 2)->id, 9);
    assert_null(gh_app_dns_ops.tx_get(r.state, 3));
    gh_app_dns_ops.reset(r.state);
    assert_int_equal(gh_app_dns_ops.tx_count(r.state), 0);
    rec_close(&r);
}

/* ---- records for events: what gh_app_set_log leaves out ------------------- */

typedef struct app_run {
    gh_app *app;
    gh_app_flow af;
    int rec;  /* the record of the last completed transaction */
} app_run;

static void app_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    (void)dir;
    app_run *r = ctx;
    if (stage == GH_STAGE_DONE && tx->progress[0] == GH_STAGE_DONE &&
        tx->progress[1] == GH_STAGE_DONE)
        r->rec = gh_app_record(r->app, &r->af, tx, true);
}

/* One query and its answer through the stage; the answer's record. */
static const gh_app_rec *query_answer(app_run *r)
{
    gh_app_sink sink = {.ctx = r, .on_progress = app_progress};
    msg m;
    hdr(&m, 0x1234, 0x0100, 1, 0, 0);
    question(&m, "log.example", 1);
    gh_app_records_reset(r->app);
    gh_app_datagram(r->app, &r->af, 0, m.b, m.n, &sink);
    hdr(&m, 0x1234, 0x8180, 1, 1, 0);
    question(&m, "log.example", 1);
    record(&m, 1, 10, "\x0a\x00\x00\x01", 4);
    gh_app_records_reset(r->app);
    r->rec = -1;
    gh_app_datagram(r->app, &r->af, 1, m.b, m.n, &sink);
    assert_int_equal(r->rec, 0);
    assert_int_equal(gh_app_record_count(r->app), 1);
    return gh_app_get_record(r->app, 0);
}

/* Records hold an alert's members and the events only as asked (the
 * worker asks for what its EVE types write); the transaction is complete
 * and counted either way. */
static void test_records_log_choice(void **unused)
{
    (void)unused;
    gh_error err = {0};
    app_run r = {.app = gh_app_new(1, NULL, &err)};
    assert_non_null(r.app);
    r.af.pc = (gh_app_probe_ctx){.transport = GH_APP_UDP, .server_port = 53,
                                 .client_port = 40000};
    const gh_app_rec *ar = query_answer(&r);
    assert_true(ar->log);
    assert_non_null(ar->events);
    assert_non_null(strstr(ar->events, "\"type\":\"answer\""));
    assert_non_null(ar->alert);

    gh_app_set_log(r.app, false, 1u << GH_ALPROTO_HTTP1); /* alerts off, DNS events off */
    ar = query_answer(&r);
    assert_true(ar->log);
    assert_null(ar->events);
    assert_int_equal(ar->events_len, 0);
    assert_null(ar->alert);

    gh_app_set_log(r.app, true, 1u << GH_ALPROTO_DNS);
    ar = query_answer(&r);
    assert_non_null(ar->events);
    assert_non_null(ar->alert);
    assert_int_equal(gh_app_get_stats(r.app)->txs, 3 * 2); /* each query and answer */
    gh_app_free(r.app);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_udp_query_answer),
        cmocka_unit_test(test_udp_rdata_kinds),
        cmocka_unit_test(test_names_and_case),
        cmocka_unit_test(test_flag_anomalies),
        cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_long_name),
        cmocka_unit_test(test_bad_rdata),
        cmocka_unit_test(test_truncated_and_garbage),
        cmocka_unit_test(test_tcp_segments),
        cmocka_unit_test(test_tcp_gap_and_error),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_slots),
        cmocka_unit_test(test_records_log_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
