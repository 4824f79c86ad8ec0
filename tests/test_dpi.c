/* Signature matcher: keyword semantics on hand-written payloads, header
 * conditions, action precedence, skipped rules, a randomized differential
 * test against a deliberately naive matcher, and the ET Open subset. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gatehouse/dpi.h"
#include "gatehouse/rules.h"
#include "pktbuild.h"
#include "detect/detect_int.h"
#include "app/app.h"
#include "detect/detect_tx.h"
#include "detect/state.h"
#include "hdrmatch.h"

/* ---- helpers --------------------------------------------------------------- */

static void set_ip4(gh_addr *a, const char *dotted)
{
    unsigned x[4];
    assert_int_equal(sscanf(dotted, "%u.%u.%u.%u", &x[0], &x[1], &x[2], &x[3]), 4);
    memset(a, 0, sizeof(*a));
    for (int i = 0; i < 4; i++)
        a->b[i] = (uint8_t)x[i];
}

/* A decoded IPv4 packet: proto 6/17/1, addresses, ports, payload. */
static gh_packet mkpkt(uint8_t proto, const char *src, uint16_t sport, const char *dst,
                       uint16_t dport, const void *pl, size_t len)
{
    gh_packet p;
    memset(&p, 0, sizeof(p));
    p.ip_ver = 4;
    p.ip_proto = proto;
    p.ttl = 64;
    p.layers = GH_LAYER_IPV4 | (proto == 6 ? GH_LAYER_TCP : proto == 17 ? GH_LAYER_UDP
                                : proto == 1 ? GH_LAYER_ICMPV4 : GH_LAYER_OTHER_L4);
    set_ip4(&p.src, src);
    set_ip4(&p.dst, dst);
    if (proto == 6 || proto == 17) {
        p.sport = sport;
        p.dport = dport;
    }
    if (proto == 6)
        p.tcp_flags = GH_TCP_ACK | GH_TCP_PSH;
    p.payload = pl;
    p.payload_len = (uint32_t)len;
    return p;
}

static size_t run(pb_rules *L, const gh_packet *p, const gh_pkt_state *st, gh_dpi_match *out,
                  size_t max)
{
    return gh_dpi_match_packet(L->d, L->s, p, st, p->payload, p->payload_len, out, max);
}

/* Does the single signature of @opts (sid 1) fire on a TCP packet carrying
 * @pl (@len bytes, or strlen when len is (size_t)-1)? */
static bool fires_n(const char *opts, const void *pl, size_t len)
{
    char rule[2048];
    snprintf(rule, sizeof(rule), "alert tcp any any -> any any (%s sid:1;)\n", opts);
    pb_rules L;
    pb_rules_load(&L, rule, NULL);
    for (size_t i = 0; i < L.nerrs; i++)
        printf("error: %u:%u: %s\n", L.errs[i].loc.line, L.errs[i].loc.col, L.errs[i].message);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, 1);
    gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, pl, len);
    gh_dpi_match m[4];
    size_t n = run(&L, &p, NULL, m, 4);
    pb_rules_free(&L);
    return n == 1 && m[0].sid == 1;
}

static bool fires(const char *opts, const char *pl)
{
    return fires_n(opts, pl, strlen(pl));
}

/* ---- payload keywords ------------------------------------------------------ */

static void test_content_hex_escapes(void **state)
{
    (void)state;
    /* rule text: content:"|41 42|C\;D\"E\\|00|"; -> bytes A B C ; D " E \ NUL */
    const char *o = "content:\"|41 42|C\\;D\\\"E\\\\|00|\";";
    static const char good[] = "xxABC;D\"E\\\0yy";
    assert_true(fires_n(o, good, sizeof(good) - 1));
    assert_false(fires_n(o, "ABC;D\"E\\", 8)); /* the NUL is missing */
    assert_false(fires("content:\"ABC\";", "abc"));
    assert_true(fires("content:\"a|3b|b\";", "xa;b"));
}

static void test_nocase(void **state)
{
    (void)state;
    assert_true(fires("content:\"HeLLo\"; nocase;", "say hello!"));
    assert_false(fires("content:\"HeLLo\";", "say hello!"));
    assert_true(fires("content:\"HeLLo\";", "say HeLLo!"));
    assert_true(fires("content:\"|41|b\"; nocase;", "xaB"));
}

static void test_offset_depth(void **state)
{
    (void)state;
    const char *o = "content:\"abc\"; offset:2; depth:3;";
    assert_true(fires(o, "xxabc"));
    assert_true(fires(o, "xxabcyyy"));
    assert_false(fires(o, "xabc"));   /* starts before offset */
    assert_false(fires(o, "xxxabc")); /* ends after offset + depth */
    assert_true(fires("content:\"abc\"; depth:3;", "abcd"));
    assert_false(fires("content:\"abc\"; depth:3;", "dabc"));
    assert_true(fires("content:\"abc\"; offset:3;", "abcabc"));
    assert_false(fires("content:\"abc\"; offset:4;", "abcabc"));
}

static void test_distance_within(void **state)
{
    (void)state;
    const char *o = "content:\"a\"; content:\"b\"; distance:1; within:2;";
    assert_true(fires(o, "a_b"));
    assert_false(fires(o, "ab"));
    assert_true(fires(o, "a__b"));  /* within counts from distance's start */
    assert_false(fires(o, "a___b"));
    assert_true(fires("content:\"a\"; content:\"b\"; distance:2;", "a__________b"));
    assert_false(fires("content:\"a\"; content:\"b\"; distance:2;", "a_b"));
    assert_true(fires("content:\"a\"; content:\"b\"; within:1;", "ab"));
    assert_false(fires("content:\"a\"; content:\"b\"; within:1;", "a_b"));
    /* negative distance: "ab" may start up to 3 bytes before the end of "bc" */
    const char *neg = "content:\"bc\"; content:\"ab\"; distance:-3; within:2;";
    assert_true(fires(neg, "abc"));
    assert_false(fires(neg, "bcab"));
    /* a chain of three */
    const char *chain = "content:\"GET\"; content:\"/x\"; distance:1; within:2; content:\"HTTP\"; distance:0;";
    assert_true(fires(chain, "GET /x HTTP/1.1"));
    assert_false(fires(chain, "GET  /x HTTP/1.1"));
    assert_false(fires(chain, "HTTP GET /x"));
    /* negated relative content */
    const char *nrel = "content:\"a\"; content:!\"b\"; within:2;";
    assert_true(fires(nrel, "ab ac"));  /* the second "a" has no "b" after it */
    assert_false(fires(nrel, "ab xb"));
}

static void test_backtracking(void **state)
{
    (void)state;
    const char *o = "content:\"a\"; content:\"b\"; distance:0; within:1;";
    assert_true(fires(o, "a a ab"));
    assert_false(fires(o, "a a a b"));
    /* pcre /R retried at the next occurrence of the content before it */
    assert_true(fires("content:\"abc\"; pcre:\"/^def/R\";", "abc abcdef"));
    /* isdataat relative is retried too */
    assert_true(fires("content:\"k\"; isdataat:!3,relative;", "k..k.."));
    assert_false(fires("content:\"k\"; isdataat:!3,relative;", "k..k..."));
}

/* A chain of relative contents without within over many occurrences: the
 * occurrences after a window start that already failed are not tried again,
 * so 30 x 30 x 30 candidate paths cost about 90 steps, not Suricata's 3000
 * step limit; the answer is the exhaustive one. */
static void test_backtracking_memo(void **state)
{
    (void)state;
    const char *o = "content:\"a\"; content:\"b\"; distance:0; content:\"c\"; distance:0; "
                    "content:\"d\"; distance:0; within:1;";
    char pl[200];
    size_t n = 0;
    for (const char *c = "abc"; *c; c++)
        for (int i = 0; i < 30; i++) {
            pl[n++] = *c;
            pl[n++] = '.';
        }
    char rule[512];
    snprintf(rule, sizeof(rule), "alert tcp any any -> any any (%s sid:1;)\n", o);
    pb_rules L;
    pb_rules_load(&L, rule, NULL);
    assert_int_equal(L.rep.loaded, 1);
    gh_dpi_match m[2];
    gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, pl, n);
    assert_int_equal(run(&L, &p, NULL, m, 2), 0);
    gh_dpi_scratch_stats st;
    gh_dpi_scratch_get_stats(L.s, &st);
    assert_int_equal(st.budget_exceeded, 0);
    memcpy(pl + n, "cd", 2); /* a match at the very end is still found */
    p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, pl, n + 2);
    assert_int_equal(run(&L, &p, NULL, m, 2), 1);
    pb_rules_free(&L);
}

static void test_startswith_endswith(void **state)
{
    (void)state;
    assert_true(fires("content:\"GET\"; startswith;", "GET / HTTP/1.0"));
    assert_false(fires("content:\"GET\"; startswith;", " GET /"));
    assert_true(fires("content:\"end\"; endswith;", "the end"));
    assert_false(fires("content:\"end\"; endswith;", "the end."));
    assert_true(fires("content:\"end\"; endswith;", "end or end"));
    assert_true(fires("content:\"a\"; content:\"z\"; distance:0; endswith;", "a..z"));
    assert_false(fires("content:\"a\"; content:\"z\"; distance:0; endswith;", "z..a"));
}

static void test_isdataat(void **state)
{
    (void)state;
    assert_true(fires("isdataat:3;", "1234"));  /* a byte at index 3 */
    assert_false(fires("isdataat:3;", "123"));
    assert_true(fires("isdataat:!3;", "123"));
    assert_false(fires("isdataat:!3;", "1234"));
    assert_true(fires("content:\"a\"; isdataat:2,relative;", "a12"));
    assert_false(fires("content:\"a\"; isdataat:2,relative;", "a1"));
    assert_true(fires("content:\"x\"; isdataat:!1,relative;", "abx"));
    assert_false(fires("content:\"x\"; isdataat:!1,relative;", "xy"));
}

static void test_pcre(void **state)
{
    (void)state;
    assert_true(fires("pcre:\"/foo.bar/i\";", "xFOO-BARx"));
    assert_false(fires("pcre:\"/foo.bar/\";", "xFOO-BARx"));
    assert_false(fires("pcre:\"/foo.bar/\";", "foo\nbar"));
    assert_true(fires("pcre:\"/foo.bar/s\";", "foo\nbar"));
    assert_true(fires("pcre:\"/^bar/m\";", "foo\nbar"));
    assert_false(fires("pcre:\"/^bar/\";", "foo\nbar"));
    assert_true(fires("content:\"abc\"; pcre:\"/^def/R\";", "abcdef"));
    assert_false(fires("content:\"abc\"; pcre:\"/^def/R\";", "defabc"));
    assert_false(fires("content:\"abc\"; pcre:\"/^def/R\";", "abcxdef"));
    assert_true(fires("content:\"abc\"; pcre:\"/def/R\";", "abcxdef"));
    /* Suricata's unquoted form */
    assert_true(fires("pcre:/foo.bar/i;", "xFOO-BARx"));
    assert_false(fires("pcre:!/foo.bar/i;", "xFOO-BARx"));
    assert_true(fires("pcre:!\"/evil/\";", "good"));
    assert_false(fires("pcre:!\"/evil/\";", "so evil"));
    /* relative after a pcre */
    assert_true(fires("pcre:\"/a+/\"; content:\"b\"; within:1;", "aaab"));
    assert_true(fires("pcre:\"/x\\d{2}/\"; content:\"!\"; distance:0; within:1;", "x1 x12!"));
}

/* Expressions are JIT-compiled on first use by whichever worker gets there
 * first while the others interpret (dpi_re_jit): every call, in two threads
 * sharing the ruleset, must give the interpreter's answer. */
typedef struct {
    const gh_dpi *d;
    unsigned hits[3], runs;
} jit_worker;

static void *jit_run(void *arg)
{
    jit_worker *w = arg;
    gh_error err;
    gh_dpi_scratch *s = gh_dpi_scratch_new(w->d, &err);
    if (!s)
        return NULL;
    static const char *const pl[3] = {"GET /a.php?id=12345 HTTP", "GET /b.asp?x=1", "nothing"};
    for (unsigned i = 0; i < 3000; i++) {
        gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, pl[i % 3], strlen(pl[i % 3]));
        gh_dpi_match m[4];
        size_t n = gh_dpi_match_packet(w->d, s, &p, NULL, p.payload, p.payload_len, m, 4);
        for (size_t k = 0; k < n; k++)
            if (m[k].sid >= 1 && m[k].sid <= 3)
                w->hits[m[k].sid - 1]++;
        w->runs++;
    }
    gh_dpi_scratch_free(s);
    return NULL;
}

static void test_pcre_lazy_jit(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L,
                  "alert tcp any any -> any any (pcre:\"/\\.php\\?id=\\d{3,}/\"; sid:1;)\n"
                  "alert tcp any any -> any any (pcre:\"/\\.asp\\?[a-z]=\\d/i\"; sid:2;)\n"
                  "alert tcp any any -> any any (pcre:!\"/php|asp/\"; sid:3;)\n",
                  NULL);
    assert_int_equal(L.nerrs, 0);
    jit_worker w[2] = {{.d = L.d}, {.d = L.d}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, jit_run, &w[i]), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].runs, 3000);
        for (int k = 0; k < 3; k++)
            assert_int_equal(w[i].hits[k], 1000);
    }
    pb_rules_free(&L);
}

static void test_pcre_errors(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"x\"; pcre:\"/a(b/\"; sid:7;)\n"
                      "alert tcp any any -> any any (content:\"x\"; sid:8;)\n"
                      "alert tcp any any -> any any (pcre:\"/abc/Q\"; sid:9;)\n", NULL);
    assert_int_equal(L.nerrs, 1);
    assert_int_equal(L.errs[0].loc.line, 1);
    assert_true(L.errs[0].loc.col > 50); /* inside the pcre value */
    assert_non_null(strstr(L.errs[0].message, "pcre"));
    printf("pcre error: %u:%u: %s\n", L.errs[0].loc.line, L.errs[0].loc.col, L.errs[0].message);
    assert_int_equal(L.rep.loaded, 2);
    assert_int_equal(L.rep.skipped_error, 1);
    assert_int_equal(L.rep.skipped_unsupported, 0);
    /* the HTTP body flag Q makes a transaction signature, never a packet one */
    const gh_dpi_sig_info *q = gh_dpi_sig(L.d, 1);
    assert_int_equal(q->sid, 9);
    assert_true(q->app);
    assert_false(gh_dpi_sig(L.d, 0)->app);
    pb_rules_free(&L);
}

