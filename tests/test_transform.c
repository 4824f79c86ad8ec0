/* Buffer transforms: each on Suricata 7.0's own unit-test inputs
 * (detect-transform-*.c, tests/detect-transform-*.c), the digests on the
 * RFC 1321 / FIPS 180 vectors, pcrexform and xor, chains, the output cap,
 * and parse errors in Suricata's wording (checked against suricata -T). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "detect/transform.h"

#define CAP 4096

/* ---- helpers --------------------------------------------------------------- */

static gh_xform parse_ok(const char *name, const char *value)
{
    gh_xform x;
    char err[256] = "";
    int rc = gh_xform_parse(name, value, &x, err, sizeof(err));
    if (rc != 0)
        printf("%s: %s\n", name, err);
    assert_int_equal(rc, 0);
    return x;
}

static void parse_err(const char *name, const char *value, const char *msg)
{
    gh_xform x;
    char err[256] = "";
    assert_int_equal(gh_xform_parse(name, value, &x, err, sizeof(err)), -1);
    assert_string_equal(err, msg);
    assert_null(x.re);
    assert_null(x.key);
}

/* Apply transform @name (value @value) to the string @in with room for
 * @cap bytes; the result must be @want_len bytes equal to @want. */
static void check_cap(const char *name, const char *value, const char *in, size_t n, size_t cap,
                      const void *want, size_t want_len)
{
    gh_xform x = parse_ok(name, value);
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    assert_non_null(md);
    static uint8_t out[CAP];
    assert_true(cap <= sizeof(out));
    memset(out, 0xee, sizeof(out));
    size_t got = gh_xform_apply(&x, (const uint8_t *)in, n, out, cap, md);
    assert_int_equal(got, want_len);
    assert_memory_equal(out, want, want_len);
    if (cap < sizeof(out))
        assert_int_equal(out[cap], 0xee); /* nothing written past the cap */
    pcre2_match_data_free(md);
    gh_xform_free(&x);
}

static void check(const char *name, const char *value, const char *in, const char *want)
{
    check_cap(name, value, in, strlen(in), CAP, want, strlen(want));
}

