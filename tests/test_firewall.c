/* Firewall tier tests: rules compiled from text (parse, check, gh_fw_compile)
 * classify packets built with pktbuild and decoded with gh_decode.
 *
 * Part 1 pins the semantics one feature at a time (first match in file
 * order, `<>`, address and port expressions, families, protocols, the header
 * options and how a failing conditional rule lets a later rule match).
 * Part 2 checks compile errors: exact file:line:col and message.
 * Part 3 is a randomized differential test in the style of WireGuard's
 * selftest/allowedips.c: random rule sets and packets, the compiled lookup
 * against a deliberately naive first-match scan that evaluates every rule's
 * expressions directly. The base seed is printed; rerun with
 * GH_TEST_SEED=<seed> to reproduce a failure. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gatehouse/decode.h"
#include "gatehouse/firewall.h"
#include "gatehouse/rules.h"
#include "hdrmatch.h"
#include "pktbuild.h"

typedef unsigned __int128 u128;

/* ------------------------------------------------------------ packets */

/* What a test packet looks like; turned into bytes by pkt_build. */
typedef struct pspec {
    int ver;                  /* 4 or 6 */
    uint8_t src[16], dst[16]; /* network order; IPv4 in the first 4 bytes */
    uint8_t proto;            /* 6, 17, 1, 58, or anything else (raw bytes) */
    uint16_t sport, dport;    /* TCP, UDP, and the SCTP common header */
    uint8_t flags;            /* TCP */
    int ttl;                  /* -1: pktbuild's default (64) */
    uint8_t itype, icode;
    uint16_t payload;
    bool df, mf, rb;          /* IPv4 DF, MF and the reserved bit */
    uint16_t frag_off;        /* IPv4 fragment offset in bytes */
    bool hopopts;             /* IPv6: a hop-by-hop header before L4 */
} pspec;

/* The descriptor points into b.buf: a tpkt must not move after pkt_build. */
typedef struct tpkt {
    pb b;
    gh_packet p;
} tpkt;

static void parse_ip(const char *s, pspec *ps, uint8_t out[16])
{
    memset(out, 0, 16);
    int ver = strchr(s, ':') ? 6 : 4;
    if (inet_pton(ver == 6 ? AF_INET6 : AF_INET, s, out) != 1)
        fail_msg("bad address in test: %s", s);
    ps->ver = ver;
}

static pspec mk(uint8_t proto, const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    pspec s;
    memset(&s, 0, sizeof(s));
    s.proto = proto;
    s.ttl = -1;
    parse_ip(src, &s, s.src);
    int v = s.ver;
    parse_ip(dst, &s, s.dst);
    if (v != s.ver)
        fail_msg("mixed families in test packet %s -> %s", src, dst);
    s.sport = sport;
    s.dport = dport;
    return s;
}

static pspec tcp_(const char *src, uint16_t sport, const char *dst, uint16_t dport, uint8_t flags)
{
    pspec s = mk(6, src, sport, dst, dport);
    s.flags = flags;
    return s;
}

static pspec udp_(const char *src, uint16_t sport, const char *dst, uint16_t dport)
{
    return mk(17, src, sport, dst, dport);
}

static pspec icmp_(const char *src, const char *dst, uint8_t type, uint8_t code)
{
    pspec s = mk(1, src, 0, dst, 0);
    if (s.ver == 6)
        s.proto = 58;
    s.itype = type;
    s.icode = code;
    return s;
}

static pspec raw_(uint8_t proto, const char *src, const char *dst, uint16_t payload)
{
    pspec s = mk(proto, src, 0, dst, 0);
    s.payload = payload;
    return s;
}

static void pkt_build(tpkt *t, const pspec *s)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    int af = s->ver == 6 ? AF_INET6 : AF_INET;
    inet_ntop(af, s->src, a, sizeof(a));
    inet_ntop(af, s->dst, b, sizeof(b));
    pb_init(&t->b);
    uint32_t ip;
    if (s->ver == 6) {
        pb_ip6 h = {.src = a, .dst = b};
        ip = pb_ipv6(&t->b, &h);
        if (s->hopopts)
            pb_v6_hopopts(&t->b, 8);
    } else {
        pb_ip4 h = {.src = a, .dst = b, .df = s->df, .mf = s->mf, .frag_off = s->frag_off,
                    .id = 77};
        ip = pb_ipv4(&t->b, &h);
    }
    switch (s->proto) {
    case 6: {
        pb_tcph h = {.sport = s->sport, .dport = s->dport, .seq = 1000, .ack = 2000,
                     .flags = s->flags, .win = 512};
        pb_tcp(&t->b, &h);
        break;
    }
    case 17: pb_udp(&t->b, s->sport, s->dport); break;
    case 1: pb_icmp(&t->b, s->itype, s->icode, 0x00010002); break;
    case 58: pb_icmp6(&t->b, s->itype, s->icode, 0x00010002); break;
    default:
        pb_put8(&t->b, (uint32_t)t->b.proto_off, s->proto);
        t->b.proto_off = -1;
        if (s->proto == 132) { /* SCTP common header: ports, tag, checksum */
            uint8_t h[12] = {(uint8_t)(s->sport >> 8), (uint8_t)s->sport,
                             (uint8_t)(s->dport >> 8), (uint8_t)s->dport};
            pb_data(&t->b, h, sizeof(h));
        }
        break;
    }
    if (s->payload)
        pb_fill(&t->b, 0xab, s->payload);
    if (s->ttl >= 0)
        pb_put8(&t->b, ip + (s->ver == 6 ? 7 : 8), (uint8_t)s->ttl);
    if (s->rb)
        t->b.buf[ip + 6] |= 0x80;
    pb_finalize(&t->b);
    gh_decode_opts o = {.verify_checksums = true};
    gh_decode(&t->p, GH_LINK_RAW, t->b.buf, t->b.len, &o);
    if (t->p.ip_ver != s->ver)
        fail_msg("test packet did not decode as IPv%d", s->ver);
}

static const char *pspec_str(const pspec *s, char *buf, size_t n)
{
    char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
    int af = s->ver == 6 ? AF_INET6 : AF_INET;
    inet_ntop(af, s->src, a, sizeof(a));
    inet_ntop(af, s->dst, b, sizeof(b));
    snprintf(buf, n,
             "IPv%d proto %u %s:%u -> %s:%u flags 0x%02x ttl %d type %u code %u payload %u "
             "df %d mf %d rb %d frag_off %u hopopts %d",
             s->ver, s->proto, a, s->sport, b, s->dport, s->flags, s->ttl, s->itype, s->icode,
             s->payload, s->df, s->mf, s->rb, s->frag_off, s->hopopts);
    return buf;
}

/* ------------------------------------------------------------ rules */

static const char *const test_var_defs[][2] = {
    {"HOME_NET", "[10.0.0.0/8,192.168.0.0/16,2001:db8::/32]"},
    {"EXTERNAL_NET", "!$HOME_NET"},
    {"DNS_SERVERS", "[10.0.0.53,10.0.1.53,2001:db8::53]"},
    {"INTERNAL_NO_DNS", "[$HOME_NET,!$DNS_SERVERS]"},
    {"WEB", "[$INTERNAL_NO_DNS,!192.168.0.0/16]"},
    {"V6NETS", "[2001:db8:1::/48,fe80::/10]"},
    {"SERVERS", "[$DNS_SERVERS,10.2.0.0/24,!10.2.0.128/25,172.16.0.1-172.16.3.254]"},
    {"HTTP_PORTS", "[80,8080:8088,!8081]"},
    {"HIGH_PORTS", "1024:"},
    {"SSH_PORTS", "22"},
    {"MIXED_PORTS", "[$SSH_PORTS,$HTTP_PORTS,!80]"},
};
#define N_TEST_VARS (sizeof(test_var_defs) / sizeof(test_var_defs[0]))

static gh_rule_vars *test_vars(void)
{
    gh_rule_vars *v = gh_rule_vars_new(NULL);
    assert_non_null(v);
    for (size_t i = 0; i < N_TEST_VARS; i++)
        assert_int_equal(gh_rule_vars_set(v, test_var_defs[i][0], test_var_defs[i][1], "test",
                                          NULL),
                         GH_OK);
    return v;
}

/* A compiled firewall and what it needs to stay valid (rule files, vars). */
typedef struct tfw {
    gh_rule_vars *vars;
    gh_rule_file *files[4];
    size_t nfiles;
    gh_fw *fw;
} tfw;

static void print_errors(const gh_rule_error *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        print_message("  %s:%u:%u: %s\n", e[i].loc.file ? e[i].loc.file : "?", e[i].loc.line,
                      e[i].loc.col, e[i].message);
}

static gh_rule_file *parse_checked(const char *name, const char *text, const gh_rule_vars *vars)
{
    gh_error err = {0};
    gh_rule_file *f =
        gh_rules_parse_buffer(name, text, strlen(text), GH_RULE_TIER_FIREWALL, &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, vars), GH_OK);
    if (f->n_errors) {
        print_message("unexpected check errors in %s:\n", name);
        print_errors(f->errors, f->n_errors);
    }
    assert_int_equal(f->n_errors, 0);
    return f;
}

/* Compile @p n texts as files "a.rules", "b.rules", ... */
static void tfw_open_n(tfw *t, const char *const *texts, size_t n)
{
    static const char *const names[] = {"a.rules", "b.rules", "c.rules", "d.rules"};
    memset(t, 0, sizeof(*t));
    assert_true(n <= 4);
    t->vars = test_vars();
    for (size_t i = 0; i < n; i++)
        t->files[i] = parse_checked(names[i], texts[i], t->vars);
    t->nfiles = n;
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_error err = {0};
    t->fw = gh_fw_compile(t->files, n, t->vars, &errs, &nerrs, &err);
    if (!t->fw || nerrs) {
        print_message("gh_fw_compile failed: %s\n", err.msg);
        print_errors(errs, nerrs);
    }
    free(errs);
    assert_non_null(t->fw);
    assert_int_equal(nerrs, 0);
}

static void tfw_open(tfw *t, const char *text)
{
    tfw_open_n(t, &text, 1);
}

static void tfw_close(tfw *t)
{
    gh_fw_free(t->fw);
    for (size_t i = 0; i < t->nfiles; i++)
        gh_rule_file_free(t->files[i]);
    gh_rule_vars_free(t->vars);
    memset(t, 0, sizeof(*t));
}

/* Flow states for the flow keyword. */
static const gh_fw_state ST_NOFLOW = {false, false, false};
static const gh_fw_state ST_EST_TS = {true, true, true};
static const gh_fw_state ST_EST_TC = {true, true, false};
static const gh_fw_state ST_NEW_TS = {true, false, true};
static const gh_fw_state ST_NEW_TC = {true, false, false};

static void expect_at(const tfw *t, const pspec *s, const gh_fw_state *st, uint32_t want,
                      int line)
{
    tpkt *pk = malloc(sizeof(*pk));
    assert_non_null(pk);
    pkt_build(pk, s);
    uint32_t got = gh_fw_classify(t->fw, &pk->p, st);
    free(pk);
    if (got != want) {
        char buf[256], w[16], g[16];
        const char *sts = !st ? "NULL"
                          : !st->has_flow ? "no flow"
                          : st->established ? (st->to_server ? "est/to_server" : "est/to_client")
                                            : (st->to_server ? "new/to_server" : "new/to_client");
        snprintf(w, sizeof(w), "rule %u", want);
        snprintf(g, sizeof(g), "rule %u", got);
        fail_msg("line %d: %s state %s: expected %s, got %s", line,
                 pspec_str(s, buf, sizeof(buf)), sts, want == GH_FW_NOMATCH ? "NOMATCH" : w,
                 got == GH_FW_NOMATCH ? "NOMATCH" : g);
    }
}

#define EXPECT(t, spec, st, want)                                                                  \
    do {                                                                                           \
        pspec s_ = (spec);                                                                         \
        expect_at((t), &s_, (st), (want), __LINE__);                                               \
    } while (0)

#define NOM GH_FW_NOMATCH

/* ------------------------------------------------------------ part 1: semantics */

static void test_first_match_order(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "accept tcp 10.0.0.1 any -> any 80 (sid:1;)\n"
                 "drop tcp any any -> any 80 (sid:2;)\n"
                 "reject tcp any any -> any any (sid:3;)\n"
                 "pass ip any any -> any any (sid:4;)\n"
                 "drop tcp 10.0.0.1 any -> any 80 (sid:5;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, tcp_("10.0.0.2", 1000, "10.0.0.1", 80, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 443, GH_TCP_SYN), NULL, 2);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 80), NULL, 3);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 3);
    EXPECT(&t, tcp_("2001:db8::1", 1, "2001:db8::2", 80, GH_TCP_ACK), NULL, 1);
    tfw_close(&t);

    tfw_open(&t, "drop udp any any -> any any (sid:1;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_SYN), NULL, NOM);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 80), NULL, 0);
    tfw_close(&t);

    /* no rules at all: nothing matches */
    tfw_open(&t, "# nothing here\n\n");
    assert_int_equal(gh_fw_rule_count(t.fw), 0);
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_SYN), NULL, NOM);
    EXPECT(&t, udp_("2001:db8::1", 1000, "2001:db8::2", 80), &ST_EST_TS, NOM);
    tfw_close(&t);
}

