/* Thresholds: the threshold and detection_filter keywords and threshold.config,
 * through the worker with crafted UDP datagrams at chosen times (each type and
 * track, window boundaries, IPv6, drop actions, the table bound), and the
 * accepted and refused forms (Suricata 7.0.10's answers, checked with
 * `suricata -T`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gatehouse/engine.h"
#include "gatehouse/threshold.h"
#include "pktbuild.h"

#define T0 1700000000LL

typedef struct rig {
    gh_dpi *d;
    gh_worker *w;
    gh_rule_vars *vars;
} rig;

/* Signatures @p rules, threshold file text @p conf (NULL: none), a worker
 * whose threshold table has @p entries entries (0: the default). */
static void rig_up(rig *R, const char *rules, const char *conf, uint32_t entries)
{
    memset(R, 0, sizeof(*R));
    gh_error err = {0};
    R->vars = gh_rule_vars_new(&err);
    assert_non_null(R->vars);
    assert_int_equal(gh_rule_vars_set(R->vars, "HOME_NET", "[10.0.0.0/8]", "test", &err), 0);
    gh_rule_file *f =
        gh_rules_parse_buffer("t.rules", rules, strlen(rules), GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, R->vars), 0);
    for (size_t i = 0; i < f->n_errors; i++)
        printf("check: %u:%u: %s\n", f->errors[i].loc.line, f->errors[i].loc.col,
               f->errors[i].message);
    assert_int_equal(f->n_errors, 0);
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    R->d = gh_dpi_compile(&f, 1, R->vars, &errs, &nerrs, NULL, &err);
    gh_rule_file_free(f);
    assert_non_null(R->d);
    assert_int_equal(nerrs, 0);
    free(errs);
    if (conf) {
        gh_threshold_conf *c =
            gh_threshold_conf_parse("t.config", conf, R->vars, &errs, &nerrs, &err);
        for (size_t i = 0; i < nerrs; i++)
            printf("conf: %u: %s\n", errs[i].loc.line, errs[i].message);
        assert_non_null(c);
        assert_int_equal(gh_dpi_set_thresholds(R->d, c, &errs, &nerrs), GH_OK);
        gh_threshold_conf_free(c);
        free(errs);
    }
    gh_engine_config cfg;
    gh_engine_config_init(&cfg);
    cfg.dpi = R->d;
    cfg.eve_types &= ~(1u << GH_EVE_T_FLOW);
    if (entries)
        cfg.threshold_entries = entries;
    R->w = gh_worker_new(&cfg, NULL, &err);
    assert_non_null(R->w);
}

static void rig_down(rig *R)
{
    gh_worker_free(R->w);
    gh_dpi_free(R->d);
    gh_rule_vars_free(R->vars);
}

/* One datagram @p src -> @p dst:5000 carrying @p data at T0 + @p at seconds:
 * the alerts it raised; its verdict in *v when @p v is not NULL. */
static uint64_t feed_v(rig *R, const char *src, const char *dst, double at, const char *data,
                       gh_verdict *v)
{
    pb b;
    pb_udp_packet(&b, src, dst, 40000, 5000, data, strlen(data));
    int64_t us = (int64_t)(at * 1e6 + 0.5);
    gh_pkt_in in = {.data = b.buf, .caplen = b.len, .wirelen = b.len,
                    .ts_sec = T0 + us / 1000000, .ts_nsec = (uint32_t)(us % 1000000) * 1000u,
                    .linktype = 1, .id = 1};
    uint64_t before = gh_worker_counters(R->w)->alerts;
    gh_verdict vv;
    assert_int_equal(gh_worker_process_batch(R->w, &in, 1, &vv), GH_OK);
    if (v)
        *v = vv;
    return gh_worker_counters(R->w)->alerts - before;
}

static uint64_t feed(rig *R, const char *src, const char *dst, double at, const char *data)
{
    return feed_v(R, src, dst, at, data, NULL);
}

#define A "10.0.0.1"
#define B "192.168.1.1"
#define C "192.168.1.2"

static void test_limit_by_src(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"l\"; content:\"X\"; threshold: type limit, "
               "track by_src, count 2, seconds 60; sid:1;)\n", NULL, 0);
    assert_int_equal(feed(&R, A, B, 0, "X"), 1);
    assert_int_equal(feed(&R, A, C, 1, "X"), 1);
    assert_int_equal(feed(&R, A, B, 2, "X"), 0);
    assert_int_equal(feed(&R, "10.0.0.2", B, 3, "X"), 1); /* another source */
    assert_int_equal(feed(&R, A, B, 60, "X"), 0);        /* the window's last instant */
    assert_int_equal(feed(&R, A, B, 60.000001, "X"), 1); /* a new window */
    assert_int_equal(feed(&R, A, B, 61, "X"), 1);
    assert_int_equal(feed(&R, A, B, 62, "X"), 0);
    rig_down(&R);
}