static void unhex(const char *hex, uint8_t *out, size_t *n)
{
    size_t len = strlen(hex) / 2;
    for (size_t i = 0; i < len; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    *n = len;
}

/* @name of @in (@n bytes) is the digest @hex. */
static void check_digest(const char *name, const void *in, size_t n, const char *hex)
{
    uint8_t want[32];
    size_t wl;
    unhex(hex, want, &wl);
    check_cap(name, NULL, in, n, CAP, want, wl);
}

/* ---- Suricata's unit-test inputs ------------------------------------------ */

static void test_dotprefix(void **state)
{
    (void)state;
    /* DetectTransformDotPrefixTest01/02 */
    check("dotprefix", NULL, "example.com", ".example.com");
    check("dotprefix", NULL, "hello.example.com", ".hello.example.com");
    /* TransformDotPrefix leaves an empty buffer empty */
    check("dotprefix", NULL, "", "");
}

static void test_case(void **state)
{
    (void)state;
    check("to_lowercase", NULL, "GET /Index.HTML HTTP/1.1", "get /index.html http/1.1");
    check("to_uppercase", NULL, "get /index.html http/1.1", "GET /INDEX.HTML HTTP/1.1");
    /* ASCII only: bytes >= 0x80 pass unchanged */
    check("to_lowercase", NULL, "\xc3\x89T\xc3\xa9", "\xc3\x89t\xc3\xa9");
    check("to_uppercase", NULL, "\xc3\xa9t\xc3\x89", "\xc3\xa9T\xc3\x89");
}

static void test_strip_whitespace(void **state)
{
    (void)state;
    /* DetectTransformStripWhitespaceTest01/02 (02 doubles every whitespace twice) */
    check("strip_whitespace", NULL, " A B C D ", "ABCD");
    check("strip_whitespace", NULL, "    A    B    C    D    ", "ABCD");
    /* isspace: \t \n \v \f \r and space; not NUL, not 0xa0 */
    check_cap("strip_whitespace", NULL, "a\t\n\v\f\r b\0c\xa0", 11, CAP, "ab\0c\xa0", 5);
}

static void test_compress_whitespace(void **state)
{
    (void)state;
    /* DetectTransformCompressWhitespaceTest01/02 */
    check("compress_whitespace", NULL, " A B C D ", " A B C D ");
    check("compress_whitespace", NULL, "    A    B    C    D    ", " A B C D ");
    /* a run keeps its first character, not a space */
    check("compress_whitespace", NULL, "a\t \nb\r\n\r\nc  ", "a\tb\rc ");
}

static void test_url_decode(void **state)
{
    (void)state;
    /* DetectTransformUrlDecodeTest01: %XX and '+'; a bad or cut-short '%' stays */
    check("url_decode", NULL, "Suricata%20is+%27%61wesome%21%27%25%30%30%ZZ%4",
          "Suricata is 'awesome!'%00%ZZ%4");
    check_cap("url_decode", NULL, "a%00b%fF%Fe", 11, CAP, "a\0b\xff\xfe", 5);
    /* no %u decoding; decoded bytes are not decoded again */
    check("url_decode", NULL, "%u0041%2541%", "%u0041%41%");
    check("url_decode", NULL, "mail=test%40oisf.net", "mail=test@oisf.net");
}

static void test_header_lowercase(void **state)
{
    (void)state;
    check("header_lowercase", NULL, "Content-Type: Text/HTML\r\nX-Foo: BAR: Baz\r\nHOST:A\r\n",
          "content-type: Text/HTML\r\nx-foo: BAR: Baz\r\nhost:A\r\n");
    /* a line without ':' is all name */
    check("header_lowercase", NULL, "ABC\nDef: GHI", "abc\ndef: GHI");
}

static void test_strip_pseudo_headers(void **state)
{
    (void)state;
    check("strip_pseudo_headers", NULL,
          ":method: GET\r\n:path: /\r\nUser-Agent: x\r\n:authority: a\r\nAccept: */*\r\n",
          "User-Agent: x\r\nAccept: */*\r\n");
    /* blank lines before a line are kept; a ':' inside a line is not a pseudo-header */
    check("strip_pseudo_headers", NULL, "\r\n\r\n:scheme: https\nhost: a:b\n:last",
          "\r\n\r\nhost: a:b\n");
}

/* ---- digests ---------------------------------------------------------------- */

static void test_md5(void **state)
{
    (void)state;
    /* RFC 1321 appendix A.5 */
    check_digest("to_md5", "", 0, "d41d8cd98f00b204e9800998ecf8427e");
    check_digest("to_md5", "a", 1, "0cc175b9c0f1b6a831c399e269772661");
    check_digest("to_md5", "abc", 3, "900150983cd24fb0d6963f7d28e17f72");
    check_digest("to_md5", "message digest", 14, "f96b697d7cb7938d525a2f31aaf161d0");
    check_digest("to_md5", "abcdefghijklmnopqrstuvwxyz", 26, "c3fcd3d76192e4007dfb496cca67e13b");
    const char *digits = "1234567890123456789012345678901234567890"
                         "1234567890123456789012345678901234567890";
    check_digest("to_md5", digits, 80, "57edf4a22be3c955ac49da2e2107b67a");
    /* DetectTransformToMd5Test01's input */
    check_digest("to_md5", " A B C D ", 9, "e059f830436958b645828cc233c24713");
}

static void test_sha1(void **state)
{
    (void)state;
    /* FIPS 180 examples */
    check_digest("to_sha1", "", 0, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    check_digest("to_sha1", "abc", 3, "a9993e364706816aba3e25717850c26c9cd0d89d");
    check_digest("to_sha1", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                 "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    check_digest("to_sha1", " A B C D ", 9, "c8dc4497f7e055f86b889052082c0c7bdcc9c889");
}

static void test_sha256(void **state)
{
    (void)state;
    check_digest("to_sha256", "", 0,
                 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    check_digest("to_sha256", "abc", 3,
                 "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    check_digest("to_sha256", "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56,
                 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    check_digest("to_sha256", " A B C D ", 9,
                 "d6bf7d8d6953024d0d845c999bae93ccac68eaab9ac977d0fd306af59a3de43a");
    /* one million 'a' */
    char *m = malloc(1000000);
    assert_non_null(m);
    memset(m, 'a', 1000000);
    check_digest("to_sha256", m, 1000000,
                 "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    check_digest("to_sha1", m, 1000000, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
    free(m);
}

/* Every length 0..129 (one and two padding blocks, block boundaries) of
 * each digest, folded into one SHA-256; the expected value comes from
 * Python's hashlib over the same bytes. */
static void test_digest_lengths(void **state)
{
    (void)state;
    gh_xform h[3] = {parse_ok("to_md5", NULL), parse_ok("to_sha1", NULL),
                     parse_ok("to_sha256", NULL)};
    static uint8_t acc[130 * 68];
    size_t an = 0;
    uint8_t data[130];
    for (size_t len = 0; len < 130; len++) {
        for (size_t i = 0; i < len; i++)
            data[i] = (uint8_t)(i * 7 + len);
        for (int k = 0; k < 3; k++)
            an += gh_xform_apply(&h[k], data, len, acc + an, sizeof(acc) - an, NULL);
    }
    assert_int_equal(an, sizeof(acc));
    uint8_t d[32], want[32];
    size_t wl;
    assert_int_equal(gh_xform_apply(&h[2], acc, an, d, sizeof(d), NULL), 32);
    unhex("102619f84ac5e908f4e4cebae08ab4b0ae638c9a526caa14605c51d1da130bc5", want, &wl);
    assert_memory_equal(d, want, 32);
}

/* ---- pcrexform and xor ---------------------------------------------------- */

static void test_pcrexform(void **state)
{
    (void)state;
    /* DetectTransformPcrexformParseTest02's expression on its request line */
    check("pcrexform", "\"[a-zA-Z]+\\s+(.*)\\s+HTTP\"", "GET /z4d4kWk.jpg HTTP/1.1",
          "/z4d4kWk.jpg");
    /* no match, or group 1 unset: the buffer passes unchanged */
    check("pcrexform", "\"^POST (.*)\"", "GET / HTTP/1.1", "GET / HTTP/1.1");
    check("pcrexform", "\"(x)?abc\"", "abc", "abc");
    /* an empty capture empties the buffer */
    check("pcrexform", "\"a()b\"", "ab", "");
    /* blanks around the quotes are Suricata's to drop */
    check("pcrexform", "  \"b(.)\"  ", "abcd", "c");
}

/* Suricata's match limit (3500) holds without a match context: the
 * runaway expression gives up and the buffer passes unchanged. */
static void test_pcrexform_limit(void **state)
{
    (void)state;
    gh_xform x = parse_ok("pcrexform", "\"^(a+)+$\"");
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    const char *in = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab";
    assert_int_equal(pcre2_match(x.re, (PCRE2_SPTR)in, strlen(in), 0, 0, md, NULL),
                     PCRE2_ERROR_MATCHLIMIT);
    uint8_t out[64];
    assert_int_equal(gh_xform_apply(&x, (const uint8_t *)in, strlen(in), out, sizeof(out), md),
                     strlen(in));
    assert_memory_equal(out, in, strlen(in));
    pcre2_match_data_free(md);
    gh_xform_free(&x);
}

static void test_xor(void **state)
{
    (void)state;
    /* DetectTransformXorParseTest02's key, either case */
    gh_xform x = parse_ok("xor", "\"0a0DC8ff\"");
    assert_int_equal(x.key_len, 4);
    assert_memory_equal(x.key, "\x0a\x0d\xc8\xff", 4);
    gh_xform_free(&x);
    assert_null(x.key);

    uint8_t want[64];
    size_t wl;
    unhex("4a4f9cdf2270fc9b39619f942360b8982d429cab5d25f9d13c", want, &wl);
    check_cap("xor", "\"0d0ac8ff\"", "GET /z4d4kWk.jpg HTTP/1.1", 25, CAP, want, wl);
    /* xor twice is the identity */
    check_cap("xor", "\"0d0ac8ff\"", (const char *)want, wl, CAP, "GET /z4d4kWk.jpg HTTP/1.1", 25);
    check_cap("xor", "\"ff\"", "\x00\x0f\xf0", 3, CAP, "\xff\xf0\x0f", 3);
}

/* ---- chains and the cap ------------------------------------------------------ */

static void test_chain(void **state)
{
    (void)state;
    static uint8_t a[CAP], b[CAP];
    const uint8_t *res;
    const uint8_t in[] = "WWW.Example.COM";

    gh_xform two[2] = {parse_ok("dotprefix", NULL), parse_ok("to_lowercase", NULL)};
    size_t n = gh_xform_chain(two, 2, in, 15, a, b, CAP, NULL, &res);
    assert_ptr_equal(res, b);
    assert_int_equal(n, 16);
    assert_memory_equal(res, ".www.example.com", 16);

    n = gh_xform_chain(two, 0, in, 15, a, b, CAP, NULL, &res);
    assert_ptr_equal(res, in);
    assert_int_equal(n, 15);

    /* each step reads the other buffer: pcrexform, strip_whitespace, to_md5 */
    pcre2_match_data *md = pcre2_match_data_create(2, NULL);
    gh_xform three[3] = {parse_ok("pcrexform", "\"^[A-Z]+ (.*) HTTP\""),
                         parse_ok("strip_whitespace", NULL), parse_ok("to_md5", NULL)};
    const char *line = "GET  A B C D  HTTP/1.1";
    n = gh_xform_chain(three, 3, (const uint8_t *)line, strlen(line), a, b, CAP, md, &res);
    assert_ptr_equal(res, a);
    uint8_t want[16];
    size_t wl;
    unhex("cb08ca4a7bb5f9683c19133a84872ca7", want, &wl); /* md5("ABCD") */
    assert_int_equal(n, 16);
    assert_memory_equal(res, want, 16);
    for (int i = 0; i < 3; i++)
        gh_xform_free(&three[i]);
    pcre2_match_data_free(md);
    gh_xform_free(&two[0]);
    gh_xform_free(&two[1]);
}

static void test_cap(void **state)
{
    (void)state;
    check_cap("dotprefix", NULL, "example.com", 11, 4, ".exa", 4);
    check_cap("dotprefix", NULL, "example.com", 11, 1, ".", 1);
    check_cap("dotprefix", NULL, "example.com", 11, 0, "", 0);
    check_cap("to_uppercase", NULL, "abcdef", 6, 3, "ABC", 3);
    check_cap("strip_whitespace", NULL, " a b c d", 8, 2, "ab", 2);
    check_cap("compress_whitespace", NULL, "a  b  c", 7, 3, "a b", 3);
    check_cap("url_decode", NULL, "%41%42%43", 9, 2, "AB", 2);
    check_cap("strip_pseudo_headers", NULL, ":a: b\nx: y\n", 11, 3, "x: ", 3);
    check_cap("header_lowercase", NULL, "A: B", 4, 2, "a:", 2);
    check_cap("xor", "\"01\"", "abc", 3, 1, "`", 1);
    check_cap("to_sha256", NULL, "abc", 3, 4, "\xba\x78\x16\xbf", 4);
    check_cap("pcrexform", "\"(b+)\"", "abbbbc", 6, 2, "bb", 2);
    /* a chain caps every step */
    static uint8_t a[8], b[8];
    const uint8_t *res;
    gh_xform x[2] = {parse_ok("to_lowercase", NULL), parse_ok("dotprefix", NULL)};
    size_t n = gh_xform_chain(x, 2, (const uint8_t *)"ABCDEFGHIJ", 10, a, b, 8, NULL, &res);
    assert_int_equal(n, 8);
    assert_memory_equal(res, ".abcdefg", 8);
}

/* ---- parsing ------------------------------------------------------------------ */

static void test_parse(void **state)
{
    (void)state;
    assert_true(gh_xform_is("dotprefix"));
    assert_true(gh_xform_is("TO_LOWERCASE"));
    assert_true(gh_xform_is("strip_pseudo_headers"));
    /* Suricata 8's transforms are not 7.0's */
    assert_false(gh_xform_is("from_base64"));
    assert_false(gh_xform_is("domain"));
    assert_false(gh_xform_is("content"));

    gh_xform x = parse_ok("To_Sha256", NULL);
    assert_int_equal(x.kind, GH_XF_TO_SHA256);
    gh_xform_free(&x);
    gh_xform_free(NULL);

    parse_err("from_base64", NULL, "unknown rule keyword 'from_base64'.");
    parse_err("dotprefix", "x", "unexpected option to dotprefix keyword: 'x'");
    parse_err("to_md5", "\"x\"", "unexpected option to to_md5 keyword: '\"x\"'");
    /* xor (DetectTransformXorParseTest01 is "nohexa") */
    parse_err("xor", "\"nohexa\"", "XOR transform key must be hexadecimal characters only");
    parse_err("xor", "\"0a0\"", "XOR transform key's length must be an even number");
    parse_err("xor", NULL, "invalid formatting or malformed option to xor keyword: 'xor'");
    parse_err("xor", "0a0d",
              "invalid formatting to xor keyword: value must be double quoted '0a0d'");
    parse_err("xor", "\"\"", "bad input for keyword xor: '\"\"'");
    parse_err("xor", "\"0a0d",
              "bad option value formatting (possible missing semicolon) for keyword xor: '\"0a0d'");
    parse_err("xor", "\"", "XOR transform key's length must be an even number");
    char big[2 * 256 + 3];
    big[0] = '"';
    memset(big + 1, 'a', 512);
    strcpy(big + 513, "\"");
    parse_err("xor", big, "Key length too big for XOR transform");
    big[511] = '"';
    big[512] = '\0';
    x = parse_ok("xor", big); /* 255 bytes is the most */
    assert_int_equal(x.key_len, 255);
    gh_xform_free(&x);
    /* pcrexform (DetectTransformPcrexformParseTest01 and 03) */
    parse_err("pcrexform", "\"[\"",
              "pcre2 compile of \"[\" failed at offset 1: missing terminating ] for character "
              "class");
    parse_err("pcrexform", "\"No-match\"", "pcrexform needs exactly one substring capture, found 0");
    parse_err("pcrexform", "\"(a)(b)\"", "pcrexform needs exactly one substring capture, found 2");
    parse_err("pcrexform", "\"(?:a)b\"", "pcrexform needs exactly one substring capture, found 0");
    parse_err("pcrexform", "a(b)",
              "invalid formatting to pcrexform keyword: value must be double quoted 'a(b)'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dotprefix),
        cmocka_unit_test(test_case),
        cmocka_unit_test(test_strip_whitespace),
        cmocka_unit_test(test_compress_whitespace),
        cmocka_unit_test(test_url_decode),
        cmocka_unit_test(test_header_lowercase),
        cmocka_unit_test(test_strip_pseudo_headers),
        cmocka_unit_test(test_md5),
        cmocka_unit_test(test_sha1),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_digest_lengths),
        cmocka_unit_test(test_pcrexform),
        cmocka_unit_test(test_pcrexform_limit),
        cmocka_unit_test(test_xor),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
