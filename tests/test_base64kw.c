/* base64_decode and base64_data: golden cases from Suricata's unit tests
 * (detect-base64-decode.c, detect-base64-data.c, util-base64.c), the
 * RFC 4648 decoder's edge cases (invalid characters, padding, partial
 * blocks), the keyword semantics (terminal list, no match without
 * base64_data) and the rules Suricata refuses. */
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

/* 1: fires on a UDP packet with payload @p pl, 0: does not, -1: not loaded */
static int verdict(const char *opts, const char *pl)
{
    char rule[2048];
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
        p.payload = (const uint8_t *)pl;
        p.payload_len = (uint32_t)strlen(pl);
        gh_dpi_match m[2];
        r = gh_dpi_match_packet(L.d, L.s, &p, NULL, p.payload, p.payload_len, m, 2) == 1;
    }
    pb_rules_free(&L);
    return r;
}

/* Whether base64_decode:@p args over @p src yields exactly @p n bytes @p want
 * (0 bytes: the keyword does not match). */
static void decodes_to(const char *args, const char *src, const char *want, size_t n)
{
    char opts[1024];
    int o = snprintf(opts, sizeof(opts), "base64_decode%s%s; base64_data; ", *args ? ":" : "",
                     args);
    if (n == 0) {
        snprintf(opts + o, sizeof(opts) - (size_t)o, "isdataat:!0;");
        /* nothing decoded: not even a negated keyword can match */
        assert_int_equal(verdict(opts, src), 0);
        return;
    }
    o += snprintf(opts + o, sizeof(opts) - (size_t)o, "content:\"|");
    for (size_t i = 0; i < n; i++)
        o += snprintf(opts + o, sizeof(opts) - (size_t)o, "%02x ", (uint8_t)want[i]);
    snprintf(opts + o, sizeof(opts) - (size_t)o, "|\"; startswith; endswith;");
    if (verdict(opts, src) != 1)
        printf("base64_decode:%s over \"%s\" does not give %zu bytes\n", args, src, n);
    assert_int_equal(verdict(opts, src), 1);
}

#define DECODES(args, src, want) decodes_to((args), (src), (want), sizeof(want) - 1)

static void test_decoder(void **state)
{
    (void)state;
    /* util-base64.c B64TestVectorsRFC4648 */
    DECODES("", "", "");
    DECODES("", "Zg==", "f");
    DECODES("", "Zm8=", "fo");
    DECODES("", "Zm9v", "foo");
    DECODES("", "Zm9vYg==", "foob");
    DECODES("", "Zm9vYmE=", "fooba");
    DECODES("", "Zm9vYmFy", "foobar");
    DECODES("", "Zm 9v Ym Fy", "f");
    DECODES("", "Zm$9vYm.Fy", "f");
    DECODES("", "Y21Wd2IzSjBaVzFoYVd4bWNtRjFaRUJoZEc4dVoyOTJMbUYxOmpqcHh4b3Rhb2w%3D",
            "cmVwb3J0ZW1haWxmcmF1ZEBhdG8uZ292LmF1:jjpxxotaol");
    /* partial last block: its length - 1 bytes; after an invalid byte 1 or 2 */
    DECODES("", "Zm9vYg", "foob");
    DECODES("", "Zm9vYmE", "fooba");
    DECODES("", "Zm9vY", "foo");
    DECODES("", "Zm9vY$", "foo`");
    DECODES("", "Zm9vYm$", "foob");
    DECODES("", "Zm9vYmE$", "fooba");
    /* '=' pads its own block only, decoding goes on after it */
    DECODES("", "Zg==Zm9v", "ffoo");
    DECODES("", "Z=g=", "d");
    DECODES("", "====", "");
    DECODES("", "Zg=", "f\0");
    DECODES("", "Zg=$", "f\0");
    DECODES("", "$Zm9v", "");
    DECODES("", "SGVsbG8gV29ybGQ=", "Hello World");
    /* bytes and offset cut the input */
    DECODES("bytes 4", "SGVsbG8gV29ybGQ=", "Hel");
    DECODES("bytes 6", "SGVsbG8gV29ybGQ=", "Hell");
    DECODES("bytes 1", "SGVsbG8gV29ybGQ=", "");
    DECODES("offset 4", "SGVsbG8gV29ybGQ=", "lo World");
    DECODES("offset 16", "SGVsbG8gV29ybGQ=", "");
    DECODES("bytes 0", "SGVsbG8gV29ybGQ=", "Hello World");
}

