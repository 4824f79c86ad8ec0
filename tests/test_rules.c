/* Rule parser and resolvers: address/port evaluation (negation inside lists,
 * nested variables, IPv6 prefixes, empty sets, cycles), error positions,
 * variables files, and the port/address set algebra against a deliberately
 * naive bitmap evaluator on random expressions. The golden files in
 * tests/rules cover the syntax end to end through `gatehouse check`. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gatehouse/rules.h"
#include "pktbuild.h"

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (d))

static gh_rule_vars *vars_with(const char *const *defs)
{
    gh_rule_vars *v = gh_rule_vars_new(NULL);
    assert_non_null(v);
    for (; defs && defs[0]; defs += 2)
        assert_int_equal(gh_rule_vars_set(v, defs[0], defs[1], "test", NULL), GH_OK);
    return v;
}

/* Evaluate @text as addresses; asserts success. */
static void eval_addr_ok(const char *text, const gh_rule_vars *v, gh_addr_set *out)
{
    gh_rule_error err;
    gh_rule_expr *e = gh_rule_expr_parse(text, GH_EXPR_CTX_ADDR, &err);
    if (!e)
        fail_msg("parse '%s': %s", text, err.message);
    int rc = gh_rule_eval_addr(e, v, out, &err);
    if (rc != GH_OK)
        fail_msg("eval '%s': %s", text, err.message);
    gh_rule_expr_free(e);
}

static void eval_port_ok(const char *text, const gh_rule_vars *v, gh_port_set *out)
{
    gh_rule_error err;
    gh_rule_expr *e = gh_rule_expr_parse(text, GH_EXPR_CTX_PORT, &err);
    if (!e)
        fail_msg("parse '%s': %s", text, err.message);
    int rc = gh_rule_eval_port(e, v, out, &err);
    if (rc != GH_OK)
        fail_msg("eval '%s': %s", text, err.message);
    gh_rule_expr_free(e);
}

/* Evaluation must fail with @msg (substring) at column @col. */
static void eval_fails(const char *text, gh_rule_expr_ctx ctx, const gh_rule_vars *v,
                       uint32_t col, const char *msg)
{
    gh_rule_error err;
    memset(&err, 0, sizeof(err));
    gh_rule_expr *e = gh_rule_expr_parse(text, ctx, &err);
    int rc;
    if (!e) {
        rc = GH_E_FORMAT;
    } else if (ctx == GH_EXPR_CTX_ADDR) {
        gh_addr_set s;
        rc = gh_rule_eval_addr(e, v, &s, &err);
        gh_addr_set_free(&s);
    } else {
        gh_port_set s;
        rc = gh_rule_eval_port(e, v, &s, &err);
        gh_port_set_free(&s);
    }
    gh_rule_expr_free(e);
    if (rc != GH_E_FORMAT)
        fail_msg("'%s' should fail with '%s'", text, msg);
    if (!strstr(err.message, msg))
        fail_msg("'%s': got '%s', want '%s'", text, err.message, msg);
    if (err.loc.col != col)
        fail_msg("'%s': '%s' at col %u, want %u", text, err.message, err.loc.col, col);
    assert_int_equal(err.loc.line, 1);
}

static void ip6(const char *s, uint8_t out[16])
{
    gh_rule_expr *e = gh_rule_expr_parse(s, GH_EXPR_CTX_ADDR, NULL);
    assert_non_null(e);
    assert_int_equal(e->kind, GH_EXPR_IP6);
    memcpy(out, e->v.ip6.lo, 16);
    gh_rule_expr_free(e);
}

/* ---- literals ------------------------------------------------------------ */

static void test_literals(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint32_t lo, hi;
    } v4[] = {
        {"10.0.0.0/8", IP4(10, 0, 0, 0), IP4(10, 255, 255, 255)},
        {"1.2.3.4/24", IP4(1, 2, 3, 0), IP4(1, 2, 3, 255)}, /* host bits masked */
        {"1.2.3.4", IP4(1, 2, 3, 4), IP4(1, 2, 3, 4)},
        {"1.2.3.4/32", IP4(1, 2, 3, 4), IP4(1, 2, 3, 4)},
        {"0.0.0.0/0", 0, 0xffffffffu},
        {"192.168.0.0/255.255.0.0", IP4(192, 168, 0, 0), IP4(192, 168, 255, 255)},
        {"10.0.0.1-10.0.0.9", IP4(10, 0, 0, 1), IP4(10, 0, 0, 9)},
    };
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        gh_rule_error err;
        gh_rule_expr *e = gh_rule_expr_parse(v4[i].text, GH_EXPR_CTX_ADDR, &err);
        assert_non_null(e);
        assert_int_equal(e->kind, GH_EXPR_IP4);
        assert_int_equal(e->v.ip4.lo, v4[i].lo);
        assert_int_equal(e->v.ip4.hi, v4[i].hi);
        assert_string_equal(e->text, v4[i].text);
        gh_rule_expr_free(e);
    }
    gh_rule_expr *e = gh_rule_expr_parse("2001:db8::/32", GH_EXPR_CTX_ADDR, NULL);
    assert_non_null(e);
    assert_int_equal(e->kind, GH_EXPR_IP6);
    static const uint8_t lo[16] = {0x20, 0x01, 0x0d, 0xb8};
    uint8_t hi[16];
    memset(hi, 0xff, 16);
    memcpy(hi, lo, 4);
    assert_memory_equal(e->v.ip6.lo, lo, 16);
    assert_memory_equal(e->v.ip6.hi, hi, 16);
    gh_rule_expr_free(e);
    /* a prefix that is not a multiple of 8 */
    e = gh_rule_expr_parse("2001:db8:ff80::/41", GH_EXPR_CTX_ADDR, NULL);
    assert_non_null(e);
    assert_int_equal(e->v.ip6.lo[5], 0x80);
    assert_int_equal(e->v.ip6.hi[5], 0xff);
    assert_int_equal(e->v.ip6.lo[6], 0x00);
    assert_int_equal(e->v.ip6.hi[6], 0xff);
    gh_rule_expr_free(e);

    static const struct {
        const char *text;
        uint16_t lo, hi;
    } ports[] = {{"80", 80, 80}, {"1024:", 1024, 65535}, {":1023", 0, 1023},
                 {"1000:2000", 1000, 2000}, {"0", 0, 0}, {"65535", 65535, 65535}};
    for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
        e = gh_rule_expr_parse(ports[i].text, GH_EXPR_CTX_PORT, NULL);
        assert_non_null(e);
        assert_int_equal(e->kind, GH_EXPR_PORT);
        assert_int_equal(e->v.port.lo, ports[i].lo);
        assert_int_equal(e->v.port.hi, ports[i].hi);
        gh_rule_expr_free(e);
    }
}

