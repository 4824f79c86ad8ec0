/* byte_test, byte_jump, byte_extract, byte_math: a randomized differential
 * test of the real rule path (text -> gh_dpi_compile -> a packet) against a
 * deliberately naive reference written here, golden cases from Suricata's
 * unit tests and documentation, and the rules Suricata refuses. The seed
 * comes from GH_TEST_SEED (printed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gatehouse/dpi.h"
#include "gatehouse/rules.h"
#include "pktbuild.h"

/* 1: fires, 0: does not, -1: the rule did not load */
static int verdict(const char *opts, const uint8_t *pl, size_t len)
{
    char rule[1024];
    snprintf(rule, sizeof(rule), "alert udp any any -> any any (%s sid:1;)\n", opts);
    pb_rules L;
    pb_rules_load(&L, rule, NULL);
    int r = -1;
    if (L.rep.loaded == 1) {
        gh_packet p;
        memset(&p, 0, sizeof(p));
        p.ip_ver = 4;
        p.ip_proto = 17;
        p.ttl = 64;
        p.layers = GH_LAYER_IPV4 | GH_LAYER_UDP;
        p.src.b[0] = 10, p.dst.b[0] = 10, p.src.b[3] = 1, p.dst.b[3] = 2;
        p.sport = 1234;
        p.dport = 53;
        p.payload = pl;
        p.payload_len = (uint32_t)len;
        gh_dpi_match m[2];
        r = gh_dpi_match_packet(L.d, L.s, &p, NULL, pl, len, m, 2) == 1;
    }
    pb_rules_free(&L);
    return r;
}

static int verdict_s(const char *opts, const char *pl)
{
    return verdict(opts, (const uint8_t *)pl, strlen(pl));
}

/* ---- the naive reference ---------------------------------------------------- */

static int digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

/* C's strtoull on the n bytes at p, spelled out: blanks, a sign, a 0x
 * prefix (base 16 or 0), base 0's choice; false when no digit or overflow.
 * A NUL byte ends the string. */
static bool ref_strtoull(const uint8_t *p, int n, int base, uint64_t *out, int *used)
{
    int i = 0;
    while (i < n && p[i] && (p[i] == ' ' || (p[i] >= '\t' && p[i] <= '\r')))
        i++;
    bool neg = false;
    if (i < n && (p[i] == '+' || p[i] == '-'))
        neg = p[i++] == '-';
    if ((base == 0 || base == 16) && i + 1 < n && p[i] == '0' && (p[i + 1] | 32) == 'x' &&
        i + 2 < n && digit(p[i + 2]) < 16) {
        i += 2;
        base = 16;
    } else if (base == 0) {
        base = i < n && p[i] == '0' ? 8 : 10;
    }
    uint64_t v = 0;
    int start = i;
    bool over = false;
    while (i < n && p[i] && digit(p[i]) < base) {
        uint64_t nv = v * (uint64_t)base + (uint64_t)digit(p[i]);
        if (v > (UINT64_MAX - (uint64_t)digit(p[i])) / (uint64_t)base)
            over = true;
        v = nv;
        i++;
    }
    if (i == start || over)
        return false;
    *out = neg ? (uint64_t)0 - v : v;
    *used = i;
    return true;
}

typedef struct rkw {
    int nbytes, offset;
    bool rel, string, little;
    int base;             /* 0, 8, 10, 16 */
    bool mask;
    uint32_t bitmask;
    int op;               /* byte_test: 0 <, 1 >, 2 =, 3 &, 4 ^, 5 >=, 6 <= */
    bool neg;
    uint64_t value;
    int mult, post;       /* byte_jump */
    bool align, begin, end;
} rkw;

/* Read the bytes of @k at its offset from @p prev (relative) or 0. */
static bool ref_read(const rkw *k, const uint8_t *b, int L, int prev, uint64_t *v, int *pos,
                     int *used)
{
    if (L == 0)
        return false;
    int at = k->rel ? prev + k->offset : k->offset;
    if (k->rel && L - at <= 0)
        return false;
    if (at < 0 || at + k->nbytes > L)
        return false;
    *pos = at;
    if (k->string)
        return ref_strtoull(b + at, k->nbytes, k->base, v, used);
    uint64_t x = 0;
    for (int i = 0; i < k->nbytes; i++)
        x = k->little ? x | (uint64_t)b[at + i] << (8 * i) : x << 8 | b[at + i];
    *v = x;
    *used = k->nbytes;
    return true;
}