static void test_bidirectional(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "accept tcp 10.0.0.1 1000 <> 10.0.0.2 80 (sid:1;)\n"
                 "drop tcp 10.0.0.3 1000 -> 10.0.0.4 80 (sid:2;)\n"
                 "pass udp [10.0.0.5,2001:db8::5] any <> [10.0.0.6,2001:db8::6] 53 (sid:3;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, tcp_("10.0.0.2", 80, "10.0.0.1", 1000, GH_TCP_SYN | GH_TCP_ACK), NULL, 0);
    /* the ports travel with their addresses */
    EXPECT(&t, tcp_("10.0.0.2", 1000, "10.0.0.1", 80, GH_TCP_SYN), NULL, NOM);
    EXPECT(&t, tcp_("10.0.0.1", 80, "10.0.0.2", 1000, GH_TCP_SYN), NULL, NOM);
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.1", 80, GH_TCP_SYN), NULL, NOM);
    /* -> is one way */
    EXPECT(&t, tcp_("10.0.0.3", 1000, "10.0.0.4", 80, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("10.0.0.4", 80, "10.0.0.3", 1000, GH_TCP_ACK), NULL, NOM);
    EXPECT(&t, udp_("10.0.0.5", 4444, "10.0.0.6", 53), NULL, 2);
    EXPECT(&t, udp_("10.0.0.6", 53, "10.0.0.5", 4444), NULL, 2);
    EXPECT(&t, udp_("10.0.0.6", 4444, "10.0.0.5", 53), NULL, NOM);
    EXPECT(&t, udp_("2001:db8::6", 53, "2001:db8::5", 4444), NULL, 2);
    EXPECT(&t, udp_("2001:db8::5", 53, "2001:db8::6", 53), NULL, 2);
    EXPECT(&t, udp_("2001:db8::5", 53, "2001:db8::7", 53), NULL, NOM);
    tfw_close(&t);
}

static void test_address_lists_and_vars(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip [10.0.0.0/8,!10.1.0.0/16,10.1.2.3] any -> any any (sid:1;)\n"
                 "drop tcp $EXTERNAL_NET any -> $WEB $HTTP_PORTS (sid:2;)\n"
                 "reject udp any any -> !$HOME_NET 53 (sid:3;)\n"
                 "pass ip any any -> [!$DNS_SERVERS,!192.168.0.0/16] any (sid:4;)\n"
                 "accept ip any any -> any any (sid:5;)\n");
    /* rule 0: a list is its plain items minus its negated items */
    EXPECT(&t, udp_("10.5.5.5", 1, "8.8.8.8", 53), NULL, 0);
    EXPECT(&t, udp_("10.1.0.1", 1, "10.0.0.53", 53), NULL, 4);
    EXPECT(&t, udp_("10.1.2.3", 1, "10.0.0.53", 53), NULL, 4);
    EXPECT(&t, udp_("10.0.255.255", 1, "10.0.0.53", 53), NULL, 0);
    EXPECT(&t, udp_("10.2.0.0", 1, "10.0.0.53", 53), NULL, 0);
    /* rule 1: nested variables, EXTERNAL_NET = !HOME_NET,
     * WEB = HOME_NET minus DNS_SERVERS minus 192.168/16 */
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.1.2.3", 80, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.0.0.53", 80, GH_TCP_SYN), NULL, 4);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.0.0.54", 80, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "192.168.1.1", 80, GH_TCP_SYN), NULL, 4);
    EXPECT(&t, tcp_("192.168.9.9", 1234, "10.1.2.3", 80, GH_TCP_SYN), NULL, 3);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.1.2.3", 8081, GH_TCP_SYN), NULL, 3);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.1.2.3", 8080, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.1.2.3", 8088, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "10.1.2.3", 8089, GH_TCP_SYN), NULL, 3);
    EXPECT(&t, tcp_("8.8.8.8", 1234, "11.0.0.1", 80, GH_TCP_SYN), NULL, 3);
    EXPECT(&t, tcp_("2001:db9::1", 1234, "2001:db8::1", 80, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, tcp_("2001:db9::1", 1234, "2001:db8::53", 80, GH_TCP_SYN), NULL, 4);
    EXPECT(&t, tcp_("2001:db8::1", 1234, "2001:db8::2", 80, GH_TCP_SYN), NULL, 3);
    /* rule 2: a negated variable includes the other family's addresses */
    EXPECT(&t, udp_("192.168.1.1", 1, "11.0.0.1", 53), NULL, 2);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db9::1", 53), NULL, 2);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::1", 53), NULL, 3);
    /* rule 3: a list of only negations is everything minus them */
    EXPECT(&t, udp_("8.8.8.8", 1, "10.0.1.53", 54), NULL, 4);
    EXPECT(&t, udp_("8.8.8.8", 1, "10.0.1.52", 54), NULL, 3);
    EXPECT(&t, udp_("8.8.8.8", 1, "192.168.255.255", 54), NULL, 4);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::53", 54), NULL, 4);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::54", 54), NULL, 3);
    tfw_close(&t);

    /* SERVERS mixes a variable, a CIDR minus a CIDR and a dash range */
    tfw_open(&t, "drop ip any any -> $SERVERS any (sid:1;)\n");
    EXPECT(&t, udp_("1.1.1.1", 1, "10.0.0.53", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "10.2.0.0", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "10.2.0.127", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "10.2.0.128", 2), NULL, NOM);
    EXPECT(&t, udp_("1.1.1.1", 1, "10.2.0.255", 2), NULL, NOM);
    EXPECT(&t, udp_("1.1.1.1", 1, "10.2.1.0", 2), NULL, NOM);
    EXPECT(&t, udp_("1.1.1.1", 1, "172.16.0.0", 2), NULL, NOM);
    EXPECT(&t, udp_("1.1.1.1", 1, "172.16.0.1", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "172.16.2.200", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "172.16.3.254", 2), NULL, 0);
    EXPECT(&t, udp_("1.1.1.1", 1, "172.16.3.255", 2), NULL, NOM);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::53", 2), NULL, 0);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::52", 2), NULL, NOM);
    tfw_close(&t);
}

static void test_ipv4_cidr_ranges(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> 10.0.0.0/8 any (sid:1;)\n"
                 "drop ip any any -> 192.168.1.10-192.168.1.20 any (sid:2;)\n"
                 "drop ip any any -> 172.16.0.0/255.240.0.0 any (sid:3;)\n"
                 "drop ip any any -> [1.2.3.4/32,255.255.255.255,0.0.0.0] any (sid:4;)\n"
                 "drop ip any any -> 100.64.0.1/10 any (sid:5;)\n"
                 "accept ip any any -> 0.0.0.0/0 any (sid:6;)\n");
    static const struct {
        const char *dst;
        uint32_t want;
    } cases[] = {
        {"9.255.255.255", 5},   {"10.0.0.0", 0},       {"10.255.255.255", 0},
        {"11.0.0.0", 5},        {"192.168.1.9", 5},    {"192.168.1.10", 1},
        {"192.168.1.15", 1},    {"192.168.1.20", 1},   {"192.168.1.21", 5},
        {"172.15.255.255", 5},  {"172.16.0.0", 2},     {"172.31.255.255", 2},
        {"172.32.0.0", 5},      {"1.2.3.3", 5},        {"1.2.3.4", 3},
        {"1.2.3.5", 5},         {"255.255.255.255", 3}, {"255.255.255.254", 5},
        {"0.0.0.0", 3},         {"0.0.0.1", 5},        {"100.63.255.255", 5},
        {"100.64.0.0", 4},      {"100.127.255.255", 4}, {"100.128.0.0", 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT(&t, udp_("8.8.8.8", 1, cases[i].dst, 2), NULL, cases[i].want);
        EXPECT(&t, tcp_("8.8.8.8", 1, cases[i].dst, 2, GH_TCP_ACK), NULL, cases[i].want);
        EXPECT(&t, icmp_("8.8.8.8", cases[i].dst, 8, 0), NULL, cases[i].want);
    }
    /* an IPv4-only rule set never matches IPv6 */
    EXPECT(&t, udp_("2001:db8::1", 1, "::", 2), NULL, NOM);
    EXPECT(&t, udp_("::ffff:10.0.0.1", 1, "::ffff:10.0.0.1", 2), NULL, NOM);
    tfw_close(&t);
}

static void test_ipv6_prefixes_ranges(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t,
             "drop ip any any -> 2001:db8::/32 any (sid:1;)\n"
             "drop ip any any -> 2001:db9:0:0:8000::/65 any (sid:2;)\n"
             "drop ip any any -> 2001:dba::ffff:fff0-2001:dba::1:0:f any (sid:3;)\n"
             "drop ip 2001:dbb::1 any -> any any (sid:4;)\n"
             "drop ip any any -> [2001:dbc::/48,!2001:dbc:0:7::/64,2001:dbc:0:7::7] any (sid:5;)\n"
             "drop ip any any -> 2001:dbd::/127 any (sid:6;)\n"
             "accept ip any any -> ::/0 any (sid:7;)\n");
    static const struct {
        const char *dst;
        uint32_t want;
    } cases[] = {
        {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 6},
        {"2001:db8::", 0},
        {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 0},
        {"2001:db9::", 6},
        {"2001:db9::7fff:ffff:ffff:ffff", 6},
        {"2001:db9::8000:0:0:0", 1},
        {"2001:db9::ffff:ffff:ffff:ffff", 1},
        {"2001:db9:0:1::", 6},
        {"2001:dba::ffff:ffef", 6},
        {"2001:dba::ffff:fff0", 2},
        {"2001:dba::ffff:ffff", 2},
        {"2001:dba::1:0:0", 2},
        {"2001:dba::1:0:f", 2},
        {"2001:dba::1:0:10", 6},
        {"2001:dba::1:1:0", 6},
        {"2001:dba::2:0:0", 6},
        {"2001:dbc::", 4},
        {"2001:dbc:0:6:ffff:ffff:ffff:ffff", 4},
        {"2001:dbc:0:7::", 6},
        {"2001:dbc:0:7::7", 6}, /* negated /64 wins over the plain item */
        {"2001:dbc:0:8::", 4},
        {"2001:dbc:0:ffff:ffff:ffff:ffff:ffff", 4},
        {"2001:dbc:1::", 6},
        {"2001:dbd::", 5},
        {"2001:dbd::1", 5},
        {"2001:dbd::2", 6},
        {"::", 6},
        {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 6},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT(&t, udp_("3000::1", 1, cases[i].dst, 2), NULL, cases[i].want);
        EXPECT(&t, icmp_("3000::1", cases[i].dst, 128, 0), NULL, cases[i].want);
    }
    EXPECT(&t, tcp_("2001:dbb::1", 1, "2001:db8::1", 2, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, tcp_("2001:dbb::1", 1, "3000::1", 2, GH_TCP_SYN), NULL, 3);
    EXPECT(&t, tcp_("2001:dbb::2", 1, "3000::1", 2, GH_TCP_SYN), NULL, 6);
    EXPECT(&t, tcp_("2001:dbb::", 1, "3000::1", 2, GH_TCP_SYN), NULL, 6);
    /* an IPv6-only rule set never matches IPv4 */
    EXPECT(&t, udp_("10.0.0.1", 1, "0.0.0.0", 2), NULL, NOM);
    EXPECT(&t, icmp_("10.0.0.1", "32.1.13.184", 8, 0), NULL, NOM);
    tfw_close(&t);
}

static void test_families(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip 10.0.0.1 any -> 2001:db8::1 any (sid:1;)\n"
                 "drop ipv6 any any -> 10.0.0.0/8 any (sid:2;)\n"
                 "reject ipv4 any any -> 10.0.0.3 any (sid:3;)\n"
                 "reject ip4 any any -> 10.0.0.4 any (sid:4;)\n"
                 "pass ip6 any any -> 2001:db8::6 any (sid:5;)\n"
                 "pass ipv6 any any -> any 53 (sid:6;)\n"
                 "accept ipv4 any any -> any any (sid:7;)\n"
                 "drop ipv6 any any -> any any (sid:8;)\n");
    /* rule 0 mixes families: it can match nothing */
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_SYN), NULL, 6);
    EXPECT(&t, tcp_("2001:db8::2", 1, "2001:db8::1", 2, GH_TCP_SYN), NULL, 7);
    EXPECT(&t, udp_("10.0.0.9", 1, "10.0.0.3", 2), NULL, 2);
    EXPECT(&t, icmp_("10.0.0.9", "10.0.0.3", 8, 0), NULL, 2);
    EXPECT(&t, raw_(47, "10.0.0.9", "10.0.0.4", 4), NULL, 3);
    EXPECT(&t, udp_("2001:db8::9", 1, "2001:db8::6", 2), NULL, 4);
    EXPECT(&t, icmp_("2001:db8::9", "2001:db8::6", 128, 0), NULL, 4);
    EXPECT(&t, udp_("2001:db8::9", 1, "2001:db8::7", 53), NULL, 5);
    EXPECT(&t, tcp_("2001:db8::9", 1, "2001:db8::7", 53, 0), NULL, 5);
    EXPECT(&t, icmp_("2001:db8::9", "2001:db8::7", 128, 0), NULL, 7);
    EXPECT(&t, udp_("10.0.0.9", 1, "10.0.0.7", 53), NULL, 6);
    EXPECT(&t, raw_(47, "2001:db8::9", "2001:db8::7", 0), NULL, 7);
    tfw_close(&t);
}

static void test_icmp_protocols(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "accept icmp any any -> any any (sid:1;)\n");
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 0);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 3, 1), NULL, 0);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 128, 0), NULL, 0);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 1, 4), NULL, 0);
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_SYN), NULL, NOM);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::2", 2), NULL, NOM);
    EXPECT(&t, raw_(47, "10.0.0.1", "10.0.0.2", 8), NULL, NOM);
    tfw_close(&t);

    tfw_open(&t, "accept icmpv4 any any -> any any (sid:1;)\n"
                 "drop icmpv6 any any -> any any (sid:2;)\n"
                 "reject tcp any any -> any any (sid:3;)\n");
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 0);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 128, 0), NULL, 1);
    EXPECT(&t, tcp_("2001:db8::1", 1, "2001:db8::2", 2, 0), NULL, 2);
    EXPECT(&t, udp_("10.0.0.1", 1, "10.0.0.2", 2), NULL, NOM);
    tfw_close(&t);

    tfw_open(&t, "drop icmpv6 any any -> any any (sid:1;)\n");
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, NOM);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 129, 0), NULL, 0);
    tfw_close(&t);
}