static void test_literal_errors(void **state)
{
    (void)state;
    eval_fails("foo", GH_EXPR_CTX_ADDR, NULL, 1, "unknown address 'foo'");
    eval_fails("[10.0.0.0/8, 1.2.3.4/33]", GH_EXPR_CTX_ADDR, NULL, 14, "bad CIDR '1.2.3.4/33'");
    eval_fails("2001:db8::/129", GH_EXPR_CTX_ADDR, NULL, 1, "bad CIDR");
    eval_fails("1.2.3", GH_EXPR_CTX_ADDR, NULL, 1, "bad IPv4 address '1.2.3'");
    eval_fails("10.0.0.9-10.0.0.1", GH_EXPR_CTX_ADDR, NULL, 1, "start above end");
    eval_fails("[80,70000]", GH_EXPR_CTX_PORT, NULL, 5, "out of range");
    eval_fails("[80, 90:85]", GH_EXPR_CTX_PORT, NULL, 6, "bad port range '90:85'");
    eval_fails("[80,,81]", GH_EXPR_CTX_PORT, NULL, 5, "expected port, got ','");
    eval_fails("[80,[81,82]", GH_EXPR_CTX_PORT, NULL, 1, "unclosed '['");
    eval_fails("[]", GH_EXPR_CTX_PORT, NULL, 1, "empty port list");
    eval_fails("!!80", GH_EXPR_CTX_PORT, NULL, 2, "double negation");
    eval_fails("80]", GH_EXPR_CTX_PORT, NULL, 3, "unexpected ']'");
}

/* ---- evaluation ------------------------------------------------------------ */

static void test_negation_inside_lists(void **state)
{
    (void)state;
    gh_addr_set s;
    eval_addr_ok("[10.0.0.0/8,!10.1.0.0/16]", NULL, &s);
    assert_int_equal(s.n_v4, 2);
    assert_int_equal(s.n_v6, 0);
    assert_int_equal(s.v4[0].lo, IP4(10, 0, 0, 0));
    assert_int_equal(s.v4[0].hi, IP4(10, 0, 255, 255));
    assert_int_equal(s.v4[1].lo, IP4(10, 2, 0, 0));
    assert_int_equal(s.v4[1].hi, IP4(10, 255, 255, 255));
    gh_addr_set_free(&s);

    /* a negated item subtracts; a negated list inside a list subtracts the list */
    eval_addr_ok("[10.0.0.0/8,![10.1.0.0/16,!10.1.2.0/24]]", NULL, &s);
    assert_int_equal(s.n_v4, 3);
    assert_int_equal(s.v4[1].lo, IP4(10, 1, 2, 0));
    assert_int_equal(s.v4[1].hi, IP4(10, 1, 2, 255));
    gh_addr_set_free(&s);

    /* only negations: everything else, both families */
    eval_addr_ok("[!1.2.3.4,!5.6.7.8]", NULL, &s);
    assert_int_equal(s.n_v4, 3);
    assert_int_equal(s.v4[0].lo, 0);
    assert_int_equal(s.v4[0].hi, IP4(1, 2, 3, 3));
    assert_int_equal(s.v4[2].hi, 0xffffffffu);
    assert_int_equal(s.n_v6, 1);
    gh_addr_set_free(&s);

    /* top-level negation is the complement, IPv6 included */
    eval_addr_ok("!10.0.0.0/8", NULL, &s);
    assert_int_equal(s.n_v4, 2);
    assert_int_equal(s.v4[0].hi, IP4(9, 255, 255, 255));
    assert_int_equal(s.v4[1].lo, IP4(11, 0, 0, 0));
    assert_int_equal(s.n_v6, 1);
    gh_addr_set_free(&s);

    /* overlapping and adjacent items merge */
    eval_addr_ok("[10.0.0.0/9, 10.128.0.0/9, 10.0.0.5, 11.0.0.0-11.0.0.255]", NULL, &s);
    assert_int_equal(s.n_v4, 1);
    assert_int_equal(s.v4[0].lo, IP4(10, 0, 0, 0));
    assert_int_equal(s.v4[0].hi, IP4(11, 0, 0, 255));
    gh_addr_set_free(&s);

    gh_port_set p;
    eval_port_ok("[1:80,![2,4]]", NULL, &p);
    assert_int_equal(p.n, 3);
    assert_int_equal(p.r[0].lo, 1);
    assert_int_equal(p.r[0].hi, 1);
    assert_int_equal(p.r[1].lo, 3);
    assert_int_equal(p.r[1].hi, 3);
    assert_int_equal(p.r[2].lo, 5);
    assert_int_equal(p.r[2].hi, 80);
    gh_port_set_free(&p);
    eval_port_ok("!80", NULL, &p);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.r[0].hi, 79);
    assert_int_equal(p.r[1].lo, 81);
    assert_int_equal(p.r[1].hi, 65535);
    gh_port_set_free(&p);
    eval_port_ok("[1:5, 6:10, 8]", NULL, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].lo, 1);
    assert_int_equal(p.r[0].hi, 10);
    gh_port_set_free(&p);
    eval_port_ok("any", NULL, &p);
    assert_int_equal(p.n, 1);
    assert_int_equal(p.r[0].lo, 0);
    assert_int_equal(p.r[0].hi, 65535);
    gh_port_set_free(&p);
}

