/* Flow table tests: keys and directions, the TCP state machine and its
 * diagnosis (RTT, windows, retransmissions, wrap-around), UDP/ICMP state,
 * ICMP errors, timeouts by state, eviction, the EVE flow event (checked as
 * JSON), a randomized run against a deliberately naive reference (a linear
 * array), and every corpus pcap with invariants. Packets are gh_packet
 * structs filled by hand, so the tests do not depend on the decoder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gatehouse/decode.h"
#include "gatehouse/eve.h"
#include "gatehouse/flow.h"
#include "gatehouse/source.h"
#include "hdrmatch.h"

#define S ((uint64_t)1000000000)
#define MS ((uint64_t)1000000)
#define T0 ((uint64_t)1700000000 * S)

#define A4 "192.0.2.1"
#define B4 "198.51.100.2"
#define C4 "203.0.113.9"
#define A6 "2001:db8::1"
#define B6 "2001:db8::2"

/* ---- a minimal packet builder -------------------------------------------- */

static void set_addr(gh_packet *p, gh_addr *a, const char *s)
{
    memset(a, 0, sizeof(*a));
    if (strchr(s, ':')) {
        assert_int_equal(inet_pton(AF_INET6, s, a->b), 1);
        p->ip_ver = 6;
    } else {
        assert_int_equal(inet_pton(AF_INET, s, a->b), 1);
        p->ip_ver = 4;
    }
}

static gh_packet pk_ip(const char *src, const char *dst, uint8_t proto)
{
    gh_packet p;
    memset(&p, 0, sizeof(p));
    set_addr(&p, &p.src, src);
    set_addr(&p, &p.dst, dst);
    p.layers = (p.ip_ver == 6 ? GH_LAYER_IPV6 : GH_LAYER_IPV4) | GH_LAYER_ETH;
    p.ip_proto = proto;
    p.caplen = 60;
    if (proto != 6 && proto != 17 && proto != 1 && proto != 58)
        p.layers |= GH_LAYER_OTHER_L4;
    return p;
}

static gh_packet pk_tcp(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint8_t flags,
                        uint32_t seq, uint32_t ack, uint16_t win, uint32_t len)
{
    gh_packet p = pk_ip(src, dst, 6);
    p.layers |= GH_LAYER_TCP;
    p.sport = sp;
    p.dport = dp;
    p.tcp_flags = flags;
    p.tcp_seq = seq;
    p.tcp_ack = ack;
    p.tcp_win = win;
    p.payload_len = len;
    p.caplen = 54 + len;
    return p;
}

static gh_packet pk_udp(const char *src, uint16_t sp, const char *dst, uint16_t dp, uint32_t len)
{
    gh_packet p = pk_ip(src, dst, 17);
    p.layers |= GH_LAYER_UDP;
    p.sport = sp;
    p.dport = dp;
    p.payload_len = len;
    p.caplen = 42 + len;
    return p;
}

static gh_packet pk_icmp(const char *src, const char *dst, uint8_t type, uint8_t code, uint16_t id)
{
    bool v6 = strchr(src, ':') != NULL;
    gh_packet p = pk_ip(src, dst, v6 ? 58 : 1);
    p.layers |= v6 ? GH_LAYER_ICMPV6 : GH_LAYER_ICMPV4;
    p.icmp_type = type;
    p.icmp_code = code;
    p.icmp_id = id;
    return p;
}

/* An ICMPv4 error from @p src to @p dst quoting a packet isrc:isp -> idst:idp. */
static gh_packet pk_icmp_err(const char *src, const char *dst, uint8_t type, const char *isrc,
                             uint16_t isp, const char *idst, uint16_t idp, uint8_t iproto)
{
    gh_packet p = pk_icmp(src, dst, type, 3, 0);
    gh_packet tmp;
    memset(&tmp, 0, sizeof(tmp));
    p.layers |= GH_LAYER_ICMP_INNER;
    set_addr(&tmp, &p.icmp_inner.src, isrc);
    set_addr(&tmp, &p.icmp_inner.dst, idst);
    p.icmp_inner.ip_ver = tmp.ip_ver;
    p.icmp_inner.ip_proto = iproto;
    p.icmp_inner.sport = isp;
    p.icmp_inner.dport = idp;
    return p;
}

static gh_packet with_wscale(gh_packet p, uint8_t ws)
{
    p.flags |= GH_PKT_TCP_WSCALE;
    p.tcp_wscale = ws;
    return p;
}

/* ---- a tiny JSON syntax checker for the EVE lines ------------------------- */

static const char *js_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    return s;
}

static const char *js_string(const char *s)
{
    if (*s++ != '"')
        return NULL;
    while (*s != '"') {
        if (!*s || (unsigned char)*s < 0x20)
            return NULL;
        if (*s == '\\') {
            s++;
            if (*s == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)s[i]))
                        return NULL;
                s += 4;
            } else if (!strchr("\"\\/bfnrt", *s) || !*s) {
                return NULL;
            }
        }
        s++;
    }
    return s + 1;
}

static const char *js_number(const char *s)
{
    if (*s == '-')
        s++;
    if (!isdigit((unsigned char)*s))
        return NULL;
    if (*s == '0' && isdigit((unsigned char)s[1]))
        return NULL; /* no leading zeros */
    while (isdigit((unsigned char)*s))
        s++;
    if (*s == '.') {
        s++;
        if (!isdigit((unsigned char)*s))
            return NULL;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return s;
}

static const char *js_value(const char *s, int depth)
{
    if (depth > 16)
        return NULL;
    s = js_ws(s);
    switch (*s) {
    case '{':
    case '[': {
        char close = *s == '{' ? '}' : ']';
        bool obj = *s == '{';
        s = js_ws(s + 1);
        if (*s == close)
            return s + 1;
        for (;;) {
            if (obj) {
                s = js_string(js_ws(s));
                if (!s)
                    return NULL;
                s = js_ws(s);
                if (*s++ != ':')
                    return NULL;
            }
            s = js_value(s, depth + 1);
            if (!s)
                return NULL;
            s = js_ws(s);
            if (*s == ',') {
                s++;
                continue;
            }
            return *s == close ? s + 1 : NULL;
        }
    }
    case '"': return js_string(s);
    case 't': return strncmp(s, "true", 4) == 0 ? s + 4 : NULL;
    case 'f': return strncmp(s, "false", 5) == 0 ? s + 5 : NULL;
    case 'n': return strncmp(s, "null", 4) == 0 ? s + 4 : NULL;
    default: return js_number(s);
    }
}

/* One JSON object followed by exactly one newline. */
static bool json_line_ok(const char *line)
{
    if (line[0] != '{')
        return false;
    const char *e = js_value(line, 0);
    return e && e[0] == '\n' && e[1] == '\0';
}

/* ---- recording ended flows ------------------------------------------------ */

typedef struct ended {
    gh_flow f;      /* copy at end time */
    char *eve;      /* its EVE line */
} ended;

typedef struct recorder {
    ended *v;
    size_t n, cap;
    bool keep_eve;
    uint64_t pkts_sum;
    bool bad_json;
    bool bad_state; /* end callback saw a flow not marked ended */
} recorder;

static void on_end(void *ctx, gh_flow *f)
{
    recorder *r = ctx;
    if (!(f->flags & GH_FLOWF_ENDED))
        r->bad_state = true;
    r->pkts_sum += (uint64_t)f->pkts[0] + f->pkts[1];
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->v = realloc(r->v, r->cap * sizeof(*r->v));
        assert_non_null(r->v);
    }
    ended *e = &r->v[r->n++];
    e->f = *f;
    e->eve = NULL;
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_eve_fmt_flow(&b, f);
    if (!b.p || b.oom || !json_line_ok(b.p)) {
        r->bad_json = true;
        fprintf(stderr, "bad EVE line: %s", b.p ? b.p : "(null)\n");
    }
    if (r->keep_eve)
        e->eve = b.p;
    else
        gh_jbuf_free(&b);
}

static void rec_free(recorder *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].eve);
    free(r->v);
    memset(r, 0, sizeof(*r));
}

static gh_flow_table *new_table(gh_flow_config *cfg, recorder *r)
{
    if (r) {
        cfg->on_end = on_end;
        cfg->on_end_ctx = r;
        r->keep_eve = true;
    }
    gh_error err = {0};
    gh_flow_table *t = gh_flow_table_new(cfg, &err);
    if (!t)
        fprintf(stderr, "gh_flow_table_new: %s\n", err.msg);
    assert_non_null(t);
    return t;
}

static void check_table(const gh_flow_table *t)
{
    gh_error err = {0};
    int rc = gh_flow_table_check(t, &err);
    if (rc != GH_OK)
        fprintf(stderr, "table check: %s\n", err.msg);
    assert_int_equal(rc, GH_OK);
}

static gh_flow *look(gh_flow_table *t, const gh_packet *p, uint64_t now, int want_dir)
{
    int dir = 99;
    gh_flow *f = gh_flow_lookup(t, p, now, 0, &dir);
    assert_int_equal(dir, want_dir);
    if (want_dir >= 0)
        assert_non_null(f);
    else
        assert_null(f);
    return f;
}

/* ---- tests ---------------------------------------------------------------- */

/* The `flow` keyword @p value as the pipeline evaluates it (engine/hdrmatch.c)
 * for a packet of flow @p f (NULL: none) in direction @p dir, with the flow's
 * state after that packet, as the worker passes it. */
static bool flow_kw(const gh_flow *f, int dir, const char *value)
{
    gh_hdr_match m;
    memset(&m, 0, sizeof(m));
    char err[128];
    if (gh_hdr_match_add(&m, "flow", value, err, sizeof(err)) != 1)
        fail_msg("flow:%s: %s", value, err);
    gh_pkt_state st = {.has_flow = f != NULL,
                       .established = f && gh_flow_is_established(f),
                       .to_server = dir == GH_FLOW_TOSERVER};
    gh_packet p;
    memset(&p, 0, sizeof(p));
    p.ip_ver = 4;
    return gh_hdr_match_eval(&m, &p, &st, false);
}

