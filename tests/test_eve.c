/* EVE JSON output: Suricata's timestamp format, JSON string escaping, the
 * printf-free writers against the printf/strftime/inet_ntop formatting they
 * replace (on seeded random values: GH_TEST_SEED, printed), the fields of
 * anomaly and stats events, and the worker writing one anomaly line per
 * decode anomaly through gh_eve_open. Every line is checked with a
 * small strict JSON parser below (and, when /usr/bin/python3 exists, with
 * Python's json module as a second opinion). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gatehouse/counters.h"
#include "gatehouse/decode.h"
#include "gatehouse/engine.h"
#include "gatehouse/eve.h"
#include "gatehouse/source.h"
#include "pktbuild.h"

#define DATA GH_TEST_DATA_DIR "/"

/* ---- a strict JSON parser that can also fetch one value by path ----------- */

typedef struct jp {
    const char *p, *end;
    int depth;
    const char *found; /* span of the value at the wanted path */
    size_t found_len;
    int nfound;
} jp;

static bool jvalue(jp *j, const char *want);

static void jws(jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool jhex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; s and n get its raw (still escaped) contents. */
static bool jstring(jp *j, const char **s, size_t *n)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    *s = ++j->p;
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c < 0x20)
            return false; /* raw control characters are not allowed */
        if (c != '\\') {
            j->p++;
            continue;
        }
        if (++j->p >= j->end)
            return false;
        switch (*j->p) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            j->p++;
            break;
        case 'u':
            if (j->end - j->p < 5)
                return false;
            for (int i = 1; i <= 4; i++)
                if (!jhex(j->p[i]))
                    return false;
            j->p += 5;
            break;
        default:
            return false;
        }
    }
    if (j->p >= j->end)
        return false;
    *n = (size_t)(j->p - *s);
    j->p++;
    return true;
}

static bool jdigits(jp *j)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
        j->p++;
    return j->p > s;
}

static bool jnumber(jp *j)
{
    if (j->p < j->end && *j->p == '-')
        j->p++;
    if (j->p < j->end && *j->p == '0')
        j->p++;
    else if (!jdigits(j))
        return false;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jdigits(j))
            return false;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (!jdigits(j))
            return false;
    }
    return true;
}

static bool jliteral(jp *j, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
        return false;
    j->p += n;
    return true;
}

/* want: the rest of the dotted path below this object (NULL: not looking). */
static bool jobject(jp *j, const char *want)
{
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return true;
    }
    for (;;) {
        const char *k;
        size_t kn;
        jws(j);
        if (!jstring(j, &k, &kn))
            return false;
        jws(j);
        if (j->p >= j->end || *j->p != ':')
            return false;
        j->p++;
        const char *sub = NULL;
        if (want && *want) {
            size_t seg = strcspn(want, ".");
            if (seg == kn && memcmp(k, want, kn) == 0)
                sub = want[seg] == '.' ? want + seg + 1 : want + seg;
        }
        if (!jvalue(j, sub))
            return false;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == '}') {
            j->p++;
            return true;
        }
        return false;
    }
}

static bool jarray(jp *j)
{
    j->p++;
    jws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return true;
    }
    for (;;) {
        if (!jvalue(j, NULL))
            return false;
        jws(j);
        if (j->p < j->end && *j->p == ',') {
            j->p++;
            continue;
        }
        if (j->p < j->end && *j->p == ']') {
            j->p++;
            return true;
        }
        return false;
    }
}

static bool jvalue(jp *j, const char *want)
{
    if (++j->depth > 64)
        return false;
    jws(j);
    if (j->p >= j->end)
        return false;
    const char *start = j->p;
    bool ok;
    const char *s;
    size_t n;
    switch (*j->p) {
    case '{': ok = jobject(j, want); break;
    case '[': ok = jarray(j); break;
    case '"': ok = jstring(j, &s, &n); break;
    case 't': ok = jliteral(j, "true"); break;
    case 'f': ok = jliteral(j, "false"); break;
    case 'n': ok = jliteral(j, "null"); break;
    default: ok = jnumber(j); break;
    }
    j->depth--;
    if (ok && want && *want == '\0') {
        j->found = start;
        j->found_len = (size_t)(j->p - start);
        j->nfound++;
    }
    return ok;
}

/* Parse one JSON text; with @p path, find the value there (exactly once). */
static bool json_parse(const char *s, size_t n, const char *path, jp *out)
{
    memset(out, 0, sizeof(*out));
    out->p = s;
    out->end = s + n;
    if (!jvalue(out, path))
        return false;
    jws(out);
    return out->p == out->end;
}

/* An EVE line: one valid JSON object, ending in its only newline. */
static void check_line(const char *line, size_t len)
{
    jp j;
    assert_true(len >= 3);
    assert_int_equal(line[len - 1], '\n');
    assert_null(memchr(line, '\n', len - 1));
    assert_int_equal(line[0], '{');
    if (!json_parse(line, len - 1, NULL, &j))
        fail_msg("not valid JSON at byte %td: %.*s", j.p - line, (int)len, line);
}

/* The raw JSON text of the value at path, e.g. "anomaly.event". */
static void json_get(const char *line, const char *path, char *out, size_t outsz)
{
    jp j;
    size_t len = strcspn(line, "\n");
    assert_true(json_parse(line, len, path, &j));
    if (j.nfound != 1)
        fail_msg("%s: found %d times in %.*s", path, j.nfound, (int)len, line);
    assert_true(j.found_len < outsz);
    memcpy(out, j.found, j.found_len);
    out[j.found_len] = '\0';
}

static void expect_str(const char *line, const char *path, const char *want)
{
    char got[256], q[256];
    json_get(line, path, got, sizeof(got));
    snprintf(q, sizeof(q), "\"%s\"", want);
    if (strcmp(got, q) != 0)
        fail_msg("%s: got %s, want %s", path, got, q);
}

static void expect_u64(const char *line, const char *path, uint64_t want)
{
    char got[64], w[32];
    json_get(line, path, got, sizeof(got));
    snprintf(w, sizeof(w), "%" PRIu64, want);
    if (strcmp(got, w) != 0)
        fail_msg("%s: got %s, want %s", path, got, w);
}

static void expect_absent(const char *line, const char *path)
{
    jp j;
    assert_true(json_parse(line, strcspn(line, "\n"), path, &j));
    if (j.nfound != 0)
        fail_msg("%s should be absent: %s", path, line);
}

/* Python's json module, when the system Python is there. */
static void python_validate(const char *path)
{
    if (access("/usr/bin/python3", X_OK) != 0)
        return;
    char cmd[512];
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1])]' %s",
             path);
    assert_int_equal(system(cmd), 0);
}