static void test_nested_variables(void **state)
{
    (void)state;
    static const char *const defs[] = {
        "HOME_NET", "[10.0.0.0/8,192.168.0.0/16]",
        "EXTERNAL_NET", "!$HOME_NET",
        "DMZ", "10.9.0.0/16",
        "INSIDE", "[$HOME_NET,!$DMZ]",
        "WATCHED", "[$EXTERNAL_NET,!1.2.3.4,$DMZ]",
        "HTTP_PORTS", "[80,8080]",
        "WEB", "[$HTTP_PORTS,443]",
        NULL,
    };
    gh_rule_vars *v = vars_with(defs);
    gh_addr_set s;
    eval_addr_ok("$INSIDE", v, &s);
    assert_int_equal(s.n_v4, 3);
    assert_int_equal(s.v4[0].hi, IP4(10, 8, 255, 255));
    assert_int_equal(s.v4[1].lo, IP4(10, 10, 0, 0));
    assert_int_equal(s.v4[2].lo, IP4(192, 168, 0, 0));
    assert_int_equal(s.n_v6, 0);
    gh_addr_set_free(&s);

    /* $WATCHED = (not HOME_NET, minus 1.2.3.4) + DMZ */
    eval_addr_ok("$WATCHED", v, &s);
    bool has_dmz = false, has_1234 = false, has_10_1 = false;
    for (size_t i = 0; i < s.n_v4; i++) {
        has_dmz |= s.v4[i].lo <= IP4(10, 9, 0, 1) && IP4(10, 9, 0, 1) <= s.v4[i].hi;
        has_1234 |= s.v4[i].lo <= IP4(1, 2, 3, 4) && IP4(1, 2, 3, 4) <= s.v4[i].hi;
        has_10_1 |= s.v4[i].lo <= IP4(10, 1, 0, 1) && IP4(10, 1, 0, 1) <= s.v4[i].hi;
    }
    assert_true(has_dmz);
    assert_false(has_1234);
    assert_false(has_10_1);
    assert_int_equal(s.n_v6, 1); /* all of IPv6 is outside HOME_NET */
    gh_addr_set_free(&s);

    /* negated variable inside a list */
    eval_addr_ok("[$HOME_NET,!$DMZ,!192.168.0.0/17]", v, &s);
    assert_int_equal(s.n_v4, 3);
    assert_int_equal(s.v4[2].lo, IP4(192, 168, 128, 0));
    gh_addr_set_free(&s);

    gh_port_set p;
    eval_port_ok("[$WEB,!8080]", v, &p);
    assert_int_equal(p.n, 2);
    assert_int_equal(p.r[0].lo, 80);
    assert_int_equal(p.r[1].lo, 443);
    gh_port_set_free(&p);

    /* overriding a variable changes everything built on it */
    assert_int_equal(gh_rule_vars_set(v, "$HOME_NET", "172.16.0.0/12", "test", NULL), GH_OK);
    assert_string_equal(gh_rule_vars_get(v, "HOME_NET"), "172.16.0.0/12");
    eval_addr_ok("$INSIDE", v, &s);
    assert_int_equal(s.n_v4, 1);
    assert_int_equal(s.v4[0].lo, IP4(172, 16, 0, 0));
    gh_addr_set_free(&s);
    gh_rule_vars_free(v);
}

static void test_ipv6_prefixes(void **state)
{
    (void)state;
    gh_addr_set s;
    eval_addr_ok("[2001:db8::/32,!2001:db8:1::/48]", NULL, &s);
    assert_int_equal(s.n_v4, 0);
    assert_int_equal(s.n_v6, 2);
    uint8_t a[16], b[16];
    ip6("2001:db8::", a);
    assert_memory_equal(s.v6[0].lo, a, 16);
    ip6("2001:db8:0:ffff:ffff:ffff:ffff:ffff", b);
    assert_memory_equal(s.v6[0].hi, b, 16);
    ip6("2001:db8:2::", a);
    assert_memory_equal(s.v6[1].lo, a, 16);
    ip6("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", b);
    assert_memory_equal(s.v6[1].hi, b, 16);
    gh_addr_set_free(&s);

    /* complement of ::/0 minus one address: two ranges around it */
    eval_addr_ok("[::/0,!::1]", NULL, &s);
    assert_int_equal(s.n_v6, 2);
    memset(a, 0, 16);
    assert_memory_equal(s.v6[0].lo, a, 16);
    assert_memory_equal(s.v6[0].hi, a, 16);
    a[15] = 2;
    assert_memory_equal(s.v6[1].lo, a, 16);
    memset(b, 0xff, 16);
    assert_memory_equal(s.v6[1].hi, b, 16);
    gh_addr_set_free(&s);

    /* mixed families and a v4-mapped prefix */
    eval_addr_ok("[10.0.0.0/8,::ffff:10.0.0.0/104]", NULL, &s);
    assert_int_equal(s.n_v4, 1);
    assert_int_equal(s.n_v6, 1);
    assert_int_equal(s.v6[0].lo[10], 0xff);
    assert_int_equal(s.v6[0].lo[12], 10);
    assert_int_equal(s.v6[0].hi[15], 0xff);
    gh_addr_set_free(&s);
}