static void test_sizes(void **state)
{
    (void)state;
    assert_true(sizeof(gh_flow) <= 256);
    assert_int_equal(sizeof(gh_flow), 192);
    assert_true(offsetof(gh_flow, stage_flags) < 64);
    assert_true(offsetof(gh_flow, rule_id) < 64 && offsetof(gh_flow, action) < 64);
    assert_true(offsetof(gh_flow, flow_id) >= 128);
    printf("flow entry: %zu bytes; default table (%u flows): %zu bytes\n", sizeof(gh_flow),
           GH_FLOW_DEFAULT_MAX_FLOWS, gh_flow_table_memsize(GH_FLOW_DEFAULT_MAX_FLOWS));
}

static void test_both_directions_one_flow(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);

    gh_packet q = pk_udp(A4, 40000, B4, 53, 30);
    gh_packet a = pk_udp(B4, 53, A4, 40000, 90);
    gh_packet other = pk_udp(A4, 40001, B4, 53, 30);

    gh_flow *f1 = look(t, &q, T0, GH_FLOW_TOSERVER);
    assert_false(gh_flow_is_established(f1));
    assert_true(flow_kw(f1, GH_FLOW_TOSERVER, "not_established,to_server"));
    gh_flow *f2 = look(t, &a, T0 + MS, GH_FLOW_TOCLIENT);
    assert_ptr_equal(f1, f2);
    /* UDP: established by the first reply, as Suricata */
    assert_true(gh_flow_is_established(f2));
    assert_true(flow_kw(f2, GH_FLOW_TOCLIENT, "established,to_client"));
    assert_false(flow_kw(f2, GH_FLOW_TOCLIENT, "to_server"));
    assert_true(flow_kw(f2, GH_FLOW_TOCLIENT, "from_server"));
    assert_false(flow_kw(f2, GH_FLOW_TOCLIENT, "from_client"));
    look(t, &q, T0 + 2 * MS, GH_FLOW_TOSERVER);
    assert_int_equal(f1->pkts[0], 2);
    assert_int_equal(f1->pkts[1], 1);
    assert_int_equal(f1->bytes[0], 2 * 72);
    assert_int_equal(f1->bytes[1], 132);
    int d;
    assert_ptr_equal(gh_flow_find(t, &a, &d), f1);
    assert_int_equal(d, GH_FLOW_TOCLIENT);
    assert_null(gh_flow_find(t, &other, &d));
    assert_int_equal(d, GH_FLOW_NOFLOW);

    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->created, 1);
    assert_int_equal(st->active, 1);
    assert_int_equal(st->state[GH_FLOW_STATE_ESTABLISHED], 1);

    assert_int_equal(gh_flow_table_flush(t, 0), 1);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].f.end_reason, GH_FLOW_END_SHUTDOWN);
    const char *ev = r.v[0].eve;
    assert_non_null(strstr(ev, "\"event_type\":\"flow\""));
    assert_non_null(strstr(ev, "\"src_ip\":\"192.0.2.1\",\"src_port\":40000,\"dest_ip\":\"198.51.100.2\",\"dest_port\":53,\"proto\":\"UDP\""));
    assert_non_null(strstr(ev, "\"pkts_toserver\":2,\"pkts_toclient\":1,\"bytes_toserver\":144,\"bytes_toclient\":132"));
    assert_non_null(strstr(ev, "\"state\":\"established\",\"reason\":\"shutdown\",\"alerted\":false"));
    assert_null(strstr(ev, "\"tcp\""));
    assert_false(r.bad_json);
    assert_int_equal(st->active, 0);
    assert_int_equal(st->state[GH_FLOW_STATE_ESTABLISHED], 0);
    gh_flow_table_free(t);
    rec_free(&r);
}

/* SYN, SYN/ACK, ACK with options; returns the flow. Client A4:40000. */
static gh_flow *handshake(gh_flow_table *t, const char *c, const char *s, uint64_t t0, uint32_t cisn,
                          uint32_t sisn, int cws, int sws)
{
    gh_packet syn = pk_tcp(c, 40000, s, 80, GH_TCP_SYN, cisn, 0, 64240, 0);
    if (cws >= 0)
        syn = with_wscale(syn, (uint8_t)cws);
    gh_packet synack = pk_tcp(s, 80, c, 40000, GH_TCP_SYN | GH_TCP_ACK, sisn, cisn + 1, 65160, 0);
    if (sws >= 0)
        synack = with_wscale(synack, (uint8_t)sws);
    gh_packet ack = pk_tcp(c, 40000, s, 80, GH_TCP_ACK, cisn + 1, sisn + 1, 502, 0);
    gh_flow *f = look(t, &syn, t0, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp_state, GH_TCP_SYN_SENT);
    assert_true(flow_kw(f, GH_FLOW_TOSERVER, "not_established"));
    assert_ptr_equal(look(t, &synack, t0 + 10 * MS, GH_FLOW_TOCLIENT), f);
    assert_int_equal(f->tcp_state, GH_TCP_SYN_RECV);
    assert_false(gh_flow_is_established(f));
    assert_ptr_equal(look(t, &ack, t0 + 25 * MS, GH_FLOW_TOSERVER), f);
    assert_int_equal(f->tcp_state, GH_TCP_ESTABLISHED);
    assert_true(flow_kw(f, GH_FLOW_TOSERVER, "established,to_server"));
    return f;
}

/* Only an ACK of the server's SYN completes the handshake: an ACK that
 * acknowledges nothing (or bytes never sent) leaves the flow unestablished,
 * as a simultaneous open answered by a stale ACK does in Suricata. */
static void test_tcp_handshake_needs_valid_ack(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    gh_packet syn = pk_tcp(A4, 40000, B4, 80, GH_TCP_SYN, 100, 0, 64240, 0);
    gh_packet ssyn = pk_tcp(B4, 80, A4, 40000, GH_TCP_SYN, 7000, 0, 64240, 0);
    gh_flow *f = look(t, &syn, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &ssyn, T0 + MS, GH_FLOW_TOCLIENT), f);
    assert_int_equal(f->tcp_state, GH_TCP_SYN_RECV);
    gh_packet stale = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 101, 7000, 502, 0);
    gh_packet ahead = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 101, 7002, 502, 0);
    assert_ptr_equal(look(t, &stale, T0 + 2 * MS, GH_FLOW_TOSERVER), f);
    assert_int_equal(f->tcp_state, GH_TCP_SYN_RECV);
    assert_ptr_equal(look(t, &ahead, T0 + 3 * MS, GH_FLOW_TOSERVER), f);
    assert_false(gh_flow_is_established(f));
    gh_packet good = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 101, 7001, 502, 0);
    assert_ptr_equal(look(t, &good, T0 + 4 * MS, GH_FLOW_TOSERVER), f);
    assert_int_equal(f->tcp_state, GH_TCP_ESTABLISHED);
    gh_flow_table_free(t);
}

/* stream.async-oneside: with only the client's side on the path, its ACK
 * after the SYN completes the handshake; without the option it does not. */
static void test_tcp_async_oneside(void **state)
{
    (void)state;
    for (int async = 0; async < 2; async++) {
        gh_flow_config cfg;
        gh_flow_config_init(&cfg);
        cfg.max_flows = 64;
        cfg.async_oneside = async;
        recorder r = {0};
        gh_flow_table *t = new_table(&cfg, &r);
        gh_packet syn = pk_tcp(A4, 40000, B4, 80, GH_TCP_SYN, 100, 0, 64240, 0);
        gh_packet wrong = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 150, 9000, 502, 0);
        gh_packet ack = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_PSH, 101, 9000, 502, 10);
        gh_flow *f = look(t, &syn, T0, GH_FLOW_TOSERVER);
        assert_ptr_equal(look(t, &wrong, T0 + MS, GH_FLOW_TOSERVER), f);
        assert_int_equal(f->tcp_state, GH_TCP_SYN_SENT); /* not the SYN's next byte */
        assert_ptr_equal(look(t, &ack, T0 + 2 * MS, GH_FLOW_TOSERVER), f);
        assert_int_equal(f->tcp_state, async ? GH_TCP_ESTABLISHED : GH_TCP_SYN_SENT);
        assert_int_equal(gh_flow_is_established(f), async);
        gh_flow_table_free(t);
    }
}