static void test_fast_pattern(void **state)
{
    (void)state;
    /* the longest content by default; the marked one when marked; a chop */
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"ab\"; content:\"longer\"; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"ab\"; fast_pattern; "
                      "content:\"longer\"; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"abcdef\"; fast_pattern:2,3; "
                      "sid:3;)\n"
                      "alert tcp any any -> any any (content:!\"zz\"; sid:4;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    const gh_dpi_sig_info *a = gh_dpi_sig(L.d, 0), *b = gh_dpi_sig(L.d, 1),
                          *c = gh_dpi_sig(L.d, 2), *e = gh_dpi_sig(L.d, 3);
    assert_int_equal(a->fast_pattern_len, 6);
    assert_memory_equal(a->fast_pattern, "longer", 6);
    assert_int_equal(b->fast_pattern_len, 2);
    assert_memory_equal(b->fast_pattern, "ab", 2);
    assert_int_equal(c->fast_pattern_len, 3);
    assert_memory_equal(c->fast_pattern, "cde", 3);
    assert_null(e->fast_pattern);
    assert_int_equal(L.rep.no_fast_pattern, 1);
    pb_rules_free(&L);

    /* the choice never changes results */
    const char *payloads[] = {"GET /a HTTP", "GET /b HTTP", "GET /a", "xx GET /a HTTP/1.1",
                              "/a HTTP GET", "GET GET /a HTTP"};
    for (int pick = -1; pick < 3; pick++) {
        char opts[512];
        snprintf(opts, sizeof(opts),
                 "content:\"GET\"; %s content:\"/a\"; distance:1; %s content:\"HTTP\"; "
                 "distance:0; %s", pick == 0 ? "fast_pattern;" : "",
                 pick == 1 ? "fast_pattern;" : "", pick == 2 ? "fast_pattern;" : "");
        for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
            bool want = i == 0 || i == 3 || i == 5;
            assert_int_equal(fires(opts, payloads[i]), want);
        }
    }
}

/* ---- headers ---------------------------------------------------------------- */

static void test_headers(void **state)
{
    (void)state;
    gh_error err;
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    assert_non_null(vars);
    assert_int_equal(gh_rule_vars_set(vars, "HOME_NET", "[192.168.0.0/16,10.0.0.0/8]", NULL, &err), 0);
    assert_int_equal(gh_rule_vars_set(vars, "EXTERNAL_NET", "!$HOME_NET", NULL, &err), 0);
    pb_rules L;
    pb_rules_load(&L,
              "alert tcp any any -> any 80 (content:\"x\"; sid:1;)\n"
              "alert tcp $EXTERNAL_NET any -> $HOME_NET [8000:8080,443] (content:\"x\"; sid:2;)\n"
              "alert udp any any -> any any (content:\"x\"; sid:3;)\n"
              "alert tcp 1.2.3.4 any <> 10.0.0.2 80 (content:\"x\"; sid:4;)\n"
              "alert tcp any any -> any any (flow:established,to_server; content:\"x\"; sid:5;)\n"
              "alert tcp any any -> any any (flow:to_client; sid:6;)\n"
              "alert ip any any -> any any (content:\"x\"; dsize:>3; sid:7;)\n"
              "alert icmp any any -> any any (itype:8; sid:8;)\n"
              "alert tcp any any -> any any (flags:S; content:\"x\"; sid:9;)\n"
              "alert tcp $HOME_NET any <> $EXTERNAL_NET 22 (content:\"q\"; sid:10;)\n",
              vars);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, 10);
    gh_dpi_match m[16];
    char got[128];
#define SIDS(pkt, st)                                                                    \
    do {                                                                                 \
        size_t n_ = run(&L, &(pkt), (st), m, 16);                                        \
        got[0] = '\0';                                                                   \
        for (size_t i_ = 0; i_ < n_; i_++)                                               \
            snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u", i_ ? "," : "", \
                     m[i_].sid);                                                         \
    } while (0)

    gh_packet p = mkpkt(6, "1.2.3.4", 1000, "10.0.0.2", 80, "x", 1);
    SIDS(p, NULL);
    assert_string_equal(got, "1,4");
    p = mkpkt(6, "1.2.3.4", 1000, "10.0.0.2", 8080, "xxxx", 4);
    SIDS(p, NULL);
    assert_string_equal(got, "2,7");
    p = mkpkt(6, "10.9.9.9", 1000, "10.0.0.2", 8080, "x", 1); /* source is home */
    SIDS(p, NULL);
    assert_string_equal(got, "");
    p = mkpkt(6, "10.0.0.2", 80, "1.2.3.4", 1000, "x", 1); /* <> mirrored */
    SIDS(p, NULL);
    assert_string_equal(got, "4");
    p = mkpkt(17, "1.2.3.4", 53, "10.0.0.2", 80, "xyz", 3);
    SIDS(p, NULL);
    assert_string_equal(got, "3");
    gh_pkt_state ts = {.has_flow = true, .established = true, .to_server = true};
    gh_pkt_state tc = {.has_flow = true, .established = true, .to_server = false};
    p = mkpkt(6, "5.5.5.5", 1000, "6.6.6.6", 22, "x", 1);
    SIDS(p, &ts);
    assert_string_equal(got, "5");
    SIDS(p, &tc);
    assert_string_equal(got, "6");
    SIDS(p, NULL);
    assert_string_equal(got, "");
    p = mkpkt(1, "5.5.5.5", 0, "6.6.6.6", 0, "xxxxx", 5);
    p.icmp_type = 8;
    SIDS(p, NULL);
    assert_string_equal(got, "7,8");
    p.icmp_type = 0;
    SIDS(p, NULL);
    assert_string_equal(got, "7");
    p = mkpkt(6, "5.5.5.5", 1000, "6.6.6.6", 22, "x", 1);
    p.tcp_flags = GH_TCP_SYN;
    SIDS(p, NULL);
    assert_string_equal(got, "9");
    /* $HOME_NET and $EXTERNAL_NET are answered by the packet's address
     * class (dpi_sig.src_as, dst_as), both ways for <> */
    p = mkpkt(6, "10.0.0.2", 1000, "1.2.3.4", 22, "q", 1);
    SIDS(p, NULL);
    assert_string_equal(got, "10");
    p = mkpkt(6, "1.2.3.4", 22, "10.0.0.2", 1000, "q", 1);
    SIDS(p, NULL);
    assert_string_equal(got, "10");
    p = mkpkt(6, "10.0.0.2", 1000, "10.0.0.3", 22, "q", 1); /* both home */
    SIDS(p, NULL);
    assert_string_equal(got, "");
    p = mkpkt(6, "1.2.3.4", 1000, "5.6.7.8", 22, "q", 1); /* both outside */
    SIDS(p, NULL);
    assert_string_equal(got, "");
    /* a non-IP packet never matches */
    p.ip_ver = 0;
    SIDS(p, NULL);
    assert_string_equal(got, "");
#undef SIDS
    pb_rules_free(&L);
    gh_rule_vars_free(vars);
}

static void test_ipv6(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert ip any any -> [2001:db8::/32,!2001:db8::1] any (content:\"x\"; "
                      "sid:1;)\n"
                      "alert ipv4 any any -> any any (content:\"x\"; sid:2;)\n"
                      "alert tcp any any -> 2001:db8::1 443 (content:\"x\"; sid:3;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    gh_packet p = mkpkt(6, "1.1.1.1", 1, "2.2.2.2", 443, "x", 1);
    p.ip_ver = 6;
    memset(&p.src, 0, sizeof(p.src));
    memset(&p.dst, 0, sizeof(p.dst));
    p.src.b[0] = 0xfe;
    p.src.b[1] = 0x80;
    p.dst.b[0] = 0x20;
    p.dst.b[1] = 0x01;
    p.dst.b[2] = 0x0d;
    p.dst.b[3] = 0xb8;
    p.dst.b[15] = 2;
    gh_dpi_match m[4];
    size_t n = run(&L, &p, NULL, m, 4);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].sid, 1);
    p.dst.b[15] = 1;
    n = run(&L, &p, NULL, m, 4);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].sid, 3);
    /* a reassembled chunk instead of the packet payload */
    n = gh_dpi_match_packet(L.d, L.s, &p, NULL, (const uint8_t *)"nope", 4, m, 4);
    assert_int_equal(n, 0);
    pb_rules_free(&L);
}

static void test_action_precedence(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"x\"; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"x\"; sid:1;)\n"
                      "drop tcp any any -> any any (content:\"x\"; sid:50;)\n"
                      "reject tcp any any -> any any (content:\"x\"; sid:30;)\n"
                      "pass tcp any any -> any any (content:\"x\"; sid:90;)\n"
                      "drop tcp any any -> any any (content:\"x\"; sid:40;)\n"
                      "rejectsrc tcp any any -> any any (content:\"x\"; sid:20;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    gh_packet p = mkpkt(6, "1.1.1.1", 1, "2.2.2.2", 2, "x", 1);
    gh_dpi_match m[8];
    size_t n = run(&L, &p, NULL, m, 8);
    assert_int_equal(n, 7);
    const uint32_t want[] = {90, 40, 50, 20, 30, 1, 2};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(m[i].sid, want[i]);
    assert_int_equal(m[0].action, GH_ACTION_PASS);
    assert_int_equal(m[1].action, GH_ACTION_DROP);
    assert_string_equal(gh_dpi_sig(L.d, m[0].idx)->proto, "tcp");
    /* a short output keeps the highest precedence */
    n = run(&L, &p, NULL, m, 2);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].sid, 90);
    assert_int_equal(m[1].sid, 40);
    pb_rules_free(&L);
}

/* ---- flowbits ------------------------------------------------------------------ */

/* The sids that matched, in the output's order, as "1 2 3". */
static const char *sids(const gh_dpi_match *m, size_t n)
{
    static char buf[256];
    size_t o = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && o < sizeof(buf); i++)
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? " " : "", m[i].sid);
    return buf;
}

static size_t run_fb(pb_rules *L, gh_flowvars *fv, const char *pl, gh_dpi_match *m)
{
    gh_packet p = mkpkt(6, "1.1.1.1", 1000, "2.2.2.2", 80, pl, strlen(pl));
    gh_pkt_state st = {.has_flow = true, .established = true, .to_server = true, .fv = fv};
    return run(L, &p, &st, m, 16);
}

static void test_flowbits_commands(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"SET\"; flowbits:set,a; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"CLEAR\"; flowbits:unset,a; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"TOG\"; flowbits:toggle,b; sid:3;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowbits:isset,a; sid:10;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowbits:isnotset,a; sid:11;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowbits:isset,a|b; sid:12;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowbits:isnotset, a | b ; "
                      "sid:13;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowbits:isset,a; "
                      "flowbits:isset,b;"
                      " sid:14;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, 8);
    gh_flowvars bits = {0};
    gh_dpi_match m[16];
    size_t n = run_fb(&L, &bits, "Q", m);
    assert_string_equal(sids(m, n), "11 13");
    n = run_fb(&L, &bits, "SET", m);
    assert_string_equal(sids(m, n), "1");
    n = run_fb(&L, &bits, "Q", m);
    assert_string_equal(sids(m, n), "10 12 13");
    n = run_fb(&L, &bits, "TOG", m);
    n = run_fb(&L, &bits, "Q", m);
    assert_string_equal(sids(m, n), "10 12 14");
    n = run_fb(&L, &bits, "CLEAR TOG", m);
    assert_string_equal(sids(m, n), "2 3");
    n = run_fb(&L, &bits, "Q", m);
    assert_string_equal(sids(m, n), "11 13");
    assert_int_equal(bits.nbits, 0);
    /* no flow: neither isset nor isnotset holds, and a set changes nothing */
    gh_packet p = mkpkt(6, "1.1.1.1", 1000, "2.2.2.2", 80, "SET Q", 5);
    n = run(&L, &p, NULL, m, 16);
    assert_string_equal(sids(m, n), "1");
    pb_rules_free(&L);
}

static void test_flowbits_order(void **state)
{
    (void)state;
    pb_rules L;
    /* Suricata's signature order: action first, then those that set before
     * those that set and test, before those that only test; then priority */
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"A\"; flowbits:isset,x; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"A\"; flowbits:isset,x; "
                      "flowbits:set,y;"
                      " sid:2;)\n"
                      "alert tcp any any -> any any (content:\"A\"; flowbits:isset,y; sid:3;)\n"
                      "alert tcp any any -> any any (content:\"A\"; flowbits:set,x; "
                      "flowbits:noalert;"
                      " sid:9;)\n"
                      "drop tcp any any -> any any (content:\"B\"; flowbits:isset,z; sid:4;)\n"
                      "alert tcp any any -> any any (content:\"B\"; flowbits:set,z; sid:5;)\n",
                      NULL);
    assert_int_equal(L.nerrs, 0);
    gh_flowvars bits = {0};
    gh_dpi_match m[16];
    size_t n = run_fb(&L, &bits, "A", m);
    assert_string_equal(sids(m, n), "1 2 3 9");
    assert_true(gh_dpi_sig(L.d, m[3].idx)->noalert);
    assert_false(gh_dpi_sig(L.d, m[0].idx)->noalert);
    /* the drop tests before the alert sets: it sees the bit one packet later */
    n = run_fb(&L, &bits, "B", m);
    assert_string_equal(sids(m, n), "5");
    n = run_fb(&L, &bits, "B", m);
    assert_string_equal(sids(m, n), "4 5");
    pb_rules_free(&L);
}

static void test_flowbits_full(void **state)
{
    (void)state;
    char rules[8192];
    size_t o = 0;
    for (int i = 0; i <= GH_FLOWBITS_MAX; i++)
        o += (size_t)snprintf(rules + o, sizeof(rules) - o,
                              "alert tcp any any -> any any (content:\"S\"; flowbits:set,b%d;"
                              " sid:%d;)\n", i, i + 1);
    pb_rules L;
    pb_rules_load(&L, rules, NULL);
    assert_int_equal(L.rep.loaded, GH_FLOWBITS_MAX + 1);
    gh_flowvars bits = {0};
    gh_dpi_match m[16];
    run_fb(&L, &bits, "S", m);
    assert_int_equal(bits.nbits, GH_FLOWBITS_MAX);
    gh_dpi_scratch_stats st;
    gh_dpi_scratch_get_stats(L.s, &st);
    assert_int_equal(st.vars_refused, 1);
    pb_rules_free(&L);
}

static void test_flowint(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"INC\"; flowint:cnt,+,1; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"SUB\"; flowint:cnt,-,5; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"LIM\"; flowint:lim,=,2; sid:3;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowint:cnt,isset; sid:10;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowint:cnt,notset; sid:11;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowint:cnt,>=,lim; sid:12;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowint: cnt, ==, 1; sid:13;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; flowint:cnt,>,4294967290; "
                      "sid:14;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, 8);
    gh_flowvars fv = {0};
    gh_dpi_match m[16];
    size_t n = run_fb(&L, &fv, "SUB Q", m); /* subtracting from nothing sets nothing */
    assert_string_equal(sids(m, n), "2 11");
    n = run_fb(&L, &fv, "INC", m);
    n = run_fb(&L, &fv, "Q", m);
    assert_string_equal(sids(m, n), "10 12 13"); /* lim is not set: compared with 0 */
    n = run_fb(&L, &fv, "LIM INC", m);
    n = run_fb(&L, &fv, "Q", m);
    assert_string_equal(sids(m, n), "10 12");
    n = run_fb(&L, &fv, "SUB", m); /* 2 - 5 wraps around in 32 bits */
    n = run_fb(&L, &fv, "Q", m);
    assert_string_equal(sids(m, n), "10 12 14");
    pb_rules_free(&L);
}

