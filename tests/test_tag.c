/* The tag keyword: the forms Suricata 7.0.10's DetectTagParse accepts and
 * refuses, and through the worker with crafted UDP datagrams at chosen
 * times, which later packets its session and host tags mark
 * (TagHandlePacket: the alerting packet counts but is not tagged, counts in
 * packets, bytes and seconds, restarts, the per-flow bound). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gatehouse/engine.h"
#include "gatehouse/tag.h"
#include "pktbuild.h"

#define T0 1700000000LL

typedef struct rig {
    gh_dpi *d;
    gh_worker *w;
    gh_rule_vars *vars;
} rig;

static void rig_up(rig *R, const char *rules)
{
    memset(R, 0, sizeof(*R));
    gh_error err = {0};
    R->vars = gh_rule_vars_new(&err);
    assert_non_null(R->vars);
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", rules, strlen(rules), GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, R->vars), 0);
    assert_int_equal(f->n_errors, 0);
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    R->d = gh_dpi_compile(&f, 1, R->vars, &errs, &nerrs, NULL, &err);
    gh_rule_file_free(f);
    assert_non_null(R->d);
    assert_int_equal(nerrs, 0);
    free(errs);
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.dpi = R->d;
    cfg.eve_types &= ~(1u << GH_EVE_T_FLOW);
    R->w = gh_worker_new(&cfg, NULL, &err);
    assert_non_null(R->w);
}

static void rig_down(rig *R)
{
    gh_worker_free(R->w);
    gh_dpi_free(R->d);
    gh_rule_vars_free(R->vars);
}

/* One datagram @p src:@p sport -> @p dst:@p dport carrying @p data at T0 +
 * @p at seconds: whether it was tagged. */
static bool feed_ports(rig *R, const char *src, const char *dst, uint16_t sport,
                       uint16_t dport, double at, const char *data)
{
    pb b;
    pb_udp_packet(&b, src, dst, sport, dport, data, strlen(data));
    int64_t us = (int64_t)(at * 1e6 + 0.5);
    /* packet ids number the flows (flow_id), as a capture's do */
    static uint64_t id;
    gh_pkt_in in = {.data = b.buf, .caplen = b.len, .wirelen = b.len,
                    .ts_sec = T0 + us / 1000000, .ts_nsec = (uint32_t)(us % 1000000) * 1000u,
                    .linktype = 1, .id = ++id};
    uint64_t before = gh_worker_counters(R->w)->tagged;
    gh_verdict v;
    assert_int_equal(gh_worker_process_batch(R->w, &in, 1, &v), GH_OK);
    return gh_worker_counters(R->w)->tagged - before;
}

/* ... to port 5000 */
static bool feed(rig *R, const char *src, const char *dst, uint16_t sport, double at,
                 const char *data)
{
    return feed_ports(R, src, dst, sport, 5000, at, data);
}

#define A "10.0.0.1"
#define B "192.168.1.1"
#define C "192.168.1.2"

static void test_parse_forms(void **state)
{
    (void)state;
    static const struct {
        const char *v;
        bool ok;
        uint8_t type, metric, dir;
        uint32_t count;
    } cases[] = {
        {"session", true, GH_TAG_SESSION, GH_TAG_PACKETS, GH_TAG_DST, 256},
        {"host", true, GH_TAG_HOST, GH_TAG_PACKETS, GH_TAG_DST, 256},
        {" session , 5 , packets ", true, GH_TAG_SESSION, GH_TAG_PACKETS, GH_TAG_DST, 5},
        {"session,5,packets", true, GH_TAG_SESSION, GH_TAG_PACKETS, GH_TAG_DST, 5},
        {"session,1000,packets", true, GH_TAG_SESSION, GH_TAG_PACKETS, GH_TAG_DST, 256},
        {"host,1000,bytes,src", true, GH_TAG_HOST, GH_TAG_BYTES, GH_TAG_SRC, 1000},
        {"host,0,seconds,dst", true, GH_TAG_HOST, GH_TAG_SECONDS, GH_TAG_DST, 0},
        {"session,10,seconds,src", true, GH_TAG_SESSION, GH_TAG_SECONDS, GH_TAG_SRC, 10},
        {"host,4294967295,bytes", true, GH_TAG_HOST, GH_TAG_BYTES, GH_TAG_DST, 4294967295u},
        {"host,4294967296,bytes", false, 0, 0, 0, 0},
        {"Session", false, 0, 0, 0, 0},
        {"session,packets", false, 0, 0, 0, 0},
        {"session,5", false, 0, 0, 0, 0},
        {"session,5,packet", false, 0, 0, 0, 0},
        {"session,-1,packets", false, 0, 0, 0, 0},
        {"session,5,packets,both", false, 0, 0, 0, 0},
        {"session,5,packets,src,x", false, 0, 0, 0, 0},
        {"flow", false, 0, 0, 0, 0},
        {"", false, 0, 0, 0, 0},
        {"host,", false, 0, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_tag_spec t;
        char msg[256] = "";
        bool ok = gh_tag_parse_keyword(cases[i].v, &t, msg, sizeof(msg));
        if (ok != cases[i].ok)
            printf("'%s': %s\n", cases[i].v, msg);
        assert_int_equal(ok, cases[i].ok);
        if (!ok) {
            assert_non_null(strstr(msg, cases[i].v));
            continue;
        }
        assert_int_equal(t.type, cases[i].type);
        assert_int_equal(t.metric, cases[i].metric);
        assert_int_equal(t.dir, cases[i].dir);
        assert_int_equal(t.count, cases[i].count);
    }
}

/* A bad value is an error at the value, with the token, as other keywords'. */
static void test_rule_errors(void **state)
{
    (void)state;
    const char *r = "alert udp any any -> any any (msg:\"x\"; tag:session,5,packet; sid:1;)\n";
    gh_error err = {0};
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", r, strlen(r), GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    gh_rules_check(f, vars);
    assert_int_equal(f->n_errors, 1);
    assert_int_equal(f->errors[0].loc.line, 1);
    assert_int_equal(f->errors[0].loc.col, 44);
    assert_non_null(strstr(f->errors[0].message, "'session,5,packet'"));
    gh_rule_file_free(f);
    gh_rule_vars_free(vars);
}

/* session,3,packets: the alerting packet is the first of 3, the next 2 of
 * the flow (either direction) are tagged; other flows are not. */
static void test_session_packets(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"t\"; content:\"GO\"; "
               "tag:session,3,packets; sid:1;)\n");
    size_t n;
    const gh_tag_spec *t = gh_dpi_sig_tags(R.d, 0, &n);
    assert_int_equal(n, 1);
    assert_int_equal(t->type, GH_TAG_SESSION);
    assert_int_equal(t->count, 3);
    assert_false(feed(&R, A, B, 1000, 0, "GO"));
    assert_false(feed(&R, A, B, 1001, 0.1, "other flow"));
    assert_true(feed_ports(&R, B, A, 5000, 1000, 0.2, "reply"));
    assert_true(feed(&R, A, B, 1000, 0.3, "more"));
    assert_false(feed(&R, A, B, 1000, 0.4, "more"));
    /* a new match restarts it: again the next 2 */
    assert_false(feed(&R, A, B, 1000, 0.5, "GO"));
    assert_true(feed(&R, A, B, 1000, 0.6, "x"));
    assert_true(feed(&R, A, B, 1000, 0.7, "x"));
    assert_false(feed(&R, A, B, 1000, 0.8, "x"));
    rig_down(&R);
}