static void test_empty_and_variable_errors(void **state)
{
    (void)state;
    static const char *const defs[] = {
        "A", "[1.2.3.4,$B]",
        "B", "!$A",
        "EVERYTHING", "any",
        "NOTHING", "!$EVERYTHING",
        "PORTS", "[80,443]",
        "BAD", "[10.0.0.0/8,10.0.0.0/40]",
        "OUTER", "[10.0.0.1,$INNER]",
        "INNER", "$MISSING",
        NULL,
    };
    gh_rule_vars *v = vars_with(defs);
    eval_fails("[1.2.3.4,!1.2.3.4]", GH_EXPR_CTX_ADDR, v, 1, "matches nothing");
    eval_fails("!any", GH_EXPR_CTX_ADDR, v, 2, "'!any' matches no address");
    eval_fails("[80, !80]", GH_EXPR_CTX_PORT, v, 1, "port list '[80,!80]' matches nothing");
    eval_fails("[10.0.0.0/8, [1.2.3.4,!1.2.3.4]]", GH_EXPR_CTX_ADDR, v, 14, "matches nothing");
    eval_fails("[10.0.0.0/8, $UNDEFINED]", GH_EXPR_CTX_ADDR, v, 14,
               "undefined variable '$UNDEFINED'");
    eval_fails("[10.0.0.0/8, !$A]", GH_EXPR_CTX_ADDR, v, 15, "variable cycle: $A -> $B -> $A");
    eval_fails("$NOTHING", GH_EXPR_CTX_ADDR, v, 1, "$NOTHING matches no address");
    eval_fails("[1.2.3.4, $PORTS]", GH_EXPR_CTX_ADDR, v, 11, "holds ports, not addresses");
    eval_fails("$BAD", GH_EXPR_CTX_ADDR, v, 1, "bad CIDR '10.0.0.0/40' (in $BAD, test:1:13)");
    eval_fails(" $OUTER", GH_EXPR_CTX_ADDR, v, 2,
               "undefined variable '$MISSING' (in $OUTER -> $INNER, test:1:1)");
    gh_rule_vars_free(v);
}

/* ---- random expressions against a naive bitmap evaluator --------------------- */

typedef struct naive {
    uint8_t *bits; /* one byte per port */
} naive;

static uint32_t rnd_state = 12345;

static uint32_t rnd(uint32_t n)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) % n;
}

/* Build a random port expression in @buf and its value in @val. Small
 * numbers so that lists overlap a lot. */
static void gen_port(char *buf, size_t n, uint8_t *val, int depth)
{
    int kind = (int)(depth > 2 ? rnd(3) : rnd(5));
    size_t len = 0;
    memset(val, 0, 65536);
    if (kind == 0) {
        unsigned p = rnd(40);
        snprintf(buf, n, "%u", p);
        val[p] = 1;
    } else if (kind == 1) {
        unsigned a = rnd(40), b = a + rnd(20);
        snprintf(buf, n, "%u:%u", a, b);
        memset(val + a, 1, b - a + 1);
    } else if (kind == 2) {
        unsigned a = rnd(3) ? rnd(40) : 65500 + rnd(30);
        if (rnd(2)) {
            snprintf(buf, n, "%u:", a);
            memset(val + a, 1, 65536 - a);
        } else {
            snprintf(buf, n, ":%u", a);
            memset(val, 1, a + 1);
        }
    } else {
        /* a list of 1..4 items, some negated */
        unsigned items = 1 + rnd(4);
        uint8_t *pos = calloc(65536, 1), *neg = calloc(65536, 1), *item = malloc(65536);
        assert_non_null(pos);
        assert_non_null(neg);
        assert_non_null(item);
        bool any_pos = false;
        len += (size_t)snprintf(buf + len, n - len, "[");
        for (unsigned i = 0; i < items; i++) {
            bool negated = rnd(3) == 0;
            char sub[512];
            gen_port(sub, sizeof(sub), item, depth + 1);
            len += (size_t)snprintf(buf + len, n - len, "%s%s%s", i ? ", " : "",
                                    negated ? "!" : "", sub);
            for (unsigned p = 0; p < 65536; p++) {
                if (negated)
                    neg[p] |= item[p];
                else
                    pos[p] |= item[p];
            }
            any_pos |= !negated;
        }
        snprintf(buf + len, n - len, "]");
        for (unsigned p = 0; p < 65536; p++)
            val[p] = (any_pos ? pos[p] : 1) && !neg[p];
        free(pos);
        free(neg);
        free(item);
    }
}

static bool all_zero(const uint8_t *v)
{
    for (unsigned p = 0; p < 65536; p++)
        if (v[p])
            return false;
    return true;
}

/* True when some list inside @buf would evaluate empty: the resolver
 * reports those, the naive evaluator does not know about them. */
static bool has_empty_sublist(const char *text)
{
    gh_rule_expr *e = gh_rule_expr_parse(text, GH_EXPR_CTX_PORT, NULL);
    assert_non_null(e);
    gh_port_set s;
    gh_rule_error err;
    int rc = gh_rule_eval_port(e, NULL, &s, &err);
    gh_port_set_free(&s);
    gh_rule_expr_free(e);
    return rc != GH_OK && strstr(err.message, "matches nothing");
}