static void test_xbits(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"S\"; xbits:set,h,track "
                      "ip_src,expire 10;"
                      " sid:1;)\n"
                      "alert tcp any any -> any any (content:\"P\"; xbits:set,pr,track ip_pair; "
                      "sid:2;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; xbits:isset,h,track ip_src; "
                      "sid:10;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; xbits:isset,h,track ip_dst; "
                      "sid:11;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; xbits:isset,pr,track ip_pair;"
                      " sid:12;)\n"
                      "alert tcp any any -> any any (content:\"Q\"; xbits:isnotset,h,track ip_src;"
                      " sid:13;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, 6);
    gh_xbits *xb = gh_xbits_new(64);
    assert_non_null(xb);
    gh_dpi_match m[16];
    /* host bits belong to an address, whatever the flow; the pair is both ways */
    gh_packet a = mkpkt(6, "10.0.0.1", 1000, "10.0.0.2", 80, "S P", 3);
    gh_pkt_state st = {.has_flow = true, .xb = xb, .now_s = 100};
    size_t n = run(&L, &a, &st, m, 16);
    assert_string_equal(sids(m, n), "1 2");
    gh_packet q = mkpkt(6, "10.0.0.1", 2000, "10.0.0.9", 25, "Q", 1);
    n = run(&L, &q, &st, m, 16);
    assert_string_equal(sids(m, n), "10");
    gh_packet r = mkpkt(6, "10.0.0.2", 80, "10.0.0.1", 1000, "Q", 1);
    n = run(&L, &r, &st, m, 16);
    assert_string_equal(sids(m, n), "11 12 13");
    /* expired 10 s after the set: gone */
    st.now_s = 111;
    n = run(&L, &q, &st, m, 16);
    assert_string_equal(sids(m, n), "13");
    /* a full table evicts, and counts it */
    for (int i = 0; i < 200; i++) {
        char src[32];
        snprintf(src, sizeof(src), "10.1.%d.%d", i / 200, i % 200);
        gh_packet s = mkpkt(6, src, 1000, "10.0.0.2", 80, "S", 1);
        run(&L, &s, &st, m, 16);
    }
    gh_dpi_scratch_stats ss;
    gh_dpi_scratch_get_stats(L.s, &ss);
    assert_true(ss.xbits_evicted > 0);
    gh_xbits_free(xb);
    pb_rules_free(&L);
}

static void test_state_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "flowbits:isset;", "flowbits:Set,a;", "flowbits:noalert,a;", "flowbits:set,a b;",
        "flowbits:bogus,a;", "flowbits:isset,a|b c;", "flowbits:isset, | ;", "flowbits:set ,a;",
        "flowint:x,+,1;", "flowint:cnt,+;", "flowint:cnt,~,1;", "flowint:cnt,=,99999999999;",
        "flowint:cnt,=,a;", "xbits:set,a;", "xbits:set,a,track ip_any;",
        "xbits:set,a,track ip_src,expire 0;", "xbits:set,a,track ip_src,expire x;",
        "xbits:Set,a,track ip_src;", "target:foo;", "target:src_ip; target:dest_ip;",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char rule[256];
        snprintf(rule, sizeof(rule), "alert tcp any any -> any any (content:\"x\"; %s sid:1;)\n",
                 bad[i]);
        pb_rules L;
        pb_rules_load(&L, rule, NULL);
        if (L.nerrs != 1)
            printf("not refused: %s\n", bad[i]);
        assert_int_equal(L.nerrs, 1);
        assert_int_equal(L.rep.loaded, 0);
        pb_rules_free(&L);
    }
}

static void test_unsupported_skipped(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"x\"; flowvar:fa,\"b\"; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"x\"; flowvar:fb,\"c\"; sid:2;)\n"
                      "alert http any any -> any any (content:\"x\"; sid:3;)\n"
                      "alert tcp any any -> any any (content:\"x\"; http_uri; sid:4;)\n"
                      "alert tcp any any -> any any (content:\"x\"; sid:5;)\n"
                      "alert tcp any any -> any any (content:\"x\"; byte_test:1,>,2,0,dce; "
                      "sid:6;)\n", NULL);
    assert_int_equal(L.nerrs, 0);
    printf("report: loaded %zu, skipped %zu:", L.rep.loaded, L.rep.skipped);
    for (size_t i = 0; i < L.rep.n_kw; i++)
        printf(" %s=%zu", L.rep.kw[i].keyword, L.rep.kw[i].rules);
    printf("\n");
    assert_int_equal(L.rep.rules, 6);
    assert_int_equal(L.rep.loaded, 3);
    assert_int_equal(L.rep.skipped, 3);
    assert_int_equal(L.rep.skipped_unsupported, 3);
    assert_string_equal(L.rep.kw[0].keyword, "flowvar");
    assert_int_equal(L.rep.kw[0].rules, 2);
    assert_int_equal(L.rep.n_kw, 2);
    /* on a TCP packet of no HTTP flow: alert http needs the flow detected
     * as HTTP, and http_uri is inspected on transactions only */
    gh_packet p = mkpkt(6, "1.1.1.1", 1, "2.2.2.2", 80, "x", 1);
    gh_dpi_match m[8];
    size_t n = run(&L, &p, NULL, m, 8);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].sid, 5);
    pb_rules_free(&L);
}

static void test_rule_errors(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"x\"; offset:1; distance:2; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"abc\"; within:2; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"abc\"; sid:3;)\n", NULL);
    assert_int_equal(L.nerrs, 2);
    assert_int_equal(L.errs[0].loc.line, 1);
    assert_int_equal(L.errs[1].loc.line, 2);
    assert_int_equal(L.rep.loaded, 1);
    assert_int_equal(L.rep.skipped_error, 2);
    pb_rules_free(&L);
}

/* ---- differential test against a naive matcher ------------------------------ */

typedef struct ncontent {
    char pat[20];
    int len;
    bool neg, nocase, rel, startswith, endswith, fp;
    bool has_off, has_depth, has_dist, has_within;
    int off, depth, dist, within;
} ncontent;

typedef struct nrule {
    ncontent c[5];
    int n;
} nrule;

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

/* Does content @k occur at @s with previous match end @prev, per the keyword
 * definitions (checked one position at a time)? */
static bool naive_at(const ncontent *k, const char *buf, int L, int s, int prev)
{
    if (s < 0 || s + k->len > L)
        return false;
    for (int i = 0; i < k->len; i++) {
        char a = buf[s + i], b = k->pat[i];
        if (k->nocase ? lower(a) != lower(b) : a != b)
            return false;
    }
    if (k->startswith && s != 0)
        return false;
    if (k->endswith && s + k->len != L)
        return false;
    if (k->rel) {
        int base = prev + (k->has_dist ? k->dist : 0);
        if (s < base)
            return false;
        if (k->has_within && s + k->len > base + k->within)
            return false;
    } else {
        if (k->has_off && s < k->off)
            return false;
        if (k->has_depth && s + k->len > (k->has_off ? k->off : 0) + k->depth)
            return false;
    }
    return true;
}

static bool naive(const nrule *r, int i, const char *buf, int L, int prev)
{
    if (i == r->n)
        return true;
    const ncontent *k = &r->c[i];
    if (k->neg) {
        for (int s = 0; s < L; s++)
            if (naive_at(k, buf, L, s, prev))
                return false;
        return naive(r, i + 1, buf, L, prev);
    }
    for (int s = 0; s < L; s++)
        if (naive_at(k, buf, L, s, prev) && naive(r, i + 1, buf, L, s + k->len))
            return true;
    return false;
}

static const char alphabet[] = "abcAB";

/* The shape of the random rules and payloads: short ones exercise the
 * keyword semantics, long ones the searches over long windows. */
typedef struct nshape {
    int max_contents, min_len, max_len, max_payload, max_window;
} nshape;

static const nshape SHORT = {4, 1, 3, 24, 5};
static const nshape LONG = {2, 2, 18, 1500, 90};

static void gen_rule(nrule *r, char *text, size_t tsz, uint32_t sid, const nshape *sh)
{
    memset(r, 0, sizeof(*r));
    r->n = 1 + rand() % sh->max_contents;
    int fp = rand() % 3 == 0 ? rand() % r->n : -1;
    size_t w = (size_t)snprintf(text, tsz, "alert tcp any any -> any any (");
    for (int i = 0; i < r->n; i++) {
        ncontent *k = &r->c[i];
        k->len = sh->min_len + rand() % (sh->max_len - sh->min_len + 1);
        for (int j = 0; j < k->len; j++)
            k->pat[j] = alphabet[rand() % (sizeof(alphabet) - 1)];
        k->neg = rand() % 7 == 0;
        k->nocase = rand() % 3 == 0;
        k->rel = rand() % 2 == 0;
        if (k->rel) {
            k->has_dist = rand() % 3 != 0;
            k->dist = rand() % 9 - 4;
            k->has_within = rand() % 3 != 0;
            k->within = k->len + rand() % sh->max_window;
            if (!k->has_dist && !k->has_within)
                k->has_dist = true;
        } else if (rand() % 8 == 0) {
            k->startswith = true;
        } else {
            k->has_off = rand() % 2 == 0;
            k->off = rand() % 6;
            k->has_depth = rand() % 2 == 0;
            k->depth = k->len + rand() % (sh->max_window + 1);
        }
        k->endswith = rand() % 10 == 0;
        k->fp = i == fp && !k->neg;
        w += (size_t)snprintf(text + w, tsz - w, "content:%s\"%.*s\";", k->neg ? "!" : "",
                              k->len, k->pat);
        if (k->nocase)
            w += (size_t)snprintf(text + w, tsz - w, " nocase;");
        if (k->has_off)
            w += (size_t)snprintf(text + w, tsz - w, " offset:%d;", k->off);
        if (k->has_depth)
            w += (size_t)snprintf(text + w, tsz - w, " depth:%d;", k->depth);
        if (k->has_dist)
            w += (size_t)snprintf(text + w, tsz - w, " distance:%d;", k->dist);
        if (k->has_within)
            w += (size_t)snprintf(text + w, tsz - w, " within:%d;", k->within);
        if (k->startswith)
            w += (size_t)snprintf(text + w, tsz - w, " startswith;");
        if (k->endswith)
            w += (size_t)snprintf(text + w, tsz - w, " endswith;");
        if (k->fp)
            w += (size_t)snprintf(text + w, tsz - w, " fast_pattern;");
        w += (size_t)snprintf(text + w, tsz - w, " ");
    }
    snprintf(text + w, tsz - w, "sid:%u;)\n", sid);
}

static size_t differential(const nshape *sh, size_t *fired_out)
{
    enum { BATCHES = 40, RULES = 60, PAYLOADS = 60 };
    static nrule rules[RULES];
    static char text[RULES * 400];
    size_t checks = 0, fired = 0;
    for (int b = 0; b < BATCHES; b++) {
        size_t w = 0;
        for (int i = 0; i < RULES; i++) {
            char one[400];
            gen_rule(&rules[i], one, sizeof(one), (uint32_t)(i + 1), sh);
            w += (size_t)snprintf(text + w, sizeof(text) - w, "%s", one);
        }
        pb_rules L;
        pb_rules_load(&L, text, NULL);
        for (size_t i = 0; i < L.nerrs; i++)
            printf("error: %u:%u: %s\n", L.errs[i].loc.line, L.errs[i].loc.col, L.errs[i].message);
        assert_int_equal(L.nerrs, 0);
        assert_int_equal(L.rep.loaded, RULES);
        for (int t = 0; t < PAYLOADS; t++) {
            static char pl[1500];
            int len = rand() % (sh->max_payload + 1);
            for (int j = 0; j < len; j++)
                pl[j] = alphabet[rand() % (sizeof(alphabet) - 1)];
            /* long patterns seldom occur by chance: plant some */
            for (int k = 0; sh->max_len > 3 && k < 8 && len; k++) {
                const ncontent *c = &rules[rand() % RULES].c[0];
                int at = rand() % len;
                if (at + c->len <= len)
                    memcpy(pl + at, c->pat, (size_t)c->len);
            }
            gh_packet p = mkpkt(6, "1.1.1.1", 1, "2.2.2.2", 2, pl, (size_t)len);
            gh_dpi_match m[RULES];
            size_t n = run(&L, &p, NULL, m, RULES);
            bool got[RULES] = {false};
            for (size_t j = 0; j < n; j++)
                got[m[j].sid - 1] = true;
            for (int i = 0; i < RULES; i++) {
                bool want = naive(&rules[i], 0, pl, len, 0);
                if (want != got[i]) {
                    const char *line = text;
                    for (int k = 0; k < i; k++)
                        line = strchr(line, '\n') + 1;
                    printf("mismatch on payload \"%.*s\": want %d got %d for %.*s\n", len, pl,
                           want, got[i], (int)(strchr(line, '\n') - line), line);
                }
                assert_int_equal(want, got[i]);
                checks++;
                fired += want;
            }
        }
        pb_rules_free(&L);
    }
    *fired_out = fired;
    return checks;
}

static void test_differential(void **state)
{
    (void)state;
    srand(12345);
    size_t fired, checks = differential(&SHORT, &fired);
    printf("differential: %zu checks, %zu matches\n", checks, fired);
    assert_true(fired > 1000); /* the generator exercises matching, not just misses */
}

/* Long payloads and patterns: the searches of long windows (find_rare and
 * memmem in engine/detect/inspect.c) against the naive matcher. */
static void test_differential_long(void **state)
{
    (void)state;
    srand(54321);
    size_t fired, checks = differential(&LONG, &fired);
    printf("differential, long: %zu checks, %zu matches\n", checks, fired);
    assert_true(fired > 1000);
}

/* ---- ET Open subset -------------------------------------------------------- */