static void test_ports(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop tcp any any -> any 10000: (sid:1;)\n"
                 "drop udp any :1023 -> any any (sid:2;)\n"
                 "drop tcp any any -> any [22,80,443,8000:8010,!8005] (sid:3;)\n"
                 "drop udp any any -> any !53 (sid:4;)\n"
                 "drop tcp any $HIGH_PORTS -> any $MIXED_PORTS (sid:5;)\n"
                 "accept ip any any -> any any (sid:6;)\n");
    static const struct {
        uint16_t dport;
        uint32_t want;
    } tcp_cases[] = {
        {9999, 5}, {10000, 0}, {65535, 0}, {22, 2}, {80, 2}, {443, 2}, {444, 5},
        {7999, 5}, {8000, 2}, {8004, 2}, {8005, 5}, {8006, 2}, {8010, 2}, {8011, 5},
        {0, 5}, {21, 5},
    };
    for (size_t i = 0; i < sizeof(tcp_cases) / sizeof(tcp_cases[0]); i++) {
        EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", tcp_cases[i].dport, GH_TCP_SYN), NULL,
               tcp_cases[i].want);
        EXPECT(&t, tcp_("2001:db8::1", 1000, "2001:db8::2", tcp_cases[i].dport, GH_TCP_SYN), NULL,
               tcp_cases[i].want);
    }
    /* $MIXED_PORTS = [22, 80, 8080:8088 without 8081] minus 80, from 1024: */
    EXPECT(&t, tcp_("10.0.0.1", 1023, "10.0.0.2", 8080, GH_TCP_SYN), NULL, 5);
    EXPECT(&t, tcp_("10.0.0.1", 1024, "10.0.0.2", 8080, GH_TCP_SYN), NULL, 4);
    EXPECT(&t, tcp_("10.0.0.1", 1024, "10.0.0.2", 8081, GH_TCP_SYN), NULL, 5);
    EXPECT(&t, tcp_("10.0.0.1", 65535, "10.0.0.2", 8088, GH_TCP_SYN), NULL, 4);
    EXPECT(&t, tcp_("10.0.0.1", 65535, "10.0.0.2", 8089, GH_TCP_SYN), NULL, 5);
    EXPECT(&t, tcp_("10.0.0.1", 0, "10.0.0.2", 8089, GH_TCP_SYN), NULL, 5);
    static const struct {
        uint16_t sport, dport;
        uint32_t want;
    } udp_cases[] = {
        {1023, 53, 1}, {0, 53, 1}, {1024, 53, 5}, {2000, 54, 3}, {2000, 52, 3},
        {2000, 53, 5}, {65535, 0, 3}, {65535, 65535, 3}, {1, 65535, 1},
    };
    for (size_t i = 0; i < sizeof(udp_cases) / sizeof(udp_cases[0]); i++) {
        EXPECT(&t, udp_("10.0.0.1", udp_cases[i].sport, "10.0.0.2", udp_cases[i].dport), NULL,
               udp_cases[i].want);
        EXPECT(&t, udp_("2001:db8::1", udp_cases[i].sport, "2001:db8::2", udp_cases[i].dport),
               NULL, udp_cases[i].want);
    }
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 5);
    tfw_close(&t);
}

/* A rule with ports and protocol ip matches only port-carrying protocols. */
static void test_ip_with_ports(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> any 53 (sid:1;)\n"
                 "reject ip any 0 -> any 0:100 (sid:2;)\n"
                 "drop ip any any -> any [0:65535] (sid:3;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 53, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 53), NULL, 0);
    EXPECT(&t, udp_("2001:db8::1", 1000, "2001:db8::2", 53), NULL, 0);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 54), NULL, 2);
    EXPECT(&t, udp_("10.0.0.1", 0, "10.0.0.2", 54), NULL, 1);
    EXPECT(&t, tcp_("10.0.0.1", 0, "10.0.0.2", 0, 0), NULL, 1);
    /* portless protocols: rules 0 and 1 name ports; rule 2's [0:65535] is "any" */
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 2);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 128, 0), NULL, 2);
    EXPECT(&t, raw_(47, "10.0.0.1", "10.0.0.2", 20), NULL, 2);
    EXPECT(&t, raw_(89, "2001:db8::1", "2001:db8::2", 20), NULL, 2);
    tfw_close(&t);
}

/* The decoder reads no SCTP ports, so a rule with ports never matches SCTP
 * (README: "with ports given, TCP and UDP"), whatever its ports are, not
 * even a range that holds 0; without ports it does. */
static void test_ip_with_ports_sctp(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> any 53 (sid:1;)\n"
                 "reject ip any any -> any :1023 (sid:2;)\n"
                 "drop ip any 0 -> any 0 (sid:3;)\n"
                 "accept ip any any -> any any (sid:4;)\n");
    pspec s = raw_(132, "10.0.0.1", "10.0.0.2", 16);
    s.sport = 5000;
    s.dport = 53;
    EXPECT(&t, s, NULL, 3);
    s.dport = 0;
    s.sport = 0;
    EXPECT(&t, s, NULL, 3);
    pspec s6 = raw_(132, "2001:db8::1", "2001:db8::2", 16);
    s6.sport = 5000;
    s6.dport = 53;
    EXPECT(&t, s6, NULL, 3);
    tfw_close(&t);
}

static void test_flow(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop tcp any any -> any 1 (flow:established; sid:1;)\n"
                 "drop tcp any any -> any 2 (flow:not_established; sid:2;)\n"
                 "drop tcp any any -> any 3 (flow:to_server; sid:3;)\n"
                 "drop tcp any any -> any 4 (flow:to_client; sid:4;)\n"
                 "drop tcp any any -> any 5 (flow:stateless; sid:5;)\n"
                 "drop tcp any any -> any 6 (flow:established,to_client; sid:6;)\n"
                 "drop tcp any any -> any 7 (flow:from_client; sid:7;)\n"
                 "drop tcp any any -> any 8 (flow:no_stream; sid:8;)\n"
                 "drop udp any any -> any 9 (flow:from_server,not_established; sid:9;)\n"
                 "accept ip any any -> any any (sid:10;)\n");
    const gh_fw_state *states[] = {NULL, &ST_NOFLOW, &ST_EST_TS, &ST_EST_TC, &ST_NEW_TS,
                                   &ST_NEW_TC};
    /* want[port-1][state] */
    static const uint32_t want[9][6] = {
        /* NULL noflow estTS estTC newTS newTC */
        {9, 9, 0, 0, 9, 9}, /* established */
        {9, 9, 9, 9, 1, 1}, /* not_established */
        {9, 9, 2, 9, 2, 9}, /* to_server */
        {9, 9, 9, 3, 9, 3}, /* to_client */
        {4, 4, 4, 4, 4, 4}, /* stateless */
        {9, 9, 9, 5, 9, 9}, /* established,to_client */
        {9, 9, 6, 9, 6, 9}, /* from_client */
        {7, 7, 7, 7, 7, 7}, /* no_stream */
        {9, 9, 9, 9, 9, 8}, /* udp from_server,not_established */
    };
    for (unsigned port = 1; port <= 9; port++) {
        for (unsigned s = 0; s < 6; s++) {
            pspec p = port == 9 ? udp_("10.0.0.1", 1000, "10.0.0.2", 9)
                                : tcp_("10.0.0.1", 1000, "10.0.0.2", (uint16_t)port, GH_TCP_ACK);
            EXPECT(&t, p, states[s], want[port - 1][s]);
        }
    }
    tfw_close(&t);
}

static void test_flags(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop tcp any any -> any 1 (flags:S; sid:1;)\n"
                 "drop tcp any any -> any 2 (flags:S,12; sid:2;)\n"
                 "drop tcp any any -> any 3 (flags:+S; sid:3;)\n"
                 "drop tcp any any -> any 4 (flags:SA+; sid:4;)\n"
                 "drop tcp any any -> any 5 (flags:*FR; sid:5;)\n"
                 "drop tcp any any -> any 6 (flags:!R; sid:6;)\n"
                 "drop tcp any any -> any 7 (flags:0; sid:7;)\n"
                 "drop tcp any any -> any 8 (flags:SA,CE; sid:8;)\n"
                 "drop udp any any -> any any (flags:0; sid:9;)\n"
                 "drop tcp any any -> any 10 (flags:!SA,U; sid:10;)\n"
                 "accept ip any any -> any any (sid:11;)\n");
    enum { F = GH_TCP_FIN, S = GH_TCP_SYN, R = GH_TCP_RST, P = GH_TCP_PSH, A = GH_TCP_ACK,
           U = GH_TCP_URG, E = GH_TCP_ECE, C = GH_TCP_CWR };
    static const struct {
        uint16_t port;
        uint8_t flags;
        uint32_t want;
    } cases[] = {
        {1, S, 0}, {1, S | A, 10}, {1, S | E, 10}, {1, S | E | C, 10}, {1, 0, 10},
        {2, S, 1}, {2, S | E | C, 1}, {2, S | E, 1}, {2, S | C, 1}, {2, S | A, 10},
        {3, S, 2}, {3, S | A, 2}, {3, 0xff, 2}, {3, A, 10},
        {4, S | A, 3}, {4, S | A | P, 3}, {4, S, 10}, {4, A, 10},
        {5, F, 4}, {5, R, 4}, {5, F | R | A, 4}, {5, S, 10}, {5, 0, 10},
        {6, A, 5}, {6, 0, 5}, {6, R | A, 10}, {6, R, 10},
        {7, 0, 6}, {7, A, 10}, {7, E, 10},
        {8, S | A, 7}, {8, S | A | C, 7}, {8, S | A | E | C, 7}, {8, S, 10}, {8, S | A | P, 10},
        {10, U, 9}, {10, P, 9}, {10, S, 10}, {10, A | U, 10},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", cases[i].port, cases[i].flags), NULL,
               cases[i].want);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 1), NULL, 10);
    EXPECT(&t, tcp_("2001:db8::1", 1000, "2001:db8::2", 1, S), NULL, 0);
    tfw_close(&t);
}

static pspec with_ttl(pspec s, int ttl)
{
    s.ttl = ttl;
    return s;
}

static pspec with_payload(pspec s, uint16_t n)
{
    s.payload = n;
    return s;
}

static void test_ttl(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> 10.0.0.1 any (ttl:64; sid:1;)\n"
                 "drop ip any any -> 10.0.0.2 any (ttl:<10; sid:2;)\n"
                 "drop ip any any -> 10.0.0.3 any (ttl:>200; sid:3;)\n"
                 "drop ip any any -> 10.0.0.4 any (ttl:10-20; sid:4;)\n"
                 "drop ip any any -> 10.0.0.5 any (ttl:10<>20; sid:5;)\n"
                 "drop ip any any -> 10.0.0.6 any (ttl:!64; sid:6;)\n"
                 "drop ip any any -> 10.0.0.7 any (ttl:<=1; sid:7;)\n"
                 "drop ip any any -> 2001:db8::1 any (ttl:1; sid:8;)\n"
                 "drop ip any any -> 10.0.0.8 any (ttl:>=254; sid:9;)\n"
                 "accept ip any any -> any any (sid:10;)\n");
    static const struct {
        const char *dst;
        int ttl;
        uint32_t want;
    } cases[] = {
        {"10.0.0.1", 64, 0},  {"10.0.0.1", 63, 9},  {"10.0.0.1", 65, 9},
        {"10.0.0.2", 9, 1},   {"10.0.0.2", 0, 1},   {"10.0.0.2", 10, 9},
        {"10.0.0.3", 201, 2}, {"10.0.0.3", 255, 2}, {"10.0.0.3", 200, 9},
        {"10.0.0.4", 10, 9},  {"10.0.0.4", 11, 3},  {"10.0.0.4", 19, 3}, {"10.0.0.4", 20, 9},
        {"10.0.0.5", 10, 9},  {"10.0.0.5", 11, 4},  {"10.0.0.5", 19, 4}, {"10.0.0.5", 20, 9},
        {"10.0.0.6", 64, 9},  {"10.0.0.6", 65, 5},  {"10.0.0.6", 0, 5},
        {"10.0.0.7", 0, 6},   {"10.0.0.7", 1, 6},   {"10.0.0.7", 2, 9},
        {"10.0.0.8", 253, 9}, {"10.0.0.8", 254, 8}, {"10.0.0.8", 255, 8},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        EXPECT(&t, with_ttl(udp_("10.9.9.9", 1, cases[i].dst, 2), cases[i].ttl), NULL,
               cases[i].want);
        EXPECT(&t, with_ttl(icmp_("10.9.9.9", cases[i].dst, 8, 0), cases[i].ttl), NULL,
               cases[i].want);
    }
    EXPECT(&t, with_ttl(udp_("2001:db8::9", 1, "2001:db8::1", 2), 1), NULL, 7);
    EXPECT(&t, with_ttl(udp_("2001:db8::9", 1, "2001:db8::1", 2), 2), NULL, 9);
    tfw_close(&t);
}

static void test_dsize(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop udp any any -> any 1 (dsize:0; sid:1;)\n"
                 "drop udp any any -> any 2 (dsize:>100; sid:2;)\n"
                 "drop tcp any any -> any 3 (dsize:10-20; sid:3;)\n"
                 "drop ip any any -> any any (dsize:<=3; ip_proto:47; sid:4;)\n"
                 "drop tcp any any -> any 5 (dsize:!10-20; sid:5;)\n"
                 "accept ip any any -> any any (sid:6;)\n");
    EXPECT(&t, udp_("10.0.0.1", 9, "10.0.0.2", 1), NULL, 0);
    EXPECT(&t, with_payload(udp_("10.0.0.1", 9, "10.0.0.2", 1), 1), NULL, 5);
    EXPECT(&t, with_payload(udp_("10.0.0.1", 9, "10.0.0.2", 2), 100), NULL, 5);
    EXPECT(&t, with_payload(udp_("10.0.0.1", 9, "10.0.0.2", 2), 101), NULL, 1);
    EXPECT(&t, with_payload(udp_("2001:db8::1", 9, "2001:db8::2", 2), 1000), NULL, 1);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 3, GH_TCP_ACK), 10), NULL, 5);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 3, GH_TCP_ACK), 11), NULL, 2);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 3, GH_TCP_ACK), 19), NULL, 2);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 3, GH_TCP_ACK), 20), NULL, 5);
    EXPECT(&t, raw_(47, "10.0.0.1", "10.0.0.2", 3), NULL, 3);
    EXPECT(&t, raw_(47, "10.0.0.1", "10.0.0.2", 0), NULL, 3);
    EXPECT(&t, raw_(47, "10.0.0.1", "10.0.0.2", 4), NULL, 5);
    EXPECT(&t, raw_(89, "10.0.0.1", "10.0.0.2", 2), NULL, 5);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 5, GH_TCP_ACK), 10), NULL, 4);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 5, GH_TCP_ACK), 11), NULL, 5);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 9, "10.0.0.2", 5, GH_TCP_ACK), 20), NULL, 4);
    tfw_close(&t);
}