static void test_tcp_handshake_rtt(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    /* a SYN retransmitted after 1 s: the RTT counts from the last SYN */
    gh_packet syn = pk_tcp(A4, 40000, B4, 80, GH_TCP_SYN, 1000, 0, 64240, 0);
    gh_flow *f0 = look(t, &syn, T0 - S, GH_FLOW_TOSERVER);
    gh_flow *f = handshake(t, A4, B4, T0, 1000, 5000, 7, 8);
    assert_ptr_equal(f0, f);
    assert_int_equal(f->tcp[0].retrans, 1); /* the SYN was sent twice */
    assert_true(f->flags & GH_FLOWF_RTT);
    assert_int_equal(f->rtt_synack_us, 10000);
    assert_int_equal(f->rtt_ack_us, 15000);
    assert_true(f->flags & GH_FLOWF_WSCALE);
    assert_int_equal(f->start_ns, T0 - S);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->tcp_state[GH_TCP_ESTABLISHED], 1);
    assert_int_equal(st->state[GH_FLOW_STATE_ESTABLISHED], 1);
    gh_flow_table_flush(t, 0);
    const char *ev = r.v[0].eve;
    assert_non_null(strstr(ev, "\"rtt_ms\":25.000,\"rtt_server_ms\":10.000,\"rtt_client_ms\":15.000"));
    assert_non_null(strstr(ev, "\"tcp_flags\":\"12\",\"tcp_flags_ts\":\"12\",\"tcp_flags_tc\":\"12\",\"syn\":true,\"ack\":true,\"state\":\"established\""));
    assert_non_null(strstr(ev, "\"wscale_toserver\":7,\"wscale_toclient\":8"));
    assert_non_null(strstr(ev, "\"age\":1,"));
    assert_false(r.bad_json);
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_tcp_fin_close_and_closed_timeout(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    gh_flow *f = handshake(t, A4, B4, T0, 100, 900, -1, -1);
    uint64_t now = T0 + S;
    gh_packet req = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_PSH, 101, 901, 502, 100);
    gh_packet rsp = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK | GH_TCP_PSH, 901, 201, 300, 400);
    gh_packet fin1 = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_FIN, 201, 1301, 502, 0);
    gh_packet ack1 = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 1301, 202, 300, 0);
    gh_packet fin2 = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK | GH_TCP_FIN, 1301, 202, 300, 0);
    gh_packet ack2 = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 202, 1302, 502, 0);
    look(t, &req, now, GH_FLOW_TOSERVER);
    look(t, &rsp, now + MS, GH_FLOW_TOCLIENT);
    look(t, &fin1, now + 2 * MS, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp_state, GH_TCP_FIN_WAIT);
    look(t, &ack1, now + 3 * MS, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp_state, GH_TCP_FIN_WAIT);
    assert_true(f->tcp[0].flags & GH_FLOWD_FIN_ACKED);
    look(t, &fin2, now + 4 * MS, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp_state, GH_TCP_CLOSING);
    look(t, &ack2, now + 5 * MS, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp_state, GH_TCP_CLOSED);
    assert_int_equal(gh_flow_get_state(f), GH_FLOW_STATE_CLOSED);
    /* established is kept: the closing packets belong to an established session */
    assert_true(gh_flow_is_established(f));
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->state[GH_FLOW_STATE_CLOSED], 1);
    assert_int_equal(st->tcp_state[GH_TCP_CLOSED], 1);
    assert_int_equal(st->tcp_state[GH_TCP_ESTABLISHED], 0);
    assert_int_equal(f->tcp[0].retrans + f->tcp[1].retrans, 0);

    /* a late ACK within the closed timeout joins the closed flow ... */
    uint64_t closed_to = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_TCP][GH_FLOW_STATE_CLOSED] * S;
    uint64_t last = now + 5 * MS;
    look(t, &ack1, last + closed_to - 1, GH_FLOW_TOCLIENT);
    assert_int_equal(r.n, 0);
    /* ... after it, the flow has timed out and the packet starts a new one */
    last = last + closed_to - 1;
    gh_flow *g = look(t, &ack2, last + closed_to, GH_FLOW_TOSERVER);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].f.end_reason, GH_FLOW_END_TIMEOUT);
    assert_non_null(strstr(r.v[0].eve, "\"state\":\"closed\",\"reason\":\"timeout\""));
    assert_non_null(strstr(r.v[0].eve, "\"tcp_flags\":\"1b\",\"tcp_flags_ts\":\"1b\",\"tcp_flags_tc\":\"1b\",\"syn\":true,\"fin\":true,\"psh\":true,\"ack\":true,\"state\":\"closed\""));
    assert_non_null(strstr(r.v[0].eve, "\"pkts_toserver\":5,\"pkts_toclient\":5"));
    assert_int_equal(g->tcp_state, GH_TCP_NONE); /* mid-stream off */
    assert_int_not_equal(g->flow_id, r.v[0].f.flow_id);
    gh_flow_table_free(t);
    rec_free(&r);
}

/* tcp.state of @p f as the EVE event would print it now. */
static bool eve_tcp_state_is(const gh_flow *f, const char *want)
{
    gh_jbuf b;
    gh_jbuf_init(&b);
    gh_eve_fmt_flow(&b, f);
    char pat[64];
    snprintf(pat, sizeof(pat), "\"state\":\"%s\"", want);
    const char *tcp = strstr(b.p, "\"tcp\":{");
    bool ok = tcp && strstr(tcp, pat);
    if (!ok)
        fprintf(stderr, "want tcp state %s in %s", want, b.p);
    gh_jbuf_free(&b);
    return ok;
}

/* Suricata's names for the closing states, from either side closing first. */
static void test_tcp_close_names(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    gh_flow_table *t = new_table(&cfg, NULL);
    /* the client closes first */
    gh_flow *f = handshake(t, A4, B4, T0, 100, 900, -1, -1);
    gh_packet cfin = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_FIN, 101, 901, 502, 0);
    gh_packet sack = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 901, 102, 300, 0);
    gh_packet sfin = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK | GH_TCP_FIN, 901, 102, 300, 0);
    gh_packet cack = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 102, 902, 502, 0);
    assert_true(eve_tcp_state_is(f, "established"));
    look(t, &cfin, T0 + S, GH_FLOW_TOSERVER);
    assert_true(eve_tcp_state_is(f, "close_wait"));
    look(t, &sack, T0 + S, GH_FLOW_TOCLIENT);
    assert_true(eve_tcp_state_is(f, "close_wait"));
    look(t, &sfin, T0 + S, GH_FLOW_TOCLIENT);
    assert_true(eve_tcp_state_is(f, "last_ack"));
    look(t, &cack, T0 + S, GH_FLOW_TOSERVER);
    assert_true(eve_tcp_state_is(f, "closed"));
    /* the server closes first */
    gh_flow *g = handshake(t, A4, C4, T0, 100, 900, -1, -1);
    gh_packet sfin2 = pk_tcp(C4, 80, A4, 40000, GH_TCP_ACK | GH_TCP_FIN, 901, 101, 300, 0);
    gh_packet cack2 = pk_tcp(A4, 40000, C4, 80, GH_TCP_ACK, 101, 902, 502, 0);
    gh_packet cfin2 = pk_tcp(A4, 40000, C4, 80, GH_TCP_ACK | GH_TCP_FIN, 101, 902, 502, 0);
    gh_packet sack2 = pk_tcp(C4, 80, A4, 40000, GH_TCP_ACK, 902, 102, 300, 0);
    look(t, &sfin2, T0 + S, GH_FLOW_TOCLIENT);
    assert_true(eve_tcp_state_is(g, "fin_wait1"));
    look(t, &cack2, T0 + S, GH_FLOW_TOSERVER);
    assert_true(eve_tcp_state_is(g, "fin_wait2"));
    look(t, &cfin2, T0 + S, GH_FLOW_TOSERVER);
    assert_true(eve_tcp_state_is(g, "time_wait"));
    look(t, &sack2, T0 + S, GH_FLOW_TOCLIENT);
    assert_true(eve_tcp_state_is(g, "closed"));
    assert_int_equal(g->tcp_state, GH_TCP_CLOSED);
    /* simultaneous close: both FINs before either ACK */
    gh_packet syn = pk_tcp(A4, 41000, B4, 80, GH_TCP_SYN, 1, 0, 100, 0);
    gh_packet sa = pk_tcp(B4, 80, A4, 41000, GH_TCP_SYN | GH_TCP_ACK, 50, 2, 100, 0);
    gh_packet ac = pk_tcp(A4, 41000, B4, 80, GH_TCP_ACK, 2, 51, 100, 0);
    gh_packet f1 = pk_tcp(A4, 41000, B4, 80, GH_TCP_ACK | GH_TCP_FIN, 2, 51, 100, 0);
    gh_packet f2 = pk_tcp(B4, 80, A4, 41000, GH_TCP_ACK | GH_TCP_FIN, 51, 2, 100, 0);
    gh_flow *h = look(t, &syn, T0, GH_FLOW_TOSERVER);
    look(t, &sa, T0, GH_FLOW_TOCLIENT);
    look(t, &ac, T0, GH_FLOW_TOSERVER);
    look(t, &f1, T0, GH_FLOW_TOSERVER);
    look(t, &f2, T0, GH_FLOW_TOCLIENT);
    assert_int_equal(h->tcp_state, GH_TCP_CLOSING);
    assert_true(eve_tcp_state_is(h, "closing"));
    gh_flow_table_free(t);
}

static void test_tcp_rst_and_reuse(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    gh_flow *f = handshake(t, A4, B4, T0, 100, 900, -1, -1);
    gh_packet rst = pk_tcp(B4, 80, A4, 40000, GH_TCP_RST, 901, 0, 0, 0);
    look(t, &rst, T0 + S, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp_state, GH_TCP_RESET);
    assert_int_equal(gh_flow_get_state(f), GH_FLOW_STATE_CLOSED);
    assert_int_equal(f->tcp[1].zero_win, 0); /* a RST's window is not advertised */
    assert_int_equal(f->tcp[1].min_win, 65160);
    uint64_t id = f->flow_id;
    /* a new SYN on the reset 4-tuple: the old flow ends as tcp_reuse */
    gh_packet syn = pk_tcp(A4, 40000, B4, 80, GH_TCP_SYN, 7777, 0, 64240, 0);
    gh_flow *g = look(t, &syn, T0 + 2 * S, GH_FLOW_TOSERVER);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].f.end_reason, GH_FLOW_END_TCP_REUSE);
    assert_int_equal(r.v[0].f.flow_id, id);
    assert_non_null(strstr(r.v[0].eve, "\"reason\":\"tcp_reuse\""));
    assert_non_null(strstr(r.v[0].eve, "\"rst\":true"));
    assert_non_null(strstr(r.v[0].eve, "\"state\":\"closed\"}") || strstr(r.v[0].eve, "\"state\":\"closed\","));
    assert_int_equal(g->tcp_state, GH_TCP_SYN_SENT);
    assert_int_not_equal(g->flow_id, id);
    /* the old entry is still readable until the batch ends */
    assert_true(r.v[0].f.flags & GH_FLOWF_ENDED);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->tcp_reuse, 1);
    assert_int_equal(st->active, 1);
    /* a RST from the server to the SYN: reset straight from syn_sent */
    gh_packet rst2 = pk_tcp(B4, 80, A4, 40000, GH_TCP_RST | GH_TCP_ACK, 0, 7778, 0, 0);
    look(t, &rst2, T0 + 2 * S + MS, GH_FLOW_TOCLIENT);
    assert_int_equal(g->tcp_state, GH_TCP_RESET);
    assert_false(gh_flow_is_established(g));
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_midstream(void **state)
{
    (void)state;
    for (int mid = 0; mid <= 1; mid++) {
        gh_flow_config cfg;
        gh_flow_config_init(&cfg);
        cfg.max_flows = 64;
        cfg.midstream = mid;
        recorder r = {0};
        gh_flow_table *t = new_table(&cfg, &r);

        /* data first (the capture missed the handshake) */
        gh_packet d1 = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_PSH, 5000, 9000, 500, 10);
        gh_packet d2 = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 9000, 5010, 500, 0);
        gh_flow *f = look(t, &d1, T0, GH_FLOW_TOSERVER);
        look(t, &d2, T0 + MS, GH_FLOW_TOCLIENT);
        look(t, &d1, T0 + 2 * MS, GH_FLOW_TOSERVER);
        assert_int_equal(f->tcp_state, mid ? GH_TCP_ESTABLISHED : GH_TCP_NONE);
        assert_int_equal(gh_flow_is_established(f), mid);
        assert_int_equal(flow_kw(f, GH_FLOW_TOSERVER, "established"), mid);
        assert_false(f->flags & GH_FLOWF_RTT);

        /* SYN/ACK first: its receiver is the client, either way */
        gh_packet sa = pk_tcp(C4, 443, A4, 50000, GH_TCP_SYN | GH_TCP_ACK, 1, 2, 1000, 0);
        gh_packet ca = pk_tcp(A4, 50000, C4, 443, GH_TCP_ACK, 2, 2, 1000, 0);
        gh_flow *g = look(t, &sa, T0, GH_FLOW_TOCLIENT);
        look(t, &ca, T0 + MS, GH_FLOW_TOSERVER);
        assert_int_equal(gh_flow_is_established(g), mid);
        /* a lone RST is never picked up */
        gh_packet rs = pk_tcp(C4, 22, A4, 50001, GH_TCP_RST, 1, 0, 0, 0);
        gh_flow *h = look(t, &rs, T0, GH_FLOW_TOSERVER);
        assert_int_equal(h->tcp_state, GH_TCP_RESET);
        assert_false(gh_flow_is_established(h));

        gh_flow_table_flush(t, 0);
        assert_int_equal(r.n, 3);
        for (size_t i = 0; i < r.n; i++) {
            if (r.v[i].f.key.lo_port == 443 || r.v[i].f.key.hi_port == 443)
                assert_non_null(strstr(r.v[i].eve, "\"src_ip\":\"192.0.2.1\",\"src_port\":50000,\"dest_ip\":\"203.0.113.9\",\"dest_port\":443"));
        }
        assert_false(r.bad_json);
        gh_flow_table_free(t);
        rec_free(&r);
    }
}