/* A restart while the tag lives tags the restarting packet itself (its
 * first packet was seen), and ten restarts no longer restart it. */
static void test_restart_limit(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"t\"; content:\"GO\"; "
               "tag:session,2,packets; sid:1;)\n");
    assert_false(feed(&R, A, B, 1000, 0, "GO"));
    for (int i = 1; i <= 9; i++) /* restarts 1..9: each tagged, the count from 1 */
        assert_true(feed(&R, A, B, 1000, i, "GO"));
    assert_true(feed(&R, A, B, 1000, 10, "GO"));  /* the 10th: no restart, packet 2 */
    assert_false(feed(&R, A, B, 1000, 11, "GO")); /* packet 3: expired */
    rig_down(&R);
}

/* bytes: the captured length of every packet after the alert adds up. */
static void test_session_bytes_seconds(void **state)
{
    (void)state;
    rig R;
    /* an Ethernet + IPv4 + UDP datagram of 8 payload bytes is 50 bytes */
    rig_up(&R, "alert udp any any -> any any (msg:\"b\"; content:\"BYTES\"; "
               "tag:session,200,bytes; sid:1;)\n"
               "alert udp any any -> any any (msg:\"s\"; content:\"SECS\"; "
               "tag:session,2,seconds; sid:2;)\n");
    assert_false(feed(&R, A, B, 1000, 0, "BYTES..."));   /* 50 */
    assert_true(feed(&R, A, B, 1000, 0.1, "12345678"));  /* 100 */
    assert_true(feed(&R, A, B, 1000, 0.2, "12345678"));  /* 150 */
    assert_true(feed(&R, A, B, 1000, 0.3, "12345678"));  /* 200 */
    assert_false(feed(&R, A, B, 1000, 0.4, "12345678")); /* 250 */
    assert_false(feed(&R, A, C, 1000, 10.5, "SECS"));
    assert_true(feed(&R, A, C, 1000, 11.2, "x"));
    assert_true(feed(&R, A, C, 1000, 12.9, "x"));  /* whole seconds: 12 - 10 = 2 */
    assert_false(feed(&R, A, C, 1000, 13.0, "x")); /* 3 > 2 */
    rig_down(&R);
}

/* host,3,packets,src: the source host's packets with anyone, either way. */
static void test_host(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"h\"; content:\"HOST\"; "
               "tag:host,3,packets,src; sid:1;)\n");
    assert_false(feed(&R, A, B, 1000, 0, "HOST"));
    assert_false(feed(&R, B, C, 1001, 0.1, "b to c"));
    assert_true(feed(&R, C, A, 1002, 0.2, "c to a"));
    assert_true(feed(&R, A, C, 1003, 0.3, "a to c"));
    assert_false(feed(&R, A, C, 1003, 0.4, "a to c"));
    rig_down(&R);
}

/* More tagging signatures on one flow than it keeps: the rest are refused
 * and counted. */
static void test_flow_bound(void **state)
{
    (void)state;
    char rules[4096];
    size_t n = 0;
    for (int i = 1; i <= 10; i++)
        n += (size_t)snprintf(rules + n, sizeof(rules) - n,
                              "alert udp any any -> any any (msg:\"t\"; content:\"GO\"; "
                              "tag:session,5,packets; sid:%d;)\n", i);
    rig R;
    rig_up(&R, rules);
    assert_false(feed(&R, A, B, 1000, 0, "GO"));
    assert_int_equal(gh_worker_counters(R.w)->tag_refused, 2);
    assert_true(feed(&R, A, B, 1000, 0.1, "x"));
    rig_down(&R);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_forms),
        cmocka_unit_test(test_rule_errors),
        cmocka_unit_test(test_session_packets),
        cmocka_unit_test(test_restart_limit),
        cmocka_unit_test(test_session_bytes_seconds),
        cmocka_unit_test(test_host),
        cmocka_unit_test(test_flow_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