static void test_random_ports_vs_naive(void **state)
{
    (void)state;
    uint8_t *want = malloc(65536), *got = malloc(65536);
    assert_non_null(want);
    assert_non_null(got);
    int checked = 0;
    for (int iter = 0; iter < 400; iter++) {
        char text[4096];
        gen_port(text, sizeof(text), want, 0);
        bool negate = rnd(4) == 0;
        if (negate) {
            memmove(text + 1, text, strlen(text) + 1);
            text[0] = '!';
            for (unsigned p = 0; p < 65536; p++)
                want[p] = !want[p];
        }
        gh_rule_error err;
        gh_rule_expr *e = gh_rule_expr_parse(text, GH_EXPR_CTX_PORT, &err);
        if (!e)
            fail_msg("parse '%s': %s", text, err.message);
        gh_port_set s;
        int rc = gh_rule_eval_port(e, NULL, &s, &err);
        gh_rule_expr_free(e);
        if (all_zero(want)) {
            assert_int_equal(rc, GH_E_FORMAT);
            continue;
        }
        if (rc != GH_OK) {
            /* only an empty inner list may fail a non-empty expression */
            if (!has_empty_sublist(text))
                fail_msg("'%s': %s", text, err.message);
            continue;
        }
        memset(got, 0, 65536);
        for (size_t i = 0; i < s.n; i++) {
            assert_true(s.r[i].lo <= s.r[i].hi);
            if (i)
                assert_true((unsigned)s.r[i - 1].hi + 1 < s.r[i].lo); /* disjoint, not adjacent */
            memset(got + s.r[i].lo, 1, (size_t)s.r[i].hi - s.r[i].lo + 1);
        }
        gh_port_set_free(&s);
        if (memcmp(got, want, 65536) != 0)
            fail_msg("'%s' evaluates differently from the naive reference", text);
        checked++;
    }
    assert_true(checked > 200);
    free(want);
    free(got);
}

/* ---- parsing: positions, errors, dump -------------------------------------- */

static void test_positions(void **state)
{
    (void)state;
    static const char text[] =
        "# comment\n"
        "#alert tcp any any -> any any (sid:9;)\n"
        "\n"
        "alert tcp $HOME_NET any -> [10.0.0.0/8, !10.1.0.0/16] 80 (msg:\"a\"; \\\n"
        "   content:\"x;y\"; nocase; sid:1;)\n"
        "  drop udp any any <> any 53 (sid:2;)\n"
        "alert tcp foo any -> any any (sid:3;)\n"
        "alert tcp any any -> any any (msg:\"x\"; sid:4)\n"
        "alert tcp any any -> any any (sid:5;)\n";
    gh_error gerr;
    gh_rule_file *f = gh_rules_parse_buffer("t.rules", text, strlen(text),
                                            GH_RULE_TIER_SIGNATURE, &gerr);
    assert_non_null(f);
    assert_int_equal(f->n_statements, 5);
    assert_int_equal(f->n_disabled, 1);
    assert_int_equal(f->n_rules, 3);
    assert_int_equal(f->n_errors, 2);

    const gh_rule *r = &f->rules[0];
    assert_int_equal(r->action, GH_ACTION_ALERT);
    assert_int_equal(r->loc.line, 4);
    assert_int_equal(r->loc.col, 1);
    assert_string_equal(r->proto.text, "tcp");
    assert_int_equal(r->proto.loc.col, 7);
    assert_int_equal(r->src_addr->kind, GH_EXPR_VAR);
    assert_string_equal(r->src_addr->text, "$HOME_NET");
    assert_int_equal(r->src_addr->loc.col, 11);
    assert_int_equal(r->dst_addr->kind, GH_EXPR_LIST);
    assert_int_equal(r->dst_addr->loc.col, 28);
    assert_int_equal(r->dst_addr->n_items, 2);
    assert_true(r->dst_addr->items[1]->negated);
    assert_int_equal(r->dst_addr->items[1]->loc.col, 42); /* after the '!' */
    assert_int_equal(r->dst_port->loc.col, 55);
    assert_false(r->bidirectional);
    assert_int_equal(r->n_options, 4);
    assert_string_equal(r->options[0].name.text, "msg");
    assert_int_equal(r->options[0].name.loc.line, 4);
    assert_int_equal(r->options[0].name.loc.col, 59);
    assert_string_equal(r->options[0].value.text, "\"a\"");
    assert_int_equal(r->options[0].value.loc.col, 63);
    /* the continuation line keeps its own line and columns */
    assert_string_equal(r->options[1].name.text, "content");
    assert_int_equal(r->options[1].name.loc.line, 5);
    assert_int_equal(r->options[1].name.loc.col, 4);
    assert_string_equal(r->options[1].value.text, "\"x;y\"");
    assert_int_equal(r->options[1].value.loc.col, 12);
    assert_null(r->options[2].value.text);
    assert_ptr_equal(gh_rule_find_option(r, "SID"), &r->options[3]);

    r = &f->rules[1];
    assert_int_equal(r->action, GH_ACTION_DROP);
    assert_int_equal(r->loc.line, 6);
    assert_int_equal(r->loc.col, 3);
    assert_true(r->bidirectional);

    assert_int_equal(f->errors[0].loc.line, 7);
    assert_int_equal(f->errors[0].loc.col, 11);
    assert_string_equal(f->errors[0].message, "unknown address 'foo'");
    assert_string_equal(f->errors[0].loc.file, "t.rules");
    assert_int_equal(f->errors[1].loc.line, 8);
    assert_int_equal(f->errors[1].loc.col, 45);
    assert_string_equal(f->errors[1].message, "expected ';' after option 'sid', got ')'");

    /* check: fills sid/rev and adds check errors in position order */
    assert_int_equal(gh_rules_check(f, NULL), GH_OK);
    assert_int_equal(f->n_errors, 3);
    assert_int_equal(f->errors[0].loc.line, 4);
    assert_string_equal(f->errors[0].message, "undefined variable '$HOME_NET'");
    assert_int_equal(f->rules[0].sid, 1);
    assert_true(f->rules[0].has_error);
    assert_int_equal(f->rules[2].sid, 5);
    assert_false(f->rules[2].has_error);

    char *s = gh_rule_format(&f->rules[0]);
    assert_string_equal(s, "alert tcp $HOME_NET any -> [10.0.0.0/8,!10.1.0.0/16] 80 "
                           "(msg:\"a\"; content:\"x;y\"; nocase; sid:1;)");
    free(s);
    gh_rule_file_free(f);
}