static void test_et_subset(void **state)
{
    (void)state;
    const char *path = GH_CORPUS_DIR "/rules/et-open-SUBSET-basic-keywords.rules";
    if (access(path, R_OK) != 0) {
        printf("skipped: %s not found\n", path);
        skip();
    }
    gh_error err = {0};
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    assert_non_null(vars);
    assert_int_equal(gh_rule_vars_load(vars, GH_TEST_DATA_DIR "/../../rules/vars.conf", &err), 0);
    gh_rule_file *f = gh_rules_parse_file(path, GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, vars), 0);
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_dpi_load_report rep;
    gh_dpi *d = gh_dpi_compile(&f, 1, vars, &errs, &nerrs, &rep, &err);
    assert_non_null(d);
    gh_dpi_scratch *scr = gh_dpi_scratch_new(d, &err);
    assert_non_null(scr);
    for (size_t i = 0; i < nerrs && i < 10; i++)
        printf("error: %s:%u:%u: %s\n", errs[i].loc.file, errs[i].loc.line, errs[i].loc.col,
               errs[i].message);
    printf("ET subset: %zu rules (%zu check errors in file), loaded %zu, skipped %zu "
           "(unsupported %zu, errors %zu); no fast pattern %zu; %zu patterns in %zu databases, "
           "%zu bytes; scratch %zu bytes; memory %zu bytes\n",
           rep.rules, f->n_errors, rep.loaded, rep.skipped, rep.skipped_unsupported,
           rep.skipped_error, rep.no_fast_pattern, rep.patterns, rep.databases, rep.db_bytes,
           gh_dpi_scratch_size(scr), gh_dpi_memory(d));
    gh_dpi_scratch_free(scr);
    printf("  skipped by keyword:");
    for (size_t i = 0; i < rep.n_kw; i++)
        printf(" %s=%zu", rep.kw[i].keyword, rep.kw[i].rules);
    printf("\n");
    assert_int_equal(nerrs, 0);
    assert_true(rep.loaded > 0);
    assert_int_equal(rep.loaded + rep.skipped, rep.rules);

    /* smoke: scan a few payloads; every hit must really contain its fast pattern */
    gh_dpi_scratch *s = gh_dpi_scratch_new(d, &err);
    assert_non_null(s);
    const char *pls[] = {
        "GET /index.php?id=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Mozilla/5.0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><OBJECT classid=\"clsid:"
        "66757BFC-DA0C-41E6-B3FE-B6D461223FF5\">SaveFormat</OBJECT>",
        "USER anonymous\r\nPASS guest\r\n"};
    gh_pkt_state sts[2] = {{.has_flow = true, .established = true, .to_server = true},
                           {.has_flow = true, .established = true}};
    size_t total = 0;
    for (size_t i = 0; i < 3; i++)
        for (int dir = 0; dir < 2; dir++) {
            gh_packet p = mkpkt(6, dir ? "8.8.8.8" : "192.168.1.5", dir ? 80 : 40000,
                                dir ? "192.168.1.5" : "8.8.8.8", dir ? 40000 : 80, pls[i],
                                strlen(pls[i]));
            gh_dpi_match m[32];
            size_t n = gh_dpi_match_packet(d, s, &p, &sts[dir], p.payload, p.payload_len, m, 32);
            for (size_t j = 0; j < n; j++) {
                const gh_dpi_sig_info *in = gh_dpi_sig(d, m[j].idx);
                printf("  payload %zu dir %d: sid %u %s\n", i, dir, in->sid, in->msg);
            }
            total += n;
        }
    gh_dpi_scratch_stats sst;
    gh_dpi_scratch_get_stats(s, &sst);
    printf("  smoke: %zu alerts, %llu candidates verified\n", total,
           (unsigned long long)sst.candidates);
    gh_dpi_scratch_free(s);
    gh_dpi_free(d);
    free(errs);
    gh_rule_file_free(f);
    gh_rule_vars_free(vars);
}

/* ---- stream windows ---------------------------------------------------------- */

/* gh_dpi_match_stream on the window stream[S, E) whose bytes from @nf
 * (stream offset) on are new; the packet carries the new bytes. */
static size_t srun(pb_rules *L, const char *stream, size_t S, size_t E, size_t nf, unsigned flags,
                   gh_dpi_match *out, size_t max)
{
    gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, stream + nf, E - nf);
    return gh_dpi_match_stream(L->d, L->s, &p, NULL, (const uint8_t *)stream + S, E - S, S,
                               nf - S, flags, out, max);
}

/* Did sid @sid fire on that window? */
static bool sfires(pb_rules *L, uint32_t sid, const char *stream, size_t S, size_t E, size_t nf)
{
    gh_dpi_match m[16];
    size_t n = srun(L, stream, S, E, nf, 0, m, 16);
    size_t hits = 0;
    for (size_t i = 0; i < n; i++)
        hits += m[i].sid == sid;
    assert_true(hits <= 1);
    return hits == 1;
}

static void test_stream_split(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"EVIL\"; sid:1;)\n", NULL);
    const char *st = "xxEVILyyEVILzz";
    assert_false(sfires(&L, 1, st, 0, 4, 0));  /* "xxEV" */
    assert_true(sfires(&L, 1, st, 0, 6, 4));   /* "IL" arrives: once */
    assert_false(sfires(&L, 1, st, 0, 8, 6));  /* "yy": EVIL still in the window */
    assert_false(sfires(&L, 1, st, 2, 8, 6));  /* the window slid: still not again */
    assert_false(sfires(&L, 1, st, 0, 8, 8));  /* no new bytes */
    assert_true(sfires(&L, 1, st, 0, 12, 8));  /* a second occurrence, past the first */
    assert_true(sfires(&L, 1, st, 0, 12, 11)); /* its last byte alone is new */
    assert_false(sfires(&L, 1, st, 0, 14, 12));
    /* the whole occurrence in one delivery, and new_from past len counts as len */
    assert_true(sfires(&L, 1, "EVIL", 0, 4, 0));
    gh_dpi_match m[2];
    gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, "", 0);
    assert_int_equal(gh_dpi_match_stream(L.d, L.s, &p, NULL, (const uint8_t *)"EVIL", 4, 0, 9,
                                         0, m, 2), 0);
    pb_rules_free(&L);

    /* nocase and a fast pattern that is not the last keyword */
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"ab\"; fast_pattern; content:\"cd\"; "
                      "nocase; sid:2;)\n", NULL);
    assert_false(sfires(&L, 2, "abxxCD", 0, 3, 0));
    assert_true(sfires(&L, 2, "abxxCD", 0, 6, 3));
    assert_false(sfires(&L, 2, "abxxCDzz", 0, 8, 6));
    assert_true(sfires(&L, 2, "abxxCDzzab", 0, 10, 8)); /* the new "ab" completes a match */
    pb_rules_free(&L);
}

static void test_stream_absolute(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"GET\"; depth:3; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"abc\"; offset:10; depth:3; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"GET\"; startswith; sid:3;)\n"
                      "alert tcp any any -> any any (content:\"x\"; isdataat:20; sid:4;)\n"
                      "alert tcp any any -> any any (pcre:\"/^GET/\"; sid:5;)\n"
                      "alert tcp any any -> any any (content:\"END\"; endswith; sid:6;)\n"
                      "alert tcp any any -> any any (pcre:\"/GET/A\"; sid:7;)\n", NULL);
    const char *g = "GET / GET /";
    for (uint32_t sid = 1; sid <= 7; sid++) {
        if (sid == 2 || sid == 4 || sid == 6)
            continue;
        assert_true(sfires(&L, sid, g, 0, 5, 0));
        assert_false(sfires(&L, sid, g, 0, 11, 5)); /* "GET" again, not at the start */
        assert_false(sfires(&L, sid, g, 6, 11, 6)); /* the window starts with GET at offset 6 */
        assert_false(sfires(&L, sid, g, 6, 11, 9));
    }
    /* GET delivered in two parts: the match needs the new "T" */
    assert_true(sfires(&L, 1, g, 0, 3, 2));
    assert_true(sfires(&L, 5, g, 0, 3, 2));
    const char *o = "0123456789abcabc";
    assert_false(sfires(&L, 2, o, 0, 12, 0));
    assert_true(sfires(&L, 2, o, 8, 13, 12));  /* stream offset 10, window offset 2 */
    assert_false(sfires(&L, 2, o, 10, 16, 13)); /* "abc" at 13 is past the depth */
    assert_false(sfires(&L, 2, o, 0, 16, 13));
    /* isdataat:20 needs the byte at stream offset 20 */
    const char *x = "x...................!.";
    assert_false(sfires(&L, 4, x, 0, 20, 0));
    assert_true(sfires(&L, 4, x, 0, 21, 20));
    assert_false(sfires(&L, 4, x, 15, 21, 20)); /* the x is no longer in the window */
    pb_rules_free(&L);
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"x\"; isdataat:20; sid:4;)\n"
                      "alert tcp any any -> any any (content:\"END\"; endswith; sid:6;)\n", NULL);
    assert_true(sfires(&L, 4, "...x................!", 0, 21, 20));
    assert_false(sfires(&L, 4, ".....................", 0, 21, 20));
    assert_false(sfires(&L, 4, "...x................!.", 0, 22, 21)); /* byte 20 was there */
    assert_true(sfires(&L, 4, "...x................!..x", 10, 24, 23)); /* the new x */
    /* endswith: the end of the window is the end of the data so far */
    assert_true(sfires(&L, 6, "aaEND", 0, 5, 4));
    assert_false(sfires(&L, 6, "aaENDb", 0, 6, 5));
    assert_true(sfires(&L, 6, "aaENDbEND", 3, 9, 6));
    pb_rules_free(&L);
}

static void test_stream_relative(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"AB\"; content:\"CD\"; distance:2; "
                      "within:4; "
                      "sid:1;)\n"
                      "alert tcp any any -> any any (content:\"AB\"; isdataat:3,relative; sid:2;)\n"
                      "alert tcp any any -> any any (content:\"AB\"; pcre:\"/^..CD/R\"; sid:3;)\n",
                      NULL);
    /* AB in one delivery, CD in the next */
    const char *a = "xAByyCDzzzzzzCD";
    assert_false(sfires(&L, 1, a, 0, 4, 0));
    assert_true(sfires(&L, 1, a, 0, 7, 4));
    assert_true(sfires(&L, 3, a, 0, 7, 4));
    assert_false(sfires(&L, 1, a, 0, 15, 7)); /* a new CD too far from AB */
    assert_false(sfires(&L, 3, a, 0, 15, 7));
    /* backtracking: the first AB is too far, the second one pairs with the new CD */
    const char *b = "ABzzzzzzABzzCD";
    assert_false(sfires(&L, 1, b, 0, 12, 0));
    assert_true(sfires(&L, 1, b, 0, 14, 12));
    assert_true(sfires(&L, 3, b, 0, 14, 12));
    assert_true(sfires(&L, 1, b, 8, 14, 13)); /* window from the second AB */
    assert_false(sfires(&L, 1, b, 9, 14, 13)); /* AB cut by the window: the chain is gone */
    /* isdataat relative: the bytes it needs arriving later make the match */
    const char *c = "xABxyzw";
    assert_false(sfires(&L, 2, c, 0, 3, 0));
    assert_false(sfires(&L, 2, c, 0, 5, 3));
    assert_true(sfires(&L, 2, c, 0, 6, 5));
    assert_false(sfires(&L, 2, c, 0, 7, 6));
    pb_rules_free(&L);

    /* negative distance across the boundary */
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"CD\"; content:\"AB\"; distance:-4; "
                      "within:4; sid:1;)\n", NULL);
    assert_false(sfires(&L, 1, "ABCD", 0, 2, 0));
    assert_true(sfires(&L, 1, "ABCD", 0, 4, 2));
    pb_rules_free(&L);
}

static void test_stream_negated(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any any (content:\"AB\"; content:!\"ZZ\"; sid:1;)\n"
                      "alert tcp any any -> any any (content:\"AB\"; content:!\"CD\"; distance:0; "
                      "within:4; sid:2;)\n"
                      "alert tcp any any -> any any (content:!\"QQ\"; sid:3;)\n", NULL);
    const char *s1 = "ZZxxxAB";
    assert_false(sfires(&L, 1, s1, 0, 7, 5)); /* ZZ in the window */
    assert_true(sfires(&L, 1, s1, 2, 7, 5));  /* ZZ slid out of the window */
    /* AB then CD right after: the first call reports, the second must not */
    const char *s2 = "xABCD";
    assert_true(sfires(&L, 2, s2, 0, 3, 0));
    assert_false(sfires(&L, 2, s2, 0, 5, 3));
    assert_false(sfires(&L, 2, "xAB", 0, 3, 3)); /* no new bytes */
    /* AB whose CD comes later, and a second AB that is followed by none */
    assert_true(sfires(&L, 2, "ABCDxAB", 0, 7, 5));
    assert_false(sfires(&L, 2, "ABCDxABxCD", 0, 10, 7));
    /* only negated keywords: every call that delivers bytes, when they hold */
    assert_true(sfires(&L, 3, "abc", 0, 3, 2));
    assert_false(sfires(&L, 3, "abc", 0, 3, 3));
    assert_false(sfires(&L, 3, "aQQbc", 0, 5, 4));
    pb_rules_free(&L);
}

static void test_stream_header_only(void **state)
{
    (void)state;
    pb_rules L;
    pb_rules_load(&L, "alert tcp any any -> any 80 (flags:PA; sid:1;)\n"
                      "alert tcp any any -> any any (dsize:2; content:\"EVIL\"; sid:2;)\n"
                      "alert tcp any any -> any any (dsize:4; content:\"EVIL\"; sid:3;)\n"
                      "alert tcp any any -> any any (flow:no_stream; content:\"EVIL\"; sid:4;)\n"
                      "alert tcp any any -> any any (flow:only_stream; content:\"EVIL\"; sid:5;)\n"
                      "alert tcp any any -> any any (flow:no_stream; sid:6;)\n"
                      "alert tcp any any -> any 81 (flags:PA; sid:7;)\n", NULL);
    assert_int_equal(L.rep.loaded, 7);
    assert_true(gh_dpi_sig(L.d, 3)->no_stream);
    assert_false(gh_dpi_sig(L.d, 3)->only_stream);
    assert_true(gh_dpi_sig(L.d, 4)->only_stream);
    assert_false(gh_dpi_sig(L.d, 0)->no_stream || gh_dpi_sig(L.d, 0)->only_stream);
    gh_dpi_match m[8];
    /* "EV" then "IL": the packet carries 2 bytes, so dsize:2 holds */
    size_t n = srun(&L, "EVIL", 0, 4, 2, 0, m, 8);
    assert_int_equal(n, 3);
    assert_int_equal(m[0].sid, 1);
    assert_int_equal(m[1].sid, 2);
    assert_int_equal(m[2].sid, 5);
    /* header-only: evaluated even without new bytes, and skipped on request */
    n = srun(&L, "EVIL", 0, 4, 4, 0, m, 8);
    assert_int_equal(n, 1);
    assert_int_equal(m[0].sid, 1);
    n = srun(&L, "EVIL", 0, 4, 2, GH_DPI_STREAM_SKIP_HEADER_ONLY, m, 8);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].sid, 2);
    assert_int_equal(m[1].sid, 5);
    assert_int_equal(srun(&L, "EVIL", 0, 4, 4, GH_DPI_STREAM_SKIP_HEADER_ONLY, m, 8), 0);
    /* whole packet of 4: dsize:4 */
    n = srun(&L, "EVIL", 0, 4, 0, GH_DPI_STREAM_SKIP_HEADER_ONLY, m, 8);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].sid, 3);
    assert_int_equal(m[1].sid, 5);
    /* the packet-only pass: only flow:no_stream signatures */
    gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, "EVIL", 4);
    n = gh_dpi_match_packet_ex(L.d, L.s, &p, NULL, p.payload, p.payload_len,
                               GH_DPI_PACKET_ONLY_NO_STREAM, m, 8);
    assert_int_equal(n, 2);
    assert_int_equal(m[0].sid, 4);
    assert_int_equal(m[1].sid, 6);
    /* flags 0 is gh_dpi_match_packet: no only_stream */
    n = gh_dpi_match_packet_ex(L.d, L.s, &p, NULL, p.payload, p.payload_len, 0, m, 8);
    assert_int_equal(n, 4);
    assert_int_equal(m[0].sid, 1);
    assert_int_equal(m[1].sid, 3);
    assert_int_equal(m[2].sid, 4);
    assert_int_equal(m[3].sid, 6);
    assert_int_equal(run(&L, &p, NULL, m, 8), 4);
    /* max bounds the output */
    assert_int_equal(srun(&L, "EVIL", 0, 4, 2, 0, m, 1), 1);
    assert_int_equal(m[0].sid, 1);
    pb_rules_free(&L);
}