static void test_keywords(void **state)
{
    (void)state;
    const char *hw = "SGVsbG8gV29ybGQ=", *ahw = "aaaaaaaaSGVsbG8gV29ybGQ=";
    /* DetectBase64DecodeTestDecode*: without base64_data nothing matches */
    assert_int_equal(verdict("base64_decode;", hw), 0);
    assert_int_equal(verdict("base64_decode; base64_data; content:\"Hello World\";", hw), 1);
    assert_int_equal(verdict("base64_decode:offset 8; base64_data; content:\"Hello\";", ahw), 1);
    assert_int_equal(verdict("base64_decode:bytes 16, offset 32; base64_data; content:\"H\";",
                             ahw), 0);
    assert_int_equal(verdict("content:\"aaaaaaaa\"; base64_decode:relative; base64_data; "
                             "content:\"Hello World\"; startswith;", ahw), 1);
    /* without relative the "a"s decode too (6 bytes), "Hello" follows them */
    assert_int_equal(verdict("content:\"aaaaaaaa\"; base64_decode; base64_data; "
                             "content:\"Hello\";", ahw), 1);
    assert_int_equal(verdict("content:\"aaaaaaaa\"; base64_decode; base64_data; "
                             "content:\"Hello\"; startswith;", ahw), 0);
    /* the decoded data's relative keywords start at the outer match end */
    assert_int_equal(verdict("content:\"aaaaaaaa\"; base64_decode:relative; base64_data; "
                             "content:\"orld\"; distance:0;", ahw), 0);
    assert_int_equal(verdict("content:\"aaaaaaaa\"; base64_decode:relative; base64_data; "
                             "content:\"ld\"; distance:0;", ahw), 1);
    /* base64 is a terminal list: the keywords after base64_decode are skipped */
    assert_int_equal(verdict("base64_decode; content:\"zzz\"; depth:3; base64_data; "
                             "content:\"Hello\";", "SGVsbG8gV29ybGQ= zzz"), 1);
    /* the other keywords of base64_data */
    assert_int_equal(verdict("base64_decode; base64_data; pcre:\"/^Hel+o\\sW/\"; "
                             "byte_test:1,=,0x64,10; isdataat:!11;", hw), 1);
    assert_int_equal(verdict("base64_decode; base64_data; content:\"World\"; "
                             "content:\"Hello\"; distance:0;", hw), 0);
    /* no retry of the content before a failed base64_decode (Suricata's
     * discontinue_matching): the second "x" would decode to "Hello" */
    assert_int_equal(verdict("content:\"x\"; base64_decode:relative, bytes 8; base64_data; "
                             "content:\"Hello\";", "x$$$xSGVsbG8g"), 0);
    assert_int_equal(verdict("content:\"x\"; base64_decode:relative, bytes 8; base64_data; "
                             "content:\"Hello\";", "xSGVsbG8g"), 1);
    /* pkt_data goes back to the payload */
    assert_int_equal(verdict("base64_decode; base64_data; content:\"Hello\"; pkt_data; "
                             "content:\"SGVs\";", hw), 1);
}

static void test_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "base64_data; content:\"x\";",                      /* no base64_decode before */
        "content:\"x\"; base64_data; base64_decode;",
        "base64_decode:bytes 70000;",
        "base64_decode:offset 4294967296;",
        "base64_decode:bytes 1, offset 2, relatve;",        /* Suricata's parse tests */
        "base64_decode:byts 1, offset 2, relatve;",
        "base64_decode:bytes 1, offst 2, relatve;",
        "base64_decode:offset 2 bytes 1;",
        "base64_decode:, relative;",
        "base64_decode; base64_data; http.uri; content:\"x\";",
        "base64_decode; base64_data; content:\"x\"; http_uri;",
        "base64_decode; base64_data:x; content:\"x\";",
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
    /* the error points at the token */
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (base64_decode:bytes 1, offset 2, relatve; "
                      "sid:1;)\n", NULL);
    assert_int_equal(L.nerrs, 1);
    assert_int_equal(L.errs[0].loc.col, 30 + 15 + 19); /* "relatve" */
    pb_rules_free(&L);
    static const char *const good[] = {
        "base64_decode;", "base64_decode:bytes 1;", "base64_decode:offset 9;",
        "base64_decode:relative;", "base64_decode:bytes 1, offset 2;",
        "base64_decode:bytes 1, offset 2, relative;", "base64_decode:offset 2, relative;",
        "base64_decode:bytes 1 offset 2 relative, and more;", "base64_decode:bytes 0;",
        "base64_decode; base64_data; content:\"x\"; fast_pattern;",
        "file_data; content:\"a\"; fast_pattern; base64_decode:relative; base64_data; "
        "content:\"foobar\"; nocase;",
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoder),
        cmocka_unit_test(test_keywords),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