static void test_check_tiers(void **state)
{
    (void)state;
    static const char fw[] =
        "accept tcp any any -> any 80 (flow:to_server; flags:S; sid:1;)\n"
        "drop tcp any any -> any any (content:\"x\"; ttl:300; sid:2;)\n"
        "alert tcp any any -> any any (sid:3;)\n";
    gh_rule_file *f = gh_rules_parse_buffer("fw", fw, strlen(fw), GH_RULE_TIER_FIREWALL, NULL);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, NULL), GH_OK);
    assert_int_equal(f->n_errors, 3);
    assert_string_equal(f->errors[0].message,
                        "payload keyword 'content' is not allowed in a firewall rule");
    assert_int_equal(f->errors[0].loc.col, 30);
    assert_true(strstr(f->errors[1].message, "bad ttl value '300'") != NULL);
    assert_true(strstr(f->errors[2].message, "action 'alert' is not allowed") != NULL);
    assert_false(f->rules[0].has_error);
    gh_rule_file_free(f);

    static const char sig[] =
        "alert http any any -> any any (http.uri; content:\"x\"; flowvar:a,\"b\"; sid:1;)\n"
        "alert tcp any any -> any any (content:\"x\"; flowvar:a,\"c\"; sid:2;)\n"
        "alert tcp any any -> any any (content:\"x\"; sid:3;)\n";
    f = gh_rules_parse_buffer("sig", sig, strlen(sig), GH_RULE_TIER_SIGNATURE, NULL);
    assert_non_null(f);
    assert_int_equal(gh_rules_check(f, NULL), GH_OK);
    assert_int_equal(f->n_errors, 0);
    assert_int_equal(f->n_unsupported, 2);
    assert_int_equal(f->n_unsupported_kw, 1);
    assert_string_equal(f->unsupported_kw[0].keyword, "flowvar");
    assert_int_equal(f->unsupported_kw[0].rules, 2);
    assert_string_equal(f->rules[0].unsupported, "flowvar"); /* http and http.uri load */
    assert_null(f->rules[2].unsupported);
    gh_rule_file_free(f);

    bool payload;
    assert_int_equal(gh_rule_keyword_status("content", &payload), GH_KW_SUPPORTED);
    assert_true(payload);
    assert_int_equal(gh_rule_keyword_status("FLOW", &payload), GH_KW_SUPPORTED);
    assert_false(payload);
    assert_int_equal(gh_rule_keyword_status("http.uri", &payload), GH_KW_SUPPORTED);
    assert_true(payload);
    assert_int_equal(gh_rule_keyword_status("dns.query", &payload), GH_KW_SUPPORTED);
    assert_true(payload);
    assert_int_equal(gh_rule_keyword_status("tls.random", &payload), GH_KW_UNSUPPORTED);
    assert_true(payload);
    assert_int_equal(gh_rule_keyword_status("frobnicate", NULL), GH_KW_UNKNOWN);
}

/* Suricata's action-order: the four classes each once, errors name the token */
/* A NUL byte would cut the option it sits in short (they are kept as C
 * strings): the rule is an error at the byte, the next one parses. */
static void test_nul_byte(void **state)
{
    (void)state;
    static const char text[] = "alert tcp any any -> any any (content:\"ab\0cd\"; sid:1;)\n"
                               "alert tcp any any -> any any (sid:2;)\n";
    gh_rule_file *f = gh_rules_parse_buffer("nul.rules", text, sizeof(text) - 1,
                                            GH_RULE_TIER_SIGNATURE, NULL);
    assert_non_null(f);
    assert_int_equal(f->n_statements, 2);
    assert_int_equal(f->n_rules, 1);
    assert_int_equal(f->rules[0].loc.line, 2);
    assert_int_equal(f->n_errors, 1);
    assert_int_equal(f->errors[0].loc.line, 1);
    assert_int_equal(f->errors[0].loc.col, 42);
    assert_string_equal(f->errors[0].message, "NUL byte in rule");
    gh_rule_file_free(f);
}

static void test_action_order(void **state)
{
    (void)state;
    gh_action_order o;
    char buf[40];
    gh_action_order_default(&o);
    gh_action_order_format(&o, buf, sizeof(buf));
    assert_string_equal(buf, "pass,drop,reject,alert");
    assert_int_equal(gh_action_order_parse(&o, " drop , alert,reject,pass", NULL), GH_OK);
    gh_action_order_format(&o, buf, sizeof(buf));
    assert_string_equal(buf, "drop,alert,reject,pass");
    assert_int_equal(o.rank[GH_ACTCLASS_DROP], 0);
    assert_int_equal(o.rank[GH_ACTCLASS_PASS], 3);
    assert_int_equal(gh_action_class_of(GH_ACTION_REJECTBOTH), GH_ACTCLASS_REJECT);
    assert_int_equal(gh_action_class_of(GH_ACTION_ALERT), GH_ACTCLASS_ALERT);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"drop,pass,rejct,alert", "unknown action 'rejct'"},
        {"drop,pass,drop,alert", "'drop' is listed twice"},
        {"drop,pass,reject", "'alert' is missing"},
        {"drop pass,reject,alert", "expected ',' after 'drop'"},
        {"", "unknown action ''"},
        {"drop,pass,reject,alert,", "unknown action ''"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        gh_error err = {0};
        assert_int_equal(gh_action_order_parse(&o, bad[i].text, &err), GH_E_INVAL);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].text, err.msg, bad[i].msg);
    }
    /* a failed parse leaves the order as it was */
    gh_action_order_format(&o, buf, sizeof(buf));
    assert_string_equal(buf, "drop,alert,reject,pass");
}