static void test_icmp_echo_and_errors(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);

    gh_packet req = pk_icmp(A4, B4, 8, 0, 7);
    gh_packet rep = pk_icmp(B4, A4, 0, 0, 7);
    gh_packet req2 = pk_icmp(A4, B4, 8, 0, 8);
    gh_flow *f = look(t, &req, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &rep, T0 + MS, GH_FLOW_TOCLIENT), f);
    assert_true(gh_flow_is_established(f));
    gh_flow *g = look(t, &req2, T0 + 2 * MS, GH_FLOW_TOSERVER);
    assert_ptr_not_equal(f, g);
    /* ICMPv6 echo */
    gh_packet r6 = pk_icmp(A6, B6, 128, 0, 1);
    gh_packet p6 = pk_icmp(B6, A6, 129, 0, 1);
    gh_flow *h = look(t, &r6, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &p6, T0 + MS, GH_FLOW_TOCLIENT), h);
    /* other ICMP keyed by type and code */
    gh_packet ra = pk_icmp(A6, B6, 134, 0, 0);
    gh_packet ra1 = pk_icmp(A6, B6, 134, 1, 0);
    assert_ptr_not_equal(look(t, &ra, T0, GH_FLOW_TOSERVER), look(t, &ra1, T0, GH_FLOW_TOSERVER));

    /* ICMP errors: counted in the quoted flow, never create one */
    gh_packet dns = pk_udp(A4, 5000, B4, 53, 30);
    gh_flow *u = look(t, &dns, T0, GH_FLOW_TOSERVER);
    uint32_t created = (uint32_t)gh_flow_table_stats(t)->created;
    gh_packet unr = pk_icmp_err(C4, A4, 3, A4, 5000, B4, 53, 17);
    int d;
    assert_ptr_equal(gh_flow_find(t, &unr, &d), u);
    assert_int_equal(d, GH_FLOW_TOCLIENT);
    assert_ptr_equal(look(t, &unr, T0 + 5 * S, GH_FLOW_TOCLIENT), u);
    assert_int_equal(u->pkts[1], 1);
    assert_int_equal(u->last_ns, T0); /* an error does not keep the flow alive */
    gh_packet unk = pk_icmp_err(C4, A4, 3, A4, 5001, B4, 53, 17);
    look(t, &unk, T0 + 5 * S, GH_FLOW_NOFLOW);
    gh_packet noquote = pk_icmp(C4, A4, 11, 0, 0); /* time exceeded, quote not decoded */
    look(t, &noquote, T0 + 5 * S, GH_FLOW_NOFLOW);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->created, created);
    assert_int_equal(st->icmp_error_matched, 1);
    assert_int_equal(st->icmp_error_unmatched, 2);
    assert_true(flow_kw(NULL, GH_FLOW_NOFLOW, "stateless"));
    assert_false(flow_kw(NULL, GH_FLOW_NOFLOW, "to_client"));

    /* packets with no flow */
    gh_packet arp;
    memset(&arp, 0, sizeof(arp));
    arp.layers = GH_LAYER_ETH | GH_LAYER_ARP;
    look(t, &arp, T0, GH_FLOW_NOFLOW);
    gh_packet frag = pk_udp(A4, 1, B4, 2, 100);
    frag.flags |= GH_PKT_FRAGMENT | GH_PKT_FIRST_FRAG | GH_PKT_MORE_FRAGS;
    look(t, &frag, T0, GH_FLOW_NOFLOW);
    gh_packet trunc = pk_ip(A4, B4, 6); /* TCP header not decoded */
    look(t, &trunc, T0, GH_FLOW_NOFLOW);
    assert_int_equal(st->noflow_not_ip, 1);
    assert_int_equal(st->noflow_fragment, 1);
    assert_int_equal(st->noflow_no_l4, 1);
    /* another IP protocol: addresses and protocol */
    gh_packet gre = pk_ip(A4, B4, 47);
    gh_packet gre2 = pk_ip(B4, A4, 47);
    gh_flow *gf = look(t, &gre, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &gre2, T0, GH_FLOW_TOCLIENT), gf);

    uint64_t echo_id = f->flow_id;
    gh_flow_table_flush(t, 0);
    bool saw_echo = false;
    for (size_t i = 0; i < r.n; i++) {
        if (r.v[i].f.flow_id == echo_id) {
            saw_echo = true;
            assert_non_null(strstr(r.v[i].eve, "\"proto\":\"ICMP\",\"icmp_type\":8,\"icmp_code\":0,\"response_icmp_type\":0,\"response_icmp_code\":0"));
            assert_null(strstr(r.v[i].eve, "src_port"));
        }
    }
    assert_true(saw_echo);
    assert_false(r.bad_json);
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_timeouts_by_state(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    uint64_t udp_new = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_UDP][GH_FLOW_STATE_NEW] * S;
    uint64_t udp_est = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_UDP][GH_FLOW_STATE_ESTABLISHED] * S;
    uint64_t tcp_new = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_TCP][GH_FLOW_STATE_NEW] * S;
    uint64_t tcp_est = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_TCP][GH_FLOW_STATE_ESTABLISHED] * S;
    assert_true(udp_new < udp_est && tcp_new < tcp_est);

    /* UDP new: one direction only */
    gh_packet q = pk_udp(A4, 1000, B4, 2000, 10);
    gh_flow *f = look(t, &q, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &q, T0 + udp_new - 1, GH_FLOW_TOSERVER), f);
    look(t, &q, T0 + 2 * udp_new - 1, GH_FLOW_TOSERVER); /* idle exactly udp_new */
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].f.end_reason, GH_FLOW_END_TIMEOUT);
    assert_non_null(strstr(r.v[0].eve, "\"state\":\"new\",\"reason\":\"timeout\""));
    gh_flow_table_end_batch(t);

    /* UDP established: the longer timeout applies */
    uint64_t now = T0 + 2 * udp_new;
    gh_packet a = pk_udp(B4, 2000, A4, 1000, 10);
    f = look(t, &a, now, GH_FLOW_TOCLIENT);
    assert_true(gh_flow_is_established(f));
    assert_ptr_equal(look(t, &q, now + udp_new + 1, GH_FLOW_TOSERVER), f);
    now += udp_new + 1;
    assert_ptr_equal(look(t, &q, now + udp_est - 1, GH_FLOW_TOSERVER), f);
    now += udp_est - 1;
    size_t before = r.n;

    /* the expiry walk: TCP new and established, bounded per call */
    gh_packet syn = pk_tcp(A4, 3000, B4, 80, GH_TCP_SYN, 1, 0, 1000, 0);
    gh_flow *s = look(t, &syn, now, GH_FLOW_TOSERVER);
    gh_flow *e = handshake(t, A4, C4, now, 10, 20, -1, -1);
    uint64_t e_last = e->last_ns, s_id = s->flow_id;
    assert_int_equal(gh_flow_table_expire(t, now + tcp_new - 1), 0);
    assert_int_equal(r.n, before);
    /* at now + tcp_new only the SYN-only flow is due */
    assert_int_equal(gh_flow_table_expire(t, now + tcp_new), 1);
    assert_int_equal(r.n, before + 1);
    assert_int_equal(r.v[before].f.flow_id, s_id);
    assert_non_null(strstr(r.v[before].eve, "\"state\":\"new\",\"reason\":\"timeout\""));
    assert_non_null(strstr(r.v[before].eve, "\"tcp_flags\":\"02\",\"tcp_flags_ts\":\"02\",\"tcp_flags_tc\":\"00\",\"syn\":true,\"state\":\"syn_sent\""));
    /* then the established UDP flow, then the established TCP flow */
    assert_int_equal(gh_flow_table_expire(t, now + udp_est - 1), 0);
    assert_int_equal(gh_flow_table_expire(t, now + udp_est), 1);
    assert_int_equal(gh_flow_table_stats(t)->active, 1);
    assert_int_equal(gh_flow_table_expire(t, e_last + tcp_est - 1), 0);
    assert_int_equal(gh_flow_table_expire(t, e_last + tcp_est), 1);
    assert_int_equal(gh_flow_table_stats(t)->active, 0);
    assert_int_equal(gh_flow_table_stats(t)->timed_out, 4);
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_expire_walk_is_bounded(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 1000;
    cfg.expire_scan = 16;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    r.keep_eve = false;
    for (int i = 0; i < 200; i++) {
        gh_packet q = pk_udp(A4, (uint16_t)(1000 + i), B4, 53, 10);
        look(t, &q, T0, GH_FLOW_TOSERVER);
    }
    uint64_t late = T0 + 3600 * S;
    size_t total = 0;
    int calls = 0;
    while (gh_flow_table_stats(t)->active) {
        size_t n = gh_flow_table_expire(t, late);
        assert_true(n <= 16);
        total += n;
        calls++;
        assert_true(calls < 100);
    }
    assert_int_equal(total, 200);
    assert_int_equal(calls, 200 / 16 + 1);
    check_table(t);
    /* gone from the index too */
    gh_packet q = pk_udp(A4, 1000, B4, 53, 10);
    assert_null(gh_flow_find(t, &q, NULL));
    gh_flow_table_free(t);
    rec_free(&r);
}

