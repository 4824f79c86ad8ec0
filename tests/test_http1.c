/* HTTP/1.x parser tests: every case is fed whole, byte by byte and at
 * random split points (seed from GH_TEST_SEED, printed), and must give the
 * same transcript: progress events (repeated BODY collapsed), anomalies,
 * and at each DONE every buffer of that direction. Cases then check their
 * transcript for the buffers and the event order libhtp/Suricata give. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "app/app.h"
#include "pktbuild.h"

/* ---- transcript ------------------------------------------------------------ */

static void tput_esc(pb_text *t, const uint8_t *b, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        if (b[i] == '\r')
            pb_tput(t, "\\r");
        else if (b[i] == '\n')
            pb_tput(t, "\\n");
        else if (b[i] < 0x20 || b[i] >= 0x7f || b[i] == '\\')
            pb_tput(t, "\\x%02x", b[i]);
        else
            pb_tput(t, "%c", b[i]);
    }
}

typedef struct rec {
    const gh_app_ops *ops;
    void *state;
    pb_text t;
    /* last progress event, to collapse repeated BODY */
    uint64_t last_id;
    int last_dir, last_stage;
    uint32_t max_body_seen;
} rec;

static const char *const stage_names[] = {"NONE", "LINE", "HEADERS", "BODY", "DONE"};

static void dump_buffers(rec *r, gh_app_tx *tx, int dir)
{
    for (int id = 1; id < GH_BUF_N; id++) {
        const gh_buffer_info *info = gh_buffer_get_info((gh_buffer_id)id);
        if (!(info->dirs & (dir ? GH_BUFDIR_TC : GH_BUFDIR_TS)))
            continue;
        const uint8_t *b;
        uint32_t n;
        if (!r->ops->get_buffer(r->state, tx, (gh_buffer_id)id, dir, 0, &b, &n))
            continue;
        if (info->body && n > r->max_body_seen)
            r->max_body_seen = n;
        pb_tput(&r->t, "buf %llu %d %s=", (unsigned long long)tx->id, dir, info->name);
        if (n > 256) {
            /* long bodies: length and a checksum */
            pb_tput(&r->t, "<%u bytes crc %08lx>", n, crc32(0, b, n));
        } else {
            tput_esc(&r->t, b, n);
        }
        pb_tput(&r->t, "\n");
    }
    pb_tput(&r->t, "len %llu %d %llu\n", (unsigned long long)tx->id, dir,
         (unsigned long long)r->ops->body_length(r->state, tx, dir));
}

static void on_progress(void *ctx, gh_app_tx *tx, int dir, gh_app_stage stage)
{
    rec *r = ctx;
    assert_int_equal(tx->progress[dir], stage);
    bool repeat = stage == GH_STAGE_BODY && r->last_stage == GH_STAGE_BODY &&
                  r->last_id == tx->id && r->last_dir == dir;
    r->last_id = tx->id;
    r->last_dir = dir;
    r->last_stage = stage;
    if (!repeat)
        pb_tput(&r->t, "ev %llu %d %s\n", (unsigned long long)tx->id, dir, stage_names[stage]);
    if (stage == GH_STAGE_DONE)
        dump_buffers(r, tx, dir);
}

static void on_anomaly(void *ctx, gh_app_tx *tx, int dir, const char *name)
{
    rec *r = ctx;
    if (tx)
        pb_tput(&r->t, "an %llu %d %s\n", (unsigned long long)tx->id, dir, name);
    else
        pb_tput(&r->t, "an - %d %s\n", dir, name);
}

/* ---- feeding ------------------------------------------------------------------ */

enum { FEED_WHOLE, FEED_BYTES, FEED_RANDOM, FEED_LARGE };

static uint64_t rng_state;

static uint32_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)rng_state;
}

typedef struct tcase {
    const uint8_t *req;
    size_t req_len;
    const uint8_t *resp;
    size_t resp_len;
    bool close;           /* close both directions at the end */
    gh_app_limits lim;
} tcase;