static void test_itype_icode(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop icmp any any -> any any (itype:8; icode:0; sid:1;)\n"
                 "drop icmp any any -> any any (itype:3; icode:>2; sid:2;)\n"
                 "drop icmp any any -> any any (itype:128; sid:3;)\n"
                 "drop ip any any -> any any (itype:>250; sid:4;)\n"
                 "drop ip any any -> any any (icode:5-9; sid:5;)\n"
                 "accept ip any any -> any any (sid:6;)\n");
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 0), NULL, 0);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 8, 1), NULL, 5);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 3, 3), NULL, 1);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 3, 2), NULL, 5);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 0, 0), NULL, 5);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 0, 6), NULL, 4);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 0, 5), NULL, 5);
    EXPECT(&t, icmp_("10.0.0.1", "10.0.0.2", 0, 9), NULL, 5);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 128, 0), NULL, 2);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 251, 0), NULL, 3);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 250, 0), NULL, 5);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 8, 0), NULL, 0);
    /* TCP and UDP have no ICMP type */
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_SYN), NULL, 5);
    EXPECT(&t, udp_("10.0.0.1", 8, "10.0.0.2", 0), NULL, 5);
    tfw_close(&t);
}

static pspec with_hopopts(pspec s)
{
    s.hopopts = true;
    return s;
}

static void test_ip_proto(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> 10.0.0.1 any (ip_proto:47; sid:1;)\n"
                 "drop ip any any -> 10.0.0.2 any (ip_proto:!6; sid:2;)\n"
                 "drop ip any any -> 10.0.0.3 any (ip_proto:<17; sid:3;)\n"
                 "drop ip any any -> 10.0.0.4 any (ip_proto:udp; sid:4;)\n"
                 "drop ip any any -> 2001:db8::1 any (ip_proto:0; sid:5;)\n"
                 "drop ip any any -> 2001:db8::2 any (ip_proto:ipv6-icmp; sid:6;)\n"
                 "accept ip any any -> any any (sid:7;)\n");
    EXPECT(&t, raw_(47, "10.9.9.9", "10.0.0.1", 4), NULL, 0);
    EXPECT(&t, tcp_("10.9.9.9", 1, "10.0.0.1", 2, 0), NULL, 6);
    EXPECT(&t, udp_("10.9.9.9", 1, "10.0.0.2", 2), NULL, 1);
    EXPECT(&t, tcp_("10.9.9.9", 1, "10.0.0.2", 2, 0), NULL, 6);
    EXPECT(&t, tcp_("10.9.9.9", 1, "10.0.0.3", 2, 0), NULL, 2);
    EXPECT(&t, icmp_("10.9.9.9", "10.0.0.3", 8, 0), NULL, 2);
    EXPECT(&t, udp_("10.9.9.9", 1, "10.0.0.3", 2), NULL, 6);
    EXPECT(&t, udp_("10.9.9.9", 1, "10.0.0.4", 2), NULL, 3);
    EXPECT(&t, tcp_("10.9.9.9", 1, "10.0.0.4", 2, 0), NULL, 6);
    /* IPv6: an extension header in the chain counts as its protocol */
    EXPECT(&t, with_hopopts(tcp_("2001:db8::9", 1, "2001:db8::1", 2, 0)), NULL, 4);
    EXPECT(&t, tcp_("2001:db8::9", 1, "2001:db8::1", 2, 0), NULL, 6);
    EXPECT(&t, icmp_("2001:db8::9", "2001:db8::2", 128, 0), NULL, 5);
    EXPECT(&t, udp_("2001:db8::9", 1, "2001:db8::2", 2), NULL, 6);
    tfw_close(&t);
}

static pspec frag(pspec s, bool df, bool mf, bool rb)
{
    s.df = df;
    s.mf = mf;
    s.rb = rb;
    return s;
}

static void test_fragbits(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop ip any any -> 10.0.0.1 any (fragbits:D; sid:1;)\n"
                 "drop ip any any -> 10.0.0.2 any (fragbits:M; sid:2;)\n"
                 "drop ip any any -> 10.0.0.3 any (fragbits:+D; sid:3;)\n"
                 "drop ip any any -> 10.0.0.4 any (fragbits:!R; sid:4;)\n"
                 "drop ip any any -> 10.0.0.5 any (fragbits:*MR; sid:5;)\n"
                 "drop ip any any -> any any (fragbits:!D; sid:6;)\n"
                 "accept ip any any -> any any (sid:7;)\n");
    static const struct {
        const char *dst;
        bool df, mf, rb;
        uint32_t want;
    } cases[] = {
        {"10.0.0.1", true, false, false, 0},  {"10.0.0.1", true, true, false, 6},
        {"10.0.0.1", false, false, false, 5}, {"10.0.0.1", true, false, true, 6},
        {"10.0.0.2", false, true, false, 1},  {"10.0.0.2", true, true, false, 6},
        {"10.0.0.2", false, false, false, 5},
        {"10.0.0.3", true, false, false, 2},  {"10.0.0.3", true, false, true, 2},
        {"10.0.0.3", true, true, true, 2},    {"10.0.0.3", false, false, false, 5},
        {"10.0.0.4", false, false, false, 3}, {"10.0.0.4", true, true, false, 3},
        {"10.0.0.4", false, false, true, 5},  {"10.0.0.4", true, false, true, 6},
        {"10.0.0.5", false, true, false, 4},  {"10.0.0.5", false, false, true, 4},
        {"10.0.0.5", true, false, false, 6},  {"10.0.0.5", false, false, false, 5},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        EXPECT(&t,
               frag(udp_("10.9.9.9", 1, cases[i].dst, 2), cases[i].df, cases[i].mf, cases[i].rb),
               NULL, cases[i].want);
    /* IPv6 has no fragbits: fragbits rules never match it */
    EXPECT(&t, udp_("2001:db8::9", 1, "2001:db8::1", 2), NULL, 6);
    tfw_close(&t);
}

/* A conditional rule whose options fail lets a later rule match. */
static void test_conditional_fallthrough(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "drop tcp any any -> any 80 (flags:S; sid:1;)\n"
                 "accept tcp any any -> any any (sid:2;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 80, GH_TCP_ACK), NULL, 1);
    EXPECT(&t, tcp_("10.0.0.1", 1000, "10.0.0.2", 81, GH_TCP_SYN), NULL, 1);
    EXPECT(&t, udp_("10.0.0.1", 1000, "10.0.0.2", 80), NULL, NOM);
    tfw_close(&t);

    /* several conditional rules in a row, plain ones between, a shadowed
     * rule at the end */
    tfw_open(&t, "drop tcp any any -> any 80 (flags:S; sid:1;)\n"
                 "reject tcp 10.0.0.0/8 any -> any 80 (ttl:<10; sid:2;)\n"
                 "drop tcp any any -> any [80,443] (dsize:>100; sid:3;)\n"
                 "pass tcp any any <> 10.9.0.0/16 any (flow:established; sid:4;)\n"
                 "drop tcp any any -> any 80 (flags:+F; ttl:>100; sid:5;)\n"
                 "accept tcp any any -> any 80 (sid:6;)\n"
                 "drop tcp any any -> any 443 (flow:to_server; sid:7;)\n"
                 "drop ip any any -> any any (sid:8;)\n"
                 "pass tcp any any -> any 80 (flags:A; sid:9;)\n");
    const char *src = "10.1.1.1", *dst = "10.9.1.1";
    EXPECT(&t, tcp_(src, 5555, dst, 80, GH_TCP_SYN), &ST_NEW_TS, 0);
    EXPECT(&t, with_ttl(tcp_(src, 5555, dst, 80, GH_TCP_ACK), 5), &ST_EST_TS, 1);
    EXPECT(&t, with_payload(tcp_(src, 5555, dst, 80, GH_TCP_ACK), 200), &ST_EST_TS, 2);
    EXPECT(&t, with_payload(tcp_(src, 5555, dst, 443, GH_TCP_ACK), 101), &ST_NEW_TS, 2);
    EXPECT(&t, tcp_(src, 5555, dst, 80, GH_TCP_ACK), &ST_EST_TS, 3);
    EXPECT(&t, with_ttl(tcp_(src, 5555, dst, 80, GH_TCP_FIN | GH_TCP_ACK), 128), &ST_NEW_TS, 4);
    EXPECT(&t, with_ttl(tcp_(src, 5555, dst, 80, GH_TCP_FIN | GH_TCP_ACK), 100), &ST_NEW_TS, 5);
    EXPECT(&t, tcp_(src, 5555, dst, 80, GH_TCP_ACK), &ST_NEW_TS, 5);
    EXPECT(&t, tcp_(src, 5555, dst, 80, GH_TCP_ACK), NULL, 5);
    EXPECT(&t, tcp_(src, 5555, dst, 443, GH_TCP_ACK), &ST_NEW_TS, 6);
    EXPECT(&t, tcp_(src, 5555, dst, 443, GH_TCP_ACK), &ST_NEW_TC, 7);
    /* not in 10/8: rule 1 is not even a candidate */
    EXPECT(&t, with_ttl(tcp_("11.1.1.1", 5555, "8.8.8.8", 80, GH_TCP_ACK), 5), &ST_EST_TS, 5);
    /* the reverse direction of the <> rule */
    EXPECT(&t, tcp_(dst, 80, src, 5555, GH_TCP_ACK), &ST_EST_TC, 3);
    EXPECT(&t, tcp_(dst, 80, src, 5555, GH_TCP_ACK), &ST_NEW_TC, 7);
    EXPECT(&t, udp_(src, 5555, dst, 80), &ST_EST_TS, 7);
    tfw_close(&t);

    /* a failing conditional rule with several boxes (lists); the next
     * conditional rule shares some of them */
    tfw_open(&t, "drop tcp [10.0.0.1,10.0.0.2] any -> any [80,81] (flags:S; sid:1;)\n"
                 "drop tcp 10.0.0.2 any -> any 81 (ttl:5; sid:2;)\n"
                 "reject tcp [10.0.0.1,10.0.0.2] any <> any [80,81] (dsize:1; sid:3;)\n"
                 "accept tcp any any -> any any (sid:4;)\n");
    EXPECT(&t, with_ttl(tcp_("10.0.0.2", 1, "10.0.0.9", 81, GH_TCP_ACK), 5), NULL, 1);
    EXPECT(&t, with_ttl(tcp_("10.0.0.2", 1, "10.0.0.9", 81, GH_TCP_SYN), 5), NULL, 0);
    EXPECT(&t, with_ttl(tcp_("10.0.0.2", 1, "10.0.0.9", 81, GH_TCP_ACK), 6), NULL, 3);
    EXPECT(&t, with_payload(tcp_("10.0.0.2", 1, "10.0.0.9", 81, GH_TCP_ACK), 1), NULL, 2);
    EXPECT(&t, with_payload(tcp_("10.0.0.9", 80, "10.0.0.1", 1, GH_TCP_ACK), 1), NULL, 2);
    EXPECT(&t, with_payload(tcp_("10.0.0.9", 80, "10.0.0.1", 1, GH_TCP_ACK), 2), NULL, 3);
    EXPECT(&t, with_payload(tcp_("10.0.0.1", 1, "10.0.0.9", 80, GH_TCP_ACK), 1), NULL, 2);
    tfw_close(&t);

    /* only conditional rules */
    tfw_open(&t, "drop tcp any any -> any any (flags:S; sid:1;)\n"
                 "drop tcp any any -> any any (flags:A; sid:2;)\n"
                 "drop udp any any -> any any (dsize:0; sid:3;)\n"
                 "drop ip any any -> any any (ttl:1; sid:4;)\n");
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_ACK), NULL, 1);
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_FIN), NULL, NOM);
    EXPECT(&t, with_ttl(tcp_("10.0.0.1", 1, "10.0.0.2", 2, GH_TCP_FIN), 1), NULL, 3);
    EXPECT(&t, udp_("2001:db8::1", 1, "2001:db8::2", 2), NULL, 2);
    EXPECT(&t, with_payload(udp_("2001:db8::1", 1, "2001:db8::2", 2), 1), NULL, NOM);
    tfw_close(&t);
}

static void test_non_ip(void **state)
{
    (void)state;
    tfw t;
    tfw_open(&t, "pass ip any any -> any any (sid:1;)\n"
                 "drop ipv4 any any -> any any (flow:stateless; sid:2;)\n");
    static const uint8_t arp[28] = {0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 10, 0, 0, 1};
    tpkt *pk = malloc(sizeof(*pk));
    assert_non_null(pk);
    pb_init(&pk->b);
    pb_eth(&pk->b);
    pb_put16(&pk->b, 12, 0x0806);
    pb_data(&pk->b, arp, sizeof(arp));
    pb_pad_to(&pk->b, 60);
    gh_decode_opts o = {.verify_checksums = true};
    gh_decode(&pk->p, GH_LINK_ETHERNET, pk->b.buf, pk->b.len, &o);
    assert_true(pk->p.layers & GH_LAYER_ARP);
    assert_int_equal(pk->p.ip_ver, 0);
    assert_int_equal(gh_fw_classify(t.fw, &pk->p, NULL), GH_FW_NOMATCH);
    assert_int_equal(gh_fw_classify(t.fw, &pk->p, &ST_EST_TS), GH_FW_NOMATCH);

    /* an IPv4 packet in Ethernet does match */
    pb_init(&pk->b);
    pb_eth(&pk->b);
    pb_ip4 h = {.src = "10.0.0.1", .dst = "10.0.0.2"};
    pb_ipv4(&pk->b, &h);
    pb_udp(&pk->b, 1, 2);
    pb_finalize(&pk->b);
    gh_decode(&pk->p, GH_LINK_ETHERNET, pk->b.buf, pk->b.len, &o);
    assert_int_equal(gh_fw_classify(t.fw, &pk->p, NULL), 0);
    free(pk);
    tfw_close(&t);
}