static void test_threshold_by_dst(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"t\"; content:\"X\"; threshold: type "
               "threshold, track by_dst, count 3, seconds 10; sid:1;)\n", NULL, 0);
    uint64_t got[8];
    for (int i = 0; i < 7; i++)
        got[i] = feed(&R, i % 2 ? A : "10.9.9.9", B, i, "X"); /* sources do not matter */
    static const uint64_t want[] = {0, 0, 1, 0, 0, 1, 0};
    for (int i = 0; i < 7; i++)
        assert_int_equal(got[i], want[i]);
    assert_int_equal(feed(&R, A, C, 7, "X"), 0);  /* another destination */
    assert_int_equal(feed(&R, A, B, 30, "X"), 0); /* window over: count restarts at 1 */
    assert_int_equal(feed(&R, A, B, 31, "X"), 0);
    assert_int_equal(feed(&R, A, B, 32, "X"), 1);
    rig_down(&R);
    /* count 1: every match, without an entry */
    rig_up(&R, "alert udp any any -> any any (msg:\"t\"; content:\"X\"; threshold: type "
               "threshold, track by_dst, count 1, seconds 10; sid:1;)\n", NULL, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(feed(&R, A, B, i, "X"), 1);
    rig_down(&R);
}

static void test_both_by_both_ipv6(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"b\"; content:\"X\"; threshold: count 2, "
               "seconds 30, type both, track by_both; sid:1;)\n", NULL, 0);
    assert_int_equal(feed(&R, A, B, 0, "X"), 0);
    assert_int_equal(feed(&R, B, A, 1, "X"), 1); /* the pair, either direction */
    assert_int_equal(feed(&R, A, B, 2, "X"), 0); /* silent past count */
    assert_int_equal(feed(&R, A, C, 3, "X"), 0); /* another pair */
    assert_int_equal(feed(&R, "2001:db8::1", "2001:db8::2", 4, "X"), 0);
    assert_int_equal(feed(&R, "2001:db8::2", "2001:db8::1", 5, "X"), 1);
    assert_int_equal(feed(&R, A, B, 31.5, "X"), 0); /* new window, count 1 */
    assert_int_equal(feed(&R, A, B, 32, "X"), 1);
    rig_down(&R);
}

static void test_by_rule_and_detection_filter(void **state)
{
    (void)state;
    rig R;
    rig_up(&R,
           "alert udp any any -> any any (msg:\"r\"; content:\"R\"; threshold: type limit, "
           "track by_rule, count 1, seconds 5; sid:1;)\n"
           "alert udp any any -> any any (msg:\"d\"; content:\"D\"; detection_filter: track "
           "by_src, count 2, seconds 10; sid:2;)\n", NULL, 0);
    assert_int_equal(feed(&R, "10.0.1.1", B, 0, "R"), 1);
    assert_int_equal(feed(&R, "10.0.1.2", C, 1, "R"), 0);
    assert_int_equal(feed(&R, "10.0.1.3", B, 5, "R"), 0);
    assert_int_equal(feed(&R, "10.0.1.4", B, 5.5, "R"), 1);
    static const uint64_t want[] = {0, 0, 1, 1, 1};
    for (int i = 0; i < 5; i++)
        assert_int_equal(feed(&R, A, B, 100 + i, "D"), want[i]);
    assert_int_equal(feed(&R, "10.0.0.3", B, 105, "D"), 0); /* its own count */
    assert_int_equal(feed(&R, A, B, 124, "D"), 0);          /* window over */
    rig_down(&R);
}

/* Suricata 7 applies a drop signature's action when its alert is silenced
 * (limit exceeded: PacketAlertHandle returns 2), not when a threshold or
 * detection_filter is not reached yet (returns 0). */
static void test_drop_actions(void **state)
{
    (void)state;
    rig R;
    rig_up(&R,
           "drop udp any any -> any any (msg:\"l\"; content:\"L\"; threshold: type limit, "
           "track by_src, count 1, seconds 60; sid:1;)\n"
           "drop udp any any -> any any (msg:\"d\"; content:\"D\"; detection_filter: track "
           "by_src, count 1, seconds 60; sid:2;)\n", NULL, 0);
    gh_verdict v;
    assert_int_equal(feed_v(&R, A, B, 0, "L", &v), 1);
    assert_int_equal(v, GH_VERDICT_DROP);
    assert_int_equal(feed_v(&R, A, B, 1, "L", &v), 0);
    assert_int_equal(v, GH_VERDICT_DROP);
    assert_int_equal(feed_v(&R, A, C, 2, "D", &v), 0);
    assert_int_equal(v, GH_VERDICT_ACCEPT);
    assert_int_equal(feed_v(&R, A, C, 3, "D", &v), 1);
    assert_int_equal(v, GH_VERDICT_DROP);
    rig_down(&R);
}