/* The index starts small and grows with the flows: every doubling places
 * the live flows again (not the ended ones), and every flow stays findable
 * by its key from either side; the table checks out at each step. */
static void test_index_grows(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 40000;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    r.keep_eve = false;
    enum { N = 30000 };
    for (int i = 0; i < N; i++) {
        char src[32];
        snprintf(src, sizeof(src), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        gh_packet q = pk_udp(src, (uint16_t)(1024 + i % 50000), B4, 53, 10);
        look(t, &q, T0, GH_FLOW_TOSERVER);
        if (i % 3 == 2) { /* ended flows must not come back on a regrow */
            snprintf(src, sizeof(src), "10.%d.%d.%d", ((i - 1) >> 16) & 255,
                     ((i - 1) >> 8) & 255, (i - 1) & 255);
            gh_packet e = pk_udp(src, (uint16_t)(1024 + (i - 1) % 50000), B4, 53, 10);
            gh_flow *f = gh_flow_find(t, &e, NULL);
            assert_non_null(f);
            f->last_ns = 0; /* long idle: the next expiry walk ends it */
        }
        if (i % 997 == 0 || (i & (i - 1)) == 0) {
            gh_flow_table_expire(t, T0);
            gh_flow_table_end_batch(t);
            check_table(t);
        }
    }
    while (gh_flow_table_expire(t, T0))
        ;
    gh_flow_table_end_batch(t);
    check_table(t);
    size_t live = 0;
    for (int i = 0; i < N; i++) {
        char src[32];
        snprintf(src, sizeof(src), "10.%d.%d.%d", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        gh_packet q = pk_udp(src, (uint16_t)(1024 + i % 50000), B4, 53, 10);
        gh_packet back = pk_udp(B4, 53, src, (uint16_t)(1024 + i % 50000), 10);
        int d = -1;
        gh_flow *f = gh_flow_find(t, &q, &d);
        if (i % 3 == 1) { /* ended by the expiry walks */
            assert_null(f);
            continue;
        }
        assert_non_null(f);
        assert_int_equal(d, GH_FLOW_TOSERVER);
        assert_ptr_equal(gh_flow_find(t, &back, &d), f);
        assert_int_equal(d, GH_FLOW_TOCLIENT);
        live++;
    }
    assert_int_equal(live, gh_flow_table_stats(t)->active);
    assert_true(live > 4 * 4096); /* enough to have grown the index several times */
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_pool_full_eviction(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 4;
    cfg.evict_sample = 8;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    assert_int_equal(gh_flow_table_max_flows(t), 4);

    /* two established (both directions) and two new UDP flows */
    gh_flow *fl[4];
    for (int i = 0; i < 4; i++) {
        gh_packet q = pk_udp(A4, (uint16_t)(1000 + i), B4, 53, 10);
        fl[i] = look(t, &q, T0 + (uint64_t)i * S, GH_FLOW_TOSERVER);
        if (i < 2) {
            gh_packet a = pk_udp(B4, 53, A4, (uint16_t)(1000 + i), 10);
            look(t, &a, T0 + (uint64_t)i * S, GH_FLOW_TOCLIENT);
        }
    }
    assert_int_equal(gh_flow_table_stats(t)->active, 4);
    /* full: the least recently seen not-established flow goes first (2, not 0) */
    gh_packet n1 = pk_udp(A4, 2000, B4, 53, 10);
    look(t, &n1, T0 + 10 * S, GH_FLOW_TOSERVER);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.v[0].f.key.lo_port, 1002);
    assert_int_equal(r.v[0].f.end_reason, GH_FLOW_END_FORCED);
    assert_non_null(strstr(r.v[0].eve, "\"reason\":\"forced\""));
    /* the victim's entry is not reused within the batch */
    assert_true(fl[2]->flags & GH_FLOWF_ENDED);
    assert_int_equal(fl[2]->key.lo_port, 1002);
    gh_flow_table_end_batch(t);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->evicted, 1);
    assert_int_equal(st->active, 4);

    /* a timed-out flow is preferred over anything, and ends as a timeout */
    uint64_t udp_est = (uint64_t)cfg.timeout_s[GH_FLOW_PROTO_UDP][GH_FLOW_STATE_ESTABLISHED] * S;
    gh_packet keep = pk_udp(A4, 1001, B4, 53, 10);
    look(t, &keep, T0 + udp_est, GH_FLOW_TOSERVER); /* refresh 1; 0, 3 and 2000 are stale */
    gh_packet n2 = pk_udp(A4, 2001, B4, 53, 10);
    look(t, &n2, T0 + udp_est + S, GH_FLOW_TOSERVER);
    assert_int_equal(r.n, 2);
    assert_int_equal(r.v[1].f.end_reason, GH_FLOW_END_TIMEOUT);
    assert_int_not_equal(r.v[1].f.key.lo_port, 1001);
    assert_int_equal(st->timed_out, 1);
    assert_int_equal(st->evicted, 1);
    assert_int_equal(st->active, 4);
    check_table(t);
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_pool_full_policy(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 4;
    cfg.evict_sample = 8;
    cfg.evict_established = false;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    for (int i = 0; i < 4; i++) {
        gh_packet q = pk_udp(A4, (uint16_t)(1000 + i), B4, 53, 10);
        gh_packet a = pk_udp(B4, 53, A4, (uint16_t)(1000 + i), 10);
        look(t, &q, T0, GH_FLOW_TOSERVER);
        look(t, &a, T0, GH_FLOW_TOCLIENT);
    }
    /* all established and protected: the new flow fails, nothing ends */
    gh_packet n1 = pk_udp(A4, 2000, B4, 53, 10);
    look(t, &n1, T0 + S, GH_FLOW_FULL);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->pool_full, 1);
    assert_int_equal(r.n, 0);
    /* existing flows still work */
    gh_packet q0 = pk_udp(A4, 1000, B4, 53, 10);
    look(t, &q0, T0 + S, GH_FLOW_TOSERVER);
    /* with eviction off entirely, same */
    gh_flow_table_free(t);
    rec_free(&r);

    gh_flow_config_init(&cfg);
    cfg.max_flows = 2;
    cfg.evict_sample = 0;
    t = new_table(&cfg, &r);
    for (int i = 0; i < 2; i++) {
        gh_packet q = pk_udp(A4, (uint16_t)(1000 + i), B4, 53, 10);
        look(t, &q, T0, GH_FLOW_TOSERVER);
    }
    look(t, &n1, T0, GH_FLOW_FULL);
    assert_int_equal(gh_flow_table_stats(t)->pool_full, 1);
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_retransmissions_and_zero_window(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    gh_flow *f = handshake(t, A4, B4, T0, 0, 5000, -1, -1);
    uint64_t now = T0 + S;
    struct {
        uint32_t seq, len;
        int retrans;
    } seg[] = {
        {1, 100, 0},   {101, 100, 0}, /* new data: high = 201 */
        {1, 100, 1},                  /* resent */
        {50, 150, 1},                 /* inside what was sent */
        {150, 100, 0},                /* reaches past high: new bytes */
        {250, 0, 0},                  /* pure ACK: never a retransmission */
        {201, 49, 1},                 /* late segment, entirely below high */
    };
    int want = 0;
    for (size_t i = 0; i < sizeof(seg) / sizeof(seg[0]); i++) {
        gh_packet p = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_PSH, seg[i].seq, 5001, 502, seg[i].len);
        look(t, &p, now + i * MS, GH_FLOW_TOSERVER);
        want += seg[i].retrans;
        assert_int_equal(f->tcp[0].retrans, want);
    }
    assert_int_equal(f->tcp[0].high_seq, 250);
    /* the server's receive window closes twice, then opens */
    gh_packet z = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 5001, 250, 0, 0);
    gh_packet o = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 5001, 250, 1000, 0);
    gh_packet zr = pk_tcp(B4, 80, A4, 40000, GH_TCP_RST, 5001, 0, 0, 0);
    look(t, &z, now + 10 * MS, GH_FLOW_TOCLIENT);
    look(t, &z, now + 11 * MS, GH_FLOW_TOCLIENT);
    look(t, &o, now + 12 * MS, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp[1].zero_win, 2);
    assert_int_equal(f->tcp[1].min_win, 0);
    assert_int_equal(f->tcp[1].retrans, 0); /* zero-length ACKs */
    look(t, &zr, now + 13 * MS, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp[1].zero_win, 2);
    gh_flow_table_flush(t, 0);
    assert_non_null(strstr(r.v[0].eve, "\"min_window_toserver\":502,\"min_window_toclient\":0,\"zero_window_toserver\":0,\"zero_window_toclient\":2,\"retransmissions_toserver\":3,\"retransmissions_toclient\":0}"));
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_window_scaling(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    gh_flow_table *t = new_table(&cfg, NULL);
    /* both sides offer: later windows are scaled, SYN windows are not */
    gh_flow *f = handshake(t, A4, B4, T0, 100, 900, 7, 8);
    assert_int_equal(f->tcp[0].min_win, 64240);            /* SYN, unscaled (< 502 << 7) */
    assert_int_equal(f->tcp[1].min_win, 65160);            /* SYN/ACK */
    gh_packet s = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 901, 101, 200, 0);
    look(t, &s, T0 + S, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp[1].min_win, 200u << 8);
    gh_packet c = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, 101, 901, 300, 0);
    look(t, &c, T0 + S, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp[0].min_win, 300u << 7);
    /* a SYN/ACK retransmitted after the negotiation is still unscaled */
    gh_packet sa2 = with_wscale(pk_tcp(B4, 80, A4, 40000, GH_TCP_SYN | GH_TCP_ACK, 900, 101, 100, 0), 8);
    look(t, &sa2, T0 + S, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp[1].min_win, 100);
    assert_int_equal(f->tcp[1].retrans, 1);

    /* only the server offers: no scaling either way (RFC 7323) */
    gh_packet syn = pk_tcp(A4, 40001, B4, 80, GH_TCP_SYN, 1, 0, 64240, 0);
    gh_packet sa = with_wscale(pk_tcp(B4, 80, A4, 40001, GH_TCP_SYN | GH_TCP_ACK, 1, 2, 65160, 0), 8);
    gh_packet ack = pk_tcp(A4, 40001, B4, 80, GH_TCP_ACK, 2, 2, 300, 0);
    gh_packet sack = pk_tcp(B4, 80, A4, 40001, GH_TCP_ACK, 2, 2, 200, 0);
    gh_flow *g = look(t, &syn, T0, GH_FLOW_TOSERVER);
    look(t, &sa, T0, GH_FLOW_TOCLIENT);
    look(t, &ack, T0, GH_FLOW_TOSERVER);
    look(t, &sack, T0, GH_FLOW_TOCLIENT);
    assert_false(g->flags & GH_FLOWF_WSCALE);
    assert_int_equal(g->tcp[0].min_win, 300);
    assert_int_equal(g->tcp[1].min_win, 200);
    /* a shift above 14 is treated as 14 */
    gh_packet syn3 = with_wscale(pk_tcp(A4, 40002, B4, 80, GH_TCP_SYN, 1, 0, 1, 0), 15);
    gh_packet sa3 = with_wscale(pk_tcp(B4, 80, A4, 40002, GH_TCP_SYN | GH_TCP_ACK, 1, 2, 1, 0), 14);
    gh_packet ack3 = pk_tcp(A4, 40002, B4, 80, GH_TCP_ACK, 2, 2, 65535, 0);
    gh_flow *h = look(t, &syn3, T0, GH_FLOW_TOSERVER);
    look(t, &sa3, T0, GH_FLOW_TOCLIENT);
    look(t, &ack3, T0, GH_FLOW_TOSERVER);
    assert_int_equal(h->tcp[0].wscale, 14);
    assert_int_equal(h->tcp[0].min_win, 1); /* the SYN's */
    gh_flow_table_free(t);
}