/* Naive reference for a window: positions are stream offsets, the window is
 * [S, E), the new bytes start at nf. h(i, prev, reached): can keywords i..
 * complete with previous match end prev, and does the match reach past nf
 * (reached: the part so far already does)? Memoized, else it is exponential. */
enum { SW = 256, SMAXLEN = 480, SMAXDELIV = 40 };
typedef struct nwin {
    const nrule *r;
    const char *buf;
    int S, E, nf;
    signed char memo[2][6][SMAXLEN + 1]; /* 0 unknown, 1 yes, -1 no */
} nwin;

static bool nwin_at(const nwin *w, const ncontent *k, int s, int prev)
{
    if (s < w->S || s + k->len > w->E)
        return false;
    for (int i = 0; i < k->len; i++) {
        char a = w->buf[s + i], b = k->pat[i];
        if (k->nocase ? lower(a) != lower(b) : a != b)
            return false;
    }
    if (k->startswith && s != 0)
        return false;
    if (k->endswith && s + k->len != w->E)
        return false;
    if (k->rel) {
        int base = prev + (k->has_dist ? k->dist : 0);
        if (s < base || (k->has_within && s + k->len > base + k->within))
            return false;
    } else {
        if (k->has_off && s < k->off)
            return false;
        if (k->has_depth && s + k->len > (k->has_off ? k->off : 0) + k->depth)
            return false;
    }
    return true;
}

static bool nwin_h(nwin *w, int i, int prev, bool reached, bool anypos)
{
    const nrule *r = w->r;
    if (i == r->n) /* a chain of negated contents only: the window is the extent */
        return reached || (!anypos && w->E > w->nf);
    signed char *m = &w->memo[reached][i][prev];
    if (anypos && *m)
        return *m > 0;
    const ncontent *k = &r->c[i];
    bool ok = false;
    if (k->neg) {
        ok = true;
        for (int s = w->S; s < w->E && ok; s++)
            if (nwin_at(w, k, s, prev))
                ok = false;
        ok = ok && nwin_h(w, i + 1, prev, reached, anypos);
    } else {
        for (int s = w->S; s < w->E && !ok; s++)
            if (nwin_at(w, k, s, prev))
                ok = nwin_h(w, i + 1, s + k->len, reached || s + k->len > w->nf, true);
    }
    if (anypos)
        *m = ok ? 1 : -1;
    return ok;
}

static bool nwin_match(nwin *w, const nrule *r, const char *buf, int S, int E, int nf)
{
    w->r = r;
    w->buf = buf;
    w->S = S;
    w->E = E;
    w->nf = nf;
    memset(w->memo, 0, sizeof(w->memo));
    return nwin_h(w, 0, S, false, false);
}

static void test_stream_differential(void **state)
{
    (void)state;
    srand(777);
    enum { BATCHES = 20, RULES = 40, STREAMS = 4 };
    static nrule rules[RULES];
    static char text[RULES * 400];
    static nwin w;
    static const char salpha[] = "abcABxy";
    size_t calls = 0, reports = 0, wholes = 0, bounded_checks = 0;
    for (int b = 0; b < BATCHES; b++) {
        size_t tw = 0;
        for (int i = 0; i < RULES; i++) {
            char one[400];
            gen_rule(&rules[i], one, sizeof(one), (uint32_t)(i + 1), &SHORT);
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw, "%s", one);
        }
        pb_rules L;
        pb_rules_load(&L, text, NULL);
        assert_int_equal(L.nerrs, 0);
        assert_int_equal(L.rep.loaded, RULES);
        for (int t = 0; t < STREAMS; t++) {
            char st[SMAXLEN];
            int len = SMAXLEN / 2 + rand() % (SMAXLEN / 2);
            for (int j = 0; j < len; j++)
                st[j] = salpha[rand() % (sizeof(salpha) - 1)];
            bool got_any[RULES] = {false};
            int E = 0;
            while (E < len) {
                int dl = rand() % 8 == 0 ? 0 : 1 + rand() % SMAXDELIV; /* 0: a pure ACK */
                int nf = E;
                E = E + dl > len ? len : E + dl;
                int S = E > SW ? E - SW : 0;
                gh_dpi_match m[RULES];
                size_t n = srun(&L, st, (size_t)S, (size_t)E, (size_t)nf, 0, m, RULES);
                bool got[RULES] = {false};
                for (size_t j = 0; j < n; j++) {
                    assert_false(got[m[j].sid - 1]);
                    got[m[j].sid - 1] = true;
                }
                for (int i = 0; i < RULES; i++) {
                    bool want = nwin_match(&w, &rules[i], st, S, E, nf);
                    if (want != got[i]) {
                        const char *line = text;
                        for (int k = 0; k < i; k++)
                            line = strchr(line, '\n') + 1;
                        printf("stream mismatch: window [%d,%d) new from %d of \"%.*s\": want %d "
                               "got %d for %.*s\n", S, E, nf, len, st, want, got[i],
                               (int)(strchr(line, '\n') - line), line);
                    }
                    assert_int_equal(want, got[i]);
                    got_any[i] |= got[i];
                    reports += got[i];
                }
                calls++;
            }
            /* Against the whole stream: for rules whose verdict does not
             * depend on the window (no negation, no endswith, first content
             * absolute), a report means the stream matches; when in addition
             * every later content is relative with within, a match spans
             * < 100 <= W - max delivery bytes, so the stream matching means it
             * was reported at least once. */
            for (int i = 0; i < RULES; i++) {
                const nrule *r = &rules[i];
                bool clean = !r->c[0].rel, bounded = true;
                for (int k = 0; k < r->n; k++) {
                    clean = clean && !r->c[k].neg && !r->c[k].endswith;
                    bounded = bounded && (k == 0 || (r->c[k].rel && r->c[k].has_within));
                }
                if (!clean)
                    continue;
                bool whole = nwin_match(&w, r, st, 0, len, -1);
                wholes += whole;
                if (got_any[i])
                    assert_true(whole);
                if (bounded) {
                    assert_int_equal(whole, got_any[i]);
                    bounded_checks++;
                }
            }
        }
        pb_rules_free(&L);
    }
    printf("stream differential: %zu calls, %zu reports, %zu whole-stream matches, %zu bounded "
           "checks\n", calls, reports, wholes, bounded_checks);
    assert_true(reports > 500);
    assert_true(bounded_checks > 50);
}

/* Sort matches by sid for comparing two lists. */
static int msid_cmp(const void *a, const void *b)
{
    const gh_dpi_match *x = a, *y = b;
    return x->sid < y->sid ? -1 : x->sid > y->sid;
}

static void expect_same(gh_dpi_match *a, size_t na, gh_dpi_match *b, size_t nb, const char *what)
{
    qsort(a, na, sizeof(*a), msid_cmp);
    qsort(b, nb, sizeof(*b), msid_cmp);
    if (na != nb) {
        printf("%s: %zu matches against %zu:", what, na, nb);
        for (size_t i = 0; i < na; i++)
            printf(" %u", a[i].sid);
        printf(" |");
        for (size_t i = 0; i < nb; i++)
            printf(" %u", b[i].sid);
        printf("\n");
    }
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++)
        assert_int_equal(a[i].sid, b[i].sid);
}

/* Incremental stream matching (Hyperscan streaming mode, hits kept while in
 * the window) must give exactly what the block scan of each window gives,
 * and the packet side (GH_DPI_PACKET_TCP_SIDE, from its own databases) what
 * the two calls it replaces gave: random rules (also ip, flow:no_stream,
 * directions, header-only), random streams in random deliveries, both
 * directions, windows sliding. Many rules share short fast patterns, so the
 * pending list overflows and the block fallback is exercised too. */
static void test_stream_incremental(void **state)
{
    (void)state;
    srand(4242);
    enum { BATCHES = 16, MAXRULES = 200, STREAMS = 6 };
    static char text[MAXRULES * 420];
    static const char salpha[] = "abcABxy";
    size_t windows = 0, reports = 0, side_reports = 0;
    uint64_t fallbacks = 0;
    for (int b = 0; b < BATCHES; b++) {
        int nrules = b % 2 ? MAXRULES : 12;
        size_t tw = 0;
        for (int i = 0; i < nrules; i++) {
            nrule r;
            char one[400], hdr[200] = "";
            gen_rule(&r, one, sizeof(one), (uint32_t)(i + 1), &SHORT);
            int v = rand() % 10;
            const char *proto = v == 0 ? "ip" : "tcp";
            const char *extra = v == 1 ? "flow:no_stream; "
                              : v == 2 ? "flow:to_server; "
                              : v == 3 ? "flow:to_client; "
                              : v == 4 ? "dsize:>3; " : "";
            if (rand() % 12 == 0) { /* header-only */
                tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                                       "alert %s any any -> any any (%ssid:%d;)\n", proto, extra,
                                       i + 1);
                continue;
            }
            snprintf(hdr, sizeof(hdr), "alert %s any any -> any any (%s", proto, extra);
            const char *body = strchr(one, '(') + 1;
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw, "%s%s", hdr, body);
        }
        pb_rules L;
        pb_rules_load(&L, text, NULL);
        assert_int_equal(L.nerrs, 0);
        assert_int_equal(L.rep.loaded, (size_t)nrules);
        gh_dpi_stream *ds[2] = {gh_dpi_stream_new(), gh_dpi_stream_new()};
        assert_non_null(ds[0]);
        assert_non_null(ds[1]);
        for (int t = 0; t < STREAMS; t++) {
            char st[2][SMAXLEN];
            int len[2], E[2] = {0, 0};
            for (int d = 0; d < 2; d++) {
                len[d] = SMAXLEN / 2 + rand() % (SMAXLEN / 2);
                for (int j = 0; j < len[d]; j++)
                    st[d][j] = salpha[rand() % (sizeof(salpha) - 1)];
                gh_dpi_stream_reset(ds[d]);
            }
            /* a stream that starts mid-way (stream offsets not from 0) */
            uint64_t off0 = t % 3 == 2 ? 1000 : 0;
            while (E[0] < len[0] || E[1] < len[1]) {
                int d = E[0] >= len[0] ? 1 : E[1] >= len[1] ? 0 : rand() % 2;
                int dl = rand() % 8 == 0 ? 0 : 1 + rand() % SMAXDELIV;
                int nf = E[d];
                E[d] = E[d] + dl > len[d] ? len[d] : E[d] + dl;
                int S = E[d] > SW ? E[d] - SW : 0;
                gh_pkt_state ps = {.has_flow = true, .established = true, .to_server = d == 0};
                gh_packet p = d ? mkpkt(6, "10.0.0.2", 80, "10.0.0.1", 1234, st[d] + nf,
                                        (size_t)(E[d] - nf))
                                : mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, st[d] + nf,
                                        (size_t)(E[d] - nf));
                gh_dpi_match a[MAXRULES], bl[MAXRULES], ph[MAXRULES];
                gh_dpi_stream_packet_begin(L.s);
                size_t na = gh_dpi_match_stream_inc(L.d, L.s, ds[d], &p, &ps,
                                                    (const uint8_t *)st[d] + S,
                                                    (size_t)(E[d] - S), off0 + (uint64_t)S,
                                                    (size_t)(nf - S), 0, a, MAXRULES);
                size_t nb = gh_dpi_match_stream(L.d, L.s, &p, &ps, (const uint8_t *)st[d] + S,
                                                (size_t)(E[d] - S), off0 + (uint64_t)S,
                                                (size_t)(nf - S),
                                                GH_DPI_STREAM_SKIP_HEADER_ONLY |
                                                    GH_DPI_STREAM_SKIP_ANCHORED,
                                                bl, MAXRULES);
                expect_same(a, na, bl, nb, "incremental vs block window");
                reports += na;
                windows++;
                /* the packet side: from the stream calls' hits (the packet's
                 * bytes were all new), and by its own scan */
                static const uint8_t none[1];
                size_t nh = gh_dpi_match_packet_ex(L.d, L.s, &p, &ps, p.payload, p.payload_len,
                                                   GH_DPI_PACKET_TCP_SIDE |
                                                       GH_DPI_PACKET_STREAM_HITS,
                                                   ph, MAXRULES);
                na = gh_dpi_match_packet_ex(L.d, L.s, &p, &ps, p.payload, p.payload_len,
                                            GH_DPI_PACKET_TCP_SIDE, a, MAXRULES);
                nb = gh_dpi_match_stream(L.d, L.s, &p, &ps, none, 0, 0, 0, 0, bl, MAXRULES);
                nb += gh_dpi_match_packet_ex(L.d, L.s, &p, &ps, p.payload, p.payload_len,
                                             GH_DPI_PACKET_ONLY_NO_STREAM |
                                                 GH_DPI_PACKET_ANCHORED,
                                             bl + nb, MAXRULES - nb);
                expect_same(a, na, bl, nb, "packet side");
                expect_same(ph, nh, bl, nb, "packet side from stream hits");
                side_reports += na;
            }
        }
        gh_dpi_scratch_stats sst;
        gh_dpi_scratch_get_stats(L.s, &sst);
        fallbacks += sst.block_fallbacks;
        assert_true(gh_dpi_stream_size(ds[0]) > sizeof(void *));
        gh_dpi_stream_free(ds[0]);
        gh_dpi_stream_free(ds[1]);
        pb_rules_free(&L);
    }
    printf("incremental streams: %zu windows, %zu reports, %zu packet-side reports, "
           "%llu block fallbacks\n", windows, reports, side_reports,
           (unsigned long long)fallbacks);
    assert_true(reports > 300);
    assert_true(side_reports > 100);
    assert_true(fallbacks > 0); /* the overflow path ran */
}

/* A stream's Hyperscan state and pending hits belong to the ruleset they
 * were made on: a stream carried over to another ruleset (a reload) starts
 * again on the new databases, whatever address the new ruleset has (glibc
 * usually hands the freed one out again), and its windows then match as a
 * block scan of the new ruleset does. */