/* classification.config: entries, comments, a comma in the description,
 * case-insensitive lookup; a bad line names file:line and what is wrong */
static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_classification(void **state)
{
    (void)state;
    char path[] = "/tmp/gh_test_class_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    write_text(path, "# config classification:shortname,short description,priority\n"
                     "\n"
                     "config classification: not-suspicious,Not Suspicious Traffic,3\n"
                     "  config classification:bad-unknown , Potentially Bad Traffic , 2 \n"
                     "config classification: odd_one,Thing, with a comma,1\n"
                     "config classification: not-suspicious,Not Suspicious Traffic,3\n");
    gh_classification *c = gh_classification_new();
    gh_error err = {0};
    assert_int_equal(gh_classification_load(c, path, &err), GH_OK);
    assert_int_equal(gh_classification_count(c), 3);
    const gh_class_entry *e = gh_classification_find(c, "Bad-Unknown");
    assert_non_null(e);
    assert_string_equal(e->name, "bad-unknown");
    assert_string_equal(e->description, "Potentially Bad Traffic");
    assert_int_equal(e->priority, 2);
    e = gh_classification_find(c, "odd_one");
    assert_non_null(e);
    assert_string_equal(e->description, "Thing, with a comma");
    assert_int_equal(e->priority, 1);
    assert_null(gh_classification_find(c, "nope"));
    gh_classification_free(c);

    static const struct {
        const char *line, *msg;
    } bad[] = {
        {"config classification: a,A\n", ":2: expected 'config classification: "},
        {"config classificaton: a,A,1\n", ":2: expected 'config classification: "},
        {"config classification: a b,A,1\n", ":2: bad classification name 'a b'"},
        {"config classification: a,A,0\n", ":2: bad priority '0' (expected 1 to 255)"},
        {"config classification: a,A,high\n", ":2: bad priority 'high'"},
        {"config classification: a, ,1\n", ":2: classification 'a' has no description"},
        {"config classification: a,Other,1\n", ":2: classification 'a' defined again "
                                                "differently (first at line 1)"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "config classification: a,First,2\n%s", bad[i].line);
        write_text(path, text);
        c = gh_classification_new();
        assert_int_equal(gh_classification_load(c, path, &err), GH_E_FORMAT);
        if (!strstr(err.msg, path) || !strstr(err.msg, bad[i].msg))
            fail_msg("'%s': message '%s' lacks '%s'", bad[i].line, err.msg, bad[i].msg);
        gh_classification_free(c);
    }
    unlink(path);
    c = gh_classification_new();
    assert_int_equal(gh_classification_load(c, path, &err), GH_E_IO);
    gh_classification_free(c);
    gh_classification_free(NULL);
}

/* One random rule statement (or comment, or blank line) of many shapes:
 * valid, continued over lines, syntax errors, check errors, unsupported
 * keywords, sids that repeat across the whole text. */
static void random_statement(pb_text *t, uint64_t *rng, unsigned i)
{
    unsigned sid = 1 + (unsigned)(pb_rng(rng) % 40000); /* duplicates far apart */
    switch (pb_rng(rng) % 12) {
    case 0:
        pb_tput(t, "alert tcp any any -> any 80 (msg:\"c%u\"; \\\n  content:\"a%u\"; \\\n"
                   "  sid:%u;)\n", i, i, sid);
        break;
    case 1:
        pb_tput(t, "alert tcp any any -> any any (msg:\"x\" sid:%u;)\n", sid); /* syntax */
        break;
    case 2:
        pb_tput(t, "alert udp any any -> any any (msg:\"u\"; nosuchkw:1; sid:%u;)\n", sid);
        break;
    case 3:
        pb_tput(t, "alert ip any any -> any any (msg:\"a\"; asn1:oversize_length 10; sid:%u;)\n",
                sid); /* unsupported */
        break;
    case 4:
        pb_tput(t, "# a comment %u\n\n#alert tcp any any -> any any (sid:%u;)\n", i, sid);
        break;
    case 5:
        pb_tput(t, "alert tcp $HOME_NET any -> $EXTERNAL_NET $HTTP_PORTS (msg:\"v\"; "
                   "flow:established,to_server; content:\"GET\"; depth:3; ttl:>300; sid:%u;)\n",
                sid); /* bad ttl */
        break;
    case 6:
        pb_tput(t, "alert ftp-data any any -> any any (msg:\"p\"; sid:%u;)\n", sid);
        break;
    default:
        pb_tput(t, "alert http $HOME_NET any -> $EXTERNAL_NET any (msg:\"r%u\"; "
                   "flow:established,to_server; http.uri; content:\"/p%u\"; nocase; "
                   "pcre:\"/q=[0-9]+/U\"; classtype:trojan-activity; sid:%u; rev:2;)\n",
                i, i, sid);
        break;
    }
}

static void same_loc(const gh_rule_loc *a, const gh_rule_loc *b)
{
    assert_true((a->file == NULL) == (b->file == NULL)); /* none: an absent value */
    if (a->file)
        assert_string_equal(a->file, b->file);
    assert_int_equal(a->line, b->line);
    assert_int_equal(a->col, b->col);
}

static void same_tok(const gh_rule_token *a, const gh_rule_token *b)
{
    if (a->text || b->text) {
        assert_non_null(a->text);
        assert_non_null(b->text);
        assert_string_equal(a->text, b->text);
    }
    same_loc(&a->loc, &b->loc);
}