static void test_sequence_wraparound(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    gh_flow_table *t = new_table(&cfg, NULL);
    uint32_t isn = 0xffffff00u;
    gh_flow *f = handshake(t, A4, B4, T0, isn, 0xfffffff0u, -1, -1);
    uint64_t now = T0 + S;
    uint32_t seq = isn + 1; /* 0xffffff01 */
    /* 200 bytes crossing 2^32, then more after the wrap: all new */
    for (int i = 0; i < 4; i++) {
        gh_packet p = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, seq, 0xfffffff1u, 502, 100);
        look(t, &p, now, GH_FLOW_TOSERVER);
        seq += 100;
    }
    assert_int_equal(f->tcp[0].retrans, 0);
    assert_int_equal(f->tcp[0].high_seq, isn + 1 + 400); /* wrapped: 0x91 */
    assert_true(f->tcp[0].high_seq < isn);
    /* resending a segment from before the wrap is a retransmission */
    gh_packet old = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, isn + 1, 0xfffffff1u, 502, 100);
    look(t, &old, now, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp[0].retrans, 1);
    /* the server side wraps on its own FIN; the close still completes */
    gh_packet sdata = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK, 0xfffffff1u, seq, 300, 15);
    gh_packet fin1 = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK | GH_TCP_FIN, seq, 0x0u, 502, 0);
    gh_packet fin2 = pk_tcp(B4, 80, A4, 40000, GH_TCP_ACK | GH_TCP_FIN, 0x0u, seq + 1, 300, 0);
    gh_packet last = pk_tcp(A4, 40000, B4, 80, GH_TCP_ACK, seq + 1, 0x1u, 502, 0);
    look(t, &sdata, now, GH_FLOW_TOCLIENT);
    look(t, &fin1, now, GH_FLOW_TOSERVER);
    look(t, &fin2, now, GH_FLOW_TOCLIENT);
    assert_int_equal(f->tcp_state, GH_TCP_CLOSING);
    look(t, &last, now, GH_FLOW_TOSERVER);
    assert_int_equal(f->tcp_state, GH_TCP_CLOSED);
    assert_int_equal(f->tcp[1].retrans, 0);
    gh_flow_table_free(t);
}

static void test_ipv6_and_vlan(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 64;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    gh_flow *f = handshake(t, A6, B6, T0, 1, 2, 2, 2);
    assert_int_equal(f->key.ip_ver, 6);
    gh_packet back = pk_tcp(B6, 80, A6, 40000, GH_TCP_ACK, 3, 2, 10, 0);
    assert_ptr_equal(look(t, &back, T0 + S, GH_FLOW_TOCLIENT), f);
    /* VLAN tracking: one 5-tuple on two VLANs is two flows */
    gh_packet v10 = pk_udp(A4, 1, B4, 2, 0);
    v10.vlan_count = 1;
    v10.vlan_id[0] = 10;
    gh_packet v20 = v10;
    v20.vlan_id[0] = 20;
    gh_flow *a = look(t, &v10, T0, GH_FLOW_TOSERVER);
    gh_flow *b = look(t, &v20, T0, GH_FLOW_TOSERVER);
    assert_ptr_not_equal(a, b);
    gh_flow_table_flush(t, 0);
    bool v6 = false, vl = false;
    for (size_t i = 0; i < r.n; i++) {
        if (strstr(r.v[i].eve, "\"src_ip\":\"2001:db8::1\",\"src_port\":40000,\"dest_ip\":\"2001:db8::2\",\"dest_port\":80,\"proto\":\"TCP\""))
            v6 = true;
        if (strstr(r.v[i].eve, "\"vlan\":[20]"))
            vl = true;
    }
    assert_true(v6 && vl);
    assert_false(r.bad_json);
    gh_flow_table_free(t);
    rec_free(&r);

    /* tracking off: one flow, the VLAN still reported */
    cfg.vlan_tracking = false;
    t = new_table(&cfg, &r);
    a = look(t, &v10, T0, GH_FLOW_TOSERVER);
    assert_ptr_equal(look(t, &v20, T0, GH_FLOW_TOSERVER), a);
    gh_flow_table_flush(t, 0);
    assert_int_equal(r.n, 1);
    assert_non_null(strstr(r.v[0].eve, "\"vlan\":[10]"));
    gh_flow_table_free(t);
    rec_free(&r);
}

static void test_keywords_and_names(void **state)
{
    (void)state;
    /* the option names, as the flow stage's state meets them */
    assert_true(flow_kw(NULL, GH_FLOW_NOFLOW, "stateless"));
    assert_false(flow_kw(NULL, GH_FLOW_NOFLOW, "not_established"));
    assert_false(flow_kw(NULL, GH_FLOW_NOFLOW, "from_client"));
    assert_string_equal(gh_tcp_state_name(GH_TCP_SYN_RECV), "syn_recv");
    assert_string_equal(gh_tcp_state_name(GH_TCP_STATE_COUNT), "unknown");
    assert_string_equal(gh_flow_state_name(GH_FLOW_STATE_CLOSED), "closed");
    assert_string_equal(gh_flow_end_reason_name(GH_FLOW_END_FORCED), "forced");
}

static void test_config(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    gh_error err = {0};
    /* the default table holds a million flows */
    gh_flow_table *t = gh_flow_table_new(&cfg, &err);
    assert_non_null(t);
    assert_true(gh_flow_table_max_flows(t) >= 1000000);
    assert_int_equal(gh_flow_table_memuse(t), gh_flow_table_memsize(GH_FLOW_DEFAULT_MAX_FLOWS));
    gh_flow_table_free(t);
    /* from a memcap: as many as fit */
    cfg.memcap = 10 * 1024 * 1024;
    t = gh_flow_table_new(&cfg, &err);
    assert_non_null(t);
    uint32_t n = gh_flow_table_max_flows(t);
    assert_true(gh_flow_table_memuse(t) <= cfg.memcap);
    assert_true(gh_flow_table_memsize(n + n / 32) > cfg.memcap);
    assert_true(n > 40000);
    gh_flow_table_free(t);
    /* both: max_flows must fit */
    cfg.max_flows = 1000000;
    assert_null(gh_flow_table_new(&cfg, &err));
    assert_int_equal(err.code, GH_E_INVAL);
    assert_non_null(strstr(err.msg, "memcap"));
    cfg.memcap = 100;
    cfg.max_flows = 0;
    assert_null(gh_flow_table_new(&cfg, &err));
    cfg.memcap = 0;
    cfg.max_flows = GH_FLOW_MAX_FLOWS_LIMIT + 1;
    assert_null(gh_flow_table_new(&cfg, &err));
    gh_flow_table_free(NULL);
}

/* ---- randomized run against a naive reference ----------------------------- */

typedef struct ref_flow {
    gh_addr c, s;        /* client, server as first seen */
    uint16_t cp, sp;
    uint8_t proto, ver;
    uint16_t icmp_id;
    uint64_t start, last;
    uint32_t pkts[2];
    uint64_t bytes[2];
    bool est, live;
    uint8_t reason;
} ref_flow;

typedef struct ref_tab {
    ref_flow *v;
    size_t n, cap;
    ref_flow *ended;
    size_t nended, capended;
} ref_tab;

static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

/* Move live flow i to the ended list (the live array stays dense). */
static void ref_end(ref_tab *rt, size_t i, uint8_t reason)
{
    ref_flow *f = &rt->v[i];
    f->live = false;
    f->reason = reason;
    if (rt->nended == rt->capended) {
        rt->capended = rt->capended ? rt->capended * 2 : 256;
        rt->ended = realloc(rt->ended, rt->capended * sizeof(*rt->ended));
        assert_non_null(rt->ended);
    }
    rt->ended[rt->nended++] = *f;
    rt->v[i] = rt->v[--rt->n];
}