static void test_stream_ruleset_swap(void **state)
{
    (void)state;
    srand(4343);
    enum { NR = 60, SWAPS = 12 };
    static char text[NR * 420];
    static const char salpha[] = "abcABxy";
    gh_dpi_stream *ds = gh_dpi_stream_new();
    assert_non_null(ds);
    size_t reports = 0;
    pb_rules L = {0};
    for (int k = 0; k < SWAPS; k++) {
        size_t tw = 0;
        for (int i = 0; i < NR; i++) {
            nrule r;
            char one[400];
            gen_rule(&r, one, sizeof(one), (uint32_t)(k * NR + i + 1), &SHORT);
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw, "%s", one);
        }
        if (L.d)
            pb_rules_free(&L); /* the old ruleset goes first: its address may come back */
        pb_rules_load(&L, text, NULL);
        assert_int_equal(L.nerrs, 0);
        /* the stream goes on from where the last ruleset left it */
        char st[SMAXLEN];
        for (int j = 0; j < SMAXLEN; j++)
            st[j] = salpha[rand() % (sizeof(salpha) - 1)];
        uint64_t base = (uint64_t)k * SMAXLEN;
        for (int E = 0; E < SMAXLEN;) {
            int nf = E;
            E += 1 + rand() % SMAXDELIV;
            if (E > SMAXLEN)
                E = SMAXLEN;
            int S = E > SW ? E - SW : 0;
            gh_pkt_state ps = {.has_flow = true, .established = true, .to_server = true};
            gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, st + nf, (size_t)(E - nf));
            gh_dpi_match a[NR], bl[NR];
            gh_dpi_stream_packet_begin(L.s);
            size_t na = gh_dpi_match_stream_inc(L.d, L.s, ds, &p, &ps, (const uint8_t *)st + S,
                                                (size_t)(E - S), base + (uint64_t)S,
                                                (size_t)(nf - S), 0, a, NR);
            size_t nb = gh_dpi_match_stream(L.d, L.s, &p, &ps, (const uint8_t *)st + S,
                                            (size_t)(E - S), base + (uint64_t)S, (size_t)(nf - S),
                                            GH_DPI_STREAM_SKIP_HEADER_ONLY |
                                                GH_DPI_STREAM_SKIP_ANCHORED,
                                            bl, NR);
            expect_same(a, na, bl, nb, "stream carried over to another ruleset");
            reports += na;
        }
    }
    printf("ruleset swaps: %zu reports\n", reports);
    assert_true(reports > 50);
    gh_dpi_stream_free(ds);
    pb_rules_free(&L);
}

/* Port groups change which databases a packet scans, never what matches:
 * the same rules compiled with 8 groups and with 1 must give identical
 * results on packets (both orientations and without flow state), on the
 * packet side of TCP streams and on incremental stream windows. Rules get
 * random port constraints (single ports, ranges, lists, negations, <>);
 * packets use ports at and around the constraints' edges. */
static const char *const rport[] = {
    "any", "80", "!80", "[80,443]", "[1024:]", "[:1023]", "[21,139:445]", "![139,445]",
    "[8000:8080,9000]", "445", "21", "[80:81]", "any", "any"};
static const uint16_t pports[] = {0, 1, 20, 21, 22, 79, 80, 81, 82, 138, 139, 140, 443, 444,
                                  445, 446, 1023, 1024, 5000, 8000, 8080, 8081, 9000, 65535};

/* Address classes change which databases a packet scans, never what
 * matches: rules whose addresses are a dominant home set, its complement,
 * any, single hosts, mixed lists, IPv6, negations and <>, compiled with
 * and without the classes, must give identical results on packets of every
 * class (both orientations and without flow state), on the packet side of
 * TCP streams and on incremental stream windows (a stream per address pair,
 * so each keeps its class). */
static const char *const raddr[] = {
    "[10.0.0.0/8,192.168.0.0/16]", "![10.0.0.0/8,192.168.0.0/16]",
    "[10.0.0.0/8,192.168.0.0/16]", "![10.0.0.0/8,192.168.0.0/16]",
    "any", "10.1.2.3", "[1.2.3.0/24,10.9.9.9]", "!10.0.0.5", "[192.168.1.0/24,8.8.8.8]",
    "2001:db8::1", "[2001:db8::/32,10.0.0.0/8]", "![2001:db8::/32,1.2.3.4]"};
static const char *const paddr[] = {"10.0.0.5", "10.1.2.3", "192.168.1.7", "8.8.8.8",
                                    "1.2.3.4", "10.9.9.9", "172.16.0.1", "9.9.9.9",
                                    "v6:2001:db8::1", "v6:fe80::1"};

static void set_addr(gh_packet *p, gh_addr *a, const char *s)
{
    if (strncmp(s, "v6:", 3)) {
        set_ip4(a, s);
        return;
    }
    memset(a, 0, sizeof(*a));
    assert_int_equal(inet_pton(AF_INET6, s + 3, a->b), 1);
    p->ip_ver = 6;
}

static void test_addr_classes(void **state)
{
    (void)state;
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    enum { BATCHES = 10, RULES = 160, PKTS = 500, FLOWS = 6 };
    static char text[RULES * 520];
    size_t total = 0, classed = 0;
    for (int b = 0; b < BATCHES; b++) {
        size_t tw = 0;
        for (int i = 0; i < RULES; i++) {
            nrule r;
            char one[400];
            srand((unsigned)pb_rng(&rng));
            gen_rule(&r, one, sizeof(one), (uint32_t)(i + 1), &SHORT);
            int v = (int)(pb_rng(&rng) % 6);
            const char *extra = v == 1 ? "flow:to_server; " : v == 2 ? "flow:no_stream; " : "";
            const char *proto = pb_rng(&rng) % 5 == 0 ? "ip" : pb_rng(&rng) % 5 == 0 ? "udp" : "tcp";
            const char *src = raddr[pb_rng(&rng) % (sizeof(raddr) / sizeof(raddr[0]))];
            const char *dst = raddr[pb_rng(&rng) % (sizeof(raddr) / sizeof(raddr[0]))];
            const char *arrow = pb_rng(&rng) % 6 == 0 ? "<>" : "->";
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw, "alert %s %s any %s %s any (%s%s",
                                   proto, src, arrow, dst, extra, strchr(one, '(') + 1);
        }
        gh_error err = {0};
        gh_rule_file *f =
            gh_rules_parse_buffer("t.rules", text, strlen(text), GH_RULE_TIER_SIGNATURE, &err);
        assert_non_null(f);
        assert_int_equal(gh_rules_check(f, NULL), 0);
        gh_dpi_options oc, o1;
        gh_dpi_options_init(&oc);
        gh_dpi_options_init(&o1);
        o1.addr_classes = false;
        gh_dpi_load_report rc, r1;
        gh_dpi *dc = gh_dpi_compile_ex(&f, 1, NULL, &oc, NULL, NULL, &rc, &err);
        gh_dpi *d1 = gh_dpi_compile_ex(&f, 1, NULL, &o1, NULL, NULL, &r1, &err);
        assert_non_null(dc);
        assert_non_null(d1);
        assert_int_equal(rc.loaded, RULES);
        assert_int_equal(r1.addr_classes, 1);
        classed += rc.addr_classes == 4;
        gh_dpi_scratch *sc = gh_dpi_scratch_new(dc, &err), *s1 = gh_dpi_scratch_new(d1, &err);
        assert_true(sc && s1);
        gh_dpi_stream *dsc[FLOWS], *ds1[FLOWS];
        const char *fsrc[FLOWS], *fdst[FLOWS];
        int E[FLOWS] = {0};
        for (int k = 0; k < FLOWS; k++) {
            dsc[k] = gh_dpi_stream_new();
            ds1[k] = gh_dpi_stream_new();
            assert_true(dsc[k] && ds1[k]);
            fsrc[k] = paddr[pb_rng(&rng) % 8]; /* IPv4: the streams use mkpkt's addresses */
            fdst[k] = paddr[pb_rng(&rng) % 8];
        }
        char st[SMAXLEN];
        for (int j = 0; j < SMAXLEN; j++)
            st[j] = "abcABxy"[pb_rng(&rng) % 7];
        for (int k = 0; k < PKTS; k++) {
            int dl = 1 + (int)(pb_rng(&rng) % 24), at = (int)(pb_rng(&rng) % (SMAXLEN - dl));
            uint8_t proto = pb_rng(&rng) % 4 == 0 ? 17 : 6;
            gh_packet p = mkpkt(proto, "1.1.1.1", 1000, "2.2.2.2", 80, st + at, (size_t)dl);
            const char *a = paddr[pb_rng(&rng) % (sizeof(paddr) / sizeof(paddr[0]))];
            const char *c = paddr[pb_rng(&rng) % (sizeof(paddr) / sizeof(paddr[0]))];
            set_addr(&p, &p.src, a);
            set_addr(&p, &p.dst, c);
            if (p.ip_ver == 6 && strncmp(a, "v6:", 3)) /* one family for both */
                set_addr(&p, &p.src, "v6:fe80::1");
            if (p.ip_ver == 6 && strncmp(c, "v6:", 3))
                set_addr(&p, &p.dst, "v6:2001:db8::1");
            gh_pkt_state ps = {.has_flow = true, .established = true,
                               .to_server = pb_rng(&rng) % 2 == 0};
            const gh_pkt_state *pst = pb_rng(&rng) % 5 == 0 ? NULL : &ps;
            gh_dpi_match x[RULES], y[RULES];
            size_t nx = gh_dpi_match_packet(dc, sc, &p, pst, p.payload, p.payload_len, x, RULES);
            size_t ny = gh_dpi_match_packet(d1, s1, &p, pst, p.payload, p.payload_len, y, RULES);
            expect_same(x, nx, y, ny, "packet, classes vs none");
            total += nx;
            if (proto != 6)
                continue;
            nx = gh_dpi_match_packet_ex(dc, sc, &p, &ps, p.payload, p.payload_len,
                                        GH_DPI_PACKET_TCP_SIDE, x, RULES);
            ny = gh_dpi_match_packet_ex(d1, s1, &p, &ps, p.payload, p.payload_len,
                                        GH_DPI_PACKET_TCP_SIDE, y, RULES);
            expect_same(x, nx, y, ny, "packet side, classes vs none");
            total += nx;
            /* a stream of one of the flows, fed along */
            int fl = (int)(pb_rng(&rng) % FLOWS);
            if (E[fl] + dl > SMAXLEN) {
                E[fl] = 0;
                gh_dpi_stream_reset(dsc[fl]);
                gh_dpi_stream_reset(ds1[fl]);
            }
            gh_packet q = mkpkt(6, fsrc[fl], 40000, fdst[fl], 445, st + E[fl], (size_t)dl);
            gh_pkt_state qs = {.has_flow = true, .established = true, .to_server = true};
            int S = E[fl] + dl > SW ? E[fl] + dl - SW : 0;
            nx = gh_dpi_match_stream_inc(dc, sc, dsc[fl], &q, &qs, (const uint8_t *)st + S,
                                         (size_t)(E[fl] + dl - S), (uint64_t)S,
                                         (size_t)(E[fl] - S), 0, x, RULES);
            ny = gh_dpi_match_stream_inc(d1, s1, ds1[fl], &q, &qs, (const uint8_t *)st + S,
                                         (size_t)(E[fl] + dl - S), (uint64_t)S,
                                         (size_t)(E[fl] - S), 0, y, RULES);
            expect_same(x, nx, y, ny, "stream, classes vs none");
            total += nx;
            E[fl] += dl;
        }
        for (int k = 0; k < FLOWS; k++) {
            gh_dpi_stream_free(dsc[k]);
            gh_dpi_stream_free(ds1[k]);
        }
        gh_dpi_scratch_free(sc);
        gh_dpi_scratch_free(s1);
        gh_dpi_free(dc);
        gh_dpi_free(d1);
        gh_rule_file_free(f);
    }
    printf("address classes: %zu matches compared, %zu of %d batches classed\n", total, classed,
           BATCHES);
    assert_true(total > 1000);
    assert_int_equal(classed, BATCHES);
}

/* HTTP body windows: the candidates a transaction's body tracks give (only
 * the new bytes scanned, each signature's latest fast-pattern occurrence
 * kept) are those of a block scan of each window: a body grown in random
 * steps, read by windows that move on as stream_inspect.c's do, through
 * file_data and http.response_body signatures with short patterns (many
 * occurrences, some across step boundaries), must alert on the same
 * windows either way; one body hits more signatures than a track keeps. */
typedef struct fake_body {
    const uint8_t *b;
    uint32_t len;
} fake_body;

static bool fake_get_buffer(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                            const uint8_t **b, uint32_t *len)
{
    (void)tx;
    const fake_body *fb = state;
    if (dir != 1 || idx != 0 || (id != GH_BUF_FILE_DATA && id != GH_BUF_HTTP_RESPONSE_BODY))
        return false;
    *b = fb->b;
    *len = fb->len;
    return true;
}

static void test_body_windows(void **state)
{
    (void)state;
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    enum { RULES = 120, BODY = 40000, ROUNDS = 16 };
    static char text[RULES * 200];
    static uint8_t body[BODY];
    size_t tw = 0;
    for (int i = 0; i < RULES; i++) {
        char pat[8], pat2[8];
        int pl = 2 + (int)(pb_rng(&rng) % 4), pl2 = 1 + (int)(pb_rng(&rng) % 3);
        for (int j = 0; j < pl; j++)
            pat[j] = "abcdAB"[pb_rng(&rng) % 6];
        for (int j = 0; j < pl2; j++)
            pat2[j] = "abcd"[pb_rng(&rng) % 4];
        pat[pl] = pat2[pl2] = 0;
        const char *buf = pb_rng(&rng) % 3 ? "file_data" : "http.response_body";
        if (pb_rng(&rng) % 2)
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                                   "alert http any any -> any any (flow:to_client; %s; "
                                   "content:\"%s\"; fast_pattern; content:\"%s\"; distance:0; "
                                   "within:%d; sid:%d;)\n", buf, pat, pat2,
                                   pl2 + (int)(pb_rng(&rng) % 4), i + 1);
        else
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                                   "alert http any any -> any any (flow:to_client; %s; "
                                   "content:\"%s\";%s sid:%d;)\n", buf, pat,
                                   pb_rng(&rng) % 3 ? "" : " nocase;", i + 1);
    }
    pb_rules a, r;
    pb_rules_load(&a, text, NULL);
    pb_rules_load(&r, text, NULL);
    assert_int_equal(a.nerrs, 0);
    assert_int_equal(a.rep.loaded, RULES);
    r.d->body_block = true;
    gh_app_ops ops;
    memset(&ops, 0, sizeof(ops));
    ops.get_buffer = fake_get_buffer;
    size_t alerts = 0, windows = 0, lost = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* rare patterns in most rounds, a dense mix in the last */
        const char *alpha = round == ROUNDS - 1 ? "abcdAB" : "abcdxyzXYZ0123456789";
        size_t na = strlen(alpha);
        for (int j = 0; j < BODY; j++)
            body[j] = (uint8_t)alpha[pb_rng(&rng) % na];
        fake_body fb = {body, 0};
        gh_app_tx txa, txr;
        memset(&txa, 0, sizeof(txa));
        memset(&txr, 0, sizeof(txr));
        gh_app_tx_start(&txa, 0);
        gh_app_tx_start(&txr, 0);
        gh_dpi_tx_view va = {.ops = &ops, .state = &fb, .tx = &txa, .windowed = true};
        gh_dpi_tx_view vr = va;
        vr.tx = &txr;
        gh_packet p = mkpkt(6, "10.0.0.2", 80, "10.0.0.1", 40000, NULL, 0);
        gh_pkt_state ps = {.has_flow = true, .established = true, .to_server = false,
                           .alproto = GH_ALPROTO_HTTP1};
        uint32_t from = 0;
        while (fb.len < BODY) {
            uint32_t step = 1 + (uint32_t)(pb_rng(&rng) % 700);
            fb.len = fb.len + step > BODY ? BODY : fb.len + step;
            /* the window moves on: from the previous start up to a window back */
            uint32_t back = (uint32_t)(pb_rng(&rng) % 9000);
            if (fb.len > back && fb.len - back > from)
                from = fb.len - back;
            va.file_from = vr.file_from = from;
            bool done = fb.len == BODY;
            gh_app_stage stg = done ? GH_STAGE_DONE : GH_STAGE_BODY;
            txa.progress[1] = txr.progress[1] = (uint8_t)stg;
            gh_dpi_match ma[RULES], mr[RULES];
            size_t n1 = gh_dpi_match_tx(a.d, a.s, &p, &ps, &va, 1, stg, ma, RULES);
            size_t n2 = gh_dpi_match_tx(r.d, r.s, &p, &ps, &vr, 1, stg, mr, RULES);
            expect_same(ma, n1, mr, n2, "body window, tracked vs block");
            alerts += n1;
            windows++;
        }
        gh_app_tx_release(&txa);
        gh_app_tx_release(&txr);
    }
    gh_dpi_scratch_stats sst;
    gh_dpi_scratch_get_stats(a.s, &sst);
    lost = sst.body_fallbacks;
    printf("body windows: %zu windows, %zu alerts, %zu windows scanned whole (a track full)\n",
           windows, alerts, lost);
    assert_true(alerts > 200);
    assert_true(lost > 0);
    pb_rules_free(&a);
    pb_rules_free(&r);
}