static void feed(rec *r, const gh_app_sink *sink, int dir, const uint8_t *b, size_t n, int mode)
{
    size_t pos = 0;
    while (pos < n) {
        size_t k = n - pos;
        if (mode == FEED_BYTES)
            k = 1;
        else if (mode == FEED_RANDOM)
            k = 1 + rng() % (k < 64 ? k : 64);
        else if (mode == FEED_LARGE)
            k = 1 + rng() % (k < 4096 ? k : 4096);
        r->ops->parse(r->state, dir, b + pos, k, sink);
        pos += k;
    }
}

static void run_into(rec *r, const tcase *c, int mode)
{
    gh_app_sink sink = {r, on_progress, on_anomaly, NULL};
    r->last_stage = -1;
    feed(r, &sink, 0, c->req, c->req_len, mode);
    feed(r, &sink, 1, c->resp, c->resp_len, mode);
    if (c->close) {
        r->ops->close(r->state, 0, &sink);
        r->ops->close(r->state, 1, &sink);
    }
}

/* Transcript of a case under one segmentation (caller frees). */
static char *run_mode(const tcase *c, int mode)
{
    rec r = {.ops = &gh_app_http1_ops};
    r.state = calloc(1, r.ops->state_size);
    assert_non_null(r.state);
    assert_int_equal(r.ops->init(r.state, &c->lim), 0);
    run_into(&r, c, mode);
    r.ops->free(r.state);
    free(r.state);
    pb_tput(&r.t, "%s", ""); /* NUL-terminated, allocated */
    return r.t.p;
}

/* Whole-feed transcript, after checking that bytes and random splits agree. */
static char *run(const tcase *c)
{
    char *whole = run_mode(c, FEED_WHOLE);
    char *bytes = run_mode(c, FEED_BYTES);
    if (strcmp(whole, bytes))
        fprintf(stderr, "--- whole\n%s--- byte by byte\n%s", whole, bytes);
    assert_string_equal(whole, bytes);
    free(bytes);
    for (int i = 0; i < 12; i++) {
        char *rnd = run_mode(c, i < 8 ? FEED_RANDOM : FEED_LARGE);
        if (strcmp(whole, rnd))
            fprintf(stderr, "--- whole\n%s--- random\n%s", whole, rnd);
        assert_string_equal(whole, rnd);
        free(rnd);
    }
    return whole;
}

static tcase mk(const char *req, const char *resp)
{
    tcase c = {(const uint8_t *)req, strlen(req), (const uint8_t *)resp, resp ? strlen(resp) : 0,
               false, {0}};
    gh_app_limits_init(&c.lim);
    return c;
}

static void expect(const char *t, const char *want)
{
    if (!strstr(t, want))
        fprintf(stderr, "missing:\n%s\nin transcript:\n%s", want, t);
    assert_non_null(strstr(t, want));
}

static void expect_not(const char *t, const char *bad)
{
    if (strstr(t, bad))
        fprintf(stderr, "unexpected:\n%s\nin transcript:\n%s", bad, t);
    assert_null(strstr(t, bad));
}

/* ---- cases ------------------------------------------------------------------------ */