static bool ref_expired(const gh_flow_config *cfg, const ref_flow *f, uint64_t now)
{
    int row = f->proto == 6 ? GH_FLOW_PROTO_TCP
              : f->proto == 17 ? GH_FLOW_PROTO_UDP
              : f->proto == 1 ? GH_FLOW_PROTO_ICMP
                              : GH_FLOW_PROTO_OTHER;
    uint64_t to = (uint64_t)cfg->timeout_s[row][f->est ? 1 : 0] * S;
    return now >= f->last && now - f->last >= to;
}

/* The linear reference: the packet's live flow in either orientation. */
static ref_flow *ref_lookup(ref_tab *rt, const gh_flow_config *cfg, const gh_packet *p, uint64_t now,
                            int *dir)
{
    uint16_t sp = p->sport, dp = p->dport;
    if (p->ip_proto == 1)
        sp = dp = p->icmp_id;
    for (size_t i = 0; i < rt->n; i++) {
        ref_flow *f = &rt->v[i];
        if (!f->live || f->proto != p->ip_proto || f->ver != p->ip_ver)
            continue;
        int d = -1;
        if (!memcmp(&f->c, &p->src, 16) && !memcmp(&f->s, &p->dst, 16) && f->cp == sp && f->sp == dp)
            d = 0;
        else if (!memcmp(&f->s, &p->src, 16) && !memcmp(&f->c, &p->dst, 16) && f->sp == sp && f->cp == dp)
            d = 1;
        if (d < 0)
            continue;
        if (ref_expired(cfg, f, now)) {
            ref_end(rt, i, GH_FLOW_END_TIMEOUT);
            break;
        }
        *dir = d;
        return f;
    }
    if (rt->n == rt->cap) {
        rt->cap = rt->cap ? rt->cap * 2 : 256;
        rt->v = realloc(rt->v, rt->cap * sizeof(*rt->v));
        assert_non_null(rt->v);
    }
    ref_flow *f = &rt->v[rt->n++];
    memset(f, 0, sizeof(*f));
    f->c = p->src;
    f->s = p->dst;
    f->cp = sp;
    f->sp = dp;
    f->proto = p->ip_proto;
    f->ver = p->ip_ver;
    f->start = f->last = now;
    f->live = true;
    /* mid-stream TCP (ACK-only packets) is established at once */
    f->est = p->ip_proto == 6;
    *dir = 0;
    return f;
}

static void ref_update(ref_flow *f, const gh_packet *p, int d, uint64_t now)
{
    f->pkts[d]++;
    f->bytes[d] += p->caplen;
    if (now > f->last)
        f->last = now;
    if (f->pkts[d ^ 1])
        f->est = true;
}

static int cmp_ended_flow(const void *a, const void *b)
{
    const ended *x = a, *y = b;
    return x->f.start_ns < y->f.start_ns ? -1 : x->f.start_ns > y->f.start_ns;
}

static int cmp_ref_flow(const void *a, const void *b)
{
    const ref_flow *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* A packet of a random one of nkeys conversations in a random direction. */
static gh_packet random_packet(int nkeys)
{
    uint32_t k = (uint32_t)(rnd() % (uint64_t)nkeys);
    bool rev = rnd() & 1;
    char a[64], b[64];
    int kind = (int)(k % 5);
    if (kind == 4) {
        snprintf(a, sizeof(a), "2001:db8::%x", k + 1);
        snprintf(b, sizeof(b), "2001:db8:1::%x", k % 7 + 1);
    } else {
        snprintf(a, sizeof(a), "10.%u.%u.%u", k >> 16 & 255, k >> 8 & 255, k & 255);
        snprintf(b, sizeof(b), "10.255.0.%u", k % 7 + 1);
    }
    const char *src = rev ? b : a, *dst = rev ? a : b;
    uint16_t cp = (uint16_t)(1024 + k % 50000), spt = (uint16_t)(k % 3 ? 53 : 443);
    gh_packet p;
    switch (kind) {
    case 0:
    case 4:
        p = pk_tcp(src, rev ? spt : cp, dst, rev ? cp : spt, GH_TCP_ACK, (uint32_t)rnd(), 0, 100,
                   (uint32_t)(rnd() % 100));
        break;
    case 1:
        p = pk_udp(src, rev ? spt : cp, dst, rev ? cp : spt, (uint32_t)(rnd() % 500));
        break;
    case 2:
        p = pk_icmp(src, dst, rev ? 0 : 8, 0, (uint16_t)k);
        break;
    default:
        p = pk_ip(src, dst, 47);
        break;
    }
    return p;
}

static void test_random_vs_reference(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 4096;
    cfg.midstream = true;
    cfg.expire_scan = 64;
    for (int p = 0; p < GH_FLOW_PROTO_COUNT; p++) {
        cfg.timeout_s[p][GH_FLOW_STATE_NEW] = 5 + (uint32_t)p;
        cfg.timeout_s[p][GH_FLOW_STATE_ESTABLISHED] = 20 + 3 * (uint32_t)p;
    }
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    r.keep_eve = false;
    ref_tab rt = {0};
    uint64_t now = T0;
    const int npk = 60000, nkeys = 800;
    for (int i = 0; i < npk; i++) {
        /* strictly increasing time, so start times identify flows */
        now += 1 + rnd() % (10 * MS);
        if (rnd() % 2000 == 0)
            now += (5 + rnd() % 40) * S;
        gh_packet p = random_packet(nkeys);
        int rd;
        ref_flow *rf = ref_lookup(&rt, &cfg, &p, now, &rd);
        ref_update(rf, &p, rd, now);
        int d;
        gh_flow *f = gh_flow_lookup(t, &p, now, (uint64_t)i + 1, &d);
        assert_non_null(f);
        assert_int_equal(d, rd);
        assert_int_equal(f->pkts[0], rf->pkts[0]);
        assert_int_equal(f->pkts[1], rf->pkts[1]);
        assert_int_equal(f->start_ns, rf->start);
        assert_int_equal(gh_flow_is_established(f), rf->est);
        if (i % 32 == 31)
            gh_flow_table_expire(t, now);
        if (i % 5000 == 4999)
            check_table(t);
    }
    check_table(t);
    /* the live reference flows are exactly the ones the table still finds
     * (unless the walk already ended them as timed out) */
    size_t live = 0;
    for (size_t i = 0; i < rt.n; i++) {
        if (!rt.v[i].live)
            continue;
        gh_packet p = pk_ip("10.0.0.1", "10.0.0.2", rt.v[i].proto);
        p.src = rt.v[i].c;
        p.dst = rt.v[i].s;
        p.ip_ver = rt.v[i].ver;
        p.layers = (p.ip_ver == 6 ? GH_LAYER_IPV6 : GH_LAYER_IPV4) |
                   (p.ip_proto == 6 ? GH_LAYER_TCP : p.ip_proto == 17 ? GH_LAYER_UDP
                    : p.ip_proto == 1 ? GH_LAYER_ICMPV4 : GH_LAYER_OTHER_L4);
        p.sport = rt.v[i].cp;
        p.dport = rt.v[i].sp;
        p.icmp_type = 8;
        p.icmp_id = rt.v[i].cp;
        gh_flow *f = gh_flow_find(t, &p, NULL);
        if (f) {
            assert_int_equal(f->start_ns, rt.v[i].start);
            live++;
        } else {
            assert_true(ref_expired(&cfg, &rt.v[i], now));
        }
    }
    assert_int_equal(live, gh_flow_table_stats(t)->active);
    while (rt.n)
        ref_end(&rt, rt.n - 1,
                ref_expired(&cfg, &rt.v[rt.n - 1], now) ? GH_FLOW_END_TIMEOUT : GH_FLOW_END_SHUTDOWN);
    gh_flow_table_flush(t, now);

    assert_int_equal(r.n, rt.nended);
    qsort(r.v, r.n, sizeof(*r.v), cmp_ended_flow);
    qsort(rt.ended, rt.nended, sizeof(*rt.ended), cmp_ref_flow);
    for (size_t i = 0; i < r.n; i++) {
        const gh_flow *f = &r.v[i].f;
        const ref_flow *e = &rt.ended[i];
        assert_int_equal(f->start_ns, e->start);
        assert_int_equal(f->last_ns, e->last);
        assert_int_equal(f->pkts[0], e->pkts[0]);
        assert_int_equal(f->pkts[1], e->pkts[1]);
        assert_int_equal(f->bytes[0], e->bytes[0]);
        assert_int_equal(f->bytes[1], e->bytes[1]);
        assert_int_equal(f->end_reason, e->reason);
        assert_int_equal(f->key.proto, e->proto);
        bool client_lo = f->flags & GH_FLOWF_CLIENT_IS_LO;
        assert_memory_equal(client_lo ? &f->key.lo : &f->key.hi, &e->c, 16);
    }
    assert_int_equal(r.pkts_sum, (uint64_t)npk);
    assert_false(r.bad_json);
    assert_false(r.bad_state);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->created, st->ended);
    assert_int_equal(st->active, 0);
    for (int s = 0; s < GH_FLOW_STATE_COUNT; s++)
        assert_int_equal(st->state[s], 0);
    printf("random: %d packets, %zu flows, %" PRIu64 " timed out\n", npk, r.n, st->timed_out);
    free(rt.v);
    free(rt.ended);
    gh_flow_table_free(t);
    rec_free(&r);
}

/* Heavy eviction: a pool far smaller than the conversations. */
static void test_random_eviction(void **state)
{
    (void)state;
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = 100;
    cfg.midstream = true;
    cfg.evict_sample = 8;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    r.keep_eve = false;
    uint64_t now = T0, flowed = 0;
    const int npk = 50000;
    for (int i = 0; i < npk; i++) {
        now += 1 + rnd() % MS;
        gh_packet p = random_packet(3000);
        int d;
        gh_flow *f = gh_flow_lookup(t, &p, now, (uint64_t)i + 1, &d);
        assert_non_null(f);
        flowed++;
        assert_true(gh_flow_table_stats(t)->active <= 100);
        /* the flow is findable, the same entry */
        assert_ptr_equal(gh_flow_find(t, &p, NULL), f);
        if (i % 64 == 63)
            gh_flow_table_expire(t, now);
        if (i % 1000 == 999)
            check_table(t);
    }
    check_table(t);
    gh_flow_table_flush(t, now);
    check_table(t);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_true(st->evicted > 1000);
    assert_int_equal(st->created, st->ended);
    assert_int_equal(r.n, st->created);
    assert_int_equal(r.pkts_sum, flowed);
    assert_int_equal(st->pool_full, 0);
    assert_false(r.bad_json);
    printf("eviction: %" PRIu64 " flows, %" PRIu64 " evicted\n", st->created, st->evicted);
    gh_flow_table_free(t);
    rec_free(&r);
}