static void temp_path(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/gh_test_eve_XXXXXX");
    int fd = mkstemp(buf);
    assert_true(fd >= 0);
    close(fd);
}

static void write_file(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* ---- timestamps and strings --------------------------------------------- */

static void test_timestamp(void **state)
{
    (void)state;
    static const struct {
        int64_t sec;
        uint32_t nsec;
        const char *want;
    } cases[] = {
        {1278472580, 566743000, "2010-07-07T03:16:20.566743+0000"},
        /* microseconds, truncated as Suricata prints them */
        {1278472580, 566743999, "2010-07-07T03:16:20.566743+0000"},
        {1278472580, 999999999, "2010-07-07T03:16:20.999999+0000"},
        {1278472580, 1000, "2010-07-07T03:16:20.000001+0000"},
        {0, 0, "1970-01-01T00:00:00.000000+0000"},
        {1491423344, 641377000, "2017-04-05T20:15:44.641377+0000"},
        /* past 2038 */
        {4102444800, 0, "2100-01-01T00:00:00.000000+0000"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[40];
        memset(out, 'x', sizeof(out));
        gh_eve_timestamp(out, cases[i].sec, cases[i].nsec);
        assert_string_equal(out, cases[i].want);
    }
}

static void expect_json_str(const char *in, const char *want)
{
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_jbuf_json_str(&b, in);
    assert_false(b.oom);
    assert_int_equal(b.len, strlen(want));
    assert_string_equal(b.p, want);
    jp j;
    if (!json_parse(b.p, b.len, NULL, &j))
        fail_msg("not a JSON string: %s", b.p);
    gh_jbuf_free(&b);
}

static void test_json_str(void **state)
{
    (void)state;
    expect_json_str("", "\"\"");
    expect_json_str("plain text", "\"plain text\"");
    expect_json_str("say \"hi\"", "\"say \\\"hi\\\"\"");
    expect_json_str("C:\\dir\\", "\"C:\\\\dir\\\\\"");
    expect_json_str("a\nb\rc\td", "\"a\\nb\\rc\\td\"");
    expect_json_str("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"");
    expect_json_str("\x08\x0c", "\"\\u0008\\u000c\"");
    /* well-formed UTF-8 passes through; any other byte becomes \u00XX */
    expect_json_str("caf\xc3\xa9", "\"caf\xc3\xa9\"");
    expect_json_str("\xe2\x82\xac \xf0\x9f\x98\x80", "\"\xe2\x82\xac \xf0\x9f\x98\x80\"");
    expect_json_str("\xff\x80", "\"\\u00ff\\u0080\"");
    /* overlong, surrogate and truncated sequences are not UTF-8 */
    expect_json_str("\xc0\xaf", "\"\\u00c0\\u00af\"");
    expect_json_str("\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\"");
    expect_json_str("a\xe2\x82", "\"a\\u00e2\\u0082\"");
    expect_json_str("/path</script>", "\"/path</script>\"");

    /* every byte 1..255 in one string: valid JSON, and appended after
     * what the buffer already held */
    char all[256];
    for (int i = 1; i < 256; i++)
        all[i - 1] = (char)i;
    all[255] = '\0';
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_jbuf_append(&b, "[1,", 3);
    gh_jbuf_json_str(&b, all);
    gh_jbuf_append(&b, "]", 1);
    assert_false(b.oom);
    assert_int_equal(strlen(b.p), b.len);
    jp j;
    assert_true(json_parse(b.p, b.len, NULL, &j));
    assert_memory_equal(b.p, "[1,\"", 4);

    /* a string longer than the initial buffer */
    b.len = 0;
    char *big = malloc(20001);
    assert_non_null(big);
    memset(big, '"', 20000);
    big[20000] = '\0';
    gh_jbuf_json_str(&b, big);
    assert_int_equal(b.len, 2 + 2 * 20000);
    assert_true(json_parse(b.p, b.len, NULL, &j));
    free(big);
    gh_jbuf_free(&b);
}

/* ---- printf-free writers against the formatting they replace ------------- */

/* Random-test rounds per writer. */
#define ROUNDS 20000

/* A value of random bit length, so every digit count comes up. */
static uint64_t rand_bits(uint64_t *st)
{
    unsigned bits = (unsigned)(pb_rng(st) % 65);
    uint64_t v = pb_rng(st);
    return bits == 64 ? v : v & ((UINT64_C(1) << bits) - 1);
}

/* The buffer holds exactly @p want, NUL-terminated, after @p prefix. */
static void expect_buf(gh_jbuf *b, size_t prefix, const char *want, const char *what)
{
    size_t n = strlen(want);
    if (b->oom || b->len != prefix + n || memcmp(b->p + prefix, want, n) != 0 ||
        b->p[b->len] != '\0')
        fail_msg("%s: got '%.*s', want '%s'", what, (int)(b->len - prefix), b->p + prefix,
                 want);
}

static void check_u64(gh_jbuf *b, uint64_t v, unsigned width)
{
    char want[64];
    size_t at = b->len;
    snprintf(want, sizeof(want), "%" PRIu64, v);
    gh_jbuf_u64(b, v);
    expect_buf(b, at, want, "u64");
    at = b->len;
    snprintf(want, sizeof(want), "%0*" PRIu64, (int)width, v);
    gh_jbuf_u64_pad(b, v, width);
    expect_buf(b, at, want, "u64_pad");
    at = b->len;
    snprintf(want, sizeof(want), "%0*" PRIx64, (int)(width % 17), v);
    gh_jbuf_hex(b, v, width % 17);
    expect_buf(b, at, want, "hex");
    at = b->len;
    snprintf(want, sizeof(want), "%" PRId64, (int64_t)v);
    gh_jbuf_i64(b, (int64_t)v);
    expect_buf(b, at, want, "i64");
}

static void test_writer_integers(void **state)
{
    (void)state;
    gh_jbuf b;
    gh_jbuf_init(&b);
    static const uint64_t edges[] = {0, 1, 9, 10, 99, 100, 999, 1000, 65535, 4294967295u,
                                     INT64_MAX, (uint64_t)INT64_MAX + 1, UINT64_MAX - 1,
                                     UINT64_MAX};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
        for (unsigned w = 0; w <= 24; w++)
            check_u64(&b, edges[i], w);
    /* every power of ten and its neighbours: the digit counts' edges */
    for (uint64_t p = 1;; p *= 10) {
        check_u64(&b, p - 1, 3);
        check_u64(&b, p, 5);
        check_u64(&b, p + 1, 20);
        if (p > UINT64_MAX / 10)
            break;
    }
    gh_jbuf_i64(&b, INT64_MIN);
    gh_jbuf_i64(&b, -1);
    assert_true(strstr(b.p, "-9223372036854775808-1") != NULL);
    uint64_t st = pb_rng_seed("GH_TEST_SEED");
    for (int i = 0; i < ROUNDS; i++) {
        b.len = 0; /* kept small; growth is covered by the strings below */
        check_u64(&b, rand_bits(&st), (unsigned)(pb_rng(&st) % 25));
    }
    gh_jbuf_free(&b);
}

/* The escapers as they were written before the run-at-a-time ones: a byte
 * at a time (gh_jbuf_json_str's \u00XX for anything not UTF-8, json_bytes'
 * \u00XX for any byte outside printable ASCII, json_jb's \xHH text for
 * bytes of invalid UTF-8). */
static size_t ref_utf8_len(const unsigned char *q, size_t n)
{
    unsigned char c = q[0];
    size_t k = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (!k || k > n)
        return 0;
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (q[1] < lo || q[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((q[i] & 0xc0) != 0x80)
            return 0;
    return k;
}

static void ref_json_str(pb_text *t, const char *s)
{
    size_t n = strlen(s);
    const unsigned char *q = (const unsigned char *)s;
    pb_tput(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = q[i];
        size_t k;
        if (ch == '"' || ch == '\\')
            pb_tput(t, "\\%c", ch);
        else if (ch == '\n' || ch == '\r' || ch == '\t')
            pb_tput(t, "\\%c", ch == '\n' ? 'n' : ch == '\r' ? 'r' : 't');
        else if (ch >= 0x80 && (k = ref_utf8_len(q + i, n - i)) != 0) {
            pb_tput(t, "%.*s", (int)k, (const char *)q + i);
            i += k - 1;
        } else if (ch < 0x20 || ch >= 0x7f)
            pb_tput(t, "\\u%04x", ch);
        else
            pb_tput(t, "%c", ch);
    }
    pb_tput(t, "\"");
}

static void ref_json_bytes(pb_text *t, const unsigned char *p, size_t n)
{
    pb_tput(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\')
            pb_tput(t, "\\%c", c);
        else if (c == '\n' || c == '\r' || c == '\t')
            pb_tput(t, "\\%c", c == '\n' ? 'n' : c == '\r' ? 'r' : 't');
        else if (c < 0x20 || c >= 0x7f)
            pb_tput(t, "\\u%04x", c);
        else
            pb_tput(t, "%c", c);
    }
    pb_tput(t, "\"");
}

static void ref_json_jb(pb_text *t, const unsigned char *p, size_t n)
{
    bool valid = true;
    for (size_t i = 0, k; i < n && valid; i += k)
        valid = (k = p[i] < 0x80 ? 1 : ref_utf8_len(p + i, n - i)) != 0;
    pb_tput(t, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        static const char esc[] = {['\b'] = 'b', ['\t'] = 't', ['\n'] = 'n', ['\f'] = 'f',
                                   ['\r'] = 'r'};
        if (c >= 0x80 && !valid)
            pb_tput(t, "\\\\x%02x", c);
        else if (c == '"' || c == '\\')
            pb_tput(t, "\\%c", c);
        else if (c < 0x20 && c < sizeof(esc) && esc[c])
            pb_tput(t, "\\%c", esc[c]);
        else if (c < 0x20)
            pb_tput(t, "\\u%04x", c);
        else
            pb_tput(t, "%c", c);
    }
    pb_tput(t, "\"");
}

/* Random bytes that often hold what the escapers treat apart: quotes,
 * backslashes, control bytes, DEL, UTF-8 sequences whole, cut or overlong. */
static size_t rand_text(uint64_t *st, unsigned char *out, size_t max)
{
    static const char *const pieces[] = {"\"", "\\", "\n", "\r", "\t", "\b", "\f", "\v",
                                         "\x01", "\x1f", "\x7f", "a", "/", "\xc3\xa9",
                                         "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc0\xaf",
                                         "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82",
                                         "\xff", "\x80", "plain text "};
    size_t n = 0, want = (size_t)(pb_rng(st) % max);
    while (n < want) {
        uint64_t r = pb_rng(st);
        if (r % 4 == 0) {
            out[n++] = (unsigned char)(r >> 8);
            continue;
        }
        const char *pc = pieces[(r >> 8) % (sizeof(pieces) / sizeof(pieces[0]))];
        size_t k = strlen(pc);
        if (n + k > want)
            break;
        memcpy(out + n, pc, k);
        n += k;
    }
    return n;
}

static void expect_text(const gh_jbuf *b, const pb_text *want, const char *what, uint64_t round)
{
    if (b->oom || b->len != want->len || memcmp(b->p, want->p, want->len) != 0 ||
        b->p[b->len] != '\0')
        fail_msg("%s, round %" PRIu64 ": got %s, want %s", what, round, b->p, want->p);
}

static void test_writer_strings(void **state)
{
    (void)state;
    gh_jbuf b;
    gh_jbuf_init(&b);
    pb_text want = {0};
    unsigned char buf[600];
    uint64_t st = pb_rng_seed("GH_TEST_SEED");
    for (uint64_t i = 0; i < ROUNDS; i++) {
        size_t n = rand_text(&st, buf, i % 50 ? 40 : sizeof(buf) - 1);
        b.len = want.len = 0;
        gh_jbuf_json_bytes(&b, buf, n);
        ref_json_bytes(&want, buf, n);
        expect_text(&b, &want, "json_bytes", i);
        b.len = want.len = 0;
        gh_jbuf_json_jb(&b, buf, n);
        ref_json_jb(&want, buf, n);
        expect_text(&b, &want, "json_jb", i);
        buf[n] = '\0'; /* a C string up to its first NUL */
        b.len = want.len = 0;
        gh_jbuf_json_str(&b, (const char *)buf);
        ref_json_str(&want, (const char *)buf);
        expect_text(&b, &want, "json_str", i);
    }
    /* names gatehouse chose: written as they are */
    b.len = 0;
    gh_jbuf_key(&b, false, "first");
    gh_jbuf_quoted(&b, "TCP");
    gh_jbuf_key(&b, true, "next");
    gh_jbuf_quoted(&b, "");
    GH_JBUF_LIT(&b, ",\"lit\":1");
    expect_buf(&b, 0, "\"first\":\"TCP\",\"next\":\"\",\"lit\":1", "key/quoted");
    free(want.p);
    gh_jbuf_free(&b);
}

static void check_ip(gh_jbuf *b, const uint8_t *a, int ver)
{
    char ref[INET6_ADDRSTRLEN], want[INET6_ADDRSTRLEN + 2];
    assert_non_null(inet_ntop(ver == 4 ? AF_INET : AF_INET6, a, ref, sizeof(ref)));
    snprintf(want, sizeof(want), "\"%s\"", ref);
    b->len = 0;
    gh_jbuf_ip(b, a, ver);
    expect_buf(b, 0, want, ver == 4 ? "ipv4" : "ipv6");
}

static void test_writer_ip(void **state)
{
    (void)state;
    gh_jbuf b;
    gh_jbuf_init(&b);
    static const char *const v6[] = {"::", "::1", "1::", "1::1", "::ffff:1.2.3.4",
                                     "::1.2.3.4", "::ffff:0:1.2.3.4", "::fffe:1.2.3.4",
                                     "1:0:1:0:1:0:1:0", "1:0:0:1:0:0:1:1", "1:0:0:1:0:0:0:1",
                                     "0:0:1::", "2001:db8::ff00:42:8329", "fe80::1:0:0:0",
                                     "0:0:0:0:0:1:0:0", "::0.0.0.1", "::ffff:0.0.0.0",
                                     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    for (size_t i = 0; i < sizeof(v6) / sizeof(v6[0]); i++) {
        uint8_t a[16];
        assert_int_equal(inet_pton(AF_INET6, v6[i], a), 1);
        check_ip(&b, a, 6);
    }
    static const uint8_t v4[][4] = {{0, 0, 0, 0}, {255, 255, 255, 255}, {9, 10, 99, 100},
                                    {192, 168, 1, 1}};
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++)
        check_ip(&b, v4[i], 4);
    uint64_t st = pb_rng_seed("GH_TEST_SEED");
    for (int i = 0; i < ROUNDS; i++) {
        uint8_t a[16];
        for (int k = 0; k < 16; k += 2) {
            /* groups are often zero (runs to compress) or small */
            uint64_t r = pb_rng(&st);
            unsigned g = r % 3 == 0 ? 0 : r % 3 == 1 ? (unsigned)(r >> 8) & 0x1f
                                                      : (unsigned)(r >> 8) & 0xffff;
            a[k] = (uint8_t)(g >> 8);
            a[k + 1] = (uint8_t)g;
        }
        if (pb_rng(&st) % 8 == 0) { /* IPv4-mapped or -compatible */
            memset(a, 0, 10);
            a[10] = a[11] = pb_rng(&st) % 2 ? 0xff : 0;
        }
        check_ip(&b, a, 6);
        check_ip(&b, a, 4);
    }
    b.len = 0;
    gh_jbuf_ip(&b, (const uint8_t *)"\x01\x02\x03\x04", 0); /* no IP: as gh_addr_str */
    expect_buf(&b, 0, "\"\"", "no version");
    gh_jbuf_free(&b);
}

/* gh_eve_timestamp as it was: gmtime_r, strftime and snprintf. */
static void ref_timestamp(char out[40], int64_t sec, uint32_t nsec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    char base[24];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, 40, "%s.%06u+0000", base, (unsigned)(nsec / 1000u) % 1000000u);
}

static void check_ts(gh_jbuf *b, int64_t sec, uint32_t nsec)
{
    char ref[40], want[44], got[40];
    ref_timestamp(ref, sec, nsec);
    snprintf(want, sizeof(want), "\"%s\"", ref);
    size_t at = b->len;
    gh_jbuf_timestamp(b, sec, nsec);
    expect_buf(b, at, want, "timestamp");
    gh_eve_timestamp(got, sec, nsec);
    assert_string_equal(got, ref);
}

/* gh_jbuf_datetime's reference: gmtime's fields as "%04lld" and "%02d". */
static void check_datetime(gh_jbuf *b, int64_t sec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    assert_non_null(gmtime_r(&t, &tm));
    char want[64];
    snprintf(want, sizeof(want), "\"%04lld-%02d-%02dT%02d:%02d:%02d\"", tm.tm_year + 1900LL,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    b->len = 0;
    gh_jbuf_datetime(b, sec);
    expect_buf(b, 0, want, "datetime");
}

static void test_writer_timestamp(void **state)
{
    (void)state;
    gh_jbuf b;
    gh_jbuf_init(&b);
    /* one second's events, then across the boundary (the cached date and
     * time must change), then back (events of several workers' flows) */
    static const struct {
        int64_t sec;
        uint32_t nsec;
    } seq[] = {{1278472580, 566743000}, {1278472580, 566743999}, {1278472580, 0},
               {1278472580, 999999999}, {1278472581, 1000},      {1278472581, 999},
               {1278472639, 5000},      {1278472640, 0},         {1278475199, 999999000},
               {1278475200, 0},         {1278460799, 1},         {1278460800, 2},
               {1278472580, 566743000}, {0, 0},                  {0, 999999999},
               {-1, 0},                 {1, 4294967295u},        {4102444800, 0},
               {951782400, 0},          {951868799, 123456789},  {253402300799, 999999999},
               {253402300800, 0},       {-30610224001, 500000},  {-30610224000, 0},
               {-62135596800, 0},       {-62167219200, 7000}};
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
        b.len = 0;
        check_ts(&b, seq[i].sec, seq[i].nsec);
        check_datetime(&b, seq[i].sec);
    }
    /* the same timestamps one after another in one buffer */
    b.len = 0;
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        check_ts(&b, seq[i].sec, seq[i].nsec);
    uint64_t st = pb_rng_seed("GH_TEST_SEED");
    int64_t sec = 1500000000;
    for (int i = 0; i < ROUNDS; i++) {
        uint64_t r = pb_rng(&st);
        switch (r % 4) {
        case 0: break;                                   /* same second */
        case 1: sec += (int64_t)((r >> 8) % 3); break;   /* the next ones */
        case 2: sec = (int64_t)((r >> 8) % 253402300800u); break; /* 1970..9999 */
        default: /* years -9999..1969: before the epoch, and gmtime's short years */
            sec = -(int64_t)((r >> 8) % INT64_C(377705116800));
        }
        b.len = 0;
        check_ts(&b, sec, (uint32_t)pb_rng(&st));
        check_datetime(&b, sec);
    }
    gh_jbuf_free(&b);
}

/* ---- anomaly events ------------------------------------------------------- */

/* Reference Internet checksum, written out independently of the engine's. */
static uint16_t ref_csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t pseudo_sum(const uint8_t *src, const uint8_t *dst, size_t alen, uint8_t proto,
                           size_t l4len)
{
    uint32_t s = 0;
    for (size_t i = 0; i < alen; i += 2)
        s += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
    return s + proto + (uint32_t)l4len;
}

static const uint8_t eth_v4[14] = {2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00};
static const uint8_t eth_v6[14] = {2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x86, 0xdd};

/* Ethernet + IPv4 (10.0.0.1 -> 192.0.2.80) + the given L4 bytes; the L4
 * checksum at l4[ck_off] is set right, then xor-ed with @p spoil. */
static size_t build_v4(uint8_t *out, uint8_t proto, const uint8_t *l4, size_t l4len,
                       size_t ck_off, uint16_t spoil)
{
    static const uint8_t src[4] = {10, 0, 0, 1}, dst[4] = {192, 0, 2, 80};
    memcpy(out, eth_v4, 14);
    uint8_t *ip = out + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + l4len));
    put16(ip + 4, 0x1234);
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    put16(ip + 10, ref_csum(ip, 20, 0));
    uint8_t *t = ip + 20;
    memcpy(t, l4, l4len);
    put16(t + ck_off, 0);
    uint32_t ps = proto == 1 ? 0 : pseudo_sum(src, dst, 4, proto, l4len);
    put16(t + ck_off, ref_csum(t, l4len, ps) ^ spoil);
    return 14 + 20 + l4len;
}

/* Ethernet + IPv6 (2001:db8::1 -> 2001:db8::2) + L4, as build_v4. */
static size_t build_v6(uint8_t *out, uint8_t proto, const uint8_t *l4, size_t l4len,
                       size_t ck_off, uint16_t spoil)
{
    static const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    memcpy(out, eth_v6, 14);
    uint8_t *ip = out + 14;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, (uint16_t)l4len);
    ip[6] = proto;
    ip[7] = 64;
    memcpy(ip + 8, src, 16);
    memcpy(ip + 24, dst, 16);
    uint8_t *t = ip + 40;
    memcpy(t, l4, l4len);
    put16(t + ck_off, 0);
    put16(t + ck_off, ref_csum(t, l4len, pseudo_sum(src, dst, 16, proto, l4len)) ^ spoil);
    return 14 + 40 + l4len;
}

static const uint8_t tcp_syn[20] = {0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
                                    0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
static const uint8_t udp_dgram[12] = {0x9c, 0x40, 0x1b, 0x58, 0x00, 0x0c, 0, 0, 'a', 'b', 'c', 'd'};
static const uint8_t icmp_echo[12] = {8, 0, 0, 0, 0x00, 0x07, 0x00, 0x01, 'p', 'i', 'n', 'g'};

/* Decode @p pkt, expecting exactly anomaly @p a (or none when a < 0). */
static void decode_expect(gh_packet *p, const uint8_t *pkt, size_t len, int a)
{
    gh_decode_opts o = {.verify_checksums = true};
    int rc = gh_decode(p, GH_LINK_ETHERNET, pkt, (uint32_t)len, &o);
    if (a < 0) {
        assert_int_equal(rc, 0);
        assert_int_equal(p->anomalies, 0);
    } else {
        assert_int_equal(rc, 1);
        assert_int_equal(p->anomalies, UINT64_C(1) << a);
    }
}

static void format_anomaly(gh_jbuf *b, const gh_packet *p, uint64_t id, gh_anomaly a)
{
    gh_pkt_in in = {.data = p->data, .caplen = p->caplen, .wirelen = p->caplen,
                    .ts_sec = 1278472580, .ts_nsec = 566743000,
                    .linktype = GH_LINK_ETHERNET, .id = id};
    b->len = 0;
    gh_eve_fmt_anomaly(b, &in, p, a);
    assert_false(b->oom);
    check_line(b->p, b->len);
    expect_str(b->p, "timestamp", "2010-07-07T03:16:20.566743+0000");
    expect_u64(b->p, "pcap_cnt", id);
    expect_str(b->p, "event_type", "anomaly");
    expect_str(b->p, "anomaly.type", "decode");
}

static void test_anomaly_event_tcp(void **state)
{
    (void)state;
    uint8_t pkt[128];
    gh_packet p;
    gh_jbuf b;
    gh_jbuf_init(&b);

    /* the builder makes a clean packet... */
    size_t len = build_v4(pkt, 6, tcp_syn, sizeof(tcp_syn), 16, 0);
    decode_expect(&p, pkt, len, -1);
    /* ...and with a spoiled TCP checksum, exactly tcp.csum_bad */
    len = build_v4(pkt, 6, tcp_syn, sizeof(tcp_syn), 16, 0x5555);
    decode_expect(&p, pkt, len, GH_ANOM_TCP_CSUM_BAD);
    format_anomaly(&b, &p, 42, GH_ANOM_TCP_CSUM_BAD);
    expect_str(b.p, "src_ip", "10.0.0.1");
    expect_u64(b.p, "src_port", 12345);
    expect_str(b.p, "dest_ip", "192.0.2.80");
    expect_u64(b.p, "dest_port", 80);
    expect_str(b.p, "proto", "TCP");
    expect_str(b.p, "anomaly.event", "decoder.tcp.csum_bad");
    expect_absent(b.p, "vlan");

    char path[64];
    temp_path(path, sizeof(path));
    write_file(path, b.p, b.len);
    python_validate(path);
    unlink(path);
    gh_jbuf_free(&b);
}

/* base64 by RFC 4648's test vectors; alert payload fields as Suricata
 * writes them */
static void test_alert_payload_fields(void **state)
{
    (void)state;
    static const char *const vec[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    gh_jbuf b;
    gh_jbuf_init(&b);
    for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
        b.len = 0;
        gh_jbuf_base64(&b, (const uint8_t *)vec[i][0], strlen(vec[i][0]));
        char want[32];
        snprintf(want, sizeof(want), "\"%s\"", vec[i][1]);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.p, want, b.len);
    }

    uint8_t pkt[128];
    gh_packet p;
    size_t len = build_v4(pkt, 6, tcp_syn, sizeof(tcp_syn), 16, 0);
    decode_expect(&p, pkt, len, -1);
    gh_pkt_in in = {.data = pkt, .caplen = (uint32_t)len, .wirelen = (uint32_t)len,
                    .ts_sec = 1278472580, .linktype = GH_LINK_ETHERNET, .id = 7};
    gh_eve_rule er = {.action = "alert", .sid = 5, .gid = 1, .msg = "m"};
    static const uint8_t data[] = {'G', 'O', 0x00, '"', '\n', 0xff, 'D'};
    gh_eve_alert_data x = {.pkt_src = "wire/pcap", .payload = data, .payload_len = sizeof(data),
                           .fields = GH_EVE_ALERT_PAYLOAD | GH_EVE_ALERT_PAYLOAD_PRINTABLE |
                                     GH_EVE_ALERT_PACKET};
    b.len = 0;
    gh_eve_fmt_alert_ex(&b, &in, &p, 99, &er, false, "", 3, &x);
    gh_jbuf_append(&b, "", 1);
    expect_str(b.p, "pkt_src", "wire/pcap");
    expect_str(b.p, "payload", "R08AIgr/RA==");
    expect_str(b.p, "payload_printable", "GO.\\\"\\n.D");
    expect_u64(b.p, "stream", 0);
    expect_u64(b.p, "packet_info.linktype", GH_LINK_ETHERNET);
    gh_jbuf want;
    gh_jbuf_init(&want);
    gh_jbuf_base64(&want, pkt, len);
    gh_jbuf_append(&want, "", 1);
    char got[512];
    json_get(b.p, "packet", got, sizeof(got));
    assert_string_equal(got, want.p);
    gh_jbuf_free(&want);

    /* a stream match, payload only; without fields only pkt_src is added */
    x.stream = true;
    x.fields = GH_EVE_ALERT_PAYLOAD;
    b.len = 0;
    gh_eve_fmt_alert_ex(&b, &in, &p, 99, &er, false, "", 3, &x);
    gh_jbuf_append(&b, "", 1);
    expect_u64(b.p, "stream", 1);
    expect_absent(b.p, "payload_printable");
    expect_absent(b.p, "packet");
    x.fields = 0;
    b.len = 0;
    gh_eve_fmt_alert_ex(&b, &in, &p, 99, &er, false, "", 3, &x);
    gh_jbuf_append(&b, "", 1);
    expect_str(b.p, "pkt_src", "wire/pcap");
    expect_absent(b.p, "payload");
    expect_absent(b.p, "stream");
    expect_absent(b.p, "alert.source");

    /* the target keyword: Suricata's "source" and "target", ends of the packet */
    char a[64], t[64];
    for (gh_target tg = GH_TARGET_SRC; tg <= GH_TARGET_DEST; tg++) {
        er.target = tg;
        b.len = 0;
        gh_eve_fmt_alert_ex(&b, &in, &p, 99, &er, false, "", 3, &x);
        gh_jbuf_append(&b, "", 1);
        json_get(b.p, tg == GH_TARGET_DEST ? "dest_ip" : "src_ip", a, sizeof(a));
        json_get(b.p, "alert.target.ip", t, sizeof(t));
        assert_string_equal(a, t);
        json_get(b.p, tg == GH_TARGET_DEST ? "src_ip" : "dest_ip", a, sizeof(a));
        json_get(b.p, "alert.source.ip", t, sizeof(t));
        assert_string_equal(a, t);
        expect_u64(b.p, "alert.target.port", tg == GH_TARGET_DEST ? p.dport : p.sport);
        expect_u64(b.p, "alert.source.port", tg == GH_TARGET_DEST ? p.sport : p.dport);
    }
    gh_jbuf_free(&b);
}

static void test_anomaly_event_udp6_icmp(void **state)
{
    (void)state;
    uint8_t pkt[128];
    gh_packet p;
    gh_jbuf b;
    gh_jbuf_init(&b);

    size_t len = build_v6(pkt, 17, udp_dgram, sizeof(udp_dgram), 6, 0);
    decode_expect(&p, pkt, len, -1);
    len = build_v6(pkt, 17, udp_dgram, sizeof(udp_dgram), 6, 0x0101);
    decode_expect(&p, pkt, len, GH_ANOM_UDP_CSUM_BAD);
    format_anomaly(&b, &p, 7, GH_ANOM_UDP_CSUM_BAD);
    expect_str(b.p, "src_ip", "2001:db8::1");
    expect_u64(b.p, "src_port", 40000);
    expect_str(b.p, "dest_ip", "2001:db8::2");
    expect_u64(b.p, "dest_port", 7000);
    expect_str(b.p, "proto", "UDP");
    expect_str(b.p, "anomaly.event", "decoder.udp.csum_bad");

    /* ICMP: no ports, type and code instead */
    len = build_v4(pkt, 1, icmp_echo, sizeof(icmp_echo), 2, 0);
    decode_expect(&p, pkt, len, -1);
    len = build_v4(pkt, 1, icmp_echo, sizeof(icmp_echo), 2, 0x8000);
    decode_expect(&p, pkt, len, GH_ANOM_ICMPV4_CSUM_BAD);
    format_anomaly(&b, &p, 1, GH_ANOM_ICMPV4_CSUM_BAD);
    expect_str(b.p, "src_ip", "10.0.0.1");
    expect_str(b.p, "proto", "ICMP");
    expect_absent(b.p, "src_port");
    expect_absent(b.p, "dest_port");
    expect_u64(b.p, "icmp_type", 8);
    expect_u64(b.p, "icmp_code", 0);
    expect_str(b.p, "anomaly.event", "decoder.icmpv4.csum_bad");

    /* no IP layer: no addresses at all */
    decode_expect(&p, pkt, 10, GH_ANOM_ETH_PKT_TOO_SMALL);
    format_anomaly(&b, &p, 3, GH_ANOM_ETH_PKT_TOO_SMALL);
    expect_absent(b.p, "src_ip");
    expect_absent(b.p, "proto");
    expect_str(b.p, "anomaly.event", "decoder.ethernet.pkt_too_small");
    gh_jbuf_free(&b);
}

/* ---- stats event -------------------------------------------------------- */

static void test_stats_event(void **state)
{
    (void)state;
    gh_counters c;
    memset(&c, 0, sizeof(c));
    c.pkts = 500;
    c.bytes = 123457;
    c.invalid = 7;
    c.max_pkt_size = 1514;
    uint64_t v = 1000;
    /* distinct values, so a counter printed under the wrong name shows */
#define SET_X(f, s) c.f = v++;
    GH_PROTO_COUNTER_LIST(SET_X)
#undef SET_X
    for (int a = 0; a < GH_ANOM_COUNT; a++)
        c.anomalies[a] = 5000 + (uint64_t)a;
    c.accepted = 11;
    c.dropped = 12;
    c.rejected = 13;
    c.linktype[0] = GH_LINK_ETHERNET;
    c.linktype_pkts[0] = 400;
    c.linktype[1] = GH_LINK_SLL2;
    c.linktype_pkts[1] = 60;
    c.linktype[2] = 4242;
    c.linktype_pkts[2] = 30;
    c.linktype_other = 10;

    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_eve_fmt_stats(&b, 1278472580, 566743000, &c, 42.4);
    assert_false(b.oom);
    check_line(b.p, b.len);
    expect_str(b.p, "timestamp", "2010-07-07T03:16:20.566743+0000");
    expect_str(b.p, "event_type", "stats");
    expect_u64(b.p, "stats.uptime", 42);
    expect_u64(b.p, "stats.decoder.pkts", 500);
    expect_u64(b.p, "stats.decoder.bytes", 123457);
    expect_u64(b.p, "stats.decoder.invalid", 7);
    expect_u64(b.p, "stats.decoder.avg_pkt_size", 123457 / 500);
    expect_u64(b.p, "stats.decoder.max_pkt_size", 1514);
    char path[160];
#define CHECK_X(f, s)                                                         \
    snprintf(path, sizeof(path), "stats.decoder.%s", s);                      \
    expect_u64(b.p, path, c.f);
    GH_PROTO_COUNTER_LIST(CHECK_X)
#undef CHECK_X
    /* every anomaly as stats.decoder.event.<layer>.<name> */
    for (int a = 0; a < GH_ANOM_COUNT; a++) {
        const char *name = gh_anomaly_name((gh_anomaly)a);
        assert_non_null(strchr(name, '.'));
        assert_null(strchr(strchr(name, '.') + 1, '.'));
        snprintf(path, sizeof(path), "stats.decoder.event.%s", name);
        expect_u64(b.p, path, 5000 + (uint64_t)a);
    }
    expect_u64(b.p, "stats.decoder.linktypes.ethernet", 400);
    expect_u64(b.p, "stats.decoder.linktypes.sll2", 60);
    expect_u64(b.p, "stats.decoder.linktypes.linktype_4242", 30);
    expect_u64(b.p, "stats.decoder.linktypes.other", 10);
    expect_u64(b.p, "stats.verdict.accepted", 11);
    expect_u64(b.p, "stats.verdict.dropped", 12);
    expect_u64(b.p, "stats.verdict.rejected", 13);

    char tmp[64];
    temp_path(tmp, sizeof(tmp));
    write_file(tmp, b.p, b.len);
    python_validate(tmp);
    unlink(tmp);

    /* all zero: still one valid line, no division by zero */
    memset(&c, 0, sizeof(c));
    b.len = 0;
    gh_eve_fmt_stats(&b, 0, 0, &c, 0.0);
    check_line(b.p, b.len);
    expect_u64(b.p, "stats.decoder.pkts", 0);
    expect_u64(b.p, "stats.decoder.avg_pkt_size", 0);
    expect_u64(b.p, "stats.decoder.event.tcp.csum_bad", 0);
    gh_jbuf_free(&b);
}

/* ---- the worker writing events ---------------------------------------------- */

typedef struct expect_ev {
    uint64_t id;
    char event[64];
} expect_ev;

typedef struct worker_run {
    uint64_t packets;
    expect_ev ev[256]; /* from the descriptors, in packet then bit order */
    size_t nev;
    gh_counters counters;
} worker_run;

/* Run @p file through a worker writing EVE to @p eve_path. */
static void run_worker(const char *file, const gh_engine_config *cfg, size_t batch,
                       const char *eve_path, worker_run *wr)
{
    memset(wr, 0, sizeof(*wr));
    gh_error err = {0};
    gh_eve *eve = gh_eve_open(eve_path, &err);
    if (!eve)
        fail_msg("gh_eve_open: %s", err.msg);
    gh_worker *w = gh_worker_new(cfg, eve, &err);
    assert_non_null(w);
    gh_source *s = gh_source_pcap_open(file, &err);
    if (!s)
        fail_msg("open %s: %s", file, err.msg);
    gh_pkt_in pkts[GH_MAX_BATCH];
    gh_verdict verdicts[GH_MAX_BATCH];
    size_t n;
    int rc;
    while ((rc = gh_source_read_batch(s, pkts, batch, &n, &err)) == GH_OK) {
        for (size_t i = 0; i < n; i++)
            verdicts[i] = (gh_verdict)99;
        assert_int_equal(gh_worker_process_batch(w, pkts, n, verdicts), GH_OK);
        const gh_packet *dp = gh_worker_last_packets(w);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(verdicts[i], GH_VERDICT_ACCEPT);
            assert_ptr_equal(dp[i].data, pkts[i].data);
            uint64_t m = dp[i].anomalies;
            while (m) {
                int a = __builtin_ctzll(m);
                m &= m - 1;
                assert_true(wr->nev < 256);
                wr->ev[wr->nev].id = pkts[i].id;
                snprintf(wr->ev[wr->nev].event, sizeof(wr->ev[0].event), "decoder.%s",
                         gh_anomaly_name((gh_anomaly)a));
                wr->nev++;
            }
        }
        wr->packets += n;
    }
    assert_int_equal(rc, GH_E_EOF);
    wr->counters = *gh_worker_counters(w);
    gh_source_close(s);
    gh_worker_free(w);
    assert_int_equal(gh_eve_close(eve, &err), GH_OK);
}