static void test_simple_get(void **st)
{
    (void)st;
    tcase c = mk("GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/8.0\r\n"
                 "Accept: */*\r\nCookie: a=b\r\n\r\n",
                 "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Length: 5\r\n"
                 "Set-Cookie: s=1\r\nContent-Type: text/plain\r\n\r\nhello");
    char *t = run(&c);
    expect(t, "ev 0 0 LINE\nev 0 0 HEADERS\nev 0 0 DONE\n");
    expect(t, "buf 0 0 http.method=GET\n");
    expect(t, "buf 0 0 http.uri=/index.html\n");
    expect(t, "buf 0 0 http.uri.raw=/index.html\n");
    expect(t, "buf 0 0 http.request_line=GET /index.html HTTP/1.1\n");
    expect(t, "buf 0 0 http.host=www.example.com\n");
    expect(t, "buf 0 0 http.user_agent=curl/8.0\n");
    expect(t, "buf 0 0 http.accept=*/*\n");
    expect(t, "buf 0 0 http.protocol=HTTP/1.1\n");
    expect(t, "buf 0 0 http.cookie=a=b\n");
    expect(t, "buf 0 0 http.header=Host: www.example.com\\r\\nUser-Agent: curl/8.0\\r\\n"
              "Accept: */*\\r\\n\n");
    expect(t, "buf 0 0 http.header.raw=Host: www.example.com\\r\\nUser-Agent: curl/8.0\\r\\n"
              "Accept: */*\\r\\nCookie: a=b\\r\\n\\r\\n\n");
    expect(t, "buf 0 0 http.header_names=\\r\\nHost\\r\\nUser-Agent\\r\\nAccept\\r\\nCookie"
              "\\r\\n\\r\\n\n");
    expect(t, "buf 0 0 http.start=GET /index.html HTTP/1.1\\r\\nHost: www.example.com\\r\\n"
              "User-Agent: curl/8.0\\r\\nAccept: */*\\r\\nCookie: a=b\\r\\n\\r\\n\n");
    expect(t, "len 0 0 0\n");
    expect_not(t, "http.request_body");
    expect(t, "ev 0 1 LINE\nev 0 1 HEADERS\nev 0 1 BODY\nev 0 1 DONE\n");
    expect(t, "buf 0 1 http.response_line=HTTP/1.1 200 OK\n");
    expect(t, "buf 0 1 http.stat_code=200\n");
    expect(t, "buf 0 1 http.stat_msg=OK\n");
    expect(t, "buf 0 1 http.server=nginx\n");
    expect(t, "buf 0 1 http.response_body=hello\n");
    expect(t, "buf 0 1 file.data=hello\n");
    expect(t, "buf 0 1 http.cookie=s=1\n");
    expect(t, "buf 0 1 http.content_len=5\n");
    expect(t, "buf 0 1 http.header=Server: nginx\\r\\nContent-Length: 5\\r\\n"
              "Content-Type: text/plain\\r\\n\n");
    expect(t, "len 0 1 5\n");
    expect_not(t, "an ");
    free(t);
}

static void test_post_cl(void **st)
{
    (void)st;
    tcase c = mk("POST /submit HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n"
                 "Content-Type: application/x-www-form-urlencoded\r\n\r\nfoo=bar&x=1",
                 "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n");
    char *t = run(&c);
    expect(t, "ev 0 0 HEADERS\nev 0 0 BODY\nev 0 0 DONE\n");
    expect(t, "buf 0 0 http.request_body=foo=bar&x=1\n");
    expect(t, "buf 0 0 file.data=foo=bar&x=1\n");
    expect(t, "buf 0 0 http.content_type=application/x-www-form-urlencoded\n");
    expect(t, "len 0 0 11\n");
    /* 204: no body whatever Content-Length says */
    expect(t, "ev 0 1 HEADERS\nev 0 1 DONE\n");
    expect(t, "len 0 1 0\n");
    free(t);
}

static void test_chunked(void **st)
{
    (void)st;
    tcase c = mk("POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n",
                 "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 "3\r\nabc\r\nA; ext\r\n0123456789\r\n0\r\n\r\n");
    char *t = run(&c);
    expect(t, "buf 0 0 http.request_body=hello world\n");
    expect(t, "len 0 0 11\n");
    expect(t, "ev 0 0 DONE\n");
    expect(t, "buf 0 1 http.response_body=abc0123456789\n");
    expect(t, "len 0 1 13\n");
    expect(t, "ev 0 1 DONE\n");
    expect_not(t, "an ");
    free(t);
}

static void test_bad_chunk_len(void **st)
{
    (void)st;
    tcase c = mk("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc", "");
    char *t = run(&c);
    expect(t, "an 0 0 INVALID_REQUEST_CHUNK_LEN\n");
    free(t);
}

static size_t compress_buf(const uint8_t *in, size_t n, uint8_t *out, size_t cap, int wbits)
{
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, wbits, 8, Z_DEFAULT_STRATEGY), Z_OK);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t k = z.total_out;
    deflateEnd(&z);
    return k;
}