static void test_rule_info(void **state)
{
    (void)state;
    const char *texts[2] = {
        "# firewall, first file\n"
        "\n"
        "accept tcp any any -> any 22 (msg:\"ssh \\\"in\\\"\"; sid:100; rev:3;)\n"
        "pass udp any any -> any 53 (sid:200; gid:5;)\n",
        "drop icmp any any -> any any (msg:\"ping; pong\"; sid:300; classtype:misc-activity; "
        "reference:url,example.com; metadata:created_at 2024; priority:2;)\n"
        "\n"
        "reject ip any any -> any any (msg:\"rest\"; sid:400;)\n"
        "rejectdst tcp any any -> any 9 (sid:401;)\n"
        "\n",
    };
    tfw t;
    /* rejectdst is a signature action: the checker refuses it in a firewall */
    {
        gh_rule_vars *v = test_vars();
        gh_rule_file *f = gh_rules_parse_buffer("b.rules", texts[1], strlen(texts[1]),
                                                GH_RULE_TIER_FIREWALL, NULL);
        assert_non_null(f);
        assert_int_equal(gh_rules_check(f, v), GH_OK);
        assert_int_equal(f->n_errors, 1);
        assert_int_equal(f->errors[0].loc.line, 4);
        assert_int_equal(f->errors[0].loc.col, 1);
        gh_rule_file_free(f);
        gh_rule_vars_free(v);
    }
    const char *ok_texts[2] = {texts[0],
                               "drop icmp any any -> any any (msg:\"ping; pong\"; sid:300; "
                               "classtype:misc-activity; reference:url,example.com; "
                               "metadata:created_at 2024; priority:2;)\n"
                               "\n"
                               "reject ip any any -> any any (msg:\"rest\"; sid:400;)\n"};
    tfw_open_n(&t, ok_texts, 2);
    assert_int_equal(gh_fw_rule_count(t.fw), 4);
    const gh_fw_rule_info *r = gh_fw_rule(t.fw, 0);
    assert_non_null(r);
    assert_int_equal(r->action, GH_FW_ACCEPT);
    assert_int_equal(r->sid, 100);
    assert_int_equal(r->gid, 1);
    assert_int_equal(r->rev, 3);
    assert_string_equal(r->msg, "ssh \"in\"");
    assert_string_equal(r->file, "a.rules");
    assert_int_equal(r->line, 3);
    r = gh_fw_rule(t.fw, 1);
    assert_int_equal(r->action, GH_FW_PASS);
    assert_int_equal(r->sid, 200);
    assert_int_equal(r->gid, 5);
    assert_int_equal(r->rev, 0);
    assert_string_equal(r->msg, "");
    assert_string_equal(r->file, "a.rules");
    assert_int_equal(r->line, 4);
    r = gh_fw_rule(t.fw, 2);
    assert_int_equal(r->action, GH_FW_DROP);
    assert_int_equal(r->sid, 300);
    assert_string_equal(r->msg, "ping; pong");
    assert_string_equal(r->file, "b.rules");
    assert_int_equal(r->line, 1);
    r = gh_fw_rule(t.fw, 3);
    assert_int_equal(r->action, GH_FW_REJECT);
    assert_int_equal(r->sid, 400);
    assert_string_equal(r->msg, "rest");
    assert_string_equal(r->file, "b.rules");
    assert_int_equal(r->line, 3);
    assert_null(gh_fw_rule(t.fw, 4));
    assert_null(gh_fw_rule(t.fw, GH_FW_NOMATCH));

    /* indices run on across files */
    EXPECT(&t, tcp_("10.0.0.1", 1, "10.0.0.2", 22, GH_TCP_SYN), NULL, 0);
    EXPECT(&t, udp_("10.0.0.1", 1, "10.0.0.2", 53), NULL, 1);
    EXPECT(&t, icmp_("2001:db8::1", "2001:db8::2", 128, 0), NULL, 2);
    EXPECT(&t, udp_("10.0.0.1", 1, "10.0.0.2", 54), NULL, 3);

    assert_string_equal(gh_fw_action_name(GH_FW_ACCEPT), "accept");
    assert_string_equal(gh_fw_action_name(GH_FW_PASS), "pass");
    assert_string_equal(gh_fw_action_name(GH_FW_DROP), "drop");
    assert_string_equal(gh_fw_action_name(GH_FW_REJECT), "reject");

    gh_fw_stats st;
    gh_fw_get_stats(t.fw, &st);
    assert_int_equal(st.rules, 4);
    assert_true(st.boxes_v4 > 0);
    assert_true(st.boxes_v6 > 0);
    assert_true(st.memory_bytes > 0);
    gh_fw_free(NULL);
    tfw_close(&t);
}

/* The rule descriptions must stay valid after the rule files are freed:
 * the CLI (engine/cli/ruleload.c) frees them right after gh_fw_compile and
 * EVE/the worker read gh_fw_rule()->file later. Checked in a child process
 * so that an AddressSanitizer report fails this test only. */
static void test_rule_info_outlives_files(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        tfw t;
        tfw_open(&t, "accept tcp any any -> any 22 (msg:\"ssh\"; sid:1;)\n");
        for (size_t i = 0; i < t.nfiles; i++)
            gh_rule_file_free(t.files[i]);
        t.nfiles = 0;
        /* churn the heap so a dangling pointer would show garbage */
        for (int i = 0; i < 64; i++) {
            char *junk = malloc(64);
            if (junk)
                memset(junk, 'X', 64);
            free(junk);
        }
        const gh_fw_rule_info *r = gh_fw_rule(t.fw, 0);
        int ok = r && strcmp(r->file, "a.rules") == 0 && strcmp(r->msg, "ssh") == 0 &&
                 r->line == 1;
        tfw_close(&t);
        _exit(ok ? 0 : 3);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("gh_fw_rule()->file is not valid after gh_rule_file_free (child status 0x%x)",
                 status);
}

/* ------------------------------------------------------------ part 2: errors */

typedef struct want_err {
    uint32_t line, col;
    const char *msg;
} want_err;

static int cmp_err_pos(const void *a, const void *b)
{
    const gh_rule_error *x = a, *y = b;
    if (x->loc.line != y->loc.line)
        return x->loc.line < y->loc.line ? -1 : 1;
    if (x->loc.col != y->loc.col)
        return x->loc.col < y->loc.col ? -1 : 1;
    return 0;
}

static void expect_compile_errors(const char *text, const want_err *want, size_t nwant)
{
    gh_rule_vars *v = test_vars();
    gh_rule_file *f = parse_checked("err.rules", text, v);
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_error err = {0};
    gh_fw *fw = gh_fw_compile(&f, 1, v, &errs, &nerrs, &err);
    if (nerrs != nwant) {
        print_message("expected %zu errors, got %zu:\n", nwant, nerrs);
        print_errors(errs, nerrs);
    }
    assert_null(fw);
    assert_int_equal(err.code, GH_E_FORMAT);
    assert_int_equal(nerrs, nwant);
    /* gh_fw_compile appends errors as it finds them; within one rule that
     * is not column order. Compare in position order. */
    if (nerrs > 1)
        qsort(errs, nerrs, sizeof(*errs), cmp_err_pos);
    for (size_t i = 0; i < nwant; i++) {
        if (errs[i].loc.line != want[i].line || errs[i].loc.col != want[i].col ||
            strcmp(errs[i].message, want[i].msg) != 0)
            fail_msg("error %zu: expected err.rules:%u:%u: %s\n  got %s:%u:%u: %s", i,
                     want[i].line, want[i].col, want[i].msg,
                     errs[i].loc.file ? errs[i].loc.file : "?", errs[i].loc.line,
                     errs[i].loc.col, errs[i].message);
        assert_non_null(errs[i].loc.file);
        assert_string_equal(errs[i].loc.file, "err.rules");
    }
    free(errs);
    gh_rule_file_free(f);
    gh_rule_vars_free(v);
}

static void test_error_protocol(void **state)
{
    (void)state;
    static const want_err w[] = {
        {2, 6, "protocol 'tcp-stream' is not allowed in a firewall rule (ip, ipv4, ipv6, tcp, "
               "udp, icmp, icmpv4, icmpv6)"},
    };
    expect_compile_errors("accept tcp any any -> any any (sid:1;)\n"
                          "drop tcp-stream any any -> any any (sid:2;)\n"
                          "accept udp any any -> any any (sid:3;)\n",
                          w, 1);
}

static void test_error_icmp_ports(void **state)
{
    (void)state;
    /* the source port is the one given */
    static const want_err w1[] = {
        {1, 15, "ports are given for protocol 'icmp', which has none"},
        {3, 17, "ports are given for protocol 'icmpv6', which has none"},
    };
    expect_compile_errors("drop icmp any 80 -> any any (sid:1;)\n"
                          "drop icmp any any -> any any (sid:2;)\n"
                          "drop icmpv6 any [1:2] -> any [0:65535] (sid:3;)\n",
                          w1, 2);
}

/* The error points at the port that is given. */
static void test_error_icmp_dst_port_column(void **state)
{
    (void)state;
    static const want_err w[] = {
        {1, 26, "ports are given for protocol 'icmp', which has none"},
        {2, 28, "ports are given for protocol 'icmpv4', which has none"},
    };
    expect_compile_errors("drop icmp any any -> any 80 (sid:1;)\n"
                          "drop icmpv4 any any -> any $HTTP_PORTS (sid:2;)\n",
                          w, 2);
}

static void test_error_flow_only_stream(void **state)
{
    (void)state;
    static const want_err w[] = {
        {1, 35, "flow:only_stream never matches in a firewall rule (it sees packets, not "
                "streams)"},
        {3, 44, "flow:only_stream never matches in a firewall rule (it sees packets, not "
                "streams)"},
    };
    expect_compile_errors("drop tcp any any -> any any (flow:only_stream; sid:1;)\n"
                          "drop tcp any any -> any any (flow:no_stream; sid:2;)\n"
                          "drop tcp any any -> any any (msg:\"x\"; flow:established,only_stream; "
                          "sid:3;)\n",
                          w, 2);
}

/* Several kinds in one file: every one is reported, in rule order. */
static void test_error_all_reported(void **state)
{
    (void)state;
    static const want_err w[] = {
        {1, 6, "protocol 'tcp-stream' is not allowed in a firewall rule (ip, ipv4, ipv6, tcp, "
               "udp, icmp, icmpv4, icmpv6)"},
        {2, 15, "ports are given for protocol 'icmp', which has none"},
        {4, 35, "flow:only_stream never matches in a firewall rule (it sees packets, not "
                "streams)"},
        {5, 8, "protocol 'tcp-stream' is not allowed in a firewall rule (ip, ipv4, ipv6, tcp, "
               "udp, icmp, icmpv4, icmpv6)"},
        {5, 44, "flow:only_stream never matches in a firewall rule (it sees packets, not "
                "streams)"},
    };
    expect_compile_errors("drop tcp-stream any any -> any any (sid:1;)\n"
                          "drop icmp any 7 -> any any (sid:2;)\n"
                          "drop tcp any any -> any any (sid:3;)\n"
                          "drop tcp any any -> any any (flow:only_stream; sid:4;)\n"
                          "accept tcp-stream any any -> any any (flow:only_stream; sid:5;)\n",
                          w, 5);
}

static void test_error_too_many_boxes(void **state)
{
    (void)state;
    /* 300 x 350 address pairs, both directions: 210000 boxes */
    size_t cap = 64 * 1024;
    char *text = malloc(cap);
    assert_non_null(text);
    size_t n = (size_t)snprintf(text, cap, "accept tcp any any -> any any (sid:1;)\ndrop ip [");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s10.1.%d.%d", i ? "," : "", i / 100,
                              (i % 100) * 2);
    n += (size_t)snprintf(text + n, cap - n, "] any <> [");
    for (int i = 0; i < 350; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s10.2.%d.%d", i ? "," : "", i / 100,
                              (i % 100) * 2);
    n += (size_t)snprintf(text + n, cap - n, "] any (sid:2;)\n");
    assert_true(n < cap);
    static const want_err w[] = {
        {2, 1, "rule expands to 210000 classifier boxes (limit 200000): split its address or "
               "port lists"},
    };
    expect_compile_errors(text, w, 1);
    free(text);
}

/* gh_rules_check accepts these header option values (they are valid
 * Suricata), so gh_fw_compile must either compile them or report them. */
static void test_check_accepts_compile_agrees(void **state)
{
    (void)state;
    static const char *const opts[] = {
        "ip_proto:dccp", "ip_proto:ipv4", "ip_proto:sctp", "flow:only_frag", "flow:no_frag",
        "ttl:>5; ttl:<10",
    };
    gh_rule_vars *v = test_vars();
    int bad = 0;
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "drop ip any any -> any any (%s; sid:1;)\n", opts[i]);
        gh_rule_file *f = parse_checked("o.rules", text, v);
        gh_rule_error *errs = NULL;
        size_t nerrs = 0;
        gh_error err = {0};
        gh_fw *fw = gh_fw_compile(&f, 1, v, &errs, &nerrs, &err);
        if (!fw) {
            print_message("passes gh_rules_check, fails gh_fw_compile: %s", text);
            print_errors(errs, nerrs);
            bad++;
        }
        gh_fw_free(fw);
        free(errs);
        gh_rule_file_free(f);
    }
    gh_rule_vars_free(v);
    assert_int_equal(bad, 0);
}

/* ------------------------------------------------------------ part 3: differential */

static uint64_t rng_state;