static bool ref_test(const rkw *k, const uint8_t *b, int L, int prev)
{
    uint64_t v;
    int pos, used;
    if (!ref_read(k, b, L, prev, &v, &pos, &used))
        return false;
    if (k->mask) {
        v &= k->bitmask;
        uint32_t m = k->bitmask;
        int sh = 0;
        while (m && !(m & 1))
            m >>= 1, sh++;
        v >>= sh;
    }
    bool r[] = {v < k->value, v > k->value, v == k->value, (v & k->value) != 0,
                (v ^ k->value) != 0, v >= k->value, v <= k->value};
    return r[k->op] != k->neg;
}

/* The position byte_jump leaves, or -1. */
static int ref_jump(const rkw *k, const uint8_t *b, int L, int prev)
{
    uint64_t v;
    int pos, used;
    if (!ref_read(k, b, L, prev, &v, &pos, &used))
        return -1;
    uint64_t m = v * (uint64_t)k->mult;
    if (k->align && m % 4)
        m += 4 - m % 4;
    m += (uint64_t)(int64_t)k->post;
    __int128 j = (int64_t)m;
    j += k->begin ? 0 : k->end ? L : pos + used;
    if (j > L)
        return -1;
    return j < 0 ? 0 : (int)j;
}

/* ---- the differential test ------------------------------------------------ */

static const char ops[][3] = {"<", ">", "=", "&", "^", ">=", "<="};
static const uint8_t alpha[] = "0123456789abcfxX -+Q\x00\xff\x07";

static void gen(uint64_t *st, rkw *k, bool jump)
{
    memset(k, 0, sizeof(*k));
    k->string = pb_rng(st) % 3 == 0;
    k->nbytes = k->string ? 1 + (int)(pb_rng(st) % 6) : 1 + (int)(pb_rng(st) % 8);
    k->offset = (int)(pb_rng(st) % 12) - 3;
    k->rel = pb_rng(st) % 2;
    if (!k->rel && k->offset < 0)
        k->offset = -k->offset;
    static const int bases[] = {0, 8, 10, 16};
    k->base = k->string ? bases[pb_rng(st) % 4] : 0;
    k->little = !k->string && pb_rng(st) % 2;
    if (jump) {
        k->mult = pb_rng(st) % 3 == 0 ? 1 + (int)(pb_rng(st) % 4) : 1;
        k->post = pb_rng(st) % 3 == 0 ? (int)(pb_rng(st) % 13) - 6 : 0;
        k->align = pb_rng(st) % 4 == 0;
        int f = (int)(pb_rng(st) % 5);
        k->begin = f == 0;
        k->end = f == 1;
        if (k->end || k->begin) /* keep jumps in range now and then */
            k->post = -(int)(pb_rng(st) % 12);
        return;
    }
    k->mask = pb_rng(st) % 4 == 0;
    k->bitmask = (uint32_t)pb_rng(st) & (pb_rng(st) % 2 ? 0xf0u : 0xffffu);
    k->op = (int)(pb_rng(st) % 7);
    k->neg = pb_rng(st) % 4 == 0;
    k->value = pb_rng(st) % 3 ? pb_rng(st) % 64 : pb_rng(st) % 70000;
}

static int fmt_opts(const rkw *k, char *o, size_t n)
{
    return snprintf(o, n, "%s%s%s%s%s", k->rel ? ",relative" : "", k->little ? ",little" : "",
                    k->string ? ",string" : "",
                    !k->string ? "" : k->base == 8 ? ",oct" : k->base == 10 ? ",dec"
                                    : k->base == 16 ? ",hex" : "",
                    "");
}