/* A response with @p enc and body @p body compressed with @p wbits. */
static size_t build_encoded(uint8_t *out, size_t cap, const char *enc, const char *body,
                            int wbits, bool chunked)
{
    uint8_t z[4096];
    size_t zn = compress_buf((const uint8_t *)body, strlen(body), z, sizeof(z), wbits);
    int k;
    if (chunked) {
        k = snprintf((char *)out, cap,
                     "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nTransfer-Encoding: chunked\r\n\r\n",
                     enc);
        /* three chunks to split the stream at arbitrary places */
        size_t a = zn / 3, b = 2 * zn / 3;
        size_t cuts[4] = {0, a, b, zn};
        for (int i = 0; i < 3; i++) {
            k += snprintf((char *)out + k, cap - k, "%zx\r\n", cuts[i + 1] - cuts[i]);
            memcpy(out + k, z + cuts[i], cuts[i + 1] - cuts[i]);
            k += (int)(cuts[i + 1] - cuts[i]);
            k += snprintf((char *)out + k, cap - k, "\r\n");
        }
        k += snprintf((char *)out + k, cap - k, "0\r\n\r\n");
    } else {
        k = snprintf((char *)out, cap, "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                     "Content-Length: %zu\r\n\r\n", enc, zn);
        memcpy(out + k, z, zn);
        k += (int)zn;
    }
    return (size_t)k;
}

static void test_gzip_deflate(void **st)
{
    (void)st;
    const char *body = "The quick brown fox jumps over the lazy dog. The quick brown fox.";
    char want[256];
    snprintf(want, sizeof(want), "buf 0 1 http.response_body=%s\n", body);
    static const struct {
        const char *enc;
        int wbits;
        bool chunked;
    } v[] = {
        {"gzip", 15 + 16, false}, {"gzip", 15 + 16, true},  {"deflate", 15, false},
        {"deflate", -15, false},  {"deflate", -15, true},   {"x-gzip", 15 + 16, true},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t resp[8192];
        size_t n = build_encoded(resp, sizeof(resp), v[i].enc, body, v[i].wbits, v[i].chunked);
        tcase c = mk("GET /z HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip, deflate\r\n\r\n", "");
        c.resp = resp;
        c.resp_len = n;
        char *t = run(&c);
        expect(t, want);
        expect(t, "buf 0 0 http.accept_enc=gzip, deflate\n");
        expect(t, "ev 0 1 DONE\n");
        expect_not(t, "an ");
        free(t);
    }
}

/* @p n bytes of text from a small vocabulary (compresses about 3:1, with
 * back-references across the inflate window). */
static uint8_t *word_text(size_t n)
{
    static const char *const words[] = {"alpha ", "bravo ", "charlie ", "delta\r\n", "echo ",
                                        "<div class=\"x\">", "</div>", "foxtrot ", "0123 "};
    uint8_t *b = malloc(n);
    assert_non_null(b);
    for (size_t i = 0; i < n;) {
        const char *w = words[rng() % (sizeof(words) / sizeof(words[0]))];
        for (size_t k = 0; w[k] && i < n; k++)
            b[i++] = (uint8_t)w[k];
    }
    return b;
}

/* A response whose body inflates to far more than one output buffer, whole,
 * then with a damaged deflate stream and with a wrong gzip checksum: the
 * stored body is every inflated byte (a call whose output filled up may
 * hold back more), the same under any segmentation; damage is an anomaly,
 * the bytes before it kept. */
static void test_inflate_large(void **st)
{
    (void)st;
    size_t n = 300 * 1024, cap = n + 4096;
    uint8_t *plain = word_text(n);
    memset(plain + n - 40 * 1024, 'A', 40 * 1024); /* a few input bytes for 40 KiB out */
    uint8_t *z = malloc(cap), *resp = malloc(cap + 256);
    assert_non_null(z);
    assert_non_null(resp);
    size_t zn = compress_buf(plain, n, z, cap, 15 + 16);
    char want[96];
    snprintf(want, sizeof(want), "http.response_body=<%zu bytes crc %08lx>", n,
             crc32(0, plain, (uInt)n));
    for (int damage = 0; damage < 3; damage++) {
        int k = snprintf((char *)resp, 256,
                         "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n",
                         zn);
        memcpy(resp + k, z, zn);
        if (damage == 1)
            memset(resp + k + zn / 2, 0xff, 64); /* mid-stream */
        else if (damage == 2)
            resp[k + zn - 6] ^= 0x5a; /* the trailer's CRC-32 */
        tcase c = mk("GET /big HTTP/1.1\r\nHost: a\r\n\r\n", "");
        c.lim.response_body_limit = 1u << 20;
        c.resp = resp;
        c.resp_len = (size_t)k + zn;
        char *t = run(&c);
        expect(t, "ev 0 1 DONE\n");
        if (damage == 1) {
            expect(t, "an 0 1 GZIP_DECOMPRESSION_FAILED\n");
            expect_not(t, want);
        } else if (damage == 2) {
            expect(t, "an 0 1 GZIP_DECOMPRESSION_FAILED\n");
            expect(t, want);
        } else {
            expect(t, want);
            expect_not(t, "an ");
        }
        free(t);
    }
    free(plain);
    free(z);
    free(resp);
}

static void test_decompression_bomb(void **st)
{
    (void)st;
    size_t zeros = 10u << 20;
    uint8_t *in = calloc(1, zeros);
    uint8_t *z = malloc(1 << 16);
    assert_non_null(in);
    assert_non_null(z);
    size_t zn = compress_buf(in, zeros, z, 1 << 16, 15 + 16);
    free(in);
    uint8_t *resp = malloc(zn + 256);
    int k = snprintf((char *)resp, 256,
                     "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %zu\r\n\r\n", zn);
    memcpy(resp + k, z, zn);
    free(z);
    tcase c = mk("GET /bomb HTTP/1.1\r\nHost: a\r\n\r\n", "");
    c.resp = resp;
    c.resp_len = (size_t)k + zn;
    char *t = run(&c);
    expect(t, "an 0 1 COMPRESSION_BOMB\n");
    expect(t, "ev 0 1 DONE\n");
    char want[64];
    snprintf(want, sizeof(want), "len 0 1 %zu\n", zn);
    expect(t, want);
    /* stored body capped at the body limit, whatever the stream expands to */
    snprintf(want, sizeof(want), "http.response_body=<%u bytes", c.lim.response_body_limit);
    expect(t, want);
    free(t);
    free(resp);
}

static void test_pipelining(void **st)
{
    (void)st;
    tcase c = mk("GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n"
                 "POST /3 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nxyz",
                 "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
                 "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBB"
                 "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nCCC");
    char *t = run(&c);
    expect(t, "buf 0 0 http.uri=/1\n");
    expect(t, "buf 1 0 http.uri=/2\n");
    expect(t, "buf 2 0 http.uri=/3\n");
    expect(t, "buf 2 0 http.request_body=xyz\n");
    expect(t, "buf 0 1 http.response_body=A\n");
    expect(t, "buf 1 1 http.stat_code=404\n");
    expect(t, "buf 1 1 http.response_body=BB\n");
    expect(t, "buf 2 1 http.response_body=CCC\n");
    expect(t, "ev 2 1 DONE\n");
    free(t);

    /* more requests in flight than slots: the request side stops */
    c.lim.max_tx = 2;
    c.resp_len = 0;
    t = run(&c);
    expect(t, "ev 1 0 DONE\n");
    expect(t, "an - 0 UNKNOWN_ERROR\n");
    expect_not(t, "ev 2 0");
    free(t);
}

static void test_no_body_responses(void **st)
{
    (void)st;
    tcase c = mk("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /n HTTP/1.1\r\nHost: a\r\n\r\n"
                 "GET /m HTTP/1.1\r\nHost: a\r\n\r\n",
                 "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
                 "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n"
                 "HTTP/1.1 204 No Content\r\n\r\n");
    char *t = run(&c);
    expect(t, "ev 0 1 LINE\nev 0 1 HEADERS\nev 0 1 DONE\n");
    expect(t, "buf 0 1 http.content_len=1000\n");
    expect(t, "buf 1 1 http.stat_code=304\n");
    expect(t, "ev 1 1 HEADERS\nev 1 1 DONE\n");
    expect(t, "buf 2 1 http.stat_code=204\n");
    expect(t, "ev 2 1 HEADERS\nev 2 1 DONE\n");
    free(t);
}

static void test_100_continue(void **st)
{
    (void)st;
    tcase c = mk("POST /p HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
                 "data",
                 "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok");
    char *t = run(&c);
    expect(t, "ev 0 1 LINE\nev 0 1 HEADERS\nev 0 1 BODY\nev 0 1 DONE\n");
    expect(t, "buf 0 1 http.stat_code=201\n");
    expect(t, "buf 0 1 http.response_line=HTTP/1.1 201 Created\n");
    expect(t, "buf 0 1 http.response_body=ok\n");
    expect_not(t, "ev 1 1");
    free(t);
}

static void test_body_until_close(void **st)
{
    (void)st;
    tcase c = mk("GET /c HTTP/1.0\r\n\r\n", "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nall of this is body");
    c.close = true;
    char *t = run(&c);
    expect(t, "ev 0 1 BODY\nev 0 1 DONE\n");
    expect(t, "buf 0 1 http.response_body=all of this is body\n");
    expect(t, "len 0 1 19\n");
    expect(t, "buf 0 0 http.protocol=HTTP/1.0\n");
    expect_not(t, "MISSING_HOST_HEADER");
    free(t);

    /* without close the body stays open */
    c.close = false;
    t = run(&c);
    expect_not(t, "ev 0 1 DONE");
    free(t);
}

static void test_folding_and_duplicates(void **st)
{
    (void)st;
    tcase c = mk("GET / HTTP/1.1\r\nHost: a\r\nX-Long: one\r\n  two\r\n\tthree\r\n"
                 "Accept: a/b\r\naccept: c/d\r\nUser-Agent:   spaced out  \r\n\r\n",
                 NULL);
    char *t = run(&c);
    expect(t, "buf 0 0 http.accept=a/b, c/d\n");
    expect(t, "buf 0 0 http.user_agent=spaced out\n");
    expect(t, "buf 0 0 http.header=Host: a\\r\\nX-Long: one  two\\x09three\\r\\n"
              "Accept: a/b, c/d\\r\\nUser-Agent: spaced out\\r\\n\n");
    expect(t, "buf 0 0 http.header_names=\\r\\nHost\\r\\nX-Long\\r\\nAccept\\r\\nUser-Agent"
              "\\r\\n\\r\\n\n");
    expect(t, "an 0 0 REQUEST_HEADER_REPETITION\n");
    expect_not(t, "FOLDING");
    free(t);

    c = mk("GET / HTTP/1.1\r\n bad: fold\r\nHost: a\r\nNoColonHere\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "an 0 0 INVALID_REQUEST_FIELD_FOLDING\n");
    expect(t, "an 0 0 REQUEST_FIELD_MISSING_COLON\n");
    free(t);
}

static void test_uri_normalization(void **st)
{
    (void)st;
    static const struct {
        const char *raw, *norm;
    } v[] = {
        {"/a/%2e%2e/b", "/b"},
        {"/a/./b/../c", "/a/c"},
        {"//x///y", "//x///y"},
        {"/%41%42c", "/ABc"},
        {"/p/../q?x=%41&y=/../z", "/q?x=A&y=/../z"},
        {"/a%2fb", "/a%2fb"},
        {"/a\\b\\..\\c", "/a/c"},
        {"/%u0041%u002e%u002e/x", "/A../x"},
        {"/%uff0fx", "/%uff0fx"},
        {"/bad%zz%4", "/bad%zz%4"},
        {"/Case/Kept", "/Case/Kept"},
        {"/f#frag", "/f#frag"},
        {"http://Www.Example.COM:8080/a/../b?q", "/b?q"},
        {"/\xc3\xa9t\xc3\xa9", "/\xe9t\xe9"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char req[512], want[512];
        snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", v[i].raw);
        tcase c = mk(req, NULL);
        char *t = run(&c);
        pb_text w = {0};
        pb_tput(&w, "buf 0 0 http.uri=");
        tput_esc(&w, (const uint8_t *)v[i].norm, (uint32_t)strlen(v[i].norm));
        pb_tput(&w, "\nbuf 0 0 http.uri.raw=");
        tput_esc(&w, (const uint8_t *)v[i].raw, (uint32_t)strlen(v[i].raw));
        pb_tput(&w, "\n");
        snprintf(want, sizeof(want), "%s", w.p);
        free(w.p);
        expect(t, want);
        free(t);
    }
}

static void test_host(void **st)
{
    (void)st;
    tcase c = mk("GET / HTTP/1.1\r\nHost: Www.Example.COM:8080\r\n\r\n", NULL);
    char *t = run(&c);
    expect(t, "buf 0 0 http.host=Www.Example.COM\n"); /* case kept, as Suricata 7 */
    expect(t, "buf 0 0 http.host.raw=Www.Example.COM:8080\n");
    free(t);

    c = mk("GET / HTTP/1.1\r\nHost: [2001:DB8::1]:80\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "buf 0 0 http.host=[2001:DB8::1]\n"); /* with a port: case kept */
    free(t);

    c = mk("GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "buf 0 0 http.host=example.com\n");
    free(t);

    /* absolute URI: its authority wins; a different Host is ambiguous */
    c = mk("GET http://Uri.Example:81/x HTTP/1.1\r\nHost: other.example\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "buf 0 0 http.host=uri.example\n");
    expect(t, "buf 0 0 http.host.raw=Uri.Example\n");
    expect(t, "an 0 0 HOST_HEADER_AMBIGUOUS\n");
    free(t);

    c = mk("GET / HTTP/1.1\r\nUser-Agent: x\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "an 0 0 MISSING_HOST_HEADER\n");
    expect_not(t, "http.host");
    free(t);

    c = mk("GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "an 0 0 REQUEST_HEADER_HOST_INVALID\n");
    free(t);
}

static void test_probe(void **st)
{
    (void)st;
    const gh_app_ops *o = &gh_app_http1_ops;
    const gh_app_probe_ctx pc = {.transport = GH_APP_TCP, .server_port = 80, .client_port = 40000};
#define P(dir, s) o->probe(dir, (const uint8_t *)(s), sizeof(s) - 1, &pc)
    assert_int_equal(P(0, "GET / HTTP/1.1\r\n"), GH_PROBE_YES);
    assert_int_equal(P(0, "\r\nPOST /x HTTP/1.0\r\n"), GH_PROBE_YES);
    assert_int_equal(P(0, "PROPFIND\t/"), GH_PROBE_YES);
    assert_int_equal(P(0, "get /"), GH_PROBE_YES);
    assert_int_equal(P(0, "GE"), GH_PROBE_MORE);
    assert_int_equal(P(0, "GET"), GH_PROBE_MORE);
    assert_int_equal(P(0, ""), GH_PROBE_MORE);
    assert_int_equal(P(0, "SSH-2.0-OpenSSH_9.2\r\n"), GH_PROBE_NO);
    assert_int_equal(P(0, "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"), GH_PROBE_NO);
    assert_int_equal(P(0, "GETX / HTTP/1.1"), GH_PROBE_NO);
    assert_int_equal(P(0, "\x00\x00\x00\x01"), GH_PROBE_NO);
    assert_int_equal(P(1, "HTTP/1.1 200 OK\r\n"), GH_PROBE_YES);
    assert_int_equal(P(1, "HTT"), GH_PROBE_MORE);
    assert_int_equal(P(1, "SSH-2.0-x"), GH_PROBE_NO);
#undef P
}

static void test_header_limit(void **st)
{
    (void)st;
    char req[4096];
    int k = snprintf(req, sizeof(req), "GET /big HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 40; i++)
        k += snprintf(req + k, sizeof(req) - k, "X-Filler-%02d: %060d\r\n", i, i);
    snprintf(req + k, sizeof(req) - k, "Content-Length: 3\r\n\r\nabcGET /next HTTP/1.1\r\nHost: b\r\n\r\n");
    tcase c = mk(req, NULL);
    c.lim.header_limit = 1024;
    char *t = run(&c);
    expect(t, "an 0 0 REQUEST_FIELD_TOO_LONG\n");
    /* framing still followed: the body is skipped and the next request parsed */
    expect(t, "buf 0 0 http.request_body=abc\n");
    expect(t, "buf 1 0 http.uri=/next\n");
    expect(t, "buf 1 0 http.host=b\n");
    expect_not(t, "X-Filler-39");
    free(t);
}

static void test_http09_and_anomalies(void **st)
{
    (void)st;
    tcase c = mk("GET /old\r\n", "<html>0.9</html>");
    c.close = true;
    char *t = run(&c);
    expect(t, "ev 0 0 LINE\nev 0 0 HEADERS\nev 0 0 DONE\n");
    expect(t, "buf 0 0 http.uri=/old\n");
    expect_not(t, "buf 0 0 http.protocol");
    expect(t, "buf 0 1 http.response_body=<html>0.9</html>\n");
    free(t);

    c = mk("  GET  /x HTTP/1.1\r\nHost: a\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "an 0 0 REQUEST_LINE_LEADING_WHITESPACE\n");
    expect(t, "an 0 0 METHOD_DELIM_NON_COMPLIANT\n");
    expect(t, "buf 0 0 http.uri=/x\n");
    free(t);

    c = mk("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n", NULL);
    t = run(&c);
    expect(t, "an 0 0 INVALID_CONTENT_LENGTH_FIELD_IN_REQUEST\n");
    free(t);

    c = mk("GET / HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n");
    t = run(&c);
    expect(t, "an 0 1 INVALID_CONTENT_LENGTH_FIELD_IN_RESPONSE\n");
    free(t);

    c = mk("", "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    t = run(&c);
    expect(t, "an - 1 UNABLE_TO_MATCH_RESPONSE_TO_REQUEST\n");
    expect(t, "ev 0 0 DONE\n");
    expect(t, "ev 0 1 DONE\n");
    free(t);
}

/* Gaps: skipped inside a body of known length, fatal elsewhere. */
static void test_gap_and_reset(void **st)
{
    (void)st;
    rec r = {.ops = &gh_app_http1_ops};
    gh_app_limits lim;
    gh_app_limits_init(&lim);
    r.state = calloc(1, r.ops->state_size);
    assert_int_equal(r.ops->init(r.state, &lim), 0);
    gh_app_sink sink = {&r, on_progress, on_anomaly, NULL};
    const char *a = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab";
    r.ops->parse(r.state, 0, (const uint8_t *)a, strlen(a), &sink);
    r.ops->gap(r.state, 0, 5, &sink);
    r.ops->parse(r.state, 0, (const uint8_t *)"xyzGET /n HTTP/1.1\r\n\r\n", 22, &sink);
    pb_tput(&r.t, "%s", ""); /* NUL-terminated, allocated */
    expect(r.t.p, "buf 0 0 http.request_body=abxyz\n");
    expect(r.t.p, "len 0 0 10\n");
    expect(r.t.p, "buf 1 0 http.uri=/n\n");
    r.ops->gap(r.state, 0, 3, &sink);
    r.ops->parse(r.state, 0, (const uint8_t *)"GET /lost HTTP/1.1\r\n\r\n", 22, &sink);
    expect(r.t.p, "an - 0 UNKNOWN_ERROR\n");
    expect_not(r.t.p, "/lost");

    /* a reset state serves a new flow like a fresh one */
    r.ops->reset(r.state);
    r.t.len = 0;
    tcase c = mk("GET /again HTTP/1.1\r\nHost: a\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi");
    run_into(&r, &c, FEED_RANDOM);
    pb_tput(&r.t, "%s", ""); /* NUL-terminated, allocated */
    char *fresh = run_mode(&c, FEED_WHOLE);
    assert_string_equal(r.t.p, fresh);
    assert_int_equal(r.ops->tx_count(r.state), 0);
    free(fresh);
    r.ops->free(r.state);
    free(r.state);
    free(r.t.p);
}

int main(void)
{
    const char *s = getenv("GH_TEST_SEED");
    rng_state = s ? strtoull(s, NULL, 0) : 0x9e3779b97f4a7c15ull;
    if (!rng_state)
        rng_state = 1;
    printf("test_http1: GH_TEST_SEED=%llu\n", (unsigned long long)rng_state);
    fflush(stdout);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_simple_get),
        cmocka_unit_test(test_post_cl),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_bad_chunk_len),
        cmocka_unit_test(test_gzip_deflate),
        cmocka_unit_test(test_inflate_large),
        cmocka_unit_test(test_decompression_bomb),
        cmocka_unit_test(test_pipelining),
        cmocka_unit_test(test_no_body_responses),
        cmocka_unit_test(test_100_continue),
        cmocka_unit_test(test_body_until_close),
        cmocka_unit_test(test_folding_and_duplicates),
        cmocka_unit_test(test_uri_normalization),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_probe),
        cmocka_unit_test(test_header_limit),
        cmocka_unit_test(test_http09_and_anomalies),
        cmocka_unit_test(test_gap_and_reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