static uint64_t rnd64(void)
{
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd32(void)
{
    return (uint32_t)(rnd64() >> 32);
}

/* uniform in [0, n), n > 0 */
static uint32_t below(uint32_t n)
{
    return (uint32_t)(((uint64_t)rnd32() * n) >> 32);
}

static bool chance(uint32_t percent)
{
    return below(100) < percent;
}

static u128 rnd128(void)
{
    return ((u128)rnd64() << 64) | rnd64();
}

static void u128_to_bytes(u128 v, uint8_t b[16])
{
    for (int i = 15; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

static u128 bytes_to_u128(const uint8_t b[16])
{
    u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = (v << 8) | b[i];
    return v;
}

/* A growable string. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_printf(sbuf *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sb_printf(sbuf *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(s->p ? s->p + s->n : NULL, s->p ? s->cap - s->n : 0, fmt, ap);
        va_end(ap);
        assert_true(k >= 0);
        if (s->p && s->n + (size_t)k < s->cap) {
            s->n += (size_t)k;
            return;
        }
        size_t cap = s->cap ? s->cap * 2 : 4096;
        while (cap < s->n + (size_t)k + 1)
            cap *= 2;
        char *np = realloc(s->p, cap);
        assert_non_null(np);
        s->p = np;
        s->cap = cap;
    }
}

static void sb_reset(sbuf *s)
{
    s->n = 0;
    if (s->p)
        s->p[0] = '\0';
}

#define MAX_PTS 4096

/* Values worth testing: every boundary the rules mention, +-1. */
typedef struct gen {
    uint32_t v4[MAX_PTS];
    size_t n4;
    u128 v6[MAX_PTS];
    size_t n6;
    uint16_t ports[MAX_PTS];
    size_t np;
    uint32_t v4base[12];
    u128 v6base[12];
    uint32_t opt_pct; /* chance of each header option */
} gen;

static void add_v4(gen *g, uint32_t lo, uint32_t hi)
{
    uint32_t pts[5] = {lo - 1, lo, hi, hi + 1, lo + (uint32_t)((hi - lo) / 2)};
    for (int i = 0; i < 5 && g->n4 < MAX_PTS; i++)
        g->v4[g->n4++] = pts[i];
}

static void add_v6(gen *g, u128 lo, u128 hi)
{
    u128 pts[5] = {lo - 1, lo, hi, hi + 1, lo + (hi - lo) / 2};
    for (int i = 0; i < 5 && g->n6 < MAX_PTS; i++)
        g->v6[g->n6++] = pts[i];
}

static void add_port(gen *g, uint32_t lo, uint32_t hi)
{
    uint32_t pts[5] = {lo ? lo - 1 : 0, lo, hi, hi < 65535 ? hi + 1 : 65535, (lo + hi) / 2};
    for (int i = 0; i < 5 && g->np < MAX_PTS; i++)
        g->ports[g->np++] = (uint16_t)pts[i];
}

static void fmt_v4(uint32_t a, char *buf, size_t n)
{
    snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void fmt_v6(u128 a, char *buf, size_t n)
{
    uint8_t b[16];
    u128_to_bytes(a, b);
    char tmp[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, b, tmp, sizeof(tmp));
    snprintf(buf, n, "%s", tmp);
}

static uint32_t pick_v4_base(const gen *g)
{
    uint32_t b = g->v4base[below(12)];
    switch (below(4)) {
    case 0: return b;
    case 1: return b + below(256);
    case 2: return b ^ (rnd32() & 0xffff);
    default: return chance(50) ? rnd32() : b + below(4);
    }
}

static u128 pick_v6_base(const gen *g)
{
    u128 b = g->v6base[below(12)];
    switch (below(5)) {
    case 0: return b;
    case 1: return b + below(256);
    case 2: return b ^ ((u128)rnd64() << (below(3) * 32));
    case 3: return b | (((u128)1 << (below(127) + 1)) - 1); /* all ones below some bit */
    default: return chance(50) ? rnd128() : b + below(4);
    }
}

static unsigned pick_v4_len(void)
{
    switch (below(4)) {
    case 0: return below(8);
    case 1: return 8 + below(8);
    default: return 16 + below(17);
    }
}

static unsigned pick_v6_len(void)
{
    static const unsigned edges[] = {0,  1,  16, 31, 32,  33,  48,  63,
                                     64, 65, 95, 96, 97, 120, 127, 128};
    if (chance(50))
        return edges[below(sizeof(edges) / sizeof(edges[0]))];
    return below(129);
}

static void gen_v4_leaf(gen *g, sbuf *s)
{
    char a[32], b[32];
    uint32_t base = pick_v4_base(g);
    uint32_t k = below(100);
    fmt_v4(base, a, sizeof(a));
    if (k < 30) {
        sb_printf(s, "%s", a);
        add_v4(g, base, base);
    } else if (k < 75) {
        unsigned len = pick_v4_len();
        uint32_t m = len == 0 ? 0 : ~(uint32_t)0 << (32 - len);
        if (chance(15) && len > 0) {
            fmt_v4(m, b, sizeof(b));
            sb_printf(s, "%s/%s", a, b);
        } else {
            sb_printf(s, "%s/%u", a, len);
        }
        add_v4(g, base & m, base | ~m);
    } else {
        uint32_t span = chance(40) ? below(256) : chance(60) ? below(1u << 20) : rnd32();
        uint32_t hi = base + span < base ? UINT32_MAX : base + span;
        fmt_v4(hi, b, sizeof(b));
        sb_printf(s, "%s-%s", a, b);
        add_v4(g, base, hi);
    }
}

static void gen_v6_leaf(gen *g, sbuf *s)
{
    char a[64], b[64];
    u128 base = pick_v6_base(g);
    uint32_t k = below(100);
    fmt_v6(base, a, sizeof(a));
    if (k < 30) {
        sb_printf(s, "%s", a);
        add_v6(g, base, base);
    } else if (k < 75) {
        unsigned len = pick_v6_len();
        u128 m = len == 0 ? 0 : ~(u128)0 << (128 - len);
        sb_printf(s, "%s/%u", a, len);
        add_v6(g, base & m, base | ~m);
    } else {
        /* ranges cut into many prefixes: keep their spans modest so the
         * rule stays within the box budget */
        u128 span = chance(50) ? below(1u << 12) : (u128)rnd64() >> below(64);
        if (chance(20))
            span = (u128)below(1u << 16) << (32 * below(3));
        u128 hi = base + span < base ? ~(u128)0 : base + span;
        fmt_v6(hi, b, sizeof(b));
        sb_printf(s, "%s-%s", a, b);
        add_v6(g, base, hi);
    }
}

static const char *const addr_vars[] = {"$HOME_NET", "$EXTERNAL_NET", "$DNS_SERVERS",
                                        "$INTERNAL_NO_DNS", "$WEB", "$V6NETS", "$SERVERS"};
static const char *const port_vars[] = {"$HTTP_PORTS", "$HIGH_PORTS", "$SSH_PORTS",
                                        "$MIXED_PORTS"};

static void gen_addr(gen *g, sbuf *s, int depth)
{
    uint32_t k = below(100);
    if (depth == 0 && k < 18) {
        sb_printf(s, "any");
        return;
    }
    if (chance(depth ? 25 : 8))
        sb_printf(s, "!");
    if (k < 30) {
        sb_printf(s, "%s", addr_vars[below(sizeof(addr_vars) / sizeof(addr_vars[0]))]);
    } else if (k < 58 || (depth >= 2 && k < 80)) {
        gen_v4_leaf(g, s);
    } else if (k < 80 || depth >= 2) {
        gen_v6_leaf(g, s);
    } else {
        uint32_t n = 1 + below(4);
        sb_printf(s, "[");
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                sb_printf(s, ",");
            gen_addr(g, s, depth + 1);
        }
        sb_printf(s, "]");
    }
}

static uint16_t pick_port(const gen *g)
{
    static const uint16_t common[] = {0, 1, 21, 22, 23, 53, 79, 80, 81, 443, 1023, 1024, 1025,
                                      8080, 8081, 8088, 32768, 65534, 65535};
    if (g->np && chance(40))
        return g->ports[below((uint32_t)g->np)];
    if (chance(70))
        return common[below(sizeof(common) / sizeof(common[0]))];
    return (uint16_t)below(65536);
}

static void gen_port_leaf(gen *g, sbuf *s)
{
    uint32_t a = pick_port(g), b = pick_port(g);
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    switch (below(5)) {
    case 0:
    case 1:
        sb_printf(s, "%u", a);
        add_port(g, a, a);
        break;
    case 2:
        sb_printf(s, "%u:%u", a, b);
        add_port(g, a, b);
        break;
    case 3:
        sb_printf(s, "%u:", a);
        add_port(g, a, 65535);
        break;
    default:
        sb_printf(s, ":%u", b);
        add_port(g, 0, b);
        break;
    }
}

static void gen_ports(gen *g, sbuf *s, int depth)
{
    uint32_t k = below(100);
    if (depth == 0 && k < 45) {
        sb_printf(s, "any");
        return;
    }
    if (chance(depth ? 25 : 8))
        sb_printf(s, "!");
    if (k < 55) {
        sb_printf(s, "%s", port_vars[below(sizeof(port_vars) / sizeof(port_vars[0]))]);
    } else if (k < 85 || depth >= 2) {
        gen_port_leaf(g, s);
    } else {
        uint32_t n = 1 + below(4);
        sb_printf(s, "[");
        for (uint32_t i = 0; i < n; i++) {
            if (i)
                sb_printf(s, ",");
            gen_ports(g, s, depth + 1);
        }
        sb_printf(s, "]");
    }
}

static const uint32_t ttl_pool[] = {0, 1, 2, 10, 32, 63, 64, 65, 127, 128, 200, 254, 255};
static const uint32_t dsize_pool[] = {0, 1, 2, 9, 10, 11, 50, 99, 100, 101, 200, 1000};
static const uint32_t itype_pool[] = {0, 3, 5, 8, 11, 128, 129, 135, 136, 255};
static const uint32_t icode_pool[] = {0, 1, 2, 3, 4, 13, 255};

static uint32_t pick(const uint32_t *pool, size_t n)
{
    return pool[below((uint32_t)n)];
}

#define PICK(pool) pick((pool), sizeof(pool) / sizeof((pool)[0]))

/* A Suricata integer keyword value over @p pool (max @p max). */
static void gen_uint(sbuf *s, const uint32_t *pool, size_t n, uint32_t max)
{
    uint32_t a = pick(pool, n), b = pick(pool, n);
    if (chance(10))
        a = below(max + 1);
    if (a > b) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    if (a == b) {
        if (a == max)
            a = max - 1;
        else
            b = a + 1 + below(max - a);
    }
    static const char *const ops[] = {"", "<", ">", "<=", ">=", "!", "=", "!="};
    switch (below(10)) {
    case 0: sb_printf(s, "%u-%u", a, b); break;
    case 1: sb_printf(s, "%u<>%u", a, b); break;
    case 2: sb_printf(s, "!%u-%u", a, b); break;
    default: sb_printf(s, "%s%u", ops[below(8)], a); break;
    }
}

static void gen_flags(sbuf *s)
{
    static const char letters[] = "FSRPAUCE";
    if (chance(8)) {
        sb_printf(s, "0");
    } else {
        static const char *const pre[] = {"", "", "+", "*", "!"};
        const char *m = pre[below(5)];
        bool suffix = m[0] && chance(30);
        if (!suffix)
            sb_printf(s, "%s", m);
        uint32_t n = 1 + below(3);
        uint32_t used = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k = below(8);
            if (used & (1u << k))
                continue;
            used |= 1u << k;
            sb_printf(s, "%c", letters[k]);
        }
        if (suffix)
            sb_printf(s, "%s", m);
    }
    if (chance(20)) {
        static const char *const ign[] = {",12", ",CE", ",U", ",C"};
        sb_printf(s, "%s", ign[below(4)]);
    }
}

static void gen_options(gen *g, sbuf *s)
{
    static const char *const flows[] = {
        "established", "not_established", "to_server", "to_client", "stateless",
        "established,to_server", "established,to_client", "not_established,to_server",
        "from_client", "from_server", "no_stream", "to_server,established",
    };
    static const char *const fragbits[] = {"D", "M", "R", "+D", "*MD", "!R", "!D", "MD"};
    static const char *const protos[] = {"6", "17", "1", "58", "47", "!6", "<17", ">50",
                                         "tcp", "udp", "gre", "!udp"};
    if (chance(g->opt_pct))
        sb_printf(s, "flow:%s; ", flows[below(sizeof(flows) / sizeof(flows[0]))]);
    if (chance(g->opt_pct)) {
        sb_printf(s, "flags:");
        gen_flags(s);
        sb_printf(s, "; ");
    }
    if (chance(g->opt_pct)) {
        sb_printf(s, "ttl:");
        gen_uint(s, ttl_pool, sizeof(ttl_pool) / sizeof(ttl_pool[0]), 255);
        sb_printf(s, "; ");
    }
    if (chance(g->opt_pct)) {
        sb_printf(s, "dsize:");
        gen_uint(s, dsize_pool, sizeof(dsize_pool) / sizeof(dsize_pool[0]), 65535);
        sb_printf(s, "; ");
    }
    if (chance(g->opt_pct / 2 + 1)) {
        sb_printf(s, "itype:");
        gen_uint(s, itype_pool, sizeof(itype_pool) / sizeof(itype_pool[0]), 255);
        sb_printf(s, "; ");
    }
    if (chance(g->opt_pct / 2 + 1)) {
        sb_printf(s, "icode:");
        gen_uint(s, icode_pool, sizeof(icode_pool) / sizeof(icode_pool[0]), 255);
        sb_printf(s, "; ");
    }
    if (chance(g->opt_pct / 4))
        sb_printf(s, "fragbits:%s; ", fragbits[below(sizeof(fragbits) / sizeof(fragbits[0]))]);
    if (chance(g->opt_pct / 4))
        sb_printf(s, "ip_proto:%s; ", protos[below(sizeof(protos) / sizeof(protos[0]))]);
}

static void gen_rule(gen *g, sbuf *s, uint32_t sid)
{
    static const char *const actions[] = {"accept", "pass", "drop", "reject"};
    static const struct {
        const char *name;
        uint32_t weight;
    } protos[] = {
        {"ip", 20}, {"tcp", 25}, {"udp", 18}, {"icmp", 10}, {"ipv4", 7}, {"ipv6", 7},
        {"ip4", 2}, {"ip6", 2},  {"icmpv4", 3}, {"icmpv6", 3}, {"tcp-pkt", 1},
    };
    uint32_t total = 0, k;
    for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++)
        total += protos[i].weight;
    k = below(total);
    size_t pi = 0;
    while (k >= protos[pi].weight)
        k -= protos[pi++].weight;
    const char *proto = protos[pi].name;
    bool icmp = strncmp(proto, "icmp", 4) == 0;
    sb_printf(s, "%s %s ", actions[below(4)], proto);
    gen_addr(g, s, 0);
    sb_printf(s, " ");
    if (icmp)
        sb_printf(s, "any");
    else
        gen_ports(g, s, 0);
    sb_printf(s, chance(25) ? " <> " : " -> ");
    gen_addr(g, s, 0);
    sb_printf(s, " ");
    if (icmp)
        sb_printf(s, "any");
    else
        gen_ports(g, s, 0);
    sb_printf(s, " (");
    gen_options(g, s);
    sb_printf(s, "sid:%u;)\n", sid);
}

/* --- the naive reference --- */

typedef enum ref_proto { RP_IP, RP_TCP, RP_UDP, RP_ICMP, RP_ICMP4, RP_ICMP6 } ref_proto;

typedef struct ref_rule {
    const gh_rule *r;
    gh_addr_set src, dst;
    gh_port_set sp, dp;
    ref_proto proto;
    int family;        /* 0 both, 4, 6 */
    bool ports_given;  /* port sets other than "any" */
    gh_hdr_match hm;
} ref_rule;

static bool in_v4(const gh_addr_set *s, const uint8_t a[16])
{
    uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
    for (size_t i = 0; i < s->n_v4; i++)
        if (s->v4[i].lo <= v && v <= s->v4[i].hi)
            return true;
    return false;
}

static bool in_v6(const gh_addr_set *s, const uint8_t a[16])
{
    for (size_t i = 0; i < s->n_v6; i++)
        if (memcmp(s->v6[i].lo, a, 16) <= 0 && memcmp(a, s->v6[i].hi, 16) <= 0)
            return true;
    return false;
}

static bool in_addr(const gh_addr_set *s, const gh_packet *p, const uint8_t a[16])
{
    return p->ip_ver == 4 ? in_v4(s, a) : in_v6(s, a);
}

static bool in_ports(const gh_port_set *s, uint16_t port)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->r[i].lo <= port && port <= s->r[i].hi)
            return true;
    return false;
}