/* The EVE file holds one anomaly line per expected event, in order. */
static void check_eve_file(const char *path, const expect_ev *ev, size_t nev)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    size_t k = 0;
    while (fgets(line, sizeof(line), f)) {
        if (k >= nev)
            fail_msg("extra EVE line: %s", line);
        check_line(line, strlen(line));
        expect_str(line, "event_type", "anomaly");
        expect_u64(line, "pcap_cnt", ev[k].id);
        expect_str(line, "anomaly.event", ev[k].event);
        k++;
    }
    fclose(f);
    assert_int_equal(k, nev);
    python_validate(path);
}

static uint64_t sum_anomalies(const gh_counters *c)
{
    uint64_t s = 0;
    for (int a = 0; a < GH_ANOM_COUNT; a++)
        s += c->anomalies[a];
    return s;
}

static void test_worker_sample_pcap(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    assert_true(cfg.verify_checksums);
    assert_int_equal(cfg.eve_types, GH_EVE_TYPES_ALL);
    static worker_run wr;
    run_worker(DATA "sample.pcap", &cfg, GH_MAX_BATCH, path, &wr);
    assert_int_equal(wr.packets, 35);
    assert_int_equal(wr.counters.pkts, 35);
    assert_int_equal(wr.counters.accepted, 35);
    assert_int_equal(wr.counters.tcp, 35);
    assert_int_equal(wr.counters.ipv4, 35);
    /* one line per anomaly; this capture has none, so an empty file */
    assert_int_equal(wr.nev, sum_anomalies(&wr.counters));
    assert_int_equal(wr.counters.invalid, 0);
    check_eve_file(path, wr.ev, wr.nev);
    unlink(path);
}