static void test_differential(void **state)
{
    (void)state;
    uint64_t st = pb_rng_seed("GH_TEST_SEED");
    unsigned iters = getenv("GH_BYTEKW_ITERS") ? (unsigned)atoi(getenv("GH_BYTEKW_ITERS"))
                                               : 20000;
    unsigned fired = 0, mism = 0;
    for (unsigned it = 0; it < iters; it++) {
        uint8_t b[32];
        int L = (int)(pb_rng(&st) % 24);
        for (int i = 0; i < L; i++)
            b[i] = alpha[pb_rng(&st) % (sizeof(alpha) - 1)];
        bool jump = pb_rng(&st) % 3 == 0;
        bool with_content = pb_rng(&st) % 4 != 0;
        rkw k;
        gen(&st, &k, jump);
        char opts[512], o[128];
        int n = 0;
        if (with_content)
            n += snprintf(opts + n, sizeof(opts) - (size_t)n, "content:\"Q\"; ");
        fmt_opts(&k, o, sizeof(o));
        uint8_t probe = alpha[pb_rng(&st) % 20];
        if (jump) {
            char mo[64] = "", po[64] = "";
            if (k.mult != 1)
                snprintf(mo, sizeof(mo), ",multiplier %d", k.mult);
            if (k.post)
                snprintf(po, sizeof(po), ",post_offset %d", k.post);
            n += snprintf(opts + n, sizeof(opts) - (size_t)n, "byte_jump:%d,%d%s%s%s%s%s%s;",
                          k.nbytes, k.offset, o, k.align ? ",align" : "",
                          k.begin ? ",from_beginning" : "", k.end ? ",from_end" : "", mo, po);
            /* observe the position: the byte there must be @probe */
            n += snprintf(opts + n, sizeof(opts) - (size_t)n,
                          " byte_test:1,=,%u,0,relative;", probe);
        } else {
            char mask[32] = "";
            if (k.mask)
                snprintf(mask, sizeof(mask), ",bitmask 0x%x", k.bitmask);
            n += snprintf(opts + n, sizeof(opts) - (size_t)n, "byte_test:%d,%s%s,%llu,%d%s%s;",
                          k.nbytes, k.neg ? "!" : "", ops[k.op], (unsigned long long)k.value,
                          k.offset, o, mask);
        }
        /* the reference: every occurrence of the content is a candidate
         * base (Suricata retries it when a relative keyword fails) */
        bool want = false;
        for (int q = with_content ? 0 : -1; q < L && !want; q++) {
            int prev = 0;
            if (with_content) {
                if (b[q] != 'Q')
                    continue;
                prev = q + 1;
            }
            if (jump) {
                int j = ref_jump(&k, b, L, prev);
                want = j >= 0 && j < L && b[j] == probe;
            } else {
                want = ref_test(&k, b, L, prev);
            }
            if (!with_content)
                break;
        }
        int got = verdict(opts, b, (size_t)L);
        fired += got == 1;
        if (got != (int)want) {
            if (++mism <= 10) {
                printf("mismatch: %s len %d got %d want %d:", opts, L, got, want);
                for (int i = 0; i < L; i++)
                    printf(" %02x", b[i]);
                printf("\n");
            }
        }
    }
    printf("differential: %u cases, %u fired, %u mismatches\n", iters, fired, mism);
    assert_int_equal(mism, 0);
}

/* ---- golden cases ------------------------------------------------------------ */