/* Membership straight from the expression tree, variables re-parsed from
 * their text: an independent check of gh_rule_eval_addr/_port. */
typedef struct var_cache {
    const char *name;
    gh_rule_expr *as_addr, *as_port;
    bool tried_addr, tried_port;
} var_cache;

static var_cache vcache[N_TEST_VARS];

static const gh_rule_expr *var_expr(const gh_rule_vars *vars, const char *name, bool addr)
{
    for (size_t i = 0; i < N_TEST_VARS; i++) {
        var_cache *c = &vcache[i];
        if (!c->name)
            c->name = test_var_defs[i][0];
        if (strcmp(c->name, name) != 0)
            continue;
        bool *tried = addr ? &c->tried_addr : &c->tried_port;
        gh_rule_expr **e = addr ? &c->as_addr : &c->as_port;
        if (!*tried) {
            gh_rule_error err;
            *e = gh_rule_expr_parse(gh_rule_vars_get(vars, name),
                                    addr ? GH_EXPR_CTX_ADDR : GH_EXPR_CTX_PORT, &err);
            *tried = true;
        }
        assert_non_null(*e);
        return *e;
    }
    fail_msg("unknown variable %s", name);
    return NULL;
}

static void var_cache_free(void)
{
    for (size_t i = 0; i < N_TEST_VARS; i++) {
        gh_rule_expr_free(vcache[i].as_addr);
        gh_rule_expr_free(vcache[i].as_port);
    }
    memset(vcache, 0, sizeof(vcache));
}

static bool naive_addr(const gh_rule_expr *e, const gh_rule_vars *vars, int ver,
                       const uint8_t a[16], bool ignore_neg)
{
    bool m = false;
    switch (e->kind) {
    case GH_EXPR_ANY: m = true; break;
    case GH_EXPR_VAR: m = naive_addr(var_expr(vars, e->text + 1, true), vars, ver, a, false); break;
    case GH_EXPR_LIST: {
        bool any_pos = false, in_pos = false, in_neg = false;
        for (size_t i = 0; i < e->n_items; i++) {
            const gh_rule_expr *it = e->items[i];
            bool x = naive_addr(it, vars, ver, a, true);
            if (it->negated)
                in_neg |= x;
            else
                in_pos |= x, any_pos = true;
        }
        m = (any_pos ? in_pos : true) && !in_neg;
        break;
    }
    case GH_EXPR_IP4:
        if (ver == 4) {
            uint32_t v = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
            m = e->v.ip4.lo <= v && v <= e->v.ip4.hi;
        }
        break;
    case GH_EXPR_IP6:
        if (ver == 6)
            m = memcmp(e->v.ip6.lo, a, 16) <= 0 && memcmp(a, e->v.ip6.hi, 16) <= 0;
        break;
    default: fail_msg("port expression in an address"); break;
    }
    return e->negated && !ignore_neg ? !m : m;
}

static bool naive_port(const gh_rule_expr *e, const gh_rule_vars *vars, uint16_t port,
                       bool ignore_neg)
{
    bool m = false;
    switch (e->kind) {
    case GH_EXPR_ANY: m = true; break;
    case GH_EXPR_VAR: m = naive_port(var_expr(vars, e->text + 1, false), vars, port, false); break;
    case GH_EXPR_LIST: {
        bool any_pos = false, in_pos = false, in_neg = false;
        for (size_t i = 0; i < e->n_items; i++) {
            const gh_rule_expr *it = e->items[i];
            bool x = naive_port(it, vars, port, true);
            if (it->negated)
                in_neg |= x;
            else
                in_pos |= x, any_pos = true;
        }
        m = (any_pos ? in_pos : true) && !in_neg;
        break;
    }
    case GH_EXPR_PORT: m = e->v.port.lo <= port && port <= e->v.port.hi; break;
    default: fail_msg("address expression in a port"); break;
    }
    return e->negated && !ignore_neg ? !m : m;
}

static void ref_rule_init(ref_rule *rr, const gh_rule *r, const gh_rule_vars *vars)
{
    memset(rr, 0, sizeof(*rr));
    rr->r = r;
    gh_rule_error e;
    assert_int_equal(gh_rule_eval_addr(r->src_addr, vars, &rr->src, &e), GH_OK);
    assert_int_equal(gh_rule_eval_addr(r->dst_addr, vars, &rr->dst, &e), GH_OK);
    assert_int_equal(gh_rule_eval_port(r->src_port, vars, &rr->sp, &e), GH_OK);
    assert_int_equal(gh_rule_eval_port(r->dst_port, vars, &rr->dp, &e), GH_OK);
    bool sp_any = rr->sp.n == 1 && rr->sp.r[0].lo == 0 && rr->sp.r[0].hi == 65535;
    bool dp_any = rr->dp.n == 1 && rr->dp.r[0].lo == 0 && rr->dp.r[0].hi == 65535;
    rr->ports_given = !sp_any || !dp_any;
    const char *p = r->proto.text;
    if (!strcasecmp(p, "ip")) {
        rr->proto = RP_IP;
    } else if (!strcasecmp(p, "ipv4") || !strcasecmp(p, "ip4")) {
        rr->proto = RP_IP;
        rr->family = 4;
    } else if (!strcasecmp(p, "ipv6") || !strcasecmp(p, "ip6")) {
        rr->proto = RP_IP;
        rr->family = 6;
    } else if (!strcasecmp(p, "tcp") || !strcasecmp(p, "tcp-pkt")) {
        rr->proto = RP_TCP;
    } else if (!strcasecmp(p, "udp")) {
        rr->proto = RP_UDP;
    } else if (!strcasecmp(p, "icmp")) {
        rr->proto = RP_ICMP;
    } else if (!strcasecmp(p, "icmpv4")) {
        rr->proto = RP_ICMP4;
        rr->family = 4;
    } else if (!strcasecmp(p, "icmpv6")) {
        rr->proto = RP_ICMP6;
        rr->family = 6;
    } else {
        fail_msg("unexpected protocol %s", p);
    }
    for (size_t i = 0; i < r->n_options; i++) {
        char err[256];
        int rc = gh_hdr_match_add(&rr->hm, r->options[i].name.text, r->options[i].value.text,
                                  err, sizeof(err));
        if (rc < 0)
            fail_msg("option %s: %s", r->options[i].name.text, err);
    }
}

static void ref_rule_free(ref_rule *rr)
{
    gh_addr_set_free(&rr->src);
    gh_addr_set_free(&rr->dst);
    gh_port_set_free(&rr->sp);
    gh_port_set_free(&rr->dp);
}

/* One direction: packet source in @p s, ... */
static bool ref_dir(const gh_packet *p, const gh_addr_set *s, const gh_port_set *sp,
                    const gh_addr_set *d, const gh_port_set *dp)
{
    return in_addr(s, p, p->src.b) && in_addr(d, p, p->dst.b) && in_ports(sp, p->sport) &&
           in_ports(dp, p->dport);
}

static bool ref_match(const ref_rule *rr, const gh_packet *p, const gh_pkt_state *st,
                      const gh_rule_vars *vars, size_t *opt_failed)
{
    if (rr->family && rr->family != p->ip_ver)
        return false;
    uint8_t pr = p->ip_proto;
    switch (rr->proto) {
    case RP_IP:
        /* with ports: the protocols whose ports the decoder reads */
        if (rr->ports_given && pr != 6 && pr != 17)
            return false;
        break;
    case RP_TCP: if (pr != 6) return false; break;
    case RP_UDP: if (pr != 17) return false; break;
    case RP_ICMP: if (pr != 1 && pr != 58) return false; break;
    case RP_ICMP4: if (pr != 1) return false; break;
    case RP_ICMP6: if (pr != 58) return false; break;
    }
    /* the expression tree and the evaluated ranges must agree */
    const gh_rule *r = rr->r;
    bool t_src_s = naive_addr(r->src_addr, vars, p->ip_ver, p->src.b, false);
    bool t_dst_d = naive_addr(r->dst_addr, vars, p->ip_ver, p->dst.b, false);
    bool t_sp_s = naive_port(r->src_port, vars, p->sport, false);
    bool t_dp_d = naive_port(r->dst_port, vars, p->dport, false);
    if (t_src_s != in_addr(&rr->src, p, p->src.b) || t_dst_d != in_addr(&rr->dst, p, p->dst.b) ||
        t_sp_s != in_ports(&rr->sp, p->sport) || t_dp_d != in_ports(&rr->dp, p->dport)) {
        char *txt = gh_rule_format(r);
        fail_msg("expression tree and gh_rule_eval_* disagree for rule %s (%d%d%d%d)", txt,
                 t_src_s, t_dst_d, t_sp_s, t_dp_d);
    }
    bool m = ref_dir(p, &rr->src, &rr->sp, &rr->dst, &rr->dp);
    if (!m && r->bidirectional)
        m = ref_dir(p, &rr->dst, &rr->dp, &rr->src, &rr->sp);
    if (!m)
        return false;
    if (gh_hdr_match_eval(&rr->hm, p, st, false))
        return true;
    (*opt_failed)++;
    return false;
}

/* First matching rule; @p opt_failed counts the rules before it whose
 * header matched and whose options did not (coverage of fall-through). */
static uint32_t ref_classify(const ref_rule *rules, size_t n, const gh_packet *p,
                             const gh_fw_state *st, const gh_rule_vars *vars,
                             size_t *opt_failed)
{
    if (p->ip_ver != 4 && p->ip_ver != 6)
        return GH_FW_NOMATCH;
    gh_pkt_state ps = {.has_flow = st && st->has_flow,
                       .established = st && st->established,
                       .to_server = st && st->to_server};
    for (size_t i = 0; i < n; i++)
        if (ref_match(&rules[i], p, &ps, vars, opt_failed))
            return (uint32_t)i;
    return GH_FW_NOMATCH;
}

/* --- random packets --- */

static void pick_addr(const gen *g, int ver, uint8_t out[16])
{
    memset(out, 0, 16);
    if (ver == 4) {
        uint32_t a;
        uint32_t k = below(100);
        if (k < 70 && g->n4)
            a = g->v4[below((uint32_t)g->n4)];
        else if (k < 90)
            a = pick_v4_base(g);
        else
            a = rnd32();
        out[0] = (uint8_t)(a >> 24);
        out[1] = (uint8_t)(a >> 16);
        out[2] = (uint8_t)(a >> 8);
        out[3] = (uint8_t)a;
    } else {
        u128 a;
        uint32_t k = below(100);
        if (k < 70 && g->n6)
            a = g->v6[below((uint32_t)g->n6)];
        else if (k < 90)
            a = pick_v6_base(g);
        else
            a = rnd128();
        u128_to_bytes(a, out);
    }
}

static void gen_packet(const gen *g, pspec *s)
{
    memset(s, 0, sizeof(*s));
    s->ver = chance(50) ? 4 : 6;
    pick_addr(g, s->ver, s->src);
    pick_addr(g, s->ver, s->dst);
    uint32_t k = below(100);
    static const uint8_t others[] = {47, 132, 89, 50, 103};
    if (k < 35)
        s->proto = 6;
    else if (k < 60)
        s->proto = 17;
    else if (k < 82)
        s->proto = s->ver == 4 ? 1 : 58;
    else if (k < 85)
        s->proto = 1; /* ICMPv4 also inside IPv6 */
    else
        s->proto = others[below(sizeof(others))];
    s->sport = pick_port(g);
    s->dport = pick_port(g);
    static const uint8_t common_flags[] = {GH_TCP_SYN, GH_TCP_SYN | GH_TCP_ACK, GH_TCP_ACK,
                                           GH_TCP_PSH | GH_TCP_ACK, GH_TCP_FIN | GH_TCP_ACK,
                                           GH_TCP_RST, GH_TCP_RST | GH_TCP_ACK, 0,
                                           GH_TCP_SYN | GH_TCP_ECE | GH_TCP_CWR};
    s->flags = chance(50) ? common_flags[below(sizeof(common_flags))] : (uint8_t)rnd32();
    s->ttl = chance(75) ? (int)PICK(ttl_pool) : (int)below(256);
    s->itype = (uint8_t)(chance(80) ? PICK(itype_pool) : below(256));
    s->icode = (uint8_t)(chance(80) ? PICK(icode_pool) : below(256));
    s->payload = (uint16_t)(chance(70) ? PICK(dsize_pool) : below(300));
    if (s->ver == 4) {
        s->df = chance(50);
        s->mf = chance(10);
        s->rb = chance(5);
        if (chance(4))
            s->frag_off = (uint16_t)(8 * (1 + below(100))); /* no L4 header */
    } else {
        s->hopopts = chance(8);
    }
}