/* anomalies.pcap: what make_samples.py put in it; packet 11 has two, in
 * the order of the anomaly list. */
static const expect_ev anomalies_all[] = {
    {2, "decoder.tcp.csum_bad"},       {3, "decoder.udp.csum_bad"},
    {4, "decoder.ipv4.csum_bad"},      {5, "decoder.icmpv4.csum_bad"},
    {7, "decoder.ipv4.trunc_pkt"},     {8, "decoder.tcp.hlen_too_small"},
    {9, "decoder.ethernet.pkt_too_small"}, {10, "decoder.udp.len_invalid"},
    {11, "decoder.ipv4.csum_bad"},     {11, "decoder.tcp.csum_bad"},
};
/* the ones that remain with checksums off */
static const expect_ev anomalies_nocsum[] = {
    {7, "decoder.ipv4.trunc_pkt"},     {8, "decoder.tcp.hlen_too_small"},
    {9, "decoder.ethernet.pkt_too_small"}, {10, "decoder.udp.len_invalid"},
};

static void test_worker_anomalies_pcap(void **state)
{
    (void)state;
    char path[64];
    temp_path(path, sizeof(path));
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    static worker_run wr;
    const size_t nall = sizeof(anomalies_all) / sizeof(anomalies_all[0]);

    static const size_t batches[] = {GH_MAX_BATCH, 3, 1};
    for (size_t bi = 0; bi < sizeof(batches) / sizeof(batches[0]); bi++) {
        run_worker(DATA "anomalies.pcap", &cfg, batches[bi], path, &wr);
        assert_int_equal(wr.packets, 11);
        assert_int_equal(wr.nev, nall);
        for (size_t i = 0; i < nall; i++) {
            assert_int_equal(wr.ev[i].id, anomalies_all[i].id);
            assert_string_equal(wr.ev[i].event, anomalies_all[i].event);
        }
        assert_int_equal(sum_anomalies(&wr.counters), nall);
        assert_int_equal(wr.counters.invalid, nall - 1);
        check_eve_file(path, anomalies_all, nall);
    }

    /* -k none: the checksum anomalies are neither counted nor written */
    cfg.verify_checksums = false;
    run_worker(DATA "anomalies.pcap", &cfg, GH_MAX_BATCH, path, &wr);
    assert_int_equal(wr.nev, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(wr.ev[i].id, anomalies_nocsum[i].id);
        assert_string_equal(wr.ev[i].event, anomalies_nocsum[i].event);
    }
    check_eve_file(path, anomalies_nocsum, 4);
    assert_int_equal(sum_anomalies(&wr.counters), 4);

    /* --no-anomaly-events: counted, not written */
    gh_engine_config_init(&cfg);
    cfg.eve_types &= ~(1u << GH_EVE_T_ANOMALY);
    run_worker(DATA "anomalies.pcap", &cfg, GH_MAX_BATCH, path, &wr);
    assert_int_equal(sum_anomalies(&wr.counters), nall);
    check_eve_file(path, NULL, 0);
    unlink(path);
}