static void test_golden(void **state)
{
    (void)state;
    /* Suricata's documentation (payload-keywords.rst, byte_test) */
    const uint8_t two[] = {0x00, 0x02, 'A', 'B'};
    assert_int_equal(verdict("byte_test:2,=,2,0;", two, 4), 1);
    assert_int_equal(verdict("byte_test:2,=,512,0,little;", two, 4), 1);
    assert_int_equal(verdict("byte_test:2,!=,2,0;", two, 4), 0);
    assert_int_equal(verdict("byte_test:2,!,2,0;", two, 4), 0);
    /* DetectBytetestTestParse23/24: bitmask 0xf8 shifts right by 3 */
    const uint8_t m[] = {0x00, 0x00, 0x00, 0x20};
    assert_int_equal(verdict("byte_test:4,<,5,0,bitmask 0xf8;", m, 4), 1); /* 0x20>>3 = 4 */
    assert_int_equal(verdict("byte_test:4,=,4,0,bitmask 0xf8;", m, 4), 1);
    /* strings: dec, hex, oct and automatic (strtoull base 0) */
    assert_int_equal(verdict_s("byte_test:3,=,123,0,string,dec;", "123x"), 1);
    assert_int_equal(verdict_s("byte_test:2,=,255,0,string,hex;", "ff"), 1);
    assert_int_equal(verdict_s("byte_test:3,=,8,0,string,oct;", "010"), 1);
    assert_int_equal(verdict_s("byte_test:4,=,16,0,string;", "0x10"), 1);
    assert_int_equal(verdict_s("byte_test:3,>,0,0,string,dec;", "abc"), 0); /* no digit */
    /* relative to the previous content match */
    assert_int_equal(verdict_s("content:\"AB\"; byte_test:1,=,0x43,0,relative;", "xABCAB"), 1);
    assert_int_equal(verdict_s("content:\"AB\"; byte_test:1,=,0x44,0,relative;", "ABCABD"), 1);
    /* byte_jump (DetectBytejumpTestPacket style): 2-byte length then data */
    const uint8_t j[] = {'L', 0x00, 0x03, 'x', 'y', 'z', 'E', 'N', 'D'};
    assert_int_equal(verdict("content:\"L\"; byte_jump:2,0,relative; content:\"END\"; "
                             "within:3;", j, sizeof(j)), 1);
    assert_int_equal(verdict("content:\"L\"; byte_jump:2,0,relative,post_offset -1; "
                             "content:\"zEN\"; within:3;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_jump:1,1,from_beginning,post_offset 6; "
                             "content:\"END\"; within:3;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_jump:1,1,from_end,post_offset -4; "
                             "byte_test:1,=,0x7a,0,relative;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_jump:2,1,align; byte_test:1,=,0x78,0,relative;", j,
                             sizeof(j)), 0); /* 3 -> 4 from offset 3: 'N' */
    assert_int_equal(verdict("byte_jump:2,1,align; byte_test:1,=,0x4e,0,relative;", j,
                             sizeof(j)), 1);
    assert_int_equal(verdict("byte_jump:2,1,multiplier 2; isdataat:!1,relative;", j,
                             sizeof(j)), 1); /* 3 + 2*3 = 9: the end */
    /* byte_extract variables in content, isdataat and byte_test */
    assert_int_equal(verdict("byte_extract:2,1,len; content:\"xyz\"; offset:len; depth:3;", j,
                             sizeof(j)), 1);
    assert_int_equal(verdict("byte_extract:2,1,len; content:\"xyz\"; offset:len; depth:2;", j,
                             sizeof(j)), 0);
    assert_int_equal(verdict("byte_extract:2,1,len,relative; content:\"END\"; distance:len;",
                             j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_extract:2,1,len; content:\"END\"; distance:len;", j,
                             sizeof(j)), 1);
    assert_int_equal(verdict("byte_extract:2,1,len; isdataat:len,relative;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_extract:2,1,len; byte_test:1,=,len,2;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_extract:1,0,c; byte_test:1,>,c,1;", j, sizeof(j)), 0);
    /* byte_math: (3 + 3) stored, then used as an absolute offset */
    assert_int_equal(verdict("byte_math:bytes 2, offset 1, oper +, rvalue 3, result r; "
                             "byte_test:1,=,0x45,r;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_math:bytes 2, offset 1, oper <<, rvalue 1, result r; "
                             "byte_test:1,=,0x45,r;", j, sizeof(j)), 1);
    assert_int_equal(verdict("byte_math:bytes 2, offset 1, oper /, rvalue 0, result r; "
                             "byte_test:1,>,0,0;", j, sizeof(j)), 0);
    /* Suricata accepts 5..10 bytes without string but its match refuses them */
    assert_int_equal(verdict("byte_math:bytes 5, offset 0, oper +, rvalue 0, result r;", j,
                             sizeof(j)), 0);
    /* no content: verified without a fast pattern */
    assert_int_equal(verdict_s("byte_test:1,=,65,0;", "A"), 1);
    assert_int_equal(verdict_s("byte_test:1,=,65,0;", ""), 0);
}