/* ---- the corpus ----------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct corpus_totals {
    uint64_t pkts, ip, flowed, lookups;
    uint64_t flows, evicted, full;
    double lookup_s;
} corpus_totals;

typedef struct cap_pkt {
    gh_packet p;
    uint64_t ts, id;
} cap_pkt;

/* Decode a whole capture (the flow table reads only descriptor fields, not
 * the packet bytes, so the descriptors outlive the source's buffers). */
static cap_pkt *load_pcap(const char *path, size_t *np)
{
    gh_error err = {0};
    gh_source *src = gh_source_pcap_open(path, &err);
    if (!src) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        fail();
    }
    gh_decode_opts opts = {.verify_checksums = false};
    gh_pkt_in in[64];
    cap_pkt *v = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        size_t got = 0;
        int rc = gh_source_read_batch(src, in, 64, &got, &err);
        for (size_t i = 0; i < got; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 1024;
                v = realloc(v, cap * sizeof(*v));
                assert_non_null(v);
            }
            gh_decode(&v[n].p, in[i].linktype, in[i].data, in[i].caplen, &opts);
            v[n].p.data = NULL;
            v[n].p.payload = NULL;
            v[n].ts = (uint64_t)in[i].ts_sec * S + in[i].ts_nsec;
            v[n].id = in[i].id;
            n++;
        }
        if (rc == GH_E_EOF)
            break;
        assert_int_equal(rc, GH_OK);
    }
    gh_source_close(src);
    *np = n;
    return v;
}

static double mono(void)
{
    struct timespec a;
    clock_gettime(CLOCK_MONOTONIC, &a);
    return (double)a.tv_sec + (double)a.tv_nsec * 1e-9;
}

static void run_pcap(const cap_pkt *v, size_t npk, uint32_t max_flows, int reps,
                     corpus_totals *tot)
{
    gh_flow_config cfg;
    gh_flow_config_init(&cfg);
    cfg.max_flows = max_flows;
    recorder r = {0};
    gh_flow_table *t = new_table(&cfg, &r);
    r.keep_eve = false;
    /* time the flow stage alone, without the end callback's EVE work */
    cfg.on_end = NULL;
    gh_flow_table *timed = new_table(&cfg, NULL);
    uint64_t ip = 0, flowed = 0, noflow = 0, full = 0, now = 0;
    double t0 = mono();
    for (int rep = 0; rep < reps; rep++) {
        for (size_t i = 0; i < npk; i++) {
            gh_flow_lookup(timed, &v[i].p, v[i].ts, v[i].id, NULL);
            if (i % 64 == 63)
                gh_flow_table_expire(timed, v[i].ts);
        }
        gh_flow_table_flush(timed, 0);
    }
    tot->lookup_s += mono() - t0;
    tot->lookups += (uint64_t)npk * (uint64_t)reps;
    gh_flow_table_free(timed);

    /* the same packets through the burst API must give identical results */
    recorder rb = {0};
    gh_flow_config_init(&cfg);
    cfg.max_flows = max_flows;
    gh_flow_table *tb = new_table(&cfg, &rb);
    r.keep_eve = true;
    uint64_t seq_id[64], bnow[64], bid[64], bmax = 0;
    int seq_dir[64], bdir[64];
    gh_flow *bfl[64];
    const gh_packet *bp[64];
    for (size_t i = 0; i < npk; i++) {
        const gh_packet *p = &v[i].p;
        if (p->ip_ver)
            ip++;
        if (v[i].ts > now)
            now = v[i].ts;
        int d;
        gh_flow *f = gh_flow_lookup(t, p, v[i].ts, v[i].id, &d);
        seq_id[i % 64] = f ? f->flow_id : 0;
        seq_dir[i % 64] = d;
        if (f) {
            assert_true(d == GH_FLOW_TOSERVER || d == GH_FLOW_TOCLIENT);
            assert_ptr_equal(gh_flow_find(t, p, NULL), f);
            flowed++;
        } else if (d == GH_FLOW_FULL) {
            full++;
        } else {
            assert_int_equal(d, GH_FLOW_NOFLOW);
            noflow++;
        }
        if (i % 64 == 63 || i == npk - 1) {
            size_t b0 = i - i % 64, m = i % 64 + 1;
            for (size_t j = 0; j < m; j++) {
                bnow[j] = v[b0 + j].ts;
                bid[j] = v[b0 + j].id;
                bp[j] = &v[b0 + j].p;
                if (bnow[j] > bmax)
                    bmax = bnow[j];
            }
            gh_flow_lookup_burst(tb, bp, m, bnow, bid, bfl, bdir);
            for (size_t j = 0; j < m; j++) {
                assert_int_equal(bdir[j], seq_dir[j]);
                assert_int_equal(bfl[j] ? bfl[j]->flow_id : 0, seq_id[j]);
            }
            if (m == 64) {
                gh_flow_table_expire(t, now);
                gh_flow_table_expire(tb, bmax);
            }
        }
    }
    gh_flow_table_flush(tb, bmax);
    const gh_flow_stats *st = gh_flow_table_stats(t);
    assert_int_equal(st->active, st->created - st->ended);
    check_table(t);
    gh_flow_table_flush(t, now);
    check_table(t);
    /* every created flow ended exactly once, with a unique id */
    assert_int_equal(st->active, 0);
    assert_int_equal(st->created, st->ended);
    assert_int_equal(r.n, st->created);
    uint64_t *ids = malloc((r.n + 1) * sizeof(*ids));
    assert_non_null(ids);
    for (size_t i = 0; i < r.n; i++)
        ids[i] = r.v[i].f.flow_id;
    qsort(ids, r.n, sizeof(*ids), cmp_u64);
    for (size_t i = 1; i < r.n; i++)
        assert_true(ids[i] != ids[i - 1]);
    free(ids);
    /* packet counts per flow add up to the packets that got a flow, and
     * every IP packet either got one or is a counted no-flow case */
    assert_int_equal(r.pkts_sum, flowed);
    assert_int_equal(ip, flowed + full + st->noflow_fragment + st->noflow_no_l4 +
                             st->icmp_error_unmatched);
    assert_int_equal(noflow, st->noflow_not_ip + st->noflow_fragment + st->noflow_no_l4 +
                                 st->icmp_error_unmatched);
    assert_int_equal(full, st->pool_full);
    assert_false(r.bad_json);
    assert_false(r.bad_state);
    assert_int_equal(rb.n, r.n);
    for (size_t i = 0; i < r.n; i++)
        assert_string_equal(rb.v[i].eve, r.v[i].eve);
    gh_flow_table_free(tb);
    rec_free(&rb);
    tot->pkts += npk;
    tot->ip += ip;
    tot->flowed += flowed;
    tot->flows += st->created;
    tot->evicted += st->evicted;
    tot->full += full;
    gh_flow_table_free(t);
    rec_free(&r);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_corpus(void **state)
{
    (void)state;
    const char *dir = GH_CORPUS_DIR "/pcaps";
    DIR *dp = opendir(dir);
    if (!dp) {
        printf("corpus not found at %s: skipped\n", dir);
        skip();
    }
    char *names[256];
    size_t nn = 0;
    struct dirent *de;
    while ((de = readdir(dp)) && nn < 256) {
        size_t l = strlen(de->d_name);
        if (l > 5 && (strcmp(de->d_name + l - 5, ".pcap") == 0 || strcmp(de->d_name + l - 7, ".pcapng") == 0))
            names[nn++] = strdup(de->d_name);
    }
    closedir(dp);
    qsort(names, nn, sizeof(*names), cmp_str);
    corpus_totals big = {0}, tiny = {0};
    for (size_t i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        size_t npk;
        cap_pkt *v = load_pcap(path, &npk);
        /* time small captures several times so the rate is not clock noise */
        int reps = 1 + (int)(20000 / (npk + 1));
        run_pcap(v, npk, 65536, reps, &big);
        run_pcap(v, npk, 8, reps, &tiny); /* constant eviction on real traffic */
        free(v);
        free(names[i]);
    }
    assert_true(nn > 0);
    assert_int_equal(big.evicted, 0);
    assert_int_equal(big.full + tiny.full, 0);
    assert_true(tiny.evicted > 0);
    printf("corpus: %zu files, %" PRIu64 " packets (%" PRIu64 " IP, %" PRIu64 " in flows), %" PRIu64
           " flows; lookups %.1f M/s (table of 65536), %.1f M/s (table of 8, %" PRIu64 " evictions)\n",
           nn, big.pkts, big.ip, big.flowed, big.flows, (double)big.lookups / big.lookup_s / 1e6,
           (double)tiny.lookups / tiny.lookup_s / 1e6, tiny.evicted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_both_directions_one_flow),
        cmocka_unit_test(test_tcp_handshake_rtt),
        cmocka_unit_test(test_tcp_handshake_needs_valid_ack),
        cmocka_unit_test(test_tcp_async_oneside),
        cmocka_unit_test(test_tcp_fin_close_and_closed_timeout),
        cmocka_unit_test(test_tcp_close_names),
        cmocka_unit_test(test_tcp_rst_and_reuse),
        cmocka_unit_test(test_midstream),
        cmocka_unit_test(test_icmp_echo_and_errors),
        cmocka_unit_test(test_timeouts_by_state),
        cmocka_unit_test(test_expire_walk_is_bounded),
        cmocka_unit_test(test_index_grows),
        cmocka_unit_test(test_pool_full_eviction),
        cmocka_unit_test(test_pool_full_policy),
        cmocka_unit_test(test_retransmissions_and_zero_window),
        cmocka_unit_test(test_window_scaling),
        cmocka_unit_test(test_sequence_wraparound),
        cmocka_unit_test(test_ipv6_and_vlan),
        cmocka_unit_test(test_keywords_and_names),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_random_vs_reference),
        cmocka_unit_test(test_random_eviction),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