/* gh_rules_load_file cuts a large file into parts parsed and checked on
 * threads: whatever the number of parts, the result is gh_rules_parse_buffer
 * then gh_rules_check's. */
static void test_load_in_parts(void **state)
{
    (void)state;
    static const char *const defs[] = {"HOME_NET", "[10.0.0.0/8]", "EXTERNAL_NET", "!$HOME_NET",
                                       "HTTP_PORTS", "[80,8080]", NULL};
    gh_rule_vars *v = vars_with(defs);
    uint64_t rng = pb_rng_seed("GH_TEST_SEED");
    pb_text t = {0};
    for (unsigned i = 0; t.len < (3u << 20); i++)
        random_statement(&t, &rng, i);
    char path[] = "/tmp/gh_test_load_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, t.p, t.len), (ssize_t)t.len);
    close(fd);

    gh_error err = {0};
    gh_rule_file *a = gh_rules_parse_buffer(path, t.p, t.len, GH_RULE_TIER_SIGNATURE, &err);
    assert_non_null(a);
    assert_int_equal(gh_rules_check(a, v), GH_OK);
    assert_true(a->n_errors > 100 && a->n_unsupported > 100 && a->n_disabled > 100);
    static const unsigned jobs[] = {1, 2, 3, 16};
    for (size_t j = 0; j < sizeof(jobs) / sizeof(jobs[0]); j++) {
        gh_rule_file *b = gh_rules_load_file(path, GH_RULE_TIER_SIGNATURE, v, jobs[j], &err);
        assert_non_null(b);
        assert_int_equal(b->n_rules, a->n_rules);
        assert_int_equal(b->n_statements, a->n_statements);
        assert_int_equal(b->n_disabled, a->n_disabled);
        assert_int_equal(b->n_unsupported, a->n_unsupported);
        assert_int_equal(b->n_errors, a->n_errors);
        for (size_t i = 0; i < a->n_errors; i++) {
            same_loc(&b->errors[i].loc, &a->errors[i].loc);
            assert_string_equal(b->errors[i].message, a->errors[i].message);
        }
        assert_int_equal(b->n_unsupported_kw, a->n_unsupported_kw);
        for (size_t i = 0; i < a->n_unsupported_kw; i++) {
            assert_string_equal(b->unsupported_kw[i].keyword, a->unsupported_kw[i].keyword);
            assert_int_equal(b->unsupported_kw[i].rules, a->unsupported_kw[i].rules);
        }
        for (size_t i = 0; i < a->n_rules; i++) {
            const gh_rule *x = &a->rules[i], *y = &b->rules[i];
            same_loc(&y->loc, &x->loc);
            same_tok(&y->proto, &x->proto);
            assert_int_equal(y->sid, x->sid);
            assert_int_equal(y->gid, x->gid);
            assert_int_equal(y->rev, x->rev);
            assert_int_equal(y->has_error, x->has_error);
            assert_true((x->unsupported == NULL) == (y->unsupported == NULL));
            if (x->unsupported)
                assert_string_equal(y->unsupported, x->unsupported);
            assert_int_equal(y->n_options, x->n_options);
            for (size_t o = 0; o < x->n_options; o++) {
                same_tok(&y->options[o].name, &x->options[o].name);
                same_tok(&y->options[o].value, &x->options[o].value);
            }
        }
        gh_rule_file_free(b);
    }
    gh_rule_file_free(a);
    unlink(path);
    free(t.p);
    gh_rule_vars_free(v);
}

static void test_vars_file(void **state)
{
    (void)state;
    char path[] = "/tmp/gh_test_vars_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    static const char good[] = "# comment\n"
                               "HOME_NET: \"[10.0.0.0/8]\"   # yaml style\n"
                               "  EXTERNAL_NET = !$HOME_NET\n"
                               "\n"
                               "HTTP_PORTS = 80\n"
                               "HTTP_PORTS = [80,8080]\n";
    assert_int_equal(write(fd, good, sizeof(good) - 1), (ssize_t)(sizeof(good) - 1));
    close(fd);
    gh_rule_vars *v = gh_rule_vars_new(NULL);
    gh_error err;
    assert_int_equal(gh_rule_vars_load(v, path, &err), GH_OK);
    assert_string_equal(gh_rule_vars_get(v, "HOME_NET"), "[10.0.0.0/8]");
    assert_string_equal(gh_rule_vars_get(v, "EXTERNAL_NET"), "!$HOME_NET");
    assert_string_equal(gh_rule_vars_get(v, "HTTP_PORTS"), "[80,8080]");
    assert_null(gh_rule_vars_get(v, "NOPE"));
    gh_rule_vars_free(v);

    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("GOOD = 1\nBAD LINE\n", fp);
    fclose(fp);
    v = gh_rule_vars_new(NULL);
    assert_int_equal(gh_rule_vars_load(v, path, &err), GH_E_FORMAT);
    assert_true(strstr(err.msg, ":2:5: expected '=' after 'BAD'") != NULL);
    assert_int_equal(gh_rule_vars_set(v, "1X", "1", NULL, &err), GH_E_INVAL);
    unlink(path);
    assert_int_equal(gh_rule_vars_load(v, "/nonexistent/vars.conf", &err), GH_E_IO);
    gh_rule_vars_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),
        cmocka_unit_test(test_literal_errors),
        cmocka_unit_test(test_negation_inside_lists),
        cmocka_unit_test(test_nested_variables),
        cmocka_unit_test(test_ipv6_prefixes),
        cmocka_unit_test(test_empty_and_variable_errors),
        cmocka_unit_test(test_random_ports_vs_naive),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_check_tiers),
        cmocka_unit_test(test_vars_file),
        cmocka_unit_test(test_load_in_parts),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_action_order),
        cmocka_unit_test(test_classification),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