/* Number of prefixes an IPv6 range splits into (as the compiler must). */
static size_t v6_prefix_count(u128 lo, u128 hi)
{
    size_t n = 0;
    for (;;) {
        u128 mask = 0; /* block size - 1 */
        for (unsigned k = 1; k <= 128; k++) {
            u128 m = k == 128 ? ~(u128)0 : ((u128)1 << k) - 1;
            if ((lo & m) != 0 || hi - lo < m)
                break;
            mask = m;
        }
        n++;
        if (hi - lo == mask)
            return n;
        lo += mask + 1;
    }
}

/* Boxes a rule expands to: every (src, dst, sport, dport, proto) range
 * combination, twice for <>; IPv6 ranges count as their prefixes. */
static size_t rule_box_estimate(const gh_rule *r, const gh_rule_vars *vars)
{
    gh_addr_set a[2];
    gh_port_set ps[2];
    gh_rule_error e;
    assert_int_equal(gh_rule_eval_addr(r->src_addr, vars, &a[0], &e), GH_OK);
    assert_int_equal(gh_rule_eval_addr(r->dst_addr, vars, &a[1], &e), GH_OK);
    assert_int_equal(gh_rule_eval_port(r->src_port, vars, &ps[0], &e), GH_OK);
    assert_int_equal(gh_rule_eval_port(r->dst_port, vars, &ps[1], &e), GH_OK);
    size_t p6[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        for (size_t j = 0; j < a[i].n_v6; j++)
            p6[i] += v6_prefix_count(bytes_to_u128(a[i].v6[j].lo), bytes_to_u128(a[i].v6[j].hi));
    bool any_ports = ps[0].n == 1 && ps[0].r[0].lo == 0 && ps[0].r[0].hi == 65535 &&
                     ps[1].n == 1 && ps[1].r[0].lo == 0 && ps[1].r[0].hi == 65535;
    size_t protos = !strcasecmp(r->proto.text, "icmp") ? 2 : any_ports ? 1 : 2;
    size_t n = (a[0].n_v4 * a[1].n_v4 + p6[0] * p6[1]) * ps[0].n * ps[1].n * protos *
               (r->bidirectional ? 2 : 1);
    for (int i = 0; i < 2; i++) {
        gh_addr_set_free(&a[i]);
        gh_port_set_free(&ps[i]);
    }
    return n;
}

static bool rule_text_ok(const char *text, const gh_rule_vars *vars, size_t max_boxes)
{
    gh_rule_file *f =
        gh_rules_parse_buffer("one.rules", text, strlen(text), GH_RULE_TIER_FIREWALL, NULL);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, vars), GH_OK);
    bool ok = f->n_rules == 1 && f->n_errors == 0 &&
              rule_box_estimate(&f->rules[0], vars) <= max_boxes;
    if (ok) {
        gh_rule_error *errs = NULL;
        size_t nerrs = 0;
        gh_fw *fw = gh_fw_compile(&f, 1, vars, &errs, &nerrs, NULL);
        if (!fw) {
            /* the generator only writes valid rules: a compile error here
             * is a finding, not a rule to skip */
            print_message("rule passes gh_rules_check but not gh_fw_compile: %s", text);
            print_errors(errs, nerrs);
            fail();
        }
        gh_fw_free(fw);
        free(errs);
    }
    gh_rule_file_free(f);
    return ok;
}

#define DIFF_SETS 24
#define DIFF_PACKETS 2000
#define MAX_BOXES_PER_RULE 4000

static void init_gen(gen *g, const gh_rule_vars *vars)
{
    memset(g, 0, sizeof(*g));
    static const uint32_t v4nets[] = {0x0a000000, 0xc0a80000, 0xac100000, 0x08080800,
                                      0x00000000, 0xffffff00};
    for (int i = 0; i < 12; i++) {
        g->v4base[i] = i < 6 ? v4nets[i] + (below(3) << 8) : rnd32();
        u128 net = i < 6 ? (u128)0x20010db8u << 96 : i < 9 ? (u128)0xfe80u << 112 : rnd128();
        g->v6base[i] = net | ((u128)below(4) << 80) | below(65536);
    }
    static const uint32_t popt[] = {0, 5, 15, 30, 60};
    g->opt_pct = popt[below(5)];
    /* every variable's boundaries */
    for (size_t i = 0; i < N_TEST_VARS; i++) {
        char txt[64];
        snprintf(txt, sizeof(txt), "$%s", test_var_defs[i][0]);
        gh_rule_error err;
        gh_rule_expr *e = gh_rule_expr_parse(txt, GH_EXPR_CTX_ADDR, &err);
        assert_non_null(e);
        gh_addr_set as;
        if (gh_rule_eval_addr(e, vars, &as, &err) == GH_OK) {
            for (size_t j = 0; j < as.n_v4; j++)
                add_v4(g, as.v4[j].lo, as.v4[j].hi);
            for (size_t j = 0; j < as.n_v6; j++)
                add_v6(g, bytes_to_u128(as.v6[j].lo), bytes_to_u128(as.v6[j].hi));
            gh_addr_set_free(&as);
        }
        gh_rule_expr_free(e);
        e = gh_rule_expr_parse(txt, GH_EXPR_CTX_PORT, &err);
        assert_non_null(e);
        gh_port_set ps;
        if (gh_rule_eval_port(e, vars, &ps, &err) == GH_OK) {
            for (size_t j = 0; j < ps.n; j++)
                add_port(g, ps.r[j].lo, ps.r[j].hi);
            gh_port_set_free(&ps);
        }
        gh_rule_expr_free(e);
    }
}

static uint64_t base_seed(void)
{
    const char *env = getenv("GH_TEST_SEED");
    if (env && *env)
        return strtoull(env, NULL, 0);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000003u ^ (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
}

typedef struct diff_stats {
    size_t packets, matched, nomatch_ip, fell_through, fell_multi, boxes, rules, cond_rules;
} diff_stats;

static void run_diff_set(uint64_t seed, int set, const gh_rule_vars *vars, diff_stats *ds)
{
    rng_state = seed;
    gen *g = calloc(1, sizeof(*g));
    assert_non_null(g);
    init_gen(g, vars);
    uint32_t nrules = 10 + below(291);
    /* split into 1..3 files: indices run on across files */
    uint32_t nfiles = 1 + below(3);
    sbuf text[3] = {{0}}, one = {0};
    size_t set_boxes = 0;
    for (uint32_t i = 0; i < nrules; i++) {
        uint32_t f = (uint32_t)((uint64_t)i * nfiles / nrules);
        for (int tries = 0;; tries++) {
            sb_reset(&one);
            gen_rule(g, &one, i + 1);
            if (rule_text_ok(one.p, vars, MAX_BOXES_PER_RULE))
                break;
            assert_true(tries < 1000);
        }
        sb_printf(&text[f], "%s", one.p);
    }
    free(one.p);

    tfw t;
    memset(&t, 0, sizeof(t));
    const char *texts[3];
    for (uint32_t f = 0; f < nfiles; f++)
        texts[f] = text[f].p ? text[f].p : "";
    tfw_open_n(&t, texts, nfiles);
    gh_fw_stats st;
    gh_fw_get_stats(t.fw, &st);
    set_boxes = st.boxes_v4 + st.boxes_v6;
    ds->boxes += set_boxes;
    ds->rules += nrules;
    assert_int_equal(st.rules, nrules);

    ref_rule *rr = calloc(nrules, sizeof(*rr));
    assert_non_null(rr);
    size_t k = 0;
    for (uint32_t f = 0; f < nfiles; f++)
        for (size_t i = 0; i < t.files[f]->n_rules; i++)
            ref_rule_init(&rr[k++], &t.files[f]->rules[i], t.vars);
    assert_int_equal(k, nrules);
    for (size_t i = 0; i < nrules; i++)
        ds->cond_rules += rr[i].hm.present != 0;

    /* packets go in bursts of BURST too: gh_fw_classify_burst must answer
     * what gh_fw_classify answered for each */
    enum { BURST = 40 };
    tpkt *pkb = malloc(BURST * sizeof(*pkb));
    assert_non_null(pkb);
    const gh_packet *bp[BURST];
    gh_fw_state bst[BURST];
    uint32_t bgot[BURST], bout[BURST];
    for (int n = 0; n < DIFF_PACKETS; n++) {
        pspec s;
        tpkt *pk = &pkb[n % BURST];
        gen_packet(g, &s);
        pkt_build(pk, &s);
        gh_fw_state fst = {chance(70), chance(50), chance(50)};
        const gh_fw_state *stp = chance(15) ? NULL : &fst;
        bst[n % BURST] = stp ? fst : (gh_fw_state){0};
        size_t fell = 0;
        uint32_t want = ref_classify(rr, nrules, &pk->p, stp, t.vars, &fell);
        uint32_t got = gh_fw_classify(t.fw, &pk->p, stp);
        ds->packets++;
        ds->matched += want != GH_FW_NOMATCH;
        ds->fell_through += fell > 0;
        ds->fell_multi += fell > 1;
        if (got != want) {
            char buf[256];
            print_message("MISMATCH: set %d (seed 0x%016" PRIx64 "), packet %d: %s\n", set,
                          seed, n, pspec_str(&s, buf, sizeof(buf)));
            print_message("  state: %s\n",
                          !stp ? "NULL"
                               : stp->has_flow ? (stp->established ? "established" : "new")
                                               : "no flow");
            if (stp && stp->has_flow)
                print_message("  direction: %s\n", stp->to_server ? "to_server" : "to_client");
            uint32_t show[2] = {want, got};
            for (int j = 0; j < 2; j++) {
                if (show[j] == GH_FW_NOMATCH) {
                    print_message("  %s: no match\n", j ? "gh_fw_classify" : "reference");
                    continue;
                }
                char *txt = gh_rule_format(rr[show[j]].r);
                print_message("  %s: rule %u (line %u): %s\n", j ? "gh_fw_classify" : "reference",
                              show[j], rr[show[j]].r->loc.line, txt ? txt : "?");
                free(txt);
            }
            fail_msg("gh_fw_classify != reference (rerun with GH_TEST_SEED)");
        }
        if (got != GH_FW_NOMATCH)
            assert_int_equal(gh_fw_rule(t.fw, got)->sid, got + 1);
        bgot[n % BURST] = got;
        if (n % BURST == BURST - 1) {
            for (int j = 0; j < BURST; j++)
                bp[j] = &pkb[j].p;
            gh_fw_classify_burst(t.fw, bp, bst, BURST, bout);
            for (int j = 0; j < BURST; j++)
                if (bout[j] != bgot[j])
                    fail_msg("burst: packet %d of set %d: %u, one at a time %u", n - BURST + 1 + j,
                             set, bout[j], bgot[j]);
        }
    }
    free(pkb);
    for (size_t i = 0; i < nrules; i++)
        ref_rule_free(&rr[i]);
    free(rr);
    tfw_close(&t);
    for (int f = 0; f < 3; f++)
        free(text[f].p);
    free(g);
}

static void test_differential(void **state)
{
    (void)state;
    uint64_t seed = base_seed();
    print_message("test_differential: base seed 0x%016" PRIx64
                  " (rerun with GH_TEST_SEED=0x%016" PRIx64 ")\n",
                  seed, seed);
    gh_rule_vars *vars = test_vars();
    diff_stats ds = {0};
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int set = 0; set < DIFF_SETS; set++) {
        uint64_t s = seed + (uint64_t)set * 0x9e3779b97f4a7c15ull;
        run_diff_set(s, set, vars, &ds);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("test_differential: %d rule sets (%zu rules, %zu conditional, %zu boxes), "
                  "%zu packets: %zu matched a rule, %zu passed a header-matching rule whose "
                  "options failed (%zu more than one); %.1f s\n",
                  DIFF_SETS, ds.rules, ds.cond_rules, ds.boxes, ds.packets, ds.matched,
                  ds.fell_through, ds.fell_multi,
                  (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    var_cache_free();
    gh_rule_vars_free(vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_match_order),
        cmocka_unit_test(test_bidirectional),
        cmocka_unit_test(test_address_lists_and_vars),
        cmocka_unit_test(test_ipv4_cidr_ranges),
        cmocka_unit_test(test_ipv6_prefixes_ranges),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_icmp_protocols),
        cmocka_unit_test(test_ports),
        cmocka_unit_test(test_ip_with_ports),
        cmocka_unit_test(test_ip_with_ports_sctp),
        cmocka_unit_test(test_flow),
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_ttl),
        cmocka_unit_test(test_dsize),
        cmocka_unit_test(test_itype_icode),
        cmocka_unit_test(test_ip_proto),
        cmocka_unit_test(test_fragbits),
        cmocka_unit_test(test_conditional_fallthrough),
        cmocka_unit_test(test_non_ip),
        cmocka_unit_test(test_rule_info),
        cmocka_unit_test(test_rule_info_outlives_files),
        cmocka_unit_test(test_error_protocol),
        cmocka_unit_test(test_error_icmp_ports),
        cmocka_unit_test(test_error_icmp_dst_port_column),
        cmocka_unit_test(test_error_flow_only_stream),
        cmocka_unit_test(test_error_all_reported),
        cmocka_unit_test(test_error_too_many_boxes),
        cmocka_unit_test(test_check_accepts_compile_agrees),
        cmocka_unit_test(test_differential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