/* One set of 8 entries: the 9th source takes an expired entry when there is
 * one, else evicts the least recently used live one (counted). */
static void test_table_full(void **state)
{
    (void)state;
    rig R;
    rig_up(&R, "alert udp any any -> any any (msg:\"l\"; content:\"X\"; threshold: type limit, "
               "track by_src, count 1, seconds 10; sid:1;)\n", NULL, 8);
    char ip[32];
    for (int i = 0; i < 8; i++) {
        snprintf(ip, sizeof(ip), "10.0.2.%d", i + 1);
        assert_int_equal(feed(&R, ip, B, i * 0.1, "X"), 1);
    }
    assert_int_equal(gh_worker_counters(R.w)->threshold_evicted, 0);
    assert_int_equal(feed(&R, "10.0.2.9", B, 1, "X"), 1);
    assert_int_equal(gh_worker_counters(R.w)->threshold_evicted, 1);
    /* 10.0.2.1 was the oldest: evicted, so it alerts again inside its window */
    assert_int_equal(feed(&R, "10.0.2.1", B, 2, "X"), 1);
    assert_int_equal(gh_worker_counters(R.w)->threshold_evicted, 2);
    /* after the windows end, new keys reuse expired entries */
    assert_int_equal(feed(&R, "10.0.3.1", B, 30, "X"), 1);
    assert_int_equal(gh_worker_counters(R.w)->threshold_expired, 1);
    assert_int_equal(gh_worker_counters(R.w)->threshold_evicted, 2);
    rig_down(&R);
}

static void test_threshold_file(void **state)
{
    (void)state;
    rig R;
    rig_up(&R,
           "alert udp any any -> any any (msg:\"s\"; content:\"S\"; sid:1;)\n"
           "alert udp any any -> any any (msg:\"q\"; content:\"Q\"; sid:2;)\n"
           "alert udp any any -> any any (msg:\"o\"; content:\"O\"; threshold: type limit, "
           "track by_src, count 5, seconds 60; sid:3;)\n"
           "alert udp any any -> any any (msg:\"r\"; content:\"R\"; sid:4;)\n"
           "drop udp any any -> any any (msg:\"n\"; content:\"N\"; sid:5;)\n"
           "alert udp any any -> any any (msg:\"k\"; content:\"K\"; detection_filter: track "
           "by_src, count 1, seconds 60; sid:6;)\n"
           "alert udp any any -> any any (msg:\"g\"; content:\"G\"; sid:7;)\n",
           "# comment\n"
           "suppress gen_id 1, sig_id 1, track by_src, ip $HOME_NET\n"
           "suppress gen_id 1, sig_id 2, track by_either, ip 192.168.1.1, 2001:db8::/32\n"
           "event_filter gen_id 1, sig_id 3, type limit, \\\n  track by_src, count 1, "
           "seconds 60\n"
           "rate_filter gen_id 1, sig_id 4, track by_rule, count 2, seconds 60, new_action "
           "drop, timeout 10\n"
           "suppress gen_id 1, sig_id 5\n"
           "rate_filter gen_id 1, sig_id 6, track by_rule, count 1, seconds 60, new_action "
           "drop, timeout 10\n"
           "threshold gen_id 0, sig_id 0, type limit, track by_dst, count 1, seconds 60\n",
           0);
    gh_verdict v;
    assert_int_equal(feed(&R, A, B, 0, "S"), 0);           /* suppressed source */
    assert_int_equal(feed(&R, "172.16.0.1", B, 0, "S"), 1);
    assert_int_equal(feed(&R, A, C, 1, "Q"), 1);
    assert_int_equal(feed(&R, A, B, 1, "Q"), 0);           /* by_either: the destination */
    assert_int_equal(feed(&R, "2001:db8::5", "2001:db9::1", 1, "Q"), 0);
    assert_int_equal(feed(&R, A, B, 2, "O"), 1);           /* count 1 replaced count 5 */
    assert_int_equal(feed(&R, A, B, 3, "O"), 0);
    assert_int_equal(feed_v(&R, A, B, 4, "R", &v), 1);
    assert_int_equal(v, GH_VERDICT_ACCEPT);
    assert_int_equal(feed_v(&R, "10.0.0.9", C, 5, "R", &v), 1);
    assert_int_equal(v, GH_VERDICT_ACCEPT);
    assert_int_equal(feed_v(&R, A, B, 6, "R", &v), 1);     /* the 3rd: new action drop */
    assert_int_equal(v, GH_VERDICT_DROP);
    assert_int_equal(feed_v(&R, A, B, 16, "R", &v), 1);    /* still within the timeout */
    assert_int_equal(v, GH_VERDICT_DROP);
    assert_int_equal(feed_v(&R, A, B, 17, "R", &v), 1);    /* 11 s later: over */
    assert_int_equal(v, GH_VERDICT_ACCEPT);
    assert_int_equal(feed_v(&R, A, B, 20, "N", &v), 0);    /* suppressed: drops, no alert */
    assert_int_equal(v, GH_VERDICT_DROP);
    assert_int_equal(feed(&R, A, B, 21, "K"), 0);          /* the keyword wins over rate */
    assert_int_equal(feed(&R, A, B, 22, "K"), 1);
    assert_int_equal(feed(&R, A, B, 23, "G"), 1);          /* sig_id 0: the rest */
    assert_int_equal(feed(&R, A, B, 24, "G"), 0);
    rig_down(&R);
}