/* Transaction buffers complete before the body are scanned once per
 * transaction, their signatures of later stages waiting in it: the alerts
 * must be those of a direct evaluation of every signature at every stage
 * it is ready at. Random request transactions (uri, method, headers, user
 * agent, host, a body growing over several reports) go through random
 * stage jumps; random signatures of one to three contents over those
 * buffers, ready at any stage. Some transactions change ruleset on the way
 * (a reload: the same rules in reverse order, so the old indexes are
 * wrong), after which they are inspected afresh. A second part has more
 * signatures waiting than a transaction keeps, so those buffers are
 * scanned again each time. */
enum { TXB_N = 6 };
static const gh_buffer_id txb_ids[TXB_N] = {GH_BUF_HTTP_URI,        GH_BUF_HTTP_METHOD,
                                            GH_BUF_HTTP_HEADER,     GH_BUF_HTTP_USER_AGENT,
                                            GH_BUF_HTTP_HOST,       GH_BUF_HTTP_REQUEST_BODY};
static const char *const txb_kw[TXB_N] = {"http.uri", "http.method", "http.header",
                                          "http.user_agent", "http.host",
                                          "http.request_body"};

typedef struct fake_req {
    uint8_t b[TXB_N][64];
    uint32_t len[TXB_N];
    uint8_t progress;
} fake_req;

static int txb_slot(gh_buffer_id id)
{
    for (int k = 0; k < TXB_N; k++)
        if (txb_ids[k] == id)
            return k;
    return -1;
}

/* As the HTTP parser: a buffer exists once its stage is reached. */
static bool fake_req_buffer(void *state, gh_app_tx *tx, gh_buffer_id id, int dir, uint32_t idx,
                            const uint8_t **b, uint32_t *len)
{
    (void)tx;
    const fake_req *r = state;
    int k = txb_slot(id);
    if (dir != 0 || idx != 0 || k < 0 || r->progress < gh_buffer_get_info(id)->stage ||
        !r->len[k])
        return false;
    *b = r->b[k];
    *len = r->len[k];
    return true;
}

typedef struct txb_rule {
    int nseg;
    int buf[3];
    char pat[3][4];
    unsigned ready;
} txb_rule;

static bool txb_has(const fake_req *r, int k, const char *pat)
{
    size_t n = strlen(pat);
    if (r->progress < gh_buffer_get_info(txb_ids[k])->stage)
        return false;
    for (uint32_t i = 0; i + n <= r->len[k]; i++)
        if (!memcmp(r->b[k] + i, pat, n))
            return true;
    return false;
}

static bool txb_in_call(unsigned r, unsigned from, unsigned stage)
{
    return (r > from && r <= stage) ||
           (r == GH_STAGE_BODY && (stage == GH_STAGE_BODY || stage == GH_STAGE_DONE));
}

/* One transaction through random stage reports, inspected with L[0] and,
 * from report @p swap on (-1: never), with L[1]; returns the alerts. */
static size_t txb_run(pb_rules *const L[2], int swap, const txb_rule *rules, int nrules,
                      uint64_t *rng)
{
    fake_req req;
    memset(&req, 0, sizeof(req));
    for (int k = 0; k < TXB_N - 1; k++) {
        req.len[k] = (uint32_t)(pb_rng(rng) % 40);
        for (uint32_t i = 0; i < req.len[k]; i++)
            req.b[k][i] = (uint8_t)"abcdxy"[pb_rng(rng) % 6];
    }
    gh_app_ops ops;
    memset(&ops, 0, sizeof(ops));
    ops.get_buffer = fake_req_buffer;
    gh_app_tx tx;
    memset(&tx, 0, sizeof(tx));
    gh_app_tx_start(&tx, 0);
    gh_dpi_tx_view tv = {.ops = &ops, .state = &req, .tx = &tx};
    gh_packet p = mkpkt(6, "10.0.0.1", 40000, "10.0.0.2", 80, NULL, 0);
    gh_pkt_state ps = {.has_flow = true, .established = true, .to_server = true,
                       .alproto = GH_ALPROTO_HTTP1};
    bool *alerted = calloc((size_t)nrules, sizeof(*alerted));
    gh_dpi_match *out = malloc((size_t)nrules * sizeof(*out));
    gh_dpi_match *want = malloc((size_t)nrules * sizeof(*want));
    assert_non_null(alerted);
    assert_non_null(out);
    assert_non_null(want);
    size_t alerts = 0;
    unsigned from = GH_STAGE_NONE;
    for (int call = 0; from != GH_STAGE_DONE; call++) {
        if (call == swap) /* a new ruleset inspects afresh */
            memset(alerted, 0, (size_t)nrules * sizeof(*alerted));
        /* the next report: any later stage, or the body again */
        unsigned stage = from + 1 + (unsigned)(pb_rng(rng) % (GH_STAGE_DONE - from));
        if (from == GH_STAGE_BODY && pb_rng(rng) % 2)
            stage = GH_STAGE_BODY;
        if (stage >= GH_STAGE_BODY && req.len[TXB_N - 1] < 60) {
            uint32_t grow = (uint32_t)(pb_rng(rng) % 12);
            for (uint32_t i = 0; i < grow && req.len[TXB_N - 1] < 64; i++)
                req.b[TXB_N - 1][req.len[TXB_N - 1]++] = (uint8_t)"abcdxy"[pb_rng(rng) % 6];
        }
        req.progress = (uint8_t)stage;
        tx.progress[0] = (uint8_t)stage;
        size_t nw = 0;
        for (int i = 0; i < nrules; i++) {
            if (alerted[i] || !txb_in_call(rules[i].ready, from, stage))
                continue;
            bool ok = true;
            for (int k = 0; k < rules[i].nseg && ok; k++)
                ok = txb_has(&req, rules[i].buf[k], rules[i].pat[k]);
            if (ok) {
                alerted[i] = true;
                want[nw++] = (gh_dpi_match){.sid = (uint32_t)i + 1};
            }
        }
        const pb_rules *R = L[swap >= 0 && call >= swap];
        size_t n = gh_dpi_match_tx(R->d, R->s, &p, &ps, &tv, 0, (gh_app_stage)stage, out,
                                   (size_t)nrules);
        expect_same(out, n, want, nw, "transaction, scanned once vs direct");
        alerts += n;
        from = stage;
    }
    gh_app_tx_release(&tx);
    free(alerted);
    free(out);
    free(want);
    return alerts;
}

/* The rules as text, sid i + 1 for rule i, in order or in @p reverse. */
static char *txb_rules_text(const txb_rule *rules, int nrules, bool reverse)
{
    size_t cap = (size_t)nrules * 200 + 1, w = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    text[0] = 0;
    for (int j = 0; j < nrules; j++) {
        int i = reverse ? nrules - 1 - j : j;
        w += (size_t)snprintf(text + w, cap - w, "alert http any any -> any any (");
        for (int k = 0; k < rules[i].nseg; k++)
            w += (size_t)snprintf(text + w, cap - w, "%s; content:\"%s\"; ",
                                  txb_kw[rules[i].buf[k]], rules[i].pat[k]);
        w += (size_t)snprintf(text + w, cap - w, "sid:%d;)\n", i + 1);
    }
    return text;
}

static void txb_ready(txb_rule *r)
{
    r->ready = GH_STAGE_LINE;
    for (int k = 0; k < r->nseg; k++) {
        unsigned st = gh_buffer_get_info(txb_ids[r->buf[k]])->stage;
        if (st > r->ready)
            r->ready = st;
    }
}

static void test_tx_scan_once(void **state)
{
    (void)state;
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    enum { RULES = 300, TXS = 300, MANY = 1500 };
    static txb_rule rules[MANY];
    for (int i = 0; i < RULES; i++) {
        txb_rule *r = &rules[i];
        r->nseg = 1 + (int)(pb_rng(&rng) % 3);
        for (int k = 0; k < r->nseg; k++) {
            r->buf[k] = (int)(pb_rng(&rng) % TXB_N);
            int pl = 1 + (int)(pb_rng(&rng) % 3);
            for (int j = 0; j < pl; j++)
                r->pat[k][j] = "abcd"[pb_rng(&rng) % 4];
            r->pat[k][pl] = 0;
        }
        txb_ready(r);
    }
    pb_rules L, Lr;
    char *text = txb_rules_text(rules, RULES, false);
    pb_rules_load(&L, text, NULL);
    free(text);
    text = txb_rules_text(rules, RULES, true);
    pb_rules_load(&Lr, text, NULL);
    free(text);
    assert_int_equal(L.nerrs, 0);
    assert_int_equal(L.rep.loaded, RULES);
    assert_int_equal(Lr.rep.loaded, RULES);
    pb_rules *const both[2] = {&L, &Lr};
    size_t alerts = 0, swaps = 0;
    for (int t = 0; t < TXS; t++) {
        int swap = pb_rng(&rng) % 4 ? -1 : 1 + (int)(pb_rng(&rng) % 3);
        swaps += swap >= 0;
        alerts += txb_run(both, swap, rules, RULES, &rng);
    }
    gh_dpi_scratch_stats st;
    gh_dpi_scratch_get_stats(L.s, &st);
    printf("transactions scanned once: %d transactions (%zu changing ruleset), %zu alerts, "
           "%" PRIu64 " buffers scanned\n", TXS, swaps, alerts, st.buffers);
    assert_true(alerts > 1000);
    assert_int_equal(st.fp_wait_full, 0);
    pb_rules_free(&L);
    pb_rules_free(&Lr);

    /* more signatures waiting than a transaction keeps: the uri's fast
     * pattern for signatures ready at the body */
    for (int i = 0; i < MANY; i++)
        rules[i] = (txb_rule){.nseg = 2, .buf = {0, TXB_N - 1}, .pat = {"a", "b"}};
    for (int i = 0; i < MANY; i++)
        txb_ready(&rules[i]);
    text = txb_rules_text(rules, MANY, false);
    pb_rules_load(&L, text, NULL);
    free(text);
    assert_int_equal(L.rep.loaded, MANY);
    pb_rules *const one[2] = {&L, &L};
    alerts = 0;
    for (int t = 0; t < 8; t++)
        alerts += txb_run(one, -1, rules, MANY, &rng);
    gh_dpi_scratch_get_stats(L.s, &st);
    printf("transactions scanned once, list full: %zu alerts, %" PRIu64 " scans again\n",
           alerts, st.fp_wait_full);
    assert_true(alerts > 0);
    assert_true(st.fp_wait_full > 0);
    pb_rules_free(&L);
}

/* Rules compile in parts on threads when there are many: the result must be
 * the serial one, down to the variable ids, the prefilter requests, the
 * errors and the report, with names first seen in any part. */
static void test_compile_in_parts(void **state)
{
    (void)state;
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    pb_text t = {0};
    for (unsigned i = 0; i < 10000; i++) {
        unsigned a = (unsigned)(pb_rng(&rng) % (i / 4 + 8)), b = (unsigned)(pb_rng(&rng) % 900);
        const char *head = "alert tcp any any -> any any (msg:\"m\"; flow:established,to_server;";
        switch (pb_rng(&rng) % 8) {
        case 0:
            pb_tput(&t, "%s content:\"set%u\"; flowbits:set,fb%u; flowbits:noalert; sid:%u;)\n",
                    head, i, a, i + 1);
            break;
        case 1:
            pb_tput(&t, "%s content:\"chk%u\"; flowbits:isset,fb%u|fb%u; flowbits:isnotset,fb%u; "
                        "sid:%u;)\n", head, i, a, b, b + 1, i + 1);
            break;
        case 2:
            pb_tput(&t, "%s content:\"int%u\"; flowint:cnt%u,+,1; sid:%u;)\n", head, i, a, i + 1);
            break;
        case 3:
            pb_tput(&t, "%s content:\"cmp%u\"; flowint:cnt%u,>,lim%u; sid:%u;)\n", head, i, a, b,
                    i + 1);
            break;
        case 4:
            pb_tput(&t, "%s content:\"p%u\"; pcre:\"/p%u[0-9]+x/\"; sid:%u;)\n", head, i, i, i + 1);
            break;
        case 5: /* PCRE2 rejects it: an error of the compile, not of the check */
            pb_tput(&t, "%s content:\"e%u\"; pcre:\"/a(%u/\"; sid:%u;)\n", head, i, i, i + 1);
            break;
        case 6:
            pb_tput(&t, "alert ip any any -> any any (msg:\"x\"; xbits:set,xb%u,track ip_src; "
                        "sid:%u;)\n", a, i + 1);
            break;
        default:
            pb_tput(&t, "alert ftp-data any any -> any any (msg:\"u\"; sid:%u;)\n", i + 1);
            break;
        }
    }
    gh_error err = {0};
    gh_rule_file *f = gh_rules_parse_buffer("parts.rules", t.p, t.len, GH_RULE_TIER_SIGNATURE,
                                            &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, NULL), 0);
    assert_int_equal(f->n_errors, 0);
    gh_dpi *d[2];
    gh_dpi_load_report rep[2];
    gh_rule_error *errs[2] = {NULL, NULL};
    size_t nerrs[2] = {0, 0};
    static const unsigned jobs[2] = {1, 4};
    for (int k = 0; k < 2; k++) {
        gh_dpi_options o;
        gh_dpi_options_init(&o);
        o.jobs = jobs[k];
        o.release_rules = k == 1; /* the last compile may drop the parse tree */
        d[k] = gh_dpi_compile_ex(&f, 1, NULL, &o, &errs[k], &nerrs[k], &rep[k], &err);
        assert_non_null(d[k]);
    }
    assert_int_equal(f->n_rules, 0); /* released */
    assert_true(nerrs[0] > 100 && rep[0].skipped_unsupported > 100 && rep[0].pcre > 100);
    assert_int_equal(nerrs[1], nerrs[0]);
    for (size_t i = 0; i < nerrs[0]; i++) {
        assert_string_equal(errs[1][i].loc.file, "parts.rules"); /* kept by the release */
        assert_int_equal(errs[1][i].loc.line, errs[0][i].loc.line);
        assert_int_equal(errs[1][i].loc.col, errs[0][i].loc.col);
        assert_string_equal(errs[1][i].message, errs[0][i].message);
    }
    assert_int_equal(rep[1].rules, rep[0].rules);
    assert_int_equal(rep[1].loaded, rep[0].loaded);
    assert_int_equal(rep[1].skipped_error, rep[0].skipped_error);
    assert_int_equal(rep[1].skipped_unsupported, rep[0].skipped_unsupported);
    assert_int_equal(rep[1].pcre, rep[0].pcre);
    assert_int_equal(rep[1].pcre_hyperscan, rep[0].pcre_hyperscan);
    assert_int_equal(rep[1].patterns, rep[0].patterns);
    assert_int_equal(rep[1].databases, rep[0].databases);
    assert_int_equal(rep[1].n_kw, rep[0].n_kw);
    for (size_t i = 0; i < rep[0].n_kw; i++) {
        assert_string_equal(rep[1].kw[i].keyword, rep[0].kw[i].keyword);
        assert_int_equal(rep[1].kw[i].rules, rep[0].kw[i].rules);
    }
    assert_int_equal(d[1]->n, d[0]->n);
    for (size_t i = 0; i < d[0]->n; i++) {
        const dpi_sig *x = &d[0]->sigs[i], *y = &d[1]->sigs[i];
        assert_int_equal(y->info.sid, x->info.sid);
        assert_string_equal(y->info.proto, x->info.proto);
        assert_int_equal(y->nkw_all, x->nkw_all);
        for (size_t k = 0; k < x->nkw_all; k++)
            assert_int_equal(y->kw[k].re_hs_req, x->kw[k].re_hs_req);
        assert_int_equal(y->nvars, x->nvars);
        for (size_t v = 0; v < x->nvars; v++) {
            const dpi_var *p = &x->vars[v], *q = &y->vars[v];
            assert_int_equal(q->kind, p->kind);
            assert_int_equal(q->cmd, p->cmd);
            assert_int_equal(q->target, p->target);
            assert_int_equal(q->n, p->n);
            for (uint16_t j = 0; j < p->n; j++)
                assert_int_equal(q->ids[j], p->ids[j]);
        }
    }
    for (int k = 0; k < 2; k++) {
        gh_dpi_free(d[k]);
        free(errs[k]);
    }
    gh_rule_file_free(f);
    free(t.p);
}