/* Rules Suricata 7 refuses: errors at load, and gatehouse check fails. */
static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "byte_test:9,=,1,0;",                      /* more than 8 without string */
        "byte_test:24,=,1,0,string;",              /* more than 23 with string */
        "byte_test:2,=,1,0,hex;",                  /* a base without string */
        "byte_test:2,=>,1,0;",                     /* invalid operator */
        "byte_test:2,=,1;",                        /* offset missing */
        "byte_test:2,=,1,0,relative,foo;",         /* unknown option */
        "byte_test:2,=,1,0,dce,little;",           /* dce with an endianness */
        "byte_test:2,=,x,0;",                      /* unknown variable */
        "byte_jump:9,0;",
        "byte_jump:2,70000;",                      /* offset beyond 65535 */
        "byte_jump:2,0,from_beginning,from_end;",
        "byte_jump:2,0,multiplier 0;",
        "byte_jump:2,0,post_offset 70000;",
        "byte_jump:2,0,oct;",
        "byte_extract:9,0,x;",
        "byte_extract:21,0,x,string,dec;",
        "byte_extract:15,0,x,string,hex;",
        "byte_extract:2,0,x,hex,string;",          /* base before string */
        "byte_extract:2,0,x,string,little;",
        "byte_extract:2,0,x,align 3;",
        "byte_extract:2,0,x,relative,relative;",
        "byte_extract:2,0,x; content:\"a\"; offset:y;", /* unknown variable */
        "byte_math:bytes 2, offset 0, oper +, rvalue 1;", /* no result */
        "byte_math:bytes 11, offset 0, oper +, rvalue 1, result r;",
        "byte_math:bytes 5, offset 0, oper <<, rvalue 1, result r;",
        "byte_math:bytes 2, offset 0, oper %, rvalue 1, result r;",
        "byte_math:bytes 2, offset 0, oper +, rvalue 1, result r, dce;",
        "byte_math:bytes 2, offset 0, oper +, rvalue 1, result r, foo 1;",
        "byte_math:bytes 2, offset 0, oper +, rvalue 1, result r, bitmask zz;",
        "http.uri; byte_math:bytes 2, offset 0, oper +, rvalue 1, result r, relative;",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char rule[512];
        snprintf(rule, sizeof(rule), "alert tcp any any -> any any (%s sid:1;)\n", bad[i]);
        pb_rules L;
        pb_rules_load(&L, rule, NULL);
        if (L.nerrs + L.check_errors == 0)
            printf("accepted: %s\n", bad[i]);
        assert_true(L.nerrs + L.check_errors > 0);
        assert_int_equal(L.rep.loaded, 0);
        pb_rules_free(&L);
    }
    /* and what it accepts, with an error position on the token */
    pb_rules L;
    pb_rules_load(&L,
                  "alert tcp any any -> any any (byte_test:2, =, 1, 0, relative, foo; sid:1;)\n",
                  NULL);
    assert_int_equal(L.nerrs, 1);
    assert_int_equal(L.errs[0].loc.col, 30 + 10 + 23);
    pb_rules_free(&L);
    static const char *const good[] = {
        "byte_test:2,!=,1,0;", "byte_test:2,!,1,0;", "byte_test: 4 , >= , 0x10 , -2 , relative;",
        "byte_test:23,<,1,0,string,oct;", "byte_test:0,=,0,0;", "byte_jump:0,0;",
        "byte_jump:4,0,relative,little,align,multiplier 4,post_offset -4;",
        "byte_extract:4,0,x,multiplier 2,align 4; byte_jump:x,0;",
        "byte_extract:20,0,x,string,dec;", "byte_extract:0,0,x;",
        "byte_math:bytes 10, offset 0, oper +, rvalue 1, result r, string hex;",
        "byte_math:bytes 2,offset -4,oper >>,rvalue 70,result r,endian little,bitmask 0x0f;",
        "byte_extract:1,0,n; byte_math:bytes n, offset 0, oper -, rvalue n, result r;",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char rule[512];
        snprintf(rule, sizeof(rule), "alert tcp any any -> any any (%s sid:1;)\n", good[i]);
        pb_rules_load(&L, rule, NULL);
        for (size_t e = 0; e < L.nerrs; e++)
            printf("%s: %s\n", good[i], L.errs[e].message);
        assert_int_equal(L.nerrs + L.check_errors, 0);
        assert_int_equal(L.rep.loaded, 1);
        pb_rules_free(&L);
    }
    /* dce needs DCERPC, which gatehouse does not parse: skipped, not an error */
    pb_rules_load(&L, "alert tcp any any -> any any (byte_test:2,=,1,0,dce; sid:1;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.skipped_unsupported, 1);
    pb_rules_free(&L);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