static void test_keyword_forms(void **state)
{
    (void)state;
    static const struct {
        const char *kw, *value;
        bool ok;
    } cases[] = {
        {"threshold", "type limit, track by_src, count 1, seconds 60", true},
        {"threshold", "count 1, seconds 60, type both, track by_both", true},
        {"threshold", "type 5, track by_src, count 1, seconds 60", true},
        {"threshold", "type limit, track by_src, count 1, seconds 60, junk", true},
        {"threshold", "type limit,track by_src,count 0,seconds 0", true},
        {"threshold", "type limit, track by_src, count 1", false},
        {"threshold", "TYPE limit, track by_src, count 1, seconds 60", false},
        {"threshold", "type limit, track by_src, count 99999999999, seconds 60", false},
        {"threshold", "type limit, track by_src, count 1, count 2, seconds 60", false},
        {"detection_filter", "track by_dst, count 3, seconds 1", true},
        {"detection_filter", "count 10, track by_dst, seconds 60", true},
        {"detection_filter", "track by_rule, count 1, seconds 60", false},
        {"detection_filter", "track by_src, count 0, seconds 60", false},
        {"detection_filter", "track by_src, count 1, seconds 0", false},
        {"detection_filter", "track by_src, count 1, seconds 60, x", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gh_threshold_spec s;
        char msg[256];
        bool ok = gh_threshold_parse_keyword(cases[i].kw, cases[i].value, &s, msg, sizeof(msg));
        if (ok != cases[i].ok)
            fail_msg("%s: %s: %s", cases[i].kw, cases[i].value, ok ? "accepted" : msg);
    }
    gh_threshold_spec s;
    char msg[256];
    assert_true(gh_threshold_parse_keyword("threshold", "seconds 7, count 3, track by_dst, "
                                           "type threshold", &s, msg, sizeof(msg)));
    assert_int_equal(s.type, GH_TH_THRESHOLD);
    assert_int_equal(s.track, GH_TRACK_DST);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.seconds, 7);
    /* one threshold-like keyword per rule, as Suricata's Setup functions */
    static const char *const bad[] = {
        "alert ip any any -> any any (threshold: type limit, track by_src, count 1, seconds 1; "
        "threshold: type limit, track by_src, count 1, seconds 1; sid:1;)\n",
        "alert ip any any -> any any (detection_filter: track by_src, count 1, seconds 1; "
        "threshold: type limit, track by_src, count 1, seconds 1; sid:1;)\n",
        "alert ip any any -> any any (detection_filter: track by_src, count 1, seconds 1; "
        "detection_filter: track by_src, count 1, seconds 1; sid:1;)\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_error err = {0};
        gh_rule_file *f = gh_rules_parse_buffer("t.rules", bad[i], strlen(bad[i]),
                                                GH_RULE_TIER_SIGNATURE, &err);
        assert_non_null(f);
        assert_int_equal(gh_rules_check(f, NULL), 0);
        assert_int_equal(f->n_errors, 1);
        assert_non_null(strstr(f->errors[0].message, "same rule") ?
                            f->errors[0].message : strstr(f->errors[0].message, "at most one"));
        gh_rule_file_free(f);
    }
}