static void test_port_groups(void **state)
{
    (void)state;
    srand(5150);
    enum { BATCHES = 12, RULES = 120, PKTS = 400 };
    static char text[RULES * 480];
    size_t total = 0, grouped_runs = 0;
    for (int b = 0; b < BATCHES; b++) {
        size_t tw = 0;
        for (int i = 0; i < RULES; i++) {
            nrule r;
            char one[400];
            gen_rule(&r, one, sizeof(one), (uint32_t)(i + 1), &SHORT);
            int v = rand() % 8;
            const char *extra = v == 1 ? "flow:to_server; " : v == 2 ? "flow:to_client; "
                              : v == 3 ? "flow:no_stream; " : "";
            const char *proto = rand() % 6 == 0 ? "ip" : rand() % 5 == 0 ? "udp" : "tcp";
            const char *sp = rport[rand() % (sizeof(rport) / sizeof(rport[0]))];
            const char *dp = rport[rand() % (sizeof(rport) / sizeof(rport[0]))];
            const char *arrow = rand() % 7 == 0 ? "<>" : "->";
            tw += (size_t)snprintf(text + tw, sizeof(text) - tw, "alert %s any %s %s any %s (%s%s",
                                   proto, sp, arrow, dp, extra, strchr(one, '(') + 1);
        }
        gh_error err = {0};
        gh_rule_file *f =
            gh_rules_parse_buffer("t.rules", text, strlen(text), GH_RULE_TIER_SIGNATURE, &err);
        assert_non_null(f);
        assert_int_equal(gh_rules_check(f, NULL), 0);
        gh_dpi_options o8, o1;
        gh_dpi_options_init(&o8);
        gh_dpi_options_init(&o1);
        o1.port_groups = 1;
        o8.port_group_min_diff = 0; /* small sets: keep every group the cut makes */
        gh_dpi_load_report r8, r1;
        gh_dpi *d8 = gh_dpi_compile_ex(&f, 1, NULL, &o8, NULL, NULL, &r8, &err);
        gh_dpi *d1 = gh_dpi_compile_ex(&f, 1, NULL, &o1, NULL, NULL, &r1, &err);
        assert_non_null(d8);
        assert_non_null(d1);
        assert_int_equal(r8.loaded, RULES);
        assert_int_equal(r1.port_groups, 1);
        grouped_runs += r8.port_groups > 1;
        gh_dpi_scratch *s8 = gh_dpi_scratch_new(d8, &err), *s1 = gh_dpi_scratch_new(d1, &err);
        gh_dpi_stream *ds8 = gh_dpi_stream_new(), *ds1 = gh_dpi_stream_new();
        assert_true(s8 && s1 && ds8 && ds1);
        char st[SMAXLEN];
        for (int j = 0; j < SMAXLEN; j++)
            st[j] = "abcABxy"[rand() % 7];
        int E = 0;
        for (int k = 0; k < PKTS; k++) {
            uint16_t sport = pports[rand() % (sizeof(pports) / sizeof(pports[0]))];
            uint16_t dport = pports[rand() % (sizeof(pports) / sizeof(pports[0]))];
            int dl = 1 + rand() % 24, at = rand() % (SMAXLEN - dl);
            uint8_t proto = rand() % 4 == 0 ? 17 : 6;
            gh_packet p = mkpkt(proto, "10.0.0.1", sport, "10.0.0.2", dport, st + at, (size_t)dl);
            gh_pkt_state ps = {.has_flow = true, .established = true, .to_server = rand() % 2 == 0};
            const gh_pkt_state *pst = rand() % 5 == 0 ? NULL : &ps;
            gh_dpi_match a[RULES], c[RULES];
            size_t na = gh_dpi_match_packet(d8, s8, &p, pst, p.payload, p.payload_len, a, RULES);
            size_t nc = gh_dpi_match_packet(d1, s1, &p, pst, p.payload, p.payload_len, c, RULES);
            expect_same(a, na, c, nc, "packet, 8 groups vs 1");
            total += na;
            if (proto != 6)
                continue;
            na = gh_dpi_match_packet_ex(d8, s8, &p, &ps, p.payload, p.payload_len,
                                        GH_DPI_PACKET_TCP_SIDE, a, RULES);
            nc = gh_dpi_match_packet_ex(d1, s1, &p, &ps, p.payload, p.payload_len,
                                        GH_DPI_PACKET_TCP_SIDE, c, RULES);
            expect_same(a, na, c, nc, "packet side, 8 groups vs 1");
            total += na;
            /* one stream (fixed ports and orientation) fed along */
            if (E + dl > SMAXLEN) {
                E = 0;
                gh_dpi_stream_reset(ds8);
                gh_dpi_stream_reset(ds1);
            }
            gh_packet q = mkpkt(6, "10.0.0.1", 40000, "10.0.0.2", 445, st + E, (size_t)dl);
            gh_pkt_state qs = {.has_flow = true, .established = true, .to_server = true};
            int S = E + dl > SW ? E + dl - SW : 0;
            na = gh_dpi_match_stream_inc(d8, s8, ds8, &q, &qs, (const uint8_t *)st + S,
                                         (size_t)(E + dl - S), (uint64_t)S, (size_t)(E - S), 0,
                                         a, RULES);
            nc = gh_dpi_match_stream_inc(d1, s1, ds1, &q, &qs, (const uint8_t *)st + S,
                                         (size_t)(E + dl - S), (uint64_t)S, (size_t)(E - S), 0,
                                         c, RULES);
            expect_same(a, na, c, nc, "stream, 8 groups vs 1");
            total += na;
            E += dl;
        }
        gh_dpi_stream_free(ds8);
        gh_dpi_stream_free(ds1);
        gh_dpi_scratch_free(s8);
        gh_dpi_scratch_free(s1);
        gh_dpi_free(d8);
        gh_dpi_free(d1);
        gh_rule_file_free(f);
    }
    printf("port groups: %zu matches compared, %zu of %d batches grouped\n", total,
           grouped_runs, BATCHES);
    assert_true(total > 1000);
    assert_int_equal(grouped_runs, BATCHES);

    /* the option is checked */
    gh_error err = {0};
    gh_dpi_options o;
    gh_dpi_options_init(&o);
    o.port_groups = 9;
    gh_rule_file *f = gh_rules_parse_buffer("t.rules", "", 0, GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    assert_null(gh_dpi_compile_ex(&f, 1, NULL, &o, NULL, NULL, NULL, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    gh_rule_file_free(f);
}

/* pcre with a Hyperscan prefilter gives what PCRE2 alone gives: expressions
 * of the kinds rules use (classes, alternation, anchors with and without m,
 * i and s, bounded repeats, a back-reference Hyperscan rejects, negation,
 * relative R) on random subjects, compiled with and without the prefilter. */
static void test_pcre_prefilter(void **state)
{
    (void)state;
    static const char *const res[] = {
        "/ab+c/", "/^ab/", "/^ab/m", "/c$/", "/c$/m", "/a.c/s", "/a.c/", "/AB[^c]{2}/i",
        "/(ab|ca)x?b/", "/a{2,3}b/", "/(a)b\\1/", "/b\\x0ac/", "/\\x0a^c/m", "/[^ab]{3}/",
        "/^[abc]{1,4}$/", "/(?:ca){2}/i",
    };
    enum { NRE = sizeof(res) / sizeof(res[0]), SUBJ = 3000 };
    char text[NRE * 3 * 160];
    size_t tw = 0;
    uint32_t sid = 1;
    for (size_t i = 0; i < NRE; i++) {
        tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                               "alert tcp any any -> any any (pcre:\"%s\"; sid:%u;)\n", res[i],
                               sid++);
        tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                               "alert tcp any any -> any any (content:\"b\"; pcre:!\"%s\"; "
                               "sid:%u;)\n", res[i], sid++);
        tw += (size_t)snprintf(text + tw, sizeof(text) - tw,
                               "alert tcp any any -> any any (content:\"a\"; pcre:\"%sR\"; "
                               "sid:%u;)\n", res[i], sid++);
    }
    gh_error err = {0};
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", text, strlen(text), GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, NULL), 0);
    gh_dpi_options on, off;
    gh_dpi_options_init(&on);
    gh_dpi_options_init(&off);
    off.pcre_hyperscan = false;
    gh_dpi_load_report ron, roff;
    gh_dpi *dh = gh_dpi_compile_ex(&f, 1, NULL, &on, NULL, NULL, &ron, &err);
    gh_dpi *dp = gh_dpi_compile_ex(&f, 1, NULL, &off, NULL, NULL, &roff, &err);
    assert_non_null(dh);
    assert_non_null(dp);
    assert_int_equal(ron.loaded, 3 * NRE);
    assert_int_equal(ron.pcre, 3 * NRE);
    assert_int_equal(roff.pcre_hyperscan, 0);
    printf("pcre prefilter: %zu of %zu pcre keywords have one\n", ron.pcre_hyperscan, ron.pcre);
    assert_true(ron.pcre_hyperscan >= 3 * (NRE - 2)); /* all but the back-reference ones */
    gh_dpi_scratch *sh = gh_dpi_scratch_new(dh, &err), *sp = gh_dpi_scratch_new(dp, &err);
    assert_true(sh && sp);
    srand(31337);
    size_t total = 0;
    for (int t = 0; t < SUBJ; t++) {
        char subj[40];
        int len = rand() % (int)sizeof(subj);
        for (int j = 0; j < len; j++)
            subj[j] = "abcxABC\n"[rand() % 8];
        gh_packet p = mkpkt(6, "10.0.0.1", 1234, "10.0.0.2", 80, subj, (size_t)len);
        gh_dpi_match a[3 * NRE], b[3 * NRE];
        size_t na = run(&(pb_rules){.d = dh, .s = sh}, &p, NULL, a, 3 * NRE);
        size_t nb = run(&(pb_rules){.d = dp, .s = sp}, &p, NULL, b, 3 * NRE);
        expect_same(a, na, b, nb, "pcre with and without the prefilter");
        total += na;
    }
    gh_dpi_scratch_stats st;
    gh_dpi_scratch_get_stats(sh, &st);
    printf("pcre prefilter: %zu matches compared, %llu subjects ruled out by Hyperscan\n", total,
           (unsigned long long)st.pcre_hs_rejects);
    assert_true(total > 1000);
    assert_true(st.pcre_hs_rejects > 1000);
    gh_dpi_scratch_free(sh);
    gh_dpi_scratch_free(sp);
    gh_dpi_free(dh);
    gh_dpi_free(dp);
    gh_rule_file_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_hex_escapes),
        cmocka_unit_test(test_nocase),
        cmocka_unit_test(test_offset_depth),
        cmocka_unit_test(test_distance_within),
        cmocka_unit_test(test_backtracking),
        cmocka_unit_test(test_backtracking_memo),
        cmocka_unit_test(test_startswith_endswith),
        cmocka_unit_test(test_isdataat),
        cmocka_unit_test(test_pcre),
        cmocka_unit_test(test_pcre_lazy_jit),
        cmocka_unit_test(test_pcre_errors),
        cmocka_unit_test(test_fast_pattern),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_action_precedence),
        cmocka_unit_test(test_flowbits_commands),
        cmocka_unit_test(test_flowbits_order),
        cmocka_unit_test(test_flowbits_full),
        cmocka_unit_test(test_flowint),
        cmocka_unit_test(test_xbits),
        cmocka_unit_test(test_state_errors),
        cmocka_unit_test(test_unsupported_skipped),
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_differential),
        cmocka_unit_test(test_differential_long),
        cmocka_unit_test(test_et_subset),
        cmocka_unit_test(test_stream_split),
        cmocka_unit_test(test_stream_absolute),
        cmocka_unit_test(test_stream_relative),
        cmocka_unit_test(test_stream_negated),
        cmocka_unit_test(test_stream_header_only),
        cmocka_unit_test(test_stream_differential),
        cmocka_unit_test(test_stream_incremental),
        cmocka_unit_test(test_stream_ruleset_swap),
        cmocka_unit_test(test_port_groups),
        cmocka_unit_test(test_addr_classes),
        cmocka_unit_test(test_body_windows),
        cmocka_unit_test(test_tx_scan_once),
        cmocka_unit_test(test_compile_in_parts),
        cmocka_unit_test(test_pcre_prefilter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