/* --eve-types: names, lists, and the errors naming the bad token. */
static void test_eve_types(void **state)
{
    (void)state;
    for (unsigned t = 0; t < GH_EVE_T_COUNT; t++) {
        const char *name = gh_eve_type_name((gh_eve_type)t);
        gh_eve_type back;
        assert_non_null(name);
        assert_true(gh_eve_type_find(name, strlen(name), &back));
        assert_int_equal(back, t);
    }
    assert_null(gh_eve_type_name(GH_EVE_T_COUNT));
    gh_eve_type t;
    assert_false(gh_eve_type_find("dn", 2, &t));
    assert_false(gh_eve_type_find("dnsx", 4, &t));
    assert_false(gh_eve_type_find("DNS", 3, &t));

    gh_error err = {0};
    uint32_t m = 0;
    assert_int_equal(gh_eve_types_parse("alert,dns", &m, &err), GH_OK);
    assert_int_equal(m, 1u << GH_EVE_T_ALERT | 1u << GH_EVE_T_DNS);
    assert_int_equal(gh_eve_types_parse(" flow , stats\t,flow", &m, &err), GH_OK);
    assert_int_equal(m, 1u << GH_EVE_T_FLOW | 1u << GH_EVE_T_STATS);
    assert_int_equal(gh_eve_types_parse("alert,anomaly,drop,flow,packet,stats,http,dns,tls,"
                                        "smtp,ftp,ssh", &m, &err), GH_OK);
    assert_int_equal(m, GH_EVE_TYPES_ALL);
    static const struct {
        const char *list, *msg;
    } bad[] = {
        {"alert,fileinfo", "unknown event type 'fileinfo'"},
        {"smb", "unknown event type 'smb'"},
        {"Alert", "unknown event type 'Alert'"},
        {"alert,,dns", "empty event type in 'alert,,dns'"},
        {"dns,", "empty event type"},
        {"", "empty event type"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m = 7;
        assert_int_equal(gh_eve_types_parse(bad[i].list, &m, &err), GH_E_INVAL);
        assert_int_equal(m, 7); /* unchanged */
        if (!strstr(err.msg, bad[i].msg) || !strstr(err.msg, "known: alert, anomaly"))
            fail_msg("'%s': %s", bad[i].list, err.msg);
    }
}

static void test_eve_open_fails(void **state)
{
    (void)state;
    gh_error err = {0};
    assert_null(gh_eve_open("/nonexistent-dir-gh/eve.json", &err));
    assert_int_equal(err.code, GH_E_IO);
    assert_non_null(strstr(err.msg, "/nonexistent-dir-gh/eve.json"));
    assert_int_equal(gh_eve_close(NULL, &err), GH_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timestamp),
        cmocka_unit_test(test_json_str),
        cmocka_unit_test(test_writer_integers),
        cmocka_unit_test(test_writer_strings),
        cmocka_unit_test(test_writer_ip),
        cmocka_unit_test(test_writer_timestamp),
        cmocka_unit_test(test_anomaly_event_tcp),
        cmocka_unit_test(test_alert_payload_fields),
        cmocka_unit_test(test_anomaly_event_udp6_icmp),
        cmocka_unit_test(test_stats_event),
        cmocka_unit_test(test_worker_sample_pcap),
        cmocka_unit_test(test_worker_anomalies_pcap),
        cmocka_unit_test(test_eve_types),
        cmocka_unit_test(test_eve_open_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