/* threshold.config lines Suricata -T refuses, each an error at its line. */
static void test_file_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "suppress gen_id 1, sig_id 1, track by_both, ip 10.0.0.1\n",
        "suppress gen_id 1, sig_id 1, track by_src\n",
        "suppress gen_id 0, sig_id 1\n",
        "suppress gen_id 1, sig_id 1, track by_src, ip !10.0.0.1\n",
        "suppress gen_id 1, sig_id 1, track by_src, ip 10.0.0.300\n",
        "suppress gen_id 1, sig_id 1, track by_src, ip $NOPE\n",
        "event_filter gen_id 1, sig_id 1, type limit, track by_either, count 1, seconds 60\n",
        "event_filter gen_id 1, sig_id 1, type limit, track by_src, count 0, seconds 60\n",
        "event_filter gen_id 1, sig_id 1, type limit, track by_src, count 1\n",
        "rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 60, new_action foo, "
        "timeout 10\n",
        "rate_filter gen_id 1, sig_id 1, track by_rule, count 1, seconds 60, new_action drop\n",
        "foo gen_id 1, sig_id 1\n",
    };
    gh_error err = {0};
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), "# line 1\n\n%s", bad[i]);
        gh_rule_error *errs = NULL;
        size_t nerrs = 0;
        gh_threshold_conf *c = gh_threshold_conf_parse("t.config", text, vars, &errs, &nerrs,
                                                       &err);
        if (c)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(nerrs, 1);
        assert_string_equal(errs[0].loc.file, "t.config");
        assert_int_equal(errs[0].loc.line, 3);
        free(errs);
    }
    /* accepted, with Suricata's continuation lines and odd spacing */
    const char *good = "suppress gen_id 1, sig_id 1, track by_dst, ip fe80::/10\n"
                       "  # indented comment\n"
                       "rate_filter \\\ngen_id 1, sig_id 10, track by_src, count 1, seconds 60\\\n"
                       ", new_action sdrop, timeout 10\n"
                       "threshold gen_id 1,sig_id 100,type both,track by_dst,count 10,seconds 6\n"
                       "event_filter gen_id 1, sig_id 99, type limit, track by_src, count 1, "
                       "seconds 60\n";
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_threshold_conf *c = gh_threshold_conf_parse("t.config", good, vars, &errs, &nerrs, &err);
    assert_non_null(c);
    assert_int_equal(nerrs, 0);
    assert_int_equal(gh_threshold_conf_count(c), 4);
    gh_threshold_conf_free(c);
    gh_rule_vars_free(vars);
}

/* Loading from a file: what the file holds, a NUL byte named by its offset
 * (the parser reads text, it would hide the rest), a missing file. */
static void test_file_load(void **state)
{
    (void)state;
    gh_error err = {0};
    gh_rule_vars *vars = gh_rule_vars_new(&err);
    static const char text[] = "suppress gen_id 1, sig_id 1\n"
                               "event_filter gen_id 1, sig_id 2, type limit, track by_src, "
                               "count 1, seconds 60\n";
    char path[] = "/tmp/gh_test_threshold_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, sizeof(text) - 1), (ssize_t)(sizeof(text) - 1));
    gh_rule_error *errs = NULL;
    size_t nerrs = 0;
    gh_threshold_conf *c = gh_threshold_conf_load(path, vars, &errs, &nerrs, &err);
    assert_non_null(c);
    assert_int_equal(nerrs, 0);
    assert_int_equal(gh_threshold_conf_count(c), 2);
    gh_threshold_conf_free(c);

    assert_int_equal(write(fd, "x\0y\n", 4), 4);
    close(fd);
    c = gh_threshold_conf_load(path, vars, &errs, &nerrs, &err);
    assert_null(c);
    assert_int_equal(err.code, GH_E_FORMAT);
    char want[96];
    snprintf(want, sizeof(want), "NUL byte at offset %zu", sizeof(text) - 1 + 1);
    assert_non_null(strstr(err.msg, want));
    unlink(path);

    c = gh_threshold_conf_load(path, vars, &errs, &nerrs, &err);
    assert_null(c);
    assert_int_equal(err.code, GH_E_IO);
    assert_non_null(strstr(err.msg, path));
    free(errs);
    gh_rule_vars_free(vars);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_limit_by_src),
        cmocka_unit_test(test_threshold_by_dst),
        cmocka_unit_test(test_both_by_both_ipv6),
        cmocka_unit_test(test_by_rule_and_detection_filter),
        cmocka_unit_test(test_drop_actions),
        cmocka_unit_test(test_table_full),
        cmocka_unit_test(test_threshold_file),
        cmocka_unit_test(test_keyword_forms),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_file_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
